#!/usr/bin/env python3
"""The maildir listing cache (issue 8): after a login on a settled maildir
the next login is answered from <maildir>/roost-listing without a scan;
mail delivered into new/ and mail removed by another client since are seen
at the next login, and every other message keeps its UIDL and size.

That the second login uses the cache is shown by state, not timing: the
test changes one UIDL inside roost-listing, which only a login served from
the cache can report. Runs on a plain maildir and on one migrated from
Dovecot (dovecot-uidlist UIDLs)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_maildir_listing")
S = None
# MAILDIR_LISTING_DIRTY_SECS in storage/maildir/maildir-listing-cache.h:
# directories changed more recently than this are rescanned, not cached.
DIRTY_SECS = 2
CACHE = "roost-listing"
UIDVALIDITY = 1700000123


def setup():
    global S
    S = R.server(rt.Server("maildir-listing"))
    S.add_user("alice", "secret", messages=None)
    S.add_user("bob", "bobpw", messages=None)
    S.start()


def session(user):
    """{uidl: (size, content)} of one login."""
    p = S.login(user)
    try:
        return {u: (size, body) for u, size, body in rt.session_listing(p)}
    finally:
        p.close()


def tamper(md, uidl_now, uidl_new):
    """Changes one stored UIDL in roost-listing in place (same owner)."""
    path = os.path.join(md, CACHE)
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    hits = 0
    for i, line in enumerate(lines[1:], 1):
        if not line:
            continue
        size, ino, flag, uidl, name = line.split(b" ", 4)
        stored = uidl or name.split(b":", 1)[0]
        if stored == uidl_now.encode():
            lines[i] = b" ".join([size, ino, flag, uidl_new.encode(), name])
            hits += 1
    rt.assert_eq(hits, 1, "entries of %s in %s" % (uidl_now, CACHE))
    with open(path, "r+b") as f:
        f.write(b"\n".join(lines))
        f.truncate()


def check(user, dovecot):
    md = S.users[user].maildir
    msgs = rt.sample_messages(user)
    S.reset_mailbox(user, msgs)
    if dovecot:
        lines = ["3 V%d N%d G3085f01b7f11094c501100008c4a11c1"
                 % (UIDVALIDITY, len(msgs) + 1)]
        lines += ["%d :%s" % (uid, rt.uidl_of(name))
                  for uid, (name, _, _) in enumerate(msgs, 1)]
        with open(os.path.join(md, "dovecot-uidlist"), "w") as f:
            f.write("\n".join(lines) + "\n")
        S.chown(os.path.join(md, "dovecot-uidlist"))
    # The first login moves new/ to cur/: that scan is not cached (its
    # directories just changed); a later one, once they settled, is.
    first = session(user)
    rt.assert_eq(len(first), len(msgs), "messages at the first login")
    time.sleep(DIRTY_SECS + 1)
    scanned = session(user)
    rt.assert_eq(scanned, first, "second login (a settled scan)")
    rt.assert_true(os.path.exists(os.path.join(md, CACHE)),
                   "%s written after a settled scan" % CACHE)
    if dovecot:
        rt.assert_true("%08x%08x" % (1, UIDVALIDITY) in scanned,
                       "Dovecot UIDLs inherited")

    victim = sorted(scanned)[2]
    tamper(md, victim, "from-the-cache")
    cached = session(user)
    want = dict(scanned)
    want["from-the-cache"] = want.pop(victim)
    rt.assert_eq(cached, want, "login served from %s" % CACHE)

    # Another client removes one message, an MDA delivers one.
    gone = "1700000001.M1P100.roost-test"
    removed = "%08x%08x" % (1, UIDVALIDITY) if dovecot else gone
    rt.assert_true(removed in scanned, "the removed message was listed")
    for n in os.listdir(os.path.join(md, "cur")):
        if rt.uidl_of(n) == gone:
            os.unlink(os.path.join(md, "cur", n))
    data = rt.make_message(user, b"later", b"delivered between logins\n", 9)
    new_uidl = S.deliver(user, data, fname="1700000100.M9P200.roost-test")
    after = session(user)
    want = dict(scanned)
    del want[removed]
    want[new_uidl] = (rt.pop3_size(data), rt.wire(data))
    rt.assert_eq(after, want, "login after a delivery and a removal")


@R.test
def plain_maildir():
    check("alice", dovecot=False)


@R.test
def dovecot_migrated_maildir():
    check("bob", dovecot=True)


R.main(setup)
