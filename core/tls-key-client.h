/*
 * The login process's side of its key process (tls-key-server.h): a
 * gnutls_privkey_t whose signatures are requests over the slot's socket
 * (tls-key-protocol.h). A signature blocks the caller until the answer,
 * about as long as signing in-process did (~1 ms for RSA-2048), and at
 * most TLS_KEY_CLIENT_TIMEOUT_MS.
 *
 * When the key process is gone, answers late or out of turn, the socket
 * is closed for good and the error logged: from then on every signature
 * fails, so handshakes fail cleanly, and the key process (at EOF, or
 * already dead) exits, upon which the master replaces the whole slot.
 *
 * RSA key exchange (a custom ssl_priority with +RSA) would need the key
 * to decrypt, which the key process refuses to offer: such handshakes
 * fail, and the first one logs why.
 */
#ifndef ROOST_TLS_KEY_CLIENT_H
#define ROOST_TLS_KEY_CLIENT_H

#include <gnutls/abstract.h>

#include "error.h"

/* Waits for the key process's hello on fd and makes a private key that
 * signs through it. Takes fd in every case (it is closed with the key,
 * or at once on failure). The key is freed with gnutls_privkey_deinit(),
 * or by the credentials it was given to. -1 with err. */
int tls_key_client_create(int fd, gnutls_privkey_t *key_r, struct error *err);

#endif
