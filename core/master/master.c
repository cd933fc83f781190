/*
 * The master process; see master.h.
 *
 * Messages (TAB-separated, escaped with ipc-escape):
 *   login -> master (SOCK_SEQPACKET, with the client fd):
 *       HANDOVER hid cookie protocol session rip tls input output
 *   master -> login: DONE hid OK|TEMP|PERM
 *     A session the master itself refuses at hand-over (session limits,
 *     LOGIN-DELAY, nologin with a reason) gets its "-ERR [CODE] text"
 *     written on the handed-over connection, as a mail worker would write
 *     its answer to the login command, and the login hears OK: the
 *     connection is taken care of, and ends after that line.
 *   master <-> auth: see auth-client.h
 *   login <-> its key process: see tls-key-protocol.h (the master only
 *     creates their socket pair)
 *   master <-> mail worker: see mail/mail-worker.h
 */
#include "config.h"
#include "master.h"

#include "auth-client.h"
#include "control.h"
#include "debug-users.h"
#include "decimal.h"
#include "event-loop.h"
#include "fd-passing.h"
#include "ipc-escape.h"
#include "listeners.h"
#include "login-stats.h"
#include "login-history.h"
#include "log.h"
#include "metrics-http.h"
#include "module-settings.h"
#include "session-table.h"
#include "stream.h"
#include "tls-context.h"
#include "tls-key-server.h"
#include "worker-pool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* Back-off for children that keep dying: start at 1 s, double up to a
 * minute; a child that ran this long is considered healthy again. */
#define RESTART_DELAY_MIN_MS 1000
#define RESTART_DELAY_MAX_MS 60000
#define CHILD_STABLE_MS 10000
/* On SIGTERM children get this long to close sessions before SIGKILL. */
#define SHUTDOWN_GRACE_MS 5000
/* A HANDOVER message: login's pipelined input (16 KiB, escaped) + fields. */
#define HANDOVER_MESSAGE_MAX (40 * 1024)
#define HANDOVER_FIELDS_MAX 9
/* Login processes per config; more would only waste memory on 2-64 cores. */
#define LOGIN_PROCESSES_MAX 256
/* fds a child keeps from the master: listeners plus a few sockets. */
#define CHILD_KEEP_FDS_MAX 64
/* Auth counters are fetched this often even when nobody asks, so that
 * little is lost when an auth process is replaced (metrics.h). */
#define AUTH_STATS_POLL_MS 10000
/* A mailbox status child counts one mailbox; a huge mbox on a slow disk
 * may take seconds, anything longer is stuck. */
#define MAILBOX_STATUS_TIMEOUT_MS 30000
/* Its one-line answer (mailbox-status.h). */
#define MAILBOX_STATUS_REPLY_MAX 1024
/* A refusal line stays within RFC 2449's 512 octets: the passdb's nologin
 * reason is cut to this many bytes. */
#define REFUSAL_REASON_MAX 400
/* Per-user numbers (login_delay seconds, sessions_max): 9 digits is
 * beyond any sensible value and fits an unsigned. */
#define USER_NUMBER_DIGITS_MAX 9

struct login_proc {
	struct login_proc *next;
	pid_t pid;
	int fd;                    /* our end of the SOCK_SEQPACKET pair */
	struct event_io *io;
	int slot;                  /* -1 once retired */
	uint64_t started;
	struct key_proc *key;      /* its key process; NULL without TLS or
				      once that has exited */
};

/* A login slot's TLS key process (tls-key-server.h). The master holds no
 * end of its socket: it exits at EOF, when its login process is gone. */
struct key_proc {
	struct key_proc *next;
	pid_t pid;
	struct login_proc *login;  /* NULL once the login process is reaped */
};

struct handover {
	struct handover *next;
	pool_t *pool;
	unsigned rid;              /* auth request, 0 when none is pending */
	struct login_proc *login;  /* NULL when that login process is gone */
	char *hid;
	int fd;
	char *protocol, *session, *rip;
	bool tls;
	char *input;
	size_t input_len;
	char *output;           /* replies the login could not send yet */
	size_t output_len;
};

/* A roostctl mailbox status child. */
struct status_child {
	struct status_child *next;
	pid_t pid;
	int fd;                    /* read end of its result pipe */
	struct event_io *io;
	struct event_timer *timer;
	struct buffer reply;
	master_status_callback *callback;
	void *context;
};

/* A pending master_stats_refresh(). */
struct stats_waiter {
	master_done_callback *done;
	void *context;
};

static struct {
	const struct master_options *opts;
	struct roost_settings *set;
	pool_t *set_pool;
	bool privileged;
	struct event_loop *loop;
	struct listener_set listeners;

	int auth_login_fd;          /* listening sockets handed to auth */
	int auth_master_fd;
	int control_fd;
	char auth_master_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char auth_login_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char control_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pid_t auth_pid;
	uint64_t auth_started;
	unsigned auth_delay;
	bool auth_expected_exit;
	struct event_timer *auth_timer;
	struct event_timer *stats_timer;

	struct login_proc *logins;
	struct key_proc *keys;
	unsigned login_slots;
	unsigned login_delay[LOGIN_PROCESSES_MAX];
	struct event_timer *login_timer[LOGIN_PROCESSES_MAX];

	struct handover *handovers;
	struct status_child *status_children;

	bool stopping;
	struct event_timer *kill_timer;

	bool became_child;
	struct child_start *child;
	int keep_fds[CHILD_KEEP_FDS_MAX];
	unsigned keep_count;
} M;

static void spawn_auth(void *context);
static void spawn_login_slot(unsigned slot);

/* ---- forking ---- */

static void keep_fd(int fd)
{
	if (fd >= 0 && M.keep_count < CHILD_KEEP_FDS_MAX)
		M.keep_fds[M.keep_count++] = fd;
}

static int compare_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* In a new child: close every inherited fd except stdio and keep_fds, so a
 * login process cannot reach another login's socket or a client of a
 * mail worker. */
static void close_inherited_fds(void)
{
	qsort(M.keep_fds, M.keep_count, sizeof(int), compare_int);
	unsigned from = 3;
	for (unsigned i = 0; i < M.keep_count; i++) {
		unsigned fd = (unsigned)M.keep_fds[i];
		if (fd < from)
			continue;
		if (fd > from)
			close_range(from, fd - 1, 0);
		from = fd + 1;
	}
	close_range(from, ~0U, 0);
}

/* Returns the pid in the master; in the child returns 0 after arranging
 * for master_run() to return with the child's role. */
static pid_t fork_child(void)
{
	M.keep_count = 0;
	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		M.became_child = true;
		event_loop_forget_after_fork(M.loop);
		event_loop_stop(M.loop);
	}
	return pid;
}

/* ---- auth process ---- */

static void spawn_auth(void *context)
{
	M.auth_timer = NULL;
	if (M.stopping)
		return;
	pid_t pid = fork_child();
	if (pid < 0) {
		M.auth_timer = event_timer_add(M.loop, RESTART_DELAY_MIN_MS, spawn_auth, NULL);
		return;
	}
	if (pid == 0) {
		M.child->role = CHILD_ROLE_AUTH;
		M.child->auth.set = M.set;
		M.child->auth.login_listen_fd = M.auth_login_fd;
		M.child->auth.master_listen_fd = M.auth_master_fd;
		M.child->auth.privileged = M.privileged;
		keep_fd(M.auth_login_fd);
		keep_fd(M.auth_master_fd);
		return;
	}
	M.auth_pid = pid;
	M.auth_started = event_loop_now(M.loop);
	M.auth_expected_exit = false;
}

static void stats_poll_reply(void *context, char **fields, unsigned count)
{
	metrics_auth_update(fields, count);
}

static void stats_poll(void *context)
{
	M.stats_timer = event_timer_add(M.loop, AUTH_STATS_POLL_MS, stats_poll, NULL);
	if (M.auth_pid > 0)
		auth_client_request("STATS", NULL, 0, stats_poll_reply, NULL);
}

static void stats_refresh_reply(void *context, char **fields, unsigned count)
{
	struct stats_waiter *w = context;
	metrics_auth_update(fields, count);
	w->done(w->context);
	free(w);
}

void master_stats_refresh(master_done_callback *done, void *context)
{
	struct stats_waiter *w = xmalloc(sizeof(*w));
	w->done = done;
	w->context = context;
	auth_client_request("STATS", NULL, 0, stats_refresh_reply, w);
}

void master_stats_write(struct buffer *out, enum metrics_format format)
{
	struct metrics_gauges g;
	memset(&g, 0, sizeof(g));
	g.processes[METRICS_PROCESS_AUTH] = M.auth_pid > 0 ? 1 : 0;
	for (struct login_proc *lp = M.logins; lp != NULL; lp = lp->next)
		g.processes[METRICS_PROCESS_LOGIN]++;
	g.processes[METRICS_PROCESS_MAIL] = worker_pool_count();
	while (debug_users_get(g.debug_users) != NULL)
		g.debug_users++;
	metrics_write(out, format, &g);
}

/* ---- hand-over: from login process to mail worker ---- */

static void handover_reply(struct handover *h, const char *result)
{
	if (strcmp(result, "TEMP") == 0)
		metrics_counters.handovers_refused_temp++;
	else if (strcmp(result, "PERM") == 0)
		metrics_counters.handovers_refused_perm++;
	if (h->login != NULL) {
		struct buffer msg;
		buffer_init(&msg);
		buffer_printf(&msg, "DONE\t%s\t%s", h->hid, result);
		if (fd_send(h->login->fd, -1, msg.data, msg.len) < 0) {
			/* Our end is non-blocking: a login process that does
			 * not read its replies must not stall the master. */
			log_error("Reply to login process %ld failed (%s); killing it",
				  (long)h->login->pid, strerror(errno));
			kill(h->login->pid, SIGKILL);
		}
		buffer_free(&msg);
	}
}

static void handover_free(struct handover *h)
{
	for (struct handover **p = &M.handovers; *p != NULL; p = &(*p)->next) {
		if (*p == h) {
			*p = h->next;
			break;
		}
	}
	if (h->rid != 0)
		auth_client_cancel(h->rid);
	if (h->fd >= 0)
		close(h->fd);
	if (h->input != NULL)
		memset(h->input, 0, h->input_len);   /* may hold a password */
	pool_destroy(h->pool);
}

/* What the passdb/userdb say about this user's sessions
 * (auth/auth-user-policy.h), with the settings' defaults filled in. */
struct user_policy {
	bool nologin;
	const char *reason;        /* nologin's text; "" when none */
	unsigned sessions_max;     /* 0: no limit */
	bool sessions_max_set;
};

static int parse_user_number(const char *user, const char *key,
			     const char *value, unsigned *out, struct error *err)
{
	uint64_t n;
	size_t len = strlen(value);
	if (len == 0 || len > USER_NUMBER_DIGITS_MAX ||
	    !decimal_parse_u64(value, len, &n)) {
		error_set(err, ERROR_PERM, "user %s: invalid %s '%s' from the passdb/userdb",
			  user, key, value);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

/* One of the policy fields of auth's USER reply into p and policy. */
static int policy_field(const char *user, const char *key, const char *value,
			struct mail_worker_params *p, struct user_policy *policy,
			struct error *err)
{
	if (strcmp(key, "login_delay") == 0)
		return parse_user_number(user, key, value, &p->login_delay, err);
	if (strcmp(key, "sessions_max") == 0) {
		policy->sessions_max_set = true;
		return parse_user_number(user, key, value, &policy->sessions_max, err);
	}
	if (strcmp(key, "expire") == 0) {
		unsigned days;
		if (strcasecmp(value, "never") == 0)
			p->expire = "NEVER";
		else if (parse_user_number(user, key, value, &days, err) < 0)
			return -1;
		else
			p->expire = value;
		return 0;
	}
	if (strcmp(key, "nologin") == 0) {
		policy->nologin = true;
		policy->reason = value;
	}
	return 0;
}

static bool uid_allowed(unsigned long uid, const char *user, struct error *err)
{
	const struct roost_settings *set = M.set;
	if (uid == 0 || uid < set->first_valid_uid ||
	    (set->last_valid_uid != 0 && uid > set->last_valid_uid)) {
		error_set(err, ERROR_PERM,
			  "user %s: uid %lu is not allowed (first_valid_uid = %u, last_valid_uid = %u)",
			  user, uid, set->first_valid_uid, set->last_valid_uid);
		return false;
	}
	return true;
}

/* Fills the user part of p (and policy, when not NULL) from the
 * key=value fields of auth's USER reply and applies the uid rules of
 * privileged mode. The strings live in pool. -1 with err (ERROR_PERM)
 * when the user may not get a process. */
static int user_params(pool_t *pool, const char *user, char **f, unsigned n,
		       struct mail_worker_params *p, struct user_policy *policy,
		       struct error *err)
{
	bool uid_set = false, gid_set = false;
	unsigned long uid = 0, gid = 0;
	struct user_policy ignored;
	if (policy == NULL)
		policy = &ignored;
	memset(policy, 0, sizeof(*policy));
	p->user = user;
	p->login_delay = M.set->login_delay / 1000u;
	if (M.set->mail_expire[0] != '\0')
		p->expire = strcasecmp(M.set->mail_expire, "never") == 0 ?
			"NEVER" : M.set->mail_expire;
	for (unsigned i = 0; i < n; i++) {
		char *eq = strchr(f[i], '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		const char *value = ipc_unescape(pool, eq + 1, NULL);
		if (value == NULL)
			continue;
		if (strcmp(f[i], "uid") == 0) {
			uid = strtoul(value, NULL, 10);
			uid_set = true;
		} else if (strcmp(f[i], "gid") == 0) {
			gid = strtoul(value, NULL, 10);
			gid_set = true;
		} else if (strcmp(f[i], "home") == 0) {
			p->home = value;
		} else if (strcmp(f[i], "mail") == 0) {
			p->mail = value;
		} else if (policy_field(user, f[i], value, p, policy, err) < 0) {
			return -1;
		}
	}
	if (!policy->sessions_max_set)
		policy->sessions_max = M.set->mail_sessions_per_user_max;
	if (M.privileged) {
		if (!uid_set || !gid_set) {
			error_set(err, ERROR_PERM,
				  "user %s: the userdb gave no %s; cannot start a mail worker as root",
				  user, uid_set ? "gid" : "uid");
			return -1;
		}
		if (!uid_allowed(uid, user, err))
			return -1;
		if (gid == 0) {
			error_set(err, ERROR_PERM, "user %s: gid 0 is not allowed", user);
			return -1;
		}
	}
	p->set = M.set;
	p->privileged = M.privileged;
	p->uid = (uid_t)uid;
	p->gid = (gid_t)gid;
	p->master_fd = -1;
	return 0;
}

/* See the protocol comment at the top: the refusal goes to the client on
 * the connection itself, after the replies the login had not sent yet. */
static void handover_refuse(struct handover *h, const char *user, bool temp,
			    const char *code, const char *text)
{
	struct log_context ctx = { .session_id = h->session, .user = user,
				   .remote = h->rip };
	log_msg(LOG_LEVEL_INFO, &ctx, "Session refused: [%s] %s", code, text);
	if (temp)
		metrics_counters.handovers_refused_temp++;
	else
		metrics_counters.handovers_refused_perm++;
	struct buffer out;
	buffer_init(&out);
	buffer_append(&out, h->output, h->output_len);
	buffer_printf(&out, "-ERR [%s] %s\r\n", code, text);
	/* A fresh connection's socket buffer takes one short line; a client
	 * that filled it has lost its answer anyway. */
	ssize_t ignored = send(h->fd, out.data, out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)ignored;
	buffer_free(&out);
	handover_reply(h, "OK");
	handover_free(h);
}

/* nologin's reason as one safe line: printable ASCII only, bounded. */
static const char *refusal_reason(pool_t *pool, const char *reason)
{
	if (reason == NULL || reason[0] == '\0')
		return "This account cannot log in; contact the administrator.";
	size_t len = strlen(reason);
	if (len > REFUSAL_REASON_MAX)
		len = REFUSAL_REASON_MAX;
	char *out = pool_strndup(pool, reason, len);
	for (char *c = out; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	}
	return out;
}

/* The master's own verdicts on a session auth accepted; true when it was
 * refused (and h freed). */
static bool handover_refused(struct handover *h, const char *user,
			     const struct mail_worker_params *p,
			     const struct user_policy *policy)
{
	if (policy->nologin) {
		handover_refuse(h, user, false, "SYS/PERM",
				refusal_reason(h->pool, policy->reason));
		return true;
	}
	/* Before the limits: a login this soon is refused whether or not the
	 * earlier session still runs. */
	unsigned wait = login_history_wait(user, p->login_delay, event_loop_now(M.loop));
	if (wait > 0) {
		handover_refuse(h, user, true, "LOGIN-DELAY", pool_printf(h->pool,
			"Logged in too recently: the minimum time between logins is %u seconds, try again in %u.",
			p->login_delay, wait));
		return true;
	}
	/* [SYS/TEMP] (RFC 3206): the address, not the account, is at its
	 * limit, and it clears when other sessions end. */
	unsigned ip_max = M.set->mail_sessions_per_ip_max;
	if (ip_max > 0 && session_table_count_ip(h->rip) >= ip_max) {
		handover_refuse(h, user, true, "SYS/TEMP", pool_printf(h->pool,
			"Too many sessions from your address (mail_sessions_per_ip_max=%u), try again later.",
			ip_max));
		return true;
	}
	/* [IN-USE] (RFC 2449 §8.1.2): the account's sessions are what is in
	 * the way, as with the mailbox lock. */
	if (policy->sessions_max > 0 &&
	    session_table_count_user(user) >= policy->sessions_max) {
		handover_refuse(h, user, true, "IN-USE", pool_printf(h->pool,
			"Too many sessions for this account (limit %u), close one and try again.",
			policy->sessions_max));
		return true;
	}
	return false;
}

/* Gives the session to a worker of its uid/gid with room, else to a new
 * one; NULL when neither works. In a just-forked child it returns NULL
 * too, after arranging the child's role. */
static struct worker_proc *hand_over(struct handover *h,
				     const struct mail_worker_params *p,
				     const struct buffer *msg)
{
	/* A worker whose queue is full is stuck in a long storage call
	 * (a huge mailbox): the session is better off in a new process. */
	struct worker_proc *w = worker_pool_find(p->uid, p->gid);
	if (w != NULL && worker_pool_hand_over(w, h->fd, msg->data, msg->len) == 0)
		return w;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		return NULL;
	}
	pid_t pid = fork_child();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		M.child->role = CHILD_ROLE_MAIL;
		M.child->mail = *p;
		M.child->mail.master_fd = sv[1];
		keep_fd(sv[1]);
		return NULL;
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	w = worker_pool_add(pid, sv[0], p->uid, p->gid);
	/* A new channel's buffer takes one session message. */
	if (worker_pool_hand_over(w, h->fd, msg->data, msg->len) < 0) {
		log_error("Handing a session to new mail worker %ld failed: %s",
			  (long)pid, strerror(errno));
		worker_pool_abandon(w);
		return NULL;
	}
	return w;
}

static void start_worker(struct handover *h, char **f, unsigned n)
{
	struct mail_worker_params p;
	struct user_policy policy;
	struct error err;
	memset(&p, 0, sizeof(p));
	const char *user = ipc_unescape(h->pool, f[2], NULL);
	if (user == NULL) {
		handover_reply(h, "TEMP");
		handover_free(h);
		return;
	}
	if (user_params(h->pool, user, f + 3, n - 3, &p, &policy, &err) < 0) {
		log_error("%s", err.message);
		handover_reply(h, "PERM");
		handover_free(h);
		return;
	}
	if (handover_refused(h, user, &p, &policy))
		return;
	if (session_table_count() >= M.set->mail_process_limit) {
		log_error("mail_process_limit (%u) reached: refusing the session of %s",
			  M.set->mail_process_limit, p.user);
		handover_reply(h, "TEMP");
		handover_free(h);
		return;
	}
	p.debug = debug_users_has(user);
	p.protocol = h->protocol;
	p.session_id = h->session;
	p.remote_ip = h->rip;
	p.tls = h->tls;
	p.input = h->input;
	p.input_len = h->input_len;
	p.output = h->output;
	p.output_len = h->output_len;
	struct buffer msg;
	buffer_init(&msg);
	mail_worker_session_message(&msg, &p);
	struct worker_proc *w = msg.len <= MAIL_WORKER_SESSION_MESSAGE_MAX ?
		hand_over(h, &p, &msg) : NULL;
	memset(msg.data, 0, msg.len);   /* the input may hold a password */
	buffer_free(&msg);
	if (M.became_child)
		return;
	if (w == NULL) {
		handover_reply(h, "TEMP");
		handover_free(h);
		return;
	}
	session_table_add(w, user, h->rip, h->session, h->tls);
	login_history_record(user, p.login_delay, event_loop_now(M.loop));
	handover_reply(h, "OK");
	handover_free(h);
}

static void handover_auth_reply(void *context, char **f, unsigned n)
{
	struct handover *h = context;
	h->rid = 0;
	if (f != NULL && strcmp(f[0], "USER") == 0 && n >= 3) {
		start_worker(h, f, n);
		return;
	}
	if (f != NULL)
		log_warning("Hand-over cookie was not accepted by auth (session %s)", h->session);
	handover_reply(h, "TEMP");
	handover_free(h);
}

/* ---- mailbox status children ---- */

static void status_child_finish(struct status_child *c, const char *result)
{
	for (struct status_child **p = &M.status_children; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	event_io_remove(c->io);
	event_timer_remove(c->timer);
	if (c->fd >= 0)
		close(c->fd);
	c->callback(c->context, result);
	buffer_free(&c->reply);
	free(c);
}

static void status_child_input(void *context, unsigned revents)
{
	struct status_child *c = context;
	char buf[MAILBOX_STATUS_REPLY_MAX];
	ssize_t n = read(c->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0 && c->reply.len + (size_t)n <= MAILBOX_STATUS_REPLY_MAX) {
		buffer_append(&c->reply, buf, (size_t)n);
		return;
	}
	/* EOF (or too much): the answer is complete, or there is none. */
	char *nl = c->reply.len > 0 ? memchr(c->reply.data, '\n', c->reply.len) : NULL;
	if (nl == NULL) {
		status_child_finish(c, "FAIL\ttemp\tthe mailbox status process gave no answer");
		return;
	}
	*nl = '\0';
	status_child_finish(c, c->reply.data);
}

static void status_child_timeout(void *context)
{
	struct status_child *c = context;
	c->timer = NULL;
	kill(c->pid, SIGKILL);
	status_child_finish(c, "FAIL\ttemp\tthe mailbox status process did not answer in time");
}

int master_mailbox_status(const char *user, char **fields, unsigned count,
			  master_status_callback *callback, void *context,
			  struct error *err)
{
	pool_t *pool = pool_create();
	struct mail_worker_params p;
	memset(&p, 0, sizeof(p));
	if (user_params(pool, pool_strdup(pool, user), fields, count, &p, NULL, err) < 0) {
		pool_destroy(pool);
		return -1;
	}
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		error_set_errno(err, "pipe");
		pool_destroy(pool);
		return -1;
	}
	p.protocol = "";
	p.session_id = "status";
	p.remote_ip = "";
	pid_t pid = fork_child();
	if (pid < 0) {
		error_set(err, ERROR_TEMP, "fork failed");
		close(pipefd[0]);
		close(pipefd[1]);
		pool_destroy(pool);
		return -1;
	}
	if (pid == 0) {
		M.child->role = CHILD_ROLE_MAILBOX_STATUS;
		M.child->mail = p;       /* pool stays alive in the child */
		M.child->status_fd = pipefd[1];
		keep_fd(pipefd[1]);
		return 0;
	}
	pool_destroy(pool);
	close(pipefd[1]);
	fcntl(pipefd[0], F_SETFL, fcntl(pipefd[0], F_GETFL) | O_NONBLOCK);
	struct status_child *c = xmalloc(sizeof(*c));
	c->pid = pid;
	c->fd = pipefd[0];
	buffer_init(&c->reply);
	c->callback = callback;
	c->context = context;
	c->io = event_io_add(M.loop, c->fd, EVENT_IN, false, status_child_input, c);
	c->timer = event_timer_add(M.loop, MAILBOX_STATUS_TIMEOUT_MS, status_child_timeout, c);
	c->next = M.status_children;
	M.status_children = c;
	return 0;
}

/* ---- login processes ---- */

static void login_handle_handover(struct login_proc *lp, char *msg, size_t len, int fd)
{
	char *f[HANDOVER_FIELDS_MAX];
	msg[len] = '\0';
	unsigned n = ipc_split(msg, f, HANDOVER_FIELDS_MAX);
	if (n < 9 || strcmp(f[0], "HANDOVER") != 0 || fd < 0) {
		log_error("Malformed message from login process %ld", (long)lp->pid);
		if (fd >= 0)
			close(fd);
		return;
	}
	pool_t *pool = pool_create();
	struct handover *h = pool_alloc(pool, sizeof(*h));
	h->pool = pool;
	h->login = lp;
	h->fd = fd;
	h->hid = pool_strdup(pool, f[1]);
	h->protocol = pool_strdup(pool, f[3]);
	h->session = pool_strdup(pool, f[4]);
	h->rip = ipc_unescape(pool, f[5], NULL);
	h->tls = strcmp(f[6], "1") == 0;
	h->input = ipc_unescape(pool, f[7], &h->input_len);
	h->output = ipc_unescape(pool, f[8], &h->output_len);
	char *cookie = ipc_unescape(pool, f[2], NULL);
	h->next = M.handovers;
	M.handovers = h;
	if (h->rip == NULL || h->input == NULL || h->output == NULL || cookie == NULL) {
		handover_reply(h, "TEMP");
		handover_free(h);
		return;
	}
	const char *args[] = { cookie };
	h->rid = auth_client_request("REQUEST", args, 1, handover_auth_reply, h);
}

static void login_input(void *context, unsigned revents)
{
	struct login_proc *lp = context;
	char *buf = xmalloc(HANDOVER_MESSAGE_MAX + 1);
	int fd;
	ssize_t n = fd_recv(lp->fd, &fd, buf, HANDOVER_MESSAGE_MAX);
	if (n >= 6 && fd < 0 && memcmp(buf, "STATS\t", 6) == 0) {
		if (login_stats_report(lp->pid, buf, (size_t)n) < 0)
			log_error("Malformed statistics from login process %ld", (long)lp->pid);
	} else if (n > 0)
		login_handle_handover(lp, buf, (size_t)n, fd);
	else if (n < 0 && errno == EMSGSIZE)
		log_error("Oversized message from login process %ld ignored", (long)lp->pid);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* The login process is gone (SIGCHLD does the rest). */
		event_io_remove(lp->io);
		lp->io = NULL;
	}
	free(buf);
}

static void spawn_login(void *context)
{
	unsigned slot = (unsigned)(uintptr_t)context;
	M.login_timer[slot] = NULL;
	spawn_login_slot(slot);
}

static void retry_login_slot(unsigned slot)
{
	M.login_timer[slot] = event_timer_add(M.loop, RESTART_DELAY_MIN_MS,
					      spawn_login, (void *)(uintptr_t)slot);
}

/* Forks a key process; returns the login process's end of their socket
 * with *key_r, or -1 (in the new child too, which has its role then). */
static int spawn_key(struct key_proc **key_r)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork_child();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		M.child->role = CHILD_ROLE_KEY;
		M.child->key.set = M.set;
		M.child->key.login_fd = sv[0];
		M.child->key.privileged = M.privileged;
		keep_fd(sv[0]);
		return -1;
	}
	close(sv[0]);
	struct key_proc *key = xmalloc(sizeof(*key));
	key->pid = pid;
	key->login = NULL;
	key->next = M.keys;
	M.keys = key;
	*key_r = key;
	return sv[1];
}

static void spawn_login_slot(unsigned slot)
{
	if (M.stopping)
		return;
	/* The key process first: the login process starts by waiting for
	 * its hello. If the login process cannot follow, closing key_fd
	 * leaves the key process at EOF, and it exits. */
	struct key_proc *key = NULL;
	int key_fd = -1;
	if (M.set->ssl != SSL_MODE_NO) {
		key_fd = spawn_key(&key);
		if (M.became_child)
			return;
		if (key_fd < 0) {
			retry_login_slot(slot);
			return;
		}
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		if (key_fd >= 0)
			close(key_fd);
		retry_login_slot(slot);
		return;
	}
	pid_t pid = fork_child();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		if (key_fd >= 0)
			close(key_fd);
		retry_login_slot(slot);
		return;
	}
	if (pid == 0) {
		struct login_listener_fd *lf = xmalloc(sizeof(*lf) * (M.listeners.count + 1));
		for (unsigned i = 0; i < M.listeners.count; i++) {
			lf[i].fd = M.listeners.items[i].fd;
			lf[i].tls = M.listeners.items[i].tls;
			lf[i].protocol = M.listeners.items[i].protocol;
			lf[i].name = M.listeners.items[i].name;
			keep_fd(lf[i].fd);
		}
		M.child->role = CHILD_ROLE_LOGIN;
		M.child->login.set = M.set;
		M.child->login.listeners = lf;
		M.child->login.listeners_count = M.listeners.count;
		M.child->login.master_fd = sv[1];
		M.child->login.tls_key_fd = key_fd;
		M.child->login.privileged = M.privileged;
		keep_fd(sv[1]);
		keep_fd(key_fd);
		return;
	}
	close(sv[1]);
	if (key_fd >= 0)
		close(key_fd);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	struct login_proc *lp = xmalloc(sizeof(*lp));
	lp->pid = pid;
	lp->fd = sv[0];
	lp->slot = (int)slot;
	lp->started = event_loop_now(M.loop);
	lp->io = event_io_add(M.loop, lp->fd, EVENT_IN, false, login_input, lp);
	lp->key = key;
	if (key != NULL)
		key->login = lp;
	lp->next = M.logins;
	M.logins = lp;
}

static void retire_logins(void)
{
	for (struct login_proc *lp = M.logins; lp != NULL; lp = lp->next) {
		if (lp->slot >= 0) {
			lp->slot = -1;
			kill(lp->pid, SIGUSR1);
		}
	}
}

/* ---- children exiting ---- */

static unsigned next_delay(unsigned delay, uint64_t started)
{
	if (event_loop_now(M.loop) - started >= CHILD_STABLE_MS)
		return 0;
	if (delay == 0)
		return RESTART_DELAY_MIN_MS;
	return delay * 2 > RESTART_DELAY_MAX_MS ? RESTART_DELAY_MAX_MS : delay * 2;
}

static void describe_status(int status, char *out, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(out, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(out, size, "exit status %d", WEXITSTATUS(status));
}

static bool abnormal(int status)
{
	return WIFSIGNALED(status) || WEXITSTATUS(status) != 0;
}

static unsigned children_alive(void)
{
	unsigned n = worker_pool_count() + (M.auth_pid > 0 ? 1 : 0);
	for (struct login_proc *lp = M.logins; lp != NULL; lp = lp->next)
		n++;
	for (struct key_proc *key = M.keys; key != NULL; key = key->next)
		n++;
	for (struct status_child *c = M.status_children; c != NULL; c = c->next)
		n++;
	return n;
}

/* A new login process (and key process) for slot, after the back-off. */
static void restart_login_slot(unsigned slot, uint64_t started)
{
	M.login_delay[slot] = next_delay(M.login_delay[slot], started);
	metrics_counters.restarts[METRICS_PROCESS_LOGIN]++;
	if (slot < M.login_slots)
		M.login_timer[slot] = event_timer_add(M.loop, M.login_delay[slot],
						      spawn_login, (void *)(uintptr_t)slot);
}

static void reap_key(struct key_proc *key, int status)
{
	for (struct key_proc **p = &M.keys; *p != NULL; p = &(*p)->next) {
		if (*p == key) {
			*p = key->next;
			break;
		}
	}
	struct login_proc *lp = key->login;
	char how[64];
	describe_status(status, how, sizeof(how));
	if (lp != NULL && lp->slot >= 0 && !M.stopping) {
		/* Its login process can no longer sign: the slot gets a new
		 * pair. The old login process is retired, not killed: the TLS
		 * sessions it relays need no more signatures and go on. */
		unsigned slot = (unsigned)lp->slot;
		lp->slot = -1;
		kill(lp->pid, SIGUSR1);
		restart_login_slot(slot, lp->started);
		log_error("TLS key process %ld of login process %ld %s; replacing both in %u ms",
			  (long)key->pid, (long)lp->pid, how, M.login_delay[slot]);
	} else if (lp != NULL && abnormal(status)) {
		log_warning("TLS key process %ld of login process %ld %s",
			    (long)key->pid, (long)lp->pid, how);
	}
	if (lp != NULL)
		lp->key = NULL;
	free(key);
}

static void reap_login(struct login_proc *lp, int status)
{
	char how[64];
	describe_status(status, how, sizeof(how));
	login_stats_exited(lp->pid);
	for (struct login_proc **p = &M.logins; *p != NULL; p = &(*p)->next) {
		if (*p == lp) {
			*p = lp->next;
			break;
		}
	}
	for (struct handover *h = M.handovers; h != NULL; h = h->next) {
		if (h->login == lp)
			h->login = NULL;
	}
	event_io_remove(lp->io);
	close(lp->fd);
	if (lp->key != NULL) {
		/* It is at EOF and exits by itself; this is for one that is
		 * stuck in a signature. */
		lp->key->login = NULL;
		kill(lp->key->pid, SIGTERM);
	}
	if (abnormal(status))
		metrics_counters.abnormal_exits[METRICS_PROCESS_LOGIN]++;
	if (lp->slot >= 0 && !M.stopping) {
		unsigned slot = (unsigned)lp->slot;
		restart_login_slot(slot, lp->started);
		log_error("login process %ld %s; restarting in %u ms", (long)lp->pid, how,
			  M.login_delay[slot]);
	} else if (abnormal(status)) {
		log_warning("login process %ld %s", (long)lp->pid, how);
	}
	free(lp);
}

static void reap_auth(pid_t pid, int status)
{
	char how[64];
	describe_status(status, how, sizeof(how));
	M.auth_pid = 0;
	metrics_auth_exited();
	if (abnormal(status) && !M.auth_expected_exit)
		metrics_counters.abnormal_exits[METRICS_PROCESS_AUTH]++;
	if (M.stopping)
		return;
	M.auth_delay = M.auth_expected_exit ? 0 : next_delay(M.auth_delay, M.auth_started);
	if (!M.auth_expected_exit) {
		log_error("auth process %ld %s; restarting in %u ms", (long)pid, how, M.auth_delay);
		metrics_counters.restarts[METRICS_PROCESS_AUTH]++;
	}
	M.auth_timer = event_timer_add(M.loop, M.auth_delay, spawn_auth, NULL);
}

static void on_child(void *context, int signo)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == M.auth_pid) {
			reap_auth(pid, status);
			continue;
		}
		bool found = false;
		/* reap_*() free the entry: leave each loop before its
		 * next step reads it. */
		for (struct login_proc *lp = M.logins; lp != NULL; lp = lp->next) {
			if (lp->pid == pid) {
				reap_login(lp, status);
				found = true;
				break;
			}
		}
		for (struct key_proc *key = M.keys; key != NULL && !found; key = key->next) {
			if (key->pid == pid) {
				reap_key(key, status);
				found = true;
				break;
			}
		}
		if (!found && worker_pool_exited(pid, abnormal(status)) && abnormal(status)) {
			char how[64];
			describe_status(status, how, sizeof(how));
			log_warning("mail worker %ld %s", (long)pid, how);
			metrics_counters.abnormal_exits[METRICS_PROCESS_MAIL]++;
		}
		/* Anything else was a mailbox status child: its pipe's EOF
		 * already told (or will tell) the result. */
	}
	if (M.stopping && children_alive() == 0)
		event_loop_stop(M.loop);
}

/* ---- reload and stop ---- */

/* The name of setting index i in SETTINGS_LOG_FACILITIES. */
static void facility_name(unsigned index, char *out, size_t size)
{
	const char *p = SETTINGS_LOG_FACILITIES;
	for (unsigned i = 0; i < index && strchr(p, '|') != NULL; i++)
		p = strchr(p, '|') + 1;
	size_t len = strcspn(p, "|");
	snprintf(out, size, "%.*s", (int)(len < size ? len : size - 1), p);
}

void master_apply_log_facility(const struct roost_settings *set)
{
	char name[16];
	facility_name(set->log_facility, name, sizeof(name));
	log_set_facility(name);
}

int master_reload(struct error *err)
{
	pool_t *pool = pool_create();
	struct roost_settings *ns = settings_load(pool, M.opts->config_path, err);
	if (ns == NULL || settings_check_modules(ns, pool, err) < 0)
		goto failed;
	if (ns->ssl != SSL_MODE_NO &&
	    tls_key_server_check(ns->ssl_cert, ns->ssl_key, err) < 0)
		goto failed;
	if (strcmp(ns->base_dir, M.set->base_dir) != 0) {
		log_warning("base_dir changed; this takes effect only after a restart");
		ns->base_dir = pool_strdup(pool, M.set->base_dir);
	}
	if (metrics_http_configure(ns->metrics_listen, err) < 0)
		goto failed;
	struct listener_set nl;
	if (listeners_open(ns, &M.listeners, &nl, err) < 0) {
		metrics_http_configure(M.set->metrics_listen, err);
		goto failed;
	}
	listeners_close(&M.listeners);
	M.listeners = nl;
	pool_destroy(M.set_pool);
	M.set = ns;
	M.set_pool = pool;
	log_set_debug(ns->log_debug);
	master_apply_log_facility(ns);
	worker_pool_configure(ns->mail_worker_client_limit);
	worker_pool_retire_all();
	metrics_counters.reloads_ok++;

	retire_logins();
	for (unsigned i = 0; i < M.login_slots; i++) {
		event_timer_remove(M.login_timer[i]);
		M.login_timer[i] = NULL;
	}
	M.login_slots = ns->login_processes > LOGIN_PROCESSES_MAX ? LOGIN_PROCESSES_MAX : ns->login_processes;
	for (unsigned i = 0; i < M.login_slots && !M.became_child; i++) {
		M.login_delay[i] = 0;
		spawn_login_slot(i);
	}
	if (M.became_child)
		return 0;
	if (M.auth_pid > 0) {
		M.auth_expected_exit = true;
		auth_client_expect_close();
		kill(M.auth_pid, SIGTERM);
	}
	log_info("Configuration reloaded from %s", M.opts->config_path);
	return 0;

failed:
	metrics_counters.reloads_failed++;
	log_error("Reload failed, the running configuration stays in force: %s", err->message);
	pool_destroy(pool);
	return -1;
}

static void on_hup(void *context, int signo)
{
	struct error err;
	if (!M.stopping)
		(void)master_reload(&err);
}

static void kill_everything(void *context)
{
	M.kill_timer = NULL;
	log_warning("Children still running after %d ms; killing them", SHUTDOWN_GRACE_MS);
	if (M.auth_pid > 0)
		kill(M.auth_pid, SIGKILL);
	for (struct login_proc *lp = M.logins; lp != NULL; lp = lp->next)
		kill(lp->pid, SIGKILL);
	for (struct key_proc *key = M.keys; key != NULL; key = key->next)
		kill(key->pid, SIGKILL);
	for (struct status_child *c = M.status_children; c != NULL; c = c->next)
		kill(c->pid, SIGKILL);
	worker_pool_signal_all(SIGKILL);
}

void master_stop(void)
{
	if (M.stopping)
		return;
	M.stopping = true;
	if (M.auth_pid > 0)
		kill(M.auth_pid, SIGTERM);
	for (struct login_proc *lp = M.logins; lp != NULL; lp = lp->next)
		kill(lp->pid, SIGTERM);
	for (struct status_child *c = M.status_children; c != NULL; c = c->next)
		kill(c->pid, SIGTERM);
	worker_pool_signal_all(SIGTERM);
	event_timer_remove(M.auth_timer);
	M.auth_timer = NULL;
	event_timer_remove(M.stats_timer);
	M.stats_timer = NULL;
	for (unsigned i = 0; i < LOGIN_PROCESSES_MAX; i++) {
		event_timer_remove(M.login_timer[i]);
		M.login_timer[i] = NULL;
	}
	if (children_alive() == 0)
		event_loop_stop(M.loop);
	else
		M.kill_timer = event_timer_add(M.loop, SHUTDOWN_GRACE_MS, kill_everything, NULL);
}

static void on_terminate(void *context, int signo)
{
	if (M.stopping)
		return;
	log_info("Stopping (signal %d)", signo);
	master_stop();
}

bool master_became_child(void)
{
	return M.became_child;
}

/* ---- setup ---- */

static int make_dir(const char *path, mode_t mode, struct error *err)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		error_set_errno(err, "mkdir(%s)", path);
		return -1;
	}
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		error_set(err, ERROR_PERM, "%s is not a directory", path);
		return -1;
	}
	return 0;
}

static int bind_unix(const char *path, mode_t mode, struct error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		error_set(err, ERROR_INVALID, "socket path too long: %s (shorten base_dir)", path);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* Created with the final mode, so there is no moment in which
	 * anybody else could connect. */
	mode_t old_umask = umask(0777 & ~mode);
	int ret = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (ret < 0 || chmod(path, mode) < 0 || listen(fd, 128) < 0) {
		error_set_errno(err, "cannot create socket %s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int setup_runtime(struct error *err)
{
	char path[4096];
	if (make_dir(M.set->base_dir, 0755, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/login", M.set->base_dir);
	if (make_dir(path, 0755, err) < 0)
		return -1;
	snprintf(M.auth_login_path, sizeof(M.auth_login_path), "%s/login/auth", M.set->base_dir);
	snprintf(M.auth_master_path, sizeof(M.auth_master_path), "%s/auth-master", M.set->base_dir);
	snprintf(M.control_path, sizeof(M.control_path), "%s/control", M.set->base_dir);
	/* Login processes (their own user, chrooted) must reach auth; only
	 * the master may redeem cookies. */
	M.auth_login_fd = bind_unix(M.auth_login_path, 0666, err);
	if (M.auth_login_fd < 0)
		return -1;
	M.auth_master_fd = bind_unix(M.auth_master_path, 0600, err);
	if (M.auth_master_fd < 0)
		return -1;
	/* roostctl: only our own user (root, or the server's user in
	 * unprivileged mode); control.c checks the peer's uid as well. */
	M.control_fd = bind_unix(M.control_path, 0600, err);
	if (M.control_fd < 0)
		return -1;
	return 0;
}

static void master_cleanup(void)
{
	/* Normally all reaped by now (children_alive() counts them). */
	while (M.keys != NULL) {
		struct key_proc *key = M.keys;
		M.keys = key->next;
		free(key);
	}
	while (M.handovers != NULL)
		handover_free(M.handovers);
	while (M.status_children != NULL)
		status_child_finish(M.status_children, "FAIL\ttemp\tthe server is stopping");
	control_deinit();
	metrics_http_deinit();
	auth_client_deinit();
	worker_pool_deinit();
	session_table_deinit();
	login_history_clear();
	debug_users_clear();
	listeners_close(&M.listeners);
	if (M.auth_login_fd >= 0)
		close(M.auth_login_fd);
	if (M.auth_master_fd >= 0)
		close(M.auth_master_fd);
	unlink(M.auth_login_path);
	unlink(M.auth_master_path);
	unlink(M.control_path);
	event_loop_destroy(M.loop);
	M.loop = NULL;
}

enum master_result master_run(const struct master_options *opts,
			      struct roost_settings *set, pool_t *set_pool,
			      struct child_start *child_r)
{
	struct error err;
	memset(&M, 0, sizeof(M));
	M.opts = opts;
	M.set = set;
	M.set_pool = set_pool;
	M.child = child_r;
	M.auth_login_fd = M.auth_master_fd = M.control_fd = -1;
	M.privileged = geteuid() == 0;
	metrics_init();
	if (!M.privileged)
		log_info("Running unprivileged as uid %ld: all processes share this user, "
			 "no chroot and no privilege separation", (long)geteuid());

	/* As root, before any child: a key that does not load is a
	 * configuration error, not key processes that keep failing. */
	if (set->ssl != SSL_MODE_NO &&
	    tls_key_server_check(set->ssl_cert, set->ssl_key, &err) < 0) {
		log_error("%s", err.message);
		return MASTER_FAILED;
	}
	if (setup_runtime(&err) < 0 || listeners_open(set, NULL, &M.listeners, &err) < 0) {
		log_error("%s", err.message);
		return MASTER_FAILED;
	}
	M.loop = event_loop_create();
	auth_client_init(M.loop, M.auth_master_path);
	session_table_init();
	worker_pool_init(M.loop);
	worker_pool_configure(set->mail_worker_client_limit);
	control_init(M.loop, M.control_fd);
	metrics_http_init(M.loop);
	if (metrics_http_configure(set->metrics_listen, &err) < 0) {
		log_error("%s", err.message);
		master_cleanup();
		return MASTER_FAILED;
	}
	event_signal_add(M.loop, SIGCHLD, on_child, NULL);
	event_signal_add(M.loop, SIGTERM, on_terminate, NULL);
	event_signal_add(M.loop, SIGINT, on_terminate, NULL);
	event_signal_add(M.loop, SIGHUP, on_hup, NULL);

	for (unsigned i = 0; i < M.listeners.count; i++)
		log_info("Listening on %s port %u (%s%s)", M.listeners.items[i].address,
			 M.listeners.items[i].port, M.listeners.items[i].protocol,
			 M.listeners.items[i].tls ? ", TLS" : "");
	/* Before the first login process forks, so all of them share it. */
	if (set->ssl != SSL_MODE_NO && tls_ticket_key_init(&err) < 0)
		log_error("%s; TLS sessions will not resume", err.message);
	spawn_auth(NULL);
	M.login_slots = set->login_processes > LOGIN_PROCESSES_MAX ? LOGIN_PROCESSES_MAX : set->login_processes;
	for (unsigned i = 0; i < M.login_slots && !M.became_child; i++)
		spawn_login_slot(i);
	if (!M.became_child) {
		M.stats_timer = event_timer_add(M.loop, AUTH_STATS_POLL_MS, stats_poll, NULL);
		if (opts->ready_fd >= 0) {
			ssize_t ignored = write(opts->ready_fd, "1", 1);
			(void)ignored;
			close(opts->ready_fd);
		}
		event_loop_run(M.loop);
	}

	if (M.became_child) {
		/* Now a child: drop everything of the master's but the fds
		 * this role keeps. Master memory is left as it is. */
		event_loop_destroy(M.loop);
		M.loop = NULL;
		log_deinit();   /* main() opens the log again for the new role */
		close_inherited_fds();
		return MASTER_BECAME_CHILD;
	}
	master_cleanup();
	log_info("Stopped");
	return MASTER_STOPPED;
}
