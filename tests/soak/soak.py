#!/usr/bin/env python3
"""Soak test (not part of `make check`): holds CONNECTIONS concurrent
connections to one Roost server for --minutes, mixed

  * pre-auth clients that send CAPA now and then,
  * authenticated sessions that sit idle (a NOOP now and then),
  * authenticated sessions that download (RETR every message, compared
    byte-for-byte with the files, round after round),

then QUITs them all (each downloader deletes its first message), checks
every mailbox on disk byte-for-byte (exactly the downloaders' first
messages are gone) and that the server's memory (PSS summed over the
master and all its children) is back near where it started.

    ulimit -n 65536     # or run as root: the script raises its own limit
    ROOST_BUILDDIR=build tests/soak/soak.py [--minutes 3] [--connections 5000]

Authenticated sessions share mail workers (mail_worker_client_limit, default
32, as in production); the server runs with mail_process_limit (which counts
sessions) and login_client_limit raised to fit. Prints the
figures (connections held, errors, rounds, memory before/after) and exits
non-zero on any error."""

import argparse
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import roosttest as rt  # noqa: E402
import hostile_common as hc  # noqa: E402

# Shares of the connections: pre-auth, idle sessions, downloaders.
SHARE_PREAUTH = 0.4
SHARE_IDLE = 0.4
# Keep-alive period for the quiet clients, well inside the timeouts set
# below (login_idle_timeout 10m, mail_idle_timeout 10m).
KEEPALIVE_S = 30
# Memory after the run may exceed the starting level by this much:
# logins and auth keep warmed-up malloc arenas.
MEMORY_SLACK_KB = 32 * 1024
SETTLE_S = 5
# Idle mail workers exit WORKER_POOL_IDLE_MS (30 s) after their last
# session ends (core/master/worker-pool.c): the memory is measured once
# they are gone. Login processes give back what a burst left in their
# heaps MEMORY_RELEASE_DELAY_MS (5 s, < SETTLE_S) after it ended
# (core/memory-release.c).
WORKER_IDLE_S = 30
LOGIN_PROCESSES = 4


def user_name(i):
    return "soak%05d" % i


def messages(user):
    return [("17000000%02d.M%dP1.soak" % (k, k), "new",
             rt.make_message(user, b"soak %d" % k,
                             rt.big_body(2048 * (k + 1)), k))
            for k in range(3)]


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        sys.exit("soak: RLIMIT_NOFILE hard limit %d < %d; raise it "
                 "(ulimit -Hn, or run as root)" % (hard, need))
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=3)
    ap.add_argument("--connections", type=int, default=5000)
    a = ap.parse_args()
    n_pre = int(a.connections * SHARE_PREAUTH)
    n_idle = int(a.connections * SHARE_IDLE)
    n_dl = a.connections - n_pre - n_idle
    raise_nofile(2 * a.connections + 1024)
    srv = rt.Server("soak", extra_config="\n".join([
        "login_processes = %d" % LOGIN_PROCESSES,
        "login_client_limit = %d" % a.connections,
        "login_idle_timeout = 10m",
        "mail_process_limit = %d" % (a.connections + 100),
        # Every client comes from 127.0.0.1.
        "mail_sessions_per_ip_max = %d" % (a.connections + 100),
    ]))
    users = n_idle + n_dl
    print("soak: creating %d users" % users, flush=True)
    originals = {}
    for i in range(users):
        u = user_name(i)
        msgs = messages(u)
        srv.users[u] = rt.User(u, "pw-" + u, os.path.join(srv.home_root, u))
        os.makedirs(srv.users[u].home)
        srv.reset_mailbox(u, msgs)
        srv.chown(srv.users[u].home)
        originals[u] = {rt.uidl_of(n): d for n, _, d in msgs}
    srv.write_passwd()
    errors = []
    try:
        srv.start()
        time.sleep(SETTLE_S)
        mem_start = hc.mem_total_kb(srv)
        print("soak: server PSS at start %d KiB" % mem_start, flush=True)
        t0 = time.monotonic()
        pre = []
        for _ in range(n_pre):
            pre.append(srv.raw())
        sessions = []
        for i in range(users):
            sessions.append(srv.raw_login(user_name(i)))
        idle, dl = sessions[:n_idle], sessions[n_idle:]
        held = len(pre) + len(sessions)
        mem_peak = hc.mem_total_kb(srv)
        print("soak: %d connections open (%d pre-auth, %d idle, %d "
              "downloading) after %.0fs; server PSS %d KiB, %d processes"
              % (held, len(pre), len(idle), len(dl), time.monotonic() - t0,
                 mem_peak, len(srv.children()) + 1), flush=True)
        end = time.monotonic() + a.minutes * 60
        last_keepalive = time.monotonic()
        rounds = octets = 0
        while time.monotonic() < end:
            for j, c in enumerate(dl):
                u = user_name(n_idle + j)
                for num, uidl in enumerate(sorted(originals[u]), 1):
                    st, data = c.cmd_multi("RETR %d" % num)
                    if not st.startswith(b"+OK") or \
                            rt.unstuff(data) != rt.wire(originals[u][uidl]):
                        errors.append("RETR %d of %s: %r" % (num, u, st))
                    else:
                        octets += len(data)
                if time.monotonic() >= end:
                    break
            rounds += 1
            if time.monotonic() - last_keepalive >= KEEPALIVE_S:
                last_keepalive = time.monotonic()
                for c in pre:
                    st, _ = c.cmd_multi("CAPA")
                    if not st.startswith(b"+OK"):
                        errors.append("CAPA: %r" % st)
                for c in idle:
                    if not c.cmd("NOOP").startswith(b"+OK"):
                        errors.append("NOOP failed")
                mem_peak = max(mem_peak, hc.mem_total_kb(srv))
        print("soak: held %d connections for %.1f min: %d download rounds, "
              "%d MiB retrieved, peak PSS %d KiB"
              % (held, a.minutes, rounds, octets >> 20, mem_peak), flush=True)
        for c in pre + idle:
            if not c.cmd("QUIT").startswith(b"+OK"):
                errors.append("QUIT failed")
            c.close()
        for c in dl:
            if not c.cmd("DELE 1").startswith(b"+OK") or \
                    not c.cmd("QUIT").startswith(b"+OK"):
                errors.append("DELE/QUIT of a downloader failed")
            c.close()
        for i in range(users):
            u = user_name(i)
            srv.wait_unlocked(u)
            want = dict(originals[u])
            if i >= n_idle:
                del want[sorted(want)[0]]
            got = srv.disk_messages(u)
            if got != want:
                errors.append("mailbox of %s differs: %s on disk, %s expected"
                              % (u, sorted(got), sorted(want)))
        deadline = time.monotonic() + WORKER_IDLE_S + 30
        while hc.pids(srv, "roost-mail") and time.monotonic() < deadline:
            time.sleep(1)
        time.sleep(SETTLE_S)
        mem_end = hc.mem_total_kb(srv)
        print("soak: server PSS %d KiB at start, %d KiB at the peak, %d KiB "
              "after the clients left and idle workers exited" %
              (mem_start, mem_peak, mem_end), flush=True)
        by_role = {}
        for p in [srv.proc.pid] + srv.children():
            role = hc.role_of(p) or "?"
            by_role[role] = by_role.get(role, 0) + hc.pss_kb(p)
        print("soak: PSS by process kind after: %s" % ", ".join(
            "%s %d KiB" % kv for kv in sorted(by_role.items())), flush=True)
        if mem_end > mem_start + MEMORY_SLACK_KB:
            errors.append("memory did not return: %d KiB > %d + %d"
                          % (mem_end, mem_start, MEMORY_SLACK_KB))
        srv.stop()
    except Exception as e:
        errors.append("%s: %s" % (type(e).__name__, e))
        print(srv.log_tail(), flush=True)
    finally:
        srv.kill()
        if not errors:
            srv.cleanup()
    print("soak: %d errors%s" % (len(errors), "".join("\n  " + e
                                                      for e in errors[:20])))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
