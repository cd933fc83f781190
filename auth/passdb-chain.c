/* The passdb chain and the userdbs; see passdb-chain.h. */
#include "config.h"
#include "passdb-chain.h"

#include "auth-username.h"
#include "module.h"

#include <string.h>

struct chain_db {
	const struct roost_module *module;
	const struct db_settings *set;
	void *instance;
};

struct passdb_chain {
	const struct roost_settings *set;
	struct chain_db *passdbs;       /* all, for destroy */
	unsigned passdbs_count;
	struct chain_db *normal;        /* master = no, in order */
	unsigned normal_count;
	struct chain_db *masters;       /* master = yes, in order */
	unsigned masters_count;
	struct chain_db *userdbs;
	unsigned userdbs_count;
};

static int create_dbs(pool_t *pool, const struct roost_settings *set,
		      const struct db_settings *dbs, unsigned count, bool passdb,
		      struct chain_db **out, struct error *err)
{
	*out = pool_alloc(pool, sizeof(**out) * (count + 1));
	for (unsigned i = 0; i < count; i++) {
		struct error sub;
		const struct roost_module *mod = module_load(set->module_dir,
			MODULE_KIND_AUTH, dbs[i].driver, &sub);
		if (mod == NULL) {
			*err = sub;
			return -1;
		}
		const struct auth_module_ops *ops = mod->ops;
		void *inst = passdb ?
			ops->passdb->create(pool, dbs[i].module_settings, &sub) :
			ops->userdb->create(pool, dbs[i].module_settings, &sub);
		if (inst == NULL) {
			error_set(err, sub.kind, "%s %s (%s:%u): %s",
				  passdb ? "passdb" : "userdb", dbs[i].driver,
				  dbs[i].section->file, dbs[i].section->line,
				  sub.message);
			return -1;
		}
		(*out)[i].module = mod;
		(*out)[i].set = &dbs[i];
		(*out)[i].instance = inst;
	}
	return 0;
}

struct passdb_chain *passdb_chain_create(pool_t *pool,
					 const struct roost_settings *set,
					 struct error *err)
{
	struct passdb_chain *chain = pool_alloc(pool, sizeof(*chain));
	if (create_dbs(pool, set, set->passdbs, set->passdbs_count, true,
		       &chain->passdbs, err) < 0) {
		passdb_chain_destroy(chain);
		return NULL;
	}
	chain->passdbs_count = set->passdbs_count;
	chain->set = set;
	chain->normal = pool_alloc(pool, sizeof(*chain->normal) * (set->passdbs_count + 1));
	chain->masters = pool_alloc(pool, sizeof(*chain->masters) * (set->passdbs_count + 1));
	for (unsigned i = 0; i < set->passdbs_count; i++) {
		if (set->passdbs[i].master)
			chain->masters[chain->masters_count++] = chain->passdbs[i];
		else
			chain->normal[chain->normal_count++] = chain->passdbs[i];
	}
	if (create_dbs(pool, set, set->userdbs, set->userdbs_count, false,
		       &chain->userdbs, err) < 0) {
		passdb_chain_destroy(chain);
		return NULL;
	}
	chain->userdbs_count = set->userdbs_count;
	return chain;
}

void passdb_chain_destroy(struct passdb_chain *chain)
{
	/* A failed create leaves the later slots empty (instance NULL). */
	for (unsigned i = 0; chain->passdbs != NULL && chain->passdbs[i].instance != NULL; i++) {
		const struct auth_module_ops *ops = chain->passdbs[i].module->ops;
		if (ops->passdb->destroy != NULL)
			ops->passdb->destroy(chain->passdbs[i].instance);
	}
	for (unsigned i = 0; chain->userdbs != NULL && chain->userdbs[i].instance != NULL; i++) {
		const struct auth_module_ops *ops = chain->userdbs[i].module->ops;
		if (ops->userdb->destroy != NULL)
			ops->userdb->destroy(chain->userdbs[i].instance);
	}
}

bool passdb_chain_has_credentials(const struct passdb_chain *chain)
{
	for (unsigned i = 0; i < chain->normal_count; i++) {
		const struct auth_module_ops *ops = chain->normal[i].module->ops;
		if (ops->passdb->lookup_credentials != NULL)
			return true;
	}
	return false;
}

/* A later passdb's fields override what earlier ones set. */
static void fields_merge(struct auth_user_fields *into,
			 const struct auth_user_fields *from)
{
	if (from->user != NULL)
		into->user = from->user;
	if (from->uid_set) {
		into->uid_set = true;
		into->uid = from->uid;
	}
	if (from->gid_set) {
		into->gid_set = true;
		into->gid = from->gid;
	}
	if (from->home != NULL)
		into->home = from->home;
	if (from->mail != NULL)
		into->mail = from->mail;
	if (from->nologin)
		into->nologin = true;
	for (unsigned i = 0; i < from->extra_count; i++)
		(void)auth_user_fields_set_extra(into, from->extra_keys[i],
						 from->extra_values[i]);
}

/* How bad a failure is, for the one the chain reports at its end. */
static unsigned failure_rank(enum passdb_result r)
{
	return r == PASSDB_USER_UNKNOWN ? 0 : 1;
}

static bool failure_continues(const struct db_settings *set,
			      enum passdb_result r)
{
	switch (set->result_failure) {
	case PASSDB_CHAIN_CONTINUE:
		return true;
	case PASSDB_CHAIN_RETURN_FAIL:
		return false;
	default:
		return r == PASSDB_USER_UNKNOWN;
	}
}

static void failure_reason(enum passdb_result r, const struct error *sub,
			   struct error *err)
{
	switch (r) {
	case PASSDB_USER_UNKNOWN:
		error_set(err, ERROR_NOT_FOUND, "unknown user");
		break;
	case PASSDB_PASSWORD_MISMATCH:
		error_set(err, ERROR_PERM, "password mismatch");
		break;
	case PASSDB_ACCOUNT_DISABLED:
		error_set(err, ERROR_PERM, "account disabled: %s", sub->message);
		break;
	default:
		break;
	}
}

/* One walk over dbs for both verify (password != NULL) and credentials. */
static enum passdb_result chain_walk(const struct chain_db *dbs, unsigned count,
				     pool_t *pool,
				     const char *user, const char *password,
				     const char **stored_r,
				     struct auth_user_fields *fields_r,
				     struct error *err)
{
	enum passdb_result failure = PASSDB_USER_UNKNOWN;
	bool succeeded = false;
	auth_user_fields_init(fields_r, user);
	failure_reason(PASSDB_USER_UNKNOWN, NULL, err);
	for (unsigned i = 0; i < count; i++) {
		const struct chain_db *db = &dbs[i];
		const struct passdb_ops *ops =
			((const struct auth_module_ops *)db->module->ops)->passdb;
		struct auth_user_fields found;
		struct error sub;
		const char *stored = NULL;
		enum passdb_result r;
		auth_user_fields_init(&found, user);
		error_clear(&sub);
		if (password != NULL)
			r = ops->verify_plain(db->instance, pool, user, password,
					      &found, &sub);
		else if (ops->lookup_credentials != NULL)
			r = ops->lookup_credentials(db->instance, pool, user,
						    &stored, &found, &sub);
		else
			r = PASSDB_USER_UNKNOWN;
		if (r == PASSDB_INTERNAL_ERROR) {
			error_set(err, ERROR_TEMP, "passdb %s: %s",
				  db->set->driver, sub.message);
			return PASSDB_INTERNAL_ERROR;
		}
		if (r == PASSDB_OK) {
			fields_merge(fields_r, &found);
			if (!succeeded && stored_r != NULL)
				*stored_r = stored;
			succeeded = true;
			if (db->set->result_success != PASSDB_CHAIN_CONTINUE)
				break;
			continue;
		}
		if (succeeded)
			continue;
		if (failure_rank(r) >= failure_rank(failure)) {
			failure = r;
			failure_reason(r, &sub, err);
		}
		if (!failure_continues(db->set, r))
			break;
	}
	if (succeeded) {
		error_clear(err);
		return PASSDB_OK;
	}
	return failure;
}

/* The account of a master login must exist: a passdb knows it without
 * a password, or else a userdb does. */
static enum passdb_result master_target(struct passdb_chain *chain,
					pool_t *pool, const char *user,
					struct auth_user_fields *fields_r,
					struct error *err)
{
	const char *stored = NULL;
	enum passdb_result r = chain_walk(chain->normal, chain->normal_count,
					  pool, user, NULL, &stored, fields_r, err);
	if (r != PASSDB_USER_UNKNOWN || chain->userdbs_count == 0)
		return r;
	auth_user_fields_init(fields_r, user);
	int found = passdb_chain_userdb_lookup(chain, pool, user, fields_r, err);
	if (found < 0)
		return PASSDB_INTERNAL_ERROR;
	if (found == 0) {
		error_set(err, ERROR_NOT_FOUND, "unknown user");
		return PASSDB_USER_UNKNOWN;
	}
	error_clear(err);
	return PASSDB_OK;
}

/* "user SEP admin": admin's secret from the master chain, user's fields
 * from the normal one (see passdb-chain.h). */
static enum passdb_result master_login(struct passdb_chain *chain, pool_t *pool,
				       const char *user, const char *admin,
				       const char *password, const char **stored_r,
				       struct auth_user_fields *fields_r,
				       struct error *err)
{
	struct auth_user_fields admin_fields;
	struct error sub;
	enum passdb_result r = chain_walk(chain->masters, chain->masters_count,
					  pool, admin, password, stored_r,
					  &admin_fields, &sub);
	if (r == PASSDB_INTERNAL_ERROR) {
		*err = sub;
		return r;
	}
	if (r != PASSDB_OK) {
		error_set(err, sub.kind, "master user %s: %s", admin, sub.message);
		return r;
	}
	r = master_target(chain, pool, user, fields_r, &sub);
	if (r == PASSDB_INTERNAL_ERROR) {
		*err = sub;
		return r;
	}
	if (r != PASSDB_OK) {
		error_set(err, ERROR_NOT_FOUND,
			  "master user %s: the account to log in to is unknown", admin);
		return PASSDB_USER_UNKNOWN;
	}
	if (fields_r->user == NULL)
		fields_r->user = user;
	if (auth_user_fields_set_extra(fields_r, PASSDB_CHAIN_MASTER_FIELD,
				       pool_strdup(pool, admin)) < 0) {
		error_set(err, ERROR_TEMP, "master user %s: too many extra fields", admin);
		return PASSDB_INTERNAL_ERROR;
	}
	error_clear(err);
	return PASSDB_OK;
}

enum passdb_result passdb_chain_verify(struct passdb_chain *chain, pool_t *pool,
				       const char *name, const char *password,
				       struct auth_user_fields *fields_r,
				       struct error *err)
{
	const char *user, *admin;
	auth_username_split(pool, chain->set, name, &user, &admin);
	if (admin != NULL)
		return master_login(chain, pool, user, admin, password, NULL,
				    fields_r, err);
	return chain_walk(chain->normal, chain->normal_count, pool, user,
			  password, NULL, fields_r, err);
}

enum passdb_result passdb_chain_credentials(struct passdb_chain *chain,
					    pool_t *pool, const char *name,
					    const char **stored_r,
					    struct auth_user_fields *fields_r,
					    struct error *err)
{
	const char *user, *admin;
	*stored_r = NULL;
	auth_username_split(pool, chain->set, name, &user, &admin);
	if (admin != NULL)
		return master_login(chain, pool, user, admin, NULL, stored_r,
				    fields_r, err);
	return chain_walk(chain->normal, chain->normal_count, pool, user, NULL,
			  stored_r, fields_r, err);
}

int passdb_chain_userdb_lookup(struct passdb_chain *chain, pool_t *pool,
			       const char *user,
			       struct auth_user_fields *fields,
			       struct error *err)
{
	if (chain->userdbs_count == 0)
		return 1;
	for (unsigned i = 0; i < chain->userdbs_count; i++) {
		const struct chain_db *db = &chain->userdbs[i];
		const struct userdb_ops *ops =
			((const struct auth_module_ops *)db->module->ops)->userdb;
		struct error sub;
		error_clear(&sub);
		int r = ops->lookup(db->instance, pool, user, fields, &sub);
		if (r < 0) {
			error_set(err, ERROR_TEMP, "userdb %s: %s",
				  db->set->driver, sub.message);
			return -1;
		}
		if (r > 0)
			return 1;
	}
	return 0;
}
