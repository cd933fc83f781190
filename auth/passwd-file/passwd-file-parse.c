/* Dovecot passwd-file parser; see passwd-file-parse.h. */
#include "config.h"
#include "passwd-file-parse.h"
#include "auth-module.h"
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* user:password:uid:gid:gecos:home:shell; the rest are extra fields. */
#define PASSWD_FILE_POSITIONAL_FIELDS 7
#define FIELD_USER 0
#define FIELD_PASSWORD 1
#define FIELD_UID 2
#define FIELD_GID 3
#define FIELD_HOME 5
#define FIELD_EXTRA 7

#define USERDB_PREFIX "userdb_"
/* Keys are identifiers; anything else (a stray ':' field, a quote) is a
 * typo the admin wants to hear about rather than a silently odd key. */
#define EXTRA_KEY_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."
/* Room for an escaped user name or key in messages. */
#define PASSWD_FILE_ESCAPED_MAX 256

struct parse_ctx {
	pool_t *pool;
	struct passwd_file_table *table;
	unsigned line;
	struct error *err;
	/* Most files name the same account on every line ("vmail"): the
	 * last name resolved is remembered so NSS is asked once. */
	char *last_uid_name, *last_gid_name;
	uid_t last_uid;
	gid_t last_gid;
};

static int parse_fail(struct parse_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int parse_fail(struct parse_ctx *ctx, const char *fmt, ...)
{
	char message[ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	error_set(ctx->err, ERROR_INVALID, "%s:%u: %s", ctx->table->path,
		  ctx->line, message);
	return -1;
}

static const char *escaped(char *out, size_t out_size, const char *text)
{
	return log_escape(out, out_size, text, strlen(text));
}

/* FNV-1a: the index only answers lookups; the file's author is trusted,
 * and a client's name cannot add entries, so no keyed hash is needed. */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261U;
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619U;
	}
	return h;
}

/* The slot holding user, or the empty slot where it would go. */
static unsigned *index_slot(const struct passwd_file_table *table,
			    const char *user)
{
	unsigned mask = table->slot_count - 1;
	unsigned i = name_hash(user) & mask;

	/* The table is at most half full, so an empty slot exists. */
	while (table->slots[i] != 0 &&
	       strcmp(table->entries[table->slots[i] - 1].user, user) != 0)
		i = (i + 1) & mask;
	return &table->slots[i];
}

const struct passwd_file_entry *
passwd_file_lookup(const struct passwd_file_table *table, const char *user)
{
	if (table->slot_count == 0)
		return NULL;
	unsigned slot = *index_slot(table, user);
	return slot == 0 ? NULL : &table->entries[slot - 1];
}

static int parse_uid(struct parse_ctx *ctx, const char *text, uid_t *uid_r)
{
	struct error sub;

	if (ctx->last_uid_name != NULL && strcmp(ctx->last_uid_name, text) == 0) {
		*uid_r = ctx->last_uid;
		return 0;
	}
	if (auth_user_fields_parse_uid(text, uid_r, &sub) < 0) {
		parse_fail(ctx, "uid: %s", sub.message);
		ctx->err->kind = sub.kind;
		return -1;
	}
	ctx->last_uid_name = pool_strdup(ctx->pool, text);
	ctx->last_uid = *uid_r;
	return 0;
}

static int parse_gid(struct parse_ctx *ctx, const char *text, gid_t *gid_r)
{
	struct error sub;

	if (ctx->last_gid_name != NULL && strcmp(ctx->last_gid_name, text) == 0) {
		*gid_r = ctx->last_gid;
		return 0;
	}
	if (auth_user_fields_parse_gid(text, gid_r, &sub) < 0) {
		parse_fail(ctx, "gid: %s", sub.message);
		ctx->err->kind = sub.kind;
		return -1;
	}
	ctx->last_gid_name = pool_strdup(ctx->pool, text);
	ctx->last_gid = *gid_r;
	return 0;
}

static int add_extra(struct parse_ctx *ctx, struct passwd_file_entry *entry,
		     const char *key, const char *value)
{
	for (unsigned i = 0; i < entry->extra_count; i++) {
		if (strcmp(entry->extra_keys[i], key) == 0) {
			entry->extra_values[i] = value;
			return 0;
		}
	}
	/* More could not be handed on in struct auth_user_fields. */
	if (entry->extra_count >= AUTH_EXTRA_FIELDS_MAX)
		return parse_fail(ctx, "more than %u extra fields",
				  AUTH_EXTRA_FIELDS_MAX);
	entry->extra_keys[entry->extra_count] = key;
	entry->extra_values[entry->extra_count] = value;
	entry->extra_count++;
	return 0;
}

/* One "key=value" or "key" token of the extra fields. */
static int parse_extra_token(struct parse_ctx *ctx,
			     struct passwd_file_entry *entry, char *token)
{
	char esc[PASSWD_FILE_ESCAPED_MAX];
	char *key = token;
	char *value = strchr(token, '=');

	if (value != NULL)
		*value++ = '\0';
	else
		value = key + strlen(key);

	if (strncmp(key, USERDB_PREFIX, strlen(USERDB_PREFIX)) == 0)
		key += strlen(USERDB_PREFIX);
	size_t key_len = strlen(key);
	if (key_len == 0 || strspn(key, EXTRA_KEY_CHARS) != key_len)
		return parse_fail(ctx, "invalid extra field '%s'",
				  escaped(esc, sizeof(esc), token));

	if (strcmp(key, "uid") == 0) {
		if (parse_uid(ctx, value, &entry->uid) < 0)
			return -1;
		entry->uid_set = true;
	} else if (strcmp(key, "gid") == 0) {
		if (parse_gid(ctx, value, &entry->gid) < 0)
			return -1;
		entry->gid_set = true;
	} else if (strcmp(key, "home") == 0) {
		entry->home = value[0] != '\0' ? value : NULL;
	} else if (strcmp(key, "mail") == 0) {
		entry->mail = value;
	} else if (strcmp(key, "nologin") == 0) {
		entry->nologin = true;
	} else {
		return add_extra(ctx, entry, key, value);
	}
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int parse_extra_fields(struct parse_ctx *ctx,
			      struct passwd_file_entry *entry, char *text)
{
	unsigned tokens = 0;

	for (const char *p = text; *p != '\0'; p++) {
		if (!is_blank(*p) && (p == text || is_blank(p[-1])))
			tokens++;
	}
	if (tokens == 0)
		return 0;
	entry->extra_keys = pool_alloc(ctx->pool, sizeof(char *) * tokens);
	entry->extra_values = pool_alloc(ctx->pool, sizeof(char *) * tokens);

	char *p = text;
	for (;;) {
		while (is_blank(*p))
			p++;
		if (*p == '\0')
			return 0;
		char *token = p;
		while (*p != '\0' && !is_blank(*p))
			p++;
		bool last = *p == '\0';
		*p = '\0';
		if (parse_extra_token(ctx, entry, token) < 0)
			return -1;
		if (last)
			return 0;
		p++;
	}
}

/* Parses one line (NUL-terminated copy in ctx->pool) into an entry. */
static int parse_line(struct parse_ctx *ctx, char *line,
		      struct passwd_file_entry *entry)
{
	char esc[PASSWD_FILE_ESCAPED_MAX];
	char *fields[PASSWD_FILE_POSITIONAL_FIELDS + 1] = { NULL };
	unsigned count = 0;
	char *p = line;

	/* Split off the positional fields; the last one keeps its ':'s. */
	fields[count++] = p;
	while (count <= PASSWD_FILE_POSITIONAL_FIELDS &&
	       (p = strchr(p, ':')) != NULL) {
		*p++ = '\0';
		fields[count++] = p;
	}

	entry->line = ctx->line;
	entry->user = fields[FIELD_USER];
	if (entry->user[0] == '\0')
		return parse_fail(ctx, "empty user name");
	if (count < 2)
		return parse_fail(ctx, "user '%s' has no password field "
				  "(expected user:password[:uid:gid:...])",
				  escaped(esc, sizeof(esc), entry->user));
	entry->password = fields[FIELD_PASSWORD];

	if (count > FIELD_UID && fields[FIELD_UID][0] != '\0') {
		if (parse_uid(ctx, fields[FIELD_UID], &entry->uid) < 0)
			return -1;
		entry->uid_set = true;
	}
	if (count > FIELD_GID && fields[FIELD_GID][0] != '\0') {
		if (parse_gid(ctx, fields[FIELD_GID], &entry->gid) < 0)
			return -1;
		entry->gid_set = true;
	}
	if (count > FIELD_HOME && fields[FIELD_HOME][0] != '\0')
		entry->home = fields[FIELD_HOME];
	if (count > FIELD_EXTRA &&
	    parse_extra_fields(ctx, entry, fields[FIELD_EXTRA]) < 0)
		return -1;
	return 0;
}

/* Rejects NUL and other control bytes except tab: they are never
 * legitimate in names, hashes or paths, and they hide in log lines. */
static int check_bytes(struct parse_ctx *ctx, const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c == '\0')
			return parse_fail(ctx, "line contains a NUL byte");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return parse_fail(ctx, "line contains control byte "
					  "0x%02x", c);
	}
	return 0;
}

static bool is_skipped(const char *line, size_t len)
{
	size_t i = 0;
	while (i < len && is_blank(line[i]))
		i++;
	return i == len || line[i] == '#';
}

static int add_entry(struct parse_ctx *ctx, struct passwd_file_entry *entry)
{
	char esc[PASSWD_FILE_ESCAPED_MAX];
	struct passwd_file_table *table = ctx->table;
	unsigned *slot = index_slot(table, entry->user);

	if (*slot != 0)
		return parse_fail(ctx, "duplicate user '%s' (first on line %u)",
				  escaped(esc, sizeof(esc), entry->user),
				  table->entries[*slot - 1].line);
	/* Entries are filled in place at entries[count]. */
	*slot = ++table->count;
	return 0;
}

struct passwd_file_table *passwd_file_parse(pool_t *pool, const char *path,
					    const char *data, size_t size,
					    struct error *err)
{
	struct passwd_file_table *table = pool_alloc(pool, sizeof(*table));
	struct parse_ctx ctx = {
		.pool = pool, .table = table, .err = err,
	};

	table->path = pool_strdup(pool, path);
	if (size > PASSWD_FILE_SIZE_MAX) {
		error_set(err, ERROR_INVALID, "%s: larger than %u bytes", path,
			  PASSWD_FILE_SIZE_MAX);
		return NULL;
	}

	/* Every line may be an entry; the index is kept at most half full. */
	size_t max_lines = 1;
	for (const char *p = data, *end = data + size;
	     (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		max_lines++;
	table->entries = pool_alloc(pool, sizeof(*table->entries) * max_lines);
	table->slot_count = 8;
	while (table->slot_count < max_lines * 2)
		table->slot_count *= 2;
	table->slots = pool_alloc(pool, sizeof(*table->slots) *
				  table->slot_count);

	const char *p = data, *end = data + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *next = nl != NULL ? nl + 1 : end;

		ctx.line++;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len > PASSWD_FILE_LINE_MAX) {
			parse_fail(&ctx, "line longer than %u bytes",
				   PASSWD_FILE_LINE_MAX);
			return NULL;
		}
		if (check_bytes(&ctx, p, len) < 0)
			return NULL;
		if (!is_skipped(p, len)) {
			struct passwd_file_entry *entry =
				&table->entries[table->count];
			char *line = pool_strndup(pool, p, len);
			if (parse_line(&ctx, line, entry) < 0 ||
			    add_entry(&ctx, entry) < 0)
				return NULL;
		}
		p = next;
	}
	return table;
}
