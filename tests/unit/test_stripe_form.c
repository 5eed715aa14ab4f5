/*
 * Unit tests of sim/stripe_form: Stripe's bracket notation (protocols.md
 * B.2) as stripe-node writes it, the encodings a server must accept
 * (brackets encoded or not, '+', escapes), the ambiguous cases the header
 * settles (gaps, "[]", metadata keys of digits, repeats), and the inputs
 * that must fail without changing the tree: conflicts, bounds, broken
 * escapes and bytes that are not UTF-8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim/stripe_form.h"

/* Parse body; on success the tree serialised compactly with sorted keys
 * into out, else "ERR <code>". */
static void parse(const char *body, char *out, size_t outsz)
{
	struct stripe_form f;
	struct err e = {0};
	int rc;

	stripe_form_init(&f);
	rc = stripe_form_parse(&f, body, strlen(body), &e);
	if (rc) {
		snprintf(out, outsz, "ERR %d", -rc);
		assert_true(e.msg[0] != '\0');
	} else {
		json_t *t = stripe_form_tree(&f);
		char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);

		snprintf(out, outsz, "%s", s);
		free(s);
		json_decref(t);
	}
	stripe_form_release(&f);
}

#define EXPECT(body, want)                                                                         \
	do {                                                                                       \
		char got_[4096];                                                                   \
		parse((body), got_, sizeof(got_));                                                 \
		assert_string_equal(got_, (want));                                                 \
	} while (0)

static void test_protocols_example(void **state)
{
	(void)state;
	/* protocols.md B.2, as stripe-node sends it (brackets unencoded) */
	EXPECT("mode=subscription&success_url=https%3A%2F%2Fapp%2Fok%3Fsid%3D%7BCHECKOUT_SESSION_"
	       "ID%7D&cancel_url=https%3A%2F%2Fapp%2Fcancel&client_reference_id=user_42"
	       "&line_items[0][price_data][currency]=usd"
	       "&line_items[0][price_data][product_data][name]=Pro"
	       "&line_items[0][price_data][unit_amount]=999"
	       "&line_items[0][price_data][recurring][interval]=month"
	       "&line_items[0][quantity]=1&metadata[user_id]=42",
	       "{\"cancel_url\":\"https://app/cancel\",\"client_reference_id\":\"user_42\","
	       "\"line_items\":[{\"price_data\":{\"currency\":\"usd\",\"product_data\":{\"name\":"
	       "\"Pro\"},\"recurring\":{\"interval\":\"month\"},\"unit_amount\":\"999\"},"
	       "\"quantity\":\"1\"}],\"metadata\":{\"user_id\":\"42\"},\"mode\":\"subscription\","
	       "\"success_url\":\"https://app/ok?sid={CHECKOUT_SESSION_ID}\"}");
}

static void test_encodings(void **state)
{
	(void)state;
	/* the same key with brackets encoded, in either case of hex */
	EXPECT("metadata%5Buser_id%5D=42&a%5b0%5d=x", "{\"a\":[\"x\"],\"metadata\":{\"user_id\":"
	                                              "\"42\"}}");
	EXPECT("name=Pro+plan&d=a%20b%2Bc", "{\"d\":\"a b+c\",\"name\":\"Pro plan\"}");
	EXPECT("name=%D0%9F%D1%80%D0%BE", "{\"name\":\"\xd0\x9f\xd1\x80\xd0\xbe\"}");
	/* no '=' is an empty value; empty pairs are skipped */
	EXPECT("a&&b=&c=1&", "{\"a\":\"\",\"b\":\"\",\"c\":\"1\"}");
	EXPECT("", "{}");
	/* '=' inside a value */
	EXPECT("u=a=b", "{\"u\":\"a=b\"}");
	/* a name of digits is a name (found by fuzz_stripe_form) */
	EXPECT("2=x&10[a]=y", "{\"10\":{\"a\":\"y\"},\"2\":\"x\"}");
}

static void test_arrays(void **state)
{
	(void)state;
	EXPECT("a[1]=y&a[0]=x", "{\"a\":[\"x\",\"y\"]}");
	/* gaps are closed, in index order */
	EXPECT("a[7]=y&a[3]=x", "{\"a\":[\"x\",\"y\"]}");
	/* leading zeros name the same index */
	EXPECT("a[01]=y&a[1]=z", "{\"a\":[\"z\"]}");
	EXPECT("expand[]=customer&expand[]=subscription",
	       "{\"expand\":[\"customer\",\"subscription\"]}");
	/* a non-final [] continues the last element until a key repeats */
	EXPECT("i[][k]=1&i[][v]=2&i[][k]=3", "{\"i\":[{\"k\":\"1\",\"v\":\"2\"},{\"k\":\"3\"}]}");
	EXPECT("l[0][a][1]=q&l[0][a][0]=p&l[1][b]=r",
	       "{\"l\":[{\"a\":[\"p\",\"q\"]},{\"b\":\"r\"}]}");
}

static void test_metadata_and_repeats(void **state)
{
	(void)state;
	/* metadata keys are keys even when they are digits */
	EXPECT("metadata[0]=x&metadata[10]=y", "{\"metadata\":{\"0\":\"x\",\"10\":\"y\"}}");
	EXPECT("subscription_data[metadata][7]=z",
	       "{\"subscription_data\":{\"metadata\":{\"7\":\"z\"}}}");
	/* the last of a repeated scalar wins; an empty metadata value is kept
	 * (it unsets the key, which is the resource's business) */
	EXPECT("a=1&a=2&metadata[k]=", "{\"a\":\"2\",\"metadata\":{\"k\":\"\"}}");
	EXPECT("metadata=", "{\"metadata\":\"\"}");
}

static void test_conflicts(void **state)
{
	char got[256];
	struct stripe_form f;
	struct err e = {0};
	json_t *t;

	(void)state;
	parse("a=1&a[b]=2", got, sizeof(got));
	assert_string_equal(got, "ERR 2");
	parse("a[b]=2&a=1", got, sizeof(got));
	assert_string_equal(got, "ERR 2");
	parse("a[0]=1&a[x]=2", got, sizeof(got));
	assert_string_equal(got, "ERR 2");
	parse("a[x]=1&a[0]=2", got, sizeof(got));
	assert_string_equal(got, "ERR 2");
	parse("metadata[]=1", got, sizeof(got));
	assert_string_equal(got, "ERR 2");
	/* a failed pair leaves the pairs before it and adds nothing */
	stripe_form_init(&f);
	assert_int_equal(stripe_form_parse(&f, "a=1&b[c]=2&b=3&d=4", 18, &e), -ERR_INVALID);
	t = stripe_form_tree(&f);
	{
		char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);

		assert_string_equal(s, "{\"a\":\"1\",\"b\":{\"c\":\"2\"}}");
		free(s);
	}
	json_decref(t);
	/* a conflict deep in a new path creates nothing on the way */
	assert_int_equal(stripe_form_add(&f, "a[x][y]", 7, "v", 1, &e), -ERR_INVALID);
	assert_int_equal(stripe_form_add(&f, "b[c][d]", 7, "v", 1, &e), -ERR_INVALID);
	t = stripe_form_tree(&f);
	{
		char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);

		assert_string_equal(s, "{\"a\":\"1\",\"b\":{\"c\":\"2\"}}");
		free(s);
	}
	json_decref(t);
	stripe_form_release(&f);
}

static void test_malformed(void **state)
{
	char got[256];

	(void)state;
	const char *bad[] = {"a[=1", "a]=1", "[a]=1", "=1",       "a[b]c=1", "a[b[c]]=1",
	                     "a%=1", "a=%4", "a=%zz", "a=%C3%28", "a%00=1",  "a=x%00y"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse(bad[i], got, sizeof(got));
		assert_string_equal(got, "ERR 2");
	}
}

static void test_bounds(void **state)
{
	char got[256], *big;
	size_t n;

	(void)state;
	parse("a[1000]=x", got, sizeof(got));
	assert_string_equal(got, "ERR 8");
	parse("a[999]=x", got, sizeof(got));
	assert_string_equal(got, "{\"a\":[\"x\"]}");
	parse("a[99999999999999999999]=x", got, sizeof(got));
	assert_string_equal(got, "ERR 8");
	parse("a[1][2][3][4][5][6][7][8]=x", got, sizeof(got));
	assert_string_equal(got, "{\"a\":[[[[[[[[\"x\"]]]]]]]]}");
	parse("a[1][2][3][4][5][6][7][8][9]=x", got, sizeof(got));
	assert_string_equal(got, "ERR 8");

	/* too many pairs */
	n = (STRIPE_FORM_MAX_PAIRS + 1) * 4;
	big = calloc(1, n + 1);
	for (size_t i = 0; i <= STRIPE_FORM_MAX_PAIRS; i++)
		memcpy(big + 4 * i, "a=1&", 4);
	parse(big, got, sizeof(got));
	assert_string_equal(got, "ERR 8");
	free(big);

	/* a key and a value past their bounds */
	big = calloc(1, STRIPE_FORM_MAX_VALUE + 16);
	memset(big, 'k', STRIPE_FORM_MAX_KEY + 1);
	memcpy(big + STRIPE_FORM_MAX_KEY + 1, "=1", 2);
	parse(big, got, sizeof(got));
	assert_string_equal(got, "ERR 8");
	memcpy(big, "v=", 2);
	memset(big + 2, 'x', STRIPE_FORM_MAX_VALUE + 1);
	big[STRIPE_FORM_MAX_VALUE + 3] = '\0';
	parse(big, got, sizeof(got));
	assert_string_equal(got, "ERR 8");
	big[STRIPE_FORM_MAX_VALUE + 2] = '\0'; /* exactly the bound */
	{
		struct stripe_form f;
		struct err e = {0};

		stripe_form_init(&f);
		assert_int_equal(stripe_form_parse(&f, big, strlen(big), &e), 0);
		stripe_form_release(&f);
	}
	free(big);

	/* the whole body */
	{
		struct stripe_form f;
		struct err e = {0};

		stripe_form_init(&f);
		assert_int_equal(stripe_form_parse(&f, "a=1", STRIPE_FORM_MAX_BODY + 1, &e),
		                 -ERR_TOO_BIG);
		stripe_form_release(&f);
	}
}

static void test_add_decoded(void **state)
{
	struct stripe_form f;
	struct err e = {0};
	json_t *t;
	char *s;

	(void)state;
	/* query arguments arrive decoded: brackets and '+' are literal */
	stripe_form_init(&f);
	assert_int_equal(stripe_form_add(&f, "created[gte]", 12, "1700000000", 10, &e), 0);
	assert_int_equal(stripe_form_add(&f, "email", 5, "a+b@x.io", 8, &e), 0);
	assert_int_equal(stripe_form_add(&f, "n", 1, "%41", 3, &e), 0);
	assert_int_equal(stripe_form_add(&f, "bad", 3, "\xff", 1, &e), -ERR_INVALID);
	t = stripe_form_tree(&f);
	s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"created\":{\"gte\":\"1700000000\"},\"email\":\"a+b@x.io\","
	                       "\"n\":\"%41\"}");
	free(s);
	json_decref(t);
	stripe_form_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_protocols_example),
	    cmocka_unit_test(test_encodings),
	    cmocka_unit_test(test_arrays),
	    cmocka_unit_test(test_metadata_and_repeats),
	    cmocka_unit_test(test_conflicts),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_add_decoded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
