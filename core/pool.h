/*
 * Memory pools: one pool per session, per request or per config load.
 *
 * Everything allocated from a pool is freed at once by pool_destroy(); there
 * is no per-allocation free. Allocation never returns NULL: running out of
 * memory aborts the process (a mail server that cannot allocate cannot keep
 * any of its promises, and the master restarts the child).
 * Memory returned is zero-filled and aligned for any type.
 */
#ifndef ROOST_POOL_H
#define ROOST_POOL_H

#include <stdarg.h>
#include <stddef.h>

typedef struct pool pool_t;

/* Caller owns the pool and frees it with pool_destroy(). */
pool_t *pool_create(void);
void pool_destroy(pool_t *pool);

void *pool_alloc(pool_t *pool, size_t size);
char *pool_strdup(pool_t *pool, const char *s);          /* NULL -> NULL */
char *pool_strndup(pool_t *pool, const char *s, size_t n);
void *pool_memdup(pool_t *pool, const void *data, size_t n);
char *pool_printf(pool_t *pool, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *pool_vprintf(pool_t *pool, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Plain heap helpers with the same abort-on-exhaustion rule. */
void *xmalloc(size_t size);      /* zero-filled */
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

#endif
