/* SQL query templates -> parameterised SQL; see sql-query.h. */
#include "config.h"
#include "sql-query.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "buffer.h"
#include "log.h"

/* How much of a bad variable name is quoted back in the error. */
#define SQL_QUERY_SHOWN_NAME_MAX 32
/* "?N" / "$N" with N <= SQL_QUERY_PARAMS_MAX, plus separating spaces. */
#define SQL_QUERY_PLACEHOLDER_MAX 8

static const char *const var_names[SQL_VAR_COUNT] = {
	[SQL_VAR_USER] = "user",
	[SQL_VAR_USERNAME] = "username",
	[SQL_VAR_DOMAIN] = "domain",
};

struct lexer {
	const char *tmpl;
	const char *p;
	enum sql_dialect dialect;
	struct buffer out;
	struct sql_query *query;
	struct error *err;
};

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		(unsigned char)c >= 0x80;
}

/* PostgreSQL allows '$' after the first character of an identifier. */
static bool is_ident_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static int fail(struct lexer *lx, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct lexer *lx, const char *at, const char *fmt, ...)
{
	char what[ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	error_set(lx->err, ERROR_INVALID, "offset %zu: %s",
		  (size_t)(at - lx->tmpl), what);
	return -1;
}

static void copy(struct lexer *lx, size_t n)
{
	buffer_append(&lx->out, lx->p, n);
	lx->p += n;
}

/* The variable "%{...}" at lx->p: its enum value, or -1 with err set. */
static int variable_name(struct lexer *lx, const char **end_r)
{
	const char *name = lx->p + 2;
	const char *close = strchr(name, '}');
	char shown[SQL_QUERY_SHOWN_NAME_MAX * 4 + 1];

	if (close == NULL)
		return fail(lx, lx->p, "unterminated '%%{'");
	size_t len = (size_t)(close - name);
	for (int v = 0; v < SQL_VAR_COUNT; v++) {
		if (strlen(var_names[v]) == len &&
		    memcmp(var_names[v], name, len) == 0) {
			*end_r = close + 1;
			return v;
		}
	}
	log_escape(shown, sizeof(shown), name,
		   len > SQL_QUERY_SHOWN_NAME_MAX ? SQL_QUERY_SHOWN_NAME_MAX : len);
	if (len == 3 && memcmp(name, "rip", 3) == 0)
		return fail(lx, lx->p,
			    "%%{rip} is not available to SQL queries: passdb "
			    "calls do not carry the client address");
	return fail(lx, lx->p,
		    "unknown variable %%{%s} (known: user, username, domain)",
		    shown);
}

static int variable(struct lexer *lx)
{
	const char *end;
	int v = variable_name(lx, &end);
	if (v < 0)
		return -1;

	struct sql_query *q = lx->query;
	unsigned index = 0;
	while (index < q->param_count && q->params[index] != (enum sql_var)v)
		index++;
	if (index == q->param_count)
		q->params[q->param_count++] = (enum sql_var)v;

	/* Keep the placeholder a token of its own: "x%{user}" must not
	 * become the PostgreSQL identifier "x$1", nor "%{user}1" "?11". */
	char ph[SQL_QUERY_PLACEHOLDER_MAX];
	size_t n = 0;
	if (lx->out.len > 0 && is_ident_char(lx->out.data[lx->out.len - 1]))
		ph[n++] = ' ';
	n += (size_t)snprintf(ph + n, sizeof(ph) - n, "%c%u",
			      lx->dialect == SQL_DIALECT_PGSQL ? '$' : '?',
			      index + 1);
	if (is_ident_char(*end))
		ph[n++] = ' ';
	buffer_append(&lx->out, ph, n);
	lx->p = end;
	return 0;
}

/* A '%' inside a literal, identifier or comment (what): "%%" is kept as
 * a '%', anything else is refused. */
static int quoted_percent(struct lexer *lx, const char *what)
{
	if (lx->p[1] == '%') {
		buffer_append(&lx->out, "%", 1);
		lx->p += 2;
		return 0;
	}
	if (lx->p[1] != '{')
		return fail(lx, lx->p, "lone '%%' in a %s (write %%%% for a "
			    "literal '%%')", what);
	const char *end;
	int v = variable_name(lx, &end);
	if (v < 0)
		return -1;
	return fail(lx, lx->p,
		    "%%{%s} inside a %s can never be bound as a parameter; "
		    "put it outside (name = %%{%s}, not name = '%%{%s}')",
		    var_names[v], what, var_names[v], var_names[v]);
}

/* From the opening character at lx->p to the matching close. */
static int quoted(struct lexer *lx, char close, bool doubled_escapes,
		  bool backslash_escapes, const char *what)
{
	const char *start = lx->p;
	copy(lx, 1);
	for (;;) {
		char c = *lx->p;
		if (c == '\0')
			return fail(lx, start, "unterminated %s", what);
		if (c == '%') {
			if (quoted_percent(lx, what) < 0)
				return -1;
		} else if (backslash_escapes && c == '\\' && lx->p[1] != '\0') {
			copy(lx, 2);
		} else if (c == close) {
			if (doubled_escapes && lx->p[1] == close) {
				copy(lx, 2);
				continue;
			}
			copy(lx, 1);
			return 0;
		} else {
			copy(lx, 1);
		}
	}
}

static int line_comment(struct lexer *lx)
{
	while (*lx->p != '\0' && *lx->p != '\n') {
		if (*lx->p == '%') {
			if (quoted_percent(lx, "comment") < 0)
				return -1;
		} else {
			copy(lx, 1);
		}
	}
	return 0;
}

/* PostgreSQL nests block comments, SQLite does not. */
static int block_comment(struct lexer *lx)
{
	const char *start = lx->p;
	unsigned depth = 0;
	do {
		if (*lx->p == '\0')
			return fail(lx, start, "unterminated comment");
		if (lx->p[0] == '/' && lx->p[1] == '*' &&
		    (depth == 0 || lx->dialect == SQL_DIALECT_PGSQL)) {
			depth++;
			copy(lx, 2);
		} else if (lx->p[0] == '*' && lx->p[1] == '/') {
			depth--;
			copy(lx, 2);
		} else if (*lx->p == '%') {
			if (quoted_percent(lx, "comment") < 0)
				return -1;
		} else {
			copy(lx, 1);
		}
	} while (depth > 0);
	return 0;
}

/* The length of a PostgreSQL dollar-quote tag ("$$", "$tag$") at p, or 0. */
static size_t dollar_tag_len(const char *p)
{
	size_t n = 1;
	if (is_ident_start(p[n])) {
		while (is_ident_char(p[n]) && p[n] != '$')
			n++;
	}
	return p[n] == '$' ? n + 1 : 0;
}

static int dollar_quoted(struct lexer *lx, size_t tag_len)
{
	const char *start = lx->p;
	copy(lx, tag_len);
	for (;;) {
		if (*lx->p == '\0')
			return fail(lx, start, "unterminated dollar-quoted string");
		if (strncmp(lx->p, start, tag_len) == 0) {
			copy(lx, tag_len);
			return 0;
		}
		if (*lx->p == '%') {
			if (quoted_percent(lx, "string literal") < 0)
				return -1;
		} else {
			copy(lx, 1);
		}
	}
}

static int raw_placeholder(struct lexer *lx)
{
	return fail(lx, lx->p, "a placeholder of its own ('%c') would take "
		    "a parameter nobody binds; use %%{user}, %%{username} or "
		    "%%{domain}", *lx->p);
}

static int pgsql_dollar(struct lexer *lx)
{
	const char *p = lx->p;
	/* Inside an identifier such as "a$b". */
	if (p > lx->tmpl && is_ident_char(p[-1])) {
		copy(lx, 1);
		return 0;
	}
	if (p[1] >= '0' && p[1] <= '9')
		return raw_placeholder(lx);
	size_t tag_len = dollar_tag_len(p);
	if (tag_len > 0)
		return dollar_quoted(lx, tag_len);
	copy(lx, 1);
	return 0;
}

/* True when the quote at p opens a PostgreSQL E'...' string, in which a
 * backslash escapes the next character. */
static bool pgsql_escape_string(const struct lexer *lx, const char *p)
{
	if (lx->dialect != SQL_DIALECT_PGSQL || p - lx->tmpl < 1 ||
	    (p[-1] != 'E' && p[-1] != 'e'))
		return false;
	return p - lx->tmpl < 2 || !is_ident_char(p[-2]);
}

static int lex_one(struct lexer *lx)
{
	const char *p = lx->p;
	bool sqlite = lx->dialect == SQL_DIALECT_SQLITE;

	switch (*p) {
	case '%':
		if (p[1] == '%') {
			buffer_append(&lx->out, "%", 1);
			lx->p += 2;
			return 0;
		}
		if (p[1] == '{')
			return variable(lx);
		return fail(lx, p, "lone '%%' (write %%%% for a literal '%%', "
			    "%%{name} for a variable)");
	case '\'':
		return quoted(lx, '\'', true, pgsql_escape_string(lx, p),
			      "string literal");
	case '"':
		return quoted(lx, '"', true, false, "quoted identifier");
	case '-':
		if (p[1] == '-')
			return line_comment(lx);
		break;
	case '/':
		if (p[1] == '*')
			return block_comment(lx);
		break;
	case '$':
		if (!sqlite)
			return pgsql_dollar(lx);
		if (is_ident_char(p[1]))
			return raw_placeholder(lx);
		break;
	case '`':
		if (sqlite)
			return quoted(lx, '`', true, false, "quoted identifier");
		break;
	case '[':
		if (sqlite)
			return quoted(lx, ']', false, false, "quoted identifier");
		break;
	case '?':
		/* PostgreSQL's jsonb has '?' operators. */
		if (sqlite)
			return raw_placeholder(lx);
		break;
	case ':':
	case '@':
	case '#':
		/* SQLite's tokenizer takes any identifier character here,
		 * digits included: "@2" is a parameter too. */
		if (sqlite && is_ident_char(p[1]))
			return raw_placeholder(lx);
		break;
	default:
		break;
	}
	copy(lx, 1);
	return 0;
}

int sql_query_parse(pool_t *pool, const char *template_text,
		    enum sql_dialect dialect, struct sql_query *query_r,
		    struct error *err)
{
	struct lexer lx = {
		.tmpl = template_text, .p = template_text, .dialect = dialect,
		.query = query_r, .err = err,
	};

	memset(query_r, 0, sizeof(*query_r));
	buffer_init(&lx.out);
	while (*lx.p != '\0') {
		if (lex_one(&lx) < 0) {
			buffer_free(&lx.out);
			return -1;
		}
	}
	if (lx.out.len == 0) {
		buffer_free(&lx.out);
		error_set(err, ERROR_INVALID, "the query is empty");
		return -1;
	}
	query_r->sql = pool_strndup(pool, lx.out.data, lx.out.len);
	buffer_free(&lx.out);
	return 0;
}

void sql_query_values(pool_t *pool, const struct sql_query *query,
		      const char *user,
		      const char *values_r[SQL_QUERY_PARAMS_MAX])
{
	const char *at = strrchr(user, '@');
	for (unsigned i = 0; i < query->param_count; i++) {
		if (query->params[i] == SQL_VAR_USERNAME)
			values_r[i] = at == NULL ? user :
				pool_strndup(pool, user, (size_t)(at - user));
		else if (query->params[i] == SQL_VAR_DOMAIN)
			values_r[i] = at == NULL ? "" : at + 1;
		else
			values_r[i] = user;
	}
}
