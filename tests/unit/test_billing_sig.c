/*
 * Unit tests of billing/sig: the test vectors of protocols.md B.13 (Stripe),
 * C.10 (Payme) and D.4 (Click), then what an attacker or a sloppy sender
 * could change: bodies, secrets, timestamps at the tolerance boundary,
 * header syntax, lengths, schemes, base64, letter case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "billing/sig.h"

/* protocols.md B.13, computed and verified with stripe 23.1.0. */
#define ST_SECRET "whsec_test_secret_0123456789"
#define ST_T      1700000000LL
#define ST_BODY                                                                                    \
	"{\"id\":\"evt_test_1\",\"object\":\"event\",\"type\":\"checkout.session.completed\"}"
#define ST_V1     "3a50483ba5b8f416cbd18e85bee358d180d4ef4b39627fa246bd01eb30b82f89"
#define ST_HEADER "t=1700000000,v1=" ST_V1

/* Verify header h over the vector's body and secret at time now. */
static int stripe(const char *h, int64_t now, struct err *e)
{
	return sig_stripe_verify(h, strlen(h), ST_BODY, strlen(ST_BODY), ST_SECRET, now,
	                         SIG_STRIPE_TOLERANCE, e);
}

static void test_stripe_vector(void **state)
{
	char out[SIG_STRIPE_SIGNED_MAX];
	struct err e = {0};

	(void)state;
	sig_stripe_sign(ST_SECRET, ST_T, ST_BODY, strlen(ST_BODY), out, sizeof(out));
	assert_string_equal(out, ST_HEADER);
	assert_int_equal(stripe(ST_HEADER, ST_T, &e), 0);
	assert_int_equal(stripe(ST_HEADER, ST_T + 10, &e), 0);
	/* The largest timestamp still fits the signer's buffer. */
	sig_stripe_sign(ST_SECRET, INT64_MAX, "", 0, out, sizeof(out));
	assert_int_equal(strlen(out), 2 + 19 + 4 + 64);
	assert_int_equal(sig_stripe_verify(out, strlen(out), "", 0, ST_SECRET, INT64_MAX, 0, &e),
	                 0);
}

static void test_stripe_tampered(void **state)
{
	char body[] = ST_BODY;
	struct err e = {0};

	(void)state;
	body[8] = '2'; /* evt_test_2 */
	assert_int_equal(sig_stripe_verify(ST_HEADER, strlen(ST_HEADER), body, strlen(body),
	                                   ST_SECRET, ST_T, SIG_STRIPE_TOLERANCE, &e),
	                 -ERR_AUTH);
	assert_int_equal(e.code, ERR_AUTH);
	assert_non_null(strstr(e.msg, "none of 1 v1"));
	/* One byte short, one byte more (the length is the caller's word). */
	assert_int_equal(sig_stripe_verify(ST_HEADER, strlen(ST_HEADER), ST_BODY,
	                                   strlen(ST_BODY) - 1, ST_SECRET, ST_T, 300, &e),
	                 -ERR_AUTH);
	assert_int_equal(sig_stripe_verify(ST_HEADER, strlen(ST_HEADER), ST_BODY " ",
	                                   strlen(ST_BODY) + 1, ST_SECRET, ST_T, 300, &e),
	                 -ERR_AUTH);
	/* Wrong secret; the secret without its whsec_ prefix (it is part of the key). */
	assert_int_equal(sig_stripe_verify(ST_HEADER, strlen(ST_HEADER), ST_BODY, strlen(ST_BODY),
	                                   "whsec_test_secret_0123456788", ST_T, 300, &e),
	                 -ERR_AUTH);
	assert_int_equal(sig_stripe_verify(ST_HEADER, strlen(ST_HEADER), ST_BODY, strlen(ST_BODY),
	                                   "test_secret_0123456789", ST_T, 300, &e),
	                 -ERR_AUTH);
	/* The timestamp is signed: another t with the same v1 fails. */
	assert_int_equal(stripe("t=1700000001,v1=" ST_V1, ST_T, &e), -ERR_AUTH);
	/* Upper case, a digit short, a digit more, empty. */
	assert_int_equal(
	    stripe(
	        "t=1700000000,v1=3A50483BA5B8F416CBD18E85BEE358D180D4EF4B39627FA246BD01EB30B82F89",
	        ST_T, &e),
	    -ERR_AUTH);
	assert_int_equal(
	    stripe(
	        "t=1700000000,v1=3a50483ba5b8f416cbd18e85bee358d180d4ef4b39627fa246bd01eb30b82f8",
	        ST_T, &e),
	    -ERR_AUTH);
	assert_int_equal(stripe("t=1700000000,v1=" ST_V1 "0", ST_T, &e), -ERR_AUTH);
	assert_int_equal(stripe("t=1700000000,v1=", ST_T, &e), -ERR_AUTH);
	/* The signature under another scheme name is not a v1. */
	assert_int_equal(stripe("t=1700000000,v2=" ST_V1 ",v1=00", ST_T, &e), -ERR_AUTH);
	/* Neither the secret nor the expected signature is in the message. */
	assert_null(strstr(e.msg, "whsec"));
	assert_null(strstr(e.msg, ST_V1));
}

static void test_stripe_tolerance(void **state)
{
	struct err e = {0};

	(void)state;
	/* protocols.md B.13 step 5: reject when now - t > 300, and t - now > 300. */
	assert_int_equal(stripe(ST_HEADER, ST_T + 300, &e), 0);
	assert_int_equal(stripe(ST_HEADER, ST_T + 301, &e), -ERR_TIMEOUT);
	assert_int_equal(e.code, ERR_TIMEOUT);
	assert_non_null(strstr(e.msg, "301 s old"));
	assert_int_equal(stripe(ST_HEADER, ST_T - 300, &e), 0);
	assert_int_equal(stripe(ST_HEADER, ST_T - 301, &e), -ERR_TIMEOUT);
	assert_non_null(strstr(e.msg, "301 s in the future"));
	assert_int_equal(stripe(ST_HEADER, ST_T + 86400, &e), -ERR_TIMEOUT);
	assert_int_equal(stripe(ST_HEADER, 0, &e), -ERR_TIMEOUT);
	/* A forged signature is a forgery whatever its age. */
	assert_int_equal(stripe("t=1700000000,v1=00", ST_T + 301, &e), -ERR_AUTH);
	/* Another tolerance; zero means the same second only. */
	assert_int_equal(sig_stripe_verify(ST_HEADER, strlen(ST_HEADER), ST_BODY, strlen(ST_BODY),
	                                   ST_SECRET, ST_T + 10, 9, &e),
	                 -ERR_TIMEOUT);
	assert_int_equal(sig_stripe_verify(ST_HEADER, strlen(ST_HEADER), ST_BODY, strlen(ST_BODY),
	                                   ST_SECRET, ST_T, 0, &e),
	                 0);
	assert_int_equal(sig_stripe_verify(ST_HEADER, strlen(ST_HEADER), ST_BODY, strlen(ST_BODY),
	                                   ST_SECRET, ST_T + 1, 0, &e),
	                 -ERR_TIMEOUT);
}

static void test_stripe_header_syntax(void **state)
{
	struct err e = {0};

	(void)state;
	/* Any order, several v1 (any match wins), v0 and unknown schemes ignored. */
	assert_int_equal(stripe("v1=" ST_V1 ",t=1700000000", ST_T, &e), 0);
	assert_int_equal(stripe("t=1700000000,v1=00ff,v1=" ST_V1, ST_T, &e), 0);
	assert_int_equal(stripe("t=1700000000,v1=" ST_V1 ",v1=00ff", ST_T, &e), 0);
	assert_int_equal(stripe("t=1700000000,v0=abc,v1=" ST_V1 ",v9=x=y,foo=", ST_T, &e), 0);
	/* Spaces around items, keys and values; empty items. */
	assert_int_equal(stripe("  t=1700000000 , v1=" ST_V1 "  ", ST_T, &e), 0);
	assert_int_equal(stripe("t = 1700000000,\tv1 =" ST_V1, ST_T, &e), 0);
	assert_int_equal(stripe(",,t=1700000000,,,v1=" ST_V1 ",", ST_T, &e), 0);
	assert_int_equal(stripe("t=1700000000, ,\t,v1=" ST_V1, ST_T, &e), 0);
	/* No header, a blank one, nothing but commas. */
	assert_int_equal(
	    sig_stripe_verify(NULL, 0, ST_BODY, strlen(ST_BODY), ST_SECRET, ST_T, 300, &e),
	    -ERR_NOT_FOUND);
	assert_non_null(strstr(e.msg, "missing"));
	assert_int_equal(stripe("   ", ST_T, &e), -ERR_NOT_FOUND);
	assert_int_equal(stripe(",,,", ST_T, &e), -ERR_INVALID);
	/* No v1: only v0, or only a t. */
	assert_int_equal(stripe("t=1700000000,v0=" ST_V1, ST_T, &e), -ERR_NOT_FOUND);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_non_null(strstr(e.msg, "no v1"));
	assert_int_equal(stripe("t=1700000000", ST_T, &e), -ERR_NOT_FOUND);
	/* Malformed: no t, two t (even equal ones), t not canonical digits. */
	assert_int_equal(stripe("v1=" ST_V1, ST_T, &e), -ERR_INVALID);
	assert_non_null(strstr(e.msg, "no timestamp"));
	assert_int_equal(stripe("t=1700000000,t=1700000000,v1=" ST_V1, ST_T, &e), -ERR_INVALID);
	assert_non_null(strstr(e.msg, "more than one t"));
	assert_int_equal(stripe("t=1,v1=" ST_V1 ",t=1700000000", ST_T, &e), -ERR_INVALID);
	assert_int_equal(stripe("t=,v1=" ST_V1, ST_T, &e), -ERR_INVALID);
	assert_int_equal(stripe("t=abc,v1=" ST_V1, ST_T, &e), -ERR_INVALID);
	assert_int_equal(stripe("t=-1,v1=" ST_V1, ST_T, &e), -ERR_INVALID);
	assert_int_equal(stripe("t=+1700000000,v1=" ST_V1, ST_T, &e), -ERR_INVALID);
	assert_int_equal(stripe("t=01700000000,v1=" ST_V1, ST_T, &e), -ERR_INVALID);
	assert_int_equal(stripe("t=1700000000x,v1=" ST_V1, ST_T, &e), -ERR_INVALID);
	assert_int_equal(stripe("t=1700000000.5,v1=" ST_V1, ST_T, &e), -ERR_INVALID);
	assert_int_equal(stripe("t=9223372036854775808,v1=" ST_V1, ST_T, &e), -ERR_INVALID);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "not a unix time"));
	/* An item without '='. */
	assert_int_equal(stripe("t=1700000000,v1=" ST_V1 ",v1", ST_T, &e), -ERR_INVALID);
	assert_non_null(strstr(e.msg, "no '='"));
	/* Other keys are compared exactly: "T", "V1". */
	assert_int_equal(stripe("T=1700000000,v1=" ST_V1, ST_T, &e), -ERR_INVALID);
	assert_int_equal(stripe("t=1700000000,V1=" ST_V1, ST_T, &e), -ERR_NOT_FOUND);
}

static void test_stripe_lengths(void **state)
{
	char h[SIG_STRIPE_HEADER_MAX + 2];
	struct err e = {0};
	size_t n;

	(void)state;
	/* Only hlen bytes count: a good header followed by junk, and a cut one. */
	snprintf(h, sizeof(h), "%s,v1=junk", ST_HEADER);
	assert_int_equal(sig_stripe_verify(h, strlen(ST_HEADER), ST_BODY, strlen(ST_BODY),
	                                   ST_SECRET, ST_T, 300, &e),
	                 0);
	assert_int_equal(sig_stripe_verify(h, strlen(ST_HEADER) - 1, ST_BODY, strlen(ST_BODY),
	                                   ST_SECRET, ST_T, 300, &e),
	                 -ERR_AUTH);
	/* Exactly the bound is parsed, one byte more is refused unread. */
	n = (size_t)snprintf(h, sizeof(h), "%s,v0=", ST_HEADER);
	memset(h + n, 'a', sizeof(h) - n);
	assert_int_equal(sig_stripe_verify(h, SIG_STRIPE_HEADER_MAX, ST_BODY, strlen(ST_BODY),
	                                   ST_SECRET, ST_T, 300, &e),
	                 0);
	assert_int_equal(sig_stripe_verify(h, SIG_STRIPE_HEADER_MAX + 1, ST_BODY, strlen(ST_BODY),
	                                   ST_SECRET, ST_T, 300, &e),
	                 -ERR_TOO_BIG);
	assert_int_equal(e.code, ERR_TOO_BIG);
	/* An empty secret is our configuration's fault. */
	assert_int_equal(sig_stripe_verify(ST_HEADER, strlen(ST_HEADER), ST_BODY, strlen(ST_BODY),
	                                   "", ST_T, 300, &e),
	                 -ERR_INTERNAL);
}

static void test_stripe_sign_roundtrip(void **state)
{
	static const char bin[] = {'{', 0, '\n', (char)0xff, '}'};
	char out[SIG_STRIPE_SIGNED_MAX];
	struct err e = {0};
	char *big;

	(void)state;
	/* Empty body, a body with NUL and non-UTF-8 bytes, a large body. */
	sig_stripe_sign("whsec_x", 42, NULL, 0, out, sizeof(out));
	assert_int_equal(sig_stripe_verify(out, strlen(out), NULL, 0, "whsec_x", 42, 300, &e), 0);
	assert_int_equal(sig_stripe_verify(out, strlen(out), "x", 1, "whsec_x", 42, 300, &e),
	                 -ERR_AUTH);
	sig_stripe_sign("whsec_x", 42, bin, sizeof(bin), out, sizeof(out));
	assert_int_equal(
	    sig_stripe_verify(out, strlen(out), bin, sizeof(bin), "whsec_x", 42, 300, &e), 0);
	assert_int_equal(
	    sig_stripe_verify(out, strlen(out), bin, sizeof(bin) - 1, "whsec_x", 42, 300, &e),
	    -ERR_AUTH);
	big = malloc(1 << 20);
	assert_non_null(big);
	memset(big, 'z', 1 << 20);
	sig_stripe_sign("whsec_x", 0, big, 1 << 20, out, sizeof(out));
	assert_memory_equal(out, "t=0,v1=", 7);
	assert_int_equal(sig_stripe_verify(out, strlen(out), big, 1 << 20, "whsec_x", 0, 300, &e),
	                 0);
	big[12345] = 'y';
	assert_int_equal(sig_stripe_verify(out, strlen(out), big, 1 << 20, "whsec_x", 0, 300, &e),
	                 -ERR_AUTH);
	free(big);
}

/* protocols.md C.10. */
#define PM_KEY  "0123456789abcdefghijklmnopqrstuvwxyz"
#define PM_B64  "UGF5Y29tOjAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg=="
#define PM_AUTH "Basic " PM_B64

static int payme(const char *authz, const char *key, struct err *e)
{
	return sig_payme_auth(authz, strlen(authz), SIG_PAYME_LOGIN, key, e);
}

static void test_payme_vector(void **state)
{
	struct err e = {0};

	(void)state;
	assert_int_equal(strlen(PM_KEY), 36);
	assert_int_equal(payme(PM_AUTH, PM_KEY, &e), 0);
	/* Scheme case, spaces around and between. */
	assert_int_equal(payme("basic " PM_B64, PM_KEY, &e), 0);
	assert_int_equal(payme("BASIC " PM_B64, PM_KEY, &e), 0);
	assert_int_equal(payme("  Basic \t  " PM_B64 "  ", PM_KEY, &e), 0);
	/* Only alen bytes count. */
	assert_int_equal(
	    sig_payme_auth(PM_AUTH "QUJD", strlen(PM_AUTH), SIG_PAYME_LOGIN, PM_KEY, &e), 0);
	assert_int_equal(sig_payme_auth(PM_AUTH, strlen(PM_AUTH) - 1, SIG_PAYME_LOGIN, PM_KEY, &e),
	                 -ERR_INVALID);
}

static void test_payme_wrong(void **state)
{
	struct err e = {0};

	(void)state;
	/* The right header against another key, a key one longer or shorter. */
	assert_int_equal(payme(PM_AUTH, "0123456789abcdefghijklmnopqrstuvwxyZ", &e), -ERR_AUTH);
	assert_int_equal(e.code, ERR_AUTH);
	assert_null(strstr(e.msg, PM_KEY));
	assert_int_equal(payme(PM_AUTH, PM_KEY "0", &e), -ERR_AUTH);
	assert_int_equal(payme(PM_AUTH, "0123456789abcdefghijklmnopqrstuvwxy", &e), -ERR_AUTH);
	/* Another login: "paycom" (case matters), "Payme", empty. */
	assert_int_equal(sig_payme_auth(PM_AUTH, strlen(PM_AUTH), "paycom", PM_KEY, &e), -ERR_AUTH);
	/* base64("Payme:" PM_KEY), base64(":" PM_KEY) */
	assert_int_equal(
	    payme("Basic UGF5bWU6MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6", PM_KEY, &e),
	    -ERR_AUTH);
	assert_int_equal(
	    payme("Basic OjAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg==", PM_KEY, &e),
	    -ERR_AUTH);
	/* base64("Paycom:"): an empty key. */
	assert_int_equal(payme("Basic UGF5Y29tOg==", PM_KEY, &e), -ERR_AUTH);
	/* A key with ':' in it: base64("Paycom:ab:cd"); split at the first ':'. */
	assert_int_equal(payme("Basic UGF5Y29tOmFiOmNk", "ab:cd", &e), 0);
	assert_int_equal(payme("Basic UGF5Y29tOmFiOmNk", "ab", &e), -ERR_AUTH);
	assert_int_equal(payme("Basic UGF5Y29tOmFiOmNk", "cd", &e), -ERR_AUTH);
	/* An empty expected key is refused whatever comes. */
	assert_int_equal(payme("Basic UGF5Y29tOg==", "", &e), -ERR_INTERNAL);
}

static void test_payme_malformed(void **state)
{
	struct err e = {0};

	(void)state;
	assert_int_equal(sig_payme_auth(NULL, 0, SIG_PAYME_LOGIN, PM_KEY, &e), -ERR_NOT_FOUND);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(payme(" \t ", PM_KEY, &e), -ERR_NOT_FOUND);
	/* Other schemes; no space after Basic; Basic with nothing after it. */
	assert_int_equal(payme("Bearer " PM_B64, PM_KEY, &e), -ERR_INVALID);
	assert_non_null(strstr(e.msg, "not basic"));
	assert_int_equal(payme("Digest username=\"Paycom\"", PM_KEY, &e), -ERR_INVALID);
	assert_int_equal(payme("Basic" PM_B64, PM_KEY, &e), -ERR_INVALID);
	assert_int_equal(payme(PM_B64, PM_KEY, &e), -ERR_INVALID);
	assert_int_equal(payme("Basic", PM_KEY, &e), -ERR_INVALID);
	assert_int_equal(payme("Basic   ", PM_KEY, &e), -ERR_INVALID);
	assert_non_null(strstr(e.msg, "no credentials"));
	/* base64 garbage: bad characters, bad length, padding inside, unpadded, URL alphabet. */
	assert_int_equal(payme("Basic !!!!", PM_KEY, &e), -ERR_INVALID);
	assert_non_null(strstr(e.msg, "base64"));
	assert_int_equal(payme("Basic UGF5Y29", PM_KEY, &e), -ERR_INVALID);
	assert_int_equal(payme("Basic UG=5Y29tOmFiOmNk", PM_KEY, &e), -ERR_INVALID);
	assert_int_equal(payme("Basic UGF5Y29tOmFiOmNk====", PM_KEY, &e), -ERR_INVALID);
	assert_int_equal(payme("Basic ====", PM_KEY, &e), -ERR_INVALID);
	assert_int_equal(payme("Basic A===", PM_KEY, &e), -ERR_INVALID);
	assert_int_equal(
	    payme("Basic UGF5Y29tOjAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg", PM_KEY, &e),
	    -ERR_INVALID);
	assert_int_equal(payme("Basic UGF5Y29t OjAx", PM_KEY, &e), -ERR_INVALID);
	/* A token cut one short of its last character, which is right there. */
	assert_int_equal(sig_payme_auth("Basic UGF5Y29tOmFiOmNk", 21, SIG_PAYME_LOGIN, "ab:cd", &e),
	                 -ERR_INVALID);
	assert_int_equal(payme("Basic UGF5Y29t-jAx", PM_KEY, &e), -ERR_INVALID);
	/* Decodes, but has no ':': base64("Paycom"). */
	assert_int_equal(payme("Basic UGF5Y29t", PM_KEY, &e), -ERR_INVALID);
	assert_non_null(strstr(e.msg, "no ':'"));
}

static void test_payme_lengths(void **state)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char plain[400], h[SIG_PAYME_AUTH_MAX + 8], key[400];
	size_t plen, o, i;
	struct err e = {0};

	(void)state;
	/* "Basic" 3 spaces, 504 base64 characters: 378 bytes, "Paycom:" and a 371-byte key. */
	plen = SIG_PAYME_AUTH_MAX - 8;
	plen = plen / 4 * 3;
	memcpy(plain, "Paycom:", 7);
	for (i = 7; i < plen; i++)
		plain[i] = (char)('a' + i % 26);
	memcpy(key, plain + 7, plen - 7);
	key[plen - 7] = '\0';
	memcpy(h, "Basic   ", 8);
	for (i = 0, o = 8; i < plen; i += 3) {
		unsigned v = (unsigned char)plain[i] << 16 | (unsigned char)plain[i + 1] << 8 |
		             (unsigned char)plain[i + 2];

		h[o++] = b64[v >> 18];
		h[o++] = b64[(v >> 12) & 63];
		h[o++] = b64[(v >> 6) & 63];
		h[o++] = b64[v & 63];
	}
	assert_int_equal(o, SIG_PAYME_AUTH_MAX);
	assert_int_equal(sig_payme_auth(h, o, SIG_PAYME_LOGIN, key, &e), 0);
	key[0] ^= 1;
	assert_int_equal(sig_payme_auth(h, o, SIG_PAYME_LOGIN, key, &e), -ERR_AUTH);
	key[0] ^= 1;
	h[o++] = ' ';
	assert_int_equal(sig_payme_auth(h, o, SIG_PAYME_LOGIN, key, &e), -ERR_TOO_BIG);
	assert_int_equal(e.code, ERR_TOO_BIG);
}

/* protocols.md D.4. */
#define CL_SECRET "SECRETKEY"

static struct sig_click click_prepare(void)
{
	return (struct sig_click){
	    .click_trans_id = STR_LIT("123456789"),
	    .service_id = STR_LIT("12345"),
	    .merchant_trans_id = STR_LIT("order-42"),
	    .amount = STR_LIT("50000.00"),
	    .action = STR_LIT("0"),
	    .sign_time = STR_LIT("2024-05-01 12:00:00"),
	};
}

static struct sig_click click_complete(void)
{
	struct sig_click f = click_prepare();

	f.merchant_prepare_id = STR_LIT("1001");
	f.action = STR_LIT("1");
	f.sign_time = STR_LIT("2024-05-01 12:00:05");
	return f;
}

static void test_click_vectors(void **state)
{
	struct sig_click p = click_prepare(), c = click_complete();
	char out[CRYPTO_MD5_HEX];
	struct err e = {0};

	(void)state;
	sig_click_prepare(&p, CL_SECRET, out);
	assert_string_equal(out, "02dde575c076f81bd2cc3861dba37e08");
	sig_click_complete(&c, CL_SECRET, out);
	assert_string_equal(out, "1d6a2a7f3eda4e1a477b908a2f48cae2");
	assert_int_equal(
	    sig_click_verify(&p, STR_LIT("02dde575c076f81bd2cc3861dba37e08"), CL_SECRET, &e), 0);
	assert_int_equal(
	    sig_click_verify(&c, STR_LIT("1d6a2a7f3eda4e1a477b908a2f48cae2"), CL_SECRET, &e), 0);
	/* Upper and mixed case are the same digest. */
	assert_int_equal(
	    sig_click_verify(&p, STR_LIT("02DDE575C076F81BD2CC3861DBA37E08"), CL_SECRET, &e), 0);
	assert_int_equal(
	    sig_click_verify(&c, STR_LIT("1D6a2A7f3EDA4e1a477b908a2f48cae2"), CL_SECRET, &e), 0);
	/* A Prepare's sign ignores merchant_prepare_id, even when one is sent. */
	p.merchant_prepare_id = STR_LIT("1001");
	sig_click_prepare(&p, CL_SECRET, out);
	assert_string_equal(out, "02dde575c076f81bd2cc3861dba37e08");
}

static void test_click_wrong(void **state)
{
	struct sig_click p = click_prepare(), c = click_complete(), f;
	struct err e = {0};
	char out[CRYPTO_MD5_HEX];
	/* click-integration-php's bug: merchant_prepare_id where merchant_trans_id belongs. */
	struct str php[] = {
	    c.click_trans_id, c.service_id, STR_LIT(CL_SECRET), c.merchant_prepare_id,
	    c.amount,         c.action,     c.sign_time};

	(void)state;
	/* Wrong secret. */
	assert_int_equal(
	    sig_click_verify(&p, STR_LIT("02dde575c076f81bd2cc3861dba37e08"), "SECRETKEz", &e),
	    -ERR_AUTH);
	assert_int_equal(e.code, ERR_AUTH);
	assert_null(strstr(e.msg, CL_SECRET));
	/* The amount re-formatted is another message: "50000" is not "50000.00". */
	f = p;
	f.amount = STR_LIT("50000");
	assert_int_equal(
	    sig_click_verify(&f, STR_LIT("02dde575c076f81bd2cc3861dba37e08"), CL_SECRET, &e),
	    -ERR_AUTH);
	/* Each signed field is signed. */
	f = c;
	f.merchant_prepare_id = STR_LIT("1002");
	assert_int_equal(
	    sig_click_verify(&f, STR_LIT("1d6a2a7f3eda4e1a477b908a2f48cae2"), CL_SECRET, &e),
	    -ERR_AUTH);
	f = c;
	f.sign_time = STR_LIT("2024-05-01 12:00:06");
	assert_int_equal(
	    sig_click_verify(&f, STR_LIT("1d6a2a7f3eda4e1a477b908a2f48cae2"), CL_SECRET, &e),
	    -ERR_AUTH);
	/* A Prepare's sign on a Complete and back: the action picks the formula. */
	f = c;
	f.action = STR_LIT("0");
	sig_click_prepare(&f, CL_SECRET, out);
	f.action = STR_LIT("1");
	assert_int_equal(sig_click_verify(&f, (struct str){out, 32}, CL_SECRET, &e), -ERR_AUTH);
	assert_int_equal(
	    sig_click_verify(&p, STR_LIT("1d6a2a7f3eda4e1a477b908a2f48cae2"), CL_SECRET, &e),
	    -ERR_AUTH);
	crypto_md5_hex(php, 7, out);
	assert_int_equal(sig_click_verify(&c, (struct str){out, 32}, CL_SECRET, &e), -ERR_AUTH);
	/* Short, long, not hex, padded with spaces. */
	assert_int_equal(
	    sig_click_verify(&p, STR_LIT("02dde575c076f81bd2cc3861dba37e0"), CL_SECRET, &e),
	    -ERR_AUTH);
	assert_int_equal(
	    sig_click_verify(&p, STR_LIT("02dde575c076f81bd2cc3861dba37e080"), CL_SECRET, &e),
	    -ERR_AUTH);
	assert_int_equal(
	    sig_click_verify(&p, STR_LIT("02dde575c076f81bd2cc3861dba37e0g"), CL_SECRET, &e),
	    -ERR_AUTH);
	assert_int_equal(
	    sig_click_verify(&p, STR_LIT(" 02dde575c076f81bd2cc3861dba37e08"), CL_SECRET, &e),
	    -ERR_AUTH);
}

static void test_click_malformed(void **state)
{
	char big[SIG_CLICK_FIELD_MAX + 1], buf[64];
	struct sig_click p = click_prepare(), f;
	struct err e = {0};

	(void)state;
	assert_int_equal(sig_click_verify(&p, STR_LIT(""), CL_SECRET, &e), -ERR_NOT_FOUND);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	f = p;
	f.action = STR_LIT("2");
	assert_int_equal(
	    sig_click_verify(&f, STR_LIT("02dde575c076f81bd2cc3861dba37e08"), CL_SECRET, &e),
	    -ERR_INVALID);
	f.action = STR_LIT("");
	assert_int_equal(
	    sig_click_verify(&f, STR_LIT("02dde575c076f81bd2cc3861dba37e08"), CL_SECRET, &e),
	    -ERR_INVALID);
	f.action = STR_LIT("00");
	assert_int_equal(
	    sig_click_verify(&f, STR_LIT("02dde575c076f81bd2cc3861dba37e08"), CL_SECRET, &e),
	    -ERR_INVALID);
	assert_int_equal(sig_click_verify(&p, STR_LIT("02dde575c076f81bd2cc3861dba37e08"), "", &e),
	                 -ERR_INTERNAL);
	/* A field at the bound is hashed; one byte over is refused. */
	memset(big, '7', sizeof(big));
	f = p;
	f.merchant_trans_id = (struct str){big, SIG_CLICK_FIELD_MAX};
	assert_int_equal(
	    sig_click_verify(&f, STR_LIT("02dde575c076f81bd2cc3861dba37e08"), CL_SECRET, &e),
	    -ERR_AUTH);
	f.merchant_trans_id.len++;
	assert_int_equal(
	    sig_click_verify(&f, STR_LIT("02dde575c076f81bd2cc3861dba37e08"), CL_SECRET, &e),
	    -ERR_TOO_BIG);
	assert_int_equal(e.code, ERR_TOO_BIG);
	assert_int_equal(sig_click_verify(&p, (struct str){big, sizeof(big)}, CL_SECRET, &e),
	                 -ERR_TOO_BIG);
	/* Fields are slices: only their lengths count. */
	memcpy(buf, "order-42order-43", 16);
	f = p;
	f.merchant_trans_id = (struct str){buf, 8};
	assert_int_equal(
	    sig_click_verify(&f, STR_LIT("02dde575c076f81bd2cc3861dba37e08"), CL_SECRET, &e), 0);
	f.merchant_trans_id = (struct str){buf + 8, 8};
	assert_int_equal(
	    sig_click_verify(&f, STR_LIT("02dde575c076f81bd2cc3861dba37e08"), CL_SECRET, &e),
	    -ERR_AUTH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stripe_vector),    cmocka_unit_test(test_stripe_tampered),
	    cmocka_unit_test(test_stripe_tolerance), cmocka_unit_test(test_stripe_header_syntax),
	    cmocka_unit_test(test_stripe_lengths),   cmocka_unit_test(test_stripe_sign_roundtrip),
	    cmocka_unit_test(test_payme_vector),     cmocka_unit_test(test_payme_wrong),
	    cmocka_unit_test(test_payme_malformed),  cmocka_unit_test(test_payme_lengths),
	    cmocka_unit_test(test_click_vectors),    cmocka_unit_test(test_click_wrong),
	    cmocka_unit_test(test_click_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
