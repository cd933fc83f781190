/*
 * The CAPA answer (RFC 2449). RFC 2449 §5: whatever is offered before login
 * (USER, SASL) is announced after login too, so both halves build it here.
 */
#ifndef ROOST_POP3_CAPA_H
#define ROOST_POP3_CAPA_H

#include <stdbool.h>

#include "stream.h"

/* plaintext_ok: USER and SASL can be used now (pre-auth) or could be
 * (post-auth: the login succeeded, so they were). sasl_mechanisms: the
 * space-separated SASL list (login_sasl_mechanisms() before login,
 * auth_mechanisms_sasl_list() after); never APOP, a command of its own. */
void pop3_capa_write(struct stream *stream, const char *sasl_mechanisms,
		     bool plaintext_ok, bool offer_stls);

#endif
