/*
 * mbox parsing (RFC 4155) as a streaming state machine over bytes: pure
 * code, no I/O, so the storage module, the unit tests and the fuzzer all
 * drive the same thing. Feed the file in chunks of any size; the result
 * does not depend on where the chunks are cut.
 *
 * The format as read here:
 *  - A message starts with a "From " line at the start of the file or
 *    right after an empty line ("\n" or "\r\n"). That line is not part of
 *    the message. Bytes before the first such line (not an mbox writer's
 *    output, but seen after crashes of other software) are a preamble that
 *    belongs to no message and is kept as it is on rewrite.
 *  - The one empty line before the next separator (or before the end of
 *    the file) is mbox framing, not content. A message without that blank
 *    line and a last line without a newline are read as they are.
 *  - mboxrd quoting: a line matching ^>+From  loses one '>' (this also
 *    undoes mboxo's ">From ", which is the one-'>' case).
 *  - LF and CRLF line ends, 8-bit and NUL bytes pass through untouched.
 *
 * Dovecot mode (mbox_parser_set_dovecot(), for mailboxes that carry
 * Dovecot's metadata) reads the file as Dovecot 2.3 does instead, so that
 * sizes, contents and digests are Dovecot's (see mbox-dovecot.h): a
 * separator is a valid From_ line after any line, the line end before it
 * and the last one of the file are framing, nothing is unquoted, Dovecot's
 * own headers are hidden, and an unterminated last line is not counted
 * with the CRLF that RETR adds (so LIST is 2 less than what RETR sends,
 * as with Dovecot). It also reports the first message's X-IMAPbase (or
 * X-IMAP: the pseudo-message, flagged so that it can be hidden) and each
 * message's X-UID where Dovecot would accept it: digits, strictly greater
 * than the previous accepted one, at most X-IMAPbase's last UID, in the
 * first message only after X-IMAPbase, and none after a message that had
 * no valid X-UID (Dovecot would have given that one a new, higher UID).
 *
 * For each message the parser reports its offsets, its POP3 size (what
 * message_wire_size() gives for the unquoted content), a BLAKE2b digest
 * of the unquoted content without its final line end ("\n" or "\r\n"),
 * and the value of its first X-UIDL header when that is a valid UIDL.
 * The final line end is left out because an MDA that appends after a
 * message lacking one adds it: the message keeps its digest (and so its
 * UIDL, and its POP3 size is the same anyway).
 *
 * Content mode (mbox_parser_init_content) reads the raw bytes of one
 * message's content range (content_offset..content_end), as the message
 * reader does: no separators are looked for, and the unquoted bytes go to
 * on_content; at mbox_parser_finish() the same struct mbox_message (size,
 * digest) is reported, so the caller can check that what it sent is what
 * the snapshot listed.
 */
#ifndef ROOST_MBOX_PARSE_H
#define ROOST_MBOX_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"

/* 128-bit digest: collisions between different messages of one mailbox
 * are out of reach, and 32 hex digits keep the UIDL well under 70. */
#define MBOX_HASH_BYTES 16
#define MBOX_UIDL_MAX STORAGE_UIDL_MAX
/* How much of a line's start (after a run of '>') is looked at: enough
 * for "X-UIDL:", some blanks and a 70-octet value plus the line end (a
 * longer X-UIDL line is not a valid UIDL anyway), and for a From_ line
 * with a long sender address (Dovecot mode checks its date). */
#define MBOX_LINE_PREFIX_MAX 512

struct mbox_message {
	uint64_t from_offset;     /* the "From " line (content mode: start) */
	uint64_t content_offset;  /* first byte after the From_ line */
	uint64_t content_end;     /* end of content (framing excluded) */
	uint64_t end_offset;      /* next separator or end of input */
	uint64_t size;            /* POP3 size of the unquoted content */
	unsigned char hash[MBOX_HASH_BYTES];
	char x_uidl[MBOX_UIDL_MAX + 1];   /* "" when none or invalid */
	/* Dovecot mode only: */
	uint32_t uid;             /* the valid X-UID, 0 when none */
	bool pseudo;              /* the FOLDER INTERNAL DATA message */
};

typedef void mbox_message_callback(void *context,
				   const struct mbox_message *msg);
typedef void mbox_content_callback(void *context, const char *data,
				   size_t len);

struct mbox_parser {
	/* private state */
	mbox_message_callback *on_message;
	mbox_content_callback *on_content;
	void *context;
	bool content_mode;
	uint64_t offset;          /* absolute offset of the next input byte */
	uint64_t line_start;
	bool in_message;
	bool in_header;
	bool in_from_line;        /* skipping the rest of a From_ line */
	bool prev_line_empty;     /* also true at the start of the file */
	bool prefix_done;         /* the line's start has been classified */
	uint64_t gt_count;        /* leading '>' of the current line */
	size_t prefix_len;
	char prefix[MBOX_LINE_PREFIX_MAX];
	char pending_blank[2];    /* a deferred empty line ("\n" / "\r\n") */
	size_t pending_blank_len;
	uint64_t pending_blank_offset;
	struct mbox_message cur;
	uint64_t lf_without_cr;
	uint64_t content_len;
	char last_byte;
	char hash_held[2];        /* a trailing line end, not yet digested */
	size_t hash_held_len;
	bool dovecot;             /* Dovecot mode */
	bool after_from_line;     /* the previous line was a From_ line */
	uint8_t last_line_end;    /* line end length of the previous line */
	bool last_line_hidden;    /* the previous line was not content */
	bool line_hidden;         /* the current line is not content */
	bool hiding_field;        /* continuation lines are hidden too */
	char raw_last;            /* last byte read of the current line */
	bool base_in_msg;         /* X-IMAPbase seen in this message */
	bool first_header_done;
	uint64_t msg_index;
	bool dc_marked;
	uint32_t dc_uidvalidity;
	uint32_t dc_uid_last;
	uint64_t dc_prev_uid;
	/* crypto_generichash_state wants 64-byte alignment, which no pool
	 * or malloc promises: the state lives at an aligned spot inside. */
	unsigned char hash_space[384 + 64];
};

void mbox_parser_init(struct mbox_parser *p, mbox_message_callback *on_message,
		      void *context);
/* Content mode; offset is where the fed bytes start in the file. */
void mbox_parser_init_content(struct mbox_parser *p, uint64_t offset,
			      mbox_content_callback *on_content,
			      mbox_message_callback *on_message, void *context);
void mbox_parser_feed(struct mbox_parser *p, const void *data, size_t len);
/* End of input: reports the last message. */
void mbox_parser_finish(struct mbox_parser *p);

/* Where a later parse can start instead of at the start of the file: a
 * message's From_ line, with what the parser carries from one message to
 * the next (only Dovecot mode carries anything: the message count and the
 * last accepted X-UID). Parsing [offset, end) from such a point reports
 * exactly what a parse of the whole file reports from that message on, as
 * long as the bytes before offset are the same. */
struct mbox_parser_resume {
	uint64_t offset;
	uint64_t msg_index;
	uint64_t dc_prev_uid;
};

/* In on_message: the resume point of the message after the one being
 * reported (at its end_offset). */
void mbox_parser_resume_point(const struct mbox_parser *p,
			      struct mbox_parser_resume *r);
/* Starts a parser at a resume point; dovecot: the mode of the earlier
 * parse, with the base it reported (mbox_parser_dovecot_base()). */
void mbox_parser_init_resume(struct mbox_parser *p,
			     const struct mbox_parser_resume *r, bool dovecot,
			     uint32_t uidvalidity, uint32_t uid_last,
			     mbox_message_callback *on_message, void *context);

/* Switches a freshly initialised parser (either mode) to Dovecot mode. */
void mbox_parser_set_dovecot(struct mbox_parser *p);
/* Dovecot mode: true once the first message's header has been read (or
 * the input ended): from then on mbox_parser_dovecot_base() is final. */
bool mbox_parser_first_header_done(const struct mbox_parser *p);
/* True when the first message carried a valid X-IMAPbase or X-IMAP;
 * then fills in its UIDVALIDITY and last UID. */
bool mbox_parser_dovecot_base(const struct mbox_parser *p,
			      uint32_t *uidvalidity_r, uint32_t *uid_last_r);


#endif
