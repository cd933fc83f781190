/*
 * Server TLS credentials and priorities, loaded once per process from
 * ssl_cert / ssl_priority and either ssl_key itself or, in login
 * processes, a key process that holds ssl_key and signs for them
 * (tls-key-server.h), so that the process that parses client input never
 * has the key in its memory.
 */
#ifndef ROOST_TLS_CONTEXT_H
#define ROOST_TLS_CONTEXT_H

#include <gnutls/gnutls.h>

#include "error.h"

struct tls_context {
	gnutls_certificate_credentials_t credentials;
	gnutls_priority_t priority;
	/* Session-ticket key (RFC 5077 / TLS 1.3 tickets), or data == NULL
	 * when tls_ticket_key_init() was never called: then no tickets. */
	gnutls_datum_t ticket_key;
};

/* Makes the process-wide session-ticket key. The master calls it once,
 * before it forks login processes, so that every login process (each
 * loads its own tls_context) shares the key and a client can resume on
 * whichever process accepts its next connection. GnuTLS rotates the keys
 * it derives from this one by itself. Returns -1 with err on failure; the
 * server then runs without resumption. */
int tls_ticket_key_init(struct error *err);

/* Returns NULL with err naming the file and GnuTLS's reason. Caller frees
 * with tls_context_free(). With the key in this process's memory: for
 * tools and tests, not for processes that face clients. */
struct tls_context *tls_context_create(const char *cert_path,
				       const char *key_path,
				       const char *priority, struct error *err);
/* The same with the private key in the key process at the other end of
 * key_fd (tls-key-client.h); waits for its hello. Takes key_fd in every
 * case. */
struct tls_context *tls_context_create_with_key_process(const char *cert_path,
							int key_fd,
							const char *priority,
							struct error *err);
void tls_context_free(struct tls_context *ctx);

#endif
