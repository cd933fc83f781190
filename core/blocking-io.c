/* Whole-buffer sends on blocking sockets; see blocking-io.h. */
#include "config.h"
#include "blocking-io.h"

#include <errno.h>
#include <sys/socket.h>

int blocking_send_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EPIPE;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
