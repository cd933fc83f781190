/* getpwnam_r() with a growing buffer; see passwd-lookup.h. */
#include "config.h"
#include "passwd-lookup.h"
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

/* Room for an escaped user name in messages. */
#define PASSWD_LOOKUP_ESCAPED_MAX 256

/* getpwnam_r(3): depending on the NSS module, "no such user" is 0 with no
 * result, or one of these. */
static bool is_not_found(int ret)
{
	return ret == 0 || ret == ENOENT || ret == ESRCH || ret == EBADF ||
		ret == EPERM;
}

int passwd_lookup(pool_t *pool, const char *name, size_t buffer_initial,
		  size_t buffer_max, struct passwd_entry *entry_r,
		  struct error *err)
{
	char esc[PASSWD_LOOKUP_ESCAPED_MAX];
	size_t size = buffer_initial < buffer_max ? buffer_initial : buffer_max;
	struct passwd pw, *result;
	char *buf;
	int ret;

	for (;;) {
		buf = xmalloc(size);
		result = NULL;
		ret = getpwnam_r(name, &pw, buf, size, &result);
		if (ret != ERANGE || size >= buffer_max)
			break;
		free(buf);
		size = size > buffer_max / 2 ? buffer_max : size * 2;
	}

	if (result != NULL) {
		entry_r->name = pool_strdup(pool, pw.pw_name);
		entry_r->uid = pw.pw_uid;
		entry_r->gid = pw.pw_gid;
		entry_r->home = pool_strdup(pool, pw.pw_dir);
		free(buf);
		return 1;
	}
	free(buf);
	if (is_not_found(ret))
		return 0;

	log_escape(esc, sizeof(esc), name, strlen(name));
	if (ret == ERANGE) {
		error_set(err, ERROR_TEMP,
			  "passwd: the entry of user '%s' does not fit in "
			  "%zu bytes", esc, buffer_max);
	} else {
		errno = ret;
		error_set_errno(err, "passwd: getpwnam_r(%s) failed", esc);
		err->kind = ERROR_TEMP;
	}
	return -1;
}
