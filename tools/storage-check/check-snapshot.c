/* A session's listing copied out of the module's pool, so sessions can be
 * compared after the one that produced it is closed. */
#include "config.h"
#include "storage-check.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void check_snapshot_take(pool_t *pool, const struct storage_ops *ops,
			 struct storage_mailbox *box, struct check_snapshot *snap_r)
{
	unsigned count = ops->message_count(box);
	snap_r->count = count;
	snap_r->uidls = pool_alloc(pool, (count + 1) * sizeof(*snap_r->uidls));
	snap_r->sizes = pool_alloc(pool, (count + 1) * sizeof(*snap_r->sizes));
	for (unsigned i = 0; i < count; i++) {
		const struct storage_message_info *info = ops->message_info(box, i);
		/* A NULL info is reported by the checks that look at each
		 * message; here it just must not crash the kit. */
		snap_r->uidls[i] = pool_strdup(pool, info != NULL && info->uidl != NULL ?
					       info->uidl : "(null)");
		snap_r->sizes[i] = info != NULL ? info->size : 0;
	}
}

bool check_snapshot_equal(const struct check_snapshot *a, unsigned skip_index,
			  const struct check_snapshot *b, char *why, size_t why_size)
{
	unsigned want = a->count;
	if (skip_index != CHECK_SNAPSHOT_SKIP_NONE)
		want--;
	if (b->count != want) {
		snprintf(why, why_size, "%u messages, expected %u", b->count, want);
		return false;
	}
	unsigned j = 0;
	for (unsigned i = 0; i < a->count; i++) {
		if (i == skip_index)
			continue;
		if (strcmp(a->uidls[i], b->uidls[j]) != 0) {
			snprintf(why, why_size, "message %u has UIDL '%s', expected '%s'",
				 j + 1, b->uidls[j], a->uidls[i]);
			return false;
		}
		if (a->sizes[i] != b->sizes[j]) {
			snprintf(why, why_size, "message %u (UIDL '%s') has size %" PRIu64
				 ", expected %" PRIu64, j + 1, b->uidls[j],
				 b->sizes[j], a->sizes[i]);
			return false;
		}
		j++;
	}
	return true;
}
