"""`herald demo`, what `make run` starts: the simulator in the same process
with its web chat, and Herald on a fresh SQLite file. The tests do what a
newcomer does on the web chat page (the page's calls are the simulator's
control API) and with the README: start the bot, add it to the demo channel,
connect it, write a post with /post and watch it appear in the channel; buy a
plan with Payme on the simulator's page, move the demo's time to the
reminder and the grace period, pay again with Click, and refund it as the
admin the demo user is.
"""
import os
import signal
import sqlite3
import subprocess
import time

import pytest
import requests

import servers
from conftest import BIN, Sim, assert_no_sanitizer_report, base_env

DEMO_USER = 5550001  # the demo user's fixed Telegram id (src/main.c)
DAY = 24 * 3600 * 1000


class Demo:
    """A running `herald demo`: sim (the simulator's control API helpers),
    base (Herald's URL), db (the demo's SQLite file)."""

    def __init__(self, tmp_path):
        self.tmp_path = str(tmp_path)
        sim_port, port = servers.free_port(), servers.free_port()
        self.env = base_env()
        self.env["HERALD_LISTEN"] = f"127.0.0.1:{port}"
        self.base = f"http://127.0.0.1:{port}"
        self.db = os.path.join(self.tmp_path, "herald-demo.db")
        self.logpath = os.path.join(self.tmp_path, "demo.log")
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen([BIN, "demo", "--sim-listen", f"127.0.0.1:{sim_port}"],
                                     env=self.env, cwd=self.tmp_path, stdout=self.log,
                                     stderr=self.log)
        self.sim = Sim(self.tmp_path)
        self.sim.port, self.sim.base = sim_port, f"http://127.0.0.1:{sim_port}"
        deadline = time.monotonic() + 20
        while True:
            assert self.proc.poll() is None, "herald demo exited:\n" + self.logtext()
            try:
                if requests.get(self.base + "/readyz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "the demo did not start:\n" + self.logtext()
            time.sleep(0.1)

    def logtext(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=30)
        self.log.close()
        text = self.logtext()
        assert_no_sanitizer_report(text, "herald demo")
        assert rc == 0, text[-4000:]

    def sql(self, query):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()

    def clock(self):
        return requests.get(self.base + "/test/clock", timeout=5).json()


@pytest.fixture
def demo(tmp_path):
    d = Demo(tmp_path)
    try:
        yield d
    finally:
        d.stop()


def start(sim, uid):
    """/start: language and zone, as on the page."""
    sim.say(uid, "/start")
    sim.press(uid, sim.expect(uid, "Welcome to Herald!"), "English")
    sim.press(uid, sim.expect(uid, "Choose your time zone."), "London")
    sim.expect(uid, "Time zone set: Europe/London")


def wait_for(cond, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"{what} not met in {timeout} s"
        time.sleep(0.1)


def test_newcomer_schedules_a_post_in_the_demo(demo):
    sim = demo.sim
    page = requests.get(sim.base + "/", timeout=5)
    assert page.status_code == 200 and "/control/demo" in page.text
    d = sim.ctl("GET", "/demo")
    uid, chat = d["user_id"], d["channel_id"]
    start(sim, uid)
    # "Add the bot as admin" on the page, then Connect in the chat
    sim.set_bot(chat, uid, rights={"can_post_messages": True, "can_edit_messages": True,
                                   "can_delete_messages": True})
    sim.press(uid, sim.expect(uid, "You made me an administrator"), "Connect")
    sim.expect(uid, "✅ Connected “Herald Demo Channel”!")
    # /post, published now
    sim.say(uid, "/post")
    sim.expect(uid, "Send me the post")
    sim.ctl("POST", f"/users/{uid}/messages",
            {"text": "Hello from the demo", "entities": [
                {"type": "bold", "offset": 0, "length": 5}]})
    sim.press(uid, sim.expect(uid, "Add link buttons"), "No buttons")
    sim.press(uid, sim.expect(uid, "When should I publish it?"), "Now")
    sim.press(uid, sim.expect(uid, "Ready to publish."), "Schedule")
    sim.expect(uid, "✅")
    deadline = time.monotonic() + 20
    while True:
        msgs = sim.ctl("GET", f"/chats/{chat}/messages", wait_ms=2000)["messages"]
        if msgs:
            break
        assert time.monotonic() < deadline, "nothing appeared in the demo channel"
    assert [m["text"] for m in msgs] == ["<b>Hello</b> from the demo"]


def pay_on_page(url):
    """What the payer does in the tab the bot's or the API's link opens:
    the provider's page, then Pay."""
    page = requests.get(url, timeout=30)
    assert page.status_code == 200, page.text
    assert 'name="do" value="pay"' in page.text, page.text
    done = requests.post(url, data={"do": "pay"}, timeout=60)
    assert done.status_code == 200, done.text
    return page.text, done.text


def test_newcomer_buys_renews_and_refunds_a_plan_in_the_demo(demo):
    sim = demo.sim
    d = sim.ctl("GET", "/demo")
    assert d["user_id"] == DEMO_USER and d["herald_url"] == demo.base
    uid = d["user_id"]
    start(sim, uid)
    # the README's way to the API: a key for the demo user
    r = subprocess.run([BIN, "apikey", "create", "--telegram-id", str(uid)],
                       env=dict(demo.env, HERALD_DATABASE="herald-demo.db"), cwd=demo.tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    api = requests.Session()
    api.headers["Authorization"] = "Bearer " + r.stdout.strip()

    def url(path):
        return demo.base + path

    def current():
        r = api.get(url("/api/v1/subscriptions/current"))
        assert r.status_code == 200, r.text
        return r.json()

    def notices():
        return [k for (k,) in demo.sql(
            "SELECT kind FROM billing_notices WHERE user_id = (SELECT id FROM users WHERE "
            f"telegram_id = {uid}) ORDER BY id")]

    # the demo's settings offer Payme and Click (through the simulator)
    plans = requests.get(url("/api/v1/plans"), timeout=5).json()
    assert {"payme", "click"} <= {p["id"] for p in plans["providers"]}

    # buy pro with Payme: the pay_url is the simulator's Payme page
    r = api.post(url("/api/v1/subscriptions"), json={"plan": "pro", "provider": "payme"})
    assert r.status_code == 201, r.text
    co = r.json()
    assert co["pay_url"].startswith(sim.base + "/payme/"), co
    page, done = pay_on_page(co["pay_url"])
    assert "120000.00" in page
    assert "Payment complete" in done, done
    cur = current()
    assert (cur["plan"], cur["subscription"]["state"], cur["subscription"]["provider"]) == \
        ("pro", "active", "payme")
    end = cur["subscription"]["current_period_end"]
    assert notices() == ["activated"]

    # Time: 28 days on, every clock together
    before = sim.ctl("GET", "/demo/clock")
    adv = sim.ctl("POST", "/demo/advance", {"days": 28})
    assert adv["days"] == 28
    moved = adv["herald"]["now_ms"] - before["herald"]["now_ms"]
    assert 28 * DAY <= moved < 28 * DAY + 60000
    assert adv["now_ms"] == adv["herald"]["now_ms"]
    assert demo.clock()["offset_ms"] == before["herald"]["offset_ms"] + 28 * DAY
    for p in ("payme", "click"):
        assert adv[p]["offset_ms"] == before[p]["offset_ms"] + 28 * DAY, p
    assert adv["stripe"]["offset_s"] == before["stripe"]["offset_s"] + 28 * 86400
    # a month is 28 to 31 days: three days before its end or less, a reminder
    wait_for(lambda: "reminder" in notices(), what="the reminder")
    assert current()["subscription"]["state"] in ("active", "past_due")
    # three days more: the period ended unpaid, the plan holds for the grace
    sim.ctl("POST", "/demo/advance", {"days": 3})
    wait_for(lambda: current()["subscription"]["state"] == "past_due", what="past_due")
    cur = current()
    assert cur["plan"] == "pro" and cur["subscription"]["grace_until"] == end + 3 * DAY
    assert notices()[-1] == "past_due"

    # pay again, with Click on its page: a new period from now
    r = api.post(url("/api/v1/subscriptions"), json={"plan": "pro", "provider": "click"})
    assert r.status_code == 201, r.text
    co2 = r.json()
    assert co2["pay_url"].startswith(sim.base + "/click/services/pay?"), co2
    page, done = pay_on_page(co2["pay_url"])
    assert "120000.00" in page
    cur = current()
    sub = cur["subscription"]
    assert (cur["plan"], sub["state"], sub["provider"]) == ("pro", "active", "click")
    now = demo.clock()["now_ms"]
    assert sub["current_period_start"] <= now < sub["current_period_end"]
    assert sub["current_period_end"] >= end + 27 * DAY
    [paid] = [p for p in api.get(url("/api/v1/payments")).json()["payments"]
              if p["provider"] == "click"]
    assert (paid["kind"], paid["status"]) == ("payment", "succeeded")

    # the demo user is the operator's admin: refund it; Click reverses in full
    r = api.post(url(f"/api/v1/admin/payments/{paid['id']}/refund"), json={})
    assert r.status_code == 200, r.text
    [pay] = [p for p in sim.ctl("GET", "/click/payments")["payments"]
             if str(p["payment_id"]) == paid["provider_payment_id"]]
    assert pay["reversed"] is True
    [rev] = [c for c in sim.ctl("GET", "/click/api_calls")["calls"] if c["method"] == "DELETE"]
    assert rev["status"] == 200
    cur = current()
    assert cur["plan"] == "free" and cur["subscription"]["state"] == "expired"
    assert [(p["kind"], p["provider"]) for p in api.get(url("/api/v1/payments")).json()[
        "payments"]][:2] == [("refund", "click"), ("payment", "click")]


def test_demo_advance_refuses_bad_input_and_moves_nothing(demo):
    sim = demo.sim
    before = sim.ctl("GET", "/demo/clock")
    assert before["herald"]["offset_ms"] == 0
    for body in ({"days": 0}, {"days": 401}, {"days": "3"}, {"days": 1.5}, {"days": -1},
                 {"days": None}, {}, {"day": 3}):
        r = requests.post(sim.base + "/control/demo/advance", json=body, timeout=10)
        assert r.status_code == 400, (body, r.text)
        assert "days" in r.json()["error"]
    for raw in (b"", b"[3]", b"{not json"):
        r = requests.post(sim.base + "/control/demo/advance", data=raw, timeout=10)
        assert r.status_code == 400, (raw, r.text)
    # Herald unreachable: 502, and the drivers are moved back
    record = sim.ctl("GET", "/demo")
    record.pop("bot")
    sim.ctl("POST", "/demo", dict(record, herald_url=f"http://127.0.0.1:{servers.free_port()}"))
    r = requests.post(sim.base + "/control/demo/advance", json={"days": 7}, timeout=30)
    assert r.status_code == 502 and "did not answer" in r.json()["error"], r.text
    sim.ctl("POST", "/demo", dict(record, herald_url="javascript:alert(1)"))
    r = requests.post(sim.base + "/control/demo/advance", json={"days": 7}, timeout=30)
    assert r.status_code == 409, r.text
    sim.ctl("POST", "/demo", record)
    after = sim.ctl("GET", "/demo/clock")
    assert after["herald"]["offset_ms"] == 0 and demo.clock()["offset_ms"] == 0
    for p in ("payme", "click"):
        assert after[p]["offset_ms"] == before[p]["offset_ms"], p
    assert after["stripe"]["offset_s"] == before["stripe"]["offset_s"]
    # and a good call still works: one day
    adv = sim.ctl("POST", "/demo/advance", {"days": 1})
    assert adv["herald"]["offset_ms"] == DAY and demo.clock()["offset_ms"] == DAY


def test_the_demo_channel_has_weeks_of_history(demo):
    """Analytics has something to show on the first run: four weeks of posts
    with aged views, and subscribers that joined and left, on the
    simulator's public page (HERALD_TME_URL in the demo)."""
    sim = demo.sim
    chat = sim.ctl("GET", "/demo")["channel_id"]
    t = sim.ctl("GET", f"/channels/{chat}/audience")
    posts = [p for p in t["posts"] if not p["service"]]
    assert 3 * 27 <= len(posts) <= 5 * 29
    assert t["now"] - t["start"] == 28 * 86400
    assert t["member_count"] == t["initial_member_count"] + t["joins"] - t["leaves"]
    assert t["joins"] > 0 and t["leaves"] > 0
    assert all(p["views"] > 0 for p in posts)
    assert {p["kind"] for p in posts} >= {"text", "photo", "video"}
    page = requests.get(sim.base + "/s/herald_demo", timeout=10)
    assert page.status_code == 200
    assert page.text.count('class="tgme_widget_message_views"') == 20
    assert 'data-post="herald_demo/' in page.text
    # a day on: Telegram's clock moved with the others, and the views grew
    views = sum(p["views"] for p in posts)
    adv = sim.ctl("POST", "/demo/advance", {"days": 1})
    assert adv["telegram"]["now"] >= t["now"] + 86400
    later = sim.ctl("GET", f"/channels/{chat}/audience")
    assert sum(p["views"] for p in later["posts"] if not p["service"]) > views


def test_newcomer_sees_stats_and_an_alert_in_the_demo(demo):
    """What the README's demo steps promise for analytics: connect the demo
    channel, /stats shows its weeks of history at once, and an alert rule
    (a milestone the channel has passed) alerts through the bot after the
    next collection (Time: +1 day)."""
    sim = demo.sim
    d = sim.ctl("GET", "/demo")
    uid, chat = d["user_id"], d["channel_id"]
    start(sim, uid)
    sim.set_bot(chat, uid, rights={"can_post_messages": True, "can_edit_messages": True,
                                   "can_delete_messages": True})
    sim.press(uid, sim.expect(uid, "You made me an administrator"), "Connect")
    sim.expect(uid, "✅ Connected “Herald Demo Channel”!")
    # the first collection runs within seconds of connecting
    wait_for(lambda: demo.sql("SELECT count(*) FROM collect_sources WHERE source = 'page' "
                              "AND ok_at IS NOT NULL")[0][0] == 1, what="the first collection")
    truth = sim.ctl("GET", f"/channels/{chat}/audience")
    sim.say(uid, "/stats")
    sim.press(uid, sim.expect(uid, "statistics for which period?"), "30 days")
    summary = sim.expect(uid, "📊 Herald Demo Channel · last 30 days")
    assert f"👥 Subscribers: {truth['member_count']:,}\n" in summary["text"], summary["text"]
    # weeks of posts from the public page: views, ERR and activity are known
    assert "👁 Views per post: not enough data" not in summary["text"], summary["text"]
    assert "· active" in summary["text"], summary["text"]
    # an alert: /alerts -> a milestone the channel has already passed
    env = dict(demo.env, HERALD_DATABASE=demo.db)
    key = subprocess.run([BIN, "apikey", "create", "--telegram-id", str(uid)], env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    ch = demo.sql(f"SELECT id FROM channels WHERE chat_id = {chat}")[0][0]
    r = requests.post(demo.base + "/api/v1/alerts", timeout=10,
                      headers={"Authorization": "Bearer " + key},
                      json={"channel_id": ch, "kind": "milestone",
                            "params": {"subscribers": 1000}})
    assert r.status_code == 201, r.text
    # Time: +1 day on the demo page; the next collection alerts once
    sim.ctl("POST", "/demo/advance", {"days": 1})
    m = sim.expect(uid, "🎉 “Herald Demo Channel” has reached 1000 subscribers", timeout=30)
    assert [b["text"] for b in sim.buttons(m)] == ["🔕 Mute for 24 h", "📊 Open report"]
    sim.press(uid, m, "Open report")
    sim.expect(uid, "📊 Herald Demo Channel · last 7 days")
