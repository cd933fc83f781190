/* roostctl mailbox status, the counting child; see mailbox-status.h. */
#include "config.h"
#include "mailbox-status.h"

#include "buffer.h"
#include "ipc-escape.h"
#include "log.h"
#include "module.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

static const char *kind_word(enum error_kind kind)
{
	switch (kind) {
	case ERROR_IN_USE: return "in-use";
	case ERROR_PERM: return "perm";
	case ERROR_NOT_FOUND: return "notfound";
	case ERROR_INVALID: return "invalid";
	case ERROR_NONE:
	case ERROR_TEMP: break;
	}
	return "temp";
}

static int count(const struct mail_worker_params *p, pool_t *pool,
		 unsigned *messages_r, uint64_t *octets_r, struct error *err)
{
	if (p->privileged && mail_worker_become_user(p, err) < 0)
		return -1;
	const char *path;
	const struct storage_ops *storage = mail_worker_open_storage(pool, p, &path, err);
	if (storage == NULL)
		return -1;
	struct storage_user su = { .user = p->user, .home = p->home };
	struct storage_mailbox *box = storage->open(pool, path, &su, err);
	if (box == NULL)
		return -1;
	*messages_r = storage->message_count(box);
	*octets_r = 0;
	for (unsigned i = 0; i < *messages_r; i++)
		*octets_r += storage->message_info(box, i)->size;
	storage->close(box);
	return 0;
}

int mailbox_status_main(const struct mail_worker_params *p, int result_fd)
{
	struct error err;
	error_clear(&err);
	pool_t *pool = pool_create();
	unsigned messages = 0;
	uint64_t octets = 0;
	struct buffer out;
	buffer_init(&out);
	int status = 0;
	if (count(p, pool, &messages, &octets, &err) < 0) {
		buffer_printf(&out, "FAIL\t%s\t", kind_word(err.kind));
		ipc_escape_append(&out, err.message, strlen(err.message));
		status = 1;
	} else {
		buffer_printf(&out, "OK\t%u\t%" PRIu64, messages, octets);
	}
	buffer_append_str(&out, "\n");
	if (write(result_fd, out.data, out.len) != (ssize_t)out.len)
		status = 1;
	buffer_free(&out);
	close(result_fd);
	pool_destroy(pool);
	module_unload_all();
	return status;
}
