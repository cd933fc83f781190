/*
 * The passwd-file parser on crafted input, the passwd-file module through
 * its passdb/userdb ops (passwd-file.c is linked in) on temporary files,
 * and the static userdb module loaded from the build tree like the auth
 * process loads it.
 */
#include "config.h"
#include "config-parser.h"
#include "auth-module.h"
#include "module.h"
#include "password-scheme.h"
#include "passwd-file/passwd-file-parse.h"

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* passwd-file.c's descriptor, linked into this program. */
extern const struct roost_module roost_module;

#define TEST_FILE "test.passwd"

/* Drepper's SHA-crypt test vector for "Hello world!". */
#define SHA512_HELLO \
	"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQ" \
	"JuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"

static pool_t *pool;
static struct error err;

static void pool_setup(void)
{
	pool = pool_create();
	error_clear(&err);
}

/* Instances made by pwf_create(), destroyed before their pool. */
#define TEST_DBS_MAX 64
static void *test_dbs[TEST_DBS_MAX];
static unsigned test_dbs_count;
static const struct auth_module_ops *pwf_ops(void);

static void pool_teardown(void)
{
	while (test_dbs_count > 0)
		pwf_ops()->passdb->destroy(test_dbs[--test_dbs_count]);
	pool_destroy(pool);
}

static struct passwd_file_table *parse(const char *text)
{
	return passwd_file_parse(pool, TEST_FILE, text, strlen(text), &err);
}

/* Asserts that text fails to parse with a message starting "FILE:LINE:"
 * and containing what. */
static void assert_parse_error(const char *text, unsigned line,
			       const char *what)
{
	char prefix[64];

	error_clear(&err);
	ck_assert_ptr_null(parse(text));
	snprintf(prefix, sizeof(prefix), TEST_FILE ":%u: ", line);
	ck_assert_msg(strncmp(err.message, prefix, strlen(prefix)) == 0,
		      "'%s' does not start with '%s'", err.message, prefix);
	ck_assert_msg(strstr(err.message, what) != NULL,
		      "'%s' does not mention '%s'", err.message, what);
	ck_assert_int_eq(err.kind, ERROR_INVALID);
}

static const char *extra(const struct passwd_file_entry *e, const char *key)
{
	for (unsigned i = 0; i < e->extra_count; i++) {
		if (strcmp(e->extra_keys[i], key) == 0)
			return e->extra_values[i];
	}
	return NULL;
}

/* ---- parser ---- */

START_TEST(parse_full_line)
{
	struct passwd_file_table *t = parse(
		"alice:{PLAIN}pw:1000:1001:Alice A.:/home/alice:/bin/sh:"
		"userdb_mail=maildir:~/Mail quota=1G  allow_nets=10.0.0.0/8"
		" nopassword\n");
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->count, 1);
	const struct passwd_file_entry *e = passwd_file_lookup(t, "alice");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->user, "alice");
	ck_assert_str_eq(e->password, "{PLAIN}pw");
	ck_assert(e->uid_set && e->gid_set);
	ck_assert_uint_eq(e->uid, 1000);
	ck_assert_uint_eq(e->gid, 1001);
	ck_assert_str_eq(e->home, "/home/alice");
	ck_assert_str_eq(e->mail, "maildir:~/Mail");
	ck_assert(!e->nologin);
	ck_assert_uint_eq(e->extra_count, 3);
	ck_assert_str_eq(extra(e, "quota"), "1G");
	ck_assert_str_eq(extra(e, "allow_nets"), "10.0.0.0/8");
	ck_assert_str_eq(extra(e, "nopassword"), "");
	ck_assert_uint_eq(e->line, 1);
}
END_TEST

START_TEST(parse_optional_fields)
{
	struct passwd_file_table *t = parse(
		"bob:secret\n"
		"carol:x::::::\n"
		"dave:\n");
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->count, 3);
	const struct passwd_file_entry *e = passwd_file_lookup(t, "bob");
	ck_assert_str_eq(e->password, "secret");
	ck_assert(!e->uid_set && !e->gid_set);
	ck_assert_ptr_null(e->home);
	ck_assert_ptr_null(e->mail);
	ck_assert_uint_eq(e->extra_count, 0);
	e = passwd_file_lookup(t, "carol");
	ck_assert_str_eq(e->password, "x");
	ck_assert(!e->uid_set);
	ck_assert_ptr_null(e->home);
	e = passwd_file_lookup(t, "dave");
	ck_assert_str_eq(e->password, "");
	ck_assert_uint_eq(e->line, 3);
}
END_TEST

START_TEST(parse_comments_blank_crlf)
{
	struct passwd_file_table *t = parse(
		"# users of example.org\n"
		"\n"
		"   \n"
		"  # indented comment\n"
		"a@example.org:pa\r\n"
		"b@example.org:pb");   /* no final newline */
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->count, 2);
	ck_assert_str_eq(passwd_file_lookup(t, "a@example.org")->password, "pa");
	ck_assert_uint_eq(passwd_file_lookup(t, "a@example.org")->line, 5);
	ck_assert_str_eq(passwd_file_lookup(t, "b@example.org")->password, "pb");
	ck_assert_uint_eq(passwd_file_lookup(t, "b@example.org")->line, 6);

	t = parse("");
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->count, 0);
	ck_assert_ptr_null(passwd_file_lookup(t, "a"));
}
END_TEST

START_TEST(parse_userdb_overrides)
{
	struct passwd_file_table *t = parse(
		"u:p:1000:1000::/home/u::uid=2000 userdb_gid=3000 "
		"userdb_home=/srv/u mail=mbox:~/mail nologin userdb_quota=5M "
		"quota=6M\n"
		"v:p:::::: home= userdb_nologin\n");
	ck_assert_ptr_nonnull(t);
	const struct passwd_file_entry *e = passwd_file_lookup(t, "u");
	ck_assert_uint_eq(e->uid, 2000);
	ck_assert_uint_eq(e->gid, 3000);
	ck_assert_str_eq(e->home, "/srv/u");
	ck_assert_str_eq(e->mail, "mbox:~/mail");
	ck_assert(e->nologin);
	/* userdb_quota and quota are the same field; the last one wins. */
	ck_assert_uint_eq(e->extra_count, 1);
	ck_assert_str_eq(extra(e, "quota"), "6M");
	e = passwd_file_lookup(t, "v");
	ck_assert_ptr_null(e->home);
	ck_assert(e->nologin);
	ck_assert(!e->uid_set);
}
END_TEST

START_TEST(parse_named_ids)
{
	struct passwd_file_table *t = parse("r:p:root:root\n"
					    "s:p:0:0::::uid=root gid=root\n");
	ck_assert_ptr_nonnull(t);
	const struct passwd_file_entry *e = passwd_file_lookup(t, "r");
	ck_assert(e->uid_set && e->gid_set);
	ck_assert_uint_eq(e->uid, 0);
	ck_assert_uint_eq(e->gid, 0);

	assert_parse_error("a:p:1:1\nb:p:no-such-user-roost:1\n", 2,
			   "unknown user 'no-such-user-roost'");
	assert_parse_error("a:p:1:no-such-group-roost\n", 1,
			   "unknown group 'no-such-group-roost'");
	assert_parse_error("a:p:1:1::::uid=no-such-user-roost\n", 1,
			   "no-such-user-roost");
	assert_parse_error("a:p:4294967295:1\n", 1, "out of range");
	assert_parse_error("a:p:99999999999:1\n", 1, "out of range");
	assert_parse_error("a:p:1:::::uid=\n", 1, "empty uid");
}
END_TEST

START_TEST(parse_field_count_errors)
{
	/* Too few: no password field at all. */
	assert_parse_error("# c\nalice\n", 2, "no password field");
	assert_parse_error(":pw\n", 1, "empty user name");
	/* Too many: extra fields run to the end of the line, so a stray
	 * ninth ':' field shows up as an extra field that is no key. */
	assert_parse_error("a:p:1:1:g:/h:/sh:x:y\n", 1, "invalid extra field");
	assert_parse_error("a:p:1:1:g:/h:/sh:=v\n", 1, "invalid extra field");
	assert_parse_error("a:p::::::userdb_\n", 1, "invalid extra field");
}
END_TEST

START_TEST(parse_duplicate_user)
{
	assert_parse_error("alice:a\nbob:b\n\nalice:c\n", 4,
			   "duplicate user 'alice' (first on line 1)");
	/* Exact names: case matters. */
	struct passwd_file_table *t = parse("alice:a\nAlice:b\n");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(passwd_file_lookup(t, "Alice")->password, "b");
	ck_assert_ptr_null(passwd_file_lookup(t, "ALICE"));
	ck_assert_ptr_null(passwd_file_lookup(t, "alic"));
	ck_assert_ptr_null(passwd_file_lookup(t, "alice "));
}
END_TEST

START_TEST(parse_invalid_bytes)
{
	static const char with_nul[] = "a:p\nb:p\0x\nc:p\n";

	error_clear(&err);
	ck_assert_ptr_null(passwd_file_parse(pool, TEST_FILE, with_nul,
					     sizeof(with_nul) - 1, &err));
	ck_assert_str_eq(err.message, TEST_FILE ":2: line contains a NUL byte");
	assert_parse_error("a:p\x01q\n", 1, "control byte 0x01");
	assert_parse_error("a:p\n\nb:p\x1b[2J\n", 3, "control byte 0x1b");
	/* Tabs are blanks between extra fields. */
	struct passwd_file_table *t = parse("a:p::::::x=1\ty=2\n");
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(passwd_file_lookup(t, "a")->extra_count, 2);
}
END_TEST

START_TEST(parse_limits)
{
	size_t len = PASSWD_FILE_LINE_MAX + 10;
	char *text = malloc(len + 16);
	strcpy(text, "a:p\nb:");
	memset(text + 6, 'x', len);
	strcpy(text + 6 + len, "\n");
	assert_parse_error(text, 2, "longer than");
	/* Exactly the limit is fine. */
	memset(text, 'y', PASSWD_FILE_LINE_MAX);
	memcpy(text, "c:", 2);
	text[PASSWD_FILE_LINE_MAX] = '\0';
	ck_assert_ptr_nonnull(parse(text));
	free(text);

	/* More extra fields than struct auth_user_fields can carry. */
	char fields[AUTH_EXTRA_FIELDS_MAX * 8 + 64] = "a:p::::::";
	for (unsigned i = 0; i <= AUTH_EXTRA_FIELDS_MAX; i++) {
		char one[16];
		snprintf(one, sizeof(one), " k%u=v", i);
		strcat(fields, one);
	}
	assert_parse_error(fields, 1, "more than");

	/* The size cap is checked before anything is read. */
	char *big = calloc(1, (size_t)PASSWD_FILE_SIZE_MAX + 1);
	ck_assert_ptr_nonnull(big);
	error_clear(&err);
	ck_assert_ptr_null(passwd_file_parse(pool, TEST_FILE, big,
					     (size_t)PASSWD_FILE_SIZE_MAX + 1,
					     &err));
	ck_assert_ptr_nonnull(strstr(err.message, "larger than"));
	free(big);
}
END_TEST

START_TEST(parse_many_users)
{
	/* Enough to exercise index growth and probing. */
	enum { USERS = 5000 };
	char *text = malloc((size_t)USERS * 32);
	size_t off = 0;
	for (unsigned i = 0; i < USERS; i++)
		off += (size_t)sprintf(text + off, "user%u@d:{PLAIN}p%u:%u\n",
				       i, i, 1000 + i);
	struct passwd_file_table *t = passwd_file_parse(pool, TEST_FILE, text,
							off, &err);
	free(text);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->count, USERS);
	for (unsigned i = 0; i < USERS; i++) {
		char name[32], pw[32];
		snprintf(name, sizeof(name), "user%u@d", i);
		snprintf(pw, sizeof(pw), "{PLAIN}p%u", i);
		const struct passwd_file_entry *e = passwd_file_lookup(t, name);
		ck_assert_ptr_nonnull(e);
		ck_assert_str_eq(e->password, pw);
		ck_assert_uint_eq(e->uid, 1000 + i);
		ck_assert_uint_eq(e->line, i + 1);
	}
	ck_assert_ptr_null(passwd_file_lookup(t, "user5000@d"));
}
END_TEST

/* ---- the module, through its ops ---- */

static char tmpdir[PATH_MAX];

static void dir_setup(void)
{
	pool_setup();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/roost-test-passwd-file-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void dir_teardown(void)
{
	char cmd[PATH_MAX + 16];
	/* tmpdir is ours and made by mkdtemp: no shell metacharacters. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	pool_teardown();
}

static const char *tmp_path(const char *name)
{
	return pool_printf(pool, "%s/%s", tmpdir, name);
}

static void write_file(const char *name, const char *text)
{
	const char *path = tmp_path(name);
	char *tmp = pool_printf(pool, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	/* A new inode, as an editor or a `mv` would make. */
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* Fills a module's settings struct from key/value pairs the way the
 * config loader does, with config_apply(). */
static void *module_settings(const struct roost_module *mod,
			     const char *const *pairs)
{
	struct config_setting settings[8];
	struct config_section sec = {
		.type = "passdb", .name = mod->name, .file = "test.conf",
		.settings = settings,
	};
	for (; pairs[0] != NULL; pairs += 2) {
		unsigned i = sec.settings_count++;
		ck_assert_uint_lt(i, 8);
		settings[i] = (struct config_setting){
			.key = pairs[0], .value = pairs[1],
			.file = "test.conf", .line = i + 1,
		};
	}
	void *target = pool_alloc(pool, mod->settings_size);
	ck_assert_msg(config_apply(mod->settings, &sec, target, pool, &err) == 0,
		      "%s", err.message);
	return target;
}

static const struct auth_module_ops *pwf_ops(void)
{
	ck_assert_int_eq(roost_module.kind, MODULE_KIND_AUTH);
	ck_assert_str_eq(roost_module.name, "passwd-file");
	return roost_module.ops;
}

static void *pwf_create(const char *path, const char *default_scheme)
{
	const char *pairs[] = { "path", path, "default_scheme", default_scheme,
				NULL, NULL };
	if (default_scheme == NULL)
		pairs[2] = NULL;
	if (path == NULL)
		pairs[0] = NULL;
	void *settings = module_settings(&roost_module, pairs);
	void *db = pwf_ops()->passdb->create(pool, settings, &err);
	if (db != NULL && test_dbs_count < TEST_DBS_MAX)
		test_dbs[test_dbs_count++] = db;
	return db;
}

static enum passdb_result pwf_verify(void *db, const char *user,
				     const char *password,
				     struct auth_user_fields *fields)
{
	error_clear(&err);
	return pwf_ops()->passdb->verify_plain(db, pool, user, password,
					       fields, &err);
}

static int pwf_lookup(void *db, const char *user,
		      struct auth_user_fields *fields)
{
	error_clear(&err);
	auth_user_fields_init(fields, NULL);
	return pwf_ops()->userdb->lookup(db, pool, user, fields, &err);
}

static const char *field_extra(const struct auth_user_fields *f,
			       const char *key)
{
	for (unsigned i = 0; i < f->extra_count; i++) {
		if (strcmp(f->extra_keys[i], key) == 0)
			return f->extra_values[i];
	}
	return NULL;
}

START_TEST(module_create_errors)
{
	ck_assert_ptr_nonnull(roost_module.settings);
	ck_assert_ptr_nonnull(pwf_ops()->passdb);
	ck_assert_ptr_nonnull(pwf_ops()->userdb);

	ck_assert_ptr_null(pwf_create(NULL, NULL));
	ck_assert_ptr_nonnull(strstr(err.message, "path is not set"));

	error_clear(&err);
	ck_assert_ptr_null(pwf_create("/x", "MD4"));
	ck_assert_ptr_nonnull(strstr(err.message, "default_scheme 'MD4'"));

	error_clear(&err);
	ck_assert_ptr_null(pwf_create("/etc/%{nosuchvar}.passwd", NULL));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.message, "path"));

	error_clear(&err);
	ck_assert_ptr_nonnull(pwf_create("/x/%{domain}/passwd", "blf-crypt"));
}
END_TEST

START_TEST(module_fixed_path)
{
	struct auth_user_fields f;
	write_file("users",
		   "alice@example.org:{PLAIN}wonder:1000:1000::/home/alice::"
		   "userdb_mail=maildir:~/Mail quota=1G\n"
		   "bob@example.org:" SHA512_HELLO ":1001:1001\n"
		   "nopw@example.org::1002:1002::/home/nopw\n"
		   "broken@example.org:{ARGON2ID}junk\n");
	/* The default scheme (SHA512-CRYPT) reads bob's bare hash. */
	void *db = pwf_create(tmp_path("users"), NULL);
	ck_assert_msg(db != NULL, "%s", err.message);

	ck_assert_int_eq(pwf_verify(db, "alice@example.org", "wonder", &f),
			 PASSDB_OK);
	ck_assert_str_eq(f.user, "alice@example.org");
	ck_assert(f.uid_set && f.gid_set);
	ck_assert_uint_eq(f.uid, 1000);
	ck_assert_str_eq(f.home, "/home/alice");
	ck_assert_str_eq(f.mail, "maildir:~/Mail");
	ck_assert_str_eq(field_extra(&f, "quota"), "1G");

	ck_assert_int_eq(pwf_verify(db, "alice@example.org", "Wonder", &f),
			 PASSDB_PASSWORD_MISMATCH);
	ck_assert_int_eq(pwf_verify(db, "bob@example.org", "Hello world!", &f),
			 PASSDB_OK);
	ck_assert_uint_eq(f.uid, 1001);
	ck_assert_int_eq(pwf_verify(db, "bob@example.org", "hello", &f),
			 PASSDB_PASSWORD_MISMATCH);
	ck_assert_int_eq(pwf_verify(db, "carol@example.org", "x", &f),
			 PASSDB_USER_UNKNOWN);
	ck_assert_int_eq(pwf_verify(db, "ALICE@example.org", "wonder", &f),
			 PASSDB_USER_UNKNOWN);
	/* No password: userdb-only, never a login. */
	ck_assert_int_eq(pwf_verify(db, "nopw@example.org", "", &f),
			 PASSDB_PASSWORD_MISMATCH);
	/* A broken hash is the admin's problem, named by file:line. */
	ck_assert_int_eq(pwf_verify(db, "broken@example.org", "x", &f),
			 PASSDB_INTERNAL_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, "users:4:"));
	ck_assert_ptr_nonnull(strstr(err.message, "ARGON2ID"));

	ck_assert_int_eq(pwf_lookup(db, "nopw@example.org", &f), 1);
	ck_assert_str_eq(f.home, "/home/nopw");
	ck_assert_uint_eq(f.gid, 1002);
	ck_assert_int_eq(pwf_lookup(db, "carol@example.org", &f), 0);

	/* userdb fields override what the passdb gave. */
	auth_user_fields_init(&f, "alice@example.org");
	f.home = "/elsewhere";
	f.uid_set = true;
	f.uid = 5;
	ck_assert_int_eq(pwf_ops()->userdb->lookup(db, pool, "alice@example.org",
						   &f, &err), 1);
	ck_assert_str_eq(f.home, "/home/alice");
	ck_assert_uint_eq(f.uid, 1000);
}
END_TEST

START_TEST(module_lookup_credentials)
{
	struct auth_user_fields f;
	const char *stored = NULL;
	write_file("creds",
		   "alice:{PLAIN}wonder:1000:1000::/home/alice::quota=1G\n"
		   "bob:" SHA512_HELLO ":1001:1001\n"
		   "nopw::1002:1002::/home/nopw\n");
	void *db = pwf_create(tmp_path("creds"), NULL);
	ck_assert_msg(db != NULL, "%s", err.message);
	const struct passdb_ops *ops = pwf_ops()->passdb;
	ck_assert_ptr_nonnull(ops->lookup_credentials);

	ck_assert_int_eq(ops->lookup_credentials(db, pool, "alice", &stored, &f, &err),
			 PASSDB_OK);
	ck_assert_str_eq(stored, "{PLAIN}wonder");
	ck_assert_str_eq(f.user, "alice");
	ck_assert_str_eq(f.home, "/home/alice");
	ck_assert_str_eq(field_extra(&f, "quota"), "1G");
	/* A bare hash gets the default scheme. */
	ck_assert_int_eq(ops->lookup_credentials(db, pool, "bob", &stored, &f, &err),
			 PASSDB_OK);
	ck_assert_str_eq(stored, "{SHA512-CRYPT}" SHA512_HELLO);
	/* No password: a userdb-only entry is no passdb user. */
	ck_assert_int_eq(ops->lookup_credentials(db, pool, "nopw", &stored, &f, &err),
			 PASSDB_USER_UNKNOWN);
	ck_assert_int_eq(ops->lookup_credentials(db, pool, "carol", &stored, &f, &err),
			 PASSDB_USER_UNKNOWN);
}
END_TEST

START_TEST(module_reloads_changed_file)
{
	struct auth_user_fields f;
	write_file("users", "a:{PLAIN}one\n");
	void *db = pwf_create(tmp_path("users"), "PLAIN");
	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(pwf_verify(db, "a", "one", &f), PASSDB_OK);

	/* Same size, new inode. */
	write_file("users", "a:{PLAIN}two\n");
	ck_assert_int_eq(pwf_verify(db, "a", "one", &f),
			 PASSDB_PASSWORD_MISMATCH);
	ck_assert_int_eq(pwf_verify(db, "a", "two", &f), PASSDB_OK);

	/* Rewritten in place: same inode and size, new mtime. */
	const char *path = tmp_path("users");
	int fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "a:{PLAIN}six\n", 13, 0), 13);
	struct timespec times[2] = { { 0, UTIME_OMIT }, { 1000000000, 0 } };
	ck_assert_int_eq(futimens(fd, times), 0);
	close(fd);
	ck_assert_int_eq(pwf_verify(db, "a", "six", &f), PASSDB_OK);

	/* A broken new version is an error, not the stale old data. */
	write_file("users", "a:{PLAIN}six\na:{PLAIN}dup\n");
	ck_assert_int_eq(pwf_verify(db, "a", "six", &f), PASSDB_INTERNAL_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, "users:2: duplicate user"));

	/* A vanished fixed file is an error too. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(pwf_verify(db, "a", "six", &f), PASSDB_INTERNAL_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, path));
	ck_assert_int_eq(pwf_lookup(db, "a", &f), -1);
}
END_TEST

START_TEST(module_templated_path)
{
	struct auth_user_fields f;
	write_file("example.org.passwd", "u@example.org:{PLAIN}pw::::/h/u\n");
	void *db = pwf_create(pool_printf(pool, "%s/%%{domain}.passwd",
					  tmpdir), NULL);
	ck_assert_ptr_nonnull(db);

	ck_assert_int_eq(pwf_verify(db, "u@example.org", "pw", &f), PASSDB_OK);
	ck_assert_str_eq(f.home, "/h/u");
	ck_assert_int_eq(pwf_verify(db, "v@example.org", "pw", &f),
			 PASSDB_USER_UNKNOWN);
	/* A domain without a file is not hosted here. */
	ck_assert_int_eq(pwf_verify(db, "u@example.net", "pw", &f),
			 PASSDB_USER_UNKNOWN);
	ck_assert_int_eq(pwf_lookup(db, "u@example.net", &f), 0);
	/* Names that would leave the directory are unknown users, with the
	 * reason left in err for the log. */
	ck_assert_int_eq(pwf_verify(db, "u@../example.org", "pw", &f),
			 PASSDB_USER_UNKNOWN);
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_int_eq(pwf_verify(db, "u@x/y", "pw", &f),
			 PASSDB_USER_UNKNOWN);
	ck_assert_int_eq(pwf_verify(db, "nodomain", "pw", &f),
			 PASSDB_USER_UNKNOWN);
	ck_assert_int_eq(pwf_lookup(db, "u@..", &f), 0);
	ck_assert_int_eq(pwf_lookup(db, "u@example.org", &f), 1);

	/* A file that does not parse is an error even when templated. */
	write_file("bad.org.passwd", "ok:x\nnocolon\n");
	ck_assert_int_eq(pwf_verify(db, "ok@bad.org", "x", &f),
			 PASSDB_INTERNAL_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, "bad.org.passwd:2:"));
}
END_TEST

/* ---- the static userdb, loaded as a module ---- */

static const struct roost_module *static_module(void)
{
	const struct roost_module *mod =
		module_load(BUILD_MODULE_DIR, MODULE_KIND_AUTH, "static", &err);
	ck_assert_msg(mod != NULL, "%s", err.message);
	ck_assert_int_eq(module_init(mod, &err), 0);
	return mod;
}

static void *static_create(const char *const *pairs)
{
	const struct roost_module *mod = static_module();
	const struct auth_module_ops *ops = mod->ops;
	ck_assert_ptr_null(ops->passdb);
	error_clear(&err);
	return ops->userdb->create(pool, module_settings(mod, pairs), &err);
}

static int static_lookup(void *db, const char *user,
			 struct auth_user_fields *fields)
{
	const struct auth_module_ops *ops = static_module()->ops;
	error_clear(&err);
	return ops->userdb->lookup(db, pool, user, fields, &err);
}

START_TEST(static_userdb)
{
	static const char *const pairs[] = {
		"uid", "root", "gid", "4242",
		"home", "/var/vmail/%{domain}/%{username}",
		"mail", "maildir:%{home}/Maildir", NULL, NULL,
	};
	struct auth_user_fields f;
	void *db = static_create(pairs);
	ck_assert_msg(db != NULL, "%s", err.message);

	auth_user_fields_init(&f, NULL);
	ck_assert_int_eq(static_lookup(db, "jo@example.org", &f), 1);
	ck_assert_str_eq(f.user, "jo@example.org");
	ck_assert(f.uid_set && f.gid_set);
	ck_assert_uint_eq(f.uid, 0);
	ck_assert_uint_eq(f.gid, 4242);
	ck_assert_str_eq(f.home, "/var/vmail/example.org/jo");
	ck_assert_str_eq(f.mail, "maildir:/var/vmail/example.org/jo/Maildir");

	/* Refused expansion: an error, and the fields are untouched. */
	auth_user_fields_init(&f, NULL);
	ck_assert_int_eq(static_lookup(db, "jo@../etc", &f), -1);
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_ptr_null(f.home);
	ck_assert(!f.uid_set);
}
END_TEST

START_TEST(static_userdb_minimal_and_errors)
{
	static const char *const only_ids[] = { "uid", "1", "gid", "2",
						NULL, NULL };
	static const char *const bad_uid[] = { "uid", "no-such-user-roost",
					       NULL, NULL };
	static const char *const bad_gid[] = { "gid", "no-such-group-roost",
					       NULL, NULL };
	static const char *const bad_home[] = { "home", "/v/%{nosuch}",
						NULL, NULL };
	struct auth_user_fields f;

	void *db = static_create(only_ids);
	ck_assert_ptr_nonnull(db);
	auth_user_fields_init(&f, "x");
	f.home = "/from/passdb";
	ck_assert_int_eq(static_lookup(db, "x", &f), 1);
	ck_assert_str_eq(f.home, "/from/passdb");
	ck_assert_uint_eq(f.uid, 1);

	ck_assert_ptr_null(static_create(bad_uid));
	ck_assert_ptr_nonnull(strstr(err.message, "no-such-user-roost"));
	ck_assert_ptr_null(static_create(bad_gid));
	ck_assert_ptr_nonnull(strstr(err.message, "no-such-group-roost"));
	ck_assert_ptr_null(static_create(bad_home));
	ck_assert_ptr_nonnull(strstr(err.message, "home"));
}
END_TEST

static Suite *passwd_file_suite(void)
{
	Suite *s = suite_create("passwd-file");
	TCase *tc = tcase_create("parser");
	tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
	tcase_add_test(tc, parse_full_line);
	tcase_add_test(tc, parse_optional_fields);
	tcase_add_test(tc, parse_comments_blank_crlf);
	tcase_add_test(tc, parse_userdb_overrides);
	tcase_add_test(tc, parse_named_ids);
	tcase_add_test(tc, parse_field_count_errors);
	tcase_add_test(tc, parse_duplicate_user);
	tcase_add_test(tc, parse_invalid_bytes);
	tcase_add_test(tc, parse_limits);
	tcase_add_test(tc, parse_many_users);
	suite_add_tcase(s, tc);

	/* Creating a db makes the default ARGON2ID dummy (~0.1 s, 64 MiB). */
	tc = tcase_create("module");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, module_create_errors);
	tcase_add_test(tc, module_fixed_path);
	tcase_add_test(tc, module_lookup_credentials);
	tcase_add_test(tc, module_reloads_changed_file);
	tcase_add_test(tc, module_templated_path);
	suite_add_tcase(s, tc);

	tc = tcase_create("static");
	tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
	tcase_add_test(tc, static_userdb);
	tcase_add_test(tc, static_userdb_minimal_and_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(passwd_file_suite());
	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? 0 : 1;
}
