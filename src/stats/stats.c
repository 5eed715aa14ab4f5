/*
 * stats: the metrics of subscribers and posts (spike.c has the spike
 * detector, overview.c the all-at-once call). Posts and series are ordered
 * by time, so a period is found by binary search and each metric is one
 * pass over the period's slice. Means are accumulated in doubles (counts
 * are exact in a double up to 2^53). Local days and hours come from the
 * zone's UTC offset at each instant (lib/tz) and integer day arithmetic, so
 * a day of 23 or 25 hours needs no special case.
 */
#include "stats/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/tz.h"

/* Instants converted to local time must lie in years 1900..9999 (and
 * adding an offset to them cannot overflow). */
#define LOCAL_MS_MIN (-2208988800000LL)  /* 1900-01-01T00:00Z */
#define LOCAL_MS_MAX (253402300800000LL) /* 10000-01-01T00:00Z */
/* A heatmap weight is at least 2^-1000, so a slot's total weight is never
 * 0 (2^-age underflows after about 1074 half-lives). */
#define HALF_LIVES_MAX 1000.0

struct acc {
	double sum;   /* of w * x */
	double w_sum; /* of w */
	size_t n;
	bool approx;
};

static void acc_add(struct acc *a, double x, double w, bool approx)
{
	a->sum += w * x;
	a->w_sum += w;
	a->n++;
	a->approx |= approx;
}

static struct stats_val val_of(double v, size_t n, bool approx)
{
	struct stats_val r = {.v = v, .n = n, .defined = true, .approx = approx};

	return r;
}

/* The (weighted) mean; undefined without inputs. */
static struct stats_val acc_mean(const struct acc *a)
{
	struct stats_val none = {0};

	if (a->n == 0 || a->w_sum <= 0)
		return none;
	return val_of(a->sum / a->w_sum, a->n, a->approx);
}

static bool known(int64_t count)
{
	return count >= 0;
}

size_t stats_posts_from(const struct stats_post *posts, size_t n, int64_t at_ms)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (posts[mid].posted_at_ms < at_ms)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index of the first post with posted_at_ms > at_ms. */
static size_t posts_after(const struct stats_post *posts, size_t n, int64_t at_ms)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (posts[mid].posted_at_ms <= at_ms)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The period's posts are posts[*lo .. *hi). */
static void period(const struct stats_post *posts, size_t n, int64_t from_ms, int64_t to_ms,
                   size_t *lo, size_t *hi)
{
	*lo = stats_posts_from(posts, n, from_ms);
	*hi = to_ms > from_ms ? stats_posts_from(posts, n, to_ms) : *lo;
	if (*hi < *lo)
		*hi = *lo;
}

/* Index of the first point with at_ms >= at (after = false) or > at. */
static size_t points_from(const struct stats_point *s, size_t n, int64_t at, bool after)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s[mid].at_ms < at || (after && s[mid].at_ms == at))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

/* The local day number (days since 1970-01-01) and hour of instant ms. */
static int local_day(struct tz *z, int64_t ms, int64_t *day, int *hour, struct err *e)
{
	int32_t off;
	int64_t local;

	if (ms < LOCAL_MS_MIN || ms >= LOCAL_MS_MAX)
		return err_set(e, ERR_INVALID, "instant %lld is outside years 1900..9999",
		               (long long)ms);
	if (tz_offset_ms(z, ms, &off) < 0)
		return err_set(e, ERR_INTERNAL, "time zone: icu cannot convert %lld",
		               (long long)ms);
	local = ms + off;
	*day = floor_div(local, STATS_DAY_MS);
	if (hour)
		*hour = (int)((local - *day * STATS_DAY_MS) / STATS_HOUR_MS);
	return 0;
}

/* --- Subscribers ------------------------------------------------------ */

static struct stats_val point_val(const struct stats_point *p)
{
	return val_of((double)p->count, 1, p->approx);
}

struct stats_val stats_subscribers_at(const struct stats_point *s, size_t n, int64_t at_ms)
{
	size_t i = points_from(s, n, at_ms, true);
	struct stats_val none = {0};

	return i > 0 ? point_val(&s[i - 1]) : none;
}

/* net and rate of a change whose prev and close are set. */
static void change_finish(struct stats_change *c)
{
	bool approx = c->prev.approx || c->close.approx;

	if (!c->prev.defined || !c->close.defined)
		return;
	c->net = val_of(c->close.v - c->prev.v, 2, approx);
	if (c->prev.v > 0)
		c->rate = val_of(c->net.v / c->prev.v * 100.0, 2, approx);
}

struct stats_change stats_growth(const struct stats_point *s, size_t n, int64_t from_ms,
                                 int64_t to_ms)
{
	struct stats_change c = {0};
	size_t i = points_from(s, n, from_ms, false);
	size_t j = to_ms > from_ms ? points_from(s, n, to_ms, false) : i;

	if (i > 0)
		c.prev = point_val(&s[i - 1]);
	if (j > i)
		c.close = point_val(&s[j - 1]);
	change_finish(&c);
	return c;
}

int stats_growth_daily(const char *zone, const struct stats_point *s, size_t n, int64_t from_ms,
                       int64_t to_ms, struct stats_day *out, size_t max, size_t *n_out,
                       struct err *e)
{
	struct stats_val before = {0}; /* the close of the day before the first */
	struct tz *z = NULL;
	int64_t first, last, day;
	size_t days, i;
	int rc;

	*n_out = 0;
	if (to_ms <= from_ms)
		return 0;
	rc = tz_open(zone, &z, e);
	if (rc < 0)
		return rc;
	rc = local_day(z, from_ms, &first, NULL, e);
	if (rc == 0)
		rc = local_day(z, to_ms - 1, &last, NULL, e);
	if (rc < 0)
		goto out;
	days = (size_t)(last - first + 1);
	if (days > max) {
		rc = err_set(e, ERR_TOO_BIG, "daily growth: %zu days do not fit in %zu", days, max);
		*n_out = days;
		goto out;
	}
	for (size_t k = 0; k < days; k++) {
		memset(&out[k], 0, sizeof(out[k]));
		tz_civil_from_day(first + (int64_t)k, &out[k].year, &out[k].month, &out[k].day);
	}
	/* No zone is more than a day away from UTC, so the measurements of
	 * local days first - 1 .. last lie within these instants. */
	i = points_from(s, n, (first - 2) * STATS_DAY_MS, false);
	for (; i < n && s[i].at_ms < (last + 2) * STATS_DAY_MS; i++) {
		if (s[i].at_ms < LOCAL_MS_MIN || s[i].at_ms >= LOCAL_MS_MAX)
			continue; /* cannot be on a date of the period */
		rc = local_day(z, s[i].at_ms, &day, NULL, e);
		if (rc < 0)
			goto out;
		/* In time order, so the last one seen of a day is its close. */
		if (day == first - 1)
			before = point_val(&s[i]);
		else if (day >= first && day <= last)
			out[day - first].change.close = point_val(&s[i]);
	}
	for (size_t k = 0; k < days; k++) {
		out[k].change.prev = k == 0 ? before : out[k - 1].change.close;
		change_finish(&out[k].change);
	}
	*n_out = days;
	rc = 0;
out:
	tz_free(z);
	return rc;
}

/* --- Views and reach -------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

struct stats_views stats_views(const struct stats_post *posts, size_t n, int64_t from_ms,
                               int64_t to_ms)
{
	struct stats_views r = {0};
	struct acc a = {0};
	int64_t *v;
	size_t lo, hi, m = 0;

	period(posts, n, from_ms, to_ms, &lo, &hi);
	if (hi == lo)
		return r;
	v = xmalloc((hi - lo) * sizeof(*v));
	for (size_t i = lo; i < hi; i++) {
		if (!known(posts[i].views))
			continue;
		v[m++] = posts[i].views;
		acc_add(&a, (double)posts[i].views, 1, posts[i].approx);
	}
	r.avg = acc_mean(&a);
	if (m > 0) {
		qsort(v, m, sizeof(*v), cmp_i64);
		r.median = val_of(m % 2 ? (double)v[m / 2]
		                        : ((double)v[m / 2 - 1] + (double)v[m / 2]) / 2.0,
		                  m, a.approx);
	}
	free(v);
	return r;
}

struct stats_reach stats_reach(const struct stats_post *posts, size_t n, int64_t from_ms,
                               int64_t to_ms)
{
	struct acc a24 = {0}, a48 = {0};
	struct stats_reach r;
	size_t lo, hi;

	period(posts, n, from_ms, to_ms, &lo, &hi);
	for (size_t i = lo; i < hi; i++) {
		if (known(posts[i].views_24h))
			acc_add(&a24, (double)posts[i].views_24h, 1, posts[i].approx);
		if (known(posts[i].views_48h))
			acc_add(&a48, (double)posts[i].views_48h, 1, posts[i].approx);
	}
	r.h24 = acc_mean(&a24);
	r.h48 = acc_mean(&a48);
	return r;
}

/* mean / subscribers * 100, undefined without both. */
static struct stats_val per_subscriber(struct stats_val mean, struct stats_val subscribers)
{
	struct stats_val none = {0};

	if (!mean.defined || !subscribers.defined || subscribers.v <= 0)
		return none;
	return val_of(mean.v / subscribers.v * 100.0, mean.n, mean.approx || subscribers.approx);
}

struct stats_err_rates stats_err_rates(const struct stats_post *posts, size_t n, int64_t now_ms,
                                       struct stats_val subscribers)
{
	struct acc views = {0}, views24 = {0};
	struct stats_err_rates r;
	int64_t since;
	size_t lo, hi;

	if (__builtin_sub_overflow(now_ms, STATS_ERR_WINDOW_MS, &since))
		since = INT64_MIN;
	lo = stats_posts_from(posts, n, since);
	hi = posts_after(posts, n, now_ms);
	for (size_t i = lo; i < hi; i++) {
		if (known(posts[i].views))
			acc_add(&views, (double)posts[i].views, 1, posts[i].approx);
		if (known(posts[i].views_24h))
			acc_add(&views24, (double)posts[i].views_24h, 1, posts[i].approx);
	}
	r.err = per_subscriber(acc_mean(&views), subscribers);
	r.err24 = per_subscriber(acc_mean(&views24), subscribers);
	return r;
}

/* --- Engagement ------------------------------------------------------- */

struct stats_er stats_post_er(const struct stats_post *p)
{
	const int64_t parts[3] = {p->reactions, p->forwards, p->comments};
	const unsigned bits[3] = {STATS_MISSING_REACTIONS, STATS_MISSING_FORWARDS,
	                          STATS_MISSING_COMMENTS};
	struct stats_er r = {0};
	double sum = 0;

	for (int i = 0; i < 3; i++) {
		if (known(parts[i]))
			sum += (double)parts[i];
		else
			r.missing |= bits[i];
	}
	if (p->views > 0 && r.missing != (STATS_MISSING_REACTIONS | STATS_MISSING_FORWARDS |
	                                  STATS_MISSING_COMMENTS))
		r.er = val_of(sum / (double)p->views * 100.0, 1, p->approx);
	return r;
}

struct stats_er stats_er_avg(const struct stats_post *posts, size_t n, int64_t from_ms,
                             int64_t to_ms)
{
	struct stats_er r = {0};
	struct acc a = {0};
	size_t lo, hi;

	period(posts, n, from_ms, to_ms, &lo, &hi);
	for (size_t i = lo; i < hi; i++) {
		struct stats_er one = stats_post_er(&posts[i]);

		if (!one.er.defined)
			continue;
		acc_add(&a, one.er.v, 1, one.er.approx);
		r.missing |= one.missing;
	}
	r.er = acc_mean(&a);
	return r;
}

struct stats_val stats_post_virality(const struct stats_post *p)
{
	struct stats_val none = {0};

	if (!known(p->forwards) || p->views <= 0)
		return none;
	return val_of((double)p->forwards / (double)p->views, 1, p->approx);
}

struct stats_val stats_virality(const struct stats_post *posts, size_t n, int64_t from_ms,
                                int64_t to_ms)
{
	struct acc a = {0};
	size_t lo, hi;

	period(posts, n, from_ms, to_ms, &lo, &hi);
	for (size_t i = lo; i < hi; i++) {
		struct stats_val one = stats_post_virality(&posts[i]);

		if (one.defined)
			acc_add(&a, one.v, 1, one.approx);
	}
	return acc_mean(&a);
}

/* --- Activity --------------------------------------------------------- */

struct stats_val stats_frequency(const struct stats_post *posts, size_t n, int64_t from_ms,
                                 int64_t to_ms)
{
	struct stats_val none = {0};
	size_t lo, hi;
	double days;

	if (to_ms <= from_ms)
		return none;
	period(posts, n, from_ms, to_ms, &lo, &hi);
	days = ((double)to_ms - (double)from_ms) / (double)STATS_DAY_MS;
	return val_of((double)(hi - lo) / days, hi - lo, false);
}

struct stats_activity stats_activity(const struct stats_post *posts, size_t n, int64_t now_ms)
{
	struct stats_activity a = {0};
	size_t i = posts_after(posts, n, now_ms);

	if (i == 0)
		return a;
	a.defined = true;
	a.last_post_ms = posts[i - 1].posted_at_ms;
	if (__builtin_sub_overflow(now_ms, a.last_post_ms, &a.age_ms))
		a.age_ms = INT64_MAX;
	if (a.age_ms <= STATS_ACTIVE_MS)
		a.level = STATS_ACTIVE;
	else if (a.age_ms <= STATS_LOW_MS)
		a.level = STATS_LOW;
	else if (a.age_ms <= STATS_INACTIVE_MS)
		a.level = STATS_INACTIVE;
	else
		a.level = STATS_DEAD;
	return a;
}

/* --- Best time to post ------------------------------------------------ */

static double weight(int64_t now_ms, int64_t at_ms)
{
	double half_lives = ((double)now_ms - (double)at_ms) / (double)STATS_HALF_LIFE_MS;

	if (half_lives < 0)
		half_lives = 0;
	if (half_lives > HALF_LIVES_MAX)
		half_lives = HALF_LIVES_MAX;
	return exp2(-half_lives);
}

int stats_heatmap(const char *zone, const struct stats_post *posts, size_t n, int64_t from_ms,
                  int64_t to_ms, int64_t now_ms, struct stats_heatmap *out, struct err *e)
{
	struct acc er[7][24], v24[7][24];
	struct tz *z = NULL;
	size_t lo, hi;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(er, 0, sizeof(er));
	memset(v24, 0, sizeof(v24));
	rc = tz_open(zone, &z, e);
	if (rc < 0)
		return rc;
	period(posts, n, from_ms, to_ms, &lo, &hi);
	for (size_t i = lo; i < hi; i++) {
		const struct stats_post *p = &posts[i];
		struct stats_er one = stats_post_er(p);
		double w = weight(now_ms, p->posted_at_ms);
		int64_t day;
		int hour, wd;

		rc = local_day(z, p->posted_at_ms, &day, &hour, e);
		if (rc < 0) {
			memset(out, 0, sizeof(*out));
			goto out;
		}
		wd = tz_weekday(day);
		out->cell[wd][hour].posts++;
		if (one.er.defined)
			acc_add(&er[wd][hour], one.er.v, w, one.er.approx);
		if (known(p->views_24h))
			acc_add(&v24[wd][hour], (double)p->views_24h, w, p->approx);
	}
	for (int wd = 0; wd < 7; wd++) {
		for (int h = 0; h < 24; h++) {
			out->cell[wd][h].er = acc_mean(&er[wd][h]);
			out->cell[wd][h].views_24h = acc_mean(&v24[wd][h]);
		}
	}
	rc = 0;
out:
	tz_free(z);
	return rc;
}

/* --- Top posts and content mix ---------------------------------------- */

/* What a top list ranks posts by: views or ER. */
typedef bool (*rank_fn)(const struct stats_post *posts, size_t a, size_t b);

/* Whether post a ranks before post b; ties by message id, then index. */
static bool tie_before(const struct stats_post *posts, size_t a, size_t b)
{
	if (posts[a].message_id != posts[b].message_id)
		return posts[a].message_id < posts[b].message_id;
	return a < b;
}

static bool views_before(const struct stats_post *posts, size_t a, size_t b)
{
	if (posts[a].views != posts[b].views)
		return posts[a].views > posts[b].views;
	return tie_before(posts, a, b);
}

static bool er_before(const struct stats_post *posts, size_t a, size_t b)
{
	double x = stats_post_er(&posts[a]).er.v, y = stats_post_er(&posts[b]).er.v;

	if (x != y)
		return x > y;
	return tie_before(posts, a, b);
}

/* Restore the heap below i: the root is the worst kept so far. */
static void sift_down(const struct stats_post *posts, rank_fn before, size_t *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, worst = i, t;

		if (l < n && before(posts, h[worst], h[l]))
			worst = l;
		if (r < n && before(posts, h[worst], h[r]))
			worst = r;
		if (worst == i)
			return;
		t = h[i];
		h[i] = h[worst];
		h[worst] = t;
		i = worst;
	}
}

static void sift_up(const struct stats_post *posts, rank_fn before, size_t *h, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2, t;

		if (!before(posts, h[parent], h[i]))
			return;
		t = h[i];
		h[i] = h[parent];
		h[parent] = t;
		i = parent;
	}
}

static size_t top(const struct stats_post *posts, size_t n, int64_t from_ms, int64_t to_ms,
                  size_t *out, size_t k, rank_fn before, bool by_er)
{
	size_t lo, hi, m = 0;

	if (k == 0)
		return 0;
	period(posts, n, from_ms, to_ms, &lo, &hi);
	for (size_t i = lo; i < hi; i++) {
		if (by_er ? !stats_post_er(&posts[i]).er.defined : !known(posts[i].views))
			continue;
		if (m < k) {
			out[m] = i;
			sift_up(posts, before, out, m++);
		} else if (before(posts, i, out[0])) {
			out[0] = i;
			sift_down(posts, before, out, m, 0);
		}
	}
	/* Heap sort: the worst goes to the end each time, leaving best first. */
	for (size_t end = m; end > 1; end--) {
		size_t t = out[0];

		out[0] = out[end - 1];
		out[end - 1] = t;
		sift_down(posts, before, out, end - 1, 0);
	}
	return m;
}

size_t stats_top_views(const struct stats_post *posts, size_t n, int64_t from_ms, int64_t to_ms,
                       size_t *out, size_t k)
{
	return top(posts, n, from_ms, to_ms, out, k, views_before, false);
}

size_t stats_top_er(const struct stats_post *posts, size_t n, int64_t from_ms, int64_t to_ms,
                    size_t *out, size_t k)
{
	return top(posts, n, from_ms, to_ms, out, k, er_before, true);
}

struct stats_mix stats_mix(const struct stats_post *posts, size_t n, int64_t from_ms, int64_t to_ms)
{
	struct acc views[STATS_MEDIA_COUNT] = {{0}};
	struct stats_mix m = {0};
	size_t lo, hi;

	period(posts, n, from_ms, to_ms, &lo, &hi);
	m.total = hi - lo;
	for (size_t i = lo; i < hi; i++) {
		unsigned kind = (unsigned)posts[i].media;

		if (kind >= STATS_MEDIA_COUNT)
			kind = STATS_MEDIA_OTHER;
		m.kind[kind].posts++;
		if (known(posts[i].views))
			acc_add(&views[kind], (double)posts[i].views, 1, posts[i].approx);
	}
	for (int k = 0; k < STATS_MEDIA_COUNT; k++) {
		if (m.total > 0)
			m.kind[k].share = val_of((double)m.kind[k].posts / (double)m.total * 100.0,
			                         m.kind[k].posts, false);
		m.kind[k].avg_views = acc_mean(&views[k]);
	}
	return m;
}
