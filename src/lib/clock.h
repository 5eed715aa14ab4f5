/*
 * clock: time as integers of milliseconds. Wall time is Unix milliseconds in
 * UTC; monotonic time is for measuring intervals only.
 */
#ifndef HERALD_CLOCK_H
#define HERALD_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t clock_now_ms(void);
int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);
void clock_sleep_ms(int64_t ms);

/*
 * The product clock: wall time plus an offset that tests and the demo may
 * move forward (HERALD_TEST_CLOCK), so a schedule hours ahead can be reached
 * at once. Due times, lateness and "is this in the past" use it; leases,
 * timeouts, sessions and rate limits use real time.
 */
int64_t clock_app_ms(void);
/* Move the product clock forward by ms (>= 0) for this process. */
void clock_app_shift(int64_t ms);
int64_t clock_app_offset(void);

#endif
