"""End-to-end harness: runs the real herald binary on a free loopback port.

Every test that takes the `herald` fixture runs twice: against a fresh SQLite
file with in-memory kv, and against PostgreSQL and Redis that this harness
starts on loopback (tests/servers.py) and stops at the end. The binary is
HERALD_BIN (set by ctest), else build/dev/herald.
"""
import glob
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import servers  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("HERALD_BIN") or os.path.join(ROOT, "build", "dev", "herald"))
_db_seq = itertools.count(1)
MIGRATIONS = sorted(glob.glob(os.path.join(ROOT, "src", "store", "migrations", "*.sql")))
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def assert_no_sanitizer_report(text, what):
    for mark in SANITIZER_MARKS:
        assert mark not in text, f"{what}: sanitizer report:\n{text[-4000:]}"


class Herald:
    """One herald process and the settings it runs with."""

    def __init__(self, workdir, env):
        self.workdir = workdir
        self.env = env
        self.port = servers.free_port()
        self.env["HERALD_LISTEN"] = f"127.0.0.1:{self.port}"
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.logpath = os.path.join(workdir, f"herald-{self.port}.log")

    def cli(self, *args, env=None, check=False):
        e = dict(self.env)
        e.update(env or {})
        r = subprocess.run([BIN, *args], env=e, cwd=self.workdir, capture_output=True,
                           text=True, timeout=60, check=check)
        assert_no_sanitizer_report(r.stderr, "herald " + " ".join(args))
        return r

    def start(self, extra_env=None, wait=True):
        env = dict(self.env)
        env.update(extra_env or {})
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen([BIN, "run"], env=env, cwd=self.workdir,
                                     stdout=self.log, stderr=self.log)
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"herald exited with {self.proc.returncode}:\n{self.logtext()}")
            try:
                if requests.get(self.url("/healthz"), timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("herald did not become healthy:\n" + self.logtext())

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
        return rc

    def url(self, path):
        return self.base + path

    def logtext(self):
        try:
            with open(self.logpath, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def user_with_key(self, telegram_id, name="Test User"):
        r = self.cli("user", "add", "--telegram-id", str(telegram_id), "--name", name)
        assert r.returncode == 0, r.stderr
        r = self.cli("apikey", "create", "--telegram-id", str(telegram_id))
        assert r.returncode == 0, r.stderr
        key = r.stdout.strip()
        assert key.startswith("hk_")
        return key

    def sql(self, query):
        """Rows from the database, read directly (not through Herald)."""
        db = self.env["HERALD_DATABASE"]
        if db.startswith("postgres"):
            out = subprocess.run(["psql", db, "-AtX", "-F", "|", "-c", query], check=True,
                                 capture_output=True, text=True).stdout
        else:
            import sqlite3
            con = sqlite3.connect(os.path.join(self.workdir, db))
            try:
                rows = con.execute(query).fetchall()
                con.commit()
            finally:
                con.close()
            return [tuple(r) for r in rows]
        return [tuple(line.split("|")) for line in out.splitlines() if line]


@pytest.fixture(scope="session")
def cluster():
    """PostgreSQL and Redis for the whole session, started on loopback."""
    pg, redis = servers.Postgres(), servers.Redis()
    pg.start()
    redis.start()
    yield pg, redis
    redis.cleanup()
    pg.cleanup()


def base_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env.update({"HERALD_LOG_LEVEL": "info", "HERALD_HTTP_THREADS": "4",
                "HERALD_SHUTDOWN_TIMEOUT": "10"})
    return env


def fresh_pg_database(pg):
    name = f"t{os.getpid()}_{next(_db_seq)}"
    admin = pg.url
    subprocess.run(["psql", admin, "-qAtX", "-c", f"CREATE DATABASE {name}"], check=True,
                   capture_output=True)
    return admin.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def make_herald(backend, request, tmp_path):
    """Build Herald instances on the backend under test (not started)."""
    made = []

    def make(**extra):
        env = base_env()
        if backend == "sqlite":
            env["HERALD_DATABASE"] = "herald.db"
        else:
            pg, redis = request.getfixturevalue("cluster")
            env["HERALD_DATABASE"] = fresh_pg_database(pg)
            env["HERALD_REDIS"] = redis.url
            subprocess.run(["redis-cli", "-p", str(redis.port), "FLUSHALL"], check=True,
                           capture_output=True)
        env.update(extra)
        h = Herald(str(tmp_path), env)
        made.append(h)
        return h

    yield make
    for h in made:
        was_running = h.proc is not None and h.proc.poll() is None
        rc = h.stop()
        assert_no_sanitizer_report(h.logtext(), "herald run")
        if was_running:
            assert rc == 0, f"herald exited {rc} on SIGTERM:\n{h.logtext()[-4000:]}"


@pytest.fixture
def herald(make_herald):
    """A running Herald on a fresh database."""
    return make_herald().start()
