/*
 * A mail worker: one POP3 session after login, running as the mailbox
 * owner. It loads the storage module of the user's mail location, opens
 * the mailbox (exclusive session lock) and lets the protocol module serve
 * the session.
 *
 * Channel to the master (master_fd, SOCK_SEQPACKET, one message each,
 * TAB-separated key=value fields):
 *   worker -> master: STATS key=value...   while the session runs, at most
 *                     about once a second, and once more at the end with
 *                     reason=WORD (mail_session_stats.end_reason)
 *   master -> worker: KICK                 end the session (roostctl kick)
 *                     DEBUG 1|0            per-user debug logging
 * Keys of STATS: state commands octets_sent retrieved retrieved_octets
 * deleted deleted_octets [reason].
 */
#ifndef ROOST_MAIL_WORKER_H
#define ROOST_MAIL_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "pool.h"
#include "settings.h"
#include "storage.h"

/* One channel message: a STATS line with every key is far below this. */
#define MAIL_WORKER_MESSAGE_MAX 512

struct mail_worker_params {
	const struct roost_settings *set;
	bool privileged;        /* switch to uid/gid first */
	int client_fd;
	int master_fd;          /* the channel above, or -1 */
	bool debug;             /* debug logging for this user (roostctl debug) */
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

/* Switches to params->uid/gid for good (privileged mode only). */
int mail_worker_become_user(const struct mail_worker_params *params,
			    struct error *err);
/* Expands the user's mail location and loads its storage module; *path_r
 * is what the module's open() takes. Memory from pool. */
const struct storage_ops *mail_worker_open_storage(pool_t *pool,
	const struct mail_worker_params *params, const char **path_r,
	struct error *err);

#endif
