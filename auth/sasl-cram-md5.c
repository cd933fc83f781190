/*
 * SASL CRAM-MD5 (RFC 2195). The server sends a unique challenge
 * "<RANDOM.TIME@roost>", the client answers "USER SP DIGEST" where DIGEST
 * is the 32 hex digits of HMAC-MD5(password, challenge). Checking it
 * needs {PLAIN} or {CRAM-MD5} credentials (password-scheme-cram-md5.h).
 */
#include "config.h"
#include "sasl-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "password-scheme.h"
#include "password-scheme-cram-md5.h"

/* 128 random bits make every challenge unique without a counter. */
#define CRAM_MD5_RANDOM_BYTES 16
/* "<" + 32 hex + "." + 20 digits + "@roost>" fits easily. */
#define CRAM_MD5_CHALLENGE_MAX 128
/* The response: a user name, a space and the digest. */
#define CRAM_MD5_HEX_LEN (PASSWORD_CRAM_MD5_DIGEST_LEN * 2)
#define CRAM_MD5_RESPONSE_MAX (SASL_USER_MAX + 1 + CRAM_MD5_HEX_LEN)

struct cram_md5_state {
	char challenge[CRAM_MD5_CHALLENGE_MAX];
	unsigned char digest[PASSWORD_CRAM_MD5_DIGEST_LEN];
};

static enum sasl_status cram_md5_challenge(struct sasl_exchange *x,
					   const char **challenge_r,
					   size_t *clen_r)
{
	struct cram_md5_state *st = pool_alloc(x->pool, sizeof(*st));
	unsigned char rnd[CRAM_MD5_RANDOM_BYTES];
	char hex[CRAM_MD5_RANDOM_BYTES * 2 + 1];

	if (x->fixed_challenge != NULL) {
		snprintf(st->challenge, sizeof(st->challenge), "%s",
			 x->fixed_challenge);
	} else {
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
		snprintf(st->challenge, sizeof(st->challenge), "<%s.%lld@roost>",
			 hex, (long long)time(NULL));
	}
	x->state = st;
	x->step = 1;
	*challenge_r = st->challenge;
	*clen_r = strlen(st->challenge);
	return SASL_STATUS_CONTINUE;
}

static enum sasl_status cram_md5_step(struct sasl_exchange *x, bool have,
				      const unsigned char *r, size_t len,
				      const char **challenge_r, size_t *clen_r)
{
	if (x->step == 0) {
		/* Server-first: an initial response may only be empty. */
		if (have && len > 0)
			return SASL_STATUS_MALFORMED;
		return cram_md5_challenge(x, challenge_r, clen_r);
	}
	struct cram_md5_state *st = x->state;
	if (!have || len < 2 + CRAM_MD5_HEX_LEN || len > CRAM_MD5_RESPONSE_MAX ||
	    memchr(r, '\0', len) != NULL)
		return SASL_STATUS_MALFORMED;
	/* The digest is the last 32 characters, after the last space (a
	 * user name may hold spaces). */
	size_t user_len = len - CRAM_MD5_HEX_LEN - 1;
	if (r[user_len] != ' ' ||
	    !sasl_hex_decode(r + user_len + 1, CRAM_MD5_HEX_LEN, st->digest,
			     sizeof(st->digest)))
		return SASL_STATUS_MALFORMED;
	x->user = pool_strndup(x->pool, (const char *)r, user_len);
	return SASL_STATUS_NEED_CREDENTIALS;
}

/* The password's HMAC-MD5 context from {PLAIN} or {CRAM-MD5}; false for
 * anything else (unknown user included). */
static bool stored_context(const char *stored,
			   unsigned char context[PASSWORD_CRAM_MD5_CONTEXT_LEN])
{
	unsigned char *raw;
	size_t len;

	if (stored == NULL)
		return false;
	if (password_scheme_decode(stored, "CRAM-MD5", &raw, &len, NULL) == 1) {
		/* The decoder checked the length. */
		memcpy(context, raw, PASSWORD_CRAM_MD5_CONTEXT_LEN);
	} else if ((raw = (unsigned char *)sasl_stored_plaintext(stored, &len))
		   != NULL) {
		password_cram_md5_context(raw, len, context);
	} else {
		return false;
	}
	sodium_memzero(raw, len);
	free(raw);
	return true;
}

static enum sasl_status cram_md5_credentials(struct sasl_exchange *x,
					     const char *stored,
					     const char **challenge_r,
					     size_t *clen_r)
{
	struct cram_md5_state *st = x->state;
	unsigned char context[PASSWORD_CRAM_MD5_CONTEXT_LEN];
	unsigned char expected[PASSWORD_CRAM_MD5_DIGEST_LEN];

	/* An unknown user gets the same work against a random context. */
	bool known = stored_context(stored, context);
	if (!known)
		randombytes_buf(context, sizeof(context));
	password_cram_md5_hmac(context, st->challenge, strlen(st->challenge),
			       expected);
	bool equal = sodium_memcmp(expected, st->digest, sizeof(expected)) == 0;
	sodium_memzero(context, sizeof(context));
	sodium_memzero(expected, sizeof(expected));
	return known && equal ? SASL_STATUS_SUCCESS : SASL_STATUS_FAILED;
}

static void cram_md5_forget(struct sasl_exchange *x)
{
	if (x->state != NULL)
		sodium_memzero(x->state, sizeof(struct cram_md5_state));
}

const struct sasl_mechanism sasl_mechanism_cram_md5 = {
	.name = "CRAM-MD5",
	.needs_credentials = true,
	.credential_scheme = "CRAM-MD5",
	.step = cram_md5_step,
	.set_credentials = cram_md5_credentials,
	.forget = cram_md5_forget,
};
