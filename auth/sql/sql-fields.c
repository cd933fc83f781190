/* SQL result rows -> auth_user_fields; see sql-fields.h. */
#include "config.h"
#include "sql-fields.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Marks a userdb field in Dovecot-style queries (and passwd-file). */
#define SQL_FIELDS_USERDB_PREFIX "userdb_"

static bool nologin_value(const char *value)
{
	static const char *const off[] = {
		"0", "no", "false", "f", "n", "off",
	};
	if (value[0] == '\0')
		return false;
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		if (strcasecmp(value, off[i]) == 0)
			return false;
	}
	return true;
}

static int apply_one(const char *column, const char *value,
		     struct auth_user_fields *fields, const char **password_r,
		     struct error *err)
{
	struct error sub;
	const char *name = column;
	size_t prefix_len = strlen(SQL_FIELDS_USERDB_PREFIX);

	if (strncasecmp(name, SQL_FIELDS_USERDB_PREFIX, prefix_len) == 0 &&
	    name[prefix_len] != '\0')
		name += prefix_len;

	if (strcasecmp(name, "password") == 0) {
		*password_r = value;
	} else if (strcasecmp(name, "user") == 0) {
		fields->user = value;
	} else if (strcasecmp(name, "uid") == 0) {
		if (auth_user_fields_parse_uid(value, &fields->uid, &sub) < 0) {
			error_set(err, sub.kind, "column '%s': %s", column,
				  sub.message);
			return -1;
		}
		fields->uid_set = true;
	} else if (strcasecmp(name, "gid") == 0) {
		if (auth_user_fields_parse_gid(value, &fields->gid, &sub) < 0) {
			error_set(err, sub.kind, "column '%s': %s", column,
				  sub.message);
			return -1;
		}
		fields->gid_set = true;
	} else if (strcasecmp(name, "home") == 0) {
		fields->home = value;
	} else if (strcasecmp(name, "mail") == 0) {
		fields->mail = value;
	} else if (strcasecmp(name, "nologin") == 0) {
		if (nologin_value(value))
			fields->nologin = true;
	} else if (auth_user_fields_set_extra(fields, name, value) < 0) {
		error_set(err, ERROR_PERM,
			  "column '%s': more than %u extra fields together "
			  "with the other databases'", column,
			  AUTH_EXTRA_FIELDS_MAX);
		return -1;
	}
	return 0;
}

int sql_fields_apply(const struct sql_row *row,
		     struct auth_user_fields *fields, const char **password_r,
		     struct error *err)
{
	*password_r = NULL;
	for (unsigned i = 0; i < row->count; i++) {
		if (row->values[i] == NULL)
			continue;
		if (apply_one(row->names[i], row->values[i], fields,
			      password_r, err) < 0)
			return -1;
	}
	return 0;
}
