#!/usr/bin/env python3
"""The storage conformance kit, roost-storage-check (issue 5,
doc/plugin-guide.md section 5), from the build tree.

The project's own modules must pass it: a maildir (new/ and cur/, no final
newline, a line starting with '.', a ,S=/,W= name) and an mbox (mboxrd
quoting, an X-UIDL header), each with and without --delete (and then on
disk exactly one message is gone); an empty maildir; a missing mbox. The
kit must also be able to fail: a wrong --expect-count, and --read-only on
a writable maildir. Last, a third-party module from another directory:
contrib/example-plugin compiled against the SDK headers (as roost/NAME.h)
and libroost, checked with --read-only --delete.

The installed binary is not run here: that would need a second
`make install DESTDIR=...` of the build tree, which races with the one
test_sdk.py runs in parallel (libtool relinks into the build tree's .libs
during install)."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_storage_check")
KIT = os.path.join(rt.BUILDDIR, "tools", "storage-check", "roost-storage-check")
T = None
# Checks the kit runs without --delete, and with it (delete-commit and
# delete-result on top).
CHECKS_PLAIN = 13
CHECKS_DELETE = 15
SDK_HEADERS = ("storage/storage.h", "core/module.h", "core/config-parser.h",
               "core/pool.h", "core/buffer.h", "core/error.h", "core/log.h",
               "core/message-wire.h")


def kit(module, path, *extra, module_dir=None):
    cmd = [KIT, "--module-dir", module_dir or rt.MODULE_DIR, "--module", module,
           "--path", path] + list(extra)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    out = r.stdout.decode(errors="replace")
    rt.log("$ %s\n%s%s" % (" ".join(cmd), out, r.stderr.decode(errors="replace")))
    return r.returncode, out


def assert_all_pass(module, path, checks, *extra, module_dir=None):
    status, out = kit(module, path, *extra, module_dir=module_dir)
    rt.assert_eq(status, 0, "exit status of the kit on %s %s" % (module, path))
    lines = out.splitlines()
    rt.assert_eq(lines[-1:], ["%d passed, 0 failed" % checks],
                 "closing line of the kit on %s" % path)
    rt.assert_eq([l for l in lines[:-1] if not l.startswith("PASS ")], [],
                 "lines that are not PASS")
    return out


def fresh(name):
    p = os.path.join(T, name)
    if os.path.lexists(p):
        shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
    return p


# ---------------------------------------------------------------------------
# Fixtures

def maildir_messages():
    """[(subdir, file name, content)]."""
    m = rt.make_message
    nonl = m("kit", b"no newline", b"first\nlast line has no newline", 2)
    sized = m("kit", b"sized", b"name carries S and W\n.dot\n", 4)
    return [
        ("new", "1700000001.M1P1.kit", m("kit", b"simple", b"Hello\n", 1)),
        ("cur", "1700000002.M2P1.kit:2,S", nonl),
        ("new", "1700000003.M3P1.kit", m("kit", b"dots", b".starts with a dot\n.\n..\n", 3)),
        ("cur", "1700000004.M4P1.kit,S=%d,W=%d:2,S" % (len(sized), len(rt.wire(sized))),
         sized),
        ("new", "1700000005.M5P1.kit", m("kit", b"crlf", b"a\nb\n", 5).replace(b"\n", b"\r\n")),
    ]


def make_maildir(name, msgs):
    d = fresh(name)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(d, sub))
    for sub, fname, data in msgs:
        with open(os.path.join(d, sub, fname), "wb") as f:
            f.write(data)
    return d


def maildir_files(d):
    """The base names (before ':2,') of the messages: a session may move
    mail from new/ to cur/ and give it flags, which keeps it the same."""
    return sorted(rt.uidl_of(n) for sub in ("new", "cur")
                  for n in os.listdir(os.path.join(d, sub)))


MBOX_MESSAGES = 4


def make_mbox(name):
    p = fresh(name)
    sep = b"From sender@example.org Mon Jan  1 10:00:00 2024\n"
    m = rt.make_message
    with open(p, "wb") as f:
        # mboxrd: ">From " and ">>From " in bodies are quoted "From " lines.
        f.write(sep + m("kit", b"quoted", b">From the start\n>>From deeper\nend\n", 1) + b"\n")
        f.write(sep + m("kit", b"uidl", b"has an X-UIDL\n", 2,
                        b"X-UIDL: kit-uidl-0002\n") + b"\n")
        f.write(sep + m("kit", b"dots", b".dot line\n", 3) + b"\n")
        f.write(sep + m("kit", b"last", b"last message\n", 4) + b"\n")
    return p


def mbox_count(p):
    with open(p, "rb") as f:
        data = f.read()
    return sum(1 for line in data.split(b"\n") if line.startswith(b"From "))


# ---------------------------------------------------------------------------
# The project's modules pass

@R.test
def maildir_passes():
    msgs = maildir_messages()
    d = make_maildir("maildir", msgs)
    before = maildir_files(d)
    assert_all_pass("maildir", d, CHECKS_PLAIN, "--expect-count", str(len(msgs)))
    rt.assert_eq(maildir_files(d), before, "messages on disk without --delete")


@R.test
def maildir_passes_with_delete():
    msgs = maildir_messages()
    d = make_maildir("maildir-del", msgs)
    before = maildir_files(d)
    assert_all_pass("maildir", d, CHECKS_DELETE, "--expect-count", str(len(msgs)),
                    "--delete")
    after = maildir_files(d)
    rt.assert_eq(len(after), len(before) - 1, "messages on disk after --delete")
    rt.assert_true(set(after) < set(before), "the other files are untouched: %r" % after)


@R.test
def mbox_passes():
    p = make_mbox("mbox")
    with open(p, "rb") as f:
        before = f.read()
    assert_all_pass("mbox", p, CHECKS_PLAIN, "--expect-count", str(MBOX_MESSAGES))
    with open(p, "rb") as f:
        rt.assert_bytes(f.read(), before, "the mbox file without --delete")


@R.test
def mbox_passes_with_delete():
    p = make_mbox("mbox-del")
    assert_all_pass("mbox", p, CHECKS_DELETE, "--expect-count", str(MBOX_MESSAGES),
                    "--delete")
    rt.assert_eq(mbox_count(p), MBOX_MESSAGES - 1, "messages in the mbox after --delete")
    with open(p, "rb") as f:
        data = f.read()
    rt.assert_true(b"Subject: quoted" not in data and b"kit-uidl-0002" in data,
                   "the first message is the one removed")


@R.test
def empty_maildir_passes():
    d = make_maildir("maildir-empty", [])
    assert_all_pass("maildir", d, CHECKS_PLAIN, "--expect-count", "0")


@R.test
def missing_mbox_is_empty():
    p = fresh("no-such-mbox")
    assert_all_pass("mbox", p, CHECKS_PLAIN, "--expect-count", "0")
    rt.assert_true(not os.path.exists(p), "the kit (and module) did not create %s" % p)


# ---------------------------------------------------------------------------
# The kit can fail

@R.test
def wrong_count_fails():
    d = make_maildir("maildir-count", maildir_messages())
    status, out = kit("maildir", d, "--expect-count", "99")
    rt.assert_eq(status, 1, "exit status with a wrong --expect-count")
    rt.assert_true(("FAIL message-count: message_count() is %d, expected 99"
                    % len(maildir_messages())) in out.splitlines(),
                   "FAIL line for the count:\n" + out)
    rt.assert_eq(out.splitlines()[-1], "%d passed, 1 failed" % (CHECKS_PLAIN - 1),
                 "closing line")


@R.test
def writable_module_claimed_read_only_fails():
    msgs = maildir_messages()
    d = make_maildir("maildir-ro", msgs)
    status, out = kit("maildir", d, "--read-only", "--delete")
    rt.assert_eq(status, 1, "exit status when a writable mailbox is given as --read-only")
    lines = out.splitlines()
    rt.assert_true("FAIL delete-commit: commit_deletions() succeeded on a mailbox "
                   "given as --read-only" in lines, "FAIL line for the commit:\n" + out)
    rt.assert_true(any(l.startswith("FAIL delete-result: ") for l in lines),
                   "the deletion shows in the next session:\n" + out)


@R.test
def unknown_module_fails():
    status, out = kit("no-such-module", T)
    rt.assert_eq(status, 1, "exit status for a module that is not there")
    rt.assert_true(out.startswith("FAIL load: cannot load storage module "
                                  "'no-such-module'"), "FAIL load line:\n" + out)
    rt.assert_eq(out.splitlines()[-1], "0 passed, 1 failed", "closing line")


@R.test
def usage_error():
    r = subprocess.run([KIT, "--module", "maildir"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    rt.assert_eq(r.returncode, 2, "exit status without --module-dir/--path")
    rt.assert_true(b"usage: roost-storage-check" in r.stderr, "usage on stderr")


# ---------------------------------------------------------------------------
# A third-party module from another directory

@R.test
def example_plugin_read_only_delete():
    rt.need_tool("cc")
    inc = fresh("include")
    os.makedirs(os.path.join(inc, "roost"))
    for h in SDK_HEADERS:
        os.symlink(os.path.join(rt.SRCDIR, h), os.path.join(inc, "roost", os.path.basename(h)))
    plugins = fresh("plugins")
    os.makedirs(plugins)
    libdir = os.path.join(rt.BUILDDIR, "core", ".libs")
    r = subprocess.run(["cc", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared",
                        "-Wl,-z,defs", "-I", inc,
                        "-o", os.path.join(plugins, "storage_eml.so"),
                        os.path.join(rt.SRCDIR, "contrib", "example-plugin", "eml-storage.c"),
                        "-L", libdir, "-Wl,-rpath," + libdir, "-lroost"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    rt.assert_eq(r.returncode, 0, "building the example plugin:\n"
                 + r.stdout.decode(errors="replace"))
    d = fresh("eml")
    os.makedirs(d)
    files = {"a.eml": rt.make_message("kit", b"eml one", b"one\n", 1),
             "b.eml": rt.make_message("kit", b"eml two", b".dot\nno newline", 2),
             "c.eml": rt.make_message("kit", b"eml three", b"x\n", 3).replace(b"\n", b"\r\n")}
    for n, data in files.items():
        with open(os.path.join(d, n), "wb") as f:
            f.write(data)
    # The example plugin keeps the whole contract, read-only included.
    status, out = kit("eml", d, "--expect-count", "3", "--read-only", "--delete",
                      module_dir="%s:%s" % (rt.MODULE_DIR, plugins))
    lines = out.splitlines()
    rt.assert_eq(status, 0, "exit status of the kit on the example plugin:\n" + out)
    rt.assert_eq([l for l in lines[:-1] if not l.startswith("PASS ")], [],
                 "the failing checks")
    rt.assert_eq(lines[-1], "%d passed, 0 failed" % CHECKS_DELETE, "closing line")
    for name in ("load", "lock-exclusive", "read-chunked", "size-matches-content",
                 "delete-commit", "delete-result"):
        rt.assert_true("PASS " + name in lines, "PASS %s:\n%s" % (name, out))
    rt.assert_eq(sorted(n for n in os.listdir(d) if n.endswith(".eml")), sorted(files),
                 ".eml files after --read-only --delete")


def setup():
    global T
    if not os.path.exists(KIT):
        raise AssertionError("%s does not exist: build first" % KIT)
    T = tempfile.mkdtemp(prefix="roostit-kit-")
    if not os.environ.get("ROOST_TEST_KEEP"):
        atexit.register(shutil.rmtree, T, True)


R.main(setup)
