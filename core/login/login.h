/*
 * The login process: an unprivileged, event-driven process holding many
 * pre-auth clients. It owns TLS, talks to the auth process, and hands
 * authenticated connections to the master (DESIGN §1). TLS connections
 * stay here after login: the process relays plaintext to the mail worker
 * over a socketpair, so mail workers never hold keys.
 */
#ifndef ROOST_LOGIN_H
#define ROOST_LOGIN_H

#include <stdbool.h>

#include "settings.h"

struct login_listener_fd {
	int fd;
	bool tls;
	const char *protocol;
	const char *name;        /* the listener's, for statistics */
};

struct login_params {
	const struct roost_settings *set;
	struct login_listener_fd *listeners;
	unsigned listeners_count;
	int master_fd;           /* SOCK_SEQPACKET to the master */
	int tls_key_fd;          /* to this slot's key process (tls-key-client.h);
				    -1 when ssl = no */
	bool privileged;         /* started as root: chroot + drop to login_user */
};

/* Runs the login process until told to stop; returns the exit status. */
int login_main(const struct login_params *params);

#endif
