/*
 * The passwd-file passdb and userdb: Dovecot's passwd-file format (see
 * passwd-file-parse.h), one file or one file per domain.
 *
 *   passdb passwd-file { path = /etc/roost/%{domain}.passwd }
 *
 * `path` may be a template (%{user}, %{username}, %{domain}); it is
 * expanded per request. A user name that var_expand() refuses (one that
 * would escape the directory) is an unknown user, with the reason in err
 * for the caller's log. When a templated path names no file, the domain is
 * not hosted here: unknown user. A fixed path that is missing, or any file
 * that does not parse, is an internal error.
 *
 * Each file is parsed once and kept per expanded path; every request
 * stat()s it and re-reads it when its inode, size or mtime changed, so
 * edits apply without a reload. Only existing files are cached, so their
 * number is bounded by what the admin created.
 *
 * `default_scheme` is the scheme of passwords stored without "{SCHEME}".
 * Dovecot's default is CRYPT (whatever crypt(3) reads); we default to
 * SHA512-CRYPT, the form such Dovecot files almost always hold, because an
 * open-ended "CRYPT" would also accept weak DES and MD5 hashes.
 */
#include "config.h"
#include "config-parser.h"
#include "module.h"
#include "auth-module.h"
#include "log.h"
#include "password-scheme.h"
#include "passwd-file-parse.h"
#include "var-expand.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define PASSWD_FILE_DEFAULT_SCHEME "SHA512-CRYPT"
/* The user name create() expands a template with, to find template
 * errors (unknown variables, "~" without a home) at startup. */
#define PASSWD_FILE_TRIAL_USER "user@example.org"

struct passwd_file_settings {
	const char *path;
	const char *default_scheme;
};

static const struct config_setting_def passwd_file_setting_defs[] = {
	{ "path", CONFIG_TYPE_STRING,
	  offsetof(struct passwd_file_settings, path), NULL, NULL },
	{ "default_scheme", CONFIG_TYPE_STRING,
	  offsetof(struct passwd_file_settings, default_scheme),
	  PASSWD_FILE_DEFAULT_SCHEME, NULL },
	{ NULL, 0, 0, NULL, NULL },
};

/* One parsed file. The node lives in the db's pool; the parsed table has
 * a pool of its own so that re-reading a changed file frees the old one
 * instead of growing the config pool forever. */
struct passwd_file_cached {
	struct passwd_file_cached *next;
	const char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	pool_t *pool;                 /* NULL when nothing is loaded */
	struct passwd_file_table *table;
	/* A real stored password from the file, "{SCHEME}"-prefixed, for
	 * password_verify_dummy(); NULL when the file has none. */
	const char *dummy_like;
};

struct passwd_file_db {
	pool_t *pool;
	const char *path;             /* the template */
	bool templated;
	const char *default_scheme;
	/* A few files (one per hosted domain): a linear walk costs less
	 * than the stat() each request makes anyway. */
	struct passwd_file_cached *files;
};

static void *passwd_file_create(pool_t *pool, const void *settings,
				struct error *err)
{
	const struct passwd_file_settings *set = settings;
	struct error sub;

	if (set->path == NULL || set->path[0] == '\0') {
		error_set(err, ERROR_INVALID,
			  "passwd-file: path is not set "
			  "(e.g. path = /etc/roost/%%{domain}.passwd)");
		return NULL;
	}
	const char *scheme = set->default_scheme != NULL ?
		set->default_scheme : PASSWD_FILE_DEFAULT_SCHEME;
	if (!password_scheme_is_known(scheme)) {
		char esc[128];
		error_set(err, ERROR_INVALID,
			  "passwd-file: unknown default_scheme '%s'",
			  log_escape(esc, sizeof(esc), scheme, strlen(scheme)));
		return NULL;
	}

	pool_t *trial_pool = pool_create();
	struct var_expand_input input = {
		.user = PASSWD_FILE_TRIAL_USER,
		.user_len = strlen(PASSWD_FILE_TRIAL_USER),
	};
	char *trial = var_expand(trial_pool, set->path, &input, &sub);
	pool_destroy(trial_pool);
	if (trial == NULL) {
		error_set(err, ERROR_INVALID, "passwd-file: path: %s",
			  sub.message);
		return NULL;
	}

	struct passwd_file_db *db = pool_alloc(pool, sizeof(*db));
	db->pool = pool;
	db->path = pool_strdup(pool, set->path);
	db->templated = strstr(set->path, "%{") != NULL;
	db->default_scheme = pool_strdup(pool, scheme);
	/* Unknown users in unhosted domains are verified against the
	 * default dummy: make it now, not during the first such login. */
	password_verify_dummy_prepare(NULL);
	return db;
}

/* The file for user, allocated from pool; -1 with err set when the user
 * name may not become part of a path. */
static int expand_path(struct passwd_file_db *db, pool_t *pool,
		       const char *user, const char **path_r,
		       struct error *err)
{
	struct var_expand_input input = {
		.user = user, .user_len = strlen(user),
	};
	struct error sub;

	*path_r = var_expand(pool, db->path, &input, &sub);
	if (*path_r == NULL) {
		error_set(err, ERROR_INVALID, "passwd-file: user refused: %s",
			  sub.message);
		return -1;
	}
	return 0;
}

static bool same_file(const struct passwd_file_cached *file,
		      const struct stat *st)
{
	return file->pool != NULL && file->dev == st->st_dev &&
		file->ino == st->st_ino && file->size == st->st_size &&
		file->mtime.tv_sec == st->st_mtim.tv_sec &&
		file->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void cached_drop(struct passwd_file_cached *file)
{
	if (file->pool != NULL)
		pool_destroy(file->pool);
	file->pool = NULL;
	file->table = NULL;
	file->dummy_like = NULL;
}

/* Reads all of fd (at most PASSWD_FILE_SIZE_MAX bytes) into a heap
 * buffer; size_hint is fstat()'s size. */
static char *read_all(int fd, const char *path, size_t size_hint,
		      size_t *size_r, struct error *err)
{
	/* One byte more than allowed, to notice a file that grew past it. */
	size_t cap = size_hint + 1;
	size_t len = 0;
	char *data = xmalloc(cap);

	for (;;) {
		if (len == cap) {
			if (cap > PASSWD_FILE_SIZE_MAX)
				break;
			char *bigger = xmalloc(cap * 2);
			memcpy(bigger, data, len);
			sodium_memzero(data, len);
			free(data);
			data = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, data + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_set_errno(err, "passwd-file: read(%s) failed",
					path);
			sodium_memzero(data, len);
			free(data);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > PASSWD_FILE_SIZE_MAX) {
		error_set(err, ERROR_INVALID,
			  "passwd-file: %s: larger than %u bytes", path,
			  PASSWD_FILE_SIZE_MAX);
		sodium_memzero(data, len);
		free(data);
		return NULL;
	}
	*size_r = len;
	return data;
}

static const char *find_dummy_like(struct passwd_file_db *db, pool_t *pool,
				   const struct passwd_file_table *table)
{
	for (unsigned i = 0; i < table->count; i++) {
		const char *pw = table->entries[i].password;
		if (pw[0] == '\0')
			continue;
		if (pw[0] == '{' && strchr(pw, '}') != NULL)
			return pw;
		return pool_printf(pool, "{%s}%s", db->default_scheme, pw);
	}
	return NULL;
}

/* (Re)loads file from path. Returns 1 loaded, 0 when a templated path
 * names no file, -1 with err set. */
static int cached_load(struct passwd_file_db *db,
		       struct passwd_file_cached *file, struct error *err)
{
	int fd = open(file->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (db->templated && (errno == ENOENT || errno == ENOTDIR))
			return 0;
		error_set_errno(err, "passwd-file: open(%s) failed",
				file->path);
		return -1;
	}

	struct stat st;
	char *data = NULL;
	size_t size = 0;
	if (fstat(fd, &st) < 0) {
		error_set_errno(err, "passwd-file: fstat(%s) failed",
				file->path);
	} else if (!S_ISREG(st.st_mode)) {
		error_set(err, ERROR_INVALID,
			  "passwd-file: %s is not a regular file", file->path);
	} else if ((unsigned long long)st.st_size > PASSWD_FILE_SIZE_MAX) {
		error_set(err, ERROR_INVALID,
			  "passwd-file: %s: larger than %u bytes", file->path,
			  PASSWD_FILE_SIZE_MAX);
	} else {
		data = read_all(fd, file->path, (size_t)st.st_size, &size,
				err);
	}
	close(fd);
	if (data == NULL)
		return -1;

	pool_t *pool = pool_create();
	struct passwd_file_table *table =
		passwd_file_parse(pool, file->path, data, size, err);
	/* The file may hold PLAIN passwords. */
	sodium_memzero(data, size);
	free(data);
	if (table == NULL) {
		pool_destroy(pool);
		return -1;
	}

	file->pool = pool;
	file->table = table;
	file->dev = st.st_dev;
	file->ino = st.st_ino;
	file->size = st.st_size;
	file->mtime = st.st_mtim;
	file->dummy_like = find_dummy_like(db, pool, table);
	password_verify_dummy_prepare(file->dummy_like);
	return 1;
}

/* The parsed file at path, re-read when it changed. Returns 1 with
 * *file_r set, 0 when a templated path names no file, -1 with err set. */
static int file_get(struct passwd_file_db *db, const char *path,
		    struct passwd_file_cached **file_r, struct error *err)
{
	struct passwd_file_cached *file;
	struct stat st;

	for (file = db->files; file != NULL; file = file->next) {
		if (strcmp(file->path, path) == 0)
			break;
	}

	if (stat(path, &st) < 0) {
		if (file != NULL)
			cached_drop(file);
		if (db->templated && (errno == ENOENT || errno == ENOTDIR))
			return 0;
		error_set_errno(err, "passwd-file: stat(%s) failed", path);
		return -1;
	}
	if (file != NULL && same_file(file, &st)) {
		*file_r = file;
		return 1;
	}

	if (file == NULL) {
		file = pool_alloc(db->pool, sizeof(*file));
		file->path = pool_strdup(db->pool, path);
		file->next = db->files;
		db->files = file;
	}
	/* Never answer from stale data: a user removed from the file must
	 * not keep logging in because the new version has an error. */
	cached_drop(file);
	int ret = cached_load(db, file, err);
	if (ret > 0)
		*file_r = file;
	return ret;
}

/* Copies entry's fields into fields (overriding what is there). Returns
 * -1 with err set when the extra fields do not fit. */
static int fields_apply(pool_t *pool, const struct passwd_file_cached *file,
			const struct passwd_file_entry *entry,
			struct auth_user_fields *fields, struct error *err)
{
	if (fields->user == NULL)
		fields->user = pool_strdup(pool, entry->user);
	if (entry->uid_set) {
		fields->uid_set = true;
		fields->uid = entry->uid;
	}
	if (entry->gid_set) {
		fields->gid_set = true;
		fields->gid = entry->gid;
	}
	if (entry->home != NULL)
		fields->home = pool_strdup(pool, entry->home);
	if (entry->mail != NULL)
		fields->mail = pool_strdup(pool, entry->mail);
	if (entry->nologin)
		fields->nologin = true;
	for (unsigned i = 0; i < entry->extra_count; i++) {
		if (auth_user_fields_set_extra(fields,
				pool_strdup(pool, entry->extra_keys[i]),
				pool_strdup(pool, entry->extra_values[i])) < 0) {
			error_set(err, ERROR_PERM,
				  "passwd-file: %s:%u: more than %u extra "
				  "fields together with the passdb's",
				  file->path, entry->line,
				  AUTH_EXTRA_FIELDS_MAX);
			return -1;
		}
	}
	return 0;
}

static enum passdb_result
passwd_file_verify_plain(void *context, pool_t *request_pool,
			 const char *user, const char *password,
			 struct auth_user_fields *fields_r, struct error *err)
{
	struct passwd_file_db *db = context;
	struct passwd_file_cached *file;
	const char *path;
	struct error sub;

	if (expand_path(db, request_pool, user, &path, err) < 0) {
		password_verify_dummy(NULL, password);
		return PASSDB_USER_UNKNOWN;
	}
	int ret = file_get(db, path, &file, err);
	if (ret < 0)
		return PASSDB_INTERNAL_ERROR;
	if (ret == 0) {
		password_verify_dummy(NULL, password);
		return PASSDB_USER_UNKNOWN;
	}

	const struct passwd_file_entry *entry =
		passwd_file_lookup(file->table, user);
	if (entry == NULL) {
		password_verify_dummy(file->dummy_like, password);
		return PASSDB_USER_UNKNOWN;
	}
	/* No password: a userdb-only entry; nobody logs in with it. */
	if (entry->password[0] == '\0') {
		password_verify_dummy(file->dummy_like, password);
		return PASSDB_PASSWORD_MISMATCH;
	}

	switch (password_verify(entry->password, password, db->default_scheme,
				&sub)) {
	case 1:
		break;
	case 0:
		return PASSDB_PASSWORD_MISMATCH;
	default:
		error_set(err, sub.kind, "passwd-file: %s:%u: %s", file->path,
			  entry->line, sub.message);
		return PASSDB_INTERNAL_ERROR;
	}

	auth_user_fields_init(fields_r, NULL);
	if (fields_apply(request_pool, file, entry, fields_r, err) < 0)
		return PASSDB_INTERNAL_ERROR;
	return PASSDB_OK;
}

/* The stored password for CRAM-MD5, SCRAM and APOP (auth-module.h). An
 * entry without a password is a userdb-only entry: nobody logs in with
 * it, so it is no passdb user here. */
static enum passdb_result
passwd_file_lookup_credentials(void *context, pool_t *request_pool,
			       const char *user, const char **stored_r,
			       struct auth_user_fields *fields_r,
			       struct error *err)
{
	struct passwd_file_db *db = context;
	struct passwd_file_cached *file;
	const char *path;

	if (expand_path(db, request_pool, user, &path, err) < 0)
		return PASSDB_USER_UNKNOWN;
	int ret = file_get(db, path, &file, err);
	if (ret < 0)
		return PASSDB_INTERNAL_ERROR;
	if (ret == 0)
		return PASSDB_USER_UNKNOWN;
	const struct passwd_file_entry *entry =
		passwd_file_lookup(file->table, user);
	if (entry == NULL || entry->password[0] == '\0')
		return PASSDB_USER_UNKNOWN;

	const char *pw = entry->password;
	if (pw[0] == '{' && strchr(pw, '}') != NULL)
		*stored_r = pool_strdup(request_pool, pw);
	else
		*stored_r = pool_printf(request_pool, "{%s}%s",
					db->default_scheme, pw);
	auth_user_fields_init(fields_r, NULL);
	if (fields_apply(request_pool, file, entry, fields_r, err) < 0)
		return PASSDB_INTERNAL_ERROR;
	return PASSDB_OK;
}

static int passwd_file_lookup_user(void *context, pool_t *request_pool,
				   const char *user,
				   struct auth_user_fields *fields,
				   struct error *err)
{
	struct passwd_file_db *db = context;
	struct passwd_file_cached *file;
	const char *path;

	if (expand_path(db, request_pool, user, &path, err) < 0)
		return 0;
	int ret = file_get(db, path, &file, err);
	if (ret <= 0)
		return ret;
	const struct passwd_file_entry *entry =
		passwd_file_lookup(file->table, user);
	if (entry == NULL)
		return 0;
	if (fields_apply(request_pool, file, entry, fields, err) < 0)
		return -1;
	return 1;
}

/* The parsed tables have pools of their own; the db's pool does not own
 * them. */
static void passwd_file_destroy(void *context)
{
	struct passwd_file_db *db = context;
	for (struct passwd_file_cached *f = db->files; f != NULL; f = f->next) {
		if (f->pool != NULL)
			pool_destroy(f->pool);
		f->pool = NULL;
		f->table = NULL;
	}
}

static const struct passdb_ops passwd_file_passdb = {
	.create = passwd_file_create,
	.verify_plain = passwd_file_verify_plain,
	.destroy = passwd_file_destroy,
	.lookup_credentials = passwd_file_lookup_credentials,
};

static const struct userdb_ops passwd_file_userdb = {
	.create = passwd_file_create,
	.lookup = passwd_file_lookup_user,
	.destroy = passwd_file_destroy,
};

static const struct auth_module_ops passwd_file_ops = {
	.passdb = &passwd_file_passdb,
	.userdb = &passwd_file_userdb,
};

ROOST_MODULE(.kind = MODULE_KIND_AUTH, .name = "passwd-file",
	     .settings = passwd_file_setting_defs,
	     .settings_size = sizeof(struct passwd_file_settings),
	     .ops = &passwd_file_ops);
