#!/usr/bin/env python3
"""Hostile bytes on the command line, before and after login, with debug
logging on: over-long lines with and without CRLF, NUL and control bytes
anywhere in a line, invalid UTF-8 user names, printf conversions in user
names, passwords and message headers, and message numbers that overflow
or are not numbers. After each, a normal client still logs in and
retrieves every message byte-exact.

Covered elsewhere (test_raw_protocol.py): commands pipelined after STLS
in the same packet are not executed (stls_injection_is_not_executed), and
RETR/DELE/LIST with bad numbers (bad_message_numbers); here UIDL and TOP
get the same numbers and the mailbox is checked afterwards."""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402
import hostile_common as hc  # noqa: E402

R = rt.Runner("test_hostile_input")
S = None

# RFC 2449 allows 255 octets; 256 is the first length that must be
# refused, 64 KiB is beyond every input buffer, 1 MiB makes a server that
# buffers whole lines show it.
LINE_LENGTHS = (256, 64 * 1024, 1024 * 1024)
# A line with no CRLF that fits the buffer is simply waited for; the
# server must close on EOF without executing it, within this long.
EOF_WAIT = 5
FORMAT = "%n%s%x%s%n%p%d%99999999s"
BAD_NUMBERS = ("0", "-1", "4294967297", "1x", "99999999999999999999")
BAD_BYTES = (b"\0", b"\x01", b"\x08", b"\t", b"\x0b", b"\x0c", b"\r",
             b"\x1b", b"\x7f")
BAD_UTF8 = (b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82",
            b"al\x80ice", b"\xf4\x90\x80\x80")


def setup():
    global S
    S = R.server(rt.Server("hostile-input", extra_config="log_debug = yes"))
    S.add_user("alice", "secret")
    S.add_user("fmt", FORMAT)
    S.start()


def client(logged_in):
    return S.raw_login("alice") if logged_in else S.raw()


def state(logged_in):
    return "after login" if logged_in else "before login"


def assert_alice_intact():
    """alice's mailbox holds the sample messages exactly (no command of
    the hostile ones deleted or altered anything)."""
    S.wait_unlocked("alice")
    on_disk = S.disk_messages("alice")
    want = {rt.uidl_of(n): d for n, _, d in rt.sample_messages("alice")}
    rt.assert_eq(sorted(on_disk), sorted(want), "alice's messages on disk")
    for u, d in want.items():
        rt.assert_bytes(on_disk[u], d, "message %s on disk" % u)


def assert_unharmed():
    """alice's mail is intact and a normal client still gets it."""
    assert_alice_intact()
    hc.normal_session_works(S, "alice")


@R.test
def long_lines_with_crlf_are_refused_whole():
    for logged_in in (False, True):
        for n in LINE_LENGTHS:
            c = client(logged_in)
            # DELE 1 inside the line: if any part ran, message 1 is gone.
            line = b"NOOP " + b"DELE 1 " * ((n - 5) // 7)
            line += b"x" * (n - len(line))
            c.send(line + b"\r\nCAPA\r\n")
            rt.assert_eq(c.readline(), b"-ERR Command line too long.\r\n",
                         "%d-octet line %s" % (n, state(logged_in)))
            # The very next reply is CAPA's: nothing of the line ran.
            rt.assert_ok(c.readline(), "CAPA after a %d-octet line %s"
                         % (n, state(logged_in)))
            rt.assert_true(len(c.read_multiline()) > 0, "CAPA list")
            rt.assert_ok(c.cmd("QUIT"), "QUIT after a long line")
            c.close()
    assert_unharmed()


def read_to_eof(sock, timeout):
    """Everything the server sends until it closes; None when it does not
    close within timeout."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
    except socket.timeout:
        return None
    except ConnectionResetError:
        return data


@R.test
def long_lines_without_crlf_are_never_executed():
    for logged_in in (False, True):
        for n in LINE_LENGTHS:
            c = client(logged_in)
            line = b"DELE 1" + b" " * (n - 6)
            try:
                c.send(line)
            except (BrokenPipeError, ConnectionResetError):
                pass            # the server gave up reading: fine
            c.sock.shutdown(socket.SHUT_WR)
            rest = read_to_eof(c.sock, EOF_WAIT)
            what = "%d octets without CRLF %s" % (n, state(logged_in))
            rt.assert_true(rest is not None, "%s: connection closed after EOF"
                           % what)
            rt.assert_true(b"+OK" not in rest, "%s: nothing accepted (%r)"
                           % (what, rest[:200]))
            if n > 1024:
                rt.assert_eq(rest, b"-ERR Command line too long.\r\n", what)
            c.close()
    assert_unharmed()


@R.test
def control_bytes_anywhere_are_refused_not_truncated():
    for bad in BAD_BYTES:
        # Before login: a USER with the byte at the start, inside, at the
        # end. A server cutting at the byte would accept "USER alice" and
        # then the password.
        for line in (bad + b"USER alice", b"USER ali" + bad + b"ce",
                     b"USER alice" + bad, b"USER alice" + bad + b"x"):
            c = S.raw()
            rt.assert_err(c.cmd(line), "%r before login" % line)
            rt.assert_err(c.cmd("PASS secret"),
                          "PASS after the refused %r" % line)
            c.close()
        c = S.raw()
        rt.assert_ok(c.cmd("USER alice"), "USER")
        rt.assert_err(c.cmd(b"PASS secret" + bad), "password followed by %r" % bad)
        c.close()
        # After login: DELE 1 with the byte must delete nothing.
        c = S.raw_login("alice")
        for line in (bad + b"DELE 1", b"DE" + bad + b"LE 1", b"DELE 1" + bad,
                     b"DELE 1" + bad + b"2", b"DELE " + bad + b"1"):
            rt.assert_err(c.cmd(line), "%r after login" % line)
        rt.assert_ok(c.cmd("QUIT"), "QUIT")
        c.close()
    assert_unharmed()


@R.test
def invalid_utf8_user_names():
    for name in BAD_UTF8:
        c = S.raw()
        r = c.cmd(b"USER " + name)
        if r.startswith(b"+OK"):
            rt.assert_err(c.cmd("PASS secret"), "PASS for user %r" % name)
        c.close()
        c = S.raw()
        blob = rt.base64.b64encode(b"\0" + name + b"\0secret")
        rt.assert_err(c.cmd(b"AUTH PLAIN " + blob), "AUTH PLAIN as %r" % name)
        c.close()
    rt.assert_true(S.proc.poll() is None, "server alive")
    hc.normal_session_works(S, "alice")


@R.test
def format_strings_reach_the_log_literally():
    c = S.raw()
    c.cmd("USER " + FORMAT)
    rt.assert_err(c.cmd("PASS " + FORMAT), "printf conversions as a user name")
    rt.assert_ok(c.cmd("USER alice"), "USER alice")
    rt.assert_err(c.cmd("PASS " + FORMAT), "printf conversions as password")
    c.close()
    # A user whose password is the conversions logs in, and a message
    # whose headers and body carry them comes back byte-exact.
    msg = rt.make_message("fmt", FORMAT.encode(), b"body " + FORMAT.encode()
                          + b"\n", 1, b"X-Fmt: " + FORMAT.encode() + b"\n")
    S.reset_mailbox("fmt", [("1700000100.M1P1.fmt", "new", msg)])
    c = S.raw()
    rt.assert_ok(c.cmd("USER fmt"), "USER")
    rt.assert_ok(c.cmd("PASS " + FORMAT), "PASS with printf conversions")
    st, data = c.cmd_multi("RETR 1")
    rt.assert_bytes(rt.unstuff(data), rt.wire(msg), "RETR of the message")
    st, data = c.cmd_multi("TOP 1 0")
    rt.assert_bytes(rt.unstuff(data), rt.top_wire(msg, 0), "TOP 1 0")
    rt.assert_ok(c.cmd("QUIT"), "QUIT")
    c.close()
    text = rt.wait_for(lambda: (lambda t: t if "user=" + FORMAT in t
                                and "user=fmt" in t and "Logged out" in
                                t.split("user=fmt")[-1] else None)(S.log_text()),
                       "the log lines of the sessions")
    rt.assert_true("(nil)" not in text, "no %p was expanded")
    rt.assert_true(S.proc.poll() is None, "server alive")
    assert_unharmed()


@R.test
def bad_numbers_for_every_numeric_argument():
    c = S.raw_login("alice")
    n = int(c.cmd("STAT").split()[1])
    for arg in BAD_NUMBERS:
        for cmd in ("RETR %s", "DELE %s", "LIST %s", "UIDL %s", "TOP %s 0",
                    "TOP 1 %s"):
            line = cmd % arg
            if line == "TOP 1 0":
                continue        # a valid command: headers only
            rt.assert_err(c.cmd(line), line)
    # Still in sync: one reply per command.
    rt.assert_eq(int(c.cmd("STAT").split()[1]), n, "STAT after the bad numbers")
    rt.assert_ok(c.cmd("QUIT"), "QUIT")
    c.close()
    assert_unharmed()


if __name__ == "__main__":
    R.main(setup)
