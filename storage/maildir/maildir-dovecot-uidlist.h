/*
 * Read-only use of Dovecot's "<maildir>/dovecot-uidlist", so that a
 * mailbox moved from Dovecot 2.3 keeps the UIDLs its POP3 clients know.
 *
 * The file (Dovecot's maildir-uidlist.c) is a header line, then one line
 * per message:
 *   version 3:  "3 V<uidvalidity> N<nextuid> G<guid> ..."   (any order,
 *               unknown fields ignored; V and N must be non-zero)
 *               "<uid> [<key><value> ...] :<file name>"
 *   version 1:  "1 <uidvalidity> <nextuid>"
 *               "<uid> <file name>"
 * Record keys are single letters A-Z; of them Roost uses
 *   P<uidl>  the POP3 UIDL stored for the message (an empty value means
 *            "the base file name", as in Dovecot's maildir-mail.c);
 *   W<n>     the virtual (CRLF) size, i.e. the POP3 size.
 * The file name may still carry its ":2,<flags>" part; only the base name
 * (up to the first ':') identifies the message.
 *
 * Dovecot's default pop3_uidl_format is "%08Xu%08Xv": the UID and then
 * the UIDVALIDITY as eight hex digits each, in lower case (Dovecot's %X
 * modifier means "hex", not "upper-case hex": a running Dovecot 2.3.19
 * answers 000000016b032837 for UID 1, UIDVALIDITY 0x6b032837). A
 * record's P value
 * overrides it (the per-message UIDL Dovecot reports as "backend" UIDL).
 *
 * Everything here is pure: parsing works on a buffer, damage is reported
 * through a callback with the line number and never fails the parse as a
 * whole unless the header is unusable (then no message has a Dovecot UIDL
 * and Roost's own rule applies to all of them).
 */
#ifndef ROOST_MAILDIR_DOVECOT_UIDLIST_H
#define ROOST_MAILDIR_DOVECOT_UIDLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool.h"
#include "storage.h"
#include "maildir-name.h"

#define MAILDIR_DOVECOT_UIDLIST_NAME "dovecot-uidlist"
/* "%08x%08x" of two 32-bit numbers (storage_uidl_dovecot()). */
#define MAILDIR_DOVECOT_UIDL_LEN STORAGE_DOVECOT_UIDL_LEN

struct maildir_dovecot_record {
	uint32_t uid;
	/* The P value when it is a usable UIDL (1..70 octets, 0x21..0x7E),
	 * "" for "use the base name", NULL when there is none. */
	const char *pop3_uidl;
	bool have_vsize;
	uint64_t vsize;          /* W: POP3 (CRLF) size */
};

struct maildir_dovecot_uidlist;

/* Called for each damaged line (1-based) with a short reason. */
typedef void maildir_dovecot_warn_fn(void *context, unsigned line,
				     const char *why);

/* Parses buf[0..len). Returns NULL (after a warning for line 1) when the
 * header is missing, of an unknown version or without a UIDVALIDITY;
 * otherwise a list of the records that parsed. */
struct maildir_dovecot_uidlist *
maildir_dovecot_uidlist_parse(pool_t *pool, const char *buf, size_t len,
			      maildir_dovecot_warn_fn *warn, void *context);

uint32_t maildir_dovecot_uidlist_uidvalidity(
	const struct maildir_dovecot_uidlist *list);
unsigned maildir_dovecot_uidlist_count(
	const struct maildir_dovecot_uidlist *list);

/* The record for base name base[0..len), or NULL. */
const struct maildir_dovecot_record *
maildir_dovecot_uidlist_lookup(const struct maildir_dovecot_uidlist *list,
			       const char *base, size_t len);

/* Writes the UIDL Dovecot 2.3 gives rec (P override, else "%08x%08x")
 * to out. base[0..base_len) is the message's base name, for an empty P;
 * it goes through maildir_uidl_from_base() like any base-name UIDL. */
void maildir_dovecot_uidl(const struct maildir_dovecot_uidlist *list,
			  const struct maildir_dovecot_record *rec,
			  const char *base, size_t base_len,
			  char out[MAILDIR_UIDL_MAX + 1]);

#endif
