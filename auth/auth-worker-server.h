/*
 * What runs in an auth worker process (see auth-worker.h for the wire
 * format): builds its own passdb chain, answers READY, then serves one
 * call at a time with blocking I/O until the auth process closes the
 * socket.
 */
#ifndef ROOST_AUTH_WORKER_SERVER_H
#define ROOST_AUTH_WORKER_SERVER_H

#include <sys/types.h>

#include "settings.h"

/* auth_pid: the auth process, taken before the fork (a worker whose
 * parent is already gone exits at once). Returns the exit status. */
int auth_worker_server_run(const struct roost_settings *set, int fd,
			   pid_t auth_pid);

#endif
