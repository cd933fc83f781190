/*
 * Reading an mbox file into a struct mbox_scan (mbox-mailbox.h): a full
 * parse, or a parse of only what was appended to a file whose earlier
 * part an index (mbox-index.h) describes. The caller holds the delivery
 * locks.
 *
 * Why a tail parse gives what a full parse would: an append may continue
 * the last message (an MDA adds the empty line a message lacked, or
 * writes something that is not a new message), so the tail parse starts
 * at the last message's From_ line with the parser state a full parse
 * had there (mbox_parser_init_resume()); everything before it is the
 * index's. It gives up (the caller does a full parse) when no message
 * starts exactly at that From_ line any more, and it is not used when the
 * last message is also the first one, or the mode (mbox-storage.c) was
 * decided only at the end of the file: in both cases the appended bytes
 * could change how the file's start is read.
 */
#include "config.h"
#include "mbox-mailbox.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read size: few system calls for a large mailbox. */
#define MBOX_SCAN_CHUNK 65536

void mbox_scan_add(struct mbox_scan *scan, const struct mbox_msg *msg,
		   const char *x_uidl, uint32_t uid)
{
	if (scan->count == scan->cap) {
		scan->cap = scan->cap == 0 ? 256 : scan->cap * 2;
		if (scan->msgs_pooled) {
			struct mbox_msg *heap = xmalloc(scan->cap *
							sizeof(*heap));
			memcpy(heap, scan->msgs, scan->count * sizeof(*heap));
			scan->msgs = heap;
			scan->msgs_pooled = false;
		} else {
			scan->msgs = xrealloc(scan->msgs,
					      scan->cap * sizeof(*scan->msgs));
		}
		scan->x_uidls = xrealloc(scan->x_uidls,
					 scan->cap * sizeof(*scan->x_uidls));
		scan->uids = xrealloc(scan->uids, scan->cap * sizeof(*scan->uids));
	}
	scan->msgs[scan->count] = *msg;
	scan->x_uidls[scan->count] = x_uidl;
	scan->uids[scan->count] = uid;
	scan->count++;
}

void mbox_scan_free(struct mbox_scan *scan)
{
	if (!scan->msgs_pooled)
		free(scan->msgs);
	free(scan->x_uidls);
	free(scan->uids);
	memset(scan, 0, sizeof(*scan));
}

uint64_t mbox_scan_covered(const struct mbox_scan *scan)
{
	return scan->segment_count == 0 ? 0 :
		scan->segments[scan->segment_count - 1].end;
}

struct scan_context {
	struct mbox_scan *scan;
	struct mbox_parser *parser;
	pool_t *pool;
	const char *path;
	const struct log_context *log_ctx;
	/* the parser state where the next message starts */
	struct mbox_parser_resume next;
	bool any;                 /* a message was reported */
	bool tail;                /* a tail parse */
	bool tail_broken;         /* it did not continue the index */
};

static void on_message(void *context, const struct mbox_message *m)
{
	struct scan_context *ctx = context;
	struct mbox_scan *scan = ctx->scan;
	if (!ctx->any && !ctx->tail) {
		/* a preamble may come first: the state is still the
		 * initial one */
		memset(&ctx->next, 0, sizeof(ctx->next));
		ctx->next.offset = m->from_offset;
	}
	if (ctx->tail && (m->pseudo ||
			  (!ctx->any && m->from_offset != ctx->next.offset)))
		ctx->tail_broken = true;
	ctx->any = true;
	scan->resume = ctx->next;
	mbox_parser_resume_point(ctx->parser, &ctx->next);
	if (m->pseudo) {
		/* Dovecot's folder data: kept in the file, never listed */
		scan->dovecot_pseudo = true;
		return;
	}
	if (scan->count >= MBOX_MAX_MESSAGES) {
		if (!scan->truncated)
			log_msg(LOG_LEVEL_WARNING, ctx->log_ctx,
				"mbox %s has more than %d messages: this session "
				"sees only the first ones", ctx->path,
				MBOX_MAX_MESSAGES);
		scan->truncated = true;
		return;
	}
	struct mbox_msg msg;
	memset(&msg, 0, sizeof(msg));
	msg.info.size = m->size;
	msg.from_offset = m->from_offset;
	msg.content_offset = m->content_offset;
	msg.content_end = m->content_end;
	msg.end_offset = m->end_offset;
	memcpy(msg.hash, m->hash, MBOX_HASH_BYTES);
	mbox_scan_add(scan, &msg, m->x_uidl[0] == '\0' ? NULL :
		      pool_strdup(ctx->pool, m->x_uidl), m->uid);
}

/* Starts (or restarts) the full read. The mode is not known before the
 * first message's header has been read: start in Dovecot mode, which
 * reads that header the same way, and start over in Roost's own mode if
 * it has no Dovecot metadata. */
static void full_start(struct scan_context *ctx, bool dovecot,
		       crypto_generichash_state *file_hash)
{
	ctx->scan->count = 0;
	ctx->scan->dovecot_pseudo = false;
	ctx->scan->truncated = false;
	ctx->any = false;
	mbox_parser_init(ctx->parser, on_message, ctx);
	if (dovecot)
		mbox_parser_set_dovecot(ctx->parser);
	crypto_generichash_init(file_hash, NULL, 0, MBOX_FILE_HASH_BYTES);
}

static ssize_t read_chunk(int fd, char *buf, uint64_t pos, const char *path,
			  struct error *err)
{
	ssize_t n;
	do {
		n = pread(fd, buf, MBOX_SCAN_CHUNK, (off_t)pos);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		error_set_errno(err, "read(%s) failed", path);
	return n;
}

static void add_segment(struct mbox_scan *scan, uint64_t end,
			crypto_generichash_state *hash)
{
	struct mbox_segment *seg = &scan->segments[scan->segment_count++];
	seg->end = end;
	crypto_generichash_final(hash, seg->hash, MBOX_FILE_HASH_BYTES);
}

int mbox_scan_full(struct mbox_scan *scan, int fd, const char *path,
		   pool_t *pool, const struct log_context *log_ctx,
		   struct error *err)
{
	memset(scan, 0, sizeof(*scan));
	struct scan_context ctx = {
		.scan = scan, .pool = pool, .path = path, .log_ctx = log_ctx,
	};
	ctx.parser = xmalloc(sizeof(*ctx.parser));
	crypto_generichash_state file_hash;
	char *buf = xmalloc(MBOX_SCAN_CHUNK);
	bool deciding = true, header_done_before_end = false;
	int ret = -1;
	scan->dovecot = true;
	full_start(&ctx, true, &file_hash);
	uint64_t pos = 0;
	for (;;) {
		ssize_t n = read_chunk(fd, buf, pos, path, err);
		if (n < 0)
			break;
		if (n == 0 && deciding) {
			/* the first header may reach the end of the file */
			header_done_before_end =
				mbox_parser_first_header_done(ctx.parser);
			mbox_parser_finish(ctx.parser);
		}
		if (deciding && (n == 0 ||
				 mbox_parser_first_header_done(ctx.parser))) {
			deciding = false;
			/* the first header's end does not depend on what
			 * follows it; the end of the file does */
			scan->mode_final = n > 0 || header_done_before_end;
			scan->dovecot = mbox_parser_dovecot_base(ctx.parser,
				&scan->dovecot_uidvalidity,
				&scan->dovecot_uid_last);
			if (!scan->dovecot) {
				scan->dovecot_uidvalidity = 0;
				scan->dovecot_uid_last = 0;
				full_start(&ctx, false, &file_hash);
				pos = 0;
				continue;
			}
			if (n == 0) {
				ret = 0;
				break;
			}
		}
		if (n == 0) {
			mbox_parser_finish(ctx.parser);
			ret = 0;
			break;
		}
		mbox_parser_feed(ctx.parser, buf, (size_t)n);
		crypto_generichash_update(&file_hash, (unsigned char *)buf,
					  (size_t)n);
		pos += (uint64_t)n;
	}
	if (ret == 0 && pos > 0)
		add_segment(scan, pos, &file_hash);
	free(buf);
	free(ctx.parser);
	if (ret < 0)
		mbox_scan_free(scan);
	return ret;
}

int mbox_scan_tail(struct mbox_scan *scan, int fd, const char *path,
		   pool_t *pool, const struct log_context *log_ctx,
		   struct error *err)
{
	uint64_t covered = mbox_scan_covered(scan);
	size_t parsed = scan->count + (scan->dovecot_pseudo ? 1 : 0);
	if (!scan->mode_final || parsed < 2 || scan->truncated ||
	    scan->segment_count == 0 ||
	    scan->segment_count >= MBOX_SEGMENTS_MAX)
		return 0;
	struct scan_context ctx = {
		.scan = scan, .pool = pool, .path = path, .log_ctx = log_ctx,
		.next = scan->resume, .tail = true,
	};
	/* the last message is read again, with what was appended to it */
	scan->count--;
	ctx.parser = xmalloc(sizeof(*ctx.parser));
	mbox_parser_init_resume(ctx.parser, &scan->resume, scan->dovecot,
				scan->dovecot_uidvalidity,
				scan->dovecot_uid_last, on_message, &ctx);
	crypto_generichash_state tail_hash;
	crypto_generichash_init(&tail_hash, NULL, 0, MBOX_FILE_HASH_BYTES);
	char *buf = xmalloc(MBOX_SCAN_CHUNK);
	uint64_t pos = scan->resume.offset;
	int ret = -1;
	for (;;) {
		ssize_t n = read_chunk(fd, buf, pos, path, err);
		if (n < 0)
			break;
		if (n == 0) {
			mbox_parser_finish(ctx.parser);
			ret = 1;
			break;
		}
		mbox_parser_feed(ctx.parser, buf, (size_t)n);
		uint64_t end = pos + (uint64_t)n;
		if (end > covered) {
			uint64_t from = pos > covered ? pos : covered;
			crypto_generichash_update(&tail_hash,
				(unsigned char *)buf + (from - pos),
				(size_t)(end - from));
		}
		pos = end;
	}
	free(buf);
	free(ctx.parser);
	if (ret < 0)
		return -1;
	if (pos < covered || !ctx.any || ctx.tail_broken)
		return 0;
	if (pos > covered)
		add_segment(scan, pos, &tail_hash);
	return 1;
}
