/*
 * The PAM conversation of the pam passdb: it answers a password prompt
 * (PAM_PROMPT_ECHO_OFF) with the password and a visible prompt
 * (PAM_PROMPT_ECHO_ON, the user-name question) with the user name, both
 * taken from the login request. Informational messages (PAM_TEXT_INFO,
 * PAM_ERROR_MSG) need no answer and get none; a conversation of only such
 * messages may even come without a place for answers (resp_r NULL).
 * Anything else (binary prompts, unknown styles) cannot be answered by a
 * POP3 client that has already sent its one password, so the whole
 * conversation fails with PAM_CONV_ERR and the request records why, for
 * the log.
 *
 * Answers are malloc()ed because PAM frees them; PAM also overwrites the
 * password copy it keeps (PAM_AUTHTOK) in pam_end(). On failure nothing is
 * handed to PAM: what was already copied is wiped and freed here.
 */
#ifndef ROOST_PAM_CONV_H
#define ROOST_PAM_CONV_H

#include <security/pam_appl.h>

struct passdb_pam_conv_request {
	const char *user;
	const char *password;
	/* Set by the conversation when it refused a message: its style
	 * (PAM_BINARY_PROMPT, ...), or 0. */
	int refused_style;
};

/* A struct pam_conv conv function; appdata is a struct
 * passdb_pam_conv_request. */
int passdb_pam_conv(int num_msg, const struct pam_message **msg,
		    struct pam_response **resp_r, void *appdata);

#endif
