/*
 * The master's counters and gauges, written two ways from one table:
 *   METRICS_FORMAT_STATS        "name{labels} value" per line (roostctl stats)
 *   METRICS_FORMAT_OPENMETRICS  OpenMetrics 1.0 text: # TYPE / # HELP per
 *                               family, counters as NAME_total, ends in
 *                               "# EOF" (the metrics_listen endpoint)
 *
 * Sources: the master's own counters (metrics_counters, incremented where
 * things happen), the session table (mail sessions, octets, commands) and
 * the auth process's STATS reply. Auth counters restart from zero with
 * every auth process (a reload replaces it): metrics_auth_exited() folds
 * the last values received into a base, so the published counters only
 * grow; what happened after the last STATS reply of a process is lost.
 */
#ifndef ROOST_METRICS_H
#define ROOST_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "buffer.h"

enum metrics_format {
	METRICS_FORMAT_STATS,
	METRICS_FORMAT_OPENMETRICS,
};

enum metrics_process {
	METRICS_PROCESS_AUTH,
	METRICS_PROCESS_LOGIN,
	METRICS_PROCESS_MAIL,
	METRICS_PROCESS_COUNT,
};

struct metrics_counters {
	time_t start_time;
	uint64_t restarts[METRICS_PROCESS_COUNT];        /* after a crash */
	uint64_t abnormal_exits[METRICS_PROCESS_COUNT];  /* signal or status != 0 */
	uint64_t handovers_refused_temp;
	uint64_t handovers_refused_perm;
	uint64_t reloads_ok;
	uint64_t reloads_failed;
};

struct metrics_gauges {
	unsigned processes[METRICS_PROCESS_COUNT];
	unsigned debug_users;
};

extern struct metrics_counters metrics_counters;

void metrics_init(void);
/* A STATS reply from auth (fields[2..] are key=value); fields == NULL:
 * no answer. */
void metrics_auth_update(char **fields, unsigned count);
void metrics_auth_exited(void);

void metrics_write(struct buffer *out, enum metrics_format format,
		   const struct metrics_gauges *gauges);

#endif
