#!/usr/bin/env python3
"""Python's poplib against roost: plain, STLS and implicit TLS sessions,
byte-exact RETR/TOP, deletion semantics on disk, [IN-USE], [AUTH], CAPA,
and ssl = required."""

import base64
import os
import poplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_poplib")
S = None        # ssl = yes, plaintext allowed on loopback
REQ = None      # ssl = required, ssl_exempt_loopback = no
SPACED_PW = "correct horse  battery staple"


def setup():
    global S, REQ
    S = R.server(rt.Server("poplib"))
    S.add_user("alice", "secret")
    S.add_user("bob", "bobpw")
    S.add_user("carol", SPACED_PW)
    if rt.have_sha512_crypt():
        S.add_user("dave", "dave's password", scheme="SHA512-CRYPT")
    S.start()
    REQ = R.server(rt.Server("poplib-required", ssl_mode="required",
                             exempt_loopback=False))
    REQ.add_user("alice", "secret")
    REQ.start()


def joined(lines):
    """poplib's lines (CRLF stripped, un-dot-stuffed) -> wire bytes."""
    return b"".join(line + b"\r\n" for line in lines)


def parse_listing(lines):
    out = {}
    for line in lines:
        num, val = line.split()
        out[int(num)] = val
    return out


def check_full_session(mode):
    S.reset_mailbox("alice")
    before = S.disk_messages("alice")
    expected = {u: rt.wire(d) for u, d in before.items()}
    p = S.login("alice", mode)
    try:
        # new/ was moved to cur/X:2, at login; content untouched.
        files = S.disk_files("alice")
        rt.assert_eq([f for f in files if f.startswith("new/")], [],
                     "files left in new/ after login")
        for f in files:
            name = f.split("/", 1)[1]
            rt.assert_true(":2," in name, "%s in cur/ lacks the :2, info" % f)
        rt.assert_eq(S.disk_messages("alice"), before,
                     "mailbox content after login (uidl -> bytes)")

        uidls = parse_listing(p.uidl()[1])
        rt.assert_eq(sorted(u.decode() for u in uidls.values()), sorted(expected),
                     "UIDLs (must be the maildir base names)")
        rt.assert_eq(sorted(uidls), list(range(1, len(expected) + 1)),
                     "message numbers in UIDL")
        for num, u in uidls.items():
            rt.assert_true(1 <= len(u) <= 70 and all(0x21 <= b <= 0x7e for b in u),
                           "UIDL %r is not 1..70 chars of 0x21..0x7E" % u)
        sizes = {n: int(s) for n, s in parse_listing(p.list()[1]).items()}
        count, total = p.stat()
        rt.assert_eq(count, len(expected), "STAT message count")
        rt.assert_eq(total, sum(rt.pop3_size(d) for d in before.values()),
                     "STAT octets")
        for num, u in sorted(uidls.items()):
            want = expected[u.decode()]
            rt.assert_eq(sizes[num], rt.pop3_size(before[u.decode()]),
                         "LIST size of %d (%s)" % (num, u))
            resp, lines, octets = p.retr(num)
            rt.assert_true(resp.startswith(b"+OK"), "RETR %d: %r" % (num, resp))
            rt.assert_bytes(joined(lines), want, "RETR %d (%s)" % (num, u))
            rt.assert_eq(octets, len(want), "octets poplib counted for RETR %d"
                         % num)
            raw = before[u.decode()]
            for n in (0, 2):
                resp, lines, _ = p.top(num, n)
                rt.assert_bytes(joined(lines), rt.top_wire(raw, n),
                                "TOP %d %d (%s)" % (num, n, u))
        p.quit()
    except BaseException:
        p.close()
        raise
    rt.assert_eq(S.disk_messages("alice"), before,
                 "mailbox content after a session without DELE")


@R.test
def full_session_plain():
    check_full_session("plain")


@R.test
def full_session_stls():
    check_full_session("stls")


@R.test
def full_session_pop3s():
    check_full_session("pop3s")


def uidl_map(p):
    return {n: u.decode() for n, u in parse_listing(p.uidl()[1]).items()}


@R.test
def dele_quit_removes_exactly_those_files():
    S.reset_mailbox("alice")
    p = S.login("alice")
    before = S.disk_messages("alice")
    m = uidl_map(p)
    victims = [m[2], m[len(m)]]
    p.dele(2)
    p.dele(len(m))
    # Not before QUIT.
    rt.assert_eq(S.disk_messages("alice"), before, "mailbox after DELE, before QUIT")
    p.quit()
    after = S.disk_messages("alice")
    want = {u: d for u, d in before.items() if u not in victims}
    rt.assert_eq(sorted(after), sorted(want), "UIDLs on disk after DELE 2, DELE %d, "
                 "QUIT" % len(m))
    rt.assert_eq(after, want, "content of the remaining files")
    p = S.login("alice")
    m2 = uidl_map(p)
    rt.assert_eq(sorted(m2.values()), sorted(want), "UIDLs in the next session")
    rt.assert_eq(p.stat()[0], len(want), "STAT count in the next session")
    p.quit()


@R.test
def dele_then_dropped_connection_deletes_nothing():
    S.reset_mailbox("alice")
    p = S.login("alice")
    before = S.disk_messages("alice")
    p.dele(1)
    p.dele(2)
    p.sock.close()     # no QUIT
    p.file.close()
    S.wait_unlocked("alice")   # the old session has ended
    rt.assert_eq(S.disk_messages("alice"), before,
                 "mailbox after DELE + dropped connection")
    p = S.login("alice")
    rt.assert_eq(p.stat()[0], len(before), "STAT count after the dropped session")
    p.quit()


@R.test
def rset_undeletes():
    S.reset_mailbox("alice")
    p = S.login("alice")
    before = S.disk_messages("alice")
    n, total = p.stat()
    p.dele(1)
    p.dele(3)
    rt.assert_eq(p.stat()[0], n - 2, "STAT count after two DELE")
    try:
        p.retr(1)
        raise AssertionError("RETR of a deleted message succeeded")
    except poplib.error_proto as e:
        rt.assert_err(e.args[0], "RETR of a deleted message")
    p.rset()
    rt.assert_eq(p.stat(), (n, total), "STAT after RSET")
    p.quit()
    rt.assert_eq(S.disk_messages("alice"), before, "mailbox after DELE, RSET, QUIT")


@R.test
def second_session_gets_in_use():
    S.reset_mailbox("alice")
    p1 = S.login("alice")
    try:
        p2 = S.pop("plain")
        try:
            p2.user("alice")
            try:
                p2.pass_("secret")
                raise AssertionError("a second concurrent session was let in")
            except poplib.error_proto as e:
                rt.assert_err(e.args[0], "PASS of a second session", b"-ERR [IN-USE]")
        finally:
            p2.close()
        # The first session is unaffected.
        rt.assert_eq(p1.stat()[0], len(S.disk_messages("alice")),
                     "STAT of the first session after the second tried")
        p1.quit()
    except BaseException:
        p1.close()
        raise
    S.wait_unlocked("alice")


def failed_login(user, password):
    p = S.pop("plain")
    try:
        r = p.user(user)
        rt.assert_ok(r, "USER %s (must not reveal whether the user exists)" % user)
        try:
            p.pass_(password)
        except poplib.error_proto as e:
            return r, e.args[0], p
        p.close()
        raise AssertionError("PASS succeeded for %s with a wrong password" % user)
    except BaseException:
        p.close()
        raise


@R.test
def wrong_password_and_unknown_user_look_the_same():
    S.wait_unlocked("alice")
    r1, e1, p1 = failed_login("alice", "wrong")
    r2, e2, p2 = failed_login("nosuchuser", "secret")
    try:
        rt.assert_err(e1, "wrong password", b"-ERR [AUTH]")
        rt.assert_eq(e2, e1, "reply for an unknown user vs a wrong password")
        rt.assert_eq(r2, r1, "USER reply for an unknown vs an existing user")
        # RFC 1939: after a failed PASS the session is back in AUTHORIZATION.
        p1.user("alice")
        p1.pass_("secret")
        rt.assert_true(p1.stat()[0] > 0, "STAT after logging in on the same "
                       "connection")
        p1.quit()
    finally:
        p1.close()
        p2.close()


@R.test
def password_with_spaces():
    p = S.login("carol")
    rt.assert_eq(p.stat()[0], len(rt.sample_messages("carol")), "STAT of carol")
    p.quit()
    try:
        S.login("carol", password=SPACED_PW.split(" ")[0]).quit()
        raise AssertionError("the first word of a password with spaces was accepted")
    except poplib.error_proto as e:
        rt.assert_err(e.args[0], "PASS with only the first word", b"-ERR [AUTH]")


@R.test
def sha512_crypt_password():
    if "dave" not in S.users:
        raise rt.SkipTest("python3 crypt module not available")
    p = S.login("dave")
    rt.assert_eq(p.stat()[0], len(rt.sample_messages("dave")), "STAT of dave")
    p.quit()
    try:
        S.login("dave", password="dave's passwore").quit()
        raise AssertionError("a wrong password was accepted for a SHA512-CRYPT user")
    except poplib.error_proto as e:
        rt.assert_err(e.args[0], "wrong SHA512-CRYPT password", b"-ERR [AUTH]")


def capa_set(p):
    return {k: tuple(v) for k, v in p.capa().items()}


@R.test
def capa_before_and_after_login():
    S.wait_unlocked("alice")
    p = S.pop("plain")
    try:
        before = capa_set(p)
        for c in ("TOP", "UIDL", "USER", "SASL", "RESP-CODES", "AUTH-RESP-CODE",
                  "PIPELINING", "STLS"):
            rt.assert_true(c in before, "%s missing from CAPA before login: %r"
                           % (c, before))
        rt.assert_true({"PLAIN", "LOGIN"} <= set(before["SASL"]),
                       "SASL line before login: %r" % (before["SASL"],))
        p.user("alice")
        p.pass_("secret")
        after = capa_set(p)
        for c in ("USER", "SASL"):
            rt.assert_eq(after.get(c), before[c], "CAPA %s after vs before login" % c)
        for c in ("TOP", "UIDL", "RESP-CODES", "PIPELINING"):
            rt.assert_true(c in after, "%s missing from CAPA after login" % c)
        rt.assert_true("STLS" not in after, "STLS listed after login")
        p.quit()
    finally:
        p.close()


@R.test
def capa_after_stls_and_on_pop3s():
    plain = S.pop("plain")
    before = capa_set(plain)
    plain.quit()
    for mode in ("stls", "pop3s"):
        S.wait_unlocked("alice")
        p = S.pop(mode)
        try:
            c = capa_set(p)
            rt.assert_true("STLS" not in c, "STLS listed in CAPA over TLS (%s)" % mode)
            for k in ("USER", "SASL"):
                rt.assert_eq(c.get(k), before[k], "CAPA %s over %s vs plain" % (k, mode))
            p.user("alice")
            p.pass_("secret")
            rt.assert_true("STLS" not in capa_set(p), "STLS listed after login (%s)"
                           % mode)
            p.quit()
        finally:
            p.close()


@R.test
def ssl_required_refuses_plaintext_login():
    REQ.wait_unlocked("alice")
    p = REQ.pop("plain")
    try:
        try:
            r = p.user("alice")
            raise AssertionError("USER accepted before TLS with ssl = required: %r" % r)
        except poplib.error_proto as e:
            rt.assert_err(e.args[0], "USER before TLS", b"-ERR [AUTH]")
        ir = base64.b64encode(b"\0alice\0secret").decode()
        try:
            r = p._shortcmd("AUTH PLAIN " + ir)
            raise AssertionError("AUTH PLAIN accepted before TLS: %r" % r)
        except poplib.error_proto as e:
            rt.assert_err(e.args[0], "AUTH PLAIN before TLS", b"-ERR [AUTH]")
        p.stls(REQ.client_context())
        p.user("alice")
        p.pass_("secret")
        rt.assert_eq(p.stat()[0], len(REQ.disk_messages("alice")), "STAT after STLS")
        p.quit()
    finally:
        p.close()
    p = REQ.login("alice", "pop3s")
    rt.assert_eq(p.stat()[0], len(REQ.disk_messages("alice")), "STAT over pop3s")
    p.quit()


R.main(setup)
