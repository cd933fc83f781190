/* The POP3 protocol module's descriptor: both halves, no settings of its own. */
#include "config.h"
#include "module.h"
#include "protocol.h"
#include "pop3-login.h"
#include "pop3-session.h"

static const struct protocol_ops pop3_protocol_ops = {
	.login = &pop3_login_ops,
	.mail = &pop3_mail_ops,
};

ROOST_MODULE(
	.kind = MODULE_KIND_PROTOCOL,
	.name = "pop3",
	.ops = &pop3_protocol_ops,
);
