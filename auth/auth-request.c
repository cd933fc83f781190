/* SASL exchanges for login processes; see auth-request.h. */
#include "config.h"
#include "auth-request.h"

#include "auth-cookie.h"
#include "auth-lookup.h"
#include "auth-mechanisms.h"
#include "auth-penalty.h"
#include "auth-proxy.h"
#include "auth-stats.h"
#include "auth-user-policy.h"
#include "auth-username.h"
#include "passdb-chain.h"
#include "ipc-escape.h"
#include "log.h"
#include "password-scheme.h"
#include "sasl.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Exchanges in flight per connection: a login process has at most
 * login_client_limit clients; this caps a misbehaving one. */
#define AUTH_REQUESTS_PER_CONN_MAX 10000

struct auth_request {
	pool_t *pool;
	struct auth_conn *conn;
	struct auth_request *prev, *next;
	unsigned id;
	const char *mech;
	struct sasl_exchange *sasl;
	const char *user;      /* normalised lookup name (auth-username.h) */
	char rip[64];
	struct event_timer *delay;
	struct auth_lookup *lookup;
	const char *fail_code;
	bool penalty_served;   /* waited out this address's penalty */
	/* Credential mechanisms: why a failed proof failed, and the
	 * passdb's fields once the stored secret was found. */
	enum passdb_result cred_result;
	const char *cred_reason;
	struct auth_user_fields fields;
	uint64_t check_started_us;
	char *proxy_pass;      /* the client's plaintext, kept for a proxy */
};

static struct {
	const struct roost_settings *set;
	struct event_loop *loop;
	unsigned mechanisms;
} R;

struct auth_stats auth_stats;

void auth_request_init(struct event_loop *loop,
		       const struct roost_settings *set, unsigned mechanisms)
{
	R.loop = loop;
	R.set = set;
	R.mechanisms = mechanisms;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- replies ---- */

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
	if (req->lookup != NULL)
		auth_lookup_abort(req->lookup);
	if (req->sasl != NULL)
		sasl_forget(req->sasl);
	if (req->proxy_pass != NULL)
		sodium_memzero(req->proxy_pass, strlen(req->proxy_pass));
	pool_destroy(req->pool);
}

void auth_request_free_all(struct auth_conn *conn)
{
	while (conn->requests != NULL)
		request_free(conn->requests);
}

static void reply_fail_now(struct auth_request *req, const char *code)
{
	struct buffer line;
	buffer_init(&line);
	buffer_printf(&line, "FAIL\t%u\t%s", req->id, code);
	auth_conn_write_line(req->conn, &line);
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
	if (R.set->auth_failure_delay == 0) {
		reply_fail_now(req, code);
		return;
	}
	req->delay = event_timer_add(R.loop, R.set->auth_failure_delay, delayed_fail, req);
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
	auth_conn_write_line(req->conn, &line);
	buffer_free(&line);
}

/* ---- verdicts ---- */

/* The name for log lines: normalised once known. */
static const char *log_user(struct auth_request *req)
{
	return req->user != NULL ? req->user : sasl_user(req->sasl);
}

static void log_failure(struct auth_request *req, const char *why)
{
	struct log_context ctx = { .user = log_user(req), .remote = req->rip };
	log_msg(LOG_LEVEL_INFO, &ctx, "Authentication failed: %s", why);
}

static void count_latency(struct auth_request *req)
{
	if (req->check_started_us == 0)
		return;
	auth_stats.latency_us_sum += now_us() - req->check_started_us;
	auth_stats.latency_us_count++;
	req->check_started_us = 0;
}

static void fail_temp(struct auth_request *req, const char *why)
{
	struct log_context ctx = { .user = log_user(req), .remote = req->rip };
	log_msg(LOG_LEVEL_ERROR, &ctx, "%s", why);
	count_latency(req);
	auth_stats.failures_temp++;
	reply_fail_now(req, "temp");
}

/* Wrong credentials of any kind: one answer for all of them. */
static void fail_credentials(struct auth_request *req, enum passdb_result r,
			     const char *why)
{
	log_failure(req, why);
	count_latency(req);
	if (r == PASSDB_USER_UNKNOWN)
		auth_stats.failures_unknown++;
	else if (r == PASSDB_ACCOUNT_DISABLED)
		auth_stats.failures_disabled++;
	else
		auth_stats.failures_password++;
	auth_penalty_failure(req->rip, event_loop_now(R.loop));
	reply_fail_delayed(req, "auth");
}

/* "OK id cookie user": the hand-over cookie bound to fields; ends req. */
static void reply_cookie(struct auth_request *req,
			 const struct auth_user_fields *fields, const char *name)
{
	char cookie[AUTH_COOKIE_HEX_LEN + 1];
	auth_cookie_issue(fields, event_loop_now(R.loop), cookie);
	struct buffer line;
	buffer_init(&line);
	buffer_printf(&line, "OK\t%u\t%s\t", req->id, cookie);
	ipc_escape_append(&line, name, strlen(name));
	auth_conn_write_line(req->conn, &line);
	buffer_free(&line);
	request_free(req);
}

static void userdb_done(void *context, const struct auth_worker_reply *reply)
{
	struct auth_request *req = context;
	req->lookup = NULL;
	if (reply->result == PASSDB_INTERNAL_ERROR) {
		fail_temp(req, reply->reason);
		return;
	}
	if (reply->result != PASSDB_OK) {
		fail_temp(req, "Password accepted but the user is in no userdb");
		return;
	}
	count_latency(req);
	auth_stats.success++;
	const struct auth_user_fields *fields = &reply->fields;
	const char *name = fields->user != NULL ? fields->user : req->user;
	const char *master = auth_user_policy_get(fields, PASSDB_CHAIN_MASTER_FIELD);
	if (master != NULL) {
		struct log_context ctx = { .user = name, .remote = req->rip };
		log_msg(LOG_LEVEL_INFO, &ctx, "master user %s logged in as %s",
			master, name);
	}
	reply_cookie(req, fields, name);
}

/* Proxied users live on another host: no userdb, no cookie, and the
 * login process gets the proxy fields instead (auth-proxy.h). */
static void reply_proxy(struct auth_request *req)
{
	struct error err;
	struct buffer line;
	/* The normalised name (auth-username.h), not what the client typed. */
	const char *name = req->fields.user != NULL ? req->fields.user : req->user;
	buffer_init(&line);
	buffer_printf(&line, "OK\t%u\t-\t", req->id);
	ipc_escape_append(&line, name, strlen(name));
	int ret = auth_proxy_append(&line, &req->fields, req->proxy_pass, &err);
	if (ret < 0) {
		buffer_free_secret(&line);
		fail_temp(req, err.message);
		return;
	}
	count_latency(req);
	auth_stats.success++;
	auth_conn_write_line(req->conn, &line);
	buffer_free_secret(&line);
	request_free(req);
}

/* nologin with a reason: the password was right, and the admin wants the
 * client told why it may not log in (Dovecot's nologin + reason). The
 * login process hands the session over as usual and the master, seeing
 * nologin in the cookie's fields, answers the reason instead of starting
 * a worker, so the login protocol needs no message field. */
static void refuse_with_reason(struct auth_request *req)
{
	const char *name = req->fields.user != NULL ? req->fields.user : req->user;
	struct log_context ctx = { .user = name, .remote = req->rip };
	log_msg(LOG_LEVEL_INFO, &ctx, "Login refused: account has nologin set: %s",
		auth_user_policy_get(&req->fields, "reason"));
	count_latency(req);
	auth_stats.failures_disabled++;
	reply_cookie(req, &req->fields, name);
}

/* The secret was right (verified plaintext or a correct proof). */
static void login_succeeded(struct auth_request *req)
{
	auth_penalty_success(req->rip);
	if (req->fields.nologin &&
	    auth_user_policy_get(&req->fields, "reason") != NULL) {
		refuse_with_reason(req);
		return;
	}
	if (req->fields.nologin) {
		fail_credentials(req, PASSDB_ACCOUNT_DISABLED, "account has nologin set");
		return;
	}
	if (auth_proxy_wanted(&req->fields)) {
		reply_proxy(req);
		return;
	}
	const char *user = req->fields.user != NULL ? req->fields.user : req->user;
	req->lookup = auth_lookup_start(AUTH_WORKER_USERDB, user, NULL,
					&req->fields, req->pool, userdb_done, req);
}

static void fields_keep(struct auth_request *req,
			const struct auth_user_fields *fields)
{
	req->fields = *fields;   /* strings already live in req->pool */
}

static void verify_done(void *context, const struct auth_worker_reply *reply)
{
	struct auth_request *req = context;
	req->lookup = NULL;
	if (reply->result == PASSDB_OK && auth_proxy_wanted(&reply->fields))
		req->proxy_pass = pool_strdup(req->pool, sasl_password(req->sasl));
	sasl_forget(req->sasl);
	switch (reply->result) {
	case PASSDB_OK:
		fields_keep(req, &reply->fields);
		login_succeeded(req);
		return;
	case PASSDB_INTERNAL_ERROR:
		fail_temp(req, reply->reason);
		return;
	default:
		fail_credentials(req, reply->result, reply->reason);
		return;
	}
}

static void run_status(struct auth_request *req, enum sasl_status status,
		       const char *challenge, size_t clen);

static void credentials_done(void *context, const struct auth_worker_reply *reply)
{
	struct auth_request *req = context;
	req->lookup = NULL;
	const char *stored = NULL;
	req->cred_result = reply->result;
	req->cred_reason = reply->reason;
	switch (reply->result) {
	case PASSDB_OK:
		if (reply->stored != NULL &&
		    sasl_credentials_usable(req->mech, reply->stored)) {
			stored = reply->stored;
			fields_keep(req, &reply->fields);
			req->cred_reason = "password mismatch";
			req->cred_result = PASSDB_PASSWORD_MISMATCH;
		} else {
			req->cred_reason = pool_printf(req->pool,
				"the stored password's scheme cannot serve %s",
				req->mech);
			req->cred_result = PASSDB_PASSWORD_MISMATCH;
		}
		break;
	case PASSDB_INTERNAL_ERROR:
		fail_temp(req, reply->reason);
		return;
	default:
		break;
	}
	const char *challenge = NULL;
	size_t clen = 0;
	enum sasl_status st = sasl_set_credentials(req->sasl, stored, &challenge, &clen);
	if (reply->stored != NULL)
		sodium_memzero((char *)reply->stored, strlen(reply->stored));
	run_status(req, st, challenge, clen);
}

static void check_credentials(struct auth_request *req);

static void penalty_served(void *context)
{
	struct auth_request *req = context;
	req->delay = NULL;
	req->penalty_served = true;
	check_credentials(req);
}

/* The exchange has the user and a password or the need for the stored
 * secret: look it up in a worker. */
static void check_credentials(struct auth_request *req)
{
	/* An address with recent failures waits before its password is
	 * even looked at (auth-penalty.h). */
	if (!req->penalty_served) {
		unsigned wait = auth_penalty_delay(req->rip, event_loop_now(R.loop));
		if (wait > 0) {
			req->delay = event_timer_add(R.loop, wait, penalty_served, req);
			return;
		}
	}
	req->check_started_us = now_us();
	const char *why = NULL;
	const char *user = auth_username_normalise(req->pool, R.set,
						   sasl_user(req->sasl), &why);
	req->user = user;
	bool credentials = sasl_mechanism_needs_credentials(req->mech);
	if (user == NULL) {
		const char *reason = pool_printf(req->pool, "invalid user name: %s", why);
		if (!credentials) {
			password_verify_dummy(NULL, sasl_password(req->sasl));
			sasl_forget(req->sasl);
			fail_credentials(req, PASSDB_USER_UNKNOWN, reason);
			return;
		}
		struct auth_worker_reply unknown = {
			.result = PASSDB_USER_UNKNOWN, .reason = reason,
		};
		credentials_done(req, &unknown);
		return;
	}
	if (credentials)
		req->lookup = auth_lookup_start(AUTH_WORKER_CREDENTIALS, user, NULL,
						NULL, req->pool, credentials_done, req);
	else
		req->lookup = auth_lookup_start(AUTH_WORKER_VERIFY, user,
						sasl_password(req->sasl), NULL,
						req->pool, verify_done, req);
}

static void run_status(struct auth_request *req, enum sasl_status status,
		       const char *challenge, size_t clen)
{
	switch (status) {
	case SASL_STATUS_CONTINUE:
		reply_continue(req, challenge, clen);
		return;
	case SASL_STATUS_DONE:
	case SASL_STATUS_NEED_CREDENTIALS:
		check_credentials(req);
		return;
	case SASL_STATUS_SUCCESS:
		login_succeeded(req);
		return;
	case SASL_STATUS_FAILED:
		fail_credentials(req, req->cred_result,
				 req->cred_reason != NULL ? req->cred_reason :
				 "password mismatch");
		return;
	case SASL_STATUS_MALFORMED:
		count_latency(req);
		auth_stats.failures_malformed++;
		reply_fail_now(req, "malformed");
		return;
	case SASL_STATUS_REFUSED:
		fail_credentials(req, PASSDB_PASSWORD_MISMATCH,
				 "authorization identity refused");
		return;
	}
}

static void run_step(struct auth_request *req, bool have, const unsigned char *data,
		     size_t len)
{
	const char *challenge = NULL;
	size_t clen = 0;
	enum sasl_status st = sasl_step(req->sasl, have, data, len, &challenge, &clen);
	run_status(req, st, challenge, clen);
}

/* ---- the login protocol ---- */

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
		auth_conn_write_line(conn, &line);
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
	auth_stats.requests++;

	char *mech = ipc_unescape(pool, f[2], NULL);
	unsigned bit = mech != NULL ? auth_mechanism_bit(mech) : 0;
	req->mech = mech;
	req->sasl = (bit & R.mechanisms) != 0 ? sasl_begin(pool, mech) : NULL;
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
		auth_stats.failures_malformed++;
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
	if (req == NULL || req->delay != NULL || req->lookup != NULL)
		return;
	const char *resp = ipc_unescape(req->pool, f[2], NULL);
	if (resp != NULL && strcmp(resp, "*") == 0) {
		reply_fail_now(req, "cancelled");
		return;
	}
	unsigned char *data;
	size_t len;
	if (resp == NULL || !decode_response(req->pool, resp, false, &data, &len)) {
		auth_stats.failures_malformed++;
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

void auth_request_handle_line(struct auth_conn *conn, char **f, unsigned n)
{
	if (strcmp(f[0], "AUTH") == 0)
		handle_auth(conn, f, n);
	else if (strcmp(f[0], "CONT") == 0)
		handle_cont(conn, f, n);
	else if (strcmp(f[0], "CANCEL") == 0)
		handle_cancel(conn, f, n);
	else
		log_warning("Unknown auth command from a login process");
}
