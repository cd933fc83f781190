#!/usr/bin/env python3
"""Login mechanisms that prove a secret without sending it: CRAM-MD5 (curl,
mpop and a raw client), SCRAM-SHA-256 (a client written here with hashlib
and hmac, and mpop), APOP (poplib); auth_mechanisms decides what CAPA lists
and whether the greeting carries an APOP timestamp; credential mechanisms
are dropped when the passdb cannot provide credentials; a stored hash that
cannot serve a mechanism fails cleanly; ssl = required applies to them."""

import base64
import ctypes
import ctypes.util
import hashlib
import hmac
import os
import poplib
import re
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_auth_mechs")
ALL = "plain login cram-md5 scram-sha-256 apop"
SASL_ALL = ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"]
M = None      # every mechanism
D = None      # the defaults (plain login)
Q = None      # every mechanism asked for, but a passdb without credentials
T = None      # ssl = required, no loopback exemption
SCRAM_ITERATIONS = 4096
FAILED = b"-ERR [AUTH] Authentication failed.\r\n"


class NoCredentialsServer(rt.Server):
    """The passdb is PAM, which has no lookup_credentials."""

    def config_text(self):
        text = super().config_text()
        line = "passdb passwd-file { path = %s }" % self.passwd
        return text.replace(line, "passdb pam { service = roost-test-nonexistent }")


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def scram_stored(password, salt, iterations=SCRAM_ITERATIONS):
    """Dovecot's {SCRAM-SHA-256} form: ITERATIONS,SALT,STOREDKEY,SERVERKEY."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return "{SCRAM-SHA-256}%d,%s,%s,%s" % (iterations, b64(salt),
                                           b64(hashlib.sha256(client_key).digest()),
                                           b64(server_key))


def argon2id_stored(password):
    """{ARGON2ID} as libsodium (and doveadm pw) writes it, or None."""
    name = ctypes.util.find_library("sodium")
    if not name:
        return None
    lib = ctypes.CDLL(name)
    if lib.sodium_init() < 0:
        return None
    out = ctypes.create_string_buffer(128)     # crypto_pwhash_STRBYTES
    pw = password.encode()
    lib.crypto_pwhash_str.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                      ctypes.c_ulonglong, ctypes.c_ulonglong,
                                      ctypes.c_size_t]
    if lib.crypto_pwhash_str(out, pw, len(pw), 2, 64 * 1024 * 1024) != 0:
        return None
    return "{ARGON2ID}" + out.value.decode()


def set_stored(srv, name, stored):
    """Replaces the stored password of name in the passwd-file."""
    u = srv.users[name]
    u.passwd_line = lambda: "%s:%s::::%s::\n" % (name, stored, u.home)
    srv.write_passwd()


def setup():
    global M, D, Q, T
    M = R.server(rt.Server("mechs", extra_config='auth_mechanisms = "%s"' % ALL))
    M.add_user("alice", "secret")
    M.add_user("sam", "scram pw", messages=[])
    M.add_user("argo", "argon pw", messages=[])
    set_stored(M, "sam", scram_stored("scram pw", os.urandom(16)))
    argon = argon2id_stored("argon pw")
    if argon is not None:
        set_stored(M, "argo", argon)
    else:
        del M.users["argo"]
        M.write_passwd()
    M.start()
    D = R.server(rt.Server("mechs-default"))
    D.add_user("alice", "secret")
    D.start()
    T = R.server(rt.Server("mechs-required", ssl_mode="required",
                           exempt_loopback=False,
                           extra_config='auth_mechanisms = "%s"' % ALL))
    T.add_user("alice", "secret")
    T.start()
    if os.path.exists(os.path.join(rt.MODULE_DIR, "auth_pam.la")):
        Q = R.server(NoCredentialsServer(
            "mechs-nocred", extra_config='auth_mechanisms = "plain cram-md5 apop"'))
        Q.add_user("alice", "secret")
        Q.start()


def capa(srv, tls=False):
    c = srv.raw(tls)
    try:
        status, data = c.cmd_multi("CAPA")
        rt.assert_ok(status, "CAPA")
        c.cmd("QUIT")
    finally:
        c.close()
    return {line.split(b" ")[0].decode(): line.decode().split(" ")[1:]
            for line in data.split(b"\r\n") if line}


def greeting(srv):
    c = srv.raw()
    try:
        g = c.greeting
        c.cmd("QUIT")
    finally:
        c.close()
    return g


def log_text(srv):
    with open(srv.logfile, "rb") as f:
        return f.read().decode(errors="replace")


def cram_md5(c, user, password):
    r = c.cmd("AUTH CRAM-MD5")
    if not r.startswith(b"+ "):
        return r
    challenge = base64.b64decode(r[2:].strip())
    rt.assert_true(re.match(rb"^<[^<>@ ]+@[^<> ]+>$", challenge) is not None,
                   "CRAM-MD5 challenge is a msg-id: %r" % challenge)
    digest = hmac.new(password.encode(), challenge, hashlib.md5).hexdigest()
    return c.cmd(b64("%s %s" % (user, digest)))


def scram(c, user, password):
    """RFC 5802 / 7677 client. Returns the final reply line."""
    nonce = b64(os.urandom(18))
    first_bare = "n=%s,r=%s" % (user.replace("=", "=3D").replace(",", "=2C"), nonce)
    r = c.cmd("AUTH SCRAM-SHA-256 " + b64("n,," + first_bare))
    if not r.startswith(b"+ "):
        return r
    server_first = base64.b64decode(r[2:].strip()).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    rt.assert_true(attrs["r"].startswith(nonce) and len(attrs["r"]) > len(nonce),
                   "server nonce extends ours: %r" % server_first)
    iterations = int(attrs["i"])
    rt.assert_true(iterations >= SCRAM_ITERATIONS, "iterations %d" % iterations)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(),
                                 base64.b64decode(attrs["s"]), iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    final_bare = "c=biws,r=" + attrs["r"]
    auth_message = ",".join([first_bare, server_first, final_bare]).encode()
    signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message,
                         hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    r = c.cmd(b64(final_bare + ",p=" + b64(proof)))
    if not r.startswith(b"+ "):
        return r
    server_final = base64.b64decode(r[2:].strip()).decode()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    expected = "v=" + b64(hmac.new(server_key, auth_message, hashlib.sha256).digest())
    rt.assert_eq(server_final, expected, "SCRAM server signature")
    return c.cmd("")


def user_pass(c, user, password):
    rt.assert_ok(c.cmd("USER " + user), "USER " + user)
    return c.cmd("PASS " + password)


def with_client(srv, fn, *args):
    srv.wait_unlocked(args[0]) if args[0] in srv.users else None
    c = srv.raw()
    try:
        r = fn(c, *args)
        if r.startswith(b"+OK"):
            rt.assert_ok(c.cmd("STAT"), "STAT after %s" % fn.__name__)
            c.cmd("QUIT")
        return r
    finally:
        c.close()


# ---------------------------------------------------------------------------
# what is offered

@R.test
def capa_lists_exactly_the_configured_mechanisms():
    for tls in (False, True):
        rt.assert_eq(capa(M, tls).get("SASL"), SASL_ALL, "SASL line (tls=%s)" % tls)
    rt.assert_eq(capa(D).get("SASL"), ["PLAIN", "LOGIN"], "SASL line with the defaults")
    # RFC 2449: the same list after login (the mail worker computes it).
    p = M.login("alice")
    try:
        after = p.capa()
        rt.assert_eq(after.get("SASL"), SASL_ALL, "SASL line after login")
        p.quit()
    finally:
        p.close()


@R.test
def apop_timestamp_only_with_apop():
    g1, g2 = greeting(M), greeting(M)
    pat = rb"^\+OK .* <(\d+)\.([0-9a-f]+)@([^<>@ ]+)>\r\n$"
    m1, m2 = re.match(pat, g1), re.match(pat, g2)
    rt.assert_true(m1 is not None and m2 is not None, "greetings with APOP: %r %r" % (g1, g2))
    rt.assert_true(g1 != g2, "two greetings share a timestamp: %r" % g1)
    rt.assert_true(b"<" not in greeting(D), "no timestamp without APOP: %r" % greeting(D))
    c = D.raw()
    try:
        rt.assert_err(c.cmd("APOP alice " + "0" * 32), "APOP without APOP enabled")
    finally:
        c.close()


@R.test
def credential_mechanisms_dropped_without_credentials():
    if Q is None:
        raise rt.SkipTest("the PAM module is not built")
    rt.assert_eq(capa(Q).get("SASL"), ["PLAIN"], "SASL line with a PAM passdb")
    rt.assert_true(b"<" not in greeting(Q), "no APOP timestamp with a PAM passdb")
    rt.assert_true(re.search(r"auth_mechanisms: CRAM-MD5 APOP dropped", log_text(Q)),
                   "one warning names the dropped mechanisms")
    c = Q.raw()
    try:
        rt.assert_err(c.cmd("AUTH CRAM-MD5"), "AUTH CRAM-MD5 when dropped")
    finally:
        c.close()


@R.test
def unknown_mechanism_is_a_config_error():
    conf = os.path.join(M.dir, "bad.conf")
    text = M.config_text().replace('auth_mechanisms = "%s"' % ALL,
                                   "auth_mechanisms = plain,digest-md5")
    with open(conf, "w") as f:
        f.write(text)
    line = text.splitlines().index("auth_mechanisms = plain,digest-md5") + 1
    r = subprocess.run([rt.ROOST, "-n", "-c", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    out = r.stdout.decode(errors="replace")
    rt.assert_true(r.returncode != 0, "roost -n accepted an unknown mechanism")
    rt.assert_true("bad.conf:%d: unknown mechanism 'digest-md5'" % line in out,
                   "error names file:line and the word: %r" % out)


# ---------------------------------------------------------------------------
# CRAM-MD5

@R.test
def cram_md5_raw_client():
    rt.assert_ok(with_client(M, cram_md5, "alice", "secret"), "CRAM-MD5 alice")
    wrong = with_client(M, cram_md5, "alice", "wrong")
    unknown = with_client(M, cram_md5, "nosuchuser", "secret")
    rt.assert_eq(wrong, FAILED, "CRAM-MD5 wrong password")
    rt.assert_eq(unknown, FAILED, "CRAM-MD5 unknown user (same answer)")


@R.test
def cram_md5_curl():
    curl = rt.need_tool("curl")
    M.wait_unlocked("alice")
    url = "pop3://127.0.0.1:%d/" % M.pop3_port
    base = [curl, "-s", "-S", "--max-time", "15", "--login-options", "AUTH=CRAM-MD5"]
    r = subprocess.run(base + ["-u", "alice:secret", url], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    rt.assert_eq(r.returncode, 0, "curl AUTH=CRAM-MD5: %s" % r.stderr.decode(errors="replace"))
    rt.assert_eq(len(r.stdout.splitlines()), len(rt.sample_messages("alice")),
                 "curl's listing over CRAM-MD5")
    r = subprocess.run(base + ["-u", "alice:wrong", url], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    rt.assert_eq(r.returncode, 67, "curl with a wrong password (login denied)")


def mpop_run(srv, user, password, auth, tag):
    mpop = shutil.which("mpop")
    if not mpop:
        raise rt.SkipTest("mpop is not installed")
    work = os.path.join(srv.dir, "mpop-%s-%s-%s" % (user, auth, tag))
    out = os.path.join(work, "Maildir")
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    conf = os.path.join(work, "mpoprc")
    with open(conf, "w") as f:
        f.write("\n".join(["defaults", "timeout 30", "received_header off",
                           "account test", "host 127.0.0.1",
                           "port %d" % srv.pop3_port, "tls off",
                           "user " + user, "password " + password,
                           "auth " + auth, "keep on",
                           "delivery maildir " + out,
                           "uidls_file " + os.path.join(work, "uidls")]) + "\n")
    os.chmod(conf, stat.S_IRUSR | stat.S_IWUSR)
    srv.wait_unlocked(user) if user in srv.users else None
    r = subprocess.run([mpop, "--file=" + conf, "test"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=60)
    got = len(os.listdir(os.path.join(out, "new")))
    return r.returncode, r.stdout.decode(errors="replace"), got


@R.test
def cram_md5_and_scram_with_mpop():
    for auth in ("cram-md5", "scram-sha-256"):
        rc, out, got = mpop_run(M, "alice", "secret", auth, "right")
        rt.assert_eq(rc, 0, "mpop --auth=%s: %s" % (auth, out))
        rt.assert_eq(got, len(rt.sample_messages("alice")), "messages mpop fetched (%s)" % auth)
        rc, out, got = mpop_run(M, "alice", "wrong", auth, "wrong")
        rt.assert_true(rc != 0 and got == 0, "mpop --auth=%s with a wrong password: %s"
                       % (auth, out))


# ---------------------------------------------------------------------------
# SCRAM-SHA-256

@R.test
def scram_with_plain_and_scram_stored_passwords():
    rt.assert_ok(with_client(M, scram, "alice", "secret"), "SCRAM, {PLAIN} stored")
    rt.assert_ok(with_client(M, scram, "sam", "scram pw"), "SCRAM, {SCRAM-SHA-256} stored")


@R.test
def scram_wrong_password_and_unknown_user_look_the_same():
    wrong = with_client(M, scram, "sam", "wrong")
    unknown = with_client(M, scram, "nosuchuser", "scram pw")
    rt.assert_eq(wrong, FAILED, "SCRAM wrong password")
    rt.assert_eq(unknown, FAILED, "SCRAM unknown user")


@R.test
def scram_stored_user_can_still_use_pass():
    # A {SCRAM-SHA-256} hash verifies a plaintext too (PBKDF2 of it).
    rt.assert_ok(with_client(M, user_pass, "sam", "scram pw"),
                 "PASS against a {SCRAM-SHA-256} hash")


# ---------------------------------------------------------------------------
# APOP

@R.test
def apop_with_poplib():
    M.wait_unlocked("alice")
    p = M.pop("plain")
    try:
        p.apop("alice", "secret")
        rt.assert_eq(p.stat()[0], len(rt.sample_messages("alice")), "STAT after APOP")
        p.quit()
    finally:
        p.close()
    answers = []
    for user, password in (("alice", "wrong"), ("nosuchuser", "secret")):
        p = M.pop("plain")
        try:
            p.apop(user, password)
            raise AssertionError("APOP %s with a wrong secret succeeded" % user)
        except poplib.error_proto as e:
            answers.append(e.args[0])
        finally:
            p.close()
    rt.assert_eq(answers[0], FAILED.strip(), "APOP wrong password")
    rt.assert_eq(answers[1], answers[0], "APOP unknown user (same answer)")


@R.test
def apop_malformed_arguments():
    c = M.raw()
    try:
        for args in ("", "alice", "alice xyz", "alice " + "g" * 32, " " + "0" * 32):
            rt.assert_eq(c.cmd("APOP " + args), b"-ERR Invalid APOP arguments.\r\n",
                         "APOP %r" % args)
        rt.assert_err(c.cmd("AUTH APOP"), "APOP is no SASL mechanism")
    finally:
        c.close()


# ---------------------------------------------------------------------------
# stored hashes that cannot serve a mechanism, and ssl = required

@R.test
def argon2id_user_fails_cram_md5_cleanly():
    if "argo" not in M.users:
        raise rt.SkipTest("libsodium not found through ctypes")
    mark = len(log_text(M))
    rt.assert_eq(with_client(M, cram_md5, "argo", "argon pw"), FAILED,
                 "CRAM-MD5 against an {ARGON2ID} hash")
    rt.assert_eq(with_client(M, scram, "argo", "argon pw"), FAILED,
                 "SCRAM against an {ARGON2ID} hash")
    rt.assert_true("cannot serve CRAM-MD5" in log_text(M)[mark:],
                   "the log says why the proof could not be checked")
    rt.assert_ok(with_client(M, user_pass, "argo", "argon pw"),
                 "PASS still works for {ARGON2ID}")


@R.test
def ssl_required_applies_to_every_mechanism():
    c = T.raw()
    try:
        rt.assert_true(re.search(rb"<[^<>]+>\r\n$", c.greeting) is not None,
                       "APOP timestamp in the greeting: %r" % c.greeting)
        rt.assert_true("SASL" not in dict((l.split(b" ")[0].decode(), 1) for l in
                                          c.cmd_multi("CAPA")[1].split(b"\r\n") if l),
                       "no SASL before TLS with ssl = required")
        for line in ("AUTH CRAM-MD5", "AUTH SCRAM-SHA-256 " + b64("n,,n=alice,r=abc"),
                     "AUTH PLAIN " + b64("\0alice\0secret"), "APOP alice " + "0" * 32):
            rt.assert_err(c.cmd(line), "%s without TLS" % line.split(" ")[0],
                          b"-ERR [AUTH] Plaintext authentication disallowed")
        c.starttls(T.client_context())
        rt.assert_eq(cram_md5(c, "alice", "secret")[:3], b"+OK", "CRAM-MD5 after STLS")
        c.cmd("QUIT")
    finally:
        c.close()


if __name__ == "__main__":
    R.main(setup)
