/*
 * The mbox index file (mbox-index.h). Layout, all fixed-size integers
 * little-endian:
 *
 *   header   magic "RoostMBI", u32 version, u32 flags (1: Dovecot mode,
 *            2: pseudo-message, 4: mode final), u32 UIDVALIDITY,
 *            u32 last UID, u64 dev, u64 ino, u64 size, then mtime, ctime
 *            and write time as (i64 seconds, u32 nanoseconds), the resume
 *            point (u64 offset, u64 message index, u64 last X-UID),
 *            u32 segment count, u32 message count
 *   segments u64 end, 32-byte digest
 *   messages varints (below): From_ offset minus the previous message's
 *            end offset (0 for the first message: the preamble's
 *            length), From_ line length, content length, framing length
 *            (end offset minus content end), POP3 size minus content
 *            length (zigzag: Dovecot's hidden headers make it negative);
 *            16-byte digest; varint X-UID; u8 X-UIDL length, X-UIDL bytes
 *   trailer  BLAKE2b-256 of everything before it
 *
 * The messages are what an index mostly is, and reading them is most of
 * a login's work (issue 8): as differences they take about 24 bytes each
 * instead of 61, half of that the digest. A varint is LEB128 (7 bits a
 * byte, low first, high bit: more follow) of the difference modulo 2^64,
 * so that every scan, even one no parse gives, encodes to an index that
 * decodes to exactly it, and check_scan() alone decides what is accepted.
 * A varint must be as short as possible (one encoding per index).
 *
 * Why BLAKE2b for the trailer, which guards against torn and damaged
 * files and not against the owner (who may write any index, trailer and
 * all): over the 2.4 MB of 100,000 messages it takes 2.8 ms, SipHash
 * (crypto_shorthash) 1.3 ms, of a login that takes about 17 ms; 1.5 ms
 * does not pay for a weaker check.
 *
 * A new version number for any change: an index of another version is
 * just not used (one full read rewrites it).
 */
#include "config.h"
#include "mbox-index.h"
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INDEX_MAGIC "RoostMBI"
#define INDEX_MAGIC_LEN 8
#define INDEX_VERSION 2
#define INDEX_FLAG_DOVECOT 1u
#define INDEX_FLAG_PSEUDO 2u
#define INDEX_FLAG_MODE_FINAL 4u
#define INDEX_FLAGS_KNOWN 7u
#define INDEX_HEADER_BYTES 116
#define INDEX_SEGMENT_BYTES (8 + MBOX_FILE_HASH_BYTES)
/* LEB128 of a 64-bit and of a 32-bit number */
#define INDEX_VARINT_MAX 10
#define INDEX_VARINT32_MAX 5
/* five varints, the digest, the X-UID, the X-UIDL length */
#define INDEX_MESSAGE_MIN_BYTES (5 + MBOX_HASH_BYTES + 1 + 1)
#define INDEX_MESSAGE_MAX_BYTES (5 * INDEX_VARINT_MAX + MBOX_HASH_BYTES + \
	INDEX_VARINT32_MAX + 1 + MBOX_UIDL_MAX)
#define INDEX_TRAILER_BYTES 32
/* The largest index a valid scan gives: reading stops there, so a huge
 * file planted under the name costs no more than that. */
#define INDEX_MAX_BYTES ((uint64_t)INDEX_HEADER_BYTES + \
	(uint64_t)MBOX_SEGMENTS_MAX * INDEX_SEGMENT_BYTES + \
	(uint64_t)MBOX_MAX_MESSAGES * INDEX_MESSAGE_MAX_BYTES + \
	INDEX_TRAILER_BYTES)
#define NSEC_PER_SEC 1000000000
/* Room for messages appended since the index was written: the tail parse
 * adds them without moving the array out of the pool (which would leave
 * a copy there). Mail of a few days for 72 KB. */
#define INDEX_APPEND_ROOM 1024

void mbox_index_stamp_of(const struct stat *st, struct mbox_index_stamp *r)
{
	memset(r, 0, sizeof(*r));
	r->dev = (uint64_t)st->st_dev;
	r->ino = (uint64_t)st->st_ino;
	r->size = (uint64_t)st->st_size;
	r->mtime = st->st_mtim;
	r->ctime = st->st_ctim;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

bool mbox_index_stamp_same(const struct mbox_index_stamp *a,
			   const struct mbox_index_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
		same_time(&a->mtime, &b->mtime) && same_time(&a->ctime, &b->ctime);
}

/* true when t is not at least MBOX_INDEX_RACY_SECS before w */
static bool too_recent(const struct timespec *t, const struct timespec *w)
{
	if (w->tv_sec - t->tv_sec != MBOX_INDEX_RACY_SECS)
		return w->tv_sec - t->tv_sec < MBOX_INDEX_RACY_SECS;
	return w->tv_nsec < t->tv_nsec;
}

bool mbox_index_stamp_racy(const struct mbox_index_stamp *stamp)
{
	return too_recent(&stamp->mtime, &stamp->written) ||
		too_recent(&stamp->ctime, &stamp->written);
}

/* ---- encoding ---- */

static void put_u8(struct buffer *out, uint8_t v)
{
	buffer_append(out, &v, 1);
}

static void put_u32(struct buffer *out, uint32_t v)
{
	unsigned char b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	buffer_append(out, b, sizeof(b));
}

static void put_u64(struct buffer *out, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	buffer_append(out, b, sizeof(b));
}

static void put_time(struct buffer *out, const struct timespec *t)
{
	put_u64(out, (uint64_t)(int64_t)t->tv_sec);
	put_u32(out, (uint32_t)t->tv_nsec);
}

static void put_varint(struct buffer *out, uint64_t v)
{
	unsigned char b[INDEX_VARINT_MAX];
	size_t n = 0;
	while (v >= 0x80) {
		b[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (unsigned char)v;
	buffer_append(out, b, n);
}

/* A signed difference (modulo 2^64) as an unsigned number that is small
 * when the difference is small either way. */
static uint64_t zigzag(uint64_t v)
{
	return (v << 1) ^ (0 - (v >> 63));
}

static uint64_t unzigzag(uint64_t v)
{
	return (v >> 1) ^ (0 - (v & 1));
}

void mbox_index_encode(const struct mbox_scan *scan,
		       const struct mbox_index_stamp *stamp, struct buffer *out)
{
	size_t start = out->len;
	buffer_append(out, INDEX_MAGIC, INDEX_MAGIC_LEN);
	put_u32(out, INDEX_VERSION);
	put_u32(out, (scan->dovecot ? INDEX_FLAG_DOVECOT : 0) |
		(scan->dovecot_pseudo ? INDEX_FLAG_PSEUDO : 0) |
		(scan->mode_final ? INDEX_FLAG_MODE_FINAL : 0));
	put_u32(out, scan->dovecot_uidvalidity);
	put_u32(out, scan->dovecot_uid_last);
	put_u64(out, stamp->dev);
	put_u64(out, stamp->ino);
	put_u64(out, stamp->size);
	put_time(out, &stamp->mtime);
	put_time(out, &stamp->ctime);
	put_time(out, &stamp->written);
	/* without a listed message there is nothing to resume after */
	struct mbox_parser_resume none = { 0, 0, 0 };
	const struct mbox_parser_resume *resume =
		scan->count > 0 ? &scan->resume : &none;
	put_u64(out, resume->offset);
	put_u64(out, resume->msg_index);
	put_u64(out, resume->dc_prev_uid);
	put_u32(out, scan->segment_count);
	put_u32(out, (uint32_t)scan->count);
	for (unsigned i = 0; i < scan->segment_count; i++) {
		put_u64(out, scan->segments[i].end);
		buffer_append(out, scan->segments[i].hash, MBOX_FILE_HASH_BYTES);
	}
	uint64_t prev_end = 0;
	for (size_t i = 0; i < scan->count; i++) {
		const struct mbox_msg *m = &scan->msgs[i];
		uint64_t content = m->content_end - m->content_offset;
		put_varint(out, m->from_offset - prev_end);
		put_varint(out, m->content_offset - m->from_offset);
		put_varint(out, content);
		put_varint(out, m->end_offset - m->content_end);
		put_varint(out, zigzag(m->info.size - content));
		buffer_append(out, m->hash, MBOX_HASH_BYTES);
		put_varint(out, scan->uids[i]);
		prev_end = m->end_offset;
		const char *x = scan->x_uidls[i];
		size_t xlen = x == NULL ? 0 : strlen(x);
		put_u8(out, (uint8_t)xlen);
		buffer_append(out, x == NULL ? "" : x, xlen);
	}
	unsigned char digest[INDEX_TRAILER_BYTES];
	crypto_generichash(digest, sizeof(digest),
			   (const unsigned char *)out->data + start,
			   out->len - start, NULL, 0);
	buffer_append(out, digest, sizeof(digest));
}

/* ---- decoding ---- */

struct reader {
	const unsigned char *p;
	const unsigned char *end;
	bool short_read;
};

static bool take(struct reader *r, size_t n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->short_read = true;
		r->p = r->end;
		return false;
	}
	return true;
}

static uint8_t get_u8(struct reader *r)
{
	if (!take(r, 1))
		return 0;
	return *r->p++;
}

static uint32_t get_u32(struct reader *r)
{
	if (!take(r, 4))
		return 0;
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | r->p[i];
	r->p += 4;
	return v;
}

static uint64_t get_u64(struct reader *r)
{
	if (!take(r, 8))
		return 0;
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | r->p[i];
	r->p += 8;
	return v;
}

static void get_bytes(struct reader *r, void *dst, size_t n)
{
	if (!take(r, n)) {
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, r->p, n);
	r->p += n;
}

/* The shortest LEB128 encoding of a number below 2^64, else a short
 * read (which rejects the index). Most are one byte: that case first,
 * inlined, since a login from the index reads half a million of them. */
static uint64_t get_varint_long(struct reader *r);

static inline uint64_t get_varint(struct reader *r)
{
	if (r->p < r->end && *r->p < 0x80)
		return *r->p++;
	return get_varint_long(r);
}

static uint64_t get_varint_long(struct reader *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; r->p < r->end; shift += 7) {
		unsigned char b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (b < 0x80) {
			bool shortest = b != 0 || shift == 0;
			bool fits = shift < 63 || b <= 1;
			if (shortest && fits)
				return v;
			break;
		}
		if (shift == 63)
			break;
	}
	r->short_read = true;
	r->p = r->end;
	return 0;
}

static bool get_time(struct reader *r, struct timespec *t)
{
	t->tv_sec = (time_t)(int64_t)get_u64(r);
	uint32_t ns = get_u32(r);
	t->tv_nsec = (long)ns;
	return ns < NSEC_PER_SEC;
}

static bool check_segments(const struct mbox_scan *scan, uint64_t size)
{
	if (scan->segment_count == 0 ||
	    scan->segment_count > MBOX_SEGMENTS_MAX)
		return false;
	uint64_t prev = 0;
	for (unsigned i = 0; i < scan->segment_count; i++) {
		if (scan->segments[i].end <= prev)
			return false;
		prev = scan->segments[i].end;
	}
	return prev == size;
}

/* What the parser guarantees of every message (mbox-parse.h), so that
 * the storage and the commit can rely on it: ordered offsets within the
 * file, messages that tile it from the first one to the end, a POP3 size
 * that the content can give (each LF becomes at most CRLF, plus a CRLF
 * after an unterminated last line), increasing X-UIDs up to the last
 * UID, Dovecot mode only. */
static bool check_message(const struct mbox_scan *scan, size_t i,
			  uint64_t size, uint32_t *prev_uid)
{
	const struct mbox_msg *m = &scan->msgs[i];
	if (!(m->from_offset < m->content_offset &&
	      m->content_offset <= m->content_end &&
	      m->content_end <= m->end_offset && m->end_offset <= size))
		return false;
	if (i > 0 && m->from_offset != scan->msgs[i - 1].end_offset)
		return false;
	if (i + 1 == scan->count && m->end_offset != size)
		return false;
	uint64_t content = m->content_end - m->content_offset;
	/* written so that it cannot overflow */
	if (m->info.size > content && m->info.size - content > content + 2)
		return false;
	uint32_t uid = scan->uids[i];
	if (uid != 0) {
		if (!scan->dovecot || uid <= *prev_uid ||
		    uid > scan->dovecot_uid_last)
			return false;
		*prev_uid = uid;
	}
	return true;
}

static bool check_scan(const struct mbox_scan *scan, uint64_t size)
{
	if (!check_segments(scan, size))
		return false;
	if (!scan->dovecot && (scan->dovecot_pseudo ||
			       scan->dovecot_uidvalidity != 0 ||
			       scan->dovecot_uid_last != 0))
		return false;
	if (scan->dovecot && scan->dovecot_uidvalidity == 0)
		return false;
	uint32_t prev_uid = 0;
	for (size_t i = 0; i < scan->count; i++) {
		if (!check_message(scan, i, size, &prev_uid))
			return false;
	}
	const struct mbox_parser_resume *r = &scan->resume;
	if (scan->count == 0)
		return r->offset == 0 && r->msg_index == 0 && r->dc_prev_uid == 0;
	if (r->offset != scan->msgs[scan->count - 1].from_offset)
		return false;
	if (scan->dovecot_pseudo && scan->msgs[0].from_offset == 0)
		return false;
	if (!scan->dovecot)
		return r->msg_index == 0 && r->dc_prev_uid == 0;
	return r->msg_index == scan->count - 1 + (scan->dovecot_pseudo ? 1 : 0) &&
		r->dc_prev_uid <= (uint64_t)scan->dovecot_uid_last + 1;
}

static bool decode_body(struct reader *r, pool_t *pool, struct mbox_scan *scan,
			struct mbox_index_stamp *stamp, const char **why_r)
{
	char magic[INDEX_MAGIC_LEN];
	get_bytes(r, magic, sizeof(magic));
	if (memcmp(magic, INDEX_MAGIC, INDEX_MAGIC_LEN) != 0) {
		*why_r = "not an mbox index";
		return false;
	}
	if (get_u32(r) != INDEX_VERSION) {
		*why_r = "another format version";
		return false;
	}
	*why_r = "inconsistent content";
	uint32_t flags = get_u32(r);
	if ((flags & ~INDEX_FLAGS_KNOWN) != 0)
		return false;
	scan->dovecot = (flags & INDEX_FLAG_DOVECOT) != 0;
	scan->dovecot_pseudo = (flags & INDEX_FLAG_PSEUDO) != 0;
	scan->mode_final = (flags & INDEX_FLAG_MODE_FINAL) != 0;
	scan->dovecot_uidvalidity = get_u32(r);
	scan->dovecot_uid_last = get_u32(r);
	stamp->dev = get_u64(r);
	stamp->ino = get_u64(r);
	stamp->size = get_u64(r);
	bool times_ok = get_time(r, &stamp->mtime);
	times_ok = get_time(r, &stamp->ctime) && times_ok;
	times_ok = get_time(r, &stamp->written) && times_ok;
	if (!times_ok)
		return false;
	scan->resume.offset = get_u64(r);
	scan->resume.msg_index = get_u64(r);
	scan->resume.dc_prev_uid = get_u64(r);
	uint32_t segments = get_u32(r);
	uint32_t messages = get_u32(r);
	/* counts are checked against the bytes present before anything is
	 * allocated for them */
	if (segments > MBOX_SEGMENTS_MAX || messages > MBOX_MAX_MESSAGES ||
	    (uint64_t)segments * INDEX_SEGMENT_BYTES +
	    (uint64_t)messages * INDEX_MESSAGE_MIN_BYTES >
	    (uint64_t)(r->end - r->p))
		return false;
	scan->segment_count = segments;
	for (unsigned i = 0; i < segments; i++) {
		scan->segments[i].end = get_u64(r);
		get_bytes(r, scan->segments[i].hash, MBOX_FILE_HASH_BYTES);
	}
	if (messages > 0) {
		/* The mailbox keeps the array (mbox-mailbox.h), so it is
		 * made in the pool; an index that turns out unusable leaves
		 * it there for the session, as it does the X-UIDLs (only
		 * when another program changed the mbox: a commit removes
		 * the index). */
		scan->cap = (size_t)messages + INDEX_APPEND_ROOM;
		scan->msgs = pool_alloc(pool, scan->cap * sizeof(*scan->msgs));
		scan->msgs_pooled = true;
		scan->x_uidls = xmalloc(scan->cap * sizeof(*scan->x_uidls));
		scan->uids = xmalloc(scan->cap * sizeof(*scan->uids));
	}
	/* sums wrap as the encoder's differences did; check_scan() then
	 * rejects whatever is out of order */
	uint64_t prev_end = 0;
	for (uint32_t i = 0; i < messages && !r->short_read; i++) {
		struct mbox_msg *m = &scan->msgs[i];
		m->from_offset = prev_end + get_varint(r);
		m->content_offset = m->from_offset + get_varint(r);
		m->content_end = m->content_offset + get_varint(r);
		m->end_offset = m->content_end + get_varint(r);
		m->info.size = (m->content_end - m->content_offset) +
			unzigzag(get_varint(r));
		prev_end = m->end_offset;
		get_bytes(r, m->hash, MBOX_HASH_BYTES);
		uint64_t uid = get_varint(r);
		if (uid > UINT32_MAX)
			return false;
		scan->uids[i] = (uint32_t)uid;
		uint8_t xlen = get_u8(r);
		if (xlen > MBOX_UIDL_MAX || !take(r, xlen))
			return false;
		if (xlen > 0) {
			if (!storage_uidl_is_valid((const char *)r->p, xlen))
				return false;
			scan->x_uidls[i] = pool_strndup(pool, (const char *)r->p,
							xlen);
			r->p += xlen;
		}
		scan->count = i + 1;
	}
	if (r->short_read || r->p != r->end) {
		*why_r = "truncated or too long";
		return false;
	}
	return check_scan(scan, stamp->size);
}

bool mbox_index_decode(const void *data, size_t len, pool_t *pool,
		       struct mbox_scan *scan_r, struct mbox_index_stamp *stamp_r,
		       const char **why_r)
{
	memset(scan_r, 0, sizeof(*scan_r));
	memset(stamp_r, 0, sizeof(*stamp_r));
	if (len < INDEX_HEADER_BYTES + INDEX_TRAILER_BYTES) {
		*why_r = "truncated";
		return false;
	}
	size_t body = len - INDEX_TRAILER_BYTES;
	unsigned char digest[INDEX_TRAILER_BYTES];
	crypto_generichash(digest, sizeof(digest), data, body, NULL, 0);
	if (sodium_memcmp(digest, (const unsigned char *)data + body,
			  sizeof(digest)) != 0) {
		*why_r = "checksum mismatch";
		return false;
	}
	struct reader r = { data, (const unsigned char *)data + body, false };
	if (!decode_body(&r, pool, scan_r, stamp_r, why_r)) {
		mbox_scan_free(scan_r);
		return false;
	}
	return true;
}

/* ---- files ---- */

bool mbox_index_read(const char *path, pool_t *pool, struct mbox_scan *scan_r,
		     struct mbox_index_stamp *stamp_r, const char **why_r)
{
	memset(scan_r, 0, sizeof(*scan_r));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
		      O_NOCTTY);
	if (fd < 0) {
		*why_r = errno == ENOENT ? "none yet" : "cannot be opened";
		return false;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > INDEX_MAX_BYTES) {
		*why_r = "not a regular file of a possible size";
		close(fd);
		return false;
	}
	/* Only an index this user wrote: in a shared spool (/var/mail is
	 * often 1777) another user could plant one for the mbox, which its
	 * owner could then not even replace (sticky directory). A hard link
	 * to someone else's file is refused the same way. */
	if (st.st_uid != geteuid() || st.st_nlink != 1) {
		*why_r = "not owned by the mailbox owner";
		close(fd);
		return false;
	}
	size_t len = (size_t)st.st_size, got = 0;
	unsigned char *data = xmalloc(len + 1);
	while (got < len) {
		ssize_t n = read(fd, data + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	bool ok = got == len &&
		mbox_index_decode(data, len, pool, scan_r, stamp_r, why_r);
	if (got != len)
		*why_r = "read failed";
	free(data);
	return ok;
}

static int write_all(int fd, const char *data, size_t len, const char *path,
		     struct error *err)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_set_errno(err, "write(%s) failed", path);
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int mbox_index_write(const char *path, const struct mbox_scan *scan,
		     const struct mbox_index_stamp *stamp, struct error *err)
{
	size_t plen = strlen(path);
	char *tmp = xmalloc(plen + sizeof(MBOX_INDEX_TMP_SUFFIX));
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, MBOX_INDEX_TMP_SUFFIX, sizeof(MBOX_INDEX_TMP_SUFFIX));
	/* a leftover of a killed session is ours to replace (the caller
	 * holds the session lock); O_EXCL then guards against the rest */
	(void)unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		      0600);
	if (fd < 0) {
		error_set_errno(err, "Cannot create %s", tmp);
		free(tmp);
		return -1;
	}
	struct buffer out;
	buffer_init(&out);
	mbox_index_encode(scan, stamp, &out);
	int ret = write_all(fd, out.data, out.len, tmp, err);
	buffer_free(&out);
	if (close(fd) < 0 && ret == 0) {
		error_set_errno(err, "close(%s) failed", tmp);
		ret = -1;
	}
	if (ret == 0 && rename(tmp, path) < 0) {
		error_set_errno(err, "rename(%s, %s) failed", tmp, path);
		ret = -1;
	}
	if (ret < 0)
		(void)unlink(tmp);
	free(tmp);
	return ret;
}
