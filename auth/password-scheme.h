/*
 * Password schemes. A stored password is "{SCHEME}data"; without a
 * "{...}" prefix the data is read as the scheme given by the caller
 * (Dovecot's default_pass_scheme). Supported: {PLAIN}, {ARGON2ID}
 * (libsodium, the default for new hashes), {SHA512-CRYPT} and
 * {BLF-CRYPT} (crypt(3)). Hashes written by Dovecot's `doveadm pw` are read
 * as they are. Every comparison runs in constant time.
 */
#ifndef ROOST_PASSWORD_SCHEME_H
#define ROOST_PASSWORD_SCHEME_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "pool.h"

#define PASSWORD_SCHEME_DEFAULT "ARGON2ID"

/* Returns 1 when password matches, 0 when it does not, -1 with err set when
 * the stored value is malformed or its scheme unknown. */
int password_verify(const char *stored, const char *password,
		    const char *default_scheme, struct error *err);

/* Costs the same as password_verify() of a stored value of the same scheme
 * and parameters as `like` (a real stored hash from the same database),
 * and always fails; for unknown users. like == NULL uses a default-scheme
 * hash. */
void password_verify_dummy(const char *like, const char *password);

/* Makes (once per process) the dummy hash password_verify_dummy(like, ...)
 * will use, so that the first unknown user does not pay for making it. */
void password_verify_dummy_prepare(const char *like);

/* True when name (case-insensitive, without braces) is a supported scheme. */
bool password_scheme_is_known(const char *name);

/* A new "{SCHEME}..." string from pool, or NULL with err set. */
char *password_hash(pool_t *pool, const char *scheme, const char *password,
		    struct error *err);

#endif
