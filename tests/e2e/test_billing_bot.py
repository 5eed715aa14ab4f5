"""Plans and payments through the bot, end to end: the real herald binary
(`herald run`, bot and worker roles) talks to `herald sim`; tests act as
Telegram users through the simulator's control API (writing commands,
pressing buttons, paying invoices) and check what the bot sent, what the
simulator recorded (pre-checkout answers, refunds), what the REST API
answers and what the database holds. The product clock is moved with
POST /test/clock (HERALD_TEST_CLOCK=1) to reach reminders, period ends and
grace ends; the scheduler's tick runs the billing sweep every 5 s.
Buying, renewing and refunding through every provider, the bot's included,
are in test_payment_workflows.py, which uses the helpers here.
"""
import datetime
import re
import time
import zoneinfo

import pytest
import requests

ADMIN = 990001
NBSP = "\u00a0"

BILLING_ENV = {
    "HERALD_TEST_CLOCK": "1",
    "HERALD_ADMINS": str(ADMIN),
    "HERALD_PAYME_MERCHANT_ID": "5e730e8e0b852a417aa49ceb",
    "HERALD_PAYME_KEY": "payme-test-key",
    "HERALD_CLICK_SERVICE_ID": "1001",
    "HERALD_CLICK_MERCHANT_ID": "2002",
    "HERALD_CLICK_SECRET_KEY": "click-test-secret",
}

DAY = 24 * 3600 * 1000


@pytest.fixture(params=["sqlite"])
def backend(request):
    """SQLite here; test_buy_with_stars also runs on PostgreSQL."""
    return request.param


@pytest.fixture(params=["polling"])
def bot_mode(request):
    """Long polling here; test_buy_with_stars also runs with the webhook."""
    return request.param


@pytest.fixture
def billing_herald(make_bot_herald):
    return make_bot_herald(**BILLING_ENV).start()


WELCOME = {"en": "Welcome to Herald!", "ru": "Добро пожаловать в Herald!",
           "uz": "Heraldga xush kelibsiz!"}
LANG_BUTTON = {"en": "English", "ru": "Русский", "uz": "O‘zbekcha"}
CHOOSE_ZONE = {"en": "Choose your time zone.", "ru": "Выберите ваш часовой пояс.",
               "uz": "Vaqt mintaqangizni tanlang."}
CITY_BUTTON = {"en": "London", "ru": "Москва", "uz": "Toshkent"}
ZONE_SET = {"en": "Time zone set: ", "ru": "Часовой пояс установлен: ",
            "uz": "Vaqt mintaqasi o‘rnatildi: "}


def onboard(sim, uid, lang="en"):
    sim.user(uid, language_code=lang)
    sim.say(uid, "/start")
    sim.press(uid, sim.expect(uid, WELCOME[lang]), LANG_BUTTON[lang])
    sim.press(uid, sim.expect(uid, CHOOSE_ZONE[lang]), CITY_BUTTON[lang])
    sim.expect(uid, ZONE_SET[lang])


def wait_for(cond, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def one(h, query):
    rows = h.sql(query)
    assert len(rows) == 1, (query, rows)
    return tuple(str(v) if v is not None else None for v in rows[0])


def count(h, query):
    return int(h.sql(query)[0][0])


def expect_invoice(sim, uid, timeout=15):
    """The next invoice the bot sends to uid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in sim.sent(uid, wait_ms=2000):
            sim.seen[uid] = max(sim.seen.get(uid, 0), m["message_id"])
            if "invoice" in m:
                return m
    raise AssertionError(f"chat {uid}: no invoice")


def await_text(sim, uid, contains, message, timeout=15):
    """The bot's message to uid, message itself (edited in place) or a later
    one, once its text contains `contains`; edits are waited for through the
    chat's version."""
    deadline = time.monotonic() + timeout
    version, seen = 0, []
    while time.monotonic() < deadline:
        r = sim.ctl("GET", f"/chats/{uid}/messages", after=message["message_id"] - 1,
                    since_version=version, wait_ms=2000)
        version = r["version"]
        for m in r["messages"]:
            if contains in (m.get("text") or ""):
                sim.seen[uid] = max(sim.seen.get(uid, 0), m["message_id"])
                return m
            seen.append(m.get("text"))
    raise AssertionError(f"chat {uid}: no message containing {contains!r}; got {seen[-5:]}")


def handled(h, update_id):
    """Wait until the bot has handled update_id; its final state."""
    def state():
        rows = h.sql(f"SELECT state FROM tg_updates WHERE update_id = {update_id}")
        return rows and rows[0][0] in ("done", "failed") and rows[0][0]
    return wait_for(state)


def pcq(sim, qid):
    """The simulator's record of pre-checkout query qid once answered."""
    def answered():
        for q in sim.ctl("GET", "/payments")["pre_checkout_queries"]:
            if q["id"] == qid and q["answered"]:
                return q
        return None
    return wait_for(answered)


def advance(h, ms):
    r = requests.post(h.url("/test/clock"), json={"advance_ms": ms}, timeout=10)
    assert r.status_code == 200, r.text


def now_ms(h):
    return requests.get(h.url("/test/clock"), timeout=10).json()["now_ms"]


def start_stars_purchase(sim, uid, plan="Pro", lang="en"):
    """/subscribe -> plan -> one month -> Telegram Stars: the invoice sent."""
    period = {"en": "1 month", "ru": "1 месяц", "uz": "1 oy"}[lang]
    stars = {"en": "Telegram Stars", "ru": "Звёзды Telegram", "uz": "Telegram Stars"}[lang]
    sim.say(uid, "/subscribe")
    m = sim.expect(uid, {"en": "Choose a plan", "ru": "Выберите тариф",
                         "uz": "Tarifni tanlang"}[lang])
    sim.press(uid, m, plan)
    m = await_text(sim, uid, {"en": "for how long?", "ru": "на какой срок?",
                              "uz": "qancha muddatga?"}[lang], m)
    sim.press(uid, m, period)
    m = await_text(sim, uid, {"en": "How would you like to pay?",
                              "ru": "Как вы хотите оплатить?",
                              "uz": "Qanday toʻlamoqchisiz?"}[lang], m)
    sim.press(uid, m, stars)
    return expect_invoice(sim, uid)


def pay(sim, uid, invoice):
    """The user pays the invoice; the pre-checkout answer as the sim saw it."""
    r = sim.ctl("POST", f"/users/{uid}/pay", {"message_id": invoice["message_id"]})
    return pcq(sim, r["pre_checkout_query_id"])


def buy_pro_with_stars(h, sim, uid, lang="en"):
    inv = start_stars_purchase(sim, uid, lang=lang)
    assert pay(sim, uid, inv)["ok"] is True
    sim.expect(uid, {"en": "Payment received: ⭐" + NBSP + "500",
                     "ru": "Оплата получена: ⭐" + NBSP + "500",
                     "uz": "Toʻlov qabul qilindi: ⭐" + NBSP + "500"}[lang])
    return inv


def user_id(h, uid):
    return int(one(h, f"SELECT id FROM users WHERE telegram_id = {uid}")[0])


# ---- /plans and /subscribe --------------------------------------------------

PLANS = {
    # Stripe is not configured: prices in UZS (Payme, Click) and Stars only
    "en": ["Herald plans:", "✓ Free — your plan", "3 channels · 200 posts a month",
           "1 month: UZS" + NBSP + "120,000 · ⭐" + NBSP + "500",
           "1 year: UZS" + NBSP + "1,200,000 · ⭐" + NBSP + "5,000", "Free of charge",
           "/subscribe"],
    "ru": ["Тарифы Herald:", "✓ Бесплатный — ваш тариф", "3 канала · 200 постов в месяц",
           "1 месяц: 120" + NBSP + "000" + NBSP + "UZS · ⭐" + NBSP + "500",
           "1 год: 1" + NBSP + "200" + NBSP + "000" + NBSP + "UZS · ⭐" + NBSP + "5" + NBSP
           + "000", "Бесплатно"],
    "uz": ["Herald tariflari:", "✓ Bepul — sizning tarifingiz",
           "3 ta kanal · oyiga 200 ta post",
           "1 oy: 120" + NBSP + "000" + NBSP + "soʻm · ⭐" + NBSP + "500", "Bepul"],
}


def test_plans_and_subscribe_in_each_language(billing_herald):
    h, sim = billing_herald, billing_herald.sim
    for uid, lang in ((5001, "en"), (5002, "ru"), (5003, "uz")):
        onboard(sim, uid, lang)
        sim.say(uid, "/plans")
        m = sim.expect(uid, PLANS[lang][0])
        for want in PLANS[lang]:
            assert want in m["text"], (lang, want, m["text"])
        assert "$" not in m["text"]
        assert ("Biznes" if lang == "uz" else "Business") in m["text"]

        # /subscribe: plan -> period -> the configured ways to pay
        sim.say(uid, "/subscribe")
        m = sim.expect(uid, {"en": "Choose a plan", "ru": "Выберите тариф",
                             "uz": "Tarifni tanlang"}[lang])
        labels = [b["text"] for b in sim.buttons(m)]
        assert len(labels) == 2 and labels[0].startswith("Pro"), labels
        sim.press(uid, m, "Pro")
        m = await_text(sim, uid, {"en": "Pro: for how long?", "ru": "Pro: на какой срок?",
                                  "uz": "Pro: qancha muddatga?"}[lang], m)
        month = sim.buttons(m)[0]
        assert month["callback_data"] == "1:buy:pro.month"
        sim.press(uid, m, data=month["callback_data"])
        m = await_text(sim, uid, {"en": "How would you like to pay?",
                                  "ru": "Как вы хотите оплатить?",
                                  "uz": "Qanday toʻlamoqchisiz?"}[lang], m)
        data = [b["callback_data"] for b in sim.buttons(m)]
        # Stripe is not configured here: Payme, Click and Stars are offered
        assert data[:3] == ["1:buy:pro.month.payme", "1:buy:pro.month.click",
                            "1:buy:pro.month.stars"], data
        sim.press(uid, m, data="1:buy:pro.month.payme")
        m = await_text(sim, uid, {"en": "through Payme", "ru": "через Payme",
                                  "uz": "Payme orqali"}[lang], m)
        link = sim.buttons(m)[0]
        assert link["url"].startswith("https://checkout.paycom.uz/"), link
        assert "120" in link["text"]
        order = one(h, f"SELECT provider, amount, currency, state, plan_id, period FROM orders "
                       f"WHERE user_id = {user_id(h, uid)} ORDER BY id DESC LIMIT 1")
        assert order == ("payme", "12000000", "UZS", "pending", "pro", "month")

        # the same plan through Stars: an invoice in the user's language
        inv = start_stars_purchase(sim, uid, lang=lang)
        assert inv["invoice"]["currency"] == "XTR"
        assert inv["invoice"]["total_amount"] == 500
        assert inv["invoice"]["title"] == {"en": "Herald Pro, 1 month",
                                           "ru": "Herald Pro на 1 месяц",
                                           "uz": "Herald Pro, 1 oylik"}[lang]
        # the order keeps the invoice's payload (stored just after the send)
        order = wait_for(lambda: [r for r in h.sql(
            f"SELECT id, provider, amount, currency, provider_ref FROM orders WHERE "
            f"user_id = {user_id(h, uid)} ORDER BY id DESC LIMIT 1") if r[4]])[0]
        order = tuple(str(v) for v in order)
        assert order[1:4] == ("stars", "500", "XTR")
        assert inv["invoice_payload"] == order[4] == f"order:{order[0]}"
        await_text(sim, uid, {"en": "I sent you an invoice", "ru": "Я отправил вам счёт",
                              "uz": "Sizga hisob yubordim"}[lang], {"message_id": 1})


def test_buttons_and_commands_are_listed(billing_herald):
    sim = billing_herald.sim
    onboard(sim, 5101)
    sim.say(5101, "/help")
    m = sim.expect(5101, "Here is what I can do")
    for cmd in ("/plans", "/subscribe", "/billing"):
        assert cmd in m["text"]
    # a tampered step is refused, nothing is bought
    sim.press(5101, m, data="1:buy:pro.week")
    sim.expect(5101, "This button is not valid")
    sim.press(5101, m, data="1:buy:nosuchplan.month.stars")
    sim.expect(5101, "This plan cannot be bought that way")
    assert count(billing_herald, "SELECT COUNT(*) FROM orders") == 0


# ---- buying with Stars ------------------------------------------------------

@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("bot_mode", ["polling", "webhook"])
def test_buy_with_stars(billing_herald):
    h, sim = billing_herald, billing_herald.sim
    uid = 6001
    onboard(sim, uid)
    inv = start_stars_purchase(sim, uid)
    r = sim.ctl("POST", f"/users/{uid}/pay", {"message_id": inv["message_id"]})
    q = pcq(sim, r["pre_checkout_query_id"])
    assert q["ok"] is True and not q.get("error_message")

    # the activated notice arrives in the chat
    m = sim.expect(uid, "Payment received: ⭐" + NBSP + "500. Pro is active until ")
    assert "I will remind you 3 days before it ends" in m["text"]
    payment = sim.ctl("GET", "/payments")["payments"][0]
    charge = payment["telegram_payment_charge_id"]
    assert payment["total_amount"] == 500 and payment["refunded"] is False

    uidb = user_id(h, uid)
    assert one(h, f"SELECT plan FROM users WHERE id = {uidb}") == ("pro",)
    sub = one(h, f"SELECT id, state, provider, plan_id, period, current_period_end "
                 f"FROM subscriptions WHERE user_id = {uidb}")
    assert sub[1:5] == ("active", "stars", "pro", "month")
    end_ms = int(sub[5])
    # the period's end as a date in the user's zone (London, from onboarding)
    local = datetime.datetime.fromtimestamp(end_ms / 1000, zoneinfo.ZoneInfo("Europe/London"))
    assert f"Pro is active until {local:%d.%m.%Y}." in m["text"], m["text"]
    pay_row = one(h, f"SELECT kind, provider, provider_payment_id, amount, currency, status "
                     f"FROM payments WHERE user_id = {uidb}")
    assert pay_row == ("payment", "stars", charge, "500", "XTR", "succeeded")
    assert one(h, f"SELECT type, subscription_id FROM provider_events "
                  f"WHERE provider = 'stars' AND event_id = '{charge}'") == \
        ("successful_payment", sub[0])
    assert one(h, "SELECT state FROM orders WHERE provider = 'stars'") == ("paid",)
    wait_for(lambda: count(h, "SELECT COUNT(*) FROM billing_notices WHERE sent_at IS NOT NULL")
             == 1)

    # Telegram repeats the successful_payment (a new update, the same charge)
    rep = sim.ctl("POST", "/updates", {"message": {
        "message_id": 90001, "date": 1, "from": {"id": uid, "is_bot": False,
                                                 "first_name": "User"},
        "chat": {"id": uid, "type": "private"},
        "successful_payment": {"currency": "XTR", "total_amount": 500,
                               "invoice_payload": inv["invoice_payload"],
                               "telegram_payment_charge_id": charge,
                               "provider_payment_charge_id": ""}}})
    assert handled(h, rep["update_id"]) == "done"
    assert count(h, "SELECT COUNT(*) FROM payments") == 1
    assert count(h, "SELECT COUNT(*) FROM provider_events") == 1
    assert count(h, "SELECT COUNT(*) FROM subscriptions") == 1
    assert count(h, "SELECT COUNT(*) FROM billing_notices") == 1
    assert one(h, f"SELECT current_period_end FROM subscriptions WHERE id = {sub[0]}") == \
        (str(end_ms),)
    sim.quiet(uid)

    # paying the same invoice again is refused at the pre-checkout
    q = pay(sim, uid, inv)
    assert q["ok"] is False and "paid already" in q["error_message"]
    sim.quiet(uid)
    assert count(h, "SELECT COUNT(*) FROM payments") == 1


def test_pre_checkout_refusals(billing_herald):
    h, sim = billing_herald, billing_herald.sim
    uid, other = 6101, 6102
    onboard(sim, uid, "ru")
    onboard(sim, other, "en")
    inv = start_stars_purchase(sim, uid, lang="ru")
    payload = inv["invoice_payload"]
    user = sim.ctl("GET", f"/users/{uid}")
    user.pop("started", None)
    user.pop("blocked", None)

    def query(qid, payload, total, frm=user):
        sim.ctl("POST", "/updates", {"pre_checkout_query": {
            "id": qid, "from": frm, "currency": "XTR", "total_amount": total,
            "invoice_payload": payload}})
        return pcq(sim, qid)

    # a wrong amount, an unknown order, a payload that is no order of ours:
    # refused in the payer's language
    q = query("q-amount", payload, 1)
    assert q["ok"] is False and "не совпадает" in q["error_message"]
    q = query("q-unknown", "order:987654", 500)
    assert q["ok"] is False and "не могу найти этот заказ" in q["error_message"]
    q = query("q-garbage", "plan:pro", 500)
    assert q["ok"] is False and "не могу найти этот заказ" in q["error_message"]
    # another user's invoice
    stranger = sim.ctl("GET", f"/users/{other}")
    stranger.pop("started", None)
    stranger.pop("blocked", None)
    q = query("q-other", payload, 500, stranger)
    assert q["ok"] is False and "made for someone else" in q["error_message"]
    # an expired order
    advance(h, DAY + 60 * 1000)
    q = query("q-late", payload, 500)
    assert q["ok"] is False and "истёк" in q["error_message"]
    assert count(h, "SELECT COUNT(*) FROM payments") == 0
    assert one(h, f"SELECT plan FROM users WHERE telegram_id = {uid}") == ("free",)
    assert count(h, "SELECT COUNT(*) FROM subscriptions") == 0


def test_payment_for_nothing_is_returned(billing_herald):
    """A successful_payment whose payload names no order (Telegram reported
    it anyway) is refunded at once and recorded; the user is told."""
    h, sim = billing_herald, billing_herald.sim
    uid = 6201
    onboard(sim, uid)
    upd = sim.ctl("POST", "/updates", {"message": {
        "message_id": 90002, "date": 1, "from": {"id": uid, "is_bot": False,
                                                 "first_name": "User"},
        "chat": {"id": uid, "type": "private"},
        "successful_payment": {"currency": "XTR", "total_amount": 77,
                               "invoice_payload": "order:424242",
                               "telegram_payment_charge_id": "stxinjected1",
                               "provider_payment_charge_id": ""}}})
    sim.expect(uid, "The Stars were returned to you")
    assert handled(h, upd["update_id"]) == "done"
    pays = sim.ctl("GET", "/payments")["payments"]
    assert [p["refunded"] for p in pays if p["telegram_payment_charge_id"] == "stxinjected1"] \
        == [True]
    ev = one(h, "SELECT effect FROM provider_events WHERE event_id = 'stxinjected1'")
    assert ev[0].startswith("not applied, refunded")
    assert count(h, "SELECT COUNT(*) FROM payments") == 0
    # the refunded_payment that follows changes nothing either
    wait_for(lambda: count(h, "SELECT COUNT(*) FROM provider_events "
                              "WHERE event_id = 'refund:stxinjected1'") == 1)
    assert count(h, "SELECT COUNT(*) FROM payments") == 0
    assert one(h, f"SELECT plan FROM users WHERE telegram_id = {uid}") == ("free",)


# ---- refunds ----------------------------------------------------------------

# ---- /billing ---------------------------------------------------------------

def test_billing_status_history_and_cancel(billing_herald):
    h, sim = billing_herald, billing_herald.sim
    uid = 6401
    onboard(sim, uid)
    sim.say(uid, "/billing")
    m = sim.expect(uid, "Your plan: Free")
    assert "You have no paid subscription." in m["text"] and "No payments yet." in m["text"]
    assert [b["text"] for b in sim.buttons(m)] == ["Choose a plan"]

    buy_pro_with_stars(h, sim, uid)
    sim.say(uid, "/billing")
    m = sim.expect(uid, "Your plan: Pro")
    assert "Pro, monthly, paid with Telegram Stars." in m["text"]
    assert re.search(r"✅ Active: paid until \d\d\.\d\d\.\d{4}\. It does not renew by itself",
                     m["text"])
    assert re.search(r"• \d\d\.\d\d\.\d{4} — ⭐" + NBSP + "500 — paid with Telegram Stars",
                     m["text"])
    assert [b["text"] for b in sim.buttons(m)] == [
        "Cancel at the period's end", "Pay for the next period", "Change plan"]

    # cancel: asked first; "no" keeps it
    sim.press(uid, m, "Cancel at the period's end")
    ask = await_text(sim, uid, "Cancel Pro at the end of the period?", m)
    sim.press(uid, ask, "No, keep it")
    await_text(sim, uid, "✅ Active", ask)
    uidb = user_id(h, uid)
    assert one(h, f"SELECT state FROM subscriptions WHERE user_id = {uidb}") == ("active",)
    sim.press(uid, ask, "Yes, cancel")
    m = await_text(sim, uid, "Done: your subscription will not renew.", ask)
    assert "⏹ Cancelled: Pro stays until" in m["text"]
    assert one(h, f"SELECT state, cancel_at_period_end FROM subscriptions "
                  f"WHERE user_id = {uidb}") == ("canceled", "1")
    assert one(h, f"SELECT plan FROM users WHERE id = {uidb}") == ("pro",)
    sim.expect(uid, "Your Pro plan will not renew. It stays on until")
    # the confirmation pressed again changes nothing more
    again = sim.press(uid, ask, "Yes, cancel")
    assert handled(h, again["update_id"]) == "done"
    assert one(h, f"SELECT state FROM subscriptions WHERE user_id = {uidb}") == ("canceled",)
    assert count(h, "SELECT COUNT(*) FROM billing_notices WHERE kind = 'cancel_requested'") == 1

    # a canceled Stars plan expires at its period's end, without a reminder
    end = int(one(h, f"SELECT current_period_end FROM subscriptions WHERE user_id = {uidb}")[0])
    advance(h, end - now_ms(h) + 60 * 1000)
    sim.expect(uid, "Your Pro plan has ended, and your account is on Free now.", timeout=30)
    assert one(h, f"SELECT plan FROM users WHERE id = {uidb}") == ("free",)
    assert count(h, f"SELECT COUNT(*) FROM billing_notices WHERE kind = 'reminder'") == 0


# ---- what the clock does ----------------------------------------------------

def test_notice_to_a_user_who_blocked_the_bot(billing_herald):
    h, sim = billing_herald, billing_herald.sim
    uid = 6601
    onboard(sim, uid)
    buy_pro_with_stars(h, sim, uid)
    sim.block(uid)
    uidb = user_id(h, uid)
    wait_for(lambda: h.sql(f"SELECT bot_blocked_at FROM users WHERE id = {uidb}")[0][0])
    end = int(one(h, f"SELECT current_period_end FROM subscriptions WHERE user_id = {uidb}")[0])
    advance(h, end - now_ms(h) - DAY)
    row = wait_for(lambda: h.sql("SELECT sent_at, error FROM billing_notices "
                                 "WHERE kind = 'reminder' AND sent_at IS NOT NULL"), timeout=30)
    assert row[0][1] == "the user blocked the bot"
    # the job is done, not retried
    wait_for(lambda: count(h, "SELECT COUNT(*) FROM jobs WHERE kind = 'bnotice'") == 0)
