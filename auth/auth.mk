# Password schemes and user-field helpers live in libroost because auth
# modules (built in or third-party) call them.
core_libroost_la_SOURCES += \
	auth/password-scheme.c auth/password-scheme.h \
	auth/password-scheme-private.h \
	auth/password-scheme-argon2.c auth/password-scheme-crypt.c \
	auth/password-scheme-digest.c \
	auth/password-scheme-cram-md5.c auth/password-scheme-cram-md5.h \
	auth/password-scheme-scram.c auth/password-scheme-scram.h \
	auth/auth-fields.c auth/auth-module.h \
	auth/auth-mechanisms.c auth/auth-mechanisms.h
# libnettle (GnuTLS's own crypto library) resumes MD5 from {CRAM-MD5}'s
# stored state.
core_libroost_la_LIBADD += -lcrypt -lnettle

# SASL mechanisms, one file each; tests/unit/test-sasl links them too.
sasl_sources = auth/sasl.c auth/sasl.h auth/sasl-private.h \
	auth/sasl-plain.c auth/sasl-login.c auth/sasl-cram-md5.c \
	auth/sasl-scram.c auth/sasl-apop.c

# The auth daemon, linked into the roost binary.
noinst_LTLIBRARIES = auth/libauthd.la
auth_libauthd_la_SOURCES = \
	auth/auth-daemon.c auth/auth-daemon.h \
	auth/auth-cookie.c auth/auth-cookie.h \
	auth/auth-penalty.c auth/auth-penalty.h \
	auth/auth-conn.h auth/auth-stats.h \
	auth/auth-request.c auth/auth-request.h \
	auth/auth-proxy.c auth/auth-proxy.h \
	auth/auth-master.c auth/auth-master.h \
	auth/auth-lookup.c auth/auth-lookup.h \
	auth/auth-cache.c auth/auth-cache.h \
	auth/auth-fields-ipc.c auth/auth-fields-ipc.h \
	auth/auth-worker.c auth/auth-worker.h \
	auth/auth-worker-server.c auth/auth-worker-server.h \
	auth/passdb-chain.c auth/passdb-chain.h \
	auth/auth-username.c auth/auth-username.h \
	auth/auth-user-policy.c auth/auth-user-policy.h \
	$(sasl_sources)
auth_libauthd_la_LIBADD = core/libroost.la

module_LTLIBRARIES += modules/auth_passwd_file.la modules/auth_static.la
modules_auth_passwd_file_la_SOURCES = \
	auth/passwd-file/passwd-file.c \
	auth/passwd-file/passwd-file-parse.c auth/passwd-file/passwd-file-parse.h
modules_auth_passwd_file_la_LDFLAGS = $(MODULE_LDFLAGS)
modules_auth_passwd_file_la_LIBADD = $(MODULE_LIBADD)

modules_auth_static_la_SOURCES = auth/static/static.c
modules_auth_static_la_LDFLAGS = $(MODULE_LDFLAGS)
modules_auth_static_la_LIBADD = $(MODULE_LIBADD)

# Unit tests (Check).
check_PROGRAMS += tests/unit/test-password-scheme tests/unit/test-passwd-file
TESTS += tests/unit/test-password-scheme tests/unit/test-passwd-file
tests_unit_test_password_scheme_SOURCES = tests/unit/test-password-scheme.c
tests_unit_test_password_scheme_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_password_scheme_LDADD = core/libroost.la $(SODIUM_LIBS) $(CHECK_LIBS)
# The module's code is linked in so the test can call its ops directly;
# the static module is loaded from the build tree through module_load().
tests_unit_test_passwd_file_SOURCES = tests/unit/test-passwd-file.c \
	auth/passwd-file/passwd-file.c \
	auth/passwd-file/passwd-file-parse.c auth/passwd-file/passwd-file-parse.h
tests_unit_test_passwd_file_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_passwd_file_LDADD = core/libroost.la $(SODIUM_LIBS) $(CHECK_LIBS)
EXTRA_tests_unit_test_passwd_file_DEPENDENCIES = modules/auth_static.la

check_PROGRAMS += tests/unit/test-auth-penalty
TESTS += tests/unit/test-auth-penalty
tests_unit_test_auth_penalty_SOURCES = tests/unit/test-auth-penalty.c auth/auth-penalty.c
tests_unit_test_auth_penalty_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_auth_penalty_LDADD = core/libroost.la $(SODIUM_LIBS) $(CHECK_LIBS)

include auth/pam/pam.mk
include auth/sql/sql.mk
include auth/passwd/passwd.mk

# The auth process's worker pool, cache and login mechanisms.
check_PROGRAMS += tests/unit/test-auth-cache tests/unit/test-auth-settings
TESTS += tests/unit/test-auth-cache tests/unit/test-auth-settings
tests_unit_test_auth_cache_SOURCES = tests/unit/test-auth-cache.c \
	auth/auth-cache.c auth/auth-cache.h
tests_unit_test_auth_cache_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_auth_cache_LDADD = core/libroost.la $(SODIUM_LIBS) $(CHECK_LIBS)
tests_unit_test_auth_settings_SOURCES = tests/unit/test-auth-settings.c
tests_unit_test_auth_settings_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_auth_settings_LDADD = core/libroost.la $(CHECK_LIBS)
TESTS += tests/integration/test_auth_mechs.py tests/integration/test_auth_workers.py
