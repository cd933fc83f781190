"""Helpers shared by test_mbox.py and test_mbox_faults.py (not a test):
writing mbox files the way MDAs do, a delivery agent that follows the
dot-lock + fcntl conventions of Debian's MDAs, and expected contents."""

import errno
import fcntl
import os
import re
import time

import roosttest as rt

FROM_LINE = b"From sender@example.org Mon Jan  1 10:00:%02d 2024\n"
QUOTE_RE = re.compile(rb"^(>*From )", re.M)


def quote(content):
    """mboxrd quoting: ^>*From  gets one more '>'."""
    return QUOTE_RE.sub(rb">\1", content)


def mbox_entry(content, n=0, last=False):
    """One message as an MDA appends it: From_ line, quoted content, and
    the empty line that separates it from the next one (a message without
    a final newline can only be last, with nothing after it)."""
    entry = FROM_LINE % (n % 60) + quote(content)
    if content.endswith(b"\n"):
        entry += b"\n"
    else:
        assert last, "a message without a final newline must be last"
    return entry


def mbox_bytes(contents):
    return b"".join(mbox_entry(c, i, i == len(contents) - 1)
                    for i, c in enumerate(contents))


def sample_contents(user):
    """Message contents as RETR must yield them (before wire conversion):
    the harness's samples (dots, 8-bit, CRLF, 1 MiB, no final newline
    last) plus lines that need mbox quoting and a NUL byte."""
    msgs = [d for _, _, d in rt.sample_messages(user)]
    nonl = [m for m in msgs if not m.endswith(b"\n")]
    msgs = [m for m in msgs if m.endswith(b"\n")]
    msgs.append(rt.make_message(user, b"quoting", b"From start of a line\n"
                                b">From already quoted\n>>From twice\n"
                                b"\nFrom after an empty line\nNUL\x00byte\n", 8))
    return msgs + nonl


def write_mbox(server, user, data, name="mbox"):
    path = os.path.join(server.users[user].home, name)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
    server.chown(path)
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read()


def leftovers(path):
    """Lock and temporary files of ours or of an MDA next to the mbox
    (the session lock file itself is allowed to stay)."""
    return [p for p in (path + ".lock", path + ".roost-lk", path + ".roost-new")
            if os.path.lexists(p)]


def session_lock_free(path, timeout=rt.LOCK_WAIT):
    """Waits until no POP3 session holds <mbox>.roost-pop3.lock."""
    lock = path + ".roost-pop3.lock"
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(lock, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise AssertionError("%s still locked after %ds" % (lock, timeout))
        finally:
            os.close(fd)
        time.sleep(0.02)


class DotLock:
    """<mbox>.lock the liblockfile way: our PID in a unique temporary
    file, link(2)ed to the lock name (atomic), retried until timeout."""

    def __init__(self, path, timeout=10):
        self.lock = path + ".lock"
        tmp = "%s.lk%d" % (path, os.getpid())
        deadline = time.monotonic() + timeout
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        try:
            while True:
                try:
                    os.link(tmp, self.lock)
                    return
                except FileExistsError:
                    if time.monotonic() >= deadline:
                        raise AssertionError("MDA: %s stayed locked" % self.lock)
                    time.sleep(0.05)
        finally:
            os.unlink(tmp)

    def release(self):
        os.unlink(self.lock)


def deliver(path, content, n=50, timeout=10):
    """A delivery agent: dotlock, then fcntl write lock (the order
    Debian's MDAs use), append the message with mboxrd quoting, fsync,
    unlock. Returns the bytes appended."""
    entry = mbox_entry(content, n)
    dl = DotLock(path, timeout)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise AssertionError("MDA: fcntl lock on %s busy" % path)
                    time.sleep(0.05)
            # An mbox whose last message lacks its empty line gets one
            # first, so our From_ line is a separator.
            size = os.fstat(fd).st_size
            if size > 0:
                with open(path, "rb") as f:
                    f.seek(max(0, size - 2))
                    tail = f.read()
                if not tail.endswith(b"\n\n") and tail != b"\n":
                    entry = (b"\n" if tail.endswith(b"\n") else b"\n\n") + entry
            os.write(fd, entry)
            os.fsync(fd)
            fcntl.lockf(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        dl.release()
    return entry


def retr_all(client, count):
    """[(content as sent, unstuffed)] for messages 1..count (RawClient)."""
    out = []
    for i in range(1, count + 1):
        status, data = client.cmd_multi("RETR %d" % i)
        rt.assert_ok(status, "RETR %d" % i)
        out.append(rt.unstuff(data))
    return out


def stat_count(client):
    r = client.cmd("STAT")
    rt.assert_ok(r, "STAT")
    return int(r.split()[1])
