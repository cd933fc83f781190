/* POP3 command line parsing; see pop3-command.h. */
#include "config.h"
#include "pop3-command.h"

#include <ctype.h>
#include <limits.h>
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

bool pop3_parse_uint(const char *s, size_t len, unsigned long *value_r)
{
	/* Message numbers and line counts fit in 32 bits in any mailbox we
	 * serve; larger values are refused rather than wrapped. */
	unsigned long v = 0;
	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > UINT_MAX)
		return false;
	*value_r = v;
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
