#!/usr/bin/env python3
"""The mbox index (issue 8) against a running server: the second login
uses the index instead of reading the mbox, mail appended by another
writer between logins is seen (only the tail is read), DELE + QUIT leaves
the mbox byte-exact and the surviving messages' UIDLs unchanged, and an
mbox rewritten behind the index's back with the same size and its old
mtime is read again, not taken from the index.

Which way a login read the mailbox is checked with the mail worker's
debug lines ("index used", "index not used: ...") and the index file's
inode (a full or tail read rewrites it, a login from the index does not).
Each index is written only once the mbox has been unchanged for
MBOX_INDEX_RACY_SECS (2 s), so the test waits for that before logins
that must write one: a precondition, not a timing assertion."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import test_mbox_common as mb  # noqa: E402

R = rt.Runner("test_mbox_index")
S = None
RACY_SECS = 2


def setup():
    global S
    S = R.server(rt.Server("mbox-index", extra_config="mail = mbox:~/mbox\n"
                           "log_debug = yes"))
    for name in ("alice", "bob", "carol", "dave", "erin"):
        S.add_user(name, name + " pw", messages=None)
    S.start()


def mbox_path(user):
    return os.path.join(S.users[user].home, "mbox")


def index_path(user):
    return mbox_path(user) + ".roost-index"


def settle(path):
    """Waits until the mbox's last change is older than RACY_SECS."""
    while True:
        age = time.time() - os.stat(path).st_ctime
        if age > RACY_SECS + 0.1:
            return
        time.sleep(0.1)


def index_id(user):
    st = os.stat(index_path(user))
    return (st.st_ino, st.st_mtime_ns)


def session(user, contents=None):
    """Logs in, returns (UIDLs, LIST sizes, the log lines of this login
    about the index); RETRs everything and compares with contents when
    given. QUIT without deleting."""
    mark = len(S.log_text())
    c = S.raw_login(user)
    n = mb.stat_count(c)
    status, uidls = c.cmd_multi("UIDL")
    status, listing = c.cmd_multi("LIST")
    if contents is not None:
        rt.assert_eq(n, len(contents), "STAT count")
        got = mb.retr_all(c, n)
        for i, (g, m) in enumerate(zip(got, contents)):
            rt.assert_bytes(g, rt.wire(m), "RETR %d" % (i + 1))
    rt.assert_ok(c.cmd("QUIT"), "QUIT")
    c.close()
    mb.session_lock_free(mbox_path(user))
    uidls = [line.split()[1] for line in uidls.split(b"\r\n") if line]
    sizes = [int(line.split()[1]) for line in listing.split(b"\r\n") if line]
    lines = [line for line in S.log_text()[mark:].splitlines()
             if mbox_path(user) + ":" in line]
    return uidls, sizes, lines


def saw(lines, what):
    return any(line.endswith(what) for line in lines)


@R.test
def second_login_uses_index_and_sees_appended_mail():
    user = "alice"
    path = mbox_path(user)
    contents = mb.sample_contents(user)
    mb.write_mbox(S, user, mb.mbox_bytes(contents))
    settle(path)
    uidls1, sizes1, lines = session(user, contents)
    rt.assert_true(saw(lines, "index written: " + index_path(user)),
                   "first login wrote no index: %r" % lines)
    first = index_id(user)

    uidls2, sizes2, lines = session(user, contents)
    rt.assert_true(saw(lines, "index used"), "second login: %r" % lines)
    rt.assert_eq(index_id(user), first, "index rewritten by a login from it")
    rt.assert_eq(uidls2, uidls1, "UIDLs from the index")
    rt.assert_eq(sizes2, sizes1, "LIST sizes from the index")

    # another writer appends: the next login reads only the tail
    new = rt.make_message(user, b"appended between logins",
                          b"From a line needing quoting\nbody\n", 40)
    mb.deliver(path, new)
    uidls3, sizes3, lines = session(user, contents + [new])
    rt.assert_true(saw(lines, "index used: parsed what was appended"),
                   "login after the append: %r" % lines)
    rt.assert_eq(uidls3[:-1], uidls1, "old UIDLs after the append")
    rt.assert_eq(sizes3[:-1], sizes1, "old sizes after the append")
    rt.assert_true(uidls3[-1] not in uidls1, "new UIDL not new")

    # once settled, the appended state is indexed, and then used
    settle(path)
    uidls4, _, lines = session(user)
    rt.assert_true(saw(lines, "index written: " + index_path(user)),
                   "no index written for the appended state: %r" % lines)
    uidls5, _, lines = session(user, contents + [new])
    rt.assert_true(saw(lines, "index used"), "login after that: %r" % lines)
    rt.assert_eq(uidls5, uidls3, "UIDLs from the new index")


@R.test
def dele_quit_after_index_keeps_mail_and_uidls():
    user = "bob"
    path = mbox_path(user)
    contents = mb.sample_contents(user)
    mb.write_mbox(S, user, mb.mbox_bytes(contents))
    settle(path)
    uidls1, _, _ = session(user)
    # append, then delete in the session that read only the tail
    new = rt.make_message(user, b"appended", b"appended body\n", 41)
    appended = mb.deliver(path, new)
    before = mb.read(path)
    c = S.raw_login(user)
    n = mb.stat_count(c)
    rt.assert_eq(n, len(contents) + 1, "STAT with the appended mail")
    status, uidls = c.cmd_multi("UIDL")
    uidls2 = [line.split()[1] for line in uidls.split(b"\r\n") if line]
    rt.assert_ok(c.cmd("DELE 1"), "DELE 1")
    rt.assert_ok(c.cmd("DELE 3"), "DELE 3")
    rt.assert_ok(c.cmd("QUIT"), "QUIT")
    c.close()
    mb.session_lock_free(path)
    entries = [mb.mbox_entry(m, i, i == len(contents) - 1)
               for i, m in enumerate(contents)]
    old = b"".join(entries)
    rt.assert_bytes(before[:len(old)], old, "mbox before the commit")
    expected = b"".join(e for i, e in enumerate(entries) if i not in (0, 2))
    expected += before[len(old):]
    rt.assert_true(before.endswith(appended), "appended bytes")
    rt.assert_bytes(mb.read(path), expected, "mbox after DELE 1, 3 + QUIT")
    rt.assert_eq(mb.leftovers(path), [], "lock/temp files left")
    rt.assert_true(not os.path.exists(index_path(user) + ".roost-tmp"),
                   "index temporary file left")
    kept = [u for i, u in enumerate(uidls2) if i not in (0, 2)]
    uidls3, _, lines = session(user, [m for i, m in enumerate(contents + [new])
                                      if i not in (0, 2)])
    rt.assert_eq(uidls3, kept, "UIDLs of the surviving messages")
    rt.assert_true(not saw(lines, "index used"),
                   "the index of the old file was used: %r" % lines)


@R.test
def same_size_rewrite_behind_the_index_is_noticed():
    """Rewriting a byte in place and setting the mtime back (os.utime with
    nanoseconds) leaves size and mtime as the index recorded; the ctime
    (which only the kernel sets) still changes, so the index is not used
    and the session sees the file as it is now. Residual risk: a program
    that changes the file within the same timestamp tick as the state an
    index recorded; an index is never written (nor used) for an mbox
    changed less than 2 s before, so that tick is over before any index
    can record it."""
    user = "carol"
    path = mbox_path(user)
    contents = mb.sample_contents(user)
    mb.write_mbox(S, user, mb.mbox_bytes(contents))
    settle(path)
    session(user, contents)
    st = os.stat(path)
    data = bytearray(mb.read(path))
    at = data.index(b"Subject:") + len(b"Subject:") + 1
    data[at:at + 1] = b"#" if data[at:at + 1] != b"#" else b"%"
    with open(path, "r+b") as f:
        f.write(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    st2 = os.stat(path)
    rt.assert_eq((st2.st_size, st2.st_mtime_ns), (st.st_size, st.st_mtime_ns),
                 "size and mtime restored")
    # the header comes before any line that needs quoting
    first = bytearray(contents[0])
    off = at - len(mb.FROM_LINE % 0)
    first[off:off + 1] = data[at:at + 1]
    uidls, _, lines = session(user, [bytes(first)] + contents[1:])
    rt.assert_true(saw(lines, "index not used: the mbox changed"),
                   "rewrite not noticed: %r" % lines)


@R.test
def refused_commit_drops_the_index():
    """Another program edits a message in place (same length, as Dovecot
    does when it rewrites Status headers into padding) and mail is
    appended: the next login takes the old part from the index and parses
    the tail, so its commit is refused ([SYS/TEMP], nothing deleted). The
    refusal must also drop the index, or every later session would inherit
    its stale digests and be refused again."""
    user = "dave"
    path = mbox_path(user)
    contents = mb.sample_contents(user)
    mb.write_mbox(S, user, mb.mbox_bytes(contents))
    settle(path)
    session(user, contents)
    rt.assert_true(os.path.exists(index_path(user)), "index written")
    data = bytearray(mb.read(path))
    at = data.index(b"Subject:") + len(b"Subject:") + 1
    data[at:at + 1] = b"#" if data[at:at + 1] != b"#" else b"%"
    with open(path, "r+b") as f:
        f.write(bytes(data))
    new = rt.make_message(user, b"after the edit", b"body\n", 41)
    mb.deliver(path, new)
    before = mb.read(path)

    c = S.raw_login(user)
    mb.stat_count(c)
    rt.assert_ok(c.cmd("DELE 2"), "DELE 2")
    rt.assert_err(c.cmd("QUIT"), "QUIT after the edit behind the index",
                  b"-ERR [SYS/TEMP]")
    c.close()
    mb.session_lock_free(path)
    rt.assert_bytes(mb.read(path), before, "nothing deleted")
    rt.assert_true(not os.path.exists(index_path(user)),
                   "the refused commit left the stale index behind")

    # The next session reads the whole file and its commit goes through.
    c = S.raw_login(user)
    n = mb.stat_count(c)
    rt.assert_eq(n, len(contents) + 1, "messages after the append")
    rt.assert_ok(c.cmd("DELE 2"), "DELE 2 again")
    rt.assert_ok(c.cmd("QUIT"), "QUIT after a full read")
    c.close()
    mb.session_lock_free(path)
    rt.assert_eq(mb.read(path).count(b"\nFrom ") + 1, len(contents),
                 "one message deleted")


@R.test
def index_planted_by_another_user_is_ignored():
    """In a shared spool another user could create NAME.roost-index for
    someone else's mbox. An index not owned by the mailbox owner is never
    read. (The test runs unprivileged, so the planted file is a hard link:
    a second name, which is refused the same way.)"""
    user = "erin"
    path = mbox_path(user)
    contents = mb.sample_contents(user)
    mb.write_mbox(S, user, mb.mbox_bytes(contents))
    settle(path)
    session(user, contents)
    linked = index_path(user) + ".planted"
    os.link(index_path(user), linked)
    try:
        _, _, lines = session(user, contents)
        rt.assert_true(saw(lines, "index not used: not owned by the "
                           "mailbox owner"),
                       "an index with a second name was used: %r" % lines)
    finally:
        os.unlink(linked)


R.main(setup)
