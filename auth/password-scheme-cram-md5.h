/*
 * CRAM-MD5 credentials (RFC 2195) in Dovecot's stored form: the HMAC-MD5
 * outer and inner MD5 states after their first block (key XOR opad, key
 * XOR ipad), each as four little-endian 32-bit words, outer first. They
 * let the server compute HMAC-MD5(password, challenge) without the
 * password; {CRAM-MD5} stores these 32 bytes (64 hex digits by default).
 */
#ifndef ROOST_PASSWORD_SCHEME_CRAM_MD5_H
#define ROOST_PASSWORD_SCHEME_CRAM_MD5_H

#include <stddef.h>

#define PASSWORD_CRAM_MD5_CONTEXT_LEN 32
#define PASSWORD_CRAM_MD5_DIGEST_LEN 16

/* The stored context of a password of len bytes. */
void password_cram_md5_context(const void *password, size_t len,
			       unsigned char context[PASSWORD_CRAM_MD5_CONTEXT_LEN]);
/* HMAC-MD5(password, msg) from the password's context. */
void password_cram_md5_hmac(const unsigned char context[PASSWORD_CRAM_MD5_CONTEXT_LEN],
			    const void *msg, size_t len,
			    unsigned char digest[PASSWORD_CRAM_MD5_DIGEST_LEN]);

#endif
