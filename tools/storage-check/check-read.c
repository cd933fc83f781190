/* Reading one message to its end through the module's reader, in a chunk
 * size the caller picks: odd sizes catch readers that lose or repeat bytes
 * at their own buffer boundaries. */
#include "config.h"
#include "storage-check.h"

#include <inttypes.h>
#include <stdlib.h>

int check_read_message(const struct storage_ops *ops, struct storage_mailbox *box,
		       unsigned index, size_t chunk_size, uint64_t limit,
		       struct buffer *out, struct error *err)
{
	buffer_reset(out);
	error_clear(err);
	struct storage_message_reader *r = ops->message_open(box, index, err);
	if (r == NULL) {
		if (err->kind == ERROR_NONE)
			error_set(err, ERROR_INVALID, "message_open() returned NULL "
				  "without setting err");
		return -1;
	}
	char *chunk = xmalloc(chunk_size);
	int ret = 0;
	for (;;) {
		ssize_t n = ops->message_read(r, chunk, chunk_size, err);
		if (n == 0)
			break;
		if (n < 0) {
			if (err->kind == ERROR_NONE)
				error_set(err, ERROR_INVALID, "message_read() returned "
					  "%zd without setting err", n);
			ret = -1;
			break;
		}
		if ((size_t)n > chunk_size) {
			error_set(err, ERROR_INVALID, "message_read() returned %zd "
				  "for a buffer of %zu bytes", n, chunk_size);
			ret = -1;
			break;
		}
		if ((uint64_t)out->len + (uint64_t)n > limit) {
			error_set(err, ERROR_INVALID, "the reader yields more than %"
				  PRIu64 " bytes, more than the message's size allows",
				  limit);
			ret = -1;
			break;
		}
		buffer_append(out, chunk, (size_t)n);
	}
	free(chunk);
	ops->message_close(r);
	return ret;
}
