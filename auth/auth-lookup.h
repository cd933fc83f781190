/*
 * A passdb or userdb call as the rest of the auth process makes it:
 * answered from the auth cache when it can be (auth-cache.h), otherwise
 * by an auth worker (auth-worker.h), whose answer is then cached. The
 * callback always runs later, never from inside auth_lookup_start().
 * CREDENTIALS calls are not cached (the stored secret stays in workers
 * and the exchange that asked for it).
 */
#ifndef ROOST_AUTH_LOOKUP_H
#define ROOST_AUTH_LOOKUP_H

#include "auth-cache.h"
#include "auth-worker.h"
#include "event-loop.h"

struct auth_lookup;

/* cache may be NULL (off). */
void auth_lookup_init(struct event_loop *loop, struct auth_cache *cache);
/* Arguments as for auth_worker_call(). */
struct auth_lookup *auth_lookup_start(enum auth_worker_op op, const char *user,
				      const char *password,
				      const struct auth_user_fields *fields,
				      pool_t *reply_pool,
				      auth_worker_callback *callback,
				      void *context);
/* The callback will not run; safe until it has run. */
void auth_lookup_abort(struct auth_lookup *lookup);

#endif
