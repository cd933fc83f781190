/*
 * roostctl: the administration tool. Commands that need the running
 * server talk to the master's control socket (core/master/control.h);
 * `pw` and `config check` work without it.
 *
 * Exit status: ROOSTCTL_OK, ROOSTCTL_FAILED (the command failed: unknown
 * user, refused config, ...), ROOSTCTL_USAGE (bad command line),
 * ROOSTCTL_NOT_RUNNING (no server, or its control socket cannot be
 * opened).
 */
#ifndef ROOST_ROOSTCTL_H
#define ROOST_ROOSTCTL_H

#include <stdbool.h>
#include <stdio.h>

#define ROOSTCTL_OK 0
#define ROOSTCTL_FAILED 1
#define ROOSTCTL_USAGE 2
#define ROOSTCTL_NOT_RUNNING 3

struct roostctl_options {
	const char *config_path;
	const char *base_dir;      /* -b, or from the config, or RUN_DIR */
};

/* Sends one request (args are escaped here) and prints the answer's lines
 * to stdout and a failure to stderr; for STOP also waits for the server
 * to exit. Returns an exit status. */
int roostctl_request(const struct roostctl_options *opts,
		     const char *const *args, unsigned count);

/* Reads a password from the terminal without echo (prompt on stderr), or
 * a line from stdin when it is not a terminal. confirm: ask twice (a
 * terminal only). NULL with a message on stderr on failure; the caller
 * wipes and frees the result. */
char *roostctl_read_password(const char *prompt, bool confirm);

#endif
