/*
 * stats/spike: the spike detector of stats.h, streaming over a series in
 * time order. The window of the last `window` known values is kept twice:
 * in arrival order (a ring, to know which value leaves) and sorted (to read
 * the median at once). Each step moves one value out and one in with a
 * binary search and a memmove, O(window); the MAD is the median of the
 * distances from the median, read by walking outwards from the median in
 * the sorted window (the distances on either side are already in order), so
 * nothing is sorted per point and nothing is allocated.
 */
#include "stats/stats.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* 1 / Phi^-1(3/4): makes the MAD of normal noise estimate its sigma. */
#define MAD_TO_SIGMA 1.4826
#define NO_RUN       SIZE_MAX

/* Where events go: out[0..max), or only counted when out is NULL. */
struct sink {
	struct stats_spike *out;
	size_t n, max;
	bool overflow;
};

struct detector {
	const struct stats_spike_opts *o;
	double ring[STATS_WINDOW_MAX];
	bool ring_approx[STATS_WINDOW_MAX];
	double sorted[STATS_WINDOW_MAX];
	size_t h;        /* values in the window */
	size_t head;     /* ring index of the oldest */
	size_t n_approx; /* approximate values in the window */
	bool in_run;     /* the previous point spiked */
	size_t run;      /* the stored event of the current run, or NO_RUN */
};

/* Index of the first sorted value >= x. */
static size_t lower_bound(const double *s, size_t n, double x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static double median(const double *s, size_t h)
{
	return h % 2 ? s[h / 2] : (s[h / 2 - 1] + s[h / 2]) / 2.0;
}

/* The median of |s[i] - med|: the two sides of med, walked outwards, give
 * the distances in increasing order; merge them up to the middle one(s). */
static double mad(const double *s, size_t h, double med)
{
	size_t l = lower_bound(s, h, med), r = l, want = h / 2;
	double d = 0, prev = 0;

	for (size_t c = 0; c <= want; c++) {
		prev = d;
		if (l > 0 && (r >= h || med - s[l - 1] <= s[r] - med))
			d = med - s[--l];
		else
			d = s[r++] - med;
	}
	return h % 2 ? d : (prev + d) / 2.0;
}

static void push(struct detector *d, double x, bool approx)
{
	size_t w = d->o->window, i;

	if (d->h == w) {
		double old = d->ring[d->head];

		i = lower_bound(d->sorted, d->h, old);
		assert(i < d->h && d->sorted[i] == old);
		memmove(&d->sorted[i], &d->sorted[i + 1], (d->h - i - 1) * sizeof(double));
		d->n_approx -= d->ring_approx[d->head];
		d->head = (d->head + 1) % w;
		d->h--;
	}
	i = (d->head + d->h) % w;
	d->ring[i] = x;
	d->ring_approx[i] = approx;
	d->n_approx += approx;
	i = lower_bound(d->sorted, d->h, x);
	memmove(&d->sorted[i + 1], &d->sorted[i], (d->h - i) * sizeof(double));
	d->sorted[i] = x;
	d->h++;
}

static size_t sink_add(struct sink *k, const struct stats_spike *ev)
{
	if (!k->out) {
		k->n++;
		return NO_RUN;
	}
	if (k->n == k->max) {
		k->overflow = true;
		return NO_RUN;
	}
	k->out[k->n] = *ev;
	return k->n++;
}

/* Judge x against the window, record it when it spikes (and report says
 * its time is in the period), then let it into the window. */
static void step(struct detector *d, struct sink *k, double x, bool approx, size_t index,
                 int64_t at_ms, bool report)
{
	const struct stats_spike_opts *o = d->o;
	struct stats_spike ev = {0};

	if (d->h >= o->min_history) {
		ev.baseline = median(d->sorted, d->h);
		ev.scale = fmax(MAD_TO_SIGMA * mad(d->sorted, d->h, ev.baseline),
		                sqrt(fmax(ev.baseline, 1.0)));
		ev.score = (x - ev.baseline) / ev.scale;
	}
	if (d->h >= o->min_history && ev.score >= o->threshold &&
	    x - ev.baseline >= o->min_excess) {
		bool rounded = approx || d->n_approx > 0;

		if (o->merge_runs && d->in_run) {
			if (d->run != NO_RUN) {
				struct stats_spike *run = &k->out[d->run];

				run->len++;
				run->peak = fmax(run->peak, ev.score);
				run->approx |= rounded;
			}
		} else {
			ev.index = index;
			ev.at_ms = at_ms;
			ev.value = x;
			ev.peak = ev.score;
			ev.len = 1;
			ev.approx = rounded;
			d->run = report ? sink_add(k, &ev) : NO_RUN;
		}
		d->in_run = true;
	} else {
		d->in_run = false;
	}
	push(d, x, approx);
}

static int check_opts(const struct stats_spike_opts *o, struct err *e)
{
	if (o->window < 1 || o->window > STATS_WINDOW_MAX)
		return err_set(e, ERR_INVALID, "spike options: window %zu is outside 1..%d",
		               o->window, STATS_WINDOW_MAX);
	if (o->min_history < 1 || o->min_history > o->window)
		return err_set(e, ERR_INVALID, "spike options: min_history %zu is outside 1..%zu",
		               o->min_history, o->window);
	if (!isfinite(o->threshold) || o->threshold <= 0)
		return err_set(e, ERR_INVALID, "spike options: threshold must be above 0");
	if (!isfinite(o->min_excess) || o->min_excess < 0)
		return err_set(e, ERR_INVALID, "spike options: min_excess must be 0 or more");
	return 0;
}

static int finish(const struct sink *k, size_t *n_out, struct err *e)
{
	*n_out = k->n;
	if (k->overflow)
		return err_set(e, ERR_TOO_BIG, "spikes: more than %zu events", k->max);
	return 0;
}

int stats_spike_opts_check(const struct stats_spike_opts *o, struct err *e)
{
	return check_opts(o, e);
}

int stats_spikes(const struct stats_point *x, size_t n, int64_t from_ms, int64_t to_ms,
                 const struct stats_spike_opts *o, struct stats_spike *out, size_t max,
                 size_t *n_out, struct err *e)
{
	struct sink k = {.out = out, .max = max};
	struct detector d;
	int rc;

	*n_out = 0;
	rc = check_opts(o, e);
	if (rc < 0)
		return rc;
	memset(&d, 0, sizeof(d));
	d.o = o;
	d.run = NO_RUN;
	for (size_t i = 0; i < n && x[i].at_ms < to_ms; i++) {
		if (x[i].count >= 0)
			step(&d, &k, (double)x[i].count, x[i].approx, i, x[i].at_ms,
			     x[i].at_ms >= from_ms);
	}
	return finish(&k, n_out, e);
}

int stats_trending(const struct stats_post *posts, size_t n, int64_t from_ms, int64_t to_ms,
                   const struct stats_spike_opts *o, struct stats_spike *out, size_t max,
                   size_t *n_out, struct err *e)
{
	struct sink k = {.out = out, .max = max};
	struct detector d;
	int rc;

	*n_out = 0;
	rc = check_opts(o, e);
	if (rc < 0)
		return rc;
	memset(&d, 0, sizeof(d));
	d.o = o;
	d.run = NO_RUN;
	for (size_t i = 0; i < n && posts[i].posted_at_ms < to_ms; i++) {
		const struct stats_post *p = &posts[i];

		if (p->views_24h >= 0)
			step(&d, &k, (double)p->views_24h, p->approx, i, p->posted_at_ms,
			     p->posted_at_ms >= from_ms);
	}
	return finish(&k, n_out, e);
}
