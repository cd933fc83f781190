/*
 * One result row of a password_query or user_query, mapped to the fields
 * of struct auth_user_fields by column name (case-insensitive, an optional
 * "userdb_" prefix removed as in passwd-file extra fields):
 *
 *   password   the stored password, "{SCHEME}data" or data in the
 *              db's default_scheme; never an extra field
 *   user       the canonical user name
 *   uid, gid   a number or a user / group name
 *   home, mail
 *   nologin    set when the value is non-empty and not 0, no, false, f,
 *              n or off (case-insensitive); a false value never clears a
 *              nologin set by an earlier database
 *   anything else becomes an extra field
 *
 * SQL NULL columns are skipped, as if the query had not selected them.
 */
#ifndef ROOST_SQL_FIELDS_H
#define ROOST_SQL_FIELDS_H

#include "auth-module.h"
#include "error.h"
#include "pool.h"

struct sql_row {
	unsigned count;
	const char **names;
	const char **values;      /* NULL for SQL NULL */
};

/* Applies row to fields, pointing at the row's strings (which must live
 * as long as fields), and the password column to *password_r (NULL when
 * there is none or it is NULL). Returns -1 with err set (naming the
 * column) for a bad uid/gid or too many extra fields; fields may then be
 * partly changed. */
int sql_fields_apply(const struct sql_row *row,
		     struct auth_user_fields *fields, const char **password_r,
		     struct error *err);

#endif
