/*
 * SASL dispatcher: mechanism lookup, the order of calls, and which stored
 * passwords serve which mechanism; see sasl.h. Each mechanism lives in
 * its own sasl-NAME.c.
 */
#include "config.h"
#include "sasl-private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "password-scheme.h"

static const struct sasl_mechanism *const mechanisms[] = {
	&sasl_mechanism_plain,
	&sasl_mechanism_login,
	&sasl_mechanism_cram_md5,
	&sasl_mechanism_scram_sha256,
	&sasl_mechanism_apop,
};

static const struct sasl_mechanism *mechanism_find(const char *name)
{
	for (size_t i = 0; i < sizeof(mechanisms) / sizeof(mechanisms[0]); i++) {
		if (strcasecmp(mechanisms[i]->name, name) == 0)
			return mechanisms[i];
	}
	return NULL;
}

struct sasl_exchange *sasl_begin(pool_t *pool, const char *mechanism)
{
	const struct sasl_mechanism *mech = mechanism_find(mechanism);
	/* Challenges and fake salts need randombytes, which needs this
	 * (idempotent) call. */
	if (mech == NULL || sodium_init() < 0)
		return NULL;
	struct sasl_exchange *x = pool_alloc(pool, sizeof(*x));
	x->pool = pool;
	x->mech = mech;
	return x;
}

bool sasl_mechanism_needs_credentials(const char *mechanism)
{
	const struct sasl_mechanism *mech = mechanism_find(mechanism);
	return mech != NULL && mech->needs_credentials;
}

/* True when stored is "{SCHEME...}" with data that decodes and that
 * valid (when not NULL) accepts. */
static bool stored_is(const char *stored, const char *scheme,
		      bool (*valid)(const unsigned char *data, size_t len))
{
	unsigned char *raw;
	size_t len;

	if (password_scheme_decode(stored, scheme, &raw, &len, NULL) != 1)
		return false;
	bool ok = valid == NULL || valid(raw, len);
	sodium_memzero(raw, len);
	free(raw);
	return ok;
}

bool sasl_credentials_usable(const char *mechanism, const char *stored)
{
	const struct sasl_mechanism *mech = mechanism_find(mechanism);

	if (mech == NULL || stored == NULL)
		return false;
	if (mech->any_stored)
		return true;
	return stored_is(stored, "PLAIN", NULL) ||
		(mech->credential_scheme != NULL &&
		 stored_is(stored, mech->credential_scheme,
			   mech->credential_valid));
}

char *sasl_stored_plaintext(const char *stored, size_t *len_r)
{
	unsigned char *raw;

	if (password_scheme_decode(stored, "PLAIN", &raw, len_r, NULL) != 1)
		return NULL;
	return (char *)raw;
}

bool sasl_split_nul_fields(const unsigned char *r, size_t len,
			   struct sasl_nul_fields *fields_r)
{
	const unsigned char *p = r, *end = r + len;

	for (unsigned i = 0; i < 3; i++) {
		const unsigned char *nul = memchr(p, '\0', (size_t)(end - p));
		if ((nul == NULL) != (i == 2))
			return false;
		fields_r->field[i] = p;
		fields_r->len[i] = (size_t)((nul != NULL ? nul : end) - p);
		if (nul != NULL)
			p = nul + 1;
	}
	return true;
}

bool sasl_hex_decode(const unsigned char *hex, size_t hex_len,
		     unsigned char *out, size_t out_len)
{
	const char *end;
	size_t len;

	return hex_len == out_len * 2 &&
		sodium_hex2bin(out, out_len, (const char *)hex, hex_len, NULL,
			       &len, &end) == 0 &&
		end == (const char *)hex + hex_len && len == out_len;
}

void sasl_fix_challenge(struct sasl_exchange *x, const char *text)
{
	x->fixed_challenge = pool_strdup(x->pool, text);
}

/* Records whether the exchange goes on after status. */
static enum sasl_status track(struct sasl_exchange *x, enum sasl_status status)
{
	x->awaiting_credentials = status == SASL_STATUS_NEED_CREDENTIALS;
	x->ended = status != SASL_STATUS_CONTINUE &&
		status != SASL_STATUS_NEED_CREDENTIALS;
	return status;
}

enum sasl_status sasl_step(struct sasl_exchange *x, bool have_response,
			   const unsigned char *response, size_t len,
			   const char **challenge_r, size_t *challenge_len_r)
{
	if (x->ended || x->awaiting_credentials)
		return SASL_STATUS_MALFORMED;
	return track(x, x->mech->step(x, have_response, response, len,
				      challenge_r, challenge_len_r));
}

enum sasl_status sasl_set_credentials(struct sasl_exchange *x,
				      const char *stored,
				      const char **challenge_r,
				      size_t *challenge_len_r)
{
	if (!x->awaiting_credentials)
		return SASL_STATUS_MALFORMED;
	if (stored != NULL && !sasl_credentials_usable(x->mech->name, stored))
		stored = NULL;
	return track(x, x->mech->set_credentials(x, stored, challenge_r,
						 challenge_len_r));
}

const char *sasl_user(const struct sasl_exchange *x)
{
	return x->user;
}

const char *sasl_password(const struct sasl_exchange *x)
{
	return x->password;
}

void sasl_forget(struct sasl_exchange *x)
{
	if (x->password != NULL)
		sodium_memzero(x->password, x->password_len);
	if (x->mech->forget != NULL)
		x->mech->forget(x);
}
