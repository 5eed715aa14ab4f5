/*
 * clock: thin wrappers over clock_gettime(2).
 */
#include "lib/clock.h"

#include <errno.h>
#include <stdatomic.h>
#include <time.h>

int64_t clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
	return clock_mono_us() / 1000;
}

int64_t clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void clock_sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static atomic_llong app_offset;

int64_t clock_app_ms(void)
{
	return clock_now_ms() + atomic_load(&app_offset);
}

void clock_app_shift(int64_t ms)
{
	if (ms > 0)
		atomic_fetch_add(&app_offset, ms);
}

int64_t clock_app_offset(void)
{
	return atomic_load(&app_offset);
}
