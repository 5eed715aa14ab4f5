"""The Stripe simulator inside `herald sim` (docs/sim-stripe.md).

One simulator process serves the module; every test starts from
POST /control/stripe/reset and gets its own webhook receiver (so a delivery
still in flight from an earlier test cannot reach it). The receiver checks
every Stripe-Signature with its own HMAC-SHA256 (hmac/hashlib, not the
simulator's code) and answers 400 to a bad one, as a real endpoint would.
Tests drive the API under /stripe/v1 with form bodies written the way
stripe-node writes them, and the control API under /control/stripe, and
assert on what the API answers and what the receiver got.
"""
import hashlib
import hmac
import http.server
import json
import os
import signal
import subprocess
import threading
import time
import urllib.parse

import pytest
import requests

import servers
from conftest import BIN, assert_no_sanitizer_report

KEY = "sk_test_e2e_0123456789abcdef"
SECRET = "whsec_e2e_secret_0123456789abcdef"
OLD = "2024-06-20"
NEW = "2025-03-31.basil"


# ---- an independent Stripe-Signature check (protocols.md B.13) ----

def sign(secret, t, body):
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def verify(header, body, secret=SECRET, tolerance=300, now=None):
    """'ok', or why the signature is refused."""
    if not header:
        return "no header"
    items = [p.split("=", 1) for p in header.split(",") if "=" in p]
    ts = [v for k, v in items if k.strip() == "t"]
    v1s = [v for k, v in items if k.strip() == "v1"]
    if len(ts) != 1 or not v1s:
        return "malformed"
    t = int(ts[0])
    want = sign(secret, t, body)
    if not any(hmac.compare_digest(want, v) for v in v1s):
        return "bad signature"
    if abs((now or time.time()) - t) > tolerance:
        return "stale"
    return "ok"


# ---- the webhook endpoint ----

class Receiver:
    """Records each POST; answers 400 to a bad signature, else 200 (or the
    next status of a script)."""

    def __init__(self, statuses=()):
        self.got = []
        self.statuses = list(statuses)
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n)
                why = verify(self.headers.get("Stripe-Signature"), raw)
                with outer.lock:
                    outer.got.append({"headers": dict(self.headers), "raw": raw,
                                      "event": json.loads(raw), "sig": why})
                    status = outer.statuses.pop(0) if outer.statuses else None
                if status is None:
                    status = 200 if why == "ok" else 400
                answer = b"ok" if status == 200 else f"refused: {why}".encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/stripe"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.got) >= n:
                    return list(self.got)
            time.sleep(0.02)
        raise AssertionError(f"the receiver got {len(self.got)} of {n} deliveries: "
                             f"{[g['event']['type'] for g in self.got]}")

    def quiet(self, n, wait=0.5):
        """Assert that no more than n deliveries arrive within wait seconds."""
        time.sleep(wait)
        with self.lock:
            assert len(self.got) == n, [g["event"]["type"] for g in self.got]

    def types(self):
        with self.lock:
            return [g["event"]["type"] for g in self.got]

    def event(self, type_):
        with self.lock:
            for g in self.got:
                if g["event"]["type"] == type_:
                    return g["event"]
        raise AssertionError(f"no {type_} among {self.types()}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---- stripe-node's form encoding (protocols.md B.2) ----

def encode(params, prefix=None):
    """Nested dicts and lists in bracket notation, brackets left as they
    are, values percent-encoded (RFC 3986 plus !*()')."""
    out = []
    items = params.items() if isinstance(params, dict) else enumerate(params)
    for k, v in items:
        key = f"{prefix}[{k}]" if prefix is not None else str(k)
        if isinstance(v, (dict, list)):
            out.append(encode(v, key))
        else:
            if v is True or v is False:
                v = "true" if v else "false"
            out.append(key + "=" + urllib.parse.quote(str(v), safe="-_.~"))
    return "&".join(x for x in out if x)


class Sim:
    def __init__(self, base):
        self.base = base
        self.http = requests.Session()

    def api(self, method, path, params=None, key=KEY, headers=None, body=None, auth=None):
        """A Stripe API call: (status, JSON, headers)."""
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        if key is not None:
            h["Authorization"] = f"Bearer {key}"
        h.update(headers or {})
        url = self.base + "/stripe/v1" + path
        if method in ("GET", "DELETE") and params:
            url += "?" + encode(params)
            data = None
        else:
            data = body if body is not None else (encode(params) if params else None)
        r = self.http.request(method, url, data=data, headers=h, auth=auth, timeout=30)
        return r.status_code, r.json(), r.headers

    def ok(self, method, path, params=None, **kw):
        status, body, _ = self.api(method, path, params, **kw)
        assert status == 200, (method, path, body)
        return body

    def err(self, status, method, path, params=None, **kw):
        got, body, _ = self.api(method, path, params, **kw)
        assert got == status, (method, path, got, body)
        assert set(body) == {"error"}, body
        return body["error"]

    def ctl(self, method, path, body=None, expect=200, **params):
        r = self.http.request(method, self.base + "/control/stripe" + path, json=body,
                              params=params, timeout=30)
        assert r.status_code == expect, (path, r.status_code, r.text)
        return r.json()

    def session(self, mode="subscription", amount=999, interval="month", **extra):
        item = {"price_data": {"currency": "usd", "product_data": {"name": "Pro"},
                               "unit_amount": amount}, "quantity": 1}
        if mode == "subscription":
            item["price_data"]["recurring"] = {"interval": interval}
        p = {"mode": mode, "success_url": "https://shop.example/ok?sid={CHECKOUT_SESSION_ID}",
             "cancel_url": "https://shop.example/cancel", "line_items": [item]}
        p.update(extra)
        return self.ok("POST", "/checkout/sessions", p)

    def pay(self, cs, card="4242 4242 4242 4242", expect=200, **extra):
        return self.ctl("POST", f"/checkout/sessions/{cs['id']}/pay", dict(card=card, **extra),
                        expect=expect)

    def subscribe(self, card="4242424242424242", **extra):
        cs = self.session(**extra)
        return self.pay(cs, card)


def sim_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env["HERALD_LOG_LEVEL"] = "info"  # one line per request: checked for secrets
    return env


@pytest.fixture(scope="module")
def sim_proc(tmp_path_factory):
    port = servers.free_port()
    log = tmp_path_factory.mktemp("stripe") / "sim.log"
    with open(log, "wb") as errf:
        p = subprocess.Popen([BIN, "sim", "--listen", f"127.0.0.1:{port}", "--stripe-key", KEY,
                              "--stripe-webhook-secret", SECRET],
                             stdout=subprocess.PIPE, stderr=errf, env=sim_env())
        line = p.stdout.readline().decode()
        assert line.strip() == f"sim listening on http://127.0.0.1:{port}", line
        yield Sim(f"http://127.0.0.1:{port}")
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = "killed"
    text = log.read_text(errors="replace")
    assert_no_sanitizer_report(text, "herald sim")
    assert rc == 0, f"herald sim exited {rc}:\n{text[-3000:]}"
    # no secret in the log: not the key, not the signing secret
    assert KEY not in text and SECRET not in text


@pytest.fixture
def hook():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sim(sim_proc, hook):
    sim_proc.ctl("POST", "/reset", {})
    sim_proc.ctl("POST", "/config", {"webhook_url": hook.url,
                                      "retry": {"base_ms": 50, "max_ms": 200}})
    return sim_proc


def types(events):
    return [e["type"] for e in events]


# ---- authentication ----

def test_authentication(sim):
    e = sim.err(401, "GET", "/customers", key=None)
    assert e["type"] == "invalid_request_error"
    assert e["message"].startswith("You did not provide an API key")
    e = sim.err(401, "GET", "/customers", key="sk_test_wrong_key_9876")
    assert e["message"] == "Invalid API Key provided: sk_test_****9876"
    sim.err(401, "GET", "/customers", key="")
    # Basic with the key as the user name and no password, as curl -u does
    status, body, _ = sim.api("GET", "/customers", key=None, auth=(KEY, ""))
    assert status == 200 and body["object"] == "list"
    status, _, _ = sim.api("GET", "/customers", key=None, auth=("sk_test_nope", ""))
    assert status == 401
    status, _, _ = sim.api("GET", "/customers", key=None,
                           headers={"Authorization": "Basic !!!not-base64"})
    assert status == 401
    status, _, _ = sim.api("GET", "/customers", key=None,
                           headers={"Authorization": f"Token {KEY}"})
    assert status == 401
    # what was recorded names the scheme, never a key
    reqs = sim.ctl("GET", "/requests")["requests"]
    assert [r["auth"] for r in reqs] == ["none", "bearer", "bearer", "basic", "basic", "basic",
                                        "other"]
    assert [r["status"] for r in reqs] == [401, 401, 401, 200, 401, 401, 401]
    text = json.dumps(reqs)
    assert KEY not in text and "sk_test_wrong_key_9876" not in text
    # a new key from the control API replaces the old one
    sim.ctl("POST", "/config", {"key": "sk_test_rotated_000000"})
    assert sim.api("GET", "/customers")[0] == 401
    assert sim.api("GET", "/customers", key="sk_test_rotated_000000")[0] == 200


# ---- form parsing ----

def test_form_nested_keys_arrays_and_encodings(sim):
    # brackets encoded in one key and not in another; a space as + and as
    # %20; UTF-8; two line items; metadata keys that are digits
    body = ("mode=subscription"
            "&success_url=https%3A%2F%2Fshop%2Fok%3Fsid%3D%7BCHECKOUT_SESSION_ID%7D"
            "&line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=usd"
            "&line_items[0][price_data][product_data][name]=Pro+plan"
            "&line_items[0][price_data][unit_amount]=999"
            "&line_items[0][price_data][recurring][interval]=month"
            "&line_items[0][quantity]=2"
            "&line_items[1][price_data][currency]=usd"
            "&line_items[1][price_data][product_data][name]=Extra%20seat"
            "&line_items[1][price_data][unit_amount]=100"
            "&line_items[1][price_data][recurring][interval]=month"
            "&line_items[1][quantity]=3"
            "&metadata[user_id]=42&metadata[note]=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82"
            "&metadata[0]=zero&client_reference_id=user_42"
            "&subscription_data[metadata][plan]=pro&expand[]=line_items")
    # a path that cannot be expanded is refused before anything is made
    status, s, _ = sim.api("POST", "/checkout/sessions", body=body + "&expand[]=mode")
    assert status == 400 and "cannot be expanded (mode)" in s["error"]["message"], s
    assert sim.ok("GET", "/checkout/sessions")["data"] == []
    status, s, _ = sim.api("POST", "/checkout/sessions", body=body + "&expand[]=customer")
    assert status == 200, s
    assert [i["quantity"] for i in s["line_items"]["data"]] == [2, 3]
    assert s["amount_total"] == 2 * 999 + 3 * 100
    assert s["success_url"] == "https://shop/ok?sid={CHECKOUT_SESSION_ID}"
    assert s["metadata"] == {"user_id": "42", "note": "привет", "0": "zero"}
    assert s["client_reference_id"] == "user_42" and s["customer"] is None
    items = sim.ok("GET", f"/checkout/sessions/{s['id']}/line_items")["data"]
    assert [(i["description"], i["quantity"], i["amount_total"]) for i in items] == \
        [("Pro plan", 2, 1998), ("Extra seat", 3, 300)]
    # the tree the simulator read, as GET /control/stripe/requests shows it
    params = sim.ctl("GET", "/requests")["requests"][-2]["params"]
    assert params["line_items"][1] == {
        "price_data": {"currency": "usd", "product_data": {"name": "Extra seat"},
                       "unit_amount": "100", "recurring": {"interval": "month"}},
        "quantity": "3"}
    assert params["expand"] == ["line_items", "customer"]
    assert params["metadata"]["0"] == "zero"
    # GET filters in the query string use the same syntax
    sim.ok("POST", "/customers", {"email": "a+b@example.com"})
    found = sim.ok("GET", "/customers", {"email": "a+b@example.com", "created": {"gte": 0}})
    assert [c["email"] for c in found["data"]] == ["a+b@example.com"]
    assert sim.ctl("GET", "/requests")["requests"][-1]["query"] == {
        "email": "a+b@example.com", "created": {"gte": "0"}}
    # malformed bodies are refused and create nothing
    for bad in ["mode=payment&a[b=1", "mode=%zz", "mode=payment&metadata=1&metadata[k]=2",
                "line_items[0][quantity]=1&line_items[x][quantity]=1", "k=%C3%28"]:
        e = sim.err(400, "POST", "/checkout/sessions", body=bad)
        assert e["type"] == "invalid_request_error" and e["message"].startswith("Invalid request")
    assert [x["id"] for x in sim.ok("GET", "/checkout/sessions")["data"]] == [s["id"]]


def test_metadata_update_semantics(sim):
    c = sim.ok("POST", "/customers", {"email": "m@example.com",
                                      "metadata": {"a": "1", "b": "2"}})
    c = sim.ok("POST", f"/customers/{c['id']}", {"metadata": {"b": "", "c": "3"}})
    assert c["metadata"] == {"a": "1", "c": "3"}
    c = sim.ok("POST", f"/customers/{c['id']}", body="metadata=")
    assert c["metadata"] == {}
    e = sim.err(400, "POST", f"/customers/{c['id']}", {"metadata": {"k" * 41: "v"}})
    assert e["param"] == "metadata"
    e = sim.err(400, "POST", "/customers", {"metadata": {f"k{i}": "v" for i in range(51)}})
    assert "50" in e["message"]


# ---- idempotency ----

def test_idempotent_replay_and_mismatch(sim):
    h = {"Idempotency-Key": "stripe-node-retry-7c1f"}
    s1, b1, h1 = sim.api("POST", "/customers", {"email": "i@example.com"}, headers=h)
    s2, b2, h2 = sim.api("POST", "/customers", {"email": "i@example.com"}, headers=h)
    assert s1 == s2 == 200 and b1 == b2
    assert "Idempotent-Replayed" not in h1 and h2["Idempotent-Replayed"] == "true"
    assert h1["Request-Id"].startswith("req_") and h2["Request-Id"] != h1["Request-Id"]
    assert h2["Original-Request"] == h1["Request-Id"]
    assert len(sim.ok("GET", "/customers")["data"]) == 1
    # the same key with other parameters
    e = sim.err(400, "POST", "/customers", {"email": "other@example.com"}, headers=h)
    assert e["type"] == "idempotency_error" and "stripe-node-retry-7c1f" in e["message"]
    # keyed by (key, method, path): the same key on another path is new
    s3, b3, _ = sim.api("POST", f"/customers/{b1['id']}", {"name": "Ann"}, headers=h)
    assert s3 == 200 and b3["name"] == "Ann"
    # a request refused by validation is not saved; the key can be used again
    h = {"Idempotency-Key": "k-validation"}
    e = sim.err(400, "POST", "/checkout/sessions", {"mode": "payment"}, headers=h)
    assert e["code"] == "parameter_missing"
    s = sim.session(mode="payment")
    status, again, hh = sim.api("POST", "/checkout/sessions", {
        "mode": "payment", "line_items": [{"price_data": {
            "currency": "usd", "unit_amount": 5, "product_data": {"name": "x"}},
            "quantity": 1}]}, headers=h)
    assert status == 200 and again["id"] != s["id"] and "Idempotent-Replayed" not in hh
    # too long a key
    e = sim.err(400, "POST", "/customers", {}, headers={"Idempotency-Key": "k" * 256})
    assert "255" in e["message"]
    # every API request was recorded with its key
    posts = [r for r in sim.ctl("GET", "/requests")["requests"] if r["method"] == "POST"]
    assert [r["idempotency_key"] for r in posts[:4]] == ["stripe-node-retry-7c1f"] * 4
    assert [r["replayed"] for r in posts[:4]] == [False, True, False, False]
    assert [r["status"] for r in posts[:4]] == [200, 200, 400, 200]


# ---- errors ----

@pytest.mark.parametrize("params,status,code,param", [
    ({}, 400, "parameter_missing", "mode"),
    ({"mode": ""}, 400, "parameter_invalid_empty", "mode"),
    ({"mode": "payment"}, 400, "parameter_missing", "line_items"),
    ({"mode": "payment", "line_items": [{"price_data": {
        "currency": "usd", "unit_amount": "abc", "product_data": {"name": "x"}},
        "quantity": 1}]}, 400, "parameter_invalid_integer",
     "line_items[0][price_data][unit_amount]"),
    ({"mode": "payment", "line_items": [{"price_data": {
        "currency": "usd", "unit_amount": 5, "product_data": {"name": "x"}}}]},
     400, "parameter_missing", "line_items[0][quantity]"),
    ({"mode": "payment", "line_items": [{"price": "price_nope", "quantity": 1}]},
     400, "resource_missing", "line_items[0][price]"),
    ({"mode": "payment", "customer": "cus_nope", "line_items": [{"price_data": {
        "currency": "usd", "unit_amount": 5, "product_data": {"name": "x"}}, "quantity": 1}]},
     400, "resource_missing", "customer"),
    ({"mode": "payment", "bogus": "1"}, 400, "parameter_unknown", "bogus"),
    ({"mode": "payment", "line_items": [{"price_data": {
        "currency": "usd", "unit_amount": 5, "product_data": {"name": "x", "colour": "red"}},
        "quantity": 1}]}, 400, "parameter_unknown",
     "line_items[0][price_data][product_data][colour]"),
    ({"mode": "payment", "success_url": "javascript:alert(1)"}, 400, "url_invalid", "success_url"),
    ({"mode": "payment", "customer_email": "not an email"}, 400, "email_invalid",
     "customer_email"),
    ({"mode": "payment", "customer": "cus_x", "customer_email": "a@b.co"}, 400,
     "parameters_exclusive", "customer_email"),
])
def test_checkout_parameter_errors(sim, params, status, code, param):
    e = sim.err(status, "POST", "/checkout/sessions", params)
    assert e["type"] == "invalid_request_error"
    assert e["code"] == code and e["param"] == param, e
    assert e["doc_url"] == "https://stripe.com/docs/error-codes/" + code.replace("_", "-")
    assert e["message"]


def test_checkout_mode_rules(sim):
    e = sim.err(400, "POST", "/checkout/sessions", {"mode": "rent"})
    assert e["param"] == "mode" and "Invalid mode" in e["message"] and "code" not in e
    e = sim.err(400, "POST", "/checkout/sessions", {
        "mode": "payment", "line_items": [{"price_data": {
            "currency": "usd", "unit_amount": 5, "product_data": {"name": "x"},
            "recurring": {"interval": "month"}}, "quantity": 1}]})
    assert "recurring price" in e["message"]
    e = sim.err(400, "POST", "/checkout/sessions", {
        "mode": "subscription", "line_items": [{"price_data": {
            "currency": "usd", "unit_amount": 5, "product_data": {"name": "x"}},
            "quantity": 1}]})
    assert "at least one recurring price" in e["message"]
    e = sim.err(400, "POST", "/checkout/sessions", {
        "mode": "subscription", "line_items": [{"price_data": {
            "currency": "usd", "unit_amount": 5, "product_data": {"name": "x"},
            "recurring": {"interval": "fortnight"}}, "quantity": 1}]})
    assert e["param"] == "line_items[0][price_data][recurring][interval]"
    assert sim.ok("GET", "/checkout/sessions")["data"] == []


def test_resource_and_url_errors(sim):
    for path, noun in [("/customers/cus_nope", "customer"),
                       ("/checkout/sessions/cs_test_nope", "checkout.session"),
                       ("/subscriptions/sub_nope", "subscription"),
                       ("/invoices/in_nope", "invoice"),
                       ("/payment_intents/pi_nope", "payment_intent"),
                       ("/charges/ch_nope", "charge"),
                       ("/refunds/re_nope", "refund"),
                       ("/events/evt_nope", "event")]:
        e = sim.err(404, "GET", path)
        assert e["code"] == "resource_missing" and e["param"] == "id"
        assert e["message"] == f"No such {noun}: '{path.rsplit('/', 1)[1]}'"
    e = sim.err(404, "GET", "/nothing_here")
    assert e["message"].startswith("Unrecognized request URL (GET: /v1/nothing_here)")
    e = sim.err(404, "DELETE", "/invoices")
    assert e["message"].startswith("Unrecognized request URL (DELETE: /v1/invoices)")
    e = sim.err(400, "GET", "/customers", {"limit": 0})
    assert e["code"] == "parameter_invalid_integer" and e["param"] == "limit"
    e = sim.err(400, "GET", "/customers", {"colour": "red"})
    assert e["code"] == "parameter_unknown"
    e = sim.err(400, "GET", "/customers", headers={"Stripe-Version": "yesterday"})
    assert e["message"] == "Invalid Stripe API version: yesterday"
    # the error carries the request's log URL, and the Request-Id header matches
    status, body, headers = sim.api("GET", "/customers/cus_nope")
    assert body["error"]["request_log_url"].endswith(headers["Request-Id"])


# ---- checkout: paying ----

def test_checkout_subscription_paid(sim, hook):
    cs = sim.session(client_reference_id="user_42", metadata={"user_id": "42"},
                     subscription_data={"metadata": {"user_id": "42", "plan": "pro"}},
                     customer_email="ann@example.com")
    assert cs["status"] == "open" and cs["payment_status"] == "unpaid"
    assert cs["url"] == f"{sim.base}/stripe/checkout/{cs['id']}"
    assert cs["id"].startswith("cs_test_") and cs["expires_at"] - cs["created"] == 86400
    paid = sim.pay(cs)
    want = ["customer.created", "customer.subscription.created", "invoice.paid",
            "checkout.session.completed"]
    assert all(t in types(paid["events"]) for t in want)
    got = hook.wait(len(paid["events"]))
    assert [g["event"]["id"] for g in got] == [e["id"] for e in paid["events"]]
    assert all(g["sig"] == "ok" for g in got)
    assert all(g["headers"]["Content-Type"] == "application/json; charset=utf-8" for g in got)
    done = hook.event("checkout.session.completed")["data"]["object"]
    sub = hook.event("customer.subscription.created")["data"]["object"]
    inv = hook.event("invoice.paid")["data"]["object"]
    assert done["status"] == "complete" and done["payment_status"] == "paid"
    assert done["client_reference_id"] == "user_42" and done["metadata"] == {"user_id": "42"}
    assert done["customer"].startswith("cus_") and done["subscription"] == sub["id"]
    assert done["customer_details"]["email"] == "ann@example.com"
    assert sub["id"].startswith("sub_") and sub["status"] == "active"
    assert sub["customer"] == done["customer"]
    assert sub["metadata"] == {"user_id": "42", "plan": "pro"}
    item = sub["items"]["data"][0]
    assert item["id"].startswith("si_") and item["price"]["unit_amount"] == 999
    assert item["price"]["recurring"]["interval"] == "month"
    assert 28 * 86400 <= item["current_period_end"] - item["current_period_start"] <= 31 * 86400
    assert inv["billing_reason"] == "subscription_create" and inv["status"] == "paid"
    assert inv["amount_paid"] == 999 and inv["customer_email"] == "ann@example.com"
    assert inv["parent"]["subscription_details"]["subscription"] == sub["id"]
    assert inv["lines"]["data"][0]["period"]["end"] == item["current_period_end"]
    pi_id = inv["payments"]["data"][0]["payment"]["payment_intent"]
    pi = sim.ok("GET", f"/payment_intents/{pi_id}")
    assert pi["status"] == "succeeded" and pi["amount_received"] == 999
    ch = sim.ok("GET", f"/charges/{pi['latest_charge']}")
    assert ch["paid"] and ch["status"] == "succeeded" and ch["amount_refunded"] == 0
    assert ch["payment_method_details"]["card"]["last4"] == "4242"
    # the API agrees with the events
    s = sim.ok("GET", f"/checkout/sessions/{cs['id']}")
    assert s["status"] == "complete" and s["subscription"] == sub["id"] and s["url"] is None
    subs = sim.ok("GET", "/subscriptions", {"customer": sub["customer"]})["data"]
    assert [x["id"] for x in subs] == [sub["id"]]
    invs = sim.ok("GET", "/invoices", {"subscription": sub["id"]})["data"]
    assert [x["id"] for x in invs] == [inv["id"]]
    ev = sim.ok("GET", f"/events/{got[0]['event']['id']}")
    assert ev["type"] == got[0]["event"]["type"] and ev["data"] == got[0]["event"]["data"]
    # a paid session cannot be paid again
    again = sim.pay(cs, expect=400)
    assert "no longer active" in again["error"]


DECLINES = [
    ("4000000000000002", "card_declined", "generic_decline", "Your card was declined."),
    ("4000 0000 0000 9995", "card_declined", "insufficient_funds",
     "Your card has insufficient funds."),
    ("4000000000009987", "card_declined", "lost_card", "Your card was declined."),
    ("4000000000009979", "card_declined", "stolen_card", "Your card was declined."),
    ("4000000000000069", "expired_card", "expired_card", "Your card has expired."),
    ("4000000000000127", "incorrect_cvc", "incorrect_cvc",
     "Your card's security code is incorrect."),
    ("4000000000000119", "processing_error", "processing_error",
     "An error occurred while processing your card. Try again in a little bit."),
    ("4242424242424241", "incorrect_number", None, "Your card number is incorrect."),
]


@pytest.mark.parametrize("card,code,decline,message", DECLINES)
def test_checkout_declined(sim, hook, card, code, decline, message):
    cs = sim.session()
    r = sim.pay(cs, card, expect=402)
    assert r["error"] == message
    e = r["card_error"]
    assert e["type"] == "card_error" and e["code"] == code
    assert e.get("decline_code") == decline and e["message"] == message
    assert r["session"]["status"] == "open"
    # nothing was created: no subscription, no customer; the session is open
    assert sim.ok("GET", "/subscriptions", {"status": "all"})["data"] == []
    assert sim.ok("GET", "/customers")["data"] == []
    assert sim.ok("GET", f"/checkout/sessions/{cs['id']}")["status"] == "open"
    # and a good card after it goes through
    ok = sim.pay(cs, "5555 5555 5555 4444")
    assert ok["subscription"]["status"] == "active"
    assert ok["charge"]["payment_method_details"]["card"]["brand"] == "mastercard"


def test_payment_mode_decline_then_paid(sim, hook):
    cs = sim.session(mode="payment", amount=2500,
                     payment_intent_data={"metadata": {"order": "o-1"}})
    r = sim.pay(cs, "4000000000009995", expect=402)
    assert r["card_error"]["decline_code"] == "insufficient_funds"
    pi_failed = r["card_error"]["payment_intent"]
    assert pi_failed["status"] == "requires_payment_method"
    assert pi_failed["last_payment_error"]["decline_code"] == "insufficient_funds"
    assert "payment_intent.payment_failed" in types(r["events"])
    ok = sim.pay(cs)
    # the same intent is paid on the second try, as on Stripe's page
    assert ok["payment_intent"]["id"] == pi_failed["id"]
    assert ok["payment_intent"]["status"] == "succeeded"
    assert ok["payment_intent"]["metadata"] == {"order": "o-1"}
    assert ok["session"]["payment_intent"] == pi_failed["id"] and ok["subscription"] is None
    assert ok["customer"] is None  # payment mode creates none unless asked
    hook.wait(len(r["events"]) + len(ok["events"]))
    assert hook.types()[-1] == "checkout.session.completed"
    charges = sim.ok("GET", "/charges", {"payment_intent": pi_failed["id"]})["data"]
    assert [c["status"] for c in charges] == ["succeeded", "failed"]


# ---- refunds ----

def test_refunds_full_partial_over(sim, hook):
    ok = sim.pay(sim.session(mode="payment", amount=1000))
    pi, ch = ok["payment_intent"]["id"], ok["charge"]["id"]
    n = len(ok["events"])
    re1 = sim.ok("POST", "/refunds", {"payment_intent": pi, "amount": 300,
                                      "reason": "requested_by_customer",
                                      "metadata": {"ticket": "T-1"}})
    assert re1["id"].startswith("re_") and re1["amount"] == 300 and re1["charge"] == ch
    assert re1["status"] == "succeeded" and re1["metadata"] == {"ticket": "T-1"}
    c = sim.ok("GET", f"/charges/{ch}")
    assert c["amount_refunded"] == 300 and c["refunded"] is False
    got = hook.wait(n + 2)
    assert [g["event"]["type"] for g in got[n:]] == ["refund.created", "charge.refunded"]
    refunded = got[n + 1]["event"]["data"]
    assert refunded["object"]["amount_refunded"] == 300
    assert refunded["previous_attributes"] == {"amount_refunded": 0, "refunded": False}
    # more than what is left
    e = sim.err(400, "POST", "/refunds", {"charge": ch, "amount": 701})
    assert e["type"] == "invalid_request_error" and e["param"] == "amount"
    assert e["message"] == ("Refund amount ($7.01) is greater than unrefunded amount on "
                            "charge ($7.00)")
    assert sim.ok("GET", f"/charges/{ch}")["amount_refunded"] == 300
    e = sim.err(400, "POST", "/refunds", {"charge": ch, "amount": -5})
    assert e["code"] == "parameter_invalid_integer"
    e = sim.err(400, "POST", "/refunds", {"charge": ch, "reason": "bored"})
    assert e["param"] == "reason"
    e = sim.err(400, "POST", "/refunds", {})
    assert e["code"] == "parameter_missing"
    e = sim.err(400, "POST", "/refunds", {"charge": "ch_nope"})
    assert e["code"] == "resource_missing" and e["param"] == "charge"
    # the rest, from the dashboard (the control API): the whole remainder
    r = sim.ctl("POST", "/refunds", {"charge": ch})
    assert r["refund"]["amount"] == 700 and r["charge"]["refunded"] is True
    assert types(r["events"]) == ["refund.created", "charge.refunded"]
    r = sim.ctl("POST", "/refunds", {"payment_intent": pi}, expect=400)
    assert r["stripe_error"]["code"] == "charge_already_refunded"
    refunds = sim.ok("GET", "/refunds", {"charge": ch})["data"]
    assert [x["amount"] for x in refunds] == [700, 300]


# ---- renewals ----

def test_renewal_paid(sim, hook):
    paid = sim.subscribe()
    sub = paid["subscription"]
    item = sub["items"]["data"][0]
    clock = sim.ctl("GET", "/clock")["now"]
    r = sim.ctl("POST", f"/subscriptions/{sub['id']}/renew", {})
    assert r["paid"] is True and r["ended"] is False
    inv = r["invoice"]
    assert inv["billing_reason"] == "subscription_cycle" and inv["status"] == "paid"
    # Stripe puts the period that just ended on the invoice, the new one on its line
    assert (inv["period_start"], inv["period_end"]) == (item["current_period_start"],
                                                        item["current_period_end"])
    line = inv["lines"]["data"][0]["period"]
    new_item = r["subscription"]["items"]["data"][0]
    assert line["start"] == item["current_period_end"] == new_item["current_period_start"]
    assert line["end"] == new_item["current_period_end"] > line["start"]
    assert r["subscription"]["latest_invoice"] == inv["id"]
    # the clock moved to the renewal
    assert sim.ctl("GET", "/clock")["now"] >= item["current_period_end"] > clock
    assert types(r["events"]) == [
        "invoice.created", "invoice.finalized", "customer.subscription.updated",
        "payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
        "invoice.paid", "invoice.payment_succeeded"]
    hook.wait(len(paid["events"]) + len(r["events"]))
    upd = [g["event"] for g in hook.got if g["event"]["type"] == "customer.subscription.updated"]
    prev = upd[-1]["data"]["previous_attributes"]
    assert prev["items"]["data"][0]["current_period_end"] == item["current_period_end"]
    assert prev["latest_invoice"] == sub["latest_invoice"]


def test_renewal_failed_then_recovered(sim, hook):
    paid = sim.subscribe(card="4000000000000341")  # attaches; the first payment goes through
    sub = paid["subscription"]
    assert sub["status"] == "active"
    r = sim.ctl("POST", f"/subscriptions/{sub['id']}/renew", {})
    assert r["paid"] is False and r["subscription"]["status"] == "past_due"
    inv = r["invoice"]
    assert inv["status"] == "open" and inv["attempt_count"] == 1 and inv["attempted"]
    assert inv["next_payment_attempt"] == sim.ctl("GET", "/clock")["now"] + 3 * 86400
    assert inv["amount_remaining"] == 999
    n = len(paid["events"]) + len(r["events"])
    hook.wait(n)
    failed = hook.event("invoice.payment_failed")["data"]["object"]
    assert failed["id"] == inv["id"] and failed["attempt_count"] == 1
    upd = [g["event"] for g in hook.got if g["event"]["type"] == "customer.subscription.updated"]
    assert upd[-1]["data"]["object"]["status"] == "past_due"
    assert upd[-1]["data"]["previous_attributes"] == {"status": "active"}
    pi_id = inv["payments"]["data"][0]["payment"]["payment_intent"]
    pi = sim.ok("GET", f"/payment_intents/{pi_id}")
    assert pi["status"] == "requires_payment_method"
    assert pi["last_payment_error"]["code"] == "card_declined"
    # a retry with the same card fails again
    r2 = sim.ctl("POST", f"/subscriptions/{sub['id']}/renew", {})
    assert r2["invoice"]["id"] == inv["id"] and r2["invoice"]["attempt_count"] == 2
    assert r2["paid"] is False and types(r2["events"])[-1] == "invoice.payment_failed"
    # recovery: the customer gives a new card, the open invoice is paid
    r3 = sim.ctl("POST", f"/subscriptions/{sub['id']}/renew", {"card": "4242424242424242"})
    assert r3["paid"] is True and r3["invoice"]["id"] == inv["id"]
    assert r3["invoice"]["status"] == "paid" and r3["invoice"]["attempt_count"] == 3
    assert r3["subscription"]["status"] == "active"
    assert "invoice.paid" in types(r3["events"])
    hook.wait(n + len(r2["events"]) + len(r3["events"]))
    upd = [g["event"] for g in hook.got if g["event"]["type"] == "customer.subscription.updated"]
    assert upd[-1]["data"]["previous_attributes"] == {"status": "past_due"}
    assert upd[-1]["data"]["object"]["status"] == "active"
    # the next renewal is a new invoice again, paid with the new card
    r4 = sim.ctl("POST", f"/subscriptions/{sub['id']}/renew", {})
    assert r4["paid"] is True and r4["invoice"]["id"] != inv["id"]


def test_renewal_failure_on_demand(sim):
    sub = sim.subscribe()["subscription"]
    r = sim.ctl("POST", f"/subscriptions/{sub['id']}/renew",
                {"fail": True, "decline_code": "insufficient_funds"})
    assert r["paid"] is False and r["subscription"]["status"] == "past_due"
    pi_id = r["invoice"]["payments"]["data"][0]["payment"]["payment_intent"]
    pi = sim.ok("GET", f"/payment_intents/{pi_id}")
    assert pi["last_payment_error"]["decline_code"] == "insufficient_funds"
    sim.ctl("POST", f"/subscriptions/{sub['id']}/renew", {"card": "4242"}, expect=400)
    assert sim.ctl("POST", f"/subscriptions/{sub['id']}/renew", {})["paid"] is True


def test_trial_then_first_charge(sim, hook):
    paid = sim.subscribe(card="4000000000000341",
                         subscription_data={"trial_period_days": 7})
    sub = paid["subscription"]
    assert sub["status"] == "trialing" and sub["trial_end"] - sub["trial_start"] == 7 * 86400
    assert paid["session"]["payment_status"] == "no_payment_required"
    assert paid["invoice"]["amount_paid"] == 0 and paid["payment_intent"] is None
    r = sim.ctl("POST", f"/subscriptions/{sub['id']}/renew", {})
    assert r["paid"] is False and r["subscription"]["status"] == "past_due"
    assert r["invoice"]["amount_due"] == 999


# ---- cancellation ----

def test_cancel_at_period_end_then_end(sim, hook):
    paid = sim.subscribe()
    sub = paid["subscription"]
    r = sim.ctl("POST", f"/subscriptions/{sub['id']}/cancel", {"when": "period_end"})
    s = r["subscription"]
    assert s["cancel_at_period_end"] is True and s["status"] == "active"
    assert s["cancel_at"] == sub["items"]["data"][0]["current_period_end"]
    hook.wait(len(paid["events"]) + 1)
    upd = hook.event("customer.subscription.updated")["data"]
    assert upd["previous_attributes"]["cancel_at_period_end"] is False
    # resume, then ask again through the API
    r = sim.ctl("POST", f"/subscriptions/{sub['id']}/cancel", {"when": "resume"})
    assert r["subscription"]["cancel_at_period_end"] is False
    s = sim.ok("POST", f"/subscriptions/{sub['id']}", {"cancel_at_period_end": "true",
                                                       "metadata": {"why": "price"}})
    assert s["cancel_at_period_end"] is True and s["metadata"]["why"] == "price"
    # the period ends: the subscription is deleted, not renewed
    r = sim.ctl("POST", f"/subscriptions/{sub['id']}/renew", {})
    assert r["ended"] is True and r["subscription"]["status"] == "canceled"
    assert r["subscription"]["ended_at"] == sub["items"]["data"][0]["current_period_end"]
    assert types(r["events"]) == ["customer.subscription.deleted"]
    assert sim.ok("GET", "/subscriptions", {"customer": sub["customer"]})["data"] == []
    assert len(sim.ok("GET", "/subscriptions", {"status": "all"})["data"]) == 1
    e = sim.ctl("POST", f"/subscriptions/{sub['id']}/renew", {}, expect=400)
    assert "canceled" in e["error"]


def test_cancel_now(sim, hook):
    a = sim.subscribe()["subscription"]
    r = sim.ctl("POST", f"/subscriptions/{a['id']}/cancel",
                {"when": "now", "reason": "payment_failed"})
    assert r["subscription"]["status"] == "canceled"
    assert r["subscription"]["cancellation_details"]["reason"] == "payment_failed"
    assert types(r["events"]) == ["customer.subscription.deleted"]
    b = sim.subscribe()["subscription"]
    s = sim.ok("DELETE", f"/subscriptions/{b['id']}")
    assert s["status"] == "canceled" and s["canceled_at"] and s["ended_at"]
    deadline = time.monotonic() + 10
    while hook.types().count("customer.subscription.deleted") < 2:
        assert time.monotonic() < deadline, hook.types()
        time.sleep(0.02)
    deleted = [g["event"]["data"]["object"]["id"] for g in hook.got
               if g["event"]["type"] == "customer.subscription.deleted"]
    assert deleted == [a["id"], b["id"]]
    sim.ctl("POST", f"/subscriptions/{b['id']}/cancel", {"when": "now"}, expect=400)
    sim.ctl("POST", "/subscriptions/sub_nope/cancel", {}, expect=404)


def test_price_change_and_customer_delete(sim):
    sub = sim.subscribe()["subscription"]
    other = sim.session(amount=2999)
    price = sim.ok("GET", f"/checkout/sessions/{other['id']}/line_items")["data"][0]["price"]
    s = sim.ok("POST", f"/subscriptions/{sub['id']}", {
        "items": [{"id": sub["items"]["data"][0]["id"], "price": price["id"]}],
        "proration_behavior": "none"})
    assert s["items"]["data"][0]["price"]["unit_amount"] == 2999
    ev = sim.ok("GET", "/events", {"type": "customer.subscription.updated"})["data"][0]
    assert ev["data"]["previous_attributes"]["items"]["data"][0]["price"]["unit_amount"] == 999
    assert [x["id"] for x in sim.ok("GET", "/subscriptions", {"price": price["id"]})["data"]] \
        == [sub["id"]]
    assert sim.ctl("POST", f"/subscriptions/{sub['id']}/renew", {})["invoice"]["amount_due"] \
        == 2999
    e = sim.err(400, "POST", f"/subscriptions/{sub['id']}", {
        "items": [{"id": "si_nope", "price": price["id"]}]})
    assert e["code"] == "resource_missing" and e["param"] == "items[0][id]"
    # deleting the customer ends its subscriptions
    sim.ok("DELETE", f"/customers/{sub['customer']}")
    assert sim.ok("GET", f"/subscriptions/{sub['id']}")["status"] == "canceled"
    assert [e["type"] for e in sim.ok("GET", "/events", {"limit": 2})["data"]] == [
        "customer.deleted", "customer.subscription.deleted"]
    e = sim.err(404, "POST", f"/customers/{sub['customer']}", {"name": "x"})
    assert e["code"] == "resource_missing"


# ---- layouts ----

def test_layouts_new_and_old(sim, hook):
    paid = sim.subscribe()
    sub_id = paid["subscription"]["id"]
    # per request: before 2025-03-31 the old layout, from it the new one
    old = sim.ok("GET", f"/subscriptions/{sub_id}", headers={"Stripe-Version": OLD})
    new = sim.ok("GET", f"/subscriptions/{sub_id}", headers={"Stripe-Version": NEW})
    item_new = new["items"]["data"][0]
    assert "current_period_end" not in new
    assert old["current_period_start"] == item_new["current_period_start"]
    assert old["current_period_end"] == item_new["current_period_end"]
    assert "current_period_end" not in old["items"]["data"][0]
    assert old["plan"]["amount"] == 999 and old["plan"]["interval"] == "month"
    inv_new = sim.ok("GET", f"/invoices/{paid['invoice']['id']}",
                     headers={"Stripe-Version": NEW})
    inv_old = sim.ok("GET", f"/invoices/{paid['invoice']['id']}",
                     headers={"Stripe-Version": OLD})
    assert inv_new["parent"]["subscription_details"]["subscription"] == sub_id
    assert inv_new["parent"]["type"] == "subscription_details"
    assert "subscription" not in inv_new and "payment_intent" not in inv_new
    pi = inv_new["payments"]["data"][0]["payment"]["payment_intent"]
    assert inv_old["subscription"] == sub_id and inv_old["payment_intent"] == pi
    assert inv_old["charge"] == paid["charge"]["id"] and inv_old["paid"] is True
    assert "parent" not in inv_old and "payments" not in inv_old
    assert sim.ok("GET", f"/charges/{paid['charge']['id']}",
                  headers={"Stripe-Version": OLD})["invoice"] == paid["invoice"]["id"]
    # the version each request pinned is recorded
    versions = [r["stripe_version"] for r in sim.ctl("GET", "/requests")["requests"]]
    assert versions[-5:] == [OLD, NEW, NEW, OLD, OLD]
    # the webhooks follow the configured layout
    hook.wait(len(paid["events"]))
    created = hook.event("customer.subscription.created")
    assert "current_period_end" not in created["data"]["object"]
    assert created["api_version"].startswith("2026-")
    cfg = sim.ctl("POST", "/config", {"layout": "old"})
    assert cfg["api_version"] == OLD and cfg["layout"] == "old"
    n = len(hook.got)
    r = sim.ctl("POST", f"/subscriptions/{sub_id}/renew", {})
    hook.wait(n + len(r["events"]))
    new_events = [g["event"] for g in hook.got[n:]]
    assert all(e["api_version"] == OLD for e in new_events)
    paid_ev = [e for e in new_events if e["type"] == "invoice.paid"][0]["data"]["object"]
    assert paid_ev["subscription"] == sub_id and "parent" not in paid_ev
    upd = [e for e in new_events if e["type"] == "customer.subscription.updated"][0]["data"]
    assert upd["object"]["current_period_start"] == item_new["current_period_end"]
    assert upd["previous_attributes"]["current_period_end"] == item_new["current_period_end"]
    # without Stripe-Version the API answers in the configured layout
    assert "current_period_end" in sim.ok("GET", f"/subscriptions/{sub_id}")
    # an explicit version sets the layout too
    assert sim.ctl("POST", "/config", {"api_version": "2025-03-31.basil"})["layout"] == "new"
    assert "current_period_end" not in sim.ok("GET", f"/subscriptions/{sub_id}")
    # control views can be asked for either layout
    o = sim.ctl("GET", f"/objects/{sub_id}", layout="old")
    assert "current_period_end" in o


# ---- webhook delivery ----

def test_delivery_twice(sim, hook):
    cs = sim.session()
    paid = sim.pay(cs, delivery={"twice": True})
    ids = [e["id"] for e in paid["events"]]
    got = hook.wait(2 * len(ids))
    assert [g["event"]["id"] for g in got] == [i for i in ids for _ in (1, 2)]
    assert all(g["sig"] == "ok" for g in got)
    assert got[0]["raw"] == got[1]["raw"]
    copies = [a["copy"] for a in sim.ctl("GET", "/deliveries")["attempts"]]
    assert copies == [1, 2] * len(ids)


def test_delivery_reverse_global(sim, hook):
    sim.ctl("POST", "/config", {"delivery": {"reverse": True}})
    paid = sim.pay(sim.session())
    ids = [e["id"] for e in paid["events"]]
    got = hook.wait(len(ids))
    assert [g["event"]["id"] for g in got] == ids[::-1]
    assert hook.types()[0] == "checkout.session.completed"


def test_delivery_hold_and_release(sim, hook):
    paid = sim.pay(sim.session(), delivery={"hold": True})
    ids = [e["id"] for e in paid["events"]]
    hook.quiet(0)
    d = sim.ctl("GET", "/deliveries")
    assert [q["event_id"] for q in d["queue"]] == ids and all(q["held"] for q in d["queue"])
    # events of other calls are not held
    c = sim.ok("POST", "/customers", {"email": "x@example.com"})
    got = hook.wait(1)
    assert got[0]["event"]["type"] == "customer.created"
    assert got[0]["event"]["data"]["object"]["id"] == c["id"]
    assert sim.ctl("POST", "/deliveries/release", {"reverse": True})["released"] == len(ids)
    got = hook.wait(1 + len(ids))
    assert [g["event"]["id"] for g in got[1:]] == ids[::-1]
    assert sim.ctl("GET", "/deliveries")["queue"] == []
    # pending_webhooks goes to 0 once delivered
    assert sim.ok("GET", f"/events/{ids[0]}")["pending_webhooks"] == 0


@pytest.mark.parametrize("mode,why", [("wrong_secret", "bad signature"), ("stale", "stale"),
                                      ("none", "no header")])
def test_delivery_bad_signatures(sim, hook, mode, why):
    sim.ctl("POST", "/config", {"retry": {"base_ms": 20, "max_attempts": 2}})
    r = sim.ctl("POST", "/refunds", {"charge": "ch_nope"}, expect=400)
    assert r["events"] == []
    paid = sim.pay(sim.session(mode="payment"), delivery={"signature": mode})
    n = len(paid["events"])
    got = hook.wait(2 * n)  # each refused twice (max_attempts 2)
    assert all(g["sig"] == why for g in got)
    if mode == "stale":
        t = int(got[0]["headers"]["Stripe-Signature"].split(",")[0][2:])
        assert 590 <= time.time() - t <= 700
        # the signature itself is right: only its time is old
        assert verify(got[0]["headers"]["Stripe-Signature"], got[0]["raw"],
                      tolerance=10 ** 6) == "ok"
    if mode == "none":
        assert "Stripe-Signature" not in got[0]["headers"]
    deadline = time.monotonic() + 5
    while sim.ctl("GET", "/deliveries")["given_up"] < n and time.monotonic() < deadline:
        time.sleep(0.05)
    d = sim.ctl("GET", "/deliveries")
    assert d["given_up"] == n and d["delivered"] == 0 and d["queue"] == []
    assert {(a["status"], a["answer"], a["signature"]) for a in d["attempts"]} == \
        {(400, f"refused: {why}", mode)}
    assert sorted(a["attempt"] for a in d["attempts"]) == sorted([1, 2] * n)
    # a good delivery afterwards is accepted
    sim.ok("POST", "/customers", {"email": "after@example.com"})
    assert hook.wait(2 * n + 1)[-1]["sig"] == "ok"


def test_delivery_retries_until_2xx(sim):
    flaky = Receiver(statuses=[500, 503])
    try:
        sim.ctl("POST", "/config", {"webhook_url": flaky.url,
                                    "enabled_events": ["customer.created"]})
        c = sim.ok("POST", "/customers", {"email": "r@example.com"})
        got = flaky.wait(3)
        assert len({g["event"]["id"] for g in got}) == 1
        assert got[0]["raw"] == got[2]["raw"]  # the same bytes each time
        attempts = sim.ctl("GET", "/deliveries")["attempts"]
        assert [(a["attempt"], a["status"]) for a in attempts] == [(1, 500), (2, 503),
                                                                   (3, 200)]
        assert attempts[2]["answer"] == "ok"
        ev = sim.ok("GET", f"/events/{got[0]['event']['id']}")
        assert ev["type"] == "customer.created" and ev["data"]["object"]["id"] == c["id"]
        # events of types not enabled are kept but not sent
        sim.ok("POST", f"/customers/{c['id']}", {"name": "R"})
        flaky.quiet(3)
        assert sim.ok("GET", "/events", {"type": "customer.updated"})["data"]
    finally:
        flaky.close()


def test_signature_vector(sim):
    # protocols.md B.13, computed with the stripe npm package
    payload = '{"id":"evt_test_1","object":"event","type":"checkout.session.completed"}'
    want = "t=1700000000,v1=3a50483ba5b8f416cbd18e85bee358d180d4ef4b39627fa246bd01eb30b82f89"
    got = sim.ctl("POST", "/sign", {"payload": payload, "t": 1700000000,
                                    "secret": "whsec_test_secret_0123456789"})
    assert got["header"] == want
    assert want.endswith(sign("whsec_test_secret_0123456789", 1700000000, payload.encode()))
    assert verify(want, payload.encode(), secret="whsec_test_secret_0123456789",
                  now=1700000100) == "ok"
    assert verify(want, payload.encode(), secret="whsec_test_secret_0123456789",
                  now=1700000301) == "stale"
    # without a secret: the configured one (the --stripe-webhook-secret option)
    mine = sim.ctl("POST", "/sign", {"payload": payload, "t": 1700000000})["header"]
    assert mine == f"t=1700000000,v1={sign(SECRET, 1700000000, payload.encode())}"


# ---- the hosted page ----

def test_hosted_checkout_page(sim, hook):
    cs = sim.session(line_items=[{"price_data": {
        "currency": "usd", "unit_amount": 999, "recurring": {"interval": "month"},
        "product_data": {"name": "Pro <b>&</b>"}}, "quantity": 1}])
    page = requests.get(cs["url"], timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Pro &lt;b&gt;&amp;&lt;/b&gt;" in page.text and "<b>&</b>" not in page.text
    assert "$9.99 per month" in page.text and 'name="card"' in page.text
    # a declined card shows Stripe's message and leaves the session open
    r = requests.post(cs["url"], data={"action": "pay", "card": "4000 0000 0000 0002",
                                       "email": "p@example.com"},
                      allow_redirects=False, timeout=10)
    assert r.status_code == 402 and "Your card was declined." in r.text
    assert sim.ok("GET", f"/checkout/sessions/{cs['id']}")["status"] == "open"
    # paying redirects to success_url with the session id in it
    r = requests.post(cs["url"], data={"action": "pay", "card": "4242424242424242",
                                       "email": "p@example.com"},
                      allow_redirects=False, timeout=10)
    assert r.status_code == 303
    assert r.headers["Location"] == f"https://shop.example/ok?sid={cs['id']}"
    s = sim.ok("GET", f"/checkout/sessions/{cs['id']}")
    assert s["status"] == "complete" and s["customer_details"]["email"] == "p@example.com"
    deadline = time.monotonic() + 10
    while "checkout.session.completed" not in hook.types():
        assert time.monotonic() < deadline, hook.types()
        time.sleep(0.02)
    # the page of a paid session says so
    assert "complete" in requests.get(cs["url"], timeout=10).text
    # cancel goes to cancel_url and changes nothing
    cs2 = sim.session()
    r = requests.post(cs2["url"], data={"action": "cancel"}, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == "https://shop.example/cancel"
    assert sim.ok("GET", f"/checkout/sessions/{cs2['id']}")["status"] == "open"
    assert requests.get(sim.base + "/stripe/checkout/cs_test_nope", timeout=10).status_code == 404
    inv = sim.ok("GET", f"/invoices/{s['invoice']}")
    page = requests.get(inv["hosted_invoice_url"], timeout=10)
    assert page.status_code == 200 and inv["number"] in page.text


# ---- the clock, expiry, lists ----

def test_clock_and_session_expiry(sim, hook):
    cs = sim.session()
    c0 = sim.ctl("GET", "/clock")
    r = sim.ctl("POST", "/clock", {"advance_s": 86400 + 1})
    assert r["offset_s"] == c0["offset_s"] + 86401 and r["now"] >= c0["now"] + 86401
    assert types(r["events"]) == ["checkout.session.expired"]
    assert sim.ok("GET", f"/checkout/sessions/{cs['id']}")["status"] == "expired"
    assert hook.wait(1)[0]["event"]["data"]["object"]["id"] == cs["id"]
    assert "expired" in sim.pay(cs, expect=400)["error"]
    assert requests.get(cs["url"], timeout=10).status_code == 410
    # objects made now carry the moved clock
    c = sim.ok("POST", "/customers", {"email": "late@example.com"})
    assert c["created"] >= r["now"]
    sim.ctl("POST", "/clock", {"advance_s": -5}, expect=400)
    r = sim.ctl("POST", "/clock", {"now": 1900000000})
    assert r["now"] == 1900000000 or abs(r["now"] - 1900000000) <= 1
    # expiring through the API
    cs2 = sim.session()
    assert sim.ok("POST", f"/checkout/sessions/{cs2['id']}/expire")["status"] == "expired"
    e = sim.err(400, "POST", f"/checkout/sessions/{cs2['id']}/expire")
    assert "open" in e["message"]


def test_demo_advance_renews_what_stripe_would(sim, hook):
    """POST /control/demo/advance (the demo's Time panel) moves the Stripe
    clock with the drivers' and renews, through renew, every subscription
    whose period ended; here the simulator runs without Herald (no
    herald_url in the demo record)."""
    requests.post(sim.base + "/control/demo", json={}, timeout=10)
    monthly = sim.subscribe()["subscription"]
    weekly = sim.subscribe(interval="week")["subscription"]
    yearly = sim.subscribe(interval="year")["subscription"]
    failing = sim.subscribe(card="4000000000000341")["subscription"]
    ending = sim.subscribe()["subscription"]
    sim.ctl("POST", f"/subscriptions/{ending['id']}/cancel", {"when": "period_end"})
    cs = sim.session()
    c0 = sim.ctl("GET", "/clock")
    drivers0 = {p: sim.http.get(f"{sim.base}/control/{p}/clock").json()["offset_ms"]
                for p in ("payme", "click")}
    n0 = len(sim.ok("GET", "/events", {"limit": 100})["data"])
    hook.wait(n0)

    def advance(days):
        r = sim.http.post(sim.base + "/control/demo/advance", json={"days": days}, timeout=60)
        assert r.status_code == 200, r.text
        return r.json()

    r = advance(31)
    assert r["herald"] is None and r["days"] == 31
    st = r["stripe"]
    assert st["offset_s"] == c0["offset_s"] + 31 * 86400 and not st["truncated"]
    for p in ("payme", "click"):
        assert r[p]["offset_ms"] == drivers0[p] + 31 * 86400 * 1000, p
    by = {}
    for x in st["renewals"]:
        by.setdefault(x["subscription"], []).append(x)
    assert yearly["id"] not in by
    assert [(x["paid"], x["status"]) for x in by[monthly["id"]]] == [(True, "active")]
    assert [x["paid"] for x in by[weekly["id"]]] == [True] * 4  # weeks 1-4 of 31 days
    assert [(x["paid"], x["status"]) for x in by[failing["id"]]] == [(False, "past_due")]
    assert [(x["ended"], x["status"]) for x in by[ending["id"]]] == [(True, "canceled")]
    # the state is Stripe's: periods current, invoices as renew leaves them
    for sub, n in ((monthly, 1), (weekly, 4)):
        s = sim.ok("GET", f"/subscriptions/{sub['id']}")
        item = s["items"]["data"][0]
        assert item["current_period_start"] <= st["now"] < item["current_period_end"]
        invs = sim.ok("GET", "/invoices", {"subscription": sub["id"]})["data"]
        assert [i["billing_reason"] for i in invs].count("subscription_cycle") == n
    assert sim.ok("GET", f"/subscriptions/{ending['id']}")["status"] == "canceled"
    assert sim.ok("GET", f"/checkout/sessions/{cs['id']}")["status"] == "expired"
    # the events went out as webhooks, in the answer's order
    sent = [e["type"] for e in st["events"]]
    assert sent.count("invoice.paid") == 5 and sent.count("invoice.payment_failed") == 1
    assert sent.count("customer.subscription.deleted") == 1
    hook.wait(n0 + len(sent))
    assert hook.types()[n0:] == sent
    # a day later nothing is due; three days after the failure, one retry
    assert advance(1)["stripe"]["renewals"] == []
    r = advance(2)
    assert [(x["subscription"], x["paid"]) for x in r["stripe"]["renewals"]] == \
        [(failing["id"], False)]
    inv = sim.ok("GET", f"/invoices/{by[failing['id']][0]['invoice']}")
    assert inv["attempt_count"] == 2 and inv["status"] == "open"
    # bad input moves nothing
    c1 = sim.ctl("GET", "/clock")
    for body in ({"days": 0}, {"days": 401}, {"days": "2"}):
        bad = sim.http.post(sim.base + "/control/demo/advance", json=body, timeout=10)
        assert bad.status_code == 400, (body, bad.text)
    assert sim.ctl("GET", "/clock")["offset_s"] == c1["offset_s"]


def test_lists_pagination_and_expand(sim):
    ids = [sim.ok("POST", "/customers", {"email": f"c{i}@example.com"})["id"] for i in range(5)]
    page = sim.ok("GET", "/customers", {"limit": 2})
    assert [c["id"] for c in page["data"]] == ids[::-1][:2] and page["has_more"] is True
    assert page["url"] == "/v1/customers"
    page = sim.ok("GET", "/customers", {"limit": 2, "starting_after": ids[3]})
    assert [c["id"] for c in page["data"]] == [ids[2], ids[1]] and page["has_more"] is True
    page = sim.ok("GET", "/customers", {"limit": 10, "ending_before": ids[1]})
    assert [c["id"] for c in page["data"]] == ids[::-1][:3] and page["has_more"] is False
    e = sim.err(400, "GET", "/customers", {"starting_after": "cus_nope"})
    assert e["code"] == "resource_missing"
    assert sim.ok("DELETE", f"/customers/{ids[0]}") == {"id": ids[0], "object": "customer",
                                                        "deleted": True}
    assert sim.ok("GET", f"/customers/{ids[0]}")["deleted"] is True
    assert len(sim.ok("GET", "/customers")["data"]) == 4
    paid = sim.subscribe()
    s = sim.ok("GET", f"/checkout/sessions/{paid['session']['id']}",
               {"expand": ["subscription", "subscription.latest_invoice"]})
    assert s["subscription"]["object"] == "subscription"
    assert s["subscription"]["latest_invoice"]["object"] == "invoice"
    e = sim.err(400, "GET", f"/checkout/sessions/{paid['session']['id']}",
                {"expand": ["mode"]})
    assert e["message"] == "This property cannot be expanded (mode)."
    evs = sim.ok("GET", "/events", {"type": "invoice.*", "limit": 100})["data"]
    assert {e["type"] for e in evs} == {"invoice.created", "invoice.finalized", "invoice.paid",
                                        "invoice.payment_succeeded"}
    evs = sim.ok("GET", "/events", {"types": ["customer.created", "invoice.paid"]})["data"]
    assert [e["type"] for e in evs] == ["invoice.paid", "customer.created"] + \
        ["customer.created"] * 5


def test_bad_input_is_refused_and_survived(sim):
    # a huge body, many parameters, deep nesting, bad bytes, odd paths
    assert sim.api("POST", "/customers", body="a=" + "x" * (1 << 20))[0] == 400
    assert sim.api("POST", "/customers", body="&".join(f"m{i}=1" for i in range(1001)))[0] == 400
    assert sim.api("POST", "/customers", body="a" + "[x]" * 9 + "=1")[0] == 400
    assert sim.api("POST", "/customers", body=b"email=\xff\xfe")[0] == 400
    assert sim.api("POST", "/customers", body='{"email":"j@example.com"}',
                   headers={"Content-Type": "application/json"})[0] == 400
    assert sim.api("GET", "/customers/" + "x" * 300)[0] == 404
    assert sim.api("GET", "/a/b/c/d/e")[0] in (404,)
    # an Idempotency-Key that is not UTF-8 (requests sends Latin-1)
    assert sim.api("POST", "/customers", headers={"Idempotency-Key": "\u00e9t\u00e9"},
                   body="email=u%40example.com")[0] == 400
    assert sim.ok("GET", "/customers")["data"] == []
    for body in [None, "not json", "[]", '{"card": 5}']:
        r = requests.post(sim.base + "/control/stripe/checkout/sessions/cs_x/pay", data=body,
                          timeout=10)
        assert r.status_code in (400, 404)
    r = requests.post(sim.base + "/control/stripe/config", json={"webhook_url": "ftp://x"},
                      timeout=10)
    assert r.status_code == 400
    r = requests.post(sim.base + "/control/stripe/config", json={"delivery": {"signature": "x"}},
                      timeout=10)
    assert r.status_code == 400
    # a large body is served, and only its size is recorded
    c = sim.ok("POST", "/customers", {"description": "d" * 20000})
    assert len(c["description"]) == 20000
    last = sim.ctl("GET", "/requests")["requests"][-1]
    assert last["params"] == {"_omitted_bytes": len("description=") + 20000}
    # still serving
    assert sim.ok("GET", "/customers")["object"] == "list"


def test_options_and_help(tmp_path):
    r = subprocess.run([BIN, "sim", "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    for opt in ["--stripe-key", "--stripe-webhook URL", "--stripe-webhook-secret"]:
        assert opt in r.stdout
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30)
    assert "--stripe-webhook URL" in r.stdout
    r = subprocess.run([BIN, "sim", "--stripe-webhook", "ftp://x"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2
    # the defaults and --stripe-webhook, in a simulator of its own
    rec = Receiver()
    port = servers.free_port()
    p = subprocess.Popen([BIN, "sim", "--listen", f"127.0.0.1:{port}", "--stripe-webhook",
                          rec.url, "--stripe-webhook-secret", SECRET],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=sim_env())
    try:
        assert p.stdout.readline().decode().startswith("sim listening")
        s = Sim(f"http://127.0.0.1:{port}")
        c = s.ok("POST", "/customers", {"email": "d@example.com"}, key="sk_test_herald_sim")
        got = rec.wait(1)
        assert got[0]["event"]["data"]["object"]["id"] == c["id"] and got[0]["sig"] == "ok"
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 0
        err = p.stderr.read().decode(errors="replace")
        assert_no_sanitizer_report(err, "herald sim")
        rec.close()
