/*
 * Counters of the auth process since it started, reported by the
 * auth-master STATS command (auth-daemon.c). Client logins only: the
 * admin's PASSTEST and LOOKUP are not counted.
 */
#ifndef ROOST_AUTH_STATS_H
#define ROOST_AUTH_STATS_H

#include <stdint.h>

struct auth_stats {
	uint64_t requests;            /* AUTH exchanges started */
	uint64_t success;
	uint64_t failures_password;   /* wrong password or proof */
	uint64_t failures_unknown;    /* unknown user */
	uint64_t failures_disabled;   /* disabled account, nologin */
	uint64_t failures_temp;       /* internal errors, timeouts */
	uint64_t failures_malformed;  /* bad SASL data */
	uint64_t latency_us_sum;      /* credentials complete -> verdict */
	uint64_t latency_us_count;
};

extern struct auth_stats auth_stats;

#endif
