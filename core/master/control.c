/* The control socket's connections and framing; see control.h. */
#include "config.h"
#include "control.h"

#include "buffer.h"
#include "ipc-escape.h"
#include "log.h"
#include "master.h"
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Requests are a command and a user name or password: 8 KiB is plenty,
 * and the same bound as a POP3 SASL line. */
#define CONTROL_REQUEST_MAX 8192
#define CONTROL_ARGS_MAX 8
/* Admin tools, not clients: a few at a time. */
#define CONTROL_CONNECTIONS_MAX 16
/* Longer than the slowest command (mailbox status: auth lookup plus the
 * counting child, see master.c); a client idle this long is dropped. */
#define CONTROL_TIMEOUT_MS 60000

struct control_conn {
	struct control_conn *prev, *next;
	unsigned id;
	struct stream *stream;
	struct event_timer *timer;
	bool got_request;
	bool keep_open;
	bool refused;      /* peer uid not allowed: answered after its request */
};

static struct {
	struct event_loop *loop;
	int fd;
	struct event_io *io;
	struct control_conn *conns;
	unsigned count;
	unsigned next_id;
} K;

static struct control_conn *conn_by_id(unsigned id)
{
	for (struct control_conn *c = K.conns; c != NULL; c = c->next) {
		if (c->id == id)
			return c;
	}
	return NULL;
}

static void conn_free(struct control_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		K.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	K.count--;
	event_timer_remove(c->timer);
	stream_destroy(c->stream);
	free(c);
}

static void send_record(struct control_conn *c, const char *word, const char *text)
{
	struct buffer line;
	buffer_init(&line);
	buffer_append_str(&line, word);
	if (text != NULL) {
		buffer_append_str(&line, "\t");
		ipc_escape_append(&line, text, strlen(text));
	}
	buffer_append_str(&line, "\n");
	stream_write(c->stream, line.data, line.len);
	buffer_free(&line);
}

void control_reply_line(unsigned conn_id, const char *text)
{
	struct control_conn *c = conn_by_id(conn_id);
	if (c != NULL)
		send_record(c, "D", text);
}

void control_reply_done(unsigned conn_id, bool ok, const char *message)
{
	struct control_conn *c = conn_by_id(conn_id);
	if (c == NULL)
		return;
	send_record(c, ok ? "OK" : "FAIL", ok ? NULL : message != NULL ? message : "failed");
	if (!c->keep_open)
		stream_finish(c->stream);
}

void control_keep_open(unsigned conn_id)
{
	struct control_conn *c = conn_by_id(conn_id);
	if (c == NULL)
		return;
	c->keep_open = true;
	event_timer_remove(c->timer);
	c->timer = NULL;
}

static void handle_request(struct control_conn *c, char *line)
{
	char *f[CONTROL_ARGS_MAX];
	unsigned n = ipc_split(line, f, CONTROL_ARGS_MAX);
	bool ok = true;
	pool_t *pool = pool_create();
	/* Unescaped in place (never longer); the copies are wiped, since
	 * an argument may be a password. */
	for (unsigned i = 0; i < n && ok; i++) {
		size_t len;
		char *v = ipc_unescape(pool, f[i], &len);
		ok = v != NULL && memchr(v, '\0', len) == NULL;
		if (v != NULL) {
			if (ok)
				memcpy(f[i], v, len + 1);
			memset(v, 0, len);
		}
	}
	pool_destroy(pool);
	if (!ok) {
		control_reply_done(c->id, false, "malformed request");
		return;
	}
	control_command(c->id, f, n);
}

static void conn_input(void *context)
{
	struct control_conn *c = context;
	struct buffer *in = stream_input(c->stream);
	if (c->got_request) {
		buffer_reset(in);
		return;
	}
	char *line = ipc_take_record(in);
	if (line == NULL) {
		if (in->len >= CONTROL_REQUEST_MAX) {
			c->got_request = true;
			control_reply_done(c->id, false, "request too long");
			return;
		}
		stream_input_resume(c->stream);
		return;
	}
	c->got_request = true;
	buffer_reset(in);
	if (c->refused) {
		/* Answered only now: closing with the request unread could
		 * reset the connection before the client reads why. */
		ipc_record_free(line);
		control_reply_done(c->id, false, "permission denied");
		return;
	}
	/* The command may answer at once (and the connection close) or
	 * fork a child: nothing of c is touched after this. */
	handle_request(c, line);
	ipc_record_free(line);
}

static void conn_closed(void *context, const char *reason)
{
	conn_free(context);
}

static const struct stream_callbacks conn_callbacks = {
	.input = conn_input,
	.closed = conn_closed,
};

static void conn_timeout(void *context)
{
	struct control_conn *c = context;
	c->timer = NULL;
	conn_free(c);
}

/* The socket is 0600, but a mode can be changed by mistake; the peer's
 * uid is checked too. */
static bool peer_allowed(int fd, uid_t *uid_r)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	*uid_r = cred.uid;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void listener_input(void *context, unsigned revents)
{
	int fd = accept4(K.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_error("control socket: accept: %s", strerror(errno));
		return;
	}
	if (K.count >= CONTROL_CONNECTIONS_MAX) {
		close(fd);
		return;
	}
	struct control_conn *c = xmalloc(sizeof(*c));
	if (++K.next_id == 0)
		K.next_id = 1;
	c->id = K.next_id;
	c->stream = stream_create(K.loop, fd, CONTROL_REQUEST_MAX, &conn_callbacks, c);
	c->timer = event_timer_add(K.loop, CONTROL_TIMEOUT_MS, conn_timeout, c);
	c->next = K.conns;
	if (K.conns != NULL)
		K.conns->prev = c;
	K.conns = c;
	K.count++;
	uid_t uid = (uid_t)-1;
	if (!peer_allowed(fd, &uid)) {
		log_warning("control socket: refused a connection from uid %ld", (long)uid);
		c->refused = true;
	}
}

void control_init(struct event_loop *loop, int listen_fd)
{
	memset(&K, 0, sizeof(K));
	K.loop = loop;
	K.fd = listen_fd;
	K.io = event_io_add(loop, listen_fd, EVENT_IN, false, listener_input, NULL);
}

void control_deinit(void)
{
	while (K.conns != NULL)
		conn_free(K.conns);
	event_io_remove(K.io);
	K.io = NULL;
	if (K.fd >= 0)
		close(K.fd);
	K.fd = -1;
}
