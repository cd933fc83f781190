/*
 * The master's connection to the auth process (BASE_DIR/auth-master).
 * Requests are TAB-separated records "COMMAND id args..." (arguments are
 * escaped here); every reply "WORD id ..." is routed by its id to the
 * callback of its request. A request that gets no reply within
 * AUTH_CLIENT_TIMEOUT_MS, or is pending when the connection is lost,
 * completes with fields == NULL, so callers never wait forever (an auth
 * process that does not know a command simply does not answer).
 *
 * Commands: REQUEST id cookie (hand-over), LOOKUP id user, PASSTEST id
 * user b64password rip, STATS id; see core/master/master.c and the auth
 * daemon for the replies.
 */
#ifndef ROOST_AUTH_CLIENT_H
#define ROOST_AUTH_CLIENT_H

#include "event-loop.h"

/* fields[0] is the reply word, fields[1] the id; the fields are still
 * escaped (ipc_unescape() what you use) and valid during the call only.
 * fields == NULL: no reply (timeout, connection lost, not connected). */
typedef void auth_client_callback(void *context, char **fields, unsigned count);

void auth_client_init(struct event_loop *loop, const char *socket_path);
void auth_client_deinit(void);

/* Sends "command id args..." and returns the request's id (never 0).
 * When auth cannot be reached the callback runs later from the loop with
 * fields == NULL, never from inside this call. */
unsigned auth_client_request(const char *command, const char *const *args,
			     unsigned args_count, auth_client_callback *callback,
			     void *context);
/* Forgets a request: its callback will not run. */
void auth_client_cancel(unsigned id);
/* The auth process is being replaced: its connection closing soon is
 * expected and not worth a warning (pending requests still complete). */
void auth_client_expect_close(void);

#endif
