/*
 * Unit tests of the bot's pure parts: callback data, update routing,
 * commands, channel references, the time zone search and message text
 * truncation.
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
#include "lib/mem.h"
#include "lib/tz.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cb_round_trip),
	    cmocka_unit_test(test_cb_rejects_tampering),
	    cmocka_unit_test(test_cb_encode_bounds),
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
