/* The config file parser and typed setting tables; see config-parser.h. */
#include "config.h"
#include "config-parser.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* A real config is a few KiB. Anything near a megabyte is a wrong path (a
 * log file, a binary) and the whole file is read into memory at once. */
#define CONFIG_MAX_FILE_SIZE (1024 * 1024)
/* Generous for long paths and TLS priority strings. Tokens never span lines,
 * so this also bounds every key, section name and value. */
#define CONFIG_MAX_LINE_LENGTH 8192
/* Roost itself nests two levels (service > listener); the parser recurses
 * once per level, so a runaway file must not exhaust the stack. */
#define CONFIG_MAX_SECTION_DEPTH 16
/* conf.d-style layouts need two or three levels. Loops are caught by file
 * identity; this stops endless chains of distinct files. */
#define CONFIG_MAX_INCLUDE_DEPTH 8
/* How much of a hostile token or value is quoted in an error message, so
 * "FILE:LINE: " and the rest of the sentence still fit in one. */
#define CONFIG_MESSAGE_TOKEN_MAX 96
/* Reading in chunks: files without a trustworthy st_size still work. */
#define CONFIG_READ_CHUNK 8192

enum token_type {
	TOKEN_EOF,
	TOKEN_NEWLINE,
	TOKEN_WORD,
	TOKEN_STRING,
	TOKEN_EQUALS,
	TOKEN_OPEN,
	TOKEN_CLOSE,
};

/* `=` ends a key ("port=995"), but a value may contain one ("a=b"). */
enum lex_mode {
	LEX_KEY,
	LEX_VALUE,
};

struct token {
	enum token_type type;
	const char *text;   /* WORD and STRING: pool copy */
	unsigned line;
};

struct config_lexer {
	const char *path;       /* as opened, for messages and includes */
	bool path_is_file;      /* false for config_parse_string() text */
	const char *data;
	size_t len;
	size_t pos;
	unsigned line;
	/* Line and key of the last value read, so that a stray second word
	 * on the same line can be explained. 0: none since the last brace. */
	unsigned last_value_line;
	const char *last_value_key;
};

struct file_identity {
	dev_t dev;
	ino_t ino;
};

struct config_parser {
	pool_t *pool;
	struct error *err;
	/* Files currently being read, outermost first, for loop detection. */
	struct file_identity open_files[CONFIG_MAX_INCLUDE_DEPTH + 1];
	unsigned open_files_count;
	unsigned include_depth;
};

/* A section under construction: arrays grow by doubling in the pool. */
struct section_builder {
	struct config_section sec;
	unsigned settings_cap;
	unsigned sections_cap;
};

static int parse_block(struct config_parser *p, struct config_lexer *lx,
		       struct section_builder *b, unsigned depth,
		       bool in_section);

/* Escapes untrusted text for an error message, cut short when long. */
static const char *message_text(char *out, size_t outsize, const char *s)
{
	size_t len = strlen(s);
	if (len > CONFIG_MESSAGE_TOKEN_MAX)
		len = CONFIG_MESSAGE_TOKEN_MAX;
	return log_escape(out, outsize, s, len);
}

#define MESSAGE_TEXT_SIZE (CONFIG_MESSAGE_TOKEN_MAX * 4 + 1)

static void parse_error(struct config_parser *p, const char *path,
			unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void parse_error(struct config_parser *p, const char *path,
			unsigned line, const char *fmt, ...)
{
	char what[ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	error_set(p->err, ERROR_INVALID, "%s:%u: %s", path, line, what);
}

static void section_add_setting(pool_t *pool, struct section_builder *b,
				const char *key, const char *value,
				const char *file, unsigned line)
{
	struct config_section *sec = &b->sec;
	if (sec->settings_count == b->settings_cap) {
		unsigned cap = b->settings_cap == 0 ? 8 : b->settings_cap * 2;
		struct config_setting *grown =
			pool_alloc(pool, cap * sizeof(*grown));
		if (sec->settings_count > 0)
			memcpy(grown, sec->settings,
			       sec->settings_count * sizeof(*grown));
		sec->settings = grown;
		b->settings_cap = cap;
	}
	struct config_setting *s = &sec->settings[sec->settings_count++];
	s->key = key;
	s->value = value;
	s->file = file;
	s->line = line;
}

static void section_add_child(pool_t *pool, struct section_builder *b,
			      const struct config_section *child)
{
	struct config_section *sec = &b->sec;
	if (sec->sections_count == b->sections_cap) {
		unsigned cap = b->sections_cap == 0 ? 4 : b->sections_cap * 2;
		struct config_section *grown =
			pool_alloc(pool, cap * sizeof(*grown));
		if (sec->sections_count > 0)
			memcpy(grown, sec->sections,
			       sec->sections_count * sizeof(*grown));
		sec->sections = grown;
		b->sections_cap = cap;
	}
	sec->sections[sec->sections_count++] = *child;
}

/* Refuses control bytes (they hide text in terminals and logs) and
 * over-long lines before any parsing, so the lexer can trust its input. */
static int check_file_bytes(struct config_parser *p, const char *path,
			    const char *data, size_t len)
{
	unsigned line = 1;
	size_t line_start = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == '\n') {
			line++;
			line_start = i + 1;
			continue;
		}
		if (i - line_start >= CONFIG_MAX_LINE_LENGTH) {
			parse_error(p, path, line,
				    "line too long (limit %d bytes)",
				    CONFIG_MAX_LINE_LENGTH);
			return -1;
		}
		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
			parse_error(p, path, line,
				    "control character 0x%02x in file", c);
			return -1;
		}
	}
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* A value word may hold "%{var}": a '{' inside it is text, and so is the
 * '}' closing it, while an unmatched '}' ends the word ("port = 995}"). */
static size_t word_length(const char *data, size_t len, enum lex_mode mode)
{
	unsigned braces = 0;
	size_t i = 0;
	for (; i < len; i++) {
		char c = data[i];
		if (is_blank(c) || c == '\n' || c == '"' || c == '#')
			break;
		if (mode == LEX_KEY) {
			if (c == '=' || c == '{' || c == '}')
				break;
		} else if (c == '{') {
			braces++;
		} else if (c == '}') {
			if (braces == 0)
				break;
			braces--;
		}
	}
	return i;
}

static int lex_quoted(struct config_parser *p, struct config_lexer *lx,
		      struct token *tok)
{
	struct buffer text;
	buffer_init(&text);
	lx->pos++;   /* the opening quote */
	for (;;) {
		if (lx->pos >= lx->len || lx->data[lx->pos] == '\n') {
			buffer_free(&text);
			parse_error(p, lx->path, tok->line,
				    "unterminated quoted string (strings end on the line they start)");
			return -1;
		}
		char c = lx->data[lx->pos++];
		if (c == '"')
			break;
		if (c == '\\') {
			char e = lx->pos < lx->len ? lx->data[lx->pos] : '\0';
			switch (e) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			default:
				buffer_free(&text);
				if (e == '\0' || e == '\n')
					parse_error(p, lx->path, tok->line,
						    "unterminated quoted string (backslash at end of line)");
				else
					parse_error(p, lx->path, tok->line,
						    "unknown escape '\\%c' in quoted string (known: \\\" \\\\ \\n \\t)",
						    (unsigned char)e >= 0x20 &&
						    (unsigned char)e < 0x7f ? e : '?');
				return -1;
			}
			lx->pos++;
		}
		buffer_append(&text, &c, 1);
	}
	tok->type = TOKEN_STRING;
	tok->text = pool_strndup(p->pool, text.data == NULL ? "" : text.data,
				 text.len);
	buffer_free(&text);
	return 0;
}

/* Reads the next token. Newlines are skipped when skip_newlines is set and
 * are a token otherwise: a value must be on the line of its key. */
static int lex(struct config_parser *p, struct config_lexer *lx,
	       enum lex_mode mode, bool skip_newlines, struct token *tok)
{
	for (;;) {
		while (lx->pos < lx->len && is_blank(lx->data[lx->pos]))
			lx->pos++;
		if (lx->pos < lx->len && lx->data[lx->pos] == '#') {
			while (lx->pos < lx->len && lx->data[lx->pos] != '\n')
				lx->pos++;
		}
		if (lx->pos < lx->len && lx->data[lx->pos] == '\n') {
			tok->line = lx->line;
			lx->pos++;
			lx->line++;
			if (skip_newlines)
				continue;
			tok->type = TOKEN_NEWLINE;
			tok->text = NULL;
			return 0;
		}
		break;
	}
	tok->line = lx->line;
	tok->text = NULL;
	if (lx->pos >= lx->len) {
		tok->type = TOKEN_EOF;
		return 0;
	}
	char c = lx->data[lx->pos];
	switch (c) {
	case '{':
		lx->pos++;
		tok->type = TOKEN_OPEN;
		return 0;
	case '}':
		lx->pos++;
		tok->type = TOKEN_CLOSE;
		return 0;
	case '"':
		return lex_quoted(p, lx, tok);
	case '=':
		if (mode == LEX_KEY) {
			lx->pos++;
			tok->type = TOKEN_EQUALS;
			return 0;
		}
		break;
	default:
		break;
	}
	size_t start = lx->pos;
	size_t n = word_length(lx->data + start, lx->len - start, mode);
	/* Every character that can end a word at its start was handled
	 * above, except '=' in LEX_VALUE mode, which word_length() accepts. */
	lx->pos += n == 0 ? 1 : n;
	tok->type = TOKEN_WORD;
	tok->text = pool_strndup(p->pool, lx->data + start, lx->pos - start);
	return 0;
}

/* True when only blanks and a comment remain on the current line. */
static bool at_end_of_line(struct config_lexer *lx)
{
	size_t pos = lx->pos;
	while (pos < lx->len && is_blank(lx->data[pos]))
		pos++;
	return pos >= lx->len || lx->data[pos] == '\n' || lx->data[pos] == '#';
}

static const char *token_description(const struct token *tok, char *buf,
				     size_t bufsize)
{
	char text[MESSAGE_TEXT_SIZE];
	switch (tok->type) {
	case TOKEN_EOF: return "end of file";
	case TOKEN_NEWLINE: return "end of line";
	case TOKEN_EQUALS: return "'='";
	case TOKEN_OPEN: return "'{'";
	case TOKEN_CLOSE: return "'}'";
	case TOKEN_WORD:
		snprintf(buf, bufsize, "'%s'",
			 message_text(text, sizeof(text), tok->text));
		return buf;
	case TOKEN_STRING:
		snprintf(buf, bufsize, "\"%s\"",
			 message_text(text, sizeof(text), tok->text));
		return buf;
	}
	return "?";
}

/* Reads a whole regular file into the pool. On failure err carries a bare
 * description ("cannot open: ...") and a kind; callers add the context. */
static char *read_whole_file(pool_t *pool, const char *path, size_t *len_r,
			     struct file_identity *id_r, struct error *err)
{
	/* O_NONBLOCK: opening a FIFO must not hang the server. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		error_set_errno(err, "cannot open");
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		error_set_errno(err, "cannot stat");
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		error_set(err, ERROR_INVALID, "not a regular file");
		close(fd);
		return NULL;
	}
	struct buffer content;
	buffer_init(&content);
	for (;;) {
		char chunk[CONFIG_READ_CHUNK];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_set_errno(err, "cannot read");
			err->kind = ERROR_TEMP;
			buffer_free(&content);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		if (content.len + (size_t)n > CONFIG_MAX_FILE_SIZE) {
			error_set(err, ERROR_INVALID,
				  "file too large (limit %d bytes)",
				  CONFIG_MAX_FILE_SIZE);
			buffer_free(&content);
			close(fd);
			return NULL;
		}
		buffer_append(&content, chunk, (size_t)n);
	}
	close(fd);
	char *data = pool_strndup(pool, content.data == NULL ? "" : content.data,
				  content.len);
	*len_r = content.len;
	id_r->dev = st.st_dev;
	id_r->ino = st.st_ino;
	buffer_free(&content);
	return data;
}

static void lexer_init(struct config_lexer *lx, const char *path,
		       bool path_is_file, const char *data, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->path = path;
	lx->path_is_file = path_is_file;
	lx->data = data;
	lx->len = len;
	lx->line = 1;
}

/* An include is relative to the directory of the file naming it; text
 * given as a string has no directory, so the current one is used. */
static const char *include_path(pool_t *pool, const struct config_lexer *lx,
				const char *target)
{
	if (target[0] == '/' || !lx->path_is_file)
		return target;
	const char *slash = strrchr(lx->path, '/');
	if (slash == NULL)
		return target;
	return pool_printf(pool, "%.*s/%s", (int)(slash - lx->path), lx->path,
			   target);
}

static int parse_include(struct config_parser *p, struct config_lexer *lx,
			 struct section_builder *b, unsigned depth,
			 unsigned line)
{
	char desc[MESSAGE_TEXT_SIZE + 8];
	struct token arg;
	if (lex(p, lx, LEX_VALUE, false, &arg) < 0)
		return -1;
	if (arg.type != TOKEN_WORD && arg.type != TOKEN_STRING) {
		parse_error(p, lx->path, line, "!include needs a path, got %s",
			    token_description(&arg, desc, sizeof(desc)));
		return -1;
	}
	if (arg.text[0] == '\0') {
		parse_error(p, lx->path, line, "!include path is empty");
		return -1;
	}
	if (!at_end_of_line(lx)) {
		parse_error(p, lx->path, line,
			    "unexpected text after the !include path (quote paths containing spaces)");
		return -1;
	}
	if (p->include_depth >= CONFIG_MAX_INCLUDE_DEPTH) {
		parse_error(p, lx->path, line,
			    "includes nested too deeply (limit %d)",
			    CONFIG_MAX_INCLUDE_DEPTH);
		return -1;
	}

	const char *path = include_path(p->pool, lx, arg.text);
	char shown[MESSAGE_TEXT_SIZE];
	message_text(shown, sizeof(shown), path);
	size_t len;
	struct file_identity id;
	struct error read_err;
	error_clear(&read_err);
	char *data = read_whole_file(p->pool, path, &len, &id, &read_err);
	if (data == NULL) {
		parse_error(p, lx->path, line, "include file '%s': %s", shown,
			    read_err.message);
		return -1;
	}
	for (unsigned i = 0; i < p->open_files_count; i++) {
		if (p->open_files[i].dev == id.dev &&
		    p->open_files[i].ino == id.ino) {
			parse_error(p, lx->path, line,
				    "include loop: '%s' is already being read",
				    shown);
			return -1;
		}
	}
	if (check_file_bytes(p, path, data, len) < 0)
		return -1;

	struct config_lexer included;
	lexer_init(&included, path, true, data, len);
	p->open_files[p->open_files_count++] = id;
	p->include_depth++;
	int ret = parse_block(p, &included, b, depth, false);
	p->include_depth--;
	p->open_files_count--;
	return ret;
}

static int parse_section(struct config_parser *p, struct config_lexer *lx,
			 struct section_builder *parent, unsigned depth,
			 const struct token *type, const char *name)
{
	char text[MESSAGE_TEXT_SIZE];
	if (depth + 1 > CONFIG_MAX_SECTION_DEPTH) {
		parse_error(p, lx->path, type->line,
			    "sections nested too deeply at '%s' (limit %d)",
			    message_text(text, sizeof(text), type->text),
			    CONFIG_MAX_SECTION_DEPTH);
		return -1;
	}
	struct section_builder child;
	memset(&child, 0, sizeof(child));
	child.sec.type = type->text;
	child.sec.name = name;
	child.sec.file = lx->path;
	child.sec.line = type->line;
	lx->last_value_line = 0;
	if (parse_block(p, lx, &child, depth + 1, true) < 0)
		return -1;
	lx->last_value_line = 0;
	section_add_child(p->pool, parent, &child.sec);
	return 0;
}

static void stray_word_error(struct config_parser *p,
			     const struct config_lexer *lx,
			     const struct token *tok)
{
	char desc[MESSAGE_TEXT_SIZE + 8];
	char key[MESSAGE_TEXT_SIZE];
	parse_error(p, lx->path, tok->line,
		    "unexpected %s after the value of '%s' (quote values containing spaces: %s = \"...\")",
		    token_description(tok, desc, sizeof(desc)),
		    message_text(key, sizeof(key), lx->last_value_key),
		    key);
}

static int parse_setting(struct config_parser *p, struct config_lexer *lx,
			 struct section_builder *b, const struct token *key)
{
	char desc[MESSAGE_TEXT_SIZE + 8];
	char text[MESSAGE_TEXT_SIZE];
	struct token value;
	if (lex(p, lx, LEX_VALUE, false, &value) < 0)
		return -1;
	if (value.type != TOKEN_WORD && value.type != TOKEN_STRING) {
		parse_error(p, lx->path, key->line,
			    "missing value for '%s' before %s (use \"\" for an empty value)",
			    message_text(text, sizeof(text), key->text),
			    token_description(&value, desc, sizeof(desc)));
		return -1;
	}
	/* A list written with ", " ("listen = 127.0.0.1, ::1") continues
	 * with the next word on the same line: admins write lists that way
	 * and the words after a comma cannot start a new setting. */
	const char *text_value = value.text;
	while (value.type == TOKEN_WORD && text_value[strlen(text_value) - 1] == ',') {
		struct config_lexer saved = *lx;
		struct token next;
		if (lex(p, lx, LEX_VALUE, false, &next) < 0)
			return -1;
		if (next.type != TOKEN_WORD || next.line != value.line) {
			*lx = saved;
			break;
		}
		text_value = pool_printf(p->pool, "%s %s", text_value, next.text);
		value = next;
	}
	section_add_setting(p->pool, b, key->text, text_value, lx->path,
			    key->line);
	lx->last_value_line = value.line;
	lx->last_value_key = key->text;
	return 0;
}

/* Parses statements into b until the matching '}' (in_section) or the end
 * of the file. */
static int parse_block(struct config_parser *p, struct config_lexer *lx,
		       struct section_builder *b, unsigned depth,
		       bool in_section)
{
	char desc[MESSAGE_TEXT_SIZE + 8];
	char text[MESSAGE_TEXT_SIZE];
	for (;;) {
		struct token first;
		if (lex(p, lx, LEX_KEY, true, &first) < 0)
			return -1;
		bool after_value = lx->last_value_line != 0 &&
			first.line == lx->last_value_line;
		switch (first.type) {
		case TOKEN_EOF:
			if (in_section) {
				parse_error(p, lx->path, first.line,
					    "missing '}' for section '%s' opened at line %u",
					    message_text(text, sizeof(text), b->sec.type),
					    b->sec.line);
				return -1;
			}
			return 0;
		case TOKEN_CLOSE:
			if (!in_section) {
				parse_error(p, lx->path, first.line,
					    "unexpected '}' without an open section");
				return -1;
			}
			return 0;
		case TOKEN_WORD:
			break;
		case TOKEN_STRING:
			if (after_value) {
				stray_word_error(p, lx, &first);
				return -1;
			}
			/* fall through */
		case TOKEN_NEWLINE:
		case TOKEN_EQUALS:
		case TOKEN_OPEN:
			parse_error(p, lx->path, first.line,
				    "expected a setting or section, got %s",
				    token_description(&first, desc, sizeof(desc)));
			return -1;
		}

		if (first.text[0] == '!') {
			if (after_value) {
				stray_word_error(p, lx, &first);
				return -1;
			}
			if (strcmp(first.text, "!include") != 0) {
				parse_error(p, lx->path, first.line,
					    "unknown directive '%s' (known: !include)",
					    message_text(text, sizeof(text), first.text));
				return -1;
			}
			if (parse_include(p, lx, b, depth, first.line) < 0)
				return -1;
			continue;
		}

		struct token second;
		if (lex(p, lx, LEX_KEY, true, &second) < 0)
			return -1;
		if (second.type == TOKEN_EQUALS) {
			if (parse_setting(p, lx, b, &first) < 0)
				return -1;
			continue;
		}
		/* After a value on the same line, only a section opened on
		 * that line is accepted ("a = 1  sub { ... }"); any other
		 * word is most likely the rest of an unquoted value. */
		bool same_line = !after_value || second.line == first.line;
		if (second.type == TOKEN_OPEN && same_line) {
			if (parse_section(p, lx, b, depth, &first, NULL) < 0)
				return -1;
			continue;
		}
		if ((second.type == TOKEN_WORD || second.type == TOKEN_STRING) &&
		    same_line) {
			struct token third;
			if (lex(p, lx, LEX_KEY, true, &third) < 0)
				return -1;
			if (third.type == TOKEN_OPEN &&
			    (!after_value || third.line == first.line)) {
				if (parse_section(p, lx, b, depth, &first,
						  second.text) < 0)
					return -1;
				continue;
			}
		}
		if (after_value) {
			stray_word_error(p, lx, &first);
			return -1;
		}
		message_text(text, sizeof(text), first.text);
		parse_error(p, lx->path, first.line,
			    "expected '%s = VALUE' or '%s [NAME] { ... }'", text,
			    text);
		return -1;
	}
}

static struct config_section *parse_root(struct config_parser *p,
					 const char *path, bool path_is_file,
					 const char *data, size_t len)
{
	if (check_file_bytes(p, path, data, len) < 0)
		return NULL;
	struct config_lexer lx;
	lexer_init(&lx, path, path_is_file, data, len);
	struct section_builder root;
	memset(&root, 0, sizeof(root));
	root.sec.type = "";
	root.sec.name = NULL;
	root.sec.file = path;
	root.sec.line = 0;
	if (parse_block(p, &lx, &root, 0, false) < 0)
		return NULL;
	return pool_memdup(p->pool, &root.sec, sizeof(root.sec));
}

struct config_section *config_parse_file(pool_t *pool, const char *path,
					 struct error *err)
{
	struct config_parser p;
	memset(&p, 0, sizeof(p));
	p.pool = pool;
	p.err = err;
	path = pool_strdup(pool, path);

	size_t len;
	struct file_identity id;
	struct error read_err;
	error_clear(&read_err);
	char *data = read_whole_file(pool, path, &len, &id, &read_err);
	if (data == NULL) {
		char shown[MESSAGE_TEXT_SIZE];
		error_set(err, read_err.kind, "%s: %s",
			  message_text(shown, sizeof(shown), path),
			  read_err.message);
		return NULL;
	}
	p.open_files[p.open_files_count++] = id;
	return parse_root(&p, path, true, data, len);
}

struct config_section *config_parse_string(pool_t *pool, const char *name,
					   const char *text,
					   struct error *err)
{
	struct config_parser p;
	memset(&p, 0, sizeof(p));
	p.pool = pool;
	p.err = err;
	size_t len = strlen(text);
	name = pool_strdup(pool, name);
	if (len > CONFIG_MAX_FILE_SIZE) {
		error_set(err, ERROR_INVALID, "%s: text too large (limit %d bytes)",
			  name, CONFIG_MAX_FILE_SIZE);
		return NULL;
	}
	return parse_root(&p, name, false, text, len);
}

/* ---- typed values ---- */

static void value_error(struct error *err, const struct config_setting_def *def,
			const char *value, const char *expected)
{
	char shown[MESSAGE_TEXT_SIZE];
	error_set(err, ERROR_INVALID, "invalid value '%s' for '%s' (expected %s)",
		  message_text(shown, sizeof(shown), value), def->key, expected);
}

/* Decimal digits only: a sign or hex prefix in a config is a mistake. */
static int parse_decimal(const char *value, size_t *consumed_r,
			 uint64_t limit, uint64_t *out, bool *overflow_r)
{
	uint64_t n = 0;
	size_t i = 0;
	*overflow_r = false;
	while (value[i] >= '0' && value[i] <= '9') {
		unsigned digit = (unsigned)(value[i] - '0');
		if (n > (limit - digit) / 10)
			*overflow_r = true;
		else
			n = n * 10 + digit;
		i++;
	}
	*consumed_r = i;
	*out = n;
	return i == 0 ? -1 : 0;
}

static int parse_uint_value(const struct config_setting_def *def,
			    const char *value, uint64_t limit, uint64_t *out,
			    const char *expected, struct error *err)
{
	size_t used;
	bool overflow;
	if (parse_decimal(value, &used, limit, out, &overflow) < 0 ||
	    value[used] != '\0') {
		value_error(err, def, value, expected);
		return -1;
	}
	if (overflow) {
		char shown[MESSAGE_TEXT_SIZE];
		error_set(err, ERROR_INVALID,
			  "value '%s' for '%s' is too large (maximum %llu)",
			  message_text(shown, sizeof(shown), value), def->key,
			  (unsigned long long)limit);
		return -1;
	}
	return 0;
}

static int parse_duration_value(const struct config_setting_def *def,
				const char *value, unsigned *out,
				struct error *err)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {
		{ "ms", 1 },
		{ "s", 1000 },
		{ "", 1000 },   /* a bare number is seconds */
		{ "m", 60 * 1000 },
		{ "h", 60 * 60 * 1000 },
		{ "d", 24 * 60 * 60 * 1000 },
	};
	const char *expected = "a duration like 500ms, 10s, 3m, 1h or 2d";
	size_t used;
	bool overflow;
	uint64_t n;
	if (parse_decimal(value, &used, UINT_MAX, &n, &overflow) < 0) {
		value_error(err, def, value, expected);
		return -1;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(value + used, units[i].suffix) != 0)
			continue;
		if (overflow || n * units[i].ms > UINT_MAX) {
			char shown[MESSAGE_TEXT_SIZE];
			error_set(err, ERROR_INVALID,
				  "value '%s' for '%s' is too large (maximum %ums, about 49 days)",
				  message_text(shown, sizeof(shown), value),
				  def->key, UINT_MAX);
			return -1;
		}
		*out = (unsigned)(n * units[i].ms);
		return 0;
	}
	value_error(err, def, value, expected);
	return -1;
}

static int parse_enum_value(const struct config_setting_def *def,
			    const char *value, unsigned *out,
			    struct error *err)
{
	const char *values = def->enum_values == NULL ? "" : def->enum_values;
	size_t value_len = strlen(value);
	unsigned index = 0;
	const char *p = values;
	for (;;) {
		const char *end = strchr(p, '|');
		size_t len = end == NULL ? strlen(p) : (size_t)(end - p);
		if (len == value_len && memcmp(p, value, len) == 0) {
			*out = index;
			return 0;
		}
		if (end == NULL)
			break;
		p = end + 1;
		index++;
	}
	value_error(err, def, value, values);
	return -1;
}

int config_parse_value(const struct config_setting_def *def, const char *value,
		       void *out, pool_t *pool, struct error *err)
{
	uint64_t n;
	switch (def->type) {
	case CONFIG_TYPE_STRING:
		*(const char **)out = pool_strdup(pool, value);
		return 0;
	case CONFIG_TYPE_BOOL:
		if (strcasecmp(value, "yes") == 0 ||
		    strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0) {
			*(bool *)out = true;
			return 0;
		}
		if (strcasecmp(value, "no") == 0 ||
		    strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0) {
			*(bool *)out = false;
			return 0;
		}
		value_error(err, def, value, "yes or no");
		return -1;
	case CONFIG_TYPE_UINT:
		if (parse_uint_value(def, value, UINT_MAX, &n,
				     "a decimal number", err) < 0)
			return -1;
		*(unsigned *)out = (unsigned)n;
		return 0;
	case CONFIG_TYPE_DURATION:
		return parse_duration_value(def, value, out, err);
	case CONFIG_TYPE_ENUM:
		return parse_enum_value(def, value, out, err);
	case CONFIG_TYPE_PORT:
		if (parse_uint_value(def, value, 65535, &n,
				     "a port number 1..65535", err) < 0)
			return -1;
		if (n == 0) {
			value_error(err, def, value, "a port number 1..65535");
			return -1;
		}
		*(unsigned *)out = (unsigned)n;
		return 0;
	}
	error_set(err, ERROR_INVALID, "setting '%s' has an unknown type",
		  def->key);
	return -1;
}

static void *field_of(void *target, const struct config_setting_def *def)
{
	return (char *)target + def->offset;
}

static void clear_field(void *field, enum config_type type)
{
	switch (type) {
	case CONFIG_TYPE_STRING:
		*(const char **)field = NULL;
		break;
	case CONFIG_TYPE_BOOL:
		*(bool *)field = false;
		break;
	case CONFIG_TYPE_UINT:
	case CONFIG_TYPE_DURATION:
	case CONFIG_TYPE_ENUM:
	case CONFIG_TYPE_PORT:
		*(unsigned *)field = 0;
		break;
	}
}

void config_apply_defaults(const struct config_setting_def *defs, void *target,
			   pool_t *pool)
{
	for (const struct config_setting_def *def = defs; def->key != NULL;
	     def++) {
		void *field = field_of(target, def);
		clear_field(field, def->type);
		if (def->default_value == NULL)
			continue;
		struct error err;
		error_clear(&err);
		/* A default that does not parse is a bug in the table; the
		 * unit tests parse every table, so leave the field zero. */
		if (config_parse_value(def, def->default_value, field, pool,
				       &err) < 0)
			clear_field(field, def->type);
	}
}

static const struct config_setting_def *
find_def(const struct config_setting_def *defs, const char *key)
{
	for (const struct config_setting_def *def = defs; def->key != NULL;
	     def++) {
		if (strcmp(def->key, key) == 0)
			return def;
	}
	return NULL;
}

int config_apply(const struct config_setting_def *defs,
		 const struct config_section *sec, void *target, pool_t *pool,
		 struct error *err)
{
	char key[MESSAGE_TEXT_SIZE];
	char type[MESSAGE_TEXT_SIZE];
	config_apply_defaults(defs, target, pool);
	/* In file order, so the last of duplicate keys wins. */
	for (unsigned i = 0; i < sec->settings_count; i++) {
		const struct config_setting *s = &sec->settings[i];
		const struct config_setting_def *def = find_def(defs, s->key);
		if (def == NULL) {
			message_text(key, sizeof(key), s->key);
			if (sec->type[0] == '\0')
				error_set(err, ERROR_INVALID,
					  "%s:%u: unknown setting '%s'",
					  s->file, s->line, key);
			else
				error_set(err, ERROR_INVALID,
					  "%s:%u: unknown setting '%s' in section '%s'",
					  s->file, s->line, key,
					  message_text(type, sizeof(type), sec->type));
			return -1;
		}
		struct error value_err;
		error_clear(&value_err);
		if (config_parse_value(def, s->value, field_of(target, def),
				       pool, &value_err) < 0) {
			error_set(err, ERROR_INVALID, "%s:%u: %s", s->file,
				  s->line, value_err.message);
			return -1;
		}
	}
	return 0;
}

const struct config_setting *config_find(const struct config_section *sec,
					 const char *key)
{
	for (unsigned i = sec->settings_count; i > 0; i--) {
		if (strcmp(sec->settings[i - 1].key, key) == 0)
			return &sec->settings[i - 1];
	}
	return NULL;
}

/* ---- writing config text ---- */

/* True when the lexer would not read value back as one word unchanged. */
static bool needs_quotes(const char *value, enum lex_mode mode)
{
	size_t len = strlen(value);
	if (len == 0 || value[0] == '{' || value[0] == '}' ||
	    (mode == LEX_KEY && value[0] == '!'))
		return true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			return true;
	}
	return word_length(value, len, mode) != len;
}

static void write_quoted_if_needed(struct buffer *out, const char *value,
				   enum lex_mode mode)
{
	if (!needs_quotes(value, mode)) {
		buffer_append_str(out, value);
		return;
	}
	buffer_append(out, "\"", 1);
	for (const char *p = value; *p != '\0'; p++) {
		switch (*p) {
		case '"': buffer_append_str(out, "\\\""); break;
		case '\\': buffer_append_str(out, "\\\\"); break;
		case '\n': buffer_append_str(out, "\\n"); break;
		case '\t': buffer_append_str(out, "\\t"); break;
		default: buffer_append(out, p, 1); break;
		}
	}
	buffer_append(out, "\"", 1);
}

void config_write_value(struct buffer *out, const char *value)
{
	write_quoted_if_needed(out, value, LEX_VALUE);
}

void config_write_name(struct buffer *out, const char *name)
{
	write_quoted_if_needed(out, name, LEX_KEY);
}

static void write_indent(struct buffer *out, unsigned indent)
{
	for (unsigned i = 0; i < indent; i++)
		buffer_append_str(out, "  ");
}

void config_write_setting(struct buffer *out, const char *key,
			  const char *value, unsigned indent)
{
	write_indent(out, indent);
	buffer_append_str(out, key);
	buffer_append_str(out, " = ");
	config_write_value(out, value);
	buffer_append(out, "\n", 1);
}

union typed_value {
	const char *string;
	bool boolean;
	unsigned number;
};

static bool value_is_default(const struct config_setting_def *def,
			     const char *value)
{
	if (def->type == CONFIG_TYPE_STRING)
		return def->default_value != NULL &&
			strcmp(def->default_value, value) == 0;

	union typed_value parsed, dflt;
	memset(&parsed, 0, sizeof(parsed));
	memset(&dflt, 0, sizeof(dflt));
	struct error err;
	error_clear(&err);
	/* Non-string types never touch the pool. */
	if (config_parse_value(def, value, &parsed, NULL, &err) < 0)
		return false;
	if (def->default_value != NULL &&
	    config_parse_value(def, def->default_value, &dflt, NULL, &err) < 0)
		return false;
	if (def->type == CONFIG_TYPE_BOOL)
		return parsed.boolean == dflt.boolean;
	return parsed.number == dflt.number;
}

void config_write_nondefault(struct buffer *out,
			     const struct config_setting_def *defs,
			     const struct config_section *sec, unsigned indent)
{
	for (const struct config_setting_def *def = defs; def->key != NULL;
	     def++) {
		const struct config_setting *s = config_find(sec, def->key);
		if (s == NULL || value_is_default(def, s->value))
			continue;
		config_write_setting(out, def->key, s->value, indent);
	}
}

void config_write_section(struct buffer *out, const struct config_section *sec,
			  unsigned indent)
{
	bool is_root = sec->type[0] == '\0';
	unsigned inner = indent;
	if (!is_root) {
		write_indent(out, indent);
		buffer_append_str(out, sec->type);
		if (sec->name != NULL) {
			buffer_append(out, " ", 1);
			config_write_name(out, sec->name);
		}
		buffer_append_str(out, " {\n");
		inner = indent + 1;
	}
	for (unsigned i = 0; i < sec->settings_count; i++)
		config_write_setting(out, sec->settings[i].key,
				     sec->settings[i].value, inner);
	for (unsigned i = 0; i < sec->sections_count; i++)
		config_write_section(out, &sec->sections[i], inner);
	if (!is_root) {
		write_indent(out, indent);
		buffer_append_str(out, "}\n");
	}
}
