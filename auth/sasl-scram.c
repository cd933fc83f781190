/*
 * SASL SCRAM-SHA-256 (RFC 5802, RFC 7677), without channel binding
 * (SCRAM-SHA-256-PLUS is not offered, so "p=" is malformed; "n" and "y"
 * are accepted).
 *
 *   client-first  "n,[a=AUTHZID],n=USER,r=CNONCE[,ext...]"  -> NEED_CREDENTIALS
 *   credentials   -> CONTINUE "r=CNONCE SNONCE,s=SALT,i=ITERATIONS"
 *   client-final  "c=B64(GS2),r=NONCE[,ext...],p=PROOF"     -> CONTINUE "v=..."
 *   empty         -> SUCCESS (RFC 5034: the client acknowledges v=)
 *
 * Credentials: {SCRAM-SHA-256} keys, or {PLAIN} from which the keys are
 * derived with PASSWORD_SCRAM_ITERATIONS_DEFAULT iterations and a salt of
 * HMAC(process key, user) (stable while the process runs, so clients may
 * cache their salted password). Unknown users get exactly that kind of
 * salt and iteration count too, so the server-first message does not tell
 * them from real ones, and end FAILED after the client's proof.
 *
 * Every exchange runs one PBKDF2 of the announced iteration count when
 * the credentials arrive, whatever they are (a throw-away one for stored
 * keys), so that timing does not tell the three cases apart either.
 *
 * User names: "=2C" and "=3D" are decoded, the bytes are otherwise taken
 * as they are (SASLprep leaves ASCII names unchanged; other names reach
 * the passdb as the client wrote them). Passwords: see
 * password-scheme-scram.h.
 */
#include "config.h"
#include "sasl-private.h"

#include <stdio.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <sodium.h>

#include "password-scheme.h"
#include "password-scheme-scram.h"

/* Longest client message: a user name of SASL_USER_MAX bytes, each
 * possibly escaped as "=2C" (3 bytes), plus a nonce and room for
 * extensions; real clients send under 200 bytes. */
#define SCRAM_MESSAGE_MAX 2048
/* Client nonces are 18-32 random bytes in base64 in practice. */
#define SCRAM_NONCE_MAX 256
/* Our nonce: 24 random bytes (RFC 5802 asks for enough to be unique;
 * the brief's floor is 18), 32 base64 characters. */
#define SCRAM_SERVER_NONCE_BYTES 24
#define SCRAM_B64_MAX(n) sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL)

enum scram_step {
	SCRAM_START,          /* nothing yet */
	SCRAM_CLIENT_FIRST,   /* empty challenge sent, client-first awaited */
	SCRAM_CREDENTIALS,    /* user known, credentials awaited */
	SCRAM_CLIENT_FINAL,   /* server-first sent */
	SCRAM_ACK,            /* server-final sent, empty response awaited */
};

struct scram_state {
	char *gs2_header;          /* "n,," or "n,a=NAME,," as sent */
	char *client_first_bare;
	char *client_nonce;
	char *nonce;               /* client nonce + our nonce */
	char *server_first;
	struct password_scram_keys keys;
	bool known;
};

/* RFC 5802 printable: %x21-2B / %x2D-7E, i.e. no comma. */
static bool nonce_char(char c)
{
	return c >= 0x21 && c <= 0x7e && c != ',';
}

/* Decodes a saslname at *p up to ',' or the end: "=2C" -> ',', "=3D" ->
 * '=', any other '=' is malformed. NULL unless 1..SASL_USER_MAX bytes. */
static char *saslname(pool_t *pool, const char **p)
{
	char buf[SASL_USER_MAX + 1];
	size_t n = 0;
	const char *s = *p;

	while (*s != '\0' && *s != ',') {
		char c = *s++;
		if (c == '=') {
			if (s[0] == '2' && s[1] == 'C')
				c = ',';
			else if (s[0] == '3' && s[1] == 'D')
				c = '=';
			else
				return NULL;
			s += 2;
		}
		if (n == SASL_USER_MAX)
			return NULL;
		buf[n++] = c;
	}
	if (n == 0)
		return NULL;
	*p = s;
	return pool_strndup(pool, buf, n);
}

/* Skips ",ALPHA=VALUE" extensions (RFC 5802 attr-val) up to the end or
 * to an attribute named stop; false when one is malformed or reserved. */
static bool skip_extensions(const char **p, char stop)
{
	const char *s = *p;

	while (s[0] == ',' && s[1] != stop) {
		s++;
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) ||
		    *s == 'm' || s[1] != '=' || s[2] == ',' || s[2] == '\0')
			return false;
		s += 2;
		s += strcspn(s, ",");
	}
	*p = s;
	return true;
}

static enum sasl_status client_first(struct sasl_exchange *x,
				     const char *msg)
{
	struct scram_state *st = pool_alloc(x->pool, sizeof(*st));
	const char *p = msg;
	char *authzid = NULL;

	/* gs2-header: channel binding flag, optional authzid. */
	if ((p[0] != 'n' && p[0] != 'y') || p[1] != ',')
		return SASL_STATUS_MALFORMED;
	p += 2;
	if (p[0] == 'a' && p[1] == '=') {
		p += 2;
		if ((authzid = saslname(x->pool, &p)) == NULL)
			return SASL_STATUS_MALFORMED;
	}
	if (*p++ != ',')
		return SASL_STATUS_MALFORMED;
	st->gs2_header = pool_strndup(x->pool, msg, (size_t)(p - msg));
	st->client_first_bare = pool_strdup(x->pool, p);

	/* "m=" (reserved) cannot match "n=": refused here as malformed. */
	if (p[0] != 'n' || p[1] != '=')
		return SASL_STATUS_MALFORMED;
	p += 2;
	char *user = saslname(x->pool, &p);
	if (user == NULL || p[0] != ',' || p[1] != 'r' || p[2] != '=')
		return SASL_STATUS_MALFORMED;
	p += 3;
	const char *nonce = p;
	while (nonce_char(*p))
		p++;
	size_t nonce_len = (size_t)(p - nonce);
	if (nonce_len == 0 || nonce_len > SCRAM_NONCE_MAX ||
	    !skip_extensions(&p, '\0') || *p != '\0')
		return SASL_STATUS_MALFORMED;
	st->client_nonce = pool_strndup(x->pool, nonce, nonce_len);
	if (authzid != NULL && strcmp(authzid, user) != 0)
		return SASL_STATUS_REFUSED;
	x->user = user;
	x->state = st;
	x->step = SCRAM_CREDENTIALS;
	return SASL_STATUS_NEED_CREDENTIALS;
}

/* HMAC(process key, user): the salt of {PLAIN} and unknown users. The key
 * is random per process, so salts say nothing across restarts. */
static void user_salt(const char *user, unsigned char *salt, size_t len)
{
	static unsigned char key[32];
	static bool key_made;
	unsigned char mac[32];

	if (!key_made) {
		randombytes_buf(key, sizeof(key));
		key_made = true;
	}
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, sizeof(key), user,
			     strlen(user), mac) < 0)
		randombytes_buf(mac, sizeof(mac));
	memcpy(salt, mac, len);
	sodium_memzero(mac, sizeof(mac));
}

/* Derives keys (into keys_r) from password with the user's salt, or from
 * a random password when password is NULL; false when that fails. */
static bool derive_keys(const char *user, const void *password, size_t len,
			struct password_scram_keys *keys_r)
{
	unsigned char salt[PASSWORD_SCRAM_SALT_LEN];
	unsigned char rnd[PASSWORD_SCRAM_KEY_LEN];

	user_salt(user, salt, sizeof(salt));
	if (password == NULL) {
		randombytes_buf(rnd, sizeof(rnd));
		password = rnd;
		len = sizeof(rnd);
	}
	bool ok = password_scram_derive(password, len, salt, sizeof(salt),
					PASSWORD_SCRAM_ITERATIONS_DEFAULT,
					keys_r, NULL) == 0;
	sodium_memzero(rnd, sizeof(rnd));
	return ok;
}

/* Fills st->keys from stored (NULL: unknown user); sets st->known. */
static void load_keys(struct scram_state *st, const char *user,
		      const char *stored)
{
	unsigned char *raw;
	size_t len;
	const char *why;

	st->known = false;
	if (stored != NULL &&
	    password_scheme_decode(stored, "SCRAM-SHA-256", &raw, &len,
				   NULL) == 1) {
		st->known = password_scram_parse((const char *)raw, &st->keys,
						 &why) == 0;
		sodium_memzero(raw, len);
		free(raw);
		if (st->known) {
			/* The throw-away PBKDF2 (see the top). */
			struct password_scram_keys dummy;
			unsigned char rnd[PASSWORD_SCRAM_KEY_LEN];
			randombytes_buf(rnd, sizeof(rnd));
			(void)password_scram_derive(rnd, sizeof(rnd),
						    st->keys.salt,
						    st->keys.salt_len,
						    st->keys.iterations,
						    &dummy, NULL);
			sodium_memzero(&dummy, sizeof(dummy));
			return;
		}
	} else if (stored != NULL &&
		   (raw = (unsigned char *)sasl_stored_plaintext(stored, &len))
		   != NULL) {
		st->known = derive_keys(user, raw, len, &st->keys);
		sodium_memzero(raw, len);
		free(raw);
		if (st->known)
			return;
	}
	if (!derive_keys(user, NULL, 0, &st->keys)) {
		/* GnuTLS failed: still answer like for anyone else. */
		user_salt(user, st->keys.salt, PASSWORD_SCRAM_SALT_LEN);
		st->keys.salt_len = PASSWORD_SCRAM_SALT_LEN;
		st->keys.iterations = PASSWORD_SCRAM_ITERATIONS_DEFAULT;
		randombytes_buf(st->keys.stored_key, sizeof(st->keys.stored_key));
	}
}

static char *b64(pool_t *pool, const void *data, size_t len)
{
	size_t size = SCRAM_B64_MAX(len);
	char *out = pool_alloc(pool, size);
	return sodium_bin2base64(out, size, data, len,
				 sodium_base64_VARIANT_ORIGINAL);
}

static enum sasl_status scram_credentials(struct sasl_exchange *x,
					  const char *stored,
					  const char **challenge_r,
					  size_t *clen_r)
{
	struct scram_state *st = x->state;
	unsigned char rnd[SCRAM_SERVER_NONCE_BYTES];

	load_keys(st, x->user, stored);
	const char *server_nonce = x->fixed_challenge;
	if (server_nonce == NULL) {
		randombytes_buf(rnd, sizeof(rnd));
		server_nonce = b64(x->pool, rnd, sizeof(rnd));
	}
	st->nonce = pool_printf(x->pool, "%s%s", st->client_nonce, server_nonce);
	st->server_first = pool_printf(x->pool, "r=%s,s=%s,i=%lu", st->nonce,
				       b64(x->pool, st->keys.salt,
					   st->keys.salt_len),
				       st->keys.iterations);
	x->step = SCRAM_CLIENT_FINAL;
	*challenge_r = st->server_first;
	*clen_r = strlen(st->server_first);
	return SASL_STATUS_CONTINUE;
}

static bool skip_str(const char **p, const char *literal)
{
	size_t len = strlen(literal);
	if (strncmp(*p, literal, len) != 0)
		return false;
	*p += len;
	return true;
}

/* HMAC-SHA256(key, client-first-bare "," server-first "," without_proof). */
static bool auth_message_hmac(const struct scram_state *st, const char *msg,
			      size_t without_proof_len,
			      const unsigned char *key, unsigned char *out)
{
	gnutls_hmac_hd_t h;

	if (gnutls_hmac_init(&h, GNUTLS_MAC_SHA256, key,
			     PASSWORD_SCRAM_KEY_LEN) < 0)
		return false;
	(void)gnutls_hmac(h, st->client_first_bare,
			  strlen(st->client_first_bare));
	(void)gnutls_hmac(h, ",", 1);
	(void)gnutls_hmac(h, st->server_first, strlen(st->server_first));
	(void)gnutls_hmac(h, ",", 1);
	(void)gnutls_hmac(h, msg, without_proof_len);
	gnutls_hmac_deinit(h, out);
	return true;
}

static enum sasl_status client_final(struct sasl_exchange *x, const char *msg,
				     const char **challenge_r, size_t *clen_r)
{
	struct scram_state *st = x->state;
	const char *p = msg;
	unsigned char proof[PASSWORD_SCRAM_KEY_LEN];
	unsigned char sig[PASSWORD_SCRAM_KEY_LEN];
	unsigned char client_key[PASSWORD_SCRAM_KEY_LEN];
	unsigned char stored_key[PASSWORD_SCRAM_KEY_LEN];
	const char *end;
	size_t len;

	/* Without channel binding c= is exactly the gs2-header in base64. */
	if (!skip_str(&p, "c=") ||
	    !skip_str(&p, b64(x->pool, st->gs2_header,
			      strlen(st->gs2_header))) ||
	    !skip_str(&p, ",r=") || !skip_str(&p, st->nonce) ||
	    !skip_extensions(&p, 'p'))
		return SASL_STATUS_MALFORMED;
	size_t without_proof_len = (size_t)(p - msg);
	if (!skip_str(&p, ",p=") ||
	    sodium_base642bin(proof, sizeof(proof), p, strlen(p), NULL, &len,
			      &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    *end != '\0' || len != sizeof(proof))
		return SASL_STATUS_MALFORMED;

	/* ClientKey = proof XOR HMAC(StoredKey, AuthMessage); it is right
	 * when its hash is StoredKey. */
	bool ok = auth_message_hmac(st, msg, without_proof_len,
				    st->keys.stored_key, sig);
	for (size_t i = 0; i < sizeof(client_key); i++)
		client_key[i] = proof[i] ^ sig[i];
	ok = ok && gnutls_hash_fast(GNUTLS_DIG_SHA256, client_key,
				    sizeof(client_key), stored_key) == 0;
	ok = ok && sodium_memcmp(stored_key, st->keys.stored_key,
				 sizeof(stored_key)) == 0;
	ok = ok && st->known &&
		auth_message_hmac(st, msg, without_proof_len,
				  st->keys.server_key, sig);
	sodium_memzero(client_key, sizeof(client_key));
	sodium_memzero(stored_key, sizeof(stored_key));
	if (!ok)
		return SASL_STATUS_FAILED;
	char *final = pool_printf(x->pool, "v=%s", b64(x->pool, sig, sizeof(sig)));
	x->step = SCRAM_ACK;
	*challenge_r = final;
	*clen_r = strlen(final);
	return SASL_STATUS_CONTINUE;
}

static enum sasl_status scram_step(struct sasl_exchange *x, bool have,
				   const unsigned char *r, size_t len,
				   const char **challenge_r, size_t *clen_r)
{
	if (x->step == SCRAM_ACK)
		return have && len > 0 ? SASL_STATUS_MALFORMED :
			SASL_STATUS_SUCCESS;
	if (!have || len == 0) {
		/* Client-first: an empty start asks for an empty challenge,
		 * once. */
		if (x->step != SCRAM_START)
			return SASL_STATUS_MALFORMED;
		x->step = SCRAM_CLIENT_FIRST;
		*challenge_r = "";
		*clen_r = 0;
		return SASL_STATUS_CONTINUE;
	}
	if (len > SCRAM_MESSAGE_MAX || memchr(r, '\0', len) != NULL)
		return SASL_STATUS_MALFORMED;
	const char *msg = pool_strndup(x->pool, (const char *)r, len);
	if (x->step == SCRAM_START || x->step == SCRAM_CLIENT_FIRST)
		return client_first(x, msg);
	return client_final(x, msg, challenge_r, clen_r);
}

static bool scram_credential_valid(const unsigned char *data, size_t len)
{
	struct password_scram_keys keys;
	const char *why;

	bool ok = password_scram_parse((const char *)data, &keys, &why) == 0;
	sodium_memzero(&keys, sizeof(keys));
	return ok;
}

static void scram_forget(struct sasl_exchange *x)
{
	if (x->state != NULL)
		sodium_memzero(x->state, sizeof(struct scram_state));
}

const struct sasl_mechanism sasl_mechanism_scram_sha256 = {
	.name = "SCRAM-SHA-256",
	.needs_credentials = true,
	.credential_scheme = "SCRAM-SHA-256",
	.credential_valid = scram_credential_valid,
	.step = scram_step,
	.set_credentials = scram_credentials,
	.forget = scram_forget,
};
