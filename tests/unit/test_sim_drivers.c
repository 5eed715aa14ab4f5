/*
 * Unit tests of the pure parts of the Payme and Click drivers
 * (sim/drivers.h): base64 both ways, so'm and tiyin, the checkout link of
 * protocols.md C.8, form fields, SHA-1 of the Click Merchant API's Auth
 * (D.9), URL and text checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/crypto.h"
#include "sim/drivers.h"

static void test_base64(void **state)
{
	char out[64];
	size_t n = 0;
	char b[80];

	(void)state;
	assert_int_equal(
	    crypto_base64("Paycom:0123456789abcdefghijklmnopqrstuvwxyz", 43, b, sizeof(b)), 60);
	/* protocols.md C.10 */
	assert_string_equal(b, "UGF5Y29tOjAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg==");

	assert_int_equal(drv_b64_decode(str_c("QUI="), out, sizeof(out), &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out, "AB");
	assert_int_equal(drv_b64_decode(str_c("QUI"), out, sizeof(out), &n), 0);
	assert_string_equal(out, "AB");
	assert_int_equal(drv_b64_decode(str_c("Pz8-Pg"), out, sizeof(out), &n), 0);
	assert_string_equal(out, "?\?>>");
	assert_int_equal(drv_b64_decode(str_c("Pz8+Pg=="), out, sizeof(out), &n), 0);
	assert_string_equal(out, "?\?>>");
	assert_int_equal(drv_b64_decode(str_c("Pz8_"), out, sizeof(out), &n), 0);
	assert_string_equal(out, "?\??");
	assert_int_equal(drv_b64_decode(str_c(""), out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	/* padding only where it completes a quantum; no other characters */
	assert_int_equal(drv_b64_decode(str_c("QUI=="), out, sizeof(out), &n), -ERR_INVALID);
	assert_int_equal(drv_b64_decode(str_c("QQ="), out, sizeof(out), &n), -ERR_INVALID);
	assert_int_equal(drv_b64_decode(str_c("Q==="), out, sizeof(out), &n), -ERR_INVALID);
	assert_int_equal(drv_b64_decode(str_c("Q"), out, sizeof(out), &n), -ERR_INVALID);
	assert_int_equal(drv_b64_decode(str_c("QU I"), out, sizeof(out), &n), -ERR_INVALID);
	assert_int_equal(drv_b64_decode(str_c("QU%I"), out, sizeof(out), &n), -ERR_INVALID);
	/* the output bound */
	assert_int_equal(drv_b64_decode(str_c("QUJDREVG"), out, 8, &n), -ERR_TOO_BIG);
	assert_int_equal(drv_b64_decode(str_c("QUJDREVG"), out, 9, &n), 0);
	assert_string_equal(out, "ABCDEF");
}

static void test_som(void **state)
{
	char s[32];
	int64_t t = 0;

	(void)state;
	drv_som(5000000, s, sizeof(s));
	assert_string_equal(s, "50000.00");
	drv_som(5, s, sizeof(s));
	assert_string_equal(s, "0.05");
	drv_som(-150, s, sizeof(s));
	assert_string_equal(s, "-1.50");
	assert_int_equal(drv_som_parse(str_c("50000.00"), &t), 0);
	assert_int_equal(t, 5000000);
	assert_int_equal(drv_som_parse(str_c("50000"), &t), 0);
	assert_int_equal(t, 5000000);
	assert_int_equal(drv_som_parse(str_c("999.5"), &t), 0);
	assert_int_equal(t, 99950);
	assert_int_equal(drv_som_parse(str_c("0.01"), &t), 0);
	assert_int_equal(t, 1);
	static const char *const bad[] = {
	    "",    ".",    "1.", ".5", "1.234", "-1",   "+1",
	    "1e3", "1,00", " 1", "1 ", "0x10",  "1.-1", "1234567890123456"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(drv_som_parse(str_c(bad[i]), &t), -ERR_INVALID);
}

static void test_payme_link(void **state)
{
	struct sim_payme_link k;

	(void)state;
	/* protocols.md C.8's worked example */
	sim_payme_link_parse(
	    str_c("bT01ODdmNzJjNzJjYWMwZDE2MmM3MjJhZTI7YWMub3JkZXJfaWQ9MTk3O2E9NTAw"), &k);
	assert_int_equal(k.code, 0);
	assert_string_equal(k.m, "587f72c72cac0d162c722ae2");
	assert_int_equal(k.amount, 500);
	assert_string_equal(json_string_value(json_object_get(k.account, "order_id")), "197");
	assert_int_equal(json_object_size(k.account), 1);
	assert_string_equal(k.ret, "");
	sim_payme_link_release(&k);

	/* m=1;ac.order_id=7;ac.phone=99;a=100;l=uz;c=https://x.y/r?a=b;ct=5;zz=1 */
	sim_payme_link_parse(str_c("bT0xO2FjLm9yZGVyX2lkPTc7YWMucGhvbmU9OTk7YT0xMDA7bD11ejtjPWh0dH"
	                           "BzOi8veC55L3I_YT1iO2N0PTU7eno9MQ"),
	                     &k);
	assert_int_equal(k.code, 0);
	assert_string_equal(k.m, "1");
	assert_int_equal(k.amount, 100);
	assert_string_equal(k.lang, "uz");
	assert_string_equal(k.ret, "https://x.y/r?a=b");
	assert_int_equal(json_object_size(k.account), 2);
	assert_string_equal(json_string_value(json_object_get(k.account, "phone")), "99");
	sim_payme_link_release(&k);

	static const struct {
		const char *b64; /* of what the comment says */
		int code;
	} bad[] = {
	    {"!!!!", -31610},
	    {"YT01MDA7YWMub3JkZXJfaWQ9MQ==", -31601},     /* a=500;ac.order_id=1 */
	    {"bT0xO2FjLm9yZGVyX2lkPTE=", -31610},         /* m=1;ac.order_id=1 */
	    {"bT0xO2E9LTU7YWMub3JkZXJfaWQ9MQ==", -31610}, /* m=1;a=-5;ac.order_id=1 */
	    {"bT0xO2E9NQ==", -31610},                     /* m=1;a=5 */
	    {"bT0xO2E9NTtub3BhaXI=", -31610},             /* m=1;a=5;nopair */
	    {"AAEC", -31610},                             /* control bytes */
	    {"bT0x/w==", -31610},                         /* not UTF-8 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sim_payme_link_parse(str_c(bad[i].b64), &k);
		assert_int_equal(k.code, bad[i].code);
		assert_true(k.err[0] != '\0');
		sim_payme_link_release(&k);
	}
}

static void test_form_and_text(void **state)
{
	char out[16];

	(void)state;
	assert_true(drv_form_get(str_c("a=1&do=pay&x="), "do", out, sizeof(out)));
	assert_string_equal(out, "pay");
	assert_true(drv_form_get(str_c("do=c%61n+cel"), "do", out, sizeof(out)));
	assert_string_equal(out, "can cel");
	assert_true(drv_form_get(str_c("x=&do="), "do", out, sizeof(out)));
	assert_string_equal(out, "");
	assert_false(drv_form_get(str_c("dox=1&d=2"), "do", out, sizeof(out)));
	assert_false(drv_form_get(str_c("do=0123456789abcdef"), "do", out, sizeof(out)));
	assert_false(drv_form_get(str_c(""), "do", out, sizeof(out)));

	assert_true(drv_url_ok("http://127.0.0.1:8080/hooks/payme"));
	assert_true(drv_url_ok("https://x"));
	assert_false(drv_url_ok("ftp://x"));
	assert_false(drv_url_ok("javascript:alert(1)"));
	assert_false(drv_url_ok("http://x/a b"));
	assert_false(drv_url_ok(""));
	assert_false(drv_url_ok(NULL));
	assert_true(drv_text_ok("order-42 ö", 20));
	assert_false(drv_text_ok("a\nb", 20));
	assert_false(drv_text_ok("\xff", 20));
	assert_false(drv_text_ok("abc", 2));
}

static void test_sha1(void **state)
{
	char hex[41];
	struct str parts[] = {STR_LIT("1519051543"), STR_LIT("SECRETKEY")};

	(void)state;
	/* protocols.md D.9 */
	crypto_sha1_hex(parts, 2, hex);
	assert_string_equal(hex, "08be495af2b06930d8269e0d2f0bdd7a754da8cf");
	crypto_sha1_hex(NULL, 0, hex);
	assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64),     cmocka_unit_test(test_som),
	    cmocka_unit_test(test_payme_link), cmocka_unit_test(test_form_and_text),
	    cmocka_unit_test(test_sha1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
