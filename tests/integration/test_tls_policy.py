#!/usr/bin/env python3
"""The default TLS policy (ssl_priority), checked with GnuTLS's own client
on the implicit-TLS port and through STLS: TLS 1.3 and 1.2 with AEAD
ciphers are accepted; TLS 1.1 and 1.0, CBC-only and RSA-key-transport-only
clients are refused; a client that resumes a session with its ticket is
resumed, on whichever login process takes the new connection.

testssl.sh gives the same verdict in depth (see doc/admin-guide.md); this
test keeps the policy from drifting."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

R = rt.Runner("test_tls_policy")
S = None
GNUTLS_CLI = None

MODERN = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
REFUSED = {
    "TLS 1.1": "NORMAL:-VERS-ALL:+VERS-TLS1.1",
    "TLS 1.0": "NORMAL:-VERS-ALL:+VERS-TLS1.0",
    "CBC ciphers only": "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:"
                        "+AES-128-CBC:+AES-256-CBC",
    "RSA key transport only": "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA",
}


def setup():
    global S, GNUTLS_CLI
    GNUTLS_CLI = rt.need_tool("gnutls-cli")
    S = R.server(rt.Server("tlspolicy", extra_config="login_processes = 2\n"))
    S.add_user("alice", "secret")
    S.start()


def gnutls(priority, starttls=False, resume=False):
    """Runs gnutls-cli to the POP3S port (or the POP3 port with STLS);
    returns (exit code, output)."""
    port = S.pop3_port if starttls else S.pop3s_port
    cmd = [GNUTLS_CLI, "--port", str(port), "--x509cafile", S.cert,
           "--priority", priority]
    if starttls:
        cmd.append("--starttls-proto=pop3")
    if resume:
        cmd.append("--resume")
    cmd.append("localhost")
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    return r.returncode, r.stdout.decode(errors="replace")


def negotiated_version(out):
    m = re.search(r"- Description: \((TLS[0-9.]+)", out)
    return m.group(1) if m else None


@R.test
def modern_clients_are_served():
    for starttls in (False, True):
        where = "STLS" if starttls else "POP3S"
        for prio, want in ((MODERN, "TLS1.3"),
                           ("NORMAL:-VERS-ALL:+VERS-TLS1.2", "TLS1.2")):
            rc, out = gnutls(prio, starttls)
            rt.assert_eq(rc, 0, "%s handshake with %s: %s" % (where, prio, out))
            rt.assert_eq(negotiated_version(out), want,
                         "%s negotiated version with %s" % (where, prio))
            if not starttls:
                rt.assert_true("+OK" in out,
                               "%s greeting after the handshake: %s"
                               % (where, out))


@R.test
def server_prefers_x25519_and_aes128():
    """A client with GnuTLS's defaults lists SECP256R1 and AES-256 first;
    the server's order (cheaper for both sides) wins."""
    for starttls in (False, True):
        rc, out = gnutls("NORMAL", starttls)
        rt.assert_eq(rc, 0, "handshake with NORMAL: %s" % out)
        m = re.search(r"- Description: (\S+)", out)
        desc = m.group(1) if m else ""
        rt.assert_true("ECDHE-X25519" in desc and "AES-128-GCM" in desc,
                       "negotiated %r (want X25519 and AES-128-GCM)" % desc)


@R.test
def old_and_weak_clients_are_refused():
    for starttls in (False, True):
        where = "STLS" if starttls else "POP3S"
        for what, prio in REFUSED.items():
            rc, out = gnutls(prio, starttls)
            rt.assert_true(rc != 0 and "Handshake was completed" not in out,
                           "%s: a client offering %s completed a handshake: %s"
                           % (where, what, out))
    # ... and the server still serves a normal login afterwards.
    rc, out = gnutls(MODERN)
    rt.assert_eq(rc, 0, "handshake after the refused ones: %s" % out)


@R.test
def sessions_resume_with_tickets():
    for prio in (MODERN, "NORMAL:-VERS-ALL:+VERS-TLS1.2"):
        # Several tries so that the reconnection lands on the other login
        # process at least once: tickets must work across processes.
        for attempt in range(4):
            rc, out = gnutls(prio, resume=True)
            rt.assert_eq(rc, 0, "handshake with --resume (%s): %s" % (prio, out))
            rt.assert_true("This is a resumed session" in out,
                           "attempt %d with %s: the session was not resumed: %s"
                           % (attempt, prio, out))


R.main(setup)
