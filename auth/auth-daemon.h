/*
 * The auth process: the only process that reads password databases. It
 * serves login processes (SASL exchanges over a UNIX socket) and the master
 * (cookie redemption over a socket only the master's user can open).
 */
#ifndef ROOST_AUTH_DAEMON_H
#define ROOST_AUTH_DAEMON_H

#include <stdbool.h>

#include "settings.h"

struct auth_params {
	const struct roost_settings *set;
	int login_listen_fd;     /* BASE_DIR/login/auth */
	int master_listen_fd;    /* BASE_DIR/auth-master */
	bool privileged;         /* started as root: drop to auth_user */
};

/* Runs until SIGTERM; returns the exit status. */
int auth_main(const struct auth_params *params);

#endif
