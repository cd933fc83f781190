/*
 * roost: the server binary. The master forks every other role from itself;
 * a new child returns here (see master.h) and runs its role, so the only
 * process exits happen in this function.
 */
#include "config.h"

#include "auth-daemon.h"
#include "log.h"
#include "mail/mailbox-status.h"
#include "master.h"
#include "module-list.h"
#include "module-settings.h"
#include "process-title.h"
#include "settings.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CONFIG SYSCONF_DIR "/roost.conf"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: roost [-c FILE] [-F] [-n] [--modules] [--version]\n"
		"  -c FILE    configuration file (default %s)\n"
		"  -F         stay in the foreground and log to stderr\n"
		"  -n         print the settings that differ from the defaults and exit\n"
		"  --modules  list the modules in module_dir, whether each loads, and exit\n"
		"             (status 1 when one is refused)\n"
		"  --version  print the version and exit\n", DEFAULT_CONFIG);
}

static const char *pid_file_path(const struct roost_settings *set, pool_t *pool)
{
	if (set->pid_file != NULL && set->pid_file[0] != '\0')
		return set->pid_file;
	return pool_printf(pool, "%s/master.pid", set->base_dir);
}

/* Refuses to start twice on the same base_dir. */
static int check_not_running(const char *pid_path)
{
	FILE *f = fopen(pid_path, "r");
	if (f == NULL)
		return 0;
	long pid = 0;
	int ok = fscanf(f, "%ld", &pid);
	fclose(f);
	if (ok == 1 && pid > 0 && kill((pid_t)pid, 0) == 0) {
		fprintf(stderr, "roost: already running (pid %ld, %s)\n", pid, pid_path);
		return -1;
	}
	return 0;
}

static int write_pid_file(const char *path)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		return -1;
	return 0;
}

/* Forks into the background. The parent waits until the master listens
 * (or fails), so `roost -c FILE && client ...` works in scripts.
 * Returns the ready pipe's write end in the daemon, or exits the parent's
 * path through *parent_status_r (>= 0). */
static int daemonize(int *parent_status_r)
{
	int pipefd[2];
	*parent_status_r = -1;
	if (pipe(pipefd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(pipefd[1]);
		char c;
		ssize_t n = read(pipefd[0], &c, 1);
		*parent_status_r = n == 1 ? 0 : 1;
		if (n != 1)
			fprintf(stderr, "roost: failed to start, see the mail log (syslog)\n");
		return -1;
	}
	close(pipefd[0]);
	setsid();
	int devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (devnull > 2)
			close(devnull);
	}
	if (chdir("/") < 0)
		return -1;
	return pipefd[1];
}

/* roost --modules: the module_dir of -c FILE, or of the default config
 * file, or (no config file at all) the built-in default, so an admin can
 * check a plugin before any config names it. */
static int list_modules(const char *config_path, bool config_given)
{
	struct error err;
	pool_t *pool = pool_create();
	const char *search_path = MODULE_DIR;
	struct roost_settings *set = settings_load(pool, config_path, &err);
	if (set != NULL) {
		search_path = set->module_dir;
	} else if (config_given || err.kind != ERROR_NOT_FOUND) {
		fprintf(stderr, "roost: %s\n", err.message);
		pool_destroy(pool);
		return 1;
	}
	/* A module's init() may log: to stderr, like every message here. */
	log_init("modules", LOG_TARGET_STDERR, false);
	struct module_list_entry *entries;
	unsigned count;
	if (module_list_scan(pool, search_path, &entries, &count, &err) < 0) {
		fprintf(stderr, "roost: %s\n", err.message);
		pool_destroy(pool);
		return 1;
	}
	struct buffer out;
	buffer_init(&out);
	module_list_write(&out, search_path, entries, count);
	fwrite(out.data, 1, out.len, stdout);
	buffer_free(&out);
	int status = module_list_all_load(entries, count) ? 0 : 1;
	pool_destroy(pool);
	return status;
}

static int run_child(struct child_start *child)
{
	switch (child->role) {
	case CHILD_ROLE_AUTH:
		process_title_set("roost-auth");
		return auth_main(&child->auth);
	case CHILD_ROLE_LOGIN:
		process_title_set("roost-login");
		return login_main(&child->login);
	case CHILD_ROLE_MAIL:
		process_title_set("roost-mail %s %s", child->mail.user, child->mail.remote_ip);
		return mail_worker_main(&child->mail);
	case CHILD_ROLE_MAILBOX_STATUS:
		process_title_set("roost-mail %s (status)", child->mail.user);
		return mailbox_status_main(&child->mail, child->status_fd);
	case CHILD_ROLE_KEY:
		process_title_set("roost-key");
		return tls_key_server_main(&child->key);
	}
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "modules", no_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = DEFAULT_CONFIG;
	bool foreground = false, dump = false;
	bool config_given = false, modules = false;
	int c;
	while ((c = getopt_long(argc, argv, "c:Fnh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; config_given = true; break;
		case 'F': foreground = true; break;
		case 'n': dump = true; break;
		case 'V': printf("roost %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		case 'M': modules = true; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (modules)
		return list_modules(config_path, config_given);
	signal(SIGPIPE, SIG_IGN);
	/* Copy what we keep of argv before its memory becomes the title.
	 * Static: the copy lives as long as the process (and its forked
	 * children), so LeakSanitizer does not count it as lost at exit;
	 * volatile so that the compiler keeps the otherwise unread store. */
	static char *volatile config_path_copy;
	config_path_copy = strdup(config_path);
	config_path = config_path_copy;
	process_title_init(argc, argv);

	struct error err;
	pool_t *pool = pool_create();
	struct roost_settings *set = settings_load(pool, config_path, &err);
	if (set == NULL) {
		fprintf(stderr, "roost: %s\n", err.message);
		return 1;
	}
	if (dump) {
		struct buffer out;
		buffer_init(&out);
		settings_write_nondefault(&out, set);
		fwrite(out.data, 1, out.len, stdout);
		buffer_free(&out);
		return 0;
	}
	if (settings_check_modules(set, pool, &err) < 0) {
		fprintf(stderr, "roost: %s\n", err.message);
		return 1;
	}
	const char *pid_path = pid_file_path(set, pool);
	if (check_not_running(pid_path) < 0)
		return 1;

	struct master_options opts = { .config_path = config_path, .foreground = foreground, .ready_fd = -1 };
	if (!foreground) {
		int status;
		opts.ready_fd = daemonize(&status);
		if (status >= 0)
			return status;
		if (opts.ready_fd < 0) {
			fprintf(stderr, "roost: cannot daemonize: %s\n", strerror(errno));
			return 1;
		}
	}
	master_apply_log_facility(set);
	log_init("master", foreground ? LOG_TARGET_STDERR : LOG_TARGET_SYSLOG, set->log_debug);
	umask(022);
	process_title_set("roost (master) -c %s", config_path);

	struct child_start child;
	memset(&child, 0, sizeof(child));
	/* The pid file is written after the listeners are bound, by the
	 * master itself, and removed when it stops. */
	if (mkdir(set->base_dir, 0755) < 0 && errno != EEXIST) {
		log_error("mkdir(%s): %s", set->base_dir, strerror(errno));
		return 1;
	}
	if (write_pid_file(pid_path) < 0) {
		log_error("cannot write pid file %s: %s", pid_path, strerror(errno));
		return 1;
	}
	enum master_result r = master_run(&opts, set, pool, &child);
	if (r == MASTER_BECAME_CHILD) {
		log_init(child.role == CHILD_ROLE_AUTH ? "auth" :
			 child.role == CHILD_ROLE_LOGIN ? "login" :
			 child.role == CHILD_ROLE_KEY ? "key" : "mail",
			 foreground ? LOG_TARGET_STDERR : LOG_TARGET_SYSLOG,
			 child.login.set != NULL ? child.login.set->log_debug :
			 child.auth.set != NULL ? child.auth.set->log_debug :
			 child.key.set != NULL ? child.key.set->log_debug :
			 child.mail.set != NULL && (child.mail.set->log_debug || child.mail.debug));
		return run_child(&child);
	}
	unlink(pid_path);
	return r == MASTER_STOPPED ? 0 : 1;
}
