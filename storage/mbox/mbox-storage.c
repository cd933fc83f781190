/*
 * The mbox storage module: storage_ops (storage.h) over one mbox file
 * (RFC 4155; parsing in mbox-parse.c, UIDLs in mbox-uidl.c, locks in
 * mbox-lock.c, the rewrite on QUIT in mbox-commit.c).
 *
 * open(): takes the POP3 session lock, then the delivery locks only for
 * as long as it reads the file once from start to end, parsing and
 * digesting it as it goes (STAT needs nothing more: no second read, no
 * cache). The file stays open: messages are read from the snapshotted
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
#include "mbox-lock.h"
#include "mbox-mailbox.h"
#include "mbox-uidl.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A snapshot lists at most this many messages (each costs about 100
 * bytes plus its UIDL). Messages beyond it are not listed, so they are
 * never deleted, and show up once the client has removed some. */
#define MBOX_MAX_MESSAGES 1000000
/* Read size for the snapshot and for RETR: few system calls for a large
 * mailbox, small enough for the stack. */
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

/* Messages collected while parsing, on the heap until the count is
 * known. */
struct scan_list {
	struct storage_mailbox *box;
	struct mbox_msg *msgs;
	const char **x_uidls;
	uint32_t *uids;
	size_t count;
	size_t cap;
	bool limit_logged;
};

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void on_message(void *context, const struct mbox_message *m)
{
	struct scan_list *list = context;
	if (m->pseudo) {
		/* Dovecot's folder data: kept in the file, never listed */
		list->box->dovecot_pseudo = true;
		return;
	}
	if (list->count >= MBOX_MAX_MESSAGES) {
		if (!list->limit_logged)
			log_msg(LOG_LEVEL_WARNING, &list->box->log_ctx,
				"mbox %s has more than %d messages: this session "
				"sees only the first ones", list->box->loc.path,
				MBOX_MAX_MESSAGES);
		list->limit_logged = true;
		return;
	}
	if (list->count == list->cap) {
		list->cap = list->cap == 0 ? 256 : list->cap * 2;
		list->msgs = xrealloc(list->msgs, list->cap * sizeof(*list->msgs));
		list->x_uidls = xrealloc(list->x_uidls,
					 list->cap * sizeof(*list->x_uidls));
		list->uids = xrealloc(list->uids,
				      list->cap * sizeof(*list->uids));
	}
	struct mbox_msg *msg = &list->msgs[list->count];
	memset(msg, 0, sizeof(*msg));
	msg->info.size = m->size;
	msg->from_offset = m->from_offset;
	msg->content_offset = m->content_offset;
	msg->content_end = m->content_end;
	msg->end_offset = m->end_offset;
	memcpy(msg->hash, m->hash, MBOX_HASH_BYTES);
	list->x_uidls[list->count] = m->x_uidl[0] == '\0' ? NULL :
		pool_strdup(list->box->pool, m->x_uidl);
	list->uids[list->count] = m->uid;
	list->count++;
}

/* Starts (or restarts) the one read of the file. The mode is not known
 * before the first message's header has been read: start in Dovecot
 * mode, which reads that header the same way, and start over in Roost's
 * own mode if it has no Dovecot metadata. */
static void snapshot_start(struct mbox_parser *parser, bool dovecot,
			   crypto_generichash_state *file_hash,
			   struct scan_list *list)
{
	list->count = 0;
	list->box->dovecot_pseudo = false;
	mbox_parser_init(parser, on_message, list);
	if (dovecot)
		mbox_parser_set_dovecot(parser);
	crypto_generichash_init(file_hash, NULL, 0, MBOX_FILE_HASH_BYTES);
}

/* Reads the whole file once under the delivery locks: parse, digest. */
static int read_snapshot(struct storage_mailbox *box, struct scan_list *list,
			 struct error *err)
{
	struct mbox_lock lock;
	if (mbox_lock_take(&lock, box->pool, &box->loc, box->fd, err) < 0)
		return -1;
	int ret = -1;
	struct stat st;
	if (fstat(box->fd, &st) < 0) {
		error_set_errno(err, "fstat(%s) failed", box->loc.path);
		goto out;
	}
	box->dev = st.st_dev;
	box->ino = st.st_ino;

	struct mbox_parser *parser = xmalloc(sizeof(*parser));
	crypto_generichash_state file_hash;
	char *buf = xmalloc(MBOX_READ_CHUNK);
	bool deciding = true;
	box->dovecot = true;
	snapshot_start(parser, true, &file_hash, list);
	uint64_t pos = 0;
	for (;;) {
		ssize_t n = pread(box->fd, buf, MBOX_READ_CHUNK, (off_t)pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_set_errno(err, "read(%s) failed", box->loc.path);
			break;
		}
		if (n == 0 && deciding) {
			/* the first header reaches the end of the file */
			mbox_parser_finish(parser);
		}
		if (deciding && (n == 0 || mbox_parser_first_header_done(parser))) {
			deciding = false;
			box->dovecot = mbox_parser_dovecot_base(parser,
				&box->dovecot_uidvalidity, &box->dovecot_uid_last);
			if (!box->dovecot) {
				snapshot_start(parser, false, &file_hash, list);
				pos = 0;
				continue;
			}
			if (n == 0) {
				ret = 0;
				break;
			}
		}
		if (n == 0) {
			mbox_parser_finish(parser);
			ret = 0;
			break;
		}
		mbox_parser_feed(parser, buf, (size_t)n);
		crypto_generichash_update(&file_hash, (unsigned char *)buf,
					  (size_t)n);
		pos += (uint64_t)n;
	}
	if (ret == 0) {
		crypto_generichash_final(&file_hash, box->snapshot_hash,
					 MBOX_FILE_HASH_BYTES);
		box->snapshot_size = pos;
	}
	free(buf);
	free(parser);
out:
	mbox_lock_release(&lock);
	if (ret < 0 && err != NULL && err->kind != ERROR_PERM)
		err->kind = ERROR_TEMP;
	return ret;
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

	struct scan_list list;
	memset(&list, 0, sizeof(list));
	list.box = box;
	if (read_snapshot(box, &list, err) < 0) {
		free(list.msgs);
		free(list.x_uidls);
		free(list.uids);
		box_close_fds(box);
		return NULL;
	}
	box->count = (unsigned)list.count;
	if (list.count > 0) {
		box->msgs = pool_memdup(pool, list.msgs,
					list.count * sizeof(*list.msgs));
		struct mbox_uidl_input *in = xmalloc(list.count * sizeof(*in));
		const char **uidls = xmalloc(list.count * sizeof(*uidls));
		for (size_t i = 0; i < list.count; i++) {
			in[i].x_uidl = list.x_uidls[i];
			in[i].hash = box->msgs[i].hash;
			in[i].uid = list.uids[i];
		}
		struct mbox_uidl_rule rule = {
			.dovecot = box->dovecot,
			.uidvalidity = box->dovecot_uidvalidity,
			.reuse_xuidl = box->loc.reuse_xuidl,
		};
		mbox_uidl_assign(pool, &rule, in, list.count, uidls);
		for (size_t i = 0; i < list.count; i++)
			box->msgs[i].info.uidl = uidls[i];
		free(in);
		free(uidls);
	}
	free(list.msgs);
	free(list.x_uidls);
	free(list.uids);
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
