/*
 * when: local time and recurrence. Each public call opens one Gregorian
 * UCalendar in the zone and closes it before returning. A local time is
 * converted with ICU's wall-time options: a skipped time is read with the
 * offset before the transition (UCAL_WALLTIME_LAST, which moves it forward by
 * the gap), a repeated one as its first occurrence (UCAL_WALLTIME_FIRST). The
 * adjustment is detected by converting back (moved) and by converting again
 * with the last occurrence (ambiguous when the instants differ).
 *
 * Recurrence walks local dates as day numbers (days since 1970-01-01, civil
 * calendar arithmetic from lib/tz, no ICU); only candidate dates near the requested
 * range are converted to instants. Converting a date's hour:minute never
 * lands more than one day away from it, so starting two days before the
 * local date of the range's start cannot miss an occurrence.
 */
#include "sched/when.h"

#include <string.h>
#include <unicode/ucal.h>

#include "lib/tz.h"

#define YEAR_MIN 1900
#define YEAR_MAX 9999
/* Instants outside this span are refused before ICU sees them: a day
 * either side of years 1900..9999 in any zone. */
#define MS_MIN (-2209075200000LL)  /* 1899-12-31T00:00Z */
#define MS_MAX (253402387200000LL) /* 10000-01-02T00:00Z */

static int days_in_month(int y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

static int check_date(const struct when_local *lt, const char *what, struct err *e)
{
	if (lt->year < YEAR_MIN || lt->year > YEAR_MAX)
		return err_set(e, ERR_INVALID, "%s: year %d is outside %d..%d", what, lt->year,
		               YEAR_MIN, YEAR_MAX);
	if (lt->month < 1 || lt->month > 12)
		return err_set(e, ERR_INVALID, "%s: month %d is outside 1..12", what, lt->month);
	if (lt->day < 1 || lt->day > days_in_month(lt->year, lt->month))
		return err_set(e, ERR_INVALID, "%s: day %d does not exist in %04d-%02d", what,
		               lt->day, lt->year, lt->month);
	return 0;
}

static int check_clock(int hour, int minute, const char *what, struct err *e)
{
	if (hour < 0 || hour > 23)
		return err_set(e, ERR_INVALID, "%s: hour %d is outside 0..23", what, hour);
	if (minute < 0 || minute > 59)
		return err_set(e, ERR_INVALID, "%s: minute %d is outside 0..59", what, minute);
	return 0;
}

/* A Gregorian calendar in zone, or -ERR_INVALID. ucal_open falls back to
 * GMT for an unknown id, so the name is checked first. */
static int cal_open(const char *zone, UCalendar **cal, struct err *e)
{
	UChar id[64];
	UErrorCode status = U_ZERO_ERROR;
	size_t n;

	if (!zone || !tz_valid(zone))
		return err_set(e, ERR_INVALID, "time zone: unknown zone \"%.64s\"",
		               zone ? zone : "");
	n = strlen(zone); /* tz_valid: 1..63 printable ASCII characters */
	for (size_t i = 0; i < n; i++)
		id[i] = (UChar)(unsigned char)zone[i];
	*cal = ucal_open(id, (int32_t)n, "en_US_POSIX", UCAL_GREGORIAN, &status);
	if (U_FAILURE(status) || !*cal) {
		if (*cal)
			ucal_close(*cal);
		*cal = NULL;
		return err_set(e, ERR_INTERNAL, "time zone: icu cannot open a calendar: %s",
		               u_errorName(status));
	}
	return 0;
}

/* The instant of local y-m-d h:mi read with the given repeated-time option
 * (skipped times always with the offset before the gap). */
static int cal_instant(UCalendar *cal, const struct when_local *lt, int repeated, int64_t *ms)
{
	UErrorCode status = U_ZERO_ERROR;
	UDate t;

	ucal_setAttribute(cal, UCAL_REPEATED_WALL_TIME, repeated);
	ucal_setAttribute(cal, UCAL_SKIPPED_WALL_TIME, UCAL_WALLTIME_LAST);
	ucal_clear(cal);
	ucal_setDateTime(cal, lt->year, lt->month - 1, lt->day, lt->hour, lt->minute, 0, &status);
	ucal_set(cal, UCAL_MILLISECOND, 0);
	t = ucal_getMillis(cal, &status);
	if (U_FAILURE(status))
		return -ERR_INTERNAL;
	*ms = (int64_t)t;
	return 0;
}

static int cal_fields(UCalendar *cal, int64_t ms, struct when_local *lt, int *weekday,
                      int *offset_min)
{
	UErrorCode status = U_ZERO_ERROR;
	struct when_local l;
	int32_t dow, off;

	ucal_setMillis(cal, (UDate)ms, &status);
	l.year = ucal_get(cal, UCAL_EXTENDED_YEAR, &status);
	l.month = ucal_get(cal, UCAL_MONTH, &status) + 1;
	l.day = ucal_get(cal, UCAL_DATE, &status);
	l.hour = ucal_get(cal, UCAL_HOUR_OF_DAY, &status);
	l.minute = ucal_get(cal, UCAL_MINUTE, &status);
	dow = ucal_get(cal, UCAL_DAY_OF_WEEK, &status); /* 1 = Sunday */
	off = ucal_get(cal, UCAL_ZONE_OFFSET, &status) + ucal_get(cal, UCAL_DST_OFFSET, &status);
	if (U_FAILURE(status))
		return -ERR_INTERNAL;
	*lt = l;
	if (weekday)
		*weekday = (dow + 5) % 7 + 1;
	if (offset_min)
		*offset_min = off / 60000;
	return 0;
}

static int cal_to_utc(UCalendar *cal, const struct when_local *lt, int64_t *ms,
                      enum when_adjust *adj, struct err *e)
{
	struct when_local back;
	int64_t first, last;

	if (cal_instant(cal, lt, UCAL_WALLTIME_FIRST, &first) < 0 ||
	    cal_fields(cal, first, &back, NULL, NULL) < 0)
		return err_set(e, ERR_INTERNAL, "local time: icu conversion failed");
	if (back.year != lt->year || back.month != lt->month || back.day != lt->day ||
	    back.hour != lt->hour || back.minute != lt->minute) {
		*adj = WHEN_MOVED_FORWARD;
	} else {
		if (cal_instant(cal, lt, UCAL_WALLTIME_LAST, &last) < 0)
			return err_set(e, ERR_INTERNAL, "local time: icu conversion failed");
		*adj = last != first ? WHEN_AMBIGUOUS_FIRST : WHEN_EXACT;
	}
	*ms = first;
	return 0;
}

static int cal_to_local(UCalendar *cal, int64_t ms, struct when_local *lt, int *weekday,
                        int *offset_min, struct err *e)
{
	struct when_local l;
	int wd, off;

	if (ms < MS_MIN || ms >= MS_MAX)
		return err_set(e, ERR_INVALID, "instant: %lld is outside the supported years",
		               (long long)ms);
	if (cal_fields(cal, ms, &l, &wd, &off) < 0)
		return err_set(e, ERR_INTERNAL, "instant: icu conversion failed");
	if (l.year < YEAR_MIN || l.year > YEAR_MAX)
		return err_set(e, ERR_INVALID, "instant: local year %d is outside %d..%d", l.year,
		               YEAR_MIN, YEAR_MAX);
	*lt = l;
	if (weekday)
		*weekday = wd;
	if (offset_min)
		*offset_min = off;
	return 0;
}

int when_to_utc(const char *zone, const struct when_local *lt, int64_t *utc_ms,
                enum when_adjust *adj, struct err *e)
{
	UCalendar *cal = NULL;
	enum when_adjust a;
	int64_t ms;
	int rc;

	rc = check_date(lt, "local time", e);
	if (rc == 0)
		rc = check_clock(lt->hour, lt->minute, "local time", e);
	if (rc == 0)
		rc = cal_open(zone, &cal, e);
	if (rc < 0)
		return rc;
	rc = cal_to_utc(cal, lt, &ms, &a, e);
	ucal_close(cal);
	if (rc < 0)
		return rc;
	*utc_ms = ms;
	if (adj)
		*adj = a;
	return 0;
}

int when_to_local(const char *zone, int64_t utc_ms, struct when_local *lt, int *weekday,
                  int *utc_offset_min, struct err *e)
{
	UCalendar *cal = NULL;
	int rc;

	rc = cal_open(zone, &cal, e);
	if (rc < 0)
		return rc;
	rc = cal_to_local(cal, utc_ms, lt, weekday, utc_offset_min, e);
	ucal_close(cal);
	return rc;
}

int when_rule_check(const struct when_rule *r, struct err *e)
{
	int rc;

	if (r->freq != WHEN_ONCE && r->freq != WHEN_DAILY && r->freq != WHEN_WEEKLY &&
	    r->freq != WHEN_MONTHLY)
		return err_set(e, ERR_INVALID, "rule: unknown frequency %d", (int)r->freq);
	if (r->weekdays & ~0x7fu)
		return err_set(e, ERR_INVALID, "rule: weekdays has bits beyond Sunday");
	if (r->freq == WHEN_WEEKLY && r->weekdays == 0)
		return err_set(e, ERR_INVALID, "rule: a weekly rule needs at least one weekday");
	if (r->freq == WHEN_MONTHLY && (r->month_day < 1 || r->month_day > 31))
		return err_set(e, ERR_INVALID, "rule: month day %d is outside 1..31", r->month_day);
	rc = check_clock(r->hour, r->minute, "rule", e);
	if (rc < 0)
		return rc;
	if (r->until_ms < 0 || r->until_ms >= MS_MAX)
		return err_set(e, ERR_INVALID, "rule: until %lld is out of range",
		               (long long)r->until_ms);
	if (r->count < 0 || r->count > WHEN_COUNT_MAX)
		return err_set(e, ERR_INVALID, "rule: count %d is outside 0..%d", r->count,
		               WHEN_COUNT_MAX);
	return check_date(&r->start, "rule start", e);
}

/* The first day >= from that the rule's dates include, or -1 past the
 * end (ONCE already passed, or beyond year 9999). */
static int64_t match_from(const struct when_rule *r, int64_t from)
{
	int64_t start = tz_day_from_civil(r->start.year, r->start.month, r->start.day);
	int64_t last = tz_day_from_civil(YEAR_MAX, 12, 31);
	int y, m, d;

	if (r->freq == WHEN_ONCE)
		return from <= start ? start : -1;
	if (from < start)
		from = start;
	switch (r->freq) {
	case WHEN_DAILY:
		break;
	case WHEN_WEEKLY:
		while (!(r->weekdays & (1u << tz_weekday(from))))
			from++;
		break;
	case WHEN_MONTHLY:
		tz_civil_from_day(from, &y, &m, &d);
		for (;;) {
			int md =
			    r->month_day < days_in_month(y, m) ? r->month_day : days_in_month(y, m);

			if (md >= d)
				break;
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
		from = tz_day_from_civil(
		    y, m, r->month_day < days_in_month(y, m) ? r->month_day : days_in_month(y, m));
		break;
	default:
		return -1;
	}
	return from > last ? -1 : from;
}

/* The occurrence on the local date `day`. */
static int day_instant(UCalendar *cal, const struct when_rule *r, int64_t day, int64_t *ms,
                       enum when_adjust *adj, struct err *e)
{
	struct when_local lt;

	tz_civil_from_day(day, &lt.year, &lt.month, &lt.day);
	lt.hour = r->hour;
	lt.minute = r->minute;
	return cal_to_utc(cal, &lt, ms, adj, e);
}

/* The day from which to look for occurrences after instant ms: two days
 * before its local date (see the file comment), or -1 when ms is beyond the
 * supported years. Instants before them start at the rule's start. */
static int day_near(UCalendar *cal, int64_t ms, int64_t *day, struct err *e)
{
	struct when_local lt;
	int rc;

	if (ms < MS_MIN + 3 * 86400000LL) {
		*day = INT64_MIN / 2;
		return 0;
	}
	if (ms >= MS_MAX)
		return -ERR_NOT_FOUND;
	rc = cal_to_local(cal, ms, &lt, NULL, NULL, e);
	if (rc == -ERR_INVALID)
		return -ERR_NOT_FOUND; /* local year beyond 9999 */
	if (rc < 0)
		return rc;
	*day = tz_day_from_civil(lt.year, lt.month, lt.day) - 2;
	return 0;
}

int when_next(const char *zone, const struct when_rule *r, int64_t after_ms, int already,
              int64_t *next_ms, enum when_adjust *adj, struct err *e)
{
	UCalendar *cal = NULL;
	enum when_adjust a = WHEN_EXACT;
	int64_t day = 0, t = 0;
	int rc;

	rc = when_rule_check(r, e);
	if (rc < 0)
		return rc;
	if (already < 0)
		return err_set(e, ERR_INVALID, "rule: already %d is negative", already);
	if ((r->freq == WHEN_ONCE && already >= 1) || (r->count > 0 && already >= r->count))
		return err_set(e, ERR_NOT_FOUND, "rule: all %d occurrences have happened", already);
	rc = cal_open(zone, &cal, e);
	if (rc < 0)
		return rc;
	rc = day_near(cal, after_ms, &day, e);
	for (; rc == 0; day++) {
		day = match_from(r, day);
		if (day < 0) {
			rc = -ERR_NOT_FOUND;
			break;
		}
		rc = day_instant(cal, r, day, &t, &a, e);
		if (rc < 0)
			break;
		if (r->until_ms != 0 && t > r->until_ms) {
			rc = -ERR_NOT_FOUND;
			break;
		}
		if (t > after_ms)
			break;
	}
	ucal_close(cal);
	if (rc == -ERR_NOT_FOUND)
		return err_set(e, ERR_NOT_FOUND, "rule: no occurrence after %lld",
		               (long long)after_ms);
	if (rc < 0)
		return rc;
	*next_ms = t;
	if (adj)
		*adj = a;
	return 0;
}

int when_expand(const char *zone, const struct when_rule *r, int64_t from_ms, int64_t to_ms,
                int64_t *out, enum when_adjust *adjs, size_t max, size_t *n, struct err *e)
{
	UCalendar *cal = NULL;
	int64_t day, near = 0, t = 0;
	enum when_adjust a = WHEN_EXACT;
	int rc, seen = 0;
	int limit = r->freq == WHEN_ONCE ? 1 : r->count;

	*n = 0;
	rc = when_rule_check(r, e);
	if (rc < 0)
		return rc;
	if (from_ms >= to_ms)
		return 0;
	rc = cal_open(zone, &cal, e);
	if (rc < 0)
		return rc;
	rc = day_near(cal, from_ms, &near, e);
	if (rc == -ERR_NOT_FOUND) {
		rc = 0;
		goto out;
	}
	/* Without a count the walk may start near from_ms; with one it starts at
	 * the rule's start, so dates before from_ms are counted, not converted. */
	day = limit > 0 ? INT64_MIN / 2 : near;
	for (; rc == 0 && (limit == 0 || seen < limit); day++, seen++) {
		day = match_from(r, day);
		if (day < 0)
			break;
		if (day < near)
			continue; /* its instant is before from_ms */
		rc = day_instant(cal, r, day, &t, &a, e);
		if (rc < 0 || t >= to_ms || (r->until_ms != 0 && t > r->until_ms))
			break;
		if (t < from_ms)
			continue;
		if (*n == max) {
			rc = err_set(e, ERR_TOO_BIG, "rule: more than %zu occurrences in range",
			             max);
			break;
		}
		out[*n] = t;
		if (adjs)
			adjs[*n] = a;
		(*n)++;
	}
out:
	ucal_close(cal);
	return rc;
}
