/*
 * The crypt(3) schemes: {SHA512-CRYPT} ($6$), {SHA256-CRYPT} ($5$),
 * {MD5-CRYPT} ($1$, which Dovecot also calls {MD5}) and {BLF-CRYPT}
 * ($2a$/$2b$/$2y$), verified and made with libxcrypt's crypt_r.
 */
#include "config.h"
#include "password-scheme-private.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pool.h"

/* SHA-crypt: no "rounds=" means glibc's default of 5000, which is also
 * what `doveadm pw` writes. Drepper's specification allows 1000 to
 * 999999999; we refuse more than 5 million (about 2 s per login) so that a
 * corrupt or hostile line cannot stall the auth process, while passlib's
 * 656000 and every sane admin setting stay well inside. */
#define PASSWORD_SHA_CRYPT_ROUNDS_MIN 1000UL
#define PASSWORD_SHA_CRYPT_ROUNDS_MAX 5000000UL
/* Longer salts are truncated by the algorithm; we refuse them instead. */
#define PASSWORD_SHA_CRYPT_SALT_MAX 16
#define PASSWORD_SHA512_HASH_LEN 86
#define PASSWORD_SHA256_HASH_LEN 43

/* MD5-crypt ("$1$SALT$HASH"): at most 8 salt characters, 22 hash ones. */
#define PASSWORD_MD5_CRYPT_SALT_MAX 8
#define PASSWORD_MD5_CRYPT_HASH_LEN 22

/* BLF-CRYPT: cost 10 (1024 rounds, ~60 ms) is the common modern default;
 * doveadm's 5 is too cheap against offline cracking today. */
#define PASSWORD_BLF_CRYPT_COST 10UL
#define PASSWORD_BLF_COST_MIN 4
#define PASSWORD_BLF_COST_MAX 31
#define PASSWORD_BLF_SALT_HASH_LEN 53   /* 22 salt + 31 hash characters */

#define CRYPT_B64_CHARS \
	"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

/* Runs crypt_r and compares its output with data in constant time. */
static int crypt_verify(const char *scheme, const char *data,
			const char *password, struct error *err)
{
	/* ~32 KiB of scratch state, too big for the stack; it holds
	 * password-derived material, so it is wiped before release. */
	struct crypt_data *cd = xmalloc(sizeof(*cd));
	int ret;

	const char *out = crypt_r(password, data, cd);
	if (out == NULL || out[0] == '*') {
		password_scheme_malformed(err, scheme, "rejected by crypt(3)");
		ret = -1;
	} else {
		ret = password_scheme_bytes_equal(out, strlen(out), data,
						  strlen(data)) ? 1 : 0;
	}
	sodium_memzero(cd, sizeof(*cd));
	free(cd);
	return ret;
}

/* Hashes password with a fresh random salt of the given crypt prefix. */
static unsigned char *crypt_new(const char *scheme, const char *prefix,
				unsigned long count, const char *password,
				size_t *len_r, struct error *err)
{
	char rnd[PASSWORD_RANDOM_BYTES];
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	unsigned char *result = NULL;

	randombytes_buf(rnd, sizeof(rnd));
	if (crypt_gensalt_rn(prefix, count, rnd, sizeof(rnd), setting,
			     sizeof(setting)) == NULL) {
		error_set_errno(err, "{%s} crypt_gensalt failed", scheme);
		return NULL;
	}
	struct crypt_data *cd = xmalloc(sizeof(*cd));
	const char *out = crypt_r(password, setting, cd);
	if (out == NULL || out[0] == '*') {
		error_set(err, ERROR_TEMP, "{%s} crypt(3) failed", scheme);
	} else {
		*len_r = strlen(out);
		result = password_scheme_memdup(out, *len_r);
	}
	sodium_memzero(cd, sizeof(*cd));
	free(cd);
	return result;
}

/* ---- SHA512-CRYPT and SHA256-CRYPT ---- */

struct sha_crypt {
	const char *prefix;   /* "$6$" */
	size_t hash_len;
};

static const struct sha_crypt sha512_crypt = {
	"$6$", PASSWORD_SHA512_HASH_LEN,
};

static const struct sha_crypt sha256_crypt = {
	"$5$", PASSWORD_SHA256_HASH_LEN,
};

/* Checks "PREFIX[rounds=N$]SALT$HASH"; *rounds_r is 0 without
 * "rounds=". */
static int sha_crypt_parse(const struct sha_crypt *v, const char *data,
			   unsigned long *rounds_r, const char **why_r)
{
	const char *p = data;

	*rounds_r = 0;
	if (!password_scheme_skip_literal(&p, v->prefix)) {
		*why_r = "does not start with the scheme's $N$ prefix";
		return -1;
	}
	if (password_scheme_skip_literal(&p, "rounds=")) {
		if (!password_scheme_parse_decimal(
			    &p, PASSWORD_SHA_CRYPT_ROUNDS_MAX, rounds_r) ||
		    *rounds_r < PASSWORD_SHA_CRYPT_ROUNDS_MIN ||
		    !password_scheme_skip_literal(&p, "$")) {
			*why_r = "bad or too large rounds=";
			return -1;
		}
	}
	if (password_scheme_skip_set(&p, CRYPT_B64_CHARS) >
	    PASSWORD_SHA_CRYPT_SALT_MAX ||
	    !password_scheme_skip_literal(&p, "$")) {
		*why_r = "bad salt";
		return -1;
	}
	if (password_scheme_skip_set(&p, CRYPT_B64_CHARS) != v->hash_len ||
	    *p != '\0') {
		*why_r = "bad hash length or characters";
		return -1;
	}
	return 0;
}

static int sha_crypt_verify(const struct password_scheme *scheme,
			    const unsigned char *data, size_t data_len,
			    const char *password, struct error *err)
{
	unsigned long rounds;
	const char *why;

	if (sha_crypt_parse(scheme->params, (const char *)data, &rounds,
			    &why) < 0) {
		password_scheme_malformed(err, scheme->name, why);
		return -1;
	}
	return crypt_verify(scheme->name, (const char *)data, password, err);
}

static int sha_crypt_dummy_key(const struct password_scheme *scheme,
			       const unsigned char *data, size_t data_len,
			       char *key, size_t key_size)
{
	const struct sha_crypt *v = scheme->params;
	unsigned long rounds;
	const char *why;

	if (sha_crypt_parse(v, (const char *)data, &rounds, &why) < 0)
		return -1;
	if (rounds == 0)
		snprintf(key, key_size, "%s", v->prefix);
	else
		snprintf(key, key_size, "%srounds=%lu$", v->prefix, rounds);
	return 0;
}

static unsigned char *sha_crypt_hash(const struct password_scheme *scheme,
				     const unsigned char *like,
				     size_t like_len, const char *password,
				     size_t *len_r, struct error *err)
{
	const struct sha_crypt *v = scheme->params;
	/* gensalt with count 0 writes no "rounds=" and crypt then uses its
	 * default of 5000, exactly like doveadm's output. */
	unsigned long rounds = 0;
	const char *why;

	if (like != NULL &&
	    sha_crypt_parse(v, (const char *)like, &rounds, &why) < 0) {
		password_scheme_malformed(err, scheme->name, why);
		return NULL;
	}
	return crypt_new(scheme->name, v->prefix, rounds, password, len_r,
			 err);
}

/* ---- MD5-CRYPT ---- */

/* Checks "$1$SALT$HASH". */
static int md5_crypt_parse(const char *data, const char **why_r)
{
	const char *p = data;

	if (!password_scheme_skip_literal(&p, "$1$")) {
		*why_r = "does not start with $1$";
		return -1;
	}
	if (password_scheme_skip_set(&p, CRYPT_B64_CHARS) >
	    PASSWORD_MD5_CRYPT_SALT_MAX ||
	    !password_scheme_skip_literal(&p, "$")) {
		*why_r = "bad salt";
		return -1;
	}
	if (password_scheme_skip_set(&p, CRYPT_B64_CHARS) !=
	    PASSWORD_MD5_CRYPT_HASH_LEN || *p != '\0') {
		*why_r = "bad hash length or characters";
		return -1;
	}
	return 0;
}

static int md5_crypt_verify(const struct password_scheme *scheme,
			    const unsigned char *data, size_t data_len,
			    const char *password, struct error *err)
{
	const char *why;

	if (md5_crypt_parse((const char *)data, &why) < 0) {
		password_scheme_malformed(err, scheme->name, why);
		return -1;
	}
	return crypt_verify(scheme->name, (const char *)data, password, err);
}

static int md5_crypt_dummy_key(const struct password_scheme *scheme,
			       const unsigned char *data, size_t data_len,
			       char *key, size_t key_size)
{
	const char *why;

	if (md5_crypt_parse((const char *)data, &why) < 0)
		return -1;
	/* MD5-crypt has a fixed cost of 1000 rounds. */
	snprintf(key, key_size, "$1$");
	return 0;
}

static unsigned char *md5_crypt_hash(const struct password_scheme *scheme,
				     const unsigned char *like,
				     size_t like_len, const char *password,
				     size_t *len_r, struct error *err)
{
	return crypt_new(scheme->name, "$1$", 0, password, len_r, err);
}

/* ---- BLF-CRYPT ---- */

/* Checks "$2a$NN$" / "$2b$" / "$2y$" + 53 characters. */
static int blf_parse(const char *data, char *variant_r, unsigned *cost_r,
		     const char **why_r)
{
	const char *p = data;

	if (strncmp(p, "$2", 2) != 0 || p[2] == '\0' ||
	    strchr("aby", p[2]) == NULL || p[3] != '$') {
		*why_r = "does not start with $2a$, $2b$ or $2y$";
		return -1;
	}
	*variant_r = p[2];
	p += 4;
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' ||
	    p[2] != '$') {
		*why_r = "bad cost";
		return -1;
	}
	*cost_r = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
	if (*cost_r < PASSWORD_BLF_COST_MIN || *cost_r > PASSWORD_BLF_COST_MAX) {
		*why_r = "cost out of range";
		return -1;
	}
	p += 3;
	if (password_scheme_skip_set(&p, CRYPT_B64_CHARS) !=
	    PASSWORD_BLF_SALT_HASH_LEN || *p != '\0') {
		*why_r = "bad salt or hash length";
		return -1;
	}
	return 0;
}

static int blf_verify(const struct password_scheme *scheme,
		      const unsigned char *data, size_t data_len,
		      const char *password, struct error *err)
{
	char variant;
	unsigned cost;
	const char *why;

	if (blf_parse((const char *)data, &variant, &cost, &why) < 0) {
		password_scheme_malformed(err, "BLF-CRYPT", why);
		return -1;
	}
	return crypt_verify("BLF-CRYPT", (const char *)data, password, err);
}

static int blf_dummy_key(const struct password_scheme *scheme,
			 const unsigned char *data, size_t data_len,
			 char *key, size_t key_size)
{
	char variant;
	unsigned cost;
	const char *why;

	if (blf_parse((const char *)data, &variant, &cost, &why) < 0)
		return -1;
	snprintf(key, key_size, "$2%c$%02u$", variant, cost);
	return 0;
}

static unsigned char *blf_hash(const struct password_scheme *scheme,
			       const unsigned char *like, size_t like_len,
			       const char *password, size_t *len_r,
			       struct error *err)
{
	/* $2y$ is what doveadm writes; libxcrypt treats $2y$ like $2b$. */
	char prefix[] = "$2y$";
	unsigned long cost = PASSWORD_BLF_CRYPT_COST;

	if (like != NULL) {
		char variant;
		unsigned like_cost;
		const char *why;
		if (blf_parse((const char *)like, &variant, &like_cost,
			      &why) < 0) {
			password_scheme_malformed(err, "BLF-CRYPT", why);
			return NULL;
		}
		prefix[2] = variant;
		cost = like_cost;
	}
	return crypt_new("BLF-CRYPT", prefix, cost, password, len_r, err);
}

const struct password_scheme password_scheme_sha512_crypt = {
	"SHA512-CRYPT", PASSWORD_ENCODING_NONE, 0, false, &sha512_crypt,
	sha_crypt_verify, sha_crypt_dummy_key, sha_crypt_hash,
};

const struct password_scheme password_scheme_sha256_crypt = {
	"SHA256-CRYPT", PASSWORD_ENCODING_NONE, 0, false, &sha256_crypt,
	sha_crypt_verify, sha_crypt_dummy_key, sha_crypt_hash,
};

const struct password_scheme password_scheme_md5_crypt = {
	"MD5-CRYPT", PASSWORD_ENCODING_NONE, 0, false, NULL,
	md5_crypt_verify, md5_crypt_dummy_key, md5_crypt_hash,
};

/* Dovecot's name for MD5-crypt (not a plain MD5 digest). */
const struct password_scheme password_scheme_md5 = {
	"MD5", PASSWORD_ENCODING_NONE, 0, false, NULL,
	md5_crypt_verify, md5_crypt_dummy_key, md5_crypt_hash,
};

const struct password_scheme password_scheme_blf_crypt = {
	"BLF-CRYPT", PASSWORD_ENCODING_NONE, 0, false, NULL,
	blf_verify, blf_dummy_key, blf_hash,
};
