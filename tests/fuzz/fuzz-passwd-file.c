/*
 * Fuzzes the passwd-file parser (auth/passwd-file/passwd-file-parse.c),
 * which the auth process runs on a file an admin (or a web panel) writes.
 *
 * The whole input is the file. Invariants:
 *  - on failure the error is ERROR_INVALID (or ERROR_TEMP from NSS) with
 *    "NAME:LINE: what", LINE within the file;
 *  - on success there is at most one entry per line, in file order, each
 *    with a non-empty user free of ':' and control bytes, at most
 *    AUTH_EXTRA_FIELDS_MAX extra fields with identifier keys, and
 *    passwd_file_lookup() finds every entry by its user and nothing for a
 *    name that is not in the file;
 *  - parsing is a pure function of the bytes: a second parse agrees.
 */
#include "config.h"
#include "passwd-file-parse.h"
#include "auth-module.h"

#include <stdbool.h>

#include "fuzz-common.h"

#define NAME "fuzz.passwd"
#define KEY_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly sized: the parser is told it need not be terminated. */
	char *file = fuzz_memdup(data, size);
	unsigned lines = 1;
	for (size_t i = 0; i < size; i++)
		if (file[i] == '\n')
			lines++;

	pool_t *pool = pool_create();
	struct error err;
	error_clear(&err);
	struct passwd_file_table *t = passwd_file_parse(pool, NAME, file, size,
							&err);
	if (t == NULL) {
		FUZZ_CHECK(err.kind == ERROR_INVALID || err.kind == ERROR_TEMP,
			   "error kind %d", (int)err.kind);
		FUZZ_CHECK(fuzz_message_has_line(err.message, NAME),
			   "error without \"" NAME ":LINE:\": '%s'", err.message);
		unsigned line = (unsigned)strtoul(err.message + strlen(NAME) + 1,
						  NULL, 10);
		FUZZ_CHECK(line >= 1 && line <= lines, "error at line %u of %u",
			   line, lines);
		pool_destroy(pool);
		free(file);
		return 0;
	}

	FUZZ_CHECK(t->count <= lines, "%u entries from %u lines", t->count, lines);
	unsigned prev_line = 0;
	for (unsigned i = 0; i < t->count; i++) {
		const struct passwd_file_entry *e = &t->entries[i];
		size_t ulen = strlen(e->user);
		FUZZ_CHECK(ulen > 0, "entry %u has an empty user", i);
		FUZZ_CHECK(strchr(e->user, ':') == NULL, "user '%s' has ':'",
			   e->user);
		for (size_t j = 0; j < ulen; j++) {
			unsigned char c = (unsigned char)e->user[j];
			FUZZ_CHECK((c >= 0x20 || c == '\t') && c != 0x7f,
				   "user has control byte 0x%02x", c);
		}
		FUZZ_CHECK(e->password != NULL, "NULL password for '%s'", e->user);
		FUZZ_CHECK(strchr(e->password, ':') == NULL,
			   "password of '%s' has ':'", e->user);
		FUZZ_CHECK(e->line > prev_line && e->line <= lines,
			   "entry %u at line %u after line %u", i, e->line,
			   prev_line);
		prev_line = e->line;
		FUZZ_CHECK(e->home == NULL || e->home[0] != '\0',
			   "empty home instead of NULL");
		FUZZ_CHECK(e->extra_count <= AUTH_EXTRA_FIELDS_MAX,
			   "%u extra fields", e->extra_count);
		for (unsigned j = 0; j < e->extra_count; j++) {
			const char *k = e->extra_keys[j];
			FUZZ_CHECK(k[0] != '\0' && strspn(k, KEY_CHARS) == strlen(k),
				   "extra key '%s'", k);
			FUZZ_CHECK(e->extra_values[j] != NULL, "NULL value of '%s'", k);
			for (unsigned m = 0; m < j; m++)
				FUZZ_CHECK(strcmp(e->extra_keys[m], k) != 0,
					   "extra key '%s' twice", k);
		}
		const struct passwd_file_entry *found =
			passwd_file_lookup(t, e->user);
		FUZZ_CHECK(found == e, "lookup of '%s' gave entry %td, not %u",
			   e->user, found ? found - t->entries : -1, i);

		/* A name one byte longer is another user. */
		char *other = malloc(ulen + 2);
		memcpy(other, e->user, ulen);
		other[ulen] = '\x01';
		other[ulen + 1] = '\0';
		FUZZ_CHECK(passwd_file_lookup(t, other) == NULL,
			   "lookup found a user that is not in the file");
		free(other);
	}
	FUZZ_CHECK(passwd_file_lookup(t, "") == NULL, "lookup found \"\"");

	/* Pure function: a second parse agrees (NSS answers aside, which
	 * do not change within a run). */
	pool_t *pool2 = pool_create();
	struct error err2;
	error_clear(&err2);
	struct passwd_file_table *t2 = passwd_file_parse(pool2, NAME, file, size,
							 &err2);
	FUZZ_CHECK(t2 != NULL && t2->count == t->count,
		   "second parse differs: %s", err2.message);
	for (unsigned i = 0; i < t->count; i++) {
		const struct passwd_file_entry *a = &t->entries[i], *b = &t2->entries[i];
		FUZZ_CHECK(strcmp(a->user, b->user) == 0 &&
			   strcmp(a->password, b->password) == 0 &&
			   a->uid_set == b->uid_set && a->gid_set == b->gid_set &&
			   (!a->uid_set || a->uid == b->uid) &&
			   (!a->gid_set || a->gid == b->gid) &&
			   a->nologin == b->nologin &&
			   a->extra_count == b->extra_count,
			   "entry %u differs on the second parse", i);
	}
	pool_destroy(pool2);
	pool_destroy(pool);
	free(file);
	return 0;
}
