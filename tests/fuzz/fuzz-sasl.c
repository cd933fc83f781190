/*
 * Fuzzes the server side of SASL (auth/sasl*.c) with the decoded client
 * responses an attacker controls before login, and the credential step
 * with stored passwords of every kind, including hostile ones.
 *
 * Input layout: byte 0 = flags, byte 1 = a separator byte chosen by the
 * input, the rest = the responses, split at that separator. Responses are
 * fed until the exchange stops continuing, as the auth daemon does.
 *
 *   bit 0: LOGIN instead of PLAIN (when bit 2 is clear)
 *   bit 1: the client sends no initial response (have_response = false)
 *   bit 2: a credential mechanism instead, chosen by bits 3-4: CRAM-MD5,
 *          SCRAM-SHA-256, APOP, SCRAM-SHA-256; its random challenge parts
 *          are fixed (RFC 2195's challenge, RFC 7677's server nonce) so
 *          that inputs can get past them
 *   bits 5-6: the credentials given at NEED_CREDENTIALS: none (unknown
 *          user), {PLAIN}pencil, the mechanism's own stored form of
 *          "pencil", or the next response segment as the stored value
 *
 * Invariants for PLAIN and LOGIN: on SASL_STATUS_DONE the user is
 * non-empty, at most SASL_USER_MAX bytes and NUL-free, and the password
 * is at most SASL_PASSWORD_MAX bytes. Beyond that every status, user and
 * password is compared with a small reference model of RFC 4616 and the
 * LOGIN draft, and sasl_forget() must wipe the password.
 *
 * For the credential mechanisms: every status is a known one, CONTINUE
 * carries a challenge, NEED_CREDENTIALS carries a valid user and no
 * plaintext, SUCCESS never happens without usable credentials, SCRAM
 * answers credentials with a well-formed server-first message and only
 * succeeds after sending "v=", and nothing is accepted after the end.
 */
#include "config.h"
#include "sasl.h"

#include <stdbool.h>

#include "fuzz-common.h"
#include "pool.h"
#include "sasl-private.h"

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

static void plain_login(const uint8_t *data, size_t size)
{
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
}

static const char *const credential_mechs[] = {
	"CRAM-MD5", "SCRAM-SHA-256", "apop", "scram-sha-256",
};

/* "pencil" in each mechanism's own stored form (see test-sasl.c). */
static const char *const own_stored[] = {
	"{CRAM-MD5}7f47ace0e2af8f6cdeb72c03243a8c87834e19104164d6a42de72d243"
	"adb4080",
	"{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	"{PLAIN.B64}cGVuY2ls",
	"{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
};

/* The next segment at *p (up to sep or end); false when none is left. */
static bool next_segment(const uint8_t **p, const uint8_t *end, uint8_t sep,
			 const uint8_t **seg_r, size_t *len_r)
{
	if (*p == NULL)
		return false;
	const uint8_t *next = memchr(*p, sep, (size_t)(end - *p));
	*seg_r = *p;
	*len_r = next != NULL ? (size_t)(next - *p) : (size_t)(end - *p);
	*p = next != NULL ? next + 1 : NULL;
	return true;
}

static void check_status(enum sasl_status st)
{
	FUZZ_CHECK(st == SASL_STATUS_CONTINUE || st == SASL_STATUS_DONE ||
		   st == SASL_STATUS_NEED_CREDENTIALS ||
		   st == SASL_STATUS_SUCCESS || st == SASL_STATUS_FAILED ||
		   st == SASL_STATUS_MALFORMED || st == SASL_STATUS_REFUSED,
		   "unknown status %d", (int)st);
	FUZZ_CHECK(st != SASL_STATUS_DONE,
		   "a credential mechanism yielded a plaintext");
}

static void credential_mechanism(const uint8_t *data, size_t size)
{
	unsigned which = (data[0] >> 3) & 3;
	unsigned cred = (data[0] >> 5) & 3;
	bool no_initial = data[0] & 2;
	uint8_t sep = data[1];
	const uint8_t *p = data + 2, *end = data + size;
	const char *mech = credential_mechs[which];
	bool scram = which == 1 || which == 3;

	pool_t *pool = pool_create();
	struct sasl_exchange *x = sasl_begin(pool, mech);
	FUZZ_CHECK(x != NULL, "sasl_begin refused %s", mech);
	FUZZ_CHECK(sasl_mechanism_needs_credentials(mech), "%s", mech);
	if (which == 0)
		sasl_fix_challenge(x, "<1896.697170952@postoffice.reston.mci.net>");
	else if (scram)
		sasl_fix_challenge(x, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");

	const char *challenge;
	size_t clen;
	enum sasl_status st = SASL_STATUS_CONTINUE;
	bool usable = false, sent_v = false;
	char *stored = NULL;

	if (no_initial) {
		st = sasl_step(x, false, NULL, 0, &challenge, &clen);
		check_status(st);
	}
	const uint8_t *seg;
	size_t len;
	while (st == SASL_STATUS_CONTINUE && next_segment(&p, end, sep, &seg, &len)) {
		unsigned char *resp = (unsigned char *)fuzz_memdup(seg, len);
		challenge = NULL;
		st = sasl_step(x, true, resp, len, &challenge, &clen);
		free(resp);
		check_status(st);
		if (st == SASL_STATUS_CONTINUE)
			FUZZ_CHECK(challenge != NULL, "CONTINUE without challenge");
		if (st == SASL_STATUS_CONTINUE && scram && clen >= 2 &&
		    memcmp(challenge, "v=", 2) == 0)
			sent_v = true;
		if (st == SASL_STATUS_SUCCESS)
			FUZZ_CHECK(usable && (!scram || sent_v),
				   "SUCCESS without usable credentials or v=");
		if (st != SASL_STATUS_NEED_CREDENTIALS)
			continue;

		const char *user = sasl_user(x);
		FUZZ_CHECK(user != NULL && strlen(user) >= 1 &&
			   strlen(user) <= SASL_USER_MAX, "bad user");
		FUZZ_CHECK(sasl_password(x) == NULL, "a plaintext appeared");
		FUZZ_CHECK(sasl_step(x, true, (const unsigned char *)"", 0,
				     &challenge, &clen) == SASL_STATUS_MALFORMED,
			   "a step while credentials are awaited");
		const char *given = NULL;
		if (cred == 1) {
			given = "{PLAIN}pencil";
		} else if (cred == 2) {
			given = own_stored[which];
		} else if (cred == 3 && next_segment(&p, end, sep, &seg, &len)) {
			stored = fuzz_strndup(seg, len);
			given = stored;
		}
		usable = given != NULL && sasl_credentials_usable(mech, given);
		if (cred == 1 || cred == 2)
			FUZZ_CHECK(usable, "%s cannot use %s", mech, given);
		challenge = NULL;
		st = sasl_set_credentials(x, given, &challenge, &clen);
		check_status(st);
		FUZZ_CHECK(st == SASL_STATUS_SUCCESS || st == SASL_STATUS_FAILED ||
			   st == SASL_STATUS_CONTINUE,
			   "credentials gave %d", (int)st);
		if (st == SASL_STATUS_SUCCESS)
			FUZZ_CHECK(usable && !scram, "SUCCESS without proof");
		if (scram) {
			FUZZ_CHECK(st == SASL_STATUS_CONTINUE && challenge != NULL &&
				   clen > 2 && memcmp(challenge, "r=", 2) == 0 &&
				   memchr(challenge, '\0', clen) == NULL,
				   "no server-first message");
			char *sf = fuzz_strndup((const uint8_t *)challenge, clen);
			FUZZ_CHECK(strstr(sf, ",s=") != NULL &&
				   strstr(sf, ",i=") != NULL, "server-first: %s", sf);
			free(sf);
		}
	}
	if (st != SASL_STATUS_CONTINUE && st != SASL_STATUS_NEED_CREDENTIALS)
		FUZZ_CHECK(sasl_step(x, true, (const unsigned char *)"", 0,
				     &challenge, &clen) == SASL_STATUS_MALFORMED,
			   "a step after the end");
	sasl_forget(x);
	FUZZ_CHECK(sasl_password(x) == NULL, "a plaintext after forget");
	free(stored);
	pool_destroy(pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (data[0] & 4)
		credential_mechanism(data, size);
	else
		plain_login(data, size);
	return 0;
}
