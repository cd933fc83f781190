/* POP3 command line parsing; see pop3-command.h. */
#include "config.h"
#include "pop3-command.h"

#include "decimal.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

enum pop3_parse_result pop3_command_parse(const char *line, size_t len,
					  struct pop3_command *cmd)
{
	/* Reject before splitting: a NUL must never cut the line short. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c == 0x7f)
			return POP3_PARSE_BAD_BYTES;
	}
	if (len == 0)
		return POP3_PARSE_EMPTY;
	size_t kw_len = 0;
	while (kw_len < len && line[kw_len] != ' ')
		kw_len++;
	if (kw_len == 0 || kw_len > POP3_KEYWORD_MAX)
		return POP3_PARSE_BAD_KEYWORD;
	for (size_t i = 0; i < kw_len; i++) {
		if (!isalpha((unsigned char)line[i]))
			return POP3_PARSE_BAD_KEYWORD;
		cmd->keyword[i] = (char)toupper((unsigned char)line[i]);
	}
	cmd->keyword[kw_len] = '\0';
	if (kw_len < len) {
		cmd->args = line + kw_len + 1;
		cmd->args_len = len - kw_len - 1;
	} else {
		cmd->args = "";
		cmd->args_len = 0;
	}
	return POP3_PARSE_OK;
}

const char *pop3_parse_error_reply(enum pop3_parse_result result)
{
	switch (result) {
	case POP3_PARSE_EMPTY:
		return "-ERR Empty command.";
	case POP3_PARSE_BAD_BYTES:
		return "-ERR Invalid characters in command.";
	case POP3_PARSE_OK:
	case POP3_PARSE_BAD_KEYWORD:
		break;
	}
	return "-ERR Unknown command.";
}

bool pop3_parse_uint(const char *s, size_t len, unsigned long *value_r)
{
	/* Message numbers and line counts fit in 32 bits in any mailbox we
	 * serve; larger values are refused rather than wrapped. */
	uint64_t v;
	if (!decimal_parse_u64(s, len, &v) || v > UINT_MAX)
		return false;
	*value_r = (unsigned long)v;
	return true;
}

int pop3_split_args(const char *args, size_t len, const char **words,
		    size_t *lens, int max)
{
	int n = 0;
	size_t start = 0;
	if (len == 0)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && args[i] != ' ')
			continue;
		if (i == start || n == max)
			return -1;
		words[n] = args + start;
		lens[n] = i - start;
		n++;
		start = i + 1;
	}
	return n;
}
