/* Unit tests for buffered streams (core/stream.c) and server TLS
 * (core/tls-context.c) over a socketpair. The peer is either a raw fd
 * driven by the same event loop or, for TLS, a GnuTLS client in a helper
 * thread. Only data, orders and counts are asserted, never durations. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buffer.h"
#include "error.h"
#include "event-loop.h"
#include "stream.h"
#include "tls-context.h"

static struct event_loop *loop;
static int sv[2];

struct sctx {
	struct stream *s;
	unsigned input_calls;
	struct buffer got;
	bool consume;            /* consume and resume in the input callback */
	size_t stop_at;          /* stop the loop when got.len reaches this */
	size_t first_len;        /* input length at the first callback */
	unsigned closed_calls;
	bool closed_null;
	char closed_reason[200];
	unsigned drained_calls;
	size_t pending_at_drain;
	void (*on_drained)(struct sctx *c);
	unsigned tls_ready_calls;
	bool tls_was_on;
	char tls_description[100];
	void (*on_input)(struct sctx *c);
};

static struct sctx ctx;

static void on_input(void *context)
{
	struct sctx *c = context;
	struct buffer *in = stream_input(c->s);
	if (c->input_calls++ == 0)
		c->first_len = in->len;
	if (c->on_input != NULL) {
		c->on_input(c);
		return;
	}
	if (c->consume) {
		buffer_append(&c->got, in->data, in->len);
		buffer_consume(in, in->len);
		stream_input_resume(c->s);
	}
	if (c->stop_at > 0 && c->got.len >= c->stop_at)
		event_loop_stop(loop);
}

static void on_drained(void *context)
{
	struct sctx *c = context;
	c->drained_calls++;
	c->pending_at_drain = stream_output_pending(c->s);
	if (c->on_drained != NULL)
		c->on_drained(c);
}

static void on_closed(void *context, const char *reason)
{
	struct sctx *c = context;
	c->closed_calls++;
	c->closed_null = reason == NULL;
	snprintf(c->closed_reason, sizeof(c->closed_reason), "%s",
		 reason == NULL ? "(null)" : reason);
	stream_destroy(c->s);
	c->s = NULL;
	event_loop_stop(loop);
}

static void on_tls_ready(void *context)
{
	struct sctx *c = context;
	c->tls_ready_calls++;
	c->tls_was_on = stream_is_tls(c->s);
	const char *d = stream_tls_description(c->s);
	snprintf(c->tls_description, sizeof(c->tls_description), "%s",
		 d == NULL ? "" : d);
}

static const struct stream_callbacks callbacks = {
	.input = on_input,
	.drained = on_drained,
	.closed = on_closed,
	.tls_ready = on_tls_ready,
};

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	loop = event_loop_create();
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(&ctx, 0, sizeof(ctx));
	buffer_init(&ctx.got);
}

static void teardown(void)
{
	if (ctx.s != NULL)
		stream_destroy(ctx.s);
	if (sv[1] >= 0)
		close(sv[1]);
	buffer_free(&ctx.got);
	event_loop_destroy(loop);
}

static char pattern_byte(size_t i)
{
	return (char)('0' + (i * 7 + i / 251) % 10);
}

static void fill_pattern(char *buf, size_t offset, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(offset + i);
}

static bool is_pattern(const char *buf, size_t offset, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != pattern_byte(offset + i))
			return false;
	}
	return true;
}

static void read_exactly(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
}

/* Runs the loop for a few rounds, each with an epoll_wait in between, so
 * that any readiness still registered would be dispatched. */
static unsigned rounds_left;

static void round_timer(void *context)
{
	if (--rounds_left == 0)
		event_loop_stop(loop);
	else
		event_timer_add(loop, 1, round_timer, NULL);
}

static void run_rounds(unsigned n)
{
	rounds_left = n;
	event_timer_add(loop, 1, round_timer, NULL);
	event_loop_run(loop);
}

/* ---- plain ---- */

START_TEST(plain_write_read)
{
	ctx.s = stream_create(loop, sv[0], 1024, &callbacks, &ctx);
	ck_assert_ptr_nonnull(ctx.s);
	ck_assert_int_eq(stream_fd(ctx.s), sv[0]);
	ck_assert(!stream_is_tls(ctx.s));
	ck_assert_ptr_null(stream_tls_description(ctx.s));

	stream_write_str(ctx.s, "+OK hello\r\n");
	stream_printf(ctx.s, "%s %d\r\n", "+OK", 42);
	char buf[32];
	/* Writes are coalesced and sent at the end of a loop round. */
	ck_assert_uint_eq(stream_output_pending(ctx.s), 19);
	run_rounds(1);
	ck_assert_uint_eq(stream_output_pending(ctx.s), 0);
	read_exactly(sv[1], buf, 19);
	ck_assert(memcmp(buf, "+OK hello\r\n+OK 42\r\n", 19) == 0);

	ctx.consume = true;
	ctx.stop_at = 10;
	ck_assert_int_eq(write(sv[1], "USER bob\r\n", 10), 10);
	event_loop_run(loop);
	ck_assert_uint_eq(ctx.got.len, 10);
	ck_assert(memcmp(ctx.got.data, "USER bob\r\n", 10) == 0);
	ck_assert_uint_eq(ctx.closed_calls, 0);

	/* The peer hangs up: closed runs once with a reason. */
	close(sv[1]);
	sv[1] = -1;
	event_loop_run(loop);
	ck_assert_uint_eq(ctx.closed_calls, 1);
	ck_assert(!ctx.closed_null);
	ck_assert_str_eq(ctx.closed_reason, "Disconnected");
}
END_TEST

static void keep_input(struct sctx *c)
{
	/* First call: leave the input where it is. */
	if (c->input_calls > 1) {
		struct buffer *in = stream_input(c->s);
		buffer_append(&c->got, in->data, in->len);
		buffer_consume(in, in->len);
		stream_input_resume(c->s);
		if (c->got.len >= c->stop_at)
			event_loop_stop(loop);
	}
}

START_TEST(plain_input_limit)
{
	enum { LIMIT = 16, TOTAL = 100 };
	char data[TOTAL];
	fill_pattern(data, 0, TOTAL);
	ctx.s = stream_create(loop, sv[0], LIMIT, &callbacks, &ctx);
	ctx.on_input = keep_input;
	ctx.stop_at = TOTAL;
	ck_assert_int_eq(write(sv[1], data, TOTAL), TOTAL);

	run_rounds(5);
	/* Read up to the limit, then paused: no further input calls while
	 * the owner has not consumed, however many rounds pass. */
	ck_assert_uint_eq(ctx.input_calls, 1);
	ck_assert_uint_gt(ctx.first_len, 0);
	ck_assert_uint_le(ctx.first_len, LIMIT);
	ck_assert_uint_eq(stream_input(ctx.s)->len, ctx.first_len);

	/* Consume and resume: the rest arrives, in order. */
	struct buffer *in = stream_input(ctx.s);
	buffer_append(&ctx.got, in->data, in->len);
	buffer_consume(in, in->len);
	stream_input_resume(ctx.s);
	event_loop_run(loop);
	ck_assert_uint_eq(ctx.got.len, TOTAL);
	ck_assert(is_pattern(ctx.got.data, 0, TOTAL));
	ck_assert_uint_ge(ctx.input_calls, 1 + (TOTAL - LIMIT) / LIMIT);
}
END_TEST

START_TEST(plain_pause_resume)
{
	ctx.s = stream_create(loop, sv[0], 1024, &callbacks, &ctx);
	ctx.consume = true;
	ctx.stop_at = 6;
	stream_input_pause(ctx.s);
	ck_assert_int_eq(write(sv[1], "STAT\r\n", 6), 6);
	run_rounds(5);
	ck_assert_uint_eq(ctx.input_calls, 0);
	stream_input_resume(ctx.s);
	event_loop_run(loop);
	ck_assert_uint_eq(ctx.input_calls, 1);
	ck_assert_uint_eq(ctx.got.len, 6);
	ck_assert(memcmp(ctx.got.data, "STAT\r\n", 6) == 0);
}
END_TEST

/* The raw peer, reading everything into a buffer until EOF. */
struct peer {
	int fd;
	struct event_io *io;
	struct buffer got;
	bool eof;
};

static void peer_read(void *context, unsigned revents)
{
	struct peer *p = context;
	char buf[65536];
	ssize_t n = read(p->fd, buf, sizeof(buf));
	if (n > 0) {
		buffer_append(&p->got, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	p->eof = true;
	event_io_remove(p->io);
	p->io = NULL;
	event_loop_stop(loop);
}

static void peer_start(struct peer *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = sv[1];
	buffer_init(&p->got);
	fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
	p->io = event_io_add(loop, p->fd, EVENT_IN, false, peer_read, p);
}

/* Runs until the peer saw EOF; the stream's closed callback stops the
 * loop once too, so run again if needed. */
static void run_until_peer_eof(struct peer *p)
{
	for (int i = 0; i < 4 && !p->eof; i++)
		event_loop_run(loop);
	ck_assert(p->eof);
}

START_TEST(plain_finish_flushes)
{
	enum { TOTAL = 1024 * 1024 };
	char *data = malloc(TOTAL);
	fill_pattern(data, 0, TOTAL);
	ctx.s = stream_create(loop, sv[0], 1024, &callbacks, &ctx);
	stream_write(ctx.s, data, TOTAL);
	/* Far more than a socket buffer: most of it is still queued. */
	ck_assert_uint_gt(stream_output_pending(ctx.s), 0);
	stream_finish(ctx.s);
	ck_assert_uint_eq(ctx.closed_calls, 0);
	/* Writes after finish are not sent. */
	stream_write_str(ctx.s, "AFTER");

	struct peer p;
	peer_start(&p);
	run_until_peer_eof(&p);
	ck_assert_uint_eq(ctx.closed_calls, 1);
	ck_assert_msg(ctx.closed_null, "closed with '%s'", ctx.closed_reason);
	ck_assert_uint_eq(p.got.len, TOTAL);
	ck_assert(memcmp(p.got.data, data, TOTAL) == 0);
	buffer_free(&p.got);
	free(data);
}
END_TEST

/* Output written in place (stream_write_reserve/commit) keeps its place
 * among ordinary writes, and only the committed part is sent; a reserve
 * past the output limit is refused and fails the stream. */
START_TEST(plain_reserve_commit)
{
	enum { TOTAL = 512 * 1024, PIECE = 3000 };
	char *data = malloc(TOTAL);
	fill_pattern(data, 0, TOTAL);
	ctx.s = stream_create(loop, sv[0], 1024, &callbacks, &ctx);
	for (size_t off = 0; off < TOTAL; off += PIECE) {
		size_t n = TOTAL - off < PIECE ? TOTAL - off : PIECE;
		if ((off / PIECE) % 2) {
			stream_write(ctx.s, data + off, n);
			continue;
		}
		/* Reserve more than is used, as RETR does. */
		char *room = stream_write_reserve(ctx.s, 2 * n + 1);
		ck_assert_ptr_nonnull(room);
		memcpy(room, data + off, n);
		memset(room + n, 'X', n + 1);
		stream_write_commit(ctx.s, n);
	}
	stream_finish(ctx.s);
	struct peer p;
	peer_start(&p);
	run_until_peer_eof(&p);
	ck_assert_uint_eq(p.got.len, TOTAL);
	ck_assert(memcmp(p.got.data, data, TOTAL) == 0);
	buffer_free(&p.got);
	free(data);
}
END_TEST

START_TEST(plain_reserve_over_limit)
{
	ctx.s = stream_create(loop, sv[0], 1024, &callbacks, &ctx);
	ck_assert_ptr_null(stream_write_reserve(ctx.s, STREAM_OUTPUT_MAX + 1));
	/* Overflowed: nothing more is taken, and the stream fails. */
	ck_assert_ptr_null(stream_write_reserve(ctx.s, 1));
	event_loop_run(loop);
	ck_assert_uint_eq(ctx.closed_calls, 1);
	ck_assert(!ctx.closed_null);
}
END_TEST

START_TEST(plain_finish_empty)
{
	ctx.s = stream_create(loop, sv[0], 1024, &callbacks, &ctx);
	stream_write_str(ctx.s, "+OK bye\r\n");
	stream_finish(ctx.s);
	/* Everything fitted in the socket: closed(NULL) may already have
	 * run; otherwise the loop gets it done. */
	if (ctx.closed_calls == 0)
		event_loop_run(loop);
	ck_assert_uint_eq(ctx.closed_calls, 1);
	ck_assert(ctx.closed_null);
	char buf[16];
	read_exactly(sv[1], buf, 9);
	ck_assert(memcmp(buf, "+OK bye\r\n", 9) == 0);
	/* Destroyed in closed(): the peer sees EOF. */
	ck_assert_int_eq(read(sv[1], buf, sizeof(buf)), 0);
}
END_TEST

static size_t drain_written;

static void drained_finish(struct sctx *c)
{
	stream_write_str(c->s, "END");
	drain_written += 3;
	stream_finish(c->s);
}

START_TEST(plain_drained_after_full)
{
	enum { CHUNK = 16384 };
	char chunk[CHUNK];
	/* A small socket buffer makes the queue drain in small steps, so
	 * the moment drained runs is visible. */
	int small = 4096;
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	ctx.s = stream_create(loop, sv[0], 1024, &callbacks, &ctx);
	ctx.on_drained = drained_finish;
	drain_written = 0;
	bool full = false;
	for (int i = 0; i < 1000 && !full; i++) {
		fill_pattern(chunk, drain_written, CHUNK);
		stream_write(ctx.s, chunk, CHUNK);
		drain_written += CHUNK;
		full = stream_output_full(ctx.s);
	}
	ck_assert(full);
	ck_assert_uint_ge(stream_output_pending(ctx.s), STREAM_OUTPUT_HIGH_WATER);
	size_t body = drain_written;
	ck_assert_uint_eq(ctx.drained_calls, 0);

	struct peer p;
	peer_start(&p);
	run_until_peer_eof(&p);
	ck_assert_uint_eq(ctx.drained_calls, 1);
	ck_assert_uint_lt(ctx.pending_at_drain, STREAM_OUTPUT_LOW_WATER);
	ck_assert_uint_eq(ctx.closed_calls, 1);
	ck_assert(ctx.closed_null);
	ck_assert_uint_eq(p.got.len, drain_written);
	ck_assert(is_pattern(p.got.data, 0, body));
	ck_assert(memcmp(p.got.data + body, "END", 3) == 0);
	buffer_free(&p.got);
}
END_TEST

START_TEST(plain_no_drained_without_full)
{
	ctx.s = stream_create(loop, sv[0], 1024, &callbacks, &ctx);
	char big[STREAM_OUTPUT_HIGH_WATER / 2];
	fill_pattern(big, 0, sizeof(big));
	stream_write(ctx.s, big, sizeof(big));
	ck_assert(!stream_output_full(ctx.s));
	stream_finish(ctx.s);
	struct peer p;
	peer_start(&p);
	run_until_peer_eof(&p);
	ck_assert_uint_eq(p.got.len, sizeof(big));
	ck_assert_uint_eq(ctx.drained_calls, 0);
	ck_assert_uint_eq(ctx.closed_calls, 1);
	buffer_free(&p.got);
}
END_TEST

static void destroy_in_input(struct sctx *c)
{
	buffer_append(&c->got, stream_input(c->s)->data, stream_input(c->s)->len);
	stream_destroy(c->s);
	c->s = NULL;
	event_loop_stop(loop);
}

START_TEST(plain_destroy_inside_input)
{
	/* The owner may destroy the stream from inside a callback. */
	ctx.s = stream_create(loop, sv[0], 1024, &callbacks, &ctx);
	ctx.on_input = destroy_in_input;
	ck_assert_int_eq(write(sv[1], "QUIT\r\n", 6), 6);
	event_loop_run(loop);
	ck_assert_uint_eq(ctx.input_calls, 1);
	ck_assert_uint_eq(ctx.got.len, 6);
	/* More input and more rounds: no callback for a destroyed stream. */
	ck_assert_int_eq(write(sv[1], "NOOP\r\n", 6), -1);
	run_rounds(3);
	ck_assert_uint_eq(ctx.input_calls, 1);
	ck_assert_uint_eq(ctx.closed_calls, 0);
}
END_TEST

/* ---- TLS ---- */

static char tls_dir[64];
static char cert_path[128], key_path[128], tmpl_path[128];

static void tls_setup(void)
{
	setup();
	snprintf(tls_dir, sizeof(tls_dir), "/tmp/roost-test-tls-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tls_dir));
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", tls_dir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", tls_dir);
	snprintf(tmpl_path, sizeof(tmpl_path), "%s/template", tls_dir);
	FILE *f = fopen(tmpl_path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("cn = \"localhost\"\ndns_name = \"localhost\"\n"
	      "expiration_days = 2\ntls_www_server\nsigning_key\n", f);
	fclose(f);
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "certtool --generate-privkey --key-type=ecdsa --outfile %s >/dev/null 2>&1",
		 key_path);
	ck_assert_msg(system(cmd) == 0, "certtool failed: %s", cmd);
	snprintf(cmd, sizeof(cmd),
		 "certtool --generate-self-signed --load-privkey %s --template %s "
		 "--outfile %s >/dev/null 2>&1", key_path, tmpl_path, cert_path);
	ck_assert_msg(system(cmd) == 0, "certtool failed: %s", cmd);
}

static void tls_teardown(void)
{
	unlink(cert_path);
	unlink(key_path);
	unlink(tmpl_path);
	rmdir(tls_dir);
	teardown();
}

struct client {
	int fd;
	size_t send_len;
	size_t expect_len;
	/* results */
	char greeting[32];
	int handshake_ret;
	size_t received;
	bool pattern_ok;
	int end_ret;
	char error[200];
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	gnutls_session_t session = NULL;
	gnutls_certificate_credentials_t cred = NULL;
	char *buf = NULL;
	int ret;

	/* The plaintext reply to STLS comes first. */
	size_t got = 0;
	while (got < 15) {
		ssize_t n = read(c->fd, c->greeting + got, 15 - got);
		if (n <= 0) {
			snprintf(c->error, sizeof(c->error), "greeting read: %zd", n);
			return NULL;
		}
		got += (size_t)n;
	}
	gnutls_certificate_allocate_credentials(&cred);
	ret = gnutls_certificate_set_x509_trust_file(cred, cert_path, GNUTLS_X509_FMT_PEM);
	if (ret <= 0) {
		snprintf(c->error, sizeof(c->error), "trust file: %s", gnutls_strerror(ret));
		goto out;
	}
	gnutls_init(&session, GNUTLS_CLIENT);
	gnutls_set_default_priority(session);
	gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_server_name_set(session, GNUTLS_NAME_DNS, "localhost", 9);
	gnutls_session_set_verify_cert(session, "localhost", 0);
	gnutls_transport_set_int(session, c->fd);
	do {
		ret = gnutls_handshake(session);
	} while (ret < 0 && !gnutls_error_is_fatal(ret));
	c->handshake_ret = ret;
	if (ret < 0) {
		snprintf(c->error, sizeof(c->error), "handshake: %s", gnutls_strerror(ret));
		goto out;
	}

	buf = malloc(c->send_len > 65536 ? c->send_len : 65536);
	fill_pattern(buf, 0, c->send_len);
	size_t sent = 0;
	while (sent < c->send_len) {
		/* Uneven record sizes, some larger than the server's limit. */
		size_t len = c->send_len - sent;
		if (len > 7000)
			len = 7000;
		ssize_t n = gnutls_record_send(session, buf + sent, len);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n < 0) {
			snprintf(c->error, sizeof(c->error), "send: %s", gnutls_strerror((int)n));
			goto out;
		}
		sent += (size_t)n;
	}

	c->pattern_ok = true;
	for (;;) {
		ssize_t n = gnutls_record_recv(session, buf, 65536);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0) {
			c->end_ret = (int)n;
			break;
		}
		if (!is_pattern(buf, c->received, (size_t)n))
			c->pattern_ok = false;
		c->received += (size_t)n;
	}
	gnutls_bye(session, GNUTLS_SHUT_WR);
out:
	free(buf);
	if (session != NULL)
		gnutls_deinit(session);
	if (cred != NULL)
		gnutls_certificate_free_credentials(cred);
	return NULL;
}

static struct tls_context *tls;
static struct client client;
static pthread_t client_thread;
static bool client_started;
static char plain_seen[32];
static size_t plain_seen_len;
static size_t input_after_start_tls = 999;
static int start_tls_ret = 99;
static size_t server_reply_len;
static bool server_replied;

static void tls_input(struct sctx *c)
{
	struct buffer *in = stream_input(c->s);
	if (!stream_is_tls(c->s)) {
		/* "STLS\r\n" and the plaintext junk pipelined after it. */
		plain_seen_len = in->len < sizeof(plain_seen) ? in->len : sizeof(plain_seen);
		memcpy(plain_seen, in->data, plain_seen_len);
		buffer_consume(in, in->len >= 6 ? 6 : in->len);
		stream_write_str(c->s, "+OK Begin TLS\r\n");
		struct error err;
		error_clear(&err);
		start_tls_ret = stream_start_tls(c->s, tls, &err);
		input_after_start_tls = stream_input(c->s)->len;
		ck_assert_int_eq(pthread_create(&client_thread, NULL, client_main, &client), 0);
		client_started = true;
		return;
	}
	buffer_append(&c->got, in->data, in->len);
	buffer_consume(in, in->len);
	stream_input_resume(c->s);
	if (!server_replied && c->got.len >= client.send_len) {
		server_replied = true;
		/* Everything arrived: answer with a lot, then finish. */
		char *reply = malloc(server_reply_len);
		fill_pattern(reply, 0, server_reply_len);
		/* Several writes, one of them huge. */
		stream_write(c->s, reply, 10);
		stream_write(c->s, reply + 10, server_reply_len - 10 - 5);
		stream_write(c->s, reply + server_reply_len - 5, 5);
		free(reply);
		stream_finish(c->s);
	}
}

static void tls_session_prepare(size_t client_sends, size_t server_sends)
{
	struct error err;
	error_clear(&err);
	tls = tls_context_create(cert_path, key_path, "NORMAL", &err);
	ck_assert_msg(tls != NULL, "tls_context_create: %s", err.message);
	memset(&client, 0, sizeof(client));
	client.fd = sv[1];
	client.send_len = client_sends;
	client.expect_len = server_sends;
	server_reply_len = server_sends;
	server_replied = false;
	client_started = false;
	ctx.s = stream_create(loop, sv[0], 4096, &callbacks, &ctx);
	ctx.on_input = tls_input;
}

START_TEST(tls_handshake_and_data)
{
	enum { CLIENT_SENDS = 50000, SERVER_SENDS = 400000 };
	tls_session_prepare(CLIENT_SENDS, SERVER_SENDS);
	/* The command and plaintext junk in one write (RFC 2595 §4). */
	ck_assert_int_eq(write(sv[1], "STLS\r\njunk", 10), 10);
	for (int i = 0; i < 4 && ctx.closed_calls == 0; i++)
		event_loop_run(loop);
	if (client_started)
		pthread_join(client_thread, NULL);

	/* The junk was buffered with the command, so the test means what it
	 * says. */
	ck_assert_uint_eq(plain_seen_len, 10);
	ck_assert(memcmp(plain_seen, "STLS\r\njunk", 10) == 0);
	ck_assert_int_eq(start_tls_ret, 0);
	ck_assert_uint_eq(input_after_start_tls, 0);

	ck_assert_msg(client.error[0] == '\0', "client: %s", client.error);
	ck_assert(memcmp(client.greeting, "+OK Begin TLS\r\n", 15) == 0);
	ck_assert_int_eq(client.handshake_ret, 0);

	ck_assert_uint_eq(ctx.tls_ready_calls, 1);
	ck_assert(ctx.tls_was_on);
	ck_assert_msg(strncmp(ctx.tls_description, "TLS", 3) == 0,
		      "description '%s'", ctx.tls_description);

	/* Client -> server: exactly what the client sent, no junk. */
	ck_assert_uint_eq(ctx.got.len, CLIENT_SENDS);
	ck_assert(is_pattern(ctx.got.data, 0, CLIENT_SENDS));

	/* Server -> client: all of it, then a clean finish. */
	ck_assert_uint_eq(client.received, SERVER_SENDS);
	ck_assert(client.pattern_ok);
	ck_assert_uint_eq(ctx.closed_calls, 1);
	ck_assert_msg(ctx.closed_null, "closed with '%s'", ctx.closed_reason);
	tls_context_free(tls);
}
END_TEST

static void garbage_input(struct sctx *c)
{
	struct buffer *in = stream_input(c->s);
	if (c->input_calls > 1)
		return;
	buffer_consume(in, in->len);
	struct error err;
	error_clear(&err);
	start_tls_ret = stream_start_tls(c->s, tls, &err);
	/* Not a ClientHello. */
	ck_assert_int_eq(write(sv[1], "USER bob\r\nPASS secret\r\n", 23), 23);
}

START_TEST(tls_handshake_failure)
{
	tls_session_prepare(0, 0);
	ctx.on_input = garbage_input;
	ck_assert_int_eq(write(sv[1], "STLS\r\n", 6), 6);
	for (int i = 0; i < 4 && ctx.closed_calls == 0; i++)
		event_loop_run(loop);
	ck_assert_int_eq(start_tls_ret, 0);
	ck_assert_uint_eq(ctx.closed_calls, 1);
	ck_assert_uint_eq(ctx.tls_ready_calls, 0);
	ck_assert_msg(strncmp(ctx.closed_reason, "TLS handshake failed", 20) == 0,
		      "closed with '%s'", ctx.closed_reason);
	/* Nothing of the garbage reached the owner as input. */
	ck_assert_uint_eq(ctx.input_calls, 1);
	tls_context_free(tls);
}
END_TEST

START_TEST(tls_context_bad_files)
{
	struct error err;
	error_clear(&err);
	char missing[200];
	snprintf(missing, sizeof(missing), "%s/missing.pem", tls_dir);
	ck_assert_ptr_null(tls_context_create(missing, key_path, "NORMAL", &err));
	ck_assert_int_ne(err.kind, ERROR_NONE);
	ck_assert_msg(strstr(err.message, missing) != NULL, "'%s'", err.message);

	error_clear(&err);
	ck_assert_ptr_null(tls_context_create(cert_path, key_path, "NOT-A-PRIORITY", &err));
	ck_assert_int_ne(err.kind, ERROR_NONE);

	error_clear(&err);
	struct tls_context *t = tls_context_create(cert_path, key_path, "NORMAL", &err);
	ck_assert_ptr_nonnull(t);
	tls_context_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("plain");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, plain_write_read);
	tcase_add_test(tc, plain_input_limit);
	tcase_add_test(tc, plain_pause_resume);
	tcase_add_test(tc, plain_finish_flushes);
	tcase_add_test(tc, plain_finish_empty);
	tcase_add_test(tc, plain_reserve_commit);
	tcase_add_test(tc, plain_reserve_over_limit);
	tcase_add_test(tc, plain_drained_after_full);
	tcase_add_test(tc, plain_no_drained_without_full);
	tcase_add_test(tc, plain_destroy_inside_input);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls");
	tcase_add_checked_fixture(tc, tls_setup, tls_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, tls_handshake_and_data);
	tcase_add_test(tc, tls_handshake_failure);
	tcase_add_test(tc, tls_context_bad_files);
	suite_add_tcase(s, tc);

	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
