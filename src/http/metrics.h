/*
 * metrics: request counters and latency histograms per route, rendered in
 * the Prometheus text format. Recording is lock-free (relaxed atomics), so
 * it costs a few increments on the request path.
 */
#ifndef HERALD_METRICS_H
#define HERALD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "http/router.h"
#include "lib/buf.h"

struct metrics;

/* Counters for routes[0..n) plus one slot for requests that matched none. */
struct metrics *metrics_new(const struct route *routes, size_t n);
void metrics_free(struct metrics *m);

/* Record one finished request; route_index n (or more) is "unmatched". */
void metrics_observe(struct metrics *m, size_t route_index, int status, int64_t dur_us);

/* Append the Prometheus text of every counter to out, with extra gauges. */
int metrics_render(const struct metrics *m, int64_t in_flight, struct buf *out) WUR;

#endif
