#!/usr/bin/env python3
"""Webhook intake benchmark: Telegram updates per second through
POST /hooks/telegram into the bot's inbox (secret check, JSON validation and
the INSERT into tg_updates), on SQLite and on PostgreSQL, beside Herald's own
GET /healthz in the same run as the reference.

wrk sends each request with a fresh update_id (a Lua counter per wrk thread,
so no two requests repeat one) from a few hundred private chats. The nodes run
the api role only: updates are recorded, not handled, so the figure is intake
capacity. After each run the benchmark checks that the inbox holds exactly one
row per 2xx answer.

usage: webhook_bench.py HERALD_BINARY [--seconds N] [--rounds N]
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import servers  # noqa: E402
from http_bench import machine, wait_http, wrk  # noqa: E402

SECRET = "bench-secret"
LUA = r"""
local counter = 0
local nthreads = 0
function setup(thread)
  -- sets the global "base" in that thread's interpreter
  thread:set("base", nthreads * 100000000 + ROUND)
  nthreads = nthreads + 1
end
function request()
  counter = counter + 1
  local id = base + counter
  local chat = 1000 + (id % 300)
  local body = '{"update_id":' .. id .. ',"message":{"message_id":' .. counter ..
    ',"date":1764000000,"chat":{"id":' .. chat .. ',"type":"private","first_name":"U"},' ..
    '"from":{"id":' .. chat .. ',"is_bot":false,"first_name":"U","language_code":"en"},' ..
    '"text":"hello"}}'
  return wrk.format("POST", "/hooks/telegram",
    {["Content-Type"] = "application/json",
     ["X-Telegram-Bot-Api-Secret-Token"] = "SECRET"}, body)
end
"""


def rows(env, herald, db_url):
    if db_url.startswith("postgres"):
        out = subprocess.run(["psql", db_url, "-Atc", "SELECT COUNT(*) FROM tg_updates"],
                             capture_output=True, text=True, check=True).stdout
    else:
        import sqlite3
        out = str(sqlite3.connect(db_url).execute("SELECT COUNT(*) FROM tg_updates").fetchone()[0])
    return int(out.strip())


def wrk_script(url, conns, seconds, script):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "5s",
           "-s", script, url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    return {"rps": rps, "ok": total - (int(non2xx.group(1)) if non2xx else 0),
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "p99": p99}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("herald")
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=64)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    herald = os.path.abspath(args.herald)
    work = tempfile.mkdtemp(prefix="herald-webhook-bench-")
    base = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    base.update({"HERALD_ROLES": "api", "HERALD_BOT_TOKEN": "123456:bench",
                 "HERALD_TELEGRAM_API": "http://127.0.0.1:9",
                 "HERALD_TELEGRAM_WEBHOOK_SECRET": SECRET,
                 "HERALD_HTTP_MAX_CONNECTIONS": "2000"})
    pg = servers.Postgres()
    procs = []
    log = open(os.path.join(work, "herald.log"), "wb")
    try:
        pg.start()
        nodes = []
        for name, db, threads in (("SQLite", os.path.join(work, "bench.db"), 4),
                                  ("PostgreSQL", pg.url, 16)):
            port = servers.free_port()
            env = dict(base, HERALD_LISTEN=f"127.0.0.1:{port}", HERALD_DATABASE=db,
                       HERALD_HTTP_THREADS=str(threads), HERALD_DB_POOL=str(threads))
            procs.append(subprocess.Popen([herald, "run"], env=env, stdout=log, stderr=log))
            wait_http(f"http://127.0.0.1:{port}/healthz")
            nodes.append((name, db, port, threads, env))
        results = {}
        for rnd in range(args.rounds):
            for name, db, port, threads, env in nodes:
                script = os.path.join(work, f"post-{rnd}.lua")
                with open(script, "w") as f:
                    f.write(LUA.replace("ROUND", str(rnd * 10000000)).replace("SECRET", SECRET))
                before = rows(env, herald, db)
                r = wrk_script(f"http://127.0.0.1:{port}/hooks/telegram", args.conns,
                               args.seconds, script)
                stored = rows(env, herald, db) - before
                # requests in flight when wrk stops are stored but not counted
                if not r["ok"] <= stored <= r["ok"] + args.conns:
                    sys.exit(f"{name}: {r['ok']} updates answered 2xx but {stored} stored")
                ref = wrk(f"http://127.0.0.1:{port}/healthz", args.conns, args.seconds)
                results.setdefault(name, []).append((r, ref))
                print(f"  round {rnd + 1} {name}: {r['rps']:.0f} updates/s (stored {stored}), "
                      f"p99 {r['p99']}, /healthz {ref['rps']:.0f} req/s", file=sys.stderr)
        print(f"Machine: {machine()}")
        print(f"wrk -t2 -c{args.conns}, {args.seconds} s per run, median of {args.rounds} "
              f"interleaved runs; every update distinct; rows counted after each run.")
        print()
        print("| store | HTTP threads | updates/s (median) | p99 | GET /healthz req/s | updates vs /healthz | non-2xx |")
        print("|---|---|---|---|---|---|---|")
        for name, db, port, threads, env in nodes:
            rs = results[name]
            ups = statistics.median(r["rps"] for r, _ in rs)
            hz = statistics.median(ref["rps"] for _, ref in rs)
            p99 = sorted(r["p99"] for r, _ in rs)[len(rs) // 2]
            print(f"| {name} | {threads} | {ups:,.0f} | {p99} | {hz:,.0f} | {ups / hz:.0%} | "
                  f"{sum(r['non2xx'] for r, _ in rs)} |")
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        pg.cleanup()
        log.close()


if __name__ == "__main__":
    main()
