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
