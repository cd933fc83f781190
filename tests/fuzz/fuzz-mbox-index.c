/*
 * Fuzzes the mbox index decoder (storage/mbox/mbox-index.c). The index
 * lies in a directory the mailbox owner can write, so every byte
 * sequence is possible input.
 *
 * Each input is tried twice: as it is (the checksum trailer almost never
 * matches, which must be rejected cleanly), and with a correct checksum
 * appended, so that the fuzzer reaches the decoding of the body. When
 * decoding accepts, the invariants the storage and the commit rely on
 * must hold:
 *  - at most MBOX_MAX_MESSAGES messages and MBOX_SEGMENTS_MAX segments;
 *  - segments end strictly increasing, the last at the recorded size;
 *  - messages have ordered offsets, tile [first From_, size) and end at
 *    the size; a size that the content length can give;
 *  - each X-UIDL is a valid UIDL; X-UIDs only in Dovecot mode, rising,
 *    at most the last UID;
 *  - the resume point is the last message's From_ line;
 *  - encoding what was decoded gives back exactly the input (one
 *    encoding per index, so nothing is silently dropped or defaulted).
 *
 * The seeds in tests/fuzz/corpus/mbox-index/ are the indexes the storage
 * writes for some of tests/unit/data-mbox/ (NAME.mbox, copied to a
 * directory of its own as "mbox", opened through the module more than
 * MBOX_INDEX_RACY_SECS after the copy): NAME-sealed is the file as
 * written, NAME-body the same without its 32-byte checksum trailer. A
 * new format version needs new seeds.
 */
#include "config.h"
#include "mbox/mbox-index.h"

#include <sodium.h>

#include "fuzz-common.h"

static void check_decoded(const uint8_t *data, size_t size,
			  const struct mbox_scan *scan,
			  const struct mbox_index_stamp *stamp)
{
	FUZZ_CHECK(scan->count <= MBOX_MAX_MESSAGES, "%zu messages", scan->count);
	FUZZ_CHECK(scan->segment_count >= 1 &&
		   scan->segment_count <= MBOX_SEGMENTS_MAX,
		   "%u segments", scan->segment_count);
	uint64_t prev = 0;
	for (unsigned i = 0; i < scan->segment_count; i++) {
		FUZZ_CHECK(scan->segments[i].end > prev, "segment %u not rising", i);
		prev = scan->segments[i].end;
	}
	FUZZ_CHECK(prev == stamp->size, "segments end at %llu, size %llu",
		   (unsigned long long)prev, (unsigned long long)stamp->size);
	uint32_t prev_uid = 0;
	for (size_t i = 0; i < scan->count; i++) {
		const struct mbox_msg *m = &scan->msgs[i];
		FUZZ_CHECK(m->from_offset < m->content_offset &&
			   m->content_offset <= m->content_end &&
			   m->content_end <= m->end_offset &&
			   m->end_offset <= stamp->size,
			   "message %zu offsets out of order", i);
		FUZZ_CHECK(i == 0 || m->from_offset == scan->msgs[i - 1].end_offset,
			   "message %zu does not tile", i);
		/* size <= 2 * content + 2, without overflow */
		uint64_t content = m->content_end - m->content_offset;
		FUZZ_CHECK(m->info.size <= content ||
			   m->info.size - content <= content + 2,
			   "message %zu size impossible", i);
		const char *x = scan->x_uidls[i];
		if (x != NULL)
			fuzz_check_uidl(x);
		if (scan->uids[i] != 0) {
			FUZZ_CHECK(scan->dovecot, "X-UID outside Dovecot mode");
			FUZZ_CHECK(scan->uids[i] > prev_uid &&
				   scan->uids[i] <= scan->dovecot_uid_last,
				   "X-UID %u out of order", scan->uids[i]);
			prev_uid = scan->uids[i];
		}
	}
	if (scan->count > 0) {
		FUZZ_CHECK(scan->msgs[scan->count - 1].end_offset == stamp->size,
			   "last message does not end at the size");
		FUZZ_CHECK(scan->resume.offset ==
			   scan->msgs[scan->count - 1].from_offset,
			   "resume point not at the last message");
	}
	struct buffer out;
	buffer_init(&out);
	mbox_index_encode(scan, stamp, &out);
	FUZZ_CHECK(out.len == size && memcmp(out.data, data, size) == 0,
		   "re-encoding gives %zu bytes for %zu", out.len, size);
	buffer_free(&out);
}

static void try_decode(const uint8_t *data, size_t size)
{
	pool_t *pool = pool_create();
	struct mbox_scan scan;
	struct mbox_index_stamp stamp;
	const char *why = NULL;
	char *copy = fuzz_memdup(data, size);
	if (mbox_index_decode(copy, size, pool, &scan, &stamp, &why)) {
		check_decoded(data, size, &scan, &stamp);
		mbox_scan_free(&scan);
	} else {
		FUZZ_CHECK(why != NULL && why[0] != '\0', "rejected without reason");
		FUZZ_CHECK(scan.msgs == NULL && scan.count == 0,
			   "rejected scan not freed");
	}
	free(copy);
	pool_destroy(pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	try_decode(data, size);
	uint8_t *sealed = malloc(size + 32);
	FUZZ_CHECK(sealed != NULL, "malloc");
	if (size > 0)
		memcpy(sealed, data, size);
	crypto_generichash(sealed + size, 32, data, size, NULL, 0);
	try_decode(sealed, size + 32);
	free(sealed);
	return 0;
}
