/* The mbox parser state machine; see mbox-parse.h for the format. */
#include "config.h"
#include "mbox-parse.h"

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

/* The message ends where the next separator starts (or the input ends).
 * A deferred empty line before it is mbox framing, except in content
 * mode, where the range given already excludes the framing. */
static void message_end(struct mbox_parser *p, uint64_t end_at)
{
	if (!p->in_message)
		return;
	if (p->content_mode)
		flush_blank(p);
	p->cur.content_end = p->pending_blank_len > 0 ?
		p->pending_blank_offset : end_at;
	p->pending_blank_len = 0;
	p->cur.end_offset = end_at;
	p->cur.size = p->content_len + p->lf_without_cr +
		(p->content_len > 0 && p->last_byte != '\n' ? 2 : 0);
	/* A held lone CR is content; a held line end is the final one. */
	if (p->hash_held_len == 1 && p->hash_held[0] == '\r')
		crypto_generichash_update(hash_state(p),
					  (const unsigned char *)p->hash_held, 1);
	crypto_generichash_final(hash_state(p), p->cur.hash, MBOX_HASH_BYTES);
	p->in_message = false;
	if (p->on_message != NULL)
		p->on_message(p->context, &p->cur);
}

static void next_line(struct mbox_parser *p, bool was_empty)
{
	p->prev_line_empty = was_empty;
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

/* The start of the line is known (the whole line when line_ended, else
 * MBOX_LINE_PREFIX_MAX bytes after the '>' run): decide what it is. */
static void classify(struct mbox_parser *p, bool line_ended)
{
	p->prefix_done = true;
	bool empty = line_ended && p->gt_count == 0 &&
		((p->prefix_len == 1 && p->prefix[0] == '\n') ||
		 (p->prefix_len == 2 && p->prefix[0] == '\r' &&
		  p->prefix[1] == '\n'));

	if (!p->content_mode && p->prev_line_empty && p->gt_count == 0 &&
	    prefix_is_from(p)) {
		message_end(p, p->line_start);
		message_start(p, p->line_start);
		if (line_ended) {
			p->cur.content_offset = p->offset;
			next_line(p, false);
		} else {
			p->in_from_line = true;
		}
		return;
	}
	if (p->in_message) {
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
		next_line(p, empty);
}

void mbox_parser_init(struct mbox_parser *p, mbox_message_callback *on_message,
		      void *context)
{
	memset(p, 0, offsetof(struct mbox_parser, hash_space));
	p->on_message = on_message;
	p->context = context;
	p->prev_line_empty = true;   /* the start of the file */
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
			if (lf != NULL) {
				p->in_from_line = false;
				p->cur.content_offset = p->offset;
				next_line(p, false);
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
		/* The rest of a long line: content as it is. */
		const char *lf = memchr(at, '\n', avail);
		size_t n = lf == NULL ? avail : (size_t)(lf - at) + 1;
		emit(p, at, n);
		i += n;
		p->offset += n;
		if (lf != NULL)
			next_line(p, false);
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
