/*
 * Fuzzes the maildir listing cache reader (storage/maildir/
 * maildir-listing-cache.c). The file lives in the user's own maildir,
 * so whoever controls the mailbox controls its bytes.
 *
 * Invariants, for a file whose header and entries parse:
 *  - the announced count is what was parsed;
 *  - every name is 1..255 octets without '/' and does not start with
 *    '.', so openat(cur_fd, name) stays inside cur/; base_len <= its
 *    length;
 *  - every UIDL (the stored one, or the base name) is 1..70 octets of
 *    0x21..0x7E, and no two are equal;
 *  - writing the entries back and parsing the result gives them again.
 */
#include "config.h"
#include "maildir-listing-cache.h"
#include "maildir-name.h"

#include "fuzz-common.h"

#include <stdlib.h>
#include <unistd.h>

static void check_entries(const struct maildir_listing_entry *e, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		size_t n = strlen(e[i].name);
		FUZZ_CHECK(n >= 1 && n <= MAILDIR_NAME_MAX, "name length %zu", n);
		FUZZ_CHECK(e[i].name[0] != '.' && strchr(e[i].name, '/') == NULL,
			   "name %s leaves cur/", e[i].name);
		FUZZ_CHECK(e[i].base_len <= n, "base %zu of %zu", e[i].base_len, n);
		char uidl[MAILDIR_UIDL_MAX + 2];
		if (e[i].uidl != NULL) {
			FUZZ_CHECK(strlen(e[i].uidl) <= MAILDIR_UIDL_MAX,
				   "UIDL length %zu", strlen(e[i].uidl));
			strcpy(uidl, e[i].uidl);
		} else {
			FUZZ_CHECK(e[i].base_len <= MAILDIR_UIDL_MAX,
				   "base UIDL length %zu", e[i].base_len);
			memcpy(uidl, e[i].name, e[i].base_len);
			uidl[e[i].base_len] = '\0';
		}
		fuzz_check_uidl(uidl);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maildir_listing_key key;
	size_t count, header_len;
	if (!maildir_listing_parse_header((const char *)data, size, &key,
					  &count, &header_len))
		return 0;
	FUZZ_CHECK(header_len <= size, "header %zu of %zu", header_len, size);
	pool_t *pool = pool_create();
	char *buf = pool_memdup(pool, data, size);
	struct maildir_listing_entry *entries;
	const char *why;
	if (maildir_listing_parse_entries(pool, buf + header_len,
					  size - header_len, count, &entries,
					  &why)) {
		check_entries(entries, count);
		/* round trip through the writer */
		char path[] = "/tmp/fuzz-maildir-listing-XXXXXX";
		int fd = mkstemp(path);
		FUZZ_CHECK(fd >= 0, "mkstemp failed");
		close(fd);
		struct error err;
		error_clear(&err);
		int ret = maildir_listing_write(path, &key, entries, count, &err);
		FUZZ_CHECK(ret == 1, "writing parsed entries back: %d %s", ret,
			   err.message);
		FILE *f = fopen(path, "rb");
		FUZZ_CHECK(f != NULL, "reopen");
		char *back = pool_alloc(pool, size + MAILDIR_LISTING_HEADER_MAX + 1);
		size_t len = fread(back, 1, size + MAILDIR_LISTING_HEADER_MAX, f);
		fclose(f);
		unlink(path);
		struct maildir_listing_key key2;
		size_t count2, header_len2;
		struct maildir_listing_entry *again;
		FUZZ_CHECK(maildir_listing_parse_header(back, len, &key2, &count2,
							&header_len2) &&
			   maildir_listing_key_equal(&key, &key2) &&
			   count2 == count &&
			   maildir_listing_parse_entries(pool, back + header_len2,
							 len - header_len2,
							 count2, &again, &why),
			   "written file does not parse back");
		for (size_t i = 0; i < count; i++) {
			FUZZ_CHECK(strcmp(again[i].name, entries[i].name) == 0 &&
				   again[i].size == entries[i].size &&
				   again[i].ino == entries[i].ino &&
				   again[i].dup_base == entries[i].dup_base,
				   "entry %zu changed in the round trip", i);
		}
	}
	pool_destroy(pool);
	return 0;
}
