/* Line splitting for other servers' files; see maildir-lines.h. */
#include "config.h"
#include "maildir-lines.h"

#include <string.h>

unsigned maildir_lines_each(const char *buf, size_t len, size_t max_len,
			    maildir_line_fn *fn, maildir_line_warn_fn *warn,
			    void *context)
{
	unsigned lineno = 0;
	const char *s = buf, *end = buf + len;
	while (s < end) {
		lineno++;
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *line_end = nl != NULL ? nl : end;
		const char *why = NULL;
		if (nl == NULL)
			why = "no line end";
		else if (memchr(s, '\0', (size_t)(line_end - s)) != NULL)
			why = "binary data";
		else if (max_len > 0 && (size_t)(line_end - s) > max_len)
			why = "line too long";
		if (why != NULL)
			warn(context, lineno, why);
		else if (!fn(context, lineno, s, line_end))
			break;
		s = nl != NULL ? nl + 1 : end;
	}
	return lineno;
}
