/*
 * Fuzzes the field escaping of Roost's internal line protocols
 * (core/ipc-escape.c). User names and passwords from clients pass through
 * it between login, auth and master; a mistake lets a client forge fields.
 *
 * Invariants:
 *  - escaping any bytes yields no TAB, LF, CR or NUL, and unescaping that
 *    gives exactly the input back (length included);
 *  - ipc_unescape() of the raw input (cut at its first NUL), when it
 *    succeeds and the input holds no raw TAB/LF/CR, escapes back to the
 *    same text;
 *  - ipc_split() never yields more fields than asked, at least one when
 *    asked for any, and the fields rejoined with TABs give the record
 *    back.
 */
#include "config.h"
#include "ipc-escape.h"

#include <stdbool.h>

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pool_t *pool = pool_create();

	/* 1. escape -> unescape round trip. */
	struct buffer esc;
	buffer_init(&esc);
	ipc_escape_append(&esc, (const char *)data, size);
	for (size_t i = 0; i < esc.len; i++) {
		char c = esc.data[i];
		FUZZ_CHECK(c != '\t' && c != '\n' && c != '\r' && c != '\0',
			   "escaped text has byte 0x%02x at %zu",
			   (unsigned char)c, i);
	}
	size_t len = (size_t)-1;
	char *back = ipc_unescape(pool, esc.len > 0 ? esc.data : "", &len);
	FUZZ_CHECK(back != NULL, "unescape refused escape output");
	FUZZ_CHECK(len == size && (size == 0 || memcmp(back, data, size) == 0),
		   "round trip gave %zu bytes for %zu", len, size);
	FUZZ_CHECK(back[len] == '\0', "unescaped text not terminated");
	buffer_free(&esc);

	/* 2. unescape of arbitrary text. */
	char *text = fuzz_strndup(data, size);
	size_t text_len = strlen(text);
	size_t ulen = (size_t)-1;
	char *u = ipc_unescape(pool, text, &ulen);
	if (u != NULL) {
		FUZZ_CHECK(ulen <= text_len, "unescaped %zu bytes from %zu",
			   ulen, text_len);
		if (strpbrk(text, "\t\n\r") == NULL) {
			struct buffer again;
			buffer_init(&again);
			ipc_escape_append(&again, u, ulen);
			FUZZ_CHECK(again.len == text_len &&
				   (text_len == 0 ||
				    memcmp(again.data, text, text_len) == 0),
				   "escape(unescape(s)) != s");
			buffer_free(&again);
		}
	} else {
		/* Only a backslash can make it fail. */
		FUZZ_CHECK(strchr(text, '\\') != NULL,
			   "unescape refused text without a backslash");
	}

	/* 3. split, with max from the first byte. */
	unsigned max = size > 0 ? data[0] % 10 : 3;
	char *record = fuzz_strndup(data, size);
	char *fields[10];
	for (unsigned i = 0; i < 10; i++)
		fields[i] = (char *)1;
	unsigned n = ipc_split(record, fields, max);
	FUZZ_CHECK(n <= max, "ipc_split gave %u fields, max %u", n, max);
	if (max > 0) {
		FUZZ_CHECK(n >= 1 && fields[0] == record, "no first field");
		unsigned tabs = 0;
		for (size_t i = 0; i < text_len; i++)
			tabs += text[i] == '\t';
		unsigned want = tabs + 1 < max ? tabs + 1 : max;
		FUZZ_CHECK(n == want, "%u fields, expected %u", n, want);
		struct buffer joined;
		buffer_init(&joined);
		for (unsigned i = 0; i < n; i++) {
			FUZZ_CHECK(fields[i] >= record &&
				   fields[i] <= record + text_len,
				   "field %u outside the record", i);
			if (i > 0)
				buffer_append(&joined, "\t", 1);
			buffer_append_str(&joined, fields[i]);
			if (i + 1 < n)
				FUZZ_CHECK(strchr(fields[i], '\t') == NULL,
					   "field %u has a TAB", i);
		}
		FUZZ_CHECK(joined.len == text_len &&
			   (text_len == 0 || memcmp(joined.data, text, text_len) == 0),
			   "fields do not rejoin to the record");
		buffer_free(&joined);
	} else {
		FUZZ_CHECK(n == 0, "fields for max 0");
	}
	for (unsigned i = n; i < 10; i++)
		FUZZ_CHECK(fields[i] == (char *)1, "field %u written past the count",
			   i);

	free(record);
	free(text);
	pool_destroy(pool);
	return 0;
}
