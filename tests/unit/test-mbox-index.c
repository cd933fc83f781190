/* Unit tests for the mbox index (storage/mbox/mbox-index.c) and the
 * storage's use of it: what a session lists from the index, from the
 * index plus an appended tail, and from a full parse must be the same,
 * and a commit must keep its guarantees either way. */
#include "config.h"
#include "log.h"
#include "module.h"
#include "storage.h"
#include "mbox/mbox-index.h"
#include "mbox/mbox-location.h"
#include "mbox/mbox-mailbox.h"
#include "fs-test-util.h"
#include "mbox-test-util.h"

#include <check.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

extern const struct roost_module roost_module;

static const struct storage_ops *ops;

/* A location whose index can be neither read nor written: every open is
 * a full parse, the reference the index must agree with. */
#define NO_INDEX ":index=/nonexistent/roost-test-index"
#define FORGED_UIDL "forged-by-the-test"

/* ---- helpers ---- */

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	fs_test_setup("/tmp/test-mbox-index-XXXXXX");
	ops = roost_module.ops;
	if (getenv("TEST_DEBUG") != NULL)
		log_set_debug(true);
}

/* Waits until the mbox's last change is old enough for an index to be
 * written (MBOX_INDEX_RACY_SECS): not a timing assertion, a
 * precondition. */
static void settle(void)
{
	struct stat st;
	ck_assert_int_eq(stat(fs_test_path("mbox"), &st), 0);
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		double age = (double)(now.tv_sec - st.st_ctim.tv_sec) +
			(double)(now.tv_nsec - st.st_ctim.tv_nsec) / 1e9;
		if (age > MBOX_INDEX_RACY_SECS + 0.05)
			return;
		usleep(50000);
	}
}

/* mbox_test_load(), and the index's temporary file must be gone. */
static void load(struct mbox_test_contents *c, const char *opts)
{
	mbox_test_load(c, opts);
	ck_assert_msg(!fs_test_exists("mbox.roost-index.roost-tmp"),
		      "index temporary file left behind");
}

/* Same list and contents, except the UIDL of message skip_uidl (or
 * none: MBOX_TEST_MAX_MSGS). */
static void assert_same_except(const struct mbox_test_contents *a,
			       const struct mbox_test_contents *b,
			       unsigned skip_uidl)
{
	ck_assert_uint_eq(a->count, b->count);
	for (unsigned i = 0; i < a->count; i++) {
		ck_assert_uint_eq(a->size[i], b->size[i]);
		ck_assert_uint_eq(a->len[i], b->len[i]);
		ck_assert_msg(memcmp(a->data[i], b->data[i], a->len[i]) == 0,
			      "message %u content differs", i);
		if (i != skip_uidl)
			ck_assert_str_eq(a->uidl[i], b->uidl[i]);
	}
}

static void assert_same(const struct mbox_test_contents *a,
			const struct mbox_test_contents *b)
{
	assert_same_except(a, b, MBOX_TEST_MAX_MSGS);
}

/* Rewrites the index through decode/encode: the given message gets the
 * X-UIDL FORGED_UIDL and, with drop_uid, no X-UID (so its UIDL changes, in
 * either mode, and a session that lists that UIDL used the index), and
 * edit (may be NULL) changes the stamp. The checksum is recomputed, so
 * only the stamp or the forged field can make the index unusable. */
/* from_end: 1 is the last message. Returns the message's index. */
static unsigned forge_index_uid(unsigned from_end, bool drop_uid,
				void (*edit)(struct mbox_index_stamp *stamp))
{
	pool_t *pool = pool_create();
	struct mbox_scan scan;
	struct mbox_index_stamp stamp;
	const char *why = "";
	ck_assert_msg(mbox_index_read(fs_test_path("mbox.roost-index"), pool,
				      &scan, &stamp, &why),
		      "index unusable: %s", why);
	ck_assert_uint_ge(scan.count, from_end);
	unsigned msg = (unsigned)scan.count - from_end;
	scan.x_uidls[msg] = FORGED_UIDL;
	if (drop_uid)
		scan.uids[msg] = 0;
	if (edit != NULL)
		edit(&stamp);
	struct buffer out;
	buffer_init(&out);
	mbox_index_encode(&scan, &stamp, &out);
	fs_test_write_file("mbox.roost-index", out.data, out.len);
	buffer_free(&out);
	mbox_scan_free(&scan);
	pool_destroy(pool);
	return msg;
}

static unsigned forge_index(unsigned from_end,
			    void (*edit)(struct mbox_index_stamp *stamp))
{
	return forge_index_uid(from_end, true, edit);
}

/* Writes the index of tmpdir/mbox the way a session does. */
static void make_index(void)
{
	settle();
	struct mbox_test_contents c;
	load(&c, "");
	mbox_test_free_contents(&c);
	ck_assert_msg(fs_test_exists("mbox.roost-index"), "no index written");
}

/* ---- round trip and validity ---- */

/* forge_from_end: a message whose UIDL base no other message shares */
static void assert_round_trip(const char *data_name, const char *opts,
			      unsigned forge_from_end)
{
	struct mbox_test_contents full, indexed;
	char opts_no_index[512];
	snprintf(opts_no_index, sizeof(opts_no_index), "%s%s", opts, NO_INDEX);
	mbox_test_copy_data(data_name);
	load(&full, opts_no_index);
	make_index();
	load(&indexed, opts);
	assert_same(&full, &indexed);
	mbox_test_free_contents(&indexed);

	/* proof that the index, not the mbox, was read: a forged X-UIDL */
	/* with reuse_xuidl, the X-UIDL alone makes the UIDL */
	unsigned forged = forge_index_uid(forge_from_end,
					  strstr(opts, "reuse_xuidl") == NULL,
					  NULL);
	load(&indexed, opts);
	ck_assert_str_ne(indexed.uidl[forged], full.uidl[forged]);
	assert_same_except(&full, &indexed, forged);
	mbox_test_free_contents(&indexed);
	mbox_test_free_contents(&full);
	unlink(fs_test_path("mbox.roost-index"));
}

START_TEST(index_round_trip)
{
	assert_round_trip("x-uidl.mbox", "", 1);
	assert_round_trip("quoting.mbox", "", 1);
	assert_round_trip("preamble.mbox", "", 1);
	assert_round_trip("crlf.mbox", "", 1);
	assert_round_trip("no-final-newline.mbox", "", 1);
	assert_round_trip("binary.mbox", "", 1);
	assert_round_trip("dovecot-rewritten.mbox", "", 1);
	assert_round_trip("dovecot-pseudo.mbox", "", 1);
	assert_round_trip("dovecot-xuidl.mbox", ":reuse_xuidl=yes", 2);
}
END_TEST

START_TEST(index_option_puts_it_elsewhere)
{
	mbox_test_copy_data("x-uidl.mbox");
	settle();
	struct mbox_test_contents c;
	char opts[256];
	snprintf(opts, sizeof(opts), ":index=%s", fs_test_path("elsewhere"));
	load(&c, opts);
	mbox_test_free_contents(&c);
	ck_assert(fs_test_exists("elsewhere"));
	ck_assert(!fs_test_exists("mbox.roost-index"));
	ck_assert(!fs_test_exists("elsewhere.roost-tmp"));
}
END_TEST

START_TEST(index_option_must_be_absolute)
{
	pool_t *pool = pool_create();
	struct mbox_location loc;
	struct error err;
	error_clear(&err);
	ck_assert_int_eq(mbox_location_parse(pool, "/m:index=/var/idx/%u",
					     &loc, &err), 0);
	ck_assert_str_eq(loc.index_path, "/var/idx/%u");
	ck_assert_int_eq(mbox_location_parse(pool, "/m", &loc, &err), 0);
	ck_assert_ptr_null(loc.index_path);
	ck_assert_int_lt(mbox_location_parse(pool, "/m:index=rel", &loc, &err), 0);
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	error_clear(&err);
	ck_assert_int_lt(mbox_location_parse(pool, "/m:index=", &loc, &err), 0);
	pool_destroy(pool);
}
END_TEST

static void edit_size(struct mbox_index_stamp *s) { s->size += 1; }
static void edit_size_down(struct mbox_index_stamp *s) { s->size -= 1; }
static void edit_mtime(struct mbox_index_stamp *s) { s->mtime.tv_nsec ^= 1; }
static void edit_ctime(struct mbox_index_stamp *s) { s->ctime.tv_sec -= 1; }
static void edit_ino(struct mbox_index_stamp *s) { s->ino += 1; }
static void edit_dev(struct mbox_index_stamp *s) { s->dev += 1; }
static void edit_racy(struct mbox_index_stamp *s)
{
	s->written = s->ctime;
	s->written.tv_sec += 1;
}

/* An index that is not usable must give exactly a full parse's list. */
static void assert_ignored(const struct mbox_test_contents *full)
{
	struct mbox_test_contents c;
	load(&c, "");
	assert_same(full, &c);
	mbox_test_free_contents(&c);
}

START_TEST(index_stale_or_damaged_is_ignored)
{
	struct mbox_test_contents full;
	mbox_test_copy_data("x-uidl.mbox");
	load(&full, NO_INDEX);
	make_index();
	void (*edits[])(struct mbox_index_stamp *) = {
		edit_size, edit_size_down, edit_mtime, edit_ctime, edit_ino,
		edit_dev, edit_racy,
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		make_index();
		forge_index(1, edits[i]);
		assert_ignored(&full);
	}

	/* every damaged byte, a truncation at every length, and a valid
	 * checksum over another version */
	make_index();
	forge_index(1, NULL);
	size_t len;
	char *good = fs_test_read_whole(fs_test_path("mbox.roost-index"), &len);
	for (size_t i = 0; i < len; i += 7) {
		good[i] ^= 0x20;
		fs_test_write_file("mbox.roost-index", good, len);
		good[i] ^= 0x20;
		assert_ignored(&full);
	}
	for (size_t cut = 0; cut < len; cut += 13) {
		fs_test_write_file("mbox.roost-index", good, cut);
		assert_ignored(&full);
	}
	good[8] ^= 0x02;   /* the version's low byte */
	crypto_generichash((unsigned char *)good + len - 32, 32,
			   (unsigned char *)good, len - 32, NULL, 0);
	fs_test_write_file("mbox.roost-index", good, len);
	assert_ignored(&full);
	free(good);
	mbox_test_free_contents(&full);
}
END_TEST

/* The decoder's own checks: offsets, counts and UIDs that no parse
 * gives are rejected even under a valid checksum. */
START_TEST(index_decode_rejects_inconsistent_content)
{
	mbox_test_copy_data("dovecot-rewritten.mbox");
	make_index();
	pool_t *pool = pool_create();
	struct mbox_scan scan;
	struct mbox_index_stamp stamp;
	const char *why = "";
	ck_assert(mbox_index_read(fs_test_path("mbox.roost-index"), pool, &scan,
				  &stamp, &why));
	ck_assert(scan.dovecot);
	ck_assert_uint_ge(scan.count, 3);
	for (int which = 0; which < 9; which++) {
		struct mbox_scan bad = scan;
		struct mbox_msg msgs[MBOX_TEST_MAX_MSGS];
		uint32_t uids[MBOX_TEST_MAX_MSGS];
		memcpy(msgs, scan.msgs, scan.count * sizeof(*msgs));
		memcpy(uids, scan.uids, scan.count * sizeof(*uids));
		bad.msgs = msgs;
		bad.uids = uids;
		struct mbox_index_stamp bad_stamp = stamp;
		switch (which) {
		case 0: msgs[1].from_offset++; break;          /* gap */
		case 1: msgs[2].content_end = msgs[2].end_offset + 1; break;
		case 2: msgs[0].info.size = 1u << 30; break;   /* too big */
		case 3: uids[1] = uids[0]; break;              /* not rising */
		case 4: uids[2] = scan.dovecot_uid_last + 1; break;
		case 5: bad_stamp.size++; break;               /* past the end */
		case 6: bad.segments[0].end--; break;
		case 7: bad.resume.offset = msgs[0].from_offset; break;
		case 8: bad.dovecot = false; break;            /* X-UIDs */
		}
		struct buffer out;
		buffer_init(&out);
		mbox_index_encode(&bad, &bad_stamp, &out);
		struct mbox_scan dec;
		struct mbox_index_stamp dec_stamp;
		ck_assert_msg(!mbox_index_decode(out.data, out.len, pool, &dec,
						 &dec_stamp, &why),
			      "inconsistency %d accepted", which);
		buffer_free(&out);
	}
	/* and the untouched one still decodes */
	struct buffer out;
	buffer_init(&out);
	mbox_index_encode(&scan, &stamp, &out);
	struct mbox_scan dec;
	struct mbox_index_stamp dec_stamp;
	ck_assert(mbox_index_decode(out.data, out.len, pool, &dec, &dec_stamp,
				    &why));
	ck_assert_uint_eq(dec.count, scan.count);
	mbox_scan_free(&dec);
	buffer_free(&out);
	mbox_scan_free(&scan);
	pool_destroy(pool);
}
END_TEST

/* A scan no small test mailbox gives: offsets beyond 4 GiB, a POP3 size
 * below the content length (Dovecot's hidden headers), the largest size
 * the content allows, X-UIDs near 2^32, an X-UIDL. Valid for the
 * decoder's checks; gap is the first message's From_ offset. */
static struct mbox_msg big_msgs[2];
static const char *big_x_uidls[2] = { NULL, "abc" };
static uint32_t big_uids[2] = { 100000, 4000000000u };

static void big_scan(struct mbox_scan *scan, struct mbox_index_stamp *stamp,
		     uint64_t gap)
{
	memset(scan, 0, sizeof(*scan));
	memset(stamp, 0, sizeof(*stamp));
	memset(big_msgs, 0, sizeof(big_msgs));
	struct mbox_msg *m = big_msgs;
	m[0].from_offset = gap;
	m[0].content_offset = gap + 60;
	m[0].content_end = m[0].content_offset + 3000000000u;
	m[0].end_offset = m[0].content_end + 1;
	m[0].info.size = 3000000000u - 40;
	m[0].hash[0] = 0xaa;
	m[1].from_offset = m[0].end_offset;
	m[1].content_offset = m[1].from_offset + 45;
	m[1].content_end = m[1].content_offset + 10;
	m[1].end_offset = m[1].content_end + 1;
	m[1].info.size = 2 * 10 + 2;
	m[1].hash[15] = 0x55;
	scan->msgs = big_msgs;
	scan->x_uidls = big_x_uidls;
	scan->uids = big_uids;
	scan->count = scan->cap = 2;
	scan->dovecot = true;
	scan->mode_final = true;
	scan->dovecot_uidvalidity = 7;
	scan->dovecot_uid_last = 4000000000u;
	scan->resume.offset = m[1].from_offset;
	scan->resume.msg_index = 1;
	scan->resume.dc_prev_uid = big_uids[0];
	scan->segment_count = 1;
	scan->segments[0].end = m[1].end_offset;
	scan->segments[0].hash[3] = 0x33;
	stamp->size = m[1].end_offset;
	stamp->dev = 1;
	stamp->ino = 2;
	stamp->mtime.tv_sec = 1000;
	stamp->ctime.tv_sec = 1000;
	stamp->written.tv_sec = 2000;
}

/* The format stores differences (mbox-index.c): values of every width
 * come back exactly, and encoding what was decoded gives the same
 * bytes. */
START_TEST(index_large_values_round_trip)
{
	uint64_t gaps[] = { 0, 5000000000ull };
	for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
		struct mbox_scan scan, dec;
		struct mbox_index_stamp stamp, dec_stamp;
		big_scan(&scan, &stamp, gaps[g]);
		struct buffer out, again;
		buffer_init(&out);
		buffer_init(&again);
		mbox_index_encode(&scan, &stamp, &out);
		pool_t *pool = pool_create();
		const char *why = "";
		ck_assert_msg(mbox_index_decode(out.data, out.len, pool, &dec,
						&dec_stamp, &why),
			      "rejected: %s", why);
		ck_assert_uint_eq(dec.count, 2);
		for (size_t i = 0; i < 2; i++) {
			const struct mbox_msg *a = &big_msgs[i], *b = &dec.msgs[i];
			ck_assert_uint_eq(a->from_offset, b->from_offset);
			ck_assert_uint_eq(a->content_offset, b->content_offset);
			ck_assert_uint_eq(a->content_end, b->content_end);
			ck_assert_uint_eq(a->end_offset, b->end_offset);
			ck_assert_uint_eq(a->info.size, b->info.size);
			ck_assert_mem_eq(a->hash, b->hash, MBOX_HASH_BYTES);
			ck_assert_uint_eq(big_uids[i], dec.uids[i]);
		}
		ck_assert_ptr_null(dec.x_uidls[0]);
		ck_assert_str_eq(dec.x_uidls[1], "abc");
		ck_assert_uint_eq(dec_stamp.size, stamp.size);
		mbox_index_encode(&dec, &dec_stamp, &again);
		ck_assert_uint_eq(again.len, out.len);
		ck_assert_mem_eq(again.data, out.data, out.len);
		mbox_scan_free(&dec);
		pool_destroy(pool);
		buffer_free(&out);
		buffer_free(&again);
	}
}
END_TEST

/* One encoding per index: a number written longer than it needs to be,
 * or one beyond 64 bits, is rejected under a valid checksum. */
START_TEST(index_rejects_overlong_numbers)
{
	/* mbox-index.c's layout: the header, one segment, then the first
	 * message's first number (its From_ offset, 0 here: one byte) */
	const size_t first_number = 116 + 8 + MBOX_FILE_HASH_BYTES;
	static const struct {
		const char *bytes;
		size_t len;
		bool ok;
	} numbers[] = {
		{ "\x00", 1, true },                /* the encoder's */
		{ "\x80\x00", 2, false },           /* 0, too long */
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10, false },
		{ "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11, false },
	};
	struct mbox_scan scan;
	struct mbox_index_stamp stamp;
	big_scan(&scan, &stamp, 0);
	struct buffer out;
	buffer_init(&out);
	mbox_index_encode(&scan, &stamp, &out);
	ck_assert_uint_eq((unsigned char)out.data[first_number], 0);
	for (size_t n = 0; n < sizeof(numbers) / sizeof(numbers[0]); n++) {
		struct buffer edited;
		buffer_init(&edited);
		buffer_append(&edited, out.data, first_number);
		buffer_append(&edited, numbers[n].bytes, numbers[n].len);
		buffer_append(&edited, out.data + first_number + 1,
			      out.len - 32 - first_number - 1);
		unsigned char *trailer =
			(unsigned char *)buffer_append_space(&edited, 32);
		crypto_generichash(trailer, 32,
				   (const unsigned char *)edited.data,
				   edited.len, NULL, 0);
		buffer_append_space_used(&edited, 32);
		pool_t *pool = pool_create();
		struct mbox_scan dec;
		struct mbox_index_stamp dec_stamp;
		const char *why = "";
		bool ok = mbox_index_decode(edited.data, edited.len, pool, &dec,
					    &dec_stamp, &why);
		ck_assert_msg(ok == numbers[n].ok, "number %zu: %s", n,
			      ok ? "accepted" : why);
		if (ok)
			mbox_scan_free(&dec);
		pool_destroy(pool);
		buffer_free(&edited);
	}
	buffer_free(&out);
}
END_TEST

/* ---- appends ---- */

/* Index, append, then compare with a full parse; the next-to-last
 * message's X-UIDL is forged in the index (when there is one) so that
 * the comparison also shows that it came from the index (only the last
 * message and the tail are read). */
static void assert_append(const char *initial, size_t initial_len,
			  const char *appended, const char *opts)
{
	fs_test_write_file("mbox", initial, initial_len);
	make_index();
	pool_t *pool = pool_create();
	struct mbox_scan scan;
	struct mbox_index_stamp stamp;
	const char *why = "";
	ck_assert(mbox_index_read(fs_test_path("mbox.roost-index"), pool, &scan,
				  &stamp, &why));
	unsigned forged = scan.count >= 2 ? forge_index(2, NULL)
					  : MBOX_TEST_MAX_MSGS;
	mbox_scan_free(&scan);
	pool_destroy(pool);
	fs_test_append_file("mbox", appended);
	struct mbox_test_contents full, tail;
	char opts_no_index[512];
	snprintf(opts_no_index, sizeof(opts_no_index), "%s%s", opts, NO_INDEX);
	load(&full, opts_no_index);
	load(&tail, opts);
	if (forged < MBOX_TEST_MAX_MSGS)
		ck_assert_str_ne(tail.uidl[forged], full.uidl[forged]);
	assert_same_except(&full, &tail, forged);
	mbox_test_free_contents(&full);
	mbox_test_free_contents(&tail);
	unlink(fs_test_path("mbox.roost-index"));
}

static void assert_append_data(const char *name, const char *appended,
			       const char *opts)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", MBOX_TEST_DATA, name);
	size_t len;
	char *data = fs_test_read_whole(path, &len);
	assert_append(data, len, appended, opts);
	free(data);
}

#define NEW_MAIL "From new@example.org Tue Jan  2 10:00:00 2024\n" \
	"Subject: appended\nX-UIDL: appended-uidl\n\nnew\n>From quoted\n\n"

START_TEST(append_parses_tail_like_full_parse)
{
	assert_append_data("x-uidl.mbox", NEW_MAIL, "");
	assert_append_data("x-uidl.mbox", NEW_MAIL NEW_MAIL, "");
	/* not a new message: continues the last one */
	assert_append_data("x-uidl.mbox", "more of the last message\n", "");
	/* the last message lacked its final newline: the MDA adds it */
	static const char nonl[] =
		"From a@example.org Mon Jan  1 10:00:00 2024\nSubject: a\n\na\n\n"
		"From b@example.org Mon Jan  1 10:00:00 2024\nSubject: b\n\nno nl";
	assert_append(nonl, sizeof(nonl) - 1, "\n\n" NEW_MAIL, "");
	/* Dovecot mode: the X-UIDs and the metadata carry over */
	assert_append_data("dovecot-rewritten.mbox", "\n" NEW_MAIL, "");
	assert_append_data("dovecot-rewritten.mbox",
			   "\nFrom x@y Tue Jan  2 10:00:00 2024\nX-UID: 7\n\nx\n", "");
	assert_append_data("dovecot-pseudo.mbox", "\n" NEW_MAIL NEW_MAIL, "");
	assert_append_data("dovecot-xuidl.mbox", "\n" NEW_MAIL,
			   ":reuse_xuidl=yes");
}
END_TEST

START_TEST(append_rewrites_index_when_settled)
{
	mbox_test_copy_data("x-uidl.mbox");
	make_index();
	fs_test_append_file("mbox", NEW_MAIL);
	settle();
	struct mbox_test_contents a, b;
	load(&a, "");
	ck_assert_uint_eq(a.count, 5);
	/* the new index covers the append: forging it shows it is used */
	forge_index(1, NULL);
	load(&b, "");
	ck_assert_str_eq(b.uidl[4], FORGED_UIDL);
	assert_same_except(&a, &b, 4);
	mbox_test_free_contents(&a);
	mbox_test_free_contents(&b);
}
END_TEST

/* ---- commit ---- */

START_TEST(commit_after_index_keeps_mail_byte_exact)
{
	size_t orig_len;
	mbox_test_copy_data("x-uidl.mbox");
	char *orig = fs_test_read_whole(fs_test_path("mbox"), &orig_len);
	make_index();
	fs_test_append_file("mbox", NEW_MAIL);
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = mbox_test_open(pool, "", &err);
	ck_assert_ptr_nonnull(box);
	ck_assert_uint_eq(ops->message_count(box), 5);
	/* appended during the session: kept, never listed */
	static const char late[] = "From late@example.org Tue Jan  2 11:00:00 2024\n"
		"Subject: late\n\nlate\n\n";
	fs_test_append_file("mbox", late);
	bool deleted[5] = { true, false, false, true, false };
	ck_assert_int_eq(ops->commit_deletions(box, deleted, &err), 0);
	ops->close(box);
	pool_destroy(pool);
	ck_assert_msg(!fs_test_exists("mbox.roost-index"), "stale index kept");

	size_t len;
	char *now = fs_test_read_whole(fs_test_path("mbox"), &len);
	const char *m2 = strstr(orig, "From b@");
	const char *m4 = strstr(orig, "From d@");
	size_t kept = (size_t)(m4 - m2);
	size_t new_len = sizeof(NEW_MAIL) - 1, late_len = sizeof(late) - 1;
	ck_assert_uint_eq(len, kept + new_len + late_len);
	ck_assert(memcmp(now, m2, kept) == 0);
	ck_assert(memcmp(now + kept, NEW_MAIL, new_len) == 0);
	ck_assert(memcmp(now + kept + new_len, late, late_len) == 0);
	free(now);
	free(orig);
}
END_TEST

/* A change in either segment (the index's part or the tail this session
 * read) makes the commit refuse, leaving the file as it is. */
static void assert_refused_after_change(uint64_t change_at)
{
	mbox_test_copy_data("x-uidl.mbox");
	make_index();
	fs_test_append_file("mbox", NEW_MAIL);
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = mbox_test_open(pool, "", &err);
	ck_assert_ptr_nonnull(box);
	ck_assert_uint_eq(ops->message_count(box), 5);
	int fd = open(fs_test_path("mbox"), O_WRONLY);
	ck_assert_int_eq(pwrite(fd, "#", 1, (off_t)change_at), 1);
	close(fd);
	size_t before_len, after_len;
	char *before = fs_test_read_whole(fs_test_path("mbox"), &before_len);
	bool deleted[5] = { false, true, false, false, false };
	ck_assert_int_eq(ops->commit_deletions(box, deleted, &err), -1);
	ck_assert_int_eq(err.kind, ERROR_TEMP);
	ck_assert_ptr_nonnull(strstr(err.message, "nothing deleted"));
	ops->close(box);
	pool_destroy(pool);
	char *after = fs_test_read_whole(fs_test_path("mbox"), &after_len);
	ck_assert_uint_eq(after_len, before_len);
	ck_assert(memcmp(after, before, after_len) == 0);
	ck_assert(!fs_test_exists("mbox.roost-new"));
	free(before);
	free(after);
}

START_TEST(commit_after_index_refuses_changed_file)
{
	size_t len;
	char path[4096];
	snprintf(path, sizeof(path), "%s/x-uidl.mbox", MBOX_TEST_DATA);
	char *orig = fs_test_read_whole(path, &len);
	free(orig);
	assert_refused_after_change(20);             /* the index's part */
	assert_refused_after_change(len + 30);       /* the tail's part */
}
END_TEST

/* Rewritten in place behind the index's back, same size, mtime set back:
 * the ctime tells, and the session reads the file as it is. */
START_TEST(same_size_rewrite_with_old_mtime_is_noticed)
{
	mbox_test_copy_data("x-uidl.mbox");
	make_index();
	struct stat st;
	ck_assert_int_eq(stat(fs_test_path("mbox"), &st), 0);
	int fd = open(fs_test_path("mbox"), O_WRONLY);
	ck_assert_int_eq(pwrite(fd, "Z", 1, 60), 1);   /* in message 1 */
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	ck_assert_int_eq(futimens(fd, times), 0);
	close(fd);
	struct mbox_test_contents full, c;
	load(&full, NO_INDEX);
	load(&c, "");
	assert_same(&full, &c);
	mbox_test_free_contents(&full);
	mbox_test_free_contents(&c);
}
END_TEST

static Suite *mbox_index_suite(void)
{
	Suite *s = suite_create("mbox-index");
	TCase *tc = tcase_create("mbox-index");
	tcase_add_checked_fixture(tc, setup, fs_test_teardown);
	/* each index written waits for MBOX_INDEX_RACY_SECS */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, index_round_trip);
	tcase_add_test(tc, index_option_puts_it_elsewhere);
	tcase_add_test(tc, index_option_must_be_absolute);
	tcase_add_test(tc, index_stale_or_damaged_is_ignored);
	tcase_add_test(tc, index_decode_rejects_inconsistent_content);
	tcase_add_test(tc, index_large_values_round_trip);
	tcase_add_test(tc, index_rejects_overlong_numbers);
	tcase_add_test(tc, append_parses_tail_like_full_parse);
	tcase_add_test(tc, append_rewrites_index_when_settled);
	tcase_add_test(tc, commit_after_index_keeps_mail_byte_exact);
	tcase_add_test(tc, commit_after_index_refuses_changed_file);
	tcase_add_test(tc, same_size_rewrite_with_old_mtime_is_noticed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mbox_index_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
