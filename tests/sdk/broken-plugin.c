/*
 * Storage plugins that the server must refuse, one per BROKEN_* macro;
 * tests/integration/test_sdk.py builds each against the installed SDK as
 * storage_<name>.so and checks the refusal (log, client reply, roost
 * --modules) while other users keep working:
 *
 *   -DBROKEN_ABI=N     a descriptor claiming module ABI N
 *   -DBROKEN_INIT      init() fails with ERROR_PERM and a reason
 *   -DBROKEN_KIND      an auth descriptor in a storage_* file
 *   -DBROKEN_NO_DESCRIPTOR   no roost_module symbol at all
 *
 * PLUGIN_NAME is the descriptor name ("badabi"): it must match the file
 * name for the loader to get as far as the check under test.
 */
#include <roost/module.h>
#include <roost/storage.h>

#ifndef PLUGIN_NAME
#error "build with -DPLUGIN_NAME=\"...\""
#endif

/* Never reached: every variant is refused before a mailbox is opened. */
static struct storage_mailbox *broken_open(pool_t *pool, const char *path,
					   const struct storage_user *user,
					   struct error *err)
{
	(void)pool;
	(void)path;
	(void)user;
	error_set(err, ERROR_PERM, "broken test plugin opened");
	return NULL;
}

static const struct storage_ops broken_ops = { .open = broken_open };

#if defined(BROKEN_ABI)
/* Written out rather than ROOST_MODULE(), which stamps the real ABI. */
const struct roost_module roost_module = {
	.abi_version = BROKEN_ABI, .kind = MODULE_KIND_STORAGE,
	.name = PLUGIN_NAME, .ops = &broken_ops,
};
#elif defined(BROKEN_INIT)
static int broken_init(struct error *err)
{
	error_set(err, ERROR_PERM, "licence file /nonexistent/eml.key is missing");
	return -1;
}
ROOST_MODULE(.kind = MODULE_KIND_STORAGE, .name = PLUGIN_NAME,
	     .init = broken_init, .ops = &broken_ops);
#elif defined(BROKEN_KIND)
ROOST_MODULE(.kind = MODULE_KIND_AUTH, .name = PLUGIN_NAME, .ops = &broken_ops);
#elif defined(BROKEN_NO_DESCRIPTOR)
/* Exported, so the file is a plausible shared object, just not a module. */
const struct storage_ops *broken_plugin_ops(void);
const struct storage_ops *broken_plugin_ops(void)
{
	return &broken_ops;
}
#else
#error "build with one of -DBROKEN_ABI=N, -DBROKEN_INIT, -DBROKEN_KIND, -DBROKEN_NO_DESCRIPTOR"
#endif
