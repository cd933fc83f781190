/*
 * Fuzzes the stored-message -> POP3 wire conversion (core/message-wire.c):
 * message bodies are written by whoever sends mail to a user.
 *
 * Input layout: byte 0 = flags (bit 0: TOP with the line limit in byte 1),
 * byte 1 = TOP's body line limit and also picks where the message is cut
 * into two chunks (byte 1 * 257 mod (message length + 1)), the rest = the
 * stored message. Each conversion runs in two chunks.
 *
 * Invariants:
 *  - without dot-stuffing, the whole output is message_wire_size() octets,
 *    and message_wire_size_fd() on the same bytes agrees;
 *  - the output has no bare LF (every LF follows a CR) and, when not
 *    empty, ends in CRLF;
 *  - with dot-stuffing, every output line starting with '.' starts with
 *    "..", so no line is a lone "." that would end the response early, and
 *    removing one leading dot from those lines gives the unstuffed output
 *    back;
 *  - chunked output equals one-shot output;
 *  - TOP output is a prefix of the full output, ending at a line end;
 *  - one call writes at most MESSAGE_WIRE_OUTPUT_MAX(input) octets, the
 *    room RETR reserves in the output queue.
 */
#define _GNU_SOURCE 1
#include "config.h"
#include "message-wire.h"

#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-common.h"

static void convert(const char *msg, size_t len, size_t cut, bool dot_stuff,
		    uint64_t max_lines, struct buffer *out)
{
	struct message_wire w;
	message_wire_init(&w, dot_stuff, max_lines);
	size_t before = out->len;
	size_t used = message_wire_convert(&w, msg, cut, out);
	FUZZ_CHECK(used <= cut, "convert used %zu of %zu bytes", used, cut);
	FUZZ_CHECK(out->len - before <= MESSAGE_WIRE_OUTPUT_MAX(cut),
		   "%zu bytes out of %zu in", out->len - before, cut);
	if (used < cut)
		FUZZ_CHECK(message_wire_done(&w), "short count but not done");
	if (!message_wire_done(&w)) {
		FUZZ_CHECK(used == cut, "not done but input left over");
		before = out->len;
		used = message_wire_convert(&w, msg + cut, len - cut, out);
		FUZZ_CHECK(used <= len - cut, "convert used too much");
		FUZZ_CHECK(out->len - before <= MESSAGE_WIRE_OUTPUT_MAX(len - cut),
			   "%zu bytes out of %zu in", out->len - before, len - cut);
		if (used < len - cut)
			FUZZ_CHECK(message_wire_done(&w), "short count but not done");
	} else {
		FUZZ_CHECK(max_lines != MESSAGE_WIRE_ALL_LINES,
			   "done early without a TOP limit");
		FUZZ_CHECK(message_wire_convert(&w, msg + cut, len - cut, out) == 0,
			   "convert after done used input");
	}
	message_wire_finish(&w, out);
	FUZZ_CHECK(message_wire_done(&w), "not done after finish");
}

static void check_crlf(const struct buffer *b, const char *what)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] == '\n')
			FUZZ_CHECK(i > 0 && b->data[i - 1] == '\r',
				   "%s output has a bare LF at %zu", what, i);
	if (b->len > 0)
		FUZZ_CHECK(b->len >= 2 && b->data[b->len - 2] == '\r' &&
			   b->data[b->len - 1] == '\n',
			   "%s output does not end in CRLF", what);
}

static bool same(const struct buffer *a, const struct buffer *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	bool top = data[0] & 1;
	uint64_t top_lines = data[1];
	size_t len = size - 2;
	char *msg = fuzz_memdup(data + 2, len);
	size_t cut = (size_t)data[1] * 257 % (len + 1);

	struct buffer plain, plain_once, stuffed, stuffed_once, unstuffed;
	buffer_init(&plain);
	buffer_init(&plain_once);
	buffer_init(&stuffed);
	buffer_init(&stuffed_once);
	buffer_init(&unstuffed);

	convert(msg, len, cut, false, MESSAGE_WIRE_ALL_LINES, &plain);
	convert(msg, len, len, false, MESSAGE_WIRE_ALL_LINES, &plain_once);
	FUZZ_CHECK(same(&plain, &plain_once), "chunked output differs");
	uint64_t size_mem = message_wire_size(msg, len);
	FUZZ_CHECK(plain.len == size_mem,
		   "%zu octets sent, message_wire_size says %llu", plain.len,
		   (unsigned long long)size_mem);
	check_crlf(&plain, "unstuffed");

	int fd = memfd_create("fuzz-message-wire", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0, "memfd_create failed");
	FUZZ_CHECK(len == 0 || write(fd, msg, len) == (ssize_t)len, "write");
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek");
	uint64_t size_fd = 0;
	struct error err;
	error_clear(&err);
	FUZZ_CHECK(message_wire_size_fd(fd, &size_fd, &err) == 0,
		   "message_wire_size_fd: %s", err.message);
	FUZZ_CHECK(size_fd == size_mem, "size_fd %llu, size %llu",
		   (unsigned long long)size_fd, (unsigned long long)size_mem);
	close(fd);

	convert(msg, len, cut, true, MESSAGE_WIRE_ALL_LINES, &stuffed);
	convert(msg, len, len, true, MESSAGE_WIRE_ALL_LINES, &stuffed_once);
	FUZZ_CHECK(same(&stuffed, &stuffed_once), "chunked stuffed output differs");
	check_crlf(&stuffed, "stuffed");
	/* Lines start at 0 and after every CRLF. */
	size_t start = 0;
	while (start < stuffed.len) {
		const char *crlf = memmem(stuffed.data + start, stuffed.len - start,
					  "\r\n", 2);
		size_t end = crlf != NULL ? (size_t)(crlf - stuffed.data) + 2 :
			stuffed.len;
		const char *line = stuffed.data + start;
		size_t line_len = end - start;
		if (line[0] == '.') {
			FUZZ_CHECK(line_len >= 2 && line[1] == '.',
				   "line at %zu starts with a single '.'", start);
			buffer_append(&unstuffed, line + 1, line_len - 1);
		} else {
			buffer_append(&unstuffed, line, line_len);
		}
		start = end;
	}
	FUZZ_CHECK(same(&unstuffed, &plain), "un-dot-stuffing does not give "
		   "the unstuffed output");

	if (top) {
		struct buffer t;
		buffer_init(&t);
		convert(msg, len, cut, true, top_lines, &t);
		FUZZ_CHECK(t.len <= stuffed.len &&
			   (t.len == 0 || memcmp(t.data, stuffed.data, t.len) == 0),
			   "TOP %llu output is not a prefix of RETR output",
			   (unsigned long long)top_lines);
		check_crlf(&t, "TOP");
		buffer_free(&t);
	}

	buffer_free(&plain);
	buffer_free(&plain_once);
	buffer_free(&stuffed);
	buffer_free(&stuffed_once);
	buffer_free(&unstuffed);
	free(msg);
	return 0;
}
