/*
 * Loadable modules (DESIGN §2). Every auth driver, storage driver and
 * protocol is a libtool module exporting one symbol, `roost_module`, of
 * type struct roost_module; declare it with ROOST_MODULE().
 *
 * The file of module NAME of kind KIND is "KIND_NAME" with '-' in NAME
 * written as '_' (auth_passwd_file.la / .so, storage_maildir.so). The
 * loader refuses a module built for another ABI, of another kind, or
 * without the symbol, with a message naming the module and both ABIs.
 * A module the config does not name is never loaded.
 */
#ifndef ROOST_MODULE_H
#define ROOST_MODULE_H

#include <stddef.h>

#include "config-parser.h"
#include "error.h"

/* Raised whenever a struct in a public header changes incompatibly. */
#define ROOST_MODULE_ABI 1

enum module_kind {
	MODULE_KIND_AUTH = 1,      /* ops: const struct auth_module_ops * */
	MODULE_KIND_STORAGE = 2,   /* ops: const struct storage_ops * */
	MODULE_KIND_PROTOCOL = 3,  /* ops: const struct protocol_ops * */
};

struct roost_module {
	/* Must stay the first member in every ABI: the loader reads it
	 * before trusting anything else in a descriptor of another ABI. */
	unsigned abi_version;      /* ROOST_MODULE_ABI at build time */
	enum module_kind kind;
	const char *name;
	/* Keys accepted in the module's config section (NULL: none), and the
	 * size of the struct config_apply() fills from them. */
	const struct config_setting_def *settings;
	size_t settings_size;
	int (*init)(struct error *err);   /* optional; once per process */
	void (*deinit)(void);             /* optional */
	const void *ops;
};

#define ROOST_MODULE_SYMBOL "roost_module"
#define ROOST_MODULE(...) \
	const struct roost_module roost_module = { .abi_version = ROOST_MODULE_ABI, __VA_ARGS__ }

const char *module_kind_name(enum module_kind kind);

/* Loads the module (once per process: a second call returns the same
 * descriptor) and checks its descriptor; it does not call init(), which
 * only the process that uses the module runs (module_init()). search_path
 * is a ':'-separated list of directories. Returns NULL with err set on
 * failure. The module stays loaded until module_unload_all(). */
const struct roost_module *module_load(const char *search_path,
				       enum module_kind kind, const char *name,
				       struct error *err);
/* Calls the module's init() once per process. */
int module_init(const struct roost_module *module, struct error *err);
void module_unload_all(void);

#endif
