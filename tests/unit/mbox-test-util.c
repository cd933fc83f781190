/* Fixtures for the mbox storage unit tests: see mbox-test-util.h. */
#include "config.h"
#include "mbox-test-util.h"
#include "module.h"
#include "fs-test-util.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Small and odd, so that messages end mid-piece and lines straddle
 * pieces: the reader's buffering is exercised, not bypassed. */
#define MBOX_TEST_READ_PIECE 7
/* The first allocation for a message read back; doubled as needed. */
#define MBOX_TEST_MESSAGE_CAP 4096
/* Room for the location options after the mbox path: the tests pass a
 * few short ones, or ":index=" and a path in the test directory. */
#define MBOX_TEST_LOCATION_MAX (2 * PATH_MAX)

extern const struct roost_module roost_module;

static const struct storage_ops *storage_ops(void)
{
	return roost_module.ops;
}

char *mbox_test_read_data(const char *name, size_t *len_r)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", MBOX_TEST_DATA, name);
	return fs_test_read_whole(path, len_r);
}

void mbox_test_copy_data(const char *name)
{
	size_t len;
	char *data = mbox_test_read_data(name, &len);
	fs_test_write_file("mbox", data, len);
	free(data);
}

struct storage_mailbox *mbox_test_open(pool_t *pool, const char *opts,
				       struct error *err)
{
	char loc[MBOX_TEST_LOCATION_MAX];
	snprintf(loc, sizeof(loc), "%s%s", fs_test_path("mbox"), opts);
	struct storage_user user = { "tester", fs_test_dir() };
	error_clear(err);
	return storage_ops()->open(pool, loc, &user, err);
}

char *mbox_test_read_message(struct storage_mailbox *box, unsigned i,
			     size_t *len_r)
{
	const struct storage_ops *ops = storage_ops();
	struct error err;
	error_clear(&err);
	struct storage_message_reader *r = ops->message_open(box, i, &err);
	ck_assert_msg(r != NULL, "message_open: %s", err.message);
	size_t cap = MBOX_TEST_MESSAGE_CAP, len = 0;
	char *out = malloc(cap);
	for (;;) {
		char buf[MBOX_TEST_READ_PIECE];
		ssize_t n = ops->message_read(r, buf, sizeof(buf), &err);
		ck_assert_msg(n >= 0, "message_read: %s", err.message);
		if (n == 0)
			break;
		if (len + (size_t)n > cap)
			out = realloc(out, cap *= 2);
		memcpy(out + len, buf, (size_t)n);
		len += (size_t)n;
	}
	ops->message_close(r);
	*len_r = len;
	return out;
}

void mbox_test_load(struct mbox_test_contents *c, const char *opts)
{
	const struct storage_ops *ops = storage_ops();
	pool_t *pool = pool_create();
	struct error err;
	struct storage_mailbox *box = mbox_test_open(pool, opts, &err);
	ck_assert_msg(box != NULL, "open: %s", err.message);
	memset(c, 0, sizeof(*c));
	c->count = ops->message_count(box);
	ck_assert_uint_le(c->count, MBOX_TEST_MAX_MSGS);
	for (unsigned i = 0; i < c->count; i++) {
		const struct storage_message_info *info = ops->message_info(box, i);
		c->data[i] = mbox_test_read_message(box, i, &c->len[i]);
		c->size[i] = info->size;
		ck_assert_uint_le(strlen(info->uidl), STORAGE_UIDL_MAX);
		strcpy(c->uidl[i], info->uidl);
	}
	ops->close(box);
	pool_destroy(pool);
}

void mbox_test_free_contents(struct mbox_test_contents *c)
{
	for (unsigned i = 0; i < c->count; i++)
		free(c->data[i]);
	c->count = 0;
}
