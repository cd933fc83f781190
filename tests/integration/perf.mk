# Mail workers shared by the sessions of one uid/gid (issue 8).
TESTS += tests/integration/test_shared_workers.py
# What shared workers change and measure (not installed: for developers).
EXTRA_DIST += doc/performance.md
