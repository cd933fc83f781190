/*
 * The contract between the core daemons and a protocol module
 * (MODULE_KIND_PROTOCOL; roost_module.ops is a struct protocol_ops).
 *
 * Pre-auth half, in a login process: the core accepts the connection,
 * owns the stream (TLS included), the idle timer and the talk with the auth
 * process; the module speaks the protocol. The module starts
 * authentication with login_client_auth_begin() and gets every step's
 * result through client_auth_reply(). On success the core hands the
 * connection (and any pipelined input still in the stream's input buffer)
 * to the master; the module's client is then destroyed. When the passdb
 * says to proxy the user (auth/auth-proxy.h), the core connects to the
 * back end instead and the module logs in there through proxy_input();
 * on success the core relays the client to the back end.
 *
 * Post-auth half, in a mail worker running as the mailbox owner: the core
 * opens the mailbox and calls session_start(), after which the module owns
 * the connection and calls mail_session_end() when done. A worker runs
 * many sessions in one event loop (mail/mail-worker.h): a module keeps all
 * per-session state in session->protocol_data and session->pool, never in
 * globals, and must not block longer than a storage call does.
 */
#ifndef ROOST_PROTOCOL_H
#define ROOST_PROTOCOL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "event-loop.h"
#include "log.h"
#include "pool.h"
#include "settings.h"
#include "storage.h"
#include "stream.h"

#define LOGIN_SESSION_ID_LEN 16
#define LOGIN_ADDR_LEN 64

struct login_client {
	pool_t *pool;
	struct event_loop *loop;
	struct stream *stream;
	const struct roost_settings *set;
	struct log_context log;
	char session_id[LOGIN_SESSION_ID_LEN + 1];
	char remote_ip[LOGIN_ADDR_LEN];
	unsigned remote_port;
	char local_ip[LOGIN_ADDR_LEN];
	unsigned local_port;
	bool loopback;          /* remote address is 127/8 or ::1 */
	bool tls_available;     /* STLS may be offered */
	bool tls_active;
	/* Plaintext credentials may be sent now (TLS, ssl=no, or exempt
	 * loopback). Updated by the core when TLS starts. */
	bool plaintext_allowed;
	bool auth_pending;      /* an auth exchange is in progress */
	void *protocol_data;    /* the module's per-client state */
	void *core_data;        /* the login core's per-client state */
};

enum login_auth_status {
	LOGIN_AUTH_CONTINUE,   /* data: base64 challenge to send */
	LOGIN_AUTH_OK,         /* handing over; the client is going away */
	LOGIN_AUTH_FAILED,     /* wrong credentials (never says which) */
	LOGIN_AUTH_TEMPFAIL,   /* auth or master trouble: [SYS/TEMP] */
	LOGIN_AUTH_PERMFAIL,   /* the account cannot log in: [SYS/PERM] */
	LOGIN_AUTH_MALFORMED,  /* bad base64 or SASL syntax */
	LOGIN_AUTH_UNSUPPORTED,/* mechanism not offered */
	LOGIN_AUTH_CANCELLED,  /* the client sent "*" */
};

/* A back end to log a proxied client in to (the passdb's proxy fields). */
struct login_proxy_target {
	const char *host;        /* as the passdb named it, for the log */
	unsigned port;
	const char *user;        /* destuser, or the login name */
	const char *master;      /* NULL: log in as user with password */
	const char *password;
	bool starttls;           /* the module starts with STARTTLS */
};

enum login_proxy_status {
	LOGIN_PROXY_OK,          /* logged in: relay from now on */
	LOGIN_PROXY_AUTH_FAILED, /* the back end refused the credentials */
	LOGIN_PROXY_TEMPFAIL,    /* anything else: [SYS/TEMP] */
};

struct protocol_login_ops {
	/* Sends the greeting; client->stream is ready. */
	void (*client_start)(struct login_client *client);
	/* New bytes in stream_input(client->stream). */
	void (*client_input)(struct login_client *client);
	void (*client_tls_ready)(struct login_client *client);
	void (*client_auth_reply)(struct login_client *client,
				  enum login_auth_status status,
				  const char *data);
	/* The core is about to drop the client (idle timeout, shutdown):
	 * the module may write a last line. */
	void (*client_notify_disconnect)(struct login_client *client,
					 const char *reason);
	void (*client_destroy)(struct login_client *client);
	/* Proxying: each line the back end sends while the module logs in
	 * there (CRLF removed), or NULL when the handshake after
	 * login_proxy_start_tls() finished. The module answers with
	 * login_proxy_send() and login_proxy_start_tls(), and ends with
	 * login_proxy_finish(); before LOGIN_PROXY_OK it writes the client
	 * its success reply. Failures reach it as client_auth_reply(). */
	void (*proxy_input)(struct login_client *client,
			    const struct login_proxy_target *target,
			    const char *line);
};

/* Provided by the login core (exported from the roost binary). */
void login_client_auth_begin(struct login_client *client, const char *mech,
			     const char *initial_response);
void login_client_auth_continue(struct login_client *client,
				const char *response);
/* Drops an exchange in progress (auth forgets it too). */
void login_client_auth_abort(struct login_client *client);
int login_client_start_tls(struct login_client *client, struct error *err);
/* Flushes output, then closes and frees the client. */
void login_client_disconnect(struct login_client *client, const char *reason);
/* Proxying (see proxy_input). line without CRLF. */
void login_proxy_send(struct login_client *client, const char *line);
void login_proxy_start_tls(struct login_client *client);
/* reason: for the log, when status is not OK. */
void login_proxy_finish(struct login_client *client,
			enum login_proxy_status status, const char *reason);
/* The SASL mechanisms the auth process offers ("PLAIN LOGIN CRAM-MD5"),
 * as its MECH line said; the login core accepts no client before that
 * line arrived. APOP is never in this list. */
const char *login_sasl_mechanisms(void);
/* True when auth accepts APOP: the greeting then carries a timestamp and
 * APOP becomes an AUTH of the pseudo-mechanism "APOP" whose response is
 * "TIMESTAMP NUL USER NUL DIGEST" (auth/sasl.h). */
bool login_apop_enabled(void);

/* What a session has done so far, kept current by the protocol module.
 * The mail worker core reports it to the master (roostctl who, metrics);
 * the module writes its own logout line from it. */
struct mail_session_stats {
	const char *state;              /* one word for roostctl who */
	uint64_t commands;
	uint64_t octets_sent;           /* everything queued to the client */
	uint64_t retrieved;             /* whole messages sent */
	uint64_t retrieved_octets;
	uint64_t deleted;               /* committed deletions only */
	uint64_t deleted_octets;
	const char *end_reason;         /* quit|timeout|disconnect|kicked|shutdown|error */
};

/* Why the core asks the module to end a session (session_shutdown()). */
enum mail_session_stop {
	MAIL_SESSION_STOP_SHUTDOWN,     /* the server stops */
	MAIL_SESSION_STOP_KICKED,       /* roostctl kick */
};

struct mail_session {
	pool_t *pool;
	struct event_loop *loop;
	const struct roost_settings *set;
	struct log_context log;
	const char *user;
	const char *session_id;
	const char *remote_ip;
	bool tls;                       /* secured by TLS at the login side */
	/* The user's RFC 2449 policy, for CAPA: login delay in seconds and
	 * EXPIRE ("NEVER" or days; NULL: not announced). */
	unsigned login_delay;
	const char *expire;
	int fd;                         /* the client connection (or relay) */
	const char *input;              /* pipelined bytes the login read */
	size_t input_len;
	const char *output;             /* pre-login replies not yet sent: */
	size_t output_len;              /* they go out before anything else */
	const struct storage_ops *storage;
	struct storage_mailbox *mailbox;  /* NULL if opening failed: */
	struct error open_error;          /* ...then why */
	void *protocol_data;
	int exit_status;
	struct mail_session_stats stats;
	enum mail_session_stop stop;    /* read by session_shutdown() */
};

struct protocol_mail_ops {
	/* Takes over session->fd; answers the login command. */
	void (*session_start)(struct mail_session *session);
	/* SIGTERM or a kick (see session->stop): say goodbye without
	 * committing and end the session. */
	void (*session_shutdown)(struct mail_session *session);
	/* After mail_session_end(), from the loop: release everything the
	 * module holds (stream, timers, open messages); the core closes the
	 * mailbox if still open and then destroys session->pool. */
	void (*session_destroy)(struct mail_session *session);
};

/* Provided by the mail worker core: the session is over; the core calls
 * session_destroy() from the loop soon after (never from inside this
 * call). */
void mail_session_end(struct mail_session *session);
/* Provided by the mail worker core: session->stats changed (cheap; the
 * core passes it on to the master at most about once a second). */
void mail_session_stats_changed(struct mail_session *session);

struct protocol_ops {
	const struct protocol_login_ops *login;
	const struct protocol_mail_ops *mail;
};

#endif
