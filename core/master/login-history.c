/* Last login per user for LOGIN-DELAY; see login-history.h. */
#include "config.h"
#include "login-history.h"

#include "pool.h"

#include <search.h>
#include <stdlib.h>
#include <string.h>

/* A full table is swept for expired entries at most this often, so a
 * table full of live entries costs one walk per interval, not per login. */
#define LOGIN_HISTORY_SWEEP_MS 1000

struct login_entry {
	struct login_entry *prev, *next;   /* by login time, oldest first */
	uint64_t login_ms;
	uint64_t until_ms;                 /* login_ms + the user's delay */
	char user[];
};

static struct {
	void *tree;                        /* tsearch() by user */
	struct login_entry *oldest, *newest;
	unsigned count;
	uint64_t last_sweep_ms;
} H;

static int compare_user(const void *a, const void *b)
{
	return strcmp(((const struct login_entry *)a)->user,
		      ((const struct login_entry *)b)->user);
}

static struct login_entry *find(const char *user)
{
	size_t len = strlen(user);
	struct login_entry *key = xmalloc(sizeof(*key) + len + 1);
	memcpy(key->user, user, len + 1);
	void *node = tfind(key, &H.tree, compare_user);
	free(key);
	return node != NULL ? *(struct login_entry **)node : NULL;
}

static void list_unlink(struct login_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		H.oldest = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		H.newest = e->prev;
	e->prev = e->next = NULL;
}

static void list_append(struct login_entry *e)
{
	e->prev = H.newest;
	if (H.newest != NULL)
		H.newest->next = e;
	else
		H.oldest = e;
	H.newest = e;
}

static void forget(struct login_entry *e)
{
	list_unlink(e);
	tdelete(e, &H.tree, compare_user);
	H.count--;
	free(e);
}

static void make_room(uint64_t now_ms)
{
	if (now_ms - H.last_sweep_ms >= LOGIN_HISTORY_SWEEP_MS ||
	    H.last_sweep_ms == 0) {
		H.last_sweep_ms = now_ms;
		struct login_entry *next;
		for (struct login_entry *e = H.oldest; e != NULL; e = next) {
			next = e->next;
			if (e->until_ms <= now_ms)
				forget(e);
		}
	}
	while (H.count >= LOGIN_HISTORY_MAX && H.oldest != NULL)
		forget(H.oldest);
}

unsigned login_history_wait(const char *user, unsigned delay_s, uint64_t now_ms)
{
	struct login_entry *e = find(user);
	if (e == NULL || delay_s == 0)
		return 0;
	uint64_t until = e->login_ms + (uint64_t)delay_s * 1000u;
	if (until <= now_ms)
		return 0;
	/* Rounded up: "wait 0 seconds" must not be an answer. */
	return (unsigned)((until - now_ms + 999u) / 1000u);
}

void login_history_record(const char *user, unsigned delay_s, uint64_t now_ms)
{
	struct login_entry *e = find(user);
	if (e != NULL)
		forget(e);
	if (delay_s == 0)
		return;
	if (H.count >= LOGIN_HISTORY_MAX)
		make_room(now_ms);
	size_t len = strlen(user);
	e = xmalloc(sizeof(*e) + len + 1);
	memcpy(e->user, user, len + 1);
	e->login_ms = now_ms;
	e->until_ms = now_ms + (uint64_t)delay_s * 1000u;
	if (tsearch(e, &H.tree, compare_user) == NULL) {
		free(e);
		return;
	}
	list_append(e);
	H.count++;
}

void login_history_clear(void)
{
	while (H.oldest != NULL)
		forget(H.oldest);
	H.last_sweep_ms = 0;
}

unsigned login_history_count(void)
{
	return H.count;
}
