/*
 * The pam passdb: the system's PAM stack checks the plaintext password.
 *
 *   passdb pam { service = roost }      # the stack in /etc/pam.d/roost
 *
 * Each check is one PAM transaction: pam_start(service, user),
 * pam_authenticate() with the conversation of pam-conv.h, then
 * pam_acct_mgmt() so that expired or locked accounts are refused (with a
 * reason in the log, the answer of a wrong password to the client; see
 * pam-result.h), and pam_end() whatever happened. PAM can only check a
 * plaintext, so there is no lookup_credentials: CRAM-MD5, SCRAM and APOP
 * are not offered with this passdb.
 *
 * A stack may block (a network directory, pam_exec, pam_unix's helper);
 * that is fine because the auth process runs passdb calls in its worker
 * processes (auth-module.h). pam_unix's own delay after a failure
 * (pam_fail_delay(), about 2 s) would still hold a worker for nothing, so
 * the transaction gets a PAM_FAIL_DELAY callback that does not sleep:
 * Roost delays failing addresses itself (auth-penalty.h).
 *
 * The remote address is not set as PAM_RHOST: the passdb interface does
 * not pass it to modules.
 *
 * On success the user name PAM ended up with (a stack may canonicalize
 * it) becomes the login's user name.
 */
#include "config.h"
#include "config-parser.h"
#include "module.h"
#include "auth-module.h"
#include "log.h"
#include "password-scheme.h"
#include "pam-conv.h"
#include "pam-result.h"

#include <stddef.h>
#include <string.h>

#include <security/pam_appl.h>

#define PAMDB_DEFAULT_SERVICE "roost"
/* PAM_SILENT: there is nobody to show PAM's messages to.
 * PAM_DISALLOW_NULL_AUTHTOK: an account without a password ("nullok")
 * must not open a mailbox to anyone who knows its name. */
#define PAMDB_FLAGS (PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK)
/* Room for an escaped service name in messages. */
#define PAMDB_ESCAPED_MAX 256

struct pamdb_settings {
	const char *service;
};

static const struct config_setting_def pamdb_setting_defs[] = {
	{ "service", CONFIG_TYPE_STRING,
	  offsetof(struct pamdb_settings, service), PAMDB_DEFAULT_SERVICE,
	  NULL },
	{ NULL, 0, 0, NULL, NULL },
};

struct pamdb {
	const char *service;
};

static void *pamdb_create(pool_t *pool, const void *settings,
			  struct error *err)
{
	const struct pamdb_settings *set = settings;
	const char *service = set->service != NULL ? set->service :
		PAMDB_DEFAULT_SERVICE;

	/* The service names a file in /etc/pam.d: no paths. */
	if (service[0] == '\0' || strchr(service, '/') != NULL) {
		char esc[PAMDB_ESCAPED_MAX];
		error_set(err, ERROR_INVALID,
			  "pam: service '%s' is not a PAM service name "
			  "(a file name in /etc/pam.d)",
			  log_escape(esc, sizeof(esc), service,
				     strlen(service)));
		return NULL;
	}
	struct pamdb *db = pool_alloc(pool, sizeof(*db));
	db->service = pool_strdup(pool, service);
	/* For unknown users, made now rather than during the first one. */
	password_verify_dummy_prepare(NULL);
	return db;
}

static void pamdb_no_fail_delay(int retval, unsigned usec_delay,
				void *appdata)
{
}

/* Maps code from phase to the result; err gets the log text. */
static enum passdb_result
pamdb_result(struct pamdb *db, pam_handle_t *pamh,
	     const struct passdb_pam_conv_request *conv_req,
	     enum passdb_pam_phase phase, int code, struct error *err)
{
	const char *reason;
	const char *call = phase == PASSDB_PAM_PHASE_AUTH ?
		"pam_authenticate" : "pam_acct_mgmt";
	enum passdb_result result = passdb_pam_result(phase, code, &reason);

	switch (result) {
	case PASSDB_ACCOUNT_DISABLED:
		error_set(err, ERROR_PERM, "%s", reason);
		break;
	case PASSDB_INTERNAL_ERROR:
		if (code == PAM_CONV_ERR && conv_req->refused_style != 0) {
			error_set(err, ERROR_TEMP,
				  "pam: service %s asked for something other "
				  "than the user name or password (message "
				  "style %d), which a POP3 login cannot answer",
				  db->service, conv_req->refused_style);
		} else {
			error_set(err, ERROR_TEMP, "pam: %s (service %s): %s",
				  call, db->service, pam_strerror(pamh, code));
		}
		break;
	default:
		break;
	}
	return result;
}

/* Copies the user name PAM ended with into fields; -1 with err set when
 * PAM has none. */
static int pamdb_fields(struct pamdb *db, pool_t *pool, pam_handle_t *pamh,
			struct auth_user_fields *fields, struct error *err)
{
	const void *item = NULL;
	int ret = pam_get_item(pamh, PAM_USER, &item);

	if (ret != PAM_SUCCESS || item == NULL) {
		error_set(err, ERROR_TEMP,
			  "pam: service %s accepted a login without a user "
			  "name (%s)", db->service, pam_strerror(pamh, ret));
		return -1;
	}
	auth_user_fields_init(fields, pool_strdup(pool, item));
	return 0;
}

static enum passdb_result
pamdb_verify_plain(void *context, pool_t *request_pool, const char *user,
		   const char *password, struct auth_user_fields *fields_r,
		   struct error *err)
{
	struct pamdb *db = context;
	struct passdb_pam_conv_request conv_req = {
		.user = user, .password = password,
	};
	const struct pam_conv conv = { passdb_pam_conv, &conv_req };
	pam_handle_t *pamh = NULL;
	enum passdb_result result;

	int ret = pam_start(db->service, user, &conv, &pamh);
	if (ret != PAM_SUCCESS) {
		error_set(err, ERROR_TEMP, "pam: pam_start(%s) failed: %s",
			  db->service, pam_strerror(pamh, ret));
		if (pamh != NULL)
			pam_end(pamh, ret);
		return PASSDB_INTERNAL_ERROR;
	}

	ret = pam_set_item(pamh, PAM_FAIL_DELAY,
			   (const void *)pamdb_no_fail_delay);
	if (ret != PAM_SUCCESS) {
		error_set(err, ERROR_TEMP,
			  "pam: setting PAM_FAIL_DELAY failed: %s",
			  pam_strerror(pamh, ret));
		pam_end(pamh, ret);
		return PASSDB_INTERNAL_ERROR;
	}

	ret = pam_authenticate(pamh, PAMDB_FLAGS);
	result = pamdb_result(db, pamh, &conv_req, PASSDB_PAM_PHASE_AUTH, ret,
			      err);
	if (result == PASSDB_USER_UNKNOWN) {
		/* auth-module.h: unknown users cost what a wrong password
		 * costs, whatever the stack did. */
		password_verify_dummy(NULL, password);
	}
	if (result == PASSDB_OK) {
		ret = pam_acct_mgmt(pamh, PAMDB_FLAGS);
		result = pamdb_result(db, pamh, &conv_req,
				      PASSDB_PAM_PHASE_ACCOUNT, ret, err);
	}
	if (result == PASSDB_OK &&
	    pamdb_fields(db, request_pool, pamh, fields_r, err) < 0) {
		ret = PAM_SYSTEM_ERR;
		result = PASSDB_INTERNAL_ERROR;
	}
	pam_end(pamh, ret);
	return result;
}

static const struct passdb_ops pamdb_passdb = {
	.create = pamdb_create,
	.verify_plain = pamdb_verify_plain,
};

static const struct auth_module_ops pamdb_ops = {
	.passdb = &pamdb_passdb,
	.userdb = NULL,
};

ROOST_MODULE(.kind = MODULE_KIND_AUTH, .name = "pam",
	     .settings = pamdb_setting_defs,
	     .settings_size = sizeof(struct pamdb_settings),
	     .ops = &pamdb_ops);
