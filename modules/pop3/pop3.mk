module_LTLIBRARIES += modules/protocol_pop3.la
modules_protocol_pop3_la_SOURCES = \
	modules/pop3/pop3-module.c \
	modules/pop3/pop3-login.c modules/pop3/pop3-login.h \
	modules/pop3/pop3-proxy.c modules/pop3/pop3-proxy.h \
	modules/pop3/pop3-session.c modules/pop3/pop3-session.h \
	modules/pop3/pop3-command.c modules/pop3/pop3-command.h \
	modules/pop3/pop3-capa.c modules/pop3/pop3-capa.h
modules_protocol_pop3_la_LDFLAGS = $(MODULE_LDFLAGS)
modules_protocol_pop3_la_LIBADD = $(MODULE_LIBADD)
