/*
 * tz: IANA time zones through ICU.
 */
#ifndef HERALD_TZ_H
#define HERALD_TZ_H

#include <stdbool.h>

/* Whether zone is a time zone ICU knows ("Europe/Berlin", "UTC"). */
bool tz_valid(const char *zone);

#endif
