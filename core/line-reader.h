/*
 * Splits a byte stream into lines with a hard length limit.
 *
 * A line ends at LF; a CR right before the LF is removed. A line longer
 * than max_len (without its line end) is never returned in pieces: the
 * reader reports LINE_TOO_LONG once, then silently drops bytes up to and
 * including the next LF, so a hostile client cannot make us buffer without
 * bound or act on a cut-off command. NUL bytes are kept; callers check.
 */
#ifndef ROOST_LINE_READER_H
#define ROOST_LINE_READER_H

#include <stdbool.h>
#include <stddef.h>

#include "buffer.h"

enum line_result {
	LINE_NONE,       /* need more input */
	LINE_OK,         /* one line in line_r and len_r, without its line end */
	LINE_TOO_LONG,   /* the current line exceeded max_len */
};

struct line_reader {
	size_t max_len;
	bool skipping;        /* dropping the rest of a too-long line */
	size_t consumed;      /* bytes of the previous line still in input */
};

void line_reader_init(struct line_reader *reader, size_t max_len);
/* Looks for the next line in in. The returned line points into in and is
 * valid until the next call, which first removes it from in. */
enum line_result line_reader_next(struct line_reader *reader,
				  struct buffer *in, const char **line_r,
				  size_t *len_r);
/* Bytes of in that belong to lines not yet returned (for hand-over). */
size_t line_reader_unconsumed(struct line_reader *reader, struct buffer *in);

#endif
