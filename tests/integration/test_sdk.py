#!/usr/bin/env python3
"""The storage plugin SDK end to end (issue 5, doc/plugin-guide.md).

`make install DESTDIR=<tmp>` from the build tree; the installed headers are
exactly the SDK's and each compiles on its own with `pkg-config --cflags
roost`; contrib/example-plugin is built out of tree against that install
with its own Makefile (pkg-config, cc -shared) and installed into
`pkg-config --variable=moduledir roost`; a server whose module_dir also
names that directory serves a user with `mail = eml:DIR` to curl and a raw
client byte-exact, keeps the mailbox read-only ([SYS/PERM] on DELE+QUIT)
and locked ([IN-USE]). Plugins built wrong (another ABI, failing init(),
wrong kind, no descriptor) are refused with messages naming them while
other users keep working, and `roost --modules` lists all of it."""

import atexit
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_sdk")
S = None
CURL = None
T = None            # private temporary directory (install, builds)
DESTDIR = None
PKG_ENV = None      # environment with PKG_CONFIG_PATH for the DESTDIR install
PLUGIN_DIR = None   # DESTDIR + moduledir: where storage_eml.so is installed
BROKEN_DIR = None   # the deliberately broken plugins
EML_DIR = None

SDK_HEADERS = {"storage.h", "module.h", "config-parser.h", "pool.h",
               "buffer.h", "error.h", "log.h", "message-wire.h"}
BROKEN = {
    # name: (compiler flags, what the server must say about it)
    "badabi": (["-DBROKEN_ABI=999"],
               "module storage_badabi was built for module ABI 999, "
               "this server has ABI 1"),
    "badinit": (["-DBROKEN_INIT"],
                "module storage_badinit (storage/badinit) failed to "
                "initialise: licence file /nonexistent/eml.key is missing"),
    "badkind": (["-DBROKEN_KIND"],
                "module storage_badkind is of kind 1 (auth), expected storage"),
    "nodesc": (["-DBROKEN_NO_DESCRIPTOR"],
               "module storage_nodesc has no 'roost_module' descriptor"),
}


def run(cmd, env=None, cwd=None, timeout=300):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=env, cwd=cwd, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("%s failed with status %d:\n%s"
                             % (" ".join(cmd), r.returncode,
                                r.stdout.decode(errors="replace")[-4000:]))
    return r.stdout.decode(errors="replace")


def clean_env():
    """The environment for nested make runs: not the outer make's jobserver
    or flags, nor a DESTDIR from the caller."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR",
              "PKG_CONFIG_SYSROOT_DIR", "PKG_CONFIG_LIBDIR", "CFLAGS", "LDFLAGS",
              "CPPFLAGS"):
        env.pop(k, None)
    return env


def pkg_config(*args, sysroot=True):
    env = dict(PKG_ENV)
    if sysroot:
        env["PKG_CONFIG_SYSROOT_DIR"] = DESTDIR
    return run(["pkg-config"] + list(args) + ["roost"], env=env).strip()


# ---------------------------------------------------------------------------
# The eml mailbox

def eml_uidl(name):
    """contrib/example-plugin/eml-storage.c: the file name when it is 1..70
    octets of 0x21..0x7E, else 'x' + two FNV-1a-64 hashes in hex."""
    if 1 <= len(name) <= 70 and all(0x21 <= c <= 0x7e for c in name):
        return name.decode()
    m = 2 ** 64
    a, b = 0xcbf29ce484222325, 0x84222325cbf29ce4
    for c in name:
        a = ((a ^ c) * 0x100000001b3) % m
        b = ((b ^ (c ^ 0x5a)) * 0x100000001b3) % m
    return "x%016x%016x" % (a, b)


def eml_messages():
    """{file name (bytes): content}: the harness's samples (LF, CRLF, dots,
    no final newline, 8-bit, 1 MiB) under plain names, plus names that
    cannot be UIDLs (a space, 75 characters, UTF-8)."""
    samples = [data for _, _, data in rt.sample_messages("emily")]
    names = [b"simple.eml", b"dots.eml", b"no-newline.eml", b"8bit.eml",
             b"crlf.eml", b"sized.eml", b"big.eml"]
    msgs = dict(zip(names, samples))
    msgs[b"with space.eml"] = rt.make_message("emily", b"space", b"x\n", 8)
    msgs[b"L" * 75 + b".eml"] = rt.make_message("emily", b"long", b"y\n", 9)
    msgs[b"caf\xc3\xa9.eml"] = rt.make_message("emily", b"utf8", b"z\n", 10)
    return msgs


def write_eml_dir():
    d = os.fsencode(EML_DIR)
    if os.path.exists(d):
        wait_eml_unlocked()
        shutil.rmtree(d)
    os.makedirs(d)
    msgs = eml_messages()
    for name, data in msgs.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    # Not messages: another suffix, a dot file, a directory, a symlink.
    with open(os.path.join(d, b"notes.txt"), "wb") as f:
        f.write(b"not mail\n")
    with open(os.path.join(d, b".hidden.eml"), "wb") as f:
        f.write(b"Subject: hidden\n\nx\n")
    os.mkdir(os.path.join(d, b"folder.eml"))
    os.symlink(b"simple.eml", os.path.join(d, b"link.eml"))
    S.chown(EML_DIR)
    return msgs


def expected_listing(msgs):
    """[(uidl, wire bytes)] in message-number order (file name order)."""
    return [(eml_uidl(n), rt.wire(msgs[n])) for n in sorted(msgs)]


def wait_eml_unlocked():
    path = os.path.join(EML_DIR, ".roost-eml.lock")
    deadline = time.monotonic() + rt.LOCK_WAIT
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
                raise AssertionError("the eml mailbox is still locked %ds after "
                                     "its session ended" % rt.LOCK_WAIT)
        finally:
            os.close(fd)
        time.sleep(0.02)


def eml_files():
    """{name: content} of every file in the eml directory."""
    out = {}
    d = os.fsencode(EML_DIR)
    for n in os.listdir(d):
        p = os.path.join(d, n)
        if os.path.isfile(p) and not os.path.islink(p):
            with open(p, "rb") as f:
                out[n] = f.read()
    return out


def raw_eml_login():
    wait_eml_unlocked()
    c = S.raw()
    rt.assert_ok(c.greeting, "greeting")
    rt.assert_ok(c.cmd("USER emily"), "USER emily")
    r = c.cmd("PASS emily-pw")
    rt.assert_ok(r, "PASS for emily (eml storage)")
    return c


def wait_log(text, what):
    deadline = time.monotonic() + rt.TIMEOUT
    while time.monotonic() < deadline:
        with open(S.logfile, "rb") as f:
            if text.encode() in f.read():
                return
        time.sleep(0.05)
    raise AssertionError("%s: %r not in the server log" % (what, text))


# ---------------------------------------------------------------------------
# Setup: install, build against the install, start the server

class SdkServer(rt.Server):
    def __init__(self, module_dir, **kw):
        self.module_dir = module_dir
        super().__init__(**kw)

    def config_text(self):
        text = super().config_text()
        old = "module_dir = %s\n" % rt.MODULE_DIR
        rt.assert_true(old in text, "harness config has no %r" % old)
        return text.replace(old, "module_dir = %s\n" % self.module_dir)


def make_readable(top):
    """The server runs as another user when the tests run as root: the
    installed files must be readable by it, as in a real installation."""
    for root, dirs, files in os.walk(top):
        os.chmod(root, 0o755)
        for n in files:
            p = os.path.join(root, n)
            if not os.path.islink(p):
                os.chmod(p, 0o755 if os.access(p, os.X_OK) else 0o644)


def setup():
    global S, CURL, T, DESTDIR, PKG_ENV, PLUGIN_DIR, BROKEN_DIR, EML_DIR
    CURL = rt.need_tool("curl")
    for tool in ("make", "cc", "pkg-config"):
        rt.need_tool(tool)
    T = tempfile.mkdtemp(prefix="roostit-sdk-")
    if not os.environ.get("ROOST_TEST_KEEP"):
        atexit.register(shutil.rmtree, T, True)
    os.chmod(T, 0o755)
    DESTDIR = os.path.join(T, "root")

    env = clean_env()
    run(["make", "-C", rt.BUILDDIR, "install", "DESTDIR=" + DESTDIR], env=env,
        timeout=600)
    pcs = [os.path.join(r, "roost.pc") for r, _, f in os.walk(DESTDIR)
           if "roost.pc" in f]
    rt.assert_eq(len(pcs), 1, "roost.pc files installed under %s" % DESTDIR)
    PKG_ENV = dict(env, PKG_CONFIG_PATH=os.path.dirname(pcs[0]))

    # The example, copied out of the source tree (which may be read-only)
    # and built with nothing but its own Makefile.
    src = os.path.join(T, "example-plugin")
    shutil.copytree(os.path.join(rt.SRCDIR, "contrib", "example-plugin"), src)
    build_env = dict(PKG_ENV, PKG_CONFIG_SYSROOT_DIR=DESTDIR)
    run(["make", "CFLAGS=-O2 -g -Werror"], env=build_env, cwd=src)
    run(["make", "install", "DESTDIR=" + DESTDIR], env=PKG_ENV, cwd=src)
    PLUGIN_DIR = DESTDIR + pkg_config("--variable=moduledir", sysroot=False)

    BROKEN_DIR = os.path.join(T, "broken-modules")
    os.mkdir(BROKEN_DIR)
    cflags = pkg_config("--cflags").split()
    for name, (flags, _) in BROKEN.items():
        run(["cc", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared"] + cflags
            + ['-DPLUGIN_NAME="%s"' % name] + flags
            + ["-o", os.path.join(BROKEN_DIR, "storage_%s.so" % name),
               os.path.join(rt.SRCDIR, "tests", "sdk", "broken-plugin.c")])
    make_readable(T)

    S = R.server(SdkServer("%s:%s:%s" % (rt.MODULE_DIR, PLUGIN_DIR, BROKEN_DIR),
                           name="sdk"))
    S.add_user("alice", "secret")
    u = S.add_user("emily", "emily-pw", messages=None)
    EML_DIR = os.path.join(u.home, "eml")
    u.mail = "eml:" + EML_DIR
    for name in BROKEN:
        S.add_user(name, "pw", messages=None, mail="%s:%s" % (name, EML_DIR))
    write_eml_dir()
    S.start()


# ---------------------------------------------------------------------------
# The installed SDK

@R.test
def installed_headers_are_the_sdk():
    inc = os.path.join(DESTDIR + pkg_config("--variable=includedir", sysroot=False),
                       "roost")
    rt.assert_eq(set(os.listdir(inc)), SDK_HEADERS,
                 "headers installed in %s (public ones only)" % inc)
    for h in sorted(SDK_HEADERS):
        with open(os.path.join(inc, h)) as f:
            text = f.read()
        for inc_name in re.findall(r'#\s*include\s+"([^"]+)"', text):
            rt.assert_true(inc_name in SDK_HEADERS,
                           "installed %s includes %s, which is not installed"
                           % (h, inc_name))


@R.test
def each_header_compiles_alone():
    cflags = pkg_config("--cflags").split()
    rt.assert_true(("-I" + DESTDIR + "/") in " ".join(cflags) + " ",
                   "pkg-config --cflags points into the install: %r" % cflags)
    d = os.path.join(T, "header-check")
    os.makedirs(d, exist_ok=True)
    for h in sorted(SDK_HEADERS):
        c = os.path.join(d, h.replace(".h", ".c"))
        with open(c, "w") as f:
            f.write("#include <roost/%s>\n#include <roost/%s>\n"
                    "int header_check_%s(void);\n"
                    "int header_check_%s(void) { return 0; }\n"
                    % (h, h, h[:-2].replace("-", "_"), h[:-2].replace("-", "_")))
        for std in ("-std=c99", "-std=gnu17"):
            run(["cc", std, "-Wall", "-Wextra", "-Werror", "-Wstrict-prototypes",
                 "-Wmissing-prototypes", "-c", "-o", os.devnull, c] + cflags,
                env=PKG_ENV)


@R.test
def pkg_config_libs_and_moduledir():
    libs = pkg_config("--libs").split()
    rt.assert_true("-lroost" in libs, "pkg-config --libs has -lroost: %r" % libs)
    ldirs = [a[2:] for a in libs if a.startswith("-L")]
    rt.assert_true(any(os.path.exists(os.path.join(p, "libroost.so")) for p in ldirs),
                   "libroost.so in a -L directory of %r" % libs)
    rt.assert_true(any(a.startswith("-Wl,-rpath,") for a in libs),
                   "pkg-config --libs gives an rpath for the private libdir: %r" % libs)
    moduledir = pkg_config("--variable=moduledir", sysroot=False)
    rt.assert_true(os.path.isabs(moduledir), "moduledir is absolute: %r" % moduledir)
    for m in ("storage_maildir", "protocol_pop3", "storage_eml"):
        rt.assert_true(os.path.exists(os.path.join(DESTDIR + moduledir, m + ".so")),
                       "%s.so in moduledir %s" % (m, moduledir))


# ---------------------------------------------------------------------------
# The example plugin in a running server

@R.test
def listing_and_uidls_match_the_directory():
    msgs = write_eml_dir()
    want = expected_listing(msgs)
    p = S.pop()
    try:
        p.user("emily")
        p.pass_("emily-pw")
        lst = [line.split() for line in p.list()[1]]
        uidl = [line.split() for line in p.uidl()[1]]
        p.quit()
    except BaseException:
        p.close()
        raise
    rt.assert_eq([int(s) for _, s in lst], [len(w) for _, w in want],
                 "LIST sizes (file name order)")
    rt.assert_eq([u.decode() for _, u in uidl], [u for u, _ in want], "UIDLs")
    for u, _ in want:
        rt.assert_true(1 <= len(u) <= 70 and all(0x21 <= ord(c) <= 0x7e for c in u),
                       "UIDL %r is 1..70 printable octets" % u)
    # The same mailbox in another session: the same UIDLs (stability).
    wait_eml_unlocked()
    p = S.pop()
    try:
        p.user("emily")
        p.pass_("emily-pw")
        again = [line.split()[1].decode() for line in p.uidl()[1]]
        p.quit()
    except BaseException:
        p.close()
        raise
    rt.assert_eq(again, [u for u, _ in want], "UIDLs in a second session")


@R.test
def retr_every_message_with_curl():
    msgs = write_eml_dir()
    for n, (uidl, w) in enumerate(expected_listing(msgs), 1):
        wait_eml_unlocked()
        r = subprocess.run([CURL, "-s", "-S", "--max-time", "15", "-u", "emily:emily-pw",
                            "pop3://127.0.0.1:%d/%d" % (S.pop3_port, n)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        rt.assert_eq(r.returncode, 0, "curl RETR %d: %s" % (n, r.stderr.decode(errors="replace")))
        rt.assert_bytes(r.stdout, w, "curl RETR %d (%s)" % (n, uidl))


@R.test
def retr_raw_is_dot_stuffed_wire_form():
    msgs = write_eml_dir()
    c = raw_eml_login()
    try:
        for n, (uidl, w) in enumerate(expected_listing(msgs), 1):
            status, data = c.cmd_multi("RETR %d" % n)
            rt.assert_eq(status, b"+OK %d octets\r\n" % len(w), "RETR %d status" % n)
            rt.assert_bytes(data, rt.stuff(w), "RETR %d (%s) on the wire" % (n, uidl))
        rt.assert_ok(c.cmd("QUIT"), "QUIT without deletions")
    finally:
        c.close()


@R.test
def deletions_refused_read_only():
    write_eml_dir()
    before = eml_files()
    c = raw_eml_login()
    try:
        rt.assert_ok(c.cmd("DELE 1"), "DELE 1")
        rt.assert_ok(c.cmd("DELE 2"), "DELE 2")
        r = c.cmd("QUIT")
        rt.assert_err(r, "QUIT after DELE on a read-only mailbox", b"-ERR [SYS/PERM]")
    finally:
        c.close()
    wait_log("read-only mailbox %s: 2 message(s) marked for deletion were kept"
             % EML_DIR, "the refusal is logged")
    after = {n: d for n, d in eml_files().items() if n != b".roost-eml.lock"}
    rt.assert_eq(after, before, "files in the eml directory after DELE+QUIT")
    c = raw_eml_login()
    try:
        r = c.cmd("STAT")
        rt.assert_true(r.startswith(b"+OK %d " % len(eml_messages())),
                       "STAT after the refused deletions: %r" % r)
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
    finally:
        c.close()


@R.test
def second_session_in_use():
    write_eml_dir()
    first = raw_eml_login()
    try:
        rt.assert_true(os.path.exists(os.path.join(EML_DIR, ".roost-eml.lock")),
                       "lock file created in the eml directory")
        c = S.raw()
        try:
            rt.assert_ok(c.cmd("USER emily"), "USER (second session)")
            rt.assert_err(c.cmd("PASS emily-pw"), "PASS while a session holds the mailbox",
                          b"-ERR [IN-USE]")
        finally:
            c.close()
        rt.assert_ok(first.cmd("QUIT"), "QUIT of the first session")
    finally:
        first.close()
    c = raw_eml_login()    # asserts +OK once the lock is released
    rt.assert_ok(c.cmd("QUIT"), "QUIT")
    c.close()


# ---------------------------------------------------------------------------
# Refused plugins

@R.test
def broken_plugins_refused_others_served():
    write_eml_dir()
    for name, (_, message) in BROKEN.items():
        c = S.raw()
        try:
            rt.assert_ok(c.cmd("USER " + name), "USER %s" % name)
            rt.assert_err(c.cmd("PASS pw"), "login of %s (mail = %s:...)" % (name, name),
                          b"-ERR [SYS/PERM]")
        finally:
            c.close()
        wait_log(message, "refusal of storage_%s" % name)
        # The server and every other user carry on.
        rt.assert_true(S.proc.poll() is None, "server still running after %s" % name)
        p = S.login("alice")
        rt.assert_true(len(p.list()[1]) > 0, "alice's maildir after %s" % name)
        p.quit()
        c = raw_eml_login()
        rt.assert_ok(c.cmd("STAT"), "emily's eml mailbox after %s" % name)
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
        c.close()


def module_lines(out):
    """{"kind/name @ dir": (abi, status, reason or None)}."""
    rows, last = {}, None
    for line in out.splitlines()[2:]:
        if line.startswith("    ") and last is not None:
            rows[last] = rows[last][:2] + (line.strip(),)
            continue
        f = line.split()
        if len(f) >= 4:
            last = "%s @ %s" % (f[0], os.path.dirname(f[3]))
            rows[last] = (f[1], f[2], None)
    return rows


@R.test
def roost_modules_lists_and_judges():
    r = subprocess.run([rt.ROOST, "--modules", "-c", S.conf], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    out = r.stdout.decode(errors="replace")
    rt.assert_eq(r.returncode, 1, "exit status of roost --modules with refused "
                 "modules\n%s%s" % (out, r.stderr.decode(errors="replace")))
    rt.assert_true(out.startswith("Modules in %s (this server: module ABI 1)\n"
                                  % S.module_dir), "heading of:\n" + out)
    rows = module_lines(out)
    want = {
        "storage/eml @ " + PLUGIN_DIR: ("1", "loads", None),
        "storage/maildir @ " + rt.MODULE_DIR: ("1", "loads", None),
        "auth/passwd-file @ " + rt.MODULE_DIR: ("1", "loads", None),
        "protocol/pop3 @ " + rt.MODULE_DIR: ("1", "loads", None),
        "storage/badabi @ " + BROKEN_DIR: ("999", "refused", BROKEN["badabi"][1]),
        "storage/badinit @ " + BROKEN_DIR: ("1", "refused", BROKEN["badinit"][1]),
        "storage/badkind @ " + BROKEN_DIR: ("1", "refused", BROKEN["badkind"][1]),
        "storage/nodesc @ " + BROKEN_DIR: ("-", "refused", BROKEN["nodesc"][1]),
    }
    for key, (abi, status, reason) in want.items():
        rt.assert_true(key in rows, "roost --modules lists %s:\n%s" % (key, out))
        got = rows[key]
        rt.assert_eq(got[:2], (abi, status), "ABI and status of %s" % key)
        if reason is not None:
            rt.assert_true(got[2] is not None and reason in got[2],
                           "reason for %s: %r, expected %r" % (key, got[2], reason))
    # The installed copies of in-tree modules come after the build tree's.
    rt.assert_eq(rows.get("storage/maildir @ " + PLUGIN_DIR, ("",) * 2)[:2],
                 ("-", "shadowed"), "the installed maildir module is shadowed")

    # Without the broken directory everything loads: status 0.
    conf = os.path.join(S.dir, "modules-ok.conf")
    with open(S.conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace("module_dir = %s\n" % S.module_dir,
                             "module_dir = %s:%s\n" % (rt.MODULE_DIR, PLUGIN_DIR)))
    r = subprocess.run([rt.ROOST, "--modules", "-c", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    out = r.stdout.decode(errors="replace")
    rt.assert_eq(r.returncode, 0, "exit status when every module loads:\n" + out)
    rt.assert_true("refused" not in out, "nothing refused:\n" + out)


R.main(setup)
