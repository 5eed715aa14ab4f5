"""Payments end to end (issue 5), through every provider: Stripe (the
simulator's API, hosted page and signed webhooks; docs/sim-stripe.md),
Payme and Click (the simulator's drivers call Herald's hooks exactly as
those providers call a merchant; docs/sim-payme-click.md) and Telegram Stars
(invoices paid in the simulated Telegram). Users buy from the REST API and
from the bot; the product clock is moved for renewals and grace.

One `herald sim` (Telegram, Stripe, Payme and Click) and one Herald with
every provider configured per test. Every test asserts on what the API
answers, what the simulator received and what the database holds.
Protocol details (signatures, duplicate and reversed webhooks, the
simulators themselves) are tested in test_stripe_billing.py,
test_billing_bot.py and test_sim_*.py."""
import base64
import concurrent.futures
import re
import time

import pytest
import requests

import test_billing_bot as bb
from conftest import assert_no_sanitizer_report
from test_stripe_billing import (ADMIN_TG, DAY_MS, KEY, PINNED, SECRET, USER_TG, Shop,
                                 StripeSim)
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
BOT_LABEL = {"payme": "Payme", "click": "Click", "stripe": "Card (Stripe)",
             "stars": "Telegram Stars"}


def one(h, sql):
    """The single value of a query, as text (SQLite and PostgreSQL alike)."""
    rows = h.sql(sql)
    assert len(rows) == 1, (sql, rows)
    return None if rows[0][0] is None else str(rows[0][0])


def count(h, sql):
    return int(one(h, sql))


@pytest.fixture
def sim(tmp_path):
    """The simulator with its Stripe side on (conftest's `sim`, overridden)."""
    s = StripeSim(str(tmp_path)).start()
    yield s
    rc = s.stop()
    assert_no_sanitizer_report(s.logtext(), "herald sim")
    assert rc == 0, f"herald sim exited {rc}:\n{s.logtext()[-4000:]}"


@pytest.fixture
def shop(make_bot_herald):
    """Herald with every role, the test clock and all four providers on the
    simulator; an admin with an API key (h.admin)."""
    h = make_bot_herald(
        HERALD_TEST_CLOCK="1", HERALD_ADMINS=f"{ADMIN},{ADMIN_TG}",
        HERALD_PAYME_MERCHANT_ID=PAYME_MERCHANT, HERALD_PAYME_KEY=PAYME_KEY,
        HERALD_CLICK_SERVICE_ID=CLICK_SERVICE, HERALD_CLICK_MERCHANT_ID=CLICK_MERCHANT,
        HERALD_CLICK_SECRET_KEY=CLICK_SECRET, HERALD_CLICK_MERCHANT_USER_ID=CLICK_USER,
        HERALD_STRIPE_SECRET_KEY=KEY, HERALD_STRIPE_WEBHOOK_SECRET=SECRET)
    sim = h.sim
    h.env["HERALD_PAYME_CHECKOUT_URL"] = sim.base + "/payme"
    h.env["HERALD_CLICK_CHECKOUT_URL"] = sim.base + "/click/services/pay"
    h.env["HERALD_CLICK_API"] = sim.base + "/click/v2/merchant"
    h.env["HERALD_STRIPE_API"] = sim.base + "/stripe"
    h.start()
    sim.ctl("POST", "/payme/config", {"endpoint": h.url("/hooks/payme"), "key": PAYME_KEY,
                                      "merchant_id": PAYME_MERCHANT})
    sim.ctl("POST", "/click/config", {"prepare_url": h.url("/hooks/click/prepare"),
                                      "complete_url": h.url("/hooks/click/complete"),
                                      "secret": CLICK_SECRET, "service_id": CLICK_SERVICE,
                                      "merchant_id": CLICK_MERCHANT,
                                      "merchant_user_id": CLICK_USER})
    sim.sctl("POST", "/config", {"webhook_url": h.url("/hooks/stripe"),
                                 "retry": {"base_ms": 50, "max_ms": 200, "max_attempts": 3}})
    h.admin = requests.Session()
    h.admin.headers["Authorization"] = "Bearer " + h.user_with_key(ADMIN, "Admin")
    yield h
    # no secret in Herald's log
    text = h.logtext()
    for secret in (KEY, SECRET, PAYME_KEY, CLICK_SECRET):
        assert secret not in text


@pytest.fixture
def stripe(shop):
    """The Stripe side of `shop` as test_stripe_billing.py drives it: user
    700 buys, 900 is an operator."""
    for uid in (USER_TG, ADMIN_TG):
        shop.sim.user(uid)
    return Shop(shop, shop.sim)


def api_session(h, uid):
    """An API session for a user who started the bot."""
    s = requests.Session()
    r = h.cli("apikey", "create", "--telegram-id", str(uid))
    assert r.returncode == 0, r.stderr
    s.headers["Authorization"] = "Bearer " + r.stdout.strip()
    s.uid = uid
    s.user_id = int(one(h, f"SELECT id FROM users WHERE telegram_id = {uid}"))
    return s


def choose_provider(sim, uid, label):
    """/subscribe -> Pro -> 1 month -> the provider's button: the message."""
    sim.say(uid, "/subscribe")
    m = sim.expect(uid, "Choose a plan")
    sim.press(uid, m, "Pro")
    m = bb.await_text(sim, uid, "for how long?", m)
    sim.press(uid, m, "1 month")
    m = bb.await_text(sim, uid, "How would you like to pay?", m)
    sim.press(uid, m, label)
    return m


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
        assert count(h, "SELECT count(*) FROM orders") == 0
        # plans are public, with the configured providers
        plans = requests.get(h.url("/api/v1/plans")).json()
        assert {"payme", "click", "stripe", "stars"} == {p["id"] for p in plans["providers"]}
        pro = next(p for p in plans["plans"] if p["id"] == "pro")
        assert {"currency": "UZS", "period": "month", "amount": PRO_UZS} in pro["prices"]


    def test_stripe_from_the_api(self, stripe):
        sim = stripe.sim
        plans = stripe.api("GET", "/api/v1/plans", expect=200).json()
        assert {"id": "stripe", "currency": "USD"} in plans["providers"]

        order = stripe.subscribe(return_url="https://example.test/back")
        assert order["provider"] == "stripe" and order["amount"] == 999
        assert order["currency"] == "USD" and order["state"] == "pending"
        cs_id = order["pay_url"].rsplit("/", 1)[1]
        assert cs_id.startswith("cs_test_")
        assert order["pay_url"].startswith(sim.base + "/stripe/checkout/")

        # what Stripe was asked: one session, pinned version, keyed by the order
        (req,) = sim.requests_to("POST", "/v1/checkout/sessions")
        assert req["stripe_version"] == PINNED and req["auth"] == "bearer"
        assert req["idempotency_key"].startswith(f"herald-order-{order['order_id']}-")
        p = req["params"]
        assert p["mode"] == "subscription"
        assert p["client_reference_id"] == str(stripe.user_id)
        assert p["metadata"] == {"order_id": str(order["order_id"]), "user_id": str(stripe.user_id)}
        assert p["subscription_data"]["metadata"] == p["metadata"]
        item = p["line_items"][0]
        assert item["quantity"] == "1"
        assert item["price_data"]["currency"] == "usd"
        assert item["price_data"]["unit_amount"] == "999"
        assert item["price_data"]["recurring"] == {"interval": "month"}
        assert item["price_data"]["product_data"]["name"] == "Herald Pro (monthly)"
        assert p["success_url"] == p["cancel_url"] == "https://example.test/back"
        assert stripe.sql1(f"SELECT provider_ref FROM orders WHERE id = {order['order_id']}") == cs_id

        # the user pays on the hosted page with 4242
        r = stripe.pay_page(order["pay_url"])
        assert r.status_code == 303 and r.headers["Location"] == "https://example.test/back"
        attempts = sim.settle()
        cur = stripe.wait_state("active")
        assert cur["plan"] == "pro"
        sub = cur["subscription"]
        assert sub["provider"] == "stripe" and sub["period"] == "month"
        assert sub["cancel_at_period_end"] is False

        session = sim.obj(cs_id)
        assert session["status"] == "complete" and session["payment_status"] == "paid"
        ssub = sim.obj(session["subscription"])
        item = ssub["items"]["data"][0]
        assert sub["current_period_start"] == item["current_period_start"] * 1000
        assert sub["current_period_end"] == item["current_period_end"] * 1000

        # every event delivered once and answered 200, each recorded once
        assert attempts and all(a["status"] == 200 for a in attempts)
        ids = [a["event_id"] for a in attempts]
        assert len(ids) == len(set(ids))
        recorded = stripe.events()
        assert sorted(e[0] for e in recorded) == sorted(ids)
        types = {e[1]: e[2] for e in recorded}
        assert "none -> active" in types["invoice.paid"] or \
            "none -> active" in types["checkout.session.completed"]
        assert types["customer.created"].startswith("ignored:")

        # the ledger: one payment, the invoice's id, the order paid
        pays = stripe.payments()
        assert [(x["kind"], x["status"], x["amount"], x["provider_payment_id"]) for x in pays] == \
            [("payment", "succeeded", 999, session["invoice"])]
        assert stripe.sql(f"SELECT state, subscription_id FROM orders WHERE id = "
                        f"{order['order_id']}") == [("paid", str(sub["id"]))]
        assert stripe.sql(f"SELECT provider_subscription_id, provider_customer_id FROM "
                        f"subscriptions WHERE id = {sub['id']}") == \
            [(ssub["id"], session["customer"])]
        assert stripe.sql1("SELECT plan FROM users WHERE telegram_id = 700") == "pro"
        # while webhooks re-read objects, nothing but the session was POSTed
        assert [q["path"] for q in sim.requests_to("POST", "/v1/")] == ["/v1/checkout/sessions"]
        assert all(q["stripe_version"] == PINNED for q in sim.sctl("GET", "/requests")["requests"])
        # the old charge named its invoice: no search among the customer's
        assert not any(q["path"] == "/v1/invoices" for q in sim.requests_to("GET", "/v1/invoices"))

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_stars_from_the_api(self, shop):
        """Stars are paid in Telegram: the API's order sends the invoice to
        the user's chat with the bot."""
        h, sim = shop, shop.sim
        uid = 5004
        onboard(sim, uid)
        s = api_session(h, uid)
        co = subscribe(h, s, "stars")
        assert (co["provider"], co["currency"], co["amount"]) == ("stars", "XTR", 500)
        inv = bb.expect_invoice(sim, uid)
        assert inv["invoice"]["currency"] == "XTR"
        assert inv["invoice"]["total_amount"] == 500
        assert bb.pay(sim, uid, inv)["ok"] is True
        sim.expect(uid, "Payment received: ⭐" + bb.NBSP + "500")
        cur = current(h, s)
        assert (cur["plan"], cur["subscription"]["state"], cur["subscription"]["provider"]) == \
            ("pro", "active", "stars")
        [p] = ledger(h, s)
        assert (p["kind"], p["status"], p["amount"], p["currency"]) == \
            ("payment", "succeeded", 500, "XTR")
        assert one(h, f"SELECT state FROM orders WHERE id = {co['order_id']}") == "paid"

    @pytest.mark.parametrize("bot_mode", ["polling"])
    @pytest.mark.parametrize("provider", ["payme", "click", "stripe", "stars"])
    def test_from_the_bot(self, shop, provider):
        """/subscribe -> Pro -> 1 month -> the provider -> pay where it
        says -> the bot confirms and /billing shows the plan."""
        h, sim = shop, shop.sim
        uid = 5010 + ["payme", "click", "stripe", "stars"].index(provider)
        onboard(sim, uid)
        if provider == "stars":
            bb.buy_pro_with_stars(h, sim, uid)
        else:
            m = choose_provider(sim, uid, BOT_LABEL[provider])
            m = bb.await_text(sim, uid, "Tap the button to pay", m)
            [url] = [b["url"] for row in m["reply_markup"]["inline_keyboard"] for b in row
                     if "url" in b]
            if provider == "stripe":
                assert url.startswith(sim.base + "/stripe/checkout/")
                r = requests.post(url, data={"action": "pay", "card": "4242 4242 4242 4242",
                                             "email": "bot@example.com"},
                                  allow_redirects=False, timeout=60)
                assert r.status_code == 303, r.text
            else:
                page, done = pay_on_page(url)
                assert "120000.00" in page
            sim.expect(uid, "Payment received")
        uidb = int(one(h, f"SELECT id FROM users WHERE telegram_id = {uid}"))
        assert one(h, f"SELECT plan FROM users WHERE id = {uidb}") == "pro"
        assert h.sql(f"SELECT state, provider FROM subscriptions WHERE user_id = {uidb}") in \
            ([("active", provider)],)
        assert count(h, f"SELECT count(*) FROM payments WHERE user_id = {uidb} AND "
                        f"status = 'succeeded' AND provider = '{provider}'") == 1
        sim.say(uid, "/billing")
        m = sim.expect(uid, "Your plan: Pro")
        assert "✅ Active" in m["text"]
        assert f"paid with {BOT_LABEL[provider]}" in m["text"]


def order_for(h, s, provider, plan="pro"):
    return subscribe(h, s, provider, plan=plan)



class TestPaymentFailureWorkflow:
    """Declines and failures, with the provider's reason; recovery with
    another card and with another provider; repeated failures for the
    operator."""

    def test_stripe_declines_then_another_card(self, stripe):
        order = stripe.subscribe()
        r = stripe.pay_page(order["pay_url"], card="4000 0000 0000 0002")
        assert r.status_code == 402
        assert "Your card was declined." in r.text
        r = stripe.pay_page(order["pay_url"], card="4000 0000 0000 9995")
        assert r.status_code == 402 and "insufficient funds" in r.text
        stripe.sim.settle()
        cur = stripe.current()
        assert cur["plan"] == "free" and cur["subscription"] is None
        assert stripe.payments() == []
        assert stripe.sql(f"SELECT state FROM orders WHERE id = {order['order_id']}") == \
            [("pending",)]
        # then a good card: the same order goes through
        r = stripe.pay_page(order["pay_url"])
        assert r.status_code == 303
        stripe.sim.settle()
        assert stripe.wait_state("active")["plan"] == "pro"

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_declined_renewal_then_another_provider(self, shop):
        """A Stripe renewal is declined: the user is told why, with Try again
        and Another way to pay; paying through Payme replaces the Stripe
        subscription, which is ended at Stripe so the card is not retried."""
        h, sim = shop, shop.sim
        uid = 5601
        onboard(sim, uid)
        s = api_session(h, uid)
        co = subscribe(h, s, "stripe")
        cs = co["pay_url"].rsplit("/", 1)[1]
        paid = sim.sctl("POST", f"/checkout/sessions/{cs}/pay", {"card": "4242 4242 4242 4242"})
        sim.settle()
        sim.expect(uid, "Payment received")
        ssub = paid["subscription"]["id"]
        first = current(h, s)["subscription"]
        assert first["provider"] == "stripe"

        r = sim.sctl("POST", f"/subscriptions/{ssub}/renew",
                     {"fail": True, "decline_code": "insufficient_funds"})
        assert r["paid"] is False
        sim.settle()
        m = sim.expect(uid, "did not go through")
        assert "insufficient_funds" in m["text"] and "Try again, or pay another way." in m["text"]
        assert sim.button(m, "Try again")["callback_data"] == "1:buy:pro.month.stripe"
        assert current(h, s)["subscription"]["state"] == "past_due"

        sim.press(uid, m, "Another way to pay")
        m = bb.await_text(sim, uid, "How would you like to pay?", m)
        sim.press(uid, m, "Payme")
        m = bb.await_text(sim, uid, "Tap the button to pay", m)
        [url] = [b["url"] for row in m["reply_markup"]["inline_keyboard"] for b in row
                 if "url" in b]
        pay_on_page(url)
        sim.expect(uid, "Payment received")
        cur = current(h, s)
        assert (cur["plan"], cur["subscription"]["provider"], cur["subscription"]["state"]) == \
            ("pro", "payme", "active")
        assert one(h, f"SELECT state FROM subscriptions WHERE id = {first['id']}") == "expired"
        # Stripe is told to stop: the subscription is canceled there, once
        bb.wait_for(lambda: sim.obj(ssub)["status"] == "canceled")
        assert len(sim.requests_to("DELETE", f"/v1/subscriptions/{ssub}")) == 1
        bb.wait_for(lambda: count(h, "SELECT count(*) FROM jobs WHERE kind = 'pstop'") == 0)
        # the ledger: the Stripe payment, its failed renewal, the Payme payment
        rows = sorted((x["provider"], x["status"]) for x in ledger(h, s))
        assert rows == [("payme", "succeeded"), ("stripe", "failed"), ("stripe", "succeeded")]

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_repeated_failures_are_visible_to_the_admin(self, shop):
        """Failures through every provider are recorded with the provider's
        reason; a user who fails again and again is listed for the
        operator."""
        h, sim = shop, shop.sim
        s = customer(h, 5602)
        # Stripe: bought, then a renewal declined twice (Stripe's retry)
        co = subscribe(h, s, "stripe")
        cs = co["pay_url"].rsplit("/", 1)[1]
        paid = sim.sctl("POST", f"/checkout/sessions/{cs}/pay", {"card": "4242 4242 4242 4242"})
        sim.settle()
        ssub = paid["subscription"]["id"]
        for _ in range(2):
            sim.sctl("POST", f"/subscriptions/{ssub}/renew",
                     {"fail": True, "decline_code": "card_declined"})
            sim.settle()
        # Payme: the transaction is canceled before it was performed
        o = subscribe(h, s, "payme")
        c = sim.ctl("POST", "/payme/call", {"method": "CreateTransaction", "params": {
            "id": "f" * 24, "time": int(time.time() * 1000), "amount": o["amount"],
            "account": {"order_id": str(o["order_id"])}}})
        assert c["json"]["result"]["state"] == 1, c
        c = sim.ctl("POST", "/payme/call", {"method": "CancelTransaction",
                                            "params": {"id": "f" * 24, "reason": 3}})
        assert c["json"]["result"]["state"] == -1, c
        # Click: Complete reports that Click could not take the money
        o = subscribe(h, s, "click")
        prep = sim.ctl("POST", "/click/prepare", {"merchant_trans_id": str(o["order_id"]),
                                                  "amount_tiyin": o["amount"]})
        assert prep["json"]["error"] == 0, prep
        done = sim.ctl("POST", "/click/complete", {
            "click_trans_id": prep["json"]["click_trans_id"], "error": -5017,
            "error_note": "Insufficient funds"})
        assert done["json"]["error"] == -9, done

        failed = {x["provider"]: x for x in ledger(h, s) if x["status"] == "failed"}
        assert set(failed) == {"stripe", "payme", "click"}
        assert "card_declined" in failed["stripe"]["reason"]
        assert failed["stripe"]["attempts"] == 2
        assert failed["payme"]["reason"] == "payme reason 3: the transaction failed"
        assert failed["click"]["reason"] == "click error -5017: Insufficient funds"
        # a failure before a purchase changes no plan; the renewal's did
        assert current(h, s)["subscription"]["state"] == "past_due"
        assert count(h, f"SELECT count(*) FROM billing_notices WHERE user_id = {s.user_id} "
                        f"AND kind = 'payment_failed'") == 4
        rev = h.admin.get(h.url("/api/v1/admin/revenue")).json()
        [me] = [u for u in rev["repeated_failures"] if u["user_id"] == s.user_id]
        assert me["failed_attempts"] == 4
        assert {(f["provider"], f["count"]) for f in rev["failed"]} == \
            {("stripe", 2), ("payme", 1), ("click", 1)}
        # a repeat of the Click Complete records nothing more
        again = sim.ctl("POST", "/click/complete", {
            "click_trans_id": prep["json"]["click_trans_id"], "error": -5017,
            "error_note": "Insufficient funds"})
        assert again["json"]["error"] == -9
        assert len([x for x in ledger(h, s) if x["status"] == "failed"]) == 3


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


    def test_stripe_partial_and_full(self, stripe):
        sim = stripe.sim
        paid = stripe.buy()
        sim.settle()
        stripe.wait_state("active")
        (pay,) = stripe.payments()
        pi = paid["payment_intent"]["id"]

        # the dashboard refunds 2.00 at Stripe: charge.refunded tells Herald,
        # which finds the invoice among the customer's (a charge names none)
        sim.sctl("POST", "/refunds", {"payment_intent": pi, "amount": 200})
        sim.settle()
        assert any(q["path"] == "/v1/invoices" for q in sim.requests_to("GET", "/v1/invoices"))
        (ref,) = [x for x in stripe.payments() if x["kind"] == "refund"]
        assert ref["amount"] == 200 and ref["refund_of"] == pay["id"]
        assert stripe.current()["subscription"]["state"] == "active"

        # the operator refunds 3.00 through Herald
        r = stripe.api("POST", f"/api/v1/admin/payments/{pay['id']}/refund",
                     {"amount": 300, "reason": "asked nicely"}, key=stripe.admin, expect=200).json()
        # (repeat is true when charge.refunded was applied before this answer)
        assert "partial" in r["effect"]
        (req,) = sim.requests_to("POST", "/v1/refunds")
        assert req["params"]["payment_intent"] == pi and req["params"]["amount"] == "300"
        assert req["params"]["metadata"]["herald_invoice"] == paid["invoice"]["id"]
        assert req["params"]["metadata"]["herald_reason"] == "asked nicely"
        assert req["idempotency_key"] == f"herald-refund-{paid['invoice']['id']}-200-300"
        sim.settle()
        assert stripe.current()["subscription"]["state"] == "active"
        refunds = sorted((x["provider_payment_id"], x["amount"]) for x in stripe.payments()
                         if x["kind"] == "refund")
        stripe_refunds = requests.get(
            sim.base + "/stripe/v1/refunds", params={"payment_intent": pi},
            headers={"Authorization": f"Bearer {KEY}"}, timeout=30).json()["data"]
        assert refunds == sorted((x["id"], x["amount"]) for x in stripe_refunds)
        assert sum(a for _, a in refunds) == 500

        # the rest, in full: the plan ends and Stripe stops the subscription
        r = stripe.api("POST", f"/api/v1/admin/payments/{pay['id']}/refund", {},
                     key=stripe.admin, expect=200).json()
        assert "full" in r["effect"]
        sim.settle()
        cur = stripe.wait_state("expired")
        assert cur["plan"] == "free"
        # ended at Stripe by a job of its own, after the refund's transaction
        deadline = time.monotonic() + 20
        while sim.obj(paid["subscription"]["id"])["status"] != "canceled":
            assert time.monotonic() < deadline, "the subscription goes on at Stripe"
            time.sleep(0.05)
        assert len(sim.requests_to("DELETE", "/v1/subscriptions/")) == 1
        charge = sim.obj(paid["charge"]["id"])
        assert charge["amount_refunded"] == 999 and charge["refunded"] is True
        assert stripe.sql1("SELECT sum(amount) FROM payments WHERE kind = 'refund'") == "999"
        assert stripe.sql1("SELECT count(*) FROM payments WHERE kind = 'refund'") == "3"
        # more than is left is refused, and Stripe is not asked
        stripe.api("POST", f"/api/v1/admin/payments/{pay['id']}/refund", {"amount": 1},
                 key=stripe.admin, expect=409)
        assert len(sim.requests_to("POST", "/v1/refunds")) == 2

    def test_stripe_refund_that_fails_later(self, stripe):
        """A refund Stripe accepted and then could not pay out (the card was
        closed): refund.failed takes it out of the ledger's sums, the user
        is told, and the operator can refund again."""
        sim = stripe.sim
        paid = stripe.buy()
        sim.settle()
        stripe.wait_state("active")
        (pay,) = stripe.payments()
        r = stripe.api("POST", f"/api/v1/admin/payments/{pay['id']}/refund",
                       {"amount": 400, "reason": "goodwill"}, key=stripe.admin, expect=200)
        sim.settle()
        (ref,) = [x for x in stripe.payments() if x["kind"] == "refund"]
        assert (ref["amount"], ref["status"]) == (400, "succeeded")
        failed = sim.sctl("POST", f"/refunds/{ref['provider_payment_id']}/fail",
                          {"failure_reason": "expired_or_canceled_card"})
        assert failed["refund"]["status"] == "failed"
        attempts = sim.settle()
        assert any(a["type"] == "refund.failed" and a["status"] == 200 for a in attempts)
        wait_for(lambda: [x["status"] for x in stripe.payments() if x["kind"] == "refund"]
                 == ["failed"])
        (ref,) = [x for x in stripe.payments() if x["kind"] == "refund"]
        assert ref["reason"] == "expired_or_canceled_card"
        assert stripe.sql1("SELECT kind FROM billing_notices ORDER BY id DESC LIMIT 1") == \
            "refund_failed"
        # the charge has the money again, and the revenue no longer counts it
        assert sim.obj(paid["charge"]["id"])["amount_refunded"] == 0
        rev = stripe.api("GET", "/api/v1/admin/revenue", key=stripe.admin, expect=200).json()
        assert rev["refunds"] == []
        # a repeat of the event changes nothing; the operator refunds again
        r = stripe.api("POST", f"/api/v1/admin/payments/{pay['id']}/refund", {},
                       key=stripe.admin, expect=200).json()
        assert "full" in r["effect"]
        sim.settle()
        stripe.wait_state("expired")
        assert sorted((x["status"], x["amount"]) for x in stripe.payments()
                      if x["kind"] == "refund") == [("failed", 400), ("succeeded", 999)]
        assert stripe.sql1("SELECT count(*) FROM billing_notices WHERE kind = "
                           "'refund_failed'") == "1"

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_stars_refund_by_the_operator(self, shop):
        h, sim = shop, shop.sim
        auth = {"Authorization": h.admin.headers["Authorization"]}
        uid = 6301
        bb.onboard(sim, uid)
        bb.buy_pro_with_stars(h, sim, uid)
        uidb = bb.user_id(h, uid)
        pid, charge = bb.one(h, f"SELECT id, provider_payment_id FROM payments WHERE user_id = {uidb}")

        # Stars refund in full only
        r = requests.post(h.url(f"/api/v1/admin/payments/{pid}/refund"), headers=auth,
                          json={"amount": 100, "reason": "partial"}, timeout=30)
        assert r.status_code == 409, r.text
        assert "in full only" in r.json()["detail"]
        assert sim.stats()["requests"].get("refundStarPayment", 0) == 0
        # a user who is not an operator may not refund
        ukey = h.cli("apikey", "create", "--telegram-id", str(uid)).stdout.strip()
        r = requests.post(h.url(f"/api/v1/admin/payments/{pid}/refund"),
                          headers={"Authorization": "Bearer " + ukey}, json={}, timeout=30)
        assert r.status_code == 403, r.text

        r = requests.post(h.url(f"/api/v1/admin/payments/{pid}/refund"), headers=auth,
                          json={"reason": "asked by the user"}, timeout=30)
        assert r.status_code == 200, r.text
        assert sim.stats()["requests"]["refundStarPayment"] == 1
        pays = sim.ctl("GET", "/payments")["payments"]
        assert [p["refunded"] for p in pays if p["telegram_payment_charge_id"] == charge] == [True]
        ref = bb.one(h, f"SELECT kind, provider_payment_id, amount, currency, status, refund_of "
                     f"FROM payments WHERE kind = 'refund'")
        assert ref == ("refund", charge, "500", "XTR", "succeeded", str(pid))
        assert bb.one(h, f"SELECT plan FROM users WHERE id = {uidb}") == ("free",)
        assert bb.one(h, f"SELECT state FROM subscriptions WHERE user_id = {uidb}") == ("expired",)
        assert bb.one(h, "SELECT state FROM orders WHERE provider = 'stars'") == ("refunded",)
        m = sim.expect(uid, "⭐" + bb.NBSP + "500 was refunded to you.")
        assert "Your Pro plan has ended; your account is on Free." in m["text"]
        # the refunded_payment message Telegram sends after it changes nothing
        bb.wait_for(lambda: bb.count(h, "SELECT COUNT(*) FROM tg_updates WHERE state = 'new'") == 0
                 and bb.count(h, "SELECT COUNT(*) FROM tg_updates "
                              "WHERE body LIKE '%refunded_payment%'") == 1)
        assert bb.count(h, "SELECT COUNT(*) FROM payments WHERE kind = 'refund'") == 1
        assert bb.count(h, "SELECT COUNT(*) FROM billing_notices WHERE kind = 'refunded'") == 1
        # a second refund finds nothing left
        r = requests.post(h.url(f"/api/v1/admin/payments/{pid}/refund"), headers=auth,
                          json={}, timeout=30)
        assert r.status_code == 409, r.text
        assert sim.stats()["requests"]["refundStarPayment"] == 1
        sim.say(uid, "/billing")
        m = sim.expect(uid, "Your plan: Free")
        assert "refunded: asked by the user" in m["text"] or "— refunded" in m["text"]
        assert "paid with Telegram Stars" in m["text"]


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


    def test_stripe_renewal_paid_then_failed_then_recovered(self, stripe):
        sim = stripe.sim
        paid = stripe.buy()
        sim.settle()
        first = stripe.wait_state("active")["subscription"]
        sub_id = paid["subscription"]["id"]

        r = sim.sctl("POST", f"/subscriptions/{sub_id}/renew", {})
        assert r["paid"] is True
        sim.settle()
        cur = stripe.wait_state("active")["subscription"]
        assert cur["id"] == first["id"]
        item = sim.obj(sub_id)["items"]["data"][0]
        assert cur["current_period_end"] == item["current_period_end"] * 1000
        assert cur["current_period_end"] > first["current_period_end"]
        assert [x[0] for x in stripe.succeeded()] == [paid["invoice"]["id"], r["invoice"]["id"]]

        # the next renewal is declined: past_due with grace, the reason kept
        r = sim.sctl("POST", f"/subscriptions/{sub_id}/renew",
                     {"fail": True, "decline_code": "insufficient_funds"})
        assert r["paid"] is False
        failed_invoice = r["invoice"]["id"]
        sim.settle()
        cur = stripe.wait_state("past_due")
        assert cur["plan"] == "pro"  # the grace keeps it
        assert cur["subscription"]["grace_until"] > int(time.time() * 1000) + 2 * DAY_MS
        (row,) = [x for x in stripe.payments() if x["provider_payment_id"] == failed_invoice]
        assert row["status"] == "failed" and row["amount"] == 999
        assert "insufficient_funds" in row["reason"] and "attempt 1" in row["reason"]
        assert stripe.sql1("SELECT count(*) FROM billing_notices WHERE kind = 'payment_failed'") == "1"

        # Stripe retries the open invoice with a new card: recovered
        r = sim.sctl("POST", f"/subscriptions/{sub_id}/renew", {"card": "5555 5555 5555 4444"})
        assert r["paid"] is True and r["invoice"]["id"] == failed_invoice
        sim.settle()
        cur = stripe.wait_state("active")
        assert cur["subscription"]["grace_until"] is None
        (row,) = [x for x in stripe.payments() if x["provider_payment_id"] == failed_invoice]
        assert row["status"] == "succeeded" and row["attempts"] == 2
        assert len(stripe.succeeded()) == 3
        assert stripe.sql1("SELECT count(*) FROM subscriptions") == "1"

    def test_stripe_grace_ends_without_recovery(self, stripe):
        sim = stripe.sim
        paid = stripe.buy()
        sim.settle()
        stripe.wait_state("active")
        sim.sctl("POST", f"/subscriptions/{paid['subscription']['id']}/renew", {"fail": True})
        sim.settle()
        stripe.wait_state("past_due")
        # four days on Herald's clock: the three days of grace are over
        stripe.api("POST", "/test/clock", {"advance_ms": 4 * DAY_MS}, expect=200)
        cur = stripe.wait_state("expired", timeout=30)
        assert cur["plan"] == "free"
        assert stripe.sql1("SELECT plan FROM users WHERE telegram_id = 700") == "free"
        # ended here, so ended at Stripe too: the card is not retried
        wait_for(lambda: sim.obj(paid["subscription"]["id"])["status"] == "canceled",
                 timeout=20)

    @pytest.mark.parametrize("bot_mode", ["polling"])
    def test_stars_reminder_renewal_past_due_and_expiry(self, shop):
        h, sim = shop, shop.sim
        uid, late = 6501, 6502
        bb.onboard(sim, uid)
        bb.onboard(sim, late, "uz")
        bb.buy_pro_with_stars(h, sim, uid)
        bb.buy_pro_with_stars(h, sim, late, "uz")
        uidb, lateb = bb.user_id(h, uid), bb.user_id(h, late)
        end = int(bb.one(h, f"SELECT current_period_end FROM subscriptions WHERE user_id = {uidb}")[0])

        # three days before the end: a reminder with a Pay now button
        bb.advance(h, end - bb.now_ms(h) - 2 * DAY)
        m = sim.expect(uid, "⏰ Your Pro plan is paid until", timeout=30)
        assert "The next month costs ⭐" + bb.NBSP + "500." in m["text"]
        assert sim.button(m, "Pay now")["callback_data"] == "1:buy:pro.month.stars"
        sim.expect(late, "⏰ Sizning Pro tarifingiz", timeout=30)
        # Pay now starts the same purchase: a new order, a new invoice
        sim.press(uid, m, "Pay now")
        inv = bb.expect_invoice(sim, uid)
        assert bb.count(h, f"SELECT COUNT(*) FROM orders WHERE user_id = {uidb}") == 2
        assert bb.pay(sim, uid, inv)["ok"] is True
        m = sim.expect(uid, "Pro is renewed until")
        sub = bb.one(h, f"SELECT state, current_period_end FROM subscriptions WHERE user_id = {uidb}")
        assert sub[0] == "active" and int(sub[1]) > end + 27 * DAY
        assert bb.count(h, f"SELECT COUNT(*) FROM subscriptions WHERE user_id = {uidb}") == 1
        assert bb.count(h, f"SELECT COUNT(*) FROM payments WHERE user_id = {uidb}") == 2

        # the other user did not pay: past due after the end, with its grace
        bb.advance(h, 2 * DAY + 60 * 1000)
        m = sim.expect(late, "⚠️ Sizning Pro tarifingiz", timeout=30)
        assert sim.button(m, "Hozir toʻlash")["callback_data"] == "1:buy:pro.month.stars"
        assert bb.one(h, f"SELECT state FROM subscriptions WHERE user_id = {lateb}") == ("past_due",)
        assert bb.one(h, f"SELECT plan FROM users WHERE id = {lateb}") == ("pro",)
        sim.say(late, "/billing")
        m = sim.expect(late, "Tarifingiz: Pro")
        assert "⚠️" in m["text"]

        # the grace (3 days) runs out: down to free
        bb.advance(h, 3 * DAY + 60 * 1000)
        m = sim.expect(late, "tarifingiz tugadi, hisobingiz endi Bepul tarifda", timeout=30)
        assert sim.button(m, "Tarifni tanlash")["callback_data"] == "1:menu:subscribe"
        assert bb.one(h, f"SELECT state FROM subscriptions WHERE user_id = {lateb}") == ("expired",)
        assert bb.one(h, f"SELECT plan FROM users WHERE id = {lateb}") == ("free",)
        # the one who paid keeps the plan
        assert bb.one(h, f"SELECT plan FROM users WHERE id = {uidb}") == ("pro",)
        kinds = [r[0] for r in h.sql(f"SELECT kind FROM billing_notices WHERE user_id = {lateb} "
                                     f"ORDER BY id")]
        assert kinds == ["activated", "reminder", "past_due", "expired"]
        bb.wait_for(lambda: bb.count(h, "SELECT COUNT(*) FROM billing_notices WHERE sent_at IS NULL")
                 == 0)
