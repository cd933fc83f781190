/*
 * storage_eml: an example Roost storage plugin, built out of tree against
 * the installed SDK only (<roost/...> headers, `pkg-config roost`).
 *
 * A mailbox is a directory holding one message per file, NAME.eml, the way
 * archiving tools, ticket systems or a web form's "mail me a copy" write
 * them; a provider can offer such a directory over POP3 read-only:
 *
 *     mail = eml:~/eml              (or per user: userdb_mail=eml:/srv/x)
 *
 * The contract (storage.h, doc/plugin-guide.md) and how this module keeps it:
 *  - Lock: the whole session flock()s DIR/.roost-eml.lock (or, when the
 *    directory is not writable, the directory itself), so a second session
 *    gets [IN-USE] and a killed worker leaves no lock behind.
 *  - Snapshot: the *.eml regular files present at open(), in file name
 *    order. Files added later are not seen; a file changed or removed later
 *    is refused when read ([SYS/TEMP]) rather than sent with a size that no
 *    longer matches LIST.
 *  - UIDL: the file name when it is 1..70 octets of 0x21..0x7E (it then
 *    never changes while the file keeps its name), otherwise a digest of
 *    the name ("x" and 32 hex digits), equally stable.
 *  - Size: message_wire_size_fd() of each file, at open(): the octets RETR
 *    sends (CRLF line ends, before dot-stuffing). This reads every message
 *    once per session; a mailbox of thousands of large messages would want
 *    a size cache (see the plugin guide).
 *  - commit_deletions(): the mailbox is read-only. Deleting is refused with
 *    ERROR_PERM, so DELE + QUIT answers [SYS/PERM] and nothing is removed.
 */
#include <roost/log.h>
#include <roost/message-wire.h>
#include <roost/module.h>
#include <roost/storage.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define EML_SUFFIX ".eml"
#define EML_LOCK_NAME ".roost-eml.lock"
/* Bounds the memory one session takes (a few hundred bytes each); files
 * beyond it are not listed in this session. */
#define EML_MAX_MESSAGES 100000
/* RFC 1939 §7: a unique-id is 1 to 70 characters in 0x21..0x7E. */
#define EML_UIDL_MAX STORAGE_UIDL_MAX

struct eml_message {
	struct storage_message_info info;
	const char *file;       /* name in the directory */
	/* What the snapshot saw: a read finds the same file or refuses. */
	dev_t dev;
	ino_t ino;
	off_t stored_size;
	struct timespec mtime;
};

struct storage_mailbox {
	const char *path;
	struct log_context log;
	int dir_fd;
	int lock_fd;            /* == dir_fd when the directory itself is locked */
	struct eml_message *msgs;
	unsigned count;
};

struct storage_message_reader {
	const struct eml_message *msg;
	const char *path;
	int fd;
};

/* 128 bits of two FNV-1a hashes: plenty to keep digests of distinct names
 * apart; a collision is still detected at open() (uidls_unique()). */
static const char *uidl_digest(pool_t *pool, const char *name)
{
	uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		a = (a ^ *p) * 0x100000001b3ULL;
		b = (b ^ (uint64_t)(*p ^ 0x5a)) * 0x100000001b3ULL;
	}
	return pool_printf(pool, "x%016llx%016llx", (unsigned long long)a,
			   (unsigned long long)b);
}

static bool is_eml_name(const char *name)
{
	size_t len = strlen(name), slen = strlen(EML_SUFFIX);
	return name[0] != '.' && len > slen &&
		strcmp(name + len - slen, EML_SUFFIX) == 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int compare_uidls(const void *a, const void *b)
{
	const struct eml_message *const *x = a, *const *y = b;
	return strcmp((*x)->info.uidl, (*y)->info.uidl);
}

/* The *.eml names in the directory, sorted (pool memory). */
static int list_names(struct storage_mailbox *box, pool_t *pool,
		      char ***names_r, unsigned *count_r, struct error *err)
{
	int fd = openat(box->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (d == NULL) {
		error_set_errno(err, "cannot read the mailbox directory %s", box->path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char **names = NULL;
	unsigned count = 0, alloc = 0;
	struct dirent *de;
	errno = 0;
	while (count < EML_MAX_MESSAGES && (de = readdir(d)) != NULL) {
		if (!is_eml_name(de->d_name))
			continue;
		if (count == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			names = xrealloc(names, alloc * sizeof(*names));
		}
		names[count++] = pool_strdup(pool, de->d_name);
	}
	int read_errno = errno;
	closedir(d);
	if (read_errno != 0) {
		free(names);
		errno = read_errno;
		error_set_errno(err, "readdir(%s)", box->path);
		return -1;
	}
	if (count > 0)
		qsort(names, count, sizeof(*names), compare_names);
	*names_r = count > 0 ? pool_memdup(pool, names, count * sizeof(*names)) : NULL;
	*count_r = count;
	free(names);
	return 0;
}

/* Fills m from the file: identity and POP3 size. Returns 1 when the file
 * is a message, 0 when it is to be skipped (gone since readdir(), not a
 * regular file), -1 on error. */
static int snapshot_message(struct storage_mailbox *box, pool_t *pool,
			    const char *name, struct eml_message *m,
			    struct error *err)
{
	/* O_NONBLOCK: a FIFO named *.eml must not hang the session in
	 * open() before fstat() tells it apart. */
	int fd = openat(box->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ELOOP)
			return 0;   /* removed meanwhile, or a symlink: not ours */
		error_set_errno(err, "open(%s/%s)", box->path, name);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		error_set_errno(err, "fstat(%s/%s)", box->path, name);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	uint64_t size;
	if (message_wire_size_fd(fd, &size, err) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	m->file = name;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->stored_size = st.st_size;
	m->mtime = st.st_mtim;
	m->info.size = size;
	m->info.uidl = storage_uidl_is_valid(name, strlen(name)) ? name : uidl_digest(pool, name);
	return 1;
}

/* UIDLs must be unique in a mailbox; only a digest can collide. */
static int uidls_unique(struct storage_mailbox *box, struct error *err)
{
	if (box->count < 2)
		return 0;
	struct eml_message **sorted = xmalloc(box->count * sizeof(*sorted));
	for (unsigned i = 0; i < box->count; i++)
		sorted[i] = &box->msgs[i];
	qsort(sorted, box->count, sizeof(*sorted), compare_uidls);
	int ret = 0;
	for (unsigned i = 1; i < box->count; i++) {
		if (strcmp(sorted[i - 1]->info.uidl, sorted[i]->info.uidl) == 0) {
			error_set(err, ERROR_PERM, "%s: files '%s' and '%s' have the same UIDL %s; "
				  "rename one of them", box->path, sorted[i - 1]->file,
				  sorted[i]->file, sorted[i]->info.uidl);
			ret = -1;
			break;
		}
	}
	free(sorted);
	return ret;
}

static int lock_mailbox(struct storage_mailbox *box, struct error *err)
{
	box->lock_fd = openat(box->dir_fd, EML_LOCK_NAME,
			      O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (box->lock_fd < 0) {
		if (errno != EACCES && errno != EPERM && errno != EROFS) {
			error_set_errno(err, "cannot create the lock file %s/%s",
					box->path, EML_LOCK_NAME);
			return -1;
		}
		/* A read-only directory can still be locked: flock() works on
		 * our own open description of it. */
		log_msg(LOG_LEVEL_DEBUG, &box->log, "%s is not writable: locking the directory",
			box->path);
		box->lock_fd = box->dir_fd;
	}
	if (flock(box->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			error_set(err, ERROR_IN_USE, "mailbox %s is in use by another POP3 session",
				  box->path);
			return -1;
		}
		error_set_errno(err, "flock(%s)", box->path);
		return -1;
	}
	return 0;
}

static void eml_close(struct storage_mailbox *box)
{
	/* Closing the locked descriptor releases the lock. */
	if (box->lock_fd >= 0 && box->lock_fd != box->dir_fd)
		close(box->lock_fd);
	if (box->dir_fd >= 0)
		close(box->dir_fd);
	box->lock_fd = box->dir_fd = -1;
}

static struct storage_mailbox *eml_open(pool_t *pool, const char *path,
					const struct storage_user *user,
					struct error *err)
{
	struct storage_mailbox *box = pool_alloc(pool, sizeof(*box));
	box->path = pool_strdup(pool, path);
	box->log.user = user != NULL ? pool_strdup(pool, user->user) : NULL;
	box->lock_fd = -1;
	box->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (box->dir_fd < 0) {
		error_set_errno(err, "cannot open the mailbox directory %s", path);
		/* The provider creates these directories: a missing one needs
		 * an admin, not a retry. */
		if (err->kind == ERROR_NOT_FOUND)
			err->kind = ERROR_PERM;
		return NULL;
	}
	if (lock_mailbox(box, err) < 0) {
		eml_close(box);
		return NULL;
	}
	char **names;
	unsigned count;
	if (list_names(box, pool, &names, &count, err) < 0) {
		eml_close(box);
		return NULL;
	}
	box->msgs = pool_alloc(pool, (count + 1) * sizeof(*box->msgs));
	for (unsigned i = 0; i < count; i++) {
		int r = snapshot_message(box, pool, names[i], &box->msgs[box->count], err);
		if (r < 0) {
			eml_close(box);
			return NULL;
		}
		box->count += (unsigned)r;
	}
	if (uidls_unique(box, err) < 0) {
		eml_close(box);
		return NULL;
	}
	return box;
}

static unsigned eml_message_count(struct storage_mailbox *box)
{
	return box->count;
}

static const struct storage_message_info *eml_message_info(struct storage_mailbox *box,
							   unsigned index)
{
	if (index >= box->count)
		return NULL;   /* the contract: out of range is NULL */
	return &box->msgs[index].info;
}

static struct storage_message_reader *eml_message_open(struct storage_mailbox *box,
						       unsigned index,
						       struct error *err)
{
	const struct eml_message *m = &box->msgs[index];
	int fd = openat(box->dir_fd, m->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		error_set_errno(err, "open(%s/%s)", box->path, m->file);
		if (err->kind == ERROR_NOT_FOUND)
			err->kind = ERROR_TEMP;   /* removed by the provider since the snapshot */
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		error_set_errno(err, "fstat(%s/%s)", box->path, m->file);
		close(fd);
		return NULL;
	}
	if (st.st_dev != m->dev || st.st_ino != m->ino || st.st_size != m->stored_size ||
	    st.st_mtim.tv_sec != m->mtime.tv_sec || st.st_mtim.tv_nsec != m->mtime.tv_nsec) {
		error_set(err, ERROR_TEMP, "%s/%s changed since the session began: "
			  "its size in LIST may no longer be true", box->path, m->file);
		close(fd);
		return NULL;
	}
	/* Heap, not the session pool: a client may read the same message
	 * many times in one session, and a pool frees nothing until the end. */
	struct storage_message_reader *r = xmalloc(sizeof(*r));
	r->msg = m;
	r->path = box->path;
	r->fd = fd;
	return r;
}

static ssize_t eml_message_read(struct storage_message_reader *r, void *buf,
				size_t size, struct error *err)
{
	for (;;) {
		ssize_t n = read(r->fd, buf, size);
		if (n >= 0)
			return n;
		if (errno != EINTR) {
			error_set_errno(err, "read(%s/%s)", r->path, r->msg->file);
			return -1;
		}
	}
}

static void eml_message_close(struct storage_message_reader *r)
{
	close(r->fd);
	free(r);
}

static int eml_commit_deletions(struct storage_mailbox *box, const bool *deleted,
				struct error *err)
{
	unsigned marked = 0;
	for (unsigned i = 0; i < box->count; i++)
		marked += deleted[i] ? 1 : 0;
	if (marked == 0)
		return 0;
	error_set(err, ERROR_PERM, "read-only mailbox %s: %u message(s) marked for "
		  "deletion were kept", box->path, marked);
	return -1;
}

static const struct storage_ops eml_ops = {
	.open = eml_open,
	.message_count = eml_message_count,
	.message_info = eml_message_info,
	.message_open = eml_message_open,
	.message_read = eml_message_read,
	.message_close = eml_message_close,
	.commit_deletions = eml_commit_deletions,
	.close = eml_close,
};

/* The one exported symbol. ROOST_MODULE() stamps ROOST_MODULE_ABI of the
 * headers this file was compiled against; a server of another ABI refuses
 * the module with a message naming both numbers. */
ROOST_MODULE(.kind = MODULE_KIND_STORAGE, .name = "eml", .ops = &eml_ops);
