/* Growable byte buffers; see buffer.h. */
#include "config.h"
#include "buffer.h"
#include "pool.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUFFER_MIN_CAPACITY 256

void buffer_init(struct buffer *buf)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

void buffer_free(struct buffer *buf)
{
	free(buf->data);
	buffer_init(buf);
}

void buffer_free_secret(struct buffer *buf)
{
	if (buf->data != NULL)
		sodium_memzero(buf->data, buf->cap);
	buffer_free(buf);
}

void buffer_reset(struct buffer *buf)
{
	buf->len = 0;
	if (buf->data != NULL)
		buf->data[0] = '\0';
}

static void buffer_reserve(struct buffer *buf, size_t extra)
{
	size_t need = buf->len + extra + 1;
	if (need <= buf->cap)
		return;
	size_t cap = buf->cap < BUFFER_MIN_CAPACITY ? BUFFER_MIN_CAPACITY : buf->cap;
	while (cap < need)
		cap *= 2;
	buf->data = xrealloc(buf->data, cap);
	buf->cap = cap;
}

void buffer_append(struct buffer *buf, const void *data, size_t len)
{
	buffer_reserve(buf, len);
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

char *buffer_append_space(struct buffer *buf, size_t len)
{
	buffer_reserve(buf, len);
	return buf->data + buf->len;
}

void buffer_append_space_used(struct buffer *buf, size_t n)
{
	buf->len += n;
	buf->data[buf->len] = '\0';
}

void buffer_append_str(struct buffer *buf, const char *s)
{
	buffer_append(buf, s, strlen(s));
}

void buffer_vprintf(struct buffer *buf, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int len = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (len <= 0)
		return;
	buffer_reserve(buf, (size_t)len);
	vsnprintf(buf->data + buf->len, (size_t)len + 1, fmt, ap);
	buf->len += (size_t)len;
}

void buffer_printf(struct buffer *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buffer_vprintf(buf, fmt, ap);
	va_end(ap);
}

void buffer_consume(struct buffer *buf, size_t n)
{
	if (n >= buf->len) {
		buffer_reset(buf);
		return;
	}
	memmove(buf->data, buf->data + n, buf->len - n);
	buf->len -= n;
	buf->data[buf->len] = '\0';
}
