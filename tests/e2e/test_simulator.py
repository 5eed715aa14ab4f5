"""The Telegram Bot API simulator (`herald sim`, docs/simulator.md).

One simulator process serves the whole module; every test starts from
POST /control/reset. Tests drive the Bot API as a bot would and the control
API as users and channel administrators would, and assert on what either
API answers.
"""
import http.server
import json
import signal
import struct
import subprocess
import threading
import time
import zlib

import pytest
import requests

import servers
from conftest import BIN, assert_no_sanitizer_report

TOKEN = "123456789:SIMTOKEN-test"
BOT_ID = 123456789


def png(width, height):
    """A valid PNG header of the given size (the simulator reads IHDR)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) +
            chunk(b"IEND", b""))


class Sim:
    def __init__(self, base):
        self.base = base
        self.http = requests.Session()

    def url(self, path):
        return self.base + path

    def bot(self, method, http_method="POST", token=TOKEN, timeout=30, **kw):
        """A Bot API call; returns (HTTP status, decoded body)."""
        r = self.http.request(http_method, self.url(f"/bot{token}/{method}"), timeout=timeout,
                              **kw)
        return r.status_code, r.json()

    def ok(self, method, /, **params):
        status, body = self.bot(method, json=params)
        assert status == 200 and body["ok"] is True, (method, params, body)
        return body["result"]

    def err(self, method, code, text, /, **params):
        """A call that must fail with error_code code and description text."""
        status, body = self.bot(method, json=params)
        assert status == code, (method, body)
        assert body == {"ok": False, "error_code": code, "description": text}, body
        return body

    def ctl(self, path, body=None, method=None, expect=200, **kw):
        m = method or ("POST" if body is not None else "GET")
        r = self.http.request(m, self.url("/control" + path), json=body, timeout=30, **kw)
        assert r.status_code == expect, (path, r.status_code, r.text)
        return r.json()

    def user(self, **fields):
        return self.ctl("/users", fields)

    def started_user(self, **fields):
        u = self.user(**fields)
        self.ctl(f"/users/{u['id']}/messages", {"text": "/start"})
        return u

    def updates(self, **params):
        return self.ok("getUpdates", **params)

    def drain(self):
        ups = self.updates()
        if ups:
            self.updates(offset=ups[-1]["update_id"] + 1)
        return ups

    def stats(self):
        return self.ctl("/stats")


@pytest.fixture(scope="module")
def sim_proc(tmp_path_factory):
    port = servers.free_port()
    log = tmp_path_factory.mktemp("sim") / "sim.log"
    with open(log, "wb") as errf:
        p = subprocess.Popen([BIN, "sim", "--listen", f"127.0.0.1:{port}", "--token", TOKEN],
                             stdout=subprocess.PIPE, stderr=errf)
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


@pytest.fixture
def sim(sim_proc):
    sim_proc.ctl("/reset", {})
    sim_proc.ctl("/rate_limits", {"enabled": False})
    return sim_proc


class Receiver:
    """A webhook endpoint: records each POST and answers from a script of statuses."""

    def __init__(self, statuses=(), files=None):
        self.got = []
        self.files = files or {}
        self.statuses = list(statuses)
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n))
                with outer.lock:
                    outer.got.append((dict(self.headers), body))
                    status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):  # a file to send by URL
                body = outer.files.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.got) >= n:
                    return list(self.got)
            time.sleep(0.02)
        raise AssertionError(f"webhook got {len(self.got)} of {n} deliveries")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_get_me_token_and_method_names(sim):
    me = sim.ok("getMe")
    assert me["id"] == BOT_ID and me["is_bot"] is True and me["username"] == "HeraldDemoBot"
    status, body = sim.bot("GETME", http_method="GET")
    assert status == 200 and body["result"]["id"] == BOT_ID
    status, body = sim.bot("getMe", token="123456789:wrong")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    status, body = sim.bot("noSuchMethod")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert sim.stats()["requests"]["getMe"] == 2


def test_get_updates_offset_confirmation(sim):
    u = sim.user(first_name="Ann")
    for t in ["/start", "one", "two"]:
        sim.ctl(f"/users/{u['id']}/messages", {"text": t})
    ups = sim.updates()
    assert [x["message"]["text"] for x in ups] == ["/start", "one", "two"]
    ids = [x["update_id"] for x in ups]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert ups[0]["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert sim.updates(limit=1) == ups[:1]
    # an offset confirms everything before it
    assert sim.updates(offset=ids[1]) == ups[1:]
    assert sim.updates() == ups[1:]
    assert sim.updates(offset=ids[2] + 1) == []
    # a negative offset keeps only the last -offset updates
    for t in ["a", "b", "c"]:
        sim.ctl(f"/users/{u['id']}/messages", {"text": t})
    last = sim.updates(offset=-1)
    assert [x["message"]["text"] for x in last] == ["c"]
    assert sim.updates() == last


def test_long_poll_times_out_and_returns_early(sim):
    u = sim.user()
    t0 = time.monotonic()
    assert sim.updates(timeout=1) == []
    assert 0.9 <= time.monotonic() - t0 < 3
    threading.Timer(0.4, lambda: sim.ctl(f"/users/{u['id']}/messages", {"text": "hi"})).start()
    t0 = time.monotonic()
    ups = sim.updates(timeout=10)
    assert 0.3 <= time.monotonic() - t0 < 3
    assert [x["message"]["text"] for x in ups] == ["hi"]


def test_second_long_poll_terminates_the_first(sim):
    got = {}

    def first():
        got["r"] = sim.bot("getUpdates", json={"timeout": 5})

    t = threading.Thread(target=first)
    t.start()
    time.sleep(0.4)
    sim.updates()
    t.join(timeout=5)
    status, body = got["r"]
    assert status == 409
    assert body["description"] == ("Conflict: terminated by other getUpdates request; make sure "
                                   "that only one bot instance is running")


def test_allowed_updates(sim):
    u = sim.started_user()
    sim.drain()
    # by default chat_member is not sent
    r = sim.ctl("/updates", {"chat_member": {"chat": {"id": 1, "type": "channel"}}})
    assert r["update_id"] is None
    sim.updates(allowed_updates=["callback_query"])
    sim.ctl(f"/users/{u['id']}/messages", {"text": "filtered"})
    assert sim.updates() == []  # omitted: the setting stays
    sim.updates(allowed_updates=[])  # empty: the default again
    sim.ctl(f"/users/{u['id']}/messages", {"text": "kept"})
    assert [x["message"]["text"] for x in sim.updates()] == ["kept"]


def test_webhook_delivery_retry_order_and_conflict(sim):
    rx = Receiver(statuses=[500])
    try:
        sim.ctl("/webhook/config", {"retry_base_ms": 50})
        u = sim.user()
        assert sim.ok("setWebhook", url=f"http://127.0.0.1:{rx.port}/hook",
                      secret_token="s3cr3t_-X") is True
        sim.err("getUpdates", 409, "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first")
        for t in ["one", "two", "three"]:
            sim.ctl(f"/users/{u['id']}/messages", {"text": t})
        got = rx.wait(4)
        texts = [b["message"]["text"] for _, b in got]
        assert texts == ["one", "one", "two", "three"]  # the 500 is retried before the next
        for headers, _ in got:
            assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cr3t_-X"
            assert headers["Content-Type"] == "application/json"
        ids = [b["update_id"] for _, b in got]
        assert ids[0] == ids[1] < ids[2] < ids[3]
        info = sim.ok("getWebhookInfo")
        assert info["url"] == f"http://127.0.0.1:{rx.port}/hook"
        assert info["pending_update_count"] == 0
        assert "500" in info["last_error_message"] and info["last_error_date"] > 0
        w = sim.ctl("/webhook")
        assert [a["status"] for a in w["attempts"]] == [500, 200, 200, 200]
        assert w["delivered"] == 3 and w["failed_attempts"] == 1
        sim.err("setWebhook", 400, "Bad Request: secret token contains unallowed characters",
                url=f"http://127.0.0.1:{rx.port}/hook", secret_token="bad token!")
        assert sim.ok("deleteWebhook") is True
        assert sim.updates() == []
    finally:
        rx.close()


def test_webhook_gives_up_after_max_attempts(sim):
    rx = Receiver(statuses=[502] * 10)
    try:
        sim.ctl("/webhook/config", {"retry_base_ms": 10, "max_attempts": 3})
        u = sim.user()
        sim.ok("setWebhook", url=f"http://127.0.0.1:{rx.port}/")
        sim.ctl(f"/users/{u['id']}/messages", {"text": "lost"})
        sim.ctl(f"/users/{u['id']}/messages", {"text": "next"})
        got = rx.wait(4)
        assert [b["message"]["text"] for _, b in got] == ["lost", "lost", "lost", "next"]
        deadline = time.monotonic() + 5
        while sim.ctl("/webhook")["given_up"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sim.ctl("/webhook")["given_up"] == 1
    finally:
        sim.ok("deleteWebhook", drop_pending_updates=True)
        rx.close()


def test_photo_upload_and_file_id_reuse(sim):
    u = sim.started_user()
    image = png(3, 2)
    status, body = sim.bot("sendPhoto", data={"chat_id": str(u["id"]), "caption": "Weekly"},
                           files={"photo": ("r.png", image, "image/png")})
    assert status == 200, body
    photo = body["result"]["photo"][-1]
    assert photo["file_size"] == len(image)
    assert (photo["width"], photo["height"]) == (3, 2)
    assert body["result"]["caption"] == "Weekly"
    again = sim.ok("sendPhoto", chat_id=u["id"], photo=photo["file_id"])
    assert again["photo"][-1]["file_unique_id"] == photo["file_unique_id"]
    sim.err("sendPhoto", 400, "Bad Request: wrong file identifier/HTTP URL specified",
            chat_id=u["id"], photo="AgNoSuchFile")
    status, body = sim.bot("sendDocument", data={"chat_id": str(u["id"])},
                           files={"document": ("report.csv", b"a,b\n1,2\n", "text/csv")})
    assert status == 200
    doc = body["result"]["document"]
    assert (doc["file_name"], doc["mime_type"], doc["file_size"]) == ("report.csv", "text/csv", 8)
    big = b"\0" * (10 * 1000 * 1000 + 1)
    status, body = sim.bot("sendPhoto", data={"chat_id": str(u["id"])},
                           files={"photo": ("big.png", big, "image/png")})
    assert (status, body["description"]) == (400, "Bad Request: file is too big")
    seen = sim.ctl(f"/chats/{u['id']}/messages")["messages"]
    assert [m["media"]["type"] for m in seen] == ["photo", "photo", "document"]


def test_file_bytes_for_tests(sim):
    """GET /control/files/{id}: what the bot uploaded, byte for byte."""
    u = sim.started_user()
    image = png(4, 3)
    status, body = sim.bot("sendPhoto", data={"chat_id": str(u["id"])},
                           files={"photo": ("c.png", image, "image/png")})
    assert status == 200, body
    fid = body["result"]["photo"][-1]["file_id"]
    r = sim.http.get(sim.url(f"/control/files/{fid}"), timeout=10)
    assert r.status_code == 200 and r.content == image
    assert r.headers["Content-Type"] == "image/png"
    status, body = sim.bot("sendDocument", data={"chat_id": str(u["id"])},
                           files={"document": ("a.bin", b"\x00\x01", "")})
    assert status == 200, body
    r = sim.http.get(sim.url(f"/control/files/{body['result']['document']['file_id']}"),
                     timeout=10)
    assert r.content == b"\x00\x01"
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert sim.http.get(sim.url("/control/files/AgNoSuchFile"), timeout=10).status_code == 404
    sim.ctl("/reset", {})
    assert sim.http.get(sim.url(f"/control/files/{fid}"), timeout=10).status_code == 404


def test_commands_per_language(sim):
    en = [{"command": "stats", "description": "Statistics"}]
    ru = [{"command": "stats", "description": "Статистика"}]
    assert sim.ok("setMyCommands", commands=en) is True
    assert sim.ok("setMyCommands", commands=ru, language_code="ru") is True
    assert sim.ok("getMyCommands") == en
    assert sim.ok("getMyCommands", language_code="ru") == ru
    assert sim.ok("getMyCommands", language_code="uz") == []
    bot = sim.ctl("/bot")
    assert bot["commands"] == en and bot["commands_by_language"] == {"ru": ru}
    sim.err("setMyCommands", 400, "Bad Request: LANG_CODE_INVALID", commands=en,
            language_code="Russian")
    assert sim.ok("deleteMyCommands", language_code="ru") is True
    assert sim.ctl("/bot")["commands_by_language"] == {}
    assert sim.ok("getMyCommands") == en


def test_photo_by_url(sim):
    u = sim.started_user()
    image = png(5, 4)
    rx = Receiver(files={"/img.png": image})
    try:
        m = sim.ok("sendPhoto", chat_id=u["id"], photo=f"http://127.0.0.1:{rx.port}/img.png")
        assert m["photo"][-1]["file_size"] == len(image) and m["photo"][-1]["width"] == 5
        sim.err("sendPhoto", 400, "Bad Request: failed to get HTTP URL content",
                chat_id=u["id"], photo=f"http://127.0.0.1:{rx.port}/missing.png")
    finally:
        rx.close()


def test_media_group_with_attach(sim):
    u = sim.started_user()
    media = [{"type": "photo", "media": "attach://a", "caption": "first"},
             {"type": "photo", "media": "attach://b"}]
    status, body = sim.bot("sendMediaGroup",
                           data={"chat_id": str(u["id"]), "media": json.dumps(media)},
                           files={"a": ("a.png", png(1, 1), "image/png"),
                                  "b": ("b.png", png(2, 2), "image/png")})
    assert status == 200, body
    msgs = body["result"]
    assert len(msgs) == 2
    assert msgs[0]["media_group_id"] == msgs[1]["media_group_id"]
    assert msgs[0]["caption"] == "first" and msgs[1]["message_id"] == msgs[0]["message_id"] + 1
    assert msgs[1]["photo"][-1]["width"] == 2
    reuse = [{"type": "photo", "media": msgs[0]["photo"][-1]["file_id"]}]
    sim.err("sendMediaGroup", 400, "Bad Request: there must be at least 2 media in an album",
            chat_id=u["id"], media=reuse)
    sim.err("sendMediaGroup", 400, "Bad Request: too much messages to send as an album",
            chat_id=u["id"], media=reuse * 11)
    assert len(sim.ok("sendMediaGroup", chat_id=u["id"], media=reuse * 2)) == 2


def test_parameters_in_query_form_and_json(sim):
    u = sim.started_user()
    kb = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    status, body = sim.bot("sendMessage", data={"chat_id": u["id"], "text": "form",
                                                "reply_markup": json.dumps(kb)})
    assert status == 200 and body["result"]["reply_markup"] == kb
    status, body = sim.bot("sendMessage", json={"chat_id": u["id"], "text": "json",
                                                "reply_markup": kb})
    assert status == 200 and body["result"]["reply_markup"] == kb
    status, body = sim.bot("sendMessage", http_method="GET",
                           params={"chat_id": u["id"], "text": "query"})
    assert status == 200
    seen = sim.ctl(f"/chats/{u['id']}/messages")["messages"]
    assert [m["text"] for m in seen] == ["form", "json", "query"]
    assert all(m["from_bot"] for m in seen)


def test_malformed_multipart_is_refused(sim):
    u = sim.started_user()
    ct = {"Content-Type": "multipart/form-data; boundary=XyZ"}
    for body in [b"no delimiter at all",
                 b'--XyZ\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n1',
                 b'--XyZ\r\nContent-Disposition: form-data\r\n\r\n1\r\n--XyZ--\r\n']:
        status, r = sim.bot("sendMessage", data=body, headers=ct)
        assert status == 400 and r["ok"] is False, (body, r)
    body = (f'--XyZ\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n{u["id"]}\r\n'
            '--XyZ\r\nContent-Disposition: form-data; name="text"\r\n\r\nline1\r\nline2\r\n'
            '--XyZ--\r\n').encode()
    status, r = sim.bot("sendMessage", data=body, headers=ct)
    assert status == 200 and r["result"]["text"] == "line1\r\nline2"


def test_error_texts(sim):
    u = sim.started_user()
    stranger = sim.user()
    sim.err("sendMessage", 400, "Bad Request: chat not found", chat_id=999, text="x")
    sim.err("sendMessage", 400, "Bad Request: chat not found", chat_id=stranger["id"], text="x")
    sim.err("sendMessage", 400, "Bad Request: message text is empty", chat_id=u["id"], text="")
    sim.err("sendMessage", 400, "Bad Request: message is too long", chat_id=u["id"],
            text="x" * 4097)
    sim.ok("sendMessage", chat_id=u["id"], text="x" * 4096)
    # HTML tags do not count; unsupported or unbalanced ones are refused
    sim.ok("sendMessage", chat_id=u["id"], text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    body = sim.err("sendMessage", 400, "Bad Request: can't parse entities: Unsupported start tag "
                   "\"div\" at byte offset 0", chat_id=u["id"], text="<div>x</div>",
                   parse_mode="HTML")
    sim.err("sendMessage", 400, "Bad Request: can't parse entities: Can't find end tag "
            "corresponding to start tag \"b\"", chat_id=u["id"], text="<b>x", parse_mode="HTML")
    for button in [{"text": "x", "callback_data": "d" * 65},
                   {"text": "x", "callback_data": ""},
                   {"text": "x", "callback_data": "a", "url": "https://example.org"},
                   {"text": "x"}, {"callback_data": "a"}]:
        sim.err("sendMessage", 400, "Bad Request: BUTTON_DATA_INVALID", chat_id=u["id"],
                text="x", reply_markup={"inline_keyboard": [[button]]})
    m = sim.ok("sendMessage", chat_id=u["id"], text="same",
               reply_markup={"inline_keyboard": [[{"text": "d", "callback_data": "d" * 64}]]})
    sim.err("editMessageText", 400, "Bad Request: message is not modified: specified new message "
            "content and reply markup are exactly the same as a current content and reply markup "
            "of the message", chat_id=u["id"], message_id=m["message_id"], text="same",
            reply_markup=m["reply_markup"])
    edited = sim.ok("editMessageText", chat_id=u["id"], message_id=m["message_id"], text="new")
    assert edited["text"] == "new" and "reply_markup" not in edited and edited["edit_date"]
    sim.err("editMessageText", 400, "Bad Request: message to edit not found", chat_id=u["id"],
            message_id=9999, text="x")
    assert sim.ok("deleteMessage", chat_id=u["id"], message_id=m["message_id"]) is True
    sim.err("deleteMessage", 400, "Bad Request: message to delete not found", chat_id=u["id"],
            message_id=m["message_id"])
    sim.err("answerCallbackQuery", 400, "Bad Request: query is too old and response timeout "
            "expired or query ID is invalid", callback_query_id="123")
    view = sim.ctl(f"/chats/{u['id']}/messages")["messages"]
    assert view[-1]["message_id"] == m["message_id"]
    assert view[-1]["deleted"] is True and view[-1]["edited"] is True


def test_flood_control_per_private_chat(sim):
    sim.ctl("/rate_limits", {"enabled": True})
    u = sim.started_user()
    other = sim.started_user()
    for i in range(5):  # a burst of five passes
        sim.ok("sendMessage", chat_id=u["id"], text=f"m{i}")
    status, body = sim.bot("sendMessage", json={"chat_id": u["id"], "text": "too fast"})
    assert status == 429
    n = body["parameters"]["retry_after"]
    assert n >= 1 and body["description"] == f"Too Many Requests: retry after {n}"
    assert sim.stats()["violations"] == 1
    # sending anywhere during the window is another violation
    status, _ = sim.bot("sendMessage", json={"chat_id": other["id"], "text": "sneak"})
    assert status == 429
    assert sim.stats()["violations"] == 2
    time.sleep(n + 0.05)
    sim.ok("sendMessage", chat_id=u["id"], text="after waiting")
    st = sim.stats()
    assert st["violations"] == 2 and st["too_many_requests"] == 2
    sent = [m["text"] for m in sim.ctl(f"/chats/{u['id']}/messages")["messages"]]
    assert "too fast" not in sent and sent[-1] == "after waiting"


def test_flood_control_per_channel(sim):
    sim.ctl("/rate_limits", {"enabled": True})
    owner = sim.user()
    ch = sim.ctl("/channels", {"title": "Busy", "creator_id": owner["id"]})["chat"]
    sim.ctl(f"/channels/{ch['id']}/bot", {"by": owner["id"], "status": "administrator",
                                          "rights": {"can_post_messages": True}})
    for i in range(20):
        sim.ok("sendMessage", chat_id=ch["id"], text=f"p{i}")
    status, body = sim.bot("sendMessage", json={"chat_id": ch["id"], "text": "p20"})
    assert status == 429 and body["parameters"]["retry_after"] >= 2


def test_flood_control_for_the_whole_bot(sim):
    sim.ctl("/rate_limits", {"enabled": True})
    users = [sim.started_user() for _ in range(10)]
    codes = []
    for u in users:
        for i in range(5):  # within each chat's burst, so only the bot's 30/s can refuse
            codes.append(sim.bot("sendMessage", json={"chat_id": u["id"], "text": "x"})[0])
    # 30 pass at once; the bucket refills while we send, so the first 429 may come later
    assert codes[:30] == [200] * 30 and 429 in codes
    first = codes.index(429)
    assert set(codes[first:]) == {429}  # the window refuses everything after
    assert sim.stats()["violations"] == len(codes) - first


def test_injected_failures(sim):
    u = sim.started_user()
    v = sim.started_user()
    sim.ctl("/failures", {"method": "sendMessage", "status": 502, "count": 2})
    for _ in range(2):
        status, body = sim.bot("sendMessage", json={"chat_id": u["id"], "text": "x"})
        assert (status, body["error_code"], body["description"]) == (502, 502, "Bad Gateway")
    sim.ok("sendMessage", chat_id=u["id"], text="through")
    # per chat
    sim.ctl("/failures", {"method": "sendMessage", "chat_id": v["id"], "status": 500})
    sim.ok("sendMessage", chat_id=u["id"], text="other chat")
    status, _ = sim.bot("sendMessage", json={"chat_id": v["id"], "text": "x"})
    assert status == 500
    # an injected 429 opens a window; calls inside it are violations
    sim.ctl("/failures", {"method": "*", "kind": "429", "retry_after": 2})
    status, body = sim.bot("getChat", json={"chat_id": u["id"]})
    assert status == 429 and body["parameters"] == {"retry_after": 2}
    sim.ok("getMe")  # not a send: fine
    status, _ = sim.bot("sendMessage", json={"chat_id": u["id"], "text": "x"})
    assert status == 429
    assert sim.stats()["violations"] == 1
    # a hang looks like a timeout to the client
    sim.ctl("/failures", {"method": "getMe", "kind": "hang", "hang_ms": 1500})
    with pytest.raises(requests.exceptions.Timeout):
        sim.bot("getMe", timeout=0.5)
    t0 = time.monotonic()
    sim.ok("getMe")
    assert time.monotonic() - t0 < 2
    assert sim.stats()["injected_failures"] == 5
    assert sim.ctl("/failures", method="DELETE") == {"failures": []}


def test_channel_rights_and_my_chat_member(sim):
    owner = sim.user(first_name="Owner")
    ch = sim.ctl("/channels", {"title": "News", "username": "news_chan", "creator_id":
                               owner["id"], "member_count": 1234})["chat"]
    assert ch["id"] < -1000000000000 and ch["type"] == "channel"
    sim.err("sendMessage", 403, "Forbidden: bot is not a member of the channel chat",
            chat_id="@news_chan", text="x")
    r = sim.ctl(f"/channels/{ch['id']}/bot", {"by": owner["id"], "status": "administrator",
                                              "rights": {"can_edit_messages": True}})
    assert r["bot"]["status"] == "administrator" and r["bot"]["can_post_messages"] is False
    up = sim.drain()[-1]["my_chat_member"]
    assert up["from"]["id"] == owner["id"] and up["chat"]["id"] == ch["id"]
    assert up["old_chat_member"]["status"] == "left"
    assert up["new_chat_member"]["status"] == "administrator"
    assert up["new_chat_member"]["user"]["id"] == BOT_ID
    assert up["new_chat_member"]["can_edit_messages"] is True
    sim.err("sendMessage", 400, "Bad Request: need administrator rights in the channel chat",
            chat_id=ch["id"], text="x")
    sim.ctl(f"/channels/{ch['id']}/bot", {"by": owner["id"], "status": "administrator",
                                          "rights": {"can_post_messages": True}})
    up = sim.drain()[-1]["my_chat_member"]
    assert up["old_chat_member"]["can_post_messages"] is False
    assert up["new_chat_member"]["can_post_messages"] is True
    post = sim.ok("sendMessage", chat_id="@news_chan", text="hello channel")
    assert post["sender_chat"]["id"] == ch["id"] and "from" not in post
    assert sim.ok("getChatMemberCount", chat_id=ch["id"]) == 1234
    helper = sim.user(first_name="OtherBot", is_bot=True)
    sim.ctl(f"/channels/{ch['id']}/members", {"user_id": helper["id"], "status": "administrator",
                                              "rights": {"can_post_messages": True}})
    admins = sim.ok("getChatAdministrators", chat_id=ch["id"])
    assert {a["user"]["id"]: a["status"] for a in admins} == {owner["id"]: "creator",
                                                               BOT_ID: "administrator"}
    admins = sim.ok("getChatAdministrators", chat_id=ch["id"], return_bots=True)
    assert helper["id"] in [a["user"]["id"] for a in admins]
    assert sim.ok("getChatMember", chat_id=ch["id"], user_id=BOT_ID)["can_post_messages"]
    # a user's post reaches the bot as channel_post; forwarding it gives forward_origin
    fan = sim.started_user()
    sim.drain()
    p = sim.ctl(f"/channels/{ch['id']}/posts", {"by": owner["id"], "text": "by a person"})
    cp = sim.drain()[-1]["channel_post"]
    assert cp["text"] == "by a person" and cp["chat"]["id"] == ch["id"]
    sim.ctl(f"/users/{fan['id']}/forward", {"channel_id": ch["id"],
                                            "message_id": p["message"]["message_id"]})
    fw = sim.drain()[-1]["message"]
    assert fw["forward_origin"]["type"] == "channel"
    assert fw["forward_origin"]["chat"]["id"] == ch["id"]
    assert fw["forward_origin"]["message_id"] == p["message"]["message_id"]
    assert fw["forward_from_chat"]["id"] == ch["id"] and fw["text"] == "by a person"
    # demoted: a member without rights; removed: kicked
    sim.ctl(f"/channels/{ch['id']}/bot", {"by": owner["id"], "status": "member"})
    up = sim.drain()[-1]["my_chat_member"]
    assert (up["old_chat_member"]["status"], up["new_chat_member"]["status"]) == \
        ("administrator", "member")
    sim.err("sendMessage", 400, "Bad Request: need administrator rights in the channel chat",
            chat_id=ch["id"], text="x")
    sim.ctl(f"/channels/{ch['id']}/posts", {"by": owner["id"], "text": "unseen"})
    assert sim.updates() == []  # only administrators get channel posts
    sim.ctl(f"/channels/{ch['id']}/bot", {"by": owner["id"], "status": "kicked"})
    assert sim.drain()[-1]["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    sim.err("sendMessage", 403, "Forbidden: bot was kicked from the channel chat",
            chat_id=ch["id"], text="x")
    # only the creator or an administrator who may promote can do this
    sim.ctl(f"/channels/{ch['id']}/bot", {"by": fan["id"], "status": "administrator"},
            expect=403)


def test_blocked_user(sim):
    u = sim.started_user()
    sim.drain()
    sim.ctl(f"/users/{u['id']}/block", {})
    up = sim.drain()[-1]["my_chat_member"]
    assert up["chat"]["id"] == u["id"] and up["from"]["id"] == u["id"]
    assert (up["old_chat_member"]["status"], up["new_chat_member"]["status"]) == \
        ("member", "kicked")
    sim.err("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=u["id"],
            text="x")
    sim.ctl(f"/users/{u['id']}/messages", {"text": "hi"}, expect=409)
    sim.ctl(f"/users/{u['id']}/unblock", {})
    assert sim.drain()[-1]["my_chat_member"]["new_chat_member"]["status"] == "member"
    sim.ok("sendMessage", chat_id=u["id"], text="welcome back")


def test_reading_bot_messages_with_wait(sim):
    u = sim.started_user()
    first = sim.ok("sendMessage", chat_id=u["id"], text="first")["message_id"]
    t0 = time.monotonic()
    r = sim.ctl(f"/chats/{u['id']}/messages?after={first}&wait_ms=300")
    assert r["messages"] == [] and time.monotonic() - t0 >= 0.25
    threading.Timer(0.4, lambda: sim.ok("sendMessage", chat_id=u["id"], text="later")).start()
    t0 = time.monotonic()
    r = sim.ctl(f"/chats/{u['id']}/messages?after={first}&wait_ms=10000")
    assert 0.3 <= time.monotonic() - t0 < 5
    assert [m["text"] for m in r["messages"]] == ["later"]
    # all=1 includes the user's own messages
    r = sim.ctl(f"/chats/{u['id']}/messages?all=1")
    assert [(m["from_bot"], m.get("text")) for m in r["messages"]] == \
        [(False, "/start"), (True, "first"), (True, "later")]


def test_inline_button_callback_flow(sim):
    u = sim.started_user()
    sim.drain()
    kb = {"inline_keyboard": [[{"text": "Yes", "callback_data": "vote:yes"},
                               {"text": "Site", "url": "https://example.org"}]]}
    m = sim.ok("sendMessage", chat_id=u["id"], text="Vote?", reply_markup=kb)
    r = sim.ctl(f"/users/{u['id']}/callback", {"message_id": m["message_id"],
                                               "button_text": "Yes"})
    q = sim.drain()[-1]["callback_query"]
    assert q["id"] == r["callback_query_id"] and q["data"] == "vote:yes"
    assert q["from"]["id"] == u["id"] and q["message"]["message_id"] == m["message_id"]
    assert sim.ok("answerCallbackQuery", callback_query_id=q["id"], text="Thanks",
                  show_alert=True) is True
    sim.err("answerCallbackQuery", 400, "Bad Request: query is too old and response timeout "
            "expired or query ID is invalid", callback_query_id=q["id"])
    answered = sim.ctl("/callbacks")["callback_queries"]
    assert [(a["text"], a["show_alert"], a["answered"]) for a in answered] == \
        [("Thanks", True, True)]
    sim.ctl(f"/users/{u['id']}/callback", {"message_id": m["message_id"], "data": "vote:admin"})
    assert sim.drain()[-1]["callback_query"]["data"] == "vote:admin"
    sim.ctl(f"/users/{u['id']}/callback", {"message_id": m["message_id"],
                                           "button_text": "Site"}, expect=400)


def test_copy_pin_and_channel_delete(sim):
    owner = sim.user()
    ch = sim.ctl("/channels", {"title": "C", "creator_id": owner["id"]})["chat"]
    sim.ctl(f"/channels/{ch['id']}/bot", {"by": owner["id"], "status": "administrator",
                                          "rights": {"can_post_messages": True}})
    u = sim.started_user()
    src = sim.ok("sendMessage", chat_id=u["id"], text="<b>copy me</b>", parse_mode="HTML")
    r = sim.ok("copyMessage", chat_id=ch["id"], from_chat_id=u["id"],
               message_id=src["message_id"])
    assert list(r) == ["message_id"]
    sim.err("pinChatMessage", 400, "Bad Request: not enough rights to manage pinned messages in "
            "the chat", chat_id=ch["id"], message_id=r["message_id"])
    assert sim.ok("pinChatMessage", chat_id=u["id"], message_id=src["message_id"]) is True
    assert sim.ok("getChat", chat_id=u["id"])["pinned_message"]["message_id"] == \
        src["message_id"]
    p = sim.ctl(f"/channels/{ch['id']}/posts", {"text": "someone else's"})["message"]
    sim.err("deleteMessage", 400, "Bad Request: message can't be deleted", chat_id=ch["id"],
            message_id=p["message_id"])
    assert sim.ok("deleteMessage", chat_id=ch["id"], message_id=r["message_id"]) is True
    view = sim.ctl(f"/chats/{ch['id']}/messages?all=1")["messages"]
    copied = [m for m in view if m["message_id"] == r["message_id"]][0]
    assert copied["text"] == "<b>copy me</b>" and copied["deleted"] is True
    assert copied["parse_mode"] == "HTML"


def test_stars_invoice_payment_and_refund(sim):
    u = sim.started_user()
    sim.err("sendInvoice", 400, "Bad Request: STARS_INVOICE_INVALID", chat_id=u["id"],
            title="Pro", description="Pro plan", payload="plan:pro", currency="XTR",
            prices=[{"label": "a", "amount": 10}, {"label": "b", "amount": 5}])
    inv = sim.ok("sendInvoice", chat_id=u["id"], title="Pro", description="Pro plan",
                 payload="plan:pro", currency="XTR", prices=[{"label": "Pro", "amount": 50}])
    assert inv["invoice"]["total_amount"] == 50 and inv["invoice"]["currency"] == "XTR"
    sim.drain()
    sim.ctl(f"/users/{u['id']}/pay", {"message_id": inv["message_id"]})
    q = sim.drain()[-1]["pre_checkout_query"]
    assert (q["invoice_payload"], q["total_amount"]) == ("plan:pro", 50)
    assert sim.ok("answerPreCheckoutQuery", pre_checkout_query_id=q["id"], ok=True) is True
    sp = sim.drain()[-1]["message"]["successful_payment"]
    assert sp["invoice_payload"] == "plan:pro" and sp["telegram_payment_charge_id"]
    charge = sp["telegram_payment_charge_id"]
    assert sim.ok("refundStarPayment", user_id=u["id"], telegram_payment_charge_id=charge)
    assert sim.drain()[-1]["message"]["refunded_payment"]["telegram_payment_charge_id"] == charge
    sim.err("refundStarPayment", 400, "Bad Request: CHARGE_ALREADY_REFUNDED", user_id=u["id"],
            telegram_payment_charge_id=charge)


def test_injected_raw_update(sim):
    r = sim.ctl("/updates", {"update_id": 5, "message": {"text": 7}, "extra": True})
    ups = sim.updates()
    assert ups == [{"update_id": r["update_id"], "message": {"text": 7}, "extra": True}]


def test_web_page_and_demo(sim):
    r = sim.http.get(sim.url("/"), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "<script>" in r.text and "/control/demo" in r.text
    assert 'src="http' not in r.text and "<link" not in r.text  # self-contained
    assert sim.ctl("/demo")["bot"]["id"] == BOT_ID
    sim.ctl("/demo", {"user_id": 42, "channel_id": -1001})
    d = sim.ctl("/demo")
    assert (d["user_id"], d["channel_id"]) == (42, -1001)
