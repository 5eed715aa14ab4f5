/*
 * api_analytics: a channel's analytics over HTTP (api_analytics.h).
 *
 * The period is ?from and ?to: an instant (ISO-8601 with an offset, or Unix
 * ms) or a local date YYYY-MM-DD in the user's zone (to: that whole day);
 * the last 30 days by default. ?zone overrides the user's zone. The answer
 * is computed at the product clock's minute, so it and its ETag stay the
 * same within a minute while nothing new was collected.
 */
#include "http/api_analytics.h"

#include <stdio.h>
#include <string.h>

#include "analytics/analytics.h"
#include "app.h"
#include "collect/tme.h"
#include "http/api.h"
#include "http/router.h"
#include "http/server.h"
#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/str.h"
#include "lib/tz.h"
#include "sched/when.h"
#include "users/users.h"

#define DAY_MS    (24LL * 3600 * 1000)
#define MINUTE_MS (60LL * 1000)

static int bad_query(struct http_req *r, const char *name, const char *fmt, const char *arg)
{
	return http_problem(r, 400, "invalid-query", "Bad Request",
	                    json_pack("{s:s}", "parameter", name), fmt, name, arg);
}

/*
 * A bound of the period: Unix ms, an instant with an offset, or a local
 * date (its start; end_of_day: the next day's start). 1 when absent, 0
 * when read, -1 when malformed.
 */
static int bound(const char *v, const char *zone, bool end_of_day, int64_t *out)
{
	struct when_local lt = {0};
	struct err e = {0};
	int64_t y, m, d;

	if (!v)
		return 1;
	if (!str_to_i64(str_c(v), 0, INT64_MAX / 2, out))
		return 0;
	if (!tme_datetime(str_c(v), out))
		return 0;
	if (strlen(v) == 10 && v[4] == '-' && v[7] == '-' &&
	    !str_to_i64((struct str){v, 4}, 1900, 9999, &y) &&
	    !str_to_i64((struct str){v + 5, 2}, 1, 12, &m) &&
	    !str_to_i64((struct str){v + 8, 2}, 1, 31, &d)) {
		lt.year = (int)y;
		lt.month = (int)m;
		lt.day = (int)d;
		if (when_to_utc(zone, &lt, out, NULL, &e))
			return -1;
		if (end_of_day) {
			int64_t day = tz_day_from_civil(lt.year, lt.month, lt.day) + 1;

			tz_civil_from_day(day, &lt.year, &lt.month, &lt.day);
			if (when_to_utc(zone, &lt, out, NULL, &e))
				return -1;
		}
		return 0;
	}
	return -1;
}

int api_analytics(struct http_req *r)
{
	const struct user *u = api_user(r);
	struct app *a = r->ctx;
	struct str vs = router_param(&r->match, "view");
	const char *zone = http_req_query(r, "zone"), *top = http_req_query(r, "top");
	const char *inm = http_req_header(r, "If-None-Match");
	char view[16], etag[CRYPTO_SHA256_HEX + 2];
	struct analytics_query q = {0};
	struct analytics_data d;
	struct err e = {0};
	json_t *body = NULL;
	char *text;
	int64_t id, n = 0;
	int rc;

	if (api_path_id(r, "channel", &id))
		return 0;
	snprintf(view, sizeof(view), "%.*s", (int)(vs.len < 15 ? vs.len : 15), vs.p);
	if (!analytics_view_known(view) || vs.len > 15)
		return http_problem(r, 404, "not-found", "Not Found", NULL,
		                    "no such analytics view: overview, growth, posts, best-times "
		                    "or trending");
	if (!zone)
		zone = u->time_zone[0] ? u->time_zone : "UTC";
	else if (!tz_valid(zone))
		return bad_query(r, "zone", "%s: %s is not an IANA time zone", zone);
	q.view = view;
	q.zone = zone;
	/* the end of the current minute */
	q.now_ms = clock_app_ms() / MINUTE_MS * MINUTE_MS + MINUTE_MS - 1;
	q.to_ms = q.now_ms + 1;
	if ((rc = bound(http_req_query(r, "to"), zone, true, &q.to_ms)) < 0)
		return bad_query(r, "to", "%s: %s is not an instant or a date YYYY-MM-DD",
		                 http_req_query(r, "to"));
	q.from_ms = q.to_ms - 30 * DAY_MS;
	if ((rc = bound(http_req_query(r, "from"), zone, false, &q.from_ms)) < 0)
		return bad_query(r, "from", "%s: %s is not an instant or a date YYYY-MM-DD",
		                 http_req_query(r, "from"));
	if (q.to_ms <= q.from_ms)
		return bad_query(r, "to", "%s: %s is not after from", http_req_query(r, "to"));
	if (q.to_ms - q.from_ms > ANALYTICS_PERIOD_MAX_DAYS * DAY_MS)
		return bad_query(r, "from", "%s: %s: a period is at most 366 days",
		                 http_req_query(r, "from"));
	q.top = strcmp(view, "posts") == 0 ? 50 : 10;
	if (top && str_to_i64(str_c(top), 1, 200, &n))
		return bad_query(r, "top", "%s: %s is not an integer from 1 to 200", top);
	if (top)
		q.top = (size_t)n;
	rc = analytics_load(a, u->id, id, q.to_ms, &d, &e);
	if (rc)
		return http_reply_err(r, rc, &e);
	rc = analytics_view(&d, &q, &body, &e);
	analytics_data_release(&d);
	if (rc == -ERR_INVALID)
		return http_problem(r, 422, "invalid-field", "Unprocessable Entity", NULL, "%s",
		                    e.msg);
	if (rc)
		return http_reply_err(r, rc, &e);
	text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(body);
	if (!text)
		return http_problem(r, 500, "internal", "Internal Server Error", NULL, "%s",
		                    "the answer could not be written");
	etag[0] = '"';
	crypto_sha256_hex(text, strlen(text), etag + 1);
	etag[33] = '"';
	etag[34] = '\0';
	http_header(r, "ETag", etag);
	http_header(r, "Cache-Control", "private, no-cache");
	if (inm && (strcmp(inm, etag) == 0 || strcmp(inm, "*") == 0)) {
		free(text);
		return http_reply(r, 304, "application/json", "", 0);
	}
	rc = http_reply(r, 200, "application/json", text, strlen(text));
	free(text);
	return rc;
}
