/*
 * The passwd userdb: the system's user database through NSS
 * (getpwnam_r(): /etc/passwd, LDAP or sssd, whatever nsswitch.conf says).
 *
 *   passdb pam {}
 *   userdb passwd {}
 *
 * It gives the user's canonical name, uid, gid and home directory, so
 * that system users read ~/Maildir as themselves. A name NSS does not know
 * is an unknown user; a failing name service is an error (the client is
 * told to try again later), never an unknown user.
 */
#include "config.h"
#include "config-parser.h"
#include "module.h"
#include "auth-module.h"
#include "log.h"
#include "passwd-lookup.h"

#include <stddef.h>

static void *passwd_create(pool_t *pool, const void *settings,
			   struct error *err)
{
	/* No settings and no state, but create() must return non-NULL. */
	return pool_alloc(pool, 1);
}

static int passwd_lookup_user(void *context, pool_t *request_pool,
			      const char *user,
			      struct auth_user_fields *fields,
			      struct error *err)
{
	struct passwd_entry entry;
	int ret = passwd_lookup(request_pool, user, PASSWD_LOOKUP_BUFFER_INITIAL,
				PASSWD_LOOKUP_BUFFER_MAX, &entry, err);
	if (ret <= 0)
		return ret;
	fields->user = entry.name;
	fields->uid_set = true;
	fields->uid = entry.uid;
	fields->gid_set = true;
	fields->gid = entry.gid;
	fields->home = entry.home;
	return 1;
}

static const struct userdb_ops passwd_userdb = {
	.create = passwd_create,
	.lookup = passwd_lookup_user,
};

static const struct auth_module_ops passwd_ops = {
	.passdb = NULL,
	.userdb = &passwd_userdb,
};

ROOST_MODULE(.kind = MODULE_KIND_AUTH, .name = "passwd",
	     .settings = NULL, .settings_size = 0,
	     .ops = &passwd_ops);
