/*
 * The mbox index: what a session learnt from reading an mbox (the scan,
 * mbox-mailbox.h: each message's offsets, size, digest, X-UIDL and X-UID,
 * the mode, and the digests the commit checks), kept in a small binary
 * file so that the next session can skip reading the mbox when it has not
 * changed, and read only what was appended when it grew. Module-private.
 *
 * It is a cache: losing it costs one full read, never mail. So it is
 * replaced by rename() of a complete temporary file (readers see the old
 * or the new one, never a torn one) without fsync(): after a crash the
 * file may be empty or garbage, which mbox_index_decode() rejects (it
 * checks its own BLAKE2b digest), and the next session reads the mbox.
 *
 * The index lies in a directory the mailbox owner can write, so its
 * content is as untrusted as the mbox itself: decoding checks every
 * count, offset and length, and anything doubtful rejects the whole
 * file. A forged index can at worst misdescribe the owner's own mbox,
 * and then RETR (which checks each message's digest) and the commit
 * (which checks the segment digests) refuse to act on it.
 */
#ifndef ROOST_MBOX_INDEX_H
#define ROOST_MBOX_INDEX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "buffer.h"
#include "error.h"
#include "mbox-mailbox.h"
#include "pool.h"

/* Next to the mbox, like the session lock (mbox-lock.h). */
#define MBOX_INDEX_SUFFIX ".roost-index"
/* The index's temporary file: one name is enough, since only the holder
 * of the POP3 session lock writes the index. */
#define MBOX_INDEX_TMP_SUFFIX ".roost-tmp"

/* A file system timestamp is only as fine as its clock tick (a jiffy on
 * Linux file systems, 2 s on FAT, whatever the server's on NFS): a write
 * in the tick that an index records would leave size, mtime and ctime as
 * recorded. So an index is not written while the mbox's mtime or ctime is
 * less than this far in the past, and an index that recorded such a
 * state is not used: any later change then has visibly later times. */
#define MBOX_INDEX_RACY_SECS 2

/* The mbox as the index saw it: a changed inode, size, mtime or ctime
 * means it changed (ctime also catches a rewrite whose mtime was set
 * back with utime()). */
struct mbox_index_stamp {
	uint64_t dev;
	uint64_t ino;
	uint64_t size;
	struct timespec mtime;
	struct timespec ctime;
	struct timespec written;  /* when the index was made */
};

void mbox_index_stamp_of(const struct stat *st, struct mbox_index_stamp *r);
/* Same file, same size and times (written is not compared). */
bool mbox_index_stamp_same(const struct mbox_index_stamp *a,
			   const struct mbox_index_stamp *b);
/* True when the mbox changed too recently before stamp->written to tell
 * a later change from this state (MBOX_INDEX_RACY_SECS). */
bool mbox_index_stamp_racy(const struct mbox_index_stamp *stamp);

/* The file format (pure). encode appends to out. decode fills a zeroed
 * scan (free with mbox_scan_free(); msgs and X-UIDLs in pool, see
 * struct mbox_scan) and the stamp; false, with a static reason in *why_r, for anything doubtful
 * (then scan is freed). A decoded scan covers stamp->size bytes. */
void mbox_index_encode(const struct mbox_scan *scan,
		       const struct mbox_index_stamp *stamp, struct buffer *out);
bool mbox_index_decode(const void *data, size_t len, pool_t *pool,
		       struct mbox_scan *scan_r, struct mbox_index_stamp *stamp_r,
		       const char **why_r);

/* Reads and decodes the index at path: true when it is usable; false
 * with *why_r (static) when it is missing, unreadable or rejected. */
bool mbox_index_read(const char *path, pool_t *pool, struct mbox_scan *scan_r,
		     struct mbox_index_stamp *stamp_r, const char **why_r);
/* Replaces the index at path (see above); the temporary file is removed
 * on every error. */
int mbox_index_write(const char *path, const struct mbox_scan *scan,
		     const struct mbox_index_stamp *stamp, struct error *err);

#endif
