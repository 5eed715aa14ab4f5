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

#endif
