/* Unit tests for POP3 command line parsing (modules/pop3/pop3-command.c). */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pop3-command.h"

static enum pop3_parse_result parse(const char *line, size_t len,
				    struct pop3_command *cmd)
{
	memset(cmd, 0x5a, sizeof(*cmd));
	return pop3_command_parse(line, len, cmd);
}

static void assert_parse_ok(const char *line, const char *keyword, const char *args)
{
	struct pop3_command cmd;
	ck_assert_msg(parse(line, strlen(line), &cmd) == POP3_PARSE_OK,
		      "'%s' not parsed", line);
	ck_assert_str_eq(cmd.keyword, keyword);
	ck_assert_uint_eq(cmd.args_len, strlen(args));
	ck_assert(memcmp(cmd.args, args, cmd.args_len) == 0);
}

START_TEST(keywords_upper_cased)
{
	assert_parse_ok("user bob", "USER", "bob");
	assert_parse_ok("QuIt", "QUIT", "");
	assert_parse_ok("STAT", "STAT", "");
	assert_parse_ok("capa", "CAPA", "");
	assert_parse_ok("retr 1", "RETR", "1");
	/* Arguments keep their case. */
	assert_parse_ok("pass SeCrEt", "PASS", "SeCrEt");
}
END_TEST

START_TEST(args_split)
{
	assert_parse_ok("TOP 1 10", "TOP", "1 10");
	assert_parse_ok("APOP bob c4c9334bac560ecc979e58001b3e22fb", "APOP",
		 "bob c4c9334bac560ecc979e58001b3e22fb");
	/* Only the first space separates; the rest belongs to args. */
	assert_parse_ok("PASS  two  spaces ", "PASS", " two  spaces ");
	assert_parse_ok("USER ", "USER", "");
	/* Bytes >= 0x80 are not control bytes. */
	assert_parse_ok("USER j\xc3\xbcrgen", "USER", "j\xc3\xbcrgen");
}
END_TEST

START_TEST(args_point_into_line_without_nul)
{
	/* The line need not be NUL-terminated: only len bytes count. */
	char line[16];
	memcpy(line, "LIST 3XXXXXXXXXX", 16);
	struct pop3_command cmd;
	ck_assert_int_eq(parse(line, 6, &cmd), POP3_PARSE_OK);
	ck_assert_str_eq(cmd.keyword, "LIST");
	ck_assert_ptr_eq(cmd.args, line + 5);
	ck_assert_uint_eq(cmd.args_len, 1);
	ck_assert_int_eq(parse(line, 4, &cmd), POP3_PARSE_OK);
	ck_assert_uint_eq(cmd.args_len, 0);
}
END_TEST

START_TEST(nul_anywhere_bad_bytes)
{
	static const char base[] = "PASS secret";
	const size_t len = sizeof(base) - 1;
	for (size_t i = 0; i < len; i++) {
		char line[sizeof(base)];
		memcpy(line, base, sizeof(base));
		line[i] = '\0';
		struct pop3_command cmd;
		enum pop3_parse_result r = parse(line, len, &cmd);
		ck_assert_msg(r == POP3_PARSE_BAD_BYTES,
			      "NUL at %zu gave %d", i, r);
	}
	struct pop3_command cmd;
	ck_assert_int_eq(parse("\0", 1, &cmd), POP3_PARSE_BAD_BYTES);
	ck_assert_int_eq(parse("QUIT\0", 5, &cmd), POP3_PARSE_BAD_BYTES);
	ck_assert_int_eq(parse("\0QUIT", 5, &cmd), POP3_PARSE_BAD_BYTES);
}
END_TEST

START_TEST(control_bytes_bad_bytes)
{
	for (int c = 1; c < 0x20; c++) {
		char line[] = "USER b?b";
		line[6] = (char)c;
		struct pop3_command cmd;
		ck_assert_msg(parse(line, strlen(line), &cmd) == POP3_PARSE_BAD_BYTES,
			      "byte 0x%02x accepted", c);
		char kw[] = "U?ER";
		kw[1] = (char)c;
		ck_assert_msg(parse(kw, 4, &cmd) == POP3_PARSE_BAD_BYTES,
			      "byte 0x%02x in keyword accepted", c);
	}
	struct pop3_command cmd;
	ck_assert_int_eq(parse("USER \x7f", 6, &cmd), POP3_PARSE_BAD_BYTES);
	ck_assert_int_eq(parse("USER\tbob", 8, &cmd), POP3_PARSE_BAD_BYTES);
	ck_assert_int_eq(parse("QUIT\r", 5, &cmd), POP3_PARSE_BAD_BYTES);
	ck_assert_int_eq(parse("\x1b[2J", 4, &cmd), POP3_PARSE_BAD_BYTES);
}
END_TEST

START_TEST(empty)
{
	struct pop3_command cmd;
	ck_assert_int_eq(parse("", 0, &cmd), POP3_PARSE_EMPTY);
	ck_assert_int_eq(parse("QUIT", 0, &cmd), POP3_PARSE_EMPTY);
}
END_TEST

START_TEST(bad_keywords)
{
	struct pop3_command cmd;
	static const char *const bad[] = {
		" ", " USER bob", "ABCDEFGHI", "ABCDEFGHIJKLMNOP x", "US3R bob",
		"1", "RETR1", "US-ER", "USER_", "\xc3\xbc", "*", "+OK",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum pop3_parse_result r = parse(bad[i], strlen(bad[i]), &cmd);
		ck_assert_msg(r == POP3_PARSE_BAD_KEYWORD, "'%s' gave %d", bad[i], r);
	}
}
END_TEST

START_TEST(keyword_max_length)
{
	struct pop3_command cmd;
	ck_assert_int_eq(parse("abcdefgh", 8, &cmd), POP3_PARSE_OK);
	ck_assert_str_eq(cmd.keyword, "ABCDEFGH");
	ck_assert_int_eq(parse("abcdefgh x", 10, &cmd), POP3_PARSE_OK);
	ck_assert_int_eq(parse("abcdefghi", 9, &cmd), POP3_PARSE_BAD_KEYWORD);
}
END_TEST

static void assert_uint_ok(const char *s, unsigned long want)
{
	unsigned long v = 12345;
	ck_assert_msg(pop3_parse_uint(s, strlen(s), &v), "'%s' refused", s);
	ck_assert_uint_eq(v, want);
}

static void assert_uint_bad(const char *s)
{
	unsigned long v = 12345;
	ck_assert_msg(!pop3_parse_uint(s, strlen(s), &v), "'%s' accepted", s);
}

START_TEST(parse_uint)
{
	assert_uint_ok("0", 0);
	assert_uint_ok("1", 1);
	assert_uint_ok("42", 42);
	assert_uint_ok("4294967295", 4294967295UL);
	assert_uint_bad("4294967296");
	assert_uint_bad("9999999999");
	assert_uint_bad("-1");
	assert_uint_bad("+1");
	assert_uint_bad("1x");
	assert_uint_bad("x1");
	assert_uint_bad("");
	assert_uint_bad(" 1");
	assert_uint_bad("1 ");
	assert_uint_bad("99999999999999999999");
	assert_uint_bad("18446744073709551616");
	assert_uint_bad("18446744073709551617");
	assert_uint_bad("0x10");
}
END_TEST

START_TEST(parse_uint_length_bound)
{
	unsigned long v = 0;
	/* Only len bytes are looked at. */
	ck_assert(pop3_parse_uint("12junk", 2, &v));
	ck_assert_uint_eq(v, 12);
	ck_assert(!pop3_parse_uint("1", 0, &v));
	ck_assert(!pop3_parse_uint("1\0", 2, &v));
}
END_TEST

static int split(const char *args, const char **w, size_t *l, int max)
{
	return pop3_split_args(args, strlen(args), w, l, max);
}

START_TEST(split_args)
{
	const char *w[4];
	size_t l[4];
	ck_assert_int_eq(split("1 10", w, l, 2), 2);
	ck_assert(l[0] == 1 && memcmp(w[0], "1", 1) == 0);
	ck_assert(l[1] == 2 && memcmp(w[1], "10", 2) == 0);

	ck_assert_int_eq(split("bob", w, l, 2), 1);
	ck_assert(l[0] == 3 && memcmp(w[0], "bob", 3) == 0);

	ck_assert_int_eq(split("", w, l, 2), 0);
}
END_TEST

START_TEST(split_args_bad)
{
	const char *w[4];
	size_t l[4];
	ck_assert_int_eq(split("1  10", w, l, 2), -1);
	ck_assert_int_eq(split("1 10 ", w, l, 2), -1);
	ck_assert_int_eq(split("1 ", w, l, 2), -1);
	ck_assert_int_eq(split(" 1", w, l, 2), -1);
	ck_assert_int_eq(split(" ", w, l, 2), -1);
	ck_assert_int_eq(split("1 2 3", w, l, 2), -1);
	ck_assert_int_eq(split("1 2", w, l, 1), -1);
	ck_assert_int_eq(split("1", w, l, 0), -1);
}
END_TEST

START_TEST(split_args_never_writes_past_max)
{
	const char *w[3] = { NULL, NULL, NULL };
	size_t l[3] = { 0, 0, 7 };
	ck_assert_int_eq(split("a b c", w, l, 2), -1);
	ck_assert_ptr_null(w[2]);
	ck_assert_uint_eq(l[2], 7);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pop3-command");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, keywords_upper_cased);
	tcase_add_test(tc, args_split);
	tcase_add_test(tc, args_point_into_line_without_nul);
	tcase_add_test(tc, nul_anywhere_bad_bytes);
	tcase_add_test(tc, control_bytes_bad_bytes);
	tcase_add_test(tc, empty);
	tcase_add_test(tc, bad_keywords);
	tcase_add_test(tc, keyword_max_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("numbers");
	tcase_add_test(tc, parse_uint);
	tcase_add_test(tc, parse_uint_length_bound);
	tcase_add_test(tc, split_args);
	tcase_add_test(tc, split_args_bad);
	tcase_add_test(tc, split_args_never_writes_past_max);
	suite_add_tcase(s, tc);

	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
