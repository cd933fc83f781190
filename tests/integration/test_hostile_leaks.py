#!/usr/bin/env python3
"""LeakSanitizer on the long-lived processes across thousands of sessions.

Only meaningful in the AddressSanitizer build (tests/sanitize-check runs
it there); skipped (77) in a normal build. The rest of the integration
suite runs its servers with detect_leaks=0; this test turns leak checking
on for its own server, drives a few thousand sessions through the same
master, login and auth processes (failed and cancelled logins, every SASL
path, STLS and implicit TLS, abandoned handshakes, over-long lines, and
successful sessions that retrieve mail), reloads the configuration once
in the middle (the replaced login and auth processes exit and are checked
then), stops the server with SIGTERM and fails on any LeakSanitizer report
in the server log, from whichever process (master, login, auth, auth
workers, mail workers).

Processes are forked without exec, so a child inherits the master's heap;
that gives no false reports because the master keeps what it allocated
reachable from static storage for the life of the process (a string that
was only on main()'s stack was the one exception, fixed in main.c)."""

import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import hostile_common as hc  # noqa: E402

R = rt.Runner("test_hostile_leaks")
S = None
# Pre-auth sessions per kind below, and successful sessions; in total a
# few thousand sessions through the long-lived processes, in well under
# two minutes under ASan on two cores.
PREAUTH_EACH = 300
LOGINS = 200
THREADS = 4
# The child processes must have been checked at exit: LSan runs in each
# when it returns from main(); wait this long for them after SIGTERM.
STOP_WAIT = 30


def asan_build():
    for p in (os.path.join(rt.BUILDDIR, "core", ".libs", "roost"), rt.ROOST):
        try:
            with open(p, "rb") as f:
                if b"__asan_init" in f.read():
                    return True
        except OSError:
            pass
    return False


def setup():
    global S
    if not asan_build():
        raise rt.SkipTest("not an AddressSanitizer build (tests/sanitize-check "
                          "runs this test)")
    S = R.server(rt.Server("leaks"))
    opts = [o for o in os.environ.get("ASAN_OPTIONS", "").split(":")
            if o and not o.startswith("detect_leaks=")]
    S.env["ASAN_OPTIONS"] = ":".join(opts + ["detect_leaks=1"])
    S.env["LSAN_OPTIONS"] = "report_objects=1"
    for i in range(THREADS):
        S.add_user("user%d" % i, "secret")
    S.start()


def preauth_kinds(user):
    b64 = rt.base64.b64encode

    def failed_pass():
        c = S.raw()
        c.cmd("USER " + user)
        rt.assert_err(c.cmd("PASS wrong"), "wrong password")
        c.cmd("QUIT")
        c.close()

    def cancelled_sasl():
        c = S.raw()
        c.cmd("AUTH PLAIN")
        rt.assert_err(c.cmd("*"), "cancelled PLAIN")
        c.cmd("AUTH LOGIN")
        c.cmd(b64(user.encode()))
        rt.assert_err(c.cmd("*"), "cancelled LOGIN")
        rt.assert_err(c.cmd("AUTH PLAIN !!!"), "bad base64")
        c.close()                       # without QUIT

    def stls_then_fail():
        c = S.raw()
        c.starttls(S.client_context())
        c.cmd("CAPA")
        c.read_multiline()
        c.cmd("USER nobody-here")
        rt.assert_err(c.cmd("PASS x"), "unknown user over STLS")
        c.close()

    def pop3s_abandoned():
        s = socket.create_connection(("127.0.0.1", S.pop3s_port), timeout=5)
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        s.close()

    def long_line():
        c = S.raw()
        c.send(b"USER " + b"x" * 70000 + b"\r\n")
        rt.assert_err(c.readline(), "over-long line")
        c.close()

    return (failed_pass, cancelled_sasl, stls_then_fail, pop3s_abandoned,
            long_line)


def worker(idx, errors):
    user = "user%d" % idx
    try:
        kinds = preauth_kinds(user)
        for i in range(PREAUTH_EACH * len(kinds) // THREADS):
            kinds[i % len(kinds)]()
        for i in range(LOGINS // THREADS):
            c = S.raw_login(user, tls=bool(i % 2))
            st, data = c.cmd_multi("RETR 1")
            rt.assert_ok(st, "RETR 1")
            rt.assert_ok(c.cmd("QUIT"), "QUIT")
            c.close()
    except Exception as e:
        errors.append("%s: %s" % (user, e))


def run_threads():
    errors = []
    ts = [threading.Thread(target=worker, args=(i, errors))
          for i in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise AssertionError("; ".join(errors[:5]))


@R.test
def no_leaks_across_thousands_of_sessions():
    t0 = time.monotonic()
    run_threads()
    old = hc.pids(S, "roost-login") + hc.pids(S, "roost-auth")
    S.proc.send_signal(signal.SIGHUP)
    rt.wait_for(lambda: not any(rt.pid_alive(p) for p in old),
                "the old login and auth processes to exit after SIGHUP", 30)
    run_threads()
    S.wait_unlocked("user0")
    rt.log("%d sessions in %.0fs" % (2 * (PREAUTH_EACH * 5 + LOGINS),
                                     time.monotonic() - t0))
    kids = S.children()
    S.proc.send_signal(signal.SIGTERM)
    S.proc.wait(timeout=STOP_WAIT)
    rt.wait_for(lambda: not any(rt.pid_alive(p) for p in kids),
                "every child to exit", STOP_WAIT)
    text = S.log_text()
    rt.assert_true("ERROR: LeakSanitizer" not in text,
                   "LeakSanitizer reports in the server log:\n%s"
                   % text[text.find("ERROR: LeakSanitizer") - 100:][:4000])
    rt.assert_eq(S.proc.returncode, 0, "exit status after SIGTERM")


if __name__ == "__main__":
    R.main(setup)
