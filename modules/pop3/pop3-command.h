/*
 * Splitting and checking POP3 command lines (RFC 1939 §3, RFC 2449 §4).
 * Shared by the pre-auth and post-auth halves so both refuse the same
 * hostile input the same way.
 */
#ifndef ROOST_POP3_COMMAND_H
#define ROOST_POP3_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 2449 §4: command lines are at most 255 octets. */
#define POP3_COMMAND_LINE_MAX 255
/* RFC 5034 §4: SASL responses may be longer; 8 KiB holds any response of
 * the mechanisms we offer with room to spare. It is also the line reader's
 * hard limit, so one line can never make the session buffer more. */
#define POP3_AUTH_LINE_MAX 8192
/* Keywords are 3-4 letters; anything longer is not a command. */
#define POP3_KEYWORD_MAX 8

struct pop3_command {
	char keyword[POP3_KEYWORD_MAX + 1];   /* upper-cased */
	const char *args;   /* after the first space; "" when none */
	size_t args_len;
};

enum pop3_parse_result {
	POP3_PARSE_OK,
	POP3_PARSE_EMPTY,
	POP3_PARSE_BAD_BYTES,   /* NUL or another control byte */
	POP3_PARSE_BAD_KEYWORD,
};

/* line need not be NUL-terminated; cmd->args points into line. */
enum pop3_parse_result pop3_command_parse(const char *line, size_t len,
					  struct pop3_command *cmd);
/* The -ERR line (without CRLF) for a result other than POP3_PARSE_OK. */
const char *pop3_parse_error_reply(enum pop3_parse_result result);

/* A message number or line count: decimal digits only, no sign, no
 * leading '+', no overflow. */
bool pop3_parse_uint(const char *s, size_t len, unsigned long *value_r);

/* Splits args at single spaces into up to max words, pointing into args;
 * returns how many, or -1 when there are more than max or empty words. */
int pop3_split_args(const char *args, size_t len, const char **words,
		    size_t *lens, int max);

#endif
