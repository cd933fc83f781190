/* SASL PLAIN (RFC 4616): "authzid NUL authcid NUL passwd"; see sasl.h. */
#include "config.h"
#include "sasl-private.h"

#include <string.h>

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
	struct sasl_nul_fields f;
	if (!sasl_split_nul_fields(r, len, &f))
		return SASL_STATUS_MALFORMED;
	const unsigned char *authcid = f.field[1], *pass = f.field[2];
	size_t authzid_len = f.len[0], authcid_len = f.len[1];
	size_t pass_len = f.len[2];
	if (authcid_len == 0 || authcid_len > SASL_USER_MAX ||
	    pass_len > SASL_PASSWORD_MAX)
		return SASL_STATUS_MALFORMED;
	if (authzid_len > 0 && (authzid_len != authcid_len ||
				memcmp(r, authcid, authcid_len) != 0))
		return SASL_STATUS_REFUSED;
	x->user = pool_strndup(x->pool, (const char *)authcid, authcid_len);
	x->password = pool_strndup(x->pool, (const char *)pass, pass_len);
	x->password_len = pass_len;
	return SASL_STATUS_DONE;
}

const struct sasl_mechanism sasl_mechanism_plain = {
	.name = "PLAIN",
	.any_stored = true,
	.step = plain_step,
};
