#!/usr/bin/env python3
"""POP3 over raw sockets: pipelining, hostile input (NUL, control bytes,
long lines), STARTTLS command injection, wrong states, bad arguments, SASL
exchanges, and LIST sizes against the exact bytes RETR sends."""

import base64
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_raw_protocol")
S = None


def setup():
    global S
    S = R.server(rt.Server("raw"))
    S.add_user("alice", "secret")
    S.add_user("bob", "bobpw")
    S.start()


def logged_in(user="alice", tls=False):
    return S.raw_login(user, tls)


def parse_listing(data):
    out = {}
    for line in data.split(b"\r\n")[:-1]:
        num, val = line.split()
        out[int(num)] = val
    return out


@R.test
def greeting():
    S.wait_unlocked("alice")
    c = S.raw()
    rt.assert_eq(c.greeting, b"+OK Roost ready.\r\n", "greeting")
    rt.assert_ok(c.cmd("QUIT"), "QUIT in AUTHORIZATION")
    rt.assert_true(c.expect_eof(), "connection not closed after QUIT")
    c.close()


@R.test
def pipelined_session():
    S.reset_mailbox("alice")
    disk = S.disk_messages("alice")
    S.wait_unlocked("alice")
    c = S.raw()
    try:
        c.send(b"USER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\n"
               b"QUIT\r\n")
        rt.assert_ok(c.readline(), "USER (pipelined)")
        rt.assert_ok(c.readline(), "PASS (pipelined)")
        stat = c.readline()
        rt.assert_ok(stat, "STAT (pipelined)")
        lst = c.readline()
        rt.assert_ok(lst, "LIST (pipelined)")
        sizes = parse_listing(c.read_multiline())
        uidl = c.readline()
        rt.assert_ok(uidl, "UIDL (pipelined)")
        uidls = parse_listing(c.read_multiline())
        retr = c.readline()
        rt.assert_ok(retr, "RETR 1 (pipelined)")
        body = c.read_multiline()
        rt.assert_ok(c.readline(), "QUIT (pipelined)")
        rt.assert_true(c.expect_eof(), "connection not closed after QUIT")
    finally:
        c.close()
    want = {u: rt.wire(d) for u, d in disk.items()}
    rt.assert_eq(stat.split()[1:3], [str(len(want)).encode(),
                                     str(sum(map(rt.pop3_size, disk.values()))).encode()],
                 "STAT reply %r" % stat)
    rt.assert_eq(sorted(v.decode() for v in uidls.values()), sorted(want),
                 "UIDL listing")
    for n, u in uidls.items():
        rt.assert_eq(int(sizes[n]), rt.pop3_size(disk[u.decode()]),
                     "LIST size of %d" % n)
    rt.assert_bytes(body, rt.stuff(want[uidls[1].decode()]), "RETR 1 (pipelined)")
    rt.assert_eq(S.disk_messages("alice"), disk, "mailbox after the session")


@R.test
def pipelined_after_greeting_before_read():
    """Everything in one write before reading even the greeting."""
    c = S.raw(greeting=False)
    try:
        c.send(b"CAPA\r\nNOOP\r\nUSER bob\r\nPASS bobpw\r\nNOOP\r\nQUIT\r\n")
        rt.assert_ok(c.readline(), "greeting")
        rt.assert_ok(c.readline(), "CAPA")
        capa = c.read_multiline()
        rt.assert_true(b"UIDL\r\n" in capa, "UIDL not in CAPA %r" % capa)
        rt.assert_err(c.readline(), "NOOP in AUTHORIZATION")
        rt.assert_ok(c.readline(), "USER")
        rt.assert_ok(c.readline(), "PASS")
        rt.assert_ok(c.readline(), "NOOP in TRANSACTION")
        rt.assert_ok(c.readline(), "QUIT")
    finally:
        c.close()


@R.test
def nul_and_control_bytes():
    S.wait_unlocked("alice")
    c = S.raw()
    try:
        rt.assert_err(c.cmd(b"USER ali\0ce"), "USER with a NUL byte")
        rt.assert_err(c.cmd(b"US\x01ER alice"), "USER with a control byte")
        rt.assert_ok(c.cmd("USER alice"), "USER after bad lines")
        r = c.cmd(b"PASS secret\0garbage")
        rt.assert_err(r, "PASS with a NUL byte after the right password")
        rt.assert_ok(c.cmd("USER alice"), "USER again")
        rt.assert_ok(c.cmd("PASS secret"), "PASS after bad lines")
        rt.assert_err(c.cmd(b"NO\0OP"), "NOOP with a NUL byte")
        rt.assert_err(c.cmd(b"NOOP\x7f"), "NOOP with DEL")
        rt.assert_err(c.cmd(b"STAT\x1b[0m"), "STAT with an escape sequence")
        rt.assert_err(c.cmd(b"RETR 1\0"), "RETR with a NUL byte")
        rt.assert_ok(c.cmd("NOOP"), "NOOP after bad lines")
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
    finally:
        c.close()


def check_long_line(c, line, what):
    """One -ERR for the whole line, nothing of it executed; then either the
    connection is closed or the session goes on."""
    c.send(line + b"\r\nNOOP\r\n")
    rt.assert_err(c.readline(), what)
    try:
        nxt = c.readline()
    except (EOFError, ConnectionResetError):
        return False
    return nxt


@R.test
def long_command_lines():
    S.wait_unlocked("alice")
    c = S.raw()
    try:
        # 1 KiB; a split of it would yield a second reply before NOOP's.
        nxt = check_long_line(c, b"USER " + b"a" * 1019, "1 KiB USER line")
        if nxt is not False:
            rt.assert_err(nxt, "NOOP in AUTHORIZATION after the long line "
                          "(a second reply means part of the line ran)")
            rt.assert_ok(c.cmd("USER alice"), "USER after a long line")
            rt.assert_ok(c.cmd("PASS secret"), "PASS after a long line")
        else:
            c.close()
            c = logged_in()
        nxt = check_long_line(c, b"NOOP " + b"x" * 300 + b" QUIT " + b"y" * 700,
                              "1 KiB NOOP line")
        if nxt is not False:
            rt.assert_ok(nxt, "NOOP after the long line (anything else means "
                         "part of the line ran)")
            rt.assert_ok(c.cmd("NOOP"), "NOOP")
            rt.assert_ok(c.cmd("QUIT"), "QUIT")
    finally:
        c.close()


@R.test
def unknown_commands():
    S.wait_unlocked("alice")
    c = S.raw()
    try:
        rt.assert_err(c.cmd("XYZZY"), "unknown command before login")
        rt.assert_err(c.cmd(""), "empty line before login")
        c.login("alice", "secret")
        rt.assert_err(c.cmd("XYZZY 1 2"), "unknown command after login")
        rt.assert_err(c.cmd("%s%s%n%x"), "format string as a command")
        rt.assert_ok(c.cmd("noop"), "lower-case noop")
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
    finally:
        c.close()


@R.test
def stls_injection_is_not_executed():
    for injected in (b"CAPA\r\n", b"USER alice\r\nPASS secret\r\n"):
        c = S.raw()
        try:
            c.send(b"STLS\r\n" + injected)
            r = c.readline()
            rt.assert_ok(r, "STLS")
            rt.assert_eq(c.buf, b"", "plaintext after the STLS reply")
            c.sock = S.client_context().wrap_socket(c.sock,
                                                    server_hostname="localhost")
            c.send(b"CAPA\r\nSTAT\r\nQUIT\r\n")
            r = c.readline()
            rt.assert_ok(r, "first reply after the handshake (to our CAPA; "
                         "injected %r)" % injected)
            capa = c.read_multiline()
            rt.assert_true(b"USER" in capa and b"STLS" not in capa,
                           "CAPA after STLS: %r" % capa)
            for line in capa.split(b"\r\n"):
                rt.assert_true(not line.startswith((b"+OK", b"-ERR", b"+ ")),
                               "a status line inside the CAPA reply (an answer "
                               "to the injected %r?): %r" % (injected, capa))
            rt.assert_err(c.readline(), "STAT after STLS (must not be logged "
                          "in; injected %r)" % injected)
            r = c.readline()
            rt.assert_eq(r[:3], b"+OK", "reply to QUIT (anything else is an "
                         "answer to the injected %r): %r" % (injected, r))
            rt.assert_true(c.expect_eof(), "connection open after QUIT")
            rt.assert_eq(c.buf, b"", "extra replies after QUIT")
        finally:
            c.close()


@R.test
def stls_twice_and_after_login():
    S.wait_unlocked("alice")
    c = S.raw()
    try:
        c.starttls(S.client_context())
        rt.assert_err(c.cmd("STLS"), "STLS inside TLS")
        c.login("alice", "secret")
        rt.assert_err(c.cmd("STLS"), "STLS after login")
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
    finally:
        c.close()
    c = S.raw(tls=True)
    try:
        rt.assert_err(c.cmd("STLS"), "STLS on pop3s")
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
    finally:
        c.close()


@R.test
def commands_in_the_wrong_state():
    S.wait_unlocked("alice")
    c = S.raw()
    try:
        for cmd in ("STAT", "LIST", "LIST 1", "UIDL", "RETR 1", "TOP 1 0",
                    "DELE 1", "RSET", "NOOP", "PASS secret"):
            rt.assert_err(c.cmd(cmd), "%s before login" % cmd)
        c.login("alice", "secret")
        for cmd in ("USER alice", "PASS secret", "AUTH PLAIN " +
                    rt.plain_b64("", "alice", "secret"), "APOP alice "
                    "c4c9334bac560ecc979e58001b3e22fb"):
            rt.assert_err(c.cmd(cmd), "%s after login" % cmd.split()[0])
        rt.assert_ok(c.cmd("NOOP"), "NOOP after the refused commands")
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
    finally:
        c.close()


@R.test
def bad_message_numbers():
    S.reset_mailbox("alice")
    c = logged_in()
    try:
        n = int(c.cmd("STAT").split()[1])
        for arg in ("0", "99999", "-1", "1x", "", "0x1", "+1", "1 1",
                    str(n + 1), "4294967297", "18446744073709551617",
                    "99999999999999999999999999"):
            rt.assert_err(c.cmd("RETR " + arg if arg else "RETR"), "RETR %r" % arg)
            if arg:
                rt.assert_err(c.cmd("LIST " + arg), "LIST %r" % arg)
            rt.assert_err(c.cmd("DELE " + arg if arg else "DELE"), "DELE %r" % arg)
        for arg in ("1", "1 -1", "1 x", "0 0", "%d 0" % (n + 1), "1 0 0"):
            rt.assert_err(c.cmd("TOP " + arg), "TOP %r" % arg)
        rt.assert_ok(c.cmd("DELE 1"), "DELE 1")
        rt.assert_err(c.cmd("DELE 1"), "DELE 1 twice")
        rt.assert_err(c.cmd("RETR 1"), "RETR of a deleted message")
        rt.assert_err(c.cmd("LIST 1"), "LIST of a deleted message")
        rt.assert_err(c.cmd("UIDL 1"), "UIDL of a deleted message")
        rt.assert_err(c.cmd("TOP 1 0"), "TOP of a deleted message")
        st, lst = c.cmd_multi("LIST")
        rt.assert_true(b"1" not in parse_listing(lst) and 1 not in parse_listing(lst),
                       "deleted message 1 still in LIST: %r" % lst)
        rt.assert_eq(int(c.cmd("STAT").split()[1]), n - 1, "STAT after DELE 1")
        rt.assert_ok(c.cmd("RSET"), "RSET")
        rt.assert_eq(int(c.cmd("STAT").split()[1]), n, "STAT after RSET")
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
    finally:
        c.close()
    rt.assert_eq(len(S.disk_files("alice")), n, "files on disk after RSET and QUIT")


@R.test
def list_sizes_equal_retr_octets():
    S.reset_mailbox("alice")
    disk = S.disk_messages("alice")
    for tls in (False, True):
        c = logged_in(tls=tls)
        try:
            st, lst = c.cmd_multi("LIST")
            sizes = {n: int(s) for n, s in parse_listing(lst).items()}
            st, ul = c.cmd_multi("UIDL")
            uidls = {n: u.decode() for n, u in parse_listing(ul).items()}
            rt.assert_eq(sorted(sizes), sorted(uidls), "LIST vs UIDL numbers")
            for n, size in sorted(sizes.items()):
                one = c.cmd("LIST %d" % n)
                rt.assert_eq(one, b"+OK %d %d\r\n" % (n, size), "LIST %d" % n)
                one = c.cmd("UIDL %d" % n)
                rt.assert_eq(one, b"+OK %d %s\r\n" % (n, uidls[n].encode()),
                             "UIDL %d" % n)
                status, raw = c.cmd_multi("RETR %d" % n)
                rt.assert_ok(status, "RETR %d" % n)
                want = rt.wire(disk[uidls[n]])
                rt.assert_bytes(raw, rt.stuff(want), "RETR %d as sent (dot-stuffed, "
                                "CRLF)" % n)
                rt.assert_eq(size, rt.pop3_size(disk[uidls[n]]), "LIST %d: the "
                             "octets of RETR before dot-stuffing, without the "
                             "CRLF added to an unterminated last line" % n)
                status, raw = c.cmd_multi("TOP %d 2" % n)
                rt.assert_bytes(raw, rt.stuff(rt.top_wire(disk[uidls[n]], 2)),
                                "TOP %d 2 as sent" % n)
            rt.assert_ok(c.cmd("QUIT"), "QUIT")
        finally:
            c.close()


@R.test
def sasl_exchanges():
    # PLAIN with an initial response.
    S.wait_unlocked("alice")
    c = S.raw()
    try:
        rt.assert_ok(c.cmd("AUTH PLAIN " + rt.plain_b64("", "alice", "secret")),
                     "AUTH PLAIN with initial response")
        rt.assert_ok(c.cmd("STAT"), "STAT after AUTH PLAIN")
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
    finally:
        c.close()
    S.wait_unlocked("alice")
    # PLAIN without initial response, then LOGIN; wrong password; cancel.
    S.wait_unlocked("alice")
    c = S.raw()
    try:
        r = c.cmd("AUTH PLAIN")
        rt.assert_true(r.startswith(b"+ ") or r == b"+\r\n",
                       "AUTH PLAIN challenge: %r" % r)
        rt.assert_err(c.cmd(rt.plain_b64("", "alice", "wrong")), "AUTH PLAIN wrong "
                      "password", b"-ERR [AUTH]")
        r = c.cmd("AUTH PLAIN")
        rt.assert_true(r.startswith(b"+"), "AUTH PLAIN challenge: %r" % r)
        rt.assert_err(c.cmd("*"), "cancelled AUTH")
        rt.assert_err(c.cmd("AUTH PLAIN !!!notbase64"), "bad base64")
        rt.assert_err(c.cmd("AUTH X-NOSUCH"), "unknown mechanism")
        r = c.cmd("AUTH LOGIN")
        rt.assert_true(r.startswith(b"+"), "AUTH LOGIN first challenge: %r" % r)
        r = c.cmd(base64.b64encode(b"bob").decode())
        rt.assert_true(r.startswith(b"+"), "AUTH LOGIN second challenge: %r" % r)
        rt.assert_ok(c.cmd(base64.b64encode(b"bobpw").decode()), "AUTH LOGIN")
        rt.assert_ok(c.cmd("STAT"), "STAT after AUTH LOGIN")
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
    finally:
        c.close()
    # A NUL-separated PLAIN blob must not be cut at the password's end.
    S.wait_unlocked("alice")
    c = S.raw()
    try:
        blob = base64.b64encode(b"\0alice\0secret\0extra").decode()
        rt.assert_err(c.cmd("AUTH PLAIN " + blob), "AUTH PLAIN with a NUL in the "
                      "password field")
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
    finally:
        c.close()


R.main(setup)
