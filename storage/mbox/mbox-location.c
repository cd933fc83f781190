/* Parsing of the mbox mail location and its options; see mbox-location.h. */
#include "config.h"
#include "mbox-location.h"
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

int mbox_location_parse(pool_t *pool, const char *location,
			struct mbox_location *loc_r, struct error *err)
{
	memset(loc_r, 0, sizeof(*loc_r));
	loc_r->locks[0] = MBOX_LOCK_DOTLOCK;
	loc_r->locks[1] = MBOX_LOCK_FCNTL;
	loc_r->lock_count = 2;
	loc_r->lock_timeout_ms = MBOX_LOCK_TIMEOUT_DEFAULT_MS;

	const char *colon = location != NULL ? strchr(location, ':') : NULL;
	size_t path_len = location == NULL ? 0 : colon != NULL ?
		(size_t)(colon - location) : strlen(location);
	if (path_len == 0) {
		error_set(err, ERROR_INVALID, "mbox: empty mailbox path");
		return -1;
	}
	loc_r->path = pool_strndup(pool, location, path_len);
	bool seen_lock = false, seen_timeout = false;
	while (colon != NULL) {
		const char *opt = colon + 1;
		colon = strchr(opt, ':');
		size_t len = colon != NULL ? (size_t)(colon - opt) : strlen(opt);
		const char *eq = memchr(opt, '=', len);
		if (eq == NULL) {
			error_set(err, ERROR_INVALID,
				  "mbox: option '%.*s' is not key=value", (int)len,
				  opt);
			return -1;
		}
		size_t klen = (size_t)(eq - opt);
		const char *value = eq + 1;
		size_t vlen = len - klen - 1;
		bool *seen;
		int ret;
		if (klen == 4 && memcmp(opt, "lock", 4) == 0) {
			seen = &seen_lock;
			ret = parse_locks(value, vlen, loc_r, err);
		} else if (klen == 12 && memcmp(opt, "lock_timeout", 12) == 0) {
			seen = &seen_timeout;
			ret = parse_timeout(value, vlen, loc_r, err);
		} else {
			error_set(err, ERROR_INVALID,
				  "mbox: unknown option '%.*s' (known: lock, lock_timeout)",
				  (int)klen, opt);
			return -1;
		}
		if (ret < 0)
			return -1;
		if (*seen) {
			error_set(err, ERROR_INVALID, "mbox: option '%.*s' given twice",
				  (int)klen, opt);
			return -1;
		}
		*seen = true;
	}
	return 0;
}
