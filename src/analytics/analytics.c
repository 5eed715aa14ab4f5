/*
 * analytics: the store into the metrics engine, the engine's answers into
 * JSON (analytics.h).
 */
#include "analytics/analytics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "lib/mem.h"
#include "sched/when.h"
#include "store/store.h"

#define HOUR_MS (3600LL * 1000)

static const char *const views[] = {"overview", "growth", "posts", "best-times", "trending"};

bool analytics_view_known(const char *view)
{
	for (size_t i = 0; view && i < ARRAY_SIZE(views); i++)
		if (strcmp(views[i], view) == 0)
			return true;
	return false;
}

/* ---- loading -------------------------------------------------------------------- */

static enum stats_media media_of(const char *kind)
{
	static const struct {
		const char *name;
		enum stats_media m;
	} kinds[] = {{"text", STATS_MEDIA_TEXT},   {"photo", STATS_MEDIA_PHOTO},
	             {"video", STATS_MEDIA_VIDEO}, {"document", STATS_MEDIA_DOCUMENT},
	             {"album", STATS_MEDIA_ALBUM}, {"poll", STATS_MEDIA_POLL}};

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (strcmp(kinds[i].name, kind) == 0)
			return kinds[i].m;
	return STATS_MEDIA_OTHER;
}

static int64_t opt_int(const struct store_res *r, size_t row, size_t col)
{
	return store_res_null(r, row, col) ? STATS_UNKNOWN : store_res_int(r, row, col);
}

static int load_subs(struct store *st, struct analytics_data *d, int64_t to, struct err *e)
{
	static const char *const sources[] = {"bot_api", "page"};
	int rc = 0;

	for (size_t s = 0; !rc && s < ARRAY_SIZE(sources) && !d->n_subs; s++) {
		struct store_res *r = NULL;
		struct store_val a[] = {SV_INT(d->channel_id), SV_TEXT(sources[s]), SV_INT(to)};

		rc = store_exec(st,
		                "SELECT measured_at, value, approx FROM metric_points WHERE "
		                "channel_id = $1 AND metric = 'members' AND source = $2 AND "
		                "measured_at < $3 ORDER BY measured_at",
		                a, ARRAY_SIZE(a), &r, e);
		if (!rc && store_res_rows(r)) {
			d->n_subs = store_res_rows(r);
			d->subs = xcalloc(d->n_subs, sizeof(*d->subs));
			for (size_t i = 0; i < d->n_subs; i++)
				d->subs[i] = (struct stats_point){store_res_int(r, i, 0),
				                                  store_res_int(r, i, 1),
				                                  store_res_int(r, i, 2) != 0};
			d->subs_source = sources[s];
		}
		store_res_free(r);
	}
	return rc;
}

static int load_posts(struct store *st, struct analytics_data *d, int64_t to, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(d->channel_id), SV_INT(to)};
	int rc = store_exec(st,
	                    "SELECT message_id, posted_at, kind, views, views_24h, views_48h, "
	                    "reactions, forwards, views_approx FROM channel_posts WHERE channel_id "
	                    "= $1 AND posted_at < $2 ORDER BY posted_at, message_id",
	                    a, 2, &r, e);

	if (rc)
		return rc;
	d->n_posts = store_res_rows(r);
	d->posts = xcalloc(d->n_posts ? d->n_posts : 1, sizeof(*d->posts));
	for (size_t i = 0; i < d->n_posts; i++)
		d->posts[i] = (struct stats_post){.message_id = store_res_int(r, i, 0),
		                                  .posted_at_ms = store_res_int(r, i, 1),
		                                  .media = media_of(store_res_text(r, i, 2)),
		                                  .views = opt_int(r, i, 3),
		                                  .views_24h = opt_int(r, i, 4),
		                                  .views_48h = opt_int(r, i, 5),
		                                  .reactions = opt_int(r, i, 6),
		                                  .forwards = opt_int(r, i, 7),
		                                  .comments = STATS_UNKNOWN,
		                                  .approx = store_res_int(r, i, 8) != 0};
	store_res_free(r);
	return 0;
}

/*
 * The channel's view velocity: the views its posts gained between two
 * readings of the public page (metric views_gained, written by each
 * collection), per hour of the interval. The first reading has no interval.
 */
static int load_velocity(struct store *st, struct analytics_data *d, int64_t to, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(d->channel_id), SV_INT(to)};
	int rc =
	    store_exec(st,
	               "SELECT measured_at, value, approx FROM metric_points WHERE channel_id = "
	               "$1 AND metric = 'views_gained' AND source = 'page' AND measured_at < $2 "
	               "ORDER BY measured_at",
	               a, 2, &r, e);
	size_t n = 0, rows;

	if (rc)
		return rc;
	rows = store_res_rows(r);
	d->velocity = xcalloc(rows ? rows : 1, sizeof(*d->velocity));
	for (size_t i = 1; i < rows; i++) {
		int64_t t = store_res_int(r, i, 0), dt = t - store_res_int(r, i - 1, 0);

		if (dt > 0)
			d->velocity[n++] = (struct stats_point){
			    t, store_res_int(r, i, 1) * HOUR_MS / dt, store_res_int(r, i, 2) != 0};
	}
	d->n_velocity = n;
	store_res_free(r);
	return 0;
}

int analytics_load(struct app *a, int64_t owner_id, int64_t channel_id, int64_t to_ms,
                   struct analytics_data *d, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val arg[] = {SV_INT(channel_id), SV_INT(owner_id)};
	int rc;

	memset(d, 0, sizeof(*d));
	d->channel_id = channel_id;
	rc = store_exec(a->store,
	                "SELECT c.title, c.username, (SELECT ok_at FROM collect_sources s WHERE "
	                "s.channel_id = c.id AND s.source = 'bot_api'), (SELECT ok_at FROM "
	                "collect_sources s WHERE s.channel_id = c.id AND s.source = 'page'), "
	                "(SELECT max(seen_at) FROM channel_posts p WHERE p.channel_id = c.id AND "
	                "p.source = 'updates') FROM channels c WHERE c.id = $1 AND c.owner_id = "
	                "$2 AND c.removed_at IS NULL",
	                arg, 2, &r, e);
	if (rc)
		return rc;
	if (store_res_rows(r) != 1) {
		store_res_free(r);
		return err_set(e, ERR_NOT_FOUND, "no such channel");
	}
	snprintf(d->title, sizeof(d->title), "%s", store_res_text(r, 0, 0));
	snprintf(d->username, sizeof(d->username), "%s", store_res_text(r, 0, 1));
	d->bot_api_at = store_res_null(r, 0, 2) ? 0 : store_res_int(r, 0, 2);
	d->page_at = store_res_null(r, 0, 3) ? 0 : store_res_int(r, 0, 3);
	d->updates_at = store_res_null(r, 0, 4) ? 0 : store_res_int(r, 0, 4);
	store_res_free(r);
	rc = load_subs(a->store, d, to_ms, e);
	if (!rc)
		rc = load_posts(a->store, d, to_ms, e);
	if (!rc)
		rc = load_velocity(a->store, d, to_ms, e);
	if (rc)
		analytics_data_release(d);
	return rc;
}

void analytics_data_release(struct analytics_data *d)
{
	free(d->subs);
	free(d->posts);
	free(d->velocity);
	memset(d, 0, sizeof(*d));
}

/* ---- rendering ------------------------------------------------------------------ */

/* A number with its quality: {value (null when undefined), approx, n}. */
static json_t *num(struct stats_val v)
{
	double x = v.defined && isfinite(v.v) ? v.v : 0;

	return json_pack("{s:o, s:b, s:I}", "value",
	                 v.defined ? json_real(round(x * 1000) / 1000) : json_null(), "approx",
	                 v.approx, "n", (json_int_t)v.n);
}

/* num() with where it comes from and when that source last answered. */
static json_t *sourced(struct stats_val v, const char *source, int64_t as_of)
{
	json_t *o = num(v);

	json_object_set_new(o, "source", source ? json_string(source) : json_null());
	json_object_set_new(o, "as_of", as_of ? json_integer(as_of) : json_null());
	return o;
}

static json_t *count_or_null(int64_t v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

static int64_t subs_at(const struct analytics_data *d)
{
	return d->n_subs ? d->subs[d->n_subs - 1].at_ms : 0;
}

static json_t *sources_json(const struct analytics_data *d)
{
	return json_pack("{s:{s:o, s:o}, s:{s:s, s:o}, s:{s:s, s:o}}", "members", "source",
	                 d->subs_source ? json_string(d->subs_source) : json_null(), "as_of",
	                 subs_at(d) ? json_integer(subs_at(d)) : json_null(), "views", "source",
	                 "page", "as_of", d->page_at ? json_integer(d->page_at) : json_null(),
	                 "updates", "source", "updates", "as_of",
	                 d->updates_at ? json_integer(d->updates_at) : json_null());
}

static const char *const media_names[STATS_MEDIA_COUNT] = {
    [STATS_MEDIA_TEXT] = "text",   [STATS_MEDIA_PHOTO] = "photo",
    [STATS_MEDIA_VIDEO] = "video", [STATS_MEDIA_DOCUMENT] = "document",
    [STATS_MEDIA_ALBUM] = "album", [STATS_MEDIA_POLL] = "poll",
    [STATS_MEDIA_OTHER] = "other"};

static const char *const level_names[] = {"active", "low", "inactive", "dead"};

static json_t *post_json(const struct stats_post *p)
{
	struct stats_er er = stats_post_er(p);

	return json_pack("{s:I, s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "message_id",
	                 (json_int_t)p->message_id, "posted_at", (json_int_t)p->posted_at_ms,
	                 "kind", media_names[p->media], "views", count_or_null(p->views),
	                 "views_24h", count_or_null(p->views_24h), "views_48h",
	                 count_or_null(p->views_48h), "reactions", count_or_null(p->reactions),
	                 "forwards", count_or_null(p->forwards), "er", num(er.er), "virality",
	                 num(stats_post_virality(p)), "approx", p->approx);
}

static json_t *ids_json(const struct stats_post *posts, const size_t *idx, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, post_json(&posts[idx[i]]));
	return a;
}

static json_t *missing_json(unsigned m)
{
	json_t *a = json_array();

	if (m & STATS_MISSING_REACTIONS)
		json_array_append_new(a, json_string("reactions"));
	if (m & STATS_MISSING_FORWARDS)
		json_array_append_new(a, json_string("forwards"));
	if (m & STATS_MISSING_COMMENTS)
		json_array_append_new(a, json_string("comments"));
	return a;
}

static json_t *change_json(const struct stats_change *c, const char *src, int64_t at)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "prev", sourced(c->prev, src, at), "close",
	                 sourced(c->close, src, at), "net", sourced(c->net, src, at), "rate",
	                 sourced(c->rate, src, at));
}

static json_t *overview_json(const struct analytics_data *d, const struct stats_overview *o)
{
	const char *ss = d->subs_source;
	int64_t sa = subs_at(d), pa = d->page_at;
	json_t *mix = json_object();

	for (int k = 0; k < STATS_MEDIA_COUNT; k++) {
		if (!o->mix.kind[k].posts)
			continue;
		json_object_set_new(mix, media_names[k],
		                    json_pack("{s:I, s:o, s:o}", "posts",
		                              (json_int_t)o->mix.kind[k].posts, "share",
		                              num(o->mix.kind[k].share), "avg_views",
		                              sourced(o->mix.kind[k].avg_views, "page", pa)));
	}
	return json_pack(
	    "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:o, s:o}, s:o, s:o, s:{s:o, s:o, s:o}, "
	    "s:o, s:I}",
	    "subscribers", sourced(o->subscribers, ss, sa), "growth",
	    change_json(&o->growth, ss, sa), "views_per_post", sourced(o->views.avg, "page", pa),
	    "views_median", sourced(o->views.median, "page", pa), "reach_24h",
	    sourced(o->reach.h24, "page", pa), "reach_48h", sourced(o->reach.h48, "page", pa),
	    "err", sourced(o->err.err, "page", pa), "err24", sourced(o->err.err24, "page", pa),
	    "er", "value", sourced(o->er.er, "page", pa), "missing", missing_json(o->er.missing),
	    "virality", sourced(o->virality, "page", pa), "posts_per_day", num(o->frequency),
	    "activity", "status",
	    o->activity.defined ? json_string(level_names[o->activity.level]) : json_null(),
	    "last_post_at",
	    o->activity.defined ? json_integer(o->activity.last_post_ms) : json_null(), "age_ms",
	    o->activity.defined ? json_integer(o->activity.age_ms) : json_null(), "content_mix",
	    mix, "posts", (json_int_t)o->mix.total);
}

static json_t *growth_json(const struct analytics_data *d, const struct stats_overview *o,
                           const struct analytics_query *q)
{
	json_t *days = json_array(), *series = json_array();
	size_t i = 0;

	for (size_t k = 0; k < o->n_days; k++) {
		char date[16];

		snprintf(date, sizeof(date), "%04d-%02d-%02d", o->days[k].year, o->days[k].month,
		         o->days[k].day);
		json_array_append_new(days, json_pack("{s:s, s:o, s:o, s:o}", "date", date,
		                                      "subscribers", num(o->days[k].change.close),
		                                      "net", num(o->days[k].change.net), "rate",
		                                      num(o->days[k].change.rate)));
	}
	while (i < d->n_subs && d->subs[i].at_ms < q->from_ms)
		i++;
	for (; i < d->n_subs && d->subs[i].at_ms < q->to_ms; i++)
		json_array_append_new(series, json_pack("{s:I, s:I, s:b}", "at",
		                                        (json_int_t)d->subs[i].at_ms, "subscribers",
		                                        (json_int_t)d->subs[i].count, "approx",
		                                        d->subs[i].approx));
	return json_pack("{s:o, s:o, s:o, s:o, s:s}", "subscribers",
	                 sourced(o->subscribers, d->subs_source, subs_at(d)), "growth",
	                 change_json(&o->growth, d->subs_source, subs_at(d)), "days", days,
	                 "series", series, "zone", q->zone);
}

static json_t *posts_json(const struct analytics_data *d, const struct stats_overview *o,
                          const struct analytics_query *q)
{
	json_t *list = json_array();
	size_t from = stats_posts_from(d->posts, d->n_posts, q->from_ms),
	       to = stats_posts_from(d->posts, d->n_posts, q->to_ms);

	/* newest first */
	for (size_t i = to; i > from && json_array_size(list) < q->top; i--)
		json_array_append_new(list, post_json(&d->posts[i - 1]));
	return json_pack("{s:I, s:o, s:o, s:o, s:s, s:o}", "total", (json_int_t)(to - from),
	                 "posts", list, "top_by_views",
	                 ids_json(d->posts, o->top_views, o->n_top_views), "top_by_er",
	                 ids_json(d->posts, o->top_er, o->n_top_er), "source", "page", "as_of",
	                 d->page_at ? json_integer(d->page_at) : json_null());
}

static json_t *best_times_json(const struct analytics_data *d, const struct stats_overview *o,
                               const struct analytics_query *q)
{
	json_t *cells = json_array();

	for (int w = 0; w < 7; w++)
		for (int h = 0; h < 24; h++) {
			const struct stats_cell *c = &o->heatmap.cell[w][h];

			if (!c->posts)
				continue;
			json_array_append_new(
			    cells, json_pack("{s:i, s:i, s:I, s:o, s:o}", "weekday", w + 1, "hour",
			                     h, "posts", (json_int_t)c->posts, "er", num(c->er),
			                     "views_24h", num(c->views_24h)));
		}
	return json_pack("{s:s, s:s, s:o, s:s, s:o}", "zone", q->zone, "weights",
	                 "each post counts 2^(-age / 30 days)", "cells", cells, "source", "page",
	                 "as_of", d->page_at ? json_integer(d->page_at) : json_null());
}

static json_t *spike_json(const struct stats_spike *s, const struct stats_post *post)
{
	json_t *o = json_pack("{s:I, s:f, s:f, s:f, s:f, s:I, s:b}", "at", (json_int_t)s->at_ms,
	                      "value", s->value, "baseline", s->baseline, "score",
	                      round(s->score * 100) / 100, "peak", round(s->peak * 100) / 100,
	                      "points", (json_int_t)s->len, "approx", s->approx);

	if (post)
		json_object_set_new(o, "post", post_json(post));
	return o;
}

static json_t *trending_json(const struct analytics_data *d, const struct stats_overview *o)
{
	json_t *spikes = json_array(), *posts = json_array();

	for (size_t i = 0; i < o->n_spikes; i++)
		json_array_append_new(spikes, spike_json(&o->spikes[i], NULL));
	for (size_t i = 0; i < o->n_trending; i++)
		json_array_append_new(posts,
		                      spike_json(&o->trending[i], &d->posts[o->trending[i].index]));
	return json_pack(
	    "{s:o, s:o, s:s, s:s, s:o}", "spikes", spikes, "trending_posts", posts, "method",
	    "median and MAD of the previous points, without look-ahead "
	    "(docs/metrics.md)",
	    "source", "page", "as_of", d->page_at ? json_integer(d->page_at) : json_null());
}

int analytics_view(const struct analytics_data *d, const struct analytics_query *q, json_t **out,
                   struct err *e)
{
	struct stats_overview o;
	struct stats_input in = {.zone = q->zone,
	                         .now_ms = q->now_ms,
	                         .from_ms = q->from_ms,
	                         .to_ms = q->to_ms,
	                         .subs = d->subs,
	                         .n_subs = d->n_subs,
	                         .posts = d->posts,
	                         .n_posts = d->n_posts,
	                         .velocity = d->velocity,
	                         .n_velocity = d->n_velocity,
	                         .top_n = q->top};
	json_t *body;
	int rc;

	if (!analytics_view_known(q->view))
		return err_set(e, ERR_INVALID, "no such view: %s", q->view);
	if (q->to_ms <= q->from_ms)
		return err_set(e, ERR_INVALID, "to must be after from");
	if (q->to_ms - q->from_ms > ANALYTICS_PERIOD_MAX_DAYS * 24 * HOUR_MS)
		return err_set(e, ERR_INVALID, "a period is at most %d days",
		               ANALYTICS_PERIOD_MAX_DAYS);
	rc = stats_overview(&in, &o, e);
	if (rc)
		return rc;
	switch (q->view[0]) {
	case 'o':
		body = overview_json(d, &o);
		break;
	case 'g':
		body = growth_json(d, &o, q);
		break;
	case 'p':
		body = posts_json(d, &o, q);
		break;
	case 'b':
		body = best_times_json(d, &o, q);
		break;
	default:
		body = trending_json(d, &o);
		break;
	}
	stats_overview_release(&o);
	if (!body)
		return err_set(e, ERR_INTERNAL, "analytics: the answer could not be built");
	json_object_set_new(body, "channel",
	                    json_pack("{s:I, s:s, s:s}", "id", (json_int_t)d->channel_id, "title",
	                              d->title, "username", d->username));
	json_object_set_new(
	    body, "period",
	    json_pack("{s:I, s:I}", "from", (json_int_t)q->from_ms, "to", (json_int_t)q->to_ms));
	json_object_set_new(body, "sources", sources_json(d));
	*out = body;
	return 0;
}
