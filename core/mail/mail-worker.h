/*
 * A mail worker: one POP3 session after login, running as the mailbox
 * owner. It loads the storage module of the user's mail location, opens
 * the mailbox (exclusive session lock) and lets the protocol module serve
 * the session.
 */
#ifndef ROOST_MAIL_WORKER_H
#define ROOST_MAIL_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "settings.h"

struct mail_worker_params {
	const struct roost_settings *set;
	bool privileged;        /* switch to uid/gid first */
	int client_fd;
	const char *protocol;
	const char *session_id;
	const char *remote_ip;
	bool tls;
	const char *input;      /* bytes pipelined after the login command */
	size_t input_len;
	const char *output;     /* pre-login replies still to be sent */
	size_t output_len;
	const char *user;
	uid_t uid;
	gid_t gid;
	const char *home;       /* may be NULL */
	const char *mail;       /* mail location; NULL: set->mail */
};

/* Serves the session; returns the process exit status. */
int mail_worker_main(const struct mail_worker_params *params);

#endif
