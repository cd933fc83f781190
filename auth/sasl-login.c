/* SASL LOGIN (draft-murchison-sasl-login): user name, then password, each
 * after its prompt; see sasl.h. */
#include "config.h"
#include "sasl-private.h"

#include <string.h>

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
		if (len == 0 || len > SASL_USER_MAX || memchr(r, '\0', len) != NULL)
			return SASL_STATUS_MALFORMED;
		x->user = pool_strndup(x->pool, (const char *)r, len);
		x->step = 2;
		*challenge_r = pass_prompt;
		*clen_r = sizeof(pass_prompt) - 1;
		return SASL_STATUS_CONTINUE;
	}
	if (len > SASL_PASSWORD_MAX || memchr(r, '\0', len) != NULL)
		return SASL_STATUS_MALFORMED;
	x->password = pool_strndup(x->pool, (const char *)r, len);
	x->password_len = len;
	return SASL_STATUS_DONE;
}

const struct sasl_mechanism sasl_mechanism_login = {
	.name = "LOGIN",
	.any_stored = true,
	.step = login_step,
};
