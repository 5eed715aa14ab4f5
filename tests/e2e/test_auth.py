"""API keys, sessions and GET/PATCH /api/v1/me."""
import hashlib

import requests


def problem(r, status, type_):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == f"/problems/{type_}"
    assert body["status"] == status
    assert body["request_id"] == r.headers["X-Request-Id"]
    return body


def test_me_needs_credentials(herald):
    r = requests.get(herald.url("/api/v1/me"))
    problem(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    problem(requests.get(herald.url("/api/v1/me"), headers={"Authorization": "Bearer hk_nope"}),
            401, "invalid-credentials")
    problem(requests.get(herald.url("/api/v1/me"), headers={"Authorization": "Basic YTpi"}),
            401, "invalid-credentials")
    problem(requests.get(herald.url("/api/v1/me"),
                         headers={"Authorization": "Bearer " + "x" * 5000}),
            401, "invalid-credentials")
    problem(requests.get(herald.url("/api/v1/me"), cookies={"herald_session": "hs_forged"}),
            401, "invalid-credentials")


def test_api_key_is_shown_once_and_stored_hashed(herald):
    key = herald.user_with_key(4242, "Ann")
    r = requests.get(herald.url("/api/v1/me"), headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200
    me = r.json()
    assert me["telegram_id"] == 4242 and me["name"] == "Ann"
    assert me["language"] == "en" and me["time_zone"] == "UTC"
    rows = herald.sql("SELECT key_hash, prefix FROM api_keys")
    assert len(rows) == 1
    assert rows[0][0] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(rows)
    assert key not in herald.logtext()
    # a second key works too and both are listed in the audit log
    key2 = herald.cli("apikey", "create", "--telegram-id", "4242").stdout.strip()
    assert key2 != key
    assert requests.get(herald.url("/api/v1/me"),
                        headers={"Authorization": f"Bearer {key2}"}).status_code == 200
    actions = [r[0] for r in herald.sql("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["user.add", "apikey.create", "apikey.create"]


def test_session_cookie_signs_in_and_out(herald):
    key = herald.user_with_key(77)
    r = requests.post(herald.url("/api/v1/session"), headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201, r.text
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("herald_session=hs_")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    token = r.cookies["herald_session"]
    assert r.json()["user"]["telegram_id"] == 77
    stored = herald.sql("SELECT token_hash FROM sessions")
    assert stored == [(hashlib.sha256(token.encode()).hexdigest(),)]

    s = requests.Session()
    s.cookies.set("herald_session", token)
    assert s.get(herald.url("/api/v1/me")).json()["telegram_id"] == 77
    # a session cannot mint another session
    problem(s.post(herald.url("/api/v1/session")), 409, "conflict")
    r = s.delete(herald.url("/api/v1/session"))
    assert r.status_code == 204
    assert "Max-Age=0" in r.headers["Set-Cookie"]
    assert herald.sql("SELECT count(*) FROM sessions")[0][0] in (0, "0")
    s.cookies.set("herald_session", token)
    problem(s.get(herald.url("/api/v1/me")), 401, "invalid-credentials")


def test_patch_me_changes_profile(herald):
    key = herald.user_with_key(9)
    auth = {"Authorization": f"Bearer {key}"}
    r = requests.patch(herald.url("/api/v1/me"), headers=auth,
                       json={"language": "uz", "time_zone": "Asia/Tashkent", "name": "Олим"})
    assert r.status_code == 200, r.text
    assert r.json()["language"] == "uz"
    me = requests.get(herald.url("/api/v1/me"), headers=auth).json()
    assert (me["language"], me["time_zone"], me["name"]) == ("uz", "Asia/Tashkent", "Олим")
    assert herald.sql("SELECT language, time_zone FROM users") == [("uz", "Asia/Tashkent")]
    assert herald.sql("SELECT action FROM audit_log WHERE action = 'user.update'") == [
        ("user.update",)]


def test_rate_limit_per_user(make_herald):
    h = make_herald(HERALD_API_RATE="1", HERALD_API_BURST="3").start()
    key = h.user_with_key(5)
    auth = {"Authorization": f"Bearer {key}"}
    codes = [requests.get(h.url("/api/v1/me"), headers=auth).status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200]
    r = requests.get(h.url("/api/v1/me"), headers=auth)
    body = problem(r, 429, "rate-limited")
    assert int(r.headers["Retry-After"]) >= 1
    assert "requests per second" in body["detail"]
    # other users have their own bucket
    key2 = h.user_with_key(6)
    assert requests.get(h.url("/api/v1/me"),
                        headers={"Authorization": f"Bearer {key2}"}).status_code == 200
