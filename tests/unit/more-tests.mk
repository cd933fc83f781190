# Unit tests (Check) for core pieces: IPC escaping, SASL, POP3 command
# parsing, the event loop, streams with TLS and fd passing.
# (test-line-reader is listed in core-tests.mk.)
check_PROGRAMS += tests/unit/test-ipc-escape tests/unit/test-sasl \
	tests/unit/test-pop3-command tests/unit/test-event-loop \
	tests/unit/test-stream tests/unit/test-fd-passing
TESTS += tests/unit/test-ipc-escape tests/unit/test-sasl \
	tests/unit/test-pop3-command tests/unit/test-event-loop \
	tests/unit/test-stream tests/unit/test-fd-passing

tests_unit_test_ipc_escape_SOURCES = tests/unit/test-ipc-escape.c
tests_unit_test_ipc_escape_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_ipc_escape_LDADD = core/libroost.la $(CHECK_LIBS)

tests_unit_test_sasl_SOURCES = tests/unit/test-sasl.c $(sasl_sources)
tests_unit_test_sasl_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_sasl_LDADD = core/libroost.la $(GNUTLS_LIBS) $(SODIUM_LIBS) $(CHECK_LIBS)

tests_unit_test_pop3_command_SOURCES = tests/unit/test-pop3-command.c \
	modules/pop3/pop3-command.c modules/pop3/pop3-command.h
tests_unit_test_pop3_command_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_pop3_command_LDADD = core/libroost.la $(CHECK_LIBS)

tests_unit_test_event_loop_SOURCES = tests/unit/test-event-loop.c
tests_unit_test_event_loop_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_event_loop_LDADD = core/libroost.la $(CHECK_LIBS)

# The TLS client runs in a helper thread; certtool makes the certificate.
tests_unit_test_stream_SOURCES = tests/unit/test-stream.c
tests_unit_test_stream_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
tests_unit_test_stream_LDADD = core/libroost.la $(GNUTLS_LIBS) $(CHECK_LIBS) -lpthread

tests_unit_test_fd_passing_SOURCES = tests/unit/test-fd-passing.c
tests_unit_test_fd_passing_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_fd_passing_LDADD = core/libroost.la $(CHECK_LIBS)
