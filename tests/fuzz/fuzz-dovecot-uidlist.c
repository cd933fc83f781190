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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct fuzz_lines w;
	fuzz_lines_count(&w, data, size);

	pool_t *pool = pool_create();
	struct maildir_dovecot_uidlist *list =
		maildir_dovecot_uidlist_parse(pool, buf, size, fuzz_warning_in_range, &w);
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
			fuzz_check_uidl(out);
		}
	}
	pool_destroy(pool);
	return 0;
}
