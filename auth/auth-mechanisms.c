/* The auth_mechanisms setting; see auth-mechanisms.h. */
#include "config.h"
#include "auth-mechanisms.h"

#include "auth-module.h"
#include "log.h"
#include "module.h"

#include <string.h>
#include <strings.h>

/* A list longer than every name together is a typo or garbage. */
#define AUTH_MECHANISM_NAME_MAX 32

static const struct {
	const char *name;
	unsigned bit;
} mechanisms[] = {
	{ "PLAIN", AUTH_MECH_PLAIN },
	{ "LOGIN", AUTH_MECH_LOGIN },
	{ "CRAM-MD5", AUTH_MECH_CRAM_MD5 },
	{ "SCRAM-SHA-256", AUTH_MECH_SCRAM_SHA_256 },
	{ "APOP", AUTH_MECH_APOP },
};

#define MECHANISMS_COUNT (sizeof(mechanisms) / sizeof(mechanisms[0]))

unsigned auth_mechanism_bit(const char *name)
{
	for (unsigned i = 0; i < MECHANISMS_COUNT; i++) {
		if (strcasecmp(mechanisms[i].name, name) == 0)
			return mechanisms[i].bit;
	}
	return 0;
}

int auth_mechanisms_parse(const char *list, unsigned *mask_r,
			  struct error *err)
{
	unsigned mask = 0;
	const char *p = list != NULL ? list : "";
	while (*p != '\0') {
		p += strspn(p, ", \t");
		size_t len = strcspn(p, ", \t");
		if (len == 0)
			break;
		char word[AUTH_MECHANISM_NAME_MAX + 1];
		unsigned bit = 0;
		if (len <= AUTH_MECHANISM_NAME_MAX) {
			memcpy(word, p, len);
			word[len] = '\0';
			bit = auth_mechanism_bit(word);
		}
		if (bit == 0) {
			char esc[AUTH_MECHANISM_NAME_MAX * 4 + 1];
			size_t shown = len > AUTH_MECHANISM_NAME_MAX ?
				AUTH_MECHANISM_NAME_MAX : len;
			error_set(err, ERROR_INVALID,
				  "unknown mechanism '%s' in auth_mechanisms (valid: plain login cram-md5 scram-sha-256 apop)",
				  log_escape(esc, sizeof(esc), p, shown));
			return -1;
		}
		mask |= bit;
		p += len;
	}
	if (mask == 0) {
		error_set(err, ERROR_INVALID,
			  "auth_mechanisms names no mechanism (e.g. auth_mechanisms = plain login)");
		return -1;
	}
	*mask_r = mask;
	return 0;
}

static bool chain_has_credentials(const struct roost_settings *set)
{
	for (unsigned i = 0; i < set->passdbs_count; i++) {
		struct error err;
		const struct roost_module *mod = module_load(set->module_dir,
			MODULE_KIND_AUTH, set->passdbs[i].driver, &err);
		if (mod == NULL)
			continue;
		const struct auth_module_ops *ops = mod->ops;
		if (ops->passdb != NULL && ops->passdb->lookup_credentials != NULL)
			return true;
	}
	return false;
}

unsigned auth_mechanisms_offered(const struct roost_settings *set,
				 unsigned *dropped_r)
{
	unsigned mask = 0;
	struct error err;
	if (auth_mechanisms_parse(set->auth_mechanisms, &mask, &err) < 0)
		mask = AUTH_MECH_PLAIN | AUTH_MECH_LOGIN;   /* settings_load() refused it already */
	unsigned dropped = 0;
	if ((mask & AUTH_MECH_CREDENTIALS) != 0 && !chain_has_credentials(set)) {
		dropped = mask & AUTH_MECH_CREDENTIALS;
		mask &= ~AUTH_MECH_CREDENTIALS;
	}
	if (dropped_r != NULL)
		*dropped_r = dropped;
	return mask;
}

void auth_mechanisms_names(struct buffer *out, unsigned mask, const char *sep,
			   bool with_apop)
{
	bool first = true;
	for (unsigned i = 0; i < MECHANISMS_COUNT; i++) {
		if ((mask & mechanisms[i].bit) == 0 ||
		    (!with_apop && mechanisms[i].bit == AUTH_MECH_APOP))
			continue;
		if (!first)
			buffer_append_str(out, sep);
		buffer_append_str(out, mechanisms[i].name);
		first = false;
	}
}

const char *auth_mechanisms_sasl_list(pool_t *pool,
				      const struct roost_settings *set)
{
	struct buffer names;
	buffer_init(&names);
	auth_mechanisms_names(&names, auth_mechanisms_offered(set, NULL), " ", false);
	const char *list = pool_strndup(pool, names.data != NULL ? names.data : "",
					names.len);
	buffer_free(&names);
	return list;
}
