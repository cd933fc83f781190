/*
 * Proxying a login to another POP3 server: when a passdb answers with the
 * field `proxy`, the login process connects to the back end named by the
 * other proxy fields and relays the session there, and no userdb lookup,
 * cookie or mail worker is involved. Field names are Dovecot's, so user
 * tables port over unchanged:
 *
 *   proxy      the flag (any value but 0, no, false, f, n, off)
 *   host       the back end's address (an IP address: login processes do
 *              no DNS); hostip overrides the address to connect to, host
 *              then only names the certificate to expect
 *   port       default 110, or 995 with ssl=yes
 *   ssl        yes | any-cert: implicit TLS to the back end (any-cert:
 *              without checking its certificate)
 *   starttls   yes | any-cert: STLS on the back end first
 *   destuser   the user to log in as there (default: the login name)
 *   master     log in as this master user for destuser (AUTH PLAIN with
 *              an authorization identity)
 *   pass       the password to give there (default: the password the
 *              client gave; credential mechanisms such as CRAM-MD5 give
 *              none, so their users can be proxied only with pass set)
 *
 * The login process receives these, and only these, after the OK line's
 * user (auth-daemon.c); the client never sees them.
 */
#ifndef ROOST_AUTH_PROXY_H
#define ROOST_AUTH_PROXY_H

#include <stdbool.h>

#include "auth-module.h"
#include "buffer.h"
#include "error.h"

/* True when fields carry a proxy flag that is not off. */
bool auth_proxy_wanted(const struct auth_user_fields *fields);
/* Appends "\tkey=value" for each proxy field present, the flag first,
 * and "\tpass=..." from plain_password (NULL: none known) when the
 * passdb gave no pass. -1 with err (for the log) when there is no
 * password to log in to the back end with or host is missing. */
int auth_proxy_append(struct buffer *line, const struct auth_user_fields *fields,
		      const char *plain_password, struct error *err);

#endif
