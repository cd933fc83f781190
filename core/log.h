/*
 * Logging. Each process calls log_init() once; every line carries the
 * process role and, when a struct log_context is given, the session id,
 * user and remote address. Messages are always printf formats written by
 * us: user-supplied text goes in as an argument ("%s"), never as a format.
 * Control bytes in arguments are escaped before the line is written so a
 * hostile user name cannot forge log lines.
 */
#ifndef ROOST_LOG_H
#define ROOST_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_ERROR,
};

enum log_target {
	LOG_TARGET_STDERR,
	LOG_TARGET_SYSLOG,   /* facility mail unless log_set_facility() */
};

struct log_context {
	const char *session_id;   /* may be NULL */
	const char *user;         /* may be NULL */
	const char *remote;       /* may be NULL */
};

/* role names the process: "master", "login", "auth", "mail". */
void log_init(const char *role, enum log_target target, bool debug);
void log_set_role(const char *role);
/* Closes the syslog connection (a child about to close inherited fds must
 * do this first, or syslog would write to whatever reuses the fd number);
 * log_init() opens it again. */
void log_deinit(void);
void log_set_debug(bool debug);
/* Syslog facility by name: mail (the default), daemon, user, local0 ..
 * local7; applies at once when logging to syslog. false: unknown name. */
bool log_set_facility(const char *name);
bool log_debug_enabled(void);

void log_msg(enum log_level level, const struct log_context *ctx,
	     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(...) \
	do { if (log_debug_enabled()) log_msg(LOG_LEVEL_DEBUG, NULL, __VA_ARGS__); } while (0)
#define log_info(...) log_msg(LOG_LEVEL_INFO, NULL, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, NULL, __VA_ARGS__)

/* Copies s into out (size outsize) with control bytes, backslashes and
 * non-ASCII bytes as \xNN; always NUL-terminates. For putting untrusted
 * text into log lines and messages. Returns out. */
char *log_escape(char *out, size_t outsize, const char *s, size_t len);

#endif
