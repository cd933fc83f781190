/* Per-address login penalties; see auth-penalty.h. */
#include "config.h"
#include "auth-penalty.h"

#include <sodium.h>
#include <stdbool.h>
#include <string.h>

/* Enough for every address hammering one server at once; 4096 entries of
 * 64 bytes is 256 KiB. */
#define AUTH_PENALTY_ENTRIES 4096
/* Slots probed for a key; bounds every lookup. */
#define AUTH_PENALTY_PROBE 8
/* An address that has been quiet this long starts afresh. */
#define AUTH_PENALTY_FORGET_MS (10 * 60 * 1000)
/* IPv6 text is at most 45 characters. */
#define AUTH_PENALTY_IP_MAX 46

struct penalty_entry {
	char ip[AUTH_PENALTY_IP_MAX];
	unsigned failures;
	uint64_t last_ms;
};

static struct penalty_entry table[AUTH_PENALTY_ENTRIES];
static unsigned base_delay_ms;
/* A secret key, so nobody can pick addresses that collide on purpose. */
static unsigned char hash_key[crypto_shorthash_KEYBYTES];

void auth_penalty_init(unsigned base_ms)
{
	base_delay_ms = base_ms;
	memset(table, 0, sizeof(table));
	randombytes_buf(hash_key, sizeof(hash_key));
}

static size_t slot_of(const char *ip)
{
	unsigned char h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const unsigned char *)ip, strlen(ip), hash_key);
	uint64_t v;
	memcpy(&v, h, sizeof(v));
	return (size_t)(v % AUTH_PENALTY_ENTRIES);
}

/* The entry for ip, or NULL; with create, an entry is made (replacing the
 * stalest in the probe window if all are taken). */
static struct penalty_entry *lookup(const char *ip, bool create, uint64_t now_ms)
{
	if (strlen(ip) >= AUTH_PENALTY_IP_MAX)
		return NULL;
	size_t start = slot_of(ip);
	struct penalty_entry *stalest = NULL;
	for (size_t i = 0; i < AUTH_PENALTY_PROBE; i++) {
		struct penalty_entry *e = &table[(start + i) % AUTH_PENALTY_ENTRIES];
		if (e->ip[0] != '\0' && strcmp(e->ip, ip) == 0) {
			if (now_ms - e->last_ms > AUTH_PENALTY_FORGET_MS)
				e->failures = 0;
			return e;
		}
		if (stalest == NULL || e->ip[0] == '\0' ||
		    (stalest->ip[0] != '\0' && e->last_ms < stalest->last_ms))
			stalest = e;
	}
	if (!create)
		return NULL;
	memset(stalest, 0, sizeof(*stalest));
	memcpy(stalest->ip, ip, strlen(ip) + 1);
	stalest->last_ms = now_ms;
	return stalest;
}

unsigned auth_penalty_delay(const char *ip, uint64_t now_ms)
{
	struct penalty_entry *e = lookup(ip, false, now_ms);
	if (e == NULL || e->failures == 0 || base_delay_ms == 0)
		return 0;
	uint64_t delay = base_delay_ms;
	for (unsigned i = 1; i < e->failures && delay < AUTH_PENALTY_MAX_MS; i++)
		delay *= 2;
	return delay > AUTH_PENALTY_MAX_MS ? AUTH_PENALTY_MAX_MS : (unsigned)delay;
}

void auth_penalty_failure(const char *ip, uint64_t now_ms)
{
	struct penalty_entry *e = lookup(ip, true, now_ms);
	if (e == NULL)
		return;
	if (e->failures < 64)
		e->failures++;
	e->last_ms = now_ms;
}

void auth_penalty_success(const char *ip)
{
	struct penalty_entry *e = lookup(ip, false, 0);
	if (e != NULL)
		e->failures = 0;
}
