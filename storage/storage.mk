# storage.h is installed with the other SDK headers (sdk.mk); its shared
# helpers live in libroost so that third-party plugins can use them.
core_libroost_la_SOURCES += storage/storage-uidl.c storage/storage-location.c

MAILDIR_SOURCES = \
	storage/maildir/maildir-name.c storage/maildir/maildir-name.h \
	storage/maildir/maildir-hash.c storage/maildir/maildir-hash.h \
	storage/maildir/maildir-size-cache.c storage/maildir/maildir-size-cache.h \
	storage/maildir/maildir-listing-cache.c \
	storage/maildir/maildir-listing-cache.h \
	storage/maildir/maildir-dovecot-uidlist.c \
	storage/maildir/maildir-dovecot-uidlist.h \
	storage/maildir/maildir-courier-sizelist.c \
	storage/maildir/maildir-courier-sizelist.h \
	storage/maildir/maildir-lines.c storage/maildir/maildir-lines.h

module_LTLIBRARIES += modules/storage_maildir.la
modules_storage_maildir_la_SOURCES = \
	storage/maildir/maildir-storage.c $(MAILDIR_SOURCES)
modules_storage_maildir_la_LDFLAGS = $(MODULE_LDFLAGS)
modules_storage_maildir_la_LIBADD = $(MODULE_LIBADD) $(SODIUM_LIBS)

check_PROGRAMS += tests/unit/test-maildir tests/unit/test-message-wire
TESTS += tests/unit/test-maildir tests/unit/test-message-wire
# The module's sources are linked in directly so the test can reach the
# internal helpers and the roost_module descriptor without dlopen().
tests_unit_test_maildir_SOURCES = tests/unit/test-maildir.c \
	tests/unit/fs-test-util.c tests/unit/fs-test-util.h \
	storage/maildir/maildir-storage.c $(MAILDIR_SOURCES)
tests_unit_test_maildir_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_maildir_LDADD = core/libroost.la $(SODIUM_LIBS) $(CHECK_LIBS)
# Courier maildirs keep their UIDLs from courierpop3dsizelist (issue 10).
TESTS += tests/integration/test_courier_migration.py
# An unchanged maildir is listed from roost-listing (issue 8).
TESTS += tests/integration/test_maildir_listing.py
tests_unit_test_message_wire_SOURCES = tests/unit/test-message-wire.c
tests_unit_test_message_wire_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_message_wire_LDADD = core/libroost.la $(CHECK_LIBS)
include storage/mbox/mbox.mk
