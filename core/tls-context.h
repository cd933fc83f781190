/*
 * Server TLS credentials and priorities, loaded once per process from
 * ssl_cert / ssl_key / ssl_priority. Loaded before a login process drops
 * privileges: the key file is typically readable by root only.
 */
#ifndef ROOST_TLS_CONTEXT_H
#define ROOST_TLS_CONTEXT_H

#include <gnutls/gnutls.h>

#include "error.h"

struct tls_context {
	gnutls_certificate_credentials_t credentials;
	gnutls_priority_t priority;
};

/* Returns NULL with err naming the file and GnuTLS's reason. Caller frees
 * with tls_context_free(). */
struct tls_context *tls_context_create(const char *cert_path,
				       const char *key_path,
				       const char *priority, struct error *err);
void tls_context_free(struct tls_context *ctx);

#endif
