/* Login name normalisation and the safe character set; see auth-username.h. */
#include "config.h"
#include "auth-username.h"

#include <string.h>

/* Dovecot's default auth_username_chars plus '+' (sub-addresses): nothing
 * in it means anything to a shell, a path or a template. */
#define AUTH_USERNAME_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-@"
#define AUTH_USERNAME_BLANKS " \t"

/* A local part or a domain. */
static const char *label_problem(const char *part, size_t len)
{
	if (len == 0)
		return "empty part before or after '@'";
	if (part[0] == '.' || part[0] == '-')
		return "a part starts with '.' or '-'";
	if (part[len - 1] == '.')
		return "a part ends with '.'";
	for (size_t i = 0; i + 1 < len; i++) {
		if (part[i] == '.' && part[i + 1] == '.')
			return "contains '..'";
	}
	return NULL;
}

bool auth_username_acceptable(const char *name, const char **why_r)
{
	size_t len = strlen(name);
	const char *why = NULL;
	const char *at = strchr(name, '@');
	if (len == 0)
		why = "empty name";
	else if (len > AUTH_USERNAME_MAX)
		why = "name too long";
	else if (strspn(name, AUTH_USERNAME_CHARS) != len)
		why = "character outside the allowed set";
	else if (at != NULL && strchr(at + 1, '@') != NULL)
		why = "more than one '@'";
	else if (at == NULL)
		why = label_problem(name, len);
	else if ((why = label_problem(name, (size_t)(at - name))) == NULL)
		why = label_problem(at + 1, strlen(at + 1));
	*why_r = why;
	return why == NULL;
}

static char *strip_blanks(pool_t *pool, const char *raw)
{
	size_t start = strspn(raw, AUTH_USERNAME_BLANKS);
	size_t end = strlen(raw);
	while (end > start && strchr(AUTH_USERNAME_BLANKS, raw[end - 1]) != NULL)
		end--;
	return pool_strndup(pool, raw + start, end - start);
}

static void lowercase(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	}
}

void auth_username_split(pool_t *pool, const struct roost_settings *set,
			 const char *name, const char **user_r,
			 const char **master_r)
{
	const char *sep = set->auth_master_user_separator;
	const char *p = sep[0] != '\0' ? strchr(name, sep[0]) : NULL;
	*master_r = NULL;
	if (p == NULL) {
		*user_r = name;
		return;
	}
	*user_r = pool_strndup(pool, name, (size_t)(p - name));
	*master_r = p + 1;
}

const char *auth_username_normalise(pool_t *pool,
				    const struct roost_settings *set,
				    const char *raw, const char **why_r)
{
	const char *user, *master;
	char *stripped = strip_blanks(pool, raw);
	auth_username_split(pool, set, stripped, &user, &master);
	char *account = pool_strdup(pool, user);
	char *admin = master != NULL ? pool_strdup(pool, master) : NULL;
	if (set->auth_username_lowercase) {
		lowercase(account);
		if (admin != NULL)
			lowercase(admin);
	}
	const char *domain = set->auth_default_domain;
	if (domain[0] != '\0' && account[0] != '\0' && strchr(account, '@') == NULL)
		account = pool_printf(pool, "%s@%s", account, domain);
	if (!auth_username_acceptable(account, why_r))
		return NULL;
	if (admin == NULL)
		return account;
	if (!auth_username_acceptable(admin, why_r))
		return NULL;
	return pool_printf(pool, "%s%c%s", account, set->auth_master_user_separator[0],
			   admin);
}
