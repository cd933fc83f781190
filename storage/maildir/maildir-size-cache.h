/*
 * The per-mailbox POP3 size cache, "<maildir>/roost-sizes".
 *
 * One line per message, "<base name> <POP3 size>\n"; the size is the last
 * space-separated field, so a base name may itself contain spaces (one
 * containing '\n' is never stored). Messages never change content, so an
 * entry is valid as long as its base name exists. The file is read once
 * when a mailbox is opened and rewritten (temporary file, fsync, rename)
 * only when new sizes were computed; the rewrite keeps only the entries
 * looked up or added since it was read, which prunes deleted messages.
 * A damaged line is skipped with a warning: the cache is an optimisation,
 * never a reason to refuse a session.
 */
#ifndef ROOST_MAILDIR_SIZE_CACHE_H
#define ROOST_MAILDIR_SIZE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "pool.h"

#define MAILDIR_SIZE_CACHE_NAME "roost-sizes"

struct maildir_size_cache;

/* Reads the cache at path; a missing or unreadable file gives an empty
 * cache (unreadable is logged). Never returns NULL. */
struct maildir_size_cache *maildir_size_cache_read(pool_t *pool,
						   const char *path);
/* Looks up a base name and marks the entry as still needed. */
bool maildir_size_cache_lookup(struct maildir_size_cache *cache,
			       const char *base, uint64_t *size_r);
/* Records a computed size (base is copied). Base names that cannot be
 * stored in the line format are ignored. */
void maildir_size_cache_add(struct maildir_size_cache *cache,
			    const char *base, uint64_t size);
/* True when maildir_size_cache_add() stored something new. */
bool maildir_size_cache_is_dirty(const struct maildir_size_cache *cache);
/* Atomically replaces the file with the entries looked up or added. */
int maildir_size_cache_write(struct maildir_size_cache *cache,
			     struct error *err);

#endif
