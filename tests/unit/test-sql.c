/*
 * The SQL drivers' shared code (auth/sql/): query templates turned into
 * placeholders with the quoting rules that keep every variable bindable,
 * result rows mapped to user fields, and the passdb/userdb logic of
 * sql-db.c run against an in-memory driver.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-module.h"
#include "error.h"
#include "pool.h"
#include "sql-db.h"
#include "sql-fields.h"
#include "sql-query.h"

static pool_t *pool;
static struct error err;

static void setup(void)
{
	pool = pool_create();
	error_clear(&err);
}

static void teardown(void)
{
	pool_destroy(pool);
}

/* ---- templates ---- */

static const struct {
	enum sql_dialect dialect;
	const char *tmpl;
	const char *sql;
	unsigned count;
	enum sql_var params[SQL_QUERY_PARAMS_MAX];
} good_templates[] = {
	{ SQL_DIALECT_SQLITE, "SELECT password FROM users WHERE name = %{user}",
	  "SELECT password FROM users WHERE name = ?1", 1, { SQL_VAR_USER } },
	{ SQL_DIALECT_PGSQL, "SELECT password FROM users WHERE name = %{user}",
	  "SELECT password FROM users WHERE name = $1", 1, { SQL_VAR_USER } },
	/* Numbered by first appearance; a repeated variable reuses its number. */
	{ SQL_DIALECT_PGSQL,
	  "SELECT 1 WHERE u = %{username} AND d = %{domain} OR f = %{user} "
	  "OR u2 = %{username}",
	  "SELECT 1 WHERE u = $1 AND d = $2 OR f = $3 OR u2 = $1", 3,
	  { SQL_VAR_USERNAME, SQL_VAR_DOMAIN, SQL_VAR_USER } },
	{ SQL_DIALECT_SQLITE, "SELECT 1 WHERE a = %{domain} AND b = %{domain}",
	  "SELECT 1 WHERE a = ?1 AND b = ?1", 1, { SQL_VAR_DOMAIN } },
	/* "%%" is a '%', inside literals too. */
	{ SQL_DIALECT_SQLITE, "SELECT 1 WHERE a LIKE 'x%%' AND b = 5 %% 3",
	  "SELECT 1 WHERE a LIKE 'x%' AND b = 5 % 3", 0, { 0 } },
	/* Quotes doubled inside literals and identifiers do not end them. */
	{ SQL_DIALECT_SQLITE, "SELECT 'it''s', \"a\"\"b\" WHERE n = %{user}",
	  "SELECT 'it''s', \"a\"\"b\" WHERE n = ?1", 1, { SQL_VAR_USER } },
	{ SQL_DIALECT_SQLITE, "SELECT `x`, [y z] FROM t -- c\nWHERE n=%{user}",
	  "SELECT `x`, [y z] FROM t -- c\nWHERE n=?1", 1, { SQL_VAR_USER } },
	{ SQL_DIALECT_PGSQL, "SELECT /* a /* nested */ b */ 1 WHERE n=%{user}",
	  "SELECT /* a /* nested */ b */ 1 WHERE n=$1", 1, { SQL_VAR_USER } },
	/* PostgreSQL: dollar quotes, '$' inside identifiers, jsonb '?'. */
	{ SQL_DIALECT_PGSQL, "SELECT $t$it's$t$, a$b FROM t WHERE n = %{user}",
	  "SELECT $t$it's$t$, a$b FROM t WHERE n = $1", 1, { SQL_VAR_USER } },
	{ SQL_DIALECT_PGSQL, "SELECT 1 WHERE data ? 'k' AND n = %{user}",
	  "SELECT 1 WHERE data ? 'k' AND n = $1", 1, { SQL_VAR_USER } },
	{ SQL_DIALECT_PGSQL, "SELECT E'a\\'b' WHERE n = %{user}",
	  "SELECT E'a\\'b' WHERE n = $1", 1, { SQL_VAR_USER } },
	/* A placeholder stays a token of its own. */
	{ SQL_DIALECT_PGSQL, "SELECT x%{user}", "SELECT x $1", 1,
	  { SQL_VAR_USER } },
	{ SQL_DIALECT_SQLITE, "SELECT %{user}1", "SELECT ?1 1", 1,
	  { SQL_VAR_USER } },
};

START_TEST(templates_convert)
{
	struct sql_query q;
	ck_assert_msg(sql_query_parse(pool, good_templates[_i].tmpl,
				      good_templates[_i].dialect, &q,
				      &err) == 0,
		      "'%s': %s", good_templates[_i].tmpl, err.message);
	ck_assert_str_eq(q.sql, good_templates[_i].sql);
	ck_assert_uint_eq(q.param_count, good_templates[_i].count);
	for (unsigned i = 0; i < q.param_count; i++)
		ck_assert_int_eq(q.params[i], good_templates[_i].params[i]);
}
END_TEST

static const struct {
	enum sql_dialect dialect;
	const char *tmpl;
	const char *want;      /* part of the message */
} bad_templates[] = {
	{ SQL_DIALECT_SQLITE, "SELECT 1 WHERE n = '%{user}'",
	  "%{user} inside a string literal can never be bound" },
	{ SQL_DIALECT_PGSQL, "SELECT 1 WHERE n = 'a' || '%{domain}'",
	  "%{domain} inside a string literal" },
	{ SQL_DIALECT_PGSQL, "SELECT \"%{user}\" FROM t",
	  "inside a quoted identifier" },
	{ SQL_DIALECT_SQLITE, "SELECT [%{user}] FROM t",
	  "inside a quoted identifier" },
	{ SQL_DIALECT_SQLITE, "SELECT 1 -- n = %{user}", "inside a comment" },
	{ SQL_DIALECT_SQLITE, "SELECT 1 /* %{user} */", "inside a comment" },
	/* Nested: the variable is still in the outer comment. */
	{ SQL_DIALECT_PGSQL, "SELECT 1 /* /* */ %{user} */", "inside a comment" },
	/* The backslash escapes the quote: the variable is in the literal. */
	{ SQL_DIALECT_PGSQL, "SELECT E'\\' %{user}'", "inside a string literal" },
	{ SQL_DIALECT_PGSQL, "SELECT $x$ %{user} $x$", "inside a string literal" },
	{ SQL_DIALECT_SQLITE, "SELECT 1 WHERE n = 'it''s %{user}'",
	  "inside a string literal" },
	/* Raw placeholders would take parameters nobody binds. */
	{ SQL_DIALECT_SQLITE, "SELECT 1 WHERE n = ?", "a placeholder of its own ('?')" },
	{ SQL_DIALECT_SQLITE, "SELECT 1 WHERE n = ?1", "a placeholder of its own" },
	{ SQL_DIALECT_SQLITE, "SELECT 1 WHERE n = :name", "a placeholder of its own (':')" },
	{ SQL_DIALECT_SQLITE, "SELECT 1 WHERE n = @name", "a placeholder of its own" },
	{ SQL_DIALECT_SQLITE, "SELECT 1 WHERE n = $name", "a placeholder of its own" },
	{ SQL_DIALECT_SQLITE, "SELECT 1 WHERE n = #name", "a placeholder of its own ('#')" },
	/* Digits are identifier characters to SQLite: "@2" is a parameter
	 * (found by fuzz-sql-template). */
	{ SQL_DIALECT_SQLITE, "SELECT@2 FROM t", "a placeholder of its own ('@')" },
	{ SQL_DIALECT_SQLITE, "SELECT 1 WHERE n = :1", "a placeholder of its own (':')" },
	{ SQL_DIALECT_SQLITE, "SELECT 1 WHERE n = $1", "a placeholder of its own ('$')" },
	{ SQL_DIALECT_PGSQL, "SELECT 1 WHERE n = $1", "a placeholder of its own ('$')" },
	/* Variables and '%'. */
	{ SQL_DIALECT_SQLITE, "SELECT %{home}", "unknown variable %{home}" },
	{ SQL_DIALECT_SQLITE, "SELECT %{User}", "unknown variable %{User}" },
	{ SQL_DIALECT_PGSQL, "SELECT %{rip}", "%{rip} is not available" },
	{ SQL_DIALECT_SQLITE, "SELECT %{user", "offset 7: unterminated '%{'" },
	{ SQL_DIALECT_SQLITE, "SELECT 5 % 3", "lone '%' (write %% for" },
	{ SQL_DIALECT_SQLITE, "SELECT 'x%'", "lone '%' in a string literal" },
	/* Unterminated quotes and comments. */
	{ SQL_DIALECT_SQLITE, "SELECT 'abc", "offset 7: unterminated string literal" },
	{ SQL_DIALECT_PGSQL, "SELECT \"abc", "unterminated quoted identifier" },
	{ SQL_DIALECT_PGSQL, "SELECT /* /* */", "unterminated comment" },
	{ SQL_DIALECT_PGSQL, "SELECT $a$ x", "unterminated dollar-quoted string" },
	{ SQL_DIALECT_SQLITE, "", "the query is empty" },
};

START_TEST(templates_refused)
{
	struct sql_query q;
	ck_assert_int_eq(sql_query_parse(pool, bad_templates[_i].tmpl,
					 bad_templates[_i].dialect, &q, &err),
			 -1);
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_msg(strstr(err.message, bad_templates[_i].want) != NULL,
		      "'%s': '%s' lacks '%s'", bad_templates[_i].tmpl,
		      err.message, bad_templates[_i].want);
}
END_TEST

START_TEST(unknown_variable_escaped)
{
	struct sql_query q;
	ck_assert_int_eq(sql_query_parse(pool, "SELECT %{a\nb}",
					 SQL_DIALECT_SQLITE, &q, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "%{a\\x0ab}"));
}
END_TEST

static const struct {
	const char *user, *username, *domain;
} value_cases[] = {
	{ "alice@example.com", "alice", "example.com" },
	{ "bob", "bob", "" },
	{ "a@b@c.org", "a@b", "c.org" },
	{ "' OR '1'='1", "' OR '1'='1", "" },
	{ "%{user}@x", "%{user}", "x" },
};

START_TEST(values_split_the_user)
{
	struct sql_query q;
	const char *values[SQL_QUERY_PARAMS_MAX];
	ck_assert_int_eq(sql_query_parse(pool, "SELECT %{domain}, %{user}, "
					 "%{username}", SQL_DIALECT_PGSQL, &q,
					 &err), 0);
	sql_query_values(pool, &q, value_cases[_i].user, values);
	ck_assert_str_eq(values[0], value_cases[_i].domain);
	ck_assert_str_eq(values[1], value_cases[_i].user);
	ck_assert_str_eq(values[2], value_cases[_i].username);
}
END_TEST

/* ---- rows -> fields ---- */

static struct sql_row make_row(const char **names, const char **values,
			       unsigned count)
{
	struct sql_row row = { count, names, values };
	return row;
}

static const char *extra(const struct auth_user_fields *f, const char *key)
{
	for (unsigned i = 0; i < f->extra_count; i++) {
		if (strcmp(f->extra_keys[i], key) == 0)
			return f->extra_values[i];
	}
	return NULL;
}

START_TEST(row_maps_to_fields)
{
	const char *names[] = { "Password", "user", "uid", "gid", "home",
				"userdb_mail", "nologin", "quota", "userdb_x",
				"alias" };
	const char *values[] = { "{PLAIN}pw", "Alice@Example.com", "1001",
				 "1002", "/home/alice", "maildir:/m/alice",
				 "0", "1G", "y", NULL };
	struct sql_row row = make_row(names, values, 10);
	struct auth_user_fields f;
	const char *password;

	auth_user_fields_init(&f, "alice@example.com");
	ck_assert_int_eq(sql_fields_apply(&row, &f, &password, &err), 0);
	ck_assert_str_eq(password, "{PLAIN}pw");
	ck_assert_str_eq(f.user, "Alice@Example.com");
	ck_assert(f.uid_set && f.gid_set);
	ck_assert_uint_eq(f.uid, 1001);
	ck_assert_uint_eq(f.gid, 1002);
	ck_assert_str_eq(f.home, "/home/alice");
	ck_assert_str_eq(f.mail, "maildir:/m/alice");
	ck_assert(!f.nologin);
	/* Only what is left over is extra; the password never is, and a
	 * NULL column is as if not selected. */
	ck_assert_uint_eq(f.extra_count, 2);
	ck_assert_str_eq(extra(&f, "quota"), "1G");
	ck_assert_str_eq(extra(&f, "x"), "y");
	ck_assert_ptr_null(extra(&f, "alias"));
	ck_assert_ptr_null(extra(&f, "Password"));
}
END_TEST

START_TEST(null_columns_are_skipped)
{
	const char *names[] = { "password", "home", "uid" };
	const char *values[] = { NULL, NULL, NULL };
	struct sql_row row = make_row(names, values, 3);
	struct auth_user_fields f;
	const char *password = "x";

	auth_user_fields_init(&f, "u");
	f.home = "/from/passdb";
	ck_assert_int_eq(sql_fields_apply(&row, &f, &password, &err), 0);
	ck_assert_ptr_null(password);
	ck_assert_str_eq(f.home, "/from/passdb");
	ck_assert(!f.uid_set);
}
END_TEST

static const struct {
	const char *value;
	bool nologin;
} nologin_cases[] = {
	{ "1", true }, { "yes", true }, { "t", true }, { "TRUE", true },
	{ "locked", true }, { "0", false }, { "no", false }, { "f", false },
	{ "False", false }, { "off", false }, { "", false },
};

START_TEST(nologin_values)
{
	const char *names[] = { "nologin" };
	const char *values[] = { nologin_cases[_i].value };
	struct sql_row row = make_row(names, values, 1);
	struct auth_user_fields f;
	const char *password;

	auth_user_fields_init(&f, "u");
	ck_assert_int_eq(sql_fields_apply(&row, &f, &password, &err), 0);
	ck_assert_msg(f.nologin == nologin_cases[_i].nologin, "nologin '%s'",
		      nologin_cases[_i].value);
}
END_TEST

START_TEST(bad_uid_names_the_column)
{
	const char *names[] = { "uid" };
	const char *values[] = { "no-such-user-roost-test" };
	struct sql_row row = make_row(names, values, 1);
	struct auth_user_fields f;
	const char *password;

	auth_user_fields_init(&f, "u");
	ck_assert_int_eq(sql_fields_apply(&row, &f, &password, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "column 'uid'"));
}
END_TEST

START_TEST(too_many_extra_fields)
{
	const char *names[AUTH_EXTRA_FIELDS_MAX + 1];
	const char *values[AUTH_EXTRA_FIELDS_MAX + 1];
	for (unsigned i = 0; i <= AUTH_EXTRA_FIELDS_MAX; i++) {
		names[i] = pool_printf(pool, "x%u", i);
		values[i] = "v";
	}
	struct sql_row row = make_row(names, values, AUTH_EXTRA_FIELDS_MAX + 1);
	struct auth_user_fields f;
	const char *password;

	auth_user_fields_init(&f, "u");
	ck_assert_int_eq(sql_fields_apply(&row, &f, &password, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "more than"));
}
END_TEST

/* ---- sql-db.c against an in-memory driver ---- */

struct fake_user {
	const char *name;
	const char *columns[4];      /* names, NULL-terminated */
	const char *values[4];
};

static const struct fake_user fake_users[] = {
	{ "alice", { "password", "user", "home", NULL },
	  { "{PLAIN}secret", "Alice", "/home/alice", NULL } },
	{ "bare", { "password", NULL }, { "barepw", NULL } },
	{ "nopw", { "password", "home", NULL }, { NULL, "/home/nopw", NULL } },
	{ "nocolumn", { "home", NULL }, { "/home/x", NULL } },
	{ "baduid", { "password", "uid", NULL },
	  { "{PLAIN}x", "no-such-user-roost-test", NULL } },
	{ "twice", { "password", NULL }, { "{PLAIN}a", NULL } },
	{ "twice", { "password", NULL }, { "{PLAIN}b", NULL } },
};

static unsigned fake_calls;
static bool fake_fail;

static int fake_lookup(struct sql_db *db, enum sql_db_query which,
		       pool_t *request_pool, const char *const *values,
		       struct sql_row *row_r, struct error *error)
{
	unsigned found = 0;
	fake_calls++;
	ck_assert_uint_eq(db->queries[which].param_count, 1);
	if (fake_fail) {
		error_set(error, ERROR_TEMP, "the fake database is down");
		return -1;
	}
	for (size_t i = 0; i < sizeof(fake_users) / sizeof(fake_users[0]); i++) {
		const struct fake_user *u = &fake_users[i];
		if (strcmp(u->name, values[0]) != 0)
			continue;
		if (found++ > 0) {
			error_set(error, ERROR_PERM, "more than one row");
			return -1;
		}
		row_r->count = 0;
		while (u->columns[row_r->count] != NULL)
			row_r->count++;
		row_r->names = pool_memdup(request_pool, u->columns,
					   sizeof(u->columns));
		row_r->values = pool_memdup(request_pool, u->values,
					    sizeof(u->values));
	}
	return found > 0 ? 1 : 0;
}

static const struct sql_driver fake_driver = {
	.name = "fake", .dialect = SQL_DIALECT_SQLITE, .lookup = fake_lookup,
};

static struct sql_db *fake_db(bool passdb)
{
	struct sql_db_settings set = {
		.password_query = "SELECT password FROM u WHERE n = %{user}",
		.user_query = "SELECT home FROM u WHERE n = %{user}",
		.default_scheme = "PLAIN",
	};
	struct sql_db *db = sql_db_create(pool, &fake_driver, &set, passdb,
					  &err);
	ck_assert_msg(db != NULL, "%s", err.message);
	fake_fail = false;
	return db;
}

static enum passdb_result verify(struct sql_db *db, const char *user,
				 const char *password,
				 struct auth_user_fields *fields)
{
	auth_user_fields_init(fields, user);
	error_clear(&err);
	return sql_db_verify_plain(db, pool, user, password, fields, &err);
}

START_TEST(passdb_verify)
{
	struct sql_db *db = fake_db(true);
	struct auth_user_fields f;

	ck_assert_int_eq(verify(db, "alice", "secret", &f), PASSDB_OK);
	ck_assert_str_eq(f.user, "Alice");
	ck_assert_str_eq(f.home, "/home/alice");
	ck_assert_int_eq(verify(db, "alice", "Secret", &f),
			 PASSDB_PASSWORD_MISMATCH);
	ck_assert_int_eq(verify(db, "nobody-here", "secret", &f),
			 PASSDB_USER_UNKNOWN);
	/* Stored without a scheme: default_scheme (PLAIN here). */
	ck_assert_int_eq(verify(db, "bare", "barepw", &f), PASSDB_OK);
	ck_assert_str_eq(f.user, "bare");
	/* A NULL password logs nobody in, not even with "". */
	ck_assert_int_eq(verify(db, "nopw", "", &f), PASSDB_PASSWORD_MISMATCH);
}
END_TEST

START_TEST(passdb_errors)
{
	struct sql_db *db = fake_db(true);
	struct auth_user_fields f;

	ck_assert_int_eq(verify(db, "twice", "a", &f), PASSDB_INTERNAL_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, "password_query: more than one row"));
	ck_assert_int_eq(verify(db, "nocolumn", "x", &f), PASSDB_INTERNAL_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, "no 'password' column"));
	ck_assert_int_eq(verify(db, "baduid", "x", &f), PASSDB_INTERNAL_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, "column 'uid'"));
	fake_fail = true;
	ck_assert_int_eq(verify(db, "alice", "secret", &f), PASSDB_INTERNAL_ERROR);
	ck_assert_int_eq(err.kind, ERROR_TEMP);
	ck_assert_ptr_nonnull(strstr(err.message, "the fake database is down"));
}
END_TEST

START_TEST(passdb_credentials)
{
	struct sql_db *db = fake_db(true);
	struct auth_user_fields f;
	const char *stored = NULL;

	auth_user_fields_init(&f, "bare");
	ck_assert_int_eq(sql_db_lookup_credentials(db, pool, "bare", &stored,
						   &f, &err), PASSDB_OK);
	ck_assert_str_eq(stored, "{PLAIN}barepw");
	ck_assert_int_eq(sql_db_lookup_credentials(db, pool, "alice", &stored,
						   &f, &err), PASSDB_OK);
	ck_assert_str_eq(stored, "{PLAIN}secret");
	ck_assert_str_eq(f.user, "Alice");
	/* No password must not turn into "{PLAIN}" (an empty password). */
	ck_assert_int_eq(sql_db_lookup_credentials(db, pool, "nopw", &stored,
						   &f, &err),
			 PASSDB_USER_UNKNOWN);
	ck_assert_int_eq(sql_db_lookup_credentials(db, pool, "ghost", &stored,
						   &f, &err),
			 PASSDB_USER_UNKNOWN);
}
END_TEST

START_TEST(userdb_lookup)
{
	struct sql_db *db = fake_db(false);
	struct auth_user_fields f;

	auth_user_fields_init(&f, "alice");
	f.mail = "maildir:/from/passdb";
	ck_assert_int_eq(sql_db_userdb_lookup(db, pool, "alice", &f, &err), 1);
	ck_assert_str_eq(f.home, "/home/alice");
	ck_assert_str_eq(f.user, "Alice");
	ck_assert_str_eq(f.mail, "maildir:/from/passdb");
	ck_assert_int_eq(f.extra_count, 0);

	auth_user_fields_init(&f, "ghost");
	ck_assert_int_eq(sql_db_userdb_lookup(db, pool, "ghost", &f, &err), 0);

	/* A failure leaves the fields as they were. */
	auth_user_fields_init(&f, "baduid");
	f.home = "/kept";
	ck_assert_int_eq(sql_db_userdb_lookup(db, pool, "baduid", &f, &err), -1);
	ck_assert_str_eq(f.home, "/kept");
	ck_assert(!f.uid_set);
}
END_TEST

START_TEST(create_checks_settings)
{
	struct sql_db_settings set = { .default_scheme = "PLAIN" };
	ck_assert_ptr_null(sql_db_create(pool, &fake_driver, &set, true, &err));
	ck_assert_ptr_nonnull(strstr(err.message, "password_query is not set"));
	ck_assert_ptr_null(sql_db_create(pool, &fake_driver, &set, false, &err));
	ck_assert_ptr_nonnull(strstr(err.message, "user_query is not set"));

	set.password_query = "SELECT password WHERE n = '%{user}'";
	ck_assert_ptr_null(sql_db_create(pool, &fake_driver, &set, true, &err));
	ck_assert_ptr_nonnull(strstr(err.message, "fake: password_query: offset 27: %{user} inside"));

	set.password_query = "SELECT password WHERE n = %{user}";
	set.default_scheme = "NO-SUCH-SCHEME";
	ck_assert_ptr_null(sql_db_create(pool, &fake_driver, &set, true, &err));
	ck_assert_ptr_nonnull(strstr(err.message, "unknown default_scheme"));
}
END_TEST

static Suite *sql_suite(void)
{
	Suite *s = suite_create("sql");
	TCase *tc = tcase_create("query");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, templates_convert, 0,
			    sizeof(good_templates) / sizeof(good_templates[0]));
	tcase_add_loop_test(tc, templates_refused, 0,
			    sizeof(bad_templates) / sizeof(bad_templates[0]));
	tcase_add_test(tc, unknown_variable_escaped);
	tcase_add_loop_test(tc, values_split_the_user, 0,
			    sizeof(value_cases) / sizeof(value_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("fields");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, row_maps_to_fields);
	tcase_add_test(tc, null_columns_are_skipped);
	tcase_add_loop_test(tc, nologin_values, 0,
			    sizeof(nologin_cases) / sizeof(nologin_cases[0]));
	tcase_add_test(tc, bad_uid_names_the_column);
	tcase_add_test(tc, too_many_extra_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("db");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, passdb_verify);
	tcase_add_test(tc, passdb_errors);
	tcase_add_test(tc, passdb_credentials);
	tcase_add_test(tc, userdb_lookup);
	tcase_add_test(tc, create_checks_settings);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(sql_suite());
	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
