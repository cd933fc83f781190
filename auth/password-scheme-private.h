/*
 * Inside the password schemes: what one scheme file provides to the
 * dispatcher (password-scheme.c), and the helpers they share. Each scheme
 * works on its stored data already decoded from the ".HEX"/".B64"
 * encoding the "{SCHEME.ENC}" prefix or the scheme's default names, and
 * checks the data's exact shape before any hashing.
 */
#ifndef ROOST_PASSWORD_SCHEME_PRIVATE_H
#define ROOST_PASSWORD_SCHEME_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Random bytes behind each dummy password and each new salt. */
#define PASSWORD_RANDOM_BYTES 16

/* How the stored data is written after "{SCHEME}" (Dovecot's names). */
enum password_encoding {
	PASSWORD_ENCODING_NONE,    /* the data is used as it is */
	PASSWORD_ENCODING_HEX,
	PASSWORD_ENCODING_BASE64,
};

struct password_scheme {
	const char *name;
	enum password_encoding default_encoding;
	/* Length of the decoded data when fixed (0: variable). Without a
	 * suffix such data is read as hex when it has twice this length and
	 * as base64 otherwise, as Dovecot does. */
	size_t raw_len;
	/* Whether the decoded data may hold any byte; text schemes (crypt,
	 * Argon2, SCRAM) get NUL-free data, refused as malformed otherwise. */
	bool binary;
	/* The family's parameters for this scheme (digest, prefix...). */
	const void *params;
	/* 1 match, 0 mismatch, -1 malformed data (err set). data holds
	 * data_len decoded bytes followed by a NUL. */
	int (*verify)(const struct password_scheme *scheme,
		      const unsigned char *data, size_t data_len,
		      const char *password, struct error *err);
	/* Fills key with the scheme's cost parameters taken from data (a
	 * valid stored value); returns -1 when data is malformed. */
	int (*dummy_key)(const struct password_scheme *scheme,
			 const unsigned char *data, size_t data_len,
			 char *key, size_t key_size);
	/* New decoded data with the cost parameters of like (NULL: our
	 * defaults), heap-allocated with a NUL after *len_r bytes; NULL
	 * with err set. */
	unsigned char *(*hash)(const struct password_scheme *scheme,
			       const unsigned char *like, size_t like_len,
			       const char *password, size_t *len_r,
			       struct error *err);
};

/* The schemes, one file per family. */
extern const struct password_scheme password_scheme_argon2id;
extern const struct password_scheme password_scheme_argon2i;
extern const struct password_scheme password_scheme_sha512_crypt;
extern const struct password_scheme password_scheme_sha256_crypt;
extern const struct password_scheme password_scheme_md5_crypt;
extern const struct password_scheme password_scheme_md5;
extern const struct password_scheme password_scheme_blf_crypt;
extern const struct password_scheme password_scheme_sha1;
extern const struct password_scheme password_scheme_sha;
extern const struct password_scheme password_scheme_sha256;
extern const struct password_scheme password_scheme_sha512;
extern const struct password_scheme password_scheme_ssha;
extern const struct password_scheme password_scheme_ssha256;
extern const struct password_scheme password_scheme_ssha512;
extern const struct password_scheme password_scheme_cram_md5;
extern const struct password_scheme password_scheme_scram_sha256;

/* Compares two byte strings of possibly different lengths in constant
 * time for a given pair of lengths. */
bool password_scheme_bytes_equal(const void *a, size_t a_len, const void *b,
				 size_t b_len);
/* Sets err to "{scheme} stored password is malformed: why". */
void password_scheme_malformed(struct error *err, const char *scheme,
			       const char *why);
/* Parses a decimal number without sign or leading zeros, at most max;
 * advances *p. */
bool password_scheme_parse_decimal(const char **p, unsigned long max,
				   unsigned long *value_r);
/* Skips literal at *p, or returns false leaving *p alone. */
bool password_scheme_skip_literal(const char **p, const char *literal);
/* Counts characters of set at *p and advances past them. */
size_t password_scheme_skip_set(const char **p, const char *set);
/* Heap copy of len bytes with a NUL after them. */
unsigned char *password_scheme_memdup(const void *data, size_t len);

#endif
