/*
 * Commands on the auth-master socket (BASE_DIR/auth-master, mode 0600:
 * the master, and through it the admin tool). See the protocol comment in
 * auth-daemon.c for the lines.
 */
#ifndef ROOST_AUTH_MASTER_H
#define ROOST_AUTH_MASTER_H

#include "auth-conn.h"
#include "auth-cache.h"
#include "event-loop.h"
#include "settings.h"

void auth_master_init(struct event_loop *loop, struct auth_cache *cache,
		      const struct roost_settings *set);
/* One split line from the master's connection. */
void auth_master_handle_line(struct auth_conn *conn, char **fields,
			     unsigned count);
/* Frees the connection's commands in flight without answering. */
void auth_master_free_all(struct auth_conn *conn);

#endif
