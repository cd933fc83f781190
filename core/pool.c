/* Bump allocator over a chain of blocks; see pool.h for the contract. */
#include "config.h"
#include "pool.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A session's pool typically holds a few KiB (names, snapshot entries);
 * 4 KiB blocks keep an idle session small. Larger requests get a block of
 * their own so one big allocation does not waste a shared block. */
#define POOL_BLOCK_SIZE 4096
#define POOL_ALIGN 16

struct pool_block {
	struct pool_block *next;
	size_t size;
	size_t used;
	/* data follows, aligned */
	max_align_t data[];
};

struct pool {
	struct pool_block *blocks;
};

static void out_of_memory(size_t size)
{
	/* Nothing sensible is left to do; the parent process restarts us. */
	fprintf(stderr, "roost: out of memory allocating %zu bytes\n", size);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = calloc(1, size == 0 ? 1 : size);
	if (p == NULL)
		out_of_memory(size);
	return p;
}

void *xrealloc(void *p, size_t size)
{
	void *np = realloc(p, size == 0 ? 1 : size);
	if (np == NULL)
		out_of_memory(size);
	return np;
}

char *xstrdup(const char *s)
{
	size_t len = strlen(s);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	return p;
}

pool_t *pool_create(void)
{
	return xmalloc(sizeof(struct pool));
}

void pool_destroy(pool_t *pool)
{
	if (pool == NULL)
		return;
	struct pool_block *b = pool->blocks;
	while (b != NULL) {
		struct pool_block *next = b->next;
		free(b);
		b = next;
	}
	free(pool);
}

static struct pool_block *block_new(size_t size)
{
	if (size > SIZE_MAX - sizeof(struct pool_block))
		out_of_memory(size);
	struct pool_block *b = malloc(sizeof(*b) + size);
	if (b == NULL)
		out_of_memory(size);
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

void *pool_alloc(pool_t *pool, size_t size)
{
	if (size > SIZE_MAX - POOL_ALIGN)
		out_of_memory(size);
	size = (size + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
	if (size == 0)
		size = POOL_ALIGN;

	struct pool_block *b = pool->blocks;
	if (size > POOL_BLOCK_SIZE / 4) {
		/* Own block, linked behind the current one so the current
		 * block keeps serving small requests. */
		struct pool_block *big = block_new(size);
		big->used = size;
		if (b == NULL) {
			pool->blocks = big;
		} else {
			big->next = b->next;
			b->next = big;
		}
		memset(big->data, 0, size);
		return big->data;
	}
	if (b == NULL || b->size - b->used < size) {
		b = block_new(POOL_BLOCK_SIZE);
		b->next = pool->blocks;
		pool->blocks = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

void *pool_memdup(pool_t *pool, const void *data, size_t n)
{
	void *p = pool_alloc(pool, n);
	if (n > 0)
		memcpy(p, data, n);
	return p;
}

char *pool_strndup(pool_t *pool, const char *s, size_t n)
{
	char *p = pool_alloc(pool, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *pool_strdup(pool_t *pool, const char *s)
{
	if (s == NULL)
		return NULL;
	return pool_strndup(pool, s, strlen(s));
}

char *pool_vprintf(pool_t *pool, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int len = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (len < 0)
		len = 0;
	char *p = pool_alloc(pool, (size_t)len + 1);
	vsnprintf(p, (size_t)len + 1, fmt, ap);
	return p;
}

char *pool_printf(pool_t *pool, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = pool_vprintf(pool, fmt, ap);
	va_end(ap);
	return p;
}
