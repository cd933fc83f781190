/*
 * Dovecot's mbox metadata, as Dovecot 2.3 writes and reads it (checked
 * against a running dovecot 2.3.19): pure functions over single lines,
 * used by the parser (mbox-parse.c) and the commit (mbox-commit.c).
 *
 * On its first sync Dovecot rewrites an mbox: the first message's header
 * gets "X-IMAPbase: <uidvalidity> <last uid, 10 digits>", every message
 * "X-UID: <uid>" (padded with spaces), and "Status:"/"X-Status:" carry
 * flags. A mailbox whose messages were all deleted starts with a
 * "FOLDER INTERNAL DATA" pseudo-message carrying "X-IMAP:" instead of
 * X-IMAPbase; it is never shown to clients.
 *
 * How Dovecot reads such a file (and so how Roost reads a mailbox that
 * has this metadata; see mbox-parse.h):
 *  - a message starts at a "From " line whose rest is a valid From_ line
 *    (sender, then an asctime()-like date: mbox_dovecot_from_valid());
 *    no empty line is needed before it, and the line end before it
 *    ("\n" or "\r\n") belongs to the separator, as does the very last
 *    line end of the file;
 *  - ">From " lines are sent as they are (no mboxrd unquoting);
 *  - the headers Content-Length, Status, X-IMAP, X-IMAPbase, X-Keywords,
 *    X-Status and X-UID (with their continuation lines) are hidden from
 *    clients and not counted in sizes;
 *  - a message's size is its CRLF size; a message whose last line has no
 *    line end is not counted with the CRLF that RETR then adds.
 */
#ifndef ROOST_MBOX_DOVECOT_H
#define ROOST_MBOX_DOVECOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum mbox_dovecot_header {
	MBOX_DOVECOT_HDR_NONE = 0,   /* shown to clients */
	MBOX_DOVECOT_HDR_HIDDEN,     /* hidden, value not used */
	MBOX_DOVECOT_HDR_X_IMAPBASE,
	MBOX_DOVECOT_HDR_X_IMAP,
	MBOX_DOVECOT_HDR_X_UID,
};

/* The pseudo-message is about 600 octets plus twice the host name (at
 * most 255 octets each). */
#define MBOX_DOVECOT_PSEUDO_MAX 2048

/* line[0..len) is what follows "From " (its line end may be included).
 * True when Dovecot would take it as a message separator. */
bool mbox_dovecot_from_valid(const char *line, size_t len);

/* Classifies a header line (not a continuation line) line[0..len); for
 * the hidden headers, *value_r is where the value starts (after the
 * colon and blanks). */
enum mbox_dovecot_header mbox_dovecot_header_kind(const char *line, size_t len,
						  size_t *value_r);

/* Parses an X-IMAPbase / X-IMAP value "<uidvalidity> <last uid> ...".
 * False when Dovecot would ignore it (no digits, UIDVALIDITY 0, numbers
 * out of range, junk). */
bool mbox_dovecot_parse_base(const char *value, size_t len,
			     uint32_t *uidvalidity_r, uint32_t *uid_last_r);

/* Parses an X-UID value: digits, then only blanks and line ends. */
bool mbox_dovecot_parse_uid(const char *value, size_t len, uint32_t *uid_r);

/* Writes the pseudo-message (From_ line, header with "X-IMAP:
 * <uidvalidity> <uid_last>", body, and the empty line that separates it
 * from the next message) in the form Dovecot writes when every message
 * is deleted. The commit puts it first when it deletes the message that
 * carried X-IMAPbase (Dovecot would move the header to the next message,
 * which means rewriting a message; Dovecot reads either form). Returns
 * its length. */
size_t mbox_dovecot_pseudo(char buf[MBOX_DOVECOT_PSEUDO_MAX], time_t now,
			   const char *hostname, uint32_t uidvalidity,
			   uint32_t uid_last);

#endif
