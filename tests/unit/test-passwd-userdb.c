/*
 * The passwd userdb (auth/passwd/, linked in) against this system's user
 * database: the user this test runs as, a name nobody has, and the
 * getpwnam_r() buffer growing from a tiny start and stopping at its cap.
 */
#include "config.h"
#include "auth-module.h"
#include "module.h"
#include "passwd/passwd-lookup.h"

#include <check.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

/* passwd.c's descriptor, linked into this program. */
extern const struct roost_module roost_module;

#define UNKNOWN_USER "roost-no-such-user-4c1d"

static pool_t *pool;
static struct error err;
static char self_name[256];
static char self_home[1024];

static void setup(void)
{
	struct passwd *pw = getpwuid(getuid());

	ck_assert_msg(pw != NULL, "the test's own uid %u has no passwd entry",
		      (unsigned)getuid());
	ck_assert_uint_lt(strlen(pw->pw_name), sizeof(self_name));
	ck_assert_uint_lt(strlen(pw->pw_dir), sizeof(self_home));
	strcpy(self_name, pw->pw_name);
	strcpy(self_home, pw->pw_dir);
	pool = pool_create();
	error_clear(&err);
}

static void teardown(void)
{
	pool_destroy(pool);
}

static const struct userdb_ops *userdb(void)
{
	const struct auth_module_ops *ops = roost_module.ops;
	return ops->userdb;
}

START_TEST(module_is_a_userdb_only)
{
	const struct auth_module_ops *ops = roost_module.ops;

	ck_assert_int_eq(roost_module.kind, MODULE_KIND_AUTH);
	ck_assert_str_eq(roost_module.name, "passwd");
	ck_assert_ptr_null(ops->passdb);
	ck_assert_ptr_nonnull(ops->userdb);
	/* No settings: "userdb passwd { anything }" is a config error. */
	ck_assert_ptr_null(roost_module.settings);
}
END_TEST

START_TEST(own_user_found)
{
	const struct userdb_ops *ops = userdb();
	void *db = ops->create(pool, NULL, &err);
	struct auth_user_fields f;

	ck_assert_ptr_nonnull(db);
	auth_user_fields_init(&f, self_name);
	f.home = "/from/the/passdb";
	ck_assert_int_eq(ops->lookup(db, pool, self_name, &f, &err), 1);
	ck_assert_str_eq(f.user, self_name);
	ck_assert(f.uid_set && f.gid_set);
	ck_assert_uint_eq(f.uid, getuid());
	ck_assert_uint_eq(f.gid, getpwuid(getuid())->pw_gid);
	ck_assert_str_eq(f.home, self_home);
}
END_TEST

START_TEST(unknown_user)
{
	const struct userdb_ops *ops = userdb();
	void *db = ops->create(pool, NULL, &err);
	struct auth_user_fields f;

	auth_user_fields_init(&f, UNKNOWN_USER);
	ck_assert_int_eq(ops->lookup(db, pool, UNKNOWN_USER, &f, &err), 0);
	ck_assert(!f.uid_set && !f.gid_set);
	ck_assert_ptr_null(f.home);
	/* Hostile names are unknown users like any other. */
	ck_assert_int_eq(ops->lookup(db, pool, "' OR '1'='1", &f, &err), 0);
	ck_assert_int_eq(ops->lookup(db, pool, "%n%s%s", &f, &err), 0);
	ck_assert_int_eq(ops->lookup(db, pool, "", &f, &err), 0);
}
END_TEST

START_TEST(buffer_grows_from_tiny)
{
	struct passwd_entry e;

	ck_assert_int_eq(passwd_lookup(pool, self_name, 1,
				       PASSWD_LOOKUP_BUFFER_MAX, &e, &err), 1);
	ck_assert_str_eq(e.name, self_name);
	ck_assert_uint_eq(e.uid, getuid());
	ck_assert_str_eq(e.home, self_home);
}
END_TEST

START_TEST(buffer_cap_is_an_error)
{
	struct passwd_entry e;

	/* No entry's strings fit in 4 bytes ("x" alone takes 2). */
	ck_assert_int_eq(passwd_lookup(pool, self_name, 1, 4, &e, &err), -1);
	ck_assert_int_eq(err.kind, ERROR_TEMP);
	ck_assert_msg(strstr(err.message, "does not fit in 4 bytes") != NULL,
		      "%s", err.message);
	ck_assert_msg(strstr(err.message, self_name) != NULL, "%s",
		      err.message);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("passwd-userdb");
	TCase *tc = tcase_create("passwd");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, module_is_a_userdb_only);
	tcase_add_test(tc, own_user_found);
	tcase_add_test(tc, unknown_user);
	tcase_add_test(tc, buffer_grows_from_tiny);
	tcase_add_test(tc, buffer_cap_is_an_error);
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? 0 : 1;
}
