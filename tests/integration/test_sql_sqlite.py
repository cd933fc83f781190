#!/usr/bin/env python3
"""The sqlite passdb and userdb (auth/sql/sqlite.c) against a real SQLite
file: logins with {PLAIN}, {ARGON2ID} and unprefixed SHA512-CRYPT
(default_scheme), wrong passwords and unknown users answered alike,
nologin, home/mail/uid/gid columns driving the mail worker (STAT equals
the maildir), curl with AUTH PLAIN, hostile user names that leave the
database file byte-identical, a query that matches two rows, a database
that appears only after the server started, and a template error
reported with its file and line."""

import grp
import hashlib
import os
import pwd
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import sqltest as st  # noqa: E402

R = rt.Runner("test_sql_sqlite")
S = None          # passdb + userdb sqlite on DB
LATE = None       # its database file does not exist at start
DB = None
ARGON_PW = "argon pass phrase"
CRYPT_PW = "dave's password"

SCHEMA = """
CREATE TABLE users (
    name TEXT NOT NULL,
    password TEXT,
    home TEXT,
    mail TEXT,
    uid TEXT,
    gid TEXT,
    nologin INTEGER NOT NULL DEFAULT 0,
    quota TEXT
);
"""

PASSWORD_QUERY = ("SELECT name AS user, password, nologin FROM users "
                  "WHERE name = %{user}")
USER_QUERY = ("SELECT home, mail, uid, gid, quota AS userdb_quota "
              "FROM users WHERE name = %{user}")


def auth_config(path, password_query=PASSWORD_QUERY, user_query=USER_QUERY):
    return ("passdb sqlite {\n  path = %s\n  password_query = %s\n"
            "  default_scheme = SHA512-CRYPT\n}\n"
            "userdb sqlite {\n  path = %s\n  user_query = %s\n}\n"
            % (path, st.conf_quote(password_query), path,
               st.conf_quote(user_query)))


def make_db(path, rows):
    con = sqlite3.connect(path)
    with con:
        con.executescript(SCHEMA)
        con.executemany("INSERT INTO users (name, password, home, mail, uid,"
                        " gid, nologin) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()
    os.chmod(path, 0o644)


def run_ids():
    """uid and gid names the server's user resolves (nobody/nogroup under
    root, else our own)."""
    uid = os.getuid() if os.geteuid() != 0 else pwd.getpwnam("nobody").pw_uid
    pw = pwd.getpwuid(uid)
    return pw.pw_name, grp.getgrgid(pw.pw_gid).gr_name


def setup():
    global S, LATE, DB
    rt.need_tool("curl")
    S = R.server(st.SqlServer("sql-sqlite"))
    DB = os.path.join(S.dir, "users.db")
    S.auth_config = auth_config(DB)
    home = S.home_root
    S.add_user("alice", "secret")
    S.add_user("carol@example.com", ARGON_PW)
    S.add_user("dave", CRYPT_PW)
    S.add_user("erin", "erinpw")
    S.add_user("nolo", "secret")
    S.add_user("baduid", "secret")
    S.add_user("dup", "secret")
    # erin's mail lives outside her home, with other messages.
    other = S.other_maildir("erin-mail", "erin", 3)

    argon = st.argon2id_hash(ARGON_PW)
    if argon is None:
        raise rt.SkipTest("libsodium cannot be loaded through ctypes")
    crypt = rt.sha512_crypt(CRYPT_PW) if rt.have_sha512_crypt() else None
    uname, gname = run_ids()
    make_db(DB, [
        ("alice", "{PLAIN}secret", home + "/alice", None, None, None, 0),
        ("carol@example.com", argon, home + "/carol@example.com", None,
         None, None, 0),
        ("dave", crypt, home + "/dave", None, None, None, 0),
        ("erin", "{PLAIN}erinpw", home + "/erin", "maildir:" + other, uname,
         gname, 0),
        ("nolo", "{PLAIN}secret", home + "/nolo", None, None, None, 1),
        ("baduid", "{PLAIN}secret", home + "/baduid", None,
         "no-such-user-roost-test", None, 0),
        ("dup", "{PLAIN}secret", home + "/dup", None, None, None, 0),
        ("dup", "{PLAIN}secret", home + "/dup", None, None, None, 0),
    ])
    S.start()

    LATE = R.server(st.SqlServer("sql-sqlite-late"))
    LATE.auth_config = auth_config(os.path.join(LATE.dir, "late.db"))
    LATE.add_user("alice", "secret")
    LATE.start()


def file_state(path):
    """The database file's hash and the names next to it (a journal or WAL
    file would mean somebody wrote)."""
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return digest, sorted(n for n in os.listdir(os.path.dirname(path))
                          if n.startswith(os.path.basename(path)))


@R.test
def plain_login_serves_home_maildir():
    S.reset_mailbox("alice")
    st.assert_stat_is_maildir(S, "alice", "secret", S.users["alice"].maildir)


@R.test
def argon2id_login():
    S.reset_mailbox("carol@example.com")
    st.assert_stat_is_maildir(S, "carol@example.com", ARGON_PW,
                              S.users["carol@example.com"].maildir)
    rt.assert_eq(st.user_pass(S, "carol@example.com", "argon pass phrasE"),
                 st.AUTH_FAILED, "ARGON2ID user with a wrong password")


@R.test
def default_scheme_reads_unprefixed_crypt():
    if not rt.have_sha512_crypt():
        raise rt.SkipTest("Python's crypt module cannot make SHA512-CRYPT")
    st.assert_stat_is_maildir(S, "dave", CRYPT_PW, S.users["dave"].maildir)
    rt.assert_eq(st.user_pass(S, "dave", "wrong"), st.AUTH_FAILED,
                 "dave with a wrong password")


@R.test
def failures_look_alike():
    wrong = st.user_pass(S, "alice", "Secret")
    unknown = st.user_pass(S, "nosuchuser", "secret")
    nologin = st.user_pass(S, "nolo", "secret")
    rt.assert_eq(wrong, st.AUTH_FAILED, "wrong password")
    rt.assert_eq(unknown, wrong, "unknown user (same answer as a wrong "
                 "password)")
    rt.assert_eq(nologin, wrong, "nologin user with the right password")
    rt.assert_true("account has nologin set" in S.log_text(),
                   "the log says why nolo was refused")


@R.test
def mail_and_ids_from_user_query():
    other = os.path.join(S.dir, "erin-mail")
    st.assert_stat_is_maildir(S, "erin", "erinpw", other)


@R.test
def bad_uid_is_temporary_failure():
    st.assert_temp_failure(S, "baduid", "secret", "column 'uid'")


@R.test
def two_rows_are_an_error():
    st.assert_temp_failure(S, "dup", "secret", "more than one row")


@R.test
def curl_auth_plain():
    st.assert_curl_listing(S, "carol@example.com", ARGON_PW)


@R.test
def hostile_names_change_nothing():
    st.assert_hostile_names_change_nothing(S, "sqlite", lambda: file_state(DB),
                                           "alice", "secret")


@R.test
def database_created_after_start():
    st.assert_temp_failure(LATE, "alice", "secret", "passdb sqlite: "
                           "password_query: stat(%s/late.db) failed"
                           % LATE.dir)
    make_db(os.path.join(LATE.dir, "late.db"), [
        ("alice", "{PLAIN}secret", LATE.home_root + "/alice", None, None,
         None, 0)])
    st.assert_stat_is_maildir(LATE, "alice", "secret",
                              LATE.users["alice"].maildir)


@R.test
def variable_in_literal_is_config_error():
    bad = st.SqlServer("sql-sqlite-bad")
    try:
        bad.auth_config = auth_config(
            os.path.join(bad.dir, "x.db"),
            password_query="SELECT password FROM users WHERE name = '%{user}'")
        # Nothing can log in with this config: do not wait for logins.
        bad.wait_ready = lambda: None
        bad.start()
        with open(bad.conf) as f:
            line = [i + 1 for i, text in enumerate(f)
                    if text.startswith("passdb sqlite")][0]
        want = ("passdb sqlite (%s:%d): sqlite: password_query: offset 41: "
                "%%{user} inside a string literal" % (bad.conf, line))
        rt.assert_true(bad.wait_log(want), "the log names the section's "
                       "file and line and the literal:\n%s" % bad.log_tail())
        bad.stop()
    finally:
        bad.cleanup()


R.main(setup)
