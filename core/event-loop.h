/*
 * A small epoll event loop: file descriptor readiness, one-shot timers and
 * signals (through signalfd), all level-triggered and single-threaded.
 *
 * Ownership: event_io_add()/event_timer_add()/event_signal_add() return
 * handles the caller removes with the matching *_remove(); removing a
 * handle from inside any callback is safe (memory is released after the
 * current dispatch round). Callbacks never run for a removed handle.
 */
#ifndef ROOST_EVENT_LOOP_H
#define ROOST_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#define EVENT_IN  0x1u
#define EVENT_OUT 0x2u

struct event_loop;
struct event_io;
struct event_timer;
struct event_signal;

/* revents: EVENT_IN / EVENT_OUT; errors and hang-ups are reported as both
 * so that the next read or write sees them. */
typedef void event_io_callback(void *context, unsigned revents);
typedef void event_callback(void *context);
typedef void event_signal_callback(void *context, int signo);

struct event_loop *event_loop_create(void);
/* Frees the loop and every handle still registered. */
void event_loop_destroy(struct event_loop *loop);
/* In a child right after fork(): the epoll and signalfd descriptions are
 * shared with the parent, so from now on this loop never changes them
 * (no epoll_ctl, no signalfd mask updates); event_loop_destroy() then only
 * closes the child's descriptors and unblocks its signals. */
void event_loop_forget_after_fork(struct event_loop *loop);
/* Runs until event_loop_stop(); a stop requested before the call makes it
 * return at once. */
void event_loop_run(struct event_loop *loop);
void event_loop_stop(struct event_loop *loop);
/* Milliseconds of a monotonic clock, cached per dispatch round. */
uint64_t event_loop_now(struct event_loop *loop);

/* exclusive: EPOLLEXCLUSIVE, for listening sockets shared by processes. */
struct event_io *event_io_add(struct event_loop *loop, int fd, unsigned events,
			      bool exclusive, event_io_callback *callback,
			      void *context);
void event_io_set_events(struct event_io *io, unsigned events);
void event_io_remove(struct event_io *io);

struct event_timer *event_timer_add(struct event_loop *loop, unsigned msecs,
				    event_callback *callback, void *context);
/* Moves the deadline to now + msecs. */
void event_timer_reset(struct event_timer *timer, unsigned msecs);
/* A one-shot timer is gone once its callback has run: the owner must
 * forget its handle inside the callback. (Removing it again within the
 * same dispatch round is harmless; later the memory is gone.) */
void event_timer_remove(struct event_timer *timer);

/* Blocks signo for the process and delivers it through the loop. */
struct event_signal *event_signal_add(struct event_loop *loop, int signo,
				      event_signal_callback *callback,
				      void *context);
void event_signal_remove(struct event_signal *sig);

#endif
