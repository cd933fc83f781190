# The mbox storage module (issue 3) and its unit test.

MBOX_SOURCES = \
	storage/mbox/mbox-parse.c storage/mbox/mbox-parse.h \
	storage/mbox/mbox-dovecot.c storage/mbox/mbox-dovecot.h \
	storage/mbox/mbox-uidl.c storage/mbox/mbox-uidl.h \
	storage/mbox/mbox-location.c storage/mbox/mbox-location.h \
	storage/mbox/mbox-lock.c storage/mbox/mbox-lock.h \
	storage/mbox/mbox-commit.c storage/mbox/mbox-mailbox.h \
	storage/mbox/mbox-scan.c \
	storage/mbox/mbox-index.c storage/mbox/mbox-index.h

module_LTLIBRARIES += modules/storage_mbox.la
modules_storage_mbox_la_SOURCES = \
	storage/mbox/mbox-storage.c $(MBOX_SOURCES)
modules_storage_mbox_la_LDFLAGS = $(MODULE_LDFLAGS)
modules_storage_mbox_la_LIBADD = $(MODULE_LIBADD) $(SODIUM_LIBS)

# Fixtures both mbox unit tests share (temporary directory, reading a
# mailbox back through the storage_ops).
MBOX_TEST_UTIL_SOURCES = \
	tests/unit/fs-test-util.c tests/unit/fs-test-util.h \
	tests/unit/mbox-test-util.c tests/unit/mbox-test-util.h

check_PROGRAMS += tests/unit/test-mbox
TESTS += tests/unit/test-mbox
# The module's sources are linked in directly so the test can reach the
# parser, the lock helpers and the roost_module descriptor without
# dlopen(). The crafted mbox files live in tests/unit/data-mbox/.
tests_unit_test_mbox_SOURCES = tests/unit/test-mbox.c \
	storage/mbox/mbox-storage.c $(MBOX_SOURCES) $(MBOX_TEST_UTIL_SOURCES)
tests_unit_test_mbox_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	-DMBOX_TEST_DATA='"$(abs_top_srcdir)/tests/unit/data-mbox"'
tests_unit_test_mbox_LDADD = core/libroost.la $(SODIUM_LIBS) $(CHECK_LIBS)
EXTRA_DIST += tests/unit/data-mbox
# Migration from a running Dovecot 2.3 (issue 10): maildir and mbox UIDLs,
# sizes and contents compared with Dovecot's, new mail, rollback. Needs
# root and dovecot-pop3d, skips otherwise.
TESTS += tests/integration/test_dovecot_migration.py

# The index (issue 8): round trip, stale and damaged indexes, appends,
# commits after using it. Waits a few seconds per index written
# (MBOX_INDEX_RACY_SECS).
check_PROGRAMS += tests/unit/test-mbox-index
TESTS += tests/unit/test-mbox-index
tests_unit_test_mbox_index_SOURCES = tests/unit/test-mbox-index.c \
	storage/mbox/mbox-storage.c $(MBOX_SOURCES) $(MBOX_TEST_UTIL_SOURCES)
tests_unit_test_mbox_index_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	-DMBOX_TEST_DATA='"$(abs_top_srcdir)/tests/unit/data-mbox"'
tests_unit_test_mbox_index_LDADD = core/libroost.la $(SODIUM_LIBS) $(CHECK_LIBS)
# The index against a running server (issue 8).
TESTS += tests/integration/test_mbox_index.py
