/* Tests for the maildir storage module: name parsing, the size cache and
 * the storage_ops on real temporary maildirs. */
#include "config.h"
#include "module.h"
#include "storage.h"
#include "message-wire.h"
#include "maildir/maildir-name.h"
#include "maildir/maildir-size-cache.h"
#include "maildir/maildir-listing-cache.h"
#include "maildir/maildir-dovecot-uidlist.h"
#include "maildir/maildir-courier-sizelist.h"
#include "fs-test-util.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const struct roost_module roost_module;

/* ---- helpers ---- */

static void setup(void)
{
	fs_test_setup("/tmp/test-maildir-XXXXXX");
}

/* The maildir POP3 size (Dovecot's): message_wire_size() without the
 * CRLF that RETR adds after an unterminated last line. */
static uint64_t pop3_size(const char *data)
{
	size_t len = strlen(data);
	uint64_t wire = message_wire_size(data, len);
	return len > 0 && data[len - 1] != '\n' ? wire - 2 : wire;
}

#define WRITE_STR(rel, s) fs_test_write_file(rel, s, strlen(s))

static char *read_file(const char *rel, size_t *len_r)
{
	static char buf[65536];
	int fd = open(fs_test_path(rel), O_RDONLY);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	if (len_r != NULL)
		*len_r = (size_t)n;
	return buf;
}

static void make_maildir(const char *rel)
{
	char sub[256];
	ck_assert_int_eq(mkdir(fs_test_path(rel), 0700), 0);
	const char *subs[] = { "cur", "new", "tmp" };
	for (int i = 0; i < 3; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", rel, subs[i]);
		ck_assert_int_eq(mkdir(fs_test_path(sub), 0700), 0);
	}
}

static const struct storage_ops *ops(void)
{
	return roost_module.ops;
}

static const struct storage_user test_user = { "tester", NULL };

static struct storage_mailbox *open_box(pool_t *pool, const char *rel,
					struct error *err)
{
	error_clear(err);
	return ops()->open(pool, fs_test_path(rel), &test_user, err);
}

/* Reads a whole message through the ops. */
static size_t read_message(struct storage_mailbox *box, unsigned index,
			   char *buf, size_t size)
{
	struct error err;
	struct storage_message_reader *r = ops()->message_open(box, index, &err);
	ck_assert_msg(r != NULL, "message_open: %s", err.message);
	size_t total = 0;
	ssize_t n;
	while ((n = ops()->message_read(r, buf + total, size - total, &err)) > 0)
		total += (size_t)n;
	ck_assert_int_eq(n, 0);
	ops()->message_close(r);
	return total;
}

static int find_uidl(struct storage_mailbox *box, const char *uidl)
{
	for (unsigned i = 0; i < ops()->message_count(box); i++) {
		if (strcmp(ops()->message_info(box, i)->uidl, uidl) == 0)
			return (int)i;
	}
	return -1;
}

/* ---- names ---- */

START_TEST(name_full)
{
	struct maildir_name n;
	const char *name = "1700000000.M123456P789.host,S=1234,W=1260:2,S";
	maildir_name_parse(name, &n);
	ck_assert_uint_eq(n.base_len, strlen("1700000000.M123456P789.host,S=1234,W=1260"));
	ck_assert_str_eq(n.info, "2,S");
	ck_assert(n.have_s_size);
	ck_assert_uint_eq(n.s_size, 1234);
	ck_assert(n.have_w_size);
	ck_assert_uint_eq(n.w_size, 1260);
	ck_assert(n.have_time);
	ck_assert_uint_eq(n.time_sec, 1700000000);
	ck_assert_uint_eq(n.time_usec, 123456);
}
END_TEST

START_TEST(name_variants)
{
	struct maildir_name n;

	maildir_name_parse("1700000000.M5P1.host", &n);
	ck_assert_ptr_null(n.info);
	ck_assert_uint_eq(n.base_len, strlen("1700000000.M5P1.host"));
	ck_assert(!n.have_s_size && !n.have_w_size);
	ck_assert_uint_eq(n.time_usec, 5);

	/* Postfix: V<dev>I<inode>M<usec> */
	maildir_name_parse("1700000001.V801I1234M567890.host:2,", &n);
	ck_assert(n.have_time);
	ck_assert_uint_eq(n.time_sec, 1700000001);
	ck_assert_uint_eq(n.time_usec, 567890);
	ck_assert_str_eq(n.info, "2,");

	/* old style without microseconds */
	maildir_name_parse("1700000002.12345.host", &n);
	ck_assert(n.have_time);
	ck_assert_uint_eq(n.time_usec, 0);

	/* no time at all */
	maildir_name_parse("message-one", &n);
	ck_assert(!n.have_time);

	/* malformed or overflowing sizes are absent */
	maildir_name_parse("1.M1.h,S=12a,W=:2,", &n);
	ck_assert(!n.have_s_size);
	ck_assert(!n.have_w_size);
	maildir_name_parse("1.M1.h,W=99999999999999999999999", &n);
	ck_assert(!n.have_w_size);
	/* W= inside the info part is a flag field, not a size */
	maildir_name_parse("1.M1.h:2,W=5", &n);
	ck_assert(!n.have_w_size);
	/* S= alone */
	maildir_name_parse("1.M1.h,S=77", &n);
	ck_assert(n.have_s_size);
	ck_assert_uint_eq(n.s_size, 77);
	ck_assert(!n.have_w_size);
}
END_TEST

START_TEST(uidl_rule)
{
	char uidl[MAILDIR_UIDL_MAX + 1];
	char base[100];

	maildir_uidl_from_base("1700000000.M1P1.host", 20, uidl);
	ck_assert_str_eq(uidl, "1700000000.M1P1.host");

	memset(base, 'a', 70);
	ck_assert(storage_uidl_is_valid(base, 70));
	maildir_uidl_from_base(base, 70, uidl);
	ck_assert_uint_eq(strlen(uidl), 70);

	memset(base, 'a', 71);
	ck_assert(!storage_uidl_is_valid(base, 71));
	maildir_uidl_from_base(base, 71, uidl);
	ck_assert_uint_eq(strlen(uidl), 33);
	ck_assert_int_eq(uidl[0], 'H');
	/* the documented digest: hex BLAKE2b-128 of the base name */
	unsigned char digest[16];
	char hex[33];
	crypto_generichash(digest, sizeof(digest), (const unsigned char *)base,
			   71, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	ck_assert_str_eq(uidl + 1, hex);

	char other[MAILDIR_UIDL_MAX + 1];
	maildir_uidl_from_base("with space", 10, other);
	ck_assert(!storage_uidl_is_valid("with space", 10));
	ck_assert_int_eq(other[0], 'H');
	ck_assert_str_ne(other, uidl);
	ck_assert(!storage_uidl_is_valid("caf\xc3\xa9", 5));
	ck_assert(!storage_uidl_is_valid("", 0));
	maildir_uidl_from_base("", 0, other);
	ck_assert_uint_eq(strlen(other), 33);
	ck_assert(storage_uidl_is_valid(other, strlen(other)));
}
END_TEST

/* ---- size cache ---- */

START_TEST(cache_missing_and_roundtrip)
{
	pool_t *pool = pool_create();
	const char *path = fs_test_path(MAILDIR_SIZE_CACHE_NAME);
	struct maildir_size_cache *c = maildir_size_cache_read(pool, path);
	uint64_t size;
	ck_assert(!maildir_size_cache_lookup(c, "a", &size));
	ck_assert(!maildir_size_cache_is_dirty(c));

	maildir_size_cache_add(c, "a", 10);
	maildir_size_cache_add(c, "b with space", 20);
	maildir_size_cache_add(c, "bad\nname", 30);   /* cannot be stored */
	ck_assert(maildir_size_cache_is_dirty(c));
	struct error err;
	ck_assert_int_eq(maildir_size_cache_write(c, &err), 0);
	ck_assert(!maildir_size_cache_is_dirty(c));

	c = maildir_size_cache_read(pool, path);
	ck_assert(maildir_size_cache_lookup(c, "a", &size));
	ck_assert_uint_eq(size, 10);
	ck_assert(maildir_size_cache_lookup(c, "b with space", &size));
	ck_assert_uint_eq(size, 20);
	ck_assert(!maildir_size_cache_lookup(c, "bad\nname", &size));
	ck_assert(!maildir_size_cache_lookup(c, "bad", &size));
	pool_destroy(pool);
}
END_TEST

START_TEST(cache_corrupt_lines)
{
	const char data[] =
		"good 10\n"
		"nospace\n"
		" 5\n"
		"x 12a\n"
		"y 99999999999999999999999\n"
		"z -1\n"
		"with:colon 4\n"
		"bin\0ary 3\n"
		"dup 1\n"
		"dup 2\n"
		"same 6\n"
		"same 6\n"
		"fine 11\n"
		"torn 7";
	fs_test_write_file(MAILDIR_SIZE_CACHE_NAME, data, sizeof(data) - 1);
	pool_t *pool = pool_create();
	struct maildir_size_cache *c =
		maildir_size_cache_read(pool,
					fs_test_path(MAILDIR_SIZE_CACHE_NAME));
	uint64_t size = 0;
	ck_assert(maildir_size_cache_lookup(c, "good", &size));
	ck_assert_uint_eq(size, 10);
	ck_assert(maildir_size_cache_lookup(c, "fine", &size));
	ck_assert_uint_eq(size, 11);
	ck_assert(maildir_size_cache_lookup(c, "same", &size));
	ck_assert_uint_eq(size, 6);
	const char *bad[] = { "nospace", "", "x", "y", "z", "with:colon", "bin",
			      "dup", "torn" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!maildir_size_cache_lookup(c, bad[i], &size),
			      "%s was accepted", bad[i]);
	pool_destroy(pool);
}
END_TEST

static ino_t inode_of(const char *rel)
{
	struct stat st;
	ck_assert_int_eq(stat(fs_test_path(rel), &st), 0);
	return st.st_ino;
}

START_TEST(cache_prune_and_atomic_rewrite)
{
	WRITE_STR(MAILDIR_SIZE_CACHE_NAME, "a 1\nb 2\nc 3\n");
	ino_t before = inode_of(MAILDIR_SIZE_CACHE_NAME);
	/* an open descriptor sees the old content: the file is replaced, not
	 * rewritten in place, so a crash mid-write cannot damage it */
	int old_fd = open(fs_test_path(MAILDIR_SIZE_CACHE_NAME), O_RDONLY);
	ck_assert_int_ge(old_fd, 0);

	pool_t *pool = pool_create();
	struct maildir_size_cache *c =
		maildir_size_cache_read(pool,
					fs_test_path(MAILDIR_SIZE_CACHE_NAME));
	uint64_t size;
	ck_assert(maildir_size_cache_lookup(c, "a", &size));
	maildir_size_cache_add(c, "d", 4);
	struct error err;
	ck_assert_int_eq(maildir_size_cache_write(c, &err), 0);

	ck_assert_uint_ne(inode_of(MAILDIR_SIZE_CACHE_NAME), before);
	char old[64];
	ssize_t n = read(old_fd, old, sizeof(old) - 1);
	ck_assert_int_eq(n, 12);
	close(old_fd);

	/* only the entries used this time survive; no temp file is left */
	c = maildir_size_cache_read(pool,
				    fs_test_path(MAILDIR_SIZE_CACHE_NAME));
	ck_assert(maildir_size_cache_lookup(c, "a", &size));
	ck_assert_uint_eq(size, 1);
	ck_assert(maildir_size_cache_lookup(c, "d", &size));
	ck_assert_uint_eq(size, 4);
	ck_assert(!maildir_size_cache_lookup(c, "b", &size));
	ck_assert(!maildir_size_cache_lookup(c, "c", &size));
	DIR *d = opendir(fs_test_dir());
	struct dirent *de;
	int files = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		ck_assert_str_eq(de->d_name, MAILDIR_SIZE_CACHE_NAME);
		files++;
	}
	closedir(d);
	ck_assert_int_eq(files, 1);
	pool_destroy(pool);
}
END_TEST

START_TEST(cache_write_failure)
{
	pool_t *pool = pool_create();
	struct maildir_size_cache *c = maildir_size_cache_read(
		pool, fs_test_path("no-such-dir/" MAILDIR_SIZE_CACHE_NAME));
	maildir_size_cache_add(c, "a", 1);
	struct error err;
	error_clear(&err);
	ck_assert_int_eq(maildir_size_cache_write(c, &err), -1);
	ck_assert_int_ne(err.kind, ERROR_NONE);
	ck_assert(maildir_size_cache_is_dirty(c));
	pool_destroy(pool);
}
END_TEST

/* ---- the module ---- */

START_TEST(module_descriptor)
{
	ck_assert_uint_eq(roost_module.abi_version, ROOST_MODULE_ABI);
	ck_assert_int_eq(roost_module.kind, MODULE_KIND_STORAGE);
	ck_assert_str_eq(roost_module.name, "maildir");
	ck_assert_ptr_nonnull(ops()->open);
	ck_assert_ptr_nonnull(ops()->commit_deletions);
}
END_TEST

START_TEST(open_creates_maildir)
{
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "home/user/Maildir", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_uint_eq(ops()->message_count(box), 0);
	struct stat st;
	ck_assert_int_eq(stat(fs_test_path("home/user/Maildir/cur"), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	ck_assert(fs_test_exists("home/user/Maildir/new"));
	ck_assert(fs_test_exists("home/user/Maildir/tmp"));
	ops()->close(box);

	/* an existing maildir missing subdirectories gets them */
	ck_assert_int_eq(mkdir(fs_test_path("m2"), 0700), 0);
	ck_assert_int_eq(mkdir(fs_test_path("m2/cur"), 0700), 0);
	WRITE_STR("m2/cur/1.M1P1.h:2,S", "x\n");
	box = open_box(pool, "m2", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_uint_eq(ops()->message_count(box), 1);
	ck_assert(fs_test_exists("m2/new"));
	ck_assert(fs_test_exists("m2/tmp"));
	ops()->close(box);
	pool_destroy(pool);
}
END_TEST

START_TEST(snapshot_order_and_new_to_cur)
{
	make_maildir("md");
	WRITE_STR("md/new/1700000002.M000007P1.host", "third\n");
	WRITE_STR("md/cur/1700000001.M000005P1.host:2,S", "second\n");
	WRITE_STR("md/cur/1700000002.M000000P1.host:2,", "also second\n");
	WRITE_STR("md/cur/1700000003.M1P1.host,W=7:2,RS", "last\r\n\r\n");
	WRITE_STR("md/cur/.hidden", "not a message\n");
	ck_assert_int_eq(mkdir(fs_test_path("md/cur/subdir"), 0700), 0);
	ck_assert_int_eq(symlink("/etc/passwd", fs_test_path("md/cur/9.M1P1.link")), 0);
	/* no time in the name: mtime decides */
	WRITE_STR("md/cur/oldest:2,", "first\n");
	struct timespec times[2] = { { 1600000000, 0 }, { 1600000000, 0 } };
	ck_assert_int_eq(utimensat(AT_FDCWD, fs_test_path("md/cur/oldest:2,"), times, 0), 0);

	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	const char *expect[] = {
		"oldest",
		"1700000001.M000005P1.host",
		"1700000002.M000000P1.host",
		"1700000002.M000007P1.host",
		"1700000003.M1P1.host,W=7",
	};
	ck_assert_uint_eq(ops()->message_count(box), 5);
	for (unsigned i = 0; i < 5; i++)
		ck_assert_str_eq(ops()->message_info(box, i)->uidl, expect[i]);
	ck_assert_ptr_null(ops()->message_info(box, 5));

	/* the new/ message moved to cur/ with the standard info */
	ck_assert(!fs_test_exists("md/new/1700000002.M000007P1.host"));
	ck_assert(fs_test_exists("md/cur/1700000002.M000007P1.host:2,"));
	char buf[256];
	size_t n = read_message(box, 3, buf, sizeof(buf));
	ck_assert_uint_eq(n, 6);
	ck_assert_mem_eq(buf, "third\n", 6);
	ops()->close(box);
	pool_destroy(pool);
}
END_TEST

START_TEST(second_open_is_in_use)
{
	make_maildir("md");
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	struct stat st;
	ck_assert_int_eq(stat(fs_test_path("md/roost-pop3.lock"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);

	pool_t *pool2 = pool_create();
	ck_assert_ptr_null(open_box(pool2, "md", &err));
	ck_assert_int_eq(err.kind, ERROR_IN_USE);
	ops()->close(box);

	/* closing released it */
	struct storage_mailbox *box2 = open_box(pool2, "md", &err);
	ck_assert_msg(box2 != NULL, "%s", err.message);
	ops()->close(box2);
	pool_destroy(pool2);
	pool_destroy(pool);
}
END_TEST

static const char *contents[] = {
	"Subject: lf\n\nbody\n.dot\n",
	"Subject: crlf\r\n\r\nbody\r\n",
	"Subject: none\n\nno final newline",
	"",
	"lone\rcr\r",
};

START_TEST(sizes_match_wire_size)
{
	make_maildir("md");
	char name[64];
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "md/cur/170000000%d.M1P1.h:2,S", i);
		WRITE_STR(name, contents[i]);
	}
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_uint_eq(ops()->message_count(box), 5);
	char buf[256];
	for (unsigned i = 0; i < 5; i++) {
		uint64_t want = pop3_size(contents[i]);
		ck_assert_uint_eq(ops()->message_info(box, i)->size, want);
		size_t n = read_message(box, i, buf, sizeof(buf));
		ck_assert_uint_eq(n, strlen(contents[i]));
		ck_assert_mem_eq(buf, contents[i], n);
	}
	ops()->close(box);

	/* the sizes went to the cache, after its version header; "none"
	 * is 33 octets, 35 with the CRLF RETR adds */
	ck_assert_uint_eq(pop3_size(contents[2]), 33);
	char *cache = read_file("md/roost-sizes", NULL);
	ck_assert_ptr_nonnull(cache);
	ck_assert_mem_eq(cache, MAILDIR_SIZE_CACHE_HEADER "\n",
			 strlen(MAILDIR_SIZE_CACHE_HEADER) + 1);
	ck_assert_ptr_nonnull(strstr(cache, "1700000000.M1P1.h 27\n"));
	ck_assert_ptr_nonnull(strstr(cache, "1700000002.M1P1.h 33\n"));

	/* Warm cache: the bodies are not read again. Truncating them would
	 * change a computed size; the listed size stays the cached one. */
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "md/cur/170000000%d.M1P1.h:2,S", i);
		ck_assert_int_eq(truncate(fs_test_path(name), 0), 0);
	}
	box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	for (unsigned i = 0; i < 5; i++)
		ck_assert_uint_eq(ops()->message_info(box, i)->size,
				  pop3_size(contents[i]));
	ops()->close(box);
	pool_destroy(pool);
}
END_TEST

START_TEST(w_size_and_corrupt_cache)
{
	make_maildir("md");
	/* ,W= is trusted without reading the file */
	WRITE_STR("md/cur/1700000000.M1P1.h,S=3,W=4242:2,", "ab\n");
	WRITE_STR("md/cur/1700000001.M1P1.h,S=3:2,", "ab\n");
	WRITE_STR("md/roost-sizes", "garbage line\n\n1700000001.M1P1.h,S=3 x\n");
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_uint_eq(ops()->message_info(box, 0)->size, 4242);
	/* S= is the LF size, not the POP3 size */
	ck_assert_uint_eq(ops()->message_info(box, 1)->size, 4);
	ops()->close(box);
	/* rewritten: corrupt lines gone, the ,W= message never cached */
	char *cache = read_file("md/roost-sizes", NULL);
	ck_assert_str_eq(cache, MAILDIR_SIZE_CACHE_HEADER "\n"
			 "1700000001.M1P1.h,S=3 4\n");
	pool_destroy(pool);
}
END_TEST

/* A cache written before the version header counted RETR's CRLF after
 * an unterminated last line. Its entries are corrected without reading
 * the bodies (proved by sizes no body read could give) and the file is
 * rewritten in the current version. */
START_TEST(legacy_cache_upgraded)
{
	make_maildir("md");
	WRITE_STR("md/cur/1700000001.M1P1.h:2,", "ends in a newline\n");
	WRITE_STR("md/cur/1700000002.M1P1.h:2,", "no newline");
	WRITE_STR("md/cur/1700000003.M1P1.h:2,", "new\n");
	WRITE_STR("md/roost-sizes", "1700000001.M1P1.h 100\n"
		  "1700000002.M1P1.h 200\n"
		  "1700000009.M1P1.h 5\n");
	pool_t *pool = pool_create();
	struct error err;
	for (int session = 0; session < 2; session++) {
		struct storage_mailbox *box = open_box(pool, "md", &err);
		ck_assert_msg(box != NULL, "%s", err.message);
		ck_assert_uint_eq(ops()->message_count(box), 3);
		ck_assert_uint_eq(ops()->message_info(box, 0)->size, 100);
		ck_assert_uint_eq(ops()->message_info(box, 1)->size, 198);
		ck_assert_uint_eq(ops()->message_info(box, 2)->size, 5);
		ops()->close(box);
	}
	char *cache = read_file("md/roost-sizes", NULL);
	ck_assert_mem_eq(cache, MAILDIR_SIZE_CACHE_HEADER "\n",
			 strlen(MAILDIR_SIZE_CACHE_HEADER) + 1);
	ck_assert_ptr_nonnull(strstr(cache, "1700000001.M1P1.h 100\n"));
	ck_assert_ptr_nonnull(strstr(cache, "1700000002.M1P1.h 198\n"));
	ck_assert_ptr_nonnull(strstr(cache, "1700000003.M1P1.h 5\n"));
	ck_assert_ptr_null(strstr(cache, "1700000009.M1P1.h"));
	pool_destroy(pool);
}
END_TEST

START_TEST(cache_versions)
{
	pool_t *pool = pool_create();
	const char *path = fs_test_path(MAILDIR_SIZE_CACHE_NAME);
	uint64_t size;
	WRITE_STR(MAILDIR_SIZE_CACHE_NAME, MAILDIR_SIZE_CACHE_HEADER "\na 1\n");
	struct maildir_size_cache *c = maildir_size_cache_read(pool, path);
	ck_assert(!maildir_size_cache_is_legacy(c));
	ck_assert(maildir_size_cache_lookup(c, "a", &size));
	ck_assert_uint_eq(size, 1);

	WRITE_STR(MAILDIR_SIZE_CACHE_NAME, "a 1\n");
	c = maildir_size_cache_read(pool, path);
	ck_assert(maildir_size_cache_is_legacy(c));
	ck_assert(maildir_size_cache_lookup(c, "a", &size));

	/* a later version: nothing in it is trusted */
	WRITE_STR(MAILDIR_SIZE_CACHE_NAME, ":roost-sizes 3\na 1\n");
	c = maildir_size_cache_read(pool, path);
	ck_assert(!maildir_size_cache_is_legacy(c));
	ck_assert(!maildir_size_cache_lookup(c, "a", &size));
	pool_destroy(pool);
}
END_TEST

START_TEST(commit_deletes_marked_only)
{
	make_maildir("md");
	WRITE_STR("md/cur/1700000001.M1P1.h:2,S", "one\n");
	WRITE_STR("md/cur/1700000002.M1P1.h:2,S", "two\n");
	WRITE_STR("md/new/1700000003.M1P1.h", "three\n");
	WRITE_STR("md/cur/1700000004.M1P1.h:2,", "four\n");
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_uint_eq(ops()->message_count(box), 4);

	/* delivered after the snapshot, with an older time in the name
	 * even, and one that an IMAP server already put into cur/ */
	WRITE_STR("md/new/1700000000.M1P1.late", "late\n");
	WRITE_STR("md/cur/1700000002.M2P1.late:2,S", "late too\n");

	bool deleted[4] = { true, false, true, false };
	ck_assert_int_eq(ops()->commit_deletions(box, deleted, &err), 0);
	ops()->close(box);

	ck_assert(!fs_test_exists("md/cur/1700000001.M1P1.h:2,S"));
	ck_assert(fs_test_exists("md/cur/1700000002.M1P1.h:2,S"));
	ck_assert(!fs_test_exists("md/cur/1700000003.M1P1.h:2,"));
	ck_assert(fs_test_exists("md/cur/1700000004.M1P1.h:2,"));
	ck_assert(fs_test_exists("md/new/1700000000.M1P1.late"));
	ck_assert(fs_test_exists("md/cur/1700000002.M2P1.late:2,S"));

	/* nothing marked: nothing happens */
	box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_uint_eq(ops()->message_count(box), 4);
	bool none[4] = { false, false, false, false };
	ck_assert_int_eq(ops()->commit_deletions(box, none, &err), 0);
	ops()->close(box);
	ck_assert(fs_test_exists("md/cur/1700000002.M1P1.h:2,S"));
	pool_destroy(pool);
}
END_TEST

START_TEST(flag_rename_followed)
{
	make_maildir("md");
	WRITE_STR("md/cur/1700000001.M1P1.h:2,", "hello\n");
	WRITE_STR("md/new/1700000002.M1P1.h", "world\n");
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);

	/* an IMAP client flags both while the POP3 session runs */
	ck_assert_int_eq(rename(fs_test_path("md/cur/1700000001.M1P1.h:2,"),
				fs_test_path("md/cur/1700000001.M1P1.h:2,RS")),
			 0);
	ck_assert_int_eq(rename(fs_test_path("md/cur/1700000002.M1P1.h:2,"),
				fs_test_path("md/cur/1700000002.M1P1.h:2,S")),
			 0);
	char buf[64];
	size_t n = read_message(box, 0, buf, sizeof(buf));
	ck_assert_uint_eq(n, 6);
	ck_assert_mem_eq(buf, "hello\n", 6);
	ck_assert_str_eq(ops()->message_info(box, 0)->uidl, "1700000001.M1P1.h");

	bool deleted[2] = { true, true };
	ck_assert_int_eq(ops()->commit_deletions(box, deleted, &err), 0);
	ck_assert(!fs_test_exists("md/cur/1700000001.M1P1.h:2,RS"));
	ck_assert(!fs_test_exists("md/cur/1700000002.M1P1.h:2,S"));
	ops()->close(box);
	pool_destroy(pool);
}
END_TEST

START_TEST(vanished_message)
{
	make_maildir("md");
	WRITE_STR("md/cur/1700000001.M1P1.h:2,", "a\n");
	WRITE_STR("md/cur/1700000002.M1P1.h:2,", "b\n");
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_int_eq(unlink(fs_test_path("md/cur/1700000001.M1P1.h:2,")),
			 0);

	error_clear(&err);
	ck_assert_ptr_null(ops()->message_open(box, 0, &err));
	ck_assert_int_eq(err.kind, ERROR_NOT_FOUND);
	ck_assert_ptr_null(ops()->message_open(box, 7, &err));
	ck_assert_int_eq(err.kind, ERROR_NOT_FOUND);

	/* already gone counts as deleted */
	bool deleted[2] = { true, true };
	ck_assert_int_eq(ops()->commit_deletions(box, deleted, &err), 0);
	ck_assert(!fs_test_exists("md/cur/1700000002.M1P1.h:2,"));
	ops()->close(box);
	pool_destroy(pool);
}
END_TEST

START_TEST(commit_failure_keeps_going)
{
	make_maildir("md");
	WRITE_STR("md/cur/1700000001.M1P1.h:2,", "a\n");
	WRITE_STR("md/cur/1700000002.M1P1.h:2,", "b\n");
	WRITE_STR("md/cur/1700000003.M1P1.h:2,", "c\n");
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	/* a directory under the message's name cannot be unlinked */
	ck_assert_int_eq(unlink(fs_test_path("md/cur/1700000001.M1P1.h:2,")),
			 0);
	ck_assert_int_eq(mkdir(fs_test_path("md/cur/1700000001.M1P1.h:2,"), 0700), 0);

	bool deleted[3] = { true, false, true };
	error_clear(&err);
	ck_assert_int_eq(ops()->commit_deletions(box, deleted, &err), -1);
	ck_assert_int_eq(err.kind, ERROR_TEMP);
	ck_assert_ptr_nonnull(strstr(err.message, "1 of 2"));
	ck_assert(fs_test_exists("md/cur/1700000002.M1P1.h:2,"));
	ck_assert(!fs_test_exists("md/cur/1700000003.M1P1.h:2,"));
	ops()->close(box);
	pool_destroy(pool);
}
END_TEST

START_TEST(duplicate_base_names)
{
	make_maildir("md");
	/* the same base name in new/ and cur/: both are kept */
	WRITE_STR("md/new/1700000005.M1P1.h", "from new\n");
	WRITE_STR("md/cur/1700000005.M1P1.h:2,S", "from cur\n");
	/* cur/ already has the name new/ would move to: stays in new/ */
	WRITE_STR("md/new/1700000006.M1P1.h", "stays\n");
	WRITE_STR("md/cur/1700000006.M1P1.h:2,", "was here\n");
	/* a real message named like a generated suffix keeps its UIDL */
	WRITE_STR("md/cur/1700000007.M1P1.h-2:2,", "real\n");
	WRITE_STR("md/cur/1700000007.M1P1.h:2,", "x\n");
	WRITE_STR("md/new/1700000007.M1P1.h", "y\n");

	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	unsigned count = ops()->message_count(box);
	ck_assert_uint_eq(count, 7);
	ck_assert(fs_test_exists("md/new/1700000006.M1P1.h"));
	ck_assert(fs_test_exists("md/cur/1700000005.M1P1.h:2,"));

	/* unique UIDLs; remember which content got which */
	char uidls[7][MAILDIR_UIDL_MAX + 1];
	char bodies[7][32];
	for (unsigned i = 0; i < count; i++) {
		const char *u = ops()->message_info(box, i)->uidl;
		ck_assert(storage_uidl_is_valid(u, strlen(u)));
		for (unsigned j = 0; j < i; j++)
			ck_assert_str_ne(u, uidls[j]);
		strcpy(uidls[i], u);
		size_t n = read_message(box, i, bodies[i], sizeof(bodies[i]) - 1);
		bodies[i][n] = '\0';
	}
	ck_assert_int_ge(find_uidl(box, "1700000005.M1P1.h"), 0);
	ck_assert_int_ge(find_uidl(box, "1700000005.M1P1.h-2"), 0);
	int real = find_uidl(box, "1700000007.M1P1.h-2");
	ck_assert_int_ge(real, 0);
	ck_assert_str_eq(bodies[real], "real\n");
	ck_assert_int_ge(find_uidl(box, "1700000007.M1P1.h-3"), 0);
	ops()->close(box);

	/* the same UIDL for the same message in the next session, even
	 * after a flag change renamed one of the twins */
	ck_assert_int_eq(rename(fs_test_path("md/cur/1700000005.M1P1.h:2,S"),
				fs_test_path("md/cur/1700000005.M1P1.h:2,RS")),
			 0);
	box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_uint_eq(ops()->message_count(box), count);
	/* renamed during the session: the inode tells the twins apart */
	ck_assert_int_eq(rename(fs_test_path("md/cur/1700000005.M1P1.h:2,RS"),
				fs_test_path("md/cur/1700000005.M1P1.h:2,FRS")),
			 0);
	for (unsigned i = 0; i < count; i++) {
		int j = find_uidl(box, uidls[i]);
		ck_assert_int_ge(j, 0);
		char body[32];
		size_t n = read_message(box, (unsigned)j, body, sizeof(body) - 1);
		body[n] = '\0';
		ck_assert_str_eq(body, bodies[i]);
	}

	/* deleting one twin leaves the other */
	int twin = find_uidl(box, "1700000006.M1P1.h");
	ck_assert_int_ge(twin, 0);
	bool deleted[7] = { false };
	deleted[twin] = true;
	ck_assert_int_eq(ops()->commit_deletions(box, deleted, &err), 0);
	ops()->close(box);
	ck_assert_int_eq(fs_test_exists("md/new/1700000006.M1P1.h") +
			 fs_test_exists("md/cur/1700000006.M1P1.h:2,"), 1);
	pool_destroy(pool);
}
END_TEST

START_TEST(odd_names_get_digest_uidls)
{
	make_maildir("md");
	char longname[128];
	memset(longname, 0, sizeof(longname));
	strcpy(longname, "md/cur/1700000001.");
	memset(longname + strlen(longname), 'x', 80);
	strcat(longname, ":2,");
	WRITE_STR(longname, "long\n");
	WRITE_STR("md/cur/1700000002.with space:2,", "space\n");
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_uint_eq(ops()->message_count(box), 2);
	char want[MAILDIR_UIDL_MAX + 1];
	maildir_uidl_from_base("1700000002.with space", 21, want);
	for (unsigned i = 0; i < 2; i++) {
		const char *u = ops()->message_info(box, i)->uidl;
		ck_assert_uint_eq(strlen(u), 33);
		ck_assert_int_eq(u[0], 'H');
		ck_assert(storage_uidl_is_valid(u, strlen(u)));
	}
	ck_assert_str_eq(ops()->message_info(box, 1)->uidl, want);
	ops()->close(box);
	pool_destroy(pool);
}
END_TEST

START_TEST(cache_pruned_by_module)
{
	make_maildir("md");
	WRITE_STR("md/cur/1700000001.M1P1.h:2,", "a\n");
	WRITE_STR("md/cur/1700000002.M1P1.h:2,", "b\n");
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	bool deleted[2] = { true, false };
	ck_assert_int_eq(ops()->commit_deletions(box, deleted, &err), 0);
	ops()->close(box);

	/* a new message makes the next open rewrite the cache */
	WRITE_STR("md/new/1700000003.M1P1.h", "c\n");
	box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ops()->close(box);
	char *cache = read_file("md/roost-sizes", NULL);
	ck_assert_ptr_null(strstr(cache, "1700000001.M1P1.h "));
	ck_assert_ptr_nonnull(strstr(cache, "1700000002.M1P1.h 3\n"));
	ck_assert_ptr_nonnull(strstr(cache, "1700000003.M1P1.h 3\n"));
	pool_destroy(pool);
}
END_TEST

START_TEST(open_errors)
{
	pool_t *pool = pool_create();
	struct error err;
	error_clear(&err);
	ck_assert_ptr_null(ops()->open(pool, "", &test_user, &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	/* a file where the maildir should be */
	WRITE_STR("file", "x");
	ck_assert_ptr_null(open_box(pool, "file", &err));
	ck_assert_int_eq(err.kind, ERROR_TEMP);
	pool_destroy(pool);
}
END_TEST

/* ---- dovecot-uidlist ---- */

#define DC_UIDVALIDITY 1700000000u

/* Warnings the parser reported, as a bit per line number (< 64). */
static uint64_t dc_warned;

static void dc_record_warning(void *context, unsigned line, const char *why)
{
	(void)context;
	ck_assert(why != NULL && why[0] != '\0');
	ck_assert_uint_lt(line, 64);
	dc_warned |= (uint64_t)1 << line;
}

static struct maildir_dovecot_uidlist *dc_parse(pool_t *pool, const char *s)
{
	dc_warned = 0;
	return maildir_dovecot_uidlist_parse(pool, s, strlen(s),
					     dc_record_warning, NULL);
}

/* Dovecot 2.3's default pop3_uidl_format, "%08Xu%08Xv", which prints
 * lower-case hex (checked against a running dovecot 2.3.19). */
static const char *dc_default_uidl(uint32_t uid, uint32_t uidvalidity)
{
	static char buf[4][32];
	static int next;
	char *p = buf[next++ % 4];
	snprintf(p, sizeof(buf[0]), "%08x%08x", (unsigned)uid,
		 (unsigned)uidvalidity);
	return p;
}

static const char *dc_uidl_of(const struct maildir_dovecot_uidlist *list,
			      const char *base)
{
	static char out[MAILDIR_UIDL_MAX + 1];
	const struct maildir_dovecot_record *r =
		maildir_dovecot_uidlist_lookup(list, base, strlen(base));
	ck_assert_msg(r != NULL, "%s not listed", base);
	maildir_dovecot_uidl(list, r, base, strlen(base), out);
	return out;
}

START_TEST(dovecot_parse_v3)
{
	const char *file =
		"3 V1700000000 N9 G3085f01b7f11094c501100008c4a11c1\n"
		"1 W27 S25 :1700000001.M1P1.h\n"
		/* an old-style line that kept its info part */
		"2 P+OK-old.uidl :1700000002.M1P1.h:2,S\n"
		/* fields Roost does not use, and one it will never know */
		"3 O1 G0123abcd Z9 :1700000003.M1P1.h\n"
		/* empty P: Dovecot's "the base file name" */
		"5 P :1700000005.M1P1.h\n"
		"8 W30 P1700000008.M1P1.h :1700000008.M1P1.h\n";
	pool_t *pool = pool_create();
	struct maildir_dovecot_uidlist *l = dc_parse(pool, file);
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(dc_warned, 0);
	ck_assert_uint_eq(maildir_dovecot_uidlist_uidvalidity(l), DC_UIDVALIDITY);
	ck_assert_uint_eq(maildir_dovecot_uidlist_count(l), 5);

	/* "%08x%08x", computed here rather than trusted from memory */
	char want[32];
	snprintf(want, sizeof(want), "%08x%08x", 1u, 1700000000u);
	ck_assert_uint_eq(strlen(want), MAILDIR_DOVECOT_UIDL_LEN);
	ck_assert_str_eq(dc_uidl_of(l, "1700000001.M1P1.h"), want);
	ck_assert_str_eq(want, "000000016553f100");
	ck_assert_str_eq(dc_uidl_of(l, "1700000003.M1P1.h"),
			 dc_default_uidl(3, DC_UIDVALIDITY));
	/* P overrides */
	ck_assert_str_eq(dc_uidl_of(l, "1700000002.M1P1.h"), "+OK-old.uidl");
	ck_assert_str_eq(dc_uidl_of(l, "1700000005.M1P1.h"), "1700000005.M1P1.h");
	ck_assert_str_eq(dc_uidl_of(l, "1700000008.M1P1.h"), "1700000008.M1P1.h");

	const struct maildir_dovecot_record *r =
		maildir_dovecot_uidlist_lookup(l, "1700000001.M1P1.h", 17);
	ck_assert(r->have_vsize);
	ck_assert_uint_eq(r->vsize, 27);
	ck_assert_ptr_null(r->pop3_uidl);
	r = maildir_dovecot_uidlist_lookup(l, "1700000008.M1P1.h", 17);
	ck_assert_uint_eq(r->uid, 8);
	ck_assert_uint_eq(r->vsize, 30);
	r = maildir_dovecot_uidlist_lookup(l, "1700000003.M1P1.h", 17);
	ck_assert(!r->have_vsize);
	/* S is not the POP3 size, and full names are not keys */
	r = maildir_dovecot_uidlist_lookup(l, "1700000002.M1P1.h", 17);
	ck_assert(!r->have_vsize);
	ck_assert_ptr_null(maildir_dovecot_uidlist_lookup(
		l, "1700000002.M1P1.h:2,S", 21));
	ck_assert_ptr_null(maildir_dovecot_uidlist_lookup(l, "1700000004.M1P1.h",
							  17));
	/* large UIDs and UIDVALIDITYs fill all eight digits */
	l = dc_parse(pool, "3 V4294967295 N4294967295\n"
		     "4294967294 :big\n");
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(dc_uidl_of(l, "big"), "fffffffeffffffff");
	pool_destroy(pool);
}
END_TEST

START_TEST(dovecot_parse_v1)
{
	pool_t *pool = pool_create();
	struct maildir_dovecot_uidlist *l = dc_parse(pool,
		"1 1700000000 4\n"
		"1 1700000001.M1P1.h\n"
		"3 1700000003.M1P1.h:2,S\n"
		/* v1 has no fields: this whole rest is a (strange) name */
		"4 W12 :x\n");
	ck_assert_ptr_nonnull(l);
	/* UID 4 is not below next UID 4 */
	ck_assert_uint_eq(dc_warned, (uint64_t)1 << 4);
	ck_assert_uint_eq(maildir_dovecot_uidlist_count(l), 2);
	ck_assert_str_eq(dc_uidl_of(l, "1700000001.M1P1.h"),
			 dc_default_uidl(1, DC_UIDVALIDITY));
	ck_assert_str_eq(dc_uidl_of(l, "1700000003.M1P1.h"),
			 dc_default_uidl(3, DC_UIDVALIDITY));
	pool_destroy(pool);
}
END_TEST

START_TEST(dovecot_parse_malformed_lines)
{
	char longp[128];
	memset(longp, 'p', 80);
	longp[80] = '\0';
	char *file = NULL;
	ck_assert_int_gt(asprintf(&file,
		"3 V1700000000 N20\n"
		"1 :good1\n"             /* 2 */
		"x :nouid\n"             /* 3 */
		"0 :zero\n"              /* 4 */
		"7 :seven\n"             /* 5 */
		"6 :descending\n"        /* 6 */
		"8 W12x :badw\n"         /* 7: kept, W ignored */
		"9 :\n"                  /* 8 */
		"10 :sub/dir\n"          /* 9 */
		"11 P%s :longp\n"        /* 10: kept, UID form */
		"12 #x :badfield\n"      /* 11: kept, field ignored */
		"13 :seven\n"            /* 12: kept, later line wins */
		"\n"                     /* 13 */
		"14\n"                   /* 14 */
		"15 :torn", longp), 0);
	pool_t *pool = pool_create();
	struct maildir_dovecot_uidlist *l = dc_parse(pool, file);
	free(file);
	ck_assert_ptr_nonnull(l);
	uint64_t want = 0;
	const unsigned bad[] = { 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		want |= (uint64_t)1 << bad[i];
	ck_assert_uint_eq(dc_warned, want);

	ck_assert_str_eq(dc_uidl_of(l, "good1"), dc_default_uidl(1, DC_UIDVALIDITY));
	ck_assert_str_eq(dc_uidl_of(l, "seven"), dc_default_uidl(13, DC_UIDVALIDITY));
	ck_assert_str_eq(dc_uidl_of(l, "badw"), dc_default_uidl(8, DC_UIDVALIDITY));
	ck_assert(!maildir_dovecot_uidlist_lookup(l, "badw", 4)->have_vsize);
	ck_assert_str_eq(dc_uidl_of(l, "longp"), dc_default_uidl(11, DC_UIDVALIDITY));
	ck_assert_str_eq(dc_uidl_of(l, "badfield"),
			 dc_default_uidl(12, DC_UIDVALIDITY));
	const char *gone[] = { "nouid", "zero", "descending", "sub", "torn", "" };
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		ck_assert_msg(maildir_dovecot_uidlist_lookup(l, gone[i],
							     strlen(gone[i])) == NULL,
			      "%s was accepted", gone[i]);
	ck_assert_uint_eq(maildir_dovecot_uidlist_count(l), 5);
	pool_destroy(pool);
}
END_TEST

START_TEST(dovecot_parse_bad_headers)
{
	const char *headers[] = {
		"",
		"\n1 :a\n",
		"2 V1 N2\n1 :a\n",          /* no such version */
		"3 N2 G00\n1 :a\n",         /* no UIDVALIDITY */
		"3 V0 N2\n1 :a\n",
		"3 V1\n1 :a\n",             /* no next UID */
		"3 V4294967296 N2\n1 :a\n", /* over 32 bits */
		"3 Vx N2\n1 :a\n",
		"1 x 2\n1 a\n",
		"1 5\n1 a\n",
		"3 V1 N2",                  /* torn */
		"31 V1 N2\n1 :a\n",
		"3 V1 N2\0\n1 :a\n",
	};
	pool_t *pool = pool_create();
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		dc_warned = 0;
		size_t len = strlen(headers[i]);
		if (i == sizeof(headers) / sizeof(headers[0]) - 1)
			len = sizeof("3 V1 N2\0\n1 :a\n") - 1;
		ck_assert_msg(maildir_dovecot_uidlist_parse(pool, headers[i], len,
							    dc_record_warning,
							    NULL) == NULL,
			      "header %zu accepted", i);
		ck_assert_uint_eq(dc_warned, (uint64_t)1 << 1);
	}
	/* spaces between header fields are fine, G and unknown keys too */
	ck_assert_ptr_nonnull(dc_parse(pool, "3 V1  N2 G00 Qfoo\n"));
	ck_assert_uint_eq(dc_warned, 0);
	pool_destroy(pool);
}
END_TEST

/* Opens md with the location suffix opt ("" or ":uidl=..."). */
static struct storage_mailbox *open_box_opt(pool_t *pool, const char *rel,
					    const char *opt, struct error *err)
{
	char loc[4200];
	snprintf(loc, sizeof(loc), "%s%s", fs_test_path(rel), opt);
	error_clear(err);
	return ops()->open(pool, loc, &test_user, err);
}

static const char *dc_lf_body = "Subject: a\n\nline one\nline two\n";
static const char *dc_no_eol_body = "Subject: b\n\nno final newline";

/* A maildir as Dovecot 2.3 leaves it after POP3 sessions: a uidlist with
 * W sizes (Dovecot writes W only when the name has no ,W=) and a P for a
 * message migrated from elsewhere, plus mail delivered later. */
static char *dc_make_mailbox(void)
{
	make_maildir("md");
	WRITE_STR("md/cur/1700000001.M1P1.h:2,S", dc_lf_body);
	WRITE_STR("md/cur/1700000002.M1P1.h,S=3:2,S", "ab\n");
	WRITE_STR("md/cur/1700000003.M1P1.h:2,", dc_no_eol_body);
	WRITE_STR("md/cur/1700000004.M1P1.h:2,RS", "migrated\n");
	WRITE_STR("md/new/1700000009.M1P1.later", "after the switch\n");
	char *file = NULL;
	ck_assert_int_gt(asprintf(&file,
		"3 V%u N8 G3085f01b7f11094c501100008c4a11c1\n"
		"1 W%llu :1700000001.M1P1.h\n"
		"2 W5 :1700000002.M1P1.h,S=3\n"
		"3 W%llu :1700000003.M1P1.h\n"
		"4 Pmigrated-0042 W10 :1700000004.M1P1.h\n"
		"6 W3 :1700000006.M1P1.h\n"      /* expunged since */
		"7 W3 :garbage\n", DC_UIDVALIDITY,
		(unsigned long long)message_wire_size(dc_lf_body,
						      strlen(dc_lf_body)),
		/* Dovecot's vsize: CRLF ends, no line end added */
		(unsigned long long)message_wire_size(dc_no_eol_body,
						      strlen(dc_no_eol_body)) - 2),
		0);
	WRITE_STR("md/dovecot-uidlist", file);
	return file;
}

START_TEST(dovecot_uidls_in_session)
{
	char *file = dc_make_mailbox();
	pool_t *pool = pool_create();
	struct error err;
	for (int session = 0; session < 2; session++) {
		struct storage_mailbox *box = open_box(pool, "md", &err);
		ck_assert_msg(box != NULL, "%s", err.message);
		ck_assert_uint_eq(ops()->message_count(box), 5);
		const struct storage_message_info *i0 = ops()->message_info(box, 0);
		ck_assert_str_eq(i0->uidl, dc_default_uidl(1, DC_UIDVALIDITY));
		ck_assert_str_eq(i0->uidl, "000000016553f100");
		ck_assert_str_eq(ops()->message_info(box, 1)->uidl,
				 dc_default_uidl(2, DC_UIDVALIDITY));
		ck_assert_str_eq(ops()->message_info(box, 2)->uidl,
				 dc_default_uidl(3, DC_UIDVALIDITY));
		ck_assert_str_eq(ops()->message_info(box, 3)->uidl,
				 "migrated-0042");
		/* delivered after the switch: its base name, as always */
		ck_assert_str_eq(ops()->message_info(box, 4)->uidl,
				 "1700000009.M1P1.later");

		/* W agrees with the computed size */
		ck_assert_uint_eq(i0->size, message_wire_size(dc_lf_body,
							      strlen(dc_lf_body)));
		/* W is what counts: 5, not the 4 computed, proves the body
		 * was not read */
		ck_assert_uint_eq(ops()->message_info(box, 1)->size, 5);
		/* no final line end: W, Dovecot's size, which is also
		 * Roost's (without the CRLF RETR adds) */
		ck_assert_uint_eq(ops()->message_info(box, 2)->size,
				  pop3_size(dc_no_eol_body));
		ck_assert_uint_eq(ops()->message_info(box, 2)->size,
				  message_wire_size(dc_no_eol_body,
						    strlen(dc_no_eol_body)) - 2);
		/* W=10 cannot be "migrated\n" (9 bytes -> 10 is fine) */
		ck_assert_uint_eq(ops()->message_info(box, 3)->size, 10);
		ck_assert_uint_eq(ops()->message_info(box, 4)->size, 18);
		ops()->close(box);
	}
	/* never written by Roost */
	size_t len;
	ck_assert_str_eq(read_file("md/dovecot-uidlist", &len), file);
	free(file);
	/* the checked sizes went to Roost's own cache */
	char *cache = read_file("md/roost-sizes", NULL);
	ck_assert_ptr_nonnull(strstr(cache, "1700000002.M1P1.h,S=3 5\n"));
	pool_destroy(pool);
}
END_TEST

START_TEST(dovecot_implausible_w_is_recomputed)
{
	make_maildir("md");
	WRITE_STR("md/cur/1700000001.M1P1.h:2,", "ab\n");
	WRITE_STR("md/cur/1700000002.M1P1.h:2,", "ab\n");
	WRITE_STR("md/cur/1700000003.M1P1.h:2,", "");
	WRITE_STR("md/dovecot-uidlist", "3 V7 N4\n"
		  "1 W2 :1700000001.M1P1.h\n"    /* below the file size */
		  "2 W99 :1700000002.M1P1.h\n"   /* above twice the size */
		  "3 W1 :1700000003.M1P1.h\n");  /* an empty file has 0 */
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_uint_eq(ops()->message_count(box), 3);
	ck_assert_uint_eq(ops()->message_info(box, 0)->size, 4);
	ck_assert_uint_eq(ops()->message_info(box, 1)->size, 4);
	ck_assert_uint_eq(ops()->message_info(box, 2)->size, 0);
	ck_assert_str_eq(ops()->message_info(box, 2)->uidl,
			 dc_default_uidl(3, 7));
	ops()->close(box);
	pool_destroy(pool);
}
END_TEST

START_TEST(dovecot_basename_option)
{
	char *file = dc_make_mailbox();
	free(file);
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box =
		open_box_opt(pool, "md", ":uidl=basename", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_uint_eq(ops()->message_count(box), 5);
	ck_assert_str_eq(ops()->message_info(box, 0)->uidl, "1700000001.M1P1.h");
	ck_assert_str_eq(ops()->message_info(box, 1)->uidl,
			 "1700000002.M1P1.h,S=3");
	ck_assert_str_eq(ops()->message_info(box, 3)->uidl, "1700000004.M1P1.h");
	/* W ignored too: the computed size */
	ck_assert_uint_eq(ops()->message_info(box, 1)->size, 4);
	ops()->close(box);

	/* explicit default */
	fs_test_remove_tree(fs_test_path("md/roost-sizes"));
	box = open_box_opt(pool, "md", ":uidl=dovecot", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_str_eq(ops()->message_info(box, 3)->uidl, "migrated-0042");
	ops()->close(box);

	const char *bad[] = { ":uidl=", ":uidl=Dovecot", ":uid=basename",
			      ":uidl", ":uidl=basename:uidl=dovecot",
			      ":uidl=basename:" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(open_box_opt(pool, "md", bad[i], &err) == NULL,
			      "%s accepted", bad[i]);
		ck_assert_int_eq(err.kind, ERROR_INVALID);
	}
	error_clear(&err);
	ck_assert_ptr_null(ops()->open(pool, ":uidl=basename", &test_user, &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	pool_destroy(pool);
}
END_TEST

START_TEST(dovecot_damaged_file_never_fails)
{
	make_maildir("md");
	WRITE_STR("md/cur/1700000001.M1P1.h:2,", "a\n");
	WRITE_STR("md/cur/1700000002.M1P1.h:2,", "b\n");
	WRITE_STR("md/cur/1700000003.M1P1.h:2,", "c\n");
	WRITE_STR("md/dovecot-uidlist", "3 V9 N9\n"
		  "1 :1700000001.M1P1.h\n"
		  "two :1700000002.M1P1.h\n"
		  "3 :1700000003.M1P1.h");   /* torn */
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_str_eq(ops()->message_info(box, 0)->uidl, dc_default_uidl(1, 9));
	ck_assert_str_eq(ops()->message_info(box, 1)->uidl, "1700000002.M1P1.h");
	ck_assert_str_eq(ops()->message_info(box, 2)->uidl, "1700000003.M1P1.h");
	ops()->close(box);

	/* a broken header: Roost's UIDLs for all */
	WRITE_STR("md/dovecot-uidlist", "9 V9 N9\n1 :1700000001.M1P1.h\n");
	box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_str_eq(ops()->message_info(box, 0)->uidl, "1700000001.M1P1.h");
	ops()->close(box);

	/* not a regular file */
	ck_assert_int_eq(unlink(fs_test_path("md/dovecot-uidlist")), 0);
	ck_assert_int_eq(mkdir(fs_test_path("md/dovecot-uidlist"), 0700), 0);
	box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_str_eq(ops()->message_info(box, 0)->uidl, "1700000001.M1P1.h");
	ops()->close(box);
	pool_destroy(pool);
}
END_TEST

START_TEST(dovecot_uidls_stay_unique)
{
	make_maildir("md");
	/* a dot-less name equal to an inherited UIDL (no delivery agent
	 * makes such names; the rule must still hold) */
	char twin[64];
	snprintf(twin, sizeof(twin), "md/cur/%s:2,", dc_default_uidl(1, 5));
	WRITE_STR("md/cur/1700000001.M1P1.h:2,", "a\n");
	WRITE_STR(twin, "b\n");
	/* two P values alike, and the same base name in new/ and cur/ */
	WRITE_STR("md/cur/1700000002.M1P1.h:2,", "c\n");
	WRITE_STR("md/cur/1700000003.M1P1.h:2,", "d\n");
	WRITE_STR("md/cur/1700000004.M1P1.h:2,S", "e\n");
	WRITE_STR("md/new/1700000004.M1P1.h", "f\n");
	WRITE_STR("md/dovecot-uidlist", "3 V5 N9\n"
		  "1 :1700000001.M1P1.h\n"
		  "2 Psame :1700000002.M1P1.h\n"
		  "3 Psame :1700000003.M1P1.h\n"
		  "4 :1700000004.M1P1.h\n");
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	unsigned count = ops()->message_count(box);
	ck_assert_uint_eq(count, 6);
	for (unsigned i = 0; i < count; i++) {
		const char *u = ops()->message_info(box, i)->uidl;
		ck_assert(storage_uidl_is_valid(u, strlen(u)));
		for (unsigned j = 0; j < i; j++)
			ck_assert_str_ne(u, ops()->message_info(box, j)->uidl);
	}
	/* inherited UIDLs win */
	int inherited = find_uidl(box, dc_default_uidl(1, 5));
	ck_assert_int_ge(inherited, 0);
	char body[8];
	size_t n = read_message(box, (unsigned)inherited, body, sizeof(body));
	ck_assert_mem_eq(body, "a\n", n);
	ck_assert_int_ge(find_uidl(box, "same"), 0);
	ck_assert_int_ge(find_uidl(box, dc_default_uidl(4, 5)), 0);
	/* twins stay apart: deleting one leaves the other */
	int t = find_uidl(box, dc_default_uidl(4, 5));
	bool deleted[6] = { false };
	deleted[t] = true;
	ck_assert_int_eq(ops()->commit_deletions(box, deleted, &err), 0);
	ops()->close(box);
	ck_assert_int_eq(fs_test_exists("md/cur/1700000004.M1P1.h:2,S") +
			 fs_test_exists("md/cur/1700000004.M1P1.h:2,") +
			 fs_test_exists("md/new/1700000004.M1P1.h"), 1);
	pool_destroy(pool);
}
END_TEST

/* ---- courierpop3dsizelist ---- */

/* The format of Courier's pop3dserver.c (courier-libs imap/pop3dserver.c,
 * savepop3dlist()): "/3 <next uid> <uidvalidity>", then
 * "<cur/ file name> <size> <uid>:<uidvalidity>:<utf8 flag>". */
#define CR_UIDVALIDITY "1600000000"

static struct maildir_courier_sizelist *cr_parse(pool_t *pool, const char *s)
{
	dc_warned = 0;
	return maildir_courier_sizelist_parse(pool, s, strlen(s),
					      dc_record_warning, NULL);
}

static const char *cr_uidl_of(const struct maildir_courier_sizelist *list,
			      const char *base)
{
	static char out[MAILDIR_UIDL_MAX + 1];
	const struct maildir_courier_record *r =
		maildir_courier_sizelist_lookup(list, base, strlen(base));
	ck_assert_msg(r != NULL, "%s not listed", base);
	maildir_courier_uidl(r, base, strlen(base), out);
	return out;
}

START_TEST(courier_parse_v3)
{
	const char *file =
		"/3 7 " CR_UIDVALIDITY "\n"
		"1600000001.M1P7.courier:2,S 120 1:" CR_UIDVALIDITY ":0\n"
		"1600000002.M2P7.courier 95 2:" CR_UIDVALIDITY ":1\n"
		/* a space in the name: the last two spaces separate */
		"1600000003.M3P7.odd name:2, 10 3:" CR_UIDVALIDITY ":0\n"
		/* an older UIDVALIDITY of its own, and none */
		"1600000004.M4P7.courier 10 4:1500000000:0\n"
		"1600000005.M5P7.courier 10 5:0:0\n"
		"1600000006.M6P7.courier 10 0:0:0\n";
	pool_t *pool = pool_create();
	struct maildir_courier_sizelist *l = cr_parse(pool, file);
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(dc_warned, 0);
	ck_assert_uint_eq(maildir_courier_sizelist_count(l), 6);
	ck_assert_str_eq(cr_uidl_of(l, "1600000001.M1P7.courier"),
			 "UID1-" CR_UIDVALIDITY);
	ck_assert_str_eq(cr_uidl_of(l, "1600000002.M2P7.courier"),
			 "UID2-" CR_UIDVALIDITY);
	ck_assert_str_eq(cr_uidl_of(l, "1600000003.M3P7.odd name"),
			 "UID3-" CR_UIDVALIDITY);
	ck_assert_str_eq(cr_uidl_of(l, "1600000004.M4P7.courier"),
			 "UID4-1500000000");
	ck_assert_str_eq(cr_uidl_of(l, "1600000005.M5P7.courier"), "UID5");
	ck_assert_str_eq(cr_uidl_of(l, "1600000006.M6P7.courier"),
			 "1600000006.M6P7.courier");
	ck_assert_ptr_null(maildir_courier_sizelist_lookup(l, "1600000001", 10));

	/* version 2: no UTF-8 flag; the third header field is optional */
	l = cr_parse(pool, "/2 3\nA.x 10 1:77\nB.x:2,S 10 2:77\n");
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(dc_warned, 0);
	ck_assert_str_eq(cr_uidl_of(l, "A.x"), "UID1-77");
	ck_assert_str_eq(cr_uidl_of(l, "B.x"), "UID2-77");
	pool_destroy(pool);
}
END_TEST

START_TEST(courier_parse_damage)
{
	char longline[3000];
	memset(longline, 'a', sizeof(longline));
	memcpy(longline + sizeof(longline) - 12, " 1 1:1:0\n", 10);
	char *file = NULL;
	ck_assert_int_gt(asprintf(&file,
		"/3 9 5\n"
		"good.1 10 1:5:0\n"
		"nospaces\n"
		" 10 2:5:0\n"                 /* no file name */
		"bad.size 1x 3:5:0\n"
		"bad.uid 10 x:5:0\n"
		"v2.line 10 5:5\n"            /* version 2 fields in version 3 */
		"bad.flag 10 6:5:7\n"
		"trailing 10 7:5:0:\n"
		"slash/name 10 8:5:0\n"
		"good.1 10 9:5:0\n"           /* listed twice */
		"%s"
		"good.2 10 10:5:0\n"
		"torn 10 11:5:0", longline), 0);
	pool_t *pool = pool_create();
	struct maildir_courier_sizelist *l = cr_parse(pool, file);
	ck_assert_ptr_nonnull(l);
	/* lines 3..12 and the torn line 14 */
	ck_assert_uint_eq(dc_warned, ((uint64_t)0x7ff << 3 & ~((uint64_t)1 << 13)) |
			  (uint64_t)1 << 14);
	ck_assert_uint_eq(maildir_courier_sizelist_count(l), 2);
	ck_assert_str_eq(cr_uidl_of(l, "good.1"), "UID1-5");
	ck_assert_str_eq(cr_uidl_of(l, "good.2"), "UID10-5");
	ck_assert_ptr_null(maildir_courier_sizelist_lookup(l, "torn", 4));
	free(file);

	const char *bad_headers[] = { "", "\n", "3 9 5\n", "/1 9 5\n",
				      "/4 9 5\n", "/3\n", "/3 x 5\n",
				      "/3 9 5 extra\n", "/3 9 5", "/3  9 5\n" };
	for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
		ck_assert_msg(cr_parse(pool, bad_headers[i]) == NULL,
			      "header %zu accepted", i);
		ck_assert_uint_eq(dc_warned, (uint64_t)1 << 1);
	}
	pool_destroy(pool);
}
END_TEST

/* A maildir as Courier 0.43+ leaves it, plus mail delivered later. */
static void cr_make_mailbox(void)
{
	make_maildir("md");
	WRITE_STR("md/cur/1600000001.M1P7.courier:2,S", "one\n");
	WRITE_STR("md/cur/1600000002.M2P7.courier:2,", "two\n");
	WRITE_STR("md/cur/1600000003.M3P7.courier:2,S", "three\n");
	WRITE_STR("md/new/1600000009.M9P7.later", "after the switch\n");
	WRITE_STR("md/courierpop3dsizelist", "/3 4 " CR_UIDVALIDITY "\n"
		  "1600000001.M1P7.courier:2,S 5 1:" CR_UIDVALIDITY ":0\n"
		  "1600000002.M2P7.courier:2, 5 2:" CR_UIDVALIDITY ":0\n"
		  "1600000003.M3P7.courier:2,S 7 3:" CR_UIDVALIDITY ":0\n");
}

static void assert_uidls(struct storage_mailbox *box, const char *const *want,
			 unsigned count)
{
	ck_assert_uint_eq(ops()->message_count(box), count);
	for (unsigned i = 0; i < count; i++)
		ck_assert_str_eq(ops()->message_info(box, i)->uidl, want[i]);
}

START_TEST(courier_uidls_in_session)
{
	cr_make_mailbox();
	static const char *const courier[] = {
		"UID1-" CR_UIDVALIDITY, "UID2-" CR_UIDVALIDITY,
		"UID3-" CR_UIDVALIDITY, "1600000009.M9P7.later" };
	static const char *const bases[] = {
		"1600000001.M1P7.courier", "1600000002.M2P7.courier",
		"1600000003.M3P7.courier", "1600000009.M9P7.later" };
	pool_t *pool = pool_create();
	struct error err;
	const char *opts[] = { "", ":uidl=auto", ":uidl=courier" };
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		struct storage_mailbox *box =
			open_box_opt(pool, "md", opts[i], &err);
		ck_assert_msg(box != NULL, "%s", err.message);
		assert_uidls(box, courier, 4);
		/* Courier's sizes are not used: computed */
		ck_assert_uint_eq(ops()->message_info(box, 2)->size, 7);
		ops()->close(box);
	}
	const char *ignoring[] = { ":uidl=dovecot", ":uidl=basename" };
	for (size_t i = 0; i < sizeof(ignoring) / sizeof(ignoring[0]); i++) {
		struct storage_mailbox *box =
			open_box_opt(pool, "md", ignoring[i], &err);
		ck_assert_msg(box != NULL, "%s", err.message);
		assert_uidls(box, bases, 4);
		ops()->close(box);
	}
	pool_destroy(pool);
}
END_TEST

/* Both files: auto takes dovecot-uidlist (a Courier maildir converted to
 * Dovecot), uidl=courier the other; a damaged dovecot-uidlist header
 * lets auto fall back to Courier's file. */
START_TEST(courier_and_dovecot_precedence)
{
	cr_make_mailbox();
	WRITE_STR("md/dovecot-uidlist", "3 V9 N5\n"
		  "1 PUID1-" CR_UIDVALIDITY " :1600000001.M1P7.courier\n"
		  "4 :1600000003.M3P7.courier\n");
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	const char *const dovecot[] = {
		"UID1-" CR_UIDVALIDITY, "1600000002.M2P7.courier",
		dc_default_uidl(4, 9), "1600000009.M9P7.later" };
	assert_uidls(box, dovecot, 4);
	ops()->close(box);

	box = open_box_opt(pool, "md", ":uidl=courier", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_str_eq(ops()->message_info(box, 2)->uidl,
			 "UID3-" CR_UIDVALIDITY);
	ops()->close(box);

	WRITE_STR("md/dovecot-uidlist", "9 garbage\n");
	box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_str_eq(ops()->message_info(box, 2)->uidl,
			 "UID3-" CR_UIDVALIDITY);
	ops()->close(box);

	/* a damaged Courier file costs its UIDLs, never the session */
	unlink(fs_test_path("md/dovecot-uidlist"));
	static const char damaged[] =
		"/3 4 1\n1600000001.M1P7.courier:2,S 5 1:1:0\0x\n";
	fs_test_write_file("md/courierpop3dsizelist", damaged,
			   sizeof(damaged) - 1);
	box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_str_eq(ops()->message_info(box, 0)->uidl,
			 "1600000001.M1P7.courier");
	ops()->close(box);
	pool_destroy(pool);
}
END_TEST


/* ---- the listing cache ---- */

static void listing_test_key(struct maildir_listing_key *key)
{
	memset(key, 0, sizeof(*key));
	key->uidl_mode = 1;
	key->scan_sec = 1700000100;
	key->scan_nsec = 5;
	for (int i = 0; i < 2; i++) {
		struct maildir_listing_stamp *s = &key->stamps[i];
		s->present = true;
		s->dev = 65024;
		s->ino = 1000 + (uint64_t)i;
		s->size = 4096;
		s->mtime_sec = s->ctime_sec = 1700000000;
		s->mtime_nsec = s->ctime_nsec = 123456789;
	}
}

static const struct maildir_listing_entry listing_test_entries[] = {
	{ "1700000001.M1P1.h,S=3,W=4:2,S", 25, NULL, 4, 11, false },
	{ "1700000002.M1P1.h:2,", 17, "0000000100000007", 198, 12, true },
	{ "1700000002.M1P1.h:2,S", 17, "1700000002.M1P1.h-2", 5, 13, true },
	{ "odd name with spaces:2,", 20, "Hd0c1f3a4e6b2b8a29f1c3e4d5a6b7c8d", 7,
	  14, false },
};
#define LISTING_TEST_COUNT \
	(sizeof(listing_test_entries) / sizeof(listing_test_entries[0]))

/* Parses the file md/roost-listing; returns the entries or NULL. */
static struct maildir_listing_entry *
listing_test_read(pool_t *pool, struct maildir_listing_key *key_r,
		  size_t *count_r)
{
	size_t len;
	char *buf = pool_strdup(pool, read_file("md/" MAILDIR_LISTING_CACHE_NAME,
						&len));
	size_t header_len;
	if (!maildir_listing_parse_header(buf, len, key_r, count_r, &header_len))
		return NULL;
	struct maildir_listing_entry *entries;
	const char *why;
	if (!maildir_listing_parse_entries(pool, buf + header_len,
					   len - header_len, *count_r,
					   &entries, &why))
		return NULL;
	return entries;
}

START_TEST(listing_roundtrip)
{
	make_maildir("md");
	struct maildir_listing_key key, back;
	listing_test_key(&key);
	struct error err;
	error_clear(&err);
	ck_assert_int_eq(maildir_listing_write(fs_test_path("md/" MAILDIR_LISTING_CACHE_NAME),
					       &key, listing_test_entries,
					       LISTING_TEST_COUNT, &err), 1);
	pool_t *pool = pool_create();
	size_t count;
	struct maildir_listing_entry *e = listing_test_read(pool, &back, &count);
	ck_assert_ptr_nonnull(e);
	ck_assert(maildir_listing_key_equal(&key, &back));
	ck_assert_uint_eq(back.scan_sec, key.scan_sec);
	ck_assert_uint_eq(back.scan_nsec, key.scan_nsec);
	ck_assert(!back.stamps[MAILDIR_LISTING_STAMP_DOVECOT].present);
	ck_assert_uint_eq(count, LISTING_TEST_COUNT);
	for (size_t i = 0; i < count; i++) {
		const struct maildir_listing_entry *want = &listing_test_entries[i];
		ck_assert_str_eq(e[i].name, want->name);
		ck_assert_uint_eq(e[i].base_len, want->base_len);
		ck_assert_uint_eq(e[i].size, want->size);
		ck_assert_uint_eq(e[i].ino, want->ino);
		ck_assert_int_eq(e[i].dup_base, want->dup_base);
		if (want->uidl == NULL)
			ck_assert_ptr_null(e[i].uidl);
		else
			ck_assert_str_eq(e[i].uidl, want->uidl);
	}
	/* a UIDL equal to the base name is stored as the empty field */
	char *text = read_file("md/" MAILDIR_LISTING_CACHE_NAME, NULL);
	ck_assert_ptr_nonnull(strstr(text, "\n4 11 -  1700000001.M1P1.h,S=3,W=4:2,S\n"));
	pool_destroy(pool);
}
END_TEST

START_TEST(listing_stale_and_dirty)
{
	struct maildir_listing_key key, other;
	listing_test_key(&key);
	ck_assert(maildir_listing_key_settled(&key));
	other = key;
	ck_assert(maildir_listing_key_equal(&key, &other));
	/* another scan time is the same snapshot */
	other.scan_sec += 60;
	ck_assert(maildir_listing_key_equal(&key, &other));
	/* any change of a stamp makes it stale */
	other = key;
	other.stamps[MAILDIR_LISTING_STAMP_CUR].ctime_nsec++;
	ck_assert(!maildir_listing_key_equal(&key, &other));
	other = key;
	other.stamps[MAILDIR_LISTING_STAMP_NEW].mtime_sec++;
	ck_assert(!maildir_listing_key_equal(&key, &other));
	other = key;
	other.stamps[MAILDIR_LISTING_STAMP_DOVECOT].present = true;
	ck_assert(!maildir_listing_key_equal(&key, &other));
	other = key;
	other.uidl_mode = 2;
	ck_assert(!maildir_listing_key_equal(&key, &other));
	/* the dirty window: a directory changed less than
	 * MAILDIR_LISTING_DIRTY_SECS before the scan is not trusted */
	other = key;
	other.stamps[MAILDIR_LISTING_STAMP_CUR].ctime_sec =
		key.scan_sec - MAILDIR_LISTING_DIRTY_SECS;
	other.stamps[MAILDIR_LISTING_STAMP_CUR].ctime_nsec = key.scan_nsec;
	ck_assert(!maildir_listing_key_settled(&other));
	other.stamps[MAILDIR_LISTING_STAMP_CUR].ctime_nsec = key.scan_nsec - 1;
	ck_assert(maildir_listing_key_settled(&other));
	other.stamps[MAILDIR_LISTING_STAMP_NEW].mtime_sec = key.scan_sec;
	ck_assert(!maildir_listing_key_settled(&other));
}
END_TEST

/* Replaces md/roost-listing with a damaged copy of a good one: the
 * first len_cut octets dropped from the end, or from (old -> new). */
static bool listing_damaged_parses(const char *old, const char *new_text,
				   size_t cut)
{
	struct maildir_listing_key key;
	listing_test_key(&key);
	struct error err;
	error_clear(&err);
	ck_assert_int_eq(maildir_listing_write(fs_test_path("md/" MAILDIR_LISTING_CACHE_NAME),
					       &key, listing_test_entries,
					       LISTING_TEST_COUNT, &err), 1);
	size_t len;
	char *text = xstrdup(read_file("md/" MAILDIR_LISTING_CACHE_NAME, &len));
	char out[65536];
	if (old != NULL) {
		char *at = strstr(text, old);
		ck_assert_ptr_nonnull(at);
		snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - text), text,
			 new_text, at + strlen(old));
	} else {
		snprintf(out, sizeof(out), "%.*s", (int)(len - cut), text);
	}
	free(text);
	WRITE_STR("md/" MAILDIR_LISTING_CACHE_NAME, out);
	pool_t *pool = pool_create();
	size_t count;
	struct maildir_listing_key back;
	bool ok = listing_test_read(pool, &back, &count) != NULL;
	pool_destroy(pool);
	return ok;
}

START_TEST(listing_corrupt_ignored)
{
	make_maildir("md");
	/* the undamaged file parses: the checks below are not vacuous */
	ck_assert(listing_damaged_parses(NULL, NULL, 0));
	/* truncated: mid-line, and a whole line */
	ck_assert(!listing_damaged_parses(NULL, NULL, 1));
	ck_assert(!listing_damaged_parses(NULL, NULL, 24));
	/* count and lines disagree */
	ck_assert(!listing_damaged_parses(":roost-listing 1 4 ", ":roost-listing 1 5 ", 0));
	ck_assert(!listing_damaged_parses(":roost-listing 1 4 ", ":roost-listing 1 3 ", 0));
	/* another version, garbage */
	ck_assert(!listing_damaged_parses(":roost-listing 1 ", ":roost-listing 2 ", 0));
	ck_assert(!listing_damaged_parses(":roost-listing", "roost-listing", 0));
	/* a name that leaves cur/, a dot file */
	ck_assert(!listing_damaged_parses(" 1700000001.M1P1", " ../1700000001.M1P1", 0));
	ck_assert(!listing_damaged_parses(" 1700000001.M1P1", " .1700000001.M1P1", 0));
	/* bad numbers, flag, UIDL */
	ck_assert(!listing_damaged_parses("\n4 11 -", "\n4x 11 -", 0));
	ck_assert(!listing_damaged_parses("\n4 11 -", "\n4 -11 -", 0));
	ck_assert(!listing_damaged_parses("\n4 11 -", "\n4 11 x", 0));
	ck_assert(!listing_damaged_parses("0000000100000007", "00000001\x01", 0));
	/* two messages with one UIDL */
	ck_assert(!listing_damaged_parses("1700000002.M1P1.h-2", "0000000100000007", 0));
	ck_assert(!listing_damaged_parses("1700000002.M1P1.h-2", "1700000001.M1P1.h,S=3,W=4", 0));
	/* an empty UIDL field needs a base name that is a valid UIDL */
	ck_assert(!listing_damaged_parses("Hd0c1f3a4e6b2b8a29f1c3e4d5a6b7c8d", "", 0));
}
END_TEST

/* Two opens of a settled maildir: the second is served from the cache
 * (proved by a UIDL only the cache file has), and the next change of
 * the maildir makes the module scan again. */
START_TEST(listing_used_and_invalidated)
{
	make_maildir("md");
	WRITE_STR("md/cur/1700000001.M1P1.h,S=3,W=4:2,S", "ab\n");
	WRITE_STR("md/cur/1700000002.M1P1.h:2,", "no newline");
	WRITE_STR("md/cur/1700000003.M1P1.h:2,", "third\n");
	/* let the directories leave the dirty window */
	sleep(MAILDIR_LISTING_DIRTY_SECS + 1);
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_uint_eq(ops()->message_count(box), 3);
	ops()->close(box);
	ck_assert(fs_test_exists("md/" MAILDIR_LISTING_CACHE_NAME));

	/* tamper with a stored UIDL: only the cache can report it */
	size_t len;
	char *text = xstrdup(read_file("md/" MAILDIR_LISTING_CACHE_NAME, &len));
	char *at = strstr(text, " -  1700000002.M1P1.h:2,\n");
	ck_assert_ptr_nonnull(at);
	char out[65536];
	snprintf(out, sizeof(out), "%.*s - from-cache 1700000002.M1P1.h:2,\n%s",
		 (int)(at - text), text, at + strlen(" -  1700000002.M1P1.h:2,\n"));
	free(text);
	WRITE_STR("md/" MAILDIR_LISTING_CACHE_NAME, out);
	box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_uint_eq(ops()->message_count(box), 3);
	ck_assert_str_eq(ops()->message_info(box, 1)->uidl, "from-cache");
	ck_assert_uint_eq(ops()->message_info(box, 1)->size, 10);
	ck_assert_uint_eq(ops()->message_info(box, 0)->size, 4);
	char buf[64];
	ck_assert_uint_eq(read_message(box, 2, buf, sizeof(buf)), 6);
	ops()->close(box);

	/* a delivery and a removal behind the module's back */
	WRITE_STR("md/new/1700000004.M1P1.h", "fourth\n");
	ck_assert_int_eq(unlink(fs_test_path("md/cur/1700000003.M1P1.h:2,")),
			 0);
	box = open_box(pool, "md", &err);
	ck_assert_msg(box != NULL, "%s", err.message);
	ck_assert_uint_eq(ops()->message_count(box), 3);
	ck_assert_str_eq(ops()->message_info(box, 0)->uidl, "1700000001.M1P1.h,S=3,W=4");
	ck_assert_str_eq(ops()->message_info(box, 1)->uidl, "1700000002.M1P1.h");
	ck_assert_str_eq(ops()->message_info(box, 2)->uidl, "1700000004.M1P1.h");
	ops()->close(box);
	pool_destroy(pool);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("maildir");

	TCase *tc = tcase_create("name");
	tcase_add_test(tc, name_full);
	tcase_add_test(tc, name_variants);
	tcase_add_test(tc, uidl_rule);
	suite_add_tcase(s, tc);

	tc = tcase_create("size-cache");
	tcase_add_checked_fixture(tc, setup, fs_test_teardown);
	tcase_add_test(tc, cache_missing_and_roundtrip);
	tcase_add_test(tc, cache_corrupt_lines);
	tcase_add_test(tc, cache_prune_and_atomic_rewrite);
	tcase_add_test(tc, cache_write_failure);
	tcase_add_test(tc, cache_versions);
	suite_add_tcase(s, tc);

	tc = tcase_create("storage");
	tcase_add_checked_fixture(tc, setup, fs_test_teardown);
	tcase_add_test(tc, module_descriptor);
	tcase_add_test(tc, open_creates_maildir);
	tcase_add_test(tc, snapshot_order_and_new_to_cur);
	tcase_add_test(tc, second_open_is_in_use);
	tcase_add_test(tc, sizes_match_wire_size);
	tcase_add_test(tc, w_size_and_corrupt_cache);
	tcase_add_test(tc, legacy_cache_upgraded);
	tcase_add_test(tc, commit_deletes_marked_only);
	tcase_add_test(tc, flag_rename_followed);
	tcase_add_test(tc, vanished_message);
	tcase_add_test(tc, commit_failure_keeps_going);
	tcase_add_test(tc, duplicate_base_names);
	tcase_add_test(tc, odd_names_get_digest_uidls);
	tcase_add_test(tc, cache_pruned_by_module);
	tcase_add_test(tc, open_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("listing-cache");
	tcase_add_checked_fixture(tc, setup, fs_test_teardown);
	/* listing_used_and_invalidated waits out the dirty window */
	tcase_set_timeout(tc, 4 * MAILDIR_LISTING_DIRTY_SECS + 10);
	tcase_add_test(tc, listing_roundtrip);
	tcase_add_test(tc, listing_stale_and_dirty);
	tcase_add_test(tc, listing_corrupt_ignored);
	tcase_add_test(tc, listing_used_and_invalidated);
	suite_add_tcase(s, tc);

	tc = tcase_create("dovecot-uidlist");
	tcase_add_checked_fixture(tc, setup, fs_test_teardown);
	tcase_add_test(tc, dovecot_parse_v3);
	tcase_add_test(tc, dovecot_parse_v1);
	tcase_add_test(tc, dovecot_parse_malformed_lines);
	tcase_add_test(tc, dovecot_parse_bad_headers);
	tcase_add_test(tc, dovecot_uidls_in_session);
	tcase_add_test(tc, dovecot_implausible_w_is_recomputed);
	tcase_add_test(tc, dovecot_basename_option);
	tcase_add_test(tc, dovecot_damaged_file_never_fails);
	tcase_add_test(tc, dovecot_uidls_stay_unique);
	suite_add_tcase(s, tc);

	tc = tcase_create("courierpop3dsizelist");
	tcase_add_checked_fixture(tc, setup, fs_test_teardown);
	tcase_add_test(tc, courier_parse_v3);
	tcase_add_test(tc, courier_parse_damage);
	tcase_add_test(tc, courier_uidls_in_session);
	tcase_add_test(tc, courier_and_dovecot_precedence);
	suite_add_tcase(s, tc);

	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
