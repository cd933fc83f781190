/*
 * Maildir file names: "<unique>[,S=<n>][,W=<n>][:2,<flags>]".
 *
 * The base name (everything before the first ':', the info separator) is
 * chosen by the delivery agent and never changes; flags after ':' change
 * whenever a client reads or flags the message. So the base name is the
 * message's identity: it keys the size cache and becomes the UIDL.
 *
 * UIDL rule (stable across sessions and Roost versions, do not change it:
 * a changed UIDL makes every client download everything again):
 *  - a base name of 1..70 octets, all in 0x21..0x7E, is the UIDL as is;
 *  - any other base name gets "H" followed by the 32 lower-case hex digits
 *    of the 16-byte BLAKE2b (libsodium crypto_generichash, no key) of the
 *    base name's bytes. A valid base name starting with "H" cannot collide
 *    in practice: the digest form is exactly 33 octets of [0-9a-f] after H.
 */
#ifndef ROOST_MAILDIR_NAME_H
#define ROOST_MAILDIR_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"

/* Longest directory entry name we handle: Linux NAME_MAX. Longer strings
 * (from a corrupt size cache, say) cannot name a message. */
#define MAILDIR_NAME_MAX 255
#define MAILDIR_UIDL_MAX STORAGE_UIDL_MAX
/* Bytes of BLAKE2b output in a digest UIDL: 128 bits makes collisions
 * between different base names negligible, and "H" + 32 hex fits in 70. */
#define MAILDIR_UIDL_DIGEST_BYTES 16
#define MAILDIR_UIDL_DIGEST_PREFIX 'H'

struct maildir_name {
	size_t base_len;        /* name[0 .. base_len) is the base name */
	const char *info;       /* text after the first ':', or NULL */
	bool have_s_size;       /* ,S=<n>: size with the stored (LF) ends */
	uint64_t s_size;
	bool have_w_size;       /* ,W=<n>: POP3 size, CRLF line ends */
	uint64_t w_size;
	bool have_time;         /* leading "<seconds>." delivery time */
	uint64_t time_sec;
	uint32_t time_usec;     /* from "M<usec>" in the second part, or 0 */
};

/* Splits name (NUL-terminated) into its parts. Fields that are absent or
 * malformed are reported as absent; parsing never fails. */
void maildir_name_parse(const char *name, struct maildir_name *r);


/* Writes the UIDL of base[0..len) (see the rule above) to out, with a NUL. */
void maildir_uidl_from_base(const char *base, size_t len,
			    char out[MAILDIR_UIDL_MAX + 1]);

#endif
