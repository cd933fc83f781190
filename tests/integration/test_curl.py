#!/usr/bin/env python3
"""curl as a POP3 client: RETR over pop3:// (default SASL, AUTH=PLAIN with
an initial response, AUTH=LOGIN), over pop3s:// and STARTTLS with
--cacert, the listing, and a refused login."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_curl")
S = None
CURL = None


def setup():
    global S, CURL
    CURL = rt.need_tool("curl")
    S = R.server(rt.Server("curl"))
    S.add_user("alice", "secret")
    S.add_user("bob", "bob secret")
    S.start()


def curl(url, *args, user="alice:secret"):
    cmd = [CURL, "-s", "-S", "--max-time", "15", "-u", user] + list(args) + [url]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def curl_ok(url, *args, user="alice:secret"):
    rc, out, err = curl(url, *args, user=user)
    if rc != 0:
        raise AssertionError("curl %s %s failed with exit code %d: %s"
                             % (" ".join(args), url, rc, err))
    return out


def pop3_url(path=""):
    return "pop3://127.0.0.1:%d/%s" % (S.pop3_port, path)


def pop3s_url(path=""):
    return "pop3s://127.0.0.1:%d/%s" % (S.pop3s_port, path)


def listing_and_uidls():
    """{num: (uidl, size)} via poplib (the reference for curl's numbers)."""
    p = S.login("alice")
    try:
        sizes = dict(line.split() for line in p.list()[1])
        uidls = dict(line.split() for line in p.uidl()[1])
        p.quit()
    except BaseException:
        p.close()
        raise
    return {int(n): (uidls[n].decode(), int(s)) for n, s in sizes.items()}


@R.test
def retr_every_message_plain():
    S.reset_mailbox("alice")
    disk = S.disk_messages("alice")
    msgs = listing_and_uidls()
    for n, (uidl, size) in sorted(msgs.items()):
        out = curl_ok(pop3_url(str(n)))
        rt.assert_bytes(out, rt.wire(disk[uidl]), "curl pop3://.../%d (%s)" % (n, uidl))
        rt.assert_eq(size, rt.pop3_size(disk[uidl]), "LIST size of %d" % n)
        S.wait_unlocked("alice")
    rt.assert_eq(S.disk_messages("alice"), disk, "mailbox after curl RETRs")


@R.test
def sasl_mechanisms():
    S.reset_mailbox("alice")
    disk = S.disk_messages("alice")
    uidl = listing_and_uidls()[1][0]
    for args in (["--login-options", "AUTH=PLAIN"],
                 ["--login-options", "AUTH=PLAIN", "--sasl-ir"],
                 ["--login-options", "AUTH=LOGIN"]):
        S.wait_unlocked("alice")
        out = curl_ok(pop3_url("1"), *args)
        rt.assert_bytes(out, rt.wire(disk[uidl]), "curl %s" % " ".join(args))
    S.wait_unlocked("bob")
    out = curl_ok(pop3_url("1"), "--login-options", "AUTH=PLAIN",
                  user="bob:bob secret")
    rt.assert_true(out.startswith(b"From: "), "bob's message 1 via AUTH PLAIN with "
                   "a password containing a space: %r" % out[:60])


@R.test
def retr_over_pop3s_and_starttls():
    S.reset_mailbox("alice")
    disk = S.disk_messages("alice")
    msgs = listing_and_uidls()
    for n in (1, len(msgs)):
        uidl = msgs[n][0]
        S.wait_unlocked("alice")
        out = curl_ok(pop3s_url(str(n)), "--cacert", S.cert)
        rt.assert_bytes(out, rt.wire(disk[uidl]), "curl pop3s://.../%d" % n)
        S.wait_unlocked("alice")
        out = curl_ok(pop3_url(str(n)), "--ssl-reqd", "--cacert", S.cert)
        rt.assert_bytes(out, rt.wire(disk[uidl]), "curl --ssl-reqd pop3://.../%d"
                        % n)
    # Without the CA the certificate must not verify.
    S.wait_unlocked("alice")
    rc, out, err = curl(pop3s_url("1"))
    rt.assert_eq(rc, 60, "curl exit code for pop3s without --cacert (peer "
                 "certificate cannot be authenticated): %s" % err)


@R.test
def listing_equals_list():
    S.reset_mailbox("alice")
    msgs = listing_and_uidls()
    want = b"".join(b"%d %d\r\n" % (n, s) for n, (u, s) in sorted(msgs.items()))
    S.wait_unlocked("alice")
    out = curl_ok(pop3_url())
    rt.assert_bytes(out, want, "curl pop3://.../ listing")
    S.wait_unlocked("alice")
    out = curl_ok(pop3s_url(), "--cacert", S.cert)
    rt.assert_bytes(out, want, "curl pop3s://.../ listing")


@R.test
def refused_login():
    S.wait_unlocked("alice")
    rc, out, err = curl(pop3_url("1"), user="alice:wrong")
    rt.assert_eq(rc, 67, "curl exit code for a wrong password (login denied): %s"
                 % err)
    rt.assert_eq(out, b"", "curl output for a wrong password")
    rc, out, err = curl(pop3_url("1"), "--login-options", "AUTH=PLAIN",
                        user="nosuchuser:secret")
    rt.assert_eq(rc, 67, "curl exit code for an unknown user: %s" % err)


@R.test
def missing_message():
    S.reset_mailbox("alice")
    S.wait_unlocked("alice")
    rc, out, err = curl(pop3_url("99999"))
    rt.assert_true(rc != 0, "curl pop3://.../99999 succeeded")
    rt.assert_eq(out, b"", "output for a missing message")


R.main(setup)
