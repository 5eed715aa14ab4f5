"""A store or kv outage: /readyz fails, requests that need them answer 503
with Retry-After, and service resumes without a restart when it ends."""
import time

import pytest
import requests

import servers
from conftest import Herald, assert_no_sanitizer_report, base_env, fresh_pg_database


@pytest.fixture
def own_cluster(tmp_path):
    pg, redis = servers.Postgres().start(), servers.Redis().start()
    yield pg, redis
    redis.cleanup()
    pg.cleanup()


def wait_status(url, status, headers=None, timeout=20):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = requests.get(url, headers=headers, timeout=10)
        if last.status_code == status:
            return last
        time.sleep(0.2)
    raise AssertionError(f"{url}: wanted {status}, last {last.status_code}: {last.text}")


def test_store_and_kv_outages(own_cluster, tmp_path):
    pg, redis = own_cluster
    env = base_env()
    env.update({"HERALD_DATABASE": fresh_pg_database(pg), "HERALD_REDIS": redis.url})
    h = Herald(str(tmp_path), env)
    key = h.user_with_key(808)
    auth = {"Authorization": f"Bearer {key}"}
    h.start()
    try:
        assert requests.get(h.url("/api/v1/me"), headers=auth).status_code == 200

        pg.stop()
        r = wait_status(h.url("/readyz"), 503)
        assert r.headers["Content-Type"] == "application/problem+json"
        assert r.json()["checks"] == {"store": "unavailable", "kv": "ok"}
        assert r.headers["Retry-After"]
        r = requests.get(h.url("/api/v1/me"), headers=auth)
        assert r.status_code == 503 and r.headers["Retry-After"] == "5"
        assert r.json()["type"] == "/problems/unavailable"
        assert requests.get(h.url("/healthz")).status_code == 200
        pg.start()
        wait_status(h.url("/readyz"), 200)
        assert requests.get(h.url("/api/v1/me"), headers=auth).json()["telegram_id"] == 808

        redis.stop()
        r = wait_status(h.url("/readyz"), 503)
        assert r.json()["checks"] == {"store": "ok", "kv": "unavailable"}
        r = requests.get(h.url("/api/v1/me"), headers=auth)
        assert r.status_code == 503 and r.headers["Retry-After"]
        redis.start()
        wait_status(h.url("/readyz"), 200)
        assert requests.get(h.url("/api/v1/me"), headers=auth).status_code == 200
        assert h.proc.poll() is None  # the same process throughout
    finally:
        rc = h.stop()
    assert rc == 0
    assert_no_sanitizer_report(h.logtext(), "herald run")
