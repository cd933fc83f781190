/* The passdb/userdb logic shared by the SQL drivers; see sql-db.h. */
#include "config.h"
#include "sql-db.h"

#include <string.h>
#include <strings.h>

#include "log.h"
#include "password-scheme.h"

static const char *const query_names[SQL_DB_QUERY_COUNT] = {
	[SQL_DB_PASSWORD_QUERY] = "password_query",
	[SQL_DB_USER_QUERY] = "user_query",
};

const char *sql_db_query_name(enum sql_db_query which)
{
	return query_names[which];
}

static int parse_query(struct sql_db *db, enum sql_db_query which,
		       const char *text, bool required, struct error *err)
{
	struct error sub;

	if (text == NULL) {
		if (!required)
			return 0;
		error_set(err, ERROR_INVALID, "%s: %s is not set (e.g. %s = "
			  "\"SELECT %s FROM users WHERE name = %%{user}\")",
			  db->driver->name, query_names[which],
			  query_names[which],
			  which == SQL_DB_PASSWORD_QUERY ? "password" :
			  "home, uid, gid");
		return -1;
	}
	if (sql_query_parse(db->pool, text, db->driver->dialect,
			    &db->queries[which], &sub) < 0) {
		error_set(err, ERROR_INVALID, "%s: %s: %s", db->driver->name,
			  query_names[which], sub.message);
		return -1;
	}
	return 0;
}

struct sql_db *sql_db_create(pool_t *pool, const struct sql_driver *driver,
			     const struct sql_db_settings *set, bool passdb,
			     struct error *err)
{
	const char *scheme = set->default_scheme != NULL ?
		set->default_scheme : SQL_DB_DEFAULT_SCHEME;
	if (!password_scheme_is_known(scheme)) {
		char esc[128];
		error_set(err, ERROR_INVALID, "%s: unknown default_scheme '%s'",
			  driver->name,
			  log_escape(esc, sizeof(esc), scheme, strlen(scheme)));
		return NULL;
	}

	struct sql_db *db = pool_alloc(pool, sizeof(*db));
	db->driver = driver;
	db->pool = pool;
	db->default_scheme = pool_strdup(pool, scheme);
	if (parse_query(db, SQL_DB_PASSWORD_QUERY, set->password_query,
			passdb, err) < 0 ||
	    parse_query(db, SQL_DB_USER_QUERY, set->user_query, !passdb,
			err) < 0)
		return NULL;
	if (passdb)
		password_verify_dummy_prepare(NULL);
	return db;
}

static int run_query(struct sql_db *db, enum sql_db_query which,
		     pool_t *pool, const char *user, struct sql_row *row_r,
		     struct error *err)
{
	const char *values[SQL_QUERY_PARAMS_MAX];
	struct error sub;

	sql_query_values(pool, &db->queries[which], user, values);
	int ret = db->driver->lookup(db, which, pool, values, row_r, &sub);
	if (ret < 0)
		error_set(err, sub.kind, "%s: %s", query_names[which],
			  sub.message);
	return ret;
}

static bool row_has_column(const struct sql_row *row, const char *name)
{
	for (unsigned i = 0; i < row->count; i++) {
		if (strcasecmp(row->names[i], name) == 0)
			return true;
	}
	return false;
}

/* The password_query row of user: 1 with *fields_r and *stored_r (NULL
 * or "" when the user has no password), 0 unknown user, -1 error. */
static int passdb_row(struct sql_db *db, pool_t *pool, const char *user,
		      struct auth_user_fields *fields_r, const char **stored_r,
		      struct error *err)
{
	struct sql_row row;
	struct error sub;

	int ret = run_query(db, SQL_DB_PASSWORD_QUERY, pool, user, &row, err);
	if (ret <= 0)
		return ret;
	if (!row_has_column(&row, "password")) {
		error_set(err, ERROR_PERM, "password_query selects no "
			  "'password' column");
		return -1;
	}
	auth_user_fields_init(fields_r, user);
	if (sql_fields_apply(&row, fields_r, stored_r, &sub) < 0) {
		error_set(err, sub.kind, "password_query: %s", sub.message);
		return -1;
	}
	if (db->dummy_like == NULL && *stored_r != NULL &&
	    (*stored_r)[0] != '\0') {
		db->dummy_like = (*stored_r)[0] == '{' ?
			pool_strdup(db->pool, *stored_r) :
			pool_printf(db->pool, "{%s}%s", db->default_scheme,
				    *stored_r);
		password_verify_dummy_prepare(db->dummy_like);
	}
	return 1;
}

enum passdb_result sql_db_verify_plain(void *context, pool_t *request_pool,
				       const char *user, const char *password,
				       struct auth_user_fields *fields_r,
				       struct error *err)
{
	struct sql_db *db = context;
	struct auth_user_fields fields;
	const char *stored;
	struct error sub;

	int ret = passdb_row(db, request_pool, user, &fields, &stored, err);
	if (ret < 0)
		return PASSDB_INTERNAL_ERROR;
	if (ret == 0) {
		password_verify_dummy(db->dummy_like, password);
		return PASSDB_USER_UNKNOWN;
	}
	/* No password: nobody logs in with it, at the usual cost. */
	if (stored == NULL || stored[0] == '\0') {
		password_verify_dummy(db->dummy_like, password);
		return PASSDB_PASSWORD_MISMATCH;
	}
	switch (password_verify(stored, password, db->default_scheme, &sub)) {
	case 1:
		break;
	case 0:
		return PASSDB_PASSWORD_MISMATCH;
	default:
		error_set(err, sub.kind, "password_query: stored password: %s",
			  sub.message);
		return PASSDB_INTERNAL_ERROR;
	}
	*fields_r = fields;
	return PASSDB_OK;
}

enum passdb_result sql_db_lookup_credentials(void *context,
					     pool_t *request_pool,
					     const char *user,
					     const char **stored_r,
					     struct auth_user_fields *fields_r,
					     struct error *err)
{
	struct sql_db *db = context;
	struct auth_user_fields fields;
	const char *stored;

	int ret = passdb_row(db, request_pool, user, &fields, &stored, err);
	if (ret < 0)
		return PASSDB_INTERNAL_ERROR;
	/* Without a stored password the exchange must fail like one for an
	 * unknown user; "{PLAIN}" would accept an empty password. */
	if (ret == 0 || stored == NULL || stored[0] == '\0')
		return PASSDB_USER_UNKNOWN;
	*stored_r = stored[0] == '{' && strchr(stored, '}') != NULL ? stored :
		pool_printf(request_pool, "{%s}%s", db->default_scheme, stored);
	*fields_r = fields;
	return PASSDB_OK;
}

int sql_db_userdb_lookup(void *context, pool_t *request_pool,
			 const char *user, struct auth_user_fields *fields,
			 struct error *err)
{
	struct sql_db *db = context;
	struct sql_row row;
	const char *password;
	struct error sub;

	int ret = run_query(db, SQL_DB_USER_QUERY, request_pool, user, &row,
			    err);
	if (ret <= 0)
		return ret;
	/* Only a complete success changes what the caller sees. */
	struct auth_user_fields updated = *fields;
	if (sql_fields_apply(&row, &updated, &password, &sub) < 0) {
		error_set(err, sub.kind, "user_query: %s", sub.message);
		return -1;
	}
	*fields = updated;
	return 1;
}

void sql_db_destroy(void *context)
{
	struct sql_db *db = context;
	db->driver->close(db->conn);
}
