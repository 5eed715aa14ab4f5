/*
 * api_posts: the REST API of posts and their deliveries, and the test clock.
 *
 * Each handler reads the request, calls posts/posts.h at the product clock's
 * time (clock_app_ms) and answers with what posts_get, posts_deliveries or
 * posts_delivery render, or with a problem: an input posts refuses is 422
 * "invalid-field" naming the field and a stable code (the same words the bot
 * translates), the plan's monthly limit 403 "plan-limit", a post that can no
 * longer change that way 409 "post-not-editable".
 *
 * POST /api/v1/posts takes an Idempotency-Key. posts_create records the key
 * with a SHA-256 of the raw body in the post's own transaction, so two
 * requests racing with one key make one post; the answer's bytes are
 * recorded before they are sent, and a replay answers exactly them.
 */
#include "http/api_posts.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http/api.h"
#include "http/server.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/str.h"
#include "posts/posts.h"
#include "users/users.h"

#define IDEM_HEADER        "Idempotency-Key"
#define REPLAYED_HEADER    "Idempotent-Replayed"
#define LIST_LIMIT_DEFAULT 20
#define LIST_LIMIT_MAX     100
#define ANSWER_MAX         (16u << 20)
#define TEST_CLOCK_MAX_MS  (10LL * 366 * 24 * 3600 * 1000) /* ten years */

static struct store *store_of(struct http_req *r)
{
	return ((struct app *)r->ctx)->store;
}

/* The field and code of a fault, those that are set, as problem members. */
static json_t *fault_members(const struct post_fault *f)
{
	json_t *o = json_object();

	if (f->field[0])
		json_object_set_new(o, "field", json_string(f->field));
	if (f->code[0])
		json_object_set_new(o, "code", json_string(f->code));
	return o;
}

/* 403 plan-limit, with the plan's posts per month and how many are due in
 * the month containing at_ms when posts_quota can tell. */
static int plan_limit(struct http_req *r, const struct post_fault *f, int64_t at_ms)
{
	const struct user *u = api_user(r);
	json_t *m = json_pack("{s:s, s:s}", "plan", u->plan, "code", f->code);
	int64_t used = 0, limit = 0;
	struct err e = {0};

	if (!posts_quota(store_of(r), u, at_ms, &used, &limit, &e)) {
		json_object_set_new(m, "limit", json_integer(limit));
		json_object_set_new(m, "used", json_integer(used));
	} else {
		log_warn("msg=\"posts quota unknown\" id=%s err=\"%s\"", r->id, e.msg);
	}
	return http_problem(r, 403, "plan-limit", "Forbidden", m,
	                    "%s; wait for next month or choose a larger plan", f->err.msg);
}

/*
 * Answer a call of posts_create or posts_update that failed with rc and f:
 * the plan's limit (counted in the month of at_ms), a post that cannot
 * change so (409), an input refused (422 naming the field), else as
 * http_reply_err.
 */
static int refused(struct http_req *r, int rc, const struct post_fault *f, int64_t at_ms)
{
	if (rc == -ERR_TOO_BIG && strcmp(f->code, "plan_limit") == 0)
		return plan_limit(r, f, at_ms);
	if (rc == -ERR_CONFLICT)
		return http_problem(r, 409, "post-not-editable", "Conflict", fault_members(f), "%s",
		                    f->err.msg[0] ? f->err.msg : "the post cannot change");
	if ((rc == -ERR_INVALID || rc == -ERR_NOT_FOUND || rc == -ERR_TOO_BIG) && f->field[0])
		return http_problem(r, 422, "invalid-field", "Unprocessable Content",
		                    fault_members(f), "%s", f->err.msg);
	return http_reply_err(r, rc, &f->err);
}

/* An Idempotency-Key: 1..POST_IDEM_KEY_MAX printable ASCII characters. */
static bool idem_key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > POST_IDEM_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (k[i] < 0x20 || k[i] > 0x7e)
			return false;
	return true;
}

/* Answer with the JSON text of post id as posts_get renders it, recorded
 * first as the answer of Idempotency-Key key when key is not NULL. */
static int reply_post(struct http_req *r, int status, int64_t id, const char *key)
{
	const struct user *u = api_user(r);
	struct err e = {0};
	json_t *post = NULL;
	struct buf b;
	int rc;

	rc = posts_get(store_of(r), u->id, id, &post, &e);
	if (rc)
		return http_reply_err(r, rc, &e);
	buf_init(&b, ANSWER_MAX);
	rc = json_to_buf(post, &b);
	json_decref(post);
	if (rc) {
		buf_release(&b);
		return http_reply_err(r, -ERR_INTERNAL, NULL);
	}
	/* Without the record a replay renders the post again: same post, fresher counts. */
	if (key && posts_idem_record(store_of(r), u->id, key, status, b.p, &e))
		log_warn("msg=\"idempotent answer not recorded\" id=%s post=%lld err=\"%s\"", r->id,
		         (long long)id, e.msg);
	rc = http_reply(r, status, "application/json", b.p, b.len);
	buf_release(&b);
	return rc;
}

static void location(struct http_req *r, int64_t id)
{
	char loc[64];

	snprintf(loc, sizeof(loc), "/api/v1/posts/%lld", (long long)id);
	http_header(r, MHD_HTTP_HEADER_LOCATION, loc);
}

/* A POST repeated with its Idempotency-Key and body: the first answer again,
 * byte for byte, or the post rendered anew while that one is not recorded. */
static int replay(struct http_req *r, const char *key, int64_t id)
{
	struct err e = {0};
	char *body = NULL;
	int status = 0, rc;

	rc = posts_idem_answer(store_of(r), api_user(r)->id, key, &status, &body, &e);
	if (rc && rc != -ERR_NOT_FOUND)
		return http_reply_err(r, rc, &e);
	http_header(r, REPLAYED_HEADER, "true");
	if (rc || status == 201)
		location(r, id);
	if (rc)
		return reply_post(r, 201, id, NULL);
	rc = http_reply(r, status, "application/json", body, strlen(body));
	free(body);
	return rc;
}

/* The first occurrence of the post spec in, for the month a plan limit is
 * counted in; now_ms when the spec does not say. */
static int64_t first_at(const json_t *in, const struct user *u, int64_t now_ms)
{
	struct post_when w = {0};
	struct post_fault f = {0};
	json_t *canon = NULL;

	if (posts_validate(in, u->time_zone, now_ms, &canon, &w, &f))
		return now_ms;
	json_decref(canon);
	return w.first_at ? w.first_at : now_ms;
}

int api_posts_create(struct http_req *r)
{
	const struct user *u = api_user(r);
	const char *key = http_req_header(r, IDEM_HEADER);
	char hash[CRYPTO_SHA256_HEX];
	struct post_fault f = {0};
	struct post_idem idem;
	int64_t now = clock_app_ms(), id = 0;
	json_t *body;
	int rc;

	if (key && !idem_key_ok(key))
		return http_problem(r, 400, "invalid-idempotency-key", "Bad Request", NULL,
		                    IDEM_HEADER ": 1 to %d printable ASCII characters",
		                    POST_IDEM_KEY_MAX);
	if (api_json_object_body(r, &body))
		return 0;
	crypto_sha256_hex(r->body.p, r->body.len, hash);
	idem = (struct post_idem){.key = key, .hash = hash};
	rc = posts_create(store_of(r), u, body, now, key ? &idem : NULL, &id, &f);
	if (rc == -ERR_TOO_BIG)
		now = first_at(body, u, now);
	json_decref(body);
	if (rc == -ERR_EXISTS && key)
		return replay(r, key, id);
	if (rc == -ERR_CONFLICT)
		return http_problem(r, 409, "idempotency-key-reused", "Conflict", NULL,
		                    "this " IDEM_HEADER " was used with another body");
	if (rc)
		return refused(r, rc, &f, now);
	location(r, id);
	return reply_post(r, 201, id, key);
}

static int bad_query(struct http_req *r, const char *name, const char *expect)
{
	return http_problem(r, 400, "invalid-query", "Bad Request",
	                    json_pack("{s:s}", "parameter", name), "%s: %s", name, expect);
}

/* The query parameter name as an integer within [min, max], def when
 * absent; answers 400 and returns non-zero when it is something else. */
static int query_int(struct http_req *r, const char *name, int64_t min, int64_t max, int64_t def,
                     int64_t *out)
{
	const char *v = http_req_query(r, name);
	char expect[64];

	*out = def;
	if (!v || !str_to_i64(str_c(v), min, max, out))
		return 0;
	snprintf(expect, sizeof(expect), "an integer from %lld to %lld", (long long)min,
	         (long long)max);
	bad_query(r, name, expect);
	return -ERR_INVALID;
}

int api_posts_list(struct http_req *r)
{
	static const char *const statuses[] = {"draft", "scheduled", "done", "canceled"};
	const char *status = http_req_query(r, "status");
	int64_t before, limit, next = 0;
	json_t *list = NULL, *nextv = json_null();
	struct err e = {0};
	bool known = !status;
	int rc;

	for (size_t i = 0; status && i < sizeof(statuses) / sizeof(statuses[0]); i++)
		known |= strcmp(status, statuses[i]) == 0;
	if (!known)
		return bad_query(r, "status", "one of draft, scheduled, done, canceled");
	if (query_int(r, "before", 1, INT64_MAX, 0, &before) ||
	    query_int(r, "limit", 1, LIST_LIMIT_MAX, LIST_LIMIT_DEFAULT, &limit))
		return 0;
	rc = posts_list(store_of(r), api_user(r)->id, status, before, (int)limit, &list, &next, &e);
	if (rc)
		return http_reply_err(r, rc, &e);
	if (next) {
		char url[160];

		snprintf(url, sizeof(url), "/api/v1/posts?before=%lld&limit=%lld%s%s",
		         (long long)next, (long long)limit, status ? "&status=" : "",
		         status ? status : "");
		nextv = json_string(url);
	}
	return http_reply_json(r, 200, json_pack("{s:o, s:o}", "posts", list, "next", nextv));
}

int api_posts_get(struct http_req *r)
{
	int64_t id;

	if (api_path_id(r, "post", &id))
		return 0;
	return reply_post(r, 200, id, NULL);
}

int api_posts_update(struct http_req *r)
{
	struct post_fault f = {0};
	int64_t id, now = clock_app_ms();
	json_t *patch;
	int rc;

	if (api_path_id(r, "post", &id) || api_json_object_body(r, &patch))
		return 0;
	rc = posts_update(store_of(r), api_user(r), id, patch, now, &f);
	json_decref(patch);
	if (rc)
		return refused(r, rc, &f, now);
	return reply_post(r, 200, id, NULL);
}

int api_posts_cancel(struct http_req *r)
{
	struct err e = {0};
	int64_t id;
	int rc;

	if (api_path_id(r, "post", &id))
		return 0;
	rc = posts_cancel(store_of(r), api_user(r)->id, id, clock_app_ms(), &e);
	if (rc)
		return http_reply_err(r, rc, &e);
	return reply_post(r, 200, id, NULL);
}

int api_posts_deliveries(struct http_req *r)
{
	struct err e = {0};
	json_t *list = NULL;
	int64_t id;
	int rc;

	if (api_path_id(r, "post", &id))
		return 0;
	rc = posts_deliveries(store_of(r), api_user(r)->id, id, &list, &e);
	if (rc)
		return http_reply_err(r, rc, &e);
	return http_reply_json(r, 200, json_pack("{s:o}", "deliveries", list));
}

static int reply_delivery(struct http_req *r, int64_t id)
{
	struct err e = {0};
	json_t *d = NULL;
	int rc;

	rc = posts_delivery(store_of(r), api_user(r)->id, id, &d, &e);
	if (rc)
		return http_reply_err(r, rc, &e);
	return http_reply_json(r, 200, d);
}

int api_delivery_get(struct http_req *r)
{
	int64_t id;

	if (api_path_id(r, "delivery", &id))
		return 0;
	return reply_delivery(r, id);
}

/* Answer 422 invalid-field naming member name; returns -ERR_INVALID. */
static int invalid_member(struct http_req *r, const char *name, const char *expect)
{
	http_problem(r, 422, "invalid-field", "Unprocessable Content",
	             json_pack("{s:s}", "field", name), "%s: %s", name, expect);
	return -ERR_INVALID;
}

/*
 * The one member name of a body that must have only it, into *v (borrowed).
 * Answers 422 invalid-field and returns non-zero for another member or
 * without it.
 */
static int only_member(struct http_req *r, json_t *body, const char *name, const char *expect,
                       json_t **v)
{
	const char *key;
	json_t *m;

	*v = NULL;
	json_object_foreach(body, key, m)
	{
		if (strcmp(key, name) != 0)
			return invalid_member(r, key, "not a field here");
	}
	*v = json_object_get(body, name);
	return *v ? 0 : invalid_member(r, name, expect);
}

int api_delivery_resolve(struct http_req *r)
{
	static const char expect[] = "\"resend\" or \"published\"";
	struct err e = {0};
	const char *action;
	json_t *body, *v = NULL;
	int64_t id;
	int rc;

	if (api_path_id(r, "delivery", &id) || api_json_object_body(r, &body))
		return 0;
	rc = only_member(r, body, "action", expect, &v);
	action = json_string_value(v);
	if (!rc && (!action || (strcmp(action, "resend") != 0 && strcmp(action, "published") != 0)))
		rc = invalid_member(r, "action", expect);
	if (!rc)
		rc = posts_resolve(store_of(r), api_user(r)->id, id, action[0] == 'r',
		                   clock_app_ms(), &e);
	json_decref(body);
	if (r->responded)
		return 0;
	if (rc == -ERR_CONFLICT)
		return http_problem(r, 409, "delivery-not-uncertain", "Conflict", NULL,
		                    "the delivery is not uncertain (any more): %s", e.msg);
	if (rc)
		return http_reply_err(r, rc, &e);
	return reply_delivery(r, id);
}

/* Whether the test clock is on; answers 404 as an unknown route when not. */
static bool test_clock_on(struct http_req *r)
{
	if (app_int(r->ctx, SET_TEST_CLOCK))
		return true;
	http_problem(r, 404, "not-found", "Not Found", NULL, "no route for %s", r->method);
	return false;
}

static int reply_clock(struct http_req *r)
{
	return http_reply_json(r, 200,
	                       json_pack("{s:I, s:I}", "now_ms", (json_int_t)clock_app_ms(),
	                                 "offset_ms", (json_int_t)clock_app_offset()));
}

int api_test_clock_get(struct http_req *r)
{
	if (!test_clock_on(r))
		return 0;
	return reply_clock(r);
}

int api_test_clock_shift(struct http_req *r)
{
	static const char expect[] = "an integer of milliseconds from 0 to ten years";
	json_t *body, *v;
	int rc;

	if (!test_clock_on(r) || api_json_object_body(r, &body))
		return 0;
	rc = only_member(r, body, "advance_ms", expect, &v);
	if (!rc && (!json_is_integer(v) || json_integer_value(v) < 0 ||
	            json_integer_value(v) > TEST_CLOCK_MAX_MS))
		rc = invalid_member(r, "advance_ms", expect);
	if (!rc) {
		log_info("msg=\"test clock moved\" id=%s advance_ms=%lld", r->id,
		         (long long)json_integer_value(v));
		clock_app_shift(json_integer_value(v));
	}
	json_decref(body);
	if (rc)
		return 0;
	return reply_clock(r);
}
