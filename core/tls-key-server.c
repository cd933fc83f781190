/* The key process; see tls-key-server.h and tls-key-protocol.h. */
#include "config.h"
#include "tls-key-server.h"

#include "log.h"
#include "privilege-drop.h"
#include "tls-key-protocol.h"

#include <errno.h>
#include <grp.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Requests are read into a buffer this large; one byte more than the
 * largest valid request, so that recv(MSG_TRUNC) tells an oversized one
 * apart. */
#define REQUEST_BUFFER_SIZE (sizeof(struct tls_key_request) + TLS_KEY_PAYLOAD_MAX + 1)

/* Into *key_r (the caller deinits it). Going through the credentials
 * makes GnuTLS check that the key belongs to the certificate, exactly as
 * gnutls_certificate_set_x509_key_file() always did for login processes,
 * with the same error for the admin. */
static int load_key(const char *cert_path, const char *key_path,
		    gnutls_privkey_t *key_r, struct error *err)
{
	gnutls_certificate_credentials_t cred;
	int ret = gnutls_global_init();
	if (ret >= 0)
		ret = gnutls_certificate_allocate_credentials(&cred);
	if (ret < 0) {
		error_set(err, ERROR_TEMP, "gnutls: %s", gnutls_strerror(ret));
		return -1;
	}
	ret = gnutls_certificate_set_x509_key_file(cred, cert_path, key_path,
						   GNUTLS_X509_FMT_PEM);
	if (ret < 0) {
		error_set(err, ERROR_PERM, "cannot load ssl_cert %s / ssl_key %s: %s",
			  cert_path, key_path, gnutls_strerror(ret));
		gnutls_certificate_free_credentials(cred);
		return -1;
	}
	gnutls_x509_privkey_t x509 = NULL;
	ret = gnutls_certificate_get_x509_key(cred, 0, &x509);
	gnutls_certificate_free_credentials(cred);
	gnutls_privkey_t key = NULL;
	if (ret >= 0)
		ret = gnutls_privkey_init(&key);
	if (ret >= 0)
		ret = gnutls_privkey_import_x509(key, x509, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
	if (ret < 0) {
		error_set(err, ERROR_PERM, "ssl_key %s: %s (a key file is needed)",
			  key_path, gnutls_strerror(ret));
		if (key != NULL)
			gnutls_privkey_deinit(key);
		if (x509 != NULL)
			gnutls_x509_privkey_deinit(x509);
		return -1;
	}
	unsigned bits = 0;
	gnutls_privkey_get_pk_algorithm(key, &bits);
	if (bits > TLS_KEY_SIGNATURE_MAX * 8) {
		error_set(err, ERROR_PERM, "ssl_key %s: a %u-bit key is larger than the %u bits supported",
			  key_path, bits, TLS_KEY_SIGNATURE_MAX * 8);
		gnutls_privkey_deinit(key);
		return -1;
	}
	*key_r = key;
	return 0;
}

int tls_key_server_check(const char *cert_path, const char *key_path,
			 struct error *err)
{
	gnutls_privkey_t key;
	if (load_key(cert_path, key_path, &key, err) < 0)
		return -1;
	gnutls_privkey_deinit(key);
	return 0;
}

/* The signature algorithms GnuTLS can make with a key of this type; it
 * picks among them with the client's and our priorities, and checks the
 * certificate's curve itself. */
static void make_hello(gnutls_privkey_t key, struct tls_key_hello *hello)
{
	memset(hello, 0, sizeof(*hello));
	unsigned bits = 0;
	int pk = gnutls_privkey_get_pk_algorithm(key, &bits);
	hello->pk_algorithm = (uint32_t)pk;
	hello->bits = bits;
	for (const gnutls_sign_algorithm_t *s = gnutls_sign_list();
	     *s != GNUTLS_SIGN_UNKNOWN && hello->sign_algorithm_count < TLS_KEY_SIGN_ALGOS_MAX; s++) {
		if (gnutls_sign_supports_pk_algorithm(*s, (gnutls_pk_algorithm_t)pk))
			hello->sign_algorithms[hello->sign_algorithm_count++] = (uint32_t)*s;
	}
}

static void send_reply(int fd, uint32_t id, int status, const gnutls_datum_t *signature)
{
	unsigned char msg[sizeof(struct tls_key_reply) + TLS_KEY_SIGNATURE_MAX];
	struct tls_key_reply reply = { .id = id, .status = status };
	size_t len = sizeof(reply);
	if (status == 0) {
		if (signature->size > TLS_KEY_SIGNATURE_MAX) {
			reply.status = GNUTLS_E_PK_SIGN_FAILED;
		} else {
			memcpy(msg + len, signature->data, signature->size);
			len += signature->size;
		}
	}
	memcpy(msg, &reply, sizeof(reply));
	/* A login process that does not read its answers only stalls its
	 * own slot; EPIPE means it is gone, and recv() will see the EOF. */
	ssize_t ignored = send(fd, msg, len, MSG_NOSIGNAL);
	(void)ignored;
}

/* One request: returns 0 to go on, 1 at EOF, -1 on a socket error. */
static int serve_one(int fd, gnutls_privkey_t key, unsigned char *buf)
{
	ssize_t n = recv(fd, buf, REQUEST_BUFFER_SIZE, MSG_TRUNC);
	if (n < 0 && errno == EINTR)
		return 0;
	if (n < 0) {
		log_error("recv from the login process: %s", strerror(errno));
		return -1;
	}
	if (n == 0)
		return 1;
	struct tls_key_request req;
	if ((size_t)n < sizeof(req)) {
		log_error("Short request (%zd bytes) from the login process", n);
		send_reply(fd, 0, GNUTLS_E_INVALID_REQUEST, NULL);
		return 0;
	}
	memcpy(&req, buf, sizeof(req));
	size_t payload_len = (size_t)n - sizeof(req);
	if (payload_len == 0 || payload_len > TLS_KEY_PAYLOAD_MAX ||
	    (req.op != TLS_KEY_OP_SIGN_DATA && req.op != TLS_KEY_OP_SIGN_HASH)) {
		log_error("Invalid request (op %u, %zu bytes) from the login process",
			  req.op, payload_len);
		send_reply(fd, req.id, GNUTLS_E_INVALID_REQUEST, NULL);
		return 0;
	}
	gnutls_datum_t payload = { buf + sizeof(req), (unsigned)payload_len };
	gnutls_datum_t signature = { NULL, 0 };
	int ret = req.op == TLS_KEY_OP_SIGN_DATA ?
		gnutls_privkey_sign_data2(key, (gnutls_sign_algorithm_t)req.sign_algorithm,
					  req.flags, &payload, &signature) :
		gnutls_privkey_sign_hash2(key, (gnutls_sign_algorithm_t)req.sign_algorithm,
					  req.flags, &payload, &signature);
	if (ret < 0)
		log_debug("Signing with %s failed: %s",
			  gnutls_sign_get_name((gnutls_sign_algorithm_t)req.sign_algorithm),
			  gnutls_strerror(ret));
	send_reply(fd, req.id, ret < 0 ? ret : 0, &signature);
	gnutls_free(signature.data);
	return 0;
}

int tls_key_server_main(const struct tls_key_server_params *p)
{
	struct error err;
	pid_t master = getppid();
	/* Before the key is in memory: nothing but root may attach to us or
	 * get a core dump of it. */
	prctl(PR_SET_DUMPABLE, 0);
	gnutls_privkey_t key;
	if (load_key(p->set->ssl_cert, p->set->ssl_key, &key, &err) < 0) {
		log_error("%s", err.message);
		return 1;
	}
	struct tls_key_hello hello;
	make_hello(key, &hello);
	if (p->privileged &&
	    privilege_drop_to_user("auth_user", p->set->auth_user, NULL, &err) < 0) {
		log_error("%s", err.message);
		gnutls_privkey_deinit(key);
		return 1;
	}
	if (chdir("/") < 0) {
		log_error("chdir(/): %s", strerror(errno));
		gnutls_privkey_deinit(key);
		return 1;
	}
	/* Again after the uid change, which resets both. Undumpable also
	 * keeps the auth process (same user) from reading our memory. */
	prctl(PR_SET_DUMPABLE, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	int status = 0;
	if (getppid() == master) {
		/* EPIPE: the login process is gone already; the EOF ends us. */
		ssize_t ignored = send(p->login_fd, &hello, sizeof(hello), MSG_NOSIGNAL);
		(void)ignored;
		unsigned char buf[REQUEST_BUFFER_SIZE];
		while ((status = serve_one(p->login_fd, key, buf)) == 0)
			;
		status = status < 0 ? 1 : 0;
	}
	gnutls_privkey_deinit(key);
	close(p->login_fd);
	return status;
}
