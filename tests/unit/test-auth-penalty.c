/* Unit tests for the per-address login penalty (auth/auth-penalty.c). */
#include "config.h"

#include <check.h>
#include <sodium.h>
#include <stdio.h>

#include "auth-penalty.h"

#define BASE 2000
#define MINUTE (60 * 1000ULL)

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	auth_penalty_init(BASE);
}

START_TEST(no_failures_no_delay)
{
	ck_assert_uint_eq(auth_penalty_delay("192.0.2.1", 1000), 0);
}
END_TEST

START_TEST(delay_doubles_up_to_the_cap)
{
	const char *ip = "192.0.2.7";
	unsigned expected[] = { 2000, 4000, 8000, AUTH_PENALTY_MAX_MS, AUTH_PENALTY_MAX_MS };
	for (unsigned i = 0; i < 5; i++) {
		auth_penalty_failure(ip, 1000 + i);
		ck_assert_uint_eq(auth_penalty_delay(ip, 1000 + i), expected[i]);
	}
	/* Other addresses are not affected. */
	ck_assert_uint_eq(auth_penalty_delay("192.0.2.8", 2000), 0);
	ck_assert_uint_eq(auth_penalty_delay("2001:db8::7", 2000), 0);
}
END_TEST

START_TEST(success_and_quiet_time_forget)
{
	auth_penalty_failure("198.51.100.1", 0);
	auth_penalty_failure("198.51.100.1", 1);
	ck_assert_uint_eq(auth_penalty_delay("198.51.100.1", 2), 4000);
	auth_penalty_success("198.51.100.1");
	ck_assert_uint_eq(auth_penalty_delay("198.51.100.1", 3), 0);

	auth_penalty_failure("198.51.100.2", 0);
	ck_assert_uint_eq(auth_penalty_delay("198.51.100.2", 9 * MINUTE), 2000);
	ck_assert_uint_eq(auth_penalty_delay("198.51.100.2", 11 * MINUTE), 0);
}
END_TEST

START_TEST(disabled_with_zero_base)
{
	auth_penalty_init(0);
	auth_penalty_failure("203.0.113.5", 0);
	auth_penalty_failure("203.0.113.5", 1);
	ck_assert_uint_eq(auth_penalty_delay("203.0.113.5", 2), 0);
}
END_TEST

START_TEST(table_stays_bounded_and_recent_entries_survive)
{
	/* Far more addresses than entries: nothing breaks, and the address
	 * failing right now is still remembered. */
	char ip[64];
	for (unsigned i = 0; i < 100000; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		auth_penalty_failure(ip, i);
	}
	auth_penalty_failure("198.51.100.99", 200000);
	auth_penalty_failure("198.51.100.99", 200001);
	ck_assert_uint_eq(auth_penalty_delay("198.51.100.99", 200002), 4000);
	/* An address too long to be an IP is ignored, not truncated. */
	char longip[100];
	memset(longip, 'a', sizeof(longip) - 1);
	longip[sizeof(longip) - 1] = '\0';
	auth_penalty_failure(longip, 0);
	ck_assert_uint_eq(auth_penalty_delay(longip, 1), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth-penalty");
	TCase *tc = tcase_create("penalty");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, no_failures_no_delay);
	tcase_add_test(tc, delay_doubles_up_to_the_cap);
	tcase_add_test(tc, success_and_quiet_time_forget);
	tcase_add_test(tc, disabled_with_zero_base);
	tcase_add_test(tc, table_stays_bounded_and_recent_entries_survive);
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? 0 : 1;
}
