# libroost: the shared core every process and module links against.
pkglib_LTLIBRARIES += core/libroost.la
core_libroost_la_SOURCES = \
	core/pool.c core/pool.h \
	core/buffer.c core/buffer.h \
	core/error.c core/error.h \
	core/log.c core/log.h \
	core/config-parser.c core/config-parser.h \
	core/var-expand.c core/var-expand.h \
	core/settings.c core/settings.h \
	core/module.c core/module.h \
	core/module-list.c core/module-list.h \
	core/message-wire.c core/message-wire.h \
	core/event-loop.c core/event-loop.h \
	core/stream.c core/stream.h \
	core/tls-context.c core/tls-context.h \
	core/tls-key-protocol.h \
	core/tls-key-client.c core/tls-key-client.h \
	core/tls-key-server.c core/tls-key-server.h \
	core/privilege-drop.c core/privilege-drop.h \
	core/memory-release.c core/memory-release.h \
	core/process-title.c core/process-title.h \
	core/line-reader.c core/line-reader.h \
	core/fd-passing.c core/fd-passing.h \
	core/blocking-io.c core/blocking-io.h \
	core/ipc-escape.c core/ipc-escape.h \
	core/decimal.c core/decimal.h \
	core/module-settings.c core/module-settings.h
core_libroost_la_LIBADD = $(GNUTLS_LIBS) $(SODIUM_LIBS) $(LTDL_LIBS) $(LIBS)
core_libroost_la_LDFLAGS = -avoid-version

# The roost binary: master, login, auth and mail worker roles.
sbin_PROGRAMS += core/roost
core_roost_SOURCES = \
	core/master/main.c \
	core/master/master.c core/master/master.h \
	core/master/listeners.c core/master/listeners.h \
	core/master/auth-client.c core/master/auth-client.h \
	core/master/session-table.c core/master/session-table.h \
	core/master/worker-pool.c core/master/worker-pool.h \
	core/master/login-history.c core/master/login-history.h \
	core/master/debug-users.c core/master/debug-users.h \
	core/master/control.c core/master/control.h \
	core/master/control-commands.c \
	core/master/metrics.c core/master/metrics.h \
	core/master/login-stats.c core/master/login-stats.h \
	core/master/metrics-http.c core/master/metrics-http.h \
	core/master/http-request.c core/master/http-request.h \
	core/mail/mailbox-status.c core/mail/mailbox-status.h \
	core/mail/mail-worker.c core/mail/mail-worker.h \
	core/login/login.c core/login/login.h \
	core/login/login-proxy.c core/login/login-proxy.h \
	core/protocol.h
core_roost_LDFLAGS = -export-dynamic
core_roost_LDADD = core/libroost.la auth/libauthd.la $(GNUTLS_LIBS) $(SODIUM_LIBS) $(LTDL_LIBS)
