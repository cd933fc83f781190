/*
 * The mbox mail location: "mbox:PATH[:key=value]...", of which open()
 * gets everything after "mbox:" with ~ and %{...} already expanded.
 * PATH is the mbox file (it may be missing: an empty mailbox, not
 * created by us). Options, each at most once:
 *
 *   lock=METHODS       delivery locks, taken in the order written,
 *                      joined by '+': "dotlock", "fcntl", or both.
 *                      Default dotlock+fcntl (the order Debian's MDAs
 *                      use). Use what every program that writes the
 *                      mbox uses.
 *   lock_timeout=TIME  how long to wait for the delivery locks before
 *                      the client gets -ERR [SYS/TEMP]: "<n>s" or
 *                      "<n>ms" (plain <n>: seconds), 1ms..300s.
 *                      Default 10s.
 *   reuse_xuidl=yes|no in a mailbox Dovecot served, prefer a message's
 *                      valid X-UIDL header to Dovecot's UID-based UIDL,
 *                      as Dovecot's pop3_reuse_xuidl = yes did (set it
 *                      when Dovecot had it). Default no, as Dovecot.
 *                      Other mailboxes always reuse X-UIDL (mbox-uidl.h).
 *   index=PATH         where the mailbox index (mbox-index.h: what the
 *                      last session learnt from reading the mbox, so the
 *                      next one need not read it again) is kept; must be
 *                      writable by the mailbox owner, e.g.
 *                      index=%{home}/.roost-mbox-index for an mbox in
 *                      /var/mail. Default: "<PATH>.roost-index", next to
 *                      the session lock; where that cannot be written
 *                      there is no index (a debug line says so) and every
 *                      session reads the whole mbox.
 *
 * Example: mail = mbox:~/mbox:lock=fcntl:lock_timeout=5s
 *
 * A ':' therefore cannot appear in PATH.
 */
#ifndef ROOST_MBOX_LOCATION_H
#define ROOST_MBOX_LOCATION_H

#include <stdbool.h>

#include "error.h"
#include "pool.h"

enum mbox_lock_method {
	MBOX_LOCK_DOTLOCK = 1,
	MBOX_LOCK_FCNTL,
};
#define MBOX_LOCK_METHODS_MAX 2
/* Long enough for a delivery agent to append a large message on a busy
 * disk, short enough that a POP3 client (which typically gives up after
 * 30-60 s) gets a clean [SYS/TEMP] instead of a timeout. */
#define MBOX_LOCK_TIMEOUT_DEFAULT_MS 10000
/* More than any delivery should need; a lock held longer is a stuck
 * process, and the client should be told so instead of hanging. */
#define MBOX_LOCK_TIMEOUT_MAX_MS 300000

struct mbox_location {
	const char *path;
	enum mbox_lock_method locks[MBOX_LOCK_METHODS_MAX];
	unsigned lock_count;
	unsigned lock_timeout_ms;
	bool reuse_xuidl;
	const char *index_path;   /* index=, NULL: the default */
};

/* ERROR_INVALID for unknown keys, bad values, repeated options, an empty
 * path. */
int mbox_location_parse(pool_t *pool, const char *location,
			struct mbox_location *loc_r, struct error *err);

#endif
