"""Roost integration test harness.

Starts a real `roost -F` from the build tree in a private temporary
directory (self-signed certificate, passwd-file, maildirs with sample
messages, free loopback ports), and gives tests the helpers they need:
expected wire bytes computed from the files on disk, a raw POP3 client,
poplib logins, and a tiny test runner that prints the server log tail when
a test fails.

Environment:
  ROOST_BUILDDIR   build tree (make check sets it); default: SRCDIR/build
  ROOST_SRCDIR     source tree; default: two levels above this file
  ROOST_TEST_USER  when run as root, the user the unprivileged server runs
                   as (default: nobody). Root itself would start the
                   privilege-separated server, which test_privilege.py covers.
  ROOST_TEST_KEEP  set to keep the temporary directories
"""

import base64
import fcntl
import os
import poplib
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77

SRCDIR = os.environ.get("ROOST_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILDDIR = os.environ.get("ROOST_BUILDDIR") or os.path.join(SRCDIR, "build")
ROOST = os.path.join(BUILDDIR, "core", "roost")
MODULE_DIR = os.path.join(BUILDDIR, "modules")

TIMEOUT = 10          # seconds, for every socket and client
START_TIMEOUT = 15    # seconds until the server must accept
STOP_TIMEOUT = 5      # seconds until the server must exit after SIGTERM
LOCK_WAIT = 5         # seconds a previous session may hold the mailbox lock


class SkipTest(Exception):
    pass


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(SKIP)


def need_tool(name):
    path = shutil.which(name)
    if not path:
        skip("%s is not installed (contrib/deps installs it)" % name)
    return path


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------
# Expected bytes (RFC 1939 section 3, core/message-wire.h)

def wire(data):
    """Stored message -> the octets RETR sends before dot-stuffing: LF or
    CRLF line ends become CRLF, a lone CR stays, an unterminated last line
    gets CRLF. len(wire(data)) is the POP3 size."""
    out = bytearray()
    lines = data.split(b"\n")
    for line in lines[:-1]:
        if line.endswith(b"\r"):
            line = line[:-1]
        out += line + b"\r\n"
    if lines[-1]:
        out += lines[-1] + b"\r\n"
    return bytes(out)


def pop3_size(data):
    """The POP3 size (LIST, STAT) of a stored message in a maildir:
    len(wire(data)) without the CRLF that RETR adds after an unterminated
    last line, as Dovecot and Courier count (storage/storage.h)."""
    w = len(wire(data))
    return w - 2 if data and not data.endswith(b"\n") else w


def session_listing(p, delete=()):
    """[(uidl, LIST size, RETR bytes)] in message order over poplib
    session p; DELEs the given 1-based numbers, then QUITs."""
    uidls = [line.decode().split(" ", 1)[1] for line in p.uidl()[1]]
    sizes = [int(line.split()[1]) for line in p.list()[1]]
    assert_eq(len(uidls), len(sizes), "UIDL and LIST agree on the count")
    out = []
    for i, (u, s) in enumerate(zip(uidls, sizes), 1):
        _, lines, _ = p.retr(i)
        out.append((u, s, b"".join(line + b"\r\n" for line in lines)))
    for n in delete:
        p.dele(n)
    p.quit()
    return out


def wire_lines(data):
    """wire(data) as a list of lines without their CRLF."""
    w = wire(data)
    return w[:-2].split(b"\r\n") if w else []


def top_wire(data, n):
    """What TOP msg n sends before dot-stuffing: the header, the blank line
    and n body lines."""
    lines = wire_lines(data)
    try:
        blank = lines.index(b"")
    except ValueError:
        return wire(data)
    keep = lines[:blank + 1 + n]
    return b"".join(line + b"\r\n" for line in keep)


def stuff(w):
    """Dot-stuffs CRLF data (as it goes on the wire, without the final
    '.' line)."""
    if not w:
        return w
    lines = w[:-2].split(b"\r\n")
    return b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n"
                    for line in lines)


def unstuff(raw):
    lines = raw[:-2].split(b"\r\n") if raw else []
    return b"".join((line[1:] if line.startswith(b".") else line) + b"\r\n"
                    for line in lines)


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def assert_bytes(actual, expected, what):
    if actual == expected:
        return
    i = first_diff(actual, expected)
    raise AssertionError(
        "%s: %d octets received, %d expected; first difference at offset %d:"
        "\n  got      %r\n  expected %r"
        % (what, len(actual), len(expected), i,
           actual[max(0, i - 20):i + 40], expected[max(0, i - 20):i + 40]))


def assert_eq(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s: got %r, expected %r" % (what, actual,
                                                          expected))


def assert_true(cond, what):
    if not cond:
        raise AssertionError(what)


def assert_err(reply, what, prefix=b"-ERR"):
    if isinstance(reply, str):
        reply = reply.encode()
    if not reply.startswith(prefix):
        raise AssertionError("%s: expected a reply starting with %r, got %r"
                             % (what, prefix, reply))


def assert_ok(reply, what):
    assert_err(reply, what, b"+OK")


def wait_for(cond, what, timeout=10.0):
    """Polls cond() until it returns something true, and returns that;
    AssertionError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))


# ---------------------------------------------------------------------------
# Sample mail

HDR = (b"From: Sender <sender@example.org>\n"
       b"To: %s@example.test\n"
       b"Subject: %s\n"
       b"Date: Mon, 1 Jan 2024 10:00:%02d +0000\n"
       b"Message-ID: <%s@example.org>\n")


def make_message(user, subject, body, n=0, extra_headers=b""):
    tag = subject.replace(b" ", b"-")
    return (HDR % (user.encode(), subject, n % 60, tag + b"." + str(n).encode())
            + extra_headers + b"\n" + body)


def big_body(size):
    out = bytearray()
    i = 0
    while len(out) < size:
        i += 1
        out += b"%07d the quick brown fox jumps over the lazy dog 0123456789 xyz\n" % i
    return bytes(out[:size - 1]) + b"\n"


def sample_messages(user):
    """[(file name, 'new'|'cur', content)]: LF line ends, a line starting
    with '.', a lone '.' line, no trailing newline, 8-bit bytes, a CRLF
    message, a message whose name carries ,S=/,W= and a 1 MiB message."""
    msgs = []
    simple = make_message(user, b"simple", b"Hello,\nthis is a simple message.\n", 1)
    dots = make_message(user, b"dots", b".first body line starts with a dot\n"
                        b"..two dots\n.\n. dot space\nend of dots\n", 2)
    nonl = make_message(user, b"no newline", b"first\nlast line has no newline", 3)
    eight = make_message(user, b"8bit", b"Gr\xfc\xdfe aus K\xf6ln\n"
                         b"\xff\xfe\x80 raw high bytes \xe2\x82\xac\n", 4,
                         b"MIME-Version: 1.0\nContent-Type: text/plain; "
                         b"charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n")
    crlf = make_message(user, b"crlf", b"stored\nwith\nCRLF\n", 5).replace(b"\n", b"\r\n")
    sized = make_message(user, b"sized", b"name carries S and W\n.dot\n", 6)
    big = make_message(user, b"big", b"", 7)
    big = big + big_body(1024 * 1024 - len(big))
    msgs.append(("1700000001.M1P100.roost-test", "new", simple))
    msgs.append(("1700000002.M2P100.roost-test", "new", dots))
    msgs.append(("1700000003.M3P100.roost-test:2,S", "cur", nonl))
    msgs.append(("1700000004.M4P100.roost-test:2,", "cur", eight))
    msgs.append(("1700000005.M5P100.roost-test", "new", crlf))
    msgs.append(("1700000006.M6P100.roost-test,S=%d,W=%d:2,S"
                 % (len(sized), len(wire(sized))), "cur", sized))
    msgs.append(("1700000007.M7P100.roost-test", "new", big))
    return msgs


def uidl_of(name):
    return name.split(":", 1)[0]


# ---------------------------------------------------------------------------
# Network helpers

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class RawClient:
    """A line-level POP3 client over a plain or TLS socket, for tests that
    need exact bytes. Every read has a timeout."""

    def __init__(self, port, tls_context=None, greeting=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        if tls_context is not None:
            self.sock = tls_context.wrap_socket(self.sock,
                                                server_hostname="localhost")
        self.buf = b""
        self.greeting = self.readline() if greeting else None

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the connection (buffered: %r)"
                           % self.buf[:200])
        self.buf += data

    def readline(self):
        """One line including its CRLF."""
        while b"\r\n" not in self.buf:
            if len(self.buf) > 10 * 1024 * 1024:
                raise AssertionError("no CRLF in 10 MiB of input")
            self._fill()
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def read_multiline(self):
        """The dot-stuffed data of a multi-line reply, up to (not including)
        the terminating '.' line, exactly as sent."""
        while True:
            if self.buf.startswith(b".\r\n"):
                self.buf = self.buf[3:]
                return b""
            i = self.buf.find(b"\r\n.\r\n")
            if i >= 0:
                data, self.buf = self.buf[:i + 2], self.buf[i + 5:]
                return data
            self._fill()

    def cmd(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.readline()

    def cmd_multi(self, line):
        """(status line, raw data or None)."""
        status = self.cmd(line)
        if status.startswith(b"+OK"):
            return status, self.read_multiline()
        return status, None

    def login(self, user, password):
        r = self.cmd("USER " + user)
        assert_ok(r, "USER %s" % user)
        r = self.cmd("PASS " + password)
        assert_ok(r, "PASS for %s" % user)
        return r

    def starttls(self, context):
        r = self.cmd("STLS")
        assert_ok(r, "STLS")
        assert_eq(self.buf, b"", "bytes after the STLS reply before the handshake")
        self.sock = context.wrap_socket(self.sock, server_hostname="localhost")
        return r

    def expect_eof(self):
        """True when the server closes the connection (within TIMEOUT)."""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (socket.timeout, ConnectionResetError):
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def plain_b64(authzid, user, password):
    return base64.b64encode(("%s\0%s\0%s" % (authzid, user, password)).encode()).decode()


# ---------------------------------------------------------------------------
# The server under test

def _proc_children():
    """{ppid: [pid, ...]} from /proc."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rindex(b")") + 2:].split()
        kids.setdefault(int(rest[1]), []).append(int(name))
    return kids


def descendants(pid):
    kids = _proc_children()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] != b"Z"


class User:
    def __init__(self, name, password, home, scheme="PLAIN", uid="", gid="",
                 mail=None):
        self.name, self.password, self.home = name, password, home
        self.scheme, self.uid, self.gid, self.mail = scheme, uid, gid, mail

    @property
    def maildir(self):
        """The maildir's path, without location options (":uidl=...")."""
        if self.mail and self.mail.startswith("maildir:"):
            return self.mail[len("maildir:"):].split(":")[0]
        return os.path.join(self.home, "Maildir")

    def passwd_line(self):
        if self.scheme == "PLAIN":
            pw = "{PLAIN}" + self.password
        elif self.scheme == "SHA512-CRYPT":
            pw = "{SHA512-CRYPT}" + sha512_crypt(self.password)
        else:
            raise ValueError(self.scheme)
        extra = "userdb_mail=" + self.mail if self.mail else ""
        return "%s:%s:%s:%s::%s::%s\n" % (self.name, pw, self.uid, self.gid,
                                          self.home, extra)


def sha512_crypt(password):
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import crypt
    except ImportError:
        return None
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


def have_sha512_crypt():
    h = sha512_crypt("x")
    return bool(h) and h.startswith("$6$")


def gen_cert(directory):
    """Self-signed certificate for CN=localhost, SAN DNS:localhost and
    IP:127.0.0.1. Returns (cert path, key path)."""
    certtool = need_tool("certtool")
    key = os.path.join(directory, "key.pem")
    cert = os.path.join(directory, "cert.pem")
    tmpl = os.path.join(directory, "cert.tmpl")
    with open(tmpl, "w") as f:
        f.write('cn = "localhost"\n'
                'organization = "Roost test"\n'
                'dns_name = "localhost"\n'
                'ip_address = "127.0.0.1"\n'
                'serial = %d\n'
                'expiration_days = 30\n'
                'ca\n'
                'tls_www_server\n'
                'signing_key\n'
                'encryption_key\n'
                'cert_signing_key\n' % (int(time.time()) & 0x7fffffff))
    for args in (["--generate-privkey", "--key-type=ecdsa", "--outfile", key],
                 ["--generate-self-signed", "--load-privkey", key,
                  "--template", tmpl, "--outfile", cert]):
        r = subprocess.run([certtool] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("certtool %s failed:\n%s"
                               % (args[0], r.stdout.decode(errors="replace")))
    return cert, key


class Server:
    """One roost instance in its own temporary directory.

    privileged=False (default): the server runs as the invoking user, or,
    when that is root, as ROOST_TEST_USER (nobody) so that it stays in
    unprivileged mode. privileged=True: started as root as is (the caller
    provides users with uids and the directory permissions)."""

    def __init__(self, name="roost", ssl_mode="yes", exempt_loopback=True,
                 privileged=False, extra_config="", tmpdir=None):
        if not os.path.exists(ROOST):
            raise RuntimeError("%s does not exist: build the tree first "
                               "(ROOST_BUILDDIR=%s)" % (ROOST, BUILDDIR))
        self.name = name
        self.ssl_mode = ssl_mode
        self.exempt_loopback = exempt_loopback
        self.privileged = privileged
        self.extra_config = extra_config
        # Extra environment of the server process (e.g. an LD_PRELOAD).
        self.env = {}
        self.dir = tmpdir or tempfile.mkdtemp(prefix="roostit-%s-" % name)
        os.chmod(self.dir, 0o755)
        self.base_dir = os.path.join(self.dir, "run")
        self.home_root = os.path.join(self.dir, "home")
        self.passwd = os.path.join(self.dir, "users.passwd")
        self.conf = os.path.join(self.dir, "roost.conf")
        self.logfile = os.path.join(self.dir, "roost.log")
        self.pop3_port = free_port()
        self.pop3s_port = free_port()
        while self.pop3s_port == self.pop3_port:
            self.pop3s_port = free_port()
        self.users = {}
        self.passwd_gid = None
        self.proc = None
        self._log = None
        os.makedirs(self.base_dir, exist_ok=True)
        os.makedirs(self.home_root, exist_ok=True)
        os.chmod(self.base_dir, 0o755)
        os.chmod(self.home_root, 0o755)
        self.cert, self.key = gen_cert(self.dir)
        # The run-as user for unprivileged mode under root.
        self.run_uid = self.run_gid = None
        if os.geteuid() == 0 and not privileged:
            pw = pwd.getpwnam(os.environ.get("ROOST_TEST_USER", "nobody"))
            self.run_uid, self.run_gid = pw.pw_uid, pw.pw_gid

    # -- files -------------------------------------------------------------

    def chown(self, path):
        """Gives path (recursively) to the run-as user (unprivileged server
        started by root); no-op otherwise."""
        if self.run_uid is None:
            return
        os.lchown(path, self.run_uid, self.run_gid)
        if os.path.isdir(path) and not os.path.islink(path):
            for root, dirs, files in os.walk(path):
                for n in dirs + files:
                    os.lchown(os.path.join(root, n), self.run_uid, self.run_gid)

    def add_user(self, name, password, scheme="PLAIN", uid="", gid="",
                 mail=None, messages=True, home=None):
        u = User(name, password, home or os.path.join(self.home_root, name),
                 scheme, uid, gid, mail)
        self.users[name] = u
        os.makedirs(u.home, exist_ok=True)
        if messages is not None:
            self.reset_mailbox(name, messages)
        self.chown(u.home)
        self.write_passwd()
        return u

    def write_passwd(self):
        with open(self.passwd, "w") as f:
            for u in self.users.values():
                f.write(u.passwd_line())
        if self.passwd_gid is None:
            os.chmod(self.passwd, 0o644)
        else:
            # Privileged: readable by root and the auth process's group only.
            os.chown(self.passwd, 0, self.passwd_gid)
            os.chmod(self.passwd, 0o640)

    def reset_mailbox(self, name, messages=True):
        """Recreates the user's Maildir. messages: True for the samples, a
        list of (file name, 'new'|'cur', bytes), or [] for an empty one."""
        u = self.users[name]
        md = u.maildir
        if os.path.exists(md):
            shutil.rmtree(md)
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(md, sub))
        if messages is True:
            messages = sample_messages(name)
        for fname, sub, data in messages:
            with open(os.path.join(md, sub, fname), "wb") as f:
                f.write(data)
        self.chown(md)
        if u.uid != "" and os.geteuid() == 0:
            for root, dirs, files in os.walk(md):
                os.lchown(root, int(u.uid), int(u.gid))
                for n in files:
                    os.lchown(os.path.join(root, n), int(u.uid), int(u.gid))
        return messages

    def deliver(self, name, data, fname=None):
        """Delivers a message the maildir way (tmp/ then rename to new/).
        Returns the UIDL it will have."""
        u = self.users[name]
        fname = fname or "%d.M%dP%d.roost-deliver" % (time.time(),
                                                      time.time_ns() % 10**9,
                                                      os.getpid())
        tmp = os.path.join(u.maildir, "tmp", fname)
        with open(tmp, "wb") as f:
            f.write(data)
        self.chown(tmp)
        if u.uid != "" and os.geteuid() == 0:
            os.lchown(tmp, int(u.uid), int(u.gid))
        os.rename(tmp, os.path.join(u.maildir, "new", fname))
        return uidl_of(fname)

    def disk_files(self, name):
        """Sorted ['new/X', 'cur/Y:2,S', ...] in the user's maildir."""
        md = self.users[name].maildir
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(md, sub)
            if os.path.isdir(d):
                out += [sub + "/" + n for n in os.listdir(d)
                        if not n.startswith(".")]
        return sorted(out)

    def disk_messages(self, name):
        """{uidl: content} of the messages in new/ and cur/."""
        md = self.users[name].maildir
        out = {}
        for rel in self.disk_files(name):
            u = uidl_of(rel.split("/", 1)[1])
            assert_true(u not in out, "two files with base name %s on disk" % u)
            with open(os.path.join(md, rel), "rb") as f:
                out[u] = f.read()
        return out

    # -- config and process ------------------------------------------------

    def config_text(self):
        lines = [
            "# written by tests/integration/roosttest.py",
            "base_dir = %s" % self.base_dir,
            "module_dir = %s" % MODULE_DIR,
            "listen = 127.0.0.1",
            "ssl = %s" % self.ssl_mode,
            "ssl_cert = %s" % self.cert,
            "ssl_key = %s" % self.key,
            "ssl_exempt_loopback = %s" % ("yes" if self.exempt_loopback else "no"),
            "auth_failure_delay = 0",
            "login_processes = 2",
            "mail_idle_timeout = 10m",
            "service pop3 {",
            "  listener pop3  { port = %d }" % self.pop3_port,
            "  listener pop3s { port = %d  tls = yes }" % self.pop3s_port,
            "}",
            "passdb passwd-file { path = %s }" % self.passwd,
            "userdb passwd-file { path = %s }" % self.passwd,
            "mail = maildir:~/Maildir",
        ]
        if self.extra_config:
            lines.append(self.extra_config)
        return "\n".join(lines) + "\n"

    def write_config(self):
        with open(self.conf, "w") as f:
            f.write(self.config_text())
        os.chmod(self.conf, 0o644)

    def _preexec(self):
        pass

    def start(self):
        self.write_config()
        self.write_passwd()
        if self.run_uid is not None:
            # The libtool wrapper may (re)create .libs/lt-roost on first
            # run; do that as root so that the unprivileged run does not
            # have to write into the build tree.
            subprocess.run([ROOST, "--version"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
            for p in (self.dir, self.base_dir, self.cert, self.key,
                      self.passwd, self.conf):
                os.lchown(p, self.run_uid, self.run_gid)
        self._log = open(self.logfile, "ab")
        kw = {}
        if self.run_uid is not None:
            kw = dict(user=self.run_uid, group=self.run_gid, extra_groups=[])
        env = dict(os.environ)
        env["HOME"] = self.dir
        env.update(self.env)
        self.proc = subprocess.Popen([ROOST, "-F", "-c", self.conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=self.dir, env=env,
                                     start_new_session=True, **kw)
        self.wait_ready()
        return self

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("roost exited with status %s during start\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            try:
                c = RawClient(self.pop3_port)
                g = c.greeting
                c.cmd("QUIT")
                c.close()
                if g.startswith(b"+OK"):
                    s = socket.create_connection(("127.0.0.1", self.pop3s_port),
                                                 timeout=TIMEOUT)
                    s.close()
                    return
                last = "greeting %r" % g
            except (OSError, EOFError) as e:
                last = repr(e)
            time.sleep(0.1)
        raise RuntimeError("roost did not accept POP3 connections on port %d "
                           "within %ds (last: %s)\n%s"
                           % (self.pop3_port, START_TIMEOUT, last, self.log_tail()))

    def children(self):
        return descendants(self.proc.pid) if self.proc else []

    def stop(self):
        """SIGTERM; asserts a clean exit (status 0) within STOP_TIMEOUT and
        that no child process is left behind."""
        if not self.proc or self.proc.poll() is not None:
            if self.proc and self.proc.returncode != 0:
                raise AssertionError("roost had already exited with status %s"
                                     % self.proc.returncode)
            return
        kids = self.children()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("roost did not exit within %ds of SIGTERM"
                                 % STOP_TIMEOUT)
        deadline = time.monotonic() + STOP_TIMEOUT
        left = [p for p in kids if pid_alive(p)]
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = [p for p in kids if pid_alive(p)]
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        if self._log:
            self._log.close()
            self._log = None
        assert_eq(rc, 0, "exit status of roost after SIGTERM")
        assert_eq(left, [], "child processes still alive %ds after the master "
                  "exited" % STOP_TIMEOUT)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            kids = self.children()
            for p in [self.proc.pid] + kids:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def log_text(self):
        """The whole server log so far."""
        with open(self.logfile, "rb") as f:
            return f.read().decode(errors="replace")

    def log_tail(self, n=60):
        try:
            with open(self.logfile, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return "(no server log at %s)" % self.logfile
        head = "---- last %d lines of %s (%s) ----" % (min(n, len(lines)),
                                                     self.logfile, self.name)
        return "\n".join([head] + lines[-n:] + ["---- end of log ----"])

    def cleanup(self):
        self.kill()
        if not os.environ.get("ROOST_TEST_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- clients -----------------------------------------------------------

    def client_context(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        return ctx

    def raw(self, tls=False, greeting=True):
        if tls:
            return RawClient(self.pop3s_port, self.client_context(), greeting)
        return RawClient(self.pop3_port, None, greeting)

    def pop(self, mode="plain"):
        """A connected poplib client: mode plain, stls or pop3s."""
        if mode == "pop3s":
            return poplib.POP3_SSL("127.0.0.1", self.pop3s_port,
                                   context=self.client_context(),
                                   timeout=TIMEOUT)
        p = poplib.POP3("127.0.0.1", self.pop3_port, timeout=TIMEOUT)
        if mode == "stls":
            p.stls(self.client_context())
        return p

    def login(self, name, mode="plain", password=None, wait_lock=True):
        """poplib login; retries for up to LOCK_WAIT seconds while an
        earlier session of the same user still holds the mailbox
        ([IN-USE]), so tests do not depend on how fast a worker exits."""
        u = self.users[name]
        password = u.password if password is None else password
        deadline = time.monotonic() + LOCK_WAIT
        if wait_lock:
            self.wait_unlocked(name)
        while True:
            p = self.pop(mode)
            try:
                p.user(name)
                p.pass_(password)
                return p
            except poplib.error_proto as e:
                p.close()
                if (wait_lock and b"[IN-USE]" in e.args[0]
                        and time.monotonic() < deadline):
                    time.sleep(0.1)
                    continue
                raise

    def raw_login(self, name, tls=False):
        """A RawClient logged in as name (same bounded [IN-USE] retry)."""
        u = self.users[name]
        self.wait_unlocked(name)
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            c = self.raw(tls)
            assert_ok(c.greeting, "greeting")
            assert_ok(c.cmd("USER " + name), "USER %s" % name)
            r = c.cmd("PASS " + u.password)
            if r.startswith(b"-ERR [IN-USE]") and time.monotonic() < deadline:
                c.close()
                time.sleep(0.1)
                continue
            assert_ok(r, "PASS for %s" % name)
            return c

    def wait_unlocked(self, name):
        """Waits (up to LOCK_WAIT seconds) until no session holds name's
        mailbox, without opening a session: the maildir storage flock()s
        MAILDIR/roost-pop3.lock for a whole session and releases it last
        (storage/maildir/maildir-storage.c). Used so that a test neither
        races the end of the previous session nor starts a new one."""
        path = os.path.join(self.users[name].maildir, "roost-pop3.lock")
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise AssertionError("%s's mailbox is still locked %ds after "
                                         "its session ended" % (name, LOCK_WAIT))
            finally:
                os.close(fd)
            time.sleep(0.02)

    def expected(self, name):
        """{uidl: wire bytes} from the disk."""
        return {u: wire(d) for u, d in self.disk_messages(name).items()}


# ---------------------------------------------------------------------------
# Runner

class Runner:
    """Runs test functions, prints PASS/FAIL per test, the log tail of every
    registered server on failure, and 'N passed, M failed' at the end."""

    def __init__(self, title):
        self.title = title
        self.tests = []
        self.servers = []
        self.passed = 0
        self.failed = []

    def test(self, fn):
        self.tests.append(fn)
        return fn

    def server(self, srv):
        self.servers.append(srv)
        return srv

    def _fail(self, name, detail):
        self.failed.append(name)
        log("FAIL: %s\n%s" % (name, detail))
        for s in self.servers:
            log(s.log_tail())

    def run_one(self, name, fn):
        t0 = time.monotonic()
        try:
            fn()
        except SkipTest as e:
            log("SKIP: %s (%s)" % (name, e))
            return
        except Exception:
            self._fail(name, traceback.format_exc())
            return
        self.passed += 1
        log("PASS: %s (%.1fs)" % (name, time.monotonic() - t0))

    def main(self, setup=None):
        """setup() starts the servers (registered with self.server)."""
        log("== %s ==" % self.title)
        if not os.path.exists(ROOST):
            log("FAIL: %s does not exist; build first (ROOST_BUILDDIR=%s)"
                % (ROOST, BUILDDIR))
            sys.exit(1)
        ok = True
        try:
            if setup:
                try:
                    setup()
                except SkipTest as e:
                    skip(str(e))
                except Exception:
                    self._fail("setup", traceback.format_exc())
                    ok = False
            if ok:
                for fn in self.tests:
                    self.run_one(fn.__name__, fn)
                for s in self.servers:
                    if s.proc is not None:
                        self.run_one("%s stops cleanly on SIGTERM" % s.name,
                                     s.stop)
        finally:
            for s in self.servers:
                if self.failed:
                    s.kill()
                    log("(kept %s for inspection)" % s.dir)
                else:
                    s.cleanup()
        log("%s: %d passed, %d failed%s" % (
            self.title, self.passed, len(self.failed),
            (" (" + ", ".join(self.failed) + ")") if self.failed else ""))
        sys.exit(1 if self.failed else 0)
