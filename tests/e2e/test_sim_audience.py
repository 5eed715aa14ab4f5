"""The simulator's audience model and public channel page (`herald sim`,
docs/simulator.md, "Audience" and "The public page").

One simulator process serves the module; every test starts from
POST /control/reset with Telegram's clock frozen, so the numbers only move
when a test moves the clock. Tests read the ground truth
(GET /control/channels/{id}/audience), the page /s/<username> as a scraper
would (by t.me's classes), and the Bot API's getUpdates, and compare them.
"""
import datetime
import html.parser
import math
import time

import pytest
import requests

from conftest import Sim, assert_no_sanitizer_report

TOKEN = "123456789:SIMTOKEN-audience"
OWNER = 5550001
HOUR, DAY = 3600, 86400
ALL_RIGHTS = {"can_post_messages": True, "can_edit_messages": True,
              "can_delete_messages": True, "can_invite_users": True}


# ---- reading the page as a scraper does ----

class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children = []

    @property
    def classes(self):
        return (self.attrs.get("class") or "").split()

    def walk(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.walk()

    def all(self, cls=None, tag=None):
        return [n for n in self.walk()
                if (cls is None or cls in n.classes) and (tag is None or n.tag == tag)]

    def one(self, cls=None, tag=None):
        found = self.all(cls, tag)
        assert len(found) == 1, (cls, tag, len(found))
        return found[0]

    def maybe(self, cls=None, tag=None):
        found = self.all(cls, tag)
        return found[0] if found else None

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def own_text(self):
        return "".join(c for c in self.children if isinstance(c, str))


class Dom(html.parser.HTMLParser):
    VOID = {"meta", "link", "br", "img", "input", "hr"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in self.VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse_count(text):
    """'987', '1.2K', '3.5M' -> the interval of exact counts it stands for
    (the page rounds half up to one decimal)."""
    text = text.strip()
    if text[-1] in "KM":
        unit = 1000 if text[-1] == "K" else 1000000
        v = round(float(text[:-1]) * 10)
        return (v * unit - unit // 2) // 10, (v * unit + unit // 2) // 10 - 1
    return int(text), int(text)


def within(text, exact):
    lo, hi = parse_count(text)
    return lo <= exact <= hi


def page_posts(dom):
    """{message_id: the post's node} of one page (a Dom or a Node), in page
    order."""
    out = {}
    for n in getattr(dom, "root", dom).all("tgme_widget_message"):
        channel, mid = n.attrs["data-post"].split("/")
        out[int(mid)] = n
    return out


# ---- the simulator ----

@pytest.fixture(scope="module")
def sim_proc(tmp_path_factory):
    s = Sim(str(tmp_path_factory.mktemp("sim")), token=TOKEN).start()
    yield s
    rc = s.stop()
    assert_no_sanitizer_report(s.logtext(), "herald sim")
    assert rc == 0, s.logtext()[-3000:]


@pytest.fixture
def sim(sim_proc):
    sim_proc.ctl("POST", "/reset", {})
    sim_proc.ctl("POST", "/rate_limits", {"enabled": False})
    sim_proc.ctl("POST", "/clock", {"freeze": True})
    sim_proc.ctl("POST", "/users", {"id": OWNER, "first_name": "Owner"})
    return sim_proc


def bot(sim, method, **params):
    r = requests.post(f"{sim.base}/bot{TOKEN}/{method}", json=params, timeout=30)
    body = r.json()
    assert r.status_code == 200 and body["ok"], (method, body)
    return body["result"]


def channel(sim, username="news_room", members=10000, **extra):
    body = {"title": "News Room", "creator_id": OWNER, "member_count": members,
            "description": "Daily news"}
    if username:
        body["username"] = username
    body.update(extra)
    return sim.ctl("POST", "/channels", body)["chat"]["id"]


def admin_bot(sim, cid):
    sim.ctl("POST", f"/channels/{cid}/bot", {"by": OWNER, "status": "administrator",
                                              "rights": ALL_RIGHTS})


def advance(sim, seconds):
    return sim.ctl("POST", "/clock", {"advance_s": seconds})


def truth(sim, cid):
    return sim.ctl("GET", f"/channels/{cid}/audience")


def posts_of(t):
    return {p["message_id"]: p for p in t["posts"]}


def page(sim, name, **query):
    r = requests.get(f"{sim.base}/s/{name}", params=query, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    return Dom(r.text), r.text


def curve(age, tau, tail):
    if age <= 0:
        return 0.0
    x, y = age / tau, age / tail
    return 0.8 * (1 - (1 + x) * math.exp(-x)) + 0.2 * (1 - math.exp(-y))


# ---- the model ----

def test_views_grow_as_the_clock_moves_and_never_go_down(sim):
    cid = channel(sim)
    posted = sim.ctl("POST", "/clock", {"advance_s": 0})["now"]
    sim.ctl("POST", f"/channels/{cid}/posts", {"text": "hello"})
    sim.ctl("POST", f"/channels/{cid}/posts", {"photo": True, "caption": "a picture"})
    t0 = truth(sim, cid)
    assert [(p["views"], p["views_24h"], p["views_48h"]) for p in t0["posts"]] == \
        [(0, None, None)] * 2
    assert [p["kind"] for p in t0["posts"]] == ["text", "photo"]
    before = {mid: 0 for mid in (1, 2)}
    for step in (60, 600, HOUR, 2 * HOUR, 6 * HOUR, 15 * HOUR - 660, DAY, DAY, 5 * DAY):
        advance(sim, step)
        t = truth(sim, cid)
        age = t["now"] - posted
        for p in t["posts"]:
            assert p["views"] >= before[p["message_id"]], (age, p)
            if age >= 600:
                assert p["views"] > before[p["message_id"]], f"no growth at age {age}: {p}"
            # the documented curve: floor(peak * G(age)), peak shown rounded
            want = p["peak"] * curve(age, p["tau_s"], p["tail_s"])
            assert abs(p["views"] - want) <= 1 + p["peak"] * 0.001, (age, p, want)
            assert p["forwards"] <= p["views"] and p["reactions_total"] <= p["views"]
            assert p["reactions_total"] == sum(r["count"] for r in p["reactions"])
            before[p["message_id"]] = p["views"]
            if age == DAY:
                assert p["views_24h"] == p["views"]
        if age < DAY:
            assert all(p["views_24h"] is None for p in t["posts"])
    # a week on: the wave is over, most of the peak is there, 24 h < 48 h < now
    for p in t["posts"]:
        assert p["views_24h"] < p["views_48h"] < p["views"] < p["peak"]
        assert 0.95 * p["peak"] < p["views"]
        # reach: about 0.35 of 10000 subscribers, times the post's factors
        assert 0.35 * 10000 * 0.7 <= p["peak"] <= 0.35 * 10000 * 1.3 * 1.15


def test_the_same_seed_gives_the_same_numbers(sim):
    a = channel(sim, "chan_a", members=20000)
    b = channel(sim, "chan_b", members=20000)
    c = channel(sim, "chan_c", members=20000)
    for cid in (a, b):
        sim.ctl("POST", f"/channels/{cid}/audience", {"seed": 42})
    sim.ctl("POST", f"/channels/{c}/audience", {"seed": 43})
    for cid in (a, b, c):
        for text in ("one", "two", "three"):
            sim.ctl("POST", f"/channels/{cid}/posts", {"text": text})
    advance(sim, 2 * DAY + 5)
    ta, tb, tc = truth(sim, a), truth(sim, b), truth(sim, c)

    def numbers(t):
        return [(p["views"], p["forwards"], p["reactions"]) for p in t["posts"]]

    assert numbers(ta) == numbers(tb)
    assert (ta["joins"], ta["leaves"]) == (tb["joins"], tb["leaves"])
    assert numbers(ta) != numbers(tc)
    assert ta["config"]["seed"] == 42


def test_member_count_is_initial_plus_joins_minus_leaves(sim):
    cid = channel(sim, members=5000)
    admin_bot(sim, cid)
    t = truth(sim, cid)
    assert (t["member_count"], t["initial_member_count"], t["joins"], t["leaves"]) == \
        (5000, 5000, 0, 0)
    seen = []
    for _ in range(6):
        advance(sim, 12 * HOUR)
        t = truth(sim, cid)
        assert t["member_count"] == t["initial_member_count"] + t["joins"] - t["leaves"]
        assert bot(sim, "getChatMemberCount", chat_id=cid) == t["member_count"]
        assert sim.ctl("GET", f"/channels/{cid}")["member_count"] == t["member_count"]
        seen.append(t["member_count"])
    # three days at 1.2% in and 0.5% out a day: about +105
    assert t["joins"] > 100 and t["leaves"] > 30 and 40 < seen[-1] - 5000 < 200, t
    assert sum(d["joins"] for d in t["days"]) == t["joins"]
    assert sum(d["leaves"] for d in t["days"]) == t["leaves"]
    assert t["days"][-1]["member_count"] == t["member_count"]
    # setting the count moves the base; the sum still holds
    sim.ctl("POST", f"/channels/{cid}/member_count", {"count": 7000})
    t = truth(sim, cid)
    assert t["member_count"] == 7000 == t["initial_member_count"] + t["joins"] - t["leaves"]
    # a join spike
    r = sim.ctl("POST", f"/channels/{cid}/spike", {"joins": 300, "leaves": 20})
    assert r["member_count"] == 7280 and r["joins"] == t["joins"] + 300
    assert bot(sim, "getChatMemberCount", chat_id=cid) == 7280


def test_a_spike_shows_in_the_ground_truth_and_on_the_page(sim):
    cid = channel(sim, members=3000)
    for text in ("calm", "about to go viral", "calm again"):
        sim.ctl("POST", f"/channels/{cid}/posts", {"text": text})
    advance(sim, 2 * DAY)
    t0 = posts_of(truth(sim, cid))
    r = sim.ctl("POST", f"/channels/{cid}/spike", {"message_id": 2, "views": 50000})
    assert r["post"]["views"] == t0[2]["views"] + 50000
    assert r["post"]["spikes"] == [{"at": r["now"], "views": 50000, "duration_s": 0}]
    t1 = posts_of(truth(sim, cid))
    assert t1[1]["views"] == t0[1]["views"] and t1[3]["views"] == t0[3]["views"]
    # reactions and forwards follow the views
    assert t1[2]["forwards"] > t0[2]["forwards"]
    assert t1[2]["reactions_total"] > t0[2]["reactions_total"]
    dom, _ = page(sim, "news_room")
    views = {mid: n.one("tgme_widget_message_views").text()
             for mid, n in page_posts(dom).items()}
    assert within(views[2], t1[2]["views"]) and views[2].endswith("K")
    assert within(views[1], t1[1]["views"])
    # a factor, spread over an hour: half of it after half an hour
    r = sim.ctl("POST", f"/channels/{cid}/spike",
                {"message_id": 1, "factor": 3, "duration_s": 3600})
    added = r["post"]["spikes"][0]["views"]
    assert added == round(t1[1]["views"] * 2) and r["post"]["views"] == t1[1]["views"]
    advance(sim, 1800)
    mid = posts_of(truth(sim, cid))[1]["views"]
    assert t1[1]["views"] + added // 2 <= mid <= t1[1]["views"] + added // 2 + 5
    advance(sim, 1800)
    assert posts_of(truth(sim, cid))[1]["views"] >= t1[1]["views"] + added
    # bad spikes
    for body, status in (({"message_id": 99, "views": 5}, 404), ({"message_id": 1}, 400),
                         ({"views": 5}, 400), ({"message_id": 1, "views": -5}, 400),
                         ({"message_id": 1, "factor": 0.5}, 400), ({}, 400),
                         ({"leaves": 10 ** 6}, 409)):
        r = requests.post(f"{sim.base}/control/channels/{cid}/spike", json=body, timeout=10)
        assert r.status_code == status, (body, r.text)


# ---- updates ----

def kinds(updates):
    return sorted({k for u in updates for k in u if k != "update_id"})


def test_member_and_reaction_updates_only_when_asked_for(sim):
    cid = channel(sim, members=5000)
    admin_bot(sim, cid)
    assert bot(sim, "getUpdates", timeout=0)  # my_chat_member
    ups = bot(sim, "getUpdates", offset=10 ** 6)
    sim.ctl("POST", f"/channels/{cid}/posts", {"text": "first"})
    advance(sim, 6 * HOUR)
    sim.ctl("POST", f"/channels/{cid}/spike", {"joins": 5})
    ups = bot(sim, "getUpdates")
    # the default leaves chat_member and message_reaction_count out
    assert kinds(ups) == ["channel_post"], ups
    bot(sim, "getUpdates", offset=ups[-1]["update_id"] + 1,
        allowed_updates=["chat_member", "message_reaction_count"])
    t0 = truth(sim, cid)
    advance(sim, 2 * HOUR)
    r = sim.ctl("POST", f"/channels/{cid}/spike", {"joins": 3, "leaves": 1})
    assert r["chat_member_updates_queued"] == 4
    ups = bot(sim, "getUpdates")
    t1 = truth(sim, cid)
    assert kinds(ups) == ["chat_member", "message_reaction_count"], kinds(ups)
    members = [u["chat_member"] for u in ups if "chat_member" in u]
    joined = [m for m in members if m["new_chat_member"]["status"] == "member"]
    left = [m for m in members if m["new_chat_member"]["status"] == "left"]
    assert len(joined) - len(left) == t1["member_count"] - t0["member_count"]
    assert len(members) == t1["chat_member_updates"] - t0["chat_member_updates"]
    for m in members:
        assert m["chat"]["id"] == cid and m["from"] == m["new_chat_member"]["user"]
        assert m["old_chat_member"]["status"] in ("left", "member")
        assert m["old_chat_member"]["user"]["id"] == m["new_chat_member"]["user"]["id"]
    [rc] = [u["message_reaction_count"] for u in ups if "message_reaction_count" in u]
    post = posts_of(t1)[1]
    assert rc["chat"]["id"] == cid and rc["message_id"] == 1 and rc["date"] == t1["now"]
    assert rc["reactions"] == [{"type": {"type": "emoji", "emoji": r["emoji"]},
                                "total_count": r["count"]}
                               for r in post["reactions"] if r["count"]]
    # nothing changed: nothing new; then a bounded step for a long move
    bot(sim, "getUpdates", offset=ups[-1]["update_id"] + 1)
    assert bot(sim, "getUpdates") == []
    advance(sim, 30 * DAY)
    ups = bot(sim, "getUpdates", limit=100)
    t2 = truth(sim, cid)
    n_members = t2["chat_member_updates"] - t1["chat_member_updates"]
    assert n_members == 50 and t2["chat_member_updates_skipped"] > 1000, t2
    assert len(bot(sim, "getUpdates", offset=ups[0]["update_id"], limit=100)) <= 51


def test_no_member_or_reaction_updates_without_admin_rights(sim):
    cid = channel(sim, members=20000)
    bot(sim, "getUpdates", allowed_updates=["chat_member", "message_reaction_count"])
    sim.ctl("POST", f"/channels/{cid}/posts", {"text": "first"})
    advance(sim, DAY)
    sim.ctl("POST", f"/channels/{cid}/spike", {"joins": 3})
    assert bot(sim, "getUpdates") == []
    assert truth(sim, cid)["joins"] > 3


# ---- the page ----

def test_the_page_shows_the_ground_truth(sim):
    cid = channel(sim, members=12345)
    sim.ctl("POST", f"/channels/{cid}/history", {"days": 6, "seed": 7})
    admin_bot(sim, cid)
    sent = bot(sim, "sendMessage", chat_id="@news_room", parse_mode="HTML",
               text="<b>Bold</b> &amp; <a href=\"https://example.org\">link</a>\nline two")
    bot(sim, "editMessageText", chat_id=cid, message_id=sent["message_id"], parse_mode="HTML",
        text="<b>Bold</b> &amp; <i>edited</i>\nline two")
    advance(sim, 3 * HOUR)
    t = truth(sim, cid)
    posts = posts_of(t)
    dom, raw = page(sim, "news_room")
    info = dom.root.one("tgme_channel_info")
    assert info.one("tgme_channel_info_header_title").text() == "News Room"
    assert info.one("tgme_channel_info_header_username").one(tag="a").text() == "@news_room"
    assert info.one("tgme_channel_info_description").text() == "Daily news"
    counters = {c.one("counter_type").text(): c.one("counter_value").text()
                for c in info.all("tgme_channel_info_counter")}
    assert within(counters["subscribers"], t["member_count"])
    photos = sum(1 for p in t["posts"] if p["kind"] == "photo" and not p["deleted"])
    assert counters.get("photos", "0") == str(photos)
    history = dom.root.one("tgme_channel_history", tag="section")
    shown = page_posts(history)
    assert len(shown) == 20 and max(shown) == sent["message_id"]
    assert list(shown) == sorted(shown)  # newest last
    for mid, n in shown.items():
        p = posts[mid]
        assert n.attrs["data-post"] == f"news_room/{mid}"
        assert n.parent.classes[0] == "tgme_widget_message_wrap"
        if p["service"]:
            assert "service_message" in n.classes
            continue
        assert within(n.one("tgme_widget_message_views").text(), p["views"]), (mid, p)
        stamp = n.one("tgme_widget_message_date").one(tag="time").attrs["datetime"]
        assert stamp == datetime.datetime.fromtimestamp(
            p["date"], datetime.timezone.utc).isoformat()
        assert stamp.endswith("+00:00")
        link = n.one("tgme_widget_message_date").attrs["href"]
        assert link == f"https://t.me/news_room/{mid}"
        meta = n.one("tgme_widget_message_meta")
        assert ("edited" in meta.own_text()) == p["edited"], (mid, p)
        shown_reactions = {}
        for r in n.all("tgme_reaction"):
            shown_reactions[r.one(tag="b").text()] = r.own_text()
        want = {r["emoji"]: r["count"] for r in p["reactions"] if r["count"]}
        assert shown_reactions.keys() == want.keys(), (mid, shown_reactions, want)
        for emoji, count in want.items():
            assert within(shown_reactions[emoji], count)
        media = {"photo": "tgme_widget_message_photo_wrap",
                 "video": "tgme_widget_message_video_player",
                 "document": "tgme_widget_message_document_wrap",
                 "poll": "tgme_widget_message_poll"}
        for kind, cls in media.items():
            assert (n.maybe(cls) is not None) == (p["kind"] == kind), (mid, kind)
    mine = shown[sent["message_id"]]
    body = mine.one("tgme_widget_message_text")
    assert body.text() == "Bold & editedline two"
    assert "<b>Bold</b> &amp; <i>edited</i><br/>line two" in raw
    assert "edited" in mine.one("tgme_widget_message_meta").own_text()
    # the whole history at once: every post, the counters in range
    assert t["member_count"] == t["initial_member_count"] + t["joins"] - t["leaves"]


def test_pagination_covers_every_post_exactly_once(sim):
    cid = channel(sim, members=800)
    sim.ctl("POST", f"/channels/{cid}/history", {"days": 14, "seed": 3})
    admin_bot(sim, cid)
    bot(sim, "deleteMessage", chat_id=cid, message_id=5)
    t = truth(sim, cid)
    want = [p["message_id"] for p in t["posts"] if not p["deleted"]]
    assert len(want) > 40 and 5 not in want
    seen, pages, query = [], 0, {}
    while True:
        dom, _ = page(sim, "news_room", **query)
        ids = list(page_posts(dom))
        assert 0 < len(ids) <= 20 and ids == sorted(ids)
        seen = ids + seen
        pages += 1
        more = [a for a in dom.root.all("tme_messages_more") if "data-before" in a.attrs]
        prev = [n for n in dom.root.all(tag="link") if n.attrs.get("rel") == "prev"]
        if not more:
            assert not prev and ids[0] == want[0] == 1
            assert "service_message" in page_posts(dom)[1].classes
            assert page_posts(dom)[1].text() == "Channel created"
            break
        before = more[0].attrs["data-before"]
        assert int(before) == ids[0]
        assert prev[0].attrs["href"] == f"/s/news_room?before={before}"
        assert more[0].attrs["href"] == f"/s/news_room?before={before}"
        query = {"before": before}
    assert seen == want, "each post once, none missing"
    assert pages == math.ceil(len(want) / 20)
    # and forward from the oldest with ?after=
    seen, query = [], {"after": 0}
    while True:
        dom, _ = page(sim, "news_room", **query)
        ids = list(page_posts(dom))
        seen += ids
        nxt = [a for a in dom.root.all("tme_messages_more") if "data-after" in a.attrs]
        if not nxt:
            break
        assert int(nxt[0].attrs["data-after"]) == ids[-1]
        query = {"after": ids[-1]}
    assert seen == want


def test_history_writes_weeks_of_posts_fast(sim):
    cid = channel(sim, members=1250)
    t0 = time.monotonic()
    r = sim.ctl("POST", f"/channels/{cid}/history", {"days": 28})
    elapsed = time.monotonic() - t0
    assert elapsed < 1.0, elapsed  # tens of ms in a release build
    t = truth(sim, cid)
    posts = [p for p in t["posts"] if not p["service"]]
    assert r["posts"] == len(posts) and 3 * 27 <= len(posts) <= 5 * 29
    assert t["posts"][0]["service"] and t["posts"][0]["date"] == t["start"]
    assert t["start"] == t["now"] - 28 * DAY
    assert {p["kind"] for p in posts} >= {"text", "photo", "video"}
    dates = [p["date"] for p in t["posts"]]
    assert dates == sorted(dates) and dates[-1] < t["now"]
    for p in posts:
        hour = (p["date"] % DAY) // HOUR
        assert 8 <= hour < 22
        age = t["now"] - p["date"]
        assert (p["views_24h"] is None) == (age < DAY)
        # a post of the last minutes may have no view yet (the day's last
        # post can be just before now, depending on the time of day)
        assert p["views"] > 0 or age < HOUR, (p, age)
    old = [p for p in posts if t["now"] - p["date"] > 7 * DAY]
    assert all(p["views_24h"] < p["views_48h"] <= p["views"] for p in old)
    assert any(p["edited"] for p in posts)
    # subscribers then and now: joins and leaves add up, about 1250 today
    assert t["member_count"] == t["initial_member_count"] + t["joins"] - t["leaves"]
    assert t["initial_member_count"] < 1250 * 0.9 and 1150 < t["member_count"] < 1350
    assert len(t["days"]) in (28, 29)
    # no updates for the past, and only an empty channel has one
    assert t["chat_member_updates"] == t["message_reaction_count_updates"] == 0
    r = requests.post(f"{sim.base}/control/channels/{cid}/history", json={}, timeout=10)
    assert r.status_code == 409
    for body in ({"days": 0}, {"days": 400}, {"min_per_day": 5, "max_per_day": 2}):
        r = requests.post(f"{sim.base}/control/channels/{cid}/history", json=body, timeout=10)
        assert r.status_code == 400, body


def test_failure_switches(sim):
    channel(sim, "first_one", members=100)
    cid2 = channel(sim, "second_one", members=100)
    sim.ctl("POST", f"/channels/{cid2}/posts", {"text": "hi"})
    url = f"{sim.base}/s/first_one"
    assert requests.get(url, timeout=10).status_code == 200
    # an error for two pages, then the page again
    sw = sim.ctl("POST", "/tme", {"mode": "error", "status": 503, "count": 2})
    assert sw["mode"] == "error" and sw["remaining"] == 2
    assert [requests.get(url, timeout=10).status_code for _ in range(3)] == [503, 503, 200]
    assert sim.ctl("GET", "/tme")["mode"] == "ok"
    # the connection dropped without an answer
    sim.ctl("POST", "/tme", {"mode": "close"})
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=10)
    # slow
    sim.ctl("POST", "/tme", {"mode": "hang", "hang_ms": 1500, "count": 1})
    with pytest.raises(requests.Timeout):
        requests.get(url, timeout=0.5)
    t0 = time.monotonic()
    assert requests.get(url, timeout=10).status_code == 200
    assert time.monotonic() - t0 < 1.0
    # t.me changed its markup: the classes a scraper looks for are gone
    sim.ctl("POST", "/tme", {"mode": "markup", "username": "second_one"})
    r = requests.get(f"{sim.base}/s/second_one", timeout=10)
    assert r.status_code == 200
    dom = Dom(r.text)
    assert not dom.root.all("tgme_widget_message_views") and not dom.root.all(
        "tgme_channel_history")
    assert dom.root.all("tgmx_widget_message_views")
    # only that channel's page
    assert Dom(requests.get(url, timeout=10).text).root.all("tgme_channel_history")
    sim.ctl("POST", "/tme", {"mode": "ok"})
    assert Dom(requests.get(f"{sim.base}/s/second_one", timeout=10).text).root.all(
        "tgme_widget_message_views")
    assert sim.ctl("GET", "/tme")["requests"] >= 10
    for body in ({"mode": "nope"}, {"mode": "error", "status": 200}, {"mode": "hang",
                                                                      "hang_ms": -1},
                 {"mode": "error", "count": 0}, {}):
        r = requests.post(f"{sim.base}/control/tme", json=body, timeout=10)
        assert r.status_code == 400, body


def test_a_private_channel_has_no_page(sim):
    cid = channel(sim, username=None, members=500)
    sim.ctl("POST", f"/channels/{cid}/posts", {"text": "secret"})
    public = channel(sim, "open_room", members=500)
    sim.ctl("POST", f"/channels/{public}/posts", {"text": "open"})
    for name in ("nobody_here", "open_room_x"):
        dom, raw = page(sim, name)
        assert not dom.root.all("tgme_channel_history")
        assert not dom.root.all("tgme_widget_message") and f"@{name}" in raw
    dom, _ = page(sim, "open_room")
    assert len(page_posts(dom)) == 1
    # made private: the name is gone, and the page with it
    sim.ctl("POST", f"/channels/{public}/username", {"username": None})
    dom, _ = page(sim, "open_room")
    assert not dom.root.all("tgme_channel_history")
    assert "username" not in sim.ctl("GET", f"/channels/{public}")["chat"]
    # public again under a new name
    sim.ctl("POST", f"/channels/{public}/username", {"username": "open_room2"})
    dom, _ = page(sim, "open_room2")
    assert len(page_posts(dom)) == 1
    r = requests.post(f"{sim.base}/control/channels/{public}/username",
                      json={"username": "x"}, timeout=10)
    assert r.status_code == 400


def test_the_demo_clock_moves_telegram_and_the_views(sim):
    cid = channel(sim, members=4000)
    sim.ctl("POST", f"/channels/{cid}/posts", {"text": "news"})
    before = sim.ctl("GET", "/clock")
    views = truth(sim, cid)["posts"][0]["views"]
    adv = sim.ctl("POST", "/demo/advance", {"days": 1})
    assert adv["herald"] is None
    assert adv["telegram"]["now"] == before["now"] + DAY
    after = truth(sim, cid)
    assert after["now"] == before["now"] + DAY and after["posts"][0]["views"] > views
    assert sim.ctl("GET", "/demo/clock")["telegram"]["now"] == after["now"]
    # a message posted now carries Telegram's time
    m = sim.ctl("POST", f"/channels/{cid}/posts", {"text": "later"})["message"]
    assert m["date"] == after["now"]
    for body in ({}, {"advance_s": -1}, {"advance_s": "5"}, {"freeze": "yes"}):
        r = requests.post(f"{sim.base}/control/clock", json=body, timeout=10)
        assert r.status_code == 400, body
