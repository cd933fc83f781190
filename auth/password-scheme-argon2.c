/*
 * {ARGON2ID} and {ARGON2I}: libsodium's encoded Argon2 strings
 * ("$argon2id$v=19$m=M,t=T,p=P$SALT$HASH"), which are also what Dovecot's
 * `doveadm pw` writes.
 */
#include "config.h"
#include "password-scheme-private.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

/* New ARGON2ID hashes use libsodium's "interactive" cost (t=2, 64 MiB):
 * about 0.1 s on current hardware, which an auth process answering one
 * request at a time can afford per login, and the same class of cost as
 * `doveadm pw -s ARGON2ID`. ARGON2I's interactive cost (t=4, 32 MiB) is
 * exactly what `doveadm pw -s ARGON2I` writes. */
#define PASSWORD_ARGON2ID_OPSLIMIT crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE
#define PASSWORD_ARGON2ID_MEMLIMIT crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE
#define PASSWORD_ARGON2I_OPSLIMIT crypto_pwhash_argon2i_OPSLIMIT_INTERACTIVE
#define PASSWORD_ARGON2I_MEMLIMIT crypto_pwhash_argon2i_MEMLIMIT_INTERACTIVE

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

#define ARGON2_B64_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/* What differs between the two variants. */
struct argon2_variant {
	const char *prefix;          /* "$argon2id$" */
	int alg;                     /* crypto_pwhash_ALG_* */
	unsigned long long opslimit;
	size_t memlimit;
};

static const struct argon2_variant argon2id = {
	crypto_pwhash_argon2id_STRPREFIX,
	crypto_pwhash_ALG_ARGON2ID13,
	PASSWORD_ARGON2ID_OPSLIMIT, PASSWORD_ARGON2ID_MEMLIMIT,
};

static const struct argon2_variant argon2i = {
	crypto_pwhash_argon2i_STRPREFIX,
	crypto_pwhash_ALG_ARGON2I13,
	PASSWORD_ARGON2I_OPSLIMIT, PASSWORD_ARGON2I_MEMLIMIT,
};

struct argon2_params {
	unsigned long memory_kib, time, lanes;
};

/* Checks "PREFIXv=19$m=M,t=T,p=P$SALT$HASH" exactly. */
static int argon2_parse(const struct argon2_variant *v, const char *data,
			struct argon2_params *params_r, const char **why_r)
{
	const char *p = data;

	if (strlen(data) > PASSWORD_ARGON2_STR_MAX) {
		*why_r = "too long";
		return -1;
	}
	if (!password_scheme_skip_literal(&p, v->prefix)) {
		*why_r = "does not start with the variant's $argon2..$ prefix";
		return -1;
	}
	if (!password_scheme_skip_literal(&p, "v=19$")) {
		*why_r = "version is not v=19";
		return -1;
	}
	if (!password_scheme_skip_literal(&p, "m=") ||
	    !password_scheme_parse_decimal(&p, PASSWORD_ARGON2_MEMORY_KIB_MAX,
					   &params_r->memory_kib) ||
	    !password_scheme_skip_literal(&p, ",t=") ||
	    !password_scheme_parse_decimal(&p, PASSWORD_ARGON2_TIME_MAX,
					   &params_r->time) ||
	    !password_scheme_skip_literal(&p, ",p=") ||
	    !password_scheme_parse_decimal(&p, PASSWORD_ARGON2_LANES_MAX,
					   &params_r->lanes) ||
	    !password_scheme_skip_literal(&p, "$")) {
		*why_r = "bad or too large m=,t=,p= parameters";
		return -1;
	}
	if (params_r->time < 1 || params_r->lanes < 1 ||
	    params_r->memory_kib < 8 * params_r->lanes) {
		*why_r = "parameters below the Argon2 minimum";
		return -1;
	}
	if (password_scheme_skip_set(&p, ARGON2_B64_CHARS) <
	    PASSWORD_ARGON2_SALT_B64_MIN ||
	    !password_scheme_skip_literal(&p, "$") ||
	    password_scheme_skip_set(&p, ARGON2_B64_CHARS) <
	    PASSWORD_ARGON2_HASH_B64_MIN || *p != '\0') {
		*why_r = "bad salt or hash encoding";
		return -1;
	}
	return 0;
}

static int argon2_verify(const struct password_scheme *scheme,
			 const unsigned char *data, size_t data_len,
			 const char *password, struct error *err)
{
	const struct argon2_variant *v = scheme->params;
	struct argon2_params params;
	const char *why;
	const char *str = (const char *)data;

	if (argon2_parse(v, str, &params, &why) < 0) {
		password_scheme_malformed(err, scheme->name, why);
		return -1;
	}
	/* The shape is valid, so failure means a wrong password (or memory
	 * exhaustion, which must not log anyone in either). libsodium
	 * compares the tags in constant time. */
	int ret = v->alg == crypto_pwhash_ALG_ARGON2ID13 ?
		crypto_pwhash_argon2id_str_verify(str, password,
						  strlen(password)) :
		crypto_pwhash_argon2i_str_verify(str, password,
						 strlen(password));
	return ret == 0 ? 1 : 0;
}

static int argon2_dummy_key(const struct password_scheme *scheme,
			    const unsigned char *data, size_t data_len,
			    char *key, size_t key_size)
{
	const struct argon2_variant *v = scheme->params;
	struct argon2_params params;
	const char *why;

	if (argon2_parse(v, (const char *)data, &params, &why) < 0)
		return -1;
	snprintf(key, key_size, "%sv=19$m=%lu,t=%lu,p=%lu$", v->prefix,
		 params.memory_kib, params.time, params.lanes);
	return 0;
}

static unsigned char *argon2_hash(const struct password_scheme *scheme,
				  const unsigned char *like, size_t like_len,
				  const char *password, size_t *len_r,
				  struct error *err)
{
	const struct argon2_variant *v = scheme->params;
	unsigned long long opslimit = v->opslimit;
	size_t memlimit = v->memlimit;
	char out[crypto_pwhash_STRBYTES];

	if (like != NULL) {
		struct argon2_params params;
		const char *why;
		if (argon2_parse(v, (const char *)like, &params, &why) < 0) {
			password_scheme_malformed(err, scheme->name, why);
			return NULL;
		}
		/* libsodium only creates single-lane hashes. */
		if (params.lanes != 1) {
			error_set(err, ERROR_INVALID,
				  "{%s} cannot create p=%lu hashes",
				  scheme->name, params.lanes);
			return NULL;
		}
		opslimit = params.time;
		memlimit = (size_t)params.memory_kib * 1024U;
	}
	if (crypto_pwhash_str_alg(out, password, strlen(password), opslimit,
				  memlimit, v->alg) != 0) {
		error_set(err, ERROR_TEMP,
			  "{%s} hashing failed (out of memory, or parameters "
			  "below libsodium's minimum)", scheme->name);
		return NULL;
	}
	*len_r = strlen(out);
	return password_scheme_memdup(out, *len_r);
}

const struct password_scheme password_scheme_argon2id = {
	"ARGON2ID", PASSWORD_ENCODING_NONE, 0, false, &argon2id,
	argon2_verify, argon2_dummy_key, argon2_hash,
};

const struct password_scheme password_scheme_argon2i = {
	"ARGON2I", PASSWORD_ENCODING_NONE, 0, false, &argon2i,
	argon2_verify, argon2_dummy_key, argon2_hash,
};
