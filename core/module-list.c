/* Listing and judging the modules of a search path; see module-list.h. */
#include "config.h"
#include "module-list.h"

#include "log.h"
#include "module.h"

#include <dirent.h>
#include <errno.h>
#include <ltdl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Files looked at per directory: a module directory holds a few dozen; the
 * cap only bounds memory when the path names a huge unrelated directory. */
#define MODULE_LIST_DIR_MAX 4096
/* "protocol_" plus the loader's longest name (module.c). */
#define MODULE_LIST_FILE_MAX (9 + 64)

struct list_builder {
	pool_t *pool;
	struct module_list_entry *entries;
	unsigned count;
	unsigned alloc;
};

static struct module_list_entry *add_entry(struct list_builder *b)
{
	if (b->count == b->alloc) {
		unsigned n = b->alloc == 0 ? 16 : b->alloc * 2;
		struct module_list_entry *grown = pool_alloc(b->pool, n * sizeof(*grown));
		if (b->count > 0)
			memcpy(grown, b->entries, b->count * sizeof(*grown));
		b->entries = grown;
		b->alloc = n;
	}
	return &b->entries[b->count++];   /* zero-filled by pool_alloc */
}

static bool kind_from_text(const char *text, size_t len, enum module_kind *kind_r)
{
	static const enum module_kind kinds[] = {
		MODULE_KIND_AUTH, MODULE_KIND_STORAGE, MODULE_KIND_PROTOCOL,
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const char *name = module_kind_name(kinds[i]);
		if (strlen(name) == len && memcmp(name, text, len) == 0) {
			*kind_r = kinds[i];
			return true;
		}
	}
	return false;
}

/* The loader's file names (module.c): KIND_NAME in [a-z0-9_]. Anything
 * else in the directory is not something a config could name. */
static bool file_stem_valid(const char *stem, size_t len)
{
	if (len == 0 || len > MODULE_LIST_FILE_MAX || memchr(stem, '_', len) == NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = stem[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return stem[0] != '_';
}

/* True when the loader, asked for module `name` of kind `kind`, would
 * look for `file`. */
static bool name_gives_file(enum module_kind kind, const char *name, const char *file)
{
	const char *kind_name = module_kind_name(kind);
	size_t klen = strlen(kind_name);
	if (strncmp(file, kind_name, klen) != 0 || file[klen] != '_')
		return false;
	const char *rest = file + klen + 1;
	size_t i = 0;
	for (; name[i] != '\0' && rest[i] != '\0'; i++) {
		char c = name[i] == '-' ? '_' : name[i];
		if (c != rest[i])
			return false;
	}
	return name[i] == '\0' && rest[i] == '\0';
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const struct module_list_entry *
find_file(const struct list_builder *b, const char *file)
{
	for (unsigned i = 0; i < b->count; i++) {
		const struct module_list_entry *e = &b->entries[i];
		if (e->status != MODULE_LIST_SHADOWED && e->file != NULL &&
		    strcmp(e->file, file) == 0)
			return e;
	}
	return NULL;
}

/* Loads and initialises one module the way a process that needs it would,
 * and records the verdict. */
static void judge(struct list_builder *b, struct module_list_entry *e)
{
	size_t klen = (size_t)(strchr(e->file, '_') - e->file);
	enum module_kind kind;
	bool kind_known = kind_from_text(e->file, klen, &kind);
	e->kind = pool_strndup(b->pool, e->file, klen);
	e->name = pool_strdup(b->pool, e->file + klen + 1);

	/* Our own handle, to read the ABI even of a module the loader
	 * refuses. Only abi_version, the descriptor's first member, is read
	 * before the ABI is known to match: the rest of another ABI's
	 * struct may be laid out differently. */
	lt_dlhandle handle = lt_dlopenext(pool_printf(b->pool, "%s/%s", e->dir, e->file));
	if (handle == NULL) {
		e->status = MODULE_LIST_REFUSED;
		e->reason = pool_printf(b->pool, "cannot load %s: %s", e->file, lt_dlerror());
		return;
	}
	const struct roost_module *mod = lt_dlsym(handle, ROOST_MODULE_SYMBOL);
	if (mod != NULL) {
		e->abi_known = true;
		e->abi = mod->abi_version;
		if (kind_known && mod->abi_version == ROOST_MODULE_ABI &&
		    mod->name != NULL && name_gives_file(kind, mod->name, e->file))
			e->name = pool_strdup(b->pool, mod->name);
	}
	if (!kind_known) {
		e->status = MODULE_LIST_REFUSED;
		e->reason = pool_printf(b->pool, "unknown module kind '%s' in the file name "
					"(expected auth_, storage_ or protocol_)", e->kind);
	} else {
		struct error err;
		error_clear(&err);
		const struct roost_module *loaded = module_load(e->dir, kind, e->name, &err);
		if (loaded == NULL || module_init(loaded, &err) < 0) {
			e->status = MODULE_LIST_REFUSED;
			e->reason = pool_strdup(b->pool, err.message);
		} else {
			e->status = MODULE_LIST_LOADS;
		}
		/* One module at a time: the loader's table is small, and a
		 * module's deinit() belongs right after its init(). */
		module_unload_all();
	}
	lt_dlclose(handle);
}

/* The module files of one directory, sorted, each once (libtool installs
 * both NAME.la and NAME.so). Returns the count, or -1 with errno set. */
static int read_dir_files(pool_t *pool, const char *dir, const char ***files_r,
			  bool **has_la_r)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	const char **files = pool_alloc(pool, MODULE_LIST_DIR_MAX * sizeof(*files));
	unsigned n = 0;
	struct dirent *de;
	while (n < MODULE_LIST_DIR_MAX && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 4 || (strcmp(de->d_name + len - 3, ".la") != 0 &&
				strcmp(de->d_name + len - 3, ".so") != 0))
			continue;
		if (!file_stem_valid(de->d_name, len - 3))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
			continue;
		files[n++] = pool_strdup(pool, de->d_name);
	}
	closedir(d);
	qsort(files, n, sizeof(*files), compare_strings);

	/* NAME.la sorts before NAME.so: fold each pair into one stem. */
	bool *has_la = pool_alloc(pool, (n + 1) * sizeof(*has_la));
	unsigned out = 0;
	for (unsigned i = 0; i < n; i++) {
		size_t len = strlen(files[i]) - 3;
		bool la = strcmp(files[i] + len, ".la") == 0;
		char *stem = pool_strndup(pool, files[i], len);
		if (out > 0 && strcmp(files[out - 1], stem) == 0) {
			has_la[out - 1] = has_la[out - 1] || la;
			continue;
		}
		has_la[out] = la;
		files[out++] = stem;
	}
	*files_r = files;
	*has_la_r = has_la;
	return (int)out;
}

static void scan_dir(struct list_builder *b, const char *dir)
{
	const char **files;
	bool *has_la;
	int n = read_dir_files(b->pool, dir, &files, &has_la);
	if (n < 0) {
		struct module_list_entry *e = add_entry(b);
		e->dir = e->path = dir;
		e->status = MODULE_LIST_UNREADABLE;
		e->reason = pool_printf(b->pool, "cannot read the directory: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		/* Look before adding: add_entry() may move the array. */
		const struct module_list_entry *first = find_file(b, files[i]);
		const char *first_path = first != NULL ? first->path : NULL;
		const char *first_kind = first != NULL ? first->kind : NULL;
		const char *first_name = first != NULL ? first->name : NULL;
		struct module_list_entry *e = add_entry(b);
		e->dir = dir;
		e->file = files[i];
		e->path = pool_printf(b->pool, "%s/%s%s", dir, files[i],
				      has_la[i] ? ".la" : ".so");
		if (first_path != NULL) {
			/* Not loaded (it never would be): named like the
			 * module that shadows it. */
			e->kind = first_kind;
			e->name = first_name;
			e->status = MODULE_LIST_SHADOWED;
			e->reason = pool_printf(b->pool, "the loader takes %s", first_path);
			continue;
		}
		judge(b, e);
	}
}

int module_list_scan(pool_t *pool, const char *search_path,
		     struct module_list_entry **entries_r, unsigned *count_r,
		     struct error *err)
{
	struct list_builder b = { .pool = pool };
	/* Our own reference on libltdl: module_unload_all() after each
	 * module drops the loader's, and must not take ours with it. */
	if (lt_dlinit() != 0) {
		error_set(err, ERROR_TEMP, "lt_dlinit: %s", lt_dlerror());
		return -1;
	}
	unsigned dirs = 0;
	const char *p = search_path != NULL ? search_path : "";
	while (*p != '\0') {
		const char *end = strchr(p, ':');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len > 0) {
			scan_dir(&b, pool_strndup(pool, p, len));
			dirs++;
		}
		p += len;
		if (*p == ':')
			p++;
	}
	lt_dlexit();
	if (dirs == 0) {
		error_set(err, ERROR_INVALID, "the module search path '%s' names no directory",
			  search_path != NULL ? search_path : "");
		return -1;
	}
	*entries_r = b.entries;
	*count_r = b.count;
	return 0;
}

bool module_list_all_load(const struct module_list_entry *entries, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		if (entries[i].status == MODULE_LIST_REFUSED ||
		    entries[i].status == MODULE_LIST_UNREADABLE)
			return false;
	}
	return true;
}

/* Names, paths and reasons come from the file system and from modules:
 * escape control bytes so a hostile file name cannot forge a line. */
static const char *esc(pool_t *pool, const char *s)
{
	size_t len = strlen(s);
	char *out = pool_alloc(pool, len * 4 + 1);
	return log_escape(out, len * 4 + 1, s, len);
}

static const char *status_text(enum module_list_status status)
{
	switch (status) {
	case MODULE_LIST_LOADS: return "loads";
	case MODULE_LIST_REFUSED: return "refused";
	case MODULE_LIST_SHADOWED: return "shadowed";
	case MODULE_LIST_UNREADABLE: return "unreadable";
	}
	return "?";
}

void module_list_write(struct buffer *out, const char *search_path,
		       const struct module_list_entry *entries, unsigned count)
{
	pool_t *pool = pool_create();
	buffer_printf(out, "Modules in %s (this server: module ABI %u)\n",
		      esc(pool, search_path), ROOST_MODULE_ABI);
	buffer_printf(out, "%-28s %-5s %-10s %s\n", "MODULE", "ABI", "STATUS", "FILE");
	for (unsigned i = 0; i < count; i++) {
		const struct module_list_entry *e = &entries[i];
		const char *module = e->status == MODULE_LIST_UNREADABLE ? "-" :
			pool_printf(pool, "%s/%s", esc(pool, e->kind), esc(pool, e->name));
		const char *abi = e->abi_known ? pool_printf(pool, "%u", e->abi) : "-";
		buffer_printf(out, "%-28s %-5s %-10s %s\n", module, abi,
			      status_text(e->status), esc(pool, e->path));
		if (e->reason != NULL)
			buffer_printf(out, "    %s\n", esc(pool, e->reason));
	}
	if (count == 0)
		buffer_append_str(out, "(no modules found)\n");
	pool_destroy(pool);
}
