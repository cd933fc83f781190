/* The OpenMetrics endpoint; see metrics-http.h. */
#include "config.h"
#include "metrics-http.h"

#include "buffer.h"
#include "http-request.h"
#include "log.h"
#include "master.h"
#include "settings.h"
#include "stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Scrapers are one Prometheus or two; more at once is a scan. */
#define METRICS_HTTP_CONNECTIONS_MAX 16
/* Time for the request to arrive and the answer to leave. */
#define METRICS_HTTP_TIMEOUT_MS 10000
#define METRICS_HTTP_CONTENT_TYPE \
	"application/openmetrics-text; version=1.0.0; charset=utf-8"

struct http_conn {
	struct http_conn *prev, *next;
	unsigned id;
	struct stream *stream;
	struct event_timer *timer;
	bool answering;        /* waiting for fresh auth statistics */
	bool head;
	/* Lingering close: after the answer our side is shut down and the
	 * rest of the request read and dropped, so that closing with unread
	 * input does not reset the connection before the client has read
	 * an error answer (RFC 9112 9.6). */
	int linger_fd;
	struct event_io *linger_io;
};

static struct {
	struct event_loop *loop;
	int fd;
	struct event_io *io;
	char listen[64];
	struct http_conn *conns;
	unsigned conn_count;
	unsigned next_id;
} H;

static void conn_free(struct http_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		H.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	H.conn_count--;
	event_timer_remove(c->timer);
	stream_destroy(c->stream);
	event_io_remove(c->linger_io);
	if (c->linger_fd >= 0)
		close(c->linger_fd);
	free(c);
}

static void respond(struct http_conn *c, const char *status, const char *extra_headers,
		    const char *type, const struct buffer *body)
{
	stream_printf(c->stream,
		      "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		      "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n",
		      status, type, body->len, extra_headers);
	if (!c->head && body->len > 0)
		stream_write(c->stream, body->data, body->len);
	stream_finish(c->stream);
}

static void respond_text(struct http_conn *c, const char *status, const char *extra_headers)
{
	struct buffer body;
	buffer_init(&body);
	buffer_printf(&body, "%s\n", status);
	respond(c, status, extra_headers, "text/plain; charset=utf-8", &body);
	buffer_free(&body);
}

static struct http_conn *conn_by_id(unsigned id)
{
	for (struct http_conn *c = H.conns; c != NULL; c = c->next) {
		if (c->id == id)
			return c;
	}
	return NULL;
}

static void stats_ready(void *context)
{
	struct http_conn *c = conn_by_id((unsigned)(uintptr_t)context);
	if (c == NULL)
		return;   /* the scraper went away meanwhile */
	struct buffer body;
	buffer_init(&body);
	master_stats_write(&body, METRICS_FORMAT_OPENMETRICS);
	respond(c, "200 OK", "", METRICS_HTTP_CONTENT_TYPE, &body);
	buffer_free(&body);
}

static void conn_input(void *context)
{
	struct http_conn *c = context;
	struct buffer *in = stream_input(c->stream);
	if (c->answering) {
		buffer_reset(in);   /* no pipelining: one request per connection */
		return;
	}
	struct http_request req;
	switch (http_request_parse(in->data, in->len, &req)) {
	case HTTP_PARSE_INCOMPLETE:
		stream_input_resume(c->stream);
		return;
	case HTTP_PARSE_TOO_LARGE:
		c->answering = true;
		respond_text(c, "431 Request Header Fields Too Large", "");
		return;
	case HTTP_PARSE_BAD:
		c->answering = true;
		respond_text(c, "400 Bad Request", "");
		return;
	case HTTP_PARSE_OK:
		break;
	}
	c->answering = true;
	buffer_reset(in);
	c->head = strcmp(req.method, "HEAD") == 0;
	if (strcmp(req.method, "GET") != 0 && !c->head) {
		respond_text(c, "405 Method Not Allowed", "Allow: GET, HEAD\r\n");
		return;
	}
	if (strcmp(req.path, "/metrics") != 0) {
		respond_text(c, "404 Not Found", "");
		return;
	}
	master_stats_refresh(stats_ready, (void *)(uintptr_t)c->id);
}

static void linger_input(void *context, unsigned revents)
{
	struct http_conn *c = context;
	char buf[4096];
	ssize_t n = read(c->linger_fd, buf, sizeof(buf));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		conn_free(c);
}

static void conn_closed(void *context, const char *reason)
{
	struct http_conn *c = context;
	/* reason == NULL: the answer is out (stream_finish()). The timer
	 * still bounds how long the client may keep sending. */
	if (reason == NULL && c->stream != NULL && !stream_is_tls(c->stream)) {
		c->linger_fd = stream_detach_fd(c->stream);
		stream_destroy(c->stream);
		c->stream = NULL;
		if (c->linger_fd >= 0 && shutdown(c->linger_fd, SHUT_WR) == 0) {
			c->linger_io = event_io_add(H.loop, c->linger_fd, EVENT_IN, false,
						    linger_input, c);
			return;
		}
	}
	conn_free(c);
}

static const struct stream_callbacks conn_callbacks = {
	.input = conn_input,
	.closed = conn_closed,
};

static void conn_timeout(void *context)
{
	struct http_conn *c = context;
	c->timer = NULL;
	conn_free(c);
}

static void listener_input(void *context, unsigned revents)
{
	int fd = accept4(H.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_error("metrics_listen: accept: %s", strerror(errno));
		return;
	}
	if (H.conn_count >= METRICS_HTTP_CONNECTIONS_MAX) {
		close(fd);
		return;
	}
	struct http_conn *c = xmalloc(sizeof(*c));
	if (++H.next_id == 0)
		H.next_id = 1;
	c->id = H.next_id;
	c->linger_fd = -1;
	c->stream = stream_create(H.loop, fd, HTTP_REQUEST_MAX, &conn_callbacks, c);
	c->timer = event_timer_add(H.loop, METRICS_HTTP_TIMEOUT_MS, conn_timeout, c);
	c->next = H.conns;
	if (H.conns != NULL)
		H.conns->prev = c;
	H.conns = c;
	H.conn_count++;
}

void metrics_http_init(struct event_loop *loop)
{
	memset(&H, 0, sizeof(H));
	H.loop = loop;
	H.fd = -1;
}

static int bind_listener(const char *address, struct error *err)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned port;
	if (settings_parse_host_port(address, addr, sizeof(addr), &port, err) < 0)
		return -1;
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		len = sizeof(*sin);
	} else {
		inet_pton(AF_INET6, addr, &sin6->sin6_addr);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		len = sizeof(*sin6);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0) {
		error_set_errno(err, "metrics_listen = %s", address);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void close_listener(void)
{
	event_io_remove(H.io);
	H.io = NULL;
	if (H.fd >= 0)
		close(H.fd);
	H.fd = -1;
	H.listen[0] = '\0';
}

int metrics_http_configure(const char *address, struct error *err)
{
	const char *listen_on = address != NULL ? address : "";
	if (strcmp(listen_on, H.listen) == 0 && (H.fd >= 0 || listen_on[0] == '\0'))
		return 0;
	if (listen_on[0] == '\0') {
		close_listener();
		return 0;
	}
	if (strlen(listen_on) >= sizeof(H.listen)) {
		error_set(err, ERROR_INVALID, "metrics_listen is too long");
		return -1;
	}
	int fd = bind_listener(listen_on, err);
	if (fd < 0)
		return -1;
	close_listener();
	H.fd = fd;
	snprintf(H.listen, sizeof(H.listen), "%s", listen_on);
	H.io = event_io_add(H.loop, fd, EVENT_IN, false, listener_input, NULL);
	log_info("Metrics on http://%s/metrics", listen_on);
	return 0;
}

void metrics_http_deinit(void)
{
	while (H.conns != NULL)
		conn_free(H.conns);
	close_listener();
}
