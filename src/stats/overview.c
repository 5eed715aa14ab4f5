/*
 * stats/overview: the input check and every metric of a period in one call,
 * built from the public functions of stats.h. Each metric is at most one
 * pass over the period's slice of posts or points plus binary searches; the
 * views median sorts the period's views once. The spike detector stores into
 * room for EVENTS_FIRST events, and only a period with more runs it again to
 * count them and once more to store them all.
 */
#include "stats/stats.h"

#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/tz.h"

static const struct stats_spike_opts spike_default = STATS_SPIKE_OPTS_DEFAULT;
static const struct stats_spike_opts trending_default = STATS_TRENDING_OPTS_DEFAULT;

static int check_series(const char *what, const struct stats_point *s, size_t n, int64_t min_count,
                        struct err *e)
{
	if (n > 0 && !s)
		return err_set(e, ERR_INVALID, "%s: no array for %zu points", what, n);
	for (size_t i = 0; i < n; i++) {
		if (s[i].count < min_count)
			return err_set(e, ERR_INVALID, "%s: point %zu has count %lld", what, i,
			               (long long)s[i].count);
		if (i > 0 && s[i].at_ms < s[i - 1].at_ms)
			return err_set(e, ERR_INVALID, "%s: point %zu is older than the one before",
			               what, i);
	}
	return 0;
}

static int check_posts(const struct stats_post *posts, size_t n, struct err *e)
{
	if (n > 0 && !posts)
		return err_set(e, ERR_INVALID, "posts: no array for %zu posts", n);
	for (size_t i = 0; i < n; i++) {
		const struct stats_post *p = &posts[i];
		const int64_t counts[6] = {p->views,     p->views_24h, p->views_48h,
		                           p->reactions, p->forwards,  p->comments};

		for (int c = 0; c < 6; c++) {
			if (counts[c] < STATS_UNKNOWN)
				return err_set(e, ERR_INVALID,
				               "posts: post %zu (message %lld) has a count of %lld",
				               i, (long long)p->message_id, (long long)counts[c]);
		}
		if ((unsigned)p->media >= STATS_MEDIA_COUNT)
			return err_set(e, ERR_INVALID, "posts: post %zu has media kind %d", i,
			               (int)p->media);
		if (i > 0 && p->posted_at_ms < posts[i - 1].posted_at_ms)
			return err_set(e, ERR_INVALID,
			               "posts: post %zu is older than the one before", i);
	}
	return 0;
}

int stats_input_check(const struct stats_input *in, struct err *e)
{
	int rc;

	if (!in->zone || !tz_valid(in->zone))
		return err_set(e, ERR_INVALID, "zone: unknown time zone \"%.64s\"",
		               in->zone ? in->zone : "");
	if (in->to_ms < in->from_ms)
		return err_set(e, ERR_INVALID, "period: it ends before it starts");
	if ((uint64_t)in->to_ms - (uint64_t)in->from_ms >
	    (uint64_t)STATS_PERIOD_DAYS_MAX * STATS_DAY_MS)
		return err_set(e, ERR_TOO_BIG, "period: longer than %d days",
		               STATS_PERIOD_DAYS_MAX);
	if (in->top_n > STATS_TOP_MAX)
		return err_set(e, ERR_INVALID, "top_n: %zu is more than %d", in->top_n,
		               STATS_TOP_MAX);
	rc = check_series("subscribers", in->subs, in->n_subs, 0, e);
	if (rc == 0)
		rc = check_series("velocity", in->velocity, in->n_velocity, STATS_UNKNOWN, e);
	if (rc == 0)
		rc = check_posts(in->posts, in->n_posts, e);
	if (rc == 0 && in->spike)
		rc = stats_spike_opts_check(in->spike, e);
	if (rc == 0 && in->trending)
		rc = stats_spike_opts_check(in->trending, e);
	return rc;
}

static int daily(const struct stats_input *in, struct stats_overview *o, struct err *e)
{
	struct err count_err = {0};
	size_t n = 0;
	int rc;

	rc = stats_growth_daily(in->zone, in->subs, in->n_subs, in->from_ms, in->to_ms, NULL, 0, &n,
	                        &count_err);
	if (rc == 0 || rc != -ERR_TOO_BIG) {
		if (rc < 0 && e)
			*e = count_err;
		return rc;
	}
	o->days = xmalloc(n * sizeof(*o->days));
	return stats_growth_daily(in->zone, in->subs, in->n_subs, in->from_ms, in->to_ms, o->days,
	                          n, &o->n_days, e);
}

/* Room for this many events first; only a period with more runs the
 * detector again, once to count and once to store. */
#define EVENTS_FIRST 64

static int events(const struct stats_input *in, bool trending, struct stats_spike **out, size_t *n,
                  struct err *e)
{
	const struct stats_spike_opts *o = trending ? in->trending : in->spike;
	size_t max = EVENTS_FIRST;
	int rc;

	if (!o)
		o = trending ? &trending_default : &spike_default;
	for (int pass = 0;; pass++) {
		*out = xmalloc(max * sizeof(**out));
		if (trending)
			rc = stats_trending(in->posts, in->n_posts, in->from_ms, in->to_ms, o, *out,
			                    max, n, e);
		else
			rc = stats_spikes(in->velocity, in->n_velocity, in->from_ms, in->to_ms, o,
			                  *out, max, n, e);
		if (rc != -ERR_TOO_BIG || pass > 0)
			return rc;
		free(*out);
		*out = NULL;
		if (trending)
			rc = stats_trending(in->posts, in->n_posts, in->from_ms, in->to_ms, o, NULL,
			                    0, &max, e);
		else
			rc = stats_spikes(in->velocity, in->n_velocity, in->from_ms, in->to_ms, o,
			                  NULL, 0, &max, e);
		if (rc < 0)
			return rc;
	}
}

int stats_overview(const struct stats_input *in, struct stats_overview *out, struct err *e)
{
	const struct stats_post *posts = in->posts;
	size_t np = in->n_posts;
	int64_t from = in->from_ms, to = in->to_ms;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = stats_input_check(in, e);
	if (rc < 0)
		return rc;
	out->subscribers = stats_subscribers_at(in->subs, in->n_subs, in->now_ms);
	out->growth = stats_growth(in->subs, in->n_subs, from, to);
	rc = daily(in, out, e);
	if (rc < 0)
		goto fail;
	out->views = stats_views(posts, np, from, to);
	out->reach = stats_reach(posts, np, from, to);
	out->err = stats_err_rates(posts, np, in->now_ms, out->subscribers);
	out->er = stats_er_avg(posts, np, from, to);
	out->virality = stats_virality(posts, np, from, to);
	out->frequency = stats_frequency(posts, np, from, to);
	out->activity = stats_activity(posts, np, in->now_ms);
	rc = stats_heatmap(in->zone, posts, np, from, to, in->now_ms, &out->heatmap, e);
	if (rc < 0)
		goto fail;
	out->mix = stats_mix(posts, np, from, to);
	out->top_views = xmalloc(in->top_n * sizeof(*out->top_views));
	out->n_top_views = stats_top_views(posts, np, from, to, out->top_views, in->top_n);
	out->top_er = xmalloc(in->top_n * sizeof(*out->top_er));
	out->n_top_er = stats_top_er(posts, np, from, to, out->top_er, in->top_n);
	rc = events(in, false, &out->spikes, &out->n_spikes, e);
	if (rc == 0)
		rc = events(in, true, &out->trending, &out->n_trending, e);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	stats_overview_release(out);
	return rc;
}

void stats_overview_release(struct stats_overview *o)
{
	free(o->days);
	free(o->top_views);
	free(o->top_er);
	free(o->spikes);
	free(o->trending);
	memset(o, 0, sizeof(*o));
}
