# roostctl, the administration tool (issue 6), and its integration tests.
sbin_PROGRAMS += tools/roostctl/roostctl
tools_roostctl_roostctl_SOURCES = \
	tools/roostctl/roostctl.c tools/roostctl/roostctl.h \
	tools/roostctl/control-client.c \
	tools/roostctl/password-prompt.c \
	tools/roostctl/convert-dovecot.c tools/roostctl/convert-dovecot.h \
	tools/roostctl/doveconf-dump.c tools/roostctl/doveconf-dump.h
tools_roostctl_roostctl_LDADD = core/libroost.la $(SODIUM_LIBS)

TESTS += \
	tests/integration/test_roostctl.py \
	tests/integration/test_metrics.py \
	tests/integration/test_reload.py \
	tests/integration/test_doveconf_convert.py
