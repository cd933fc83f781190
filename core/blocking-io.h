/*
 * Whole-buffer sends on blocking sockets, for the few places that talk
 * request/reply without an event loop (auth worker processes, roostctl).
 * Event-driven code uses core/stream.h instead.
 */
#ifndef ROOST_BLOCKING_IO_H
#define ROOST_BLOCKING_IO_H

#include <stddef.h>

/* Sends all len bytes (retrying after EINTR and short writes, never
 * raising SIGPIPE). Returns 0, or -1 with errno set (EPIPE when the peer
 * is gone). */
int blocking_send_all(int fd, const void *data, size_t len);

#endif
