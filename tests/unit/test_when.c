/*
 * Unit tests of sched/when: local time <-> UTC on daylight-saving transition
 * days and recurrence expansion.
 *
 * Every expected instant below was computed independently of ICU with
 * Python's zoneinfo (the system tzdata), e.g.
 *   /usr/bin/python3 -c 'from datetime import datetime; from zoneinfo import
 *   ZoneInfo; print(int(datetime(2026,3,29,2,30,
 *   tzinfo=ZoneInfo("Europe/Berlin"), fold=0).timestamp()*1000))'
 * fold=0 gives the first occurrence of an ambiguous time and, for a
 * non-existent one, the offset before the gap (i.e. moved forward by it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sched/when.h"

#define BERLIN   "Europe/Berlin"
#define NEW_YORK "America/New_York"
#define TASHKENT "Asia/Tashkent"

static struct when_local lt_of(int y, int mo, int d, int h, int mi)
{
	struct when_local lt = {.year = y, .month = mo, .day = d, .hour = h, .minute = mi};

	return lt;
}

/* Converts, checks instant and adjustment, then converts back and checks
 * the local fields (which, when moved, are expected_back). */
static void check_utc(const char *zone, struct when_local lt, int64_t want_ms,
                      enum when_adjust want_adj, struct when_local want_back, int want_offset)
{
	struct when_local back;
	enum when_adjust adj;
	struct err e = {0};
	int64_t ms = 0;
	int offset = 0;

	assert_int_equal(when_to_utc(zone, &lt, &ms, &adj, &e), 0);
	assert_int_equal(ms, want_ms);
	assert_int_equal(adj, want_adj);
	assert_int_equal(when_to_local(zone, ms, &back, NULL, &offset, &e), 0);
	assert_int_equal(back.year, want_back.year);
	assert_int_equal(back.month, want_back.month);
	assert_int_equal(back.day, want_back.day);
	assert_int_equal(back.hour, want_back.hour);
	assert_int_equal(back.minute, want_back.minute);
	assert_int_equal(offset, want_offset);
}

static void test_berlin(void **state)
{
	(void)state;
	/* Spring forward 2026-03-29 02:00 CET -> 03:00 CEST. */
	check_utc(BERLIN, lt_of(2026, 3, 29, 1, 59), 1774745940000, WHEN_EXACT,
	          lt_of(2026, 3, 29, 1, 59), 60);
	check_utc(BERLIN, lt_of(2026, 3, 29, 2, 30), 1774747800000, WHEN_MOVED_FORWARD,
	          lt_of(2026, 3, 29, 3, 30), 120); /* 01:30Z */
	check_utc(BERLIN, lt_of(2026, 3, 29, 3, 0), 1774746000000, WHEN_EXACT,
	          lt_of(2026, 3, 29, 3, 0), 120);
	/* Fall back 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 twice. */
	check_utc(BERLIN, lt_of(2026, 10, 25, 2, 30), 1792888200000, WHEN_AMBIGUOUS_FIRST,
	          lt_of(2026, 10, 25, 2, 30), 120); /* 00:30Z, not 01:30Z */
	check_utc(BERLIN, lt_of(2026, 10, 25, 3, 0), 1792893600000, WHEN_EXACT,
	          lt_of(2026, 10, 25, 3, 0), 60);
	check_utc(BERLIN, lt_of(2026, 7, 1, 12, 0), 1782900000000, WHEN_EXACT,
	          lt_of(2026, 7, 1, 12, 0), 120);
}

static void test_new_york(void **state)
{
	(void)state;
	/* 2026-03-08 02:00 EST -> 03:00 EDT. */
	check_utc(NEW_YORK, lt_of(2026, 3, 8, 2, 30), 1772955000000, WHEN_MOVED_FORWARD,
	          lt_of(2026, 3, 8, 3, 30), -240); /* 07:30Z */
	/* 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 twice. */
	check_utc(NEW_YORK, lt_of(2026, 11, 1, 1, 30), 1793511000000, WHEN_AMBIGUOUS_FIRST,
	          lt_of(2026, 11, 1, 1, 30), -240); /* 05:30Z, not 06:30Z */
	check_utc(NEW_YORK, lt_of(2026, 11, 1, 2, 0), 1793516400000, WHEN_EXACT,
	          lt_of(2026, 11, 1, 2, 0), -300);
	check_utc(NEW_YORK, lt_of(2026, 1, 15, 9, 0), 1768485600000, WHEN_EXACT,
	          lt_of(2026, 1, 15, 9, 0), -300);
}

static void test_tashkent(void **state)
{
	(void)state;
	/* UTC+5 all year: Berlin's transition times are ordinary there. */
	check_utc(TASHKENT, lt_of(2026, 3, 29, 2, 30), 1774733400000, WHEN_EXACT,
	          lt_of(2026, 3, 29, 2, 30), 300); /* 2026-03-28 21:30Z */
	check_utc(TASHKENT, lt_of(2026, 10, 25, 2, 30), 1792877400000, WHEN_EXACT,
	          lt_of(2026, 10, 25, 2, 30), 300);
}

static void test_to_local(void **state)
{
	struct when_local lt;
	struct err e = {0};
	int wd = 0, off = 0;

	(void)state;
	/* 2026-10-25 01:30Z is the second 02:30 in Berlin (CET), a Sunday. */
	assert_int_equal(when_to_local(BERLIN, 1792891800000, &lt, &wd, &off, &e), 0);
	assert_int_equal(lt.hour, 2);
	assert_int_equal(lt.minute, 30);
	assert_int_equal(wd, 7);
	assert_int_equal(off, 60);
	/* Truncated to the minute: 2026-06-01 (a Monday) 08:00:59.999Z. */
	assert_int_equal(when_to_local(BERLIN, 1780300800000 + 59999, &lt, &wd, NULL, &e), 0);
	assert_int_equal(lt.day, 1);
	assert_int_equal(lt.hour, 10);
	assert_int_equal(lt.minute, 0);
	assert_int_equal(wd, 1);
	/* Unix epoch in Tashkent: 1970-01-01 was a Thursday. */
	assert_int_equal(when_to_local(TASHKENT, 0, &lt, &wd, &off, &e), 0);
	assert_int_equal(lt.year, 1970);
	assert_int_equal(wd, 4);
	assert_int_equal(when_to_local("Mars/Olympus", 0, &lt, &wd, &off, &e), -ERR_INVALID);
	assert_int_equal(e.code, ERR_INVALID);
}

static void test_invalid(void **state)
{
	struct when_local bad[] = {
	    lt_of(2026, 0, 1, 9, 0),  lt_of(2026, 13, 1, 9, 0), lt_of(2026, 4, 31, 9, 0),
	    lt_of(2026, 2, 29, 9, 0), lt_of(2026, 1, 1, 24, 0), lt_of(2026, 1, 1, 25, 0),
	    lt_of(2026, 1, 1, 9, 60), lt_of(2026, 1, 0, 9, 0),  lt_of(1800, 1, 1, 9, 0),
	};
	struct when_local ok = lt_of(2028, 2, 29, 9, 0); /* a leap year */
	struct err e = {0};
	int64_t ms = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.code = 0;
		assert_int_equal(when_to_utc(BERLIN, &bad[i], &ms, NULL, &e), -ERR_INVALID);
		assert_int_equal(e.code, ERR_INVALID);
		assert_int_equal(ms, 42); /* untouched */
	}
	assert_int_equal(when_to_utc("Europe/Berlinn", &ok, &ms, NULL, &e), -ERR_INVALID);
	assert_int_equal(when_to_utc("", &ok, &ms, NULL, &e), -ERR_INVALID);
	assert_int_equal(when_to_utc(NULL, &ok, &ms, NULL, &e), -ERR_INVALID);
	assert_int_equal(ms, 42);
	assert_int_equal(when_to_utc(BERLIN, &ok, &ms, NULL, &e), 0);
	assert_int_not_equal(ms, 42);
}

static struct when_rule rule(enum when_freq f, int y, int mo, int d, int h, int mi)
{
	struct when_rule r;

	memset(&r, 0, sizeof(r));
	r.freq = f;
	r.hour = h;
	r.minute = mi;
	r.start = lt_of(y, mo, d, 0, 0);
	return r;
}

static void test_rule_check(void **state)
{
	struct when_rule r;
	struct err e = {0};
	int64_t ms = 0;

	(void)state;
	r = rule(WHEN_DAILY, 2026, 1, 1, 9, 0);
	assert_int_equal(when_rule_check(&r, &e), 0); /* forever is allowed */
	r = rule(WHEN_WEEKLY, 2026, 1, 1, 9, 0);
	assert_int_equal(when_rule_check(&r, &e), -ERR_INVALID); /* no weekday */
	r.weekdays = 1u << 7;
	assert_int_equal(when_rule_check(&r, &e), -ERR_INVALID);
	r.weekdays = WHEN_SUN;
	assert_int_equal(when_rule_check(&r, &e), 0);
	r = rule(WHEN_DAILY, 2026, 1, 1, 25, 0);
	assert_int_equal(when_rule_check(&r, &e), -ERR_INVALID);
	r = rule(WHEN_DAILY, 2026, 0, 1, 9, 0);
	assert_int_equal(when_rule_check(&r, &e), -ERR_INVALID);
	r = rule(WHEN_MONTHLY, 2026, 1, 1, 9, 0);
	assert_int_equal(when_rule_check(&r, &e), -ERR_INVALID); /* month_day 0 */
	r.month_day = 32;
	assert_int_equal(when_rule_check(&r, &e), -ERR_INVALID);
	r.month_day = 31;
	assert_int_equal(when_rule_check(&r, &e), 0);
	r.count = -1;
	assert_int_equal(when_rule_check(&r, &e), -ERR_INVALID);
	r.count = WHEN_COUNT_MAX + 1;
	assert_int_equal(when_rule_check(&r, &e), -ERR_INVALID);
	r = rule((enum when_freq)7, 2026, 1, 1, 9, 0);
	assert_int_equal(when_rule_check(&r, &e), -ERR_INVALID);
	/* when_next checks the rule and the zone. */
	r = rule(WHEN_WEEKLY, 2026, 1, 1, 9, 0);
	assert_int_equal(when_next(BERLIN, &r, 0, 0, &ms, NULL, &e), -ERR_INVALID);
	r = rule(WHEN_DAILY, 2026, 1, 1, 9, 0);
	assert_int_equal(when_next("Nowhere/Town", &r, 0, 0, &ms, NULL, &e), -ERR_INVALID);
}

/* Daily 09:00 Berlin across the spring change: 08:00Z, then 07:00Z. */
static void test_daily_dst(void **state)
{
	const int64_t want[] = {1774598400000, 1774684800000, 1774767600000, 1774854000000,
	                        1774940400000}; /* 2026-03-27..31 09:00 local */
	struct when_rule r = rule(WHEN_DAILY, 2026, 3, 27, 9, 0);
	enum when_adjust adj;
	struct err e = {0};
	int64_t ms, after = 0;

	(void)state;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(when_next(BERLIN, &r, after, i, &ms, &adj, &e), 0);
		assert_int_equal(ms, want[i]);
		assert_int_equal(adj, WHEN_EXACT);
		after = ms;
	}
	/* From the middle of a day: the same day's 09:00 if still ahead. */
	assert_int_equal(when_next(BERLIN, &r, want[2] - 1, 0, &ms, NULL, &e), 0);
	assert_int_equal(ms, want[2]);
	assert_int_equal(when_next(BERLIN, &r, want[2], 0, &ms, NULL, &e), 0);
	assert_int_equal(ms, want[3]);
}

/* Daily 02:30 Berlin: the spring day's 02:30 does not exist -> 03:30 CEST. */
static void test_daily_gap(void **state)
{
	const int64_t want[] = {1774661400000, 1774747800000, 1774830600000};
	struct when_rule r = rule(WHEN_DAILY, 2026, 3, 28, 2, 30);
	enum when_adjust adjs[4];
	struct when_local lt;
	struct err e = {0};
	int64_t out[4];
	size_t n = 0;

	(void)state;
	assert_int_equal(when_expand(BERLIN, &r, 0, want[2] + 1, out, adjs, 4, &n, &e), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(out[i], want[i]);
	assert_int_equal(adjs[0], WHEN_EXACT);
	assert_int_equal(adjs[1], WHEN_MOVED_FORWARD);
	assert_int_equal(adjs[2], WHEN_EXACT);
	assert_int_equal(when_to_local(BERLIN, out[1], &lt, NULL, NULL, &e), 0);
	assert_int_equal(lt.hour, 3);
	assert_int_equal(lt.minute, 30);
}

/* Weekly Monday and Thursday 10:00 Berlin from Monday 2026-06-01, 5 times. */
static void test_weekly_count(void **state)
{
	/* June 1 (Mon), 4 (Thu), 8, 11, 15 at 08:00Z. */
	const int64_t want[] = {1780300800000, 1780560000000, 1780905600000, 1781164800000,
	                        1781510400000};
	const int64_t june18 = 1781769600000; /* the sixth, beyond the count */
	struct when_rule r = rule(WHEN_WEEKLY, 2026, 6, 1, 10, 0);
	struct err e = {0};
	int64_t out[8], ms, after;
	size_t n = 0;

	(void)state;
	r.weekdays = WHEN_MON | WHEN_THU;
	r.count = 5;
	assert_int_equal(when_expand(BERLIN, &r, 0, june18 + 1, out, NULL, 8, &n, &e), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(out[i], want[i]);
	/* The count is applied from the start even when the range starts later. */
	assert_int_equal(when_expand(BERLIN, &r, want[3], june18 + 1, out, NULL, 8, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], want[3]);
	assert_int_equal(out[1], want[4]);
	after = 0;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(when_next(BERLIN, &r, after, i, &ms, NULL, &e), 0);
		assert_int_equal(ms, want[i]);
		after = ms;
	}
	assert_int_equal(when_next(BERLIN, &r, after, 5, &ms, NULL, &e), -ERR_NOT_FOUND);
	assert_int_equal(ms, want[4]);
	/* Without the count the sixth follows. */
	r.count = 0;
	assert_int_equal(when_next(BERLIN, &r, after, 5, &ms, NULL, &e), 0);
	assert_int_equal(ms, june18);
}

/* Monthly on the 31st at 12:00 Berlin: short months use their last day. */
static void test_monthly_31(void **state)
{
	/* 2026-12-31, 2027-01-31, 2027-02-28, 2027-03-31 (CEST), 2027-04-30. */
	const int64_t want[] = {1798714800000, 1801393200000, 1803812400000, 1806487200000,
	                        1809079200000};
	struct when_rule r = rule(WHEN_MONTHLY, 2026, 12, 1, 12, 0);
	struct when_local lt;
	struct err e = {0};
	int64_t out[8];
	size_t n = 0;

	(void)state;
	r.month_day = 31;
	assert_int_equal(when_expand(BERLIN, &r, 0, want[4] + 1, out, NULL, 8, &n, &e), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(out[i], want[i]);
	assert_int_equal(when_to_local(BERLIN, out[2], &lt, NULL, NULL, &e), 0);
	assert_int_equal(lt.month, 2);
	assert_int_equal(lt.day, 28);
	assert_int_equal(lt.hour, 12);
}

/* until is inclusive: an occurrence exactly at until happens, the next not. */
static void test_until(void **state)
{
	const int64_t mar28 = 1774684800000, mar29 = 1774767600000; /* 09:00 Berlin */
	struct when_rule r = rule(WHEN_DAILY, 2026, 3, 27, 9, 0);
	struct err e = {0};
	int64_t out[8], ms;
	size_t n = 0;

	(void)state;
	r.until_ms = mar29;
	assert_int_equal(when_next(BERLIN, &r, mar28, 2, &ms, NULL, &e), 0);
	assert_int_equal(ms, mar29);
	assert_int_equal(when_next(BERLIN, &r, mar29, 3, &ms, NULL, &e), -ERR_NOT_FOUND);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(when_expand(BERLIN, &r, 0, INT64_MAX, out, NULL, 8, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[2], mar29);
	r.until_ms = mar29 - 1;
	assert_int_equal(when_expand(BERLIN, &r, 0, INT64_MAX, out, NULL, 8, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[1], mar28);
}

/* ONCE 2026-01-15 09:00 New York (14:00Z). */
static void test_once(void **state)
{
	const int64_t at = 1768485600000;
	struct when_rule r = rule(WHEN_ONCE, 2026, 1, 15, 9, 0);
	struct err e = {0};
	int64_t out[2], ms = 0;
	size_t n = 0;

	(void)state;
	r.count = 3; /* ignored: once is once */
	assert_int_equal(when_next(NEW_YORK, &r, at - 1, 0, &ms, NULL, &e), 0);
	assert_int_equal(ms, at);
	assert_int_equal(when_next(NEW_YORK, &r, at, 0, &ms, NULL, &e), -ERR_NOT_FOUND);
	assert_int_equal(when_next(NEW_YORK, &r, at + 86400000, 0, &ms, NULL, &e), -ERR_NOT_FOUND);
	assert_int_equal(when_next(NEW_YORK, &r, 0, 1, &ms, NULL, &e), -ERR_NOT_FOUND);
	assert_int_equal(when_expand(NEW_YORK, &r, 0, INT64_MAX, out, NULL, 2, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], at);
	assert_int_equal(when_expand(NEW_YORK, &r, at + 1, INT64_MAX, out, NULL, 2, &n, &e), 0);
	assert_int_equal(n, 0);
}

/* Ambiguous recurring time: daily 02:30 Berlin on the autumn day takes the
 * first (CEST) 02:30, 2026-10-25 00:30Z. */
static void test_daily_overlap(void **state)
{
	struct when_rule r = rule(WHEN_DAILY, 2026, 10, 24, 2, 30);
	enum when_adjust adj;
	struct err e = {0};
	int64_t ms;

	(void)state;
	assert_int_equal(when_next(BERLIN, &r, 1792888200000 - 1, 1, &ms, &adj, &e), 0);
	assert_int_equal(ms, 1792888200000);
	assert_int_equal(adj, WHEN_AMBIGUOUS_FIRST);
}

/* when_expand stores at most max and says there were more. */
static void test_expand_bound(void **state)
{
	const int64_t want[] = {1774598400000, 1774684800000, 1774767600000};
	struct when_rule r = rule(WHEN_DAILY, 2026, 3, 27, 9, 0); /* forever */
	struct err e = {0};
	int64_t out[4] = {0, 0, 0, -1};
	size_t n = 99;

	(void)state;
	assert_int_equal(when_expand(BERLIN, &r, 0, INT64_MAX, out, NULL, 3, &n, &e), -ERR_TOO_BIG);
	assert_int_equal(e.code, ERR_TOO_BIG);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(out[i], want[i]);
	assert_int_equal(out[3], -1); /* nothing written beyond max */
	/* Exactly max in range is fine; [from, to) excludes to. */
	assert_int_equal(when_expand(BERLIN, &r, 0, want[2] + 1, out, NULL, 3, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(when_expand(BERLIN, &r, 0, want[2], out, NULL, 3, &n, &e), 0);
	assert_int_equal(n, 2);
	/* Empty and reversed ranges. */
	assert_int_equal(when_expand(BERLIN, &r, want[1], want[1], out, NULL, 3, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(when_expand(BERLIN, &r, want[2], want[1], out, NULL, 3, &n, &e), 0);
	assert_int_equal(n, 0);
	/* A forever rule far ahead does not walk from its start: 2100-01-01
	 * 09:00 Berlin (CET) is 4102473600000, per zoneinfo. */
	assert_int_equal(
	    when_expand(BERLIN, &r, 4102473600000 - 1, 4102473600000 + 1, out, NULL, 3, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 4102473600000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_berlin),        cmocka_unit_test(test_new_york),
	    cmocka_unit_test(test_tashkent),      cmocka_unit_test(test_to_local),
	    cmocka_unit_test(test_invalid),       cmocka_unit_test(test_rule_check),
	    cmocka_unit_test(test_daily_dst),     cmocka_unit_test(test_daily_gap),
	    cmocka_unit_test(test_weekly_count),  cmocka_unit_test(test_monthly_31),
	    cmocka_unit_test(test_until),         cmocka_unit_test(test_once),
	    cmocka_unit_test(test_daily_overlap), cmocka_unit_test(test_expand_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
