/* Binding listeners; see listeners.h. */
#include "config.h"
#include "listeners.h"
#include "log.h"
#include "pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Accept queue per listener: large enough to absorb a burst of thousands
 * of connections while login processes catch up; the kernel caps it at
 * net.core.somaxconn anyway. */
#define LISTEN_BACKLOG 4096
/* `listen` names a handful of addresses at most. */
#define LISTEN_ADDRESSES_MAX 16

static int split_addresses(const char *list, char out[][64], unsigned max)
{
	unsigned n = 0;
	const char *p = list;
	while (*p != '\0') {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		size_t len = strcspn(p, ", \t");
		if (n == max || len >= 64)
			return -1;
		memcpy(out[n], p, len);
		out[n][len] = '\0';
		n++;
		p += len;
	}
	return (int)n;
}

/* Returns the fd, or -1 with err; *skipped when IPv6 is simply absent for
 * the default "::" address. */
static int bind_one(const char *address, unsigned port, bool *skipped,
		    struct error *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	*skipped = false;
	bool v6 = strchr(address, ':') != NULL;
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		const char *a = strcmp(address, "::") == 0 ? "::" : address;
		if (inet_pton(AF_INET6, a, &sin6->sin6_addr) != 1) {
			error_set(err, ERROR_INVALID, "invalid IPv6 listen address '%s'", address);
			return -1;
		}
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		const char *a = strcmp(address, "*") == 0 ? "0.0.0.0" : address;
		if (inet_pton(AF_INET, a, &sin->sin_addr) != 1) {
			error_set(err, ERROR_INVALID, "invalid listen address '%s' (use an IP address, * or ::)", address);
			return -1;
		}
		len = sizeof(*sin);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (v6 && strcmp(address, "::") == 0 && errno == EAFNOSUPPORT) {
			*skipped = true;
			return -1;
		}
		error_set_errno(err, "socket(%s)", address);
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6)  /* so that "*" and "::" can both be bound to the same port */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		int e = errno;
		close(fd);
		if (v6 && strcmp(address, "::") == 0 && e == EADDRNOTAVAIL) {
			*skipped = true;
			return -1;
		}
		errno = e;
		error_set_errno(err, "cannot listen on %s port %u", address, port);
		return -1;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		error_set_errno(err, "listen(%s port %u)", address, port);
		close(fd);
		return -1;
	}
	return fd;
}

static int take_reused(struct listener_set *reuse, const char *address,
		       unsigned port, bool tls)
{
	if (reuse == NULL)
		return -1;
	for (unsigned i = 0; i < reuse->count; i++) {
		struct master_listener *l = &reuse->items[i];
		if (l->fd >= 0 && l->port == port && l->tls == tls &&
		    strcmp(l->address, address) == 0) {
			int fd = l->fd;
			l->fd = -1;
			return fd;
		}
	}
	return -1;
}

int listeners_open(const struct roost_settings *set, struct listener_set *reuse,
		   struct listener_set *out, struct error *err)
{
	char global[LISTEN_ADDRESSES_MAX][64];
	int nglobal = split_addresses(set->listen, global, LISTEN_ADDRESSES_MAX);
	if (nglobal < 0) {
		error_set(err, ERROR_INVALID, "listen: too many or too long addresses in '%s'", set->listen);
		return -1;
	}
	unsigned cap = 0;
	for (unsigned s = 0; s < set->services_count; s++)
		cap += set->services[s].listeners_count * (unsigned)(nglobal + 1);
	out->items = xmalloc(sizeof(*out->items) * (cap + 1));
	out->count = 0;
	for (unsigned s = 0; s < set->services_count; s++) {
		const struct service_settings *svc = &set->services[s];
		for (unsigned l = 0; l < svc->listeners_count; l++) {
			const struct listener_settings *ls = &svc->listeners[l];
			char own[LISTEN_ADDRESSES_MAX][64];
			int n = nglobal;
			char (*addrs)[64] = global;
			if (ls->address != NULL) {
				n = split_addresses(ls->address, own, LISTEN_ADDRESSES_MAX);
				addrs = own;
				if (n < 0) {
					error_set(err, ERROR_INVALID, "%s:%u: bad address list", ls->file, ls->line);
					goto fail;
				}
			}
			for (int a = 0; a < n; a++) {
				int fd = take_reused(reuse, addrs[a], ls->port, ls->tls);
				bool reused = fd >= 0;
				if (fd < 0) {
					bool skipped;
					struct error inner;
					fd = bind_one(addrs[a], ls->port, &skipped, &inner);
					if (fd < 0 && skipped) {
						log_info("IPv6 is not available: not listening on [::]:%u", ls->port);
						continue;
					}
					if (fd < 0) {
						error_set(err, inner.kind, "%s:%u: listener %s: %s",
							  ls->file, ls->line, ls->name, inner.message);
						goto fail;
					}
				}
				struct master_listener *m = &out->items[out->count++];
				/* Both buffers are 64 bytes and addrs[a] is NUL-terminated. */
				memcpy(m->address, addrs[a], sizeof(m->address));
				m->address[sizeof(m->address) - 1] = '\0';
				snprintf(m->protocol, sizeof(m->protocol), "%s", svc->protocol);
				snprintf(m->name, sizeof(m->name), "%s", ls->name);
				m->port = ls->port;
				m->tls = ls->tls;
				m->fd = fd;
				m->reused = reused;
			}
		}
	}
	return 0;
fail:
	/* Give taken-over sockets back: the old config keeps running. */
	for (unsigned i = 0; i < out->count && reuse != NULL; i++) {
		struct master_listener *m = &out->items[i];
		for (unsigned j = 0; m->reused && j < reuse->count; j++) {
			struct master_listener *r = &reuse->items[j];
			if (r->fd < 0 && r->port == m->port && r->tls == m->tls &&
			    strcmp(r->address, m->address) == 0) {
				r->fd = m->fd;
				m->fd = -1;
				break;
			}
		}
	}
	listeners_close(out);
	return -1;
}

void listeners_close(struct listener_set *ls)
{
	for (unsigned i = 0; i < ls->count; i++) {
		if (ls->items[i].fd >= 0)
			close(ls->items[i].fd);
	}
	free(ls->items);
	ls->items = NULL;
	ls->count = 0;
}
