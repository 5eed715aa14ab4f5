/*
 * Fuzz the count and date parsers of the public channel page. A count that
 * is accepted must equal what a plain reading gives (separators dropped,
 * integer part times the suffix's power plus the scaled fraction, in 128-bit
 * arithmetic, so an overflow would show); a date that is accepted and written in UTC ("...Z") must
 * read back the same through gmtime_r.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/tme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An accepted count against a plain reading of it: every byte that is not a
 * digit, '.' or a suffix (separators, whitespace) dropped. */
static void check_count(const char *s, size_t n)
{
	__int128 ip = 0, frac = 0, mul = 1, pow = 1;
	int64_t v = -1;
	bool approx = false, dot = false;

	if (tme_count((struct str){s, n}, &v, &approx) != 0) {
		assert(v == -1);
		return;
	}
	assert(v >= 0);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9' && dot) {
			frac = frac * 10 + (c - '0');
			pow *= 10;
		} else if (c >= '0' && c <= '9') {
			ip = ip * 10 + (c - '0');
		} else if (c == '.') {
			dot = true;
		} else if (c == 'K' || c == 'M' || c == 'B') {
			mul = c == 'K' ? 1000 : c == 'M' ? 1000000 : 1000000000;
		}
	}
	assert(approx == (mul > 1));
	assert(!dot || approx);
	assert(mul % pow == 0); /* the fraction is whole in the suffix's unit */
	assert((__int128)v == ip * mul + frac * (mul / pow));
}

static void check_date(const char *s, size_t n)
{
	int64_t ms = 42;
	struct tm tm;
	time_t t;
	char back[40];

	if (tme_datetime((struct str){s, n}, &ms) != 0) {
		assert(ms == 42);
		return;
	}
	/* 20 bytes: YYYY-MM-DDTHH:MM:SSZ, years from 1000 for %Y's width */
	if (n != 20 || s[19] != 'Z' || s[0] == '0')
		return;
	assert(ms % 1000 == 0);
	t = (time_t)(ms / 1000);
	assert(gmtime_r(&t, &tm));
	assert(strftime(back, sizeof(back), "%Y-%m-%dT%H:%M:%SZ", &tm) == 20);
	assert(memcmp(back, s, 20) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);

	assert(copy);
	if (size)
		memcpy(copy, data, size);
	check_count(copy, size);
	check_date(copy, size);
	free(copy);
	return 0;
}
