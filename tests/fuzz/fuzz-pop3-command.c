/*
 * Fuzzes the POP3 command line parser (modules/pop3/pop3-command.c): the
 * first thing that sees a client's bytes, before and after login.
 *
 * The whole input is one command line (without its CRLF, as the line
 * reader hands it over). Invariants:
 *  - a line with any byte < 0x20 or 0x7f is POP3_PARSE_BAD_BYTES, never OK;
 *  - an empty line is POP3_PARSE_EMPTY;
 *  - OK means a keyword of 1..POP3_KEYWORD_MAX upper-case letters that is
 *    the line's first word upper-cased, and args pointing just after the
 *    first space (or "" when there is none);
 *  - pop3_split_args() never yields more than max words, never an empty
 *    word or one with a space, and its words joined by single spaces give
 *    the arguments back;
 *  - pop3_parse_uint() agrees with strtoul() on digit-only text of at most
 *    20 digits (zero padding is allowed) whose value fits in an unsigned int, and refuses anything
 *    else.
 */
#include "config.h"
#include "pop3-command.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>

#include "fuzz-common.h"

static void check_uint(const char *s, size_t len)
{
	unsigned long v = 0xdeadbeefUL;
	bool ok = pop3_parse_uint(s, len, &v);

	bool digits = len > 0 && len <= 20;   /* zero padding is allowed */
	for (size_t i = 0; digits && i < len; i++)
		digits = s[i] >= '0' && s[i] <= '9';
	if (!digits) {
		FUZZ_CHECK(!ok, "pop3_parse_uint accepted non-number '%.*s'",
			   (int)len, s);
		return;
	}
	char copy[32];
	memcpy(copy, s, len);
	copy[len] = '\0';
	errno = 0;
	char *end;
	unsigned long long ref = strtoull(copy, &end, 10);
	FUZZ_CHECK(*end == '\0', "strtoull stopped early on '%s'", copy);
	if (errno == ERANGE || ref > UINT_MAX) {
		FUZZ_CHECK(!ok, "pop3_parse_uint accepted '%s' > UINT_MAX", copy);
		return;
	}
	FUZZ_CHECK(ok, "pop3_parse_uint refused '%s'", copy);
	FUZZ_CHECK(v == ref, "pop3_parse_uint('%s') = %lu, strtoull says %llu",
		   copy, v, ref);
}

static void check_split(const char *args, size_t len, int max)
{
	const char *words[8];
	size_t lens[8];
	int n = pop3_split_args(args, len, words, lens, max);

	FUZZ_CHECK(n >= -1 && n <= max, "pop3_split_args returned %d, max %d",
		   n, max);
	if (len == 0) {
		FUZZ_CHECK(n == 0, "empty args gave %d words", n);
		return;
	}
	/* Reference: the words are the space-separated parts; any empty part
	 * (leading, trailing or double space) or too many parts is -1. */
	int parts = 1;
	bool empty_part = args[0] == ' ' || args[len - 1] == ' ';
	for (size_t i = 0; i < len; i++) {
		if (args[i] != ' ')
			continue;
		parts++;
		if (i + 1 < len && args[i + 1] == ' ')
			empty_part = true;
	}
	int expect = empty_part || parts > max ? -1 : parts;
	FUZZ_CHECK(n == expect, "pop3_split_args gave %d words, expected %d "
		   "(max %d, args '%.*s')", n, expect, max, (int)len, args);
	if (n <= 0)
		return;
	size_t pos = 0;
	for (int i = 0; i < n; i++) {
		FUZZ_CHECK(words[i] == args + pos, "word %d at offset %td, "
			   "expected %zu", i, words[i] - args, pos);
		FUZZ_CHECK(lens[i] > 0, "empty word %d", i);
		FUZZ_CHECK(memchr(words[i], ' ', lens[i]) == NULL,
			   "word %d has a space", i);
		pos += lens[i];
		if (i + 1 < n) {
			FUZZ_CHECK(pos < len && args[pos] == ' ',
				   "words %d and %d not separated by one space",
				   i, i + 1);
			pos++;
		}
		check_uint(words[i], lens[i]);
	}
	FUZZ_CHECK(pos == len, "words cover %zu of %zu bytes", pos, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly sized: the parser must not read line[len]. */
	char *line = fuzz_memdup(data, size);
	struct pop3_command cmd;
	memset(&cmd, 0x55, sizeof(cmd));

	enum pop3_parse_result r = pop3_command_parse(line, size, &cmd);
	bool bad = fuzz_has_ctl(line, size);

	if (bad) {
		FUZZ_CHECK(r == POP3_PARSE_BAD_BYTES,
			   "line with a control byte gave %d", (int)r);
	} else if (size == 0) {
		FUZZ_CHECK(r == POP3_PARSE_EMPTY, "empty line gave %d", (int)r);
	} else {
		FUZZ_CHECK(r == POP3_PARSE_OK || r == POP3_PARSE_BAD_KEYWORD,
			   "clean line gave %d", (int)r);
	}

	size_t kw_len = 0;
	while (kw_len < size && line[kw_len] != ' ')
		kw_len++;
	bool kw_ok = kw_len >= 1 && kw_len <= POP3_KEYWORD_MAX;
	for (size_t i = 0; kw_ok && i < kw_len; i++)
		kw_ok = (line[i] >= 'a' && line[i] <= 'z') ||
			(line[i] >= 'A' && line[i] <= 'Z');
	if (!bad && size > 0)
		FUZZ_CHECK((r == POP3_PARSE_OK) == kw_ok,
			   "result %d but keyword '%.*s' is %s", (int)r,
			   (int)kw_len, line, kw_ok ? "valid" : "invalid");

	if (r == POP3_PARSE_OK) {
		size_t n = strnlen(cmd.keyword, sizeof(cmd.keyword));
		FUZZ_CHECK(n >= 1 && n <= POP3_KEYWORD_MAX && n == kw_len,
			   "keyword length %zu (first word %zu)", n, kw_len);
		for (size_t i = 0; i < n; i++) {
			FUZZ_CHECK(cmd.keyword[i] >= 'A' && cmd.keyword[i] <= 'Z',
				   "keyword byte 0x%02x",
				   (unsigned char)cmd.keyword[i]);
			FUZZ_CHECK(cmd.keyword[i] ==
				   toupper((unsigned char)line[i]),
				   "keyword is not the first word upper-cased");
		}
		if (kw_len < size) {
			FUZZ_CHECK(cmd.args == line + kw_len + 1 &&
				   cmd.args_len == size - kw_len - 1,
				   "args do not start after the first space");
		} else {
			FUZZ_CHECK(cmd.args != NULL && cmd.args[0] == '\0' &&
				   cmd.args_len == 0, "no args but args not \"\"");
		}
		for (int max = 0; max <= 3; max++)
			check_split(cmd.args, cmd.args_len, max);
	}

	/* The parsers must also hold up on raw bytes that never passed
	 * pop3_command_parse(). */
	check_uint(line, size);
	if (size > 0) {
		int max = data[0] % 8;
		check_split(line + 1, size - 1, max);
	}
	free(line);
	return 0;
}
