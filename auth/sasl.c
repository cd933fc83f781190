/* SASL PLAIN and LOGIN; see sasl.h. */
#include "config.h"
#include "sasl.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

enum sasl_mech { SASL_PLAIN, SASL_LOGIN };

struct sasl_exchange {
	pool_t *pool;
	enum sasl_mech mech;
	unsigned step;
	char *user;
	char *password;
	size_t password_len;
};

struct sasl_exchange *sasl_begin(pool_t *pool, const char *mechanism)
{
	struct sasl_exchange *x;
	if (strcasecmp(mechanism, "PLAIN") == 0) {
		x = pool_alloc(pool, sizeof(*x));
		x->mech = SASL_PLAIN;
	} else if (strcasecmp(mechanism, "LOGIN") == 0) {
		x = pool_alloc(pool, sizeof(*x));
		x->mech = SASL_LOGIN;
	} else {
		return NULL;
	}
	x->pool = pool;
	return x;
}

static bool has_nul(const unsigned char *p, size_t len)
{
	return memchr(p, '\0', len) != NULL;
}

static enum sasl_status plain_step(struct sasl_exchange *x, bool have,
				   const unsigned char *r, size_t len,
				   const char **challenge_r, size_t *clen_r)
{
	if (!have) {
		if (x->step++ > 0)
			return SASL_STATUS_MALFORMED;
		*challenge_r = "";
		*clen_r = 0;
		return SASL_STATUS_CONTINUE;
	}
	/* authzid NUL authcid NUL passwd: exactly two NULs. */
	const unsigned char *nul1 = memchr(r, '\0', len);
	if (nul1 == NULL)
		return SASL_STATUS_MALFORMED;
	size_t rest = len - (size_t)(nul1 - r) - 1;
	const unsigned char *authcid = nul1 + 1;
	const unsigned char *nul2 = memchr(authcid, '\0', rest);
	if (nul2 == NULL)
		return SASL_STATUS_MALFORMED;
	size_t authzid_len = (size_t)(nul1 - r);
	size_t authcid_len = (size_t)(nul2 - authcid);
	const unsigned char *pass = nul2 + 1;
	size_t pass_len = len - (size_t)(pass - r);
	if (has_nul(pass, pass_len) || authcid_len == 0 ||
	    authcid_len > SASL_USER_MAX || pass_len > SASL_PASSWORD_MAX)
		return SASL_STATUS_MALFORMED;
	if (authzid_len > 0 && (authzid_len != authcid_len ||
				memcmp(r, authcid, authcid_len) != 0))
		return SASL_STATUS_REFUSED;
	x->user = pool_strndup(x->pool, (const char *)authcid, authcid_len);
	x->password = pool_strndup(x->pool, (const char *)pass, pass_len);
	x->password_len = pass_len;
	return SASL_STATUS_DONE;
}

static enum sasl_status login_step(struct sasl_exchange *x, bool have,
				   const unsigned char *r, size_t len,
				   const char **challenge_r, size_t *clen_r)
{
	static const char user_prompt[] = "Username:";
	static const char pass_prompt[] = "Password:";
	if (!have) {
		if (x->step != 0)
			return SASL_STATUS_MALFORMED;
		x->step = 1;
		*challenge_r = user_prompt;
		*clen_r = sizeof(user_prompt) - 1;
		return SASL_STATUS_CONTINUE;
	}
	if (x->step <= 1) {
		if (len == 0 || len > SASL_USER_MAX || has_nul(r, len))
			return SASL_STATUS_MALFORMED;
		x->user = pool_strndup(x->pool, (const char *)r, len);
		x->step = 2;
		*challenge_r = pass_prompt;
		*clen_r = sizeof(pass_prompt) - 1;
		return SASL_STATUS_CONTINUE;
	}
	if (x->step != 2 || len > SASL_PASSWORD_MAX || has_nul(r, len))
		return SASL_STATUS_MALFORMED;
	x->password = pool_strndup(x->pool, (const char *)r, len);
	x->password_len = len;
	x->step = 3;
	return SASL_STATUS_DONE;
}

enum sasl_status sasl_step(struct sasl_exchange *x, bool have_response,
			   const unsigned char *response, size_t len,
			   const char **challenge_r, size_t *challenge_len_r)
{
	if (x->mech == SASL_PLAIN)
		return plain_step(x, have_response, response, len, challenge_r, challenge_len_r);
	return login_step(x, have_response, response, len, challenge_r, challenge_len_r);
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
}
