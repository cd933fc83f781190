/*
 * The UIDL rule for mbox messages. mbox has no file names, so the UIDL
 * comes from the message itself and is the same in every session:
 *
 *  1. base: the value of the message's first X-UIDL header when it is a
 *     valid UIDL (1..70 octets of 0x21..0x7E; qpopper and others left
 *     these, and reusing them keeps migrated clients from downloading
 *     everything again); otherwise the 32 lower-case hex digits of the
 *     BLAKE2b-128 digest of the message's unquoted content (what RETR
 *     sends, before line-end conversion, without the final line end; the
 *     From_ line is not part of it, so rewriting the separator does not
 *     change the UIDL; see mbox-parse.h).
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
 */
#ifndef ROOST_MBOX_UIDL_H
#define ROOST_MBOX_UIDL_H

#include <stddef.h>

#include "mbox-parse.h"
#include "pool.h"

struct mbox_uidl_input {
	const char *x_uidl;            /* valid X-UIDL value or NULL */
	const unsigned char *hash;     /* MBOX_HASH_BYTES */
};

/* Fills uidls_r[0..count) with strings allocated from pool. */
void mbox_uidl_assign(pool_t *pool, const struct mbox_uidl_input *in,
		      size_t count, const char **uidls_r);

#endif
