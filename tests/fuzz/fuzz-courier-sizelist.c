/*
 * Fuzzes the courierpop3dsizelist reader (storage/maildir/
 * maildir-courier-sizelist.c). The file lives in the user's own maildir,
 * so whoever controls the mailbox controls its bytes.
 *
 * Invariants:
 *  - every warning names a line that exists in the input;
 *  - no more records than lines;
 *  - for every record that can be looked up by the start of an input
 *    line (up to ':' or ' '), the UIDL produced is 1..70 octets of
 *    0x21..0x7E.
 */
#include "config.h"
#include "maildir-courier-sizelist.h"
#include "maildir-name.h"

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct fuzz_lines w;
	fuzz_lines_count(&w, data, size);

	pool_t *pool = pool_create();
	struct maildir_courier_sizelist *list =
		maildir_courier_sizelist_parse(pool, buf, size, fuzz_warning_in_range, &w);
	if (list != NULL) {
		FUZZ_CHECK(maildir_courier_sizelist_count(list) <= w.lines,
			   "%u records from %u lines",
			   maildir_courier_sizelist_count(list), w.lines);
		/* Look up the start of every line, up to ':' or the first
		 * space (names with spaces are covered by the unit tests). */
		for (size_t i = 0; i < size; i++) {
			if (i > 0 && buf[i - 1] != '\n')
				continue;
			size_t end = i;
			while (end < size && buf[end] != '\n' && buf[end] != ':' &&
			       buf[end] != ' ')
				end++;
			if (end == i)
				continue;
			const struct maildir_courier_record *rec =
				maildir_courier_sizelist_lookup(list, buf + i, end - i);
			if (rec == NULL)
				continue;
			char out[MAILDIR_UIDL_MAX + 1];
			memset(out, 0x7f, sizeof(out));
			maildir_courier_uidl(rec, buf + i, end - i, out);
			fuzz_check_uidl(out);
		}
	}
	pool_destroy(pool);
	return 0;
}
