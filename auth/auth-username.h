/*
 * Login names as the auth process accepts them (doc/virtual-users.md).
 *
 * A name from a client is normalised before any passdb sees it:
 * surrounding spaces and tabs are stripped; with auth_master_user_separator
 * set, "user*admin" splits at the first separator into the account and
 * the master user; auth_username_lowercase lowercases both parts; and
 * auth_default_domain is appended to an account name without '@' (never
 * to the master user's).
 *
 * Each part must then be acceptable: 1..AUTH_USERNAME_MAX bytes of
 * letters, digits and ". _ + -", at most one '@' with a non-empty part on
 * either side, and neither part starting with '.' or '-', ending with '.'
 * or containing "..". Names are file names in per-domain passwd-files and
 * mail paths, so '/', '%', '~', control bytes and everything outside
 * ASCII are refused here, before any lookup; var_expand() refuses unsafe
 * path parts once more as a second line.
 */
#ifndef ROOST_AUTH_USERNAME_H
#define ROOST_AUTH_USERNAME_H

#include <stdbool.h>

#include "pool.h"
#include "settings.h"

/* The longest mail address SMTP carries (RFC 5321 §4.5.3.1.3). */
#define AUTH_USERNAME_MAX 254

/* True when name is acceptable as one part (see above); otherwise
 * *why_r says why, for the log. */
bool auth_username_acceptable(const char *name, const char **why_r);

/* The lookup name for raw, from pool: the normalised account, or
 * "account SEP master" for a master login. NULL with *why_r (for the
 * log) when a part is not acceptable. */
const char *auth_username_normalise(pool_t *pool,
				    const struct roost_settings *set,
				    const char *raw, const char **why_r);

/* Splits a lookup name at the master user separator: *user_r is the
 * account, *master_r the master user or NULL when there is none (no
 * separator configured, or none in name). Strings from pool. */
void auth_username_split(pool_t *pool, const struct roost_settings *set,
			 const char *name, const char **user_r,
			 const char **master_r);

#endif
