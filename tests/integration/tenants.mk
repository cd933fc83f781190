# Multi-tenant hosting (issue 7): virtual users over per-domain files and
# name safety, per-user fields and session limits, master users.
TESTS += tests/integration/test_tenants.py tests/integration/test_limits.py \
	tests/integration/test_master_users.py
EXTRA_DIST += tests/integration/tenanttest.py tests/integration/tenants.mk
