/*
 * Hands memory back to the kernel after a burst of clients.
 *
 * A process that held many short-lived clients at once (a thousand TLS
 * handshakes, say) frees them into malloc's heap, and malloc keeps those
 * pages: a few long-lived allocations above them stop it from shrinking
 * the heap. Measured in a login process: 4 MB in use but 28 MB resident
 * after 1000 abandoned handshakes, 8 MB after malloc_trim(0). The owner
 * reports its client count whenever it changes; once the count has
 * fallen to a quarter of the peak since the last release, malloc_trim()
 * runs a little later, from the event loop.
 *
 * Single-threaded, one per process; the owner creates it after its event
 * loop and destroys it before the loop.
 */
#ifndef ROOST_MEMORY_RELEASE_H
#define ROOST_MEMORY_RELEASE_H

#include "event-loop.h"

struct memory_release;

/* Never fails (allocation failure aborts, as everywhere). */
struct memory_release *memory_release_create(struct event_loop *loop);
void memory_release_note_clients(struct memory_release *mr, unsigned clients);
void memory_release_destroy(struct memory_release *mr);

#endif
