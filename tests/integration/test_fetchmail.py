#!/usr/bin/env python3
"""Real mail retrieval agents against roost: mpop and fetchmail download and
delete whole mailboxes (plain, STARTTLS, implicit TLS with the generated
certificate), then keep mode with UIDL: files stay on the server and a
second run fetches nothing twice."""

import os
import pwd
import shutil
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_fetchmail")
S = None
MPOP = FETCHMAIL = None


def setup():
    global S, MPOP, FETCHMAIL
    MPOP = shutil.which("mpop")
    FETCHMAIL = shutil.which("fetchmail")
    if not MPOP and not FETCHMAIL:
        raise rt.SkipTest("neither mpop nor fetchmail is installed "
                          "(contrib/deps installs them)")
    S = R.server(rt.Server("fetch"))
    for name in ("m1", "m2", "f1", "f2"):
        S.add_user(name, name + " pw")
    S.start()


def body_of(data):
    """Body with LF line ends and a final LF, as an MDA stores it."""
    data = data.replace(b"\r\n", b"\n")
    if not data.endswith(b"\n"):
        data += b"\n"
    i = data.find(b"\n\n")
    return data[i + 2:] if i >= 0 else b""


def header_lines(data):
    data = data.replace(b"\r\n", b"\n")
    return data[:data.find(b"\n\n")].split(b"\n")


def check_delivered(got, sent, what):
    """got: contents the client stored; sent: the messages that were on the
    server. Each must arrive exactly once (compared by body and headers)."""
    rt.assert_eq(len(got), len(sent), "%s: number of messages delivered" % what)
    want = sorted(body_of(d) for d in sent)
    have = sorted(body_of(d) for d in got)
    for w, h in zip(want, have):
        rt.assert_bytes(h, w, "%s: a message body" % what)
    for d in sent:
        mid = [h for h in header_lines(d) if h.startswith(b"Message-ID:")][0]
        n = sum(1 for g in got if mid in header_lines(g))
        rt.assert_eq(n, 1, "%s: copies of %r delivered" % (what, mid))


def new_maildir(path):
    shutil.rmtree(path, ignore_errors=True)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, sub))
    return path


def read_maildir(path):
    out = []
    for sub in ("new", "cur"):
        for n in sorted(os.listdir(os.path.join(path, sub))):
            with open(os.path.join(path, sub, n), "rb") as f:
                out.append(f.read())
    return out


def run(cmd, what, ok_codes=(0,), env=None):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=60, env=env)
    out = r.stdout.decode(errors="replace")
    if r.returncode not in ok_codes:
        raise AssertionError("%s: %s exited with %d (expected %s):\n%s"
                             % (what, os.path.basename(cmd[0]), r.returncode,
                                ok_codes, out))
    return out


def private_file(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return path


def more_messages(user, tag, count):
    out = []
    for i in range(count):
        data = rt.make_message(user, b"%s %d" % (tag, i),
                               b"new mail %s %d\n.dotted\n" % (tag, i), 10 + i,
                               b"X-Serial: %d %f\n" % (i, time.time()))
        S.deliver(user, data)
        out.append(data)
    return out


# ---------------------------------------------------------------------------
# mpop

def mpop_conf(user, work, tls, keep, out):
    u = S.users[user]
    lines = ["defaults", "timeout 30", "received_header off",
             "account %s" % user, "host 127.0.0.1",
             "user %s" % user, "password %s" % u.password,
             "delivery maildir %s" % out,
             "uidls_file %s" % os.path.join(work, user + ".uidls"),
             "keep %s" % ("on" if keep else "off"),
             "only_new on"]
    if tls == "plain":
        lines += ["port %d" % S.pop3_port, "tls off", "auth user"]
    elif tls == "stls":
        lines += ["port %d" % S.pop3_port, "tls on", "tls_starttls on",
                  "tls_trust_file %s" % S.cert, "auth plain"]
    else:
        lines += ["port %d" % S.pop3s_port, "tls on", "tls_starttls off",
                  "tls_trust_file %s" % S.cert, "auth user"]
    return private_file(os.path.join(work, user + "-%s.mpoprc" % tls),
                        "\n".join(lines) + "\n")


def mpop(user, work, tls, keep, out):
    conf = mpop_conf(user, work, tls, keep, out)
    return run([MPOP, "--file=" + conf, user], "mpop %s %s" % (user, tls))


def mpop_delete_all(user, tls):
    if not MPOP:
        raise rt.SkipTest("mpop is not installed")
    S.reset_mailbox(user)
    sent = list(S.disk_messages(user).values())
    work = os.path.join(S.dir, "mpop-" + user + "-" + tls)
    os.makedirs(work, exist_ok=True)
    out = new_maildir(os.path.join(work, "out"))
    mpop(user, work, tls, False, out)
    check_delivered(read_maildir(out), sent, "mpop %s" % tls)
    S.wait_unlocked(user)
    rt.assert_eq(S.disk_files(user), [], "%s's new/ and cur/ after mpop "
                 "without keep" % user)


@R.test
def mpop_download_delete_plain():
    mpop_delete_all("m1", "plain")


@R.test
def mpop_download_delete_starttls():
    mpop_delete_all("m1", "stls")


@R.test
def mpop_download_delete_pop3s():
    mpop_delete_all("m2", "pop3s")


@R.test
def mpop_keep_uses_uidl():
    if not MPOP:
        raise rt.SkipTest("mpop is not installed")
    user = "m2"
    S.reset_mailbox(user, [])
    work = os.path.join(S.dir, "mpop-keep")
    os.makedirs(work, exist_ok=True)
    out = new_maildir(os.path.join(work, "out"))
    first = more_messages(user, b"keep1", 2)
    S.wait_unlocked(user)     # moves them to cur/
    on_server = S.disk_messages(user)
    mpop(user, work, "pop3s", True, out)
    check_delivered(read_maildir(out), first, "mpop keep, first run")
    S.wait_unlocked(user)
    rt.assert_eq(S.disk_messages(user), on_server, "mailbox after mpop keep")
    second = more_messages(user, b"keep2", 1)
    mpop(user, work, "pop3s", True, out)
    check_delivered(read_maildir(out), first + second, "mpop keep, second run "
                    "(only the new message may be fetched)")
    S.wait_unlocked(user)
    rt.assert_eq(len(S.disk_files(user)), 3, "files on the server after two "
                 "keep runs")
    mpop(user, work, "pop3s", True, out)
    rt.assert_eq(len(read_maildir(out)), 3, "messages after a third keep run")


# ---------------------------------------------------------------------------
# fetchmail

MDA = r'''#!/bin/sh
# stores each message fetchmail hands over in its own file
exec cat > "%s/$(date +%%s%%N).$$"
'''


def fetchmail(user, work, tls, keep, outdir):
    u = S.users[user]
    mda = os.path.join(work, "mda.sh")
    with open(mda, "w") as f:
        f.write(MDA % outdir)
    os.chmod(mda, 0o755)
    if tls == "plain":
        tlsopts = "sslproto ''"
        port = S.pop3_port
    elif tls == "stls":
        tlsopts = "sslproto tls1.2+ sslcertck sslcertfile '%s' sslcommonname localhost" % S.cert
        port = S.pop3_port
    else:
        tlsopts = "ssl sslcertck sslcertfile '%s' sslcommonname localhost" % S.cert
        port = S.pop3s_port
    rc = private_file(os.path.join(work, "fetchmailrc-" + tls), (
        "set no syslog\n"
        "set no bouncemail\n"
        "set invisible\n"
        "poll 127.0.0.1 with proto POP3 port %d uidl timeout 30\n"
        "  user '%s' there with password '%s' is '%s' here\n"
        "  options %s no rewrite stripcr %s\n"
        "  mda '%s'\n"
        % (port, user, u.password, pwd.getpwuid(os.getuid()).pw_name,
           # keep: UIDL decides what is new; otherwise take everything
           "keep" if keep else "no keep fetchall", tlsopts, mda)))
    env = dict(os.environ, HOME=work, FETCHMAILHOME=work)
    # 0: mail fetched, 1: no mail.
    return run([FETCHMAIL, "-f", rc, "--idfile", os.path.join(work, "idfile"),
                "--pidfile", os.path.join(work, "fetchmail.pid"), "-v",
                "--nosyslog"],
               "fetchmail %s %s" % (user, tls), ok_codes=(0, 1), env=env)


def read_dir(path):
    out = []
    for n in sorted(os.listdir(path)):
        with open(os.path.join(path, n), "rb") as f:
            out.append(f.read())
    return out


def fetch_delete_all(user, tls):
    if not FETCHMAIL:
        raise rt.SkipTest("fetchmail is not installed")
    S.reset_mailbox(user)
    sent = list(S.disk_messages(user).values())
    work = os.path.join(S.dir, "fm-%s-%s" % (user, tls))
    outdir = os.path.join(work, "out")
    os.makedirs(outdir)
    log = fetchmail(user, work, tls, False, outdir)
    try:
        check_delivered(read_dir(outdir), sent, "fetchmail %s" % tls)
        S.wait_unlocked(user)
        rt.assert_eq(S.disk_files(user), [], "%s's new/ and cur/ after "
                     "fetchmail without keep" % user)
    except AssertionError:
        print("fetchmail output:\n" + log)
        raise


@R.test
def fetchmail_download_delete_plain():
    fetch_delete_all("f1", "plain")


@R.test
def fetchmail_download_delete_starttls():
    fetch_delete_all("f1", "stls")


@R.test
def fetchmail_download_delete_pop3s():
    fetch_delete_all("f2", "pop3s")


@R.test
def fetchmail_keep_uses_uidl():
    if not FETCHMAIL:
        raise rt.SkipTest("fetchmail is not installed")
    user = "f2"
    S.reset_mailbox(user, [])
    work = os.path.join(S.dir, "fm-keep")
    outdir = os.path.join(work, "out")
    os.makedirs(outdir)
    first = more_messages(user, b"fkeep1", 2)
    log = fetchmail(user, work, "pop3s", True, outdir)
    try:
        check_delivered(read_dir(outdir), first, "fetchmail keep, first run")
        S.wait_unlocked(user)
        rt.assert_eq(len(S.disk_files(user)), 2, "files on the server after "
                     "fetchmail keep")
        second = more_messages(user, b"fkeep2", 1)
        log = fetchmail(user, work, "pop3s", True, outdir)
        check_delivered(read_dir(outdir), first + second, "fetchmail keep, "
                        "second run (only the new message may be fetched)")
        S.wait_unlocked(user)
        rt.assert_eq(len(S.disk_files(user)), 3, "files on the server after two "
                     "keep runs")
    except AssertionError:
        print("fetchmail output:\n" + log)
        raise


R.main(setup)
