/*
 * What a PAM return code means for a login, in the pam passdb's terms.
 * pam_authenticate() and pam_acct_mgmt() share most codes but not their
 * meaning: PAM_AUTH_ERR from the auth stack is a wrong password, from the
 * account stack a refused account. Account refusals (expired, password
 * change required, locked or denied) become PASSDB_ACCOUNT_DISABLED with a
 * reason for the log only; the client sees a wrong password either way.
 * Codes that say PAM itself could not decide (PAM_AUTHINFO_UNAVAIL,
 * PAM_SYSTEM_ERR, PAM_BUF_ERR, PAM_CONV_ERR, anything unknown) are
 * internal errors: the client is told to try again later.
 */
#ifndef ROOST_PAM_RESULT_H
#define ROOST_PAM_RESULT_H

#include "auth-module.h"

enum passdb_pam_phase {
	PASSDB_PAM_PHASE_AUTH,     /* pam_authenticate() */
	PASSDB_PAM_PHASE_ACCOUNT,  /* pam_acct_mgmt() */
};

/* The passdb result for pam_code returned in phase; PAM_SUCCESS gives
 * PASSDB_OK. For PASSDB_ACCOUNT_DISABLED *reason_r is the log text
 * ("account expired", "password change required", "account locked or
 * denied"); otherwise it is set to NULL. */
enum passdb_result passdb_pam_result(enum passdb_pam_phase phase,
				     int pam_code, const char **reason_r);

#endif
