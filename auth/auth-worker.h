/*
 * The auth worker pool. Passdb and userdb calls block (a PAM conversation,
 * a database round trip, an Argon2 hash), so the auth process runs them in
 * auth_worker_processes worker processes it forks after loading the
 * modules and dropping privileges; it keeps the SASL state, cookies,
 * penalties and the cache itself and queues calls (FIFO) until a worker is
 * idle. Each worker builds its own passdb chain (passdb-chain.h) and
 * answers one call at a time, so one hanging database stalls one worker.
 *
 * A worker that dies is restarted and its call answered PASSDB_INTERNAL_ERROR
 * ([SYS/TEMP] for the client); so is a call not answered within
 * AUTH_WORKER_CALL_TIMEOUT_MS of being made (a worker that holds it that
 * long is killed). Workers die with the auth process (PR_SET_PDEATHSIG)
 * and exit on EOF.
 *
 * Wire format on each worker's socketpair (TAB-separated, ipc-escaped,
 * one record per line):
 *   auth -> worker:  VERIFY user password | CREDENTIALS user
 *                  | USERDB user FIELDS
 *   worker -> auth:  READY (once, when its chain is built)
 *                  | ERROR message (the chain could not be built; exits)
 *                  | RESULT code reason stored FIELDS
 *     code: ok | unknown | mismatch | disabled | temp; reason: the log
 *     text of a failure; stored: CREDENTIALS' "{SCHEME}data" or empty;
 *     FIELDS as in auth-fields-ipc.h.
 */
#ifndef ROOST_AUTH_WORKER_H
#define ROOST_AUTH_WORKER_H

#include <stdbool.h>

#include "auth-module.h"
#include "event-loop.h"
#include "pool.h"
#include "settings.h"

/* A login that waits longer than this has been given up by its client
 * anyway; failing it keeps the queue from growing behind a dead database. */
#define AUTH_WORKER_CALL_TIMEOUT_MS 30000
/* `ps` and the tests find the workers by this title. */
#define AUTH_WORKER_TITLE "roost-auth-worker"

enum auth_worker_op {
	AUTH_WORKER_VERIFY,
	AUTH_WORKER_CREDENTIALS,
	AUTH_WORKER_USERDB,
};

struct auth_worker_reply {
	/* USERDB answers PASSDB_OK (found), PASSDB_USER_UNKNOWN or
	 * PASSDB_INTERNAL_ERROR. */
	enum passdb_result result;
	const char *reason;           /* log text of a failure, or "" */
	const char *stored;           /* CREDENTIALS on success, else NULL */
	struct auth_user_fields fields;
};

typedef void auth_worker_callback(void *context,
				  const struct auth_worker_reply *reply);

struct auth_worker_call;

/* Forks the workers. Returns 0 in the auth process; in a new worker it
 * returns 1 after stopping loop, and so does a restart from inside the
 * loop (check auth_worker_pool_child_fd() once the loop returns): the
 * caller then calls auth_worker_pool_deinit(), releases what the auth
 * process held and runs auth_worker_server_run() on that fd. fatal runs
 * (with the worker's message) when a worker cannot build its chain before
 * any worker ever could: a configuration error. */
int auth_worker_pool_init(struct event_loop *loop,
			  const struct roost_settings *set,
			  void (*fatal)(const char *message));
/* The socket of this process when it is a new worker, else -1. */
int auth_worker_pool_child_fd(void);
/* Drops every call without answering, closes the other workers' sockets
 * (workers exit on EOF) and frees the pool's memory; in a worker the
 * child's own socket stays open. */
void auth_worker_pool_deinit(void);

/* Queues a call; the callback runs later (never from inside this call),
 * with reply strings from reply_pool. password: VERIFY only; fields:
 * USERDB only (the passdb's fields, may be NULL). */
struct auth_worker_call *auth_worker_call(enum auth_worker_op op,
					  const char *user,
					  const char *password,
					  const struct auth_user_fields *fields,
					  pool_t *reply_pool,
					  auth_worker_callback *callback,
					  void *context);
/* The callback will not run; safe until it has run. */
void auth_worker_call_abort(struct auth_worker_call *call);

/* For STATS: workers running now, and restarts since start. */
unsigned auth_worker_pool_running(void);
unsigned auth_worker_pool_restarts(void);

#endif
