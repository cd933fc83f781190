#!/usr/bin/env python3
"""Virtual users over two domains: per-domain passwd-files and mail paths
through %{domain} and %{username}, the same local part in both domains,
name normalisation (lowercase, default domain, surrounding blanks), and
names outside the safe set refused before any lookup, with no file
outside the mail root touched (poplib, raw AUTH PLAIN, curl)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import tenanttest as tt  # noqa: E402

R = rt.Runner("test_tenants")
S = None

AUTH = """auth_username_lowercase = yes
auth_default_domain = a.example
mail = maildir:{dir}/mail/%{{domain}}/%{{username}}
passdb passwd-file {{ path = {dir}/domains/%{{domain}}.passwd }}
userdb passwd-file {{ path = {dir}/domains/%{{domain}}.passwd }}"""

# user -> (password, messages)
USERS = {
    "alice@a.example": ("alice-a", 2),
    "bob@a.example": ("bob-a", 1),
    "alice@b.example": ("alice-b", 3),
}


def setup():
    global S
    S = R.server(tt.TenantServer("tenants", AUTH))
    domains = os.path.join(S.dir, "domains")
    os.makedirs(domains)
    for domain in ("a.example", "b.example"):
        entries = [(u, pw, None, "") for u, (pw, _) in USERS.items()
                   if u.endswith("@" + domain)]
        S.write_users(os.path.join(domains, domain + ".passwd"), entries)
    for u, (_, count) in USERS.items():
        local, domain = u.split("@")
        S.make_maildir(os.path.join(S.mail_root, domain, local), count)
    S.chown(domains)
    S.start()


def stat_of(user, password):
    p = tt.logged_in(S.pop_login(user, password), user)
    try:
        return p.stat()[0]
    finally:
        p.quit()


@R.test
def same_local_part_in_two_domains():
    rt.assert_eq(stat_of("alice@a.example", "alice-a"), 2,
                 "messages of alice@a.example")
    rt.assert_eq(stat_of("alice@b.example", "alice-b"), 3,
                 "messages of alice@b.example")
    tt.assert_refused(S.pop_login("alice@a.example", "alice-b"), "AUTH",
                      "alice@a.example with b's password")
    tt.assert_refused(S.pop_login("bob@b.example", "bob-a"), "AUTH",
                      "bob in a domain that has no bob")
    tt.assert_refused(S.pop_login("carol@c.example", "x"), "AUTH",
                      "a domain without a passwd-file")


@R.test
def normalisation():
    # Lowercased, and the default domain for a bare name.
    rt.assert_eq(stat_of("ALICE@A.Example", "alice-a"), 2, "upper-case name")
    rt.assert_eq(stat_of("bob", "bob-a"), 1, "bare name in auth_default_domain")
    # Surrounding blanks (AUTH PLAIN can carry them; USER cannot).
    c = S.raw()
    r = c.cmd("AUTH PLAIN " + rt.plain_b64("", "  Alice@a.example\t", "alice-a"))
    rt.assert_ok(r, "AUTH PLAIN with blanks around the name")
    r = c.cmd("STAT")
    rt.assert_true(r.startswith(b"+OK 2 "), "STAT after AUTH PLAIN: %r" % r)
    c.cmd("QUIT")
    c.close()
    # The greeting/log show the canonical name.
    rt.assert_true("alice@a.example" in S.log_text(), "canonical name in the log")


@R.test
def curl_with_a_domain_name():
    rc, out = tt.curl_pop3(S.pop3_port, "alice@b.example", "alice-b")
    rt.assert_eq(rc, 0, "curl exit code for alice@b.example")
    rt.assert_eq(len(out.splitlines()), 3, "curl's listing of alice@b.example")
    rc, out = tt.curl_pop3(S.pop3_port, "..%2Fx", "alice-a")
    rt.assert_true(rc != 0, "curl login as ../x must fail")


@R.test
def climbing_names_refused_before_lookup():
    skip = {S.base_dir}
    before = tt.tree_snapshot(S.dir, skip)
    for name in ("../x", "x@..", "a/b", "~root", "x@../a.example",
                 "alice@a.example/../b.example", "%{user}", ".alice",
                 "-alice"):
        tt.assert_refused(S.pop_login(name, "alice-a"), "AUTH",
                          "login as %r" % name)
    # Longer than a USER line may be: AUTH PLAIN carries it.
    c = S.raw()
    r = c.cmd("AUTH PLAIN " + rt.plain_b64("", "a" * 245 + "@a.example",
                                           "alice-a"))
    rt.assert_true(r.startswith(b"-ERR [AUTH]"), "a 255-byte name: %r" % r)
    c.close()
    log = S.log_text()
    for name in ("../x", "x@..", "a/b", "~root"):
        rt.assert_true("invalid user name" in log,
                       "log says why %r was refused" % name)
    rt.assert_true("passwd-file: user refused" not in log,
                   "a refused name reached the passwd-file module")
    # A name that is a prefix of another user's directory is an unknown
    # user, nothing more.
    tt.assert_refused(S.pop_login("ali@a.example", "alice-a"), "AUTH",
                      "ali, a prefix of alice")
    after = tt.tree_snapshot(S.dir, skip)
    # No login succeeded: nothing at all may have changed but the log,
    # in the mail root or outside it.
    changed = sorted(k for k in set(before) | set(after)
                     if before.get(k) != after.get(k) and k != "roost.log")
    rt.assert_eq(changed, [], "files changed by refused logins")


if __name__ == "__main__":
    R.main(setup)
