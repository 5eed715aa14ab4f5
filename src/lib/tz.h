/*
 * tz: IANA time zones through ICU, and civil-calendar day arithmetic.
 */
#ifndef HERALD_TZ_H
#define HERALD_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

/* Whether zone is a time zone ICU knows ("Europe/Berlin", "UTC"). */
bool tz_valid(const char *zone);

/*
 * A zone opened once for many conversions (an ICU calendar). Opaque; one
 * thread at a time. Opening costs microseconds once ICU's data is loaded.
 * It remembers the span between the zone's transitions around the last
 * instant looked up, so instants in time order cost ICU one lookup per
 * transition crossed; any order gives the same answers.
 */
struct tz;

/* Open zone into *out, freed with tz_free. -ERR_INVALID (message in e) for a
 * zone tz_valid refuses, -ERR_INTERNAL when ICU fails; *out is then NULL. */
int tz_open(const char *zone, struct tz **out, struct err *e) WUR;

/* The zone's total offset from UTC at instant utc_ms, in milliseconds
 * (Berlin in summer: 7200000). -ERR_INTERNAL when ICU cannot convert the
 * instant; *offset_ms is then untouched. */
int tz_offset_ms(struct tz *z, int64_t utc_ms, int32_t *offset_ms) WUR;

void tz_free(struct tz *z);

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12,
 * d 1..31), and back. */
int64_t tz_day_from_civil(int y, int m, int d);
void tz_civil_from_day(int64_t day, int *y, int *m, int *d);

/* The weekday of a day number: 0 = Monday .. 6 = Sunday. */
int tz_weekday(int64_t day);

#endif
