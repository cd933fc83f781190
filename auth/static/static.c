/*
 * The static userdb: the same uid and gid for every user, and a home and
 * mail location built from templates. The usual virtual-hosting setup:
 *
 *   userdb static { uid = vmail  gid = vmail
 *                   home = /var/vmail/%{domain}/%{username} }
 *
 * uid and gid (numbers or names) are resolved once at create(), so a
 * typo stops the auth process at startup rather than failing each login.
 * Unset settings leave what the passdb gave. It knows every user: whether
 * a user exists is the passdb's business.
 */
#include "config.h"
#include "config-parser.h"
#include "module.h"
#include "auth-module.h"
#include "var-expand.h"

#include <stddef.h>
#include <string.h>

/* The user name create() expands templates with, to find template errors
 * (unknown variables, bad syntax) at startup. */
#define STATIC_TRIAL_USER "user@example.org"
/* A home path for trial-expanding mail templates that use %{home} or ~. */
#define STATIC_TRIAL_HOME "/nonexistent"

struct static_settings {
	const char *uid;
	const char *gid;
	const char *home;
	const char *mail;
};

static const struct config_setting_def static_setting_defs[] = {
	{ "uid", CONFIG_TYPE_STRING, offsetof(struct static_settings, uid),
	  NULL, NULL },
	{ "gid", CONFIG_TYPE_STRING, offsetof(struct static_settings, gid),
	  NULL, NULL },
	{ "home", CONFIG_TYPE_STRING, offsetof(struct static_settings, home),
	  NULL, NULL },
	{ "mail", CONFIG_TYPE_STRING, offsetof(struct static_settings, mail),
	  NULL, NULL },
	{ NULL, 0, 0, NULL, NULL },
};

struct static_db {
	bool uid_set, gid_set;
	uid_t uid;
	gid_t gid;
	const char *home;   /* template or NULL */
	const char *mail;   /* template or NULL */
};

/* Expands template for user; home is the user's home (or NULL). */
static char *expand(pool_t *pool, const char *template_text,
		    const char *user, const char *home, struct error *err)
{
	struct var_expand_input input = {
		.user = user, .user_len = strlen(user), .home = home,
	};
	return var_expand(pool, template_text, &input, err);
}

static int check_template(const char *name, const char *template_text,
			  const char *home, struct error *err)
{
	struct error sub;

	if (template_text == NULL)
		return 0;
	pool_t *pool = pool_create();
	char *result = expand(pool, template_text, STATIC_TRIAL_USER, home,
			      &sub);
	pool_destroy(pool);
	if (result == NULL) {
		error_set(err, ERROR_INVALID, "static: %s: %s", name,
			  sub.message);
		return -1;
	}
	return 0;
}

static void *static_create(pool_t *pool, const void *settings,
			   struct error *err)
{
	const struct static_settings *set = settings;
	struct static_db *db = pool_alloc(pool, sizeof(*db));
	struct error sub;

	if (set->uid != NULL) {
		if (auth_user_fields_parse_uid(set->uid, &db->uid, &sub) < 0) {
			error_set(err, sub.kind, "static: uid: %s",
				  sub.message);
			return NULL;
		}
		db->uid_set = true;
	}
	if (set->gid != NULL) {
		if (auth_user_fields_parse_gid(set->gid, &db->gid, &sub) < 0) {
			error_set(err, sub.kind, "static: gid: %s",
				  sub.message);
			return NULL;
		}
		db->gid_set = true;
	}
	/* home cannot refer to itself; mail may use the home. */
	if (check_template("home", set->home, NULL, err) < 0 ||
	    check_template("mail", set->mail, STATIC_TRIAL_HOME, err) < 0)
		return NULL;
	db->home = pool_strdup(pool, set->home);
	db->mail = pool_strdup(pool, set->mail);
	return db;
}

static int static_lookup(void *context, pool_t *request_pool,
			 const char *user, struct auth_user_fields *fields,
			 struct error *err)
{
	struct static_db *db = context;
	const char *home = fields->home;
	struct error sub;

	if (db->home != NULL) {
		home = expand(request_pool, db->home, user, NULL, &sub);
		if (home == NULL) {
			error_set(err, ERROR_INVALID, "static: home: %s",
				  sub.message);
			return -1;
		}
	}
	const char *mail = fields->mail;
	if (db->mail != NULL) {
		mail = expand(request_pool, db->mail, user, home, &sub);
		if (mail == NULL) {
			error_set(err, ERROR_INVALID, "static: mail: %s",
				  sub.message);
			return -1;
		}
	}

	/* Only after every expansion succeeded, so a failure changes
	 * nothing the caller sees. */
	if (fields->user == NULL)
		fields->user = pool_strdup(request_pool, user);
	if (db->uid_set) {
		fields->uid_set = true;
		fields->uid = db->uid;
	}
	if (db->gid_set) {
		fields->gid_set = true;
		fields->gid = db->gid;
	}
	fields->home = home;
	fields->mail = mail;
	return 1;
}

static const struct userdb_ops static_userdb = {
	.create = static_create,
	.lookup = static_lookup,
};

static const struct auth_module_ops static_ops = {
	.passdb = NULL,
	.userdb = &static_userdb,
};

ROOST_MODULE(.kind = MODULE_KIND_AUTH, .name = "static",
	     .settings = static_setting_defs,
	     .settings_size = sizeof(struct static_settings),
	     .ops = &static_ops);
