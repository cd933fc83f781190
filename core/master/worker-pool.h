/*
 * The master's mail worker processes (mail/mail-worker.h), by (uid, gid).
 * A new session goes to the least busy live worker of its uid/gid that
 * has room (fewer than mail_worker_client_limit sessions), else the
 * master forks a new one; as a worker is single-threaded, a uid gets one
 * worker per core before sessions start to share one (when the limit
 * allows); a worker that has been opening the mailbox of a session for a
 * while (no report from it yet: a huge mailbox) gets no new session.
 * Either way the session travels over the worker's channel
 * with its client fd, so a login usually costs no fork. A worker that
 * has had no session for WORKER_POOL_IDLE_MS (at once when the limit is
 * 1) is retired: the master closes its channel and the worker exits.
 *
 * The pool reads the workers' reports and passes each to the session
 * table (session-table.h), which tells the pool when a session ended.
 */
#ifndef ROOST_WORKER_POOL_H
#define ROOST_WORKER_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "event-loop.h"

struct worker_proc;

void worker_pool_init(struct event_loop *loop);
/* Closes every channel and forgets the workers (master shutdown). */
void worker_pool_deinit(void);
/* mail_worker_client_limit (start and reload). */
void worker_pool_configure(unsigned client_limit);

/* The live worker of uid/gid to take a new session, or NULL when a new
 * one should be started. */
struct worker_proc *worker_pool_find(uid_t uid, gid_t gid);
/* A worker just forked; takes ownership of fd (our end of its channel). */
struct worker_proc *worker_pool_add(pid_t pid, int fd, uid_t uid, gid_t gid);
/* Hands a session (msg, mail_worker_session_message()) with its client
 * fd to w and counts it. -1/errno when the worker cannot take it now
 * (its queue is full: it is stuck in a long storage call). */
int worker_pool_hand_over(struct worker_proc *w, int client_fd,
			  const void *msg, size_t len);
/* Sends a KICK or DEBUG message (no fd). */
void worker_pool_send(struct worker_proc *w, const char *msg);
/* One of w's sessions reported for the first time: its mailbox is open
 * (or failed to open). */
void worker_pool_session_opened(struct worker_proc *w);
/* One of w's sessions ended (its last report came). */
void worker_pool_session_ended(struct worker_proc *w);
/* After a reload: running workers keep the settings they were started
 * with, so they take no new session and exit when their last ends. */
void worker_pool_retire_all(void);
/* Kills a worker that was forked but could not be given its session. */
void worker_pool_abandon(struct worker_proc *w);

/* A child exited: when it was a mail worker, reads its last reports, ends
 * its sessions in the session table and returns true. */
bool worker_pool_exited(pid_t pid, bool abnormal);

pid_t worker_pool_pid(const struct worker_proc *w);
unsigned worker_pool_count(void);
void worker_pool_signal_all(int signo);

#endif
