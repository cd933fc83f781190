# PAM passdb (issue 4). Included from auth/auth.mk.
module_LTLIBRARIES += modules/auth_pam.la
modules_auth_pam_la_SOURCES = auth/pam/pam.c \
	auth/pam/pam-conv.c auth/pam/pam-conv.h \
	auth/pam/pam-result.c auth/pam/pam-result.h
modules_auth_pam_la_LDFLAGS = $(MODULE_LDFLAGS)
modules_auth_pam_la_LIBADD = $(MODULE_LIBADD) $(PAM_LIBS) $(SODIUM_LIBS)

# The conversation function and the PAM code mapping, called directly.
check_PROGRAMS += tests/unit/test-pam
TESTS += tests/unit/test-pam
tests_unit_test_pam_SOURCES = tests/unit/test-pam.c \
	auth/pam/pam-conv.c auth/pam/pam-conv.h \
	auth/pam/pam-result.c auth/pam/pam-result.h
tests_unit_test_pam_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_pam_LDADD = core/libroost.la $(PAM_LIBS) $(SODIUM_LIBS) $(CHECK_LIBS)
# The module itself, loaded from the build tree like the auth process
# loads it.
EXTRA_tests_unit_test_pam_DEPENDENCIES = modules/auth_pam.la

# The real PAM stack through pam_wrapper and pam_matrix (libpam-wrapper).
TESTS += tests/integration/test_pam.py
