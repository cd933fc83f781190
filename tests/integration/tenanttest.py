"""Helpers for the multi-tenant tests (test_tenants, test_limits,
test_master_users): a server whose passdb/userdb sections and user files
the test writes itself, with Dovecot passwd-file lines carrying extra
fields."""

import os
import poplib
import subprocess
import time

import roosttest as rt


class TenantServer(rt.Server):
    """rt.Server with the passdb/userdb part of the config replaced by
    auth_config (a template: {dir} is the server's directory)."""

    def __init__(self, name, auth_config, **kw):
        super().__init__(name, **kw)
        self.auth_config = auth_config
        self.mail_root = os.path.join(self.dir, "mail")
        os.makedirs(self.mail_root, exist_ok=True)
        os.chmod(self.mail_root, 0o755)
        self.chown(self.mail_root)

    def config_text(self):
        default_auth = ("passdb passwd-file { path = %s }\n"
                        "userdb passwd-file { path = %s }\n"
                        % (self.passwd, self.passwd))
        default_mail = "mail = maildir:~/Maildir\n"
        text = super().config_text()
        rt.assert_true(default_auth + default_mail in text,
                       "harness config layout changed")
        return text.replace(default_auth + default_mail,
                            self.auth_config.format(dir=self.dir) + "\n")

    def write_passwd(self):
        # The test writes its own user files; the harness's stays empty.
        open(self.passwd, "w").close()
        os.chmod(self.passwd, 0o644)

    def write_users(self, path, entries):
        """entries: (name, password, home, extra fields) -> a passwd-file."""
        with open(path, "w") as f:
            for name, password, home, extra in entries:
                f.write("%s:{PLAIN}%s::::%s::%s\n" % (name, password, home or "",
                                                     extra))
        os.chmod(path, 0o644)
        self.chown(path)

    def make_maildir(self, path, count):
        """A maildir with count messages in new/."""
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(path, sub), exist_ok=True)
        for i in range(count):
            with open(os.path.join(path, "new", "%d.M1P1.test" % i), "wb") as f:
                f.write(rt.make_message("t", b"message %d" % i, b"body\n", i))
        self.chown(self.mail_root)

    def pop_login(self, user, password):
        """A logged-in poplib client, or the -ERR line (bytes) it got."""
        p = self.pop()
        try:
            p.user(user)
            p.pass_(password)
            return p
        except poplib.error_proto as e:
            p.close()
            return e.args[0]


    def login_when_free(self, user, password):
        """pop_login, retried for up to rt.LOCK_WAIT seconds while sessions
        that just quit still count ([IN-USE], [SYS/TEMP]): their workers
        exit a moment after the client saw the QUIT reply."""
        deadline = time.monotonic() + rt.LOCK_WAIT
        while True:
            r = self.pop_login(user, password)
            if (not isinstance(r, bytes) or time.monotonic() >= deadline or
                    not r.startswith((b"-ERR [IN-USE]", b"-ERR [SYS/TEMP]"))):
                return r
            time.sleep(0.05)


def assert_refused(result, code, what):
    """result of pop_login is an -ERR line starting with -ERR [code]."""
    rt.assert_true(isinstance(result, bytes),
                   "%s: login succeeded but should have been refused" % what)
    rt.assert_true(result.startswith(b"-ERR [" + code.encode() + b"]"),
                   "%s: expected -ERR [%s], got %r" % (what, code, result))
    return result


def logged_in(result, what):
    rt.assert_true(not isinstance(result, bytes),
                   "%s: login refused: %r" % (what, result))
    return result


def capa(p):
    """poplib's CAPA as {name: [args]}."""
    return {k: v for k, v in p.capa().items()}


def curl_pop3(port, user, password, path=""):
    """(exit code, stdout) of curl fetching pop3://127.0.0.1:port/path."""
    curl = rt.need_tool("curl")
    r = subprocess.run([curl, "-s", "-S", "--max-time", "15", "-u",
                        "%s:%s" % (user, password),
                        "pop3://127.0.0.1:%d/%s" % (port, path)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    return r.returncode, r.stdout


def tree_snapshot(root, skip):
    """{relative path: (size, mtime_ns)} of everything under root except
    the directories named in skip."""
    out = {}
    for base, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(base, d) not in skip]
        for n in dirs + files:
            p = os.path.join(base, n)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns)
    return out
