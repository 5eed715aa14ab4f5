/*
 * analytics: reading a channel's analytics (docs/analytics.md). Loads what
 * the collectors stored (collect/) into the arrays of the metrics engine
 * (stats/) and renders its answers as JSON for the REST API and the bot.
 * Every number says whether it is defined and approximate, its source and
 * how fresh it is.
 *
 * Views: overview, growth, posts, best-times, trending.
 */
#ifndef HERALD_ANALYTICS_H
#define HERALD_ANALYTICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "stats/stats.h"

struct app;

/* The longest period a request may ask for. */
#define ANALYTICS_PERIOD_MAX_DAYS 366

/* What the store holds for one channel, as the metrics engine reads it. */
struct analytics_data {
	int64_t channel_id;
	char title[256];
	char username[64];
	struct stats_point *subs; /* members, from the Bot API (else the page) */
	size_t n_subs;
	const char *subs_source;  /* "bot_api", "page" or NULL when none */
	struct stats_post *posts; /* by posted_at */
	size_t n_posts;
	struct stats_point *velocity; /* channel views gained per hour, per collection */
	size_t n_velocity;
	/* freshness: the last successful collection of each source (0: never) */
	int64_t bot_api_at, page_at, updates_at;
};

/*
 * Load channel_id of owner_id (-ERR_NOT_FOUND when it is not theirs) with
 * everything up to to_ms (the series need their history before a period).
 * Release with analytics_data_release.
 */
int analytics_load(struct app *a, int64_t owner_id, int64_t channel_id, int64_t to_ms,
                   struct analytics_data *d, struct err *e) WUR;
void analytics_data_release(struct analytics_data *d);

/* A request for one view. */
struct analytics_query {
	const char *view; /* overview, growth, posts, best-times, trending */
	int64_t from_ms, to_ms, now_ms;
	const char *zone; /* the user's IANA zone */
	size_t top;       /* posts per top list (posts view: the list's length) */
};

/* Whether view is one of the five. */
bool analytics_view_known(const char *view);

/*
 * The view of q over d as JSON (a new object): -ERR_INVALID for a bad
 * period or zone (e says which), else 0.
 */
int analytics_view(const struct analytics_data *d, const struct analytics_query *q, json_t **out,
                   struct err *e) WUR;

#endif
