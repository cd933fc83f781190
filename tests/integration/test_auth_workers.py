#!/usr/bin/env python3
"""The auth process's worker pool and its admin socket: passdb calls run in
auth_worker_processes workers, so a stopped worker does not stop other
logins; a killed worker is restarted and its call in flight answered
[SYS/TEMP]; the auth-master commands LOOKUP, PASSTEST and STATS; and a
chain of two passwd-files (users and admins) with result_failure."""

import base64
import os
import re
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_auth_workers")
S = None        # 3 workers, debug log (it names the worker of each call)
C = None        # passdb chain with defaults
F = None        # passdb chain, result_failure = continue on the first
K = None        # with the auth cache
WORKERS = 3
USERS = ["u%d" % i for i in range(1, 6)]


class ChainServer(rt.Server):
    """Users in the harness's passwd-file, admins in a second one; first
    holds extra keys for the first passdb section."""

    def __init__(self, name, first=""):
        super().__init__(name)
        self.first = first
        self.admins = os.path.join(self.dir, "admins.passwd")

    def config_text(self):
        text = super().config_text()
        first = "passdb passwd-file { path = %s }" % self.passwd
        rt.assert_true(first in text, "harness passdb line")
        return text.replace(first, "passdb passwd-file { path = %s %s }\n"
                            "passdb passwd-file { path = %s }\n"
                            "userdb passwd-file { path = %s }"
                            % (self.passwd, self.first, self.admins, self.admins))

    def write_admins(self, lines):
        with open(self.admins, "w") as f:
            f.write(lines)
        self.chown(self.admins)


def setup():
    global S, C, F, K
    S = R.server(rt.Server("workers", extra_config="\n".join([
        "auth_worker_processes = %d" % WORKERS,
        "log_debug = yes",
    ])))
    S.add_user("alice", "secret")
    for u in USERS:
        S.add_user(u, "pw " + u, messages=[])
    S.start()
    K = R.server(rt.Server("cache", extra_config="auth_cache_size = 100"))
    K.add_user("alice", "secret", messages=[])
    K.start()
    for name, first in (("chain", ""), ("chain-continue", "result_failure = continue")):
        srv = R.server(ChainServer(name, first))
        srv.add_user("user", "user pw", messages=[])
        srv.add_user("dup", "dup user pw", messages=[])
        # Admins: no entry in the users' file, or one with another
        # password; their home is the same directory.
        home = srv.users["user"].home
        srv.write_admins("admin:{PLAIN}admin pw::::%s::\n"
                         "dup:{PLAIN}dup admin pw::::%s::\n" % (home, home))
        srv.start()
        if first:
            F = srv
        else:
            C = srv


# ---------------------------------------------------------------------------
# helpers

def titled(srv, title):
    out = []
    for pid in srv.children():
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if f.read().split(b"\0")[0].decode(errors="replace").split(" ")[0] == title:
                    out.append(pid)
        except OSError:
            pass
    return out


def ppid_of(pid):
    with open("/proc/%d/stat" % pid, "rb") as f:
        stat = f.read()
    return int(stat[stat.rindex(b")") + 2:].split()[1])


def wait_for(cond, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def workers(srv):
    return sorted(titled(srv, "roost-auth-worker"))


def log_text(srv):
    with open(srv.logfile, "rb") as f:
        return f.read().decode(errors="replace")


class Login(threading.Thread):
    """USER/PASS in a thread; .reply is the PASS answer (None until then)."""

    def __init__(self, srv, user, password):
        super().__init__(daemon=True)
        self.srv, self.user, self.password = srv, user, password
        self.reply = None
        self.error = None

    def run(self):
        try:
            c = self.srv.raw()
            c.sock.settimeout(40)
            rt.assert_ok(c.cmd("USER " + self.user), "USER")
            self.reply = c.cmd("PASS " + self.password)
            if self.reply.startswith(b"+OK"):
                c.cmd("QUIT")
            c.close()
        except Exception as e:   # reported by the test through .error
            self.error = e


def login_reply(srv, user, password):
    c = srv.raw()
    try:
        rt.assert_ok(c.cmd("USER " + user), "USER")
        r = c.cmd("PASS " + password)
        if r.startswith(b"+OK"):
            c.cmd("QUIT")
        return r
    finally:
        c.close()


class Master:
    """A client of BASE_DIR/auth-master (the socket the master and the
    admin tool use)."""

    def __init__(self, srv):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(rt.TIMEOUT)
        self.sock.connect(os.path.join(srv.base_dir, "auth-master"))
        self.buf = b""
        self.next_id = 1

    def ask(self, *fields):
        rid = str(self.next_id)
        self.next_id += 1
        self.sock.sendall(("\t".join([fields[0], rid] + list(fields[1:])) + "\n").encode())
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("auth closed the auth-master connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        f = line.decode().split("\t")
        rt.assert_eq(f[1], rid, "id echoed in %r" % line)
        return f

    def close(self):
        self.sock.close()


def stats(srv):
    m = Master(srv)
    try:
        f = m.ask("STATS")
    finally:
        m.close()
    rt.assert_eq(f[0], "STATS", "STATS reply verb")
    return {k: int(v) for k, v in (x.split("=", 1) for x in f[2:])}


# ---------------------------------------------------------------------------
# the pool

@R.test
def workers_are_children_of_auth():
    auth = wait_for(lambda: titled(S, "roost-auth"), "the auth process")
    ws = wait_for(lambda: workers(S) if len(workers(S)) == WORKERS else None,
                  "%d auth workers" % WORKERS)
    rt.assert_eq(len(auth), 1, "auth processes")
    for w in ws:
        rt.assert_eq(ppid_of(w), auth[0], "parent of auth worker %d" % w)
    # Counted once each has built its passdb chain (READY).
    wait_for(lambda: stats(S)["auth_workers"] == WORKERS, "STATS auth_workers=%d" % WORKERS)


@R.test
def a_stopped_worker_does_not_stop_other_logins():
    ws = wait_for(lambda: workers(S) if len(workers(S)) == WORKERS else None,
                  "%d auth workers" % WORKERS)
    stopped = ws[0]
    os.kill(stopped, signal.SIGSTOP)
    try:
        logins = [Login(S, u, "pw " + u) for u in USERS]
        for t in logins:
            t.start()
        # The pool gives a call to the idle worker used least recently,
        # so the stopped one takes at most one call and then looks busy:
        # every other login is answered by the running workers.
        wait_for(lambda: len([t for t in logins if t.reply is not None]) >= len(USERS) - 1,
                 "%d of %d logins with one worker stopped" % (len(USERS) - 1, len(USERS)),
                 timeout=20)
        done = [t for t in logins if t.reply is not None]
        for t in done:
            rt.assert_ok(t.reply, "login of %s while a worker is stopped" % t.user)
    finally:
        os.kill(stopped, signal.SIGCONT)
    for t in logins:
        t.join(30)
        rt.assert_true(t.error is None, "login of %s: %r" % (t.user, t.error))
        rt.assert_ok(t.reply or b"(no reply)", "login of %s after SIGCONT" % t.user)


@R.test
def a_killed_worker_is_restarted():
    before = wait_for(lambda: workers(S) if len(workers(S)) == WORKERS else None,
                      "%d auth workers" % WORKERS)
    restarts = stats(S)["auth_worker_restarts"]
    os.kill(before[1], signal.SIGKILL)
    wait_for(lambda: stats(S)["auth_worker_restarts"] == restarts + 1,
             "STATS auth_worker_restarts to count the restart")
    wait_for(lambda: stats(S)["auth_workers"] == WORKERS, "the replacement to be ready")
    rt.assert_true(before[1] not in workers(S), "the killed worker is gone")
    rt.assert_eq(len(workers(S)), WORKERS, "auth workers after the restart")
    rt.assert_ok(login_reply(S, "alice", "secret"), "login after a worker was killed")


@R.test
def the_call_of_a_killed_worker_fails_temporarily():
    ws = wait_for(lambda: workers(S) if len(workers(S)) == WORKERS else None,
                  "%d auth workers" % WORKERS)
    for w in ws:
        os.kill(w, signal.SIGSTOP)
    try:
        mark = len(log_text(S))
        t = Login(S, "alice", "secret")
        t.start()
        # The debug log names the worker that got the call.
        m = wait_for(lambda: re.search(r"auth worker (\d+): VERIFY call", log_text(S)[mark:]),
                     "the VERIFY call to reach a worker")
        victim = int(m.group(1))
        rt.assert_true(victim in ws, "the call went to a worker (%d)" % victim)
        os.kill(victim, signal.SIGKILL)
        t.join(20)
        rt.assert_true(t.error is None, "login: %r" % (t.error,))
        rt.assert_err(t.reply or b"(no reply)", "PASS whose worker was killed",
                      b"-ERR [SYS/TEMP]")
    finally:
        for w in ws:
            try:
                os.kill(w, signal.SIGCONT)
            except OSError:
                pass
    rt.assert_ok(login_reply(S, "alice", "secret"), "the next login")


# ---------------------------------------------------------------------------
# auth-master commands

@R.test
def master_lookup():
    m = Master(S)
    try:
        f = m.ask("LOOKUP", "alice")
        rt.assert_eq(f[0], "USER", "LOOKUP alice verb: %r" % f)
        rt.assert_eq(f[2], "alice", "LOOKUP alice user")
        kv = dict(x.split("=", 1) for x in f[3:])
        rt.assert_eq(kv.get("home"), S.users["alice"].home, "LOOKUP alice home")
        rt.assert_eq(m.ask("LOOKUP", "nosuchuser")[0], "NOTFOUND", "LOOKUP unknown user")
    finally:
        m.close()


@R.test
def master_passtest():
    m = Master(S)
    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    try:
        f = m.ask("PASSTEST", "alice", b64("secret"), "192.0.2.9")
        rt.assert_eq(f[0], "USER", "PASSTEST right password: %r" % f)
        rt.assert_eq(f[2], "alice", "PASSTEST user")
        f = m.ask("PASSTEST", "alice", b64("wrong"), "192.0.2.9")
        rt.assert_eq(f[0::2], ["FAIL", "password mismatch"], "PASSTEST wrong password")
        rt.assert_eq(m.ask("PASSTEST", "nosuchuser", b64("x"), "192.0.2.9")[2],
                     "unknown user", "PASSTEST unknown user")
        rt.assert_eq(m.ask("PASSTEST", "alice", "!!not base64", "192.0.2.9")[2],
                     "malformed", "PASSTEST bad base64")
    finally:
        m.close()


@R.test
def master_stats_count_logins():
    keys = ["auth_requests", "auth_success", "auth_failures_password",
            "auth_failures_unknown", "auth_failures_disabled", "auth_failures_temp",
            "auth_failures_malformed", "auth_latency_us_sum", "auth_latency_us_count",
            "auth_workers", "auth_worker_restarts", "auth_cache_hits",
            "auth_cache_misses"]
    before = stats(S)
    rt.assert_eq(sorted(before), sorted(keys), "STATS keys")
    rt.assert_err(login_reply(S, "alice", "wrong"), "wrong password")
    rt.assert_err(login_reply(S, "nosuchuser", "x"), "unknown user")
    rt.assert_ok(login_reply(S, "alice", "secret"), "right password")
    after = stats(S)
    rt.assert_eq(after["auth_requests"] - before["auth_requests"], 3, "auth_requests")
    rt.assert_eq(after["auth_success"] - before["auth_success"], 1, "auth_success")
    rt.assert_eq(after["auth_failures_password"] - before["auth_failures_password"], 1,
                 "auth_failures_password")
    rt.assert_eq(after["auth_failures_unknown"] - before["auth_failures_unknown"], 1,
                 "auth_failures_unknown")
    rt.assert_eq(after["auth_latency_us_count"] - before["auth_latency_us_count"], 3,
                 "auth_latency_us_count")
    rt.assert_eq(after["auth_cache_hits"], 0, "no cache hits with the cache off")


@R.test
def cache_answers_repeated_logins_until_sighup():
    auth = wait_for(lambda: titled(K, "roost-auth"), "the auth process")[0]
    s0 = stats(K)
    rt.assert_ok(login_reply(K, "alice", "secret"), "first login")
    rt.assert_err(login_reply(K, "alice", "wrong"), "wrong password")
    s1 = stats(K)
    rt.assert_eq(s1["auth_cache_hits"], s0["auth_cache_hits"], "hits after first logins")
    rt.assert_ok(login_reply(K, "alice", "secret"), "second login")
    rt.assert_err(login_reply(K, "alice", "wrong"), "wrong password again (negative entry)")
    s2 = stats(K)
    # The password check and the userdb lookup of the good login, and
    # the negative entry of the bad one.
    rt.assert_eq(s2["auth_cache_hits"] - s1["auth_cache_hits"], 3, "cache hits")
    # Changing the password file is not seen while cached...
    K.users["alice"].password = "changed"
    K.write_passwd()
    rt.assert_ok(login_reply(K, "alice", "secret"), "old password from the cache")
    # ...until SIGHUP to the auth process flushes the cache.
    mark = len(log_text(K))
    os.kill(auth, signal.SIGHUP)
    wait_for(lambda: "auth cache flushed" in log_text(K)[mark:], "the flush")
    rt.assert_err(login_reply(K, "alice", "secret"), "old password after the flush")
    rt.assert_ok(login_reply(K, "alice", "changed"), "new password after the flush")
    rt.assert_eq(titled(K, "roost-auth"), [auth], "SIGHUP kept the auth process")


# ---------------------------------------------------------------------------
# chaining

@R.test
def chain_defaults():
    rt.assert_ok(login_reply(C, "user", "user pw"), "user from the first passdb")
    rt.assert_ok(login_reply(C, "admin", "admin pw"),
                 "admin, unknown to the first passdb, from the second")
    rt.assert_ok(login_reply(C, "dup", "dup user pw"), "dup with the first passdb's password")
    rt.assert_err(login_reply(C, "dup", "dup admin pw"),
                  "a wrong password ends the chain by default", b"-ERR [AUTH]")
    rt.assert_err(login_reply(C, "nobody", "x"), "unknown everywhere", b"-ERR [AUTH]")


@R.test
def chain_result_failure_continue():
    rt.assert_ok(login_reply(F, "dup", "dup admin pw"),
                 "result_failure = continue: the second passdb is asked")
    rt.assert_ok(login_reply(F, "dup", "dup user pw"), "the first passdb still works")
    rt.assert_err(login_reply(F, "dup", "neither"), "wrong in both", b"-ERR [AUTH]")
    rt.assert_true("password mismatch" in log_text(F),
                   "the log keeps the mismatch as the reason")


if __name__ == "__main__":
    R.main(setup)
