/* The auth cache; see auth-cache.h. */
#include "config.h"
#include "auth-cache.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Buckets per entry bound: a load factor of at most 1. The table never
 * grows beyond what auth_cache_size asks for. */
#define AUTH_CACHE_BUCKETS_MIN 16
/* The password hash in a key: 256 bits, no collisions in practice. */
#define AUTH_CACHE_PASSWORD_HASH_LEN 32

struct cache_entry {
	struct cache_entry *bucket_next;
	struct cache_entry *lru_prev, *lru_next;   /* head = most recent */
	pool_t *pool;
	char *key;
	size_t key_len;
	uint64_t hash;
	uint64_t expires;
	enum passdb_result result;
	const char *reason;
	struct auth_user_fields fields;
};

struct auth_cache {
	unsigned max_entries;
	unsigned ttl_ms, negative_ttl_ms;
	struct cache_entry **buckets;
	unsigned bucket_count;           /* a power of two */
	struct cache_entry *lru_head, *lru_tail;
	unsigned count;
	uint64_t hits, misses;
};

/* Per process: keys the password hash and the bucket hash, so neither a
 * key nor the table layout can be predicted from outside. */
static unsigned char password_key[crypto_generichash_KEYBYTES];
static unsigned char bucket_key[crypto_shorthash_KEYBYTES];
static bool keys_made;

static void make_keys(void)
{
	if (keys_made)
		return;
	randombytes_buf(password_key, sizeof(password_key));
	randombytes_buf(bucket_key, sizeof(bucket_key));
	keys_made = true;
}

struct auth_cache *auth_cache_create(unsigned max_entries, unsigned ttl_ms,
				     unsigned negative_ttl_ms)
{
	make_keys();
	struct auth_cache *cache = xmalloc(sizeof(*cache));
	cache->max_entries = max_entries > 0 ? max_entries : 1;
	cache->ttl_ms = ttl_ms;
	cache->negative_ttl_ms = negative_ttl_ms;
	cache->bucket_count = AUTH_CACHE_BUCKETS_MIN;
	while (cache->bucket_count < cache->max_entries &&
	       cache->bucket_count < (1u << 30))
		cache->bucket_count *= 2;
	cache->buckets = xmalloc(sizeof(*cache->buckets) * cache->bucket_count);
	return cache;
}

void auth_cache_destroy(struct auth_cache *cache)
{
	if (cache == NULL)
		return;
	auth_cache_flush(cache);
	free(cache->buckets);
	free(cache);
}

void auth_cache_key_passdb(struct buffer *key, const char *user,
			   const char *password)
{
	unsigned char hash[AUTH_CACHE_PASSWORD_HASH_LEN];
	make_keys();
	crypto_generichash(hash, sizeof(hash), (const unsigned char *)password,
			   strlen(password), password_key, sizeof(password_key));
	buffer_reset(key);
	buffer_append_str(key, "P");
	buffer_append(key, user, strlen(user) + 1);
	buffer_append(key, hash, sizeof(hash));
	sodium_memzero(hash, sizeof(hash));
}

void auth_cache_key_userdb(struct buffer *key, const char *user)
{
	buffer_reset(key);
	buffer_append_str(key, "U");
	buffer_append(key, user, strlen(user) + 1);
}

static uint64_t key_hash(const struct buffer *key)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;
	crypto_shorthash(out, (const unsigned char *)key->data, key->len, bucket_key);
	memcpy(&h, out, sizeof(h));
	return h;
}

static void lru_unlink(struct auth_cache *cache, struct cache_entry *e)
{
	if (e->lru_prev != NULL)
		e->lru_prev->lru_next = e->lru_next;
	else
		cache->lru_head = e->lru_next;
	if (e->lru_next != NULL)
		e->lru_next->lru_prev = e->lru_prev;
	else
		cache->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_push(struct auth_cache *cache, struct cache_entry *e)
{
	e->lru_next = cache->lru_head;
	if (cache->lru_head != NULL)
		cache->lru_head->lru_prev = e;
	cache->lru_head = e;
	if (cache->lru_tail == NULL)
		cache->lru_tail = e;
}

static struct cache_entry **find_slot(struct auth_cache *cache,
				      const struct buffer *key, uint64_t hash)
{
	struct cache_entry **p = &cache->buckets[hash & (cache->bucket_count - 1)];
	for (; *p != NULL; p = &(*p)->bucket_next) {
		if ((*p)->hash == hash && (*p)->key_len == key->len &&
		    memcmp((*p)->key, key->data, key->len) == 0)
			break;
	}
	return p;
}

static void entry_remove(struct auth_cache *cache, struct cache_entry *e)
{
	struct buffer key = { .data = e->key, .len = e->key_len, .cap = e->key_len };
	struct cache_entry **p = find_slot(cache, &key, e->hash);
	if (*p == e)
		*p = e->bucket_next;
	lru_unlink(cache, e);
	cache->count--;
	pool_destroy(e->pool);
}

static void fields_copy(pool_t *pool, struct auth_user_fields *to,
			const struct auth_user_fields *from)
{
	*to = *from;
	to->user = pool_strdup(pool, from->user);
	to->home = pool_strdup(pool, from->home);
	to->mail = pool_strdup(pool, from->mail);
	for (unsigned i = 0; i < from->extra_count; i++) {
		to->extra_keys[i] = pool_strdup(pool, from->extra_keys[i]);
		to->extra_values[i] = pool_strdup(pool, from->extra_values[i]);
	}
}

bool auth_cache_lookup(struct auth_cache *cache, const struct buffer *key,
		       uint64_t now_ms, pool_t *pool,
		       enum passdb_result *result_r, const char **reason_r,
		       struct auth_user_fields *fields_r)
{
	if (cache == NULL)
		return false;
	struct cache_entry *e = *find_slot(cache, key, key_hash(key));
	if (e != NULL && e->expires <= now_ms) {
		entry_remove(cache, e);
		e = NULL;
	}
	if (e == NULL) {
		cache->misses++;
		return false;
	}
	cache->hits++;
	lru_unlink(cache, e);
	lru_push(cache, e);
	*result_r = e->result;
	*reason_r = pool_strdup(pool, e->reason);
	fields_copy(pool, fields_r, &e->fields);
	return true;
}

void auth_cache_insert(struct auth_cache *cache, const struct buffer *key,
		       uint64_t now_ms, enum passdb_result result,
		       const char *reason,
		       const struct auth_user_fields *fields)
{
	if (cache == NULL || result == PASSDB_INTERNAL_ERROR)
		return;
	uint64_t hash = key_hash(key);
	struct cache_entry *old = *find_slot(cache, key, hash);
	if (old != NULL)
		entry_remove(cache, old);
	if (cache->count >= cache->max_entries)
		entry_remove(cache, cache->lru_tail);

	pool_t *pool = pool_create();
	struct cache_entry *e = pool_alloc(pool, sizeof(*e));
	e->pool = pool;
	e->key = pool_memdup(pool, key->data, key->len);
	e->key_len = key->len;
	e->hash = hash;
	e->expires = now_ms + (result == PASSDB_OK ? cache->ttl_ms :
			       cache->negative_ttl_ms);
	e->result = result;
	e->reason = pool_strdup(pool, reason != NULL ? reason : "");
	if (result == PASSDB_OK && fields != NULL)
		fields_copy(pool, &e->fields, fields);
	else
		auth_user_fields_init(&e->fields, NULL);
	struct cache_entry **slot = &cache->buckets[hash & (cache->bucket_count - 1)];
	e->bucket_next = *slot;
	*slot = e;
	lru_push(cache, e);
	cache->count++;
}

void auth_cache_flush(struct auth_cache *cache)
{
	if (cache == NULL)
		return;
	while (cache->lru_head != NULL)
		entry_remove(cache, cache->lru_head);
}

unsigned auth_cache_count(const struct auth_cache *cache)
{
	return cache != NULL ? cache->count : 0;
}

uint64_t auth_cache_hits(const struct auth_cache *cache)
{
	return cache != NULL ? cache->hits : 0;
}

uint64_t auth_cache_misses(const struct auth_cache *cache)
{
	return cache != NULL ? cache->misses : 0;
}
