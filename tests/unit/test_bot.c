/*
 * Unit tests of the bot's pure parts: callback data, update routing,
 * commands, channel references, the time zone search, message text
 * truncation, and composing posts: entities to HTML, URL button lines, typed
 * local times and plain excerpts.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bot/bot_impl.h"
#include "lib/mem.h"
#include "lib/tz.h"
#include "posts/html.h"

/* ---- callback data ---------------------------------------------------- */

static void test_cb_round_trip(void **state)
{
	static const struct {
		enum bot_cb_action a;
		const char *arg;
		int64_t id;
		const char *want;
	} cases[] = {
	    {BOT_CB_LANG, "ru", 0, "1:lang:ru"},
	    {BOT_CB_TZ, "America/Argentina/Buenos_Aires", 0, "1:tz:America/Argentina/Buenos_Aires"},
	    {BOT_CB_TZ, "UTC", 0, "1:tz:UTC"},
	    {BOT_CB_TZ_SEARCH, NULL, 0, "1:tzs"},
	    {BOT_CB_CONNECT, NULL, -1001234567890LL, "1:cx:-1001234567890"},
	    {BOT_CB_IGNORE, NULL, -1001234567890LL, "1:ci:-1001234567890"},
	    {BOT_CB_CHECK, NULL, 42, "1:chk:42"},
	    {BOT_CB_REMOVE, NULL, 7, "1:rm:7"},
	    {BOT_CB_REMOVE_YES, NULL, 7, "1:rmy:7"},
	    {BOT_CB_REMOVE_NO, NULL, 7, "1:rmn:7"},
	    {BOT_CB_SETTINGS, "tz", 0, "1:set:tz"},
	    {BOT_CB_MENU, "connect", 0, "1:menu:connect"},
	    {BOT_CB_MENU, "queue", 0, "1:menu:queue"},
	    {BOT_CB_POST, "1h", 0, "1:pst:1h"},
	    {BOT_CB_POST, "repeat", 0, "1:pst:repeat"},
	    {BOT_CB_POST, "time", 0, "1:pst:time"},
	    {BOT_CB_POST_CH, NULL, 12, "1:pch:12"},
	    {BOT_CB_Q_EDIT, NULL, 5, "1:qe:5"},
	    {BOT_CB_Q_CANCEL, NULL, 5, "1:qc:5"},
	    {BOT_CB_Q_CANCEL_YES, NULL, 5, "1:qcy:5"},
	    {BOT_CB_Q_CANCEL_NO, NULL, 5, "1:qcn:5"},
	    {BOT_CB_RESEND, NULL, 9007199254740993LL, "1:dr:9007199254740993"},
	    {BOT_CB_PUBLISHED, NULL, 77, "1:dp:77"},
	    {BOT_CB_ALERT, "list", 0, "1:al:list"},
	    {BOT_CB_ALERT, "k.milestone", 0, "1:al:k.milestone"},
	    {BOT_CB_ALERT, "v.0.5", 0, "1:al:v.0.5"},
	    {BOT_CB_ALERT, "mute.12", 0, "1:al:mute.12"},
	    {BOT_CB_REPORT, NULL, 3, "1:rpt:3"},
	};
	char data[BOT_CB_MAX + 1];
	struct bot_cb cb;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(bot_cb_encode(data, cases[i].a, cases[i].arg, cases[i].id), 0);
		assert_string_equal(data, cases[i].want);
		assert_true(strlen(data) <= BOT_CB_MAX);
		assert_int_equal(bot_cb_parse(data, strlen(data), &cb), 0);
		assert_int_equal(cb.action, cases[i].a);
		assert_true(cb.id == cases[i].id);
		assert_string_equal(cb.arg, cases[i].arg && cases[i].id == 0 ? cases[i].arg : "");
	}
}

static void test_cb_rejects_tampering(void **state)
{
	static const char *const bad[] = {
	    "",
	    "1",
	    "1:",
	    "2:lang:en",         /* another version */
	    "lang:en",           /* no version */
	    "1:lang",            /* missing argument */
	    "1:lang:",           /* empty argument */
	    "1:lang:de",         /* unsupported language */
	    "1:lang:english",    /* too long for a language */
	    "1:tz:Mars/Olympus", /* not a zone */
	    "1:tz:Europe/Berlin:x",
	    "1:tz:../../etc",
	    "1:tz:Europe/Berlin\n",
	    "1:tzs:x", /* an argument where none belongs */
	    "1:cx:0",  /* chat 0 does not exist */
	    "1:cx:abc",
	    "1:cx:+5",
	    "1:cx:99999999999999999999",
	    "1:chk:-3", /* channel ids are positive */
	    "1:chk:0",
	    "1:chk:3x",
	    "1:rm: 3",
	    "1:set:name",
	    "1:menu:admin",
	    "1:drop:1", /* unknown action */
	    "1:LANG:en",
	    "1:lang:en:extra",
	    "1:pst",       /* a step is required */
	    "1:pst:later", /* not a step */
	    "1:pst:GO",
	    "1:pch:-5", /* channel ids are positive */
	    "1:qe:0",
	    "1:qc:07", /* not canonical */
	    "1:dr:",
	    "1:dp:1.5",
	    "1:menu:posts",
	    "1:al",          /* a step is required */
	    "1:al:remove",   /* not a step */
	    "1:al:k.spikes", /* not a kind */
	    "1:al:mute.0",   /* rule ids are positive */
	    "1:al:del.-4",
	    "1:al:ch.07", /* not canonical */
	    "1:al:v.",    /* not a number */
	    "1:al:v.1,5",
	    "1:al:v.05",
	    "1:al:v.1.2345", /* more than 3 decimals */
	    "1:al:v.1 000",
	    "1:al:unmute.",
	    "1:rpt:0",
	    "1:rpt:x",
	};
	char longdata[BOT_CB_MAX + 2];
	struct bot_cb cb;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cb.action = BOT_CB_MENU;
		assert_int_equal(bot_cb_parse(bad[i], strlen(bad[i]), &cb), -ERR_INVALID);
		assert_int_equal(cb.action, 0); /* left zeroed: nothing half-parsed */
	}
	/* 65 bytes: one more than Telegram allows */
	memset(longdata, '1', sizeof(longdata) - 1);
	memcpy(longdata, "1:chk:", 6);
	longdata[BOT_CB_MAX + 1] = '\0';
	assert_int_equal(bot_cb_parse(longdata, BOT_CB_MAX + 1, &cb), -ERR_INVALID);
	/* a NUL inside the data */
	assert_int_equal(bot_cb_parse("1:chk:4\0"
	                              "2",
	                              9, &cb),
	                 -ERR_INVALID);
	assert_int_equal(bot_cb_parse(NULL, 0, &cb), -ERR_INVALID);
}

/* The steps of /alerts on buttons, and numbers as people type them. */
static void test_alert_steps(void **state)
{
	static const char *const bad[] = {"",     "abc", "-5",          "5.", "1.2345",  "1e3",
	                                  "1  0", "5 %", "12345678901", ".5", "1 000 ,5"};
	struct bot_alert_cb al;
	double v = 0;
	bool integer = false;

	(void)state;
	assert_int_equal(bot_alert_parse(str_c("ch.42"), &al), 0);
	assert_int_equal(al.verb, BOT_AL_CHANNEL);
	assert_int_equal(al.id, 42);
	assert_int_equal(bot_alert_parse(str_c("k.growth"), &al), 0);
	assert_int_equal(al.verb, BOT_AL_KIND);
	assert_int_equal(al.kind, 2); /* ALERT_GROWTH */
	assert_int_equal(bot_alert_parse(str_c("v.168"), &al), 0);
	assert_int_equal(al.verb, BOT_AL_VALUE);
	assert_true(al.value == 168);
	assert_int_equal(bot_alert_parse(str_c("unmute.9"), &al), 0);
	assert_int_equal(al.verb, BOT_AL_UNMUTE);
	assert_int_equal(al.id, 9);
	assert_int_equal(bot_alert_parse(str_c("add"), &al), 0);
	assert_int_equal(al.verb, BOT_AL_ADD);
	assert_int_equal(bot_alert_parse(str_c("del.x"), &al), -ERR_INVALID);
	assert_int_equal(al.verb, 0);

	assert_int_equal(bot_parse_number(str_c(" 24 "), &v, &integer), 0);
	assert_true(v == 24 && integer);
	assert_int_equal(bot_parse_number(str_c("2,5"), &v, &integer), 0);
	assert_true(v == 2.5 && !integer);
	assert_int_equal(bot_parse_number(str_c("0.125"), &v, &integer), 0);
	assert_true(fabs(v - 0.125) < 1e-12);
	assert_int_equal(bot_parse_number(str_c("10 000"), &v, &integer), 0);
	assert_true(v == 10000 && integer);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (bot_parse_number(str_c(bad[i]), &v, &integer) == 0)
			fail_msg("\"%s\" was read as %g", bad[i], v);
}

static void test_cb_encode_bounds(void **state)
{
	char data[BOT_CB_MAX + 1], arg[100];

	(void)state;
	memset(arg, 'a', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = '\0';
	assert_int_equal(bot_cb_encode(data, BOT_CB_TZ, arg, 0), -ERR_TOO_BIG);
	assert_string_equal(data, "");
	/* encode refuses what parse would refuse */
	assert_int_equal(bot_cb_encode(data, BOT_CB_LANG, "de", 0), -ERR_INVALID);
	assert_int_equal(bot_cb_encode(data, BOT_CB_CHECK, NULL, 0), -ERR_INVALID);
	assert_int_equal(bot_cb_encode(data, BOT_CB__COUNT, NULL, 1), -ERR_INVALID);
	/* the largest ids still fit */
	assert_int_equal(bot_cb_encode(data, BOT_CB_REMOVE_YES, NULL, INT64_MAX), 0);
	assert_true(strlen(data) <= BOT_CB_MAX);
}

/* ---- update routing --------------------------------------------------- */

static int route(const char *text, struct bot_route *r)
{
	json_error_t je;
	json_t *u = json_loads(text, 0, &je);
	int rc;

	assert_non_null(u);
	rc = bot_route_update(u, r, NULL);
	json_decref(u);
	return rc;
}

static void test_route_chat_keys(void **state)
{
	struct bot_route r;

	(void)state;
	assert_int_equal(route("{\"update_id\":5,\"message\":{\"message_id\":1,"
	                       "\"chat\":{\"id\":1001,\"type\":\"private\"},"
	                       "\"from\":{\"id\":1001},\"text\":\"hi\"}}",
	                       &r),
	                 0);
	assert_true(r.update_id == 5);
	assert_int_equal(r.kind, BOT_UPD_MESSAGE);
	assert_true(r.chat_key == 1001);
	assert_int_equal(r.lane, bot_lane_of(1001));

	/* a button press belongs to the person who pressed it */
	assert_int_equal(route("{\"update_id\":6,\"callback_query\":{\"id\":\"q\","
	                       "\"from\":{\"id\":1001},\"message\":{\"chat\":{\"id\":-5}},"
	                       "\"data\":\"1:tzs\"}}",
	                       &r),
	                 0);
	assert_int_equal(r.kind, BOT_UPD_CALLBACK);
	assert_true(r.chat_key == 1001);

	/* the bot promoted in a channel: the lane of the promoting user */
	assert_int_equal(route("{\"update_id\":7,\"my_chat_member\":{"
	                       "\"chat\":{\"id\":-100200,\"type\":\"channel\"},"
	                       "\"from\":{\"id\":1001},"
	                       "\"new_chat_member\":{\"status\":\"administrator\"}}}",
	                       &r),
	                 0);
	assert_int_equal(r.kind, BOT_UPD_MY_MEMBER);
	assert_true(r.chat_key == 1001);

	/* blocked in private: the user's chat */
	assert_int_equal(route("{\"update_id\":8,\"my_chat_member\":{"
	                       "\"chat\":{\"id\":1002,\"type\":\"private\"},"
	                       "\"from\":{\"id\":1002},"
	                       "\"new_chat_member\":{\"status\":\"kicked\"}}}",
	                       &r),
	                 0);
	assert_true(r.chat_key == 1002);

	assert_int_equal(route("{\"update_id\":9,\"channel_post\":{\"message_id\":3,"
	                       "\"chat\":{\"id\":-100200,\"type\":\"channel\"}}}",
	                       &r),
	                 0);
	assert_int_equal(r.kind, BOT_UPD_CHANNEL_POST);
	assert_true(r.chat_key == -100200);

	/* a type Herald does not handle is still an update, on lane of key 0 */
	assert_int_equal(route("{\"update_id\":10,\"poll\":{\"id\":\"p\"}}", &r), 0);
	assert_int_equal(r.kind, BOT_UPD_OTHER);
	assert_true(r.chat_key == 0);
	assert_int_equal(r.lane, bot_lane_of(0));
}

static void test_route_rejects_non_updates(void **state)
{
	static const char *const bad[] = {
	    "[]",
	    "{}",
	    "{\"update_id\":\"5\"}",
	    "{\"update_id\":-1,\"message\":{}}",
	    "{\"update_id\":1.5}",
	    "{\"update_id\":null}",
	    "\"update\"",
	};
	struct err e = {0};
	struct bot_route r;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_error_t je;
		json_t *u = json_loads(bad[i], JSON_DECODE_ANY, &je);

		assert_non_null(u);
		assert_int_equal(bot_route_update(u, &r, &e), -ERR_INVALID);
		assert_int_equal(e.code, ERR_INVALID);
		json_decref(u);
	}
}

static void test_lanes_spread(void **state)
{
	unsigned seen[BOT_LANES] = {0};

	(void)state;
	for (int64_t id = 1000; id < 1400; id++) {
		unsigned l = bot_lane_of(id);

		assert_true(l < BOT_LANES);
		assert_int_equal(l, bot_lane_of(id)); /* stable */
		seen[l]++;
	}
	for (unsigned i = 0; i < BOT_LANES; i++)
		assert_true(seen[i] > 50); /* neighbouring ids do not pile up on one lane */
	assert_true(bot_lane_of(-1001234567890LL) < BOT_LANES);
}

/* ---- commands --------------------------------------------------------- */

static void test_commands(void **state)
{
	struct bot_cmd c;

	(void)state;
	assert_true(bot_parse_command("/start", NULL, &c));
	assert_string_equal(c.name, "start");
	assert_int_equal(c.arg.len, 0);

	assert_true(bot_parse_command("/START@Herald_Bot  deep-link ", "herald_bot", &c));
	assert_string_equal(c.name, "start");
	assert_true(str_eqc(c.arg, "deep-link"));

	/* addressed to another bot: not ours */
	assert_false(bot_parse_command("/start@other_bot", "herald_bot", &c));

	assert_true(bot_parse_command("/connect   @my_channel\n", NULL, &c));
	assert_string_equal(c.name, "connect");
	assert_true(str_eqc(c.arg, "@my_channel"));

	assert_false(bot_parse_command("hello /start", NULL, &c));
	assert_false(bot_parse_command("", NULL, &c));
	assert_false(bot_parse_command(NULL, NULL, &c));

	/* malformed names are commands with no name: the unknown-command hint */
	assert_true(bot_parse_command("/", NULL, &c));
	assert_string_equal(c.name, "");
	assert_true(bot_parse_command("/a-b", NULL, &c));
	assert_string_equal(c.name, "");
	assert_true(bot_parse_command("/привет", NULL, &c));
	assert_string_equal(c.name, "");
	assert_true(bot_parse_command("/abcdefghijklmnopqrstuvwxyz0123456789", NULL, &c));
	assert_string_equal(c.name, "");
	assert_true(bot_parse_command("/abcdefghijklmnopqrstuvwxyz012345", NULL, &c));
	assert_string_equal(c.name, "abcdefghijklmnopqrstuvwxyz012345"); /* 32: the most */
}

static void test_channel_refs(void **state)
{
	static const char *const good[] = {"@mychannel",      "mychannel",
	                                   "  @mychannel ",   "https://t.me/mychannel",
	                                   "t.me/mychannel/", "http://t.me/mychannel"};
	static const char *const bad[] = {"",          "@",
	                                  "@abc",      "@my-channel",
	                                  "@1channel", "https://example.org/mychannel",
	                                  "0",         "-",
	                                  "12ab",      "@a23456789012345678901234567890123"};
	char user[64];
	int64_t chat;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		assert_int_equal(bot_parse_channel_ref(str_c(good[i]), user, &chat), 0);
		assert_string_equal(user, "mychannel");
		assert_true(chat == 0);
	}
	assert_int_equal(bot_parse_channel_ref(str_c("-1001234567890"), user, &chat), 0);
	assert_true(chat == -1001234567890LL);
	assert_string_equal(user, "");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(bot_parse_channel_ref(str_c(bad[i]), user, &chat), -ERR_INVALID);
}

/* ---- time zones ------------------------------------------------------- */

static struct bot_zones *zones;

static int zones_setup(void **state)
{
	(void)state;
	zones = bot_zones_new();
	return zones ? 0 : -1;
}

static int zones_teardown(void **state)
{
	(void)state;
	bot_zones_free(zones);
	zones = NULL;
	return 0;
}

static size_t search(const char *q, const char **out)
{
	return bot_zones_search(zones, q, out, BOT_SEARCH_RESULT);
}

static void test_zone_search_exact(void **state)
{
	const char *out[BOT_SEARCH_RESULT];

	(void)state;
	assert_int_equal(search("Tashkent", out), 1);
	assert_string_equal(out[0], "Asia/Tashkent");
	assert_int_equal(search("new york", out), 1);
	assert_string_equal(out[0], "America/New_York");
	assert_int_equal(search("  NEW_YORK ", out), 1);
	assert_string_equal(out[0], "America/New_York");
	assert_int_equal(search("Europe/Berlin", out), 1);
	assert_string_equal(out[0], "Europe/Berlin");
	assert_int_equal(search("europe/berlin", out), 1);
	/* the modern name is found although ICU's canonical id is the old one */
	assert_int_equal(search("Kolkata", out), 1);
	assert_string_equal(out[0], "Asia/Kolkata");
	assert_int_equal(search("utc", out), 1);
	assert_string_equal(out[0], "UTC");
	assert_int_equal(search("GMT", out), 1);
	assert_string_equal(out[0], "UTC");
}

static void test_zone_search_local_names(void **state)
{
	const char *out[BOT_SEARCH_RESULT];

	(void)state;
	/* Russian and Uzbek names of the cities people type most */
	assert_int_equal(search("Ташкент", out), 1);
	assert_string_equal(out[0], "Asia/Tashkent");
	assert_int_equal(search("МОСКВА", out), 1);
	assert_string_equal(out[0], "Europe/Moscow");
	assert_int_equal(search("Toshkent", out), 1);
	assert_string_equal(out[0], "Asia/Tashkent");
	/* every apostrophe Uzbek is written with */
	assert_int_equal(search("Farg‘ona", out), 1);
	assert_string_equal(out[0], "Asia/Tashkent");
	assert_int_equal(search("Farg'ona", out), 1);
	assert_int_equal(search("fargʻona", out), 1);
	assert_int_equal(search("нью йорк", out), 1);
	assert_string_equal(out[0], "America/New_York");
	/* a local name and the English one of one zone count once */
	assert_int_equal(search("samar", out), 2); /* Samarkand; Samara */
}

static void test_zone_search_partial(void **state)
{
	const char *out[BOT_SEARCH_RESULT];
	size_t n;
	bool york = false;

	(void)state;
	n = search("new", out);
	assert_true(n > 1);
	for (size_t i = 0; i < n && i < BOT_SEARCH_RESULT; i++) {
		york |= strcmp(out[i], "America/New_York") == 0;
		assert_true(tz_valid(out[i]));
	}
	assert_true(york);
	/* a part of a zone id */
	n = search("york", out);
	assert_int_equal(n, 1);
	assert_string_equal(out[0], "America/New_York");
	/* many matches: the count is the total, out holds the first ones */
	n = search("america/", out);
	assert_true(n > BOT_SEARCH_RESULT);
	/* aliases of one zone count once: Kiev and Kyiv are one zone */
	n = search("europe/ki", out);
	for (size_t i = 0; i < n && i < BOT_SEARCH_RESULT; i++)
		for (size_t j = i + 1; j < n && j < BOT_SEARCH_RESULT; j++)
			assert_false(strstr(out[i], "Ki") && strstr(out[j], "Ky"));
}

static void test_zone_search_none(void **state)
{
	const char *out[BOT_SEARCH_RESULT];
	char big[BOT_QUERY_MAX + 2];

	(void)state;
	assert_int_equal(search("Atlantis", out), 0);
	assert_int_equal(search("", out), 0);
	assert_int_equal(search("a", out), 0); /* too short to mean anything */
	assert_int_equal(search("   ", out), 0);
	assert_int_equal(search("Ташкентабад", out), 0);
	assert_int_equal(search("М", out), 0);
	assert_int_equal(search("\xff\xfe", out), 0); /* not UTF-8 */
	assert_int_equal(search("%s%n", out), 0);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(search(big, out), 0);
}

static void test_common_zones(void **state)
{
	static const char *const langs[] = {"en", "ru", "uz", "de", NULL};
	char data[BOT_CB_MAX + 1];

	(void)state;
	for (const char *const *l = langs; *l; l++)
		for (const char *const *z = bot_zones_common(*l); *z; z++) {
			assert_true(tz_valid(*z));
			assert_int_equal(bot_cb_encode(data, BOT_CB_TZ, *z, 0), 0);
		}
	assert_string_equal(bot_zones_common("ru")[0], "Europe/Moscow");
	assert_string_equal(bot_zones_common("uz")[0], "Asia/Tashkent");
	assert_string_equal(bot_zones_common("en")[0], "Europe/London");
}

static void test_zone_labels(void **state)
{
	char out[64];

	(void)state;
	bot_zone_city("America/New_York", out, sizeof(out));
	assert_string_equal(out, "New York");
	bot_zone_city("America/Argentina/Buenos_Aires", out, sizeof(out));
	assert_string_equal(out, "Buenos Aires");
	bot_zone_city("UTC", out, sizeof(out));
	assert_string_equal(out, "UTC");
	bot_zone_offset("Asia/Tashkent", 1700000000000LL, out, sizeof(out));
	assert_string_equal(out, "UTC+05:00");
	bot_zone_offset("UTC", 1700000000000LL, out, sizeof(out));
	assert_string_equal(out, "UTC+00:00");
	/* daylight saving time: 2024-01-15 and 2024-07-15 in New York */
	bot_zone_offset("America/New_York", 1705320000000LL, out, sizeof(out));
	assert_string_equal(out, "UTC-05:00");
	bot_zone_offset("America/New_York", 1721044800000LL, out, sizeof(out));
	assert_string_equal(out, "UTC-04:00");
	bot_zone_offset("Asia/Kolkata", 1700000000000LL, out, sizeof(out));
	assert_string_equal(out, "UTC+05:30");
}

static void test_fmt_cuts_at_characters(void **state)
{
	char out[6];

	(void)state;
	bot_fmt(out, sizeof(out), "%s", "abcdé"); /* é is two bytes: it does not fit */
	assert_string_equal(out, "abcd");
	bot_fmt(out, sizeof(out), "%s", "abcé");
	assert_string_equal(out, "abcé");
	bot_fmt(out, sizeof(out), "%s", "ab✓"); /* three bytes: fits exactly */
	assert_string_equal(out, "ab✓");
	bot_fmt(out, sizeof(out), "%s", "abc✓");
	assert_string_equal(out, "abc");
}

/* ---- composing posts ------------------------------------------------------- */

/* The HTML of text with entities given as JSON. */
static char *html_of(const char *text, const char *entities)
{
	json_t *ents = entities ? json_loads(entities, 0, NULL) : NULL;
	struct buf b;
	char *out;

	if (entities)
		assert_non_null(ents);
	buf_init(&b, 1 << 16);
	assert_int_equal(bot_entities_html(text, strlen(text), ents, &b), 0);
	json_decref(ents);
	out = buf_take(&b, NULL);
	/* whatever comes out, Telegram's HTML rules hold */
	assert_int_equal(html_check(str_c(out), 1 << 20, NULL, NULL), 0);
	return out;
}

static void expect_html(const char *text, const char *entities, const char *want)
{
	char *got = html_of(text, entities);

	assert_string_equal(got, want);
	free(got);
}

static void test_entities_basic(void **state)
{
	(void)state;
	expect_html("plain <b> & \"q\"", NULL, "plain &lt;b&gt; &amp; &quot;q&quot;");
	expect_html("Hello world", "[{\"type\":\"bold\",\"offset\":0,\"length\":5}]",
	            "<b>Hello</b> world");
	expect_html("a b c d e f g h",
	            "[{\"type\":\"italic\",\"offset\":0,\"length\":1},"
	            "{\"type\":\"underline\",\"offset\":2,\"length\":1},"
	            "{\"type\":\"strikethrough\",\"offset\":4,\"length\":1},"
	            "{\"type\":\"spoiler\",\"offset\":6,\"length\":1},"
	            "{\"type\":\"code\",\"offset\":8,\"length\":1},"
	            "{\"type\":\"blockquote\",\"offset\":10,\"length\":1},"
	            "{\"type\":\"expandable_blockquote\",\"offset\":12,\"length\":1},"
	            "{\"type\":\"custom_emoji\",\"offset\":14,\"length\":1,"
	            "\"custom_emoji_id\":\"5368324170671202286\"}]",
	            "<i>a</i> <u>b</u> <s>c</s> <tg-spoiler>d</tg-spoiler> <code>e</code> "
	            "<blockquote>f</blockquote> <blockquote expandable>g</blockquote> "
	            "<tg-emoji emoji-id=\"5368324170671202286\">h</tg-emoji>");
	expect_html("x<y", "[{\"type\":\"pre\",\"offset\":0,\"length\":3,\"language\":\"c++\"}]",
	            "<pre><code class=\"language-c++\">x&lt;y</code></pre>");
	/* a language HTML cannot name: plain pre */
	expect_html("code",
	            "[{\"type\":\"pre\",\"offset\":0,\"length\":4,\"language\":\"a\\\"b\"}]",
	            "<pre>code</pre>");
	expect_html("site",
	            "[{\"type\":\"text_link\",\"offset\":0,\"length\":4,"
	            "\"url\":\"https://example.com/?a=1&b=2\"}]",
	            "<a href=\"https://example.com/?a=1&amp;b=2\">site</a>");
	expect_html("Ann",
	            "[{\"type\":\"text_mention\",\"offset\":0,\"length\":3,"
	            "\"user\":{\"id\":42,\"is_bot\":false,\"first_name\":\"Ann\"}}]",
	            "<a href=\"tg://user?id=42\">Ann</a>");
	/* kinds Telegram links by itself are left to it */
	expect_html("@ann #tag https://x.org",
	            "[{\"type\":\"mention\",\"offset\":0,\"length\":4},"
	            "{\"type\":\"hashtag\",\"offset\":5,\"length\":4},"
	            "{\"type\":\"url\",\"offset\":10,\"length\":13}]",
	            "@ann #tag https://x.org");
}

static void test_entities_utf16(void **state)
{
	(void)state;
	/* 😀 is two UTF-16 units, é and я one each */
	expect_html("😀 bold я", "[{\"type\":\"bold\",\"offset\":3,\"length\":4}]",
	            "😀 <b>bold</b> я");
	expect_html("é😀é", "[{\"type\":\"italic\",\"offset\":1,\"length\":2}]", "é<i>😀</i>é");
	expect_html("я😀", "[{\"type\":\"underline\",\"offset\":1,\"length\":2}]", "я<u>😀</u>");
	/* an entity that splits a surrogate pair, or leaves the text, is left out */
	expect_html("😀x", "[{\"type\":\"bold\",\"offset\":1,\"length\":2}]", "😀x");
	expect_html("😀x", "[{\"type\":\"bold\",\"offset\":0,\"length\":1}]", "😀x");
	expect_html("abc", "[{\"type\":\"bold\",\"offset\":2,\"length\":5}]", "abc");
	expect_html("abc",
	            "[{\"type\":\"bold\",\"offset\":-1,\"length\":2},"
	            "{\"type\":\"bold\",\"offset\":1,\"length\":0},{\"type\":\"bold\"},"
	            "{\"type\":7,\"offset\":0,\"length\":1},\"x\"]",
	            "abc");
}

static void test_entities_nesting(void **state)
{
	(void)state;
	/* nested: the longer one outside, whatever the order given */
	expect_html("bold italic",
	            "[{\"type\":\"italic\",\"offset\":5,\"length\":6},"
	            "{\"type\":\"bold\",\"offset\":0,\"length\":11}]",
	            "<b>bold <i>italic</i></b>");
	/* the same range: a link outside formatting */
	expect_html("go",
	            "[{\"type\":\"bold\",\"offset\":0,\"length\":2},"
	            "{\"type\":\"text_link\",\"offset\":0,\"length\":2,\"url\":\"https://a.io\"}]",
	            "<a href=\"https://a.io\"><b>go</b></a>");
	/* overlapping: closed and opened again so tags nest */
	expect_html("abcdef",
	            "[{\"type\":\"bold\",\"offset\":0,\"length\":4},"
	            "{\"type\":\"italic\",\"offset\":2,\"length\":4}]",
	            "<b>ab<i>cd</i></b><i>ef</i>");
	expect_html("abcdefgh",
	            "[{\"type\":\"bold\",\"offset\":0,\"length\":4},"
	            "{\"type\":\"italic\",\"offset\":1,\"length\":5},"
	            "{\"type\":\"underline\",\"offset\":2,\"length\":6}]",
	            "<b>a<i>b<u>cd</u></i></b><i><u>ef</u></i><u>gh</u>");
	/* Telegram's rules: nothing inside code, only formatting inside a link,
	 * no quote inside a quote */
	expect_html("abcdef",
	            "[{\"type\":\"code\",\"offset\":0,\"length\":4},"
	            "{\"type\":\"bold\",\"offset\":2,\"length\":4}]",
	            "<code>abcd</code>ef");
	expect_html("abcdef",
	            "[{\"type\":\"text_link\",\"offset\":0,\"length\":6,\"url\":\"https://a.io\"},"
	            "{\"type\":\"code\",\"offset\":1,\"length\":2},"
	            "{\"type\":\"bold\",\"offset\":3,\"length\":2}]",
	            "<a href=\"https://a.io\">abc<b>de</b>f</a>");
	expect_html("abcdef",
	            "[{\"type\":\"blockquote\",\"offset\":0,\"length\":6},"
	            "{\"type\":\"expandable_blockquote\",\"offset\":2,\"length\":2},"
	            "{\"type\":\"bold\",\"offset\":0,\"length\":6}]",
	            "<blockquote><b>abcdef</b></blockquote>");
	/* bold around code is fine */
	expect_html("a code b",
	            "[{\"type\":\"bold\",\"offset\":0,\"length\":8},"
	            "{\"type\":\"code\",\"offset\":2,\"length\":4}]",
	            "<b>a <code>code</code> b</b>");
}

static void test_entities_bounds(void **state)
{
	json_t *ents = json_array(), *notarr = json_object();
	struct buf b;

	(void)state;
	buf_init(&b, 16);
	assert_int_equal(bot_entities_html("x", 1, notarr, &b), -ERR_INVALID);
	for (int i = 0; i <= BOT_ENTITIES_MAX; i++)
		json_array_append_new(
		    ents, json_pack("{s:s,s:i,s:i}", "type", "bold", "offset", 0, "length", 1));
	assert_int_equal(bot_entities_html("x", 1, ents, &b), -ERR_TOO_BIG);
	/* out of room: nothing appended */
	assert_int_equal(buf_adds(&b, "keep"), 0);
	assert_int_equal(bot_entities_html("<<<<<<<<", 8, NULL, &b), -ERR_TOO_BIG);
	assert_string_equal(b.p, "keep");
	buf_release(&b);
	json_decref(ents);
	json_decref(notarr);
}

static void test_buttons(void **state)
{
	struct bot_btn_fault f;
	json_t *rows = NULL;
	char *dump;

	(void)state;
	assert_int_equal(bot_parse_buttons(str_c("Site - https://example.com | Shop – "
	                                         "https://example.com/shop?a=1\n\n"
	                                         "  Our channel — tg://resolve?domain=x  \n"
	                                         "A - B - https://a.io\n"),
	                                   &rows, &f),
	                 0);
	dump = json_dumps(rows, JSON_COMPACT);
	assert_string_equal(dump, "[[{\"text\":\"Site\",\"url\":\"https://example.com\"},"
	                          "{\"text\":\"Shop\",\"url\":\"https://example.com/shop?a=1\"}],"
	                          "[{\"text\":\"Our channel\",\"url\":\"tg://resolve?domain=x\"}],"
	                          "[{\"text\":\"A - B\",\"url\":\"https://a.io\"}]]");
	free(dump);
	json_decref(rows);

	static const struct {
		const char *in;
		enum bot_btn_err code;
		size_t line;
	} bad[] = {
	    {"Site https://example.com", BOT_BTN_FORMAT, 1},
	    {"Ok - https://a.io\nSite -", BOT_BTN_FORMAT, 2},
	    {"Ok - https://a.io\n\nSite - ftp://example.com", BOT_BTN_URL, 3},
	    {"Site - javascript:alert(1)", BOT_BTN_URL, 1},
	    {"Site - https://user@example.com", BOT_BTN_URL, 1},
	    {" - https://a.io", BOT_BTN_FORMAT, 1},
	    {"x | - https://a.io", BOT_BTN_FORMAT, 1},
	    {"12345678901234567890123456789012345678901234567890123456789012345 - https://a.io",
	     BOT_BTN_TEXT, 1},
	    {"a - https://a.io | b - https://a.io | c - https://a.io | d - https://a.io | "
	     "e - https://a.io | f - https://a.io | g - https://a.io | h - https://a.io | "
	     "i - https://a.io",
	     BOT_BTN_ROW, 1},
	    {"", BOT_BTN_NONE, 0},
	    {"\n  \n", BOT_BTN_NONE, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		rows = (json_t *)1;
		assert_int_equal(bot_parse_buttons(str_c(bad[i].in), &rows, &f), -ERR_INVALID);
		assert_null(rows);
		assert_int_equal(f.code, bad[i].code);
		assert_int_equal(f.line, bad[i].line);
	}
	/* 64 characters is the most a button's text may have, counted as characters */
	assert_int_equal(
	    bot_parse_buttons(str_c("яяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяя"
	                            "яяяяяяяяяяяяя - https://a.io"),
	                      &rows, &f),
	    0);
	json_decref(rows);
	/* 101 buttons in 13 rows of 8 */
	{
		struct buf b;

		buf_init(&b, 1 << 16);
		for (int i = 0; i < 101; i++)
			assert_int_equal(
			    buf_printf(&b, "b%d - https://a.io%s", i, i % 8 == 7 ? "\n" : " | "),
			    0);
		b.len -= 3; /* the last " | " */
		b.p[b.len] = '\0';
		assert_int_equal(bot_parse_buttons((struct str){b.p, b.len}, &rows, &f),
		                 -ERR_INVALID);
		assert_int_equal(f.code, BOT_BTN_TOTAL);
		assert_int_equal(f.line, 13);
		buf_release(&b);
	}
}

static void expect_time(const char *in, struct when_local now, int y, int mo, int d, int h, int mi)
{
	struct when_local t;

	assert_int_equal(bot_parse_time(str_c(in), &now, &t), 0);
	assert_int_equal(t.year, y);
	assert_int_equal(t.month, mo);
	assert_int_equal(t.day, d);
	assert_int_equal(t.hour, h);
	assert_int_equal(t.minute, mi);
}

static void test_typed_time(void **state)
{
	struct when_local now = {2026, 12, 31, 18, 30}, t = {1, 1, 1, 1, 1};
	static const char *const bad[] = {
	    "",
	    "18",
	    "18:3",
	    "24:00",
	    "12:60",
	    "1830",
	    "18:30 pm",
	    "tomorrow",
	    "31.02 10:00",
	    "32.01 10:00",
	    "10.13 10:00",
	    "29.02.2027 10:00",
	    "2026-1-5 10:00",
	    "2026-02-30 10:00",
	    "2026-12-31",
	    "2026-12-31 10",
	    "10.01.26 10:00",
	    "0.01 10:00",
	    "2026-12-31T10:00Z",
	    "18:30:00",
	    "-1:00",
	    "١٨:٣٠",
	};

	(void)state;
	expect_time("19:00", now, 2026, 12, 31, 19, 0);
	expect_time(" 18:30 ", now, 2026, 12, 31, 18, 30);    /* this minute: now */
	expect_time("9:05", now, 2027, 1, 1, 9, 5);           /* passed: tomorrow, next year */
	expect_time("01.01 10:00", now, 2027, 1, 1, 10, 0);   /* a day gone: next year */
	expect_time("31.12 10:00", now, 2026, 12, 31, 10, 0); /* today: the past is for posts */
	expect_time("5.3 7:15", now, 2027, 3, 5, 7, 15);
	expect_time("29.02.2028 23:59", now, 2028, 2, 29, 23, 59);
	expect_time("2027-11-25 09:00", now, 2027, 11, 25, 9, 0);
	expect_time("2027-11-25T09:00", now, 2027, 11, 25, 9, 0);
	expect_time("2020-01-01   00:00", now, 2020, 1, 1, 0, 0);
	/* month ends */
	expect_time("00:10", (struct when_local){2028, 2, 28, 23, 0}, 2028, 2, 29, 0, 10);
	expect_time("00:10", (struct when_local){2027, 2, 28, 23, 0}, 2027, 3, 1, 0, 10);
	expect_time("00:10", (struct when_local){2026, 4, 30, 23, 0}, 2026, 5, 1, 0, 10);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(bot_parse_time(str_c(bad[i]), &now, &t), -ERR_INVALID);
		assert_int_equal(t.year, 1); /* untouched */
	}
}

static void test_html_plain(void **state)
{
	char out[32];

	(void)state;
	bot_html_plain("<b>Hello</b>\n\n<i>world</i> &amp; &lt;&#33;&#x263A;&gt;", 100, out,
	               sizeof(out));
	assert_string_equal(out, "Hello world & <!☺>");
	bot_html_plain("a &bogus; &#0; &#xD800;", 100, out, sizeof(out));
	assert_string_equal(out, "a &bogus; &#0; &#xD800;");
	bot_html_plain("Привет, мир, как дела", 12, out, sizeof(out));
	assert_string_equal(out, "Прив…"); /* 8 bytes and the ellipsis, whole letters */
	bot_html_plain(NULL, 10, out, sizeof(out));
	assert_string_equal(out, "");
	bot_html_plain("abcdefghijklmnopqrstuvwxyzabcdefghij", 100, out, sizeof(out));
	assert_string_equal(out, "abcdefghijklmnopqrstuvwxyzab…"); /* 28 + 3 bytes */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cb_round_trip),
	    cmocka_unit_test(test_cb_rejects_tampering),
	    cmocka_unit_test(test_cb_encode_bounds),
	    cmocka_unit_test(test_alert_steps),
	    cmocka_unit_test(test_route_chat_keys),
	    cmocka_unit_test(test_route_rejects_non_updates),
	    cmocka_unit_test(test_lanes_spread),
	    cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_channel_refs),
	    cmocka_unit_test_setup_teardown(test_zone_search_exact, zones_setup, zones_teardown),
	    cmocka_unit_test_setup_teardown(test_zone_search_local_names, zones_setup,
	                                    zones_teardown),
	    cmocka_unit_test_setup_teardown(test_zone_search_partial, zones_setup, zones_teardown),
	    cmocka_unit_test_setup_teardown(test_zone_search_none, zones_setup, zones_teardown),
	    cmocka_unit_test(test_common_zones),
	    cmocka_unit_test(test_zone_labels),
	    cmocka_unit_test(test_fmt_cuts_at_characters),
	    cmocka_unit_test(test_entities_basic),
	    cmocka_unit_test(test_entities_utf16),
	    cmocka_unit_test(test_entities_nesting),
	    cmocka_unit_test(test_entities_bounds),
	    cmocka_unit_test(test_buttons),
	    cmocka_unit_test(test_typed_time),
	    cmocka_unit_test(test_html_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
