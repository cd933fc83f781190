/*
 * Line splitting for the files of other POP3 servers that the maildir
 * module reads (dovecot-uidlist, courierpop3dsizelist). Their servers
 * write them whole and rename them into place, so a last line without
 * '\n' is damage (a torn copy, a full disk), and so is a NUL byte; both
 * readers report such a line with its number and skip it, as their
 * servers' own readers do.
 */
#ifndef ROOST_MAILDIR_LINES_H
#define ROOST_MAILDIR_LINES_H

#include <stdbool.h>
#include <stddef.h>

/* A usable line line[0..end) (without its '\n'), 1-based lineno; false
 * stops the iteration. */
typedef bool maildir_line_fn(void *context, unsigned lineno, const char *line,
			     const char *end);
typedef void maildir_line_warn_fn(void *context, unsigned lineno,
				  const char *why);

/* Calls fn for each usable line of buf[0..len) and warn for each damaged
 * one (also one longer than max_len octets, when max_len > 0). Returns
 * the number of lines seen. */
unsigned maildir_lines_each(const char *buf, size_t len, size_t max_len,
			    maildir_line_fn *fn, maildir_line_warn_fn *warn,
			    void *context);

#endif
