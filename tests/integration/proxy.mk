# Proxying to back ends (issue 7): a front end with its passdb in
# PostgreSQL relaying to a back end holding the maildirs.
TESTS += tests/integration/test_proxy.py
EXTRA_DIST += tests/integration/proxy.mk
