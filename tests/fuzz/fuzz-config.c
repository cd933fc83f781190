/*
 * Fuzzes the config file parser (core/config-parser.c) and Roost's typed
 * settings on top of it (core/settings.c). A config file is written by an
 * admin, but it is parsed by the root master, a config from a package or
 * a colleague may be hostile, and the same parser reads !include files.
 *
 * The input (cut at its first NUL) is the text of a file named NAME.
 * Invariants:
 *  - on failure err.message starts with "NAME:" and a line number
 *    ("NAME:LINE: what"); settings_load_string() may also report a
 *    whole-file problem as "NAME: what" (no service, no passdb, ssl
 *    without a certificate), which carries no line. Errors inside a file
 *    pulled in with an absolute !include name that file instead;
 *  - on success, config_write_section() of the tree parses back to the
 *    same tree (types, names, keys and values in the same order);
 *  - on success of settings_load_string(), settings_write_nondefault()
 *    output loads again;
 *  - every pool is destroyed each run (LeakSanitizer checks the rest).
 *
 * The harness runs in an empty temporary directory so that a relative
 * !include cannot find anything.
 */
#include "config.h"
#include "config-parser.h"
#include "settings.h"

#include <stdbool.h>
#include <unistd.h>

#include "fuzz-common.h"

#define NAME "fuzz.conf"

static bool message_ok(const char *message, const char *text, bool allow_no_line)
{
	if (fuzz_message_has_line(message, NAME))
		return true;
	if (allow_no_line && strncmp(message, NAME ": ", strlen(NAME ": ")) == 0)
		return true;
	/* An absolute !include: the included file names itself. */
	if (strstr(text, "!include") != NULL) {
		const char *colon = strchr(message, ':');
		while (colon != NULL) {
			const char *p = colon + 1;
			if (*p >= '1' && *p <= '9') {
				while (*p >= '0' && *p <= '9')
					p++;
				if (*p == ':')
					return true;
			}
			colon = strchr(colon + 1, ':');
		}
	}
	return false;
}

static void compare_sections(const struct config_section *a,
			     const struct config_section *b, unsigned depth)
{
	FUZZ_CHECK(strcmp(a->type, b->type) == 0, "section type '%s' became '%s'",
		   a->type, b->type);
	FUZZ_CHECK((a->name == NULL) == (b->name == NULL) &&
		   (a->name == NULL || strcmp(a->name, b->name) == 0),
		   "section name '%s' became '%s'", a->name ? a->name : "(none)",
		   b->name ? b->name : "(none)");
	FUZZ_CHECK(a->settings_count == b->settings_count,
		   "%u settings became %u in '%s'", a->settings_count,
		   b->settings_count, a->type);
	for (unsigned i = 0; i < a->settings_count; i++) {
		FUZZ_CHECK(strcmp(a->settings[i].key, b->settings[i].key) == 0,
			   "key '%s' became '%s'", a->settings[i].key,
			   b->settings[i].key);
		FUZZ_CHECK(strcmp(a->settings[i].value, b->settings[i].value) == 0,
			   "value of '%s': '%s' became '%s'", a->settings[i].key,
			   a->settings[i].value, b->settings[i].value);
	}
	FUZZ_CHECK(a->sections_count == b->sections_count,
		   "%u sections became %u in '%s'", a->sections_count,
		   b->sections_count, a->type);
	for (unsigned i = 0; i < a->sections_count; i++)
		compare_sections(&a->sections[i], &b->sections[i], depth + 1);
}

static void check_tree(const struct config_section *sec, unsigned depth)
{
	FUZZ_CHECK(depth <= 16, "sections nested %u deep", depth);
	FUZZ_CHECK(sec->type != NULL && (depth == 0) == (sec->type[0] == '\0'),
		   "section type '%s' at depth %u", sec->type, depth);
	for (unsigned i = 0; i < sec->settings_count; i++) {
		const struct config_setting *s = &sec->settings[i];
		FUZZ_CHECK(s->key != NULL && s->key[0] != '\0' && s->value != NULL,
			   "setting %u of '%s' is incomplete", i, sec->type);
		FUZZ_CHECK(s->line >= 1, "setting '%s' at line 0", s->key);
		FUZZ_CHECK(config_find(sec, s->key) != NULL,
			   "config_find misses '%s'", s->key);
	}
	for (unsigned i = 0; i < sec->sections_count; i++)
		check_tree(&sec->sections[i], depth + 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/roost-fuzz-config.XXXXXX";
	if (mkdtemp(dir) == NULL || chdir(dir) < 0) {
		perror("fuzz-config: temporary directory");
		abort();
	}
	/* Nothing is ever created in it; remove it now so it does not stay
	 * behind. The process keeps it as its (empty) working directory. */
	rmdir(dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	struct error err;

	/* 1. The parser alone. */
	pool_t *pool = pool_create();
	error_clear(&err);
	struct config_section *root = config_parse_string(pool, NAME, text, &err);
	if (root == NULL) {
		FUZZ_CHECK(err.kind != ERROR_NONE, "failure without an error kind");
		FUZZ_CHECK(message_ok(err.message, text, false),
			   "parse error without \"" NAME ":LINE:\": '%s'",
			   err.message);
	} else {
		check_tree(root, 0);
		/* Written back, the tree must read the same. */
		struct buffer out;
		buffer_init(&out);
		config_write_section(&out, root, 0);
		pool_t *pool2 = pool_create();
		struct error err2;
		error_clear(&err2);
		struct config_section *again =
			config_parse_string(pool2, NAME, out.data ? out.data : "",
					    &err2);
		FUZZ_CHECK(again != NULL,
			   "written config does not parse: %s\n--- written:\n%s---",
			   err2.message, out.data ? out.data : "");
		compare_sections(root, again, 0);
		pool_destroy(pool2);
		buffer_free(&out);
	}
	pool_destroy(pool);

	/* 2. The typed settings. */
	pool = pool_create();
	error_clear(&err);
	struct roost_settings *set = settings_load_string(pool, NAME, text, &err);
	if (set == NULL) {
		FUZZ_CHECK(err.kind != ERROR_NONE, "failure without an error kind");
		FUZZ_CHECK(message_ok(err.message, text, true),
			   "settings error without \"" NAME ":LINE:\": '%s'",
			   err.message);
	} else {
		FUZZ_CHECK(set->services_count >= 1 && set->passdbs_count >= 1,
			   "loaded without a service or passdb");
		for (unsigned i = 0; i < set->services_count; i++) {
			const struct service_settings *svc = &set->services[i];
			FUZZ_CHECK(svc->listeners_count >= 1, "service without listener");
			for (unsigned j = 0; j < svc->listeners_count; j++)
				FUZZ_CHECK(svc->listeners[j].port >= 1 &&
					   svc->listeners[j].port <= 65535,
					   "listener port %u",
					   svc->listeners[j].port);
		}
		/* roost -n output is a config of its own. */
		struct buffer out;
		buffer_init(&out);
		settings_write_nondefault(&out, set);
		pool_t *pool2 = pool_create();
		struct error err2;
		error_clear(&err2);
		struct roost_settings *again =
			settings_load_string(pool2, NAME, out.data ? out.data : "",
					     &err2);
		FUZZ_CHECK(again != NULL,
			   "settings_write_nondefault output does not load: %s\n"
			   "--- written:\n%s---", err2.message,
			   out.data ? out.data : "");
		FUZZ_CHECK(again->services_count == set->services_count &&
			   again->passdbs_count == set->passdbs_count &&
			   again->userdbs_count == set->userdbs_count &&
			   again->ssl == set->ssl,
			   "reloaded settings differ");
		pool_destroy(pool2);
		buffer_free(&out);
	}
	pool_destroy(pool);
	free(text);
	return 0;
}
