/*
 * Unit tests of alerts on a real SQLite file: the rules (params, bounds,
 * ownership, mute, removal), each kind firing once for one event and not
 * again on the next evaluation (its event row and its alert job), a muted
 * rule recording without a job, quiet with and without posts, growth and a
 * milestone, a delivery's failure, and spike detection: a flat noisy view
 * velocity (exact, and rounded as the public page shows it) gives nothing, a
 * real jump one alert.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alerts/alerts.h"
#include "lib/mem.h"
#include "store/store.h"

/* 2026-01-31T12:00:00Z */
#define T0   1769860800000LL
#define HOUR (3600LL * 1000)
#define DAY  (24 * HOUR)
#define STEP (6 * HOUR) /* the free plan's collection interval */

struct fx {
	char dir[64];
	struct store *st;
	struct store_conn *c;
	int64_t user, other, channel, other_channel;
};

static void exec(struct fx *fx, const char *sql, const struct store_val *a, size_t n)
{
	struct err e = {0};

	if (store_query(fx->c, sql, a, n, NULL, &e))
		fail_msg("%s: %s", sql, e.msg);
}

static int64_t one_int(struct fx *fx, const char *sql, const struct store_val *a, size_t n)
{
	struct store_res *r = NULL;
	struct err e = {0};
	int64_t v;

	if (store_query(fx->c, sql, a, n, &r, &e))
		fail_msg("%s: %s", sql, e.msg);
	if (store_res_rows(r) != 1)
		fail_msg("%s: %zu rows", sql, store_res_rows(r));
	v = store_res_int(r, 0, 0);
	store_res_free(r);
	return v;
}

static int64_t user(struct fx *fx, int64_t tg)
{
	struct store_val a[] = {SV_INT(tg)};

	return one_int(
	    fx, "INSERT INTO users (telegram_id, created_at) VALUES ($1, 1) RETURNING id", a, 1);
}

static int64_t channel(struct fx *fx, int64_t owner, int64_t chat, int64_t created)
{
	struct store_val a[] = {SV_INT(owner), SV_INT(chat), SV_INT(created)};

	return one_int(fx,
	               "INSERT INTO channels (owner_id, chat_id, title, status, checked_at, "
	               "created_at) VALUES ($1, $2, 'Lab News', 'ok', $3, $3) RETURNING id",
	               a, 3);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct err e = {0};
	char url[128];

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/herald-alerts-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(url, sizeof(url), "%s/t.db", fx->dir);
	assert_int_equal(store_open(&fx->st, url, NULL, &e), 0);
	if (store_migrate(fx->st, NULL, &e))
		fail_msg("migrate: %s", e.msg);
	assert_int_equal(store_conn_get(fx->st, &fx->c, &e), 0);
	fx->user = user(fx, 7);
	fx->other = user(fx, 8);
	fx->channel = channel(fx, fx->user, -1001, T0 - 10 * DAY);
	fx->other_channel = channel(fx, fx->other, -1002, T0 - 10 * DAY);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	static const char *const files[] = {"t.db", "t.db-wal", "t.db-shm"};
	char path[128];

	store_conn_put(fx->st, fx->c);
	store_free(fx->st);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->dir, files[i]);
		unlink(path);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* A rule of the fixture's user on its channel, made at created. */
static int64_t rule(struct fx *fx, enum alert_kind kind, const char *params, int64_t created)
{
	struct alert_params p;
	struct alert_fault f = {0};
	json_t *j = json_loads(params, 0, NULL);
	int64_t id = 0;

	assert_non_null(j);
	alerts_params_default(kind, &p);
	if (alerts_params_read(kind, j, &p, &f))
		fail_msg("params %s: %s", params, f.err.msg);
	json_decref(j);
	if (alerts_create(fx->st, fx->user, fx->channel, kind, &p, created, &id, &f))
		fail_msg("create: %s", f.err.msg);
	return id;
}

static void evaluate(struct fx *fx, int64_t now)
{
	struct err e = {0};

	if (alerts_evaluate(fx->st, fx->channel, now, &e))
		fail_msg("evaluate: %s", e.msg);
}

static int64_t events(struct fx *fx, int64_t rule_id)
{
	struct store_val a[] = {SV_INT(rule_id)};

	return one_int(fx, "SELECT count(*) FROM alert_events WHERE rule_id = $1", a, 1);
}

/* Alert jobs queued for rule's events. */
static int64_t jobs(struct fx *fx, int64_t rule_id)
{
	struct store_val a[] = {SV_INT(rule_id)};

	return one_int(fx,
	               "SELECT count(*) FROM jobs j JOIN alert_events ev ON ev.id = j.ref WHERE "
	               "j.kind = 'alert' AND ev.rule_id = $1",
	               a, 1);
}

/* The key of rule's only event, into out. */
static void only_key(struct fx *fx, int64_t rule_id, const char *want)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(rule_id)};
	struct err e = {0};

	assert_int_equal(store_query(fx->c,
	                             "SELECT event_key, state FROM alert_events WHERE rule_id = $1",
	                             a, 1, &r, &e),
	                 0);
	assert_int_equal(store_res_rows(r), 1);
	assert_string_equal(store_res_text(r, 0, 0), want);
	store_res_free(r);
}

/* ---- rules ------------------------------------------------------------------- */

static void test_params(void **state)
{
	static const struct {
		enum alert_kind kind;
		const char *json, *field; /* field NULL: accepted */
	} cases[] = {
	    {ALERT_SPIKE, "{}", NULL},
	    {ALERT_SPIKE, "{\"threshold\": 3.5}", NULL},
	    {ALERT_SPIKE, "{\"threshold\": 1}", "params.threshold"},
	    {ALERT_SPIKE, "{\"threshold\": \"5\"}", "params.threshold"},
	    {ALERT_SPIKE, "{\"hours\": 5}", "params.hours"},
	    {ALERT_QUIET, "{\"hours\": 48}", NULL},
	    {ALERT_QUIET, "{\"hours\": 0}", "params.hours"},
	    {ALERT_QUIET, "{\"hours\": 721}", "params.hours"},
	    {ALERT_QUIET, "{\"hours\": 2.5}", "params.hours"},
	    {ALERT_GROWTH, "{\"percent\": 0.5, \"window_hours\": 72}", NULL},
	    {ALERT_GROWTH, "{\"percent\": 0}", "params.percent"},
	    {ALERT_GROWTH, "{\"window_hours\": null}", "params.window_hours"},
	    {ALERT_MILESTONE, "{\"subscribers\": 10000}", NULL},
	    {ALERT_MILESTONE, "{}", "params.subscribers"},
	    {ALERT_MILESTONE, "{\"subscribers\": 1000000001}", "params.subscribers"},
	    {ALERT_DELIVERY, "{}", NULL},
	    {ALERT_DELIVERY, "{\"hours\": 1}", "params.hours"},
	    {ALERT_DELIVERY, "[]", "params"},
	};
	enum alert_kind k;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct alert_params p;
		struct alert_fault f = {0};
		json_t *j = json_loads(cases[i].json, 0, NULL);
		int rc;

		alerts_params_default(cases[i].kind, &p);
		rc = alerts_params_read(cases[i].kind, j, &p, &f);
		json_decref(j);
		if (!cases[i].field && rc)
			fail_msg("case %zu refused: %s", i, f.err.msg);
		if (cases[i].field && (rc != -ERR_INVALID || strcmp(f.field, cases[i].field) != 0))
			fail_msg("case %zu: rc %d field %s, want %s", i, rc, f.field,
			         cases[i].field);
	}
	assert_int_equal(alerts_kind_parse("milestone", &k), 0);
	assert_int_equal(k, ALERT_MILESTONE);
	assert_int_equal(alerts_kind_parse("spikes", &k), -ERR_INVALID);
	assert_int_equal(alerts_kind_parse(NULL, &k), -ERR_INVALID);
}

static void test_rules(void **state)
{
	struct fx *fx = *state;
	struct alert_params p;
	struct alert_fault f = {0};
	struct alert_rule *list = NULL, got;
	size_t n = 0;
	int64_t id = 0, until = T0 + DAY;

	alerts_params_default(ALERT_QUIET, &p);
	/* another user's channel, as if it did not exist */
	assert_int_equal(
	    alerts_create(fx->st, fx->user, fx->other_channel, ALERT_QUIET, &p, T0, &id, &f),
	    -ERR_NOT_FOUND);
	assert_string_equal(f.field, "channel_id");
	assert_int_equal(one_int(fx, "SELECT count(*) FROM alert_rules", NULL, 0), 0);
	id = rule(fx, ALERT_QUIET, "{\"hours\": 12}", T0);
	assert_int_equal(alerts_list(fx->st, fx->user, &list, &n, &f.err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].p.hours, 12);
	assert_string_equal(list[0].channel, "Lab News");
	free(list);
	/* others do not see it, change it or remove it */
	assert_int_equal(alerts_get(fx->st, fx->other, id, &got, &f.err), -ERR_NOT_FOUND);
	assert_int_equal(alerts_update(fx->st, fx->other, id, NULL, &until, &f), -ERR_NOT_FOUND);
	assert_int_equal(alerts_remove(fx->st, fx->other, id, T0, &f.err), -ERR_NOT_FOUND);
	/* a bad change changes nothing */
	p.hours = 0;
	assert_int_equal(alerts_update(fx->st, fx->user, id, &p, &until, &f), -ERR_INVALID);
	assert_string_equal(f.field, "params.hours");
	assert_int_equal(alerts_get(fx->st, fx->user, id, &got, &f.err), 0);
	assert_int_equal(got.p.hours, 12);
	assert_int_equal(got.muted_until, 0);
	/* mute, then unmute */
	assert_int_equal(alerts_update(fx->st, fx->user, id, NULL, &until, &f), 0);
	assert_int_equal(alerts_get(fx->st, fx->user, id, &got, &f.err), 0);
	assert_int_equal(got.muted_until, until);
	until = 0;
	assert_int_equal(alerts_update(fx->st, fx->user, id, NULL, &until, &f), 0);
	assert_int_equal(alerts_get(fx->st, fx->user, id, &got, &f.err), 0);
	assert_int_equal(got.muted_until, 0);
	/* removed: gone for good */
	assert_int_equal(alerts_remove(fx->st, fx->user, id, T0, &f.err), 0);
	assert_int_equal(alerts_remove(fx->st, fx->user, id, T0, &f.err), -ERR_NOT_FOUND);
	assert_int_equal(alerts_get(fx->st, fx->user, id, &got, &f.err), -ERR_NOT_FOUND);
	/* at most ALERTS_RULES_MAX */
	for (int i = 0; i < ALERTS_RULES_MAX; i++)
		rule(fx, ALERT_DELIVERY, "{}", T0);
	alerts_params_default(ALERT_DELIVERY, &p);
	assert_int_equal(
	    alerts_create(fx->st, fx->user, fx->channel, ALERT_DELIVERY, &p, T0, &id, &f),
	    -ERR_TOO_BIG);
}

/* ---- spike ------------------------------------------------------------------- */

/* A deterministic noise in [-amp, amp]. */
static int64_t noise(uint64_t *seed, int64_t amp)
{
	*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (int64_t)((*seed >> 33) % (uint64_t)(2 * amp + 1)) - amp;
}

/* Views as the public page shows them: exact below 1,000, else rounded
 * down to one decimal of K ("12.3K"), whole K from 100K ("123K"), one
 * decimal of M from a million. */
static struct alerts_snapshot page_reading(int64_t mid, int64_t posted, int64_t at, int64_t views)
{
	int64_t unit = views >= 1000000 ? 100000 : views >= 100000 ? 1000 : 100;
	bool approx = views >= 1000;

	return (struct alerts_snapshot){mid, posted, at, approx ? views / unit * unit : views,
	                                approx};
}

static size_t spikes_of(const struct alerts_snapshot *s, size_t n, int64_t from, int64_t to,
                        struct alerts_spike *out, size_t max)
{
	struct alerts_velocity v;
	struct err e = {0};
	size_t k = 0;

	alerts_velocity(s, n, STEP, &v);
	if (alerts_spikes(&v, ALERTS_THRESHOLD_DEFAULT, from, to, out, max, &k, &e))
		fail_msg("spikes: %s", e.msg);
	alerts_velocity_release(&v);
	return k;
}

static void test_velocity(void **state)
{
	enum { N = 120 };
	struct alerts_snapshot *s = xcalloc(3 * N, sizeof(*s));
	struct alerts_spike out[8];
	struct alerts_velocity v;
	uint64_t seed = 42;
	int64_t views[3] = {0, 0, 0};
	size_t n = 0, k;

	(void)state;
	/* three posts gaining about 1,000, 400 and 30 views an interval, with
	 * noise, read through the page's rounding: nothing spikes */
	for (int i = 0; i < N; i++) {
		static const int64_t rate[3] = {1000, 400, 30}, amp[3] = {50, 40, 10};

		for (int p = 0; p < 3; p++) {
			views[p] += rate[p] + noise(&seed, amp[p]);
			s[p * N + i] =
			    page_reading(p + 1, T0 - HOUR, T0 + i * STEP, views[p] + 900);
		}
	}
	n = 3 * N;
	k = spikes_of(s, n, T0, T0 + N * STEP, out, ARRAY_SIZE(out));
	assert_int_equal(k, 0);
	/* the series: one point less than the readings, scaled to the interval */
	alerts_velocity(s, n, STEP, &v);
	assert_int_equal(v.n_posts, 3);
	assert_int_equal(v.posts[0].n, N - 1);
	assert_int_equal(v.channel.n, N - 1);
	assert_true(v.channel.points[5].approx);
	/* rounding: a spike must pass 3 units of the largest reading (post 1
	 * reached 120K: 1,000; post 2 48K: 100; post 3 is exact until 1K) */
	assert_true(v.posts[0].min_excess == 3000.0);
	assert_true(v.posts[1].min_excess == 300.0);
	assert_true(v.channel.min_excess == 3000.0);
	alerts_velocity_release(&v);
	/* a jump of 20,000 views on post 2 at reading 100: one alert, of the
	 * post (the channel's spike at that instant is the post's) */
	for (int i = 100; i < N; i++)
		s[N + i] = page_reading(2, T0 - HOUR, T0 + i * STEP, s[N + i].views + 20000);
	k = spikes_of(s, n, T0, T0 + N * STEP, out, ARRAY_SIZE(out));
	assert_int_equal(k, 1);
	assert_int_equal(out[0].message_id, 2);
	assert_int_equal(out[0].s.at_ms, T0 + 100 * STEP);
	assert_true(out[0].s.value > 19000);
	/* only what is in [from, to) is reported */
	assert_int_equal(spikes_of(s, n, T0 + 101 * STEP, T0 + N * STEP, out, ARRAY_SIZE(out)), 0);
	/* a collection a minute after another is skipped, not read as a slow
	 * interval: still nothing at the flat part */
	s[5].at += 60000;
	s[N + 5].at += 60000;
	s[2 * N + 5].at += 60000;
	assert_int_equal(spikes_of(s, n, T0, T0 + 90 * STEP, out, ARRAY_SIZE(out)), 0);
	free(s);
}

/* Store post mid's reading of views at at (exact). */
static void snapshot(struct fx *fx, int64_t mid, int64_t at, int64_t views)
{
	struct store_val a[] = {SV_INT(fx->channel), SV_INT(mid), SV_INT(at), SV_INT(views)};

	exec(fx,
	     "INSERT INTO post_snapshots (channel_id, message_id, measured_at, views) VALUES ($1, "
	     "$2, $3, $4)",
	     a, ARRAY_SIZE(a));
}

static void post(struct fx *fx, int64_t mid, int64_t posted)
{
	struct store_val a[] = {SV_INT(fx->channel), SV_INT(mid), SV_INT(posted)};

	exec(fx,
	     "INSERT INTO channel_posts (channel_id, message_id, posted_at, source, seen_at) "
	     "VALUES ($1, $2, $3, 'page', $3)",
	     a, ARRAY_SIZE(a));
}

static void test_spike_fires_once(void **state)
{
	struct fx *fx = *state;
	int64_t id = rule(fx, ALERT_SPIKE, "{}", T0), views = 0;
	uint64_t seed = 7;
	char key[64];

	post(fx, 5, T0);
	/* a collection every 6 hours, each evaluated: a noisy flat velocity */
	for (int i = 1; i <= 20; i++) {
		views += 800 + noise(&seed, 60);
		snapshot(fx, 5, T0 + i * STEP, views);
		evaluate(fx, T0 + i * STEP);
	}
	assert_int_equal(events(fx, id), 0);
	/* the post takes off */
	views += 25000;
	snapshot(fx, 5, T0 + 21 * STEP, views);
	evaluate(fx, T0 + 21 * STEP);
	snprintf(key, sizeof(key), "spike:post:5:%lld", (long long)(T0 + 21 * STEP));
	only_key(fx, id, key);
	assert_int_equal(jobs(fx, id), 1);
	/* evaluated again, and after the next collections: the same event */
	evaluate(fx, T0 + 21 * STEP + 1000);
	for (int i = 22; i <= 24; i++) {
		views += 800 + noise(&seed, 60);
		snapshot(fx, 5, T0 + i * STEP, views);
		evaluate(fx, T0 + i * STEP);
	}
	assert_int_equal(events(fx, id), 1);
	assert_int_equal(jobs(fx, id), 1);
}

/* ---- quiet --------------------------------------------------------------------- */

static void test_quiet(void **state)
{
	struct fx *fx = *state;
	int64_t id = rule(fx, ALERT_QUIET, "{\"hours\": 24}", T0), created = T0 - 10 * DAY;
	char key[64];

	/* no post ever: quiet since the channel was connected, ten days ago */
	evaluate(fx, T0);
	snprintf(key, sizeof(key), "quiet:%lld", (long long)created);
	only_key(fx, id, key);
	assert_int_equal(jobs(fx, id), 1);
	evaluate(fx, T0 + STEP);
	assert_int_equal(events(fx, id), 1);
	/* a post: not quiet until 24 hours after it */
	post(fx, 10, T0 + 2 * HOUR);
	evaluate(fx, T0 + 25 * HOUR);
	assert_int_equal(events(fx, id), 1);
	evaluate(fx, T0 + 26 * HOUR);
	assert_int_equal(events(fx, id), 2);
	evaluate(fx, T0 + 40 * HOUR);
	assert_int_equal(events(fx, id), 2);
	assert_int_equal(jobs(fx, id), 2);
	/* Herald's own delivery counts as a post */
	{
		struct store_val a[] = {SV_INT(fx->user), SV_INT(fx->channel),
		                        SV_INT(T0 + 41 * HOUR)};
		int64_t post_id =
		    one_int(fx,
		            "INSERT INTO posts (user_id, status, spec, zone, created_at, "
		            "updated_at) VALUES ($1, 'done', '{}', 'UTC', $3, $3) "
		            "RETURNING id",
		            a, ARRAY_SIZE(a));
		struct store_val b[] = {SV_INT(post_id), SV_INT(fx->channel), SV_INT(fx->user),
		                        SV_INT(T0 + 41 * HOUR)};

		exec(
		    fx,
		    "INSERT INTO deliveries (post_id, channel_id, user_id, chat_id, occurrence, "
		    "due_at, state, sent_at, updated_at) VALUES ($1, $2, $3, -1001, 0, $4, 'sent', "
		    "$4, $4)",
		    b, ARRAY_SIZE(b));
	}
	evaluate(fx, T0 + 60 * HOUR);
	assert_int_equal(events(fx, id), 2);
	evaluate(fx, T0 + 65 * HOUR);
	assert_int_equal(events(fx, id), 3);
}

/* ---- a muted rule ------------------------------------------------------------------ */

static void test_muted(void **state)
{
	struct fx *fx = *state;
	int64_t id = rule(fx, ALERT_QUIET, "{\"hours\": 24}", T0), until = T0 + DAY;
	struct alert_fault f = {0};
	struct store_val a[] = {SV_INT(id)};

	assert_int_equal(alerts_update(fx->st, fx->user, id, NULL, &until, &f), 0);
	evaluate(fx, T0);
	/* recorded as muted, nothing to send */
	assert_int_equal(one_int(fx,
	                         "SELECT count(*) FROM alert_events WHERE rule_id = $1 AND state = "
	                         "'muted'",
	                         a, 1),
	                 1);
	assert_int_equal(jobs(fx, id), 0);
	/* unmuted: the same quiet spell is not news */
	until = 0;
	assert_int_equal(alerts_update(fx->st, fx->user, id, NULL, &until, &f), 0);
	evaluate(fx, T0 + DAY + 1);
	assert_int_equal(events(fx, id), 1);
	assert_int_equal(jobs(fx, id), 0);
	/* a removed rule does not fire */
	post(fx, 11, T0 + 2 * DAY);
	assert_int_equal(alerts_remove(fx->st, fx->user, id, T0 + 2 * DAY, &f.err), 0);
	evaluate(fx, T0 + 4 * DAY);
	assert_int_equal(events(fx, id), 1);
}

/* ---- growth and milestone ------------------------------------------------------------ */

static void members(struct fx *fx, int64_t at, int64_t count)
{
	struct store_val a[] = {SV_INT(fx->channel), SV_INT(at), SV_INT(count)};

	exec(fx,
	     "INSERT INTO metric_points (channel_id, metric, source, measured_at, value) VALUES "
	     "($1, 'members', 'bot_api', $2, $3)",
	     a, ARRAY_SIZE(a));
}

static void test_growth_and_milestone(void **state)
{
	struct fx *fx = *state;
	int64_t growth =
	    rule(fx, ALERT_GROWTH, "{\"percent\": 5, \"window_hours\": 24}", T0 - 3 * DAY);
	int64_t milestone = rule(fx, ALERT_MILESTONE, "{\"subscribers\": 1050}", T0 - 3 * DAY);
	char key[64];

	/* flat, and a page reading that is not the Bot API's (ignored) */
	for (int64_t at = T0 - 3 * DAY; at <= T0; at += STEP)
		members(fx, at, 1000 + (at - (T0 - 3 * DAY)) / DAY);
	{
		struct store_val a[] = {SV_INT(fx->channel), SV_INT(T0)};

		exec(fx,
		     "INSERT INTO metric_points (channel_id, metric, source, measured_at, value, "
		     "approx) VALUES ($1, 'members', 'page', $2, 2000, 1)",
		     a, 2);
	}
	evaluate(fx, T0);
	assert_int_equal(events(fx, growth), 0);
	assert_int_equal(events(fx, milestone), 0);
	/* +6 % within a day: both fire */
	members(fx, T0 + STEP, 1066);
	evaluate(fx, T0 + STEP);
	snprintf(key, sizeof(key), "growth:%lld", (long long)(T0 + STEP));
	only_key(fx, growth, key);
	only_key(fx, milestone, "milestone:1050");
	assert_int_equal(jobs(fx, growth), 1);
	assert_int_equal(jobs(fx, milestone), 1);
	/* still up 5 % over the day at the next collections: once per window */
	members(fx, T0 + 2 * STEP, 1070);
	evaluate(fx, T0 + 2 * STEP);
	members(fx, T0 + 3 * STEP, 1075);
	evaluate(fx, T0 + 3 * STEP);
	assert_int_equal(events(fx, growth), 1);
	assert_int_equal(events(fx, milestone), 1);
	/* a day later, another rise of 5 % is another event */
	members(fx, T0 + 5 * STEP, 1080);
	members(fx, T0 + 6 * STEP, 1140);
	evaluate(fx, T0 + 6 * STEP);
	assert_int_equal(events(fx, growth), 2);
	assert_int_equal(events(fx, milestone), 1);
}

/* ---- delivery failures ------------------------------------------------------------------- */

static int64_t failed_delivery(struct fx *fx, int64_t at, int occurrence)
{
	struct store_val a[] = {SV_INT(fx->user), SV_INT(at)};
	int64_t post_id =
	    one_int(fx,
	            "INSERT INTO posts (user_id, status, spec, zone, created_at, "
	            "updated_at) VALUES ($1, 'done', '{}', 'UTC', $2, $2) RETURNING id",
	            a, ARRAY_SIZE(a));
	struct store_val b[] = {SV_INT(post_id), SV_INT(fx->channel), SV_INT(fx->user), SV_INT(at),
	                        SV_INT(occurrence)};

	return one_int(fx,
	               "INSERT INTO deliveries (post_id, channel_id, user_id, chat_id, occurrence, "
	               "due_at, state, reason, updated_at) VALUES ($1, $2, $3, -1001, $5, $4, "
	               "'failed', 'no_rights: not enough rights', $4) RETURNING id",
	               b, ARRAY_SIZE(b));
}

static void test_delivery(void **state)
{
	struct fx *fx = *state;
	int64_t before = failed_delivery(fx, T0 - HOUR, 0);
	int64_t id = rule(fx, ALERT_DELIVERY, "{}", T0), d;
	struct err e = {0};
	char key[64];

	/* a failure from before the rule is not news */
	evaluate(fx, T0);
	assert_int_equal(alerts_delivery_failed(fx->st, before, T0, &e), 0);
	assert_int_equal(events(fx, id), 0);
	/* told at once, then the sweep after a collection finds it known */
	d = failed_delivery(fx, T0 + HOUR, 1);
	assert_int_equal(alerts_delivery_failed(fx->st, d, T0 + HOUR, &e), 0);
	snprintf(key, sizeof(key), "delivery:%lld", (long long)d);
	only_key(fx, id, key);
	assert_int_equal(alerts_delivery_failed(fx->st, d, T0 + HOUR, &e), 0);
	evaluate(fx, T0 + STEP);
	assert_int_equal(events(fx, id), 1);
	assert_int_equal(jobs(fx, id), 1);
	/* a failure the hook missed: the sweep finds it */
	failed_delivery(fx, T0 + 7 * HOUR, 2);
	evaluate(fx, T0 + 2 * STEP);
	assert_int_equal(events(fx, id), 2);
	assert_int_equal(jobs(fx, id), 2);
	/* the detail the message is made of */
	{
		struct store_val a[] = {SV_INT(id), SV_TEXT(key)};
		struct store_res *r = NULL;
		json_t *detail;

		assert_int_equal(
		    store_query(fx->c,
		                "SELECT detail FROM alert_events WHERE rule_id = $1 AND "
		                "event_key = $2",
		                a, 2, &r, &e),
		    0);
		detail = json_loads(store_res_text(r, 0, 0), 0, NULL);
		assert_int_equal(json_integer_value(json_object_get(detail, "delivery_id")), d);
		assert_string_equal(json_string_value(json_object_get(detail, "reason")),
		                    "no_rights: not enough rights");
		json_decref(detail);
		store_res_free(r);
	}
}

/* ---- the API's views ------------------------------------------------------------------------ */

static void test_json(void **state)
{
	struct fx *fx = *state;
	int64_t id = rule(fx, ALERT_GROWTH, "{\"percent\": 2.5}", T0), until = T0 + DAY;
	struct alert_fault f = {0};
	struct alert_rule r;
	json_t *j, *list = NULL;

	assert_int_equal(alerts_update(fx->st, fx->user, id, NULL, &until, &f), 0);
	assert_int_equal(alerts_get(fx->st, fx->user, id, &r, &f.err), 0);
	j = alerts_rule_json(&r, T0);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "growth");
	assert_true(json_is_true(json_object_get(j, "muted")));
	assert_int_equal(json_integer_value(json_object_get(j, "muted_until")), until);
	assert_true(json_number_value(json_object_get(json_object_get(j, "params"), "percent")) ==
	            2.5);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "params"), "window_hours")), 24);
	json_decref(j);
	/* past the mute's end it is not muted */
	j = alerts_rule_json(&r, until);
	assert_true(json_is_false(json_object_get(j, "muted")));
	assert_true(json_is_null(json_object_get(j, "muted_until")));
	json_decref(j);
	/* events: the user's only */
	failed_delivery(fx, T0 + HOUR, 0);
	rule(fx, ALERT_DELIVERY, "{}", T0);
	evaluate(fx, T0 + STEP);
	assert_int_equal(alerts_events_json(fx->st, fx->user, 0, 10, &list, &f.err), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_true(json_is_false(json_object_get(json_array_get(list, 0), "sent")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "state")),
	                    "pending");
	json_decref(list);
	assert_int_equal(alerts_events_json(fx->st, fx->other, 0, 10, &list, &f.err), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_params),
	    cmocka_unit_test(test_velocity),
	    cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spike_fires_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quiet, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_muted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_growth_and_milestone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delivery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_json, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
