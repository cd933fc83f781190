#!/usr/bin/env python3
"""The TLS private key lives only in the key processes (one per login
process, core/tls-key-server.h), never in a login process or any other
process of the server: TLS logins work through them (POP3S and STLS), the
key's secret is found in a key process's memory and in no other process's,
a killed key process has its slot replaced, a killed login process takes
its key process with it, a reload replaces them all, a key that does not
match its certificate is refused at start and at reload, and no key
process outlives the server.

The memory search reads /proc/PID/mem: the key processes are undumpable
(PR_SET_DUMPABLE 0), so reading theirs needs root (the usual way to run
these tests: the server itself then runs as ROOST_TEST_USER); as another
user that one check is skipped with the reason."""

import base64
import functools
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import hostile_common as hc  # noqa: E402

R = rt.Runner("test_tls_key_isolation")
S = None
LOGIN_PROCESSES = 2
# Every key process this test has seen: none may be alive after the stop.
SEEN_KEYS = set()
# A replaced pair waits out the master's restart back-off first.
wait_for = functools.partial(rt.wait_for, timeout=15.0)


def certtool_section(key_path, name):
    """The hex field 'name:' of `certtool -k` (e.g. prime1, private key) as
    big-endian bytes without the sign byte."""
    out = subprocess.run([rt.need_tool("certtool"), "-k", "--infile", key_path],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         check=True).stdout.decode()
    m = re.search(r"^%s:\s*\n((?:\s+[0-9a-f:]+\n)+)" % re.escape(name), out, re.M)
    if m is None:
        raise AssertionError("no '%s' in certtool -k output:\n%s" % (name, out))
    data = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1)))
    return data.lstrip(b"\0")


def gen_rsa_cert(directory):
    """A 2048-bit RSA key and its self-signed certificate; returns
    (cert, key, the prime p)."""
    certtool = rt.need_tool("certtool")
    key = os.path.join(directory, "rsa-key.pem")
    cert = os.path.join(directory, "rsa-cert.pem")
    tmpl = os.path.join(directory, "rsa-cert.tmpl")
    with open(tmpl, "w") as f:
        f.write("cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\n"
                "expiration_days = 30\ntls_www_server\nsigning_key\n"
                "encryption_key\n")
    for args in (["--generate-privkey", "--key-type=rsa", "--bits=2048",
                  "--outfile", key],
                 ["--generate-self-signed", "--load-privkey", key,
                  "--template", tmpl, "--outfile", cert]):
        subprocess.run([certtool] + args, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
    return cert, key, certtool_section(key, "prime1")


def pem_body_line(key_path):
    """A base64 line from the middle of a PEM file, as the bytes that a
    copy of the file's text would hold."""
    with open(key_path, "rb") as f:
        lines = [l for l in f.read().splitlines() if l and not l.startswith(b"-----")]
    return lines[len(lines) // 2]


def role_pids(srv, role, retiring=False):
    """Live children with this process title (retiring login processes
    only when retiring is true)."""
    out = []
    for pid in srv.children():
        t = hc.title_of(pid)
        if not t or not rt.pid_alive(pid) or t.split(" ")[0] != role:
            continue
        if retiring or "retiring" not in t:
            out.append(pid)
    return out


def key_pids(srv):
    pids = role_pids(srv, "roost-key")
    SEEN_KEYS.update(pids)
    return pids


# Mappings larger than this are skipped: only AddressSanitizer's shadow
# memory (terabytes, reserved but mostly untouched) is that large; the
# heap it allocates from consists of smaller mappings.
MAPPING_SEARCH_MAX = 1 << 32
# Read this much at a time, so that a large mapping needs no large buffer.
READ_CHUNK = 16 << 20


def memory_has(pid, needles):
    """({needle name: 'BE'/'LE'/None}, bytes searched): where each needle
    (bytes) occurs in the readable memory of pid, big-endian or
    byte-reversed (GMP keeps limbs little-endian on x86-64)."""
    found = {name: None for name in needles}
    patterns = [(name, tag, n) for name, needle in needles.items()
                for tag, n in (("BE", needle), ("LE", needle[::-1]))]
    overlap = max(len(n) for _, _, n in patterns) - 1
    searched = 0
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read().splitlines()
    with open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if (fields[1][0] != "r" or line.endswith(("[vvar]", "[vsyscall]"))
                    or end - start > MAPPING_SEARCH_MAX):
                continue
            tail = b""
            for at in range(start, end, READ_CHUNK):
                try:
                    mem.seek(at)
                    data = tail + mem.read(min(READ_CHUNK, end - at))
                except OSError:
                    break
                searched += len(data) - len(tail)
                for name, tag, n in patterns:
                    if found[name] is None and n in data:
                        found[name] = tag
                tail = data[-overlap:] if overlap else b""
    return found, searched


def tls_logins(n=6):
    """n TLS logins, alternating POP3S and STLS, each with a command."""
    for i in range(n):
        mode = ("pop3s", "stls")[i % 2]
        p = S.login("alice", mode)
        try:
            count, _ = p.stat()
            rt.assert_true(count >= 0, "STAT over %s" % mode)
        finally:
            p.quit()


def setup():
    global S
    S = R.server(rt.Server("tlskey", extra_config="login_processes = %d\n"
                           % LOGIN_PROCESSES))
    S.cert, S.key, S.secret = gen_rsa_cert(S.dir)
    S.add_user("alice", "secret")
    S.start()


@R.test
def tls_logins_work_through_key_processes():
    keys = wait_for(lambda: key_pids(S) if len(key_pids(S)) == LOGIN_PROCESSES else None,
                    "%d key processes" % LOGIN_PROCESSES)
    rt.assert_eq(len(role_pids(S, "roost-login")), LOGIN_PROCESSES, "login processes")

    def switches():
        out = {}
        for pid in keys:
            with open("/proc/%d/status" % pid) as f:
                m = re.search(r"^voluntary_ctxt_switches:\s+(\d+)", f.read(), re.M)
            out[pid] = int(m.group(1))
        return out

    before = switches()
    tls_logins(10)
    after = switches()
    # A key process sleeps in recv() between requests: one that signed
    # for a handshake has woken up since.
    served = [pid for pid in keys if after[pid] > before[pid]]
    rt.log("key processes that signed: %s of %s" % (served, keys))
    rt.assert_true(served, "no key process was asked for a signature")


@R.test
def key_is_only_in_key_processes():
    tls_logins(2)   # the search is after handshakes, as the task asks
    needles = {"RSA prime p": S.secret, "PEM text": pem_body_line(S.key)}
    keys = key_pids(S)
    others = [S.proc.pid] + [p for p in S.children()
                             if rt.pid_alive(p) and p not in keys]
    rt.assert_true(len(others) >= 1 + LOGIN_PROCESSES, "processes to search: %s" % others)
    for pid in others:
        found, searched = memory_has(pid, needles)
        # Its heap at least: a search that read nothing proves nothing.
        rt.assert_true(searched > 100 * 1024, "%d bytes of pid %d read" % (searched, pid))
        rt.assert_eq(found, {name: None for name in needles},
                     "key material in %s (pid %d)" % (hc.title_of(pid), pid))
    try:
        found, _ = memory_has(keys[0], {"RSA prime p": S.secret})
    except PermissionError:
        if os.geteuid() == 0:
            raise
        raise rt.SkipTest("the key process is undumpable and this test does not "
                          "run as root: the search itself is not proven")
    rt.assert_true(found["RSA prime p"] is not None,
                   "the prime p in the key process %d (the search works)" % keys[0])
    rt.log("prime p found in the key process as %s" % found["RSA prime p"])


@R.test
def killed_key_process_is_replaced():
    keys = key_pids(S)
    victim = keys[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: (not rt.pid_alive(victim) and len(key_pids(S)) == LOGIN_PROCESSES
                      and len(role_pids(S, "roost-login")) == LOGIN_PROCESSES),
             "a new key process and login process for the slot")
    rt.assert_true(re.search(r"TLS key process %d of login process \d+ killed by signal 9"
                             % victim, S.log_text()),
                   "the replacement is logged")
    tls_logins(4)


@R.test
def killed_login_process_takes_its_key_process():
    # Let retired login processes (and their key processes) go first.
    wait_for(lambda: len(role_pids(S, "roost-login", retiring=True)) == LOGIN_PROCESSES
             and len(key_pids(S)) == LOGIN_PROCESSES, "a settled pool")
    keys = set(key_pids(S))
    login = role_pids(S, "roost-login")[0]
    os.kill(login, signal.SIGKILL)
    wait_for(lambda: len(keys - set(key_pids(S))) == 1, "the killed login's key process to exit")
    wait_for(lambda: len(key_pids(S)) == LOGIN_PROCESSES
             and len(role_pids(S, "roost-login")) == LOGIN_PROCESSES,
             "the slot restarted with a key process")
    tls_logins(4)


@R.test
def reload_replaces_key_processes():
    old = set(key_pids(S))
    os.kill(S.proc.pid, signal.SIGHUP)
    new = wait_for(lambda: set(key_pids(S)) if not (set(key_pids(S)) & old)
                   and len(key_pids(S)) == LOGIN_PROCESSES else None,
                   "%d new key processes and the old ones gone" % LOGIN_PROCESSES)
    rt.assert_eq(len(new), LOGIN_PROCESSES, "key processes after the reload")
    tls_logins(4)


@R.test
def mismatched_key_is_refused_at_reload_and_start():
    other = os.path.join(S.dir, "other-key.pem")
    subprocess.run([rt.need_tool("certtool"), "--generate-privkey", "--key-type=rsa",
                    "--bits=2048", "--outfile", other],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    S.chown(other)
    good = S.key
    keys = set(key_pids(S))
    S.key = other
    S.write_config()
    os.kill(S.proc.pid, signal.SIGHUP)
    wait_for(lambda: "Reload failed" in S.log_text(), "the reload to be refused")
    rt.assert_true(("cannot load ssl_cert %s / ssl_key %s" % (S.cert, other)) in S.log_text(),
                   "the refusal names both files")
    rt.assert_eq(set(key_pids(S)), keys, "key processes after a refused reload")
    tls_logins(2)
    # The same configuration at start: refused, with the same message.
    S.key = good
    conf = os.path.join(S.dir, "bad.conf")
    with open(conf, "w") as f:
        f.write(S.config_text().replace("ssl_key = %s" % good, "ssl_key = %s" % other)
                .replace("base_dir = %s" % S.base_dir,
                         "base_dir = %s" % os.path.join(S.dir, "run2")))
    S.chown(conf)
    kw = {}
    if S.run_uid is not None:
        kw = dict(user=S.run_uid, group=S.run_gid, extra_groups=[])
        os.makedirs(os.path.join(S.dir, "run2"), exist_ok=True)
        S.chown(os.path.join(S.dir, "run2"))
    r = subprocess.run([rt.ROOST, "-F", "-c", conf], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30, **kw)
    rt.assert_eq(r.returncode, 1, "exit status of a start with a mismatched key")
    rt.assert_true(("cannot load ssl_cert %s / ssl_key %s" % (S.cert, other)).encode()
                   in r.stdout, "start refusal names both files: %r" % r.stdout)
    S.write_config()


@R.test
def rsa_key_exchange_is_refused_with_a_reason():
    # The key process only signs: a priority that allows RSA key transport
    # gets such handshakes refused, and the log says why; the others work.
    srv = R.server(rt.Server("rsakx", extra_config="login_processes = 1\n"
                             "ssl_priority = NORMAL:-VERS-ALL:+VERS-TLS1.2:+RSA\n"))
    srv.cert, srv.key = S.cert, S.key
    srv.start()
    try:
        def gnutls_cli(priority):
            return subprocess.run(
                [rt.need_tool("gnutls-cli"), "--port", str(srv.pop3s_port),
                 "--x509cafile", srv.cert, "--priority", priority, "localhost"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, timeout=30)
        r = gnutls_cli("NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA")
        rt.assert_true(r.returncode != 0, "an RSA key exchange handshake succeeded")
        wait_for(lambda: "does not offer (it only signs)" in srv.log_text(),
                 "the reason in the log")
        r = gnutls_cli("NORMAL:-VERS-ALL:+VERS-TLS1.2")
        rt.assert_eq(r.returncode, 0, "ECDHE handshake: %s" % r.stdout.decode(errors="replace"))
    finally:
        srv.stop()


@R.test
def no_key_process_outlives_the_server():
    key_pids(S)
    S.stop()
    left = sorted(p for p in SEEN_KEYS if rt.pid_alive(p))
    rt.assert_eq(left, [], "key processes alive after the server stopped")
    rt.assert_true(len(SEEN_KEYS) >= 2 * LOGIN_PROCESSES + 2,
                   "key processes seen during the test: %s" % sorted(SEEN_KEYS))


if __name__ == "__main__":
    R.main(setup)
