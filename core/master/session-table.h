/*
 * The master's table of mail sessions: one entry per mail worker, with
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

struct master_session {
	struct master_session *next;
	pid_t pid;
	char *user;
	char *rip;
	char *session_id;
	bool tls;
	time_t since;              /* wall clock, for roostctl who */
	char state[16];            /* as reported; "starting" until then */
	struct session_counters counters;
	char reason[16];           /* the final report's, "" until then */
	/* private */
	int fd;
	struct event_io *io;
};

struct session_totals {
	struct session_counters counters;
	uint64_t started;
	uint64_t ended[SESSION_END_REASON_COUNT];
};

extern const char *const session_end_reasons[SESSION_END_REASON_COUNT];

void session_table_init(struct event_loop *loop);
/* Closes every channel and forgets the sessions (master shutdown). */
void session_table_deinit(void);

/* Takes ownership of fd (our end of the worker's channel; may be -1). */
struct master_session *session_table_add(pid_t pid, int fd, const char *user,
					 const char *rip, const char *session_id,
					 bool tls);
/* A child exited: when it was a mail worker, reads its last reports,
 * moves its counters to the totals and returns true. */
bool session_table_exited(pid_t pid, bool abnormal);

unsigned session_table_count(void);
const struct master_session *session_table_first(void);
/* Sends signo to every worker. */
void session_table_signal_all(int signo);
/* Asks every session of user to end (KICK); returns how many. */
unsigned session_table_kick(const char *user);
/* Tells every worker of user to switch debug logging. */
void session_table_debug(const char *user, bool on);
bool session_table_has_user(const char *user);

void session_table_totals(struct session_totals *out);

#endif
