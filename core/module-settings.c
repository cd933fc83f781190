/* Module loading and section checks for a configuration; see module-settings.h. */
#include "config.h"
#include "module-settings.h"

#include "auth-module.h"

#include <string.h>

int mail_location_split(pool_t *pool, const char *location,
			const char **module_r, const char **path_r,
			struct error *err)
{
	const char *colon = location != NULL ? strchr(location, ':') : NULL;
	if (colon == NULL || colon == location || colon[1] == '\0') {
		error_set(err, ERROR_INVALID,
			  "invalid mail location '%s' (expected NAME:PATH, e.g. maildir:~/Maildir)",
			  location != NULL ? location : "");
		return -1;
	}
	*module_r = pool_strndup(pool, location, (size_t)(colon - location));
	*path_r = pool_strdup(pool, colon + 1);
	return 0;
}

static int check_db(struct roost_settings *set, struct db_settings *db,
		    bool passdb, pool_t *pool, struct error *err)
{
	const struct roost_module *mod = module_load(set->module_dir, MODULE_KIND_AUTH,
						     db->driver, err);
	if (mod == NULL) {
		struct error inner = *err;
		error_set(err, ERROR_INVALID, "%s:%u: %s", db->section->file,
			  db->section->line, inner.message);
		return -1;
	}
	const struct auth_module_ops *ops = mod->ops;
	if ((passdb && ops->passdb == NULL) || (!passdb && ops->userdb == NULL)) {
		error_set(err, ERROR_INVALID, "%s:%u: auth module '%s' cannot be a %s",
			  db->section->file, db->section->line, db->driver,
			  passdb ? "passdb" : "userdb");
		return -1;
	}
	db->module_settings = pool_alloc(pool, mod->settings_size + 1);
	if (mod->settings != NULL &&
	    config_apply(mod->settings, db->section, db->module_settings, pool, err) < 0)
		return -1;
	if (mod->settings == NULL && db->section->settings_count > 0) {
		const struct config_setting *s = &db->section->settings[0];
		error_set(err, ERROR_INVALID, "%s:%u: module '%s' takes no setting '%s'",
			  s->file, s->line, db->driver, s->key);
		return -1;
	}
	return 0;
}

int settings_check_modules(struct roost_settings *set, pool_t *pool,
			   struct error *err)
{
	for (unsigned i = 0; i < set->services_count; i++) {
		if (module_load(set->module_dir, MODULE_KIND_PROTOCOL,
				set->services[i].protocol, err) == NULL)
			return -1;
	}
	for (unsigned i = 0; i < set->passdbs_count; i++) {
		if (check_db(set, &set->passdbs[i], true, pool, err) < 0)
			return -1;
	}
	for (unsigned i = 0; i < set->userdbs_count; i++) {
		if (check_db(set, &set->userdbs[i], false, pool, err) < 0)
			return -1;
	}
	const char *name, *path;
	if (mail_location_split(pool, set->mail, &name, &path, err) < 0)
		return -1;
	if (module_load(set->module_dir, MODULE_KIND_STORAGE, name, err) == NULL)
		return -1;
	return 0;
}
