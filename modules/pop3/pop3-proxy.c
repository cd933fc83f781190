/* POP3 login on a back end for a proxied client; see pop3-proxy.h. */
#include "config.h"
#include "pop3-proxy.h"
#include "pop3-login.h"

#include <sodium.h>
#include <string.h>

static bool fits_command_line(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

static void send_secret(struct login_client *client, const char *command,
			const char *arg)
{
	pool_t *pool = client->pool;
	size_t len = strlen(command) + 1 + strlen(arg) + 1;
	char *line = pool_alloc(pool, len);
	memcpy(line, command, strlen(command));
	line[strlen(command)] = ' ';
	memcpy(line + strlen(command) + 1, arg, strlen(arg));
	login_proxy_send(client, line);
	sodium_memzero(line, len);
}

static void send_login(struct login_client *client,
		       const struct login_proxy_target *target,
		       enum pop3_proxy_state *state)
{
	if (target->master == NULL && fits_command_line(target->user) &&
	    fits_command_line(target->password)) {
		send_secret(client, "USER", target->user);
		*state = POP3_PROXY_USER;
		return;
	}
	/* authzid = the user, authcid = the master (RFC 4616). */
	char *b64 = pop3_login_plain_response(client->pool,
		target->master != NULL ? target->user : "",
		target->master != NULL ? target->master : target->user,
		target->password, strlen(target->password));
	send_secret(client, "AUTH PLAIN", b64);
	sodium_memzero(b64, strlen(b64));
	*state = POP3_PROXY_AUTH;
}

/* The back end's trouble rather than wrong credentials (RFC 3206). */
static bool temporary_failure(const char *line)
{
	return strstr(line, "[SYS/") != NULL || strstr(line, "[IN-USE]") != NULL;
}

void pop3_proxy_input(struct login_client *client,
		      const struct login_proxy_target *target, const char *line,
		      enum pop3_proxy_state *state)
{
	bool ok = line != NULL && strncmp(line, "+OK", 3) == 0;
	switch (*state) {
	case POP3_PROXY_GREETING:
		if (!ok)
			break;
		if (target->starttls) {
			login_proxy_send(client, "STLS");
			*state = POP3_PROXY_STLS;
		} else {
			send_login(client, target, state);
		}
		return;
	case POP3_PROXY_STLS:
		if (!ok)
			break;
		*state = POP3_PROXY_TLS_HANDSHAKE;
		login_proxy_start_tls(client);
		return;
	case POP3_PROXY_TLS_HANDSHAKE:
		if (line != NULL)
			break;   /* nothing may come before the handshake */
		send_login(client, target, state);
		return;
	case POP3_PROXY_USER:
		if (!ok)
			break;
		send_secret(client, "PASS", target->password);
		*state = POP3_PROXY_PASS;
		return;
	case POP3_PROXY_PASS:
	case POP3_PROXY_AUTH:
		if (ok) {
			*state = POP3_PROXY_DONE;
			stream_printf(client->stream, "%s\r\n", line);
			login_proxy_finish(client, LOGIN_PROXY_OK, NULL);
			return;
		}
		if (line != NULL && strncmp(line, "-ERR", 4) == 0 &&
		    !temporary_failure(line)) {
			*state = POP3_PROXY_DONE;
			login_proxy_finish(client, LOGIN_PROXY_AUTH_FAILED, line);
			return;
		}
		break;
	case POP3_PROXY_DONE:
		return;
	}
	static const char *const step[] = {
		"greeting", "STLS", "TLS handshake", "USER", "PASS", "AUTH PLAIN", "",
	};
	char reason[160];
	snprintf(reason, sizeof(reason), "unexpected reply to %s: %s",
		 step[*state], line != NULL ? line : "(TLS ready)");
	*state = POP3_PROXY_DONE;
	login_proxy_finish(client, LOGIN_PROXY_TEMPFAIL, reason);
}
