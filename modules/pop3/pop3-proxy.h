/*
 * Logging a proxied client in on a POP3 back end (the module's side of
 * protocol_login_ops.proxy_input): greeting, optional STLS, then USER and
 * PASS, or AUTH PLAIN when a master user logs in for the user or a name
 * or password holds a byte that cannot travel in a command line. The
 * back end's +OK goes to the client; its -ERR counts as a wrong password
 * unless it carries [SYS/TEMP], [SYS/PERM] or [IN-USE] (RFC 3206), which
 * are the back end's trouble, not the client's.
 */
#ifndef ROOST_POP3_PROXY_H
#define ROOST_POP3_PROXY_H

#include "protocol.h"

enum pop3_proxy_state {
	POP3_PROXY_GREETING = 0,
	POP3_PROXY_STLS,
	POP3_PROXY_TLS_HANDSHAKE,
	POP3_PROXY_USER,
	POP3_PROXY_PASS,
	POP3_PROXY_AUTH,
	POP3_PROXY_DONE,
};

/* One step; *state starts at POP3_PROXY_GREETING for each login. */
void pop3_proxy_input(struct login_client *client,
		      const struct login_proxy_target *target, const char *line,
		      enum pop3_proxy_state *state);

#endif
