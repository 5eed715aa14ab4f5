#!/usr/bin/env python3
"""Payment webhook benchmark: verified Stripe events per second through
POST /hooks/stripe, including the event ledger's write, on SQLite and on
PostgreSQL, beside Herald's own GET /healthz in the same run; and that
duplicates make no double effect.

Events are made and signed before each run (Stripe-Signature v1, HMAC-SHA256
over "t.body", protocols.md B.13) and written to a file that wrk's Lua script
reads. Both wrk threads walk the same list from the start, so every event
arrives twice, the copies close together, as Stripe's retries and duplicates
do. Two mixes:

  ledger   events Herald records and does not act on (customer.created):
           the signature check, the parse and the provider_events row
  effect   customer.subscription.deleted for subscriptions seeded in the
           store: the signature, the ledger row and the effect in one
           transaction (the subscription ends, the user's plan goes back to
           free, a notice is queued)

After each run the benchmark checks: every event answered is in the ledger
exactly once, and (effect mix) each subscription ended once with one notice.
Herald runs the api role only, so queued notices are not sent; no call goes
to the Stripe API (these events need none).

usage: billing_bench.py HERALD_BINARY [--seconds N] [--rounds N] [--conns N]
"""
import argparse
import hashlib
import hmac
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import servers  # noqa: E402
from http_bench import machine, wait_http, wrk  # noqa: E402

SECRET = "whsec_bench_0123456789abcdef"
LUA = r"""
local bodies, sigs = {}, {}
local i = 0
function init(args)
  for line in io.lines("EVENTS") do
    local sig, body = line:match("^([^\t]*)\t(.*)$")
    sigs[#sigs + 1] = sig
    bodies[#bodies + 1] = body
  end
end
function request()
  i = i + 1
  if i > #bodies then i = 1 end
  return wrk.format("POST", "/hooks/stripe",
    {["Content-Type"] = "application/json; charset=utf-8", ["Stripe-Signature"] = sigs[i]},
    bodies[i])
end
"""


def sign(body, t):
    mac = hmac.new(SECRET.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def sql(db, query):
    if db.startswith("postgres"):
        out = subprocess.run(["psql", db, "-AtXq", "-c", query], capture_output=True,
                             text=True, check=True).stdout
        return [line.split("|") for line in out.splitlines() if line]
    import sqlite3
    con = sqlite3.connect(db, timeout=30)
    try:
        rows = con.execute(query).fetchall()
        con.commit()
    finally:
        con.close()
    return [[str(v) for v in r] for r in rows]


def sql_script(db, script):
    if db.startswith("postgres"):
        subprocess.run(["psql", db, "-qX", "-v", "ON_ERROR_STOP=1", "-c", script],
                       capture_output=True, text=True, check=True)
    else:
        import sqlite3
        con = sqlite3.connect(db, timeout=30)
        con.executescript(script)
        con.close()


def seed(db, tag, n):
    """n users on pro through Stripe subscriptions sub_<tag>_<i>."""
    now = int(time.time() * 1000)
    sql_script(db, f"""
        INSERT INTO users (telegram_id, created_at, plan)
          SELECT 900000000 + {tag} * 1000000 + g, {now}, 'pro' FROM
          ({gen(db, n)}) s;
        INSERT INTO subscriptions (user_id, plan_id, period, state, provider,
            provider_subscription_id, provider_customer_id, current_period_start,
            current_period_end, created_at, updated_at)
          SELECT u.id, 'pro', 'month', 'active', 'stripe',
                 'sub_b{tag}_' || (u.telegram_id - 900000000 - {tag} * 1000000),
                 'cus_b{tag}_' || (u.telegram_id - 900000000 - {tag} * 1000000),
                 {now}, {now + 30 * 86400000}, {now}, {now}
          FROM users u WHERE u.telegram_id > 900000000 + {tag} * 1000000
                         AND u.telegram_id <= 900000000 + {tag} * 1000000 + {n};
    """)


def gen(db, n):
    if db.startswith("postgres"):
        return f"SELECT generate_series(1, {n}) AS g"
    return (f"WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c WHERE g < {n}) "
            f"SELECT g FROM c")


def events(path, mix, tag, n):
    t = int(time.time())
    with open(path, "w") as f:
        for i in range(1, n + 1):
            if mix == "ledger":
                obj = {"id": f"cus_l{tag}_{i}", "object": "customer",
                       "email": f"u{i}@example.com", "metadata": {}}
                typ = "customer.created"
            else:
                obj = {"id": f"sub_b{tag}_{i}", "object": "subscription", "status": "canceled",
                       "customer": f"cus_b{tag}_{i}", "cancel_at_period_end": False,
                       "canceled_at": t, "ended_at": t, "metadata": {},
                       "items": {"object": "list", "data": []}}
                typ = "customer.subscription.deleted"
            body = json.dumps({"id": f"evt_{mix}_{tag}_{i}", "object": "event",
                               "api_version": "2025-11-17.clover", "created": t, "type": typ,
                               "livemode": False, "pending_webhooks": 1,
                               "data": {"object": obj}}, separators=(",", ":"))
            f.write(sign(body, t) + "\t" + body + "\n")


def run_wrk(url, conns, seconds, script):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "5s",
           "-s", script, url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    return {"rps": rps, "total": total, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "p99": p99}


def check(name, mix, db, tag, r):
    """No double effect: one ledger row per event, one end and one notice per
    subscription; returns the distinct events applied."""
    prefix = f"evt_{mix}_{tag}_"
    # requests in flight when wrk stops still finish: wait until the ledger
    # stops growing before counting
    last = -1
    while True:
        n = int(sql(db, f"SELECT count(*) FROM provider_events WHERE event_id LIKE "
                        f"'{prefix}%'")[0][0])
        if n == last:
            break
        last = n
        time.sleep(1)
    ledger = int(sql(db, f"SELECT count(*) FROM provider_events WHERE event_id LIKE "
                         f"'{prefix}%'")[0][0])
    dup = sql(db, f"SELECT count(*) FROM (SELECT event_id FROM provider_events WHERE "
                  f"event_id LIKE '{prefix}%' GROUP BY event_id HAVING count(*) > 1) d")[0][0]
    if dup != "0":
        sys.exit(f"{name} {mix}: {dup} events in the ledger twice")
    if r["non2xx"]:
        sys.exit(f"{name} {mix}: {r['non2xx']} answers were not 2xx")
    if mix == "effect":
        ended = int(sql(db, f"SELECT count(*) FROM subscriptions WHERE provider_subscription_id "
                            f"LIKE 'sub_b{tag}_%' AND state = 'expired'")[0][0])
        notices = int(sql(db, f"SELECT count(*) FROM billing_notices n JOIN subscriptions s ON "
                              f"s.id = n.subscription_id WHERE s.provider_subscription_id LIKE "
                              f"'sub_b{tag}_%'")[0][0])
        free = int(sql(db, f"SELECT count(*) FROM users WHERE telegram_id > 900000000 + {tag} * "
                           f"1000000 AND telegram_id <= 900000000 + {tag} * 1000000 + 1000000 "
                           f"AND plan = 'free'")[0][0])
        if not ended == notices == ledger == free:
            sys.exit(f"{name} effect: ledger {ledger}, ended {ended}, notices {notices}, "
                     f"free {free}: not one effect per event")
    return ledger


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("herald")
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--events", type=int, default=150000,
                    help="distinct events made for each run (each is sent twice)")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    herald = os.path.abspath(args.herald)
    work = tempfile.mkdtemp(prefix="herald-billing-bench-")
    base = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    base.update({"HERALD_ROLES": "api", "HERALD_STRIPE_WEBHOOK_SECRET": SECRET,
                 "HERALD_STRIPE_SECRET_KEY": "sk_test_bench",
                 "HERALD_STRIPE_API": "http://127.0.0.1:9",
                 "HERALD_HTTP_MAX_CONNECTIONS": "2000", "HERALD_LOG_LEVEL": "warn"})
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
            nodes.append((name, db, port, threads))
        results = {}
        tag = 0
        for rnd in range(args.rounds):
            for name, db, port, threads in nodes:
                for mix in ("ledger", "effect"):
                    tag += 1
                    if mix == "effect":
                        seed(db, tag, args.events)
                    evfile = os.path.join(work, f"events-{tag}.tsv")
                    events(evfile, mix, tag, args.events)
                    script = os.path.join(work, f"post-{tag}.lua")
                    with open(script, "w") as f:
                        f.write(LUA.replace("EVENTS", evfile))
                    r = run_wrk(f"http://127.0.0.1:{port}/hooks/stripe", args.conns,
                                args.seconds, script)
                    if r["total"] // 2 >= args.events:
                        sys.exit(f"{name} {mix}: wrk went round the list; raise --events")
                    applied = check(name, mix, db, tag, r)
                    results.setdefault((name, mix), []).append((r, applied))
                    print(f"  round {rnd + 1} {name} {mix}: {r['rps']:.0f} events/s verified "
                          f"({applied} distinct applied once each), p99 {r['p99']}",
                          file=sys.stderr)
                ref = wrk(f"http://127.0.0.1:{port}/healthz", args.conns, args.seconds)
                results.setdefault((name, "healthz"), []).append((ref, 0))
        print(f"Machine: {machine()}")
        print(f"wrk -t2 -c{args.conns}, {args.seconds} s per run, median of {args.rounds} "
              f"interleaved rounds; every event sent twice (both wrk threads walk one list).")
        print()
        print("| store | HTTP threads | mix | verified events/s (median) | distinct events/s | "
              "p99 | GET /healthz req/s | vs /healthz | double effects |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, db, port, threads in nodes:
            hz = statistics.median(r["rps"] for r, _ in results[(name, "healthz")])
            for mix in ("ledger", "effect"):
                rs = results[(name, mix)]
                eps = statistics.median(r["rps"] for r, _ in rs)
                distinct = statistics.median(a / args.seconds for _, a in rs)
                p99 = sorted(r["p99"] for r, _ in rs)[len(rs) // 2]
                print(f"| {name} | {threads} | {mix} | {eps:,.0f} | {distinct:,.0f} | {p99} | "
                      f"{hz:,.0f} | {eps / hz:.0%} | 0 |")
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        pg.cleanup()
        log.close()


if __name__ == "__main__":
    main()
