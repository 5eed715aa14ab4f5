"""The Payme and Click drivers of `herald sim` (docs/sim-payme-click.md).

One simulator process serves the module, its drivers pointed at a small HTTP
recorder that stands in for Herald's hooks. The recorder keeps every request
byte for byte and answers through a reference merchant written here from
protocols.md (C.7 for Payme, D.5/D.6 for Click). Each reference merchant can
be told to misbehave in one way, so every scenario runner is checked twice:
it must pass a correct merchant and fail exactly the steps a wrong one
breaks (a runner that always said "pass" would fail these tests).
"""
import base64
import hashlib
import http.server
import json
import re
import signal
import subprocess
import threading
import time
import urllib.parse

import pytest
import requests

import servers
from conftest import BIN, assert_no_sanitizer_report

PAYME_KEY = "0123456789abcdefghijklmnopqrstuvwxyz"  # protocols.md C.10
PAYME_BASIC = "Basic UGF5Y29tOjAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg=="
PAYME_MERCHANT = "587f72c72cac0d162c722ae2"  # C.8's worked example
CLICK_SECRET = "SECRETKEY"  # D.4 and D.9 vectors
CLICK_SERVICE = "12345"
CLICK_MERCHANT = "777"
EXPIRY_MS = 43_200_000


def now_ms():
    return int(time.time() * 1000)


def dumps(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode()


# ---- a reference Payme merchant (protocols.md C.7) ----

class PaymeMerchant:
    """A one-time-order Payme merchant. faults: a set of ways to be wrong."""

    def __init__(self, orders, key=PAYME_KEY, faults=()):
        self.key = key
        self.faults = set(faults)
        self.orders = {oid: {"amount": a, "state": "waiting"} for oid, a in orders.items()}
        self.tx = {}
        self.seq = 0

    def error(self, rid, code, data=None):
        e = {"code": code, "message": {"ru": "ошибка", "uz": "xato", "en": "error"}}
        if data is not None:
            e["data"] = data
        return {"error": e, "id": rid}

    def answer(self, headers, body):
        if "http500" in self.faults:
            return 500, b"oops"
        try:
            req = json.loads(body)
            rid = req.get("id")
        except ValueError:
            return 200, dumps(self.error(None, -32700))
        want = "Basic " + base64.b64encode(f"Paycom:{self.key}".encode()).decode()
        if headers.get("Authorization") != want and "any_auth" not in self.faults:
            return 200, dumps(self.error(rid, -32504))
        method, p = req.get("method"), req.get("params") or {}
        fn = getattr(self, "m_" + str(method), None)
        if not fn:
            return 200, dumps(self.error(rid, -32601, method))
        out = fn(p)
        if "code" in out:
            return 200, dumps(self.error(rid, out["code"], out.get("data")))
        return 200, dumps({"result": out, "id": rid})

    def order_check(self, p, new_tx=True):
        oid = (p.get("account") or {}).get("order_id")
        o = self.orders.get(oid)
        if o is None:
            return {"code": -31050, "data": "order_id"}
        if p.get("amount") != o["amount"]:
            return {"code": -31001}
        busy = [t for t in self.tx.values() if t["order"] == oid and t["state"] in (1, 2)]
        if o["state"] != "waiting" or (busy and "second_ok" not in self.faults):
            return {"code": -31008}
        return None

    def expired(self, t):
        return "no_expiry" not in self.faults and now_ms() - t["time"] > EXPIRY_MS

    def cancel(self, t, reason):
        t.update(state=-1 if t["state"] == 1 else -2, reason=reason, cancel_time=now_ms())
        self.orders[t["order"]]["state"] = "waiting" if t["state"] == -1 else "refunded"

    def m_CheckPerformTransaction(self, p):
        return self.order_check(p) or {"allow": True}

    def m_CreateTransaction(self, p):
        t = self.tx.get(p.get("id"))
        if t:
            if t["state"] != 1:
                return {"code": -31008}
            if self.expired(t):
                self.cancel(t, 4)
                return {"code": -31008}
            ct = t["create_time"] + ("repeat_differs" in self.faults)
            return {"create_time": ct, "transaction": t["transaction"], "state": 1}
        bad = self.order_check(p)
        if bad:
            return bad
        self.seq += 1
        t = {"time": p["time"], "order": p["account"]["order_id"], "state": 1,
             "create_time": now_ms(), "perform_time": 0, "cancel_time": 0, "reason": None,
             "transaction": str(self.seq), "amount": p["amount"], "id": p["id"]}
        self.tx[p["id"]] = t
        return {"create_time": t["create_time"], "transaction": t["transaction"], "state": 1}

    def m_PerformTransaction(self, p):
        t = self.tx.get(p.get("id"))
        if not t:
            return {"code": -31003}
        if t["state"] == 1:
            if self.expired(t):
                self.cancel(t, 4)
                return {"code": -31008}
            t.update(state=2, perform_time=now_ms())
            self.orders[t["order"]]["state"] = "paid"
        if t["state"] != 2:
            return {"code": -31008}
        return {"transaction": t["transaction"], "perform_time": t["perform_time"], "state": 2}

    def m_CancelTransaction(self, p):
        t = self.tx.get(p.get("id"))
        if not t:
            return {"code": -31003}
        if t["state"] > 0:
            self.cancel(t, p.get("reason"))
        return {"transaction": t["transaction"], "cancel_time": t["cancel_time"],
                "state": t["state"]}

    def m_CheckTransaction(self, p):
        t = self.tx.get(p.get("id"))
        if not t:
            return {"code": -31003}
        return {k: t[k] for k in ("create_time", "perform_time", "cancel_time", "transaction",
                                  "state", "reason")}

    def m_GetStatement(self, p):
        return {"transactions": [
            {"id": t["id"], "time": t["time"], "amount": t["amount"],
             "account": {"order_id": t["order"]}, "create_time": t["create_time"],
             "perform_time": t["perform_time"], "cancel_time": t["cancel_time"],
             "transaction": t["transaction"], "state": t["state"], "reason": t["reason"]}
            for t in sorted(self.tx.values(), key=lambda t: t["time"])
            if p["from"] <= t["time"] <= p["to"]]}


# ---- a reference Click merchant (protocols.md D.4-D.6) ----

CLICK_FIELDS = ["click_trans_id", "service_id", "click_paydoc_id", "merchant_trans_id",
                "amount", "action", "error", "error_note", "sign_time", "sign_string"]


def click_sign(f, secret=CLICK_SECRET):
    g = lambda k: f.get(k, "")  # noqa: E731
    if g("action") == "1":
        s = (g("click_trans_id") + g("service_id") + secret + g("merchant_trans_id") +
             g("merchant_prepare_id") + g("amount") + g("action") + g("sign_time"))
    else:
        s = (g("click_trans_id") + g("service_id") + secret + g("merchant_trans_id") +
             g("amount") + g("action") + g("sign_time"))
    return hashlib.md5(s.encode()).hexdigest()


class ClickMerchant:
    def __init__(self, orders, faults=()):
        self.faults = set(faults)
        self.orders = {oid: {"tiyin": a, "state": "waiting"} for oid, a in orders.items()}
        self.prepares = {}
        self.seq = 1000

    def answer(self, headers, body):
        if "http500" in self.faults:
            return 500, b"oops"
        f = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        need = CLICK_FIELDS + (["merchant_prepare_id"] if f.get("action") == "1" else [])
        base = {"click_trans_id": int(f["click_trans_id"]) if f.get("click_trans_id", "")
                .isdigit() else None, "merchant_trans_id": f.get("merchant_trans_id")}

        def out(err, note, **kw):
            return 200, dumps({**base, "error": err, "error_note": note, **kw})

        if any(k not in f for k in need):
            return out(-8, "Error in request from click")
        if f["action"] not in ("0", "1"):
            return out(-3, "Action not found")
        if f["sign_string"] != click_sign(f) and "no_sign" not in self.faults:
            return out(-1, "SIGN CHECK FAILED!")
        try:
            som = float(f["amount"])
        except ValueError:
            return out(-2, "Incorrect parameter amount")
        if f["action"] == "0":
            o = self.orders.get(f["merchant_trans_id"])
            if o is None:
                return out(-5, "User does not exist")
            if round(som * 100) != o["tiyin"]:
                return out(-2, "Incorrect parameter amount")
            if o["state"] == "paid":
                return out(-4, "Already paid")
            if o["state"] == "cancelled":
                return out(-9, "Transaction cancelled")
            self.seq += 1
            self.prepares[self.seq] = {"order": f["merchant_trans_id"], "state": "prepared",
                                       "trans": f["click_trans_id"]}
            return out(0, "Success", merchant_prepare_id=self.seq)
        pid = int(f["merchant_prepare_id"]) if f["merchant_prepare_id"].isdigit() else -1
        p = self.prepares.get(pid)
        if p is None or p["trans"] != f["click_trans_id"]:
            return out(-6, "Transaction does not exist")
        o = self.orders[p["order"]]
        if int(f["error"]) < 0:
            p["state"] = "cancelled"
            if o["state"] != "paid":
                o["state"] = "cancelled"
            return out(-9, "Transaction cancelled")
        if p["state"] == "cancelled":
            return out(-9, "Transaction cancelled")
        if p["state"] == "paid" and "repeat_ok" not in self.faults:
            return out(-4, "Already paid")
        if round(som * 100) != o["tiyin"]:
            return out(-2, "Incorrect parameter amount")
        p["state"] = o["state"] = "paid"
        return out(0, "Success", merchant_confirm_id=pid)


# ---- the recorder ----

class Recorder:
    """Herald's hooks as seen from outside: records every request (method,
    path, headers, raw body) and answers through the merchant set for it."""

    def __init__(self):
        self.got = []
        self.lock = threading.Lock()
        self.payme = None
        self.click = None
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def handle_any(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.got.append({"method": self.command, "path": self.path,
                                      "headers": dict(self.headers), "body": body})
                    m = outer.payme if self.path.startswith("/hooks/payme") else outer.click
                    status, ans = m.answer(self.headers, body) if m else (404, b"")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(ans)))
                self.end_headers()
                self.wfile.write(ans)

            do_POST = do_GET = handle_any

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self):
        with self.lock:
            got, self.got = self.got, []
        return got

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Sim:
    def __init__(self, base):
        self.base = base
        self.http = requests.Session()

    def ctl(self, method, path, body=None, status=200, **params):
        r = self.http.request(method, self.base + "/control" + path, json=body, params=params,
                              timeout=120)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def post(self, path, body=None, status=200):
        return self.ctl("POST", path, body, status)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    rec = Recorder()
    port = servers.free_port()
    log = tmp_path_factory.mktemp("simpay") / "sim.log"
    args = [BIN, "sim", "--listen", f"127.0.0.1:{port}",
            "--payme-endpoint", rec.base + "/hooks/payme", "--payme-key", PAYME_KEY,
            "--payme-merchant", PAYME_MERCHANT,
            "--click-prepare", rec.base + "/hooks/click/prepare",
            "--click-complete", rec.base + "/hooks/click/complete",
            "--click-secret", CLICK_SECRET, "--click-service-id", CLICK_SERVICE,
            "--click-merchant-id", CLICK_MERCHANT]
    with open(log, "wb") as errf:
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errf)
        line = p.stdout.readline().decode()
        assert line.strip() == f"sim listening on http://127.0.0.1:{port}", line
        yield Sim(f"http://127.0.0.1:{port}"), rec
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = "killed"
    rec.close()
    text = log.read_text(errors="replace")
    assert_no_sanitizer_report(text, "herald sim")
    assert rc == 0, f"herald sim exited {rc}:\n{text[-3000:]}"


@pytest.fixture
def env(world):
    sim, rec = world
    sim.post("/reset", {})
    rec.payme = rec.click = None
    rec.take()
    return sim, rec


def failed(report):
    return [(s["step"], s["what"]) for s in report["steps"] if not s["pass"]]


# ---- Payme: the requests ----

def test_payme_request_bytes_headers_and_envelope(env):
    sim, rec = env
    rec.payme = PaymeMerchant({"197": 500})
    out = sim.post("/payme/call", {"method": "CheckPerformTransaction",
                                   "params": {"amount": 500, "account": {"order_id": "197"}}})
    got = rec.take()
    assert len(got) == 1
    g = got[0]
    assert g["method"] == "POST" and g["path"] == "/hooks/payme"
    assert g["headers"]["Authorization"] == PAYME_BASIC
    assert g["headers"]["Content-Type"] == "text/json; charset=UTF-8"
    rid = out["id"]
    assert isinstance(rid, int) and rid > 0
    assert g["body"] == (b'{"method":"CheckPerformTransaction","params":{"amount":500,'
                         b'"account":{"order_id":"197"}},"id":' + str(rid).encode() + b"}")
    assert out["status"] == 200
    assert out["json"] == {"result": {"allow": True}, "id": rid}
    assert out["answer"].encode() == dumps({"result": {"allow": True}, "id": rid})

    # ids grow; jsonrpc and application/json are configurable
    sim.post("/payme/config", {"jsonrpc": True, "content_type": "application/json"})
    out2 = sim.post("/payme/call", {"method": "CheckTransaction", "params": {"id": "x"}})
    g = rec.take()[0]
    assert out2["id"] > rid
    assert g["headers"]["Content-Type"] == "application/json"
    assert g["body"] == (b'{"jsonrpc":"2.0","method":"CheckTransaction","params":{"id":"x"},'
                         b'"id":' + str(out2["id"]).encode() + b"}")


def test_payme_wrong_credentials_and_raw_bodies(env):
    sim, rec = env
    rec.payme = PaymeMerchant({"1": 100})
    out = sim.post("/payme/call", {"method": "CheckTransaction", "params": {"id": "a"},
                                   "auth": "wrong_key"})
    h = rec.take()[0]["headers"]["Authorization"]
    user, _, pw = base64.b64decode(h.split()[1]).decode().partition(":")
    assert user == "Paycom" and pw != PAYME_KEY
    assert out["json"]["error"]["code"] == -32504
    sim.post("/payme/call", {"method": "CheckTransaction", "auth": "wrong_login"})
    user, _, pw = base64.b64decode(rec.take()[0]["headers"]["Authorization"].split()[1]) \
        .decode().partition(":")
    assert user != "Paycom" and pw == PAYME_KEY
    sim.post("/payme/call", {"method": "CheckTransaction", "auth": "none"})
    assert "Authorization" not in rec.take()[0]["headers"]
    # a raw body is sent as it is, with the method and content type asked for
    out = sim.post("/payme/call", {"body": "{not json", "http_method": "GET",
                                   "content_type": "text/plain"})
    g = rec.take()[0]
    assert g["method"] == "GET" and g["body"] == b"{not json"
    assert g["headers"]["Content-Type"] == "text/plain"
    assert out["json"]["error"]["code"] == -32700
    # the key is never recorded
    calls = requests.get(sim.base + "/control/payme/calls", timeout=10).text
    assert PAYME_KEY not in calls and PAYME_BASIC.split()[1] not in calls
    assert json.loads(calls)["calls"][0]["auth"] == "wrong_key"


def test_payme_pay_sends_each_step_and_repeats_bytes(env):
    sim, rec = env
    m = rec.payme = PaymeMerchant({"o-1": 150000})
    t0 = now_ms()
    rep = sim.post("/payme/pay", {"order_id": "o-1", "amount": 150000})
    assert rep["pass"] is True, failed(rep)
    assert [s["step"] for s in rep["steps"]] == ["1", "2", "3", "4", "5"]
    got = rec.take()
    bodies = [json.loads(g["body"]) for g in got]
    assert [b["method"] for b in bodies] == [
        "CheckPerformTransaction", "CreateTransaction", "CreateTransaction",
        "PerformTransaction", "PerformTransaction"]
    assert got[1]["body"] == got[2]["body"] and got[3]["body"] == got[4]["body"]
    assert all(g["headers"]["Authorization"] == PAYME_BASIC for g in got)
    cr = bodies[1]["params"]
    assert re.fullmatch(r"[0-9a-f]{24}", cr["id"]) and cr["id"] == rep["id"]
    assert cr["amount"] == 150000 and cr["account"] == {"order_id": "o-1"}
    assert t0 - 1000 <= cr["time"] <= now_ms() + 1000
    assert m.orders["o-1"]["state"] == "paid"
    # the steps show what was sent and answered
    assert rep["steps"][1]["request"] == bodies[1]
    assert rep["steps"][2]["answer"] == rep["steps"][1]["answer"]

    # the calls log has every call, in order, with answers
    calls = sim.ctl("GET", "/payme/calls")["calls"]
    assert [c["method"] for c in calls] == [b["method"] for b in bodies]
    assert [c["repeat"] for c in calls] == [False, False, True, False, True]
    assert calls[1]["params"] == cr and calls[1]["status"] == 200
    later = sim.ctl("GET", "/payme/calls", after=calls[2]["seq"])["calls"]
    assert [c["seq"] for c in later] == [calls[3]["seq"], calls[4]["seq"]]


def test_payme_pay_fails_when_a_repeat_differs(env):
    sim, rec = env
    rec.payme = PaymeMerchant({"o-2": 1000}, faults={"repeat_differs"})
    rep = sim.post("/payme/pay", {"order_id": "o-2", "amount": 1000})
    assert rep["pass"] is False
    assert failed(rep) == [("3", "create again (a retry)")]


def test_payme_pay_fails_on_a_non_200_answer(env):
    sim, rec = env
    rec.payme = PaymeMerchant({"o-3": 1000}, faults={"http500"})
    rep = sim.post("/payme/pay", {"order_id": "o-3", "amount": 1000})
    assert rep["pass"] is False and len(rep["steps"]) == 1
    assert "HTTP 500" in rep["steps"][0]["why"]


def test_payme_cancel_and_check_and_statement(env):
    sim, rec = env
    rec.payme = PaymeMerchant({"o-4": 700})
    t0 = now_ms()
    pay = sim.post("/payme/pay", {"order_id": "o-4", "amount": 700})
    rec.take()
    rep = sim.post("/payme/cancel", {"id": pay["id"], "reason": 5})
    assert rep["pass"] is True, failed(rep)
    got = rec.take()
    assert len(got) == 2 and got[0]["body"] == got[1]["body"]
    assert json.loads(got[0]["body"])["params"] == {"id": pay["id"], "reason": 5}
    chk = sim.post("/payme/check", {"id": pay["id"]})
    assert chk["json"]["result"]["state"] == -2 and chk["json"]["result"]["reason"] == 5
    st = sim.post("/payme/statement", {"from": t0 - 1000, "to": now_ms() + 1000})
    assert [t["id"] for t in st["json"]["result"]["transactions"]] == [pay["id"]]
    # a cancel whose state must be -1 fails on a performed transaction
    rep = sim.post("/payme/cancel", {"id": pay["id"], "reason": 3, "state": -1})
    assert rep["pass"] is False


SANDBOX_STEPS = (["1.1"] * 6 + ["1.2", "1.2", "1.3", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8",
                                "1.9", "1.9", "1.10", "2.1", "2.2", "2.2", "2.2", "2.2", "2.3",
                                "2.3", "2.4", "2.5", "2.5", "2.6"])


def sandbox_body():
    return {"order1": {"order_id": "s-1", "amount": 500000},
            "order2": {"order_id": "s-2", "amount": 990000}, "unknown_order_id": "nope"}


def test_payme_sandbox_passes_a_correct_merchant(env):
    sim, rec = env
    rec.payme = PaymeMerchant({"s-1": 500000, "s-2": 990000})
    rep = sim.post("/payme/sandbox", sandbox_body())
    assert rep["pass"] is True, failed(rep)
    assert [s["step"] for s in rep["steps"]] == SANDBOX_STEPS
    assert rep["passed"] == len(SANDBOX_STEPS) and rep["failed"] == 0
    got = rec.take()
    assert len(got) == len(SANDBOX_STEPS)
    # 1.1: every method with wrong credentials
    assert {json.loads(g["body"])["method"] for g in got[:6]} == {
        "CheckPerformTransaction", "CreateTransaction", "PerformTransaction",
        "CancelTransaction", "CheckTransaction", "GetStatement"}
    assert all(g["headers"]["Authorization"] != PAYME_BASIC for g in got[:6])
    assert all(g["headers"]["Authorization"] == PAYME_BASIC for g in got[6:])
    # 1.2 a wrong amount, 1.3 the unknown order
    assert json.loads(got[6]["body"])["params"]["amount"] != 500000
    assert json.loads(got[8]["body"])["params"]["account"] == {"order_id": "nope"}
    # every repeat is the same bytes
    for i, s in enumerate(rep["steps"]):
        if s["repeat"]:
            assert got[i]["body"] == got[i - 1]["body"]
    for s in rep["steps"]:
        assert set(s) >= {"step", "request", "answer", "expected", "pass"}


@pytest.mark.parametrize("fault,bad", [
    # wrong credentials accepted: 1.1 fails, and the transaction its Create
    # made blocks the order for 1.4-1.10 (as on the real sandbox)
    ("any_auth", {"1.1", "1.4", "1.5", "1.6", "1.7", "1.9", "1.10"}),
    ("second_ok", {"1.8", "2.2"}),
    ("repeat_differs", {"1.6", "2.2"}),
])
def test_payme_sandbox_catches_a_wrong_merchant(env, fault, bad):
    sim, rec = env
    rec.payme = PaymeMerchant({"s-1": 500000, "s-2": 990000}, faults={fault})
    rep = sim.post("/payme/sandbox", sandbox_body())
    assert rep["pass"] is False
    assert {s for s, _ in failed(rep)} == bad, failed(rep)


def test_payme_timeout(env):
    sim, rec = env
    rec.payme = PaymeMerchant({"t-1": 5000, "t-2": 5000})
    rep = sim.post("/payme/timeout", {"order_id": "t-1", "amount": 5000})
    assert rep["pass"] is True, failed(rep)
    got = [json.loads(g["body"]) for g in rec.take()]
    assert [b["method"] for b in got] == ["CheckPerformTransaction", "CreateTransaction",
                                          "PerformTransaction", "CreateTransaction",
                                          "CheckTransaction"]
    assert now_ms() - got[1]["params"]["time"] > EXPIRY_MS
    assert rep["steps"][-1]["json"]["result"]["reason"] == 4
    # by the driver's clock: move it back 13 hours and a plain pay's create
    # carries that time
    sim.post("/payme/clock", {"shift_ms": -13 * 3600 * 1000})
    rep = sim.post("/payme/pay", {"order_id": "t-2", "amount": 5000})
    got = [json.loads(g["body"]) for g in rec.take()]
    assert now_ms() - got[1]["params"]["time"] > EXPIRY_MS
    # the merchant is right to refuse the retry and the perform: both expired
    assert [s for s, _ in failed(rep)] == ["3", "4"]
    assert [s["json"]["error"]["code"] for s in rep["steps"][2:]] == [-31008, -31008]


def test_payme_timeout_catches_a_merchant_without_expiry(env):
    sim, rec = env
    rec.payme = PaymeMerchant({"t-3": 5000}, faults={"no_expiry"})
    rep = sim.post("/payme/timeout", {"order_id": "t-3", "amount": 5000, "via": "create"})
    assert rep["pass"] is False
    assert {s for s, _ in failed(rep)} == {"3", "4", "5"}


def test_payme_config_and_bad_input(env):
    sim, rec = env
    cfg = sim.ctl("GET", "/payme/config")
    assert cfg["endpoint"] == rec.base + "/hooks/payme" and cfg["key_set"] is True
    assert cfg["login"] == "Paycom" and PAYME_KEY not in json.dumps(cfg)
    for body in ({"endpoint": "ftp://x"}, {"key": ""}, {"timeout_ms": 5}, {"jsonrpc": "yes"},
                 {"key": "a\nb"}):
        sim.post("/payme/config", body, status=400)
    for path, body in (("/payme/pay", {"order_id": "x"}), ("/payme/pay", {"amount": 5}),
                       ("/payme/pay", {"order_id": "x", "amount": -1}),
                       ("/payme/pay", {"order_id": "x" * 300, "amount": 1}),
                       ("/payme/call", {}), ("/payme/call", {"method": "X", "params": []}),
                       ("/payme/cancel", {}), ("/payme/sandbox", {}),
                       ("/payme/timeout", {"order_id": "x", "amount": 1, "age_ms": 5}),
                       ("/payme/clock", {"offset_ms": 10 ** 15})):
        sim.post(path, body, status=400)
    r = requests.post(sim.base + "/control/payme/pay", data=b"\xff{", timeout=10)
    assert r.status_code == 400
    r = requests.post(sim.base + "/control/payme/call", data=b"[" * 5000, timeout=10)
    assert r.status_code == 400
    assert rec.take() == []
    sim.post("/payme/config", {"endpoint": None})
    sim.post("/payme/pay", {"order_id": "x", "amount": 1}, status=409)


# ---- Payme: the checkout page ----

def test_payme_checkout_page_decodes_the_worked_example(env):
    sim, rec = env
    link = "bT01ODdmNzJjNzJjYWMwZDE2MmM3MjJhZTI7YWMub3JkZXJfaWQ9MTk3O2E9NTAw"  # C.8
    assert base64.b64decode(link) == f"m={PAYME_MERCHANT};ac.order_id=197;a=500".encode()
    r = requests.get(f"{sim.base}/payme/{link}", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert f'id="merchant">{PAYME_MERCHANT}<' in r.text
    assert ">197<" in r.text and "5.00 so'm" in r.text
    assert 'value="pay"' in r.text and 'value="cancel"' in r.text
    # with '+' and '/' (or '-' and '_'), with and without padding
    params = f"m={PAYME_MERCHANT};ac.order_id=??>>ö;a=123456;l=en;c=http://h/ret?x=12"
    for enc in (base64.b64encode, base64.urlsafe_b64encode):
        b = enc(params.encode()).decode()
        assert b.endswith("==") and ("+" in b or "-" in b) and ("/" in b or "_" in b)
        for link in (b, b.rstrip("=")):
            r = requests.get(f"{sim.base}/payme/{link}", timeout=10)
            assert ">??&gt;&gt;ö<" in r.text and "1234.56 so'm" in r.text, link
            assert 'href="http://h/ret?x=12"' not in r.text  # only after paying
    assert rec.take() == []


def test_payme_checkout_pay_cancel_and_errors(env):
    sim, rec = env
    rec.payme = PaymeMerchant({"c-1": 250000})
    params = f"m={PAYME_MERCHANT};ac.order_id=c-1;a=250000;l=ru;c=http://shop.test/back?o=1"
    link = base64.b64encode(params.encode()).decode()
    r = requests.post(f"{sim.base}/payme/{link}", data={"do": "cancel"}, timeout=10)
    assert "Payment cancelled" in r.text and 'href="http://shop.test/back?o=1"' in r.text
    assert rec.take() == []
    r = requests.post(f"{sim.base}/payme/{link}", data={"do": "pay"}, timeout=30)
    assert "Payment complete" in r.text and 'href="http://shop.test/back?o=1"' in r.text
    got = [json.loads(g["body"]) for g in rec.take()]
    assert [b["method"] for b in got] == ["CheckPerformTransaction", "CreateTransaction",
                                          "CreateTransaction", "PerformTransaction",
                                          "PerformTransaction"]
    assert got[1]["params"]["account"] == {"order_id": "c-1"}
    assert got[1]["params"]["amount"] == 250000
    # paying again: the merchant refuses, the page says so
    r = requests.post(f"{sim.base}/payme/{link}", data={"do": "pay"}, timeout=30)
    assert "Payment failed" in r.text
    rec.take()
    # an unknown merchant: Payme's -31601, nobody called
    other = base64.b64encode(b"m=000000000000000000000000;ac.order_id=1;a=500").decode()
    for method in ("get", "post"):
        r = requests.request(method, f"{sim.base}/payme/{other}", data={"do": "pay"},
                             timeout=10)
        assert r.status_code == 200 and "-31601" in r.text
    for bad in ("!!!!", "YQ", "bT0xOw" * 100, "a" * 700,
                base64.b64encode(f"m={PAYME_MERCHANT};a=-5;ac.order_id=1".encode()).decode(),
                base64.b64encode(f"m={PAYME_MERCHANT};a=5".encode()).decode(),
                base64.b64encode(b"\x00\x01\xff").decode()):
        r = requests.get(f"{sim.base}/payme/{bad}", timeout=10)
        assert r.status_code == 200 and 'id="error"' in r.text, bad
    assert rec.take() == []


# ---- Click: the requests ----

def click_form(g):
    pairs = urllib.parse.parse_qsl(g["body"].decode(), keep_blank_values=True)
    return [k for k, _ in pairs], dict(pairs)


def test_click_sign_strings_match_the_d4_vectors(env):
    sim, rec = env
    rec.click = ClickMerchant({"order-42": 5000000})
    out = sim.post("/click/prepare", {
        "click_trans_id": 123456789, "merchant_trans_id": "order-42", "amount_tiyin": 5000000,
        "fields": {"sign_time": "2024-05-01 12:00:00"}})
    g = rec.take()[0]
    assert g["path"] == "/hooks/click/prepare"
    assert g["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    names, f = click_form(g)
    assert names == CLICK_FIELDS
    assert f["sign_string"] == "02dde575c076f81bd2cc3861dba37e08"
    assert f == {"click_trans_id": "123456789", "service_id": "12345",
                 "click_paydoc_id": f["click_paydoc_id"], "merchant_trans_id": "order-42",
                 "amount": "50000.00", "action": "0", "error": "0", "error_note": "Success",
                 "sign_time": "2024-05-01 12:00:00",
                 "sign_string": "02dde575c076f81bd2cc3861dba37e08"}
    assert out["json"]["error"] == 0
    out = sim.post("/click/complete", {
        "click_trans_id": 123456789, "merchant_trans_id": "order-42", "amount_tiyin": 5000000,
        "merchant_prepare_id": "1001", "fields": {"sign_time": "2024-05-01 12:00:05"}})
    g = rec.take()[0]
    assert g["path"] == "/hooks/click/complete"
    names, f = click_form(g)
    assert names == CLICK_FIELDS[:4] + ["merchant_prepare_id"] + CLICK_FIELDS[4:]
    assert f["action"] == "1" and f["merchant_prepare_id"] == "1001"
    assert f["sign_string"] == "1d6a2a7f3eda4e1a477b908a2f48cae2"


def test_click_pay_fields_clock_ids_and_repeat(env):
    sim, rec = env
    rec.click = ClickMerchant({"p-1": 1234500, "p-2": 750})
    # Tashkent 2024-05-01 12:00:00 is 07:00:00 UTC
    sim.post("/click/clock", {"now_ms": 1714546800000})
    rep = sim.post("/click/pay", {"order_id": "p-1", "amount_tiyin": 1234500,
                                  "repeat_complete": True})
    assert rep["pass"] is True, failed(rep)
    got = rec.take()
    assert [g["path"] for g in got] == ["/hooks/click/prepare", "/hooks/click/complete",
                                        "/hooks/click/complete"]
    assert got[1]["body"] == got[2]["body"]
    _, p = click_form(got[0])
    _, c = click_form(got[1])
    assert p["amount"] == c["amount"] == "12345.00"
    assert re.fullmatch(r"2024-05-01 12:00:0\d", p["sign_time"]), p["sign_time"]
    for f in (p, c):
        assert f["sign_string"] == click_sign(f)
    assert c["click_trans_id"] == p["click_trans_id"] == rep["click_trans_id"]
    assert c["click_paydoc_id"] == p["click_paydoc_id"]
    assert c["merchant_prepare_id"] == rep["merchant_prepare_id"]
    assert rep["steps"][2]["json"]["error"] == -4
    # the next payment's ids are larger; integer amounts on request
    sim.post("/click/config", {"amount_format": "integer"})
    rep = sim.post("/click/pay", {"order_id": "p-2", "amount_tiyin": 750})
    assert rep["pass"] is True, failed(rep)
    _, p2 = click_form(rec.take()[0])
    assert int(p2["click_trans_id"]) > int(p["click_trans_id"])
    assert int(p2["click_paydoc_id"]) > int(p["click_paydoc_id"])
    assert p2["amount"] == "7.50"  # not whole so'm: still two decimals
    rec.click = ClickMerchant({"p-3": 5000000})
    sim.post("/click/pay", {"order_id": "p-3", "amount_tiyin": 5000000})
    _, p3 = click_form(rec.take()[0])
    assert p3["amount"] == "50000" and p3["sign_string"] == click_sign(p3)


def test_click_raw_overrides(env):
    sim, rec = env
    rec.click = ClickMerchant({"r-1": 100000})
    out = sim.post("/click/prepare", {"merchant_trans_id": "r-1", "amount_tiyin": 100000,
                                      "sign": "wrong"})
    assert out["json"]["error"] == -1
    _, f = click_form(rec.take()[0])
    assert f["sign_string"] != click_sign(f)
    out = sim.post("/click/prepare", {"merchant_trans_id": "r-1", "amount_tiyin": 100000,
                                      "fields": {"action": "2"}})
    _, f = click_form(rec.take()[0])
    assert f["action"] == "2" and f["sign_string"] == click_sign(f)
    assert out["json"]["error"] == -3
    out = sim.post("/click/prepare", {"merchant_trans_id": "r-1", "amount": "1.00"})
    assert out["json"]["error"] == -2
    out = sim.post("/click/prepare", {"merchant_trans_id": "r-1", "amount_tiyin": 100000,
                                      "fields": {"sign_time": None, "extra": "x"}})
    names, f = click_form(rec.take()[-1])
    assert "sign_time" not in f and f["extra"] == "x" and names[-1] == "sign_string"
    assert out["json"]["error"] == -8
    prep = sim.post("/click/prepare", {"merchant_trans_id": "r-1", "amount_tiyin": 100000})
    trans = int(prep["request"]["fields"]["click_trans_id"])
    rec.take()
    out = sim.post("/click/complete", {"click_trans_id": trans,
                                       "merchant_prepare_id": "999999999"})
    assert out["json"]["error"] == -6
    _, f = click_form(rec.take()[0])
    assert f["merchant_trans_id"] == "r-1" and f["amount"] == "1000.00"
    out = sim.post("/click/complete", {"click_trans_id": trans, "error": -5017, "repeat": True})
    assert out["json"]["error"] == -9 and out["repeat_call"]["identical"] is True
    _, f = click_form(rec.take()[0])
    assert f["error"] == "-5017" and f["sign_string"] == click_sign(f)
    assert f["merchant_prepare_id"] == str(prep["json"]["merchant_prepare_id"])
    calls = sim.ctl("GET", "/click/calls")["calls"]
    assert calls[-1]["repeat"] is True and calls[-1]["action"] == "complete"
    assert CLICK_SECRET not in json.dumps(calls)


POSTMAN_ORDERS = [{"order_id": "pm-1", "amount_tiyin": 5000000},
                  {"order_id": "pm-2", "amount_tiyin": 120000},
                  {"order_id": "pm-3", "amount": "999.50"}]


def postman_merchant(faults=()):
    return ClickMerchant({"pm-1": 5000000, "pm-2": 120000, "pm-3": 99950}, faults)


def test_click_postman_passes_a_correct_merchant(env):
    sim, rec = env
    rec.click = postman_merchant()
    rep = sim.post("/click/postman", {"orders": POSTMAN_ORDERS, "unknown_order_id": "nope"})
    assert rep["pass"] is True, failed(rep)
    assert [s["step"] for s in rep["steps"]] == [str(i) for i in range(1, 16)]
    want = [-1, -5, 0, -1, -2, 0, -4, -9, 0, -6, 0, 0, -9, -9, -9]
    assert [s["json"]["error"] for s in rep["steps"]] == want
    got = rec.take()
    forms = [click_form(g)[1] for g in got]
    assert [f["action"] for f in forms] == ["0", "0", "0"] + ["1"] * 5 + ["0", "1", "1", "0",
                                                                          "1", "1", "1"]
    assert forms[4]["amount"] == "300.00"
    assert forms[7]["error"] == "-5017" and forms[9]["merchant_prepare_id"] == "999999999"
    assert forms[14]["error"] == "0"
    assert forms[13]["amount"] == "999.50"
    for i, f in enumerate(forms):
        assert (f["sign_string"] == click_sign(f)) == (i not in (0, 3)), i


@pytest.mark.parametrize("fault,bad", [
    # the bad sign of 4 completes the payment, so 5 and 6 get -4
    ("no_sign", {"1", "4", "5", "6"}),
    ("repeat_ok", {"7"}),
    ("http500", {str(i) for i in range(1, 16)}),
])
def test_click_postman_catches_a_wrong_merchant(env, fault, bad):
    sim, rec = env
    rec.click = postman_merchant({fault})
    rep = sim.post("/click/postman", {"orders": POSTMAN_ORDERS, "unknown_order_id": "nope"})
    assert rep["pass"] is False
    assert {s for s, _ in failed(rep)} == bad, failed(rep)


def test_click_bad_input(env):
    sim, rec = env
    for path, body in (("/click/pay", {}), ("/click/pay", {"order_id": "x"}),
                       ("/click/pay", {"order_id": "x", "amount_tiyin": -5}),
                       ("/click/pay", {"order_id": "x\n", "amount_tiyin": 5}),
                       ("/click/postman", {"orders": [], "unknown_order_id": "u"}),
                       ("/click/complete", {}),
                       ("/click/prepare", {"fields": {"a": 5}}),
                       ("/click/prepare", {"fields": {"a": "x" * 5000}}),
                       ("/click/prepare", {"sign": "maybe"}),
                       ("/click/config", {"service_id": "12a"}),
                       ("/click/config", {"api_fail": {"status": 200, "count": 1}}),
                       ("/click/config", {"amount_format": "float"})):
        sim.post(path, body, status=400)
    assert rec.take() == []
    cfg = sim.ctl("GET", "/click/config")
    assert cfg["secret_set"] is True and CLICK_SECRET not in json.dumps(cfg)


# ---- Click: the Merchant API and the payment page ----

def click_auth(ts, secret=CLICK_SECRET, user="42"):
    return f"{user}:{hashlib.sha1((str(ts) + secret).encode()).hexdigest()}:{ts}"


def test_click_merchant_api_auth_status_and_reversal(env):
    sim, rec = env
    rec.click = ClickMerchant({"m-1": 100000, "m-2": 100000})
    assert click_auth(1519051543).split(":")[1] == "08be495af2b06930d8269e0d2f0bdd7a754da8cf"
    sim.post("/click/clock", {"now_ms": 1519051543000 + 20_000})
    paid = sim.post("/click/pay", {"order_id": "m-1", "amount_tiyin": 100000})
    pid = paid["click_trans_id"]
    cancelled = sim.post("/click/prepare", {"merchant_trans_id": "m-2", "amount_tiyin": 100000})
    cid = cancelled["request"]["fields"]["click_trans_id"]
    api = sim.base + "/click/v2/merchant/payment"

    def call(method, what, pay, auth=click_auth(1519051543), service=CLICK_SERVICE):
        h = {"Accept": "application/json", "Content-Type": "application/json"}
        if auth is not None:
            h["Auth"] = auth
        return requests.request(method, f"{api}/{what}/{service}/{pay}", headers=h, timeout=10)

    r = call("GET", "status", pid)
    assert r.status_code == 200, r.text
    assert r.json() == {"error_code": 0, "error_note": "Success", "payment_id": int(pid),
                        "payment_status": 2}
    assert call("GET", "status", cid).json()["payment_status"] == 1
    for auth in (None, "", click_auth(1519051543, secret="other"),
                 click_auth(1519051543).upper(), click_auth(1519051543 - 3600),
                 "42:" + "0" * 40, "x:y", "a:b:c:d", "1:" * 300):
        r = call("DELETE", "reversal", pid, auth=auth)
        assert r.status_code == 401, auth
        assert r.json()["error_code"] != 0
    assert call("DELETE", "reversal", pid, service="999").status_code == 404
    assert call("DELETE", "reversal", "77").status_code == 404
    assert call("DELETE", "reversal", "abc").status_code == 400
    assert call("DELETE", "reversal", cid).json()["error_code"] != 0  # not paid
    assert not [p for p in sim.ctl("GET", "/click/payments")["payments"] if p["reversed"]]
    r = call("DELETE", "reversal", pid)
    assert r.status_code == 200
    assert r.json() == {"error_code": 0, "error_note": "Success", "payment_id": int(pid)}
    pays = {str(p["payment_id"]): p for p in sim.ctl("GET", "/click/payments")["payments"]}
    assert pays[pid]["reversed"] is True and pays[pid]["merchant_trans_id"] == "m-1"
    assert pays[cid]["reversed"] is False
    again = call("DELETE", "reversal", pid)
    assert again.json()["error_code"] != 0
    api_calls = sim.ctl("GET", "/click/api_calls")["calls"]
    assert api_calls[-1]["status"] == again.status_code
    assert any(c["auth_error"] and "digest" in c["auth_error"] for c in api_calls)
    # an injected failure
    sim.post("/click/config", {"api_fail": {"status": 502, "count": 1}})
    assert call("GET", "status", pid).status_code == 502
    assert call("GET", "status", pid).status_code == 200
    # a configured merchant user id is checked
    sim.post("/click/config", {"merchant_user_id": "43"})
    assert call("GET", "status", pid).status_code == 401


def test_click_payment_page(env):
    sim, rec = env
    rec.click = ClickMerchant({"pg-1": 4500000, "pg-2": 100})
    q = {"service_id": CLICK_SERVICE, "merchant_id": CLICK_MERCHANT, "amount": "45000.00",
         "transaction_param": "pg-1", "return_url": "https://shop.test/r?a=1&b=2"}
    url = sim.base + "/click/services/pay"
    r = requests.get(url, params=q, timeout=10)
    assert r.status_code == 200 and ">pg-1<" in r.text and "45000.00 so'm" in r.text
    assert rec.take() == []
    r = requests.post(url, params=q, data={"do": "pay"}, timeout=30)
    assert "Payment complete" in r.text
    assert 'href="https://shop.test/r?a=1&amp;b=2"' in r.text
    forms = [click_form(g)[1] for g in rec.take()]
    assert [f["action"] for f in forms] == ["0", "1"]
    assert forms[0]["merchant_trans_id"] == "pg-1" and forms[0]["amount"] == "45000.00"
    r = requests.post(url, params=dict(q, transaction_param="pg-2", amount="1"),
                      data={"do": "cancel"}, timeout=30)
    assert "Payment cancelled" in r.text
    forms = [click_form(g)[1] for g in rec.take()]
    assert [(f["action"], f["error"]) for f in forms] == [("0", "0"), ("1", "-5017")]
    assert forms[0]["amount"] == "1.00"
    for bad in (dict(q, merchant_id="1"), dict(q, service_id="1"), dict(q, amount="-1"),
                dict(q, amount="1.234"), dict(q, transaction_param=""), {}):
        r = requests.get(url, params=bad, timeout=10)
        assert 'id="error"' in r.text, bad
        r = requests.post(url, params=bad, data={"do": "pay"}, timeout=10)
        assert 'id="error"' in r.text, bad
    assert rec.take() == []


def test_reset_restores_the_command_line(env):
    sim, rec = env
    sim.post("/payme/config", {"key": "other", "jsonrpc": True})
    sim.post("/click/config", {"secret": "other", "amount_format": "integer"})
    sim.post("/payme/clock", {"offset_ms": 5000})
    sim.post("/reset", {})
    assert sim.ctl("GET", "/payme/config")["jsonrpc"] is False
    assert sim.ctl("GET", "/payme/clock")["offset_ms"] == 0
    assert sim.ctl("GET", "/click/config")["amount_format"] == "decimal"
    assert sim.ctl("GET", "/payme/calls")["calls"] == []
    assert sim.ctl("GET", "/click/payments")["payments"] == []


CONTROL_POSTS = ["/payme/config", "/payme/clock", "/payme/call", "/payme/pay", "/payme/cancel",
                 "/payme/check", "/payme/statement", "/payme/sandbox", "/payme/timeout",
                 "/click/config", "/click/clock", "/click/prepare", "/click/complete",
                 "/click/pay", "/click/postman"]
JUNK = [b"", b"null", b"[]", b"\"x\"", b"{", b"\xff\xfe", b"[" * 100 + b"]" * 100,
        b'{"order_id": {}, "amount": "x", "account": [], "id": {}, "reason": "r"}',
        b'{"orders": [1, 2, 3], "unknown_order_id": 5, "order1": [], "order2": null}',
        b'{"method": "A", "params": {"a": [[[[[]]]]]}, "body": 5, "auth": 1}',
        b'{"fields": [], "sign": null, "click_trans_id": -1, "amount_tiyin": 1e300}',
        b'{"offset_ms": 9223372036854775807, "shift_ms": -9223372036854775808}',
        b'{"now_ms": "9223372036854775807", "timeout_ms": 1e3, "api_fail": {}}',
        b'{"order_id": "' + b"\\u0000" * 10 + b'", "amount": 5}',
        b'{"merchant_trans_id": "' + b"x" * 100 + b'", "click_trans_id": "99999999999999999999"}',
        b'{"key": "' + b"k" * 300_000 + b'"}']


def test_junk_never_crashes(env):
    sim, rec = env
    for path in CONTROL_POSTS:
        for body in JUNK:
            r = requests.post(sim.base + "/control" + path, data=body, timeout=30,
                              headers={"Content-Type": "application/json"})
            assert r.status_code in (200, 400, 409, 413), (path, body[:80], r.status_code)
            assert isinstance(r.json(), dict)
        sim.post("/reset", {})
    api = sim.base + "/click/v2/merchant/payment"
    for auth in ("::", ":::", "1:" + "a" * 40 + ":", "1::1", "\x01:\x02:\x03",
                 "9" * 30 + ":x:1", "1:" + "0" * 40 + ":" + "9" * 30):
        for path in (f"/status/{CLICK_SERVICE}/1", f"/reversal/{CLICK_SERVICE}/1"):
            method = "GET" if "status" in path else "DELETE"
            r = requests.request(method, api + path, headers={"Auth": auth}, timeout=10)
            assert r.status_code == 401 and r.json()["error_code"] == -401, auth
    for path in ("/payme/" + "%ff" * 10, "/payme/%00%00%00%00", "/payme//", "/payme/a/b/c/d/e/f",
                 "/click/services/pay?amount=%ff&service_id=" + "9" * 40):
        r = requests.get(sim.base + path, timeout=10)
        assert r.status_code in (200, 404), path
    assert sim.ctl("GET", "/payme/config")["login"] == "Paycom"
