/*
 * Escaping for Roost's internal line protocols (login <-> auth <-> master).
 * Fields are separated by TAB and records by LF, so a field's TAB, LF, CR,
 * backslash and NUL bytes are written as \t \n \r \\ \0. Without this a
 * password containing a TAB could split a record into forged fields.
 */
#ifndef ROOST_IPC_ESCAPE_H
#define ROOST_IPC_ESCAPE_H

#include <stddef.h>

#include "buffer.h"
#include "pool.h"

void ipc_escape_append(struct buffer *out, const char *data, size_t len);
/* Unescapes src into a new pool string; *len_r gets its length (it may
 * contain NUL). Returns NULL for a malformed escape. */
char *ipc_unescape(pool_t *pool, const char *src, size_t *len_r);
/* Takes the next complete record (up to LF) out of in: returns a heap copy
 * without the LF that the caller frees with ipc_record_free() (which wipes
 * it: records may carry passwords), or NULL when no LF has arrived yet. */
char *ipc_take_record(struct buffer *in);
void ipc_record_free(char *record);
/* Splits a record (no LF) at TABs into at most max fields, in place.
 * Returns the number of fields. */
unsigned ipc_split(char *record, char **fields, unsigned max);

#endif
