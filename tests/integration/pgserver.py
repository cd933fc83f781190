"""A real PostgreSQL server in a temporary directory, for integration tests.

    pg = pgserver.PgServer()      # raises roosttest.SkipTest without PostgreSQL
    pg.start()
    pg.psql("CREATE TABLE t (x text)")
    pg.conninfo(dbname="mail")    # "host=127.0.0.1 port=N dbname=mail user=postgres"
    pg.stop(); pg.start()         # the same cluster again (outage tests)
    pg.cleanup()                  # stops it and removes the directory

initdb, pg_ctl and psql come from the newest /usr/lib/postgresql/*/bin
(Debian's postgresql package). The cluster listens on a unix socket in
its own directory and on a free TCP port on 127.0.0.1, with `trust`
authentication: anything on this machine may connect as any role, which
is what a throw-away test cluster wants and nothing else should. PostgreSQL
refuses to run as root, so when the test runs as root every server
command runs as the `postgres` user (runuser -u postgres --) and the
directory is given to it. An atexit hook stops a cluster a crashed test
left running.
"""

import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

import roosttest as rt

PG_USER = "postgres"          # the OS user the server runs as under root
SUPERUSER = "postgres"        # the database superuser initdb creates
START_TIMEOUT = 60            # seconds for pg_ctl start/stop -w
COMMAND_TIMEOUT = 60          # seconds for initdb and psql

_running = []


def find_bindir():
    """The newest PostgreSQL bin directory with initdb and pg_ctl, or None."""
    def version(path):
        try:
            return float(path.split("/")[-2])
        except ValueError:
            return 0.0
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version,
                    reverse=True):
        if all(os.access(os.path.join(d, t), os.X_OK)
               for t in ("initdb", "pg_ctl", "psql")):
            return d
    return None


@atexit.register
def _stop_leftovers():
    for pg in list(_running):
        try:
            pg.stop(mode="immediate")
        except Exception:
            pass


class PgServer:
    def __init__(self, name="pg"):
        self.bindir = find_bindir()
        if self.bindir is None:
            raise rt.SkipTest("PostgreSQL server binaries not found in "
                              "/usr/lib/postgresql/*/bin (Debian package "
                              "'postgresql')")
        self.as_root = os.geteuid() == 0
        if self.as_root:
            if shutil.which("runuser") is None:
                raise rt.SkipTest("running as root needs runuser to start "
                                  "PostgreSQL as %s" % PG_USER)
            try:
                self.pw = pwd.getpwnam(PG_USER)
            except KeyError:
                raise rt.SkipTest("running as root needs the '%s' user "
                                  "to start PostgreSQL" % PG_USER)
        self.dir = tempfile.mkdtemp(prefix="roostit-%s-" % name)
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.socket_dir = os.path.join(self.dir, "sock")
        self.logfile = os.path.join(self.dir, "postgresql.log")
        os.makedirs(self.socket_dir)
        # Clients of any uid (the test server runs as nobody) reach the
        # socket.
        os.chmod(self.socket_dir, 0o777)
        if self.as_root:
            for p in (self.dir, self.socket_dir):
                os.chown(p, self.pw.pw_uid, self.pw.pw_gid)
        self.port = rt.free_port()
        self.running = False
        self.initialized = False

    def _run(self, argv, check=True, input_text=None):
        if self.as_root:
            argv = ["runuser", "-u", PG_USER, "--"] + argv
        r = subprocess.run(argv, input=input_text, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=COMMAND_TIMEOUT,
                           cwd=self.dir, universal_newlines=True)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s%s\n%s" % (
                " ".join(argv), r.returncode, r.stdout, r.stderr,
                self.log_tail()))
        return r

    def _tool(self, name):
        return os.path.join(self.bindir, name)

    def init(self):
        self._run([self._tool("initdb"), "-D", self.data, "-U", SUPERUSER,
                   "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
        self.initialized = True

    def start(self):
        """Starts the cluster (initialising it the first time) and waits
        until it accepts connections."""
        if not self.initialized:
            self.init()
        opts = ("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off "
                "-c full_page_writes=off -c synchronous_commit=off"
                % (self.port, self.socket_dir))
        self._run([self._tool("pg_ctl"), "-D", self.data, "-l",
                   self.logfile, "-o", opts, "-w", "-t", str(START_TIMEOUT),
                   "start"])
        self.running = True
        if self not in _running:
            _running.append(self)
        return self

    def stop(self, mode="fast"):
        """Stops the cluster (connected clients are disconnected); start()
        brings the same data back."""
        if not self.running:
            return
        self._run([self._tool("pg_ctl"), "-D", self.data, "-m", mode, "-w",
                   "-t", str(START_TIMEOUT), "stop"], check=False)
        self.running = False
        if self in _running:
            _running.remove(self)

    def cleanup(self):
        self.stop(mode="immediate")
        if not os.environ.get("ROOST_TEST_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def psql(self, sql, dbname="postgres", user=SUPERUSER):
        """Runs sql (several statements allowed) and returns psql's
        unaligned, tuples-only output."""
        r = self._run([self._tool("psql"), "-X", "-q", "-A", "-t",
                       "-v", "ON_ERROR_STOP=1", "-h", self.socket_dir,
                       "-p", str(self.port), "-U", user, "-d", dbname,
                       "-f", "-"], input_text=sql)
        return r.stdout

    def dump_table(self, table, dbname="postgres"):
        """Every row of table, in a stable order, as text."""
        return self.psql("COPY (SELECT * FROM %s ORDER BY 1) TO STDOUT;"
                         % table, dbname)

    def conninfo(self, dbname="postgres", user=SUPERUSER, host="127.0.0.1",
                 port=None):
        return "host=%s port=%d dbname=%s user=%s" % (
            host, self.port if port is None else port, dbname, user)

    def log_tail(self, n=30):
        try:
            with open(self.logfile, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return "(no PostgreSQL log)"
        return "\n".join(["---- last %d lines of %s ----"
                          % (min(n, len(lines)), self.logfile)]
                         + lines[-n:] + ["---- end of log ----"])
