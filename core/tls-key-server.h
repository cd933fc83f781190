/*
 * The key process: holds the TLS private key so that login processes,
 * which parse untrusted input, never do. The master starts one per login
 * process (a "login slot", master.c), so that signing spreads over the
 * cores as it did in-process. It loads ssl_cert and ssl_key as root, drops
 * to auth_user (not login_user: a login process must not be able to
 * ptrace it), makes itself undumpable, sends its hello and then signs what
 * its login process asks (tls-key-protocol.h) in a blocking loop until
 * that socket reaches EOF, that is until the login process is gone.
 *
 * A compromised login process can still have data signed while its key
 * process lives; it can never read the key.
 */
#ifndef ROOST_TLS_KEY_SERVER_H
#define ROOST_TLS_KEY_SERVER_H

#include <stdbool.h>

#include "error.h"
#include "settings.h"

struct tls_key_server_params {
	const struct roost_settings *set;
	int login_fd;            /* SOCK_SEQPACKET to the slot's login process */
	bool privileged;         /* started as root: drop to auth_user */
};

/* Loads ssl_cert and ssl_key as the key process does and frees them again
 * (GnuTLS wipes key material it frees). -1 with err naming the files when
 * they do not load, do not match or the key is larger than the protocol
 * carries. The master calls it (as root) at start and reload, so that a
 * bad key is a configuration error and not a login process that keeps
 * failing. */
int tls_key_server_check(const char *cert_path, const char *key_path,
			 struct error *err);

/* Runs the key process; returns its exit status (0 at EOF). */
int tls_key_server_main(const struct tls_key_server_params *params);

#endif
