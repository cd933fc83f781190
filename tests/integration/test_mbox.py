#!/usr/bin/env python3
"""The mbox storage module against real clients: RETR/TOP/LIST/UIDL
byte-exact against the messages written into the file (poplib, raw
socket, curl), DELE + QUIT rewriting the file, a delivery agent that
follows the dot-lock + fcntl conventions appending while a session with
pending deletions is open, and a held dotlock answered with [SYS/TEMP]."""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import test_mbox_common as mb  # noqa: E402

R = rt.Runner("test_mbox")
S = None


def setup():
    global S
    # lock_timeout short so the held-lock test is quick; the default is 10s.
    S = R.server(rt.Server("mbox", extra_config="mail = mbox:~/mbox:lock_timeout=1s"))
    for name in ("alice", "bob", "carol", "dave"):
        S.add_user(name, name + " pw", messages=None)
    S.start()


def mbox_path(user):
    return os.path.join(S.users[user].home, "mbox")


def fresh(user):
    contents = mb.sample_contents(user)
    mb.session_lock_free(mbox_path(user))
    mb.write_mbox(S, user, mb.mbox_bytes(contents))
    return contents


@R.test
def retr_list_uidl_byte_exact():
    contents = fresh("alice")
    c = S.raw_login("alice")
    rt.assert_eq(mb.stat_count(c), len(contents), "STAT count")
    status, listing = c.cmd_multi("LIST")
    sizes = [int(line.split()[1]) for line in listing.split(b"\r\n") if line]
    rt.assert_eq(sizes, [len(rt.wire(m)) for m in contents], "LIST sizes")
    got = mb.retr_all(c, len(contents))
    for i, (g, m) in enumerate(zip(got, contents)):
        rt.assert_bytes(g, rt.wire(m), "RETR %d" % (i + 1))
    status, data = c.cmd_multi("TOP 2 1")
    rt.assert_bytes(rt.unstuff(data), rt.top_wire(contents[1], 1), "TOP 2 1")
    status, uidls1 = c.cmd_multi("UIDL")
    rt.assert_ok(c.cmd("QUIT"), "QUIT")
    c.close()
    uidls1 = [line.split()[1] for line in uidls1.split(b"\r\n") if line]
    rt.assert_eq(len(set(uidls1)), len(contents), "distinct UIDLs")
    # a second session sees the same UIDLs (poplib this time)
    mb.session_lock_free(mbox_path("alice"))
    p = S.login("alice")
    uidls2 = [line.split()[1] for line in p.uidl()[1]]
    p.quit()
    rt.assert_eq(uidls2, uidls1, "UIDLs in a second session")
    rt.assert_eq(mb.leftovers(mbox_path("alice")), [], "lock files left")


@R.test
def curl_retr_byte_exact():
    curl = shutil.which("curl")
    if not curl:
        raise rt.SkipTest("curl is not installed")
    contents = fresh("bob")
    for i in (1, len(contents)):
        mb.session_lock_free(mbox_path("bob"))
        r = subprocess.run([curl, "-s", "--max-time", "20", "-u", "bob:bob pw",
                            "pop3://127.0.0.1:%d/%d" % (S.pop3_port, i)],
                           stdout=subprocess.PIPE, timeout=30)
        rt.assert_eq(r.returncode, 0, "curl exit status")
        rt.assert_bytes(r.stdout, rt.wire(contents[i - 1]), "curl RETR %d" % i)


@R.test
def dele_quit_rewrites_file():
    contents = fresh("carol")
    path = mbox_path("carol")
    c = S.raw_login("carol")
    rt.assert_ok(c.cmd("DELE 1"), "DELE 1")
    rt.assert_ok(c.cmd("DELE 3"), "DELE 3")
    rt.assert_ok(c.cmd("QUIT"), "QUIT")
    c.close()
    mb.session_lock_free(path)
    kept = [m for i, m in enumerate(contents) if i not in (0, 2)]
    # The kept entries keep their From_ lines and separators byte for byte.
    entries = [mb.mbox_entry(m, i, i == len(contents) - 1)
               for i, m in enumerate(contents)]
    expected = b"".join(e for i, e in enumerate(entries) if i not in (0, 2))
    rt.assert_bytes(mb.read(path), expected, "mbox after DELE 1, 3 + QUIT")
    rt.assert_eq(mb.leftovers(path), [], "lock/temp files left")
    c = S.raw_login("carol")
    got = mb.retr_all(c, mb.stat_count(c))
    rt.assert_eq(len(got), len(kept), "messages after the rewrite")
    for g, m in zip(got, kept):
        rt.assert_bytes(g, rt.wire(m), "RETR after the rewrite")
    c.cmd("QUIT")
    c.close()


@R.test
def delivery_during_session_survives_commit():
    contents = fresh("dave")
    path = mbox_path("dave")
    c = S.raw_login("dave")
    n = mb.stat_count(c)
    rt.assert_ok(c.cmd("DELE 2"), "DELE 2")
    rt.assert_ok(c.cmd("DELE %d" % n), "DELE last")
    # The MDA gets both locks while the session is open: the session holds
    # no delivery lock.
    new = rt.make_message("dave", b"arrived during the session",
                          b"From a line needing quoting\nbody\n\x00\xff\n", 30)
    t0 = time.monotonic()
    appended = mb.deliver(path, new, timeout=5)
    rt.assert_true(time.monotonic() - t0 < 3, "the MDA waited for a lock")
    # The session does not see it (STAT counts the 2 deletions out).
    rt.assert_eq(mb.stat_count(c), n - 2, "STAT after the delivery")
    rt.assert_ok(c.cmd("QUIT"), "QUIT")
    c.close()
    mb.session_lock_free(path)
    data = mb.read(path)
    rt.assert_true(data.endswith(appended),
                   "the appended message is not at the end byte-exact")
    rt.assert_eq(mb.leftovers(path), [], "lock/temp files left")
    c = S.raw_login("dave")
    got = mb.retr_all(c, mb.stat_count(c))
    c.cmd("QUIT")
    c.close()
    want = [m for i, m in enumerate(contents) if i not in (1, n - 1)] + [new]
    rt.assert_eq(len(got), len(want), "messages after QUIT")
    for i, (g, m) in enumerate(zip(got, want)):
        rt.assert_bytes(g, rt.wire(m), "message %d after QUIT" % (i + 1))


@R.test
def held_dotlock_gives_sys_temp():
    contents = fresh("alice")
    path = mbox_path("alice")
    before = mb.read(path)
    # Held by a live process (this one): not stale.
    c = S.raw_login("alice")
    rt.assert_ok(c.cmd("DELE 1"), "DELE 1")
    lock = mb.DotLock(path)
    try:
        t0 = time.monotonic()
        r = c.cmd("QUIT")
        took = time.monotonic() - t0
        rt.assert_err(r, "QUIT with the dotlock held", b"-ERR [SYS/TEMP]")
        rt.assert_true(took < 5, "QUIT took %.1fs with lock_timeout=1s" % took)
        c.close()
        mb.session_lock_free(path)
        rt.assert_bytes(mb.read(path), before, "mbox after a refused commit")
        # and login itself answers [SYS/TEMP] while the lock is held
        c = S.raw(False)
        rt.assert_ok(c.cmd("USER alice"), "USER")
        r = c.cmd("PASS alice pw")
        rt.assert_err(r, "PASS with the dotlock held", b"-ERR [SYS/TEMP]")
        c.close()
    finally:
        lock.release()
    mb.session_lock_free(path)
    rt.assert_eq(mb.leftovers(path), [], "lock/temp files left")
    p = S.login("alice")
    rt.assert_eq(p.stat()[0], len(contents), "messages after the lock is gone")
    p.quit()


@R.test
def missing_mbox_is_empty_and_not_created():
    path = mbox_path("bob")
    mb.session_lock_free(path)
    if os.path.exists(path):
        os.unlink(path)
    p = S.login("bob")
    rt.assert_eq(p.stat(), (0, 0), "STAT of a missing mbox")
    p.quit()
    rt.assert_true(not os.path.exists(path), "a missing mbox was created")


R.main(setup)
