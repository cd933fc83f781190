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

#endif
