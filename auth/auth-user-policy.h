/*
 * The per-user policy fields the master enforces at hand-over and the
 * mail worker announces (doc/virtual-users.md), taken from any passdb or
 * userdb's extra fields (passwd-file "key=value", SQL columns; names
 * case-insensitive):
 *
 *   login_delay    seconds between logins (RFC 2449 LOGIN-DELAY)
 *   expire         days or NEVER (RFC 2449 EXPIRE, announced only)
 *   sessions_max   concurrent sessions of this user, overriding
 *                  mail_sessions_per_user_max
 *   reason         with nologin: the text the client gets
 *
 * They travel to the master in auth's USER replies as "\tkey=value"
 * (values ipc-escaped, checked by the master), nologin as
 * "nologin=REASON". A nologin user without a reason never gets that far:
 * auth answers it like a wrong password.
 */
#ifndef ROOST_AUTH_USER_POLICY_H
#define ROOST_AUTH_USER_POLICY_H

#include "auth-module.h"
#include "buffer.h"

/* The value of extra field key (case-insensitive), or NULL. */
const char *auth_user_policy_get(const struct auth_user_fields *fields,
				 const char *key);
/* Appends the policy fields present in fields. */
void auth_user_policy_append(struct buffer *line,
			     const struct auth_user_fields *fields);

#endif
