/*
 * The wire format between a login process and its key process
 * (tls-key-server.h, tls-key-client.h): one request is one SOCK_SEQPACKET
 * datagram, one reply is one datagram, strictly in turn.
 *
 *   key -> login, once, first:  struct tls_key_hello
 *   login -> key:  struct tls_key_request + payload (data or hash)
 *   key -> login:  struct tls_key_reply + signature (status 0 only)
 *
 * Both ends are forked from the same master image, so the structs travel
 * in native byte order and layout. RSA decryption (RSA key exchange) is not
 * part of the protocol: the key only signs (tls-key-client.h says what a
 * priority that enables RSA key exchange gets).
 */
#ifndef ROOST_TLS_KEY_PROTOCOL_H
#define ROOST_TLS_KEY_PROTOCOL_H

#include <stdint.h>

/* What the key process signs: a TLS 1.3 CertificateVerify input is 162
 * bytes at most; a TLS 1.2 ServerKeyExchange with the largest RFC 7919
 * group (ffdhe8192: p and Ys of 1 KiB each, g) plus both randoms is about
 * 2.2 KiB. 8 KiB leaves room without letting a peer make us hold more. */
#define TLS_KEY_PAYLOAD_MAX 8192
/* A signature: RSA keys up to 16384 bits (2 KiB); ECDSA and EdDSA
 * signatures are far shorter. Larger keys are refused at load. */
#define TLS_KEY_SIGNATURE_MAX 2048
/* GnuTLS 3.7 knows about 50 signature algorithms; the ones one key can
 * make are about a dozen. Any beyond this are not offered. */
#define TLS_KEY_SIGN_ALGOS_MAX 64

enum tls_key_op {
	TLS_KEY_OP_SIGN_DATA = 1,   /* gnutls_privkey_sign_data2() */
	TLS_KEY_OP_SIGN_HASH = 2,   /* gnutls_privkey_sign_hash2() */
};

struct tls_key_hello {
	uint32_t pk_algorithm;     /* gnutls_pk_algorithm_t */
	uint32_t bits;
	uint32_t sign_algorithm_count;
	uint32_t sign_algorithms[TLS_KEY_SIGN_ALGOS_MAX];   /* gnutls_sign_algorithm_t */
};

struct tls_key_request {
	uint32_t id;               /* echoed in the reply */
	uint32_t op;               /* enum tls_key_op */
	uint32_t sign_algorithm;   /* gnutls_sign_algorithm_t */
	uint32_t flags;            /* GNUTLS_PRIVKEY_SIGN_FLAG_* */
	/* followed by 1..TLS_KEY_PAYLOAD_MAX bytes of data or hash */
};

struct tls_key_reply {
	uint32_t id;
	int32_t status;            /* 0, or a GnuTLS error code */
	/* followed by the signature when status is 0 */
};

#endif
