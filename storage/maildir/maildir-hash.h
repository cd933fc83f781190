/*
 * A string-keyed hash table living in a pool, for the two places the
 * maildir driver must look names up among up to a million messages: the
 * size cache and UIDL uniqueness. Keys are not copied: the caller keeps
 * them alive in the same pool. Entries are never removed.
 */
#ifndef ROOST_MAILDIR_HASH_H
#define ROOST_MAILDIR_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool.h"

struct maildir_hash_entry {
	const char *key;
	size_t key_len;
	uint64_t value;
	bool used;      /* free for the caller's bookkeeping */
	bool invalid;   /* ditto */
};

struct maildir_hash;

struct maildir_hash *maildir_hash_create(pool_t *pool, size_t expected);
struct maildir_hash_entry *maildir_hash_lookup(struct maildir_hash *hash,
					       const char *key, size_t key_len);
/* Returns the entry for key, adding a zeroed one if there was none
 * (*created_r tells which). */
struct maildir_hash_entry *maildir_hash_insert(struct maildir_hash *hash,
					       const char *key, size_t key_len,
					       bool *created_r);
size_t maildir_hash_count(const struct maildir_hash *hash);
/* Iteration: *pos starts at 0; returns NULL after the last entry. */
struct maildir_hash_entry *maildir_hash_next(struct maildir_hash *hash,
					     size_t *pos);

#endif
