/*
 * collect/page: the public channel page (HERALD_TME_URL/s/<username>,
 * protocols.md A.12) into channel_posts and post_snapshots, page after page
 * back to the posts of the last PAGE_SPAN, each page in its own transaction.
 * An unreachable page, a channel without a public page and changed markup
 * fail the source alone, with the reason; what earlier pages stored stays
 * (each page is valid on its own).
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "collect/collect.h"
#include "collect/collect_impl.h"
#include "collect/tme.h"
#include "collect/validate.h"
#include "lib/hc.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/store.h"

#define HOUR_MS       (3600LL * 1000)
#define PAGE_SPAN     (31LL * 24 * HOUR_MS) /* ERR looks at the last 30 days */
#define PAGE_MAX      12                    /* pages per collection, ~20 posts each */
#define SNAPSHOT_SPAN (8LL * 24 * HOUR_MS)
#define REACH_GAP     (12LL * HOUR_MS) /* the widest gap reach is read across */

static const char *media_kind(enum tme_media m)
{
	static const char *const kinds[] = {
	    [TME_MEDIA_TEXT] = "text",   [TME_MEDIA_PHOTO] = "photo",
	    [TME_MEDIA_VIDEO] = "video", [TME_MEDIA_DOCUMENT] = "document",
	    [TME_MEDIA_POLL] = "poll",   [TME_MEDIA_OTHER] = "other",
	};

	return (size_t)m < ARRAY_SIZE(kinds) && kinds[m] ? kinds[m] : "other";
}

/*
 * Views at posted + span, read off the post's snapshots (with 0 views at
 * the moment it was posted): linear between the readings on either side
 * when they are at most REACH_GAP apart; -1 when unknown.
 */
int64_t collect_reach(const int64_t *at, const int64_t *views, size_t n, int64_t posted,
                      int64_t span)
{
	int64_t t = posted + span, t0 = posted, v0 = 0;

	for (size_t i = 0; i < n; i++) {
		if (at[i] <= t) {
			t0 = at[i];
			v0 = views[i];
			continue;
		}
		if (at[i] - t0 > REACH_GAP)
			return -1;
		if (at[i] == t0)
			return views[i];
		return v0 + (views[i] - v0) * (t - t0) / (at[i] - t0);
	}
	return t0 == t ? v0 : -1;
}

/* Fill views_24h and views_48h of a post once its snapshots allow. */
static int reach(struct store_conn *c, int64_t channel_id, int64_t mid, int64_t posted,
                 struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(channel_id), SV_INT(mid)};
	int64_t at[64], views[64], h24, h48;
	size_t n = 0;
	int rc = store_query(c,
	                     "SELECT measured_at, views FROM post_snapshots WHERE channel_id = $1 "
	                     "AND message_id = $2 ORDER BY measured_at LIMIT 64",
	                     a, 2, &r, e);

	if (rc)
		return rc;
	for (; n < store_res_rows(r); n++) {
		at[n] = store_res_int(r, n, 0);
		views[n] = store_res_int(r, n, 1);
	}
	store_res_free(r);
	h24 = collect_reach(at, views, n, posted, 24 * HOUR_MS);
	h48 = collect_reach(at, views, n, posted, 48 * HOUR_MS);
	if (h24 < 0 && h48 < 0)
		return 0;
	{
		struct store_val b[] = {SV_INT(channel_id), SV_INT(mid),
		                        h24 >= 0 ? SV_INT(h24) : SV_NULL,
		                        h48 >= 0 ? SV_INT(h48) : SV_NULL};

		return store_query(c,
		                   "UPDATE channel_posts SET views_24h = coalesce(views_24h, $3), "
		                   "views_48h = coalesce(views_48h, $4) WHERE channel_id = $1 AND "
		                   "message_id = $2",
		                   b, ARRAY_SIZE(b), NULL, e);
	}
}

struct page_arg {
	const struct collect_chan *ch;
	const struct tme_page *p;
	int64_t now;
	bool first;
	int stored, rejected, flagged;
	int64_t gained; /* views the posts gained since the last reading */
	bool approx;
};

/* One post of the page: checked, then stored. */
static int post_tx(struct store_conn *c, struct page_arg *x, const struct tme_post *p,
                   struct err *e)
{
	struct store_res *r = NULL;
	struct store_val key[] = {SV_INT(x->ch->id), SV_INT(p->id)};
	struct cv_reading stored = {0}, next = {p->views.value, p->views.approx};
	bool have = false, from_updates = false;
	enum cv_verdict v = CV_DUP;
	const char *why = NULL;
	int rc;

	if (p->bad)
		x->rejected++; /* a field the page shows could not be read: it stays unknown */
	if (cv_count(0, p->date_ms, x->now, &why) != CV_OK) {
		x->rejected++;
		return 0;
	}
	rc = store_query(c,
	                 "SELECT views, views_approx, reactions_source FROM channel_posts WHERE "
	                 "channel_id = $1 AND message_id = $2",
	                 key, 2, &r, e);
	if (rc)
		return rc;
	if (store_res_rows(r)) {
		have = !store_res_null(r, 0, 0);
		stored = (struct cv_reading){store_res_int(r, 0, 0), store_res_int(r, 0, 1) != 0};
		from_updates = strcmp(store_res_text(r, 0, 2), COLLECT_SRC_UPDATES) == 0;
	}
	store_res_free(r);
	if (p->views.known) {
		v = cv_views(have, stored, next, &why);
		if (v == CV_FLAG || v == CV_REJECT) {
			log_info(
			    "msg=\"page reading not stored\" channel=%lld post=%lld views=%lld "
			    "stored=%lld verdict=%s reason=\"%s\"",
			    (long long)x->ch->id, (long long)p->id, (long long)next.value,
			    (long long)stored.value, cv_verdict_name(v), why);
			if (v == CV_FLAG)
				x->flagged++;
			else
				x->rejected++;
		}
	}
	{
		bool put = v == CV_OK;
		bool reactions = p->reactions.known && !from_updates;
		struct store_val a[] = {
		    SV_INT(x->ch->id),
		    SV_INT(p->id),
		    SV_INT(p->date_ms),
		    SV_TEXT(media_kind(p->media)),
		    put ? SV_INT(next.value) : SV_NULL,
		    SV_INT(put && next.approx),
		    SV_INT(x->now),
		    reactions ? SV_INT(p->reactions.value + p->paid.value) : SV_NULL,
		    p->forwards.known ? SV_INT(p->forwards.value) : SV_NULL,
		    SV_INT(v == CV_FLAG),
		    SV_INT(put),
		    p->edited ? SV_INT(x->now) : SV_NULL,
		};

		rc = store_query(
		    c,
		    "INSERT INTO channel_posts (channel_id, message_id, posted_at, kind, views, "
		    "views_approx, views_at, reactions, reactions_source, forwards, edited_at, "
		    "source, seen_at, flags) VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $11 = 1 "
		    "THEN $7 END, $8, CASE WHEN CAST($8 AS BIGINT) IS NULL THEN '' ELSE 'page' "
		    "END, $9, $12, "
		    "'page', $7, $10) ON CONFLICT (channel_id, message_id) DO UPDATE SET views = "
		    "CASE WHEN $11 = 1 THEN excluded.views ELSE channel_posts.views END, "
		    "views_approx = CASE WHEN $11 = 1 THEN excluded.views_approx ELSE "
		    "channel_posts.views_approx END, views_at = CASE WHEN $11 = 1 THEN $7 ELSE "
		    "channel_posts.views_at END, reactions = CASE WHEN CAST($8 AS BIGINT) IS NULL "
		    "OR "
		    "channel_posts.reactions_source = 'updates' THEN channel_posts.reactions "
		    "ELSE $8 END, reactions_source = CASE WHEN CAST($8 AS BIGINT) IS NULL OR "
		    "channel_posts.reactions_source = 'updates' THEN "
		    "channel_posts.reactions_source ELSE 'page' END, forwards = "
		    "coalesce(excluded.forwards, channel_posts.forwards), edited_at = "
		    "coalesce(channel_posts.edited_at, excluded.edited_at), seen_at = $7, flags "
		    "= channel_posts.flags + $10",
		    a, ARRAY_SIZE(a), NULL, e);
	}
	if (rc)
		return rc;
	if (v == CV_OK) {
		x->stored++;
		/* the channel's view velocity: what its posts gained; a young post
		 * read for the first time counts whole */
		if (have && next.value > stored.value)
			x->gained += next.value - stored.value;
		else if (!have && x->now - p->date_ms <= SNAPSHOT_SPAN)
			x->gained += next.value;
		x->approx |= next.approx;
	}
	/* a young post's views over time: reach at 24 h and 48 h */
	if (p->views.known && v != CV_FLAG && v != CV_REJECT &&
	    x->now - p->date_ms <= SNAPSHOT_SPAN) {
		struct store_val a[] = {SV_INT(x->ch->id), SV_INT(p->id), SV_INT(x->now),
		                        SV_INT(v == CV_OK ? next.value : stored.value),
		                        SV_INT(v == CV_OK ? next.approx : stored.approx)};

		rc =
		    store_query(c,
		                "INSERT INTO post_snapshots (channel_id, message_id, measured_at, "
		                "views, approx) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
		                a, ARRAY_SIZE(a), NULL, e);
		if (!rc && x->now - p->date_ms >= 24 * HOUR_MS)
			rc = reach(c, x->ch->id, p->id, p->date_ms, e);
	}
	return rc;
}

static int page_tx(struct store_conn *c, void *arg, struct err *e)
{
	struct page_arg *x = arg;
	int rc = 0;

	x->stored = x->rejected = x->flagged = 0;
	x->gained = 0;
	x->approx = false;
	/* the page's subscriber count, when the Bot API's is not there */
	if (x->first && x->p->subscribers.known) {
		struct store_val a[] = {SV_INT(x->ch->id), SV_INT(x->now),
		                        SV_INT(x->p->subscribers.value),
		                        SV_INT(x->p->subscribers.approx)};

		rc = store_query(
		    c,
		    "INSERT INTO metric_points (channel_id, metric, source, measured_at, "
		    "value, approx) VALUES ($1, 'members', 'page', $2, $3, $4) ON "
		    "CONFLICT (channel_id, metric, source, measured_at) DO NOTHING",
		    a, ARRAY_SIZE(a), NULL, e);
	}
	for (size_t i = 0; !rc && i < x->p->nposts; i++)
		rc = post_tx(c, x, &x->p->posts[i], e);
	if (!rc)
		rc = collect_count(c, x->ch->id, COLLECT_SRC_PAGE, x->rejected, x->flagged, e);
	if (!rc)
		rc = collect_source_ok(c, x->ch->id, COLLECT_SRC_PAGE, x->now, e);
	return rc;
}

static bool username_ok(const char *u)
{
	size_t n = strlen(u);

	if (n < 1 || n > TME_USERNAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((u[i] >= 'a' && u[i] <= 'z') || (u[i] >= 'A' && u[i] <= 'Z') ||
		      (u[i] >= '0' && u[i] <= '9') || u[i] == '_'))
			return false;
	return true;
}

/* Fetch one page: 0 and *html, or the reason in why (the source failed). */
static int fetch(const char *base, const char *username, int64_t before, struct hc_resp *rs,
                 char *why, size_t n)
{
	char url[512];
	size_t len = strlen(base);
	struct err e = {0};
	int rc;

	while (len && base[len - 1] == '/')
		len--;
	if (before > 0)
		snprintf(url, sizeof(url), "%.*s/s/%s?before=%lld", (int)len, base, username,
		         (long long)before);
	else
		snprintf(url, sizeof(url), "%.*s/s/%s", (int)len, base, username);
	rc = hc_do(&(struct hc_req){.method = "GET",
	                            .url = url,
	                            .timeout_ms = 20000,
	                            .max_response = TME_PAGE_MAX,
	                            .headers = {"Accept-Language: en"}},
	           rs, &e);
	if (rc) {
		snprintf(why, n, "the page is unreachable: %.200s", e.msg);
		return rc;
	}
	if (rs->status != 200) {
		snprintf(why, n, "the page answered HTTP %ld", rs->status);
		return -ERR_UNAVAILABLE;
	}
	return 0;
}

int collect_page(struct app *a, const struct collect_chan *ch, int64_t now, struct err *e)
{
	const char *base = app_str(a, SET_TME_URL);
	int64_t before = 0, gained = 0;
	char why[320];
	bool approx = false;
	int rc = 0, stored = 0;

	if (!username_ok(ch->username)) {
		collect_source_failed(a, ch->id, COLLECT_SRC_PAGE,
		                      "the username cannot have a page", now);
		return 0;
	}
	for (int i = 0; i < PAGE_MAX; i++) {
		struct hc_resp rs = {0};
		struct tme_page p = {0};
		struct err pe = {0};
		struct page_arg x = {.ch = ch, .p = &p, .now = now, .first = i == 0};
		int64_t oldest;

		if (fetch(base, ch->username, before, &rs, why, sizeof(why))) {
			hc_resp_release(&rs);
			collect_source_failed(a, ch->id, COLLECT_SRC_PAGE, why, now);
			return 0;
		}
		rc = tme_page_parse(rs.body.p, rs.body.len, &p, &pe);
		hc_resp_release(&rs);
		if (rc) {
			snprintf(why, sizeof(why), "%s%.256s",
			         rc == -ERR_NOT_FOUND ? "no public page (a private channel?): "
			                              : "",
			         pe.msg);
			collect_source_failed(a, ch->id, COLLECT_SRC_PAGE, why, now);
			return 0;
		}
		rc = store_tx(a->store, page_tx, &x, e);
		oldest = p.nposts ? p.posts[0].date_ms : 0;
		before = p.before;
		stored += x.stored;
		gained += x.gained;
		approx |= x.approx;
		tme_page_release(&p);
		if (rc)
			return rc;
		if (!before || !oldest || oldest < now - PAGE_SPAN)
			break;
	}
	if (stored)
		collect_stored(COLLECT_SRC_PAGE, stored);
	{
		struct store_val v[] = {SV_INT(ch->id), SV_INT(now), SV_INT(gained),
		                        SV_INT(approx)};

		return store_exec(
		    a->store,
		    "INSERT INTO metric_points (channel_id, metric, source, measured_at, "
		    "value, approx) VALUES ($1, 'views_gained', 'page', $2, $3, $4) ON "
		    "CONFLICT (channel_id, metric, source, measured_at) DO NOTHING",
		    v, ARRAY_SIZE(v), NULL, e);
	}
}
