# passwd userdb: system users through NSS (issue 4). Included from
# auth/auth.mk.
module_LTLIBRARIES += modules/auth_passwd.la
modules_auth_passwd_la_SOURCES = auth/passwd/passwd.c \
	auth/passwd/passwd-lookup.c auth/passwd/passwd-lookup.h
modules_auth_passwd_la_LDFLAGS = $(MODULE_LDFLAGS)
modules_auth_passwd_la_LIBADD = $(MODULE_LIBADD)

# The module's code is linked in so the test can call its ops and the
# lookup with small buffer limits.
check_PROGRAMS += tests/unit/test-passwd-userdb
TESTS += tests/unit/test-passwd-userdb
tests_unit_test_passwd_userdb_SOURCES = tests/unit/test-passwd-userdb.c \
	auth/passwd/passwd.c \
	auth/passwd/passwd-lookup.c auth/passwd/passwd-lookup.h
tests_unit_test_passwd_userdb_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_passwd_userdb_LDADD = core/libroost.la $(SODIUM_LIBS) $(CHECK_LIBS)
