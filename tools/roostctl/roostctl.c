/*
 * roostctl: command line, help texts and the commands; see roostctl.h.
 * Commands for the running server become one control request each
 * (core/master/control-commands.c lists them).
 */
#include "config.h"
#include "roostctl.h"
#include "convert-dovecot.h"

#include "log.h"
#include "module-settings.h"
#include "password-scheme.h"
#include "pool.h"
#include "settings.h"

#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONFIG SYSCONF_DIR "/roost.conf"
/* Base64 of the longest password roostctl reads, plus its NUL. */
#define ROOSTCTL_B64_MAX 2048

struct command {
	const char *name;       /* "auth test": two words */
	const char *args;       /* for the usage line */
	const char *help;
	/* Either a function, or one control request taking nargs words. */
	int (*run)(const struct roostctl_options *opts, int argc, char **argv);
	const char *request;
	unsigned nargs;
};

static const struct command *find_command(const char *name);

static void usage(FILE *out);

static void command_usage(FILE *out, const struct command *c)
{
	fprintf(out, "Usage: roostctl [-c FILE] [-b DIR] %s%s%s\n%s", c->name,
		c->args[0] != '\0' ? " " : "", c->args, c->help);
}

/* Command options: --help, and those in optstring for the command. Returns
 * the option character, -1 at the end, or '?' after printing the usage
 * (bad option) or 'h' after printing help. */
static int command_getopt(const struct command *c, int argc, char **argv,
			  const char *optstring)
{
	static const struct option long_opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch = getopt_long(argc, argv, optstring, long_opts, NULL);
	if (ch == 'h')
		command_usage(stdout, c);
	else if (ch == '?')
		command_usage(stderr, c);
	return ch;
}

/* For commands without options: 0 to go on, else the exit status. */
static int no_options(const struct command *c, int argc, char **argv,
		      int min_args, int max_args)
{
	int ch = command_getopt(c, argc, argv, "+h");
	if (ch == 'h')
		return ROOSTCTL_OK + 256;
	if (ch != -1)
		return ROOSTCTL_USAGE;
	int n = argc - optind;
	if (n < min_args || n > max_args) {
		command_usage(stderr, c);
		return ROOSTCTL_USAGE;
	}
	return 0;
}

#define NO_OPTIONS(c, argc, argv, min, max) do { \
	int r_ = no_options(c, argc, argv, min, max); \
	if (r_ != 0) \
		return r_ & 255; \
} while (0)

/* A command that is one control request with nargs arguments. */
static int run_request(const struct roostctl_options *opts, const struct command *c,
		       int argc, char **argv)
{
	NO_OPTIONS(c, argc, argv, (int)c->nargs, (int)c->nargs);
	const char *args[3] = { c->request, NULL, NULL };
	for (unsigned i = 0; i < c->nargs; i++)
		args[1 + i] = argv[optind + (int)i];
	return roostctl_request(opts, args, 1 + c->nargs);
}

static int cmd_debug(const struct roostctl_options *o, int argc, char **argv)
{
	const struct command *c = find_command("debug");
	NO_OPTIONS(c, argc, argv, 0, 2);
	int n = argc - optind;
	if (n == 0) {
		const char *args[] = { "DEBUG" };
		return roostctl_request(o, args, 1);
	}
	const char *state = n == 2 ? argv[optind + 1] : "";
	if (strcmp(state, "on") != 0 && strcmp(state, "off") != 0) {
		command_usage(stderr, c);
		return ROOSTCTL_USAGE;
	}
	const char *args[] = { "DEBUG", argv[optind], state };
	return roostctl_request(o, args, 3);
}

static void wipe_free(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

static int cmd_auth_test(const struct roostctl_options *o, int argc, char **argv)
{
	const struct command *c = find_command("auth test");
	const char *rip = "127.0.0.1";
	int ch;
	while ((ch = command_getopt(c, argc, argv, "+hr:")) != -1) {
		if (ch == 'h')
			return ROOSTCTL_OK;
		if (ch != 'r')
			return ROOSTCTL_USAGE;
		rip = optarg;
	}
	if (argc - optind != 1) {
		command_usage(stderr, c);
		return ROOSTCTL_USAGE;
	}
	char *pw = roostctl_read_password("Password: ", false);
	if (pw == NULL)
		return ROOSTCTL_FAILED;
	char b64[ROOSTCTL_B64_MAX];
	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)pw, strlen(pw),
			  sodium_base64_VARIANT_ORIGINAL);
	wipe_free(pw);
	const char *args[] = { "PASSTEST", argv[optind], b64, rip };
	int status = roostctl_request(o, args, 4);
	sodium_memzero(b64, sizeof(b64));
	return status;
}

static int cmd_pw(const struct roostctl_options *o, int argc, char **argv)
{
	const struct command *c = find_command("pw");
	const char *scheme = PASSWORD_SCHEME_DEFAULT;
	char *pw = NULL;
	int ch;
	while ((ch = command_getopt(c, argc, argv, "+hs:p:")) != -1) {
		if (ch == 'h' || (ch != 's' && ch != 'p')) {
			wipe_free(pw);
			return ch == 'h' ? ROOSTCTL_OK : ROOSTCTL_USAGE;
		}
		if (ch == 's') {
			scheme = optarg;
		} else {
			wipe_free(pw);
			pw = strdup(optarg);
			/* Out of ps(1) as soon as we can. */
			sodium_memzero(optarg, strlen(optarg));
		}
	}
	if (argc != optind) {
		wipe_free(pw);
		command_usage(stderr, c);
		return ROOSTCTL_USAGE;
	}
	if (!password_scheme_is_known(scheme)) {
		wipe_free(pw);
		fprintf(stderr, "roostctl: unknown password scheme %s\n", scheme);
		return ROOSTCTL_USAGE;
	}
	if (pw == NULL)
		pw = roostctl_read_password("Password: ", true);
	if (pw == NULL)
		return ROOSTCTL_FAILED;
	struct error err;
	pool_t *pool = pool_create();
	char *hash = password_hash(pool, scheme, pw, &err);
	wipe_free(pw);
	if (hash == NULL) {
		fprintf(stderr, "roostctl: %s\n", err.message);
		pool_destroy(pool);
		return ROOSTCTL_FAILED;
	}
	printf("%s\n", hash);
	pool_destroy(pool);
	return ROOSTCTL_OK;
}

static int cmd_config_check(const struct roostctl_options *o, int argc, char **argv)
{
	const struct command *c = find_command("config check");
	const char *path = o->config_path;
	int ch;
	while ((ch = command_getopt(c, argc, argv, "+hc:")) != -1) {
		if (ch == 'h')
			return ROOSTCTL_OK;
		if (ch != 'c')
			return ROOSTCTL_USAGE;
		path = optarg;
	}
	if (argc != optind) {
		command_usage(stderr, c);
		return ROOSTCTL_USAGE;
	}
	struct error err;
	pool_t *pool = pool_create();
	struct roost_settings *set = settings_load(pool, path, &err);
	if (set == NULL || settings_check_modules(set, pool, &err) < 0) {
		fprintf(stderr, "roostctl: %s\n", err.message);
		pool_destroy(pool);
		return ROOSTCTL_FAILED;
	}
	printf("OK %s\n", path);
	pool_destroy(pool);
	return ROOSTCTL_OK;
}

static int cmd_convert_dovecot(const struct roostctl_options *o, int argc,
			       char **argv)
{
	(void)o;
	return roostctl_convert_dovecot(argc, argv);
}

static const struct command commands[] = {
	{ "stop", "", "Stops the server: sessions end without deleting anything, then\n"
	  "the master exits; returns once it has.\n", NULL, "STOP", 0 },
	{ "reload", "", "Reloads the configuration without dropping sessions. A broken\n"
	  "configuration is reported as FILE:LINE (exit status 1) and the running one\n"
	  "stays in force.\n", NULL, "RELOAD", 0 },
	{ "who", "", "One line per login process: login=PID, clients before login, TLS\n"
	  "sessions it relays to mail workers, sessions it proxies to back ends. Then\n"
	  "one line per mail session: user, remote address, state, connected\n"
	  "since (UTC), octets sent, TLS, worker pid, session id.\n", NULL, "WHO", 0 },
	{ "kick", "USER", "Ends every session of USER: the client gets -ERR, nothing is\n"
	  "deleted, the mailbox lock is released.\n", NULL, "KICK", 1 },
	{ "user", "USER", "Prints the userdb's answer for USER (uid, gid, home, mail, ...).\n",
	  NULL, "USER", 1 },
	{ "auth test", "[-r RIP] USER", "Checks USER's password through the auth process, as a\n"
	  "login from RIP (default 127.0.0.1) would. The password is read from the\n"
	  "terminal without echo, or as one line from standard input.\n", cmd_auth_test, NULL, 0 },
	{ "pw", "[-s SCHEME] [-p PASSWORD]", "Prints a password hash for a passwd-file or SQL\n"
	  "passdb (default scheme " PASSWORD_SCHEME_DEFAULT "). Without -p the password is\n"
	  "read twice from the terminal without echo (once from a non-terminal stdin).\n"
	  "Needs no server.\n", cmd_pw, NULL, 0 },
	{ "mailbox status", "USER", "Messages and octets in USER's mailbox, as POP3 STAT would\n"
	  "report them. Refused while USER is logged in (the session holds the mailbox).\n",
	  NULL, "MAILBOX", 1 },
	{ "stats", "", "All counters and gauges of the server, \"name value\" per line.\n",
	  NULL, "STATS", 0 },
	{ "debug", "[USER on|off]", "Switches debug logging for USER's sessions, running ones\n"
	  "included, without a restart. Without arguments: the users it is on for.\n",
	  cmd_debug, NULL, 0 },
	{ "config check", "[-c FILE]", "Checks a configuration file (default: the one of -c) and\n"
	  "prints OK, or FILE:LINE and the error (exit status 1). Needs no server.\n",
	  cmd_config_check, NULL, 0 },
	{ "config convert-dovecot", "[FILE]", "Reads Dovecot's `doveconf -n` output (FILE or stdin) and\n"
	  "prints a Roost configuration; what cannot be mapped is flagged as\n"
	  "\"# NOT CONVERTED\" lines and on stderr. Needs no server.\n",
	  cmd_convert_dovecot, NULL, 0 },
};
#define COMMANDS_COUNT (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < COMMANDS_COUNT; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: roostctl [-c FILE] [-b DIR] COMMAND [ARGS]\n"
		"  -c FILE   the server's configuration (default %s), for base_dir\n"
		"  -b DIR    the server's base_dir, without reading a configuration\n"
		"Commands (roostctl COMMAND --help for each):\n", DEFAULT_CONFIG);
	for (size_t i = 0; i < COMMANDS_COUNT; i++)
		fprintf(out, "  %s%s%s\n", commands[i].name,
			commands[i].args[0] != '\0' ? " " : "", commands[i].args);
	fprintf(out, "Exit status: 0 done, 1 the command failed (unknown user, refused\n"
		"configuration, ...), 2 usage error, 3 the server is not running or its\n"
		"control socket cannot be opened (run as root or as the server's user).\n");
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct roostctl_options opts = { .config_path = DEFAULT_CONFIG };
	int ch;
	while ((ch = getopt_long(argc, argv, "+c:b:h", long_opts, NULL)) != -1) {
		switch (ch) {
		case 'c': opts.config_path = optarg; break;
		case 'b': opts.base_dir = optarg; break;
		case 'h': usage(stdout); return ROOSTCTL_OK;
		case 'V': printf("roostctl %s\n", PACKAGE_VERSION); return ROOSTCTL_OK;
		default: usage(stderr); return ROOSTCTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return ROOSTCTL_USAGE;
	}
	log_init("roostctl", LOG_TARGET_STDERR, false);
	if (sodium_init() < 0) {
		fprintf(stderr, "roostctl: libsodium initialisation failed\n");
		return ROOSTCTL_FAILED;
	}
	/* One- or two-word command names. */
	const struct command *c = find_command(argv[optind]);
	int words = 1;
	if (c == NULL && optind + 1 < argc) {
		char name[64];
		snprintf(name, sizeof(name), "%s %s", argv[optind], argv[optind + 1]);
		c = find_command(name);
		words = 2;
	}
	if (c == NULL) {
		fprintf(stderr, "roostctl: unknown command '%s'\n", argv[optind]);
		usage(stderr);
		return ROOSTCTL_USAGE;
	}
	/* The command parses its own options from its last name word on. */
	int cargc = argc - optind - (words - 1);
	char **cargv = argv + optind + (words - 1);
	optind = 1;
	if (c->run == NULL)
		return run_request(&opts, c, cargc, cargv);
	return c->run(&opts, cargc, cargv);
}
