/*
 * The optional auth cache (auth_cache_size > 0): answers of the passdb
 * chain and the userdbs kept for auth_cache_ttl (successes) or
 * auth_cache_negative_ttl (unknown user, wrong password, disabled
 * account), so that a client polling every minute does not cost an Argon2
 * hash or a database round trip each time. Internal errors are never
 * kept.
 *
 * A password check is keyed by the user and a BLAKE2b hash of the
 * password keyed with a random per-process key: the cache never holds a
 * password, and its keys are useless outside this process. The number of
 * entries is bounded; the least recently used one makes room. Flushed
 * when the auth process gets SIGHUP (a reload starts a new auth process
 * anyway).
 *
 * Every function accepts a NULL cache (the cache is off): nothing is
 * found, nothing kept, nothing counted.
 */
#ifndef ROOST_AUTH_CACHE_H
#define ROOST_AUTH_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "auth-module.h"
#include "buffer.h"
#include "pool.h"

struct auth_cache;

struct auth_cache *auth_cache_create(unsigned max_entries, unsigned ttl_ms,
				     unsigned negative_ttl_ms);
void auth_cache_destroy(struct auth_cache *cache);

/* Keys (binary; replace what key holds). */
void auth_cache_key_passdb(struct buffer *key, const char *user,
			   const char *password);
void auth_cache_key_userdb(struct buffer *key, const char *user);

/* On a hit (an entry younger than its TTL) returns true with the stored
 * result, its log reason and fields copied into pool. Counts hits and
 * misses. */
bool auth_cache_lookup(struct auth_cache *cache, const struct buffer *key,
		       uint64_t now_ms, pool_t *pool,
		       enum passdb_result *result_r, const char **reason_r,
		       struct auth_user_fields *fields_r);
/* Keeps result (not PASSDB_INTERNAL_ERROR, which is ignored) under key,
 * replacing an older entry. fields: for PASSDB_OK. */
void auth_cache_insert(struct auth_cache *cache, const struct buffer *key,
		       uint64_t now_ms, enum passdb_result result,
		       const char *reason,
		       const struct auth_user_fields *fields);
void auth_cache_flush(struct auth_cache *cache);

unsigned auth_cache_count(const struct auth_cache *cache);
uint64_t auth_cache_hits(const struct auth_cache *cache);
uint64_t auth_cache_misses(const struct auth_cache *cache);

#endif
