/*
 * The maildir storage module: storage_ops (storage.h) over a maildir
 * directory with cur/, new/ and tmp/.
 *
 * Files in the maildir root that Roost owns:
 *   roost-pop3.lock  flock()ed for the whole POP3 session (IN-USE);
 *   roost-sizes      the POP3 size cache (maildir-size-cache.h).
 * Roost reads, and never writes, Dovecot's dovecot-uidlist
 * (maildir-dovecot-uidlist.h) so that mail moved from Dovecot keeps its
 * UIDLs.
 *
 * The mail location is "maildir:PATH[:key=value]...", of which open()
 * gets everything after "maildir:" (so a ':' cannot appear in PATH; it
 * cannot in Dovecot's mail_location either). One option, at most once:
 *
 *   uidl=dovecot   (the default) when the maildir has a dovecot-uidlist,
 *                  its messages keep the UIDLs Dovecot 2.3 gave them with
 *                  its default pop3_uidl_format %08Xu%08Xv (or the P
 *                  UIDL stored for a message); all other messages get the
 *                  base-name UIDL (maildir-name.h). Without the file this
 *                  is exactly "basename". Trade-off: the UIDLs depend on
 *                  a file Roost does not maintain; if an administrator
 *                  deletes or Dovecot rebuilds it, inherited UIDLs change
 *                  once.
 *   uidl=basename  the base-name UIDL for every message; dovecot-uidlist
 *                  is ignored. For new installs, and for maildirs whose
 *                  clients knew the base names (Courier, or Dovecot with
 *                  pop3_uidl_format = %f). Switching a migrated maildir
 *                  to it makes clients download everything again.
 *
 * Example: mail = maildir:~/Maildir:uidl=basename
 *
 * Other programs (delivery agents, IMAP servers) work in the same maildir
 * without knowing our lock, so every file operation is ready for the file
 * to have been renamed (flags changed) or moved from new/ to cur/ since
 * the snapshot: such a message is found again by base name and inode.
 */
#include "config.h"
#include "module.h"
#include "storage.h"
#include "log.h"
#include "message-wire.h"
#include "maildir-dovecot-uidlist.h"
#include "maildir-hash.h"
#include "maildir-name.h"
#include "maildir-size-cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* A snapshot holds at most this many messages. Each costs a few hundred
 * bytes of worker memory, so the cap keeps one mailbox below a few hundred
 * MB. Mail beyond it is left alone (not listed, never deleted) and shows
 * up in a later session once the client has removed some. */
#define MAILDIR_MAX_MESSAGES 1000000
/* How often one operation chases a message that keeps being renamed
 * under it before giving up: each rename needs another client to act. */
#define MAILDIR_RESCAN_ATTEMPTS 3
#define MAILDIR_DIR_MODE 0700
#define MAILDIR_LOCK_NAME "roost-pop3.lock"
/* The info suffix a message gets when it moves from new/ to cur/:
 * version 2, no flags (it is not "Seen" until a client says so). */
#define MAILDIR_NEW_INFO ":2,"
/* Largest dovecot-uidlist read: MAILDIR_MAX_MESSAGES lines of a base name
 * and a few extension fields (~250 bytes). A bigger one is not a file we
 * could use within the snapshot cap anyway, and reading it whole would
 * cost the worker that much memory. */
#define MAILDIR_DOVECOT_UIDLIST_MAX_SIZE (256 * 1024 * 1024)

enum maildir_uidl_mode {
	MAILDIR_UIDL_DOVECOT,    /* default: inherit from dovecot-uidlist */
	MAILDIR_UIDL_BASENAME,
};

enum maildir_dir {
	MAILDIR_DIR_NEW,
	MAILDIR_DIR_CUR,
};

struct maildir_message {
	struct storage_message_info info;
	enum maildir_dir dir;
	const char *name;       /* current file name inside dir */
	const char *base;       /* base name (identity), NUL-terminated */
	ino_t ino;              /* survives renames: tells duplicates apart */
	uint64_t sort_sec;
	uint32_t sort_usec;
	bool have_w_size;
	uint64_t w_size;
	bool dup_base;          /* another snapshot message has this base */
	/* its line in dovecot-uidlist, or NULL */
	const struct maildir_dovecot_record *dovecot;
};

struct storage_message_reader {
	struct storage_mailbox *box;
	int fd;
	struct storage_message_reader *next_free;
};

struct storage_mailbox {
	pool_t *pool;
	const char *path;
	struct log_context log_ctx;
	int root_fd;
	int cur_fd;
	int new_fd;
	int lock_fd;
	enum maildir_uidl_mode uidl_mode;
	/* NULL without the file, with a damaged header, or in basename mode */
	struct maildir_dovecot_uidlist *dovecot;
	struct maildir_message *msgs;
	unsigned count;
	/* Readers are reused so that a long session with many RETRs does
	 * not grow the pool. */
	struct storage_message_reader *free_readers;
};

/* Messages collected while scanning, on the heap until the final count
 * is known. */
struct scan_list {
	struct maildir_message *msgs;
	size_t count;
	size_t cap;
	bool limit_logged;
};

static int dir_fd(struct storage_mailbox *box, enum maildir_dir dir)
{
	return dir == MAILDIR_DIR_CUR ? box->cur_fd : box->new_fd;
}

static const char *dir_name(enum maildir_dir dir)
{
	return dir == MAILDIR_DIR_CUR ? "cur" : "new";
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* ---- opening the directory ---- */

/* "PATH[:uidl=dovecot|basename]" (see the top of this file). Unknown
 * options are errors: a typo must not silently change UIDLs. */
static int parse_location(struct storage_mailbox *box, const char *location,
			  struct error *err)
{
	struct storage_location_option *opts;
	unsigned count;
	if (storage_location_split(box->pool, location, "maildir", &box->path,
				   &opts, &count, err) < 0)
		return -1;
	box->uidl_mode = MAILDIR_UIDL_DOVECOT;
	for (unsigned i = 0; i < count; i++) {
		if (strcmp(opts[i].key, "uidl") != 0) {
			error_set(err, ERROR_INVALID,
				  "maildir: unknown option '%s' (known: uidl)", opts[i].key);
			return -1;
		}
		if (strcmp(opts[i].value, "dovecot") == 0)
			box->uidl_mode = MAILDIR_UIDL_DOVECOT;
		else if (strcmp(opts[i].value, "basename") == 0)
			box->uidl_mode = MAILDIR_UIDL_BASENAME;
		else {
			error_set(err, ERROR_INVALID,
				  "maildir: invalid uidl=%s (use dovecot or basename)",
				  opts[i].value);
			return -1;
		}
	}
	return 0;
}

/* Creates path and any missing parents: a virtual user's first login may
 * come before any mail, when not even the home directory exists yet. */
static int mkdir_parents(const char *path, struct error *err)
{
	char *copy = xstrdup(path);
	int ret = 0;
	for (char *p = copy + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, MAILDIR_DIR_MODE) < 0 && errno != EEXIST) {
			error_set_errno(err, "mkdir(%s) failed", copy);
			ret = -1;
			break;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(copy);
	return ret;
}

static int open_root(struct storage_mailbox *box, struct error *err)
{
	box->root_fd = open(box->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (box->root_fd < 0 && errno == ENOENT) {
		if (mkdir_parents(box->path, err) < 0)
			return -1;
		box->root_fd = open(box->path,
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (box->root_fd < 0) {
		error_set_errno(err, "open(%s) failed", box->path);
		if (err != NULL && err->kind == ERROR_NOT_FOUND)
			err->kind = ERROR_TEMP;
		return -1;
	}
	return 0;
}

static int open_subdir(struct storage_mailbox *box, const char *name,
		       int *fd_r, struct error *err)
{
	if (mkdirat(box->root_fd, name, MAILDIR_DIR_MODE) < 0 &&
	    errno != EEXIST) {
		error_set_errno(err, "mkdir(%s/%s) failed", box->path, name);
		return -1;
	}
	if (fd_r == NULL)
		return 0;
	*fd_r = openat(box->root_fd, name,
		       O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd_r < 0) {
		error_set_errno(err, "open(%s/%s) failed", box->path, name);
		if (err != NULL && err->kind == ERROR_NOT_FOUND)
			err->kind = ERROR_TEMP;
		return -1;
	}
	return 0;
}

/* flock() belongs to the open file description: it is released when the
 * worker dies, and a second open() of the file conflicts even inside one
 * process. */
static int take_lock(struct storage_mailbox *box, struct error *err)
{
	box->lock_fd = openat(box->root_fd, MAILDIR_LOCK_NAME,
			      O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (box->lock_fd < 0) {
		error_set_errno(err, "open(%s/%s) failed", box->path,
				MAILDIR_LOCK_NAME);
		return -1;
	}
	while (flock(box->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK) {
			error_set(err, ERROR_IN_USE,
				  "Mailbox %s is locked by another POP3 session",
				  box->path);
			return -1;
		}
		error_set_errno(err, "flock(%s/%s) failed", box->path,
				MAILDIR_LOCK_NAME);
		return -1;
	}
	return 0;
}

/* ---- dovecot-uidlist ---- */

static void dovecot_uidlist_warn(void *context, unsigned line,
				 const char *why)
{
	struct storage_mailbox *box = context;
	log_msg(LOG_LEVEL_WARNING, &box->log_ctx,
		"%s/%s:%u: %s; messages without a usable line keep "
		"Roost's own UIDLs", box->path, MAILDIR_DOVECOT_UIDLIST_NAME,
		line, why);
}

/* Reads dovecot-uidlist once per session: the snapshot's UIDLs come from
 * what it said at open(), whatever Dovecot (if it still runs) does to it
 * later. Any problem only costs the inherited UIDLs, never the session. */
static void read_dovecot_uidlist(struct storage_mailbox *box)
{
	if (box->uidl_mode != MAILDIR_UIDL_DOVECOT)
		return;
	int fd = openat(box->root_fd, MAILDIR_DOVECOT_UIDLIST_NAME,
			O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
			O_NOCTTY);
	if (fd < 0) {
		if (errno != ENOENT)
			log_msg(LOG_LEVEL_WARNING, &box->log_ctx,
				"Cannot open %s/%s: %s", box->path,
				MAILDIR_DOVECOT_UIDLIST_NAME, strerror(errno));
		return;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > MAILDIR_DOVECOT_UIDLIST_MAX_SIZE) {
		log_msg(LOG_LEVEL_WARNING, &box->log_ctx,
			"Ignoring %s/%s: not a regular file of at most %d bytes",
			box->path, MAILDIR_DOVECOT_UIDLIST_NAME,
			MAILDIR_DOVECOT_UIDLIST_MAX_SIZE);
		close(fd);
		return;
	}
	size_t cap = (size_t)st.st_size;
	char *buf = xmalloc(cap + 1);
	size_t len = 0;
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_msg(LOG_LEVEL_WARNING, &box->log_ctx,
				"Cannot read %s/%s: %s", box->path,
				MAILDIR_DOVECOT_UIDLIST_NAME, strerror(errno));
			free(buf);
			close(fd);
			return;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	box->dovecot = maildir_dovecot_uidlist_parse(
		box->pool, buf, len, dovecot_uidlist_warn, box);
	free(buf);
}

/* ---- scanning ---- */

static DIR *open_dir_stream(int fd, struct error *err, const char *path,
			    const char *name)
{
	/* fdopendir() takes ownership, and the rewinding it does must not
	 * disturb fd, which stays open for openat(). */
	int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	if (d == NULL) {
		error_set_errno(err, "opendir(%s/%s) failed", path, name);
		if (err != NULL && err->kind == ERROR_NOT_FOUND)
			err->kind = ERROR_TEMP;
		if (dup_fd >= 0)
			close(dup_fd);
	}
	return d;
}

/* Regular files only: a symlink could point outside the maildir, and a
 * FIFO would hang the reader. Uses d_type when the file system gives it. */
static bool entry_is_regular(int fd, const struct dirent *de)
{
	if (de->d_type == DT_REG)
		return true;
	if (de->d_type != DT_UNKNOWN)
		return false;
	struct stat st;
	return fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		S_ISREG(st.st_mode);
}

static void scan_add(struct storage_mailbox *box, struct scan_list *list,
		     int fd, enum maildir_dir dir, const struct dirent *de)
{
	if (list->count >= MAILDIR_MAX_MESSAGES) {
		if (!list->limit_logged)
			log_msg(LOG_LEVEL_WARNING, &box->log_ctx,
				"Maildir %s has more than %d messages: "
				"this session sees only some of them",
				box->path, MAILDIR_MAX_MESSAGES);
		list->limit_logged = true;
		return;
	}
	if (list->count == list->cap) {
		list->cap = list->cap == 0 ? 64 : list->cap * 2;
		list->msgs = xrealloc(list->msgs,
				      list->cap * sizeof(*list->msgs));
	}
	struct maildir_message *m = &list->msgs[list->count++];
	struct maildir_name parsed;
	memset(m, 0, sizeof(*m));
	maildir_name_parse(de->d_name, &parsed);
	m->dir = dir;
	m->name = pool_strdup(box->pool, de->d_name);
	m->base = pool_strndup(box->pool, de->d_name, parsed.base_len);
	m->ino = de->d_ino;
	m->have_w_size = parsed.have_w_size;
	m->w_size = parsed.w_size;
	if (parsed.have_time) {
		m->sort_sec = parsed.time_sec;
		m->sort_usec = parsed.time_usec;
		return;
	}
	/* No delivery time in the name: the file's mtime is the next best
	 * guess of arrival (renames keep it). */
	struct stat st;
	if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		m->sort_sec = (uint64_t)st.st_mtim.tv_sec;
		m->sort_usec = (uint32_t)(st.st_mtim.tv_nsec / 1000);
	}
}

/* Moves new/name to cur/ with the standard info suffix. Returns true when
 * the message is now in cur/ (moved by us or by someone else). */
static bool move_to_cur(struct storage_mailbox *box, const char *name)
{
	const char *target = strchr(name, ':') != NULL ? name :
		pool_printf(box->pool, "%s%s", name, MAILDIR_NEW_INFO);

	/* Never replace an existing cur/ file: that would lose a message.
	 * RENAME_NOREPLACE is missing on some file systems; link() gives
	 * the same guarantee there. */
	if (renameat2(box->new_fd, name, box->cur_fd, target,
		      RENAME_NOREPLACE) == 0)
		return true;
	if (errno == EINVAL || errno == ENOSYS) {
		if (linkat(box->new_fd, name, box->cur_fd, target, 0) == 0) {
			if (unlinkat(box->new_fd, name, 0) < 0 &&
			    errno != ENOENT)
				log_msg(LOG_LEVEL_WARNING, &box->log_ctx,
					"unlink(%s/new/%s) failed after "
					"linking it to cur/: %s", box->path,
					name, strerror(errno));
			return true;
		}
	}
	if (errno == ENOENT) {
		/* Another client moved it first; the cur/ scan finds it. */
		return true;
	}
	if (errno != EEXIST)
		log_msg(LOG_LEVEL_WARNING, &box->log_ctx,
			"Cannot move %s/new/%s to cur/: %s", box->path, name,
			strerror(errno));
	/* Served from new/ this time: keeping it is better than failing. */
	return false;
}

static int scan_new(struct storage_mailbox *box, struct scan_list *list,
		    struct error *err)
{
	DIR *d = open_dir_stream(box->new_fd, err, box->path, "new");
	if (d == NULL)
		return -1;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    !entry_is_regular(box->new_fd, de)) {
			errno = 0;
			continue;
		}
		if (!move_to_cur(box, de->d_name))
			scan_add(box, list, box->new_fd, MAILDIR_DIR_NEW, de);
		errno = 0;
	}
	int ret = 0;
	if (errno != 0) {
		error_set_errno(err, "readdir(%s/new) failed", box->path);
		ret = -1;
	}
	closedir(d);
	return ret;
}

static int scan_cur(struct storage_mailbox *box, struct scan_list *list,
		    struct error *err)
{
	DIR *d = open_dir_stream(box->cur_fd, err, box->path, "cur");
	if (d == NULL)
		return -1;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' && entry_is_regular(box->cur_fd, de))
			scan_add(box, list, box->cur_fd, MAILDIR_DIR_CUR, de);
		errno = 0;
	}
	int ret = 0;
	if (errno != 0) {
		error_set_errno(err, "readdir(%s/cur) failed", box->path);
		ret = -1;
	}
	closedir(d);
	return ret;
}

/* Finds the message's current name in cur/ after its snapshot name has
 * gone: an IMAP client changed its flags or moved it from new/. The inode
 * is the same after a rename; the base name alone is trusted only when no
 * other snapshot message shares it. Returns false when it is really gone. */
static bool rescan_message(struct storage_mailbox *box,
			   struct maildir_message *msg)
{
	DIR *d = open_dir_stream(box->cur_fd, NULL, box->path, "cur");
	if (d == NULL)
		return false;
	size_t base_len = strlen(msg->base);
	char *found = NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, msg->base, base_len) != 0 ||
		    (de->d_name[base_len] != ':' &&
		     de->d_name[base_len] != '\0'))
			continue;
		if (de->d_ino == msg->ino) {
			free(found);
			found = xstrdup(de->d_name);
			break;
		}
		if (!msg->dup_base && found == NULL)
			found = xstrdup(de->d_name);
	}
	closedir(d);
	if (found == NULL)
		return false;
	msg->name = pool_strdup(box->pool, found);
	msg->dir = MAILDIR_DIR_CUR;
	free(found);
	return true;
}

/* Opens a message file for reading, following renames. A message that is
 * really gone gives ERROR_NOT_FOUND. */
static int open_message_fd(struct storage_mailbox *box,
			   struct maildir_message *msg, struct error *err)
{
	/* O_NONBLOCK: if a FIFO got in under a message's name, open() must
	 * not hang; for a regular file the flag means nothing. */
	const int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
		O_NOCTTY;
	int fd = -1;
	for (int attempt = 0; attempt < MAILDIR_RESCAN_ATTEMPTS; attempt++) {
		fd = openat(dir_fd(box, msg->dir), msg->name, flags);
		if (fd >= 0 || errno != ENOENT)
			break;
		if (!rescan_message(box, msg)) {
			errno = ENOENT;
			break;
		}
	}
	if (fd < 0) {
		if (errno == ENOENT)
			error_set(err, ERROR_NOT_FOUND,
				  "Message %s in %s no longer exists",
				  msg->base, box->path);
		else
			error_set_errno(err, "open(%s/%s/%s) failed",
					box->path, dir_name(msg->dir),
					msg->name);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		error_set_errno(err, "fstat(%s/%s/%s) failed", box->path,
				dir_name(msg->dir), msg->name);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		error_set(err, ERROR_PERM, "%s/%s/%s is not a regular file",
			  box->path, dir_name(msg->dir), msg->name);
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- sizes, order, UIDLs ---- */

/* Dovecot's W is the message's size with CRLF line ends. Roost's POP3
 * size (message-wire.h) is the same except for a message whose last line
 * has no line end: Roost sends a CRLF there, so it is 2 more. Reading
 * only the last byte tells the two cases apart without reading the body;
 * W is also checked against the file size (CRLF conversion never shrinks
 * a message and at most doubles it). When W does not fit, the size is
 * computed: a listed size that RETR does not match would break clients. */
static bool dovecot_vsize_fits(int fd, uint64_t vsize)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return false;
	uint64_t size = (uint64_t)st.st_size;
	if (size == 0)
		return vsize == 0;
	if (vsize < size || vsize > 2 * size)
		return false;
	char last;
	return pread(fd, &last, 1, st.st_size - 1) == 1 && last == '\n';
}

/* Fills in every size; drops messages deleted by someone else since the
 * scan. A message that exists but cannot be read fails the open: a
 * mailbox listed with a wrong size would break the client. */
static int compute_sizes(struct storage_mailbox *box, struct scan_list *list,
			 struct error *err)
{
	char *cache_path = pool_printf(box->pool, "%s/%s", box->path,
				       MAILDIR_SIZE_CACHE_NAME);
	struct maildir_size_cache *cache =
		maildir_size_cache_read(box->pool, cache_path);
	size_t kept = 0;

	for (size_t i = 0; i < list->count; i++) {
		struct maildir_message *m = &list->msgs[i];
		if (m->have_w_size) {
			m->info.size = m->w_size;
		} else if (!maildir_size_cache_lookup(cache, m->base,
						      &m->info.size)) {
			struct error size_err;
			error_clear(&size_err);
			int fd = open_message_fd(box, m, &size_err);
			if (fd < 0 && size_err.kind == ERROR_NOT_FOUND)
				continue;
			bool use_w = fd >= 0 && m->dovecot != NULL &&
				m->dovecot->have_vsize &&
				dovecot_vsize_fits(fd, m->dovecot->vsize);
			if (use_w)
				m->info.size = m->dovecot->vsize;
			else if (fd < 0 ||
				 message_wire_size_fd(fd, &m->info.size,
						      &size_err) < 0) {
				if (fd >= 0)
					close(fd);
				error_set(err, size_err.kind == ERROR_PERM ?
					  ERROR_PERM : ERROR_TEMP,
					  "%s", size_err.message);
				return -1;
			}
			close(fd);
			/* a checked W is cached too: the next session then
			 * does not even open the file */
			maildir_size_cache_add(cache, m->base, m->info.size);
		}
		list->msgs[kept++] = *m;
	}
	list->count = kept;

	if (maildir_size_cache_is_dirty(cache)) {
		struct error cache_err;
		error_clear(&cache_err);
		if (maildir_size_cache_write(cache, &cache_err) < 0)
			log_msg(LOG_LEVEL_WARNING, &box->log_ctx,
				"Cannot update maildir size cache: %s",
				cache_err.message);
	}
	return 0;
}

/* Delivery order; the base name and then the inode break ties, both of
 * which survive flag changes, so numbering is the same every session. */
static int message_cmp(const void *p1, const void *p2)
{
	const struct maildir_message *a = p1, *b = p2;
	if (a->sort_sec != b->sort_sec)
		return a->sort_sec < b->sort_sec ? -1 : 1;
	if (a->sort_usec != b->sort_usec)
		return a->sort_usec < b->sort_usec ? -1 : 1;
	int c = strcmp(a->base, b->base);
	if (c != 0)
		return c;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* A base name normally is the UIDL. The same base name twice (a copy in
 * both new/ and cur/, a restored backup) would give two messages one
 * UIDL; the later one in snapshot order then gets "<base>-<n>" for the
 * smallest n >= 2 not taken (or its digest, by the usual rule). All
 * unsuffixed UIDLs are claimed first, so an existing message called
 * "<base>-2" keeps its own UIDL. */
/* With a dovecot-uidlist, twins are found by base name directly: the
 * UIDL collisions below no longer tell them apart from an inherited UIDL
 * that happens to equal a base name. */
static void mark_twins(struct storage_mailbox *box, struct scan_list *list)
{
	struct maildir_hash *bases =
		maildir_hash_create(box->pool, list->count);
	bool created;
	for (size_t i = 0; i < list->count; i++) {
		struct maildir_message *m = &list->msgs[i];
		struct maildir_hash_entry *e = maildir_hash_insert(
			bases, m->base, strlen(m->base), &created);
		if (created) {
			e->value = i;
		} else {
			m->dup_base = true;
			list->msgs[e->value].dup_base = true;
		}
	}
}

/* Claims uidl for message i when no other message has it. */
static bool claim_uidl(struct storage_mailbox *box, struct scan_list *list,
		       struct maildir_hash *taken, size_t i, const char *uidl,
		       size_t *holder_r)
{
	bool created;
	char *copy = pool_strdup(box->pool, uidl);
	struct maildir_hash_entry *e =
		maildir_hash_insert(taken, copy, strlen(copy), &created);
	if (!created) {
		*holder_r = (size_t)e->value;
		return false;
	}
	e->value = i;
	list->msgs[i].info.uidl = copy;
	return true;
}

/*
 * Messages listed in dovecot-uidlist claim the UIDLs Dovecot gave them
 * before anything else, because clients know those. The rest get their
 * base-name UIDL as without the file. The two forms cannot collide in
 * practice: the default Dovecot form is 16 hex digits, while a maildir
 * base name is "<time>.<unique>.<host>" and so contains dots (a P UIDL
 * is whatever Dovecot stored; often the base name itself, which belongs
 * to the same message). And should a strange base name or a P value equal
 * an inherited UIDL anyway, the message claiming later falls through to
 * the suffix rule below, so UIDLs stay unique; only that message's UIDL
 * is then not the one Dovecot reported.
 */
static void assign_inherited_uidls(struct storage_mailbox *box,
				   struct scan_list *list,
				   struct maildir_hash *taken)
{
	char uidl[MAILDIR_UIDL_MAX + 1];
	size_t holder;
	for (size_t i = 0; i < list->count; i++) {
		struct maildir_message *m = &list->msgs[i];
		size_t base_len = strlen(m->base);
		m->dovecot = maildir_dovecot_uidlist_lookup(box->dovecot,
							    m->base, base_len);
		if (m->dovecot == NULL)
			continue;
		maildir_dovecot_uidl(box->dovecot, m->dovecot, m->base,
				     base_len, uidl);
		(void)claim_uidl(box, list, taken, i, uidl, &holder);
	}
}

static void assign_uidls(struct storage_mailbox *box, struct scan_list *list)
{
	struct maildir_hash *taken =
		maildir_hash_create(box->pool, list->count);
	char uidl[MAILDIR_UIDL_MAX + 1];
	bool created;
	size_t holder;

	if (box->dovecot != NULL) {
		mark_twins(box, list);
		assign_inherited_uidls(box, list, taken);
	}
	for (size_t i = 0; i < list->count; i++) {
		struct maildir_message *m = &list->msgs[i];
		if (m->info.uidl != NULL)
			continue;
		maildir_uidl_from_base(m->base, strlen(m->base), uidl);
		if (!claim_uidl(box, list, taken, i, uidl, &holder) &&
		    box->dovecot == NULL) {
			/* the same base name: mark_twins() without a hash */
			m->dup_base = true;
			list->msgs[holder].dup_base = true;
		}
	}
	for (size_t i = 0; i < list->count; i++) {
		struct maildir_message *m = &list->msgs[i];
		if (m->info.uidl != NULL)
			continue;
		for (unsigned long n = 2; ; n++) {
			char *candidate = pool_printf(box->pool, "%s-%lu",
						      m->base, n);
			maildir_uidl_from_base(candidate, strlen(candidate),
					       uidl);
			char *copy = pool_strdup(box->pool, uidl);
			struct maildir_hash_entry *e = maildir_hash_insert(
				taken, copy, strlen(copy), &created);
			if (created) {
				e->value = i;
				m->info.uidl = copy;
				break;
			}
		}
	}
}

/* ---- storage_ops ---- */

static void box_close_fds(struct storage_mailbox *box)
{
	close_fd(&box->cur_fd);
	close_fd(&box->new_fd);
	close_fd(&box->root_fd);
	/* last: the lock guards everything above */
	close_fd(&box->lock_fd);
}

static struct storage_mailbox *maildir_open(pool_t *pool, const char *path,
					    const struct storage_user *user,
					    struct error *err)
{
	struct storage_mailbox *box = pool_alloc(pool, sizeof(*box));
	box->pool = pool;
	if (parse_location(box, path, err) < 0)
		return NULL;
	box->log_ctx.user = user != NULL ? pool_strdup(pool, user->user) : NULL;
	box->root_fd = box->cur_fd = box->new_fd = box->lock_fd = -1;

	struct scan_list list = { NULL, 0, 0, false };
	if (open_root(box, err) < 0 ||
	    open_subdir(box, "tmp", NULL, err) < 0 ||
	    open_subdir(box, "new", &box->new_fd, err) < 0 ||
	    open_subdir(box, "cur", &box->cur_fd, err) < 0 ||
	    take_lock(box, err) < 0 ||
	    /* new/ first: what we move to cur/ is then found there */
	    scan_new(box, &list, err) < 0 ||
	    scan_cur(box, &list, err) < 0) {
		free(list.msgs);
		box_close_fds(box);
		return NULL;
	}
	if (list.count > 1)   /* an empty mailbox has no array at all */
		qsort(list.msgs, list.count, sizeof(*list.msgs), message_cmp);
	read_dovecot_uidlist(box);
	/* UIDLs before sizes: computing a size may have to find a renamed
	 * file, which needs to know which base names are shared. */
	assign_uidls(box, &list);
	if (compute_sizes(box, &list, err) < 0) {
		free(list.msgs);
		box_close_fds(box);
		return NULL;
	}
	box->count = (unsigned)list.count;
	box->msgs = list.count == 0 ? NULL :
		pool_memdup(pool, list.msgs, list.count * sizeof(*list.msgs));
	free(list.msgs);
	return box;
}

static unsigned maildir_message_count(struct storage_mailbox *box)
{
	return box->count;
}

static const struct storage_message_info *
maildir_message_info(struct storage_mailbox *box, unsigned index)
{
	if (index >= box->count)
		return NULL;
	return &box->msgs[index].info;
}

static struct storage_message_reader *
maildir_message_open(struct storage_mailbox *box, unsigned index,
		     struct error *err)
{
	if (index >= box->count) {
		error_set(err, ERROR_NOT_FOUND, "No message %u in %s",
			  index + 1, box->path);
		return NULL;
	}
	int fd = open_message_fd(box, &box->msgs[index], err);
	if (fd < 0)
		return NULL;
	struct storage_message_reader *reader = box->free_readers;
	if (reader != NULL)
		box->free_readers = reader->next_free;
	else
		reader = pool_alloc(box->pool, sizeof(*reader));
	reader->box = box;
	reader->fd = fd;
	reader->next_free = NULL;
	return reader;
}

static ssize_t maildir_message_read(struct storage_message_reader *reader,
				    void *buf, size_t size, struct error *err)
{
	for (;;) {
		ssize_t n = read(reader->fd, buf, size);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		error_set_errno(err, "read(%s) failed", reader->box->path);
		if (err != NULL && err->kind == ERROR_NOT_FOUND)
			err->kind = ERROR_TEMP;
		return -1;
	}
}

static void maildir_message_close(struct storage_message_reader *reader)
{
	struct storage_mailbox *box = reader->box;
	close_fd(&reader->fd);
	reader->next_free = box->free_readers;
	box->free_readers = reader;
}

/* Unlinks one message. Returns 0 when it is gone (also when someone else
 * removed it first), -1 with err set otherwise. */
static int delete_message(struct storage_mailbox *box,
			  struct maildir_message *msg, bool *touched_new,
			  struct error *err)
{
	for (int attempt = 0; attempt < MAILDIR_RESCAN_ATTEMPTS; attempt++) {
		if (msg->dir == MAILDIR_DIR_NEW)
			*touched_new = true;
		if (unlinkat(dir_fd(box, msg->dir), msg->name, 0) == 0)
			return 0;
		if (errno != ENOENT) {
			error_set_errno(err, "unlink(%s/%s/%s) failed",
					box->path, dir_name(msg->dir),
					msg->name);
			return -1;
		}
		if (!rescan_message(box, msg))
			return 0;
	}
	error_set(err, ERROR_TEMP, "%s/cur/%s keeps being renamed",
		  box->path, msg->base);
	return -1;
}

static int maildir_commit_deletions(struct storage_mailbox *box,
				    const bool *deleted, struct error *err)
{
	struct error first;
	unsigned failed = 0, wanted = 0;
	bool touched_new = false, touched_cur = false;

	error_clear(&first);
	for (unsigned i = 0; i < box->count; i++) {
		if (!deleted[i])
			continue;
		wanted++;
		struct error one;
		error_clear(&one);
		if (delete_message(box, &box->msgs[i], &touched_new,
				   &one) < 0) {
			if (failed++ == 0)
				first = one;
			continue;
		}
		if (box->msgs[i].dir == MAILDIR_DIR_CUR)
			touched_cur = true;
	}
	/* The unlinks are durable only once the directory is synced: a
	 * crash must not bring deleted mail back. */
	if ((touched_cur && fsync(box->cur_fd) < 0) ||
	    (touched_new && fsync(box->new_fd) < 0)) {
		struct error sync_err;
		error_set_errno(&sync_err, "fsync(%s) failed", box->path);
		sync_err.kind = ERROR_TEMP;
		if (failed++ == 0)
			first = sync_err;
	}
	if (failed == 0)
		return 0;
	error_set(err, first.kind == ERROR_PERM ? ERROR_PERM : ERROR_TEMP,
		  "%u of %u deletions failed in %s; first: %s", failed, wanted,
		  box->path, first.message);
	return -1;
}

static void maildir_close(struct storage_mailbox *box)
{
	box_close_fds(box);
}

static const struct storage_ops maildir_storage_ops = {
	.open = maildir_open,
	.message_count = maildir_message_count,
	.message_info = maildir_message_info,
	.message_open = maildir_message_open,
	.message_read = maildir_message_read,
	.message_close = maildir_message_close,
	.commit_deletions = maildir_commit_deletions,
	.close = maildir_close,
};

ROOST_MODULE(.kind = MODULE_KIND_STORAGE, .name = "maildir",
	     .ops = &maildir_storage_ops);
