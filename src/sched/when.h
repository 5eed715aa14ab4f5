/*
 * when: local wall time <-> UTC instants in an IANA zone, and the expansion of
 * recurring schedules, through ICU's calendar. Pure functions: no store, no
 * state kept between calls (ICU caches zone data internally).
 *
 * Instants are Unix milliseconds in UTC. Local times are Gregorian wall-clock
 * fields in years 1900..9999. Conversion rules (docs/scheduling.md):
 * - a local time that does not exist (spring-forward gap) moves forward by
 *   the length of the gap: 02:30 on Berlin's spring day becomes 03:30 CEST;
 * - a local time that occurs twice (fall-back overlap) takes the first
 *   occurrence, the earlier instant, while daylight saving is still in force;
 * - either case is reported through enum when_adjust so the user can be told.
 */
#ifndef HERALD_SCHED_WHEN_H
#define HERALD_SCHED_WHEN_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* The most occurrences a rule may count (about 27 years of a daily post). */
#define WHEN_COUNT_MAX 10000

enum when_adjust {
	WHEN_EXACT,           /* the local time exists once */
	WHEN_MOVED_FORWARD,   /* it does not exist; moved forward by the gap */
	WHEN_AMBIGUOUS_FIRST, /* it exists twice; the earlier instant was taken */
};

struct when_local {
	int year;   /* 1900..9999 */
	int month;  /* 1..12 */
	int day;    /* 1..days in that month */
	int hour;   /* 0..23 */
	int minute; /* 0..59 */
};

/*
 * Convert the local wall time *lt (seconds 0) in zone to a UTC instant.
 * On success *utc_ms is the instant and *adj (if adj is not NULL) says
 * whether the time was exact, moved forward out of a gap, or the first of two.
 * Returns -ERR_INVALID, with a message in e, for a zone ICU does not know or
 * a field out of range (month 13, April 31, February 29 of a common year,
 * hour 24, minute 60, year outside 1900..9999); outputs are then untouched.
 */
int when_to_utc(const char *zone, const struct when_local *lt, int64_t *utc_ms,
                enum when_adjust *adj, struct err *e) WUR;

/*
 * Convert the instant utc_ms to local wall time in zone, truncated to the
 * minute. Optional outputs (NULL to skip): *weekday 1 = Monday .. 7 = Sunday,
 * *utc_offset_min the zone's total offset from UTC at that instant, in
 * minutes (Berlin in summer: 120). Returns -ERR_INVALID for an unknown zone or
 * an instant whose local year falls outside 1900..9999; outputs are then
 * untouched.
 */
int when_to_local(const char *zone, int64_t utc_ms, struct when_local *lt, int *weekday,
                  int *utc_offset_min, struct err *e) WUR;

enum when_freq {
	WHEN_ONCE,    /* one occurrence: start's date at hour:minute */
	WHEN_DAILY,   /* every day from start's date */
	WHEN_WEEKLY,  /* on the weekdays in weekdays, from start's date */
	WHEN_MONTHLY, /* on month_day of every month, from start's date */
};

/* Bits of when_rule.weekdays. */
#define WHEN_MON (1u << 0)
#define WHEN_TUE (1u << 1)
#define WHEN_WED (1u << 2)
#define WHEN_THU (1u << 3)
#define WHEN_FRI (1u << 4)
#define WHEN_SAT (1u << 5)
#define WHEN_SUN (1u << 6)

/*
 * A schedule. Occurrences are local dates (the first on or after start's
 * date that match) at the same local hour:minute, each converted to UTC by
 * the rules of when_to_utc, so 09:00 stays 09:00 across daylight saving.
 * They are strictly increasing in UTC (except in the exotic case of a zone
 * skipping a whole calendar day, where a moved-forward occurrence can equal
 * the next day's).
 * - weekdays: WEEKLY only, at least one of WHEN_MON..WHEN_SUN; ignored (but
 *   must hold no bits above WHEN_SUN) otherwise.
 * - month_day: MONTHLY only, 1..31; a month without that day uses its last
 *   day (31 -> 30 April, 28 or 29 February). Ignored otherwise.
 * - until_ms: 0 = no end; otherwise occurrences at instants <= until_ms only
 *   (inclusive).
 * - count: 0 = no limit; otherwise 1..WHEN_COUNT_MAX, the total number of
 *   occurrences counted from start. ONCE has exactly one, whatever count says.
 * - Neither until_ms nor count: the rule runs forever (up to year 9999).
 * - start: the first local date considered (hour and minute are ignored);
 *   for ONCE, the date of the occurrence.
 */
struct when_rule {
	enum when_freq freq;
	unsigned weekdays;
	int month_day;
	int hour, minute; /* local */
	int64_t until_ms;
	int count;
	struct when_local start;
};

/* 0 when r is well formed by the rules above; else -ERR_INVALID with a
 * message naming the field. The zone is checked by the functions taking it. */
int when_rule_check(const struct when_rule *r, struct err *e) WUR;

/*
 * The first occurrence of r in zone strictly after after_ms, given that
 * `already` occurrences have happened (the caller's count, used for r->count;
 * it should be the number of occurrences at or before after_ms). On success
 * *next_ms is the instant and *adj (if not NULL) its adjustment.
 * -ERR_NOT_FOUND when the rule has ended: already >= count (ONCE: >= 1), no
 * occurrence after after_ms, or the next one is after until_ms.
 * -ERR_INVALID for a bad zone or rule. Outputs are untouched on failure.
 */
int when_next(const char *zone, const struct when_rule *r, int64_t after_ms, int already,
              int64_t *next_ms, enum when_adjust *adj, struct err *e) WUR;

/*
 * All occurrences of r in zone in [from_ms, to_ms), in increasing order, into
 * out[0..*n) (and their adjustments into adjs, unless adjs is NULL); count
 * is applied from the rule's start. At most max are stored: when there are
 * more, returns -ERR_TOO_BIG with the first max stored and *n = max. An empty
 * range or an ended rule gives 0 with *n = 0. -ERR_INVALID for a bad zone or
 * rule, with *n = 0.
 */
int when_expand(const char *zone, const struct when_rule *r, int64_t from_ms, int64_t to_ms,
                int64_t *out, enum when_adjust *adjs, size_t max, size_t *n, struct err *e) WUR;

#endif
