/* Dovecot's mbox metadata; see mbox-dovecot.h. */
#include "config.h"
#include "mbox-dovecot.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Dovecot checks that at least this much follows the sender before it
 * parses the date: "Thu Nov 29 22:33:52 2001 +0300" without seconds
 * and time zone. */
#define FROM_DATE_MIN 21
/* Host names in the pseudo-message are cut here (RFC 1035's limit). */
#define HOSTNAME_MAX 255

static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};
static const char *const weekdays[] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};

/* A bounded view of the line: bytes past the end read as '\0', which
 * no rule accepts, so the grammar below needs no length checks. */
struct cursor {
	const unsigned char *s;
	size_t len;
	size_t pos;
};

static unsigned char at(const struct cursor *c, size_t k)
{
	return c->pos + k < c->len ? c->s[c->pos + k] : '\0';
}

static bool is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool digits(const struct cursor *c, size_t k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(at(c, k + i)))
			return false;
	}
	return true;
}

/* "Jan " .. "Dec " (any case), or "??? " as Dovecot also accepts. */
static bool month(const struct cursor *c)
{
	char m[3] = { (char)at(c, 0), (char)at(c, 1), (char)at(c, 2) };
	if (at(c, 3) != ' ')
		return false;
	if (memcmp(m, "???", 3) == 0)
		return true;
	for (size_t i = 0; i < sizeof(months) / sizeof(months[0]); i++) {
		if (strncasecmp(m, months[i], 3) == 0)
			return true;
	}
	return false;
}

static bool skip_sender(struct cursor *c)
{
	if (at(c, 0) == '"') {
		/* "x y"@domain: a quoted part may hold spaces */
		bool esc = false;
		c->pos++;
		while (c->pos < c->len && (c->s[c->pos] != '"' || esc)) {
			if (c->s[c->pos] == '\r' || c->s[c->pos] == '\n')
				return false;
			esc = c->s[c->pos] == '\\';
			c->pos++;
		}
		c->pos++;
	}
	while (c->pos < c->len && c->s[c->pos] != ' ') {
		if (c->s[c->pos] == '\r' || c->s[c->pos] == '\n')
			return false;
		c->pos++;
	}
	while (c->pos < c->len && c->s[c->pos] == ' ')
		c->pos++;
	return true;
}

/* The date: "Thu Nov 29 22:33:52 2001", with or without seconds, with a
 * time zone name before the year, or the alternative form "Thu, 29 Nov
 * 2001 22:33:52"; anything after it is ignored. */
static bool date_valid(struct cursor *c)
{
	if (c->pos > c->len || c->len - c->pos < FROM_DATE_MIN)
		return false;
	c->pos += 4;   /* the weekday is not checked */
	bool alt = !month(c);
	if (alt) {
		c->pos++;
		if (!is_digit(at(c, 0)))
			return false;
		c->pos += is_digit(at(c, 1)) ? 2 : 1;
		if (at(c, 0) != ' ')
			return false;
		c->pos++;
		if (!month(c))
			return false;
		c->pos += 4;
		if (!digits(c, 0, 4))
			return false;
		c->pos += 5;
	} else {
		c->pos += 4;
		if (at(c, 0) == ' ')
			c->pos++;
		if (at(c, 1) == ' ') {
			if (!is_digit(at(c, 0)))
				return false;
			c->pos += 2;
		} else {
			if (!digits(c, 0, 2) || at(c, 2) != ' ')
				return false;
			c->pos += 3;
		}
	}
	if (!digits(c, 0, 2) || at(c, 2) != ':' || !digits(c, 3, 2))
		return false;
	c->pos += 5;
	if (at(c, 0) == ':') {
		if (!digits(c, 1, 2))
			return false;
		c->pos += 3;
		if (!alt) {
			if (at(c, 0) != ' ')
				return false;
			c->pos++;
		}
	} else if (!alt) {
		if (at(c, 0) != ' ')
			return false;
		c->pos++;
	}
	if (alt)
		return true;
	if (!digits(c, 0, 4)) {
		/* a time zone name before the year */
		while (c->pos < c->len && c->s[c->pos] != ' ') {
			if (c->s[c->pos] == '\r' || c->s[c->pos] == '\n')
				return false;
			c->pos++;
		}
		if (c->pos + 5 > c->len)
			return false;
		c->pos++;
	}
	return digits(c, 0, 4);
}

bool mbox_dovecot_from_valid(const char *line, size_t len)
{
	struct cursor c = { (const unsigned char *)line, len, 0 };
	return skip_sender(&c) && date_valid(&c);
}

static const struct {
	const char *name;
	enum mbox_dovecot_header kind;
} hidden_headers[] = {
	{ "Content-Length", MBOX_DOVECOT_HDR_HIDDEN },
	{ "Status", MBOX_DOVECOT_HDR_HIDDEN },
	{ "X-IMAP", MBOX_DOVECOT_HDR_X_IMAP },
	{ "X-IMAPbase", MBOX_DOVECOT_HDR_X_IMAPBASE },
	{ "X-Keywords", MBOX_DOVECOT_HDR_HIDDEN },
	{ "X-Status", MBOX_DOVECOT_HDR_HIDDEN },
	{ "X-UID", MBOX_DOVECOT_HDR_X_UID },
};

enum mbox_dovecot_header mbox_dovecot_header_kind(const char *line, size_t len,
						  size_t *value_r)
{
	const char *colon = memchr(line, ':', len);
	if (colon == NULL)
		return MBOX_DOVECOT_HDR_NONE;
	size_t name_len = (size_t)(colon - line);
	/* blanks before the colon are not part of the name */
	while (name_len > 0 && (line[name_len - 1] == ' ' ||
				line[name_len - 1] == '\t'))
		name_len--;
	for (size_t i = 0; i < sizeof(hidden_headers) / sizeof(hidden_headers[0]);
	     i++) {
		if (strlen(hidden_headers[i].name) == name_len &&
		    strncasecmp(line, hidden_headers[i].name, name_len) == 0) {
			size_t v = (size_t)(colon - line) + 1;
			while (v < len && (line[v] == ' ' || line[v] == '\t'))
				v++;
			*value_r = v;
			return hidden_headers[i].kind;
		}
	}
	return MBOX_DOVECOT_HDR_NONE;
}

static bool is_lwsp(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Reads a decimal number of at most 32 bits at value[*pos]. */
static bool parse_u32(const char *value, size_t len, size_t *pos,
		      uint32_t *n_r)
{
	uint64_t n = 0;
	size_t start = *pos;
	while (*pos < len && is_digit((unsigned char)value[*pos])) {
		n = n * 10 + (uint64_t)(value[*pos] - '0');
		if (n > UINT32_MAX)
			return false;
		(*pos)++;
	}
	*n_r = (uint32_t)n;
	return *pos > start;
}

bool mbox_dovecot_parse_base(const char *value, size_t len,
			     uint32_t *uidvalidity_r, uint32_t *uid_last_r)
{
	size_t pos = 0;
	if (!parse_u32(value, len, &pos, uidvalidity_r) || *uidvalidity_r == 0)
		return false;
	if (pos < len && value[pos] != ' ' && value[pos] != '\r' &&
	    value[pos] != '\n')
		return false;
	while (pos < len && is_lwsp(value[pos]))
		pos++;
	*uid_last_r = 0;
	if (pos == len)
		return true;
	/* a missing last UID counts as 0, as in Dovecot; keywords may
	 * follow the number */
	if (is_digit((unsigned char)value[pos]) &&
	    !parse_u32(value, len, &pos, uid_last_r))
		return false;
	return pos == len || is_lwsp(value[pos]);
}

bool mbox_dovecot_parse_uid(const char *value, size_t len, uint32_t *uid_r)
{
	size_t pos = 0;
	if (!parse_u32(value, len, &pos, uid_r) || *uid_r == 0)
		return false;
	for (; pos < len; pos++) {
		if (!is_lwsp(value[pos]))
			return false;
	}
	return true;
}

size_t mbox_dovecot_pseudo(char buf[MBOX_DOVECOT_PSEUDO_MAX], time_t now,
			   const char *hostname, uint32_t uidvalidity,
			   uint32_t uid_last)
{
	struct tm tm;
	if (gmtime_r(&now, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	const char *wday = weekdays[tm.tm_wday % 7];
	const char *mon = months[tm.tm_mon % 12];
	int n = snprintf(buf, MBOX_DOVECOT_PSEUDO_MAX,
		"From MAILER_DAEMON  %s %s %02d %02d:%02d:%02d %04d\n"
		"Date: %s, %d %s %04d %02d:%02d:%02d +0000\n"
		"From: Mail System Internal Data <MAILER-DAEMON@%.*s>\n"
		"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
		"Message-ID: <%lld@%.*s>\n"
		"X-IMAP: %" PRIu32 " %010" PRIu32 "\n"
		"Status: RO\n"
		"\n"
		"This text is part of the internal format of your mail folder, "
		"and is not\n"
		"a real message.  It is created automatically by the mail "
		"system software.\n"
		"If deleted, important folder data will be lost, and it will "
		"be re-created\n"
		"with the data reset to initial values.\n"
		"\n",
		wday, mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		tm.tm_year + 1900,
		wday, tm.tm_mday, mon, tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		tm.tm_sec, HOSTNAME_MAX, hostname, (long long)now, HOSTNAME_MAX,
		hostname, uidvalidity, uid_last);
	if (n < 0)
		return 0;
	return (size_t)n < MBOX_DOVECOT_PSEUDO_MAX ? (size_t)n :
		MBOX_DOVECOT_PSEUDO_MAX - 1;
}
