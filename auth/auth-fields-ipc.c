/* User fields on internal line protocols; see auth-fields-ipc.h. */
#include "config.h"
#include "auth-fields-ipc.h"

#include "decimal.h"
#include "ipc-escape.h"

#include <stdio.h>
#include <string.h>

#define EXTRA_PREFIX "x."

void auth_fields_ipc_append_field(struct buffer *out, const char *key,
				  const char *value)
{
	if (value == NULL)
		return;
	buffer_printf(out, "\t%s=", key);
	ipc_escape_append(out, value, strlen(value));
}

void auth_fields_ipc_append_account(struct buffer *out,
				    const struct auth_user_fields *fields)
{
	if (fields->uid_set)
		buffer_printf(out, "\tuid=%lu", (unsigned long)fields->uid);
	if (fields->gid_set)
		buffer_printf(out, "\tgid=%lu", (unsigned long)fields->gid);
	auth_fields_ipc_append_field(out, "home", fields->home);
	auth_fields_ipc_append_field(out, "mail", fields->mail);
}

void auth_fields_ipc_append(struct buffer *out,
			    const struct auth_user_fields *fields)
{
	auth_fields_ipc_append_field(out, "user", fields->user);
	auth_fields_ipc_append_account(out, fields);
	if (fields->nologin)
		buffer_append_str(out, "\tnologin=1");
	for (unsigned i = 0; i < fields->extra_count; i++) {
		buffer_append_str(out, "\t" EXTRA_PREFIX);
		ipc_escape_append(out, fields->extra_keys[i],
				  strlen(fields->extra_keys[i]));
		buffer_append_str(out, "=");
		ipc_escape_append(out, fields->extra_values[i],
				  strlen(fields->extra_values[i]));
	}
}

static int parse_id(const char *text, unsigned long *id_r)
{
	uint64_t value;
	if (!decimal_parse_u64(text, strlen(text), &value) || value >= UINT32_MAX)
		return -1;
	*id_r = (unsigned long)value;
	return 0;
}

int auth_fields_ipc_parse(pool_t *pool, char **items, unsigned count,
			  struct auth_user_fields *fields)
{
	for (unsigned i = 0; i < count; i++) {
		char *eq = strchr(items[i], '=');
		if (eq == NULL)
			return -1;
		*eq = '\0';
		const char *key = items[i];
		char *value = ipc_unescape(pool, eq + 1, NULL);
		if (value == NULL)
			return -1;
		unsigned long id;
		if (strcmp(key, "user") == 0) {
			fields->user = value;
		} else if (strcmp(key, "uid") == 0) {
			if (parse_id(value, &id) < 0)
				return -1;
			fields->uid_set = true;
			fields->uid = (uid_t)id;
		} else if (strcmp(key, "gid") == 0) {
			if (parse_id(value, &id) < 0)
				return -1;
			fields->gid_set = true;
			fields->gid = (gid_t)id;
		} else if (strcmp(key, "home") == 0) {
			fields->home = value;
		} else if (strcmp(key, "mail") == 0) {
			fields->mail = value;
		} else if (strcmp(key, "nologin") == 0) {
			fields->nologin = true;
		} else if (strncmp(key, EXTRA_PREFIX, strlen(EXTRA_PREFIX)) == 0) {
			char *extra_key = ipc_unescape(pool, key + strlen(EXTRA_PREFIX), NULL);
			if (extra_key == NULL ||
			    auth_user_fields_set_extra(fields, extra_key, value) < 0)
				return -1;
		}
	}
	return 0;
}
