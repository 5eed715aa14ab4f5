"""Cluster mode: several nodes on one PostgreSQL and one Redis."""
import re
import subprocess
import threading
import time

import requests

from conftest import MIGRATIONS, Herald, assert_no_sanitizer_report, base_env, fresh_pg_database


def test_two_nodes_migrate_together_and_share_the_rate_budget(cluster, tmp_path):
    pg, redis = cluster
    subprocess.run(["redis-cli", "-p", str(redis.port), "FLUSHALL"], check=True,
                   capture_output=True)
    env = base_env()
    env.update({"HERALD_DATABASE": fresh_pg_database(pg), "HERALD_REDIS": redis.url,
                "HERALD_API_RATE": "1", "HERALD_API_BURST": "4"})
    nodes = [Herald(str(tmp_path), dict(env)) for _ in range(2)]
    # Both start at once on an empty database: the migration is applied once.
    starters = [threading.Thread(target=n.start, kwargs={"wait": False}) for n in nodes]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    try:
        for n in nodes:
            n.wait_healthy()
        n_migrations = len(MIGRATIONS)
        rows = nodes[0].sql("SELECT version FROM schema_migrations ORDER BY version")
        assert [int(v) for (v,) in rows] == list(range(1, n_migrations + 1))
        # each migration applied by exactly one node
        applied = [int(m.group(1)) for n in nodes for m in
                   re.finditer(r"migrations_applied=(\d+)", n.logtext())]
        assert sum(applied) == n_migrations, applied

        key = nodes[0].user_with_key(700)
        auth = {"Authorization": f"Bearer {key}"}
        # One budget (burst 4, 1 per second) for the user, whichever node
        # answers; a key made through one node works on the other.
        started = time.monotonic()
        codes = [(i % 2, requests.get(nodes[i % 2].url("/api/v1/me"), headers=auth).status_code)
                 for i in range(12)]
        elapsed = time.monotonic() - started
        ok = sum(1 for _, c in codes if c == 200)
        assert 4 <= ok <= 4 + int(elapsed) + 1, (codes, elapsed)
        assert codes[0] == (0, 200) and codes[1] == (1, 200)
        assert {n for n, c in codes if c == 429} == {0, 1}, codes
        assert all(c in (200, 429) for _, c in codes)
        # A session opened on one node is valid on the other.
        key2 = nodes[1].user_with_key(701)
        r = requests.post(nodes[1].url("/api/v1/session"),
                          headers={"Authorization": f"Bearer {key2}"})
        assert r.status_code == 201
        r = requests.get(nodes[0].url("/api/v1/me"),
                         cookies={"herald_session": r.cookies["herald_session"]})
        assert r.json()["telegram_id"] == 701
    finally:
        rcs = [n.stop() for n in nodes]
    assert rcs == [0, 0]
    for n in nodes:
        assert_no_sanitizer_report(n.logtext(), "herald run")


def test_two_nodes_share_the_deliveries(cluster, sim, tmp_path):
    """Due posts claimed by two nodes (FOR UPDATE SKIP LOCKED): each sent
    once, each channel's posts in order, one shared Telegram budget."""
    pg, redis = cluster
    subprocess.run(["redis-cli", "-p", str(redis.port), "FLUSHALL"], check=True,
                   capture_output=True)
    env = base_env()
    env.update({"HERALD_DATABASE": fresh_pg_database(pg), "HERALD_REDIS": redis.url,
                "HERALD_BOT_TOKEN": sim.token, "HERALD_TELEGRAM_API": sim.base,
                "HERALD_ROLES": "api,worker", "HERALD_WORKERS": "3"})
    nodes = [Herald(str(tmp_path), dict(env)) for _ in range(2)]
    nodes[0].start()
    nodes[1].start()
    try:
        owner = 7401
        sim.user(owner)
        key = nodes[0].user_with_key(owner)
        nodes[0].sql(f"UPDATE users SET plan = 'business' WHERE telegram_id = {owner}")
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {key}"
        chans = []
        for i in range(6):
            ch = sim.channel(f"Shared {i}", owner)
            sim.set_bot(ch["id"], owner)
            r = s.post(nodes[i % 2].url("/api/v1/channels"), json={"chat_id": ch["id"]})
            assert r.status_code == 201, r.text
            chans.append((r.json()["id"], ch["id"]))
        for i in range(4):
            r = s.post(nodes[i % 2].url("/api/v1/posts"),
                       json={"text": f"Shared post {i}", "channels": [c for c, _ in chans]})
            assert r.status_code == 201, r.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = nodes[0].sql("SELECT count(*) FROM deliveries WHERE state = 'sent'")
            if int(rows[0][0]) == 24:
                break
            time.sleep(0.2)
        for _, chat in chans:
            msgs = sim.ctl("GET", f"/chats/{chat}/messages")["messages"]
            assert [m["text"] for m in msgs] == [f"Shared post {i}" for i in range(4)]
        stats = sim.stats()
        assert stats["violations"] == 0 and stats["too_many_requests"] == 0, stats
        # both nodes sent some (a job put back to wait for its channel's
        # budget runs again, so runs can exceed sends)
        sent = []
        for n in nodes:
            text = requests.get(n.url("/metrics")).text
            sent.append(int(re.search(r'^herald_deliveries_total\{outcome="sent"\} (\d+)$',
                                      text, re.M).group(1)))
        assert sum(sent) == 24 and all(x > 0 for x in sent), sent
    finally:
        rcs = [n.stop() for n in nodes]
        for n in nodes:
            assert_no_sanitizer_report(n.logtext(), "herald run")
    assert rcs == [0, 0]
