/* Tests for core/message-wire.c: stored bytes -> POP3 wire bytes. */
#include "config.h"
#include "message-wire.h"

#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NO_LIMIT MESSAGE_WIRE_ALL_LINES

/* Converts in[0..len) fed in pieces whose sizes cycle through chunks[]
 * (0-terminated; NULL or empty = one piece) and finishes. */
static void convert_chunked(const char *in, size_t len, bool dot_stuff,
			    uint64_t max_lines, const size_t *chunks,
			    struct buffer *out)
{
	struct message_wire w;
	size_t pos = 0, ci = 0;

	message_wire_init(&w, dot_stuff, max_lines);
	while (pos < len && !message_wire_done(&w)) {
		size_t n = len - pos;
		if (chunks != NULL && chunks[0] != 0) {
			if (chunks[ci] == 0)
				ci = 0;
			if (chunks[ci] < n)
				n = chunks[ci];
			ci++;
		}
		size_t used = message_wire_convert(&w, in + pos, n, out);
		ck_assert_uint_le(used, n);
		if (used < n)
			ck_assert(message_wire_done(&w));
		pos += n;
	}
	message_wire_finish(&w, out);
}

static void check_conv(const char *in, size_t in_len, bool dot_stuff,
		       uint64_t max_lines, const char *expected,
		       size_t expected_len)
{
	static const size_t one[] = { 1, 0 };
	static const size_t odd[] = { 2, 3, 1, 5, 0 };
	const size_t *splits[] = { NULL, one, odd };

	for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		struct buffer out;
		buffer_init(&out);
		convert_chunked(in, in_len, dot_stuff, max_lines, splits[i],
				&out);
		ck_assert_uint_eq(out.len, expected_len);
		ck_assert_mem_eq(out.data == NULL ? "" : out.data, expected,
				 expected_len);
		buffer_free(&out);
	}
	if (!dot_stuff && max_lines == NO_LIMIT)
		ck_assert_uint_eq(message_wire_size(in, in_len), expected_len);
}

#define assert_conversion(in, stuff, lines, exp) \
	check_conv(in, sizeof(in) - 1, stuff, lines, exp, sizeof(exp) - 1)

START_TEST(lf_becomes_crlf)
{
	assert_conversion("a\nb\n", false, NO_LIMIT, "a\r\nb\r\n");
	assert_conversion("\n", false, NO_LIMIT, "\r\n");
	assert_conversion("\n\n", false, NO_LIMIT, "\r\n\r\n");
}
END_TEST

START_TEST(crlf_stays)
{
	assert_conversion("a\r\nb\r\n", false, NO_LIMIT, "a\r\nb\r\n");
	assert_conversion("a\r\nb\nc\r\n", false, NO_LIMIT, "a\r\nb\r\nc\r\n");
}
END_TEST

START_TEST(lone_cr_passes)
{
	assert_conversion("a\rb\n", false, NO_LIMIT, "a\rb\r\n");
	assert_conversion("a\r\r\nb\n", false, NO_LIMIT, "a\r\r\nb\r\n");
	assert_conversion("\r\r\r\n", false, NO_LIMIT, "\r\r\r\n");
	/* a CR ending the message is content; its line still gets CRLF */
	assert_conversion("a\r", false, NO_LIMIT, "a\r\r\n");
	assert_conversion("\r", false, NO_LIMIT, "\r\r\n");
}
END_TEST

/* The CR and the LF of one CRLF arrive in different convert() calls. */
START_TEST(cr_split_across_chunks)
{
	struct message_wire w;
	struct buffer out;

	buffer_init(&out);
	message_wire_init(&w, true, NO_LIMIT);
	ck_assert_uint_eq(message_wire_convert(&w, "a\r", 2, &out), 2);
	ck_assert_uint_eq(message_wire_convert(&w, "\n.b", 3, &out), 3);
	message_wire_finish(&w, &out);
	ck_assert_str_eq(out.data, "a\r\n..b\r\n");
	buffer_free(&out);

	buffer_init(&out);
	message_wire_init(&w, true, NO_LIMIT);
	message_wire_convert(&w, "a\r", 2, &out);
	message_wire_convert(&w, ".b\n", 3, &out);
	message_wire_finish(&w, &out);
	/* lone CR is not a line end: the dot is mid-line, not stuffed */
	ck_assert_str_eq(out.data, "a\r.b\r\n");
	buffer_free(&out);

	buffer_init(&out);
	message_wire_init(&w, false, NO_LIMIT);
	message_wire_convert(&w, "a\r", 2, &out);
	message_wire_convert(&w, "\r", 1, &out);
	message_wire_convert(&w, "\n", 1, &out);
	message_wire_finish(&w, &out);
	ck_assert_str_eq(out.data, "a\r\r\n");
	buffer_free(&out);
}
END_TEST

START_TEST(dot_stuffing)
{
	assert_conversion(".a\n..b\nc.\n.\n", true, NO_LIMIT,
	     "..a\r\n...b\r\nc.\r\n..\r\n");
	assert_conversion(".a\r\n.", true, NO_LIMIT, "..a\r\n..\r\n");
	assert_conversion(".a\n", false, NO_LIMIT, ".a\r\n");
	/* a dot mid-line at a chunk start is not at a line start */
	struct message_wire w;
	struct buffer out;
	buffer_init(&out);
	message_wire_init(&w, true, NO_LIMIT);
	message_wire_convert(&w, "ab", 2, &out);
	message_wire_convert(&w, ".c\n", 3, &out);
	message_wire_convert(&w, ".d", 2, &out);
	message_wire_finish(&w, &out);
	ck_assert_str_eq(out.data, "ab.c\r\n..d\r\n");
	buffer_free(&out);
}
END_TEST

START_TEST(missing_final_newline)
{
	assert_conversion("abc", false, NO_LIMIT, "abc\r\n");
	assert_conversion("a\nbc", false, NO_LIMIT, "a\r\nbc\r\n");
	assert_conversion("a\n", false, NO_LIMIT, "a\r\n");
}
END_TEST

START_TEST(empty_message)
{
	struct message_wire w;
	struct buffer out;
	buffer_init(&out);
	message_wire_init(&w, true, NO_LIMIT);
	ck_assert_uint_eq(message_wire_convert(&w, "", 0, &out), 0);
	message_wire_finish(&w, &out);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_eq(message_wire_size("", 0), 0);
	buffer_free(&out);
}
END_TEST

START_TEST(binary_passes)
{
	assert_conversion("a\0\xff\x80\n\0", false, NO_LIMIT, "a\0\xff\x80\r\n\0\r\n");
}
END_TEST

START_TEST(top_lines)
{
	const char msg[] = "H: 1\nH: 2\n\nb1\n.b2\nb3\n";
	assert_conversion(msg, true, 0, "H: 1\r\nH: 2\r\n\r\n");
	assert_conversion(msg, true, 1, "H: 1\r\nH: 2\r\n\r\nb1\r\n");
	assert_conversion(msg, true, 2, "H: 1\r\nH: 2\r\n\r\nb1\r\n..b2\r\n");
	assert_conversion(msg, true, 100, "H: 1\r\nH: 2\r\n\r\nb1\r\n..b2\r\nb3\r\n");
	/* CRLF separator; unterminated last body line still gets CRLF */
	assert_conversion("H\r\n\r\nb", false, 5, "H\r\n\r\nb\r\n");
	/* no empty line: everything is header */
	assert_conversion("H: 1\nH: 2", false, 0, "H: 1\r\nH: 2\r\n");
	/* a lone-CR line is not empty */
	assert_conversion("H\n\r\nb\n", false, 0, "H\r\n\r\n");
	assert_conversion("H\n\r x\n\nb\n", false, 0, "H\r\n\r x\r\n\r\n");
}
END_TEST

START_TEST(top_consumed_and_done)
{
	const char msg[] = "H\n\nb1\nb2\n";
	struct message_wire w;
	struct buffer out;

	buffer_init(&out);
	message_wire_init(&w, true, 1);
	size_t used = message_wire_convert(&w, msg, sizeof(msg) - 1, &out);
	ck_assert_uint_eq(used, 6);   /* through "b1\n" */
	ck_assert(message_wire_done(&w));
	ck_assert_uint_eq(message_wire_convert(&w, "x\n", 2, &out), 0);
	message_wire_finish(&w, &out);
	ck_assert_str_eq(out.data, "H\r\n\r\nb1\r\n");
	buffer_free(&out);

	/* the separator split between chunks */
	buffer_init(&out);
	message_wire_init(&w, false, 0);
	ck_assert_uint_eq(message_wire_convert(&w, "H\r", 2, &out), 2);
	ck_assert(!message_wire_done(&w));
	ck_assert_uint_eq(message_wire_convert(&w, "\n\r", 2, &out), 2);
	ck_assert(!message_wire_done(&w));
	ck_assert_uint_eq(message_wire_convert(&w, "\nbody", 5, &out), 1);
	ck_assert(message_wire_done(&w));
	ck_assert_str_eq(out.data, "H\r\n\r\n");
	buffer_free(&out);
}
END_TEST

START_TEST(size_examples)
{
	ck_assert_uint_eq(message_wire_size("a\nb", 3), 6);
	ck_assert_uint_eq(message_wire_size("a\r\nb\r\n", 6), 6);
	ck_assert_uint_eq(message_wire_size("a\r", 2), 4);
	ck_assert_uint_eq(message_wire_size("\n", 1), 2);
	ck_assert_uint_eq(message_wire_size(".\n", 2), 3);
}
END_TEST

START_TEST(size_fd)
{
	char path[] = "/tmp/test-message-wire-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	/* bigger than one read so the CR/LF pair straddles a read */
	size_t len = 65536 + 10;
	char *data = malloc(len);
	memset(data, 'x', len);
	data[65535] = '\r';
	data[65536] = '\n';
	data[100] = '\n';
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	uint64_t size = 0;
	struct error err;
	ck_assert_int_eq(message_wire_size_fd(fd, &size, &err), 0);
	ck_assert_uint_eq(size, message_wire_size(data, len));
	ck_assert_uint_eq(size, len + 1 + 2);
	close(fd);
	free(data);

	error_clear(&err);
	ck_assert_int_eq(message_wire_size_fd(-1, &size, &err), -1);
	ck_assert_int_eq(err.kind, ERROR_TEMP);
}
END_TEST

/* ---- property tests against an independent line-based model ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The RFC's description, one line at a time: a line ends at LF, a CR
 * right before that LF belongs to the line end, anything else is content. */
static void reference(const char *in, size_t len, bool dot_stuff,
		      uint64_t max_lines, struct buffer *out)
{
	size_t pos = 0;
	bool in_body = false;
	uint64_t body = 0;

	while (pos < len) {
		const char *lf = memchr(in + pos, '\n', len - pos);
		size_t end = lf != NULL ? (size_t)(lf - in) : len;
		size_t clen = end - pos;
		/* without an LF, a final CR is content and stays */
		if (lf != NULL && clen > 0 && in[end - 1] == '\r')
			clen--;
		if (in_body && max_lines != NO_LIMIT && body >= max_lines)
			return;
		if (dot_stuff && clen > 0 && in[pos] == '.')
			buffer_append(out, ".", 1);
		buffer_append(out, in + pos, clen);
		buffer_append(out, "\r\n", 2);
		if (in_body)
			body++;
		else if (clen == 0 && lf != NULL)
			in_body = true;
		pos = lf != NULL ? end + 1 : len;
	}
}

START_TEST(random_property)
{
	static const char alphabet[] = { 'a', '\r', '\n', '.', '\0', '\xff',
					 'b', '\n' };
	char in[300];
	size_t chunks[40];

	for (int iter = 0; iter < 20000; iter++) {
		size_t len = rng() % sizeof(in);
		if (iter % 4 == 0)
			len %= 12;   /* many tiny messages: the edge cases */
		for (size_t i = 0; i < len; i++)
			in[i] = alphabet[rng() % sizeof(alphabet)];
		size_t nchunks = 1 + rng() % 39;
		for (size_t i = 0; i + 1 < nchunks; i++)
			chunks[i] = 1 + rng() % 8;
		chunks[nchunks - 1] = 0;

		bool stuff = iter % 2 == 1;
		uint64_t lines = iter % 3 == 0 ? NO_LIMIT : rng() % 4;

		struct buffer got, want, plain;
		buffer_init(&got);
		buffer_init(&want);
		buffer_init(&plain);
		convert_chunked(in, len, stuff, lines, chunks, &got);
		reference(in, len, stuff, lines, &want);
		ck_assert_uint_eq(got.len, want.len);
		if (got.len > 0)
			ck_assert_mem_eq(got.data, want.data, got.len);

		/* the size property: plain conversion, random chunks */
		convert_chunked(in, len, false, NO_LIMIT, chunks, &plain);
		ck_assert_uint_eq(plain.len, message_wire_size(in, len));
		buffer_free(&got);
		buffer_free(&want);
		buffer_free(&plain);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("message-wire");
	TCase *tc = tcase_create("convert");
	tcase_add_test(tc, lf_becomes_crlf);
	tcase_add_test(tc, crlf_stays);
	tcase_add_test(tc, lone_cr_passes);
	tcase_add_test(tc, cr_split_across_chunks);
	tcase_add_test(tc, dot_stuffing);
	tcase_add_test(tc, missing_final_newline);
	tcase_add_test(tc, empty_message);
	tcase_add_test(tc, binary_passes);
	tcase_add_test(tc, top_lines);
	tcase_add_test(tc, top_consumed_and_done);
	tcase_add_test(tc, size_examples);
	tcase_add_test(tc, size_fd);
	tcase_add_test(tc, random_property);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
