/*
 * Fuzzes login-name normalisation (auth/auth-username.c): every login name
 * is client input and later becomes part of passwd-file and mail paths.
 *
 * Input layout: byte 0 picks the settings (bit 0: lowercase, bit 1: a
 * default domain, bit 2: master user separator '*'); the rest is the raw
 * name, cut at the first NUL as the C string the auth process gets.
 *
 * Invariants of an accepted name: every part is 1..AUTH_USERNAME_MAX
 * bytes of [A-Za-z0-9._+-] plus at most one '@' with text on both sides,
 * no part starts with '.' or '-', none holds "..", ends with '.'; no
 * upper case when lowercasing; and with a default domain the account
 * always has an '@'.
 */
#include "config.h"
#include "auth-username.h"

#include <stdbool.h>

#include "fuzz-common.h"
#include "settings.h"

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
	       c == '-' || c == '@';
}

static void check_part(const char *s, size_t len, bool lower)
{
	FUZZ_CHECK(len >= 1 && len <= AUTH_USERNAME_MAX, "part length %zu", len);
	FUZZ_CHECK(s[0] != '.' && s[0] != '-' && s[len - 1] != '.',
		   "part '%.*s' starts or ends badly", (int)len, s);
	unsigned ats = 0;
	for (size_t i = 0; i < len; i++) {
		FUZZ_CHECK(name_char(s[i]), "byte 0x%02x in '%.*s'",
			   (unsigned char)s[i], (int)len, s);
		FUZZ_CHECK(!lower || !(s[i] >= 'A' && s[i] <= 'Z'),
			   "upper case in '%.*s'", (int)len, s);
		FUZZ_CHECK(i + 1 == len || s[i] != '.' || s[i + 1] != '.',
			   "'..' in '%.*s'", (int)len, s);
		if (s[i] == '@') {
			ats++;
			FUZZ_CHECK(i > 0 && i + 1 < len, "empty side of '@' in '%.*s'",
				   (int)len, s);
		}
	}
	FUZZ_CHECK(ats <= 1, "%u '@' in '%.*s'", ats, (int)len, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct roost_settings set;
	memset(&set, 0, sizeof(set));
	set.auth_username_lowercase = (data[0] & 1) != 0;
	set.auth_default_domain = (data[0] & 2) != 0 ? "example.org" : "";
	set.auth_master_user_separator = (data[0] & 4) != 0 ? "*" : "";
	char *raw = fuzz_strndup(data + 1, size - 1);
	pool_t *pool = pool_create();
	const char *why = NULL;
	const char *name = auth_username_normalise(pool, &set, raw, &why);
	if (name == NULL) {
		FUZZ_CHECK(why != NULL && why[0] != '\0', "refusal without a reason");
	} else {
		const char *sep = set.auth_master_user_separator[0] != '\0' ?
			strchr(name, '*') : NULL;
		size_t account_len = sep != NULL ? (size_t)(sep - name) : strlen(name);
		check_part(name, account_len, set.auth_username_lowercase);
		if (set.auth_default_domain[0] != '\0')
			FUZZ_CHECK(memchr(name, '@', account_len) != NULL,
				   "no domain in '%s'", name);
		if (sep != NULL)
			check_part(sep + 1, strlen(sep + 1), set.auth_username_lowercase);
	}
	pool_destroy(pool);
	free(raw);
	return 0;
}
