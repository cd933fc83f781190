/* Commands on the auth-master socket; see auth-master.h. */
#include "config.h"
#include "auth-master.h"

#include "auth-cookie.h"
#include "auth-fields-ipc.h"
#include "auth-stats.h"
#include "auth-user-policy.h"
#include "auth-username.h"
#include "auth-worker.h"
#include "ipc-escape.h"
#include "log.h"
#include "sasl.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* Commands in flight per connection: the master sends one REQUEST per
 * hand-over; the admin tool a few. This caps a runaway client. */
#define AUTH_MASTER_REQUESTS_MAX 10000
/* Request ids are echoed back; longer ones are not ours. */
#define AUTH_MASTER_ID_MAX 32

struct auth_master_request {
	pool_t *pool;
	struct auth_conn *conn;
	struct auth_master_request *prev, *next;
	char id[AUTH_MASTER_ID_MAX + 1];
	const char *user;
	const char *rip;
	struct auth_worker_call *call;
};

static struct {
	struct event_loop *loop;
	struct auth_cache *cache;
	const struct roost_settings *set;
} M;

void auth_master_init(struct event_loop *loop, struct auth_cache *cache,
		      const struct roost_settings *set)
{
	M.loop = loop;
	M.cache = cache;
	M.set = set;
}

/* The admin names users as clients do: the same normalisation (case,
 * default domain) and the same refusals, so `roostctl user Alice` finds
 * what a login as Alice would. NULL for an unacceptable name. */
static const char *admin_user_name(pool_t *pool, const char *escaped)
{
	const char *why;
	char *raw = escaped != NULL ? ipc_unescape(pool, escaped, NULL) : NULL;
	if (raw == NULL || raw[0] == '\0' || strlen(raw) > SASL_USER_MAX)
		return NULL;
	return auth_username_normalise(pool, M.set, raw, &why);
}

/* "USER id user [uid=N] [gid=N] [home=P] [mail=L]": what the master
 * needs to start a mail worker. */
static void append_user(struct buffer *line, const char *id,
			const struct auth_user_fields *uf)
{
	buffer_printf(line, "USER\t%s\t", id);
	ipc_escape_append(line, uf->user, strlen(uf->user));
	auth_fields_ipc_append_account(line, uf);
	auth_user_policy_append(line, uf);
}

static void write_simple(struct auth_conn *conn, const char *verb,
			 const char *id, const char *arg)
{
	struct buffer line;
	buffer_init(&line);
	buffer_printf(&line, "%s\t%s", verb, id);
	if (arg != NULL) {
		buffer_append_str(&line, "\t");
		ipc_escape_append(&line, arg, strlen(arg));
	}
	auth_conn_write_line(conn, &line);
	buffer_free(&line);
}

static void request_free(struct auth_master_request *req)
{
	struct auth_conn *conn = req->conn;
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		conn->master_requests = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	conn->request_count--;
	if (req->call != NULL)
		auth_worker_call_abort(req->call);
	pool_destroy(req->pool);
}

void auth_master_free_all(struct auth_conn *conn)
{
	while (conn->master_requests != NULL)
		request_free(conn->master_requests);
}

static struct auth_master_request *request_new(struct auth_conn *conn,
					       const char *id)
{
	pool_t *pool = pool_create();
	struct auth_master_request *req = pool_alloc(pool, sizeof(*req));
	req->pool = pool;
	req->conn = conn;
	snprintf(req->id, sizeof(req->id), "%s", id);
	req->next = conn->master_requests;
	if (conn->master_requests != NULL)
		conn->master_requests->prev = req;
	conn->master_requests = req;
	conn->request_count++;
	return req;
}

static void log_temp(struct auth_master_request *req, const char *what,
		     const char *reason)
{
	struct log_context ctx = { .user = req->user, .remote = req->rip };
	log_msg(LOG_LEVEL_ERROR, &ctx, "%s: %s", what, reason);
}

/* ---- LOOKUP id user ---- */

static void lookup_done(void *context, const struct auth_worker_reply *reply)
{
	struct auth_master_request *req = context;
	req->call = NULL;
	struct buffer line;
	buffer_init(&line);
	if (reply->result == PASSDB_OK) {
		struct auth_user_fields uf = reply->fields;
		if (uf.user == NULL)
			uf.user = req->user;
		append_user(&line, req->id, &uf);
	} else if (reply->result == PASSDB_USER_UNKNOWN) {
		buffer_printf(&line, "NOTFOUND\t%s", req->id);
	} else {
		log_temp(req, "LOOKUP", reply->reason);
		buffer_printf(&line, "FAIL\t%s\ttemp", req->id);
	}
	auth_conn_write_line(req->conn, &line);
	buffer_free(&line);
	request_free(req);
}

static void handle_lookup(struct auth_conn *conn, char **f, unsigned n)
{
	struct auth_master_request *req = request_new(conn, f[1]);
	req->user = admin_user_name(req->pool, n >= 3 ? f[2] : NULL);
	if (req->user == NULL) {
		write_simple(conn, "NOTFOUND", req->id, NULL);
		request_free(req);
		return;
	}
	struct auth_user_fields fields;
	auth_user_fields_init(&fields, req->user);
	req->call = auth_worker_call(AUTH_WORKER_USERDB, req->user, NULL, &fields,
				     req->pool, lookup_done, req);
}

/* ---- PASSTEST id user b64password rip ---- */

static void passtest_userdb_done(void *context,
				 const struct auth_worker_reply *reply)
{
	if (reply->result != PASSDB_OK) {
		struct auth_master_request *req = context;
		req->call = NULL;
		if (reply->result == PASSDB_USER_UNKNOWN) {
			write_simple(req->conn, "FAIL", req->id,
				     "password accepted but the user is in no userdb");
		} else {
			log_temp(req, "PASSTEST", reply->reason);
			write_simple(req->conn, "FAIL", req->id, "temp");
		}
		request_free(req);
		return;
	}
	lookup_done(context, reply);
}

static void passtest_verified(void *context, const struct auth_worker_reply *reply)
{
	struct auth_master_request *req = context;
	req->call = NULL;
	if (reply->result == PASSDB_INTERNAL_ERROR) {
		log_temp(req, "PASSTEST", reply->reason);
		write_simple(req->conn, "FAIL", req->id, "temp");
		request_free(req);
		return;
	}
	if (reply->result != PASSDB_OK || reply->fields.nologin) {
		write_simple(req->conn, "FAIL", req->id,
			     reply->result != PASSDB_OK ? reply->reason :
			     "account has nologin set");
		request_free(req);
		return;
	}
	const char *user = reply->fields.user != NULL ? reply->fields.user : req->user;
	req->call = auth_worker_call(AUTH_WORKER_USERDB, user, NULL, &reply->fields,
				     req->pool, passtest_userdb_done, req);
}

static void handle_passtest(struct auth_conn *conn, char **f, unsigned n)
{
	struct auth_master_request *req = request_new(conn, f[1]);
	char *b64 = n >= 5 ? ipc_unescape(req->pool, f[3], NULL) : NULL;
	req->user = admin_user_name(req->pool, n >= 5 ? f[2] : NULL);
	req->rip = n >= 5 ? ipc_unescape(req->pool, f[4], NULL) : NULL;
	size_t b64_len = b64 != NULL ? strlen(b64) : 0;
	char *password = pool_alloc(req->pool, b64_len + 1);
	size_t len = 0;
	if (b64 == NULL || req->user == NULL || req->rip == NULL ||
	    sodium_base642bin((unsigned char *)password, b64_len + 1, b64, b64_len,
			      NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len > SASL_PASSWORD_MAX || memchr(password, '\0', len) != NULL) {
		sodium_memzero(password, b64_len + 1);
		write_simple(conn, "FAIL", req->id, "malformed");
		request_free(req);
		return;
	}
	password[len] = '\0';
	req->call = auth_worker_call(AUTH_WORKER_VERIFY, req->user, password, NULL,
				     req->pool, passtest_verified, req);
	sodium_memzero(password, len);
	sodium_memzero(b64, b64_len);
}

/* ---- STATS id ---- */

static void handle_stats(struct auth_conn *conn, const char *id)
{
	const struct auth_stats *s = &auth_stats;
	struct buffer line;
	buffer_init(&line);
	buffer_printf(&line, "STATS\t%s", id);
	buffer_printf(&line, "\tauth_requests=%llu\tauth_success=%llu",
		      (unsigned long long)s->requests,
		      (unsigned long long)s->success);
	buffer_printf(&line, "\tauth_failures_password=%llu\tauth_failures_unknown=%llu",
		      (unsigned long long)s->failures_password,
		      (unsigned long long)s->failures_unknown);
	buffer_printf(&line, "\tauth_failures_disabled=%llu\tauth_failures_temp=%llu",
		      (unsigned long long)s->failures_disabled,
		      (unsigned long long)s->failures_temp);
	buffer_printf(&line, "\tauth_failures_malformed=%llu",
		      (unsigned long long)s->failures_malformed);
	buffer_printf(&line, "\tauth_latency_us_sum=%llu\tauth_latency_us_count=%llu",
		      (unsigned long long)s->latency_us_sum,
		      (unsigned long long)s->latency_us_count);
	buffer_printf(&line, "\tauth_workers=%u\tauth_worker_restarts=%u",
		      auth_worker_pool_running(), auth_worker_pool_restarts());
	buffer_printf(&line, "\tauth_cache_hits=%llu\tauth_cache_misses=%llu",
		      (unsigned long long)auth_cache_hits(M.cache),
		      (unsigned long long)auth_cache_misses(M.cache));
	auth_conn_write_line(conn, &line);
	buffer_free(&line);
}

/* ---- REQUEST id cookie ---- */

static void handle_request(struct auth_conn *conn, char **f, unsigned n)
{
	struct auth_cookie *c = n >= 3 ?
		auth_cookie_redeem(f[2], event_loop_now(M.loop)) : NULL;
	struct buffer line;
	buffer_init(&line);
	if (c == NULL) {
		buffer_printf(&line, "NOTFOUND\t%s", f[1]);
	} else {
		append_user(&line, f[1], &c->fields);
		pool_destroy(c->pool);
	}
	auth_conn_write_line(conn, &line);
	buffer_free(&line);
}

void auth_master_handle_line(struct auth_conn *conn, char **f, unsigned n)
{
	if (n < 2 || strlen(f[1]) > AUTH_MASTER_ID_MAX ||
	    strspn(f[1], "0123456789") != strlen(f[1])) {
		log_warning("Malformed command on the auth-master socket");
		return;
	}
	if (strcmp(f[0], "REQUEST") == 0) {
		handle_request(conn, f, n);
		return;
	}
	if (strcmp(f[0], "STATS") == 0) {
		handle_stats(conn, f[1]);
		return;
	}
	if (conn->request_count >= AUTH_MASTER_REQUESTS_MAX) {
		write_simple(conn, "FAIL", f[1], "temp");
		return;
	}
	if (strcmp(f[0], "LOOKUP") == 0)
		handle_lookup(conn, f, n);
	else if (strcmp(f[0], "PASSTEST") == 0)
		handle_passtest(conn, f, n);
	else
		log_warning("Unknown command on the auth-master socket");
}
