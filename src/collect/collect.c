/*
 * collect: updates, member counts, rollups and retention (collect.h). The
 * public page is collect/page.c.
 */
#include "collect/collect.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "collect/collect_impl.h"
#include "collect/validate.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/store.h"
#include "tg/tg.h"

#define DAY_MS         (24LL * 3600 * 1000)
#define SNAPSHOT_KEEP  (8 * DAY_MS) /* a post's views over time: for its first week */
#define DEFAULT_EVERY  (6LL * 3600 * 1000)
#define DEFAULT_RETAIN 90

int (*collect_hook)(struct app *a, int64_t channel_id, struct err *e);

/* ---- metrics ---------------------------------------------------------------- */

static const char *const src_names[] = {COLLECT_SRC_BOTAPI, COLLECT_SRC_UPDATES, COLLECT_SRC_PAGE};
static atomic_llong m_stored[3], m_rejected[3], m_flagged[3], m_failed[3];

static int src_index(const char *source)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(src_names[i], source) == 0)
			return i;
	return 0;
}

void collect_stored(const char *source, int n)
{
	atomic_fetch_add_explicit(&m_stored[src_index(source)], n, memory_order_relaxed);
}

int collect_metrics(struct buf *out)
{
	static const struct {
		const char *name, *help;
		atomic_llong *v;
	} m[] = {
	    {"herald_collect_points_total", "points stored by source", m_stored},
	    {"herald_collect_rejected_total", "points rejected by validation", m_rejected},
	    {"herald_collect_flagged_total", "points flagged (views going down)", m_flagged},
	    {"herald_collect_failures_total", "collections of a source that failed", m_failed},
	};
	int rc = 0;

	for (size_t i = 0; !rc && i < ARRAY_SIZE(m); i++) {
		rc = buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", m[i].name, m[i].help,
		                m[i].name);
		for (int s = 0; !rc && s < 3; s++)
			rc = buf_printf(
			    out, "%s{source=\"%s\"} %lld\n", m[i].name, src_names[s],
			    (long long)atomic_load_explicit(&m[i].v[s], memory_order_relaxed));
	}
	return rc;
}

/* ---- sources' health ---------------------------------------------------------- */

static int source_row(struct store_conn *c, int64_t channel_id, const char *source, struct err *e)
{
	struct store_val a[] = {SV_INT(channel_id), SV_TEXT(source)};

	return store_query(c,
	                   "INSERT INTO collect_sources (channel_id, source) VALUES ($1, $2) "
	                   "ON CONFLICT (channel_id, source) DO NOTHING",
	                   a, 2, NULL, e);
}

int collect_count(struct store_conn *c, int64_t channel_id, const char *source, int rejected,
                  int flagged, struct err *e)
{
	struct store_val a[] = {SV_INT(channel_id), SV_TEXT(source), SV_INT(rejected),
	                        SV_INT(flagged)};
	int rc;

	if (!rejected && !flagged)
		return 0;
	atomic_fetch_add_explicit(&m_rejected[src_index(source)], rejected, memory_order_relaxed);
	atomic_fetch_add_explicit(&m_flagged[src_index(source)], flagged, memory_order_relaxed);
	rc = source_row(c, channel_id, source, e);
	if (!rc)
		rc = store_query(c,
		                 "UPDATE collect_sources SET rejected = rejected + $3, flagged = "
		                 "flagged + $4 WHERE channel_id = $1 AND source = $2",
		                 a, ARRAY_SIZE(a), NULL, e);
	return rc;
}

int collect_source_ok(struct store_conn *c, int64_t channel_id, const char *source, int64_t now,
                      struct err *e)
{
	struct store_val a[] = {SV_INT(channel_id), SV_TEXT(source), SV_INT(now)};
	int rc = source_row(c, channel_id, source, e);

	if (!rc)
		rc = store_query(c,
		                 "UPDATE collect_sources SET ok_at = $3 WHERE channel_id = $1 AND "
		                 "source = $2",
		                 a, 3, NULL, e);
	return rc;
}

struct failed_arg {
	int64_t channel_id, now;
	const char *source, *why;
};

static int failed_tx(struct store_conn *c, void *arg, struct err *e)
{
	struct failed_arg *x = arg;
	struct store_val a[] = {SV_INT(x->channel_id), SV_TEXT(x->source), SV_INT(x->now),
	                        SV_TEXT(x->why)};
	int rc = source_row(c, x->channel_id, x->source, e);

	if (!rc)
		rc = store_query(c,
		                 "UPDATE collect_sources SET error_at = $3, error = $4 WHERE "
		                 "channel_id = $1 AND source = $2",
		                 a, ARRAY_SIZE(a), NULL, e);
	return rc;
}

int collect_source_failed(struct app *a, int64_t channel_id, const char *source, const char *why,
                          int64_t now)
{
	struct failed_arg x = {channel_id, now, source, why};
	struct err e = {0};
	int rc;

	atomic_fetch_add_explicit(&m_failed[src_index(source)], 1, memory_order_relaxed);
	log_warn("msg=\"collection failed\" channel=%lld source=%s reason=\"%s\"",
	         (long long)channel_id, source, why);
	rc = store_tx(a->store, failed_tx, &x, &e);
	if (rc)
		log_warn("msg=\"collection failure not recorded\" channel=%lld error=\"%s\"",
		         (long long)channel_id, e.msg);
	return rc;
}

/* ---- updates -------------------------------------------------------------------- */

const char *collect_kind_of(const json_t *msg)
{
	static const struct {
		const char *field, *kind;
	} kinds[] = {
	    {"photo", "photo"},      {"video", "video"},       {"animation", "video"},
	    {"video_note", "video"}, {"document", "document"}, {"poll", "poll"},
	    {"audio", "other"},      {"voice", "other"},       {"sticker", "other"},
	};

	if (json_object_get(msg, "media_group_id"))
		return "album";
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (json_object_get(msg, kinds[i].field))
			return kinds[i].kind;
	return "text";
}

enum upd_kind { U_POST, U_EDIT, U_REACTIONS, U_MEMBER };

struct upd_arg {
	enum upd_kind kind;
	const json_t *o; /* the message, the reaction count or the member update */
	int64_t channel_id, at, now;
};

static bool is_in(const char *status, const json_t *member)
{
	if (!status)
		return false;
	if (strcmp(status, "restricted") == 0)
		return json_is_true(json_object_get(member, "is_member"));
	return strcmp(status, "left") != 0 && strcmp(status, "kicked") != 0;
}

static int upd_tx(struct store_conn *c, void *arg, struct err *e)
{
	struct upd_arg *x = arg;
	int64_t mid = json_integer_value(json_object_get(x->o, "message_id"));
	const char *why = NULL;
	int rc;

	if (cv_count(0, x->at, x->now, &why) != CV_OK ||
	    (x->kind != U_MEMBER && mid <= 0 && (why = "no message id")))
		return collect_count(c, x->channel_id, COLLECT_SRC_UPDATES, 1, 0, e);
	switch (x->kind) {
	case U_POST:
	case U_EDIT: {
		int64_t posted = json_integer_value(json_object_get(x->o, "date")) * 1000;
		struct store_val a[] = {SV_INT(x->channel_id),
		                        SV_INT(mid),
		                        SV_INT(posted),
		                        SV_TEXT(collect_kind_of(x->o)),
		                        x->kind == U_EDIT ? SV_INT(x->at) : SV_NULL,
		                        SV_INT(x->now)};

		rc = store_query(
		    c,
		    "INSERT INTO channel_posts (channel_id, message_id, posted_at, kind, "
		    "edited_at, source, seen_at) VALUES ($1, $2, $3, $4, $5, 'updates', "
		    "$6) ON CONFLICT (channel_id, message_id) DO UPDATE SET kind = "
		    "excluded.kind, edited_at = coalesce(excluded.edited_at, "
		    "channel_posts.edited_at), seen_at = excluded.seen_at",
		    a, ARRAY_SIZE(a), NULL, e);
		break;
	}
	case U_REACTIONS: {
		const json_t *list = json_object_get(x->o, "reactions"), *r;
		int64_t total = 0;
		size_t i;

		json_array_foreach(list, i, r)
		{
			int64_t n = json_integer_value(json_object_get(r, "total_count"));

			if (cv_count(n, x->at, x->now, &why) != CV_OK)
				return collect_count(c, x->channel_id, COLLECT_SRC_UPDATES, 1, 0,
				                     e);
			total += n;
		}
		{
			struct store_val a[] = {SV_INT(x->channel_id), SV_INT(mid), SV_INT(total),
			                        SV_INT(x->now)};

			rc = store_query(
			    c,
			    "UPDATE channel_posts SET reactions = $3, reactions_source = "
			    "'updates', seen_at = $4 WHERE channel_id = $1 AND "
			    "message_id = $2",
			    a, ARRAY_SIZE(a), NULL, e);
		}
		break;
	}
	case U_MEMBER: {
		const json_t *old = json_object_get(x->o, "old_chat_member");
		const json_t *new = json_object_get(x->o, "new_chat_member");
		bool was = is_in(json_string_value(json_object_get(old, "status")), old);
		bool is = is_in(json_string_value(json_object_get(new, "status")), new);
		struct store_val a[] = {SV_INT(x->channel_id), SV_TEXT(is ? "joins" : "leaves"),
		                        SV_INT(x->at / 60000 * 60000)};

		if (was == is)
			return 0; /* a change of rights, not of membership */
		rc = store_query(c,
		                 "INSERT INTO metric_points (channel_id, metric, source, "
		                 "measured_at, value) VALUES ($1, $2, 'updates', $3, 1) ON "
		                 "CONFLICT (channel_id, metric, source, measured_at) DO UPDATE SET "
		                 "value = metric_points.value + 1",
		                 a, ARRAY_SIZE(a), NULL, e);
		break;
	}
	default:
		return 0;
	}
	if (!rc)
		collect_stored(COLLECT_SRC_UPDATES, 1);
	return rc;
}

int collect_update(struct app *a, const json_t *upd, struct err *e)
{
	static const struct {
		const char *field;
		enum upd_kind kind;
	} types[] = {{"channel_post", U_POST},
	             {"edited_channel_post", U_EDIT},
	             {"message_reaction_count", U_REACTIONS},
	             {"chat_member", U_MEMBER}};
	struct upd_arg x = {0};
	const json_t *chat;
	struct store_res *r = NULL;
	int rc = 0;

	for (size_t i = 0; i < ARRAY_SIZE(types) && !x.o; i++) {
		x.o = json_object_get(upd, types[i].field);
		x.kind = types[i].kind;
	}
	if (!json_is_object(x.o))
		return 0;
	chat = json_object_get(x.o, "chat");
	if (!json_is_string(json_object_get(chat, "type")) ||
	    strcmp(json_string_value(json_object_get(chat, "type")), "channel") != 0)
		return 0;
	x.at = json_integer_value(json_object_get(x.o, x.kind == U_EDIT ? "edit_date" : "date")) *
	       1000;
	x.now = clock_app_ms();
	{
		struct store_val arg[] = {SV_INT(json_integer_value(json_object_get(chat, "id")))};

		rc = store_exec(a->store,
		                "SELECT id FROM channels WHERE chat_id = $1 AND removed_at IS NULL",
		                arg, 1, &r, e);
	}
	for (size_t i = 0; !rc && i < store_res_rows(r); i++) {
		x.channel_id = store_res_int(r, i, 0);
		rc = store_tx(a->store, upd_tx, &x, e);
	}
	store_res_free(r);
	return rc;
}

/* ---- the collect job ------------------------------------------------------------ */

struct count_arg {
	int64_t channel_id, at, count;
};

static int count_tx(struct store_conn *c, void *arg, struct err *e)
{
	struct count_arg *x = arg;
	const char *why;
	struct store_res *r = NULL;
	int rc;

	if (cv_count(x->count, x->at, x->at, &why) != CV_OK) {
		rc = collect_count(c, x->channel_id, COLLECT_SRC_BOTAPI, 1, 0, e);
	} else {
		struct store_val a[] = {SV_INT(x->channel_id), SV_INT(x->at), SV_INT(x->count)};

		rc = store_query(
		    c,
		    "INSERT INTO metric_points (channel_id, metric, source, measured_at, "
		    "value) VALUES ($1, 'members', 'bot_api', $2, $3) ON CONFLICT "
		    "(channel_id, metric, source, measured_at) DO NOTHING RETURNING id",
		    a, ARRAY_SIZE(a), &r, e);
		if (!rc && store_res_rows(r))
			collect_stored(COLLECT_SRC_BOTAPI, 1);
		store_res_free(r);
	}
	if (!rc)
		rc = collect_source_ok(c, x->channel_id, COLLECT_SRC_BOTAPI, x->at, e);
	return rc;
}

static int member_count(struct app *a, const struct collect_chan *ch, int64_t now, struct err *e)
{
	struct tg_error te = {0};
	struct count_arg x = {ch->id, now, 0};
	int rc;

	if (!a->tg) {
		collect_source_failed(a, ch->id, COLLECT_SRC_BOTAPI, "no bot token", now);
		return 0;
	}
	rc = tg_get_chat_member_count(a->tg, ch->chat_id, &x.count, &te);
	if (rc) {
		collect_source_failed(a, ch->id, COLLECT_SRC_BOTAPI, te.err.msg, now);
		return 0;
	}
	return store_tx(a->store, count_tx, &x, e);
}

/* The UTC day of t, as the day's first ms. */
static int64_t day_of(int64_t t)
{
	return t - ((t % DAY_MS) + DAY_MS) % DAY_MS;
}

struct keep_arg {
	const struct collect_chan *ch;
	int64_t now;
};

/* Daily rollups of yesterday and today (UTC), and retention by plan. */
static int keep_tx(struct store_conn *c, void *arg, struct err *e)
{
	struct keep_arg *x = arg;
	int64_t id = x->ch->id, cut = x->now - x->ch->retain_days * DAY_MS;
	int rc = 0;

	for (int64_t day = day_of(x->now) - DAY_MS; !rc && day <= x->now; day += DAY_MS) {
		struct store_val a[] = {SV_INT(id), SV_INT(day), SV_INT(day + DAY_MS)};

		rc = store_query(
		    c,
		    "INSERT INTO daily_rollups (channel_id, day, members, joins, leaves, posts, "
		    "views) VALUES ($1, $2, (SELECT value FROM metric_points WHERE channel_id = $1 "
		    "AND metric = 'members' AND measured_at >= $2 AND measured_at < $3 ORDER BY "
		    "measured_at DESC LIMIT 1), (SELECT coalesce(sum(value), 0) FROM metric_points "
		    "WHERE channel_id = $1 AND metric = 'joins' AND measured_at >= $2 AND "
		    "measured_at < $3), (SELECT coalesce(sum(value), 0) FROM metric_points WHERE "
		    "channel_id = $1 AND metric = 'leaves' AND measured_at >= $2 AND measured_at "
		    "< $3), (SELECT count(*) FROM channel_posts WHERE channel_id = $1 AND "
		    "posted_at >= $2 AND posted_at < $3), (SELECT coalesce(sum(views), 0) FROM "
		    "channel_posts WHERE channel_id = $1 AND posted_at >= $2 AND posted_at < $3)) "
		    "ON CONFLICT (channel_id, day) DO UPDATE SET members = excluded.members, joins "
		    "= excluded.joins, leaves = excluded.leaves, posts = excluded.posts, views = "
		    "excluded.views",
		    a, ARRAY_SIZE(a), NULL, e);
	}
	{
		/* retention: each statement with its own bound */
		static const char *const sql[] = {
		    "DELETE FROM metric_points WHERE channel_id = $1 AND measured_at < $2",
		    "DELETE FROM channel_posts WHERE channel_id = $1 AND posted_at < $2",
		    "DELETE FROM post_snapshots WHERE channel_id = $1 AND measured_at < $2",
		    "DELETE FROM daily_rollups WHERE channel_id = $1 AND day < $2",
		};
		const int64_t bound[] = {cut, cut, x->now - SNAPSHOT_KEEP, day_of(cut)};

		for (size_t i = 0; !rc && i < ARRAY_SIZE(sql); i++) {
			struct store_val a[] = {SV_INT(id), SV_INT(bound[i])};

			rc = store_query(c, sql[i], a, 2, NULL, e);
		}
	}
	return rc;
}

static int load_chan(struct app *a, int64_t id, struct collect_chan *ch, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val arg[] = {SV_INT(id)};
	int rc = store_exec(a->store,
	                    "SELECT c.chat_id, c.username, CASE WHEN c.removed_at IS NULL THEN 0 "
	                    "ELSE 1 END, coalesce(p.collect_every_ms, 0), "
	                    "coalesce(p.retention_days, 0), c.owner_id FROM channels c JOIN users "
	                    "u ON u.id = c.owner_id LEFT JOIN plans p ON p.id = u.plan WHERE c.id "
	                    "= $1",
	                    arg, 1, &r, e);

	if (rc)
		return rc;
	memset(ch, 0, sizeof(*ch));
	ch->id = id;
	if (store_res_rows(r) == 1) {
		ch->chat_id = store_res_int(r, 0, 0);
		snprintf(ch->username, sizeof(ch->username), "%s", store_res_text(r, 0, 1));
		ch->gone = store_res_int(r, 0, 2) != 0;
		ch->every_ms = store_res_int(r, 0, 3);
		ch->retain_days = store_res_int(r, 0, 4);
		ch->owner_id = store_res_int(r, 0, 5);
	} else {
		ch->gone = true;
	}
	store_res_free(r);
	if (ch->every_ms <= 0)
		ch->every_ms = DEFAULT_EVERY;
	if (ch->retain_days <= 0)
		ch->retain_days = DEFAULT_RETAIN;
	return 0;
}

int collect_channel(struct app *a, int64_t channel_id, int64_t *next_at, struct err *e)
{
	struct collect_chan ch;
	int64_t now = clock_app_ms();
	int rc = load_chan(a, channel_id, &ch, e);

	*next_at = 0;
	if (rc)
		return rc;
	if (ch.gone) {
		log_info("msg=\"collection ends: the channel is gone\" channel=%lld",
		         (long long)channel_id);
		return 0;
	}
	rc = member_count(a, &ch, now, e);
	if (!rc && ch.username[0])
		rc = collect_page(a, &ch, now, e);
	if (!rc) {
		struct keep_arg x = {&ch, clock_app_ms()};

		rc = store_tx(a->store, keep_tx, &x, e);
	}
	if (rc)
		return rc;
	if (collect_hook) {
		struct err he = {0};

		if (collect_hook(a, channel_id, &he))
			log_warn("msg=\"after collection\" channel=%lld error=\"%s\"",
			         (long long)channel_id, he.msg);
	}
	*next_at = now + ch.every_ms;
	return 0;
}

int collect_tick(struct app *a, struct err *e)
{
	int64_t now = clock_app_ms();
	struct store_val arg[] = {SV_INT(now), SV_INT(clock_now_ms())};

	return store_exec(a->store,
	                  "INSERT INTO jobs (kind, ref, chat_key, order_at, run_at, created_at) "
	                  "SELECT 'collect', c.id, 0, $1, $1, $2 FROM channels c WHERE "
	                  "c.removed_at IS NULL AND NOT EXISTS (SELECT 1 FROM jobs j WHERE "
	                  "j.kind = 'collect' AND j.ref = c.id) ON CONFLICT DO NOTHING",
	                  arg, 2, NULL, e);
}
