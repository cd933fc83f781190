/*
 * What an auth module (MODULE_KIND_AUTH) provides: a passdb that checks
 * passwords, a userdb that returns the fields a mail worker needs, or both.
 * Its roost_module.ops points to a struct auth_module_ops.
 *
 * create() receives the module's typed settings (filled by config_apply()
 * from the module's settings table) and returns the driver's instance data,
 * allocated from pool (which lives as long as the auth process's config).
 *
 * A passdb must not let a client tell an unknown user from a wrong
 * password, in the answer or in timing: for an unknown user it runs a
 * verification of the same cost (password_verify_dummy()) before answering
 * PASSDB_USER_UNKNOWN.
 *
 * Calls are synchronous and may block (a PAM conversation, a database
 * round trip): the auth process runs them in its auth worker processes,
 * one call at a time per worker, so a module needs no locking and no event
 * loop, and a slow call stalls only the worker that makes it. Each worker
 * has its own instance from create(), so a database module's connection
 * per instance gives a pool of auth_worker_processes connections.
 */
#ifndef ROOST_AUTH_MODULE_H
#define ROOST_AUTH_MODULE_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "pool.h"

#define AUTH_EXTRA_FIELDS_MAX 32

struct auth_user_fields {
	const char *user;          /* canonical login name */
	bool uid_set, gid_set;
	uid_t uid;
	gid_t gid;
	const char *home;          /* NULL when unknown */
	const char *mail;          /* mail location override, or NULL */
	bool nologin;
	/* Other key=value fields as given by the database. */
	unsigned extra_count;
	const char *extra_keys[AUTH_EXTRA_FIELDS_MAX];
	const char *extra_values[AUTH_EXTRA_FIELDS_MAX];
};

enum passdb_result {
	PASSDB_OK,
	PASSDB_USER_UNKNOWN,
	PASSDB_PASSWORD_MISMATCH,
	PASSDB_INTERNAL_ERROR,     /* err says why; client gets [SYS/TEMP] */
	/* The password is right but the account may not log in (expired,
	 * locked, password change required): err says which, for the log
	 * only; the client gets the same answer as for a wrong password. */
	PASSDB_ACCOUNT_DISABLED,
};

struct passdb_ops {
	void *(*create)(pool_t *pool, const void *settings, struct error *err);
	/* On PASSDB_OK, fields_r gets what the passdb knows (at least user;
	 * passwd-file also fills uid/gid/home and extra fields); strings come
	 * from request_pool. */
	enum passdb_result (*verify_plain)(void *db, pool_t *request_pool,
					   const char *user,
					   const char *password,
					   struct auth_user_fields *fields_r,
					   struct error *err);
	/* Optional: frees what the instance holds outside the create()
	 * pool (caches), before that pool is destroyed. */
	void (*destroy)(void *db);
	/* Optional: the stored password of user, always as "{SCHEME}data"
	 * (the module prefixes its default scheme when the database has
	 * none), in *stored_r from request_pool, plus fields_r as for
	 * verify_plain. Mechanisms that need more than a plaintext to check
	 * (CRAM-MD5, SCRAM-SHA-256, APOP) run only against passdbs that have
	 * this. PASSDB_USER_UNKNOWN needs no dummy work here: the caller
	 * fakes the exchange itself. PASSDB_PASSWORD_MISMATCH is not used. */
	enum passdb_result (*lookup_credentials)(void *db, pool_t *request_pool,
						 const char *user,
						 const char **stored_r,
						 struct auth_user_fields *fields_r,
						 struct error *err);
};

struct userdb_ops {
	void *(*create)(pool_t *pool, const void *settings, struct error *err);
	/* Returns 1 found (fields filled), 0 unknown user, -1 error. Fields
	 * already set by the passdb are passed in and may be overridden. */
	int (*lookup)(void *db, pool_t *request_pool, const char *user,
		      struct auth_user_fields *fields, struct error *err);
	/* Optional, as for passdb_ops. */
	void (*destroy)(void *db);
};

struct auth_module_ops {
	const struct passdb_ops *passdb;   /* NULL: cannot be a passdb */
	const struct userdb_ops *userdb;   /* NULL: cannot be a userdb */
};

void auth_user_fields_init(struct auth_user_fields *fields, const char *user);
/* Adds or replaces an extra field; returns -1 when full. */
int auth_user_fields_set_extra(struct auth_user_fields *fields,
			       const char *key, const char *value);

/* Parse a uid / gid given as a decimal number or as a user / group name
 * (resolved with getpwnam_r / getgrnam_r). Return 0, or -1 with err set:
 * ERROR_INVALID for a bad number or an unknown name, ERROR_TEMP when the
 * name service fails. Messages name the text but no file position. */
int auth_user_fields_parse_uid(const char *text, uid_t *uid_r,
			       struct error *err);
int auth_user_fields_parse_gid(const char *text, gid_t *gid_r,
			       struct error *err);

#endif
