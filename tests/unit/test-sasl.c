/*
 * Unit tests for the server side of SASL (auth/sasl*.c): PLAIN, LOGIN,
 * CRAM-MD5 against RFC 2195's example, SCRAM-SHA-256 against RFC 7677's
 * and a client written here with GnuTLS, and APOP against RFC 1939's.
 * sasl-private.h's sasl_fix_challenge() replaces the random challenge
 * parts so that the RFC exchanges replay byte for byte.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <sodium.h>

#include "pool.h"
#include "sasl.h"
#include "sasl-private.h"

static pool_t *pool;
static const char *challenge;
static size_t challenge_len;

static void setup(void)
{
	pool = pool_create();
	challenge = NULL;
	challenge_len = 9999;
}

static void teardown(void)
{
	pool_destroy(pool);
}

static enum sasl_status step(struct sasl_exchange *x, const void *data, size_t len)
{
	challenge = NULL;
	challenge_len = 9999;
	return sasl_step(x, true, data, len, &challenge, &challenge_len);
}

static enum sasl_status step_none(struct sasl_exchange *x)
{
	challenge = NULL;
	challenge_len = 9999;
	return sasl_step(x, false, NULL, 0, &challenge, &challenge_len);
}

/* PLAIN with an initial response; the message is given with its NULs. */
static enum sasl_status plain(const void *msg, size_t len, struct sasl_exchange **x_r)
{
	struct sasl_exchange *x = sasl_begin(pool, "PLAIN");
	ck_assert_ptr_nonnull(x);
	if (x_r != NULL)
		*x_r = x;
	return step(x, msg, len);
}

#define PLAIN_LIT(lit, xr) plain(lit, sizeof(lit) - 1, xr)

/* authzid NUL authcid NUL passwd built from parts. */
static size_t build_plain(char *out, const char *authzid, const char *authcid,
			  size_t authcid_len, const char *pass, size_t pass_len)
{
	size_t n = strlen(authzid);
	memcpy(out, authzid, n);
	out[n++] = '\0';
	memcpy(out + n, authcid, authcid_len);
	n += authcid_len;
	out[n++] = '\0';
	memcpy(out + n, pass, pass_len);
	return n + pass_len;
}

START_TEST(mechanism_names)
{
	ck_assert_ptr_nonnull(sasl_begin(pool, "PLAIN"));
	ck_assert_ptr_nonnull(sasl_begin(pool, "plain"));
	ck_assert_ptr_nonnull(sasl_begin(pool, "LOGIN"));
	ck_assert_ptr_nonnull(sasl_begin(pool, "Login"));
	ck_assert_ptr_nonnull(sasl_begin(pool, "CRAM-MD5"));
	ck_assert_ptr_nonnull(sasl_begin(pool, "cram-md5"));
	ck_assert_ptr_nonnull(sasl_begin(pool, "SCRAM-SHA-256"));
	ck_assert_ptr_nonnull(sasl_begin(pool, "APOP"));
	ck_assert_ptr_null(sasl_begin(pool, "SCRAM-SHA-256-PLUS"));
	ck_assert_ptr_null(sasl_begin(pool, "SCRAM-SHA-1"));
	ck_assert_ptr_null(sasl_begin(pool, "DIGEST-MD5"));
	ck_assert_ptr_null(sasl_begin(pool, "PLAINX"));
	ck_assert_ptr_null(sasl_begin(pool, ""));
	ck_assert_ptr_null(sasl_begin(pool, "EXTERNAL"));
}
END_TEST

START_TEST(plain_initial_response)
{
	struct sasl_exchange *x;
	ck_assert_int_eq(PLAIN_LIT("\0bob\0secret", &x), SASL_STATUS_DONE);
	ck_assert_str_eq(sasl_user(x), "bob");
	ck_assert_str_eq(sasl_password(x), "secret");
}
END_TEST

START_TEST(plain_without_initial_response)
{
	struct sasl_exchange *x = sasl_begin(pool, "PLAIN");
	ck_assert_int_eq(step_none(x), SASL_STATUS_CONTINUE);
	/* RFC 4616: the server sends an empty challenge. */
	ck_assert_ptr_nonnull(challenge);
	ck_assert_uint_eq(challenge_len, 0);
	ck_assert_int_eq(step(x, "\0bob\0pw", 7), SASL_STATUS_DONE);
	ck_assert_str_eq(sasl_user(x), "bob");
	ck_assert_str_eq(sasl_password(x), "pw");
}
END_TEST

START_TEST(plain_two_empty_responses)
{
	struct sasl_exchange *x = sasl_begin(pool, "PLAIN");
	ck_assert_int_eq(step_none(x), SASL_STATUS_CONTINUE);
	ck_assert_int_eq(step_none(x), SASL_STATUS_MALFORMED);
}
END_TEST

START_TEST(plain_authzid_equal)
{
	struct sasl_exchange *x;
	ck_assert_int_eq(PLAIN_LIT("bob\0bob\0secret", &x), SASL_STATUS_DONE);
	ck_assert_str_eq(sasl_user(x), "bob");
	ck_assert_str_eq(sasl_password(x), "secret");
}
END_TEST

START_TEST(plain_authzid_different)
{
	struct sasl_exchange *x;
	ck_assert_int_eq(PLAIN_LIT("root\0bob\0secret", &x), SASL_STATUS_REFUSED);
	ck_assert_int_eq(PLAIN_LIT("bobby\0bob\0secret", &x), SASL_STATUS_REFUSED);
	ck_assert_int_eq(PLAIN_LIT("bo\0bob\0secret", &x), SASL_STATUS_REFUSED);
	ck_assert_int_eq(PLAIN_LIT("Bob\0bob\0secret", &x), SASL_STATUS_REFUSED);
	ck_assert_int_eq(PLAIN_LIT("alice\0bob\0secret", &x), SASL_STATUS_REFUSED);
}
END_TEST

START_TEST(plain_missing_nuls)
{
	struct sasl_exchange *x;
	ck_assert_int_eq(PLAIN_LIT("bobsecret", &x), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(PLAIN_LIT("bob\0secret", &x), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(PLAIN_LIT("\0bobsecret", &x), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(PLAIN_LIT("", &x), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(PLAIN_LIT("\0", &x), SASL_STATUS_MALFORMED);
}
END_TEST

START_TEST(plain_extra_nul_in_password)
{
	struct sasl_exchange *x;
	ck_assert_int_eq(PLAIN_LIT("\0bob\0sec\0ret", &x), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(PLAIN_LIT("\0bob\0secret\0", &x), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(PLAIN_LIT("\0bob\0\0", &x), SASL_STATUS_MALFORMED);
}
END_TEST

START_TEST(plain_empty_authcid)
{
	struct sasl_exchange *x;
	ck_assert_int_eq(PLAIN_LIT("\0\0secret", &x), SASL_STATUS_MALFORMED);
	/* An authzid does not stand in for a missing authcid. */
	ck_assert_int_eq(PLAIN_LIT("bob\0\0secret", &x), SASL_STATUS_MALFORMED);
}
END_TEST

START_TEST(plain_user_length_limit)
{
	char user[SASL_USER_MAX + 2];
	char msg[SASL_USER_MAX + 64];
	struct sasl_exchange *x;
	memset(user, 'u', sizeof(user));

	size_t n = build_plain(msg, "", user, SASL_USER_MAX, "pw", 2);
	ck_assert_int_eq(plain(msg, n, &x), SASL_STATUS_DONE);
	ck_assert_uint_eq(strlen(sasl_user(x)), SASL_USER_MAX);

	n = build_plain(msg, "", user, SASL_USER_MAX + 1, "pw", 2);
	ck_assert_int_eq(plain(msg, n, &x), SASL_STATUS_MALFORMED);
}
END_TEST

START_TEST(plain_password_length_limit)
{
	char pass[SASL_PASSWORD_MAX + 2];
	char msg[SASL_PASSWORD_MAX + 64];
	struct sasl_exchange *x;
	memset(pass, 'p', sizeof(pass));

	size_t n = build_plain(msg, "", "bob", 3, pass, SASL_PASSWORD_MAX);
	ck_assert_int_eq(plain(msg, n, &x), SASL_STATUS_DONE);
	ck_assert_uint_eq(strlen(sasl_password(x)), SASL_PASSWORD_MAX);

	n = build_plain(msg, "", "bob", 3, pass, SASL_PASSWORD_MAX + 1);
	ck_assert_int_eq(plain(msg, n, &x), SASL_STATUS_MALFORMED);
}
END_TEST

START_TEST(login_without_initial_response)
{
	struct sasl_exchange *x = sasl_begin(pool, "LOGIN");
	ck_assert_int_eq(step_none(x), SASL_STATUS_CONTINUE);
	ck_assert_uint_eq(challenge_len, 9);
	ck_assert(memcmp(challenge, "Username:", 9) == 0);
	ck_assert_int_eq(step(x, "bob", 3), SASL_STATUS_CONTINUE);
	ck_assert_uint_eq(challenge_len, 9);
	ck_assert(memcmp(challenge, "Password:", 9) == 0);
	ck_assert_int_eq(step(x, "secret", 6), SASL_STATUS_DONE);
	ck_assert_str_eq(sasl_user(x), "bob");
	ck_assert_str_eq(sasl_password(x), "secret");
}
END_TEST

START_TEST(login_initial_response)
{
	/* The initial response is the user name: next prompt is Password. */
	struct sasl_exchange *x = sasl_begin(pool, "LOGIN");
	ck_assert_int_eq(step(x, "bob", 3), SASL_STATUS_CONTINUE);
	ck_assert_uint_eq(challenge_len, 9);
	ck_assert(memcmp(challenge, "Password:", 9) == 0);
	ck_assert_int_eq(step(x, "pw", 2), SASL_STATUS_DONE);
	ck_assert_str_eq(sasl_user(x), "bob");
	ck_assert_str_eq(sasl_password(x), "pw");
}
END_TEST

START_TEST(login_bad_user)
{
	char user[SASL_USER_MAX + 1];
	memset(user, 'u', sizeof(user));
	struct sasl_exchange *x = sasl_begin(pool, "LOGIN");
	ck_assert_int_eq(step(x, "", 0), SASL_STATUS_MALFORMED);
	x = sasl_begin(pool, "LOGIN");
	ck_assert_int_eq(step(x, "b\0b", 3), SASL_STATUS_MALFORMED);
	x = sasl_begin(pool, "LOGIN");
	ck_assert_int_eq(step(x, user, SASL_USER_MAX + 1), SASL_STATUS_MALFORMED);
	x = sasl_begin(pool, "LOGIN");
	ck_assert_int_eq(step(x, user, SASL_USER_MAX), SASL_STATUS_CONTINUE);
}
END_TEST

START_TEST(login_bad_password)
{
	char pass[SASL_PASSWORD_MAX + 1];
	memset(pass, 'p', sizeof(pass));
	struct sasl_exchange *x = sasl_begin(pool, "LOGIN");
	ck_assert_int_eq(step(x, "bob", 3), SASL_STATUS_CONTINUE);
	ck_assert_int_eq(step(x, "p\0w", 3), SASL_STATUS_MALFORMED);

	x = sasl_begin(pool, "LOGIN");
	ck_assert_int_eq(step(x, "bob", 3), SASL_STATUS_CONTINUE);
	ck_assert_int_eq(step(x, pass, SASL_PASSWORD_MAX + 1), SASL_STATUS_MALFORMED);

	x = sasl_begin(pool, "LOGIN");
	ck_assert_int_eq(step(x, "bob", 3), SASL_STATUS_CONTINUE);
	ck_assert_int_eq(step(x, pass, SASL_PASSWORD_MAX), SASL_STATUS_DONE);
	ck_assert_uint_eq(strlen(sasl_password(x)), SASL_PASSWORD_MAX);
}
END_TEST

START_TEST(login_extra_steps)
{
	struct sasl_exchange *x = sasl_begin(pool, "LOGIN");
	ck_assert_int_eq(step(x, "bob", 3), SASL_STATUS_CONTINUE);
	ck_assert_int_eq(step_none(x), SASL_STATUS_MALFORMED);

	x = sasl_begin(pool, "LOGIN");
	ck_assert_int_eq(step(x, "bob", 3), SASL_STATUS_CONTINUE);
	ck_assert_int_eq(step(x, "pw", 2), SASL_STATUS_DONE);
	ck_assert_int_eq(step(x, "more", 4), SASL_STATUS_MALFORMED);
}
END_TEST

static void check_wiped(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		ck_assert_msg(p[i] == '\0', "byte %zu not wiped", i);
}

START_TEST(forget_plain)
{
	struct sasl_exchange *x;
	ck_assert_int_eq(PLAIN_LIT("\0bob\0hunter2", &x), SASL_STATUS_DONE);
	const char *p = sasl_password(x);
	ck_assert_str_eq(p, "hunter2");
	sasl_forget(x);
	check_wiped(p, 7);
	const char *after = sasl_password(x);
	ck_assert(after == NULL || after[0] == '\0');
	/* The user name is not a secret and stays. */
	ck_assert_str_eq(sasl_user(x), "bob");
}
END_TEST

START_TEST(forget_login)
{
	struct sasl_exchange *x = sasl_begin(pool, "LOGIN");
	ck_assert_int_eq(step(x, "bob", 3), SASL_STATUS_CONTINUE);
	ck_assert_int_eq(step(x, "correct horse", 13), SASL_STATUS_DONE);
	const char *p = sasl_password(x);
	sasl_forget(x);
	check_wiped(p, 13);
	const char *after = sasl_password(x);
	ck_assert(after == NULL || after[0] == '\0');
}
END_TEST

START_TEST(forget_without_password)
{
	/* Nothing stored yet: forgetting must not crash. */
	struct sasl_exchange *x = sasl_begin(pool, "LOGIN");
	sasl_forget(x);
	ck_assert_int_eq(step(x, "bob", 3), SASL_STATUS_CONTINUE);
	sasl_forget(x);
	ck_assert_str_eq(sasl_user(x), "bob");
}
END_TEST

/* ---- which credentials serve which mechanism ---- */

START_TEST(needs_credentials)
{
	ck_assert(!sasl_mechanism_needs_credentials("PLAIN"));
	ck_assert(!sasl_mechanism_needs_credentials("LOGIN"));
	ck_assert(sasl_mechanism_needs_credentials("CRAM-MD5"));
	ck_assert(sasl_mechanism_needs_credentials("scram-sha-256"));
	ck_assert(sasl_mechanism_needs_credentials("APOP"));
	ck_assert(!sasl_mechanism_needs_credentials("NOPE"));
}
END_TEST

#define SCRAM_STORED_RFC7677 "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==," \
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=," \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
/* `doveadm pw -s CRAM-MD5 -p tanstaaftanstaaf` (Dovecot 2.3.19). */
#define CRAM_STORED_TANSTAAF "{CRAM-MD5}d06d4e1b26fccaa4b0b61801132340a3" \
	"54b21152711fb604ca3e035e7015116b"

START_TEST(credentials_usable)
{
	static const char *const any[] = {
		"{PLAIN}x", "{SHA512-CRYPT}$6$whatever", "{NOPE}x", "x",
	};
	for (size_t i = 0; i < sizeof(any) / sizeof(any[0]); i++) {
		ck_assert(sasl_credentials_usable("PLAIN", any[i]));
		ck_assert(sasl_credentials_usable("login", any[i]));
	}
	ck_assert(sasl_credentials_usable("CRAM-MD5", "{PLAIN}x"));
	ck_assert(sasl_credentials_usable("CRAM-MD5", "{plain.b64}eA=="));
	ck_assert(sasl_credentials_usable("CRAM-MD5", CRAM_STORED_TANSTAAF));
	ck_assert(!sasl_credentials_usable("CRAM-MD5", SCRAM_STORED_RFC7677));
	ck_assert(!sasl_credentials_usable("CRAM-MD5", "{CRAM-MD5}d06d"));
	ck_assert(!sasl_credentials_usable("CRAM-MD5", "{SSHA256}x"));
	ck_assert(!sasl_credentials_usable("CRAM-MD5", "x"));
	ck_assert(sasl_credentials_usable("SCRAM-SHA-256", "{PLAIN}x"));
	ck_assert(sasl_credentials_usable("SCRAM-SHA-256", SCRAM_STORED_RFC7677));
	ck_assert(!sasl_credentials_usable("SCRAM-SHA-256", CRAM_STORED_TANSTAAF));
	ck_assert(!sasl_credentials_usable("SCRAM-SHA-256",
					   "{SCRAM-SHA-256}4096,x,y,z"));
	ck_assert(!sasl_credentials_usable("SCRAM-SHA-256", "{ARGON2ID}$x"));
	ck_assert(sasl_credentials_usable("APOP", "{PLAIN}x"));
	ck_assert(!sasl_credentials_usable("APOP", CRAM_STORED_TANSTAAF));
	ck_assert(!sasl_credentials_usable("APOP", SCRAM_STORED_RFC7677));
	ck_assert(!sasl_credentials_usable("NOPE", "{PLAIN}x"));
	ck_assert(!sasl_credentials_usable("PLAIN", NULL));
}
END_TEST

static enum sasl_status creds(struct sasl_exchange *x, const char *stored)
{
	challenge = NULL;
	challenge_len = 9999;
	return sasl_set_credentials(x, stored, &challenge, &challenge_len);
}

#define STEP_LIT(x, lit) step(x, lit, sizeof(lit) - 1)

static void assert_challenge(const char *want)
{
	ck_assert_ptr_nonnull(challenge);
	ck_assert_msg(challenge_len == strlen(want) &&
		      memcmp(challenge, want, challenge_len) == 0,
		      "challenge '%.*s', expected '%s'", (int)challenge_len,
		      challenge, want);
}

/* ---- CRAM-MD5 ---- */

/* RFC 2195's example. */
#define CRAM_CHALLENGE "<1896.697170952@postoffice.reston.mci.net>"
#define CRAM_RESPONSE "tim b913a602c7eda7a495b4e6e7334d3890"

static struct sasl_exchange *cram_begin(void)
{
	struct sasl_exchange *x = sasl_begin(pool, "CRAM-MD5");
	sasl_fix_challenge(x, CRAM_CHALLENGE);
	ck_assert_int_eq(step_none(x), SASL_STATUS_CONTINUE);
	assert_challenge(CRAM_CHALLENGE);
	return x;
}

static enum sasl_status cram(const char *response, const char *stored)
{
	struct sasl_exchange *x = cram_begin();
	enum sasl_status st = step(x, response, strlen(response));
	if (st != SASL_STATUS_NEED_CREDENTIALS)
		return st;
	return creds(x, stored);
}

START_TEST(cram_md5_rfc2195)
{
	struct sasl_exchange *x = cram_begin();
	ck_assert_int_eq(STEP_LIT(x, CRAM_RESPONSE), SASL_STATUS_NEED_CREDENTIALS);
	ck_assert_str_eq(sasl_user(x), "tim");
	ck_assert_ptr_null(sasl_password(x));
	ck_assert_int_eq(creds(x, "{PLAIN}tanstaaftanstaaf"), SASL_STATUS_SUCCESS);

	ck_assert_int_eq(cram(CRAM_RESPONSE, CRAM_STORED_TANSTAAF),
			 SASL_STATUS_SUCCESS);
	ck_assert_int_eq(cram(CRAM_RESPONSE, "{PLAIN.B64}dGFuc3RhYWZ0YW5zdGFhZg=="),
			 SASL_STATUS_SUCCESS);
	/* Upper-case hex is the same digest. */
	ck_assert_int_eq(cram("tim B913A602C7EDA7A495B4E6E7334D3890",
			      CRAM_STORED_TANSTAAF), SASL_STATUS_SUCCESS);
}
END_TEST

START_TEST(cram_md5_wrong)
{
	ck_assert_int_eq(cram(CRAM_RESPONSE, "{PLAIN}tanstaaftanstaaF"),
			 SASL_STATUS_FAILED);
	ck_assert_int_eq(cram("tim b913a602c7eda7a495b4e6e7334d3891",
			      CRAM_STORED_TANSTAAF), SASL_STATUS_FAILED);
	/* Unknown user, and a scheme that cannot serve CRAM-MD5. */
	ck_assert_int_eq(cram(CRAM_RESPONSE, NULL), SASL_STATUS_FAILED);
	ck_assert_int_eq(cram(CRAM_RESPONSE, "{SHA256}x"), SASL_STATUS_FAILED);
	ck_assert_int_eq(cram(CRAM_RESPONSE, "{CRAM-MD5}d06d"), SASL_STATUS_FAILED);

	/* Another challenge: the same response no longer matches. */
	struct sasl_exchange *x = sasl_begin(pool, "CRAM-MD5");
	ck_assert_int_eq(step_none(x), SASL_STATUS_CONTINUE);
	ck_assert_int_eq(STEP_LIT(x, CRAM_RESPONSE), SASL_STATUS_NEED_CREDENTIALS);
	ck_assert_int_eq(creds(x, CRAM_STORED_TANSTAAF), SASL_STATUS_FAILED);
}
END_TEST

START_TEST(cram_md5_challenge_unique)
{
	char first[128];
	struct sasl_exchange *x = sasl_begin(pool, "CRAM-MD5");
	ck_assert_int_eq(step_none(x), SASL_STATUS_CONTINUE);
	ck_assert_uint_lt(challenge_len, sizeof(first));
	memcpy(first, challenge, challenge_len);
	first[challenge_len] = '\0';
	/* "<" 32 hex "." digits "@roost>" */
	ck_assert_int_eq(first[0], '<');
	ck_assert_uint_eq(strspn(first + 1, "0123456789abcdef"), 32);
	ck_assert_int_eq(first[33], '.');
	ck_assert_uint_gt(strspn(first + 34, "0123456789"), 0);
	ck_assert_ptr_nonnull(strstr(first, "@roost>"));

	x = sasl_begin(pool, "CRAM-MD5");
	/* An empty initial response is no response. */
	ck_assert_int_eq(step(x, "", 0), SASL_STATUS_CONTINUE);
	ck_assert(challenge_len != strlen(first) ||
		  memcmp(challenge, first, challenge_len) != 0);
}
END_TEST

START_TEST(cram_md5_user_with_space)
{
	/* The digest follows the last space. */
	struct sasl_exchange *x = cram_begin();
	ck_assert_int_eq(STEP_LIT(x, "t i m b913a602c7eda7a495b4e6e7334d3890"),
			 SASL_STATUS_NEED_CREDENTIALS);
	ck_assert_str_eq(sasl_user(x), "t i m");
}
END_TEST

START_TEST(cram_md5_malformed)
{
	static const char *const bad[] = {
		"timb913a602c7eda7a495b4e6e7334d3890",
		" b913a602c7eda7a495b4e6e7334d3890",
		"tim b913a602c7eda7a495b4e6e7334d389",
		"tim b913a602c7eda7a495b4e6e7334d38900",
		"tim b913a602c7eda7a495b4e6e7334d389g",
		"tim\tb913a602c7eda7a495b4e6e7334d3890",
		"tim",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(cram(bad[i], CRAM_STORED_TANSTAAF) ==
			      SASL_STATUS_MALFORMED, "%s", bad[i]);

	struct sasl_exchange *x = cram_begin();
	ck_assert_int_eq(STEP_LIT(x, "t\0m b913a602c7eda7a495b4e6e7334d3890"),
			 SASL_STATUS_MALFORMED);

	char big[SASL_USER_MAX + 40];
	memset(big, 'u', sizeof(big));
	memcpy(big + SASL_USER_MAX + 1, " b913a602c7eda7a495b4e6e7334d3890", 33);
	x = cram_begin();
	ck_assert_int_eq(step(x, big + 1, SASL_USER_MAX + 33),
			 SASL_STATUS_NEED_CREDENTIALS);
	x = cram_begin();
	ck_assert_int_eq(step(x, big, SASL_USER_MAX + 34), SASL_STATUS_MALFORMED);

	/* Server-first: a non-empty initial response is malformed. */
	x = sasl_begin(pool, "CRAM-MD5");
	ck_assert_int_eq(STEP_LIT(x, CRAM_RESPONSE), SASL_STATUS_MALFORMED);
	/* No response where one is needed. */
	x = cram_begin();
	ck_assert_int_eq(step_none(x), SASL_STATUS_MALFORMED);
}
END_TEST

START_TEST(credentials_out_of_order)
{
	struct sasl_exchange *x = cram_begin();
	/* Not awaited yet. */
	ck_assert_int_eq(creds(x, CRAM_STORED_TANSTAAF), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(STEP_LIT(x, CRAM_RESPONSE), SASL_STATUS_NEED_CREDENTIALS);
	/* A step while credentials are awaited. */
	ck_assert_int_eq(STEP_LIT(x, CRAM_RESPONSE), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(creds(x, CRAM_STORED_TANSTAAF), SASL_STATUS_SUCCESS);
	/* Nothing after the end. */
	ck_assert_int_eq(creds(x, CRAM_STORED_TANSTAAF), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(step(x, "", 0), SASL_STATUS_MALFORMED);

	/* PLAIN never awaits credentials. */
	struct sasl_exchange *p;
	ck_assert_int_eq(PLAIN_LIT("\0bob\0pw", &p), SASL_STATUS_DONE);
	ck_assert_int_eq(creds(p, "{PLAIN}pw"), SASL_STATUS_MALFORMED);
}
END_TEST

/* ---- SCRAM-SHA-256 ---- */

/* RFC 7677 section 3. */
#define RFC_CLIENT_FIRST "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define RFC_SERVER_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_SERVER_FIRST "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
	"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CLIENT_FINAL_NO_PROOF \
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_CLIENT_FINAL RFC_CLIENT_FINAL_NO_PROOF \
	",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* Starts the RFC exchange up to the server-first message. */
static struct sasl_exchange *scram_rfc_first(bool initial)
{
	struct sasl_exchange *x = sasl_begin(pool, "SCRAM-SHA-256");
	sasl_fix_challenge(x, RFC_SERVER_NONCE);
	if (!initial) {
		ck_assert_int_eq(step_none(x), SASL_STATUS_CONTINUE);
		ck_assert_uint_eq(challenge_len, 0);
	}
	ck_assert_int_eq(STEP_LIT(x, RFC_CLIENT_FIRST),
			 SASL_STATUS_NEED_CREDENTIALS);
	ck_assert_str_eq(sasl_user(x), "user");
	ck_assert_ptr_null(sasl_password(x));
	ck_assert_int_eq(creds(x, SCRAM_STORED_RFC7677), SASL_STATUS_CONTINUE);
	assert_challenge(RFC_SERVER_FIRST);
	return x;
}

START_TEST(scram_rfc7677)
{
	for (int initial = 0; initial < 2; initial++) {
		struct sasl_exchange *x = scram_rfc_first(initial);
		ck_assert_int_eq(STEP_LIT(x, RFC_CLIENT_FINAL),
				 SASL_STATUS_CONTINUE);
		assert_challenge(RFC_SERVER_FINAL);
		/* RFC 5034: the client acknowledges with an empty response. */
		ck_assert_int_eq(step(x, "", 0), SASL_STATUS_SUCCESS);
		ck_assert_int_eq(step(x, "", 0), SASL_STATUS_MALFORMED);
	}
}
END_TEST

START_TEST(scram_wrong_proof)
{
	struct sasl_exchange *x = scram_rfc_first(false);
	ck_assert_int_eq(STEP_LIT(x, RFC_CLIENT_FINAL_NO_PROOF
				  ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU="),
			 SASL_STATUS_FAILED);
	/* The right proof for another AuthMessage (an extension added). */
	x = scram_rfc_first(false);
	ck_assert_int_eq(STEP_LIT(x, RFC_CLIENT_FINAL_NO_PROOF ",x=1"
				  ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
			 SASL_STATUS_FAILED);
}
END_TEST

START_TEST(scram_ack_must_be_empty)
{
	struct sasl_exchange *x = scram_rfc_first(false);
	ck_assert_int_eq(STEP_LIT(x, RFC_CLIENT_FINAL), SASL_STATUS_CONTINUE);
	ck_assert_int_eq(STEP_LIT(x, "v=x"), SASL_STATUS_MALFORMED);
}
END_TEST

START_TEST(scram_client_final_malformed)
{
	static const char *const bad[] = {
		/* c= of another gs2-header ("y,,"), or missing. */
		"c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
		",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
		",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		/* Nonce shortened, lengthened, or the client's only. */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k"
		",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k00"
		",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO"
		",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		/* Proof missing, unpadded, too short, followed by more. */
		RFC_CLIENT_FINAL_NO_PROOF,
		RFC_CLIENT_FINAL_NO_PROOF ",p=",
		RFC_CLIENT_FINAL_NO_PROOF
		",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",
		RFC_CLIENT_FINAL_NO_PROOF ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7A",
		RFC_CLIENT_FINAL ",x=1",
		RFC_CLIENT_FINAL "=",
		/* A malformed extension. */
		RFC_CLIENT_FINAL_NO_PROOF ",1=x"
		",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		RFC_CLIENT_FINAL_NO_PROOF ",x="
		",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sasl_exchange *x = scram_rfc_first(false);
		ck_assert_msg(step(x, bad[i], strlen(bad[i])) ==
			      SASL_STATUS_MALFORMED, "%s", bad[i]);
	}
	struct sasl_exchange *x = scram_rfc_first(false);
	ck_assert_int_eq(STEP_LIT(x, RFC_CLIENT_FINAL_NO_PROOF "\0"
				  ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
			 SASL_STATUS_MALFORMED);
}
END_TEST

static enum sasl_status scram_first(const char *msg, struct sasl_exchange **x_r)
{
	struct sasl_exchange *x = sasl_begin(pool, "SCRAM-SHA-256");
	if (x_r != NULL)
		*x_r = x;
	return step(x, msg, strlen(msg));
}

START_TEST(scram_client_first_malformed)
{
	static const char *const bad[] = {
		/* Channel binding: -PLUS is not offered. */
		"p=tls-unique,,n=user,r=abc",
		"p=tls-server-end-point,,n=user,r=abc",
		/* Bad gs2 flags and headers. */
		"x,,n=user,r=abc", "n,n=user,r=abc", ",,n=user,r=abc",
		"n,a=,n=user,r=abc", "n,b=user,n=user,r=abc", "nn,,n=user,r=abc",
		/* Reserved m=, missing or empty user, bad escapes. */
		"n,,m=x,n=user,r=abc", "n,,r=abc", "n,,n=,r=abc",
		"n,,n=us=er,r=abc", "n,,n=us=2x,r=abc", "n,,n=user=3,r=abc",
		/* Nonce missing, empty, with a non-printable character. */
		"n,,n=user", "n,,n=user,", "n,,n=user,r=", "n,,n=user,r=a b",
		"n,,n=user,r=a\x7f", "n,,n=user,x=abc",
		/* Bad extensions, or a trailing comma. */
		"n,,n=user,r=abc,", "n,,n=user,r=abc,m=x", "n,,n=user,r=abc,=x",
		"n,,n=user,r=abc,x=", "n,,n=user,r=abc,xy=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(scram_first(bad[i], NULL) == SASL_STATUS_MALFORMED,
			      "%s", bad[i]);

	struct sasl_exchange *x = sasl_begin(pool, "SCRAM-SHA-256");
	ck_assert_int_eq(STEP_LIT(x, "n,,n=us\0er,r=abc"), SASL_STATUS_MALFORMED);

	/* User name length: SASL_USER_MAX decoded bytes, escapes counted
	 * once. */
	char msg[3 * SASL_USER_MAX + 64];
	strcpy(msg, "n,,n=");
	for (int i = 0; i < SASL_USER_MAX; i++)
		strcat(msg, "=2C");
	strcat(msg, ",r=abc");
	ck_assert_int_eq(scram_first(msg, &x), SASL_STATUS_NEED_CREDENTIALS);
	ck_assert_uint_eq(strlen(sasl_user(x)), SASL_USER_MAX);
	strcpy(msg, "n,,n=u");
	for (int i = 0; i < SASL_USER_MAX; i++)
		strcat(msg, "=2C");
	strcat(msg, ",r=abc");
	ck_assert_int_eq(scram_first(msg, NULL), SASL_STATUS_MALFORMED);

	/* Two empty starts. */
	x = sasl_begin(pool, "SCRAM-SHA-256");
	ck_assert_int_eq(step_none(x), SASL_STATUS_CONTINUE);
	ck_assert_int_eq(step_none(x), SASL_STATUS_MALFORMED);
}
END_TEST

START_TEST(scram_client_first_accepted)
{
	struct sasl_exchange *x;
	ck_assert_int_eq(scram_first("y,,n=user,r=abc", &x),
			 SASL_STATUS_NEED_CREDENTIALS);
	ck_assert_int_eq(scram_first("n,,n=a=2Cb=3Dc,r=abc", &x),
			 SASL_STATUS_NEED_CREDENTIALS);
	ck_assert_str_eq(sasl_user(x), "a,b=c");
	ck_assert_int_eq(scram_first("n,,n=user,r=abc,x=1,y=a=b", &x),
			 SASL_STATUS_NEED_CREDENTIALS);
	ck_assert_int_eq(scram_first("n,a=user,n=user,r=abc", &x),
			 SASL_STATUS_NEED_CREDENTIALS);
	ck_assert_str_eq(sasl_user(x), "user");
}
END_TEST

START_TEST(scram_authzid_refused)
{
	ck_assert_int_eq(scram_first("n,a=admin,n=user,r=abc", NULL),
			 SASL_STATUS_REFUSED);
	ck_assert_int_eq(scram_first("n,a=User,n=user,r=abc", NULL),
			 SASL_STATUS_REFUSED);
	ck_assert_int_eq(scram_first("y,a=a=2Cb,n=a,r=abc", NULL),
			 SASL_STATUS_REFUSED);
	/* Malformed wins over refused. */
	ck_assert_int_eq(scram_first("n,a=admin,n=user,r=", NULL),
			 SASL_STATUS_MALFORMED);
}
END_TEST

/* A SCRAM-SHA-256 client: from the server-first message, the
 * client-final message for password, and the server-final it expects. */
struct scram_client {
	char final[1024];
	char expected_v[64];
};

static char *field(const char *msg, const char *name, char *out, size_t size)
{
	const char *p = strstr(msg, name);
	ck_assert_ptr_nonnull(p);
	p += strlen(name);
	size_t len = strcspn(p, ",");
	ck_assert_uint_lt(len, size);
	memcpy(out, p, len);
	out[len] = '\0';
	return out;
}

static void scram_client(const char *gs2_header, const char *first_bare,
			 const char *server_first, const char *password,
			 struct scram_client *c)
{
	char nonce[256], salt_b64[128], iter[16], cbind[64], without[512];
	char am[1024];
	unsigned char salt[64], salted[32], client_key[32], stored_key[32];
	unsigned char server_key[32], sig[32], proof[32];
	size_t salt_len;

	ck_assert_uint_lt(challenge_len, 400);
	field(server_first, "r=", nonce, sizeof(nonce));
	field(server_first, "s=", salt_b64, sizeof(salt_b64));
	field(server_first, "i=", iter, sizeof(iter));
	ck_assert_int_eq(sodium_base642bin(salt, sizeof(salt), salt_b64,
					   strlen(salt_b64), NULL, &salt_len,
					   NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	gnutls_datum_t key = { (unsigned char *)password, (unsigned)strlen(password) };
	gnutls_datum_t s = { salt, (unsigned)salt_len };
	ck_assert_int_eq(gnutls_pbkdf2(GNUTLS_MAC_SHA256, &key, &s,
				       (unsigned)atoi(iter), salted, 32), 0);
	gnutls_hmac_fast(GNUTLS_MAC_SHA256, salted, 32, "Client Key", 10, client_key);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, client_key, 32, stored_key);
	gnutls_hmac_fast(GNUTLS_MAC_SHA256, salted, 32, "Server Key", 10, server_key);
	sodium_bin2base64(cbind, sizeof(cbind),
			  (const unsigned char *)gs2_header, strlen(gs2_header),
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(without, sizeof(without), "c=%s,r=%s", cbind, nonce);
	snprintf(am, sizeof(am), "%s,%.*s,%s", first_bare, (int)challenge_len,
		 server_first, without);
	gnutls_hmac_fast(GNUTLS_MAC_SHA256, stored_key, 32, am, strlen(am), sig);
	for (int i = 0; i < 32; i++)
		proof[i] = client_key[i] ^ sig[i];
	char proof_b64[64];
	sodium_bin2base64(proof_b64, sizeof(proof_b64), proof, 32,
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(c->final, sizeof(c->final), "%s,p=%s", without, proof_b64);
	gnutls_hmac_fast(GNUTLS_MAC_SHA256, server_key, 32, am, strlen(am), sig);
	strcpy(c->expected_v, "v=");
	sodium_bin2base64(c->expected_v + 2, sizeof(c->expected_v) - 2, sig, 32,
			  sodium_base64_VARIANT_ORIGINAL);
}

/* A whole exchange for user with stored credentials and a client that
 * knows password; returns the final status, the salt seen in *salt_r. */
static enum sasl_status scram_login(const char *gs2, const char *user,
				    const char *stored, const char *password,
				    char *salt_r, size_t salt_size)
{
	char first[256], server_first[400];
	snprintf(first, sizeof(first), "%sn=%s,r=fyko+d2lbbFgONRv9qkxdawL",
		 gs2, user);
	struct sasl_exchange *x = sasl_begin(pool, "SCRAM-SHA-256");
	ck_assert_int_eq(step(x, first, strlen(first)),
			 SASL_STATUS_NEED_CREDENTIALS);
	ck_assert_int_eq(creds(x, stored), SASL_STATUS_CONTINUE);
	ck_assert_uint_lt(challenge_len, sizeof(server_first));
	memcpy(server_first, challenge, challenge_len);
	server_first[challenge_len] = '\0';
	/* Our nonce: the client's plus at least 18 random bytes. */
	char nonce[256];
	field(server_first, "r=", nonce, sizeof(nonce));
	ck_assert(strncmp(nonce, "fyko+d2lbbFgONRv9qkxdawL", 24) == 0);
	ck_assert_uint_ge(strlen(nonce) - 24, 24);
	if (salt_r != NULL)
		field(server_first, "s=", salt_r, salt_size);

	struct scram_client c;
	scram_client(gs2, first + strlen(gs2), server_first, password, &c);
	enum sasl_status st = step(x, c.final, strlen(c.final));
	if (st != SASL_STATUS_CONTINUE)
		return st;
	assert_challenge(c.expected_v);
	return step(x, "", 0);
}

START_TEST(scram_with_plain_credentials)
{
	char salt1[64], salt2[64], salt3[64];
	ck_assert_int_eq(scram_login("n,,", "bob", "{PLAIN}correct horse",
				     "correct horse", salt1, sizeof(salt1)),
			 SASL_STATUS_SUCCESS);
	ck_assert_int_eq(scram_login("y,,", "bob", "{PLAIN}correct horse",
				     "correct horse", salt2, sizeof(salt2)),
			 SASL_STATUS_SUCCESS);
	/* The salt of a {PLAIN} user is stable; another user's differs. */
	ck_assert_str_eq(salt1, salt2);
	ck_assert_int_eq(scram_login("n,a=alice,", "alice", "{PLAIN}correct horse",
				     "correct horse", salt3, sizeof(salt3)),
			 SASL_STATUS_SUCCESS);
	ck_assert_str_ne(salt1, salt3);
	ck_assert_int_eq(scram_login("n,,", "bob", "{PLAIN}correct horse",
				     "correct horsE", NULL, 0),
			 SASL_STATUS_FAILED);
}
END_TEST

START_TEST(scram_with_dovecot_credentials)
{
	/* `doveadm pw -s SCRAM-SHA-256 -p pencil` (Dovecot 2.3.19). */
	static const char stored[] = "{SCRAM-SHA-256}4096,ug2M7e7iJZ/DhhRzr6JSR"
		"A==,z5yamYx0AB4nfsYA9Jaq0enX1LcggaKVAdrN2Ddq/SM=,hUx4h0Nf7Q1OV"
		"BuM6s8XjqO4qWsyUrCHHOSYheJIXIU=";
	char salt[64];
	ck_assert_int_eq(scram_login("n,,", "carol", stored, "pencil", salt,
				     sizeof(salt)), SASL_STATUS_SUCCESS);
	ck_assert_str_eq(salt, "ug2M7e7iJZ/DhhRzr6JSRA==");
	ck_assert_int_eq(scram_login("n,,", "carol", stored, "pencil2", NULL, 0),
			 SASL_STATUS_FAILED);
}
END_TEST

START_TEST(scram_unknown_user)
{
	char salt1[64], salt2[64], salt3[64], plain_salt[64];
	/* Whatever the client knows, an unknown user fails... */
	ck_assert_int_eq(scram_login("n,,", "ghost", NULL, "", salt1,
				     sizeof(salt1)), SASL_STATUS_FAILED);
	ck_assert_int_eq(scram_login("n,,", "ghost", NULL, "pencil", salt2,
				     sizeof(salt2)), SASL_STATUS_FAILED);
	/* ...but sees a stable 16-byte salt of its own, 4096 iterations
	 * (checked by the client), exactly what a {PLAIN} user would. */
	ck_assert_str_eq(salt1, salt2);
	ck_assert_uint_eq(strlen(salt1), 24);
	ck_assert_int_eq(scram_login("n,,", "ghost2", NULL, "x", salt3,
				     sizeof(salt3)), SASL_STATUS_FAILED);
	ck_assert_str_ne(salt1, salt3);
	ck_assert_int_eq(scram_login("n,,", "ghost", "{PLAIN}x", "x", plain_salt,
				     sizeof(plain_salt)), SASL_STATUS_SUCCESS);
	ck_assert_str_eq(salt1, plain_salt);
	/* Credentials that cannot serve SCRAM are an unknown user. */
	ck_assert_int_eq(scram_login("n,,", "ghost", CRAM_STORED_TANSTAAF,
				     "tanstaaftanstaaf", salt2, sizeof(salt2)),
			 SASL_STATUS_FAILED);
	ck_assert_str_eq(salt1, salt2);
}
END_TEST

START_TEST(scram_non_ascii_password)
{
	/* A precomposed UTF-8 password works with {PLAIN}; one that cannot
	 * be normalised (invalid UTF-8) never does. */
	ck_assert_int_eq(scram_login("n,,", "dora", "{PLAIN}p\xc3\xa4ss",
				     "p\xc3\xa4ss", NULL, 0), SASL_STATUS_SUCCESS);
	ck_assert_int_eq(scram_login("n,,", "dora", "{PLAIN}p\xff",
				     "p\xff", NULL, 0), SASL_STATUS_FAILED);
}
END_TEST

/* ---- APOP ---- */

/* RFC 1939 section 7's example. */
#define APOP_OK "<1896.697170952@dbc.mtview.ca.us>\0mrose\0" \
	"c4c9334bac560ecc979e58001b3e22fb"

static enum sasl_status apop(const char *msg, size_t len, const char *stored)
{
	struct sasl_exchange *x = sasl_begin(pool, "APOP");
	enum sasl_status st = step(x, msg, len);
	if (st != SASL_STATUS_NEED_CREDENTIALS)
		return st;
	ck_assert_str_eq(sasl_user(x), "mrose");
	ck_assert_ptr_null(sasl_password(x));
	return creds(x, stored);
}

#define APOP_LIT(lit, stored) apop(lit, sizeof(lit) - 1, stored)

START_TEST(apop_rfc1939)
{
	ck_assert_int_eq(APOP_LIT(APOP_OK, "{PLAIN}tanstaaf"), SASL_STATUS_SUCCESS);
	ck_assert_int_eq(APOP_LIT("<1896.697170952@dbc.mtview.ca.us>\0mrose\0"
				  "C4C9334BAC560ECC979E58001B3E22FB",
				  "{PLAIN}tanstaaf"), SASL_STATUS_SUCCESS);
	ck_assert_int_eq(APOP_LIT(APOP_OK, "{PLAIN}tanstaaF"), SASL_STATUS_FAILED);
	ck_assert_int_eq(APOP_LIT("<1896.697170953@dbc.mtview.ca.us>\0mrose\0"
				  "c4c9334bac560ecc979e58001b3e22fb",
				  "{PLAIN}tanstaaf"), SASL_STATUS_FAILED);
	ck_assert_int_eq(APOP_LIT(APOP_OK, NULL), SASL_STATUS_FAILED);
	/* Only a plaintext serves APOP. */
	ck_assert_int_eq(APOP_LIT(APOP_OK, "{SHA256-CRYPT}$5$saltstring$5B8vYY"
				  "iY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"),
			 SASL_STATUS_FAILED);
}
END_TEST

START_TEST(apop_malformed)
{
	ck_assert_int_eq(APOP_LIT("<1896@x>mrose c4c9334bac560ecc979e58001b3e22fb",
				  "{PLAIN}tanstaaf"), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(APOP_LIT("<1896@x>\0mrose c4c9334bac560ecc979e58001b3e22fb",
				  "{PLAIN}tanstaaf"), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(APOP_LIT("1896@x\0mrose\0c4c9334bac560ecc979e58001b3e22fb",
				  "{PLAIN}tanstaaf"), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(APOP_LIT("<18 96@x>\0mrose\0c4c9334bac560ecc979e58001b3e22fb",
				  "{PLAIN}tanstaaf"), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(APOP_LIT("<>\0mrose\0c4c9334bac560ecc979e58001b3e22fb",
				  "{PLAIN}tanstaaf"), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(APOP_LIT("<1896@x>\0\0c4c9334bac560ecc979e58001b3e22fb",
				  "{PLAIN}tanstaaf"), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(APOP_LIT("<1896@x>\0mrose\0c4c9334bac560ecc979e58001b3e22f",
				  "{PLAIN}tanstaaf"), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(APOP_LIT("<1896@x>\0mrose\0c4c9334bac560ecc979e58001b3e22fbb",
				  "{PLAIN}tanstaaf"), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(APOP_LIT("<1896@x>\0mrose\0c4c9334bac560ecc979e58001b3e22fg",
				  "{PLAIN}tanstaaf"), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(APOP_LIT("<1896@x>\0mrose\0c4c9334bac560ecc979e58001b3e22fb\0",
				  "{PLAIN}tanstaaf"), SASL_STATUS_MALFORMED);
	ck_assert_int_eq(APOP_LIT("", "{PLAIN}tanstaaf"), SASL_STATUS_MALFORMED);
	struct sasl_exchange *x = sasl_begin(pool, "APOP");
	ck_assert_int_eq(step_none(x), SASL_STATUS_MALFORMED);

	char user[SASL_USER_MAX + 64];
	char msg[SASL_USER_MAX + 128];
	memset(user, 'u', sizeof(user));
	size_t n = 0;
	memcpy(msg, "<1@x>", 6);   /* with its NUL */
	n = 6;
	memcpy(msg + n, user, SASL_USER_MAX + 1);
	n += SASL_USER_MAX + 1;
	msg[n++] = '\0';
	memcpy(msg + n, "c4c9334bac560ecc979e58001b3e22fb", 32);
	x = sasl_begin(pool, "APOP");
	ck_assert_int_eq(step(x, msg, n + 32), SASL_STATUS_MALFORMED);
}
END_TEST

START_TEST(forget_credential_mechanisms)
{
	/* After forgetting, a finished exchange stays finished and no
	 * password ever appears. */
	struct sasl_exchange *x = cram_begin();
	ck_assert_int_eq(STEP_LIT(x, CRAM_RESPONSE), SASL_STATUS_NEED_CREDENTIALS);
	ck_assert_int_eq(creds(x, "{PLAIN}tanstaaftanstaaf"), SASL_STATUS_SUCCESS);
	sasl_forget(x);
	ck_assert_ptr_null(sasl_password(x));
	ck_assert_str_eq(sasl_user(x), "tim");

	x = scram_rfc_first(false);
	sasl_forget(x);
	ck_assert_ptr_null(sasl_password(x));
	x = sasl_begin(pool, "SCRAM-SHA-256");
	sasl_forget(x);
	x = sasl_begin(pool, "APOP");
	sasl_forget(x);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sasl");
	TCase *tc = tcase_create("plain");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, mechanism_names);
	tcase_add_test(tc, plain_initial_response);
	tcase_add_test(tc, plain_without_initial_response);
	tcase_add_test(tc, plain_two_empty_responses);
	tcase_add_test(tc, plain_authzid_equal);
	tcase_add_test(tc, plain_authzid_different);
	tcase_add_test(tc, plain_missing_nuls);
	tcase_add_test(tc, plain_extra_nul_in_password);
	tcase_add_test(tc, plain_empty_authcid);
	tcase_add_test(tc, plain_user_length_limit);
	tcase_add_test(tc, plain_password_length_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("login");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, login_without_initial_response);
	tcase_add_test(tc, login_initial_response);
	tcase_add_test(tc, login_bad_user);
	tcase_add_test(tc, login_bad_password);
	tcase_add_test(tc, login_extra_steps);
	suite_add_tcase(s, tc);

	tc = tcase_create("forget");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, forget_plain);
	tcase_add_test(tc, forget_login);
	tcase_add_test(tc, forget_without_password);
	suite_add_tcase(s, tc);

	tc = tcase_create("credentials");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, needs_credentials);
	tcase_add_test(tc, credentials_usable);
	tcase_add_test(tc, credentials_out_of_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("cram-md5");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, cram_md5_rfc2195);
	tcase_add_test(tc, cram_md5_wrong);
	tcase_add_test(tc, cram_md5_challenge_unique);
	tcase_add_test(tc, cram_md5_user_with_space);
	tcase_add_test(tc, cram_md5_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("scram-sha-256");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, scram_rfc7677);
	tcase_add_test(tc, scram_wrong_proof);
	tcase_add_test(tc, scram_ack_must_be_empty);
	tcase_add_test(tc, scram_client_final_malformed);
	tcase_add_test(tc, scram_client_first_malformed);
	tcase_add_test(tc, scram_client_first_accepted);
	tcase_add_test(tc, scram_authzid_refused);
	tcase_add_test(tc, scram_with_plain_credentials);
	tcase_add_test(tc, scram_with_dovecot_credentials);
	tcase_add_test(tc, scram_unknown_user);
	tcase_add_test(tc, scram_non_ascii_password);
	suite_add_tcase(s, tc);

	tc = tcase_create("apop");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, apop_rfc1939);
	tcase_add_test(tc, apop_malformed);
	tcase_add_test(tc, forget_credential_mechanisms);
	suite_add_tcase(s, tc);

	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
