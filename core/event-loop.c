/* epoll + timer heap + signalfd; see event-loop.h. */
#include "config.h"
#include "event-loop.h"
#include "log.h"
#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

/* Events fetched per epoll_wait(): enough to drain a busy login process in
 * few system calls, small enough to keep fairness between rounds. */
#define EVENT_BATCH 128
/* Signals fit in a 64-bit mask on Linux. */
#define EVENT_SIGNAL_MAX 65

struct event_io {
	struct event_loop *loop;
	int fd;
	unsigned events;
	bool exclusive;
	bool removed;
	event_io_callback *callback;
	void *context;
	struct event_io *prev_live, *next_live;   /* registered handles */
	struct event_io *next_dead;
};

struct event_timer {
	struct event_loop *loop;
	uint64_t deadline;
	uint64_t sequence;     /* equal deadlines fire in creation order */
	size_t heap_index;     /* SIZE_MAX when not in the heap */
	event_callback *callback;
	void *context;
	struct event_timer *next_dead;
};

struct event_signal {
	struct event_loop *loop;
	int signo;
	event_signal_callback *callback;
	void *context;
};

struct event_loop {
	int epoll_fd;
	bool stopped;
	bool forgotten;    /* after fork: kernel objects belong to the parent */
	uint64_t now;
	uint64_t timer_sequence;
	struct event_timer **heap;
	size_t heap_len, heap_cap;
	struct event_io *live_ios;
	struct event_io *dead_ios;
	struct event_timer *dead_timers;
	int signal_fd;
	struct event_io *signal_io;
	sigset_t signal_mask;
	struct event_signal *signals[EVENT_SIGNAL_MAX];
};

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct event_loop *event_loop_create(void)
{
	struct event_loop *loop = xmalloc(sizeof(*loop));
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0) {
		/* Only fails on fd or memory exhaustion at process start. */
		log_error("epoll_create1: %s", strerror(errno));
		abort();
	}
	loop->signal_fd = -1;
	sigemptyset(&loop->signal_mask);
	loop->now = monotonic_ms();
	return loop;
}

static void release_dead(struct event_loop *loop)
{
	while (loop->dead_ios != NULL) {
		struct event_io *io = loop->dead_ios;
		loop->dead_ios = io->next_dead;
		free(io);
	}
	while (loop->dead_timers != NULL) {
		struct event_timer *t = loop->dead_timers;
		loop->dead_timers = t->next_dead;
		free(t);
	}
}

void event_loop_forget_after_fork(struct event_loop *loop)
{
	loop->forgotten = true;
}

void event_loop_destroy(struct event_loop *loop)
{
	if (loop == NULL)
		return;
	if (loop->forgotten)
		sigprocmask(SIG_UNBLOCK, &loop->signal_mask, NULL);
	for (int i = 0; i < EVENT_SIGNAL_MAX; i++) {
		if (loop->signals[i] != NULL)
			event_signal_remove(loop->signals[i]);
	}
	while (loop->live_ios != NULL) {
		struct event_io *io = loop->live_ios;
		loop->live_ios = io->next_live;
		free(io);
	}
	loop->signal_io = NULL;
	for (size_t i = 0; i < loop->heap_len; i++)
		free(loop->heap[i]);
	free(loop->heap);
	release_dead(loop);
	if (loop->signal_fd >= 0)
		close(loop->signal_fd);
	close(loop->epoll_fd);
	free(loop);
}

void event_loop_stop(struct event_loop *loop)
{
	loop->stopped = true;
}

uint64_t event_loop_now(struct event_loop *loop)
{
	return loop->now;
}

/* ---- file descriptors ---- */

static uint32_t epoll_events(const struct event_io *io)
{
	uint32_t ev = 0;
	if (io->events & EVENT_IN)
		ev |= EPOLLIN;
	if (io->events & EVENT_OUT)
		ev |= EPOLLOUT;
	if (io->exclusive)
		ev |= EPOLLEXCLUSIVE;
	return ev;
}

struct event_io *event_io_add(struct event_loop *loop, int fd, unsigned events,
			      bool exclusive, event_io_callback *callback,
			      void *context)
{
	struct event_io *io = xmalloc(sizeof(*io));
	io->loop = loop;
	io->fd = fd;
	io->events = events;
	io->exclusive = exclusive;
	io->callback = callback;
	io->context = context;
	struct epoll_event ev = { .events = epoll_events(io), .data.ptr = io };
	if (!loop->forgotten && epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_error("epoll_ctl(ADD, %d): %s", fd, strerror(errno));
		free(io);
		return NULL;
	}
	io->next_live = loop->live_ios;
	if (loop->live_ios != NULL)
		loop->live_ios->prev_live = io;
	loop->live_ios = io;
	return io;
}

void event_io_set_events(struct event_io *io, unsigned events)
{
	if (io->events == events || io->removed)
		return;
	io->events = events;
	if (io->loop->forgotten)
		return;
	/* EPOLLEXCLUSIVE handles cannot be modified; re-add them. */
	struct epoll_event ev = { .events = epoll_events(io), .data.ptr = io };
	if (io->exclusive) {
		epoll_ctl(io->loop->epoll_fd, EPOLL_CTL_DEL, io->fd, NULL);
		if (epoll_ctl(io->loop->epoll_fd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
			log_error("epoll_ctl(ADD, %d): %s", io->fd, strerror(errno));
	} else if (epoll_ctl(io->loop->epoll_fd, EPOLL_CTL_MOD, io->fd, &ev) < 0) {
		log_error("epoll_ctl(MOD, %d): %s", io->fd, strerror(errno));
	}
}

void event_io_remove(struct event_io *io)
{
	if (io == NULL || io->removed)
		return;
	io->removed = true;
	if (!io->loop->forgotten)
		epoll_ctl(io->loop->epoll_fd, EPOLL_CTL_DEL, io->fd, NULL);
	if (io->prev_live != NULL)
		io->prev_live->next_live = io->next_live;
	else
		io->loop->live_ios = io->next_live;
	if (io->next_live != NULL)
		io->next_live->prev_live = io->prev_live;
	io->next_dead = io->loop->dead_ios;
	io->loop->dead_ios = io;
}

/* ---- timers: a binary min-heap on (deadline, sequence) ---- */

static bool timer_before(const struct event_timer *a, const struct event_timer *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->sequence < b->sequence;
}

static void heap_swap(struct event_loop *loop, size_t i, size_t j)
{
	struct event_timer *t = loop->heap[i];
	loop->heap[i] = loop->heap[j];
	loop->heap[j] = t;
	loop->heap[i]->heap_index = i;
	loop->heap[j]->heap_index = j;
}

static void heap_up(struct event_loop *loop, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!timer_before(loop->heap[i], loop->heap[parent]))
			break;
		heap_swap(loop, i, parent);
		i = parent;
	}
}

static void heap_down(struct event_loop *loop, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < loop->heap_len && timer_before(loop->heap[l], loop->heap[m]))
			m = l;
		if (r < loop->heap_len && timer_before(loop->heap[r], loop->heap[m]))
			m = r;
		if (m == i)
			break;
		heap_swap(loop, i, m);
		i = m;
	}
}

static void heap_insert(struct event_loop *loop, struct event_timer *t)
{
	if (loop->heap_len == loop->heap_cap) {
		loop->heap_cap = loop->heap_cap == 0 ? 64 : loop->heap_cap * 2;
		loop->heap = xrealloc(loop->heap, loop->heap_cap * sizeof(*loop->heap));
	}
	t->heap_index = loop->heap_len;
	loop->heap[loop->heap_len++] = t;
	heap_up(loop, t->heap_index);
}

static void heap_delete(struct event_loop *loop, struct event_timer *t)
{
	size_t i = t->heap_index;
	if (i == SIZE_MAX)
		return;
	loop->heap_len--;
	if (i != loop->heap_len) {
		loop->heap[i] = loop->heap[loop->heap_len];
		loop->heap[i]->heap_index = i;
		heap_down(loop, i);
		heap_up(loop, i);
	}
	t->heap_index = SIZE_MAX;
}

struct event_timer *event_timer_add(struct event_loop *loop, unsigned msecs,
				    event_callback *callback, void *context)
{
	struct event_timer *t = xmalloc(sizeof(*t));
	t->loop = loop;
	t->callback = callback;
	t->context = context;
	t->deadline = monotonic_ms() + msecs;
	t->sequence = loop->timer_sequence++;
	heap_insert(loop, t);
	return t;
}

void event_timer_reset(struct event_timer *t, unsigned msecs)
{
	struct event_loop *loop = t->loop;
	if (t->heap_index == SIZE_MAX)
		return;
	heap_delete(loop, t);
	t->deadline = monotonic_ms() + msecs;
	t->sequence = loop->timer_sequence++;
	heap_insert(loop, t);
}

void event_timer_remove(struct event_timer *t)
{
	if (t == NULL || t->heap_index == SIZE_MAX)
		return;
	heap_delete(t->loop, t);
	t->next_dead = t->loop->dead_timers;
	t->loop->dead_timers = t;
}

static void run_timers(struct event_loop *loop)
{
	while (loop->heap_len > 0 && !loop->stopped) {
		struct event_timer *t = loop->heap[0];
		if (t->deadline > loop->now)
			break;
		/* One-shot: unlink before the callback so it may re-add. */
		event_timer_remove(t);
		t->callback(t->context);
	}
}

/* ---- signals ---- */

static void signal_input(void *context, unsigned revents)
{
	struct event_loop *loop = context;
	struct signalfd_siginfo info;
	while (read(loop->signal_fd, &info, sizeof(info)) == sizeof(info)) {
		int signo = (int)info.ssi_signo;
		if (signo > 0 && signo < EVENT_SIGNAL_MAX && loop->signals[signo] != NULL) {
			struct event_signal *sig = loop->signals[signo];
			sig->callback(sig->context, signo);
		}
	}
}

struct event_signal *event_signal_add(struct event_loop *loop, int signo,
				      event_signal_callback *callback,
				      void *context)
{
	if (signo <= 0 || signo >= EVENT_SIGNAL_MAX || loop->signals[signo] != NULL)
		return NULL;
	struct event_signal *sig = xmalloc(sizeof(*sig));
	sig->loop = loop;
	sig->signo = signo;
	sig->callback = callback;
	sig->context = context;
	loop->signals[signo] = sig;
	sigaddset(&loop->signal_mask, signo);
	sigprocmask(SIG_BLOCK, &loop->signal_mask, NULL);
	loop->signal_fd = signalfd(loop->signal_fd, &loop->signal_mask,
				   SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop->signal_io == NULL && loop->signal_fd >= 0)
		loop->signal_io = event_io_add(loop, loop->signal_fd, EVENT_IN,
					       false, signal_input, loop);
	return sig;
}

void event_signal_remove(struct event_signal *sig)
{
	if (sig == NULL)
		return;
	struct event_loop *loop = sig->loop;
	loop->signals[sig->signo] = NULL;
	if (loop->forgotten) {
		free(sig);
		return;
	}
	sigdelset(&loop->signal_mask, sig->signo);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig->signo);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	if (loop->signal_fd >= 0)
		signalfd(loop->signal_fd, &loop->signal_mask, SFD_NONBLOCK | SFD_CLOEXEC);
	free(sig);
}

/* ---- dispatch ---- */

void event_loop_run(struct event_loop *loop)
{
	struct epoll_event events[EVENT_BATCH];
	while (!loop->stopped) {
		loop->now = monotonic_ms();
		int timeout = -1;
		if (loop->heap_len > 0) {
			uint64_t d = loop->heap[0]->deadline;
			timeout = d <= loop->now ? 0 : (int)(d - loop->now);
		}
		int n = epoll_wait(loop->epoll_fd, events, EVENT_BATCH, timeout);
		if (n < 0 && errno != EINTR) {
			log_error("epoll_wait: %s", strerror(errno));
			break;
		}
		loop->now = monotonic_ms();
		for (int i = 0; i < n && !loop->stopped; i++) {
			struct event_io *io = events[i].data.ptr;
			if (io->removed)
				continue;
			unsigned rev = 0;
			if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				rev |= EVENT_IN;
			if (events[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				rev |= EVENT_OUT;
			rev &= io->events;
			if (rev != 0)
				io->callback(io->context, rev);
		}
		run_timers(loop);
		release_dead(loop);
	}
	loop->stopped = false;
}
