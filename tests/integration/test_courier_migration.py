#!/usr/bin/env python3
"""Maildirs moved from Courier's POP3 server keep their UIDLs (issue 10).

Since courier-imap 0.43 Courier answers UIDL with "UID<n>-<uidvalidity>"
from the file courierpop3dsizelist in the maildir. The file is written
here the way Courier's pop3dserver.c writes it (courier-libs,
imap/pop3dserver.c, savepop3dlist(): a header "/3 <next uid>
<uidvalidity>", then one line per message of cur/, "<file name> <size>
<uid>:<uidvalidity>:<utf8 flag>", sorted by delivery time; version 2
lacks the flag). Courier is not packaged in Debian 12 next to Dovecot, so
no live Courier runs here; the unit tests (tests/unit/test-maildir.c)
cover the parser's edge cases, this test the server with poplib:

  - UIDLs are Courier's, sizes and contents are Roost's usual ones;
  - mail delivered after the switch gets its base name, never Courier's
    form, and DELE keeps the other UIDLs;
  - Roost never writes courierpop3dsizelist;
  - uidl=basename ignores the file; a damaged line is logged with the
    file name and line number and only costs that message its UIDL;
  - with a dovecot-uidlist next to it, dovecot-uidlist wins.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_courier_migration")
S = None
UIDVALIDITY = 1600000000
SIZELIST = "courierpop3dsizelist"
COURIER_UIDL = re.compile(r"^UID[0-9]+-[0-9]+$")


def messages(user):
    """[(file name in cur/, content)], in delivery order."""
    m = rt.make_message
    return [
        ("1600000001.M1P7.courier:2,S", m(user, b"one", b"first\n", 1)),
        ("1600000002.M2P7.courier:2,", m(user, b"no newline", b"last line has none", 2)),
        ("1600000003.M3P7.courier:2,RS", m(user, b"dots", b".dot\n..two\n", 3)),
        ("1600000004.M4P7.courier:2,S", m(user, b"8bit", b"Gr\xfc\xdfe\n", 4)),
    ]


def courier_size(data):
    """Courier's calcsize(): octets plus one per LF."""
    return len(data) + data.count(b"\n")


def sizelist(msgs, version=3, damage_line=None):
    """courierpop3dsizelist as Courier writes it after a POP3 session."""
    lines = ["/%d %d %d" % (version, len(msgs) + 1, UIDVALIDITY)]
    for uid, (name, data) in enumerate(msgs, 1):
        flag = ":0" if version == 3 else ""
        lines.append("%s %d %d:%d%s" % (name, courier_size(data), uid,
                                        UIDVALIDITY, flag))
    if damage_line is not None:
        lines[damage_line] = lines[damage_line].replace(":%d" % UIDVALIDITY,
                                                        ":x")
    return ("\n".join(lines) + "\n").encode()


def courier_uidl(uid):
    return "UID%d-%d" % (uid, UIDVALIDITY)


def setup_mailbox(user, version=3, damage_line=None):
    msgs = messages(user)
    S.reset_mailbox(user, [(name, "cur", data) for name, data in msgs])
    path = os.path.join(S.users[user].maildir, SIZELIST)
    with open(path, "wb") as f:
        f.write(sizelist(msgs, version, damage_line))
    S.chown(path)
    return msgs


def listing(user, delete=()):
    """[(uidl, size, RETR bytes)]; deletes the given numbers before QUIT."""
    p = S.login(user)
    try:
        return rt.session_listing(p, delete)
    finally:
        p.close()


def assert_contents(got, msgs, want_uidls, what):
    rt.assert_eq([u for u, _, _ in got], want_uidls, "%s: UIDLs" % what)
    by_base = {rt.uidl_of(name): data for name, data in msgs}
    for (u, size, body), (name, data) in zip(got, msgs):
        rt.assert_eq(size, rt.pop3_size(data), "%s: LIST size of %s" % (what, u))
        rt.assert_bytes(body, rt.wire(by_base[rt.uidl_of(name)]),
                        "%s: RETR of %s" % (what, u))


def setup():
    global S
    S = R.server(rt.Server("courier-migration"))
    S.add_user("carl", "carlpw", messages=None)
    home = os.path.join(S.home_root, "bea")
    S.add_user("bea", "beapw", messages=None, home=home,
               mail="maildir:%s/Maildir:uidl=basename" % home)
    S.start()


@R.test
def courier_uidls_kept():
    msgs = setup_mailbox("carl")
    path = os.path.join(S.users["carl"].maildir, SIZELIST)
    before = open(path, "rb").read()
    want = [courier_uidl(n) for n in range(1, len(msgs) + 1)]
    rt.assert_eq(want[0], "UID1-1600000000", "the expected form itself")
    assert_contents(listing("carl"), msgs, want, "first session")

    # mail delivered after the switch: its base name
    new = rt.make_message("carl", b"after", b"delivered after Courier\n", 9)
    uidl = S.deliver("carl", new, fname="1700000000.M9P1.after")
    got = listing("carl")
    rt.assert_eq([u for u, _, _ in got], want + [uidl], "UIDLs with new mail")
    rt.assert_true(not COURIER_UIDL.match(uidl), "new mail not in Courier's form")

    # DELE of message 2 keeps every other UIDL
    listing("carl", delete=(2,))
    got = listing("carl")
    rt.assert_eq([u for u, _, _ in got], [want[0]] + want[2:] + [uidl],
                 "UIDLs after DELE 2")
    rt.assert_bytes(open(path, "rb").read(), before,
                    "courierpop3dsizelist after Roost sessions")


@R.test
def version_2_file():
    msgs = setup_mailbox("carl", version=2)
    assert_contents(listing("carl"), msgs,
                    [courier_uidl(n) for n in range(1, len(msgs) + 1)],
                    "version 2")


@R.test
def damaged_line_costs_one_uidl():
    msgs = setup_mailbox("carl", damage_line=3)
    want = [courier_uidl(n) for n in range(1, len(msgs) + 1)]
    want[2] = rt.uidl_of(msgs[2][0])
    assert_contents(listing("carl"), msgs, want, "damaged line 3")
    # lines[3] of the file is its line 4 (the header is line 1)
    rt.assert_true("%s:4: " % SIZELIST in S.log_tail(200),
                   "a warning names the file and line")


@R.test
def basename_option_ignores_the_file():
    msgs = setup_mailbox("bea")
    assert_contents(listing("bea"), msgs, [rt.uidl_of(n) for n, _ in msgs],
                    "uidl=basename")


@R.test
def dovecot_uidlist_takes_precedence():
    msgs = setup_mailbox("carl")
    # Dovecot after Courier: courier-dovecot-migrate.pl kept message 1's
    # Courier UIDL as P; Dovecot gave message 3 a UID of its own.
    path = os.path.join(S.users["carl"].maildir, "dovecot-uidlist")
    with open(path, "w") as f:
        f.write("3 V7 N9\n1 P%s :%s\n5 :%s\n"
                % (courier_uidl(1), rt.uidl_of(msgs[0][0]),
                   rt.uidl_of(msgs[2][0])))
    S.chown(path)
    want = [courier_uidl(1), rt.uidl_of(msgs[1][0]), "%08x%08x" % (5, 7),
            rt.uidl_of(msgs[3][0])]
    assert_contents(listing("carl"), msgs, want, "both files")


R.main(setup)
