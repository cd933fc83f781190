/*
 * The mbox storage module: storage_ops (storage.h) over one mbox file
 * (RFC 4155; parsing in mbox-parse.c, UIDLs in mbox-uidl.c, locks in
 * mbox-lock.c, the rewrite on QUIT in mbox-commit.c).
 *
 * open(): takes the POP3 session lock, then the delivery locks only for
 * as long as it reads the file (mbox-scan.c): once from start to end,
 * parsing and digesting it as it goes, unless the index (mbox-index.h)
 * that an earlier session wrote describes it: then an unchanged file is
 * not read at all, and of a file that grew only the last message and what
 * follows it is read. After a full or partial read the index is written
 * anew (after the delivery locks are released). The file stays open: messages are read from the snapshotted
 * inode with pread(), without any lock, so deliveries go on during the
 * session; what an MDA appends lies beyond the snapshot and is not read.
 * Each message reader checks, at the end of a RETR, that what it sent
 * has the digest and size the snapshot listed; if another program
 * rewrote the file in place meanwhile the read fails (the client sees a
 * cut connection, not a wrong message).
 *
 * A mailbox Dovecot served (X-IMAPbase or the FOLDER INTERNAL DATA
 * pseudo-message at its start, mbox-dovecot.h) is read in the parser's
 * Dovecot mode, so that it keeps Dovecot's UIDLs and sizes; which mode
 * applies is known once the first message's header has been read, within
 * the same single read of the file. The pseudo-message is not listed.
 *
 * Files next to the mbox: "<mbox>.roost-pop3.lock" (session lock, kept),
 * "<mbox>.roost-index" (the index, unless index= puts it elsewhere),
 * "<mbox>.lock" (dotlock, only while locked), "<mbox>.roost-lk" and
 * "<mbox>.roost-new" (temporary files of the dotlock and of the commit;
 * a killed worker may leave them behind, and the next session removes
 * them while it holds the session lock, which no other Roost process of
 * this mailbox can then be using).
 */
#include "config.h"
#include "module.h"
#include "storage.h"
#include "buffer.h"
#include "log.h"
#include "mbox-index.h"
#include "mbox-lock.h"
#include "mbox-mailbox.h"
#include "mbox-uidl.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Read size for RETR: few system calls for a large message, small
 * enough for the stack. */
#define MBOX_READ_CHUNK 65536

struct storage_message_reader {
	struct storage_mailbox *box;
	unsigned index;
	uint64_t pos;
	struct mbox_parser parser;
	struct buffer out;
	bool at_end;
	bool mismatch;
	struct storage_message_reader *next_free;
};

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* How the open went, for the debug line. */
enum read_how {
	READ_FULL,
	READ_INDEX,
	READ_INDEX_TAIL,
};

static void log_debug_box(const struct storage_mailbox *box, const char *what,
			  const char *detail)
{
	log_msg(LOG_LEVEL_DEBUG, &box->log_ctx, "mbox %s: %s%s%s",
		box->loc.path, what, detail[0] != '\0' ? ": " : "", detail);
}

/* Uses the index when it describes the file as it is, or the file's
 * start (then only the rest is parsed). 1: scan filled; 0: a full parse
 * is needed; -1: a read error. */
static int read_with_index(struct storage_mailbox *box,
			   const struct mbox_index_stamp *now,
			   struct mbox_scan *scan, enum read_how *how_r,
			   struct error *err)
{
	struct mbox_index_stamp idx;
	const char *why;
	if (!mbox_index_read(box->index_path, box->pool, scan, &idx, &why)) {
		log_debug_box(box, "index not used", why);
		return 0;
	}
	if (mbox_index_stamp_racy(&idx)) {
		why = "it was written too soon after a change";
	} else if (idx.dev != now->dev || idx.ino != now->ino) {
		why = "the mbox was replaced";
	} else if (mbox_index_stamp_same(&idx, now)) {
		*how_r = READ_INDEX;
		return 1;
	} else if (idx.size < now->size) {
		int ret = mbox_scan_tail(scan, box->fd, box->loc.path,
					 box->pool, &box->log_ctx, err);
		if (ret != 0) {
			*how_r = READ_INDEX_TAIL;
			return ret;
		}
		why = "what was appended does not continue it";
	} else {
		why = "the mbox changed";
	}
	log_debug_box(box, "index not used", why);
	mbox_scan_free(scan);
	return 0;
}

/* Writes the index for what was just read, unless the file changed
 * too recently to be told apart from a later change. */
static void write_index(struct storage_mailbox *box,
			const struct mbox_scan *scan, const struct stat *st)
{
	struct mbox_index_stamp stamp;
	mbox_index_stamp_of(st, &stamp);
	clock_gettime(CLOCK_REALTIME, &stamp.written);
	if (scan->truncated) {
		log_debug_box(box, "index not written", "too many messages");
		return;
	}
	if (mbox_index_stamp_racy(&stamp)) {
		log_debug_box(box, "index not written",
			      "the mbox changed in the last seconds");
		return;
	}
	struct error err;
	error_clear(&err);
	if (mbox_index_write(box->index_path, scan, &stamp, &err) < 0) {
		/* a cache: without it every session reads the whole mbox */
		log_debug_box(box, "index not written", err.message);
		return;
	}
	log_debug_box(box, "index written", box->index_path);
}

/* Reads the mailbox under the delivery locks: from the index, the index
 * and what was appended, or the whole file. */
static int read_snapshot(struct storage_mailbox *box, struct mbox_scan *scan,
			 struct error *err)
{
	struct mbox_lock lock;
	if (mbox_lock_take(&lock, box->pool, &box->loc, box->fd, err) < 0)
		return -1;
	int ret = -1;
	enum read_how how = READ_FULL;
	struct stat st;
	if (fstat(box->fd, &st) < 0) {
		error_set_errno(err, "fstat(%s) failed", box->loc.path);
		goto out;
	}
	box->dev = st.st_dev;
	box->ino = st.st_ino;
	struct mbox_index_stamp now;
	mbox_index_stamp_of(&st, &now);
	if (box->index_path != NULL && st.st_size > 0) {
		ret = read_with_index(box, &now, scan, &how, err);
		if (ret < 0)
			goto out;
	}
	if (how == READ_FULL)
		ret = mbox_scan_full(scan, box->fd, box->loc.path, box->pool,
				     &box->log_ctx, err);
	/* what was read is what the index may record: nothing was written
	 * under our locks, unless by a program that does not lock */
	bool index_it = ret >= 0 && how != READ_INDEX &&
		box->index_path != NULL && fstat(box->fd, &st) == 0 &&
		(uint64_t)st.st_size == mbox_scan_covered(scan) &&
		st.st_size > 0;
	mbox_lock_release(&lock);
	if (ret < 0)
		goto fail;
	if (how == READ_INDEX)
		log_debug_box(box, "index used", "");
	else if (how == READ_INDEX_TAIL)
		log_debug_box(box, "index used", "parsed what was appended");
	if (index_it)
		write_index(box, scan, &st);
	return 0;
out:
	mbox_lock_release(&lock);
fail:
	mbox_scan_free(scan);
	if (err != NULL && err->kind != ERROR_PERM)
		err->kind = ERROR_TEMP;
	return -1;
}

static void box_close_fds(struct storage_mailbox *box)
{
	close_fd(&box->fd);
	/* last: the session lock guards everything above */
	close_fd(&box->lock_fd);
}

/* Leftovers of a worker killed during a commit or while taking the
 * dotlock; see the file comment for why removing them is safe here. */
static void remove_leftovers(struct storage_mailbox *box)
{
	const char *suffixes[] = { MBOX_DOTLOCK_TMP_SUFFIX,
				   MBOX_COMMIT_TMP_SUFFIX };
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		const char *p = pool_printf(box->pool, "%s%s", box->loc.path,
					    suffixes[i]);
		if (unlink(p) == 0)
			log_msg(LOG_LEVEL_WARNING, &box->log_ctx,
				"Removed %s left behind by an interrupted session "
				"(the mbox itself was not touched by it)", p);
	}
	/* the index's temporary file is a cache's: no warning */
	(void)unlink(pool_printf(box->pool, "%s%s", box->index_path,
				 MBOX_INDEX_TMP_SUFFIX));
}

static struct storage_mailbox *mbox_open(pool_t *pool, const char *path,
					 const struct storage_user *user,
					 struct error *err)
{
	struct storage_mailbox *box = pool_alloc(pool, sizeof(*box));
	box->pool = pool;
	box->fd = box->lock_fd = -1;
	box->log_ctx.user = user != NULL ? pool_strdup(pool, user->user) : NULL;
	if (mbox_location_parse(pool, path, &box->loc, err) < 0) {
		err->kind = ERROR_PERM;
		return NULL;
	}
	if (mbox_session_lock(box->loc.path, &box->lock_fd, err) < 0) {
		if (err->kind != ERROR_NOT_FOUND)
			return NULL;
		/* No directory, hence no mbox: an empty mailbox that no
		 * other session can change. */
		error_clear(err);
		return box;
	}
	box->index_path = box->loc.index_path != NULL ? box->loc.index_path :
		pool_printf(pool, "%s%s", box->loc.path, MBOX_INDEX_SUFFIX);
	remove_leftovers(box);

	/* O_RDWR: fcntl write locks need it. O_NONBLOCK: a FIFO planted
	 * under the name must not hang the worker. */
	box->fd = open(box->loc.path, O_RDWR | O_CLOEXEC | O_NOFOLLOW |
		       O_NONBLOCK | O_NOCTTY);
	if (box->fd < 0) {
		if (errno == ENOENT)
			return box;   /* not created yet: no messages */
		error_set_errno(err, "open(%s) failed", box->loc.path);
		if (err->kind == ERROR_NOT_FOUND)
			err->kind = ERROR_TEMP;
		box_close_fds(box);
		return NULL;
	}
	struct stat st;
	if (fstat(box->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		error_set(err, ERROR_PERM, "%s is not a regular file",
			  box->loc.path);
		box_close_fds(box);
		return NULL;
	}

	struct mbox_scan scan;
	memset(&scan, 0, sizeof(scan));
	if (read_snapshot(box, &scan, err) < 0) {
		box_close_fds(box);
		return NULL;
	}
	box->dovecot = scan.dovecot;
	box->dovecot_pseudo = scan.dovecot_pseudo;
	box->dovecot_uidvalidity = scan.dovecot_uidvalidity;
	box->dovecot_uid_last = scan.dovecot_uid_last;
	box->segment_count = scan.segment_count;
	memcpy(box->segments, scan.segments, sizeof(box->segments));
	box->snapshot_size = mbox_scan_covered(&scan);
	box->count = (unsigned)scan.count;
	if (scan.count > 0) {
		box->msgs = scan.msgs_pooled ? scan.msgs :
			pool_memdup(pool, scan.msgs,
				    scan.count * sizeof(*scan.msgs));
		struct mbox_uidl_input *in = xmalloc(scan.count * sizeof(*in));
		const char **uidls = xmalloc(scan.count * sizeof(*uidls));
		for (size_t i = 0; i < scan.count; i++) {
			in[i].x_uidl = scan.x_uidls[i];
			in[i].hash = box->msgs[i].hash;
			in[i].uid = scan.uids[i];
		}
		struct mbox_uidl_rule rule = {
			.dovecot = box->dovecot,
			.uidvalidity = box->dovecot_uidvalidity,
			.reuse_xuidl = box->loc.reuse_xuidl,
		};
		mbox_uidl_assign(pool, &rule, in, scan.count, uidls);
		for (size_t i = 0; i < scan.count; i++)
			box->msgs[i].info.uidl = uidls[i];
		free(in);
		free(uidls);
	}
	mbox_scan_free(&scan);
	return box;
}

static unsigned mbox_message_count(struct storage_mailbox *box)
{
	return box->count;
}

static const struct storage_message_info *
mbox_message_info(struct storage_mailbox *box, unsigned index)
{
	if (index >= box->count)
		return NULL;
	return &box->msgs[index].info;
}

static void reader_content(void *context, const char *data, size_t len)
{
	struct storage_message_reader *reader = context;
	buffer_append(&reader->out, data, len);
}

static void reader_done(void *context, const struct mbox_message *m)
{
	struct storage_message_reader *reader = context;
	const struct mbox_msg *msg = &reader->box->msgs[reader->index];
	reader->mismatch = m->size != msg->info.size ||
		memcmp(m->hash, msg->hash, MBOX_HASH_BYTES) != 0;
}

static struct storage_message_reader *
mbox_message_open(struct storage_mailbox *box, unsigned index,
		  struct error *err)
{
	if (index >= box->count) {
		error_set(err, ERROR_NOT_FOUND, "No message %u in %s", index + 1,
			  box->loc.path);
		return NULL;
	}
	struct storage_message_reader *reader = box->free_readers;
	if (reader != NULL)
		box->free_readers = reader->next_free;
	else
		reader = pool_alloc(box->pool, sizeof(*reader));
	const struct mbox_msg *msg = &box->msgs[index];
	reader->box = box;
	reader->index = index;
	reader->pos = msg->content_offset;
	reader->at_end = false;
	reader->mismatch = false;
	reader->next_free = NULL;
	buffer_init(&reader->out);
	mbox_parser_init_content(&reader->parser, msg->content_offset,
				 reader_content, reader_done, reader);
	if (box->dovecot)
		mbox_parser_set_dovecot(&reader->parser);
	return reader;
}

static ssize_t mbox_message_read(struct storage_message_reader *reader,
				 void *buf, size_t size, struct error *err)
{
	struct storage_mailbox *box = reader->box;
	const struct mbox_msg *msg = &box->msgs[reader->index];
	char chunk[MBOX_READ_CHUNK];

	while (reader->out.len == 0 && !reader->at_end) {
		uint64_t left = msg->content_end - reader->pos;
		if (left == 0) {
			mbox_parser_finish(&reader->parser);
			reader->at_end = true;
			break;
		}
		size_t want = left < sizeof(chunk) ? (size_t)left : sizeof(chunk);
		ssize_t n = pread(box->fd, chunk, want, (off_t)reader->pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_set_errno(err, "read(%s) failed", box->loc.path);
			if (err != NULL && err->kind == ERROR_NOT_FOUND)
				err->kind = ERROR_TEMP;
			return -1;
		}
		if (n == 0) {
			error_set(err, ERROR_TEMP, "%s was truncated by another "
				  "program during the session", box->loc.path);
			return -1;
		}
		mbox_parser_feed(&reader->parser, chunk, (size_t)n);
		reader->pos += (uint64_t)n;
	}
	if (reader->out.len == 0 && reader->mismatch) {
		/* As in the commit: a stale index must not outlive this. */
		if (box->index_path != NULL)
			(void)unlink(box->index_path);
		error_set(err, ERROR_TEMP, "Message %u of %s changed on disk "
			  "since the session started (modified by another "
			  "program?)", reader->index + 1, box->loc.path);
		return -1;
	}
	size_t n = reader->out.len < size ? reader->out.len : size;
	memcpy(buf, reader->out.data, n);
	buffer_consume(&reader->out, n);
	return (ssize_t)n;
}

static void mbox_message_close(struct storage_message_reader *reader)
{
	struct storage_mailbox *box = reader->box;
	buffer_free(&reader->out);
	reader->next_free = box->free_readers;
	box->free_readers = reader;
}

static int mbox_commit_deletions(struct storage_mailbox *box,
				 const bool *deleted, struct error *err)
{
	return mbox_commit(box, deleted, err);
}

static void mbox_close(struct storage_mailbox *box)
{
	box_close_fds(box);
}

static const struct storage_ops mbox_storage_ops = {
	.open = mbox_open,
	.message_count = mbox_message_count,
	.message_info = mbox_message_info,
	.message_open = mbox_message_open,
	.message_read = mbox_message_read,
	.message_close = mbox_message_close,
	.commit_deletions = mbox_commit_deletions,
	.close = mbox_close,
};

/* libsodium picks its fastest BLAKE2b code here; the parser digests
 * every byte of the mailbox. */
static int mbox_init(struct error *err)
{
	if (sodium_init() < 0) {
		error_set(err, ERROR_TEMP, "sodium_init() failed");
		return -1;
	}
	return 0;
}

ROOST_MODULE(.kind = MODULE_KIND_STORAGE, .name = "mbox",
	     .init = mbox_init, .ops = &mbox_storage_ops);
