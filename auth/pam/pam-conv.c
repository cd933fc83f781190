/* The pam passdb's conversation function; see pam-conv.h. */
#include "config.h"
#include "pam-conv.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Frees the first count answers of resp (wiping them: one of them may be
 * the password) and resp itself. */
static void responses_free(struct pam_response *resp, int count)
{
	for (int i = 0; i < count; i++) {
		if (resp[i].resp != NULL) {
			sodium_memzero(resp[i].resp, strlen(resp[i].resp));
			free(resp[i].resp);
		}
	}
	free(resp);
}

int passdb_pam_conv(int num_msg, const struct pam_message **msg,
		    struct pam_response **resp_r, void *appdata)
{
	struct passdb_pam_conv_request *req = appdata;

	/* Linux-PAM never asks for more than PAM_MAX_NUM_MSG at once; a
	 * bigger count is a broken module, not a reason to allocate. */
	if (num_msg <= 0 || num_msg > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	/* Some modules (pam_matrix's "verbose") show a message with no
	 * place for answers: fine unless something needs an answer. */
	if (resp_r == NULL) {
		for (int i = 0; i < num_msg; i++) {
			int style = msg[i]->msg_style;
			if (style != PAM_TEXT_INFO && style != PAM_ERROR_MSG) {
				req->refused_style = style;
				return PAM_CONV_ERR;
			}
		}
		return PAM_SUCCESS;
	}
	struct pam_response *resp = calloc((size_t)num_msg, sizeof(*resp));
	if (resp == NULL)
		return PAM_BUF_ERR;

	for (int i = 0; i < num_msg; i++) {
		const char *answer;

		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			answer = req->password;
			break;
		case PAM_PROMPT_ECHO_ON:
			answer = req->user;
			break;
		case PAM_TEXT_INFO:
		case PAM_ERROR_MSG:
			continue;
		default:
			req->refused_style = msg[i]->msg_style;
			responses_free(resp, i);
			return PAM_CONV_ERR;
		}
		resp[i].resp = strdup(answer);
		if (resp[i].resp == NULL) {
			responses_free(resp, i);
			return PAM_BUF_ERR;
		}
	}
	*resp_r = resp;
	return PAM_SUCCESS;
}
