/* Unit tests for the auth settings: auth_mechanisms (auth/auth-mechanisms.c,
 * checked by core/settings.c), auth_worker_processes bounds and the passdb
 * chain keys that settings_load() takes out of a passdb section. */
#include "config.h"

#include <check.h>
#include <string.h>

#include "auth-mechanisms.h"
#include "settings.h"

#define BASE_CONFIG \
	"ssl = no\n" \
	"service pop3 { listener pop3 { port = 110 } }\n"

static pool_t *pool;
static struct error err;

static void setup(void)
{
	pool = pool_create();
	error_clear(&err);
}

static void teardown(void)
{
	pool_destroy(pool);
}

static void assert_refused(const char *text, const char *message)
{
	struct roost_settings *set = settings_load_string(pool, "a.conf", text, &err);
	ck_assert_ptr_null(set);
	ck_assert_msg(strstr(err.message, message) != NULL, "%s", err.message);
}

START_TEST(mechanism_names)
{
	unsigned mask;
	ck_assert_int_eq(auth_mechanisms_parse("plain LOGIN, Cram-MD5 scram-sha-256,apop",
					       &mask, &err), 0);
	ck_assert_uint_eq(mask, AUTH_MECH_PLAIN | AUTH_MECH_LOGIN | AUTH_MECH_CRAM_MD5 |
			  AUTH_MECH_SCRAM_SHA_256 | AUTH_MECH_APOP);
	ck_assert_int_eq(auth_mechanisms_parse("plain digest-md5", &mask, &err), -1);
	ck_assert_msg(strstr(err.message, "'digest-md5'") != NULL, "%s", err.message);
	ck_assert_int_eq(auth_mechanisms_parse("", &mask, &err), -1);

	struct buffer out;
	buffer_init(&out);
	auth_mechanisms_names(&out, AUTH_MECH_APOP | AUTH_MECH_PLAIN | AUTH_MECH_CRAM_MD5,
			      " ", false);
	buffer_append(&out, "", 1);
	ck_assert_str_eq(out.data, "PLAIN CRAM-MD5");
	buffer_reset(&out);
	auth_mechanisms_names(&out, AUTH_MECH_APOP | AUTH_MECH_LOGIN, "\t", true);
	buffer_append(&out, "", 1);
	ck_assert_str_eq(out.data, "LOGIN\tAPOP");
	buffer_free(&out);
}
END_TEST

START_TEST(defaults)
{
	struct roost_settings *set = settings_load_string(pool, "a.conf",
		BASE_CONFIG "passdb static { }\n", &err);
	ck_assert_msg(set != NULL, "%s", err.message);
	ck_assert_str_eq(set->auth_mechanisms, "plain login");
	ck_assert_uint_eq(set->auth_worker_processes, 4);
	ck_assert_uint_eq(set->auth_cache_size, 0);
	ck_assert_uint_eq(set->auth_cache_ttl, 3600 * 1000);
	ck_assert_uint_eq(set->auth_cache_negative_ttl, 3600 * 1000);
	ck_assert_uint_eq(set->passdbs[0].result_success, PASSDB_CHAIN_DEFAULT);
	ck_assert_uint_eq(set->passdbs[0].result_failure, PASSDB_CHAIN_DEFAULT);
}
END_TEST

START_TEST(bad_auth_settings_name_file_and_line)
{
	assert_refused(BASE_CONFIG "auth_mechanisms = \"plain foo\"\npassdb static { }\n",
		       "a.conf:3: unknown mechanism 'foo'");
	assert_refused(BASE_CONFIG "auth_worker_processes = 0\npassdb static { }\n",
		       "a.conf:3: auth_worker_processes must be 1..");
	assert_refused(BASE_CONFIG "auth_worker_processes = 65\npassdb static { }\n",
		       "a.conf:3: auth_worker_processes must be 1..");
	assert_refused(BASE_CONFIG "passdb static {\n  result_failure = return-ok\n}\n",
		       "a.conf:4: invalid result_failure 'return-ok'");
	assert_refused(BASE_CONFIG "passdb static {\n  result_success = return-fail\n}\n",
		       "a.conf:4: invalid result_success 'return-fail'");
}
END_TEST

START_TEST(chain_keys_are_taken_out_of_the_module_section)
{
	struct roost_settings *set = settings_load_string(pool, "a.conf",
		BASE_CONFIG
		"passdb passwd-file {\n"
		"  path = /etc/users\n"
		"  result_failure = continue\n"
		"  result_success = continue\n"
		"}\n"
		"passdb passwd-file { path = /etc/admins  result_failure = return-fail }\n",
		&err);
	ck_assert_msg(set != NULL, "%s", err.message);
	ck_assert_uint_eq(set->passdbs_count, 2);
	ck_assert_uint_eq(set->passdbs[0].result_failure, PASSDB_CHAIN_CONTINUE);
	ck_assert_uint_eq(set->passdbs[0].result_success, PASSDB_CHAIN_CONTINUE);
	ck_assert_uint_eq(set->passdbs[1].result_failure, PASSDB_CHAIN_RETURN_FAIL);
	ck_assert_uint_eq(set->passdbs[1].result_success, PASSDB_CHAIN_DEFAULT);
	/* The module sees only its own key; roost -n shows all of them. */
	ck_assert_uint_eq(set->passdbs[0].section->settings_count, 1);
	ck_assert_str_eq(set->passdbs[0].section->settings[0].key, "path");
	ck_assert_uint_eq(set->passdbs[0].written->settings_count, 3);
	struct buffer out;
	buffer_init(&out);
	settings_write_nondefault(&out, set);
	buffer_append(&out, "", 1);
	ck_assert_msg(strstr(out.data, "result_failure = continue") != NULL, "%s", out.data);
	buffer_free(&out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth-settings");
	TCase *tc = tcase_create("settings");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, mechanism_names);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, bad_auth_settings_name_file_and_line);
	tcase_add_test(tc, chain_keys_are_taken_out_of_the_module_section);
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? 0 : 1;
}
