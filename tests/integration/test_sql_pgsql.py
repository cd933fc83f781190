#!/usr/bin/env python3
"""The pgsql passdb and userdb (auth/sql/pgsql.c) against a real
PostgreSQL server started by tests/integration/pgserver.py: logins with
poplib and curl (AUTH PLAIN), the userdb's home and mail used by the mail
worker, hostile user names that leave the table unchanged, a restart
between logins that no login notices, an outage (server stopped:
[SYS/TEMP] at once, the outage logged once per connection, nothing
crashes; server started again: logins work without restarting Roost),
and libpq fail-over past a dead first host."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import pgserver  # noqa: E402
import sqltest as st  # noqa: E402

R = rt.Runner("test_sql_pgsql")
PG = None
S = None          # connects to the server directly
FO = None         # a dead first host, then the server
# pgsql.c's PGSQL_RETRY_DELAY_MAX_MSECS is 5 s: after the server returns,
# the next connection attempt comes within that; this is the bound with
# room for a loaded machine.
RECOVERY_WAIT = 30

SCHEMA = """
CREATE ROLE roost LOGIN;
CREATE DATABASE mail OWNER postgres;
\\connect mail
CREATE TABLE users (
    name text PRIMARY KEY,
    password text,
    home text,
    mail text,
    nologin boolean NOT NULL DEFAULT false
);
GRANT SELECT ON users TO roost;
"""

PASSWORD_QUERY = ("SELECT name AS user, password, nologin FROM users "
                  "WHERE name = %{user}")
USER_QUERY = "SELECT home, mail FROM users WHERE name = %{user}"


def auth_config(connect):
    return ("passdb pgsql {\n  connect = %s\n  password_query = %s\n}\n"
            "userdb pgsql {\n  connect = %s\n  user_query = %s\n}\n"
            % (st.conf_quote(connect), st.conf_quote(PASSWORD_QUERY),
               st.conf_quote(connect), st.conf_quote(USER_QUERY)))


def sql_literal(value):
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def add_row(name, password, home, mail=None, nologin=False):
    PG.psql("INSERT INTO users VALUES (%s, %s, %s, %s, %s);" % (
        sql_literal(name), sql_literal(password), sql_literal(home),
        sql_literal(mail), "true" if nologin else "false"), dbname="mail")


def setup():
    global PG, S, FO
    rt.need_tool("curl")
    t0 = time.monotonic()
    PG = pgserver.PgServer()
    PG.start()
    PG.psql(SCHEMA)
    rt.log("PostgreSQL %s up in %.1fs (%s)" % (
        PG.psql("SHOW server_version;").strip(), time.monotonic() - t0,
        "as %s via runuser" % "postgres" if PG.as_root else "as ourselves"))

    S = R.server(st.SqlServer("sql-pgsql", auth_config(
        PG.conninfo(dbname="mail", user="roost") + " connect_timeout=3")))
    S.add_user("alice", "secret")
    S.add_user("bob@example.org", "bob's secret")
    S.add_user("nolo", "secret")
    other = S.other_maildir("bob-mail", "bob", 1)
    add_row("alice", "{PLAIN}secret", S.users["alice"].home)
    add_row("bob@example.org", "{PLAIN}bob's secret",
            S.users["bob@example.org"].home, "maildir:" + other)
    add_row("nolo", "{PLAIN}secret", S.users["nolo"].home, nologin=True)
    S.start()

    dead = rt.free_port()
    while dead == PG.port:
        dead = rt.free_port()
    FO = R.server(st.SqlServer("sql-pgsql-failover", auth_config(
        "host=127.0.0.1,127.0.0.1 port=%d,%d dbname=mail user=roost "
        "connect_timeout=3" % (dead, PG.port))))
    FO.add_user("alice", "secret", home=S.users["alice"].home,
                messages=None)
    FO.start()


def wait_login(srv, name, password, timeout):
    """Retries USER/PASS until +OK or timeout; returns the last reply."""
    deadline = time.monotonic() + timeout
    while True:
        r = st.user_pass(srv, name, password)
        if r.startswith(b"+OK") or time.monotonic() >= deadline:
            return r
        time.sleep(0.2)


def outage_lines(srv):
    """{process id: number of "database is unavailable" lines}."""
    out = {}
    for m in re.finditer(r"\[(\d+)\]: error: pgsql: the database is "
                         r"unavailable", srv.log_text()):
        out[m.group(1)] = out.get(m.group(1), 0) + 1
    return out


def assert_no_crash(srv):
    text = srv.log_text()
    rt.assert_true(srv.proc.poll() is None, "roost is still running")
    for bad in ("killed by signal", "restarting in"):
        rt.assert_true(bad not in text, "'%s' in the log of %s" % (bad,
                                                                  srv.name))


@R.test
def login_and_userdb_fields():
    S.reset_mailbox("alice")
    st.assert_stat_is_maildir(S, "alice", "secret", S.users["alice"].maildir)
    st.assert_stat_is_maildir(S, "bob@example.org", "bob's secret",
                              os.path.join(S.dir, "bob-mail"))


@R.test
def failures_look_alike():
    wrong = st.user_pass(S, "alice", "wrong")
    rt.assert_eq(wrong, st.AUTH_FAILED, "wrong password")
    rt.assert_eq(st.user_pass(S, "ghost", "secret"), wrong, "unknown user")
    rt.assert_eq(st.user_pass(S, "nolo", "secret"), wrong,
                 "nologin (PostgreSQL boolean 't') with the right password")


@R.test
def curl_auth_plain():
    st.assert_curl_listing(S, "alice", "secret")


@R.test
def hostile_names_change_nothing():
    st.assert_hostile_names_change_nothing(
        S, "pgsql", lambda: PG.dump_table("users", dbname="mail"), "alice",
        "secret")
    assert_no_crash(S)


@R.test
def restart_between_logins_is_invisible():
    # Every worker's connection breaks; the first query on it notices and
    # is retried on a new connection, so no login fails. Twice as many
    # logins as auth workers (default 4) reach each worker's connection.
    for i in range(8):
        S.wait_unlocked("alice")
        rt.assert_true(st.user_pass(S, "alice", "secret").startswith(b"+OK"),
                       "login %d before the restart" % (i + 1))
    PG.stop()
    PG.start()
    for i in range(8):
        S.wait_unlocked("alice")
        r = st.user_pass(S, "alice", "secret")
        rt.assert_true(r.startswith(b"+OK"), "login %d after the restart: %r"
                       % (i + 1, r))
    rt.assert_true("connection to 127.0.0.1 port %d lost" % PG.port
                   in S.log_text(), "the lost connection is logged")
    rt.assert_true("the database is unavailable" not in S.log_text(),
                   "no outage logged for a restart between logins")


@R.test
def outage_and_recovery():
    S.wait_unlocked("alice")
    rt.assert_true(st.user_pass(S, "alice", "secret").startswith(b"+OK"),
                   "login before the outage")
    PG.stop()
    try:
        for i in range(5):
            r = st.user_pass(S, "alice", "secret")
            rt.assert_true(r.startswith(st.SYS_TEMP), "login %d during the "
                           "outage: %r" % (i + 1, r))
        assert_no_crash(S)
        # Each auth worker has its own connection and says so once.
        per_process = outage_lines(S)
        rt.assert_true(len(per_process) >= 1, "the outage is logged")
        rt.assert_true(all(n == 1 for n in per_process.values()),
                       "outage lines per process after 5 logins: %r"
                       % per_process)
    finally:
        PG.start()
    S.wait_unlocked("alice")
    r = wait_login(S, "alice", "secret", RECOVERY_WAIT)
    rt.assert_true(r.startswith(b"+OK"), "login after the server came back: "
                   "%r" % r)
    rt.assert_true(S.wait_log("the database is available again", 5),
                   "the recovery is logged")
    assert_no_crash(S)


@R.test
def failover_past_a_dead_host():
    r = wait_login(FO, "alice", "secret", RECOVERY_WAIT)
    rt.assert_true(r.startswith(b"+OK"), "login with a dead first host: %r"
                   % r)
    rt.assert_true("unavailable" not in FO.log_text(),
                   "no outage logged while the second host answers")
    assert_no_crash(FO)


try:
    R.main(setup)
finally:
    if PG is not None:
        PG.cleanup()
