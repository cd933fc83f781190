/*
 * Read-only use of Courier's "<maildir>/courierpop3dsizelist", so that a
 * maildir moved from Courier's POP3 server (courier-imap 0.43 and later)
 * keeps the UIDLs its clients know.
 *
 * The file, as Courier's pop3dserver.c writes it (courier-libs,
 * imap/pop3dserver.c: savepop3dlist() and readpop3dlist()):
 *   "/<version> <next uid> <uidvalidity>\n"      version 3 (or 2)
 *   "<file name> <size> <uid>:<uidvalidity>:<utf8 flag>\n"   version 3
 *   "<file name> <size> <uid>:<uidvalidity>\n"                version 2
 * The file name is the one in cur/, with its ":2,<flags>" part; only the
 * base name (up to the first ':') identifies the message. It may contain
 * spaces: the last two spaces of a line separate the fields.
 *
 * Courier answers UIDL with "UID<uid>-<uidvalidity>" ("UID<uid>" when
 * the record's UIDVALIDITY is 0), each record carrying its own
 * UIDVALIDITY. A record with UID 0 means the base name (Courier's
 * pre-0.43 UIDL), which is Roost's base-name UIDL for ordinary names.
 * Courier's size (LF->CRLF, no CRLF added after an unterminated last
 * line) is not used: Roost computes sizes itself, since Courier counts a
 * CR of a CRLF-stored file twice.
 *
 * Courier itself silently skips lines it cannot parse and ignores a file
 * whose header is not version 2 or 3. Here every damaged line is reported
 * through a callback with its line number and skipped; an unusable header
 * makes the whole file unusable (NULL), as in Courier. Pure code: parsing
 * works on a buffer.
 */
#ifndef ROOST_MAILDIR_COURIER_SIZELIST_H
#define ROOST_MAILDIR_COURIER_SIZELIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool.h"
#include "maildir-name.h"

#define MAILDIR_COURIER_SIZELIST_NAME "courierpop3dsizelist"

struct maildir_courier_record {
	uint64_t uid;           /* 0: the base-name UIDL */
	uint64_t uidvalidity;   /* 0: "UID<uid>" without the suffix */
};

struct maildir_courier_sizelist;

/* Called for each damaged line (1-based) with a short reason. */
typedef void maildir_courier_warn_fn(void *context, unsigned line,
				     const char *why);

/* Parses buf[0..len). Returns NULL (after a warning for line 1) when the
 * header is missing or of an unknown version; otherwise the records that
 * parsed. */
struct maildir_courier_sizelist *
maildir_courier_sizelist_parse(pool_t *pool, const char *buf, size_t len,
			       maildir_courier_warn_fn *warn, void *context);

unsigned maildir_courier_sizelist_count(
	const struct maildir_courier_sizelist *list);

/* The record for base name base[0..len), or NULL. */
const struct maildir_courier_record *
maildir_courier_sizelist_lookup(const struct maildir_courier_sizelist *list,
				const char *base, size_t len);

/* Writes the UIDL Courier gives rec to out; base[0..base_len) is the
 * message's base name, for a record with UID 0. */
void maildir_courier_uidl(const struct maildir_courier_record *rec,
			  const char *base, size_t base_len,
			  char out[MAILDIR_UIDL_MAX + 1]);

#endif
