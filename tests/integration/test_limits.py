#!/usr/bin/env python3
"""Per-user fields and session limits, enforced by the master at hand-over:
[IN-USE] for a user at mail_sessions_per_user_max (or its sessions_max)
while another tenant logs in normally, [SYS/TEMP] at
mail_sessions_per_ip_max, nologin with a reason ([SYS/PERM] reason) and
without one ([AUTH]), LOGIN-DELAY and EXPIRE in CAPA before and after
login (RFC 2449 §6.5, §6.7) and [LOGIN-DELAY] for a login inside the
user's delay (poplib)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import tenanttest as tt  # noqa: E402

R = rt.Runner("test_limits")
S = None        # limits and per-user fields
D = None        # a server-wide login_delay

AUTH = """mail_sessions_per_user_max = 1
mail_sessions_per_ip_max = 3
mail_expire = 30
mail = maildir:{dir}/mail/%{{domain}}/%{{username}}
passdb passwd-file {{ path = {dir}/accounts.passwd }}
userdb passwd-file {{ path = {dir}/accounts.passwd }}"""

USERS = [
    ("alice@a.example", "pw", None, ""),
    ("bob@b.example", "pw", None, ""),
    ("carol@b.example", "pw", None, ""),
    ("dave@a.example", "pw", None, ""),
    ("erin@a.example", "pw", None, "sessions_max=2"),
    ("slow@a.example", "pw", None, "login_delay=30 expire=NEVER"),
    ("gone@a.example", "pw", None, "nologin reason=Moved_to_mail.example.net"),
    ("locked@a.example", "pw", None, "nologin"),
]


def setup():
    global S, D
    S = R.server(tt.TenantServer("limits", AUTH))
    S.write_users(os.path.join(S.dir, "accounts.passwd"), USERS)
    for name, _, _, _ in USERS:
        local, domain = name.split("@")
        S.make_maildir(os.path.join(S.mail_root, domain, local), 1)
    S.start()
    D = R.server(tt.TenantServer("delay", AUTH.replace(
        "mail_expire = 30", "login_delay = 2s").replace(
        "mail_sessions_per_user_max = 1", "mail_sessions_per_user_max = 10")))
    D.write_users(os.path.join(D.dir, "accounts.passwd"), USERS[:1])
    D.make_maildir(os.path.join(D.mail_root, "a.example", "alice"), 1)
    D.start()


def close_all(clients):
    for p in clients:
        p.quit()


@R.test
def user_limit_does_not_block_another_tenant():
    a = tt.logged_in(S.login_when_free("alice@a.example", "pw"), "alice")
    try:
        r = tt.assert_refused(S.pop_login("alice@a.example", "pw"), "IN-USE",
                              "alice's second session")
        rt.assert_true(b"Too many sessions for this account" in r,
                       "the master's refusal, not the mailbox lock: %r" % r)
        b = tt.logged_in(S.pop_login("bob@b.example", "pw"), "bob of tenant B")
        rt.assert_eq(b.stat()[0], 1, "bob's STAT while alice is at her limit")
        b.quit()
        a.stat()
    finally:
        a.quit()
    rt.assert_true("Session refused: [IN-USE]" in S.log_text(), "log line")


@R.test
def per_user_override():
    e = tt.logged_in(S.login_when_free("erin@a.example", "pw"), "erin")
    try:
        # sessions_max=2 lets the second session past the master; the
        # mailbox lock then answers.
        r = tt.assert_refused(S.pop_login("erin@a.example", "pw"), "IN-USE",
                              "erin's second session")
        rt.assert_true(b"Too many sessions" not in r,
                       "erin's sessions_max=2 overrides the limit: %r" % r)
    finally:
        e.quit()


@R.test
def address_limit():
    held = [tt.logged_in(S.login_when_free(u, "pw"), u) for u in
            ("alice@a.example", "bob@b.example", "carol@b.example")]
    try:
        r = tt.assert_refused(S.pop_login("dave@a.example", "pw"), "SYS/TEMP",
                              "a fourth session from 127.0.0.1")
        rt.assert_true(b"from your address" in r, "refusal text: %r" % r)
    finally:
        close_all(held)
    p = tt.logged_in(S.login_when_free("dave@a.example", "pw"),
                     "dave once the others are gone")
    p.quit()


@R.test
def nologin():
    r = tt.assert_refused(S.pop_login("gone@a.example", "pw"), "SYS/PERM",
                          "nologin with a reason")
    rt.assert_true(b"Moved_to_mail.example.net" in r, "the reason: %r" % r)
    wrong = tt.assert_refused(S.pop_login("gone@a.example", "bad"), "AUTH",
                              "nologin user, wrong password")
    plain = tt.assert_refused(S.pop_login("locked@a.example", "pw"), "AUTH",
                              "nologin without a reason")
    rt.assert_eq(plain, wrong, "nologin without a reason looks like a wrong password")
    rt.assert_true("account has nologin set: Moved_to_mail.example.net"
                   in S.log_text(), "the reason is logged")


@R.test
def capa_and_login_delay():
    p = S.pop()
    c = tt.capa(p)
    p.quit()
    rt.assert_eq(c.get("EXPIRE"), ["30", "USER"], "EXPIRE before login")
    rt.assert_true("LOGIN-DELAY" not in c, "no LOGIN-DELAY before login (0)")
    p = tt.logged_in(S.pop_login("slow@a.example", "pw"), "slow")
    c = tt.capa(p)
    p.quit()
    rt.assert_eq(c.get("LOGIN-DELAY"), ["30"], "slow's LOGIN-DELAY")
    rt.assert_eq(c.get("EXPIRE"), ["NEVER"], "slow's EXPIRE")
    r = tt.assert_refused(S.pop_login("slow@a.example", "pw"), "LOGIN-DELAY",
                          "slow again at once")
    rt.assert_true(b"30 seconds" in r, "the delay in the text: %r" % r)
    p = tt.logged_in(S.login_when_free("bob@b.example", "pw"), "bob meanwhile")
    c = tt.capa(p)
    p.quit()
    rt.assert_eq(c.get("EXPIRE"), ["30"], "bob's EXPIRE (the setting)")
    rt.assert_true("LOGIN-DELAY" not in c, "bob has no delay")


@R.test
def server_wide_login_delay():
    p = D.pop()
    c = tt.capa(p)
    p.quit()
    rt.assert_eq(c.get("LOGIN-DELAY"), ["2", "USER"], "LOGIN-DELAY before login")
    p = tt.logged_in(D.pop_login("alice@a.example", "pw"), "first login")
    rt.assert_eq(tt.capa(p).get("LOGIN-DELAY"), ["2"], "LOGIN-DELAY after login")
    p.quit()
    t0 = time.monotonic()
    tt.assert_refused(D.pop_login("alice@a.example", "pw"), "LOGIN-DELAY",
                      "a second login inside 2 s")
    time.sleep(max(0.0, 2.1 - (time.monotonic() - t0)))
    p = tt.logged_in(D.login_when_free("alice@a.example", "pw"), "after the delay")
    p.quit()


if __name__ == "__main__":
    R.main(setup)
