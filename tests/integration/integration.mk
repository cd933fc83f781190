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
