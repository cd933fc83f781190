check_PROGRAMS += tests/unit/test-config tests/unit/test-var-expand tests/unit/test-line-reader
TESTS += tests/unit/test-config tests/unit/test-var-expand tests/unit/test-line-reader
tests_unit_test_config_SOURCES = tests/unit/test-config.c
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -DTEST_DATA_DIR=\"$(abs_top_srcdir)/tests/unit/data\"
tests_unit_test_config_LDADD = core/libroost.la $(CHECK_LIBS)
tests_unit_test_var_expand_SOURCES = tests/unit/test-var-expand.c
tests_unit_test_var_expand_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_var_expand_LDADD = core/libroost.la $(CHECK_LIBS)
tests_unit_test_line_reader_SOURCES = tests/unit/test-line-reader.c
tests_unit_test_line_reader_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_line_reader_LDADD = core/libroost.la $(CHECK_LIBS)
# Config files the config tests read (good, broken, include chains).
EXTRA_DIST += tests/unit/data
