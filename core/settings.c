/* Roost's own settings from a parsed config; see settings.h. */
#include "config.h"
#include "settings.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth-mechanisms.h"
#include "log.h"

/* How much of a user-written name is quoted in an error message. */
#define SETTINGS_MESSAGE_NAME_MAX 96
#define SETTINGS_NAME_TEXT_SIZE (SETTINGS_MESSAGE_NAME_MAX * 4 + 1)

/* Each auth worker holds its own passdb connections and a process (a few
 * MiB); beyond 64 the database, not the worker count, is the limit. */
#define SETTINGS_AUTH_WORKER_PROCESSES_MAX 64
/* Sessions per mail worker: each holds up to three descriptors (client,
 * mailbox lock, open message) and the default RLIMIT_NOFILE soft limit
 * is 1024; and one blocking storage call stalls all of a worker's
 * sessions, so more would not pay. */
#define SETTINGS_MAIL_WORKER_CLIENT_LIMIT_MAX 256

/* Master user separators: punctuation that the user name character set
 * (auth-username.h) does not allow, so a name splits in one way only. */
#define SETTINGS_SEPARATOR_CHARS "*#!%&,:;=^|~"
/* EXPIRE's days: 9 digits is beyond any retention policy and fits the
 * 32-bit values clients parse it into. */
#define SETTINGS_EXPIRE_DIGITS_MAX 9

/* The only protocol Roost serves; other service names are typos. */
#define SETTINGS_KNOWN_SERVICE "pop3"

#define ROOT_DEF(key, type, field, dflt) \
	{ key, type, offsetof(struct roost_settings, field), dflt, NULL }

const struct config_setting_def settings_root_defs[] = {
	ROOT_DEF("base_dir", CONFIG_TYPE_STRING, base_dir, RUN_DIR),
	ROOT_DEF("pid_file", CONFIG_TYPE_STRING, pid_file, ""),
	ROOT_DEF("module_dir", CONFIG_TYPE_STRING, module_dir, MODULE_DIR),
	ROOT_DEF("listen", CONFIG_TYPE_STRING, listen, "*, ::"),
	{ "ssl", CONFIG_TYPE_ENUM, offsetof(struct roost_settings, ssl),
	  "required", "no|yes|required" },
	ROOT_DEF("ssl_cert", CONFIG_TYPE_STRING, ssl_cert, NULL),
	ROOT_DEF("ssl_key", CONFIG_TYPE_STRING, ssl_key, NULL),
	/* TLS 1.2 and 1.3 only, AEAD ciphers only, forward-secret key
	 * exchange only (no RSA key transport: ROBOT), server's order: what
	 * testssl.sh rates clean (issue 9). Every POP3 client still in use
	 * speaks TLS 1.2 (RFC 8314 requires it). X25519 before the NIST
	 * curves and AES-128 before AES-256 (as Mozilla's recommended
	 * configurations order them): a full handshake costs the server and
	 * the client 20-35 % less CPU than with GnuTLS's SECP256R1 and
	 * AES-256-GCM/SHA-384 first (contrib/bench, issue 8). */
	ROOT_DEF("ssl_priority", CONFIG_TYPE_STRING, ssl_priority,
		 SETTINGS_SSL_PRIORITY_DEFAULT),
	ROOT_DEF("ssl_exempt_loopback", CONFIG_TYPE_BOOL, ssl_exempt_loopback,
		 "yes"),
	/* Verifies back ends proxied with ssl=yes / starttls=yes. */
	ROOT_DEF("proxy_ssl_ca_file", CONFIG_TYPE_STRING, proxy_ssl_ca_file, ""),
	ROOT_DEF("login_user", CONFIG_TYPE_STRING, login_user, "roostlogin"),
	ROOT_DEF("auth_user", CONFIG_TYPE_STRING, auth_user, "roost"),
	ROOT_DEF("login_chroot", CONFIG_TYPE_BOOL, login_chroot, "yes"),
	ROOT_DEF("login_processes", CONFIG_TYPE_UINT, login_processes, "2"),
	ROOT_DEF("login_client_limit", CONFIG_TYPE_UINT, login_client_limit,
		 "1000"),
	ROOT_DEF("login_idle_timeout", CONFIG_TYPE_DURATION,
		 login_idle_timeout, "60s"),
	ROOT_DEF("login_greeting", CONFIG_TYPE_STRING, login_greeting,
		 "Roost ready."),
	ROOT_DEF("mail", CONFIG_TYPE_STRING, mail, "maildir:~/Maildir"),
	ROOT_DEF("mail_idle_timeout", CONFIG_TYPE_DURATION, mail_idle_timeout,
		 "10m"),
	/* Concurrent sessions; with one process per session (1-2 MiB
	 * each) 1000 is about 2 GiB. */
	ROOT_DEF("mail_process_limit", CONFIG_TYPE_UINT, mail_process_limit,
		 "1000"),
	/* Sessions of one uid/gid per mail worker (doc/performance.md):
	 * a login then costs no fork, while a long storage call (a first
	 * STAT of a huge mailbox) stalls at most this many sessions. */
	ROOT_DEF("mail_worker_client_limit", CONFIG_TYPE_UINT,
		 mail_worker_client_limit, "32"),
	/* One POP3 client per device: 10 covers a household's devices;
	 * a NAT gateway of a small office shows many users from one address. */
	ROOT_DEF("mail_sessions_per_user_max", CONFIG_TYPE_UINT,
		 mail_sessions_per_user_max, "10"),
	ROOT_DEF("mail_sessions_per_ip_max", CONFIG_TYPE_UINT,
		 mail_sessions_per_ip_max, "50"),
	ROOT_DEF("login_delay", CONFIG_TYPE_DURATION, login_delay, "0"),
	ROOT_DEF("mail_expire", CONFIG_TYPE_STRING, mail_expire, ""),
	ROOT_DEF("first_valid_uid", CONFIG_TYPE_UINT, first_valid_uid, "500"),
	ROOT_DEF("last_valid_uid", CONFIG_TYPE_UINT, last_valid_uid, "0"),
	ROOT_DEF("auth_failure_delay", CONFIG_TYPE_DURATION,
		 auth_failure_delay, "2s"),
	ROOT_DEF("auth_mechanisms", CONFIG_TYPE_STRING, auth_mechanisms,
		 "plain login"),
	ROOT_DEF("auth_worker_processes", CONFIG_TYPE_UINT,
		 auth_worker_processes, "4"),
	ROOT_DEF("auth_cache_size", CONFIG_TYPE_UINT, auth_cache_size, "0"),
	ROOT_DEF("auth_cache_ttl", CONFIG_TYPE_DURATION, auth_cache_ttl, "1h"),
	ROOT_DEF("auth_cache_negative_ttl", CONFIG_TYPE_DURATION,
		 auth_cache_negative_ttl, "1h"),
	ROOT_DEF("auth_username_lowercase", CONFIG_TYPE_BOOL,
		 auth_username_lowercase, "no"),
	ROOT_DEF("auth_default_domain", CONFIG_TYPE_STRING, auth_default_domain,
		 ""),
	ROOT_DEF("auth_master_user_separator", CONFIG_TYPE_STRING,
		 auth_master_user_separator, ""),
	ROOT_DEF("log_debug", CONFIG_TYPE_BOOL, log_debug, "no"),
	{ "log_facility", CONFIG_TYPE_ENUM,
	  offsetof(struct roost_settings, log_facility), "mail",
	  SETTINGS_LOG_FACILITIES },
	ROOT_DEF("metrics_listen", CONFIG_TYPE_STRING, metrics_listen, ""),
	{ NULL, CONFIG_TYPE_STRING, 0, NULL, NULL },
};

const struct config_setting_def settings_listener_defs[] = {
	/* No default: a listener without a port is an error. */
	{ "port", CONFIG_TYPE_PORT, offsetof(struct listener_settings, port),
	  NULL, NULL },
	{ "address", CONFIG_TYPE_STRING,
	  offsetof(struct listener_settings, address), NULL, NULL },
	{ "tls", CONFIG_TYPE_BOOL, offsetof(struct listener_settings, tls),
	  "no", NULL },
	{ NULL, CONFIG_TYPE_STRING, 0, NULL, NULL },
};

/* A service section has no keys of its own, only listeners. */
static const struct config_setting_def service_defs[] = {
	{ NULL, CONFIG_TYPE_STRING, 0, NULL, NULL },
};

static const char *name_text(char *out, const char *name)
{
	size_t len = strlen(name);
	if (len > SETTINGS_MESSAGE_NAME_MAX)
		len = SETTINGS_MESSAGE_NAME_MAX;
	return log_escape(out, SETTINGS_NAME_TEXT_SIZE, name, len);
}

static int reject_child_sections(const struct config_section *sec,
				 struct error *err)
{
	if (sec->sections_count == 0)
		return 0;
	const struct config_section *child = &sec->sections[0];
	char type[SETTINGS_NAME_TEXT_SIZE];
	char parent[SETTINGS_NAME_TEXT_SIZE];
	error_set(err, ERROR_INVALID, "%s:%u: unknown section '%s' in '%s'",
		  child->file, child->line, name_text(type, child->type),
		  name_text(parent, sec->type));
	return -1;
}

static int parse_listener(pool_t *pool, const struct config_section *sec,
			  struct listener_settings *listener,
			  struct error *err)
{
	if (sec->name == NULL) {
		error_set(err, ERROR_INVALID,
			  "%s:%u: listener needs a name (listener NAME { port = N })",
			  sec->file, sec->line);
		return -1;
	}
	if (config_apply(settings_listener_defs, sec, listener, pool, err) < 0)
		return -1;
	if (reject_child_sections(sec, err) < 0)
		return -1;
	char name[SETTINGS_NAME_TEXT_SIZE];
	if (config_find(sec, "port") == NULL) {
		error_set(err, ERROR_INVALID, "%s:%u: listener '%s' has no port",
			  sec->file, sec->line, name_text(name, sec->name));
		return -1;
	}
	listener->name = pool_strdup(pool, sec->name);
	listener->file = sec->file;
	listener->line = sec->line;
	return 0;
}

static int parse_service(pool_t *pool, const struct config_section *sec,
			 struct service_settings *service, struct error *err)
{
	char name[SETTINGS_NAME_TEXT_SIZE];
	char type[SETTINGS_NAME_TEXT_SIZE];
	if (sec->name == NULL) {
		error_set(err, ERROR_INVALID,
			  "%s:%u: service needs a protocol name (service %s { ... })",
			  sec->file, sec->line, SETTINGS_KNOWN_SERVICE);
		return -1;
	}
	if (strcmp(sec->name, SETTINGS_KNOWN_SERVICE) != 0) {
		error_set(err, ERROR_INVALID,
			  "%s:%u: unknown service '%s' (known: %s)", sec->file,
			  sec->line, name_text(name, sec->name),
			  SETTINGS_KNOWN_SERVICE);
		return -1;
	}
	char unused;
	if (config_apply(service_defs, sec, &unused, pool, err) < 0)
		return -1;

	service->protocol = pool_strdup(pool, sec->name);
	service->listeners = pool_alloc(pool, (sec->sections_count + 1) *
					sizeof(*service->listeners));
	for (unsigned i = 0; i < sec->sections_count; i++) {
		const struct config_section *child = &sec->sections[i];
		if (strcmp(child->type, "listener") != 0) {
			error_set(err, ERROR_INVALID,
				  "%s:%u: unknown section '%s' in service (expected listener)",
				  child->file, child->line,
				  name_text(type, child->type));
			return -1;
		}
		struct listener_settings *listener =
			&service->listeners[service->listeners_count];
		if (parse_listener(pool, child, listener, err) < 0)
			return -1;
		for (unsigned j = 0; j < service->listeners_count; j++) {
			const struct listener_settings *other =
				&service->listeners[j];
			if (strcmp(other->name, listener->name) == 0) {
				error_set(err, ERROR_INVALID,
					  "%s:%u: listener '%s' is already defined at %s:%u",
					  listener->file, listener->line,
					  name_text(name, listener->name),
					  other->file, other->line);
				return -1;
			}
		}
		service->listeners_count++;
	}
	if (service->listeners_count == 0) {
		error_set(err, ERROR_INVALID,
			  "%s:%u: service '%s' has no listener (listener NAME { port = N })",
			  sec->file, sec->line, name_text(name, sec->name));
		return -1;
	}
	return 0;
}

static int parse_chain_action(const struct config_setting *s,
			      const char *allowed, unsigned *action_r,
			      struct error *err)
{
	static const struct { const char *name; unsigned action; } names[] = {
		{ "return-ok", PASSDB_CHAIN_RETURN_OK },
		{ "continue", PASSDB_CHAIN_CONTINUE },
		{ "return-fail", PASSDB_CHAIN_RETURN_FAIL },
	};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s->value, names[i].name) == 0 &&
		    strstr(allowed, names[i].name) != NULL) {
			*action_r = names[i].action;
			return 0;
		}
	}
	char value[SETTINGS_NAME_TEXT_SIZE];
	error_set(err, ERROR_INVALID, "%s:%u: invalid %s '%s' (expected %s)",
		  s->file, s->line, s->key, name_text(value, s->value), allowed);
	return -1;
}

static int parse_master_flag(const struct config_setting *s, bool *master_r,
			     struct error *err)
{
	if (strcmp(s->value, "yes") == 0 || strcmp(s->value, "no") == 0) {
		*master_r = strcmp(s->value, "yes") == 0;
		return 0;
	}
	char value[SETTINGS_NAME_TEXT_SIZE];
	error_set(err, ERROR_INVALID, "%s:%u: invalid master '%s' (expected yes|no)",
		  s->file, s->line, name_text(value, s->value));
	return -1;
}

/* A passdb section's chain keys are the core's: they are taken out of
 * the copy the module sees. */
static int split_passdb_keys(pool_t *pool, struct db_settings *db,
			     struct error *err)
{
	const struct config_section *sec = db->written;
	struct config_section *copy = pool_alloc(pool, sizeof(*copy));
	*copy = *sec;
	copy->settings = pool_alloc(pool, (sec->settings_count + 1) *
				    sizeof(*copy->settings));
	copy->settings_count = 0;
	for (unsigned i = 0; i < sec->settings_count; i++) {
		const struct config_setting *s = &sec->settings[i];
		int r = 0;
		if (strcmp(s->key, "result_success") == 0)
			r = parse_chain_action(s, "return-ok|continue",
					       &db->result_success, err);
		else if (strcmp(s->key, "result_failure") == 0)
			r = parse_chain_action(s, "continue|return-fail",
					       &db->result_failure, err);
		else if (strcmp(s->key, "master") == 0)
			r = parse_master_flag(s, &db->master, err);
		else
			copy->settings[copy->settings_count++] = *s;
		if (r < 0)
			return -1;
	}
	db->section = copy;
	return 0;
}

static int parse_db(const struct config_section *sec, struct db_settings *db,
		    struct error *err)
{
	if (sec->name == NULL) {
		char type[SETTINGS_NAME_TEXT_SIZE];
		name_text(type, sec->type);
		error_set(err, ERROR_INVALID,
			  "%s:%u: %s needs a driver name (%s DRIVER { ... })",
			  sec->file, sec->line, type, type);
		return -1;
	}
	db->driver = sec->name;
	db->section = sec;
	db->written = sec;
	db->module_settings = NULL;
	return 0;
}

static unsigned count_sections(const struct config_section *root,
			       const char *type)
{
	unsigned count = 0;
	for (unsigned i = 0; i < root->sections_count; i++) {
		if (strcmp(root->sections[i].type, type) == 0)
			count++;
	}
	return count;
}

static int parse_sections(pool_t *pool, const struct config_section *root,
			  struct roost_settings *set, struct error *err)
{
	/* +1: pool_alloc(0) is fine, but keeps arrays non-NULL and simple. */
	set->services = pool_alloc(pool, (count_sections(root, "service") + 1) *
				   sizeof(*set->services));
	set->passdbs = pool_alloc(pool, (count_sections(root, "passdb") + 1) *
				  sizeof(*set->passdbs));
	set->userdbs = pool_alloc(pool, (count_sections(root, "userdb") + 1) *
				  sizeof(*set->userdbs));
	for (unsigned i = 0; i < root->sections_count; i++) {
		const struct config_section *sec = &root->sections[i];
		if (strcmp(sec->type, "service") == 0) {
			struct service_settings *service =
				&set->services[set->services_count];
			if (parse_service(pool, sec, service, err) < 0)
				return -1;
			for (unsigned j = 0; j < set->services_count; j++) {
				if (strcmp(set->services[j].protocol,
					   service->protocol) == 0) {
					error_set(err, ERROR_INVALID,
						  "%s:%u: service '%s' is defined twice (put all its listeners in one section)",
						  sec->file, sec->line,
						  service->protocol);
					return -1;
				}
			}
			set->services_count++;
		} else if (strcmp(sec->type, "passdb") == 0) {
			if (parse_db(sec, &set->passdbs[set->passdbs_count],
				     err) < 0 ||
			    split_passdb_keys(pool, &set->passdbs[set->passdbs_count],
					      err) < 0)
				return -1;
			set->passdbs_count++;
		} else if (strcmp(sec->type, "userdb") == 0) {
			if (parse_db(sec, &set->userdbs[set->userdbs_count],
				     err) < 0)
				return -1;
			set->userdbs_count++;
		} else {
			char type[SETTINGS_NAME_TEXT_SIZE];
			error_set(err, ERROR_INVALID,
				  "%s:%u: unknown section type '%s' (known: service, passdb, userdb)",
				  sec->file, sec->line,
				  name_text(type, sec->type));
			return -1;
		}
	}
	return 0;
}

/* True when address appears in the comma or space separated list. */
static bool address_list_contains(const char *list, const char *address,
				  size_t address_len)
{
	const char *p = list;
	while (*p != '\0') {
		p += strspn(p, ", \t");
		size_t len = strcspn(p, ", \t");
		if (len > 0 && len == address_len && memcmp(p, address, len) == 0)
			return true;
		p += len;
	}
	return false;
}

/* The first address two listeners both bind, or false. */
static bool listeners_overlap(const struct roost_settings *set,
			      const struct listener_settings *a,
			      const struct listener_settings *b,
			      const char **address_r, size_t *len_r)
{
	if (a->port != b->port)
		return false;
	const char *list_a = a->address != NULL ? a->address : set->listen;
	const char *list_b = b->address != NULL ? b->address : set->listen;
	const char *p = list_a;
	while (*p != '\0') {
		p += strspn(p, ", \t");
		size_t len = strcspn(p, ", \t");
		if (len > 0 && address_list_contains(list_b, p, len)) {
			*address_r = p;
			*len_r = len;
			return true;
		}
		p += len;
	}
	return false;
}

static int check_duplicate_listeners(const struct roost_settings *set,
				     struct error *err)
{
	for (unsigned s = 0; s < set->services_count; s++) {
		const struct service_settings *service = &set->services[s];
		for (unsigned l = 0; l < service->listeners_count; l++) {
			const struct listener_settings *a =
				&service->listeners[l];
			for (unsigned s2 = 0; s2 <= s; s2++) {
				const struct service_settings *other_service =
					&set->services[s2];
				unsigned end = s2 == s ? l :
					other_service->listeners_count;
				for (unsigned l2 = 0; l2 < end; l2++) {
					const struct listener_settings *b =
						&other_service->listeners[l2];
					const char *address;
					size_t len;
					if (!listeners_overlap(set, a, b,
							       &address, &len))
						continue;
					char name[SETTINGS_NAME_TEXT_SIZE];
					char other[SETTINGS_NAME_TEXT_SIZE];
					char addr[SETTINGS_NAME_TEXT_SIZE];
					error_set(err, ERROR_INVALID,
						  "%s:%u: listener '%s' uses address %s port %u, already used by listener '%s' at %s:%u",
						  a->file, a->line,
						  name_text(name, a->name),
						  log_escape(addr, sizeof(addr),
							     address,
							     len > SETTINGS_MESSAGE_NAME_MAX ?
							     SETTINGS_MESSAGE_NAME_MAX : len),
						  a->port,
						  name_text(other, b->name),
						  b->file, b->line);
					return -1;
				}
			}
		}
	}
	return 0;
}

static bool is_set(const char *value)
{
	return value != NULL && value[0] != '\0';
}

/* "FILE:LINE: " of a top-level key, or "FILE: " when it is not set. */
static void key_position(const struct config_section *root, const char *key,
			 char *out, size_t size)
{
	const struct config_setting *s = config_find(root, key);
	if (s != NULL)
		snprintf(out, size, "%s:%u", s->file, s->line);
	else
		snprintf(out, size, "%s", root->file);
}

/* mail_expire: "" (not announced), "never" or a number of days. */
static bool expire_valid(const char *value)
{
	if (value[0] == '\0' || strcasecmp(value, "never") == 0)
		return true;
	size_t len = strlen(value);
	return len <= SETTINGS_EXPIRE_DIGITS_MAX &&
		strspn(value, "0123456789") == len;
}

/* Master passdbs, the separator and the policy values agree. */
static int check_tenant_settings(const struct roost_settings *set,
				 struct error *err)
{
	char where[SETTINGS_NAME_TEXT_SIZE];
	const char *sep = set->auth_master_user_separator;
	unsigned masters = 0;
	for (unsigned i = 0; i < set->passdbs_count; i++)
		masters += set->passdbs[i].master ? 1 : 0;
	if (sep[0] != '\0' &&
	    (sep[1] != '\0' || strchr(SETTINGS_SEPARATOR_CHARS, sep[0]) == NULL)) {
		key_position(set->root, "auth_master_user_separator", where, sizeof(where));
		error_set(err, ERROR_INVALID,
			  "%s: auth_master_user_separator must be one of the characters %s",
			  where, SETTINGS_SEPARATOR_CHARS);
		return -1;
	}
	if (masters > 0 && sep[0] == '\0') {
		error_set(err, ERROR_INVALID,
			  "%s: a passdb has master = yes but auth_master_user_separator is not set",
			  set->root->file);
		return -1;
	}
	if (masters == set->passdbs_count) {
		error_set(err, ERROR_INVALID,
			  "%s: every passdb has master = yes; users need a passdb without it",
			  set->root->file);
		return -1;
	}
	if (!expire_valid(set->mail_expire)) {
		key_position(set->root, "mail_expire", where, sizeof(where));
		error_set(err, ERROR_INVALID,
			  "%s: mail_expire must be empty, 'never' or a number of days",
			  where);
		return -1;
	}
	return 0;
}

static int check_auth_settings(const struct roost_settings *set,
			       struct error *err)
{
	char where[SETTINGS_NAME_TEXT_SIZE];
	unsigned mask;
	struct error sub;
	if (check_tenant_settings(set, err) < 0)
		return -1;
	if (auth_mechanisms_parse(set->auth_mechanisms, &mask, &sub) < 0) {
		key_position(set->root, "auth_mechanisms", where, sizeof(where));
		error_set(err, ERROR_INVALID, "%s: %s", where, sub.message);
		return -1;
	}
	if (set->mail_worker_client_limit == 0 ||
	    set->mail_worker_client_limit > SETTINGS_MAIL_WORKER_CLIENT_LIMIT_MAX) {
		key_position(set->root, "mail_worker_client_limit", where, sizeof(where));
		error_set(err, ERROR_INVALID,
			  "%s: mail_worker_client_limit must be 1..%u",
			  where, SETTINGS_MAIL_WORKER_CLIENT_LIMIT_MAX);
		return -1;
	}
	if (set->auth_worker_processes == 0 ||
	    set->auth_worker_processes > SETTINGS_AUTH_WORKER_PROCESSES_MAX) {
		key_position(set->root, "auth_worker_processes", where, sizeof(where));
		error_set(err, ERROR_INVALID,
			  "%s: auth_worker_processes must be 1..%u",
			  where, SETTINGS_AUTH_WORKER_PROCESSES_MAX);
		return -1;
	}
	return 0;
}

int settings_parse_host_port(const char *text, char *addr, size_t addr_size,
			     unsigned *port_r, struct error *err)
{
	const char *colon = strrchr(text, ':');
	const char *host = text;
	size_t host_len = colon != NULL ? (size_t)(colon - text) : 0;
	if (host_len >= 2 && text[0] == '[' && text[host_len - 1] == ']') {
		host++;
		host_len -= 2;
	} else if (host_len > 0 && memchr(text, ':', host_len) != NULL) {
		host_len = 0;   /* an IPv6 address needs brackets */
	}
	char buf[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	unsigned long port = 0;
	char *end = NULL;
	if (colon != NULL && colon[1] >= '0' && colon[1] <= '9')
		port = strtoul(colon + 1, &end, 10);
	if (host_len == 0 || host_len >= sizeof(buf) || host_len >= addr_size ||
	    end == NULL || *end != '\0' || port == 0 || port > 65535) {
		error_set(err, ERROR_INVALID,
			  "expected ADDRESS:PORT or [IPV6]:PORT with a numeric address");
		return -1;
	}
	memcpy(buf, host, host_len);
	buf[host_len] = '\0';
	if (inet_pton(AF_INET, buf, bin) != 1 && inet_pton(AF_INET6, buf, bin) != 1) {
		char name[SETTINGS_NAME_TEXT_SIZE];
		error_set(err, ERROR_INVALID, "'%s' is not a numeric IP address",
			  name_text(name, buf));
		return -1;
	}
	memcpy(addr, buf, host_len + 1);
	*port_r = (unsigned)port;
	return 0;
}

static int check_metrics_listen(const struct roost_settings *set,
				struct error *err)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned port;
	if (set->metrics_listen == NULL || set->metrics_listen[0] == '\0' ||
	    settings_parse_host_port(set->metrics_listen, addr, sizeof(addr),
				     &port, err) == 0)
		return 0;
	const struct config_setting *s = config_find(set->root, "metrics_listen");
	char msg[ERROR_MESSAGE_MAX];
	snprintf(msg, sizeof(msg), "%s", err->message);
	error_set(err, ERROR_INVALID, "%s:%u: metrics_listen: %s",
		  s != NULL ? s->file : set->root->file, s != NULL ? s->line : 0, msg);
	return -1;
}

static int check_whole_config(const struct roost_settings *set,
			      struct error *err)
{
	const struct config_section *root = set->root;
	if (check_metrics_listen(set, err) < 0)
		return -1;
	if (set->services_count == 0) {
		error_set(err, ERROR_INVALID,
			  "%s: no service defined (service pop3 { listener pop3 { port = 110 } })",
			  root->file);
		return -1;
	}
	if (set->passdbs_count == 0) {
		error_set(err, ERROR_INVALID,
			  "%s: no passdb defined (passdb DRIVER { ... })",
			  root->file);
		return -1;
	}
	if (check_auth_settings(set, err) < 0)
		return -1;
	if (set->ssl != SSL_MODE_NO &&
	    (!is_set(set->ssl_cert) || !is_set(set->ssl_key))) {
		const struct config_setting *ssl = config_find(root, "ssl");
		const char *missing = !is_set(set->ssl_cert) ? "ssl_cert" :
			"ssl_key";
		if (ssl != NULL)
			error_set(err, ERROR_INVALID,
				  "%s:%u: ssl = %s needs ssl_cert and ssl_key (%s is not set)",
				  ssl->file, ssl->line,
				  set->ssl == SSL_MODE_YES ? "yes" : "required",
				  missing);
		else
			error_set(err, ERROR_INVALID,
				  "%s: ssl is 'required' by default and needs ssl_cert and ssl_key (%s is not set; or set ssl = no)",
				  root->file, missing);
		return -1;
	}
	return check_duplicate_listeners(set, err);
}

static struct roost_settings *settings_from_root(pool_t *pool,
						 const char *path,
						 const struct config_section *root,
						 struct error *err)
{
	struct roost_settings *set = pool_alloc(pool, sizeof(*set));
	set->config_path = pool_strdup(pool, path);
	set->root = root;
	if (config_apply(settings_root_defs, root, set, pool, err) < 0)
		return NULL;
	if (parse_sections(pool, root, set, err) < 0)
		return NULL;
	if (check_whole_config(set, err) < 0)
		return NULL;
	return set;
}

struct roost_settings *settings_load(pool_t *pool, const char *path,
				     struct error *err)
{
	struct config_section *root = config_parse_file(pool, path, err);
	if (root == NULL)
		return NULL;
	return settings_from_root(pool, path, root, err);
}

struct roost_settings *settings_load_string(pool_t *pool, const char *name,
					    const char *text,
					    struct error *err)
{
	struct config_section *root = config_parse_string(pool, name, text, err);
	if (root == NULL)
		return NULL;
	return settings_from_root(pool, name, root, err);
}

static void write_listener(struct buffer *out,
			   const struct listener_settings *listener)
{
	buffer_append_str(out, "  listener ");
	config_write_name(out, listener->name);
	buffer_append_str(out, " {\n");
	char port[16];
	snprintf(port, sizeof(port), "%u", listener->port);
	config_write_setting(out, "port", port, 2);
	if (listener->address != NULL)
		config_write_setting(out, "address", listener->address, 2);
	config_write_setting(out, "tls", listener->tls ? "yes" : "no", 2);
	buffer_append_str(out, "  }\n");
}

void settings_write_nondefault(struct buffer *out,
			       const struct roost_settings *set)
{
	config_write_nondefault(out, settings_root_defs, set->root, 0);
	for (unsigned s = 0; s < set->services_count; s++) {
		const struct service_settings *service = &set->services[s];
		buffer_append_str(out, "service ");
		config_write_name(out, service->protocol);
		buffer_append_str(out, " {\n");
		for (unsigned l = 0; l < service->listeners_count; l++)
			write_listener(out, &service->listeners[l]);
		buffer_append_str(out, "}\n");
	}
	for (unsigned i = 0; i < set->passdbs_count; i++)
		config_write_section(out, set->passdbs[i].written, 0);
	for (unsigned i = 0; i < set->userdbs_count; i++)
		config_write_section(out, set->userdbs[i].written, 0);
}
