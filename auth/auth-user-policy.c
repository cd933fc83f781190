/* Per-user policy fields for the master; see auth-user-policy.h. */
#include "config.h"
#include "auth-user-policy.h"

#include "auth-fields-ipc.h"

#include <strings.h>

static const char *const policy_keys[] = {
	"login_delay", "expire", "sessions_max",
};

const char *auth_user_policy_get(const struct auth_user_fields *fields,
				 const char *key)
{
	for (unsigned i = 0; i < fields->extra_count; i++) {
		if (strcasecmp(fields->extra_keys[i], key) == 0)
			return fields->extra_values[i];
	}
	return NULL;
}

void auth_user_policy_append(struct buffer *line,
			     const struct auth_user_fields *fields)
{
	for (unsigned i = 0; i < sizeof(policy_keys) / sizeof(policy_keys[0]); i++)
		auth_fields_ipc_append_field(line, policy_keys[i],
			auth_user_policy_get(fields, policy_keys[i]));
	if (fields->nologin) {
		const char *reason = auth_user_policy_get(fields, "reason");
		auth_fields_ipc_append_field(line, "nologin",
					     reason != NULL ? reason : "");
	}
}
