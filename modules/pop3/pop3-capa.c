/* CAPA; see pop3-capa.h. */
#include "config.h"
#include "pop3-capa.h"

void pop3_capa_write(struct stream *stream, const char *sasl_mechanisms,
		     bool plaintext_ok, bool offer_stls)
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
	stream_write_str(stream, "IMPLEMENTATION Roost\r\n.\r\n");
}
