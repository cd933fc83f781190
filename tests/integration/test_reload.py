#!/usr/bin/env python3
"""Reload through roostctl and SIGHUP: an established session survives a
good reload (and then retrieves its mail) and a broken one; a broken
config is reported with FILE:LINE on roostctl's stderr (exit status 1)
and in the log, and the old config stays in force for new logins."""

import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

ROOSTCTL = os.path.join(rt.BUILDDIR, "tools", "roostctl", "roostctl")
R = rt.Runner("test_reload")
S = None


def setup():
    global S
    S = R.server(rt.Server("reload"))
    S.add_user("alice", "secret")
    S.add_user("bob", "bobpw")
    S.start()


def reload(*extra):
    r = subprocess.run([ROOSTCTL] + list(extra) + ["-c", S.conf, "reload"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stderr.decode(errors="replace")


def write_config(text):
    with open(S.conf, "w") as f:
        f.write(text)


def greeting():
    c = rt.RawClient(S.pop3_port)
    g = c.greeting
    c.close()
    return g


def retrieve_all(c, name):
    """RETRs every message over RawClient c; compares with the disk."""
    expected = S.expected(name)
    status, listing = c.cmd_multi("UIDL")
    rt.assert_ok(status, "UIDL")
    got = {}
    for line in listing.decode().splitlines():
        n, uidl = line.split()
        status, data = c.cmd_multi("RETR " + n)
        rt.assert_ok(status, "RETR %s" % n)
        got[uidl] = rt.unstuff(data)
    rt.assert_eq(sorted(got), sorted(expected), "UIDLs of the session")
    for uidl in got:
        rt.assert_bytes(got[uidl], expected[uidl], "message %s" % uidl)


@R.test
def good_reload_keeps_the_session():
    good = S.config_text()
    c = S.raw_login("alice")
    try:
        rt.assert_ok(c.cmd("STAT"), "STAT before the reload")
        write_config(good + 'login_greeting = "Reloaded roost."\n')
        rc, err = reload()
        rt.assert_eq(rc, 0, "roostctl reload of a good config (%r)" % err)
        rt.wait_for(lambda: b"Reloaded roost." in greeting(), "the new greeting")
        # The established session goes on and gets all its mail.
        retrieve_all(c, "alice")
        rt.assert_ok(c.cmd("QUIT"), "QUIT after the reload")
    finally:
        c.close()
    rt.assert_true("Configuration reloaded from %s" % S.conf in S.log_text(),
                   "the reload is logged")
    write_config(good)
    rc, err = reload()
    rt.assert_eq(rc, 0, "reload back (%r)" % err)


@R.test
def broken_reload_keeps_session_and_old_config():
    good = S.config_text()
    write_config(good + 'login_greeting = "Good config."\n')
    rt.assert_eq(reload()[0], 0, "reload of a good config")
    rt.wait_for(lambda: b"Good config." in greeting(), "the good greeting")
    c = S.raw_login("bob")
    try:
        rt.assert_ok(c.cmd("STAT"), "STAT before the broken reload")
        broken = good + 'login_greeting = "Broken config."\nno_such_setting = 1\n'
        write_config(broken)
        line = broken.split("\n").index("no_such_setting = 1") + 1
        rc, err = reload()
        rt.assert_eq(rc, 1, "roostctl reload of a broken config")
        rt.assert_true("%s:%d:" % (S.conf, line) in err and "no_such_setting" in err,
                       "roostctl names FILE:LINE and the key: %r" % err)
        rt.assert_true(re.search(r"Reload failed, the running configuration stays in force: "
                                 + re.escape("%s:%d:" % (S.conf, line)), S.log_text()),
                       "the log names FILE:LINE")
        # The session goes on.
        retrieve_all(c, "bob")
        # New logins work, with the old config.
        rt.assert_true(b"Good config." in greeting(), "the old greeting stays")
        p = S.login("alice")
        rt.assert_eq(p.stat()[0], len(S.expected("alice")), "STAT of a new login")
        p.quit()
        # SIGHUP does the same as roostctl reload.
        n_failed = S.log_text().count("Reload failed")
        os.kill(S.proc.pid, signal.SIGHUP)
        rt.wait_for(lambda: S.log_text().count("Reload failed") > n_failed,
                 "SIGHUP to report the broken config")
        rt.assert_true(b"Good config." in greeting(), "the old greeting stays after SIGHUP")
        rt.assert_ok(c.cmd("NOOP"), "the session is still there after SIGHUP")
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
    finally:
        c.close()


@R.test
def syntax_error_reported_with_file_and_line():
    good = S.config_text()
    broken = good + 'service pop3 {\n'
    write_config(broken)
    # Through the config: roostctl cannot even find base_dir, and says why.
    rc, err = reload()
    rt.assert_eq(rc, 1, "reload with a syntax error")
    rt.assert_true(S.conf in err, "names the file: %r" % err)
    # With -b the server itself reports it.
    rc, err = reload("-b", S.base_dir)
    rt.assert_eq(rc, 1, "reload -b with a syntax error")
    rt.assert_true(re.search(re.escape(S.conf) + r":\d+:", err),
                   "the server names FILE:LINE: %r" % err)
    write_config(good)
    rt.assert_eq(reload()[0], 0, "reload of the good config again")
    p = S.login("alice")
    p.quit()


@R.test
def reloads_are_counted():
    r = subprocess.run([ROOSTCTL, "-c", S.conf, "stats"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    rt.assert_eq(r.returncode, 0, "stats")
    stats = dict(line.rsplit(" ", 1) for line in r.stdout.decode().splitlines())
    rt.assert_true(int(stats['roost_config_reloads_total{result="ok"}']) >= 3,
                   "good reloads counted: %r" % stats)
    rt.assert_true(int(stats['roost_config_reloads_total{result="failed"}']) >= 3,
                   "failed reloads counted: %r" % stats)


if __name__ == "__main__":
    R.main(setup)
