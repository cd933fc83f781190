/* Passdb and userdb calls through the cache; see auth-lookup.h. */
#include "config.h"
#include "auth-lookup.h"

#include <stdlib.h>
#include <string.h>

struct auth_lookup {
	struct buffer key;              /* empty: not cacheable */
	pool_t *reply_pool;
	auth_worker_callback *callback;
	void *context;
	struct auth_worker_call *call;
	struct event_timer *timer;      /* answering a cache hit */
	struct auth_worker_reply reply;
};

static struct {
	struct event_loop *loop;
	struct auth_cache *cache;
} L;

void auth_lookup_init(struct event_loop *loop, struct auth_cache *cache)
{
	L.loop = loop;
	L.cache = cache;
}

static void lookup_free(struct auth_lookup *lookup)
{
	buffer_free(&lookup->key);
	free(lookup);
}

static void cached_reply(void *context)
{
	struct auth_lookup *lookup = context;
	lookup->timer = NULL;
	lookup->callback(lookup->context, &lookup->reply);
	lookup_free(lookup);
}

static void worker_reply(void *context, const struct auth_worker_reply *reply)
{
	struct auth_lookup *lookup = context;
	lookup->call = NULL;
	if (lookup->key.len > 0)
		auth_cache_insert(L.cache, &lookup->key, event_loop_now(L.loop),
				  reply->result, reply->reason, &reply->fields);
	lookup->callback(lookup->context, reply);
	lookup_free(lookup);
}

struct auth_lookup *auth_lookup_start(enum auth_worker_op op, const char *user,
				      const char *password,
				      const struct auth_user_fields *fields,
				      pool_t *reply_pool,
				      auth_worker_callback *callback,
				      void *context)
{
	struct auth_lookup *lookup = xmalloc(sizeof(*lookup));
	buffer_init(&lookup->key);
	lookup->reply_pool = reply_pool;
	lookup->callback = callback;
	lookup->context = context;
	if (L.cache != NULL && op == AUTH_WORKER_VERIFY)
		auth_cache_key_passdb(&lookup->key, user, password);
	else if (L.cache != NULL && op == AUTH_WORKER_USERDB)
		auth_cache_key_userdb(&lookup->key, user);
	if (lookup->key.len > 0 &&
	    auth_cache_lookup(L.cache, &lookup->key, event_loop_now(L.loop),
			      reply_pool, &lookup->reply.result,
			      &lookup->reply.reason, &lookup->reply.fields)) {
		lookup->timer = event_timer_add(L.loop, 0, cached_reply, lookup);
		return lookup;
	}
	lookup->call = auth_worker_call(op, user, password, fields, reply_pool,
					worker_reply, lookup);
	return lookup;
}

void auth_lookup_abort(struct auth_lookup *lookup)
{
	if (lookup->call != NULL)
		auth_worker_call_abort(lookup->call);
	event_timer_remove(lookup->timer);
	lookup_free(lookup);
}
