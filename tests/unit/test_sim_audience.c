/*
 * Unit tests of the pure parts of the simulator's audience model and public
 * page (sim/sim_impl.h): t.me's abbreviation of counts, and the view
 * curve's shape (0 at publication, never down, below 1, most of it in a
 * day).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim/sim_impl.h"

static void check_short(int64_t n, const char *want)
{
	char out[32];

	sim_count_short(n, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fail_msg("%lld: \"%s\", want \"%s\"", (long long)n, out, want);
}

static void test_count_short(void **state)
{
	(void)state;
	check_short(0, "0");
	check_short(7, "7");
	check_short(987, "987");
	check_short(999, "999");
	check_short(1000, "1K");
	check_short(1049, "1K");
	check_short(1050, "1.1K"); /* half up */
	check_short(1234, "1.2K");
	check_short(1250, "1.3K");
	check_short(12345, "12.3K");
	check_short(99949, "99.9K");
	check_short(99950, "100K");
	check_short(123456, "123.5K");
	check_short(999949, "999.9K");
	check_short(999950, "1M"); /* not 1000K */
	check_short(1000000, "1M");
	check_short(1049999, "1M");
	check_short(1050000, "1.1M");
	check_short(3456789, "3.5M");
	check_short(12345678, "12.3M");
	check_short(1234567890, "1234.6M");
	check_short(-5, "0");
}

static void test_curve(void **state)
{
	const int64_t tau = 5400, tail = 3 * 86400; /* the defaults */
	double prev = 0;

	(void)state;
	assert_true(sim_aud_curve(0, tau, tail) == 0);
	assert_true(sim_aud_curve(-60, tau, tail) == 0);
	for (int64_t t = 1; t <= 90 * 86400; t += t < 86400 ? 7 : 611) {
		double g = sim_aud_curve(t, tau, tail);

		if (g < prev || g >= 1)
			fail_msg("G(%lld) = %.17g after %.17g", (long long)t, g, prev);
		prev = g;
	}
	/* rising then decaying: the views of the second hour outnumber the first's */
	assert_true(sim_aud_curve(7200, tau, tail) - sim_aud_curve(3600, tau, tail) >
	            sim_aud_curve(3600, tau, tail));
	/* a day: 85% of the peak; two days: 90%; a week: 98% */
	assert_true(sim_aud_curve(86400, tau, tail) > 0.85 &&
	            sim_aud_curve(86400, tau, tail) < 0.86);
	assert_true(sim_aud_curve(2 * 86400, tau, tail) > 0.89 &&
	            sim_aud_curve(2 * 86400, tau, tail) < 0.9);
	assert_true(sim_aud_curve(7 * 86400, tau, tail) > 0.98);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_count_short),
	    cmocka_unit_test(test_curve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
