/*
 * roost-storage-check: the storage contract (storage.h) checked against
 * any storage module, through nothing but the SDK headers and libroost,
 * so a plugin author runs exactly what the project runs on its own
 * modules. See doc/plugin-guide.md section 5.
 */
#ifndef ROOST_STORAGE_CHECK_H
#define ROOST_STORAGE_CHECK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "error.h"
#include "pool.h"
#include "storage.h"

/* RFC 1939 §7: a UIDL is 1..70 octets of 0x21..0x7E. */
#define CHECK_UIDL_MAX 70
#define CHECK_UIDL_MIN_OCTET 0x21
#define CHECK_UIDL_MAX_OCTET 0x7e

struct check_options {
	const char *module_dir;
	const char *module;
	const char *path;
	bool have_expect_count;
	unsigned expect_count;
	bool read_only;
	bool delete_first;
};

/* ---- check-report.c: one PASS/FAIL line per check, and the totals. */

struct check_report {
	unsigned passed;
	unsigned failed;
};

void check_pass(struct check_report *rep, const char *name);
void check_fail(struct check_report *rep, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prints "N passed, M failed"; returns the exit status (1 on a failure). */
int check_report_finish(const struct check_report *rep);

/* ---- check-snapshot.c: what a session lists, kept past its close(). */

struct check_snapshot {
	unsigned count;
	const char **uidls;
	uint64_t *sizes;
};

/* Copies the listing of an open mailbox into pool. */
void check_snapshot_take(pool_t *pool, const struct storage_ops *ops,
			 struct storage_mailbox *box, struct check_snapshot *snap_r);
/* Compares b with a minus the message at skip_index (..._SKIP_NONE: a
 * itself).
 * Returns true when equal; otherwise writes why into why. */
#define CHECK_SNAPSHOT_SKIP_NONE UINT_MAX
bool check_snapshot_equal(const struct check_snapshot *a, unsigned skip_index,
			  const struct check_snapshot *b, char *why, size_t why_size);

/* ---- check-read.c: reading a message to its end. */

/* Reads message index in chunks of chunk_size bytes into out (reset
 * first), never more than limit bytes: a reader that yields more is
 * broken, and the limit keeps one that never ends from hanging the
 * check. Returns -1 with err set on a failed open or read, or when the
 * reader overruns limit or returns more than it was asked for. */
int check_read_message(const struct storage_ops *ops, struct storage_mailbox *box,
		       unsigned index, size_t chunk_size, uint64_t limit,
		       struct buffer *out, struct error *err);

/* ---- check-contract.c: the checks themselves. */

void check_contract(const struct storage_ops *ops, const struct check_options *opt,
		    struct check_report *rep);

#endif
