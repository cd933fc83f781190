#!/usr/bin/env python3
"""Master users: "user*admin" with the admin's password from a passdb
marked master = yes logs in as user (poplib and curl), with a log line;
a wrong admin password, an unknown target, a normal user trying
"victim*alice" with their own password, and the admin logging in as
itself all get the answer of a wrong password."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import tenanttest as tt  # noqa: E402

R = rt.Runner("test_master_users")
S = None

# The master passdb comes first: normal logins must never reach it.
AUTH = """auth_master_user_separator = *
mail = maildir:{dir}/mail/%{{domain}}/%{{username}}
passdb passwd-file {{
  master = yes
  path = {dir}/masters.passwd
}}
passdb passwd-file {{ path = {dir}/accounts.passwd }}
userdb passwd-file {{ path = {dir}/accounts.passwd }}"""


def setup():
    global S
    S = R.server(tt.TenantServer("masters", AUTH))
    S.write_users(os.path.join(S.dir, "masters.passwd"),
                  [("admin", "adminpw", None, "")])
    S.write_users(os.path.join(S.dir, "accounts.passwd"),
                  [("alice@a.example", "alicepw", None, ""),
                   ("victim@a.example", "victimpw", None, "")])
    S.make_maildir(os.path.join(S.mail_root, "a.example", "alice"), 2)
    S.make_maildir(os.path.join(S.mail_root, "a.example", "victim"), 5)
    S.start()


@R.test
def master_login_runs_as_the_user():
    p = tt.logged_in(S.pop_login("alice@a.example*admin", "adminpw"),
                     "alice*admin")
    rt.assert_eq(p.stat()[0], 2, "STAT shows alice's mailbox")
    p.quit()
    log = S.log_text()
    rt.assert_true("master user admin logged in as alice@a.example" in log,
                   "log line of the master login")
    rt.assert_true("user=alice@a.example" in log.split(
        "master user admin logged in")[1], "the session runs as alice")


@R.test
def master_login_with_curl():
    rc, out = tt.curl_pop3(S.pop3_port, "victim@a.example*admin", "adminpw")
    rt.assert_eq(rc, 0, "curl exit code")
    rt.assert_eq(len(out.splitlines()), 5, "curl lists victim's 5 messages")


@R.test
def failures_look_like_wrong_passwords():
    wrong = tt.assert_refused(S.pop_login("alice@a.example", "nope"), "AUTH",
                              "alice with a wrong password")
    cases = [
        ("alice@a.example*admin", "wrong", "wrong admin password"),
        ("nobody@a.example*admin", "adminpw", "unknown target"),
        ("victim@a.example*alice@a.example", "alicepw",
         "a normal user as master"),
        ("admin", "adminpw", "the admin as itself"),
        ("alice@a.example", "adminpw", "the admin's password for alice"),
        ("alice@a.example*", "adminpw", "an empty master name"),
    ]
    for user, password, what in cases:
        r = tt.assert_refused(S.pop_login(user, password), "AUTH", what)
        rt.assert_eq(r, wrong, "%s answers like a wrong password" % what)


if __name__ == "__main__":
    R.main(setup)
