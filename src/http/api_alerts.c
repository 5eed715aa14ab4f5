/*
 * api_alerts: the REST API of alerts (alerts/alerts.h).
 *
 * A rule is read whole before anything is stored: a member that is not one
 * of the request's, a wrong type or a value out of bounds is 422
 * "invalid-field" naming the field ("channel_id", "kind", "params.hours"),
 * and nothing changes. A rule or channel that is not the signed-in user's
 * is 404, as if it did not exist.
 */
#include "http/api_alerts.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "app.h"
#include "channels/channels.h"
#include "http/api.h"
#include "http/server.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/str.h"
#include "users/users.h"

#define EVENTS_DEFAULT 50

static struct store *store_of(struct http_req *r)
{
	return ((struct app *)r->ctx)->store;
}

/* 422 invalid-field naming field; returns -ERR_INVALID. */
static int invalid(struct http_req *r, const char *field, const char *detail)
{
	http_problem(r, 422, "invalid-field", "Unprocessable Content",
	             json_pack("{s:s}", "field", field), "%s", detail);
	return -ERR_INVALID;
}

static int refused(struct http_req *r, int rc, const struct alert_fault *f)
{
	if (f->field[0] && (rc == -ERR_INVALID || rc == -ERR_NOT_FOUND))
		return invalid(r, f->field, f->err.msg);
	if (rc == -ERR_TOO_BIG)
		return http_problem(r, 409, "alert-limit", "Conflict",
		                    json_pack("{s:i}", "limit", ALERTS_RULES_MAX), "%s",
		                    f->err.msg);
	return http_reply_err(r, rc, &f->err);
}

static int reply_rule(struct http_req *r, int status, int64_t id)
{
	struct alert_rule rule;
	struct err e = {0};
	int rc = alerts_get(store_of(r), api_user(r)->id, id, &rule, &e);

	if (rc)
		return http_reply_err(r, rc, &e);
	return http_reply_json(r, status, alerts_rule_json(&rule, clock_app_ms()));
}

int api_alerts_list(struct http_req *r)
{
	struct alert_rule *rules = NULL;
	struct err e = {0};
	int64_t now = clock_app_ms();
	json_t *list;
	size_t n = 0;
	int rc = alerts_list(store_of(r), api_user(r)->id, &rules, &n, &e);

	if (rc)
		return http_reply_err(r, rc, &e);
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, alerts_rule_json(&rules[i], now));
	free(rules);
	return http_reply_json(r, 200, json_pack("{s:o}", "alerts", list));
}

int api_alerts_create(struct http_req *r)
{
	struct alert_fault f = {0};
	struct alert_params p;
	enum alert_kind kind;
	const json_t *ch, *k, *params;
	const char *key;
	json_t *body, *v;
	int64_t id = 0;
	char loc[64];
	int rc = 0;

	if (api_json_object_body(r, &body))
		return 0;
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "channel_id") != 0 && strcmp(key, "kind") != 0 &&
		    strcmp(key, "params") != 0) {
			char detail[96];

			snprintf(detail, sizeof(detail), "%.48s: not a field of an alert", key);
			rc = invalid(r, key, detail);
			goto out;
		}
	}
	ch = json_object_get(body, "channel_id");
	k = json_object_get(body, "kind");
	params = json_object_get(body, "params");
	if (!json_is_integer(ch) || json_integer_value(ch) <= 0) {
		rc = invalid(r, "channel_id", "channel_id: the id of one of your channels");
		goto out;
	}
	if (alerts_kind_parse(json_string_value(k), &kind)) {
		rc = invalid(r, "kind", "kind: one of spike, quiet, growth, milestone, delivery");
		goto out;
	}
	alerts_params_default(kind, &p);
	if (params && json_is_null(params))
		params = NULL;
	rc = alerts_params_read(kind, params, &p, &f);
	if (!rc)
		rc = alerts_create(store_of(r), api_user(r)->id, json_integer_value(ch), kind, &p,
		                   clock_app_ms(), &id, &f);
	if (rc) {
		refused(r, rc, &f);
		goto out;
	}
	log_info("msg=\"alert rule added\" id=%s user=%lld rule=%lld kind=%s", r->id,
	         (long long)api_user(r)->id, (long long)id, alerts_kind_name(kind));
	snprintf(loc, sizeof(loc), "/api/v1/alerts/%lld", (long long)id);
	http_header(r, MHD_HTTP_HEADER_LOCATION, loc);
out:
	json_decref(body);
	if (r->responded)
		return 0;
	return reply_rule(r, 201, id);
}

int api_alerts_update(struct http_req *r)
{
	struct alert_fault f = {0};
	struct alert_rule rule;
	struct alert_params p;
	const json_t *mute, *params;
	const char *key;
	json_t *body = NULL, *v;
	int64_t id, until = 0, now = clock_app_ms();
	int rc;

	if (api_path_id(r, "alert", &id))
		return 0;
	rc = alerts_get(store_of(r), api_user(r)->id, id, &rule, &f.err);
	if (rc)
		return http_reply_err(r, rc, &f.err);
	if (api_json_object_body(r, &body))
		return 0;
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "muted_until") != 0 && strcmp(key, "params") != 0) {
			char detail[96];

			snprintf(detail, sizeof(detail), "%.48s: not a field that can be changed",
			         key);
			rc = invalid(r, key, detail);
			goto out;
		}
	}
	mute = json_object_get(body, "muted_until");
	params = json_object_get(body, "params");
	if (mute && !json_is_null(mute)) {
		if (!json_is_integer(mute) || json_integer_value(mute) < 0 ||
		    json_integer_value(mute) > now + ALERTS_MUTE_MAX_MS) {
			rc = invalid(
			    r, "muted_until",
			    "muted_until: null (unmuted), or an instant in Unix ms at most a "
			    "year ahead");
			goto out;
		}
		until = json_integer_value(mute);
	}
	p = rule.p;
	if (params) {
		rc = alerts_params_read(rule.kind, params, &p, &f);
		if (rc) {
			refused(r, rc, &f);
			goto out;
		}
	}
	rc = alerts_update(store_of(r), api_user(r)->id, id, params ? &p : NULL,
	                   mute ? &until : NULL, &f);
	if (rc)
		refused(r, rc, &f);
out:
	json_decref(body);
	if (r->responded)
		return 0;
	return reply_rule(r, 200, id);
}

int api_alerts_delete(struct http_req *r)
{
	struct err e = {0};
	int64_t id;
	int rc;

	if (api_path_id(r, "alert", &id))
		return 0;
	rc = alerts_remove(store_of(r), api_user(r)->id, id, clock_app_ms(), &e);
	if (rc)
		return http_reply_err(r, rc, &e);
	return http_reply(r, 204, "application/json", "", 0);
}

/* Query parameter name as an integer in [min, max] (def when absent);
 * answers 400 invalid-query and returns -ERR_INVALID otherwise. */
static int query_int(struct http_req *r, const char *name, int64_t min, int64_t max, int64_t def,
                     int64_t *out)
{
	const char *v = http_req_query(r, name);

	*out = def;
	if (!v || !str_to_i64(str_c(v), min, max, out))
		return 0;
	http_problem(r, 400, "invalid-query", "Bad Request", json_pack("{s:s}", "parameter", name),
	             "%s: an integer from %lld to %lld", name, (long long)min, (long long)max);
	return -ERR_INVALID;
}

int api_alerts_events(struct http_req *r)
{
	const struct user *u = api_user(r);
	struct err e = {0};
	struct channel ch;
	json_t *list = NULL;
	int64_t channel_id, limit;
	int rc;

	if (query_int(r, "channel_id", 1, INT64_MAX, 0, &channel_id) ||
	    query_int(r, "limit", 1, ALERTS_EVENTS_MAX, EVENTS_DEFAULT, &limit))
		return 0;
	if (channel_id) {
		rc = channels_get(store_of(r), u->id, channel_id, &ch, &e);
		if (rc)
			return http_reply_err(r, rc, &e);
	}
	rc = alerts_events_json(store_of(r), u->id, channel_id, (int)limit, &list, &e);
	if (rc)
		return http_reply_err(r, rc, &e);
	return http_reply_json(r, 200, json_pack("{s:o}", "events", list));
}
