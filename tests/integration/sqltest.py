"""Helpers shared by the SQL passdb/userdb tests (test_sql_sqlite.py,
test_sql_pgsql.py): a roost Server whose passdb/userdb sections come from
the test, the hostile user names both drivers must survive, Argon2id
hashes from libsodium, and login probes that return the server's reply.
"""

import base64
import ctypes
import ctypes.util
import os
import subprocess
import time

import roosttest as rt

AUTH_FAILED = b"-ERR [AUTH] Authentication failed."
SYS_TEMP = b"-ERR [SYS/TEMP]"
# auth/sasl.h: longer names are refused as malformed before any lookup.
SASL_USER_MAX = 255

# Names that would change the query if they were spliced into it, or
# that stress the path from the client to the bound parameter.
HOSTILE_NAMES = [
    "' OR '1'='1",
    "alice' OR '1'='1",
    "x'; DROP TABLE users; --",
    "alice'--",
    '" OR ""="',
    "%",
    "%%",
    "_",
    "%{user}",
    "%{user}' OR name LIKE '%",
    "?1",
    "$1",
    "\\",
    "a" * 300,
]


class SqlServer(rt.Server):
    """A roost server whose passdb/userdb sections are auth_config instead
    of the harness's passwd-file ones (users are still added with
    add_user() for their maildirs)."""

    def __init__(self, name, auth_config="", **kw):
        super().__init__(name, **kw)
        self.auth_config = auth_config

    def config_text(self):
        lines = [line for line in super().config_text().splitlines()
                 if not line.startswith(("passdb passwd-file",
                                         "userdb passwd-file"))]
        return "\n".join(lines + [self.auth_config]) + "\n"

    def other_maildir(self, dirname, user, count):
        """A maildir S.dir/dirname outside any home with count messages
        for user (a userdb `mail` column points there); returns its
        path."""
        path = os.path.join(self.dir, dirname)
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(path, sub))
        for i in range(count):
            with open(os.path.join(path, "new", "17000000%02d.M1P1.x" % i),
                      "wb") as f:
                f.write(rt.make_message(user, b"elsewhere",
                                        b"body %d\n" % i, i))
        self.chown(path)
        return path

    def wait_log(self, text, timeout=rt.START_TIMEOUT):
        """True once text appears in the server log (within timeout)."""
        deadline = time.monotonic() + timeout
        while text not in self.log_text():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def log_text(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""


def conf_quote(value):
    """value as a double-quoted config string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def argon2id_hash(password):
    """'{ARGON2ID}$argon2id$...' made by libsodium (the library Roost
    verifies with), or None when libsodium cannot be loaded."""
    name = ctypes.util.find_library("sodium")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    if lib.sodium_init() < 0:
        return None
    lib.crypto_pwhash_str_alg.argtypes = [
        ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong,
        ctypes.c_ulonglong, ctypes.c_size_t, ctypes.c_int]
    out = ctypes.create_string_buffer(lib.crypto_pwhash_strbytes())
    pw = password.encode()
    if lib.crypto_pwhash_str_alg(
            out, pw, len(pw), lib.crypto_pwhash_opslimit_interactive(),
            lib.crypto_pwhash_memlimit_interactive(),
            lib.crypto_pwhash_alg_argon2id13()) != 0:
        return None
    return "{ARGON2ID}" + out.value.decode()


def user_pass(srv, name, password):
    """The reply to USER name / PASS password (the USER reply when that
    already failed); the session is closed."""
    c = srv.raw()
    try:
        if isinstance(name, str):
            name = name.encode()
        r = c.cmd(b"USER " + name)
        if r.startswith(b"+OK"):
            r = c.cmd(b"PASS " + password.encode())
        if r.startswith(b"+OK"):
            c.cmd("QUIT")
        return r.rstrip(b"\r\n")
    finally:
        c.close()


def auth_plain(srv, raw_message):
    """The reply to AUTH PLAIN with raw_message (bytes: authzid NUL authcid
    NUL password, or anything else) as the initial response."""
    c = srv.raw()
    try:
        r = c.cmd(b"AUTH PLAIN " + base64.b64encode(raw_message))
        if r.startswith(b"+OK"):
            c.cmd("QUIT")
        return r.rstrip(b"\r\n")
    finally:
        c.close()


def assert_stat_is_maildir(srv, name, password, maildir):
    """Logs in with poplib and checks STAT against the files in maildir."""
    expected = []
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        for n in os.listdir(d):
            with open(os.path.join(d, n), "rb") as f:
                expected.append(rt.pop3_size(f.read()))
    srv.wait_unlocked(name)
    p = srv.pop()
    try:
        p.user(name)
        p.pass_(password)
        count, octets = p.stat()
        p.quit()
    except BaseException:
        p.close()
        raise
    rt.assert_eq((count, octets), (len(expected), sum(expected)),
                 "STAT of %s (the maildir %s)" % (name, maildir))


def assert_hostile_names_fail(srv, password):
    """Every hostile name, through USER/PASS and AUTH PLAIN, gets the
    plain authentication failure: not [SYS/TEMP] (the query ran and found
    nobody) and never +OK."""
    for name in HOSTILE_NAMES:
        r = user_pass(srv, name, password)
        rt.assert_true(r.startswith(b"-ERR") and not r.startswith(SYS_TEMP),
                       "USER/PASS as %r: %r" % (name[:40], r))
        r = auth_plain(srv, b"\0" + name.encode() + b"\0" + password.encode())
        if len(name) <= SASL_USER_MAX:
            rt.assert_eq(r, AUTH_FAILED, "AUTH PLAIN as %r" % name[:40])
        else:
            rt.assert_true(r.startswith(b"-ERR") and
                           not r.startswith(SYS_TEMP),
                           "AUTH PLAIN as %r...: %r" % (name[:40], r))
    # A NUL inside the name: "alice\0x" must not become "alice".
    for msg in (b"\0alice\0x\0" + password.encode(),
                b"\0alice\0\0" + password.encode(),
                b"alice\0alice\0" + password.encode() + b"\0"):
        r = auth_plain(srv, msg)
        rt.assert_true(r.startswith(b"-ERR") and not r.startswith(SYS_TEMP),
                       "AUTH PLAIN with a NUL in the name (%r): %r" % (msg, r))


def assert_temp_failure(srv, name, password, log_says):
    """The login gets [SYS/TEMP] and the log says log_says."""
    r = user_pass(srv, name, password)
    rt.assert_true(r.startswith(SYS_TEMP), "login as %s: %r" % (name, r))
    rt.assert_true(log_says in srv.log_text(), "the log of %s lacks %r"
                   % (srv.name, log_says))


def assert_curl_listing(srv, name, password):
    """curl with AUTH PLAIN lists name's mailbox as it is on disk."""
    curl = rt.need_tool("curl")
    srv.reset_mailbox(name)
    disk = srv.disk_messages(name)
    srv.wait_unlocked(name)
    r = subprocess.run([curl, "-s", "-S", "--max-time", "15",
                        "--login-options", "AUTH=PLAIN",
                        "-u", "%s:%s" % (name, password),
                        "pop3://127.0.0.1:%d/" % srv.pop3_port],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    rt.assert_eq(r.returncode, 0, "curl exit code (%s)"
                 % r.stderr.decode(errors="replace"))
    sizes = sorted(int(line.split()[1]) for line in r.stdout.splitlines())
    rt.assert_eq(sizes, sorted(rt.pop3_size(d) for d in disk.values()),
                 "curl's listing of %s's mailbox" % name)


def assert_hostile_names_change_nothing(srv, module, snapshot, name,
                                        password):
    """The hostile names fail cleanly (assert_hostile_names_fail with
    name's password), snapshot() of the database is the same afterwards,
    no internal error was logged, roost still runs and name still logs
    in."""
    before = snapshot()
    errors = "passdb %s:" % module
    errors_before = srv.log_text().count(errors)
    assert_hostile_names_fail(srv, password)
    rt.assert_eq(snapshot(), before, "the database after the hostile logins")
    rt.assert_eq(srv.log_text().count(errors), errors_before,
                 "internal errors logged for hostile names")
    rt.assert_true(srv.proc.poll() is None, "roost is still running")
    srv.wait_unlocked(name)
    rt.assert_true(user_pass(srv, name, password).startswith(b"+OK"),
                   "%s still logs in" % name)
