"""Stripe's wire details end to end: the real `herald run` against the real
`herald sim` (docs/billing.md, docs/sim-stripe.md). The purchase, failure,
renewal and refund workflows across providers are in
test_payment_workflows.py, which reuses StripeSim and Shop from here.

Each test starts one simulator (Telegram and Stripe in one process: the bot
token lets Herald's scheduler run, which ends grace periods) and one Herald
on the backend under test (SQLite, then PostgreSQL with Redis). The
simulator sends its signed webhooks to Herald's /hooks/stripe. A user buys
through the REST API and pays on the simulator's hosted page or through its
control API; the tests then assert on what Herald's API answers, what the
simulator received (its request log and its delivery log with Herald's
answers) and what Herald's database holds.
"""
import concurrent.futures
import hashlib
import hmac
import json
import os
import subprocess
import time

import pytest
import requests

from conftest import BIN, Sim, assert_no_sanitizer_report

KEY = "sk_test_herald_e2e_0123456789abcdef"
SECRET = "whsec_herald_e2e_0123456789abcdef"
TOKEN = "123456789:SIMTOKEN-stripe-e2e"
PINNED = "2025-11-17.clover"
USER_TG, ADMIN_TG = 700, 900
DAY_MS = 24 * 3600 * 1000


class StripeSim(Sim):
    """`herald sim` with its Stripe side configured, and helpers for the
    Stripe control API."""

    def start(self, timeout=20):
        self.log = open(self.logpath, "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        self.proc = subprocess.Popen(
            [BIN, "sim", "--listen", f"127.0.0.1:{self.port}", "--token", self.token,
             "--stripe-key", KEY, "--stripe-webhook-secret", SECRET],
            env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("herald sim exited:\n" + self.logtext())
            try:
                if requests.get(self.base + "/control/stripe", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("herald sim did not start:\n" + self.logtext())

    def sctl(self, method, path, body=None, expect=200, **params):
        r = requests.request(method, self.base + "/control/stripe" + path, json=body,
                             params=params, timeout=60)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def obj(self, id_):
        return self.sctl("GET", f"/objects/{id_}")

    def requests_to(self, method, prefix):
        return [q for q in self.sctl("GET", "/requests")["requests"]
                if q["method"] == method and q["path"].startswith(prefix)]

    def attempts(self):
        return self.sctl("GET", "/deliveries")["attempts"]

    def settle(self, timeout=30):
        """Wait until every delivery that is not held has been sent (each is
        sent only after Herald answered the one before)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            d = self.sctl("GET", "/deliveries")
            if all(q["held"] for q in d["queue"]):
                return d["attempts"]
            time.sleep(0.05)
        raise AssertionError(f"deliveries still queued: {d['queue']}")


@pytest.fixture
def ssim(tmp_path):
    s = StripeSim(str(tmp_path), token=TOKEN).start()
    yield s
    rc = s.stop()
    text = s.logtext()
    assert_no_sanitizer_report(text, "herald sim")
    assert rc == 0, f"herald sim exited {rc}:\n{text[-4000:]}"


class Shop:
    """Herald with Stripe on the simulator, a customer and an admin."""

    def __init__(self, h, sim):
        self.h, self.sim = h, sim
        self.key = h.user_with_key(USER_TG, "Ann")
        self.admin = h.user_with_key(ADMIN_TG, "Operator")
        self.user_id = int(self.sql1(f"SELECT id FROM users WHERE telegram_id = {USER_TG}"))

    def api(self, method, path, body=None, key=None, expect=None):
        r = requests.request(method, self.h.url(path), json=body, timeout=60,
                             headers={"Authorization": f"Bearer {key or self.key}"})
        if expect is not None:
            assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r

    def sql(self, q):
        return [tuple(str(v) for v in row) for row in self.h.sql(q)]

    def sql1(self, q):
        rows = self.sql(q)
        assert len(rows) == 1 and len(rows[0]) == 1, (q, rows)
        return rows[0][0]

    def subscribe(self, plan="pro", period="month", **extra):
        body = dict(plan=plan, period=period, provider="stripe", **extra)
        return self.api("POST", "/api/v1/subscriptions", body, expect=201).json()

    def pay_page(self, pay_url, card="4242 4242 4242 4242"):
        return requests.post(pay_url, data={"action": "pay", "card": card,
                                            "email": "ann@example.com"},
                             allow_redirects=False, timeout=60)

    def current(self):
        return self.api("GET", "/api/v1/subscriptions/current", expect=200).json()

    def payments(self):
        return self.api("GET", "/api/v1/payments", expect=200).json()["payments"]

    def wait_state(self, state, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cur = self.current()
            if cur["subscription"] and cur["subscription"]["state"] == state:
                return cur
            time.sleep(0.05)
        raise AssertionError(f"subscription never {state}: {self.current()}")

    def buy(self, delivery=None, card="4242 4242 4242 4242"):
        """Order pro monthly and pay through the control API (with the
        delivery shaping given); the pay answer."""
        order = self.subscribe()
        cs = order["pay_url"].rsplit("/", 1)[1]
        body = {"card": card}
        if delivery:
            body["delivery"] = delivery
        paid = self.sim.sctl("POST", f"/checkout/sessions/{cs}/pay", body)
        paid["order"] = order
        return paid

    def events(self):
        return self.sql("SELECT event_id, type, effect FROM provider_events "
                        "WHERE provider = 'stripe' ORDER BY id")

    def succeeded(self):
        return self.sql("SELECT provider_payment_id, amount FROM payments WHERE "
                        "kind = 'payment' AND status = 'succeeded' ORDER BY id")


@pytest.fixture
def shop(ssim, make_herald):
    h = make_herald(HERALD_BOT_TOKEN=TOKEN, HERALD_TELEGRAM_API=ssim.base,
                    HERALD_STRIPE_API=ssim.base + "/stripe", HERALD_STRIPE_SECRET_KEY=KEY,
                    HERALD_STRIPE_WEBHOOK_SECRET=SECRET, HERALD_TEST_CLOCK="1",
                    HERALD_ADMINS=str(ADMIN_TG))
    h.start()
    ssim.sctl("POST", "/config", {"webhook_url": h.url("/hooks/stripe"),
                                  "retry": {"base_ms": 50, "max_ms": 200, "max_attempts": 3}})
    for uid in (USER_TG, ADMIN_TG):
        ssim.user(uid)
    s = Shop(h, ssim)
    yield s
    # no secret in Herald's log: not the key, not the signing secret
    text = h.logtext()
    assert KEY not in text and SECRET not in text


def sign(body, t=None, secret=SECRET):
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


# ---- buying ----

# ---- renewals ----

# ---- cancel ----

def test_cancel_at_period_end(shop):
    sim = shop.sim
    paid = shop.buy()
    sim.settle()
    shop.wait_state("active")
    sub_id = paid["subscription"]["id"]

    r = shop.api("POST", "/api/v1/subscriptions/current/cancel", {}, expect=200).json()
    assert r["subscription"]["state"] == "canceled"
    assert r["subscription"]["cancel_at_period_end"] is True
    assert r["plan"] == "pro"
    # Stripe was told first, with a key naming the subscription and version
    (req,) = sim.requests_to("POST", f"/v1/subscriptions/{sub_id}")
    assert req["params"] == {"cancel_at_period_end": "true"}
    assert req["idempotency_key"].startswith(f"herald-sub-{sub_id}-v")
    assert req["status"] == 200
    assert sim.obj(sub_id)["cancel_at_period_end"] is True
    sim.settle()
    # its echo (customer.subscription.updated) changed nothing more
    assert shop.current()["subscription"]["state"] == "canceled"
    assert shop.sql1("SELECT count(*) FROM billing_notices WHERE kind = "
                     "'cancel_requested'") == "1"
    # cancelling again changes nothing and asks Stripe nothing
    shop.api("POST", "/api/v1/subscriptions/current/cancel", {}, expect=200)
    assert len(sim.requests_to("POST", f"/v1/subscriptions/{sub_id}")) == 1

    # the period ends at Stripe: deleted, down to free
    r = sim.sctl("POST", f"/subscriptions/{sub_id}/renew", {})
    assert r["ended"] is True
    sim.settle()
    cur = shop.wait_state("expired")
    assert cur["plan"] == "free"
    assert len(shop.succeeded()) == 1  # nothing more was charged


# ---- refunds ----

# ---- deliveries that repeat, come reversed, at once, or forged ----

def test_duplicate_and_reversed_webhooks(shop):
    sim = shop.sim
    paid = shop.buy(delivery={"twice": True, "reverse": True})
    attempts = sim.settle()
    shop.wait_state("active")
    # reversed: checkout.session.completed came first, and activated
    assert attempts[0]["type"] == "checkout.session.completed"
    assert all(a["status"] == 200 for a in attempts)
    by_event = {}
    for a in attempts:
        by_event.setdefault(a["event_id"], []).append(json.loads(a["answer"]))
    assert all(len(v) == 2 for v in by_event.values())
    for first, second in by_event.values():
        assert first["repeat"] is False and second["repeat"] is True
    # exactly one effect: one payment, one subscription, each event once
    assert shop.succeeded() == [(paid["invoice"]["id"], "999")]
    assert shop.sql1("SELECT count(*) FROM subscriptions") == "1"
    assert len(shop.events()) == len(by_event)
    assert shop.sql1("SELECT count(*) FROM billing_notices WHERE kind = 'activated'") == "1"

    # a renewal, twice and reversed too
    sub_id = paid["subscription"]["id"]
    sim.sctl("POST", f"/subscriptions/{sub_id}/renew", {"delivery": {"twice": True,
                                                                      "reverse": True}})
    sim.settle()
    assert len(shop.succeeded()) == 2
    assert shop.current()["subscription"]["state"] == "active"


def test_concurrent_deliveries_of_one_event(shop):
    sim = shop.sim
    paid = shop.buy(delivery={"hold": True})
    held = [q for q in sim.sctl("GET", "/deliveries")["queue"] if q["held"]]
    (ev_id,) = [q["event_id"] for q in held if q["type"] == "invoice.paid"]
    body = json.dumps(sim.obj(ev_id)).encode()
    header = sign(body)

    def post(_):
        r = requests.post(shop.h.url("/hooks/stripe"), data=body, timeout=60,
                          headers={"Stripe-Signature": header,
                                   "Content-Type": "application/json"})
        return r.status_code, r.json()

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(post, range(50)))
    assert all(status == 200 for status, _ in answers), answers
    applied = [a for _, a in answers if not a["repeat"]]
    assert len(applied) == 1, answers
    assert "none -> active" in applied[0]["effect"]
    assert shop.succeeded() == [(paid["invoice"]["id"], "999")]
    assert shop.sql1("SELECT count(*) FROM subscriptions") == "1"
    assert shop.sql1(f"SELECT count(*) FROM provider_events WHERE event_id = '{ev_id}'") == "1"
    assert shop.current()["subscription"]["state"] == "active"

    # the held deliveries go now: the same event once more, and the rest
    sim.sctl("POST", "/deliveries/release", {})
    sim.settle()
    assert shop.succeeded() == [(paid["invoice"]["id"], "999")]
    assert shop.sql1("SELECT count(*) FROM billing_notices WHERE kind = 'activated'") == "1"


@pytest.mark.parametrize("signature", ["wrong_secret", "stale", "none"])
def test_bad_signatures_change_nothing(shop, signature):
    sim = shop.sim
    shop.buy(delivery={"signature": signature})
    attempts = sim.settle()
    # every attempt refused with 400 (and retried by the simulator)
    assert attempts and all(a["status"] == 400 for a in attempts)
    assert all("invalid-signature" in a["answer"] for a in attempts)
    cur = shop.current()
    assert cur["plan"] == "free" and cur["subscription"] is None
    assert shop.payments() == [] and shop.events() == []
    # nothing was read from Stripe on their account
    assert sim.requests_to("GET", "/v1/") == []


def test_tampered_body_is_refused(shop):
    sim = shop.sim
    paid = shop.buy(delivery={"hold": True})
    (ev_id,) = [q["event_id"] for q in sim.sctl("GET", "/deliveries")["queue"]
                if q["type"] == "invoice.paid"]
    event = sim.obj(ev_id)
    body = json.dumps(event).encode()
    header = sign(body)
    forged = body.replace(b'"amount_paid": 999', b'"amount_paid": 1')
    assert forged != body
    for data, hdr in [(forged, header),                                  # body changed
                      (body, sign(body, t=int(time.time()) - 301)),      # too old
                      (body, sign(body, secret="whsec_not_ours")),       # wrong key
                      (body, header.replace("v1=", "v0="))]:             # no v1
        r = requests.post(shop.h.url("/hooks/stripe"), data=data, timeout=30,
                          headers={"Stripe-Signature": hdr})
        assert r.status_code == 400, r.text
        assert r.json()["type"].endswith("invalid-signature")
    assert shop.events() == [] and shop.payments() == []
    # the genuine bytes go through
    r = requests.post(shop.h.url("/hooks/stripe"), data=body, timeout=30,
                      headers={"Stripe-Signature": header})
    assert r.status_code == 200 and r.json()["repeat"] is False
    assert shop.succeeded() == [(paid["invoice"]["id"], "999")]


# ---- order and layouts ----

def test_late_update_after_deletion_changes_nothing(shop):
    sim = shop.sim
    paid = shop.buy()
    sim.settle()
    shop.wait_state("active")
    sub_id = paid["subscription"]["id"]
    # cancel at period end at Stripe, its update held back...
    sim.sctl("POST", f"/subscriptions/{sub_id}/cancel",
             {"when": "period_end", "delivery": {"hold": True}})
    # ...then ended at once, delivered now
    sim.sctl("POST", f"/subscriptions/{sub_id}/cancel", {"when": "now"})
    sim.settle()
    assert shop.wait_state("expired")["plan"] == "free"
    # the late update arrives: its snapshot is an active subscription set to
    # cancel, but Stripe says canceled now, and an ended one stays ended
    sim.sctl("POST", "/deliveries/release", {})
    attempts = sim.settle()
    late = [a for a in attempts if a["type"] == "customer.subscription.updated"]
    assert late and all(a["status"] == 200 for a in late)
    assert "ignored" in json.loads(late[-1]["answer"])["effect"]
    cur = shop.current()
    assert cur["plan"] == "free" and cur["subscription"]["state"] == "expired"
    assert shop.sql1("SELECT count(*) FROM billing_notices WHERE kind = "
                     "'cancel_requested'") == "0"


def test_cancel_and_resume_at_stripe(shop):
    sim = shop.sim
    paid = shop.buy()
    sim.settle()
    shop.wait_state("active")
    sub_id = paid["subscription"]["id"]
    sim.sctl("POST", f"/subscriptions/{sub_id}/cancel", {"when": "period_end"})
    sim.settle()
    cur = shop.wait_state("canceled")
    assert cur["subscription"]["cancel_at_period_end"] is True and cur["plan"] == "pro"
    sim.sctl("POST", f"/subscriptions/{sub_id}/cancel", {"when": "resume"})
    sim.settle()
    cur = shop.wait_state("active")
    assert cur["subscription"]["cancel_at_period_end"] is False
    kinds = shop.sql("SELECT kind FROM billing_notices ORDER BY id")
    assert kinds == [("activated",), ("cancel_requested",), ("reactivated",)]
    # and it renews as before
    sim.sctl("POST", f"/subscriptions/{sub_id}/renew", {})
    sim.settle()
    assert len(shop.succeeded()) == 2


def test_old_layout_webhooks(shop):
    """Webhooks rendered in a version before 2025-03-31 (invoice.subscription,
    invoice.payment_intent, charge.invoice, periods on the subscription)
    while Herald's own requests stay pinned to the new layout."""
    sim = shop.sim
    sim.sctl("POST", "/config", {"layout": "old"})
    paid = shop.buy()
    attempts = sim.settle()
    assert all(a["status"] == 200 for a in attempts)
    first = shop.wait_state("active")["subscription"]
    sub_id = paid["subscription"]["id"]
    inv = sim.sctl("GET", f"/objects/{paid['invoice']['id']}", layout="old")
    assert inv["subscription"] == sub_id  # the old layout indeed
    r = sim.sctl("POST", f"/subscriptions/{sub_id}/renew", {})
    sim.settle()
    cur = shop.wait_state("active")["subscription"]
    assert cur["current_period_end"] > first["current_period_end"]
    assert [x[0] for x in shop.succeeded()] == [paid["invoice"]["id"], r["invoice"]["id"]]
    # a refund at Stripe: the old charge names its invoice
    renewal = sim.sctl("GET", f"/objects/{r['invoice']['id']}", layout="old")
    sim.sctl("POST", "/refunds", {"charge": renewal["charge"], "amount": 100})
    sim.settle()
    (ref,) = [x for x in shop.payments() if x["kind"] == "refund"]
    assert ref["amount"] == 100
    assert shop.sql1(f"SELECT p.provider_payment_id FROM payments r JOIN payments p ON "
                     f"p.id = r.refund_of WHERE r.id = {ref['id']}") == r["invoice"]["id"]
    assert all(q["stripe_version"] == PINNED for q in sim.sctl("GET", "/requests")["requests"])
    # the old charge named its invoice: no search among the customer's
    assert not any(q["path"] == "/v1/invoices" for q in sim.requests_to("GET", "/v1/invoices"))


# ---- when Stripe says no ----

def test_stripe_refusing_herald_is_not_the_users_fault(ssim, make_herald):
    """A wrong secret key, or Stripe out of reach: the user gets 503-like
    answers about the provider, never a 401 about their own credentials,
    and nothing is half done."""
    wrong = make_herald(HERALD_STRIPE_API=ssim.base + "/stripe",
                        HERALD_STRIPE_SECRET_KEY="sk_test_not_the_right_one_1234",
                        HERALD_STRIPE_WEBHOOK_SECRET=SECRET)
    wrong.start()
    key = wrong.user_with_key(USER_TG)
    r = requests.post(wrong.url("/api/v1/subscriptions"), timeout=60,
                      headers={"Authorization": f"Bearer {key}"},
                      json={"plan": "pro", "period": "month", "provider": "stripe"})
    assert r.status_code == 422, r.text
    assert r.json()["type"] == "/problems/provider-unavailable"
    assert "sk_test" not in r.text and "1234" not in r.text
    (req,) = ssim.requests_to("POST", "/v1/checkout/sessions")
    assert req["status"] == 401 and req["auth"] == "bearer"
    # the order waits, unpaid and unlinked
    assert [tuple(str(v) for v in row) for row in
            wrong.sql("SELECT state, coalesce(provider_ref, '') FROM orders")] == \
        [("pending", "")]
    assert "sk_test_not_the_right_one_1234" not in wrong.logtext()
    wrong.stop()

    down = make_herald(HERALD_STRIPE_API="http://127.0.0.1:9/stripe",
                       HERALD_STRIPE_SECRET_KEY=KEY, HERALD_STRIPE_WEBHOOK_SECRET=SECRET)
    down.start()
    key = down.user_with_key(USER_TG + 1)  # (on SQLite both share one file)
    r = requests.post(down.url("/api/v1/subscriptions"), timeout=60,
                      headers={"Authorization": f"Bearer {key}"},
                      json={"plan": "pro", "period": "month", "provider": "stripe"})
    assert r.status_code == 422 and r.json()["type"] == "/problems/provider-unavailable"
    # a webhook that needs the API cannot be applied: 503, nothing recorded
    body = json.dumps({"id": "evt_down_1", "object": "event", "type": "invoice.paid",
                       "data": {"object": {"id": "in_x", "object": "invoice"}}}).encode()
    r = requests.post(down.url("/hooks/stripe"), data=body, timeout=60,
                      headers={"Stripe-Signature": sign(body)})
    assert r.status_code == 503 and r.headers.get("Retry-After")
    assert str(down.sql("SELECT count(*) FROM provider_events")[0][0]) == "0"
