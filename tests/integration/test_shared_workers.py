#!/usr/bin/env python3
"""Mail workers shared by the sessions of users with one uid/gid
(mail_worker_client_limit, core/master/worker-pool.h): users of one
uid/gid share a worker process, another uid gets its own, the limit
starts a second worker; sessions in one worker see only their own
mailboxes, [IN-USE] holds within one worker and across two; a kick ends
only the kicked session; SIGKILL of a worker drops only its sessions and
releases their mailbox locks; an idle worker exits by itself.

The server runs unprivileged, so every worker runs as the test's user;
the uid/gid columns of the passwd-file still decide which sessions share
a worker, which is what is tested here (the setuid itself is tested by
test_privilege.py)."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

ROOSTCTL = os.path.join(rt.BUILDDIR, "tools", "roostctl", "roostctl")
R = rt.Runner("test_shared_workers")
S = None
LIMIT = 2
# A uid gets one worker per core before sessions share one
# (worker-pool.c): the master counts the cores the same way.
SPREAD = max(1, os.sysconf("SC_NPROCESSORS_ONLN"))
# Users of uid 2000: enough to fill SPREAD workers of LIMIT sessions, and
# one more; carol (uid 2001) never joins their workers.
VMAIL = ["v%d" % i for i in range(SPREAD * LIMIT + 1)]
# core/master/worker-pool.c WORKER_POOL_IDLE_MS (30 s) plus slack.
IDLE_EXIT_WAIT = 60


def setup():
    global S
    if not os.path.exists(ROOSTCTL):
        raise rt.SkipTest("%s is not built" % ROOSTCTL)
    subprocess.run([ROOSTCTL, "--version"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=30)
    S = R.server(rt.Server("shared", extra_config="mail_worker_client_limit = %d"
                           % LIMIT))
    for name in VMAIL:
        S.add_user(name, name + "pw", uid="2000", gid="2000")
    S.add_user("carol", "carolpw", uid="2001", gid="2000")
    S.start()


def who():
    """{session id: (user, pid)} of the mail sessions roostctl lists."""
    r = subprocess.run([ROOSTCTL, "-c", S.conf, "who"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    rt.assert_eq(r.returncode, 0, "roostctl who status (%s)" % r.stderr.decode())
    out = {}
    for line in r.stdout.decode().splitlines():
        kv = dict(w.split("=", 1) for w in line.split() if "=" in w)
        if "user" in kv:
            out[kv["session"]] = (kv["user"], int(kv["pid"]))
    return out


def worker_of(user):
    """The pid of user's one session (waits until roostctl lists it)."""
    pids = rt.wait_for(lambda: [p for u, p in who().values() if u == user],
                       "%s's session in roostctl who" % user)
    rt.assert_eq(len(pids), 1, "sessions of %s" % user)
    return pids[0]


def mail_pids():
    out = []
    for pid in S.children():
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                title = f.read().split(b"\0")[0]
        except OSError:
            continue
        if title.startswith(b"roost-mail") and rt.pid_alive(pid):
            out.append(pid)
    return sorted(out)


def reset(name):
    """A fresh sample mailbox, owned by the user the server runs as (the
    harness gives it to the passwd-file uid, which only a privileged
    server could use)."""
    S.reset_mailbox(name)
    S.chown(S.users[name].maildir)


def login(name):
    return S.raw_login(name)


def quit_all(*clients):
    for c in clients:
        try:
            c.cmd("QUIT")
        except (OSError, EOFError):
            pass
        c.close()


def listing(c):
    st, data = c.cmd_multi("UIDL")
    rt.assert_ok(st, "UIDL")
    return sorted(line.split()[1] for line in data.split(b"\r\n") if line)


def expected_uidls(name):
    return sorted(u.encode() for u in S.disk_messages(name))


def no_sessions():
    rt.wait_for(lambda: not who(), "no mail session left")


def clean_slate():
    """No session and no idle worker left from an earlier test, so that
    where the next sessions go is known (an idle worker would take them
    first). SIGTERM ends an idle worker as its idle timeout would."""
    no_sessions()
    for pid in mail_pids():
        os.kill(pid, signal.SIGTERM)
    rt.wait_for(lambda: not mail_pids(), "idle workers to exit on SIGTERM")


def fill():
    """From a clean slate, logs in SPREAD * LIMIT users of uid 2000, one
    after the other: {name: client}, and {pid: [names]} of their
    workers."""
    clean_slate()
    clients = {}
    for name in VMAIL[:SPREAD * LIMIT]:
        reset(name)
        clients[name] = login(name)
        worker_of(name)
    workers = {}
    for user, pid in who().values():
        workers.setdefault(pid, []).append(user)
    return clients, workers


def shared_pair(workers):
    """Two users whose sessions share a worker, and its pid."""
    for pid, users in workers.items():
        if len(users) == 2:
            return sorted(users), pid
    raise AssertionError("no worker holds two sessions: %r" % workers)


def user_gone(name):
    rt.wait_for(lambda: name not in [u for u, _ in who().values()],
                "%s's session gone from roostctl who" % name)


@R.test
def same_uid_shares_a_worker_other_uid_does_not():
    clients, workers = fill()
    try:
        rt.assert_eq(len(workers), SPREAD, "workers for %d sessions of uid 2000 "
                     "(one per core, %d sessions each)" % (SPREAD * LIMIT, LIMIT))
        rt.assert_eq(sorted(len(u) for u in workers.values()), [LIMIT] * SPREAD,
                     "sessions per worker %r" % workers)
        for pid in workers:
            rt.assert_true(pid in mail_pids(), "pid %d from roostctl who is a "
                           "mail worker %s" % (pid, mail_pids()))
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                rt.assert_true(b"%d sessions" % LIMIT in f.read(),
                               "the shared worker's title counts its sessions")
        reset("carol")
        clients["carol"] = login("carol")
        rt.assert_true(worker_of("carol") not in workers,
                       "carol (uid 2001) has a worker of her own")
    finally:
        quit_all(*clients.values())
    no_sessions()


@R.test
def limit_reached_starts_another_worker():
    clients, workers = fill()
    try:
        last = VMAIL[-1]
        reset(last)
        clients[last] = login(last)
        rt.assert_true(worker_of(last) not in workers,
                       "a session beyond %d workers x %d sessions gets a new worker"
                       % (SPREAD, LIMIT))
        rt.assert_eq(listing(clients[last]), expected_uidls(last), "its UIDLs")
    finally:
        quit_all(*clients.values())
    no_sessions()


@R.test
def sessions_in_one_worker_are_isolated():
    clients, workers = fill()
    try:
        (x, y), _ = shared_pair(workers)
        a, b = clients[x], clients[y]
        # The sample messages are addressed to their mailbox's owner.
        for name, c in ((x, a), (y, b)):
            st, data = c.cmd_multi("RETR 1")
            rt.assert_ok(st, "RETR 1 by %s" % name)
            rt.assert_true(b"To: %s@" % name.encode() in data,
                           "%s's first message is addressed to %s" % (name, name))
            rt.assert_eq(listing(c), expected_uidls(name), "%s's UIDLs" % name)
        y_before = S.disk_messages(y)
        x_before = S.disk_messages(x)
        rt.assert_ok(a.cmd("DELE 1"), "DELE 1 by %s" % x)
        rt.assert_ok(b.cmd("NOOP"), "%s's session next to it" % y)
        rt.assert_ok(a.cmd("QUIT"), "%s's QUIT commits" % x)
        rt.assert_eq(len(S.disk_messages(x)), len(x_before) - 1,
                     "%s's messages on disk after DELE 1 + QUIT" % x)
        rt.assert_eq(S.disk_messages(y), y_before, "%s's mailbox on disk" % y)
        rt.assert_ok(b.cmd("STAT"), "%s still served" % y)
    finally:
        quit_all(*clients.values())
    no_sessions()


def second_login_refused(name, where, pid):
    """A second login of name gets [IN-USE] from the worker with pid (or,
    where == "another", from some other worker)."""
    def refusals():
        return [line for line in S.log_text().splitlines()
                if "user=%s " % name in line and "Mailbox not opened" in line]
    before = len(refusals())
    c = S.raw()
    rt.assert_ok(c.cmd("USER " + name), "USER")
    rt.assert_err(c.cmd("PASS %spw" % name), "second %s session in %s worker"
                  % (name, where), b"-ERR [IN-USE]")
    c.close()
    found = rt.wait_for(lambda: refusals()[before:], "the refusal in the log")[-1]
    refused_by = int(found.split("roost-mail[", 1)[1].split("]", 1)[0])
    if where == "the same":
        rt.assert_eq(refused_by, pid, "worker that refused the second session")
    else:
        rt.assert_true(refused_by != pid, "another worker refused the second session")
    rt.wait_for(lambda: [u for u, _ in who().values()].count(name) == 1,
                "the refused session gone")


@R.test
def in_use_within_one_worker_and_across_two():
    clients, workers = fill()
    try:
        (x, y), pid = shared_pair(workers)
        # Only x's worker has room: the second x session goes there.
        quit_all(clients.pop(y))
        user_gone(y)
        second_login_refused(x, "the same", pid)
        if SPREAD > 1:
            # x's worker full again, another one with room.
            reset(y)
            clients[y] = login(y)
            rt.assert_eq(worker_of(y), pid, "%s back in the only worker with room" % y)
            (u, v), other = shared_pair({p: us for p, us in workers.items() if p != pid})
            quit_all(clients.pop(u))
            user_gone(u)
            second_login_refused(x, "another", pid)
        rt.assert_ok(clients[x].cmd("NOOP"), "the first %s session is unharmed" % x)
    finally:
        quit_all(*clients.values())
    no_sessions()


@R.test
def kick_ends_only_the_kicked_session():
    clients, workers = fill()
    try:
        (x, y), pid = shared_pair(workers)
        r = subprocess.run([ROOSTCTL, "-c", S.conf, "kick", x],
                           stdout=subprocess.PIPE, timeout=60)
        rt.assert_eq(r.returncode, 0, "roostctl kick %s" % x)
        a, b = clients[x], clients[y]
        rt.assert_true(a.readline().startswith(b"-ERR"), "%s told of the kick" % x)
        rt.assert_true(a.expect_eof(), "%s's connection closed" % x)
        rt.assert_ok(b.cmd("NOOP"), "%s's session in the same worker" % y)
        rt.assert_eq(listing(b), expected_uidls(y), "%s's UIDLs" % y)
        rt.assert_true(rt.pid_alive(pid), "the worker lives on")
        user_gone(x)
        rt.assert_eq(worker_of(y), pid, "%s still in roostctl who" % y)
    finally:
        quit_all(*clients.values())
    no_sessions()


@R.test
def sigkill_of_a_worker_drops_only_its_sessions():
    clients, workers = fill()
    try:
        reset("carol")
        clients["carol"] = login("carol")
        (x, y), pid = shared_pair(workers)
        os.kill(pid, signal.SIGKILL)
        for name in (x, y):
            rt.assert_true(clients[name].expect_eof(), "%s's connection dropped" % name)
        for name in clients:
            if name in (x, y):
                continue
            rt.assert_ok(clients[name].cmd("NOOP"), "%s's session in another worker" % name)
            rt.assert_eq(listing(clients[name]), expected_uidls(name), "%s's UIDLs" % name)
        rt.wait_for(lambda: sorted(u for u, _ in who().values()) ==
                    sorted(n for n in clients if n not in (x, y)),
                    "the killed worker's sessions gone from roostctl who")
        # flock() dies with the process: the mailboxes are free at once.
        for name in (x, y):
            S.wait_unlocked(name)
            clients[name] = S.raw_login(name)
            rt.assert_eq(listing(clients[name]), expected_uidls(name),
                         "%s after the crash" % name)
            rt.assert_true(worker_of(name) != pid, "a new worker for %s" % name)
    finally:
        quit_all(*clients.values())
    no_sessions()
    rt.assert_true("mail worker %d killed by signal 9" % pid in S.log_text(),
                   "the master logged the crash")


@R.test
def reload_retires_workers():
    """Workers keep the settings they started with: after a reload they
    take no new session and exit when their last one ends."""
    clean_slate()
    x, y = VMAIL[0], VMAIL[1]
    reset(x)
    reset(y)
    a = login(x)
    try:
        w = worker_of(x)
        reloads = S.log_text().count("Configuration reloaded")
        os.kill(S.proc.pid, signal.SIGHUP)
        rt.wait_for(lambda: S.log_text().count("Configuration reloaded") > reloads,
                    "the reload")
        b = login(y)
        rt.assert_true(worker_of(y) != w, "a session after the reload gets a new worker")
        rt.assert_ok(a.cmd("NOOP"), "the session from before the reload")
        quit_all(a)
        rt.wait_for(lambda: not rt.pid_alive(w), "the retired worker to exit")
        rt.assert_ok(b.cmd("NOOP"), "the new session")
        quit_all(b)
    finally:
        quit_all(a)
    no_sessions()


@R.test
def idle_worker_exits():
    no_sessions()
    name = VMAIL[0]
    reset(name)
    a = login(name)
    w = worker_of(name)
    quit_all(a)
    no_sessions()
    rt.assert_true(rt.pid_alive(w), "the worker waits for the next login")
    idle = mail_pids()
    a = login(name)
    rt.assert_true(worker_of(name) in idle, "the next login reuses an idle worker")
    rt.assert_eq(mail_pids(), idle, "mail workers after that login")
    quit_all(a)
    no_sessions()
    rt.wait_for(lambda: not mail_pids(), "every idle worker to exit",
                timeout=IDLE_EXIT_WAIT)


if __name__ == "__main__":
    R.main(setup)
