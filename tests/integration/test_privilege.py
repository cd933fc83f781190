#!/usr/bin/env python3
"""Privilege separation, as root only (exit 77 otherwise): the master runs
as root, login processes as roostlogin, auth as roost, a mail worker as the
mailbox owner (real, effective and saved ids), a session cannot reach
another owner's mailbox, and uid 0 is never a mailbox owner. Prints the
process table for the record."""

import os
import poplib
import pwd
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

if os.geteuid() != 0:
    rt.skip("test_privilege needs root (the privilege-separated path)")

R = rt.Runner("test_privilege")
S = None
LOGIN_USER, AUTH_USER = "roostlogin", "roost"
OWNERS = ("roosttest1", "roosttest2")


def ensure_user(name, system):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    cmd = [useradd, "--no-create-home", "--shell", "/usr/sbin/nologin",
           "--user-group"]
    if system:
        cmd.append("--system")
    cmd.append(name)
    rt.log("creating user %s: %s" % (name, " ".join(cmd)))
    subprocess.run(cmd, check=True, timeout=60)
    return pwd.getpwnam(name)


def setup():
    global S
    ensure_user(LOGIN_USER, True)
    auth = ensure_user(AUTH_USER, True)
    login = pwd.getpwnam(LOGIN_USER)
    owners = [ensure_user(n, False) for n in OWNERS]
    if owners[0].pw_uid == owners[1].pw_uid:
        raise AssertionError("%s and %s share uid %d" % (OWNERS + (owners[0].pw_uid,)))
    S = R.server(rt.Server("privileged", privileged=True))
    S.passwd_gid = auth.pw_gid
    for pw in owners:
        home = os.path.join(S.home_root, pw.pw_name)
        S.add_user(pw.pw_name, pw.pw_name + " pw", uid=str(pw.pw_uid),
                   gid=str(pw.pw_gid), home=home)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        os.chmod(home, 0o700)
    # A login whose uid is roosttest1's but whose mail location is
    # roosttest2's mailbox (0700, owned by roosttest2).
    p1, p2 = owners
    S.add_user("intruder", "intruder pw", uid=str(p1.pw_uid), gid=str(p1.pw_gid),
               home=os.path.join(S.home_root, p1.pw_name),
               mail="maildir:" + S.users[p2.pw_name].maildir, messages=None)
    # uid 0 must never own a session.
    S.add_user("rootmail", "rootmail pw", uid="0", gid="0")
    # Who may read what: the key for login processes, the passwd-file for
    # auth only.
    os.chown(S.key, 0, login.pw_gid)
    os.chmod(S.key, 0o640)
    S.start()


def ps_table():
    """[(user, pid, ppid, args)] for the master and all its descendants."""
    pids = {S.proc.pid} | set(rt.descendants(S.proc.pid))
    r = subprocess.run(["ps", "-eo", "user:20,pid,ppid,args"], stdout=subprocess.PIPE,
                       timeout=30, check=True)
    lines = r.stdout.decode(errors="replace").splitlines()
    rows, shown = [], [lines[0]]
    for line in lines[1:]:
        f = line.split(None, 3)
        if len(f) >= 3 and int(f[1]) in pids:
            rows.append((f[0], int(f[1]), int(f[2]), f[3] if len(f) > 3 else ""))
            shown.append(line)
    rt.log("\n".join(["---- ps -o user,pid,ppid,args (master %d and "
                      "descendants) ----" % S.proc.pid] + shown + ["----"]))
    return rows


def ids(pid):
    """(real, effective, saved, fs) uids and gids, and supplementary groups."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups"):
                out[k] = [int(x) for x in v.split()]
    return out


def chroot_of(pid):
    try:
        return os.readlink("/proc/%d/root" % pid)
    except OSError as e:
        return "?(%s)" % e.strerror


def check_ids(pid, user, what):
    pw = pwd.getpwnam(user)
    i = ids(pid)
    rt.assert_eq(i["Uid"], [pw.pw_uid] * 4, "%s (pid %d) real/effective/saved/fs "
                 "uid" % (what, pid))
    rt.assert_eq(i["Gid"], [pw.pw_gid] * 4, "%s (pid %d) real/effective/saved/fs "
                 "gid" % (what, pid))
    rt.assert_true(0 not in i["Groups"], "%s (pid %d) keeps supplementary group "
                   "0: %r" % (what, pid, i["Groups"]))


@R.test
def process_users_at_rest():
    # A child is forked as root and drops its privileges right after:
    # give the table up to 5 seconds to settle before judging it.
    deadline = time.monotonic() + 5
    while True:
        rows = ps_table()
        if time.monotonic() >= deadline or not [
                r for r in rows if r[0] == "root" and r[1] != S.proc.pid]:
            break
        time.sleep(0.1)
    master = [r for r in rows if r[1] == S.proc.pid]
    rt.assert_eq(len(master), 1, "master in the process table")
    rt.assert_eq(master[0][0], "root", "user of the master")
    kids = [r for r in rows if r[1] != S.proc.pid]
    logins = [r for r in kids if r[0] == LOGIN_USER]
    auths = [r for r in kids if r[0] == AUTH_USER
             and not r[3].startswith(("roost-auth-worker", "roost-key"))]
    # The TLS key processes (one per login process) run as the auth user.
    keys = [r for r in kids if r[3].startswith("roost-key")]
    rt.assert_eq(len(keys), len(logins), "key processes (one per login process)")
    for r in keys:
        check_ids(r[1], AUTH_USER, "TLS key process")
    # The auth process's workers run as the auth user too.
    auth_workers = [r for r in kids if r[3].startswith("roost-auth-worker")]
    rt.assert_true(len(auth_workers) >= 1, "no auth worker process")
    for r in auth_workers:
        check_ids(r[1], AUTH_USER, "auth worker")
    rt.assert_true(len(logins) >= 1, "no process runs as %s" % LOGIN_USER)
    rt.assert_eq(len(auths), 1, "processes running as %s (auth)" % AUTH_USER)
    others = [r for r in kids if r[0] not in (LOGIN_USER, AUTH_USER)]
    rt.assert_eq(others, [], "children of the master that are neither login nor "
                 "auth before any session")
    for r in logins:
        check_ids(r[1], LOGIN_USER, "login process")
        rt.log("login process %d: root directory %s" % (r[1], chroot_of(r[1])))
    check_ids(auths[0][1], AUTH_USER, "auth process")


@R.test
def mail_worker_runs_as_the_owner():
    user = OWNERS[0]
    S.reset_mailbox(user)
    disk = S.disk_messages(user)
    p = S.login(user)
    try:
        rows = ps_table()
        workers = [r for r in rows if r[0] == user]
        rt.assert_eq(len(workers), 1, "processes running as %s during its session"
                     % user)
        rt.assert_eq(workers[0][2], S.proc.pid, "parent of the mail worker "
                     "(must be the master)")
        check_ids(workers[0][1], user, "mail worker")
        rt.assert_eq([r for r in rows if r[0] == "root"],
                     [r for r in rows if r[1] == S.proc.pid],
                     "processes running as root besides the master")
        # The worker reads the owner's 0700 mailbox.
        uidls = dict(line.split() for line in p.uidl()[1])
        rt.assert_eq(sorted(u.decode() for u in uidls.values()), sorted(disk),
                     "UIDLs of %s" % user)
        _, lines, _ = p.retr(1)
        rt.assert_bytes(b"".join(line + b"\r\n" for line in lines),
                        rt.wire(disk[uidls[b"1"].decode()]), "RETR 1 of %s" % user)
        p.dele(1)
        p.quit()
    except BaseException:
        p.close()
        raise
    left = S.disk_messages(user)
    rt.assert_eq(sorted(left), sorted(u for u in disk if u != uidls[b"1"].decode()),
                 "%s's mailbox after DELE 1 + QUIT" % user)
    owner = pwd.getpwnam(user)
    for rel in S.disk_files(user):
        st = os.stat(os.path.join(S.users[user].maildir, rel))
        rt.assert_eq((st.st_uid, st.st_gid), (owner.pw_uid, owner.pw_gid),
                     "owner of %s after the session" % rel)


@R.test
def cannot_reach_another_owners_mailbox():
    victim = OWNERS[1]
    S.reset_mailbox(victim)
    before = S.disk_files(victim)
    content = S.disk_messages(victim)
    p = S.pop("plain")
    try:
        p.user("intruder")
        try:
            r = p.pass_("intruder pw")
            try:
                n = p.stat()[0]
            except poplib.error_proto:
                n = None
            raise AssertionError("login with uid %s into %s's mailbox succeeded: "
                                 "%r, STAT count %r" % (OWNERS[0], victim, r, n))
        except poplib.error_proto as e:
            rt.log("intruder PASS reply: %r" % e.args[0])
            rt.assert_err(e.args[0], "PASS of a user whose mail location is "
                          "another owner's mailbox")
    finally:
        p.close()
    rt.assert_eq(S.disk_files(victim), before, "%s's files (names, new/ vs cur/)"
                 % victim)
    rt.assert_eq(S.disk_messages(victim), content, "%s's messages" % victim)
    # The owner still gets in.
    p = S.login(victim)
    rt.assert_eq(p.stat()[0], len(content), "STAT of %s" % victim)
    p.quit()


@R.test
def uid_0_is_never_a_mailbox_owner():
    p = S.pop("plain")
    try:
        p.user("rootmail")
        try:
            r = p.pass_("rootmail pw")
            raise AssertionError("a session with uid 0 was started: %r" % r)
        except poplib.error_proto as e:
            rt.log("uid 0 PASS reply: %r" % e.args[0])
            rt.assert_err(e.args[0], "PASS of a user with uid 0")
    finally:
        p.close()
    rows = ps_table()
    rt.assert_eq([r for r in rows if r[0] == "root"],
                 [r for r in rows if r[1] == S.proc.pid],
                 "processes running as root besides the master")


R.main(setup)
