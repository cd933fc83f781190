/*
 * The sqlite passdb and userdb: an SQLite database file, read-only.
 *
 *   passdb sqlite {
 *     path = /var/lib/roost/users.db
 *     password_query = "SELECT password, home FROM users WHERE name = %{user}"
 *   }
 *   userdb sqlite { path = ...  user_query = "SELECT home, uid, gid ..." }
 *
 * The file is opened with SQLITE_OPEN_READONLY on first use, so no query
 * and no user name can change it, and each query is prepared once per
 * open; the values are bound with sqlite3_bind_text(). A query must be one
 * statement that only reads. Every request stat()s the path and reopens
 * when the file was replaced (the usual "build a new database, rename it
 * into place"); in-place writes are seen by SQLite itself. Any error
 * closes the handle, so the next request starts from a fresh open, and
 * answers PASSDB_INTERNAL_ERROR with SQLite's message.
 */
#include "config.h"
#include "config-parser.h"
#include "module.h"
#include "auth-module.h"
#include "log.h"
#include "sql-db.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

/* How long a query waits for a writer's lock before failing with
 * [SYS/TEMP]: an admin tool updating a few rows holds it for
 * milliseconds; one holding it longer should not stall the auth worker
 * (and the client) for more than a couple of seconds. */
#define SQLITE_BUSY_TIMEOUT_MSECS 2000

struct sqlite_settings {
	struct sql_db_settings common;
	const char *path;
};

static const struct config_setting_def sqlite_setting_defs[] = {
	{ "path", CONFIG_TYPE_STRING, offsetof(struct sqlite_settings, path),
	  NULL, NULL },
	SQL_DB_SETTING_DEFS(struct sqlite_settings),
	{ NULL, 0, 0, NULL, NULL },
};

struct sqlite_conn {
	const char *path;
	sqlite3 *handle;              /* NULL until first use or after an error */
	dev_t dev;                    /* of the file handle has open */
	ino_t ino;
	sqlite3_stmt *stmts[SQL_DB_QUERY_COUNT];
};

static void conn_close(struct sqlite_conn *conn)
{
	for (unsigned i = 0; i < SQL_DB_QUERY_COUNT; i++) {
		sqlite3_finalize(conn->stmts[i]);
		conn->stmts[i] = NULL;
	}
	sqlite3_close(conn->handle);
	conn->handle = NULL;
}

/* Returns 0 with conn->handle open on the file now at conn->path. */
static int conn_open(struct sqlite_conn *conn, struct error *err)
{
	struct stat st;

	if (stat(conn->path, &st) < 0) {
		error_set_errno(err, "stat(%s) failed", conn->path);
		conn_close(conn);
		return -1;
	}
	if (conn->handle != NULL && st.st_dev == conn->dev &&
	    st.st_ino == conn->ino)
		return 0;
	conn_close(conn);

	int rc = sqlite3_open_v2(conn->path, &conn->handle,
				 SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		error_set(err, ERROR_TEMP, "%s: %s", conn->path,
			  conn->handle != NULL ? sqlite3_errmsg(conn->handle) :
			  sqlite3_errstr(rc));
		conn_close(conn);
		return -1;
	}
	sqlite3_busy_timeout(conn->handle, SQLITE_BUSY_TIMEOUT_MSECS);
	conn->dev = st.st_dev;
	conn->ino = st.st_ino;
	return 0;
}

/* Sets err from the handle's last error and closes it. */
static int conn_fail(struct sqlite_conn *conn, const char *what,
		     struct error *err)
{
	error_set(err, ERROR_TEMP, "%s: %s: %s", conn->path, what,
		  sqlite3_errmsg(conn->handle));
	conn_close(conn);
	return -1;
}

/* True when sql holds no statement (blanks and comments only). */
static bool no_statement(sqlite3 *handle, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v2(handle, sql, -1, &stmt, NULL) != SQLITE_OK)
		return false;
	sqlite3_finalize(stmt);
	return stmt == NULL;
}

static sqlite3_stmt *prepared(struct sqlite_conn *conn,
			      const struct sql_query *query,
			      enum sql_db_query which, struct error *err)
{
	if (conn->stmts[which] != NULL)
		return conn->stmts[which];

	sqlite3_stmt *stmt = NULL;
	const char *tail = NULL;
	if (sqlite3_prepare_v3(conn->handle, query->sql, -1,
			       SQLITE_PREPARE_PERSISTENT, &stmt, &tail) !=
	    SQLITE_OK) {
		conn_fail(conn, "prepare", err);
		return NULL;
	}
	const char *problem = NULL;
	if (stmt == NULL)
		problem = "the query holds no statement";
	else if (tail != NULL && !no_statement(conn->handle, tail))
		problem = "the query holds more than one statement";
	else if (!sqlite3_stmt_readonly(stmt))
		problem = "the query would write to the database";
	else if (sqlite3_bind_parameter_count(stmt) != (int)query->param_count)
		problem = "the query has parameters of its own";
	if (problem != NULL) {
		sqlite3_finalize(stmt);
		error_set(err, ERROR_PERM, "%s", problem);
		return NULL;
	}
	conn->stmts[which] = stmt;
	return stmt;
}

/* Copies the current row of stmt into row (strings from pool). */
static int copy_row(struct sqlite_conn *conn, sqlite3_stmt *stmt,
		    pool_t *pool, struct sql_row *row, struct error *err)
{
	int count = sqlite3_column_count(stmt);

	row->count = (unsigned)count;
	row->names = pool_alloc(pool, sizeof(char *) * (size_t)(count + 1));
	row->values = pool_alloc(pool, sizeof(char *) * (size_t)(count + 1));
	for (int i = 0; i < count; i++) {
		const char *name = sqlite3_column_name(stmt, i);
		if (name == NULL) {
			error_set(err, ERROR_TEMP, "out of memory");
			return -1;
		}
		row->names[i] = pool_strdup(pool, name);
		if (sqlite3_column_type(stmt, i) == SQLITE_NULL)
			continue;
		const char *text = (const char *)sqlite3_column_text(stmt, i);
		int len = sqlite3_column_bytes(stmt, i);
		if (text == NULL) {
			error_set(err, ERROR_TEMP, "out of memory");
			return -1;
		}
		/* A blob with a NUL would be cut short as a C string: a
		 * stored password "{PLAIN}a\0b" must not match "a". */
		if (memchr(text, '\0', (size_t)len) != NULL) {
			error_set(err, ERROR_PERM, "%s: column '%s' holds a "
				  "NUL byte", conn->path, name);
			return -1;
		}
		row->values[i] = pool_strndup(pool, text, (size_t)len);
	}
	return 0;
}

static int run_stmt(struct sqlite_conn *conn, sqlite3_stmt *stmt,
		    pool_t *pool, const char *const *values,
		    unsigned value_count, struct sql_row *row_r,
		    struct error *err)
{
	for (unsigned i = 0; i < value_count; i++) {
		if (sqlite3_bind_text(stmt, (int)i + 1, values[i], -1,
				      SQLITE_STATIC) != SQLITE_OK)
			return conn_fail(conn, "bind", err);
	}
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return conn_fail(conn, "query", err);
	if (copy_row(conn, stmt, pool, row_r, err) < 0)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		error_set(err, ERROR_PERM, "more than one row for one user "
			  "(the query must select one row at most)");
		return -1;
	}
	if (rc != SQLITE_DONE)
		return conn_fail(conn, "query", err);
	return 1;
}

static int sqlite_lookup(struct sql_db *db, enum sql_db_query which,
			 pool_t *pool, const char *const *values,
			 struct sql_row *row_r, struct error *err)
{
	struct sqlite_conn *conn = db->conn;

	if (conn_open(conn, err) < 0)
		return -1;
	sqlite3_stmt *stmt = prepared(conn, &db->queries[which], which, err);
	if (stmt == NULL)
		return -1;
	int ret = run_stmt(conn, stmt, pool, values,
			   db->queries[which].param_count, row_r, err);
	/* conn_fail() may have finalized it already. */
	if (conn->stmts[which] != NULL) {
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
	}
	return ret;
}

static void sqlite_close(void *conn)
{
	conn_close(conn);
}

static const struct sql_driver sqlite_driver = {
	.name = "sqlite",
	.dialect = SQL_DIALECT_SQLITE,
	.lookup = sqlite_lookup,
	.close = sqlite_close,
};

static void *sqlite_create(pool_t *pool, const void *settings, bool passdb,
			   struct error *err)
{
	const struct sqlite_settings *set = settings;

	if (set->path == NULL || set->path[0] == '\0') {
		error_set(err, ERROR_INVALID, "sqlite: path is not set "
			  "(e.g. path = /var/lib/roost/users.db)");
		return NULL;
	}
	struct sql_db *db = sql_db_create(pool, &sqlite_driver, &set->common,
					  passdb, err);
	if (db == NULL)
		return NULL;
	struct sqlite_conn *conn = pool_alloc(pool, sizeof(*conn));
	conn->path = pool_strdup(pool, set->path);
	db->conn = conn;
	return db;
}

static void *sqlite_passdb_create(pool_t *pool, const void *settings,
				  struct error *err)
{
	return sqlite_create(pool, settings, true, err);
}

static void *sqlite_userdb_create(pool_t *pool, const void *settings,
				  struct error *err)
{
	return sqlite_create(pool, settings, false, err);
}

static const struct passdb_ops sqlite_passdb = {
	.create = sqlite_passdb_create,
	.verify_plain = sql_db_verify_plain,
	.lookup_credentials = sql_db_lookup_credentials,
	.destroy = sql_db_destroy,
};

static const struct userdb_ops sqlite_userdb = {
	.create = sqlite_userdb_create,
	.lookup = sql_db_userdb_lookup,
	.destroy = sql_db_destroy,
};

static const struct auth_module_ops sqlite_ops = {
	.passdb = &sqlite_passdb,
	.userdb = &sqlite_userdb,
};

ROOST_MODULE(.kind = MODULE_KIND_AUTH, .name = "sqlite",
	     .settings = sqlite_setting_defs,
	     .settings_size = sizeof(struct sqlite_settings),
	     .ops = &sqlite_ops);
