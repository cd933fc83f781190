/* Unit tests for the auth cache (auth/auth-cache.c): TTLs, negative
 * entries, the size bound, flushing, and keys that never hold a password. */
#include "config.h"

#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth-cache.h"

#define TTL 1000
#define NEGATIVE_TTL 100

static pool_t *pool;
static struct buffer key;

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	pool = pool_create();
	buffer_init(&key);
}

static void teardown(void)
{
	buffer_free(&key);
	pool_destroy(pool);
}

static struct auth_user_fields some_fields(const char *user)
{
	struct auth_user_fields f;
	auth_user_fields_init(&f, user);
	f.uid_set = true;
	f.uid = 1234;
	f.home = "/home/x";
	f.extra_keys[0] = "quota";
	f.extra_values[0] = "1G";
	f.extra_count = 1;
	return f;
}

/* Asserts a hit with the given result, and returns the fields. */
static struct auth_user_fields assert_hit(struct auth_cache *cache, uint64_t now,
					  enum passdb_result expected)
{
	enum passdb_result r;
	const char *reason;
	struct auth_user_fields f;
	ck_assert(auth_cache_lookup(cache, &key, now, pool, &r, &reason, &f));
	ck_assert_int_eq(r, expected);
	return f;
}

static void assert_miss(struct auth_cache *cache, uint64_t now)
{
	enum passdb_result r;
	const char *reason;
	struct auth_user_fields f;
	ck_assert(!auth_cache_lookup(cache, &key, now, pool, &r, &reason, &f));
}

START_TEST(positive_entry_lives_for_its_ttl)
{
	struct auth_cache *cache = auth_cache_create(10, TTL, NEGATIVE_TTL);
	struct auth_user_fields f = some_fields("alice");
	auth_cache_key_passdb(&key, "alice", "secret");
	assert_miss(cache, 0);
	auth_cache_insert(cache, &key, 0, PASSDB_OK, "", &f);
	struct auth_user_fields got = assert_hit(cache, TTL - 1, PASSDB_OK);
	ck_assert_str_eq(got.user, "alice");
	ck_assert(got.uid_set);
	ck_assert_uint_eq(got.uid, 1234);
	ck_assert_str_eq(got.home, "/home/x");
	ck_assert_uint_eq(got.extra_count, 1);
	ck_assert_str_eq(got.extra_values[0], "1G");
	assert_miss(cache, TTL);
	ck_assert_uint_eq(auth_cache_count(cache), 0);
	ck_assert_uint_eq(auth_cache_hits(cache), 1);
	ck_assert_uint_eq(auth_cache_misses(cache), 2);
	auth_cache_destroy(cache);
}
END_TEST

START_TEST(negative_entries_use_the_negative_ttl)
{
	struct auth_cache *cache = auth_cache_create(10, TTL, NEGATIVE_TTL);
	auth_cache_key_passdb(&key, "alice", "wrong");
	auth_cache_insert(cache, &key, 0, PASSDB_PASSWORD_MISMATCH, "password mismatch", NULL);
	enum passdb_result r;
	const char *reason;
	struct auth_user_fields f;
	ck_assert(auth_cache_lookup(cache, &key, NEGATIVE_TTL - 1, pool, &r, &reason, &f));
	ck_assert_int_eq(r, PASSDB_PASSWORD_MISMATCH);
	ck_assert_str_eq(reason, "password mismatch");
	assert_miss(cache, NEGATIVE_TTL);
	/* Internal errors are never kept. */
	auth_cache_key_passdb(&key, "bob", "x");
	auth_cache_insert(cache, &key, 0, PASSDB_INTERNAL_ERROR, "db down", NULL);
	assert_miss(cache, 1);
	auth_cache_destroy(cache);
}
END_TEST

START_TEST(keys_depend_on_the_password_but_do_not_hold_it)
{
	struct auth_cache *cache = auth_cache_create(10, TTL, NEGATIVE_TTL);
	struct auth_user_fields f = some_fields("alice");
	auth_cache_key_passdb(&key, "alice", "secret-password");
	ck_assert_ptr_null(memmem(key.data, key.len, "secret-password", 15));
	auth_cache_insert(cache, &key, 0, PASSDB_OK, "", &f);
	auth_cache_key_passdb(&key, "alice", "secret-passwore");
	assert_miss(cache, 1);
	/* A userdb key for the same name is another entry. */
	auth_cache_key_userdb(&key, "alice");
	assert_miss(cache, 1);
	auth_cache_key_passdb(&key, "alice", "secret-password");
	assert_hit(cache, 1, PASSDB_OK);
	auth_cache_destroy(cache);
}
END_TEST

START_TEST(size_is_bounded_least_recently_used_goes)
{
	struct auth_cache *cache = auth_cache_create(3, TTL, NEGATIVE_TTL);
	const char *users[] = { "u1", "u2", "u3", "u4" };
	for (unsigned i = 0; i < 3; i++) {
		auth_cache_key_userdb(&key, users[i]);
		auth_cache_insert(cache, &key, 0, PASSDB_USER_UNKNOWN, "unknown user", NULL);
	}
	/* Touch u1 so that u2 is the least recently used. */
	auth_cache_key_userdb(&key, "u1");
	assert_hit(cache, 1, PASSDB_USER_UNKNOWN);
	auth_cache_key_userdb(&key, "u4");
	auth_cache_insert(cache, &key, 2, PASSDB_USER_UNKNOWN, "unknown user", NULL);
	ck_assert_uint_eq(auth_cache_count(cache), 3);
	auth_cache_key_userdb(&key, "u2");
	assert_miss(cache, 3);
	const char *kept[] = { "u1", "u3", "u4" };
	for (unsigned i = 0; i < 3; i++) {
		auth_cache_key_userdb(&key, kept[i]);
		assert_hit(cache, 3, PASSDB_USER_UNKNOWN);
	}
	/* Replacing an entry does not grow the cache. */
	auth_cache_insert(cache, &key, 4, PASSDB_USER_UNKNOWN, "unknown user", NULL);
	ck_assert_uint_eq(auth_cache_count(cache), 3);
	auth_cache_destroy(cache);
}
END_TEST

START_TEST(flush_empties_the_cache)
{
	struct auth_cache *cache = auth_cache_create(100, TTL, NEGATIVE_TTL);
	struct auth_user_fields f = some_fields("alice");
	for (unsigned i = 0; i < 50; i++) {
		char name[16];
		snprintf(name, sizeof(name), "user%u", i);
		auth_cache_key_userdb(&key, name);
		auth_cache_insert(cache, &key, 0, PASSDB_OK, "", &f);
	}
	ck_assert_uint_eq(auth_cache_count(cache), 50);
	auth_cache_flush(cache);
	ck_assert_uint_eq(auth_cache_count(cache), 0);
	auth_cache_key_userdb(&key, "user7");
	assert_miss(cache, 1);
	auth_cache_destroy(cache);
}
END_TEST

START_TEST(a_null_cache_is_off)
{
	auth_cache_key_userdb(&key, "alice");
	auth_cache_insert(NULL, &key, 0, PASSDB_OK, "", NULL);
	assert_miss(NULL, 0);
	ck_assert_uint_eq(auth_cache_misses(NULL), 0);
	auth_cache_flush(NULL);
	auth_cache_destroy(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth-cache");
	TCase *tc = tcase_create("cache");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, positive_entry_lives_for_its_ttl);
	tcase_add_test(tc, negative_entries_use_the_negative_ttl);
	tcase_add_test(tc, keys_depend_on_the_password_but_do_not_hold_it);
	tcase_add_test(tc, size_is_bounded_least_recently_used_goes);
	tcase_add_test(tc, flush_empties_the_cache);
	tcase_add_test(tc, a_null_cache_is_off);
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? 0 : 1;
}
