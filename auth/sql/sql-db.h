/*
 * What the SQLite and PostgreSQL modules share: the settings both take,
 * the two queries parsed at create(), and the passdb/userdb operations
 * built on one driver call that runs a query and returns its single row.
 *
 *   password_query  (passdb) selects at least a `password` column
 *   user_query      (userdb) selects the user's fields
 *   default_scheme  the scheme of passwords stored without "{SCHEME}"
 *
 * Zero rows is an unknown user; more than one row is an internal error
 * (a query that does not identify one user is a configuration mistake,
 * and picking a row at random could log somebody in as somebody else).
 * Column names map to fields as sql-fields.h says. A passdb answers an
 * unknown user only after password_verify_dummy(), with a stored password
 * seen earlier as the model so the cost matches the real users'.
 *
 * Calls block until the database answers (auth-module.h: they run in
 * auth worker processes, one at a time each); each instance keeps its
 * own connection, which the driver opens on first use.
 */
#ifndef ROOST_SQL_DB_H
#define ROOST_SQL_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "auth-module.h"
#include "config-parser.h"
#include "sql-fields.h"
#include "sql-query.h"

enum sql_db_query {
	SQL_DB_PASSWORD_QUERY,
	SQL_DB_USER_QUERY,
	SQL_DB_QUERY_COUNT,
};

struct sql_db;

struct sql_driver {
	const char *name;             /* the module's name */
	enum sql_dialect dialect;
	/* Runs db's query `which` with values[i] bound to parameter i+1.
	 * Returns 1 with the only matching row in *row_r (strings from
	 * pool), 0 when no row matched, -1 with err set on a database error
	 * or when more than one row matched. */
	int (*lookup)(struct sql_db *db, enum sql_db_query which,
		      pool_t *pool, const char *const *values,
		      struct sql_row *row_r, struct error *err);
	/* Closes the connection in db->conn (passdb/userdb destroy()). */
	void (*close)(void *conn);
};

struct sql_db_settings {
	const char *password_query;
	const char *user_query;
	const char *default_scheme;
};

#define SQL_DB_DEFAULT_SCHEME "SHA512-CRYPT"

/* The settings-table entries for the shared settings of a module whose
 * settings struct has a `struct sql_db_settings common` member. */
#define SQL_DB_SETTING_DEFS(type) \
	{ "password_query", CONFIG_TYPE_STRING, \
	  offsetof(type, common.password_query), NULL, NULL }, \
	{ "user_query", CONFIG_TYPE_STRING, \
	  offsetof(type, common.user_query), NULL, NULL }, \
	{ "default_scheme", CONFIG_TYPE_STRING, \
	  offsetof(type, common.default_scheme), SQL_DB_DEFAULT_SCHEME, NULL }

struct sql_db {
	const struct sql_driver *driver;
	void *conn;                   /* the driver's connection state */
	pool_t *pool;
	/* sql == NULL: not configured. */
	struct sql_query queries[SQL_DB_QUERY_COUNT];
	const char *default_scheme;
	/* The first stored password seen, for password_verify_dummy(). */
	const char *dummy_like;
};

/* Checks set and parses its queries; passdb says which query is required.
 * Returns NULL with err set (naming the setting) on a config error. */
struct sql_db *sql_db_create(pool_t *pool, const struct sql_driver *driver,
			     const struct sql_db_settings *set, bool passdb,
			     struct error *err);

/* The name of a query setting, for messages. */
const char *sql_db_query_name(enum sql_db_query which);

/* passdb_ops / userdb_ops for any driver; context is the struct sql_db. */
enum passdb_result sql_db_verify_plain(void *context, pool_t *request_pool,
				       const char *user, const char *password,
				       struct auth_user_fields *fields_r,
				       struct error *err);
enum passdb_result sql_db_lookup_credentials(void *context,
					     pool_t *request_pool,
					     const char *user,
					     const char **stored_r,
					     struct auth_user_fields *fields_r,
					     struct error *err);
int sql_db_userdb_lookup(void *context, pool_t *request_pool,
			 const char *user, struct auth_user_fields *fields,
			 struct error *err);
void sql_db_destroy(void *context);

#endif
