/*
 * Fuzzes the dovecot-uidlist reader (storage/maildir/
 * maildir-dovecot-uidlist.c). The file lives in the user's own maildir,
 * so whoever controls the mailbox controls its bytes.
 *
 * Invariants:
 *  - every warning names a line that exists in the input;
 *  - for every record that can be looked up by the name after " :" on an
 *    input line, the UIDL produced is 1..70 octets of 0x21..0x7E.
 */
#include "config.h"
#include "maildir-dovecot-uidlist.h"
#include "maildir-name.h"

#include "fuzz-common.h"

struct warn_state {
	unsigned lines;
};

static void on_warning(void *context, unsigned line, const char *why)
{
	struct warn_state *w = context;
	FUZZ_CHECK(line >= 1 && line <= w->lines + 1,
		   "warning for line %u of %u: %s", line, w->lines, why);
}

static void check_uidl(const char *uidl)
{
	size_t n = strnlen(uidl, MAILDIR_UIDL_MAX + 1);
	FUZZ_CHECK(n >= 1 && n <= MAILDIR_UIDL_MAX, "UIDL length %zu", n);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)uidl[i] >= 0x21 && (unsigned char)uidl[i] <= 0x7e,
			   "UIDL byte %zu is 0x%02x", i, (unsigned char)uidl[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct warn_state w = { .lines = 1 };
	for (size_t i = 0; i < size; i++)
		w.lines += buf[i] == '\n';

	pool_t *pool = pool_create();
	struct maildir_dovecot_uidlist *list =
		maildir_dovecot_uidlist_parse(pool, buf, size, on_warning, &w);
	if (list != NULL) {
		FUZZ_CHECK(maildir_dovecot_uidlist_count(list) <= w.lines,
			   "%u records from %u lines",
			   maildir_dovecot_uidlist_count(list), w.lines);
		/* Look up every " :name" that appears in the input. */
		for (size_t i = 0; i + 1 < size; i++) {
			if (buf[i] != ' ' || buf[i + 1] != ':')
				continue;
			size_t start = i + 2, end = start;
			while (end < size && buf[end] != '\n' && buf[end] != ':')
				end++;
			const struct maildir_dovecot_record *rec =
				maildir_dovecot_uidlist_lookup(list, buf + start, end - start);
			if (rec == NULL || end == start)
				continue;
			char out[MAILDIR_UIDL_MAX + 1];
			memset(out, 0x7f, sizeof(out));
			maildir_dovecot_uidl(list, rec, buf + start, end - start, out);
			check_uidl(out);
		}
	}
	pool_destroy(pool);
	return 0;
}
