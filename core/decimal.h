/*
 * Strict decimal parsing for numbers that come from files and clients:
 * digits only (no sign, no spaces, no "0x"), at least one, no overflow.
 * strtoull() accepts all of those and wraps "-1", which is how
 * "LIST -1" bugs happen; this does not.
 */
#ifndef ROOST_DECIMAL_H
#define ROOST_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* s need not be NUL-terminated. Returns false for anything else than
 * 1..20 digits that fit in 64 bits. */
bool decimal_parse_u64(const char *s, size_t len, uint64_t *value_r);

#endif
