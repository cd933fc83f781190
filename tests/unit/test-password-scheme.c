/*
 * Password schemes against vectors computed by independent
 * implementations: Drepper's SHA-crypt specification, the OpenWall
 * crypt_blowfish test vectors, passlib's MD5-crypt vectors, the Argon2
 * reference implementation (phc-winner-argon2 src/test.c), RFC 2195
 * (CRAM-MD5) and RFC 7677 (SCRAM-SHA-256), hashes written by Dovecot's
 * `doveadm pw` (Dovecot 2.3.19, Debian 12), plus libsodium-made strings
 * checked in both directions.
 */
#include "config.h"
#include "password-scheme.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "password-scheme-cram-md5.h"
#include "password-scheme-scram.h"

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

/* Drepper, "Unix crypt using SHA-256 and SHA-512", SHA-256 test vectors
 * (the rounds=10 one is written with the rounds=1000 crypt uses). */
static const struct vector sha256_vectors[] = {
	{ "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
	  "Hello world!" },
	{ "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2"
	  ".opqey6IcA", "Hello world!" },
	{ "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8"
	  "mGRcvxa5", "This is just a test" },
	{ "$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/",
	  "we have a short salt string but not a short password" },
	{ "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL97"
	  "2bIC", "the minimum number is still observed" },
};

/* passlib's md5_crypt test vectors. */
static const struct vector md5_vectors[] = {
	{ "$1$dXc3I7Rw$ctlgjDdWJLMT.qwHsWhXR1", "U*U*U*U*" },
	{ "$1$dOHYPKoP$tnxS1T8Q6VVn3kpV8cN6o.", "" },
};

/* 80 bytes: longer than an HMAC block, so CRAM-MD5 hashes the key. */
#define LONG_PW "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxx"
/* "pässwörd" in UTF-8, precomposed (NFC) as typed. */
#define UTF8_PW "p\xc3\xa4ssw\xc3\xb6rd"

/* Each made by `doveadm pw -s SCHEME -p PASSWORD` (Dovecot 2.3.19), the
 * scheme as shown in the prefix; the rounds=10000 one with `-r 10000`. */
static const struct vector dovecot_vectors[] = {
	{ "{SHA256-CRYPT}$5$GSEYwrmaEOGB/3LZ$.C.tp9FQV90lNQ6r9wBpXhUQ6WoWpZiFm"
	  "6AKSgZIS81", "pencil" },
	{ "{SHA256-CRYPT}$5$rounds=10000$dvxteVcKaZRvXpcS$8K5zpwBLA41L4WqHIDwt"
	  "Ed9VzJwWygqdnYdIvq6NSY8", "pencil" },
	{ "{SHA256-CRYPT}$5$9mypU7UJ00dAPCwU$qHJz1Xsr0TvpoLEz.9E77w5WQbt6zUP0A"
	  "ZY9CAcQ5C9", UTF8_PW },
	{ "{MD5-CRYPT}$1$jPlgh9Po$KdrdhRfwmIH9vFC/poCND1", "pencil" },
	{ "{MD5-CRYPT}$1$zZwvr0Qk$bzbFFFKGM6mJ9gAX.9hFp0", LONG_PW },
	{ "{MD5}$1$ruHF75rP$xqgXw5HzoUrbp1euSGvms.", "pencil" },
	{ "{SSHA256}C8JsX7c17OJOm1dd7XKc9aoLe92UIImB8bmP6r+EwPzxPE4T", "pencil" },
	{ "{SSHA256}GO1UXiYJxyJnqvUplPMUdEj2F7E1MIsu6Ssue964LPtr0TiR", UTF8_PW },
	{ "{SSHA256.HEX}df9caea2d0e07e3e0dc7c316d2a9be7bd1d227049e437e4728fd47"
	  "2a11c5254d126a8615", "hunter2" },
	{ "{SSHA512}XIW4zUV0Pz/Srr48lcJrVYOpaedZGROUGK7Qcdr5S6ZopcC+NX0G22YtoIT"
	  "0yYtRBotBsZ2sy57Y2WuGNL+uQynHkMk=", "pencil" },
	{ "{SSHA512}0BMtipjRqk6hTQZX7MorjeCvYgbrpoMmxxmSMeqObvFCeCqkbA2tAUwS5lx"
	  "agAP5IO6JRyWmQlykEdbgAkj2dobuL+I=", LONG_PW },
	{ "{SSHA512.HEX}368063319e744c9174e89d21885a5c6b575af24fe3e5bd592a4c767"
	  "64815f2ba71005405a265edffdf651321047e54a42e6197ce42924439da44ef7bf71"
	  "e6401e6ee7423", "pencil" },
	{ "{SSHA}FnKpsvEdF/x7hDTbFYRbJeHWKwz25YZD", "pencil" },
	{ "{SSHA}O1eXst/AzWXU6l4RZ2bB7A35Ob54jJO0", UTF8_PW },
	{ "{SHA256}E4CWaPtDY4Zwb2fcsFLtWEoEuhaowCoX1m00ww/O2iE=", "pencil" },
	{ "{SHA256.B64}RpcL73Cs7YEj8NXQlHF+KlzUEgQeA7JjdgSf5lsoNKQ=", UTF8_PW },
	{ "{SHA256.HEX}f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf"
	  "526a3f6c7", "hunter2" },
	{ "{SHA512}Gd8Bqrgo+NUINrp1cJcTrtInM1344YZDkYXAbJF6Kn03cat24wfPo7a4nvGm"
	  "aC1mgd3xGISHDl3hPnk/uVXu6w==", "pencil" },
	{ "{SHA512.HEX}6b97ed68d14eb3f1aa959ce5d49c7dc612e1eb1dafd73b1e7058474"
	  "83fd6a6c809f2ceb4e8df6ff9984c6298ff0285cace6614bf8daa9f0070101b6c89"
	  "899e22", "hunter2" },
	{ "{SHA1}0vxRJJChUDZGC1SJQBQ51tpUB/o=", "pencil" },
	{ "{SHA}0vxRJJChUDZGC1SJQBQ51tpUB/o=", "pencil" },
	{ "{SHA1.HEX}9a163175721df0c0bcb42cacab1f8b66ae955dcf", LONG_PW },
	{ "{SHA.HEX}f3bbbd66a63d4bf1747940578ec3d0103530e21d", "hunter2" },
	{ "{CRAM-MD5}7f47ace0e2af8f6cdeb72c03243a8c87834e19104164d6a42de72d243"
	  "adb4080", "pencil" },
	{ "{CRAM-MD5}ff6454343902c25cfaf14768b382dae3172680a33b4792a34267ff062"
	  "8fbfe89", LONG_PW },
	{ "{CRAM-MD5}4a60bd37924fc5d45b4c92ce695bac86cb234bc3028aab2a71a225cb0"
	  "dedfbb9", UTF8_PW },
	{ "{CRAM-MD5.B64}f0es4OKvj2zetywDJDqMh4NOGRBBZNakLectJDrbQIA=", "pencil" },
	{ "{SCRAM-SHA-256}4096,ug2M7e7iJZ/DhhRzr6JSRA==,z5yamYx0AB4nfsYA9Jaq0en"
	  "X1LcggaKVAdrN2Ddq/SM=,hUx4h0Nf7Q1OVBuM6s8XjqO4qWsyUrCHHOSYheJIXIU=",
	  "pencil" },
	{ "{SCRAM-SHA-256}4096,w3skoMvI1aMzOnh9AJEKew==,wu/cRh00lvF6/vErD6vKlcK"
	  "ems7wxxvdiF6+80y+Jcw=,mL/qaMjdHZZVzH83nnTjFxJK09sw6HqUjceeUrCoDrU=",
	  LONG_PW },
	{ "{SCRAM-SHA-256}4096,dcuO8v5KKqd6pyIQwow1eg==,BVzesH+cITZR4zCmr5jtnEN"
	  "Fs+M3S9H7T37shGvhRqg=,UUqj6c90bTfBJnly3sdMOn0b+GMncOnAJoqJi/BlWQQ=",
	  UTF8_PW },
	{ "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$hl4l9W6JXvF8YKIWqMUgNw$lqj90+"
	  "/HKis8Hre5B1Qvw+BkGB/5waSWD55VPRbRLvI", "pencil" },
	{ "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$af9LhbaeTQmlqZcdSrEtdQ$oVP"
	  "FstdtJuRm9HmFeKleP5Yq7byQapwsoc/j6RZDYsM", "hunter2" },
	{ "{PLAIN.B64}cGVuY2ls", "pencil" },
	{ "{PLAIN.B64}cMOkc3N3w7ZyZA==", UTF8_PW },
	/* Without a suffix a fixed-length digest's encoding is guessed from
	 * its length, as Dovecot does (hex of the {SHA256} above; base64 of
	 * the first {CRAM-MD5}). */
	{ "{SHA256}13809668fb436386706f67dcb052ed584a04ba16a8c02a17d66d34c30fc"
	  "eda21", "pencil" },
	{ "{CRAM-MD5}f0es4OKvj2zetywDJDqMh4NOGRBBZNakLectJDrbQIA=", "pencil" },
};

/* RFC 7677's example user: password "pencil", i=4096 and the RFC's salt;
 * the keys computed with Python's hashlib/hmac. */
#define RFC7677_STORED "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==," \
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=," \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="

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

/* v matches as "{scheme}..." and, without a prefix, with scheme as the
 * default; wrong and "" do not. */
static void assert_crypt_vector(const char *scheme, const struct vector *v,
				const char *wrong)
{
	char buf[256];

	prefixed(buf, sizeof(buf), scheme, v->stored);
	ck_assert_int_eq(verify(buf, v->password, NULL), 1);
	ck_assert_int_eq(verify(buf, wrong, NULL), 0);
	if (v->password[0] != '\0')
		ck_assert_int_eq(verify(buf, "", NULL), 0);
	ck_assert_int_eq(verify(v->stored, v->password, scheme), 1);
}

START_TEST(sha512_crypt_vectors)
{
	assert_crypt_vector("SHA512-CRYPT", &sha512_vectors[_i], "hello world!");
	/* Scheme names are case-insensitive. */
	ck_assert_int_eq(verify(sha512_vectors[_i].stored,
				sha512_vectors[_i].password, "sha512-crypt"), 1);
}
END_TEST

START_TEST(blf_crypt_vectors)
{
	assert_crypt_vector("BLF-CRYPT", &blf_vectors[_i], "U*U*U*U");
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

START_TEST(sha256_crypt_vectors)
{
	assert_crypt_vector("SHA256-CRYPT", &sha256_vectors[_i], "hello world!");
}
END_TEST

START_TEST(md5_crypt_vectors)
{
	assert_crypt_vector("MD5-CRYPT", &md5_vectors[_i], "U*U*U*U");
	/* Dovecot's other name for it. */
	assert_crypt_vector("MD5", &md5_vectors[_i], "U*U*U*U");
}
END_TEST

START_TEST(dovecot_hashes)
{
	const struct vector *v = &dovecot_vectors[_i];
	char wrong[128];

	ck_assert_msg(verify(v->stored, v->password, NULL) == 1, "%s",
		      v->stored);
	snprintf(wrong, sizeof(wrong), "%s!", v->password);
	ck_assert_int_eq(verify(v->stored, wrong, NULL), 0);
	ck_assert_int_eq(verify(v->stored, "", NULL), 0);
	/* A one-character change of the stored digest never matches (or is
	 * malformed, for a crypt string's last character). */
	char changed[512];
	snprintf(changed, sizeof(changed), "%s", v->stored);
	size_t last = strlen(changed) - 1;
	if (changed[last] == '=')
		last = strcspn(changed, "}") + 2;
	changed[last] = changed[last] == 'A' ? 'B' : 'A';
	ck_assert_int_ne(verify(changed, v->password, NULL), 1);
}
END_TEST

START_TEST(cram_md5_rfc2195)
{
	/* RFC 2195's example: secret "tanstaaftanstaaf"; its {CRAM-MD5}
	 * form is what `doveadm pw -s CRAM-MD5 -p tanstaaftanstaaf` wrote. */
	static const char challenge[] =
		"<1896.697170952@postoffice.reston.mci.net>";
	static const unsigned char rfc_digest[] = {
		0xb9, 0x13, 0xa6, 0x02, 0xc7, 0xed, 0xa7, 0xa4,
		0x95, 0xb4, 0xe6, 0xe7, 0x33, 0x4d, 0x38, 0x90,
	};
	static const char doveadm[] = "d06d4e1b26fccaa4b0b61801132340a354b2115"
		"2711fb604ca3e035e7015116b";
	unsigned char context[PASSWORD_CRAM_MD5_CONTEXT_LEN];
	unsigned char digest[PASSWORD_CRAM_MD5_DIGEST_LEN];
	char hex[PASSWORD_CRAM_MD5_CONTEXT_LEN * 2 + 1];

	password_cram_md5_context("tanstaaftanstaaf", 16, context);
	sodium_bin2hex(hex, sizeof(hex), context, sizeof(context));
	ck_assert_str_eq(hex, doveadm);
	password_cram_md5_hmac(context, challenge, strlen(challenge), digest);
	ck_assert(memcmp(digest, rfc_digest, sizeof(digest)) == 0);
	password_cram_md5_hmac(context, challenge, strlen(challenge) - 1,
			       digest);
	ck_assert(memcmp(digest, rfc_digest, sizeof(digest)) != 0);
	ck_assert_int_eq(verify("{CRAM-MD5}d06d4e1b26fccaa4b0b61801132340a354b"
				"21152711fb604ca3e035e7015116b",
				"tanstaaftanstaaf", NULL), 1);
}
END_TEST

START_TEST(scram_rfc7677_keys)
{
	struct password_scram_keys parsed, derived;
	const char *why;
	struct error err = { 0 };

	ck_assert_int_eq(password_scram_parse(RFC7677_STORED + 15, &parsed,
					      &why), 0);
	ck_assert_uint_eq(parsed.iterations, 4096);
	ck_assert_uint_eq(parsed.salt_len, 16);
	ck_assert_int_eq(password_scram_derive("pencil", 6, parsed.salt,
					       parsed.salt_len, 4096, &derived,
					       &err), 0);
	ck_assert(memcmp(parsed.stored_key, derived.stored_key, 32) == 0);
	ck_assert(memcmp(parsed.server_key, derived.server_key, 32) == 0);
	ck_assert_int_eq(verify(RFC7677_STORED, "pencil", NULL), 1);
	ck_assert_int_eq(verify(RFC7677_STORED, "Pencil", NULL), 0);
}
END_TEST

START_TEST(scram_normalises_passwords)
{
	/* The same password decomposed (NFD: a + U+0308, o + U+0308)
	 * normalises to the NFC that doveadm hashed. */
	static const char nfd[] = "pa\xcc\x88ssswo\xcc\x88rd";
	static const char nfd_ok[] = "pa\xcc\x88sswo\xcc\x88rd";
	const char *stored = dovecot_vectors[29].stored;
	struct error err = { 0 };

	ck_assert(strncmp(stored, "{SCRAM-SHA-256}4096,dcuO8", 25) == 0);
	ck_assert_int_eq(verify(stored, UTF8_PW, NULL), 1);
	ck_assert_int_eq(verify(stored, nfd_ok, NULL), 1);
	ck_assert_int_eq(verify(stored, nfd, NULL), 0);
	/* Invalid UTF-8 cannot be normalised: never matches, not hashed. */
	ck_assert_int_eq(verify(stored, "p\xff", NULL), 0);
	pool_t *pool = pool_create();
	ck_assert_ptr_null(password_hash(pool, "SCRAM-SHA-256", "p\xff", &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	pool_destroy(pool);
}
END_TEST

START_TEST(decode_for_sasl)
{
	unsigned char *raw;
	size_t len;
	struct error err = { 0 };

	ck_assert_int_eq(password_scheme_decode("{PLAIN.B64}cGVuY2ls", "plain",
						&raw, &len, &err), 1);
	ck_assert_uint_eq(len, 6);
	ck_assert_str_eq((char *)raw, "pencil");
	free(raw);
	ck_assert_int_eq(password_scheme_decode(dovecot_vectors[23].stored,
						"CRAM-MD5", &raw, &len, &err), 1);
	ck_assert_uint_eq(len, PASSWORD_CRAM_MD5_CONTEXT_LEN);
	ck_assert_int_eq(raw[0], 0x7f);
	free(raw);
	ck_assert_int_eq(password_scheme_decode("{PLAIN}x", "CRAM-MD5", &raw,
						&len, &err), 0);
	ck_assert_int_eq(password_scheme_decode("pencil", "PLAIN", &raw, &len,
						&err), 0);
	ck_assert_int_eq(password_scheme_decode("{NOPE}x", "PLAIN", &raw, &len,
						&err), 0);
	ck_assert_int_eq(password_scheme_decode("{CRAM-MD5}7f47", "CRAM-MD5",
						&raw, &len, &err), -1);
	ck_assert_int_eq(err.kind, ERROR_PERM);
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
	{ "{ARGON2I}$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaM"
	  "aO6Mm5c8y7cJHAph8ArZWb2GRPPc", "ARGON2I" },
	{ "{SHA256-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O81"
	  "7G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "SHA256-CRYPT" },
	{ "{SHA256-CRYPT}$5$rounds=999$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsx"
	  "Y/GNooZaBBGWEc5", "SHA256-CRYPT" },
	{ "{SHA256-CRYPT}$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBG"
	  "WEc", "SHA256-CRYPT" },
	/* More rounds than PASSWORD_SHA_CRYPT_ROUNDS_MAX. */
	{ "{SHA512-CRYPT}$6$rounds=5000001$saltstring$svn8UoSVapNtMuq1ukKS4tPQ"
	  "d8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
	  "SHA512-CRYPT" },
	{ "{MD5-CRYPT}$1$toolongsalt$KdrdhRfwmIH9vFC/poCND1", "MD5-CRYPT" },
	{ "{MD5-CRYPT}$1$jPlgh9Po$KdrdhRfwmIH9vFC/poCND", "MD5-CRYPT" },
	{ "{MD5}$5$jPlgh9Po$KdrdhRfwmIH9vFC/poCND1", "MD5" },
	/* Hex of "$6$" NUL "$": a NUL inside decoded text data. */
	{ "{SHA512-CRYPT.HEX}2436240024", "SHA512-CRYPT" },
	/* Base64 without its padding, with trailing garbage, with a space. */
	{ "{SHA256}E4CWaPtDY4Zwb2fcsFLtWEoEuhaowCoX1m00ww/O2iE", "SHA256" },
	{ "{SHA256}E4CWaPtDY4Zwb2fcsFLtWEoEuhaowCoX1m00ww/O2iE=x", "SHA256" },
	{ "{SHA256} E4CWaPtDY4Zwb2fcsFLtWEoEuhaowCoX1m00ww/O2iE=", "SHA256" },
	{ "{SHA256.HEX}f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf"
	  "526a3f6c", "SHA256" },
	{ "{SHA256.HEX}f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf"
	  "526a3f6c7f", "SHA256" },
	{ "{SHA256.HEX}g52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf"
	  "526a3f6c7", "SHA256" },
	{ "{SHA1}AAAA", "SHA1" },
	{ "{SHA512}0vxRJJChUDZGC1SJQBQ51tpUB/o=", "SHA512" },
	/* Exactly a digest: no salt. */
	{ "{SSHA256}E4CWaPtDY4Zwb2fcsFLtWEoEuhaowCoX1m00ww/O2iE=", "SSHA256" },
	{ "{SSHA}", "SSHA" },
	{ "{CRAM-MD5}7f47ace0", "CRAM-MD5" },
	{ "{CRAM-MD5}7f47ace0e2af8f6cdeb72c03243a8c87834e19104164d6a42de72d243"
	  "adb408g", "CRAM-MD5" },
	{ "{SCRAM-SHA-256}4095,ug2M7e7iJZ/DhhRzr6JSRA==,z5yamYx0AB4nfsYA9Jaq0en"
	  "X1LcggaKVAdrN2Ddq/SM=,hUx4h0Nf7Q1OVBuM6s8XjqO4qWsyUrCHHOSYheJIXIU=",
	  "SCRAM-SHA-256" },
	{ "{SCRAM-SHA-256}1000001,ug2M7e7iJZ/DhhRzr6JSRA==,z5yamYx0AB4nfsYA9Jaq"
	  "0enX1LcggaKVAdrN2Ddq/SM=,hUx4h0Nf7Q1OVBuM6s8XjqO4qWsyUrCHHOSYheJIXI"
	  "U=", "SCRAM-SHA-256" },
	{ "{SCRAM-SHA-256}04096,ug2M7e7iJZ/DhhRzr6JSRA==,z5yamYx0AB4nfsYA9Jaq0e"
	  "nX1LcggaKVAdrN2Ddq/SM=,hUx4h0Nf7Q1OVBuM6s8XjqO4qWsyUrCHHOSYheJIXIU=",
	  "SCRAM-SHA-256" },
	{ "{SCRAM-SHA-256}4096,,z5yamYx0AB4nfsYA9Jaq0enX1LcggaKVAdrN2Ddq/SM=,hU"
	  "x4h0Nf7Q1OVBuM6s8XjqO4qWsyUrCHHOSYheJIXIU=", "SCRAM-SHA-256" },
	{ "{SCRAM-SHA-256}4096,ug2M7e7iJZ/DhhRzr6JSRA==,z5yamYx0AB4nfsYA9Jaq0en"
	  "X1LcggaKVAdrN2Ddq/SM=", "SCRAM-SHA-256" },
	{ "{SCRAM-SHA-256}4096,ug2M7e7iJZ/DhhRzr6JSRA==,z5yamYx0AB4nfsYA9Jaq0en"
	  "X1LcggaKVAdrN2Ddq/SM=,hUx4h0Nf7Q1OVBuM6s8XjqO4qWsyUrCHHOSYheJIXIU=,",
	  "SCRAM-SHA-256" },
	/* SCRAM-SHA-1's 20-byte keys (doveadm pw -s SCRAM-SHA-1). */
	{ "{SCRAM-SHA-256}4096,N1BOHL0yuFHeHR+4rcwYew==,z6RFgFob/jnyynPkNZ0T+U6"
	  "lhuY=,n/T+5Nx9eOz1q6fkyH+4BYgJsTI=", "SCRAM-SHA-256" },
	{ "{SCRAM-SHA-256}4096,ug2M7e7iJZ/DhhRzr6JSRA==,z5yamYx0AB4nfsYA9Jaq0en"
	  "X1LcggaKVAdrN2Ddq/SM,hUx4h0Nf7Q1OVBuM6s8XjqO4qWsyUrCHHOSYheJIXIU=",
	  "SCRAM-SHA-256" },
	{ "{PLAIN.B64}cGVuY2l", "PLAIN" },
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

	ck_assert_int_eq(password_verify("{MD4}abcd", "hunter2", NULL,
					 &err), -1);
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.message, "MD4"));
	ck_assert_ptr_null(strstr(err.message, "hunter2"));

	/* Only Dovecot's encoding suffixes. */
	error_clear(&err);
	ck_assert_int_eq(password_verify("{SHA256.XYZ}abcd", "x", NULL, &err),
			 -1);
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_int_eq(password_verify("{SHA256.}abcd", "x", NULL, &err), -1);
	ck_assert_int_eq(password_verify("{.HEX}abcd", "x", NULL, &err), -1);

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
	static const char *const names[] = {
		"ARGON2I", "SHA256-CRYPT", "MD5-CRYPT", "MD5", "SSHA256",
		"SSHA512", "SSHA", "SHA256", "SHA512", "SHA1", "SHA",
		"CRAM-MD5", "SCRAM-SHA-256", "sha256.hex", "SSHA512.B64",
		"PLAIN.BASE64",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_msg(password_scheme_is_known(names[i]), "%s", names[i]);
	ck_assert(!password_scheme_is_known("CRYPT"));
	ck_assert(!password_scheme_is_known("SCRAM-SHA-1"));
	ck_assert(!password_scheme_is_known("SHA256.HEXX"));
	ck_assert(!password_scheme_is_known(""));
	ck_assert(!password_scheme_is_known(NULL));
}
END_TEST

static const char *const hash_schemes[] = {
	"PLAIN", "SHA512-CRYPT", "BLF-CRYPT", "ARGON2ID", "sha512-crypt",
	"ARGON2I", "SHA256-CRYPT", "MD5-CRYPT", "MD5", "SSHA", "SSHA256",
	"SSHA512", "SHA1", "SHA", "SHA256", "SHA512", "CRAM-MD5",
	"SCRAM-SHA-256", "SHA256.HEX", "SSHA512.HEX", "CRAM-MD5.B64",
	"PLAIN.B64",
};

/* Schemes without a salt: the same password always gives the same hash. */
static bool unsalted(const char *scheme)
{
	static const char *const names[] = {
		"PLAIN", "SHA", "SHA1", "SHA256", "SHA512", "CRAM-MD5",
	};
	size_t len = strcspn(scheme, ".");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i]) == len &&
		    strncasecmp(names[i], scheme, len) == 0)
			return true;
	}
	return false;
}

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
	if (unsalted(scheme)) {
		ck_assert_str_eq(a, b);
	} else {
		/* Fresh random salt each time. */
		ck_assert_str_ne(a, b);
	}
	if (strcasecmp(scheme, "PLAIN") != 0)
		ck_assert_ptr_null(strstr(a, "correct horse"));
	/* The prefix names the scheme as asked, suffix included. */
	ck_assert_int_eq(strncasecmp(a + 1, scheme, strlen(scheme)), 0);
	ck_assert_int_eq(a[strlen(scheme) + 1], '}');
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

	/* What doveadm writes for the other crypt schemes and Argon2i. */
	char *s256 = password_hash(pool, "SHA256-CRYPT", "x", &err);
	ck_assert(strncmp(s256, "{SHA256-CRYPT}$5$", 17) == 0);
	ck_assert_uint_eq(strlen(s256), 17 + 16 + 1 + 43);
	char *md5 = password_hash(pool, "MD5-CRYPT", "x", &err);
	ck_assert(strncmp(md5, "{MD5-CRYPT}$1$", 14) == 0);
	ck_assert_uint_eq(strlen(md5), 14 + 8 + 1 + 22);
	char *a2i = password_hash(pool, "ARGON2I", "x", &err);
	ck_assert(strncmp(a2i, "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$",
			  39) == 0);

	/* Digests: base64 by default, 16-byte salts. */
	char *ssha = password_hash(pool, "SSHA256", "x", &err);
	ck_assert_uint_eq(strlen(ssha), 9 + 64);   /* base64 of 32 + 16 */
	char *sha256 = password_hash(pool, "SHA256", "pencil", &err);
	ck_assert_str_eq(sha256, "{SHA256}E4CWaPtDY4Zwb2fcsFLtWEoEuhaowCoX1m00ww/O2iE=");
	sha256 = password_hash(pool, "sha256.hex", "pencil", &err);
	ck_assert_str_eq(sha256, "{SHA256.HEX}13809668fb436386706f67dcb052ed584a04ba"
			 "16a8c02a17d66d34c30fceda21");
	/* CRAM-MD5: hex, exactly doveadm's. */
	ck_assert_str_eq(password_hash(pool, "CRAM-MD5", "pencil", &err),
			 dovecot_vectors[23].stored);
	char *scram = password_hash(pool, "SCRAM-SHA-256", "x", &err);
	ck_assert(strncmp(scram, "{SCRAM-SHA-256}4096,", 20) == 0);
	ck_assert_uint_eq(strlen(scram), 20 + 24 + 1 + 44 + 1 + 44);

	error_clear(&err);
	ck_assert_ptr_null(password_hash(pool, "MD4", "x", &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.message, "MD4"));
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
	"{SHA256-CRYPT}$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZ"
	"kZRBAwqFMz2.opqey6IcA",
	"$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
	"{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$hl4l9W6JXvF8YKIWqMUgNw$lqj90+/"
	"HKis8Hre5B1Qvw+BkGB/5waSWD55VPRbRLvI",
	"$argon2i$v=19$m=32768,t=4,p=1$hl4l9W6JXvF8YKIWqMUgNw$lqj90+/HKis8Hre5"
	"B1Qvw+BkGB/5waSWD55VPRbRLvI",
	RFC7677_STORED,
	"{SCRAM-SHA-256}garbage",
	"{SHA256.NOPE}x",
};

/* Schemes cheap by design: their dummy must not be an Argon2 one. */
static const char *const dummy_cheap_likes[] = {
	"{PLAIN}secret",
	"{PLAIN.B64}cGVuY2ls",
	"{SSHA256}C8JsX7c17OJOm1dd7XKc9aoLe92UIImB8bmP6r+EwPzxPE4T",
	"{SHA256.HEX}f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf5"
	"26a3f6c7",
	"{SHA1}0vxRJJChUDZGC1SJQBQ51tpUB/o=",
	"{CRAM-MD5}7f47ace0e2af8f6cdeb72c03243a8c87834e19104164d6a42de72d243ad"
	"b4080",
	"{MD5-CRYPT}$1$jPlgh9Po$KdrdhRfwmIH9vFC/poCND1",
	"$1$jPlgh9Po$KdrdhRfwmIH9vFC/poCND1",
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

START_TEST(dummy_for_cheap_kinds)
{
	const char *like = dummy_cheap_likes[_i];
	struct timing_arg arg = { like, true };

	password_verify_dummy_prepare(like);
	password_verify_dummy(like, "password");
	ck_assert_msg(cpu_seconds(run_check, &arg) < 0.01, "%s", like);
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
	assert_same_cost("{SHA256-CRYPT}$5$rounds=123456$asaltof16chars..$gP3V"
			 "Q/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD");
	assert_same_cost(dovecot_vectors[30].stored);   /* ARGON2I */
	/* 100000 PBKDF2 iterations, made with Python's hashlib. */
	assert_same_cost("{SCRAM-SHA-256}100000,MDEyMzQ1Njc4OWFiY2RlZg==,P/4b"
			 "Rz0254UffbAveJZMFTMBx+XS9lZqQScV3HcpEGY=,0cZuASRV6b+F"
			 "AJJU5gc1W+zFHAEiBwf9weqLfZlocac=");

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
	tcase_add_loop_test(tc, sha256_crypt_vectors, 0,
			    sizeof(sha256_vectors) / sizeof(sha256_vectors[0]));
	tcase_add_loop_test(tc, md5_crypt_vectors, 0,
			    sizeof(md5_vectors) / sizeof(md5_vectors[0]));
	tcase_add_loop_test(tc, dovecot_hashes, 0,
			    sizeof(dovecot_vectors) / sizeof(dovecot_vectors[0]));
	tcase_add_test(tc, cram_md5_rfc2195);
	tcase_add_test(tc, scram_rfc7677_keys);
	tcase_add_test(tc, scram_normalises_passwords);
	tcase_add_test(tc, decode_for_sasl);
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
	tcase_add_loop_test(tc, dummy_for_cheap_kinds, 0,
			    sizeof(dummy_cheap_likes) /
			    sizeof(dummy_cheap_likes[0]));
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
