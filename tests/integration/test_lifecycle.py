#!/usr/bin/env python3
"""The master's life cycle: -n and --version, a broken config at start,
SIGHUP reload (broken config keeps the old one; a good one applies without
dropping an established session), restart of killed children with growing
back-off, SIGTERM with deletions pending (nothing deleted, no lock left),
idle timeouts before and after login, and the per-process client limit."""

import fcntl
import os
import re
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_lifecycle")
S = None      # the server most tests use
T = None      # short timeouts and a small client limit


def setup():
    global S, T
    S = R.server(rt.Server("lifecycle"))
    S.add_user("alice", "secret")
    S.start()
    T = R.server(rt.Server("limits", extra_config="\n".join([
        "login_processes = 1",
        "login_client_limit = 2",
        "login_idle_timeout = 1s",
        "mail_idle_timeout = 1s",
    ])))
    T.add_user("carol", "secret")
    T.start()


def role_pids(srv, role):
    """Pids of the server's children whose process title is role (login
    processes retired by a reload call themselves "(retiring)" and are
    left out)."""
    pids = []
    for pid in srv.children():
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                title = f.read().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if title.split(" ")[0] == role and "retiring" not in title:
            pids.append(pid)
    return pids


def log_text(srv):
    with open(srv.logfile, "rb") as f:
        return f.read().decode(errors="replace")


def run_roost(*args):
    return subprocess.run([rt.ROOST] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=30)


@R.test
def version_and_nondefault_settings():
    r = run_roost("--version")
    rt.assert_eq(r.returncode, 0, "roost --version exit status")
    rt.assert_true(re.match(rb"roost \d+\.\d+", r.stdout), "version line %r" % r.stdout)
    r = run_roost("-n", "-c", S.conf)
    rt.assert_eq(r.returncode, 0, "roost -n exit status (%s)" % r.stderr)
    out = r.stdout.decode()
    rt.assert_true("listen = 127.0.0.1" in out, "-n shows the changed listen:\n" + out)
    rt.assert_true("port = %d" % S.pop3s_port in out, "-n shows the listeners:\n" + out)
    rt.assert_true("ssl_priority" not in out and "login_greeting" not in out,
                   "-n leaves out settings at their defaults:\n" + out)
    example = os.path.join(rt.SRCDIR, "doc", "roost.conf.example")
    r = run_roost("-n", "-c", example)
    rt.assert_eq(r.returncode, 0, "the shipped example config parses (%s)" % r.stderr)
    rt.assert_true(b"passdb passwd-file" in r.stdout, "example has a passdb: %r" % r.stdout)


@R.test
def broken_config_at_start_names_file_and_line():
    path = os.path.join(S.dir, "broken.conf")
    with open(path, "w") as f:
        f.write(S.config_text().replace("listen = 127.0.0.1",
                                        "listen = 127.0.0.1\nsssl = yes"))
    r = run_roost("-F", "-c", path)
    rt.assert_eq(r.returncode, 1, "exit status with a broken config")
    lineno = S.config_text().split("\n").index("listen = 127.0.0.1") + 2
    rt.assert_true(("%s:%d:" % (path, lineno)).encode() in r.stderr and b"sssl" in r.stderr,
                   "error names FILE:LINE and the key: %r" % r.stderr)


def greeting(srv):
    c = rt.RawClient(srv.pop3_port)
    g = c.greeting
    c.close()
    return g


@R.test
def reload_keeps_old_config_when_new_is_broken():
    good = S.config_text()
    old_logins = sorted(role_pids(S, "roost-login"))
    with open(S.conf, "w") as f:
        f.write(good + "login_greeting = \"never shown\"\nno_such_setting = 1\n")
    os.kill(S.proc.pid, signal.SIGHUP)
    rt.wait_for(lambda: "Reload failed" in log_text(S), "the reload failure log line")
    line = [l for l in log_text(S).splitlines() if "Reload failed" in l][-1]
    rt.assert_true(S.conf in line and "no_such_setting" in line,
                   "the failure names the file, line and key: " + line)
    rt.assert_eq(sorted(role_pids(S, "roost-login")), old_logins,
                 "login processes untouched by a failed reload")
    rt.assert_true(b"never shown" not in greeting(S), "old greeting still in force")
    c = S.raw_login("alice")
    rt.assert_ok(c.cmd("STAT"), "login after a failed reload")
    c.cmd("QUIT")
    c.close()
    S.write_config()


@R.test
def reload_applies_new_config_and_keeps_sessions():
    session = S.raw_login("alice")   # established before the reload
    old_logins = set(role_pids(S, "roost-login"))
    old_auth = role_pids(S, "roost-auth")
    S.extra_config = 'login_greeting = "Reloaded and ready."'
    S.write_config()
    os.kill(S.proc.pid, signal.SIGHUP)
    rt.wait_for(lambda: b"Reloaded and ready." in greeting(S), "the new greeting")
    new_logins = rt.wait_for(lambda: set(role_pids(S, "roost-login")) - old_logins
                          if len(set(role_pids(S, "roost-login")) - old_logins) == 2 else None,
                          "two new login processes (old %s)" % old_logins)
    rt.assert_eq(len(new_logins), 2, "new login processes after the reload")
    rt.wait_for(lambda: role_pids(S, "roost-auth") and role_pids(S, "roost-auth") != old_auth,
             "a new auth process")
    # The session from before the reload still works and commits.
    rt.assert_ok(session.cmd("NOOP"), "old session after reload")
    body = session.cmd_multi("RETR 1")
    rt.assert_ok(body[0], "RETR on the old session")
    rt.assert_ok(session.cmd("QUIT"), "QUIT on the old session")
    session.close()
    S.extra_config = ""
    S.write_config()
    os.kill(S.proc.pid, signal.SIGHUP)
    rt.wait_for(lambda: b"Roost ready." in greeting(S), "the default greeting again")


@R.test
def killed_children_are_restarted_with_backoff():
    # The reloads before this test leave retiring login processes that
    # exit on their own; wait for them so only the current pool remains
    # (and mail workers, kept idle for the next login: worker-pool.h).
    rt.wait_for(lambda: len([p for p in S.children() if rt.pid_alive(p)]) ==
             len(role_pids(S, "roost-login")) + len(role_pids(S, "roost-auth"))
             + len(role_pids(S, "roost-auth-worker"))
             + len(role_pids(S, "roost-mail"))
             + len(role_pids(S, "roost-key")),
             "retired login processes to exit")
    login = role_pids(S, "roost-login")[0]
    os.kill(login, signal.SIGKILL)
    rt.wait_for(lambda: len(role_pids(S, "roost-login")) == 2 and login not in role_pids(S, "roost-login"),
             "a replacement login process")
    auth = rt.wait_for(lambda: role_pids(S, "roost-auth"), "the auth process")[0]
    os.kill(auth, signal.SIGKILL)
    auth2 = rt.wait_for(lambda: [p for p in role_pids(S, "roost-auth") if p != auth],
                     "a restarted auth process")[0]
    os.kill(auth2, signal.SIGKILL)
    rt.wait_for(lambda: [p for p in role_pids(S, "roost-auth") if p not in (auth, auth2)],
             "a second restart of auth", timeout=15)
    delays = [int(m) for m in re.findall(r"auth process \d+ killed by signal 9; restarting in (\d+) ms",
                                         log_text(S))]
    rt.assert_true(len(delays) >= 2 and delays[-1] > delays[-2] > 0,
                   "back-off grows for an auth process that keeps dying: %s" % delays)
    c = S.raw_login("alice")
    rt.assert_ok(c.cmd("STAT"), "login after the restarts")
    c.cmd("QUIT")
    c.close()


@R.test
def sigterm_closes_sessions_without_deleting():
    srv = R.server(rt.Server("sigterm"))
    srv.add_user("dave", "secret")
    srv.start()
    srv.add_user("erin", "secret")
    srv.write_passwd()
    before = srv.disk_files("dave")
    c = srv.raw_login("dave")
    rt.assert_ok(c.cmd("DELE 1"), "DELE 1")
    t = srv.raw_login("erin", tls=True)    # relayed by a login process
    rt.assert_ok(t.cmd("NOOP"), "NOOP over TLS")
    srv.stop()
    last = c.readline()
    rt.assert_true(last.startswith(b"-ERR [SYS/TEMP]"), "goodbye on shutdown: %r" % last)
    c.close()
    last = t.readline()
    rt.assert_true(last.startswith(b"-ERR [SYS/TEMP]"),
                   "goodbye on shutdown reaches a TLS session too: %r" % last)
    t.close()
    rt.assert_eq(base_names(srv.disk_files("dave")), base_names(before),
                 "no message deleted by a shutdown")
    lock = os.path.join(srv.users["dave"].maildir, "roost-pop3.lock")
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)   # raises if still held
    rt.assert_true(not os.path.exists(os.path.join(srv.base_dir, "master.pid")),
                   "pid file removed")
    rt.assert_true(not os.path.exists(os.path.join(srv.base_dir, "login", "auth")),
                   "auth socket removed")


def base_names(files):
    """Message identities on disk: logging in moves new/X to cur/X:2, and
    that must not count as a change."""
    return sorted(f.split("/", 1)[1].split(":", 1)[0] for f in files)


def read_until_eof(sock, timeout):
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            d = sock.recv(4096)
            if not d:
                return data, True
            data += d
    except socket.timeout:
        return data, False


@R.test
def no_orphans_when_the_master_is_killed():
    """A master killed with SIGKILL (no chance to clean up) must not leave
    login or auth processes behind."""
    srv = R.server(rt.Server("orphans"))
    srv.add_user("olga", "secret")
    srv.start()
    kids = rt.wait_for(lambda: srv.children() if len(srv.children()) >= 3 else None,
                    "auth and two login processes")
    os.kill(srv.proc.pid, signal.SIGKILL)
    srv.proc.wait(timeout=5)
    rt.wait_for(lambda: not [p for p in kids if rt.pid_alive(p)],
             "login and auth processes to exit after their master died")
    srv.proc = None   # killed on purpose: no clean-stop check for it


@R.test
def idle_timeout_before_login():
    s = socket.create_connection(("127.0.0.1", T.pop3_port), timeout=5)
    data, eof = read_until_eof(s, 5)
    s.close()
    rt.assert_true(eof, "connection closed after login_idle_timeout")
    rt.assert_true(b"-ERR Disconnected for inactivity." in data, "reason given: %r" % data)


@R.test
def idle_timeout_after_login_commits_nothing():
    before = T.disk_files("carol")
    c = T.raw_login("carol")
    rt.assert_ok(c.cmd("DELE 1"), "DELE 1")
    data, eof = read_until_eof(c.sock, 5)
    c.close()
    rt.assert_true(eof, "connection closed after mail_idle_timeout")
    rt.assert_true(b"-ERR Disconnected for inactivity." in data, "reason given: %r" % data)
    T.wait_unlocked("carol")
    rt.assert_eq(base_names(T.disk_files("carol")), base_names(before),
                 "nothing deleted by an autologout")


@R.test
def client_limit_per_login_process():
    a = rt.RawClient(T.pop3_port)
    b = rt.RawClient(T.pop3_port)
    third = socket.create_connection(("127.0.0.1", T.pop3_port), timeout=5)
    third.settimeout(0.7)
    try:
        early = third.recv(100)
    except socket.timeout:
        early = b""
    rt.assert_eq(early, b"", "no greeting for a client over login_client_limit")
    a.cmd("QUIT")
    a.close()
    third.settimeout(5)
    rt.assert_true(third.recv(100).startswith(b"+OK"),
                   "the waiting client is served once a slot frees up")
    third.close()
    b.close()


if __name__ == "__main__":
    R.main(setup)
