/* Unit tests for internal-protocol field escaping (core/ipc-escape.c).
 * A field that survives escaping with a TAB or LF in it would let a
 * client forge fields in a login/auth/master record. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "ipc-escape.h"
#include "pool.h"

static pool_t *pool;
static struct buffer out;

static void setup(void)
{
	pool = pool_create();
	buffer_init(&out);
}

static void teardown(void)
{
	buffer_free(&out);
	pool_destroy(pool);
}

static void assert_round_trip(const char *data, size_t len)
{
	buffer_reset(&out);
	ipc_escape_append(&out, data, len);
	/* The escaped form must be safe inside a record. */
	ck_assert_ptr_null(memchr(out.data, '\t', out.len));
	ck_assert_ptr_null(memchr(out.data, '\n', out.len));
	ck_assert_ptr_null(memchr(out.data, '\r', out.len));
	ck_assert_ptr_null(memchr(out.data, '\0', out.len));
	size_t back_len = 9999;
	char *back = ipc_unescape(pool, out.data, &back_len);
	ck_assert_ptr_nonnull(back);
	ck_assert_uint_eq(back_len, len);
	ck_assert(memcmp(back, data, len) == 0);
	ck_assert_int_eq(back[len], '\0');
}

START_TEST(escape_exact_output)
{
	static const char in[] = "a\tb\nc\rd\\e\0f";
	ipc_escape_append(&out, in, sizeof(in) - 1);
	ck_assert_uint_eq(out.len, strlen("a\\tb\\nc\\rd\\\\e\\0f"));
	ck_assert_str_eq(out.data, "a\\tb\\nc\\rd\\\\e\\0f");
}
END_TEST

START_TEST(escape_appends)
{
	buffer_append_str(&out, "USER\t");
	ipc_escape_append(&out, "x\ty", 3);
	ck_assert_str_eq(out.data, "USER\tx\\ty");
}
END_TEST

START_TEST(escape_plain_unchanged)
{
	ipc_escape_append(&out, "bob@example.org", 15);
	ck_assert_str_eq(out.data, "bob@example.org");
}
END_TEST

START_TEST(round_trips)
{
	static const char all_special[] = "\t\n\r\\\0";
	assert_round_trip("", 0);
	assert_round_trip("plain", 5);
	assert_round_trip("pass\tword", 9);
	assert_round_trip("line\nbreak\r\n", 12);
	assert_round_trip("back\\slash\\", 11);
	assert_round_trip("\\t is not a tab", 15);
	assert_round_trip("nul\0inside", 10);
	assert_round_trip("\0", 1);
	assert_round_trip(all_special, sizeof(all_special) - 1);
	assert_round_trip("\\\\\\0\\", 5);
	char bytes[256];
	for (int i = 0; i < 256; i++)
		bytes[i] = (char)i;
	assert_round_trip(bytes, sizeof(bytes));
}
END_TEST

START_TEST(unescape_without_len)
{
	char *s = ipc_unescape(pool, "a\\tb", NULL);
	ck_assert_str_eq(s, "a\tb");
}
END_TEST

START_TEST(malformed)
{
	static const char *const bad[] = {
		"\\", "abc\\", "\\x", "a\\Tb", "\\N", "\\ ", "\\1", "ok\\\\\\",
		"\\\t",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = 77;
		ck_assert_msg(ipc_unescape(pool, bad[i], &len) == NULL,
			      "'%s' accepted", bad[i]);
	}
}
END_TEST

START_TEST(split_counts)
{
	char *f[8];
	char r1[] = "a\tbb\t\tccc";
	ck_assert_uint_eq(ipc_split(r1, f, 8), 4);
	ck_assert_str_eq(f[0], "a");
	ck_assert_str_eq(f[1], "bb");
	ck_assert_str_eq(f[2], "");
	ck_assert_str_eq(f[3], "ccc");

	char r2[] = "";
	ck_assert_uint_eq(ipc_split(r2, f, 8), 1);
	ck_assert_str_eq(f[0], "");

	char r3[] = "single";
	ck_assert_uint_eq(ipc_split(r3, f, 8), 1);
	ck_assert_str_eq(f[0], "single");

	char r4[] = "a\t";
	ck_assert_uint_eq(ipc_split(r4, f, 8), 2);
	ck_assert_str_eq(f[0], "a");
	ck_assert_str_eq(f[1], "");

	char r5[] = "\t";
	ck_assert_uint_eq(ipc_split(r5, f, 8), 2);
	ck_assert_str_eq(f[0], "");
	ck_assert_str_eq(f[1], "");
}
END_TEST

START_TEST(split_max)
{
	char *f[4] = { NULL, NULL, NULL, NULL };
	char r1[] = "a\tb\tc\td";
	/* Never more than max fields written; the rest stays in the last. */
	ck_assert_uint_eq(ipc_split(r1, f, 2), 2);
	ck_assert_str_eq(f[0], "a");
	ck_assert_str_eq(f[1], "b\tc\td");
	ck_assert_ptr_null(f[2]);

	char r2[] = "a\tb\tc";
	ck_assert_uint_eq(ipc_split(r2, f, 3), 3);
	ck_assert_str_eq(f[2], "c");

	char r3[] = "a\tb";
	f[0] = f[1] = NULL;
	ck_assert_uint_eq(ipc_split(r3, f, 1), 1);
	ck_assert_str_eq(f[0], "a\tb");
	ck_assert_ptr_null(f[1]);

	char r4[] = "a\tb";
	f[0] = NULL;
	ck_assert_uint_eq(ipc_split(r4, f, 0), 0);
	ck_assert_ptr_null(f[0]);
}
END_TEST

START_TEST(escaped_fields_split_cleanly)
{
	/* A hostile password with TABs stays one field. */
	static const char pass[] = "x\tuser=root\tuid=0";
	buffer_append_str(&out, "AUTH\t1\t");
	ipc_escape_append(&out, pass, sizeof(pass) - 1);
	buffer_append_str(&out, "\tend");
	char *rec = pool_strndup(pool, out.data, out.len);
	char *f[8];
	ck_assert_uint_eq(ipc_split(rec, f, 8), 4);
	ck_assert_str_eq(f[3], "end");
	size_t len;
	char *p = ipc_unescape(pool, f[2], &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(len, sizeof(pass) - 1);
	ck_assert_str_eq(p, pass);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ipc-escape");
	TCase *tc = tcase_create("escape");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, escape_exact_output);
	tcase_add_test(tc, escape_appends);
	tcase_add_test(tc, escape_plain_unchanged);
	tcase_add_test(tc, round_trips);
	tcase_add_test(tc, unescape_without_len);
	tcase_add_test(tc, malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("split");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, split_counts);
	tcase_add_test(tc, split_max);
	tcase_add_test(tc, escaped_fields_split_cleanly);
	suite_add_tcase(s, tc);

	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
