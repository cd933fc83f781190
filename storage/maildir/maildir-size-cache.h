/*
 * The per-mailbox POP3 size cache, "<maildir>/roost-sizes".
 *
 * The first line is the version header MAILDIR_SIZE_CACHE_HEADER, then
 * one line per message, "<base name> <POP3 size>\n"; the size is the last
 * space-separated field, so a base name may itself contain spaces (one
 * containing '\n' is never stored). Messages never change content, so an
 * entry is valid as long as its base name exists. The file is read once
 * when a mailbox is opened and rewritten (temporary file, fsync, rename)
 * only when new sizes were computed; the rewrite keeps only the entries
 * looked up or added since it was read, which prunes deleted messages.
 * A damaged line is skipped with a warning: the cache is an optimisation,
 * never a reason to refuse a session.
 *
 * Versions: the POP3 size of a message whose last line has no line end
 * used to include the CRLF that RETR adds (Roost before version 2 of the
 * file, which had no header); it now leaves it out, as Dovecot does. A
 * file without the header is read as "legacy": its entries are still
 * returned, and the caller corrects them (a one-byte read of each
 * message, not a read of its body) and adds them again, which rewrites
 * the file in the current version. A header of an unknown (later)
 * version makes the whole file be ignored. Going back to an older Roost
 * needs the file deleted: it would read version-2 sizes as its own.
 */
#ifndef ROOST_MAILDIR_SIZE_CACHE_H
#define ROOST_MAILDIR_SIZE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "pool.h"

#define MAILDIR_SIZE_CACHE_NAME "roost-sizes"
/* ':' cannot start a base name we store, so this line is no entry. */
#define MAILDIR_SIZE_CACHE_HEADER ":roost-sizes 2"

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
/* True when the file had no version header (sizes of the old rule). */
bool maildir_size_cache_is_legacy(const struct maildir_size_cache *cache);
/* True when maildir_size_cache_add() stored something new. */
bool maildir_size_cache_is_dirty(const struct maildir_size_cache *cache);
/* Atomically replaces the file with the entries looked up or added. */
int maildir_size_cache_write(struct maildir_size_cache *cache,
			     struct error *err);

#endif
