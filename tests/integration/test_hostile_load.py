#!/usr/bin/env python3
"""Hostile clients in numbers: thousands of cancelled AUTH exchanges, a
thousand TLS handshakes that never finish, a client that never reads a
large RETR (plain and TLS), and a thousand clients that send a byte a
second. The server's memory is measured from /proc (private memory of
the processes concerned) before and after, with generous bounds: the point is to catch
per-exchange leaks and unbounded buffering, not to benchmark. While and
after each, a normal client still logs in and retrieves its mail.

Under AddressSanitizer (tests/sanitize-check) the allocator's quarantine
and shadow memory make RSS/PSS meaningless, so the memory bounds are
reported but not asserted there; LeakSanitizer covers leaks in that run
(test_hostile_leaks.py)."""

import os
import resource
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import hostile_common as hc  # noqa: E402

R = rt.Runner("test_hostile_load")
S = None

UNDER_ASAN = "ASAN_OPTIONS" in os.environ
# Two batches: the first warms up allocator pools and caches, the second
# must not grow memory beyond CANCEL_GROWTH_KB (a leak of even 100 bytes
# per exchange would show as 500 KiB... plus the same in auth).
CANCEL_WARMUP = 1000
CANCEL_COUNT = 5000
CANCEL_BATCH = 250
CANCEL_GROWTH_KB = 2 * 1024
HALF_OPEN = 1000
# Descriptors needed by this test process and the server for HALF_OPEN
# and SLOW_CLIENTS connections, with room for the rest.
NOFILE_NEEDED = 4096
# login_idle_timeout of the server below; the handshake deadline.
LOGIN_IDLE_S = 3
# A login process holds a few fds besides its clients'; this many more
# than before the flood means clients were not freed.
FD_SLACK = 20
# Rounds of HALF_OPEN; a leak would grow with every one.
HALF_OPEN_ROUNDS = 4
# MEMORY_RELEASE_DELAY_MS in core/memory-release.c.
MEMORY_RELEASE_DELAY_S = 5
# What two login processes may keep after the rounds: caches that fill
# once (GnuTLS, the penalty table) and malloc's own slack, against the
# 40-50 MiB the rounds leave without the trim.
RETURNED_SLACK_KB = 4096
BIG_MESSAGE = 32 * 1024 * 1024
# Worker/login growth allowed while a client does not read a BIG_MESSAGE
# RETR: a few stream buffers, far below the message size.
STALL_GROWTH_KB = 8 * 1024
SLOW_CLIENTS = 1000
SLOW_SECONDS = 8
# Normal sessions that must complete while the slow clients trickle.
NORMAL_DURING_SLOW = 5


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < NOFILE_NEEDED:
        return False
    if soft == resource.RLIM_INFINITY or soft < NOFILE_NEEDED:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536)
                                                    if hard != resource.RLIM_INFINITY
                                                    else 65536, hard))
    return True


def setup():
    global S
    if not raise_nofile():
        raise rt.SkipTest("RLIMIT_NOFILE hard limit below %d" % NOFILE_NEEDED)
    # The server inherits the raised descriptor limit.
    S = R.server(rt.Server("hostile-load", extra_config="\n".join([
        "login_idle_timeout = %ds" % LOGIN_IDLE_S,
        "mail_idle_timeout = 3s",
    ])))
    S.add_user("alice", "secret")
    S.add_user("bob", "secret")
    S.start()


def check_growth(what, before, after, limit):
    rt.log("%s: %d KiB before, %d KiB after (growth limit %d KiB%s)"
           % (what, before, after, limit, ", not asserted under ASan"
              if UNDER_ASAN else ""))
    if not UNDER_ASAN:
        rt.assert_true(after - before <= limit, "%s grew by %d KiB (limit %d)"
                       % (what, after - before, limit))


def login_auth_private():
    return hc.mem_total_kb(S, ("roost-login", "roost-auth", "roost-auth-worker"),
                           hc.private_kb)


def login_private():
    return hc.mem_total_kb(S, ("roost-login",), hc.private_kb)


def cancel_batch(c, count):
    """count AUTH exchanges cancelled with '*', pipelined: PLAIN at its
    first challenge, LOGIN after the user name."""
    user = rt.base64.b64encode(b"alice")
    req = b""
    for i in range(count):
        if i % 2:
            req += b"AUTH PLAIN\r\n*\r\n"
        else:
            req += b"AUTH LOGIN\r\n" + user + b"\r\n*\r\n"
    c.send(req)
    for i in range(count):
        steps = 1 if i % 2 else 2
        for _ in range(steps):
            rt.assert_eq(c.readline()[:1], b"+", "challenge %d" % i)
        rt.assert_err(c.readline(), "cancelled exchange %d" % i)


def cancel_many(total):
    done = 0
    c = S.raw()
    while done < total:
        try:
            cancel_batch(c, CANCEL_BATCH)
        except (EOFError, ConnectionResetError):
            # A server may end a connection after many failed exchanges;
            # go on on a new one.
            c.close()
            c = S.raw()
            continue
        done += CANCEL_BATCH
    c.close()


@R.test
def thousands_of_auth_cancellations_keep_memory_flat():
    cancel_many(CANCEL_WARMUP)
    hc.normal_session_works(S, "alice")
    before = login_auth_private()
    cancel_many(CANCEL_COUNT)
    hc.normal_session_works(S, "alice")
    check_growth("login+auth private memory over %d cancellations" % CANCEL_COUNT,
                 before, login_auth_private(), CANCEL_GROWTH_KB)


def partial_client_hello():
    # A TLS record header announcing 512 octets of handshake, then a few.
    return b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(16)


def half_open_round(fds_before):
    """HALF_OPEN connections that stop in the middle of a ClientHello,
    half on pop3s, half after STLS; normal logins while they are held;
    then waits until the timeout has closed every one."""
    socks = []
    for i in range(HALF_OPEN):
        if i % 2:
            s = socket.create_connection(("127.0.0.1", S.pop3s_port),
                                         timeout=rt.TIMEOUT)
        else:
            s = socket.create_connection(("127.0.0.1", S.pop3_port),
                                         timeout=rt.TIMEOUT)
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"STLS\r\n")
            rt.assert_ok(f.readline(), "STLS %d" % i)
        s.sendall(partial_client_hello())
        socks.append(s)
    held = hc.login_fds(S) - fds_before
    rt.log("login processes hold %d more descriptors with %d half-open "
           "handshakes" % (held, HALF_OPEN))
    rt.assert_true(held >= HALF_OPEN * 9 // 10, "the handshakes are held "
                   "(%d more descriptors)" % held)
    hc.normal_session_works(S, "bob")
    hc.normal_session_works(S, "bob", tls=True)
    # After the timeout (plus the close grace) every one is closed.
    deadline = time.monotonic() + LOGIN_IDLE_S + 15
    for s in socks:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            while s.recv(4096):
                pass
        except socket.timeout:
            raise AssertionError("a half-open handshake is still open %ds "
                                 "after login_idle_timeout" % 15)
        except OSError:
            pass
    hc.close_all(socks)
    rt.wait_for(lambda: hc.login_fds(S) <= fds_before + FD_SLACK,
                "the login processes' descriptors to return (%d before, %d now)"
                % (fds_before, hc.login_fds(S)))


@R.test
def half_open_tls_handshakes_are_freed_by_the_timeout():
    """Each round of HALF_OPEN abandoned handshakes is closed by the
    timeout, and the memory comes back: malloc keeps the freed sessions'
    pages (measured: 4 MB in use, 28 MB resident per login process after
    a round), so a login process trims its heap once its clients have
    dropped to a quarter of the peak (core/memory-release.c). A leak of the
    sessions (~20 KiB each) would not come back."""
    hc.normal_session_works(S, "alice")
    fds_before = hc.login_fds(S)
    start = login_private()
    for _ in range(HALF_OPEN_ROUNDS):
        half_open_round(fds_before)
    peak = login_private()
    settled = wait_memory_returns(start)
    rt.log("login private memory (KiB): %d at start, %d right after %d rounds, "
           "%d once trimmed" % (start, peak, HALF_OPEN_ROUNDS, settled))
    check_growth("login private memory after %d rounds of %d half-open "
                 "handshakes" % (HALF_OPEN_ROUNDS, HALF_OPEN), start, settled,
                 RETURNED_SLACK_KB)
    hc.normal_session_works(S, "alice")


def wait_memory_returns(start):
    """Login private memory once it is back within RETURNED_SLACK_KB of
    start, or after the trim delay plus a margin (then the last value)."""
    deadline = time.monotonic() + MEMORY_RELEASE_DELAY_S + 15
    now = login_private()
    while now - start > RETURNED_SLACK_KB and time.monotonic() < deadline:
        time.sleep(0.5)
        now = login_private()
    return now


def stalled_retr(tls):
    """Starts a RETR of the big message and never reads. Returns (client,
    worker pid, login pid or None)."""
    c = S.raw_login("bob", tls=tls)
    n = int(c.cmd("STAT").split()[1])
    worker = rt.wait_for(lambda: hc.mail_workers_of(S, "bob"),
                         "the mail worker of bob's session")[0]
    login = hc.owner_of(S, c.sock, S.pop3s_port) if tls else None
    c.send(b"RETR %d\r\n" % n)
    return c, worker, login


@R.test
def unread_large_retr_keeps_memory_bounded():
    S.reset_mailbox("bob")
    big = b"Subject: big\n\n" + (b"z" * 99 + b"\n") * (BIG_MESSAGE // 100)
    S.deliver("bob", big)
    for tls in (False, True):
        what = "TLS" if tls else "plain"
        login_before = login_private()
        c, worker, login = stalled_retr(tls)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        worker_first = hc.private_kb(worker)
        worst_worker = worst_login = 0
        for _ in range(20):
            time.sleep(0.1)
            worst_worker = max(worst_worker, hc.private_kb(worker))
            worst_login = max(worst_login, login_private())
        check_growth("mail worker private memory, %s client not reading a %d MiB RETR"
                     % (what, BIG_MESSAGE >> 20), worker_first, worst_worker,
                     STALL_GROWTH_KB)
        if tls:
            check_growth("login private memory, TLS client not reading a %d MiB RETR"
                         % (BIG_MESSAGE >> 20), login_before, worst_login,
                         STALL_GROWTH_KB)
        c.close()
        S.wait_unlocked("bob")
    S.reset_mailbox("bob")
    hc.normal_session_works(S, "bob")


@R.test
def slow_clients_do_not_stop_normal_logins():
    script = b"CAPA\r\nNOOP\r\n"
    socks = []
    for _ in range(SLOW_CLIENTS):
        s = socket.create_connection(("127.0.0.1", S.pop3_port),
                                     timeout=rt.TIMEOUT)
        s.setblocking(False)
        socks.append(s)
    done = []
    errors = []

    def normal_logins():
        try:
            for _ in range(NORMAL_DURING_SLOW):
                hc.normal_session_works(S, "alice")
                done.append(time.monotonic())
        except Exception as e:   # reported by the main thread
            errors.append(e)

    t = threading.Thread(target=normal_logins)
    t0 = time.monotonic()
    t.start()
    for i in range(SLOW_SECONDS):
        for s in socks:
            try:
                s.send(script[i % len(script):i % len(script) + 1])
            except BlockingIOError:
                pass
        time.sleep(max(0.0, t0 + i + 1 - time.monotonic()))
    t.join(timeout=60)
    rt.assert_true(not t.is_alive(), "normal logins finished within 60s")
    if errors:
        raise errors[0]
    rt.assert_eq(len(done), NORMAL_DURING_SLOW, "normal sessions completed "
                 "while %d clients trickled" % SLOW_CLIENTS)
    # The slow clients are still being served: each got its greeting and
    # none was closed for sending slowly.
    alive = 0
    for s in socks:
        s.setblocking(True)
        s.settimeout(5)
        try:
            if s.recv(4096).startswith(b"+OK"):
                alive += 1
        except OSError:
            pass
    hc.close_all(socks)
    rt.assert_eq(alive, SLOW_CLIENTS, "slow clients greeted and still open")
    hc.normal_session_works(S, "alice")


if __name__ == "__main__":
    R.main(setup)
