/*
 * The master process (DESIGN §1): binds listeners, starts the auth process
 * and a pool of login slots (a login process and, with TLS, the key
 * process that signs for it: tls-key-server.h), turns hand-overs into
 * mail workers, restarts dead children with back-off, reloads on SIGHUP,
 * stops on SIGTERM. It never parses client input.
 *
 * Children are forked from inside the master's event loop. So that no
 * code below main() has to end the process, a new child unwinds back to
 * main(): master_run() returns MASTER_BECAME_CHILD with *child_r filled,
 * and main() runs that role and returns its status.
 */
#ifndef ROOST_MASTER_H
#define ROOST_MASTER_H

#include <stdbool.h>

#include "auth-daemon.h"
#include "login/login.h"
#include "mail/mail-worker.h"
#include "metrics.h"
#include "pool.h"
#include "settings.h"
#include "tls-key-server.h"

enum master_result {
	MASTER_STOPPED,        /* clean stop: exit 0 */
	MASTER_FAILED,         /* could not start: exit 1 */
	MASTER_BECAME_CHILD,   /* run *child_r */
};

enum child_role {
	CHILD_ROLE_AUTH,
	CHILD_ROLE_LOGIN,
	CHILD_ROLE_MAIL,
	CHILD_ROLE_MAILBOX_STATUS,   /* mail (without client_fd) + status_fd */
	CHILD_ROLE_KEY,              /* a login slot's TLS key process */
};

struct child_start {
	enum child_role role;
	struct auth_params auth;
	struct login_params login;
	struct mail_worker_params mail;
	struct tls_key_server_params key;
	int status_fd;
};

struct master_options {
	const char *config_path;
	bool foreground;
	int ready_fd;          /* written to once listening (daemon mode), or -1 */
};

/* Takes ownership of set and its pool. */
enum master_result master_run(const struct master_options *opts,
			      struct roost_settings *set, pool_t *set_pool,
			      struct child_start *child_r);

/*
 * For the control socket and the metrics listener, which run in the
 * master's event loop (control.h, metrics-http.h). Callbacks run from the
 * loop, never from inside the call that asked for them.
 */
typedef void master_done_callback(void *context);
/* result: "OK\tmessages\toctets" or "FAIL\tkind\tescaped message"
 * (mailbox-status.h). */
typedef void master_status_callback(void *context, const char *result);

/* True in a child that was just forked from inside the loop: code that
 * loops over several events must stop processing them. */
bool master_became_child(void);
/* Applies set->log_facility to the log (main() at start, reload). */
void master_apply_log_facility(const struct roost_settings *set);
/* SIGHUP does the same. -1 with err ("FILE:LINE: ...") when the new
 * configuration was refused and the running one stays in force. */
int master_reload(struct error *err);
void master_stop(void);
/* Asks the auth process for fresh statistics, then calls done. */
void master_stats_refresh(master_done_callback *done, void *context);
void master_stats_write(struct buffer *out, enum metrics_format format);
/* Starts the mailbox status child for a user the userdb knows: fields
 * are the key=value fields (still escaped) of auth's USER reply. -1 with
 * err when the user's uid/gid may not be used (same rules as for mail
 * workers) or the child cannot start. */
int master_mailbox_status(const char *user, char **fields, unsigned count,
			  master_status_callback *callback, void *context,
			  struct error *err);

#endif
