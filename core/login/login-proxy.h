/*
 * Proxied logins in a login process (auth/auth-proxy.h has the fields):
 * instead of handing the client to the master, connect to the back end
 * the passdb named (non-blocking, bounded by LOGIN_PROXY_TIMEOUT_MS),
 * optionally with TLS, let the protocol module log in there
 * (protocol_login_ops.proxy_input), and give the caller the connected
 * back-end stream to relay the client to. Every outcome reaches the
 * caller's done callback from the event loop, never from inside
 * login_proxy_begin() or a module call, and is logged naming host:port.
 */
#ifndef ROOST_LOGIN_PROXY_H
#define ROOST_LOGIN_PROXY_H

#include "error.h"
#include "protocol.h"
#include "settings.h"
#include "stream.h"

struct login_proxy;

/* status OK: the caller owns backend (logged in, input paused, the
 * callbacks still the proxy's: replace them) and frees the proxy with
 * login_proxy_free(); otherwise backend is NULL and the proxy is gone. */
typedef void login_proxy_done_callback(struct login_client *client,
				       enum login_proxy_status status,
				       struct stream *backend);

/* Loads the CA certificates for back ends with ssl/starttls (the
 * proxy_ssl_ca_file setting, or the system's when it is empty); before
 * the login process drops privileges. -1 with err when the configured
 * file cannot be read. */
int login_proxy_init(struct event_loop *loop, const struct roost_settings *set,
		     const struct protocol_login_ops *ops,
		     login_proxy_done_callback *done, struct error *err);
void login_proxy_deinit(void);

/* fields: auth's OK line after the user (split, still escaped);
 * login_user: the name the client logged in as. */
struct login_proxy *login_proxy_begin(struct login_client *client,
				      const char *login_user,
				      char **fields, unsigned count);
/* Aborts a proxy still logging in (closing the back-end connection), or
 * forgets one that finished. */
void login_proxy_free(struct login_proxy *proxy);
/* "host:port" for log lines. */
const char *login_proxy_describe(const struct login_proxy *proxy);

/* Provided by login.c: the client's proxy, NULL when none. */
struct login_proxy *login_client_proxy(struct login_client *client);

#endif
