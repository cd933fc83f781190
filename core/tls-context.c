/* GnuTLS server credentials; see tls-context.h. */
#include "config.h"
#include "tls-context.h"
#include "pool.h"
#include "tls-key-client.h"

#include <gnutls/abstract.h>
#include <stdlib.h>
#include <unistd.h>

/* Certificates in ssl_cert: the server's and its intermediates, usually
 * two to four. GnuTLS verifies chains to this depth by default; a longer
 * file is a mistake (a whole CA bundle). */
#define TLS_CERT_CHAIN_MAX 16

static gnutls_datum_t ticket_key;

int tls_ticket_key_init(struct error *err)
{
	if (ticket_key.data != NULL)
		return 0;
	int ret = gnutls_global_init();
	if (ret >= 0)
		ret = gnutls_session_ticket_key_generate(&ticket_key);
	if (ret < 0) {
		error_set(err, ERROR_TEMP, "TLS session-ticket key: %s",
			  gnutls_strerror(ret));
		return -1;
	}
	return 0;
}

/* Allocates ctx->credentials; -1 with err. */
static int credentials_init(struct tls_context *ctx, struct error *err)
{
	int ret = gnutls_global_init();
	if (ret < 0) {
		error_set(err, ERROR_TEMP, "gnutls_global_init: %s", gnutls_strerror(ret));
		return -1;
	}
	ret = gnutls_certificate_allocate_credentials(&ctx->credentials);
	if (ret < 0) {
		error_set(err, ERROR_TEMP, "gnutls: %s", gnutls_strerror(ret));
		return -1;
	}
	return 0;
}

/* The part after the certificate and key: priorities and the ticket key.
 * Frees ctx on failure. */
static struct tls_context *finish(struct tls_context *ctx, const char *priority,
				  struct error *err)
{
	const char *err_pos = NULL;
	int ret = gnutls_priority_init(&ctx->priority, priority, &err_pos);
	if (ret < 0) {
		error_set(err, ERROR_PERM, "invalid ssl_priority '%s' near '%s': %s",
			  priority, err_pos != NULL ? err_pos : "", gnutls_strerror(ret));
		gnutls_certificate_free_credentials(ctx->credentials);
		free(ctx);
		return NULL;
	}
	/* Shared, not copied: the key lives as long as the process. */
	ctx->ticket_key = ticket_key;
	return ctx;
}

struct tls_context *tls_context_create(const char *cert_path,
				       const char *key_path,
				       const char *priority, struct error *err)
{
	struct tls_context *ctx = xmalloc(sizeof(*ctx));
	if (credentials_init(ctx, err) < 0) {
		free(ctx);
		return NULL;
	}
	int ret = gnutls_certificate_set_x509_key_file(ctx->credentials, cert_path,
						       key_path, GNUTLS_X509_FMT_PEM);
	if (ret < 0) {
		error_set(err, ERROR_PERM,
			  "cannot load ssl_cert %s / ssl_key %s: %s",
			  cert_path, key_path, gnutls_strerror(ret));
		gnutls_certificate_free_credentials(ctx->credentials);
		free(ctx);
		return NULL;
	}
	return finish(ctx, priority, err);
}

struct tls_context *tls_context_create_with_key_process(const char *cert_path,
							int key_fd,
							const char *priority,
							struct error *err)
{
	struct tls_context *ctx = xmalloc(sizeof(*ctx));
	if (credentials_init(ctx, err) < 0) {
		close(key_fd);
		free(ctx);
		return NULL;
	}
	gnutls_pcert_st chain[TLS_CERT_CHAIN_MAX];
	unsigned chain_len = TLS_CERT_CHAIN_MAX;
	/* Public data; GnuTLS sorts the chain. */
	int ret = gnutls_pcert_list_import_x509_file(chain, &chain_len, cert_path,
						     GNUTLS_X509_FMT_PEM, NULL, NULL, 0);
	if (ret == GNUTLS_E_SHORT_MEMORY_BUFFER)
		error_set(err, ERROR_PERM, "cannot load ssl_cert %s: more than %u certificates",
			  cert_path, TLS_CERT_CHAIN_MAX);
	else if (ret < 0)
		error_set(err, ERROR_PERM, "cannot load ssl_cert %s: %s", cert_path,
			  gnutls_strerror(ret));
	if (ret < 0) {
		close(key_fd);
		gnutls_certificate_free_credentials(ctx->credentials);
		free(ctx);
		return NULL;
	}
	gnutls_privkey_t key;
	if (tls_key_client_create(key_fd, &key, err) < 0) {
		for (unsigned i = 0; i < chain_len; i++)
			gnutls_pcert_deinit(&chain[i]);
		gnutls_certificate_free_credentials(ctx->credentials);
		free(ctx);
		return NULL;
	}
	/* The credentials own the key and the certificates from here on.
	 * After a failure GnuTLS may or may not own them yet (its state is
	 * undefined); the login process ends then, so they are left to it
	 * rather than risk a double free. GnuTLS checks here, with one
	 * signature, that the key process signs for this certificate. */
	ret = gnutls_certificate_set_key(ctx->credentials, NULL, 0, chain,
					 (int)chain_len, key);
	if (ret < 0) {
		error_set(err, ERROR_PERM, "ssl_cert %s and the key process's key: %s",
			  cert_path, gnutls_strerror(ret));
		gnutls_certificate_free_credentials(ctx->credentials);
		free(ctx);
		return NULL;
	}
	return finish(ctx, priority, err);
}

void tls_context_free(struct tls_context *ctx)
{
	if (ctx == NULL)
		return;
	gnutls_priority_deinit(ctx->priority);
	gnutls_certificate_free_credentials(ctx->credentials);
	free(ctx);
}
