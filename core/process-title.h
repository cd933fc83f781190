/*
 * Process titles, so `ps` shows each process's role ("roost: login",
 * "roost: mail mbox1 192.0.2.7") instead of the same command line
 * everywhere. The title is written over the original argv strings, so it
 * is cut to their total length; the kernel's short name (comm) is set too.
 */
#ifndef ROOST_PROCESS_TITLE_H
#define ROOST_PROCESS_TITLE_H

/* Call once from main() before argv is used elsewhere for anything else
 * than option parsing that has already finished. */
void process_title_init(int argc, char **argv);
void process_title_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
