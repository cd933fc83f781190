/*
 * Fixtures for the mbox storage unit tests (test-mbox, test-mbox-index):
 * the mailbox under test is "mbox" in the fs-test-util.h directory, put
 * there from the crafted files in MBOX_TEST_DATA (tests/unit/data-mbox,
 * set by the build), and is read back through the module's storage_ops
 * the way a session does. Failures are check assertions.
 */
#ifndef ROOST_MBOX_TEST_UTIL_H
#define ROOST_MBOX_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"
#include "error.h"
#include "storage.h"

/* More than any crafted mailbox holds. */
#define MBOX_TEST_MAX_MSGS 16

/* A mailbox's list and contents as a session sees them. data[i] is
 * malloc'd: mbox_test_free_contents() frees them. */
struct mbox_test_contents {
	unsigned count;
	char *data[MBOX_TEST_MAX_MSGS];
	size_t len[MBOX_TEST_MAX_MSGS];
	uint64_t size[MBOX_TEST_MAX_MSGS];
	char uidl[MBOX_TEST_MAX_MSGS][STORAGE_UIDL_MAX + 1];
};

/* MBOX_TEST_DATA/name read whole, NUL-terminated; the caller frees. */
char *mbox_test_read_data(const char *name, size_t *len_r);
/* Replaces the test directory's "mbox" with MBOX_TEST_DATA/name. */
void mbox_test_copy_data(const char *name);

/* Opens the test directory's "mbox" with location options opts (such as
 * ":lock=fcntl", or "") for user "tester" whose home is the test
 * directory. The mailbox lives in pool; the caller closes it with the
 * module's close(). NULL with *err set when the module refuses. */
struct storage_mailbox *mbox_test_open(pool_t *pool, const char *opts,
				       struct error *err);
/* Message i of box read whole through message_read() in small odd-sized
 * pieces (which exercises the reader's buffering); the caller frees. */
char *mbox_test_read_message(struct storage_mailbox *box, unsigned i,
			     size_t *len_r);
/* Opens the mailbox with opts, reads the list and every message into *c,
 * closes it. The caller frees *c with mbox_test_free_contents() and
 * checks what it needs (sizes, files left behind). */
void mbox_test_load(struct mbox_test_contents *c, const char *opts);
/* Frees the messages' data and empties *c. */
void mbox_test_free_contents(struct mbox_test_contents *c);

#endif
