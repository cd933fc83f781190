/* Dovecot configuration text -> config_section tree; see doveconf-dump.h. */
#include "config.h"
#include "doveconf-dump.h"

#include <stdbool.h>
#include <string.h>

/* An open section and the room its arrays have. Children are appended
 * only while a section is open, so closed ones need no capacity. */
struct open_section {
	struct config_section *sec;
	unsigned settings_cap;
	unsigned sections_cap;
};

struct dump_parser {
	pool_t *pool;
	const char *name;
	doveconf_warn_fn *warn;
	void *context;
	struct open_section stack[DOVECONF_DEPTH_MAX + 1];
	unsigned depth;          /* stack[0] is the root */
	unsigned skipped_depth;  /* sections being skipped (too deep) */
	unsigned lineno;
};

static void parser_warn(struct dump_parser *p, unsigned line, const char *why)
{
	if (p->warn != NULL)
		p->warn(p->context, line, why);
}

/* Grows a pool array of elem-sized items from *cap to hold count + 1. */
static void *grow(pool_t *pool, void *array, unsigned count, unsigned *cap,
		  size_t elem)
{
	if (count < *cap)
		return array;
	unsigned new_cap = *cap == 0 ? 8 : *cap * 2;
	void *bigger = pool_alloc(pool, new_cap * elem);
	if (count > 0)
		memcpy(bigger, array, count * elem);
	*cap = new_cap;
	return bigger;
}

static bool is_word_char(char ch, const char *extra)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		(ch >= '0' && ch <= '9') || ch == '_' ||
		(ch != '\0' && strchr(extra, ch) != NULL);
}

static bool is_word(const char *s, size_t len, const char *extra)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_word_char(s[i], extra))
			return false;
	}
	return true;
}

static void trim(const char **s, const char **end)
{
	while (*s < *end && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*end > *s && ((*end)[-1] == ' ' || (*end)[-1] == '\t' ||
			     (*end)[-1] == '\r'))
		(*end)--;
}

static void add_setting(struct dump_parser *p, unsigned line, const char *key,
			size_t key_len, const char *value, size_t value_len)
{
	struct open_section *o = &p->stack[p->depth];
	struct config_section *sec = o->sec;
	sec->settings = grow(p->pool, sec->settings, sec->settings_count,
			     &o->settings_cap, sizeof(*sec->settings));
	struct config_setting *set = &sec->settings[sec->settings_count++];
	set->key = pool_strndup(p->pool, key, key_len);
	set->value = pool_strndup(p->pool, value, value_len);
	set->file = p->name;
	set->line = line;
}

static void open_section(struct dump_parser *p, unsigned line,
			 const char *s, const char *end)
{
	if (p->skipped_depth > 0 || p->depth == DOVECONF_DEPTH_MAX) {
		if (p->skipped_depth++ == 0)
			parser_warn(p, line, "sections nested too deep; "
				    "skipped with their contents");
		return;
	}
	const char *sp = memchr(s, ' ', (size_t)(end - s));
	const char *type_end = sp != NULL ? sp : end;
	const char *name = NULL, *name_end = NULL;
	if (sp != NULL) {
		name = sp + 1;
		name_end = end;
		trim(&name, &name_end);
	}
	if (!is_word(s, (size_t)(type_end - s), "-")) {
		parser_warn(p, line, "invalid section type; skipped with its "
			    "contents");
		p->skipped_depth++;
		return;
	}
	struct open_section *o = &p->stack[p->depth];
	struct config_section *parent = o->sec;
	parent->sections = grow(p->pool, parent->sections,
				parent->sections_count, &o->sections_cap,
				sizeof(*parent->sections));
	struct config_section *sec =
		&parent->sections[parent->sections_count++];
	memset(sec, 0, sizeof(*sec));
	sec->type = pool_strndup(p->pool, s, (size_t)(type_end - s));
	sec->name = name != NULL && name < name_end ?
		pool_strndup(p->pool, name, (size_t)(name_end - name)) : NULL;
	sec->file = p->name;
	sec->line = line;
	p->depth++;
	p->stack[p->depth].sec = sec;
	p->stack[p->depth].settings_cap = 0;
	p->stack[p->depth].sections_cap = 0;
}

/* One logical line s[0..end), which started on line `line`. */
static void parse_line(struct dump_parser *p, unsigned line, const char *s,
		       const char *end)
{
	trim(&s, &end);
	if (s == end || *s == '#')
		return;
	for (const char *q = s; q < end; q++) {
		/* Dovecot's files are text; Roost's parser refuses control
		 * bytes, so such a value could not be carried over anyway */
		if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f) {
			parser_warn(p, line, "control character");
			return;
		}
	}
	if (end - s == 1 && *s == '}') {
		if (p->skipped_depth > 0)
			p->skipped_depth--;
		else if (p->depth == 0)
			parser_warn(p, line, "'}' without an open section");
		else
			p->depth--;
		return;
	}
	if (end[-1] == '{') {
		const char *hdr_end = end - 1;
		trim(&s, &hdr_end);
		open_section(p, line, s, hdr_end);
		return;
	}
	if (p->skipped_depth > 0)
		return;
	const char *eq = memchr(s, '=', (size_t)(end - s));
	const char *key_end = eq;
	if (eq != NULL)
		trim(&s, &key_end);
	/* plugin settings may be named like "sieve_before2" or "quota/x" */
	if (eq == NULL || !is_word(s, (size_t)(key_end - s), "-./")) {
		parser_warn(p, line, "neither 'key = value' nor a section");
		return;
	}
	const char *value = eq + 1;
	trim(&value, &end);
	add_setting(p, line, s, (size_t)(key_end - s), value,
		    (size_t)(end - value));
}

struct config_section *doveconf_parse(pool_t *pool, const char *name,
				      const char *text, size_t len,
				      doveconf_warn_fn *warn, void *context)
{
	struct config_section *root = pool_alloc(pool, sizeof(*root));
	root->type = "";
	root->file = pool_strdup(pool, name);
	struct dump_parser p = {
		.pool = pool, .name = root->file, .warn = warn,
		.context = context,
	};
	p.stack[0].sec = root;
	struct buffer joined;
	buffer_init(&joined);
	unsigned joined_line = 0;
	const char *s = text, *end = text + len;
	while (s < end) {
		p.lineno++;
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *line_end = nl != NULL ? nl : end;
		const char *t = line_end;
		while (t > s && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r'))
			t--;
		bool continued = t > s && t[-1] == '\\';
		if (joined.len == 0)
			joined_line = p.lineno;
		else
			buffer_append_str(&joined, " ");
		const char *piece = s;
		if (joined.len > 0)
			while (piece < t && (*piece == ' ' || *piece == '\t'))
				piece++;
		const char *piece_end = continued ? t - 1 : t;
		while (continued && piece_end > piece &&
		       (piece_end[-1] == ' ' || piece_end[-1] == '\t'))
			piece_end--;
		buffer_append(&joined, piece, (size_t)(piece_end - piece));
		if (!continued || nl == NULL) {
			parse_line(&p, joined_line, joined.data,
				   joined.data + joined.len);
			buffer_reset(&joined);
		}
		s = nl != NULL ? nl + 1 : end;
	}
	buffer_free(&joined);
	if (p.depth > 0 || p.skipped_depth > 0)
		parser_warn(&p, p.depth > 0 ? p.stack[p.depth].sec->line :
			    p.lineno, "section not closed at the end");
	return root;
}
