/* Unit tests for the epoll event loop (core/event-loop.c): ordering of
 * timers, removal from inside callbacks, fd readiness and signals. Only
 * orders and counts are asserted, never durations. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event-loop.h"

static struct event_loop *loop;

/* Order in which timer callbacks ran. */
static int fired[256];
static unsigned n_fired;

static void setup(void)
{
	loop = event_loop_create();
	ck_assert_ptr_nonnull(loop);
	n_fired = 0;
	memset(fired, 0, sizeof(fired));
}

static void teardown(void)
{
	event_loop_destroy(loop);
}

struct tctx {
	int id;
	bool stop;
	struct event_timer *victim;    /* removed from this callback */
	struct event_timer **self;     /* cleared when fired */
};

static void record_timer(void *context)
{
	struct tctx *c = context;
	ck_assert_uint_lt(n_fired, 256);
	fired[n_fired++] = c->id;
	if (c->self != NULL)
		*c->self = NULL;
	if (c->victim != NULL)
		event_timer_remove(c->victim);
	if (c->stop)
		event_loop_stop(loop);
}

START_TEST(timers_in_deadline_order)
{
	struct tctx a = { .id = 3, .stop = true };
	struct tctx b = { .id = 1 };
	struct tctx c = { .id = 2 };
	struct tctx d = { .id = 0 };
	/* Added out of order. */
	event_timer_add(loop, 60, record_timer, &a);
	event_timer_add(loop, 20, record_timer, &b);
	event_timer_add(loop, 40, record_timer, &c);
	event_timer_add(loop, 0, record_timer, &d);
	event_loop_run(loop);
	ck_assert_uint_eq(n_fired, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(fired[i], i);
}
END_TEST

START_TEST(equal_deadlines_in_creation_order)
{
	/* Many timers with the same delay, added back to back: most share a
	 * deadline, and a heap without a tie-break would shuffle them. */
	enum { N = 200 };
	static struct tctx c[N];
	for (int i = 0; i < N; i++) {
		c[i] = (struct tctx){ .id = i, .stop = i == N - 1 };
		event_timer_add(loop, 5, record_timer, &c[i]);
	}
	event_loop_run(loop);
	ck_assert_uint_eq(n_fired, N);
	for (int i = 0; i < N; i++)
		ck_assert_msg(fired[i] == i, "position %d has timer %d", i, fired[i]);
}
END_TEST

START_TEST(timer_reset_later)
{
	struct tctx a = { .id = 1 };
	struct tctx b = { .id = 0 };
	struct tctx stop = { .id = 2, .stop = true };
	struct event_timer *ta = event_timer_add(loop, 10, record_timer, &a);
	event_timer_add(loop, 50, record_timer, &b);
	event_timer_add(loop, 300, record_timer, &stop);
	event_timer_reset(ta, 150);
	event_loop_run(loop);
	ck_assert_uint_eq(n_fired, 3);
	ck_assert_int_eq(fired[0], 0);
	ck_assert_int_eq(fired[1], 1);
	ck_assert_int_eq(fired[2], 2);
}
END_TEST

START_TEST(timer_reset_earlier)
{
	struct tctx a = { .id = 0 };
	struct tctx b = { .id = 1, .stop = true };
	struct event_timer *ta = event_timer_add(loop, 100000, record_timer, &a);
	event_timer_add(loop, 100, record_timer, &b);
	event_timer_reset(ta, 0);
	event_loop_run(loop);
	ck_assert_uint_eq(n_fired, 2);
	ck_assert_int_eq(fired[0], 0);
	ck_assert_int_eq(fired[1], 1);
}
END_TEST

START_TEST(timer_reset_equal_goes_last)
{
	/* A reset timer is newer than timers added before the reset. */
	struct tctx a = { .id = 2, .stop = true };
	struct tctx b = { .id = 0 };
	struct tctx c = { .id = 1 };
	struct event_timer *ta = event_timer_add(loop, 0, record_timer, &a);
	event_timer_add(loop, 0, record_timer, &b);
	event_timer_add(loop, 0, record_timer, &c);
	event_timer_reset(ta, 0);
	event_loop_run(loop);
	ck_assert_uint_eq(n_fired, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fired[i], i);
}
END_TEST

START_TEST(remove_timer_from_other_callback)
{
	/* Both are due in the same round; the first removes the second. */
	struct tctx victim = { .id = 99 };
	struct tctx killer = { .id = 1 };
	struct tctx stop = { .id = 2, .stop = true };
	event_timer_add(loop, 0, record_timer, &killer);
	struct event_timer *tv = event_timer_add(loop, 0, record_timer, &victim);
	killer.victim = tv;
	event_timer_add(loop, 50, record_timer, &stop);
	event_loop_run(loop);
	ck_assert_uint_eq(n_fired, 2);
	ck_assert_int_eq(fired[0], 1);
	ck_assert_int_eq(fired[1], 2);
}
END_TEST

START_TEST(remove_later_timer_from_callback)
{
	struct tctx victim = { .id = 99 };
	struct tctx killer = { .id = 1 };
	struct tctx stop = { .id = 2, .stop = true };
	struct event_timer *tv = event_timer_add(loop, 30, record_timer, &victim);
	event_timer_add(loop, 0, record_timer, &killer);
	killer.victim = tv;
	event_timer_add(loop, 100, record_timer, &stop);
	event_loop_run(loop);
	ck_assert_uint_eq(n_fired, 2);
	ck_assert_int_eq(fired[0], 1);
	ck_assert_int_eq(fired[1], 2);
}
END_TEST

static struct event_timer *self_timer;

static void remove_self_timer(void *context)
{
	fired[n_fired++] = 7;
	/* Gone once it runs: removing it now, even twice, is harmless. */
	event_timer_remove(self_timer);
	event_timer_remove(self_timer);
}

START_TEST(remove_timer_inside_own_callback)
{
	struct tctx stop = { .id = 2, .stop = true };
	self_timer = event_timer_add(loop, 0, remove_self_timer, NULL);
	event_timer_add(loop, 30, record_timer, &stop);
	event_loop_run(loop);
	ck_assert_uint_eq(n_fired, 2);
	ck_assert_int_eq(fired[0], 7);
	ck_assert_int_eq(fired[1], 2);
}
END_TEST

START_TEST(remove_timer_before_run)
{
	struct tctx a = { .id = 99 };
	struct tctx stop = { .id = 1, .stop = true };
	struct event_timer *t = event_timer_add(loop, 0, record_timer, &a);
	event_timer_add(loop, 20, record_timer, &stop);
	event_timer_remove(t);
	event_loop_run(loop);
	ck_assert_uint_eq(n_fired, 1);
	ck_assert_int_eq(fired[0], 1);
}
END_TEST

static void readd_timer(void *context)
{
	int *left = context;
	fired[n_fired++] = *left;
	if (--*left > 0)
		event_timer_add(loop, 0, readd_timer, left);
	else
		event_loop_stop(loop);
}

START_TEST(timer_readds_itself)
{
	int left = 3;
	event_timer_add(loop, 0, readd_timer, &left);
	event_loop_run(loop);
	ck_assert_uint_eq(n_fired, 3);
	ck_assert_int_eq(left, 0);
}
END_TEST

/* ---- fds ---- */

struct ioctx {
	int fd;
	unsigned calls;
	unsigned revents;
	char data[64];
	size_t len;
	struct event_io *io;
	struct event_io *victim;
	bool remove_self;
	bool stop;
};

static void io_read(void *context, unsigned revents)
{
	struct ioctx *c = context;
	c->calls++;
	c->revents |= revents;
	if (revents & EVENT_IN) {
		ssize_t n = read(c->fd, c->data + c->len, sizeof(c->data) - c->len);
		if (n > 0)
			c->len += (size_t)n;
	}
	if (c->victim != NULL)
		event_io_remove(c->victim);
	if (c->remove_self)
		event_io_remove(c->io);
	if (c->stop)
		event_loop_stop(loop);
}

static void stop_timer(void *context)
{
	event_loop_stop(loop);
}

START_TEST(pipe_readiness)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	struct ioctx rc = { .fd = p[0], .stop = true };
	rc.io = event_io_add(loop, p[0], EVENT_IN, false, io_read, &rc);
	ck_assert_ptr_nonnull(rc.io);
	ck_assert_int_eq(write(p[1], "ping", 4), 4);
	event_loop_run(loop);
	ck_assert_uint_eq(rc.calls, 1);
	ck_assert(rc.revents & EVENT_IN);
	ck_assert_uint_eq(rc.len, 4);
	ck_assert(memcmp(rc.data, "ping", 4) == 0);

	/* Writability on the other end. */
	struct ioctx wc = { .fd = p[1], .stop = true };
	event_io_remove(rc.io);
	wc.io = event_io_add(loop, p[1], EVENT_OUT, false, io_read, &wc);
	event_loop_run(loop);
	ck_assert_uint_eq(wc.calls, 1);
	ck_assert_uint_eq(wc.revents, EVENT_OUT);
	event_io_remove(wc.io);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(no_readiness_without_data)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	struct ioctx rc = { .fd = p[0] };
	rc.io = event_io_add(loop, p[0], EVENT_IN, false, io_read, &rc);
	event_timer_add(loop, 30, stop_timer, NULL);
	event_loop_run(loop);
	ck_assert_uint_eq(rc.calls, 0);
	event_io_remove(rc.io);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(set_events_to_zero)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	struct ioctx rc = { .fd = p[0] };
	rc.io = event_io_add(loop, p[0], EVENT_IN, false, io_read, &rc);
	event_io_set_events(rc.io, 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	event_timer_add(loop, 30, stop_timer, NULL);
	event_loop_run(loop);
	ck_assert_uint_eq(rc.calls, 0);
	event_io_set_events(rc.io, EVENT_IN);
	rc.stop = true;
	event_loop_run(loop);
	ck_assert_uint_eq(rc.calls, 1);
	event_io_remove(rc.io);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(remove_io_inside_own_callback)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	/* remove_self without reading: level-triggered readiness stays, so a
	 * callback for a removed handle would show up as a second call. */
	struct ioctx rc = { .fd = -1, .remove_self = true };
	rc.io = event_io_add(loop, p[0], EVENT_IN, false, io_read, &rc);
	ck_assert_int_eq(write(p[1], "data", 4), 4);
	event_timer_add(loop, 50, stop_timer, NULL);
	event_loop_run(loop);
	ck_assert_uint_eq(rc.calls, 1);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(remove_other_io_in_same_round)
{
	/* Two ready fds; whichever runs first removes the other, which
	 * must then not run even though it was in the same epoll batch. */
	int p1[2], p2[2];
	ck_assert_int_eq(pipe2(p1, O_NONBLOCK), 0);
	ck_assert_int_eq(pipe2(p2, O_NONBLOCK), 0);
	/* Each removes itself too, so neither runs again in later rounds. */
	struct ioctx a = { .fd = -1, .remove_self = true };
	struct ioctx b = { .fd = -1, .remove_self = true };
	a.io = event_io_add(loop, p1[0], EVENT_IN, false, io_read, &a);
	b.io = event_io_add(loop, p2[0], EVENT_IN, false, io_read, &b);
	a.victim = b.io;
	b.victim = a.io;
	ck_assert_int_eq(write(p1[1], "a", 1), 1);
	ck_assert_int_eq(write(p2[1], "b", 1), 1);
	event_timer_add(loop, 50, stop_timer, NULL);
	event_loop_run(loop);
	ck_assert_uint_eq(a.calls + b.calls, 1);
	close(p1[0]); close(p1[1]);
	close(p2[0]); close(p2[1]);
}
END_TEST

START_TEST(hangup_reported)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	struct ioctx rc = { .fd = p[0], .stop = true };
	rc.io = event_io_add(loop, p[0], EVENT_IN, false, io_read, &rc);
	close(p[1]);
	event_loop_run(loop);
	ck_assert_uint_eq(rc.calls, 1);
	ck_assert(rc.revents & EVENT_IN);
	ck_assert_uint_eq(rc.len, 0);
	event_io_remove(rc.io);
	close(p[0]);
}
END_TEST

/* ---- signals ---- */

static int got_signo;
static unsigned signal_calls;

static void on_signal(void *context, int signo)
{
	got_signo = signo;
	signal_calls++;
	event_loop_stop(loop);
}

START_TEST(signal_delivered)
{
	got_signo = 0;
	signal_calls = 0;
	struct event_signal *sig = event_signal_add(loop, SIGUSR1, on_signal, NULL);
	ck_assert_ptr_nonnull(sig);
	/* Blocked now: raising must not kill the process. */
	ck_assert_int_eq(raise(SIGUSR1), 0);
	event_loop_run(loop);
	ck_assert_int_eq(got_signo, SIGUSR1);
	ck_assert_uint_eq(signal_calls, 1);
	/* A second registration for the same signal is refused. */
	ck_assert_ptr_null(event_signal_add(loop, SIGUSR1, on_signal, NULL));
	event_signal_remove(sig);
}
END_TEST

START_TEST(two_signals)
{
	got_signo = 0;
	signal_calls = 0;
	struct event_signal *s1 = event_signal_add(loop, SIGUSR1, on_signal, NULL);
	struct event_signal *s2 = event_signal_add(loop, SIGUSR2, on_signal, NULL);
	ck_assert_ptr_nonnull(s1);
	ck_assert_ptr_nonnull(s2);
	ck_assert_int_eq(raise(SIGUSR2), 0);
	event_loop_run(loop);
	ck_assert_int_eq(got_signo, SIGUSR2);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	event_loop_run(loop);
	ck_assert_int_eq(got_signo, SIGUSR1);
	ck_assert_uint_eq(signal_calls, 2);
	event_signal_remove(s1);
	event_signal_remove(s2);
}
END_TEST

START_TEST(stop_before_run)
{
	struct tctx a = { .id = 1, .stop = true };
	event_timer_add(loop, 0, record_timer, &a);
	event_loop_stop(loop);
	event_loop_run(loop);
	/* Returned at once: the due timer did not get to run. */
	ck_assert_uint_eq(n_fired, 0);
	/* The stop was used up: the next run runs. */
	event_loop_run(loop);
	ck_assert_uint_eq(n_fired, 1);
	ck_assert_int_eq(fired[0], 1);
}
END_TEST

START_TEST(now_is_monotonic)
{
	uint64_t t0 = event_loop_now(loop);
	struct tctx a = { .id = 1, .stop = true };
	event_timer_add(loop, 5, record_timer, &a);
	event_loop_run(loop);
	ck_assert_uint_ge(event_loop_now(loop), t0);
}
END_TEST

static void never(void *context)
{
	ck_abort_msg("callback of a destroyed loop ran");
}

static void never_io(void *context, unsigned revents)
{
	ck_abort_msg("io callback of a destroyed loop ran");
}

static void never_signal(void *context, int signo)
{
	ck_abort_msg("signal callback of a destroyed loop ran");
}

/* AddressSanitizer brings its own allocator and leak checker; these
 * wrappers would fight it, so under ASan the leak checker does this job. */
#ifndef __SANITIZE_ADDRESS__
/* Allocation tracking for the destroy test: this program's malloc family
 * forwards to glibc and, while tracking is on, remembers the live blocks
 * allocated in the window. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

#define TRACK_MAX 256
static void *tracked[TRACK_MAX];
static unsigned n_tracked;
static bool tracking, track_overflow;

static void track_add(void *p)
{
	if (!tracking || p == NULL)
		return;
	if (n_tracked == TRACK_MAX) {
		track_overflow = true;
		return;
	}
	tracked[n_tracked++] = p;
}

static void track_del(void *p)
{
	if (!tracking || p == NULL)
		return;
	for (unsigned i = 0; i < n_tracked; i++) {
		if (tracked[i] == p) {
			tracked[i] = tracked[--n_tracked];
			return;
		}
	}
}

void *malloc(size_t size)
{
	void *p = __libc_malloc(size);
	track_add(p);
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);
	track_add(p);
	return p;
}

void *realloc(void *old, size_t size)
{
	void *p = __libc_realloc(old, size);
	if (p != NULL || size == 0) {
		track_del(old);
		track_add(p);
	}
	return p;
}

void free(void *p)
{
	track_del(p);
	__libc_free(p);
}

START_TEST(destroy_frees_registered_handles)
{
	/* "Frees the loop and every handle still registered": an fd, a
	 * timer and a signal left in place must not leak. */
	int p[2];
	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	n_tracked = 0;
	track_overflow = false;
	tracking = true;
	struct event_loop *l = event_loop_create();
	struct event_io *io = event_io_add(l, p[0], EVENT_IN, false, never_io, NULL);
	struct event_timer *t = event_timer_add(l, 100000, never, NULL);
	struct event_signal *sig = event_signal_add(l, SIGUSR2, never_signal, NULL);
	unsigned allocated = n_tracked;
	event_loop_destroy(l);
	tracking = false;
	ck_assert_ptr_nonnull(io);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(sig);
	ck_assert(!track_overflow);
	if (allocated == 0)
		return;   /* a memory checker replaced malloc; it checks leaks */
	ck_assert_uint_ge(allocated, 4);
	ck_assert_msg(n_tracked == 0,
		      "%u of %u blocks still allocated after event_loop_destroy()",
		      n_tracked, allocated);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(destroy_empty_loop_frees_all)
{
	/* Control for the test above: with every handle removed first,
	 * nothing may be left either. */
	int p[2];
	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	n_tracked = 0;
	track_overflow = false;
	tracking = true;
	struct event_loop *l = event_loop_create();
	struct event_io *io = event_io_add(l, p[0], EVENT_IN, false, never_io, NULL);
	struct event_timer *t = event_timer_add(l, 100000, never, NULL);
	unsigned allocated = n_tracked;
	event_io_remove(io);
	event_timer_remove(t);
	event_loop_destroy(l);
	tracking = false;
	ck_assert(!track_overflow);
	if (allocated == 0)
		return;   /* a memory checker replaced malloc; it checks leaks */
	ck_assert_uint_ge(allocated, 3);
	ck_assert_uint_eq(n_tracked, 0);
	close(p[0]);
	close(p[1]);
}
END_TEST
#endif


int main(void)
{
	Suite *s = suite_create("event-loop");
	TCase *tc = tcase_create("timers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, timers_in_deadline_order);
	tcase_add_test(tc, equal_deadlines_in_creation_order);
	tcase_add_test(tc, timer_reset_later);
	tcase_add_test(tc, timer_reset_earlier);
	tcase_add_test(tc, timer_reset_equal_goes_last);
	tcase_add_test(tc, remove_timer_from_other_callback);
	tcase_add_test(tc, remove_later_timer_from_callback);
	tcase_add_test(tc, remove_timer_inside_own_callback);
	tcase_add_test(tc, remove_timer_before_run);
	tcase_add_test(tc, timer_readds_itself);
	tcase_add_test(tc, now_is_monotonic);
	suite_add_tcase(s, tc);

	tc = tcase_create("io");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pipe_readiness);
	tcase_add_test(tc, no_readiness_without_data);
	tcase_add_test(tc, set_events_to_zero);
	tcase_add_test(tc, remove_io_inside_own_callback);
	tcase_add_test(tc, remove_other_io_in_same_round);
	tcase_add_test(tc, hangup_reported);
	suite_add_tcase(s, tc);

	tc = tcase_create("control");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, signal_delivered);
	tcase_add_test(tc, two_signals);
	tcase_add_test(tc, stop_before_run);
#ifndef __SANITIZE_ADDRESS__
	tcase_add_test(tc, destroy_empty_loop_frees_all);
	tcase_add_test(tc, destroy_frees_registered_handles);
#endif
	suite_add_tcase(s, tc);

	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
