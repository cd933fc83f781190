/* The UIDL rule every storage module shares; see storage.h. */
#include "config.h"
#include "storage.h"


bool storage_uidl_is_valid(const char *s, size_t len)
{
	if (len == 0 || len > STORAGE_UIDL_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7e)
			return false;
	}
	return true;
}

/* "%08x%08x" without printf: a login from a cached index makes one for
 * every message, and printf was most of that login's time. */
void storage_uidl_dovecot(uint32_t uid, uint32_t uidvalidity,
			  char out[STORAGE_DOVECOT_UIDL_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 8; i++) {
		out[i] = digits[(uid >> (28 - 4 * i)) & 0xf];
		out[8 + i] = digits[(uidvalidity >> (28 - 4 * i)) & 0xf];
	}
	out[STORAGE_DOVECOT_UIDL_LEN] = '\0';
}
