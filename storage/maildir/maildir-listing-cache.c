/* The maildir listing cache; see maildir-listing-cache.h. */
#include "config.h"
#include "maildir-listing-cache.h"

#include "decimal.h"
#include "maildir-name.h"
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LISTING_MAGIC ":roost-listing"
#define LISTING_VERSION "1"
#define LISTING_HEADER_FIELDS (5 + MAILDIR_LISTING_STAMPS)
#define LISTING_STAMP_NUMBERS 7
/* The shortest entry line, "0 0 -  x\n": bounds the count a header may
 * announce for a buffer, and so what the parser allocates. */
#define LISTING_ENTRY_MIN 9
/* Nanoseconds are below 10^9; a larger value is damage. */
#define LISTING_NSEC_LIMIT 1000000000ULL
/* Formatting buffer of the writer: one entry line is at most two 20-digit
 * numbers, a flag, a UIDL, a name and five separators. */
#define LISTING_LINE_MAX (20 + 1 + 20 + 1 + 1 + 1 + MAILDIR_UIDL_MAX + 1 + \
			  MAILDIR_NAME_MAX + 1)
#define LISTING_WRITE_BUFFER (64 * 1024)

/* ---- stamps and keys ---- */

bool maildir_listing_stamp_set(struct maildir_listing_stamp *stamp,
			       const struct stat *st)
{
	memset(stamp, 0, sizeof(*stamp));
	if (st == NULL)
		return true;
	if (st->st_mtim.tv_sec < 0 || st->st_ctim.tv_sec < 0)
		return false;
	stamp->present = true;
	stamp->dev = (uint64_t)st->st_dev;
	stamp->ino = (uint64_t)st->st_ino;
	stamp->size = st->st_size < 0 ? 0 : (uint64_t)st->st_size;
	stamp->mtime_sec = (uint64_t)st->st_mtim.tv_sec;
	stamp->mtime_nsec = (uint64_t)st->st_mtim.tv_nsec;
	stamp->ctime_sec = (uint64_t)st->st_ctim.tv_sec;
	stamp->ctime_nsec = (uint64_t)st->st_ctim.tv_nsec;
	return true;
}

static bool stamp_equal(const struct maildir_listing_stamp *a,
			const struct maildir_listing_stamp *b)
{
	if (a->present != b->present)
		return false;
	return !a->present ||
		(a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
		 a->mtime_sec == b->mtime_sec &&
		 a->mtime_nsec == b->mtime_nsec &&
		 a->ctime_sec == b->ctime_sec &&
		 a->ctime_nsec == b->ctime_nsec);
}

bool maildir_listing_key_equal(const struct maildir_listing_key *a,
			       const struct maildir_listing_key *b)
{
	if (a->uidl_mode != b->uidl_mode)
		return false;
	for (int i = 0; i < MAILDIR_LISTING_STAMPS; i++) {
		if (!stamp_equal(&a->stamps[i], &b->stamps[i]))
			return false;
	}
	return true;
}

/* t < scan - MAILDIR_LISTING_DIRTY_SECS, on (sec, nsec) pairs */
static bool time_settled(uint64_t sec, uint64_t nsec,
			 const struct maildir_listing_key *key)
{
	if (key->scan_sec < MAILDIR_LISTING_DIRTY_SECS)
		return false;
	uint64_t limit = key->scan_sec - MAILDIR_LISTING_DIRTY_SECS;
	return sec < limit || (sec == limit && nsec < key->scan_nsec);
}

bool maildir_listing_key_settled(const struct maildir_listing_key *key)
{
	for (int i = 0; i < MAILDIR_LISTING_STAMPS; i++) {
		const struct maildir_listing_stamp *s = &key->stamps[i];
		if (s->present &&
		    (!time_settled(s->mtime_sec, s->mtime_nsec, key) ||
		     !time_settled(s->ctime_sec, s->ctime_nsec, key)))
			return false;
	}
	return true;
}

/* ---- parsing ---- */

/* Splits s[0..len) at sep into at most max fields; false when there are
 * more or one is empty. */
static bool split(const char *s, size_t len, char sep, const char **fields,
		  size_t *lens, unsigned max, unsigned *count_r)
{
	unsigned n = 0;
	const char *end = s + len;
	for (;;) {
		const char *e = memchr(s, sep, (size_t)(end - s));
		if (e == NULL)
			e = end;
		if (e == s || n == max)
			return false;
		fields[n] = s;
		lens[n++] = (size_t)(e - s);
		if (e == end)
			break;
		s = e + 1;
	}
	*count_r = n;
	return true;
}

static bool parse_nsec(const char *s, size_t len, uint64_t *value_r)
{
	return decimal_parse_u64(s, len, value_r) &&
		*value_r < LISTING_NSEC_LIMIT;
}

/* "<sec>.<nsec>" */
static bool parse_time(const char *s, size_t len, uint64_t *sec_r,
		       uint64_t *nsec_r)
{
	const char *parts[2];
	size_t lens[2];
	unsigned n;
	return split(s, len, '.', parts, lens, 2, &n) && n == 2 &&
		decimal_parse_u64(parts[0], lens[0], sec_r) &&
		parse_nsec(parts[1], lens[1], nsec_r);
}

static bool parse_stamp(const char *s, size_t len,
			struct maildir_listing_stamp *stamp)
{
	memset(stamp, 0, sizeof(*stamp));
	if (len == 1 && s[0] == '-')
		return true;
	const char *parts[LISTING_STAMP_NUMBERS];
	size_t lens[LISTING_STAMP_NUMBERS];
	uint64_t v[LISTING_STAMP_NUMBERS];
	unsigned n;
	if (!split(s, len, ':', parts, lens, LISTING_STAMP_NUMBERS, &n) ||
	    n != LISTING_STAMP_NUMBERS)
		return false;
	for (unsigned i = 0; i < n; i++) {
		if (!decimal_parse_u64(parts[i], lens[i], &v[i]))
			return false;
	}
	if (v[4] >= LISTING_NSEC_LIMIT || v[6] >= LISTING_NSEC_LIMIT)
		return false;
	stamp->present = true;
	stamp->dev = v[0];
	stamp->ino = v[1];
	stamp->size = v[2];
	stamp->mtime_sec = v[3];
	stamp->mtime_nsec = v[4];
	stamp->ctime_sec = v[5];
	stamp->ctime_nsec = v[6];
	return true;
}

bool maildir_listing_parse_header(const char *buf, size_t len,
				  struct maildir_listing_key *key_r,
				  size_t *count_r, size_t *header_len_r)
{
	const char *nl = memchr(buf, '\n', len < MAILDIR_LISTING_HEADER_MAX ?
				len : MAILDIR_LISTING_HEADER_MAX);
	if (nl == NULL)
		return false;
	const char *f[LISTING_HEADER_FIELDS];
	size_t fl[LISTING_HEADER_FIELDS];
	unsigned n;
	if (!split(buf, (size_t)(nl - buf), ' ', f, fl, LISTING_HEADER_FIELDS,
		   &n) || n != LISTING_HEADER_FIELDS)
		return false;
	if (fl[0] != strlen(LISTING_MAGIC) ||
	    memcmp(f[0], LISTING_MAGIC, fl[0]) != 0 ||
	    fl[1] != strlen(LISTING_VERSION) ||
	    memcmp(f[1], LISTING_VERSION, fl[1]) != 0)
		return false;
	uint64_t count, mode;
	memset(key_r, 0, sizeof(*key_r));
	if (!decimal_parse_u64(f[2], fl[2], &count) ||
	    !decimal_parse_u64(f[3], fl[3], &mode) || mode > UINT32_MAX ||
	    !parse_time(f[4], fl[4], &key_r->scan_sec, &key_r->scan_nsec))
		return false;
	for (unsigned i = 0; i < MAILDIR_LISTING_STAMPS; i++) {
		if (!parse_stamp(f[5 + i], fl[5 + i], &key_r->stamps[i]))
			return false;
	}
	key_r->uidl_mode = (unsigned)mode;
	*count_r = (size_t)count;
	*header_len_r = (size_t)(nl - buf) + 1;
	return count <= SIZE_MAX / sizeof(struct maildir_listing_entry);
}

/* A name readdir() could have given us for a message in cur/. */
static bool name_is_valid(const char *name, size_t len)
{
	return len > 0 && len <= MAILDIR_NAME_MAX && name[0] != '.' &&
		memchr(name, '/', len) == NULL &&
		memchr(name, '\0', len) == NULL;
}

/* One entry line s[0..len) (without '\n'), NUL-terminating its strings
 * in place. */
static bool parse_entry(char *s, size_t len, struct maildir_listing_entry *e)
{
	char *end = s + len;
	char *sp1 = memchr(s, ' ', len);
	char *sp2 = sp1 == NULL ? NULL : memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (sp2 == NULL || sp2 + 3 > end || sp2[2] != ' ')
		return false;
	char flag = sp2[1];
	char *uidl = sp2 + 3;
	char *sp4 = memchr(uidl, ' ', (size_t)(end - uidl));
	if (sp4 == NULL || (flag != '-' && flag != 'd') ||
	    !decimal_parse_u64(s, (size_t)(sp1 - s), &e->size) ||
	    !decimal_parse_u64(sp1 + 1, (size_t)(sp2 - sp1 - 1), &e->ino))
		return false;
	char *name = sp4 + 1;
	size_t name_len = (size_t)(end - name);
	if (!name_is_valid(name, name_len))
		return false;
	const char *colon = memchr(name, ':', name_len);
	e->base_len = colon != NULL ? (size_t)(colon - name) : name_len;
	size_t uidl_len = (size_t)(sp4 - uidl);
	if (uidl_len == 0) {
		/* the writer leaves it out only for a valid base name */
		if (!storage_uidl_is_valid(name, e->base_len))
			return false;
		e->uidl = NULL;
	} else {
		if (!storage_uidl_is_valid(uidl, uidl_len))
			return false;
		*sp4 = '\0';
		e->uidl = uidl;
	}
	*end = '\0';
	e->name = name;
	e->dup_base = flag == 'd';
	return true;
}

/* Hash of a UIDL for the uniqueness check: within this process only. */
static uint64_t uidl_hash(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
		s += 8;
		len -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, s, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 32);
}

static const char *entry_uidl(const struct maildir_listing_entry *e,
			      size_t *len_r)
{
	if (e->uidl != NULL) {
		*len_r = strlen(e->uidl);
		return e->uidl;
	}
	*len_r = e->base_len;
	return e->name;
}

/* UIDLs are unique in a snapshot; a file saying otherwise is damaged.
 * Slots hold entry index + 1 (0: free), at most half full. */
static bool uidls_unique(const struct maildir_listing_entry *entries,
			 size_t count)
{
	size_t nslots = 64;
	while (nslots / 2 < count)
		nslots *= 2;
	uint32_t *slots = xmalloc(nslots * sizeof(*slots));
	bool unique = true;
	for (size_t i = 0; i < count && unique; i++) {
		size_t len;
		const char *u = entry_uidl(&entries[i], &len);
		size_t pos = (size_t)uidl_hash(u, len) & (nslots - 1);
		while (slots[pos] != 0) {
			size_t olen;
			const char *o = entry_uidl(&entries[slots[pos] - 1],
						   &olen);
			if (olen == len && memcmp(o, u, len) == 0) {
				unique = false;
				break;
			}
			pos = (pos + 1) & (nslots - 1);
		}
		slots[pos] = (uint32_t)(i + 1);
	}
	free(slots);
	return unique;
}

bool maildir_listing_parse_entries(pool_t *pool, char *buf, size_t len,
				   size_t count,
				   struct maildir_listing_entry **entries_r,
				   const char **why_r)
{
	if (count > len / LISTING_ENTRY_MIN || count >= UINT32_MAX) {
		*why_r = "more entries announced than the file holds";
		return false;
	}
	struct maildir_listing_entry *entries =
		pool_alloc(pool, (count + 1) * sizeof(*entries));
	char *p = buf, *end = buf + len;
	for (size_t i = 0; i < count; i++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			*why_r = "fewer entries than announced";
			return false;
		}
		if (!parse_entry(p, (size_t)(nl - p), &entries[i])) {
			*why_r = "malformed entry";
			return false;
		}
		p = nl + 1;
	}
	if (p != end) {
		*why_r = "more entries than announced";
		return false;
	}
	if (!uidls_unique(entries, count)) {
		*why_r = "duplicate UIDL";
		return false;
	}
	*entries_r = entries;
	return true;
}

/* ---- writing ---- */

struct out_buf {
	char *data;
	size_t len;
	size_t cap;
};

static void out_reserve(struct out_buf *out, size_t more)
{
	if (out->cap - out->len >= more)
		return;
	while (out->cap - out->len < more)
		out->cap = out->cap == 0 ? LISTING_WRITE_BUFFER : out->cap * 2;
	out->data = xrealloc(out->data, out->cap);
}

static void out_u64(struct out_buf *out, uint64_t v)
{
	char digits[20];
	size_t n = 0;
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		out->data[out->len++] = digits[--n];
}

/* s may be NULL when len is 0 (an entry whose UIDL is its base name) */
static void out_bytes(struct out_buf *out, const char *s, size_t len)
{
	if (len == 0)
		return;
	memcpy(out->data + out->len, s, len);
	out->len += len;
}

static void out_char(struct out_buf *out, char c)
{
	out->data[out->len++] = c;
}

static void out_header(struct out_buf *out,
		       const struct maildir_listing_key *key, size_t count)
{
	out_reserve(out, MAILDIR_LISTING_HEADER_MAX);
	out_bytes(out, LISTING_MAGIC " " LISTING_VERSION " ",
		  strlen(LISTING_MAGIC " " LISTING_VERSION " "));
	out_u64(out, count);
	out_char(out, ' ');
	out_u64(out, key->uidl_mode);
	out_char(out, ' ');
	out_u64(out, key->scan_sec);
	out_char(out, '.');
	out_u64(out, key->scan_nsec);
	for (int i = 0; i < MAILDIR_LISTING_STAMPS; i++) {
		const struct maildir_listing_stamp *s = &key->stamps[i];
		out_char(out, ' ');
		if (!s->present) {
			out_char(out, '-');
			continue;
		}
		const uint64_t v[LISTING_STAMP_NUMBERS] = {
			s->dev, s->ino, s->size, s->mtime_sec, s->mtime_nsec,
			s->ctime_sec, s->ctime_nsec
		};
		for (int j = 0; j < LISTING_STAMP_NUMBERS; j++) {
			if (j > 0)
				out_char(out, ':');
			out_u64(out, v[j]);
		}
	}
	out_char(out, '\n');
}

/* False when e cannot be stored in a form the parser accepts back. */
static bool out_entry(struct out_buf *out, const struct maildir_listing_entry *e)
{
	size_t name_len = strlen(e->name);
	if (!name_is_valid(e->name, name_len) ||
	    memchr(e->name, '\n', name_len) != NULL)
		return false;
	size_t uidl_len = 0;
	if (e->uidl != NULL && (strlen(e->uidl) != e->base_len ||
				memcmp(e->uidl, e->name, e->base_len) != 0)) {
		uidl_len = strlen(e->uidl);
		if (!storage_uidl_is_valid(e->uidl, uidl_len))
			return false;
	} else if (!storage_uidl_is_valid(e->name, e->base_len)) {
		return false;
	}
	out_reserve(out, LISTING_LINE_MAX);
	out_u64(out, e->size);
	out_char(out, ' ');
	out_u64(out, e->ino);
	out_char(out, ' ');
	out_char(out, e->dup_base ? 'd' : '-');
	out_char(out, ' ');
	out_bytes(out, e->uidl, uidl_len);
	out_char(out, ' ');
	out_bytes(out, e->name, name_len);
	out_char(out, '\n');
	return true;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes data to a new temporary file tmp (a mkostemp() template) and
 * renames it to path. */
static int write_file(char *tmp, const char *path, const char *data,
		      size_t len, struct error *err)
{
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		error_set_errno(err, "mkostemp(%s) failed", tmp);
		return -1;
	}
	if (write_all(fd, data, len) < 0) {
		error_set_errno(err, "write(%s) failed", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0) {
		error_set_errno(err, "close(%s) failed", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		error_set_errno(err, "rename(%s, %s) failed", tmp, path);
		unlink(tmp);
		return -1;
	}
	return 1;
}

int maildir_listing_write(const char *path,
			  const struct maildir_listing_key *key,
			  const struct maildir_listing_entry *entries,
			  size_t count, struct error *err)
{
	struct out_buf out = { NULL, 0, 0 };
	out_header(&out, key, count);
	for (size_t i = 0; i < count; i++) {
		if (!out_entry(&out, &entries[i])) {
			free(out.data);
			return 0;
		}
	}

	size_t tmp_len = strlen(path) + sizeof(".tmp.XXXXXX");
	char *tmp = xmalloc(tmp_len);
	snprintf(tmp, tmp_len, "%s.tmp.XXXXXX", path);
	int ret = write_file(tmp, path, out.data, out.len, err);
	free(tmp);
	free(out.data);
	return ret;
}
