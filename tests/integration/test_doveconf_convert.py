#!/usr/bin/env python3
"""`roostctl config convert-dovecot` (issue 10): Dovecot configurations
written here are dumped with the real `doveconf -n -c` (Debian's
dovecot-core; skipped without it), converted, and the result must be a
valid Roost configuration (`roost -n -c` and `roostctl config check`)
that says what the Dovecot one said; what cannot be mapped must be
flagged, as a "# NOT CONVERTED" comment and on stderr.

  maildir   passwd-file passdb and userdb, ssl = yes with a certificate,
            its own ports, auth_mechanisms with one Roost lacks,
            login_trusted_networks; Roost is then started with the
            converted configuration and a user logs in with poplib
  mbox      mbox with INBOX=, pop3_reuse_xuidl, static userdb, pam passdb
            with options, ssl = no
  sql       sql passdb and userdb with a dovecot-sql.conf.ext (sqlite,
            queries spread over lines, '%u' quoted), and one for mysql,
            which Roost lacks
"""

import os
import poplib
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_doveconf_convert")
DOVECONF = "/usr/bin/doveconf"
ROOSTCTL = os.path.join(rt.BUILDDIR, "tools", "roostctl", "roostctl")
S = None
PASSWORD = "convert pw"


def doveconf(directory, name, text, show_secrets=True):
    """Writes a Dovecot config and returns `doveconf -n [-P] -c` of it."""
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    args = [DOVECONF, "-n"] + (["-P"] if show_secrets else []) + ["-c", path]
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    rt.assert_eq(r.returncode, 0, "doveconf on %s: %s"
                 % (name, r.stderr.decode(errors="replace")))
    return r.stdout


def convert(dump, *args):
    """(exit status, Roost config, stderr) of the converter on dump."""
    r = subprocess.run([ROOSTCTL, "config", "convert-dovecot"] + list(args),
                       input=dump, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    out, err = r.stdout.decode(), r.stderr.decode()
    rt.log("---- converted ----\n%s---- stderr ----\n%s" % (out, err))
    return r.returncode, out, err


def assert_valid(directory, name, text):
    """roost -n and roostctl config check accept text (with the build
    tree's module_dir, which a converted config cannot know)."""
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text + "module_dir = %s\n" % rt.MODULE_DIR)
    for cmd in ([rt.ROOST, "-n", "-c", path],
                [ROOSTCTL, "config", "check", "-c", path]):
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        rt.assert_eq(r.returncode, 0, "%s: %s" % (" ".join(cmd[:3]),
                                                   r.stderr.decode(errors="replace")))


def flags(text):
    return [line for line in text.splitlines()
            if line.startswith("# NOT CONVERTED")]


def assert_flagged(out, err, needle):
    rt.assert_true(any(needle in f for f in flags(out)),
                   "a NOT CONVERTED line about %r" % needle)
    rt.assert_true(needle in err, "stderr names %r" % needle)


def assert_has(out, line):
    rt.assert_true(line in out.splitlines(), "converted config has %r" % line)


class ConvertedServer(rt.Server):
    """A test server whose configuration is the converter's output plus
    base_dir and module_dir (which a Dovecot config cannot give)."""
    converted = ""

    def config_text(self):
        return (self.converted + "base_dir = %s\nmodule_dir = %s\n"
                "auth_failure_delay = 0\n" % (self.base_dir, rt.MODULE_DIR))


def setup():
    global S
    if not os.access(DOVECONF, os.X_OK):
        raise rt.SkipTest("%s is not installed (contrib/deps installs "
                          "dovecot-pop3d)" % DOVECONF)
    S = R.server(ConvertedServer("doveconf-convert"))
    S.add_user("dana", PASSWORD)


@R.test
def maildir_passwd_file_serves_mail():
    uid = S.run_uid if S.run_uid is not None else os.getuid()
    dump = doveconf(S.dir, "dovecot-maildir.conf", """
protocols = pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <%(cert)s
ssl_key = <%(key)s
auth_mechanisms = plain login digest-md5
first_valid_uid = %(uid)d
login_trusted_networks = 10.0.0.0/8
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %(passwd)s
}
userdb {
  driver = passwd-file
  args = %(passwd)s
}
service pop3-login {
  inet_listener pop3 {
    port = %(pop3)d
  }
  inet_listener pop3s {
    port = %(pop3s)d
    ssl = yes
  }
}
""" % dict(cert=S.cert, key=S.key, uid=min(uid, 1000), passwd=S.passwd,
           pop3=S.pop3_port, pop3s=S.pop3s_port))
    status, out, err = convert(dump)
    rt.assert_eq(status, 0, "exit status")
    for line in ("listen = 127.0.0.1", "ssl = required",
                 "ssl_cert = %s" % S.cert, "ssl_key = %s" % S.key,
                 'auth_mechanisms = "plain login"',
                 "first_valid_uid = %d" % min(uid, 1000),
                 "    port = %d" % S.pop3_port, "    port = %d" % S.pop3s_port,
                 "    tls = yes", "passdb passwd-file {",
                 "  path = %s" % S.passwd, "  default_scheme = PLAIN",
                 "userdb passwd-file {", "mail = maildir:~/Maildir"):
        assert_has(out, line)
    assert_flagged(out, err, "digest-md5")
    assert_flagged(out, err, "login_trusted_networks")
    # Dovecot's default auth_username_format = %Lu lowercases names.
    assert_has(out, "auth_username_lowercase = yes")
    assert_valid(S.dir, "roost-maildir.conf", out)

    # the same dump without -P hides ssl_key: flagged, never guessed
    _, hidden, err2 = convert(doveconf(S.dir, "dovecot-maildir.conf",
                                       open(os.path.join(S.dir,
                                                         "dovecot-maildir.conf")).read(),
                                       show_secrets=False))
    assert_flagged(hidden, err2, "ssl_key is hidden")
    rt.assert_true(not any(l.startswith("ssl_key") for l in hidden.splitlines()),
                   "no ssl_key line without -P")

    # Roost with the converted configuration serves the user's maildir
    S.converted = out
    S.start()
    p = poplib.POP3("127.0.0.1", S.pop3_port, timeout=rt.TIMEOUT)
    try:
        p.user("dana")
        p.pass_(PASSWORD)
        count, octets = p.stat()
        disk = S.disk_messages("dana")
        rt.assert_eq((count, octets), (len(disk), sum(map(rt.pop3_size, disk.values()))),
                     "STAT with the converted configuration")
        p.quit()
    finally:
        p.close()


@R.test
def mbox_static_pam():
    dump = doveconf(S.dir, "dovecot-mbox.conf", """
protocols = pop3
ssl = no
disable_plaintext_auth = no
mail_location = mbox:~/mail:INBOX=/var/mail/%u:INDEX=/var/lib/dovecot/%u
pop3_reuse_xuidl = yes
first_valid_uid = 1000
last_valid_uid = 60000
passdb {
  driver = pam
  args = session=yes roost-test
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=/srv/mail/%d/%n allow_all_users=yes
}
protocol imap {
  imap_idle_notify_interval = 5 mins
}
""")
    status, out, err = convert(dump)
    rt.assert_eq(status, 0, "exit status")
    for line in ("ssl = no", "passdb pam {", "  service = roost-test",
                 "userdb static {", "  uid = 65534", "  gid = 65534",
                 "  home = /srv/mail/%{domain}/%{username}",
                 "mail = mbox:/var/mail/%{user}:reuse_xuidl=yes",
                 "first_valid_uid = 1000", "last_valid_uid = 60000"):
        assert_has(out, line)
    rt.assert_true("allow_all_users" not in out, "allow_all_users dropped")
    assert_flagged(out, err, "session=yes")
    rt.assert_true(any("protocol imap" in l for l in out.splitlines()
                       if l.startswith("# Ignored")),
                   "protocol imap listed as ignored")
    rt.assert_eq(len([l for l in out.splitlines() if l.startswith("listener")]), 0,
                 "no listener outside the service section")
    # ssl = no: the pop3s listener Dovecot has by default is dropped
    assert_flagged(out, err, "inet_listener pop3s")
    assert_valid(S.dir, "roost-mbox.conf", out)


SQL_CONF = """# dovecot-sql.conf.ext as Dovecot's documentation writes them
driver = %(driver)s
connect = %(connect)s
default_pass_scheme = SHA512-CRYPT
password_query = \\
  SELECT username AS user, password \\
  FROM users WHERE username = '%%u'
user_query = SELECT home, uid, gid FROM users \\
  WHERE username = '%%n' AND domain = '%%d'
iterate_query = SELECT username AS user FROM users
"""


@R.test
def sql_queries_are_bound():
    sql_conf = os.path.join(S.dir, "dovecot-sql.conf.ext")
    db = os.path.join(S.dir, "users.db")
    with open(sql_conf, "w") as f:
        f.write(SQL_CONF % dict(driver="sqlite", connect=db))
    dump = doveconf(S.dir, "dovecot-sql.conf", """
protocols = pop3
ssl = no
disable_plaintext_auth = no
mail_location = maildir:/var/vmail/%%d/%%n/Maildir
passdb {
  driver = sql
  args = %(conf)s
}
userdb {
  driver = sql
  args = %(conf)s
}
""" % dict(conf=sql_conf))
    status, out, err = convert(dump)
    rt.assert_eq(status, 0, "exit status")
    for line in ("passdb sqlite {", "userdb sqlite {", "  path = %s" % db,
                 '  password_query = "SELECT username AS user, password FROM '
                 'users WHERE username = %{user}"',
                 '  user_query = "SELECT home, uid, gid FROM users WHERE '
                 'username = %{username} AND domain = %{domain}"',
                 "  default_scheme = SHA512-CRYPT",
                 "mail = maildir:/var/vmail/%{domain}/%{username}/Maildir"):
        assert_has(out, line)
    rt.assert_true("'%" not in out.replace("# NOT", ""), "no quoted variables left")
    rt.assert_true("iterate_query" not in out, "iterate_query is not Roost's")
    assert_valid(S.dir, "roost-sql.conf", out)

    # MySQL: Roost has no driver for it
    with open(sql_conf, "w") as f:
        f.write(SQL_CONF % dict(driver="mysql",
                                connect="host=localhost dbname=mail"))
    _, out, err = convert(dump)
    assert_flagged(out, err, "driver 'mysql'")
    rt.assert_true("passdb sqlite" not in out and "passdb pgsql" not in out,
                   "no SQL passdb for MySQL")

    # an unreadable file is flagged with its name, not fatal
    os.unlink(sql_conf)
    status, out, err = convert(dump)
    rt.assert_eq(status, 0, "exit status without the sql file")
    assert_flagged(out, err, "cannot read %s" % sql_conf)


@R.test
def damaged_dump_and_usage():
    status, out, err = convert(b"ssl = no\nthis is not dovecot\n}\n"
                               b"passdb {\n  driver = pam\n")
    rt.assert_eq(status, 0, "a damaged dump still converts")
    rt.assert_true("standard input:2:" in err and "standard input:3:" in err,
                   "damaged lines named with their line numbers: %r" % err)
    assert_has(out, "passdb pam {")
    # An empty value where a word is expected once made the converter
    # loop forever (found by fuzz-doveconf-dump); convert() has a timeout.
    status, out, err = convert(b"syslog_facility = \nauth_mechanisms = \n")
    rt.assert_eq(status, 0, "empty values convert")
    assert_flagged(out, err, "syslog_facility")
    status, _, err = convert(b"", "/nonexistent/dump")
    rt.assert_eq(status, 1, "exit status for a missing file")
    status, _, _ = convert(b"", "a", "b")
    rt.assert_eq(status, 2, "exit status for two files")


R.main(setup)
