#!/usr/bin/env python3
"""Faults: the auth process killed with logins in flight, a full disk
during the commit of deletions (maildir and mbox), and a login process
killed while it holds clients.

* auth: the logins waiting for it fail with [SYS/TEMP] (not [AUTH]: the
  password was never judged), the master starts a new auth process and
  later logins succeed.
* full disk: the mailbox lives on a tmpfs of a few MiB that a root-owned
  file has filled. DELE + QUIT either commits (a maildir deletion is an
  unlink and needs no space) or answers -ERR [SYS/TEMP]; in both cases
  every message not deleted is byte-identical afterwards and no
  temporary or lock file is left. Needs root and a tmpfs mount (skipped
  otherwise).
* login crash: only the killed process's clients lose their connection;
  sessions already handed over to a mail worker over plain TCP keep
  working (a TLS session is relayed by its login process and ends with
  it, releasing its mailbox), the other login process's clients go on,
  and the master starts a replacement."""

import contextlib
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import hostile_common as hc  # noqa: E402
import test_mbox_common as mb  # noqa: E402

R = rt.Runner("test_faults")
S = None
# Big enough for the sample mailbox (about 1 MiB) and the server's
# files, small enough to fill in an instant.
TMPFS_SIZE = "4m"
RESTART_WAIT = 15       # seconds; the master's back-off starts at 1s


def setup():
    global S
    S = R.server(rt.Server("faults"))
    S.add_user("alice", "secret")
    S.add_user("bob", "secret")
    S.start()


@R.test
def killed_auth_fails_logins_in_flight_temporarily():
    auth = hc.pids(S, "roost-auth")
    rt.assert_eq(len(auth), 1, "one auth process")
    # Stopped, the auth process holds the requests; killed, it drops them.
    os.kill(auth[0], signal.SIGSTOP)
    waiting = []
    try:
        for _ in range(3):
            c = S.raw()
            rt.assert_ok(c.cmd("USER alice"), "USER")
            c.send(b"PASS secret\r\n")
            waiting.append(c)
        time.sleep(0.3)
    finally:
        os.kill(auth[0], signal.SIGKILL)
    for c in waiting:
        r = c.readline()
        rt.assert_true(r.startswith(b"-ERR [SYS/TEMP]"),
                       "a login in flight when auth died: %r" % r)
        c.close()
    new = rt.wait_for(lambda: [p for p in hc.pids(S, "roost-auth")
                               if p != auth[0]], "a new auth process",
                      RESTART_WAIT)
    rt.assert_true(new[0] != auth[0], "auth restarted")
    deadline = time.monotonic() + RESTART_WAIT
    while True:
        c = S.raw()
        c.cmd("USER alice")
        r = c.cmd("PASS secret")
        if r.startswith(b"+OK") or time.monotonic() > deadline:
            break
        rt.assert_true(r.startswith(b"-ERR [SYS/TEMP]"),
                       "while auth restarts, only [SYS/TEMP]: %r" % r)
        c.close()
        time.sleep(0.2)
    rt.assert_ok(r, "login after the auth restart")
    c.cmd("QUIT")
    c.close()
    hc.normal_session_works(S, "alice")


# ---- full disk ---------------------------------------------------------

class Tmpfs:
    def __init__(self, path):
        self.path = path
        os.makedirs(path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + TMPFS_SIZE,
                            "tmpfs", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise rt.SkipTest("cannot mount a tmpfs: %s"
                              % r.stdout.decode(errors="replace").strip())

    def fill(self):
        """Fills the file system with a root-owned file."""
        fd = os.open(os.path.join(self.path, "filler"),
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            while os.write(fd, b"\0" * 4096) > 0:
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        st = os.statvfs(self.path)
        rt.assert_eq(st.f_bavail, 0, "free blocks on the full file system")

    def umount(self):
        subprocess.run(["umount", "-l", self.path])


@contextlib.contextmanager
def full_disk_server(name, mail):
    """(server, tmpfs) for one test: the server is stopped cleanly when
    the body succeeds, killed when it fails; the tmpfs is unmounted."""
    if os.geteuid() != 0:
        raise rt.SkipTest("mounting a tmpfs needs root")
    srv = R.server(rt.Server(name, extra_config="mail = " + mail))
    fs = Tmpfs(os.path.join(srv.dir, "small"))
    os.chmod(fs.path, 0o755)
    try:
        yield srv, fs
        srv.stop()
    except BaseException:
        srv.kill()
        raise
    finally:
        fs.umount()


def leftover_files(top):
    """Temporary and lock files under top (the filler excepted)."""
    out = []
    for d, _, files in os.walk(top):
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), top)
            if rel == "filler" or rel.endswith("roost-pop3.lock"):
                continue
            if (rel.startswith("tmp/") or "/tmp/" in rel or ".lock" in rel
                    or ".tmp" in rel or rel.split("/")[-1].startswith(".")):
                out.append(rel)
    return out


def dele_fill_quit(srv, fs, user, numbers):
    """Logs in and marks numbers deleted while there is room, then fills
    the file system and sends QUIT; returns its reply."""
    c = srv.raw_login(user)
    for n in numbers:
        rt.assert_ok(c.cmd("DELE %d" % n), "DELE %d" % n)
    fs.fill()
    try:
        r = c.cmd("QUIT")
    finally:
        c.close()
    return r


@R.test
def full_disk_during_maildir_commit_loses_nothing():
    with full_disk_server("full-maildir", "maildir:~/Maildir") as (srv, fs):
        home = os.path.join(fs.path, "carol")
        srv.add_user("carol", "secret", home=home)
        srv.start()
        before = srv.disk_messages("carol")
        # A first session writes the size cache while there is room.
        hc.normal_session_works(srv, "carol")
        listing = sorted(before)
        r = dele_fill_quit(srv, fs, "carol", (1, 3))
        rt.log("maildir QUIT on a full disk: %r" % r)
        srv.wait_unlocked("carol")
        after = srv.disk_messages("carol")
        if r.startswith(b"+OK"):
            gone = {listing[0], listing[2]}
        else:
            rt.assert_true(r.startswith(b"-ERR [SYS/TEMP]"),
                           "QUIT on a full disk: +OK or [SYS/TEMP], got %r" % r)
            gone = set()
        for u, data in before.items():
            if u in gone:
                rt.assert_true(u not in after, "deleted message %s gone" % u)
            else:
                rt.assert_true(u in after, "message %s kept" % u)
                rt.assert_bytes(after[u], data, "message %s after the commit" % u)
        rt.assert_eq(leftover_files(home), [], "temporary files left")


@R.test
def full_disk_during_mbox_commit_loses_nothing():
    with full_disk_server("full-mbox", "mbox:~/mbox") as (srv, fs):
        home = os.path.join(fs.path, "dave")
        srv.add_user("dave", "secret", messages=None, home=home)
        contents = mb.sample_contents("dave")
        path = mb.write_mbox(srv, "dave", mb.mbox_bytes(contents))
        srv.start()
        old = mb.read(path)
        r = dele_fill_quit(srv, fs, "dave", (1, 2))
        rt.log("mbox QUIT on a full disk: %r" % r)
        mb.session_lock_free(path)
        if r.startswith(b"+OK"):
            raise AssertionError("an mbox rewrite reported success on a full disk")
        rt.assert_true(r.startswith(b"-ERR [SYS/TEMP]"),
                       "QUIT on a full disk: %r" % r)
        rt.assert_bytes(mb.read(path), old, "the mbox after the failed commit")
        rt.assert_eq(mb.leftovers(path), [], "lock or temporary files left")
        # With room again, the messages come back byte-exact.
        os.unlink(os.path.join(fs.path, "filler"))
        c = srv.raw_login("dave")
        got = mb.retr_all(c, mb.stat_count(c))
        c.cmd("QUIT")
        c.close()
        rt.assert_eq(len(got), len(contents), "messages after the failed commit")
        for i, (g, m) in enumerate(zip(got, contents)):
            rt.assert_bytes(g, rt.wire(m), "message %d" % (i + 1))


# ---- login process crash ---------------------------------------------------

def client_on(login_pid, tls=False):
    """A connected pre-auth client served by login process login_pid: the
    other login processes are stopped while it connects, so only
    login_pid can accept it."""
    others = [p for p in hc.pids(S, "roost-login") if p != login_pid]
    for p in others:
        os.kill(p, signal.SIGSTOP)
    try:
        c = S.raw(tls=tls)
    finally:
        for p in others:
            os.kill(p, signal.SIGCONT)
    port = S.pop3s_port if tls else S.pop3_port
    rt.assert_eq(hc.owner_of(S, c.sock, port), login_pid,
                 "the login process serving the new client")
    return c


def closed(c):
    """True when the server end of c is gone (EOF, reset, or a TLS
    connection cut without close_notify)."""
    try:
        return c.expect_eof()
    except OSError:
        return True


@R.test
def killed_login_process_affects_only_its_clients():
    logins = hc.pids(S, "roost-login")
    rt.assert_eq(len(logins), 2, "two login processes")
    victim, other = logins
    doomed = client_on(victim)
    survivor = client_on(other)
    doomed_tls = client_on(victim, tls=True)
    # A plain session handed over by the victim: the worker has the socket.
    S.wait_unlocked("alice")
    plain = client_on(victim)
    plain.login("alice", "secret")
    rt.assert_ok(plain.cmd("STAT"), "STAT before the crash")
    # A TLS session relayed by the victim, and one relayed by the other.
    relayed_victim = client_on(victim, tls=True)
    relayed_victim.login("bob", "secret")
    os.kill(victim, signal.SIGKILL)
    rt.assert_true(closed(doomed), "the killed process's pre-auth client "
                   "loses its connection")
    rt.assert_true(closed(doomed_tls), "the killed process's pre-auth TLS "
                   "client loses its connection")
    rt.assert_true(closed(relayed_victim), "a TLS session relayed by the "
                   "killed process ends")
    # The other process's client is untouched.
    rt.assert_ok(survivor.cmd("USER bob"), "USER on the other login process")
    S.wait_unlocked("bob")      # the ended TLS session released bob
    rt.assert_ok(survivor.cmd("PASS secret"), "PASS on the other login process")
    rt.assert_ok(survivor.cmd("STAT"), "STAT on the other process's session")
    rt.assert_ok(survivor.cmd("QUIT"), "QUIT")
    # The handed-over plain session keeps working, retrieval included.
    expected = S.expected("alice")
    st, listing = plain.cmd_multi("UIDL")
    rt.assert_ok(st, "UIDL after the crash")
    first = listing.split(b"\r\n")[0].split(b" ")
    st, data = plain.cmd_multi(b"RETR " + first[0])
    rt.assert_bytes(rt.unstuff(data), expected[first[1].decode()],
                    "RETR in the handed-over session after the crash")
    rt.assert_ok(plain.cmd("QUIT"), "QUIT of the handed-over session")
    for c in (doomed, survivor, doomed_tls, plain, relayed_victim):
        c.close()
    new = rt.wait_for(lambda: (lambda p: p if len(p) == 2 and victim not in p
                               else None)(hc.pids(S, "roost-login")),
                      "a replacement login process", RESTART_WAIT)
    rt.assert_true(other in new, "the other login process kept running")
    hc.normal_session_works(S, "alice")
    hc.normal_session_works(S, "bob", tls=True)


if __name__ == "__main__":
    R.main(setup)
