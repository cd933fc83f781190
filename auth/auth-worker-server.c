/* An auth worker process; see auth-worker-server.h and auth-worker.h. */
#include "config.h"
#include "auth-worker-server.h"

#include "auth-fields-ipc.h"
#include "auth-worker.h"
#include "blocking-io.h"
#include "ipc-escape.h"
#include "log.h"
#include "passdb-chain.h"
#include "process-title.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* A request is a user name and a password (each bounded by the SASL
 * limits, escaped at most 2x) or a user's fields; 64 KiB is far beyond a
 * sane one and bounds what a broken auth process could make us buffer. */
#define WORKER_REQUEST_MAX (64 * 1024)
#define WORKER_READ_CHUNK 4096
#define WORKER_REQUEST_FIELDS_MAX (AUTH_FIELDS_IPC_MAX + 3)

static const char *result_code(enum passdb_result r)
{
	switch (r) {
	case PASSDB_OK:
		return "ok";
	case PASSDB_USER_UNKNOWN:
		return "unknown";
	case PASSDB_PASSWORD_MISMATCH:
		return "mismatch";
	case PASSDB_ACCOUNT_DISABLED:
		return "disabled";
	case PASSDB_INTERNAL_ERROR:
		break;
	}
	return "temp";
}

static void append_result(struct buffer *out, enum passdb_result r,
			  const struct error *err, const char *stored,
			  const struct auth_user_fields *fields)
{
	buffer_printf(out, "RESULT\t%s\t", result_code(r));
	if (r != PASSDB_OK)
		ipc_escape_append(out, err->message, strlen(err->message));
	buffer_append_str(out, "\t");
	if (stored != NULL)
		ipc_escape_append(out, stored, strlen(stored));
	if (r == PASSDB_OK)
		auth_fields_ipc_append(out, fields);
	buffer_append_str(out, "\n");
}

/* Answers one request into out; -1 for a request that does not parse. */
static int serve(struct passdb_chain *chain, char *line, struct buffer *out)
{
	char *f[WORKER_REQUEST_FIELDS_MAX];
	unsigned n = ipc_split(line, f, WORKER_REQUEST_FIELDS_MAX);
	if (n < 2)
		return -1;
	pool_t *pool = pool_create();
	int ret = 0;
	struct auth_user_fields fields;
	struct error err;
	error_clear(&err);
	char *user = ipc_unescape(pool, f[1], NULL);
	if (user == NULL) {
		ret = -1;
	} else if (strcmp(f[0], "VERIFY") == 0 && n == 3) {
		size_t len;
		char *password = ipc_unescape(pool, f[2], &len);
		if (password == NULL) {
			ret = -1;
		} else {
			enum passdb_result r = passdb_chain_verify(chain, pool,
				user, password, &fields, &err);
			sodium_memzero(password, len);
			append_result(out, r, &err, NULL, &fields);
		}
	} else if (strcmp(f[0], "CREDENTIALS") == 0 && n == 2) {
		const char *stored = NULL;
		enum passdb_result r = passdb_chain_credentials(chain, pool, user,
			&stored, &fields, &err);
		append_result(out, r, &err, r == PASSDB_OK ? stored : NULL, &fields);
	} else if (strcmp(f[0], "USERDB") == 0) {
		auth_user_fields_init(&fields, NULL);
		if (auth_fields_ipc_parse(pool, f + 2, n - 2, &fields) < 0) {
			ret = -1;
		} else {
			int r = passdb_chain_userdb_lookup(chain, pool, user,
							   &fields, &err);
			if (r == 0)
				error_set(&err, ERROR_NOT_FOUND, "unknown user");
			append_result(out, r > 0 ? PASSDB_OK : r == 0 ?
				      PASSDB_USER_UNKNOWN : PASSDB_INTERNAL_ERROR,
				      &err, NULL, &fields);
		}
	} else {
		ret = -1;
	}
	pool_destroy(pool);
	return ret;
}

static int serve_loop(struct passdb_chain *chain, int fd)
{
	struct buffer in, out;
	int status = 0;
	buffer_init(&in);
	buffer_init(&out);
	for (;;) {
		char *line;
		while ((line = ipc_take_record(&in)) != NULL) {
			int r = serve(chain, line, &out);
			ipc_record_free(line);
			if (r < 0) {
				log_error("malformed request from the auth process");
				status = 1;
				goto done;
			}
			if (blocking_send_all(fd, out.data, out.len) < 0) {
				status = 1;
				goto done;
			}
			buffer_free_secret(&out);
			buffer_init(&out);
		}
		if (in.len >= WORKER_REQUEST_MAX) {
			log_error("oversized request from the auth process");
			status = 1;
			break;
		}
		char chunk[WORKER_READ_CHUNK];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;   /* EOF: the auth process is done with us */
		buffer_append(&in, chunk, (size_t)n);
		sodium_memzero(chunk, sizeof(chunk));
	}
done:
	buffer_free_secret(&in);
	buffer_free_secret(&out);
	return status;
}

int auth_worker_server_run(const struct roost_settings *set, int fd,
			   pid_t auth_pid)
{
	process_title_set(AUTH_WORKER_TITLE);
	log_set_role("auth-worker");
	/* The auth process reloads and restarts us; a HUP meant for it must
	 * not kill a worker in the middle of a call. */
	signal(SIGHUP, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != auth_pid) {
		close(fd);
		return 0;
	}

	pool_t *pool = pool_create();
	struct error err;
	struct passdb_chain *chain = passdb_chain_create(pool, set, &err);
	struct buffer line;
	buffer_init(&line);
	if (chain == NULL) {
		buffer_append_str(&line, "ERROR\t");
		ipc_escape_append(&line, err.message, strlen(err.message));
		buffer_append_str(&line, "\n");
	} else {
		buffer_append_str(&line, "READY\n");
	}
	int status = blocking_send_all(fd, line.data, line.len) < 0 || chain == NULL ? 1 : 0;
	buffer_free(&line);
	if (status == 0)
		status = serve_loop(chain, fd);
	if (chain != NULL)
		passdb_chain_destroy(chain);
	pool_destroy(pool);
	close(fd);
	return status;
}
