#!/usr/bin/env python3
"""Analytics benchmark: the full overview of a channel with 10,000 posts and a
year of hourly member counts and view velocity (GET /api/v1/channels/{id}/analytics/overview),
on SQLite and on PostgreSQL: latency (median and p90 of sequential
requests, each a fresh computation: the ETag is not sent), beside GET
/healthz in the same run, and Herald's peak memory (VmHWM). Then the other
views once each. The data is written straight into the store (posts over a
year, 8,760 hourly member counts, the last 8 days of hourly snapshots of
young posts, as a pro plan's collector leaves them); and collection
throughput: pages of the public channel page parsed per second
(bench/tme_bench.c, run by bench/run.sh).

usage: analytics_bench.py HERALD_BINARY [--requests N] [--posts N]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import servers  # noqa: E402
from http_bench import machine, wait_http  # noqa: E402

HOUR = 3600 * 1000
DAY = 24 * HOUR
KINDS = ["text", "photo", "video", "document", "album", "poll"]


def seed_sql(now, posts, dialect):
    """INSERTs for one channel (id 1, owner 1): posts spread over a year."""
    year = 365 * DAY
    start = now - year
    step = year // posts
    lines = ["INSERT INTO channels (id, owner_id, chat_id, title, username, status, checked_at, "
             f"created_at) VALUES (1, 1, -1001, 'Bench', 'bench', 'ok', {now}, {start});"]
    rows = []
    for i in range(posts):
        at = start + i * step + (i * 7919) % (step // 2)
        views = 2000 + (i * 37) % 3000
        young = now - at < 8 * DAY
        v24 = "NULL" if now - at < DAY else str(views * 8 // 10)
        v48 = "NULL" if now - at < 2 * DAY else str(views * 9 // 10)
        rows.append(f"(1, {i + 1}, {at}, '{KINDS[i % 6]}', {views}, 1, {now}, {v24}, {v48}, "
                    f"{views // 40}, {views // 200}, 'page', {now})")
        if young:
            for h in range(1, min(8 * 24, (now - at) // HOUR) + 1):
                t = at + h * HOUR
                if t < now:
                    lines.append(f"INSERT INTO post_snapshots (channel_id, message_id, "
                                 f"measured_at, views, approx) VALUES (1, {i + 1}, "
                                 f"{t - t % HOUR}, {views * min(h, 48) // 48}, 1);")
    for k in range(0, len(rows), 500):
        lines.append("INSERT INTO channel_posts (channel_id, message_id, posted_at, kind, views, "
                     "views_approx, views_at, views_24h, views_48h, reactions, forwards, source, "
                     "seen_at) VALUES " + ", ".join(rows[k:k + 500]) + ";")
    pts = []
    for hour in range(365 * 24):
        at = start + hour * HOUR
        pts.append(f"(1, 'members', 'bot_api', {at}, {50000 + hour * 3 + (hour * 13) % 40})")
        pts.append(f"(1, 'views_gained', 'page', {at}, {3000 + (hour * 131) % 900})")
    for k in range(0, len(pts), 1000):
        lines.append("INSERT INTO metric_points (channel_id, metric, source, measured_at, value) "
                     "VALUES " + ", ".join(pts[k:k + 1000]) + ";")
    return "BEGIN;\n" + "\n".join(lines) + "\nCOMMIT;\n"


def run_sql(db, script):
    if db.startswith("postgres"):
        subprocess.run(["psql", db, "-qX", "-v", "ON_ERROR_STOP=1"], input=script, text=True,
                       check=True, capture_output=True)
    else:
        import sqlite3
        con = sqlite3.connect(db, timeout=30)
        con.executescript(script)
        con.close()


def get(url, key=None):
    req = urllib.request.Request(url)
    if key:
        req.add_header("Authorization", "Bearer " + key)
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as r:
        body = r.read()
        assert r.status == 200, r.status
    return (time.perf_counter() - t0) * 1000, body


def hwm(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("herald")
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--posts", type=int, default=10000)
    args = ap.parse_args()
    herald = os.path.abspath(args.herald)
    work = tempfile.mkdtemp(prefix="herald-analytics-bench-")
    base = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    base.update({"HERALD_ROLES": "api", "HERALD_LOG_LEVEL": "warn", "HERALD_TEST_CLOCK": "0"})
    pg = servers.Postgres()
    procs = []
    log = open(os.path.join(work, "herald.log"), "wb")
    results = []
    try:
        pg.start()
        now = int(time.time() * 1000)
        for name, db in (("SQLite", os.path.join(work, "bench.db")), ("PostgreSQL", pg.url)):
            env = dict(base, HERALD_DATABASE=db)
            subprocess.run([herald, "migrate"], env=env, check=True, capture_output=True)
            subprocess.run([herald, "user", "add", "--telegram-id", "1", "--name", "Bench"],
                           env=env, check=True, capture_output=True)
            key = subprocess.run([herald, "apikey", "create", "--telegram-id", "1"], env=env,
                                 check=True, capture_output=True, text=True).stdout.strip()
            t0 = time.perf_counter()
            run_sql(db, seed_sql(now, args.posts, name))
            seeded = time.perf_counter() - t0
            port = servers.free_port()
            p = subprocess.Popen([herald, "run"], env=dict(env, HERALD_LISTEN=f"127.0.0.1:{port}"),
                                 stdout=log, stderr=log)
            procs.append(p)
            base_url = f"http://127.0.0.1:{port}"
            wait_http(base_url + "/healthz")
            rss0 = hwm(p.pid)
            url = base_url + "/api/v1/channels/1/analytics/"
            _, body = get(url + "overview", key)
            o = json.loads(body)
            assert o["posts"] > 0 and o["subscribers"]["value"], o
            lat, ref = [], []
            for _ in range(args.requests):
                lat.append(get(url + "overview", key)[0])
                ref.append(get(base_url + "/healthz")[0])
            views = {v: get(url + v, key)[0] for v in ("growth", "posts", "best-times",
                                                       "trending")}
            lat.sort()
            results.append((name, statistics.median(lat), lat[int(len(lat) * 0.9)],
                            statistics.median(ref), hwm(p.pid), rss0, views, seeded,
                            o["posts"]))
            print(f"  {name}: overview median {statistics.median(lat):.1f} ms", file=sys.stderr)
        print(f"Machine: {machine()}")
        print(f"{args.posts} posts over a year, 8,760 hourly member counts, 8 days of hourly "
              f"snapshots; {args.requests} sequential requests each, median and p90.")
        print()
        print("| store | overview median | p90 | GET /healthz median | overview vs /healthz | "
              "growth | posts | best-times | trending | Herald peak RSS (before) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, med, p90, hz, rss, rss0, views, _, _ in results:
            print(f"| {name} | {med:.1f} ms | {p90:.1f} ms | {hz:.2f} ms | {med / hz:.0f}x | "
                  f"{views['growth']:.1f} ms | {views['posts']:.1f} ms | "
                  f"{views['best-times']:.1f} ms | {views['trending']:.1f} ms | "
                  f"{rss:.0f} MiB ({rss0:.0f} MiB) |")
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        pg.cleanup()
        log.close()


if __name__ == "__main__":
    main()
