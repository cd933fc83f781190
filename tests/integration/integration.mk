# Integration tests: the real server from the build tree on loopback ports,
# driven by real clients (poplib, raw sockets, curl, mpop, fetchmail).
# Each script is standalone: exit 0 = pass, 77 = skipped, else failure.
# test_privilege.py runs only as root (privilege-separated path).
TESTS += \
	tests/integration/test_raw_protocol.py \
	tests/integration/test_poplib.py \
	tests/integration/test_curl.py \
	tests/integration/test_fetchmail.py \
	tests/integration/test_privilege.py \
	tests/integration/test_lifecycle.py \
	tests/integration/test_hostile.py
EXTRA_DIST += tests/integration/roosttest.py tests/integration/integration.mk
# The plugin SDK: make install DESTDIR=..., contrib/example-plugin built
# against it and served, broken plugins refused, roost --modules.
TESTS += tests/integration/test_sdk.py
# The mbox storage module (issue 3); test_mbox_common.py holds their helpers.
TESTS += tests/integration/test_mbox.py tests/integration/test_mbox_faults.py
# The storage conformance kit (issue 5) against maildir, mbox and, when the
# SDK installs, the example plugin.
TESTS += tests/integration/test_storage_check.py
# Dovecot maildir UIDLs from dovecot-uidlist (issue 10).
TESTS += tests/integration/test_dovecot_uidl.py
# The default TLS policy and session resumption (issues 8 and 9).
TESTS += tests/integration/test_tls_policy.py
# The TLS private key only in the key processes (issue 9).
TESTS += tests/integration/test_tls_key_isolation.py
include tests/integration/proxy.mk
include tests/integration/tenants.mk
# Hostile input, hostile load, faults, and LeakSanitizer on the long-lived
# processes (skipped outside the ASan build of tests/sanitize-check); the
# soak test (tests/soak/soak.py) is run by hand, see tests/soak/README.
TESTS += tests/integration/test_hostile_input.py \
	tests/integration/test_hostile_load.py \
	tests/integration/test_faults.py \
	tests/integration/test_hostile_leaks.py
EXTRA_DIST += tests/integration/hostile_common.py tests/soak/soak.py \
	tests/soak/README
include tests/integration/perf.mk
