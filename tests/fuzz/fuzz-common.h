/*
 * Shared helpers for the libFuzzer harnesses in this directory.
 *
 * FUZZ_CHECK() states an invariant: when it does not hold, the harness
 * prints what was expected and aborts, so libFuzzer keeps the input as a
 * crash artifact just as for a sanitizer report.
 */
#ifndef ROOST_FUZZ_COMMON_H
#define ROOST_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "\n%s:%d: invariant failed: %s\n  ", \
				__FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fprintf(stderr, "\n"); \
			abort(); \
		} \
	} while (0)

/* A NUL-terminated heap copy of data[0..size), cut at the first NUL when
 * cut_at_nul is set (C string APIs would stop there anyway). Free with
 * free(). Exactly sized, so ASan sees any read past the terminator. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* An exactly sized heap copy (not terminated): reading data[size] is an
 * ASan report. */
static inline char *fuzz_memdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size == 0 ? 1 : size);
	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	return s;
}

/* True when s[0..len) has a byte below 0x20 or 0x7f. */
static inline int fuzz_has_ctl(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return 1;
	}
	return 0;
}

/* True when err->message is "NAME:LINE: ..." (LINE decimal, >= 1). */
static inline int fuzz_message_has_line(const char *message, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(message, name, n) != 0 || message[n] != ':')
		return 0;
	const char *p = message + n + 1;
	if (*p < '1' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == ':';
}

/* For parsers that report damage by line number: fuzz_lines_count()
 * counts the lines of the input, and fuzz_warning_in_range() (a warn
 * callback whose context is that struct) checks that every warning names
 * one of them (one past the last for "unexpected end"). */
struct fuzz_lines {
	unsigned lines;
};

static inline void fuzz_lines_count(struct fuzz_lines *l, const uint8_t *data,
				    size_t size)
{
	l->lines = 1;
	for (size_t i = 0; i < size; i++)
		l->lines += data[i] == '\n';
}

static inline void fuzz_warning_in_range(void *context, unsigned line,
					 const char *why)
{
	const struct fuzz_lines *l = context;
	FUZZ_CHECK(line >= 1 && line <= l->lines + 1,
		   "warning for line %u of %u: %s", line, l->lines, why);
}

/* RFC 1939 section 7: a UIDL is 1..70 octets of 0x21..0x7E. */
#define FUZZ_UIDL_MAX 70

static inline void fuzz_check_uidl(const char *uidl)
{
	size_t n = strnlen(uidl, FUZZ_UIDL_MAX + 1);
	FUZZ_CHECK(n >= 1 && n <= FUZZ_UIDL_MAX, "UIDL length %zu", n);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)uidl[i] >= 0x21 && (unsigned char)uidl[i] <= 0x7e,
			   "UIDL byte %zu is 0x%02x", i, (unsigned char)uidl[i]);
}

#endif
