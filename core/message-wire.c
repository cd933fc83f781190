/* Stored message bytes -> POP3 wire bytes; see message-wire.h. */
#include "config.h"
#include "message-wire.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Read size for message_wire_size_fd(): large enough that a multi-megabyte
 * message costs few system calls, small enough for the stack. */
#define MESSAGE_WIRE_READ_SIZE 65536

void message_wire_init(struct message_wire *w, bool dot_stuff,
		       uint64_t max_body_lines)
{
	memset(w, 0, sizeof(*w));
	w->dot_stuff = dot_stuff;
	w->max_body_lines = max_body_lines;
	w->at_line_start = true;
	/* header_line_empty mirrors at_line_start while in the header; kept
	 * so the struct layout stays as published. */
	w->header_line_empty = true;
}

/* Output goes straight to memory the caller reserved (at most
 * MESSAGE_WIRE_OUTPUT_MAX bytes per call), so a line costs one memcpy and
 * no capacity check. */
struct wire_out {
	char *p;
};

static void wire_emit(struct message_wire *w, struct wire_out *out,
		      const char *data, size_t len)
{
	if (len == 0)
		return;
	memcpy(out->p, data, len);
	out->p += len;
	w->any_output = true;
}

/* A line end was written: decide whether the TOP limit is reached. The
 * first empty line ends the header; it is always sent, and a limit of N
 * then allows N more lines. */
static void wire_end_line(struct message_wire *w)
{
	bool empty = w->at_line_start;
	w->at_line_start = true;
	if (!w->in_body) {
		w->header_line_empty = true;
		if (empty) {
			w->in_body = true;
			w->body_lines = 0;
			if (w->max_body_lines == 0)
				w->done = true;
		}
		return;
	}
	if (w->max_body_lines == MESSAGE_WIRE_ALL_LINES)
		return;
	w->body_lines++;
	if (w->body_lines >= w->max_body_lines)
		w->done = true;
}

/* A content byte (anything but a line end) starts or continues a line. */
static void wire_line_content(struct message_wire *w)
{
	w->at_line_start = false;
	w->header_line_empty = false;
}

/* Index of the first CR or LF in in[from..len), or len. memchr() is
 * vectorised in glibc and RETR spends most of its CPU here; when the chunk
 * holds no CR at all (mail stored with LF, the usual case) one call per
 * line is enough. */
static size_t next_line_end(const char *in, size_t from, size_t len,
			    bool chunk_has_cr)
{
	const char *nl = memchr(in + from, '\n', len - from);
	size_t limit = nl != NULL ? (size_t)(nl - in) : len;
	if (!chunk_has_cr)
		return limit;
	const char *cr = memchr(in + from, '\r', limit - from);
	return cr != NULL ? (size_t)(cr - in) : limit;
}

static size_t wire_convert(struct message_wire *w, const char *in, size_t len,
			   struct wire_out *out)
{
	size_t i = 0;
	size_t span = 0;   /* start of plain bytes not yet copied to out */
	bool chunk_has_cr = len > 0 && memchr(in, '\r', len) != NULL;

	if (w->done)
		return 0;
	while (i < len) {
		char c = in[i];

		if (w->pending_cr) {
			/* The CR may have ended the previous chunk, so it is
			 * never part of a span: it is written here. */
			w->pending_cr = false;
			if (c == '\n') {
				wire_emit(w, out, "\r\n", 2);
				i++;
				span = i;
				wire_end_line(w);
				if (w->done)
					return i;
				continue;
			}
			wire_emit(w, out, "\r", 1);
			wire_line_content(w);
			/* c is looked at again below, now as a fresh byte */
		}
		if (c == '\r' || c == '\n') {
			wire_emit(w, out, in + span, i - span);
			i++;
			span = i;
			if (c == '\r') {
				w->pending_cr = true;
				continue;
			}
			wire_emit(w, out, "\r\n", 2);
			wire_end_line(w);
			if (w->done)
				return i;
			continue;
		}
		if (w->at_line_start && w->dot_stuff && c == '.') {
			wire_emit(w, out, in + span, i - span);
			wire_emit(w, out, ".", 1);
			span = i;
		}
		wire_line_content(w);
		/* Up to the next line end everything is plain content (a dot
		 * only matters at the start of a line): skip it at once. */
		i = next_line_end(in, i + 1, len, chunk_has_cr);
	}
	wire_emit(w, out, in + span, i - span);
	return len;
}

size_t message_wire_convert_into(struct message_wire *w, const char *in,
				 size_t len, char *out, size_t *out_len_r)
{
	struct wire_out o = { out };
	size_t used = wire_convert(w, in, len, &o);
	*out_len_r = (size_t)(o.p - out);
	return used;
}

size_t message_wire_convert(struct message_wire *w, const char *in, size_t len,
			    struct buffer *out)
{
	char *dest = buffer_append_space(out, MESSAGE_WIRE_OUTPUT_MAX(len));
	size_t written;
	size_t used = message_wire_convert_into(w, in, len, dest, &written);
	buffer_append_space_used(out, written);
	return used;
}

bool message_wire_done(const struct message_wire *w)
{
	return w->done;
}

void message_wire_finish(struct message_wire *w, struct buffer *out)
{
	if (w->done)
		return;
	/* At most a CR and a CRLF. */
	struct wire_out o = { buffer_append_space(out, 3) };
	char *start = o.p;
	if (w->pending_cr) {
		/* A CR at the very end is not followed by LF: it is content,
		 * and its line still needs a line end. */
		w->pending_cr = false;
		wire_emit(w, &o, "\r", 1);
		wire_line_content(w);
	}
	if (!w->at_line_start) {
		wire_emit(w, &o, "\r\n", 2);
		wire_end_line(w);
	}
	buffer_append_space_used(out, (size_t)(o.p - start));
	w->done = true;
}

/* The size is the input length plus one CR for every LF not already
 * preceded by CR, plus a CRLF when the last byte is not an LF. This only
 * needs the previous byte, so chunks can be counted independently. */
struct wire_counter {
	uint64_t size;
	char last;
	bool any;
};

static void wire_count(struct wire_counter *c, const char *data, size_t len)
{
	if (len == 0)
		return;
	char prev = c->any ? c->last : '\0';
	const char *p = data;
	const char *end = data + len;
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL)
			break;
		char before = lf == data ? prev : lf[-1];
		if (before != '\r')
			c->size++;
		p = lf + 1;
	}
	c->size += len;
	c->last = data[len - 1];
	c->any = true;
}

static uint64_t wire_count_finish(const struct wire_counter *c)
{
	return c->size + (c->any && c->last != '\n' ? 2 : 0);
}

uint64_t message_wire_size(const char *data, size_t len)
{
	struct wire_counter c = { 0, '\0', false };
	wire_count(&c, data, len);
	return wire_count_finish(&c);
}

int message_wire_size_fd(int fd, uint64_t *size_r, struct error *err)
{
	struct wire_counter c = { 0, '\0', false };
	char buf[MESSAGE_WIRE_READ_SIZE];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error_set_errno(err, "read() failed");
			return -1;
		}
		if (n == 0)
			break;
		wire_count(&c, buf, (size_t)n);
	}
	*size_r = wire_count_finish(&c);
	return 0;
}
