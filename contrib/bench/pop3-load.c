/* pop3-load: a small POP3 load generator for contrib/bench/run.
 *
 *   pop3-load login   --port P [--tls | --stls] --clients C --seconds S
 *                     --users N [--once]
 *   pop3-load retr    --port P --clients C --seconds S --users N
 *   pop3-load idle    --port P --sessions K --users N --first F [--hold S]
 *   pop3-load preauth --port P --sessions K [--hold S]
 *
 * Users are PREFIX0 .. PREFIX(N-1) (--prefix, default "user") with the
 * password "pw-" followed by the user name. Only 127.0.0.1 is contacted.
 *
 * login: each of C threads loops for S seconds: connect (implicit TLS
 *        handshake with --tls), greeting, USER, PASS, STAT, QUIT, close.
 *        --stls: greeting, STLS, TLS handshake, then USER ... as above
 *        (no CAPA: a client that knows the server skips it).
 *        --once: every user exactly once, then stop (warm-up; still
 *        bounded by S seconds).
 * retr:  the same, but RETRs every message the STAT announced and counts
 *        the bytes received.
 * idle:  opens K sessions of users F .. F+K-1 and logs each in, prints
 *        "READY <n>" on stdout, then holds them until stdin reaches EOF or
 *        a line arrives (at most --hold seconds, default 300), then QUITs.
 * preauth: opens K connections and reads each greeting, sends nothing,
 *        prints "READY <n>", holds them as idle does, then closes them.
 *
 * Thread c only ever uses users c, c+C, c+2C, ... (round robin from a
 * random start), so two clients never hold the same mailbox at once
 * (Roost refuses a second session of a user with [IN-USE]). Every socket
 * has a 10 s send/receive timeout; every loop is bounded by time.
 *
 * Output: one line of key=value pairs (ok, err, inuse, bytes, seconds,
 * rate, mbps) for login and retr. Exit status 0 unless setup failed.
 *
 * Threads with blocking sockets (not epoll): with at most 64 concurrent
 * clients the generator stays far below the servers' costs (measure it
 * against a trivial responder before trusting numbers above ~20k/s). */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_S 10
#define MAX_CLIENTS 1024
#define BUF_SIZE (256 * 1024)

static int opt_port, opt_tls, opt_stls, opt_once, opt_clients = 16, opt_users = 200;
static int opt_sessions = 500, opt_first, opt_hold = 300;
static double opt_seconds = 10;
static const char *opt_prefix = "user";
static gnutls_certificate_credentials_t xcred;
static double deadline;

struct conn {
	int fd;
	gnutls_session_t tls;
	char *buf;
	size_t cap, len, pos;
};

struct stats {
	unsigned long ok, err, inuse;
	unsigned long long bytes;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("pop3-load: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void conn_close(struct conn *c, int abort_conn)
{
	if (c->tls) {
		gnutls_deinit(c->tls);
		c->tls = NULL;
	}
	if (c->fd >= 0) {
		if (abort_conn) {
			/* RST instead of TIME_WAIT: thousands of logins per
			 * second would otherwise exhaust the ephemeral ports. */
			struct linger l = { 1, 0 };

			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(c->fd);
		c->fd = -1;
	}
	c->len = c->pos = 0;
}

/* Client side of a TLS handshake on the connected socket: at once for
 * implicit TLS, or after STLS was answered. */
static int conn_handshake(struct conn *c)
{
	int r;

	if (gnutls_init(&c->tls, GNUTLS_CLIENT) < 0 ||
	    gnutls_set_default_priority(c->tls) < 0 ||
	    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, xcred) < 0) {
		conn_close(c, 1);
		return -1;
	}
	gnutls_transport_set_int(c->tls, c->fd);
	gnutls_handshake_set_timeout(c->tls, IO_TIMEOUT_S * 1000);
	do {
		r = gnutls_handshake(c->tls);
	} while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		conn_close(c, 1);
		return -1;
	}
	return 0;
}

static int conn_open(struct conn *c)
{
	struct sockaddr_in sa;
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	int one = 1;

	c->len = c->pos = 0;
	c->tls = NULL;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(opt_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		conn_close(c, 1);
		return -1;
	}
	return opt_tls ? conn_handshake(c) : 0;
}

static int conn_write(struct conn *c, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n;

		if (c->tls)
			n = gnutls_record_send(c->tls, data, len);
		else
			n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED ||
			      (!c->tls && errno == EINTR)))
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Appends at least one byte to the buffer (compacting it first). */
static int conn_fill(struct conn *c)
{
	ssize_t n;

	if (c->pos > 0) {
		memmove(c->buf, c->buf + c->pos, c->len - c->pos);
		c->len -= c->pos;
		c->pos = 0;
	}
	if (c->len == c->cap)
		return -1;
	do {
		if (c->tls)
			n = gnutls_record_recv(c->tls, c->buf + c->len,
					       c->cap - c->len);
		else
			n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	} while ((c->tls && (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)) ||
		 (!c->tls && n < 0 && errno == EINTR));
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	return 0;
}

/* One line (without CRLF) into out (truncated to outsize-1). */
static int conn_line(struct conn *c, char *out, size_t outsize)
{
	for (;;) {
		char *p = memmem(c->buf + c->pos, c->len - c->pos, "\r\n", 2);

		if (p) {
			size_t n = (size_t)(p - (c->buf + c->pos));
			size_t k = n < outsize - 1 ? n : outsize - 1;

			memcpy(out, c->buf + c->pos, k);
			out[k] = '\0';
			c->pos += n + 2;
			return 0;
		}
		if (conn_fill(c) < 0)
			return -1;
	}
}

/* Skips a multi-line body up to and including "\r\n.\r\n" (the status
 * line's CRLF counts as the first CRLF); adds the octets to *bytes.
 * Dot-stuffing keeps that sequence out of the body, and this client never
 * pipelines, so the terminator can only be the last octets received: only
 * the end of each read is looked at (a search through every octet cost a
 * tenth of a 2-core machine). */
static int conn_multiline(struct conn *c, unsigned long long *bytes)
{
	static const char term[] = "\r\n.\r\n";
	char last[5] = { 0, 0, 0, '\r', '\n' };

	for (;;) {
		char *start = c->buf + c->pos;
		size_t avail = c->len - c->pos;

		if (avail >= 5) {
			memcpy(last, start + avail - 5, 5);
		} else {
			memmove(last, last + avail, 5 - avail);
			memcpy(last + 5 - avail, start, avail);
		}
		*bytes += avail;
		c->pos = c->len = 0;
		if (memcmp(last, term, 5) == 0)
			return 0;
		if (conn_fill(c) < 0)
			return -1;
	}
}

static int cmd(struct conn *c, const char *line, char *reply, size_t rsize)
{
	if (conn_write(c, line, strlen(line)) < 0)
		return -1;
	if (conn_line(c, reply, rsize) < 0)
		return -1;
	return reply[0] == '+' ? 0 : 1;
}

/* STLS on a plaintext connection whose greeting was read: the reply,
 * then the handshake. The server must not send anything after "+OK"
 * before the handshake (RFC 2595), so nothing may be left buffered. */
static int starttls(struct conn *c)
{
	char reply[512];

	if (cmd(c, "STLS\r\n", reply, sizeof(reply)) != 0 || c->pos != c->len)
		return -1;
	c->len = c->pos = 0;
	return conn_handshake(c);
}

/* Connects and logs in as user u. 0 ok, 1 -ERR [IN-USE], -1 error. */
static int login(struct conn *c, int u, int *count)
{
	char line[512], reply[512];
	int r;

	if (conn_open(c) < 0)
		return -1;
	if (conn_line(c, reply, sizeof(reply)) < 0 || reply[0] != '+')
		return -1;
	if (opt_stls && starttls(c) < 0)
		return -1;
	snprintf(line, sizeof(line), "USER %s%d\r\n", opt_prefix, u);
	if (cmd(c, line, reply, sizeof(reply)) != 0)
		return -1;
	snprintf(line, sizeof(line), "PASS pw-%s%d\r\n", opt_prefix, u);
	r = cmd(c, line, reply, sizeof(reply));
	if (r != 0)
		return r > 0 && strstr(reply, "IN-USE") ? 1 : -1;
	if (count) {
		if (cmd(c, "STAT\r\n", reply, sizeof(reply)) != 0)
			return -1;
		*count = atoi(reply + 4);
	}
	return 0;
}

static int quit(struct conn *c)
{
	char reply[512];
	int r = cmd(c, "QUIT\r\n", reply, sizeof(reply));

	return r == 0 ? 0 : -1;
}

struct worker {
	pthread_t thread;
	int id, retr;
	struct stats st;
	struct conn c;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int mine = (opt_users - w->id + opt_clients - 1) / opt_clients;
	unsigned int seed = (unsigned int)(w->id * 7919 + 17);
	int k = mine > 0 ? (int)(rand_r(&seed) % (unsigned)mine) : 0;

	if (opt_once)
		k = mine;	/* one pass: users k-mine .. 2*mine-1 */

	if (mine <= 0)
		return NULL;
	while (now() < deadline && !(opt_once && k >= mine * 2)) {
		int u = w->id + opt_clients * (k++ % mine), count = 0, r, i;
		char line[64], reply[512];

		r = login(&w->c, u, &count);
		if (r != 0) {
			if (r > 0)
				w->st.inuse++;
			else
				w->st.err++;
			conn_close(&w->c, 1);
			continue;
		}
		for (i = 1; w->retr && i <= count && r == 0; i++) {
			snprintf(line, sizeof(line), "RETR %d\r\n", i);
			if (cmd(&w->c, line, reply, sizeof(reply)) != 0 ||
			    conn_multiline(&w->c, &w->st.bytes) < 0)
				r = -1;
		}
		if (r == 0 && quit(&w->c) == 0)
			w->st.ok++;
		else
			w->st.err++;
		conn_close(&w->c, 1);
	}
	return NULL;
}

static void run_load(int retr)
{
	static struct worker ws[MAX_CLIENTS];
	struct stats total = { 0 };
	double t0, t1;
	int i;

	t0 = now();
	deadline = t0 + opt_seconds;
	for (i = 0; i < opt_clients; i++) {
		ws[i].id = i;
		ws[i].retr = retr;
		ws[i].c.fd = -1;
		ws[i].c.cap = BUF_SIZE;
		ws[i].c.buf = malloc(BUF_SIZE);
		if (!ws[i].c.buf)
			die("out of memory");
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0)
			die("pthread_create failed");
	}
	for (i = 0; i < opt_clients; i++) {
		pthread_join(ws[i].thread, NULL);
		total.ok += ws[i].st.ok;
		total.err += ws[i].st.err;
		total.inuse += ws[i].st.inuse;
		total.bytes += ws[i].st.bytes;
		free(ws[i].c.buf);
	}
	t1 = now() - t0;
	printf("ok=%lu err=%lu inuse=%lu bytes=%llu seconds=%.3f rate=%.1f mbps=%.2f\n",
	       total.ok, total.err, total.inuse, total.bytes, t1,
	       total.ok / t1, total.bytes / t1 / 1e6);
}

/* idle: sessions are opened by opt_clients threads in parallel. */
struct idle_job {
	pthread_t thread;
	int from, to, opened;
	struct conn *conns;
};

static void *idle_open(void *arg)
{
	struct idle_job *j = arg;
	int i, tries;

	for (i = j->from; i < j->to && now() < deadline; i++) {
		struct conn *c = &j->conns[i];

		for (tries = 0; tries < 3; tries++) {
			if (login(c, opt_first + i, NULL) == 0)
				break;
			conn_close(c, 1);
		}
		if (c->fd >= 0)
			j->opened++;
	}
	return NULL;
}

static void run_idle(void)
{
	struct conn *conns = calloc((size_t)opt_sessions, sizeof(*conns));
	struct idle_job jobs[64];
	int nj = opt_clients > 64 ? 64 : opt_clients, i, opened = 0, closed = 0;
	struct pollfd pfd = { 0, POLLIN, 0 };
	char dummy[256];

	if (!conns)
		die("out of memory");
	for (i = 0; i < opt_sessions; i++) {
		conns[i].fd = -1;
		conns[i].cap = 4096;
		conns[i].buf = malloc(conns[i].cap);
		if (!conns[i].buf)
			die("out of memory");
	}
	deadline = now() + opt_hold;
	for (i = 0; i < nj; i++) {
		jobs[i].from = (int)((long)opt_sessions * i / nj);
		jobs[i].to = (int)((long)opt_sessions * (i + 1) / nj);
		jobs[i].opened = 0;
		jobs[i].conns = conns;
		if (pthread_create(&jobs[i].thread, NULL, idle_open, &jobs[i]) != 0)
			die("pthread_create failed");
	}
	for (i = 0; i < nj; i++) {
		pthread_join(jobs[i].thread, NULL);
		opened += jobs[i].opened;
	}
	printf("READY %d\n", opened);
	fflush(stdout);
	/* Hold until stdin has a line or EOF, at most opt_hold seconds. */
	if (poll(&pfd, 1, opt_hold * 1000) > 0)
		(void)!read(0, dummy, sizeof(dummy));
	for (i = 0; i < opt_sessions; i++) {
		if (conns[i].fd >= 0) {
			(void)quit(&conns[i]);
			conn_close(&conns[i], 1);
			closed++;
		}
		free(conns[i].buf);
	}
	free(conns);
	printf("CLOSED %d\n", closed);
}

/* preauth: K connections that only read the greeting (the pre-auth
 * memory figure). Opened one after the other: a greeting costs the
 * server well under a millisecond, and the hold is bounded anyway. */
static void run_preauth(void)
{
	struct conn *conns = calloc((size_t)opt_sessions, sizeof(*conns));
	struct pollfd pfd = { 0, POLLIN, 0 };
	char reply[512], dummy[256];
	int i, opened = 0;

	if (!conns)
		die("out of memory");
	deadline = now() + opt_hold;
	for (i = 0; i < opt_sessions; i++) {
		struct conn *c = &conns[i];

		c->fd = -1;
		c->cap = 1024;
		c->buf = malloc(c->cap);
		if (!c->buf)
			die("out of memory");
		if (now() >= deadline)
			continue;
		if (conn_open(c) < 0)
			continue;
		if (conn_line(c, reply, sizeof(reply)) < 0 || reply[0] != '+') {
			conn_close(c, 1);
			continue;
		}
		opened++;
	}
	printf("READY %d\n", opened);
	fflush(stdout);
	if (poll(&pfd, 1, opt_hold * 1000) > 0)
		(void)!read(0, dummy, sizeof(dummy));
	/* An orderly close: a few thousand TIME_WAITs are harmless, and
	 * the servers then log a plain disconnect, not a reset. */
	for (i = 0; i < opt_sessions; i++) {
		conn_close(&conns[i], 0);
		free(conns[i].buf);
	}
	free(conns);
	printf("CLOSED %d\n", opened);
}

static void usage(void)
{
	fputs("usage: pop3-load login|retr|idle|preauth --port P [--tls|--stls] [--once]\n"
	      "       [--clients C] [--seconds S] [--users N] [--prefix P]\n"
	      "       [--sessions K] [--first F] [--hold S]\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	const char *mode;
	int i;

	if (argc < 2)
		usage();
	mode = argv[1];
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--tls")) {
			opt_tls = 1;
			continue;
		}
		if (!strcmp(a, "--stls")) {
			opt_stls = 1;
			continue;
		}
		if (!strcmp(a, "--once")) {
			opt_once = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--port"))
			opt_port = atoi(v);
		else if (!strcmp(a, "--clients"))
			opt_clients = atoi(v);
		else if (!strcmp(a, "--seconds"))
			opt_seconds = atof(v);
		else if (!strcmp(a, "--users"))
			opt_users = atoi(v);
		else if (!strcmp(a, "--prefix"))
			opt_prefix = v;
		else if (!strcmp(a, "--sessions"))
			opt_sessions = atoi(v);
		else if (!strcmp(a, "--first"))
			opt_first = atoi(v);
		else if (!strcmp(a, "--hold"))
			opt_hold = atoi(v);
		else
			usage();
	}
	if (opt_port <= 0 || opt_port > 65535 || opt_clients < 1 ||
	    opt_clients > MAX_CLIENTS || opt_users < 1 || opt_seconds <= 0 ||
	    opt_seconds > 3600 || opt_sessions < 1 || opt_sessions > 100000 ||
	    opt_hold < 1 || opt_hold > 3600 || (opt_tls && opt_stls))
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (opt_tls || opt_stls) {
		if (gnutls_global_init() < 0 ||
		    gnutls_certificate_allocate_credentials(&xcred) < 0)
			die("gnutls initialisation failed");
		/* No verification: the benchmark's own self-signed cert. */
	}
	if (!strcmp(mode, "login"))
		run_load(0);
	else if (!strcmp(mode, "retr"))
		run_load(1);
	else if (!strcmp(mode, "idle"))
		run_idle();
	else if (!strcmp(mode, "preauth"))
		run_preauth();
	else
		usage();
	return 0;
}
