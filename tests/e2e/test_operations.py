"""Operational endpoints: health, readiness, metrics, the OpenAPI document."""
import json
import os
import re

import requests

from conftest import ROOT


def test_healthz_and_request_id(herald):
    r = requests.get(herald.url("/healthz"))
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{6,}", r.headers["X-Request-Id"])
    other = requests.get(herald.url("/healthz")).headers["X-Request-Id"]
    assert other != r.headers["X-Request-Id"]
    # a caller's own request id is kept when it is safe
    r = requests.get(herald.url("/healthz"), headers={"X-Request-Id": "abc-123"})
    assert r.headers["X-Request-Id"] == "abc-123"
    r = requests.get(herald.url("/healthz"), headers={"X-Request-Id": "bad id\x01"})
    assert r.headers["X-Request-Id"] != "bad id\x01"


def test_readyz_reports_each_check(herald):
    r = requests.get(herald.url("/readyz"))
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "checks": {"store": "ok", "kv": "ok"}}


def counter(text, line_prefix):
    for line in text.splitlines():
        if line.startswith(line_prefix + " "):
            return int(line.rsplit(" ", 1)[1])
    return 0


def test_metrics_count_requests_per_route(herald):
    healthz = 'herald_http_requests_total{route="/healthz",method="GET",code="2xx"}'
    unmatched = 'herald_http_requests_total{route="unmatched",method="",code="4xx"}'
    me = 'herald_http_requests_total{route="/api/v1/me",method="GET",code="4xx"}'
    hist = 'herald_http_request_duration_seconds_count{route="/healthz",method="GET"}'
    before = requests.get(herald.url("/metrics")).text
    for _ in range(3):
        requests.get(herald.url("/healthz"))
    requests.get(herald.url("/nope"))
    requests.get(herald.url("/api/v1/me"))
    text = requests.get(herald.url("/metrics")).text
    assert 'herald_build_info{version="' in text
    assert "# TYPE herald_http_request_duration_seconds histogram" in text
    assert counter(text, healthz) - counter(before, healthz) == 3
    assert counter(text, unmatched) - counter(before, unmatched) == 1
    assert counter(text, me) - counter(before, me) == 1
    assert counter(text, hist) - counter(before, hist) == 3
    buckets = re.findall(
        r'herald_http_request_duration_seconds_bucket\{route="/healthz",method="GET",'
        r'le="([^"]+)"\} (\d+)', text)
    assert buckets[-1] == ("+Inf", str(counter(text, hist)))
    counts = [int(c) for _, c in buckets]
    assert counts == sorted(counts)  # cumulative


def test_access_log_has_one_line_per_request(herald):
    for i in range(5):
        requests.get(herald.url("/healthz"), headers={"X-Request-Id": f"logtest-{i}"})
    requests.get(herald.url("/healthz"))  # flushes nothing, just another request
    log = herald.logtext()
    for i in range(5):
        lines = [l for l in log.splitlines() if f"id=logtest-{i} " in l]
        assert len(lines) == 1, lines
        assert "msg=request" in lines[0] and "status=200" in lines[0]
        assert 'route="/healthz"' in lines[0]


def test_openapi_document_is_served_and_matches_repo(herald):
    r = requests.get(herald.url("/api/v1/openapi.json"))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    with open(os.path.join(ROOT, "docs", "openapi.json")) as f:
        assert r.json() == json.load(f)
    assert r.json()["openapi"].startswith("3.")
