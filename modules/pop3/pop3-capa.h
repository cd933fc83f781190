/*
 * The CAPA answer (RFC 2449). RFC 2449 §5: whatever is offered before login
 * (USER, SASL) is announced after login too, so both halves build it here.
 *
 * LOGIN-DELAY and EXPIRE (RFC 2449 §6.5, §6.7): before login the
 * settings' values (login_delay when not 0, mail_expire when set) with
 * the suffix USER, because a passdb field may give a user another value;
 * after login the user's own values without it. LOGIN-DELAY is announced
 * after login when either the setting or the user's value is not 0, so
 * what was announced before login is announced after it too.
 */
#ifndef ROOST_POP3_CAPA_H
#define ROOST_POP3_CAPA_H

#include <stdbool.h>

#include "protocol.h"
#include "settings.h"
#include "stream.h"

/* plaintext_ok: USER and SASL can be used now (pre-auth) or could be
 * (post-auth: the login succeeded, so they were). sasl_mechanisms: the
 * space-separated SASL list (login_sasl_mechanisms() before login,
 * auth_mechanisms_sasl_list() after); never APOP, a command of its own. */
void pop3_capa_write(struct stream *stream, const char *sasl_mechanisms,
		     bool plaintext_ok, bool offer_stls,
		     const struct roost_settings *set,
		     const struct mail_session *session);

#endif
