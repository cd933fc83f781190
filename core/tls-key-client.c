/* Signing through the key process; see tls-key-client.h. */
#include "config.h"
#include "tls-key-client.h"

#include "log.h"
#include "pool.h"
#include "tls-key-protocol.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The key process serves this login process alone and a signature takes
 * about a millisecond: an answer (or, at start, a hello: loading the key
 * takes a few) this late means it is stuck, and the handshake is better
 * failed than every client of this process stalled longer. */
#define TLS_KEY_CLIENT_TIMEOUT_MS 5000

struct tls_key_client {
	int fd;                    /* -1 once the channel is broken */
	uint32_t next_id;
	struct tls_key_hello hello;
	bool decrypt_refusal_logged;
};

static void channel_broken(struct tls_key_client *c, const char *why)
{
	log_error("TLS key process: %s; TLS handshakes fail until the master "
		  "replaces this login process", why);
	close(c->fd);
	c->fd = -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One datagram within the timeout. Returns its length (which may exceed
 * size: it was truncated), 0 at EOF, -1 with *why_r on timeout or error. */
static ssize_t receive(int fd, void *buf, size_t size, const char **why_r)
{
	int64_t deadline = now_ms() + TLS_KEY_CLIENT_TIMEOUT_MS;
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int ret = left <= 0 ? 0 : poll(&pfd, 1, (int)left);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret == 0) {
			*why_r = "no answer in time";
			return -1;
		}
		ssize_t n = ret < 0 ? -1 : recv(fd, buf, size, MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			*why_r = strerror(errno);
		return n;
	}
}

static int sign(struct tls_key_client *c, enum tls_key_op op,
		gnutls_sign_algorithm_t algo, unsigned flags,
		const gnutls_datum_t *payload, gnutls_datum_t *signature)
{
	if (c->fd < 0)
		return GNUTLS_E_PK_SIGN_FAILED;
	if (payload->size == 0 || payload->size > TLS_KEY_PAYLOAD_MAX) {
		log_error("TLS key process: %u bytes to sign, the limit is %u",
			  payload->size, TLS_KEY_PAYLOAD_MAX);
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	unsigned char msg[sizeof(struct tls_key_request) + TLS_KEY_PAYLOAD_MAX];
	struct tls_key_request req = {
		.id = ++c->next_id, .op = op, .sign_algorithm = (uint32_t)algo, .flags = flags,
	};
	memcpy(msg, &req, sizeof(req));
	memcpy(msg + sizeof(req), payload->data, payload->size);
	/* Never blocks: the key process has read every earlier request. */
	if (send(c->fd, msg, sizeof(req) + payload->size, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		channel_broken(c, strerror(errno));
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	unsigned char answer[sizeof(struct tls_key_reply) + TLS_KEY_SIGNATURE_MAX];
	const char *why = "it is gone";
	ssize_t n = receive(c->fd, answer, sizeof(answer), &why);
	struct tls_key_reply reply;
	if (n <= 0) {
		channel_broken(c, why);
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	memcpy(&reply, answer, (size_t)n < sizeof(reply) ? (size_t)n : sizeof(reply));
	if ((size_t)n < sizeof(reply) || (size_t)n > sizeof(answer) || reply.id != req.id ||
	    (reply.status != 0 && (size_t)n != sizeof(reply))) {
		channel_broken(c, "malformed answer");
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	if (reply.status != 0)
		return reply.status < 0 ? reply.status : GNUTLS_E_PK_SIGN_FAILED;
	size_t len = (size_t)n - sizeof(reply);
	signature->data = gnutls_malloc(len);
	if (signature->data == NULL)
		return GNUTLS_E_MEMORY_ERROR;
	memcpy(signature->data, answer + sizeof(reply), len);
	signature->size = (unsigned)len;
	return 0;
}

static int sign_data(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
		     void *userdata, unsigned flags, const gnutls_datum_t *data,
		     gnutls_datum_t *signature)
{
	return sign(userdata, TLS_KEY_OP_SIGN_DATA, algo, flags, data, signature);
}

static int sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
		     void *userdata, unsigned flags, const gnutls_datum_t *hash,
		     gnutls_datum_t *signature)
{
	return sign(userdata, TLS_KEY_OP_SIGN_HASH, algo, flags, hash, signature);
}

/* RSA key exchange: refused (tls-key-client.h). A decryption oracle in
 * another process, timed over a socket, is what Bleichenbacher-style
 * attacks need; and the exchange has no forward secrecy anyway. */
static int decrypt(gnutls_privkey_t key, void *userdata,
		   const gnutls_datum_t *ciphertext, gnutls_datum_t *plaintext)
{
	struct tls_key_client *c = userdata;
	/* GnuTLS frees it even after a failure. */
	plaintext->data = NULL;
	plaintext->size = 0;
	if (!c->decrypt_refusal_logged) {
		c->decrypt_refusal_logged = true;
		log_error("TLS: a client chose RSA key exchange, which ssl_priority allows "
			  "but the key process does not offer (it only signs); such "
			  "handshakes fail: remove RSA key exchange (+RSA) from ssl_priority");
	}
	return GNUTLS_E_UNIMPLEMENTED_FEATURE;
}

static int info(gnutls_privkey_t key, unsigned flags, void *userdata)
{
	const struct tls_key_client *c = userdata;
	if ((flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO) != 0) {
		uint32_t algo = GNUTLS_FLAGS_TO_SIGN_ALGO(flags);
		for (uint32_t i = 0; i < c->hello.sign_algorithm_count; i++) {
			if (c->hello.sign_algorithms[i] == algo)
				return 1;
		}
		return 0;
	}
	if ((flags & GNUTLS_PRIVKEY_INFO_PK_ALGO) != 0)
		return (int)c->hello.pk_algorithm;
	if ((flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS) != 0)
		return (int)c->hello.bits;
	return -1;
}

static void deinit(gnutls_privkey_t key, void *userdata)
{
	struct tls_key_client *c = userdata;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

int tls_key_client_create(int fd, gnutls_privkey_t *key_r, struct error *err)
{
	struct tls_key_client *c = xmalloc(sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	const char *why = "it is gone";
	ssize_t n = receive(fd, &c->hello, sizeof(c->hello), &why);
	if (n > 0 && ((size_t)n != sizeof(c->hello) ||
		      c->hello.sign_algorithm_count > TLS_KEY_SIGN_ALGOS_MAX))
		why = "malformed hello";
	if (n != (ssize_t)sizeof(c->hello) || c->hello.sign_algorithm_count > TLS_KEY_SIGN_ALGOS_MAX) {
		error_set(err, ERROR_TEMP, "TLS key process: %s", why);
		deinit(NULL, c);
		return -1;
	}
	gnutls_privkey_t key;
	int ret = gnutls_privkey_init(&key);
	if (ret < 0) {
		error_set(err, ERROR_TEMP, "gnutls: %s", gnutls_strerror(ret));
		deinit(NULL, c);
		return -1;
	}
	ret = gnutls_privkey_import_ext4(key, c, sign_data, sign_hash, decrypt, deinit,
					 info, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
	if (ret < 0) {
		error_set(err, ERROR_TEMP, "gnutls: %s", gnutls_strerror(ret));
		gnutls_privkey_deinit(key);
		deinit(NULL, c);
		return -1;
	}
	*key_r = key;
	return 0;
}
