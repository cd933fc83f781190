/*
 * The pam passdb's pieces that do not need a PAM stack: the conversation
 * function (auth/pam/pam-conv.c) called the way libpam calls it, the
 * mapping of PAM return codes (auth/pam/pam-result.c), and the module's
 * descriptor, loaded from the build tree. The PAM transaction itself runs
 * against a real stack in tests/integration/test_pam.py.
 */
#include "config.h"
#include "auth-module.h"
#include "module.h"
#include "pam/pam-conv.h"
#include "pam/pam-result.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define USER "jo@example.org"
#define PASSWORD "s3cret pass"

static struct passdb_pam_conv_request req;

static void setup(void)
{
	req = (struct passdb_pam_conv_request){
		.user = USER, .password = PASSWORD,
	};
}

/* Runs the conversation on count (at most PAM_MAX_NUM_MSG + 1) messages
 * of the given styles. */
static int converse(const int *styles, int count,
		    struct pam_response **resp_r)
{
	struct pam_message msgs[PAM_MAX_NUM_MSG + 1];
	const struct pam_message *ptrs[PAM_MAX_NUM_MSG + 1];

	for (int i = 0; i < count; i++) {
		msgs[i].msg_style = styles[i];
		msgs[i].msg = "prompt: ";
		ptrs[i] = &msgs[i];
	}
	*resp_r = NULL;
	return passdb_pam_conv(count, ptrs, resp_r, &req);
}

static void responses_free(struct pam_response *resp, int count)
{
	for (int i = 0; i < count; i++)
		free(resp[i].resp);
	free(resp);
}

START_TEST(conv_answers_password_and_user)
{
	const int styles[] = {
		PAM_PROMPT_ECHO_ON, PAM_TEXT_INFO, PAM_PROMPT_ECHO_OFF,
		PAM_ERROR_MSG, PAM_PROMPT_ECHO_OFF,
	};
	struct pam_response *resp;

	ck_assert_int_eq(converse(styles, 5, &resp), PAM_SUCCESS);
	ck_assert_ptr_nonnull(resp);
	ck_assert_str_eq(resp[0].resp, USER);
	ck_assert_ptr_null(resp[1].resp);
	ck_assert_str_eq(resp[2].resp, PASSWORD);
	ck_assert_ptr_null(resp[3].resp);
	/* A stack that asks twice (a second factor on the same password
	 * module) gets the same password again. */
	ck_assert_str_eq(resp[4].resp, PASSWORD);
	/* Copies: PAM frees and overwrites them. */
	ck_assert_ptr_ne(resp[2].resp, PASSWORD);
	ck_assert_int_eq(req.refused_style, 0);
	responses_free(resp, 5);
}
END_TEST

START_TEST(conv_refuses_what_it_cannot_answer)
{
	const int binary[] = { PAM_PROMPT_ECHO_OFF, PAM_BINARY_PROMPT };
	const int unknown[] = { PAM_PROMPT_ECHO_ON, 4242 };
	struct pam_response *resp;

	ck_assert_int_eq(converse(binary, 2, &resp), PAM_CONV_ERR);
	ck_assert_ptr_null(resp);
	ck_assert_int_eq(req.refused_style, PAM_BINARY_PROMPT);

	ck_assert_int_eq(converse(unknown, 2, &resp), PAM_CONV_ERR);
	ck_assert_ptr_null(resp);
	ck_assert_int_eq(req.refused_style, 4242);
}
END_TEST

START_TEST(conv_messages_without_room_for_answers)
{
	const int info[] = { PAM_TEXT_INFO, PAM_ERROR_MSG };
	const int prompt[] = { PAM_TEXT_INFO, PAM_PROMPT_ECHO_OFF };
	struct pam_message msgs[2];
	const struct pam_message *ptrs[2];

	/* pam_matrix "verbose" shows its messages with resp == NULL. */
	for (int i = 0; i < 2; i++) {
		msgs[i] = (struct pam_message){ info[i], "Authentication ok" };
		ptrs[i] = &msgs[i];
	}
	ck_assert_int_eq(passdb_pam_conv(2, ptrs, NULL, &req), PAM_SUCCESS);
	ck_assert_int_eq(req.refused_style, 0);
	/* A prompt there has nowhere to put its answer. */
	for (int i = 0; i < 2; i++)
		msgs[i].msg_style = prompt[i];
	ck_assert_int_eq(passdb_pam_conv(2, ptrs, NULL, &req), PAM_CONV_ERR);
	ck_assert_int_eq(req.refused_style, PAM_PROMPT_ECHO_OFF);
}
END_TEST

START_TEST(conv_refuses_bad_counts)
{
	int styles[PAM_MAX_NUM_MSG + 1];
	struct pam_response *resp;

	for (int i = 0; i <= PAM_MAX_NUM_MSG; i++)
		styles[i] = PAM_PROMPT_ECHO_OFF;
	ck_assert_int_eq(converse(styles, 0, &resp), PAM_CONV_ERR);
	ck_assert_ptr_null(resp);
	ck_assert_int_eq(converse(styles, PAM_MAX_NUM_MSG + 1, &resp),
			 PAM_CONV_ERR);
	ck_assert_ptr_null(resp);
	ck_assert_int_eq(converse(styles, PAM_MAX_NUM_MSG, &resp),
			 PAM_SUCCESS);
	ck_assert_str_eq(resp[PAM_MAX_NUM_MSG - 1].resp, PASSWORD);
	responses_free(resp, PAM_MAX_NUM_MSG);
}
END_TEST

#define AUTH PASSDB_PAM_PHASE_AUTH
#define ACCOUNT PASSDB_PAM_PHASE_ACCOUNT
#define EXPIRED "account expired"
#define CHANGE "password change required"
#define DENIED "account locked or denied"

static const struct {
	enum passdb_pam_phase phase;
	int code;
	enum passdb_result result;
	const char *reason;   /* NULL: none */
} result_cases[] = {
	{ AUTH, PAM_SUCCESS, PASSDB_OK, NULL },
	{ AUTH, PAM_AUTH_ERR, PASSDB_PASSWORD_MISMATCH, NULL },
	{ AUTH, PAM_PERM_DENIED, PASSDB_PASSWORD_MISMATCH, NULL },
	{ AUTH, PAM_MAXTRIES, PASSDB_PASSWORD_MISMATCH, NULL },
	{ AUTH, PAM_USER_UNKNOWN, PASSDB_USER_UNKNOWN, NULL },
	{ AUTH, PAM_ACCT_EXPIRED, PASSDB_ACCOUNT_DISABLED, EXPIRED },
	{ AUTH, PAM_NEW_AUTHTOK_REQD, PASSDB_ACCOUNT_DISABLED, CHANGE },
	{ AUTH, PAM_AUTHINFO_UNAVAIL, PASSDB_INTERNAL_ERROR, NULL },
	{ AUTH, PAM_SYSTEM_ERR, PASSDB_INTERNAL_ERROR, NULL },
	{ AUTH, PAM_BUF_ERR, PASSDB_INTERNAL_ERROR, NULL },
	{ AUTH, PAM_CONV_ERR, PASSDB_INTERNAL_ERROR, NULL },
	{ AUTH, 9999, PASSDB_INTERNAL_ERROR, NULL },
	{ ACCOUNT, PAM_SUCCESS, PASSDB_OK, NULL },
	{ ACCOUNT, PAM_ACCT_EXPIRED, PASSDB_ACCOUNT_DISABLED, EXPIRED },
	{ ACCOUNT, PAM_NEW_AUTHTOK_REQD, PASSDB_ACCOUNT_DISABLED, CHANGE },
	{ ACCOUNT, PAM_AUTHTOK_EXPIRED, PASSDB_ACCOUNT_DISABLED, CHANGE },
	{ ACCOUNT, PAM_PERM_DENIED, PASSDB_ACCOUNT_DISABLED, DENIED },
	/* Here an account module's refusal, not a wrong password. */
	{ ACCOUNT, PAM_AUTH_ERR, PASSDB_ACCOUNT_DISABLED, DENIED },
	{ ACCOUNT, PAM_USER_UNKNOWN, PASSDB_USER_UNKNOWN, NULL },
	{ ACCOUNT, PAM_AUTHINFO_UNAVAIL, PASSDB_INTERNAL_ERROR, NULL },
	{ ACCOUNT, PAM_SYSTEM_ERR, PASSDB_INTERNAL_ERROR, NULL },
	{ ACCOUNT, PAM_MAXTRIES, PASSDB_INTERNAL_ERROR, NULL },
};

START_TEST(pam_codes_map_to_results)
{
	const char *reason = "not set";
	enum passdb_result got = passdb_pam_result(result_cases[_i].phase,
						   result_cases[_i].code,
						   &reason);

	ck_assert_msg(got == result_cases[_i].result,
		      "PAM code %d in phase %d: result %d, expected %d",
		      result_cases[_i].code, result_cases[_i].phase, got,
		      result_cases[_i].result);
	if (result_cases[_i].reason == NULL)
		ck_assert_ptr_null(reason);
	else
		ck_assert_str_eq(reason, result_cases[_i].reason);
}
END_TEST

START_TEST(module_is_a_passdb_without_credentials)
{
	struct error err;
	const struct roost_module *mod =
		module_load(BUILD_MODULE_DIR, MODULE_KIND_AUTH, "pam", &err);

	ck_assert_msg(mod != NULL, "%s", err.message);
	ck_assert_str_eq(mod->name, "pam");
	const struct auth_module_ops *ops = mod->ops;
	ck_assert_ptr_nonnull(ops->passdb);
	ck_assert_ptr_nonnull(ops->passdb->verify_plain);
	/* PAM checks plaintexts only: no CRAM-MD5, SCRAM or APOP. */
	ck_assert_ptr_null(ops->passdb->lookup_credentials);
	ck_assert_ptr_null(ops->userdb);
	module_unload_all();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pam");
	TCase *tc = tcase_create("conversation");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, conv_answers_password_and_user);
	tcase_add_test(tc, conv_refuses_what_it_cannot_answer);
	tcase_add_test(tc, conv_messages_without_room_for_answers);
	tcase_add_test(tc, conv_refuses_bad_counts);
	suite_add_tcase(s, tc);
	tc = tcase_create("result");
	tcase_add_loop_test(tc, pam_codes_map_to_results, 0,
			    sizeof(result_cases) / sizeof(result_cases[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("module");
	tcase_add_test(tc, module_is_a_passdb_without_credentials);
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? 0 : 1;
}
