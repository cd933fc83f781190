/*
 * The master process (DESIGN §1): binds listeners, starts the auth process
 * and a pool of login processes, turns hand-overs into mail workers,
 * restarts dead children with back-off, reloads on SIGHUP, stops on
 * SIGTERM. It never parses client input.
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
#include "pool.h"
#include "settings.h"

enum master_result {
	MASTER_STOPPED,        /* clean stop: exit 0 */
	MASTER_FAILED,         /* could not start: exit 1 */
	MASTER_BECAME_CHILD,   /* run *child_r */
};

enum child_role {
	CHILD_ROLE_AUTH,
	CHILD_ROLE_LOGIN,
	CHILD_ROLE_MAIL,
};

struct child_start {
	enum child_role role;
	struct auth_params auth;
	struct login_params login;
	struct mail_worker_params mail;
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

#endif
