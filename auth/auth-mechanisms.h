/*
 * The auth_mechanisms setting: which login mechanisms the server offers.
 * Shared by the config check (unknown names are errors), the auth process
 * (which tells login processes the final list) and the post-login CAPA of
 * mail workers, so every process computes the same list from the same
 * settings.
 *
 * Mechanisms that check a proof against a stored secret (CRAM-MD5,
 * SCRAM-SHA-256, APOP) can only succeed when some passdb in the chain has
 * lookup_credentials; auth_mechanisms_offered() drops them otherwise.
 * APOP is a POP3 command, not a SASL mechanism: it never appears in the
 * names auth_mechanisms_sasl_names() writes.
 */
#ifndef ROOST_AUTH_MECHANISMS_H
#define ROOST_AUTH_MECHANISMS_H

#include <stdbool.h>

#include "buffer.h"
#include "error.h"
#include "pool.h"
#include "settings.h"

enum auth_mechanism {
	AUTH_MECH_PLAIN = 1u << 0,
	AUTH_MECH_LOGIN = 1u << 1,
	AUTH_MECH_CRAM_MD5 = 1u << 2,
	AUTH_MECH_SCRAM_SHA_256 = 1u << 3,
	AUTH_MECH_APOP = 1u << 4,
};

/* The mechanisms that need the stored password (lookup_credentials). */
#define AUTH_MECH_CREDENTIALS \
	(AUTH_MECH_CRAM_MD5 | AUTH_MECH_SCRAM_SHA_256 | AUTH_MECH_APOP)

/* The bit of a mechanism name (case-insensitive), 0 when unknown. */
unsigned auth_mechanism_bit(const char *name);
/* Parses a space or comma separated list into a mask; -1 with err naming
 * the first unknown word (no file position) and the valid names. */
int auth_mechanisms_parse(const char *list, unsigned *mask_r,
			  struct error *err);
/* set->auth_mechanisms without the credential mechanisms when no passdb
 * module has lookup_credentials (those go to *dropped_r, may be NULL).
 * The passdb modules must be loadable (settings_check_modules() ran). */
unsigned auth_mechanisms_offered(const struct roost_settings *set,
				 unsigned *dropped_r);
/* Appends the upper-case names of mask separated by sep; with_apop
 * false leaves APOP out (the SASL list). */
void auth_mechanisms_names(struct buffer *out, unsigned mask, const char *sep,
			   bool with_apop);
/* The SASL names auth_mechanisms_offered() leaves, space separated, from
 * pool: what CAPA lists after login (before login the auth process's
 * MECH line says the same). */
const char *auth_mechanisms_sasl_list(pool_t *pool,
				      const struct roost_settings *set);

#endif
