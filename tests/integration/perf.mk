# Mail workers shared by the sessions of one uid/gid (issue 8).
TESTS += tests/integration/test_shared_workers.py
EXTRA_DIST += tests/integration/perf.mk
