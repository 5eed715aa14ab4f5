"""Analytics end to end (issue 6): the real `herald run` collects a channel of
`herald sim` (docs/analytics.md) from every source the simulator speaks like
Telegram: updates (channel_post, edited_channel_post,
message_reaction_count, chat_member), getChatMemberCount, and the public
page /s/<username> in t.me's markup. The simulator's audience model keeps
the ground truth (GET /control/channels/{id}/audience); the tests compare
what Herald stored and answers with it, within the rounding of the page.

Both clocks are moved together: Herald's product clock (POST /test/clock)
and Telegram's (POST /control/clock), so collections come due and views
grow without waiting."""
import json
import time

import pytest
import requests

from conftest import WEBHOOK_SECRET
from test_user_journey_workflows import onboard

HOUR = 3600 * 1000
OWNER = 7101


def wait_for(cond, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        assert time.monotonic() < deadline, f"{what} not met in time"
        time.sleep(0.1)


def rows(h, sql):
    return [tuple(None if v is None else str(v) for v in r) for r in h.sql(sql)]


def one(h, sql):
    r = rows(h, sql)
    assert len(r) == 1 and len(r[0]) == 1, (sql, r)
    return r[0][0]


def within(page_value, approx, exact):
    """A value as the page shows it against the exact one: equal, or within
    the rounding of its abbreviation (one decimal of K or M)."""
    if not approx:
        return page_value == exact
    unit = 100000 if exact >= 1000000 else 100 if exact >= 1000 else 1
    return abs(page_value - exact) <= unit


@pytest.fixture
def lab(make_bot_herald):
    """Herald with the test clock and its public pages on the simulator."""
    h = make_bot_herald(HERALD_TEST_CLOCK="1")
    h.env["HERALD_TME_URL"] = h.sim.base
    h.start()
    return h


def advance(h, ms):
    """Move both clocks: Herald's and Telegram's."""
    r = requests.post(h.url("/test/clock"), json={"advance_ms": ms}, timeout=10)
    assert r.status_code == 200, r.text
    h.sim.ctl("POST", "/clock", {"advance_ms": ms})


def history_channel(h, uid=OWNER, username="lab_news", history=None, members=5000):
    """A public channel (with history: {"days", ...} of posts written by the
    simulator first), connected by its owner. Telegram's clock stands still
    unless advanced, so the ground truth is what Herald read."""
    sim = h.sim
    sim.ctl("POST", "/clock", {"freeze": True})
    onboard(sim, uid)
    cid = sim.ctl("POST", "/channels", {"title": "Lab News", "creator_id": uid,
                                        "username": username,
                                        "member_count": members})["chat"]["id"]
    if history:
        sim.ctl("POST", f"/channels/{cid}/history", history)
    sim.set_bot(cid, by=uid)
    m = sim.expect(uid, "You made me an administrator")
    sim.press(uid, m, "Connect")
    sim.expect(uid, "✅ Connected “Lab News”!")
    ch = int(one(h, f"SELECT id FROM channels WHERE chat_id = {cid}"))
    return cid, ch


def collected(h, ch, source, after=0):
    """Wait for the next successful collection of source."""
    def ok():
        r = rows(h, f"SELECT ok_at FROM collect_sources WHERE channel_id = {ch} AND "
                    f"source = '{source}'")
        return r and r[0][0] and int(r[0][0]) > after and int(r[0][0])
    return wait_for(ok, what=f"{source} collected")


def send_update(h, upd):
    """An update as Telegram's webhook delivers it."""
    r = requests.post(h.url("/hooks/telegram"), data=json.dumps(upd),
                      headers={"Content-Type": "application/json",
                               "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
                      timeout=10)
    assert r.status_code == 200, r.text


def handled(h, update_id):
    def done():
        r = rows(h, f"SELECT state FROM tg_updates WHERE update_id = {update_id}")
        return r and r[0][0] in ("done", "failed") and r[0][0]
    return wait_for(done, what=f"update {update_id} handled")


class TestAnalyticsDataCollectionWorkflow:
    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_member_counts_and_the_public_page(self, lab):
        h, sim = lab, lab.sim
        cid, ch = history_channel(h, history={"days": 7, "min_per_day": 3,
                                              "max_per_day": 4, "seed": 7})
        advance(h, 3 * HOUR)
        collected(h, ch, "bot_api")
        collected(h, ch, "page")
        truth = sim.ctl("GET", f"/channels/{cid}/audience")
        # the member count is the Bot API's, exactly
        members = rows(h, f"SELECT value FROM metric_points WHERE channel_id = {ch} AND "
                          f"metric = 'members' AND source = 'bot_api'")
        assert [int(m[0]) for m in members] == [truth["member_count"]]
        # every post of the page, with its views within the page's rounding
        posts = {int(r[0]): r for r in rows(
            h, f"SELECT message_id, views, views_approx, kind, reactions, posted_at FROM "
               f"channel_posts WHERE channel_id = {ch}")}
        real = {p["message_id"]: p for p in truth["posts"] if not p.get("service")}
        assert set(posts) == set(real), (sorted(posts), sorted(real))
        for mid, p in real.items():
            got = posts[mid]
            assert within(int(got[1]), got[2] == "1", p["views"]), (mid, got, p["views"])
            assert int(got[5]) == p["date"] * 1000
            if got[4] is not None:
                assert within(int(got[4]), True, p["reactions_total"])
        assert {r[3] for r in posts.values()} <= {"text", "photo", "video", "document",
                                                 "poll", "album", "other"}
        # the next collection comes after the free plan's 6 hours, and views grew
        first = int(one(h, f"SELECT ok_at FROM collect_sources WHERE channel_id = {ch} "
                           f"AND source = 'page'"))
        before = dict((int(r[0]), int(r[1])) for r in rows(
            h, f"SELECT message_id, views FROM channel_posts WHERE channel_id = {ch}"))
        advance(h, 6 * HOUR + 60000)
        collected(h, ch, "page", after=first)
        after = dict((int(r[0]), int(r[1])) for r in rows(
            h, f"SELECT message_id, views FROM channel_posts WHERE channel_id = {ch}"))
        assert all(after[m] >= before[m] for m in before)
        assert sum(after.values()) > sum(before.values())
        assert int(one(h, f"SELECT count(*) FROM metric_points WHERE channel_id = {ch} "
                          f"AND metric = 'members' AND source = 'bot_api'")) == 2
        # snapshots give young posts their reach at 24 h
        assert int(one(h, f"SELECT count(*) FROM post_snapshots WHERE channel_id = {ch}")) > 0
        # the day's rollup follows each collection
        wait_for(lambda: any(r[0] is not None for r in rows(
            h, f"SELECT members, posts FROM daily_rollups WHERE channel_id = {ch}")),
            what="daily rollups")
        metrics = requests.get(h.url("/metrics"), timeout=10).text
        assert 'herald_collect_points_total{source="page"}' in metrics

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_from_updates(self, lab):
        h, sim = lab, lab.sim
        cid, ch = history_channel(h, username="lab_updates")
        # a post made outside Herald arrives as channel_post
        m = sim.ctl("POST", f"/channels/{cid}/posts", {"text": "made in Telegram",
                                                        "by": OWNER})["message"]
        wait_for(lambda: rows(h, f"SELECT source, kind FROM channel_posts WHERE channel_id = "
                                 f"{ch} AND message_id = {m['message_id']}"),
                 what="channel_post stored")
        # joins and leaves arrive as chat_member updates
        sim.ctl("POST", f"/channels/{cid}/spike", {"joins": 5, "leaves": 2})
        wait_for(lambda: rows(h, f"SELECT metric, sum(value) FROM metric_points WHERE "
                                 f"channel_id = {ch} AND source = 'updates' GROUP BY metric "
                                 f"ORDER BY metric") == [("joins", "5"), ("leaves", "2")],
                 what="joins and leaves counted")
        # reactions arrive as message_reaction_count once the post is read
        advance(h, 2 * HOUR)
        requests.get(f"{sim.base}/s/lab_updates", timeout=10)  # lets the model catch up
        truth = sim.ctl("GET", f"/channels/{cid}/audience")
        post = next(p for p in truth["posts"] if p["message_id"] == m["message_id"])
        if post["reactions_total"]:
            wait_for(lambda: rows(h, f"SELECT reactions, reactions_source FROM channel_posts "
                                     f"WHERE channel_id = {ch} AND message_id = "
                                     f"{m['message_id']}")
                     == [(str(post["reactions_total"]), "updates")],
                     what="reaction count stored")

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_validation_rejects_bad_data(self, lab):
        h, sim = lab, lab.sim
        cid, ch = history_channel(h, username="lab_bad")
        now_s = requests.get(h.url("/test/clock")).json()["now_ms"] // 1000
        chat = {"id": cid, "type": "channel", "title": "Lab News"}
        # a post dated a day ahead, and a negative reaction count
        send_update(h, {"update_id": 990001, "channel_post": {
            "message_id": 77, "date": now_s + 86400, "chat": chat, "text": "from the future"}})
        send_update(h, {"update_id": 990002, "channel_post": {
            "message_id": 78, "date": now_s, "chat": chat, "text": "fine"}})
        send_update(h, {"update_id": 990003, "message_reaction_count": {
            "chat": chat, "message_id": 78, "date": now_s,
            "reactions": [{"type": {"type": "emoji", "emoji": "👍"}, "total_count": -3}]}})
        for u in (990001, 990002, 990003):
            handled(h, u)
        assert rows(h, f"SELECT message_id, reactions FROM channel_posts WHERE channel_id = "
                       f"{ch} AND message_id IN (77, 78)") in ([("78", None)], [("78", "")])
        assert one(h, f"SELECT rejected FROM collect_sources WHERE channel_id = {ch} AND "
                      f"source = 'updates'") == "2"
        metrics = requests.get(h.url("/metrics"), timeout=10).text
        assert 'herald_collect_rejected_total{source="updates"} 2' in metrics

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_a_source_that_fails_fails_alone(self, lab):
        h, sim = lab, lab.sim
        cid, ch = history_channel(h, username="lab_fail", history={"days": 2, "seed": 3})
        advance(h, HOUR)
        first = collected(h, ch, "page")
        stored = int(one(h, f"SELECT count(*) FROM channel_posts WHERE channel_id = {ch}"))
        # t.me changed its markup: the page fails with the reason, nothing
        # wrong is stored, the member count is still collected
        sim.ctl("POST", "/tme", {"mode": "markup", "username": "lab_fail"})
        bot_ok = int(one(h, f"SELECT ok_at FROM collect_sources WHERE channel_id = {ch} AND "
                            f"source = 'bot_api'"))
        advance(h, 6 * HOUR + 60000)
        collected(h, ch, "bot_api", after=bot_ok)
        err = wait_for(lambda: rows(h, f"SELECT error, error_at FROM collect_sources WHERE "
                                       f"channel_id = {ch} AND source = 'page' AND "
                                       f"error_at IS NOT NULL"), what="page failure")
        assert "markup changed" in err[0][0] or "public" in err[0][0], err
        assert int(one(h, f"SELECT count(*) FROM channel_posts WHERE channel_id = {ch}")) == \
            stored
        assert int(one(h, f"SELECT ok_at FROM collect_sources WHERE channel_id = {ch} AND "
                          f"source = 'page'")) == first
        # unreachable: HTTP 503
        sim.ctl("POST", "/tme", {"mode": "error", "status": 503})
        advance(h, 6 * HOUR + 60000)
        wait_for(lambda: "HTTP 503" in (one(h, f"SELECT error FROM collect_sources WHERE "
                                              f"channel_id = {ch} AND source = 'page'") or ""),
                 what="503 recorded")
        # the channel made private: no page, said so
        sim.ctl("POST", "/tme", {"mode": "ok"})
        sim.ctl("POST", f"/channels/{cid}/username", {"username": None})
        advance(h, 6 * HOUR + 60000)
        wait_for(lambda: "public page" in (one(h, f"SELECT error FROM collect_sources WHERE "
                                                 f"channel_id = {ch} AND source = 'page'")
                                          or ""),
                 what="private recorded")
        assert int(one(h, f"SELECT count(*) FROM metric_points WHERE channel_id = {ch} AND "
                          f"metric = 'members' AND source = 'bot_api'")) == 4


def api_session(h, uid):
    s = requests.Session()
    r = h.cli("apikey", "create", "--telegram-id", str(uid))
    assert r.returncode == 0, r.stderr
    s.headers["Authorization"] = "Bearer " + r.stdout.strip()
    return s


class TestAnalyticsWorkflow:
    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_the_api_agrees_with_the_ground_truth(self, lab):
        h, sim = lab, lab.sim
        cid, ch = history_channel(h, username="lab_api", history={
            "days": 14, "min_per_day": 3, "max_per_day": 5, "seed": 11}, members=20000)
        advance(h, HOUR)
        collected(h, ch, "page")
        collected(h, ch, "bot_api")
        s = api_session(h, OWNER)
        url = h.url(f"/api/v1/channels/{ch}/analytics/")
        truth = sim.ctl("GET", f"/channels/{cid}/audience")
        real = [p for p in truth["posts"] if not p.get("service")]

        r = s.get(url + "overview")
        assert r.status_code == 200, r.text
        o = r.json()
        assert o["subscribers"]["value"] == truth["member_count"]
        assert o["subscribers"]["source"] == "bot_api" and o["subscribers"]["as_of"]
        assert o["posts"] == len(real)
        avg = sum(p["views"] for p in real) / len(real)
        vpp = o["views_per_post"]
        assert vpp["source"] == "page" and vpp["n"] == len(real)
        # the page rounds views above 999 to a tenth of a K
        assert abs(vpp["value"] - avg) <= (50 if vpp["approx"] else 0.001), (vpp, avg)
        err = avg / truth["member_count"] * 100
        assert abs(o["err"]["value"] - err) <= 0.01 + 50 / truth["member_count"] * 100
        assert o["activity"]["status"] == "active"
        assert sum(k["posts"] for k in o["content_mix"].values()) == len(real)
        assert set(o["sources"]) == {"members", "views", "updates"}

        # ETag: the same answer is not sent twice
        tag = r.headers["ETag"]
        again = s.get(url + "overview", headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.content == b""

        posts = s.get(url + "posts", params={"top": 5}).json()
        assert posts["total"] == len(real)
        assert len(posts["posts"]) == 5
        assert posts["posts"][0]["message_id"] == max(p["message_id"] for p in real)
        best = max(real, key=lambda p: (p["views"], -p["message_id"]))
        top = posts["top_by_views"][0]
        assert abs(top["views"] - best["views"]) <= 100

        best_times = s.get(url + "best-times").json()
        assert sum(c["posts"] for c in best_times["cells"]) == len(real)
        assert all(1 <= c["weekday"] <= 7 and 0 <= c["hour"] <= 23
                   for c in best_times["cells"])

        growth = s.get(url + "growth").json()
        assert [p["subscribers"] for p in growth["series"]] == [truth["member_count"]]
        assert s.get(url + "trending").status_code == 200

        # a new collection changes the answer and its ETag
        advance(h, 6 * HOUR + 60000)
        collected(h, ch, "page", after=int(one(
            h, f"SELECT ok_at FROM collect_sources WHERE channel_id = {ch} AND "
               f"source = 'page'")) - 1)
        wait_for(lambda: s.get(url + "overview", headers={"If-None-Match": tag}).status_code
                 == 200, what="a new ETag")

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_bad_requests(self, lab):
        h, sim = lab, lab.sim
        cid, ch = history_channel(h, username="lab_api_bad")
        s = api_session(h, OWNER)
        url = h.url(f"/api/v1/channels/{ch}/analytics/")
        for params, name in (({"from": "yesterday"}, "from"), ({"to": "2026-13-01"}, "to"),
                             ({"zone": "Mars/Olympus"}, "zone"), ({"top": "0"}, "top"),
                             ({"from": "2026-01-01", "to": "2025-01-01"}, "to"),
                             ({"from": "2024-01-01", "to": "2026-01-01"}, "from")):
            r = s.get(url + "overview", params=params)
            assert r.status_code == 400, (params, r.text)
            assert r.headers["Content-Type"].startswith("application/problem+json")
            assert r.json()["parameter"] == name
        assert s.get(url + "nope").status_code == 404
        assert s.get(h.url("/api/v1/channels/999999/analytics/overview")).status_code == 404
        # another user's channel is not found
        other = api_session(h, 7999) if h.cli("user", "add", "--telegram-id", "7999",
                                              "--name", "Other").returncode == 0 else None
        assert other.get(url + "overview").status_code == 404
        assert requests.get(url + "overview").status_code == 401
        # dates in the user's zone work
        r = s.get(url + "growth", params={"from": "2026-11-01", "to": "2026-11-24"})
        assert r.status_code == 200, r.text
# ---- real-time analytics: alerts (docs/alerts.md) ----------------------------------

STEP = 6 * HOUR + 60000  # the free plan collects every 6 hours


def owner_api(h, uid=OWNER):
    from test_user_journey_workflows import api_key
    s = requests.Session()
    s.headers.update(api_key(h, uid))
    return s


def collect_job(h, ch):
    r = rows(h, f"SELECT run_at, state FROM jobs WHERE kind = 'collect' AND ref = {ch}")
    return (int(r[0][0]), r[0][1]) if r else (0, "")


def app_now(h):
    return requests.get(h.url("/test/clock"), timeout=10).json()["now_ms"]


def first_collection(h, ch):
    """Wait for the collection made when the channel was connected, alerts
    evaluated included (the job is put back at the plan's interval after)."""
    now = app_now(h)
    wait_for(lambda: collect_job(h, ch)[1] == "ready" and collect_job(h, ch)[0] > now + HOUR,
             what="first collection")


def collection(h, ch, ms=STEP):
    """Move both clocks by ms and wait until the collection that came due,
    alerts evaluated included, is done."""
    before = collect_job(h, ch)[0]
    advance(h, ms)
    wait_for(lambda: collect_job(h, ch)[1] == "ready" and collect_job(h, ch)[0] > before,
             what="collection")


def alert_events(s, h, ch):
    r = s.get(h.url(f"/api/v1/alerts/events?channel_id={ch}"))
    assert r.status_code == 200, r.text
    return r.json()["events"]


def add_rule(s, h, ch, kind, params=None):
    body = {"channel_id": ch, "kind": kind}
    if params is not None:
        body["params"] = params
    r = s.post(h.url("/api/v1/alerts"), json=body)
    assert r.status_code == 201, r.text
    return r.json()


class TestRealTimeAnalyticsWorkflow:
    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_a_view_spike_alerts_once_with_mute_and_report(self, lab):
        h, sim = lab, lab.sim
        cid, ch = history_channel(h, username="lab_spike", history={
            "days": 2, "min_per_day": 3, "max_per_day": 4, "seed": 11})
        s = owner_api(h)
        rule = add_rule(s, h, ch, "spike")
        assert rule["params"] == {"threshold": 5.0} and rule["muted"] is False
        first_collection(h, ch)
        # two days and more of collections: the detector's history; the
        # posts' views only slow down, so nothing alerts
        for _ in range(14):
            collection(h, ch)
        assert alert_events(s, h, ch) == []
        sim.quiet(OWNER)
        # a burst of 50,000 views on the newest post
        posts = [p for p in sim.ctl("GET", f"/channels/{cid}/audience")["posts"]
                 if not p.get("service")]
        mid = max(posts, key=lambda p: p["date"])["message_id"]
        sim.ctl("POST", f"/channels/{cid}/spike", {"message_id": mid, "views": 50000})
        collection(h, ch)
        m = sim.expect(OWNER, "📈 Views are spiking in “Lab News”")
        assert f"post https://t.me/lab_spike/{mid} gained " in m["text"], m["text"]
        assert [b["text"] for b in sim.buttons(m)] == ["🔕 Mute for 24 h", "📊 Open report"]
        ev = alert_events(s, h, ch)
        assert len(ev) == 1 and ev[0]["kind"] == "spike" and ev[0]["rule_id"] == rule["id"]
        assert ev[0]["sent"] is True and ev[0]["state"] == "sent"
        # the post's alert; the channel's spike at that instant is the post's
        assert ev[0]["key"].startswith(f"spike:post:{mid}:"), ev[0]
        assert ev[0]["detail"]["views"] > 40000
        # collecting again does not repeat it
        collection(h, ch)
        collection(h, ch)
        sim.quiet(OWNER)
        assert len(alert_events(s, h, ch)) == 1
        # Open report: the channel's /stats summary of the last 7 days
        sim.press(OWNER, m, "Open report")
        rep = sim.expect(OWNER, "📊 Lab News · last 7 days")
        members = int(one(h, f"SELECT value FROM metric_points WHERE channel_id = {ch} AND "
                             f"source = 'bot_api' ORDER BY measured_at DESC LIMIT 1"))
        assert f"{members:,}" in rep["text"], rep["text"]
        # Mute: the rule is muted for a day, and says until when
        sim.press(OWNER, m, "Mute")
        mm = sim.expect(OWNER, "🔕 Muted until")
        r = s.get(h.url("/api/v1/alerts")).json()["alerts"]
        assert r[0]["muted"] is True and r[0]["muted_until"] > app_now(h) + 23 * HOUR
        sim.press(OWNER, mm, "Unmute")
        sim.expect(OWNER, "🔔 Unmuted")
        assert s.get(h.url("/api/v1/alerts")).json()["alerts"][0]["muted"] is False

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_quiet_growth_and_milestone(self, lab):
        h, sim = lab, lab.sim
        cid, ch = history_channel(h, username="lab_quiet", members=5000)
        s = owner_api(h)
        first_collection(h, ch)
        # the quiet rule through /alerts in the bot; bad input changes nothing
        sim.say(OWNER, "/alerts")
        m = sim.expect(OWNER, "You have no alerts yet")
        sim.press(OWNER, m, "Add an alert")
        m = sim.expect(OWNER, "What should I tell you about “Lab News”?")
        sim.press(OWNER, m, "Channel goes quiet")
        sim.expect(OWNER, "After how many hours without a post")
        sim.say(OWNER, "soon")
        sim.expect(OWNER, "Please type a whole number of hours from 1 to 720")
        sim.say(OWNER, "0")
        sim.expect(OWNER, "Please type a whole number of hours from 1 to 720")
        assert s.get(h.url("/api/v1/alerts")).json()["alerts"] == []
        sim.say(OWNER, "24")
        sim.expect(OWNER, "✅ Alert added for “Lab News”: no post for 24 hours.")
        # the milestone through the bot, with a preset; growth through the API
        sim.say(OWNER, "/alerts")
        m = sim.expect(OWNER, "🔔 Your alerts:")
        assert "1. “Lab News”: no post for 24 hours" in m["text"]
        sim.press(OWNER, m, "Add an alert")
        m = sim.expect(OWNER, "What should I tell you about")
        sim.press(OWNER, m, "Subscribers reach a number")
        m = sim.expect(OWNER, "Which number of subscribers")
        assert "The channel has 5000 now" in m["text"], m["text"]
        assert [b["text"] for b in sim.buttons(m)][:2] == ["6000", "10000"]
        sim.say(OWNER, "5300")
        sim.expect(OWNER, "✅ Alert added for “Lab News”: subscribers reach 5300.")
        add_rule(s, h, ch, "growth", {"percent": 5, "window_hours": 24})
        kinds = sorted(a["kind"] for a in s.get(h.url("/api/v1/alerts")).json()["alerts"])
        assert kinds == ["growth", "milestone", "quiet"]
        # a day without posts: quiet, once
        collection(h, ch, 25 * HOUR)
        sim.expect(OWNER, "🔕 “Lab News” has gone quiet: no new post for 25 hours.")
        collection(h, ch)
        sim.quiet(OWNER)
        # 400 readers join: up 8 % within the day, past 5,300
        sim.ctl("POST", f"/channels/{cid}/spike", {"joins": 400})
        collection(h, ch)
        texts = [sim.expect(OWNER, "“Lab News”")["text"] for _ in range(2)]
        assert any(t.startswith("🚀 “Lab News” is growing: subscribers up ") for t in texts), texts
        assert any(t.startswith("🎉 “Lab News” has reached 5300 subscribers") for t in texts), \
            texts
        collection(h, ch)
        sim.quiet(OWNER)
        ev = alert_events(s, h, ch)
        assert sorted(e["kind"] for e in ev) == ["growth", "milestone", "quiet"]
        assert all(e["sent"] for e in ev)
        truth = sim.ctl("GET", f"/channels/{cid}/audience")
        grow = next(e for e in ev if e["kind"] == "growth")["detail"]
        assert grow["to"] <= truth["member_count"] and grow["percent"] >= 5

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_a_failed_delivery_alerts_at_once(self, lab):
        h, sim = lab, lab.sim
        cid, ch = history_channel(h, username="lab_fail_alert")
        s = owner_api(h)
        first_collection(h, ch)
        rule = add_rule(s, h, ch, "delivery")
        assert rule["params"] == {}
        # the bot may no longer post there: the post fails, and the alert
        # comes right away, not at the next collection
        sim.set_bot(cid, by=OWNER, rights={"can_edit_messages": True})
        r = s.post(h.url("/api/v1/posts"), json={"text": "Will fail", "channels": [ch]})
        assert r.status_code == 201, r.text
        # the alert, and the owner's usual notice of the failure (either first)
        got = [sim.expect(OWNER, "was not published") for _ in range(2)]
        m = next(g for g in got if g["text"].startswith("⚠️ A post to “Lab News” was not "
                                                          "published."))
        assert any(g["text"].startswith("❌ Your post to “Lab News”") for g in got)
        assert "right to post" in m["text"]
        assert [b["text"] for b in sim.buttons(m)] == ["🔕 Mute for 24 h", "📊 Open report"]
        ev = alert_events(s, h, ch)
        assert len(ev) == 1 and ev[0]["kind"] == "delivery"
        d = s.get(h.url(f"/api/v1/posts/{r.json()['id']}/deliveries")).json()["deliveries"][0]
        assert d["state"] == "failed" and ev[0]["key"] == f"delivery:{d['id']}"
        # the sweep after the next collection finds it known
        collection(h, ch)
        assert len(alert_events(s, h, ch)) == 1
        sim.quiet(OWNER)
        # the API refuses bad rules by field, and others' rules are not found
        bad = s.post(h.url("/api/v1/alerts"), json={"channel_id": ch, "kind": "quiet",
                                                     "params": {"hours": 0}})
        assert bad.status_code == 422 and bad.json()["field"] == "params.hours"
        other = requests.Session()
        other.headers["Authorization"] = "Bearer " + h.user_with_key(OWNER + 1)
        assert other.patch(h.url(f"/api/v1/alerts/{rule['id']}"),
                           json={"muted_until": None}).status_code == 404
        assert other.delete(h.url(f"/api/v1/alerts/{rule['id']}")).status_code == 404
        assert other.post(h.url("/api/v1/alerts"), json={"channel_id": ch, "kind": "quiet"}) \
            .json()["field"] == "channel_id"
        r = s.patch(h.url(f"/api/v1/alerts/{rule['id']}"), json={"muted_until": "soon"})
        assert r.status_code == 422 and r.json()["field"] == "muted_until"
        assert s.delete(h.url(f"/api/v1/alerts/{rule['id']}")).status_code == 204
        assert s.delete(h.url(f"/api/v1/alerts/{rule['id']}")).status_code == 404

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_stats_in_the_bot(self, lab):
        """/stats (docs/bot.md): the summary agrees with the ground truth, its
        chart is a PNG photo, the period buttons, best times and top posts
        work, the alerts' "Open report" button opens it, and a Russian user
        reads it in Russian."""
        h, sim = lab, lab.sim
        cid, ch = history_channel(h, username="lab_stats", history={
            "days": 14, "min_per_day": 3, "max_per_day": 5, "seed": 23}, members=12000)
        advance(h, HOUR)
        collected(h, ch, "page")
        collected(h, ch, "bot_api")
        truth = sim.ctl("GET", f"/channels/{cid}/audience")
        real = sorted((p for p in truth["posts"] if not p.get("service")),
                      key=lambda p: (p["date"], p["message_id"]))

        # the command menu and /help name it, in every language
        bot = wait_for(lambda: (lambda b: "ru" in b["commands_by_language"] and b)(
            sim.ctl("GET", "/bot")), what="command menu")
        assert "stats" in [c["command"] for c in bot["commands"]]
        assert {c["command"]: c["description"] for c in
                bot["commands_by_language"]["ru"]}["stats"] == "Статистика канала с графиком"
        sim.say(OWNER, "/help")
        sim.expect(OWNER, "/stats — a channel's statistics with a chart")

        # one channel: no channel to choose, the period first
        sim.say(OWNER, "/stats")
        m = sim.expect(OWNER, "Lab News: statistics for which period?")
        assert [b["text"] for b in sim.buttons(m)] == ["7 days", "30 days", "90 days"]
        sim.press(OWNER, m, "7 days")
        photo, summary = self.stats_reply(sim, "📊 Lab News · last 7 days")
        text = summary["text"]
        # the subscribers are the Bot API's, exactly
        assert f"👥 Subscribers: {truth['member_count']:,}\n" in text, text
        # one member count so far: no growth yet, and no made-up zero
        assert "📈 Growth: not enough data yet\n" in text
        # the period's posts are the newest ones; their views per post as the
        # page rounds them (≈ when it did)
        n = int(text.split("🗓 Posts: ")[1].split(" ")[0])
        assert 0 < n < len(real)
        week = real[-n:]
        assert week[0]["date"] * 1000 >= self.clock(h) - 7 * 24 * HOUR - 120000
        avg = sum(p["views"] for p in week) / n
        shown = text.split("👁 Views per post: ")[1].split("\n")[0]
        approx = shown.startswith("≈")
        assert abs(int(shown.lstrip("≈").replace(",", "")) - avg) <= (50.5 if approx else 0.5), \
            (shown, avg)
        assert approx == any(p["views"] >= 1000 for p in week)
        assert "≈ approximate: the public page rounds counts above 999." in text or not approx
        assert "· active\n" in text
        assert "🕒 Best time to post: " in text and "–" in text.split("🕒")[1].split("\n")[0]
        assert "🏆 Top post: " in text and "https://t.me/lab_stats/" in text
        assert "🔄 Updated " in text
        # the chart: views per day (one member count is not a line), a PNG
        assert photo["caption"].startswith("📈 Views per day · Lab News · last 7 days")
        self.assert_png(sim, photo)
        assert [b["text"] for b in sim.buttons(summary)] == \
            ["30 days", "90 days", "🕒 Best times", "🏆 Top posts"]

        # top posts: by views and by ER, with their links
        sim.press(OWNER, summary, "Top posts")
        top = sim.expect(OWNER, "🏆 Top posts of Lab News, last 7 days")["text"]
        first = top.split("By views:\n1. ")[1].split("\n")[0]
        mid = int(first.rsplit("/", 1)[1])
        best = max(p["views"] for p in week)
        assert next(p for p in week if p["message_id"] == mid)["views"] >= best - 100
        assert "\nBy ER:\n1. ER " in top
        assert top.count("https://t.me/lab_stats/") <= 10

        # best times: the heatmap as a photo
        sim.press(OWNER, summary, "Best times")
        heat, = self.photos_after(sim, summary)
        assert heat["caption"].startswith("🕒 Best times of Lab News, last 7 days.")
        assert "(Europe/London)" in heat["caption"]
        self.assert_png(sim, heat)

        # a week later, a second member count: the 30 days' chart is the
        # subscribers' line; their growth needs a count from before the period
        bot_ok = int(one(h, f"SELECT ok_at FROM collect_sources WHERE channel_id = {ch} AND "
                            f"source = 'bot_api'"))
        advance(h, 7 * 24 * HOUR + HOUR)
        collected(h, ch, "bot_api", after=bot_ok)
        truth = sim.ctl("GET", f"/channels/{cid}/audience")
        counts = [int(r[0]) for r in rows(
            h, f"SELECT value FROM metric_points WHERE channel_id = {ch} AND metric = "
               f"'members' AND source = 'bot_api' ORDER BY measured_at")]
        assert len(counts) == 2 and counts[-1] == truth["member_count"], counts
        net, rate = counts[1] - counts[0], (counts[1] - counts[0]) / counts[0] * 100
        sim.press(OWNER, summary, "30 days")
        photo, month = self.stats_reply(sim, "📊 Lab News · last 30 days")
        text = month["text"]
        assert f"👥 Subscribers: {truth['member_count']:,}\n" in text
        assert "📈 Growth: not enough data yet\n" in text, text
        assert text.split("🗓 Posts: ")[1].split(" ")[0] == str(len(real))
        assert photo["caption"].startswith("📈 Subscribers · Lab News · last 30 days")
        self.assert_png(sim, photo)
        assert [b["text"] for b in sim.buttons(month)][:2] == ["7 days", "90 days"]
        sim.press(OWNER, month, "7 days")
        photo, week = self.stats_reply(sim, "📊 Lab News · last 7 days")
        growth = week["text"].split("📈 Growth: ")[1].split("\n")[0]
        assert growth.split(" ")[0] == (f"{net:+,}" if net else "0"), (growth, net)
        # the rate with two decimals under 1 %, else one
        assert abs(float(growth.split("(")[1].rstrip("%)")) - rate) <= \
            (0.005 if abs(rate) < 1 else 0.05), (growth, rate)
        # no post in the last week: nothing built on posts, and no zeros
        assert "👁 Views per post: not enough data yet\n" in week["text"]
        assert "🗓 Posts: 0 (0.0 a day) · low activity\n" in week["text"]

        # an alert's "Open report": the 7-day summary of that channel
        sim.press(OWNER, month, data=f"1:rpt:{ch}")
        self.stats_reply(sim, "📊 Lab News · last 7 days")
        # another user's channel, or one that is not there: the stale answer
        other = 7202
        m = onboard(sim, other)
        sim.press(other, m, data=f"1:rpt:{ch}")
        sim.expect(other, "This button belongs to a step that is already finished")
        sim.press(OWNER, month, data=f"1:st:s.{ch + 1000}.7")
        sim.expect(OWNER, "This button belongs to a step that is already finished")
        sim.press(OWNER, month, data=f"1:st:s.{ch}.14")
        sim.expect(OWNER, "This button is not valid")
        # a user without channels is told how to connect one
        sim.say(other, "/stats")
        sim.expect(other, "You have no channels yet, so there are no statistics to show. "
                          "Connect one with /connect @yourchannel")

        # in Russian for a Russian user
        sim.say(OWNER, "/settings")
        sim.press(OWNER, sim.expect(OWNER, "Your settings"), "Change language")
        sim.press(OWNER, sim.expect(OWNER, "Choose your language"), "Русский")
        sim.expect(OWNER, "Язык сохранён")
        sim.say(OWNER, "/stats")
        m = sim.expect(OWNER, "Lab News: статистика за какой период?")
        assert [b["text"] for b in sim.buttons(m)] == ["7 дней", "30 дней", "90 дней"]
        sim.press(OWNER, m, "30 дней")
        photo, ru = self.stats_reply(sim, "📊 Lab News · последние 30 дней")
        text = ru["text"]
        assert f"👥 Подписчики: {truth['member_count']:,}\n".replace(",", "\u00a0") in text, text
        assert "📈 Прирост: пока мало данных\n" in text
        assert "🕒 Лучшее время для публикации: " in text
        assert "≈ приблизительно" in text or "≈" not in text
        assert "🔄 Обновлено " in text
        assert photo["caption"].startswith("📈 Подписчики · Lab News · последние 30 дней")
        assert [b["text"] for b in sim.buttons(ru)] == \
            ["7 дней", "90 дней", "🕒 Лучшее время", "🏆 Лучшие посты"]

    @staticmethod
    def clock(h):
        return requests.get(h.url("/test/clock"), timeout=10).json()["now_ms"]

    @staticmethod
    def photos_after(sim, message, timeout=15):
        """The photos the bot sent to OWNER after message, waiting for one."""
        def got():
            return [m for m in sim.sent(OWNER, after=message["message_id"]) if m.get("photo")]
        return wait_for(got, timeout=timeout, what="a photo")

    def stats_reply(self, sim, heading):
        """The summary that starts with heading and the chart sent before it."""
        summary = sim.expect(OWNER, heading)
        assert summary["text"].startswith(heading), summary["text"]
        before = [m for m in sim.sent(OWNER, after=summary["message_id"] - 2)
                  if m["message_id"] < summary["message_id"]]
        assert before and before[-1].get("photo"), before
        return before[-1], summary

    @staticmethod
    def assert_png(sim, message):
        size = message["photo"][-1]
        r = requests.get(f"{sim.base}/control/files/{size['file_id']}", timeout=10)
        assert r.status_code == 200
        assert r.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert r.headers["Content-Type"] == "image/png"
        assert (size["width"], size["height"]) == (1000, 560)
        assert size["file_size"] == len(r.content) > 5000
