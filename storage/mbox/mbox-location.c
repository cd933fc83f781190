/* Parsing of the mbox mail location and its options; see mbox-location.h. */
#include "config.h"
#include "mbox-location.h"
#include "storage.h"
#include "decimal.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static int parse_locks(const char *value, size_t len,
		       struct mbox_location *loc, struct error *err)
{
	loc->lock_count = 0;
	const char *p = value, *end = value + len;
	while (p <= end) {
		const char *plus = memchr(p, '+', (size_t)(end - p));
		size_t n = plus != NULL ? (size_t)(plus - p) : (size_t)(end - p);
		enum mbox_lock_method m;
		if (n == 7 && memcmp(p, "dotlock", 7) == 0)
			m = MBOX_LOCK_DOTLOCK;
		else if (n == 5 && memcmp(p, "fcntl", 5) == 0)
			m = MBOX_LOCK_FCNTL;
		else {
			error_set(err, ERROR_INVALID,
				  "mbox: unknown lock method '%.*s' in lock=%.*s "
				  "(use dotlock, fcntl or dotlock+fcntl)",
				  (int)n, p, (int)len, value);
			return -1;
		}
		for (unsigned i = 0; i < loc->lock_count; i++) {
			if (loc->locks[i] == m) {
				error_set(err, ERROR_INVALID,
					  "mbox: lock method listed twice in lock=%.*s",
					  (int)len, value);
				return -1;
			}
		}
		loc->locks[loc->lock_count++] = m;
		if (plus == NULL)
			break;
		p = plus + 1;
	}
	return 0;
}

static int parse_timeout(const char *value, size_t len,
			 struct mbox_location *loc, struct error *err)
{
	uint64_t scale = 1000;
	size_t digits = len;
	if (len > 2 && memcmp(value + len - 2, "ms", 2) == 0) {
		scale = 1;
		digits = len - 2;
	} else if (len > 1 && value[len - 1] == 's') {
		digits = len - 1;
	}
	uint64_t v;
	if (!decimal_parse_u64(value, digits, &v) ||
	    v > MBOX_LOCK_TIMEOUT_MAX_MS || v * scale < 1 ||
	    v * scale > MBOX_LOCK_TIMEOUT_MAX_MS) {
		error_set(err, ERROR_INVALID,
			  "mbox: invalid lock_timeout=%.*s (expected 1ms..%ds)",
			  (int)len, value, MBOX_LOCK_TIMEOUT_MAX_MS / 1000);
		return -1;
	}
	loc->lock_timeout_ms = (unsigned)(v * scale);
	return 0;
}

static int parse_yes_no(const char *key, const char *value, bool *value_r,
			struct error *err)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
		*value_r = value[0] == 'y';
		return 0;
	}
	error_set(err, ERROR_INVALID, "mbox: invalid %s=%s (expected yes or no)",
		  key, value);
	return -1;
}

static int parse_index(const char *value, struct mbox_location *loc,
		       struct error *err)
{
	if (value[0] != '/') {
		error_set(err, ERROR_INVALID, "mbox: index=%s is not an absolute "
			  "path", value);
		return -1;
	}
	loc->index_path = value;
	return 0;
}

int mbox_location_parse(pool_t *pool, const char *location,
			struct mbox_location *loc_r, struct error *err)
{
	memset(loc_r, 0, sizeof(*loc_r));
	loc_r->locks[0] = MBOX_LOCK_DOTLOCK;
	loc_r->locks[1] = MBOX_LOCK_FCNTL;
	loc_r->lock_count = 2;
	loc_r->lock_timeout_ms = MBOX_LOCK_TIMEOUT_DEFAULT_MS;

	struct storage_location_option *opts;
	unsigned count;
	if (storage_location_split(pool, location, "mbox", &loc_r->path, &opts,
				   &count, err) < 0)
		return -1;
	for (unsigned i = 0; i < count; i++) {
		const char *value = opts[i].value;
		int ret;
		if (strcmp(opts[i].key, "lock") == 0) {
			ret = parse_locks(value, strlen(value), loc_r, err);
		} else if (strcmp(opts[i].key, "lock_timeout") == 0) {
			ret = parse_timeout(value, strlen(value), loc_r, err);
		} else if (strcmp(opts[i].key, "reuse_xuidl") == 0) {
			ret = parse_yes_no(opts[i].key, value, &loc_r->reuse_xuidl,
					   err);
		} else if (strcmp(opts[i].key, "index") == 0) {
			ret = parse_index(value, loc_r, err);
		} else {
			error_set(err, ERROR_INVALID,
				  "mbox: unknown option '%s' (known: lock, "
				  "lock_timeout, reuse_xuidl, index)", opts[i].key);
			return -1;
		}
		if (ret < 0)
			return -1;
	}
	return 0;
}
