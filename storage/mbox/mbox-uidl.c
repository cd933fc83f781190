/* The UIDL rule; see mbox-uidl.h. */
#include "config.h"
#include "mbox-uidl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for "-" and the decimal suffix of a 64-bit counter. */
#define UIDL_SUFFIX_MAX 21

/* An open-addressing set of the UIDLs handed out so far. */
struct uidl_set {
	const char **slots;
	size_t mask;
};

static uint64_t str_hash(const char *s)
{
	/* FNV-1a: the keys are already digests or server-made IDs. */
	uint64_t h = 14695981039346656037ULL;
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Returns false when s is already in the set. */
static bool set_add(struct uidl_set *set, const char *s)
{
	size_t i = (size_t)str_hash(s) & set->mask;
	while (set->slots[i] != NULL) {
		if (strcmp(set->slots[i], s) == 0)
			return false;
		i = (i + 1) & set->mask;
	}
	set->slots[i] = s;
	return true;
}

static bool x_uidl_valid(const struct mbox_uidl_input *in)
{
	return in->x_uidl != NULL &&
		storage_uidl_is_valid(in->x_uidl, strlen(in->x_uidl));
}

static const char *base_of(pool_t *pool, const struct mbox_uidl_rule *rule,
			   const struct mbox_uidl_input *in)
{
	if (rule->dovecot && in->uid != 0) {
		if (rule->reuse_xuidl && x_uidl_valid(in))
			return pool_strdup(pool, in->x_uidl);
		char uidl[STORAGE_DOVECOT_UIDL_LEN + 1];
		storage_uidl_dovecot(in->uid, rule->uidvalidity, uidl);
		return pool_strdup(pool, uidl);
	}
	if (!rule->dovecot && x_uidl_valid(in))
		return pool_strdup(pool, in->x_uidl);
	char hex[MBOX_HASH_BYTES * 2 + 1];
	for (size_t i = 0; i < MBOX_HASH_BYTES; i++)
		snprintf(hex + 2 * i, 3, "%02x", in->hash[i]);
	return pool_strdup(pool, hex);
}

void mbox_uidl_assign(pool_t *pool, const struct mbox_uidl_rule *rule,
		      const struct mbox_uidl_input *in, size_t count,
		      const char **uidls_r)
{
	/* Every message claims its base and may add one suffixed name:
	 * at most 2 * count entries, kept below half full. */
	size_t cap = 16;
	while (cap < count * 4)
		cap *= 2;
	struct uidl_set set = { xmalloc(cap * sizeof(char *)), cap - 1 };
	const char **bases = xmalloc((count == 0 ? 1 : count) *
				     sizeof(char *));

	for (size_t i = 0; i < count; i++) {
		bases[i] = base_of(pool, rule, &in[i]);
		uidls_r[i] = set_add(&set, bases[i]) ? bases[i] : NULL;
	}
	for (size_t i = 0; i < count; i++) {
		if (uidls_r[i] != NULL)
			continue;
		for (uint64_t n = 2; ; n++) {
			char suffix[UIDL_SUFFIX_MAX + 1];
			int slen = snprintf(suffix, sizeof(suffix), "-%llu",
					    (unsigned long long)n);
			size_t blen = strlen(bases[i]);
			if (blen + (size_t)slen > MBOX_UIDL_MAX)
				blen = MBOX_UIDL_MAX - (size_t)slen;
			char *candidate = pool_printf(pool, "%.*s%s", (int)blen,
						      bases[i], suffix);
			if (set_add(&set, candidate)) {
				uidls_r[i] = candidate;
				break;
			}
		}
	}
	free(bases);
	free(set.slots);
}
