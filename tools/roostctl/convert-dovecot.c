/*
 * doveconf -n dump -> Roost configuration; see convert-dovecot.h. Nothing
 * of Dovecot's code is used: the mapping follows Dovecot's documented
 * settings and what `doveconf -n` of Dovecot 2.3 prints.
 */
#include "config.h"
#include "convert-dovecot.h"

#include "doveconf-dump.h"
#include "password-scheme.h"
#include "roostctl.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest dump or dovecot-sql.conf.ext read: a real one is a few KiB;
 * anything this big is not a configuration. */
#define CONVERT_INPUT_MAX (4 * 1024 * 1024)
/* Dovecot's defaults for what -n leaves out (Dovecot 2.3). */
#define DOVECOT_SSL_DEFAULT "yes"
#define DOVECOT_UIDL_FORMAT_DEFAULT "%08Xu%08Xv"
#define DOVECOT_USERNAME_FORMAT_DEFAULT "%Lu"
#define DOVECOT_PAM_SERVICE_DEFAULT "dovecot"
/* Dovecot's default_pass_scheme for sql ("MD5" is its MD5-CRYPT). */
#define DOVECOT_SQL_SCHEME_DEFAULT "MD5-CRYPT"
/* Dovecot's passwd-file default, any crypt(3) hash; Roost needs one
 * scheme for hashes without a {SCHEME} prefix. */
#define DOVECOT_PASSWD_FILE_SCHEME_DEFAULT "CRYPT"
#define ROOST_MECHANISMS "plain login cram-md5 scram-sha-256 apop"
#define ROOST_LOG_FACILITIES "mail daemon user local0 local1 local2 " \
	"local3 local4 local5 local6 local7"

struct conv {
	pool_t *pool;
	const struct convert_dovecot_options *opts;
	const struct config_section *root;
	const struct config_section *pop3;   /* protocol pop3 { }, or NULL */
	struct buffer *out;
	struct buffer flags;     /* "# NOT CONVERTED" lines */
	struct buffer ignored;   /* names, comma-separated */
	unsigned flagged;
};

static void flag(struct conv *c, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void flag(struct conv *c, unsigned line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = pool_vprintf(c->pool, fmt, ap);
	va_end(ap);
	/* a comment line must stay one line whatever the dump held */
	for (char *p = msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	const char *where = line == 0 ? "Dovecot default" :
		pool_printf(c->pool, "line %u", line);
	buffer_printf(&c->flags, "# NOT CONVERTED (%s): %s\n", where, msg);
	if (c->opts->notes != NULL)
		fprintf(c->opts->notes, "roostctl: %s: %s: %s\n",
			c->opts->source, where, msg);
	c->flagged++;
}

static void ignore(struct conv *c, const char *what)
{
	buffer_printf(&c->ignored, "%s%s", c->ignored.len > 0 ? ", " : "",
		      what);
}

/* The setting as Dovecot applies it to POP3: protocol pop3 { } first. */
static const struct config_setting *get(struct conv *c, const char *key)
{
	const struct config_setting *s =
		c->pop3 != NULL ? config_find(c->pop3, key) : NULL;
	return s != NULL ? s : config_find(c->root, key);
}

static const char *get_value(struct conv *c, const char *key,
			     const char *dflt)
{
	const struct config_setting *s = get(c, key);
	return s != NULL ? s->value : dflt;
}

static unsigned get_line(struct conv *c, const char *key)
{
	const struct config_setting *s = get(c, key);
	return s != NULL ? s->line : 0;
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	/* An empty value ("syslog_facility =") is no word; strstr() would
	 * find it everywhere without advancing. */
	if (n == 0)
		return false;
	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n) {
		bool start = p == list || p[-1] == ' ' || p[-1] == ',';
		bool end = p[n] == '\0' || p[n] == ' ' || p[n] == ',';
		if (start && end)
			return true;
	}
	return false;
}

/* ---- variables ---- */

/* Roost's name for Dovecot's one-letter variable, or NULL. */
static const char *roost_var(char letter)
{
	switch (letter) {
	case 'u': return "user";
	case 'n': return "username";
	case 'd': return "domain";
	case 'h': return "home";
	default: return NULL;
	}
}

static bool is_roost_long_var(const char *name, size_t len)
{
	static const char *const names[] = { "user", "username", "domain",
					     "home" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return true;
	}
	return false;
}

/* Length of the Dovecot variable at s ("%u", "%Lu", "%{user}", "%%"),
 * 0 when s is not one. *name_r is Roost's variable name, NULL for "%%"
 * and for variables Roost does not have; *lower_r says "%L". */
static size_t dovecot_var(const char *s, const char **name_r, size_t *name_len_r,
			  bool *lower_r)
{
	*name_r = NULL;
	*name_len_r = 0;
	*lower_r = false;
	if (s[0] != '%')
		return 0;
	if (s[1] == '%')
		return 2;
	size_t i = 1;
	if (s[i] == 'L') {
		*lower_r = true;
		i++;
	}
	if (s[i] == '{') {
		const char *close = strchr(s + i, '}');
		if (close == NULL)
			return 0;
		const char *name = s + i + 1;
		size_t len = (size_t)(close - name);
		if (is_roost_long_var(name, len)) {
			*name_r = name;
			*name_len_r = len;
		}
		return (size_t)(close - s) + 1;
	}
	if (s[i] == '\0')
		return 0;
	const char *name = roost_var(s[i]);
	if (name != NULL) {
		*name_r = name;
		*name_len_r = strlen(name);
	}
	return i + 1;
}

/* Appends Roost's form of the variable at s (of length len, as
 * dovecot_var() measured it) to out, flagging what does not map. */
static void put_var(struct conv *c, struct buffer *out, const char *s,
		    size_t len, const char *name, size_t name_len, bool lower,
		    unsigned line, const char *what)
{
	if (len == 2 && s[1] == '%') {
		buffer_append_str(out, "%%");
		return;
	}
	if (name == NULL) {
		flag(c, line, "%s: variable %.*s has no Roost equivalent "
		     "(Roost has %%{user} %%{username} %%{domain} %%{home})",
		     what, (int)len, s);
		buffer_append(out, s, len);
		return;
	}
	if (lower)
		flag(c, line, "%s: %.*s lowercases; Roost inserts %%{%.*s} as "
		     "given", what, (int)len, s, (int)name_len, name);
	buffer_printf(out, "%%{%.*s}", (int)name_len, name);
}

/* Appends in[0..len) to out with Dovecot's variables in Roost's syntax. */
static void put_vars(struct conv *c, struct buffer *out, const char *in,
		     size_t len, unsigned line, const char *what)
{
	const char *p = in, *end = in + len;
	while (p < end) {
		const char *name;
		size_t name_len;
		bool lower;
		/* in is NUL-terminated at end or beyond: dovecot_var() may
		 * look one variable past a literal's closing quote, never
		 * past the string */
		size_t vlen = dovecot_var(p, &name, &name_len, &lower);
		if (vlen == 0 || p + vlen > end) {
			buffer_append(out, p, 1);
			p++;
			continue;
		}
		put_var(c, out, p, vlen, name, name_len, lower, line, what);
		p += vlen;
	}
}

static const char *buffer_to_pool(struct conv *c, struct buffer *buf)
{
	char *result = pool_strdup(c->pool, buf->data != NULL ? buf->data : "");
	buffer_free(buf);
	return result;
}

/* A path or template with Dovecot's variables in Roost's syntax. */
static const char *convert_vars(struct conv *c, const char *in, unsigned line,
				const char *what)
{
	struct buffer out;
	buffer_init(&out);
	put_vars(c, &out, in, strlen(in), line, what);
	return buffer_to_pool(c, &out);
}

/* An SQL query: variables as above, and a string literal that is nothing
 * but one variable ('%u') becomes the bare variable, which Roost binds as
 * a parameter. A variable inside a longer literal cannot be bound. */
static const char *convert_query(struct conv *c, const char *in, unsigned line,
				 const char *what)
{
	struct buffer out;
	buffer_init(&out);
	const char *p = in;
	while (*p != '\0') {
		const char *quote = strpbrk(p, "'\"");
		const char *close = quote != NULL ? strchr(quote + 1, *quote) : NULL;
		if (close == NULL) {
			put_vars(c, &out, p, strlen(p), line, what);
			break;
		}
		put_vars(c, &out, p, (size_t)(quote - p), line, what);
		const char *name;
		size_t name_len;
		bool lower;
		size_t len = dovecot_var(quote + 1, &name, &name_len, &lower);
		if (len > 0 && quote + 1 + len == close &&
		    !(len == 2 && quote[2] == '%')) {
			put_var(c, &out, quote + 1, len, name, name_len, lower,
				line, what);
		} else {
			if (memchr(quote + 1, '%', (size_t)(close - quote - 1)) != NULL)
				flag(c, line, "%s: a variable inside the literal "
				     "%.*s cannot be bound as a parameter: rewrite "
				     "it, e.g. %%{username} || '@' || %%{domain}",
				     what, (int)(close - quote + 1), quote);
			buffer_append(&out, quote, (size_t)(close - quote) + 1);
		}
		p = close + 1;
	}
	return buffer_to_pool(c, &out);
}

/* ---- small readers ---- */

/* Reads a whole (small) file; NULL with errno set. */
static char *read_whole_fd(int fd, size_t *len_r)
{
	struct buffer buf;
	buffer_init(&buf);
	char chunk[8192];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf.len + (size_t)n > CONVERT_INPUT_MAX) {
			if (n >= 0)
				errno = EFBIG;
			buffer_free(&buf);
			return NULL;
		}
		if (n == 0)
			break;
		buffer_append(&buf, chunk, (size_t)n);
	}
	*len_r = buf.len;
	if (buf.data == NULL)
		return xstrdup("");
	return buf.data;
}

/* "a b  c" -> next word; advances *s. NULL at the end. */
static char *next_word(pool_t *pool, const char **s)
{
	while (**s == ' ' || **s == '\t')
		(*s)++;
	if (**s == '\0')
		return NULL;
	const char *start = *s;
	while (**s != '\0' && **s != ' ' && **s != '\t')
		(*s)++;
	return pool_strndup(pool, start, (size_t)(*s - start));
}

/* A value Dovecot's own parser would unquote: "..." with \" and \\. */
static const char *unquote(pool_t *pool, const char *v)
{
	size_t len = strlen(v);
	if (len < 2 || v[0] != '"' || v[len - 1] != '"')
		return v;
	char *out = pool_alloc(pool, len);
	size_t n = 0;
	for (size_t i = 1; i + 1 < len; i++) {
		if (v[i] == '\\' && i + 2 < len)
			i++;
		out[n++] = v[i];
	}
	out[n] = '\0';
	return out;
}

/* "30 secs" / "1 hour" / "500 msecs" / "2s" -> Roost's "30s" etc.; NULL
 * when it does not parse. */
static const char *convert_duration(pool_t *pool, const char *v)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (end == v || errno != 0 || v[0] == '-')
		return NULL;
	while (*end == ' ')
		end++;
	static const struct { const char *prefix; const char *unit; } units[] = {
		{ "ms", "ms" }, { "msec", "ms" }, { "milli", "ms" },
		{ "s", "s" }, { "sec", "s" },
		{ "m", "m" }, { "min", "m" },
		{ "h", "h" }, { "hour", "h" },
		{ "d", "d" }, { "day", "d" },
	};
	if (*end == '\0')
		return pool_printf(pool, "%lus", n);
	const char *unit = NULL;
	size_t best = 0;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t len = strlen(units[i].prefix);
		if (strncmp(end, units[i].prefix, len) == 0 && len > best) {
			best = len;
			unit = units[i].unit;
		}
	}
	if (unit == NULL)
		return NULL;
	if (strcmp(unit, "d") == 0)
		return pool_printf(pool, "%luh", n * 24);
	return pool_printf(pool, "%lu%s", n, unit);
}

/* ---- global settings ---- */

static void convert_listen_ssl(struct conv *c)
{
	const struct config_setting *listen = get(c, "listen");
	if (listen != NULL)
		config_write_setting(c->out, "listen", listen->value, 0);

	const char *ssl = get_value(c, "ssl", DOVECOT_SSL_DEFAULT);
	unsigned ssl_line = get_line(c, "ssl");
	bool dpa = strcmp(get_value(c, "disable_plaintext_auth", "yes"),
			  "yes") == 0;
	if (strcmp(ssl, "no") == 0) {
		config_write_setting(c->out, "ssl", "no", 0);
		if (dpa)
			flag(c, get_line(c, "disable_plaintext_auth"),
			     "disable_plaintext_auth = yes with ssl = no: "
			     "Dovecot accepted plaintext logins only from "
			     "loopback and login_trusted_networks, Roost with "
			     "ssl = no accepts them from everywhere (use "
			     "ssl = required with a certificate)");
		return;
	}
	if (strcmp(ssl, "yes") == 0) {
		buffer_printf(c->out, "# Dovecot: ssl = yes, "
			      "disable_plaintext_auth = %s\n", dpa ? "yes" : "no");
		config_write_setting(c->out, "ssl", dpa ? "required" : "yes", 0);
	} else if (strcmp(ssl, "required") == 0) {
		buffer_append_str(c->out, "# Dovecot's ssl = required exempts "
				  "no address, loopback included\n");
		config_write_setting(c->out, "ssl", "required", 0);
		config_write_setting(c->out, "ssl_exempt_loopback", "no", 0);
	} else {
		flag(c, ssl_line, "ssl = %s: expected no, yes or required", ssl);
	}
	static const char *const files[] = { "ssl_cert", "ssl_key" };
	for (size_t i = 0; i < 2; i++) {
		const struct config_setting *s = get(c, files[i]);
		if (s == NULL) {
			flag(c, 0, "%s is not set: give Roost the certificate "
			     "and key Dovecot used", files[i]);
		} else if (s->value[0] == '<') {
			const char *path = s->value + 1;
			while (*path == ' ')
				path++;
			config_write_setting(c->out, files[i], path, 0);
		} else if (s->value[0] == '#') {
			flag(c, s->line, "%s is hidden in the dump (run "
			     "doveconf -n -P) or set it by hand", files[i]);
		} else {
			flag(c, s->line, "%s holds the PEM text itself: save "
			     "it to a file and name that", files[i]);
		}
	}
}

static void convert_auth_mechanisms(struct conv *c)
{
	const struct config_setting *s = get(c, "auth_mechanisms");
	if (s == NULL)
		return;
	struct buffer keep;
	buffer_init(&keep);
	const char *p = s->value;
	char *word;
	while ((word = next_word(c->pool, &p)) != NULL) {
		for (char *w = word; *w != '\0'; w++) {
			if (*w >= 'A' && *w <= 'Z')
				*w = (char)(*w - 'A' + 'a');
			if (*w == ',')
				*w = '\0';
		}
		if (word[0] == '\0')
			continue;
		if (has_word(ROOST_MECHANISMS, word))
			buffer_printf(&keep, "%s%s", keep.len > 0 ? " " : "", word);
		else
			flag(c, s->line, "auth_mechanisms: %s is not offered by "
			     "Roost (it has " ROOST_MECHANISMS ")", word);
	}
	if (keep.len > 0)
		config_write_setting(c->out, "auth_mechanisms", keep.data, 0);
	buffer_free(&keep);
}

static void convert_uid_bounds(struct conv *c)
{
	static const char *const keys[] = { "first_valid_uid", "last_valid_uid" };
	for (size_t i = 0; i < 2; i++) {
		const struct config_setting *s = get(c, keys[i]);
		if (s != NULL)
			config_write_setting(c->out, keys[i], s->value, 0);
	}
}

/* Settings with a direct counterpart, and durations. */
static void convert_simple(struct conv *c)
{
	const struct config_setting *s = get(c, "login_greeting");
	if (s != NULL)
		config_write_setting(c->out, "login_greeting", s->value, 0);
	s = get(c, "syslog_facility");
	if (s != NULL) {
		if (has_word(ROOST_LOG_FACILITIES, s->value))
			config_write_setting(c->out, "log_facility", s->value, 0);
		else
			flag(c, s->line, "syslog_facility = %s: Roost knows "
			     ROOST_LOG_FACILITIES, s->value);
	}
	static const char *const durations[] = {
		"auth_failure_delay", "auth_cache_ttl", "auth_cache_negative_ttl",
	};
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		s = get(c, durations[i]);
		if (s == NULL)
			continue;
		const char *d = convert_duration(c->pool, s->value);
		if (d != NULL)
			config_write_setting(c->out, durations[i], d, 0);
		else
			flag(c, s->line, "%s = %s: not a duration", durations[i],
			     s->value);
	}
	/* Dovecot lowercases names by default (%Lu); Roost's equivalent is
	 * a switch, so only the two plain forms map. */
	const char *fmt = get_value(c, "auth_username_format",
				    DOVECOT_USERNAME_FORMAT_DEFAULT);
	if (strcmp(fmt, "%Lu") == 0 || strcmp(fmt, "%{user|lower}") == 0 ||
	    strcmp(fmt, "%{user | lower}") == 0)
		config_write_setting(c->out, "auth_username_lowercase", "yes", 0);
	else if (strcmp(fmt, "%u") != 0 && strcmp(fmt, "%{user}") != 0)
		flag(c, get_line(c, "auth_username_format"),
		     "auth_username_format = %s: only %%u and %%Lu map "
		     "(auth_username_lowercase)", fmt);
	s = get(c, "auth_default_realm");
	if (s != NULL && s->value[0] != '\0')
		config_write_setting(c->out, "auth_default_domain", s->value, 0);
}

/* ---- listeners ---- */

struct listener {
	const char *name;
	const char *port;
	const char *address;
	bool tls;
	unsigned line;
};

#define LISTENERS_MAX 16

static void convert_listener(struct conv *c, const struct config_section *sec,
			     struct listener *l, unsigned *count)
{
	if (sec->name == NULL) {
		flag(c, sec->line, "inet_listener without a name");
		return;
	}
	struct listener *found = NULL;
	for (unsigned i = 0; i < *count; i++) {
		if (strcmp(l[i].name, sec->name) == 0)
			found = &l[i];
	}
	if (found == NULL) {
		if (*count == LISTENERS_MAX) {
			flag(c, sec->line, "more than %d listeners",
			     LISTENERS_MAX);
			return;
		}
		found = &l[(*count)++];
		memset(found, 0, sizeof(*found));
		found->name = sec->name;
	}
	found->line = sec->line;
	for (unsigned i = 0; i < sec->settings_count; i++) {
		const struct config_setting *s = &sec->settings[i];
		if (strcmp(s->key, "port") == 0)
			found->port = s->value;
		else if (strcmp(s->key, "ssl") == 0)
			found->tls = strcmp(s->value, "yes") == 0;
		else if (strcmp(s->key, "address") == 0 &&
			 strpbrk(s->value, ", ") == NULL)
			found->address = s->value;
		else
			flag(c, s->line, "inet_listener %s: %s = %s (Roost: "
			     "port, address (one), tls)", sec->name, s->key,
			     s->value);
	}
}

static void convert_service_settings(struct conv *c,
				     const struct config_section *sec,
				     bool login)
{
	for (unsigned i = 0; i < sec->settings_count; i++) {
		const struct config_setting *s = &sec->settings[i];
		if (login && strcmp(s->key, "client_limit") == 0)
			config_write_setting(c->out, "login_client_limit",
					     s->value, 0);
		else if (login && strcmp(s->key, "process_min_avail") == 0 &&
			 strcmp(s->value, "0") != 0)
			config_write_setting(c->out, "login_processes",
					     s->value, 0);
		else if (!login && strcmp(s->key, "process_limit") == 0)
			config_write_setting(c->out, "mail_process_limit",
					     s->value, 0);
		else
			flag(c, s->line, "service %s: %s = %s", sec->name,
			     s->key, s->value);
	}
	for (unsigned i = 0; i < sec->sections_count; i++) {
		const struct config_section *sub = &sec->sections[i];
		if (!login || strcmp(sub->type, "inet_listener") != 0)
			flag(c, sub->line, "service %s: %s %s", sec->name,
			     sub->type, sub->name != NULL ? sub->name : "");
	}
}

static void convert_services(struct conv *c)
{
	/* Dovecot's built-in listeners, which -n leaves out unless changed */
	struct listener l[LISTENERS_MAX] = {
		{ "pop3", "110", NULL, false, 0 },
		{ "pop3s", "995", NULL, true, 0 },
	};
	unsigned count = 2;
	bool ssl_no = strcmp(get_value(c, "ssl", DOVECOT_SSL_DEFAULT), "no") == 0;
	for (unsigned i = 0; i < c->root->sections_count; i++) {
		const struct config_section *sec = &c->root->sections[i];
		if (strcmp(sec->type, "service") != 0 || sec->name == NULL)
			continue;
		if (strcmp(sec->name, "pop3-login") == 0) {
			convert_service_settings(c, sec, true);
			for (unsigned j = 0; j < sec->sections_count; j++) {
				const struct config_section *sub = &sec->sections[j];
				if (strcmp(sub->type, "inet_listener") == 0)
					convert_listener(c, sub, l, &count);
			}
		} else if (strcmp(sec->name, "pop3") == 0) {
			convert_service_settings(c, sec, false);
		}
	}
	buffer_append_str(c->out, "service pop3 {\n");
	for (unsigned i = 0; i < count; i++) {
		if (l[i].port == NULL || strcmp(l[i].port, "0") == 0)
			continue;   /* port 0: Dovecot's way to disable it */
		if (l[i].tls && ssl_no) {
			flag(c, l[i].line, "inet_listener %s (ssl = yes) "
			     "dropped: ssl = no", l[i].name);
			continue;
		}
		buffer_append_str(c->out, "  listener ");
		config_write_name(c->out, l[i].name);
		buffer_append_str(c->out, " {\n");
		config_write_setting(c->out, "port", l[i].port, 2);
		if (l[i].address != NULL)
			config_write_setting(c->out, "address", l[i].address, 2);
		if (l[i].tls)
			config_write_setting(c->out, "tls", "yes", 2);
		buffer_append_str(c->out, "  }\n");
	}
	buffer_append_str(c->out, "}\n");
}

/* ---- passdb and userdb ---- */

struct db {
	struct conv *c;
	const struct config_section *sec;
	bool passdb;
	const char *kind;     /* "passdb" or "userdb" */
	const char *driver;
	const char *args;
	unsigned args_line;
};

static void db_begin(struct db *db, const char *driver)
{
	buffer_printf(db->c->out, "%s %s {\n", db->kind, driver);
}

static void db_set(struct db *db, const char *key, const char *value)
{
	config_write_setting(db->c->out, key, value, 1);
}

static void db_options(struct db *db);

/* Closes the section after the passdb options Roost shares. */
static void db_end(struct db *db)
{
	db_options(db);
	buffer_append_str(db->c->out, "}\n");
}

static const char *convert_scheme(struct db *db, const char *scheme,
				  unsigned line)
{
	if (strcasecmp(scheme, "MD5") == 0)
		return "MD5-CRYPT";   /* Dovecot's name for $1$ */
	if (strcasecmp(scheme, DOVECOT_PASSWD_FILE_SCHEME_DEFAULT) == 0) {
		flag(db->c, line, "%s: scheme CRYPT (any crypt(3) hash): "
		     "Roost assumes SHA512-CRYPT for hashes without a "
		     "{SCHEME} prefix; give other ones their prefix "
		     "({MD5-CRYPT}, {SHA256-CRYPT}, {BLF-CRYPT})", db->kind);
		return "SHA512-CRYPT";
	}
	if (!password_scheme_is_known(scheme)) {
		flag(db->c, line, "%s: password scheme %s is not known to "
		     "Roost", db->kind, scheme);
		return NULL;
	}
	return scheme;
}

/* args = [scheme=X] [username_format=F] PATH */
static void convert_passwd_file(struct db *db)
{
	struct conv *c = db->c;
	const char *p = db->args, *path = NULL, *scheme = NULL;
	char *word;
	while ((word = next_word(c->pool, &p)) != NULL) {
		if (strncmp(word, "scheme=", 7) == 0)
			scheme = word + 7;
		else if (strncmp(word, "username_format=", 16) == 0) {
			if (strcmp(word + 16, "%u") != 0 &&
			    strcmp(word + 16, "%{user}") != 0)
				flag(c, db->args_line, "%s passwd-file: %s: Roost "
				     "looks up the full user name", db->kind, word);
		} else if (strchr(word, '=') == NULL && path == NULL)
			path = word;
		else
			flag(c, db->args_line, "%s passwd-file: argument %s",
			     db->kind, word);
	}
	if (path == NULL) {
		flag(c, db->args_line, "%s passwd-file without a file name",
		     db->kind);
		return;
	}
	db_begin(db, "passwd-file");
	db_set(db, "path", convert_vars(c, path, db->args_line, "passwd-file path"));
	if (db->passdb) {
		const char *s = convert_scheme(db, scheme != NULL ? scheme :
					       DOVECOT_PASSWD_FILE_SCHEME_DEFAULT,
					       db->args_line);
		if (s != NULL)
			db_set(db, "default_scheme", s);
	}
	db_end(db);
}

/* args = uid=X gid=Y home=H [mail=M] [allow_all_users=yes] */
static void convert_static(struct db *db)
{
	struct conv *c = db->c;
	if (db->passdb) {
		flag(c, db->sec->line, "passdb static (one password for "
		     "everybody) has no Roost equivalent");
		return;
	}
	db_begin(db, "static");
	const char *p = db->args;
	char *word;
	while ((word = next_word(c->pool, &p)) != NULL) {
		char *eq = strchr(word, '=');
		if (eq == NULL) {
			flag(c, db->args_line, "userdb static: argument %s", word);
			continue;
		}
		*eq = '\0';
		const char *value = eq + 1;
		if (strcmp(word, "uid") == 0 || strcmp(word, "gid") == 0)
			db_set(db, word, value);
		else if (strcmp(word, "home") == 0 || strcmp(word, "mail") == 0)
			db_set(db, word, convert_vars(c, value, db->args_line,
						      "userdb static"));
		else if (strcmp(word, "allow_all_users") != 0)
			/* Roost's static userdb knows every user anyway */
			flag(c, db->args_line, "userdb static: %s=%s", word,
			     value);
	}
	db_end(db);
}

/* args = [session=yes] [setcred=yes] [...] [SERVICE or *] */
static void convert_pam(struct db *db)
{
	struct conv *c = db->c;
	if (!db->passdb) {
		flag(c, db->sec->line, "userdb pam does not exist in Dovecot "
		     "either");
		return;
	}
	const char *p = db->args, *service = DOVECOT_PAM_SERVICE_DEFAULT;
	char *word;
	while ((word = next_word(c->pool, &p)) != NULL) {
		if (strchr(word, '=') != NULL || strcmp(word, "failure_show_msg") == 0)
			flag(c, db->args_line, "passdb pam: option %s", word);
		else
			/* "*": Dovecot uses the protocol's name */
			service = strcmp(word, "*") == 0 ? "pop3" : word;
	}
	db_begin(db, "pam");
	db_set(db, "service", service);
	db_end(db);
}

struct sql_conf {
	const char *driver;
	const char *connect;
	const char *scheme;
	unsigned scheme_line;
	const char *password_query;
	unsigned password_query_line;
	const char *user_query;
	unsigned user_query_line;
};

static void sql_conf_warn(void *context, unsigned line, const char *why)
{
	struct db *db = context;
	flag(db->c, db->args_line, "%s: line %u: %s", db->args, line, why);
}

static bool read_sql_conf(struct db *db, struct sql_conf *sc)
{
	struct conv *c = db->c;
	memset(sc, 0, sizeof(*sc));
	if (!c->opts->read_files) {
		flag(c, db->args_line, "%s sql: %s not read: copy its driver, "
		     "connect and queries by hand", db->kind, db->args);
		return false;
	}
	int fd = open(db->args, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;
	char *text = fd < 0 ? NULL : read_whole_fd(fd, &len);
	if (text == NULL) {
		flag(c, db->args_line, "%s sql: cannot read %s (%s): copy its "
		     "driver, connect and queries by hand", db->kind,
		     db->args, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	struct config_section *conf = doveconf_parse(c->pool, db->args, text,
						     len, sql_conf_warn, db);
	free(text);
	for (unsigned i = 0; i < conf->settings_count; i++) {
		const struct config_setting *s = &conf->settings[i];
		const char *v = unquote(c->pool, s->value);
		if (strcmp(s->key, "driver") == 0)
			sc->driver = v;
		else if (strcmp(s->key, "connect") == 0)
			sc->connect = v;
		else if (strcmp(s->key, "default_pass_scheme") == 0) {
			sc->scheme = v;
			sc->scheme_line = s->line;
		} else if (strcmp(s->key, "password_query") == 0) {
			sc->password_query = v;
			sc->password_query_line = s->line;
		} else if (strcmp(s->key, "user_query") == 0) {
			sc->user_query = v;
			sc->user_query_line = s->line;
		} else if (strcmp(s->key, "iterate_query") != 0)
			/* iterate_query serves doveadm, not logins */
			flag(c, db->args_line, "%s: line %u: %s", db->args,
			     s->line, s->key);
	}
	return true;
}

static void convert_sql(struct db *db)
{
	struct conv *c = db->c;
	struct sql_conf sc;
	if (!read_sql_conf(db, &sc))
		return;
	const char *driver = sc.driver != NULL ? sc.driver : "";
	if (strcmp(driver, "pgsql") != 0 && strcmp(driver, "sqlite") != 0) {
		flag(c, db->args_line, "%s sql: driver '%s' in %s: Roost has "
		     "pgsql and sqlite", db->kind, driver, db->args);
		return;
	}
	if (sc.connect == NULL) {
		flag(c, db->args_line, "%s sql: no connect in %s", db->kind,
		     db->args);
		return;
	}
	const char *query = db->passdb ? sc.password_query : sc.user_query;
	unsigned qline = db->passdb ? sc.password_query_line : sc.user_query_line;
	if (query == NULL) {
		flag(c, db->args_line, "%s sql: no %s in %s", db->kind,
		     db->passdb ? "password_query" : "user_query", db->args);
		return;
	}
	db_begin(db, driver);
	if (strcmp(driver, "sqlite") == 0) {
		db_set(db, "path", sc.connect);
	} else {
		const char *first = strstr(sc.connect, "host=");
		if (first != NULL && strstr(first + 5, "host=") != NULL)
			flag(c, db->args_line, "%s: several host= in connect: "
			     "libpq takes the last; Roost's connect takes "
			     "host=a,b for fail-over", db->args);
		db_set(db, "connect", sc.connect);
	}
	const char *what = pool_printf(c->pool, "%s line %u", db->args, qline);
	db_set(db, db->passdb ? "password_query" : "user_query",
	       convert_query(c, query, db->args_line, what));
	if (db->passdb) {
		const char *s = convert_scheme(db, sc.scheme != NULL ? sc.scheme :
					       DOVECOT_SQL_SCHEME_DEFAULT,
					       db->args_line);
		if (s != NULL)
			db_set(db, "default_scheme", s);
	}
	db_end(db);
}

/* The section's own keys besides driver and args: result_success and
 * result_failure where Roost has the same value, everything else flagged. */
static void db_options(struct db *db)
{
	struct conv *c = db->c;
	for (unsigned i = 0; i < db->sec->settings_count; i++) {
		const struct config_setting *s = &db->sec->settings[i];
		if (strcmp(s->key, "driver") == 0 || strcmp(s->key, "args") == 0 ||
		    strcmp(s->key, "name") == 0)
			continue;
		bool ok = false;
		if (db->passdb && strcmp(s->key, "result_success") == 0)
			ok = strcmp(s->value, "return-ok") == 0 ||
				strcmp(s->value, "continue") == 0;
		else if (db->passdb && strcmp(s->key, "result_failure") == 0)
			ok = strcmp(s->value, "continue") == 0 ||
				strcmp(s->value, "return-fail") == 0;
		if (ok)
			db_set(db, s->key, s->value);
		else
			flag(c, s->line, "%s %s: %s = %s", db->kind, db->driver,
			     s->key, s->value);
	}
}

static unsigned convert_dbs(struct conv *c, bool passdb)
{
	unsigned converted = 0;
	for (unsigned i = 0; i < c->root->sections_count; i++) {
		const struct config_section *sec = &c->root->sections[i];
		if (strcmp(sec->type, passdb ? "passdb" : "userdb") != 0)
			continue;
		const struct config_setting *driver = config_find(sec, "driver");
		const struct config_setting *args = config_find(sec, "args");
		struct db db = {
			.c = c, .sec = sec, .passdb = passdb,
			.kind = passdb ? "passdb" : "userdb",
			.driver = driver != NULL ? driver->value : "",
			.args = args != NULL ? args->value : "",
			.args_line = args != NULL ? args->line : sec->line,
		};
		size_t before = c->out->len;
		if (strcmp(db.driver, "passwd-file") == 0)
			convert_passwd_file(&db);
		else if (strcmp(db.driver, "static") == 0)
			convert_static(&db);
		else if (strcmp(db.driver, "pam") == 0)
			convert_pam(&db);
		else if (strcmp(db.driver, "sql") == 0)
			convert_sql(&db);
		else if (strcmp(db.driver, "passwd") == 0 && !passdb) {
			db_begin(&db, "passwd");
			db_end(&db);
		} else if (strcmp(db.driver, "shadow") == 0 && passdb)
			flag(c, sec->line, "passdb shadow: use passdb pam "
			     "(pam_unix reads /etc/shadow)");
		else
			flag(c, sec->line, "%s driver '%s' has no Roost "
			     "equivalent", db.kind, db.driver);
		if (c->out->len != before)
			converted++;
	}
	if (converted == 0)
		flag(c, 0, "no %s converted: Roost needs one",
		     passdb ? "passdb" : "userdb");
	return converted;
}

/* ---- mail_location ---- */

static void convert_mail(struct conv *c)
{
	const struct config_setting *s = get(c, "mail_location");
	const char *uidl_format = get_value(c, "pop3_uidl_format",
					    DOVECOT_UIDL_FORMAT_DEFAULT);
	unsigned uidl_line = get_line(c, "pop3_uidl_format");
	bool reuse_xuidl = strcmp(get_value(c, "pop3_reuse_xuidl", "no"),
				  "yes") == 0;
	if (s == NULL || s->value[0] == '\0') {
		flag(c, 0, "mail_location is empty: Dovecot detected the "
		     "mailbox format at run time; Roost uses mail = "
		     "maildir:~/Maildir unless told otherwise");
		return;
	}
	const char *colon = strchr(s->value, ':');
	char *type = colon == NULL ? NULL :
		pool_strndup(c->pool, s->value, (size_t)(colon - s->value));
	if (type == NULL || (strcmp(type, "maildir") != 0 &&
			     strcmp(type, "mbox") != 0)) {
		flag(c, s->line, "mail_location = %s: Roost reads maildir "
		     "and mbox", s->value);
		return;
	}
	bool mbox = strcmp(type, "mbox") == 0;
	/* "PATH[:KEY=VALUE]..." */
	char *rest = pool_strdup(c->pool, colon + 1);
	char *path = rest, *inbox = NULL;
	char *opt = strchr(rest, ':');
	if (opt != NULL)
		*opt++ = '\0';
	while (opt != NULL) {
		char *next = strchr(opt, ':');
		if (next != NULL)
			*next++ = '\0';
		if (strncmp(opt, "INBOX=", 6) == 0)
			inbox = opt + 6;
		else if (strncmp(opt, "CONTROL=", 8) == 0)
			flag(c, s->line, "mail_location: %s: dovecot-uidlist "
			     "lives there; Roost reads it from the maildir "
			     "itself: copy it into each maildir before the "
			     "switch, or clients download everything again", opt);
		else if (strncmp(opt, "INDEX=", 6) != 0 &&
			 strncmp(opt, "VOLATILEDIR=", 12) != 0 &&
			 strncmp(opt, "LAYOUT=", 7) != 0 &&
			 strcmp(opt, "UTF-8") != 0 && strcmp(opt, "ITERINDEX") != 0)
			flag(c, s->line, "mail_location: option %s", opt);
		/* INDEX, VOLATILEDIR, LAYOUT: Dovecot's own files and
		 * folders, which POP3 in Roost does not use */
		opt = next;
	}
	const char *where;
	if (inbox != NULL) {
		where = inbox;
	} else if (mbox) {
		where = pool_printf(c->pool, "%s/inbox", path);
		flag(c, s->line, "mail_location has no INBOX=: Dovecot looked "
		     "for /var/mail/%%u first, then %s; check which one your "
		     "users' mail is in", where);
	} else {
		where = path;
	}
	struct buffer loc;
	buffer_init(&loc);
	buffer_printf(&loc, "%s:%s", type,
		      convert_vars(c, where, s->line, "mail_location"));
	if (strcmp(uidl_format, DOVECOT_UIDL_FORMAT_DEFAULT) == 0) {
		/* Roost's default reproduces it (dovecot-uidlist, X-UID) */
	} else if (strcmp(uidl_format, "%f") == 0 && !mbox) {
		buffer_append_str(&loc, ":uidl=basename");
	} else {
		flag(c, uidl_line, "pop3_uidl_format = %s: Roost reproduces "
		     "%s and, for maildir, %%f only; clients may download "
		     "mail again", uidl_format, DOVECOT_UIDL_FORMAT_DEFAULT);
	}
	if (reuse_xuidl) {
		if (mbox)
			buffer_append_str(&loc, ":reuse_xuidl=yes");
		else
			flag(c, get_line(c, "pop3_reuse_xuidl"),
			     "pop3_reuse_xuidl = yes with maildir: Roost "
			     "reads X-UIDL headers in mbox only");
	}
	config_write_setting(c->out, "mail", loc.data, 0);
	buffer_free(&loc);
}

/* ---- everything else ---- */

/* Settings handled above, wherever they appear. */
static const char *const handled_keys[] = {
	"listen", "ssl", "disable_plaintext_auth", "ssl_cert", "ssl_key",
	"auth_mechanisms", "first_valid_uid", "last_valid_uid",
	"login_greeting", "syslog_facility", "auth_failure_delay",
	"auth_cache_ttl", "auth_cache_negative_ttl", "auth_username_format",
	"auth_default_realm",
	"mail_location", "pop3_uidl_format", "pop3_reuse_xuidl", "protocols",
};

/* Not used by a POP3 server, or Dovecot's own files and processes. */
static const char *const ignored_prefixes[] = {
	"imap_", "lmtp_", "lda_", "submission_", "managesieve_", "sieve",
	"quota", "doveadm_", "replication_", "director_", "mail_attachment_",
	"mail_cache_", "mailbox_", "mbox_", "maildir_", "mdbox_", "sdbox_",
	"mail_log_", "deliver_", "recipient_delimiter", "postmaster_address",
	"hostname", "base_dir", "state_dir", "instance_name", "mail_plugins",
	"mail_fsync", "mail_nfs_", "mmap_disable", "lock_method",
	"dotlock_use_excl", "mail_debug", "auth_debug", "auth_verbose",
	"log_timestamp", "info_log_path", "debug_log_path", "ssl_dh",
	"ssl_client_", "verbose_ssl", "default_", "namespace", "plugin",
	"dict", "mail_home", "mail_server_", "pop3_client_workarounds",
	"pop3_logout_format", "pop3_no_flag_updates", "pop3_fast_size_lookups",
	"pop3_save_uidl", "pop3_lock_session",
};

static bool in_list(const char *key, const char *const *list, size_t n,
		    bool prefix)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = prefix ? strlen(list[i]) : strlen(key) + 1;
		if (strncmp(key, list[i], len) == 0)
			return true;
	}
	return false;
}

static void convert_leftovers(struct conv *c, const struct config_section *sec)
{
	for (unsigned i = 0; i < sec->settings_count; i++) {
		const struct config_setting *s = &sec->settings[i];
		if (in_list(s->key, handled_keys, sizeof(handled_keys) /
			    sizeof(handled_keys[0]), false))
			continue;
		if (in_list(s->key, ignored_prefixes, sizeof(ignored_prefixes) /
			    sizeof(ignored_prefixes[0]), true))
			ignore(c, s->key);
		else if (strcmp(s->key, "login_trusted_networks") == 0)
			flag(c, s->line, "login_trusted_networks = %s: Roost has "
			     "no trusted networks (no XCLIENT/ID forwarding, no "
			     "plaintext exemption beyond loopback with "
			     "ssl_exempt_loopback)", s->value);
		else
			flag(c, s->line, "%s = %s has no Roost equivalent",
			     s->key, s->value);
	}
	for (unsigned i = 0; i < sec->sections_count; i++) {
		const struct config_section *sub = &sec->sections[i];
		const char *name = sub->name != NULL ? sub->name : "";
		if (strcmp(sub->type, "passdb") == 0 ||
		    strcmp(sub->type, "userdb") == 0) {
			if (sec != c->root)
				flag(c, sub->line, "%s inside %s %s", sub->type,
				     sec->type, sec->name != NULL ? sec->name : "");
		} else if (strcmp(sub->type, "service") == 0) {
			if (strcmp(name, "pop3-login") != 0 &&
			    strcmp(name, "pop3") != 0)
				ignore(c, pool_printf(c->pool, "service %s", name));
		} else if (strcmp(sub->type, "protocol") == 0) {
			if (strcmp(name, "pop3") == 0)
				convert_leftovers(c, sub);
			else
				ignore(c, pool_printf(c->pool, "protocol %s", name));
		} else if (in_list(sub->type, ignored_prefixes,
				   sizeof(ignored_prefixes) /
				   sizeof(ignored_prefixes[0]), true)) {
			ignore(c, pool_printf(c->pool, "%s %s", sub->type, name));
		} else {
			flag(c, sub->line, "section %s %s has no Roost "
			     "equivalent", sub->type, name);
		}
	}
}

unsigned convert_dovecot(pool_t *pool, const struct config_section *dump,
			 const struct convert_dovecot_options *opts,
			 struct buffer *out)
{
	struct conv c = { .pool = pool, .opts = opts, .root = dump, .out = out };
	buffer_init(&c.flags);
	buffer_init(&c.ignored);
	for (unsigned i = 0; i < dump->sections_count; i++) {
		const struct config_section *sec = &dump->sections[i];
		if (strcmp(sec->type, "protocol") == 0 && sec->name != NULL &&
		    strcmp(sec->name, "pop3") == 0)
			c.pop3 = sec;
	}
	char *source = pool_strdup(pool, opts->source);
	for (char *p = source; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	buffer_printf(out, "# Roost configuration converted from Dovecot's "
		      "`doveconf -n` (%s)\n# by roostctl config convert-dovecot. "
		      "Check every NOT CONVERTED line at the end.\n", source);
	const char *protocols = get_value(&c, "protocols", "imap pop3 lmtp");
	if (!has_word(protocols, "pop3"))
		flag(&c, get_line(&c, "protocols"), "protocols = %s: Dovecot "
		     "did not serve POP3", protocols);
	convert_listen_ssl(&c);
	convert_auth_mechanisms(&c);
	convert_uid_bounds(&c);
	convert_simple(&c);
	convert_services(&c);
	convert_dbs(&c, true);
	convert_dbs(&c, false);
	convert_mail(&c);
	convert_leftovers(&c, dump);
	if (c.flags.len > 0) {
		buffer_append_str(out, "\n");
		buffer_append(out, c.flags.data, c.flags.len);
	}
	if (c.ignored.len > 0)
		buffer_printf(out, "# Ignored (IMAP, delivery, Dovecot's own "
			      "files and processes): %s\n", c.ignored.data);
	buffer_free(&c.flags);
	buffer_free(&c.ignored);
	return c.flagged;
}

/* ---- the command ---- */

static void dump_warn(void *context, unsigned line, const char *why)
{
	const char *source = context;
	fprintf(stderr, "roostctl: %s:%u: %s (line ignored)\n", source, line, why);
}

static void convert_usage(FILE *out)
{
	fprintf(out, "Usage: roostctl config convert-dovecot [FILE]\n"
		"Reads the output of Dovecot's `doveconf -n` (or -n -P, which "
		"shows ssl_key)\nfrom FILE or standard input and prints a Roost "
		"configuration. What cannot be\nmapped is flagged as \"# NOT "
		"CONVERTED\" comments and on standard error.\nSQL drivers' "
		"dovecot-sql.conf.ext is read when readable. Needs no server.\n"
		"Exit status: 0 converted (check the flags), 1 unreadable input.\n");
}

int roostctl_convert_dovecot(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "+h", long_opts, NULL)) != -1) {
		convert_usage(ch == 'h' ? stdout : stderr);
		return ch == 'h' ? ROOSTCTL_OK : ROOSTCTL_USAGE;
	}
	if (argc - optind > 1) {
		convert_usage(stderr);
		return ROOSTCTL_USAGE;
	}
	const char *path = argc > optind ? argv[optind] : "-";
	bool use_stdin = strcmp(path, "-") == 0;
	int fd = use_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	char *text = fd < 0 ? NULL : read_whole_fd(fd, &len);
	if (text == NULL) {
		fprintf(stderr, "roostctl: cannot read %s: %s\n",
			use_stdin ? "standard input" : path, strerror(errno));
		if (fd >= 0 && !use_stdin)
			close(fd);
		return ROOSTCTL_FAILED;
	}
	if (!use_stdin)
		close(fd);
	const char *source = use_stdin ? "standard input" : path;
	pool_t *pool = pool_create();
	struct config_section *dump = doveconf_parse(pool, source, text, len,
						     dump_warn, (void *)source);
	free(text);
	struct convert_dovecot_options opts = {
		.source = source, .read_files = true, .notes = stderr,
	};
	struct buffer out;
	buffer_init(&out);
	unsigned flagged = convert_dovecot(pool, dump, &opts, &out);
	fwrite(out.data, 1, out.len, stdout);
	buffer_free(&out);
	pool_destroy(pool);
	if (flagged > 0)
		fprintf(stderr, "roostctl: %u item%s not converted: see the "
			"NOT CONVERTED lines\n", flagged, flagged == 1 ? "" : "s");
	return fflush(stdout) == 0 ? ROOSTCTL_OK : ROOSTCTL_FAILED;
}
