/* Unit tests for %{...} expansion (core/var-expand.c), hostile names
 * included: every refusal here is a path traversal that did not happen. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pool.h"
#include "var-expand.h"

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

static struct var_expand_input input_for(const char *user, const char *home)
{
	struct var_expand_input input = {
		.user = user,
		.user_len = user == NULL ? 0 : strlen(user),
		.home = home,
	};
	return input;
}

static const char *expand_ok(const char *template_text, const char *user,
			     const char *home)
{
	struct var_expand_input input = input_for(user, home);
	error_clear(&err);
	char *out = var_expand(pool, template_text, &input, &err);
	ck_assert_msg(out != NULL, "'%s' with user '%s': %s", template_text,
		      user == NULL ? "(null)" : user, err.message);
	ck_assert_int_eq(err.kind, ERROR_NONE);
	return out;
}

static void assert_expand_fails(const char *template_text,
			 const struct var_expand_input *input,
			 const char *want)
{
	error_clear(&err);
	ck_assert_ptr_null(var_expand(pool, template_text, input, &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_msg(strstr(err.message, want) != NULL,
		      "'%s' lacks '%s'", err.message, want);
}

static const struct {
	const char *template_text;
	const char *user;
	const char *home;
	const char *expected;
} good_cases[] = {
	{ "/var/mail/%{user}", "bob@example.com", NULL, "/var/mail/bob@example.com" },
	{ "/v/%{domain}/%{username}", "bob@example.com", NULL, "/v/example.com/bob" },
	{ "%{username}", "bob", NULL, "bob" },
	/* The last '@' splits: a local part may itself contain one. */
	{ "%{username}|%{domain}", "a@b@c.org", NULL, "a@b|c.org" },
	{ "%{home}/Maildir", "bob", "/home/bob", "/home/bob/Maildir" },
	{ "~/Maildir", "bob", "/home/bob", "/home/bob/Maildir" },
	{ "~", "bob", "/home/bob", "/home/bob" },
	{ "maildir:~/Maildir", "bob", "/home/bob", "maildir:~/Maildir" },
	{ "~bob/x", "bob", "/home/bob", "~bob/x" },
	{ "/a/~/b", "bob", "/home/bob", "/a/~/b" },
	{ "100%% sure", "bob", NULL, "100% sure" },
	{ "%%{user}", "bob", NULL, "%{user}" },
	{ "", NULL, NULL, "" },
	{ "/plain/path", NULL, NULL, "/plain/path" },
	/* Values are never expanded again. */
	{ "/m/%{user}", "%{home}", "/root", "/m/%{home}" },
	{ "/m/%{user}", "50%", "/root", "/m/50%" },
	{ "/m/%{user}", "%%", "/root", "/m/%%" },
	{ "%{user}/x", "~root", "/home/bob", "~root/x" },
	{ "/m/%{username}", "~root@example.com", NULL, "/m/~root" },
	/* Dots are fine unless they form "." or "..". */
	{ "/m/%{user}", "first.last@ex.com", NULL, "/m/first.last@ex.com" },
	{ "/m/%{user}", ".hidden", NULL, "/m/.hidden" },
	/* A refused part is fine while unused. */
	{ "/m/%{username}", "x@", NULL, "/m/x" },
	{ "/m/%{domain}", "@x", NULL, "/m/x" },
	{ "/m/%{domain}", "../x@example.com", NULL, "/m/example.com" },
	{ "/m/%{username}", "x@..", NULL, "/m/x" },
	{ "/static/path", "../../etc", NULL, "/static/path" },
};

START_TEST(expands)
{
	const char *out = expand_ok(good_cases[_i].template_text,
				    good_cases[_i].user, good_cases[_i].home);
	ck_assert_str_eq(out, good_cases[_i].expected);
}
END_TEST

static const struct {
	const char *template_text;
	const char *want;
} syntax_cases[] = {
	{ "/m/%{nope}", "unknown variable %{nope}" },
	{ "/m/%{}", "unknown variable %{}" },
	{ "/m/%{USER}", "unknown variable %{USER}" },
	{ "/m/%{user", "unterminated '%{' at offset 3" },
	{ "/m/%{", "unterminated '%{'" },
	{ "/m/%u", "lone '%' at offset 3" },
	{ "/m/%", "lone '%' at offset 3" },
	{ "%x%{user}", "lone '%' at offset 0" },
};

START_TEST(syntax_errors)
{
	struct var_expand_input input = input_for("bob@example.com", "/home/bob");
	assert_expand_fails(syntax_cases[_i].template_text, &input,
		     syntax_cases[_i].want);
}
END_TEST

START_TEST(unknown_variable_is_escaped)
{
	struct var_expand_input input = input_for("bob", "/home/bob");
	assert_expand_fails("/m/%{a\nb}", &input, "unknown variable %{a\\x0ab}");
	ck_assert_ptr_null(strchr(err.message, '\n'));
}
END_TEST

static const struct {
	const char *user;
	const char *template_text;
	const char *want;
} hostile_cases[] = {
	{ "../x", "/m/%{user}", "refusing %{user} value '../x'" },
	{ "../x", "/m/%{username}", "refusing %{username} value '../x': it contains '/'" },
	{ "..", "/m/%{user}", "it contains '..'" },
	{ "a..b", "/m/%{user}", "it contains '..'" },
	{ ".", "/m/%{user}", "it is '.'" },
	{ ".@example.com", "/m/%{username}", "refusing %{username} value '.': it is '.'" },
	{ "x@..", "/m/%{domain}", "refusing %{domain} value '..': it contains '..'" },
	{ "x@..", "/m/%{user}", "refusing %{user} value 'x@..'" },
	{ "x@.", "/m/%{domain}", "it is '.'" },
	{ "a/b", "/m/%{user}", "refusing %{user} value 'a/b': it contains '/'" },
	{ "a/b@c", "/m/%{username}", "it contains '/'" },
	{ "a@b/c", "/m/%{domain}", "refusing %{domain} value 'b/c'" },
	{ "/", "/m/%{user}", "it contains '/'" },
	{ "x@", "/m/%{domain}", "refusing %{domain} value '': it is empty" },
	{ "@x", "/m/%{username}", "refusing %{username} value '': it is empty" },
	{ "", "/m/%{user}", "refusing %{user} value '': it is empty" },
	{ "nodomain", "/m/%{domain}", "refusing %{domain} value '': it is empty" },
	{ "tab\there", "/m/%{user}", "refusing %{user} value 'tab\\x09here': it contains a control character" },
	{ "new\nline", "/m/%{username}", "value 'new\\x0aline'" },
	{ "bob@ex\r.com", "/m/%{domain}", "value 'ex\\x0d.com'" },
	{ "del\x7f", "/m/%{user}", "value 'del\\x7f'" },
	{ "esc\x1b[31m", "/m/%{user}", "it contains a control character" },
};

START_TEST(hostile_names_refused)
{
	struct var_expand_input input = input_for(hostile_cases[_i].user,
						  "/home/x");
	assert_expand_fails(hostile_cases[_i].template_text, &input,
		     hostile_cases[_i].want);
	for (const char *p = err.message; *p != '\0'; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f,
			      "raw control byte in message '%s'", err.message);
}
END_TEST

/* A NUL inside the name, as a client could send it, makes the C string
 * look like "bob"; every part derived from it is refused. */
START_TEST(hidden_nul_refused)
{
	static const char user[] = "bob\0evil";
	struct var_expand_input input = {
		.user = user, .user_len = sizeof(user) - 1, .home = "/home/bob",
	};
	assert_expand_fails("/m/%{user}", &input, "value 'bob\\x00evil': it contains a NUL byte");
	assert_expand_fails("/m/%{username}", &input, "it contains a NUL byte");
	assert_expand_fails("/m/%{domain}", &input, "refusing %{domain}");

	static const char user2[] = "bob@ex.com\0/../../etc";
	input.user = user2;
	input.user_len = sizeof(user2) - 1;
	/* The last '@' is before the NUL: the domain part holds it. */
	assert_expand_fails("/m/%{username}", &input, "the user name contains a NUL byte");
	assert_expand_fails("/m/%{domain}", &input, "it contains a NUL byte");

	static const char user3[] = "evil\0@ex.com";
	input.user = user3;
	input.user_len = sizeof(user3) - 1;
	assert_expand_fails("/m/%{domain}", &input, "the user name contains a NUL byte");

	/* Unused, the name does no harm. */
	char *out = var_expand(pool, "~/Maildir", &input, &err);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, "/home/bob/Maildir");
}
END_TEST

START_TEST(missing_inputs)
{
	struct var_expand_input input = input_for(NULL, NULL);
	assert_expand_fails("/m/%{user}", &input, "%{user} used but no user name is known");
	assert_expand_fails("/m/%{domain}", &input, "%{domain} used but no user name is known");
	assert_expand_fails("%{home}/x", &input, "%{home} used but no home directory is known");
	assert_expand_fails("~/x", &input, "'~' used but no home directory is known");
	assert_expand_fails("~", &input, "no home directory");
	assert_expand_fails("/x/%{user}", NULL, "no user name is known");

	input = input_for("bob", "");
	assert_expand_fails("~/Maildir", &input, "the home directory is empty");
	assert_expand_fails("%{home}/Maildir", &input, "the home directory is empty");
}
END_TEST

START_TEST(long_value_message_fits)
{
	char user[2000];
	memset(user, 'a', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	user[1000] = '/';
	struct var_expand_input input = input_for(user, "/home/x");
	assert_expand_fails("/m/%{user}", &input, "refusing %{user} value 'aaaa");
	ck_assert_uint_lt(strlen(err.message), ERROR_MESSAGE_MAX);

	/* Unrefused, a long value is copied in full. */
	user[1000] = 'a';
	input = input_for(user, "/home/x");
	char *out = var_expand(pool, "/m/%{user}/", &input, &err);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(strlen(out), 3 + sizeof(user) - 1 + 1);
}
END_TEST

static Suite *var_expand_suite(void)
{
	Suite *s = suite_create("var-expand");
	TCase *tc = tcase_create("expand");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, expands, 0,
			    sizeof(good_cases) / sizeof(good_cases[0]));
	tcase_add_loop_test(tc, syntax_errors, 0,
			    sizeof(syntax_cases) / sizeof(syntax_cases[0]));
	tcase_add_test(tc, unknown_variable_is_escaped);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, hostile_names_refused, 0,
			    sizeof(hostile_cases) / sizeof(hostile_cases[0]));
	tcase_add_test(tc, hidden_nul_refused);
	tcase_add_test(tc, missing_inputs);
	tcase_add_test(tc, long_value_message_fits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(var_expand_suite());
	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
