/*
 * One user from NSS by name, with getpwnam_r()'s scratch buffer sized on
 * demand: it starts at buffer_initial bytes and doubles on ERANGE up to
 * buffer_max, beyond which the entry is refused as an error (a real entry
 * is far smaller; a module that keeps asking for more is broken).
 *
 * Returns 1 with *entry_r filled (strings from pool), 0 when NSS does not
 * know the name, -1 with err set (ERROR_TEMP) when the lookup failed.
 */
#ifndef ROOST_PASSWD_LOOKUP_H
#define ROOST_PASSWD_LOOKUP_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "pool.h"

/* Enough for any ordinary /etc/passwd line; glibc's own hint
 * (_SC_GETPW_R_SIZE_MAX) is 1024. */
#define PASSWD_LOOKUP_BUFFER_INITIAL 1024
/* Directory services with long GECOS fields stay far below this. */
#define PASSWD_LOOKUP_BUFFER_MAX (1024U * 1024U)

struct passwd_entry {
	const char *name;     /* as NSS spells it */
	uid_t uid;
	gid_t gid;
	const char *home;
};

int passwd_lookup(pool_t *pool, const char *name, size_t buffer_initial,
		  size_t buffer_max, struct passwd_entry *entry_r,
		  struct error *err);

#endif
