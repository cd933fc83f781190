/*
 * The control socket BASE_DIR/control that roostctl talks to. It is
 * created mode 0600 by the master (so owned by root, or by the server's
 * user in unprivileged mode), and every connection's peer uid
 * (SO_PEERCRED) must be 0 or the master's own uid as well.
 *
 * One request per connection, TAB-separated and escaped (ipc-escape.h):
 *   client -> master: COMMAND [arg...]
 *   master -> client: D text          a line of output, any number of them
 *                     OK | FAIL message   the end of the answer
 * After "OK" to STOP the connection stays open until the master exits, so
 * roostctl stop returns once the server is gone. The commands are listed
 * in control-commands.c.
 *
 * Answers are addressed by connection id: a command's answer may arrive
 * (from auth, from a child) after its client has gone away, and is then
 * dropped.
 */
#ifndef ROOST_CONTROL_H
#define ROOST_CONTROL_H

#include <stdbool.h>

#include "event-loop.h"

void control_init(struct event_loop *loop, int listen_fd);
void control_deinit(void);

void control_reply_line(unsigned conn_id, const char *text);
/* Ends the answer; message (may be NULL for OK) goes to roostctl's stderr
 * on failure. The connection closes once the answer is sent, except
 * after keep_open (STOP). */
void control_reply_done(unsigned conn_id, bool ok, const char *message);
void control_keep_open(unsigned conn_id);

/* Implemented in control-commands.c: runs one request. args[0] is the
 * command, all unescaped. */
void control_command(unsigned conn_id, char **args, unsigned count);

#endif
