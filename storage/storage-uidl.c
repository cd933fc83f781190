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
