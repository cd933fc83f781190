/*
 * `roostctl config convert-dovecot [FILE]`: turns the output of Dovecot's
 * `doveconf -n` (read by doveconf-dump.h) into a Roost configuration.
 *
 * What maps (doc/migrating-from-dovecot.md has the table): listen; ssl
 * with disable_plaintext_auth; ssl_cert and ssl_key (Dovecot's "<" file
 * prefix removed); the inet_listeners of service pop3-login; passdb and
 * userdb drivers passwd-file, static, passwd, pam and sql (whose
 * dovecot-sql.conf.ext is read when readable: driver pgsql or sqlite,
 * connect, default_pass_scheme and the queries, with Dovecot's %u %n %d
 * made %{user} %{username} %{domain} and a quoted '%u' made a bare,
 * bound variable); mail_location (maildir and mbox, INBOX=, ~ and the
 * variables); first_valid_uid and last_valid_uid; auth_mechanisms;
 * pop3_uidl_format's default and %f; pop3_reuse_xuidl. Settings of a
 * `protocol pop3 { }` section override the global ones, as in Dovecot.
 *
 * Everything else is flagged, never guessed: a "# NOT CONVERTED (line
 * N): ..." comment at the end of the output (N is the line of the dump)
 * and the same text on stderr, or listed as ignored when it only
 * concerns IMAP, LMTP, delivery or Dovecot's own files. Dovecot's
 * defaults count too: `doveconf -n` omits them, so a default that Roost
 * does not share (user names lowercased, plaintext logins only from
 * loopback) is flagged with line 0.
 */
#ifndef ROOST_CONVERT_DOVECOT_H
#define ROOST_CONVERT_DOVECOT_H

#include <stdbool.h>
#include <stdio.h>

#include "buffer.h"
#include "config-parser.h"
#include "pool.h"

struct convert_dovecot_options {
	const char *source;   /* the dump's name, for comments and stderr */
	/* Read the dovecot-sql.conf.ext files that sql drivers name (false
	 * in the fuzzer: the dump must not make it open files). */
	bool read_files;
	FILE *notes;          /* each flagged item is also printed here */
};

/* Appends the Roost configuration for dump to out. Returns the number of
 * flagged items. */
unsigned convert_dovecot(pool_t *pool, const struct config_section *dump,
			 const struct convert_dovecot_options *opts,
			 struct buffer *out);

/* The command: argv[0] is its name; reads FILE or stdin ("-" too),
 * writes stdout. Returns an exit status (roostctl.h). */
int roostctl_convert_dovecot(int argc, char **argv);

#endif
