/*
 * The storage API (DESIGN §4): what the POP3 side needs from a mailbox, and
 * the operations a storage module (MODULE_KIND_STORAGE) implements.
 *
 * Contract:
 *  - open() takes the exclusive POP3 session lock for the mailbox
 *    (ERROR_IN_USE when another session holds it) and a snapshot of its
 *    messages. The lock must not outlive the process (use flock/fcntl on an
 *    open file, so a killed worker leaves no lock behind).
 *  - The snapshot never changes: mail that arrives later is not listed and
 *    not touched by commit_deletions().
 *  - Each message has a UIDL of 1..70 octets in 0x21..0x7E, unique in the
 *    mailbox and the same in every session, and a size: the octets of
 *    what the message reader yields with CRLF line ends. RETR also
 *    sends a CRLF after an unterminated last line; a module may count
 *    it (message_wire_size() of the content, so LIST equals RETR's
 *    octets) or leave it out, as Dovecot and Courier do and Roost's
 *    maildir and Dovecot-mode mbox do (message_wire_size() - 2 for such
 *    a message), so that sizes survive a migration. Sizes must come from cheap
 *    metadata or a cache where possible: STAT must not read bodies twice.
 *  - commit_deletions() is called only on QUIT from the TRANSACTION state.
 *    Each removal is atomic; messages not marked are never touched.
 *  - Errors use struct error kinds: ERROR_TEMP becomes [SYS/TEMP],
 *    ERROR_PERM becomes [SYS/PERM], ERROR_IN_USE becomes [IN-USE].
 *  - All memory comes from the pool given to open(); close() releases
 *    locks and descriptors, the caller then destroys the pool.
 */
#ifndef ROOST_STORAGE_H
#define ROOST_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "pool.h"

/* RFC 1939 §7: a UIDL is 1..70 octets of 0x21..0x7E. */
#define STORAGE_UIDL_MAX 70

struct storage_mailbox;          /* defined by each module */
struct storage_message_reader;   /* defined by each module */

struct storage_message_info {
	const char *uidl;
	uint64_t size;   /* POP3 size, see above */
};

struct storage_user {
	const char *user;   /* login name, for log messages */
	const char *home;   /* may be NULL */
};

struct storage_ops {
	/* path: the mail location with the "NAME:" prefix removed and
	 * variables already expanded. */
	struct storage_mailbox *(*open)(pool_t *pool, const char *path,
					const struct storage_user *user,
					struct error *err);
	unsigned (*message_count)(struct storage_mailbox *box);
	/* index: 0 .. message_count-1; any other index returns NULL. The
	 * result lives as long as box. */
	const struct storage_message_info *(*message_info)(
		struct storage_mailbox *box, unsigned index);
	/* Reads the stored bytes of a message (any line ends; mbox quoting
	 * already undone). read() returns bytes read, 0 at the end, -1 with
	 * err set. */
	struct storage_message_reader *(*message_open)(
		struct storage_mailbox *box, unsigned index, struct error *err);
	ssize_t (*message_read)(struct storage_message_reader *reader,
				void *buf, size_t size, struct error *err);
	void (*message_close)(struct storage_message_reader *reader);
	/* deleted[i] is true for each message the client deleted. */
	int (*commit_deletions)(struct storage_mailbox *box,
				const bool *deleted, struct error *err);
	void (*close)(struct storage_mailbox *box);
};

/* True when s[0..len) may be sent as a UIDL (see STORAGE_UIDL_MAX). */
bool storage_uidl_is_valid(const char *s, size_t len);

/* Dovecot 2.3's default UIDL (pop3_uidl_format = %08Xu%08Xv, which prints
 * lower-case hex): the UID, then the UIDVALIDITY, eight hex digits each.
 * For storage modules that inherit mailboxes Dovecot served. */
#define STORAGE_DOVECOT_UIDL_LEN 16
void storage_uidl_dovecot(uint32_t uid, uint32_t uidvalidity,
			  char out[STORAGE_DOVECOT_UIDL_LEN + 1]);

/* One "key=value" option of a mail location. */
struct storage_location_option {
	const char *key;
	const char *value;
};

/* Splits a location "PATH[:key=value]..." (what open() receives) into the
 * path and its options, all allocated from pool. An empty path, an option
 * without '=' or a key given twice is ERROR_INVALID with a message that
 * starts with module_name; which keys exist is the module's business. */
int storage_location_split(pool_t *pool, const char *location,
			   const char *module_name, const char **path_r,
			   struct storage_location_option **options_r,
			   unsigned *count_r, struct error *err);

#endif
