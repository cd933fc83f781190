/*
 * The mbox storage module's mailbox snapshot, shared by the storage ops
 * (mbox-storage.c) and the commit (mbox-commit.c). Not a public API.
 */
#ifndef ROOST_MBOX_MAILBOX_H
#define ROOST_MBOX_MAILBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "log.h"
#include "mbox-location.h"
#include "mbox-parse.h"
#include "pool.h"
#include "storage.h"

/* Digest of the first snapshot_size bytes of the file: the commit checks
 * with it that the file only grew since the snapshot. */
#define MBOX_FILE_HASH_BYTES 32
/* A snapshot lists at most this many messages (each costs about 100
 * bytes plus its UIDL). Messages beyond it are not listed, so they are
 * never deleted, and show up once the client has removed some. */
#define MBOX_MAX_MESSAGES 1000000
/* The commit's temporary file; one name per mailbox is enough, since only
 * the holder of the POP3 session lock writes it. */
#define MBOX_COMMIT_TMP_SUFFIX ".roost-new"

struct mbox_msg {
	struct storage_message_info info;
	uint64_t from_offset;
	uint64_t content_offset;
	uint64_t content_end;
	uint64_t end_offset;
	unsigned char hash[MBOX_HASH_BYTES];
};

/* The commit checks the part of the file the session saw as a chain of
 * segments [previous end, end), each with its own digest: a full parse
 * gives one, and each later session that finds mail appended (and reads
 * only that, with the index, mbox-index.h) adds one. Each digest is a
 * full-strength BLAKE2b-256 of its bytes, so the chain proves [0, last
 * end) unchanged just as one digest over it would. Bounded so that the
 * index and the commit's work stay small: with a full chain the next
 * append is read in a full parse, which starts a new chain. */
#define MBOX_SEGMENTS_MAX 64

struct mbox_segment {
	uint64_t end;
	unsigned char hash[MBOX_FILE_HASH_BYTES];
};

/* What reading the file (a full parse, a parse of the appended tail, or
 * the index) found. The arrays are on the heap (free with
 * mbox_scan_free()), except msgs when msgs_pooled; the X-UIDL strings
 * are in the mailbox pool. */
struct mbox_scan {
	struct mbox_msg *msgs;    /* info.uidl not set yet */
	/* msgs is the index's, in the mailbox pool, so that the mailbox
	 * can keep it without a copy; growing it moves it to the heap */
	bool msgs_pooled;
	const char **x_uidls;     /* NULL: none */
	uint32_t *uids;           /* Dovecot mode: X-UID, 0: none */
	size_t count;
	size_t cap;
	bool dovecot;
	bool dovecot_pseudo;
	uint32_t dovecot_uidvalidity;
	uint32_t dovecot_uid_last;
	/* The mode was decided before the end of the file, so appending
	 * cannot change it (otherwise an append needs a full parse). */
	bool mode_final;
	/* Where the last message parsed (perhaps the pseudo-message)
	 * starts; a parse of what was appended starts there, since the
	 * append may continue that message. Valid when count > 0. */
	struct mbox_parser_resume resume;
	struct mbox_segment segments[MBOX_SEGMENTS_MAX];
	unsigned segment_count;
	bool truncated;           /* MBOX_MAX_MESSAGES was reached */
};

/* Reads the whole file (mbox-scan.c) into a zeroed scan; path names it
 * in errors and log lines, X-UIDLs go to pool. -1: a read error (the
 * scan is freed). */
int mbox_scan_full(struct mbox_scan *scan, int fd, const char *path,
		   pool_t *pool, const struct log_context *log_ctx,
		   struct error *err);
/* Extends a scan of the file's first mbox_scan_covered() bytes (from the
 * index) with what follows them. 1: done; 0: the scan cannot be
 * extended (see mbox-scan.c), and is no longer usable: free it and do a
 * full parse; -1: a read error. */
int mbox_scan_tail(struct mbox_scan *scan, int fd, const char *path,
		   pool_t *pool, const struct log_context *log_ctx,
		   struct error *err);

/* Appends a message (grows the arrays); x_uidl from pool or NULL. */
void mbox_scan_add(struct mbox_scan *scan, const struct mbox_msg *msg,
		   const char *x_uidl, uint32_t uid);
void mbox_scan_free(struct mbox_scan *scan);
/* The end of the last segment: how much of the file the scan covers. */
uint64_t mbox_scan_covered(const struct mbox_scan *scan);

struct storage_mailbox {
	pool_t *pool;
	struct mbox_location loc;
	struct log_context log_ctx;
	int lock_fd;              /* POP3 session lock, -1 when none */
	int fd;                   /* the mbox as snapshotted, -1: none */
	dev_t dev;
	ino_t ino;
	uint64_t snapshot_size;
	struct mbox_segment segments[MBOX_SEGMENTS_MAX];
	unsigned segment_count;   /* segments[last].end == snapshot_size */
	const char *index_path;   /* NULL: no index */
	struct mbox_msg *msgs;
	unsigned count;
	/* Dovecot's metadata (mbox-dovecot.h), read in Dovecot mode */
	bool dovecot;
	bool dovecot_pseudo;      /* the file starts with the pseudo-message */
	uint32_t dovecot_uidvalidity;
	uint32_t dovecot_uid_last;
	bool committed;
	struct storage_message_reader *free_readers;
};

/* Rewrites the mbox without the deleted messages; see mbox-commit.c. */
int mbox_commit(struct storage_mailbox *box, const bool *deleted,
		struct error *err);

#endif
