# Documentation (issue 6): man pages and the admin, PAM, SQL and Dovecot
# migration guides, installed and shipped in the tarball. The systemd unit
# (contrib/systemd/) is shipped with the rest of contrib/ (EXTRA_DIST in
# Makefile.am) but not installed: its paths depend on the prefix, and
# distributions install units their own way (doc/admin-guide.md says how).
dist_man_MANS = doc/roost.8 doc/roost.conf.5 doc/roostctl.1

# Its own directory variable, like sdk.mk's, so this fragment does not
# depend on where Makefile.am sets dist_doc_DATA.
admindocdir = $(docdir)
dist_admindoc_DATA = doc/admin-guide.md doc/migrating-from-dovecot.md \
	doc/auth-pam.md doc/auth-sql.md doc/virtual-users.md \
	doc/scaling-out.md

# The man pages render without groff warnings and name every setting,
# server option and roostctl command the code has.
TESTS += tests/doc/test_man_pages.py
EXTRA_DIST += tests/doc/test_man_pages.py
