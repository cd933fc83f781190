/* Gives malloc's free pages back after a burst; see memory-release.h. */
#include "config.h"
#include "memory-release.h"

#include "pool.h"

#include <malloc.h>
#include <stdlib.h>

/* Below this peak the memory a burst leaves behind is a few hundred KiB at
 * most (a client costs tens of KiB): not worth a walk of the heap. */
#define MEMORY_RELEASE_MIN_PEAK 64
/* Waiting lets a burst that ends in waves (timeouts expire in batches)
 * finish first, so one trim covers it; a trim takes a few milliseconds
 * on a heap of tens of MB, and runs at most this often. */
#define MEMORY_RELEASE_DELAY_MS 5000

struct memory_release {
	struct event_loop *loop;
	struct event_timer *timer;
	unsigned peak;
	unsigned clients;
};

struct memory_release *memory_release_create(struct event_loop *loop)
{
	struct memory_release *mr = xmalloc(sizeof(*mr));
	mr->loop = loop;
	mr->timer = NULL;
	mr->peak = 0;
	mr->clients = 0;
	return mr;
}

static void memory_release_run(void *context)
{
	struct memory_release *mr = context;
	mr->timer = NULL;
	(void)malloc_trim(0);
	mr->peak = mr->clients;
}

void memory_release_note_clients(struct memory_release *mr, unsigned clients)
{
	mr->clients = clients;
	if (clients > mr->peak)
		mr->peak = clients;
	if (mr->timer == NULL && mr->peak >= MEMORY_RELEASE_MIN_PEAK &&
	    clients <= mr->peak / 4)
		mr->timer = event_timer_add(mr->loop, MEMORY_RELEASE_DELAY_MS,
					    memory_release_run, mr);
}

void memory_release_destroy(struct memory_release *mr)
{
	if (mr == NULL)
		return;
	if (mr->timer != NULL)
		event_timer_remove(mr->timer);
	free(mr);
}
