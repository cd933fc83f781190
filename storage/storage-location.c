/* Splitting "PATH[:key=value]..." mail locations; see storage.h. */
#include "config.h"
#include "storage.h"

#include <string.h>

int storage_location_split(pool_t *pool, const char *location,
			   const char *module_name, const char **path_r,
			   struct storage_location_option **options_r,
			   unsigned *count_r, struct error *err)
{
	const char *colon = location != NULL ? strchr(location, ':') : NULL;
	size_t path_len = location == NULL ? 0 : colon != NULL ?
		(size_t)(colon - location) : strlen(location);
	if (path_len == 0) {
		error_set(err, ERROR_INVALID, "%s: empty mailbox path", module_name);
		return -1;
	}
	*path_r = pool_strndup(pool, location, path_len);

	unsigned count = 0;
	for (const char *p = colon; p != NULL; p = strchr(p + 1, ':'))
		count++;
	struct storage_location_option *opts =
		pool_alloc(pool, sizeof(*opts) * (count + 1));
	unsigned n = 0;
	while (colon != NULL) {
		const char *opt = colon + 1;
		colon = strchr(opt, ':');
		size_t len = colon != NULL ? (size_t)(colon - opt) : strlen(opt);
		const char *eq = memchr(opt, '=', len);
		if (eq == NULL || eq == opt) {
			error_set(err, ERROR_INVALID, "%s: option '%.*s' is not key=value",
				  module_name, (int)len, opt);
			return -1;
		}
		size_t klen = (size_t)(eq - opt);
		char *key = pool_strndup(pool, opt, klen);
		/* A typo must not silently pick one of two values. */
		for (unsigned i = 0; i < n; i++) {
			if (strcmp(opts[i].key, key) == 0) {
				error_set(err, ERROR_INVALID, "%s: option '%s' given twice",
					  module_name, key);
				return -1;
			}
		}
		opts[n].key = key;
		opts[n].value = pool_strndup(pool, eq + 1, len - klen - 1);
		n++;
	}
	*options_r = opts;
	*count_r = n;
	return 0;
}
