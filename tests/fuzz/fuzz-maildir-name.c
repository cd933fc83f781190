/*
 * Fuzzes maildir file name parsing and the UIDL rule
 * (storage/maildir/maildir-name.c). Names come from the file system of a
 * mailbox that local users, delivery agents and other mail software write
 * to, and from the size cache file.
 *
 * The input (cut at its first NUL) is a file name. Invariants:
 *  - the base name is the text before the first ':', info the text after;
 *  - ,S= / ,W= sizes and the delivery time, when reported, are really
 *    spelled in the base name, and microseconds are below 1000000;
 *  - any UIDL produced is 1..70 chars of 0x21..0x7E: the base name itself
 *    when storage_uidl_is_valid() says so, otherwise "H" and 32 lower-case
 *    hex digits; the same base always gives the same UIDL. The raw input
 *    bytes (NULs included) are also turned into a UIDL.
 */
#include "config.h"
#include "maildir-name.h"

#include <stdbool.h>

#include "fuzz-common.h"

static void check_uidl(const char *base, size_t len)
{
	char out[MAILDIR_UIDL_MAX + 1];
	char again[MAILDIR_UIDL_MAX + 1];
	memset(out, 0x7f, sizeof(out));
	maildir_uidl_from_base(base, len, out);
	size_t n = strnlen(out, sizeof(out));
	FUZZ_CHECK(n >= 1 && n <= MAILDIR_UIDL_MAX, "UIDL length %zu", n);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)out[i] >= 0x21 &&
			   (unsigned char)out[i] <= 0x7e,
			   "UIDL byte %zu is 0x%02x", i, (unsigned char)out[i]);
	FUZZ_CHECK(storage_uidl_is_valid(out, n), "UIDL '%s' is not valid", out);

	bool valid = len >= 1 && len <= MAILDIR_UIDL_MAX;
	for (size_t i = 0; valid && i < len; i++)
		valid = (unsigned char)base[i] >= 0x21 &&
			(unsigned char)base[i] <= 0x7e;
	FUZZ_CHECK(storage_uidl_is_valid(base, len) == valid,
		   "storage_uidl_is_valid disagrees with the rule");
	if (valid) {
		FUZZ_CHECK(n == len && memcmp(out, base, len) == 0,
			   "a valid base name did not become its own UIDL");
	} else {
		FUZZ_CHECK(n == 1 + 2 * MAILDIR_UIDL_DIGEST_BYTES &&
			   out[0] == MAILDIR_UIDL_DIGEST_PREFIX &&
			   strspn(out + 1, "0123456789abcdef") == n - 1,
			   "digest UIDL '%s' is malformed", out);
	}
	maildir_uidl_from_base(base, len, again);
	FUZZ_CHECK(strcmp(out, again) == 0, "UIDL is not deterministic");
}

/* True when base[0..len) has ",<key>=<digits of value>" ending at ',' or
 * the end, possibly with leading zeros. */
static bool has_size_field(const char *base, size_t len, char key,
			   uint64_t value)
{
	for (size_t i = 0; i + 3 <= len; i++) {
		if (base[i] != ',' || base[i + 1] != key || base[i + 2] != '=')
			continue;
		size_t end = i + 3;
		uint64_t v = 0;
		bool ok = end < len, overflow = false;
		while (end < len && base[end] != ',') {
			if (base[end] < '0' || base[end] > '9') {
				ok = false;
				break;
			}
			unsigned d = (unsigned)(base[end] - '0');
			if (v > (UINT64_MAX - d) / 10)
				overflow = true;
			v = v * 10 + d;
			end++;
		}
		if (ok && !overflow && v == value)
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = fuzz_strndup(data, size);
	size_t name_len = strlen(name);
	struct maildir_name r;
	memset(&r, 0xa5, sizeof(r));
	maildir_name_parse(name, &r);

	const char *colon = strchr(name, ':');
	size_t base_len = colon != NULL ? (size_t)(colon - name) : name_len;
	FUZZ_CHECK(r.base_len == base_len, "base_len %zu, expected %zu",
		   r.base_len, base_len);
	FUZZ_CHECK(colon != NULL ? r.info == colon + 1 : r.info == NULL,
		   "info does not follow the first ':'");
	if (r.have_s_size)
		FUZZ_CHECK(has_size_field(name, base_len, 'S', r.s_size),
			   "S=%llu is not in the base name",
			   (unsigned long long)r.s_size);
	if (r.have_w_size)
		FUZZ_CHECK(has_size_field(name, base_len, 'W', r.w_size),
			   "W=%llu is not in the base name",
			   (unsigned long long)r.w_size);
	if (r.have_time) {
		const char *dot = memchr(name, '.', base_len);
		FUZZ_CHECK(dot != NULL && dot > name, "time without '<sec>.'");
		uint64_t v = 0;
		for (const char *p = name; p < dot; p++) {
			FUZZ_CHECK(*p >= '0' && *p <= '9', "time has a non-digit");
			v = v * 10 + (uint64_t)(*p - '0');
		}
		FUZZ_CHECK(v == r.time_sec, "time %llu, name says %llu",
			   (unsigned long long)r.time_sec, (unsigned long long)v);
		FUZZ_CHECK(r.time_usec < 1000000, "usec %u", r.time_usec);
	} else {
		FUZZ_CHECK(r.time_usec == 0 && r.time_sec == 0,
			   "time fields set without have_time");
	}
	if (!r.have_s_size)
		FUZZ_CHECK(r.s_size == 0, "s_size set without have_s_size");
	if (!r.have_w_size)
		FUZZ_CHECK(r.w_size == 0, "w_size set without have_w_size");

	check_uidl(name, r.base_len);
	/* Raw bytes, NULs and all, exactly sized. */
	char *raw = fuzz_memdup(data, size);
	check_uidl(raw, size);
	free(raw);
	free(name);
	return 0;
}
