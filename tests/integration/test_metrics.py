#!/usr/bin/env python3
"""The OpenMetrics listener (metrics_listen): the exposition is parsed
against the OpenMetrics 1.0 text grammar (not grepped), counters move
after logins, the HTTP side is strict (404, 405, 400, 431, HEAD), the
listener follows a reload, is off by default, and a bad metrics_listen is
a config error with FILE:LINE."""

import math
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roosttest as rt  # noqa: E402

ROOSTCTL = os.path.join(rt.BUILDDIR, "tools", "roostctl", "roostctl")
CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
R = rt.Runner("test_metrics")
# LOGIN_STATS_INTERVAL_MS in core/login/login.c: how often a login process
# reports its clients and accepted connections.
LOGIN_REPORT_S = 1.0
S = None
PORT = None


def setup():
    global S, PORT
    PORT = rt.free_port()
    S = R.server(rt.Server("metrics", extra_config="metrics_listen = 127.0.0.1:%d" % PORT))
    S.add_user("alice", "secret")
    S.start()


# ---------------------------------------------------------------------------
# OpenMetrics text format (https://github.com/OpenObservability/OpenMetrics,
# "Text format" ABNF), the parts a Roost exposition can contain.

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = {"counter", "gauge", "histogram", "gaugehistogram", "stateset", "info",
         "summary", "unknown"}
SUFFIXES = {"counter": ["_total", "_created"], "gauge": [""], "info": ["_info"],
            "summary": ["", "_sum", "_count", "_created"], "unknown": [""],
            "stateset": [""], "histogram": ["_bucket", "_sum", "_count", "_created"],
            "gaugehistogram": ["_bucket", "_gsum", "_gcount"]}
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?Inf$|^NaN$")


def parse_labels(text, where):
    """'a="x",b="y"' -> {'a': 'x', 'b': 'y'} with escapes \\\\ \\" \\n."""
    labels = {}
    i = 0
    while i < len(text):
        m = re.match(LABEL_NAME + '="', text[i:])
        if not m:
            raise AssertionError("%s: bad label at %r" % (where, text[i:]))
        name = m.group(0)[:-2]
        i += len(m.group(0))
        value = ""
        while True:
            if i >= len(text):
                raise AssertionError("%s: unterminated label value" % where)
            c = text[i]
            if c == "\\":
                nxt = text[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise AssertionError("%s: bad escape \\%s" % (where, nxt))
                value += "\n" if nxt == "n" else nxt
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                value += c
                i += 1
        if name in labels:
            raise AssertionError("%s: label %s twice" % (where, name))
        labels[name] = value
        if i < len(text):
            if text[i] != ",":
                raise AssertionError("%s: expected ',' at %r" % (where, text[i:]))
            i += 1
    return labels


def parse_openmetrics(text):
    """Returns {family: {'type', 'help', 'samples': {(name, labels): value}}}
    and raises AssertionError for anything the grammar does not allow."""
    if not text.endswith("# EOF\n") and text != "# EOF":
        if not text.endswith("# EOF"):
            raise AssertionError("exposition does not end with '# EOF': %r" % text[-40:])
    lines = text.split("\n")
    if lines[-1] == "":
        lines = lines[:-1]
    if lines[-1] != "# EOF" or "# EOF" in lines[:-1]:
        raise AssertionError("'# EOF' must be the last line, once")
    families = {}
    done = set()          # families whose samples are over
    current = None
    for n, line in enumerate(lines[:-1], 1):
        where = "line %d %r" % (n, line)
        if line.startswith("#"):
            m = re.match(r"^# (TYPE|HELP|UNIT) (" + NAME + r") ?(.*)$", line)
            if not m:
                raise AssertionError("%s: not a TYPE/HELP/UNIT line" % where)
            kind, fam, rest = m.groups()
            if fam in done or (current is not None and fam != current and
                               families[current]["samples"]):
                if fam != current:
                    done.add(current)
            if fam in done:
                raise AssertionError("%s: family %s is interleaved" % (where, fam))
            f = families.setdefault(fam, {"type": None, "help": None, "samples": {}})
            if f["samples"]:
                raise AssertionError("%s: metadata after samples" % where)
            if kind == "TYPE":
                if f["type"] is not None or rest not in TYPES:
                    raise AssertionError("%s: TYPE twice or unknown" % where)
                if rest == "counter" and fam.endswith("_total"):
                    raise AssertionError("%s: counter family named *_total" % where)
                f["type"] = rest
            elif kind == "HELP":
                if f["help"] is not None:
                    raise AssertionError("%s: HELP twice" % where)
                if re.search(r"\\[^\\n\"]", rest):
                    raise AssertionError("%s: bad escape in HELP" % where)
                f["help"] = rest
            current = fam
            continue
        m = re.match(r"^(" + NAME + r")(\{(.*)\})? (\S+)( (\S+))?$", line)
        if not m:
            raise AssertionError("%s: not a sample line" % where)
        name, _, labels, value, _, ts = m.groups()
        fam = None
        for cand in sorted(families, key=len, reverse=True):
            t = families[cand]["type"] or "unknown"
            if any(name == cand + s for s in SUFFIXES[t]):
                fam = cand
                break
        if fam is None:
            raise AssertionError("%s: sample of no declared family (or wrong suffix)" % where)
        if fam != current or fam in done:
            raise AssertionError("%s: family %s is interleaved" % (where, fam))
        if not NUMBER.match(value) or (ts is not None and not NUMBER.match(ts)):
            raise AssertionError("%s: bad number" % where)
        v = float(value)
        t = families[fam]["type"]
        if t == "counter" and (math.isnan(v) or v < 0):
            raise AssertionError("%s: counter value must be >= 0" % where)
        if t == "info" and v != 1:
            raise AssertionError("%s: info value must be 1" % where)
        key = (name, tuple(sorted(parse_labels(labels or "", where).items())))
        if key in families[fam]["samples"]:
            raise AssertionError("%s: duplicate sample" % where)
        families[fam]["samples"][key] = v
    return families


def value(families, fam, name, **labels):
    return families[fam]["samples"][(name, tuple(sorted(labels.items())))]


# ---------------------------------------------------------------------------
# HTTP

def http(request, port=None):
    """Sends raw request bytes; returns (status code, {header: value}, body)."""
    s = socket.create_connection(("127.0.0.1", port or PORT), timeout=rt.TIMEOUT)
    try:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"^HTTP/1\.1 (\d{3}) ", lines[0])
    rt.assert_true(m, "status line %r" % lines[0])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        rt.assert_eq(len(body), int(headers["content-length"]) if request[:4] != b"HEAD" else 0,
                     "body length vs Content-Length")
    return int(m.group(1)), headers, body


def scrape(port=None):
    code, headers, body = http(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n"
                               b"Accept: application/openmetrics-text\r\n\r\n", port)
    rt.assert_eq(code, 200, "GET /metrics status")
    rt.assert_eq(headers.get("content-type"), CONTENT_TYPE, "Content-Type")
    return parse_openmetrics(body.decode("utf-8"))


@R.test
def parser_rejects_what_the_grammar_forbids():
    # The checker itself must be able to fail.
    good = "# TYPE a counter\n# HELP a x\na_total 1\n# EOF\n"
    parse_openmetrics(good)
    for bad in ("# TYPE a counter\na_total 1\n",                      # no EOF
                "# TYPE a counter\na 1\n# EOF\n",                      # no _total
                "# TYPE a_total counter\na_total_total 1\n# EOF\n",    # family *_total
                "# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n# EOF\n",       # label twice
                "# TYPE a gauge\na one\n# EOF\n",                      # value
                "# TYPE a gauge\n# TYPE b gauge\nb 1\na 1\n# EOF\n",  # interleaved
                "# TYPE a counter\na_total -1\n# EOF\n",               # negative counter
                "b 1\n# EOF\n"):                                       # no family
        try:
            parse_openmetrics(bad)
        except AssertionError:
            continue
        raise AssertionError("the checker accepted %r" % bad)


@R.test
def exposition_is_valid_openmetrics():
    fams = scrape()
    for fam, t in (("roost_sessions", "gauge"), ("roost_sessions_started", "counter"),
                   ("roost_mail_sent_octets", "counter"), ("roost_auth_failures", "counter"),
                   ("roost_auth_latency_seconds", "summary"), ("roost_processes", "gauge"),
                   ("roost_process_restarts", "counter"), ("roost_build", "info"),
                   ("roost_mail_commands", "counter"), ("roost_auth_successes", "counter")):
        rt.assert_eq(fams.get(fam, {}).get("type"), t, "family %s" % fam)
        rt.assert_true(fams[fam]["help"], "family %s has HELP" % fam)
    rt.assert_eq(value(fams, "roost_processes", "roost_processes", kind="login"), 2,
                 "two login processes")
    rt.assert_eq(value(fams, "roost_auth_stats_up", "roost_auth_stats_up"), 1,
                 "auth answered the STATS request")


@R.test
def counters_move_after_a_login():
    before = scrape()
    p = S.login("alice")
    p.retr(1)
    open_fams = scrape()
    rt.assert_true(value(open_fams, "roost_sessions", "roost_sessions") >= 1,
                   "a session is counted while open")
    p.quit()
    try:
        S.login("alice", password="wrong")
        raise AssertionError("a wrong password logged in")
    except Exception as e:
        if isinstance(e, AssertionError):
            raise
    S.wait_unlocked("alice")
    deadline = rt.time.monotonic() + 10
    while True:
        after = scrape()
        if (value(after, "roost_sessions_ended", "roost_sessions_ended_total", reason="quit")
                > value(before, "roost_sessions_ended", "roost_sessions_ended_total",
                        reason="quit") or rt.time.monotonic() > deadline):
            break
        rt.time.sleep(0.05)

    def grew(fam, name, **labels):
        a, b = value(after, fam, name, **labels), value(before, fam, name, **labels)
        rt.assert_true(a > b, "%s%s grew: %s -> %s" % (name, labels or "", b, a))
    grew("roost_sessions_started", "roost_sessions_started_total")
    grew("roost_sessions_ended", "roost_sessions_ended_total", reason="quit")
    grew("roost_mail_sent_octets", "roost_mail_sent_octets_total")
    grew("roost_mail_retrieved_messages", "roost_mail_retrieved_messages_total")
    grew("roost_mail_commands", "roost_mail_commands_total")
    grew("roost_auth_successes", "roost_auth_successes_total")
    grew("roost_auth_failures", "roost_auth_failures_total", reason="password")
    grew("roost_auth_latency_seconds", "roost_auth_latency_seconds_count")
    rt.assert_eq(value(after, "roost_mail_retrieved_octets", "roost_mail_retrieved_octets_total")
                 - value(before, "roost_mail_retrieved_octets",
                         "roost_mail_retrieved_octets_total"),
                 len(rt.wire(rt.sample_messages("alice")[0][2])), "retrieved octets of RETR 1")


def accepted(fams, listener):
    return fams["roost_connections_accepted"]["samples"].get(
        ("roost_connections_accepted_total", (("listener", listener),)), 0)


def login_clients(fams, state):
    """{login process pid: its clients in state}."""
    return {dict(labels)["process"]: v for (name, labels), v
            in fams["roost_login_clients"]["samples"].items()
            if dict(labels)["state"] == state}


@R.test
def login_processes_report_clients_and_accepted_connections():
    fams = rt.wait_for(lambda: (lambda f: f if len(login_clients(f, "preauth")) == 2
                                else None)(scrape()), "both login processes reported")
    rt.assert_eq(fams["roost_login_clients"]["type"], "gauge", "roost_login_clients type")
    rt.assert_eq(fams["roost_connections_accepted"]["type"], "counter",
                 "roost_connections_accepted type")
    for pid in login_clients(fams, "preauth"):
        rt.assert_true(int(pid) in S.children(), "process=%s is a child" % pid)
    # Login processes report at most once a second: a connection of an
    # earlier test may still be on its way into the counters, so the
    # baseline is taken once two reports apart agree.
    def settled():
        first = scrape()
        time.sleep(LOGIN_REPORT_S + 0.2)
        second = scrape()
        counts = (accepted(first, "pop3"), accepted(first, "pop3s"))
        return counts if counts == (accepted(second, "pop3"),
                                    accepted(second, "pop3s")) else None
    before, before_tls = rt.wait_for(settled, "the accepted counters to settle")
    c = S.raw()   # greeted, never logs in
    try:
        rt.wait_for(lambda: (lambda f: sum(login_clients(f, "preauth").values()) >= 1
                             and accepted(f, "pop3") == before + 1)(scrape()),
                    "the client before login and its connection in the metrics")
    finally:
        c.close()
    fams = rt.wait_for(lambda: (lambda f: f if sum(login_clients(f, "preauth").values()) == 0
                                else None)(scrape()), "the client gone from the gauge")
    rt.assert_eq(accepted(fams, "pop3"), before + 1, "accepted connections do not shrink")
    rt.assert_eq(accepted(fams, "pop3s"), before_tls, "nothing new on pop3s")


@R.test
def http_is_strict():
    for req, code in ((b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n", 404),
                      (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
                      (b"GET /metrics HTTP/1.1\r\n\r\n", 400),                 # no Host
                      (b"GET /metrics HTTP/1.1\nHost: x\n\n", 400),            # bare LF
                      (b"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
                      (b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 400),
                      (b"GET /metrics HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
                      (b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                       400),
                      (b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000 + b"\r\n\r\n",
                       431),
                      (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 40, 400)):
        got, headers, _ = http(req)
        rt.assert_eq(got, code, "status for %r" % req[:60])
        if code == 405:
            rt.assert_eq(headers.get("allow"), "GET, HEAD", "Allow header")
    code, headers, body = http(b"HEAD /metrics HTTP/1.0\r\n\r\n")
    rt.assert_eq((code, body), (200, b""), "HEAD: 200 without a body")
    rt.assert_true(int(headers["content-length"]) > 0, "HEAD gives the length")
    code, _, body = http(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n")
    rt.assert_eq(code, 200, "HTTP/1.0 without Host, with a query")
    parse_openmetrics(body.decode())


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


@R.test
def listener_follows_reload():
    new_port = rt.free_port()
    with open(S.conf, "w") as f:
        f.write(S.config_text().replace(":%d" % PORT, ":%d" % new_port))
    r = run([ROOSTCTL, "-c", S.conf, "reload"])
    rt.assert_eq(r.returncode, 0, "reload (%r)" % r.stderr)
    scrape(new_port)
    try:
        http(b"GET /metrics HTTP/1.0\r\n\r\n")
        raise AssertionError("the old metrics port still answers")
    except ConnectionRefusedError:
        pass
    fams = scrape(new_port)
    rt.assert_true(value(fams, "roost_config_reloads", "roost_config_reloads_total",
                         result="ok") >= 1, "the reload is counted")
    S.write_config()
    r = run([ROOSTCTL, "-c", S.conf, "reload"])
    rt.assert_eq(r.returncode, 0, "reload back (%r)" % r.stderr)
    scrape()


@R.test
def bad_metrics_listen_is_a_config_error():
    for bad in ("localhost:9110", "127.0.0.1", "127.0.0.1:0", "::1:9110", "127.0.0.1:99999"):
        path = os.path.join(S.dir, "bad.conf")
        text = S.config_text().replace("metrics_listen = 127.0.0.1:%d" % PORT,
                                       "metrics_listen = " + bad)
        with open(path, "w") as f:
            f.write(text)
        line = text.split("\n").index("metrics_listen = " + bad) + 1
        r = run([ROOSTCTL, "config", "check", "-c", path])
        rt.assert_eq(r.returncode, 1, "config check of metrics_listen = %s" % bad)
        rt.assert_true(("%s:%d: metrics_listen" % (path, line)).encode() in r.stderr,
                       "names FILE:LINE: %r" % r.stderr)
    path = os.path.join(S.dir, "v6.conf")
    with open(path, "w") as f:
        f.write(S.config_text().replace("127.0.0.1:%d" % PORT, "[::1]:9110"))
    r = run([ROOSTCTL, "config", "check", "-c", path])
    rt.assert_eq(r.returncode, 0, "[::1]:9110 is fine (%r)" % r.stderr)


@R.test
def off_by_default():
    off = R.server(rt.Server("metrics-off"))
    off.add_user("alice", "secret")
    off.start()
    r = run([ROOSTCTL, "-c", off.conf, "stats"])
    rt.assert_eq(r.returncode, 0, "stats without metrics_listen")
    with open(off.logfile, "rb") as f:
        rt.assert_true(b"Metrics on" not in f.read(), "no metrics listener by default")
    r = run([rt.ROOST, "-n", "-c", off.conf])
    rt.assert_true(b"metrics_listen" not in r.stdout, "metrics_listen is at its default")


if __name__ == "__main__":
    R.main(setup)
