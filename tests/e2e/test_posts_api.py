"""REST posts and deliveries, against the real binary (roles api and worker)
and the Telegram simulator: what the API answers, what the simulator's
channel holds, and what the database keeps.

Schedules hours ahead are reached by moving Herald's product clock forward
(POST /test/clock, HERALD_TEST_CLOCK=1), never by sleeping; what the channel
received is read with the simulator's long polls.
"""
import threading
import time

import pytest
import requests

OWNER = 7301
OTHER = 7302
HOUR_MS = 3600 * 1000
MINUTE_MS = 60 * 1000


@pytest.fixture
def api(sim, make_herald):
    """Herald sending to the simulator, with OWNER's channel connected."""
    h = make_herald(HERALD_BOT_TOKEN=sim.token, HERALD_TELEGRAM_API=sim.base,
                    HERALD_ROLES="api,worker", HERALD_TEST_CLOCK="1").start()
    sim.user(OWNER, language_code="en")
    sim.user(OTHER, language_code="en")
    h.key = h.user_with_key(OWNER)
    h.s = session(h.key)
    ch = sim.channel("Herald Posts", OWNER, username="herald_posts")
    sim.set_bot(ch["id"], OWNER)
    r = h.s.post(h.url("/api/v1/channels"), json={"username": "@herald_posts"})
    assert r.status_code == 201, r.text
    h.chat = ch["id"]
    h.channel = r.json()["id"]
    yield h
    assert sim.token.split(":")[1] not in h.logtext(), "the bot token reached the log"


def session(key):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {key}"
    return s


def count(h, table, where="1=1"):
    return int(h.sql(f"SELECT COUNT(*) FROM {table} WHERE {where}")[0][0])


def stored(h):
    return {t: count(h, t) for t in ("posts", "deliveries", "jobs", "idempotency_keys")}


def now_ms(h):
    r = requests.get(h.url("/test/clock"))
    assert r.status_code == 200, r.text
    return r.json()["now_ms"]


def advance(h, ms):
    r = requests.post(h.url("/test/clock"), json={"advance_ms": ms})
    assert r.status_code == 200, r.text
    return r.json()


def at_utc(ms):
    """A schedule at the minute containing ms, as a local time in UTC."""
    return {"at": time.strftime("%Y-%m-%dT%H:%M", time.gmtime(ms // 1000)), "zone": "UTC"}


def minute(ms):
    return ms - ms % MINUTE_MS


def create(h, body, key=None, s=None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return (s or h.s).post(h.url("/api/v1/posts"), json=body, headers=headers)


def created(h, body):
    r = create(h, body)
    assert r.status_code == 201, r.text
    return r.json()


def deliveries(h, post_id):
    r = h.s.get(h.url(f"/api/v1/posts/{post_id}/deliveries"))
    assert r.status_code == 200, r.text
    return r.json()["deliveries"]


def wait_for(what, fn, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def wait_state(h, post_id, state, timeout=20):
    return wait_for(f"post {post_id}'s deliveries {state}",
                    lambda: (lambda ds: ds if ds and all(d["state"] == state for d in ds)
                             else None)(deliveries(h, post_id)), timeout)


def wait_status(h, post_id, status, timeout=20):
    return wait_for(f"post {post_id} {status}",
                    lambda: (lambda p: p if p["status"] == status else None)(
                        h.s.get(h.url(f"/api/v1/posts/{post_id}")).json()), timeout)


def wait_message(sim, chat, message_id, pred, timeout=20):
    """The channel's message message_id once pred holds for it (long-polled
    on the chat's version: any edit wakes it)."""
    deadline = time.monotonic() + timeout
    version = -1
    while True:
        left = deadline - time.monotonic()
        got = sim.ctl("GET", f"/chats/{chat}/messages", after=0, since_version=version,
                      wait_ms=int(max(0, min(left, 10)) * 1000))
        version = got["version"]
        for m in got["messages"]:
            if m["message_id"] == message_id and pred(m):
                return m
        if left <= 0:
            raise AssertionError(f"message {message_id} in {chat}: not as expected: "
                                 f"{[m for m in got['messages'] if m['message_id'] == message_id]}")


BUTTONS = [[{"text": "Open", "url": "https://example.com/open"}],
           [{"text": "Docs", "url": "https://example.com/docs"},
            {"text": "Chat", "url": "tg://resolve?domain=herald"}]]


def test_post_due_now_reaches_the_channel(api, sim):
    r = create(api, {"text": "<b>Hello</b> <i>readers</i> &amp; friends", "buttons": BUTTONS,
                     "channels": [api.channel]})
    assert r.status_code == 201, r.text
    post = r.json()
    assert r.headers["Location"] == f"/api/v1/posts/{post['id']}"
    assert "Idempotent-Replayed" not in r.headers
    assert post["channels"] == [api.channel] and post["buttons"] == BUTTONS

    m = sim.expect(api.chat, "<b>Hello</b>")
    assert m["text"] == "<b>Hello</b> <i>readers</i> &amp; friends"
    assert m["parse_mode"] == "HTML"
    assert m["reply_markup"]["inline_keyboard"] == BUTTONS
    assert "sender_chat" in m and not m["deleted"]

    (d,) = wait_state(api, post["id"], "sent")
    assert d["channel_id"] == api.channel and d["chat_id"] == api.chat
    assert d["message_ids"] == [m["message_id"]]
    assert d["lateness_ms"] >= 0 and d["sent_at"] >= d["due_at"]
    assert api.s.get(api.url(f"/api/v1/deliveries/{d['id']}")).json() == d
    done = wait_status(api, post["id"], "done")
    assert done["deliveries"]["sent"] == 1
    sim.quiet(api.chat)  # sent once
    metrics = requests.get(api.url("/metrics")).text
    assert 'herald_deliveries_total{outcome="sent"} 1\n' in metrics
    assert "herald_delivery_lateness_seconds_count 1\n" in metrics


def test_scheduled_post_waits_for_its_time(api, sim):
    due = minute(now_ms(api) + 2 * HOUR_MS)
    post = created(api, {"text": "Two hours later", "channels": [api.channel],
                         "schedule": at_utc(due)})
    assert post["status"] == "scheduled"
    assert post["first_at"] == due and post["next_at"] == due
    (d,) = deliveries(api, post["id"])
    assert (d["state"], d["due_at"], d["message_ids"]) == ("scheduled", due, [])
    sim.quiet(api.chat, wait_ms=1500)

    advance(api, 2 * HOUR_MS + MINUTE_MS)
    m = sim.expect(api.chat, "Two hours later")
    (d,) = wait_state(api, post["id"], "sent")
    assert d["message_ids"] == [m["message_id"]] and d["lateness_ms"] >= 0
    wait_status(api, post["id"], "done")


def emoji(n):
    return "\U0001F600" * n  # beyond U+FFFF: 2 UTF-16 units each


PHOTO = {"type": "photo", "url": "https://example.com/a.jpg"}


@pytest.mark.parametrize("spec,field,code", [
    ({"text": "<b>unclosed"}, "text", "html"),
    ({"text": "<div>block</div>"}, "text", "html"),
    ({"text": emoji(2049)}, "text", "too_long"),  # 2049 characters, 4098 units
    ({"text": "x" * 4097}, "text", "too_long"),
    ({"text": "c" * 1025, "media": [PHOTO]}, "text", "too_long"),
    ({"text": "past", "schedule": "PAST"}, "schedule.at", "past"),
    ({"text": "zone", "schedule": {"at": "2031-01-01T09:00", "zone": "Mars/Olympus"}},
     "schedule.zone", "zone"),
    ({"text": "b", "buttons": [[{"text": "Go", "url": "javascript:alert(1)"}]]},
     "buttons[0][0].url", "url"),
    ({"text": "album", "media": [PHOTO] * 11}, None, "album"),
    ({"text": "w", "schedule": {"at": "2031-01-01T09:00", "zone": "UTC",
                                "repeat": {"every": "week"}}},
     "schedule.repeat.weekdays", None),
    ({"text": "unknown", "colour": "red"}, "colour", None),
    ({"text": "nobody's", "channels": ["OTHER"]}, "channels[0]", "not_owned"),
    ({"text": "missing", "channels": [999999]}, "channels[0]", "not_owned"),
])
def test_bad_input_is_422_naming_the_field_and_stores_nothing(api, sim, spec, field, code):
    if spec.get("schedule") == "PAST":
        spec["schedule"] = at_utc(now_ms(api) - HOUR_MS)
    if spec.get("channels") == ["OTHER"]:
        theirs = sim.channel("Theirs", OTHER, username="theirs_ch")
        sim.set_bot(theirs["id"], OTHER)
        r = session(api.user_with_key(OTHER)).post(api.url("/api/v1/channels"),
                                                   json={"username": "@theirs_ch"})
        assert r.status_code == 201, r.text
        spec["channels"] = [r.json()["id"]]
    spec.setdefault("channels", [api.channel])
    before = stored(api)
    r = create(api, spec, key="bad-input-1")
    assert r.status_code == 422, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    p = r.json()
    assert p["type"] == "/problems/invalid-field" and p["detail"]
    if field:
        assert p["field"] == field, p
    else:
        assert p["field"].startswith("media"), p
    if code:
        assert p["code"] == code, p
    assert stored(api) == before
    sim.quiet(api.chat, wait_ms=300)


def test_now_with_a_repeat_starts_today(api, sim):
    t0 = now_ms(api)
    post = created(api, {"text": "Daily from now", "channels": [api.channel],
                         "schedule": {"at": "now", "repeat": {"every": "day", "count": 3}}})
    assert post["status"] == "scheduled"
    assert t0 - MINUTE_MS <= post["first_at"] <= now_ms(api)
    sim.expect(api.chat, "Daily from now")
    ds = deliveries(api, post["id"])
    assert [d["occurrence"] for d in ds][:2] == [ds[0]["occurrence"], ds[0]["occurrence"] + 1]
    # the first goes now; the next ones at the same minute of the day (UTC: no DST)
    assert ds[1]["due_at"] % MINUTE_MS == 0
    assert 24 * HOUR_MS - MINUTE_MS < ds[1]["due_at"] - ds[0]["due_at"] <= 24 * HOUR_MS


def test_length_is_counted_in_utf16_units(api):
    # 2048 emoji are 4096 units: the limit exactly (2049 is refused above)
    r = create(api, {"text": emoji(2048), "channels": [api.channel], "draft": True})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft"
    assert deliveries(api, r.json()["id"]) == []


def test_malformed_bodies(api):
    before = stored(api)
    for data, ctype, status, kind in [
        (b'{"text": "x", ', "application/json", 400, "malformed-json"),
        (b'{"text": "a", "text": "b"}', "application/json", 400, "malformed-json"),
        (b'["text"]', "application/json", 422, "invalid"),
        (b'{"text": "x"}', "text/plain", 415, "unsupported-media-type"),
    ]:
        r = api.s.post(api.url("/api/v1/posts"), data=data, headers={"Content-Type": ctype})
        assert r.status_code == status, (data, r.text)
        assert r.json()["type"] == f"/problems/{kind}"
    assert stored(api) == before


def test_idempotency_key(api, sim):
    due = minute(now_ms(api) + HOUR_MS)
    body = {"text": "Once only", "channels": [api.channel], "schedule": at_utc(due)}
    first = create(api, body, key="order-42")
    assert first.status_code == 201, first.text
    again = create(api, body, key="order-42")
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert count(api, "posts") == 1 and count(api, "deliveries") == 1

    other = create(api, dict(body, text="Another body"), key="order-42")
    assert other.status_code == 409, other.text
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    # one byte more is another body too
    raw = api.s.post(api.url("/api/v1/posts"), data=again.request.body + b" ",
                     headers={"Idempotency-Key": "order-42", "Content-Type": "application/json"})
    assert raw.status_code == 409, raw.text
    assert count(api, "posts") == 1

    # keys are per user: another user's same key is a new request
    theirs = create(api, {"text": "Theirs", "draft": True}, key="order-42",
                    s=session(api.user_with_key(OTHER)))
    assert theirs.status_code == 201, theirs.text
    assert "Idempotent-Replayed" not in theirs.headers
    assert count(api, "posts") == 2

    before = stored(api)
    for bad in ("", "k" * 256, "tab\there"):
        r = create(api, body, key=bad)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["type"] == "/problems/invalid-idempotency-key"
    assert stored(api) == before
    assert create(api, dict(body, text="Max key"), key="k" * 255).status_code == 201

    # a refused request records nothing: the key still works with a good body
    assert create(api, {"text": "<b>", "channels": [api.channel]}, key="fix-me").status_code == 422
    assert create(api, dict(body, text="Fixed"), key="fix-me").status_code == 201


def test_concurrent_requests_with_one_key_make_one_post(api):
    body = {"text": "Racing", "channels": [api.channel],
            "schedule": at_utc(now_ms(api) + HOUR_MS)}
    before = count(api, "posts")
    results = []
    start = threading.Barrier(8)

    def one():
        start.wait()
        results.append(requests.post(api.url("/api/v1/posts"), json=body,
                                     headers={"Idempotency-Key": "race-1",
                                              "Authorization": f"Bearer {api.key}"}))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [201] * 8, [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in results) == 1
    assert count(api, "posts") == before + 1
    assert count(api, "deliveries") == 1


def test_plan_limit_of_posts_per_month(api):
    body = {"text": "Quota", "channels": [api.channel],
            "schedule": at_utc(now_ms(api) + HOUR_MS)}
    for i in range(30):
        r = create(api, dict(body, text=f"Quota {i}"))
        assert r.status_code == 201, (i, r.text)
    before = stored(api)
    r = create(api, dict(body, text="One too many"))
    assert r.status_code == 403, r.text
    p = r.json()
    assert p["type"] == "/problems/plan-limit" and p["code"] == "plan_limit"
    assert (p["plan"], p["limit"], p["used"]) == ("free", 30, 30)
    assert stored(api) == before
    api.sql(f"UPDATE users SET plan = 'pro' WHERE telegram_id = {OWNER}")
    assert create(api, dict(body, text="On pro")).status_code == 201


def test_patch_before_sending_remakes_the_delivery(api, sim):
    due = minute(now_ms(api) + 2 * HOUR_MS)
    post = created(api, {"text": "Draft wording", "channels": [api.channel],
                         "schedule": at_utc(due)})
    later = due + HOUR_MS
    r = api.s.patch(api.url(f"/api/v1/posts/{post['id']}"),
                    json={"text": "Final wording", "schedule": at_utc(later)})
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["text"] == "Final wording" and p["first_at"] == later and p["next_at"] == later
    assert p["version"] > post["version"]
    live = [d for d in deliveries(api, post["id"]) if d["state"] != "canceled"]
    assert [(d["state"], d["due_at"]) for d in live] == [("scheduled", later)]

    advance(api, 2 * HOUR_MS + MINUTE_MS)  # the old time passes: nothing
    sim.quiet(api.chat, wait_ms=1500)
    advance(api, HOUR_MS)
    m = sim.expect(api.chat, "wording")
    assert m["text"] == "Final wording"
    sim.quiet(api.chat)


@pytest.mark.parametrize("repeat", [
    pytest.param(None, id="once"),
    pytest.param({"every": "day", "count": 3}, id="daily"),
])
def test_patch_after_sending_edits_the_message(api, sim, repeat):
    spec = {"text": "Sent <b>once</b>", "buttons": BUTTONS, "channels": [api.channel]}
    if repeat:  # the post stays scheduled: tomorrow's occurrence is to come
        spec["schedule"] = dict(at_utc(minute(now_ms(api)) + MINUTE_MS), repeat=repeat)
    post = created(api, spec)
    if repeat:
        advance(api, MINUTE_MS)
    m = sim.expect(api.chat, "Sent")
    wait_for("the first delivery sent",
             lambda: deliveries(api, post["id"])[0]["state"] == "sent")
    new_buttons = [[{"text": "New link", "url": "https://example.com/new"}]]
    r = api.s.patch(api.url(f"/api/v1/posts/{post['id']}"),
                    json={"text": "Sent and <i>edited</i>", "buttons": new_buttons})
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "Sent and <i>edited</i>" and r.json()["buttons"] == new_buttons
    e = wait_message(sim, api.chat, m["message_id"], lambda x: x["edited"])
    assert e["text"] == "Sent and <i>edited</i>"
    assert e["reply_markup"]["inline_keyboard"] == new_buttons
    wait_for("edited_at", lambda: deliveries(api, post["id"])[0]["edited_at"])
    assert len(sim.sent(api.chat, after=0)) == 1  # edited, not sent again
    if repeat:  # the next occurrence is sent with the new content
        advance(api, 24 * HOUR_MS + MINUTE_MS)
        nxt = sim.expect(api.chat, "edited")
        assert nxt["message_id"] != m["message_id"]
        assert nxt["reply_markup"]["inline_keyboard"] == new_buttons

    # a second channel (pro plan) that the sent post may not be moved to
    api.sql(f"UPDATE users SET plan = 'pro' WHERE telegram_id = {OWNER}")
    second = sim.channel("Second", OWNER, username="herald_second")
    sim.set_bot(second["id"], OWNER)
    r = api.s.post(api.url("/api/v1/channels"), json={"username": "@herald_second"})
    assert r.status_code == 201, r.text
    kept = api.s.get(api.url(f"/api/v1/posts/{post['id']}")).json()
    kept_deliveries = deliveries(api, post["id"])
    for patch, field in (({"channels": [api.channel, r.json()["id"]]}, "channels"),
                         ({"schedule": at_utc(now_ms(api) + HOUR_MS)}, "schedule"),
                         ({"pin": True}, "pin")):
        r = api.s.patch(api.url(f"/api/v1/posts/{post['id']}"), json=patch)
        assert r.status_code == 409, r.text
        p = r.json()
        assert p["type"] == "/problems/post-not-editable"
        assert (p["field"], p["code"]) == (field, "not_editable")
    assert api.s.get(api.url(f"/api/v1/posts/{post['id']}")).json() == kept
    assert deliveries(api, post["id"]) == kept_deliveries
    sim.quiet(second["id"], wait_ms=500)

    bad = api.s.patch(api.url(f"/api/v1/posts/{post['id']}"), json={"text": "<b>bad"})
    assert bad.status_code == 422 and bad.json()["field"] == "text", bad.text


def test_delete_cancels_before_sending(api, sim):
    due = minute(now_ms(api) + HOUR_MS)
    post = created(api, {"text": "Never published", "channels": [api.channel],
                         "schedule": at_utc(due)})
    r = api.s.delete(api.url(f"/api/v1/posts/{post['id']}"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "canceled" and r.json()["next_at"] is None
    assert [d["state"] for d in deliveries(api, post["id"])] == ["canceled"]
    assert count(api, "jobs", "kind = 'deliver'") == 0
    assert api.s.delete(api.url(f"/api/v1/posts/{post['id']}")).status_code == 200
    r = api.s.patch(api.url(f"/api/v1/posts/{post['id']}"), json={"text": "revive"})
    assert r.status_code == 409 and r.json()["type"] == "/problems/post-not-editable"

    advance(api, HOUR_MS + MINUTE_MS)
    sim.quiet(api.chat, wait_ms=2000)
    assert sim.stats()["requests"].get("sendMessage", 0) == 0


def test_list_pages_and_other_users(api):
    ids = [created(api, {"text": f"Draft {i}", "channels": [api.channel],
                         "draft": True})["id"] for i in range(5)]
    seen, url, pages = [], "/api/v1/posts?limit=2", 0
    while url:
        r = api.s.get(api.url(url))
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [p["id"] for p in page["posts"]]
        assert len(page["posts"]) <= 2
        url = page["next"]
        pages += 1
        assert pages <= 3
    assert seen == sorted(ids, reverse=True)
    first = api.s.get(api.url("/api/v1/posts?limit=2")).json()
    assert first["next"] == f"/api/v1/posts?before={seen[1]}&limit=2"
    r = api.s.get(api.url("/api/v1/posts?status=draft&limit=3")).json()
    assert [p["id"] for p in r["posts"]] == seen[:3]
    assert r["next"] == f"/api/v1/posts?before={seen[2]}&limit=3&status=draft"
    assert api.s.get(api.url("/api/v1/posts?status=done")).json() == {"posts": [],
                                                                      "next": None}
    everything = api.s.get(api.url("/api/v1/posts")).json()
    assert len(everything["posts"]) == 5 and everything["next"] is None

    for q, param in (("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"),
                     ("before=-3", "before"), ("before=", "before"), ("status=sent", "status")):
        r = api.s.get(api.url(f"/api/v1/posts?{q}"))
        assert r.status_code == 400, (q, r.text)
        assert r.json()["type"] == "/problems/invalid-query" and r.json()["parameter"] == param

    other = session(api.user_with_key(OTHER))
    pid = ids[0]
    assert other.get(api.url("/api/v1/posts")).json()["posts"] == []
    for method, path, body in (("GET", f"/api/v1/posts/{pid}", None),
                               ("PATCH", f"/api/v1/posts/{pid}", {"text": "mine now"}),
                               ("DELETE", f"/api/v1/posts/{pid}", None),
                               ("GET", f"/api/v1/posts/{pid}/deliveries", None)):
        r = other.request(method, api.url(path), json=body)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["type"] == "/problems/not-found"
    assert api.s.get(api.url(f"/api/v1/posts/{pid}")).json()["text"] == "Draft 0"
    assert api.s.get(api.url("/api/v1/posts/abc")).status_code == 404
    assert api.s.get(api.url("/api/v1/posts/99999999")).status_code == 404
    assert requests.get(api.url("/api/v1/posts")).status_code == 401


def test_resolving_an_uncertain_delivery(api, sim):
    a = created(api, {"text": "Alpha", "channels": [api.channel]})
    sim.expect(api.chat, "Alpha")
    (da,) = wait_state(api, a["id"], "sent")
    path = f"/api/v1/deliveries/{da['id']}/resolve"
    r = api.s.post(api.url(path), json={"action": "resend"})
    assert r.status_code == 409 and r.json()["type"] == "/problems/delivery-not-uncertain"
    for body, field in (({"action": "again"}, "action"), ({}, "action"),
                        ({"action": "resend", "why": 1}, "why")):
        r = api.s.post(api.url(path), json=body)
        assert r.status_code == 422 and r.json()["field"] == field, r.text

    # as the watchdog leaves a delivery whose send may or may not have happened:
    # uncertain, with nothing recorded of the send
    uncertain = ("UPDATE deliveries SET state = 'uncertain', message_ids = '[]', "
                 f"sent_at = NULL, lateness_ms = NULL WHERE id = {da['id']}")
    api.sql(uncertain)
    r = api.s.post(api.url(path), json={"action": "published"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "sent"
    assert api.s.post(api.url(path), json={"action": "published"}).status_code == 409
    sim.quiet(api.chat)

    api.sql(uncertain)
    r = api.s.post(api.url(path), json={"action": "resend"})
    assert r.status_code == 200, r.text
    again = sim.expect(api.chat, "Alpha")
    assert again["message_id"] > da["message_ids"][0]
    (d,) = wait_state(api, a["id"], "sent")
    assert d["message_ids"] == [again["message_id"]]
    other = session(api.user_with_key(OTHER))
    assert other.get(api.url(f"/api/v1/deliveries/{da['id']}")).status_code == 404
    assert other.post(api.url(path), json={"action": "resend"}).status_code == 404


def test_test_clock_moves_forward_only(api):
    c0 = requests.get(api.url("/test/clock")).json()
    c1 = advance(api, 5 * MINUTE_MS)
    assert c1["offset_ms"] == c0["offset_ms"] + 5 * MINUTE_MS
    assert c1["now_ms"] >= c0["now_ms"] + 5 * MINUTE_MS
    for body in ({"advance_ms": -1}, {"advance_ms": "60000"}, {"advance_ms": 1.5},
                 {"advance_ms": 11 * 366 * 24 * HOUR_MS}, {}, {"advance_ms": 1, "x": 2}):
        r = requests.post(api.url("/test/clock"), json=body)
        assert r.status_code == 422, (body, r.text)
    assert requests.get(api.url("/test/clock")).json()["offset_ms"] == c1["offset_ms"]


def test_test_clock_is_not_there_by_default(make_herald):
    h = make_herald(HERALD_ROLES="api").start()
    unknown = requests.get(h.url("/test/nothing"))
    assert unknown.status_code == 404
    for method, body in (("GET", None), ("POST", {"advance_ms": HOUR_MS})):
        r = requests.request(method, h.url("/test/clock"), json=body)
        assert r.status_code == 404, r.text
        p = r.json()
        q = requests.request(method, h.url("/test/nothing"), json=body).json()
        assert {k: p[k] for k in ("type", "title", "status", "detail")} == \
               {k: q[k] for k in ("type", "title", "status", "detail")}
