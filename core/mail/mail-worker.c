/* The mail worker; see mail-worker.h and protocol.h. */
#include "config.h"
#include "mail-worker.h"

#include "event-loop.h"
#include "log.h"
#include "module-settings.h"
#include "protocol.h"
#include "var-expand.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

void mail_session_end(struct mail_session *session)
{
	event_loop_stop(session->loop);
}

static int become_user(const struct mail_worker_params *p, struct error *err)
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

/* Expands the user's mail location and loads its storage module. */
static const struct storage_ops *open_storage(struct mail_session *s,
					      const struct mail_worker_params *p,
					      const char **path_r, struct error *err)
{
	const char *location = p->mail != NULL ? p->mail : p->set->mail;
	const char *name, *raw_path;
	if (mail_location_split(s->pool, location, &name, &raw_path, err) < 0)
		return NULL;
	struct var_expand_input in = {
		.user = p->user, .user_len = strlen(p->user), .home = p->home,
	};
	char *path = var_expand(s->pool, raw_path, &in, err);
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

struct worker_state {
	struct mail_session session;
	const struct protocol_mail_ops *ops;
};

static void on_term(void *context, int signo)
{
	struct worker_state *w = context;
	w->ops->session_shutdown(&w->session);
}

int mail_worker_main(const struct mail_worker_params *p)
{
	struct error err;
	error_clear(&err);
	struct worker_state w;
	memset(&w, 0, sizeof(w));
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

	if (p->privileged && become_user(p, &err) < 0) {
		log_msg(LOG_LEVEL_ERROR, &s->log, "%s", err.message);
		return 1;
	}
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
	s->storage = open_storage(s, p, &path, &err);
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
	w.ops->session_start(s);
	event_loop_run(s->loop);

	if (s->mailbox != NULL)
		s->storage->close(s->mailbox);
	event_loop_destroy(s->loop);
	pool_destroy(s->pool);
	module_unload_all();
	return s->exit_status;
}
