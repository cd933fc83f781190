/*
 * {SCRAM-SHA-256}: see password-scheme-scram.h. PBKDF2, HMAC and SHA-256
 * come from GnuTLS.
 */
#include "config.h"
#include "password-scheme-private.h"
#include "password-scheme-scram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sodium.h>

#include "pool.h"

/* Base64 length of a 32-byte key, and bound of the whole stored value:
 * iterations, a maximal salt, two keys and three commas. */
#define SCRAM_KEY_B64_LEN 44
#define SCRAM_STORED_MAX (10 + 4 * ((PASSWORD_SCRAM_SALT_MAX + 2) / 3) + \
			  2 * SCRAM_KEY_B64_LEN + 3)

static const char client_key_label[] = "Client Key";
static const char server_key_label[] = "Server Key";

/* Decodes exactly one base64 field of s_len characters into out; false
 * unless it is valid, padded, and decodes to min..max bytes. */
static bool b64_field(const char *s, size_t s_len, unsigned char *out,
		      size_t min, size_t max, size_t *len_r)
{
	const char *end;
	size_t len;

	if (sodium_base642bin(out, max, s, s_len, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + s_len || len < min)
		return false;
	*len_r = len;
	return true;
}

int password_scram_parse(const char *data, struct password_scram_keys *keys_r,
			 const char **why_r)
{
	const char *p = data;
	size_t len;

	if (strlen(data) > SCRAM_STORED_MAX) {
		*why_r = "too long";
		return -1;
	}
	if (!password_scheme_parse_decimal(&p, PASSWORD_SCRAM_ITERATIONS_MAX,
					   &keys_r->iterations) ||
	    keys_r->iterations < PASSWORD_SCRAM_ITERATIONS_MIN || *p != ',') {
		*why_r = "iteration count missing or out of bounds";
		return -1;
	}
	const char *salt = p + 1;
	const char *stored = strchr(salt, ',');
	const char *server = stored == NULL ? NULL : strchr(stored + 1, ',');
	if (server == NULL || strchr(server + 1, ',') != NULL) {
		*why_r = "not four comma-separated fields";
		return -1;
	}
	stored++;
	server++;
	if (!b64_field(salt, (size_t)(stored - 1 - salt), keys_r->salt, 1,
		       sizeof(keys_r->salt), &keys_r->salt_len)) {
		*why_r = "bad salt";
		return -1;
	}
	if (!b64_field(stored, (size_t)(server - 1 - stored),
		       keys_r->stored_key, PASSWORD_SCRAM_KEY_LEN,
		       PASSWORD_SCRAM_KEY_LEN, &len) ||
	    !b64_field(server, strlen(server), keys_r->server_key,
		       PASSWORD_SCRAM_KEY_LEN, PASSWORD_SCRAM_KEY_LEN, &len)) {
		*why_r = "bad StoredKey or ServerKey";
		return -1;
	}
	return 0;
}

static bool is_ascii(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] >= 0x80)
			return false;
	}
	return true;
}

int password_scram_derive(const void *password, size_t len,
			  const unsigned char *salt, size_t salt_len,
			  unsigned long iterations,
			  struct password_scram_keys *keys_r, struct error *err)
{
	gnutls_datum_t norm = { NULL, 0 };
	unsigned char salted[PASSWORD_SCRAM_KEY_LEN];
	unsigned char client_key[PASSWORD_SCRAM_KEY_LEN];
	int ret = -1;

	if (salt_len == 0 || salt_len > PASSWORD_SCRAM_SALT_MAX ||
	    iterations < PASSWORD_SCRAM_ITERATIONS_MIN ||
	    iterations > PASSWORD_SCRAM_ITERATIONS_MAX) {
		error_set(err, ERROR_INVALID,
			  "{SCRAM-SHA-256} salt or iterations out of bounds");
		return -1;
	}
	gnutls_datum_t key = { (unsigned char *)password, (unsigned)len };
	if (!is_ascii(password, len)) {
		if (gnutls_utf8_password_normalize(password, (unsigned)len,
						   &norm, 0) < 0) {
			error_set(err, ERROR_INVALID,
				  "{SCRAM-SHA-256} password is not "
				  "normalisable UTF-8");
			return -1;
		}
		key = norm;
	}
	gnutls_datum_t salt_datum = { (unsigned char *)salt, (unsigned)salt_len };
	if (gnutls_pbkdf2(GNUTLS_MAC_SHA256, &key, &salt_datum,
			  (unsigned)iterations, salted, sizeof(salted)) < 0 ||
	    gnutls_hmac_fast(GNUTLS_MAC_SHA256, salted, sizeof(salted),
			     client_key_label, strlen(client_key_label),
			     client_key) < 0 ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, client_key, sizeof(client_key),
			     keys_r->stored_key) < 0 ||
	    gnutls_hmac_fast(GNUTLS_MAC_SHA256, salted, sizeof(salted),
			     server_key_label, strlen(server_key_label),
			     keys_r->server_key) < 0) {
		error_set(err, ERROR_TEMP, "{SCRAM-SHA-256} GnuTLS refused "
			  "to derive the keys");
	} else {
		memcpy(keys_r->salt, salt, salt_len);
		keys_r->salt_len = salt_len;
		keys_r->iterations = iterations;
		ret = 0;
	}
	if (norm.data != NULL) {
		sodium_memzero(norm.data, norm.size);
		gnutls_free(norm.data);
	}
	sodium_memzero(salted, sizeof(salted));
	sodium_memzero(client_key, sizeof(client_key));
	return ret;
}

static int scram_verify(const struct password_scheme *scheme,
			const unsigned char *data, size_t data_len,
			const char *password, struct error *err)
{
	struct password_scram_keys stored, derived;
	const char *why;

	if (password_scram_parse((const char *)data, &stored, &why) < 0) {
		password_scheme_malformed(err, scheme->name, why);
		return -1;
	}
	/* A password that cannot be normalised cannot be this one. */
	if (password_scram_derive(password, strlen(password), stored.salt,
				  stored.salt_len, stored.iterations, &derived,
				  NULL) < 0)
		return 0;
	/* Both keys: a ServerKey that does not match is a broken line,
	 * which must not log anyone in either. */
	bool equal = sodium_memcmp(stored.stored_key, derived.stored_key,
				   PASSWORD_SCRAM_KEY_LEN) == 0;
	equal &= sodium_memcmp(stored.server_key, derived.server_key,
			       PASSWORD_SCRAM_KEY_LEN) == 0;
	sodium_memzero(&derived, sizeof(derived));
	return equal ? 1 : 0;
}

static int scram_dummy_key(const struct password_scheme *scheme,
			   const unsigned char *data, size_t data_len,
			   char *key, size_t key_size)
{
	struct password_scram_keys stored;
	const char *why;

	if (password_scram_parse((const char *)data, &stored, &why) < 0)
		return -1;
	snprintf(key, key_size, "%s i=%lu", scheme->name, stored.iterations);
	return 0;
}

static unsigned char *scram_hash(const struct password_scheme *scheme,
				 const unsigned char *like, size_t like_len,
				 const char *password, size_t *len_r,
				 struct error *err)
{
	struct password_scram_keys keys;
	unsigned long iterations = PASSWORD_SCRAM_ITERATIONS_DEFAULT;
	unsigned char salt[PASSWORD_SCRAM_SALT_LEN];
	char salt_b64[sodium_base64_ENCODED_LEN(PASSWORD_SCRAM_SALT_LEN,
						sodium_base64_VARIANT_ORIGINAL)];
	char stored_b64[SCRAM_KEY_B64_LEN + 1], server_b64[SCRAM_KEY_B64_LEN + 1];
	char out[SCRAM_STORED_MAX + 1];
	const char *why;

	if (like != NULL) {
		if (password_scram_parse((const char *)like, &keys, &why) < 0) {
			password_scheme_malformed(err, scheme->name, why);
			return NULL;
		}
		iterations = keys.iterations;
	}
	randombytes_buf(salt, sizeof(salt));
	if (password_scram_derive(password, strlen(password), salt,
				  sizeof(salt), iterations, &keys, err) < 0)
		return NULL;
	sodium_bin2base64(salt_b64, sizeof(salt_b64), salt, sizeof(salt),
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(stored_b64, sizeof(stored_b64), keys.stored_key,
			  sizeof(keys.stored_key), sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(server_b64, sizeof(server_b64), keys.server_key,
			  sizeof(keys.server_key), sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(&keys, sizeof(keys));
	snprintf(out, sizeof(out), "%lu,%s,%s,%s", iterations, salt_b64,
		 stored_b64, server_b64);
	*len_r = strlen(out);
	return password_scheme_memdup(out, *len_r);
}

const struct password_scheme password_scheme_scram_sha256 = {
	"SCRAM-SHA-256", PASSWORD_ENCODING_NONE, 0, false, NULL,
	scram_verify, scram_dummy_key, scram_hash,
};
