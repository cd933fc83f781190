/*
 * A reader for Dovecot configuration text as `doveconf -n` prints it, and
 * for the "key = value" files Dovecot's passdb/userdb drivers read
 * (dovecot-sql.conf.ext), for `roostctl config convert-dovecot`.
 *
 * The syntax read: one item per line, leading and trailing blanks ignored;
 * "# ..." comments and empty lines; "key = value" (the value is the rest
 * of the line, possibly empty; not unquoted here); "type [name] {" opens a
 * section and "}" closes it; a line ending in '\' continues on the next
 * one (joined with one space), as dovecot-sql.conf.ext queries often do.
 * Unlike Roost's own parser (config-parser.h), a value is never split at
 * blanks: Dovecot's "args = scheme=CRYPT /etc/users" is one value.
 *
 * The result reuses config-parser.h's tree (struct config_section, file
 * = name, with line numbers), so config_find() works on it. Damage never
 * fails the parse: a line that is none of the above, a stray "}", a
 * section nested deeper than DOVECONF_DEPTH_MAX (skipped with its
 * contents) or one left open is reported through warn with its line
 * number and otherwise ignored. Pure code: the text comes in a buffer.
 */
#ifndef ROOST_DOVECONF_DUMP_H
#define ROOST_DOVECONF_DUMP_H

#include <stddef.h>

#include "config-parser.h"
#include "pool.h"

/* Dovecot's own configs nest four deep at most (plugin, service and
 * listener, namespace and mailbox, protocol around them). */
#define DOVECONF_DEPTH_MAX 8

typedef void doveconf_warn_fn(void *context, unsigned line, const char *why);

/* Parses text[0..len); a line with a control character other than tab
 * (NUL included) is reported and skipped. Never returns NULL. */
struct config_section *doveconf_parse(pool_t *pool, const char *name,
				      const char *text, size_t len,
				      doveconf_warn_fn *warn, void *context);

#endif
