/*
 * SCRAM-SHA-256 credentials (RFC 5802, RFC 7677) in Dovecot's stored form
 * "ITERATIONS,SALT,STOREDKEY,SERVERKEY" (base64 fields): what the server
 * needs to check a client's proof and prove itself, without the password.
 *
 * Passwords are normalised before PBKDF2 as SCRAM asks: ASCII ones are
 * used as they are (SASLprep leaves printable ASCII unchanged); others
 * go through GnuTLS's RFC 8265 OpaqueString profile (the successor of
 * SASLprep: NFC, non-ASCII spaces to SP), and a password that cannot be
 * normalised (invalid UTF-8, disallowed code points) is refused.
 */
#ifndef ROOST_PASSWORD_SCHEME_SCRAM_H
#define ROOST_PASSWORD_SCHEME_SCRAM_H

#include <stddef.h>

#include "error.h"

#define PASSWORD_SCRAM_KEY_LEN 32   /* SHA-256 */
/* What we and `doveadm pw` write, and RFC 7677's minimum. */
#define PASSWORD_SCRAM_ITERATIONS_DEFAULT 4096UL
#define PASSWORD_SCRAM_ITERATIONS_MIN 4096UL
/* About half a second of PBKDF2: a corrupt or hostile stored value must
 * not stall the auth process (or make clients spin) for longer. */
#define PASSWORD_SCRAM_ITERATIONS_MAX 1000000UL
/* Salts we write (doveadm writes 16 too). */
#define PASSWORD_SCRAM_SALT_LEN 16
/* No real salt is longer; bounds the parser and the messages. */
#define PASSWORD_SCRAM_SALT_MAX 64

struct password_scram_keys {
	unsigned long iterations;
	unsigned char salt[PASSWORD_SCRAM_SALT_MAX];
	size_t salt_len;
	unsigned char stored_key[PASSWORD_SCRAM_KEY_LEN];
	unsigned char server_key[PASSWORD_SCRAM_KEY_LEN];
};

/* Reads the stored data (after "{SCRAM-SHA-256}"); -1 with *why_r when
 * it is malformed or its parameters out of bounds. */
int password_scram_parse(const char *data, struct password_scram_keys *keys_r,
			 const char **why_r);
/* The keys of password (len bytes) for salt and iterations, which are
 * copied into keys_r too; -1 with err when the password cannot be
 * normalised (ERROR_INVALID) or GnuTLS fails. */
int password_scram_derive(const void *password, size_t len,
			  const unsigned char *salt, size_t salt_len,
			  unsigned long iterations,
			  struct password_scram_keys *keys_r, struct error *err);

#endif
