/*
 * SQL query templates from the config, turned into parameterised SQL.
 *
 *   password_query = "SELECT password, home FROM users WHERE name = %{user}"
 *
 * becomes "SELECT password, home FROM users WHERE name = ?1" (SQLite) or
 * "... = $1" (PostgreSQL), and the user name is later BOUND to parameter
 * 1: user input never becomes SQL text. Variables: %{user} (the login
 * name), %{username} (before its last '@', all of it without one),
 * %{domain} (after it, "" without one); each distinct variable is one
 * parameter, numbered by first appearance, so a variable used twice binds
 * one value. "%%" is a literal '%'.
 *
 * The template is lexed the way the database will read it, so that a
 * variable inside a string literal ('...', E'...', $tag$...$tag$), a quoted
 * identifier ("...", `...`, [...]) or a comment (-- and C style) -- where
 * it could never be bound -- is refused, as is a raw placeholder (?, ?N,
 * $N, :name, @name, #name) that would take a parameter we do not know about. Errors are
 * ERROR_INVALID and start with "offset N: ", N counting bytes of the
 * template.
 */
#ifndef ROOST_SQL_QUERY_H
#define ROOST_SQL_QUERY_H

#include "error.h"
#include "pool.h"

enum sql_dialect {
	SQL_DIALECT_SQLITE,    /* ?N placeholders, `id` and [id] quoting */
	SQL_DIALECT_PGSQL,     /* $N placeholders, E'..', $tag$..$tag$, nested comments */
};

enum sql_var {
	SQL_VAR_USER,
	SQL_VAR_USERNAME,
	SQL_VAR_DOMAIN,
	SQL_VAR_COUNT,
};

/* Each distinct variable is one parameter. */
#define SQL_QUERY_PARAMS_MAX SQL_VAR_COUNT

struct sql_query {
	const char *sql;               /* with ?N / $N placeholders */
	unsigned param_count;
	enum sql_var params[SQL_QUERY_PARAMS_MAX];   /* parameter i+1 binds params[i] */
};

/* Parses template_text into *query_r (strings from pool); -1 with err set
 * (ERROR_INVALID) when it cannot be used. */
int sql_query_parse(pool_t *pool, const char *template_text,
		    enum sql_dialect dialect, struct sql_query *query_r,
		    struct error *err);

/* The values to bind for user: values_r[i] for parameter i+1, pointing
 * into strings from pool. */
void sql_query_values(pool_t *pool, const struct sql_query *query,
		      const char *user,
		      const char *values_r[SQL_QUERY_PARAMS_MAX]);

#endif
