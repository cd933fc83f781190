/* Tests for the mbox storage module: the parser on crafted files in
 * tests/unit/data-mbox/, UIDLs, location options, delivery locks and the
 * commit, through the module's storage_ops on temporary copies. */
#include "config.h"
#include "module.h"
#include "storage.h"
#include "message-wire.h"
#include "mbox/mbox-parse.h"
#include "mbox/mbox-dovecot.h"
#include "mbox/mbox-uidl.h"
#include "mbox/mbox-location.h"
#include "mbox/mbox-lock.h"
#include "fs-test-util.h"
#include "mbox-test-util.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern const struct roost_module roost_module;

static const struct storage_ops *ops;

/* ---- helpers ---- */

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	fs_test_setup("/tmp/test-mbox-XXXXXX");
	ops = roost_module.ops;
}

static void assert_no_leftovers(void)
{
	ck_assert_msg(!fs_test_exists("mbox.lock"), "dotlock left behind");
	ck_assert_msg(!fs_test_exists("mbox.roost-lk"),
		      "dotlock temp file left behind");
	ck_assert_msg(!fs_test_exists("mbox.roost-new"),
		      "commit temp file left behind");
}

/* mbox_test_load(), then checks each size against message_wire_size()
 * of what the reader yields (in a mailbox Dovecot served, as Dovecot
 * counts: without the CRLF RETR adds to an unterminated last line), each
 * UIDL, and that no lock or temporary file is left. */
static void load_mode(struct mbox_test_contents *c, const char *opts,
		      bool dovecot)
{
	mbox_test_load(c, opts);
	for (unsigned i = 0; i < c->count; i++) {
		uint64_t wire = message_wire_size(c->data[i], c->len[i]);
		if (dovecot && c->len[i] > 0 && c->data[i][c->len[i] - 1] != '\n')
			wire -= 2;
		ck_assert_uint_eq(c->size[i], wire);
		const char *uidl = c->uidl[i];
		ck_assert(storage_uidl_is_valid(uidl, strlen(uidl)));
	}
	assert_no_leftovers();
}

static void load(struct mbox_test_contents *c, const char *opts)
{
	load_mode(c, opts, false);
}

#define ASSERT_MSG(c, i, lit) do { \
		ck_assert_uint_eq((c)->len[i], sizeof(lit) - 1); \
		ck_assert_msg(memcmp((c)->data[i], lit, sizeof(lit) - 1) == 0, \
			      "message %d content differs", (int)(i)); \
	} while (0)

static void load_data(struct mbox_test_contents *c, const char *name)
{
	mbox_test_copy_data(name);
	load(c, "");
}

/* ---- parsing ---- */

START_TEST(parse_separators)
{
	struct mbox_test_contents c;
	load_data(&c, "separators.mbox");
	ck_assert_uint_eq(c.count, 3);
	ASSERT_MSG(&c, 0, "Subject: one\n\nbody one\nFrom here is not a separator\n");
	ASSERT_MSG(&c, 1, "Subject: two\n\nbody two\n\n");
	ASSERT_MSG(&c, 2, "Subject: three\n\nbody three\n");
	mbox_test_free_contents(&c);
}
END_TEST

START_TEST(parse_quoting)
{
	struct mbox_test_contents c;
	load_data(&c, "quoting.mbox");
	ck_assert_uint_eq(c.count, 1);
	ASSERT_MSG(&c, 0, "Subject: quoting\n\nFrom mboxo\n>From mboxrd\n"
		   ">>>From deep\n>Fromage\n> From spaced\nFrom\n>From\n");
	mbox_test_free_contents(&c);
}
END_TEST

START_TEST(parse_no_trailing_blank)
{
	struct mbox_test_contents c;
	load_data(&c, "no-trailing-blank.mbox");
	ck_assert_uint_eq(c.count, 2);
	ASSERT_MSG(&c, 0, "Subject: first\n\nfirst body\n");
	ASSERT_MSG(&c, 1, "Subject: last\n\nlast body, no blank line after it\n");
	mbox_test_free_contents(&c);
}
END_TEST

START_TEST(parse_no_final_newline)
{
	struct mbox_test_contents c;
	load_data(&c, "no-final-newline.mbox");
	ck_assert_uint_eq(c.count, 1);
	ASSERT_MSG(&c, 0, "Subject: nonl\n\nfirst\nlast line without newline");
	/* one CR per LF, and a CRLF after the unterminated last line */
	ck_assert_uint_eq(c.size[0], c.len[0] + 3 + 2);
	mbox_test_free_contents(&c);
}
END_TEST

START_TEST(parse_crlf)
{
	struct mbox_test_contents c;
	load_data(&c, "crlf.mbox");
	ck_assert_uint_eq(c.count, 2);
	ASSERT_MSG(&c, 0, "Subject: crlf one\r\n\r\nline\r\nFrom quoted\r\n");
	ASSERT_MSG(&c, 1, "Subject: crlf two\r\n\r\nend\r\n");
	ck_assert_uint_eq(c.size[0], c.len[0]);
	mbox_test_free_contents(&c);
}
END_TEST

START_TEST(parse_binary)
{
	struct mbox_test_contents c;
	load_data(&c, "binary.mbox");
	ck_assert_uint_eq(c.count, 1);
	ASSERT_MSG(&c, 0, "Subject: bin\n\nNUL\0byte and \xff\xfe\x80 high\n"
		   "\0\nlone\rcr\n");
	mbox_test_free_contents(&c);
}
END_TEST

START_TEST(parse_preamble)
{
	struct mbox_test_contents c;
	load_data(&c, "preamble.mbox");
	ck_assert_uint_eq(c.count, 1);
	ASSERT_MSG(&c, 0, "Subject: after preamble\n\nbody\n");
	mbox_test_free_contents(&c);
}
END_TEST

START_TEST(parse_empty_and_missing)
{
	struct mbox_test_contents c;
	load_data(&c, "empty.mbox");
	ck_assert_uint_eq(c.count, 0);
	unlink(fs_test_path("mbox"));
	load(&c, "");
	ck_assert_uint_eq(c.count, 0);
	ck_assert_msg(!fs_test_exists("mbox"), "a missing mbox must not be created");
}
END_TEST

/* The parser's result must not depend on how the input is cut. */
struct collect {
	struct mbox_message msgs[MBOX_TEST_MAX_MSGS];
	unsigned count;
};

static void collect_cb(void *context, const struct mbox_message *m)
{
	struct collect *c = context;
	ck_assert_uint_lt(c->count, MBOX_TEST_MAX_MSGS);
	c->msgs[c->count++] = *m;
}

/* Each file parsed whole and fed byte by byte gives the same messages. */
static void assert_chunking_invariant(const char *const *names, size_t count,
				      bool dovecot)
{
	for (size_t f = 0; f < count; f++) {
		size_t len;
		char *data = mbox_test_read_data(names[f], &len);
		struct mbox_parser *p = malloc(sizeof(*p));
		struct collect whole, bytes;
		memset(&whole, 0, sizeof(whole));
		memset(&bytes, 0, sizeof(bytes));
		mbox_parser_init(p, collect_cb, &whole);
		if (dovecot)
			mbox_parser_set_dovecot(p);
		mbox_parser_feed(p, data, len);
		mbox_parser_finish(p);
		uint32_t v, last;
		ck_assert(mbox_parser_dovecot_base(p, &v, &last) == dovecot);
		mbox_parser_init(p, collect_cb, &bytes);
		if (dovecot)
			mbox_parser_set_dovecot(p);
		for (size_t i = 0; i < len; i++)
			mbox_parser_feed(p, data + i, 1);
		mbox_parser_finish(p);
		ck_assert_uint_eq(whole.count, bytes.count);
		ck_assert_uint_gt(whole.count, 0);
		for (unsigned i = 0; i < whole.count; i++) {
			ck_assert_msg(memcmp(&whole.msgs[i], &bytes.msgs[i],
					     sizeof(whole.msgs[i])) == 0,
				      "%s message %u differs when fed bytewise",
				      names[f], i);
			ck_assert_uint_le(whole.msgs[i].content_end,
					  whole.msgs[i].end_offset);
			ck_assert_mem_eq(data + whole.msgs[i].from_offset, "From ", 5);
		}
		free(p);
		free(data);
	}
}

START_TEST(parse_chunking_invariant)
{
	static const char *const names[] = {
		"separators.mbox", "quoting.mbox", "no-trailing-blank.mbox",
		"no-final-newline.mbox", "crlf.mbox", "binary.mbox",
		"x-uidl.mbox", "preamble.mbox",
	};
	assert_chunking_invariant(names, sizeof(names) / sizeof(names[0]),
				  false);
}
END_TEST

/* ---- UIDLs ---- */

START_TEST(uidl_x_uidl_reuse_and_duplicates)
{
	struct mbox_test_contents c;
	load_data(&c, "x-uidl.mbox");
	ck_assert_uint_eq(c.count, 4);
	ck_assert_str_eq(c.uidl[0], "3b5f2a1c9d8e7f60a1b2c3d4e5f60718");
	ck_assert_str_eq(c.uidl[1], "3b5f2a1c9d8e7f60a1b2c3d4e5f60718-2");
	/* invalid X-UIDL (space) and X-UIDL in the body: the digest */
	ck_assert_uint_eq(strlen(c.uidl[2]), 32);
	ck_assert_uint_eq(strspn(c.uidl[2], "0123456789abcdef"), 32);
	ck_assert_uint_eq(strlen(c.uidl[3]), 32);
	ck_assert_str_ne(c.uidl[2], c.uidl[3]);
	mbox_test_free_contents(&c);
}
END_TEST

START_TEST(uidl_identical_messages_and_long_base)
{
	static const unsigned char h[MBOX_HASH_BYTES] = { 1, 2, 3 };
	char long_uidl[MBOX_UIDL_MAX + 1];
	memset(long_uidl, 'x', MBOX_UIDL_MAX);
	long_uidl[MBOX_UIDL_MAX] = '\0';
	struct mbox_uidl_input in[] = {
		{ NULL, h, 0 }, { NULL, h, 0 }, { "abc-2", h, 0 },
		{ "abc", h, 0 }, { "abc", h, 0 }, { long_uidl, h, 0 },
		{ long_uidl, h, 0 },
	};
	const char *out[7];
	pool_t *pool = pool_create();
	const struct mbox_uidl_rule rule = { false, 0, false };
	mbox_uidl_assign(pool, &rule, in, 7, out);
	ck_assert_str_eq(out[0], "01020300000000000000000000000000");
	ck_assert_str_eq(out[1], "01020300000000000000000000000000-2");
	ck_assert_str_eq(out[2], "abc-2");   /* claimed before suffixes */
	ck_assert_str_eq(out[3], "abc");
	ck_assert_str_eq(out[4], "abc-3");
	ck_assert_str_eq(out[5], long_uidl);
	ck_assert_uint_eq(strlen(out[6]), MBOX_UIDL_MAX);
	ck_assert_str_eq(out[6] + MBOX_UIDL_MAX - 2, "-2");
	pool_destroy(pool);
}
END_TEST

static bool deleted_for(unsigned count, unsigned which, bool *deleted)
{
	for (unsigned i = 0; i < count; i++)
		deleted[i] = i == which;
	return true;
}

START_TEST(uidl_stable_after_delete_and_append)
{
	struct mbox_test_contents before, after;
	mbox_test_copy_data("separators.mbox");
	load(&before, "");
	ck_assert_uint_eq(before.count, 3);

	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = mbox_test_open(pool, "", &err);
	ck_assert_ptr_nonnull(box);
	bool deleted[3];
	deleted_for(3, 1, deleted);
	ck_assert_int_eq(ops->commit_deletions(box, deleted, &err), 0);
	ops->close(box);
	pool_destroy(pool);
	assert_no_leftovers();

	fs_test_append_file("mbox", "From new@example.org Tue Jan  2 10:00:00 2024\n"
		    "Subject: appended\n\nnew\n\n");
	load(&after, "");
	ck_assert_uint_eq(after.count, 3);
	ck_assert_str_eq(after.uidl[0], before.uidl[0]);
	ck_assert_str_eq(after.uidl[1], before.uidl[2]);
	ck_assert_str_ne(after.uidl[2], before.uidl[1]);
	ASSERT_MSG(&after, 0, "Subject: one\n\nbody one\nFrom here is not a separator\n");
	ASSERT_MSG(&after, 1, "Subject: three\n\nbody three\n");
	ASSERT_MSG(&after, 2, "Subject: appended\n\nnew\n");
	mbox_test_free_contents(&before);
	mbox_test_free_contents(&after);
}
END_TEST

/* An MDA appending after a message without a final newline writes the
 * missing line ends first: that message keeps its UIDL and size. */
START_TEST(uidl_stable_when_append_adds_final_newline)
{
	struct mbox_test_contents before, after;
	mbox_test_copy_data("no-final-newline.mbox");
	load(&before, "");
	fs_test_append_file("mbox", "\n\nFrom new@example.org Tue Jan  2 10:00:00 2024\n"
		    "Subject: appended\n\nnew\n\n");
	load(&after, "");
	ck_assert_uint_eq(after.count, 2);
	ck_assert_str_eq(after.uidl[0], before.uidl[0]);
	ck_assert_uint_eq(after.size[0], before.size[0]);
	ASSERT_MSG(&after, 0, "Subject: nonl\n\nfirst\nlast line without newline\n");
	mbox_test_free_contents(&before);
	mbox_test_free_contents(&after);
}
END_TEST

/* ---- mailboxes Dovecot served (the data files are Dovecot 2.3.19's own
 * rewrites; the expected UIDLs and sizes are what it answered) ---- */

static void load_dovecot_data(struct mbox_test_contents *c, const char *name)
{
	mbox_test_copy_data(name);
	load_mode(c, "", true);
}

static void assert_dovecot_uidls(const struct mbox_test_contents *c,
				 const unsigned *uids, unsigned count,
				 uint32_t uidvalidity)
{
	ck_assert_uint_eq(c->count, count);
	for (unsigned i = 0; i < count; i++) {
		char want[32];
		snprintf(want, sizeof(want), "%08x%08x", uids[i],
			 (unsigned)uidvalidity);
		ck_assert_str_eq(c->uidl[i], want);
	}
}

START_TEST(dovecot_from_line)
{
	static const char *const valid[] = {
		"a@b Mon Jan  1 00:00:00 2024\n",
		"MAILER_DAEMON  Sun Nov 22 17:37:22 2026\n",
		"a@b Mon Jan 11 00:00 2024\r\n",          /* no seconds */
		"a@b Mon Jan  1 00:00:00 EEST 2024\n",    /* zone name */
		"a@b Mon Jan  1 00:00:00 2024 +0200\n",
		"a@b Thu, 9 Nov 2002 22:33:52\n",         /* alternative */
		"\"x y\"@b Mon jan  1 00:00:00 2024\n",   /* quoted sender */
		" Mon Jan  1 00:00:00 2024\n",            /* empty sender */
	};
	static const char *const invalid[] = {
		"me to you\n", "nobody\n", "a@b Mon Jan  1\n",
		"a@b Mon Foo  1 00:00:00 2024\n",
		"a@b Mon Jan  1 00:00:00 24\n",
		"a@b Mon Jan  1 0:00:00 2024\n",
		"\"x\ny\"@b Mon Jan  1 00:00:00 2024\n",
	};
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		ck_assert_msg(mbox_dovecot_from_valid(valid[i], strlen(valid[i])),
			      "valid: %s", valid[i]);
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		ck_assert_msg(!mbox_dovecot_from_valid(invalid[i],
						       strlen(invalid[i])),
			      "invalid: %s", invalid[i]);

	uint32_t v, last;
	ck_assert(mbox_dovecot_parse_base("1795369751 0000000006\n", 22, &v,
					  &last));
	ck_assert_uint_eq(v, 1795369751u);
	ck_assert_uint_eq(last, 6);
	ck_assert(mbox_dovecot_parse_base("7 0000000002 $Junk work\r\n", 25,
					  &v, &last));
	ck_assert_uint_eq(last, 2);
	ck_assert(!mbox_dovecot_parse_base("0 0000000002\n", 13, &v, &last));
	ck_assert(!mbox_dovecot_parse_base("x 1\n", 4, &v, &last));
	ck_assert(!mbox_dovecot_parse_base("4294967296 1\n", 13, &v, &last));
	ck_assert(mbox_dovecot_parse_uid("4    \n", 6, &v));
	ck_assert_uint_eq(v, 4);
	ck_assert(!mbox_dovecot_parse_uid("4x\n", 3, &v));
	ck_assert(!mbox_dovecot_parse_uid("0\n", 2, &v));

	size_t at;
	ck_assert_int_eq(mbox_dovecot_header_kind("x-uid : 4\n", 10, &at),
			 MBOX_DOVECOT_HDR_X_UID);
	ck_assert_uint_eq(at, 8);
	ck_assert_int_eq(mbox_dovecot_header_kind("Status: RO\n", 11, &at),
			 MBOX_DOVECOT_HDR_HIDDEN);
	ck_assert_int_eq(mbox_dovecot_header_kind("X-UIDL: a\n", 10, &at),
			 MBOX_DOVECOT_HDR_NONE);
	ck_assert_int_eq(mbox_dovecot_header_kind("X-IMAPbase: 1 2\n", 16, &at),
			 MBOX_DOVECOT_HDR_X_IMAPBASE);
}
END_TEST

START_TEST(dovecot_rewritten_mbox)
{
	struct mbox_test_contents c;
	load_dovecot_data(&c, "dovecot-rewritten.mbox");
	static const unsigned uids[] = { 1, 2, 3, 4, 5, 6 };
	assert_dovecot_uidls(&c, uids, 6, 0x6b032b17);
	/* Dovecot's LIST sizes */
	static const uint64_t sizes[] = { 65, 34, 64, 41, 24, 43 };
	for (unsigned i = 0; i < 6; i++)
		ck_assert_uint_eq(c.size[i], sizes[i]);
	/* hidden: Status, X-Status, X-IMAPbase, X-UID; no unquoting */
	ASSERT_MSG(&c, 0, "From: a@b\nSubject: one\n\nbody one\n>From quoted\n"
		   ">>From twice\n");
	ASSERT_MSG(&c, 1, "Subject: two\n\nbody two\n.dot\n\n");
	/* From_ lines without a date are content, even after a blank line */
	ASSERT_MSG(&c, 2, "Subject: three\n\nFrom me to you\nbody three\n\n"
		   "From nobody\nx\n");
	/* no empty line before the next From_ line: no final newline */
	ASSERT_MSG(&c, 3, "Subject: four-nosep\n\nbody four no blank");
	ASSERT_MSG(&c, 4, "Subject: five\n\nabcde\n");
	ASSERT_MSG(&c, 5, "Subject: six-last-nonl\n\nno newline at eof");
	mbox_test_free_contents(&c);

	load_dovecot_data(&c, "dovecot-crlf.mbox");
	static const unsigned crlf_uids[] = { 1, 2 };
	assert_dovecot_uidls(&c, crlf_uids, 2, 0x6b032b17);
	ck_assert_uint_eq(c.size[0], 22);
	ck_assert_uint_eq(c.size[1], 32);
	/* Dovecot wrote the end of the header as "\n" */
	ASSERT_MSG(&c, 1, "Subject: two\r\n\nbody2\r\n>From x\r\n");
	mbox_test_free_contents(&c);
}
END_TEST

START_TEST(dovecot_new_mail_and_forged_x_uid)
{
	struct mbox_test_contents before, after;
	mbox_test_copy_data("dovecot-deleted.mbox");
	load_mode(&before, "", true);
	static const unsigned uids[] = { 2, 4, 5, 6, 7, 8, 9, 10, 11 };
	assert_dovecot_uidls(&before, uids, 9, 0x6b032b89);
	static const uint64_t sizes[] = { 43, 24, 54, 42, 18, 26, 29, 28, 21 };
	for (unsigned i = 0; i < 9; i++)
		ck_assert_uint_eq(before.size[i], sizes[i]);

	/* X-IMAPbase says 11: Dovecot would take X-UID 12 from new mail,
	 * Roost takes none it did not give out; X-UID 5 is not increasing;
	 * and after a message without a valid one, none is valid. */
	fs_test_append_file("mbox", "\nFrom x@y Tue Jan  2 10:00:00 2024\n"
		    "X-UID: 12\nX-UIDL: 000000026b032b89\n\nforged\n"
		    "\nFrom x@y Tue Jan  2 10:00:01 2024\nX-UID: 5\n\nold uid\n"
		    "\nFrom x@y Tue Jan  2 10:00:02 2024\nSubject: plain\n\nnew\n");
	load_mode(&after, "", true);
	ck_assert_uint_eq(after.count, 12);
	for (unsigned i = 0; i < 9; i++)
		ck_assert_str_eq(after.uidl[i], before.uidl[i]);
	for (unsigned i = 9; i < 12; i++) {
		ck_assert_uint_eq(strlen(after.uidl[i]), 32);
		ck_assert_uint_eq(strspn(after.uidl[i], "0123456789abcdef"), 32);
	}
	ASSERT_MSG(&after, 8, "Subject: plain\n\nnew\n");
	ASSERT_MSG(&after, 9, "X-UIDL: 000000026b032b89\n\nforged\n");
	/* reuse_xuidl=yes trusts X-UIDL only where Dovecot gave the UID */
	struct mbox_test_contents reused;
	load_mode(&reused, ":reuse_xuidl=yes", true);
	ck_assert_str_eq(reused.uidl[0], "qpop-1");
	ck_assert_str_eq(reused.uidl[9], after.uidl[9]);
	mbox_test_free_contents(&before);
	mbox_test_free_contents(&after);
	mbox_test_free_contents(&reused);
}
END_TEST

START_TEST(dovecot_pseudo_message_hidden)
{
	struct mbox_test_contents c;
	load_dovecot_data(&c, "dovecot-pseudo.mbox");
	static const unsigned uids[] = { 4 };
	assert_dovecot_uidls(&c, uids, 1, 0x6b032837);
	ASSERT_MSG(&c, 0, "Subject: new\n\nnew body\n");
	mbox_test_free_contents(&c);
}
END_TEST

START_TEST(dovecot_reuse_xuidl)
{
	struct mbox_test_contents c;
	mbox_test_copy_data("dovecot-xuidl.mbox");
	load_mode(&c, "", true);
	static const unsigned uids[] = { 1, 2, 3, 4, 5 };
	assert_dovecot_uidls(&c, uids, 5, 0x6b032b17);
	mbox_test_free_contents(&c);
	load_mode(&c, ":reuse_xuidl=yes", true);
	ck_assert_uint_eq(c.count, 5);
	ck_assert_str_eq(c.uidl[0], "qpop-1");
	ck_assert_str_eq(c.uidl[1], "qpop-1-2");   /* Dovecot: a duplicate */
	ck_assert_str_eq(c.uidl[2], "000000036b032b17");   /* invalid X-UIDL */
	ck_assert_str_eq(c.uidl[3], "000000046b032b17");
	ck_assert_str_eq(c.uidl[4], "0123456789abcdef0123456789abcdef");
	mbox_test_free_contents(&c);
}
END_TEST

static void commit_deleting(const char *opts, unsigned count,
			    const bool *deleted)
{
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = mbox_test_open(pool, opts, &err);
	ck_assert_msg(box != NULL, "open: %s", err.message);
	ck_assert_uint_eq(ops->message_count(box), count);
	ck_assert_int_eq(ops->commit_deletions(box, deleted, &err), 0);
	ops->close(box);
	pool_destroy(pool);
	assert_no_leftovers();
}

START_TEST(dovecot_commit_keeps_metadata)
{
	struct mbox_test_contents before, after;
	mbox_test_copy_data("dovecot-rewritten.mbox");
	load_mode(&before, "", true);
	/* the first message carries X-IMAPbase */
	bool deleted[6] = { true, false, true, false, false, false };
	commit_deleting("", 6, deleted);
	size_t len;
	char *data = fs_test_read_whole(fs_test_path("mbox"), &len);
	ck_assert_mem_eq(data, "From MAILER_DAEMON  ", 20);
	ck_assert_ptr_nonnull(strstr(data, "\nX-IMAP: 1795369751 0000000006\n"));
	ck_assert_ptr_nonnull(strstr(data, "FOLDER INTERNAL DATA"));
	free(data);
	load_mode(&after, "", true);
	ck_assert_uint_eq(after.count, 4);
	for (unsigned i = 0, j = 0; i < 6; i++) {
		if (deleted[i])
			continue;
		ck_assert_str_eq(after.uidl[j], before.uidl[i]);
		ck_assert_uint_eq(after.size[j], before.size[i]);
		ck_assert_uint_eq(after.len[j], before.len[i]);
		j++;
	}
	mbox_test_free_contents(&after);

	/* the pseudo-message is never listed, so never deleted */
	bool all[4] = { true, true, true, true };
	commit_deleting("", 4, all);
	data = fs_test_read_whole(fs_test_path("mbox"), &len);
	ck_assert_mem_eq(data, "From MAILER_DAEMON  ", 20);
	ck_assert_uint_eq(strstr(data, "\nFrom ") == NULL, 1);
	free(data);
	load_mode(&after, "", true);
	ck_assert_uint_eq(after.count, 0);
	fs_test_append_file("mbox", "From new@example.org Tue Jan  2 10:00:00 2024\n"
		    "Subject: appended\n\nnew\n\n");
	load_mode(&after, "", true);
	ck_assert_uint_eq(after.count, 1);
	ck_assert_uint_eq(strlen(after.uidl[0]), 32);
	ASSERT_MSG(&after, 0, "Subject: appended\n\nnew\n");
	mbox_test_free_contents(&after);
	mbox_test_free_contents(&before);
}
END_TEST

START_TEST(dovecot_chunking_invariant)
{
	static const char *const names[] = {
		"dovecot-rewritten.mbox", "dovecot-crlf.mbox",
		"dovecot-deleted.mbox", "dovecot-pseudo.mbox",
		"dovecot-xuidl.mbox",
	};
	assert_chunking_invariant(names, sizeof(names) / sizeof(names[0]),
				  true);
}
END_TEST

/* ---- commit ---- */

START_TEST(commit_keeps_mail_appended_after_open)
{
	size_t orig_len;
	char *orig = mbox_test_read_data("x-uidl.mbox", &orig_len);
	fs_test_write_file("mbox", orig, orig_len);
	struct stat st0;
	ck_assert_int_eq(chmod(fs_test_path("mbox"), 0640), 0);
	ck_assert_int_eq(stat(fs_test_path("mbox"), &st0), 0);

	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = mbox_test_open(pool, "", &err);
	ck_assert_ptr_nonnull(box);
	ck_assert_uint_eq(ops->message_count(box), 4);
	static const char appended[] =
		"From late@example.org Tue Jan  2 10:00:00 2024\n"
		"Subject: late\n\n>From quoted\nlate \0body\n\n";
	int fd = open(fs_test_path("mbox"), O_WRONLY | O_APPEND);
	ck_assert_int_eq(write(fd, appended, sizeof(appended) - 1),
			 (ssize_t)sizeof(appended) - 1);
	close(fd);
	bool deleted[4] = { true, false, false, true };
	ck_assert_int_eq(ops->commit_deletions(box, deleted, &err), 0);
	ops->close(box);
	pool_destroy(pool);
	assert_no_leftovers();

	/* expected: messages 2 and 3 byte for byte, then the appended one */
	size_t len;
	char *now = fs_test_read_whole(fs_test_path("mbox"), &len);
	const char *m2 = strstr(orig, "From b@");
	const char *m4 = strstr(orig, "From d@");
	size_t kept = (size_t)(m4 - m2);
	ck_assert_uint_eq(len, kept + sizeof(appended) - 1);
	ck_assert(memcmp(now, m2, kept) == 0);
	ck_assert(memcmp(now + kept, appended, sizeof(appended) - 1) == 0);
	struct stat st;
	ck_assert_int_eq(stat(fs_test_path("mbox"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_uint_ne(st.st_ino, st0.st_ino);
	free(now);
	free(orig);
}
END_TEST

START_TEST(commit_delete_all_leaves_empty_file)
{
	mbox_test_copy_data("separators.mbox");
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = mbox_test_open(pool, "", &err);
	ck_assert_ptr_nonnull(box);
	bool deleted[3] = { true, true, true };
	ck_assert_int_eq(ops->commit_deletions(box, deleted, &err), 0);
	ops->close(box);
	pool_destroy(pool);
	struct stat st;
	ck_assert_int_eq(stat(fs_test_path("mbox"), &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	assert_no_leftovers();
}
END_TEST

static void assert_commit_refused_after(void (*change)(void))
{
	mbox_test_copy_data("separators.mbox");
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = mbox_test_open(pool, "", &err);
	ck_assert_ptr_nonnull(box);
	change();
	size_t before_len;
	char *before = fs_test_read_whole(fs_test_path("mbox"), &before_len);
	bool deleted[3] = { true, false, false };
	ck_assert_int_eq(ops->commit_deletions(box, deleted, &err), -1);
	ck_assert_int_eq(err.kind, ERROR_TEMP);
	ck_assert_msg(strstr(err.message, "nothing deleted") != NULL,
		      "unclear message: %s", err.message);
	ops->close(box);
	pool_destroy(pool);
	size_t after_len;
	char *after = fs_test_read_whole(fs_test_path("mbox"), &after_len);
	ck_assert_uint_eq(after_len, before_len);
	ck_assert(memcmp(after, before, after_len) == 0);
	assert_no_leftovers();
	free(before);
	free(after);
}

static void change_in_place(void)
{
	int fd = open(fs_test_path("mbox"), O_WRONLY);
	ck_assert_int_eq(pwrite(fd, "X", 1, 60), 1);   /* same size */
	close(fd);
}

static void change_truncate(void)
{
	ck_assert_int_eq(truncate(fs_test_path("mbox"), 100), 0);
}

static void change_replace(void)
{
	size_t len;
	char *data = fs_test_read_whole(fs_test_path("mbox"), &len);
	fs_test_write_file("other", data, len);
	ck_assert_int_eq(rename(fs_test_path("other"), fs_test_path("mbox")),
			 0);
	free(data);
}

static void change_rewrite_then_append(void)
{
	change_in_place();
	fs_test_append_file("mbox", "From x@y Mon Jan  1 10:00:00 2024\n\nappended\n");
}

START_TEST(commit_refuses_changed_mailbox)
{
	assert_commit_refused_after(change_in_place);
	assert_commit_refused_after(change_truncate);
	assert_commit_refused_after(change_replace);
	assert_commit_refused_after(change_rewrite_then_append);
}
END_TEST

START_TEST(commit_removes_leftovers_on_open)
{
	mbox_test_copy_data("separators.mbox");
	fs_test_write_file("mbox.roost-new", "half a mailbox", 14);
	fs_test_write_file("mbox.roost-lk", "12345\n", 6);
	struct mbox_test_contents c;
	load(&c, "");   /* asserts no leftovers */
	ck_assert_uint_eq(c.count, 3);
	mbox_test_free_contents(&c);
}
END_TEST

/* ---- locking ---- */

static double elapsed_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
		(double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

START_TEST(lock_dotlock_held_times_out)
{
	mbox_test_copy_data("separators.mbox");
	/* a live process that is not us: the Check parent */
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getppid());
	fs_test_write_file("mbox.lock", pid, (size_t)n);
	pool_t *pool = pool_create();
	struct error err;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct storage_mailbox *box = mbox_test_open(pool, ":lock_timeout=300ms",
						     &err);
	double took = elapsed_since(&t0);
	ck_assert_ptr_null(box);
	ck_assert_int_eq(err.kind, ERROR_TEMP);
	ck_assert_msg(strstr(err.message, "dotlock") != NULL, "%s", err.message);
	ck_assert_msg(took >= 0.29 && took < 5, "waited %.2fs", took);
	/* someone else's lock stays; ours are all gone */
	ck_assert(fs_test_exists("mbox.lock"));
	ck_assert(!fs_test_exists("mbox.roost-lk"));
	pool_destroy(pool);

	/* fcntl only: the dotlock does not matter */
	pool = pool_create();
	box = mbox_test_open(pool, ":lock=fcntl:lock_timeout=300ms", &err);
	ck_assert_msg(box != NULL, "open: %s", err.message);
	ck_assert_uint_eq(ops->message_count(box), 3);
	ops->close(box);
	pool_destroy(pool);
	ck_assert(fs_test_exists("mbox.lock"));
}
END_TEST

START_TEST(lock_stale_dotlock_taken_over)
{
	mbox_test_copy_data("separators.mbox");
	/* a dead PID */
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(child, NULL, 0), child);
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)child);
	fs_test_write_file("mbox.lock", pid, (size_t)n);
	struct mbox_test_contents c;
	load(&c, ":lock=dotlock:lock_timeout=5s");   /* asserts lock is gone */
	ck_assert_uint_eq(c.count, 3);
	mbox_test_free_contents(&c);

	/* no PID, but older than MBOX_DOTLOCK_STALE_SECS */
	fs_test_write_file("mbox.lock", "", 0);
	struct timespec old[2] = {
		{ time(NULL) - MBOX_DOTLOCK_STALE_SECS - 10, 0 },
		{ time(NULL) - MBOX_DOTLOCK_STALE_SECS - 10, 0 },
	};
	ck_assert_int_eq(utimensat(AT_FDCWD, fs_test_path("mbox.lock"), old, 0),
			 0);
	load(&c, ":lock=dotlock:lock_timeout=5s");
	ck_assert_uint_eq(c.count, 3);
	mbox_test_free_contents(&c);
}
END_TEST

START_TEST(lock_fcntl_held_times_out)
{
	mbox_test_copy_data("separators.mbox");
	int to_child[2], to_parent[2];
	ck_assert_int_eq(pipe(to_child), 0);
	ck_assert_int_eq(pipe(to_parent), 0);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int fd = open(fs_test_path("mbox"), O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		char c = fcntl(fd, F_SETLK, &fl) == 0 ? 'y' : 'n';
		if (write(to_parent[1], &c, 1) != 1 ||
		    read(to_child[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	char c;
	ck_assert_int_eq(read(to_parent[0], &c, 1), 1);
	ck_assert_int_eq(c, 'y');

	pool_t *pool = pool_create();
	struct error err;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct storage_mailbox *box = mbox_test_open(pool, ":lock_timeout=200ms",
						     &err);
	double took = elapsed_since(&t0);
	ck_assert_ptr_null(box);
	ck_assert_int_eq(err.kind, ERROR_TEMP);
	ck_assert_msg(strstr(err.message, "fcntl") != NULL, "%s", err.message);
	ck_assert_msg(took >= 0.19 && took < 5, "waited %.2fs", took);
	/* the dotlock we took first was released */
	assert_no_leftovers();
	pool_destroy(pool);

	struct mbox_test_contents bc;
	load(&bc, ":lock=dotlock");
	ck_assert_uint_eq(bc.count, 3);
	mbox_test_free_contents(&bc);

	ck_assert_int_eq(write(to_child[1], "x", 1), 1);
	ck_assert_int_eq(waitpid(child, NULL, 0), child);
	load(&bc, ":lock=fcntl+dotlock:lock_timeout=1s");
	ck_assert_uint_eq(bc.count, 3);
	mbox_test_free_contents(&bc);
}
END_TEST

START_TEST(lock_session_in_use)
{
	mbox_test_copy_data("separators.mbox");
	pool_t *p1 = pool_create(), *p2 = pool_create();
	struct error err;
	struct storage_mailbox *b1 = mbox_test_open(p1, "", &err);
	ck_assert_ptr_nonnull(b1);
	ck_assert_ptr_null(mbox_test_open(p2, "", &err));
	ck_assert_int_eq(err.kind, ERROR_IN_USE);
	/* delivery locks are not held during the session */
	ck_assert(!fs_test_exists("mbox.lock"));
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int fd = open(fs_test_path("mbox"), O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		_exit(fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 0 : 1);
	}
	int status;
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "an MDA could not fcntl-lock the mbox during a session");
	ops->close(b1);
	struct storage_mailbox *b2 = mbox_test_open(p2, "", &err);
	ck_assert_ptr_nonnull(b2);
	ops->close(b2);
	pool_destroy(p1);
	pool_destroy(p2);
}
END_TEST

/* ---- location ---- */

START_TEST(location_options)
{
	pool_t *pool = pool_create();
	struct mbox_location loc;
	struct error err;
	ck_assert_int_eq(mbox_location_parse(pool, "/m/box", &loc, &err), 0);
	ck_assert_str_eq(loc.path, "/m/box");
	ck_assert_uint_eq(loc.lock_count, 2);
	ck_assert_int_eq(loc.locks[0], MBOX_LOCK_DOTLOCK);
	ck_assert_int_eq(loc.locks[1], MBOX_LOCK_FCNTL);
	ck_assert_uint_eq(loc.lock_timeout_ms, MBOX_LOCK_TIMEOUT_DEFAULT_MS);
	ck_assert_int_eq(mbox_location_parse(pool, "/m:lock=fcntl+dotlock:lock_timeout=250ms",
					     &loc, &err), 0);
	ck_assert_str_eq(loc.path, "/m");
	ck_assert_int_eq(loc.locks[0], MBOX_LOCK_FCNTL);
	ck_assert_int_eq(loc.locks[1], MBOX_LOCK_DOTLOCK);
	ck_assert_uint_eq(loc.lock_timeout_ms, 250);
	ck_assert_int_eq(mbox_location_parse(pool, "/m:lock_timeout=7", &loc, &err), 0);
	ck_assert_uint_eq(loc.lock_timeout_ms, 7000);
	ck_assert(!loc.reuse_xuidl);
	ck_assert_int_eq(mbox_location_parse(pool, "/m:reuse_xuidl=yes", &loc, &err), 0);
	ck_assert(loc.reuse_xuidl);
	ck_assert_int_eq(mbox_location_parse(pool, "/m:reuse_xuidl=no", &loc, &err), 0);
	ck_assert(!loc.reuse_xuidl);
	static const char *const bad[] = {
		"/m:reuse_xuidl=1", "/m:reuse_xuidl=", "/m:reuse_xuidl",
		"", ":lock=fcntl", "/m:lock=flock", "/m:lock=fcntl+fcntl",
		"/m:lock=", "/m:lock_timeout=0", "/m:lock_timeout=301s",
		"/m:lock_timeout=-1", "/m:lock_timeout=1h", "/m:nolock",
		"/m:color=red", "/m:lock=fcntl:lock=dotlock",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_clear(&err);
		ck_assert_msg(mbox_location_parse(pool, bad[i], &loc, &err) < 0,
			      "accepted '%s'", bad[i]);
		ck_assert_int_eq(err.kind, ERROR_INVALID);
	}
	pool_destroy(pool);
}
END_TEST

START_TEST(module_descriptor)
{
	ck_assert_uint_eq(roost_module.abi_version, ROOST_MODULE_ABI);
	ck_assert_int_eq(roost_module.kind, MODULE_KIND_STORAGE);
	ck_assert_str_eq(roost_module.name, "mbox");
}
END_TEST

static Suite *mbox_suite(void)
{
	Suite *s = suite_create("mbox");
	TCase *tc = tcase_create("mbox");
	tcase_add_checked_fixture(tc, setup, fs_test_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, parse_separators);
	tcase_add_test(tc, parse_quoting);
	tcase_add_test(tc, parse_no_trailing_blank);
	tcase_add_test(tc, parse_no_final_newline);
	tcase_add_test(tc, parse_crlf);
	tcase_add_test(tc, parse_binary);
	tcase_add_test(tc, parse_preamble);
	tcase_add_test(tc, parse_empty_and_missing);
	tcase_add_test(tc, parse_chunking_invariant);
	tcase_add_test(tc, uidl_x_uidl_reuse_and_duplicates);
	tcase_add_test(tc, uidl_identical_messages_and_long_base);
	tcase_add_test(tc, uidl_stable_after_delete_and_append);
	tcase_add_test(tc, uidl_stable_when_append_adds_final_newline);
	tcase_add_test(tc, dovecot_from_line);
	tcase_add_test(tc, dovecot_rewritten_mbox);
	tcase_add_test(tc, dovecot_new_mail_and_forged_x_uid);
	tcase_add_test(tc, dovecot_pseudo_message_hidden);
	tcase_add_test(tc, dovecot_reuse_xuidl);
	tcase_add_test(tc, dovecot_commit_keeps_metadata);
	tcase_add_test(tc, dovecot_chunking_invariant);
	tcase_add_test(tc, commit_keeps_mail_appended_after_open);
	tcase_add_test(tc, commit_delete_all_leaves_empty_file);
	tcase_add_test(tc, commit_refuses_changed_mailbox);
	tcase_add_test(tc, commit_removes_leftovers_on_open);
	tcase_add_test(tc, lock_dotlock_held_times_out);
	tcase_add_test(tc, lock_stale_dotlock_taken_over);
	tcase_add_test(tc, lock_fcntl_held_times_out);
	tcase_add_test(tc, lock_session_in_use);
	tcase_add_test(tc, location_options);
	tcase_add_test(tc, module_descriptor);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mbox_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
