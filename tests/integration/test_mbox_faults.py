#!/usr/bin/env python3
"""Fault injection for the mbox commit: the worker SIGKILLs itself at
step N of the rewrite on QUIT (test-only hook ROOST_TEST_MBOX_KILL_AT, see
storage/mbox/mbox-commit.c), for every N until a commit completes. The
mailbox holds several messages (one spanning many copy chunks), the
client deletes two, and a delivery agent appends a message during the
session. After each kill a new session (on a second server without the
hook) re-opens the mailbox, and the test checks: the file is exactly the
old mailbox or exactly the new one, both with the appended message
byte-exact; every message RETR yields is byte-exact and none is missing
except ones the client deleted; and after that session no dotlock, dotlock
temporary file or commit temporary file is left. The same for a mailbox
Dovecot served whose first message (carrying X-IMAPbase) is deleted: the
pseudo-message that takes its place keeps the other messages' UIDLs."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import test_mbox_common as mb  # noqa: E402

R = rt.Runner("test_mbox_faults")
KILL_ENV = "ROOST_TEST_MBOX_KILL_AT"
# Far more than the steps of this mailbox's commit (about 15): reaching
# it means the hook never lets a commit finish.
MAX_STEPS = 200
KILLER = CHECK = None
HOME = None


def setup():
    global KILLER, CHECK, HOME
    os.environ.pop(KILL_ENV, None)
    CHECK = R.server(rt.Server("mbox-check", extra_config="mail = mbox:~/mbox"))
    HOME = os.path.join(CHECK.home_root, "victim")
    CHECK.add_user("victim", "victim pw", messages=None, home=HOME)
    CHECK.start()
    KILLER = R.server(rt.Server("mbox-kill", extra_config="mail = mbox:~/mbox"))
    KILLER.add_user("victim", "victim pw", messages=None, home=HOME)


def contents():
    msgs = mb.sample_contents("victim")
    nonl = msgs.pop()            # keep the one without final newline last
    msgs.insert(2, rt.make_message("victim", b"medium",
                                   rt.big_body(200 * 1024), 40))
    return msgs + [nonl]


def check_session(expected_contents):
    c = CHECK.raw_login("victim")
    n = mb.stat_count(c)
    got = mb.retr_all(c, n)
    rt.assert_ok(c.cmd("QUIT"), "QUIT of the checking session")
    c.close()
    rt.assert_eq(len(got), len(expected_contents), "messages listed")
    for i, (g, m) in enumerate(zip(got, expected_contents)):
        rt.assert_bytes(g, rt.wire(m), "message %d" % (i + 1))


def killed_session(step, path, old, deleted, new_msg):
    """Writes the mailbox, deletes (0-based) in a session on the server
    whose worker kills itself at commit step `step`, delivers new_msg
    during it. Returns (QUIT reply or None when killed, bytes appended)."""
    mb.session_lock_free(path)
    mb.write_mbox(CHECK, "victim", old)
    os.environ[KILL_ENV] = str(step)
    try:
        KILLER.start()
    finally:
        os.environ.pop(KILL_ENV, None)
    c = KILLER.raw_login("victim")
    for i in deleted:
        rt.assert_ok(c.cmd("DELE %d" % (i + 1)), "DELE")
    appended = mb.deliver(path, new_msg, n=45)
    try:
        reply = c.cmd("QUIT")
    except (EOFError, ConnectionResetError):
        reply = None
    c.close()
    KILLER.stop()
    return reply, appended


@R.test
def sigkill_at_every_commit_step():
    path = os.path.join(HOME, "mbox")
    msgs = contents()
    old = mb.mbox_bytes(msgs)
    deleted = (1, len(msgs) - 1)       # 0-based: the 2nd and the last
    new_msg = rt.make_message("victim", b"delivered mid-session",
                              b"From quoted\nbody\n", 45)
    completed_at = None
    for step in range(1, MAX_STEPS + 1):
        reply, appended = killed_session(step, path, old, deleted, new_msg)

        data = mb.read(path)
        kept_entries = b"".join(
            mb.mbox_entry(m, i, i == len(msgs) - 1)
            for i, m in enumerate(msgs) if i not in deleted)
        # The old last message had no final newline, so the MDA wrote
        # "\n\n" before its From_ line; deleting that message drops them.
        framing = len(appended) - len(mb.mbox_entry(new_msg, 45))
        new = kept_entries + appended[framing:]
        if data == old + appended:
            state = "old"
            want = msgs[:-1] + [msgs[-1] + b"\n", new_msg]
        elif data == new:
            state = "new"
            want = [m for i, m in enumerate(msgs) if i not in deleted] + [new_msg]
        else:
            raise AssertionError("step %d: the mbox is neither the old nor the "
                                 "new mailbox (%d bytes; old %d, new %d)"
                                 % (step, len(data), len(old + appended), len(new)))
        if reply is not None:
            rt.assert_ok(reply, "QUIT when the hook did not fire (step %d)" % step)
            rt.assert_eq(state, "new", "mailbox after a completed commit")
        check_session(want)
        mb.session_lock_free(path)
        rt.assert_eq(mb.leftovers(path), [], "files left after step %d and a "
                     "new session" % step)
        rt.log("step %d: %s, mailbox %s" % (step, "killed" if reply is None
                                           else "completed", state))
        if reply is not None:
            completed_at = step
            break
    rt.assert_true(completed_at is not None and completed_at > 5,
                   "the commit never completed or had too few kill points")


UIDVALIDITY = 1795369751


def dovecot_mailbox():
    """[(visible content, uid)] and the file as Dovecot 2.3 leaves it:
    X-IMAPbase in the first message, X-UID (padded) and Status in all."""
    msgs = [(rt.make_message("victim", b"dc %d" % i,
                             rt.big_body(200 * 1024) if i == 2 else b"body\n", i),
             i) for i in range(1, 5)]
    blocks = []
    for content, uid in msgs:
        hidden = b""
        if uid == 1:
            hidden += b"X-IMAPbase: %d 0000000004\n" % UIDVALIDITY
        hidden += b"X-UID: %d          \nStatus: RO\n" % uid
        head, body = content.split(b"\n\n", 1)
        blocks.append(mb.FROM_LINE % uid + head + b"\n" + hidden + b"\n"
                      + body + b"\n")
    return msgs, blocks


@R.test
def sigkill_while_deleting_dovecots_first_message():
    """Deleting the message that carries X-IMAPbase writes Dovecot's
    pseudo-message in its place: killed at any step, the mailbox keeps
    its metadata, so the other messages keep their UIDLs."""
    path = os.path.join(HOME, "mbox")
    msgs, blocks = dovecot_mailbox()
    old = b"".join(blocks)
    deleted = (0, 2)
    new_msg = rt.make_message("victim", b"delivered mid-session", b"new\n", 45)
    kept = b"".join(b for i, b in enumerate(blocks) if i not in deleted)
    for step in range(1, MAX_STEPS + 1):
        reply, appended = killed_session(step, path, old, deleted, new_msg)

        data = mb.read(path)
        if data == old + appended:
            want = msgs + [(new_msg, None)]
        else:
            rt.assert_true(data.startswith(b"From MAILER_DAEMON  "),
                           "step %d: neither the old mailbox nor one that "
                           "starts with the pseudo-message" % step)
            rest = data[data.index(b"\n\nFrom sender") + 2:]
            rt.assert_bytes(rest, kept + appended, "step %d: the messages "
                            "after the pseudo-message" % step)
            rt.assert_true(b"\nX-IMAP: %d 0000000004\n" % UIDVALIDITY in data,
                           "the pseudo-message carries the UIDVALIDITY")
            want = [m for m in msgs if m[1] - 1 not in deleted] + [(new_msg, None)]
        p = CHECK.login("victim")
        uidls = [line.split()[1].decode() for line in p.uidl()[1]]
        for i, (content, uid) in enumerate(want):
            _, lines, _ = p.retr(i + 1)
            rt.assert_bytes(b"".join(line + b"\r\n" for line in lines),
                            rt.wire(content), "step %d: message %d" % (step, i + 1))
            if uid is not None:
                rt.assert_eq(uidls[i], "%08x%08x" % (uid, UIDVALIDITY),
                             "step %d: UIDL of message %d" % (step, i + 1))
        rt.assert_eq(len(uidls), len(want), "step %d: messages" % step)
        p.quit()
        mb.session_lock_free(path)
        rt.assert_eq(mb.leftovers(path), [], "files left after step %d" % step)
        if reply is not None:
            rt.assert_ok(reply, "QUIT when the hook did not fire")
            rt.assert_true(data != old + appended, "completed commit")
            rt.assert_true(step > 5, "too few kill points")
            return
    raise AssertionError("the commit never completed")


R.main(setup)
