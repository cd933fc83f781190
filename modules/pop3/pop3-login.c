/*
 * POP3 AUTHORIZATION state: greeting, CAPA, STLS, USER/PASS, APOP, AUTH,
 * QUIT. Credentials are never checked here: USER/PASS becomes a SASL PLAIN
 * exchange with the auth process and APOP one of its pseudo-mechanism
 * APOP, so every login path goes through the same code there.
 */
#include "config.h"
#include "pop3-login.h"
#include "pop3-capa.h"
#include "pop3-command.h"
#include "pop3-proxy.h"

#include "line-reader.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* RFC 1939 leaves the user name unbounded; 255 octets covers any real
 * address and keeps a hostile USER from growing the session. */
#define POP3_USER_MAX 255
/* APOP's digest: MD5 in hex (RFC 1939 section 7). */
#define POP3_APOP_DIGEST_HEX_LEN 32
/* Random bytes in the APOP timestamp: unique per connection (RFC 1939
 * says it must differ every time) and unguessable. */
#define POP3_APOP_RANDOM_BYTES 12
/* The host name in the timestamp is cut here; the greeting line must
 * stay within 512 octets (RFC 1939). */
#define POP3_APOP_HOST_MAX 64

struct pop3_login {
	struct line_reader reader;
	char *user;              /* from USER, waiting for PASS */
	char *apop_timestamp;    /* "<pid.random@host>", NULL without APOP */
	bool in_sasl;            /* AUTH exchange: next line is a response */
	bool tls_starting;
	bool quitting;
	enum pop3_proxy_state proxy;   /* logging in on a back end */
};

static void pop3_login_reply(struct login_client *client, const char *line)
{
	stream_write_str(client->stream, line);
	stream_write_str(client->stream, "\r\n");
}

static void pop3_login_forget_user(struct pop3_login *pl)
{
	if (pl->user != NULL) {
		sodium_memzero(pl->user, strlen(pl->user));
		pl->user = NULL;
	}
}

/* RFC 1939 section 7: "<process-ID.clock@hostname>"; the random part
 * stands in for the clock so that no two greetings share a timestamp. */
static char *apop_timestamp(pool_t *pool)
{
	unsigned char raw[POP3_APOP_RANDOM_BYTES];
	char hex[POP3_APOP_RANDOM_BYTES * 2 + 1];
	char host[POP3_APOP_HOST_MAX + 1];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[POP3_APOP_HOST_MAX] = '\0';
	/* Only what a msg-id may hold; anything else would make clients
	 * (and sasl-apop's check) refuse the timestamp. */
	for (char *p = host; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 0x7f || *p == '<' || *p == '>' || *p == '@')
			*p = '-';
	}
	return pool_printf(pool, "<%ld.%s@%s>", (long)getpid(), hex,
			   host[0] != '\0' ? host : "localhost");
}

static void client_start(struct login_client *client)
{
	struct pop3_login *pl = pool_alloc(client->pool, sizeof(*pl));
	line_reader_init(&pl->reader, POP3_AUTH_LINE_MAX);
	client->protocol_data = pl;
	if (login_apop_enabled()) {
		pl->apop_timestamp = apop_timestamp(client->pool);
		stream_printf(client->stream, "+OK %s %s\r\n",
			      client->set->login_greeting, pl->apop_timestamp);
		return;
	}
	stream_printf(client->stream, "+OK %s\r\n", client->set->login_greeting);
}

static bool plaintext_refused(struct login_client *client)
{
	if (client->plaintext_allowed)
		return false;
	pop3_login_reply(client, "-ERR [AUTH] Plaintext authentication disallowed on "
			 "non-secure connections: use STLS or the TLS port first.");
	return true;
}

static void cmd_user(struct login_client *client, struct pop3_login *pl,
		     const struct pop3_command *cmd)
{
	if (plaintext_refused(client))
		return;
	if (cmd->args_len == 0 || cmd->args_len > POP3_USER_MAX) {
		pop3_login_reply(client, "-ERR Invalid user name.");
		return;
	}
	pop3_login_forget_user(pl);
	pl->user = pool_strndup(client->pool, cmd->args, cmd->args_len);
	pop3_login_reply(client, "+OK");
}

char *pop3_login_plain_response(pool_t *pool, const char *authzid,
				const char *user, const char *pass,
				size_t pass_len)
{
	size_t authzid_len = strlen(authzid);
	size_t user_len = strlen(user);
	size_t raw_len = authzid_len + 1 + user_len + 1 + pass_len;
	unsigned char *raw = pool_alloc(pool, raw_len);
	memcpy(raw, authzid, authzid_len);
	memcpy(raw + authzid_len + 1, user, user_len);
	memcpy(raw + authzid_len + 2 + user_len, pass, pass_len);
	size_t b64_len = sodium_base64_encoded_len(raw_len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = pool_alloc(pool, b64_len);
	sodium_bin2base64(b64, b64_len, raw, raw_len, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(raw, raw_len);
	return b64;
}

static void cmd_pass(struct login_client *client, struct pop3_login *pl,
		     const struct pop3_command *cmd)
{
	if (plaintext_refused(client))
		return;
	if (pl->user == NULL) {
		pop3_login_reply(client, "-ERR No user name given: send USER first.");
		return;
	}
	/* The password is everything after "PASS ", spaces included. */
	char *b64 = pop3_login_plain_response(client->pool, "", pl->user, cmd->args,
					      cmd->args_len);
	pop3_login_forget_user(pl);
	login_client_auth_begin(client, "PLAIN", b64);
	sodium_memzero(b64, strlen(b64));
}

static bool hex_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

/* APOP name digest: the digest is the last word, the name all before
 * it (RFC 1939 allows no space in it, but a client may send one). */
static void cmd_apop(struct login_client *client, struct pop3_login *pl,
		     const struct pop3_command *cmd)
{
	if (pl->apop_timestamp == NULL) {
		pop3_login_reply(client, "-ERR APOP is not available.");
		return;
	}
	if (plaintext_refused(client))
		return;
	const char *space = cmd->args_len > 0 ?
		memrchr(cmd->args, ' ', cmd->args_len) : NULL;
	size_t user_len = space != NULL ? (size_t)(space - cmd->args) : 0;
	const char *digest = space != NULL ? space + 1 : NULL;
	size_t digest_len = space != NULL ? cmd->args_len - user_len - 1 : 0;
	if (user_len == 0 || user_len > POP3_USER_MAX ||
	    memchr(cmd->args, '\0', cmd->args_len) != NULL ||
	    digest_len != POP3_APOP_DIGEST_HEX_LEN || !hex_digits(digest, digest_len)) {
		pop3_login_reply(client, "-ERR Invalid APOP arguments.");
		return;
	}
	size_t ts_len = strlen(pl->apop_timestamp);
	size_t raw_len = ts_len + 1 + user_len + 1 + digest_len;
	unsigned char *raw = pool_alloc(client->pool, raw_len);
	memcpy(raw, pl->apop_timestamp, ts_len);
	memcpy(raw + ts_len + 1, cmd->args, user_len);
	memcpy(raw + ts_len + 1 + user_len + 1, digest, digest_len);
	size_t b64_len = sodium_base64_encoded_len(raw_len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = pool_alloc(client->pool, b64_len);
	sodium_bin2base64(b64, b64_len, raw, raw_len, sodium_base64_VARIANT_ORIGINAL);
	pop3_login_forget_user(pl);
	login_client_auth_begin(client, "APOP", b64);
}

static bool mechanism_offered(const char *mech)
{
	const char *list = login_sasl_mechanisms();
	size_t len = strlen(mech);
	for (const char *p = list; *p != '\0';) {
		const char *end = strchr(p, ' ');
		size_t wlen = end != NULL ? (size_t)(end - p) : strlen(p);
		if (wlen == len && strncasecmp(p, mech, len) == 0)
			return true;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return false;
}

/* Base64 (RFC 4648 alphabet and '=' padding) or the cancel "*". Checked
 * here so auth never receives bytes it would have to escape. */
static bool sasl_response_well_formed(const char *s, size_t len)
{
	if (len == 1 && s[0] == '*')
		return true;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '='))
			return false;
	}
	return true;
}

static void cmd_auth(struct login_client *client, struct pop3_login *pl,
		     const struct pop3_command *cmd)
{
	const char *words[2];
	size_t lens[2];
	int n = pop3_split_args(cmd->args, cmd->args_len, words, lens, 2);
	if (n < 0) {
		pop3_login_reply(client, "-ERR Invalid AUTH arguments.");
		return;
	}
	if (n == 0) {
		/* RFC 1734 style listing, still used by some clients. */
		stream_write_str(client->stream, "+OK\r\n");
		if (client->plaintext_allowed) {
			const char *list = login_sasl_mechanisms();
			for (const char *p = list; *p != '\0';) {
				const char *end = strchr(p, ' ');
				size_t wlen = end != NULL ? (size_t)(end - p) : strlen(p);
				stream_write(client->stream, p, wlen);
				stream_write_str(client->stream, "\r\n");
				if (end == NULL)
					break;
				p = end + 1;
			}
		}
		stream_write_str(client->stream, ".\r\n");
		return;
	}
	char *mech = pool_strndup(client->pool, words[0], lens[0]);
	for (char *p = mech; *p != '\0'; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	if (!mechanism_offered(mech)) {
		pop3_login_reply(client, "-ERR Unsupported authentication mechanism.");
		return;
	}
	/* Every login needs a connection where logins are allowed, also
	 * with the mechanisms that send no password (ssl = required). */
	if (plaintext_refused(client))
		return;
	const char *initial = NULL;
	if (n == 2) {
		if (!sasl_response_well_formed(words[1], lens[1]) ||
		    (lens[1] == 1 && words[1][0] == '*')) {
			pop3_login_reply(client, "-ERR Invalid base64 data or malformed SASL response.");
			return;
		}
		initial = pool_strndup(client->pool, words[1], lens[1]);
	}
	pl->in_sasl = true;
	login_client_auth_begin(client, mech, initial);
}

static void handle_sasl_line(struct login_client *client, struct pop3_login *pl,
			     const char *line, size_t len)
{
	if (!sasl_response_well_formed(line, len)) {
		pl->in_sasl = false;
		login_client_auth_abort(client);
		pop3_login_reply(client, "-ERR Invalid base64 data or malformed SASL response.");
		return;
	}
	char *resp = pool_strndup(client->pool, line, len);
	login_client_auth_continue(client, resp);
	sodium_memzero(resp, len);
}

static void handle_line(struct login_client *client, struct pop3_login *pl,
			const char *line, size_t len)
{
	if (pl->in_sasl) {
		handle_sasl_line(client, pl, line, len);
		return;
	}
	struct pop3_command cmd;
	enum pop3_parse_result parsed = pop3_command_parse(line, len, &cmd);
	if (parsed != POP3_PARSE_OK) {
		pop3_login_reply(client, pop3_parse_error_reply(parsed));
		return;
	}
	if (len > POP3_COMMAND_LINE_MAX && strcmp(cmd.keyword, "AUTH") != 0) {
		pop3_login_reply(client, "-ERR Command line too long.");
		return;
	}
	if (strcmp(cmd.keyword, "CAPA") == 0) {
		pop3_capa_write(client->stream, login_sasl_mechanisms(),
				client->plaintext_allowed,
				client->tls_available && !client->tls_active,
				client->set, NULL);
	} else if (strcmp(cmd.keyword, "USER") == 0) {
		cmd_user(client, pl, &cmd);
	} else if (strcmp(cmd.keyword, "PASS") == 0) {
		cmd_pass(client, pl, &cmd);
	} else if (strcmp(cmd.keyword, "AUTH") == 0) {
		cmd_auth(client, pl, &cmd);
	} else if (strcmp(cmd.keyword, "APOP") == 0) {
		cmd_apop(client, pl, &cmd);
	} else if (strcmp(cmd.keyword, "STLS") == 0) {
		if (!client->tls_available || client->tls_active) {
			pop3_login_reply(client, client->tls_active ?
					 "-ERR TLS is already active." :
					 "-ERR TLS is not available.");
			return;
		}
		pop3_login_reply(client, "+OK Begin TLS negotiation now.");
		pl->tls_starting = true;
	} else if (strcmp(cmd.keyword, "QUIT") == 0) {
		pop3_login_reply(client, "+OK Logging out.");
		pl->quitting = true;
	} else {
		pop3_login_reply(client, "-ERR Unknown command or not allowed before login.");
	}
}

static void client_input(struct login_client *client)
{
	struct pop3_login *pl = client->protocol_data;
	struct buffer *in = stream_input(client->stream);
	const char *line;
	size_t len;

	/* With PIPELINING every command is answered in order, so stop at
	 * anything that has to wait (auth, TLS) and continue later. */
	while (!client->auth_pending && !pl->tls_starting && !pl->quitting &&
	       !stream_output_full(client->stream)) {   /* resumed when drained */
		enum line_result r = line_reader_next(&pl->reader, in, &line, &len);
		if (r == LINE_NONE)
			break;
		if (r == LINE_TOO_LONG) {
			pop3_login_reply(client, "-ERR Command line too long.");
			if (pl->in_sasl) {
				pl->in_sasl = false;
				login_client_auth_abort(client);
			}
			continue;
		}
		handle_line(client, pl, line, len);
	}
	/* Drop the handled line so the input buffer holds only what the
	 * client pipelined after it (handed over with the connection). */
	line_reader_unconsumed(&pl->reader, in);
	if (pl->quitting) {
		login_client_disconnect(client, "Logged out before login");
		return;
	}
	if (pl->tls_starting) {
		struct error err;
		pl->tls_starting = false;
		line_reader_init(&pl->reader, POP3_AUTH_LINE_MAX);
		if (login_client_start_tls(client, &err) < 0)
			login_client_disconnect(client, err.message);
		return;
	}
	stream_input_resume(client->stream);
}

static void client_tls_ready(struct login_client *client)
{
	/* RFC 2595: no greeting after STLS; the client sends CAPA again. For
	 * implicit TLS the greeting comes now. */
	struct pop3_login *pl = client->protocol_data;
	if (pl == NULL) {
		client_start(client);
		return;
	}
	/* RFC 2595 §4: forget everything from before the handshake, such as
	 * a USER an attacker could have injected in the clear. */
	pop3_login_forget_user(pl);
	pl->in_sasl = false;
}

static void client_auth_reply(struct login_client *client,
			      enum login_auth_status status, const char *data)
{
	struct pop3_login *pl = client->protocol_data;
	switch (status) {
	case LOGIN_AUTH_CONTINUE:
		stream_printf(client->stream, "+ %s\r\n", data != NULL ? data : "");
		break;
	case LOGIN_AUTH_OK:
		pl->in_sasl = false;
		pl->proxy = POP3_PROXY_GREETING;   /* in case it is proxied */
		return;
	case LOGIN_AUTH_FAILED:
		pl->in_sasl = false;
		pop3_login_reply(client, "-ERR [AUTH] Authentication failed.");
		break;
	case LOGIN_AUTH_TEMPFAIL:
		pl->in_sasl = false;
		pop3_login_reply(client, "-ERR [SYS/TEMP] Temporary authentication failure, try again later.");
		break;
	case LOGIN_AUTH_PERMFAIL:
		pl->in_sasl = false;
		pop3_login_reply(client, "-ERR [SYS/PERM] This account cannot log in; contact the administrator.");
		break;
	case LOGIN_AUTH_MALFORMED:
		pl->in_sasl = false;
		pop3_login_reply(client, "-ERR Invalid base64 data or malformed SASL response.");
		break;
	case LOGIN_AUTH_UNSUPPORTED:
		pl->in_sasl = false;
		pop3_login_reply(client, "-ERR Unsupported authentication mechanism.");
		break;
	case LOGIN_AUTH_CANCELLED:
		pl->in_sasl = false;
		pop3_login_reply(client, "-ERR Authentication cancelled.");
		break;
	}
	/* Continue with whatever the client pipelined meanwhile. */
	client_input(client);
}

static void client_notify_disconnect(struct login_client *client,
				     const char *reason)
{
	stream_printf(client->stream, "-ERR %s\r\n", reason);
}

static void client_destroy(struct login_client *client)
{
	struct pop3_login *pl = client->protocol_data;
	if (pl != NULL)
		pop3_login_forget_user(pl);
}

static void proxy_input(struct login_client *client,
			const struct login_proxy_target *target, const char *line)
{
	struct pop3_login *pl = client->protocol_data;
	pop3_proxy_input(client, target, line, &pl->proxy);
}

const struct protocol_login_ops pop3_login_ops = {
	.client_start = client_start,
	.client_input = client_input,
	.client_tls_ready = client_tls_ready,
	.client_auth_reply = client_auth_reply,
	.client_notify_disconnect = client_notify_disconnect,
	.client_destroy = client_destroy,
	.proxy_input = proxy_input,
};
