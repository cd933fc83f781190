/* TAB/LF-safe field escaping for internal protocols; see ipc-escape.h. */
#include "config.h"
#include "ipc-escape.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void ipc_escape_append(struct buffer *out, const char *data, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		char esc;
		switch (data[i]) {
		case '\t': esc = 't'; break;
		case '\n': esc = 'n'; break;
		case '\r': esc = 'r'; break;
		case '\\': esc = '\\'; break;
		case '\0': esc = '0'; break;
		default: continue;
		}
		buffer_append(out, data + start, i - start);
		char pair[2] = { '\\', esc };
		buffer_append(out, pair, 2);
		start = i + 1;
	}
	buffer_append(out, data + start, len - start);
}

char *ipc_unescape(pool_t *pool, const char *src, size_t *len_r)
{
	size_t n = strlen(src);
	char *dst = pool_alloc(pool, n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (src[i] != '\\') {
			dst[o++] = src[i];
			continue;
		}
		if (++i == n)
			return NULL;
		switch (src[i]) {
		case 't': dst[o++] = '\t'; break;
		case 'n': dst[o++] = '\n'; break;
		case 'r': dst[o++] = '\r'; break;
		case '\\': dst[o++] = '\\'; break;
		case '0': dst[o++] = '\0'; break;
		default: return NULL;
		}
	}
	dst[o] = '\0';
	if (len_r != NULL)
		*len_r = o;
	return dst;
}

char *ipc_take_record(struct buffer *in)
{
	char *lf = in->len > 0 ? memchr(in->data, '\n', in->len) : NULL;
	if (lf == NULL)
		return NULL;
	size_t len = (size_t)(lf - in->data);
	char *record = xmalloc(len + 1);
	memcpy(record, in->data, len);
	buffer_consume(in, len + 1);
	return record;
}

void ipc_record_free(char *record)
{
	if (record == NULL)
		return;
	sodium_memzero(record, strlen(record));
	free(record);
}

unsigned ipc_split(char *record, char **fields, unsigned max)
{
	unsigned n = 0;
	if (max == 0)
		return 0;
	fields[n++] = record;
	for (char *p = record; *p != '\0' && n < max; p++) {
		if (*p == '\t') {
			*p = '\0';
			fields[n++] = p + 1;
		}
	}
	return n;
}
