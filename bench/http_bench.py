#!/usr/bin/env python3
"""HTTP benchmark: wrk against Herald's /healthz and an authenticated
GET /api/v1/me, and against nginx serving a static file of the same size as
the /me response, all in the same run on the same machine. A second Herald,
configured as a cluster node (PostgreSQL and Redis, started on loopback by
tests/servers.py), answers the same authenticated GET.

Each (target, connections) pair runs ROUNDS times, interleaved so that noise
from the machine hits every target alike; the report gives the median
requests/s and latency percentiles, and the ratio of each Herald target to
nginx at the same connection count.

usage: http_bench.py HERALD_BINARY [--seconds N] [--rounds N]
"""
import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import servers  # noqa: E402


def wait_http(url, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def to_ms(v):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", v)
    n, unit = float(m.group(1)), m.group(2)
    return n / 1000 if unit == "us" else n * 1000 if unit == "s" else n


def wrk(url, conns, seconds, headers=()):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: to_ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "lat": lat, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "errors": errors.group(1) if errors else ""}


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("herald")
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2,
                    help="nginx worker processes (nginx's advice: one per core)")
    ap.add_argument("--herald-threads", type=int, default=4,
                    help="Herald's HTTP threads (its default, HERALD_HTTP_THREADS, is 4)")
    ap.add_argument("--cluster-threads", type=int, default=16)
    args = ap.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"{tool} is missing: run scripts/bootstrap")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))

    work = tempfile.mkdtemp(prefix="herald-bench-")
    os.chmod(work, 0o755)  # nginx workers run unprivileged and read www/ below it
    herald_port, nginx_port = servers.free_port(), servers.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env.update({"HERALD_LISTEN": f"127.0.0.1:{herald_port}",
                "HERALD_DATABASE": os.path.join(work, "bench.db"),
                "HERALD_HTTP_THREADS": str(args.herald_threads),
                "HERALD_API_RATE": "1000000", "HERALD_API_BURST": "1000000000",
                "HERALD_HTTP_MAX_CONNECTIONS": "2000"})
    herald = os.path.abspath(args.herald)
    subprocess.run([herald, "user", "add", "--telegram-id", "1", "--name", "Bench"], env=env,
                   check=True, capture_output=True)
    key = subprocess.run([herald, "apikey", "create", "--telegram-id", "1"], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    log = open(os.path.join(work, "herald.log"), "wb")
    hp = subprocess.Popen([herald, "run"], env=env, stdout=log, stderr=log)
    np = cp = None
    pg, redis = servers.Postgres(), servers.Redis()
    try:
        pg.start()
        redis.start()
        cluster_port = servers.free_port()
        # Its requests wait on the network (PostgreSQL, then Redis), so a
        # cluster node runs more threads than cores.
        cenv = dict(env, HERALD_LISTEN=f"127.0.0.1:{cluster_port}", HERALD_DATABASE=pg.url,
                    HERALD_REDIS=redis.url, HERALD_HTTP_THREADS=str(args.cluster_threads),
                    HERALD_DB_POOL=str(args.cluster_threads))
        subprocess.run([herald, "user", "add", "--telegram-id", "1", "--name", "Bench"],
                       env=cenv, check=True, capture_output=True)
        ckey = subprocess.run([herald, "apikey", "create", "--telegram-id", "1"], env=cenv,
                              check=True, capture_output=True, text=True).stdout.strip()
        cp = subprocess.Popen([herald, "run"], env=cenv, stdout=log, stderr=log)
        wait_http(f"http://127.0.0.1:{cluster_port}/healthz")
        wait_http(f"http://127.0.0.1:{herald_port}/healthz")
        req = urllib.request.Request(f"http://127.0.0.1:{herald_port}/api/v1/me",
                                     headers={"Authorization": f"Bearer {key}"})
        me = urllib.request.urlopen(req).read()
        os.makedirs(os.path.join(work, "www"))
        with open(os.path.join(work, "www", "me.json"), "wb") as f:
            f.write(me)
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes {args.threads};
error_log {work}/nginx-error.log;
pid {work}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {work}/tmp; proxy_temp_path {work}/tmp;
  fastcgi_temp_path {work}/tmp; uwsgi_temp_path {work}/tmp; scgi_temp_path {work}/tmp;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{nginx_port};
    location / {{ root {work}/www; default_type application/json; }}
  }}
}}
""")
        np = subprocess.Popen(["nginx", "-c", conf, "-g", "daemon off;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{nginx_port}/me.json")

        targets = [
            ("nginx static file", f"http://127.0.0.1:{nginx_port}/me.json", ()),
            ("herald GET /healthz", f"http://127.0.0.1:{herald_port}/healthz", ()),
            ("herald GET /api/v1/me (API key)", f"http://127.0.0.1:{herald_port}/api/v1/me",
             (f"Authorization: Bearer {key}",)),
            ("herald cluster node (PostgreSQL + Redis) GET /api/v1/me",
             f"http://127.0.0.1:{cluster_port}/api/v1/me", (f"Authorization: Bearer {ckey}",)),
        ]
        results = {}
        for conns in (64, 256):
            for rnd in range(args.rounds):
                for name, url, hdrs in targets:
                    r = wrk(url, conns, args.seconds, hdrs)
                    results.setdefault((name, conns), []).append(r)
                    print(f"  round {rnd + 1} c={conns} {name}: {r['rps']:.0f} req/s "
                          f"p99 {r['lat'].get('99', 0):.2f} ms"
                          + (f" non-2xx {r['non2xx']}" if r["non2xx"] else "")
                          + (f" errors {r['errors']}" if r["errors"] else ""),
                          file=sys.stderr)

        print(f"Machine: {machine()}")
        print(f"Herald {subprocess.run([herald, 'version'], capture_output=True, text=True).stdout.strip()}, "
              f"{args.herald_threads} HTTP threads (the default), SQLite store, in-memory kv, access log on "
              f"(the cluster node: {args.cluster_threads} threads and PostgreSQL connections, "
              f"PostgreSQL 15 and Redis 7 on the same machine); "
              f"nginx {args.threads} workers, access log off; response body {len(me)} bytes; "
              f"wrk -t2, {args.seconds} s per run, median of {args.rounds} interleaved runs.")
        print()
        print("| target | connections | req/s (median) | vs nginx | p50 ms | p90 ms | p99 ms | non-2xx |")
        print("|---|---|---|---|---|---|---|---|")
        for conns in (64, 256):
            ref = statistics.median(r["rps"] for r in results[("nginx static file", conns)])
            for name, _, _ in targets:
                rs = results[(name, conns)]
                rps = statistics.median(r["rps"] for r in rs)
                lat = {p: statistics.median(r["lat"].get(p, 0) for r in rs)
                       for p in ("50", "90", "99")}
                print(f"| {name} | {conns} | {rps:,.0f} | {rps / ref:.0%} | {lat['50']:.2f} | "
                      f"{lat['90']:.2f} | {lat['99']:.2f} | {sum(r['non2xx'] for r in rs)} |")
    finally:
        for p in (np, cp, hp):
            if p:
                p.terminate()
                p.wait()
        redis.cleanup()
        pg.cleanup()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
