#!/usr/bin/env python3
"""Proxying (issue 7): two Roost instances on loopback, a back end holding
the maildirs (passwd-file) and a front end whose passdb is a PostgreSQL
table started by the test, with Dovecot's proxy columns (proxy, host,
port, ssl, starttls, destuser, pass). poplib and curl fetch through the
front end and get the back end's mail byte for byte (RETR, UIDL,
DELE+QUIT committed on the back end), over plain POP3 and POP3S to the
front end and over plain, STLS and implicit TLS to the back end; a user
whose back end is down gets [SYS/TEMP] and a log line naming host:port;
a back end refusing the password looks like a wrong password; the front
end starts no mail worker for proxied sessions and no proxy field
reaches the client."""

import os
import poplib
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import pgserver  # noqa: E402
import sqltest as st  # noqa: E402

ROOSTCTL = os.path.join(rt.BUILDDIR, "tools", "roostctl", "roostctl")
R = rt.Runner("test_proxy")
PG = None
BE = None         # the back end, holding the maildirs
FE = None         # the front end, passdb in PostgreSQL
DEAD_PORT = None  # nothing listens here

SCHEMA = """
CREATE ROLE roost LOGIN;
CREATE DATABASE mail OWNER postgres;
\\connect mail
CREATE TABLE users (
    name text PRIMARY KEY,
    password text NOT NULL,
    proxy text,
    host text,
    hostip text,
    port integer,
    ssl text,
    starttls text,
    destuser text,
    pass text
);
GRANT SELECT ON users TO roost;
"""

# NULL columns are left out, as if the query had not selected them
# (auth/sql/sql-fields.h), so one query serves every kind of row.
PASSWORD_QUERY = ("SELECT name AS user, password, proxy, host, hostip, port, ssl, "
                  "starttls, destuser, pass FROM users WHERE name = %{user}")


def sql_literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def add_row(name, password, port, ssl=None, starttls=None, destuser=None,
            passwd=None, host="127.0.0.1", hostip=None):
    PG.psql("INSERT INTO users VALUES (%s);" % ", ".join(sql_literal(v) for v in (
        name, "{PLAIN}" + password, "y", host, hostip, port, ssl, starttls,
        destuser, passwd)), dbname="mail")


def setup():
    global PG, BE, FE, DEAD_PORT
    rt.need_tool("curl")
    PG = pgserver.PgServer()
    PG.start()
    PG.psql(SCHEMA)

    # log_debug: the back end logs its TLS handshakes, which shows that
    # the front end really used STLS / implicit TLS.
    BE = R.server(rt.Server("proxy-backend", extra_config="log_debug = yes"))
    BE.add_user("alice", "secret")
    BE.add_user("bob", "bobpw")
    BE.add_user("carol", "carolpw")
    BE.add_user("eve", "the-back-end-one")
    BE.add_user("frank-be", "franks-back-end-pw")
    BE.start()

    DEAD_PORT = rt.free_port()
    while DEAD_PORT in (BE.pop3_port, BE.pop3s_port, PG.port):
        DEAD_PORT = rt.free_port()

    FE = R.server(st.SqlServer("proxy-frontend"))
    # Proxied users need no userdb; the empty passwd-file is the rest.
    FE.auth_config = (
        "proxy_ssl_ca_file = %s\n"
        "passdb pgsql {\n  connect = %s\n  password_query = %s\n}\n"
        "userdb passwd-file { path = %s }\n") % (
            BE.cert, st.conf_quote(PG.conninfo(dbname="mail", user="roost")
                                   + " connect_timeout=3"),
            st.conf_quote(PASSWORD_QUERY), FE.passwd)
    FE.start()

    add_row("alice", "secret", BE.pop3_port)
    add_row("bob", "bobpw", BE.pop3_port, starttls="yes")
    add_row("carol", "carolpw", BE.pop3s_port, ssl="yes")
    add_row("eve", "front-end-pw", BE.pop3_port)   # the back end disagrees
    add_row("frank", "front-pw", BE.pop3_port, destuser="frank-be",
            passwd="franks-back-end-pw")
    add_row("dave", "davepw", DEAD_PORT)
    # The certificate names localhost and 127.0.0.1 only.
    add_row("bad-cert", "pw", BE.pop3_port, starttls="yes",
            host="mail.example.org", hostip="127.0.0.1")


def front_pop(mode="plain"):
    if mode == "pop3s":
        return poplib.POP3_SSL("127.0.0.1", FE.pop3s_port,
                               context=FE.client_context(), timeout=rt.TIMEOUT)
    return poplib.POP3("127.0.0.1", FE.pop3_port, timeout=rt.TIMEOUT)


def assert_mailbox_through_front(name, password, backend_name, mode="plain"):
    BE.reset_mailbox(backend_name)
    BE.wait_unlocked(backend_name)
    disk = BE.disk_messages(backend_name)
    p = front_pop(mode)
    try:
        p.user(name)
        p.pass_(password)
        count, octets = p.stat()
        rt.assert_eq((count, octets), (len(disk), sum(rt.pop3_size(d)
                                                      for d in disk.values())),
                     "STAT of %s through the front end" % name)
        got = {}
        for line in p.uidl()[1]:
            num, uidl = line.decode().split()
            # poplib unstuffs and splits; compare on the raw socket level
            # through the line list, which keeps every byte but the ends.
            resp, lines, _ = p.retr(int(num))
            rt.assert_ok(resp, "RETR %s" % num)
            got[uidl] = lines
        rt.assert_eq(sorted(got), sorted(disk), "UIDLs through the front end")
        for uidl, lines in got.items():
            want = rt.wire(disk[uidl]).split(b"\r\n")
            if want and want[-1] == b"":
                want.pop()
            rt.assert_eq(lines, want, "RETR of %s through the front end" % uidl)
        p.quit()
    except BaseException:
        p.close()
        raise


@R.test
def poplib_fetches_the_back_ends_mail():
    assert_mailbox_through_front("alice", "secret", "alice")


@R.test
def raw_retr_is_byte_exact_and_dele_commits_on_the_back_end():
    BE.reset_mailbox("alice")
    BE.wait_unlocked("alice")
    disk = BE.disk_messages("alice")
    c = rt.RawClient(FE.pop3_port)
    try:
        rt.assert_ok(c.greeting, "front end greeting")
        rt.assert_true(b"127.0.0.1" not in c.greeting, "greeting: %r" % c.greeting)
        # Pipelined: the STAT after PASS travels to the back end.
        c.send(b"USER alice\r\nPASS secret\r\nSTAT\r\n")
        rt.assert_ok(c.readline(), "USER")
        login = c.readline()
        rt.assert_ok(login, "PASS through the proxy")
        for word in (b"proxy", b"host", str(BE.pop3_port).encode()):
            rt.assert_true(word not in login, "PASS reply %r names %r" % (login, word))
        stat = c.readline()
        rt.assert_eq(stat.split()[:2], [b"+OK", str(len(disk)).encode()],
                     "pipelined STAT")
        status, uidls = c.cmd_multi("UIDL")
        rt.assert_ok(status, "UIDL")
        nums = {}
        for line in uidls.splitlines():
            num, uidl = line.decode().split()
            nums[uidl] = int(num)
        rt.assert_eq(sorted(nums), sorted(disk), "UIDL through the front end")
        for uidl, num in nums.items():
            resp, body = c.cmd_multi("RETR %d" % num)
            rt.assert_ok(resp, "RETR %d" % num)
            rt.assert_bytes(body, rt.stuff(rt.wire(disk[uidl])),
                            "RETR %d (%s)" % (num, uidl))
        first = min(nums, key=nums.get)
        rt.assert_ok(c.cmd("DELE %d" % nums[first]), "DELE")
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
        c.expect_eof()
    finally:
        c.close()
    BE.wait_unlocked("alice")
    after = BE.disk_messages("alice")
    rt.assert_true(first not in after, "the deleted message is gone on the back end")
    rt.assert_eq(len(after), len(disk) - 1, "messages left on the back end")


@R.test
def curl_fetches_through_the_front_end():
    curl = rt.need_tool("curl")
    BE.reset_mailbox("alice")
    BE.wait_unlocked("alice")
    disk = BE.disk_messages("alice")
    # AUTH PLAIN (curl's default SASL choice) at the front end, USER/PASS
    # at the back end.
    r = subprocess.run([curl, "-s", "-S", "--max-time", "15", "-u", "alice:secret",
                        "pop3://127.0.0.1:%d/1" % FE.pop3_port],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    rt.assert_eq(r.returncode, 0, "curl exit code (%s)" % r.stderr.decode(errors="replace"))
    first = sorted(disk)[0]
    rt.assert_true(r.stdout in [rt.wire(d) for d in disk.values()],
                   "curl's RETR 1 is one of the back end's messages byte for byte "
                   "(%d octets; first UIDL %s)" % (len(r.stdout), first))
    st.assert_curl_listing(BE, "alice", "secret")   # reference: the back end
    r = subprocess.run([curl, "-s", "-S", "--max-time", "15", "--login-options",
                        "AUTH=PLAIN", "-u", "alice:secret",
                        "pop3://127.0.0.1:%d/" % FE.pop3_port],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    rt.assert_eq(r.returncode, 0, "curl listing exit code (%s)"
                 % r.stderr.decode(errors="replace"))
    sizes = sorted(int(line.split()[1]) for line in r.stdout.splitlines())
    rt.assert_eq(sizes, sorted(rt.pop3_size(d) for d in BE.disk_messages("alice").values()),
                 "curl's listing through the front end")


@R.test
def pop3s_to_the_front_end():
    assert_mailbox_through_front("alice", "secret", "alice", mode="pop3s")


@R.test
def stls_and_implicit_tls_to_the_back_end():
    before = BE.log_text().count("TLS established")
    assert_mailbox_through_front("bob", "bobpw", "bob")
    rt.assert_true(BE.log_text().count("TLS established") > before,
                   "the back end saw a TLS handshake for bob (starttls=yes)")
    before = BE.log_text().count("TLS established")
    assert_mailbox_through_front("carol", "carolpw", "carol")
    rt.assert_true(BE.log_text().count("TLS established") > before,
                   "the back end saw a TLS handshake for carol (ssl=yes)")


@R.test
def a_certificate_for_another_host_is_refused():
    r = st.user_pass(FE, "bad-cert", "pw")
    rt.assert_true(r.startswith(st.SYS_TEMP), "login whose back end's certificate "
                   "does not name the host: %r" % r)
    line = "proxy(127.0.0.1:%d): the back end closed the connection: TLS " \
        "handshake failed" % BE.pop3_port
    rt.assert_true(FE.wait_log(line, 5), "the log says %r" % line)


@R.test
def destuser_and_pass_fields():
    assert_mailbox_through_front("frank", "front-pw", "frank-be")


@R.test
def unreachable_back_end_is_a_temporary_failure():
    r = st.user_pass(FE, "dave", "davepw")
    rt.assert_true(r.startswith(st.SYS_TEMP), "login whose back end is down: %r" % r)
    line = "proxy(127.0.0.1:%d): connect failed: Connection refused" % DEAD_PORT
    rt.assert_true(FE.wait_log(line, 5), "the log says %r" % line)
    # The client stays connected and can log in as someone else.
    BE.wait_unlocked("alice")
    c = FE.raw()
    try:
        c.cmd("USER dave")
        rt.assert_true(c.cmd("PASS davepw").startswith(st.SYS_TEMP), "dave again")
        rt.assert_ok(c.cmd("USER alice"), "USER alice after the failure")
        rt.assert_ok(c.cmd("PASS secret"), "PASS alice after the failure")
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
    finally:
        c.close()


@R.test
def back_end_refusal_looks_like_a_wrong_password():
    wrong = st.user_pass(FE, "alice", "wrong")
    rt.assert_eq(wrong, st.AUTH_FAILED, "wrong password at the front end")
    r = st.user_pass(FE, "eve", "front-end-pw")
    rt.assert_eq(r, wrong, "the back end refused eve's password")
    rt.assert_true(FE.wait_log("the back end refused the login", 5),
                   "the refusal is logged")


def front_who_proxied():
    """Sessions the front end's login processes proxy, per roostctl who."""
    r = subprocess.run([ROOSTCTL, "-c", FE.conf, "who"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    rt.assert_eq(r.returncode, 0, "roostctl who (%s)" % r.stderr.decode(errors="replace"))
    lines = [dict(kv.split("=", 1) for kv in line.split())
             for line in r.stdout.decode().splitlines()]
    rt.assert_eq([w for w in lines if "user" in w], [], "mail sessions in who")
    return sum(int(w["proxied"]) for w in lines if "login" in w)


def title_of(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")[0]
    except OSError:
        return b""


@R.test
def no_mail_worker_for_proxied_sessions():
    BE.wait_unlocked("alice")
    before = sorted(FE.children())
    p = front_pop()
    try:
        p.user("alice")
        p.pass_("secret")
        rt.assert_eq(p.stat()[0] >= 0, True, "STAT")
        during = sorted(FE.children())
        rt.assert_eq(during, before, "the front end's processes during a proxied "
                     "session (no mail worker)")
        # A back-end worker may be one kept idle from an earlier session
        # (mail_worker_client_limit): its title names the session's user.
        rt.assert_true(any(title_of(c).startswith(b"roost-mail alice ")
                           for c in BE.children()),
                       "the back end runs a mail worker for the session")
        if os.path.exists(ROOSTCTL):
            rt.wait_for(lambda: front_who_proxied() == 1,
                        "the proxied session in the front end's roostctl who")
        p.quit()
    except BaseException:
        p.close()
        raise
    rt.assert_true(FE.proc.poll() is None, "the front end still runs")
    text = FE.log_text()
    for bad in ("killed by signal", "restarting in"):
        rt.assert_true(bad not in text, "%r in the front end's log" % bad)
    rt.assert_true(re.search(r"proxy\(127\.0\.0\.1:%d\): logged in as alice"
                             % BE.pop3_port, text) is not None,
                   "the front end logs the proxied login")


try:
    R.main(setup)
finally:
    if PG is not None:
        PG.cleanup()
