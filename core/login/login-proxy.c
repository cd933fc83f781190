/* Proxied logins; see login-proxy.h. */
#include "config.h"
#include "login-proxy.h"

#include "ipc-escape.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connecting, the greeting and the login on the back end together. A
 * back end slower than this is as good as down, and the client, waiting
 * for its PASS reply meanwhile, should get [SYS/TEMP] while it still
 * listens: POP3 clients commonly give up after 30 to 60 s. */
#define LOGIN_PROXY_TIMEOUT_MS 15000
/* RFC 1939 and 2449 replies are at most 512 octets; a longer line while
 * logging in does not come from a POP3 server. */
#define LOGIN_PROXY_LINE_MAX 1024
/* What the back end may make us buffer; the same bound as the relay to a
 * mail worker (login.c). */
#define LOGIN_PROXY_INPUT_MAX (64 * 1024)
/* POP3 and POP3S (RFC 1939, RFC 8314). */
#define LOGIN_PROXY_PORT 110
#define LOGIN_PROXY_TLS_PORT 995
#define LOGIN_PROXY_PORT_MAX 65535

enum proxy_tls {
	PROXY_TLS_NO,
	PROXY_TLS_VERIFY,     /* "yes": the certificate must verify */
	PROXY_TLS_ANY_CERT,   /* "any-cert": encrypt, trust any certificate */
};

struct login_proxy {
	struct login_client *client;
	struct login_proxy_target target;
	const char *connect_ip;      /* hostip, or host */
	const char *describe;        /* "host:port" */
	enum proxy_tls ssl;
	enum proxy_tls starttls;
	int fd;                      /* while connecting */
	struct event_io *connect_io;
	struct stream *backend;
	struct event_timer *timeout;
	struct event_timer *done_timer;
	bool finished;
	enum login_proxy_status status;
	const char *reason;
};

static struct {
	struct event_loop *loop;
	const struct protocol_login_ops *ops;
	login_proxy_done_callback *done;
	gnutls_certificate_credentials_t credentials;
	const char *trust_error;     /* why certificates cannot verify */
} P;

int login_proxy_init(struct event_loop *loop, const struct roost_settings *set,
		     const struct protocol_login_ops *ops,
		     login_proxy_done_callback *done, struct error *err)
{
	memset(&P, 0, sizeof(P));
	P.loop = loop;
	P.ops = ops;
	P.done = done;
	int ret = gnutls_certificate_allocate_credentials(&P.credentials);
	if (ret < 0) {
		error_set(err, ERROR_TEMP, "TLS credentials: %s", gnutls_strerror(ret));
		P.credentials = NULL;
		return -1;
	}
	const char *ca = set->proxy_ssl_ca_file;
	if (ca != NULL && ca[0] != '\0') {
		ret = gnutls_certificate_set_x509_trust_file(P.credentials, ca,
							     GNUTLS_X509_FMT_PEM);
		if (ret <= 0) {
			error_set(err, ERROR_INVALID, "proxy_ssl_ca_file %s: %s", ca,
				  ret == 0 ? "no certificates in it" : gnutls_strerror(ret));
			gnutls_certificate_free_credentials(P.credentials);
			P.credentials = NULL;
			return -1;
		}
		return 0;
	}
	/* Only back ends with ssl=yes / starttls=yes need them: a system
	 * without a CA bundle still proxies plain and any-cert ones. */
	if (gnutls_certificate_set_x509_system_trust(P.credentials) <= 0)
		P.trust_error = "no CA certificates to verify the back end with "
			"(set proxy_ssl_ca_file, or ssl=any-cert)";
	return 0;
}

void login_proxy_deinit(void)
{
	if (P.credentials != NULL)
		gnutls_certificate_free_credentials(P.credentials);
	P.credentials = NULL;
}

const char *login_proxy_describe(const struct login_proxy *p)
{
	return p->describe;
}

/* ---- ending ---- */

static void proxy_release(struct login_proxy *p)
{
	event_timer_remove(p->timeout);
	p->timeout = NULL;
	event_timer_remove(p->done_timer);
	p->done_timer = NULL;
	event_io_remove(p->connect_io);
	p->connect_io = NULL;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	stream_destroy(p->backend);
	p->backend = NULL;
	if (p->target.password != NULL)
		sodium_memzero((char *)p->target.password, strlen(p->target.password));
	p->target.password = NULL;
}

void login_proxy_free(struct login_proxy *p)
{
	if (p != NULL)
		proxy_release(p);
}

static void proxy_done(void *context)
{
	struct login_proxy *p = context;
	struct login_client *client = p->client;
	struct stream *backend = NULL;
	p->done_timer = NULL;
	switch (p->status) {
	case LOGIN_PROXY_OK:
		log_msg(LOG_LEVEL_INFO, &client->log, "proxy(%s): logged in as %s; relaying",
			p->describe, p->target.user);
		backend = p->backend;
		p->backend = NULL;
		if (p->target.password != NULL)
			sodium_memzero((char *)p->target.password,
				       strlen(p->target.password));
		p->target.password = NULL;
		break;
	case LOGIN_PROXY_AUTH_FAILED:
		log_msg(LOG_LEVEL_INFO, &client->log,
			"proxy(%s): the back end refused the login: %s",
			p->describe, p->reason);
		proxy_release(p);
		break;
	case LOGIN_PROXY_TEMPFAIL:
		log_msg(LOG_LEVEL_ERROR, &client->log, "proxy(%s): %s", p->describe,
			p->reason);
		proxy_release(p);
		break;
	}
	P.done(client, p->status, backend);
}

/* Every end goes through here and reaches the caller from the loop, so
 * that no caller frees anything under a module's or a stream's feet. */
static void proxy_finish(struct login_proxy *p, enum login_proxy_status status,
			 const char *reason)
{
	if (p->finished)
		return;
	p->finished = true;
	p->status = status;
	p->reason = pool_strdup(p->client->pool, reason != NULL ? reason : "failed");
	event_timer_remove(p->timeout);
	p->timeout = NULL;
	if (p->backend != NULL)
		stream_input_pause(p->backend);
	p->done_timer = event_timer_add(P.loop, 0, proxy_done, p);
}

static void proxy_timeout(void *context)
{
	struct login_proxy *p = context;
	p->timeout = NULL;
	proxy_finish(p, LOGIN_PROXY_TEMPFAIL, pool_printf(p->client->pool,
		"no login on the back end within %u ms (%s)", LOGIN_PROXY_TIMEOUT_MS,
		p->backend == NULL ? "connecting" : "logging in"));
}

/* ---- for the protocol module (protocol.h) ---- */

void login_proxy_send(struct login_client *client, const char *line)
{
	struct login_proxy *p = login_client_proxy(client);
	if (p == NULL || p->finished || p->backend == NULL)
		return;
	stream_write_str(p->backend, line);
	stream_write_str(p->backend, "\r\n");
}

static void proxy_start_tls(struct login_proxy *p, enum proxy_tls mode)
{
	if (P.credentials == NULL || (mode == PROXY_TLS_VERIFY && P.trust_error != NULL)) {
		proxy_finish(p, LOGIN_PROXY_TEMPFAIL, P.trust_error != NULL ?
			     P.trust_error : "no TLS credentials");
		return;
	}
	gnutls_session_t session = NULL;
	int ret = gnutls_init(&session, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	if (ret >= 0)
		ret = gnutls_set_default_priority(session);
	if (ret >= 0)
		ret = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, P.credentials);
	unsigned char addr[sizeof(struct in6_addr)];
	bool is_ip = inet_pton(AF_INET, p->target.host, addr) == 1 ||
		inet_pton(AF_INET6, p->target.host, addr) == 1;
	if (ret >= 0 && !is_ip)   /* SNI carries names only (RFC 6066) */
		ret = gnutls_server_name_set(session, GNUTLS_NAME_DNS, p->target.host,
					     strlen(p->target.host));
	if (ret < 0) {
		if (session != NULL)
			gnutls_deinit(session);
		proxy_finish(p, LOGIN_PROXY_TEMPFAIL, pool_printf(p->client->pool,
			"TLS setup: %s", gnutls_strerror(ret)));
		return;
	}
	/* The certificate must name host (an IP address matches its
	 * iPAddress entries); a failure ends the handshake. */
	if (mode == PROXY_TLS_VERIFY)
		gnutls_session_set_verify_cert(session, p->target.host, 0);
	struct error err;
	if (stream_start_tls_session(p->backend, session, &err) < 0)
		proxy_finish(p, LOGIN_PROXY_TEMPFAIL, err.message);
}

void login_proxy_start_tls(struct login_client *client)
{
	struct login_proxy *p = login_client_proxy(client);
	if (p != NULL && !p->finished && p->backend != NULL)
		proxy_start_tls(p, p->starttls != PROXY_TLS_NO ? p->starttls :
				PROXY_TLS_VERIFY);
}

void login_proxy_finish(struct login_client *client,
			enum login_proxy_status status, const char *reason)
{
	struct login_proxy *p = login_client_proxy(client);
	if (p != NULL)
		proxy_finish(p, status, reason);
}

/* ---- the back-end connection ---- */

static void backend_input(void *context)
{
	struct login_proxy *p = context;
	struct buffer *in = stream_input(p->backend);
	char line[LOGIN_PROXY_LINE_MAX + 1];
	while (!p->finished) {
		char *lf = memchr(in->data, '\n', in->len);
		size_t len = lf != NULL ? (size_t)(lf - in->data) : in->len;
		if (len > LOGIN_PROXY_LINE_MAX) {
			proxy_finish(p, LOGIN_PROXY_TEMPFAIL,
				     "the back end sent an overlong line");
			return;
		}
		if (lf == NULL)
			break;
		memcpy(line, in->data, len);
		buffer_consume(in, len + 1);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		P.ops->proxy_input(p->client, &p->target, line);
	}
	if (!p->finished)
		stream_input_resume(p->backend);
}

static void backend_closed(void *context, const char *reason)
{
	struct login_proxy *p = context;
	if (p->finished && p->status == LOGIN_PROXY_OK) {
		/* Gone before the relay began: too late for a clean answer. */
		p->status = LOGIN_PROXY_TEMPFAIL;
		p->reason = "the back end closed the connection right after the login";
		return;
	}
	proxy_finish(p, LOGIN_PROXY_TEMPFAIL, pool_printf(p->client->pool,
		"the back end closed the connection: %s",
		reason != NULL ? reason : "Disconnected"));
}

static void backend_tls_ready(void *context)
{
	struct login_proxy *p = context;
	log_msg(LOG_LEVEL_DEBUG, &p->client->log, "proxy(%s): TLS established: %s",
		p->describe, stream_tls_description(p->backend));
	if (p->starttls != PROXY_TLS_NO && p->ssl == PROXY_TLS_NO && !p->finished)
		P.ops->proxy_input(p->client, &p->target, NULL);
}

static const struct stream_callbacks backend_callbacks = {
	.input = backend_input,
	.closed = backend_closed,
	.tls_ready = backend_tls_ready,
};

static void connected(void *context, unsigned revents)
{
	struct login_proxy *p = context;
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	event_io_remove(p->connect_io);
	p->connect_io = NULL;
	if (soerr != 0) {
		proxy_finish(p, LOGIN_PROXY_TEMPFAIL, pool_printf(p->client->pool,
			"connect failed: %s", strerror(soerr)));
		return;
	}
	int one = 1;
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	p->backend = stream_create(P.loop, p->fd, LOGIN_PROXY_INPUT_MAX,
				   &backend_callbacks, p);
	p->fd = -1;
	if (p->ssl != PROXY_TLS_NO)
		proxy_start_tls(p, p->ssl);
}

static int proxy_connect(struct login_proxy *p, struct error *err)
{
	/* Numeric only: a chrooted login process has no resolver, and a
	 * blocking lookup would stall every client of the process. */
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *ai = NULL;
	char port[16];
	snprintf(port, sizeof(port), "%u", p->target.port);
	if (getaddrinfo(p->connect_ip, port, &hints, &ai) != 0 || ai == NULL) {
		error_set(err, ERROR_INVALID, "host %s is not an IP address "
			  "(login processes do not resolve names: give hostip)",
			  p->connect_ip);
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		error_set_errno(err, "socket");
		freeaddrinfo(ai);
		return -1;
	}
	int ret = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (ret < 0 && errno != EINPROGRESS) {
		error_set(err, ERROR_TEMP, "connect failed: %s", strerror(errno));
		close(fd);
		return -1;
	}
	p->fd = fd;
	p->connect_io = event_io_add(P.loop, fd, EVENT_OUT, false, connected, p);
	return 0;
}

/* ---- starting ---- */

static enum proxy_tls tls_mode(const char *value)
{
	if (strcmp(value, "yes") == 0)
		return PROXY_TLS_VERIFY;
	if (strcmp(value, "any-cert") == 0)
		return PROXY_TLS_ANY_CERT;
	return PROXY_TLS_NO;
}

/* Reads the fields; -1 with err for a value that cannot work. */
static int parse_fields(struct login_proxy *p, char **fields, unsigned count,
			struct error *err)
{
	pool_t *pool = p->client->pool;
	const char *port = NULL;
	for (unsigned i = 0; i < count; i++) {
		char *eq = strchr(fields[i], '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		const char *key = fields[i];
		char *value = ipc_unescape(pool, eq + 1, NULL);
		if (value == NULL) {
			error_set(err, ERROR_INVALID, "malformed field %s from auth", key);
			return -1;
		}
		if (strcmp(key, "host") == 0)
			p->target.host = value;
		else if (strcmp(key, "hostip") == 0)
			p->connect_ip = value;
		else if (strcmp(key, "port") == 0)
			port = value;
		else if (strcmp(key, "ssl") == 0)
			p->ssl = tls_mode(value);
		else if (strcmp(key, "starttls") == 0)
			p->starttls = tls_mode(value);
		else if (strcmp(key, "destuser") == 0)
			p->target.user = value;
		else if (strcmp(key, "master") == 0)
			p->target.master = value[0] != '\0' ? value : NULL;
		else if (strcmp(key, "pass") == 0)
			p->target.password = value;
	}
	if (p->ssl != PROXY_TLS_NO)
		p->starttls = PROXY_TLS_NO;   /* already encrypted */
	p->target.starttls = p->starttls != PROXY_TLS_NO;
	p->target.port = p->ssl != PROXY_TLS_NO ? LOGIN_PROXY_TLS_PORT : LOGIN_PROXY_PORT;
	if (p->target.host == NULL)
		p->target.host = "";
	if (p->connect_ip == NULL)
		p->connect_ip = p->target.host;
	const char *shown = p->connect_ip;
	if (port != NULL) {
		char *end;
		unsigned long n = strtoul(port, &end, 10);
		if (*end != '\0' || end == port || n == 0 || n > LOGIN_PROXY_PORT_MAX) {
			p->describe = pool_printf(pool, "%s:%s", shown, port);
			error_set(err, ERROR_INVALID, "bad port");
			return -1;
		}
		p->target.port = (unsigned)n;
	}
	p->describe = pool_printf(pool, strchr(shown, ':') != NULL ? "[%s]:%u" : "%s:%u",
				  shown, p->target.port);
	if (p->target.password == NULL) {
		error_set(err, ERROR_INVALID, "auth gave no password for the back end");
		return -1;
	}
	return 0;
}

struct login_proxy *login_proxy_begin(struct login_client *client,
				      const char *login_user,
				      char **fields, unsigned count)
{
	struct login_proxy *p = pool_alloc(client->pool, sizeof(*p));
	struct error err;
	p->client = client;
	p->fd = -1;
	p->target.user = login_user;
	int ret = parse_fields(p, fields, count, &err);
	if (ret == 0 && P.ops->proxy_input == NULL) {
		error_set(&err, ERROR_PERM, "the protocol module cannot proxy");
		ret = -1;
	}
	if (ret == 0)
		ret = proxy_connect(p, &err);
	if (ret < 0) {
		if (p->describe == NULL)
			p->describe = "?";
		proxy_finish(p, LOGIN_PROXY_TEMPFAIL, err.message);
		return p;
	}
	p->timeout = event_timer_add(P.loop, LOGIN_PROXY_TIMEOUT_MS, proxy_timeout, p);
	log_msg(LOG_LEVEL_DEBUG, &client->log, "proxy(%s): connecting", p->describe);
	return p;
}
