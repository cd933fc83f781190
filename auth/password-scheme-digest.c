/*
 * Plain and salted digests, as Dovecot and OpenLDAP store them:
 * {SHA1} (also {SHA}), {SHA256}, {SHA512} hold the digest of the password;
 * {SSHA}, {SSHA256}, {SSHA512} hold digest(password || salt) || salt.
 * Both are base64 by default (".HEX" / ".B64" suffixes choose, see
 * password-scheme.c). Cheap to compute, so kept only for existing
 * databases: new hashes should use {ARGON2ID}.
 */
#include "config.h"
#include "password-scheme-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <sodium.h>

#include "pool.h"

/* Salts we write: 16 random bytes (doveadm writes 4, which is readable
 * too; any length from 1 to PASSWORD_SSHA_SALT_MAX is accepted). */
#define PASSWORD_SSHA_SALT_LEN 16
/* No real salt is longer; bounds the hashed input. */
#define PASSWORD_SSHA_SALT_MAX 64
/* The longest digest here (SHA-512). */
#define PASSWORD_DIGEST_MAX 64

struct digest {
	gnutls_digest_algorithm_t alg;
	size_t len;
	bool salted;
};

static const struct digest sha1 = { GNUTLS_DIG_SHA1, 20, false };
static const struct digest sha256 = { GNUTLS_DIG_SHA256, 32, false };
static const struct digest sha512 = { GNUTLS_DIG_SHA512, 64, false };
static const struct digest ssha = { GNUTLS_DIG_SHA1, 20, true };
static const struct digest ssha256 = { GNUTLS_DIG_SHA256, 32, true };
static const struct digest ssha512 = { GNUTLS_DIG_SHA512, 64, true };

/* out = digest(password || salt); -1 with err when GnuTLS refuses. */
static int digest_compute(const struct password_scheme *scheme,
			  const char *password, const unsigned char *salt,
			  size_t salt_len, unsigned char *out,
			  struct error *err)
{
	const struct digest *d = scheme->params;
	gnutls_hash_hd_t h;

	if (gnutls_hash_init(&h, d->alg) < 0) {
		error_set(err, ERROR_TEMP, "{%s} digest unavailable",
			  scheme->name);
		return -1;
	}
	/* gnutls_hash() on an initialised software digest cannot fail. */
	(void)gnutls_hash(h, password, strlen(password));
	if (salt_len > 0)
		(void)gnutls_hash(h, salt, salt_len);
	gnutls_hash_deinit(h, out);
	return 0;
}

static int digest_check(const struct password_scheme *scheme,
			size_t data_len, struct error *err)
{
	const struct digest *d = scheme->params;

	if (!d->salted && data_len != d->len) {
		password_scheme_malformed(err, scheme->name,
					  "digest has the wrong length");
		return -1;
	}
	if (d->salted && (data_len <= d->len ||
			  data_len - d->len > PASSWORD_SSHA_SALT_MAX)) {
		password_scheme_malformed(err, scheme->name,
					  "no salt, or a salt too long");
		return -1;
	}
	return 0;
}

static int digest_verify(const struct password_scheme *scheme,
			 const unsigned char *data, size_t data_len,
			 const char *password, struct error *err)
{
	const struct digest *d = scheme->params;
	unsigned char out[PASSWORD_DIGEST_MAX];

	if (digest_check(scheme, data_len, err) < 0)
		return -1;
	if (digest_compute(scheme, password, data + d->len, data_len - d->len,
			   out, err) < 0)
		return -1;
	bool equal = password_scheme_bytes_equal(out, d->len, data, d->len);
	sodium_memzero(out, sizeof(out));
	return equal ? 1 : 0;
}

static int digest_dummy_key(const struct password_scheme *scheme,
			    const unsigned char *data, size_t data_len,
			    char *key, size_t key_size)
{
	if (digest_check(scheme, data_len, NULL) < 0)
		return -1;
	snprintf(key, key_size, "%s", scheme->name);
	return 0;
}

static unsigned char *digest_hash(const struct password_scheme *scheme,
				  const unsigned char *like, size_t like_len,
				  const char *password, size_t *len_r,
				  struct error *err)
{
	const struct digest *d = scheme->params;
	size_t salt_len = d->salted ? PASSWORD_SSHA_SALT_LEN : 0;
	/* xmalloc zero-fills, so the data is NUL-terminated. */
	unsigned char *out = xmalloc(d->len + salt_len + 1);

	randombytes_buf(out + d->len, salt_len);
	if (digest_compute(scheme, password, out + d->len, salt_len, out,
			   err) < 0) {
		free(out);
		return NULL;
	}
	*len_r = d->len + salt_len;
	return out;
}

#define DIGEST_SCHEME(name, raw_len, params) { \
	name, PASSWORD_ENCODING_BASE64, raw_len, true, params, \
	digest_verify, digest_dummy_key, digest_hash, \
}

const struct password_scheme password_scheme_sha1 =
	DIGEST_SCHEME("SHA1", 20, &sha1);
/* Dovecot's older name for SHA1. */
const struct password_scheme password_scheme_sha =
	DIGEST_SCHEME("SHA", 20, &sha1);
const struct password_scheme password_scheme_sha256 =
	DIGEST_SCHEME("SHA256", 32, &sha256);
const struct password_scheme password_scheme_sha512 =
	DIGEST_SCHEME("SHA512", 64, &sha512);
/* Salted: variable length, so never guessed to be hex. */
const struct password_scheme password_scheme_ssha =
	DIGEST_SCHEME("SSHA", 0, &ssha);
const struct password_scheme password_scheme_ssha256 =
	DIGEST_SCHEME("SSHA256", 0, &ssha256);
const struct password_scheme password_scheme_ssha512 =
	DIGEST_SCHEME("SSHA512", 0, &ssha512);
