# The storage plugin SDK (doc/plugin-guide.md): the headers a third-party
# storage module is built against, installed as include/roost/NAME.h, plus
# roost.pc (Makefile.am) for `pkg-config roost`.
#
# The list is closed under #include: each header includes only the C
# library and other headers of this list ("name.h", found next to it in
# include/roost/). Nothing else is installed, so internal headers (settings,
# event loop, streams, TLS, protocol) can change without an ABI bump.
# tests/integration/test_sdk.py compiles every installed header on its own
# and checks that include/roost/ holds exactly these files.
pkginclude_HEADERS += \
	storage/storage.h \
	core/module.h \
	core/config-parser.h \
	core/pool.h \
	core/buffer.h \
	core/error.h \
	core/log.h \
	core/message-wire.h

# The plugin guide is installed with the SDK it documents (its own
# directory variable, so this fragment does not depend on where Makefile.am
# sets dist_doc_DATA).
sdkdocdir = $(docdir)
dist_sdkdoc_DATA = doc/plugin-guide.md

# Sources of the deliberately broken plugins test_sdk.py builds.
EXTRA_DIST += tests/sdk

# The storage conformance kit (doc/plugin-guide.md section 5): checks the
# storage contract on any storage module by name, using only the SDK
# headers and libroost, so plugin authors run the same binary the project
# runs against maildir and mbox (tests/integration/test_storage_check.py).
bin_PROGRAMS += tools/storage-check/roost-storage-check
tools_storage_check_roost_storage_check_SOURCES = \
	tools/storage-check/storage-check.c tools/storage-check/storage-check.h \
	tools/storage-check/check-report.c \
	tools/storage-check/check-snapshot.c \
	tools/storage-check/check-read.c \
	tools/storage-check/check-contract.c
tools_storage_check_roost_storage_check_LDADD = core/libroost.la
