/*
 * Errors travel as values. A function that can fail takes a
 * `struct error *err`, returns -1 (or NULL) on failure and fills err with a
 * kind and a human-readable message. The caller decides whether and how to
 * log it. err may be passed down unchanged; error_set() overwrites.
 *
 * The kind maps to what a client is told: TEMP -> [SYS/TEMP], PERM ->
 * [SYS/PERM], IN_USE -> [IN-USE]; the message itself goes to the log only.
 */
#ifndef ROOST_ERROR_H
#define ROOST_ERROR_H

#include <stdarg.h>

/* Long enough for a path, a file:line and an strerror text. */
#define ERROR_MESSAGE_MAX 512

enum error_kind {
	ERROR_NONE = 0,
	ERROR_TEMP,      /* try again later: I/O error, timeout, lock busy */
	ERROR_PERM,      /* will not work until an admin acts */
	ERROR_IN_USE,    /* mailbox locked by another session */
	ERROR_NOT_FOUND,
	ERROR_INVALID,   /* bad input: config, arguments, protocol data */
};

struct error {
	enum error_kind kind;
	char message[ERROR_MESSAGE_MAX];
};

void error_set(struct error *err, enum error_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void error_setv(struct error *err, enum error_kind kind, const char *fmt,
		va_list ap) __attribute__((format(printf, 3, 0)));
/* error_set() with ": strerror(errno)" appended. The kind follows errno:
 * EACCES/EPERM -> PERM, ENOENT -> NOT_FOUND, anything else -> TEMP.
 * Preserves errno. */
void error_set_errno(struct error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void error_clear(struct error *err);

#endif
