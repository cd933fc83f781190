/*
 * Stored message bytes -> the bytes POP3 sends (RFC 1939 §3).
 *
 * Stored mail may use LF or CRLF line ends. On the wire every line ends in
 * CRLF (a lone CR that is not followed by LF is sent unchanged), a line
 * starting with '.' gets another '.' in front (dot-stuffing), and a message
 * whose last line has no line end gets a CRLF so the terminating "." stands
 * on its own line. The POP3 size of a message is the number of octets RETR
 * sends before dot-stuffing: message_wire_size() computes exactly that, so
 * LIST and RETR always agree.
 *
 * For TOP, max_body_lines limits output to the header, the blank line and
 * that many body lines.
 */
#ifndef ROOST_MESSAGE_WIRE_H
#define ROOST_MESSAGE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "error.h"

#define MESSAGE_WIRE_ALL_LINES UINT64_MAX

struct message_wire {
	bool dot_stuff;
	uint64_t max_body_lines;
	/* private state */
	bool at_line_start;
	bool pending_cr;
	bool in_body;
	bool header_line_empty;
	uint64_t body_lines;
	bool done;
	bool any_output;
};

void message_wire_init(struct message_wire *w, bool dot_stuff,
		       uint64_t max_body_lines);
/* Converts in[0..len) and appends to out. Returns the number of input bytes
 * used: len, unless the TOP line limit was reached (then message_wire_done()
 * is true and the rest of the input is not wanted). */
size_t message_wire_convert(struct message_wire *w, const char *in, size_t len,
			    struct buffer *out);
/* The most bytes one conversion call can write for len input bytes: every
 * byte at most doubles (LF -> CRLF, a leading '.' -> ".."), plus a CR held
 * back from the previous chunk. */
#define MESSAGE_WIRE_OUTPUT_MAX(len) (2 * (size_t)(len) + 1)
/* The same into out, which must have room for MESSAGE_WIRE_OUTPUT_MAX(len)
 * bytes; *out_len_r is set to the bytes written. Lets a caller convert
 * straight into its output queue (stream_write_reserve()). */
size_t message_wire_convert_into(struct message_wire *w, const char *in,
				 size_t len, char *out, size_t *out_len_r);
bool message_wire_done(const struct message_wire *w);
/* At the end of the input: ends an unterminated last line with CRLF. */
void message_wire_finish(struct message_wire *w, struct buffer *out);

/* POP3 size of a whole message held in memory / read from fd to EOF. */
uint64_t message_wire_size(const char *data, size_t len);
int message_wire_size_fd(int fd, uint64_t *size_r, struct error *err);

#endif
