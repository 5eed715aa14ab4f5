#!/usr/bin/env python3
"""Start PostgreSQL and Redis on loopback for the tests, and stop them after.

Used two ways:
  - imported by the end-to-end harness (tests/e2e/conftest.py);
  - as a wrapper around a unit-test binary:
        servers.py -- ./test_store
    which starts both servers, exports HERALD_TEST_DATABASE and
    HERALD_TEST_REDIS, runs the command and stops the servers.

PostgreSQL refuses to run as root, so when we are root the cluster is created
and run as the 'postgres' system user (created by Debian's postgresql package).
"""
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def pg_bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not dirs:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    return dirs[-1]


class Postgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1:<port>, trust auth."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="herald-pg-")
        self.data = os.path.join(self.dir, "data")
        self.bindir = pg_bindir()
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.url = f"postgres://herald@127.0.0.1:{self.port}/herald"

    def _run(self, *args, check=True, **kw):
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--"] + cmd
        return subprocess.run(cmd, check=check, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, **kw)

    def start(self):
        if not os.path.exists(self.data):
            self._run(f"{self.bindir}/initdb", "-D", self.data, "-U", "herald",
                      "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
            with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
                f.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                        f"unix_socket_directories = '{self.dir}'\nfsync = off\n"
                        "synchronous_commit = off\nfull_page_writes = off\n"
                        "max_connections = 200\n")
            fresh = True
        else:
            fresh = False
        self._run(f"{self.bindir}/pg_ctl", "-D", self.data, "-l",
                  os.path.join(self.dir, "log"), "-w", "-t", "30", "start")
        if fresh:
            self._run(f"{self.bindir}/createdb", "-h", "127.0.0.1", "-p", str(self.port),
                      "-U", "herald", "herald")
        return self

    def stop(self):
        self._run(f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop",
                  check=False)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """A throw-away redis-server on 127.0.0.1:<port>, no persistence."""

    def __init__(self):
        self.port = free_port()
        self.proc = None
        self.url = f"redis://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(self.port):
            raise RuntimeError("redis-server did not start")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None

    def cleanup(self):
        self.stop()


def main(argv):
    if "--" not in argv:
        print("usage: servers.py -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    cmd = argv[argv.index("--") + 1:]
    pg, redis = Postgres(), Redis()
    try:
        pg.start()
        redis.start()
        env = dict(os.environ, HERALD_TEST_DATABASE=pg.url, HERALD_TEST_REDIS=redis.url)
        return subprocess.call(cmd, env=env)
    finally:
        redis.cleanup()
        pg.cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
