/* Maildir file name parsing and the UIDL rule; see maildir-name.h. */
#include "config.h"
#include "maildir-name.h"

#include "decimal.h"

#include <sodium.h>
#include <string.h>

/* Microseconds are below one million: at most 6 digits. */
#define MAILDIR_USEC_MAX_DIGITS 6

/* Finds ",<key>=<digits>" ending at ',' or the end of the base name. */
static bool parse_size_field(const char *base, size_t base_len, char key,
			     uint64_t *value_r)
{
	for (size_t i = 0; i + 3 <= base_len; i++) {
		if (base[i] != ',' || base[i + 1] != key || base[i + 2] != '=')
			continue;
		size_t start = i + 3;
		size_t end = start;
		while (end < base_len && base[end] != ',')
			end++;
		if (decimal_parse_u64(base + start, end - start, value_r))
			return true;
	}
	return false;
}

/* "<sec>.<id>.<host>": id is "M<usec>P<pid>..." (Courier, Dovecot) or
 * "V<dev>I<ino>M<usec>" (Postfix); older forms carry no microseconds. */
static void parse_time(const char *base, size_t base_len,
		       struct maildir_name *r)
{
	const char *dot = memchr(base, '.', base_len);
	if (dot == NULL || !decimal_parse_u64(base, (size_t)(dot - base), &r->time_sec))
		return;
	r->have_time = true;

	const char *id = dot + 1;
	const char *end = base + base_len;
	const char *id_end = memchr(id, '.', (size_t)(end - id));
	if (id_end == NULL)
		id_end = end;
	const char *m = memchr(id, 'M', (size_t)(id_end - id));
	if (m == NULL)
		return;
	const char *digits = m + 1;
	const char *p = digits;
	while (p < id_end && *p >= '0' && *p <= '9')
		p++;
	uint64_t usec;
	if (p - digits > MAILDIR_USEC_MAX_DIGITS ||
	    !decimal_parse_u64(digits, (size_t)(p - digits), &usec))
		return;
	r->time_usec = (uint32_t)usec;
}

void maildir_name_parse(const char *name, struct maildir_name *r)
{
	memset(r, 0, sizeof(*r));
	const char *colon = strchr(name, ':');
	r->base_len = colon != NULL ? (size_t)(colon - name) : strlen(name);
	r->info = colon != NULL ? colon + 1 : NULL;
	r->have_s_size = parse_size_field(name, r->base_len, 'S', &r->s_size);
	r->have_w_size = parse_size_field(name, r->base_len, 'W', &r->w_size);
	parse_time(name, r->base_len, r);
}

void maildir_uidl_from_base(const char *base, size_t len,
			    char out[MAILDIR_UIDL_MAX + 1])
{
	if (storage_uidl_is_valid(base, len)) {
		memcpy(out, base, len);
		out[len] = '\0';
		return;
	}
	unsigned char digest[MAILDIR_UIDL_DIGEST_BYTES];
	/* libsodium asks for sodium_init() first; it is cheap after the
	 * first call. Failing only means the CPU feature probe failed, and
	 * BLAKE2b then runs its portable code with the same result. */
	if (sodium_init() < 0) {
		/* nothing to do: see above */
	}
	crypto_generichash(digest, sizeof(digest),
			   (const unsigned char *)base, len, NULL, 0);
	out[0] = MAILDIR_UIDL_DIGEST_PREFIX;
	sodium_bin2hex(out + 1, MAILDIR_UIDL_MAX, digest, sizeof(digest));
}
