/* The auth worker pool, auth process side; see auth-worker.h. */
#include "config.h"
#include "auth-worker.h"

#include "auth-fields-ipc.h"
#include "ipc-escape.h"
#include "log.h"
#include "process-title.h"
#include "stream.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A reply carries a stored password and at most AUTH_FIELDS_IPC_MAX
 * fields of a few hundred bytes: 64 KiB is far beyond a sane one. */
#define AUTH_WORKER_LINE_MAX (64 * 1024)
/* Reply fields: RESULT code reason stored + the user fields. */
#define AUTH_WORKER_REPLY_FIELDS_MAX (AUTH_FIELDS_IPC_MAX + 4)
/* How often deadlines are checked; calls time out within a second of
 * AUTH_WORKER_CALL_TIMEOUT_MS. */
#define AUTH_WORKER_SWEEP_MS 1000
/* A worker that lived this long was healthy: restart the next one at
 * once. One that died sooner is restarted after a delay that doubles up
 * to the maximum, so a crash loop cannot spin. */
#define AUTH_WORKER_STABLE_MS 5000
#define AUTH_WORKER_RESTART_MIN_MS 100
#define AUTH_WORKER_RESTART_MAX_MS 10000
/* The settings' upper bound (settings.c) keeps this array small. */
#define AUTH_WORKER_SLOTS_MAX 64

struct auth_worker_call {
	struct auth_worker_call *prev, *next;   /* queue */
	enum auth_worker_op op;
	char *user;
	char *password;
	struct buffer fields;                   /* USERDB: escaped fields */
	pool_t *reply_pool;
	auth_worker_callback *callback;         /* NULL once aborted */
	void *context;
	uint64_t deadline;
	struct worker *worker;                  /* NULL while queued */
};

struct worker {
	unsigned slot;
	pid_t pid;
	struct stream *stream;
	bool ready;
	uint64_t started;
	uint64_t last_used;
	unsigned restart_delay;
	struct event_timer *restart;
	struct auth_worker_call *call;
};

static struct {
	struct event_loop *loop;
	const struct roost_settings *set;
	void (*fatal)(const char *message);
	struct worker workers[AUTH_WORKER_SLOTS_MAX];
	unsigned count;
	struct auth_worker_call *queue_head, *queue_tail;
	struct event_timer *sweep;
	struct event_signal *sigchld;
	bool any_ready;
	unsigned restarts;
	int child_fd;
} P = { .child_fd = -1 };

static void worker_spawn(struct worker *w);
static void dispatch(void);

/* ---- calls ---- */

static void call_free(struct auth_worker_call *call)
{
	if (call->password != NULL) {
		sodium_memzero(call->password, strlen(call->password));
		free(call->password);
	}
	free(call->user);
	buffer_free_secret(&call->fields);
	free(call);
}

static void queue_remove(struct auth_worker_call *call)
{
	if (call->prev != NULL)
		call->prev->next = call->next;
	else
		P.queue_head = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	else
		P.queue_tail = call->prev;
	call->prev = call->next = NULL;
}

static void call_finish(struct auth_worker_call *call,
			const struct auth_worker_reply *reply)
{
	if (call->callback != NULL)
		call->callback(call->context, reply);
	call_free(call);
}

static void call_fail_temp(struct auth_worker_call *call, const char *reason)
{
	struct auth_worker_reply reply;
	memset(&reply, 0, sizeof(reply));
	reply.result = PASSDB_INTERNAL_ERROR;
	reply.reason = reason;
	auth_user_fields_init(&reply.fields, NULL);
	call_finish(call, &reply);
}

struct auth_worker_call *auth_worker_call(enum auth_worker_op op,
					  const char *user,
					  const char *password,
					  const struct auth_user_fields *fields,
					  pool_t *reply_pool,
					  auth_worker_callback *callback,
					  void *context)
{
	struct auth_worker_call *call = xmalloc(sizeof(*call));
	call->op = op;
	call->user = xstrdup(user);
	call->password = password != NULL ? xstrdup(password) : NULL;
	buffer_init(&call->fields);
	if (fields != NULL)
		auth_fields_ipc_append(&call->fields, fields);
	call->reply_pool = reply_pool;
	call->callback = callback;
	call->context = context;
	call->deadline = event_loop_now(P.loop) + AUTH_WORKER_CALL_TIMEOUT_MS;
	call->prev = P.queue_tail;
	if (P.queue_tail != NULL)
		P.queue_tail->next = call;
	else
		P.queue_head = call;
	P.queue_tail = call;
	dispatch();
	return call;
}

void auth_worker_call_abort(struct auth_worker_call *call)
{
	if (call->worker != NULL) {
		/* The worker is busy with it: drop the answer when it comes. */
		call->callback = NULL;
		return;
	}
	queue_remove(call);
	call_free(call);
}

/* ---- talking to workers ---- */

static void worker_send(struct worker *w, struct auth_worker_call *call)
{
	static const char *const ops[] = {
		[AUTH_WORKER_VERIFY] = "VERIFY",
		[AUTH_WORKER_CREDENTIALS] = "CREDENTIALS",
		[AUTH_WORKER_USERDB] = "USERDB",
	};
	struct buffer line;
	buffer_init(&line);
	buffer_printf(&line, "%s\t", ops[call->op]);
	ipc_escape_append(&line, call->user, strlen(call->user));
	if (call->op == AUTH_WORKER_VERIFY) {
		buffer_append_str(&line, "\t");
		ipc_escape_append(&line, call->password, strlen(call->password));
	} else if (call->op == AUTH_WORKER_USERDB) {
		buffer_append(&line, call->fields.data, call->fields.len);
	}
	buffer_append_str(&line, "\n");
	stream_write(w->stream, line.data, line.len);
	buffer_free_secret(&line);
	/* The worker has it now; our copy of the password can go. */
	if (call->password != NULL) {
		sodium_memzero(call->password, strlen(call->password));
		free(call->password);
		call->password = NULL;
	}
	call->worker = w;
	w->call = call;
	w->last_used = event_loop_now(P.loop);
	log_debug("auth worker %ld: %s call", (long)w->pid, ops[call->op]);
}

/* The idle worker used least recently, so that one stuck worker receives
 * at most one call before it shows as busy. */
static struct worker *idle_worker(void)
{
	struct worker *best = NULL;
	for (unsigned i = 0; i < P.count; i++) {
		struct worker *w = &P.workers[i];
		if (w->stream == NULL || !w->ready || w->call != NULL)
			continue;
		if (best == NULL || w->last_used < best->last_used)
			best = w;
	}
	return best;
}

static void dispatch(void)
{
	struct worker *w;
	while (P.queue_head != NULL && (w = idle_worker()) != NULL) {
		struct auth_worker_call *call = P.queue_head;
		queue_remove(call);
		worker_send(w, call);
	}
}

static enum passdb_result result_code(const char *code, bool *ok_r)
{
	static const struct { const char *name; enum passdb_result r; } codes[] = {
		{ "ok", PASSDB_OK },
		{ "unknown", PASSDB_USER_UNKNOWN },
		{ "mismatch", PASSDB_PASSWORD_MISMATCH },
		{ "disabled", PASSDB_ACCOUNT_DISABLED },
		{ "temp", PASSDB_INTERNAL_ERROR },
	};
	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (strcmp(code, codes[i].name) == 0) {
			*ok_r = true;
			return codes[i].r;
		}
	}
	*ok_r = false;
	return PASSDB_INTERNAL_ERROR;
}

static void worker_kill(struct worker *w, const char *why)
{
	log_error("auth worker %ld: %s; killing it", (long)w->pid, why);
	kill(w->pid, SIGKILL);
}

static void handle_result(struct worker *w, char **f, unsigned n)
{
	struct auth_worker_call *call = w->call;
	bool known = false;
	if (call == NULL || n < 4) {
		worker_kill(w, "unexpected reply");
		return;
	}
	w->call = NULL;
	call->worker = NULL;
	struct auth_worker_reply reply;
	memset(&reply, 0, sizeof(reply));
	reply.result = result_code(f[1], &known);
	auth_user_fields_init(&reply.fields, NULL);
	if (call->callback == NULL) {
		call_free(call);
		return;
	}
	pool_t *pool = call->reply_pool;
	reply.reason = ipc_unescape(pool, f[2], NULL);
	reply.stored = f[3][0] != '\0' ? ipc_unescape(pool, f[3], NULL) : NULL;
	if (!known || reply.reason == NULL ||
	    auth_fields_ipc_parse(pool, f + 4, n - 4, &reply.fields) < 0) {
		call_fail_temp(call, "malformed reply from an auth worker");
		return;
	}
	call_finish(call, &reply);
}

static void handle_line(struct worker *w, char *line)
{
	char *f[AUTH_WORKER_REPLY_FIELDS_MAX];
	unsigned n = ipc_split(line, f, AUTH_WORKER_REPLY_FIELDS_MAX);
	if (strcmp(f[0], "RESULT") == 0) {
		handle_result(w, f, n);
	} else if (strcmp(f[0], "READY") == 0) {
		w->ready = true;
		P.any_ready = true;
	} else if (strcmp(f[0], "ERROR") == 0 && n >= 2) {
		pool_t *pool = pool_create();
		char *message = ipc_unescape(pool, f[1], NULL);
		const char *text = message != NULL ? message : "(malformed)";
		if (!P.any_ready && P.fatal != NULL)
			P.fatal(text);
		else
			log_error("auth worker %ld: %s", (long)w->pid, text);
		pool_destroy(pool);
	} else {
		worker_kill(w, "unknown reply");
	}
}

static void worker_input(void *context)
{
	struct worker *w = context;
	struct buffer *in = stream_input(w->stream);
	char *line;
	while ((line = ipc_take_record(in)) != NULL) {
		handle_line(w, line);
		ipc_record_free(line);
		if (w->stream == NULL)
			return;
	}
	if (in->len >= AUTH_WORKER_LINE_MAX) {
		worker_kill(w, "oversized reply");
		return;
	}
	stream_input_resume(w->stream);
	dispatch();
}

static void worker_restart(void *context)
{
	struct worker *w = context;
	w->restart = NULL;
	P.restarts++;
	worker_spawn(w);
}

static void worker_closed(void *context, const char *reason)
{
	struct worker *w = context;
	stream_destroy(w->stream);
	w->stream = NULL;
	w->ready = false;
	if (w->call != NULL) {
		struct auth_worker_call *call = w->call;
		w->call = NULL;
		call->worker = NULL;
		call_fail_temp(call, "auth worker died during the call");
	}
	uint64_t now = event_loop_now(P.loop);
	if (now - w->started >= AUTH_WORKER_STABLE_MS)
		w->restart_delay = 0;
	else if (w->restart_delay < AUTH_WORKER_RESTART_MIN_MS)
		w->restart_delay = AUTH_WORKER_RESTART_MIN_MS;
	else if (w->restart_delay * 2 < AUTH_WORKER_RESTART_MAX_MS)
		w->restart_delay *= 2;
	else
		w->restart_delay = AUTH_WORKER_RESTART_MAX_MS;
	log_warning("auth worker %ld ended; restarting it in %u ms",
		    (long)w->pid, w->restart_delay);
	w->restart = event_timer_add(P.loop, w->restart_delay, worker_restart, w);
}

static const struct stream_callbacks worker_callbacks = {
	.input = worker_input,
	.closed = worker_closed,
};

static void worker_spawn(struct worker *w)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair for an auth worker: %s", strerror(errno));
		w->started = event_loop_now(P.loop);
		w->restart_delay = AUTH_WORKER_RESTART_MAX_MS;
		w->restart = event_timer_add(P.loop, w->restart_delay, worker_restart, w);
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork of an auth worker: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		w->restart_delay = AUTH_WORKER_RESTART_MAX_MS;
		w->restart = event_timer_add(P.loop, w->restart_delay, worker_restart, w);
		return;
	}
	if (pid == 0) {
		/* At once: `ps` and tests tell the auth process by its title. */
		process_title_set(AUTH_WORKER_TITLE);
		close(sv[0]);
		P.child_fd = sv[1];
		event_loop_forget_after_fork(P.loop);
		event_loop_stop(P.loop);
		return;
	}
	close(sv[1]);
	w->pid = pid;
	w->ready = false;
	w->started = event_loop_now(P.loop);
	w->stream = stream_create(P.loop, sv[0], AUTH_WORKER_LINE_MAX,
				  &worker_callbacks, w);
}

/* ---- deadlines and reaping ---- */

static void sweep(void *context)
{
	uint64_t now = event_loop_now(P.loop);
	P.sweep = event_timer_add(P.loop, AUTH_WORKER_SWEEP_MS, sweep, NULL);
	while (P.queue_head != NULL && P.queue_head->deadline <= now) {
		struct auth_worker_call *call = P.queue_head;
		queue_remove(call);
		log_error("auth call waited %u ms for a free auth worker; failing it",
			  AUTH_WORKER_CALL_TIMEOUT_MS);
		call_fail_temp(call, "no auth worker answered in time");
	}
	for (unsigned i = 0; i < P.count; i++) {
		struct worker *w = &P.workers[i];
		if (w->stream != NULL && w->call != NULL && w->call->deadline <= now)
			worker_kill(w, "call not answered in time");
	}
}

static void on_sigchld(void *context, int signo)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (WIFSIGNALED(status))
			log_warning("auth worker %ld killed by signal %d",
				    (long)pid, WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warning("auth worker %ld exited with status %d",
				    (long)pid, WEXITSTATUS(status));
	}
}

int auth_worker_pool_init(struct event_loop *loop,
			  const struct roost_settings *set,
			  void (*fatal)(const char *message))
{
	P.loop = loop;
	P.set = set;
	P.fatal = fatal;
	P.count = set->auth_worker_processes < AUTH_WORKER_SLOTS_MAX ?
		set->auth_worker_processes : AUTH_WORKER_SLOTS_MAX;
	if (P.count == 0)
		P.count = 1;
	P.sigchld = event_signal_add(loop, SIGCHLD, on_sigchld, NULL);
	for (unsigned i = 0; i < P.count; i++) {
		P.workers[i].slot = i;
		worker_spawn(&P.workers[i]);
		if (P.child_fd >= 0)
			return 1;
	}
	P.sweep = event_timer_add(loop, AUTH_WORKER_SWEEP_MS, sweep, NULL);
	return 0;
}

int auth_worker_pool_child_fd(void)
{
	return P.child_fd;
}

void auth_worker_pool_deinit(void)
{
	bool child = P.child_fd >= 0;
	while (P.queue_head != NULL) {
		struct auth_worker_call *call = P.queue_head;
		queue_remove(call);
		call_free(call);
	}
	for (unsigned i = 0; i < P.count; i++) {
		struct worker *w = &P.workers[i];
		if (w->call != NULL)
			call_free(w->call);
		w->call = NULL;
		stream_destroy(w->stream);
		w->stream = NULL;
		event_timer_remove(w->restart);
		w->restart = NULL;
	}
	event_timer_remove(P.sweep);
	P.sweep = NULL;
	event_signal_remove(P.sigchld);
	P.sigchld = NULL;
	if (!child) {
		/* Workers exit on EOF; reap what already has. */
		int status;
		while (waitpid(-1, &status, WNOHANG) > 0)
			;
	}
	P.count = 0;
}

unsigned auth_worker_pool_running(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < P.count; i++) {
		if (P.workers[i].stream != NULL && P.workers[i].ready)
			n++;
	}
	return n;
}

unsigned auth_worker_pool_restarts(void)
{
	return P.restarts;
}
