/*
 * The login process core; see login.h and protocol.h.
 *
 * Wire formats (TAB-separated, fields escaped with ipc-escape):
 *   to auth:    AUTH id mech rip flags [resp]  |  CONT id resp  |  CANCEL id
 *   from auth:  MECH mech... (first, on connect: the offered mechanisms,
 *               APOP among them when enabled) |
 *               CONT id challenge | OK id cookie user [proxy fields] |
 *               FAIL id code
 *   (auth/auth-daemon.c has the full description.)
 *   to master:  HANDOVER id cookie protocol session rip tls input (+ fd) |
 *               STATS preauth relayed proxied [listener accepted]...
 *               (core/master/login-stats.h)
 *   from master: DONE id OK | DONE id TEMP | DONE id PERM
 */
#include "config.h"
#include "login.h"

#include "auth-mechanisms.h"
#include "fd-passing.h"
#include "ipc-escape.h"
#include "log.h"
#include "login-proxy.h"
#include "memory-release.h"
#include "module.h"
#include "privilege-drop.h"
#include "process-title.h"
#include "protocol.h"
#include "stream.h"
#include "tls-context.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Pre-auth input: commands are short and SASL lines at most 8 KiB; 16 KiB
 * bounds what a client can make us hold before login. */
#define LOGIN_INPUT_MAX (16 * 1024)
/* Replies from auth are short lines; a larger one is a protocol error. */
#define LOGIN_AUTH_REPLY_MAX 16384
/* HANDOVER carries pipelined input (<= LOGIN_INPUT_MAX, escaped up to 2x). */
#define LOGIN_HANDOVER_MAX (2 * LOGIN_INPUT_MAX + 1024)
/* Relay buffers between the TLS client and the mail worker. */
#define LOGIN_RELAY_INPUT_MAX (64 * 1024)
/* Fields in a reply from auth: MECH has one per mechanism (5 today). */
#define LOGIN_AUTH_FIELDS_MAX 16
/* Room for the MECH list ("PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256"). */
#define LOGIN_MECHANISMS_MAX 256
/* Clients are accepted once auth said which mechanisms it offers (the
 * greeting depends on APOP); until then we retry connecting this often. */
#define LOGIN_AUTH_RETRY_MS 1000
/* An auth process that cannot start (a broken passdb) must not leave
 * clients without a greeting: after this long we accept them anyway,
 * offering what the settings name, and logins fail [SYS/TEMP] until auth
 * is back (its MECH line then replaces the list). */
#define LOGIN_AUTH_WAIT_MS 5000
/* A client we decided to drop gets this long to receive its last line; a
 * client that never reads must not keep its slot. */
#define LOGIN_CLOSE_GRACE_MS 5000
/* Replies still queued at hand-over travel with the connection; a client
 * with more than this unread is not reading and is refused. */
#define LOGIN_HANDOVER_OUTPUT_MAX 8192
/* Client counts go to the master at most this often, a while after a
 * change: roostctl who and the metrics may be this stale, and a busy
 * process costs the master one message a second. */
#define LOGIN_STATS_INTERVAL_MS 1000
/* STATS: four fields plus an escaped name and a count per listener. */
#define LOGIN_STATS_MESSAGE_MAX 4096

enum client_state {
	CLIENT_PREAUTH,
	CLIENT_HANDOVER,   /* waiting for the master's DONE */
	CLIENT_PROXY,      /* logging in on a back end (login-proxy.h) */
	CLIENT_RELAY,      /* relayed to its mail worker (TLS clients) or
			      to its back end (proxied clients) */
};

struct client_core {
	struct login_client *client;
	struct client_core *prev, *next;
	enum client_state state;
	bool implicit_tls;
	bool destroyed;
	const char *protocol;
	unsigned auth_id;
	char *auth_user;
	struct event_timer *idle_timer;
	int handover_fd;          /* client fd or our relay end's peer */
	struct stream *relay;     /* to the mail worker or the back end */
	int relay_local_fd;
	struct login_proxy *proxy;  /* proxied: until relaying starts */
	bool proxied;
};

struct login_state {
	const struct roost_settings *set;
	struct event_loop *loop;
	struct tls_context *tls;
	const struct protocol_ops *protocol;
	struct login_listener_fd *listeners;
	struct event_io **listener_ios;
	unsigned listeners_count;
	bool accepting;
	bool retiring;
	unsigned client_count;
	struct client_core *clients;
	/* malloc_trim() after a burst of clients (memory-release.h) */
	struct memory_release *memory;
	unsigned next_auth_id;
	struct stream *auth;
	struct event_timer *auth_retry;
	struct event_timer *auth_wait;
	bool mechanisms_known;     /* a MECH line arrived */
	bool apop;
	char mechanisms[LOGIN_MECHANISMS_MAX];
	char auth_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int master_fd;
	struct event_io *master_io;
	int exit_status;
	uint64_t *accepted;          /* per listener */
	struct event_timer *stats_timer;
};

static struct login_state L;

const char *login_sasl_mechanisms(void)
{
	return L.mechanisms;
}

bool login_apop_enabled(void)
{
	return L.apop;
}

static void update_accepting(void);
static void stats_changed(void);
static void client_free(struct client_core *cc);
static void auth_cancel(struct client_core *cc);

/* ---- client lifetime ---- */

static void client_unlink(struct client_core *cc)
{
	if (cc->prev != NULL)
		cc->prev->next = cc->next;
	else
		L.clients = cc->next;
	if (cc->next != NULL)
		cc->next->prev = cc->prev;
	cc->prev = cc->next = NULL;
}

static void client_free(struct client_core *cc)
{
	if (cc->destroyed)
		return;
	cc->destroyed = true;
	struct login_client *client = cc->client;
	if (cc->state == CLIENT_PREAUTH || cc->state == CLIENT_HANDOVER ||
	    cc->state == CLIENT_PROXY)
		L.protocol->login->client_destroy(client);
	login_proxy_free(cc->proxy);
	cc->proxy = NULL;
	auth_cancel(cc);   /* let auth drop the exchange and its memory */
	event_timer_remove(cc->idle_timer);
	stream_destroy(client->stream);
	stream_destroy(cc->relay);
	if (cc->handover_fd >= 0)
		close(cc->handover_fd);
	if (cc->relay == NULL && cc->relay_local_fd >= 0)
		close(cc->relay_local_fd);   /* hand-over never completed */
	client_unlink(cc);
	L.client_count--;
	stats_changed();
	if (L.memory != NULL)
		memory_release_note_clients(L.memory, L.client_count);
	pool_destroy(client->pool);
	update_accepting();
	if (L.retiring && L.client_count == 0)
		event_loop_stop(L.loop);
}

static void client_close_deadline(void *context)
{
	struct client_core *cc = context;
	cc->idle_timer = NULL;
	log_msg(LOG_LEVEL_INFO, &cc->client->log,
		"Closing: the client did not take its last reply in time");
	client_free(cc);
}

void login_client_disconnect(struct login_client *client, const char *reason)
{
	struct client_core *cc = client->core_data;
	log_msg(LOG_LEVEL_INFO, &client->log, "Login aborted: %s", reason);
	/* The idle timer becomes a hard deadline for the goodbye. */
	event_timer_remove(cc->idle_timer);
	cc->idle_timer = event_timer_add(L.loop, LOGIN_CLOSE_GRACE_MS,
					 client_close_deadline, cc);
	stream_finish(client->stream);
}

static void client_idle(void *context)
{
	struct client_core *cc = context;
	cc->idle_timer = NULL;
	L.protocol->login->client_notify_disconnect(cc->client, "Disconnected for inactivity.");
	login_client_disconnect(cc->client, "Idle timeout before login");
}

/* ---- relay for TLS sessions after hand-over ---- */

static void relay_pump(struct stream *from, struct stream *to)
{
	struct buffer *in = stream_input(from);
	if (in->len > 0) {
		stream_write(to, in->data, in->len);
		buffer_reset(in);
	}
	if (stream_output_full(to))
		stream_input_pause(from);
	else
		stream_input_resume(from);
}

static void relay_client_input(struct client_core *cc)
{
	relay_pump(cc->client->stream, cc->relay);
}

static void relay_worker_input(void *context)
{
	struct client_core *cc = context;
	relay_pump(cc->relay, cc->client->stream);
}

static void relay_worker_drained(void *context)
{
	struct client_core *cc = context;
	stream_input_resume(cc->client->stream);
}

static void relay_worker_closed(void *context, const char *reason)
{
	/* The worker ended the session: deliver its last words, then close. */
	struct client_core *cc = context;
	stream_destroy(cc->relay);
	cc->relay = NULL;
	stream_finish(cc->client->stream);
}

static const struct stream_callbacks relay_callbacks = {
	.input = relay_worker_input,
	.drained = relay_worker_drained,
	.closed = relay_worker_closed,
};

/* ---- client stream callbacks ---- */

static void client_stream_input(void *context)
{
	struct client_core *cc = context;
	if (cc->state == CLIENT_RELAY) {
		relay_client_input(cc);
		return;
	}
	if (cc->state != CLIENT_PREAUTH)
		return;
	if (cc->idle_timer != NULL)
		event_timer_reset(cc->idle_timer, L.set->login_idle_timeout);
	L.protocol->login->client_input(cc->client);
}

static void client_stream_drained(void *context)
{
	struct client_core *cc = context;
	if (cc->state == CLIENT_RELAY && cc->relay != NULL)
		stream_input_resume(cc->relay);
	else if (cc->state == CLIENT_PREAUTH && !cc->client->auth_pending)
		L.protocol->login->client_input(cc->client);   /* was waiting for output room */
}

static void client_stream_closed(void *context, const char *reason)
{
	struct client_core *cc = context;
	if (reason != NULL && cc->state == CLIENT_PREAUTH)
		log_msg(LOG_LEVEL_INFO, &cc->client->log, "Disconnected before login: %s", reason);
	if (cc->state == CLIENT_RELAY && cc->relay != NULL) {
		/* Client gone: let the worker see EOF after what is queued. */
		struct stream *relay = cc->relay;
		cc->relay = NULL;
		stream_destroy(relay);
	}
	client_free(cc);
}

static void client_stream_tls_ready(void *context)
{
	struct client_core *cc = context;
	struct login_client *client = cc->client;
	client->tls_active = true;
	client->plaintext_allowed = true;
	log_msg(LOG_LEVEL_DEBUG, &client->log, "TLS established: %s",
		stream_tls_description(client->stream));
	L.protocol->login->client_tls_ready(client);
}

static const struct stream_callbacks client_callbacks = {
	.input = client_stream_input,
	.drained = client_stream_drained,
	.closed = client_stream_closed,
	.tls_ready = client_stream_tls_ready,
};

int login_client_start_tls(struct login_client *client, struct error *err)
{
	if (L.tls == NULL) {
		error_set(err, ERROR_PERM, "TLS is not configured");
		return -1;
	}
	return stream_start_tls(client->stream, L.tls, err);
}

/* ---- talking to auth ---- */

static struct client_core *client_by_auth_id(unsigned id)
{
	for (struct client_core *cc = L.clients; cc != NULL; cc = cc->next) {
		if (cc->auth_id == id)
			return cc;
	}
	return NULL;
}

static void auth_reply_to_client(struct client_core *cc,
				 enum login_auth_status status, const char *data)
{
	struct login_client *client = cc->client;
	/* After a challenge we wait for the client, not for auth; the
	 * exchange (auth_id) lives on until a final answer. */
	client->auth_pending = false;
	if (status != LOGIN_AUTH_CONTINUE)
		cc->auth_id = 0;
	L.protocol->login->client_auth_reply(client, status, data);
}

static void auth_failed_all(void)
{
	/* Auth went away: every exchange in flight fails temporarily. */
	for (struct client_core *cc = L.clients, *next; cc != NULL; cc = next) {
		next = cc->next;
		if (cc->auth_id != 0 && cc->state == CLIENT_PREAUTH)
			auth_reply_to_client(cc, LOGIN_AUTH_TEMPFAIL, NULL);
	}
}

static void handover_start(struct client_core *cc, const char *cookie);
static void handover_done(struct client_core *cc, const char *result);
static void relay_worker_input(void *context);

struct login_proxy *login_client_proxy(struct login_client *client)
{
	struct client_core *cc = client->core_data;
	return cc->state == CLIENT_PROXY ? cc->proxy : NULL;
}

/* The back end said yes (relay to it from now on) or no (the client is
 * back before login and may try again). */
static void proxy_finished(struct login_client *client,
			   enum login_proxy_status status, struct stream *backend)
{
	struct client_core *cc = client->core_data;
	if (status != LOGIN_PROXY_OK) {
		cc->proxy = NULL;
		cc->state = CLIENT_PREAUTH;
		cc->idle_timer = event_timer_add(L.loop, L.set->login_idle_timeout,
						 client_idle, cc);
		auth_reply_to_client(cc, status == LOGIN_PROXY_AUTH_FAILED ?
				     LOGIN_AUTH_FAILED : LOGIN_AUTH_TEMPFAIL, NULL);
		return;
	}
	L.protocol->login->client_destroy(client);
	login_proxy_free(cc->proxy);
	cc->proxy = NULL;
	cc->state = CLIENT_RELAY;
	cc->proxied = true;
	cc->relay = backend;
	stream_set_callbacks(backend, &relay_callbacks, cc);
	stats_changed();
	/* What either side sent meanwhile (pipelined commands after PASS)
	 * goes through now. */
	relay_worker_input(cc);
	relay_client_input(cc);
}

/* OK with proxy fields: log in on the back end instead of handing over. */
static bool auth_proxy_begin(struct client_core *cc, const char *user,
			     char **f, unsigned n)
{
	bool proxy = false;
	for (unsigned i = 0; i < n; i++)
		proxy = proxy || strncmp(f[i], "proxy=", 6) == 0;
	if (!proxy)
		return false;
	stream_input_pause(cc->client->stream);
	cc->state = CLIENT_PROXY;
	event_timer_remove(cc->idle_timer);
	cc->idle_timer = NULL;
	cc->proxy = login_proxy_begin(cc->client, user, f, n);
	return true;
}

/* MECH: what auth offers; APOP is a POP3 command, kept apart from the
 * SASL list. */
static void auth_handle_mechanisms(char **f, unsigned n)
{
	size_t len = 0;
	L.apop = false;
	L.mechanisms[0] = '\0';
	for (unsigned i = 1; i < n; i++) {
		if (strcmp(f[i], "APOP") == 0) {
			L.apop = true;
			continue;
		}
		size_t wlen = strlen(f[i]);
		if (wlen == 0 || len + wlen + 2 > sizeof(L.mechanisms))
			continue;
		if (len > 0)
			L.mechanisms[len++] = ' ';
		memcpy(L.mechanisms + len, f[i], wlen + 1);
		len += wlen;
	}
	if (!L.mechanisms_known)
		log_debug("Auth offers: %s%s", L.mechanisms, L.apop ? " (and APOP)" : "");
	L.mechanisms_known = true;
	event_timer_remove(L.auth_wait);
	L.auth_wait = NULL;
	update_accepting();
}

static void auth_wait_expired(void *context)
{
	L.auth_wait = NULL;
	if (L.mechanisms_known)
		return;
	unsigned mask = 0;
	struct error err;
	if (auth_mechanisms_parse(L.set->auth_mechanisms, &mask, &err) < 0)
		mask = AUTH_MECH_PLAIN | AUTH_MECH_LOGIN;
	struct buffer names;
	buffer_init(&names);
	auth_mechanisms_names(&names, mask, " ", false);
	snprintf(L.mechanisms, sizeof(L.mechanisms), "%.*s", (int)names.len,
		 names.data != NULL ? names.data : "");
	buffer_free(&names);
	L.apop = (mask & AUTH_MECH_APOP) != 0;
	log_warning("Auth has not said which mechanisms it offers after %u ms; "
		    "accepting clients with the configured ones", LOGIN_AUTH_WAIT_MS);
	L.mechanisms_known = true;
	update_accepting();
}

static void auth_handle_line(char *line)
{
	char *f[LOGIN_AUTH_FIELDS_MAX];
	unsigned n = ipc_split(line, f, LOGIN_AUTH_FIELDS_MAX);
	if (strcmp(f[0], "MECH") == 0) {
		auth_handle_mechanisms(f, n);
		return;
	}
	if (n < 2)
		return;
	unsigned id = (unsigned)strtoul(f[1], NULL, 10);
	struct client_core *cc = client_by_auth_id(id);
	if (cc == NULL || cc->state != CLIENT_PREAUTH)
		return;   /* the client left meanwhile */
	if (strcmp(f[0], "CONT") == 0 && n >= 3) {
		auth_reply_to_client(cc, LOGIN_AUTH_CONTINUE, f[2]);
	} else if (strcmp(f[0], "OK") == 0 && n >= 4) {
		size_t len;
		char *user = ipc_unescape(cc->client->pool, f[3], &len);
		cc->auth_id = 0;
		cc->client->auth_pending = false;
		cc->client->log.user = user;
		cc->auth_user = user;
		L.protocol->login->client_auth_reply(cc->client, LOGIN_AUTH_OK, NULL);
		if (!auth_proxy_begin(cc, user, f + 4, n - 4))
			handover_start(cc, f[2]);
	} else if (strcmp(f[0], "FAIL") == 0 && n >= 3) {
		enum login_auth_status st = LOGIN_AUTH_FAILED;
		if (strcmp(f[2], "temp") == 0)
			st = LOGIN_AUTH_TEMPFAIL;
		else if (strcmp(f[2], "malformed") == 0)
			st = LOGIN_AUTH_MALFORMED;
		else if (strcmp(f[2], "unsupported") == 0)
			st = LOGIN_AUTH_UNSUPPORTED;
		else if (strcmp(f[2], "cancelled") == 0)
			st = LOGIN_AUTH_CANCELLED;
		auth_reply_to_client(cc, st, NULL);
	}
}

static void auth_input(void *context)
{
	char *line;
	while ((line = ipc_take_record(stream_input(L.auth))) != NULL) {
		auth_handle_line(line);
		ipc_record_free(line);
		if (L.auth == NULL)
			return;
	}
	stream_input_resume(L.auth);
}

static void auth_retry(void *context);

static void auth_closed(void *context, const char *reason)
{
	log_warning("Connection to auth lost: %s", reason != NULL ? reason : "closed");
	stream_destroy(L.auth);
	L.auth = NULL;
	auth_failed_all();
	/* Until auth has told us its mechanisms no client is accepted:
	 * keep trying. Afterwards the next login reconnects. */
	if (!L.mechanisms_known && L.auth_retry == NULL)
		L.auth_retry = event_timer_add(L.loop, LOGIN_AUTH_RETRY_MS, auth_retry, NULL);
}

static const struct stream_callbacks auth_callbacks = {
	.input = auth_input,
	.closed = auth_closed,
};

static bool auth_connect(void)
{
	if (L.auth != NULL)
		return true;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", L.auth_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_error("connect(%s) to auth: %s", L.auth_path, strerror(errno));
		close(fd);
		return false;
	}
	L.auth = stream_create(L.loop, fd, LOGIN_AUTH_REPLY_MAX, &auth_callbacks, NULL);
	return true;
}

static void auth_retry(void *context)
{
	L.auth_retry = NULL;
	if (!auth_connect() && !L.mechanisms_known)
		L.auth_retry = event_timer_add(L.loop, LOGIN_AUTH_RETRY_MS, auth_retry, NULL);
}

static void auth_cancel(struct client_core *cc)
{
	if (cc->auth_id != 0 && L.auth != NULL) {
		char line[64];
		snprintf(line, sizeof(line), "CANCEL\t%u\n", cc->auth_id);
		stream_write_str(L.auth, line);
	}
	cc->auth_id = 0;
	cc->client->auth_pending = false;
}

void login_client_auth_abort(struct login_client *client)
{
	auth_cancel(client->core_data);
}

void login_client_auth_begin(struct login_client *client, const char *mech,
			     const char *initial_response)
{
	struct client_core *cc = client->core_data;
	/* Never leave an older exchange behind in auth. */
	auth_cancel(cc);
	if (!auth_connect()) {
		L.protocol->login->client_auth_reply(client, LOGIN_AUTH_TEMPFAIL, NULL);
		return;
	}
	if (++L.next_auth_id == 0)
		L.next_auth_id = 1;
	cc->auth_id = L.next_auth_id;
	client->auth_pending = true;
	stream_input_pause(client->stream);

	struct buffer line;
	buffer_init(&line);
	buffer_printf(&line, "AUTH\t%u\t", cc->auth_id);
	ipc_escape_append(&line, mech, strlen(mech));
	buffer_append_str(&line, "\t");
	ipc_escape_append(&line, client->remote_ip, strlen(client->remote_ip));
	buffer_append_str(&line, client->tls_active ? "\tsecured" : "\t-");
	if (initial_response != NULL) {
		buffer_append_str(&line, "\tresp=");
		ipc_escape_append(&line, initial_response, strlen(initial_response));
	}
	buffer_append_str(&line, "\n");
	stream_write(L.auth, line.data, line.len);
	buffer_free_secret(&line);
}

void login_client_auth_continue(struct login_client *client, const char *response)
{
	struct client_core *cc = client->core_data;
	if (cc->auth_id == 0 || L.auth == NULL) {
		L.protocol->login->client_auth_reply(client, LOGIN_AUTH_TEMPFAIL, NULL);
		return;
	}
	client->auth_pending = true;
	stream_input_pause(client->stream);
	struct buffer line;
	buffer_init(&line);
	buffer_printf(&line, "CONT\t%u\t", cc->auth_id);
	ipc_escape_append(&line, response, strlen(response));
	buffer_append_str(&line, "\n");
	stream_write(L.auth, line.data, line.len);
	buffer_free_secret(&line);
}

/* ---- hand-over to the master ---- */

static void handover_start(struct client_core *cc, const char *cookie)
{
	struct login_client *client = cc->client;
	struct buffer *pending = stream_input(client->stream);
	struct buffer unsent;
	int send_fd;

	buffer_init(&unsent);
	if (client->tls_active) {
		/* The TLS stream stays here and sends its own queued output. */
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			log_msg(LOG_LEVEL_ERROR, &client->log, "socketpair: %s", strerror(errno));
			auth_reply_to_client(cc, LOGIN_AUTH_TEMPFAIL, NULL);
			return;
		}
		cc->relay_local_fd = sv[0];
		cc->handover_fd = sv[1];
		send_fd = sv[1];
	} else {
		/* Plain: the socket itself goes to the worker, together with
		 * replies not yet sent (PIPELINING: every command answered, in
		 * order). Keep our copy until DONE so a failure can still be
		 * reported. */
		if (stream_output_pending(client->stream) > LOGIN_HANDOVER_OUTPUT_MAX) {
			login_client_disconnect(client, "Client does not read its replies");
			return;
		}
		stream_take_output(client->stream, &unsent);
		cc->handover_fd = stream_detach_fd(client->stream);
		send_fd = cc->handover_fd;
	}
	stream_input_pause(client->stream);
	cc->state = CLIENT_HANDOVER;
	event_timer_remove(cc->idle_timer);
	cc->idle_timer = NULL;

	struct buffer msg;
	buffer_init(&msg);
	buffer_printf(&msg, "HANDOVER\t%p\t", (void *)cc);
	ipc_escape_append(&msg, cookie, strlen(cookie));
	buffer_printf(&msg, "\t%s\t%s\t", cc->protocol, client->session_id);
	ipc_escape_append(&msg, client->remote_ip, strlen(client->remote_ip));
	buffer_printf(&msg, "\t%d\t", client->tls_active ? 1 : 0);
	ipc_escape_append(&msg, pending->data, pending->len);
	buffer_append_str(&msg, "\t");
	ipc_escape_append(&msg, unsent.data, unsent.len);
	int sent = fd_send(L.master_fd, send_fd, msg.data, msg.len);
	int saved_errno = errno;
	buffer_free_secret(&msg);
	buffer_free(&unsent);
	buffer_reset(pending);
	if (sent == 0)
		return;
	log_msg(LOG_LEVEL_ERROR, &client->log, "Hand-over to master failed: %s",
		strerror(saved_errno));
	handover_done(cc, "TEMP");
}

static struct client_core *client_by_pointer(const char *text)
{
	void *p = NULL;
	if (sscanf(text, "%p", &p) != 1)
		return NULL;
	for (struct client_core *cc = L.clients; cc != NULL; cc = cc->next) {
		if (cc == p)
			return cc;
	}
	return NULL;
}

static void handover_done(struct client_core *cc, const char *result)
{
	struct login_client *client = cc->client;
	if (strcmp(result, "OK") != 0) {
		enum login_auth_status st = strcmp(result, "PERM") == 0 ?
			LOGIN_AUTH_PERMFAIL : LOGIN_AUTH_TEMPFAIL;
		log_msg(LOG_LEVEL_WARNING, &client->log, "Master refused the session (%s)", result);
		if (!client->tls_active) {
			/* The stream gave up the fd; write the answer directly. */
			const char *msg = st == LOGIN_AUTH_PERMFAIL ?
				"-ERR [SYS/PERM] This account cannot log in; contact the administrator.\r\n" :
				"-ERR [SYS/TEMP] Temporary login failure, try again later.\r\n";
			ssize_t ignored = send(cc->handover_fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)ignored;
			client_free(cc);
			return;
		}
		close(cc->handover_fd);
		cc->handover_fd = -1;
		close(cc->relay_local_fd);
		cc->relay_local_fd = -1;
		cc->state = CLIENT_PREAUTH;
		L.protocol->login->client_auth_reply(client, st, NULL);
		return;
	}
	log_msg(LOG_LEVEL_DEBUG, &client->log, "Handed over to a mail worker");
	close(cc->handover_fd);
	cc->handover_fd = -1;
	if (!client->tls_active) {
		client_free(cc);
		return;
	}
	L.protocol->login->client_destroy(client);
	cc->state = CLIENT_RELAY;
	cc->relay = stream_create(L.loop, cc->relay_local_fd, LOGIN_RELAY_INPUT_MAX,
				  &relay_callbacks, cc);
	cc->relay_local_fd = -1;   /* the relay stream owns it now */
	stream_input_resume(client->stream);
	stats_changed();
}

static void master_input(void *context, unsigned revents)
{
	char buf[256];
	int fd;
	ssize_t n = fd_recv(L.master_fd, &fd, buf, sizeof(buf) - 1);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* The master is gone: nothing can be handed over any more. */
		log_error("Master connection lost; exiting");
		event_io_remove(L.master_io);
		L.master_io = NULL;
		L.exit_status = 1;
		event_loop_stop(L.loop);
		return;
	}
	if (fd >= 0)
		close(fd);
	buf[n] = '\0';
	char *f[4];
	unsigned nf = ipc_split(buf, f, 4);
	if (nf >= 3 && strcmp(f[0], "DONE") == 0) {
		struct client_core *cc = client_by_pointer(f[1]);
		if (cc != NULL && cc->state == CLIENT_HANDOVER)
			handover_done(cc, f[2]);
	}
}

/* ---- statistics for the master ---- */

static void stats_send(void *context)
{
	L.stats_timer = NULL;
	if (L.master_io == NULL)
		return;
	unsigned preauth = 0, relayed = 0, proxied = 0;
	for (struct client_core *cc = L.clients; cc != NULL; cc = cc->next) {
		if (cc->state != CLIENT_RELAY)
			preauth++;
		else if (cc->proxied)
			proxied++;
		else
			relayed++;
	}
	struct buffer msg;
	buffer_init(&msg);
	buffer_printf(&msg, "STATS\t%u\t%u\t%u", preauth, relayed, proxied);
	for (unsigned i = 0; i < L.listeners_count; i++) {
		const char *name = L.listeners[i].name != NULL ? L.listeners[i].name : "";
		buffer_append_str(&msg, "\t");
		ipc_escape_append(&msg, name, strlen(name));
		buffer_printf(&msg, "\t%" PRIu64, L.accepted[i]);
	}
	/* Best effort: a full channel loses one report, the next one
	 * carries the same totals. */
	if (msg.len <= LOGIN_STATS_MESSAGE_MAX)
		(void)fd_send(L.master_fd, -1, msg.data, msg.len);
	buffer_free(&msg);
}

static void stats_changed(void)
{
	if (L.stats_timer == NULL && L.loop != NULL)
		L.stats_timer = event_timer_add(L.loop, LOGIN_STATS_INTERVAL_MS,
						stats_send, NULL);
}

/* ---- accepting ---- */

static void make_session_id(char *out)
{
	unsigned char raw[LOGIN_SESSION_ID_LEN * 3 / 4];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, LOGIN_SESSION_ID_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void format_address(const struct sockaddr_storage *ss, char *ip,
			   size_t iplen, unsigned *port, bool *loopback)
{
	*loopback = false;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)iplen);
		*port = ntohs(sin->sin_port);
		*loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		*port = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			struct in_addr a4;
			memcpy(&a4, sin6->sin6_addr.s6_addr + 12, 4);
			inet_ntop(AF_INET, &a4, ip, (socklen_t)iplen);
			*loopback = (ntohl(a4.s_addr) >> 24) == 127;
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, (socklen_t)iplen);
			*loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
		}
	} else {
		snprintf(ip, iplen, "unknown");
		*port = 0;
	}
}

static void client_create(int fd, const struct login_listener_fd *listener)
{
	pool_t *pool = pool_create();
	struct login_client *client = pool_alloc(pool, sizeof(*client));
	struct client_core *cc = pool_alloc(pool, sizeof(*cc));
	client->pool = pool;
	client->loop = L.loop;
	client->set = L.set;
	client->core_data = cc;
	cc->client = client;
	cc->handover_fd = -1;
	cc->relay_local_fd = -1;
	cc->implicit_tls = listener->tls;
	cc->protocol = listener->protocol;

	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		format_address(&ss, client->remote_ip, sizeof(client->remote_ip),
			       &client->remote_port, &client->loopback);
	bool local_loop;
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		format_address(&ss, client->local_ip, sizeof(client->local_ip),
			       &client->local_port, &local_loop);
	make_session_id(client->session_id);
	client->log.session_id = client->session_id;
	client->log.remote = client->remote_ip;
	client->tls_available = L.tls != NULL;
	client->plaintext_allowed = L.set->ssl != SSL_MODE_REQUIRED ||
		(client->loopback && L.set->ssl_exempt_loopback);

	cc->next = L.clients;
	if (L.clients != NULL)
		L.clients->prev = cc;
	L.clients = cc;
	L.client_count++;
	memory_release_note_clients(L.memory, L.client_count);

	client->stream = stream_create(L.loop, fd, LOGIN_INPUT_MAX, &client_callbacks, cc);
	cc->idle_timer = event_timer_add(L.loop, L.set->login_idle_timeout, client_idle, cc);
	log_msg(LOG_LEVEL_DEBUG, &client->log, "Connected to %s:%u%s", client->local_ip,
		client->local_port, listener->tls ? " (implicit TLS)" : "");
	if (listener->tls) {
		struct error err;
		if (login_client_start_tls(client, &err) < 0) {
			log_msg(LOG_LEVEL_ERROR, &client->log, "TLS: %s", err.message);
			client_free(cc);
		}
		return;
	}
	L.protocol->login->client_start(client);
}

static void listener_input(void *context, unsigned revents)
{
	const struct login_listener_fd *listener = context;
	/* Accept a bounded batch so one busy listener cannot starve the
	 * clients already connected. */
	for (int i = 0; i < 32 && L.accepting; i++) {
		int fd = accept4(listener->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_error("accept: %s", strerror(errno));
			return;
		}
		/* Replies are coalesced per loop round (stream.c), so Nagle
		 * would only add latency. The option stays with the socket
		 * when it is handed to a mail worker. */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		L.accepted[listener - L.listeners]++;
		stats_changed();
		client_create(fd, listener);
		update_accepting();
	}
}

static void update_accepting(void)
{
	bool want = !L.retiring && L.mechanisms_known &&
		L.client_count < L.set->login_client_limit;
	if (want == L.accepting)
		return;
	L.accepting = want;
	for (unsigned i = 0; i < L.listeners_count; i++) {
		if (L.listener_ios[i] != NULL)
			event_io_set_events(L.listener_ios[i], want ? EVENT_IN : 0);
	}
	if (!want && !L.retiring && L.mechanisms_known)
		log_warning("login_client_limit (%u) reached: not accepting new connections",
			    L.set->login_client_limit);
}

/* ---- signals ---- */

static void on_retire(void *context, int signo)
{
	/* SIGUSR1 from the master after a reload: finish current clients
	 * with the old settings, accept no new ones. */
	L.retiring = true;
	process_title_set("roost-login (retiring)");
	for (unsigned i = 0; i < L.listeners_count; i++) {
		event_io_remove(L.listener_ios[i]);
		L.listener_ios[i] = NULL;
		close(L.listeners[i].fd);
	}
	if (L.client_count == 0)
		event_loop_stop(L.loop);
}

static void on_terminate(void *context, int signo)
{
	/* Sessions relayed for mail workers stay until their workers (told
	 * to stop by the master too) have said goodbye through us; the
	 * master's grace period bounds the wait. Nobody else stays. */
	static bool terminating;
	if (terminating || L.client_count == 0) {
		event_loop_stop(L.loop);   /* a second SIGTERM means now */
		return;
	}
	terminating = true;
	if (!L.retiring)
		on_retire(context, signo);
	for (struct client_core *cc = L.clients, *next; cc != NULL; cc = next) {
		next = cc->next;
		if (cc->state == CLIENT_PREAUTH) {
			L.protocol->login->client_notify_disconnect(cc->client,
				"[SYS/TEMP] Server shutting down.");
			login_client_disconnect(cc->client, "Server shutting down");
		} else if (cc->state == CLIENT_HANDOVER || cc->state == CLIENT_PROXY ||
			   cc->proxied) {
			/* No worker will say goodbye for a proxied session. */
			client_free(cc);
		}
	}
}

/* ---- process setup ---- */

static int drop_privileges(const struct roost_settings *set, bool chroot_dir,
			   struct error *err)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/login", set->base_dir);
	if (privilege_drop_to_user("login_user", set->login_user,
				   chroot_dir ? dir : NULL, err) < 0)
		return -1;
	if (chroot_dir)
		snprintf(L.auth_path, sizeof(L.auth_path), "/auth");
	return 0;
}

int login_main(const struct login_params *p)
{
	struct error err;
	memset(&L, 0, sizeof(L));
	L.set = p->set;
	pid_t master = getppid();
	L.master_fd = p->master_fd;
	L.listeners = p->listeners;
	L.listeners_count = p->listeners_count;
	snprintf(L.auth_path, sizeof(L.auth_path), "%s/login/auth", p->set->base_dir);
	if (sodium_init() < 0) {
		log_error("libsodium initialisation failed");
		return 1;
	}

	const struct roost_module *mod = module_load(p->set->module_dir,
		MODULE_KIND_PROTOCOL, "pop3", &err);
	if (mod == NULL || module_init(mod, &err) < 0) {
		log_error("%s", err.message);
		return 1;
	}
	L.protocol = mod->ops;
	if (p->set->ssl != SSL_MODE_NO) {
		/* The key stays in the key process: only the certificate
		 * chain is loaded here. */
		L.tls = tls_context_create_with_key_process(p->set->ssl_cert, p->tls_key_fd,
							    p->set->ssl_priority, &err);
		if (L.tls == NULL) {
			log_error("%s", err.message);
			return 1;
		}
	}
	/* Before the chroot: the CA files live outside it. */
	L.loop = event_loop_create();
	if (login_proxy_init(L.loop, p->set, L.protocol->login, proxy_finished, &err) < 0) {
		log_error("%s", err.message);
		return 1;
	}
	if (p->privileged && drop_privileges(p->set, p->set->login_chroot, &err) < 0) {
		log_error("%s", err.message);
		return 1;
	}
	/* Also noticed through the master socket's EOF; this covers a
	 * process that is busy elsewhere. Set after the uid change (which
	 * clears it); getppid() catches a master that died before. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master) {
		login_proxy_deinit();
		event_loop_destroy(L.loop);
		tls_context_free(L.tls);
		module_unload_all();
		return 0;
	}

	event_signal_add(L.loop, SIGTERM, on_terminate, NULL);
	event_signal_add(L.loop, SIGINT, on_terminate, NULL);
	event_signal_add(L.loop, SIGUSR1, on_retire, NULL);
	L.master_io = event_io_add(L.loop, L.master_fd, EVENT_IN, false, master_input, NULL);
	L.listener_ios = xmalloc(sizeof(*L.listener_ios) * (L.listeners_count + 1));
	L.accepted = xmalloc(sizeof(*L.accepted) * (L.listeners_count + 1));
	for (unsigned i = 0; i < L.listeners_count; i++)
		L.listener_ios[i] = event_io_add(L.loop, L.listeners[i].fd, EVENT_IN,
						 true, listener_input, &L.listeners[i]);
	stats_changed();   /* roostctl who lists the process from the start */
	L.memory = memory_release_create(L.loop);
	/* Listeners are enabled once auth's MECH line arrives. */
	L.accepting = true;
	update_accepting();
	L.auth_wait = event_timer_add(L.loop, LOGIN_AUTH_WAIT_MS, auth_wait_expired, NULL);
	auth_retry(NULL);

	event_loop_run(L.loop);

	while (L.clients != NULL)
		client_free(L.clients);
	memory_release_destroy(L.memory);
	L.memory = NULL;
	stream_destroy(L.auth);
	L.auth = NULL;
	event_timer_remove(L.auth_retry);
	L.auth_retry = NULL;
	event_timer_remove(L.auth_wait);
	L.auth_wait = NULL;
	event_timer_remove(L.stats_timer);
	L.stats_timer = NULL;
	free(L.accepted);
	login_proxy_deinit();
	event_loop_destroy(L.loop);
	free(L.listener_ios);
	tls_context_free(L.tls);
	module_unload_all();
	return L.exit_status;
}
