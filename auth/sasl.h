/*
 * Server side of the SASL mechanisms the auth process offers, plus APOP
 * (RFC 1939), which runs through the same exchange as a pseudo-mechanism
 * that is never listed in CAPA's SASL line.
 *
 *   PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login) yield a user
 *   name and a plaintext password (SASL_STATUS_DONE); the caller verifies
 *   them against the passdb chain.
 *
 *   CRAM-MD5 (RFC 2195), SCRAM-SHA-256 (RFC 5802, RFC 7677) and APOP
 *   prove knowledge of a secret without sending it: once the user name is
 *   known the exchange stops with SASL_STATUS_NEED_CREDENTIALS; the caller
 *   looks up the stored password ("{SCHEME}data") and hands it to
 *   sasl_set_credentials(). CRAM-MD5 and APOP end there in
 *   SASL_STATUS_SUCCESS or SASL_STATUS_FAILED. SCRAM-SHA-256 goes on:
 *   set_credentials returns CONTINUE with the server-first message, the
 *   client's final message goes to sasl_step(), which returns FAILED or
 *   CONTINUE with the server-final "v=" message, and the client's empty
 *   acknowledgement (RFC 5034) to sasl_step() again, which returns
 *   SUCCESS. So sasl_step() can return SUCCESS and FAILED too. Which
 *   stored schemes can serve a mechanism: sasl_credentials_usable().
 *
 *   Server-first mechanisms (CRAM-MD5) take an empty initial response as
 *   none. SCRAM-SHA-256-PLUS is not offered: a client asking for channel
 *   binding ("p=") is MALFORMED.
 *
 *   APOP's "response" is "TIMESTAMP NUL USER NUL DIGEST", where TIMESTAMP
 *   is the "<...>" the login process put in its greeting and DIGEST the 32
 *   lowercase or uppercase hex digits the client sent.
 *
 * authzid policy (RFC 4616 §2, RFC 5802 a=): an authorization identity is
 * accepted only when it is empty or equal to the authentication identity
 * (SASL_STATUS_REFUSED otherwise); acting as another user is the job of
 * master users, never of a client-chosen authzid.
 *
 * Unknown users: sasl_set_credentials(x, NULL) runs the rest of the
 * exchange against a fake secret (SCRAM answers with a salt derived from
 * the user name and a per-process key, so that salts do not reveal which
 * users exist) and always ends in SASL_STATUS_FAILED.
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
	SASL_STATUS_CONTINUE,          /* send *challenge_r, wait for a response */
	SASL_STATUS_DONE,              /* user + plaintext password ready */
	SASL_STATUS_NEED_CREDENTIALS,  /* user ready; call sasl_set_credentials */
	SASL_STATUS_SUCCESS,           /* proof checked and correct */
	SASL_STATUS_FAILED,            /* proof checked and wrong (or unknown user) */
	SASL_STATUS_MALFORMED,         /* response does not follow the mechanism */
	SASL_STATUS_REFUSED,           /* well-formed but unacceptable (authzid) */
};

struct sasl_exchange;

/* Returns NULL for an unknown mechanism (case-insensitive name; "APOP"
 * included). The exchange is allocated from pool; nothing else to free
 * beyond sasl_forget(). */
struct sasl_exchange *sasl_begin(pool_t *pool, const char *mechanism);
/* True for mechanisms that end in NEED_CREDENTIALS rather than DONE. */
bool sasl_mechanism_needs_credentials(const char *mechanism);
/* True when a stored password of this form ("{SCHEME}data") lets
 * mechanism succeed: any scheme for PLAIN/LOGIN, {PLAIN} (and
 * {CRAM-MD5} for CRAM-MD5, {SCRAM-SHA-256} for SCRAM-SHA-256) otherwise,
 * with data that decodes. A value without a "{SCHEME}" prefix serves only
 * PLAIN/LOGIN: the caller prefixes the passdb's default scheme. */
bool sasl_credentials_usable(const char *mechanism, const char *stored);

/* Feeds one decoded client response (have_response false: the client gave
 * no initial response). The challenge is raw bytes (not base64), valid
 * until the next call. */
enum sasl_status sasl_step(struct sasl_exchange *x, bool have_response,
			   const unsigned char *response, size_t len,
			   const char **challenge_r, size_t *challenge_len_r);
/* After NEED_CREDENTIALS: stored is the user's "{SCHEME}data" or NULL for
 * an unknown user (one whose stored value cannot serve this mechanism is
 * treated the same). Returns SUCCESS, FAILED, or CONTINUE with a
 * challenge (SCRAM's server-first); MALFORMED when no credentials were
 * awaited. Unknown users cost what known ones do. */
enum sasl_status sasl_set_credentials(struct sasl_exchange *x,
				      const char *stored,
				      const char **challenge_r,
				      size_t *challenge_len_r);
const char *sasl_user(const struct sasl_exchange *x);
/* NULL for mechanisms that never see a plaintext. */
const char *sasl_password(const struct sasl_exchange *x);
/* Wipes the stored password and any derived secret. */
void sasl_forget(struct sasl_exchange *x);

#endif
