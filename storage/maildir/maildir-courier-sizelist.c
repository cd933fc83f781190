/* Courier's courierpop3dsizelist, read-only; see
 * maildir-courier-sizelist.h. */
#include "config.h"
#include "maildir-courier-sizelist.h"

#include "decimal.h"
#include "maildir-hash.h"
#include "maildir-lines.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Courier reads lines into a 2048-byte buffer and cuts what does not fit
 * (readpop3dlist()); a line that long is not one Courier wrote, and no
 * maildir file name is longer than MAILDIR_NAME_MAX anyway. */
#define COURIER_LINE_MAX 2048
/* Versions Courier 0.43+ reads (LISTVERSION and LISTVERSION - 1). */
#define COURIER_VERSION_MIN 2
#define COURIER_VERSION_MAX 3

struct maildir_courier_sizelist {
	struct maildir_hash *by_base;   /* base name -> record pointer */
	unsigned count;
};

struct sizelist_parser {
	pool_t *pool;
	struct maildir_courier_sizelist *list;
	maildir_courier_warn_fn *warn;
	void *context;
	unsigned lineno;
	unsigned version;   /* 0 until the header parsed */
};

static void parser_warn(struct sizelist_parser *p, const char *why)
{
	if (p->warn != NULL)
		p->warn(p->context, p->lineno, why);
}

/* The next space-separated decimal field of s[0..end), moving *s past it
 * and the one separator sep after it (none at the end when sep is 0). */
static bool take_number(const char **s, const char *end, char sep,
			uint64_t *value_r)
{
	const char *start = *s, *p = *s;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == start || !decimal_parse_u64(start, (size_t)(p - start), value_r))
		return false;
	if (sep != '\0') {
		if (p == end || *p != sep)
			return false;
		p++;
	}
	*s = p;
	return true;
}

/* "/<version> <next uid>[ <uidvalidity>]": Courier needs the first two
 * fields; the third is only its default for new records. */
static bool parse_header(struct sizelist_parser *p, const char *s,
			 const char *end)
{
	uint64_t version, next_uid, uidvalidity;
	if (s == end || *s++ != '/' ||
	    !take_number(&s, end, ' ', &version) ||
	    !take_number(&s, end, '\0', &next_uid) ||
	    (s < end && (*s++ != ' ' ||
			 !take_number(&s, end, '\0', &uidvalidity) ||
			 s != end))) {
		parser_warn(p, "not a '/<version> <next uid> <uidvalidity>' "
			    "header");
		return false;
	}
	if (version < COURIER_VERSION_MIN || version > COURIER_VERSION_MAX) {
		parser_warn(p, "unsupported version (only 2 and 3 are known)");
		return false;
	}
	p->version = (unsigned)version;
	return true;
}

static const char *last_space(const char *s, const char *end)
{
	for (const char *q = end; q > s; q--) {
		if (q[-1] == ' ')
			return q - 1;
	}
	return NULL;
}

/* "<file name> <size> <uid>:<uidvalidity>[:<utf8 flag>]" */
static void parse_record(struct sizelist_parser *p, const char *s,
			 const char *end)
{
	const char *sp2 = last_space(s, end);
	const char *sp1 = sp2 != NULL ? last_space(s, sp2) : NULL;
	if (sp1 == NULL || sp1 == s) {
		parser_warn(p, "not '<file name> <size> <uid>:<uidvalidity>'");
		return;
	}
	uint64_t size, utf8;
	struct maildir_courier_record rec;
	const char *f = sp1 + 1;
	if (!take_number(&f, sp2, '\0', &size) || f != sp2) {
		parser_warn(p, "invalid size");
		return;
	}
	f = sp2 + 1;
	bool v3 = p->version == 3;
	if (!take_number(&f, end, ':', &rec.uid) ||
	    !take_number(&f, end, v3 ? ':' : '\0', &rec.uidvalidity) ||
	    (v3 && (!take_number(&f, end, '\0', &utf8) || utf8 > 1)) ||
	    f != end) {
		parser_warn(p, v3 ? "invalid '<uid>:<uidvalidity>:<utf8>'" :
			    "invalid '<uid>:<uidvalidity>'");
		return;
	}
	const char *colon = memchr(s, ':', (size_t)(sp1 - s));
	size_t base_len = (size_t)((colon != NULL ? colon : sp1) - s);
	if (base_len == 0 || base_len > MAILDIR_NAME_MAX ||
	    memchr(s, '/', (size_t)(sp1 - s)) != NULL) {
		parser_warn(p, "no valid file name");
		return;
	}
	bool created;
	char *base = pool_strndup(p->pool, s, base_len);
	struct maildir_hash_entry *e = maildir_hash_insert(
		p->list->by_base, base, base_len, &created);
	if (!created) {
		/* Courier writes each message once; keep what came first. */
		parser_warn(p, "file listed twice; the first line counts");
		return;
	}
	e->value = (uintptr_t)pool_memdup(p->pool, &rec, sizeof(rec));
	p->list->count++;
}

static void parser_line_warn(void *context, unsigned lineno, const char *why)
{
	struct sizelist_parser *p = context;
	p->lineno = lineno;
	parser_warn(p, why);
}

/* The header on line 1, records after it; nothing without a header. */
static bool parser_line(void *context, unsigned lineno, const char *s,
			const char *end)
{
	struct sizelist_parser *p = context;
	p->lineno = lineno;
	if (lineno == 1)
		return parse_header(p, s, end);
	if (p->version == 0)
		return false;
	parse_record(p, s, end);
	return true;
}

struct maildir_courier_sizelist *
maildir_courier_sizelist_parse(pool_t *pool, const char *buf, size_t len,
			       maildir_courier_warn_fn *warn, void *context)
{
	struct maildir_courier_sizelist *list = pool_alloc(pool, sizeof(*list));
	list->by_base = maildir_hash_create(pool, 0);
	struct sizelist_parser p = {
		.pool = pool, .list = list, .warn = warn, .context = context,
	};
	/* Courier renames a complete file into place, and its reader
	 * drops a line without a line end too. */
	if (maildir_lines_each(buf, len, COURIER_LINE_MAX, parser_line,
			       parser_line_warn, &p) == 0) {
		p.lineno = 1;
		parser_warn(&p, "empty file");
	}
	return p.version == 0 ? NULL : list;
}

unsigned maildir_courier_sizelist_count(
	const struct maildir_courier_sizelist *list)
{
	return list->count;
}

const struct maildir_courier_record *
maildir_courier_sizelist_lookup(const struct maildir_courier_sizelist *list,
				const char *base, size_t len)
{
	struct maildir_hash_entry *e =
		maildir_hash_lookup(list->by_base, base, len);
	return e == NULL ? NULL :
		(const struct maildir_courier_record *)(uintptr_t)e->value;
}

void maildir_courier_uidl(const struct maildir_courier_record *rec,
			  const char *base, size_t base_len,
			  char out[MAILDIR_UIDL_MAX + 1])
{
	if (rec->uid == 0)
		maildir_uidl_from_base(base, base_len, out);
	else if (rec->uidvalidity == 0)
		snprintf(out, MAILDIR_UIDL_MAX + 1, "UID%" PRIu64, rec->uid);
	else
		snprintf(out, MAILDIR_UIDL_MAX + 1, "UID%" PRIu64 "-%" PRIu64,
			 rec->uid, rec->uidvalidity);
}
