/*
 * Unit tests of collection's pure parts: validation before storage
 * (collect/validate) as a table, and reach at 24 h / 48 h read off a post's
 * snapshots (collect_reach).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "collect/collect_impl.h"
#include "collect/validate.h"
#include "lib/mem.h"

#define NOW  1795000000000LL
#define HOUR 3600000LL

static void test_counts(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_int_equal(cv_count(0, NOW, NOW, &why), CV_OK);
	assert_int_equal(cv_count(12345, NOW - HOUR, NOW, &why), CV_OK);
	assert_int_equal(cv_count(-1, NOW, NOW, &why), CV_REJECT);
	assert_string_equal(why, "negative count");
	/* a little clock skew is fine, a day ahead is not */
	assert_int_equal(cv_count(5, NOW + CV_SKEW_MS, NOW, &why), CV_OK);
	assert_int_equal(cv_count(5, NOW + CV_SKEW_MS + 1, NOW, &why), CV_REJECT);
	assert_string_equal(why, "measured in the future");
	assert_int_equal(cv_count(5, 0, NOW, &why), CV_REJECT);
}

static void test_views(void **state)
{
	static const struct {
		bool have;
		struct cv_reading stored, next;
		enum cv_verdict want;
	} cases[] = {
	    {false, {0, false}, {0, false}, CV_OK},            /* the first reading */
	    {false, {0, false}, {-5, false}, CV_REJECT},       /* negative */
	    {true, {100, false}, {120, false}, CV_OK},         /* grew */
	    {true, {100, false}, {100, false}, CV_DUP},        /* the same */
	    {true, {100, false}, {99, false}, CV_FLAG},        /* went down */
	    {true, {1234, false}, {1200, true}, CV_DUP},       /* 1.2K after 1,234: nothing new */
	    {true, {1234, false}, {1300, true}, CV_OK},        /* 1.3K: at least 1,250 */
	    {true, {1234, false}, {1100, true}, CV_FLAG},      /* 1.1K: below 1,200 */
	    {true, {1200, true}, {1180, false}, CV_OK},        /* exact inside 1.2K's interval */
	    {true, {1200, true}, {1100, false}, CV_FLAG},      /* exact below it */
	    {true, {1200, true}, {1200, true}, CV_DUP},        /* 1.2K again */
	    {true, {1200, true}, {1100, true}, CV_FLAG},       /* 1.1K after 1.2K */
	    {true, {1200, true}, {1300, true}, CV_OK},         /* 1.3K after 1.2K */
	    {true, {99900, true}, {100000, true}, CV_OK},      /* 99.9K to 100K */
	    {true, {120000, true}, {119900, false}, CV_OK},    /* exact within 120K's unit */
	    {true, {3400000, true}, {3300000, true}, CV_FLAG}, /* 3.3M after 3.4M */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *why = NULL;
		enum cv_verdict got = cv_views(cases[i].have, cases[i].stored, cases[i].next, &why);

		if (got != cases[i].want)
			fail_msg("case %zu: %s, want %s (%s)", i, cv_verdict_name(got),
			         cv_verdict_name(cases[i].want), why);
	}
	assert_int_equal(cv_unit((struct cv_reading){1200, true}), 100);
	assert_int_equal(cv_unit((struct cv_reading){123000, true}), 1000);
	assert_int_equal(cv_unit((struct cv_reading){3400000, true}), 100000);
	assert_int_equal(cv_unit((struct cv_reading){3400000, false}), 1);
}

static void test_reach(void **state)
{
	const int64_t posted = NOW;
	/* readings at 6, 20, 28, 47 and 50 hours */
	const int64_t at[] = {posted + 6 * HOUR, posted + 20 * HOUR, posted + 28 * HOUR,
	                      posted + 47 * HOUR, posted + 50 * HOUR};
	const int64_t views[] = {300, 800, 1000, 1300, 1330};

	(void)state;
	/* 24 h: between 800 (20 h) and 1,000 (28 h), halfway: 900 */
	assert_int_equal(collect_reach(at, views, 5, posted, 24 * HOUR), 900);
	/* 48 h: 1,300 + 30 * 1/3 = 1,310 */
	assert_int_equal(collect_reach(at, views, 5, posted, 48 * HOUR), 1310);
	/* not yet reached */
	assert_int_equal(collect_reach(at, views, 2, posted, 24 * HOUR), -1);
	/* a reading exactly at 24 h */
	{
		const int64_t at1[] = {posted + 24 * HOUR};
		const int64_t v1[] = {777};

		assert_int_equal(collect_reach(at1, v1, 1, posted, 24 * HOUR), 777);
	}
	/* readings too far apart say nothing: first seen at 30 h, last before at 10 h */
	{
		const int64_t at2[] = {posted + 10 * HOUR, posted + 30 * HOUR};
		const int64_t v2[] = {500, 900};

		assert_int_equal(collect_reach(at2, v2, 2, posted, 24 * HOUR), -1);
	}
	/* from the moment of posting (0 views) to a reading at 8 h... and 24 h
	 * is beyond: unknown */
	assert_int_equal(collect_reach(NULL, NULL, 0, posted, 24 * HOUR), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_views),
	    cmocka_unit_test(test_reach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
