/*
 * roostctl mailbox status: a short-lived child of the master, running as
 * the mailbox owner exactly like a mail worker (same uid checks, same
 * storage module and mail location), that opens the mailbox through the
 * storage API, adds up what POP3 STAT would report and closes it again.
 *
 * It takes the POP3 session lock through the normal open() rather than
 * reading the files behind the storage's back: the storage API has no
 * read-only mode, and only open() gives the numbers a client would see
 * (size caches, UIDL rules, mbox parsing) for every storage module,
 * third-party ones included. The lock is held for the few milliseconds of
 * the count; a user who is logged in gets ERROR_IN_USE and is reported as
 * such, never disturbed. Side effects are those of a login without
 * commands (maildir: new/ moved to cur/, size cache written).
 *
 * The result is one line on result_fd:
 *   OK messages octets    or    FAIL kind message
 * with kind one of in-use, temp, perm, notfound, invalid.
 */
#ifndef ROOST_MAILBOX_STATUS_H
#define ROOST_MAILBOX_STATUS_H

#include "mail-worker.h"

/* Returns the process exit status. params->client_fd is unused. */
int mailbox_status_main(const struct mail_worker_params *params, int result_fd);

#endif
