include tests/unit/core-tests.mk
include tests/unit/more-tests.mk

# Integration tests: the real server in unprivileged mode on loopback,
# driven by real clients. They find the build through these variables.
TEST_EXTENSIONS = .py
PY_LOG_COMPILER = $(PYTHON3)
AM_TESTS_ENVIRONMENT = \
	ROOST_BUILDDIR='$(abs_top_builddir)'; export ROOST_BUILDDIR; \
	ROOST_SRCDIR='$(abs_top_srcdir)'; export ROOST_SRCDIR;
PYTHON3 = python3
include tests/integration/integration.mk

# Fuzz harnesses, their seed corpora and the sanitizer run ship in the
# tarball so that a release can be checked the way CI checks main.
EXTRA_DIST += tests/fuzz tests/sanitize-check
