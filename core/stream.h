/*
 * Buffered, non-blocking byte streams over a socket, optionally TLS.
 *
 * Input is read into stream_input() and the owner's input callback runs;
 * the owner consumes what it used (buffer_consume). Writes are queued and
 * sent at the end of the current event-loop round, so everything written
 * while handling one event leaves in one send(). Reading pauses while
 * the input buffer holds more than the stream's input limit, and resumes
 * once the owner calls stream_input_resume() after consuming. Output is
 * queued with stream_write() and flushed as the socket allows; the drained
 * callback runs when the queue falls below the low-water mark, which is how
 * large RETRs are produced piece by piece with bounded memory.
 *
 * The closed callback runs exactly once, with a reason for the log
 * ("Disconnected", "Connection reset", "TLS handshake failed: ...") or
 * NULL after stream_finish() flushed everything. The owner then calls
 * stream_destroy(), which may also be called at any other time, including
 * from inside a callback.
 */
#ifndef ROOST_STREAM_H
#define ROOST_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "buffer.h"
#include "event-loop.h"
#include "tls-context.h"

/* Output queued above this makes stream_output_full() true; producers stop
 * and wait for the drained callback. */
#define STREAM_OUTPUT_HIGH_WATER (128 * 1024)
#define STREAM_OUTPUT_LOW_WATER (32 * 1024)
/* Producers that respect stream_output_full() stay far below this; only a
 * peer that never reads and a producer that ignores the high-water mark
 * get here, and then the stream fails ("not reading") instead of letting
 * one client grow the process without bound. */
#define STREAM_OUTPUT_MAX (4 * 1024 * 1024)

struct stream;

struct stream_callbacks {
	void (*input)(void *context);
	void (*drained)(void *context);              /* may be NULL */
	void (*closed)(void *context, const char *reason);
	void (*tls_ready)(void *context);            /* may be NULL */
};

/* Takes ownership of fd (made non-blocking, closed by stream_destroy()). */
struct stream *stream_create(struct event_loop *loop, int fd,
			     size_t input_limit,
			     const struct stream_callbacks *callbacks,
			     void *context);
/* Gives the stream to another owner (a back-end connection that goes
 * from logging in to relaying). */
void stream_set_callbacks(struct stream *stream,
			  const struct stream_callbacks *callbacks, void *context);
void stream_destroy(struct stream *stream);

struct buffer *stream_input(struct stream *stream);
void stream_input_resume(struct stream *stream);
/* Stops reading (e.g. while waiting for auth); resume re-enables. */
void stream_input_pause(struct stream *stream);

void stream_write(struct stream *stream, const void *data, size_t len);
void stream_write_str(struct stream *stream, const char *s);
void stream_printf(struct stream *stream, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* stream_write() without the copy, for a producer that converts data
 * (RETR): room for len bytes at the end of the output queue, which the
 * caller fills and then hands over with stream_write_commit(n <= len)
 * before any other call on the stream. NULL when the stream takes no
 * more output (closed, finishing, or len would pass the output limit);
 * the caller then stops writing, as output to such a stream is dropped. */
char *stream_write_reserve(struct stream *stream, size_t len);
void stream_write_commit(struct stream *stream, size_t n);
size_t stream_output_pending(const struct stream *stream);
bool stream_output_full(const struct stream *stream);
/* Stop reading, flush output, then call closed(NULL). */
void stream_finish(struct stream *stream);

/* Starts a server-side TLS handshake. Buffered plaintext input is
 * discarded first (RFC 2595: nothing read before the handshake may be
 * acted on). tls_ready runs when the handshake completes. */
int stream_start_tls(struct stream *stream, const struct tls_context *tls,
		     struct error *err);
/* The same with a session the caller set up (the client side of a
 * connection to another server: login-proxy.c); the stream owns session
 * from now on, also on failure. */
int stream_start_tls_session(struct stream *stream, gnutls_session_t session,
			     struct error *err);
bool stream_is_tls(const struct stream *stream);
/* "TLSv1.3 AES-256-GCM" style description, or NULL. */
const char *stream_tls_description(const struct stream *stream);

/* Moves output not yet sent into dest (appended) and empties the queue;
 * for handing a plain connection over with its unsent replies. */
void stream_take_output(struct stream *stream, struct buffer *dest);
/* For a plain stream: stops all I/O and returns the fd, which the caller
 * now owns (the stream no longer closes it). Unread bytes stay in
 * stream_input(). */
int stream_detach_fd(struct stream *stream);
int stream_fd(const struct stream *stream);

#endif
