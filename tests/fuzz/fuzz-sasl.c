/*
 * Fuzzes the server side of SASL PLAIN and LOGIN (auth/sasl.c) with the
 * decoded client responses an attacker controls before login.
 *
 * Input layout: byte 0 = flags (bit 0: LOGIN instead of PLAIN; bit 1: the
 * client sends no initial response, so the exchange starts with
 * have_response = false), byte 1 = a separator byte chosen by the input,
 * the rest = the responses, split at that separator. Responses are fed
 * until the exchange stops continuing, as the auth daemon does.
 *
 * Invariants: on SASL_STATUS_DONE the user is non-empty, at most
 * SASL_USER_MAX bytes and NUL-free, and the password is at most
 * SASL_PASSWORD_MAX bytes. Beyond that every status, user and password is
 * compared with a small reference model of RFC 4616 and the LOGIN draft,
 * and sasl_forget() must wipe the password.
 */
#include "config.h"
#include "sasl.h"

#include <stdbool.h>

#include "fuzz-common.h"
#include "pool.h"

struct expect {
	enum sasl_status status;
	const unsigned char *user, *pass;
	size_t user_len, pass_len;
};

/* RFC 4616: authzid NUL authcid NUL passwd, exactly two NULs. */
static struct expect plain_model(const unsigned char *r, size_t len)
{
	struct expect e = { SASL_STATUS_MALFORMED, NULL, NULL, 0, 0 };
	const unsigned char *nul1 = memchr(r, '\0', len);
	if (nul1 == NULL)
		return e;
	const unsigned char *authcid = nul1 + 1;
	const unsigned char *nul2 = memchr(authcid, '\0', (size_t)(r + len - authcid));
	if (nul2 == NULL)
		return e;
	const unsigned char *pass = nul2 + 1;
	size_t pass_len = (size_t)(r + len - pass);
	if (memchr(pass, '\0', pass_len) != NULL)
		return e;
	size_t authzid_len = (size_t)(nul1 - r);
	size_t authcid_len = (size_t)(nul2 - authcid);
	if (authcid_len == 0 || authcid_len > SASL_USER_MAX ||
	    pass_len > SASL_PASSWORD_MAX)
		return e;
	if (authzid_len != 0 && (authzid_len != authcid_len ||
				 memcmp(r, authcid, authcid_len) != 0)) {
		e.status = SASL_STATUS_REFUSED;
		return e;
	}
	e.status = SASL_STATUS_DONE;
	e.user = authcid;
	e.user_len = authcid_len;
	e.pass = pass;
	e.pass_len = pass_len;
	return e;
}

static void check_done(struct sasl_exchange *x, const struct expect *e)
{
	const char *user = sasl_user(x);
	const char *pass = sasl_password(x);
	FUZZ_CHECK(user != NULL && pass != NULL, "DONE without credentials");
	size_t ulen = strlen(user);
	size_t plen = strlen(pass);
	FUZZ_CHECK(ulen >= 1 && ulen <= SASL_USER_MAX, "user length %zu", ulen);
	FUZZ_CHECK(plen <= SASL_PASSWORD_MAX, "password length %zu", plen);
	if (e != NULL) {
		/* strlen == model length also proves there is no NUL inside. */
		FUZZ_CHECK(ulen == e->user_len &&
			   memcmp(user, e->user, ulen) == 0,
			   "user differs from the response's authcid");
		FUZZ_CHECK(plen == e->pass_len &&
			   memcmp(pass, e->pass, plen) == 0,
			   "password differs from the response's");
	}
	sasl_forget(x);
	for (size_t i = 0; i < plen; i++)
		FUZZ_CHECK(pass[i] == '\0', "sasl_forget left password byte %zu",
			   i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	bool login = data[0] & 1;
	bool no_initial = data[0] & 2;
	uint8_t sep = data[1];
	const uint8_t *p = data + 2, *end = data + size;

	pool_t *pool = pool_create();
	struct sasl_exchange *x = sasl_begin(pool, login ? "login" : "Plain");
	FUZZ_CHECK(x != NULL, "sasl_begin refused a known mechanism");

	const char *challenge = NULL;
	size_t clen = 0;
	enum sasl_status st;
	unsigned login_step = 0;   /* model: 0 user, 1 password */
	const unsigned char *login_user = NULL;
	size_t login_user_len = 0;

	if (no_initial) {
		st = sasl_step(x, false, NULL, 0, &challenge, &clen);
		FUZZ_CHECK(st == SASL_STATUS_CONTINUE, "empty start gave %d",
			   (int)st);
		FUZZ_CHECK(challenge != NULL, "no challenge");
		if (login)
			FUZZ_CHECK(clen == 9 && memcmp(challenge, "Username:", 9) == 0,
				   "LOGIN's first challenge is not Username:");
		else
			FUZZ_CHECK(clen == 0, "PLAIN's challenge is not empty");
	}

	for (;;) {
		const uint8_t *next = memchr(p, sep, (size_t)(end - p));
		size_t len = next != NULL ? (size_t)(next - p) : (size_t)(end - p);
		/* Exactly sized, so reads past the response are reported. */
		unsigned char *resp = (unsigned char *)fuzz_memdup(p, len);

		challenge = NULL;
		clen = 0;
		st = sasl_step(x, true, resp, len, &challenge, &clen);
		if (login) {
			bool bad = login_step == 0 ?
				len == 0 || len > SASL_USER_MAX ||
				memchr(resp, '\0', len) != NULL :
				len > SASL_PASSWORD_MAX ||
				memchr(resp, '\0', len) != NULL;
			enum sasl_status want = bad ? SASL_STATUS_MALFORMED :
				login_step == 0 ? SASL_STATUS_CONTINUE :
				SASL_STATUS_DONE;
			FUZZ_CHECK(st == want, "LOGIN step %u gave %d, expected %d",
				   login_step, (int)st, (int)want);
			if (st == SASL_STATUS_CONTINUE)
				FUZZ_CHECK(challenge != NULL && clen == 9 &&
					   memcmp(challenge, "Password:", 9) == 0,
					   "LOGIN's second challenge is not Password:");
			if (st == SASL_STATUS_CONTINUE) {
				login_user = pool_memdup(pool, resp, len);
				login_user_len = len;
			}
			if (st == SASL_STATUS_DONE) {
				struct expect e = { SASL_STATUS_DONE,
					login_user, resp, login_user_len, len };
				check_done(x, &e);
			}
			login_step++;
		} else {
			struct expect e = plain_model(resp, len);
			FUZZ_CHECK(st == e.status, "PLAIN gave %d, expected %d",
				   (int)st, (int)e.status);
			if (st == SASL_STATUS_DONE)
				check_done(x, &e);
		}
		free(resp);
		if (st != SASL_STATUS_CONTINUE || next == NULL)
			break;
		p = next + 1;
	}
	pool_destroy(pool);
	return 0;
}
