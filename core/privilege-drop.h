/*
 * Switching a freshly forked service process (login, auth, key) from root
 * to its configured system user. Every such process goes through here so
 * that each gets the same checks: the user exists and is not root, the
 * supplementary groups are replaced, and root cannot be regained.
 */
#ifndef ROOST_PRIVILEGE_DROP_H
#define ROOST_PRIVILEGE_DROP_H

#include "error.h"

/* Becomes user (named by the setting setting_name, for the message), after
 * chroot(chroot_dir) + chdir("/") when chroot_dir is not NULL. Returns -1
 * with err naming the setting and the step that failed; the process must
 * then exit, as it may be half switched. */
int privilege_drop_to_user(const char *setting_name, const char *user,
			   const char *chroot_dir, struct error *err);

#endif
