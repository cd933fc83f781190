/*
 * Password schemes. A stored password is "{SCHEME}data"; without a
 * "{...}" prefix the data is read as the scheme given by the caller
 * (Dovecot's default_pass_scheme). Supported, as Dovecot names them:
 *
 *   {ARGON2ID} (the default for new hashes), {ARGON2I}     libsodium
 *   {SHA512-CRYPT}, {SHA256-CRYPT}, {MD5-CRYPT} = {MD5},
 *   {BLF-CRYPT}                                            crypt(3)
 *   {SSHA512}, {SSHA256}, {SSHA}, {SHA512}, {SHA256},
 *   {SHA1} = {SHA}                                         salted/plain digests
 *   {CRAM-MD5}, {SCRAM-SHA-256}   credentials for those SASL mechanisms,
 *                                 which also verify plaintext passwords
 *   {PLAIN}
 *
 * A ".HEX" or ".B64" (".BASE64") suffix, as in {SHA256.HEX}, names the
 * encoding of the data; without one, digests are base64 and {CRAM-MD5}
 * hex, and a fixed-length digest is read as hex when its length says so.
 * Hashes written by Dovecot's `doveadm pw` are read as they are. Every
 * comparison runs in constant time.
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

/* A new "{SCHEME}..." string from pool (with random salt where the scheme
 * has one), or NULL with err set. */
char *password_hash(pool_t *pool, const char *scheme, const char *password,
		    struct error *err);

/* When stored is "{SCHEME[.ENC]}data" with SCHEME equal to scheme
 * (case-insensitive, without suffix): 1 with its data decoded into a heap
 * copy *raw_r of *len_r bytes plus a NUL, which the caller wipes and
 * frees; 0 for any other scheme or no prefix; -1 with err when the data is
 * malformed. For SASL mechanisms that need {PLAIN}, {CRAM-MD5} or
 * {SCRAM-SHA-256} credentials. */
int password_scheme_decode(const char *stored, const char *scheme,
			   unsigned char **raw_r, size_t *len_r,
			   struct error *err);

#endif
