/*
 * What roostctl can ask the master (control.h has the framing):
 *
 *   STOP                  stop the server (answer OK first)
 *   RELOAD                reload the configuration; FAIL "FILE:LINE: ..."
 *                         when the new one is refused
 *   WHO                   one line per login process, then one per
 *                         mail session
 *   KICK user             end the user's sessions (nothing deleted)
 *   USER user             the userdb's answer (auth LOOKUP)
 *   PASSTEST user b64pw rip   check a password (auth PASSTEST)
 *   MAILBOX user          messages and octets as POP3 STAT reports them
 *   STATS                 counters and gauges, "name value" per line
 *   DEBUG [user on|off]   per-user debug logging; without arguments the
 *                         list of users it is on for
 */
#include "config.h"
#include "control.h"

#include "auth-client.h"
#include "buffer.h"
#include "debug-users.h"
#include "ipc-escape.h"
#include "log.h"
#include "login-stats.h"
#include "master.h"
#include "pool.h"
#include "session-table.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* User names in answers and log lines are escaped into this much room. */
#define CONTROL_NAME_TEXT_MAX 256

struct pending {
	unsigned conn_id;
	char user[CONTROL_NAME_TEXT_MAX];   /* escaped, for messages */
	char *raw_user;
};

static struct pending *pending_new(unsigned conn_id, const char *user)
{
	struct pending *p = xmalloc(sizeof(*p));
	p->conn_id = conn_id;
	if (user != NULL) {
		log_escape(p->user, sizeof(p->user), user, strlen(user));
		p->raw_user = strdup(user);
	}
	return p;
}

static void pending_free(struct pending *p)
{
	free(p->raw_user);
	free(p);
}

/* Formats and sends one answer line, or (final) the failure. */
static void vreply(unsigned id, bool final, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void vreply(unsigned id, bool final, const char *fmt, va_list ap)
{
	struct buffer msg;
	buffer_init(&msg);
	buffer_vprintf(&msg, fmt, ap);
	if (final)
		control_reply_done(id, false, msg.data);
	else
		control_reply_line(id, msg.data);
	buffer_free(&msg);
}

static void fail(unsigned id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(unsigned id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply(id, true, fmt, ap);
	va_end(ap);
}

static void line(unsigned id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(unsigned id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply(id, false, fmt, ap);
	va_end(ap);
}

static const char *no_answer =
	"the auth process did not answer (is the server starting, or is auth overloaded?)";

/* Writes the key=value fields of a USER reply, one per line. */
static void reply_user_fields(unsigned id, char **f, unsigned n)
{
	pool_t *pool = pool_create();
	char esc[CONTROL_NAME_TEXT_MAX * 4];
	const char *user = n >= 3 ? ipc_unescape(pool, f[2], NULL) : NULL;
	if (user != NULL)
		line(id, "user=%s", log_escape(esc, sizeof(esc), user, strlen(user)));
	for (unsigned i = 3; i < n; i++) {
		char *eq = strchr(f[i], '=');
		size_t vlen;
		const char *value = eq != NULL ? ipc_unescape(pool, eq + 1, &vlen) : NULL;
		if (value == NULL)
			continue;
		*eq = '\0';
		char key[CONTROL_NAME_TEXT_MAX];
		line(id, "%s=%s", log_escape(key, sizeof(key), f[i], strlen(f[i])),
		     log_escape(esc, sizeof(esc), value, vlen));
		*eq = '=';
	}
	pool_destroy(pool);
}

/* ---- USER ---- */

static void user_reply(void *context, char **f, unsigned n)
{
	struct pending *p = context;
	if (f == NULL)
		fail(p->conn_id, "%s", no_answer);
	else if (strcmp(f[0], "USER") == 0) {
		reply_user_fields(p->conn_id, f, n);
		control_reply_done(p->conn_id, true, NULL);
	} else if (strcmp(f[0], "NOTFOUND") == 0)
		fail(p->conn_id, "unknown user %s", p->user);
	else
		fail(p->conn_id, "looking up %s failed (%s); see the log", p->user,
		     n >= 3 ? f[2] : "no reason given");
	pending_free(p);
}

static void cmd_user(unsigned id, char **args, unsigned n)
{
	const char *a[] = { args[1] };
	auth_client_request("LOOKUP", a, 1, user_reply, pending_new(id, args[1]));
}

/* ---- PASSTEST ---- */

static void passtest_reply(void *context, char **f, unsigned n)
{
	struct pending *p = context;
	if (f == NULL) {
		fail(p->conn_id, "%s", no_answer);
	} else if (strcmp(f[0], "USER") == 0) {
		reply_user_fields(p->conn_id, f, n);
		control_reply_done(p->conn_id, true, NULL);
	} else {
		pool_t *pool = pool_create();
		char reason[CONTROL_NAME_TEXT_MAX];
		const char *r = n >= 3 ? ipc_unescape(pool, f[2], NULL) : NULL;
		if (r == NULL)
			r = "no reason given";
		fail(p->conn_id, "authentication of %s failed: %s", p->user,
		     log_escape(reason, sizeof(reason), r, strlen(r)));
		pool_destroy(pool);
	}
	pending_free(p);
}

static void cmd_passtest(unsigned id, char **args, unsigned n)
{
	const char *a[] = { args[1], args[2], args[3] };
	auth_client_request("PASSTEST", a, 3, passtest_reply, pending_new(id, args[1]));
	/* The password went out; our copy is not needed any more. */
	memset(args[2], 0, strlen(args[2]));
}

/* ---- MAILBOX ---- */

static void mailbox_result(void *context, const char *result)
{
	struct pending *p = context;
	char *copy = strdup(result);
	char *f[3];
	unsigned n = copy != NULL ? ipc_split(copy, f, 3) : 0;
	if (n == 3 && strcmp(f[0], "OK") == 0) {
		line(p->conn_id, "messages=%s", f[1]);
		line(p->conn_id, "octets=%s", f[2]);
		control_reply_done(p->conn_id, true, NULL);
	} else if (n == 3 && strcmp(f[1], "in-use") == 0) {
		fail(p->conn_id, "the mailbox of %s is locked by a POP3 session", p->user);
	} else {
		pool_t *pool = pool_create();
		const char *msg = n == 3 ? ipc_unescape(pool, f[2], NULL) : NULL;
		char esc[ERROR_MESSAGE_MAX];
		fail(p->conn_id, "cannot read the mailbox of %s: %s", p->user,
		     msg != NULL ? log_escape(esc, sizeof(esc), msg, strlen(msg)) : "no answer");
		pool_destroy(pool);
	}
	free(copy);
	pending_free(p);
}

static void mailbox_lookup_reply(void *context, char **f, unsigned n)
{
	struct pending *p = context;
	struct error err;
	if (f == NULL || strcmp(f[0], "USER") != 0) {
		if (f == NULL)
			fail(p->conn_id, "%s", no_answer);
		else if (strcmp(f[0], "NOTFOUND") == 0)
			fail(p->conn_id, "unknown user %s", p->user);
		else
			fail(p->conn_id, "looking up %s failed; see the log", p->user);
		pending_free(p);
		return;
	}
	if (master_mailbox_status(p->raw_user, f + 3, n - 3, mailbox_result, p, &err) < 0) {
		fail(p->conn_id, "%s", err.message);
		pending_free(p);
	}
	/* In a just-forked child this returns too: p simply stays. */
}

static void cmd_mailbox(unsigned id, char **args, unsigned n)
{
	char user[CONTROL_NAME_TEXT_MAX];
	log_escape(user, sizeof(user), args[1], strlen(args[1]));
	for (const struct master_session *s = session_table_first(); s != NULL; s = s->next) {
		if (strcmp(s->user, args[1]) != 0)
			continue;
		fail(id, "%s is logged in (POP3 session %s from %s, pid %ld): its session holds "
		     "the mailbox; try again after it logs out, or roostctl kick %s",
		     user, s->session_id, s->rip, (long)s->pid, user);
		return;
	}
	const char *a[] = { args[1] };
	auth_client_request("LOOKUP", a, 1, mailbox_lookup_reply, pending_new(id, args[1]));
}

/* ---- WHO, KICK, DEBUG ---- */

static void cmd_who(unsigned id, char **args, unsigned n)
{
	/* Login processes first: their clients before login (and the
	 * sessions they relay), as they last reported (login-stats.h). */
	for (const struct login_stats_process *p = login_stats_first(); p != NULL;
	     p = p->next)
		line(id, "login=%ld preauth=%u relayed=%u proxied=%u", (long)p->pid,
		     p->preauth, p->relayed, p->proxied);
	for (const struct master_session *s = session_table_first(); s != NULL; s = s->next) {
		char user[CONTROL_NAME_TEXT_MAX], since[32];
		struct tm tm;
		gmtime_r(&s->since, &tm);
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
		line(id, "user=%s rip=%s state=%s since=%s octets_sent=%" PRIu64
		     " tls=%s pid=%ld session=%s",
		     log_escape(user, sizeof(user), s->user, strlen(s->user)), s->rip,
		     s->state, since, s->counters.octets_sent, s->tls ? "yes" : "no",
		     (long)s->pid, s->session_id);
	}
	control_reply_done(id, true, NULL);
}

static void cmd_kick(unsigned id, char **args, unsigned n)
{
	char user[CONTROL_NAME_TEXT_MAX];
	log_escape(user, sizeof(user), args[1], strlen(args[1]));
	unsigned count = session_table_kick(args[1]);
	if (count == 0) {
		fail(id, "%s has no session", user);
		return;
	}
	log_info("roostctl kick %s: %u session%s", user, count, count == 1 ? "" : "s");
	line(id, "kicked %u session%s of %s", count, count == 1 ? "" : "s", user);
	control_reply_done(id, true, NULL);
}

static void cmd_debug(unsigned id, char **args, unsigned n)
{
	if (n == 1) {
		const char *u;
		for (unsigned i = 0; (u = debug_users_get(i)) != NULL; i++) {
			char user[CONTROL_NAME_TEXT_MAX];
			line(id, "%s", log_escape(user, sizeof(user), u, strlen(u)));
		}
		control_reply_done(id, true, NULL);
		return;
	}
	bool on = strcmp(args[2], "on") == 0;
	char user[CONTROL_NAME_TEXT_MAX];
	log_escape(user, sizeof(user), args[1], strlen(args[1]));
	if (debug_users_set(args[1], on) < 0) {
		fail(id, "debug logging is already on for %d users; switch some off first",
		     DEBUG_USERS_MAX);
		return;
	}
	session_table_debug(args[1], on);
	log_info("roostctl debug %s %s", user, on ? "on" : "off");
	control_reply_done(id, true, NULL);
}

/* ---- STATS, RELOAD, STOP ---- */

static void stats_ready(void *context)
{
	unsigned id = (unsigned)(uintptr_t)context;
	struct buffer out;
	buffer_init(&out);
	master_stats_write(&out, METRICS_FORMAT_STATS);
	/* One record per line, so roostctl needs no second format. */
	char *p = out.data, *end = out.data + out.len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		*nl = '\0';
		control_reply_line(id, p);
		p = nl + 1;
	}
	buffer_free(&out);
	control_reply_done(id, true, NULL);
}

static void cmd_stats(unsigned id, char **args, unsigned n)
{
	master_stats_refresh(stats_ready, (void *)(uintptr_t)id);
}

static void cmd_reload(unsigned id, char **args, unsigned n)
{
	struct error err;
	log_info("Reload requested by roostctl");
	if (master_reload(&err) < 0) {
		fail(id, "%s", err.message);
		return;
	}
	control_reply_done(id, true, NULL);
}

static void cmd_stop(unsigned id, char **args, unsigned n)
{
	log_info("Stopping (roostctl stop)");
	control_keep_open(id);
	control_reply_done(id, true, NULL);
	master_stop();
}

struct command {
	const char *name;
	unsigned min_args, max_args;    /* besides the name */
	void (*run)(unsigned id, char **args, unsigned n);
};

static const struct command commands[] = {
	{ "STOP", 0, 0, cmd_stop },
	{ "RELOAD", 0, 0, cmd_reload },
	{ "WHO", 0, 0, cmd_who },
	{ "KICK", 1, 1, cmd_kick },
	{ "USER", 1, 1, cmd_user },
	{ "PASSTEST", 3, 3, cmd_passtest },
	{ "MAILBOX", 1, 1, cmd_mailbox },
	{ "STATS", 0, 0, cmd_stats },
	{ "DEBUG", 0, 2, cmd_debug },
};

void control_command(unsigned id, char **args, unsigned n)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		if (strcmp(args[0], c->name) != 0)
			continue;
		bool debug_bad = c->run == cmd_debug && n != 1 &&
			(n != 3 || (strcmp(args[2], "on") != 0 && strcmp(args[2], "off") != 0));
		if (n - 1 < c->min_args || n - 1 > c->max_args || debug_bad) {
			fail(id, "wrong arguments for %s", c->name);
			return;
		}
		for (unsigned a = 1; a < n; a++) {
			if (args[a][0] == '\0') {
				fail(id, "empty argument for %s", c->name);
				return;
			}
		}
		c->run(id, args, n);
		return;
	}
	char esc[64];
	fail(id, "unknown command %s", log_escape(esc, sizeof(esc), args[0], strlen(args[0])));
}
