/*
 * Unit tests of lib/: buffers, slices, JSON bounds, crypto, log redaction,
 * configuration, numbers and weekday names per language.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/crypto.h"
#include "lib/json.h"
#include "lib/l10n.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/tz.h"
#include "lib/utf8.h"

static void test_buf_bounds(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_string_equal(b.p, "");
	assert_int_equal(buf_adds(&b, "hello"), 0);
	assert_int_equal(buf_printf(&b, "%d", 1234), 0);
	assert_string_equal(b.p, "hello1234");
	assert_int_equal(buf_adds(&b, "xy"), -ERR_TOO_BIG);
	assert_string_equal(b.p, "hello1234"); /* unchanged on failure */
	assert_int_equal(buf_addch(&b, '!'), 0);
	assert_int_equal(b.len, 10);
	assert_int_equal(buf_addch(&b, '!'), -ERR_TOO_BIG);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.p, "");
	buf_release(&b);
}

static void test_buf_take(void **state)
{
	struct buf b;
	size_t len;
	char *p;

	(void)state;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_add(&b, "abc", 3), 0);
	p = buf_take(&b, &len);
	assert_int_equal(len, 3000);
	assert_int_equal(p[2999], 'c');
	assert_int_equal(p[3000], '\0');
	assert_int_equal(b.len, 0);
	free(p);
	p = buf_take(&b, &len); /* empty */
	assert_int_equal(len, 0);
	assert_string_equal(p, "");
	free(p);
}

static void test_str_to_i64(void **state)
{
	int64_t v = 7;

	(void)state;
	assert_int_equal(str_to_i64(str_c("42"), 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(str_to_i64(str_c("-9223372036854775808"), INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(str_to_i64(str_c("9223372036854775807"), INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(str_to_i64(str_c("9223372036854775808"), INT64_MIN, INT64_MAX, &v),
	                 -ERR_INVALID);
	assert_int_equal(str_to_i64(str_c("101"), 0, 100, &v), -ERR_INVALID);
	assert_int_equal(str_to_i64(str_c("-1"), 0, 100, &v), -ERR_INVALID);
	assert_int_equal(str_to_i64(str_c(""), 0, 100, &v), -ERR_INVALID);
	assert_int_equal(str_to_i64(str_c("12a"), 0, 100, &v), -ERR_INVALID);
	assert_int_equal(str_to_i64(str_c(" 1"), 0, 100, &v), -ERR_INVALID);
	assert_int_equal(str_to_i64(str_c("-"), INT64_MIN, 100, &v), -ERR_INVALID);
}

static void test_str_split_trim(void **state)
{
	struct str s = str_c("a,bb,,c"), h;

	(void)state;
	assert_true(str_split(&s, ',', &h));
	assert_true(str_eqc(h, "a"));
	assert_true(str_split(&s, ',', &h));
	assert_true(str_eqc(h, "bb"));
	assert_true(str_split(&s, ',', &h));
	assert_true(str_eqc(h, ""));
	assert_false(str_split(&s, ',', &h));
	assert_true(str_eqc(h, "c"));
	assert_int_equal(s.len, 0);
	assert_true(str_eqc(str_trim(str_c(" \t x y \r\n")), "x y"));
	assert_true(str_case_eq(str_c("BeArEr"), "bearer"));
}

static void test_json_depth(void **state)
{
	char deep[200];
	json_t *v = NULL;
	struct err e = {0};

	(void)state;
	assert_int_equal(json_depth("{\"a\":[1,{\"b\":2}]}", 17, 100), 3);
	/* brackets inside strings do not count */
	assert_int_equal(json_depth("{\"a\":\"[[[[\\\"[[\"}", 16, 100), 1);
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_int_equal(json_parse(deep, 200, 32, &v, &e), -ERR_TOO_BIG);
	assert_null(v);
	assert_int_equal(json_parse(deep + 70, 60, 32, &v, &e), 0);
	json_decref(v);
	assert_int_equal(json_parse("{\"a\":1,\"a\":2}", 13, 32, &v, &e), -ERR_INVALID);
	assert_int_equal(json_parse("{\"a\":", 5, 32, &v, &e), -ERR_INVALID);
	assert_non_null(strstr(e.msg, "malformed json"));
	assert_int_equal(json_parse("\"\xff\"", 3, 32, &v, &e), -ERR_INVALID);
}

static void test_crypto(void **state)
{
	char hex[CRYPTO_SHA256_HEX], md5[CRYPTO_MD5_HEX], sha1[CRYPTO_SHA1_HEX], b64[80], t1[64],
	    t2[64];

	(void)state;
	crypto_sha256_hex("abc", 3, hex);
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(crypto_eq("abc", 3, "abc", 3));
	/* RFC 4231 test case 2, whole and in pieces. */
	crypto_hmac_sha256_hex(STR_LIT("Jefe"),
	                       (struct str[]){STR_LIT("what do ya want for nothing?")}, 1, hex);
	assert_string_equal(hex,
	                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(hex, 0, sizeof(hex));
	crypto_hmac_sha256_hex(
	    STR_LIT("Jefe"),
	    (struct str[]){STR_LIT("what do "), {NULL, 0}, STR_LIT("ya want for nothing?")}, 3,
	    hex);
	assert_string_equal(hex,
	                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* An empty key is still a key (HMAC-SHA256("", "") from RFC 2104 tools). */
	crypto_hmac_sha256_hex((struct str){NULL, 0}, NULL, 0, hex);
	assert_string_equal(hex,
	                    "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
	/* RFC 1321 test suite. */
	crypto_md5_hex(NULL, 0, md5);
	assert_string_equal(md5, "d41d8cd98f00b204e9800998ecf8427e");
	crypto_md5_hex((struct str[]){STR_LIT("a"), STR_LIT("bc")}, 2, md5);
	assert_string_equal(md5, "900150983cd24fb0d6963f7d28e17f72");
	/* FIPS 180 "abc", and Click's Auth digest vector (protocols.md D.9) */
	crypto_sha1_hex((struct str[]){STR_LIT("abc")}, 1, sha1);
	assert_string_equal(sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
	crypto_sha1_hex((struct str[]){STR_LIT("1519051543"), STR_LIT("SECRETKEY")}, 2, sha1);
	assert_string_equal(sha1, "08be495af2b06930d8269e0d2f0bdd7a754da8cf");
	/* base64 (RFC 4648 section 10) and C.8's worked example */
	assert_int_equal(crypto_base64("foob", 4, b64, sizeof(b64)), 8);
	assert_string_equal(b64, "Zm9vYg==");
	assert_int_equal(crypto_base64("", 0, b64, sizeof(b64)), 0);
	assert_int_equal(crypto_base64("foobar", 6, b64, 8), 0); /* no room for the NUL */
	assert_int_equal(
	    crypto_base64("m=587f72c72cac0d162c722ae2;ac.order_id=197;a=500", 48, b64, sizeof(b64)),
	    64);
	assert_string_equal(b64,
	                    "bT01ODdmNzJjNzJjYWMwZDE2MmM3MjJhZTI7YWMub3JkZXJfaWQ9MTk3O2E9NTAw");
	assert_false(crypto_eq("abc", 3, "abd", 3));
	assert_false(crypto_eq("abc", 3, "abcd", 4));
	crypto_token("hk_", 32, t1, sizeof(t1));
	crypto_token("hk_", 32, t2, sizeof(t2));
	assert_int_equal(strlen(t1), 3 + 43);
	assert_memory_equal(t1, "hk_", 3);
	assert_string_not_equal(t1, t2);
	for (const char *p = t1 + 3; *p; p++)
		assert_non_null(
		    strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
}

static void test_log_redact(void **state)
{
	char out[256];

	(void)state;
	log_redact_url("postgres://herald:s3cret@db:5432/herald", out, sizeof(out));
	assert_string_equal(out, "postgres://herald:***@db:5432/herald");
	log_redact_url("https://api.telegram.org/bot123:ABC/getMe", out, sizeof(out));
	assert_string_equal(out, "https://api.telegram.org/bot***/getMe");
	log_redact_url("redis://:pw@127.0.0.1:6379", out, sizeof(out));
	assert_string_equal(out, "redis://:***@127.0.0.1:6379");
	log_redact_url("herald.db", out, sizeof(out));
	assert_string_equal(out, "herald.db");
	log_redact_url("postgres://herald:s3cret@db/x", out, 12);
	assert_int_equal(strlen(out), 11);
}

enum { C_LISTEN, C_THREADS, C_FLAG, C_URL, C_IDS, C_COUNT };
static const struct config_def defs[C_COUNT] = {
    [C_LISTEN] = {"LISTEN", "127.0.0.1:8080", config_check_listen, 0, 0, false, "listen"},
    [C_THREADS] = {"THREADS", "4", config_check_int, 1, 64, false, "threads"},
    [C_FLAG] = {"FLAG", "false", config_check_bool, 0, 0, false, "flag"},
    [C_URL] = {"URL", "https://example.org", config_check_http_url, 0, 0, false, "url"},
    [C_IDS] = {"IDS", NULL, config_check_id_list, 0, 0, false, "ids"},
};

static void test_config_defaults_and_env(void **state)
{
	char *env[] = {"HERALD_THREADS=8", "HERALD_FLAG=yes",   "OTHER=1",
	               "HERALD_UNKNOWN=1", "HERALD_IDS=1, 2,3", NULL};
	struct config c;
	struct err e = {0};

	(void)state;
	assert_int_equal(config_load(&c, defs, C_COUNT, NULL, env, &e), 0);
	assert_string_equal(config_str(&c, C_LISTEN), "127.0.0.1:8080");
	assert_int_equal(config_int(&c, C_THREADS), 8);
	assert_int_equal(config_int(&c, C_FLAG), 1);
	assert_string_equal(config_str(&c, C_IDS), "1, 2,3");
	config_release(&c);
}

static void test_config_bad_values_name_the_setting(void **state)
{
	char *bad[][2] = {{"HERALD_THREADS=0", NULL},     {"HERALD_THREADS=12x", NULL},
	                  {"HERALD_LISTEN=nohost", NULL}, {"HERALD_LISTEN=1.2.3.4:70000", NULL},
	                  {"HERALD_FLAG=maybe", NULL},    {"HERALD_URL=ftp://x", NULL},
	                  {"HERALD_IDS=1,x", NULL}};
	const char *names[] = {"HERALD_THREADS", "HERALD_THREADS", "HERALD_LISTEN", "HERALD_LISTEN",
	                       "HERALD_FLAG",    "HERALD_URL",     "HERALD_IDS"};
	struct config c;
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		assert_int_equal(config_load(&c, defs, C_COUNT, NULL, bad[i], &e), -ERR_INVALID);
		assert_non_null(strstr(e.msg, names[i]));
	}
}

static void test_config_file(void **state)
{
	char path[] = "/tmp/herald-config-XXXXXX";
	char *env[] = {"HERALD_THREADS=9", NULL};
	const char text[] =
	    "# a comment\n\nHERALD_THREADS=5\nFLAG = \"true\"\nLISTEN=127.0.0.1:9\n";
	struct config c;
	struct err e = {0};
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	assert_int_equal(config_load(&c, defs, C_COUNT, path, env, &e), 0);
	assert_int_equal(config_int(&c, C_THREADS), 9); /* the environment wins */
	assert_int_equal(config_int(&c, C_FLAG), 1);
	assert_string_equal(config_str(&c, C_LISTEN), "127.0.0.1:9");
	config_release(&c);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "NOPE=1\n", 7), 7);
	close(fd);
	assert_int_equal(config_load(&c, defs, C_COUNT, path, NULL, &e), -ERR_INVALID);
	assert_non_null(strstr(e.msg, "unknown setting NOPE"));
	unlink(path);
	assert_int_equal(config_load(&c, defs, C_COUNT, path, NULL, &e), -ERR_IO);
}

static void test_tz(void **state)
{
	(void)state;
	assert_true(tz_valid("Europe/Berlin"));
	assert_true(tz_valid("Asia/Tashkent"));
	assert_true(tz_valid("UTC"));
	assert_false(tz_valid("Mars/Olympus"));
	assert_false(tz_valid(""));
	assert_false(tz_valid("Europe/Berlin\n"));
}

/* Offsets computed with Python's zoneinfo (the system tzdata). */
static void test_tz_offset(void **state)
{
	struct tz *z = NULL;
	struct err e = {0};
	int32_t off = 0;
	int y, m, d;

	(void)state;
	assert_int_equal(tz_open("Mars/Olympus", &z, &e), -ERR_INVALID);
	assert_null(z);
	assert_non_null(strstr(e.msg, "unknown zone"));
	assert_int_equal(tz_open("Europe/Berlin", &z, &e), 0);
	assert_int_equal(tz_offset_ms(z, 1774745999000, &off), 0); /* 2026-03-29 00:59:59Z */
	assert_int_equal(off, 3600000);
	assert_int_equal(tz_offset_ms(z, 1774746000000, &off), 0); /* 01:00Z, now CEST */
	assert_int_equal(off, 7200000);
	/* Back across the transition and forward again (the remembered span
	 * must not answer for the other side), then the autumn one. */
	assert_int_equal(tz_offset_ms(z, 1774745999999, &off), 0);
	assert_int_equal(off, 3600000);
	assert_int_equal(tz_offset_ms(z, 1774746000000, &off), 0);
	assert_int_equal(off, 7200000);
	assert_int_equal(tz_offset_ms(z, 1792890000000 - 1, &off), 0); /* 10-25 00:59:59.999Z */
	assert_int_equal(off, 7200000);
	assert_int_equal(tz_offset_ms(z, 1792890000000, &off), 0); /* 01:00Z, CET again */
	assert_int_equal(off, 3600000);
	assert_int_equal(tz_offset_ms(z, 1774745999000, &off), 0); /* far back */
	assert_int_equal(off, 3600000);
	tz_free(z);
	/* A zone without transitions. */
	assert_int_equal(tz_open("UTC", &z, &e), 0);
	assert_int_equal(tz_offset_ms(z, 0, &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(tz_offset_ms(z, 1774746000000, &off), 0);
	assert_int_equal(off, 0);
	tz_free(z);
	assert_int_equal(tz_open("America/New_York", &z, &e), 0);
	assert_int_equal(tz_offset_ms(z, 1793512799000, &off), 0); /* 2026-11-01 05:59:59Z */
	assert_int_equal(off, -14400000);
	assert_int_equal(tz_offset_ms(z, 1793512800000, &off), 0); /* 06:00Z, now EST */
	assert_int_equal(off, -18000000);
	tz_free(z);
	tz_free(NULL);

	assert_int_equal(tz_day_from_civil(1970, 1, 1), 0);
	assert_int_equal(tz_day_from_civil(2026, 3, 29), 20541);
	assert_int_equal(tz_day_from_civil(1600, 2, 29), -135081);
	tz_civil_from_day(-135081, &y, &m, &d);
	assert_int_equal(y * 10000 + m * 100 + d, 16000229);
	tz_civil_from_day(20541, &y, &m, &d);
	assert_int_equal(y * 10000 + m * 100 + d, 20260329);
	assert_int_equal(tz_weekday(0), 3);     /* a Thursday */
	assert_int_equal(tz_weekday(20541), 6); /* a Sunday */
	assert_int_equal(tz_weekday(-1), 2);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_int_equal(utf8_check("abc", 3, false), 3);
	assert_int_equal(utf8_check("\xd0\x9f\xf0\x9f\x98\x80", 6, false), 6); /* П😀 */
	assert_int_equal(utf8_check("a\xc0\xaf", 3, false), 1);                /* overlong '/' */
	assert_int_equal(utf8_check("ab\xed\xa0\x80", 5, false), 2);           /* a surrogate */
	assert_int_equal(utf8_check("\xf4\x90\x80\x80", 4, false), 0);         /* past U+10FFFF */
	assert_int_equal(utf8_check("x\xe2\x82", 3, false), 1);                /* cut short */
	assert_int_equal(utf8_check("a\0b", 3, false), 1);
	assert_int_equal(utf8_check("a\0b", 3, true), 3);
	/* cuts: "aП😀" is 1 + 2 + 4 bytes */
	assert_int_equal(utf8_cut("a\xd0\x9f\xf0\x9f\x98\x80", 7), 7);
	assert_int_equal(utf8_cut("a\xd0\x9f\xf0\x9f\x98\x80", 6), 3);
	assert_int_equal(utf8_cut("a\xd0\x9f\xf0\x9f\x98\x80", 4), 3);
	assert_int_equal(utf8_cut("a\xd0\x9f\xf0\x9f\x98\x80", 2), 1);
	assert_int_equal(utf8_cut("\xd0\x9f", 1), 0);
	assert_int_equal(utf8_cut("abc", 0), 0);
}

#define NBSP "\xc2\xa0"

static void test_l10n(void **state)
{
	static const struct {
		const char *lang, *num, *pct, *wide, *shrt;
	} want[] = {
	    {"en", "12,500.5", "6.2%", "Tuesday", "Tue"},
	    {"ru", "12" NBSP "500,5", "6,2" NBSP "%", "вторник", "вт"},
	    {"uz", "12" NBSP "500,5", "6,2%", "seshanba", "Sesh"},
	    {"de", "12,500.5", "6.2%", "Tuesday", "Tue"},
	};
	char out[64], tiny[4];

	(void)state;
	assert_string_equal(l10n_locale("uz"), "uz_Latn");
	assert_string_equal(l10n_locale(NULL), "en");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct l10n *l = l10n_new(want[i].lang);

		assert_int_equal(l10n_number(l, 12500.46, 1, out, sizeof(out)), 0);
		assert_string_equal(out, want[i].num);
		assert_int_equal(l10n_percent(l, 6.24, 1, out, sizeof(out)), 0);
		assert_string_equal(out, want[i].pct);
		assert_int_equal(l10n_weekday(l, 1, true, out, sizeof(out)), 0);
		assert_string_equal(out, want[i].wide);
		assert_int_equal(l10n_weekday(l, 1, false, out, sizeof(out)), 0);
		assert_string_equal(out, want[i].shrt);
		l10n_free(l);
	}
	{
		struct l10n *l = l10n_new("en");

		/* the digits change between calls; -0 is 0; Monday and Sunday */
		assert_int_equal(l10n_number(l, 3, 0, out, sizeof(out)), 0);
		assert_string_equal(out, "3");
		assert_int_equal(l10n_number(l, -0.04, 1, out, sizeof(out)), 0);
		assert_string_equal(out, "0.0");
		assert_int_equal(l10n_percent(l, -0.04, 1, out, sizeof(out)), 0);
		assert_string_equal(out, "0.0%");
		assert_int_equal(l10n_number(l, -0.06, 1, out, sizeof(out)), 0);
		assert_string_equal(out, "-0.1");
		assert_int_equal(l10n_number(l, -1234, 0, out, sizeof(out)), 0);
		assert_string_equal(out, "-1,234");
		assert_int_equal(l10n_weekday(l, 0, true, out, sizeof(out)), 0);
		assert_string_equal(out, "Monday");
		assert_int_equal(l10n_weekday(l, 6, true, out, sizeof(out)), 0);
		assert_string_equal(out, "Sunday");
		/* bad input and a small buffer */
		assert_int_equal(l10n_weekday(l, 7, true, out, sizeof(out)), -ERR_INVALID);
		assert_int_equal(l10n_number(l, 1, 7, out, sizeof(out)), -ERR_INVALID);
		assert_int_equal(l10n_number(l, 1.0 / 0.0, 0, out, sizeof(out)), -ERR_INVALID);
		assert_int_equal(l10n_number(l, 1234567, 0, tiny, sizeof(tiny)), -ERR_TOO_BIG);
		assert_string_equal(tiny, "");
		l10n_free(l);
	}
	l10n_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf_bounds),
	    cmocka_unit_test(test_buf_take),
	    cmocka_unit_test(test_str_to_i64),
	    cmocka_unit_test(test_str_split_trim),
	    cmocka_unit_test(test_json_depth),
	    cmocka_unit_test(test_crypto),
	    cmocka_unit_test(test_log_redact),
	    cmocka_unit_test(test_config_defaults_and_env),
	    cmocka_unit_test(test_config_bad_values_name_the_setting),
	    cmocka_unit_test(test_config_file),
	    cmocka_unit_test(test_tz),
	    cmocka_unit_test(test_tz_offset),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_l10n),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
