/*
 * The storage contract (storage.h) as a sequence of sessions on the
 * caller's mailbox:
 *
 *   1. open; count, out-of-range info, UIDL format and uniqueness, every
 *      message read in several chunk sizes, sizes against the content; a
 *      second open while this one holds the lock must be ERROR_IN_USE;
 *   2. open again (close() released the lock): the same listing; commit
 *      with nothing marked;
 *   3. open again: still the same listing; with --delete, mark the first
 *      message and commit (ERROR_PERM expected with --read-only);
 *   4. with --delete, open again: the listing minus that message (or all of
 *      it for a read-only mailbox).
 *
 * A check that cannot run because an earlier one failed (no session to
 * look at) is reported as failed, so the totals never look better than
 * the module.
 */
#include "config.h"
#include "storage-check.h"

#include "message-wire.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chunk sizes of the read passes: one byte, an odd size that straddles
 * line ends and CRLF pairs, and a typical buffer. */
static const size_t read_chunk_sizes[] = { 1, 7, 4096 };
#define READ_PASSES (sizeof(read_chunk_sizes) / sizeof(read_chunk_sizes[0]))

/* Room for a module's error message plus the kit's own context. */
#define WHY_MAX (ERROR_MESSAGE_MAX + 512)

struct session {
	pool_t *pool;
	struct storage_mailbox *box;
};

static const char *error_kind_name(enum error_kind kind)
{
	switch (kind) {
	case ERROR_NONE: return "no error kind";
	case ERROR_TEMP: return "ERROR_TEMP";
	case ERROR_PERM: return "ERROR_PERM";
	case ERROR_IN_USE: return "ERROR_IN_USE";
	case ERROR_NOT_FOUND: return "ERROR_NOT_FOUND";
	case ERROR_INVALID: return "ERROR_INVALID";
	}
	return "unknown error kind";
}

static int session_open(const struct storage_ops *ops, const struct check_options *opt,
			struct session *s, struct error *err)
{
	/* The module sees the invoking user, as a mail worker running as the
	 * mailbox owner would show it. */
	const char *user = getenv("USER");
	struct storage_user su = {
		.user = user != NULL ? user : "roost-storage-check",
		.home = getenv("HOME"),
	};
	error_clear(err);
	s->pool = pool_create();
	s->box = ops->open(s->pool, opt->path, &su, err);
	if (s->box == NULL) {
		pool_destroy(s->pool);
		s->pool = NULL;
		if (err->kind == ERROR_NONE)
			error_set(err, ERROR_INVALID, "open() returned NULL without setting err");
		return -1;
	}
	return 0;
}

static void session_close(const struct storage_ops *ops, struct session *s)
{
	ops->close(s->box);
	pool_destroy(s->pool);
	s->box = NULL;
	s->pool = NULL;
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool uidl_valid(const char *uidl)
{
	size_t len = strlen(uidl);
	if (len < 1 || len > CHECK_UIDL_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)uidl[i];
		if (c < CHECK_UIDL_MIN_OCTET || c > CHECK_UIDL_MAX_OCTET)
			return false;
	}
	return true;
}

static void check_listing(const struct storage_ops *ops, const struct check_options *opt,
			  struct storage_mailbox *box, struct check_report *rep)
{
	unsigned count = ops->message_count(box);
	if (opt->have_expect_count) {
		if (count == opt->expect_count)
			check_pass(rep, "message-count");
		else
			check_fail(rep, "message-count", "message_count() is %u, expected %u",
				   count, opt->expect_count);
	}
	if (ops->message_info(box, count) == NULL)
		check_pass(rep, "message-info-out-of-range");
	else
		check_fail(rep, "message-info-out-of-range",
			   "message_info(%u) with %u messages did not return NULL",
			   count, count);

	const char **sorted = xmalloc((count + 1) * sizeof(*sorted));
	unsigned valid = 0;
	char why[WHY_MAX] = "";
	for (unsigned i = 0; i < count; i++) {
		const struct storage_message_info *info = ops->message_info(box, i);
		if (info == NULL || info->uidl == NULL) {
			if (why[0] == '\0')
				snprintf(why, sizeof(why), "message %u: message_info() "
					 "gives no UIDL", i + 1);
			continue;
		}
		if (!uidl_valid(info->uidl)) {
			if (why[0] == '\0')
				snprintf(why, sizeof(why), "message %u: UIDL '%.100s' "
					 "(%zu octets) is not 1..%d octets of 0x21..0x7E",
					 i + 1, info->uidl, strlen(info->uidl),
					 CHECK_UIDL_MAX);
			continue;
		}
		sorted[valid++] = info->uidl;
	}
	if (why[0] == '\0')
		check_pass(rep, "uidl-format");
	else
		check_fail(rep, "uidl-format", "%s", why);

	/* Sorted, duplicates are neighbours: n log n even for big mailboxes. */
	qsort(sorted, valid, sizeof(*sorted), cmp_str_ptr);
	why[0] = '\0';
	for (unsigned i = 1; i < valid && why[0] == '\0'; i++) {
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			snprintf(why, sizeof(why), "UIDL '%s' is used by more than one message",
				 sorted[i]);
	}
	free(sorted);
	if (why[0] == '\0')
		check_pass(rep, "uidl-unique");
	else
		check_fail(rep, "uidl-unique", "%s", why);
}

/* Every message read once per chunk size: the passes must agree, and the
 * wire size of the bytes must be the size the listing announced. */
static void check_messages(const struct storage_ops *ops, struct storage_mailbox *box,
			   struct check_report *rep)
{
	unsigned count = ops->message_count(box);
	struct buffer pass[READ_PASSES];
	char read_why[WHY_MAX] = "", size_why[WHY_MAX] = "";
	struct error err;

	for (size_t p = 0; p < READ_PASSES; p++)
		buffer_init(&pass[p]);
	for (unsigned i = 0; i < count && (read_why[0] == '\0' || size_why[0] == '\0'); i++) {
		const struct storage_message_info *info = ops->message_info(box, i);
		if (info == NULL) {
			snprintf(read_why, sizeof(read_why), "message %u: no message_info()", i + 1);
			continue;
		}
		bool read_ok = true;
		for (size_t p = 0; p < READ_PASSES && read_ok; p++) {
			if (check_read_message(ops, box, i, read_chunk_sizes[p], info->size,
					       &pass[p], &err) < 0) {
				read_ok = false;
				if (read_why[0] == '\0')
					snprintf(read_why, sizeof(read_why),
						 "message %u (UIDL '%s'), %zu-byte reads: %s (%s)",
						 i + 1, info->uidl, read_chunk_sizes[p],
						 err.message, error_kind_name(err.kind));
				break;
			}
			if (p > 0 && (pass[p].len != pass[0].len ||
				      memcmp(pass[p].data, pass[0].data, pass[0].len) != 0)) {
				read_ok = false;
				if (read_why[0] == '\0')
					snprintf(read_why, sizeof(read_why),
						 "message %u (UIDL '%s'): %zu-byte reads yield "
						 "%zu bytes, %zu-byte reads %zu different ones",
						 i + 1, info->uidl, read_chunk_sizes[0],
						 pass[0].len, read_chunk_sizes[p], pass[p].len);
			}
		}
		if (!read_ok)
			continue;
		uint64_t wire = message_wire_size(pass[0].data, pass[0].len);
		/* storage.h: the CRLF RETR adds after an unterminated last
		 * line may be left out of the size (Dovecot's rule) */
		bool unterminated = pass[0].len > 0 &&
			pass[0].data[pass[0].len - 1] != '\n';
		if (wire != info->size && !(unterminated && info->size == wire - 2) &&
		    size_why[0] == '\0')
			snprintf(size_why, sizeof(size_why),
				 "message %u (UIDL '%s'): message_info() size is %" PRIu64
				 ", message_wire_size() of its %zu bytes is %" PRIu64,
				 i + 1, info->uidl, info->size, pass[0].len, wire);
	}
	for (size_t p = 0; p < READ_PASSES; p++)
		buffer_free(&pass[p]);

	if (read_why[0] == '\0')
		check_pass(rep, "read-chunked");
	else
		check_fail(rep, "read-chunked", "%s", read_why);
	if (size_why[0] == '\0' && read_why[0] == '\0')
		check_pass(rep, "size-matches-content");
	else
		check_fail(rep, "size-matches-content", "%s", size_why[0] != '\0' ?
			   size_why : "not every message could be read");
}

/* A second session while the first holds the mailbox. */
static void check_lock(const struct storage_ops *ops, const struct check_options *opt,
		       struct check_report *rep)
{
	struct session second;
	struct error err;
	if (session_open(ops, opt, &second, &err) == 0) {
		session_close(ops, &second);
		check_fail(rep, "lock-exclusive", "a second open() of %s succeeded "
			   "while the first session was open", opt->path);
	} else if (err.kind != ERROR_IN_USE) {
		check_fail(rep, "lock-exclusive", "the second open() failed with %s, "
			   "expected ERROR_IN_USE: %s", error_kind_name(err.kind), err.message);
	} else {
		check_pass(rep, "lock-exclusive");
	}
}

static void check_same(struct check_report *rep, const char *name,
		       const struct check_snapshot *before, unsigned skip_index,
		       const struct check_snapshot *after)
{
	char why[WHY_MAX];
	if (check_snapshot_equal(before, skip_index, after, why, sizeof(why)))
		check_pass(rep, name);
	else
		check_fail(rep, name, "%s", why);
}

static void check_commit(const struct storage_ops *ops, struct storage_mailbox *box,
			 struct check_report *rep, const char *name, unsigned mark,
			 bool expect_perm)
{
	unsigned count = ops->message_count(box);
	bool *deleted = xmalloc((count + 1) * sizeof(*deleted));
	struct error err;
	if (mark < count)
		deleted[mark] = true;
	error_clear(&err);
	int ret = ops->commit_deletions(box, deleted, &err);
	free(deleted);
	if (expect_perm) {
		if (ret == 0)
			check_fail(rep, name, "commit_deletions() succeeded on a "
				   "mailbox given as --read-only");
		else if (err.kind != ERROR_PERM)
			check_fail(rep, name, "commit_deletions() failed with %s, "
				   "expected ERROR_PERM: %s", error_kind_name(err.kind),
				   err.message);
		else
			check_pass(rep, name);
	} else if (ret != 0) {
		check_fail(rep, name, "commit_deletions() failed: %s (%s)",
			   err.message, error_kind_name(err.kind));
	} else {
		check_pass(rep, name);
	}
}

static void fail_open(struct check_report *rep, const char *name, const char *path,
		      const struct error *err)
{
	check_fail(rep, name, "open(%s) failed: %s (%s)", path, err->message,
		   error_kind_name(err->kind));
}

void check_contract(const struct storage_ops *ops, const struct check_options *opt,
		    struct check_report *rep)
{
	pool_t *keep = pool_create();
	struct check_snapshot first, again;
	struct session s;
	struct error err;

	/* Session 1 */
	if (session_open(ops, opt, &s, &err) < 0) {
		fail_open(rep, "open", opt->path, &err);
		goto out;
	}
	check_pass(rep, "open");
	check_listing(ops, opt, s.box, rep);
	check_messages(ops, s.box, rep);
	check_lock(ops, opt, rep);
	check_snapshot_take(keep, ops, s.box, &first);
	session_close(ops, &s);

	/* Session 2: the lock is gone, the listing is stable. */
	if (session_open(ops, opt, &s, &err) < 0) {
		fail_open(rep, "reopen-after-close", opt->path, &err);
		goto out;
	}
	check_pass(rep, "reopen-after-close");
	check_snapshot_take(keep, ops, s.box, &again);
	check_same(rep, "stable-across-sessions", &first, CHECK_SNAPSHOT_SKIP_NONE, &again);
	check_commit(ops, s.box, rep, "commit-nothing", UINT_MAX, false);
	session_close(ops, &s);

	/* Session 3: committing nothing changed nothing. */
	if (session_open(ops, opt, &s, &err) < 0) {
		fail_open(rep, "commit-nothing-unchanged", opt->path, &err);
		goto out;
	}
	check_snapshot_take(keep, ops, s.box, &again);
	check_same(rep, "commit-nothing-unchanged", &first, CHECK_SNAPSHOT_SKIP_NONE, &again);
	if (!opt->delete_first) {
		session_close(ops, &s);
		goto out;
	}
	if (first.count == 0 || again.count == 0) {
		check_fail(rep, "delete-commit", "--delete needs a mailbox with "
			   "at least one message");
		session_close(ops, &s);
		goto out;
	}
	check_commit(ops, s.box, rep, "delete-commit", 0, opt->read_only);
	session_close(ops, &s);

	/* Session 4: exactly the first message is gone (or nothing, when
	 * the mailbox is read-only). */
	if (session_open(ops, opt, &s, &err) < 0) {
		fail_open(rep, "delete-result", opt->path, &err);
		goto out;
	}
	check_snapshot_take(keep, ops, s.box, &again);
	check_same(rep, "delete-result", &first,
		   opt->read_only ? CHECK_SNAPSHOT_SKIP_NONE : 0, &again);
	session_close(ops, &s);
out:
	pool_destroy(keep);
}
