/*
 * Password schemes: "{SCHEME}data" parsing, constant-time verification,
 * new hashes and cost-matched dummy verification; see password-scheme.h.
 *
 * Stored data is checked for its exact shape before it reaches libsodium or
 * crypt(3), so that a broken database entry is reported as malformed
 * instead of failing every login as a "wrong password".
 *
 * The dummy cache is process-global and not locked: the auth process
 * answers requests one at a time (auth-module.h).
 */
#include "config.h"
#include "password-scheme.h"
#include "log.h"

#include <crypt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

/* New ARGON2ID hashes use libsodium's "interactive" cost (t=2, 64 MiB):
 * about 0.1 s on current hardware, which an auth process answering one
 * request at a time can afford per login, and the same class of cost as
 * `doveadm pw -s ARGON2ID`. */
#define PASSWORD_ARGON2ID_OPSLIMIT crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE
#define PASSWORD_ARGON2ID_MEMLIMIT crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE

/* Stored Argon2 parameters above these are refused as malformed: one
 * corrupt or hostile database line must not make the auth process allocate
 * gigabytes or spin for minutes on every login attempt. They are far above
 * anything a sane admin sets (doveadm and we write 64 MiB, t <= 4). */
#define PASSWORD_ARGON2_MEMORY_KIB_MAX (1024U * 1024U)   /* 1 GiB */
#define PASSWORD_ARGON2_TIME_MAX 64U
#define PASSWORD_ARGON2_LANES_MAX 64U
/* A real encoded Argon2 string is ~100 bytes; bounds the parser. */
#define PASSWORD_ARGON2_STR_MAX 512
/* Salt and tag lengths in base64 characters: Argon2 requires a salt of at
 * least 8 bytes, libsodium a tag of at least 16 bytes. */
#define PASSWORD_ARGON2_SALT_B64_MIN 11
#define PASSWORD_ARGON2_HASH_B64_MIN 22

/* SHA512-CRYPT: glibc's default round count, which is also what
 * `doveadm pw -s SHA512-CRYPT` writes (no "rounds=" in the output). */
#define PASSWORD_SHA512_ROUNDS_DEFAULT 5000UL
#define PASSWORD_SHA512_ROUNDS_MIN 1000UL
#define PASSWORD_SHA512_ROUNDS_MAX 999999999UL
#define PASSWORD_SHA512_SALT_MAX 16
#define PASSWORD_SHA512_HASH_LEN 86

/* BLF-CRYPT: cost 10 (1024 rounds, ~60 ms) is the common modern default;
 * doveadm's 5 is too cheap against offline cracking today. */
#define PASSWORD_BLF_CRYPT_COST 10UL
#define PASSWORD_BLF_COST_MIN 4
#define PASSWORD_BLF_COST_MAX 31
#define PASSWORD_BLF_SALT_HASH_LEN 53   /* 22 salt + 31 hash characters */

/* Scheme names are short words; a longer "{...}" is not a scheme. */
#define PASSWORD_SCHEME_NAME_MAX 32

/* Longer passwords are never accepted: the cost of SHA512-CRYPT grows with
 * the password length, and every protocol in front of us caps its input
 * well below this anyway. */
#define PASSWORD_INPUT_MAX 4096

/* Distinct scheme+parameter combinations whose dummy hash we keep. A
 * database rarely mixes more than a handful; beyond this the dummy verifies
 * against `like` itself, which costs exactly the same. */
#define PASSWORD_DUMMY_CACHE_MAX 16
/* Room for a dummy cache key such as "$argon2id$v=19$m=...,t=...,p=...$". */
#define PASSWORD_DUMMY_KEY_MAX 96
/* Random bytes behind each dummy password and crypt salt. */
#define PASSWORD_RANDOM_BYTES 16

struct password_scheme {
	const char *name;
	/* 1 match, 0 mismatch, -1 malformed data (err set). */
	int (*verify)(const char *data, const char *password,
		      struct error *err);
	/* Fills key with the scheme's cost parameters taken from data (a
	 * valid stored value); returns -1 when data is malformed. */
	int (*dummy_key)(const char *data, char *key, size_t key_size);
	/* A new stored value (without "{SCHEME}") with the cost parameters
	 * of like (NULL: our defaults), heap-allocated; NULL with err set. */
	char *(*hash)(const char *like, const char *password,
		      struct error *err);
};

struct dummy_entry {
	const struct password_scheme *scheme;
	char key[PASSWORD_DUMMY_KEY_MAX];
	char *data;
};

static struct dummy_entry dummy_cache[PASSWORD_DUMMY_CACHE_MAX];
static unsigned dummy_cache_count;

static int sodium_ready(struct error *err)
{
	/* sodium_init() is idempotent and thread-safe: 1 = already done. */
	if (sodium_init() < 0) {
		error_set(err, ERROR_TEMP, "libsodium failed to initialise");
		return -1;
	}
	return 0;
}

/* Compares two byte strings of possibly different lengths in constant
 * time for a given pair of lengths, by comparing fixed-size digests. */
static bool bytes_equal(const void *a, size_t a_len, const void *b,
			size_t b_len)
{
	unsigned char da[crypto_generichash_BYTES];
	unsigned char db[crypto_generichash_BYTES];

	crypto_generichash(da, sizeof(da), a, a_len, NULL, 0);
	crypto_generichash(db, sizeof(db), b, b_len, NULL, 0);
	bool equal = sodium_memcmp(da, db, sizeof(da)) == 0;
	sodium_memzero(da, sizeof(da));
	sodium_memzero(db, sizeof(db));
	return equal;
}

static void malformed(struct error *err, const char *scheme, const char *why)
{
	error_set(err, ERROR_PERM, "{%s} stored password is malformed: %s",
		  scheme, why);
}

/* A random printable password for dummy hashes: nobody knows it. */
static void random_password(char *out, size_t out_size)
{
	unsigned char rnd[PASSWORD_RANDOM_BYTES];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(out, out_size, rnd, sizeof(rnd));
	sodium_memzero(rnd, sizeof(rnd));
}

/* Parses a decimal number without sign or leading zeros; advances *p. */
static bool parse_decimal(const char **p, unsigned long max,
			  unsigned long *value_r)
{
	const char *s = *p;
	unsigned long value = 0;

	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned digit = (unsigned)(*s - '0');
		if (value > (max - digit) / 10)
			return false;
		value = value * 10 + digit;
	}
	*p = s;
	*value_r = value;
	return true;
}

static bool skip_literal(const char **p, const char *literal)
{
	size_t len = strlen(literal);
	if (strncmp(*p, literal, len) != 0)
		return false;
	*p += len;
	return true;
}

/* Counts characters of set at *p and advances past them. */
static size_t skip_set(const char **p, const char *set)
{
	size_t n = strspn(*p, set);
	*p += n;
	return n;
}

/* ---- PLAIN ---- */

static int plain_verify(const char *data, const char *password,
			struct error *err)
{
	return bytes_equal(data, strlen(data), password, strlen(password)) ?
		1 : 0;
}

static int plain_dummy_key(const char *data, char *key, size_t key_size)
{
	snprintf(key, key_size, "PLAIN");
	return 0;
}

static char *plain_hash(const char *like, const char *password,
			struct error *err)
{
	return xstrdup(password);
}

/* ---- ARGON2ID (libsodium) ---- */

#define ARGON2_B64_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

struct argon2_params {
	unsigned long memory_kib, time, lanes;
};

/* Checks "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH" exactly. */
static int argon2id_parse(const char *data, struct argon2_params *params_r,
			  const char **why_r)
{
	const char *p = data;

	if (strlen(data) > PASSWORD_ARGON2_STR_MAX) {
		*why_r = "too long";
		return -1;
	}
	if (!skip_literal(&p, crypto_pwhash_argon2id_STRPREFIX)) {
		*why_r = "does not start with $argon2id$";
		return -1;
	}
	if (!skip_literal(&p, "v=19$")) {
		*why_r = "version is not v=19";
		return -1;
	}
	if (!skip_literal(&p, "m=") ||
	    !parse_decimal(&p, PASSWORD_ARGON2_MEMORY_KIB_MAX,
			   &params_r->memory_kib) ||
	    !skip_literal(&p, ",t=") ||
	    !parse_decimal(&p, PASSWORD_ARGON2_TIME_MAX, &params_r->time) ||
	    !skip_literal(&p, ",p=") ||
	    !parse_decimal(&p, PASSWORD_ARGON2_LANES_MAX, &params_r->lanes) ||
	    !skip_literal(&p, "$")) {
		*why_r = "bad or too large m=,t=,p= parameters";
		return -1;
	}
	if (params_r->time < 1 || params_r->lanes < 1 ||
	    params_r->memory_kib < 8 * params_r->lanes) {
		*why_r = "parameters below the Argon2 minimum";
		return -1;
	}
	if (skip_set(&p, ARGON2_B64_CHARS) < PASSWORD_ARGON2_SALT_B64_MIN ||
	    !skip_literal(&p, "$") ||
	    skip_set(&p, ARGON2_B64_CHARS) < PASSWORD_ARGON2_HASH_B64_MIN ||
	    *p != '\0') {
		*why_r = "bad salt or hash encoding";
		return -1;
	}
	return 0;
}

static int argon2id_verify(const char *data, const char *password,
			   struct error *err)
{
	struct argon2_params params;
	const char *why;

	if (argon2id_parse(data, &params, &why) < 0) {
		malformed(err, "ARGON2ID", why);
		return -1;
	}
	/* The shape is valid, so failure means a wrong password (or memory
	 * exhaustion, which must not log anyone in either). libsodium
	 * compares the tags in constant time. */
	return crypto_pwhash_str_verify(data, password, strlen(password)) == 0 ?
		1 : 0;
}

static int argon2id_dummy_key(const char *data, char *key, size_t key_size)
{
	struct argon2_params params;
	const char *why;

	if (argon2id_parse(data, &params, &why) < 0)
		return -1;
	snprintf(key, key_size, "$argon2id$v=19$m=%lu,t=%lu,p=%lu$",
		 params.memory_kib, params.time, params.lanes);
	return 0;
}

static char *argon2id_hash(const char *like, const char *password,
			   struct error *err)
{
	unsigned long long opslimit = PASSWORD_ARGON2ID_OPSLIMIT;
	size_t memlimit = PASSWORD_ARGON2ID_MEMLIMIT;
	char out[crypto_pwhash_STRBYTES];

	if (like != NULL) {
		struct argon2_params params;
		const char *why;
		if (argon2id_parse(like, &params, &why) < 0) {
			malformed(err, "ARGON2ID", why);
			return NULL;
		}
		/* libsodium only creates single-lane hashes. */
		if (params.lanes != 1) {
			error_set(err, ERROR_INVALID,
				  "{ARGON2ID} cannot create p=%lu hashes",
				  params.lanes);
			return NULL;
		}
		opslimit = params.time;
		memlimit = (size_t)params.memory_kib * 1024U;
	}
	if (crypto_pwhash_str_alg(out, password, strlen(password), opslimit,
				  memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		error_set(err, ERROR_TEMP,
			  "{ARGON2ID} hashing failed (out of memory?)");
		return NULL;
	}
	return xstrdup(out);
}

/* ---- crypt(3): SHA512-CRYPT and BLF-CRYPT ---- */

#define CRYPT_B64_CHARS \
	"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

/* Runs crypt_r and compares its output with data in constant time. */
static int crypt_verify(const char *scheme, const char *data,
			const char *password, struct error *err)
{
	/* ~32 KiB of scratch state, too big for the stack; it holds
	 * password-derived material, so it is wiped before release. */
	struct crypt_data *cd = xmalloc(sizeof(*cd));
	int ret;

	const char *out = crypt_r(password, data, cd);
	if (out == NULL || out[0] == '*') {
		malformed(err, scheme, "rejected by crypt(3)");
		ret = -1;
	} else {
		ret = bytes_equal(out, strlen(out), data, strlen(data)) ? 1 : 0;
	}
	sodium_memzero(cd, sizeof(*cd));
	free(cd);
	return ret;
}

/* Hashes password with a fresh random salt of the given crypt prefix. */
static char *crypt_new(const char *scheme, const char *prefix,
		       unsigned long count, const char *password,
		       struct error *err)
{
	char rnd[PASSWORD_RANDOM_BYTES];
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	char *result = NULL;

	randombytes_buf(rnd, sizeof(rnd));
	if (crypt_gensalt_rn(prefix, count, rnd, sizeof(rnd), setting,
			     sizeof(setting)) == NULL) {
		error_set_errno(err, "{%s} crypt_gensalt failed", scheme);
		return NULL;
	}
	struct crypt_data *cd = xmalloc(sizeof(*cd));
	const char *out = crypt_r(password, setting, cd);
	if (out == NULL || out[0] == '*')
		error_set(err, ERROR_TEMP, "{%s} crypt(3) failed", scheme);
	else
		result = xstrdup(out);
	sodium_memzero(cd, sizeof(*cd));
	free(cd);
	return result;
}

/* Checks "$6$[rounds=N$]SALT$HASH"; *rounds_r is 0 without "rounds=". */
static int sha512_parse(const char *data, unsigned long *rounds_r,
			const char **why_r)
{
	const char *p = data;

	*rounds_r = 0;
	if (!skip_literal(&p, "$6$")) {
		*why_r = "does not start with $6$";
		return -1;
	}
	if (skip_literal(&p, "rounds=")) {
		if (!parse_decimal(&p, PASSWORD_SHA512_ROUNDS_MAX, rounds_r) ||
		    *rounds_r < PASSWORD_SHA512_ROUNDS_MIN ||
		    !skip_literal(&p, "$")) {
			*why_r = "bad rounds=";
			return -1;
		}
	}
	if (skip_set(&p, CRYPT_B64_CHARS) > PASSWORD_SHA512_SALT_MAX ||
	    !skip_literal(&p, "$")) {
		*why_r = "bad salt";
		return -1;
	}
	if (skip_set(&p, CRYPT_B64_CHARS) != PASSWORD_SHA512_HASH_LEN ||
	    *p != '\0') {
		*why_r = "bad hash length or characters";
		return -1;
	}
	return 0;
}

static int sha512_verify(const char *data, const char *password,
			 struct error *err)
{
	unsigned long rounds;
	const char *why;

	if (sha512_parse(data, &rounds, &why) < 0) {
		malformed(err, "SHA512-CRYPT", why);
		return -1;
	}
	return crypt_verify("SHA512-CRYPT", data, password, err);
}

static int sha512_dummy_key(const char *data, char *key, size_t key_size)
{
	unsigned long rounds;
	const char *why;

	if (sha512_parse(data, &rounds, &why) < 0)
		return -1;
	if (rounds == 0)
		snprintf(key, key_size, "$6$");
	else
		snprintf(key, key_size, "$6$rounds=%lu$", rounds);
	return 0;
}

static char *sha512_hash(const char *like, const char *password,
			 struct error *err)
{
	/* gensalt with count 0 writes no "rounds=" and crypt then uses
	 * PASSWORD_SHA512_ROUNDS_DEFAULT, exactly like doveadm's output. */
	unsigned long rounds = 0;
	const char *why;

	if (like != NULL && sha512_parse(like, &rounds, &why) < 0) {
		malformed(err, "SHA512-CRYPT", why);
		return NULL;
	}
	return crypt_new("SHA512-CRYPT", "$6$", rounds, password, err);
}

/* Checks "$2a$NN$" / "$2b$" / "$2y$" + 53 characters. */
static int blf_parse(const char *data, char *variant_r, unsigned *cost_r,
		     const char **why_r)
{
	const char *p = data;

	if (strncmp(p, "$2", 2) != 0 || strchr("aby", p[2]) == NULL ||
	    p[2] == '\0' || p[3] != '$') {
		*why_r = "does not start with $2a$, $2b$ or $2y$";
		return -1;
	}
	*variant_r = p[2];
	p += 4;
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' ||
	    p[2] != '$') {
		*why_r = "bad cost";
		return -1;
	}
	*cost_r = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
	if (*cost_r < PASSWORD_BLF_COST_MIN || *cost_r > PASSWORD_BLF_COST_MAX) {
		*why_r = "cost out of range";
		return -1;
	}
	p += 3;
	if (skip_set(&p, CRYPT_B64_CHARS) != PASSWORD_BLF_SALT_HASH_LEN ||
	    *p != '\0') {
		*why_r = "bad salt or hash length";
		return -1;
	}
	return 0;
}

static int blf_verify(const char *data, const char *password,
		      struct error *err)
{
	char variant;
	unsigned cost;
	const char *why;

	if (blf_parse(data, &variant, &cost, &why) < 0) {
		malformed(err, "BLF-CRYPT", why);
		return -1;
	}
	return crypt_verify("BLF-CRYPT", data, password, err);
}

static int blf_dummy_key(const char *data, char *key, size_t key_size)
{
	char variant;
	unsigned cost;
	const char *why;

	if (blf_parse(data, &variant, &cost, &why) < 0)
		return -1;
	snprintf(key, key_size, "$2%c$%02u$", variant, cost);
	return 0;
}

static char *blf_hash(const char *like, const char *password,
		      struct error *err)
{
	/* $2y$ is what doveadm writes; libxcrypt treats $2y$ like $2b$. */
	char prefix[] = "$2y$";
	unsigned long cost = PASSWORD_BLF_CRYPT_COST;

	if (like != NULL) {
		char variant;
		unsigned like_cost;
		const char *why;
		if (blf_parse(like, &variant, &like_cost, &why) < 0) {
			malformed(err, "BLF-CRYPT", why);
			return NULL;
		}
		prefix[2] = variant;
		cost = like_cost;
	}
	return crypt_new("BLF-CRYPT", prefix, cost, password, err);
}

/* ---- scheme table ---- */

static const struct password_scheme schemes[] = {
	{ "PLAIN", plain_verify, plain_dummy_key, plain_hash },
	{ "ARGON2ID", argon2id_verify, argon2id_dummy_key, argon2id_hash },
	{ "SHA512-CRYPT", sha512_verify, sha512_dummy_key, sha512_hash },
	{ "BLF-CRYPT", blf_verify, blf_dummy_key, blf_hash },
};

static const struct password_scheme *scheme_find_len(const char *name,
						     size_t len)
{
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (strlen(schemes[i].name) == len &&
		    strncasecmp(schemes[i].name, name, len) == 0)
			return &schemes[i];
	}
	return NULL;
}

static const struct password_scheme *scheme_find(const char *name)
{
	return scheme_find_len(name, strlen(name));
}

static void unknown_scheme(struct error *err, const char *name, size_t len)
{
	char esc[PASSWORD_SCHEME_NAME_MAX * 4 + 1];
	if (len > PASSWORD_SCHEME_NAME_MAX)
		len = PASSWORD_SCHEME_NAME_MAX;
	error_set(err, ERROR_INVALID, "unknown password scheme '%s'",
		  log_escape(esc, sizeof(esc), name, len));
}

/* Splits stored into its scheme and data: "{NAME}data", or default_scheme
 * when there is no "{...}" prefix (Dovecot reads it the same way). */
static const struct password_scheme *
stored_split(const char *stored, const char *default_scheme,
	     const char **data_r, struct error *err)
{
	const char *name = default_scheme != NULL ? default_scheme :
		PASSWORD_SCHEME_DEFAULT;
	size_t name_len = strlen(name);
	const char *end;

	*data_r = stored;
	if (stored[0] == '{' && (end = strchr(stored, '}')) != NULL) {
		name = stored + 1;
		name_len = (size_t)(end - name);
		*data_r = end + 1;
	}
	const struct password_scheme *scheme = scheme_find_len(name, name_len);
	if (scheme == NULL)
		unknown_scheme(err, name, name_len);
	return scheme;
}

bool password_scheme_is_known(const char *name)
{
	return name != NULL && scheme_find(name) != NULL;
}

int password_verify(const char *stored, const char *password,
		    const char *default_scheme, struct error *err)
{
	const char *data;

	if (sodium_ready(err) < 0)
		return -1;
	const struct password_scheme *scheme =
		stored_split(stored, default_scheme, &data, err);
	if (scheme == NULL)
		return -1;
	if (strlen(password) > PASSWORD_INPUT_MAX)
		return 0;
	return scheme->verify(data, password, err);
}

/* Which scheme `like` is, with its data; NULL for anything unusable.
 * Without a "{...}" prefix the data's own shape names its scheme. */
static const struct password_scheme *like_scheme(const char *like,
						 const char **data_r)
{
	const char *end;

	if (like == NULL || like[0] == '\0')
		return NULL;
	if (like[0] == '{' && (end = strchr(like, '}')) != NULL) {
		*data_r = end + 1;
		return scheme_find_len(like + 1, (size_t)(end - like - 1));
	}
	*data_r = like;
	if (strncmp(like, crypto_pwhash_argon2id_STRPREFIX,
		    strlen(crypto_pwhash_argon2id_STRPREFIX)) == 0)
		return scheme_find("ARGON2ID");
	if (strncmp(like, "$6$", 3) == 0)
		return scheme_find("SHA512-CRYPT");
	if (strncmp(like, "$2", 2) == 0)
		return scheme_find("BLF-CRYPT");
	return scheme_find("PLAIN");
}

/* Makes entry's dummy: a stored value of scheme with like_data's cost
 * parameters (NULL: our defaults) for a random password nobody knows. */
static bool dummy_make(struct dummy_entry *entry,
		       const struct password_scheme *scheme,
		       const char *like_data)
{
	char pw[PASSWORD_RANDOM_BYTES * 2 + 1];

	random_password(pw, sizeof(pw));
	entry->data = scheme->hash(like_data, pw, NULL);
	sodium_memzero(pw, sizeof(pw));
	entry->scheme = entry->data != NULL ? scheme : NULL;
	return entry->data != NULL;
}

/* The cached dummy of scheme+key, made on first use; NULL when the cache
 * is full or it cannot be made. */
static const char *dummy_lookup(const struct password_scheme *scheme,
				const char *key, const char *like_data)
{
	for (unsigned i = 0; i < dummy_cache_count; i++) {
		if (dummy_cache[i].scheme == scheme &&
		    strcmp(dummy_cache[i].key, key) == 0)
			return dummy_cache[i].data;
	}
	if (dummy_cache_count == PASSWORD_DUMMY_CACHE_MAX)
		return NULL;
	struct dummy_entry *entry = &dummy_cache[dummy_cache_count];
	if (!dummy_make(entry, scheme, like_data))
		return NULL;
	snprintf(entry->key, sizeof(entry->key), "%s", key);
	dummy_cache_count++;
	return entry->data;
}

/* What an unknown user's password is verified against for like: the
 * cached dummy of like's kind, else *fallback_r (like's own data, which
 * costs the same); for a NULL or unusable like, the default-scheme dummy
 * with our own parameters. Returns NULL when there is nothing. */
static const char *dummy_for(const char *like,
			     const struct password_scheme **scheme_r,
			     const char **fallback_r)
{
	static struct dummy_entry default_dummy;
	const char *like_data = NULL;
	char key[PASSWORD_DUMMY_KEY_MAX];
	const struct password_scheme *scheme = like_scheme(like, &like_data);

	*fallback_r = NULL;
	if (scheme != NULL &&
	    scheme->dummy_key(like_data, key, sizeof(key)) == 0) {
		*scheme_r = scheme;
		*fallback_r = like_data;
		return dummy_lookup(scheme, key, like_data);
	}
	*scheme_r = scheme_find(PASSWORD_SCHEME_DEFAULT);
	if (default_dummy.data == NULL)
		(void)dummy_make(&default_dummy, *scheme_r, NULL);
	return default_dummy.data;
}

void password_verify_dummy_prepare(const char *like)
{
	const struct password_scheme *scheme;
	const char *fallback;

	if (sodium_ready(NULL) < 0)
		return;
	(void)dummy_for(like, &scheme, &fallback);
}

void password_verify_dummy(const char *like, const char *password)
{
	const struct password_scheme *scheme;
	const char *fallback;

	if (sodium_ready(NULL) < 0)
		return;
	const char *data = dummy_for(like, &scheme, &fallback);
	if (data == NULL)
		data = fallback;
	if (data == NULL || strlen(password) > PASSWORD_INPUT_MAX)
		return;
	/* The result is thrown away: an unknown user never logs in. */
	(void)scheme->verify(data, password, NULL);
}

char *password_hash(pool_t *pool, const char *scheme_name,
		    const char *password, struct error *err)
{
	if (scheme_name == NULL)
		scheme_name = PASSWORD_SCHEME_DEFAULT;
	if (sodium_ready(err) < 0)
		return NULL;
	const struct password_scheme *scheme = scheme_find(scheme_name);
	if (scheme == NULL) {
		unknown_scheme(err, scheme_name, strlen(scheme_name));
		return NULL;
	}
	if (strlen(password) > PASSWORD_INPUT_MAX) {
		error_set(err, ERROR_INVALID,
			  "{%s} password longer than %u bytes", scheme->name,
			  PASSWORD_INPUT_MAX);
		return NULL;
	}
	char *data = scheme->hash(NULL, password, err);
	if (data == NULL)
		return NULL;
	char *result = pool_printf(pool, "{%s}%s", scheme->name, data);
	/* For PLAIN the data is the password itself. */
	sodium_memzero(data, strlen(data));
	free(data);
	return result;
}
