/* The master's table of mail sessions; see session-table.h. */
#include "config.h"
#include "session-table.h"

#include "buffer.h"
#include "fd-passing.h"
#include "ipc-escape.h"
#include "log.h"
#include "mail/mail-worker.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A STATS message has 8 fields; a few more are ignored, not an error. */
#define SESSION_FIELDS_MAX 16
/* Reports read per wake-up of one channel: a worker flooding the master
 * must not starve the other events. */
#define SESSION_READS_PER_EVENT 16

const char *const session_end_reasons[SESSION_END_REASON_COUNT] = {
	SESSION_END_REASONS
};

static struct {
	struct event_loop *loop;
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

static void handle_report(struct master_session *s, char *msg)
{
	char *f[SESSION_FIELDS_MAX];
	unsigned n = ipc_split(msg, f, SESSION_FIELDS_MAX);
	if (strcmp(f[0], "STATS") != 0)
		return;
	struct session_counters *c = &s->counters;
	for (unsigned i = 1; i < n; i++) {
		char *eq = strchr(f[i], '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		const char *key = f[i], *value = eq + 1;
		if (strcmp(key, "state") == 0)
			copy_word(s->state, sizeof(s->state), value);
		else if (strcmp(key, "reason") == 0)
			copy_word(s->reason, sizeof(s->reason), value);
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
}

/* Reads up to max reports; false once the channel is closed. */
static bool read_reports(struct master_session *s, unsigned max)
{
	char buf[MAIL_WORKER_MESSAGE_MAX + 1];
	for (unsigned i = 0; i < max && s->fd >= 0; i++) {
		int fd;
		ssize_t n = fd_recv(s->fd, &fd, buf, sizeof(buf) - 1);
		if (n > 0 && fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			handle_report(s, buf);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (n < 0 && errno == EMSGSIZE)
			continue;   /* oversized: dropped by fd_recv */
		return false;
	}
	return s->fd >= 0;
}

static void close_channel(struct master_session *s)
{
	event_io_remove(s->io);
	s->io = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static void channel_input(void *context, unsigned revents)
{
	struct master_session *s = context;
	if (!read_reports(s, SESSION_READS_PER_EVENT))
		close_channel(s);
}

void session_table_init(struct event_loop *loop)
{
	memset(&T, 0, sizeof(T));
	T.loop = loop;
}

static void session_free(struct master_session *s)
{
	close_channel(s);
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

struct master_session *session_table_add(pid_t pid, int fd, const char *user,
					 const char *rip, const char *session_id,
					 bool tls)
{
	struct master_session *s = xmalloc(sizeof(*s));
	s->pid = pid;
	s->fd = fd;
	s->user = xstrdup(user);
	s->rip = xstrdup(rip);
	s->session_id = xstrdup(session_id);
	s->tls = tls;
	s->since = time(NULL);
	strcpy(s->state, "starting");
	if (fd >= 0)
		s->io = event_io_add(T.loop, fd, EVENT_IN, false, channel_input, s);
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

bool session_table_exited(pid_t pid, bool abnormal)
{
	for (struct master_session **p = &T.sessions; *p != NULL; p = &(*p)->next) {
		struct master_session *s = *p;
		if (s->pid != pid)
			continue;
		/* Reports still queued in the channel (SIGCHLD may be
		 * handled before the worker's last message): the socket
		 * keeps them after the worker's end closed. */
		if (s->fd >= 0)
			read_reports(s, SESSION_READS_PER_EVENT);
		*p = s->next;
		T.count--;
		add_counters(&T.finished.counters, &s->counters);
		const char *reason = s->reason[0] != '\0' ? s->reason : abnormal ? "error" : "other";
		T.finished.ended[reason_index(reason)]++;
		session_free(s);
		return true;
	}
	return false;
}

unsigned session_table_count(void)
{
	return T.count;
}

const struct master_session *session_table_first(void)
{
	return T.sessions;
}

void session_table_signal_all(int signo)
{
	for (struct master_session *s = T.sessions; s != NULL; s = s->next)
		kill(s->pid, signo);
}

static void send_to(struct master_session *s, const char *msg)
{
	if (s->fd >= 0 && fd_send(s->fd, -1, msg, strlen(msg)) < 0)
		log_warning("Message to mail worker %ld failed: %s", (long)s->pid,
			    strerror(errno));
}

unsigned session_table_kick(const char *user)
{
	unsigned n = 0;
	for (struct master_session *s = T.sessions; s != NULL; s = s->next) {
		if (strcmp(s->user, user) != 0)
			continue;
		if (s->fd >= 0)
			send_to(s, "KICK");
		else
			kill(s->pid, SIGTERM);   /* no channel: still ends cleanly */
		n++;
	}
	return n;
}

void session_table_debug(const char *user, bool on)
{
	for (struct master_session *s = T.sessions; s != NULL; s = s->next) {
		if (strcmp(s->user, user) == 0)
			send_to(s, on ? "DEBUG\t1" : "DEBUG\t0");
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

void session_table_totals(struct session_totals *out)
{
	*out = T.finished;
	for (struct master_session *s = T.sessions; s != NULL; s = s->next)
		add_counters(&out->counters, &s->counters);
}
