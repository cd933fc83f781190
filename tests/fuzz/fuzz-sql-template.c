/*
 * Fuzzes the SQL query template parser (auth/sql/sql-query.c): templates
 * are config text, and the parser alone decides which parts of a query
 * are code (where a variable becomes a bound parameter) and which are
 * literals, identifiers or comments (where it must be refused).
 *
 * Input layout: byte 0 = dialect (even: SQLite, odd: PostgreSQL); the rest
 * is "TEMPLATE NUL USER". Invariants:
 *  - a failure is ERROR_INVALID with "offset N: ..." and N within the
 *    template;
 *  - a success has 1..3 distinct known variables at most, is never
 *    longer than the template, adds no control byte, and equals the
 *    template when that has no '%';
 *  - SQLite agrees on where the parameters are: when the converted
 *    query prepares as one statement, it has exactly param_count parameters, named ?1..?N
 *    (a parameter SQLite sees inside what we took for a literal, or one
 *    we emitted where SQLite sees a literal, breaks this);
 *  - the values for the user are substrings of it (or "").
 */
#include "config.h"
#include "sql-query.h"

#include <stdbool.h>
#include <stdio.h>

#include <sqlite3.h>

#include "fuzz-common.h"

/* Columns the seed templates use, so that SQLite prepares them. */
#define SCHEMA \
	"CREATE TABLE users (name TEXT, password TEXT, home TEXT, " \
	"mail TEXT, uid TEXT, gid TEXT, nologin INT, domain TEXT, " \
	"username TEXT);"

static sqlite3 *db;

static void check_with_sqlite(const struct sql_query *q)
{
	if (db == NULL) {
		FUZZ_CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK,
			   "sqlite3_open");
		FUZZ_CHECK(sqlite3_exec(db, SCHEMA, NULL, NULL, NULL) ==
			   SQLITE_OK, "schema");
	}
	sqlite3_stmt *stmt = NULL, *next = NULL;
	const char *tail = NULL;
	if (sqlite3_prepare_v2(db, q->sql, -1, &stmt, &tail) != SQLITE_OK ||
	    stmt == NULL)
		return;
	/* The driver refuses a second statement (auth/sql/sqlite.c); the
	 * parameters in it are not the first one's. */
	if (sqlite3_prepare_v2(db, tail, -1, &next, NULL) != SQLITE_OK ||
	    next != NULL) {
		sqlite3_finalize(next);
		sqlite3_finalize(stmt);
		return;
	}
	int count = sqlite3_bind_parameter_count(stmt);
	FUZZ_CHECK(count == (int)q->param_count,
		   "'%s': SQLite sees %d parameters, we bind %u", q->sql,
		   count, q->param_count);
	for (int i = 1; i <= count; i++) {
		char want[8];
		snprintf(want, sizeof(want), "?%d", i);
		const char *name = sqlite3_bind_parameter_name(stmt, i);
		FUZZ_CHECK(name != NULL && strcmp(name, want) == 0,
			   "'%s': parameter %d is '%s'", q->sql, i,
			   name != NULL ? name : "(anonymous)");
	}
	sqlite3_finalize(stmt);
}

static bool within(const char *value, const char *user, size_t user_len)
{
	return value >= user && value <= user + user_len;
}

static void check_values(pool_t *pool, const struct sql_query *q,
			 const char *user)
{
	const char *values[SQL_QUERY_PARAMS_MAX];
	size_t user_len = strlen(user);

	sql_query_values(pool, q, user, values);
	for (unsigned i = 0; i < q->param_count; i++) {
		FUZZ_CHECK(values[i] != NULL, "value %u is NULL", i);
		size_t len = strlen(values[i]);
		/* %{domain} of a name without '@' is "". */
		if (within(values[i], user, user_len) || len == 0)
			continue;
		/* %{username} is a copy of the part before the last '@'. */
		FUZZ_CHECK(q->params[i] == SQL_VAR_USERNAME &&
			   strncmp(values[i], user, len) == 0 &&
			   user[len] == '@',
			   "value %u '%s' is not part of '%s'", i, values[i],
			   user);
	}
}

static void check_success(const char *tmpl, const struct sql_query *q,
			  enum sql_dialect dialect)
{
	size_t tlen = strlen(tmpl), qlen = strlen(q->sql);

	FUZZ_CHECK(q->param_count <= SQL_QUERY_PARAMS_MAX, "%u parameters",
		   q->param_count);
	for (unsigned i = 0; i < q->param_count; i++) {
		FUZZ_CHECK(q->params[i] < SQL_VAR_COUNT, "unknown variable");
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(q->params[i] != q->params[j],
				   "variable %d bound twice", q->params[i]);
	}
	/* "%{user}" (the shortest, 7 bytes) becomes at most " ?1 ". */
	FUZZ_CHECK(qlen <= tlen, "'%s' grew into '%s'", tmpl, q->sql);
	if (!fuzz_has_ctl(tmpl, tlen))
		FUZZ_CHECK(!fuzz_has_ctl(q->sql, qlen), "a control byte appeared");
	if (strchr(tmpl, '%') == NULL)
		FUZZ_CHECK(strcmp(tmpl, q->sql) == 0 && q->param_count == 0,
			   "'%s' without '%%' changed into '%s'", tmpl, q->sql);
	if (dialect == SQL_DIALECT_SQLITE)
		check_with_sqlite(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum sql_dialect dialect = (data[0] & 1) != 0 ? SQL_DIALECT_PGSQL :
		SQL_DIALECT_SQLITE;
	const uint8_t *rest = data + 1;
	size_t rest_len = size - 1;
	const uint8_t *nul = memchr(rest, '\0', rest_len);
	size_t tlen = nul != NULL ? (size_t)(nul - rest) : rest_len;
	char *tmpl = fuzz_strndup(rest, tlen);
	char *user = nul != NULL ?
		fuzz_strndup(nul + 1, rest_len - tlen - 1) : fuzz_strndup(NULL, 0);

	pool_t *pool = pool_create();
	struct sql_query q;
	struct error err;
	error_clear(&err);
	if (sql_query_parse(pool, tmpl, dialect, &q, &err) < 0) {
		unsigned long offset;
		FUZZ_CHECK(err.kind == ERROR_INVALID, "failure kind %d", err.kind);
		FUZZ_CHECK(sscanf(err.message, "offset %lu: ", &offset) == 1 ||
			   strcmp(err.message, "the query is empty") == 0,
			   "message '%s'", err.message);
		if (strcmp(err.message, "the query is empty") != 0)
			FUZZ_CHECK(offset <= tlen, "offset %lu beyond %zu",
				   offset, tlen);
	} else {
		check_success(tmpl, &q, dialect);
		check_values(pool, &q, user);
	}
	pool_destroy(pool);
	free(tmpl);
	free(user);
	return 0;
}
