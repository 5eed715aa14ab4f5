#!/usr/bin/env python3
"""Delivery benchmark: many scheduled deliveries due at once, sent by Herald's
scheduler to the Telegram simulator (`herald sim`) with flood control on
(a channel: 20 at once, then 20 a minute; the bot: 30 at once, then 30 a
second; docs/simulator.md).

Each run starts a fresh simulator and a fresh Herald (roles api,worker: the
scheduler is the only sender; real clock), creates one user with an API key,
raises the plans' limits with SQL as an operator would, creates CHANNELS
channels in the simulator with the bot as administrator and connects them
through POST /api/v1/channels. Then:

  burst     DELIVERIES deliveries (posts of 10 channels each, spread over the
            channels) all due at the same local minute, 1-2 minutes ahead;
            creation (posts/s through the API) must finish before it.
            Measured: drain time (the last delivery's sent_at minus the due
            instant) against the ideal the limits allow (deliveries / rate,
            for Telegram's 30/s and for Herald's HERALD_TELEGRAM_RATE),
            lateness p50/p99/max from the deliveries table, the simulator's
            429s and violations, peak RSS (VmHWM) of Herald and of the
            simulator, CPU seconds of each during the drain.
  capacity  a schedule the limits can carry: CAP_RATE deliveries due every
            second for CAP_SECONDS seconds (each channel at most one every
            10 s): lateness p50/p99/max.

Every run checks that every delivery ended `sent`, that each channel holds
each of its posts exactly once and in due order, and that the simulator saw
no 429 and no violation. A run that does not drain within 3 times the ideal
(plus a minute) gives up with a message.

usage: delivery_bench.py HERALD_BINARY [--deliveries N] [--channels N]
       [--rounds N] [--quick] [--backends sqlite,postgres] [--no-rate30]
       [--no-capacity]
"""
import argparse
import concurrent.futures
import datetime
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zoneinfo

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import servers  # noqa: E402
from http_bench import machine, wait_http  # noqa: E402

SIM_TOKEN = "123456789:SIMTOKEN-demo"
OWNER = 5550001
RIGHTS = {"can_post_messages": True, "can_edit_messages": True, "can_delete_messages": True}
TELEGRAM_RATE = 30  # the bot's global limit in the simulator, as Telegram's
PER_POST = 10       # channels per post (POST_CHANNELS_MAX)
CLIENTS = 4         # concurrent API clients creating posts


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Fail(Exception):
    pass


# ---- processes -------------------------------------------------------------

def proc_status(pid, field):
    """A field of /proc/PID/status in KiB (VmHWM, VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc):
    """SIGTERM one process this benchmark started, by its pid; SIGKILL after 20 s."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


class Store:
    """Read the database Herald writes, directly (not through Herald)."""

    def __init__(self, url):
        self.url = url

    def rows(self, query):
        if self.url.startswith("postgres"):
            out = subprocess.run(["psql", self.url, "-AtX", "-F", "|", "-c", query],
                                 check=True, capture_output=True, text=True).stdout
            return [tuple(line.split("|")) for line in out.splitlines() if line]
        import sqlite3
        con = sqlite3.connect(self.url, timeout=30)
        try:
            rows = con.execute(query).fetchall()
            con.commit()
        finally:
            con.close()
        return [tuple(str(v) if v is not None else "" for v in r) for r in rows]


class Node:
    """A simulator and a Herald on it, with their setup (one per run)."""

    def __init__(self, herald, work, backend, pg, rate):
        self.herald, self.work, self.backend, self.rate = herald, work, backend, rate
        self.sim = self.proc = self.redis = None
        self.logs = []
        self.sim_port = servers.free_port()
        self.port = servers.free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        self.env = dict(env, HERALD_LISTEN=f"127.0.0.1:{self.port}",
                        HERALD_ROLES="api,worker", HERALD_BOT_TOKEN=SIM_TOKEN,
                        HERALD_TELEGRAM_API=self.sim_url, HERALD_TEST_CLOCK="0",
                        HERALD_TELEGRAM_RATE=str(rate), HERALD_LOG_LEVEL="info",
                        # the API's per-user budget (20/s) would make the
                        # creation rate a measure of that limiter
                        HERALD_API_RATE="100000", HERALD_API_BURST="100000")
        if backend == "sqlite":
            self.env["HERALD_DATABASE"] = os.path.join(work, "herald.db")
        else:
            name = f"bench_{os.getpid()}_{int(time.time() * 1000) % 10**9}"
            subprocess.run(["psql", pg.url, "-qAtX", "-c", f"CREATE DATABASE {name}"],
                           check=True, capture_output=True)
            self.env["HERALD_DATABASE"] = pg.url.rsplit("/", 1)[0] + "/" + name
            self.redis = servers.Redis().start()
            self.env["HERALD_REDIS"] = self.redis.url
        self.store = Store(self.env["HERALD_DATABASE"])
        self.api = requests.Session()

    def _log(self, name):
        f = open(os.path.join(self.work, name), "ab")
        self.logs.append(f)
        return f

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        out = self._log("sim.log")
        self.sim = subprocess.Popen([self.herald, "sim", "--listen",
                                     f"127.0.0.1:{self.sim_port}", "--token", SIM_TOKEN],
                                    env=dict(env, HERALD_LOG_LEVEL="warn"), stdout=out,
                                    stderr=out)
        wait_http(self.sim_url + "/control/bot")
        out = self._log("herald.log")
        self.proc = subprocess.Popen([self.herald, "run"], env=self.env, cwd=self.work,
                                     stdout=out, stderr=out)
        wait_http(self.url + "/healthz")

    def cli(self, *args):
        r = subprocess.run([self.herald, *args], env=self.env, cwd=self.work,
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise Fail(f"herald {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout.strip()

    def ctl(self, method, path, body=None, **params):
        r = requests.request(method, self.sim_url + "/control" + path, json=body,
                             params=params, timeout=60)
        if r.status_code != 200:
            raise Fail(f"sim {method} {path}: {r.status_code} {r.text[:300]}")
        return r.json()

    def setup(self, nchannels):
        """The user, the plans raised, nchannels channels connected: their ids."""
        self.cli("user", "add", "--telegram-id", str(OWNER), "--name", "Bench Owner")
        key = self.cli("apikey", "create", "--telegram-id", str(OWNER))
        self.api.headers["Authorization"] = f"Bearer {key}"
        # an operator's change: the plans allow far more than 10 channels
        # and 2,000 posts a month
        self.store.rows("UPDATE plans SET max_channels = 100000, max_posts_month = 10000000")
        me = self.api.get(self.url + "/api/v1/me", timeout=30).json()
        self.zone = me["time_zone"]
        self.ctl("POST", "/users", {"id": OWNER, "first_name": "Owner"})

        def one(i):
            chat = self.ctl("POST", "/channels", {"title": f"Bench {i}",
                                                  "creator_id": OWNER})["chat"]["id"]
            self.ctl("POST", f"/channels/{chat}/bot",
                     {"by": OWNER, "status": "administrator", "rights": RIGHTS})
            r = self.api.post(self.url + "/api/v1/channels", json={"chat_id": chat}, timeout=60)
            if r.status_code != 201:
                raise Fail(f"POST /api/v1/channels: {r.status_code} {r.text[:300]}")
            return r.json()["id"], chat

        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as ex:
            self.channels = list(ex.map(one, range(nchannels)))
        return self.channels

    def create_posts(self, posts):
        """posts: [(index, [channel ids], schedule)]; returns {index: post id}
        and the seconds it took."""
        ids = {}

        def chunk(part):
            s = requests.Session()
            s.headers.update(self.api.headers)
            out = {}
            for i, chans, sched in part:
                r = s.post(self.url + "/api/v1/posts", timeout=60,
                           json={"text": f"bench post {i}", "channels": chans,
                                 "schedule": sched})
                if r.status_code != 201:
                    raise Fail(f"POST /api/v1/posts: {r.status_code} {r.text[:300]}")
                out[i] = r.json()["id"]
            return out

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as ex:
            for part in ex.map(chunk, [posts[k::CLIENTS] for k in range(CLIENTS)]):
                ids.update(part)
        return ids, time.monotonic() - t0

    def stats(self):
        return self.ctl("GET", "/stats")

    def metrics(self):
        text = requests.get(self.url + "/metrics", timeout=30).text
        out = {}
        for name, val in re.findall(r'^herald_deliveries_total\{outcome="(\w+)"\} (\d+)$',
                                    text, re.M):
            out[name] = int(val)
        m = re.search(r"^herald_jobs_run_total (\d+)$", text, re.M)
        out["jobs_run"] = int(m.group(1)) if m else 0
        return out

    def close(self):
        stop(self.proc)
        stop(self.sim)
        if self.redis:
            self.redis.cleanup()
        if self.backend != "sqlite":
            db = self.env["HERALD_DATABASE"]
            admin = db.rsplit("/", 1)[0] + "/herald"
            subprocess.run(["psql", admin, "-qAtX", "-c",
                            f"DROP DATABASE IF EXISTS {db.rsplit('/', 1)[1]}"],
                           capture_output=True)
        for f in self.logs:
            f.close()


# ---- one run -----------------------------------------------------------------

def pct(sorted_vals, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return float("nan")
    return sorted_vals[max(0, math.ceil(p / 100 * len(sorted_vals)) - 1)]


def wait_drained(node, n, deadline, what):
    """Until the simulator has seen n sendMessage calls and the store holds n
    deliveries sent; Fail at deadline (monotonic)."""
    last = -1
    while True:
        if node.proc.poll() is not None:
            raise Fail(f"herald exited with {node.proc.returncode} during {what}")
        sent = int(node.store.rows("SELECT COUNT(*) FROM deliveries WHERE state = 'sent'")[0][0])
        if sent >= n:
            return
        if time.monotonic() > deadline:
            states = node.store.rows("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
            raise Fail(f"{what}: gave up: {sent} of {n} deliveries sent by the deadline "
                       f"(states {dict(states)})")
        if sent // 1000 != last // 1000:
            log(f"    {sent} / {n} sent")
            last = sent
        time.sleep(1)


def verify(node, expected):
    """expected: {chat id: [(due_ms, post index), ...]} -> problems (a list of text)."""
    problems = []
    states = dict(node.store.rows("SELECT state, COUNT(*) FROM deliveries GROUP BY state"))
    if set(states) != {"sent"}:
        problems.append(f"delivery states {states}")
    for chat, want in expected.items():
        msgs = node.ctl("GET", f"/chats/{chat}/messages", limit=len(want) + 100)["messages"]
        got = []
        for m in msgs:
            mm = re.fullmatch(r"bench post (\d+)", m.get("text", ""))
            if not mm:
                problems.append(f"chat {chat}: unexpected message {m.get('text')!r}")
                continue
            got.append(int(mm.group(1)))
        due = {i: d for d, i in want}
        if sorted(got) != sorted(i for _, i in want):
            extra = len(got) - len(set(got))
            problems.append(f"chat {chat}: {len(got)} messages ({extra} repeated) for "
                            f"{len(want)} posts")
        dues = [due.get(i, 0) for i in got]
        if dues != sorted(dues):
            problems.append(f"chat {chat}: messages not in due order")
        if len(problems) > 20:
            break
    return problems


def measure(node, n, due_ms, t_run):
    """Lateness and drain from the deliveries table."""
    rows = node.store.rows("SELECT due_at, sent_at, lateness_ms FROM deliveries "
                           "WHERE state = 'sent'")
    late = sorted(int(r[2]) for r in rows)
    last = max(int(r[1]) for r in rows)
    return {"n": len(rows), "drain_s": (last - due_ms) / 1000 if due_ms else None,
            "p50": pct(late, 50) / 1000, "p99": pct(late, 99) / 1000,
            "max": late[-1] / 1000}


def dump(node, dump_dir, label):
    """Keep each delivery (chat, post, due, sent, attempts) and the logs of a run."""
    if not dump_dir:
        return
    os.makedirs(dump_dir, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-")
    rows = node.store.rows("SELECT id, chat_id, post_id, due_at, sent_at, attempts, state "
                           "FROM deliveries ORDER BY sent_at")
    with open(os.path.join(dump_dir, name + ".csv"), "w") as f:
        f.write("id,chat_id,post_id,due_at,sent_at,attempts,state\n")
        for r in rows:
            f.write(",".join(r) + "\n")
    for f in node.logs:
        f.flush()
        shutil.copy(f.name, os.path.join(dump_dir, name + "-" + os.path.basename(f.name)))


def run_burst(herald, backend, pg, rate, n, nchannels, label, dump_dir=None):
    work = tempfile.mkdtemp(prefix="herald-delivery-bench-")
    node = Node(herald, work, backend, pg, rate)
    try:
        node.start()
        t = time.monotonic()
        chans = node.setup(nchannels)
        log(f"  {label}: {nchannels} channels connected in {time.monotonic() - t:.1f} s")
        nposts = n // PER_POST
        # post i goes to PER_POST consecutive channels, the next post to the next ones:
        # every channel gets n / nchannels deliveries
        targets = [[chans[(i * PER_POST + k) % nchannels] for k in range(PER_POST)]
                   for i in range(nposts)]
        # the due minute: after creation (estimated at 25 posts/s at worst) and
        # at least 45 s ahead
        now = time.time()
        due = math.ceil((now + 45 + nposts / 25) / 60) * 60
        zone = zoneinfo.ZoneInfo(node.zone)
        at = datetime.datetime.fromtimestamp(due, zone).strftime("%Y-%m-%dT%H:%M")
        sched = {"at": at, "zone": node.zone}
        posts = [(i, [c for c, _ in targets[i]], sched) for i in range(nposts)]
        ids, took = node.create_posts(posts)
        if time.time() >= due:
            raise Fail(f"{label}: creating {nposts} posts took {took:.0f} s, past the due "
                       f"minute: the benchmark's estimate is wrong for this machine")
        log(f"  {label}: {nposts} posts ({n} deliveries) created in {took:.1f} s "
            f"({nposts / took:.0f} posts/s); due at {at} {node.zone}, "
            f"in {due - time.time():.0f} s")
        dues = node.store.rows("SELECT DISTINCT due_at FROM deliveries")
        if dues != [(str(due * 1000),)]:
            raise Fail(f"{label}: deliveries due at {dues}, expected {due * 1000}")
        expected = {}
        for i in range(nposts):
            for _, chat in targets[i]:
                expected.setdefault(chat, []).append((due * 1000, i))
        ideal = n / rate
        while time.time() < due:
            time.sleep(min(1, due - time.time()))
        cpu0 = cpu_seconds(node.proc.pid), cpu_seconds(node.sim.pid)
        t_due = time.monotonic()
        wait_drained(node, n, t_due + 3 * ideal + 60, label)
        cpu1 = cpu_seconds(node.proc.pid), cpu_seconds(node.sim.pid)
        res = measure(node, n, due * 1000, t_due)
        res.update(label=label, backend=backend, rate=rate, n=n, channels=nchannels,
                   posts=nposts, create_s=took, create_rate=nposts / took,
                   ideal_herald=ideal, ideal_tg=n / TELEGRAM_RATE,
                   herald_hwm=proc_status(node.proc.pid, "VmHWM"),
                   sim_hwm=proc_status(node.sim.pid, "VmHWM"),
                   herald_cpu=cpu1[0] - cpu0[0], sim_cpu=cpu1[1] - cpu0[1])
        st = node.stats()
        res["too_many_requests"] = st["too_many_requests"]
        res["violations"] = st["violations"]
        res["sends"] = st["requests"].get("sendMessage", 0)
        res["outcomes"] = node.metrics()
        res["problems"] = verify(node, expected)
        dump(node, dump_dir, label)
        log(f"  {label}: drain {res['drain_s']:.1f} s (ideal {ideal:.1f} s at {rate}/s: "
            f"{res['drain_s'] / ideal:.3f}x; {res['drain_s'] / res['ideal_tg']:.3f}x of "
            f"{n / TELEGRAM_RATE:.1f} s at 30/s), lateness p50 {res['p50']:.1f} s p99 "
            f"{res['p99']:.1f} s max {res['max']:.1f} s, 429s {res['too_many_requests']}, "
            f"violations {res['violations']}, sends {res['sends']}, herald VmHWM "
            f"{res['herald_hwm'] / 1024:.0f} MiB, sim {res['sim_hwm'] / 1024:.0f} MiB, "
            f"CPU herald {res['herald_cpu']:.1f} s sim {res['sim_cpu']:.1f} s, "
            f"outcomes {res['outcomes']}, problems {res['problems'][:5]}")
        return res
    finally:
        node.close()
        shutil.rmtree(work, ignore_errors=True)


def run_capacity(herald, backend, pg, rate, per_second, seconds, nchannels, dump_dir=None):
    """per_second deliveries due at each of `seconds` consecutive seconds."""
    work = tempfile.mkdtemp(prefix="herald-delivery-bench-")
    node = Node(herald, work, backend, pg, rate)
    label = f"{backend} capacity {per_second}/s"
    try:
        node.start()
        chans = node.setup(nchannels)
        posts_per_s = max(1, per_second // PER_POST)
        nposts = posts_per_s * seconds
        start = math.ceil(time.time() + 20 + nposts / 25)
        posts, expected, targets = [], {}, []
        for i in range(nposts):
            at_s = start + i // posts_per_s
            tg = [chans[(i * PER_POST + k) % nchannels] for k in range(PER_POST)]
            at = datetime.datetime.fromtimestamp(at_s, datetime.timezone.utc)
            posts.append((i, [c for c, _ in tg],
                          {"at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "zone": node.zone}))
            for _, chat in tg:
                expected.setdefault(chat, []).append((at_s * 1000, i))
        ids, took = node.create_posts(posts)
        if time.time() >= start:
            raise Fail(f"{label}: creation took {took:.0f} s, past the first due second")
        n = nposts * PER_POST
        log(f"  {label}: {nposts} posts ({n} deliveries, {posts_per_s * PER_POST} due each "
            f"second for {seconds} s) created in {took:.1f} s")
        while time.time() < start:
            time.sleep(min(1, start - time.time()))
        wait_drained(node, n, time.monotonic() + seconds + 120, label)
        res = measure(node, n, None, None)
        res.update(label=label, backend=backend, rate=rate, n=n, channels=nchannels,
                   per_second=posts_per_s * PER_POST, seconds=seconds,
                   herald_hwm=proc_status(node.proc.pid, "VmHWM"),
                   sim_hwm=proc_status(node.sim.pid, "VmHWM"))
        st = node.stats()
        res["too_many_requests"] = st["too_many_requests"]
        res["violations"] = st["violations"]
        res["outcomes"] = node.metrics()
        res["problems"] = verify(node, expected)
        dump(node, dump_dir, label)
        log(f"  {label}: lateness p50 {res['p50'] * 1000:.0f} ms p99 {res['p99'] * 1000:.0f} ms "
            f"max {res['max'] * 1000:.0f} ms, 429s {res['too_many_requests']}, violations "
            f"{res['violations']}, outcomes {res['outcomes']}, problems {res['problems'][:5]}")
        return res
    finally:
        node.close()
        shutil.rmtree(work, ignore_errors=True)


# ---- report --------------------------------------------------------------------

def report(args, bursts, caps):
    print(f"Machine: {machine()}; the simulator and Herald share the cores.")
    print(f"Herald: roles api,worker, HERALD_WORKERS 8 (default), release build; "
          f"{args.channels} channels, posts of {PER_POST} channels each, created by "
          f"{CLIENTS} API clients.")
    print()
    print("| store | HERALD_TELEGRAM_RATE | deliveries | rounds | drain (median) | ideal at "
          "Herald's rate | vs ideal | ideal at 30/s | vs 30/s | lateness p50 | p99 | max | "
          "429s | violations | Herald VmHWM | sim VmHWM | posts/s created | checks |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for key, rs in bursts.items():
        med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
        r0 = rs[0]
        checks = "ok" if not any(r["problems"] for r in rs) else "; ".join(
            p for r in rs for p in r["problems"][:3])
        print(f"| {r0['backend']} | {r0['rate']} | {r0['n']:,} | {len(rs)} | "
              f"{med('drain_s'):.1f} s | {r0['ideal_herald']:.1f} s | "
              f"{med('drain_s') / r0['ideal_herald']:.3f} | {r0['ideal_tg']:.1f} s | "
              f"{med('drain_s') / r0['ideal_tg']:.3f} | {med('p50'):.1f} s | "
              f"{med('p99'):.1f} s | {med('max'):.1f} s | "
              f"{sum(r['too_many_requests'] for r in rs)} | "
              f"{sum(r['violations'] for r in rs)} | {max(r['herald_hwm'] for r in rs) / 1024:.0f} MiB | "
              f"{max(r['sim_hwm'] for r in rs) / 1024:.0f} MiB | {med('create_rate'):.0f} | "
              f"{checks} |")
    print()
    for key, rs in bursts.items():
        for k, r in enumerate(rs):
            print(f"  {r['label']}: drain {r['drain_s']:.1f} s, p50 "
                  f"{r['p50']:.1f} s, p99 {r['p99']:.1f} s, CPU during the drain: herald "
                  f"{r['herald_cpu']:.1f} s, sim {r['sim_cpu']:.1f} s; outcomes {r['outcomes']}")
    if caps:
        print()
        print("| store | schedule | deliveries | lateness p50 | p99 | max | 429s | violations | "
              "Herald VmHWM | checks |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in caps:
            checks = "ok" if not r["problems"] else "; ".join(r["problems"][:3])
            print(f"| {r['backend']} | {r['per_second']} due each second for {r['seconds']} s | "
                  f"{r['n']:,} | {r['p50'] * 1000:.0f} ms | {r['p99'] * 1000:.0f} ms | "
                  f"{r['max'] * 1000:.0f} ms | {r['too_many_requests']} | {r['violations']} | "
                  f"{r['herald_hwm'] / 1024:.0f} MiB | {checks} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("herald")
    ap.add_argument("--deliveries", type=int, default=10000)
    ap.add_argument("--channels", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--quick", action="store_true",
                    help="600 deliveries over 100 channels, a 20 s capacity run")
    ap.add_argument("--backends", default="sqlite",
                    help="comma separated: sqlite, postgres (PostgreSQL + Redis)")
    ap.add_argument("--no-rate30", action="store_true",
                    help="skip the burst with HERALD_TELEGRAM_RATE=30")
    ap.add_argument("--no-capacity", action="store_true")
    ap.add_argument("--cap-rate", type=int, default=20)
    ap.add_argument("--cap-seconds", type=int, default=60)
    ap.add_argument("--rate", type=int, default=28,
                    help="HERALD_TELEGRAM_RATE of the main burst (28 is Herald's default)")
    ap.add_argument("--dump", metavar="DIR",
                    help="keep each run's deliveries (CSV) and logs in DIR")
    args = ap.parse_args()
    if args.quick:
        args.deliveries, args.channels, args.cap_seconds = 600, 100, 20
    if args.deliveries % PER_POST:
        sys.exit(f"--deliveries must be a multiple of {PER_POST}")
    if args.channels < PER_POST:
        sys.exit(f"--channels must be at least {PER_POST}")
    herald = os.path.abspath(args.herald)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    pg = None
    bursts, caps = {}, []
    try:
        if "postgres" in backends:
            pg = servers.Postgres().start()
        for backend in backends:
            for rnd in range(args.rounds):
                r = run_burst(herald, backend, pg, args.rate, args.deliveries, args.channels,
                              f"{backend} burst rate {args.rate} (round {rnd + 1})", args.dump)
                bursts.setdefault((backend, args.rate), []).append(r)
            if not args.no_rate30 and args.rate != 30:
                r = run_burst(herald, backend, pg, 30, args.deliveries, args.channels,
                              f"{backend} burst rate 30", args.dump)
                bursts.setdefault((backend, 30), []).append(r)
            if not args.no_capacity:
                caps.append(run_capacity(herald, backend, pg, args.rate, args.cap_rate,
                                         args.cap_seconds, args.channels, args.dump))
    except Fail as e:
        sys.exit(f"delivery_bench: {e}")
    finally:
        if pg:
            pg.cleanup()
    report(args, bursts, caps)
    bad = [p for rs in bursts.values() for r in rs for p in r["problems"]] + \
          [p for r in caps for p in r["problems"]]
    if bad:
        sys.exit("delivery_bench: checks failed: " + "; ".join(bad[:10]))


if __name__ == "__main__":
    main()
