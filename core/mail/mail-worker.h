/*
 * A mail worker: a process running as one mailbox owner (uid/gid) that
 * serves up to mail_worker_client_limit POP3 sessions after login, all in
 * one event loop. The master starts it for a (uid, gid) and hands it each
 * session over the channel below; every session has its own pool, its own
 * storage instance (mailbox lock included) and its own client fd, so the
 * sessions of one worker see only their own mailboxes. A worker never
 * changes its uid and is never given a session of another uid/gid.
 *
 * Channel to the master (master_fd, SOCK_SEQPACKET, one message each,
 * TAB-separated fields escaped with ipc-escape; SID is the session id):
 *   master -> worker: SESSION fields...    + the client fd (SCM_RIGHTS);
 *                                          fields: see mail_worker_session
 *                     KICK SID             end that session (roostctl kick)
 *                     DEBUG SID 1|0        per-user debug logging
 *   worker -> master: STATS SID key=value...  while a session runs, at most
 *                     about once a second, and once more at its end with
 *                     reason=WORD (mail_session_stats.end_reason): that
 *                     last one tells the master the session is over.
 * Keys of STATS: state commands octets_sent retrieved retrieved_octets
 * deleted deleted_octets [reason].
 * The master closes its end to retire an idle worker: the worker exits
 * once the channel is closed and it has no session left. SIGTERM ends
 * every session (shutdown) and then the process.
 */
#ifndef ROOST_MAIL_WORKER_H
#define ROOST_MAIL_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buffer.h"
#include "error.h"
#include "pool.h"
#include "settings.h"
#include "storage.h"

/* A STATS or KICK/DEBUG message: a STATS line with every key is far below
 * this. */
#define MAIL_WORKER_MESSAGE_MAX 512
/* A SESSION message: the login's pipelined input and unsent output (each
 * at most 16 KiB, escaped up to twice that) plus the user's fields. */
#define MAIL_WORKER_SESSION_MESSAGE_MAX (96 * 1024)

struct mail_worker_params {
	const struct roost_settings *set;
	bool privileged;        /* switch to uid/gid first */
	int master_fd;          /* the channel above, or -1 */
	const char *protocol;
	uid_t uid;
	gid_t gid;
	/* The session fields below: for a worker only those of its first
	 * session, for its process title (sessions come over the channel);
	 * for the mailbox status child the user it counts. */
	const char *user;
	const char *remote_ip;
	const char *session_id;
	const char *home;       /* may be NULL */
	const char *mail;       /* mail location; NULL: set->mail */
	bool debug;             /* debug logging for this user (roostctl debug) */
	bool tls;
	const char *input;      /* bytes pipelined after the login command */
	size_t input_len;
	const char *output;     /* pre-login replies still to be sent */
	size_t output_len;
	unsigned login_delay;   /* the user's, in seconds (RFC 2449) */
	const char *expire;     /* the user's EXPIRE value, NULL: none */
};

/* Serves sessions until retired; returns the process exit status. */
int mail_worker_main(const struct mail_worker_params *params);

/* Appends the SESSION message for the session fields of params to out
 * (the master's side of the channel). */
void mail_worker_session_message(struct buffer *out,
				 const struct mail_worker_params *params);

/* Switches to params->uid/gid for good (privileged mode only). */
int mail_worker_become_user(const struct mail_worker_params *params,
			    struct error *err);
/* Expands the user's mail location and loads its storage module; *path_r
 * is what the module's open() takes (a relative path is taken relative
 * to the home directory, as the one-process-per-session worker did by
 * changing into it). Memory from pool. */
const struct storage_ops *mail_worker_open_storage(pool_t *pool,
	const struct mail_worker_params *params, const char **path_r,
	struct error *err);

#endif
