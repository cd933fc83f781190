/*
 * Inside the SASL mechanisms: the exchange every mechanism file shares and
 * what a mechanism provides to the dispatcher (sasl.c). The dispatcher
 * enforces the order of calls (no step while credentials are awaited, no
 * credentials unless awaited, nothing after the end), so a mechanism only
 * sees calls in an order it can handle.
 */
#ifndef ROOST_SASL_PRIVATE_H
#define ROOST_SASL_PRIVATE_H

#include "sasl.h"

struct sasl_mechanism {
	const char *name;
	bool needs_credentials;
	/* Which stored passwords serve it: any at all (mechanisms yielding
	 * a plaintext), else {PLAIN} plus credential_scheme when not NULL. */
	bool any_stored;
	const char *credential_scheme;
	/* Whether the decoded data of a credential_scheme value is usable;
	 * NULL: any data the scheme decoder accepts. */
	bool (*credential_valid)(const unsigned char *data, size_t len);
	enum sasl_status (*step)(struct sasl_exchange *x, bool have_response,
				 const unsigned char *response, size_t len,
				 const char **challenge_r, size_t *challenge_len_r);
	/* stored is NULL for an unknown user or unusable credentials. */
	enum sasl_status (*set_credentials)(struct sasl_exchange *x,
					    const char *stored,
					    const char **challenge_r,
					    size_t *challenge_len_r);
	/* Wipes the mechanism's own secrets (state); may be NULL. */
	void (*forget)(struct sasl_exchange *x);
};

struct sasl_exchange {
	pool_t *pool;
	const struct sasl_mechanism *mech;
	unsigned step;                 /* the mechanism's own counter */
	bool awaiting_credentials;
	bool ended;
	char *user;
	char *password;
	size_t password_len;
	void *state;                   /* the mechanism's own */
	/* Tests only: replaces the random part of the next challenge
	 * (CRAM-MD5's whole challenge, SCRAM's server nonce). */
	const char *fixed_challenge;
};

extern const struct sasl_mechanism sasl_mechanism_plain;
extern const struct sasl_mechanism sasl_mechanism_login;
extern const struct sasl_mechanism sasl_mechanism_cram_md5;
extern const struct sasl_mechanism sasl_mechanism_scram_sha256;
extern const struct sasl_mechanism sasl_mechanism_apop;

/* For unit tests that replay published exchanges (RFC 2195, RFC 7677):
 * makes the next random challenge part of x equal text instead. Never
 * called by the server. */
void sasl_fix_challenge(struct sasl_exchange *x, const char *text);

/* Decodes a {PLAIN} stored password into a heap copy (the caller wipes
 * and frees it); NULL when stored is not a usable {PLAIN}. */
char *sasl_stored_plaintext(const char *stored, size_t *len_r);
/* The fields of a "A NUL B NUL C" response (PLAIN, APOP). */
struct sasl_nul_fields {
	const unsigned char *field[3];
	size_t len[3];
};
/* Splits r at its NULs; false unless it holds exactly two. */
bool sasl_split_nul_fields(const unsigned char *r, size_t len,
			   struct sasl_nul_fields *fields_r);
/* Decodes exactly len_r bytes of hex (either case); false otherwise. */
bool sasl_hex_decode(const unsigned char *hex, size_t hex_len,
		     unsigned char *out, size_t out_len);

#endif
