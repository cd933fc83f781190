/* Dovecot's dovecot-uidlist, read-only; see maildir-dovecot-uidlist.h. */
#include "config.h"
#include "maildir-dovecot-uidlist.h"

#include "decimal.h"
#include "maildir-hash.h"
#include "maildir-lines.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Dovecot's own limit (maildir_uidlist_next): a UID of 2^32-1 is "too
 * high", since next_uid would overflow. */
#define DOVECOT_UID_MAX (UINT32_MAX - 1)

struct maildir_dovecot_uidlist {
	unsigned version;
	uint32_t uidvalidity;
	uint32_t next_uid;
	struct maildir_hash *by_base;   /* base name -> record pointer */
	unsigned count;
};

struct uidlist_parser {
	pool_t *pool;
	struct maildir_dovecot_uidlist *list;
	maildir_dovecot_warn_fn *warn;
	void *context;
	unsigned lineno;
	uint32_t prev_uid;
	bool header_ok;
};

static void parser_warn(struct uidlist_parser *p, const char *why)
{
	if (p->warn != NULL)
		p->warn(p->context, p->lineno, why);
}

static bool parse_u32(const char *s, size_t len, uint32_t *value_r)
{
	uint64_t v;
	if (!decimal_parse_u64(s, len, &v) || v > UINT32_MAX)
		return false;
	*value_r = (uint32_t)v;
	return true;
}

/* "3 V<uidvalidity> N<nextuid> ...": fields in any order, unknown ones
 * (G, and whatever later versions add) ignored, as Dovecot does. */
static bool parse_v3_header(struct uidlist_parser *p, const char *s,
			    const char *end)
{
	struct maildir_dovecot_uidlist *list = p->list;
	while (s < end && *s == ' ')
		s++;
	while (s < end) {
		const char *field = s;
		while (s < end && *s != ' ')
			s++;
		size_t vlen = (size_t)(s - field) - 1;   /* field is not empty */
		if ((*field == 'V' || *field == 'N') &&
		    !parse_u32(field + 1, vlen,
			       *field == 'V' ? &list->uidvalidity :
			       &list->next_uid)) {
			parser_warn(p, *field == 'V' ? "invalid UIDVALIDITY" :
				    "invalid next UID");
			return false;
		}
		while (s < end && *s == ' ')
			s++;
	}
	return true;
}

/* "1 <uidvalidity> <nextuid>"; Dovecot uses sscanf("%u %u") and so
 * ignores whatever follows. */
static bool parse_v1_header(struct uidlist_parser *p, const char *s,
			    const char *end)
{
	const char *sp = memchr(s, ' ', (size_t)(end - s));
	if (sp == NULL ||
	    !parse_u32(s, (size_t)(sp - s), &p->list->uidvalidity)) {
		parser_warn(p, "invalid version 1 header");
		return false;
	}
	s = sp + 1;
	sp = memchr(s, ' ', (size_t)(end - s));
	if (!parse_u32(s, (size_t)((sp != NULL ? sp : end) - s),
		       &p->list->next_uid)) {
		parser_warn(p, "invalid version 1 header");
		return false;
	}
	return true;
}

static bool parse_header(struct uidlist_parser *p, const char *s,
			 const char *end)
{
	if (end - s < 2 || s[0] < '0' || s[0] > '9' || s[1] != ' ') {
		parser_warn(p, "no version number in the header");
		return false;
	}
	p->list->version = (unsigned)(s[0] - '0');
	bool ok;
	if (p->list->version == 3)
		ok = parse_v3_header(p, s + 2, end);
	else if (p->list->version == 1)
		ok = parse_v1_header(p, s + 2, end);
	else {
		parser_warn(p, "unsupported version (only 1 and 3 are known)");
		return false;
	}
	if (ok && (p->list->uidvalidity == 0 || p->list->next_uid == 0)) {
		/* Dovecot itself rejects such a header and starts over with
		 * new UIDs, so its clients never saw UIDLs built from it. */
		parser_warn(p, "header without UIDVALIDITY or next UID");
		return false;
	}
	return ok;
}

/* One "<key><value>" field of a version 3 record. */
static void parse_field(struct uidlist_parser *p,
			struct maildir_dovecot_record *rec, const char *field,
			size_t len, bool *have_p)
{
	const char *value = field + 1;
	size_t vlen = len - 1;
	if (*field < 'A' || *field > 'Z') {
		/* Dovecot drops such a field and keeps the record. */
		parser_warn(p, "invalid extension field ignored");
		return;
	}
	/* Dovecot's lookup returns the first field with a key: so do we. */
	if (*field == 'P' && !*have_p) {
		*have_p = true;
		if (vlen == 0)
			rec->pop3_uidl = "";
		else if (storage_uidl_is_valid(value, vlen))
			rec->pop3_uidl = pool_strndup(p->pool, value, vlen);
		else
			/* Dovecot would send it as is; RFC 1939 forbids it,
			 * and the UID form is at least stable. */
			parser_warn(p, "P is not a valid POP3 UIDL "
				    "(1-70 printable characters); using the "
				    "UID form");
	} else if (*field == 'W' && !rec->have_vsize) {
		if (decimal_parse_u64(value, vlen, &rec->vsize))
			rec->have_vsize = true;
		else
			parser_warn(p, "invalid W size ignored");
	}
	/* S (stored size), G (GUID), O (POP3 order) and unknown keys are
	 * not needed for POP3 UIDLs and sizes. */
}

static void parse_record(struct uidlist_parser *p, const char *s,
			 const char *end)
{
	struct maildir_dovecot_uidlist *list = p->list;
	const char *digits_end = s;
	while (digits_end < end && *digits_end >= '0' && *digits_end <= '9')
		digits_end++;
	uint32_t uid;
	if (digits_end == end || *digits_end != ' ' ||
	    !parse_u32(s, (size_t)(digits_end - s), &uid) || uid == 0 ||
	    uid > DOVECOT_UID_MAX) {
		parser_warn(p, "no valid UID");
		return;
	}
	if (uid <= p->prev_uid) {
		/* Two messages would get the same UIDL. */
		parser_warn(p, "UIDs not ascending");
		return;
	}
	if (list->version == 1 && uid >= list->next_uid) {
		parser_warn(p, "UID not below the header's next UID");
		return;
	}
	struct maildir_dovecot_record rec;
	memset(&rec, 0, sizeof(rec));
	rec.uid = uid;
	s = digits_end;
	while (s < end && *s == ' ')
		s++;
	if (list->version == 3) {
		bool have_p = false;
		while (s < end && *s != ':') {
			const char *field = s;
			while (s < end && *s != ' ')
				s++;
			parse_field(p, &rec, field, (size_t)(s - field),
				    &have_p);
			while (s < end && *s == ' ')
				s++;
		}
		if (s < end)
			s++;   /* the ':' before the file name */
	}
	const char *colon = memchr(s, ':', (size_t)(end - s));
	size_t base_len = (size_t)((colon != NULL ? colon : end) - s);
	if (base_len == 0 || base_len > MAILDIR_NAME_MAX ||
	    memchr(s, '/', (size_t)(end - s)) != NULL) {
		parser_warn(p, "no valid file name");
		return;
	}
	p->prev_uid = uid;

	bool created;
	char *base = pool_strndup(p->pool, s, base_len);
	struct maildir_hash_entry *e =
		maildir_hash_insert(list->by_base, base, base_len, &created);
	if (!created) {
		/* Dovecot's reader: the later line wins (an expunged file
		 * moved back and appended again). */
		parser_warn(p, "file listed twice; the later line counts");
		list->count--;
	}
	e->value = (uintptr_t)pool_memdup(p->pool, &rec, sizeof(rec));
	list->count++;
}

static void parser_line_warn(void *context, unsigned lineno, const char *why)
{
	struct uidlist_parser *p = context;
	p->lineno = lineno;
	parser_warn(p, why);
}

/* The header on line 1, records after it; nothing without a header. */
static bool parser_line(void *context, unsigned lineno, const char *s,
			const char *end)
{
	struct uidlist_parser *p = context;
	p->lineno = lineno;
	if (lineno == 1) {
		p->header_ok = parse_header(p, s, end);
		return p->header_ok;
	}
	if (!p->header_ok)
		return false;
	parse_record(p, s, end);
	return true;
}

struct maildir_dovecot_uidlist *
maildir_dovecot_uidlist_parse(pool_t *pool, const char *buf, size_t len,
			      maildir_dovecot_warn_fn *warn, void *context)
{
	struct maildir_dovecot_uidlist *list = pool_alloc(pool, sizeof(*list));
	list->by_base = maildir_hash_create(pool, 0);
	struct uidlist_parser p = {
		.pool = pool, .list = list, .warn = warn, .context = context,
	};
	/* Dovecot writes the file with rename(), so a line without a line
	 * end is damage; its own reader skips such a line too. */
	if (maildir_lines_each(buf, len, 0, parser_line, parser_line_warn,
			       &p) == 0) {
		p.lineno = 1;
		parser_warn(&p, "empty file");
	}
	return p.header_ok ? list : NULL;
}

uint32_t maildir_dovecot_uidlist_uidvalidity(
	const struct maildir_dovecot_uidlist *list)
{
	return list->uidvalidity;
}

unsigned maildir_dovecot_uidlist_count(
	const struct maildir_dovecot_uidlist *list)
{
	return list->count;
}

const struct maildir_dovecot_record *
maildir_dovecot_uidlist_lookup(const struct maildir_dovecot_uidlist *list,
			       const char *base, size_t len)
{
	struct maildir_hash_entry *e =
		maildir_hash_lookup(list->by_base, base, len);
	return e == NULL ? NULL :
		(const struct maildir_dovecot_record *)(uintptr_t)e->value;
}

void maildir_dovecot_uidl(const struct maildir_dovecot_uidlist *list,
			  const struct maildir_dovecot_record *rec,
			  const char *base, size_t base_len,
			  char out[MAILDIR_UIDL_MAX + 1])
{
	if (rec->pop3_uidl != NULL && rec->pop3_uidl[0] == '\0') {
		maildir_uidl_from_base(base, base_len, out);
		return;
	}
	if (rec->pop3_uidl != NULL) {
		/* checked by the parser: fits and is printable */
		snprintf(out, MAILDIR_UIDL_MAX + 1, "%s", rec->pop3_uidl);
		return;
	}
	storage_uidl_dovecot(rec->uid, list->uidvalidity, out);
}
