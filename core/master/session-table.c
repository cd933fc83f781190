/* The master's table of mail sessions; see session-table.h. */
#include "config.h"
#include "session-table.h"

#include "buffer.h"
#include "fd-passing.h"
#include "ipc-escape.h"
#include "log.h"
#include "worker-pool.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A STATS message has 8 fields; a few more are ignored, not an error. */
#define SESSION_FIELDS_MAX 16

const char *const session_end_reasons[SESSION_END_REASON_COUNT] = {
	SESSION_END_REASONS
};

static struct {
	struct master_session *sessions;
	unsigned count;
	struct session_totals finished;
} T;

static unsigned reason_index(const char *reason)
{
	for (unsigned i = 0; i < SESSION_END_REASON_COUNT - 1; i++) {
		if (strcmp(reason, session_end_reasons[i]) == 0)
			return i;
	}
	return SESSION_END_REASON_COUNT - 1;
}

/* Counters only grow: a report lower than the last one (a confused or
 * hostile worker) is ignored field by field. */
static void update_counter(uint64_t *field, const char *value)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 10);
	if (errno == 0 && *end == '\0' && end != value && value[0] != '-' && v > *field)
		*field = v;
}

static void copy_word(char *dest, size_t size, const char *value)
{
	size_t i = 0;
	/* Reports come from a process running as the mailbox owner: keep
	 * only what can be printed in a log or a roostctl line. */
	for (; value[i] != '\0' && i + 1 < size; i++) {
		char c = value[i];
		dest[i] = (c >= 'a' && c <= 'z') || c == '-' ? c : '?';
	}
	dest[i] = '\0';
}

/* The key=value fields of a STATS report; true when it was the last. */
static bool handle_report(struct master_session *s, char **f, unsigned n)
{
	struct session_counters *c = &s->counters;
	bool final = false;
	for (unsigned i = 0; i < n; i++) {
		char *eq = strchr(f[i], '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		const char *key = f[i], *value = eq + 1;
		if (strcmp(key, "state") == 0)
			copy_word(s->state, sizeof(s->state), value);
		else if (strcmp(key, "reason") == 0) {
			copy_word(s->reason, sizeof(s->reason), value);
			final = true;
		}
		else if (strcmp(key, "commands") == 0)
			update_counter(&c->commands, value);
		else if (strcmp(key, "octets_sent") == 0)
			update_counter(&c->octets_sent, value);
		else if (strcmp(key, "retrieved") == 0)
			update_counter(&c->retrieved, value);
		else if (strcmp(key, "retrieved_octets") == 0)
			update_counter(&c->retrieved_octets, value);
		else if (strcmp(key, "deleted") == 0)
			update_counter(&c->deleted, value);
		else if (strcmp(key, "deleted_octets") == 0)
			update_counter(&c->deleted_octets, value);
	}
	return final;
}

void session_table_init(void)
{
	memset(&T, 0, sizeof(T));
}

static void session_free(struct master_session *s)
{
	free(s->user);
	free(s->rip);
	free(s->session_id);
	free(s);
}

void session_table_deinit(void)
{
	while (T.sessions != NULL) {
		struct master_session *s = T.sessions;
		T.sessions = s->next;
		session_free(s);
	}
	T.count = 0;
}

struct master_session *session_table_add(struct worker_proc *w, const char *user,
					 const char *rip, const char *session_id,
					 bool tls)
{
	struct master_session *s = xmalloc(sizeof(*s));
	s->worker = w;
	s->pid = worker_pool_pid(w);
	s->user = xstrdup(user);
	s->rip = xstrdup(rip);
	s->session_id = xstrdup(session_id);
	s->tls = tls;
	s->since = time(NULL);
	strcpy(s->state, "starting");
	s->next = T.sessions;
	T.sessions = s;
	T.count++;
	T.finished.started++;
	return s;
}

static void add_counters(struct session_counters *to, const struct session_counters *from)
{
	to->commands += from->commands;
	to->octets_sent += from->octets_sent;
	to->retrieved += from->retrieved;
	to->retrieved_octets += from->retrieved_octets;
	to->deleted += from->deleted;
	to->deleted_octets += from->deleted_octets;
}

/* Unlinks *p and moves its counters to the totals. */
static void session_end(struct master_session **p, bool abnormal)
{
	struct master_session *s = *p;
	*p = s->next;
	T.count--;
	add_counters(&T.finished.counters, &s->counters);
	const char *reason = s->reason[0] != '\0' ? s->reason : abnormal ? "error" : "other";
	T.finished.ended[reason_index(reason)]++;
	session_free(s);
}

void session_table_report(struct worker_proc *w, char *msg)
{
	char *f[SESSION_FIELDS_MAX];
	unsigned n = ipc_split(msg, f, SESSION_FIELDS_MAX);
	if (n < 2 || strcmp(f[0], "STATS") != 0)
		return;
	struct master_session **p = &T.sessions;
	for (; *p != NULL; p = &(*p)->next) {
		if ((*p)->worker == w && strcmp((*p)->session_id, f[1]) == 0)
			break;
	}
	if (*p == NULL)
		return;
	bool final = handle_report(*p, f + 2, n - 2);
	if (!(*p)->reported) {
		(*p)->reported = true;
		worker_pool_session_opened(w);
	}
	if (final) {
		session_end(p, false);
		worker_pool_session_ended(w);
	}
}

void session_table_worker_exited(struct worker_proc *w, bool abnormal)
{
	for (struct master_session **p = &T.sessions; *p != NULL; ) {
		if ((*p)->worker == w)
			session_end(p, abnormal);
		else
			p = &(*p)->next;
	}
}

unsigned session_table_count(void)
{
	return T.count;
}

const struct master_session *session_table_first(void)
{
	return T.sessions;
}

/* "WORD\tSID[\tARG]" to the session's worker. */
static void send_to(struct master_session *s, const char *word, const char *arg)
{
	struct buffer msg;
	buffer_init(&msg);
	buffer_printf(&msg, "%s\t", word);
	ipc_escape_append(&msg, s->session_id, strlen(s->session_id));
	if (arg != NULL)
		buffer_printf(&msg, "\t%s", arg);
	buffer_append(&msg, "", 1);
	worker_pool_send(s->worker, msg.data);
	buffer_free(&msg);
}

unsigned session_table_kick(const char *user)
{
	unsigned n = 0;
	for (struct master_session *s = T.sessions; s != NULL; s = s->next) {
		if (strcmp(s->user, user) != 0)
			continue;
		send_to(s, "KICK", NULL);
		n++;
	}
	return n;
}

void session_table_debug(const char *user, bool on)
{
	for (struct master_session *s = T.sessions; s != NULL; s = s->next) {
		if (strcmp(s->user, user) == 0)
			send_to(s, "DEBUG", on ? "1" : "0");
	}
}

bool session_table_has_user(const char *user)
{
	for (struct master_session *s = T.sessions; s != NULL; s = s->next) {
		if (strcmp(s->user, user) == 0)
			return true;
	}
	return false;
}

/* A linear walk: the table holds at most mail_process_limit sessions, and
 * a walk per hand-over costs far less than the fork that follows. */
unsigned session_table_count_user(const char *user)
{
	unsigned n = 0;
	for (struct master_session *s = T.sessions; s != NULL; s = s->next)
		n += strcmp(s->user, user) == 0 ? 1 : 0;
	return n;
}

unsigned session_table_count_ip(const char *rip)
{
	unsigned n = 0;
	for (struct master_session *s = T.sessions; s != NULL; s = s->next)
		n += strcmp(s->rip, rip) == 0 ? 1 : 0;
	return n;
}

void session_table_totals(struct session_totals *out)
{
	*out = T.finished;
	for (struct master_session *s = T.sessions; s != NULL; s = s->next)
		add_counters(&out->counters, &s->counters);
}
