/* Unit tests for the config parser (core/config.c) and Roost's settings
 * (core/settings.c). */
#include "config.h"
#include "config-parser.h"

#include <check.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buffer.h"
#include "error.h"
#include "pool.h"
#include "settings.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must name tests/unit/data"
#endif

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

static const char *data_path(const char *name)
{
	return pool_printf(pool, "%s/%s", TEST_DATA_DIR, name);
}

/* Writes content to a fresh file in dir; returns its path. */
static const char *write_temp_file(const char *dir, const char *name,
				   const char *content, size_t len)
{
	const char *path = pool_printf(pool, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

static char *make_temp_dir(void)
{
	char *dir = pool_strdup(pool, "/tmp/roost-test-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

static void remove_temp_dir(const char *dir)
{
	char *cmd = pool_printf(pool, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Asserts that parsing text fails with ERROR_INVALID, a message starting
 * with "t.conf:LINE: " and containing want. */
static void assert_parse_error(const char *text, unsigned line,
			       const char *want)
{
	error_clear(&err);
	struct config_section *root = config_parse_string(pool, "t.conf", text,
							  &err);
	ck_assert_msg(root == NULL, "parsed but should fail: %s", text);
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	char *prefix = pool_printf(pool, "t.conf:%u: ", line);
	ck_assert_msg(strncmp(err.message, prefix, strlen(prefix)) == 0,
		      "message '%s' does not start with '%s'", err.message,
		      prefix);
	ck_assert_msg(strstr(err.message, want) != NULL,
		      "message '%s' lacks '%s'", err.message, want);
}

static const struct config_section *child(const struct config_section *sec,
					  unsigned i)
{
	ck_assert_uint_lt(i, sec->sections_count);
	return &sec->sections[i];
}

static const char *value_of(const struct config_section *sec, const char *key)
{
	const struct config_setting *s = config_find(sec, key);
	ck_assert_msg(s != NULL, "no setting %s", key);
	return s->value;
}

/* ---- parser ---- */

START_TEST(parse_syntax_forms)
{
	const char *text =
		"# comment line\n"
		"a = 1\n"
		"b=2   # trailing comment\n"
		"c = \"quoted # not a comment\"\n"
		"d = \"esc \\\" \\\\ \\n \\t end\"\n"
		"e = x=y\n"
		"f = \"\"\n"
		"g = 1  h = 2\n"
		"path = /etc/%{domain}.passwd\n"
		"service pop3 {\n"
		"  listener pop3s { port = 995  tls = yes }\n"
		"  listener pop3 { port = 110}\n"
		"}\n"
		"plain\n"
		"{\n"
		"  x = y }\n"
		"named \"with space\" { }\n";
	struct config_section *root = config_parse_string(pool, "t.conf", text,
							  &err);
	ck_assert_msg(root != NULL, "%s", err.message);
	ck_assert_str_eq(root->type, "");
	ck_assert_ptr_null(root->name);
	ck_assert_str_eq(value_of(root, "a"), "1");
	ck_assert_str_eq(value_of(root, "b"), "2");
	ck_assert_str_eq(value_of(root, "c"), "quoted # not a comment");
	ck_assert_str_eq(value_of(root, "d"), "esc \" \\ \n \t end");
	ck_assert_str_eq(value_of(root, "e"), "x=y");
	ck_assert_str_eq(value_of(root, "f"), "");
	ck_assert_str_eq(value_of(root, "g"), "1");
	ck_assert_str_eq(value_of(root, "h"), "2");
	ck_assert_str_eq(value_of(root, "path"), "/etc/%{domain}.passwd");
	ck_assert_uint_eq(root->settings_count, 9);
	ck_assert_uint_eq(config_find(root, "h")->line, 8);
	ck_assert_str_eq(config_find(root, "h")->file, "t.conf");

	ck_assert_uint_eq(root->sections_count, 3);
	const struct config_section *service = child(root, 0);
	ck_assert_str_eq(service->type, "service");
	ck_assert_str_eq(service->name, "pop3");
	ck_assert_uint_eq(service->line, 10);
	ck_assert_uint_eq(service->sections_count, 2);
	const struct config_section *pop3s = child(service, 0);
	ck_assert_str_eq(pop3s->name, "pop3s");
	ck_assert_str_eq(value_of(pop3s, "port"), "995");
	ck_assert_str_eq(value_of(pop3s, "tls"), "yes");
	ck_assert_uint_eq(pop3s->line, 11);
	ck_assert_str_eq(value_of(child(service, 1), "port"), "110");

	const struct config_section *plain = child(root, 1);
	ck_assert_str_eq(plain->type, "plain");
	ck_assert_ptr_null(plain->name);
	ck_assert_str_eq(value_of(plain, "x"), "y");
	ck_assert_str_eq(child(root, 2)->name, "with space");
	ck_assert_uint_eq(child(root, 2)->settings_count, 0);
}
END_TEST

START_TEST(parse_duplicate_last_wins)
{
	struct config_section *root = config_parse_string(
		pool, "t.conf", "k = first\nother = x\nk = second\n", &err);
	ck_assert_ptr_nonnull(root);
	const struct config_setting *s = config_find(root, "k");
	ck_assert_str_eq(s->value, "second");
	ck_assert_uint_eq(s->line, 3);
	ck_assert_ptr_null(config_find(root, "missing"));
}
END_TEST

START_TEST(parse_comma_list_continues)
{
	/* "a, b" is one value; a word after a value without a comma is
	 * still the stray-word error; a comma at the end of a line ends it. */
	struct config_section *root = config_parse_string(
		pool, "t.conf", "listen = 127.0.0.1, ::1,  *  port = 5\nx = a,\ny = b\n", &err);
	ck_assert_ptr_nonnull(root);
	ck_assert_str_eq(config_find(root, "listen")->value, "127.0.0.1, ::1, *");
	ck_assert_str_eq(config_find(root, "port")->value, "5");
	ck_assert_str_eq(config_find(root, "x")->value, "a,");
	ck_assert_str_eq(config_find(root, "y")->value, "b");
	ck_assert_ptr_null(config_parse_string(pool, "t.conf", "listen = a, b c\n", &err));
	ck_assert_ptr_nonnull(strstr(err.message, "t.conf:1:"));
}
END_TEST

START_TEST(parse_empty_and_crlf)
{
	struct config_section *root = config_parse_string(pool, "t.conf", "",
							  &err);
	ck_assert_ptr_nonnull(root);
	ck_assert_uint_eq(root->settings_count, 0);
	root = config_parse_string(pool, "t.conf",
				   "a = 1\r\nsec {\r\n b = 2\r\n}\r\n", &err);
	ck_assert_msg(root != NULL, "%s", err.message);
	ck_assert_str_eq(value_of(root, "a"), "1");
	ck_assert_str_eq(value_of(child(root, 0), "b"), "2");
}
END_TEST

static const struct {
	const char *text;
	unsigned line;
	const char *want;
} syntax_errors[] = {
	{ "a = 1\nlogin_greeting = Roost ready\n", 2,
	  "quote values containing spaces" },
	{ "login_greeting = Roost ready", 1, "'ready' after the value of 'login_greeting'" },
	{ "s { a = b c }\n", 1, "quote values containing spaces" },
	{ "a = b c\nplain {\n}\n", 1, "unexpected 'c' after the value of 'a'" },
	{ "a = \"x\" \"y\"\n", 1, "quote values containing spaces" },
	{ "a =\nb = 1\n", 1, "missing value for 'a'" },
	{ "a = }\n", 1, "missing value for 'a'" },
	{ "a = {\n", 1, "missing value for 'a'" },
	{ "\n\na = \"open\n", 3, "unterminated quoted string" },
	{ "a = \"bad \\q escape\"\n", 1, "unknown escape '\\q'" },
	{ "a = \"ends with \\", 1, "unterminated quoted string" },
	{ "a = 1\n}\n", 2, "unexpected '}'" },
	{ "s {\n a = 1\n", 3, "missing '}' for section 's' opened at line 1" },
	{ "lonely\n", 1, "expected 'lonely = VALUE'" },
	{ "key value\n", 1, "expected 'key = VALUE'" },
	{ "= 1\n", 1, "expected a setting or section" },
	{ "\"quoted\" = 1\n", 1, "expected a setting or section" },
	{ "{ }\n", 1, "expected a setting or section" },
	{ "!frobnicate x\n", 1, "unknown directive '!frobnicate'" },
	{ "!include\n", 1, "!include needs a path" },
	{ "!include \"\"\n", 1, "!include path is empty" },
	{ "!include a b\n", 1, "unexpected text after the !include path" },
	{ "a = 1\nb = \"x\001y\"\n", 2, "control character 0x01" },
	{ "a = 1\n# comment \x7f\n", 2, "control character 0x7f" },
	{ "a = 1\n\n\x1b[2J = 1\n", 3, "control character 0x1b" },
};

START_TEST(parse_syntax_errors)
{
	assert_parse_error(syntax_errors[_i].text, syntax_errors[_i].line,
			   syntax_errors[_i].want);
}
END_TEST

START_TEST(parse_nesting_limit)
{
	struct buffer text;
	buffer_init(&text);
	for (unsigned i = 0; i < 16; i++)
		buffer_append_str(&text, "s {\n");
	for (unsigned i = 0; i < 16; i++)
		buffer_append_str(&text, "}\n");
	struct config_section *root = config_parse_string(pool, "t.conf",
							  text.data, &err);
	ck_assert_msg(root != NULL, "16 levels should parse: %s", err.message);

	buffer_reset(&text);
	for (unsigned i = 0; i < 200; i++)
		buffer_append_str(&text, "s {\n");
	assert_parse_error(text.data, 17, "nested too deeply");
	buffer_free(&text);
}
END_TEST

START_TEST(parse_line_length_limit)
{
	size_t len = 10000;
	char *text = pool_alloc(pool, len + 32);
	strcpy(text, "a = 1\nb = ");
	memset(text + strlen(text), 'x', len);
	assert_parse_error(text, 2, "line too long");
}
END_TEST

/* ---- files and includes ---- */

START_TEST(parse_file_with_includes)
{
	const char *path = data_path("good.conf");
	struct config_section *root = config_parse_file(pool, path, &err);
	ck_assert_msg(root != NULL, "%s", err.message);
	ck_assert_str_eq(root->file, path);
	ck_assert_str_eq(value_of(root, "listen"), "127.0.0.1");
	ck_assert_str_eq(value_of(root, "login_greeting"),
			 "Roost \"test\" ready # not a comment");
	ck_assert_str_eq(value_of(root, "mail_idle_timeout"), "1h");
	/* Settings after the include still come from good.conf. */
	const struct config_setting *mail = config_find(root, "mail");
	ck_assert_str_eq(mail->file, path);
	ck_assert_uint_eq(mail->line, 13);

	/* Nested include, resolved relative to conf.d/, not to the cwd. */
	const struct config_setting *debug = config_find(root, "log_debug");
	ck_assert_ptr_nonnull(debug);
	ck_assert_str_eq(debug->file,
			 data_path("conf.d/extra.conf"));
	ck_assert_uint_eq(debug->line, 1);

	ck_assert_uint_eq(root->sections_count, 3);
	const struct config_section *passdb = child(root, 1);
	ck_assert_str_eq(passdb->type, "passdb");
	ck_assert_str_eq(passdb->name, "passwd-file");
	ck_assert_str_eq(passdb->file, data_path("conf.d/auth.conf"));
	ck_assert_uint_eq(passdb->line, 2);
	ck_assert_str_eq(value_of(passdb, "path"),
			 "/etc/roost/%{domain}.passwd");
	const struct config_section *userdb = child(root, 2);
	ck_assert_str_eq(value_of(userdb, "home"),
			 "/var/vmail/%{domain}/%{username}");
	ck_assert_str_eq(value_of(userdb, "gid"), "vmail");
}
END_TEST

START_TEST(parse_missing_file)
{
	const char *path = data_path("no-such-file.conf");
	ck_assert_ptr_null(config_parse_file(pool, path, &err));
	ck_assert_int_eq(err.kind, ERROR_NOT_FOUND);
	ck_assert_msg(strstr(err.message, "no-such-file.conf") != NULL, "%s",
		      err.message);
}
END_TEST

START_TEST(parse_directory_is_error)
{
	ck_assert_ptr_null(config_parse_file(pool, TEST_DATA_DIR, &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_msg(strstr(err.message, "not a regular file") != NULL, "%s",
		      err.message);
}
END_TEST

START_TEST(parse_missing_include)
{
	const char *path = data_path("missing-include.conf");
	ck_assert_ptr_null(config_parse_file(pool, path, &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	char *prefix = pool_printf(pool, "%s:2: ", path);
	ck_assert_msg(strncmp(err.message, prefix, strlen(prefix)) == 0, "%s",
		      err.message);
	ck_assert_msg(strstr(err.message, "does-not-exist.conf") != NULL, "%s",
		      err.message);
}
END_TEST

START_TEST(parse_include_loops)
{
	ck_assert_ptr_null(config_parse_file(pool, data_path("loop-a.conf"),
					     &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_msg(strstr(err.message, "include loop") != NULL, "%s",
		      err.message);
	ck_assert_msg(strstr(err.message, "loop-b.conf:2: ") != NULL, "%s",
		      err.message);

	error_clear(&err);
	ck_assert_ptr_null(config_parse_file(pool,
					     data_path("self-include.conf"),
					     &err));
	ck_assert_msg(strstr(err.message, "self-include.conf:1: include loop") !=
		      NULL, "%s", err.message);
}
END_TEST

START_TEST(parse_error_in_included_file)
{
	ck_assert_ptr_null(config_parse_file(
		pool, data_path("include-broken.conf"), &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	char *prefix = pool_printf(pool, "%s:3: ",
				   data_path("conf.d/broken-inner.conf"));
	ck_assert_msg(strncmp(err.message, prefix, strlen(prefix)) == 0, "%s",
		      err.message);
	ck_assert_msg(strstr(err.message, "missing '}'") != NULL, "%s",
		      err.message);
}
END_TEST

START_TEST(parse_control_byte_in_file)
{
	const char *path = data_path("broken-control.conf");
	ck_assert_ptr_null(config_parse_file(pool, path, &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	char *want = pool_printf(pool, "%s:2: control character 0x01 in file", path);
	ck_assert_str_eq(err.message, want);
}
END_TEST

START_TEST(parse_stray_word_file)
{
	const char *path = data_path("broken-stray-word.conf");
	ck_assert_ptr_null(config_parse_file(pool, path, &err));
	char *prefix = pool_printf(pool, "%s:2: ", path);
	ck_assert_msg(strncmp(err.message, prefix, strlen(prefix)) == 0, "%s",
		      err.message);
	ck_assert_msg(strstr(err.message, "quote values containing spaces") !=
		      NULL, "%s", err.message);
}
END_TEST

START_TEST(parse_nul_byte_in_file)
{
	char *dir = make_temp_dir();
	static const char content[] = "a = 1\nb = 2\nc = x\0y\n";
	const char *path = write_temp_file(dir, "nul.conf", content,
					   sizeof(content) - 1);
	ck_assert_ptr_null(config_parse_file(pool, path, &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	char *want = pool_printf(pool, "%s:3: control character 0x00 in file", path);
	ck_assert_str_eq(err.message, want);
	remove_temp_dir(dir);
}
END_TEST

START_TEST(parse_file_size_limit)
{
	char *dir = make_temp_dir();
	size_t len = 1024 * 1024 + 1;
	char *big = pool_alloc(pool, len);
	memset(big, '#', len);
	for (size_t i = 79; i < len; i += 80)
		big[i] = '\n';
	const char *path = write_temp_file(dir, "big.conf", big, len);
	ck_assert_ptr_null(config_parse_file(pool, path, &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_msg(strstr(err.message, "too large") != NULL, "%s",
		      err.message);

	/* Exactly at the limit is fine. */
	path = write_temp_file(dir, "limit.conf", big, len - 1);
	error_clear(&err);
	ck_assert_msg(config_parse_file(pool, path, &err) != NULL, "%s",
		      err.message);
	remove_temp_dir(dir);
}
END_TEST

/* inc0.conf includes inc1.conf ... up to incN.conf. */
static const char *write_include_chain(const char *dir, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char *text = pool_printf(pool, "k%u = v\n!include inc%u.conf\n",
					 i, i + 1);
		write_temp_file(dir, pool_printf(pool, "inc%u.conf", i), text,
				strlen(text));
	}
	write_temp_file(dir, pool_printf(pool, "inc%u.conf", n), "last = 1\n",
			9);
	return pool_printf(pool, "%s/inc0.conf", dir);
}

START_TEST(parse_include_depth_limit)
{
	char *dir = make_temp_dir();
	const char *path = write_include_chain(dir, 8);
	struct config_section *root = config_parse_file(pool, path, &err);
	ck_assert_msg(root != NULL, "8 nested includes should parse: %s",
		      err.message);
	ck_assert_str_eq(value_of(root, "last"), "1");
	remove_temp_dir(dir);

	dir = make_temp_dir();
	path = write_include_chain(dir, 9);
	ck_assert_ptr_null(config_parse_file(pool, path, &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_msg(strstr(err.message, "inc8.conf:2: includes nested too deeply") !=
		      NULL, "%s", err.message);
	remove_temp_dir(dir);
}
END_TEST

START_TEST(parse_string_include_relative_to_cwd)
{
	char *dir = make_temp_dir();
	write_temp_file(dir, "part.conf", "from_part = yes\n", 16);
	char old_cwd[4096];
	ck_assert_ptr_nonnull(getcwd(old_cwd, sizeof(old_cwd)));
	ck_assert_int_eq(chdir(dir), 0);
	struct config_section *root = config_parse_string(
		pool, "t.conf", "a = 1\n!include part.conf\n", &err);
	ck_assert_int_eq(chdir(old_cwd), 0);
	ck_assert_msg(root != NULL, "%s", err.message);
	ck_assert_str_eq(value_of(root, "from_part"), "yes");
	ck_assert_str_eq(config_find(root, "from_part")->file, "part.conf");
	remove_temp_dir(dir);
}
END_TEST

/* ---- typed values ---- */

struct typed_target {
	const char *name;
	bool flag;
	unsigned count;
	unsigned timeout;
	unsigned mode;
	unsigned port;
};

static const struct config_setting_def typed_defs[] = {
	{ "name", CONFIG_TYPE_STRING, offsetof(struct typed_target, name), "dflt", NULL },
	{ "flag", CONFIG_TYPE_BOOL, offsetof(struct typed_target, flag), "yes", NULL },
	{ "count", CONFIG_TYPE_UINT, offsetof(struct typed_target, count), "7", NULL },
	{ "timeout", CONFIG_TYPE_DURATION, offsetof(struct typed_target, timeout), "10s", NULL },
	{ "mode", CONFIG_TYPE_ENUM, offsetof(struct typed_target, mode), "yes", "no|yes|required" },
	{ "port", CONFIG_TYPE_PORT, offsetof(struct typed_target, port), NULL, NULL },
	{ NULL, CONFIG_TYPE_STRING, 0, NULL, NULL },
};

static const struct config_setting_def *typed_def(const char *key)
{
	for (const struct config_setting_def *d = typed_defs; d->key != NULL; d++)
		if (strcmp(d->key, key) == 0)
			return d;
	ck_abort_msg("no def %s", key);
	return NULL;
}

static const struct {
	const char *key;
	const char *value;
	unsigned expected;   /* bool as 0/1 */
} good_values[] = {
	{ "flag", "yes", 1 }, { "flag", "no", 0 }, { "flag", "true", 1 },
	{ "flag", "false", 0 }, { "flag", "1", 1 }, { "flag", "0", 0 },
	{ "count", "0", 0 }, { "count", "42", 42 }, { "count", "007", 7 },
	{ "count", "4294967295", 4294967295u },
	{ "timeout", "500ms", 500 }, { "timeout", "10s", 10000 },
	{ "timeout", "3m", 180000 }, { "timeout", "1h", 3600000 },
	{ "timeout", "2d", 172800000 }, { "timeout", "5", 5000 },
	{ "timeout", "0", 0 }, { "timeout", "4294967295ms", 4294967295u },
	{ "timeout", "49d", 49u * 86400000u },
	{ "mode", "no", 0 }, { "mode", "yes", 1 }, { "mode", "required", 2 },
	{ "port", "1", 1 }, { "port", "110", 110 }, { "port", "65535", 65535 },
};

START_TEST(value_parses)
{
	const struct config_setting_def *def = typed_def(good_values[_i].key);
	union { bool b; unsigned u; } out;
	memset(&out, 0xff, sizeof(out));
	ck_assert_msg(config_parse_value(def, good_values[_i].value, &out, pool,
					 &err) == 0,
		      "%s = %s: %s", good_values[_i].key, good_values[_i].value,
		      err.message);
	unsigned got = def->type == CONFIG_TYPE_BOOL ? out.b : out.u;
	ck_assert_uint_eq(got, good_values[_i].expected);
}
END_TEST

static const struct {
	const char *key;
	const char *value;
	const char *message;
} bad_values[] = {
	{ "flag", "maybe", "invalid value 'maybe' for 'flag' (expected yes or no)" },
	{ "flag", "", "invalid value '' for 'flag' (expected yes or no)" },
	{ "count", "-1", "invalid value '-1' for 'count' (expected a decimal number)" },
	{ "count", "+1", "invalid value '+1' for 'count' (expected a decimal number)" },
	{ "count", "0x10", "invalid value '0x10' for 'count' (expected a decimal number)" },
	{ "count", "", "invalid value '' for 'count' (expected a decimal number)" },
	{ "count", "12 ", "invalid value '12 ' for 'count' (expected a decimal number)" },
	{ "count", "4294967296", "value '4294967296' for 'count' is too large (maximum 4294967295)" },
	{ "count", "99999999999999999999999", "is too large" },
	{ "timeout", "10x", "expected a duration like 500ms, 10s, 3m, 1h or 2d" },
	{ "timeout", "ms", "expected a duration" },
	{ "timeout", "1.5s", "expected a duration" },
	{ "timeout", "-1s", "expected a duration" },
	{ "timeout", "50d", "is too large" },
	{ "timeout", "4294968s", "is too large" },
	{ "timeout", "4294967296ms", "is too large" },
	{ "timeout", "99999999999999999999h", "is too large" },
	{ "mode", "maybe", "invalid value 'maybe' for 'mode' (expected no|yes|required)" },
	{ "mode", "YES", "(expected no|yes|required)" },
	{ "mode", "yes|no", "(expected no|yes|required)" },
	{ "port", "0", "invalid value '0' for 'port' (expected a port number 1..65535)" },
	{ "port", "65536", "too large (maximum 65535)" },
	{ "port", "http", "expected a port number 1..65535" },
};

START_TEST(value_rejected)
{
	const struct config_setting_def *def = typed_def(bad_values[_i].key);
	union { bool b; unsigned u; } out;
	error_clear(&err);
	ck_assert_int_eq(config_parse_value(def, bad_values[_i].value, &out,
					    pool, &err), -1);
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_msg(strstr(err.message, bad_values[_i].message) != NULL,
		      "'%s' lacks '%s'", err.message, bad_values[_i].message);
}
END_TEST

START_TEST(apply_defaults_and_values)
{
	struct typed_target t;
	memset(&t, 0xff, sizeof(t));
	config_apply_defaults(typed_defs, &t, pool);
	ck_assert_str_eq(t.name, "dflt");
	ck_assert(t.flag);
	ck_assert_uint_eq(t.count, 7);
	ck_assert_uint_eq(t.timeout, 10000);
	ck_assert_uint_eq(t.mode, 1);
	ck_assert_uint_eq(t.port, 0);

	struct config_section *root = config_parse_string(
		pool, "t.conf",
		"name = \"two words\"\nflag = no\ncount = 1\ncount = 3\n"
		"timeout = 1m\nmode = required\nport = 995\n"
		"sub { unknown_here = ignored }\n",
		&err);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(config_apply(typed_defs, root, &t, pool, &err), 0);
	ck_assert_str_eq(t.name, "two words");
	ck_assert(!t.flag);
	ck_assert_uint_eq(t.count, 3);
	ck_assert_uint_eq(t.timeout, 60000);
	ck_assert_uint_eq(t.mode, 2);
	ck_assert_uint_eq(t.port, 995);
	/* Strings are copies in the pool, not pointers into the tree. */
	ck_assert_ptr_ne(t.name, config_find(root, "name")->value);
}
END_TEST

START_TEST(apply_error_messages)
{
	struct typed_target t;
	struct config_section *root = config_parse_string(
		pool, "roost.conf",
		"# one\nflag = yes\nmode = maybe\n", &err);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(config_apply(typed_defs, root, &t, pool, &err), -1);
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_str_eq(err.message,
			 "roost.conf:3: invalid value 'maybe' for 'mode' (expected no|yes|required)");

	root = config_parse_string(pool, "roost.conf",
				   "\n\nlistener pop3 {\n\n\n\n  sssl = yes\n}\n",
				   &err);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(config_apply(typed_defs, child(root, 0), &t, pool,
				      &err), -1);
	ck_assert_str_eq(err.message,
			 "roost.conf:7: unknown setting 'sssl' in section 'listener'");

	root = config_parse_string(pool, "roost.conf", "a = 1\nbogus = 2\n",
				   &err);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(config_apply(typed_defs, root, &t, pool, &err), -1);
	ck_assert_str_eq(err.message, "roost.conf:1: unknown setting 'a'");

	/* Control bytes in a value are escaped in the message. */
	root = config_parse_string(pool, "roost.conf", "count = \"1\\n2\"\n",
				   &err);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(config_apply(typed_defs, root, &t, pool, &err), -1);
	ck_assert_msg(strstr(err.message, "'1\\x0a2'") != NULL, "%s",
		      err.message);
	ck_assert_ptr_null(strchr(err.message, '\n'));
}
END_TEST

/* ---- writing ---- */

static const char *const tricky_values[] = {
	"plain", "two words", "", "with \"quotes\"", "back\\slash",
	"new\nline", "tab\there", "hash#tag", "{brace", "brace}", "x=y",
	"%{domain}/%{username}", "a}b{", "!bang", "=start", "*, ::",
	"trailing ", "ünïcödé",
};

START_TEST(write_value_round_trip)
{
	struct buffer out;
	buffer_init(&out);
	buffer_append_str(&out, "k = ");
	config_write_value(&out, tricky_values[_i]);
	buffer_append_str(&out, "\nsection ");
	config_write_name(&out, tricky_values[_i][0] == '\0' ? "x" :
			  tricky_values[_i]);
	buffer_append_str(&out, " { }\n");
	struct config_section *root = config_parse_string(pool, "t.conf",
							  out.data, &err);
	ck_assert_msg(root != NULL, "'%s': %s", out.data, err.message);
	ck_assert_str_eq(value_of(root, "k"), tricky_values[_i]);
	ck_assert_str_eq(child(root, 0)->name, tricky_values[_i][0] == '\0' ?
			 "x" : tricky_values[_i]);
	buffer_free(&out);
}
END_TEST

START_TEST(write_nondefault_only_changes)
{
	struct config_section *root = config_parse_string(
		pool, "t.conf",
		"name = dflt\nflag = true\ncount = 8\ntimeout = 10000ms\n"
		"mode = required\nport = 110\n",
		&err);
	ck_assert_ptr_nonnull(root);
	struct buffer out;
	buffer_init(&out);
	config_write_nondefault(&out, typed_defs, root, 1);
	/* flag = true equals the default yes; 10000ms equals 10s. */
	ck_assert_str_eq(out.data,
			 "  count = 8\n  mode = required\n  port = 110\n");
	buffer_free(&out);
}
END_TEST

START_TEST(write_section_in_full)
{
	const char *text = "passdb \"odd name\" {\n  path = \"a b\"\n  inner {\n    k = v\n  }\n}\n";
	struct config_section *root = config_parse_string(pool, "t.conf", text,
							  &err);
	ck_assert_ptr_nonnull(root);
	struct buffer out;
	buffer_init(&out);
	config_write_section(&out, root, 0);
	ck_assert_str_eq(out.data, text);
	buffer_free(&out);
}
END_TEST

/* ---- settings ---- */

static const char minimal_config[] =
	"ssl = no\n"
	"service pop3 { listener pop3 { port = 110 } }\n"
	"passdb static { }\n";

START_TEST(settings_defaults)
{
	struct roost_settings *set = settings_load_string(pool, "min.conf",
							  minimal_config, &err);
	ck_assert_msg(set != NULL, "%s", err.message);
	ck_assert_str_eq(set->config_path, "min.conf");
	ck_assert_str_eq(set->base_dir, RUN_DIR);
	ck_assert_str_eq(set->pid_file, "");
	ck_assert_str_eq(set->module_dir, MODULE_DIR);
	ck_assert_str_eq(set->listen, "*, ::");
	ck_assert_uint_eq(set->ssl, SSL_MODE_NO);
	ck_assert_ptr_null(set->ssl_cert);
	ck_assert_ptr_null(set->ssl_key);
	ck_assert_str_eq(set->ssl_priority, SETTINGS_SSL_PRIORITY_DEFAULT);
	ck_assert(set->ssl_exempt_loopback);
	ck_assert_str_eq(set->login_user, "roostlogin");
	ck_assert_str_eq(set->auth_user, "roost");
	ck_assert(set->login_chroot);
	ck_assert_uint_eq(set->login_processes, 2);
	ck_assert_uint_eq(set->login_client_limit, 1000);
	ck_assert_uint_eq(set->login_idle_timeout, 60000);
	ck_assert_str_eq(set->login_greeting, "Roost ready.");
	ck_assert_str_eq(set->mail, "maildir:~/Maildir");
	ck_assert_uint_eq(set->mail_idle_timeout, 600000);
	ck_assert_uint_eq(set->mail_process_limit, 1000);
	ck_assert_uint_eq(set->first_valid_uid, 500);
	ck_assert_uint_eq(set->last_valid_uid, 0);
	ck_assert_uint_eq(set->auth_failure_delay, 2000);
	ck_assert(!set->log_debug);

	ck_assert_uint_eq(set->services_count, 1);
	ck_assert_str_eq(set->services[0].protocol, "pop3");
	ck_assert_uint_eq(set->services[0].listeners_count, 1);
	const struct listener_settings *l = &set->services[0].listeners[0];
	ck_assert_str_eq(l->name, "pop3");
	ck_assert_uint_eq(l->port, 110);
	ck_assert_ptr_null(l->address);
	ck_assert(!l->tls);
	ck_assert_str_eq(l->file, "min.conf");
	ck_assert_uint_eq(l->line, 2);
	ck_assert_uint_eq(set->passdbs_count, 1);
	ck_assert_str_eq(set->passdbs[0].driver, "static");
	ck_assert_uint_eq(set->userdbs_count, 0);
	ck_assert_ptr_nonnull(set->root);
}
END_TEST

START_TEST(settings_root_defaults_are_valid)
{
	unsigned count = 0;
	for (const struct config_setting_def *d = settings_root_defs;
	     d->key != NULL; d++, count++) {
		if (d->default_value == NULL)
			continue;
		union { const char *s; bool b; unsigned u; } out;
		ck_assert_msg(config_parse_value(d, d->default_value, &out,
						 pool, &err) == 0,
			      "default of %s: %s", d->key, err.message);
	}
	/* Every plain field of struct roost_settings. */
	ck_assert_uint_eq(count, 39);
	for (const struct config_setting_def *d = settings_listener_defs;
	     d->key != NULL; d++) {
		if (d->default_value == NULL)
			continue;
		union { const char *s; bool b; unsigned u; } out;
		ck_assert_int_eq(config_parse_value(d, d->default_value, &out,
						    pool, &err), 0);
	}
}
END_TEST

START_TEST(settings_load_good_file)
{
	const char *path = data_path("good.conf");
	struct roost_settings *set = settings_load(pool, path, &err);
	ck_assert_msg(set != NULL, "%s", err.message);
	ck_assert_str_eq(set->config_path, path);
	ck_assert_str_eq(set->listen, "127.0.0.1");
	ck_assert_uint_eq(set->ssl, SSL_MODE_REQUIRED);
	ck_assert_str_eq(set->ssl_cert, "/etc/roost/cert.pem");
	ck_assert_str_eq(set->ssl_key, "/etc/roost/key.pem");
	ck_assert_uint_eq(set->login_idle_timeout, 90000);
	ck_assert_uint_eq(set->mail_idle_timeout, 3600000);
	ck_assert(set->log_debug);   /* from conf.d/extra.conf */
	ck_assert_uint_eq(set->services[0].listeners_count, 2);
	const struct listener_settings *pop3s = &set->services[0].listeners[1];
	ck_assert_str_eq(pop3s->name, "pop3s");
	ck_assert_uint_eq(pop3s->port, 995);
	ck_assert(pop3s->tls);
	ck_assert_uint_eq(pop3s->line, 10);
	ck_assert_uint_eq(set->passdbs_count, 1);
	ck_assert_str_eq(set->passdbs[0].driver, "passwd-file");
	ck_assert_str_eq(value_of(set->passdbs[0].section, "path"),
			 "/etc/roost/%{domain}.passwd");
	ck_assert_ptr_null(set->passdbs[0].module_settings);
	ck_assert_uint_eq(set->userdbs_count, 1);
	ck_assert_str_eq(set->userdbs[0].driver, "static");
	ck_assert_str_eq(value_of(set->userdbs[0].section, "uid"), "vmail");
}
END_TEST

START_TEST(settings_file_errors)
{
	struct {
		const char *file;
		unsigned line;
		const char *want;
	} cases[] = {
		{ "broken-unknown-key.conf", 7, "unknown setting 'sssl' in section 'listener'" },
		{ "broken-bad-value.conf", 3, "invalid value 'maybe' for 'ssl' (expected no|yes|required)" },
		{ "broken-unknown-service.conf", 3, "unknown service 'imap' (known: pop3)" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = data_path(cases[i].file);
		error_clear(&err);
		ck_assert_ptr_null(settings_load(pool, path, &err));
		ck_assert_int_eq(err.kind, ERROR_INVALID);
		char *want = pool_printf(pool, "%s:%u: %s", path, cases[i].line,
					 cases[i].want);
		ck_assert_str_eq(err.message, want);
	}
	error_clear(&err);
	ck_assert_ptr_null(settings_load(pool, data_path("nope.conf"), &err));
	ck_assert_int_eq(err.kind, ERROR_NOT_FOUND);
}
END_TEST

#define POP3_110 "service pop3 { listener pop3 { port = 110 } }\n"
#define PASSDB "passdb static { }\n"

static const struct {
	const char *text;
	const char *want;   /* the whole message */
} settings_errors[] = {
	{ "ssl = no\n" PASSDB,
	  "s.conf: no service defined (service pop3 { listener pop3 { port = 110 } })" },
	{ "ssl = no\n" POP3_110,
	  "s.conf: no passdb defined (passdb DRIVER { ... })" },
	{ "ssl = no\n" PASSDB "service pop3 {\n}\n",
	  "s.conf:3: service 'pop3' has no listener (listener NAME { port = N })" },
	{ "ssl = no\n" PASSDB "service imap { listener a { port = 1 } }\n",
	  "s.conf:3: unknown service 'imap' (known: pop3)" },
	{ "ssl = no\n" PASSDB "service { listener a { port = 1 } }\n",
	  "s.conf:3: service needs a protocol name (service pop3 { ... })" },
	{ "ssl = no\n" PASSDB "service pop3 { listener a { tls = yes } }\n",
	  "s.conf:3: listener 'a' has no port" },
	{ "ssl = no\n" PASSDB "service pop3 {\n listener { port = 1 } }\n",
	  "s.conf:4: listener needs a name (listener NAME { port = N })" },
	{ "ssl = no\n" PASSDB "service pop3 {\n listener a { port = 0 } }\n",
	  "s.conf:4: invalid value '0' for 'port' (expected a port number 1..65535)" },
	{ "ssl = no\n" PASSDB "service pop3 {\n listener a { port = 1\n  x { } } }\n",
	  "s.conf:5: unknown section 'x' in 'listener'" },
	{ "ssl = no\n" PASSDB "service pop3 {\n port = 1 }\n",
	  "s.conf:4: unknown setting 'port' in section 'service'" },
	{ "ssl = no\n" PASSDB "service pop3 {\n inet_listener a { port = 1 } }\n",
	  "s.conf:4: unknown section 'inet_listener' in service (expected listener)" },
	{ "ssl = no\n" PASSDB POP3_110 POP3_110,
	  "s.conf:4: service 'pop3' is defined twice (put all its listeners in one section)" },
	{ "ssl = no\n" PASSDB "service pop3 {\n listener a { port = 1 }\n listener a { port = 2 } }\n",
	  "s.conf:5: listener 'a' is already defined at s.conf:4" },
	{ "ssl = no\n" PASSDB "service pop3 {\n listener a { port = 110 }\n listener b { port = 110 } }\n",
	  "s.conf:5: listener 'b' uses address * port 110, already used by listener 'a' at s.conf:4" },
	{ "ssl = no\n" PASSDB "service pop3 {\n listener a { port = 110  address = 10.0.0.1 }\n"
	  " listener b { port = 110  address = 10.0.0.1 } }\n",
	  "s.conf:5: listener 'b' uses address 10.0.0.1 port 110, already used by listener 'a' at s.conf:4" },
	{ "ssl = no\nlisten = \"127.0.0.1, ::1\"\n" PASSDB
	  "service pop3 {\n listener a { port = 110 }\n listener b { port = 110  address = ::1 } }\n",
	  "s.conf:6: listener 'b' uses address ::1 port 110, already used by listener 'a' at s.conf:5" },
	{ "ssl = no\n" PASSDB POP3_110 "auth_db x { }\n",
	  "s.conf:4: unknown section type 'auth_db' (known: service, passdb, userdb)" },
	{ "ssl = no\npassdb { }\n" POP3_110,
	  "s.conf:2: passdb needs a driver name (passdb DRIVER { ... })" },
	{ "ssl = no\n" PASSDB POP3_110 "userdb {\n}\n",
	  "s.conf:4: userdb needs a driver name (userdb DRIVER { ... })" },
	{ PASSDB POP3_110,
	  "s.conf: ssl is 'required' by default and needs ssl_cert and ssl_key (ssl_cert is not set; or set ssl = no)" },
	{ "ssl = yes\nssl_cert = /c.pem\n" PASSDB POP3_110,
	  "s.conf:1: ssl = yes needs ssl_cert and ssl_key (ssl_key is not set)" },
	{ "ssl = required\nssl_cert = \"\"\nssl_key = /k.pem\n" PASSDB POP3_110,
	  "s.conf:1: ssl = required needs ssl_cert and ssl_key (ssl_cert is not set)" },
	{ "ssl = no\nlogin_processes = many\n" PASSDB POP3_110,
	  "s.conf:2: invalid value 'many' for 'login_processes' (expected a decimal number)" },
	{ "ssl = no\nlogin_greeting = Roost ready\n" PASSDB POP3_110,
	  "s.conf:2: unexpected 'ready' after the value of 'login_greeting' (quote values containing spaces: login_greeting = \"...\")" },
};

START_TEST(settings_rejected)
{
	error_clear(&err);
	ck_assert_ptr_null(settings_load_string(pool, "s.conf",
						settings_errors[_i].text, &err));
	ck_assert_int_eq(err.kind, ERROR_INVALID);
	ck_assert_str_eq(err.message, settings_errors[_i].want);
}
END_TEST

START_TEST(settings_accepted_variants)
{
	/* No userdb, different ports, and the same port on distinct
	 * addresses are all fine; passdb keys are not checked here. */
	const char *text =
		"ssl = yes\nssl_cert = /c\nssl_key = /k\n"
		"service pop3 {\n"
		"  listener a { port = 110  address = 127.0.0.1 }\n"
		"  listener b { port = 110  address = ::1 }\n"
		"  listener c { port = 995  tls = yes }\n"
		"}\n"
		"passdb anything { whatever = 1  nested { deep = yes } }\n"
		"passdb second { }\n";
	struct roost_settings *set = settings_load_string(pool, "s.conf", text,
							  &err);
	ck_assert_msg(set != NULL, "%s", err.message);
	ck_assert_uint_eq(set->services[0].listeners_count, 3);
	ck_assert_str_eq(set->services[0].listeners[1].address, "::1");
	ck_assert_uint_eq(set->passdbs_count, 2);
	ck_assert_str_eq(set->passdbs[1].driver, "second");
	ck_assert_uint_eq(set->userdbs_count, 0);
	ck_assert_str_eq(value_of(set->passdbs[0].section, "whatever"), "1");
}
END_TEST

static void assert_settings_equal(const struct roost_settings *a,
				  const struct roost_settings *b)
{
	for (const struct config_setting_def *d = settings_root_defs;
	     d->key != NULL; d++) {
		const char *pa = (const char *)a + d->offset;
		const char *pb = (const char *)b + d->offset;
		switch (d->type) {
		case CONFIG_TYPE_STRING: {
			const char *sa = *(const char *const *)(const void *)pa;
			const char *sb = *(const char *const *)(const void *)pb;
			ck_assert_msg((sa == NULL) == (sb == NULL) &&
				      (sa == NULL || strcmp(sa, sb) == 0),
				      "%s differs", d->key);
			break;
		}
		case CONFIG_TYPE_BOOL:
			ck_assert_msg(*(const bool *)(const void *)pa ==
				      *(const bool *)(const void *)pb,
				      "%s differs", d->key);
			break;
		default:
			ck_assert_msg(*(const unsigned *)(const void *)pa ==
				      *(const unsigned *)(const void *)pb,
				      "%s differs", d->key);
			break;
		}
	}
	ck_assert_uint_eq(a->services_count, b->services_count);
	for (unsigned s = 0; s < a->services_count; s++) {
		const struct service_settings *sa = &a->services[s];
		const struct service_settings *sb = &b->services[s];
		ck_assert_str_eq(sa->protocol, sb->protocol);
		ck_assert_uint_eq(sa->listeners_count, sb->listeners_count);
		for (unsigned l = 0; l < sa->listeners_count; l++) {
			const struct listener_settings *la = &sa->listeners[l];
			const struct listener_settings *lb = &sb->listeners[l];
			ck_assert_str_eq(la->name, lb->name);
			ck_assert_uint_eq(la->port, lb->port);
			ck_assert_int_eq(la->tls, lb->tls);
			ck_assert_int_eq(la->address == NULL, lb->address == NULL);
			if (la->address != NULL)
				ck_assert_str_eq(la->address, lb->address);
		}
	}
	ck_assert_uint_eq(a->passdbs_count, b->passdbs_count);
	ck_assert_uint_eq(a->userdbs_count, b->userdbs_count);
	struct buffer wa, wb;
	buffer_init(&wa);
	buffer_init(&wb);
	for (unsigned i = 0; i < a->passdbs_count; i++) {
		ck_assert_str_eq(a->passdbs[i].driver, b->passdbs[i].driver);
		config_write_section(&wa, a->passdbs[i].section, 0);
		config_write_section(&wb, b->passdbs[i].section, 0);
	}
	for (unsigned i = 0; i < a->userdbs_count; i++) {
		ck_assert_str_eq(a->userdbs[i].driver, b->userdbs[i].driver);
		config_write_section(&wa, a->userdbs[i].section, 0);
		config_write_section(&wb, b->userdbs[i].section, 0);
	}
	ck_assert_str_eq(wa.data == NULL ? "" : wa.data,
			 wb.data == NULL ? "" : wb.data);
	buffer_free(&wa);
	buffer_free(&wb);
}

static void assert_round_trip(const struct roost_settings *set)
{
	struct buffer out;
	buffer_init(&out);
	settings_write_nondefault(&out, set);
	error_clear(&err);
	struct roost_settings *again = settings_load_string(pool, "written",
							    out.data, &err);
	ck_assert_msg(again != NULL, "written config does not load: %s\n%s",
		      err.message, out.data);
	assert_settings_equal(set, again);
	/* Writing again gives the same text. */
	struct buffer out2;
	buffer_init(&out2);
	settings_write_nondefault(&out2, again);
	ck_assert_str_eq(out.data, out2.data);
	buffer_free(&out);
	buffer_free(&out2);
}

START_TEST(settings_round_trip)
{
	const char *text =
		"ssl = yes\nssl_cert = \"/etc/roost/my cert.pem\"\nssl_key = /k\n"
		"listen = \"10.0.0.1, ::1\"\n"
		"login_greeting = \"Hi \\\"there\\\"\\tand # more\"\n"
		"login_idle_timeout = 500ms\nlog_debug = yes\n"
		"login_processes = 2\n"   /* default: not written */
		"base_dir = /run/r\npid_file = /run/r/pid\n"
		"service pop3 {\n"
		"  listener pop3 { port = 110  address = 10.0.0.1 }\n"
		"  listener \"pop3 s\" { port = 995  tls = yes }\n"
		"}\n"
		"passdb passwd-file { path = /etc/roost/%{domain}.passwd  args = \"a b\" }\n"
		"passdb static { nested sub { k = v } }\n"
		"userdb static { uid = vmail  home = /var/vmail/%{domain}/%{username} }\n";
	struct roost_settings *set = settings_load_string(pool, "rt.conf", text,
							  &err);
	ck_assert_msg(set != NULL, "%s", err.message);
	assert_round_trip(set);

	struct buffer out;
	buffer_init(&out);
	settings_write_nondefault(&out, set);
	ck_assert_ptr_null(strstr(out.data, "login_processes"));
	ck_assert_ptr_nonnull(strstr(out.data, "login_idle_timeout = 500ms\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "listener \"pop3 s\" {\n"));
	buffer_free(&out);
}
END_TEST

START_TEST(settings_round_trip_files)
{
	struct roost_settings *set = settings_load(pool, data_path("good.conf"),
						   &err);
	ck_assert_msg(set != NULL, "%s", err.message);
	assert_round_trip(set);

	set = settings_load_string(pool, "min.conf", minimal_config, &err);
	ck_assert_ptr_nonnull(set);
	assert_round_trip(set);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");

	TCase *tc = tcase_create("parser");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parse_syntax_forms);
	tcase_add_test(tc, parse_duplicate_last_wins);
	tcase_add_test(tc, parse_comma_list_continues);
	tcase_add_test(tc, parse_empty_and_crlf);
	tcase_add_loop_test(tc, parse_syntax_errors, 0,
			    sizeof(syntax_errors) / sizeof(syntax_errors[0]));
	tcase_add_test(tc, parse_nesting_limit);
	tcase_add_test(tc, parse_line_length_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parse_file_with_includes);
	tcase_add_test(tc, parse_missing_file);
	tcase_add_test(tc, parse_directory_is_error);
	tcase_add_test(tc, parse_missing_include);
	tcase_add_test(tc, parse_include_loops);
	tcase_add_test(tc, parse_error_in_included_file);
	tcase_add_test(tc, parse_control_byte_in_file);
	tcase_add_test(tc, parse_stray_word_file);
	tcase_add_test(tc, parse_nul_byte_in_file);
	tcase_add_test(tc, parse_file_size_limit);
	tcase_add_test(tc, parse_include_depth_limit);
	tcase_add_test(tc, parse_string_include_relative_to_cwd);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, value_parses, 0,
			    sizeof(good_values) / sizeof(good_values[0]));
	tcase_add_loop_test(tc, value_rejected, 0,
			    sizeof(bad_values) / sizeof(bad_values[0]));
	tcase_add_test(tc, apply_defaults_and_values);
	tcase_add_test(tc, apply_error_messages);
	suite_add_tcase(s, tc);

	tc = tcase_create("write");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, write_value_round_trip, 0,
			    sizeof(tricky_values) / sizeof(tricky_values[0]));
	tcase_add_test(tc, write_nondefault_only_changes);
	tcase_add_test(tc, write_section_in_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("settings");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, settings_defaults);
	tcase_add_test(tc, settings_root_defaults_are_valid);
	tcase_add_test(tc, settings_load_good_file);
	tcase_add_test(tc, settings_file_errors);
	tcase_add_loop_test(tc, settings_rejected, 0,
			    sizeof(settings_errors) / sizeof(settings_errors[0]));
	tcase_add_test(tc, settings_accepted_variants);
	tcase_add_test(tc, settings_round_trip);
	tcase_add_test(tc, settings_round_trip_files);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(config_suite());
	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
