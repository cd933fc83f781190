/* Log lines to stderr or syslog; see log.h. */
#include "config.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* A log line longer than this is cut: syslog relays commonly cap lines
 * near 1-8 KiB, and one oversized user name must not flood the log. */
#define LOG_LINE_MAX 2048
/* Context fields (user names, addresses) are escaped into this much room. */
#define LOG_FIELD_MAX 256

static const char *log_role = "roost";
static enum log_target log_target = LOG_TARGET_STDERR;
static bool log_debug_on;
static int log_facility = LOG_MAIL;

void log_init(const char *role, enum log_target target, bool debug)
{
	log_role = role;
	log_target = target;
	log_debug_on = debug;
	if (target == LOG_TARGET_SYSLOG)
		openlog("roost", LOG_PID | LOG_NDELAY, log_facility);
}

bool log_set_facility(const char *name)
{
	static const struct {
		const char *name;
		int facility;
	} facilities[] = {
		{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
		if (strcmp(facilities[i].name, name) != 0)
			continue;
		if (facilities[i].facility != log_facility && log_target == LOG_TARGET_SYSLOG) {
			closelog();
			openlog("roost", LOG_PID | LOG_NDELAY, facilities[i].facility);
		}
		log_facility = facilities[i].facility;
		return true;
	}
	return false;
}

void log_deinit(void)
{
	if (log_target == LOG_TARGET_SYSLOG)
		closelog();
	log_target = LOG_TARGET_STDERR;
}

void log_set_role(const char *role)
{
	log_role = role;
}

void log_set_debug(bool debug)
{
	log_debug_on = debug;
}

bool log_debug_enabled(void)
{
	return log_debug_on;
}

char *log_escape(char *out, size_t outsize, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (outsize == 0)
		return out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= outsize)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outsize)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

static const char *level_name(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_DEBUG: return "debug";
	case LOG_LEVEL_INFO: return "info";
	case LOG_LEVEL_WARNING: return "warning";
	case LOG_LEVEL_ERROR: return "error";
	}
	return "?";
}

static int syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_DEBUG: return LOG_DEBUG;
	case LOG_LEVEL_INFO: return LOG_INFO;
	case LOG_LEVEL_WARNING: return LOG_WARNING;
	case LOG_LEVEL_ERROR: return LOG_ERR;
	}
	return LOG_NOTICE;
}

static void append_field(char *line, size_t *pos, const char *name,
			 const char *value)
{
	char esc[LOG_FIELD_MAX];
	if (value == NULL || *pos >= LOG_LINE_MAX)
		return;
	log_escape(esc, sizeof(esc), value, strlen(value));
	int n = snprintf(line + *pos, LOG_LINE_MAX - *pos, "%s=%s ", name, esc);
	if (n > 0)
		*pos += (size_t)n < LOG_LINE_MAX - *pos ? (size_t)n : LOG_LINE_MAX - *pos - 1;
}

void log_msg(enum log_level level, const struct log_context *ctx,
	     const char *fmt, ...)
{
	if (level == LOG_LEVEL_DEBUG && !log_debug_on)
		return;

	char line[LOG_LINE_MAX];
	size_t pos = 0;
	line[0] = '\0';
	if (ctx != NULL) {
		append_field(line, &pos, "session", ctx->session_id);
		append_field(line, &pos, "user", ctx->user);
		append_field(line, &pos, "rip", ctx->remote);
	}
	va_list ap;
	va_start(ap, fmt);
	char msg[LOG_LINE_MAX];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages may embed untrusted text through %s: neutralise line
	 * breaks and other control bytes so one line stays one line. */
	for (char *p = msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	snprintf(line + pos, sizeof(line) - pos, "%s", msg);

	if (log_target == LOG_TARGET_SYSLOG) {
		syslog(syslog_priority(level), "%s: %s: %s", log_role,
		       level_name(level), line);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld roost-%s[%ld]: %s: %s\n", stamp,
		ts.tv_nsec / 1000000, log_role, (long)getpid(),
		level_name(level), line);
}
