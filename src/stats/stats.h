/*
 * stats: a channel's metrics as pure functions over arrays (docs/metrics.md
 * gives every definition, formula, unit and limit).
 *
 * Inputs are plain arrays the collection layer fills from the store. Nothing
 * here does I/O, reads a clock or keeps state between calls: "now" is always
 * the caller's. Time is Unix milliseconds in UTC; a zone is an IANA name,
 * applied only where a metric is about local days or hours (daily growth and
 * the heatmap).
 *
 * Conventions shared by every function:
 * - Series and posts are ordered by time, oldest first (ties in any order).
 *   The single-metric functions trust this; stats_overview checks it.
 * - A period is [from_ms, to_ms): a post belongs to it when its posted_at_ms
 *   does, a measurement when its at_ms does.
 * - A count below zero means "unknown" (STATS_UNKNOWN): left out of every
 *   sum and average, never read as 0. A channel with reactions disabled has
 *   unknown reactions, not zero.
 * - Every metric says whether it is defined (enough data, no division by
 *   zero) and approximate (some input it used was rounded, like "1.2K" views
 *   from the public channel page). An undefined value is 0; no output is
 *   ever NaN or infinite.
 * - Nothing allocates memory the caller must free except stats_overview
 *   (freed by stats_overview_release). stats_views and stats_overview use
 *   scratch memory that they free before returning; the heatmap and daily
 *   growth open an ICU calendar that they close before returning.
 */
#ifndef HERALD_STATS_STATS_H
#define HERALD_STATS_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define STATS_UNKNOWN (-1)
#define STATS_HOUR_MS (3600000LL)
#define STATS_DAY_MS  (86400000LL)

/* ERR and ERR24 look at the posts of the last 30 days. */
#define STATS_ERR_WINDOW_MS (30 * STATS_DAY_MS)
/* Activity: the last post's age at most 3, 14, 90 days, else dead. */
#define STATS_ACTIVE_MS   (3 * STATS_DAY_MS)
#define STATS_LOW_MS      (14 * STATS_DAY_MS)
#define STATS_INACTIVE_MS (90 * STATS_DAY_MS)
/* The heatmap weighs a post by 2^(-age / half-life) with this half-life. */
#define STATS_HALF_LIFE_MS (30 * STATS_DAY_MS)
/* The longest period daily growth and the overview accept (ten years). */
#define STATS_PERIOD_DAYS_MAX 3660
/* Bounds of the spike detector's window, in points. */
#define STATS_WINDOW_MAX 512
/* The most top posts stats_overview returns per list. */
#define STATS_TOP_MAX 1000

/*
 * A metric's value with its quality.
 * - v: the value in the metric's unit (the function's comment names it);
 *   0 when !defined.
 * - n: how many inputs it was computed from (posts, measurements, days);
 *   for a single-post metric 1 when defined.
 * - defined: there was enough data and no division by zero.
 * - approx: some input that went into v was rounded by its source.
 */
struct stats_val {
	double v;
	size_t n;
	bool defined;
	bool approx;
};

/*
 * One measurement of a count at an instant: the subscriber series (one
 * getChatMemberCount per collection, at irregular intervals) or a view
 * velocity series (count = views gained in the interval ending at at_ms).
 */
struct stats_point {
	int64_t at_ms; /* when it was measured, Unix ms UTC */
	int64_t count; /* >= 0: subscribers, or views in the interval */
	bool approx;   /* the source rounded it (YouTube's subscriber counts) */
};

enum stats_media {
	STATS_MEDIA_TEXT,
	STATS_MEDIA_PHOTO,
	STATS_MEDIA_VIDEO,
	STATS_MEDIA_DOCUMENT,
	STATS_MEDIA_ALBUM,
	STATS_MEDIA_POLL,
	STATS_MEDIA_OTHER, /* also what an out-of-range value is counted as */
	STATS_MEDIA_COUNT
};

/*
 * One post of the channel. Counts are >= 0 or STATS_UNKNOWN (any negative
 * value is read as unknown). The Bot API gives no views at all: views come
 * from the public channel page, rounded there above 999 ("1.2K"); such a
 * post has approx set, which marks all of its counts approximate.
 */
struct stats_post {
	int64_t message_id;   /* Telegram's id, unique in the channel */
	int64_t posted_at_ms; /* publication instant, Unix ms UTC */
	enum stats_media media;
	int64_t views;     /* views at the last collection */
	int64_t views_24h; /* views as measured at 24 h after posting */
	int64_t views_48h; /* views as measured at 48 h after posting */
	int64_t reactions; /* all reactions summed */
	int64_t forwards;
	int64_t comments; /* replies in the linked discussion group */
	bool approx;
};

/* Index of the first post with posted_at_ms >= at_ms (n when none).
 * O(log n). */
size_t stats_posts_from(const struct stats_post *posts, size_t n, int64_t at_ms);

/* --- Subscribers ------------------------------------------------------ */

/* The subscriber count at instant at_ms: the last measurement with
 * at_ms <= at_ms, in subscribers. Undefined when none is that old. O(log n). */
struct stats_val stats_subscribers_at(const struct stats_point *s, size_t n, int64_t at_ms);

/*
 * Growth between two measurements:
 * - prev, close: the counts (subscribers) the change is between;
 * - net: close - prev, in subscribers;
 * - rate: net / prev * 100, in percent; undefined when prev is 0 (net
 *   stays defined).
 */
struct stats_change {
	struct stats_val prev;
	struct stats_val close;
	struct stats_val net;
	struct stats_val rate;
};

/*
 * Net growth over the period: prev is the last measurement before from_ms,
 * close the last one in [from_ms, to_ms). Everything is undefined when
 * either is missing (growth across a period without a measurement in it is
 * not known to be 0). O(log n).
 */
struct stats_change stats_growth(const struct stats_point *s, size_t n, int64_t from_ms,
                                 int64_t to_ms);

/* One local calendar day of daily growth. */
struct stats_day {
	int year, month, day; /* the local date in the caller's zone */
	/* close: the last measurement of this local day; prev: the last of the
	 * day before. net and rate are defined only when both days have a
	 * measurement (rate also needs prev > 0). */
	struct stats_change change;
};

/*
 * Net growth per local calendar day in zone, for every date from the local
 * date of from_ms to that of to_ms - 1 (inclusive; none when to_ms <=
 * from_ms), into out[0..*n_out), oldest first. A day's close uses every
 * measurement of that whole local day, even outside [from_ms, to_ms), so a
 * period that starts at noon still gets the day's last count; a day of 23
 * or 25 hours (daylight saving) is one day.
 * When the period spans more than max days, returns -ERR_TOO_BIG with
 * nothing written and *n_out = the number of days needed (more than
 * STATS_PERIOD_DAYS_MAX is always -ERR_TOO_BIG). -ERR_INVALID for an
 * unknown zone, -ERR_INTERNAL when ICU fails; *n_out is then 0. O(n + days).
 */
int stats_growth_daily(const char *zone, const struct stats_point *s, size_t n, int64_t from_ms,
                       int64_t to_ms, struct stats_day *out, size_t max, size_t *n_out,
                       struct err *e) WUR;

/* --- Views and reach -------------------------------------------------- */

/* Views per post over the period's posts with known views, in views:
 * their mean and median (the mean of the two middle values when even). */
struct stats_views {
	struct stats_val avg;
	struct stats_val median;
};

/* O(n log n) in the period's posts; uses and frees a scratch array. */
struct stats_views stats_views(const struct stats_post *posts, size_t n, int64_t from_ms,
                               int64_t to_ms);

/* Reach: the mean of views_24h (h24) and of views_48h (h48), in views,
 * each over the period's posts that have it. */
struct stats_reach {
	struct stats_val h24;
	struct stats_val h48;
};

struct stats_reach stats_reach(const struct stats_post *posts, size_t n, int64_t from_ms,
                               int64_t to_ms);

/*
 * ERR and ERR24, in percent: over the posts with now_ms - 30 days <=
 * posted_at_ms <= now_ms, the mean of views (ERR) or of views_24h (ERR24)
 * among those that have it, divided by subscribers and times 100.
 * Undefined when subscribers is undefined or 0, or no post has the views.
 * approx when subscribers or any post used is.
 */
struct stats_err_rates {
	struct stats_val err;
	struct stats_val err24;
};

struct stats_err_rates stats_err_rates(const struct stats_post *posts, size_t n, int64_t now_ms,
                                       struct stats_val subscribers);

/* --- Engagement ------------------------------------------------------- */

/* Bits of stats_er.missing: parts that were unknown and left out. */
#define STATS_MISSING_REACTIONS (1u << 0)
#define STATS_MISSING_FORWARDS  (1u << 1)
#define STATS_MISSING_COMMENTS  (1u << 2)

struct stats_er {
	struct stats_val er; /* percent */
	unsigned missing;    /* STATS_MISSING_* */
};

/*
 * ER of one post, in percent: (reactions + forwards + comments) / views *
 * 100 over the parts that are known; each unknown part is left out and its
 * bit set in missing. Undefined when views are unknown or 0, or all three
 * parts are unknown.
 */
struct stats_er stats_post_er(const struct stats_post *p);

/* The mean of the defined per-post ERs of the period's posts, in percent;
 * missing is the union of their missing bits. */
struct stats_er stats_er_avg(const struct stats_post *posts, size_t n, int64_t from_ms,
                             int64_t to_ms);

/* Virality of one post: forwards / views, a fraction (0.01 = one forward
 * per hundred views, not percent). Undefined when either is unknown or
 * views is 0. */
struct stats_val stats_post_virality(const struct stats_post *p);

/* The mean of the defined per-post viralities of the period's posts. */
struct stats_val stats_virality(const struct stats_post *posts, size_t n, int64_t from_ms,
                                int64_t to_ms);

/* --- Activity --------------------------------------------------------- */

/* Posts per day: the period's posts / ((to_ms - from_ms) / 1 day). Defined
 * (0 with no posts) whenever to_ms > from_ms; never approximate. */
struct stats_val stats_frequency(const struct stats_post *posts, size_t n, int64_t from_ms,
                                 int64_t to_ms);

enum stats_level {
	STATS_ACTIVE,   /* the last post is at most 3 days old */
	STATS_LOW,      /* at most 14 days */
	STATS_INACTIVE, /* at most 90 days */
	STATS_DEAD,     /* older */
};

/* The activity status from the age of the last post with posted_at_ms <=
 * now_ms. Not defined when there is no such post. */
struct stats_activity {
	bool defined;
	enum stats_level level;
	int64_t last_post_ms; /* posted_at_ms of that post */
	int64_t age_ms;       /* now_ms - last_post_ms */
};

struct stats_activity stats_activity(const struct stats_post *posts, size_t n, int64_t now_ms);

/* --- Best time to post ------------------------------------------------ */

/*
 * One weekday x hour slot. Each post counts with weight w = 2^(-age /
 * STATS_HALF_LIFE_MS), age = now_ms - posted_at_ms (0 for a post after
 * now_ms), so a post 30 days old counts half as much as one posted now.
 * - posts: the period's posts published in this slot;
 * - er: the weighted mean of their defined ERs, sum(w * er) / sum(w), in
 *   percent; undefined (no data, not zero) when none has one; n = posts used;
 * - views_24h: the weighted mean of their views_24h, in views, likewise.
 */
struct stats_cell {
	size_t posts;
	struct stats_val er;
	struct stats_val views_24h;
};

/* cell[weekday][hour]: weekday 0 = Monday .. 6 = Sunday, hour 0..23, both
 * of the local time of publication in the caller's zone. */
struct stats_heatmap {
	struct stats_cell cell[7][24];
};

/* Fill *out from the period's posts. -ERR_INVALID for an unknown zone,
 * -ERR_INTERNAL when ICU fails; *out is then all "no data". O(n). */
int stats_heatmap(const char *zone, const struct stats_post *posts, size_t n, int64_t from_ms,
                  int64_t to_ms, int64_t now_ms, struct stats_heatmap *out, struct err *e) WUR;

/* --- Top posts and content mix ---------------------------------------- */

/*
 * The k best of the period's posts by views (posts with known views) or by
 * ER (posts with a defined ER), best first: indices into posts written to
 * out[0..k), returning how many were written (fewer than k when fewer
 * posts qualify). Ties go to the lower message_id, then the lower index,
 * so the order is total and stable across calls. O(n log k), no allocation.
 */
size_t stats_top_views(const struct stats_post *posts, size_t n, int64_t from_ms, int64_t to_ms,
                       size_t *out, size_t k);
size_t stats_top_er(const struct stats_post *posts, size_t n, int64_t from_ms, int64_t to_ms,
                    size_t *out, size_t k);

/* One media kind of the content mix:
 * - posts: the period's posts of this kind;
 * - share: posts / all the period's posts * 100, in percent (undefined
 *   when the period has no posts; never approximate);
 * - avg_views: the mean views of this kind's posts with known views. */
struct stats_mix_kind {
	size_t posts;
	struct stats_val share;
	struct stats_val avg_views;
};

struct stats_mix {
	size_t total; /* the period's posts */
	struct stats_mix_kind kind[STATS_MEDIA_COUNT];
};

struct stats_mix stats_mix(const struct stats_post *posts, size_t n, int64_t from_ms,
                           int64_t to_ms);

/* --- Spikes and trending ---------------------------------------------- */

/*
 * The spike detector (docs/metrics.md, "Spikes and trending"). For each
 * point x[i], looking only at earlier points (no look-ahead):
 *   h        = min(i, window) previous values (those known);
 *   baseline = median of those h values;
 *   mad      = median of |x[j] - baseline| over them;
 *   scale    = max(1.4826 * mad, sqrt(max(baseline, 1)));
 *   score    = (x[i] - baseline) / scale.
 * x[i] spikes when h >= min_history, score >= threshold and x[i] -
 * baseline >= min_excess. 1.4826 * MAD estimates the standard deviation of
 * normal noise; the floor sqrt(baseline) is that of a Poisson count, so a
 * perfectly flat series (MAD 0) is not alarmed by +1.
 * - window: 1..STATS_WINDOW_MAX points of history;
 * - min_history: 1..window points needed before anything can spike;
 * - threshold: > 0, in scale units;
 * - min_excess: >= 0, in the series' unit (views);
 * - merge_runs: consecutive spiking points are one event, reported at its
 *   first point (a level shift alarms once, not until the baseline
 *   catches up); otherwise every spiking point is its own event.
 */
struct stats_spike_opts {
	size_t window;
	size_t min_history;
	double threshold;
	double min_excess;
	bool merge_runs;
};

/* For view velocity: a day of hourly points, alarm once per run. */
#define STATS_SPIKE_OPTS_DEFAULT                                                                   \
	{                                                                                          \
		.window = 24, .min_history = 12, .threshold = 5.0, .min_excess = 10.0,             \
		.merge_runs = true                                                                 \
	}
/* For posts against the channel's previous 30: every outlier counts. */
#define STATS_TRENDING_OPTS_DEFAULT                                                                \
	{                                                                                          \
		.window = 30, .min_history = 10, .threshold = 3.5, .min_excess = 10.0,             \
		.merge_runs = false                                                                \
	}

/* 0 when o is within the bounds above, else -ERR_INVALID naming the field. */
int stats_spike_opts_check(const struct stats_spike_opts *o, struct err *e) WUR;

/*
 * One event: its first spiking point (index, at_ms, value, baseline,
 * scale and score are that point's), how many consecutive points spiked
 * (len; 1 unless runs are merged) and the highest score among them.
 * approx when the point or any point of its window was approximate.
 */
struct stats_spike {
	size_t index;    /* into the input array (posts for stats_trending) */
	int64_t at_ms;   /* the point's at_ms, or the post's posted_at_ms */
	double value;    /* x[index] */
	double baseline; /* views */
	double scale;    /* views */
	double score;    /* scale units */
	double peak;     /* the highest score of the run */
	size_t len;
	bool approx;
};

/*
 * Spike events of a time-ordered series (view velocity of a post or of the
 * channel; negative counts are unknown and skipped). Points at or after
 * to_ms are not looked at; points before from_ms are history only: an
 * event is reported when its first point is in [from_ms, to_ms). Events go
 * to out[0..*n_out) in time order; when there are more than max, returns
 * -ERR_TOO_BIG with the first max stored. With out NULL nothing is stored
 * and *n_out counts the events (max is ignored). -ERR_INVALID for bad
 * options (*n_out = 0). O(n * window), no allocation.
 */
int stats_spikes(const struct stats_point *x, size_t n, int64_t from_ms, int64_t to_ms,
                 const struct stats_spike_opts *o, struct stats_spike *out, size_t max,
                 size_t *n_out, struct err *e) WUR;

/*
 * Trending posts: the detector over the series of views_24h of the posts
 * that have it, in publication order, so a post is compared with the
 * channel's posts before it. Reported as for stats_spikes (index into
 * posts). A post younger than a day has no views_24h yet: its own velocity
 * series through stats_spikes tells whether it is taking off.
 */
int stats_trending(const struct stats_post *posts, size_t n, int64_t from_ms, int64_t to_ms,
                   const struct stats_spike_opts *o, struct stats_spike *out, size_t max,
                   size_t *n_out, struct err *e) WUR;

/* --- Everything at once ----------------------------------------------- */

/*
 * What stats_overview reads. The arrays stay the caller's.
 * - zone: the user's IANA zone, for daily growth and the heatmap;
 * - now_ms: "now" for subscribers, ERR, activity and heatmap weights;
 * - from_ms, to_ms: the period, at most STATS_PERIOD_DAYS_MAX days;
 * - subs: subscriber series; posts: the channel's posts (all of them:
 *   activity, ERR and trending look outside the period); velocity: the
 *   channel's view velocity (may be NULL with n_velocity 0);
 * - top_n: 0..STATS_TOP_MAX posts per top list;
 * - spike, trending: detector options; NULL for the defaults above.
 */
struct stats_input {
	const char *zone;
	int64_t now_ms;
	int64_t from_ms, to_ms;
	const struct stats_point *subs;
	size_t n_subs;
	const struct stats_post *posts;
	size_t n_posts;
	const struct stats_point *velocity;
	size_t n_velocity;
	size_t top_n;
	const struct stats_spike_opts *spike;
	const struct stats_spike_opts *trending;
};

/* Every metric above for one period. The arrays belong to the overview
 * and are freed by stats_overview_release. */
struct stats_overview {
	struct stats_val subscribers; /* at now_ms */
	struct stats_change growth;   /* over the period */
	struct stats_day *days;       /* daily growth */
	size_t n_days;
	struct stats_views views;
	struct stats_reach reach;
	struct stats_err_rates err; /* relative to now_ms, not the period */
	struct stats_er er;
	struct stats_val virality;
	struct stats_val frequency;
	struct stats_activity activity; /* relative to now_ms */
	struct stats_heatmap heatmap;
	struct stats_mix mix;
	size_t *top_views; /* indices into the input's posts */
	size_t n_top_views;
	size_t *top_er;
	size_t n_top_er;
	struct stats_spike *spikes; /* of the velocity series */
	size_t n_spikes;
	struct stats_spike *trending; /* of the posts */
	size_t n_trending;
};

/* Check in: series and posts ordered by time, counts >= 0 where unknown is
 * not allowed (subscribers) and >= STATS_UNKNOWN elsewhere, media in range,
 * a known zone, a period of 0..STATS_PERIOD_DAYS_MAX days, top_n and the
 * options in bounds. 0, or -ERR_INVALID / -ERR_TOO_BIG with the first
 * fault (and its index) in e. */
int stats_input_check(const struct stats_input *in, struct err *e) WUR;

/*
 * Compute every metric of in into *out (which it overwrites). Checks in
 * first (stats_input_check). On failure returns the error with *out
 * zeroed and nothing to release; on success the caller releases *out with
 * stats_overview_release. O(n log n) in the posts, O(n * window) in the
 * series: about 4 ms optimised (8 ms at -O0) for 10,000 posts and a year of
 * hourly subscriber and velocity points.
 */
int stats_overview(const struct stats_input *in, struct stats_overview *out, struct err *e) WUR;

/* Free what *o holds and zero it; a zeroed overview is fine too. */
void stats_overview_release(struct stats_overview *o);

#endif
