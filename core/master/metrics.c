/* The master's metrics; see metrics.h. */
#include "config.h"
#include "metrics.h"

#include "login-stats.h"
#include "session-table.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metrics_counters metrics_counters;

enum family_type { TYPE_COUNTER, TYPE_GAUGE, TYPE_SUMMARY, TYPE_INFO };

/* What the auth process's STATS reply carries (auth-client.h), and where
 * each key goes. */
struct auth_key {
	const char *key;
	bool counter;    /* folded across auth restarts */
};

static const struct auth_key auth_keys[] = {
	{ "auth_requests", true },
	{ "auth_success", true },
	{ "auth_failures_password", true },
	{ "auth_failures_unknown", true },
	{ "auth_failures_disabled", true },
	{ "auth_failures_temp", true },
	{ "auth_failures_malformed", true },
	{ "auth_latency_us_sum", true },
	{ "auth_latency_us_count", true },
	{ "auth_workers", false },
	{ "auth_worker_restarts", true },
	{ "auth_cache_hits", true },
	{ "auth_cache_misses", true },
};
#define AUTH_KEYS_COUNT (sizeof(auth_keys) / sizeof(auth_keys[0]))

static struct {
	uint64_t base[AUTH_KEYS_COUNT];
	uint64_t last[AUTH_KEYS_COUNT];
	bool answered;     /* the last STATS request got a reply */
} A;

static const char *const process_names[METRICS_PROCESS_COUNT] = {
	"auth", "login", "mail",
};

void metrics_init(void)
{
	memset(&metrics_counters, 0, sizeof(metrics_counters));
	memset(&A, 0, sizeof(A));
	metrics_counters.start_time = time(NULL);
}

void metrics_auth_update(char **fields, unsigned count)
{
	A.answered = fields != NULL && strcmp(fields[0], "STATS") == 0;
	if (!A.answered)
		return;
	for (unsigned i = 2; i < count; i++) {
		char *eq = strchr(fields[i], '=');
		if (eq == NULL)
			continue;
		for (unsigned k = 0; k < AUTH_KEYS_COUNT; k++) {
			size_t len = strlen(auth_keys[k].key);
			if ((size_t)(eq - fields[i]) != len ||
			    memcmp(fields[i], auth_keys[k].key, len) != 0)
				continue;
			char *end;
			unsigned long long v = strtoull(eq + 1, &end, 10);
			if (*end == '\0' && end != eq + 1 && eq[1] != '-')
				A.last[k] = v;
		}
	}
}

void metrics_auth_exited(void)
{
	for (unsigned k = 0; k < AUTH_KEYS_COUNT; k++) {
		if (auth_keys[k].counter)
			A.base[k] += A.last[k];
		A.last[k] = 0;
	}
}

static uint64_t auth_value(const char *key)
{
	for (unsigned k = 0; k < AUTH_KEYS_COUNT; k++) {
		if (strcmp(auth_keys[k].key, key) == 0)
			return A.base[k] + A.last[k];
	}
	return 0;
}

/* ---- writing ---- */

struct writer {
	struct buffer *out;
	enum metrics_format format;
};

static void family(struct writer *w, const char *name, enum family_type type,
		   const char *help)
{
	static const char *const type_names[] = { "counter", "gauge", "summary", "info" };
	if (w->format != METRICS_FORMAT_OPENMETRICS)
		return;
	buffer_printf(w->out, "# TYPE %s %s\n# HELP %s %s\n", name, type_names[type],
		      name, help);
}

/* suffix: "_total", "_sum", "" ...; labels: NULL or `key="value"` text
 * (only constant or checked words are ever passed, nothing to escape). */
static void sample(struct writer *w, const char *name, const char *suffix,
		   const char *labels, uint64_t value)
{
	buffer_printf(w->out, "%s%s%s%s%s %" PRIu64 "\n", name, suffix,
		      labels != NULL ? "{" : "", labels != NULL ? labels : "",
		      labels != NULL ? "}" : "", value);
}

static void sample_seconds(struct writer *w, const char *name, const char *suffix,
			   uint64_t microseconds)
{
	buffer_printf(w->out, "%s%s %" PRIu64 ".%06" PRIu64 "\n", name, suffix,
		      microseconds / 1000000, microseconds % 1000000);
}

static void counter(struct writer *w, const char *name, const char *help, uint64_t value)
{
	family(w, name, TYPE_COUNTER, help);
	sample(w, name, "_total", NULL, value);
}

static void gauge(struct writer *w, const char *name, const char *help, uint64_t value)
{
	family(w, name, TYPE_GAUGE, help);
	sample(w, name, "", NULL, value);
}

/* One sample per process kind, the first count kinds. */
static void per_kind(struct writer *w, const char *name, const char *suffix,
		     const uint64_t *values, unsigned count)
{
	char label[32];
	for (unsigned i = 0; i < count; i++) {
		snprintf(label, sizeof(label), "kind=\"%s\"", process_names[i]);
		sample(w, name, suffix, label, values[i]);
	}
}

static void write_processes(struct writer *w, const struct metrics_gauges *g)
{
	uint64_t running[METRICS_PROCESS_COUNT];
	for (unsigned i = 0; i < METRICS_PROCESS_COUNT; i++)
		running[i] = g->processes[i];
	family(w, "roost_processes", TYPE_GAUGE, "Child processes running, by kind.");
	per_kind(w, "roost_processes", "", running, METRICS_PROCESS_COUNT);
	/* Mail workers are never restarted: a session is not resumable. */
	family(w, "roost_process_restarts", TYPE_COUNTER,
	       "Auth and login processes restarted after they died.");
	per_kind(w, "roost_process_restarts", "_total", metrics_counters.restarts,
		 METRICS_PROCESS_MAIL);
	family(w, "roost_process_abnormal_exits", TYPE_COUNTER,
	       "Child processes that died from a signal or exited with a failure status.");
	per_kind(w, "roost_process_abnormal_exits", "_total",
		 metrics_counters.abnormal_exits, METRICS_PROCESS_COUNT);
}

static void write_sessions(struct writer *w)
{
	struct session_totals t;
	session_table_totals(&t);
	gauge(w, "roost_sessions", "Mail sessions (logged-in clients) now.",
	      session_table_count());
	counter(w, "roost_sessions_started", "Mail sessions started.", t.started);
	family(w, "roost_sessions_ended", TYPE_COUNTER, "Mail sessions ended, by reason.");
	for (unsigned i = 0; i < SESSION_END_REASON_COUNT; i++) {
		char label[32];
		snprintf(label, sizeof(label), "reason=\"%s\"", session_end_reasons[i]);
		sample(w, "roost_sessions_ended", "_total", label, t.ended[i]);
	}
	family(w, "roost_handovers_refused", TYPE_COUNTER,
	       "Authenticated clients the master could not give a mail worker.");
	sample(w, "roost_handovers_refused", "_total", "result=\"temp\"",
	       metrics_counters.handovers_refused_temp);
	sample(w, "roost_handovers_refused", "_total", "result=\"perm\"",
	       metrics_counters.handovers_refused_perm);
	counter(w, "roost_mail_commands", "Commands from logged-in clients.",
		t.counters.commands);
	counter(w, "roost_mail_sent_octets", "Octets sent to logged-in clients.",
		t.counters.octets_sent);
	counter(w, "roost_mail_retrieved_messages", "Whole messages sent (RETR).",
		t.counters.retrieved);
	counter(w, "roost_mail_retrieved_octets", "Octets of the messages sent by RETR.",
		t.counters.retrieved_octets);
	counter(w, "roost_mail_deleted_messages", "Messages deleted at QUIT.",
		t.counters.deleted);
	counter(w, "roost_mail_deleted_octets", "Octets of the messages deleted at QUIT.",
		t.counters.deleted_octets);
}

static void write_logins(struct writer *w)
{
	static const char *const states[] = { "preauth", "relayed", "proxied" };
	family(w, "roost_login_clients", TYPE_GAUGE,
	       "Clients of each login process, by state (as last reported).");
	for (const struct login_stats_process *p = login_stats_first(); p != NULL;
	     p = p->next) {
		const unsigned values[] = { p->preauth, p->relayed, p->proxied };
		for (unsigned i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
			char label[64];
			snprintf(label, sizeof(label), "process=\"%ld\",state=\"%s\"",
				 (long)p->pid, states[i]);
			sample(w, "roost_login_clients", "", label, values[i]);
		}
	}
	family(w, "roost_connections_accepted", TYPE_COUNTER,
	       "Connections accepted by login processes, by listener.");
	uint64_t accepted;
	const char *name;
	for (unsigned i = 0; (name = login_stats_listener(i, &accepted)) != NULL; i++) {
		char label[LOGIN_STATS_NAME_MAX + 16];
		snprintf(label, sizeof(label), "listener=\"%s\"", name);
		sample(w, "roost_connections_accepted", "_total", label, accepted);
	}
}

static void write_auth(struct writer *w)
{
	static const char *const reasons[] = {
		"password", "unknown", "disabled", "temp", "malformed",
	};
	gauge(w, "roost_auth_stats_up",
	      "1 when the auth process answered the last statistics request.",
	      A.answered ? 1 : 0);
	counter(w, "roost_auth_requests", "Authentication requests.",
		auth_value("auth_requests"));
	counter(w, "roost_auth_successes", "Successful authentications.",
		auth_value("auth_success"));
	family(w, "roost_auth_failures", TYPE_COUNTER, "Failed authentications, by reason.");
	for (unsigned i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		char key[64], label[32];
		snprintf(key, sizeof(key), "auth_failures_%s", reasons[i]);
		snprintf(label, sizeof(label), "reason=\"%s\"", reasons[i]);
		sample(w, "roost_auth_failures", "_total", label, auth_value(key));
	}
	family(w, "roost_auth_latency_seconds", TYPE_SUMMARY,
	       "Time the auth process took to answer a request.");
	sample_seconds(w, "roost_auth_latency_seconds", "_sum",
		       auth_value("auth_latency_us_sum"));
	sample(w, "roost_auth_latency_seconds", "_count", NULL,
	       auth_value("auth_latency_us_count"));
	gauge(w, "roost_auth_workers", "Worker processes of the auth process.",
	      auth_value("auth_workers"));
	counter(w, "roost_auth_worker_restarts", "Auth worker processes restarted.",
		auth_value("auth_worker_restarts"));
	family(w, "roost_auth_cache_lookups", TYPE_COUNTER, "Auth cache lookups, by result.");
	sample(w, "roost_auth_cache_lookups", "_total", "result=\"hit\"",
	       auth_value("auth_cache_hits"));
	sample(w, "roost_auth_cache_lookups", "_total", "result=\"miss\"",
	       auth_value("auth_cache_misses"));
}

void metrics_write(struct buffer *out, enum metrics_format format,
		   const struct metrics_gauges *g)
{
	struct writer w = { .out = out, .format = format };
	family(&w, "roost_build", TYPE_INFO, "The running Roost version.");
	sample(&w, "roost_build", "_info", "version=\"" PACKAGE_VERSION "\"", 1);
	gauge(&w, "roost_start_time_seconds", "When the master started (Unix time).",
	      (uint64_t)metrics_counters.start_time);
	write_processes(&w, g);
	write_sessions(&w);
	write_logins(&w);
	write_auth(&w);
	family(&w, "roost_config_reloads", TYPE_COUNTER, "Configuration reloads, by result.");
	sample(&w, "roost_config_reloads", "_total", "result=\"ok\"", metrics_counters.reloads_ok);
	sample(&w, "roost_config_reloads", "_total", "result=\"failed\"",
	       metrics_counters.reloads_failed);
	gauge(&w, "roost_debug_users", "Users with debug logging switched on (roostctl debug).",
	      g->debug_users);
	if (format == METRICS_FORMAT_OPENMETRICS)
		buffer_append_str(out, "# EOF\n");
}
