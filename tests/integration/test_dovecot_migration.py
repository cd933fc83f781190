#!/usr/bin/env python3
"""Drop-in migration from a running Dovecot 2.3 (issue 10): the same files
give the same UIDLs, sizes and contents under Roost, new mail cannot take
an inherited UIDL, and Dovecot started again on the files afterwards
(rollback) still gives the remaining messages their old UIDLs.

Needs root (Dovecot's master and its per-user processes) and Debian's
dovecot-pop3d (/usr/sbin/dovecot); skips otherwise. Dovecot runs on its
own free port with its own base_dir, state_dir and log (-c with a full
config, protocols = pop3), over the homes of Roost's test server; its
users get the uid/gid Roost's unprivileged server runs as (nobody), so
both can use the files.

Users:
  md      maildir: LF, CRLF, no final newline, dots, 8-bit, ,S=/,W=, 1 MiB
  mbmda   mbox written the MDA way (blank-line separators, >From quoting,
          Status/X-Status headers, 300 KiB message, no final newline last)
  mbqp    mbox with qpopper X-UIDL headers, Dovecot pop3_reuse_xuidl = no
  mbqpx   the same file, pop3_reuse_xuidl = yes (Roost: reuse_xuidl=yes)
Roost only (never served by Dovecot):
  qponly  qpopper mbox: X-UIDL values, a duplicate made unique
  courier maildir of Courier's old POP3 server (courierimapuiddb, no
          courierpop3dsizelist, no dovecot-uidlist): base names, its UIDLs
"""

import os
import poplib
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import test_mbox_common as mb  # noqa: E402

R = rt.Runner("test_dovecot_migration")
DOVECOT = "/usr/sbin/dovecot"
PASSWORD = "migrate pw"
S = None
DV = None
DOVECOT_UIDL = re.compile(r"^[0-9a-f]{16}$")


class Dovecot:
    """A private Dovecot instance: its own directory, port and config."""

    def __init__(self, users):
        self.dir = tempfile.mkdtemp(prefix="roostit-dovecot-")
        os.chmod(self.dir, 0o755)
        self.port = rt.free_port()
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.log = os.path.join(self.dir, "dovecot.log")
        passwd = os.path.join(self.dir, "passwd")
        with open(passwd, "w") as f:
            for name, (home, mail, extra) in users.items():
                f.write("%s:{PLAIN}%s:%d:%d::%s::userdb_mail=%s%s\n"
                        % (name, PASSWORD, S.run_uid, S.run_gid, home, mail,
                           extra))
        with open(self.conf, "w") as f:
            f.write("""# written by test_dovecot_migration.py
base_dir = %(d)s/run
state_dir = %(d)s/state
log_path = %(log)s
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = %(passwd)s
}
userdb {
  driver = passwd-file
  args = %(passwd)s
}
service pop3-login {
  inet_listener pop3 {
    port = %(port)d
  }
}
""" % dict(d=self.dir, log=self.log, passwd=passwd, port=self.port))

    def start(self):
        # Not a pipe: the daemon keeps its stderr open.
        with open(os.path.join(self.dir, "start.err"), "w+b") as err:
            r = subprocess.run([DOVECOT, "-c", self.conf],
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=err,
                               timeout=30)
            err.seek(0)
            if r.returncode != 0:
                raise AssertionError("dovecot did not start: %s"
                                     % err.read().decode(errors="replace"))
        deadline = time.monotonic() + rt.START_TIMEOUT
        while True:
            try:
                p = poplib.POP3("127.0.0.1", self.port, timeout=rt.TIMEOUT)
                p.quit()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("dovecot does not answer on port %d\n%s"
                                         % (self.port, self.log_tail()))
                time.sleep(0.05)

    def stop(self):
        subprocess.run([DOVECOT, "-c", self.conf, "stop"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=30)
        pid_file = os.path.join(self.dir, "run", "master.pid")
        deadline = time.monotonic() + rt.STOP_TIMEOUT
        while os.path.exists(pid_file) and time.monotonic() < deadline:
            time.sleep(0.05)
        rt.assert_true(not os.path.exists(pid_file), "dovecot stopped")

    def log_tail(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode(errors="replace")[-3000:]
        except OSError:
            return "(no dovecot log)"

    def login(self, name):
        p = poplib.POP3("127.0.0.1", self.port, timeout=rt.TIMEOUT)
        p.user(name)
        p.pass_(PASSWORD)
        return p


# ---------------------------------------------------------------------------
# Mailboxes

def maildir_messages():
    return rt.sample_messages("md")


def mda_mbox():
    """An MDA's mbox, plus one message without a final newline that a
    careless writer appended without an empty line (Dovecot: its last
    line has no line end). The file ends with an empty line, as MDAs
    leave it, so that the test's MDA appends no line ends later (Dovecot
    would keep a cached size for a message whose end an MDA changed)."""
    big = rt.make_message("mbmda", b"big", b"", 9)
    msgs = [
        rt.make_message("mbmda", b"seen", b"read and answered\n", 1,
                        b"Status: RO\nX-Status: A\n"),
        rt.make_message("mbmda", b"quoting", b"From start of a line\n"
                        b">From already quoted\n\nFrom after an empty line\n", 2),
        rt.make_message("mbmda", b"dots 8bit", b".dot\n..two\nGr\xfc\xdfe\n", 3),
        rt.make_message("mbmda", b"crlf", b"stored\nwith\nCRLF\n", 4)
        .replace(b"\n", b"\r\n"),
        rt.make_message("mbmda", b"no newline", b"first\nlast line has none", 6),
        big + rt.big_body(300 * 1024),
    ]
    out = b""
    for i, m in enumerate(msgs):
        out += mb.mbox_entry(m, i, True) + (b"\n" if i == 4 else b"")
    return out


def qpopper_contents(user):
    def msg(n, uidl):
        extra = b"X-UIDL: " + uidl + b"\n" if uidl else b""
        return rt.make_message(user, b"qp %d" % n, b"body %d\n" % n, n,
                               b"Status: RO\n" + extra)
    return [msg(1, b"8f2a0c41d0e0b1a7a1"), msg(2, b"qp-000002"),
            msg(3, None), msg(4, b"qp-000004"), msg(5, b"qp-000005")]


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)
    S.chown(path)


def setup_mailboxes():
    S.reset_mailbox("md", maildir_messages())
    write_file(os.path.join(S.users["mbmda"].home, "mbox"), mda_mbox())
    for user in ("mbqp", "mbqpx"):
        write_file(os.path.join(S.users[user].home, "mbox"),
                   mb.mbox_bytes(qpopper_contents(user)))
    dup = qpopper_contents("qponly")
    dup[3] = dup[3].replace(b"X-UIDL: qp-000004", b"X-UIDL: qp-000002")
    write_file(os.path.join(S.users["qponly"].home, "mbox"), mb.mbox_bytes(dup))
    S.reset_mailbox("courier", [
        ("1600000001.M1P7.courier", "cur", rt.make_message("courier", b"c1", b"one\n", 1)),
        ("1600000002.M2P7.courier:2,S", "cur", rt.make_message("courier", b"c2", b"two\n", 2)),
        ("1600000003.M3P7.courier", "new", rt.make_message("courier", b"c3", b"three\n", 3)),
    ])
    write_file(os.path.join(S.users["courier"].maildir, "courierimapuiddb"),
               b"1 1600000000 4\n1 1600000001.M1P7.courier\n"
               b"2 1600000002.M2P7.courier\n")


# ---------------------------------------------------------------------------
# Sessions

def dovecot_session(user, delete=()):
    return rt.session_listing(DV.login(user), delete)


def roost_session(user, delete=()):
    p = S.login(user)
    try:
        return rt.session_listing(p, delete)
    finally:
        p.close()


def assert_same(roost, dovecot, what):
    rt.assert_eq([m[0] for m in roost], [m[0] for m in dovecot],
                 "%s: UIDL list" % what)
    for (u, rs, rb), (_, ds, db) in zip(roost, dovecot):
        rt.assert_eq(rs, ds, "%s: size of %s (Roost %d, Dovecot %d)"
                     % (what, u, rs, ds))
        rt.assert_bytes(rb, db, "%s: RETR of %s" % (what, u))


def unterminated(listing):
    """UIDLs of the messages whose last line has no line end: Dovecot's
    RETR adds a CRLF that its LIST leaves out (and so does Roost's)."""
    return [u for u, s, data in listing if len(data) == s + 2]


def mbox_append(user, content, n):
    mb.deliver(os.path.join(S.users[user].home, "mbox"), content, n)


# ---------------------------------------------------------------------------

def setup():
    global S, DV
    if os.geteuid() != 0:
        raise rt.SkipTest("needs root to run Dovecot")
    if not os.access(DOVECOT, os.X_OK):
        raise rt.SkipTest("%s is not installed (contrib/deps installs "
                          "dovecot-pop3d)" % DOVECOT)
    S = R.server(rt.Server("dovecot-migration"))
    for user in ("md", "courier"):
        home = os.path.join(S.home_root, user)
        S.add_user(user, PASSWORD, messages=None, home=home,
                   mail="maildir:%s/Maildir" % home)
    for user in ("mbmda", "mbqp", "qponly"):
        home = os.path.join(S.home_root, user)
        S.add_user(user, PASSWORD, messages=None, home=home,
                   mail="mbox:%s/mbox" % home)
    home = os.path.join(S.home_root, "mbqpx")
    S.add_user("mbqpx", PASSWORD, messages=None, home=home,
               mail="mbox:%s/mbox:reuse_xuidl=yes" % home)
    setup_mailboxes()
    mbox_loc = "mbox:~/mail:INBOX=~/mbox"
    DV = Dovecot({
        "md": (S.users["md"].home, "maildir:~/Maildir", ""),
        "mbmda": (S.users["mbmda"].home, mbox_loc, ""),
        "mbqp": (S.users["mbqp"].home, mbox_loc, ""),
        "mbqpx": (S.users["mbqpx"].home, mbox_loc,
                  " userdb_pop3_reuse_xuidl=yes"),
    })


DOVECOT_USERS = ("md", "mbmda", "mbqp", "mbqpx")
# What each Dovecot session deletes (1-based), and then each Roost session:
# the first mbox message carries X-IMAPbase, the interesting case.
DOVECOT_DELETES = {"md": (2,), "mbmda": (1,), "mbqp": (2,), "mbqpx": ()}
ROOST_DELETES = {"md": (1,), "mbmda": (1,), "mbqp": (1,), "mbqpx": (3,)}


@R.test
def migration_and_rollback():
    try:
        DV.start()
        try:
            for user in DOVECOT_USERS:
                dovecot_session(user)      # Dovecot indexes and rewrites
                dovecot_session(user, DOVECOT_DELETES[user])
            before = {u: dovecot_session(u) for u in DOVECOT_USERS}
        finally:
            DV.stop()
    except AssertionError:
        rt.log(DV.log_tail())
        raise
    with open(os.path.join(S.users["mbmda"].home, "mbox"), "rb") as f:
        rt.assert_true(f.read().count(b"\nX-UID: ") >= 4,
                       "Dovecot rewrote the mbox with X-UID headers")

    S.start()
    # 1. Same UIDLs, sizes and contents as Dovecot gave.
    for user in DOVECOT_USERS:
        assert_same(roost_session(user), before[user], user)
    rt.assert_eq(len(unterminated(before["md"])), 1,
                 "the maildir message without a final newline")
    for user in ("mbmda", "mbqp"):
        rt.assert_true(all(DOVECOT_UIDL.match(u) for u, _, _ in before[user]),
                       "%s: Dovecot's default UIDLs (lower-case hex)" % user)
    qpx = [u for u, _, _ in before["mbqpx"]]
    rt.assert_eq([u for u in qpx if not DOVECOT_UIDL.match(u)],
                 ["8f2a0c41d0e0b1a7a1", "qp-000002", "qp-000004", "qp-000005"],
                 "pop3_reuse_xuidl = yes: the X-UIDL values")

    # Never served by Dovecot: qpopper X-UIDLs and Courier base names.
    qp = [u for u, _, _ in roost_session("qponly")]
    rt.assert_eq(qp[:2] + qp[3:], ["8f2a0c41d0e0b1a7a1", "qp-000002",
                                   "qp-000002-2", "qp-000005"],
                 "qpopper X-UIDLs, the duplicate made unique")
    rt.assert_true(re.match(r"^[0-9a-f]{32}$", qp[2]) is not None,
                   "a qpopper message without X-UIDL gets the digest")
    rt.assert_eq([u for u, _, _ in roost_session("courier")],
                 ["1600000001.M1P7.courier", "1600000002.M2P7.courier",
                  "1600000003.M3P7.courier"], "old Courier maildir: base names")

    # 2. New mail: old UIDLs unchanged, every UIDL unique, none in
    # Dovecot's form. One forges an X-UID Dovecot would accept next and
    # the X-UIDL of an inherited message.
    forged = rt.make_message("x", b"forged", b"forged headers\n", 30,
                             b"X-UID: %d\nX-UIDL: %s\n"
                             % (len(before["mbqpx"]) + 5, qpx[0].encode()))
    S.deliver("md", rt.make_message("md", b"after", b"new mail\n", 20),
              fname="1800000000.M1P1.after")
    for user in ("mbmda", "mbqp", "mbqpx"):
        mbox_append(user, rt.make_message(user, b"after", b"new mail\n", 20), 20)
        mbox_append(user, forged, 21)
    after = {}
    for user in DOVECOT_USERS:
        after[user] = roost_session(user)
        old = [u for u, _, _ in before[user]]
        uidls = [u for u, _, _ in after[user]]
        rt.assert_eq(uidls[:len(old)], old, "%s: inherited UIDLs after new "
                     "mail" % user)
        rt.assert_eq(len(set(uidls)), len(uidls), "%s: unique UIDLs" % user)
        new = uidls[len(old):]
        rt.assert_eq(len(new), 1 if user == "md" else 2, "%s: new mail" % user)
        rt.assert_true(not any(DOVECOT_UIDL.match(u) for u in new),
                       "%s: new mail never in Dovecot's UIDL form: %s"
                       % (user, new))

    # 3. Roost deletes (the mbox's first message too, which carries
    # Dovecot's metadata); the rest keep their UIDLs.
    kept = {}
    for user in DOVECOT_USERS:
        roost_session(user, ROOST_DELETES[user])
        gone = {after[user][n - 1][0] for n in ROOST_DELETES[user]}
        kept[user] = [m for m in after[user] if m[0] not in gone]
        assert_same(roost_session(user), kept[user], user + " after DELE")
    with open(os.path.join(S.users["mbmda"].home, "mbox"), "rb") as f:
        rt.assert_true(f.read().startswith(b"From MAILER_DAEMON "),
                       "the pseudo-message keeps Dovecot's metadata")
    S.stop()

    # 4. Rollback: Dovecot on the files Roost changed.
    DV.start()
    try:
        for user in DOVECOT_USERS:
            inherited = {u for u, _, _ in before[user]}
            back = dovecot_session(user)
            rt.assert_eq(len(back), len(kept[user]), "%s: messages after "
                         "rollback" % user)
            # the inherited messages come first, new mail after them
            old_roost = [m for m in kept[user] if m[0] in inherited]
            old_back = back[:len(old_roost)]
            assert_same(old_roost, old_back, user + " after rollback")
            if user == "mbqpx":
                # Dovecot with pop3_reuse_xuidl = yes takes the forged
                # X-UIDL of new mail; Roost never does (mbox-uidl.h).
                continue
            roost_uidls = {u for u, _, _ in after[user]}
            for u, _, _ in back[len(old_roost):]:
                rt.assert_true(u not in roost_uidls,
                               "%s: Dovecot gives new mail %s, a UIDL Roost "
                               "gave another message" % (user, u))
    except AssertionError:
        rt.log(DV.log_tail())
        raise
    finally:
        DV.stop()


def main():
    try:
        R.main(setup)
    finally:
        if DV is not None and not os.environ.get("ROOST_TEST_KEEP"):
            shutil.rmtree(DV.dir, ignore_errors=True)


main()
