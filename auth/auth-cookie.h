/*
 * One-time hand-over cookies (DESIGN §1). After a successful login the
 * auth process issues a random cookie bound to the user's fields; the
 * master redeems it exactly once to learn whom the session belongs to. A
 * login process therefore cannot choose the user it hands over.
 */
#ifndef ROOST_AUTH_COOKIE_H
#define ROOST_AUTH_COOKIE_H

#include <stdint.h>

#include "auth-module.h"
#include "pool.h"

/* 128 random bits, hex encoded. */
#define AUTH_COOKIE_HEX_LEN 32

struct auth_cookie {
	pool_t *pool;              /* owns the fields; freed by the redeemer */
	struct auth_user_fields fields;
};

/* Copies fields; writes the cookie text to out (AUTH_COOKIE_HEX_LEN + 1). */
void auth_cookie_issue(const struct auth_user_fields *fields, uint64_t now_ms,
		       char *out);
/* Removes and returns the entry, or NULL for an unknown or expired cookie.
 * The caller destroys entry->pool. */
struct auth_cookie *auth_cookie_redeem(const char *cookie, uint64_t now_ms);
/* Drops every cookie not redeemed in time. */
void auth_cookie_expire(uint64_t now_ms);

#endif
