/* %{...} expansion of config templates; see var-expand.h. */
#include "config.h"
#include "var-expand.h"

#include <stdbool.h>
#include <string.h>

#include "buffer.h"
#include "log.h"

/* How much of a refused value is shown in the error message; the rest of
 * the message (variable name, reason) must still fit. */
#define VAR_EXPAND_SHOWN_VALUE_MAX 64

enum user_part {
	USER_PART_FULL,
	USER_PART_USERNAME,
	USER_PART_DOMAIN,
};

static const struct {
	const char *name;
	enum user_part part;
} user_variables[] = {
	{ "user", USER_PART_FULL },
	{ "username", USER_PART_USERNAME },
	{ "domain", USER_PART_DOMAIN },
};

/* Why value may not become part of a path, or NULL when it may. */
static const char *unsafe_reason(const char *value, size_t len)
{
	if (len == 0)
		return "it is empty";
	if (memchr(value, '\0', len) != NULL)
		return "it contains a NUL byte";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c < 0x20 || c == 0x7f)
			return "it contains a control character";
	}
	if (memchr(value, '/', len) != NULL)
		return "it contains '/'";
	if (len == 1 && value[0] == '.')
		return "it is '.'";
	for (size_t i = 0; i + 1 < len; i++) {
		if (value[i] == '.' && value[i + 1] == '.')
			return "it contains '..'";
	}
	return NULL;
}

static int user_part(const struct var_expand_input *input, enum user_part part,
		     const char *name, const char **value_r, size_t *len_r,
		     struct error *err)
{
	if (input == NULL || input->user == NULL) {
		error_set(err, ERROR_INVALID,
			  "%%{%s} used but no user name is known", name);
		return -1;
	}
	const char *user = input->user;
	size_t len = input->user_len;
	/* Split on the last '@' of the whole given bytes: a NUL hidden before
	 * it must not shorten the name seen by the checks. */
	const char *at = NULL;
	for (size_t i = len; i > 0; i--) {
		if (user[i - 1] == '@') {
			at = user + i - 1;
			break;
		}
	}
	const char *value = user;
	size_t value_len = len;
	if (part == USER_PART_USERNAME && at != NULL) {
		value_len = (size_t)(at - user);
	} else if (part == USER_PART_DOMAIN) {
		value = at == NULL ? user + len : at + 1;
		value_len = (size_t)(user + len - value);
	}

	const char *reason = unsafe_reason(value, value_len);
	/* A NUL anywhere in the name means it is not the name it appears to
	 * be; refuse whichever part is used. */
	if (reason == NULL && strlen(user) != len)
		reason = "the user name contains a NUL byte";
	if (reason != NULL) {
		char shown[VAR_EXPAND_SHOWN_VALUE_MAX * 4 + 1];
		size_t shown_len = value_len > VAR_EXPAND_SHOWN_VALUE_MAX ?
			VAR_EXPAND_SHOWN_VALUE_MAX : value_len;
		error_set(err, ERROR_INVALID,
			  "refusing %%{%s} value '%s': %s", name,
			  log_escape(shown, sizeof(shown), value, shown_len),
			  reason);
		return -1;
	}
	*value_r = value;
	*len_r = value_len;
	return 0;
}

static int home_dir(const struct var_expand_input *input, const char *what,
		    const char **home_r, struct error *err)
{
	if (input == NULL || input->home == NULL) {
		error_set(err, ERROR_INVALID,
			  "%s used but no home directory is known", what);
		return -1;
	}
	/* An empty home would turn "~/Maildir" into "/Maildir". */
	if (input->home[0] == '\0') {
		error_set(err, ERROR_INVALID,
			  "%s used but the home directory is empty", what);
		return -1;
	}
	*home_r = input->home;
	return 0;
}

static int expand_variable(struct buffer *out, const char *name,
			   size_t name_len, const struct var_expand_input *input,
			   struct error *err)
{
	char shown[VAR_EXPAND_SHOWN_VALUE_MAX * 4 + 1];
	char name_text[VAR_EXPAND_SHOWN_VALUE_MAX + 1];
	if (name_len > VAR_EXPAND_SHOWN_VALUE_MAX) {
		error_set(err, ERROR_INVALID, "unknown variable %%{%s...}",
			  log_escape(shown, sizeof(shown), name,
				     VAR_EXPAND_SHOWN_VALUE_MAX));
		return -1;
	}
	memcpy(name_text, name, name_len);
	name_text[name_len] = '\0';

	if (strcmp(name_text, "home") == 0) {
		const char *home;
		if (home_dir(input, "%{home}", &home, err) < 0)
			return -1;
		buffer_append_str(out, home);
		return 0;
	}
	for (size_t i = 0; i < sizeof(user_variables) / sizeof(user_variables[0]);
	     i++) {
		if (strcmp(name_text, user_variables[i].name) != 0)
			continue;
		const char *value;
		size_t value_len;
		if (user_part(input, user_variables[i].part,
			      user_variables[i].name, &value, &value_len,
			      err) < 0)
			return -1;
		buffer_append(out, value, value_len);
		return 0;
	}
	error_set(err, ERROR_INVALID,
		  "unknown variable %%{%s} (known: user, username, domain, home)",
		  log_escape(shown, sizeof(shown), name, name_len));
	return -1;
}

static int expand_into(struct buffer *out, const char *template_text,
		       const struct var_expand_input *input, struct error *err)
{
	const char *p = template_text;
	if (p[0] == '~' && (p[1] == '\0' || p[1] == '/')) {
		const char *home;
		if (home_dir(input, "'~'", &home, err) < 0)
			return -1;
		buffer_append_str(out, home);
		p++;
	}
	while (*p != '\0') {
		const char *percent = strchr(p, '%');
		if (percent == NULL) {
			buffer_append_str(out, p);
			break;
		}
		buffer_append(out, p, (size_t)(percent - p));
		size_t offset = (size_t)(percent - template_text);
		if (percent[1] == '%') {
			buffer_append(out, "%", 1);
			p = percent + 2;
			continue;
		}
		if (percent[1] != '{') {
			error_set(err, ERROR_INVALID,
				  "lone '%%' at offset %zu (write %%%% for a literal '%%', %%{name} for a variable)",
				  offset);
			return -1;
		}
		const char *name = percent + 2;
		const char *close = strchr(name, '}');
		if (close == NULL) {
			error_set(err, ERROR_INVALID,
				  "unterminated '%%{' at offset %zu", offset);
			return -1;
		}
		if (expand_variable(out, name, (size_t)(close - name), input,
				    err) < 0)
			return -1;
		p = close + 1;
	}
	return 0;
}

char *var_expand(pool_t *pool, const char *template_text,
		 const struct var_expand_input *input, struct error *err)
{
	struct buffer out;
	buffer_init(&out);
	if (expand_into(&out, template_text, input, err) < 0) {
		buffer_free(&out);
		return NULL;
	}
	char *result = pool_strndup(pool, out.data == NULL ? "" : out.data,
				    out.len);
	buffer_free(&out);
	return result;
}
