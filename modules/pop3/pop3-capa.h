/*
 * The CAPA answer (RFC 2449). RFC 2449 §5: whatever is offered before login
 * (USER, SASL) is announced after login too, so both halves build it here.
 */
#ifndef ROOST_POP3_CAPA_H
#define ROOST_POP3_CAPA_H

#include <stdbool.h>

#include "stream.h"

/* plaintext_ok: USER and SASL PLAIN/LOGIN can be used now (pre-auth) or
 * could be (post-auth: the login succeeded, so they were). */
void pop3_capa_write(struct stream *stream, bool plaintext_ok, bool offer_stls);

#endif
