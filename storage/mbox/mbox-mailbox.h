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

struct storage_mailbox {
	pool_t *pool;
	struct mbox_location loc;
	struct log_context log_ctx;
	int lock_fd;              /* POP3 session lock, -1 when none */
	int fd;                   /* the mbox as snapshotted, -1: none */
	dev_t dev;
	ino_t ino;
	uint64_t snapshot_size;
	unsigned char snapshot_hash[MBOX_FILE_HASH_BYTES];
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
