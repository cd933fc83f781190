#!/usr/bin/env python3
"""The man pages: each renders without groff warnings at 80 columns,
roost.conf(5) documents every setting core/settings.c defines, roost(8)
every option `roost --help` prints and roostctl(1) every command
`roostctl --help` lists. The last three catch a setting, option or command
added to the code but not to the pages."""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_man_pages")
MAN = None
PAGES = ["roost.8", "roost.conf.5", "roostctl.1"]
# Defined in these tables of core/settings.c; each entry starts with its
# quoted key, directly or through ROOT_DEF("key", ...).
SETTING_TABLES = ("settings_root_defs", "settings_listener_defs")


def setup():
    global MAN
    # Only the rendering check needs man(1) (Debian: man-db); the others
    # read the sources.
    MAN = shutil.which("man")


def page_path(name):
    return os.path.join(rt.SRCDIR, "doc", name)


def page_text(name):
    with open(page_path(name), encoding="utf-8") as f:
        return f.read()


def setting_names():
    with open(os.path.join(rt.SRCDIR, "core", "settings.c"),
              encoding="utf-8") as f:
        source = f.read()
    names = []
    for table in SETTING_TABLES:
        m = re.search(r"\b%s\[\]\s*=\s*\{(.*?)\n\};" % table, source, re.S)
        rt.assert_true(m is not None, "table %s in core/settings.c" % table)
        names += re.findall(r'^\s*(?:ROOT_DEF\(|\{\s*)"([a-z_]+)"',
                            m.group(1), re.M)
    return names


def documented_terms(text):
    """Words set in bold at the start of a .B/.BR/.BI line: where a man
    page introduces a setting or an option."""
    terms = set()
    for m in re.finditer(r'^\.B[RI]?\s+(\S+)', text, re.M):
        terms.add(m.group(1).strip('"').replace("\\-", "-"))
    return terms


@R.test
def pages_render_without_warnings():
    if MAN is None:
        raise rt.SkipTest("man is not installed (Debian package man-db)")
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    for name in PAGES:
        r = subprocess.run([MAN, "--warnings", "-l", page_path(name)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env, timeout=60)
        rt.assert_eq(r.returncode, 0, "man exit status for %s" % name)
        rt.assert_eq(r.stderr.decode(errors="replace"), "",
                     "groff warnings for %s" % name)
        rt.assert_true(len(r.stdout) > 1000,
                       "%s renders to text (%d bytes)" % (name, len(r.stdout)))


@R.test
def conf_page_names_every_setting():
    names = setting_names()
    # A parse that found nothing would make this test vacuous.
    rt.assert_true(len(names) >= 20, "settings found in core/settings.c: %r"
                   % names)
    terms = documented_terms(page_text("roost.conf.5"))
    missing = [n for n in names if n not in terms]
    rt.assert_eq(missing, [], "settings missing from doc/roost.conf.5")


@R.test
def server_page_names_every_option():
    r = subprocess.run([rt.ROOST, "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    rt.assert_eq(r.returncode, 0, "roost --help exit status")
    options = re.findall(r"^\s+(-[A-Za-z]|--[a-z-]+)\b",
                         r.stdout.decode(), re.M)
    rt.assert_true(len(options) >= 4, "options in roost --help: %r" % options)
    terms = documented_terms(page_text("roost.8"))
    missing = [o for o in options if o not in terms]
    rt.assert_eq(missing, [], "options missing from doc/roost.8")


@R.test
def roostctl_page_names_every_command():
    roostctl = os.path.join(rt.BUILDDIR, "tools", "roostctl", "roostctl")
    if not os.path.exists(roostctl):
        raise rt.SkipTest("%s is not built" % roostctl)
    r = subprocess.run([roostctl, "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    rt.assert_eq(r.returncode, 0, "roostctl --help exit status")
    help_text = r.stdout.decode()
    listing = help_text.split("Commands", 1)[-1].split("Exit status", 1)[0]
    # "  auth test [-r RIP] USER" -> "auth test": words before the arguments.
    commands = [m.group(1) for m in
                re.finditer(r"^  ([a-z]+(?: [a-z]+)?)(?=\s|$)", listing, re.M)]
    rt.assert_true(len(commands) >= 10, "commands in roostctl --help: %r"
                   % commands)
    text = page_text("roostctl.1")
    missing = [c for c in commands if not re.search(
        r'^(?:\.B[RI]?\s+"?|\\fB)' + re.escape(c) + r'\b', text, re.M)]
    rt.assert_eq(missing, [], "commands missing from doc/roostctl.1")


R.main(setup)
