/* The libltdl module loader; see module.h. */
#include "config.h"
#include "module.h"
#include "pool.h"

#include <ltdl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A process loads a handful of modules (pop3, one or two auth drivers, a
 * storage driver); the table is small and searched linearly. */
#define MODULE_MAX_LOADED 32
#define MODULE_NAME_MAX 64

struct loaded_module {
	lt_dlhandle handle;
	const struct roost_module *module;
	char file_name[MODULE_NAME_MAX + 16];
	bool initialised;
};

static struct loaded_module loaded[MODULE_MAX_LOADED];
static unsigned loaded_count;
static bool ltdl_ready;

const char *module_kind_name(enum module_kind kind)
{
	switch (kind) {
	case MODULE_KIND_AUTH: return "auth";
	case MODULE_KIND_STORAGE: return "storage";
	case MODULE_KIND_PROTOCOL: return "protocol";
	}
	return "unknown";
}

/* Module names become file names: only a safe, short alphabet. */
static bool module_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > MODULE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

const struct roost_module *module_load(const char *search_path,
				       enum module_kind kind, const char *name,
				       struct error *err)
{
	if (!module_name_valid(name)) {
		error_set(err, ERROR_INVALID, "invalid %s module name '%s'",
			  module_kind_name(kind), name);
		return NULL;
	}
	char file_name[sizeof(loaded[0].file_name)];
	snprintf(file_name, sizeof(file_name), "%s_%s", module_kind_name(kind), name);
	for (char *p = file_name; *p != '\0'; p++) {
		if (*p == '-')
			*p = '_';
	}
	for (unsigned i = 0; i < loaded_count; i++) {
		if (strcmp(loaded[i].file_name, file_name) == 0)
			return loaded[i].module;
	}
	if (loaded_count == MODULE_MAX_LOADED) {
		error_set(err, ERROR_PERM, "too many modules loaded (limit %d)", MODULE_MAX_LOADED);
		return NULL;
	}
	if (!ltdl_ready) {
		if (lt_dlinit() != 0) {
			error_set(err, ERROR_TEMP, "lt_dlinit: %s", lt_dlerror());
			return NULL;
		}
		ltdl_ready = true;
	}
	if (lt_dlsetsearchpath(search_path) != 0) {
		error_set(err, ERROR_TEMP, "module search path: %s", lt_dlerror());
		return NULL;
	}
	lt_dlhandle handle = lt_dlopenext(file_name);
	if (handle == NULL) {
		error_set(err, ERROR_PERM, "cannot load %s module '%s' (%s) from %s: %s",
			  module_kind_name(kind), name, file_name, search_path,
			  lt_dlerror());
		return NULL;
	}
	const struct roost_module *mod = lt_dlsym(handle, ROOST_MODULE_SYMBOL);
	if (mod == NULL) {
		error_set(err, ERROR_PERM, "module %s has no '%s' descriptor: not a Roost module",
			  file_name, ROOST_MODULE_SYMBOL);
		lt_dlclose(handle);
		return NULL;
	}
	if (mod->abi_version != ROOST_MODULE_ABI) {
		error_set(err, ERROR_PERM,
			  "module %s was built for module ABI %u, this server has ABI %u: rebuild the module",
			  file_name, mod->abi_version, ROOST_MODULE_ABI);
		lt_dlclose(handle);
		return NULL;
	}
	if (mod->kind != kind) {
		error_set(err, ERROR_PERM, "module %s is of kind %d (%s), expected %s",
			  file_name, (int)mod->kind, module_kind_name(mod->kind),
			  module_kind_name(kind));
		lt_dlclose(handle);
		return NULL;
	}
	if (mod->name == NULL || strcmp(mod->name, name) != 0 || mod->ops == NULL) {
		error_set(err, ERROR_PERM, "module %s has a malformed descriptor (name '%s')",
			  file_name, mod->name != NULL ? mod->name : "(none)");
		lt_dlclose(handle);
		return NULL;
	}
	struct loaded_module *slot = &loaded[loaded_count++];
	slot->handle = handle;
	slot->module = mod;
	slot->initialised = false;
	snprintf(slot->file_name, sizeof(slot->file_name), "%s", file_name);
	return mod;
}

int module_init(const struct roost_module *module, struct error *err)
{
	for (unsigned i = 0; i < loaded_count; i++) {
		if (loaded[i].module != module)
			continue;
		if (loaded[i].initialised)
			return 0;
		error_clear(err);
		if (module->init != NULL && module->init(err) < 0) {
			/* The module's own text rarely says which module it
			 * is; name it (and keep the kind the module chose, so
			 * a temporary failure stays temporary). A module that
			 * forgot to fill err still gets a usable message. */
			struct error inner = *err;
			error_set(err, inner.kind != ERROR_NONE ? inner.kind : ERROR_PERM,
				  "module %s (%s/%s) failed to initialise: %s",
				  loaded[i].file_name, module_kind_name(module->kind),
				  module->name, inner.kind != ERROR_NONE &&
				  inner.message[0] != '\0' ? inner.message :
				  "init() failed without a reason");
			return -1;
		}
		loaded[i].initialised = true;
		return 0;
	}
	error_set(err, ERROR_INVALID, "module %s not loaded", module->name);
	return -1;
}

void module_unload_all(void)
{
	while (loaded_count > 0) {
		struct loaded_module *m = &loaded[--loaded_count];
		if (m->initialised && m->module->deinit != NULL)
			m->module->deinit();
		lt_dlclose(m->handle);
	}
	if (ltdl_ready) {
		lt_dlexit();
		ltdl_ready = false;
	}
}
