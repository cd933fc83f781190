/* roostctl's side of the control socket; see roostctl.h and
 * core/master/control.h. */
#include "config.h"
#include "roostctl.h"

#include "blocking-io.h"
#include "buffer.h"
#include "config-parser.h"
#include "ipc-escape.h"
#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The master answers every command within a minute (its own timeout);
 * after roostctl stop the server has 5 s to end its sessions. */
#define ROOSTCTL_ANSWER_TIMEOUT_MS 75000
/* An answer line: a who line or a userdb field. */
#define ROOSTCTL_RECORD_MAX (64 * 1024)
#define ROOSTCTL_FIELDS_MAX 3

/* base_dir from the config: only the file's syntax has to be right, so
 * that roostctl reload can report a config the server will refuse. */
static const char *find_base_dir(const struct roostctl_options *opts, pool_t *pool)
{
	if (opts->base_dir != NULL)
		return opts->base_dir;
	struct error err;
	struct config_section *root = config_parse_file(pool, opts->config_path, &err);
	if (root == NULL) {
		fprintf(stderr, "roostctl: %s (use -b BASE_DIR to reach the server anyway)\n",
			err.message);
		return NULL;
	}
	const struct config_setting *s = config_find(root, "base_dir");
	return s != NULL ? s->value : RUN_DIR;
}

static int connect_control(const char *base_dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control", base_dir);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		fprintf(stderr, "roostctl: base_dir %s is too long\n", base_dir);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (e == ENOENT || e == ECONNREFUSED)
			fprintf(stderr, "roostctl: roost is not running (%s: %s)\n",
				sa.sun_path, strerror(e));
		else if (e == EACCES || e == EPERM)
			fprintf(stderr, "roostctl: %s: %s (run roostctl as root or as "
				"the user the server runs as)\n", sa.sun_path, strerror(e));
		else
			fprintf(stderr, "roostctl: cannot connect to %s: %s\n",
				sa.sun_path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads more into in; 1 read, 0 EOF, -1 error or timeout. */
static int read_more(int fd, struct buffer *in, long long deadline)
{
	char buf[4096];
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			errno = r == 0 ? ETIMEDOUT : errno;
			return -1;
		}
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		buffer_append(in, buf, (size_t)n);
		return 1;
	}
}

/* Handles one answer record; returns -1 to go on, else the exit status. */
static int handle_record(char *record, pool_t *pool)
{
	char *f[ROOSTCTL_FIELDS_MAX];
	unsigned n = ipc_split(record, f, ROOSTCTL_FIELDS_MAX);
	const char *text = n >= 2 ? ipc_unescape(pool, f[1], NULL) : NULL;
	if (strcmp(f[0], "D") == 0) {
		printf("%s\n", text != NULL ? text : "");
		return -1;
	}
	if (strcmp(f[0], "OK") == 0)
		return ROOSTCTL_OK;
	fprintf(stderr, "roostctl: %s\n", text != NULL ? text : "the server gave a malformed answer");
	return ROOSTCTL_FAILED;
}

int roostctl_request(const struct roostctl_options *opts,
		     const char *const *args, unsigned count)
{
	pool_t *pool = pool_create();
	const char *base_dir = find_base_dir(opts, pool);
	int fd = base_dir != NULL ? connect_control(base_dir) : -1;
	if (fd < 0) {
		pool_destroy(pool);
		return base_dir != NULL ? ROOSTCTL_NOT_RUNNING : ROOSTCTL_FAILED;
	}
	struct buffer req, in;
	buffer_init(&req);
	buffer_init(&in);
	for (unsigned i = 0; i < count; i++) {
		if (i > 0)
			buffer_append_str(&req, "\t");
		ipc_escape_append(&req, args[i], strlen(args[i]));
	}
	buffer_append_str(&req, "\n");
	int sent = blocking_send_all(fd, req.data, req.len);
	buffer_free_secret(&req);   /* PASSTEST carries a password */
	if (sent < 0) {
		fprintf(stderr, "roostctl: sending to the server failed: %s\n", strerror(errno));
		close(fd);
		buffer_free(&in);
		pool_destroy(pool);
		return ROOSTCTL_NOT_RUNNING;
	}
	long long deadline = now_ms() + ROOSTCTL_ANSWER_TIMEOUT_MS;
	int status = -1;
	while (status < 0) {
		char *record = ipc_take_record(&in);
		if (record != NULL) {
			status = handle_record(record, pool);
			ipc_record_free(record);
			continue;
		}
		if (in.len > ROOSTCTL_RECORD_MAX) {
			fprintf(stderr, "roostctl: the server's answer is malformed\n");
			status = ROOSTCTL_FAILED;
			break;
		}
		int r = read_more(fd, &in, deadline);
		if (r <= 0) {
			fprintf(stderr, "roostctl: %s\n", r == 0 ?
				"the server closed the connection without an answer" :
				strerror(errno));
			status = ROOSTCTL_FAILED;
		}
	}
	/* After STOP the master keeps the connection until it exits. */
	if (status == ROOSTCTL_OK && strcmp(args[0], "STOP") == 0) {
		int r;
		buffer_reset(&in);
		while ((r = read_more(fd, &in, deadline)) > 0)
			buffer_reset(&in);
		if (r < 0) {
			fprintf(stderr, "roostctl: the server did not stop in time: %s\n",
				strerror(errno));
			status = ROOSTCTL_FAILED;
		}
	}
	pool_destroy(pool);
	buffer_free(&in);
	close(fd);
	fflush(stdout);
	return status;
}
