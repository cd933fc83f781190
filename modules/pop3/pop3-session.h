/* The POP3 post-auth half (TRANSACTION and UPDATE states, in a mail worker). */
#ifndef ROOST_POP3_SESSION_H
#define ROOST_POP3_SESSION_H

#include "protocol.h"

extern const struct protocol_mail_ops pop3_mail_ops;

#endif
