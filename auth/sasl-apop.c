/*
 * APOP (RFC 1939 section 7) as a pseudo-mechanism: the login process
 * sends "TIMESTAMP NUL USER NUL DIGEST" in one response, DIGEST being the
 * hex of MD5(TIMESTAMP || password). Needs the plaintext: {PLAIN} only.
 */
#include "config.h"
#include "sasl-private.h"

#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <sodium.h>

#define APOP_DIGEST_LEN 16
#define APOP_HEX_LEN (APOP_DIGEST_LEN * 2)
/* The greeting line that carried the timestamp is at most 512 bytes
 * (RFC 1939), so no real timestamp is longer. */
#define APOP_TIMESTAMP_MAX 510

struct apop_state {
	char *timestamp;
	unsigned char digest[APOP_DIGEST_LEN];
};

/* "<...>" of printable ASCII without spaces, as RFC 822 msg-ids are. */
static bool timestamp_valid(const unsigned char *p, size_t len)
{
	if (len < 3 || len > APOP_TIMESTAMP_MAX || p[0] != '<' ||
	    p[len - 1] != '>')
		return false;
	for (size_t i = 1; i < len - 1; i++) {
		if (p[i] <= ' ' || p[i] >= 0x7f || p[i] == '<' || p[i] == '>')
			return false;
	}
	return true;
}

static enum sasl_status apop_step(struct sasl_exchange *x, bool have,
				  const unsigned char *r, size_t len,
				  const char **challenge_r, size_t *clen_r)
{
	if (!have)
		return SASL_STATUS_MALFORMED;
	struct sasl_nul_fields f;
	if (!sasl_split_nul_fields(r, len, &f))
		return SASL_STATUS_MALFORMED;
	struct apop_state *st = pool_alloc(x->pool, sizeof(*st));
	if (!timestamp_valid(f.field[0], f.len[0]) || f.len[1] == 0 ||
	    f.len[1] > SASL_USER_MAX ||
	    !sasl_hex_decode(f.field[2], f.len[2], st->digest,
			     sizeof(st->digest)))
		return SASL_STATUS_MALFORMED;
	st->timestamp = pool_strndup(x->pool, (const char *)f.field[0],
				     f.len[0]);
	x->user = pool_strndup(x->pool, (const char *)f.field[1], f.len[1]);
	x->state = st;
	return SASL_STATUS_NEED_CREDENTIALS;
}

static enum sasl_status apop_credentials(struct sasl_exchange *x,
					 const char *stored,
					 const char **challenge_r,
					 size_t *clen_r)
{
	struct apop_state *st = x->state;
	unsigned char expected[APOP_DIGEST_LEN];
	unsigned char rnd[APOP_DIGEST_LEN];
	gnutls_hash_hd_t h;
	size_t len = 0;

	char *password = stored != NULL ?
		sasl_stored_plaintext(stored, &len) : NULL;
	bool known = password != NULL;
	bool equal = false;

	/* An unknown user gets the same work with a random password. */
	if (!known)
		randombytes_buf(rnd, sizeof(rnd));
	/* Without MD5 (FIPS mode) nobody can log in with APOP. */
	if (gnutls_hash_init(&h, GNUTLS_DIG_MD5) == 0) {
		(void)gnutls_hash(h, st->timestamp, strlen(st->timestamp));
		(void)gnutls_hash(h, known ? (const void *)password : rnd,
				  known ? len : sizeof(rnd));
		gnutls_hash_deinit(h, expected);
		equal = sodium_memcmp(expected, st->digest,
				      sizeof(expected)) == 0;
		sodium_memzero(expected, sizeof(expected));
	}
	if (known) {
		sodium_memzero(password, len);
		free(password);
	}
	return known && equal ? SASL_STATUS_SUCCESS : SASL_STATUS_FAILED;
}

const struct sasl_mechanism sasl_mechanism_apop = {
	.name = "APOP",
	.needs_credentials = true,
	.step = apop_step,
	.set_credentials = apop_credentials,
};
