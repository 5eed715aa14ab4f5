/*
 * tz: zone names are ASCII, so they are widened to UTF-16 by hand rather
 * than through a converter.
 */
#include "lib/tz.h"

#include <string.h>
#include <unicode/ucal.h>

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
