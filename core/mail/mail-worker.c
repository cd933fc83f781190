/* The mail worker; see mail-worker.h and protocol.h. */
#include "config.h"
#include "mail-worker.h"

#include "buffer.h"
#include "event-loop.h"
#include "fd-passing.h"
#include "ipc-escape.h"
#include "log.h"
#include "module-settings.h"
#include "protocol.h"
#include "var-expand.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Stats go to the master at most this often: `roostctl who` is at most a
 * second behind, and a client streaming commands costs one message a
 * second, not one per command. */
#define MAIL_WORKER_REPORT_INTERVAL_MS 1000
/* Fields in a message from the master. */
#define MAIL_WORKER_FIELDS_MAX 4

struct worker_state {
	struct mail_session session;
	const struct protocol_mail_ops *ops;
	const struct mail_worker_params *params;
	struct event_io *master_io;
	struct event_timer *report_timer;
	bool report_dirty;
	bool started;
};

/* There is one session per process; mail_session_stats_changed() is
 * called by the module with only the session in hand. */
static struct worker_state *worker;

void mail_session_end(struct mail_session *session)
{
	event_loop_stop(session->loop);
}

/* ---- reporting to the master ---- */

static void report(struct worker_state *w, bool final)
{
	const struct mail_session_stats *st = &w->session.stats;
	if (w->params->master_fd < 0)
		return;
	struct buffer msg;
	buffer_init(&msg);
	buffer_printf(&msg, "STATS\tstate=%s\tcommands=%" PRIu64 "\toctets_sent=%" PRIu64
		      "\tretrieved=%" PRIu64 "\tretrieved_octets=%" PRIu64
		      "\tdeleted=%" PRIu64 "\tdeleted_octets=%" PRIu64,
		      st->state != NULL ? st->state : "starting", st->commands,
		      st->octets_sent, st->retrieved, st->retrieved_octets,
		      st->deleted, st->deleted_octets);
	if (final)
		buffer_printf(&msg, "\treason=%s",
			      st->end_reason != NULL ? st->end_reason : "error");
	/* The master may be gone or slow; a lost report only makes the
	 * numbers of roostctl a little older. */
	if (fd_send(w->params->master_fd, -1, msg.data, msg.len) < 0 &&
	    errno != EAGAIN && errno != EPIPE && errno != ECONNREFUSED)
		log_msg(LOG_LEVEL_DEBUG, &w->session.log, "Report to master failed: %s",
			strerror(errno));
	buffer_free(&msg);
}

static void report_timeout(void *context)
{
	struct worker_state *w = context;
	w->report_timer = NULL;
	if (!w->report_dirty)
		return;
	w->report_dirty = false;
	report(w, false);
	w->report_timer = event_timer_add(w->session.loop, MAIL_WORKER_REPORT_INTERVAL_MS,
					  report_timeout, w);
}

void mail_session_stats_changed(struct mail_session *session)
{
	struct worker_state *w = worker;
	if (w == NULL || &w->session != session || session->loop == NULL)
		return;
	if (w->report_timer != NULL) {
		w->report_dirty = true;
		return;
	}
	report(w, false);
	w->report_timer = event_timer_add(session->loop, MAIL_WORKER_REPORT_INTERVAL_MS,
					  report_timeout, w);
}

static void set_debug(struct worker_state *w, bool on)
{
	log_set_debug(on || w->params->set->log_debug);
	log_msg(LOG_LEVEL_INFO, &w->session.log, "Debug logging %s", on ? "on" : "off");
}

static void stop_session(struct worker_state *w, enum mail_session_stop why)
{
	if (!w->started) {
		event_loop_stop(w->session.loop);
		return;
	}
	w->session.stop = why;
	w->ops->session_shutdown(&w->session);
}

static void master_input(void *context, unsigned revents)
{
	struct worker_state *w = context;
	char buf[MAIL_WORKER_MESSAGE_MAX + 1];
	int fd;
	ssize_t n = fd_recv(w->params->master_fd, &fd, buf, sizeof(buf) - 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		/* The master is gone; the session goes on without it. */
		event_io_remove(w->master_io);
		w->master_io = NULL;
		return;
	}
	buf[n] = '\0';
	char *f[MAIL_WORKER_FIELDS_MAX];
	unsigned nf = ipc_split(buf, f, MAIL_WORKER_FIELDS_MAX);
	if (strcmp(f[0], "KICK") == 0)
		stop_session(w, MAIL_SESSION_STOP_KICKED);
	else if (strcmp(f[0], "DEBUG") == 0 && nf >= 2)
		set_debug(w, strcmp(f[1], "1") == 0);
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
	stop_session(context, MAIL_SESSION_STOP_SHUTDOWN);
}

int mail_worker_main(const struct mail_worker_params *p)
{
	struct error err;
	error_clear(&err);
	struct worker_state w;
	memset(&w, 0, sizeof(w));
	w.params = p;
	worker = &w;
	struct mail_session *s = &w.session;
	s->pool = pool_create();
	s->set = p->set;
	s->user = p->user;
	s->session_id = p->session_id;
	s->remote_ip = p->remote_ip;
	s->tls = p->tls;
	s->fd = p->client_fd;
	s->input = p->input;
	s->input_len = p->input_len;
	s->output = p->output;
	s->output_len = p->output_len;
	s->log.session_id = p->session_id;
	s->log.user = p->user;
	s->log.remote = p->remote_ip;

	if (p->privileged && mail_worker_become_user(p, &err) < 0) {
		log_msg(LOG_LEVEL_ERROR, &s->log, "%s", err.message);
		return 1;
	}
	if (p->debug)
		log_msg(LOG_LEVEL_DEBUG, &s->log, "Debug logging on for this user");
	if (p->home != NULL && chdir(p->home) < 0 && errno != ENOENT)
		log_msg(LOG_LEVEL_WARNING, &s->log, "chdir(%s): %s", p->home, strerror(errno));

	const struct roost_module *proto = module_load(p->set->module_dir,
		MODULE_KIND_PROTOCOL, p->protocol, &err);
	if (proto == NULL || module_init(proto, &err) < 0) {
		log_msg(LOG_LEVEL_ERROR, &s->log, "%s", err.message);
		return 1;
	}
	w.ops = ((const struct protocol_ops *)proto->ops)->mail;

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

	s->loop = event_loop_create();
	event_signal_add(s->loop, SIGTERM, on_term, &w);
	event_signal_add(s->loop, SIGINT, on_term, &w);
	if (p->master_fd >= 0) {
		/* A master too busy to read loses a report, never stalls us. */
		fcntl(p->master_fd, F_SETFL, fcntl(p->master_fd, F_GETFL) | O_NONBLOCK);
		w.master_io = event_io_add(s->loop, p->master_fd, EVENT_IN, false,
					   master_input, &w);
	}
	w.started = true;
	w.ops->session_start(s);
	event_loop_run(s->loop);
	report(&w, true);

	if (s->mailbox != NULL)
		s->storage->close(s->mailbox);
	event_loop_destroy(s->loop);
	worker = NULL;
	pool_destroy(s->pool);
	module_unload_all();
	return s->exit_status;
}
