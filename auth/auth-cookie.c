/* The cookie store; see auth-cookie.h. */
#include "config.h"
#include "auth-cookie.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The master redeems within milliseconds; 30 s covers a master busy with a
 * reload, and nothing older should ever start a session. */
#define AUTH_COOKIE_LIFETIME_MS 30000

struct cookie_entry {
	struct cookie_entry *next;
	char cookie[AUTH_COOKIE_HEX_LEN + 1];
	uint64_t expires;
	struct auth_cookie value;
};

static struct cookie_entry *cookies;

static const char *copy(pool_t *pool, const char *s)
{
	return s != NULL ? pool_strdup(pool, s) : NULL;
}

void auth_cookie_issue(const struct auth_user_fields *fields, uint64_t now_ms,
		       char *out)
{
	unsigned char raw[AUTH_COOKIE_HEX_LEN / 2];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, AUTH_COOKIE_HEX_LEN + 1, raw, sizeof(raw));

	pool_t *pool = pool_create();
	struct cookie_entry *e = pool_alloc(pool, sizeof(*e));
	memcpy(e->cookie, out, AUTH_COOKIE_HEX_LEN + 1);
	e->expires = now_ms + AUTH_COOKIE_LIFETIME_MS;
	e->value.pool = pool;
	struct auth_user_fields *f = &e->value.fields;
	*f = *fields;
	f->user = copy(pool, fields->user);
	f->home = copy(pool, fields->home);
	f->mail = copy(pool, fields->mail);
	for (unsigned i = 0; i < fields->extra_count; i++) {
		f->extra_keys[i] = copy(pool, fields->extra_keys[i]);
		f->extra_values[i] = copy(pool, fields->extra_values[i]);
	}
	e->next = cookies;
	cookies = e;
}

struct auth_cookie *auth_cookie_redeem(const char *cookie, uint64_t now_ms)
{
	auth_cookie_expire(now_ms);
	if (strlen(cookie) != AUTH_COOKIE_HEX_LEN)
		return NULL;
	for (struct cookie_entry **p = &cookies; *p != NULL; p = &(*p)->next) {
		struct cookie_entry *e = *p;
		if (sodium_memcmp(e->cookie, cookie, AUTH_COOKIE_HEX_LEN) == 0) {
			*p = e->next;
			return &e->value;
		}
	}
	return NULL;
}

void auth_cookie_expire(uint64_t now_ms)
{
	struct cookie_entry **p = &cookies;
	while (*p != NULL) {
		struct cookie_entry *e = *p;
		if (e->expires <= now_ms) {
			*p = e->next;
			pool_destroy(e->value.pool);
		} else {
			p = &e->next;
		}
	}
}
