/* Strict decimal parsing; see decimal.h. */
#include "config.h"
#include "decimal.h"

/* UINT64_MAX has 20 digits. */
#define DECIMAL_U64_DIGITS_MAX 20

bool decimal_parse_u64(const char *s, size_t len, uint64_t *value_r)
{
	uint64_t v = 0;
	if (len == 0 || len > DECIMAL_U64_DIGITS_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*value_r = v;
	return true;
}
