/*
 * metrics: fixed arrays of atomics indexed by route and status class or
 * histogram bucket. The bucket bounds follow Prometheus' defaults, starting
 * lower because most requests here take well under a millisecond.
 */
#include "http/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/mem.h"

static const double bounds_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBUCKETS (ARRAY_SIZE(bounds_s) + 1) /* the last is +Inf */
#define NCLASSES 5                          /* 1xx .. 5xx */

struct slot {
	atomic_uint_fast64_t by_class[NCLASSES];
	atomic_uint_fast64_t buckets[NBUCKETS];
	atomic_uint_fast64_t sum_us;
};

struct metrics {
	const struct route *routes;
	size_t n;
	struct slot *slots; /* n + 1 */
};

struct metrics *metrics_new(const struct route *routes, size_t n)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	m->routes = routes;
	m->n = n;
	m->slots = xcalloc(n + 1, sizeof(*m->slots));
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

void metrics_observe(struct metrics *m, size_t route_index, int status, int64_t dur_us)
{
	struct slot *s = &m->slots[route_index < m->n ? route_index : m->n];
	int cls = status / 100 - 1;
	size_t b = 0;

	if (cls < 0 || cls >= NCLASSES)
		cls = NCLASSES - 1;
	if (dur_us < 0)
		dur_us = 0;
	while (b < ARRAY_SIZE(bounds_s) && (double)dur_us > bounds_s[b] * 1e6)
		b++;
	atomic_fetch_add_explicit(&s->by_class[cls], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_us, (uint64_t)dur_us, memory_order_relaxed);
}

static int render_counts(const struct slot *s, const char *route, const char *method,
                         struct buf *out)
{
	int rc = 0;

	for (int c = 0; c < NCLASSES; c++) {
		uint64_t v = atomic_load_explicit(&s->by_class[c], memory_order_relaxed);

		if (v)
			rc |= buf_printf(out,
			                 "herald_http_requests_total{route=\"%s\",method=\"%s\","
			                 "code=\"%dxx\"} %llu\n",
			                 route, method, c + 1, (unsigned long long)v);
	}
	return rc;
}

static int render_histogram(const struct slot *s, const char *route, const char *method,
                            struct buf *out)
{
	uint64_t cum = 0;
	int rc = 0;

	for (size_t b = 0; b < NBUCKETS; b++)
		cum += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
	if (!cum)
		return 0;
	cum = 0;
	for (size_t b = 0; b < NBUCKETS; b++) {
		char le[16];

		cum += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
		if (b < ARRAY_SIZE(bounds_s))
			snprintf(le, sizeof(le), "%g", bounds_s[b]);
		else
			snprintf(le, sizeof(le), "+Inf");
		rc |= buf_printf(out,
		                 "herald_http_request_duration_seconds_bucket{route=\"%s\","
		                 "method=\"%s\",le=\"%s\"} %llu\n",
		                 route, method, le, (unsigned long long)cum);
	}
	rc |= buf_printf(out,
	                 "herald_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} "
	                 "%.6f\n"
	                 "herald_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} "
	                 "%llu\n",
	                 route, method,
	                 (double)atomic_load_explicit(&s->sum_us, memory_order_relaxed) / 1e6,
	                 route, method, (unsigned long long)cum);
	return rc;
}

int metrics_render(const struct metrics *m, int64_t in_flight, struct buf *out)
{
	int rc = 0;

	rc |= buf_printf(out,
	                 "# HELP herald_build_info Herald's version.\n"
	                 "# TYPE herald_build_info gauge\n"
	                 "herald_build_info{version=\"%s\"} 1\n",
	                 HERALD_VERSION);
	rc |= buf_printf(out,
	                 "# HELP herald_http_in_flight Requests being handled now.\n"
	                 "# TYPE herald_http_in_flight gauge\n"
	                 "herald_http_in_flight %lld\n",
	                 (long long)in_flight);
	rc |= buf_adds(out, "# HELP herald_http_requests_total HTTP requests by route, method "
	                    "and status class.\n"
	                    "# TYPE herald_http_requests_total counter\n");
	for (size_t i = 0; i < m->n; i++)
		rc |= render_counts(&m->slots[i], m->routes[i].pattern, m->routes[i].method, out);
	rc |= render_counts(&m->slots[m->n], "unmatched", "", out);
	rc |= buf_adds(out, "# HELP herald_http_request_duration_seconds Time from the request's "
	                    "first byte to its response, by route.\n"
	                    "# TYPE herald_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < m->n; i++)
		rc |=
		    render_histogram(&m->slots[i], m->routes[i].pattern, m->routes[i].method, out);
	rc |= render_histogram(&m->slots[m->n], "unmatched", "", out);
	return rc ? -ERR_TOO_BIG : 0;
}
