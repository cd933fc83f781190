/* Open-addressing string hash table; see maildir-hash.h. */
#include "config.h"
#include "maildir-hash.h"

#include <string.h>

#define MAILDIR_HASH_MIN_SLOTS 64

struct maildir_hash {
	pool_t *pool;
	struct maildir_hash_entry *slots;
	size_t nslots;   /* a power of two */
	size_t count;
};

/* FNV-1a: keys are file names, not attacker-chosen in bulk, and a
 * mailbox owner who crafts colliding names only slows their own session. */
static uint64_t hash_key(const char *key, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static size_t slots_for(size_t count)
{
	size_t n = MAILDIR_HASH_MIN_SLOTS;
	/* keep the load factor at or below one half */
	while (n / 2 < count)
		n *= 2;
	return n;
}

struct maildir_hash *maildir_hash_create(pool_t *pool, size_t expected)
{
	struct maildir_hash *hash = pool_alloc(pool, sizeof(*hash));
	hash->pool = pool;
	hash->nslots = slots_for(expected);
	hash->slots = pool_alloc(pool, hash->nslots * sizeof(*hash->slots));
	return hash;
}

static struct maildir_hash_entry *
find_slot(struct maildir_hash_entry *slots, size_t nslots, const char *key,
	  size_t key_len)
{
	size_t i = (size_t)hash_key(key, key_len) & (nslots - 1);
	for (;;) {
		struct maildir_hash_entry *e = &slots[i];
		if (e->key == NULL)
			return e;
		if (e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
			return e;
		i = (i + 1) & (nslots - 1);
	}
}

/* The old table stays in the pool until the pool dies: growth doubles,
 * so the waste is bounded by the final table size. */
static void grow(struct maildir_hash *hash)
{
	size_t nslots = hash->nslots * 2;
	struct maildir_hash_entry *slots =
		pool_alloc(hash->pool, nslots * sizeof(*slots));
	for (size_t i = 0; i < hash->nslots; i++) {
		struct maildir_hash_entry *old = &hash->slots[i];
		if (old->key != NULL)
			*find_slot(slots, nslots, old->key, old->key_len) = *old;
	}
	hash->slots = slots;
	hash->nslots = nslots;
}

struct maildir_hash_entry *maildir_hash_lookup(struct maildir_hash *hash,
					       const char *key, size_t key_len)
{
	struct maildir_hash_entry *e =
		find_slot(hash->slots, hash->nslots, key, key_len);
	return e->key != NULL ? e : NULL;
}

struct maildir_hash_entry *maildir_hash_insert(struct maildir_hash *hash,
					       const char *key, size_t key_len,
					       bool *created_r)
{
	struct maildir_hash_entry *e =
		find_slot(hash->slots, hash->nslots, key, key_len);
	if (e->key != NULL) {
		*created_r = false;
		return e;
	}
	if (hash->count + 1 > hash->nslots / 2) {
		grow(hash);
		e = find_slot(hash->slots, hash->nslots, key, key_len);
	}
	e->key = key;
	e->key_len = key_len;
	hash->count++;
	*created_r = true;
	return e;
}

size_t maildir_hash_count(const struct maildir_hash *hash)
{
	return hash->count;
}

struct maildir_hash_entry *maildir_hash_next(struct maildir_hash *hash,
					     size_t *pos)
{
	while (*pos < hash->nslots) {
		struct maildir_hash_entry *e = &hash->slots[(*pos)++];
		if (e->key != NULL)
			return e;
	}
	return NULL;
}
