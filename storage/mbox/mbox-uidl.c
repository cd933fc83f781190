/* The UIDL rule; see mbox-uidl.h. */
#include "config.h"
#include "mbox-uidl.h"

#include "storage.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for "-" and the decimal suffix of a 64-bit counter. */
#define UIDL_SUFFIX_MAX 21
/* A base made here: the digest's hex digits (Dovecot's 16 are fewer). */
#define UIDL_MADE_MAX (MBOX_HASH_BYTES * 2)
/* How many messages ahead the set's slots are prefetched: enough to
 * cover a memory access with the work of adding the messages between. */
#define UIDL_PREFETCH_AHEAD 16

/* An open-addressing set of the UIDLs handed out so far. A 100,000
 * message mailbox makes it larger than the caches, so a slot keeps part
 * of its UIDL's hash next to the number of the message that holds the
 * UIDL: a probe reads the string (another cache miss) only when that
 * part matches, and the slots of the next messages are fetched ahead
 * (UIDL_PREFETCH_AHEAD). The hash is SipHash (crypto_shorthash) under a
 * random key, because senders choose X-UIDLs and must not be able to make
 * the probes collide. */
struct uidl_slot {
	uint32_t tag;             /* the hash's upper half */
	/* 1 + the message's index, 0: empty (a mailbox lists at most
	 * MBOX_MAX_MESSAGES, mbox-mailbox.h) */
	uint32_t holder;
};

struct uidl_set {
	struct uidl_slot *slots;
	size_t mask;
	const char **uidls;       /* the results: the holders' UIDLs */
	unsigned char key[crypto_shorthash_KEYBYTES];
};

static uint64_t set_hash(const struct uidl_set *set, const char *s,
			 size_t len)
{
	unsigned char h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const unsigned char *)s, len, set->key);
	uint64_t hash;
	memcpy(&hash, h, sizeof(hash));
	return hash;
}

static void set_prefetch(const struct uidl_set *set, uint64_t hash)
{
	__builtin_prefetch(&set->slots[(size_t)hash & set->mask], 1);
}

/* Gives message i the UIDL s (whose set_hash() is hash) unless another
 * message holds it already; false then. */
static bool set_claim(struct uidl_set *set, size_t i, const char *s,
		      uint64_t hash)
{
	uint32_t tag = (uint32_t)(hash >> 32);
	size_t pos = (size_t)hash & set->mask;
	for (; set->slots[pos].holder != 0; pos = (pos + 1) & set->mask) {
		if (set->slots[pos].tag == tag &&
		    strcmp(set->uidls[set->slots[pos].holder - 1], s) == 0)
			return false;
	}
	set->slots[pos].tag = tag;
	set->slots[pos].holder = (uint32_t)(i + 1);
	set->uidls[i] = s;
	return true;
}

static bool x_uidl_valid(const struct mbox_uidl_input *in)
{
	return in->x_uidl != NULL &&
		storage_uidl_is_valid(in->x_uidl, strlen(in->x_uidl));
}

/* The base when it is the message's own X-UIDL, else NULL. */
static const char *x_uidl_base(const struct mbox_uidl_rule *rule,
			       const struct mbox_uidl_input *in)
{
	bool xuidl_counts = rule->dovecot && in->uid != 0 ?
		rule->reuse_xuidl : !rule->dovecot;
	return xuidl_counts && x_uidl_valid(in) ? in->x_uidl : NULL;
}

/* Lower-case hex. Not sodium_bin2hex(): its constant time makes it the
 * largest cost of a login from the index, and digests are no secrets. */
static void hex(char *out, const unsigned char *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0xf];
	}
	out[2 * len] = '\0';
}

/* Writes a base made from the X-UID or the digest to out (room for
 * UIDL_MADE_MAX + 1); returns its length. */
static size_t made_base(const struct mbox_uidl_rule *rule,
			const struct mbox_uidl_input *in, char *out)
{
	if (rule->dovecot && in->uid != 0) {
		storage_uidl_dovecot(in->uid, rule->uidvalidity, out);
		return STORAGE_DOVECOT_UIDL_LEN;
	}
	hex(out, in->hash, MBOX_HASH_BYTES);
	return 2 * MBOX_HASH_BYTES;
}

/* Rule 3 for message i, whose base another message holds. */
static void claim_suffixed(pool_t *pool, struct uidl_set *set, size_t i,
			   const char *base)
{
	for (uint64_t n = 2; ; n++) {
		char suffix[UIDL_SUFFIX_MAX + 1];
		int slen = snprintf(suffix, sizeof(suffix), "-%llu",
				    (unsigned long long)n);
		size_t blen = strlen(base);
		if (blen + (size_t)slen > MBOX_UIDL_MAX)
			blen = MBOX_UIDL_MAX - (size_t)slen;
		char *candidate = pool_printf(pool, "%.*s%s", (int)blen, base,
					      suffix);
		if (set_claim(set, i, candidate,
			      set_hash(set, candidate, strlen(candidate))))
			return;
	}
}

void mbox_uidl_assign(pool_t *pool, const struct mbox_uidl_rule *rule,
		      const struct mbox_uidl_input *in, size_t count,
		      const char **uidls_r)
{
	/* Every message ends up holding one UIDL: at most count entries,
	 * kept at most half full. */
	size_t cap = 16;
	while (cap < count * 2)
		cap *= 2;
	struct uidl_set set = {
		.slots = xmalloc(cap * sizeof(*set.slots)),
		.mask = cap - 1,
		.uidls = uidls_r,
	};
	randombytes_buf(set.key, sizeof(set.key));
	/* the made bases share one allocation: one per message would cost
	 * more than making them */
	size_t made = 0;
	for (size_t i = 0; i < count; i++)
		made += x_uidl_base(rule, &in[i]) == NULL;
	char *space = made == 0 ? NULL :
		pool_alloc(pool, made * (UIDL_MADE_MAX + 1));

	/* Rule 2: message i claims its base while the base of message
	 * i + UIDL_PREFETCH_AHEAD is made and its slot fetched. */
	const char *base[UIDL_PREFETCH_AHEAD];
	uint64_t hash[UIDL_PREFETCH_AHEAD];
	size_t *taken = NULL, taken_count = 0, taken_cap = 0;
	for (size_t i = 0; i < count + UIDL_PREFETCH_AHEAD; i++) {
		if (i >= UIDL_PREFETCH_AHEAD) {
			size_t j = i - UIDL_PREFETCH_AHEAD;
			size_t k = j % UIDL_PREFETCH_AHEAD;
			if (!set_claim(&set, j, base[k], hash[k])) {
				if (taken_count == taken_cap) {
					taken_cap = taken_cap == 0 ? 16 :
						2 * taken_cap;
					taken = xrealloc(taken, taken_cap *
							 sizeof(*taken));
				}
				taken[taken_count++] = j;
			}
		}
		if (i < count) {
			size_t k = i % UIDL_PREFETCH_AHEAD;
			base[k] = x_uidl_base(rule, &in[i]);
			size_t len;
			if (base[k] != NULL) {
				len = strlen(base[k]);
			} else {
				len = made_base(rule, &in[i], space);
				base[k] = space;
				space += UIDL_MADE_MAX + 1;
			}
			hash[k] = set_hash(&set, base[k], len);
			set_prefetch(&set, hash[k]);
		}
	}
	/* Rule 3, in mailbox order */
	for (size_t t = 0; t < taken_count; t++) {
		const struct mbox_uidl_input *m = &in[taken[t]];
		char made_here[UIDL_MADE_MAX + 1];
		const char *b = x_uidl_base(rule, m);
		if (b == NULL) {
			made_base(rule, m, made_here);
			b = made_here;
		}
		claim_suffixed(pool, &set, taken[t], b);
	}
	free(taken);
	free(set.slots);
}
