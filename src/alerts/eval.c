/*
 * alerts/eval: evaluating a channel's rules after its collection, and a
 * failed delivery at once (alerts.h, docs/alerts.md).
 *
 * Each kind reads what it needs once for all its rules of the channel:
 * spike the post snapshots of the detector's window (turned into view
 * velocity series by alerts_velocity, then stats_spikes), quiet the last
 * post's instant, growth and milestone the member series, delivery the
 * channel's failed deliveries. An event is recorded by fire(): one
 * transaction inserts it under its UNIQUE (rule_id, event_key), and only
 * when that row is new queues the alert job (none while the rule is
 * muted), so evaluating again finds the same key and changes nothing.
 */
#include "alerts/alerts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts_impl.h"
#include "app.h"
#include "collect/validate.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "sched/sched.h"
#include "store/store.h"

#define HOUR_MS           (3600LL * 1000)
#define DAY_MS            (24 * HOUR_MS)
#define DEFAULT_EVERY     (6 * HOUR_MS) /* a plan without an interval: the free plan's */
#define SNAPSHOTS_MAX     200000        /* rows read for the spike detector at most */
#define DELIVERY_LOOKBACK (7 * DAY_MS)  /* failed deliveries the sweep looks at */
#define MEMBERS_MARGIN    (8 * DAY_MS)  /* member points before a growth window */
#define FAILED_MAX        100           /* failed deliveries per sweep */
#define SPIKES_MAX        16            /* events per series and evaluation */
#define EXCESS_MIN        10.0          /* STATS_SPIKE_OPTS_DEFAULT's min_excess */
#define EXCESS_UNITS      3             /* rounding units a spike must pass by */

/* ---- view velocity ------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The rounding unit of a reading: 0 for an exact one. */
static int64_t unit_of(int64_t views, bool approx)
{
	return approx ? cv_unit((struct cv_reading){views, true}) : 0;
}

/* The index of t in used[0..n), -1 when it is not there. */
static long find(const int64_t *used, size_t n, int64_t t)
{
	const int64_t *p = bsearch(&t, used, n, sizeof(*used), cmp_i64);

	return p ? (long)(p - used) : -1;
}

static double excess_of(int64_t unit)
{
	double u = (double)unit * EXCESS_UNITS;

	return u > EXCESS_MIN ? u : EXCESS_MIN;
}

void alerts_velocity(const struct alerts_snapshot *s, size_t n, int64_t every_ms,
                     struct alerts_velocity *out)
{
	int64_t *t, *used, chan_unit = 0;
	size_t nt = 0, nu = 0, nposts = 0;
	double *sum;
	bool *approx;

	memset(out, 0, sizeof(*out));
	if (n == 0 || every_ms <= 0)
		return;
	/* the instants used: each at least half an interval after the last */
	t = xmalloc(n * sizeof(*t));
	for (size_t i = 0; i < n; i++)
		t[i] = s[i].at;
	qsort(t, n, sizeof(*t), cmp_i64);
	for (size_t i = 0; i < n; i++)
		if (nt == 0 || t[i] != t[nt - 1])
			t[nt++] = t[i];
	used = xmalloc(nt * sizeof(*used));
	used[nu++] = t[0];
	for (size_t i = 1; i < nt; i++)
		if (t[i] - used[nu - 1] >= (every_ms + 1) / 2)
			used[nu++] = t[i];
	free(t);
	sum = xcalloc(nu, sizeof(*sum));
	approx = xcalloc(nu, sizeof(*approx));
	for (size_t i = 0; i < n; i++)
		if (i == 0 || s[i].message_id != s[i - 1].message_id)
			nposts++;
	out->posts = xcalloc(nposts, sizeof(*out->posts));
	for (size_t i = 0; i < n;) {
		struct alerts_series *ps = &out->posts[out->n_posts];
		size_t j = i;
		long prev_k = -1;
		int64_t prev_views = 0, unit = 0;
		bool prev_approx = false;

		while (j < n && s[j].message_id == s[i].message_id)
			j++;
		ps->message_id = s[i].message_id;
		ps->points = xcalloc(j - i, sizeof(*ps->points));
		for (size_t m = i; m < j; m++) {
			long k = find(used, nu, s[m].at);
			int64_t u = unit_of(s[m].views, s[m].approx);

			if (k < 0)
				continue; /* a collection too soon after the one before */
			if (u > unit)
				unit = u;
			if (prev_k >= 0 && k == prev_k + 1) {
				int64_t pu = unit_of(prev_views, prev_approx);
				int64_t d = s[m].views - prev_views - (pu > u ? pu : u);
				double v = (double)(d > 0 ? d : 0) * (double)every_ms /
				           (double)(used[k] - used[k - 1]);

				ps->points[ps->n++] = (struct stats_point){
				    used[k], llround(v), s[m].approx || prev_approx};
				sum[k] += v;
				approx[k] |= s[m].approx || prev_approx;
			} else if (prev_k < 0 && k > 0 && s[m].posted_at > used[k - 1]) {
				/* published since the collection before: all its views are new */
				int64_t d = s[m].views - u;

				sum[k] += (double)(d > 0 ? d : 0) * (double)every_ms /
				          (double)(used[k] - used[k - 1]);
				approx[k] |= s[m].approx;
			}
			prev_k = k;
			prev_views = s[m].views;
			prev_approx = s[m].approx;
		}
		ps->min_excess = excess_of(unit);
		if (unit > chan_unit)
			chan_unit = unit;
		out->n_posts++;
		i = j;
	}
	if (nu > 1) {
		out->channel.points = xcalloc(nu - 1, sizeof(*out->channel.points));
		for (size_t k = 1; k < nu; k++)
			out->channel.points[out->channel.n++] =
			    (struct stats_point){used[k], llround(sum[k]), approx[k]};
	}
	out->channel.min_excess = excess_of(chan_unit);
	free(sum);
	free(approx);
	free(used);
}

void alerts_velocity_release(struct alerts_velocity *v)
{
	for (size_t i = 0; i < v->n_posts; i++)
		free(v->posts[i].points);
	free(v->posts);
	free(v->channel.points);
	memset(v, 0, sizeof(*v));
}

/* Spikes of one series into out[*n..max), tagged with message_id. */
static int series_spikes(const struct alerts_series *x, double threshold, int64_t from, int64_t to,
                         struct alerts_spike *out, size_t max, size_t *n, struct err *e)
{
	struct stats_spike_opts o = STATS_SPIKE_OPTS_DEFAULT;
	struct stats_spike found[SPIKES_MAX];
	size_t k = 0;
	int rc;

	if (x->n == 0)
		return 0;
	o.threshold = threshold;
	o.min_excess = x->min_excess;
	rc = stats_spikes(x->points, x->n, from, to, &o, found, SPIKES_MAX, &k, e);
	if (rc == -ERR_TOO_BIG) {
		rc = 0; /* the first SPIKES_MAX; the rest are older news */
		k = SPIKES_MAX;
	}
	if (rc)
		return rc;
	for (size_t i = 0; i < k && *n < max; i++) {
		bool explained = false;

		/* the channel's spike at a post's: the post's alert says it */
		for (size_t j = 0; x->message_id == 0 && j < *n; j++)
			explained |= out[j].message_id != 0 && out[j].s.at_ms == found[i].at_ms;
		if (!explained)
			out[(*n)++] = (struct alerts_spike){x->message_id, found[i]};
	}
	return 0;
}

int alerts_spikes(const struct alerts_velocity *v, double threshold, int64_t from_ms, int64_t to_ms,
                  struct alerts_spike *out, size_t max, size_t *n_out, struct err *e)
{
	int rc = 0;

	*n_out = 0;
	for (size_t i = 0; !rc && i < v->n_posts; i++)
		rc = series_spikes(&v->posts[i], threshold, from_ms, to_ms, out, max, n_out, e);
	if (!rc)
		rc = series_spikes(&v->channel, threshold, from_ms, to_ms, out, max, n_out, e);
	return rc;
}

/* ---- recording an event ---------------------------------------------------- */

struct fire_arg {
	const struct alert_rule *r;
	const char *key, *detail;
	int64_t at, now;
	bool fired;
};

static int fire_tx(struct store_conn *c, void *arg, struct err *e)
{
	struct fire_arg *x = arg;
	bool muted = x->r->muted_until > x->now;
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(x->r->id),
	                        SV_INT(x->r->channel_id),
	                        SV_TEXT(alerts_kind_name(x->r->kind)),
	                        SV_TEXT(x->key),
	                        SV_INT(x->at),
	                        SV_TEXT(x->detail),
	                        SV_TEXT(muted ? "muted" : "pending"),
	                        SV_INT(x->now)};
	int rc = store_query(c,
	                     "INSERT INTO alert_events (rule_id, channel_id, kind, event_key, at, "
	                     "detail, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
	                     "ON CONFLICT (rule_id, event_key) DO NOTHING RETURNING id",
	                     a, ARRAY_SIZE(a), &r, e);

	if (!rc && store_res_rows(r) == 1) {
		x->fired = true;
		if (!muted)
			rc =
			    sched_enqueue(c, "alert", store_res_int(r, 0, 0), 0, x->now, x->now, e);
	}
	store_res_free(r);
	return rc;
}

/* Record rule's event key (once) with its detail (taken), and its job. */
static int fire(struct store *st, const struct alert_rule *r, const char *key, int64_t at,
                int64_t now, json_t *detail, struct err *e)
{
	char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	struct fire_arg x = {r, key, text ? text : "{}", at, now, false};
	int rc = store_tx(st, fire_tx, &x, e);

	if (!rc && x.fired)
		log_info("msg=\"alert fired\" rule=%lld channel=%lld event=%s muted=%d",
		         (long long)r->id, (long long)r->channel_id, key, r->muted_until > now);
	free(text);
	json_decref(detail);
	return rc;
}

/* ---- the rules' data ---------------------------------------------------------- */

struct chan {
	int64_t id, created_at, every;
	bool gone;
};

static int load_chan(struct store *st, int64_t id, struct chan *ch, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(id)};
	int rc =
	    store_exec(st,
	               "SELECT c.created_at, coalesce(p.collect_every_ms, 0), CASE WHEN "
	               "c.removed_at IS NULL THEN 0 ELSE 1 END FROM channels c JOIN users u "
	               "ON u.id = c.owner_id LEFT JOIN plans p ON p.id = u.plan WHERE c.id = $1",
	               a, 1, &r, e);

	if (rc)
		return rc;
	memset(ch, 0, sizeof(*ch));
	ch->id = id;
	ch->gone = store_res_rows(r) != 1 || store_res_int(r, 0, 2) != 0;
	if (!ch->gone) {
		ch->created_at = store_res_int(r, 0, 0);
		ch->every = store_res_int(r, 0, 1);
	}
	if (ch->every <= 0)
		ch->every = DEFAULT_EVERY;
	store_res_free(r);
	return 0;
}

/* The channel's rules (not removed; its owner's), of one kind (or all with
 * kind < 0); *out malloc'd. */
static int load_rules(struct store *st, int64_t channel_id, int kind, struct alert_rule **out,
                      size_t *n, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(channel_id),
	                        SV_TEXT(kind < 0 ? "" : alerts_kind_name((enum alert_kind)kind))};
	int rc =
	    store_exec(st,
	               "SELECT " ALERTS_RULE_COLUMNS " FROM alert_rules r JOIN channels c ON "
	               "c.id = r.channel_id AND c.owner_id = r.user_id WHERE r.channel_id = $1 "
	               "AND r.removed_at IS NULL AND c.removed_at IS NULL AND ($2 = '' OR "
	               "r.kind = $2) ORDER BY r.id",
	               a, 2, &r, e);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	if (store_res_rows(r)) {
		*out = xcalloc(store_res_rows(r), sizeof(**out));
		for (size_t i = 0; i < store_res_rows(r); i++)
			alerts_rule_of(r, i, &(*out)[i]);
		*n = store_res_rows(r);
	}
	store_res_free(r);
	return 0;
}

/* ---- spike ------------------------------------------------------------------ */

static int eval_spike(struct store *st, const struct chan *ch, const struct alert_rule *rules,
                      size_t n, int64_t now, struct err *e)
{
	struct stats_spike_opts o = STATS_SPIKE_OPTS_DEFAULT;
	int64_t since = now - (int64_t)(o.window + 3) * ch->every;
	struct store_val a[] = {SV_INT(ch->id), SV_INT(since), SV_INT(now), SV_INT(SNAPSHOTS_MAX)};
	struct store_res *r = NULL;
	struct alerts_snapshot *s = NULL;
	struct alerts_velocity v;
	size_t ns;
	int rc =
	    store_exec(st,
	               "SELECT s.message_id, coalesce(p.posted_at, 0), s.measured_at, s.views, "
	               "s.approx FROM post_snapshots s LEFT JOIN channel_posts p ON "
	               "p.channel_id = s.channel_id AND p.message_id = s.message_id WHERE "
	               "s.channel_id = $1 AND s.measured_at >= $2 AND s.measured_at <= $3 "
	               "ORDER BY s.message_id, s.measured_at LIMIT $4",
	               a, ARRAY_SIZE(a), &r, e);

	if (rc)
		return rc;
	ns = store_res_rows(r);
	if (ns)
		s = xcalloc(ns, sizeof(*s));
	for (size_t i = 0; i < ns; i++)
		s[i] = (struct alerts_snapshot){store_res_int(r, i, 0), store_res_int(r, i, 1),
		                                store_res_int(r, i, 2), store_res_int(r, i, 3),
		                                store_res_int(r, i, 4) != 0};
	store_res_free(r);
	alerts_velocity(s, ns, ch->every, &v);
	free(s);
	for (size_t i = 0; !rc && i < n; i++) {
		const struct alert_rule *rule = &rules[i];
		struct alerts_spike found[SPIKES_MAX];
		/* the last two intervals: an older spike was seen (or missed) before */
		int64_t from = now - 2 * ch->every;
		size_t k = 0;

		if (rule->created_at > from)
			from = rule->created_at;
		rc = alerts_spikes(&v, rule->p.threshold, from, now + 1, found, SPIKES_MAX, &k, e);
		for (size_t j = 0; !rc && j < k; j++) {
			const struct stats_spike *sp = &found[j].s;
			char key[96];
			json_t *d;

			if (found[j].message_id)
				snprintf(key, sizeof(key), "spike:post:%lld:%lld",
				         (long long)found[j].message_id, (long long)sp->at_ms);
			else
				snprintf(key, sizeof(key), "spike:channel:%lld",
				         (long long)sp->at_ms);
			d = json_pack("{s:s, s:I, s:I, s:I, s:f, s:I, s:b}", "scope",
			              found[j].message_id ? "post" : "channel", "message_id",
			              (json_int_t)found[j].message_id, "views",
			              (json_int_t)sp->value, "baseline",
			              (json_int_t)llround(sp->baseline), "score",
			              round(sp->peak * 10) / 10, "interval_ms",
			              (json_int_t)ch->every, "approx", sp->approx);
			rc = fire(st, rule, key, sp->at_ms, now, d, e);
		}
	}
	alerts_velocity_release(&v);
	return rc;
}

/* ---- quiet -------------------------------------------------------------------- */

static int eval_quiet(struct store *st, const struct chan *ch, const struct alert_rule *rules,
                      size_t n, int64_t now, struct err *e)
{
	struct store_val a[] = {SV_INT(ch->id), SV_INT(now)};
	struct store_res *r = NULL;
	int64_t last, since;
	int rc = store_exec(st,
	                    "SELECT coalesce((SELECT max(posted_at) FROM channel_posts WHERE "
	                    "channel_id = $1 AND posted_at <= $2), 0), coalesce((SELECT "
	                    "max(sent_at) FROM deliveries WHERE channel_id = $1 AND state = 'sent' "
	                    "AND sent_at <= $2), 0)",
	                    a, 2, &r, e);

	if (rc)
		return rc;
	last = store_res_int(r, 0, 0);
	if (store_res_int(r, 0, 1) > last)
		last = store_res_int(r, 0, 1);
	store_res_free(r);
	/* no post ever: quiet since it was connected */
	since = last ? last : ch->created_at;
	for (size_t i = 0; !rc && i < n; i++) {
		const struct alert_rule *rule = &rules[i];
		int64_t after = rule->p.hours * HOUR_MS;
		char key[64];

		if (now - since < after)
			continue;
		snprintf(key, sizeof(key), "quiet:%lld", (long long)since);
		rc = fire(st, rule, key, since + after, now,
		          json_pack("{s:o, s:I, s:I}", "last_post_at",
		                    last ? json_integer(last) : json_null(), "hours",
		                    (json_int_t)rule->p.hours, "quiet_hours",
		                    (json_int_t)((now - since) / HOUR_MS)),
		          e);
	}
	return rc;
}

/* ---- growth and milestone ---------------------------------------------------- */

static int eval_members(struct store *st, const struct chan *ch, const struct alert_rule *rules,
                        size_t n, int64_t now, struct err *e)
{
	int64_t span = 0;
	struct store_res *r = NULL;
	struct stats_point *s = NULL;
	size_t ns = 0, rows;
	bool exact = false;
	int rc;

	for (size_t i = 0; i < n; i++)
		if (rules[i].kind == ALERT_GROWTH && rules[i].p.window_hours * HOUR_MS > span)
			span = rules[i].p.window_hours * HOUR_MS;
	{
		struct store_val a[] = {SV_INT(ch->id), SV_INT(now - span - MEMBERS_MARGIN),
		                        SV_INT(now)};

		rc =
		    store_exec(st,
		               "SELECT measured_at, value, approx, source FROM metric_points WHERE "
		               "channel_id = $1 AND metric = 'members' AND measured_at >= $2 AND "
		               "measured_at <= $3 ORDER BY measured_at",
		               a, ARRAY_SIZE(a), &r, e);
	}
	if (rc)
		return rc;
	/* the Bot API's exact counts when there are any, else the page's */
	rows = store_res_rows(r);
	for (size_t i = 0; i < rows; i++)
		exact |= strcmp(store_res_text(r, i, 3), "bot_api") == 0;
	if (rows)
		s = xcalloc(rows, sizeof(*s));
	for (size_t i = 0; i < rows; i++)
		if ((strcmp(store_res_text(r, i, 3), "bot_api") == 0) == exact)
			s[ns++] =
			    (struct stats_point){store_res_int(r, i, 0), store_res_int(r, i, 1),
			                         store_res_int(r, i, 2) != 0};
	store_res_free(r);
	for (size_t i = 0; !rc && ns && i < n; i++) {
		const struct alert_rule *rule = &rules[i];
		const struct stats_point *last = &s[ns - 1];
		char key[64];

		if (rule->kind == ALERT_MILESTONE) {
			if (last->count < rule->p.subscribers)
				continue;
			snprintf(key, sizeof(key), "milestone:%lld",
			         (long long)rule->p.subscribers);
			rc = fire(st, rule, key, last->at_ms, now,
			          json_pack("{s:I, s:I, s:b}", "subscribers",
			                    (json_int_t)rule->p.subscribers, "count",
			                    (json_int_t)last->count, "approx", last->approx),
			          e);
		} else {
			int64_t window = rule->p.window_hours * HOUR_MS;
			struct stats_change g =
			    stats_growth(s, ns, last->at_ms - window, last->at_ms + 1);
			struct store_res *q = NULL;
			struct store_val b[] = {SV_INT(rule->id), SV_INT(last->at_ms - window)};

			if (!g.rate.defined || g.net.v <= 0 || g.rate.v < rule->p.percent)
				continue;
			/* once per window: a rise seen already is not news */
			rc = store_exec(st,
			                "SELECT count(*) FROM alert_events WHERE rule_id = $1 AND "
			                "kind = 'growth' AND at > $2",
			                b, 2, &q, e);
			if (!rc && store_res_int(q, 0, 0) == 0) {
				snprintf(key, sizeof(key), "growth:%lld", (long long)last->at_ms);
				rc = fire(st, rule, key, last->at_ms, now,
				          json_pack("{s:f, s:I, s:I, s:I, s:b}", "percent",
				                    round(g.rate.v * 10) / 10, "window_hours",
				                    (json_int_t)rule->p.window_hours, "from",
				                    (json_int_t)g.prev.v, "to",
				                    (json_int_t)g.close.v, "approx", g.rate.approx),
				          e);
			}
			store_res_free(q);
		}
	}
	free(s);
	return rc;
}

/* ---- delivery failures -------------------------------------------------------- */

/* Fire rule for failed delivery row i of r (id, updated_at, reason, due_at,
 * post_id) when the rule was there before it failed. */
static int fire_failed(struct store *st, const struct alert_rule *rule, const struct store_res *r,
                       size_t i, int64_t now, struct err *e)
{
	int64_t id = store_res_int(r, i, 0), at = store_res_int(r, i, 1);
	char key[48];

	if (at < rule->created_at)
		return 0;
	snprintf(key, sizeof(key), "delivery:%lld", (long long)id);
	return fire(st, rule, key, at, now,
	            json_pack("{s:I, s:I, s:s, s:I}", "delivery_id", (json_int_t)id, "post_id",
	                      (json_int_t)store_res_int(r, i, 4), "reason", store_res_text(r, i, 2),
	                      "due_at", (json_int_t)store_res_int(r, i, 3)),
	            e);
}

#define FAILED_COLUMNS "id, updated_at, reason, due_at, post_id"

/* The sweep after a collection: failures the hook did not see (a delivery
 * failed when it was made, over the plan's limit; a node that stopped
 * between recording the failure and the hook). */
static int eval_delivery(struct store *st, const struct chan *ch, const struct alert_rule *rules,
                         size_t n, int64_t now, struct err *e)
{
	int64_t since = now - DELIVERY_LOOKBACK;
	struct store_res *r = NULL;
	int rc;

	{
		int64_t oldest = rules[0].created_at;
		struct store_val a[] = {SV_INT(ch->id), SV_INT(0), SV_INT(FAILED_MAX)};

		for (size_t i = 1; i < n; i++)
			if (rules[i].created_at < oldest)
				oldest = rules[i].created_at;
		if (oldest > since)
			since = oldest;
		a[1] = SV_INT(since);
		rc = store_exec(st,
		                "SELECT " FAILED_COLUMNS
		                " FROM deliveries WHERE channel_id = $1 AND "
		                "state = 'failed' AND updated_at >= $2 ORDER BY id LIMIT $3",
		                a, ARRAY_SIZE(a), &r, e);
	}
	for (size_t i = 0; !rc && i < store_res_rows(r); i++)
		for (size_t k = 0; !rc && k < n; k++)
			rc = fire_failed(st, &rules[k], r, i, now, e);
	store_res_free(r);
	return rc;
}

int alerts_delivery_failed(struct store *st, int64_t delivery_id, int64_t now, struct err *e)
{
	struct store_val a[] = {SV_INT(delivery_id)};
	struct store_res *r = NULL;
	struct alert_rule *rules = NULL;
	size_t n = 0;
	int rc = store_exec(st,
	                    "SELECT " FAILED_COLUMNS ", channel_id FROM deliveries WHERE id = $1 "
	                    "AND state = 'failed'",
	                    a, 1, &r, e);

	if (!rc && store_res_rows(r) == 1)
		rc = load_rules(st, store_res_int(r, 0, 5), ALERT_DELIVERY, &rules, &n, e);
	for (size_t k = 0; !rc && k < n; k++)
		rc = fire_failed(st, &rules[k], r, 0, now, e);
	free(rules);
	store_res_free(r);
	return rc;
}

int alerts_on_delivery_failed(struct app *a, int64_t delivery_id, struct err *e)
{
	return alerts_delivery_failed(a->store, delivery_id, clock_app_ms(), e);
}

/* ---- all of a channel's rules ----------------------------------------------------- */

int alerts_evaluate(struct store *st, int64_t channel_id, int64_t now, struct err *e)
{
	struct alert_rule *rules = NULL, *of[ALERT_KINDS] = {NULL};
	size_t n = 0, count[ALERT_KINDS] = {0};
	struct chan ch;
	int rc = load_chan(st, channel_id, &ch, e);

	if (!rc && !ch.gone)
		rc = load_rules(st, channel_id, -1, &rules, &n, e);
	if (rc || n == 0) {
		free(rules);
		return rc;
	}
	/* the rules of each kind, side by side (growth and milestone share) */
	for (int k = 0; k < ALERT_KINDS; k++) {
		of[k] = xcalloc(n, sizeof(*rules));
		for (size_t i = 0; i < n; i++)
			if ((int)rules[i].kind == k ||
			    (k == ALERT_GROWTH && rules[i].kind == ALERT_MILESTONE))
				of[k][count[k]++] = rules[i];
	}
	if (count[ALERT_SPIKE])
		rc = eval_spike(st, &ch, of[ALERT_SPIKE], count[ALERT_SPIKE], now, e);
	if (!rc && count[ALERT_QUIET])
		rc = eval_quiet(st, &ch, of[ALERT_QUIET], count[ALERT_QUIET], now, e);
	if (!rc && count[ALERT_GROWTH])
		rc = eval_members(st, &ch, of[ALERT_GROWTH], count[ALERT_GROWTH], now, e);
	if (!rc && count[ALERT_DELIVERY])
		rc = eval_delivery(st, &ch, of[ALERT_DELIVERY], count[ALERT_DELIVERY], now, e);
	for (int k = 0; k < ALERT_KINDS; k++)
		free(of[k]);
	free(rules);
	return rc;
}

int alerts_after_collect(struct app *a, int64_t channel_id, struct err *e)
{
	return alerts_evaluate(a->store, channel_id, clock_app_ms(), e);
}
