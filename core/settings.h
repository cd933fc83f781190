/*
 * Roost's own settings: the typed view of a parsed config file.
 *
 * settings_load() reads the file, checks every top-level key and the
 * service/listener sections, and collects passdb/userdb sections without
 * judging their keys (their module's settings table does that once the
 * module is loaded; see settings_check_modules()). Everything lives in the
 * pool passed in, so a reload builds a whole new struct in a new pool and
 * the old one stays intact if the new file is broken.
 */
#ifndef ROOST_SETTINGS_H
#define ROOST_SETTINGS_H

#include <stdbool.h>

#include "buffer.h"
#include "config-parser.h"
#include "error.h"
#include "pool.h"

enum ssl_mode {
	SSL_MODE_NO = 0,
	SSL_MODE_YES = 1,
	SSL_MODE_REQUIRED = 2,
};

struct listener_settings {
	const char *name;
	const char *address;   /* NULL: the global `listen` addresses */
	unsigned port;
	bool tls;              /* implicit TLS (pop3s) */
	const char *file;
	unsigned line;
};

struct service_settings {
	const char *protocol;  /* section name: "pop3" */
	struct listener_settings *listeners;
	unsigned listeners_count;
};

/* What a passdb's answer does to the chain (passdb-chain.h). */
enum passdb_chain_action {
	PASSDB_CHAIN_DEFAULT = 0,  /* success: return-ok; failure: an unknown
				      user continues, anything else fails */
	PASSDB_CHAIN_RETURN_OK,
	PASSDB_CHAIN_CONTINUE,
	PASSDB_CHAIN_RETURN_FAIL,
};

/* The default ssl_priority (GnuTLS priority string); see settings.c. */
#define SETTINGS_SSL_PRIORITY_DEFAULT \
	"SECURE:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:" \
	"+AES-128-CCM:+AES-256-CCM:-MAC-ALL:+AEAD:" \
	"-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:+DHE-RSA:" \
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-X448:" \
	"+GROUP-SECP384R1:+GROUP-SECP521R1:+GROUP-FFDHE2048:" \
	"+GROUP-FFDHE3072:+GROUP-FFDHE4096:+GROUP-FFDHE6144:" \
	"+GROUP-FFDHE8192:%SERVER_PRECEDENCE"

struct db_settings {
	const char *driver;                    /* section name */
	/* Its keys for the module: the core keys (result_success,
	 * result_failure) are taken out by settings_load(). */
	const struct config_section *section;
	const struct config_section *written;  /* as in the file, for roost -n */
	void *module_settings;                 /* filled by settings_check_modules() */
	unsigned result_success;               /* enum passdb_chain_action */
	unsigned result_failure;
	/* master = yes: checks master users' passwords only (passdb-chain.h);
	 * never part of the normal chain. */
	bool master;
};

struct roost_settings {
	const char *config_path;
	const char *base_dir;
	const char *pid_file;       /* "" -> BASE_DIR/master.pid */
	const char *module_dir;
	const char *listen;         /* comma or space separated addresses */

	unsigned ssl;               /* enum ssl_mode */
	const char *ssl_cert;
	const char *ssl_key;
	const char *ssl_priority;
	bool ssl_exempt_loopback;   /* plaintext login allowed on 127/8, ::1 */
	const char *proxy_ssl_ca_file;  /* "" -> the system's CAs */

	const char *login_user;
	const char *auth_user;
	bool login_chroot;
	unsigned login_processes;
	unsigned login_client_limit;
	unsigned login_idle_timeout;   /* ms */
	const char *login_greeting;

	const char *mail;              /* default mail location */
	unsigned mail_idle_timeout;    /* ms */
	unsigned mail_process_limit;   /* concurrent mail sessions */
	/* Sessions of one uid/gid a mail worker serves at once; 1: one
	 * process per session. */
	unsigned mail_worker_client_limit;
	unsigned first_valid_uid;
	unsigned last_valid_uid;       /* 0: no upper limit */
	/* Concurrent sessions, enforced by the master at hand-over
	 * (doc/virtual-users.md); 0: no limit. */
	unsigned mail_sessions_per_user_max;
	unsigned mail_sessions_per_ip_max;
	/* RFC 2449 policy defaults for users without their own field:
	 * login_delay in ms (enforced, announced in seconds); mail_expire ""
	 * (not announced), "never" or a number of days (announced only). */
	unsigned login_delay;
	const char *mail_expire;

	unsigned auth_failure_delay;   /* ms */
	const char *auth_mechanisms;   /* checked by auth_mechanisms_parse() */
	unsigned auth_worker_processes;
	unsigned auth_cache_size;      /* entries; 0 = no cache */
	unsigned auth_cache_ttl;       /* ms */
	unsigned auth_cache_negative_ttl;  /* ms */
	/* User name normalisation and master users (auth-username.h). */
	bool auth_username_lowercase;
	const char *auth_default_domain;      /* "": none */
	const char *auth_master_user_separator;  /* "": master users off */
	bool log_debug;
	unsigned log_facility;         /* index into SETTINGS_LOG_FACILITIES */
	const char *metrics_listen;    /* "ADDR:PORT", "[V6]:PORT" or "" (off) */

	struct service_settings *services;
	unsigned services_count;
	struct db_settings *passdbs;
	unsigned passdbs_count;
	struct db_settings *userdbs;
	unsigned userdbs_count;

	const struct config_section *root;
};

/* log_facility values, in the order of the enum setting. */
#define SETTINGS_LOG_FACILITIES \
	"mail|daemon|user|local0|local1|local2|local3|local4|local5|local6|local7"

extern const struct config_setting_def settings_root_defs[];
extern const struct config_setting_def settings_listener_defs[];

/* Parses and checks path. NULL with err ("FILE:LINE: ...") on any error,
 * including: no service, no listener, no passdb, ssl != no without
 * ssl_cert/ssl_key. */
struct roost_settings *settings_load(pool_t *pool, const char *path,
				     struct error *err);
/* Same from text (tests, fuzzing). */
struct roost_settings *settings_load_string(pool_t *pool, const char *name,
					    const char *text,
					    struct error *err);

/* Splits "ADDR:PORT" or "[IPV6]:PORT" (numeric addresses only) for
 * metrics_listen; addr_size should be at least 46 (INET6_ADDRSTRLEN). */
int settings_parse_host_port(const char *text, char *addr, size_t addr_size,
			     unsigned *port_r, struct error *err);

/* Writes the settings that differ from their defaults, as config text
 * (roost -n). Module sections are written in full. */
void settings_write_nondefault(struct buffer *out,
			       const struct roost_settings *set);

#endif
