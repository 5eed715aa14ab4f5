/*
 * alerts: rules a user sets on a channel and the events they fire
 * (product.md section 4, docs/alerts.md):
 *
 *   spike      a post's or the channel's view velocity far above its own
 *              baseline (stats_spikes over the views gained per collection
 *              interval, read off post_snapshots)
 *   quiet      no post for N hours
 *   growth     subscribers up N percent within W hours (metric_points)
 *   milestone  subscribers reach M
 *   delivery   a delivery to the channel failed
 *
 * Rules are evaluated after each collection of their channel (collect_hook
 * = alerts_after_collect) and, for deliveries, right when one fails (the
 * scheduler's delivery_failed hook). Each event fires once: alert_events
 * has UNIQUE (rule_id, event_key), and the row is written in one
 * transaction with the `alert` job that sends it through the bot. A muted
 * rule still records its events (state muted) but sends nothing.
 */
#ifndef HERALD_ALERTS_H
#define HERALD_ALERTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "stats/stats.h"

struct app;
struct store;

enum alert_kind { ALERT_SPIKE, ALERT_QUIET, ALERT_GROWTH, ALERT_MILESTONE, ALERT_DELIVERY };
#define ALERT_KINDS 5

/* Bounds and defaults of the parameters (docs/alerts.md). */
#define ALERTS_THRESHOLD_MIN     2.0 /* spike: the detector's score */
#define ALERTS_THRESHOLD_MAX     50.0
#define ALERTS_THRESHOLD_DEFAULT 5.0
#define ALERTS_HOURS_MIN         1 /* quiet: hours without a post */
#define ALERTS_HOURS_MAX         720
#define ALERTS_HOURS_DEFAULT     24
#define ALERTS_PERCENT_MIN       0.1 /* growth: percent */
#define ALERTS_PERCENT_MAX       1000.0
#define ALERTS_PERCENT_DEFAULT   5.0
#define ALERTS_WINDOW_MIN        1 /* growth: hours */
#define ALERTS_WINDOW_MAX        720
#define ALERTS_WINDOW_DEFAULT    24
#define ALERTS_SUBSCRIBERS_MAX   1000000000 /* milestone */
#define ALERTS_RULES_MAX         30         /* rules per user (two buttons each fit a keyboard) */
#define ALERTS_MUTE_MAX_MS       (366LL * 24 * 3600 * 1000) /* how far ahead a mute may end */
#define ALERTS_MUTE_DEFAULT_MS   (24LL * 3600 * 1000)       /* the alert's Mute button */
#define ALERTS_EVENTS_MAX        200                        /* events listed at most */

/* "spike", "quiet", "growth", "milestone", "delivery"; and back (0, or
 * -ERR_INVALID). */
const char *alerts_kind_name(enum alert_kind k);
int alerts_kind_parse(const char *name, enum alert_kind *out) WUR;

/* A rule's settings; only the kind's own fields mean anything. */
struct alert_params {
	double threshold;     /* spike */
	int64_t hours;        /* quiet */
	double percent;       /* growth */
	int64_t window_hours; /* growth */
	int64_t subscribers;  /* milestone */
};

/* Why input was refused: the field ("channel_id", "kind",
 * "params.hours"...) and a message for a person. */
struct alert_fault {
	char field[48];
	struct err err;
};

/* The defaults of kind (a milestone has none: subscribers 0). */
void alerts_params_default(enum alert_kind kind, struct alert_params *p);
/*
 * Read params (a JSON object; NULL is {}) for kind over *p, which holds the
 * defaults or the rule's current settings: the members given replace
 * those. Then check the kind's fields against the bounds above. -ERR_INVALID
 * with f naming the field (a member of another kind, a wrong type, out of
 * range, a milestone without subscribers); *p is then partly changed.
 */
int alerts_params_read(enum alert_kind kind, const json_t *params, struct alert_params *p,
                       struct alert_fault *f) WUR;
/* The kind's fields of p as a new JSON object. */
json_t *alerts_params_json(enum alert_kind kind, const struct alert_params *p);

struct alert_rule {
	int64_t id, user_id, channel_id;
	enum alert_kind kind;
	struct alert_params p;
	int64_t muted_until; /* 0: never muted */
	int64_t created_at;
	char channel[160]; /* the channel's title, else @username, else its chat id */
};

/*
 * A new rule of user on their channel_id (connected, not removed), with
 * params p (checked again here). 0 and *id; -ERR_NOT_FOUND (field
 * channel_id) for a channel that is not the user's, -ERR_INVALID (field
 * params...) for bad params, -ERR_TOO_BIG when the user has
 * ALERTS_RULES_MAX rules already.
 */
int alerts_create(struct store *st, int64_t user_id, int64_t channel_id, enum alert_kind kind,
                  const struct alert_params *p, int64_t now, int64_t *id,
                  struct alert_fault *f) WUR;
/* One of user's rules (not removed): 0, or -ERR_NOT_FOUND. */
int alerts_get(struct store *st, int64_t user_id, int64_t id, struct alert_rule *out,
               struct err *e) WUR;
/* User's rules (not removed) on channels not removed, by channel then id;
 * *out is malloc'd (NULL when none). */
int alerts_list(struct store *st, int64_t user_id, struct alert_rule **out, size_t *n,
                struct err *e) WUR;
/*
 * Change one of user's rules: its params (p, checked again; NULL keeps
 * them) and its mute (muted_until: NULL keeps it, 0 unmutes, else until
 * then). -ERR_NOT_FOUND, or -ERR_INVALID (f names the field).
 */
int alerts_update(struct store *st, int64_t user_id, int64_t id, const struct alert_params *p,
                  const int64_t *muted_until, struct alert_fault *f) WUR;
/* Remove one of user's rules (its events stay): 0, or -ERR_NOT_FOUND. */
int alerts_remove(struct store *st, int64_t user_id, int64_t id, int64_t now, struct err *e) WUR;
/* A rule as the API shows it: id, channel_id, channel, kind, params,
 * muted (at now), muted_until (null when not muted at now), created_at. */
json_t *alerts_rule_json(const struct alert_rule *r, int64_t now);
/* User's events, newest first, at most limit (1..ALERTS_EVENTS_MAX), of
 * one channel (channel_id > 0) or all: *out an array of {id, rule_id,
 * channel_id, kind, key, at, detail, state, sent, muted, sent_at,
 * created_at}. */
int alerts_events_json(struct store *st, int64_t user_id, int64_t channel_id, int limit,
                       json_t **out, struct err *e) WUR;

/*
 * Evaluate every rule of channel_id at now, after a collection: each event
 * found is recorded once (alert_events) with its alert job (or muted).
 * Fails only when the store does.
 */
int alerts_evaluate(struct store *st, int64_t channel_id, int64_t now, struct err *e) WUR;
/* collect_hook: alerts_evaluate at the product clock's now. */
int alerts_after_collect(struct app *a, int64_t channel_id, struct err *e) WUR;
/* Delivery delivery_id has failed: an event for each delivery rule of its
 * channel (made before it failed). Nothing when it is not failed. */
int alerts_delivery_failed(struct store *st, int64_t delivery_id, int64_t now, struct err *e) WUR;
/* The scheduler's delivery_failed hook: the above at the product clock. */
int alerts_on_delivery_failed(struct app *a, int64_t delivery_id, struct err *e) WUR;

/* ---- the pure parts of spike detection, for the tests ------------------- */

/* One snapshot of a post's views (post_snapshots), with its post's date. */
struct alerts_snapshot {
	int64_t message_id, posted_at, at, views;
	bool approx; /* rounded by the public page (1.2K) */
};

/* A view velocity series: views gained per interval (stats_point.count),
 * and the least excess a spike of it needs (the page's rounding). */
struct alerts_series {
	int64_t message_id; /* 0: the channel's */
	struct stats_point *points;
	size_t n;
	double min_excess;
};

struct alerts_velocity {
	struct alerts_series channel;
	struct alerts_series *posts;
	size_t n_posts;
};

/*
 * The velocity series of a channel's snapshots s[0..n) (ordered by
 * message_id, then at) collected every every_ms:
 * - the instants are the collections (the distinct at); one less than
 *   every_ms / 2 after the last one used is skipped, so the intervals are
 *   about equal, and each interval's gain is scaled to every_ms;
 * - a post's point at an instant is its views then minus at the instant
 *   before (it needs both); a rounded reading makes it the least the post
 *   can have gained (the difference less one rounding unit, at least 0), so
 *   the page's rounding does not look like views;
 * - the channel's point is the sum over its posts, with a post first seen
 *   at an instant counted in full when it was published after the instant
 *   before (a new post's views are the channel's);
 * - min_excess is max(10, 3 rounding units of the series' largest rounded
 *   reading).
 * *out is released with alerts_velocity_release.
 */
void alerts_velocity(const struct alerts_snapshot *s, size_t n, int64_t every_ms,
                     struct alerts_velocity *out);
void alerts_velocity_release(struct alerts_velocity *v);

/* A spike event: of a post (message_id > 0) or of the channel (0). */
struct alerts_spike {
	int64_t message_id;
	struct stats_spike s;
};

/*
 * Spikes of v whose first point is in [from_ms, to_ms), with the detector's
 * defaults (STATS_SPIKE_OPTS_DEFAULT: runs merged) but the threshold given
 * and each series' min_excess. A channel spike at the instant of a post's
 * spike is left out (the post explains it). Up to max into out, in series
 * order; *n_out how many.
 */
int alerts_spikes(const struct alerts_velocity *v, double threshold, int64_t from_ms, int64_t to_ms,
                  struct alerts_spike *out, size_t max, size_t *n_out, struct err *e) WUR;

#endif
