/*
 * Parser for Dovecot's passwd-file format:
 *
 *   user:password:uid:gid:gecos:home:shell:extra_fields
 *
 * Fields after the password are optional. Lines that are empty or start
 * with '#' are skipped. The extra fields run to the end of the line (they
 * may contain ':', as in userdb_mail=maildir:~/Mail) and are
 * space-separated "key=value" or bare "key" (value "") tokens. A
 * "userdb_" prefix marks a userdb field and is removed; userdb_mail, mail,
 * uid, gid, home (with or without the prefix) and nologin set the entry's
 * own fields, overriding the positional ones; everything else is kept as
 * an extra field.
 *
 * Parsing is a pure function of the bytes, apart from resolving user and
 * group names in the uid/gid fields through NSS. Every error is
 * ERROR_INVALID (ERROR_TEMP when NSS fails) with "FILE:LINE: what".
 */
#ifndef ROOST_PASSWD_FILE_PARSE_H
#define ROOST_PASSWD_FILE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "pool.h"

/* A passwd-file is read whole into memory and kept parsed per path; 64 MiB
 * is several hundred thousand users, beyond which a real database (SQL)
 * is the right tool, and it stops a wrong path (a disk image, a log) from
 * eating the auth process's memory. */
#define PASSWD_FILE_SIZE_MAX (64U * 1024U * 1024U)
/* A line holds a hash (~100 bytes) and a few dozen extra fields; a longer
 * line is a corrupt or binary file. */
#define PASSWD_FILE_LINE_MAX 16384

struct passwd_file_entry {
	const char *user;
	const char *password;      /* "" when the field is empty or missing */
	bool uid_set, gid_set;
	uid_t uid;
	gid_t gid;
	const char *home;          /* NULL when empty */
	const char *mail;          /* NULL when not given */
	bool nologin;
	unsigned extra_count;
	const char **extra_keys;
	const char **extra_values;
	unsigned line;             /* where the entry came from */
};

struct passwd_file_table {
	const char *path;          /* as named in error messages */
	struct passwd_file_entry *entries;   /* in file order */
	unsigned count;
	/* Open-addressing index into entries for passwd_file_lookup(). */
	unsigned *slots;           /* entry index + 1; 0 = empty */
	unsigned slot_count;       /* a power of two */
};

/* Parses size bytes of data (need not be NUL-terminated) read from path
 * (used only in messages). Everything is allocated from pool. Returns
 * NULL with err set on the first error. */
struct passwd_file_table *passwd_file_parse(pool_t *pool, const char *path,
					    const char *data, size_t size,
					    struct error *err);

/* The entry whose user is exactly user, or NULL. */
const struct passwd_file_entry *
passwd_file_lookup(const struct passwd_file_table *table, const char *user);

#endif
