/*
 * Password schemes: "{SCHEME[.ENC]}data" parsing and decoding, dispatch to
 * the scheme families (password-scheme-*.c), {PLAIN}, new hashes and
 * cost-matched dummy verification; see password-scheme.h.
 *
 * Stored data is checked for its exact shape before it reaches libsodium,
 * crypt(3) or GnuTLS, so that a broken database entry is reported as
 * malformed instead of failing every login as a "wrong password".
 *
 * The dummy cache is process-global and not locked: the auth process
 * answers requests one at a time (auth-module.h).
 */
#include "config.h"
#include "password-scheme.h"
#include "password-scheme-private.h"
#include "log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

/* Scheme names are short words; a longer "{...}" is not a scheme. */
#define PASSWORD_SCHEME_NAME_MAX 32

/* Longer passwords are never accepted: the cost of SHA512-CRYPT grows with
 * the password length, and every protocol in front of us caps its input
 * well below this anyway. */
#define PASSWORD_INPUT_MAX 4096

/* Stored data longer than this is malformed, so decoding stays bounded:
 * hashes are a few hundred bytes at most, and the longest legitimate
 * value, a {PLAIN.HEX} password of PASSWORD_INPUT_MAX bytes, is half. */
#define PASSWORD_STORED_MAX (4 * PASSWORD_INPUT_MAX)

/* Distinct scheme+parameter combinations whose dummy hash we keep. A
 * database rarely mixes more than a handful; beyond this the dummy verifies
 * against `like` itself, which costs exactly the same. */
#define PASSWORD_DUMMY_CACHE_MAX 16
/* Room for a dummy cache key such as "$argon2id$v=19$m=...,t=...,p=...$". */
#define PASSWORD_DUMMY_KEY_MAX 96

struct dummy_entry {
	const struct password_scheme *scheme;
	char key[PASSWORD_DUMMY_KEY_MAX];
	unsigned char *data;
	size_t data_len;
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

/* Compares fixed-size digests, so the time depends on the lengths only. */
bool password_scheme_bytes_equal(const void *a, size_t a_len, const void *b,
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

void password_scheme_malformed(struct error *err, const char *scheme,
			       const char *why)
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

bool password_scheme_parse_decimal(const char **p, unsigned long max,
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

bool password_scheme_skip_literal(const char **p, const char *literal)
{
	size_t len = strlen(literal);
	if (strncmp(*p, literal, len) != 0)
		return false;
	*p += len;
	return true;
}

size_t password_scheme_skip_set(const char **p, const char *set)
{
	size_t n = strspn(*p, set);
	*p += n;
	return n;
}

unsigned char *password_scheme_memdup(const void *data, size_t len)
{
	unsigned char *copy = xmalloc(len + 1);
	memcpy(copy, data, len);
	return copy;
}

/* ---- PLAIN ---- */

static int plain_verify(const struct password_scheme *scheme,
			const unsigned char *data, size_t data_len,
			const char *password, struct error *err)
{
	return password_scheme_bytes_equal(data, data_len, password,
					   strlen(password)) ? 1 : 0;
}

static int plain_dummy_key(const struct password_scheme *scheme,
			   const unsigned char *data, size_t data_len,
			   char *key, size_t key_size)
{
	snprintf(key, key_size, "PLAIN");
	return 0;
}

static unsigned char *plain_hash(const struct password_scheme *scheme,
				 const unsigned char *like, size_t like_len,
				 const char *password, size_t *len_r,
				 struct error *err)
{
	*len_r = strlen(password);
	return password_scheme_memdup(password, *len_r);
}

static const struct password_scheme password_scheme_plain = {
	"PLAIN", PASSWORD_ENCODING_NONE, 0, true, NULL,
	plain_verify, plain_dummy_key, plain_hash,
};

/* ---- scheme table and names ---- */

static const struct password_scheme *const schemes[] = {
	&password_scheme_plain,
	&password_scheme_argon2id,
	&password_scheme_argon2i,
	&password_scheme_sha512_crypt,
	&password_scheme_sha256_crypt,
	&password_scheme_md5_crypt,
	&password_scheme_md5,
	&password_scheme_blf_crypt,
	&password_scheme_sha1,
	&password_scheme_sha,
	&password_scheme_sha256,
	&password_scheme_sha512,
	&password_scheme_ssha,
	&password_scheme_ssha256,
	&password_scheme_ssha512,
	&password_scheme_cram_md5,
	&password_scheme_scram_sha256,
};

/* A scheme name as written in "{...}": the scheme and its encoding. */
struct scheme_ref {
	const struct password_scheme *scheme;
	enum password_encoding encoding;
	bool explicit_encoding;   /* a ".HEX"/".B64" suffix was given */
};

static const struct password_scheme *scheme_find_len(const char *name,
						     size_t len)
{
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (strlen(schemes[i]->name) == len &&
		    strncasecmp(schemes[i]->name, name, len) == 0)
			return schemes[i];
	}
	return NULL;
}

static bool suffix_is(const char *suffix, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(suffix, word, len) == 0;
}

/* Looks up "NAME" or "NAME.HEX" / "NAME.B64" / "NAME.BASE64" (Dovecot's
 * suffixes); false for an unknown name or suffix. */
static bool scheme_lookup(const char *name, size_t len, struct scheme_ref *ref_r)
{
	const char *dot = memchr(name, '.', len);
	size_t base_len = dot != NULL ? (size_t)(dot - name) : len;

	ref_r->scheme = scheme_find_len(name, base_len);
	if (ref_r->scheme == NULL)
		return false;
	ref_r->encoding = ref_r->scheme->default_encoding;
	ref_r->explicit_encoding = dot != NULL;
	if (dot == NULL)
		return true;
	const char *suffix = dot + 1;
	size_t suffix_len = len - base_len - 1;
	if (suffix_is(suffix, suffix_len, "HEX"))
		ref_r->encoding = PASSWORD_ENCODING_HEX;
	else if (suffix_is(suffix, suffix_len, "B64") ||
		 suffix_is(suffix, suffix_len, "BASE64"))
		ref_r->encoding = PASSWORD_ENCODING_BASE64;
	else
		return false;
	return true;
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
static bool stored_split(const char *stored, const char *default_scheme,
			 struct scheme_ref *ref_r, const char **data_r,
			 struct error *err)
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
	if (!scheme_lookup(name, name_len, ref_r)) {
		unknown_scheme(err, name, name_len);
		return false;
	}
	return true;
}

/* Decodes data as ref says, into a heap copy with a NUL after *len_r
 * bytes (the caller wipes and frees it); NULL with err when malformed. */
static unsigned char *data_decode(const struct scheme_ref *ref,
				  const char *data, size_t *len_r,
				  struct error *err)
{
	const struct password_scheme *scheme = ref->scheme;
	size_t len = strlen(data);
	enum password_encoding encoding = ref->encoding;
	const char *end;

	if (len > PASSWORD_STORED_MAX) {
		password_scheme_malformed(err, scheme->name, "too long");
		return NULL;
	}
	/* Without a suffix Dovecot tells a fixed-length digest's hex from
	 * its base64 by the length; so do we. */
	if (!ref->explicit_encoding && encoding != PASSWORD_ENCODING_NONE &&
	    scheme->raw_len != 0)
		encoding = len == scheme->raw_len * 2 ?
			PASSWORD_ENCODING_HEX : PASSWORD_ENCODING_BASE64;
	unsigned char *out = xmalloc(len + 1);
	int ret = 0;
	switch (encoding) {
	case PASSWORD_ENCODING_NONE:
		memcpy(out, data, len);
		*len_r = len;
		break;
	case PASSWORD_ENCODING_HEX:
		ret = sodium_hex2bin(out, len, data, len, NULL, len_r, &end);
		if (ret == 0 && (end != data + len || len % 2 != 0))
			ret = -1;
		break;
	case PASSWORD_ENCODING_BASE64:
		ret = sodium_base642bin(out, len, data, len, NULL, len_r, &end,
					sodium_base64_VARIANT_ORIGINAL);
		if (ret == 0 && end != data + len)
			ret = -1;
		break;
	}
	const char *why = NULL;
	if (ret != 0)
		why = encoding == PASSWORD_ENCODING_HEX ? "bad hex encoding" :
			"bad base64 encoding";
	else if (scheme->raw_len != 0 && *len_r != scheme->raw_len)
		why = "decoded data has the wrong length";
	else if (!scheme->binary && memchr(out, '\0', *len_r) != NULL)
		why = "decoded data holds a NUL byte";
	if (why != NULL) {
		password_scheme_malformed(err, scheme->name, why);
		sodium_memzero(out, len + 1);
		free(out);
		return NULL;
	}
	out[*len_r] = '\0';
	return out;
}

static void data_free(unsigned char *data, size_t len)
{
	if (data == NULL)
		return;
	sodium_memzero(data, len);
	free(data);
}

bool password_scheme_is_known(const char *name)
{
	struct scheme_ref ref;
	return name != NULL && scheme_lookup(name, strlen(name), &ref);
}

int password_verify(const char *stored, const char *password,
		    const char *default_scheme, struct error *err)
{
	struct scheme_ref ref;
	const char *data;
	size_t len;

	if (sodium_ready(err) < 0)
		return -1;
	if (!stored_split(stored, default_scheme, &ref, &data, err))
		return -1;
	unsigned char *raw = data_decode(&ref, data, &len, err);
	if (raw == NULL)
		return -1;
	int ret = strlen(password) > PASSWORD_INPUT_MAX ? 0 :
		ref.scheme->verify(ref.scheme, raw, len, password, err);
	data_free(raw, len);
	return ret;
}

int password_scheme_decode(const char *stored, const char *scheme,
			   unsigned char **raw_r, size_t *len_r,
			   struct error *err)
{
	struct scheme_ref ref;
	const char *end;

	if (stored[0] != '{' || (end = strchr(stored, '}')) == NULL ||
	    !scheme_lookup(stored + 1, (size_t)(end - stored - 1), &ref) ||
	    strcasecmp(ref.scheme->name, scheme) != 0)
		return 0;
	*raw_r = data_decode(&ref, end + 1, len_r, err);
	return *raw_r == NULL ? -1 : 1;
}

/* Which scheme `like` is, with its decoded data (heap, freed by the
 * caller); NULL for anything unusable. Without a "{...}" prefix the
 * data's own shape names its scheme. */
static const struct password_scheme *like_scheme(const char *like,
						 unsigned char **data_r,
						 size_t *len_r)
{
	static const struct {
		const char *prefix;
		const struct password_scheme *scheme;
	} shapes[] = {
		{ "$argon2id$", &password_scheme_argon2id },
		{ "$argon2i$", &password_scheme_argon2i },
		{ "$6$", &password_scheme_sha512_crypt },
		{ "$5$", &password_scheme_sha256_crypt },
		{ "$1$", &password_scheme_md5_crypt },
		{ "$2", &password_scheme_blf_crypt },
	};
	struct scheme_ref ref = { &password_scheme_plain,
				  PASSWORD_ENCODING_NONE, false };
	const char *data = like;
	const char *end;

	*data_r = NULL;
	if (like == NULL || like[0] == '\0')
		return NULL;
	if (like[0] == '{' && (end = strchr(like, '}')) != NULL) {
		if (!scheme_lookup(like + 1, (size_t)(end - like - 1), &ref))
			return NULL;
		data = end + 1;
	} else {
		for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
			if (strncmp(like, shapes[i].prefix,
				    strlen(shapes[i].prefix)) == 0) {
				ref.scheme = shapes[i].scheme;
				break;
			}
		}
	}
	*data_r = data_decode(&ref, data, len_r, NULL);
	return *data_r == NULL ? NULL : ref.scheme;
}

/* Makes entry's dummy: a stored value of scheme with like_data's cost
 * parameters (NULL: our defaults) for a random password nobody knows. */
static bool dummy_make(struct dummy_entry *entry,
		       const struct password_scheme *scheme,
		       const unsigned char *like_data, size_t like_len)
{
	char pw[PASSWORD_RANDOM_BYTES * 2 + 1];

	random_password(pw, sizeof(pw));
	entry->data = scheme->hash(scheme, like_data, like_len, pw,
				   &entry->data_len, NULL);
	sodium_memzero(pw, sizeof(pw));
	entry->scheme = entry->data != NULL ? scheme : NULL;
	return entry->data != NULL;
}

/* The cached dummy of scheme+key, made on first use; NULL when the cache
 * is full or it cannot be made. */
static const struct dummy_entry *
dummy_lookup(const struct password_scheme *scheme, const char *key,
	     const unsigned char *like_data, size_t like_len)
{
	for (unsigned i = 0; i < dummy_cache_count; i++) {
		if (dummy_cache[i].scheme == scheme &&
		    strcmp(dummy_cache[i].key, key) == 0)
			return &dummy_cache[i];
	}
	if (dummy_cache_count == PASSWORD_DUMMY_CACHE_MAX)
		return NULL;
	struct dummy_entry *entry = &dummy_cache[dummy_cache_count];
	if (!dummy_make(entry, scheme, like_data, like_len))
		return NULL;
	snprintf(entry->key, sizeof(entry->key), "%s", key);
	dummy_cache_count++;
	return entry;
}

/* What an unknown user's password is verified against for like: the
 * cached dummy of like's kind, else like's own data (returned in
 * *fallback_r, heap, which costs the same); for a NULL or unusable like,
 * the default-scheme dummy with our own parameters. Returns NULL when
 * there is nothing. */
static const struct dummy_entry *dummy_for(const char *like,
					   struct dummy_entry *fallback_r)
{
	static struct dummy_entry default_dummy;
	unsigned char *like_data;
	size_t like_len = 0;
	char key[PASSWORD_DUMMY_KEY_MAX];
	const struct password_scheme *scheme =
		like_scheme(like, &like_data, &like_len);

	memset(fallback_r, 0, sizeof(*fallback_r));
	if (scheme != NULL &&
	    scheme->dummy_key(scheme, like_data, like_len, key,
			      sizeof(key)) == 0) {
		const struct dummy_entry *entry =
			dummy_lookup(scheme, key, like_data, like_len);
		if (entry != NULL) {
			data_free(like_data, like_len);
			return entry;
		}
		fallback_r->scheme = scheme;
		fallback_r->data = like_data;
		fallback_r->data_len = like_len;
		return NULL;
	}
	data_free(like_data, like_len);
	if (default_dummy.data == NULL)
		(void)dummy_make(&default_dummy,
				 &password_scheme_argon2id, NULL, 0);
	return default_dummy.data != NULL ? &default_dummy : NULL;
}

void password_verify_dummy_prepare(const char *like)
{
	struct dummy_entry fallback;

	if (sodium_ready(NULL) < 0)
		return;
	(void)dummy_for(like, &fallback);
	data_free(fallback.data, fallback.data_len);
}

void password_verify_dummy(const char *like, const char *password)
{
	struct dummy_entry fallback;

	if (sodium_ready(NULL) < 0)
		return;
	const struct dummy_entry *entry = dummy_for(like, &fallback);
	if (entry == NULL && fallback.data != NULL)
		entry = &fallback;
	/* The result is thrown away: an unknown user never logs in. */
	if (entry != NULL && strlen(password) <= PASSWORD_INPUT_MAX)
		(void)entry->scheme->verify(entry->scheme, entry->data,
					    entry->data_len, password, NULL);
	data_free(fallback.data, fallback.data_len);
}

static char *data_encode(pool_t *pool, const char *prefix,
			 enum password_encoding encoding,
			 const unsigned char *data, size_t len)
{
	size_t enc_size = encoding == PASSWORD_ENCODING_HEX ? len * 2 + 1 :
		sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *enc;

	if (encoding == PASSWORD_ENCODING_NONE)
		return pool_printf(pool, "%s%s", prefix, (const char *)data);
	enc = xmalloc(enc_size);
	if (encoding == PASSWORD_ENCODING_HEX)
		sodium_bin2hex(enc, enc_size, data, len);
	else
		sodium_bin2base64(enc, enc_size, data, len,
				  sodium_base64_VARIANT_ORIGINAL);
	char *result = pool_printf(pool, "%s%s", prefix, enc);
	sodium_memzero(enc, enc_size);
	free(enc);
	return result;
}

char *password_hash(pool_t *pool, const char *scheme_name,
		    const char *password, struct error *err)
{
	struct scheme_ref ref;
	size_t len;

	if (scheme_name == NULL)
		scheme_name = PASSWORD_SCHEME_DEFAULT;
	if (sodium_ready(err) < 0)
		return NULL;
	if (!scheme_lookup(scheme_name, strlen(scheme_name), &ref)) {
		unknown_scheme(err, scheme_name, strlen(scheme_name));
		return NULL;
	}
	const struct password_scheme *scheme = ref.scheme;
	if (strlen(password) > PASSWORD_INPUT_MAX) {
		error_set(err, ERROR_INVALID,
			  "{%s} password longer than %u bytes", scheme->name,
			  PASSWORD_INPUT_MAX);
		return NULL;
	}
	unsigned char *data = scheme->hash(scheme, NULL, 0, password, &len,
					   err);
	if (data == NULL)
		return NULL;
	char prefix[PASSWORD_SCHEME_NAME_MAX + 8];
	snprintf(prefix, sizeof(prefix), "{%s%s}", scheme->name,
		 !ref.explicit_encoding ? "" :
		 ref.encoding == PASSWORD_ENCODING_HEX ? ".HEX" : ".B64");
	/* For PLAIN the data is the password itself. */
	char *result = data_encode(pool, prefix, ref.encoding, data, len);
	data_free(data, len);
	return result;
}
