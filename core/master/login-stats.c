/* Login processes' reports to the master; see login-stats.h. */
#include "config.h"
#include "login-stats.h"

#include "ipc-escape.h"
#include "pool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Distinct listener names: a config has a handful; more are refused so
 * a confused login process cannot grow the master. */
#define LOGIN_STATS_LISTENERS_MAX 32
/* STATS + three counts + a name and a count per listener. */
#define LOGIN_STATS_FIELDS_MAX (4 + 2 * LOGIN_STATS_LISTENERS_MAX)

struct process {
	struct login_stats_process pub;
	struct process *next;
	uint64_t last[LOGIN_STATS_LISTENERS_MAX];  /* its last report */
};

static struct {
	struct process *procs;
	char names[LOGIN_STATS_LISTENERS_MAX][LOGIN_STATS_NAME_MAX];
	uint64_t totals[LOGIN_STATS_LISTENERS_MAX];
	unsigned count;
} LS;

/* The public list mirrors the private one. */
static void relink(void)
{
	for (struct process *p = LS.procs; p != NULL; p = p->next)
		p->pub.next = p->next != NULL ? &p->next->pub : NULL;
}

static struct process *find(pid_t pid)
{
	for (struct process *p = LS.procs; p != NULL; p = p->next) {
		if (p->pub.pid == pid)
			return p;
	}
	struct process *p = xmalloc(sizeof(*p));
	memset(p, 0, sizeof(*p));
	p->pub.pid = pid;
	p->next = LS.procs;
	LS.procs = p;
	relink();
	return p;
}

/* Metric labels and who lines carry the name as is: keep it to word
 * characters. */
static void label_safe(char *out, const char *name)
{
	size_t i = 0;
	for (; name[i] != '\0' && i < LOGIN_STATS_NAME_MAX - 1; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
		out[i] = ok ? c : '_';
	}
	out[i] = '\0';
}

static int listener_index(const char *name)
{
	char safe[LOGIN_STATS_NAME_MAX];
	label_safe(safe, name);
	for (unsigned i = 0; i < LS.count; i++) {
		if (strcmp(LS.names[i], safe) == 0)
			return (int)i;
	}
	if (LS.count >= LOGIN_STATS_LISTENERS_MAX)
		return -1;
	memcpy(LS.names[LS.count], safe, sizeof(safe));
	return (int)LS.count++;
}

static bool parse_count(const char *s, uint64_t *value_r)
{
	char *end;
	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	*value_r = v;
	return *end == '\0' && errno == 0;
}

int login_stats_report(pid_t pid, const char *msg, size_t len)
{
	char *copy = xmalloc(len + 1);
	memcpy(copy, msg, len);
	copy[len] = '\0';
	char *f[LOGIN_STATS_FIELDS_MAX];
	unsigned n = ipc_split(copy, f, LOGIN_STATS_FIELDS_MAX);
	uint64_t counts[3];
	if (n < 4 || strcmp(f[0], "STATS") != 0 || !parse_count(f[1], &counts[0]) ||
	    !parse_count(f[2], &counts[1]) || !parse_count(f[3], &counts[2])) {
		free(copy);
		return -1;
	}
	struct process *p = find(pid);
	p->pub.preauth = (unsigned)counts[0];
	p->pub.relayed = (unsigned)counts[1];
	p->pub.proxied = (unsigned)counts[2];
	for (unsigned i = 4; i + 1 < n; i += 2) {
		uint64_t accepted;
		int l = listener_index(f[i]);
		if (l < 0 || !parse_count(f[i + 1], &accepted))
			continue;
		/* Counters in a process only grow; add what is new, and
		 * saturate rather than wrap for a process that lies. */
		if (accepted > p->last[l]) {
			uint64_t delta = accepted - p->last[l];
			LS.totals[l] = LS.totals[l] > UINT64_MAX - delta ? UINT64_MAX :
				LS.totals[l] + delta;
		}
		p->last[l] = accepted;
	}
	free(copy);
	return 0;
}

void login_stats_exited(pid_t pid)
{
	for (struct process **pp = &LS.procs; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->pub.pid == pid) {
			struct process *p = *pp;
			*pp = p->next;
			free(p);
			break;
		}
	}
	relink();
}

void login_stats_reset(void)
{
	while (LS.procs != NULL)
		login_stats_exited(LS.procs->pub.pid);
	memset(&LS, 0, sizeof(LS));
}

const struct login_stats_process *login_stats_first(void)
{
	return LS.procs != NULL ? &LS.procs->pub : NULL;
}

const char *login_stats_listener(unsigned i, uint64_t *accepted_r)
{
	if (i >= LS.count)
		return NULL;
	*accepted_r = LS.totals[i];
	return LS.names[i];
}
