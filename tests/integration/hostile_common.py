"""Helpers shared by the hostile-client, fault and soak tests: the
server's processes by role (from their process titles), their memory
(PSS from /proc/PID/smaps_rollup, which counts shared pages once across
the server instead of once per process as RSS would, and private memory
for growth checks), their open
descriptors, which process holds the server end of a client's TCP
connection, and "a normal client still works" checks."""

import os
import socket

import roosttest as rt

ROLES = ("roost-login", "roost-auth", "roost-auth-worker", "roost-mail")


def title_of(pid):
    """The process title ("roost-mail alice 127.0.0.1", ...), or "" for a
    process that is gone."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return ""


def role_of(pid):
    """The process title's first word (roost-login, roost-auth, ...), or
    None for a process that is gone."""
    return title_of(pid).split(" ")[0] or None


def mail_workers_of(srv, user):
    """Mail workers whose title names user's session."""
    return [p for p in pids(srv, "roost-mail")
            if title_of(p).split(" ")[1:2] == [user]]


def pids(srv, role):
    return sorted(p for p in srv.children() if role_of(p) == role)


def smaps_kb(pid, fields):
    """Sum of the given /proc/PID/smaps_rollup fields in KiB; 0 for a
    process that is gone."""
    total = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.split(":")[0] in fields:
                    total += int(line.split()[1])
    except OSError:
        pass
    return total


def pss_kb(pid):
    """Proportional set size: shared pages divided among their users."""
    return smaps_kb(pid, ("Pss",))


def private_kb(pid):
    """Pages only this process uses (USS). Unlike PSS it does not change
    when another process sharing pages starts or exits, so it is what
    growth checks of one process compare."""
    return smaps_kb(pid, ("Private_Clean", "Private_Dirty"))


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def mem_total_kb(srv, roles=None, measure=pss_kb):
    """PSS (or another measure) summed over the master and its children
    (of the given roles)."""
    procs = [srv.proc.pid] + srv.children()
    if roles is not None:
        procs = [p for p in procs if role_of(p) in roles]
    return sum(measure(p) for p in procs)


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def login_fds(srv):
    return sum(fd_count(p) for p in pids(srv, "roost-login"))


def _tcp_inode(local_port, peer_port):
    """Inode of the server-side socket of the loopback connection from
    peer_port to local_port (/proc/net/tcp, ports in hex)."""
    want_local = ":%04X" % local_port
    want_peer = ":%04X" % peer_port
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1].endswith(want_local) and fields[2].endswith(want_peer):
                return fields[9]
    return None


def owner_of(srv, sock, server_port):
    """The pid among the server's processes that holds the server end of
    the client socket sock, or None."""
    inode = _tcp_inode(server_port, sock.getsockname()[1])
    if inode is None:
        return None
    target = "socket:[%s]" % inode
    for pid in srv.children():
        try:
            for fd in os.listdir("/proc/%d/fd" % pid):
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == target:
                    return pid
        except OSError:
            continue
    return None


def normal_session_works(srv, user, tls=False):
    """A normal client logs in, retrieves every message byte-exact against
    the disk and quits without deleting."""
    expected = srv.expected(user)
    c = srv.raw_login(user, tls=tls)
    try:
        st, listing = c.cmd_multi("UIDL")
        rt.assert_ok(st, "UIDL for a normal client")
        for line in listing.split(b"\r\n"):
            if not line:
                continue
            num, uidl = line.split(b" ")
            st, data = c.cmd_multi(b"RETR " + num)
            rt.assert_ok(st, "RETR %s for a normal client" % num.decode())
            rt.assert_bytes(rt.unstuff(data), expected[uidl.decode()],
                            "message %s for a normal client" % num.decode())
        rt.assert_ok(c.cmd("QUIT"), "QUIT for a normal client")
    finally:
        c.close()


def connect_quietly(port, count):
    """count TCP connections that send nothing (their greeting is left
    unread). Connection errors end the loop early; returns the sockets."""
    socks = []
    for _ in range(count):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port),
                                                  timeout=rt.TIMEOUT))
        except OSError:
            break
    return socks


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass
