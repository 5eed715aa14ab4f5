/*
 * Unit tests of the pure parts of plans and payments in the bot and of
 * Telegram Stars: the /subscribe step a button carries, the Stars invoice
 * payload, the pre-checkout verdict, and the texts of /plans, /billing and
 * every billing notice in each language.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "billing/stars.h"
#include "bot/bot_impl.h"
#include "lib/i18n.h"
#include "lib/mem.h"
#include "lib/utf8.h"

#define NBSP "\xc2\xa0"

static const char *const langs[] = {"en", "ru", "uz"};

/* ---- the /subscribe step on a button ---------------------------------- */

static void test_buy_parse(void **state)
{
	static const struct {
		const char *in, *plan, *period, *provider;
	} ok[] = {
	    {"pro", "pro", "", ""},
	    {"pro.month", "pro", "month", ""},
	    {"business.year.stars", "business", "year", "stars"},
	    {"pro.month.stripe", "pro", "month", "stripe"},
	    {"pro.year.payme", "pro", "year", "payme"},
	    {"pro.year.click", "pro", "year", "click"},
	    {"a_1", "a_1", "", ""},
	    {"abcdefghijklmno", "abcdefghijklmno", "", ""},
	};
	static const char *const bad[] = {
	    "",
	    ".",
	    "pro.",
	    "pro..stars",
	    ".month",
	    "Pro",
	    "pro.week",
	    "pro.month.",
	    "pro.month.paypal",
	    "pro.month.stars.extra",
	    "pro.month.stars.",
	    "abcdefghijklmnop", /* 16 characters */
	    "pro-plus",
	    "pro month",
	    "pro.Month",
	};
	struct bot_buy b;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		assert_int_equal(bot_buy_parse(str_c(ok[i].in), &b), 0);
		assert_string_equal(b.plan, ok[i].plan);
		assert_string_equal(b.period, ok[i].period);
		assert_string_equal(b.provider, ok[i].provider);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&b, 'x', sizeof(b));
		assert_int_equal(bot_buy_parse(str_c(bad[i]), &b), -ERR_INVALID);
		assert_string_equal(b.plan, "");
		assert_string_equal(b.provider, "");
	}
}

static void test_billing_callbacks(void **state)
{
	static const struct {
		enum bot_cb_action a;
		const char *arg, *want;
	} cases[] = {
	    {BOT_CB_BUY, "pro", "1:buy:pro"},
	    {BOT_CB_BUY, "pro.month", "1:buy:pro.month"},
	    {BOT_CB_BUY, "business.year.stripe", "1:buy:business.year.stripe"},
	    {BOT_CB_BILLING, "cancel", "1:bil:cancel"},
	    {BOT_CB_BILLING, "cancel_yes", "1:bil:cancel_yes"},
	    {BOT_CB_BILLING, "cancel_no", "1:bil:cancel_no"},
	    {BOT_CB_MENU, "plans", "1:menu:plans"},
	    {BOT_CB_MENU, "subscribe", "1:menu:subscribe"},
	    {BOT_CB_MENU, "billing", "1:menu:billing"},
	};
	static const char *const bad[] = {
	    "1:buy",        "1:buy:",         "1:buy:pro.week", "1:buy:pro.month.cash", "1:bil",
	    "1:bil:refund", "1:bil:cancel:1", "1:menu:buy",     "2:buy:pro.month"};
	char data[BOT_CB_MAX + 1];
	struct bot_cb cb;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(bot_cb_encode(data, cases[i].a, cases[i].arg, 0), 0);
		assert_string_equal(data, cases[i].want);
		assert_int_equal(bot_cb_parse(data, strlen(data), &cb), 0);
		assert_int_equal(cb.action, cases[i].a);
		assert_string_equal(cb.arg, cases[i].arg);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(bot_cb_parse(bad[i], strlen(bad[i]), &cb), -ERR_INVALID);
	/* a step that would not parse is never put on a button */
	assert_int_equal(bot_cb_encode(data, BOT_CB_BUY, "pro.week", 0), -ERR_INVALID);
	assert_string_equal(data, "");
}

/* ---- Stars ------------------------------------------------------------- */

static void test_stars_payload(void **state)
{
	static const char *const bad[] = {
	    "",          "order:",
	    "order:0",   "order:012",
	    "order:-5",  "order:+5",
	    "order:5 ",  " order:5",
	    "Order:5",   "order:5x",
	    "plan:pro",  "order:1.5",
	    "order:abc", "order:9223372036854775808",
	    "order::5",
	};
	char buf[STARS_PAYLOAD_MAX];
	int64_t id = 77;

	(void)state;
	assert_int_equal(stars_payload(42, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "order:42");
	assert_int_equal(stars_payload_parse(buf, strlen(buf), &id), 0);
	assert_true(id == 42);
	assert_int_equal(stars_payload(INT64_MAX, buf, sizeof(buf)), 0);
	assert_int_equal(stars_payload_parse(buf, strlen(buf), &id), 0);
	assert_true(id == INT64_MAX);
	assert_int_equal(stars_payload(42, buf, 8), -ERR_TOO_BIG);
	/* not NUL terminated: only len bytes count */
	assert_int_equal(stars_payload_parse("order:123456", 8, &id), 0);
	assert_true(id == 12);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		id = 77;
		assert_int_equal(stars_payload_parse(bad[i], strlen(bad[i]), &id), -ERR_INVALID);
		assert_true(id == 77);
	}
	assert_int_equal(stars_payload_parse(NULL, 0, &id), -ERR_INVALID);
}

static void test_stars_check(void **state)
{
	struct billing_order o = {.id = 5,
	                          .user_id = 9,
	                          .amount = 500,
	                          .expires_at = 2000,
	                          .provider = BP_STARS,
	                          .currency = "XTR",
	                          .state = "pending"};
	struct billing_order x;

	(void)state;
	assert_int_equal(stars_check(&o, 9, "XTR", 500, 1000), STARS_OK);
	assert_int_equal(stars_check(NULL, 9, "XTR", 500, 1000), STARS_NO_ORDER);
	assert_int_equal(stars_check(&o, 8, "XTR", 500, 1000), STARS_NOT_YOURS);
	assert_int_equal(stars_check(&o, 0, "XTR", 500, 1000), STARS_NOT_YOURS);
	assert_int_equal(stars_check(&o, 9, "XTR", 499, 1000), STARS_WRONG_PRICE);
	assert_int_equal(stars_check(&o, 9, "XTR", 501, 1000), STARS_WRONG_PRICE);
	assert_int_equal(stars_check(&o, 9, "USD", 500, 1000), STARS_WRONG_PRICE);
	assert_int_equal(stars_check(&o, 9, NULL, 500, 1000), STARS_WRONG_PRICE);
	/* the last instant before expires_at is fine, expires_at is not */
	assert_int_equal(stars_check(&o, 9, "XTR", 500, 1999), STARS_OK);
	assert_int_equal(stars_check(&o, 9, "XTR", 500, 2000), STARS_EXPIRED);
	x = o;
	x.provider = BP_PAYME;
	assert_int_equal(stars_check(&x, 9, "XTR", 500, 1000), STARS_NOT_YOURS);
	x = o;
	snprintf(x.state, sizeof(x.state), "paid");
	assert_int_equal(stars_check(&x, 9, "XTR", 500, 1000), STARS_PAID);
	/* paid wins over expired: the user is told the truth */
	assert_int_equal(stars_check(&x, 9, "XTR", 500, 5000), STARS_PAID);
	static const char *const gone[] = {"reserved", "canceled", "expired", "refunded"};
	for (size_t i = 0; i < ARRAY_SIZE(gone); i++) {
		snprintf(x.state, sizeof(x.state), "%s", gone[i]);
		assert_int_equal(stars_check(&x, 9, "XTR", 500, 1000), STARS_EXPIRED);
	}
}

/* ---- texts ------------------------------------------------------------- */

static json_t *plans_json(bool providers)
{
	json_error_t je;
	json_t *v = json_loads(
	    "{\"plans\": ["
	    "{\"id\": \"free\", \"name\": \"Free\", \"max_channels\": 1, \"max_posts_month\": 30,"
	    " \"prices\": []},"
	    "{\"id\": \"pro\", \"name\": \"Pro\", \"max_channels\": 3, \"max_posts_month\": 200,"
	    " \"prices\": [{\"currency\": \"USD\", \"period\": \"month\", \"amount\": 999},"
	    "  {\"currency\": \"USD\", \"period\": \"year\", \"amount\": 9999},"
	    "  {\"currency\": \"UZS\", \"period\": \"month\", \"amount\": 12000000},"
	    "  {\"currency\": \"XTR\", \"period\": \"month\", \"amount\": 500},"
	    "  {\"currency\": \"XTR\", \"period\": \"year\", \"amount\": 5000}]},"
	    "{\"id\": \"team\", \"name\": \"Team Max\", \"max_channels\": 21,"
	    " \"max_posts_month\": 1, \"prices\": [{\"currency\": \"XTR\", \"period\": \"month\","
	    " \"amount\": 1500}]}],"
	    "\"providers\": [{\"id\": \"stripe\", \"currency\": \"USD\"},"
	    " {\"id\": \"stars\", \"currency\": \"XTR\"}]}",
	    0, &je);

	assert_non_null(v);
	if (!providers)
		json_object_set_new(v, "providers", json_array());
	return v;
}

static void test_plans_text(void **state)
{
	json_t *plans = plans_json(true);
	char out[4000];

	(void)state;
	bot_plans_text("en", plans, "pro", out, sizeof(out));
	assert_string_equal(out, "Herald plans:\n"
	                         "\n"
	                         "Free\n"
	                         "1 channel · 30 posts a month\n"
	                         "Free of charge\n"
	                         "\n"
	                         "✓ Pro — your plan\n"
	                         "3 channels · 200 posts a month\n"
	                         "1 month: $9.99 · ⭐" NBSP "500\n"
	                         "1 year: $99.99 · ⭐" NBSP "5,000\n"
	                         "\n"
	                         "Team Max\n"
	                         "21 channels · 1 post a month\n"
	                         "1 month: ⭐" NBSP "1,500\n"
	                         "\n"
	                         "Send /subscribe to choose a plan and pay for it.");
	/* prices in the currencies of the providers configured: no UZS here */
	assert_null(strstr(out, "UZS"));

	bot_plans_text("ru", plans, "free", out, sizeof(out));
	assert_non_null(strstr(out, "✓ Бесплатный — ваш тариф\n1 канал · 30 постов в месяц\n"));
	assert_non_null(
	    strstr(out, "3 канала · 200 постов в месяц\n1 месяц: 9,99" NBSP "$ · ⭐" NBSP "500\n"));
	assert_non_null(strstr(out, "21 канал · 1 пост в месяц\n"));
	assert_non_null(strstr(out, "Team Max\n")); /* an operator's plan keeps its name */

	/* no provider configured: every currency with a price, the language's own
	 * first, and no promise of a way to pay */
	json_decref(plans);
	plans = plans_json(false);
	bot_plans_text("uz", plans, "free", out, sizeof(out));
	assert_non_null(strstr(out, "✓ Bepul — sizning tarifingiz\n"));
	assert_non_null(
	    strstr(out, "1 oy: 120" NBSP "000" NBSP "soʻm · 9,99" NBSP "US$ · ⭐" NBSP "500\n"));
	assert_non_null(strstr(out, "Bu Heraldda toʻlovlar hali sozlanmagan."));
	bot_plans_text("en", plans, "free", out, sizeof(out));
	assert_non_null(strstr(out, "1 month: $9.99 · UZS" NBSP "120,000 · ⭐" NBSP "500\n"));

	/* a small buffer cuts at a character boundary */
	for (size_t n = 1; n < 120; n++) {
		char small[120];

		bot_plans_text("ru", plans, "free", small, n);
		assert_true(strlen(small) < n);
		assert_int_equal(utf8_check(small, strlen(small), false), strlen(small));
	}
	json_decref(plans);
}

static json_t *parse(const char *s)
{
	json_error_t je;
	json_t *v = json_loads(s, 0, &je);

	if (!v)
		fail_msg("%s: %s", s, je.text);
	return v;
}

/* 2027-03-12T10:00:00Z */
#define T_END 1804845600000LL

static void test_billing_text(void **state)
{
	json_t *plans = plans_json(true), *pays, *cur;
	char out[4000], want[512];

	(void)state;
	cur = parse("{\"plan\": \"free\", \"subscription\": null}");
	pays = json_array();
	bot_billing_text("en", "UTC", plans, cur, pays, out, sizeof(out));
	assert_string_equal(out,
	                    "Your plan: Free\nYou have no paid subscription.\n\nNo payments yet.");
	json_decref(cur);
	json_decref(pays);

	cur = parse("{\"plan\": \"pro\", \"subscription\": {\"plan\": \"pro\", \"period\": "
	            "\"month\", \"state\": \"active\", \"provider\": \"stars\", "
	            "\"current_period_end\": 1804845600000, \"grace_until\": null}}");
	pays =
	    parse("[{\"kind\": \"refund\", \"provider\": \"stars\", \"amount\": 500, "
	          "\"currency\": \"XTR\", \"status\": \"succeeded\", \"reason\": \"asked\", "
	          "\"created_at\": 1804845600000},"
	          "{\"kind\": \"payment\", \"provider\": \"stars\", \"amount\": 500, "
	          "\"currency\": \"XTR\", \"status\": \"succeeded\", \"reason\": \"\", "
	          "\"created_at\": 1802800000000},"
	          "{\"kind\": \"payment\", \"provider\": \"stripe\", \"amount\": 999, "
	          "\"currency\": \"USD\", \"status\": \"failed\", \"reason\": \"card declined\", "
	          "\"created_at\": 1802700000000}]");
	/* the date in the user's zone: 10:00 UTC is the 12th in Tashkent too, the
	 * 13th nowhere; Pacific/Kiritimati (UTC+14) is already the 13th */
	bot_billing_text("en", "Asia/Tashkent", plans, cur, pays, out, sizeof(out));
	assert_non_null(strstr(out,
	                       "Your plan: Pro\nPro, monthly, paid with Telegram Stars.\n"
	                       "✅ Active: paid until 12.03.2027. It does not renew by itself"));
	assert_non_null(
	    strstr(out, "Payments and refunds:\n• 12.03.2027 — ⭐" NBSP "500 — refunded: asked\n"));
	assert_non_null(strstr(out, "— $9.99 — failed (Card (Stripe)): card declined"));
	assert_non_null(strstr(out, "— ⭐" NBSP "500 — paid with Telegram Stars\n"));
	bot_billing_text("en", "Pacific/Kiritimati", plans, cur, pays, out, sizeof(out));
	assert_non_null(strstr(out, "paid until 13.03.2027."));

	bot_billing_text("ru", "Europe/Moscow", plans, cur, pays, out, sizeof(out));
	assert_non_null(strstr(out, "Ваш тариф: Pro\nPro, помесячно, оплата: Звёзды Telegram.\n"
	                            "✅ Активна: оплачена до 12.03.2027."));
	assert_non_null(strstr(out, "возврат: asked"));
	json_decref(cur);

	/* each state says what it means */
	static const struct {
		const char *state, *provider, *lang, *want;
	} st[] = {
	    {"active", "stripe", "en", "✅ Active: renews on 12.03.2027."},
	    {"trialing", "stripe", "en", "🧪 Trial until 12.03.2027."},
	    {"canceled", "stars", "en",
	     "⏹ Cancelled: Pro stays until 12.03.2027, then your account moves to Free."},
	    {"past_due", "payme", "en", "⚠️ Payment overdue: pay by 15.03.2027 to keep Pro."},
	    {"past_due", "payme", "uz",
	     "⚠️ Toʻlov muddati oʻtgan: Pro tarifini saqlab qolish uchun 15.03.2027 gacha "
	     "toʻlang."},
	    {"expired", "click", "en", "Your Pro subscription ended on 14.03.2027."},
	};
	for (size_t i = 0; i < ARRAY_SIZE(st); i++) {
		snprintf(
		    want, sizeof(want),
		    "{\"plan\": \"free\", \"subscription\": {\"plan\": \"pro\", \"period\": "
		    "\"year\", \"state\": \"%s\", \"provider\": \"%s\", "
		    "\"current_period_end\": %lld, \"grace_until\": %lld, \"ended_at\": %lld}}",
		    st[i].state, st[i].provider, T_END, T_END + 3 * 86400000LL,
		    T_END + 2 * 86400000LL);
		cur = parse(want);
		bot_billing_text(st[i].lang, "UTC", plans, cur, pays, out, sizeof(out));
		if (!strstr(out, st[i].want))
			fail_msg("%s/%s: %s", st[i].state, st[i].lang, out);
		json_decref(cur);
	}
	json_decref(pays);
	json_decref(plans);
}

static const char *const kinds[] = {
    "activated", "renewed",          "payment_failed",   "reminder",
    "past_due",  "expired",          "cancel_requested", "reactivated",
    "refunded",  "refunded_partial", "refund_failed",
};

static void test_notice_texts(void **state)
{
	struct bot_notice n = {.plan = "Pro",
	                       .period = "month",
	                       .provider = "stars",
	                       .period_end = T_END,
	                       .grace_until = T_END + 3 * 86400000LL,
	                       .amount = 500,
	                       .currency = "XTR",
	                       .reason = "",
	                       .next_amount = 500,
	                       .remind_days = 3};
	char out[2000], en[2000];

	(void)state;
	n.kind = "activated";
	assert_true(bot_notice_text("en", "UTC", &n, out, sizeof(out)));
	assert_string_equal(out, "✅ Payment received: ⭐" NBSP "500. Pro is active until "
	                         "12.03.2027.\nIt does not renew by itself: I will remind you 3 "
	                         "days before it ends.");
	assert_true(bot_notice_text("ru", "UTC", &n, out, sizeof(out)));
	assert_string_equal(out,
	                    "✅ Оплата получена: ⭐" NBSP "500. Тариф Pro действует до 12.03.2027.\n"
	                    "Сам он не продлевается: я напомню за 3 дня до окончания.");
	n.kind = "reminder";
	assert_true(bot_notice_text("en", "UTC", &n, out, sizeof(out)));
	assert_string_equal(out, "⏰ Your Pro plan is paid until 12.03.2027. Payments through "
	                         "Telegram Stars do not renew by themselves: pay for the next "
	                         "period to keep the plan.\nThe next month costs ⭐" NBSP "500.");
	n.kind = "past_due";
	assert_true(bot_notice_text("uz", "UTC", &n, out, sizeof(out)));
	assert_non_null(strstr(out, "Pro tarifingiz keyingi davr uchun toʻlanmadi. U 15.03.2027 "
	                            "gacha amal qiladi"));
	n.kind = "payment_failed";
	n.provider = "payme";
	n.amount = 12000000;
	n.currency = "UZS";
	n.reason = "Insufficient funds";
	assert_true(bot_notice_text("en", "UTC", &n, out, sizeof(out)));
	assert_string_equal(out, "❌ Your payment of UZS" NBSP "120,000 through Payme did not go "
	                         "through: Insufficient funds\nTry again, or pay another way.");
	n.kind = "refunded";
	n.provider = "stars";
	n.amount = 500;
	n.currency = "XTR";
	n.reason = "";
	n.has_plan = false;
	assert_true(bot_notice_text("en", "UTC", &n, out, sizeof(out)));
	assert_string_equal(out,
	                    "↩️ ⭐" NBSP "500 was refunded to you.\nYour Pro plan has ended; "
	                    "your account is on Free.");
	n.kind = "refunded_partial";
	n.has_plan = true;
	n.reason = "goodwill";
	assert_true(bot_notice_text("en", "UTC", &n, out, sizeof(out)));
	assert_string_equal(out,
	                    "↩️ ⭐" NBSP "500 of your payment was refunded to you.\nReason: "
	                    "goodwill\nYour plan stays as it was.");
	n.kind = "refund_failed";
	n.reason = "expired_or_canceled_card";
	assert_true(bot_notice_text("en", "UTC", &n, out, sizeof(out)));
	assert_string_equal(out, "⚠️ The refund of ⭐" NBSP "500 did not reach you.\nReason: "
	                         "expired_or_canceled_card\nThe operator has been told and will "
	                         "refund you again or contact you.");
	n.kind = "activated";
	n.provider = "stripe";
	assert_true(bot_notice_text("en", "UTC", &n, out, sizeof(out)));
	assert_non_null(strstr(out, "It renews by itself through Stripe."));
	n.kind = "past_due";
	assert_true(bot_notice_text("en", "UTC", &n, out, sizeof(out)));
	assert_non_null(strstr(out, "Stripe could not renew your Pro plan"));
	n.kind = "no_such_kind";
	assert_false(bot_notice_text("en", "UTC", &n, out, sizeof(out)));

	/* every kind in every language: a text with its plan, translated */
	n.provider = "click";
	n.reason = "";
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		n.kind = kinds[k];
		assert_true(bot_notice_text("en", "UTC", &n, en, sizeof(en)));
		for (size_t l = 0; l < ARRAY_SIZE(langs); l++) {
			assert_true(bot_notice_text(langs[l], "UTC", &n, out, sizeof(out)));
			assert_true(strlen(out) > 20);
			/* payments and refunds are about money, the rest about the plan */
			if (strcmp(kinds[k], "refunded_partial") != 0 &&
			    strcmp(kinds[k], "refunded") != 0 &&
			    strcmp(kinds[k], "refund_failed") != 0 &&
			    strcmp(kinds[k], "payment_failed") != 0 && !strstr(out, "Pro"))
				fail_msg("%s/%s names no plan: %s", kinds[k], langs[l], out);
			if (l > 0 && strcmp(out, en) == 0)
				fail_msg("%s/%s is not translated: %s", kinds[k], langs[l], out);
		}
	}
}

static void test_plan_names(void **state)
{
	(void)state;
	assert_string_equal(bot_plan_name("ru", "Free"), "Бесплатный");
	assert_string_equal(bot_plan_name("uz", "Business"), "Biznes");
	assert_string_equal(bot_plan_name("en", "Pro"), "Pro");
	assert_string_equal(bot_plan_name("ru", "Team Max"), "Team Max");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buy_parse),     cmocka_unit_test(test_billing_callbacks),
	    cmocka_unit_test(test_stars_payload), cmocka_unit_test(test_stars_check),
	    cmocka_unit_test(test_plans_text),    cmocka_unit_test(test_billing_text),
	    cmocka_unit_test(test_notice_texts),  cmocka_unit_test(test_plan_names),
	};

	i18n_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
