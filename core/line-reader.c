/* Length-limited line splitting; see line-reader.h. */
#include "config.h"
#include "line-reader.h"

#include <string.h>

void line_reader_init(struct line_reader *reader, size_t max_len)
{
	reader->max_len = max_len;
	reader->skipping = false;
	reader->consumed = 0;
}

enum line_result line_reader_next(struct line_reader *reader,
				  struct buffer *in, const char **line_r,
				  size_t *len_r)
{
	if (reader->consumed > 0) {
		buffer_consume(in, reader->consumed);
		reader->consumed = 0;
	}
	for (;;) {
		char *lf = in->len > 0 ? memchr(in->data, '\n', in->len) : NULL;
		if (reader->skipping) {
			if (lf == NULL) {
				buffer_reset(in);
				return LINE_NONE;
			}
			buffer_consume(in, (size_t)(lf - in->data) + 1);
			reader->skipping = false;
			continue;
		}
		if (lf == NULL) {
			/* A CR may still precede the LF that ends a maximal line. */
			if (in->len > reader->max_len + 1) {
				reader->skipping = true;
				buffer_reset(in);
				return LINE_TOO_LONG;
			}
			return LINE_NONE;
		}
		size_t len = (size_t)(lf - in->data);
		reader->consumed = len + 1;
		if (len > 0 && in->data[len - 1] == '\r')
			len--;
		if (len > reader->max_len)
			return LINE_TOO_LONG;
		*line_r = in->data;
		*len_r = len;
		return LINE_OK;
	}
}

size_t line_reader_unconsumed(struct line_reader *reader, struct buffer *in)
{
	if (reader->consumed > 0) {
		buffer_consume(in, reader->consumed);
		reader->consumed = 0;
	}
	return reader->skipping ? 0 : in->len;
}
