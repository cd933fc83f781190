/*
 * Password schemes against vectors computed by independent
 * implementations: Drepper's SHA-crypt specification, the OpenWall
 * crypt_blowfish test vectors, and the Argon2 reference implementation
 * (phc-winner-argon2 src/test.c), plus libsodium-made strings checked in
 * both directions.
 */
#include "config.h"
#include "password-scheme.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

struct vector {
	const char *stored;
	const char *password;
};

/* Drepper, "Unix crypt using SHA-256 and SHA-512", test vectors. */
static const struct vector sha512_vectors[] = {
	{ "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQ"
	  "JuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!" },
	{ "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0"
	  "sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
	  "Hello world!" },
	{ "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoN"
	  "eKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0",
	  "This is just a test" },
};

/* OpenWall crypt_blowfish wrapper.c test vectors ($2y$/$2b$ variants of
 * the first give the same hash for 7-bit input). */
static const struct vector blf_vectors[] = {
	{ "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U" },
	{ "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", "U*U*" },
	{ "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a",
	  "U*U*U" },
	{ "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
	  "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	  "0123456789chars after 72 are ignored" },
	{ "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", "" },
	{ "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U" },
	{ "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U" },
};

/* Argon2 reference implementation: password "password", salt "somesalt",
 * t=2, m=64 MiB, p=1. */
#define ARGON2ID_REFERENCE \
	"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$" \
	"CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

static char *prefixed(char *out, size_t size, const char *scheme,
		      const char *data)
{
	snprintf(out, size, "{%s}%s", scheme, data);
	return out;
}

static int verify(const char *stored, const char *password,
		  const char *default_scheme)
{
	struct error err = { 0 };
	int ret = password_verify(stored, password, default_scheme, &err);
	if (ret < 0)
		ck_assert_int_ne(err.kind, ERROR_NONE);
	return ret;
}

/* CPU time spent by f(arg), in seconds. */
static double cpu_seconds(void (*f)(const void *), const void *arg)
{
	struct timespec a, b;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	f(arg);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

START_TEST(sha512_crypt_vectors)
{
	char buf[256];
	const struct vector *v = &sha512_vectors[_i];

	prefixed(buf, sizeof(buf), "SHA512-CRYPT", v->stored);
	ck_assert_int_eq(verify(buf, v->password, NULL), 1);
	ck_assert_int_eq(verify(buf, "hello world!", NULL), 0);
	ck_assert_int_eq(verify(buf, "", NULL), 0);
	/* Without a prefix, the default scheme decides. */
	ck_assert_int_eq(verify(v->stored, v->password, "SHA512-CRYPT"), 1);
	ck_assert_int_eq(verify(v->stored, v->password, "sha512-crypt"), 1);
}
END_TEST

START_TEST(blf_crypt_vectors)
{
	char buf[256];
	const struct vector *v = &blf_vectors[_i];

	prefixed(buf, sizeof(buf), "BLF-CRYPT", v->stored);
	ck_assert_int_eq(verify(buf, v->password, NULL), 1);
	ck_assert_int_eq(verify(buf, "U*U*U*U", NULL), 0);
	ck_assert_int_eq(verify(v->stored, v->password, "BLF-CRYPT"), 1);
}
END_TEST

START_TEST(blf_crypt_truncates_at_72)
{
	/* bcrypt reads 72 bytes: a different tail still matches. */
	char buf[256];
	prefixed(buf, sizeof(buf), "BLF-CRYPT", blf_vectors[3].stored);
	ck_assert_int_eq(verify(buf, "0123456789abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				"something else", NULL), 1);
	ck_assert_int_eq(verify(buf, "0123456789", NULL), 0);
}
END_TEST

START_TEST(argon2id_reference_vector)
{
	ck_assert_int_eq(verify("{ARGON2ID}" ARGON2ID_REFERENCE, "password",
				NULL), 1);
	ck_assert_int_eq(verify("{ARGON2ID}" ARGON2ID_REFERENCE, "passwore",
				NULL), 0);
	/* Without a prefix: ARGON2ID is the default of defaults. */
	ck_assert_int_eq(verify(ARGON2ID_REFERENCE, "password", NULL), 1);
	ck_assert_int_eq(verify("{argon2id}" ARGON2ID_REFERENCE, "password",
				"PLAIN"), 1);
}
END_TEST

START_TEST(argon2id_libsodium_both_ways)
{
	char made[crypto_pwhash_STRBYTES];
	char buf[256];
	struct error err = { 0 };

	ck_assert_int_ge(sodium_init(), 0);
	/* libsodium's string, read by us. */
	ck_assert_int_eq(crypto_pwhash_str_alg(made, "s3cret", 6, 3,
					       32 * 1024 * 1024,
					       crypto_pwhash_ALG_ARGON2ID13), 0);
	ck_assert_int_eq(verify(prefixed(buf, sizeof(buf), "ARGON2ID", made),
				"s3cret", NULL), 1);
	ck_assert_int_eq(verify(buf, "s3creT", NULL), 0);

	/* Our string, read by libsodium. */
	pool_t *pool = pool_create();
	char *ours = password_hash(pool, "ARGON2ID", "s3cret", &err);
	ck_assert_ptr_nonnull(ours);
	ck_assert(strncmp(ours, "{ARGON2ID}$argon2id$v=19$m=65536,t=2,p=1$",
			  strlen("{ARGON2ID}$argon2id$v=19$m=65536,t=2,p=1$")) == 0);
	ck_assert_uint_lt(strlen(ours + 10), sizeof(made));
	memset(made, 0, sizeof(made));
	memcpy(made, ours + 10, strlen(ours + 10));
	ck_assert_int_eq(crypto_pwhash_str_verify(made, "s3cret", 6), 0);
	ck_assert_int_ne(crypto_pwhash_str_verify(made, "s3creT", 6), 0);
	pool_destroy(pool);
}
END_TEST

START_TEST(plain_scheme)
{
	ck_assert_int_eq(verify("{PLAIN}secret", "secret", NULL), 1);
	ck_assert_int_eq(verify("{plain}secret", "secret", NULL), 1);
	ck_assert_int_eq(verify("{Plain}secret", "secreT", NULL), 0);
	ck_assert_int_eq(verify("{PLAIN}secret", "secret2", NULL), 0);
	ck_assert_int_eq(verify("{PLAIN}secret", "secre", NULL), 0);
	ck_assert_int_eq(verify("{PLAIN}secret", "", NULL), 0);
	ck_assert_int_eq(verify("{PLAIN}", "", NULL), 1);
	ck_assert_int_eq(verify("secret", "secret", "PLAIN"), 1);
	/* An unclosed brace is no prefix: the whole value is data. */
	ck_assert_int_eq(verify("{secret", "{secret", "PLAIN"), 1);
	/* A password with braces after the prefix is data. */
	ck_assert_int_eq(verify("{PLAIN}{x}", "{x}", NULL), 1);
}
END_TEST

START_TEST(overlong_password_never_matches)
{
	static char longpw[5000];
	static char stored[5100];
	memset(longpw, 'a', sizeof(longpw) - 1);
	snprintf(stored, sizeof(stored), "{PLAIN}%s", longpw);
	ck_assert_int_eq(verify(stored, longpw, NULL), 0);
	stored[7 + 100] = '\0';
	longpw[100] = '\0';
	ck_assert_int_eq(verify(stored, longpw, NULL), 1);
}
END_TEST

static const struct {
	const char *stored;
	const char *scheme;   /* must appear in the message */
} malformed[] = {
	{ "{SHA512-CRYPT}$6$abc", "SHA512-CRYPT" },
	{ "{SHA512-CRYPT}", "SHA512-CRYPT" },
	{ "{SHA512-CRYPT}$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF"
	  "1BtaF", "SHA512-CRYPT" },
	{ "{SHA512-CRYPT}$6$rounds=10$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iK"
	  "wSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
	  "SHA512-CRYPT" },
	{ "{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
	  "O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1X", "SHA512-CRYPT" },
	{ "{BLF-CRYPT}$2a$05$short", "BLF-CRYPT" },
	{ "{BLF-CRYPT}$2a$99$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
	  "BLF-CRYPT" },
	{ "{BLF-CRYPT}$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
	  "BLF-CRYPT" },
	{ "{BLF-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G"
	  "3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "BLF-CRYPT" },
	{ "{ARGON2ID}$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3u"
	  "b+b+dWRWJTmaaJObG", "ARGON2ID" },
	{ "{ARGON2ID}$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFa"
	  "MaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "ARGON2ID" },
	/* 4 TiB of memory: refused before libsodium tries. */
	{ "{ARGON2ID}$argon2id$v=19$m=4294967295,t=2,p=1$c29tZXNhbHQ$CTFhFdXP"
	  "JO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "ARGON2ID" },
	{ "{ARGON2ID}$argon2id$v=19$m=65536,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFa"
	  "MaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "ARGON2ID" },
	{ "{ARGON2ID}$argon2id$v=19$m=65536,t=2,p=1$c29t*XNhbHQ$CTFhFdXPJO1aFa"
	  "MaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "ARGON2ID" },
	{ "{ARGON2ID}$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFh", "ARGON2ID" },
	{ "{ARGON2ID}$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFa"
	  "MaO6Mm5c8y7cJHAph8ArZWb2GRPPc$", "ARGON2ID" },
	{ "{ARGON2ID}hunter2", "ARGON2ID" },
};

START_TEST(malformed_stored_values)
{
	struct error err = { 0 };
	int ret = password_verify(malformed[_i].stored, "hunter2", NULL, &err);
	ck_assert_int_eq(ret, -1);
	ck_assert_int_eq(err.kind, ERROR_PERM);
	ck_assert_ptr_nonnull(strstr(err.message, malformed[_i].scheme));
	ck_assert_ptr_null(strstr(err.message, "hunter2"));
}
END_TEST

START_TEST(unknown_schemes)
{
	struct error err = { 0 };

	ck_assert_int_eq(password_verify("{MD5-CRYPT}$1$x$y", "hunter2", NULL,
					 &err), -1);
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.message, "MD5-CRYPT"));
	ck_assert_ptr_null(strstr(err.message, "hunter2"));

	error_clear(&err);
	ck_assert_int_eq(password_verify("hunter2", "hunter2", "NOPE", &err), -1);
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.message, "NOPE"));
	ck_assert_ptr_null(strstr(err.message, "hunter2"));

	/* Control bytes in a scheme name do not reach the message raw. */
	error_clear(&err);
	ck_assert_int_eq(password_verify("{A\nB}x", "x", NULL, &err), -1);
	ck_assert_ptr_null(strchr(err.message, '\n'));

	ck_assert_int_eq(password_verify("{}x", "x", NULL, &err), -1);

	ck_assert(password_scheme_is_known("argon2id"));
	ck_assert(password_scheme_is_known("Sha512-Crypt"));
	ck_assert(password_scheme_is_known("BLF-CRYPT"));
	ck_assert(password_scheme_is_known("PLAIN"));
	ck_assert(!password_scheme_is_known("CRYPT"));
	ck_assert(!password_scheme_is_known(""));
	ck_assert(!password_scheme_is_known(NULL));
}
END_TEST

static const char *const hash_schemes[] = {
	"PLAIN", "SHA512-CRYPT", "BLF-CRYPT", "ARGON2ID", "sha512-crypt",
};

START_TEST(hash_round_trip)
{
	const char *scheme = hash_schemes[_i];
	struct error err = { 0 };
	pool_t *pool = pool_create();

	char *a = password_hash(pool, scheme, "correct horse", &err);
	char *b = password_hash(pool, scheme, "correct horse", &err);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(a[0], '{');
	ck_assert_int_eq(verify(a, "correct horse", NULL), 1);
	ck_assert_int_eq(verify(a, "correct horsE", NULL), 0);
	ck_assert_int_eq(verify(b, "correct horse", NULL), 1);
	if (strcasecmp(scheme, "PLAIN") != 0) {
		/* Fresh random salt each time. */
		ck_assert_str_ne(a, b);
		ck_assert_ptr_null(strstr(a, "correct horse"));
	}
	pool_destroy(pool);
}
END_TEST

START_TEST(hash_formats)
{
	struct error err = { 0 };
	pool_t *pool = pool_create();

	/* What doveadm writes: 5000 rounds implied, 16-character salt. */
	char *sha = password_hash(pool, "SHA512-CRYPT", "x", &err);
	ck_assert_ptr_nonnull(sha);
	ck_assert(strncmp(sha, "{SHA512-CRYPT}$6$", 17) == 0);
	ck_assert_ptr_null(strstr(sha, "rounds="));
	ck_assert_uint_eq(strlen(sha), 17 + 16 + 1 + 86);

	char *blf = password_hash(pool, "blf-crypt", "x", &err);
	ck_assert_ptr_nonnull(blf);
	ck_assert(strncmp(blf, "{BLF-CRYPT}$2y$10$", 18) == 0);
	ck_assert_uint_eq(strlen(blf), 11 + 60);

	ck_assert_str_eq(password_hash(pool, "PLAIN", "x", &err), "{PLAIN}x");
	/* NULL scheme: the default. */
	char *def = password_hash(pool, NULL, "x", &err);
	ck_assert_ptr_nonnull(def);
	ck_assert(strncmp(def, "{" PASSWORD_SCHEME_DEFAULT "}",
			  strlen(PASSWORD_SCHEME_DEFAULT) + 2) == 0);

	error_clear(&err);
	ck_assert_ptr_null(password_hash(pool, "MD5", "x", &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.message, "MD5"));
	pool_destroy(pool);
}
END_TEST

static const char *const dummy_likes[] = {
	NULL,
	"{PLAIN}secret",
	"{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817"
	"G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
	"$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbH"
	"bbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
	"{BLF-CRYPT}$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
	"$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
	"{ARGON2ID}" ARGON2ID_REFERENCE,
	/* Four lanes: libsodium cannot make such a dummy. */
	"{ARGON2ID}$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$CTFhFdXPJO1aFa"
	"MaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
	"{ARGON2ID}garbage",
	"{NOPE}x",
	"",
};

struct timing_arg {
	const char *stored;
	bool dummy;
};

static void run_check(const void *p)
{
	const struct timing_arg *arg = p;
	if (arg->dummy)
		password_verify_dummy(arg->stored, "wrong password");
	else
		(void)password_verify(arg->stored, "wrong password", NULL, NULL);
}

START_TEST(dummy_for_each_kind)
{
	const char *like = dummy_likes[_i];
	struct timing_arg arg = { like, true };

	/* Made once, then served from the cache; never crashes on odd
	 * input. Everything but PLAIN does real hashing work (unusable
	 * likes fall back to the default ARGON2ID dummy): even the
	 * cheapest, 5000 SHA-512 rounds or bcrypt cost 5, takes well over
	 * 0.3 ms. */
	password_verify_dummy_prepare(like);
	password_verify_dummy(like, "password");
	double t = cpu_seconds(run_check, &arg);
	if (like != NULL && strcmp(like, "{PLAIN}secret") == 0)
		ck_assert(t < 0.01);
	else
		ck_assert_msg(t > 0.0003, "dummy took only %.6fs", t);
}
END_TEST

/* Unknown users cost what wrong passwords cost. */
static void assert_same_cost(const char *stored)
{
	struct timing_arg real = { stored, false }, dummy = { stored, true };

	password_verify_dummy_prepare(stored);
	double t_real = cpu_seconds(run_check, &real);
	double t_dummy = cpu_seconds(run_check, &dummy);
	ck_assert_msg(t_dummy > t_real / 3 && t_dummy < t_real * 3,
		      "real %.4fs dummy %.4fs for %.20s", t_real, t_dummy,
		      stored);
}

START_TEST(dummy_costs_like_real)
{
	/* 200000 rounds: long enough (~0.1 s) to measure reliably. */
	static const char sha_slow[] =
		"{SHA512-CRYPT}$6$rounds=200000$saltstringsaltst$"
		"OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHB"
		"y/YTBmSK6H9qs/y3RnOaw5v.";
	static const char blf_slow[] =
		"{BLF-CRYPT}$2a$12$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJ"
		"KvyOeW";
	assert_same_cost(sha_slow);
	assert_same_cost(blf_slow);
	assert_same_cost("{ARGON2ID}" ARGON2ID_REFERENCE);

	/* And a PLAIN database's dummy is not an Argon2 one (which would
	 * tell unknown users apart by being slower). */
	struct timing_arg plain = { "{PLAIN}secret", true };
	struct timing_arg argon = { "{ARGON2ID}" ARGON2ID_REFERENCE, true };
	password_verify_dummy_prepare(plain.stored);
	ck_assert(cpu_seconds(run_check, &plain) * 10 <
		  cpu_seconds(run_check, &argon));
}
END_TEST

static Suite *password_scheme_suite(void)
{
	Suite *s = suite_create("password-scheme");
	TCase *tc = tcase_create("vectors");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, sha512_crypt_vectors, 0,
			    sizeof(sha512_vectors) / sizeof(sha512_vectors[0]));
	tcase_add_loop_test(tc, blf_crypt_vectors, 0,
			    sizeof(blf_vectors) / sizeof(blf_vectors[0]));
	tcase_add_test(tc, blf_crypt_truncates_at_72);
	tcase_add_test(tc, argon2id_reference_vector);
	tcase_add_test(tc, argon2id_libsodium_both_ways);
	tcase_add_test(tc, plain_scheme);
	tcase_add_test(tc, overlong_password_never_matches);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, malformed_stored_values, 0,
			    sizeof(malformed) / sizeof(malformed[0]));
	tcase_add_test(tc, unknown_schemes);
	suite_add_tcase(s, tc);

	tc = tcase_create("hash");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, hash_round_trip, 0,
			    sizeof(hash_schemes) / sizeof(hash_schemes[0]));
	tcase_add_test(tc, hash_formats);
	suite_add_tcase(s, tc);

	tc = tcase_create("dummy");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, dummy_for_each_kind, 0,
			    sizeof(dummy_likes) / sizeof(dummy_likes[0]));
	tcase_add_test(tc, dummy_costs_like_real);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(password_scheme_suite());
	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? 0 : 1;
}
