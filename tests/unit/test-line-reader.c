/* Unit tests for the length-limited line splitter (core/line-reader.c).
 * The reader is the first thing hostile input meets, so every case here is
 * about what a client can and cannot make the server see as a line. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "line-reader.h"

#define MAX 10

static struct buffer in;
static struct line_reader reader;

static void setup(void)
{
	buffer_init(&in);
	line_reader_init(&reader, MAX);
}

static void teardown(void)
{
	buffer_free(&in);
}

static void feed(const char *data, size_t len)
{
	buffer_append(&in, data, len);
}

static void feed_str(const char *s)
{
	feed(s, strlen(s));
}

/* Expects a line equal to want (want_len bytes, may contain NUL). */
static void assert_line(const char *want, size_t want_len)
{
	const char *line = NULL;
	size_t len = 12345;
	enum line_result r = line_reader_next(&reader, &in, &line, &len);
	ck_assert_msg(r == LINE_OK, "expected LINE_OK for '%s', got %d", want, r);
	ck_assert_uint_eq(len, want_len);
	ck_assert_msg(memcmp(line, want, want_len) == 0, "line differs from '%s'", want);
}

static void assert_line_str(const char *want)
{
	assert_line(want, strlen(want));
}

static void assert_result(enum line_result want)
{
	const char *line = NULL;
	size_t len = 0;
	enum line_result r = line_reader_next(&reader, &in, &line, &len);
	ck_assert_msg(r == want, "expected %d, got %d", want, r);
}

START_TEST(lf_and_crlf)
{
	feed_str("USER bob\nPASS x\r\nQUIT\r\n");
	assert_line_str("USER bob");
	assert_line_str("PASS x");
	assert_line_str("QUIT");
	assert_result(LINE_NONE);
	assert_result(LINE_NONE);
}
END_TEST

START_TEST(partial_line_waits)
{
	feed_str("USE");
	assert_result(LINE_NONE);
	feed_str("R bob\r");
	assert_result(LINE_NONE);
	feed_str("\nNO");
	assert_line_str("USER bob");
	assert_result(LINE_NONE);
	feed_str("OP\n");
	assert_line_str("NOOP");
}
END_TEST

START_TEST(cr_not_before_lf_kept)
{
	feed_str("a\rb\nc\r\r\n\rd\n");
	assert_line_str("a\rb");
	/* Only the one CR right before the LF is a line end. */
	assert_line_str("c\r");
	assert_line_str("\rd");
	assert_result(LINE_NONE);
}
END_TEST

START_TEST(empty_lines)
{
	feed_str("\n\r\n\nx\n");
	assert_line_str("");
	assert_line_str("");
	assert_line_str("");
	assert_line_str("x");
	assert_result(LINE_NONE);
}
END_TEST

START_TEST(exactly_max_accepted)
{
	/* MAX bytes plus CRLF and plus LF are both fine. */
	feed_str("0123456789\r\n0123456789\n");
	assert_line_str("0123456789");
	assert_line_str("0123456789");
	assert_result(LINE_NONE);
}
END_TEST

START_TEST(exactly_max_accepted_bytewise)
{
	/* The CR of a maximal line arrives alone before its LF: the reader
	 * must not mistake MAX + 1 buffered bytes for a too-long line. */
	const char *s = "0123456789\r\nok\n";
	for (size_t i = 0; i < 12; i++) {
		feed(s + i, 1);
		if (i < 11)
			assert_result(LINE_NONE);
	}
	assert_line_str("0123456789");
	feed_str(s + 12);
	assert_line_str("ok");
}
END_TEST

START_TEST(too_long_in_one_chunk)
{
	feed_str("0123456789A\r\nnext\n");
	assert_result(LINE_TOO_LONG);
	assert_line_str("next");
	assert_result(LINE_NONE);
}
END_TEST

START_TEST(too_long_lf_only)
{
	feed_str("0123456789A\nnext\r\n");
	assert_result(LINE_TOO_LONG);
	assert_line_str("next");
	assert_result(LINE_NONE);
}
END_TEST

START_TEST(too_long_max_plus_cr_cr)
{
	/* MAX bytes and a kept CR make MAX + 1: too long. */
	feed_str("0123456789\r\r\nnext\n");
	assert_result(LINE_TOO_LONG);
	assert_line_str("next");
}
END_TEST

START_TEST(too_long_without_lf_yet)
{
	/* The long line has no LF yet: reported once, then dropped as it
	 * keeps coming, and the line after it is intact. */
	feed_str("0123456789ABCDEF");
	assert_result(LINE_TOO_LONG);
	assert_result(LINE_NONE);
	feed_str("still the same line");
	assert_result(LINE_NONE);
	feed_str("more");
	assert_result(LINE_NONE);
	feed_str("end\r\nUSER bob\r\n");
	assert_line_str("USER bob");
	assert_result(LINE_NONE);
}
END_TEST

START_TEST(too_long_many_small_chunks)
{
	/* One byte at a time: exactly one LINE_TOO_LONG for the whole line
	 * and not a single piece of it returned as a line. */
	const char *s = "this line is far too long for the reader\r\nQUIT\r\n";
	unsigned too_long = 0, ok = 0;
	const char *line;
	size_t len;
	for (size_t i = 0; s[i] != '\0'; i++) {
		feed(s + i, 1);
		for (;;) {
			enum line_result r = line_reader_next(&reader, &in, &line, &len);
			if (r == LINE_NONE)
				break;
			if (r == LINE_TOO_LONG) {
				too_long++;
				continue;
			}
			ok++;
			ck_assert_uint_eq(len, 4);
			ck_assert(memcmp(line, "QUIT", 4) == 0);
		}
	}
	ck_assert_uint_eq(too_long, 1);
	ck_assert_uint_eq(ok, 1);
}
END_TEST

START_TEST(too_long_split_at_limit)
{
	/* MAX + 1 bytes without a line end could still be MAX + CR; the next
	 * byte decides. */
	feed_str("0123456789A");
	assert_result(LINE_NONE);
	feed_str("B");
	assert_result(LINE_TOO_LONG);
	feed_str("\nok\n");
	assert_line_str("ok");
}
END_TEST

START_TEST(too_long_then_lf_later)
{
	feed_str("0123456789A");
	assert_result(LINE_NONE);
	feed_str("\nok\n");
	assert_result(LINE_TOO_LONG);
	assert_line_str("ok");
	assert_result(LINE_NONE);
}
END_TEST

START_TEST(two_too_long_lines)
{
	feed_str("0123456789ABC\n0123456789DEF\nok\n");
	assert_result(LINE_TOO_LONG);
	assert_result(LINE_TOO_LONG);
	assert_line_str("ok");
}
END_TEST

START_TEST(nul_kept)
{
	static const char data[] = "A\0B\r\n\0\n";
	feed(data, sizeof(data) - 1);
	assert_line("A\0B", 3);
	assert_line("\0", 1);
	assert_result(LINE_NONE);
}
END_TEST

START_TEST(nul_counts_towards_limit)
{
	static const char data[] = "01234\0" "6789A\nok\n";
	feed(data, sizeof(data) - 1);
	assert_result(LINE_TOO_LONG);
	assert_line_str("ok");
}
END_TEST

START_TEST(unconsumed_after_line)
{
	feed_str("CAPA\r\nUSER bob\r\nPASS sec");
	assert_line_str("CAPA");
	size_t n = line_reader_unconsumed(&reader, &in);
	ck_assert_uint_eq(n, strlen("USER bob\r\nPASS sec"));
	ck_assert_uint_eq(in.len, n);
	ck_assert(memcmp(in.data, "USER bob\r\nPASS sec", n) == 0);
	/* Calling it again changes nothing. */
	ck_assert_uint_eq(line_reader_unconsumed(&reader, &in), n);
	ck_assert(memcmp(in.data, "USER bob\r\nPASS sec", n) == 0);
	/* And reading continues from there. */
	assert_line_str("USER bob");
	assert_result(LINE_NONE);
	ck_assert_uint_eq(line_reader_unconsumed(&reader, &in), strlen("PASS sec"));
	ck_assert(memcmp(in.data, "PASS sec", 8) == 0);
}
END_TEST

START_TEST(unconsumed_hand_over)
{
	/* A fresh reader (another process) picks up exactly where the first
	 * stopped. */
	feed_str("AUTH PLAIN\r\nSTAT\r\nLIST\r\n");
	assert_line_str("AUTH PLAIN");
	size_t n = line_reader_unconsumed(&reader, &in);
	ck_assert_uint_eq(n, 12);
	struct line_reader other;
	line_reader_init(&other, MAX);
	const char *line;
	size_t len;
	ck_assert_int_eq(line_reader_next(&other, &in, &line, &len), LINE_OK);
	ck_assert_uint_eq(len, 4);
	ck_assert(memcmp(line, "STAT", 4) == 0);
	ck_assert_int_eq(line_reader_next(&other, &in, &line, &len), LINE_OK);
	ck_assert(len == 4 && memcmp(line, "LIST", 4) == 0);
	ck_assert_int_eq(line_reader_next(&other, &in, &line, &len), LINE_NONE);
}
END_TEST

START_TEST(unconsumed_nothing_left)
{
	feed_str("QUIT\r\n");
	assert_line_str("QUIT");
	ck_assert_uint_eq(line_reader_unconsumed(&reader, &in), 0);
	ck_assert_uint_eq(in.len, 0);
}
END_TEST

START_TEST(unconsumed_before_any_line)
{
	feed_str("US");
	ck_assert_uint_eq(line_reader_unconsumed(&reader, &in), 2);
	ck_assert(memcmp(in.data, "US", 2) == 0);
}
END_TEST

START_TEST(unconsumed_after_too_long)
{
	feed_str("0123456789ABC\r\nSTAT\r\n");
	assert_result(LINE_TOO_LONG);
	ck_assert_uint_eq(line_reader_unconsumed(&reader, &in), 6);
	ck_assert(memcmp(in.data, "STAT\r\n", 6) == 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("line-reader");
	TCase *tc = tcase_create("lines");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, lf_and_crlf);
	tcase_add_test(tc, partial_line_waits);
	tcase_add_test(tc, cr_not_before_lf_kept);
	tcase_add_test(tc, empty_lines);
	tcase_add_test(tc, exactly_max_accepted);
	tcase_add_test(tc, exactly_max_accepted_bytewise);
	tcase_add_test(tc, nul_kept);
	suite_add_tcase(s, tc);

	tc = tcase_create("too-long");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, too_long_in_one_chunk);
	tcase_add_test(tc, too_long_lf_only);
	tcase_add_test(tc, too_long_max_plus_cr_cr);
	tcase_add_test(tc, too_long_without_lf_yet);
	tcase_add_test(tc, too_long_many_small_chunks);
	tcase_add_test(tc, too_long_split_at_limit);
	tcase_add_test(tc, too_long_then_lf_later);
	tcase_add_test(tc, two_too_long_lines);
	tcase_add_test(tc, nul_counts_towards_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("unconsumed");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unconsumed_after_line);
	tcase_add_test(tc, unconsumed_hand_over);
	tcase_add_test(tc, unconsumed_nothing_left);
	tcase_add_test(tc, unconsumed_before_any_line);
	tcase_add_test(tc, unconsumed_after_too_long);
	suite_add_tcase(s, tc);

	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
