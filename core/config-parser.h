/*
 * The configuration file parser (DESIGN §5) and typed setting tables.
 *
 * Syntax: `key = value`, `type [name] { ... }` sections, `!include PATH`
 * (relative to the including file's directory), `#` comments. A value is
 * one word, or a double-quoted string with \" \\ \n \t escapes; several
 * settings may share a line (`port = 995  tls = yes`). Every syntax error,
 * unknown key, bad value or missing file is reported as "FILE:LINE: what".
 *
 * The parser builds a tree whose memory belongs to the pool passed in.
 * Typed settings are then read from a section with config_apply() and a
 * table of struct config_setting_def describing each key.
 */
#ifndef ROOST_CONFIG_PARSER_H
#define ROOST_CONFIG_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "buffer.h"
#include "error.h"
#include "pool.h"

struct config_setting {
	const char *key;
	const char *value;
	const char *file;
	unsigned line;
};

struct config_section {
	const char *type;      /* "" for the root of a file */
	const char *name;      /* NULL when the section has no name */
	const char *file;
	unsigned line;
	struct config_setting *settings;
	unsigned settings_count;
	struct config_section *sections;   /* child sections, in file order */
	unsigned sections_count;
};

/* Both return the root section (type ""), or NULL with err set to
 * ERROR_INVALID ("FILE:LINE: message") or ERROR_NOT_FOUND for a missing
 * top-level file. config_parse_string() names its text `name` in errors and
 * resolves !include relative to the current directory. */
struct config_section *config_parse_file(pool_t *pool, const char *path,
					 struct error *err);
struct config_section *config_parse_string(pool_t *pool, const char *name,
					   const char *text,
					   struct error *err);

enum config_type {
	CONFIG_TYPE_STRING,    /* const char *, NULL when unset */
	CONFIG_TYPE_BOOL,      /* bool: yes/no (also true/false, 1/0) */
	CONFIG_TYPE_UINT,      /* unsigned int, decimal, no sign */
	CONFIG_TYPE_DURATION,  /* unsigned int milliseconds: 500ms 10s 3m 1h; bare number = seconds */
	CONFIG_TYPE_ENUM,      /* unsigned int index into enum_values */
	CONFIG_TYPE_PORT,      /* unsigned int 1..65535 */
};

struct config_setting_def {
	const char *key;             /* NULL ends a table */
	enum config_type type;
	size_t offset;               /* where the typed value lives in the target struct */
	const char *default_value;   /* text, parsed like a file value; NULL = unset/0 */
	const char *enum_values;     /* CONFIG_TYPE_ENUM only: "no|yes|required" */
};

/* Sets every key of defs to its default in target. */
void config_apply_defaults(const struct config_setting_def *defs, void *target,
			   pool_t *pool);

/* Applies defaults, then every setting of sec. A key missing from defs or a
 * value that does not parse is an error naming FILE:LINE and the key.
 * Child sections of sec are ignored: the caller walks them. Strings are
 * copied into pool. */
int config_apply(const struct config_setting_def *defs,
		 const struct config_section *sec, void *target, pool_t *pool,
		 struct error *err);

/* Parses one value of the given type into *out (the same storage types as
 * above); used by config_apply() and by code that validates by hand. */
int config_parse_value(const struct config_setting_def *def, const char *value,
		       void *out, pool_t *pool, struct error *err);

/* Appends "key = value\n" (indented by indent levels of two spaces, values
 * quoted when needed) for each setting in sec whose parsed value differs
 * from its default in defs. */
void config_write_nondefault(struct buffer *out,
			     const struct config_setting_def *defs,
			     const struct config_section *sec, unsigned indent);

/* Appends value as one config word, or as a quoted string with escapes
 * when the parser would not read it back unchanged as a word. */
void config_write_value(struct buffer *out, const char *value);

/* Appends a section name the same way (names end at '=', '{' and '}'). */
void config_write_name(struct buffer *out, const char *name);

/* Appends "key = value\n" indented by indent levels of two spaces. */
void config_write_setting(struct buffer *out, const char *key,
			  const char *value, unsigned indent);

/* Appends sec with all its settings and child sections as config text
 * ("type [name] { ... }"); for a root section (type "") only its contents. */
void config_write_section(struct buffer *out, const struct config_section *sec,
			  unsigned indent);

/* Finds the last setting named key in sec, or NULL. */
const struct config_setting *config_find(const struct config_section *sec,
					 const char *key);

#endif
