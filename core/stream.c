/* Buffered non-blocking socket streams with optional TLS; see stream.h. */
#include "config.h"
#include "stream.h"
#include "log.h"
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One read()/TLS record at a time; 16 KiB is the TLS record size. */
#define STREAM_READ_CHUNK 16384

struct stream {
	struct event_loop *loop;
	int fd;
	struct event_io *io;
	struct event_timer *kick;    /* re-runs reading for TLS-buffered data */
	struct event_timer *flush_timer;   /* one flush per loop round */
	struct buffer in, out;
	size_t input_limit;
	const struct stream_callbacks *cb;
	void *context;

	unsigned busy;               /* callbacks running; defer the free */
	bool destroyed;
	bool closed;                 /* closed callback already ran */
	bool input_paused;
	bool eof;
	bool finishing;
	bool flushing;
	bool drain_requested;
	bool overflowed;             /* output passed STREAM_OUTPUT_MAX */

	gnutls_session_t tls;
	bool tls_start_pending;      /* waiting for plaintext output to drain */
	bool handshaking;
	size_t tls_send_pending;     /* bytes of out in a GNUTLS_E_AGAIN send */
	const struct tls_context *tls_ctx;
	char tls_description[96];
};

static void stream_update_events(struct stream *s);
static void stream_flush(struct stream *s);
static void stream_handle_read(struct stream *s);
static void stream_do_handshake(struct stream *s);

static void stream_release(struct stream *s)
{
	free(s);
}

/* Calls the closed callback once; afterwards the stream does no I/O. */
static void stream_fail(struct stream *s, const char *reason)
{
	if (s->closed || s->destroyed)
		return;
	s->closed = true;
	if (s->io != NULL)
		event_io_set_events(s->io, 0);
	s->busy++;
	s->cb->closed(s->context, reason);
	s->busy--;
	if (s->destroyed && s->busy == 0)
		stream_release(s);
}

static void stream_kick(void *context)
{
	struct stream *s = context;
	s->kick = NULL;
	stream_handle_read(s);
}

static void stream_io(void *context, unsigned revents)
{
	struct stream *s = context;
	s->busy++;
	if (s->handshaking) {
		stream_do_handshake(s);
	} else {
		if ((revents & EVENT_OUT) && !s->destroyed && !s->closed)
			stream_flush(s);
		if ((revents & EVENT_IN) && !s->destroyed && !s->closed)
			stream_handle_read(s);
	}
	s->busy--;
	if (s->destroyed) {
		if (s->busy == 0)
			stream_release(s);
		return;
	}
	if (!s->closed)
		stream_update_events(s);
}

struct stream *stream_create(struct event_loop *loop, int fd,
			     size_t input_limit,
			     const struct stream_callbacks *callbacks,
			     void *context)
{
	struct stream *s = xmalloc(sizeof(*s));
	s->loop = loop;
	s->fd = fd;
	s->input_limit = input_limit;
	s->cb = callbacks;
	s->context = context;
	buffer_init(&s->in);
	buffer_init(&s->out);
	int flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	s->io = event_io_add(loop, fd, EVENT_IN, false, stream_io, s);
	return s;
}

void stream_set_callbacks(struct stream *s, const struct stream_callbacks *callbacks,
			  void *context)
{
	s->cb = callbacks;
	s->context = context;
}

void stream_destroy(struct stream *s)
{
	if (s == NULL || s->destroyed)
		return;
	s->destroyed = true;
	s->closed = true;
	event_io_remove(s->io);
	s->io = NULL;
	event_timer_remove(s->kick);
	s->kick = NULL;
	event_timer_remove(s->flush_timer);
	s->flush_timer = NULL;
	if (s->tls != NULL) {
		gnutls_deinit(s->tls);
		s->tls = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	/* Input may hold a password from a pipelined PASS line. */
	buffer_free_secret(&s->in);
	buffer_free(&s->out);
	if (s->busy == 0)
		stream_release(s);
}

struct buffer *stream_input(struct stream *s)
{
	return &s->in;
}

static bool stream_wants_read(const struct stream *s)
{
	return !s->input_paused && !s->eof && !s->finishing && !s->closed &&
		!s->tls_start_pending && s->in.len < s->input_limit;
}

static void stream_update_events(struct stream *s)
{
	if (s->io == NULL || s->destroyed || s->closed)
		return;
	unsigned ev = 0;
	if (s->handshaking) {
		ev = gnutls_record_get_direction(s->tls) == 1 ? EVENT_OUT : EVENT_IN;
	} else {
		if (stream_wants_read(s))
			ev |= EVENT_IN;
		if (s->out.len > 0)
			ev |= EVENT_OUT;
	}
	event_io_set_events(s->io, ev);
}

void stream_input_pause(struct stream *s)
{
	s->input_paused = true;
	stream_update_events(s);
}

void stream_input_resume(struct stream *s)
{
	if (s->destroyed || s->closed)
		return;
	s->input_paused = false;
	stream_update_events(s);
	/* TLS may hold decrypted bytes the socket will never signal again. */
	if (s->tls != NULL && !s->handshaking && s->kick == NULL &&
	    gnutls_record_check_pending(s->tls) > 0)
		s->kick = event_timer_add(s->loop, 0, stream_kick, s);
}

/* Returns bytes read (>0), 0 for EOF, -1 would block, -2 error. */
static ssize_t stream_read_chunk(struct stream *s, char *buf, size_t size,
				 const char **reason_r)
{
	if (s->tls != NULL) {
		for (;;) {
			ssize_t n = gnutls_record_recv(s->tls, buf, size);
			if (n >= 0)
				return n;
			if (n == GNUTLS_E_AGAIN)
				return -1;
			if (n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n == GNUTLS_E_PREMATURE_TERMINATION)
				return 0;
			if (gnutls_error_is_fatal((int)n)) {
				*reason_r = gnutls_strerror((int)n);
				return -2;
			}
			/* Warnings (e.g. a renegotiation request) are ignored. */
		}
	}
	for (;;) {
		ssize_t n = read(s->fd, buf, size);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -1;
		*reason_r = strerror(errno);
		return -2;
	}
}

static void stream_handle_read(struct stream *s)
{
	char chunk[STREAM_READ_CHUNK];
	bool got = false;
	const char *reason = NULL;
	ssize_t n = -1;

	while (stream_wants_read(s)) {
		size_t room = s->input_limit - s->in.len;
		n = stream_read_chunk(s, chunk, room < sizeof(chunk) ? room : sizeof(chunk), &reason);
		if (n > 0) {
			buffer_append(&s->in, chunk, (size_t)n);
			got = true;
			continue;
		}
		if (n == 0)
			s->eof = true;
		break;
	}
	s->busy++;
	if (got && !s->destroyed && !s->closed)
		s->cb->input(s->context);
	s->busy--;
	if (s->destroyed) {
		if (s->busy == 0)
			stream_release(s);
		return;
	}
	if (n == -2) {
		char msg[160];
		snprintf(msg, sizeof(msg), "Connection error: %s", reason);
		stream_fail(s, msg);
		return;
	}
	if (s->eof && !s->closed) {
		stream_fail(s, "Disconnected");
		return;
	}
	stream_update_events(s);
}

/* Returns 1 when out is empty, 0 when the socket would block, -1 error. */
static int stream_write_some(struct stream *s, const char **reason_r)
{
	/* Until the handshake starts, queued bytes (the "+OK" to STLS) are
	 * still plaintext. */
	bool use_tls = s->tls != NULL && !s->tls_start_pending;
	/* What was sent leaves the queue once, on return: dropping it after
	 * every 16 KiB TLS record would move the rest of a 128 KiB queue
	 * each time. */
	size_t sent = 0;
	int ret = 1;
	while (sent < s->out.len) {
		const char *data = s->out.data + sent;
		size_t left = s->out.len - sent;
		ssize_t n;
		if (use_tls) {
			size_t len = s->tls_send_pending > 0 ? s->tls_send_pending :
				(left < STREAM_READ_CHUNK ? left : STREAM_READ_CHUNK);
			n = gnutls_record_send(s->tls, data, len);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				s->tls_send_pending = len;
				ret = 0;
				break;
			}
			if (n < 0) {
				*reason_r = gnutls_strerror((int)n);
				ret = -1;
				break;
			}
			s->tls_send_pending = 0;
		} else {
			n = send(s->fd, data, left, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					ret = 0;
					break;
				}
				*reason_r = strerror(errno);
				ret = -1;
				break;
			}
		}
		sent += (size_t)n;
	}
	buffer_consume(&s->out, sent);
	return ret;
}

static void stream_flush(struct stream *s)
{
	if (s->flushing || s->handshaking || s->closed || s->destroyed)
		return;
	s->flushing = true;
	for (;;) {
		const char *reason = NULL;
		int r = stream_write_some(s, &reason);
		if (r < 0) {
			s->flushing = false;
			char msg[160];
			snprintf(msg, sizeof(msg), "Connection error: %s", reason);
			stream_fail(s, msg);
			return;
		}
		if (s->drain_requested && s->out.len < STREAM_OUTPUT_LOW_WATER &&
		    s->cb->drained != NULL) {
			s->drain_requested = false;
			s->busy++;
			s->cb->drained(s->context);
			s->busy--;
			if (s->destroyed || s->closed)
				break;
			if (r == 1 && s->out.len > 0)
				continue;
		}
		break;
	}
	s->flushing = false;
	if (s->destroyed || s->closed)
		return;
	if (s->out.len == 0 && s->tls_start_pending) {
		s->tls_start_pending = false;
		s->handshaking = true;
		stream_do_handshake(s);
		return;
	}
	if (s->out.len == 0 && s->finishing) {
		if (s->tls != NULL)
			gnutls_bye(s->tls, GNUTLS_SHUT_WR);
		stream_fail(s, NULL);
		return;
	}
	stream_update_events(s);
}

/* Runs f on s with the free deferred, so s stays valid inside f even if a
 * callback destroys it. */
static void stream_guarded_flush(struct stream *s)
{
	s->busy++;
	stream_flush(s);
	s->busy--;
	if (s->destroyed && s->busy == 0)
		stream_release(s);
}

static void stream_flush_due(void *context)
{
	struct stream *s = context;
	s->flush_timer = NULL;
	if (s->overflowed) {
		stream_fail(s, "Peer does not read its replies (output limit reached)");
		return;
	}
	stream_guarded_flush(s);
}

/* Whether len more bytes may be queued; past the limit the stream is
 * marked overflowed and fails from the flush timer. */
static bool stream_output_admits(struct stream *s, size_t len)
{
	if (s->destroyed || s->closed || s->finishing || s->overflowed)
		return false;
	if (s->out.len + len > STREAM_OUTPUT_MAX) {
		/* Fail from the flush timer, not here: the caller is in the
		 * middle of its own work and still uses its state. */
		s->overflowed = true;
		if (s->flush_timer == NULL)
			s->flush_timer = event_timer_add(s->loop, 0, stream_flush_due, s);
		return false;
	}
	return true;
}

/* Writes made while handling one event go out in one send() at the end of
 * the loop round: a reply line and its CRLF written apart would otherwise
 * meet Nagle and the peer's delayed ACK (40 ms). */
static void stream_schedule_flush(struct stream *s)
{
	if (!s->flushing && s->flush_timer == NULL)
		s->flush_timer = event_timer_add(s->loop, 0, stream_flush_due, s);
}

void stream_write(struct stream *s, const void *data, size_t len)
{
	if (!stream_output_admits(s, len))
		return;
	buffer_append(&s->out, data, len);
	stream_schedule_flush(s);
}

char *stream_write_reserve(struct stream *s, size_t len)
{
	if (!stream_output_admits(s, len))
		return NULL;
	return buffer_append_space(&s->out, len);
}

void stream_write_commit(struct stream *s, size_t n)
{
	buffer_append_space_used(&s->out, n);
	stream_schedule_flush(s);
}

void stream_write_str(struct stream *s, const char *str)
{
	stream_write(s, str, strlen(str));
}

void stream_printf(struct stream *s, const char *fmt, ...)
{
	struct buffer tmp;
	buffer_init(&tmp);
	va_list ap;
	va_start(ap, fmt);
	buffer_vprintf(&tmp, fmt, ap);
	va_end(ap);
	stream_write(s, tmp.data, tmp.len);
	buffer_free(&tmp);
}

size_t stream_output_pending(const struct stream *s)
{
	return s->out.len;
}

bool stream_output_full(const struct stream *s)
{
	if (s->out.len < STREAM_OUTPUT_HIGH_WATER)
		return false;
	((struct stream *)s)->drain_requested = true;
	return true;
}

void stream_finish(struct stream *s)
{
	if (s->destroyed || s->closed || s->finishing)
		return;
	s->finishing = true;
	stream_guarded_flush(s);
}

static void stream_do_handshake(struct stream *s)
{
	int ret;
	do {
		ret = gnutls_handshake(s->tls);
	} while (ret == GNUTLS_E_INTERRUPTED);
	if (ret == GNUTLS_E_AGAIN || (ret < 0 && !gnutls_error_is_fatal(ret))) {
		stream_update_events(s);
		return;
	}
	s->handshaking = false;
	if (ret < 0) {
		char msg[160];
		snprintf(msg, sizeof(msg), "TLS handshake failed: %s", gnutls_strerror(ret));
		stream_fail(s, msg);
		return;
	}
	snprintf(s->tls_description, sizeof(s->tls_description), "%s %s",
		 gnutls_protocol_get_name(gnutls_protocol_get_version(s->tls)),
		 gnutls_cipher_get_name(gnutls_cipher_get(s->tls)));
	s->busy++;
	if (s->cb->tls_ready != NULL)
		s->cb->tls_ready(s->context);
	s->busy--;
	if (s->destroyed) {
		if (s->busy == 0)
			stream_release(s);
		return;
	}
	if (s->closed)
		return;
	stream_update_events(s);
	if (gnutls_record_check_pending(s->tls) > 0 && s->kick == NULL)
		s->kick = event_timer_add(s->loop, 0, stream_kick, s);
}

static void stream_begin_handshake(struct stream *s)
{
	gnutls_transport_set_int(s->tls, s->fd);
	/* RFC 2595 §4 / RFC 8314: plaintext that followed STLS must never be
	 * treated as if it came through TLS. */
	buffer_reset(&s->in);
	s->tls_start_pending = true;
	stream_update_events(s);
	stream_guarded_flush(s);
}

int stream_start_tls(struct stream *s, const struct tls_context *ctx,
		     struct error *err)
{
	if (s->tls != NULL) {
		error_set(err, ERROR_INVALID, "TLS already active");
		return -1;
	}
	int ret = gnutls_init(&s->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK);
	if (ret >= 0)
		ret = gnutls_priority_set(s->tls, ctx->priority);
	if (ret >= 0)
		ret = gnutls_credentials_set(s->tls, GNUTLS_CRD_CERTIFICATE, ctx->credentials);
	/* Resumption skips the certificate signature: most of the cost of a
	 * TLS login for a client that reconnects every few minutes. */
	if (ret >= 0 && ctx->ticket_key.data != NULL)
		ret = gnutls_session_ticket_enable_server(s->tls, &ctx->ticket_key);
	if (ret < 0) {
		error_set(err, ERROR_TEMP, "TLS setup: %s", gnutls_strerror(ret));
		if (s->tls != NULL)
			gnutls_deinit(s->tls);
		s->tls = NULL;
		return -1;
	}
	gnutls_certificate_server_set_request(s->tls, GNUTLS_CERT_IGNORE);
	s->tls_ctx = ctx;
	stream_begin_handshake(s);
	return 0;
}

int stream_start_tls_session(struct stream *s, gnutls_session_t session,
			     struct error *err)
{
	if (s->tls != NULL) {
		gnutls_deinit(session);
		error_set(err, ERROR_INVALID, "TLS already active");
		return -1;
	}
	s->tls = session;
	stream_begin_handshake(s);
	return 0;
}

bool stream_is_tls(const struct stream *s)
{
	return s->tls != NULL;
}

const char *stream_tls_description(const struct stream *s)
{
	return s->tls != NULL && s->tls_description[0] != '\0' ? s->tls_description : NULL;
}

void stream_take_output(struct stream *s, struct buffer *dest)
{
	buffer_append(dest, s->out.data, s->out.len);
	buffer_reset(&s->out);
	s->tls_send_pending = 0;
}

int stream_detach_fd(struct stream *s)
{
	int fd = s->fd;
	event_io_remove(s->io);
	s->io = NULL;
	s->fd = -1;
	s->closed = true;
	return fd;
}

int stream_fd(const struct stream *s)
{
	return s->fd;
}
