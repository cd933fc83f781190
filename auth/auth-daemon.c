/*
 * The auth process; see auth-daemon.h. Line protocol (TAB-separated,
 * escaped fields):
 *   login -> auth: AUTH id mech rip flags [resp=B64] | CONT id B64 | CANCEL id
 *   auth -> login: CONT id B64 | OK id cookie user | FAIL id code
 *     (code: auth, temp, malformed, unsupported, cancelled)
 *   master -> auth: REQUEST id cookie
 *   auth -> master: USER id user key=value... | NOTFOUND id
 * Failed logins are answered only after auth_failure_delay, the same for
 * an unknown user and a wrong password.
 */
#include "config.h"
#include "auth-daemon.h"

#include "auth-cookie.h"
#include "auth-module.h"
#include "auth-penalty.h"
#include "event-loop.h"
#include "ipc-escape.h"
#include "log.h"
#include "module.h"
#include "password-scheme.h"
#include "sasl.h"
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
/* Exchanges in flight per connection: a login process has at most
 * login_client_limit clients; this caps a misbehaving one. */
#define AUTH_REQUESTS_PER_CONN_MAX 10000

struct auth_db {
	const struct roost_module *module;
	void *instance;
};

struct auth_conn;

struct auth_request {
	pool_t *pool;
	struct auth_conn *conn;
	struct auth_request *prev, *next;
	unsigned id;
	struct sasl_exchange *sasl;
	char rip[64];
	struct event_timer *delay;
	const char *fail_code;
	bool penalty_served;   /* waited out this address's penalty */
};

struct auth_conn {
	struct stream *stream;
	bool master;
	struct auth_request *requests;
	unsigned request_count;
	struct auth_conn *prev, *next;
};

static struct {
	const struct roost_settings *set;
	struct event_loop *loop;
	struct auth_db *passdbs;
	unsigned passdbs_count;
	struct auth_db *userdbs;
	unsigned userdbs_count;
	struct auth_conn *conns;
	struct event_timer *cookie_timer;
} A;

/* ---- replies ---- */

static void conn_write_line(struct auth_conn *conn, struct buffer *line)
{
	buffer_append_str(line, "\n");
	stream_write(conn->stream, line->data, line->len);
}

static void request_free(struct auth_request *req)
{
	struct auth_conn *conn = req->conn;
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		conn->requests = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	conn->request_count--;
	event_timer_remove(req->delay);
	if (req->sasl != NULL)
		sasl_forget(req->sasl);
	pool_destroy(req->pool);
}

static void reply_fail_now(struct auth_request *req, const char *code)
{
	struct buffer line;
	buffer_init(&line);
	buffer_printf(&line, "FAIL\t%u\t%s", req->id, code);
	conn_write_line(req->conn, &line);
	buffer_free(&line);
	request_free(req);
}

static void delayed_fail(void *context)
{
	struct auth_request *req = context;
	req->delay = NULL;
	reply_fail_now(req, req->fail_code);
}

/* Wrong credentials: answer after the configured delay, which slows
 * guessing and hides how long the check itself took. */
static void reply_fail_delayed(struct auth_request *req, const char *code)
{
	req->fail_code = code;
	if (A.set->auth_failure_delay == 0) {
		reply_fail_now(req, code);
		return;
	}
	req->delay = event_timer_add(A.loop, A.set->auth_failure_delay, delayed_fail, req);
}

static void reply_continue(struct auth_request *req, const char *challenge,
			   size_t len)
{
	size_t b64_len = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = pool_alloc(req->pool, b64_len);
	sodium_bin2base64(b64, b64_len, (const unsigned char *)challenge, len,
			  sodium_base64_VARIANT_ORIGINAL);
	struct buffer line;
	buffer_init(&line);
	buffer_printf(&line, "CONT\t%u\t%s", req->id, b64);
	conn_write_line(req->conn, &line);
	buffer_free(&line);
}

/* ---- credential checks ---- */

static bool user_name_acceptable(const char *user)
{
	size_t len = strlen(user);
	if (len == 0 || len > SASL_USER_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)user[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static void log_failure(struct auth_request *req, const char *user, const char *why)
{
	struct log_context ctx = { .user = user, .remote = req->rip };
	log_msg(LOG_LEVEL_INFO, &ctx, "Authentication failed: %s", why);
}

/* Returns 1 ok, 0 wrong credentials, -1 internal error. */
static int verify_credentials(struct auth_request *req, const char *user,
			      const char *password, struct auth_user_fields *fields)
{
	struct error err;
	if (!user_name_acceptable(user)) {
		password_verify_dummy(NULL, password);
		log_failure(req, user, "invalid user name");
		return 0;
	}
	for (unsigned i = 0; i < A.passdbs_count; i++) {
		const struct auth_module_ops *ops = A.passdbs[i].module->ops;
		auth_user_fields_init(fields, user);
		error_clear(&err);
		enum passdb_result r = ops->passdb->verify_plain(A.passdbs[i].instance,
			req->pool, user, password, fields, &err);
		switch (r) {
		case PASSDB_OK:
			return 1;
		case PASSDB_PASSWORD_MISMATCH:
			log_failure(req, user, "password mismatch");
			return 0;
		case PASSDB_ACCOUNT_DISABLED:
			log_failure(req, user, err.message);
			return 0;
		case PASSDB_INTERNAL_ERROR: {
			struct log_context ctx = { .user = user, .remote = req->rip };
			log_msg(LOG_LEVEL_ERROR, &ctx, "passdb %s: %s",
				A.passdbs[i].module->name, err.message);
			return -1;
		}
		case PASSDB_USER_UNKNOWN:
			break;
		}
	}
	log_failure(req, user, "unknown user");
	return 0;
}

/* Returns 1 found, 0 unknown, -1 error. */
static int lookup_user(struct auth_request *req, const char *user,
		       struct auth_user_fields *fields)
{
	if (A.userdbs_count == 0)
		return 1;   /* the passdb's fields are all there is */
	for (unsigned i = 0; i < A.userdbs_count; i++) {
		const struct auth_module_ops *ops = A.userdbs[i].module->ops;
		struct error err;
		error_clear(&err);
		int r = ops->userdb->lookup(A.userdbs[i].instance, req->pool, user, fields, &err);
		if (r != 0) {
			if (r < 0) {
				struct log_context ctx = { .user = user, .remote = req->rip };
				log_msg(LOG_LEVEL_ERROR, &ctx, "userdb %s: %s",
					A.userdbs[i].module->name, err.message);
			}
			return r;
		}
	}
	return 0;
}

static void finish_sasl(struct auth_request *req);

static void penalty_served(void *context)
{
	struct auth_request *req = context;
	req->delay = NULL;
	req->penalty_served = true;
	finish_sasl(req);
}

static void finish_sasl(struct auth_request *req)
{
	/* An address with recent failures waits before its password is
	 * even looked at (auth-penalty.h). */
	if (!req->penalty_served) {
		unsigned wait = auth_penalty_delay(req->rip, event_loop_now(A.loop));
		if (wait > 0) {
			req->delay = event_timer_add(A.loop, wait, penalty_served, req);
			return;
		}
	}
	const char *user = sasl_user(req->sasl);
	struct auth_user_fields fields;
	auth_user_fields_init(&fields, user);
	int r = verify_credentials(req, user, sasl_password(req->sasl), &fields);
	sasl_forget(req->sasl);
	if (r < 0) {
		reply_fail_now(req, "temp");
		return;
	}
	if (r == 0) {
		auth_penalty_failure(req->rip, event_loop_now(A.loop));
		reply_fail_delayed(req, "auth");
		return;
	}
	auth_penalty_success(req->rip);
	if (fields.nologin) {
		log_failure(req, user, "account has nologin set");
		reply_fail_delayed(req, "auth");
		return;
	}
	int u = lookup_user(req, fields.user != NULL ? fields.user : user, &fields);
	if (u <= 0) {
		struct log_context ctx = { .user = user, .remote = req->rip };
		if (u == 0)
			log_msg(LOG_LEVEL_ERROR, &ctx,
				"Password accepted but the user is in no userdb");
		reply_fail_now(req, "temp");
		return;
	}
	char cookie[AUTH_COOKIE_HEX_LEN + 1];
	auth_cookie_issue(&fields, event_loop_now(A.loop), cookie);
	struct buffer line;
	buffer_init(&line);
	buffer_printf(&line, "OK\t%u\t%s\t", req->id, cookie);
	const char *name = fields.user != NULL ? fields.user : user;
	ipc_escape_append(&line, name, strlen(name));
	conn_write_line(req->conn, &line);
	buffer_free(&line);
	request_free(req);
}

/* Decodes a base64 response; "=" is the empty initial response (RFC 5034). */
static bool decode_response(pool_t *pool, const char *b64, bool initial,
			    unsigned char **out, size_t *len)
{
	size_t in_len = strlen(b64);
	if (initial && strcmp(b64, "=") == 0) {
		*out = pool_alloc(pool, 1);
		*len = 0;
		return true;
	}
	*out = pool_alloc(pool, in_len + 1);
	return sodium_base642bin(*out, in_len + 1, b64, in_len, NULL, len, NULL,
				 sodium_base64_VARIANT_ORIGINAL) == 0;
}

static void run_step(struct auth_request *req, bool have, const unsigned char *data,
		     size_t len)
{
	const char *challenge;
	size_t clen;
	switch (sasl_step(req->sasl, have, data, len, &challenge, &clen)) {
	case SASL_STATUS_CONTINUE:
		reply_continue(req, challenge, clen);
		return;
	case SASL_STATUS_DONE:
		finish_sasl(req);
		return;
	case SASL_STATUS_NEED_CREDENTIALS:
	case SASL_STATUS_SUCCESS:
	case SASL_STATUS_FAILED:
		/* Not reached until the credential mechanisms exist. */
	case SASL_STATUS_MALFORMED:
		reply_fail_now(req, "malformed");
		return;
	case SASL_STATUS_REFUSED:
		log_failure(req, sasl_user(req->sasl), "authorization identity refused");
		reply_fail_delayed(req, "auth");
		return;
	}
}

static struct auth_request *find_request(struct auth_conn *conn, unsigned id)
{
	for (struct auth_request *r = conn->requests; r != NULL; r = r->next) {
		if (r->id == id)
			return r;
	}
	return NULL;
}

static void handle_auth(struct auth_conn *conn, char **f, unsigned n)
{
	if (n < 5)
		return;
	unsigned id = (unsigned)strtoul(f[1], NULL, 10);
	if (find_request(conn, id) != NULL)
		return;
	if (conn->request_count >= AUTH_REQUESTS_PER_CONN_MAX) {
		/* Say so instead of going silent: the login answers [SYS/TEMP]. */
		log_error("Too many auth exchanges in flight on one login connection");
		struct buffer line;
		buffer_init(&line);
		buffer_printf(&line, "FAIL\t%u\ttemp", id);
		conn_write_line(conn, &line);
		buffer_free(&line);
		return;
	}
	pool_t *pool = pool_create();
	struct auth_request *req = pool_alloc(pool, sizeof(*req));
	req->pool = pool;
	req->conn = conn;
	req->id = id;
	char *rip = ipc_unescape(pool, f[3], NULL);
	snprintf(req->rip, sizeof(req->rip), "%s", rip != NULL ? rip : "?");
	req->next = conn->requests;
	if (conn->requests != NULL)
		conn->requests->prev = req;
	conn->requests = req;
	conn->request_count++;

	char *mech = ipc_unescape(pool, f[2], NULL);
	req->sasl = mech != NULL ? sasl_begin(pool, mech) : NULL;
	if (req->sasl == NULL) {
		reply_fail_now(req, "unsupported");
		return;
	}
	const char *resp = NULL;
	for (unsigned i = 5; i < n; i++) {
		if (strncmp(f[i], "resp=", 5) == 0)
			resp = ipc_unescape(pool, f[i] + 5, NULL);
	}
	if (resp == NULL) {
		run_step(req, false, NULL, 0);
		return;
	}
	unsigned char *data;
	size_t len;
	if (!decode_response(pool, resp, true, &data, &len)) {
		reply_fail_now(req, "malformed");
		return;
	}
	run_step(req, true, data, len);
}

static void handle_cont(struct auth_conn *conn, char **f, unsigned n)
{
	if (n < 3)
		return;
	struct auth_request *req = find_request(conn, (unsigned)strtoul(f[1], NULL, 10));
	if (req == NULL || req->delay != NULL)
		return;
	const char *resp = ipc_unescape(req->pool, f[2], NULL);
	if (resp != NULL && strcmp(resp, "*") == 0) {
		reply_fail_now(req, "cancelled");
		return;
	}
	unsigned char *data;
	size_t len;
	if (resp == NULL || !decode_response(req->pool, resp, false, &data, &len)) {
		reply_fail_now(req, "malformed");
		return;
	}
	run_step(req, true, data, len);
}

static void handle_cancel(struct auth_conn *conn, char **f, unsigned n)
{
	if (n < 2)
		return;
	struct auth_request *req = find_request(conn, (unsigned)strtoul(f[1], NULL, 10));
	if (req != NULL)
		request_free(req);
}

static void append_field(struct buffer *line, const char *key, const char *value)
{
	if (value == NULL)
		return;
	buffer_printf(line, "\t%s=", key);
	ipc_escape_append(line, value, strlen(value));
}

static void handle_request(struct auth_conn *conn, char **f, unsigned n)
{
	if (n < 3)
		return;
	struct auth_cookie *c = auth_cookie_redeem(f[2], event_loop_now(A.loop));
	struct buffer line;
	buffer_init(&line);
	if (c == NULL) {
		buffer_printf(&line, "NOTFOUND\t%s", f[1]);
	} else {
		const struct auth_user_fields *uf = &c->fields;
		buffer_printf(&line, "USER\t%s\t", f[1]);
		ipc_escape_append(&line, uf->user, strlen(uf->user));
		if (uf->uid_set)
			buffer_printf(&line, "\tuid=%lu", (unsigned long)uf->uid);
		if (uf->gid_set)
			buffer_printf(&line, "\tgid=%lu", (unsigned long)uf->gid);
		append_field(&line, "home", uf->home);
		append_field(&line, "mail", uf->mail);
		pool_destroy(c->pool);
	}
	conn_write_line(conn, &line);
	buffer_free(&line);
}

static void handle_line(struct auth_conn *conn, char *line)
{
	char *f[AUTH_FIELDS_MAX];
	unsigned n = ipc_split(line, f, AUTH_FIELDS_MAX);
	if (conn->master) {
		if (strcmp(f[0], "REQUEST") == 0)
			handle_request(conn, f, n);
		return;
	}
	if (strcmp(f[0], "AUTH") == 0)
		handle_auth(conn, f, n);
	else if (strcmp(f[0], "CONT") == 0)
		handle_cont(conn, f, n);
	else if (strcmp(f[0], "CANCEL") == 0)
		handle_cancel(conn, f, n);
	else
		log_warning("Unknown auth command from a login process");
}

/* ---- connections ---- */

static void conn_free(struct auth_conn *conn)
{
	while (conn->requests != NULL)
		request_free(conn->requests);
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
	A.cookie_timer = event_timer_add(A.loop, 10000, cookie_sweep, NULL);
}

static void on_terminate(void *context, int signo)
{
	event_loop_stop(A.loop);
}

/* ---- setup ---- */

static int create_dbs(struct db_settings *dbs, unsigned count, bool passdb,
		      struct auth_db **out, pool_t *pool)
{
	struct error err;
	*out = pool_alloc(pool, sizeof(**out) * (count + 1));
	for (unsigned i = 0; i < count; i++) {
		const struct roost_module *mod = module_load(A.set->module_dir,
			MODULE_KIND_AUTH, dbs[i].driver, &err);
		if (mod == NULL || module_init(mod, &err) < 0) {
			log_error("%s", err.message);
			return -1;
		}
		const struct auth_module_ops *ops = mod->ops;
		void *inst = passdb ? ops->passdb->create(pool, dbs[i].module_settings, &err) :
			ops->userdb->create(pool, dbs[i].module_settings, &err);
		if (inst == NULL) {
			log_error("%s %s (%s:%u): %s", passdb ? "passdb" : "userdb",
				  dbs[i].driver, dbs[i].section->file, dbs[i].section->line,
				  err.message);
			return -1;
		}
		(*out)[i].module = mod;
		(*out)[i].instance = inst;
	}
	return 0;
}

static int drop_to_auth_user(const struct roost_settings *set)
{
	struct passwd *pw = getpwnam(set->auth_user);
	if (pw == NULL) {
		log_error("auth_user '%s' does not exist (create it: useradd --system %s)",
			  set->auth_user, set->auth_user);
		return -1;
	}
	gid_t gid = pw->pw_gid;
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0) {
		log_error("dropping privileges to %s: %s", set->auth_user, strerror(errno));
		return -1;
	}
	return 0;
}

int auth_main(const struct auth_params *p)
{
	memset(&A, 0, sizeof(A));
	A.set = p->set;
	pid_t master = getppid();
	if (sodium_init() < 0) {
		log_error("libsodium initialisation failed");
		return 1;
	}
	pool_t *pool = pool_create();
	if (create_dbs(p->set->passdbs, p->set->passdbs_count, true, &A.passdbs, pool) < 0 ||
	    create_dbs(p->set->userdbs, p->set->userdbs_count, false, &A.userdbs, pool) < 0) {
		pool_destroy(pool);
		return 1;
	}
	A.passdbs_count = p->set->passdbs_count;
	auth_penalty_init(p->set->auth_failure_delay);
	A.userdbs_count = p->set->userdbs_count;
	/* The auth user must be able to read the password files; PAM with
	 * shadow (a later module) will need to keep root instead. */
	if (p->privileged && drop_to_auth_user(p->set) < 0) {
		pool_destroy(pool);
		return 1;
	}
	/* Nothing can use us once the master is gone: go with it. Set after
	 * the uid change, which clears it; the getppid() check closes the
	 * window in which the master could have died already. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master) {
		pool_destroy(pool);
		return 0;
	}

	A.loop = event_loop_create();
	event_signal_add(A.loop, SIGTERM, on_terminate, NULL);
	event_signal_add(A.loop, SIGINT, on_terminate, NULL);
	int login_fd = p->login_listen_fd, master_fd = p->master_listen_fd;
	event_io_add(A.loop, login_fd, EVENT_IN, false, login_listener, &login_fd);
	event_io_add(A.loop, master_fd, EVENT_IN, false, master_listener, &master_fd);
	A.cookie_timer = event_timer_add(A.loop, 10000, cookie_sweep, NULL);

	event_loop_run(A.loop);

	while (A.conns != NULL)
		conn_free(A.conns);
	for (unsigned i = 0; i < A.passdbs_count; i++) {
		const struct auth_module_ops *ops = A.passdbs[i].module->ops;
		if (ops->passdb->destroy != NULL)
			ops->passdb->destroy(A.passdbs[i].instance);
	}
	for (unsigned i = 0; i < A.userdbs_count; i++) {
		const struct auth_module_ops *ops = A.userdbs[i].module->ops;
		if (ops->userdb->destroy != NULL)
			ops->userdb->destroy(A.userdbs[i].instance);
	}
	event_loop_destroy(A.loop);
	auth_cookie_expire(UINT64_MAX);
	pool_destroy(pool);
	module_unload_all();
	return 0;
}
