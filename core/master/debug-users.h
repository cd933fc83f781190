/*
 * Users with debug logging switched on at run time (roostctl debug USER
 * on|off). The master remembers them across reloads (not restarts) and
 * starts their mail workers with debug logging; running workers are told
 * through session-table.h.
 */
#ifndef ROOST_DEBUG_USERS_H
#define ROOST_DEBUG_USERS_H

#include <stdbool.h>

/* Debugging is for a handful of users at a time; a bounded list keeps
 * roostctl from growing the master without limit. */
#define DEBUG_USERS_MAX 64

/* Returns -1 when on and the list is full. */
int debug_users_set(const char *user, bool on);
bool debug_users_has(const char *user);
/* The i-th user, or NULL past the end. */
const char *debug_users_get(unsigned i);
void debug_users_clear(void);

#endif
