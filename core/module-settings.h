/*
 * Loading the modules a configuration names and checking their sections
 * against each module's settings table. The master runs this at start and
 * on reload, so a typo in `passdb passwd-file { ... }` is reported as
 * FILE:LINE before anything is replaced.
 */
#ifndef ROOST_MODULE_SETTINGS_H
#define ROOST_MODULE_SETTINGS_H

#include "error.h"
#include "module.h"
#include "pool.h"
#include "settings.h"

/* Loads each service's protocol module, each passdb/userdb driver and the
 * storage module of `mail`; fills db_settings.module_settings. */
int settings_check_modules(struct roost_settings *set, pool_t *pool,
			   struct error *err);

/* Splits a mail location "NAME:PATH" into its module name and path (both
 * from pool). */
int mail_location_split(pool_t *pool, const char *location,
			const char **module_r, const char **path_r,
			struct error *err);

#endif
