/*
 * What is in a module search path, and whether each module would load:
 * `roost --modules` (doc/plugin-guide.md). An admin who drops a plugin into
 * module_dir sees here, before any user needs it, whether this server
 * accepts it and why not, in the same words the server would log.
 *
 * Every file KIND_NAME.la / KIND_NAME.so in each directory of the path is
 * one entry. A file whose KIND_NAME was already found in an earlier
 * directory is listed as shadowed: the loader never reaches it. Every other
 * module is loaded with module_load() from its own directory and, when
 * that succeeds, initialised with module_init(), so "loads" means exactly
 * what a process that needs the module would get. Each module is unloaded
 * (module_unload_all(), deinit() included) before the next is tried, so any
 * number of them can be listed: call this only in a process that holds no
 * other modules.
 */
#ifndef ROOST_MODULE_LIST_H
#define ROOST_MODULE_LIST_H

#include <stdbool.h>

#include "buffer.h"
#include "error.h"
#include "pool.h"

enum module_list_status {
	MODULE_LIST_LOADS,
	MODULE_LIST_REFUSED,      /* reason says why */
	MODULE_LIST_SHADOWED,     /* reason: the file the loader takes instead */
	MODULE_LIST_UNREADABLE,   /* a directory of the path; reason: errno text */
};

struct module_list_entry {
	const char *dir;
	const char *file;        /* KIND_NAME, the name the loader looks for */
	const char *path;        /* the file (or, UNREADABLE, the directory) */
	const char *kind;        /* from the file name: "storage" */
	const char *name;        /* the descriptor's name when it can be read,
				  * else the file name's: "passwd-file" */
	bool abi_known;
	unsigned abi;            /* the descriptor's abi_version */
	enum module_list_status status;
	const char *reason;      /* NULL for LOADS */
};

/* Scans search_path (':'-separated) in order. Entries come from pool; the
 * result is sorted per directory by file name. Fails only when search_path
 * has no directory at all. */
int module_list_scan(pool_t *pool, const char *search_path,
		     struct module_list_entry **entries_r, unsigned *count_r,
		     struct error *err);

/* A table for people, one line per entry, with control bytes in names
 * and reasons escaped. */
void module_list_write(struct buffer *out, const char *search_path,
		       const struct module_list_entry *entries, unsigned count);

/* True when every module that the loader would reach loads (shadowed files
 * do not count; an unreadable directory does). */
bool module_list_all_load(const struct module_list_entry *entries,
			  unsigned count);

#endif
