/*
 * Fuzzes the framing of the account fields that travel between the auth
 * process and its workers, and from auth to the master
 * (auth/auth-fields-ipc.c over core/ipc-escape.c). A worker runs module
 * code that talks to databases; a reply it forges must not make the auth
 * process read out of bounds or attach a field to the wrong key.
 *
 * Each input line is split on TABs as the receivers do and parsed.
 * Invariants, for every line that parses:
 *  - the fields serialize and parse back to exactly the same fields
 *    (names, ids, flags and every extra field, in order);
 *  - the serialized record holds no LF, CR or NUL, so it stays one line.
 */
#include "config.h"
#include "auth-fields-ipc.h"

#include "ipc-escape.h"

#include <stdbool.h>

#include "fuzz-common.h"

static bool same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void check_same(const struct auth_user_fields *a,
		       const struct auth_user_fields *b)
{
	FUZZ_CHECK(same_str(a->user, b->user), "user differs");
	FUZZ_CHECK(same_str(a->home, b->home), "home differs");
	FUZZ_CHECK(same_str(a->mail, b->mail), "mail differs");
	FUZZ_CHECK(a->uid_set == b->uid_set && (!a->uid_set || a->uid == b->uid),
		   "uid differs");
	FUZZ_CHECK(a->gid_set == b->gid_set && (!a->gid_set || a->gid == b->gid),
		   "gid differs");
	FUZZ_CHECK(a->nologin == b->nologin, "nologin differs");
	FUZZ_CHECK(a->extra_count == b->extra_count, "%u extra fields, then %u",
		   a->extra_count, b->extra_count);
	for (unsigned i = 0; i < a->extra_count; i++) {
		FUZZ_CHECK(strcmp(a->extra_keys[i], b->extra_keys[i]) == 0,
			   "extra key %u: '%s' became '%s'", i,
			   a->extra_keys[i], b->extra_keys[i]);
		FUZZ_CHECK(strcmp(a->extra_values[i], b->extra_values[i]) == 0,
			   "extra value %u differs", i);
	}
}

static void fuzz_line(char *line)
{
	pool_t *pool = pool_create();
	char *items[AUTH_FIELDS_IPC_MAX];
	unsigned n = ipc_split(line, items, AUTH_FIELDS_IPC_MAX);
	FUZZ_CHECK(n <= AUTH_FIELDS_IPC_MAX, "ipc_split gave %u fields", n);

	struct auth_user_fields first;
	auth_user_fields_init(&first, NULL);
	if (auth_fields_ipc_parse(pool, items, n, &first) == 0) {
		struct buffer out;
		buffer_init(&out);
		auth_fields_ipc_append(&out, &first);
		FUZZ_CHECK(out.len == 0 ||
			   (memchr(out.data, '\n', out.len) == NULL &&
			    memchr(out.data, '\r', out.len) == NULL &&
			    memchr(out.data, '\0', out.len) == NULL),
			   "serialized fields break the line");

		/* The record starts with its own TAB, as behind a command. */
		char *again = fuzz_strndup((const uint8_t *)out.data, out.len);
		buffer_free(&out);
		char *items2[AUTH_FIELDS_IPC_MAX + 1];
		unsigned n2 = again[0] == '\0' ? 0 :
			ipc_split(again + 1, items2, AUTH_FIELDS_IPC_MAX + 1);
		struct auth_user_fields second;
		auth_user_fields_init(&second, NULL);
		FUZZ_CHECK(n2 <= AUTH_FIELDS_IPC_MAX, "%u fields serialized", n2);
		FUZZ_CHECK(auth_fields_ipc_parse(pool, items2, n2, &second) == 0,
			   "serialized fields do not parse: %s", again);
		check_same(&first, &second);
		free(again);
	}
	pool_destroy(pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	char *line = text;
	for (;;) {
		char *end = strchr(line, '\n');
		if (end != NULL)
			*end = '\0';
		fuzz_line(line);
		if (end == NULL)
			break;
		line = end + 1;
	}
	free(text);
	return 0;
}
