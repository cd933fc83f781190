/*
 * The per-mailbox listing cache, "<maildir>/roost-listing": a session's
 * whole snapshot (file names in cur/, POP3 sizes, UIDLs, in snapshot
 * order), so that the next session of an unchanged maildir needs no
 * readdir, no sort, no UIDL assignment and no dovecot-uidlist parse.
 *
 * The snapshot is valid while nothing it was made from has changed. Its
 * key records the "stamps" (device, inode, size, mtime and ctime with
 * nanoseconds) of cur/, new/ and the inherited UIDL files, taken before
 * they were read, plus the UIDL mode and the time the scan started. A
 * directory's ctime changes with every entry added, removed or renamed
 * (and, unlike the mtime, cannot be set back by utimes()), so equal
 * stamps mean an unchanged listing, with one exception: a change in the
 * same clock tick as the stamp leaves it as it was. Hence the dirty
 * window: a stamp is trusted only when both its times lie more than
 * MAILDIR_LISTING_DIRTY_SECS before the scan started; a later change
 * then necessarily gets a later time. Caches with unsettled stamps are
 * not written (the next session scans again, by which time the
 * directories have settled).
 *
 * The file is plain text:
 *   ":roost-listing 1 <count> <mode> <sec>.<nsec> <stamp> x4\n"
 *   "<size> <ino> <-|d> <uidl> <name>\n"        count times
 * A stamp is "-" (file absent) or "dev:ino:size:msec:mnsec:csec:cnsec";
 * the four are cur/, new/, dovecot-uidlist, courierpop3dsizelist. An
 * empty uidl field means "the base name" (which must then be a valid
 * UIDL; a UIDL is never empty); 'd' marks a base name that another
 * message of the snapshot shares. Only snapshots without messages in
 * new/ are stored, so every name is in cur/.
 *
 * The file lives in the user's own maildir, so its bytes are untrusted:
 * the parser checks every field and the UIDLs' uniqueness, rejects names
 * that could leave cur/, and any doubt makes the whole file unusable
 * (the caller then scans as if it were absent). Writing is temporary
 * file + rename, without fsync: a torn file after a crash has the wrong
 * number of lines and is ignored.
 */
#ifndef ROOST_MAILDIR_LISTING_CACHE_H
#define ROOST_MAILDIR_LISTING_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "error.h"
#include "pool.h"

#define MAILDIR_LISTING_CACHE_NAME "roost-listing"
/* The coarsest timestamp granularity in use is 2 s (FAT; most Unix file
 * systems have ns, NFS servers and some others whole seconds). Anything
 * that changes after a scan started at T gets a time >= T rounded down
 * to that granularity, which is above a stamp older than T - 2 s. */
#define MAILDIR_LISTING_DIRTY_SECS 2
/* A header line is never longer: reading this much finds it. */
#define MAILDIR_LISTING_HEADER_MAX 1024

enum maildir_listing_stamp_index {
	MAILDIR_LISTING_STAMP_CUR,
	MAILDIR_LISTING_STAMP_NEW,
	MAILDIR_LISTING_STAMP_DOVECOT,
	MAILDIR_LISTING_STAMP_COURIER,
	MAILDIR_LISTING_STAMPS
};

struct maildir_listing_stamp {
	bool present;
	uint64_t dev, ino, size;
	uint64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

struct maildir_listing_key {
	unsigned uidl_mode;     /* the storage's own number, compared only */
	uint64_t scan_sec, scan_nsec;
	struct maildir_listing_stamp stamps[MAILDIR_LISTING_STAMPS];
};

struct maildir_listing_entry {
	const char *name;       /* file name in cur/ */
	size_t base_len;        /* name[0..base_len) is the base name */
	const char *uidl;       /* NULL: the base name */
	uint64_t size;
	uint64_t ino;
	bool dup_base;
};

/* st == NULL: an absent file. Returns false when a time is before 1970
 * (such a stamp cannot be stored). */
bool maildir_listing_stamp_set(struct maildir_listing_stamp *stamp,
			       const struct stat *st);
/* Same mode and stamps; the scan times may differ. */
bool maildir_listing_key_equal(const struct maildir_listing_key *a,
			       const struct maildir_listing_key *b);
/* True when every present stamp is older than the scan by more than
 * MAILDIR_LISTING_DIRTY_SECS (see above). */
bool maildir_listing_key_settled(const struct maildir_listing_key *key);

/* Parses the first line of buf[0..len) (of which at most
 * MAILDIR_LISTING_HEADER_MAX octets are looked at). Returns false when there is no
 * complete, well-formed header of this version; else sets the key, the
 * entry count announced and the header's length with its '\n'. */
bool maildir_listing_parse_header(const char *buf, size_t len,
				  struct maildir_listing_key *key_r,
				  size_t *count_r, size_t *header_len_r);
/* Parses exactly count entry lines filling buf[0..len), which it
 * changes: the names and UIDLs returned point into it, so it must live
 * as long as the entries (which come from pool). Returns false with a
 * reason in *why_r when anything is wrong. */
bool maildir_listing_parse_entries(pool_t *pool, char *buf, size_t len,
				   size_t count,
				   struct maildir_listing_entry **entries_r,
				   const char **why_r);

/* Atomically replaces path. Returns 1 when written, 0 when the snapshot
 * cannot be stored (a name containing '\n', an invalid UIDL, an unset
 * stamp time), -1 with err set on I/O errors. */
int maildir_listing_write(const char *path,
			  const struct maildir_listing_key *key,
			  const struct maildir_listing_entry *entries,
			  size_t count, struct error *err);

#endif
