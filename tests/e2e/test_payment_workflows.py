"""Payments end to end (issue 5): Herald's real hooks driven by the simulator's
Payme and Click drivers (docs/sim-payme-click.md), exactly as those providers
call a merchant, with the product clock moved for renewals and grace.

Every test asserts on what the API answers, what the driver received and what
the database holds."""
import base64
import concurrent.futures
import re
import time

import pytest
import requests

from test_user_journey_workflows import advance, onboard, wait_for

PAYME_MERCHANT = "5e730e8e0b852a417aa49ceb"
PAYME_KEY = "0123456789abcdefghijklmnopqrstuvwxyz"
CLICK_SECRET = "SECRETKEY"
CLICK_SERVICE = "12345"
CLICK_MERCHANT = "777"
CLICK_USER = "42"
ADMIN = 9990001
DAY = 24 * 3600 * 1000
PRO_UZS = 12000000  # tiyin
BUSINESS_UZS = 36000000


def one(h, sql):
    """The single value of a query, as text (SQLite and PostgreSQL alike)."""
    rows = h.sql(sql)
    assert len(rows) == 1, (sql, rows)
    return None if rows[0][0] is None else str(rows[0][0])


def count(h, sql):
    return int(one(h, sql))


@pytest.fixture
def shop(make_bot_herald):
    """Herald with every role, the test clock, Payme and Click pointed at the
    simulator, which drives Herald's hooks; an admin with an API key."""
    h = make_bot_herald(
        HERALD_TEST_CLOCK="1", HERALD_ADMINS=str(ADMIN),
        HERALD_PAYME_MERCHANT_ID=PAYME_MERCHANT, HERALD_PAYME_KEY=PAYME_KEY,
        HERALD_CLICK_SERVICE_ID=CLICK_SERVICE, HERALD_CLICK_MERCHANT_ID=CLICK_MERCHANT,
        HERALD_CLICK_SECRET_KEY=CLICK_SECRET, HERALD_CLICK_MERCHANT_USER_ID=CLICK_USER)
    sim = h.sim
    h.env["HERALD_PAYME_CHECKOUT_URL"] = sim.base + "/payme"
    h.env["HERALD_CLICK_CHECKOUT_URL"] = sim.base + "/click/services/pay"
    h.env["HERALD_CLICK_API"] = sim.base + "/click/v2/merchant"
    h.start()
    sim.ctl("POST", "/payme/config", {"endpoint": h.url("/hooks/payme"), "key": PAYME_KEY,
                                      "merchant_id": PAYME_MERCHANT})
    sim.ctl("POST", "/click/config", {"prepare_url": h.url("/hooks/click/prepare"),
                                      "complete_url": h.url("/hooks/click/complete"),
                                      "secret": CLICK_SECRET, "service_id": CLICK_SERVICE,
                                      "merchant_id": CLICK_MERCHANT,
                                      "merchant_user_id": CLICK_USER})
    h.admin = requests.Session()
    h.admin.headers["Authorization"] = "Bearer " + h.user_with_key(ADMIN, "Admin")
    return h


def customer(h, uid):
    """A user with an API session."""
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + h.user_with_key(uid, f"Customer {uid}")
    s.uid = uid
    s.user_id = int(one(h, f"SELECT id FROM users WHERE telegram_id = {uid}"))
    return s


def subscribe(h, s, provider, plan="pro", period="month", status=201):
    r = s.post(h.url("/api/v1/subscriptions"),
               json={"plan": plan, "period": period, "provider": provider,
                     "return_url": "https://shop.example/back"})
    assert r.status_code == status, r.text
    return r.json()


def current(h, s):
    r = s.get(h.url("/api/v1/subscriptions/current"))
    assert r.status_code == 200, r.text
    return r.json()


def ledger(h, s):
    r = s.get(h.url("/api/v1/payments"))
    assert r.status_code == 200, r.text
    return r.json()["payments"]


def pay_on_page(url):
    """What the payer does: open the provider's page, see the order, press Pay."""
    page = requests.get(url, timeout=30)
    assert page.status_code == 200, page.text
    done = requests.post(url, data={"do": "pay"}, timeout=60)
    assert done.status_code == 200, done.text
    return page.text, done.text


def payme_decoded(url):
    b64 = url.rsplit("/", 1)[1]
    return dict(kv.split("=", 1) for kv in base64.b64decode(b64).decode().split(";"))


class TestSubscriptionPurchaseWorkflow:
    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_payme_from_the_api(self, shop):
        h, sim = shop, shop.sim
        s = customer(h, 5001)
        co = subscribe(h, s, "payme")
        assert co["amount"] == PRO_UZS and co["currency"] == "UZS"
        assert co["pay_url"].startswith(sim.base + "/payme/")
        link = payme_decoded(co["pay_url"])
        assert link == {"m": PAYME_MERCHANT, "ac.order_id": str(co["order_id"]),
                        "a": str(PRO_UZS), "l": "en", "c": "https://shop.example/back"}
        page, done = pay_on_page(co["pay_url"])
        assert "120000.00" in page
        assert "Payment complete" in done, done
        cur = current(h, s)
        assert cur["plan"] == "pro"
        assert cur["subscription"]["state"] == "active"
        assert cur["subscription"]["provider"] == "payme"
        start = cur["subscription"]["current_period_start"]
        assert 27 * DAY <= cur["subscription"]["current_period_end"] - start <= 31 * DAY
        [p] = ledger(h, s)
        assert (p["kind"], p["status"], p["amount"], p["currency"]) == \
            ("payment", "succeeded", PRO_UZS, "UZS")
        assert one(h, f"SELECT state FROM orders WHERE id = {co['order_id']}") == "paid"
        # what Payme saw: Create and Perform each sent twice, identical answers
        calls = sim.ctl("GET", "/payme/calls")["calls"]
        methods = [c["method"] for c in calls]
        assert methods == ["CheckPerformTransaction", "CreateTransaction", "CreateTransaction",
                           "PerformTransaction", "PerformTransaction"]
        assert calls[1]["answer"] == calls[2]["answer"]
        assert calls[3]["answer"] == calls[4]["answer"]
        assert count(h, "SELECT count(*) FROM provider_events WHERE provider = 'payme'") == 2
        assert one(h, f"SELECT kind FROM billing_notices WHERE user_id = {s.user_id}") == \
            "activated"

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_click_from_the_api(self, shop):
        h, sim = shop, shop.sim
        s = customer(h, 5002)
        co = subscribe(h, s, "click", plan="business")
        url = co["pay_url"]
        assert url.startswith(sim.base + "/click/services/pay?")
        assert f"service_id={CLICK_SERVICE}" in url and f"merchant_id={CLICK_MERCHANT}" in url
        assert "amount=360000.00" in url and f"transaction_param={co['order_id']}" in url
        page, done = pay_on_page(url)
        assert "360000.00" in page
        cur = current(h, s)
        assert (cur["plan"], cur["subscription"]["state"], cur["subscription"]["provider"]) == \
            ("business", "active", "click")
        [p] = ledger(h, s)
        assert (p["amount"], p["status"], p["provider"]) == (BUSINESS_UZS, "succeeded", "click")
        [pay] = sim.ctl("GET", "/click/payments")["payments"]
        assert pay["payment_status"] == 2
        assert p["provider_payment_id"] == str(pay["payment_id"])
        assert one(h, "SELECT state FROM click_transactions") == "completed"

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_bad_requests_are_refused_and_change_nothing(self, shop):
        h = shop
        s = customer(h, 5003)
        for body, field in (({"plan": "free", "provider": "payme"}, "plan"),
                            ({"plan": "gold", "provider": "payme"}, "plan"),
                            ({"plan": "pro", "provider": "paypal"}, "provider"),
                            ({"plan": "pro", "period": "week", "provider": "click"}, "period"),
                            ({"plan": "pro", "provider": "click", "return_url": "javascript:x"},
                             "return_url")):
            r = s.post(h.url("/api/v1/subscriptions"), json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.headers["Content-Type"].startswith("application/problem+json")
            assert r.json()["field"] == field
        r = s.post(h.url("/api/v1/subscriptions"), data="{", headers={
            "Content-Type": "application/json"})
        assert r.status_code == 400
        # Stripe is not configured here
        r = s.post(h.url("/api/v1/subscriptions"), json={"plan": "pro", "provider": "stripe"})
        assert r.status_code == 422 and r.json()["type"].endswith("/provider-unavailable")
        assert count(h, "SELECT count(*) FROM orders") == 0
        # plans are public, with the configured providers
        plans = requests.get(h.url("/api/v1/plans")).json()
        assert {"payme", "click"} <= {p["id"] for p in plans["providers"]}
        pro = next(p for p in plans["plans"] if p["id"] == "pro")
        assert {"currency": "UZS", "period": "month", "amount": PRO_UZS} in pro["prices"]


def order_for(h, s, provider, plan="pro"):
    return subscribe(h, s, provider, plan=plan)


class TestPaymeSandbox:
    """protocols.md C.9, run by the driver as the real sandbox would."""

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_sandbox_scenarios(self, shop):
        h, sim = shop, shop.sim
        s = customer(h, 5101)
        o1, o2 = order_for(h, s, "payme"), order_for(h, s, "payme")
        report = sim.ctl("POST", "/payme/sandbox", {
            "order1": {"order_id": str(o1["order_id"]), "amount": o1["amount"]},
            "order2": {"order_id": str(o2["order_id"]), "amount": o2["amount"]},
            "unknown_order_id": "999999"})
        failed = [(st["step"], st["why"]) for st in report["steps"] if not st["pass"]]
        assert report["pass"], failed
        assert report["passed"] >= 29
        # scenario 1 canceled before perform: nothing paid, the order waits again
        assert one(h, f"SELECT state FROM orders WHERE id = {o1['order_id']}") == "pending"
        assert h.sql(f"SELECT state, reason FROM payme_transactions WHERE order_id = "
                     f"{o1['order_id']}") in ([(-1, 3)], [("-1", "3")])
        # scenario 2 performed then canceled: a payment and its full refund
        kinds = h.sql(f"SELECT kind, amount FROM payments WHERE order_id = {o2['order_id']} "
                      f"ORDER BY id")
        assert [tuple(str(v) for v in k) for k in kinds] == \
            [("payment", str(o2["amount"])), ("refund", str(o2["amount"]))]
        assert current(h, s)["plan"] == "free"

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_twelve_hour_timeout(self, shop):
        h, sim = shop, shop.sim
        s = customer(h, 5102)
        o = order_for(h, s, "payme")
        for via in ("perform", "create"):
            report = sim.ctl("POST", "/payme/timeout", {"order_id": str(o["order_id"]),
                                                        "amount": o["amount"], "via": via})
            assert report["pass"], [(st["step"], st["why"]) for st in report["steps"]]
        assert count(h, "SELECT count(*) FROM payme_transactions WHERE state = -1 AND "
                        "reason = 4") == 2
        assert count(h, "SELECT count(*) FROM payments") == 0
        assert one(h, f"SELECT state FROM orders WHERE id = {o['order_id']}") == "pending"
        # the order can still be paid
        assert sim.ctl("POST", "/payme/pay", {"order_id": str(o["order_id"]),
                                              "amount": o["amount"]})["pass"]
        assert current(h, s)["plan"] == "pro"

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_statement_and_wrong_credentials(self, shop):
        h, sim = shop, shop.sim
        s = customer(h, 5103)
        o = order_for(h, s, "payme")
        before = h.sql("SELECT count(*) FROM payme_transactions")
        for auth in ("wrong_key", "wrong_login", "none"):
            c = sim.ctl("POST", "/payme/call", {"method": "CreateTransaction", "params": {
                "id": "a" * 24, "time": int(time.time() * 1000), "amount": o["amount"],
                "account": {"order_id": str(o["order_id"])}}, "auth": auth})
            assert c["status"] == 200 and c["json"]["error"]["code"] == -32504, c
        c = sim.ctl("POST", "/payme/call", {"body": "{not json"})
        assert c["json"]["error"]["code"] == -32700
        c = sim.ctl("POST", "/payme/call", {"method": "Nope", "params": {}})
        assert c["json"]["error"]["code"] == -32601 and c["json"]["error"]["data"] == "Nope"
        assert h.sql("SELECT count(*) FROM payme_transactions") == before
        assert sim.ctl("POST", "/payme/pay", {"order_id": str(o["order_id"]),
                                              "amount": o["amount"]})["pass"]
        st = sim.ctl("POST", "/payme/statement", {"from": 0, "to": int(time.time() * 1000) +
                                                  60000})
        [t] = st["json"]["result"]["transactions"]
        assert t["state"] == 2 and t["amount"] == o["amount"]
        assert t["account"] == {"order_id": str(o["order_id"])}
        assert "PAYME_KEY" not in h.logtext() and PAYME_KEY not in h.logtext()


class TestClickScenarios:
    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_postman_scenarios(self, shop):
        h, sim = shop, shop.sim
        s = customer(h, 5201)
        orders = [order_for(h, s, "click") for _ in range(3)]
        report = sim.ctl("POST", "/click/postman", {
            "orders": [{"order_id": str(o["order_id"]), "amount_tiyin": o["amount"]}
                       for o in orders],
            "unknown_order_id": "987654"})
        assert report["pass"], [(st["step"], st["why"]) for st in report["steps"]
                                if not st["pass"]]
        # A and B paid once each (B replaced A: one live subscription), C canceled
        assert count(h, "SELECT count(*) FROM payments WHERE status = 'succeeded'") == 2
        states = dict((int(r[0]), r[1]) for r in
                      h.sql("SELECT order_id, state FROM click_transactions"))
        assert states[orders[2]["order_id"]] == "canceled"
        assert current(h, s)["plan"] == "pro"
        assert CLICK_SECRET not in h.logtext()


class TestConcurrentDuplicates:
    """The same provider call 50 times at once: exactly one effect."""

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_fifty_performs_of_one_payme_transaction(self, shop):
        h, sim = shop, shop.sim
        s = customer(h, 5301)
        o = order_for(h, s, "payme")
        tid = "c0ffee" + "0" * 18
        c = sim.ctl("POST", "/payme/call", {"method": "CreateTransaction", "params": {
            "id": tid, "time": int(time.time() * 1000), "amount": o["amount"],
            "account": {"order_id": str(o["order_id"])}}})
        assert c["json"]["result"]["state"] == 1, c

        def perform(_):
            return sim.ctl("POST", "/payme/call", {"method": "PerformTransaction",
                                                   "params": {"id": tid}})
        with concurrent.futures.ThreadPoolExecutor(50) as ex:
            got = list(ex.map(perform, range(50)))
        results = {re.sub(r',"id":\d+\}$', "}", g["answer"]) for g in got}
        assert len(results) == 1, results
        assert '"state":2' in results.pop()
        assert count(h, "SELECT count(*) FROM payments") == 1
        assert count(h, "SELECT count(*) FROM subscriptions") == 1
        assert count(h, "SELECT count(*) FROM billing_notices") == 1
        assert count(h, "SELECT count(*) FROM provider_events WHERE provider = 'payme'") == 2

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_fifty_completes_of_one_click_payment(self, shop):
        h, sim = shop, shop.sim
        s = customer(h, 5302)
        o = order_for(h, s, "click")
        prep = sim.ctl("POST", "/click/prepare", {"merchant_trans_id": str(o["order_id"]),
                                                  "amount_tiyin": o["amount"]})
        assert prep["json"]["error"] == 0, prep
        trans = prep["json"]["click_trans_id"]

        def complete(_):
            return sim.ctl("POST", "/click/complete", {"click_trans_id": trans})
        with concurrent.futures.ThreadPoolExecutor(50) as ex:
            got = list(ex.map(complete, range(50)))
        errors = sorted(g["json"]["error"] for g in got)
        assert errors.count(0) == 1 and errors.count(-4) == 49, errors
        assert count(h, "SELECT count(*) FROM payments") == 1
        assert count(h, "SELECT count(*) FROM subscriptions") == 1


class TestRefundWorkflow:
    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_payme_refund_is_payme_cancelling_a_performed_transaction(self, shop):
        h, sim = shop, shop.sim
        s = customer(h, 5401)
        o = order_for(h, s, "payme")
        rep = sim.ctl("POST", "/payme/pay", {"order_id": str(o["order_id"]),
                                             "amount": o["amount"]})
        assert rep["pass"]
        [p] = ledger(h, s)
        # the operator cannot refund Payme from Herald: its cabinet does it
        r = h.admin.post(h.url(f"/api/v1/admin/payments/{p['id']}/refund"), json={})
        assert r.status_code == 409 and r.json()["type"].endswith("/refund-not-possible")
        assert sim.ctl("POST", "/payme/cancel", {"id": rep["id"], "reason": 5,
                                                 "state": -2})["pass"]
        rows = ledger(h, s)
        assert [(x["kind"], x["amount"]) for x in rows] == [("refund", PRO_UZS),
                                                            ("payment", PRO_UZS)]
        assert rows[0]["refund_of"] == p["id"]
        cur = current(h, s)
        assert cur["plan"] == "free" and cur["subscription"]["state"] == "expired"
        assert one(h, f"SELECT state FROM orders WHERE id = {o['order_id']}") == "refunded"
        assert one(h, f"SELECT kind FROM billing_notices WHERE user_id = {s.user_id} "
                      f"ORDER BY id DESC LIMIT 1") == "refunded"

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_click_refund_by_reversal(self, shop):
        h, sim = shop, shop.sim
        s = customer(h, 5402)
        o = order_for(h, s, "click")
        assert sim.ctl("POST", "/click/pay", {"order_id": str(o["order_id"]),
                                              "amount_tiyin": o["amount"]})["pass"]
        [p] = ledger(h, s)
        url = h.url(f"/api/v1/admin/payments/{p['id']}/refund")
        # not an admin; a partial amount (Click reverses in full only)
        r = s.post(url, json={})
        assert r.status_code == 403
        r = h.admin.post(url, json={"amount": 1000})
        assert r.status_code == 409 and r.json()["type"].endswith("/refund-not-possible")
        r = h.admin.post(url, json={"reason": "requested by the customer"})
        assert r.status_code == 200, r.text
        [rev] = [c for c in sim.ctl("GET", "/click/api_calls")["calls"]
                 if c["method"] == "DELETE"]
        assert rev["status"] == 200 and rev["auth_user"] == CLICK_USER
        assert rev["path"].endswith(f"/payment/reversal/{CLICK_SERVICE}/{p['provider_payment_id']}")
        [pay] = sim.ctl("GET", "/click/payments")["payments"]
        assert pay["reversed"] is True
        assert current(h, s)["plan"] == "free"
        assert [x["kind"] for x in ledger(h, s)] == ["refund", "payment"]
        # again: nothing is left to refund, nothing is sent to Click
        r = h.admin.post(url, json={})
        assert r.status_code == 409 and r.json()["type"].endswith("/refund-exceeds-payment")
        assert len([c for c in sim.ctl("GET", "/click/api_calls")["calls"]
                    if c["method"] == "DELETE"]) == 1
        # revenue sees the payment and the refund
        rev = h.admin.get(h.url("/api/v1/admin/revenue")).json()
        assert rev["payments"] == [{"provider": "click", "currency": "UZS", "count": 1,
                                    "amount": PRO_UZS}]
        assert rev["refunds"] == [{"provider": "click", "currency": "UZS", "count": 1,
                                   "amount": PRO_UZS}]
        assert s.get(h.url("/api/v1/admin/revenue")).status_code == 403


RENEW_OWNER = 5501


class TestSubscriptionRenewalWorkflow:
    """Payme and Click do not renew on their own: a reminder, the grace, then
    free with nothing deleted."""

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_reminder_renewal_grace_and_downgrade(self, shop):
        h, sim = shop, shop.sim
        onboard(sim, RENEW_OWNER)
        s = requests.Session()
        r = h.cli("apikey", "create", "--telegram-id", str(RENEW_OWNER))
        s.headers["Authorization"] = "Bearer " + r.stdout.strip()
        uid = int(one(h, f"SELECT id FROM users WHERE telegram_id = {RENEW_OWNER}"))
        o = order_for(h, s, "payme")
        assert sim.ctl("POST", "/payme/pay", {"order_id": str(o["order_id"]),
                                              "amount": o["amount"]})["pass"]
        # pro allows three channels
        chans = []
        for i in range(3):
            ch = sim.channel(f"Shop {i}", RENEW_OWNER, username=f"shop_renew_{i}")
            sim.set_bot(ch["id"], RENEW_OWNER)
            r = s.post(h.url("/api/v1/channels"), json={"chat_id": ch["id"]})
            assert r.status_code == 201, r.text
            chans.append({"id": r.json()["id"], "chat": ch["id"]})
        sub = current(h, s)["subscription"]
        end = sub["current_period_end"]
        clock = requests.get(h.url("/test/clock")).json()

        def to(at_ms):
            """Move Herald's clock, and the providers' with it (one world)."""
            now = requests.get(h.url("/test/clock")).json()["now_ms"]
            if at_ms > now:
                advance(h, at_ms - now)
                sim.ctl("POST", "/payme/clock", {"shift_ms": at_ms - now})
                sim.ctl("POST", "/click/clock", {"shift_ms": at_ms - now})

        def notices():
            return [r[0] for r in h.sql(f"SELECT kind FROM billing_notices WHERE user_id = "
                                        f"{uid} ORDER BY id")]
        assert clock["now_ms"] < end
        # three days before the end: one reminder
        to(end - 3 * DAY + 1000)
        wait_for(lambda: "reminder" in notices(), timeout=20)
        # paid early: the same subscription, the next period from the old end
        o2 = order_for(h, s, "payme")
        assert sim.ctl("POST", "/payme/pay", {"order_id": str(o2["order_id"]),
                                              "amount": o2["amount"]})["pass"]
        sub2 = current(h, s)["subscription"]
        assert sub2["id"] == sub["id"]
        assert sub2["current_period_start"] == end
        end2 = sub2["current_period_end"]
        assert notices()[-1] == "renewed"
        # the second period ends unpaid: past due, the plan holds for the grace
        to(end2 + 1000)
        wait_for(lambda: current(h, s)["subscription"]["state"] == "past_due", timeout=20)
        cur = current(h, s)
        assert cur["plan"] == "pro"
        assert cur["subscription"]["grace_until"] == end2 + 3 * DAY
        # a post for the newest channel, due after the grace
        r = s.post(h.url("/api/v1/posts"), json={
            "text": "after the grace", "channels": [chans[2]["id"]],
            "schedule": {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                             time.gmtime((end2 + 3 * DAY + 3600000) / 1000))}})
        assert r.status_code == 201, r.text
        post = r.json()["id"]
        # the grace ends: free; the two newer channels pause, nothing is deleted
        to(end2 + 3 * DAY + 1000)
        wait_for(lambda: current(h, s)["plan"] == "free", timeout=20)
        assert current(h, s)["subscription"]["state"] == "expired"
        listed = s.get(h.url("/api/v1/channels")).json()["channels"]
        assert len(listed) == 3
        assert [c["paused"] for c in sorted(listed, key=lambda c: c["id"])] == \
            [False, True, True]
        assert notices()[-2:] == ["past_due", "expired"]
        # the post's time comes: its channel is paused, so it waits
        to(end2 + 3 * DAY + 3600000 + 1000)
        time.sleep(2)
        d = s.get(h.url(f"/api/v1/posts/{post}/deliveries")).json()["deliveries"]
        assert [x["state"] for x in d] == ["scheduled"]
        assert not [m for m in sim.ctl("GET", f"/chats/{chans[2]['chat']}/messages")["messages"]
                    if m.get("text") == "after the grace"]
        # paying again resumes the channels and the waiting post goes out
        o3 = order_for(h, s, "click")
        assert sim.ctl("POST", "/click/pay", {"order_id": str(o3["order_id"]),
                                              "amount_tiyin": o3["amount"]})["pass"]
        assert current(h, s)["plan"] == "pro"
        assert not any(c["paused"] for c in s.get(h.url("/api/v1/channels")).json()["channels"])
        to(requests.get(h.url("/test/clock")).json()["now_ms"] + 61000)
        wait_for(lambda: [x["state"] for x in s.get(
            h.url(f"/api/v1/posts/{post}/deliveries")).json()["deliveries"]] == ["sent"],
            timeout=30)
