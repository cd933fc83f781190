/*
 * The pgsql passdb and userdb: PostgreSQL through libpq.
 *
 *   passdb pgsql {
 *     connect = "host=db1,db2 port=5432,5432 dbname=mail user=roost connect_timeout=3"
 *     password_query = "SELECT password FROM users WHERE name = %{user}"
 *   }
 *
 * `connect` is a libpq connection string (keyword=value or a URI); its
 * syntax is checked at create(). Several hosts are libpq's own fail-over:
 * it tries them in order (target_session_attrs picks a primary or a
 * standby). Without connect_timeout in the string we set
 * PGSQL_CONNECT_TIMEOUT_DEFAULT, because libpq's default is to wait
 * for the operating system.
 *
 * One connection per instance, opened on first use (so no connection is
 * shared across fork()); each query is prepared once per connection and
 * run with PQsendQueryPrepared(), the values bound as text parameters.
 * A connection found bad is reopened before the query; a query that fails
 * because the connection broke (the server restarted) is retried once on
 * a new connection. When connecting fails, further attempts wait a
 * doubling delay (PGSQL_RETRY_DELAY_MIN_MSECS .. _MAX_MSECS) and every
 * request in between fails at once, so an outage costs a login one
 * connect attempt at most, not a connect_timeout each. Every failure is
 * PASSDB_INTERNAL_ERROR ([SYS/TEMP] for the client); the outage and the
 * recovery are logged once each.
 */
#include "config.h"
#include "config-parser.h"
#include "module.h"
#include "auth-module.h"
#include "log.h"
#include "sql-db.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

/* Seconds libpq waits per host when the connect string does not say:
 * long enough for a loaded server on a LAN, short enough that a login
 * during an outage gets its [SYS/TEMP] before the client gives up. */
#define PGSQL_CONNECT_TIMEOUT_DEFAULT "5"
/* A server that accepted the connection but does not answer (stopped,
 * or the network dropped without a reset) must not hold an auth worker
 * for the minutes TCP takes to notice. A user lookup takes
 * milliseconds; 10 s is a database in trouble. */
#define PGSQL_QUERY_TIMEOUT_MSECS 10000
/* Between failed connection attempts: start short so a restart is
 * noticed quickly, double up to a few seconds so an outage does not cost
 * every login a connect attempt. */
#define PGSQL_RETRY_DELAY_MIN_MSECS 500
#define PGSQL_RETRY_DELAY_MAX_MSECS 5000

struct pgsql_settings {
	struct sql_db_settings common;
	const char *connect;
};

static const struct config_setting_def pgsql_setting_defs[] = {
	{ "connect", CONFIG_TYPE_STRING,
	  offsetof(struct pgsql_settings, connect), NULL, NULL },
	SQL_DB_SETTING_DEFS(struct pgsql_settings),
	{ NULL, 0, 0, NULL, NULL },
};

static const char *const statement_names[SQL_DB_QUERY_COUNT] = {
	[SQL_DB_PASSWORD_QUERY] = "roost_password_query",
	[SQL_DB_USER_QUERY] = "roost_user_query",
};

struct pgsql_conn {
	const char *conninfo;
	PGconn *pg;                   /* NULL: not connected */
	bool prepared[SQL_DB_QUERY_COUNT];
	/* The last connection attempt failed; logged once. */
	bool down;
	uint64_t retry_at;            /* monotonic msecs */
	unsigned retry_delay;         /* msecs */
};

static uint64_t now_msecs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U;
}

/* libpq's messages end in a newline and, for several hosts, hold one
 * line per host (with tab-indented hints): one line for our log. */
static void one_line(char *out, size_t size, const char *msg)
{
	size_t n = 0;
	for (const char *p = msg; *p != '\0' && n + 3 < size; p++) {
		if (*p == '\n') {
			if (p[1] != '\0') {
				out[n++] = ';';
				out[n++] = ' ';
			}
		} else if (*p != '\t') {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

static void notice_to_log(void *context, const char *message)
{
	char line[ERROR_MESSAGE_MAX];
	one_line(line, sizeof(line), message);
	log_warning("pgsql: %s", line);
}

static void conn_drop(struct pgsql_conn *conn)
{
	if (conn->pg != NULL)
		PQfinish(conn->pg);
	conn->pg = NULL;
	memset(conn->prepared, 0, sizeof(conn->prepared));
}

static void conn_went_down(struct pgsql_conn *conn, const char *reason)
{
	if (!conn->down) {
		log_error("pgsql: the database is unavailable: %s (retrying "
			  "every %u..%u ms; logins fail with [SYS/TEMP] until "
			  "then)", reason, PGSQL_RETRY_DELAY_MIN_MSECS,
			  PGSQL_RETRY_DELAY_MAX_MSECS);
		conn->down = true;
		conn->retry_delay = PGSQL_RETRY_DELAY_MIN_MSECS;
	} else if (conn->retry_delay < PGSQL_RETRY_DELAY_MAX_MSECS / 2) {
		conn->retry_delay *= 2;
	} else {
		conn->retry_delay = PGSQL_RETRY_DELAY_MAX_MSECS;
	}
	conn->retry_at = now_msecs() + conn->retry_delay;
}

/* Returns 0 with conn->pg connected, or -1 with err set. */
static int conn_open(struct pgsql_conn *conn, struct error *err)
{
	if (conn->pg != NULL && PQstatus(conn->pg) == CONNECTION_OK)
		return 0;
	conn_drop(conn);
	uint64_t now = now_msecs();
	if (conn->down && now < conn->retry_at) {
		/* The reason was logged when the database went down. */
		error_set(err, ERROR_TEMP, "PostgreSQL is unavailable (next "
			  "connection attempt in %u ms)",
			  (unsigned)(conn->retry_at - now));
		return -1;
	}

	/* Later entries win, so the admin's string overrides our defaults. */
	static const char *const keywords[] = {
		"connect_timeout", "fallback_application_name", "dbname", NULL,
	};
	const char *values[] = {
		PGSQL_CONNECT_TIMEOUT_DEFAULT, "roost", conn->conninfo, NULL,
	};
	PGconn *pg = PQconnectdbParams(keywords, values, 1);
	if (pg == NULL) {
		error_set(err, ERROR_TEMP, "PostgreSQL: out of memory");
		return -1;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		char reason[ERROR_MESSAGE_MAX];
		one_line(reason, sizeof(reason), PQerrorMessage(pg));
		PQfinish(pg);
		conn_went_down(conn, reason);
		error_set(err, ERROR_TEMP, "connecting to PostgreSQL failed: %s",
			  reason);
		return -1;
	}
	PQsetNoticeProcessor(pg, notice_to_log, NULL);
	if (conn->down) {
		log_info("pgsql: the database is available again (%s port %s)",
			 PQhost(pg), PQport(pg));
		conn->down = false;
	}
	conn->pg = pg;
	return 0;
}

/* The result of the command just sent, waiting at most
 * PGSQL_QUERY_TIMEOUT_MSECS; NULL with err set when the connection
 * failed or the server did not answer (the connection is then dropped). */
static PGresult *wait_result(struct pgsql_conn *conn, struct error *err)
{
	char reason[ERROR_MESSAGE_MAX];
	uint64_t deadline = now_msecs() + PGSQL_QUERY_TIMEOUT_MSECS;

	while (PQisBusy(conn->pg)) {
		uint64_t now = now_msecs();
		if (now >= deadline) {
			error_set(err, ERROR_TEMP, "PostgreSQL did not answer "
				  "within %u ms", PGSQL_QUERY_TIMEOUT_MSECS);
			conn_drop(conn);
			return NULL;
		}
		struct pollfd pfd = { .fd = PQsocket(conn->pg), .events = POLLIN };
		int n = poll(&pfd, 1, (int)(deadline - now));
		if (n < 0 && errno != EINTR) {
			error_set_errno(err, "poll() failed");
			conn_drop(conn);
			return NULL;
		}
		if (n > 0 && PQconsumeInput(conn->pg) == 0)
			break;   /* PQgetResult() says why */
	}
	PGresult *result = NULL;
	for (PGresult *next; (next = PQgetResult(conn->pg)) != NULL;) {
		/* Keep the first result; an error result is final anyway. */
		if (result == NULL)
			result = next;
		else
			PQclear(next);
		if (PQstatus(conn->pg) == CONNECTION_BAD)
			break;
	}
	if (result == NULL) {
		one_line(reason, sizeof(reason), PQerrorMessage(conn->pg));
		error_set(err, ERROR_TEMP, "PostgreSQL: %s", reason);
	}
	return result;
}

/* err from a failed result (or the connection's message). */
static void result_error(struct pgsql_conn *conn, PGresult *result,
			 const char *what, struct error *err)
{
	char reason[ERROR_MESSAGE_MAX];
	const char *msg = result != NULL ? PQresultErrorMessage(result) : "";
	if (msg[0] == '\0')
		msg = PQerrorMessage(conn->pg);
	one_line(reason, sizeof(reason), msg);
	error_set(err, ERROR_TEMP, "%s: %s", what, reason);
}

static int prepare(struct pgsql_conn *conn, const struct sql_query *query,
		   enum sql_db_query which, struct error *err)
{
	if (conn->prepared[which])
		return 0;
	if (PQsendPrepare(conn->pg, statement_names[which], query->sql,
			  (int)query->param_count, NULL) == 0) {
		result_error(conn, NULL, "prepare", err);
		return -1;
	}
	PGresult *result = wait_result(conn, err);
	if (result == NULL)
		return -1;
	if (PQresultStatus(result) != PGRES_COMMAND_OK) {
		result_error(conn, result, "prepare", err);
		PQclear(result);
		return -1;
	}
	PQclear(result);
	conn->prepared[which] = true;
	return 0;
}

static void copy_row(PGresult *result, pool_t *pool, struct sql_row *row)
{
	int count = PQnfields(result);

	row->count = (unsigned)count;
	row->names = pool_alloc(pool, sizeof(char *) * (size_t)(count + 1));
	row->values = pool_alloc(pool, sizeof(char *) * (size_t)(count + 1));
	for (int i = 0; i < count; i++) {
		row->names[i] = pool_strdup(pool, PQfname(result, i));
		if (!PQgetisnull(result, 0, i))
			row->values[i] = pool_strdup(pool,
						     PQgetvalue(result, 0, i));
	}
}

/* One attempt on the open connection: 1 row, 0 none, -1 error. */
static int execute(struct pgsql_conn *conn, const struct sql_query *query,
		   enum sql_db_query which, pool_t *pool,
		   const char *const *values, struct sql_row *row_r,
		   struct error *err)
{
	if (prepare(conn, query, which, err) < 0)
		return -1;
	if (PQsendQueryPrepared(conn->pg, statement_names[which],
				(int)query->param_count, values, NULL, NULL,
				0) == 0) {
		result_error(conn, NULL, "query", err);
		return -1;
	}
	PGresult *result = wait_result(conn, err);
	if (result == NULL)
		return -1;

	int ret = -1;
	if (PQresultStatus(result) != PGRES_TUPLES_OK) {
		result_error(conn, result, "query", err);
	} else if (PQntuples(result) > 1) {
		error_set(err, ERROR_PERM, "%d rows for one user (the query "
			  "must select one row at most)", PQntuples(result));
	} else if (PQntuples(result) == 0) {
		ret = 0;
	} else {
		copy_row(result, pool, row_r);
		ret = 1;
	}
	PQclear(result);
	return ret;
}

static int pgsql_lookup(struct sql_db *db, enum sql_db_query which,
			pool_t *pool, const char *const *values,
			struct sql_row *row_r, struct error *err)
{
	struct pgsql_conn *conn = db->conn;

	for (unsigned attempt = 0;; attempt++) {
		if (conn_open(conn, err) < 0)
			return -1;
		int ret = execute(conn, &db->queries[which], which, pool,
				  values, row_r, err);
		bool lost = conn->pg == NULL ||
			PQstatus(conn->pg) == CONNECTION_BAD;
		if (ret >= 0 || !lost)
			return ret;
		/* Timed out: retrying would double the wait. */
		if (conn->pg == NULL || attempt > 0) {
			conn_drop(conn);
			return -1;
		}
		log_info("pgsql: connection to %s port %s lost (%s); "
			 "reconnecting", PQhost(conn->pg), PQport(conn->pg),
			 err->message);
		conn_drop(conn);
	}
}

static void pgsql_close(void *conn)
{
	conn_drop(conn);
}

static const struct sql_driver pgsql_driver = {
	.name = "pgsql",
	.dialect = SQL_DIALECT_PGSQL,
	.lookup = pgsql_lookup,
	.close = pgsql_close,
};

static void *pgsql_create(pool_t *pool, const void *settings, bool passdb,
			  struct error *err)
{
	const struct pgsql_settings *set = settings;

	if (set->connect == NULL || set->connect[0] == '\0') {
		error_set(err, ERROR_INVALID, "pgsql: connect is not set (e.g. "
			  "connect = \"host=localhost dbname=mail user=roost\")");
		return NULL;
	}
	char *parse_error = NULL;
	PQconninfoOption *options = PQconninfoParse(set->connect, &parse_error);
	if (options == NULL) {
		char reason[ERROR_MESSAGE_MAX];
		one_line(reason, sizeof(reason), parse_error != NULL ?
			 parse_error : "out of memory");
		PQfreemem(parse_error);
		error_set(err, ERROR_INVALID, "pgsql: connect: %s", reason);
		return NULL;
	}
	PQconninfoFree(options);

	struct sql_db *db = sql_db_create(pool, &pgsql_driver, &set->common,
					  passdb, err);
	if (db == NULL)
		return NULL;
	struct pgsql_conn *conn = pool_alloc(pool, sizeof(*conn));
	conn->conninfo = pool_strdup(pool, set->connect);
	db->conn = conn;
	return db;
}

static void *pgsql_passdb_create(pool_t *pool, const void *settings,
				 struct error *err)
{
	return pgsql_create(pool, settings, true, err);
}

static void *pgsql_userdb_create(pool_t *pool, const void *settings,
				 struct error *err)
{
	return pgsql_create(pool, settings, false, err);
}

static const struct passdb_ops pgsql_passdb = {
	.create = pgsql_passdb_create,
	.verify_plain = sql_db_verify_plain,
	.lookup_credentials = sql_db_lookup_credentials,
	.destroy = sql_db_destroy,
};

static const struct userdb_ops pgsql_userdb = {
	.create = pgsql_userdb_create,
	.lookup = sql_db_userdb_lookup,
	.destroy = sql_db_destroy,
};

static const struct auth_module_ops pgsql_ops = {
	.passdb = &pgsql_passdb,
	.userdb = &pgsql_userdb,
};

ROOST_MODULE(.kind = MODULE_KIND_AUTH, .name = "pgsql",
	     .settings = pgsql_setting_defs,
	     .settings_size = sizeof(struct pgsql_settings),
	     .ops = &pgsql_ops);
