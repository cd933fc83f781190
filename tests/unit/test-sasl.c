/* Unit tests for the server side of SASL PLAIN and LOGIN (auth/sasl.c). */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "sasl.h"

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
	ck_assert_ptr_null(sasl_begin(pool, "CRAM-MD5"));
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

	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
