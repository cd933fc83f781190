/*
 * The UIDL rule for mbox messages. mbox has no file names, so the UIDL
 * comes from the message itself and is the same in every session.
 *
 *  1. base, in a mailbox without Dovecot's metadata (never served by
 *     Dovecot: no X-IMAPbase in the first message, no FOLDER INTERNAL
 *     DATA pseudo-message): the value of the message's first X-UIDL
 *     header when it is a valid UIDL (1..70 octets of 0x21..0x7E;
 *     qpopper, Courier and others left these, and reusing them keeps
 *     migrated clients from downloading everything again); otherwise the
 *     32 lower-case hex digits of the BLAKE2b-128 digest of the message's
 *     content as RETR sends it before line-end conversion, without the
 *     final line end (the From_ line is not part of it, so rewriting the
 *     separator does not change the UIDL; see mbox-parse.h).
 *  1'. base, in a mailbox Dovecot served (mbox-dovecot.h): what Dovecot
 *     2.3 answered with its defaults, "%08x%08x" of the message's X-UID
 *     and X-IMAPbase's UIDVALIDITY (16 lower-case hex digits), for every
 *     message with a valid X-UID (mbox-parse.h: one Dovecot gave out
 *     itself). Dovecot ignores X-UIDL by default (pop3_reuse_xuidl = no);
 *     with the location option reuse_xuidl=yes (for admins who had set
 *     pop3_reuse_xuidl = yes) a valid X-UIDL of such a message comes
 *     first. Messages without a valid X-UID arrived after the switch:
 *     they get the digest (and never their X-UIDL, which the sender may
 *     have chosen), 32 digits, so they can never take a UIDL that Dovecot
 *     gave out.
 *  2. In mailbox order every message claims its base. All bases are
 *     claimed before any suffix is handed out, so a message whose base
 *     happens to end in "-2" keeps it.
 *  3. A message whose base is already claimed (a duplicate X-UIDL, or
 *     byte-identical messages) gets "<base>-<N>" with the smallest N >= 2
 *     not taken, the base cut short when needed to stay within 70 octets.
 *
 * Appending mail or deleting other messages changes no UIDL, except among
 * messages that share a base: there the suffixes follow mailbox order, so
 * deleting the first of two identical messages gives the second the
 * unsuffixed UIDL the first one had (the content is the same, so a client
 * that skips it skips mail it already has).
 *
 * Why Dovecot's reading rules only for mailboxes Dovecot served: they
 * differ from Roost's own (no mboxrd unquoting, hidden Status headers,
 * other separators), and applying them to a mailbox Roost has been
 * serving would change the digests, hence the UIDLs, of its messages.
 * A mailbox Dovecot served always carries its metadata (Dovecot writes it
 * on its first sync), so it is recognised without configuration.
 */
#ifndef ROOST_MBOX_UIDL_H
#define ROOST_MBOX_UIDL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbox-parse.h"
#include "pool.h"

struct mbox_uidl_input {
	const char *x_uidl;            /* valid X-UIDL value or NULL */
	const unsigned char *hash;     /* MBOX_HASH_BYTES */
	uint32_t uid;                  /* valid X-UID (Dovecot), 0: none */
};

/* How a mailbox's messages get their bases (rule 1 or 1'). */
struct mbox_uidl_rule {
	bool dovecot;                  /* the mailbox carries its metadata */
	uint32_t uidvalidity;          /* X-IMAPbase's */
	bool reuse_xuidl;              /* location option reuse_xuidl=yes */
};

/* Fills uidls_r[0..count) with strings allocated from pool, or with
 * in[i].x_uidl itself when that is the UIDL: those must live as long as
 * the results (the mailbox keeps them in its pool). */
void mbox_uidl_assign(pool_t *pool, const struct mbox_uidl_rule *rule,
		      const struct mbox_uidl_input *in, size_t count,
		      const char **uidls_r);

#endif
