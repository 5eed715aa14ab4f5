/*
 * tz: zone names are ASCII, so they are widened to UTF-16 by hand rather
 * than through a converter. An opened zone is a Gregorian UCalendar whose
 * instant is set for each lookup. The day arithmetic is Howard Hinnant's
 * days_from_civil / civil_from_days, exact for any proleptic Gregorian date.
 */
#include "lib/tz.h"

#include <stdlib.h>
#include <string.h>
#include <unicode/ucal.h>

#include "lib/mem.h"

/* The offset is constant between two transitions: the last lookup's
 * interval [lo, hi) and offset are kept, so a run of instants in time order
 * costs ICU one lookup per transition crossed. */
struct tz {
	UCalendar *cal;
	bool cached;
	int64_t lo, hi;
	int32_t off;
};

bool tz_valid(const char *zone)
{
	UChar id[64], canon[64];
	UErrorCode status = U_ZERO_ERROR;
	UBool is_system = 0;
	size_t n = strlen(zone);

	if (n == 0 || n >= 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)zone[i];

		if (c <= 0x20 || c >= 0x7f)
			return false;
		id[i] = c;
	}
	ucal_getCanonicalTimeZoneID(id, (int32_t)n, canon, 64, &is_system, &status);
	return U_SUCCESS(status) && is_system;
}

int tz_open(const char *zone, struct tz **out, struct err *e)
{
	UChar id[64];
	UErrorCode status = U_ZERO_ERROR;
	UCalendar *cal;
	size_t n;

	*out = NULL;
	/* ucal_open falls back to GMT for an unknown id, so check first. */
	if (!zone || !tz_valid(zone))
		return err_set(e, ERR_INVALID, "time zone: unknown zone \"%.64s\"",
		               zone ? zone : "");
	n = strlen(zone); /* tz_valid: 1..63 printable ASCII characters */
	for (size_t i = 0; i < n; i++)
		id[i] = (UChar)(unsigned char)zone[i];
	cal = ucal_open(id, (int32_t)n, "en_US_POSIX", UCAL_GREGORIAN, &status);
	if (U_FAILURE(status) || !cal) {
		if (cal)
			ucal_close(cal);
		return err_set(e, ERR_INTERNAL, "time zone: icu cannot open a calendar: %s",
		               u_errorName(status));
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->cal = cal;
	return 0;
}

int tz_offset_ms(struct tz *z, int64_t utc_ms, int32_t *offset_ms)
{
	UErrorCode status = U_ZERO_ERROR;
	UDate t;
	int32_t off;

	if (z->cached && utc_ms >= z->lo && utc_ms < z->hi) {
		*offset_ms = z->off;
		return 0;
	}
	ucal_setMillis(z->cal, (UDate)utc_ms, &status);
	off = ucal_get(z->cal, UCAL_ZONE_OFFSET, &status);
	off += ucal_get(z->cal, UCAL_DST_OFFSET, &status);
	if (U_FAILURE(status))
		return -ERR_INTERNAL;
	z->lo = INT64_MIN;
	z->hi = INT64_MAX;
	if (ucal_getTimeZoneTransitionDate(z->cal, UCAL_TZ_TRANSITION_PREVIOUS_INCLUSIVE, &t,
	                                   &status))
		z->lo = (int64_t)t;
	if (ucal_getTimeZoneTransitionDate(z->cal, UCAL_TZ_TRANSITION_NEXT, &t, &status))
		z->hi = (int64_t)t;
	/* Without the interval, only this lookup is answered. */
	z->cached = U_SUCCESS(status) && z->lo <= utc_ms && utc_ms < z->hi;
	z->off = off;
	*offset_ms = off;
	return 0;
}

void tz_free(struct tz *z)
{
	if (!z)
		return;
	ucal_close(z->cal);
	free(z);
}

int64_t tz_day_from_civil(int y, int m, int d)
{
	int64_t yy = y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void tz_civil_from_day(int64_t day, int *y, int *m, int *d)
{
	int64_t z = day + 719468, era, doe, yoe, doy, mp;

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int tz_weekday(int64_t day)
{
	/* Day 0, 1970-01-01, was a Thursday. */
	return (int)(((day % 7) + 7 + 3) % 7);
}
