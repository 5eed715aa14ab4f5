"""`herald demo`, what `make run` starts: the simulator in the same process
with its web chat, and Herald on a fresh SQLite file. The test does what a
newcomer does on the web chat page (the page's calls are the simulator's
control API): start the bot, add it to the demo channel, connect it, write a
post with /post and watch it appear in the channel.
"""
import os
import signal
import subprocess
import time

import requests

import servers
from conftest import BIN, Sim, assert_no_sanitizer_report, base_env


def test_newcomer_schedules_a_post_in_the_demo(tmp_path):
    sim_port, port = servers.free_port(), servers.free_port()
    env = base_env()
    env["HERALD_LISTEN"] = f"127.0.0.1:{port}"
    log = open(os.path.join(tmp_path, "demo.log"), "ab")
    proc = subprocess.Popen([BIN, "demo", "--sim-listen", f"127.0.0.1:{sim_port}"],
                            env=env, cwd=str(tmp_path), stdout=log, stderr=log)
    sim = Sim(str(tmp_path))
    sim.port, sim.base = sim_port, f"http://127.0.0.1:{sim_port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, "herald demo exited"
            try:
                if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "the demo did not start"
            time.sleep(0.1)
        page = requests.get(sim.base + "/", timeout=5)
        assert page.status_code == 200 and "/control/demo" in page.text
        demo = sim.ctl("GET", "/demo")
        uid, chat = demo["user_id"], demo["channel_id"]
        # start: language and zone
        sim.say(uid, "/start")
        sim.press(uid, sim.expect(uid, "Welcome to Herald!"), "English")
        sim.press(uid, sim.expect(uid, "Choose your time zone."), "London")
        sim.expect(uid, "Time zone set: Europe/London")
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
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
        log.close()
        with open(os.path.join(tmp_path, "demo.log"), errors="replace") as f:
            text = f.read()
        assert_no_sanitizer_report(text, "herald demo")
    assert rc == 0, text[-4000:]
