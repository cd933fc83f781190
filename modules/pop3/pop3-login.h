/* The POP3 pre-auth half (AUTHORIZATION state, in a login process). */
#ifndef ROOST_POP3_LOGIN_H
#define ROOST_POP3_LOGIN_H

#include "protocol.h"

extern const struct protocol_login_ops pop3_login_ops;

/* The SASL PLAIN response "authzid NUL user NUL password" in base64,
 * from pool (the caller wipes it). */
char *pop3_login_plain_response(pool_t *pool, const char *authzid,
				const char *user, const char *pass,
				size_t pass_len);

#endif
