"""REST channels, the Telegram webhook endpoint and one-time login links,
against the real binary and the Telegram simulator over HTTP.

Herald runs with the api role only where the bot's intake is not under test,
so nothing polls the simulator; every rights check still asks it
(getChat, getChatAdministrators, getChatMember).
"""
import hashlib
import re

import pytest
import requests

from conftest import ALL_RIGHTS

OWNER = 7001
OTHER = 7002


@pytest.fixture
def api(sim, make_herald):
    """Herald (api role) whose Bot API is the simulator, and an API key for OWNER."""
    h = make_herald(HERALD_BOT_TOKEN=sim.token, HERALD_TELEGRAM_API=sim.base,
                    HERALD_ROLES="api").start()
    sim.user(OWNER, language_code="en")
    sim.user(OTHER, language_code="en")
    key = h.user_with_key(OWNER)
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {key}"
    h.s = s
    yield h
    assert sim.token.split(":")[1] not in h.logtext(), "the bot token reached the log"


def connect(h, **ref):
    return h.s.post(h.url("/api/v1/channels"), json=ref)


def test_connect_by_username_then_read_check_and_remove(api, sim):
    ch = sim.channel("Daily News", OWNER, username="daily_news")
    sim.set_bot(ch["id"], OWNER)

    r = connect(api, username="@daily_news")
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["chat_id"], c["title"], c["username"]) == (ch["id"], "Daily News", "daily_news")
    assert c["status"] == "ok" and c["missing_rights"] == []
    assert r.headers["Location"] == f"/api/v1/channels/{c['id']}"

    listed = api.s.get(api.url("/api/v1/channels")).json()
    assert [x["id"] for x in listed["channels"]] == [c["id"]]
    assert listed["quota"] == {"used": 1, "limit": 1, "plan": "free"}
    assert api.s.get(api.url(f"/api/v1/channels/{c['id']}")).json()["status"] == "ok"

    # the bot is removed later: an on-demand check records it
    sim.set_bot(ch["id"], OWNER, status="kicked")
    r = api.s.post(api.url(f"/api/v1/channels/{c['id']}/check"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "bot_removed"
    assert api.s.get(api.url(f"/api/v1/channels/{c['id']}")).json()["status"] == "bot_removed"
    rows = api.sql(f"SELECT status FROM channels WHERE id = {c['id']}")
    assert rows == [("bot_removed",)]

    # promoted again with one right missing: the check names it
    sim.set_bot(ch["id"], OWNER, rights={"can_post_messages": True, "can_edit_messages": True})
    r = api.s.post(api.url(f"/api/v1/channels/{c['id']}/check"))
    assert r.json()["status"] == "missing_rights"
    assert r.json()["missing_rights"] == ["can_delete_messages"]

    assert api.s.delete(api.url(f"/api/v1/channels/{c['id']}")).status_code == 204
    assert api.s.get(api.url(f"/api/v1/channels/{c['id']}")).status_code == 404
    assert api.s.delete(api.url(f"/api/v1/channels/{c['id']}")).status_code == 404
    assert api.s.get(api.url("/api/v1/channels")).json()["channels"] == []
    # history kept: the row is still there, marked removed
    assert api.sql(f"SELECT COUNT(*) FROM channels WHERE id = {c['id']} "
                   "AND removed_at IS NOT NULL") in ([(1,)], [("1",)])


def test_connect_by_chat_id_private_channel(api, sim):
    ch = sim.channel("Private Notes", OWNER)
    sim.set_bot(ch["id"], OWNER)
    r = connect(api, chat_id=ch["id"])
    assert r.status_code == 201, r.text
    assert r.json()["username"] == ""


@pytest.mark.parametrize("rights,missing", [
    ({"can_post_messages": True, "can_edit_messages": True}, ["can_delete_messages"]),
    ({"can_post_messages": True, "can_delete_messages": True}, ["can_edit_messages"]),
    ({"can_edit_messages": True, "can_delete_messages": True}, ["can_post_messages"]),
    ({"can_invite_users": True},
     ["can_post_messages", "can_edit_messages", "can_delete_messages"]),
])
def test_each_missing_right_is_named_and_nothing_is_stored(api, sim, rights, missing):
    ch = sim.channel("Rights", OWNER, username="rights_test")
    sim.set_bot(ch["id"], OWNER, rights=rights)
    r = connect(api, username="rights_test")
    assert r.status_code == 422, r.text
    p = r.json()
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert p["type"] == "/problems/channel-check-failed"
    assert p["channel_status"] == "missing_rights" and p["missing_rights"] == missing
    assert "Administrators" in p["detail"]
    assert api.s.get(api.url("/api/v1/channels")).json()["channels"] == []


def test_user_who_is_not_an_admin_and_bot_not_in_channel(api, sim):
    theirs = sim.channel("Not Mine", OTHER, username="not_mine")
    sim.set_bot(theirs["id"], OTHER)
    r = connect(api, username="not_mine")
    assert r.status_code == 422 and r.json()["channel_status"] == "user_not_admin", r.text

    mine = sim.channel("No Bot Yet", OWNER, username="no_bot_yet")
    r = connect(api, chat_id=mine["id"])
    assert r.status_code == 422, r.text
    assert r.json()["channel_status"] in ("bot_not_admin", "bot_removed")

    r = connect(api, username="nobody_has_this")
    assert r.status_code == 422 and r.json()["channel_status"] == "not_found", r.text
    assert api.sql("SELECT COUNT(*) FROM channels") in ([(0,)], [("0",)])


def test_plan_limit(api, sim):
    a = sim.channel("First", OWNER, username="first_ch")
    b = sim.channel("Second", OWNER, username="second_ch")
    for ch in (a, b):
        sim.set_bot(ch["id"], OWNER)
    assert connect(api, username="first_ch").status_code == 201
    r = connect(api, username="second_ch")
    assert r.status_code == 403, r.text
    assert r.json()["type"] == "/problems/plan-limit" and "1 channel" in r.json()["detail"]
    # reconnecting the one already connected is not a new channel
    assert connect(api, username="first_ch").status_code == 201
    # on the pro plan (3 channels) the second fits
    api.sql(f"UPDATE users SET plan = 'pro' WHERE telegram_id = {OWNER}")
    assert connect(api, username="second_ch").status_code == 201
    q = api.s.get(api.url("/api/v1/channels")).json()["quota"]
    assert q == {"used": 2, "limit": 3, "plan": "pro"}


@pytest.mark.parametrize("body,field", [
    ({"username": "ab"}, "username"),
    ({"username": "bad name!"}, "username"),
    ({"username": 42}, "username"),
    ({"chat_id": 12345}, "chat_id"),
    ({"chat_id": "-100"}, "chat_id"),
    ({"title": "x"}, "title"),
    ({"username": "@daily_news", "chat_id": -100123}, None),
    ({}, None),
])
def test_bad_input_changes_nothing(api, sim, body, field):
    r = connect(api, **body)
    assert r.status_code == 422, r.text
    if field:
        assert r.json()["field"] == field
    assert api.sql("SELECT COUNT(*) FROM channels") in ([(0,)], [("0",)])
    assert sim.stats()["requests"].get("getChat", 0) == 0


def test_telegram_failing_is_503_and_records_nothing(api, sim):
    ch = sim.channel("Flaky", OWNER, username="flaky_ch")
    sim.set_bot(ch["id"], OWNER)
    sim.inject(method="getChat", kind="error", status=502, count=100)
    r = connect(api, username="flaky_ch")
    assert r.status_code == 503, r.text
    assert r.json()["type"] == "/problems/telegram-unavailable"
    assert r.headers["Retry-After"] == "5"
    assert api.sql("SELECT COUNT(*) FROM channels") in ([(0,)], [("0",)])


def test_unknown_channel_id_and_other_users_channel(api, sim):
    ch = sim.channel("Mine", OWNER, username="mine_ch")
    sim.set_bot(ch["id"], OWNER)
    c = connect(api, username="mine_ch").json()
    other = requests.Session()
    other.headers["Authorization"] = f"Bearer {api.user_with_key(OTHER)}"
    for method in ("GET", "DELETE"):
        assert other.request(method, api.url(f"/api/v1/channels/{c['id']}")).status_code == 404
    assert other.post(api.url(f"/api/v1/channels/{c['id']}/check")).status_code == 404
    assert api.s.get(api.url("/api/v1/channels/abc")).status_code == 404
    assert api.s.get(api.url("/api/v1/channels/999999")).status_code == 404


def test_without_a_bot_token_channels_cannot_be_checked(herald):
    key = herald.user_with_key(OWNER)
    r = requests.post(herald.url("/api/v1/channels"), json={"username": "@some_channel"},
                      headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 503 and r.json()["type"] == "/problems/bot-not-configured"
    r = requests.post(herald.url("/hooks/telegram"), json={"update_id": 1})
    assert r.status_code == 503


UPDATE = {"update_id": 500001, "message": {
    "message_id": 1, "date": 1767225600, "text": "hi",
    "chat": {"id": OWNER, "type": "private", "first_name": "A"},
    "from": {"id": OWNER, "is_bot": False, "first_name": "A"}}}


def test_webhook_secret_and_repeats(sim, make_herald):
    secret = "hook-secret_123"
    h = make_herald(HERALD_BOT_TOKEN=sim.token, HERALD_TELEGRAM_API=sim.base,
                    HERALD_TELEGRAM_WEBHOOK_SECRET=secret, HERALD_ROLES="api").start()
    url = h.url("/hooks/telegram")
    hdr = "X-Telegram-Bot-Api-Secret-Token"
    assert requests.post(url, json=UPDATE).status_code == 401
    assert requests.post(url, json=UPDATE, headers={hdr: secret + "x"}).status_code == 401
    assert requests.post(url, json=UPDATE, headers={hdr: secret[:-1]}).status_code == 401
    assert h.sql("SELECT COUNT(*) FROM tg_updates") in ([(0,)], [("0",)])

    for _ in range(3):  # Telegram retries: recorded once
        r = requests.post(url, json=UPDATE, headers={hdr: secret})
        assert r.status_code == 200 and r.text == ""
    rows = h.sql("SELECT update_id, state FROM tg_updates")
    assert [(int(u), s) for u, s in rows] == [(500001, "new")]
    metrics = requests.get(h.url("/metrics")).text
    assert 'herald_bot_updates_total{result="received"} 1\n' in metrics
    assert 'herald_bot_updates_total{result="repeat"} 2\n' in metrics

    for bad in (b"not json", b"[1,2]", b'{"message":{}}', b'{"update_id":"x"}'):
        r = requests.post(url, data=bad, headers={hdr: secret,
                                                  "Content-Type": "application/json"})
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["type"] == "/problems/invalid-update"
    assert h.sql("SELECT COUNT(*) FROM tg_updates") in ([(1,)], [("1",)])


def test_webhook_secret_derived_from_the_token(sim, make_herald):
    h = make_herald(HERALD_BOT_TOKEN=sim.token, HERALD_TELEGRAM_API=sim.base,
                    HERALD_ROLES="api").start()
    derived = hashlib.sha256(f"herald-webhook-secret:{sim.token}".encode()).hexdigest()
    hdr = "X-Telegram-Bot-Api-Secret-Token"
    assert requests.post(h.url("/hooks/telegram"), json=UPDATE,
                         headers={hdr: "guess"}).status_code == 401
    assert requests.post(h.url("/hooks/telegram"), json=UPDATE,
                         headers={hdr: derived}).status_code == 200


def test_login_link_is_single_use(bot_herald, sim):
    uid = 7101
    sim.user(uid, language_code="en")
    assert bot_herald.cli("user", "add", "--telegram-id", str(uid)).returncode == 0
    sim.say(uid, "/login")
    m = sim.expect(uid, "/login?token=", timeout=20)
    link = re.search(r"(http://[^\s\"<]+/login\?token=[A-Za-z0-9_-]+)", m["text"]).group(1)
    r = requests.get(link, allow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == "/api/v1/me"
    cookie = r.cookies.get("herald_session")
    assert cookie
    me = requests.get(bot_herald.url("/api/v1/me"), cookies={"herald_session": cookie})
    assert me.status_code == 200 and me.json()["telegram_id"] == uid
    again = requests.get(link, allow_redirects=False)
    assert again.status_code == 410
    assert again.json()["type"] == "/problems/login-link-invalid"
    assert requests.get(bot_herald.url("/login?token=hl_forged"),
                        allow_redirects=False).status_code == 410
    assert requests.get(bot_herald.url("/login"), allow_redirects=False).status_code == 400
