/* Delivery locks and the POP3 session lock on an mbox; see mbox-lock.h. */
#include "config.h"
#include "mbox-lock.h"
#include "decimal.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Pause between attempts: short against the timeout, long enough not to
 * spin (MDAs hold the lock for milliseconds per message). */
#define MBOX_LOCK_RETRY_MS 50
/* A PID file is "<digits>\n"; anything longer is not one. */
#define DOTLOCK_CONTENT_MAX 32

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Returns 1 taken, 0 busy, -1 error. */
static int dotlock_try(struct mbox_lock *lock, struct error *err)
{
	/* A leftover of a killed session of this mailbox: ours to remove,
	 * since only the session lock holder uses this name. */
	if (unlink(lock->dotlock_tmp_path) < 0 && errno != ENOENT) {
		error_set_errno(err, "unlink(%s) failed", lock->dotlock_tmp_path);
		return -1;
	}
	int fd = open(lock->dotlock_tmp_path,
		      O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		error_set_errno(err, "Cannot create %s (the mbox directory must "
				"be writable by the mailbox owner for dotlocking)",
				lock->dotlock_tmp_path);
		return -1;
	}
	char pid[DOTLOCK_CONTENT_MAX];
	int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	bool ok = write(fd, pid, (size_t)len) == len;
	struct stat st;
	ok = ok && fstat(fd, &st) == 0;
	if (close(fd) < 0)
		ok = false;
	if (!ok) {
		error_set_errno(err, "Cannot write %s", lock->dotlock_tmp_path);
		unlink(lock->dotlock_tmp_path);
		return -1;
	}
	int link_ret = link(lock->dotlock_tmp_path, lock->dotlock_path);
	int link_errno = errno;
	/* NFS may report failure for a link that was made: the link count
	 * of our file tells the truth (liblockfile does the same). */
	struct stat st2;
	bool linked = link_ret == 0 ||
		(stat(lock->dotlock_tmp_path, &st2) == 0 && st2.st_nlink == 2);
	unlink(lock->dotlock_tmp_path);
	if (linked) {
		lock->have_dotlock = true;
		lock->dotlock_ino = st.st_ino;
		lock->dotlock_dev = st.st_dev;
		return 1;
	}
	if (link_errno == EEXIST)
		return 0;
	errno = link_errno;
	error_set_errno(err, "link(%s, %s) failed", lock->dotlock_tmp_path,
			lock->dotlock_path);
	return -1;
}

/* A dotlock is stale when the process named in it is gone (same host)
 * or when it is older than MBOX_DOTLOCK_STALE_SECS. Then it is removed,
 * unless it was replaced in the meantime (same inode and mtime). */
static void dotlock_remove_if_stale(struct mbox_lock *lock)
{
	int fd = open(lock->dotlock_path,
		      O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return;
	struct stat st;
	char buf[DOTLOCK_CONTENT_MAX];
	ssize_t n = -1;
	if (fstat(fd, &st) == 0)
		n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return;
	bool stale = time(NULL) - st.st_mtime > MBOX_DOTLOCK_STALE_SECS;
	size_t digits = 0;
	while (digits < (size_t)n && buf[digits] >= '0' && buf[digits] <= '9')
		digits++;
	uint64_t pid;
	if (!stale && digits > 0 && (digits == (size_t)n || buf[digits] == '\n') &&
	    decimal_parse_u64(buf, digits, &pid) && pid > 0 &&
	    pid <= (uint64_t)INT32_MAX) {
		/* Our own PID: a lock this process left behind earlier. */
		stale = (pid_t)pid == getpid() ||
			(kill((pid_t)pid, 0) < 0 && errno == ESRCH);
	}
	if (!stale)
		return;
	struct stat again;
	if (lstat(lock->dotlock_path, &again) == 0 &&
	    again.st_ino == st.st_ino && again.st_dev == st.st_dev &&
	    again.st_mtime == st.st_mtime)
		unlink(lock->dotlock_path);
}

/* Returns 1 taken, 0 busy, -1 error. */
static int fcntl_try(struct mbox_lock *lock, struct error *err)
{
	struct flock fl;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(lock->fd, F_SETLK, &fl) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EACCES)
			return 0;
		error_set_errno(err, "fcntl(%s, F_SETLK) failed", lock->loc->path);
		return -1;
	}
	lock->have_fcntl = true;
	return 1;
}

int mbox_lock_take(struct mbox_lock *lock, pool_t *pool,
		   const struct mbox_location *loc, int fd, struct error *err)
{
	memset(lock, 0, sizeof(*lock));
	lock->loc = loc;
	lock->fd = fd;
	lock->dotlock_path = pool_printf(pool, "%s%s", loc->path,
					 MBOX_DOTLOCK_SUFFIX);
	lock->dotlock_tmp_path = pool_printf(pool, "%s%s", loc->path,
					     MBOX_DOTLOCK_TMP_SUFFIX);
	uint64_t deadline = now_ms() + loc->lock_timeout_ms;

	for (unsigned i = 0; i < loc->lock_count; i++) {
		enum mbox_lock_method m = loc->locks[i];
		for (;;) {
			int r = m == MBOX_LOCK_DOTLOCK ? dotlock_try(lock, err) :
				fcntl_try(lock, err);
			if (r < 0) {
				mbox_lock_release(lock);
				return -1;
			}
			if (r > 0)
				break;
			if (m == MBOX_LOCK_DOTLOCK)
				dotlock_remove_if_stale(lock);
			if (now_ms() >= deadline) {
				error_set(err, ERROR_TEMP,
					  "Timed out after %u ms waiting for the %s "
					  "lock on %s (a delivery in progress?)",
					  loc->lock_timeout_ms,
					  m == MBOX_LOCK_DOTLOCK ? "dotlock" : "fcntl",
					  loc->path);
				mbox_lock_release(lock);
				return -1;
			}
			sleep_ms(MBOX_LOCK_RETRY_MS);
		}
	}
	return 0;
}

void mbox_lock_touch(struct mbox_lock *lock)
{
	if (lock->have_dotlock)
		(void)utimensat(AT_FDCWD, lock->dotlock_path, NULL,
				AT_SYMLINK_NOFOLLOW);
}

void mbox_lock_release(struct mbox_lock *lock)
{
	/* Reverse order of taking: the default takes dotlock, then fcntl. */
	for (unsigned i = lock->loc != NULL ? lock->loc->lock_count : 0; i > 0; i--) {
		enum mbox_lock_method m = lock->loc->locks[i - 1];
		if (m == MBOX_LOCK_FCNTL && lock->have_fcntl) {
			struct flock fl;
			memset(&fl, 0, sizeof(fl));
			fl.l_type = F_UNLCK;
			fl.l_whence = SEEK_SET;
			(void)fcntl(lock->fd, F_SETLK, &fl);
			lock->have_fcntl = false;
		}
		if (m == MBOX_LOCK_DOTLOCK && lock->have_dotlock) {
			/* Only our own lock: if it was taken over as stale,
			 * the file there now belongs to someone else. */
			struct stat st;
			if (lstat(lock->dotlock_path, &st) == 0 &&
			    st.st_ino == lock->dotlock_ino &&
			    st.st_dev == lock->dotlock_dev)
				unlink(lock->dotlock_path);
			lock->have_dotlock = false;
		}
	}
}

int mbox_session_lock(const char *mbox_path, int *fd_r, struct error *err)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s%s", mbox_path,
		     MBOX_SESSION_LOCK_SUFFIX) >= (int)sizeof(path)) {
		error_set(err, ERROR_PERM, "mbox path too long: %s", mbox_path);
		return -1;
	}
	/* flock() belongs to the open file description: released when the
	 * worker dies. The file stays: unlinking a lock file races with a
	 * session that has just opened it and would then lock a ghost. */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		error_set_errno(err, "open(%s) failed (the mbox directory must "
				"be writable by the mailbox owner)", path);
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			error_set(err, ERROR_IN_USE,
				  "Mailbox %s is locked by another POP3 session",
				  mbox_path);
		else
			error_set_errno(err, "flock(%s) failed", path);
		close(fd);
		return -1;
	}
	*fd_r = fd;
	return 0;
}
