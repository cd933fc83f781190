/* Proxy fields on the OK line to a login process; see auth-proxy.h. */
#include "config.h"
#include "auth-proxy.h"

#include "auth-fields-ipc.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* What travels to the login process; everything else stays in auth. */
static const char *const proxy_keys[] = {
	"proxy", "host", "hostip", "port", "ssl", "starttls", "destuser",
	"master", "pass",
};

static const char *extra(const struct auth_user_fields *fields, const char *key)
{
	for (unsigned i = 0; i < fields->extra_count; i++) {
		if (strcasecmp(fields->extra_keys[i], key) == 0)
			return fields->extra_values[i];
	}
	return NULL;
}

bool auth_proxy_wanted(const struct auth_user_fields *fields)
{
	/* SQL booleans arrive as "t"/"f"; passwd-file's bare "proxy" as "". */
	static const char *const off[] = { "0", "no", "false", "f", "n", "off" };
	const char *value = extra(fields, "proxy");
	if (value == NULL)
		return false;
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		if (strcasecmp(value, off[i]) == 0)
			return false;
	}
	return true;
}

int auth_proxy_append(struct buffer *line, const struct auth_user_fields *fields,
		      const char *plain_password, struct error *err)
{
	const char *host = extra(fields, "host");
	if (host == NULL || host[0] == '\0') {
		error_set(err, ERROR_INVALID, "proxy: the passdb gave no host");
		return -1;
	}
	const char *pass = extra(fields, "pass");
	if (pass == NULL && plain_password == NULL) {
		error_set(err, ERROR_INVALID,
			  "proxy: no password for the back end (the mechanism "
			  "gave no plaintext; set the pass field)");
		return -1;
	}
	for (size_t i = 0; i < sizeof(proxy_keys) / sizeof(proxy_keys[0]); i++) {
		const char *value = extra(fields, proxy_keys[i]);
		if (strcmp(proxy_keys[i], "pass") == 0 && value == NULL)
			value = plain_password;
		auth_fields_ipc_append_field(line, proxy_keys[i], value);
	}
	return 0;
}
