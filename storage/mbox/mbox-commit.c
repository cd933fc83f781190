/*
 * Commit on QUIT: rewrite the mbox without the deleted messages.
 *
 * Steps, and why a SIGKILL or a power loss at any point leaves either the
 * old or the new mailbox, never a torn one and never lost mail:
 *
 *  1. Take the delivery locks (dotlock, then fcntl): no MDA appends and no
 *     other mbox writer rewrites while we work. A kill here leaves at most
 *     a dotlock with our dead PID in it, which the next locker (MDA or
 *     Roost) removes as stale.
 *  2. Check that the path still names the snapshotted inode and the file
 *     is at least as long as the snapshot. Otherwise another program
 *     rewrote it: delete nothing, ERROR_TEMP.
 *  3. Create "<mbox>.roost-new" in the same directory (so rename() is
 *     atomic), with the mbox's mode and, where permitted, group. Copy the
 *     current file into it: the snapshot's bytes except the byte ranges of
 *     deleted messages (From_ line to the next From_ line), then
 *     everything appended after the snapshot, byte for byte. While
 *     copying, digest the first snapshot_size bytes, segment by segment
 *     (mbox-mailbox.h: one digest per read of the file that the snapshot
 *     is made of, kept in the index between sessions); if any digest is
 *     not the one taken when its bytes were read, the file was changed
 *     other than by appending: remove the temporary file, delete nothing,
 *     ERROR_TEMP. Until step 5 the mbox itself is never written: a kill or
 *     power loss leaves the old mailbox intact plus a stray temporary
 *     file, which the next session removes.
 *  4. fsync() the temporary file: its data is on disk before any rename
 *     can be (without it, a file system may persist the rename first and
 *     lose the data, leaving an empty or torn mailbox after a crash).
 *  5. rename() it over the mbox: atomic, so every observer, and the disk
 *     after a crash, sees either the old inode or the complete new one.
 *  6. fsync() the directory: makes the rename durable before the client
 *     is told +OK (otherwise a crash could bring the deleted messages
 *     back, which loses nothing but surprises the client).
 *  7. Release the locks (fcntl, then the dotlock).
 *
 * Every error path removes the temporary file and releases the locks.
 *
 * In a mailbox Dovecot served, deleting the first message (which carries
 * X-IMAPbase) writes Dovecot's pseudo-message in its place, in the same
 * temporary file, so the metadata survives with the same guarantees
 * (prepare_pseudo()). An existing pseudo-message is never listed, hence
 * never deleted, and copied like every byte outside deleted messages.
 *
 * An MDA that uses fcntl locking only and does not check, after locking,
 * that the path still names the file it opened, could append to the old
 * inode if it opened the file before step 5 and waited for our lock: use
 * lock=dotlock+fcntl (the default) with such MDAs; a dotlock is taken
 * before the file is opened, so they open the new file.
 *
 * TEST ONLY: ROOST_TEST_MBOX_KILL_AT=N makes the process SIGKILL itself
 * at the Nth step point of a commit (after taking the locks, after
 * creating the temporary file, after each write, after the file fsync,
 * after the rename, after the directory fsync), for the fault-injection
 * test. Unset, empty or not a number: no effect.
 */
#include "config.h"
#include "mbox-mailbox.h"
#include "mbox-lock.h"
#include "mbox-dovecot.h"
#include "decimal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Copy size: few system calls for a large mailbox; also the unit of the
 * kill points in the fault-injection test. */
#define MBOX_COMMIT_CHUNK 65536
#define MBOX_KILL_ENV "ROOST_TEST_MBOX_KILL_AT"

struct commit_state {
	struct storage_mailbox *box;
	const bool *deleted;
	unsigned next;            /* first message that may still matter */
	int tmp_fd;
	const char *tmp_path;
	uint64_t framing_skip;    /* empty lines after the snapshot to drop */
	char *pseudo;             /* Dovecot's pseudo-message to write in
				     place of the first message, or NULL */
	size_t pseudo_len;
	uint64_t kill_at;         /* test hook; 0 = off */
	uint64_t step;
	time_t last_touch;
};

static void kill_point(struct commit_state *c)
{
	if (c->kill_at != 0 && ++c->step == c->kill_at)
		raise(SIGKILL);
}

static int write_full(struct commit_state *c, const char *data, size_t len,
		      struct error *err)
{
	while (len > 0) {
		ssize_t n = write(c->tmp_fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_set_errno(err, "write(%s) failed", c->tmp_path);
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	kill_point(c);
	return 0;
}

/* Writes the part of buf (file bytes [pos, pos+len)) that is kept. */
static int write_kept(struct commit_state *c, uint64_t pos, const char *buf,
		      size_t len, struct error *err)
{
	const struct storage_mailbox *box = c->box;
	uint64_t off = pos, end = pos + len;
	while (off < end) {
		if (off >= box->snapshot_size) {
			uint64_t skip_end = box->snapshot_size + c->framing_skip;
			if (off < skip_end) {
				off = skip_end < end ? skip_end : end;
				continue;
			}
			return write_full(c, buf + (off - pos),
					  (size_t)(end - off), err);
		}
		uint64_t lim = end < box->snapshot_size ? end : box->snapshot_size;
		while (c->next < box->count &&
		       (!c->deleted[c->next] ||
			box->msgs[c->next].end_offset <= off))
			c->next++;
		if (c->next < box->count &&
		    box->msgs[c->next].from_offset <= off) {
			if (c->next == 0 && c->pseudo != NULL) {
				size_t n = c->pseudo_len;
				c->pseudo_len = 0;
				if (n > 0 && write_full(c, c->pseudo, n, err) < 0)
					return -1;
			}
			uint64_t skip_to = box->msgs[c->next].end_offset;
			off = skip_to < lim ? skip_to : lim;
			continue;
		}
		uint64_t stop = lim;
		if (c->next < box->count && box->msgs[c->next].from_offset < lim)
			stop = box->msgs[c->next].from_offset;
		if (write_full(c, buf + (off - pos), (size_t)(stop - off),
			       err) < 0)
			return -1;
		off = stop;
	}
	return 0;
}

/* An MDA appending after a last message that lacks its empty line (or
 * its final newline) first writes the missing line ends, then its From_
 * line. Those empty lines are the old last message's framing: when that
 * message is deleted they go with it, or the message before it would
 * gain empty lines. Only empty lines directly followed by "From " count:
 * anything else appended is kept byte for byte. */
#define FRAMING_LOOKAHEAD 16

static int find_framing_skip(struct commit_state *c, struct error *err)
{
	const struct storage_mailbox *box = c->box;
	if (box->count == 0 || !c->deleted[box->count - 1])
		return 0;
	char buf[FRAMING_LOOKAHEAD];
	ssize_t n;
	do {
		n = pread(box->fd, buf, sizeof(buf), (off_t)box->snapshot_size);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		error_set_errno(err, "read(%s) failed", box->loc.path);
		return -1;
	}
	size_t i = 0;
	for (;;) {
		if (i < (size_t)n && buf[i] == '\n')
			i++;
		else if (i + 1 < (size_t)n && buf[i] == '\r' && buf[i + 1] == '\n')
			i += 2;
		else
			break;
	}
	if (i > 0 && i + 5 <= (size_t)n && memcmp(buf + i, "From ", 5) == 0)
		c->framing_skip = i;
	return 0;
}

/* The first message of a mailbox Dovecot served carries X-IMAPbase,
 * which holds its UIDVALIDITY: deleting that message would take the
 * metadata with it, and the next session (or Dovecot after a rollback)
 * would see a mailbox that was never Dovecot's, with other UIDLs. Its
 * place is taken by Dovecot's pseudo-message, which Dovecot reads as
 * well and which is never listed. */
static void prepare_pseudo(struct commit_state *c)
{
	const struct storage_mailbox *box = c->box;
	if (!box->dovecot || box->dovecot_pseudo || box->count == 0 ||
	    !c->deleted[0])
		return;
	char host[256];
	if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	c->pseudo = pool_alloc(box->pool, MBOX_DOVECOT_PSEUDO_MAX);
	c->pseudo_len = mbox_dovecot_pseudo(c->pseudo, time(NULL), host,
					    box->dovecot_uidvalidity,
					    box->dovecot_uid_last);
}

/* The digests of the snapshot's segments (mbox-mailbox.h), checked as
 * the copy reads them. */
struct segment_check {
	const struct storage_mailbox *box;
	unsigned next;            /* segment being digested */
	bool mismatch;
	crypto_generichash_state hash;
};

static void segment_check_bytes(struct segment_check *sc, uint64_t pos,
				const char *buf, size_t len)
{
	const struct storage_mailbox *box = sc->box;
	while (len > 0 && sc->next < box->segment_count) {
		const struct mbox_segment *seg = &box->segments[sc->next];
		uint64_t room = seg->end - pos;
		size_t n = room < (uint64_t)len ? (size_t)room : len;
		crypto_generichash_update(&sc->hash, (const unsigned char *)buf,
					  n);
		pos += n;
		buf += n;
		len -= n;
		if (pos == seg->end) {
			unsigned char digest[MBOX_FILE_HASH_BYTES];
			crypto_generichash_final(&sc->hash, digest,
						 sizeof(digest));
			if (sodium_memcmp(digest, seg->hash, sizeof(digest)) != 0)
				sc->mismatch = true;
			crypto_generichash_init(&sc->hash, NULL, 0,
						MBOX_FILE_HASH_BYTES);
			sc->next++;
		}
	}
}

/* Step 3's copy and check. */
static int copy_mailbox(struct commit_state *c, struct mbox_lock *lock,
			struct error *err)
{
	struct storage_mailbox *box = c->box;
	char *buf = xmalloc(MBOX_COMMIT_CHUNK);
	struct segment_check check, *sc = &check;
	sc->box = box;
	sc->next = 0;
	sc->mismatch = false;
	crypto_generichash_init(&sc->hash, NULL, 0, MBOX_FILE_HASH_BYTES);
	uint64_t pos = 0;
	int ret = -1;
	for (;;) {
		ssize_t n = pread(box->fd, buf, MBOX_COMMIT_CHUNK, (off_t)pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_set_errno(err, "read(%s) failed", box->loc.path);
			break;
		}
		if (n == 0) {
			ret = 0;
			break;
		}
		segment_check_bytes(sc, pos, buf, (size_t)n);
		if (write_kept(c, pos, buf, (size_t)n, err) < 0)
			break;
		pos += (uint64_t)n;
		time_t now = time(NULL);
		if (now - c->last_touch >= MBOX_DOTLOCK_TOUCH_SECS) {
			mbox_lock_touch(lock);
			c->last_touch = now;
		}
	}
	free(buf);
	bool changed = sc->mismatch || sc->next < box->segment_count;
	if (ret < 0)
		return -1;
	if (pos < box->snapshot_size || changed) {
		/* The index describes what this session saw; a tail parse
		 * would keep its stale digests, and every later commit would
		 * be refused the same way. Without it the next session
		 * reads the whole file again. */
		if (box->index_path != NULL)
			(void)unlink(box->index_path);
		error_set(err, ERROR_TEMP,
			  "%s was changed by another program since the session "
			  "started (not just appended to): nothing deleted, "
			  "the client may try again", box->loc.path);
		return -1;
	}
	return 0;
}

static int fsync_dir(const char *path, struct error *err)
{
	char *copy = xstrdup(path);
	const char *dir = dirname(copy);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;
	if (fd < 0 || fsync(fd) < 0) {
		error_set_errno(err, "fsync(%s) failed", dir);
		ret = -1;
	}
	if (fd >= 0)
		close(fd);
	free(copy);
	return ret;
}

/* Steps 2-6 with the locks held. */
static int rewrite(struct commit_state *c, struct mbox_lock *lock,
		   struct error *err)
{
	struct storage_mailbox *box = c->box;
	struct stat path_st, fd_st;
	if (stat(box->loc.path, &path_st) < 0) {
		error_set_errno(err, "stat(%s) failed: nothing deleted",
				box->loc.path);
		return -1;
	}
	if (path_st.st_ino != box->ino || path_st.st_dev != box->dev) {
		error_set(err, ERROR_TEMP, "%s was replaced by another program "
			  "since the session started: nothing deleted",
			  box->loc.path);
		return -1;
	}
	if (fstat(box->fd, &fd_st) < 0) {
		error_set_errno(err, "fstat(%s) failed", box->loc.path);
		return -1;
	}
	if ((uint64_t)fd_st.st_size < box->snapshot_size) {
		error_set(err, ERROR_TEMP, "%s shrank from %llu to %llu bytes "
			  "since the session started: nothing deleted",
			  box->loc.path, (unsigned long long)box->snapshot_size,
			  (unsigned long long)fd_st.st_size);
		return -1;
	}

	/* A leftover of a killed session is ours to replace (see
	 * mbox-storage.c); O_EXCL then guards against anything else. */
	(void)unlink(c->tmp_path);
	c->tmp_fd = open(c->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
			 O_NOFOLLOW, 0600);
	if (c->tmp_fd < 0) {
		error_set_errno(err, "Cannot create %s", c->tmp_path);
		return -1;
	}
	if (fchmod(c->tmp_fd, fd_st.st_mode & 07777) < 0) {
		error_set_errno(err, "fchmod(%s) failed", c->tmp_path);
		return -1;
	}
	/* The group (e.g. "mail" on /var/mail) where we may set it; a user
	 * outside the group keeps the mode, with their own group. */
	if (fd_st.st_gid != getegid())
		(void)fchown(c->tmp_fd, (uid_t)-1, fd_st.st_gid);
	kill_point(c);

	prepare_pseudo(c);
	if (find_framing_skip(c, err) < 0 || copy_mailbox(c, lock, err) < 0)
		return -1;
	if (fsync(c->tmp_fd) < 0) {
		error_set_errno(err, "fsync(%s) failed", c->tmp_path);
		return -1;
	}
	kill_point(c);
	int fd = c->tmp_fd;
	c->tmp_fd = -1;
	if (close(fd) < 0) {
		error_set_errno(err, "close(%s) failed", c->tmp_path);
		return -1;
	}
	if (rename(c->tmp_path, box->loc.path) < 0) {
		error_set_errno(err, "rename(%s, %s) failed", c->tmp_path,
				box->loc.path);
		return -1;
	}
	c->tmp_path = NULL;   /* nothing left to clean up */
	kill_point(c);
	if (fsync_dir(box->loc.path, err) < 0) {
		/* The rename happened and the new file is complete: the
		 * deletions are done, only their durability is in doubt. */
		return -1;
	}
	kill_point(c);
	return 0;
}

int mbox_commit(struct storage_mailbox *box, const bool *deleted,
		struct error *err)
{
	bool any = false;
	for (unsigned i = 0; i < box->count; i++)
		any = any || deleted[i];
	if (!any)
		return 0;
	if (box->committed) {
		error_set(err, ERROR_TEMP, "%s: deletions were already committed",
			  box->loc.path);
		return -1;
	}

	struct commit_state c;
	memset(&c, 0, sizeof(c));
	c.box = box;
	c.deleted = deleted;
	c.tmp_fd = -1;
	c.tmp_path = pool_printf(box->pool, "%s%s", box->loc.path,
				 MBOX_COMMIT_TMP_SUFFIX);
	c.last_touch = time(NULL);
	const char *hook = getenv(MBOX_KILL_ENV);
	if (hook != NULL && !decimal_parse_u64(hook, strlen(hook), &c.kill_at))
		c.kill_at = 0;

	struct mbox_lock lock;
	if (mbox_lock_take(&lock, box->pool, &box->loc, box->fd, err) < 0)
		return -1;
	kill_point(&c);
	int ret = rewrite(&c, &lock, err);
	if (c.tmp_fd >= 0)
		close(c.tmp_fd);
	if (ret < 0 && c.tmp_path != NULL)
		(void)unlink(c.tmp_path);
	mbox_lock_release(&lock);
	if (ret < 0) {
		if (err != NULL && err->kind != ERROR_PERM)
			err->kind = ERROR_TEMP;
		return -1;
	}
	box->committed = true;
	/* The index describes the old file (another inode, so it would not
	 * be used anyway): the next session reads the new one in full and
	 * writes a new index. */
	if (box->index_path != NULL)
		(void)unlink(box->index_path);
	return 0;
}
