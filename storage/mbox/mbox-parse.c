/* The mbox parser state machine; see mbox-parse.h for the format. */
#include "config.h"
#include "mbox-parse.h"
#include "mbox-dovecot.h"

/* BLAKE2b works without sodium_init() (which only picks faster code,
 * done by the module's init()). */
#include <sodium.h>
#include <string.h>
#include <strings.h>

#define FROM_SEP "From "
#define FROM_SEP_LEN 5
#define X_UIDL_NAME "X-UIDL:"
#define X_UIDL_NAME_LEN 7

static crypto_generichash_state *hash_state(struct mbox_parser *p)
{
	uintptr_t at = (uintptr_t)p->hash_space;
	at = (at + 63) & ~(uintptr_t)63;
	return (crypto_generichash_state *)at;
}

static void message_start(struct mbox_parser *p, uint64_t from_offset)
{
	memset(&p->cur, 0, sizeof(p->cur));
	p->cur.from_offset = from_offset;
	p->cur.content_offset = from_offset;
	p->in_message = true;
	p->in_header = true;
	p->lf_without_cr = 0;
	p->content_len = 0;
	p->last_byte = '\0';
	p->hash_held_len = 0;
	p->pending_blank_len = 0;
	p->line_hidden = false;
	p->hiding_field = false;
	p->base_in_msg = false;
	p->after_from_line = true;
	p->last_line_end = 0;
	p->last_line_hidden = false;
	crypto_generichash_init(hash_state(p), NULL, 0, MBOX_HASH_BYTES);
}

/* Content bytes of the current message: digest, POP3 size, and in content
 * mode the caller. The size rule is message_wire_size()'s: one more octet
 * for each LF not preceded by CR, and a CRLF after an unterminated last
 * line (added at the end). */
/* Length of the line-end suffix of s[0..len) ("\r\n", "\n", or a "\r"
 * that may yet be followed by "\n"). */
static size_t line_end_suffix(const char *s, size_t len)
{
	if (len >= 2 && s[len - 2] == '\r' && s[len - 1] == '\n')
		return 2;
	if (len >= 1 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		return 1;
	return 0;
}

/* Digests content, holding back a trailing line end until more content
 * shows it was not the final one. */
static void hash_content(struct mbox_parser *p, const char *data, size_t len)
{
	crypto_generichash_state *h = hash_state(p);
	if (len < 2) {
		/* The suffix may span held bytes and data: combine them. */
		char comb[3];
		size_t n = p->hash_held_len;
		memcpy(comb, p->hash_held, n);
		memcpy(comb + n, data, len);
		n += len;
		size_t keep = line_end_suffix(comb, n);
		crypto_generichash_update(h, (const unsigned char *)comb, n - keep);
		memcpy(p->hash_held, comb + n - keep, keep);
		p->hash_held_len = keep;
		return;
	}
	crypto_generichash_update(h, (const unsigned char *)p->hash_held,
				  p->hash_held_len);
	size_t keep = line_end_suffix(data, len);
	crypto_generichash_update(h, (const unsigned char *)data, len - keep);
	memcpy(p->hash_held, data + len - keep, keep);
	p->hash_held_len = keep;
}

static void emit(struct mbox_parser *p, const char *data, size_t len)
{
	if (!p->in_message || len == 0)
		return;
	hash_content(p, data, len);
	const char *s = data, *end = data + len;
	while (s < end) {
		const char *lf = memchr(s, '\n', (size_t)(end - s));
		if (lf == NULL)
			break;
		char before = lf == data ? p->last_byte : lf[-1];
		if (before != '\r')
			p->lf_without_cr++;
		s = lf + 1;
	}
	p->content_len += len;
	p->last_byte = data[len - 1];
	if (p->on_content != NULL)
		p->on_content(p->context, data, len);
}

static void emit_gts(struct mbox_parser *p, uint64_t count)
{
	static const char gts[] = ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>";
	while (count > 0) {
		size_t n = count < sizeof(gts) - 1 ? (size_t)count :
			sizeof(gts) - 1;
		emit(p, gts, n);
		count -= n;
	}
}

static void flush_blank(struct mbox_parser *p)
{
	if (p->pending_blank_len == 0)
		return;
	size_t n = p->pending_blank_len;
	p->pending_blank_len = 0;
	emit(p, p->pending_blank, n);
}

/* Dovecot mode: the line end before a separator, and the last one of
 * the file, is framing. It was counted as content (only now is it known
 * to be framing); take it back, unless it ended a hidden line, which
 * was not counted. Everything else is content, digested whole. */
static void dovecot_message_end(struct mbox_parser *p, uint64_t end_at)
{
	p->cur.content_end = end_at;
	if (!p->content_mode && !p->after_from_line && p->last_line_end > 0) {
		p->cur.content_end = end_at - p->last_line_end;
		if (!p->last_line_hidden) {
			p->content_len -= p->last_line_end;
			if (p->last_line_end == 1)
				p->lf_without_cr--;
			p->hash_held_len = 0;   /* the held bytes are that line end */
		}
	}
	crypto_generichash_update(hash_state(p),
				  (const unsigned char *)p->hash_held,
				  p->hash_held_len);
	/* Dovecot does not count the CRLF that ends an unterminated last
	 * line on the wire. */
	p->cur.size = p->content_len + p->lf_without_cr;
	if (p->content_mode)
		return;
	if (p->cur.uid == 0 && !p->cur.pseudo && p->dc_marked &&
	    p->dc_prev_uid <= p->dc_uid_last) {
		/* Dovecot gives a message without a valid X-UID a new UID
		 * above the last one, so no later X-UID is valid. */
		p->dc_prev_uid = (uint64_t)p->dc_uid_last + 1;
	}
	if (p->msg_index == 0)
		p->first_header_done = true;
	p->msg_index++;
}

/* The message ends where the next separator starts (or the input ends).
 * A deferred empty line before it is mbox framing, except in content
 * mode, where the range given already excludes the framing. */
static void message_end(struct mbox_parser *p, uint64_t end_at)
{
	if (!p->in_message)
		return;
	if (p->dovecot) {
		dovecot_message_end(p, end_at);
	} else {
		if (p->content_mode)
			flush_blank(p);
		p->cur.content_end = p->pending_blank_len > 0 ?
			p->pending_blank_offset : end_at;
		p->pending_blank_len = 0;
		p->cur.size = p->content_len + p->lf_without_cr +
			(p->content_len > 0 && p->last_byte != '\n' ? 2 : 0);
		/* A held lone CR is content; a held line end is the final
		 * one. */
		if (p->hash_held_len == 1 && p->hash_held[0] == '\r')
			crypto_generichash_update(hash_state(p),
					(const unsigned char *)p->hash_held, 1);
	}
	p->cur.end_offset = end_at;
	crypto_generichash_final(hash_state(p), p->cur.hash, MBOX_HASH_BYTES);
	p->in_message = false;
	if (p->on_message != NULL)
		p->on_message(p->context, &p->cur);
}

/* le: length of the line end of the line that just ended (0 for an
 * unterminated last line); from_line: it was a message's From_ line. */
static void next_line(struct mbox_parser *p, bool was_empty, size_t le,
		      bool from_line)
{
	p->prev_line_empty = was_empty;
	p->after_from_line = from_line;
	p->last_line_end = (uint8_t)le;
	p->last_line_hidden = p->line_hidden;
	p->line_hidden = false;
	p->line_start = p->offset;
	p->prefix_len = 0;
	p->gt_count = 0;
	p->prefix_done = false;
}

static void check_x_uidl(struct mbox_parser *p)
{
	if (p->cur.x_uidl[0] != '\0' || p->prefix_len < X_UIDL_NAME_LEN ||
	    strncasecmp(p->prefix, X_UIDL_NAME, X_UIDL_NAME_LEN) != 0)
		return;
	size_t start = X_UIDL_NAME_LEN, end = p->prefix_len;
	while (start < end && (p->prefix[start] == ' ' ||
			       p->prefix[start] == '\t'))
		start++;
	while (end > start && (p->prefix[end - 1] == '\n' ||
			       p->prefix[end - 1] == '\r' ||
			       p->prefix[end - 1] == ' ' ||
			       p->prefix[end - 1] == '\t'))
		end--;
	if (!storage_uidl_is_valid(p->prefix + start, end - start))
		return;
	memcpy(p->cur.x_uidl, p->prefix + start, end - start);
	p->cur.x_uidl[end - start] = '\0';
}

static bool prefix_is_from(const struct mbox_parser *p)
{
	return p->prefix_len >= FROM_SEP_LEN &&
		memcmp(p->prefix, FROM_SEP, FROM_SEP_LEN) == 0;
}

/* The line end at the end of the prefix (a whole line). */
static size_t prefix_line_end(const struct mbox_parser *p)
{
	if (p->prefix_len == 0 || p->prefix[p->prefix_len - 1] != '\n')
		return 0;
	return p->prefix_len >= 2 && p->prefix[p->prefix_len - 2] == '\r' ?
		2 : 1;
}

static bool is_separator(const struct mbox_parser *p)
{
	if (p->content_mode || p->gt_count > 0 || !prefix_is_from(p))
		return false;
	if (!p->dovecot)
		return p->prev_line_empty;
	/* A From_ line right after another is content to Dovecot: its
	 * separator search starts after the line end of the first. */
	return !p->after_from_line &&
		mbox_dovecot_from_valid(p->prefix + FROM_SEP_LEN,
					p->prefix_len - FROM_SEP_LEN);
}

/* A header Dovecot keeps for itself: the first message's X-IMAPbase (or
 * the pseudo-message's X-IMAP) and each message's X-UID. */
static void dovecot_field(struct mbox_parser *p, enum mbox_dovecot_header kind,
			  const char *value, size_t len)
{
	if (p->content_mode)
		return;
	if (kind == MBOX_DOVECOT_HDR_X_IMAPBASE || kind == MBOX_DOVECOT_HDR_X_IMAP) {
		uint32_t uidvalidity, uid_last;
		if (p->msg_index != 0 || p->base_in_msg ||
		    !mbox_dovecot_parse_base(value, len, &uidvalidity, &uid_last))
			return;
		p->base_in_msg = true;
		p->dc_marked = true;
		p->dc_uidvalidity = uidvalidity;
		p->dc_uid_last = uid_last;
		p->dc_prev_uid = 0;
		p->cur.pseudo = kind == MBOX_DOVECOT_HDR_X_IMAP;
	} else if (kind == MBOX_DOVECOT_HDR_X_UID) {
		uint32_t uid;
		/* in the first message only after X-IMAPbase, as Dovecot;
		 * never above the last UID Dovecot gave out: a larger one
		 * came with new mail, and Dovecot would not use it either */
		if (p->cur.uid != 0 || !p->dc_marked ||
		    (p->msg_index == 0 && !p->base_in_msg) ||
		    !mbox_dovecot_parse_uid(value, len, &uid) ||
		    uid <= p->dc_prev_uid || uid > p->dc_uid_last)
			return;
		p->cur.uid = uid;
		p->dc_prev_uid = uid;
	}
}

/* Dovecot mode: everything is content except the hidden headers. */
static void dovecot_line(struct mbox_parser *p, bool line_ended, bool empty)
{
	p->line_hidden = false;
	if (p->in_header) {
		if (empty) {
			p->in_header = false;
			if (p->msg_index == 0 && !p->content_mode)
				p->first_header_done = true;
		} else if (p->gt_count == 0 && (p->prefix[0] == ' ' ||
						p->prefix[0] == '\t')) {
			p->line_hidden = p->hiding_field;
		} else {
			size_t v = 0;
			enum mbox_dovecot_header kind = p->gt_count > 0 ?
				MBOX_DOVECOT_HDR_NONE :
				mbox_dovecot_header_kind(p->prefix, p->prefix_len, &v);
			p->hiding_field = kind != MBOX_DOVECOT_HDR_NONE;
			p->line_hidden = p->hiding_field;
			if (kind != MBOX_DOVECOT_HDR_NONE)
				dovecot_field(p, kind, p->prefix + v,
					      p->prefix_len - v);
			else if (p->gt_count == 0 && line_ended)
				check_x_uidl(p);
		}
	}
	if (!p->line_hidden) {
		emit_gts(p, p->gt_count);
		emit(p, p->prefix, p->prefix_len);
	}
}

/* The start of the line is known (the whole line when line_ended, else
 * MBOX_LINE_PREFIX_MAX bytes after the '>' run): decide what it is. */
static void classify(struct mbox_parser *p, bool line_ended)
{
	p->prefix_done = true;
	if (!line_ended)
		p->raw_last = p->prefix[p->prefix_len - 1];
	bool empty = line_ended && p->gt_count == 0 &&
		((p->prefix_len == 1 && p->prefix[0] == '\n') ||
		 (p->prefix_len == 2 && p->prefix[0] == '\r' &&
		  p->prefix[1] == '\n'));

	if (is_separator(p)) {
		message_end(p, p->line_start);
		message_start(p, p->line_start);
		if (line_ended) {
			p->cur.content_offset = p->offset;
			next_line(p, false, prefix_line_end(p), true);
		} else {
			p->in_from_line = true;
		}
		return;
	}
	if (p->in_message && p->dovecot) {
		dovecot_line(p, line_ended, empty);
	} else if (p->in_message) {
		flush_blank(p);
		if (empty) {
			p->in_header = false;
			memcpy(p->pending_blank, p->prefix, p->prefix_len);
			p->pending_blank_len = p->prefix_len;
			p->pending_blank_offset = p->line_start;
		} else {
			if (p->in_header && p->gt_count == 0 && line_ended)
				check_x_uidl(p);
			bool quoted = p->gt_count > 0 && prefix_is_from(p);
			emit_gts(p, p->gt_count - (quoted ? 1 : 0));
			emit(p, p->prefix, p->prefix_len);
		}
	}
	if (line_ended)
		next_line(p, empty, prefix_line_end(p), false);
}

void mbox_parser_init(struct mbox_parser *p, mbox_message_callback *on_message,
		      void *context)
{
	memset(p, 0, offsetof(struct mbox_parser, hash_space));
	p->on_message = on_message;
	p->context = context;
	p->prev_line_empty = true;   /* the start of the file */
}

void mbox_parser_set_dovecot(struct mbox_parser *p)
{
	p->dovecot = true;
}

bool mbox_parser_first_header_done(const struct mbox_parser *p)
{
	return p->first_header_done;
}

bool mbox_parser_dovecot_base(const struct mbox_parser *p,
			      uint32_t *uidvalidity_r, uint32_t *uid_last_r)
{
	*uidvalidity_r = p->dc_uidvalidity;
	*uid_last_r = p->dc_uid_last;
	return p->dc_marked;
}

void mbox_parser_resume_point(const struct mbox_parser *p,
			      struct mbox_parser_resume *r)
{
	r->offset = p->cur.end_offset;
	r->msg_index = p->msg_index;
	r->dc_prev_uid = p->dc_prev_uid;
}

void mbox_parser_init_resume(struct mbox_parser *p,
			     const struct mbox_parser_resume *r, bool dovecot,
			     uint32_t uidvalidity, uint32_t uid_last,
			     mbox_message_callback *on_message, void *context)
{
	mbox_parser_init(p, on_message, context);
	p->offset = r->offset;
	p->line_start = r->offset;
	if (!dovecot)
		return;
	p->dovecot = true;
	p->msg_index = r->msg_index;
	p->dc_prev_uid = r->dc_prev_uid;
	/* the base is only ever read from the first message's header */
	p->first_header_done = r->msg_index > 0;
	p->dc_marked = true;
	p->dc_uidvalidity = uidvalidity;
	p->dc_uid_last = uid_last;
}

void mbox_parser_init_content(struct mbox_parser *p, uint64_t offset,
			      mbox_content_callback *on_content,
			      mbox_message_callback *on_message, void *context)
{
	mbox_parser_init(p, on_message, context);
	p->on_content = on_content;
	p->content_mode = true;
	p->prev_line_empty = false;
	p->offset = offset;
	p->line_start = offset;
	message_start(p, offset);
}

void mbox_parser_feed(struct mbox_parser *p, const void *data, size_t len)
{
	const char *in = data;
	size_t i = 0;

	while (i < len) {
		const char *at = in + i;
		size_t avail = len - i;
		if (p->in_from_line) {
			const char *lf = memchr(at, '\n', avail);
			size_t n = lf == NULL ? avail : (size_t)(lf - at) + 1;
			i += n;
			p->offset += n;
			char before_lf = n >= 2 ? at[n - 2] : p->raw_last;
			p->raw_last = at[n - 1];
			if (lf != NULL) {
				size_t le = before_lf == '\r' ? 2 : 1;
				p->in_from_line = false;
				p->cur.content_offset = p->offset;
				next_line(p, false, le, true);
			}
			continue;
		}
		if (!p->prefix_done) {
			if (p->prefix_len == 0 && *at == '>') {
				p->gt_count++;
				i++;
				p->offset++;
				continue;
			}
			size_t room = MBOX_LINE_PREFIX_MAX - p->prefix_len;
			size_t look = avail < room ? avail : room;
			const char *lf = memchr(at, '\n', look);
			size_t n = lf == NULL ? look : (size_t)(lf - at) + 1;
			memcpy(p->prefix + p->prefix_len, at, n);
			p->prefix_len += n;
			i += n;
			p->offset += n;
			if (lf != NULL)
				classify(p, true);
			else if (p->prefix_len == MBOX_LINE_PREFIX_MAX)
				classify(p, false);
			continue;
		}
		/* The rest of a long line: content as it is (or, in Dovecot
		 * mode, hidden with the line's start). */
		const char *lf = memchr(at, '\n', avail);
		size_t n = lf == NULL ? avail : (size_t)(lf - at) + 1;
		if (!p->line_hidden)
			emit(p, at, n);
		char before_lf = n >= 2 ? at[n - 2] : p->raw_last;
		p->raw_last = at[n - 1];
		i += n;
		p->offset += n;
		if (lf != NULL)
			next_line(p, false, before_lf == '\r' ? 2 : 1, false);
	}
}

void mbox_parser_finish(struct mbox_parser *p)
{
	if (p->in_from_line) {
		p->in_from_line = false;
		p->cur.content_offset = p->offset;
	} else if (!p->prefix_done && (p->prefix_len > 0 || p->gt_count > 0)) {
		/* A last line without a line end. */
		classify(p, true);
	}
	message_end(p, p->offset);
}
