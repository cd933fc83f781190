#!/usr/bin/env python3
"""roostctl against a running server: every command, its --help, exit
codes (0 ok, 1 failed, 2 usage, 3 not running / no access), the control
socket's permissions, the login and logout log lines, and per-user debug
logging switched at run time."""

import os
import poplib
import pty
import re
import select
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

ROOSTCTL = os.path.join(rt.BUILDDIR, "tools", "roostctl", "roostctl")
R = rt.Runner("test_roostctl")
S = None
COMMANDS = ["stop", "reload", "who", "kick", "user", "auth test", "pw",
            "mailbox status", "stats", "debug", "config check"]


def setup():
    global S
    if not os.path.exists(ROOSTCTL):
        raise rt.SkipTest("%s is not built" % ROOSTCTL)
    # The libtool wrapper may create .libs/lt-roostctl on first run: do it
    # now, as whoever runs the test, not later as another user.
    subprocess.run([ROOSTCTL, "--version"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=30)
    S = R.server(rt.Server("roostctl"))
    S.add_user("alice", "secret")
    S.add_user("bob", "bobpw")
    S.add_user("carol", "carolpw")
    S.start()


def ctl(*args, srv=None, stdin=None, uid=None, config=True):
    """Runs roostctl; returns (status, stdout, stderr) as text."""
    srv = srv or S
    cmd = [ROOSTCTL] + (["-c", srv.conf] if config else []) + list(args)
    kw = {}
    if uid is not None:
        kw = dict(user=uid, group=uid, extra_groups=[])
    r = subprocess.run(cmd, input=(stdin or "").encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=90, **kw)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def assert_status(result, status, what):
    rc, out, err = result
    if rc != status:
        raise AssertionError("%s: exit status %d, expected %d\nstdout: %s\nstderr: %s"
                             % (what, rc, status, out, err))
    return out, err


def crypt_check(password, hashed):
    """True when hashed (crypt(3) text) is a hash of password."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import crypt
    return crypt.crypt(password, hashed) == hashed


def who_all():
    out, _ = assert_status(ctl("who"), 0, "roostctl who")
    return [dict(kv.split("=", 1) for kv in line.split()) for line in out.splitlines()]


def who_lines(user=None):
    """The mail session lines (the login process lines have no user)."""
    return [w for w in who_all() if "user" in w and (user is None or w["user"] == user)]


def login_lines():
    return [w for w in who_all() if "login" in w]


@R.test
def help_and_usage_errors():
    out, _ = assert_status(ctl("--help"), 0, "roostctl --help")
    for c in COMMANDS:
        rt.assert_true(("  " + c) in out, "--help lists %r:\n%s" % (c, out))
    rt.assert_true("3 the server is not running" in out and "2 usage error" in out,
                   "--help documents the exit codes:\n" + out)
    for c in COMMANDS:
        out, _ = assert_status(ctl(*(c.split() + ["--help"])), 0, "%s --help" % c)
        rt.assert_true(out.startswith("Usage: roostctl") and c in out,
                       "%s --help prints its usage: %r" % (c, out))
    for args in (["frobnicate"], ["kick"], ["user", "a", "b"], ["who", "extra"],
                 ["debug", "alice", "maybe"], ["auth"], ["pw", "-x"],
                 ["pw", "-s", "NO-SUCH-SCHEME", "-p", "x"], []):
        _, err = assert_status(ctl(*args), 2, "usage error %r" % args)
        rt.assert_true("Usage" in err or "unknown" in err,
                       "usage error %r explains itself: %r" % (args, err))


@R.test
def server_not_running_is_status_3():
    _, err = assert_status(ctl("-b", os.path.join(S.dir, "nowhere"), "who", config=False),
                           3, "who without a server")
    rt.assert_true("not running" in err, "says the server is not running: %r" % err)
    other = os.path.join(S.dir, "other.conf")
    with open(other, "w") as f:
        f.write(S.config_text().replace(S.base_dir, os.path.join(S.dir, "other-run")))
    assert_status(ctl("-c", other, "stats", config=False), 3, "stats of a stopped server")
    _, err = assert_status(ctl("-c", os.path.join(S.dir, "missing.conf"), "who",
                               config=False), 1, "who with a missing config")
    rt.assert_true("missing.conf" in err, "names the missing config: %r" % err)


@R.test
def control_socket_is_private():
    path = os.path.join(S.base_dir, "control")
    st = os.stat(path)
    rt.assert_true(stat.S_ISSOCK(st.st_mode), "%s is a socket" % path)
    rt.assert_eq(stat.S_IMODE(st.st_mode), 0o600, "control socket mode")
    rt.assert_eq(st.st_uid, S.run_uid if S.run_uid is not None else os.geteuid(),
                 "control socket owner (the server's user)")
    if os.geteuid() != 0:
        raise rt.SkipTest("not root: cannot try another uid")
    # The server's own user may use it...
    assert_status(ctl("who", uid=S.run_uid), 0, "who as the server's user")
    # ...another one may not: first the file mode stops it,
    other = 1 if S.run_uid != 1 else 2
    _, err = assert_status(ctl("who", uid=other), 3, "who as uid %d" % other)
    rt.assert_true("Permission denied" in err, "says permission denied: %r" % err)
    # then, with the mode opened by mistake, the peer credentials check.
    os.chmod(path, 0o666)
    try:
        _, err = assert_status(ctl("stats", uid=other), 1,
                               "stats as uid %d through a 0666 socket" % other)
    finally:
        os.chmod(path, 0o600)
    rt.assert_true("permission denied" in err, "the master refuses uid %d: %r" % (other, err))
    rt.assert_true("control socket: refused a connection from uid %d" % other in S.log_text(),
                   "the refusal is logged")


@R.test
def who_lists_sessions_with_octets_sent():
    S.wait_unlocked("alice")
    c = S.raw()
    try:
        rt.assert_ok(c.cmd("USER alice"), "USER")
        logged_in = c.cmd("PASS secret")
        rt.assert_ok(logged_in, "PASS")
        w = rt.wait_for(lambda: [x for x in who_lines("alice") if x["state"] == "transaction"],
                     "alice in roostctl who")[0]
        rt.assert_eq(w["rip"], "127.0.0.1", "who: remote address")
        rt.assert_eq(w["tls"], "no", "who: TLS")
        rt.assert_true(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", w["since"]),
                       "who: since is a UTC time: %r" % w["since"])
        stat = c.cmd("STAT")
        status, data = c.cmd_multi("RETR 1")
        rt.assert_ok(status, "RETR 1")
        # Everything the mail worker sent: the login reply on.
        sent = len(logged_in) + len(stat) + len(status) + len(data) + 3
        w = rt.wait_for(lambda: [x for x in who_lines("alice")
                              if int(x["octets_sent"]) >= sent], "octets_sent to grow")[0]
        rt.assert_eq(int(w["octets_sent"]), sent, "who: octets sent after RETR")
        rt.assert_true(int(w["pid"]) in S.children(), "who: pid is a child of the server")
    finally:
        c.cmd("QUIT")
        c.close()
    rt.wait_for(lambda: not who_lines("alice"), "alice's session to leave roostctl who")


@R.test
def who_lists_login_processes_with_preauth_clients():
    # Each login process reports once at start, then after changes.
    rt.wait_for(lambda: len(login_lines()) == 2, "both login processes in who")
    for w in login_lines():
        rt.assert_true(int(w["login"]) in S.children(), "who: login=%s is a child of "
                       "the server" % w["login"])
    c = S.raw()   # greeted, never logs in
    try:
        rt.wait_for(lambda: sum(int(w["preauth"]) for w in login_lines()) >= 1,
                    "the client before login counted in who")
    finally:
        c.close()
    rt.wait_for(lambda: sum(int(w["preauth"]) for w in login_lines()) == 0,
                "the client gone from who")


@R.test
def login_and_logout_log_lines():
    c = S.raw_login("bob")
    status, data = c.cmd_multi("RETR 1")
    rt.assert_ok(status, "RETR 1")
    rt.assert_ok(c.cmd_multi("TOP 2 0")[0], "TOP 2 0")
    rt.assert_ok(c.cmd("DELE 3"), "DELE 3")
    rt.assert_ok(c.cmd("QUIT"), "QUIT")
    c.close()
    S.wait_unlocked("bob")
    text = S.log_text()
    login = [ln for ln in text.splitlines() if "user=bob rip=127.0.0.1" in ln and "Logged in:" in ln]
    rt.assert_true(login and re.search(r"Logged in: tls=no ", login[-1]),
                   "login line with user, rip and tls:\n%s" % "\n".join(login))
    out = [ln for ln in text.splitlines() if "user=bob" in ln and "Logged out:" in ln]
    rt.assert_true(out, "a logout line for bob")
    m = re.search(r"Logged out: retr=(\d+) retr_octets=(\d+) top=(\d+) dele=(\d+) "
                  r"deleted_octets=(\d+) octets_sent=(\d+) duration=(\d+\.\d{3}) "
                  r"reason=(\w+)$", out[-1])
    rt.assert_true(m, "logout line format: %r" % out[-1])
    msgs = rt.sample_messages("bob")
    rt.assert_eq(int(m.group(1)), 1, "retr=")
    rt.assert_eq(int(m.group(2)), len(rt.wire(msgs[0][2])), "retr_octets=")
    rt.assert_eq(int(m.group(3)), 1, "top=")
    rt.assert_eq(int(m.group(4)), 1, "dele=")
    rt.assert_eq(int(m.group(5)), rt.pop3_size(msgs[2][2]), "deleted_octets=")
    rt.assert_true(int(m.group(6)) > len(rt.wire(msgs[0][2])), "octets_sent= covers the RETR")
    rt.assert_eq(m.group(8), "quit", "reason=")
    S.reset_mailbox("bob")
    # A dropped connection commits nothing and says so.
    c = S.raw_login("bob")
    rt.assert_ok(c.cmd("DELE 1"), "DELE 1")
    c.close()
    rt.wait_for(lambda: re.search(r"user=bob .*Logged out: .*dele=0 .*reason=disconnect",
                               S.log_text()), "a logout line with reason=disconnect")
    S.wait_unlocked("bob")
    rt.assert_eq(len(S.disk_messages("bob")), len(msgs), "nothing deleted after a disconnect")


@R.test
def kick_ends_sessions_without_deleting():
    before = sorted(S.disk_messages("carol"))
    c = S.raw_login("carol")
    rt.assert_ok(c.cmd("DELE 1"), "DELE 1")
    rt.wait_for(lambda: who_lines("carol"), "carol in who")
    out, _ = assert_status(ctl("kick", "carol"), 0, "kick carol")
    rt.assert_true("kicked 1 session" in out, "kick says how many: %r" % out)
    line = c.readline()
    rt.assert_err(line, "the kicked client's last line")
    rt.assert_true(b"no messages were deleted" in line, "the -ERR says nothing was deleted: %r" % line)
    rt.assert_true(c.expect_eof(), "the server closes the kicked connection")
    c.close()
    S.wait_unlocked("carol")
    rt.assert_eq(sorted(S.disk_messages("carol")), before, "a kicked session deletes nothing")
    rt.wait_for(lambda: re.search(r"user=carol .*Logged out: .*reason=kicked", S.log_text()),
             "reason=kicked in the log")
    rt.wait_for(lambda: not who_lines("carol"), "carol gone from who")
    _, err = assert_status(ctl("kick", "carol"), 1, "kick without a session")
    rt.assert_true("no session" in err, "says there is no session: %r" % err)
    # The mailbox is usable at once.
    p = S.login("carol")
    p.quit()


@R.test
def user_prints_the_userdb_answer():
    out, _ = assert_status(ctl("user", "alice"), 0, "user alice")
    lines = out.splitlines()
    rt.assert_eq(lines[0], "user=alice", "first line")
    rt.assert_true("home=%s" % S.users["alice"].home in lines, "home field:\n" + out)
    _, err = assert_status(ctl("user", "nosuchuser"), 1, "user nosuchuser")
    rt.assert_true("unknown user nosuchuser" in err, "unknown user: %r" % err)


@R.test
def auth_test_from_stdin():
    out, _ = assert_status(ctl("auth", "test", "alice", stdin="secret\n"), 0,
                           "auth test alice, right password")
    rt.assert_true(out.startswith("user=alice\n"), "prints the fields: %r" % out)
    _, err = assert_status(ctl("auth", "test", "alice", stdin="wrong\n"), 1,
                           "auth test alice, wrong password")
    rt.assert_true("password mismatch" in err, "gives the reason: %r" % err)
    _, err = assert_status(ctl("auth", "test", "-r", "192.0.2.1", "nobody-here",
                               stdin="x\n"), 1, "auth test of an unknown user")
    rt.assert_true("unknown user" in err, "gives the reason: %r" % err)
    _, err = assert_status(ctl("auth", "test", "alice", stdin=""), 1, "auth test without input")
    rt.assert_true("no password" in err, "says no password was read: %r" % err)


def run_on_pty(args, answers):
    """Runs roostctl on a pseudo-terminal, answering each prompt in turn;
    returns (status, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(ROOSTCTL, [ROOSTCTL] + args)
        finally:
            os._exit(127)
    shown = b""
    answered = 0
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.5)
            if not r:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:
                break           # EIO: the child closed the terminal
            if not data:
                break
            shown += data
            if answered < len(answers) and shown.count(b"assword: ") > answered:
                os.write(fd, answers[answered].encode() + b"\n")
                answered += 1
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


@R.test
def passwords_are_read_without_echo():
    rc, shown = run_on_pty(["-c", S.conf, "auth", "test", "alice"], ["secret"])
    rt.assert_eq(rc, 0, "auth test on a terminal (%r)" % shown)
    rt.assert_true("Password:" in shown and "secret" not in shown,
                   "prompted, and the password was not echoed: %r" % shown)
    rc, shown = run_on_pty(["pw", "-s", "SHA512-CRYPT"], ["pw one", "pw one"])
    rt.assert_eq(rc, 0, "pw on a terminal (%r)" % shown)
    rt.assert_true("pw one" not in shown and "Retype" in shown, "asked twice, no echo: %r" % shown)
    h = re.search(r"\{SHA512-CRYPT\}(\S+)", shown).group(1)
    rt.assert_true(crypt_check("pw one", h), "the hash verifies the password")
    rc, shown = run_on_pty(["pw"], ["one", "two"])
    rt.assert_eq(rc, 1, "pw with two different passwords (%r)" % shown)
    rt.assert_true("do not match" in shown, "says they differ: %r" % shown)


@R.test
def pw_hashes_locally():
    out, _ = assert_status(ctl("pw", "-p", "s3cret", config=False), 0, "pw -p")
    rt.assert_true(out.startswith("{ARGON2ID}$argon2id$"), "default scheme: %r" % out)
    out, _ = assert_status(ctl("pw", "-s", "SHA512-CRYPT", stdin="s3cret\n", config=False),
                           0, "pw from stdin")
    h = out.strip()[len("{SHA512-CRYPT}"):]
    rt.assert_true(crypt_check("s3cret", h), "the SHA512-CRYPT hash verifies")
    # A hash from pw logs in.
    out, _ = assert_status(ctl("pw", "-p", "hashed pw", config=False), 0, "pw -p")
    with open(S.passwd, "a") as f:
        f.write("dora:%s::::%s::\n" % (out.strip(), S.users["alice"].home))
    try:
        p = poplib.POP3("127.0.0.1", S.pop3_port, timeout=rt.TIMEOUT)
        p.user("dora")
        rt.assert_ok(p.pass_("hashed pw"), "login with a roostctl pw hash")
        p.quit()
    finally:
        S.write_passwd()


@R.test
def mailbox_status_counts_like_stat():
    out, _ = assert_status(ctl("mailbox", "status", "alice"), 0, "mailbox status alice")
    fields = dict(line.split("=", 1) for line in out.splitlines())
    p = S.login("alice")
    count, octets = p.stat()
    rt.assert_eq((int(fields["messages"]), int(fields["octets"])), (count, octets),
                 "mailbox status = STAT")
    try:
        rt.wait_for(lambda: who_lines("alice"), "alice logged in")
        _, err = assert_status(ctl("mailbox", "status", "alice"), 1,
                               "mailbox status while logged in")
        rt.assert_true("alice is logged in" in err, "says alice is logged in: %r" % err)
    finally:
        p.quit()
    S.wait_unlocked("alice")
    _, err = assert_status(ctl("mailbox", "status", "nosuchuser"), 1, "unknown user")
    rt.assert_true("unknown user" in err, "unknown user: %r" % err)
    # The status took and released the lock: a login works right after.
    assert_status(ctl("mailbox", "status", "alice"), 0, "mailbox status again")
    p = S.login("alice", wait_lock=False)
    p.quit()


@R.test
def stats_are_name_value_lines():
    def stats():
        out, _ = assert_status(ctl("stats"), 0, "stats")
        values = {}
        for line in out.splitlines():
            m = re.match(r'^([a-z_]+(\{[a-z_]+="[a-z0-9._-]+"(,[a-z_]+="[^"]*")*\})?) (\d+(\.\d+)?)$',
                         line)
            rt.assert_true(m, "stats line is 'name value': %r" % line)
            values[m.group(1)] = float(m.group(4))
        return values
    before = stats()
    for key in ("roost_sessions", "roost_sessions_started_total",
                'roost_processes{kind="login"}', "roost_mail_sent_octets_total",
                "roost_auth_successes_total", 'roost_auth_failures_total{reason="password"}'):
        rt.assert_true(key in before, "stats has %s" % key)
    p = S.login("bob")
    p.retr(1)
    p.quit()
    try:
        S.login("bob", password="wrong")
    except poplib.error_proto:
        pass
    S.wait_unlocked("bob")
    after = rt.wait_for(lambda: (lambda s: s if s['roost_sessions_ended_total{reason="quit"}']
                              > before['roost_sessions_ended_total{reason="quit"}'] else None)(stats()),
                     "the session to be counted")
    for key in ("roost_sessions_started_total", "roost_mail_sent_octets_total",
                "roost_mail_retrieved_messages_total", "roost_auth_successes_total",
                'roost_auth_failures_total{reason="password"}', "roost_mail_commands_total"):
        rt.assert_true(after[key] > before[key], "%s grew: %s -> %s" % (key, before[key], after[key]))


@R.test
def config_check_without_server():
    out, _ = assert_status(ctl("config", "check", "-c", S.conf, config=False), 0, "config check")
    rt.assert_true(out.startswith("OK"), "prints OK: %r" % out)
    bad = os.path.join(S.dir, "bad.conf")
    text = S.config_text().replace("auth_failure_delay = 0", "auth_failure_delay = 0\nno_such = 1")
    with open(bad, "w") as f:
        f.write(text)
    line = text.split("\n").index("no_such = 1") + 1
    _, err = assert_status(ctl("config", "check", "-c", bad, config=False), 1, "config check bad")
    rt.assert_true("%s:%d:" % (bad, line) in err and "no_such" in err,
                   "names FILE:LINE and the key: %r" % err)
    # -c before the command is the default file to check.
    assert_status(ctl("-c", bad, "config", "check", config=False), 1, "-c FILE config check")


@R.test
def debug_logging_per_user_at_run_time():
    c = S.raw_login("alice")
    try:
        rt.assert_ok(c.cmd("NOOP"), "NOOP")
        assert_status(ctl("debug", "alice", "on"), 0, "debug alice on")
        out, _ = assert_status(ctl("debug"), 0, "debug (list)")
        rt.assert_eq(out.split(), ["alice"], "debug lists alice")
        # The running session picks it up.
        rt.wait_for(lambda: c.cmd("STAT").startswith(b"+OK") and
                 re.search(r"debug: .*user=alice .*Command: STAT", S.log_text()),
                 "a debug line of alice's running session")
        rt.assert_true(not re.search(r"debug: .*user=bob", S.log_text()),
                       "no debug lines for bob")
        assert_status(ctl("debug", "alice", "off"), 0, "debug alice off")
        rt.wait_for(lambda: "Debug logging off" in S.log_text(), "the worker to switch off")
        rt.assert_ok(c.cmd("LIST 1"), "LIST 1")
        rt.assert_ok(c.cmd("NOOP"), "NOOP")
        time.sleep(0.2)
        rt.assert_true("Command: LIST 1" not in S.log_text(), "no debug lines after off")
    finally:
        c.cmd("QUIT")
        c.close()
    S.wait_unlocked("alice")
    # A new session of a user with debug on logs from its start.
    assert_status(ctl("debug", "alice", "on"), 0, "debug alice on")
    p = S.login("alice")
    p.noop()
    p.quit()
    rt.wait_for(lambda: re.search(r"debug: .*user=alice .*Command: NOOP", S.log_text()),
             "debug lines of a new session")
    assert_status(ctl("debug", "alice", "off"), 0, "debug alice off")
    out, _ = assert_status(ctl("debug"), 0, "debug (list)")
    rt.assert_eq(out, "", "nobody in the debug list")


@R.test
def z_stop_stops_the_server():
    out, err = assert_status(ctl("stop"), 0, "roostctl stop")
    rt.assert_true(S.proc.poll() is not None or
                   rt.wait_for(lambda: S.proc.poll() is not None, "the master to exit", 5),
                   "the server exited")
    rt.assert_eq(S.proc.returncode, 0, "exit status of the stopped server")
    assert_status(ctl("who"), 3, "who after stop")


if __name__ == "__main__":
    R.main(setup)
