/*
 * Unit tests of the pure parts of /stats in the bot (bot/stats.c): the
 * steps its buttons carry and the alerts' "Open report" data, the summary
 * and the top posts written from analytics' JSON views in each language
 * (≈ on approximate numbers, "not enough data yet" on undefined ones), the
 * best slot and its wording, the freshness, and the daily series of the
 * chart in the user's zone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bot/bot_impl.h"
#include "lib/i18n.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "stats/stats.h"

#define NBSP      "\xc2\xa0"
#define MINUTE_MS ((int64_t)60000)
#define HOUR_MS   (60 * MINUTE_MS)
#define DAY_MS    (24 * HOUR_MS)
/* 2025-11-24 16:00 UTC, when the fixture's members were collected */
#define AS_OF ((int64_t)1764000000000)

static const char *const langs[] = {"en", "ru", "uz"};

/* An overview as analytics_view writes it: subscribers exact, everything
 * built on the public page approximate, ER without forwards and comments. */
static const char *const OVERVIEW =
    "{\"channel\": {\"id\": 3, \"title\": \"Lab News\", \"username\": \"lab_news\"},"
    " \"subscribers\": {\"value\": 20000, \"approx\": false, \"n\": 2},"
    " \"growth\": {\"prev\": {\"value\": 19880, \"approx\": false},"
    "   \"close\": {\"value\": 20000, \"approx\": false},"
    "   \"net\": {\"value\": 120, \"approx\": false},"
    "   \"rate\": {\"value\": 0.6036, \"approx\": false}},"
    " \"views_per_post\": {\"value\": 1234.4, \"approx\": true, \"n\": 23},"
    " \"reach_24h\": {\"value\": 1101.2, \"approx\": true, \"n\": 20},"
    " \"err\": {\"value\": 6.172, \"approx\": true, \"n\": 23},"
    " \"er\": {\"value\": {\"value\": 1.436, \"approx\": true, \"n\": 23},"
    "   \"missing\": [\"forwards\", \"comments\"]},"
    " \"posts_per_day\": {\"value\": 3.2857, \"approx\": false, \"n\": 23},"
    " \"activity\": {\"status\": \"active\"},"
    " \"content_mix\": {\"text\": {\"posts\": 8, \"share\": {\"value\": 34.783}},"
    "   \"photo\": {\"posts\": 12, \"share\": {\"value\": 52.174}},"
    "   \"video\": {\"posts\": 3, \"share\": {\"value\": 13.043}}},"
    " \"posts\": 23,"
    " \"sources\": {\"members\": {\"source\": \"bot_api\", \"as_of\": 1764000000000},"
    "   \"views\": {\"source\": \"page\", \"as_of\": 1763999400000},"
    "   \"updates\": {\"source\": \"updates\", \"as_of\": null}}}";

/* A private channel after its first collection: one member count, no
 * views at all, one post known from the updates. */
static const char *const OVERVIEW_BARE =
    "{\"channel\": {\"id\": 4, \"title\": \"Secret\", \"username\": \"\"},"
    " \"subscribers\": {\"value\": 1500, \"approx\": false, \"n\": 1},"
    " \"growth\": {\"net\": {\"value\": null}, \"rate\": {\"value\": null}},"
    " \"views_per_post\": {\"value\": null, \"approx\": false, \"n\": 0},"
    " \"reach_24h\": {\"value\": null, \"approx\": false, \"n\": 0},"
    " \"err\": {\"value\": null, \"approx\": false, \"n\": 0},"
    " \"er\": {\"value\": {\"value\": null, \"approx\": false},"
    "   \"missing\": [\"reactions\", \"forwards\", \"comments\"]},"
    " \"posts_per_day\": {\"value\": 0.1429, \"approx\": false},"
    " \"activity\": {\"status\": \"low\"},"
    " \"content_mix\": {\"text\": {\"posts\": 1, \"share\": {\"value\": 100}}},"
    " \"posts\": 1,"
    " \"sources\": {\"members\": {\"as_of\": 1764000000000}, \"views\": {\"as_of\": null}}}";

/* Nothing collected yet. */
static const char *const OVERVIEW_EMPTY =
    "{\"channel\": {\"id\": 5, \"title\": \"New\", \"username\": \"new_one\"},"
    " \"subscribers\": {\"value\": null}, \"growth\": {}, \"posts\": 0,"
    " \"content_mix\": {},"
    " \"sources\": {\"members\": {\"as_of\": null}, \"views\": {\"as_of\": null}}}";

static const char *const POSTS =
    "{\"top_by_views\": ["
    "  {\"message_id\": 123, \"posted_at\": 1763985600000, \"views\": 5600, \"approx\": true,"
    "   \"er\": {\"value\": 2.1, \"approx\": true}},"
    "  {\"message_id\": 99, \"posted_at\": 1763900000000, \"views\": 1, \"approx\": false,"
    "   \"er\": {\"value\": null, \"approx\": false}}],"
    " \"top_by_er\": ["
    "  {\"message_id\": 77, \"posted_at\": 1763985600000, \"views\": 800, \"approx\": false,"
    "   \"er\": {\"value\": 4.25, \"approx\": false}}]}";

/* Tuesday 18:00 and Friday 09:00 tie on ER: Tuesday has more posts. */
static const char *const BEST =
    "{\"cells\": ["
    "  {\"weekday\": 1, \"hour\": 8, \"posts\": 4, \"er\": {\"value\": 1.0},"
    "   \"views_24h\": {\"value\": 9000}},"
    "  {\"weekday\": 2, \"hour\": 18, \"posts\": 3, \"er\": {\"value\": 2.5},"
    "   \"views_24h\": {\"value\": 100}},"
    "  {\"weekday\": 5, \"hour\": 9, \"posts\": 2, \"er\": {\"value\": 2.5},"
    "   \"views_24h\": {\"value\": 100}},"
    "  {\"weekday\": 6, \"hour\": 23, \"posts\": 9, \"er\": {\"value\": null},"
    "   \"views_24h\": {\"value\": 20000}}]}";

static json_t *parse(const char *s)
{
	json_t *v = NULL;
	struct err e = {0};

	if (json_parse(s, strlen(s), 32, &v, &e))
		fail_msg("fixture: %s", e.msg);
	return v;
}

static void has(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("%s\n--- lacks ---\n%s", text, part);
}

static void lacks(const char *text, const char *part)
{
	if (strstr(text, part))
		fail_msg("%s\n--- has ---\n%s", text, part);
}

static size_t count(const char *text, const char *part)
{
	size_t n = 0;

	for (const char *p = strstr(text, part); p; p = strstr(p + 1, part))
		n++;
	return n;
}

/* ---- the data on the buttons ------------------------------------------------ */

static void test_stats_arg_parse(void **state)
{
	static const struct {
		const char *in;
		char what;
		int64_t channel;
		int days;
	} ok[] = {
	    {"c.5", 'c', 5, 0},
	    {"s.5.7", 's', 5, 7},
	    {"b.12.30", 'b', 12, 30},
	    {"t.9.90", 't', 9, 90},
	    {"s.9223372036854775807.90", 's', INT64_MAX, 90},
	};
	static const char *const bad[] = {
	    "",
	    "s",
	    "s.5",
	    "s.5.14",
	    "s.5.0",
	    "x.5.7",
	    "c.5.7",
	    "s.05.7",
	    "s.-5.7",
	    "s.5.07",
	    "s.0.7",
	    "s..7",
	    "s.5.7.1",
	    "s.5.+7",
	    "ss.5.7",
	    "c.",
	    "c.9223372036854775808",
	    "s.5.7 ",
	    "S.5.7",
	    "c.1e3",
	};
	struct bot_stats_arg a;
	char out[BOT_CB_MAX + 1];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		assert_int_equal(bot_stats_arg_parse(str_c(ok[i].in), &a), 0);
		assert_int_equal(a.what, ok[i].what);
		assert_true(a.channel == ok[i].channel);
		assert_int_equal(a.days, ok[i].days);
		/* written back the one way it is read */
		bot_stats_arg_format(&a, out, sizeof(out));
		assert_string_equal(out, ok[i].in);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		a.what = 'x';
		if (bot_stats_arg_parse(str_c(bad[i]), &a) != -ERR_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(a.what, 0); /* nothing half-parsed */
	}
	a = (struct bot_stats_arg){'s', 5, 14};
	bot_stats_arg_format(&a, out, sizeof(out));
	assert_string_equal(out, "");
}

static void test_stats_callbacks(void **state)
{
	static const char *const bad[] = {
	    "alert:report:4", "1:rpt:",     "1:rpt:0", "1:rpt:-3",   "1:rpt:4x",   "1:rpt: 4",
	    "1:st:s.5.14",    "1:st:q.5.7", "1:st",    "2:st:s.5.7", "1:st:c.5.7", "1:rpt:4:5",
	};
	char data[BOT_CB_MAX + 1];
	struct bot_cb cb;

	(void)state;
	assert_int_equal(bot_cb_encode(data, BOT_CB_STATS, "s.42.30", 0), 0);
	assert_string_equal(data, "1:st:s.42.30");
	assert_int_equal(bot_cb_parse(data, strlen(data), &cb), 0);
	assert_int_equal(cb.action, BOT_CB_STATS);
	assert_string_equal(cb.arg, "s.42.30");
	assert_int_equal(bot_cb_encode(data, BOT_CB_STATS, "s.42.31", 0), -ERR_INVALID);

	/* the alerts' Open report button: the channel's 7-day summary */
	assert_int_equal(bot_cb_parse("1:rpt:42", 8, &cb), 0);
	assert_int_equal(cb.action, BOT_CB_REPORT);
	assert_true(cb.id == 42);
	assert_int_equal(bot_cb_encode(data, BOT_CB_REPORT, NULL, 42), 0);
	assert_string_equal(data, "1:rpt:42");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cb.action = BOT_CB_MENU;
		if (bot_cb_parse(bad[i], strlen(bad[i]), &cb) != -ERR_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(cb.action, 0);
	}
}

/* ---- the best slot --------------------------------------------------------------- */

static void test_best_slot(void **state)
{
	json_t *best = parse(BEST), *views = NULL, *none = parse("{\"cells\": []}");
	int wd = -1, hour = -1;
	char out[128];

	(void)state;
	assert_true(bot_stats_best_slot(best, &wd, &hour));
	assert_int_equal(wd, 1); /* Tuesday: the tie goes to more posts */
	assert_int_equal(hour, 18);

	/* with no ER anywhere, the 24-hour views decide */
	views = parse("{\"cells\": [{\"weekday\": 1, \"hour\": 8, \"posts\": 4, \"er\": "
	              "{\"value\": null}, \"views_24h\": {\"value\": 900}}, {\"weekday\": 7, "
	              "\"hour\": 23, \"posts\": 1, \"er\": {\"value\": null}, \"views_24h\": "
	              "{\"value\": 901}}, {\"weekday\": 9, \"hour\": 1, \"posts\": 1, "
	              "\"views_24h\": {\"value\": 5000}}]}");
	assert_true(bot_stats_best_slot(views, &wd, &hour));
	assert_int_equal(wd, 6);
	assert_int_equal(hour, 23);
	assert_false(bot_stats_best_slot(none, &wd, &hour));
	assert_false(bot_stats_best_slot(NULL, &wd, &hour));

	bot_stats_slot_text("en", 1, 18, out, sizeof(out));
	assert_string_equal(out, "Tuesday 18:00–19:00");
	bot_stats_slot_text("ru", 1, 18, out, sizeof(out));
	assert_string_equal(out, "вторник 18:00–19:00");
	bot_stats_slot_text("uz", 1, 18, out, sizeof(out));
	assert_string_equal(out, "seshanba 18:00–19:00");
	bot_stats_slot_text("en", 6, 23, out, sizeof(out));
	assert_string_equal(out, "Sunday 23:00–00:00");
	bot_stats_slot_text("ru", 0, 0, out, sizeof(out));
	assert_string_equal(out, "понедельник 00:00–01:00");
	json_decref(best);
	json_decref(views);
	json_decref(none);
}

/* ---- the summary ---------------------------------------------------------------- */

static const char *const POSTS_NONE = "{\"top_by_views\": [], \"top_by_er\": []}";
static const char *const BEST_NONE = "{\"cells\": []}";

static void summary_of(const char *lang, const char *overview, const char *posts, const char *best,
                       int64_t now, char *out, size_t outsz)
{
	json_t *o = parse(overview), *p = parse(posts), *b = parse(best);
	struct bot_stats_in in = {.lang = lang,
	                          .zone = "Europe/London",
	                          .now_ms = now,
	                          .days = 7,
	                          .overview = o,
	                          .best = b,
	                          .posts = p};

	bot_stats_text(&in, out, outsz);
	json_decref(o);
	json_decref(p);
	json_decref(b);
}

static void summary(const char *lang, const char *overview, int64_t now, char *out, size_t outsz)
{
	if (strcmp(overview, OVERVIEW) == 0)
		summary_of(lang, overview, POSTS, BEST, now, out, outsz);
	else
		summary_of(lang, overview, POSTS_NONE, BEST_NONE, now, out, outsz);
}

static void test_summary_en(void **state)
{
	char out[4000];

	(void)state;
	summary("en", OVERVIEW, AS_OF + 12 * MINUTE_MS + 5000, out, sizeof(out));
	has(out, "📊 Lab News · last 7 days\n\n");
	/* exact numbers are plain, page numbers carry ≈ */
	has(out, "👥 Subscribers: 20,000\n");
	has(out, "📈 Growth: +120 (+0.60%)\n");
	has(out, "👁 Views per post: ≈1,234\n");
	has(out, "⏱ Reach in 24 h: ≈1,101\n");
	has(out, "📣 ERR: ≈6.2%\n");
	has(out, "❤️ ER: ≈1.4% (only reactions)\n");
	has(out, "🗓 Posts: 23 (3.3 a day) · active\n");
	has(out, "🕒 Best time to post: Tuesday 18:00–19:00\n");
	has(out, "🏆 Top post: ≈5,600 views · ER ≈2.1% · 24.11.2025 12:00 · "
	         "https://t.me/lab_news/123\n");
	has(out, "🧩 Content: photos 52%, texts 35%, videos 13%\n");
	has(out, "≈ approximate: the public page rounds counts above 999.");
	has(out, "🔄 Updated 12 min ago.");
	lacks(out, "not enough data yet");
	lacks(out, "private");
}

static void test_summary_undefined(void **state)
{
	char out[4000];

	(void)state;
	/* a private channel: no views, so every number built on them says so,
	 * and none of them pretends to be 0 */
	summary("en", OVERVIEW_BARE, AS_OF + 3 * HOUR_MS, out, sizeof(out));
	has(out, "📊 Secret · last 7 days");
	has(out, "👥 Subscribers: 1,500\n");
	has(out, "📈 Growth: not enough data yet\n");
	has(out, "👁 Views per post: not enough data yet\n");
	has(out, "⏱ Reach in 24 h: not enough data yet\n");
	has(out, "📣 ERR: not enough data yet\n");
	has(out, "❤️ ER: not enough data yet\n");
	has(out, "🗓 Posts: 1 (0.1 a day) · low activity\n");
	has(out, "🧩 Content: texts 100%\n");
	has(out, "🕒 Best time to post: not enough data yet\n");
	has(out, "🏆 Top post: not enough data yet\n");
	has(out, "🔒 Views come from the channel's public page");
	has(out, "🔄 Updated 3 h ago.");
	lacks(out, "≈");
	lacks(out, ": 0\n");
	/* the best time and the top post come from those views */
	summary_of("en", OVERVIEW_BARE, POSTS_NONE, BEST, AS_OF, out, sizeof(out));
	has(out, "🕒 Best time to post: Tuesday 18:00–19:00\n");

	/* nothing collected: no data */
	{
		json_t *o = parse(OVERVIEW_EMPTY), *full = parse(OVERVIEW),
		       *bare = parse(OVERVIEW_BARE);

		assert_false(bot_stats_has_data(o));
		assert_true(bot_stats_has_data(full));
		assert_true(bot_stats_has_data(bare));
		json_decref(o);
		json_decref(full);
		json_decref(bare);
	}
	summary("en", OVERVIEW_EMPTY, AS_OF, out, sizeof(out));
	has(out, "👥 Subscribers: not enough data yet");
	has(out, "🧩 Content: not enough data yet");
	has(out, "🔄 Nothing collected yet.");
}

static void test_summary_languages(void **state)
{
	char out[4000], en[4000];

	(void)state;
	summary("ru", OVERVIEW, AS_OF + 12 * MINUTE_MS, out, sizeof(out));
	has(out, "📊 Lab News · последние 7 дней\n\n");
	has(out, "👥 Подписчики: 20" NBSP "000\n");
	has(out, "📈 Прирост: +120 (+0,60" NBSP "%)\n");
	has(out, "👁 Просмотров на пост: ≈1" NBSP "234\n");
	has(out, "📣 ERR: ≈6,2" NBSP "%\n");
	has(out, "❤️ ER: ≈1,4" NBSP "% (только реакции)\n");
	has(out, "🗓 Посты: 23 (3,3 в день) · активен\n");
	has(out, "🕒 Лучшее время для публикации: вторник 18:00–19:00\n");
	has(out, "🏆 Лучший пост: ≈5" NBSP "600 просмотров · ER ≈2,1" NBSP "%");
	has(out,
	    "🧩 Контент: фото 52" NBSP "%, тексты 35" NBSP "%, видео 13" NBSP "%\n");
	has(out, "≈ приблизительно");
	has(out, "🔄 Обновлено 12 мин назад.");

	summary("uz", OVERVIEW, AS_OF + 12 * MINUTE_MS, out, sizeof(out));
	has(out, "📊 Lab News · oxirgi 7 kun\n\n");
	has(out, "👥 Obunachilar: 20" NBSP "000\n");
	has(out, "📈 Oʻsish: +120 (+0,60%)\n");
	has(out, "📣 ERR: ≈6,2%\n");
	has(out, "🕒 Post joylash uchun eng yaxshi vaqt: seshanba 18:00–19:00\n");
	has(out, "🔄 12 daqiqa oldin yangilandi.");

	summary("ru", OVERVIEW_BARE, AS_OF, out, sizeof(out));
	assert_int_equal(count(out, "пока мало данных"), 7);
	summary("uz", OVERVIEW_BARE, AS_OF, out, sizeof(out));
	assert_int_equal(count(out, "hali maʼlumot yetarli emas"), 7);

	/* every language says all of it in its own words */
	summary("en", OVERVIEW, AS_OF, en, sizeof(en));
	for (size_t l = 1; l < ARRAY_SIZE(langs); l++) {
		summary(langs[l], OVERVIEW, AS_OF, out, sizeof(out));
		lacks(out, "Subscribers");
		lacks(out, "Best time");
		lacks(out, "approximate");
		assert_int_equal(count(out, "\n"), count(en, "\n"));
		assert_int_equal(count(out, "≈"), count(en, "≈"));
	}
}

static void test_summary_negative_growth(void **state)
{
	json_t *o = parse(OVERVIEW), *g = json_object_get(o, "growth");
	json_t *p = parse(POSTS), *b = parse(BEST);
	struct bot_stats_in in = {.lang = "en",
	                          .zone = "UTC",
	                          .now_ms = AS_OF + 2 * DAY_MS,
	                          .days = 30,
	                          .overview = o,
	                          .best = b,
	                          .posts = p};
	char out[4000];

	(void)state;
	json_object_set_new(g, "net", json_pack("{s:i, s:b}", "value", -35, "approx", 0));
	json_object_set_new(g, "rate", json_pack("{s:f, s:b}", "value", -0.00001, "approx", 0));
	bot_stats_text(&in, out, sizeof(out));
	/* a rate that rounds to zero has no sign at all */
	has(out, "📈 Growth: -35 (0.00%)\n");
	has(out, "last 30 days");
	/* older than a day: the time of the last collection, in the zone */
	has(out, "🔄 Last collected on 24.11.2025 16:00.");
	json_object_set_new(g, "rate", json_pack("{s:n}", "value"));
	bot_stats_text(&in, out, sizeof(out));
	has(out, "📈 Growth: -35\n");
	json_decref(o);
	json_decref(p);
	json_decref(b);
}

static void test_fresh_text(void **state)
{
	char out[128];

	(void)state;
	bot_stats_fresh_text("en", "UTC", AS_OF + 59000, AS_OF, out, sizeof(out));
	assert_string_equal(out, "🔄 Updated just now.");
	bot_stats_fresh_text("en", "UTC", AS_OF + 60000, AS_OF, out, sizeof(out));
	assert_string_equal(out, "🔄 Updated 1 min ago.");
	bot_stats_fresh_text("en", "UTC", AS_OF + 23 * HOUR_MS, AS_OF, out, sizeof(out));
	assert_string_equal(out, "🔄 Updated 23 h ago.");
	bot_stats_fresh_text("ru", "Europe/Moscow", AS_OF + DAY_MS, AS_OF, out, sizeof(out));
	assert_string_equal(out, "🔄 Последний сбор: 24.11.2025 19:00.");
	bot_stats_fresh_text("uz", "UTC", AS_OF, 0, out, sizeof(out));
	assert_string_equal(out, "🔄 Hali hech narsa yigʻilmagan.");
}

static void test_top_text(void **state)
{
	json_t *o = parse(OVERVIEW), *p = parse(POSTS), *b = parse(BEST);
	json_t *bare = parse(OVERVIEW_BARE),
	       *none = parse("{\"top_by_views\": [], \"top_by_er\": []}");
	struct bot_stats_in in = {.lang = "en",
	                          .zone = "Asia/Tashkent",
	                          .now_ms = AS_OF,
	                          .days = 90,
	                          .overview = o,
	                          .best = b,
	                          .posts = p};
	char out[4000];

	(void)state;
	bot_stats_top_text(&in, out, sizeof(out));
	has(out, "🏆 Top posts of Lab News, last 90 days\n");
	has(out, "\nBy views:\n1. ≈5,600 views · ER ≈2.1% · 24.11.2025 17:00 · "
	         "https://t.me/lab_news/123\n2. 1 view · ");
	has(out, "https://t.me/lab_news/99\n");
	has(out,
	    "\nBy ER:\n1. ER 4.2% · 800 views · 24.11.2025 17:00 · https://t.me/lab_news/77\n");
	has(out, "≈ approximate");
	in.lang = "ru";
	bot_stats_top_text(&in, out, sizeof(out));
	has(out, "По просмотрам:\n1. ≈5" NBSP "600 просмотров");
	has(out, "2. 1 просмотр · ");
	/* a private channel's posts have no link; no posts, no list */
	in.lang = "en";
	in.overview = bare;
	bot_stats_top_text(&in, out, sizeof(out));
	lacks(out, "https://");
	in.posts = none;
	bot_stats_top_text(&in, out, sizeof(out));
	assert_int_equal(count(out, "not enough data yet"), 2);
	json_decref(o);
	json_decref(p);
	json_decref(b);
	json_decref(bare);
	json_decref(none);
}

/* ---- the chart's daily series -------------------------------------------------------- */

static void test_daily(void **state)
{
	/* Berlin: clocks go forward at 02:00 on Sunday 29 March 2026 */
	const int64_t d27 = 1774566000000; /* 2026-03-27 00:00 CET (23:00 UTC on the 26th) */
	struct stats_post posts[] = {
	    {.message_id = 1, .posted_at_ms = d27 - HOUR_MS, .views = 1000}, /* before: out */
	    {.message_id = 2, .posted_at_ms = d27 + 10 * HOUR_MS, .views = 100, .approx = true},
	    {.message_id = 3, .posted_at_ms = d27 + 23 * HOUR_MS + 59 * MINUTE_MS, .views = 50},
	    {.message_id = 4, .posted_at_ms = d27 + 2 * DAY_MS + 5 * HOUR_MS, .views = -1},
	    {.message_id = 5,
	     .posted_at_ms = d27 + 3 * DAY_MS - HOUR_MS + 30 * MINUTE_MS,
	     .views = 7},
	};
	struct bot_stats_day days[10];
	int64_t from = d27, to = d27 + 4 * DAY_MS - HOUR_MS; /* to 31 March 00:00 CEST */
	size_t n;

	(void)state;
	n = bot_stats_daily(posts, ARRAY_SIZE(posts), from, to, "Europe/Berlin", true, days,
	                    ARRAY_SIZE(days));
	assert_int_equal(n, 4); /* 27, 28, 29, 30 March */
	assert_true(days[0].at_ms == d27);
	assert_true(days[0].value == 150 && days[0].approx);
	assert_true(days[1].at_ms == d27 + DAY_MS);
	assert_true(days[1].value == 0 && !days[1].approx); /* no posts: a real 0 */
	/* the 29th has 23 hours; the post of unknown views is left out */
	assert_true(days[2].at_ms == d27 + 2 * DAY_MS);
	assert_true(days[2].value == 0);
	assert_true(days[3].at_ms == d27 + 3 * DAY_MS - HOUR_MS);
	assert_true(days[3].value == 7);

	/* posts per day count every post */
	n = bot_stats_daily(posts, ARRAY_SIZE(posts), from, to, "Europe/Berlin", false, days,
	                    ARRAY_SIZE(days));
	assert_int_equal(n, 4);
	assert_true(days[0].value == 2 && days[2].value == 1 && days[3].value == 1);

	/* bounds, no posts, a zone ICU does not know */
	assert_int_equal(
	    bot_stats_daily(posts, ARRAY_SIZE(posts), from, to, "Europe/Berlin", true, days, 2), 2);
	assert_int_equal(bot_stats_daily(posts, 0, from, to, "UTC", true, days, 10), 0);
	assert_int_equal(
	    bot_stats_daily(posts, ARRAY_SIZE(posts), from, to, "Mars/Base", true, days, 10), 0);
	assert_int_equal(bot_stats_daily(posts, ARRAY_SIZE(posts), to, from, "UTC", true, days, 10),
	                 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stats_arg_parse),
	    cmocka_unit_test(test_stats_callbacks),
	    cmocka_unit_test(test_best_slot),
	    cmocka_unit_test(test_summary_en),
	    cmocka_unit_test(test_summary_undefined),
	    cmocka_unit_test(test_summary_languages),
	    cmocka_unit_test(test_summary_negative_growth),
	    cmocka_unit_test(test_fresh_text),
	    cmocka_unit_test(test_top_text),
	    cmocka_unit_test(test_daily),
	};

	i18n_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
