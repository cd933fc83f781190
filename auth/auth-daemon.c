/*
 * The auth process; see auth-daemon.h. Line protocols (TAB-separated,
 * fields escaped with ipc-escape, one record per LF):
 *
 * Login processes (BASE_DIR/login/auth):
 *   auth -> login, once on connect:
 *       MECH mech...      the mechanisms offered, upper case, one field
 *                         each; APOP among them when APOP is enabled
 *                         (it is a POP3 command, never listed in SASL)
 *   login -> auth: AUTH id mech rip flags [resp=B64] | CONT id B64 | CANCEL id
 *       (flags: "secured" for TLS, else "-"; APOP's resp is base64 of
 *        "TIMESTAMP NUL USER NUL DIGEST")
 *   auth -> login: CONT id B64 | OK id cookie user | FAIL id code
 *     (a proxied user's OK has cookie "-" and the proxy fields after
 *      user, see auth-proxy.h)
 *     (code: auth, temp, malformed, unsupported, cancelled)
 *   Failed logins are answered only after auth_failure_delay, the same for
 *   every reason.
 *
 * The master and the admin tool (BASE_DIR/auth-master, mode 0600); ids are
 * decimal numbers of at most 32 digits, echoed back; answers may come in
 * any order:
 *   REQUEST id cookie
 *       -> USER id user [uid=N] [gid=N] [home=P] [mail=L] | NOTFOUND id
 *       (redeems a hand-over cookie once)
 *   LOOKUP id user
 *       -> USER id user [uid=N] [gid=N] [home=P] [mail=L] | NOTFOUND id
 *        | FAIL id temp
 *       (the userdb answer, the fields a REQUEST gives)
 *   PASSTEST id user b64password rip
 *       -> USER id user [uid=N] ... | FAIL id reason
 *       (the passdb chain, nologin and the userdbs as a login would run
 *        them, without penalty, delay or cache; reason is the text the log
 *        gets: "unknown user", "password mismatch", "account disabled:
 *        ...", "account has nologin set", "temp", "malformed")
 *   STATS id
 *       -> STATS id auth_requests=N auth_success=N auth_failures_password=N
 *          auth_failures_unknown=N auth_failures_disabled=N
 *          auth_failures_temp=N auth_failures_malformed=N
 *          auth_latency_us_sum=N auth_latency_us_count=N auth_workers=N
 *          auth_worker_restarts=N auth_cache_hits=N auth_cache_misses=N
 *       (counters since this auth process started; see auth-stats.h)
 *
 * SIGHUP flushes the auth cache (the master's reload restarts the auth
 * process, which starts with an empty one anyway).
 */
#include "config.h"
#include "auth-daemon.h"

#include "auth-cache.h"
#include "auth-conn.h"
#include "auth-cookie.h"
#include "auth-lookup.h"
#include "auth-master.h"
#include "auth-mechanisms.h"
#include "auth-module.h"
#include "auth-penalty.h"
#include "auth-request.h"
#include "auth-worker.h"
#include "auth-worker-server.h"
#include "event-loop.h"
#include "ipc-escape.h"
#include "log.h"
#include "module.h"
#include "privilege-drop.h"
#include "stream.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* A request carries one client line (at most 8 KiB in the login process),
 * which escaping can double, plus a few fields: 64 KiB leaves room, and a
 * longer record means a broken login process. */
#define AUTH_LINE_MAX (64 * 1024)
#define AUTH_FIELDS_MAX 8
/* Cookies live 30 s (auth-cookie.c); sweeping every 10 s bounds the
 * memory of cookies nobody redeems. */
#define AUTH_COOKIE_SWEEP_MS 10000

static struct {
	const struct roost_settings *set;
	struct event_loop *loop;
	struct auth_conn *conns;
	struct event_timer *cookie_timer;
	struct auth_cache *cache;
	unsigned mechanisms;
	int exit_status;
} A;

/* ---- connections ---- */

void auth_conn_write_line(struct auth_conn *conn, struct buffer *line)
{
	buffer_append_str(line, "\n");
	stream_write(conn->stream, line->data, line->len);
}

static void handle_line(struct auth_conn *conn, char *line)
{
	char *f[AUTH_FIELDS_MAX];
	unsigned n = ipc_split(line, f, AUTH_FIELDS_MAX);
	if (conn->master)
		auth_master_handle_line(conn, f, n);
	else
		auth_request_handle_line(conn, f, n);
}

static void conn_free(struct auth_conn *conn)
{
	auth_request_free_all(conn);
	auth_master_free_all(conn);
	stream_destroy(conn->stream);
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		A.conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	free(conn);
}

static void conn_input(void *context)
{
	struct auth_conn *conn = context;
	struct buffer *in = stream_input(conn->stream);
	char *line;
	while ((line = ipc_take_record(in)) != NULL) {
		handle_line(conn, line);
		ipc_record_free(line);
	}
	if (in->len >= AUTH_LINE_MAX) {
		log_error("Oversized request from a %s connection; closing it",
			  conn->master ? "master" : "login");
		conn_free(conn);
		return;
	}
	stream_input_resume(conn->stream);
}

static void conn_closed(void *context, const char *reason)
{
	conn_free(context);
}

static const struct stream_callbacks conn_callbacks = {
	.input = conn_input,
	.closed = conn_closed,
};

/* The first line a login process reads: what it may offer. */
static void send_mechanisms(struct auth_conn *conn)
{
	struct buffer line;
	buffer_init(&line);
	buffer_append_str(&line, "MECH\t");
	auth_mechanisms_names(&line, A.mechanisms, "\t", true);
	auth_conn_write_line(conn, &line);
	buffer_free(&line);
}

static void accept_conn(int listen_fd, bool master)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_error("accept: %s", strerror(errno));
		return;
	}
	struct auth_conn *conn = xmalloc(sizeof(*conn));
	conn->master = master;
	conn->stream = stream_create(A.loop, fd, AUTH_LINE_MAX, &conn_callbacks, conn);
	conn->next = A.conns;
	if (A.conns != NULL)
		A.conns->prev = conn;
	A.conns = conn;
	if (!master)
		send_mechanisms(conn);
}

static void login_listener(void *context, unsigned revents)
{
	accept_conn(*(int *)context, false);
}

static void master_listener(void *context, unsigned revents)
{
	accept_conn(*(int *)context, true);
}

static void cookie_sweep(void *context)
{
	auth_cookie_expire(event_loop_now(A.loop));
	A.cookie_timer = event_timer_add(A.loop, AUTH_COOKIE_SWEEP_MS, cookie_sweep, NULL);
}

static void on_terminate(void *context, int signo)
{
	event_loop_stop(A.loop);
}

static void on_hup(void *context, int signo)
{
	if (A.cache != NULL) {
		log_info("SIGHUP: auth cache flushed (%u entries)", auth_cache_count(A.cache));
		auth_cache_flush(A.cache);
	}
}

static void worker_fatal(const char *message)
{
	log_error("%s", message);
	A.exit_status = 1;
	event_loop_stop(A.loop);
}

/* ---- setup ---- */

static int load_modules(const struct roost_settings *set)
{
	struct error err;
	const struct db_settings *lists[2] = { set->passdbs, set->userdbs };
	unsigned counts[2] = { set->passdbs_count, set->userdbs_count };
	for (unsigned l = 0; l < 2; l++) {
		for (unsigned i = 0; i < counts[l]; i++) {
			const struct roost_module *mod = module_load(set->module_dir,
				MODULE_KIND_AUTH, lists[l][i].driver, &err);
			if (mod == NULL || module_init(mod, &err) < 0) {
				log_error("%s", err.message);
				return -1;
			}
		}
	}
	return 0;
}

static unsigned choose_mechanisms(const struct roost_settings *set)
{
	unsigned dropped = 0;
	unsigned mask = auth_mechanisms_offered(set, &dropped);
	if (dropped != 0) {
		struct buffer names;
		buffer_init(&names);
		auth_mechanisms_names(&names, dropped, " ", true);
		buffer_append(&names, "", 1);
		log_warning("auth_mechanisms: %s dropped: no passdb can look up "
			    "stored credentials", names.data);
		buffer_free(&names);
	}
	return mask;
}

static int drop_to_auth_user(const struct roost_settings *set)
{
	struct error err;
	if (privilege_drop_to_user("auth_user", set->auth_user, NULL, &err) < 0) {
		log_error("%s", err.message);
		return -1;
	}
	return 0;
}

/* Everything the auth process holds, released; in a new worker too, so
 * that it keeps no client connection and no listening socket. */
static void release_all(const struct auth_params *p)
{
	while (A.conns != NULL)
		conn_free(A.conns);
	auth_worker_pool_deinit();
	event_timer_remove(A.cookie_timer);
	A.cookie_timer = NULL;
	event_loop_destroy(A.loop);
	A.loop = NULL;
	auth_cookie_expire(UINT64_MAX);
	auth_cache_destroy(A.cache);
	A.cache = NULL;
	close(p->login_listen_fd);
	close(p->master_listen_fd);
}

int auth_main(const struct auth_params *p)
{
	memset(&A, 0, sizeof(A));
	A.set = p->set;
	pid_t master = getppid();
	pid_t self = getpid();
	if (sodium_init() < 0) {
		log_error("libsodium initialisation failed");
		return 1;
	}
	if (load_modules(p->set) < 0)
		return 1;
	A.mechanisms = choose_mechanisms(p->set);
	auth_penalty_init(p->set->auth_failure_delay);
	/* The auth user must be able to read the password files; PAM with
	 * shadow will need to keep root instead. */
	if (p->privileged && drop_to_auth_user(p->set) < 0)
		return 1;
	/* Nothing can use us once the master is gone: go with it. Set after
	 * the uid change, which clears it; the getppid() check closes the
	 * window in which the master could have died already. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		return 0;

	A.loop = event_loop_create();
	if (p->set->auth_cache_size > 0)
		A.cache = auth_cache_create(p->set->auth_cache_size, p->set->auth_cache_ttl,
					    p->set->auth_cache_negative_ttl);
	auth_lookup_init(A.loop, A.cache);
	auth_request_init(A.loop, p->set, A.mechanisms);
	auth_master_init(A.loop, A.cache, A.set);
	event_signal_add(A.loop, SIGTERM, on_terminate, NULL);
	event_signal_add(A.loop, SIGINT, on_terminate, NULL);
	event_signal_add(A.loop, SIGHUP, on_hup, NULL);
	int login_fd = p->login_listen_fd, master_fd = p->master_listen_fd;
	event_io_add(A.loop, login_fd, EVENT_IN, false, login_listener, &login_fd);
	event_io_add(A.loop, master_fd, EVENT_IN, false, master_listener, &master_fd);
	A.cookie_timer = event_timer_add(A.loop, AUTH_COOKIE_SWEEP_MS, cookie_sweep, NULL);

	/* Workers fork from here, and again from inside the loop when one
	 * is restarted: either way the new process leaves the loop. */
	if (auth_worker_pool_init(A.loop, p->set, worker_fatal) == 0)
		event_loop_run(A.loop);
	int worker_fd = auth_worker_pool_child_fd();
	release_all(p);
	int status = worker_fd >= 0 ?
		auth_worker_server_run(p->set, worker_fd, self) : A.exit_status;
	module_unload_all();
	return status;
}
