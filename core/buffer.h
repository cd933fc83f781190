/*
 * Growable byte buffers. A buffer owns its heap memory: buffer_free()
 * releases it. data is always NUL-terminated after len bytes so that text
 * can be handed to string functions, but binary content (NUL bytes
 * included) is kept intact; len is the truth.
 */
#ifndef ROOST_BUFFER_H
#define ROOST_BUFFER_H

#include <stdarg.h>
#include <stddef.h>

struct buffer {
	char *data;
	size_t len;
	size_t cap;
};

void buffer_init(struct buffer *buf);
void buffer_free(struct buffer *buf);
void buffer_reset(struct buffer *buf);
void buffer_append(struct buffer *buf, const void *data, size_t len);
void buffer_append_str(struct buffer *buf, const char *s);
void buffer_printf(struct buffer *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buffer_vprintf(struct buffer *buf, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Room for at least len more bytes after the contents, for a caller that
 * writes in place; buffer_append_space_used() then counts the n <= len
 * bytes it wrote. The pointer is valid until the next call on buf. */
char *buffer_append_space(struct buffer *buf, size_t len);
void buffer_append_space_used(struct buffer *buf, size_t n);
/* Removes the first n bytes (n <= len). */
void buffer_consume(struct buffer *buf, size_t n);
/* Overwrites the contents with zeros before freeing (for secrets). */
void buffer_free_secret(struct buffer *buf);

#endif
