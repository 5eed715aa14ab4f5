"""Bad input gets the right 4xx problem+json, changes nothing, and the server
keeps serving."""
import json
import socket
import time

import pytest
import requests

from test_auth import problem


@pytest.fixture
def user(herald):
    key = herald.user_with_key(1001, "Before")
    return herald, {"Authorization": f"Bearer {key}"}


def snapshot(h):
    return (h.sql("SELECT id, telegram_id, name, language, time_zone FROM users ORDER BY id"),
            h.sql("SELECT count(*) FROM audit_log"))


def raw(h, data, read_timeout=5):
    """Send bytes on a fresh connection and return what comes back."""
    with socket.create_connection(("127.0.0.1", h.port), timeout=read_timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except (socket.timeout, ConnectionResetError):
            pass
    return b"".join(chunks)


BAD_BODIES = [
    ({"data": b'{"name": "x",'}, 400, "malformed-json"),
    ({"data": b'{"name": "a", "name": "b"}'}, 400, "malformed-json"),
    ({"data": b'\xff\xfe'}, 400, "malformed-json"),
    ({"data": b''}, 400, "malformed-json"),
    ({"data": b'[' * 100 + b']' * 100}, 400, "json-too-deep"),
    ({"data": b'{"name": "x"}', "ctype": "text/plain"}, 415, "unsupported-media-type"),
    ({"json": ["not", "an", "object"]}, 422, "invalid"),
    ({"json": {"language": "de"}}, 422, "invalid-field"),
    ({"json": {"time_zone": "Mars/Olympus"}}, 422, "invalid-field"),
    ({"json": {"name": "n" * 129}}, 422, "invalid-field"),
    ({"json": {"name": 5}}, 422, "invalid-field"),
    ({"json": {"telegram_id": 1}}, 422, "invalid-field"),
    ({"json": {"name": "ok", "role": "admin"}}, 422, "invalid-field"),
]


@pytest.mark.parametrize("req,status,type_", BAD_BODIES,
                         ids=[f"{i}-{t}" for i, (_, _, t) in enumerate(BAD_BODIES)])
def test_bad_body_changes_nothing(user, req, status, type_):
    h, auth = user
    before = snapshot(h)
    if "json" in req:
        r = requests.patch(h.url("/api/v1/me"), headers=auth, json=req["json"])
    else:
        headers = dict(auth, **{"Content-Type": req.get("ctype", "application/json")})
        r = requests.patch(h.url("/api/v1/me"), headers=headers, data=req["data"])
    body = problem(r, status, type_)
    assert body["detail"]
    if type_ == "invalid-field":
        assert body["field"] in ("language", "time_zone", "name", "telegram_id", "role")
    assert snapshot(h) == before
    assert requests.get(h.url("/healthz")).status_code == 200


def test_oversize_body_is_refused(user):
    h, auth = user
    before = snapshot(h)
    big = json.dumps({"name": "x" * (2 << 20)})  # 2 MiB, over the 1 MiB default
    r = requests.patch(h.url("/api/v1/me"), headers=auth, data=big,
                       timeout=30, json=None)
    problem(r, 413, "payload-too-large")
    # the same without Content-Length (chunked): read up to the limit, then refused
    chunks = (b"x" * 65536 for _ in range(40))  # 2.5 MiB
    r = requests.patch(h.url("/api/v1/me"), headers=dict(auth, **{"Content-Type":
                                                                   "application/json"}),
                       data=chunks, timeout=30)
    problem(r, 413, "payload-too-large")
    # a body announced far beyond the limit is refused before it is sent
    resp = raw(h, b"PATCH /api/v1/me HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 500000000\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 413"), resp[:200]
    assert b"application/problem+json" in resp
    assert snapshot(h) == before
    assert requests.get(h.url("/healthz")).status_code == 200


def test_too_many_headers(user):
    h, auth = user
    headers = dict(auth, **{f"X-Filler-{i}": "v" for i in range(100)})
    problem(requests.get(h.url("/api/v1/me"), headers=headers), 431, "too-many-headers")
    # one oversized header is refused by the HTTP layer itself
    r = requests.get(h.url("/healthz"), headers={"X-Big": "v" * 100000})
    assert r.status_code in (413, 431)
    assert requests.get(h.url("/api/v1/me"), headers=auth).status_code == 200


def test_unknown_route_and_wrong_method(user):
    h, auth = user
    body = problem(requests.get(h.url("/api/v1/nothing-here")), 404, "not-found")
    assert body["instance"] == "/api/v1/nothing-here"
    r = requests.put(h.url("/api/v1/me"), headers=auth, json={})
    problem(r, 405, "method-not-allowed")
    assert r.headers["Allow"] == "GET, PATCH"
    problem(requests.post(h.url("/healthz")), 405, "method-not-allowed")
    # HEAD follows GET
    assert requests.head(h.url("/healthz")).status_code == 200


def test_garbage_requests_do_not_stop_the_server(user):
    h, auth = user
    resp = raw(h, b"\x00\x01\x02garbage\r\n\r\n")
    assert resp == b"" or resp.startswith(b"HTTP/1.1 400")
    resp = raw(h, b"GET /healthz HTTP/1.1\r\n" + b"Host: x\r\nX: " + b"y" * 200000 + b"\r\n\r\n")
    assert resp == b"" or resp.split(b" ")[1] in (b"413", b"431")
    # a client that goes away mid-body
    with socket.create_connection(("127.0.0.1", h.port)) as s:
        s.sendall(b"PATCH /api/v1/me HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"na")
    assert requests.get(h.url("/api/v1/me"), headers=auth).json()["name"] == "Before"


def test_stalled_client_is_cut_off(make_herald):
    h = make_herald(HERALD_HTTP_TIMEOUT="1").start()
    with socket.create_connection(("127.0.0.1", h.port), timeout=10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finishes the headers
        started = time.monotonic()
        assert s.recv(1024) == b""  # closed by the server
        waited = time.monotonic() - started
    assert 0.5 < waited < 5, waited
    assert requests.get(h.url("/healthz")).status_code == 200
