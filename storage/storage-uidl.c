/* The UIDL rule every storage module shares; see storage.h. */
#include "config.h"
#include "storage.h"

#include <inttypes.h>
#include <stdio.h>

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

void storage_uidl_dovecot(uint32_t uid, uint32_t uidvalidity,
			  char out[STORAGE_DOVECOT_UIDL_LEN + 1])
{
	snprintf(out, STORAGE_DOVECOT_UIDL_LEN + 1, "%08" PRIx32 "%08" PRIx32,
		 uid, uidvalidity);
}
