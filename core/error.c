/* Errors as values; see error.h. */
#include "config.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void error_setv(struct error *err, enum error_kind kind, const char *fmt,
		va_list ap)
{
	if (err == NULL)
		return;
	err->kind = kind;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

void error_set(struct error *err, enum error_kind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_setv(err, kind, fmt, ap);
	va_end(ap);
}

void error_set_errno(struct error *err, const char *fmt, ...)
{
	int saved = errno;
	if (err != NULL) {
		enum error_kind kind = ERROR_TEMP;
		if (saved == EACCES || saved == EPERM)
			kind = ERROR_PERM;
		else if (saved == ENOENT)
			kind = ERROR_NOT_FOUND;
		va_list ap;
		va_start(ap, fmt);
		error_setv(err, kind, fmt, ap);
		va_end(ap);
		size_t len = strlen(err->message);
		snprintf(err->message + len, sizeof(err->message) - len,
			 ": %s", strerror(saved));
	}
	errno = saved;
}

void error_clear(struct error *err)
{
	if (err == NULL)
		return;
	err->kind = ERROR_NONE;
	err->message[0] = '\0';
}
