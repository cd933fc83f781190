/*
 * Sending a file descriptor with a message over a UNIX socket
 * (SCM_RIGHTS). One message per call; the datagram-like framing relies on
 * SOCK_SEQPACKET sockets, which keep message boundaries.
 */
#ifndef ROOST_FD_PASSING_H
#define ROOST_FD_PASSING_H

#include <stddef.h>
#include <sys/types.h>

/* fd < 0 sends the message without a descriptor. Returns 0 or -1/errno. */
int fd_send(int sock, int fd, const void *data, size_t len);
/* Receives one message; *fd_r is the passed descriptor or -1. Returns the
 * message length, 0 at EOF, -1/errno. A truncated message is EMSGSIZE
 * (and any descriptor that came with it is closed). */
ssize_t fd_recv(int sock, int *fd_r, void *buf, size_t size);

#endif
