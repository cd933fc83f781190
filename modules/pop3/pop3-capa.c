/* CAPA; see pop3-capa.h. */
#include "config.h"
#include "pop3-capa.h"

#include <strings.h>

/* session NULL: before login, the server-wide values marked USER. */
static void write_policy(struct stream *stream, const struct roost_settings *set,
			 const struct mail_session *session)
{
	unsigned server_delay = set->login_delay / 1000u;
	const char *server_expire = set->mail_expire[0] == '\0' ? NULL :
		strcasecmp(set->mail_expire, "never") == 0 ? "NEVER" :
		set->mail_expire;
	if (session == NULL) {
		if (server_delay > 0)
			stream_printf(stream, "LOGIN-DELAY %u USER\r\n", server_delay);
		if (server_expire != NULL)
			stream_printf(stream, "EXPIRE %s USER\r\n", server_expire);
		return;
	}
	if (server_delay > 0 || session->login_delay > 0)
		stream_printf(stream, "LOGIN-DELAY %u\r\n", session->login_delay);
	if (session->expire != NULL)
		stream_printf(stream, "EXPIRE %s\r\n", session->expire);
}

void pop3_capa_write(struct stream *stream, const char *sasl_mechanisms,
		     bool plaintext_ok, bool offer_stls,
		     const struct roost_settings *set,
		     const struct mail_session *session)
{
	stream_write_str(stream,
		"+OK Capability list follows\r\n"
		"CAPA\r\n"
		"TOP\r\n"
		"UIDL\r\n"
		"RESP-CODES\r\n"
		"AUTH-RESP-CODE\r\n"
		"PIPELINING\r\n");
	if (plaintext_ok) {
		stream_write_str(stream, "USER\r\n");
		if (sasl_mechanisms[0] != '\0')
			stream_printf(stream, "SASL %s\r\n", sasl_mechanisms);
	}
	if (offer_stls)
		stream_write_str(stream, "STLS\r\n");
	write_policy(stream, set, session);
	stream_write_str(stream, "IMPLEMENTATION Roost\r\n.\r\n");
}
