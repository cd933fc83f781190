/* The master's mail worker processes; see worker-pool.h. */
#include "config.h"
#include "worker-pool.h"

#include "fd-passing.h"
#include "log.h"
#include "mail/mail-worker.h"
#include "pool.h"
#include "session-table.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An idle worker is kept this long for the next login of its uid: long
 * enough that a steady trickle of logins (mail clients poll every few
 * minutes; a busy vmail host sees many per second) forks rarely, short
 * enough that a quiet server gives the memory back soon. */
#define WORKER_POOL_IDLE_MS 30000
/* A worker that has not reported on a new session for this long is taken
 * to be stuck opening a big mailbox (a small one opens in a millisecond
 * or two, a 100,000-message mbox takes seconds): new sessions go
 * elsewhere meanwhile. */
#define WORKER_POOL_STUCK_MS 100
/* Reports read per wake-up of one channel: a worker flooding the master
 * must not starve the other events. */
#define WORKER_POOL_READS_PER_EVENT 32

struct worker_proc {
	struct worker_proc *next;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int fd;                    /* -1 once retired */
	struct event_io *io;
	unsigned sessions;
	unsigned opening;          /* sessions that have not reported yet */
	uint64_t opening_since;    /* when the oldest of them was handed over */
	bool retiring;             /* takes no new session (reload) */
	struct event_timer *idle_timer;
};

static struct {
	struct event_loop *loop;
	struct worker_proc *workers;
	unsigned count;
	unsigned limit;
	unsigned spread;           /* workers per uid before sharing: cores */
} P;

void worker_pool_init(struct event_loop *loop)
{
	memset(&P, 0, sizeof(P));
	P.loop = loop;
	P.limit = 1;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	P.spread = cores > 0 ? (unsigned)cores : 1;
}

void worker_pool_configure(unsigned client_limit)
{
	P.limit = client_limit > 0 ? client_limit : 1;
}

static void close_channel(struct worker_proc *w)
{
	event_io_remove(w->io);
	w->io = NULL;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	event_timer_remove(w->idle_timer);
	w->idle_timer = NULL;
}

/* Reads up to max reports; false once the channel is closed. */
static bool read_reports(struct worker_proc *w, unsigned max)
{
	char buf[MAIL_WORKER_MESSAGE_MAX + 1];
	for (unsigned i = 0; i < max && w->fd >= 0; i++) {
		int fd;
		ssize_t n = fd_recv(w->fd, &fd, buf, sizeof(buf) - 1);
		if (n > 0 && fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			session_table_report(w, buf);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (n < 0 && errno == EMSGSIZE)
			continue;   /* oversized: dropped by fd_recv */
		return false;
	}
	return w->fd >= 0;
}

static void channel_input(void *context, unsigned revents)
{
	struct worker_proc *w = context;
	if (!read_reports(w, WORKER_POOL_READS_PER_EVENT))
		close_channel(w);
}

void worker_pool_deinit(void)
{
	while (P.workers != NULL) {
		struct worker_proc *w = P.workers;
		P.workers = w->next;
		close_channel(w);
		free(w);
	}
	P.count = 0;
}

struct worker_proc *worker_pool_find(uid_t uid, gid_t gid)
{
	struct worker_proc *best = NULL;
	unsigned live = 0;
	for (struct worker_proc *w = P.workers; w != NULL; w = w->next) {
		if (w->uid != uid || w->gid != gid || w->fd < 0 || w->retiring)
			continue;
		live++;
		/* A session that has not reported yet is still opening its
		 * mailbox, which blocks the worker for as long as the
		 * storage needs: do not queue more sessions behind a slow
		 * one. */
		bool stuck = w->opening > 0 &&
			event_loop_now(P.loop) - w->opening_since >= WORKER_POOL_STUCK_MS;
		if (!stuck && w->sessions < P.limit &&
		    (best == NULL || w->sessions < best->sessions))
			best = w;
	}
	/* A worker is one thread: busy sessions of one uid get as many
	 * workers as there are cores before they start to share. */
	if (best != NULL && best->sessions > 0 && live < P.spread)
		return NULL;
	return best;
}

struct worker_proc *worker_pool_add(pid_t pid, int fd, uid_t uid, gid_t gid)
{
	struct worker_proc *w = xmalloc(sizeof(*w));
	w->pid = pid;
	w->uid = uid;
	w->gid = gid;
	w->fd = fd;
	w->io = event_io_add(P.loop, fd, EVENT_IN, false, channel_input, w);
	w->next = P.workers;
	P.workers = w;
	P.count++;
	return w;
}

int worker_pool_hand_over(struct worker_proc *w, int client_fd,
			  const void *msg, size_t len)
{
	if (w->fd < 0) {
		errno = EPIPE;
		return -1;
	}
	if (fd_send(w->fd, client_fd, msg, len) < 0)
		return -1;
	w->sessions++;
	if (w->opening++ == 0)
		w->opening_since = event_loop_now(P.loop);
	event_timer_remove(w->idle_timer);
	w->idle_timer = NULL;
	return 0;
}

void worker_pool_send(struct worker_proc *w, const char *msg)
{
	if (w->fd >= 0 && fd_send(w->fd, -1, msg, strlen(msg)) < 0)
		log_warning("Message to mail worker %ld failed: %s", (long)w->pid,
			    strerror(errno));
}

static void idle_timeout(void *context)
{
	struct worker_proc *w = context;
	w->idle_timer = NULL;
	/* The worker exits when it reads the end of its channel. */
	close_channel(w);
}

void worker_pool_session_opened(struct worker_proc *w)
{
	/* The ones still opening came later: counting from now errs on
	 * the side of "not stuck". */
	if (w->opening > 0 && --w->opening > 0)
		w->opening_since = event_loop_now(P.loop);
}

void worker_pool_session_ended(struct worker_proc *w)
{
	if (w->sessions > 0)
		w->sessions--;
	if (w->sessions > 0 || w->fd < 0)
		return;
	if (P.limit <= 1 || w->retiring)
		close_channel(w);
	else if (w->idle_timer == NULL)
		w->idle_timer = event_timer_add(P.loop, WORKER_POOL_IDLE_MS, idle_timeout, w);
}

void worker_pool_retire_all(void)
{
	for (struct worker_proc *w = P.workers; w != NULL; w = w->next) {
		w->retiring = true;
		if (w->sessions == 0)
			close_channel(w);
	}
}

void worker_pool_abandon(struct worker_proc *w)
{
	kill(w->pid, SIGKILL);
	close_channel(w);
}

bool worker_pool_exited(pid_t pid, bool abnormal)
{
	for (struct worker_proc **p = &P.workers; *p != NULL; p = &(*p)->next) {
		struct worker_proc *w = *p;
		if (w->pid != pid)
			continue;
		/* Reports still queued in the channel (SIGCHLD may be
		 * handled before the worker's last messages): the socket
		 * keeps them after the worker's end closed. */
		if (w->fd >= 0)
			read_reports(w, ~0U);
		session_table_worker_exited(w, abnormal);
		*p = w->next;
		P.count--;
		close_channel(w);
		free(w);
		return true;
	}
	return false;
}

pid_t worker_pool_pid(const struct worker_proc *w)
{
	return w->pid;
}

unsigned worker_pool_count(void)
{
	return P.count;
}

void worker_pool_signal_all(int signo)
{
	for (struct worker_proc *w = P.workers; w != NULL; w = w->next)
		kill(w->pid, signo);
}
