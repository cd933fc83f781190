/* PAM return codes -> passdb results; see pam-result.h. */
#include "config.h"
#include "pam-result.h"

#include <stddef.h>

#include <security/pam_appl.h>

#define REASON_EXPIRED "account expired"
#define REASON_CHANGE "password change required"
#define REASON_DENIED "account locked or denied"

enum passdb_result passdb_pam_result(enum passdb_pam_phase phase,
				     int pam_code, const char **reason_r)
{
	*reason_r = NULL;
	switch (pam_code) {
	case PAM_SUCCESS:
		return PASSDB_OK;
	case PAM_USER_UNKNOWN:
		return PASSDB_USER_UNKNOWN;
	/* Some auth modules (pam_sss, pam_winbind) check expiry while
	 * verifying the password and say so already in the auth phase. */
	case PAM_ACCT_EXPIRED:
		*reason_r = REASON_EXPIRED;
		return PASSDB_ACCOUNT_DISABLED;
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_AUTHTOK_EXPIRED:
		*reason_r = REASON_CHANGE;
		return PASSDB_ACCOUNT_DISABLED;
	default:
		break;
	}

	if (phase == PASSDB_PAM_PHASE_ACCOUNT) {
		if (pam_code == PAM_PERM_DENIED || pam_code == PAM_AUTH_ERR) {
			*reason_r = REASON_DENIED;
			return PASSDB_ACCOUNT_DISABLED;
		}
		return PASSDB_INTERNAL_ERROR;
	}
	switch (pam_code) {
	/* Whatever refused the credentials (pam_unix, pam_deny, a lockout
	 * module before the password is even looked at), the password was
	 * not accepted. */
	case PAM_AUTH_ERR:
	case PAM_PERM_DENIED:
	case PAM_CRED_INSUFFICIENT:
	case PAM_AUTHTOK_ERR:
	case PAM_MAXTRIES:
		return PASSDB_PASSWORD_MISMATCH;
	default:
		return PASSDB_INTERNAL_ERROR;
	}
}
