#!/usr/bin/env python3
"""Maildirs moved from Dovecot 2.3 keep their POP3 UIDLs (issue 10): with a
dovecot-uidlist, UIDL answers "%08x%08x" of UID and UIDVALIDITY (Dovecot's
default pop3_uidl_format %08Xu%08Xv, which prints lower-case hex) or the message's stored P UIDL; mail
delivered after the switch gets its base name; Roost never writes the file;
uidl=basename in the mail location ignores it.

The dovecot-uidlist is written here by hand in the format Dovecot 2.3's
maildir-uidlist.c writes (version 3 header with V, N and G; records
"<uid> [<key><value> ...] :<file name>"), so it runs without Dovecot;
test_dovecot_migration.py checks the same against a running dovecot-pop3d."""

import os
import poplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_dovecot_uidl")
S = None
UIDVALIDITY = 1700000123
GUID = "3085f01b7f11094c501100008c4a11c1"


def dovecot_uidl(uid):
    return "%08x%08x" % (uid, UIDVALIDITY)


def messages(user):
    """[(file name, dir, content)] like rt.sample_messages, small."""
    lf = rt.make_message(user, b"lf", b"Hello,\n.dotted line\nbye\n", 1)
    nonl = rt.make_message(user, b"no newline", b"last line has none", 2)
    crlf = rt.make_message(user, b"crlf", b"stored\nwith\nCRLF\n", 3).replace(
        b"\n", b"\r\n")
    migrated = rt.make_message(user, b"migrated", b"came from qpopper\n", 4)
    return [
        ("1700000001.M1P100.mx", "cur", lf, "1700000001.M1P100.mx:2,S"),
        ("1700000002.M2P100.mx", "cur", nonl, "1700000002.M2P100.mx:2,"),
        ("1700000003.M3P100.mx", "cur", crlf, "1700000003.M3P100.mx:2,RS"),
        ("1700000004.M4P100.mx", "cur", migrated, "1700000004.M4P100.mx:2,S"),
    ]


def dovecot_uidlist(msgs):
    """The file as Dovecot 2.3 writes it after POP3 sessions."""
    lines = ["3 V%d N%d G%s" % (UIDVALIDITY, len(msgs) + 3, GUID)]
    for uid, (base, _, data, _full) in enumerate(msgs, 1):
        # W: Dovecot's virtual size, the message with CRLF line ends (no
        # line end added to an unterminated last line): Roost's size too
        fields = ["W%d" % rt.pop3_size(data)]
        if uid == 4:
            fields.insert(0, "P+qpopper-0007")
        lines.append("%d %s :%s" % (uid, " ".join(fields), base))
    # an expunged message, still listed
    lines.append("%d W10 :1699999999.M9P100.mx" % (len(msgs) + 1))
    return ("\n".join(lines) + "\n").encode()


def expected_uidls(msgs):
    out = {}
    for uid, (base, _, data, _full) in enumerate(msgs, 1):
        out[base] = "+qpopper-0007" if uid == 4 else dovecot_uidl(uid)
    return out


def setup_mailbox(user):
    msgs = messages(user)
    S.reset_mailbox(user, [(full, d, data) for _, d, data, full in msgs])
    md = S.users[user].maildir
    with open(os.path.join(md, "dovecot-uidlist"), "wb") as f:
        f.write(dovecot_uidlist(msgs))
    return msgs


def setup():
    global S
    S = R.server(rt.Server("dovecot-uidl"))
    S.add_user("alice", "secret", messages=None)
    home = os.path.join(S.home_root, "bob")
    S.add_user("bob", "bobpw", messages=None, home=home,
               mail="maildir:%s/Maildir:uidl=basename" % home)
    S.start()


def listing(p):
    uidls = {}
    for line in p.uidl()[1]:
        num, u = line.split()
        uidls[int(num)] = u.decode()
    sizes = {}
    for line in p.list()[1]:
        num, s = line.split()
        sizes[int(num)] = int(s)
    return uidls, sizes


def check_session(user, want_uidls, contents):
    """want_uidls: {base: uidl}; contents: {base: stored bytes}."""
    p = S.login(user)
    try:
        uidls, sizes = listing(p)
        by_uidl = {u: b for b, u in want_uidls.items()}
        rt.assert_eq(sorted(uidls.values()), sorted(want_uidls.values()),
                     "UIDL list")
        for num, u in sorted(uidls.items()):
            w = rt.wire(contents[by_uidl[u]])
            rt.assert_eq(sizes[num], rt.pop3_size(contents[by_uidl[u]]),
                         "LIST size of %d (%s)" % (num, u))
            _, lines, _ = p.retr(num)
            rt.assert_bytes(b"".join(line + b"\r\n" for line in lines),
                            w, "RETR %d (%s)" % (num, u))
        p.quit()
    finally:
        p.close()


@R.test
def dovecot_uidls_inherited():
    msgs = setup_mailbox("alice")
    md = S.users["alice"].maildir
    uidlist = open(os.path.join(md, "dovecot-uidlist"), "rb").read()
    want = expected_uidls(msgs)
    rt.assert_eq(want["1700000001.M1P100.mx"], "%08x%08x" % (1, 1700000123),
                 "the expected form itself")
    contents = {b: data for b, _, data, _ in msgs}
    check_session("alice", want, contents)

    # mail delivered after the switch: its base name
    new = rt.make_message("alice", b"after", b"delivered by Roost's MDA\n", 9)
    uidl = S.deliver("alice", new, fname="1700000100.M9P200.mx")
    rt.assert_eq(uidl, "1700000100.M9P200.mx", "delivered base name")
    want[uidl] = uidl
    contents[uidl] = new
    rt.assert_true(all("." not in u for u in want.values()
                       if len(u) == 16), "inherited UIDLs have no dots")
    check_session("alice", want, contents)

    rt.assert_bytes(open(os.path.join(md, "dovecot-uidlist"), "rb").read(),
                    uidlist, "dovecot-uidlist after Roost sessions")
    extra = sorted(set(os.listdir(md)) - {"cur", "new", "tmp", "dovecot-uidlist"})
    rt.assert_eq(extra, ["roost-pop3.lock", "roost-sizes"],
                 "files Roost added to the maildir root")


@R.test
def deleting_keeps_other_uidls():
    msgs = setup_mailbox("alice")
    want = expected_uidls(msgs)
    contents = {b: data for b, _, data, _ in msgs}
    p = S.login("alice")
    try:
        uidls, _ = listing(p)
        num = [n for n, u in uidls.items() if u == dovecot_uidl(2)][0]
        p.dele(num)
        p.quit()
    finally:
        p.close()
    del want["1700000002.M2P100.mx"]
    check_session("alice", want, contents)


@R.test
def basename_option_ignores_uidlist():
    msgs = setup_mailbox("bob")
    want = {b: b for b, _, _, _ in msgs}
    check_session("bob", want, {b: data for b, _, data, _ in msgs})


@R.test
def broken_uidlist_still_serves():
    msgs = setup_mailbox("alice")
    md = S.users["alice"].maildir
    with open(os.path.join(md, "dovecot-uidlist"), "wb") as f:
        f.write(b"3 V%d N9\n1 :1700000001.M1P100.mx\nbroken line\n"
                % UIDVALIDITY)
    want = {b: b for b, _, _, _ in msgs}
    want["1700000001.M1P100.mx"] = dovecot_uidl(1)
    check_session("alice", want, {b: data for b, _, data, _ in msgs})
    rt.assert_true("dovecot-uidlist:3: " in S.log_tail(200),
                   "a warning names the file and line")


R.main(setup)
