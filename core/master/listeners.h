/*
 * The master's listening sockets: one per (address, listener) pair of the
 * config, bound before any privilege is dropped. On reload, sockets whose
 * address, port and TLS flag did not change are kept open, so no
 * connection attempt is refused while the config is replaced.
 */
#ifndef ROOST_LISTENERS_H
#define ROOST_LISTENERS_H

#include <stdbool.h>

#include "error.h"
#include "settings.h"

struct master_listener {
	char address[64];
	unsigned port;
	bool tls;
	char protocol[16];
	char name[32];   /* the listener section's name, for statistics */
	int fd;
	bool reused;   /* taken over from the previous set */
};

struct listener_set {
	struct master_listener *items;
	unsigned count;
};

/* Binds everything set names; fds in *reuse that match are moved over
 * (set to -1 in reuse). On failure nothing new stays open. */
int listeners_open(const struct roost_settings *set, struct listener_set *reuse,
		   struct listener_set *out, struct error *err);
void listeners_close(struct listener_set *ls);

#endif
