/* The mail worker; see mail-worker.h and protocol.h. */
#include "config.h"
#include "mail-worker.h"

#include "buffer.h"
#include "event-loop.h"
#include "fd-passing.h"
#include "ipc-escape.h"
#include "log.h"
#include "module-settings.h"
#include "process-title.h"
#include "protocol.h"
#include "var-expand.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Stats go to the master at most this often per session: `roostctl who`
 * is at most a second behind, and a client streaming commands costs one
 * message a second, not one per command. */
#define MAIL_WORKER_REPORT_INTERVAL_MS 1000
/* Fields in a message from the master (SESSION has the most). */
#define MAIL_WORKER_FIELDS_MAX 16
#define SESSION_FIELDS 13
/* Reports the master has not taken yet. Every session's last report is
 * kept whatever the count (the master counts sessions by it); periodic
 * ones beyond this are dropped, as they only refresh roostctl's view. */
#define MAIL_WORKER_QUEUE_MAX 1024
/* Messages read from the master per wake-up, so that a burst of new
 * sessions does not starve the running ones. */
#define MAIL_WORKER_READS_PER_EVENT 16

struct worker_session {
	struct mail_session session;    /* first: see session_of() */
	struct worker_session *next;
	struct event_timer *report_timer;
	struct event_timer *end_timer;
	bool report_dirty;
	bool ended;
	bool debug;
};

struct queued_message {
	struct queued_message *next;
	bool final;
	size_t len;
	char data[];
};

/* One worker per process. */
static struct {
	const struct mail_worker_params *params;
	const struct protocol_mail_ops *ops;
	struct event_loop *loop;
	struct event_io *master_io;
	bool master_gone;
	bool stopping;
	char *recv_buf;
	struct worker_session *sessions;
	unsigned count;
	unsigned debug_count;
	struct queued_message *queue, **queue_tail;
	unsigned queued;
} W;

static void master_io_update(void);

/* Every mail_session this core hands to the module is the first member
 * of a worker_session. */
static struct worker_session *session_of(struct mail_session *session)
{
	return (struct worker_session *)session;
}

/* ---- the channel to the master ---- */

static void queue_flush(void)
{
	while (W.queue != NULL) {
		struct queued_message *m = W.queue;
		if (fd_send(W.params->master_fd, -1, m->data, m->len) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			/* The master is gone: nobody to tell any more. */
			W.master_gone = true;
		}
		W.queue = m->next;
		if (W.queue == NULL)
			W.queue_tail = &W.queue;
		W.queued--;
		free(m);
	}
	master_io_update();
}

static void send_to_master(const struct buffer *msg, bool final)
{
	if (W.params->master_fd < 0 || W.master_gone)
		return;
	if (W.queue == NULL &&
	    fd_send(W.params->master_fd, -1, msg->data, msg->len) == 0)
		return;
	if (W.queue == NULL && errno != EAGAIN && errno != EINTR) {
		W.master_gone = true;
		return;
	}
	if (!final && W.queued >= MAIL_WORKER_QUEUE_MAX)
		return;
	struct queued_message *m = xmalloc(sizeof(*m) + msg->len);
	m->final = final;
	m->len = msg->len;
	memcpy(m->data, msg->data, msg->len);
	*W.queue_tail = m;
	W.queue_tail = &m->next;
	W.queued++;
	master_io_update();
}

static void report(struct worker_session *ws, bool final)
{
	const struct mail_session_stats *st = &ws->session.stats;
	struct buffer msg;
	buffer_init(&msg);
	buffer_append_str(&msg, "STATS\t");
	ipc_escape_append(&msg, ws->session.session_id, strlen(ws->session.session_id));
	buffer_printf(&msg, "\tstate=%s\tcommands=%" PRIu64 "\toctets_sent=%" PRIu64
		      "\tretrieved=%" PRIu64 "\tretrieved_octets=%" PRIu64
		      "\tdeleted=%" PRIu64 "\tdeleted_octets=%" PRIu64,
		      st->state != NULL ? st->state : "starting", st->commands,
		      st->octets_sent, st->retrieved, st->retrieved_octets,
		      st->deleted, st->deleted_octets);
	if (final)
		buffer_printf(&msg, "\treason=%s",
			      st->end_reason != NULL ? st->end_reason : "error");
	send_to_master(&msg, final);
	buffer_free(&msg);
}

static void report_timeout(void *context)
{
	struct worker_session *ws = context;
	ws->report_timer = NULL;
	if (!ws->report_dirty)
		return;
	ws->report_dirty = false;
	report(ws, false);
	ws->report_timer = event_timer_add(W.loop, MAIL_WORKER_REPORT_INTERVAL_MS,
					   report_timeout, ws);
}

void mail_session_stats_changed(struct mail_session *session)
{
	struct worker_session *ws = session_of(session);
	if (ws->ended)
		return;
	if (ws->report_timer != NULL) {
		ws->report_dirty = true;
		return;
	}
	report(ws, false);
	ws->report_timer = event_timer_add(W.loop, MAIL_WORKER_REPORT_INTERVAL_MS,
					   report_timeout, ws);
}

/* ---- sessions ---- */

static void update_title(void)
{
	if (W.count == 0)
		process_title_set("roost-mail (idle)");
	else if (W.count == 1)
		process_title_set("roost-mail %s %s", W.sessions->session.user,
				  W.sessions->session.remote_ip);
	else
		process_title_set("roost-mail [%u sessions]", W.count);
}

static void set_debug(void)
{
	log_set_debug(W.debug_count > 0 || W.params->set->log_debug);
}

/* The process ends once nothing is left for it to do. */
static void maybe_exit(void)
{
	if (W.count == 0 && (W.master_gone || W.stopping || W.params->master_fd < 0))
		event_loop_stop(W.loop);
}

static void session_finish(void *context)
{
	struct worker_session *ws = context;
	struct mail_session *s = &ws->session;
	ws->end_timer = NULL;
	report(ws, true);
	if (W.ops != NULL && s->protocol_data != NULL)
		W.ops->session_destroy(s);
	if (s->mailbox != NULL)
		s->storage->close(s->mailbox);
	if (s->fd >= 0)
		close(s->fd);
	event_timer_remove(ws->report_timer);
	for (struct worker_session **p = &W.sessions; *p != NULL; p = &(*p)->next) {
		if (*p == ws) {
			*p = ws->next;
			break;
		}
	}
	W.count--;
	if (ws->debug) {
		W.debug_count--;
		set_debug();
	}
	if (s->input != NULL)
		memset((char *)s->input, 0, s->input_len);  /* may hold a password */
	pool_destroy(s->pool);
	free(ws);
	update_title();
	maybe_exit();
}

void mail_session_end(struct mail_session *session)
{
	struct worker_session *ws = session_of(session);
	if (ws->ended)
		return;
	ws->ended = true;
	/* The module may still be inside its own callback: free the session
	 * from the loop, not from under it. */
	ws->end_timer = event_timer_add(W.loop, 0, session_finish, ws);
}

static void stop_session(struct worker_session *ws, enum mail_session_stop why)
{
	if (ws->ended)
		return;
	ws->session.stop = why;
	W.ops->session_shutdown(&ws->session);
}

static struct worker_session *find_session(const char *session_id)
{
	for (struct worker_session *ws = W.sessions; ws != NULL; ws = ws->next) {
		if (strcmp(ws->session.session_id, session_id) == 0)
			return ws;
	}
	return NULL;
}

/* Opens the mailbox of a new session; a failure is kept in open_error for
 * the module to answer with. */
static void open_mailbox(struct mail_session *s, const struct mail_worker_params *p)
{
	struct error err;
	error_clear(&err);
	const char *path = NULL;
	s->storage = mail_worker_open_storage(s->pool, p, &path, &err);
	if (s->storage != NULL) {
		struct storage_user su = { .user = p->user, .home = p->home };
		s->mailbox = s->storage->open(s->pool, path, &su, &err);
	}
	if (s->mailbox == NULL) {
		s->open_error = err;
		if (err.kind != ERROR_IN_USE)
			log_msg(LOG_LEVEL_ERROR, &s->log, "Cannot open mailbox: %s", err.message);
	}
}

static void session_begin(const struct mail_worker_params *p, int client_fd, pool_t *pool)
{
	struct worker_session *ws = xmalloc(sizeof(*ws));
	struct mail_session *s = &ws->session;
	s->pool = pool;
	s->loop = W.loop;
	s->set = W.params->set;
	s->user = p->user;
	s->session_id = p->session_id;
	s->remote_ip = p->remote_ip;
	s->tls = p->tls;
	s->login_delay = p->login_delay;
	s->expire = p->expire;
	s->fd = client_fd;
	s->input = p->input;
	s->input_len = p->input_len;
	s->output = p->output;
	s->output_len = p->output_len;
	s->log.session_id = p->session_id;
	s->log.user = p->user;
	s->log.remote = p->remote_ip;
	ws->next = W.sessions;
	W.sessions = ws;
	W.count++;
	update_title();
	if (p->debug) {
		ws->debug = true;
		W.debug_count++;
		set_debug();
		log_msg(LOG_LEVEL_DEBUG, &s->log, "Debug logging on for this user");
	}
	open_mailbox(s, p);
	W.ops->session_start(s);
}

/* Unescapes field i of a SESSION message into pool; "" is NULL for the
 * optional fields. */
static const char *field(pool_t *pool, char **f, unsigned i, bool optional,
			 size_t *len_r)
{
	const char *v = ipc_unescape(pool, f[i], len_r);
	if (optional && v != NULL && v[0] == '\0')
		return NULL;
	return v;
}

void mail_worker_session_message(struct buffer *out, const struct mail_worker_params *p)
{
	const char *strs[] = {
		p->protocol, p->session_id, p->remote_ip, p->user,
		p->home != NULL ? p->home : "", p->mail != NULL ? p->mail : "",
		p->expire != NULL ? p->expire : "",
	};
	buffer_append_str(out, "SESSION");
	for (unsigned i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		buffer_append_str(out, "\t");
		ipc_escape_append(out, strs[i], strlen(strs[i]));
	}
	buffer_printf(out, "\t%d\t%u\t%d\t", p->tls ? 1 : 0, p->login_delay,
		      p->debug ? 1 : 0);
	ipc_escape_append(out, p->input, p->input_len);
	buffer_append_str(out, "\t");
	ipc_escape_append(out, p->output, p->output_len);
}

/* SESSION from the master; takes client_fd. */
static void new_session(char **f, unsigned n, int client_fd)
{
	if (client_fd < 0 || n != SESSION_FIELDS || W.stopping) {
		log_error("Malformed SESSION message from the master");
		if (client_fd >= 0)
			close(client_fd);
		return;
	}
	pool_t *pool = pool_create();
	struct mail_worker_params p = *W.params;
	p.protocol = field(pool, f, 1, false, NULL);
	p.session_id = field(pool, f, 2, false, NULL);
	p.remote_ip = field(pool, f, 3, false, NULL);
	p.user = field(pool, f, 4, false, NULL);
	p.home = field(pool, f, 5, true, NULL);
	p.mail = field(pool, f, 6, true, NULL);
	p.expire = field(pool, f, 7, true, NULL);
	p.tls = strcmp(f[8], "1") == 0;
	p.login_delay = (unsigned)strtoul(f[9], NULL, 10);
	p.debug = strcmp(f[10], "1") == 0;
	p.input = field(pool, f, 11, false, &p.input_len);
	p.output = field(pool, f, 12, false, &p.output_len);
	if (p.protocol == NULL || p.session_id == NULL || p.remote_ip == NULL ||
	    p.user == NULL || p.input == NULL || p.output == NULL ||
	    strcmp(p.protocol, W.params->protocol) != 0) {
		log_error("Malformed SESSION message from the master");
		close(client_fd);
		pool_destroy(pool);
		return;
	}
	session_begin(&p, client_fd, pool);
}

static void master_message(char *msg, int fd)
{
	char *f[MAIL_WORKER_FIELDS_MAX];
	unsigned nf = ipc_split(msg, f, MAIL_WORKER_FIELDS_MAX);
	if (strcmp(f[0], "SESSION") == 0) {
		new_session(f, nf, fd);
		return;
	}
	if (fd >= 0)
		close(fd);
	struct worker_session *ws = nf >= 2 ? find_session(f[1]) : NULL;
	if (ws == NULL)
		return;   /* it ended while the message was on its way */
	if (strcmp(f[0], "KICK") == 0) {
		stop_session(ws, MAIL_SESSION_STOP_KICKED);
	} else if (strcmp(f[0], "DEBUG") == 0 && nf >= 3) {
		bool on = strcmp(f[2], "1") == 0;
		if (on != ws->debug) {
			ws->debug = on;
			W.debug_count += on ? 1 : -1;
			set_debug();
		}
		log_msg(LOG_LEVEL_INFO, &ws->session.log, "Debug logging %s", on ? "on" : "off");
	}
}

static void master_io_cb(void *context, unsigned revents)
{
	if ((revents & EVENT_OUT) != 0 && W.queue != NULL)
		queue_flush();
	if ((revents & EVENT_IN) == 0)
		return;
	for (unsigned i = 0; i < MAIL_WORKER_READS_PER_EVENT && W.master_io != NULL; i++) {
		int fd;
		ssize_t n = fd_recv(W.params->master_fd, &fd, W.recv_buf,
				    MAIL_WORKER_SESSION_MESSAGE_MAX);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0 && errno == EMSGSIZE)
			continue;
		if (n <= 0) {
			/* Retired (or the master is gone): the sessions
			 * still running go on without it. */
			if (fd >= 0)
				close(fd);
			event_io_remove(W.master_io);
			W.master_io = NULL;
			W.master_gone = true;
			maybe_exit();
			return;
		}
		W.recv_buf[n] = '\0';
		master_message(W.recv_buf, fd);
	}
}

static void master_io_update(void)
{
	if (W.master_io != NULL)
		event_io_set_events(W.master_io, EVENT_IN | (W.queue != NULL ? EVENT_OUT : 0));
}

/* ---- setup ---- */

int mail_worker_become_user(const struct mail_worker_params *p, struct error *err)
{
	/* The master already refused uid 0 and uids outside
	 * first_valid_uid..last_valid_uid; here we only switch. */
	gid_t gid = p->gid;
	if (setgroups(1, &gid) < 0 || setgid(p->gid) < 0 || setuid(p->uid) < 0) {
		error_set_errno(err, "switching to uid %lu gid %lu",
				(unsigned long)p->uid, (unsigned long)p->gid);
		return -1;
	}
	if (p->uid != 0 && setuid(0) == 0) {
		error_set(err, ERROR_PERM, "root privileges could be regained");
		return -1;
	}
	return 0;
}

const struct storage_ops *mail_worker_open_storage(pool_t *pool,
	const struct mail_worker_params *p, const char **path_r,
	struct error *err)
{
	const char *location = p->mail != NULL ? p->mail : p->set->mail;
	const char *name, *raw_path;
	if (mail_location_split(pool, location, &name, &raw_path, err) < 0)
		return NULL;
	struct var_expand_input in = {
		.user = p->user, .user_len = strlen(p->user), .home = p->home,
	};
	char *path = var_expand(pool, raw_path, &in, err);
	if (path == NULL) {
		err->kind = ERROR_PERM;
		return NULL;
	}
	/* A worker serves several users: there is no one working directory
	 * to be relative to. */
	if (path[0] != '/' && p->home != NULL)
		path = pool_printf(pool, "%s/%s", p->home, path);
	const struct roost_module *mod = module_load(p->set->module_dir,
		MODULE_KIND_STORAGE, name, err);
	if (mod == NULL || module_init(mod, err) < 0) {
		err->kind = ERROR_PERM;
		return NULL;
	}
	*path_r = path;
	return mod->ops;
}

static void on_term(void *context, int signo)
{
	W.stopping = true;
	for (struct worker_session *ws = W.sessions; ws != NULL; ws = ws->next)
		stop_session(ws, MAIL_SESSION_STOP_SHUTDOWN);
	maybe_exit();
}

int mail_worker_main(const struct mail_worker_params *p)
{
	struct error err;
	struct log_context ctx = { .user = p->user };
	error_clear(&err);
	memset(&W, 0, sizeof(W));
	W.params = p;
	W.queue_tail = &W.queue;

	if (p->privileged && mail_worker_become_user(p, &err) < 0) {
		log_msg(LOG_LEVEL_ERROR, &ctx, "%s", err.message);
		return 1;
	}
	const struct roost_module *proto = module_load(p->set->module_dir,
		MODULE_KIND_PROTOCOL, p->protocol, &err);
	if (proto == NULL || module_init(proto, &err) < 0) {
		log_msg(LOG_LEVEL_ERROR, &ctx, "%s", err.message);
		return 1;
	}
	W.ops = ((const struct protocol_ops *)proto->ops)->mail;
	W.recv_buf = xmalloc(MAIL_WORKER_SESSION_MESSAGE_MAX + 1);
	W.loop = event_loop_create();
	event_signal_add(W.loop, SIGTERM, on_term, NULL);
	event_signal_add(W.loop, SIGINT, on_term, NULL);
	if (p->master_fd >= 0) {
		/* A master too busy to read makes reports wait, never us. */
		fcntl(p->master_fd, F_SETFL, fcntl(p->master_fd, F_GETFL) | O_NONBLOCK);
		W.master_io = event_io_add(W.loop, p->master_fd, EVENT_IN, false,
					   master_io_cb, NULL);
		event_loop_run(W.loop);
	}
	/* Last reports to a master that is slow to read: wait for it, it is
	 * the only thing left to do. */
	if (W.queue != NULL && !W.master_gone) {
		fcntl(p->master_fd, F_SETFL, fcntl(p->master_fd, F_GETFL) & ~O_NONBLOCK);
		queue_flush();
	}
	while (W.queue != NULL) {
		struct queued_message *m = W.queue;
		W.queue = m->next;
		free(m);
	}
	event_loop_destroy(W.loop);
	free(W.recv_buf);
	module_unload_all();
	return 0;
}
