/*
 * Server side of the SASL mechanisms the auth process offers: PLAIN
 * (RFC 4616) and LOGIN (draft-murchison-sasl-login). Both yield a user name
 * and a plaintext password; the passdb chain checks them.
 *
 * authzid policy (RFC 4616 §2): an authorization identity is accepted only
 * when it is empty or equal to the authentication identity; acting as
 * another user is the job of master users (a later feature), never of a
 * client-chosen authzid.
 */
#ifndef ROOST_SASL_H
#define ROOST_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include "pool.h"

/* A user name longer than this is refused: no mail system has one. */
#define SASL_USER_MAX 255
/* A password longer than this is refused before any hashing, so a huge
 * password cannot make a slow hash even slower. */
#define SASL_PASSWORD_MAX 1024

enum sasl_status {
	SASL_STATUS_CONTINUE,   /* send *challenge_r, wait for a response */
	SASL_STATUS_DONE,       /* credentials ready */
	SASL_STATUS_MALFORMED,  /* response does not follow the mechanism */
	SASL_STATUS_REFUSED,    /* well-formed but unacceptable (authzid) */
};

struct sasl_exchange;

/* Returns NULL for an unknown mechanism (case-insensitive name). */
struct sasl_exchange *sasl_begin(pool_t *pool, const char *mechanism);
/* Feeds one decoded client response (have_response false: the client gave
 * no initial response). The challenge is raw bytes (not base64). */
enum sasl_status sasl_step(struct sasl_exchange *x, bool have_response,
			   const unsigned char *response, size_t len,
			   const char **challenge_r, size_t *challenge_len_r);
const char *sasl_user(const struct sasl_exchange *x);
const char *sasl_password(const struct sasl_exchange *x);
/* Wipes the stored password. */
void sasl_forget(struct sasl_exchange *x);

#endif
