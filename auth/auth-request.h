/*
 * SASL exchanges for login processes (the login side of auth-daemon.c's
 * protocol): AUTH, CONT and CANCEL lines. An exchange that yields a user
 * and a password asks the passdb chain to verify them; one that needs
 * the stored secret (CRAM-MD5, SCRAM-SHA-256, APOP) asks the chain for
 * it and lets the mechanism check the proof. Either way a success goes
 * through the nologin check and the userdbs and ends with a hand-over
 * cookie; a failure feeds the address's penalty and is answered after
 * auth_failure_delay, with the same answer for every reason.
 */
#ifndef ROOST_AUTH_REQUEST_H
#define ROOST_AUTH_REQUEST_H

#include "auth-conn.h"
#include "event-loop.h"
#include "settings.h"

/* mechanisms: the offered auth_mechanism bits; others are refused. */
void auth_request_init(struct event_loop *loop,
		       const struct roost_settings *set, unsigned mechanisms);
/* One split line from a login process. */
void auth_request_handle_line(struct auth_conn *conn, char **fields,
			      unsigned count);
/* Frees the connection's exchanges without answering. */
void auth_request_free_all(struct auth_conn *conn);

#endif
