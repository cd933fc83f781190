/*
 * The master process; see master.h.
 *
 * Messages (TAB-separated, escaped with ipc-escape):
 *   login -> master (SOCK_SEQPACKET, with the client fd):
 *       HANDOVER hid cookie protocol session rip tls input output
 *   master -> login: DONE hid OK|TEMP|PERM
 *   master -> auth (auth-master socket): REQUEST rid cookie
 *   auth -> master: USER rid user [uid=N] [gid=N] [home=P] [mail=L] | NOTFOUND rid
 */
#include "config.h"
#include "master.h"

#include "event-loop.h"
#include "fd-passing.h"
#include "ipc-escape.h"
#include "listeners.h"
#include "log.h"
#include "module-settings.h"
#include "stream.h"
#include "tls-context.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#define AUTH_REPLY_FIELDS_MAX 12
#define AUTH_REPLY_MAX (16 * 1024)
/* Login processes per config; more would only waste memory on 2-64 cores. */
#define LOGIN_PROCESSES_MAX 256
/* fds a child keeps from the master: listeners plus a few sockets. */
#define CHILD_KEEP_FDS_MAX 64

struct login_proc {
	struct login_proc *next;
	pid_t pid;
	int fd;                    /* our end of the SOCK_SEQPACKET pair */
	struct event_io *io;
	int slot;                  /* -1 once retired */
	uint64_t started;
};

struct handover {
	struct handover *next;
	pool_t *pool;
	unsigned rid;
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

struct worker {
	struct worker *next;
	pid_t pid;
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
	char auth_master_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char auth_login_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pid_t auth_pid;
	uint64_t auth_started;
	unsigned auth_delay;
	bool auth_expected_exit;
	struct event_timer *auth_timer;
	struct stream *auth;        /* our client connection */

	struct login_proc *logins;
	unsigned login_slots;
	unsigned login_delay[LOGIN_PROCESSES_MAX];
	struct event_timer *login_timer[LOGIN_PROCESSES_MAX];

	struct handover *handovers;
	unsigned next_rid;
	struct worker *workers;
	unsigned worker_count;

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

/* ---- talking to auth ---- */

static void handover_reply(struct handover *h, const char *result)
{
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
	if (h->fd >= 0)
		close(h->fd);
	if (h->input != NULL)
		memset(h->input, 0, h->input_len);   /* may hold a password */
	pool_destroy(h->pool);
}

static void auth_fail_all(void)
{
	while (M.handovers != NULL) {
		struct handover *h = M.handovers;
		handover_reply(h, "TEMP");
		handover_free(h);
	}
}

static void auth_closed(void *context, const char *reason)
{
	if (!M.stopping && !M.auth_expected_exit)
		log_warning("Connection to auth lost: %s", reason != NULL ? reason : "closed");
	stream_destroy(M.auth);
	M.auth = NULL;
	auth_fail_all();
}

static bool uid_allowed(unsigned long uid, const char *user)
{
	const struct roost_settings *set = M.set;
	if (uid == 0 || uid < set->first_valid_uid ||
	    (set->last_valid_uid != 0 && uid > set->last_valid_uid)) {
		log_error("user %s: uid %lu is not allowed (first_valid_uid = %u, last_valid_uid = %u)",
			  user, uid, set->first_valid_uid, set->last_valid_uid);
		return false;
	}
	return true;
}

static void start_worker(struct handover *h, char **f, unsigned n)
{
	struct mail_worker_params p;
	memset(&p, 0, sizeof(p));
	bool uid_set = false, gid_set = false;
	unsigned long uid = 0, gid = 0;
	p.user = ipc_unescape(h->pool, f[2], NULL);
	for (unsigned i = 3; i < n && p.user != NULL; i++) {
		char *eq = strchr(f[i], '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		const char *value = ipc_unescape(h->pool, eq + 1, NULL);
		if (value == NULL)
			continue;
		if (strcmp(f[i], "uid") == 0) {
			uid = strtoul(value, NULL, 10);
			uid_set = true;
		} else if (strcmp(f[i], "gid") == 0) {
			gid = strtoul(value, NULL, 10);
			gid_set = true;
		} else if (strcmp(f[i], "home") == 0) {
			p.home = value;
		} else if (strcmp(f[i], "mail") == 0) {
			p.mail = value;
		}
	}
	if (p.user == NULL) {
		handover_reply(h, "TEMP");
		handover_free(h);
		return;
	}
	if (M.privileged) {
		if (!uid_set || !gid_set) {
			log_error("user %s: the userdb gave no %s; cannot start a mail worker as root",
				  p.user, uid_set ? "gid" : "uid");
			handover_reply(h, "PERM");
			handover_free(h);
			return;
		}
		if (!uid_allowed(uid, p.user) || gid == 0) {
			if (gid == 0)
				log_error("user %s: gid 0 is not allowed", p.user);
			handover_reply(h, "PERM");
			handover_free(h);
			return;
		}
	}
	if (M.worker_count >= M.set->mail_process_limit) {
		log_error("mail_process_limit (%u) reached: refusing the session of %s",
			  M.set->mail_process_limit, p.user);
		handover_reply(h, "TEMP");
		handover_free(h);
		return;
	}
	p.set = M.set;
	p.privileged = M.privileged;
	p.uid = (uid_t)uid;
	p.gid = (gid_t)gid;
	p.client_fd = h->fd;
	p.protocol = h->protocol;
	p.session_id = h->session;
	p.remote_ip = h->rip;
	p.tls = h->tls;
	p.input = h->input;
	p.input_len = h->input_len;
	p.output = h->output;
	p.output_len = h->output_len;

	pid_t pid = fork_child();
	if (pid < 0) {
		handover_reply(h, "TEMP");
		handover_free(h);
		return;
	}
	if (pid == 0) {
		M.child->role = CHILD_ROLE_MAIL;
		M.child->mail = p;
		keep_fd(h->fd);
		return;
	}
	struct worker *w = xmalloc(sizeof(*w));
	w->pid = pid;
	w->next = M.workers;
	M.workers = w;
	M.worker_count++;
	handover_reply(h, "OK");
	handover_free(h);
}

static void auth_handle_line(char *line)
{
	char *f[AUTH_REPLY_FIELDS_MAX];
	unsigned n = ipc_split(line, f, AUTH_REPLY_FIELDS_MAX);
	if (n < 2)
		return;
	unsigned rid = (unsigned)strtoul(f[1], NULL, 10);
	struct handover *h = NULL;
	for (h = M.handovers; h != NULL && h->rid != rid; h = h->next)
		;
	if (h == NULL)
		return;
	if (strcmp(f[0], "USER") == 0 && n >= 3) {
		start_worker(h, f, n);
	} else {
		log_warning("Hand-over cookie was not accepted by auth (session %s)", h->session);
		handover_reply(h, "TEMP");
		handover_free(h);
	}
}

static void auth_input(void *context)
{
	char *line;
	while ((line = ipc_take_record(stream_input(M.auth))) != NULL) {
		auth_handle_line(line);
		ipc_record_free(line);
		if (M.became_child || M.auth == NULL)
			return;
	}
	stream_input_resume(M.auth);
}

static const struct stream_callbacks auth_callbacks = {
	.input = auth_input,
	.closed = auth_closed,
};

static bool auth_connect(void)
{
	if (M.auth != NULL)
		return true;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", M.auth_master_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_error("connect(%s): %s", M.auth_master_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	M.auth = stream_create(M.loop, fd, AUTH_REPLY_MAX, &auth_callbacks, NULL);
	return true;
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
	if (h->rip == NULL || h->input == NULL || h->output == NULL || cookie == NULL ||
	    !auth_connect()) {
		handover_reply(h, "TEMP");
		handover_free(h);
		return;
	}
	if (++M.next_rid == 0)
		M.next_rid = 1;
	h->rid = M.next_rid;
	struct buffer line;
	buffer_init(&line);
	buffer_printf(&line, "REQUEST\t%u\t", h->rid);
	ipc_escape_append(&line, cookie, strlen(cookie));
	buffer_append_str(&line, "\n");
	stream_write(M.auth, line.data, line.len);
	buffer_free(&line);
}

static void login_input(void *context, unsigned revents)
{
	struct login_proc *lp = context;
	char *buf = xmalloc(HANDOVER_MESSAGE_MAX + 1);
	int fd;
	ssize_t n = fd_recv(lp->fd, &fd, buf, HANDOVER_MESSAGE_MAX);
	if (n > 0)
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

static void spawn_login_slot(unsigned slot)
{
	if (M.stopping)
		return;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		return;
	}
	pid_t pid = fork_child();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		M.login_timer[slot] = event_timer_add(M.loop, RESTART_DELAY_MIN_MS,
						      spawn_login, (void *)(uintptr_t)slot);
		return;
	}
	if (pid == 0) {
		struct login_listener_fd *lf = xmalloc(sizeof(*lf) * (M.listeners.count + 1));
		for (unsigned i = 0; i < M.listeners.count; i++) {
			lf[i].fd = M.listeners.items[i].fd;
			lf[i].tls = M.listeners.items[i].tls;
			lf[i].protocol = M.listeners.items[i].protocol;
			keep_fd(lf[i].fd);
		}
		M.child->role = CHILD_ROLE_LOGIN;
		M.child->login.set = M.set;
		M.child->login.listeners = lf;
		M.child->login.listeners_count = M.listeners.count;
		M.child->login.master_fd = sv[1];
		M.child->login.privileged = M.privileged;
		keep_fd(sv[1]);
		return;
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	struct login_proc *lp = xmalloc(sizeof(*lp));
	lp->pid = pid;
	lp->fd = sv[0];
	lp->slot = (int)slot;
	lp->started = event_loop_now(M.loop);
	lp->io = event_io_add(M.loop, lp->fd, EVENT_IN, false, login_input, lp);
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

static unsigned children_alive(void)
{
	unsigned n = M.worker_count + (M.auth_pid > 0 ? 1 : 0);
	for (struct login_proc *lp = M.logins; lp != NULL; lp = lp->next)
		n++;
	return n;
}

static void reap_login(struct login_proc *lp, int status)
{
	char how[64];
	describe_status(status, how, sizeof(how));
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
	if (lp->slot >= 0 && !M.stopping) {
		unsigned slot = (unsigned)lp->slot;
		M.login_delay[slot] = next_delay(M.login_delay[slot], lp->started);
		log_error("login process %ld %s; restarting in %u ms", (long)lp->pid, how,
			  M.login_delay[slot]);
		if (slot < M.login_slots)
			M.login_timer[slot] = event_timer_add(M.loop, M.login_delay[slot],
							      spawn_login, (void *)(uintptr_t)slot);
	} else if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) {
		log_warning("login process %ld %s", (long)lp->pid, how);
	}
	free(lp);
}

static void on_child(void *context, int signo)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		char how[64];
		describe_status(status, how, sizeof(how));
		if (pid == M.auth_pid) {
			M.auth_pid = 0;
			if (M.stopping)
				continue;
			M.auth_delay = M.auth_expected_exit ? 0 : next_delay(M.auth_delay, M.auth_started);
			if (!M.auth_expected_exit)
				log_error("auth process %ld %s; restarting in %u ms", (long)pid, how, M.auth_delay);
			M.auth_timer = event_timer_add(M.loop, M.auth_delay, spawn_auth, NULL);
			continue;
		}
		bool found = false;
		for (struct login_proc *lp = M.logins; lp != NULL; lp = lp->next) {
			if (lp->pid == pid) {
				reap_login(lp, status);
				found = true;
				break;
			}
		}
		for (struct worker **p = &M.workers; !found && *p != NULL; p = &(*p)->next) {
			if ((*p)->pid == pid) {
				struct worker *w = *p;
				*p = w->next;
				free(w);
				M.worker_count--;
				found = true;
				if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)
					log_warning("mail worker %ld %s", (long)pid, how);
				break;   /* *p may now be NULL */
			}
		}
	}
	if (M.stopping && children_alive() == 0)
		event_loop_stop(M.loop);
}

/* ---- reload and stop ---- */

static void reload(void)
{
	struct error err;
	pool_t *pool = pool_create();
	struct roost_settings *ns = settings_load(pool, M.opts->config_path, &err);
	if (ns == NULL || settings_check_modules(ns, pool, &err) < 0) {
		log_error("Reload failed, the running configuration stays in force: %s", err.message);
		pool_destroy(pool);
		return;
	}
	if (strcmp(ns->base_dir, M.set->base_dir) != 0) {
		log_warning("base_dir changed; this takes effect only after a restart");
		ns->base_dir = pool_strdup(pool, M.set->base_dir);
	}
	struct listener_set nl;
	if (listeners_open(ns, &M.listeners, &nl, &err) < 0) {
		log_error("Reload failed, the running configuration stays in force: %s", err.message);
		pool_destroy(pool);
		return;
	}
	listeners_close(&M.listeners);
	M.listeners = nl;
	pool_destroy(M.set_pool);
	M.set = ns;
	M.set_pool = pool;
	log_set_debug(ns->log_debug);

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
		return;
	if (M.auth_pid > 0) {
		M.auth_expected_exit = true;
		kill(M.auth_pid, SIGTERM);
	}
	log_info("Configuration reloaded from %s", M.opts->config_path);
}

static void on_hup(void *context, int signo)
{
	if (!M.stopping)
		reload();
}

static void kill_everything(void *context)
{
	M.kill_timer = NULL;
	log_warning("Children still running after %d ms; killing them", SHUTDOWN_GRACE_MS);
	if (M.auth_pid > 0)
		kill(M.auth_pid, SIGKILL);
	for (struct login_proc *lp = M.logins; lp != NULL; lp = lp->next)
		kill(lp->pid, SIGKILL);
	for (struct worker *w = M.workers; w != NULL; w = w->next)
		kill(w->pid, SIGKILL);
}

static void on_terminate(void *context, int signo)
{
	if (M.stopping)
		return;
	log_info("Stopping (signal %d)", signo);
	M.stopping = true;
	if (M.auth_pid > 0)
		kill(M.auth_pid, SIGTERM);
	for (struct login_proc *lp = M.logins; lp != NULL; lp = lp->next)
		kill(lp->pid, SIGTERM);
	for (struct worker *w = M.workers; w != NULL; w = w->next)
		kill(w->pid, SIGTERM);
	event_timer_remove(M.auth_timer);
	M.auth_timer = NULL;
	for (unsigned i = 0; i < LOGIN_PROCESSES_MAX; i++) {
		event_timer_remove(M.login_timer[i]);
		M.login_timer[i] = NULL;
	}
	if (children_alive() == 0)
		event_loop_stop(M.loop);
	else
		M.kill_timer = event_timer_add(M.loop, SHUTDOWN_GRACE_MS, kill_everything, NULL);
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
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, mode) < 0 || listen(fd, 128) < 0) {
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
	/* Login processes (their own user, chrooted) must reach auth; only
	 * the master may redeem cookies. */
	M.auth_login_fd = bind_unix(M.auth_login_path, 0666, err);
	if (M.auth_login_fd < 0)
		return -1;
	M.auth_master_fd = bind_unix(M.auth_master_path, 0600, err);
	if (M.auth_master_fd < 0)
		return -1;
	return 0;
}

static void master_cleanup(void)
{
	while (M.handovers != NULL)
		handover_free(M.handovers);
	stream_destroy(M.auth);
	M.auth = NULL;
	listeners_close(&M.listeners);
	if (M.auth_login_fd >= 0)
		close(M.auth_login_fd);
	if (M.auth_master_fd >= 0)
		close(M.auth_master_fd);
	unlink(M.auth_login_path);
	unlink(M.auth_master_path);
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
	M.auth_login_fd = M.auth_master_fd = -1;
	M.privileged = geteuid() == 0;
	if (!M.privileged)
		log_info("Running unprivileged as uid %ld: all processes share this user, "
			 "no chroot and no privilege separation", (long)geteuid());

	if (setup_runtime(&err) < 0 || listeners_open(set, NULL, &M.listeners, &err) < 0) {
		log_error("%s", err.message);
		return MASTER_FAILED;
	}
	M.loop = event_loop_create();
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
