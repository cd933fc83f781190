/* The maildir POP3 size cache; see maildir-size-cache.h. */
#include "config.h"
#include "maildir-size-cache.h"

#include "decimal.h"
#include "maildir-hash.h"
#include "maildir-name.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A base name, a space, 20 digits and a newline: longer lines cannot be
 * ours, so they are skipped without being stored. */
#define SIZE_CACHE_LINE_MAX (MAILDIR_NAME_MAX + 1 + 20 + 1)

struct maildir_size_cache {
	pool_t *pool;
	const char *path;
	struct maildir_hash *hash;
	bool legacy;
	bool ignored;   /* a header of a later version */
	bool dirty;
};

static void cache_warn(const char *path, unsigned line, const char *why)
{
	log_warning("Ignoring line %u of maildir size cache %s: %s",
		    line, path, why);
}

static void cache_parse_line(struct maildir_size_cache *cache, char *line,
			     size_t len, unsigned lineno)
{
	if (len == 0 || line[len - 1] != '\n') {
		/* only the last line can lack it: a torn write */
		cache_warn(cache->path, lineno, "no line end");
		return;
	}
	len--;
	if (len > SIZE_CACHE_LINE_MAX || memchr(line, '\0', len) != NULL) {
		cache_warn(cache->path, lineno, "too long or binary");
		return;
	}
	char *space = NULL;
	for (size_t i = len; i > 0; i--) {
		if (line[i - 1] == ' ') {
			space = line + i - 1;
			break;
		}
	}
	uint64_t size;
	if (space == NULL || space == line) {
		cache_warn(cache->path, lineno, "no base name");
		return;
	}
	size_t base_len = (size_t)(space - line);
	if (base_len > MAILDIR_NAME_MAX || memchr(line, ':', base_len) != NULL) {
		cache_warn(cache->path, lineno, "invalid base name");
		return;
	}
	if (!decimal_parse_u64(space + 1, len - base_len - 1, &size)) {
		cache_warn(cache->path, lineno, "invalid size");
		return;
	}
	bool created;
	struct maildir_hash_entry *e = maildir_hash_insert(
		cache->hash, pool_strndup(cache->pool, line, base_len),
		base_len, &created);
	if (!created && e->value != size) {
		/* Which one is right is unknown: forget both and recompute,
		 * a wrong size would make LIST and RETR disagree. */
		cache_warn(cache->path, lineno, "conflicting duplicate");
		e->invalid = true;
		return;
	}
	e->value = size;
}

/* The first line: the current header (true), a header of another
 * version (true; the file is then ignored), or an entry of a legacy file
 * (false). */
static bool cache_parse_header(struct maildir_size_cache *cache,
			       const char *line, size_t len)
{
	size_t hlen = strlen(MAILDIR_SIZE_CACHE_HEADER);
	if (len == hlen + 1 && memcmp(line, MAILDIR_SIZE_CACHE_HEADER, hlen) == 0 &&
	    line[hlen] == '\n')
		return true;
	if (len > 0 && line[0] == ':') {
		log_warning("Ignoring maildir size cache %s: unknown version "
			    "header", cache->path);
		cache->ignored = true;
		return true;
	}
	cache->legacy = true;
	return false;
}

struct maildir_size_cache *maildir_size_cache_read(pool_t *pool,
						   const char *path)
{
	struct maildir_size_cache *cache = pool_alloc(pool, sizeof(*cache));
	cache->pool = pool;
	cache->path = pool_strdup(pool, path);
	cache->hash = maildir_hash_create(pool, 0);

	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warning("Cannot read maildir size cache %s: %s",
				    path, strerror(errno));
		return cache;
	}
	FILE *f = fdopen(fd, "r");
	if (f == NULL) {
		log_warning("Cannot read maildir size cache %s: %s", path,
			    strerror(errno));
		close(fd);
		return cache;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (lineno == 1 && cache_parse_header(cache, line, (size_t)n))
			continue;
		if (cache->ignored)
			break;
		cache_parse_line(cache, line, (size_t)n, lineno);
	}
	if (ferror(f))
		log_warning("Error reading maildir size cache %s: %s", path,
			    strerror(errno));
	free(line);
	fclose(f);
	return cache;
}

bool maildir_size_cache_lookup(struct maildir_size_cache *cache,
			       const char *base, uint64_t *size_r)
{
	struct maildir_hash_entry *e =
		maildir_hash_lookup(cache->hash, base, strlen(base));
	if (e == NULL || e->invalid)
		return false;
	e->used = true;
	*size_r = e->value;
	return true;
}

void maildir_size_cache_add(struct maildir_size_cache *cache,
			    const char *base, uint64_t size)
{
	size_t len = strlen(base);
	if (len == 0 || len > MAILDIR_NAME_MAX || strchr(base, '\n') != NULL)
		return;
	bool created;
	struct maildir_hash_entry *e = maildir_hash_insert(
		cache->hash, pool_strndup(cache->pool, base, len), len,
		&created);
	e->value = size;
	e->invalid = false;
	e->used = true;
	cache->dirty = true;
}

bool maildir_size_cache_is_legacy(const struct maildir_size_cache *cache)
{
	return cache->legacy;
}

bool maildir_size_cache_is_dirty(const struct maildir_size_cache *cache)
{
	return cache->dirty;
}

int maildir_size_cache_write(struct maildir_size_cache *cache,
			     struct error *err)
{
	char *tmp = pool_printf(cache->pool, "%s.tmp.XXXXXX", cache->path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		error_set_errno(err, "mkostemp(%s) failed", tmp);
		return -1;
	}
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		error_set_errno(err, "fdopen(%s) failed", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	fprintf(f, "%s\n", MAILDIR_SIZE_CACHE_HEADER);
	size_t pos = 0;
	struct maildir_hash_entry *e;
	while ((e = maildir_hash_next(cache->hash, &pos)) != NULL) {
		if (!e->used || e->invalid)
			continue;
		fwrite(e->key, 1, e->key_len, f);
		fprintf(f, " %llu\n", (unsigned long long)e->value);
	}
	/* fsync before rename: otherwise a crash can leave the new name
	 * pointing at an empty file on some file systems. */
	if (fflush(f) != 0 || ferror(f) || fsync(fd) < 0) {
		error_set_errno(err, "write(%s) failed", tmp);
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0) {
		error_set_errno(err, "close(%s) failed", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, cache->path) < 0) {
		error_set_errno(err, "rename(%s, %s) failed", tmp, cache->path);
		unlink(tmp);
		return -1;
	}
	cache->dirty = false;
	return 0;
}
