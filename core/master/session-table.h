/*
 * The master's table of mail sessions: one entry per session, with the
 * mail worker serving it (worker-pool.h; a worker may serve several),
 * what the login told the master (user, remote address, TLS, session id)
 * and what the worker reports over its channel (state and counters, see
 * core/mail/mail-worker.h). It answers roostctl who/kick/debug, and keeps
 * the totals of finished sessions so the metrics' counters only grow:
 * totals = finished sessions + the last report of each live one.
 */
#ifndef ROOST_SESSION_TABLE_H
#define ROOST_SESSION_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "event-loop.h"

/* Why sessions ended, as the workers report it; anything else counts as
 * "other". */
#define SESSION_END_REASONS "quit", "timeout", "disconnect", "kicked", \
	"shutdown", "error", "in-use", "other"
#define SESSION_END_REASON_COUNT 8

struct session_counters {
	uint64_t commands;
	uint64_t octets_sent;
	uint64_t retrieved;
	uint64_t retrieved_octets;
	uint64_t deleted;
	uint64_t deleted_octets;
};

struct worker_proc;

struct master_session {
	struct master_session *next;
	pid_t pid;                 /* of its worker */
	char *user;
	char *rip;
	char *session_id;
	bool tls;
	time_t since;              /* wall clock, for roostctl who */
	char state[16];            /* as reported; "starting" until then */
	struct session_counters counters;
	char reason[16];           /* the final report's, "" until then */
	/* private */
	struct worker_proc *worker;
	bool reported;             /* its first report came */
};

struct session_totals {
	struct session_counters counters;
	uint64_t started;
	uint64_t ended[SESSION_END_REASON_COUNT];
};

extern const char *const session_end_reasons[SESSION_END_REASON_COUNT];

void session_table_init(void);
/* Forgets the sessions (master shutdown). */
void session_table_deinit(void);

/* A session handed over to worker w. */
struct master_session *session_table_add(struct worker_proc *w, const char *user,
					 const char *rip, const char *session_id,
					 bool tls);
/* A message from worker w (STATS SID ...); msg is changed in place. A
 * report with a reason ends the session: its counters move to the
 * totals and the pool hears of it. A worker can only report on its own
 * sessions. */
void session_table_report(struct worker_proc *w, char *msg);
/* Worker w exited: its sessions that did not say goodbye end (as
 * "error" when it died abnormally). */
void session_table_worker_exited(struct worker_proc *w, bool abnormal);

unsigned session_table_count(void);
const struct master_session *session_table_first(void);
/* Asks every session of user to end (KICK); returns how many. */
unsigned session_table_kick(const char *user);
/* Tells every worker of user to switch debug logging. */
void session_table_debug(const char *user, bool on);
bool session_table_has_user(const char *user);
/* Live sessions of user / from remote address rip (the session limits). */
unsigned session_table_count_user(const char *user);
unsigned session_table_count_ip(const char *rip);

void session_table_totals(struct session_totals *out);

#endif
