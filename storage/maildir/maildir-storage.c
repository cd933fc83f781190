/*
 * The maildir storage module: storage_ops (storage.h) over a maildir
 * directory with cur/, new/ and tmp/.
 *
 * Files in the maildir root that Roost owns:
 *   roost-pop3.lock  flock()ed for the whole POP3 session (IN-USE);
 *   roost-sizes      the POP3 size cache (maildir-size-cache.h);
 *   roost-listing    the last settled snapshot (maildir-listing-cache.h),
 *                    which spares an unchanged maildir its readdir.
 * Roost reads, and never writes, Dovecot's dovecot-uidlist
 * (maildir-dovecot-uidlist.h) and Courier's courierpop3dsizelist
 * (maildir-courier-sizelist.h) so that mail moved from those servers
 * keeps its UIDLs.
 *
 * The mail location is "maildir:PATH[:key=value]...", of which open()
 * gets everything after "maildir:" (so a ':' cannot appear in PATH; it
 * cannot in Dovecot's mail_location either). One option, at most once:
 *
 *   uidl=auto      (the default) dovecot-uidlist when the maildir has a
 *                  usable one, else courierpop3dsizelist when it has
 *                  that, else base names. A maildir rarely has both; when
 *                  it does, it was most likely converted from Courier to
 *                  Dovecot (Dovecot's courier-dovecot-migrate.pl keeps
 *                  Courier's UIDLs as P fields), so dovecot-uidlist holds
 *                  what clients saw last.
 *   uidl=dovecot   when the maildir has a dovecot-uidlist, its messages
 *                  keep the UIDLs Dovecot 2.3 gave them with its default
 *                  pop3_uidl_format %08Xu%08Xv (or the P UIDL stored for
 *                  a message); courierpop3dsizelist is ignored. All
 *                  other messages get the base-name UIDL (maildir-name.h).
 *                  Without the file this is exactly "basename".
 *                  Trade-off (also of auto and courier): the UIDLs depend
 *                  on a file Roost does not maintain; if an administrator
 *                  deletes it, inherited UIDLs change once.
 *   uidl=courier   the same with courierpop3dsizelist only: Courier's
 *                  "UID<n>-<uidvalidity>"; dovecot-uidlist is ignored.
 *   uidl=basename  the base-name UIDL for every message; dovecot-uidlist
 *                  is ignored. For new installs, and for maildirs whose
 *                  clients knew the base names (Courier before 0.43, or
 *                  Dovecot with pop3_uidl_format = %f). Switching a migrated maildir
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
#include "maildir-courier-sizelist.h"
#include "maildir-dovecot-uidlist.h"
#include "maildir-hash.h"
#include "maildir-listing-cache.h"
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
#include <time.h>
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
/* Largest dovecot-uidlist or courierpop3dsizelist read:
 * MAILDIR_MAX_MESSAGES lines of a file name and a few fields (~250
 * bytes). A bigger one is not a file we could use within the snapshot
 * cap anyway, and reading it whole would cost the worker that much
 * memory. */
#define MAILDIR_UIDL_FILE_MAX_SIZE (256 * 1024 * 1024)

enum maildir_uidl_mode {
	MAILDIR_UIDL_AUTO,       /* default: dovecot, else courier */
	MAILDIR_UIDL_DOVECOT,
	MAILDIR_UIDL_COURIER,
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
	/* NULL without the file, with a damaged header, or in a mode that
	 * does not read it; at most one of the two is set */
	struct maildir_dovecot_uidlist *dovecot;
	struct maildir_courier_sizelist *courier;
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

/* "PATH[:uidl=auto|dovecot|courier|basename]" (see the top of this file). Unknown
 * options are errors: a typo must not silently change UIDLs. */
static int parse_location(struct storage_mailbox *box, const char *location,
			  struct error *err)
{
	struct storage_location_option *opts;
	unsigned count;
	if (storage_location_split(box->pool, location, "maildir", &box->path,
				   &opts, &count, err) < 0)
		return -1;
	box->uidl_mode = MAILDIR_UIDL_AUTO;
	for (unsigned i = 0; i < count; i++) {
		if (strcmp(opts[i].key, "uidl") != 0) {
			error_set(err, ERROR_INVALID,
				  "maildir: unknown option '%s' (known: uidl)", opts[i].key);
			return -1;
		}
		if (strcmp(opts[i].value, "auto") == 0)
			box->uidl_mode = MAILDIR_UIDL_AUTO;
		else if (strcmp(opts[i].value, "dovecot") == 0)
			box->uidl_mode = MAILDIR_UIDL_DOVECOT;
		else if (strcmp(opts[i].value, "courier") == 0)
			box->uidl_mode = MAILDIR_UIDL_COURIER;
		else if (strcmp(opts[i].value, "basename") == 0)
			box->uidl_mode = MAILDIR_UIDL_BASENAME;
		else {
			error_set(err, ERROR_INVALID,
				  "maildir: invalid uidl=%s (use auto, dovecot, "
				  "courier or basename)", opts[i].value);
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

/* ---- dovecot-uidlist and courierpop3dsizelist ---- */

/* The context of a UIDL file's warnings: which file of which box. */
struct uidl_file {
	struct storage_mailbox *box;
	const char *name;
};

static void uidl_file_warn(void *context, unsigned line, const char *why)
{
	const struct uidl_file *f = context;
	log_msg(LOG_LEVEL_WARNING, &f->box->log_ctx,
		"%s/%s:%u: %s; messages without a usable line keep "
		"Roost's own UIDLs", f->box->path, f->name, line, why);
}

/* Reads the whole file name in the maildir root into a buffer from pool,
 * or malloc()ed when pool is NULL (*len_r bytes, NUL-terminated); NULL
 * when it is missing (silently) or unusable (logged). */
static char *read_root_file(struct storage_mailbox *box, pool_t *pool,
			    const char *name, size_t *len_r)
{
	int fd = openat(box->root_fd, name, O_RDONLY | O_CLOEXEC |
			O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno != ENOENT)
			log_msg(LOG_LEVEL_WARNING, &box->log_ctx,
				"Cannot open %s/%s: %s", box->path, name,
				strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > MAILDIR_UIDL_FILE_MAX_SIZE) {
		log_msg(LOG_LEVEL_WARNING, &box->log_ctx,
			"Ignoring %s/%s: not a regular file of at most %d bytes",
			box->path, name, MAILDIR_UIDL_FILE_MAX_SIZE);
		close(fd);
		return NULL;
	}
	size_t cap = (size_t)st.st_size;
	char *buf = pool != NULL ? pool_alloc(pool, cap + 1) : xmalloc(cap + 1);
	size_t len = 0;
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_msg(LOG_LEVEL_WARNING, &box->log_ctx,
				"Cannot read %s/%s: %s", box->path, name,
				strerror(errno));
			if (pool == NULL)
				free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*len_r = len;
	return buf;
}

/* Reads the UIDL file(s) the mode asks for, once per session: the
 * snapshot's UIDLs come from what they said at open(), whatever another
 * server (if it still runs) does to them later. Any problem only costs
 * the inherited UIDLs, never the session. */
static void read_uidl_files(struct storage_mailbox *box)
{
	size_t len;
	char *buf;
	struct uidl_file file = { box, MAILDIR_DOVECOT_UIDLIST_NAME };
	if (box->uidl_mode == MAILDIR_UIDL_AUTO ||
	    box->uidl_mode == MAILDIR_UIDL_DOVECOT) {
		buf = read_root_file(box, NULL, file.name, &len);
		if (buf != NULL) {
			box->dovecot = maildir_dovecot_uidlist_parse(
				box->pool, buf, len, uidl_file_warn, &file);
			free(buf);
		}
	}
	if (box->dovecot != NULL || (box->uidl_mode != MAILDIR_UIDL_AUTO &&
				     box->uidl_mode != MAILDIR_UIDL_COURIER))
		return;
	file.name = MAILDIR_COURIER_SIZELIST_NAME;
	buf = read_root_file(box, NULL, file.name, &len);
	if (buf != NULL) {
		box->courier = maildir_courier_sizelist_parse(
			box->pool, buf, len, uidl_file_warn, &file);
		free(buf);
	}
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

/* *had_new_r: whether new/ held any message. */
static int scan_new(struct storage_mailbox *box, struct scan_list *list,
		    bool *had_new_r, struct error *err)
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
		*had_new_r = true;
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

/* Dovecot's W is the message's size with CRLF line ends, which is also
 * Roost's maildir size (see dovecot_size_fd()). It is checked against the
 * file size only (CRLF conversion never shrinks a message and at most
 * doubles it): a W that does not fit is a damaged or foreign file, and
 * the size is then computed, since a listed size far from what RETR sends
 * would break clients. */
static bool dovecot_vsize_fits(int fd, uint64_t vsize)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return false;
	uint64_t size = (uint64_t)st.st_size;
	return vsize >= size && vsize <= 2 * size;
}

/* True when the non-empty file's last byte is not a line end: RETR then
 * adds a CRLF that the size leaves out. */
static bool last_line_unterminated(int fd)
{
	struct stat st;
	char last;
	return fstat(fd, &st) == 0 && st.st_size > 0 &&
		pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n';
}

/* The POP3 size as Dovecot (and Courier) list it: the message's octets
 * with CRLF line ends, without the CRLF that RETR adds after an
 * unterminated last line (message_wire_size() counts that one). LIST
 * then stays the same when mail moves between Dovecot and Roost. */
static int dovecot_size_fd(int fd, uint64_t *size_r, struct error *err)
{
	if (message_wire_size_fd(fd, size_r, err) < 0)
		return -1;
	if (*size_r >= 2 && last_line_unterminated(fd))
		*size_r -= 2;
	return 0;
}

/* The size of a message not named with ,W=: from the cache, Dovecot's W
 * or the file. Returns 1 with m->info.size set, 0 when the message is
 * gone, -1 with err set. */
static int message_size(struct storage_mailbox *box, struct maildir_message *m,
			struct maildir_size_cache *cache, struct error *err)
{
	bool cached = maildir_size_cache_lookup(cache, m->base, &m->info.size);
	if (cached && !maildir_size_cache_is_legacy(cache))
		return 1;
	int fd = open_message_fd(box, m, err);
	if (fd < 0)
		return err->kind == ERROR_NOT_FOUND ? 0 : -1;
	int ret = 1;
	if (cached) {
		/* A legacy entry counted RETR's CRLF after an unterminated
		 * last line: one byte read fixes it, not the whole body. */
		if (m->info.size >= 2 && last_line_unterminated(fd))
			m->info.size -= 2;
	} else if (m->dovecot != NULL && m->dovecot->have_vsize &&
		   dovecot_vsize_fits(fd, m->dovecot->vsize)) {
		m->info.size = m->dovecot->vsize;
	} else if (dovecot_size_fd(fd, &m->info.size, err) < 0) {
		ret = -1;
	}
	close(fd);
	/* a checked W is cached too: the next session then does not even
	 * open the file */
	if (ret > 0)
		maildir_size_cache_add(cache, m->base, m->info.size);
	return ret;
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
		} else {
			struct error size_err;
			error_clear(&size_err);
			int ret = message_size(box, m, cache, &size_err);
			if (ret == 0)
				continue;
			if (ret < 0) {
				error_set(err, size_err.kind == ERROR_PERM ?
					  ERROR_PERM : ERROR_TEMP,
					  "%s", size_err.message);
				return -1;
			}
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
/* With an inherited UIDL file, twins are found by base name directly: the
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
 * Messages listed in dovecot-uidlist (or courierpop3dsizelist) claim the
 * UIDLs that server gave them before anything else, because clients know
 * those. The rest get their base-name UIDL as without the file. The forms
 * cannot collide in practice: the default Dovecot form is 16 hex digits
 * and Courier's "UID<n>-<uidvalidity>", while a maildir base name is
 * "<time>.<unique>.<host>" and so contains dots (a P UIDL is whatever
 * Dovecot stored; often the base name itself, which belongs to the same
 * message). And should a strange base name or a P value equal an
 * inherited UIDL anyway, the message claiming later falls through to the
 * suffix rule below, so UIDLs stay unique; only that message's UIDL is
 * then not the one the other server reported.
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
		if (box->dovecot != NULL) {
			m->dovecot = maildir_dovecot_uidlist_lookup(
				box->dovecot, m->base, base_len);
			if (m->dovecot == NULL)
				continue;
			maildir_dovecot_uidl(box->dovecot, m->dovecot, m->base,
					     base_len, uidl);
		} else {
			const struct maildir_courier_record *rec =
				maildir_courier_sizelist_lookup(
					box->courier, m->base, base_len);
			if (rec == NULL)
				continue;
			maildir_courier_uidl(rec, m->base, base_len, uidl);
		}
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
	bool inherited = box->dovecot != NULL || box->courier != NULL;

	if (inherited) {
		mark_twins(box, list);
		assign_inherited_uidls(box, list, taken);
	}
	for (size_t i = 0; i < list->count; i++) {
		struct maildir_message *m = &list->msgs[i];
		if (m->info.uidl != NULL)
			continue;
		maildir_uidl_from_base(m->base, strlen(m->base), uidl);
		if (!claim_uidl(box, list, taken, i, uidl, &holder) &&
		    !inherited) {
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

/* ---- the listing cache ---- */

/* The key of the snapshot about to be taken: stamps of cur/, new/ and the
 * UIDL files the mode may read, taken before any of them is read. False
 * when one cannot be had (then no cache is used or written). */
static bool listing_key(struct storage_mailbox *box,
			struct maildir_listing_key *key)
{
	struct timespec now;
	struct stat st;
	memset(key, 0, sizeof(*key));
	key->uidl_mode = (unsigned)box->uidl_mode;
	if (clock_gettime(CLOCK_REALTIME, &now) < 0 || now.tv_sec < 0)
		return false;
	key->scan_sec = (uint64_t)now.tv_sec;
	key->scan_nsec = (uint64_t)now.tv_nsec;
	if (fstat(box->cur_fd, &st) < 0 ||
	    !maildir_listing_stamp_set(&key->stamps[MAILDIR_LISTING_STAMP_CUR], &st) ||
	    fstat(box->new_fd, &st) < 0 ||
	    !maildir_listing_stamp_set(&key->stamps[MAILDIR_LISTING_STAMP_NEW], &st))
		return false;
	static const struct {
		enum maildir_listing_stamp_index index;
		const char *name;
		enum maildir_uidl_mode ignored_by;
	} files[] = {
		{ MAILDIR_LISTING_STAMP_DOVECOT, MAILDIR_DOVECOT_UIDLIST_NAME,
		  MAILDIR_UIDL_COURIER },
		{ MAILDIR_LISTING_STAMP_COURIER, MAILDIR_COURIER_SIZELIST_NAME,
		  MAILDIR_UIDL_DOVECOT },
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (box->uidl_mode == MAILDIR_UIDL_BASENAME ||
		    box->uidl_mode == files[i].ignored_by)
			continue;
		bool present = fstatat(box->root_fd, files[i].name, &st,
				       AT_SYMLINK_NOFOLLOW) == 0;
		if (!present && errno != ENOENT)
			return false;
		if (!maildir_listing_stamp_set(&key->stamps[files[i].index],
					       present ? &st : NULL))
			return false;
	}
	return true;
}

/* Reads the header of the open listing file; true when it announces a
 * snapshot with exactly this key. */
static bool listing_header_matches(int fd, const struct maildir_listing_key *key,
				   size_t *count_r)
{
	char head[MAILDIR_LISTING_HEADER_MAX];
	ssize_t n;
	do {
		n = pread(fd, head, sizeof(head), 0);
	} while (n < 0 && errno == EINTR);
	struct maildir_listing_key cached;
	size_t header_len;
	return n > 0 &&
		maildir_listing_parse_header(head, (size_t)n, &cached, count_r,
					     &header_len) &&
		maildir_listing_key_equal(&cached, key) &&
		maildir_listing_key_settled(&cached) &&
		*count_r <= MAILDIR_MAX_MESSAGES;
}

/* The snapshot from the listing cache when it is valid for key: box's
 * messages set and true; false (nothing changed) otherwise. */
static bool open_from_listing(struct storage_mailbox *box,
			      const struct maildir_listing_key *key)
{
	int fd = openat(box->root_fd, MAILDIR_LISTING_CACHE_NAME,
			O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return false;
	size_t count;
	bool matches = listing_header_matches(fd, key, &count);
	close(fd);
	if (!matches)
		return false;

	size_t len;
	char *buf = read_root_file(box, box->pool, MAILDIR_LISTING_CACHE_NAME,
				   &len);
	struct maildir_listing_key cached;
	size_t header_len, count2;
	struct maildir_listing_entry *entries;
	const char *why = "changed while being read";
	if (buf == NULL ||
	    !maildir_listing_parse_header(buf, len, &cached, &count2,
					  &header_len) ||
	    !maildir_listing_key_equal(&cached, key) || count2 != count ||
	    !maildir_listing_parse_entries(box->pool, buf + header_len,
					   len - header_len, count, &entries,
					   &why)) {
		log_msg(LOG_LEVEL_WARNING, &box->log_ctx,
			"Ignoring %s/%s: %s", box->path,
			MAILDIR_LISTING_CACHE_NAME, why);
		return false;
	}
	box->count = (unsigned)count;
	box->msgs = count == 0 ? NULL :
		pool_alloc(box->pool, count * sizeof(*box->msgs));
	for (size_t i = 0; i < count; i++) {
		const struct maildir_listing_entry *e = &entries[i];
		struct maildir_message *m = &box->msgs[i];
		m->dir = MAILDIR_DIR_CUR;
		m->name = e->name;
		m->base = pool_strndup(box->pool, e->name, e->base_len);
		m->ino = (ino_t)e->ino;
		m->dup_base = e->dup_base;
		m->info.size = e->size;
		m->info.uidl = e->uidl != NULL ? e->uidl : m->base;
	}
	return true;
}

/* Stores the snapshot for the next session when nothing it came from
 * changed within the dirty window (see maildir-listing-cache.h). */
static void write_listing(struct storage_mailbox *box,
			  const struct maildir_listing_key *key,
			  const struct scan_list *list)
{
	if (!maildir_listing_key_settled(key))
		return;
	struct maildir_listing_entry *entries =
		xmalloc((list->count + 1) * sizeof(*entries));
	for (size_t i = 0; i < list->count; i++) {
		const struct maildir_message *m = &list->msgs[i];
		struct maildir_listing_entry *e = &entries[i];
		e->name = m->name;
		e->base_len = strlen(m->base);
		e->uidl = m->info.uidl;
		e->size = m->info.size;
		e->ino = (uint64_t)m->ino;
		e->dup_base = m->dup_base;
	}
	char *path = pool_printf(box->pool, "%s/%s", box->path,
				 MAILDIR_LISTING_CACHE_NAME);
	struct error err;
	error_clear(&err);
	if (maildir_listing_write(path, key, entries, list->count, &err) < 0)
		log_msg(LOG_LEVEL_WARNING, &box->log_ctx,
			"Cannot update maildir listing cache: %s", err.message);
	free(entries);
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
	    take_lock(box, err) < 0) {
		box_close_fds(box);
		return NULL;
	}
	/* The key is taken under the lock and before any reading: what
	 * changes afterwards then changes a stamp. */
	struct maildir_listing_key key;
	bool have_key = listing_key(box, &key);
	if (have_key && open_from_listing(box, &key))
		return box;
	/* new/ first: what we move to cur/ is then found there */
	bool had_new = false;
	if (scan_new(box, &list, &had_new, err) < 0 ||
	    scan_cur(box, &list, err) < 0) {
		free(list.msgs);
		box_close_fds(box);
		return NULL;
	}
	size_t scanned = list.count;
	if (list.count > 1)   /* an empty mailbox has no array at all */
		qsort(list.msgs, list.count, sizeof(*list.msgs), message_cmp);
	read_uidl_files(box);
	/* UIDLs before sizes: computing a size may have to find a renamed
	 * file, which needs to know which base names are shared. */
	assign_uidls(box, &list);
	if (compute_sizes(box, &list, err) < 0) {
		free(list.msgs);
		box_close_fds(box);
		return NULL;
	}
	/* Moving mail out of new/ changed both directories, a vanished
	 * message means someone is deleting, and a capped snapshot must
	 * not outlive the session: the next scan stores those. */
	if (have_key && !had_new && list.count == scanned &&
	    !list.limit_logged)
		write_listing(box, &key, &list);
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
