/*
 * %{...} expansion of paths and templates from the config (DESIGN §5).
 *
 * Variables: %{user} (the full login name, user@domain), %{username} (the
 * part before the last '@'), %{domain} (the part after it), %{home}. "%%" is
 * a literal '%'. A leading "~/" (or a template that is exactly "~") is the
 * home directory. Values are inserted once and never expanded again, so a
 * '%' inside a user name is just a character.
 *
 * Because expansions end up in file system paths, a user, username or
 * domain value that is empty where used, contains '/', a NUL byte (given
 * lengths disagree with strlen) or a control byte, contains "..", or is
 * "." is refused with ERROR_INVALID before anything is returned.
 */
#ifndef ROOST_VAR_EXPAND_H
#define ROOST_VAR_EXPAND_H

#include <stddef.h>

#include "error.h"
#include "pool.h"

struct var_expand_input {
	const char *user;      /* may be NULL: %{user} etc. are then errors */
	size_t user_len;       /* strlen(user) unless it hides a NUL */
	const char *home;      /* may be NULL: %{home} and ~ are then errors */
};

/* Returns the expanded string allocated from pool, or NULL with err set
 * (ERROR_INVALID for unknown variables, bad syntax and refused values). */
char *var_expand(pool_t *pool, const char *template_text,
		 const struct var_expand_input *input, struct error *err);

#endif
