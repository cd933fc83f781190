/*
 * What login processes report about themselves over their channel to the
 * master (login.c sends "STATS preauth relayed proxied [listener
 * accepted]...", at most about once a second and only after a change):
 * per process its clients by state, for roostctl who and the
 * roost_login_clients gauge, and per listener name the connections
 * accepted, summed over all login processes, dead ones included, so the
 * roost_connections_accepted counter only grows.
 */
#ifndef ROOST_LOGIN_STATS_H
#define ROOST_LOGIN_STATS_H

#include <stdint.h>
#include <sys/types.h>

/* Listener names are config section names; label-safe copies. */
#define LOGIN_STATS_NAME_MAX 32

struct login_stats_process {
	const struct login_stats_process *next;
	pid_t pid;
	unsigned preauth;     /* before login, and logging in */
	unsigned relayed;     /* TLS sessions relayed to a mail worker */
	unsigned proxied;     /* sessions relayed to a back end */
};

/* One STATS message (msg need not be NUL-terminated); -1 for a
 * malformed one, which changes nothing. */
int login_stats_report(pid_t pid, const char *msg, size_t len);
/* The process is gone: its clients no longer count, its accepted
 * connections still do. */
void login_stats_exited(pid_t pid);
/* Forgets everything, totals included (the fuzzing harness). */
void login_stats_reset(void);

const struct login_stats_process *login_stats_first(void);
/* Listeners ever reported, index 0..; NULL name past the end. */
const char *login_stats_listener(unsigned i, uint64_t *accepted_r);

#endif
