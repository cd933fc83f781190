/* User fields filled by passdbs and userdbs; see auth-module.h. */
#include "config.h"
#include "auth-module.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* getpwnam_r/getgrnam_r need a scratch buffer whose size the system only
 * hints at; a group with thousands of members needs more than the hint,
 * so we retry with doubled sizes up to this cap (a bigger entry is a
 * broken name service, not a real group). */
#define AUTH_NSS_BUFFER_INITIAL 4096
#define AUTH_NSS_BUFFER_MAX (4U * 1024U * 1024U)
/* Room for an escaped name in messages. */
#define AUTH_NAME_ESCAPED_MAX 256

void auth_user_fields_init(struct auth_user_fields *fields, const char *user)
{
	memset(fields, 0, sizeof(*fields));
	fields->user = user;
}

int auth_user_fields_set_extra(struct auth_user_fields *fields,
			       const char *key, const char *value)
{
	for (unsigned i = 0; i < fields->extra_count; i++) {
		if (strcmp(fields->extra_keys[i], key) == 0) {
			fields->extra_values[i] = value;
			return 0;
		}
	}
	if (fields->extra_count >= AUTH_EXTRA_FIELDS_MAX)
		return -1;
	fields->extra_keys[fields->extra_count] = key;
	fields->extra_values[fields->extra_count] = value;
	fields->extra_count++;
	return 0;
}

/* A decimal id: digits only, and never (id_t)-1, which the kernel reads
 * as "unchanged" in setuid()/setgid() calls. Returns 1 when text is a
 * valid number, 0 when it is not a number at all, -1 when it is a number
 * out of range. */
static int parse_id_number(const char *text, uint32_t *id_r)
{
	uint64_t value = 0;

	if (text[0] < '0' || text[0] > '9')
		return 0;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		value = value * 10 + (uint64_t)(*p - '0');
		if (value >= UINT32_MAX)
			return -1;
	}
	*id_r = (uint32_t)value;
	return 1;
}

static const char *escaped(char *out, size_t out_size, const char *text)
{
	return log_escape(out, out_size, text, strlen(text));
}

/* Looks up a user (is_group false) or group name through NSS. */
static int resolve_name(const char *text, bool is_group, uint32_t *id_r,
			struct error *err)
{
	char esc[AUTH_NAME_ESCAPED_MAX];
	const char *what = is_group ? "group" : "user";
	size_t size = AUTH_NSS_BUFFER_INITIAL;
	long hint = sysconf(is_group ? _SC_GETGR_R_SIZE_MAX :
			    _SC_GETPW_R_SIZE_MAX);
	if (hint > 0 && (size_t)hint > size && (size_t)hint <= AUTH_NSS_BUFFER_MAX)
		size = (size_t)hint;

	for (;;) {
		char *buf = xmalloc(size);
		int ret;
		bool found;
		uint32_t id = 0;

		if (is_group) {
			struct group gr, *result = NULL;
			ret = getgrnam_r(text, &gr, buf, size, &result);
			found = ret == 0 && result != NULL;
			if (found)
				id = (uint32_t)gr.gr_gid;
		} else {
			struct passwd pw, *result = NULL;
			ret = getpwnam_r(text, &pw, buf, size, &result);
			found = ret == 0 && result != NULL;
			if (found)
				id = (uint32_t)pw.pw_uid;
		}
		free(buf);

		if (found) {
			*id_r = id;
			return 0;
		}
		if (ret == ERANGE && size < AUTH_NSS_BUFFER_MAX) {
			size *= 2;
			continue;
		}
		/* "Not found" comes back as 0, ENOENT, ESRCH, EBADF or
		 * EPERM depending on the NSS module (getpwnam_r(3)). */
		if (ret == 0 || ret == ENOENT || ret == ESRCH || ret == EBADF ||
		    ret == EPERM) {
			error_set(err, ERROR_INVALID, "unknown %s '%s'", what,
				  escaped(esc, sizeof(esc), text));
		} else {
			errno = ret;
			error_set_errno(err, "looking up %s '%s' failed", what,
					escaped(esc, sizeof(esc), text));
			err->kind = ERROR_TEMP;
		}
		return -1;
	}
}

static int parse_id(const char *text, bool is_group, uint32_t *id_r,
		    struct error *err)
{
	char esc[AUTH_NAME_ESCAPED_MAX];

	switch (parse_id_number(text, id_r)) {
	case 1:
		return 0;
	case -1:
		error_set(err, ERROR_INVALID, "%s id '%s' out of range",
			  is_group ? "group" : "user",
			  escaped(esc, sizeof(esc), text));
		return -1;
	default:
		break;
	}
	if (text[0] == '\0') {
		error_set(err, ERROR_INVALID, "empty %s",
			  is_group ? "gid" : "uid");
		return -1;
	}
	return resolve_name(text, is_group, id_r, err);
}

int auth_user_fields_parse_uid(const char *text, uid_t *uid_r,
			       struct error *err)
{
	uint32_t id;
	if (parse_id(text, false, &id, err) < 0)
		return -1;
	*uid_r = (uid_t)id;
	return 0;
}

int auth_user_fields_parse_gid(const char *text, gid_t *gid_r,
			       struct error *err)
{
	uint32_t id;
	if (parse_id(text, true, &id, err) < 0)
		return -1;
	*gid_r = (gid_t)id;
	return 0;
}
