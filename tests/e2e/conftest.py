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


class Process:
    """A child process of the test with its log file (self.proc, self.log,
    self.logpath set by the subclass)."""

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

    def logtext(self):
        try:
            with open(self.logpath, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Herald(Process):
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

    def url(self, path):
        return self.base + path

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


# ---- the Telegram simulator and a bot on it (tests/e2e/test_user_journey_workflows.py) ----

SIM_TOKEN = "123456789:SIMTOKEN-e2e"


class Sim(Process):
    """One `herald sim` process and helpers for its control API
    (docs/simulator.md): act as users and channel admins, read what the bot
    sent (long-polled with wait_ms, never by sleeping)."""

    def __init__(self, workdir, token=SIM_TOKEN):
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.port = servers.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.logpath = os.path.join(workdir, f"sim-{self.port}.log")
        self.proc = None
        self.seen = {}  # chat id -> the highest message_id read

    def start(self, timeout=20):
        self.log = open(self.logpath, "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        self.proc = subprocess.Popen(
            [BIN, "sim", "--listen", f"127.0.0.1:{self.port}", "--token", self.token],
            env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"herald sim exited with {self.proc.returncode}:\n"
                                   + self.logtext())
            try:
                if requests.get(self.base + "/control/bot", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("herald sim did not start:\n" + self.logtext())

    def ctl(self, method, path, body=None, status=200, **params):
        r = requests.request(method, self.base + "/control" + path, json=body, params=params,
                             timeout=90)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    # -- users
    def user(self, uid, language_code=None, first_name=None, **extra):
        body = {"id": uid, "first_name": first_name or f"User{uid}"}
        if language_code:
            body["language_code"] = language_code
        body.update(extra)
        return self.ctl("POST", "/users", body)

    def say(self, uid, text):
        return self.ctl("POST", f"/users/{uid}/messages", {"text": text})

    def press(self, uid, message, text=None, data=None):
        """Press a button of a message the bot sent to uid: by its text (the
        first button whose text contains it), or send raw data."""
        body = {"message_id": message["message_id"]}
        if data is not None:
            body["data"] = data
        else:
            body["data"] = self.button(message, text)["callback_data"]
        return self.ctl("POST", f"/users/{uid}/callback", body)

    @staticmethod
    def buttons(message):
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        return [b for row in rows for b in row]

    def button(self, message, text):
        for b in self.buttons(message):
            if text in b["text"]:
                return b
        raise AssertionError(f"no button with {text!r} in {self.buttons(message)}")

    def forward(self, uid, channel_id, message_id):
        return self.ctl("POST", f"/users/{uid}/forward",
                        {"channel_id": channel_id, "message_id": message_id})

    def block(self, uid):
        return self.ctl("POST", f"/users/{uid}/block")

    def unblock(self, uid):
        return self.ctl("POST", f"/users/{uid}/unblock")

    # -- channels
    def channel(self, title, creator, username=None, admins=None):
        body = {"title": title, "creator_id": creator}
        if username:
            body["username"] = username
        if admins:
            body["admins"] = admins
        return self.ctl("POST", "/channels", body)["chat"]

    def set_bot(self, chat_id, by, status="administrator", rights=None):
        body = {"status": status, "by": by}
        if status == "administrator":
            body["rights"] = rights if rights is not None else ALL_RIGHTS
        return self.ctl("POST", f"/channels/{chat_id}/bot", body)

    def post(self, chat_id, text, by=None):
        body = {"text": text}
        if by:
            body["by"] = by
        return self.ctl("POST", f"/channels/{chat_id}/posts", body)["message"]

    # -- reading what the bot sent
    def sent(self, chat_id, wait_ms=0, after=None):
        after = self.seen.get(chat_id, 0) if after is None else after
        return self.ctl("GET", f"/chats/{chat_id}/messages", after=after,
                        wait_ms=wait_ms)["messages"]

    def expect(self, chat_id, contains, timeout=15):
        """The next message the bot sends to chat_id that contains the text
        (messages before it are skipped); fails after timeout seconds."""
        deadline = time.monotonic() + timeout
        skipped = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"chat {chat_id}: no message containing {contains!r}; "
                                     f"got {[m.get('text') for m in skipped]}")
            for m in self.sent(chat_id, wait_ms=int(min(left, 10) * 1000)):
                self.seen[chat_id] = max(self.seen.get(chat_id, 0), m["message_id"])
                if contains in (m.get("text") or ""):
                    return m
                skipped.append(m)

    def quiet(self, chat_id, wait_ms=700):
        """Assert the bot sends nothing more to chat_id within wait_ms."""
        extra = self.sent(chat_id, wait_ms=wait_ms)
        assert not extra, f"chat {chat_id}: unexpected {[m.get('text') for m in extra]}"

    def stats(self):
        return self.ctl("GET", "/stats")

    def inject(self, **failure):
        return self.ctl("POST", "/failures", failure)


ALL_RIGHTS = {"can_post_messages": True, "can_edit_messages": True,
              "can_delete_messages": True, "can_invite_users": True}


@pytest.fixture
def sim(tmp_path):
    """A fresh Telegram simulator for one test."""
    s = Sim(str(tmp_path)).start()
    yield s
    rc = s.stop()
    assert_no_sanitizer_report(s.logtext(), "herald sim")
    assert rc == 0, f"herald sim exited {rc}:\n{s.logtext()[-4000:]}"


@pytest.fixture(params=["polling", "webhook"])
def bot_mode(request):
    return request.param


WEBHOOK_SECRET = "e2e-webhook-secret_0123456789"


@pytest.fixture
def make_bot_herald(sim, make_herald, bot_mode):
    """Build Herald instances (not started) whose bot talks to `sim`, in
    polling or webhook mode (bot_mode)."""

    def make(**extra):
        env = {"HERALD_BOT_TOKEN": sim.token, "HERALD_TELEGRAM_API": sim.base,
               "HERALD_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET}
        env.update(extra)
        h = make_herald(**env)
        if bot_mode == "webhook":
            h.env["HERALD_PUBLIC_URL"] = h.base
        h.sim = sim
        return h

    return make


@pytest.fixture
def bot_herald(make_bot_herald):
    """A running Herald with its bot on the simulator."""
    return make_bot_herald().start()
