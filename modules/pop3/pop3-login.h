/* The POP3 pre-auth half (AUTHORIZATION state, in a login process). */
#ifndef ROOST_POP3_LOGIN_H
#define ROOST_POP3_LOGIN_H

#include "protocol.h"

extern const struct protocol_login_ops pop3_login_ops;

#endif
