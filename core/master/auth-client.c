/* The master's client of the auth process; see auth-client.h. */
#include "config.h"
#include "auth-client.h"

#include "ipc-escape.h"
#include "log.h"
#include "master.h"
#include "stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Replies are short records; a USER reply with every userdb field is far
 * below this, a longer one means a broken auth process. */
#define AUTH_CLIENT_REPLY_MAX (16 * 1024)
/* USER id user and a handful of userdb fields. */
#define AUTH_CLIENT_FIELDS_MAX 32
/* Longer than auth_failure_delay plus a slow passdb (SQL, PAM): a request
 * older than this is not coming back. */
#define AUTH_CLIENT_TIMEOUT_MS 15000

struct auth_client_req {
	struct auth_client_req *next;
	unsigned id;
	auth_client_callback *callback;
	void *context;
	struct event_timer *timer;
};

static struct {
	struct event_loop *loop;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stream *stream;
	struct auth_client_req *requests;
	unsigned next_id;
	bool quiet_close;
} C;

static struct auth_client_req *unlink_request(unsigned id)
{
	for (struct auth_client_req **p = &C.requests; *p != NULL; p = &(*p)->next) {
		if ((*p)->id == id) {
			struct auth_client_req *r = *p;
			*p = r->next;
			event_timer_remove(r->timer);
			return r;
		}
	}
	return NULL;
}

static void complete(struct auth_client_req *r, char **fields, unsigned count)
{
	auth_client_callback *cb = r->callback;
	void *context = r->context;
	free(r);
	cb(context, fields, count);
}

static void request_timeout(void *context)
{
	struct auth_client_req *r = context;
	r->timer = NULL;
	r = unlink_request(r->id);
	if (r != NULL)
		complete(r, NULL, 0);
}

static void fail_all(void)
{
	/* Requests added by a callback belong to a new connection attempt
	 * and are left alone. */
	struct auth_client_req *list = C.requests;
	C.requests = NULL;
	while (list != NULL) {
		struct auth_client_req *r = list;
		list = r->next;
		event_timer_remove(r->timer);
		complete(r, NULL, 0);
	}
}

static void handle_line(char *line)
{
	char *f[AUTH_CLIENT_FIELDS_MAX];
	unsigned n = ipc_split(line, f, AUTH_CLIENT_FIELDS_MAX);
	if (n < 2)
		return;
	unsigned id = (unsigned)strtoul(f[1], NULL, 10);
	struct auth_client_req *r = unlink_request(id);
	if (r != NULL)
		complete(r, f, n);
}

static void on_input(void *context)
{
	struct stream *stream = C.stream;
	char *line;
	while (C.stream == stream && (line = ipc_take_record(stream_input(stream))) != NULL) {
		handle_line(line);
		ipc_record_free(line);
		/* A reply may have forked a child (a mail worker): it must
		 * not go on handling the master's replies. */
		if (master_became_child())
			return;
	}
	if (C.stream == stream)
		stream_input_resume(stream);
}

static void on_closed(void *context, const char *reason)
{
	if (!C.quiet_close)
		log_warning("Connection to auth lost: %s", reason != NULL ? reason : "closed");
	C.quiet_close = false;
	stream_destroy(C.stream);
	C.stream = NULL;
	fail_all();
}

static const struct stream_callbacks auth_callbacks = {
	.input = on_input,
	.closed = on_closed,
};

static bool connect_auth(void)
{
	if (C.stream != NULL)
		return true;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", C.path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_error("connect(%s): %s", C.path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	C.stream = stream_create(C.loop, fd, AUTH_CLIENT_REPLY_MAX, &auth_callbacks, NULL);
	return true;
}

void auth_client_init(struct event_loop *loop, const char *socket_path)
{
	memset(&C, 0, sizeof(C));
	C.loop = loop;
	snprintf(C.path, sizeof(C.path), "%s", socket_path);
}

void auth_client_expect_close(void)
{
	C.quiet_close = C.stream != NULL;
}

void auth_client_deinit(void)
{
	while (C.requests != NULL) {
		struct auth_client_req *r = C.requests;
		C.requests = r->next;
		event_timer_remove(r->timer);
		free(r);
	}
	stream_destroy(C.stream);
	C.stream = NULL;
}

unsigned auth_client_request(const char *command, const char *const *args,
			     unsigned args_count, auth_client_callback *callback,
			     void *context)
{
	struct auth_client_req *r = xmalloc(sizeof(*r));
	if (++C.next_id == 0)
		C.next_id = 1;
	r->id = C.next_id;
	r->callback = callback;
	r->context = context;
	r->next = C.requests;
	C.requests = r;
	if (!connect_auth()) {
		/* Fails from the loop, like any other failure. */
		r->timer = event_timer_add(C.loop, 0, request_timeout, r);
		return r->id;
	}
	r->timer = event_timer_add(C.loop, AUTH_CLIENT_TIMEOUT_MS, request_timeout, r);
	struct buffer line;
	buffer_init(&line);
	buffer_printf(&line, "%s\t%u", command, r->id);
	for (unsigned i = 0; i < args_count; i++) {
		buffer_append_str(&line, "\t");
		ipc_escape_append(&line, args[i], strlen(args[i]));
	}
	buffer_append_str(&line, "\n");
	stream_write(C.stream, line.data, line.len);
	/* The line may carry a password (PASSTEST). */
	buffer_free_secret(&line);
	return r->id;
}

void auth_client_cancel(unsigned id)
{
	struct auth_client_req *r = unlink_request(id);
	free(r);
}
