/* GnuTLS server credentials; see tls-context.h. */
#include "config.h"
#include "tls-context.h"
#include "pool.h"

#include <stdlib.h>

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

struct tls_context *tls_context_create(const char *cert_path,
				       const char *key_path,
				       const char *priority, struct error *err)
{
	int ret = gnutls_global_init();
	if (ret < 0) {
		error_set(err, ERROR_TEMP, "gnutls_global_init: %s", gnutls_strerror(ret));
		return NULL;
	}
	struct tls_context *ctx = xmalloc(sizeof(*ctx));
	ret = gnutls_certificate_allocate_credentials(&ctx->credentials);
	if (ret < 0) {
		error_set(err, ERROR_TEMP, "gnutls: %s", gnutls_strerror(ret));
		free(ctx);
		return NULL;
	}
	ret = gnutls_certificate_set_x509_key_file(ctx->credentials, cert_path,
						   key_path, GNUTLS_X509_FMT_PEM);
	if (ret < 0) {
		error_set(err, ERROR_PERM,
			  "cannot load ssl_cert %s / ssl_key %s: %s",
			  cert_path, key_path, gnutls_strerror(ret));
		gnutls_certificate_free_credentials(ctx->credentials);
		free(ctx);
		return NULL;
	}
	const char *err_pos = NULL;
	ret = gnutls_priority_init(&ctx->priority, priority, &err_pos);
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

void tls_context_free(struct tls_context *ctx)
{
	if (ctx == NULL)
		return;
	gnutls_priority_deinit(ctx->priority);
	gnutls_certificate_free_credentials(ctx->credentials);
	free(ctx);
}
