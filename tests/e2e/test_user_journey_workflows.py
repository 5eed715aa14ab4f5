"""User journeys through the Telegram bot, end to end: the real herald binary
talks to `herald sim` (the Bot API simulator) over HTTP, in long-polling and
in webhook mode; tests act as Telegram users through the simulator's control
API and read what the bot sent with its long-polled reads (wait_ms), never
with fixed sleeps. What the bot stored is read from the database directly.

The bot flows run on SQLite (the `backend` fixture is narrowed below); one
journey also runs on PostgreSQL with Redis.
"""
import re
import signal
import time

import pytest
import requests

from conftest import WEBHOOK_SECRET


@pytest.fixture(params=["sqlite"])
def backend(request):
    """The bot flows on SQLite; test_journey_on_postgres covers PostgreSQL."""
    return request.param


WELCOME = {"en": "Welcome to Herald!", "ru": "Добро пожаловать в Herald!",
           "uz": "Heraldga xush kelibsiz!"}
CHOOSE_ZONE = {"en": "Choose your time zone.", "ru": "Выберите ваш часовой пояс.",
               "uz": "Vaqt mintaqangizni tanlang."}
ZONE_SET = {"en": "Time zone set: ", "ru": "Часовой пояс установлен: ",
            "uz": "Vaqt mintaqasi o‘rnatildi: "}
WHAT_NEXT = {"en": "Here is what you can do next", "ru": "Что можно сделать дальше",
             "uz": "Keyingi qadamlar"}
TYPE_CITY = {"en": "Type a city or zone", "ru": "Ввести город или пояс",
             "uz": "Shahar yoki mintaqani yozish"}
LANG_BUTTON = {"en": "English", "ru": "Русский", "uz": "O‘zbekcha"}
CITY_BUTTON = {"en": "London", "ru": "Москва", "uz": "Toshkent"}
ZONE_OF_CITY = {"en": "Europe/London", "ru": "Europe/Moscow", "uz": "Asia/Tashkent"}


def user_row(h, uid):
    rows = h.sql(f"SELECT language, time_zone, onboarded_at, bot_blocked_at "
                 f"FROM users WHERE telegram_id = {uid}")
    assert len(rows) <= 1
    return rows[0] if rows else None


def conversation(h, uid):
    rows = h.sql(f"SELECT state FROM conversations WHERE chat_id = {uid}")
    return rows[0][0] if rows else None


def onboard(sim, uid, lang="en", code=None, new=True):
    """Register uid through /start in lang, with the first common zone."""
    if new:
        sim.user(uid, language_code=code or lang)
    sim.say(uid, "/start")
    m = sim.expect(uid, WELCOME[lang])
    sim.press(uid, m, LANG_BUTTON[lang])
    m = sim.expect(uid, CHOOSE_ZONE[lang])
    sim.press(uid, m, CITY_BUTTON[lang])
    return sim.expect(uid, ZONE_SET[lang] + ZONE_OF_CITY[lang])


def api_key(h, uid):
    r = h.cli("apikey", "create", "--telegram-id", str(uid))
    assert r.returncode == 0, r.stderr
    return {"Authorization": "Bearer " + r.stdout.strip()}


class TestUserOnboardingWorkflow:
    def test_registration_in_each_language(self, bot_herald):
        h, sim = bot_herald, bot_herald.sim
        for uid, lang in ((1001, "en"), (1002, "ru"), (1003, "uz")):
            sim.user(uid, language_code={"en": "en-GB", "ru": "ru", "uz": "uz"}[lang])
            sim.say(uid, "/start")
            m = sim.expect(uid, WELCOME[lang])
            # the language Telegram reported is preselected
            assert sim.button(m, LANG_BUTTON[lang])["text"].startswith("✓ ")
            assert [b["text"].lstrip("✓ ") for b in sim.buttons(m)] == \
                ["English", "Русский", "O‘zbekcha"]
            sim.press(uid, m, LANG_BUTTON[lang])
            m = sim.expect(uid, CHOOSE_ZONE[lang])
            zones = [b["callback_data"] for b in sim.buttons(m)]
            want = {"en": ["Europe/London", "America/New_York", "Europe/Berlin",
                           "Asia/Dubai", "Asia/Kolkata", "America/Los_Angeles", "UTC"],
                    "ru": ["Europe/Moscow", "Europe/Kaliningrad", "Asia/Yekaterinburg",
                           "Asia/Novosibirsk", "Asia/Almaty", "Asia/Tashkent"],
                    "uz": ["Asia/Tashkent", "Asia/Samarkand", "Europe/Moscow", "UTC"]}[lang]
            assert zones == [f"1:tz:{z}" for z in want] + ["1:tzs"]
            sim.press(uid, m, CITY_BUTTON[lang])
            m = sim.expect(uid, ZONE_SET[lang] + ZONE_OF_CITY[lang])
            assert WHAT_NEXT[lang] in m["text"]
            assert "/connect" in m["text"] and "/help" in m["text"]
            row = user_row(h, uid)
            assert row[0] == lang and row[1] == ZONE_OF_CITY[lang]
            assert row[2] is not None and int(row[2]) > 0
            assert conversation(h, uid) is None

        # an unsupported language_code falls back to English; choosing
        # another language switches every text after it
        sim.user(1004, language_code="de")
        sim.say(1004, "/start")
        m = sim.expect(1004, WELCOME["en"])
        assert sim.button(m, "English")["text"] == "✓ English"
        sim.press(1004, m, "O‘zbekcha")
        m = sim.expect(1004, CHOOSE_ZONE["uz"])
        assert sim.button(m, "Samarqand")["callback_data"] == "1:tz:Asia/Samarkand"
        assert user_row(h, 1004)[0] == "uz"
        # /help and /settings answer in the user's language
        sim.say(1002, "/help")
        sim.expect(1002, "Вот что я умею")
        sim.say(1003, "/settings")
        m = sim.expect(1003, "Sozlamalaringiz")
        assert "Asia/Tashkent" in m["text"] and "O‘zbekcha" in m["text"]

    def test_time_zone_by_search(self, bot_herald):
        h, sim = bot_herald, bot_herald.sim
        uid = 2001
        sim.user(uid, language_code="en")
        sim.say(uid, "/start")
        sim.press(uid, sim.expect(uid, WELCOME["en"]), "English")
        m = sim.expect(uid, CHOOSE_ZONE["en"])
        # text where a button was expected: asked again, with the keyboard
        sim.say(uid, "Berlin please")
        again = sim.expect(uid, "Please choose your time zone with the buttons below")
        assert sim.button(again, "London")
        assert user_row(h, uid)[1] == "UTC"
        sim.press(uid, m, TYPE_CITY["en"])
        sim.expect(uid, "Type the name of your city")
        assert conversation(h, uid) == "tz_search"
        # a zone that does not exist: a clear message, nothing changes
        sim.say(uid, "Atlantis")
        sim.expect(uid, "I could not find a time zone for “Atlantis”")
        assert user_row(h, uid)[1] == "UTC" and user_row(h, uid)[2] is None
        # several matches: buttons
        sim.say(uid, "new")
        m = sim.expect(uid, "Several time zones match “new”")
        assert "1:tz:America/New_York" in [b["callback_data"] for b in sim.buttons(m)]
        # one match is taken at once, case and '_' do not matter
        sim.say(uid, "NEW_york")
        sim.expect(uid, ZONE_SET["en"] + "America/New_York")
        assert user_row(h, uid)[1] == "America/New_York"

        # a city typed in Russian, and a zone id
        for uid, lang, text, zone in ((2002, "ru", "Ташкент", "Asia/Tashkent"),
                                      (2003, "en", "europe/berlin", "Europe/Berlin")):
            sim.user(uid, language_code=lang)
            sim.say(uid, "/start")
            sim.press(uid, sim.expect(uid, WELCOME[lang]), LANG_BUTTON[lang])
            sim.press(uid, sim.expect(uid, CHOOSE_ZONE[lang]), TYPE_CITY[lang])
            sim.say(uid, text)
            sim.expect(uid, ZONE_SET[lang] + zone)
            assert user_row(h, uid)[1] == zone

        # /settings changes the zone the same way
        sim.say(2003, "/settings")
        m = sim.expect(2003, "Your settings:")
        sim.press(2003, m, "Change time zone")
        m = sim.expect(2003, CHOOSE_ZONE["en"])
        sim.press(2003, m, "Dubai")
        sim.expect(2003, "Time zone saved: Asia/Dubai")
        assert user_row(h, 2003)[1] == "Asia/Dubai"

    def test_restart_in_the_middle_resumes(self, make_bot_herald):
        h = make_bot_herald().start()
        sim = h.sim
        sim.ctl("POST", "/webhook/config", {"retry_base_ms": 100, "retry_max_ms": 500,
                                            "max_attempts": 200})
        uid = 3001
        sim.user(uid, language_code="ru")
        sim.say(uid, "/start")
        sim.press(uid, sim.expect(uid, WELCOME["ru"]), "Русский")
        sim.press(uid, sim.expect(uid, CHOOSE_ZONE["ru"]), TYPE_CITY["ru"])
        sim.expect(uid, "Напишите название вашего города")
        t0 = time.monotonic()
        assert h.stop() == 0
        assert time.monotonic() - t0 < 3, "stopping waited for a long poll"
        assert conversation(h, uid) == "tz_search"
        # the user answers while Herald is down; it is handled after the start
        sim.say(uid, "Самарканд")
        h.start()
        sim.expect(uid, ZONE_SET["ru"] + "Asia/Samarkand", timeout=30)
        row = user_row(h, uid)
        assert row[1] == "Asia/Samarkand" and row[2] is not None
        assert conversation(h, uid) is None
        # each update took effect once across the restart
        ids = h.sql("SELECT update_id FROM tg_updates ORDER BY update_id")
        assert len(ids) == len(set(ids)) == 4
        all_done(h)

    def test_repeated_start_duplicates_nothing(self, bot_herald):
        h, sim = bot_herald, bot_herald.sim
        uid = 4001
        sim.user(uid, language_code="en")
        sim.say(uid, "/start")
        sim.expect(uid, WELCOME["en"])
        sim.say(uid, "/start")  # before onboarding ends: the language again
        m = sim.expect(uid, WELCOME["en"])
        sim.press(uid, m, "English")
        sim.press(uid, sim.expect(uid, CHOOSE_ZONE["en"]), "Berlin")
        sim.expect(uid, ZONE_SET["en"] + "Europe/Berlin")
        onboarded = user_row(h, uid)[2]
        for _ in range(2):
            sim.say(uid, "/start")
            m = sim.expect(uid, "Welcome back!")
            assert WHAT_NEXT["en"] in m["text"]
        sim.quiet(uid)
        assert h.sql(f"SELECT COUNT(*) FROM users WHERE telegram_id = {uid}")[0][0] == 1
        assert user_row(h, uid)[2] == onboarded  # onboarding was not started again
        assert conversation(h, uid) is None
        # the language button of the finished step: nothing changes
        sim.press(uid, sim_first_welcome(sim, uid), data="1:lang:ru")
        sim.expect(uid, "This button belongs to a step that is already finished")
        assert user_row(h, uid)[0] == "en"

    def test_commands_and_bad_input(self, bot_herald, bot_mode):
        h, sim = bot_herald, bot_herald.sim
        uid = 5001
        sim.user(uid)
        sim.say(uid, "/channels")
        sim.expect(uid, "Please send /start first")
        assert user_row(h, uid) is None
        onboard(sim, uid, new=False)
        sim.say(uid, "/help")
        m = sim.expect(uid, "Here is what I can do")
        for cmd in ("/start", "/connect", "/channels", "/settings", "/login", "/help"):
            assert cmd in m["text"]
        sim.say(uid, "/frobnicate now")
        sim.expect(uid, "I do not know the command /frobnicate")
        sim.say(uid, "hello")
        sim.expect(uid, "I did not understand that")
        # tampered, unknown, too long and malformed callback data (another
        # user: each chat has its own send budget; tests/unit/test_bot.c
        # goes through the grammar case by case)
        other = 5002
        onboard(sim, other)
        help_msg = sim.sent(other, after=0)[-1]
        for data in ("2:lang:en", "1:tz:Mars/Olympus", "garbage", "1:chk:" + "9" * 60):
            sim.press(other, help_msg, data=data)
            sim.expect(other, "This button is not valid")
        assert user_row(h, other)[0:2] == ("en", "Europe/London")
        # every button press was answered (the spinner stops)
        cbs = sim.ctl("GET", "/callbacks")["callback_queries"]
        assert cbs and all(q["answered"] for q in cbs)
        # /login: a one-time link to the dashboard
        sim.say(uid, "/login")
        m = sim.expect(uid, "sign-in link")
        link = next(w for w in m["text"].split() if "/login?token=" in w)
        assert link.startswith(h.base + "/login?token=hl_")
        r = requests.get(link, allow_redirects=False)
        assert r.status_code in (302, 303) and "Set-Cookie" in r.headers
        assert requests.get(link, allow_redirects=False).status_code == 410
        uid = other
        if bot_mode == "webhook":
            self.webhook_intake(h, sim, uid)
        else:
            # a malformed update from getUpdates is dropped; intake goes on
            sim.ctl("POST", "/updates", {"message": {"text": "/help"}})
            sim.ctl("POST", "/updates", {"callback_query": {"id": "x", "data": "1:tzs"}})
            sim.say(uid, "/help")
            sim.expect(uid, "Here is what I can do")
            all_done(h)

    @staticmethod
    def webhook_intake(h, sim, uid):
        url = h.url("/hooks/telegram")
        good = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        update = {"update_id": 900001, "message": {
            "message_id": 90001, "date": 1, "text": "/help",
            "chat": {"id": uid, "type": "private"},
            "from": {"id": uid, "is_bot": False, "first_name": "x"}}}
        assert requests.post(url, json=update).status_code == 401
        assert requests.post(url, json=update,
                             headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
                             ).status_code == 401
        for body in (b"not json", b"[]", b'{"update_id": "7"}', b"{" * 100 + b"}" * 100,
                     b'{"update_id": -3, "message": {}}'):
            r = requests.post(url, data=body, headers=good)
            assert r.status_code == 400, body
            assert r.headers["Content-Type"] == "application/problem+json"
        # a repeated delivery is a success that changes nothing
        for _ in range(3):
            assert requests.post(url, json=update, headers=good).status_code == 200
        sim.expect(uid, "Here is what I can do")
        sim.quiet(uid)
        rows = h.sql("SELECT COUNT(*) FROM tg_updates WHERE update_id = 900001")
        assert rows[0][0] == 1


def sim_first_welcome(sim, uid):
    """The first message the bot sent to uid (its language keyboard)."""
    return sim.sent(uid, after=0)[0]


class TestChannelConnectionWorkflow:
    def test_connect_when_promoted(self, bot_herald):
        h, sim = bot_herald, bot_herald.sim
        owner = 6001
        onboard(sim, owner)
        chat = sim.channel("Morning News", owner, username="morning_news")
        sim.set_bot(chat["id"], by=owner)
        m = sim.expect(owner, "You made me an administrator of “Morning News”")
        sim.press(owner, m, "Connect")
        sim.expect(owner, "✅ Connected “Morning News”!")
        rows = h.sql("SELECT chat_id, status, missing, title FROM channels")
        assert rows == [(chat["id"], "ok", "", "Morning News")]
        # Ignore leaves everything as it is
        other = sim.channel("Evening News", owner)
        sim.set_bot(other["id"], by=owner)
        m = sim.expect(owner, "You made me an administrator of “Evening News”")
        sim.press(owner, m, "Ignore")
        sim.expect(owner, "OK, I will not connect it")
        assert len(h.sql("SELECT id FROM channels")) == 1

    def test_connect_by_forward_and_by_username(self, bot_herald):
        h, sim = bot_herald, bot_herald.sim
        owner, helper = 6101, 6102
        onboard(sim, owner)
        sim.user(helper)  # an admin who never started the bot: no offer to them
        admin = [{"user_id": helper, "rights": {"can_promote_members": True,
                                                "can_post_messages": True}}]
        fwd = sim.channel("Forwarded", owner, admins=admin)
        sim.set_bot(fwd["id"], by=helper)
        post = sim.post(fwd["id"], "hello subscribers", by=owner)
        sim.forward(owner, fwd["id"], post["message_id"])
        m = sim.expect(owner, "“Forwarded” is ready")
        sim.press(owner, m, "Connect")
        sim.expect(owner, "✅ Connected “Forwarded”!")

        # /connect @username connects at once (the plan's limit is lifted
        # for this part: the free plan allows one channel)
        set_plan(h, owner, "business")
        named = sim.channel("Named", owner, username="named_channel", admins=admin)
        sim.set_bot(named["id"], by=helper)
        sim.say(owner, "/connect @named_channel")
        sim.expect(owner, "✅ Connected “Named”!")
        # /connect without an argument asks, then takes a t.me link
        third = sim.channel("Third", owner, username="third_channel", admins=admin)
        sim.set_bot(third["id"], by=helper)
        sim.say(owner, "/connect")
        sim.expect(owner, "Send me your channel's username")
        sim.say(owner, "not a channel!")
        sim.expect(owner, "That does not look like a channel")
        sim.say(owner, "https://t.me/third_channel")
        sim.expect(owner, "✅ Connected “Third”!")
        sim.say(owner, "/connect @no_such_channel")
        sim.expect(owner, "I could not find the channel @no_such_channel")
        titles = sorted(r[0] for r in h.sql("SELECT title FROM channels WHERE status = 'ok'"))
        assert titles == ["Forwarded", "Named", "Third"]

    def test_each_missing_right_is_named(self, bot_herald):
        h, sim = bot_herald, bot_herald.sim
        owner, helper = 6201, 6202
        onboard(sim, owner)
        # the bot's rights are changed by an admin who never started the bot
        # (so no offers to connect come in between)
        sim.user(helper)
        chat = sim.channel("Rights", owner, username="rights_channel",
                           admins=[{"user_id": helper, "rights": {"can_promote_members": True}}])
        names = {"can_post_messages": "Post messages",
                 "can_edit_messages": "Edit messages of others",
                 "can_delete_messages": "Delete messages of others"}
        sim.set_bot(chat["id"], by=helper, rights={"can_invite_users": True})
        sim.say(owner, "/connect @rights_channel")
        m = sim.expect(owner, "but I am missing these rights")
        for label in names.values():
            assert "• " + label in m["text"]
        assert "Administrators" in m["text"]
        for missing, label in names.items():
            rights = {r: True for r in names if r != missing}
            sim.set_bot(chat["id"], by=helper, rights=rights)
            sim.press(owner, m, "Check again")
            m = sim.expect(owner, "but I am missing these rights")
            listed = [line[2:] for line in m["text"].splitlines() if line.startswith("• ")]
            assert listed == [label]
        assert h.sql("SELECT COUNT(*) FROM channels")[0][0] == 0
        # granted: "Check again" connects it
        sim.set_bot(chat["id"], by=helper)
        sim.press(owner, m, "Check again")
        sim.expect(owner, "✅ Connected “Rights”!")
        assert h.sql("SELECT status FROM channels") == [("ok",)]
        # a right taken away later shows in /channels, named
        sim.set_bot(chat["id"], by=helper, rights={"can_post_messages": True,
                                                   "can_delete_messages": True})
        sim.expect(owner, "• Edit messages of others")
        sim.say(owner, "/channels")
        sim.expect(owner, "⚠️ Rights — missing rights: Edit messages of others")

    def test_user_who_is_not_an_admin(self, bot_herald):
        h, sim = bot_herald, bot_herald.sim
        stranger, owner = 6301, 6302
        onboard(sim, stranger)
        sim.user(owner)
        chat = sim.channel("Not Yours", owner, username="not_yours")
        sim.set_bot(chat["id"], by=owner)
        sim.say(stranger, "/connect @not_yours")
        m = sim.expect(stranger, "You are not an administrator of “Not Yours”")
        assert "Only the channel's owner or its administrators" in m["text"]
        post = sim.post(chat["id"], "news", by=owner)
        sim.forward(stranger, chat["id"], post["message_id"])
        sim.expect(stranger, "You are not an administrator of “Not Yours”")
        # a bot that is only a member, and a bot that is not there
        sim.set_bot(chat["id"], by=owner, status="member")
        sim.say(stranger, "/connect @not_yours")
        sim.expect(stranger, "but not as an administrator")
        assert h.sql("SELECT COUNT(*) FROM channels")[0][0] == 0

    def test_bot_removed_later_shows_in_health(self, bot_herald):
        h, sim = bot_herald, bot_herald.sim
        owner = 6401
        onboard(sim, owner)
        chat = sim.channel("Fragile", owner, username="fragile_channel")
        sim.set_bot(chat["id"], by=owner)
        sim.press(owner, sim.expect(owner, "You made me an administrator"), "Connect")
        sim.expect(owner, "✅ Connected “Fragile”!")
        auth = api_key(h, owner)
        got = requests.get(h.url("/api/v1/channels"), headers=auth).json()
        assert [c["status"] for c in got["channels"]] == ["ok"]
        # demoted: a right taken away is named to the owner and in health
        sim.set_bot(chat["id"], by=owner, rights={"can_post_messages": True,
                                                  "can_edit_messages": True})
        m = sim.expect(owner, "but I am missing these rights")
        assert "• Delete messages of others" in m["text"] and "Post messages" not in m["text"]
        got = requests.get(h.url("/api/v1/channels"), headers=auth).json()["channels"][0]
        assert got["status"] == "missing_rights"
        assert got["missing_rights"] == ["can_delete_messages"]
        # removed
        sim.set_bot(chat["id"], by=owner, status="kicked")
        sim.expect(owner, "❌ I am not in “Fragile”")
        got = requests.get(h.url("/api/v1/channels"), headers=auth).json()["channels"][0]
        assert got["status"] == "bot_removed"
        sim.say(owner, "/channels")
        m = sim.expect(owner, "❌ Fragile — the bot was removed from the channel")
        assert "1 channel connected." in m["text"]
        # back as an administrator: healthy again
        sim.set_bot(chat["id"], by=owner)
        sim.expect(owner, "✅ “Fragile” is healthy again")
        got = requests.get(h.url("/api/v1/channels"), headers=auth).json()["channels"][0]
        assert got["status"] == "ok"

    def test_plan_limit_and_removal(self, bot_herald):
        h, sim = bot_herald, bot_herald.sim
        owner, helper = 6501, 6502
        onboard(sim, owner)
        sim.user(helper)
        admin = [{"user_id": helper, "rights": {"can_promote_members": True}}]
        first = sim.channel("First", owner, username="first_channel", admins=admin)
        second = sim.channel("Second", owner, username="second_channel", admins=admin)
        for c in (first, second):
            sim.set_bot(c["id"], by=helper)
        sim.say(owner, "/connect @first_channel")
        sim.expect(owner, "✅ Connected “First”!")
        sim.say(owner, "/connect @second_channel")
        m = sim.expect(owner, "Your plan allows 1 channel.")
        assert "cannot connect “Second”" in m["text"]
        assert [r[0] for r in h.sql("SELECT title FROM channels")] == ["First"]
        # remove the first (asks first), then the second fits
        sim.say(owner, "/channels")
        m = sim.expect(owner, "✅ First — ok")
        assert "Your plan allows 1 channel." in m["text"]
        sim.press(owner, m, "Remove")
        confirm = sim.expect(owner, "Remove “First” from Herald?")
        sim.press(owner, confirm, "Yes, remove")
        sim.expect(owner, "“First” is removed from Herald")
        assert h.sql("SELECT removed_at IS NOT NULL FROM channels")[0][0] in (1, "t")
        sim.say(owner, "/connect @second_channel")
        sim.expect(owner, "✅ Connected “Second”!")
        assert [r[0] for r in h.sql("SELECT title FROM channels WHERE removed_at IS NULL")] \
            == ["Second"]
        # a button for a channel that is gone changes nothing
        sim.press(owner, confirm, "Yes, remove")
        sim.expect(owner, "This channel is not connected any more")


def set_plan(h, uid, plan):
    """Move a user to another plan (billing does this in the product)."""
    h.sql(f"UPDATE users SET plan = '{plan}' WHERE telegram_id = {uid}")


class TestTelegramFailures:
    """Telegram misbehaving: flood control, server errors, a blocked bot."""

    def test_429_bursts_without_violations(self, bot_herald):
        sim = bot_herald.sim
        # a burst of users at once, up to Telegram's 30 messages a second
        users = list(range(7001, 7031))
        for uid in users:
            sim.user(uid)
        for uid in users:
            sim.say(uid, "/help")
        for uid in users:
            sim.expect(uid, "Here is what I can do", timeout=60)
        # one chat, faster than Telegram allows (1/s after a burst of 5):
        # the bot's per-chat budget spaces the answers out
        uid = users[0]
        t0 = time.monotonic()
        for _ in range(6):
            sim.say(uid, "/help")
        for _ in range(6):
            sim.expect(uid, "Here is what I can do", timeout=30)
        assert time.monotonic() - t0 >= 2
        stats = sim.stats()
        assert stats["too_many_requests"] == 0 and stats["violations"] == 0, stats
        # Telegram answers a burst of 429s: the bot waits retry_after each
        # time and sends nothing before the window ends (the simulator
        # counts a send inside the window as a violation)
        uid = users[1]
        sim.inject(method="sendMessage", kind="429", retry_after=1, count=3)
        t0 = time.monotonic()
        for _ in range(3):
            sim.say(uid, "/help")
        for _ in range(3):
            sim.expect(uid, "Here is what I can do", timeout=30)
        assert time.monotonic() - t0 >= 3  # three windows of a second were honoured
        stats = sim.stats()
        assert stats["too_many_requests"] == 3 and stats["injected_failures"] == 3, stats
        assert stats["violations"] == 0, stats

    def test_5xx_is_retried(self, bot_herald):
        sim = bot_herald.sim
        uid = 7101
        sim.user(uid)
        sim.inject(method="sendMessage", kind="error", status=502, count=2)
        sim.inject(method="answerCallbackQuery", kind="error", status=500, count=1)
        sim.say(uid, "/start")
        m = sim.expect(uid, WELCOME["en"], timeout=30)
        sim.press(uid, m, "English")
        sim.expect(uid, CHOOSE_ZONE["en"], timeout=30)
        assert sim.stats()["injected_failures"] == 3
        all_done(bot_herald)

    def test_blocked_user_is_recorded(self, bot_herald):
        h, sim = bot_herald, bot_herald.sim
        uid = 7201
        onboard(sim, uid)
        sim.block(uid)
        wait_for(lambda: user_row(h, uid)[3] is not None)
        sim.unblock(uid)
        wait_for(lambda: user_row(h, uid)[3] is None)
        # a send refused because the user blocked the bot records it too,
        # and the update is done (there is nothing to retry)
        sim.inject(method="sendMessage", kind="error", status=403, chat_id=uid, count=1,
                   description="Forbidden: bot was blocked by the user")
        sim.say(uid, "/help")
        wait_for(lambda: user_row(h, uid)[3] is not None)
        all_done(h)
        # writing to the bot again shows they are reachable
        sim.say(uid, "/help")
        sim.expect(uid, "Here is what I can do")
        assert user_row(h, uid)[3] is None


CONTENT_OWNER = 8101


@pytest.fixture
def content(make_bot_herald):
    """Herald with every role, the test clock and short leases; an onboarded
    owner on the business plan with one connected channel, and an API session."""
    h = make_bot_herald(HERALD_TEST_CLOCK="1", HERALD_JOB_LEASE="2000").start()
    sim = h.sim
    onboard(sim, CONTENT_OWNER)
    set_plan(h, CONTENT_OWNER, "business")
    h.s = requests.Session()
    h.s.headers.update(api_key(h, CONTENT_OWNER))
    h.channels = [add_channel(h, "News", "content_news")]
    return h


def add_channel(h, title, username):
    sim = h.sim
    ch = sim.channel(title, CONTENT_OWNER, username=username)
    sim.set_bot(ch["id"], CONTENT_OWNER)
    r = h.s.post(h.url("/api/v1/channels"), json={"chat_id": ch["id"]})
    assert r.status_code == 201, r.text
    return {"id": r.json()["id"], "chat": ch["id"]}


def create_post(h, **spec):
    spec.setdefault("channels", [h.channels[0]["id"]])
    r = h.s.post(h.url("/api/v1/posts"), json=spec)
    assert r.status_code == 201, r.text
    return r.json()


def deliveries(h, post_id):
    r = h.s.get(h.url(f"/api/v1/posts/{post_id}/deliveries"))
    assert r.status_code == 200, r.text
    return r.json()["deliveries"]


def states(h, post_id):
    return [d["state"] for d in deliveries(h, post_id)]


def advance(h, ms):
    r = requests.post(h.url("/test/clock"), json={"advance_ms": ms}, timeout=10)
    assert r.status_code == 200, r.text


def channel_messages(sim, chat, wait_ms=0, after=0):
    return sim.ctl("GET", f"/chats/{chat}/messages", after=after, wait_ms=wait_ms)["messages"]


def wait_posts(sim, chat, n, timeout=30):
    """The bot's messages in a channel once there are at least n."""
    deadline = time.monotonic() + timeout
    while True:
        msgs = channel_messages(sim, chat, wait_ms=500)
        if len(msgs) >= n or time.monotonic() > deadline:
            return msgs
        time.sleep(0.1)


def photo_id(sim, chat):
    """A file_id the simulator knows: a photo posted by the channel's creator."""
    m = sim.ctl("POST", f"/channels/{chat}/posts", {"by": CONTENT_OWNER, "photo": True})["message"]
    return m["photo"][-1]["file_id"]


def local_in(h, hours, zone="Europe/London"):
    """A local time (the owner's zone) this many hours after the product clock's now."""
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo
    now_ms = requests.get(h.url("/test/clock"), timeout=10).json()["now_ms"]
    t = datetime.fromtimestamp(now_ms / 1000, timezone.utc) + timedelta(hours=hours)
    return t.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


class TestContentWorkflow:
    """Posts created through the API, delivered by the scheduler to the
    simulator: content, schedules, follow-ups and every kind of failure."""

    @pytest.fixture(params=["polling"])
    def bot_mode(self, request):
        return request.param

    def test_album_with_buttons_pin_and_auto_delete(self, content):
        h, sim = content, content.sim
        chat = h.channels[0]["chat"]
        pid = photo_id(sim, chat)
        before = len(channel_messages(sim, chat))
        p = create_post(h, text="<b>Album</b> of three",
                        media=[{"type": "photo", "file_id": pid}] * 3,
                        buttons=[[{"text": "Read", "url": "https://example.org/a"}]],
                        pin=True, delete_after_hours=2)
        msgs = wait_posts(sim, chat, before + 4)[before:]
        assert len(msgs) == 4, msgs
        album, buttons = msgs[:3], msgs[3]
        assert len({m["media_group_id"] for m in album}) == 1
        assert buttons["text"] == "<b>Album</b> of three"
        assert sim.buttons(buttons) == [{"text": "Read", "url": "https://example.org/a"}]
        wait_for(lambda: deliveries(h, p["id"])[0]["state"] == "sent")
        d = deliveries(h, p["id"])[0]
        assert d["message_ids"] == [m["message_id"] for m in msgs]
        assert 0 <= d["lateness_ms"] < 5000
        wait_for(lambda: deliveries(h, p["id"])[0]["pinned_at"] is not None)
        assert [m["pinned"] for m in channel_messages(sim, chat)[before:]] == \
            [True, False, False, False]
        # two hours later (the product clock moves) every message is deleted
        advance(h, 2 * 3600 * 1000 + 1000)
        wait_for(lambda: deliveries(h, p["id"])[0]["deleted_at"] is not None)
        assert all(m["deleted"] for m in channel_messages(sim, chat)[before:])
        assert h.s.get(h.url(f"/api/v1/posts/{p['id']}")).json()["status"] == "done"

    def test_scheduled_edited_then_sent_at_its_time_then_edited_again(self, content):
        h, sim = content, content.sim
        chat = h.channels[0]["chat"]
        at = local_in(h, 3)
        p = create_post(h, text="First draft", schedule={"at": at})
        assert p["next_at"] is not None and states(h, p["id"]) == ["scheduled"]
        r = h.s.patch(h.url(f"/api/v1/posts/{p['id']}"),
                      json={"text": "<i>Final</i> text",
                            "buttons": [[{"text": "Go", "url": "https://example.org"}]]})
        assert r.status_code == 200, r.text
        advance(h, 2 * 3600 * 1000)
        assert channel_messages(sim, chat, wait_ms=800) == []  # an hour early: nothing
        advance(h, 3600 * 1000)
        msgs = wait_posts(sim, chat, 1)
        assert [m["text"] for m in msgs] == ["<i>Final</i> text"]
        wait_for(lambda: deliveries(h, p["id"])[0]["state"] == "sent")
        assert deliveries(h, p["id"])[0]["due_at"] == p["next_at"]
        # edit after sending: text and buttons change in the channel
        r = h.s.patch(h.url(f"/api/v1/posts/{p['id']}"),
                      json={"text": "Corrected", "buttons": None})
        assert r.status_code == 200, r.text
        wait_for(lambda: deliveries(h, p["id"])[0]["edited_at"] is not None)
        m = channel_messages(sim, chat)[0]
        assert m["text"] == "Corrected" and m["edited"] and not sim.buttons(m)
        # other fields cannot change any more
        r = h.s.patch(h.url(f"/api/v1/posts/{p['id']}"), json={"pin": True})
        assert r.status_code == 409, r.text

    def test_recurring_with_a_count_and_cancel(self, content):
        h, sim = content, content.sim
        chat = h.channels[0]["chat"]
        at = local_in(h, 1)
        p = create_post(h, text="Daily digest",
                        schedule={"at": at, "repeat": {"every": "day", "count": 3}})
        ds = deliveries(h, p["id"])
        assert [d["due_at"] - ds[0]["due_at"] for d in ds] == [0, 86400000, 172800000]
        other = create_post(h, text="Never", schedule={"at": local_in(h, 5)})
        r = h.s.delete(h.url(f"/api/v1/posts/{other['id']}"))
        assert r.status_code == 200 and r.json()["status"] == "canceled"
        for day in range(3):
            advance(h, 24 * 3600 * 1000 if day else 3600 * 1000 + 1000)
            wait_posts(sim, chat, day + 1)
        msgs = channel_messages(sim, chat, wait_ms=800)
        assert [m["text"] for m in msgs] == ["Daily digest"] * 3
        wait_for(lambda: states(h, p["id"]) == ["sent"] * 3)
        assert states(h, other["id"]) == ["canceled"]
        wait_for(lambda: h.s.get(h.url(f"/api/v1/posts/{p['id']}")).json()["status"]
                 == "done")

    def test_5xx_then_success(self, content):
        h, sim = content, content.sim
        chat = h.channels[0]["chat"]
        sim.inject(method="sendMessage", chat_id=chat, kind="error", status=502, count=2)
        p = create_post(h, text="Through the errors")
        wait_for(lambda: deliveries(h, p["id"])[0]["state"] == "retrying")
        d = deliveries(h, p["id"])[0]
        assert d["reason"].startswith("telegram_error")
        # the backoff waits on the product clock
        advance(h, 5000)
        wait_for(lambda: deliveries(h, p["id"])[0]["state"] == "retrying"
                 and deliveries(h, p["id"])[0]["attempts"] == 2)
        advance(h, 10000)
        wait_for(lambda: deliveries(h, p["id"])[0]["state"] == "sent")
        assert [m["text"] for m in channel_messages(sim, chat)] == ["Through the errors"]
        assert deliveries(h, p["id"])[0]["attempts"] == 3

    def test_many_due_together_spread_without_429_and_in_order(self, content):
        h, sim = content, content.sim
        h.channels += [add_channel(h, f"Feed {i}", f"content_feed{i}") for i in range(3)]
        ids = [c["id"] for c in h.channels]
        # 4 channels x 8 posts due at once: the channels' 20/min budget and the
        # bot's 30/s are kept, with Telegram's own 429s thrown in
        sim.inject(method="sendMessage", kind="429", retry_after=1, count=2)
        for i in range(8):
            create_post(h, text=f"Post {i}", channels=ids)
        for c in h.channels:
            msgs = wait_posts(sim, c["chat"], 8, timeout=90)
            assert [m["text"] for m in msgs] == [f"Post {i}" for i in range(8)]
        stats = sim.stats()
        assert stats["violations"] == 0, stats
        assert stats["too_many_requests"] == 2, stats
        rows = h.sql("SELECT state, count(*) FROM deliveries GROUP BY state")
        assert [(r[0], int(r[1])) for r in rows] == [("sent", 32)]

    def test_bot_removed_fails_and_tells_the_owner(self, content):
        h, sim = content, content.sim
        chat = h.channels[0]["chat"]
        p = create_post(h, text="Soon", schedule={"at": local_in(h, 1)})
        sim.set_bot(chat, CONTENT_OWNER, status="kicked")
        advance(h, 3600 * 1000 + 1000)
        wait_for(lambda: deliveries(h, p["id"])[0]["state"] == "failed")
        assert deliveries(h, p["id"])[0]["reason"].startswith("bot_removed")
        assert channel_messages(sim, chat) == []
        sim.expect(CONTENT_OWNER, "was not published")
        r = h.s.get(h.url(f"/api/v1/channels/{h.channels[0]['id']}"))
        assert r.json()["status"] == "bot_removed"
        # rights revoked in another channel: failed at once with its reason
        other = add_channel(h, "Rights", "content_rights")
        sim.set_bot(other["chat"], CONTENT_OWNER, rights={"can_edit_messages": True})
        p = create_post(h, text="No rights", channels=[other["id"]])
        wait_for(lambda: deliveries(h, p["id"])[0]["state"] == "failed")
        assert deliveries(h, p["id"])[0]["reason"].startswith("no_rights")
        assert deliveries(h, p["id"])[0]["attempts"] == 1
        sim.expect(CONTENT_OWNER, "was not published")
        assert channel_messages(sim, other["chat"]) == []

    def test_killed_while_sending_nothing_lost_nothing_doubled(self, content):
        h, sim = content, content.sim
        chat = h.channels[0]["chat"]
        # Telegram holds the send for 6 s, then carries it out anyway
        sim.inject(method="sendMessage", chat_id=chat, kind="hang", hang_ms=6000)
        first = create_post(h, text="In flight")
        later = create_post(h, text="Queued behind it")
        wait_for(lambda: deliveries(h, first["id"])[0]["state"] == "sending")
        h.stop(signal.SIGKILL)
        msgs = wait_posts(sim, chat, 1, timeout=15)  # the held send went out
        assert [m["text"] for m in msgs] == ["In flight"]
        h.start()
        # the lease runs out: not resent blindly, the owner is asked
        wait_for(lambda: deliveries(h, first["id"])[0]["state"] == "uncertain")
        ask = sim.expect(CONTENT_OWNER, "published", timeout=20)
        # the post queued behind it is sent once
        wait_for(lambda: deliveries(h, later["id"])[0]["state"] == "sent")
        assert [m["text"] for m in channel_messages(sim, chat)] == \
            ["In flight", "Queued behind it"]
        # the owner says it was published: it is marked sent, nothing is resent
        sim.press(CONTENT_OWNER, ask, "It was published")
        wait_for(lambda: deliveries(h, first["id"])[0]["state"] == "sent")
        assert len(channel_messages(sim, chat, wait_ms=1000)) == 2

    def test_uncertain_after_a_timeout_and_resend(self, content):
        h, sim = content, content.sim
        chat = h.channels[0]["chat"]
        # no answer within Herald's 10 s: the post may be out, so it is not resent
        sim.inject(method="sendMessage", chat_id=chat, kind="hang", hang_ms=12000, status=504)
        p = create_post(h, text="Maybe out")
        wait_for(lambda: deliveries(h, p["id"])[0]["state"] == "uncertain", timeout=30)
        assert deliveries(h, p["id"])[0]["reason"].startswith("no_answer")
        r = h.s.post(h.url(f"/api/v1/deliveries/{deliveries(h, p['id'])[0]['id']}/resolve"),
                     json={"action": "resend"})
        assert r.status_code == 200, r.text
        wait_for(lambda: deliveries(h, p["id"])[0]["state"] == "sent")
        assert [m["text"] for m in channel_messages(sim, chat)] == ["Maybe out"]
        r = h.s.post(h.url(f"/api/v1/deliveries/{deliveries(h, p['id'])[0]['id']}/resolve"),
                     json={"action": "resend"})
        assert r.status_code == 409, r.text

    def test_bad_input_schedules_nothing(self, content):
        h = content
        ch = h.channels[0]["id"]
        cases = [
            ({"text": "<b>open", "channels": [ch]}, "text"),
            ({"text": "x" * 4097, "channels": [ch]}, "text"),
            ({"text": "x", "channels": [ch], "schedule": {"at": "2020-01-01T09:00"}},
             "schedule.at"),
            ({"text": "x", "channels": [ch], "schedule": {"at": "2030-01-01T09:00",
                                                         "zone": "Nowhere/City"}},
             "schedule.zone"),
            ({"text": "x", "channels": [ch],
              "buttons": [[{"text": "b", "url": "javascript:alert(1)"}]]},
             "buttons[0][0].url"),
            ({"text": "x", "channels": [ch],
              "media": [{"type": "photo", "file_id": "abc"}] * 11}, "media"),
            ({"text": "x", "channels": [ch + 1000]}, "channels[0]"),
        ]
        for body, field in cases:
            r = h.s.post(h.url("/api/v1/posts"), json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.headers["Content-Type"].startswith("application/problem+json")
            assert r.json()["field"] == field, r.text
        assert h.sql("SELECT count(*) FROM posts")[0][0] in (0, "0")
        assert h.sql("SELECT count(*) FROM jobs")[0][0] in (0, "0")


def all_done(h):
    """Every update recorded is (or soon is) handled: none failed or left."""
    wait_for(lambda: h.sql("SELECT COUNT(*) FROM tg_updates WHERE state <> 'done'")[0][0]
             in (0, "0"))


def wait_for(cond, timeout=15):
    """Poll the database (what the bot stored) until cond holds."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("bot_mode", ["webhook"])
def test_journey_on_postgres(bot_herald):
    """Onboarding and a channel connected, on PostgreSQL and Redis."""
    h, sim = bot_herald, bot_herald.sim
    uid = 8001
    onboard(sim, uid, "ru")
    sim.say(uid, "/start")
    sim.expect(uid, "С возвращением!")
    chat = sim.channel("Канал", uid, username="pg_channel")
    sim.set_bot(chat["id"], by=uid)
    m = sim.expect(uid, "Вы сделали меня администратором «Канал»")
    sim.press(uid, m, "Подключить")
    sim.expect(uid, "✅ «Канал» подключён!")
    assert h.sql(f"SELECT COUNT(*) FROM users WHERE telegram_id = {uid}") == [("1",)]
    assert h.sql("SELECT title, status FROM channels") == [("Канал", "ok")]


def test_one_chats_updates_are_handled_in_order(bot_herald):
    """Six commands sent at once by one user: the bot answers them in the
    order they were sent (one chat's updates go through one lane, in order),
    and each exactly once."""
    h, sim = bot_herald, bot_herald.sim
    uid = 8101
    onboard(sim, uid, "en")
    names = [f"nosuch{i}" for i in range(6)]
    for n in names:
        sim.say(uid, f"/{n}")
    answered = []
    deadline = time.monotonic() + 30
    while len(answered) < len(names) and time.monotonic() < deadline:
        for m in sim.sent(uid, wait_ms=5000):
            sim.seen[uid] = max(sim.seen.get(uid, 0), m["message_id"])
            found = re.search(r"the command /(nosuch\d)", m.get("text") or "")
            if found:
                answered.append(found.group(1))
    assert answered == names
    sim.quiet(uid)


# ---- posts through the bot (issue 4) ----

def advance_clock(h, ms):
    """Move Herald's product clock forward (HERALD_TEST_CLOCK=1)."""
    r = requests.post(h.url("/test/clock"), json={"advance_ms": ms})
    assert r.status_code == 200, r.text


def connected_channel(h, sim, uid, title, username, lang="en"):
    """Onboard uid in lang and connect a new channel of theirs."""
    onboard(sim, uid, lang)
    chat = sim.channel(title, uid, username=username)
    sim.set_bot(chat["id"], by=uid)
    m = sim.expect(uid, {"en": "You made me an administrator", "ru": "Вы сделали меня"}[lang])
    sim.press(uid, m, {"en": "Connect", "ru": "Подключить"}[lang])
    sim.expect(uid, {"en": f"✅ Connected “{title}”!", "ru": f"✅ «{title}» подключён!"}[lang])
    return chat


def channel_posts(sim, chat_id, wait_ms=0, after=0):
    return sim.ctl("GET", f"/chats/{chat_id}/messages", after=after, wait_ms=wait_ms)["messages"]


def wait_channel_post(sim, chat_id, after=0, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = channel_posts(sim, chat_id, wait_ms=5000, after=after)
        if got:
            return got
    raise AssertionError(f"nothing published in {chat_id}")


def latest(sim, uid, contains):
    """The bot's latest message to uid containing the text, as it is now
    (edits applied)."""
    for m in reversed(sim.sent(uid, after=0)):
        if contains in (m.get("text") or ""):
            return m
    raise AssertionError(f"no message with {contains!r}")


def compose_text(sim, uid, text, entities=None):
    body = {"text": text}
    if entities is not None:
        body["entities"] = entities
    sim.ctl("POST", f"/users/{uid}/messages", body)


class TestContentWorkflowBot:
    """/post, /queue and the owner asked about deliveries, through the bot."""

    def test_formatted_post_with_a_button_in_one_hour(self, make_bot_herald):
        h = make_bot_herald(HERALD_TEST_CLOCK="1").start()
        sim = h.sim
        uid = 9101
        chat = connected_channel(h, sim, uid, "Daily", "daily_news")
        sim.say(uid, "/post")
        sim.expect(uid, "Send me the post")
        assert conversation(h, uid) == "post_content"
        # bold and italic, with an emoji before them (UTF-16 offsets)
        compose_text(sim, uid, "😀 Hello world & more",
                     [{"type": "bold", "offset": 3, "length": 5},
                      {"type": "italic", "offset": 9, "length": 5}])
        m = sim.expect(uid, "Add link buttons under the post?")
        sim.press(uid, m, "Add buttons")
        sim.expect(uid, "Send the buttons")
        sim.say(uid, "Site - https://example.com")
        # one channel: no choice to make, straight to the time
        m = sim.expect(uid, "When should I publish it?")
        assert "1 button added" in m["text"] and "Europe/London" in m["text"]
        sim.press(uid, m, "In 1 hour")
        preview = sim.expect(uid, "Hello")
        want_html = "😀 <b>Hello</b> <i>world</i> &amp; more"
        assert preview["text"] == want_html and preview["parse_mode"] == "HTML"
        assert sim.buttons(preview) == [{"text": "Site", "url": "https://example.com"}]
        summary = sim.expect(uid, "Ready to publish.")
        assert "Channels: Daily" in summary["text"] and "Europe/London" in summary["text"]
        sim.press(uid, summary, "Schedule")
        sim.expect(uid, "✅ Scheduled for")
        assert conversation(h, uid) is None
        rows = h.sql("SELECT state FROM deliveries")
        assert rows == [("scheduled",)]
        assert channel_posts(sim, chat["id"], wait_ms=1000) == []
        # an hour later it is in the channel, as previewed
        advance_clock(h, 3600000)
        got = wait_channel_post(sim, chat["id"])
        assert len(got) == 1
        assert got[0]["text"] == want_html and got[0]["parse_mode"] == "HTML"
        assert sim.buttons(got[0]) == [{"text": "Site", "url": "https://example.com"}]
        wait_for(lambda: h.sql("SELECT state FROM deliveries") == [("sent",)])

    def test_queue_edit_and_cancel(self, make_bot_herald):
        h = make_bot_herald(HERALD_TEST_CLOCK="1").start()
        sim = h.sim
        uid = 9201
        chat = connected_channel(h, sim, uid, "Weekly", "weekly_news")
        sim.say(uid, "/queue")
        sim.expect(uid, "Nothing is scheduled. Send /post")
        sim.say(uid, "/post")
        compose_text(sim, uid, "Second post")
        sim.press(uid, sim.expect(uid, "Add link buttons"), "No buttons")
        sim.press(uid, sim.expect(uid, "When should I publish it?"), "Tomorrow 09:00")
        sim.press(uid, sim.expect(uid, "Ready to publish."), "Schedule")
        m = sim.expect(uid, "✅ Scheduled for")
        assert " 09:00 (Europe/London" in m["text"]
        sim.say(uid, "/queue")
        q = sim.expect(uid, "Scheduled posts:")
        assert "Weekly · Second post" in q["text"]
        # edit the text: the next message replaces it
        sim.press(uid, q, "Edit text")
        sim.expect(uid, "Send the new text for “Second post”")
        compose_text(sim, uid, "Edited post", [{"type": "underline", "offset": 0,
                                                "length": 6}])
        sim.expect(uid, "✅ The text is updated.")
        spec = h.sql("SELECT spec FROM posts")[0][0]
        assert "<u>Edited</u> post" in spec
        # cancel: asked first, then nothing is sent
        sim.say(uid, "/queue")
        q = sim.expect(uid, "Scheduled posts:")
        assert "Edited post" in q["text"]
        sim.press(uid, q, "Cancel")
        confirm = sim.expect(uid, "Cancel the post “Edited post”?")
        sim.press(uid, confirm, "Yes, cancel it")
        sim.expect(uid, "The post “Edited post” is cancelled.")
        assert h.sql("SELECT state FROM deliveries") == [("canceled",)]
        assert h.sql("SELECT status FROM posts") == [("canceled",)]
        sim.say(uid, "/queue")
        sim.expect(uid, "Nothing is scheduled.")
        # a stale button of the cancelled post changes nothing
        sim.press(uid, q, "Edit text")
        sim.expect(uid, "This post is no longer scheduled.")
        advance_clock(h, 2 * 86400000)
        assert channel_posts(sim, chat["id"], wait_ms=1500) == []

    def test_photo_post_pinned(self, make_bot_herald):
        h = make_bot_herald(HERALD_TEST_CLOCK="1").start()
        sim = h.sim
        uid = 9301
        chat = connected_channel(h, sim, uid, "Photos", "photo_news")
        # a file id the simulator knows, from a photo posted in the channel
        own = sim.ctl("POST", f"/channels/{chat['id']}/posts", {"photo": True})["message"]
        file_id = own["photo"][-1]["file_id"]
        sim.say(uid, "/post")
        sim.expect(uid, "Send me the post")
        sim.ctl("POST", "/updates", {"message": {
            "message_id": 90001, "date": 1, "chat": {"id": uid, "type": "private"},
            "from": {"id": uid, "is_bot": False, "first_name": "x"},
            "photo": [{"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
                      {"file_id": file_id, "file_unique_id": "b", "width": 800,
                       "height": 600}],
            "caption": "Photo of the day",
            "caption_entities": [{"type": "bold", "offset": 0, "length": 5}]}})
        sim.press(uid, sim.expect(uid, "Add link buttons"), "No buttons")
        sim.press(uid, sim.expect(uid, "When should I publish it?"), "Now")
        summary = sim.expect(uid, "Ready to publish.")
        preview = [m for m in sim.sent(uid, after=0) if m.get("photo")]
        assert preview and preview[-1]["caption"] == "<b>Photo</b> of the day"
        sim.press(uid, summary, "Pin")
        wait_for(lambda: "✅ Pin" in [b["text"] for b in
                                     sim.buttons(latest(sim, uid, "Ready to publish."))])
        assert json_of(h, "SELECT data FROM conversations")["pin"] is True
        sim.press(uid, summary, "Schedule")
        sim.expect(uid, "✅ Publishing now in Photos.")
        got = wait_channel_post(sim, chat["id"], after=own["message_id"])
        assert got[0]["caption"] == "<b>Photo</b> of the day"
        assert got[0]["media"]["file_id"] == file_id
        wait_for(lambda: channel_posts(sim, chat["id"], after=own["message_id"])[0]["pinned"])

    def test_uncertain_delivery_resend(self, make_bot_herald):
        h = make_bot_herald(HERALD_TEST_CLOCK="1").start()
        sim = h.sim
        uid = 9401
        chat = connected_channel(h, sim, uid, "Careful", "careful_news")
        sim.say(uid, "/post")
        compose_text(sim, uid, "Maybe sent")
        sim.press(uid, sim.expect(uid, "Add link buttons"), "No buttons")
        sim.press(uid, sim.expect(uid, "When should I publish it?"), "Tomorrow 18:00")
        sim.press(uid, sim.expect(uid, "Ready to publish."), "Schedule")
        sim.expect(uid, "✅ Scheduled for")
        # what a crash while sending leaves (the scheduler's own tests make
        # it for real): the delivery uncertain, its owner to be asked
        dlv = int(h.sql("SELECT id FROM deliveries")[0][0])
        h.sql(f"DELETE FROM jobs WHERE ref = {dlv}")
        h.sql(f"UPDATE deliveries SET state = 'uncertain', reason = 'interrupted_while_sending'"
              f" WHERE id = {dlv}")
        h.sql(f"INSERT INTO jobs (kind, ref, chat_key, order_at, run_at, state, created_at) "
              f"VALUES ('notify', {dlv}, 0, 0, 0, 'ready', 0)")
        m = sim.expect(uid, "I cannot tell whether your post to “Careful”", timeout=30)
        assert "Herald stopped while sending it" in m["text"]
        sim.press(uid, m, "Resend")
        sim.expect(uid, "OK, I am sending the post to “Careful” again now.")
        got = wait_channel_post(sim, chat["id"])
        assert got[0]["text"] == "Maybe sent"
        wait_for(lambda: h.sql("SELECT state FROM deliveries") == [("sent",)])
        # a second answer changes nothing
        sim.press(uid, m, "It was published")
        sim.expect(uid, "You have already answered about the post to “Careful”")
        assert len(channel_posts(sim, chat["id"], wait_ms=500)) == 1

    def test_bad_input_in_russian(self, make_bot_herald):
        h = make_bot_herald(HERALD_TEST_CLOCK="1").start()
        sim = h.sim
        uid = 9501
        connected_channel(h, sim, uid, "Новости", "ru_news", lang="ru")
        sim.say(uid, "/post")
        sim.expect(uid, "Пришлите мне пост")
        compose_text(sim, uid, "Текст поста")
        sim.press(uid, sim.expect(uid, "Добавить под пост кнопки"), "Добавить кнопки")
        sim.expect(uid, "Пришлите кнопки")
        # a bad URL: the line is named, nothing changes
        sim.say(uid, "Сайт - https://example.com\nМагазин - ftp://shop.example.com")
        sim.expect(uid, "Строка 2: эта ссылка не подойдёт")
        assert conversation(h, uid) == "post_buttons"
        sim.say(uid, "Сайт - https://example.com")
        m = sim.expect(uid, "Когда опубликовать?")
        assert "Europe/Moscow" in m["text"]
        # a time that cannot be read, and one in the past
        sim.say(uid, "завтра утром")
        sim.expect(uid, "Не понимаю «завтра утром» как время")
        sim.say(uid, "2020-01-01 10:00")
        sim.expect(uid, "Это время уже прошло")
        assert conversation(h, uid) == "post_time"
        assert h.sql("SELECT COUNT(*) FROM posts")[0][0] in (0, "0")
        # the button of a finished step, and /cancel
        sim.say(uid, "/cancel")
        sim.expect(uid, "Хорошо, отменено.")
        assert conversation(h, uid) is None
        assert h.sql("SELECT COUNT(*) FROM deliveries")[0][0] in (0, "0")


def json_of(h, query):
    import json
    return json.loads(h.sql(query)[0][0])
