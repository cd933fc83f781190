/*
 * Locks on an mbox file.
 *
 * Delivery locks (what MDAs such as procmail, postfix local, exim and
 * Debian's liblockfile use), taken only while the snapshot is read and
 * while a commit rewrites the file, never for a whole POP3 session, so
 * that mail keeps arriving while a client is logged in:
 *  - dotlock: "<mbox>.lock", created atomically by writing our PID to
 *    "<mbox>.roost-lk" and link(2)ing it to the lock name, as liblockfile
 *    does (link is atomic also on old NFS, where O_EXCL was not). A lock
 *    is stale, and is removed, when the PID written in it is a process
 *    that no longer exists on this host, or when it is older than
 *    MBOX_DOTLOCK_STALE_SECS.
 *  - fcntl: a write lock (F_SETLK) on the whole file.
 * Each is tried without blocking and retried until the location's
 * lock_timeout; then ERROR_TEMP. Methods are taken in the configured
 * order and released in reverse.
 *
 * The POP3 session lock ("<mbox>.roost-pop3.lock", flock()ed for the
 * whole session) only keeps two POP3 sessions apart; it dies with the
 * process. Both the dotlock and this file live next to the mbox, so the
 * directory must be writable by the mailbox owner.
 */
#ifndef ROOST_MBOX_LOCK_H
#define ROOST_MBOX_LOCK_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "mbox-location.h"
#include "pool.h"

/* Older than any delivery or commit holds a dotlock (commits refresh it
 * every MBOX_DOTLOCK_TOUCH_SECS); between Dovecot's 2 and Postfix's 8.3
 * minutes, so a crashed holder with an unknown PID blocks delivery for a
 * few minutes at most. */
#define MBOX_DOTLOCK_STALE_SECS 300
#define MBOX_DOTLOCK_TOUCH_SECS 60
#define MBOX_DOTLOCK_SUFFIX ".lock"
/* Our temporary file for link(2). One name per mailbox is enough: only
 * the holder of the POP3 session lock ever creates it. */
#define MBOX_DOTLOCK_TMP_SUFFIX ".roost-lk"
#define MBOX_SESSION_LOCK_SUFFIX ".roost-pop3.lock"

struct mbox_lock {
	const struct mbox_location *loc;
	const char *dotlock_path;
	const char *dotlock_tmp_path;
	bool have_dotlock;
	ino_t dotlock_ino;
	dev_t dotlock_dev;
	int fd;
	bool have_fcntl;
};

/* Takes the delivery locks of loc on loc->path; fd is the open mbox (for
 * fcntl). ERROR_TEMP when they stay busy for loc->lock_timeout_ms. */
int mbox_lock_take(struct mbox_lock *lock, pool_t *pool,
		   const struct mbox_location *loc, int fd, struct error *err);
/* Keeps a held dotlock from looking stale during a long commit. */
void mbox_lock_touch(struct mbox_lock *lock);
/* Releases what is held (also after a failed take). */
void mbox_lock_release(struct mbox_lock *lock);

/* flock()s "<mbox>.roost-pop3.lock": ERROR_IN_USE when another session
 * has it, ERROR_NOT_FOUND when the directory does not exist. */
int mbox_session_lock(const char *mbox_path, int *fd_r, struct error *err);

#endif
