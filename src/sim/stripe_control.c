/*
 * stripe_control: the Stripe simulator's control API under
 * /control/stripe/ (docs/sim-stripe.md is its contract), and its route
 * table. Requests and answers are JSON, as in control.c: a failure is
 * {"error": "..."} with 400 (bad input, or what Stripe would refuse, with
 * Stripe's error object beside it as "stripe_error"), 402 (a declined card,
 * with "card_error"), 404 (no such object). The calls that change the world
 * answer with the objects they touched and the events they emitted, and
 * take an optional "delivery" object that shapes how those events are sent
 * ({"twice", "reverse", "hold", "signature", "stale_s"}), over the global
 * one set with /control/stripe/config.
 */
#include "sim/stripe_impl.h"

#include <assert.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/sig.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "sim/stripe_form.h"

#define CONTROL_JSON_DEPTH 16

static int fail(struct http_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct http_req *r, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return http_reply_json(r, status, json_pack("{s:s}", "error", msg));
}

/* The body as a JSON object ({} when empty); NULL after answering 400. */
static json_t *body(struct http_req *r)
{
	json_t *v = NULL;
	struct err e = {0};

	if (!r->body.len)
		return json_object();
	if (r->body.len > STRIPE_FORM_MAX_BODY ||
	    json_parse(r->body.p, r->body.len, CONTROL_JSON_DEPTH, &v, &e) || !json_is_object(v)) {
		json_decref(v);
		fail(r, 400, "the body must be a JSON object (%s)", e.msg[0] ? e.msg : "not one");
		return NULL;
	}
	return v;
}

static int get_i64(const json_t *o, const char *key, int64_t *v)
{
	json_t *x = json_object_get(o, key);

	if (!x || json_is_null(x))
		return 1;
	if (json_is_integer(x)) {
		*v = json_integer_value(x);
		return 0;
	}
	if (json_is_string(x) && !str_to_i64(str_c(json_string_value(x)), INT64_MIN, INT64_MAX, v))
		return 0;
	return -1;
}

/* A boolean member: 1 absent, 0 read, -1 not a boolean. */
static int get_bool(const json_t *o, const char *key, bool *v)
{
	json_t *x = json_object_get(o, key);

	if (!x || json_is_null(x))
		return 1;
	if (!json_is_boolean(x))
		return -1;
	*v = json_is_true(x);
	return 0;
}

static const char *get_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Read delivery options from o (may be NULL) over d; false with msg. */
static bool read_dopts(const json_t *o, struct stripe_dopts *d, char *msg, size_t msgsz)
{
	const char *sig;
	int64_t stale;

	if (!o)
		return true;
	if (!json_is_object(o)) {
		snprintf(msg, msgsz, "delivery must be an object");
		return false;
	}
	if (get_bool(o, "twice", &d->twice) < 0 || get_bool(o, "reverse", &d->reverse) < 0 ||
	    get_bool(o, "hold", &d->hold) < 0) {
		snprintf(msg, msgsz, "delivery.twice, reverse and hold must be true or false");
		return false;
	}
	sig = get_str(o, "signature");
	if (json_object_get(o, "signature") && (!sig || stripe_sig_parse(sig, &d->sig))) {
		snprintf(msg, msgsz,
		         "delivery.signature must be valid, wrong_secret, stale or none");
		return false;
	}
	switch (get_i64(o, "stale_s", &stale)) {
	case 0:
		if (stale < 1 || stale > 100 * 86400) {
			snprintf(msg, msgsz, "delivery.stale_s must be 1-8640000 seconds");
			return false;
		}
		d->stale_s = stale;
		break;
	case 1:
		break;
	default:
		snprintf(msg, msgsz, "delivery.stale_s must be an integer");
		return false;
	}
	return true;
}

static json_t *dopts_json(const struct stripe_dopts *d)
{
	return json_pack("{s:b, s:b, s:b, s:s, s:I}", "twice", d->twice, "reverse", d->reverse,
	                 "hold", d->hold, "signature", stripe_sig_name(d->sig), "stale_s",
	                 (json_int_t)d->stale_s);
}

/*
 * Start a control call: body read, lock taken, cx ready with the global
 * delivery options overridden by body.delivery and the layout of
 * body.layout. NULL after answering 400 (nothing locked).
 */
static json_t *begin(struct http_req *r, struct stripe_cx *cx)
{
	struct sim_stripe *st = stripe_of(r);
	json_t *b = body(r);
	const char *layout;
	char msg[200];

	if (!b)
		return NULL;
	layout = get_str(b, "layout");
	if (json_object_get(b, "layout") &&
	    (!layout || (strcmp(layout, "new") && strcmp(layout, "old")))) {
		json_decref(b);
		fail(r, 400, "layout must be new or old");
		return NULL;
	}
	pthread_mutex_lock(&st->mu);
	stripe_cx_init(cx, st);
	cx->host = http_req_header(r, MHD_HTTP_HEADER_HOST);
	if (layout) {
		cx->layout = strcmp(layout, "old") ? STRIPE_LAYOUT_NEW : STRIPE_LAYOUT_OLD;
		cx->version =
		    cx->layout == STRIPE_LAYOUT_OLD ? STRIPE_OLD_VERSION : STRIPE_NEW_VERSION;
	}
	if (!read_dopts(json_object_get(b, "delivery"), &cx->d, msg, sizeof(msg))) {
		stripe_cx_release(cx);
		pthread_mutex_unlock(&st->mu);
		json_decref(b);
		fail(r, 400, "%s", msg);
		return NULL;
	}
	return b;
}

/* The events cx emitted, as [{id, type}]. */
static json_t *events_of(struct stripe_cx *cx)
{
	json_t *list = json_array(), *id;
	size_t i;

	json_array_foreach(cx->events, i, id)
	{
		json_t *ev = stripe_get(cx->st, json_string_value(id), NULL);

		json_array_append_new(
		    list, json_pack("{s:O, s:O}", "id", id, "type", json_object_get(ev, "type")));
	}
	return list;
}

static json_t *view_id(struct stripe_cx *cx, const char *id)
{
	json_t *o = stripe_get(cx->st, id, NULL);

	return o ? stripe_render(cx->st, o, cx->layout, cx->version) : json_null();
}

/*
 * Finish a control call: on success ok (stolen) gets "events" and is the
 * answer; on a Stripe error the answer is {"error", "stripe_error"} with
 * 400, or {"error", "card_error"} with 402. Events are queued either way
 * (a decline may emit some), the lock released and body freed.
 */
static int end(struct http_req *r, struct stripe_cx *cx, json_t *b, json_t *ok)
{
	struct sim_stripe *st = cx->st;
	json_t *answer;
	int status = 200;

	if (cx->status == 200) {
		answer = ok ? ok : json_object();
		json_object_set_new(answer, "events", events_of(cx));
	} else {
		json_t *e = json_object_get(cx->out, "error");
		const char *m = get_str(e, "message");

		status = cx->status == 402 ? 402 : cx->status >= 500 ? 500 : 400;
		answer = json_pack("{s:s, s:O}", "error", m ? m : "failed",
		                   status == 402 ? "card_error" : "stripe_error", e);
		if (ok) /* what the caller adds to an error (the session of a decline) */
			json_object_update_missing(answer, ok);
		json_decref(ok);
		json_object_set_new(answer, "events", events_of(cx));
	}
	stripe_cx_finish(cx);
	stripe_cx_release(cx);
	pthread_mutex_unlock(&st->mu);
	json_decref(b);
	return http_reply_json(r, status, answer);
}

/* The object in the path's {id} of kind, or NULL after a 404 (and the
 * call ended). */
static json_t *path_obj(struct http_req *r, struct stripe_cx *cx, json_t *b, const char *kind)
{
	struct str id = router_param(&r->match, "id");
	char buf[128];
	json_t *o;

	snprintf(buf, sizeof(buf), "%.*s", (int)(id.len < 127 ? id.len : 127), id.p);
	o = stripe_get(cx->st, buf, kind);
	if (!o) {
		stripe_cx_release(cx);
		pthread_mutex_unlock(&cx->st->mu);
		json_decref(b);
		fail(r, 404, "no %s %s", kind, buf);
	}
	return o;
}

/* ---- configuration ---- */

static json_t *config_view(struct sim_stripe *st)
{
	size_t held = 0;

	for (size_t i = 0; i < st->nqueue; i++)
		held += st->queue[i].held;
	return json_pack(
	    "{s:s?, s:b, s:b, s:s, s:s, s:O, s:o, s:{s:I, s:I, s:i, s:I}, s:s?, s:{s:I, s:I}, "
	    "s:{s:I, s:I, s:I, s:I, s:I, s:I}}",
	    "webhook_url", st->webhook_url, "webhook_secret_set",
	    st->webhook_secret && st->webhook_secret[0], "key_set", st->key && st->key[0], "layout",
	    st->layout == STRIPE_LAYOUT_OLD ? "old" : "new", "api_version", st->api_version,
	    "enabled_events", st->enabled_events, "delivery", dopts_json(&st->dopts), "retry",
	    "base_ms", (json_int_t)st->retry_base_ms, "max_ms", (json_int_t)st->retry_max_ms,
	    "max_attempts", st->max_attempts, "timeout_ms", (json_int_t)st->timeout_ms,
	    "checkout_base", st->checkout_base, "clock", "now", (json_int_t)stripe_now(st),
	    "offset_s", (json_int_t)st->clock_offset_s, "counts", "objects",
	    (json_int_t)json_object_size(st->objs), "queued", (json_int_t)st->nqueue, "held",
	    (json_int_t)held, "delivered", (json_int_t)st->delivered, "failed_attempts",
	    (json_int_t)st->failed, "given_up", (json_int_t)st->given_up);
}

static int c_get(struct http_req *r)
{
	struct sim_stripe *st = stripe_of(r);
	json_t *o;

	pthread_mutex_lock(&st->mu);
	o = config_view(st);
	pthread_mutex_unlock(&st->mu);
	return http_reply_json(r, 200, o);
}

static bool printable(const char *s, size_t max)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return n <= max;
}

static int c_config(struct http_req *r)
{
	struct sim_stripe *st = stripe_of(r);
	json_t *b = body(r), *ev, *retry, *x;
	const char *url, *secret, *key, *layout, *version, *base;
	struct stripe_dopts d;
	int64_t rb = -1, rm = -1, ma = -1, to = -1;
	char msg[200];
	int lay = -1;
	size_t i;

	if (!b)
		return -1;
	url = get_str(b, "webhook_url");
	secret = get_str(b, "webhook_secret");
	key = get_str(b, "key");
	layout = get_str(b, "layout");
	version = get_str(b, "api_version");
	base = get_str(b, "checkout_base");
	ev = json_object_get(b, "enabled_events");
	retry = json_object_get(b, "retry");
	if ((json_object_get(b, "webhook_url") &&
	     !json_is_null(json_object_get(b, "webhook_url")) &&
	     (!url || (*url && strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) ||
	      !printable(url, STRIPE_MAX_URL)))) {
		json_decref(b);
		return fail(r, 400, "webhook_url must be an http(s) URL, or \"\" or null to unset");
	}
	if (json_object_get(b, "webhook_secret") &&
	    (!secret || !*secret || !printable(secret, STRIPE_MAX_SECRET))) {
		json_decref(b);
		return fail(r, 400, "webhook_secret must be a non-empty string of at most %d bytes",
		            STRIPE_MAX_SECRET);
	}
	if (json_object_get(b, "key") && (!key || !*key || !printable(key, STRIPE_MAX_SECRET))) {
		json_decref(b);
		return fail(r, 400, "key must be a non-empty string without spaces");
	}
	if (json_object_get(b, "layout") &&
	    (!layout || (strcmp(layout, "new") && strcmp(layout, "old")))) {
		json_decref(b);
		return fail(r, 400, "layout must be new or old");
	}
	if (json_object_get(b, "api_version") && (lay = stripe_layout_of(version)) < 0) {
		json_decref(b);
		return fail(r, 400, "api_version must look like 2025-03-31 or 2025-03-31.basil");
	}
	if (json_object_get(b, "checkout_base") &&
	    !json_is_null(json_object_get(b, "checkout_base")) &&
	    (!base || (*base && strncmp(base, "http://", 7) && strncmp(base, "https://", 8)) ||
	     !printable(base, 512))) {
		json_decref(b);
		return fail(r, 400,
		            "checkout_base must be an http(s) URL, or \"\" or null to unset");
	}
	if (ev) {
		if (!json_is_array(ev) || json_array_size(ev) == 0 || json_array_size(ev) > 200) {
			json_decref(b);
			return fail(r, 400, "enabled_events must be a list of 1-200 event types");
		}
		json_array_foreach(ev, i, x)
		{
			if (!json_is_string(x) || json_string_length(x) == 0 ||
			    json_string_length(x) > 100) {
				json_decref(b);
				return fail(r, 400,
				            "enabled_events must hold event types or \"*\"");
			}
		}
	}
	if (retry &&
	    (!json_is_object(retry) || get_i64(retry, "base_ms", &rb) < 0 ||
	     get_i64(retry, "max_ms", &rm) < 0 || get_i64(retry, "max_attempts", &ma) < 0 ||
	     get_i64(retry, "timeout_ms", &to) < 0 ||
	     (json_object_get(retry, "base_ms") && (rb < 1 || rb > 600000)) ||
	     (json_object_get(retry, "max_ms") && (rm < 1 || rm > 3600000)) ||
	     (json_object_get(retry, "max_attempts") && (ma < 1 || ma > 100)) ||
	     (json_object_get(retry, "timeout_ms") && (to < 100 || to > 600000)))) {
		json_decref(b);
		return fail(r, 400,
		            "retry.base_ms 1-600000, max_ms 1-3600000, max_attempts 1-100, "
		            "timeout_ms 100-600000");
	}
	pthread_mutex_lock(&st->mu);
	d = st->dopts;
	if (!read_dopts(json_object_get(b, "delivery"), &d, msg, sizeof(msg))) {
		pthread_mutex_unlock(&st->mu);
		json_decref(b);
		return fail(r, 400, "%s", msg);
	}
	st->dopts = d;
	if (json_object_get(b, "webhook_url")) {
		free(st->webhook_url);
		st->webhook_url = url && *url ? xstrdup(url) : NULL;
	}
	if (secret) {
		free(st->webhook_secret);
		st->webhook_secret = xstrdup(secret);
	}
	if (key) {
		free(st->key);
		st->key = xstrdup(key);
	}
	if (layout) {
		st->layout = strcmp(layout, "old") ? STRIPE_LAYOUT_NEW : STRIPE_LAYOUT_OLD;
		snprintf(st->api_version, sizeof(st->api_version), "%s",
		         st->layout == STRIPE_LAYOUT_OLD ? STRIPE_OLD_VERSION : STRIPE_NEW_VERSION);
	}
	if (version) {
		st->layout = (enum stripe_layout)lay;
		snprintf(st->api_version, sizeof(st->api_version), "%s", version);
	}
	if (json_object_get(b, "checkout_base")) {
		free(st->checkout_base);
		st->checkout_base = base && *base ? xstrdup(base) : NULL;
		/* no trailing slash: paths are appended */
		if (st->checkout_base && st->checkout_base[strlen(st->checkout_base) - 1] == '/')
			st->checkout_base[strlen(st->checkout_base) - 1] = '\0';
	}
	if (ev) {
		json_decref(st->enabled_events);
		st->enabled_events = json_deep_copy(ev);
	}
	if (rb > 0)
		st->retry_base_ms = rb;
	if (rm > 0)
		st->retry_max_ms = rm;
	if (ma > 0)
		st->max_attempts = (int)ma;
	if (to > 0)
		st->timeout_ms = to;
	pthread_cond_broadcast(&st->cv);
	x = config_view(st);
	pthread_mutex_unlock(&st->mu);
	json_decref(b);
	return http_reply_json(r, 200, x);
}

static int c_reset(struct http_req *r)
{
	struct sim_stripe *st = stripe_of(r);
	json_t *o;

	pthread_mutex_lock(&st->mu);
	stripe_world_clear(st);
	free(st->key);
	free(st->webhook_url);
	free(st->webhook_secret);
	free(st->checkout_base);
	st->key = xstrdup(st->start_key);
	st->webhook_url = st->start_url ? xstrdup(st->start_url) : NULL;
	st->webhook_secret = xstrdup(st->start_secret);
	st->checkout_base = NULL;
	st->layout = STRIPE_LAYOUT_NEW;
	snprintf(st->api_version, sizeof(st->api_version), "%s", STRIPE_NEW_VERSION);
	json_decref(st->enabled_events);
	st->enabled_events = json_pack("[s]", "*");
	memset(&st->dopts, 0, sizeof(st->dopts));
	st->dopts.stale_s = STRIPE_DEFAULT_STALE;
	st->retry_base_ms = 500;
	st->retry_max_ms = 10000;
	st->max_attempts = 5;
	st->timeout_ms = 10000;
	st->clock_offset_s = 0;
	pthread_cond_broadcast(&st->cv);
	o = config_view(st);
	pthread_mutex_unlock(&st->mu);
	return http_reply_json(r, 200, o);
}

static int c_clock_get(struct http_req *r)
{
	struct sim_stripe *st = stripe_of(r);
	json_t *o;

	pthread_mutex_lock(&st->mu);
	o = json_pack("{s:I, s:I}", "now", (json_int_t)stripe_now(st), "offset_s",
	              (json_int_t)st->clock_offset_s);
	pthread_mutex_unlock(&st->mu);
	return http_reply_json(r, 200, o);
}

static int c_clock(struct http_req *r)
{
	struct stripe_cx cx;
	json_t *b = begin(r, &cx);
	int64_t adv = 0, now = 0;
	int ra, rn;

	if (!b)
		return -1;
	ra = get_i64(b, "advance_s", &adv);
	rn = get_i64(b, "now", &now);
	if (ra < 0 || rn < 0 || (ra == 0 && rn == 0) || (ra && rn) ||
	    (ra == 0 && (adv < 0 || adv > 20LL * 366 * 86400)) ||
	    (rn == 0 && (now < 0 || now > 32503680000LL))) {
		stripe_error(&cx, 400, "invalid_request_error", NULL, NULL,
		             "give advance_s (0 to 20 years, in seconds) or now (Unix seconds)");
		return end(r, &cx, b, NULL);
	}
	if (ra == 0)
		cx.st->clock_offset_s += adv;
	else
		cx.st->clock_offset_s = now - (stripe_now(cx.st) - cx.st->clock_offset_s);
	stripe_sweep(&cx);
	return end(r, &cx, b,
	           json_pack("{s:I, s:I}", "now", (json_int_t)stripe_now(cx.st), "offset_s",
	                     (json_int_t)cx.st->clock_offset_s));
}

json_t *sim_stripe_clock_json(struct sim_stripe *st)
{
	json_t *o;

	pthread_mutex_lock(&st->mu);
	o = json_pack("{s:I, s:I}", "now", (json_int_t)stripe_now(st), "offset_s",
	              (json_int_t)st->clock_offset_s);
	pthread_mutex_unlock(&st->mu);
	return o;
}

/*
 * Whether Stripe would charge sub now: an active or trialing subscription
 * whose period has ended, or a past_due one whose open invoice's next
 * payment attempt has come.
 */
static bool renewal_due(struct sim_stripe *st, const json_t *sub)
{
	const char *status = get_str(sub, "status");
	int64_t now = stripe_now(st);

	if (!status)
		return false;
	if (strcmp(status, "active") == 0 || strcmp(status, "trialing") == 0) {
		json_t *items = json_object_get(json_object_get(sub, "items"), "data");
		json_t *end = json_object_get(json_array_get(items, 0), "current_period_end");

		return json_is_integer(end) && json_integer_value(end) <= now;
	}
	if (strcmp(status, "past_due") == 0) {
		json_t *inv = stripe_get(st, get_str(sub, "latest_invoice"), "invoice");
		json_t *next = json_object_get(inv, "next_payment_attempt");
		const char *istatus = get_str(inv, "status");

		return istatus && strcmp(istatus, "open") == 0 && json_is_integer(next) &&
		       json_integer_value(next) <= now;
	}
	return false;
}

json_t *sim_stripe_advance(struct sim_stripe *st, int64_t secs)
{
	struct stripe_cx cx;
	json_t *ids, *id, *renewals = json_array(), *o;
	size_t i, done = 0;
	bool full = false;

	assert(secs >= 0);
	pthread_mutex_lock(&st->mu);
	stripe_cx_init(&cx, st);
	st->clock_offset_s += secs;
	stripe_sweep(&cx);
	/* renew may add objects (never subscriptions), so walk a copy */
	ids = json_deep_copy(stripe_ids(st, "subscription"));
	json_array_foreach(ids, i, id)
	{
		json_t *sub = stripe_get(st, json_string_value(id), "subscription");

		while (!full && sub && renewal_due(st, sub)) {
			json_t *inv;
			const char *istatus;
			bool ended;

			if (done++ >= SIM_STRIPE_ADVANCE_MAX) {
				full = true;
				break;
			}
			cx.status = 200;
			stripe_renew(&cx, sub, false, NULL, NULL);
			if (cx.status != 200) {
				json_t *err =
				    json_object_get(json_object_get(cx.out, "error"), "message");

				json_array_append_new(
				    renewals, json_pack("{s:O, s:s}", "subscription", id, "error",
				                        json_is_string(err) ? json_string_value(err)
				                                            : "failed"));
				full = cx.status >= 500; /* the simulator is full */
				break;
			}
			/* a subscription set to cancel at the period's end ends: no invoice */
			ended = strcmp(get_str(sub, "status"), "canceled") == 0;
			inv = ended ? NULL
			            : stripe_get(st, get_str(sub, "latest_invoice"), "invoice");
			istatus = get_str(inv, "status");
			json_array_append_new(
			    renewals,
			    json_pack("{s:O, s:s, s:O?, s:b, s:b}", "subscription", id, "status",
			              get_str(sub, "status"), "invoice", json_object_get(inv, "id"),
			              "paid", istatus && strcmp(istatus, "paid") == 0, "ended",
			              ended));
		}
	}
	json_decref(ids);
	cx.status = 200;
	o = json_pack("{s:I, s:I, s:o, s:b, s:o}", "now", (json_int_t)stripe_now(st), "offset_s",
	              (json_int_t)st->clock_offset_s, "renewals", renewals, "truncated", full,
	              "events", events_of(&cx));
	stripe_cx_finish(&cx);
	stripe_cx_release(&cx);
	pthread_mutex_unlock(&st->mu);
	return o;
}

/* ---- acting as Stripe ---- */

static json_t *pay_result(struct stripe_cx *cx, json_t *s)
{
	const char *sub = get_str(s, "subscription"), *inv = get_str(s, "invoice");
	const char *pi = get_str(s, "payment_intent");
	json_t *o, *pio;

	if (!pi && inv)
		pi = get_str(json_object_get(stripe_get(cx->st, inv, NULL), "_sim"),
		             "payment_intent");
	pio = stripe_get(cx->st, pi, NULL);
	o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "session",
	              stripe_render(cx->st, s, cx->layout, cx->version), "customer",
	              view_id(cx, get_str(s, "customer")), "subscription", view_id(cx, sub),
	              "invoice", view_id(cx, inv), "payment_intent", view_id(cx, pi), "charge",
	              view_id(cx, get_str(pio, "latest_charge")));
	return o;
}

static int c_pay(struct http_req *r)
{
	struct stripe_cx cx;
	json_t *b = begin(r, &cx), *s;
	const char *card, *email;

	if (!b || !(s = path_obj(r, &cx, b, "checkout.session")))
		return -1;
	card = get_str(b, "card");
	email = get_str(b, "email");
	if (!card || (json_object_get(b, "email") && !email)) {
		stripe_error(&cx, 400, "invalid_request_error", NULL, "card",
		             "card (a test card number) is required; email is a string");
		return end(r, &cx, b, NULL);
	}
	stripe_checkout_pay(&cx, s, card, email);
	if (cx.status == 402)
		return end(
		    r, &cx, b,
		    json_pack("{s:o}", "session", stripe_render(cx.st, s, cx.layout, cx.version)));
	return end(r, &cx, b, cx.status == 200 ? pay_result(&cx, s) : NULL);
}

static int c_renew(struct http_req *r)
{
	struct stripe_cx cx;
	json_t *b = begin(r, &cx), *sub, *ans, *inv;
	const char *dcode, *card;
	bool fail_it = false;

	if (!b || !(sub = path_obj(r, &cx, b, "subscription")))
		return -1;
	dcode = get_str(b, "decline_code");
	card = get_str(b, "card");
	if (get_bool(b, "fail", &fail_it) < 0 ||
	    (json_object_get(b, "decline_code") && (!dcode || !printable(dcode, 64))) ||
	    (json_object_get(b, "card") && !card)) {
		stripe_error(&cx, 400, "invalid_request_error", NULL, NULL,
		             "fail is true or false, decline_code and card are strings");
		return end(r, &cx, b, NULL);
	}
	stripe_renew(&cx, sub, fail_it, dcode, card);
	if (cx.status != 200)
		return end(r, &cx, b, NULL);
	inv = stripe_get(cx.st, get_str(sub, "latest_invoice"), "invoice");
	ans = json_pack("{s:o, s:o, s:b, s:b}", "subscription",
	                stripe_render(cx.st, sub, cx.layout, cx.version), "invoice",
	                strcmp(get_str(cx.out, "object"), "invoice") == 0 && inv
	                    ? stripe_render(cx.st, inv, cx.layout, cx.version)
	                    : json_null(),
	                "paid",
	                inv && strcmp(get_str(inv, "status"), "paid") == 0 &&
	                    strcmp(get_str(cx.out, "object"), "invoice") == 0,
	                "ended", strcmp(get_str(sub, "status"), "canceled") == 0);
	return end(r, &cx, b, ans);
}

static int c_cancel(struct http_req *r)
{
	struct stripe_cx cx;
	json_t *b = begin(r, &cx), *sub;
	const char *when, *reason;

	if (!b || !(sub = path_obj(r, &cx, b, "subscription")))
		return -1;
	when = get_str(b, "when");
	reason = get_str(b, "reason");
	if ((json_object_get(b, "when") && !when) ||
	    (reason && strcmp(reason, "cancellation_requested") &&
	     strcmp(reason, "payment_failed") && strcmp(reason, "payment_disputed"))) {
		stripe_error(&cx, 400, "invalid_request_error", NULL, NULL,
		             "when is now, period_end or resume; reason is cancellation_requested, "
		             "payment_failed or payment_disputed");
		return end(r, &cx, b, NULL);
	}
	stripe_sub_cancel(&cx, sub, when ? when : "now", reason);
	return end(r, &cx, b,
	           cx.status == 200 ? json_pack("{s:o}", "subscription",
	                                        stripe_render(cx.st, sub, cx.layout, cx.version))
	                            : NULL);
}

static int c_refund(struct http_req *r)
{
	struct stripe_cx cx;
	json_t *b = begin(r, &cx), *p, *x;
	const char *k;

	if (!b)
		return -1;
	/* the refund's parameters as the API would get them: strings */
	p = json_object();
	json_object_foreach(b, k, x)
	{
		if (strcmp(k, "delivery") == 0 || strcmp(k, "layout") == 0)
			continue;
		if (json_is_integer(x)) {
			char v[32];

			snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(x));
			json_object_set_new(p, k, json_string(v));
		} else {
			json_object_set(p, k, x);
		}
	}
	cx.p = p;
	stripe_refund_create(&cx);
	if (cx.status == 200) {
		json_t *re = stripe_get(cx.st, get_str(cx.out, "id"), "refund");

		x = json_pack("{s:o, s:o}", "refund",
		              stripe_render(cx.st, re, cx.layout, cx.version), "charge",
		              view_id(&cx, get_str(re, "charge")));
	} else {
		x = NULL;
	}
	json_object_set_new(b, "_params", p);
	return end(r, &cx, b, x);
}

/*
 * A refund that fails after it was made (the card was closed): the
 * refund's status becomes failed with a failure_reason, the money is back
 * on the charge (amount_refunded goes down), and Stripe sends
 * refund.failed and charge.refund.updated.
 */
static int c_refund_fail(struct http_req *r)
{
	struct stripe_cx cx;
	json_t *b = begin(r, &cx), *re, *ch;
	const char *why;

	if (!b || !(re = path_obj(r, &cx, b, "refund")))
		return -1;
	why = get_str(b, "failure_reason");
	if (strcmp(get_str(re, "status") ? get_str(re, "status") : "", "failed") == 0) {
		stripe_error(&cx, 400, "invalid_request_error", NULL, NULL,
		             "refund %.80s has failed already", get_str(re, "id"));
		return end(r, &cx, b, NULL);
	}
	json_object_set_new(re, "status", json_string("failed"));
	json_object_set_new(re, "failure_reason",
	                    json_string(why ? why : "expired_or_canceled_card"));
	ch = stripe_get(cx.st, get_str(re, "charge"), "charge");
	if (ch) {
		json_int_t back = json_integer_value(json_object_get(re, "amount"));
		json_int_t refunded = json_integer_value(json_object_get(ch, "amount_refunded"));

		json_object_set_new(ch, "amount_refunded",
		                    json_integer(refunded > back ? refunded - back : 0));
		json_object_set_new(ch, "refunded", json_false());
	}
	stripe_emit(&cx, "refund.failed", re, NULL, NULL);
	stripe_emit(&cx, "charge.refund.updated", re, json_pack("{s:s}", "status", "succeeded"),
	            json_pack("{s:s}", "status", "succeeded"));
	return end(r, &cx, b,
	           json_pack("{s:o}", "refund", stripe_render(cx.st, re, cx.layout, cx.version)));
}

/* ---- reading ---- */

static int c_deliveries(struct http_req *r)
{
	struct sim_stripe *st = stripe_of(r);
	json_t *q = json_array(), *o;

	pthread_mutex_lock(&st->mu);
	for (size_t i = 0; i < st->nqueue; i++) {
		const struct stripe_item *it = &st->queue[i];

		json_array_append_new(q, json_pack("{s:I, s:s, s:s, s:i, s:i, s:b, s:s}", "seq",
		                                   (json_int_t)it->seq, "event_id", it->event_id,
		                                   "type", it->type, "copy", it->copy, "attempts",
		                                   it->attempt, "held", it->held, "signature",
		                                   stripe_sig_name(it->sig)));
	}
	o = json_pack("{s:O, s:o, s:I, s:I, s:I}", "attempts", st->attempts, "queue", q,
	              "delivered", (json_int_t)st->delivered, "failed_attempts",
	              (json_int_t)st->failed, "given_up", (json_int_t)st->given_up);
	pthread_mutex_unlock(&st->mu);
	return http_reply_json(r, 200, o);
}

static int c_release(struct http_req *r)
{
	struct sim_stripe *st = stripe_of(r);
	json_t *b = body(r);
	bool reverse = false;
	size_t n;

	if (!b)
		return -1;
	if (get_bool(b, "reverse", &reverse) < 0) {
		json_decref(b);
		return fail(r, 400, "reverse must be true or false");
	}
	json_decref(b);
	pthread_mutex_lock(&st->mu);
	n = stripe_hook_release(st, reverse);
	pthread_mutex_unlock(&st->mu);
	return http_reply_json(r, 200, json_pack("{s:I}", "released", (json_int_t)n));
}

static int c_requests(struct http_req *r)
{
	struct sim_stripe *st = stripe_of(r);
	json_t *o;

	pthread_mutex_lock(&st->mu);
	o = json_pack("{s:O}", "requests", st->requests);
	pthread_mutex_unlock(&st->mu);
	return http_reply_json(r, 200, o);
}

static int c_object(struct http_req *r)
{
	struct sim_stripe *st = stripe_of(r);
	const char *layout = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "layout");
	struct str id = router_param(&r->match, "id");
	char buf[128];
	json_t *o;

	snprintf(buf, sizeof(buf), "%.*s", (int)(id.len < 127 ? id.len : 127), id.p);
	if (layout && strcmp(layout, "new") && strcmp(layout, "old"))
		return fail(r, 400, "layout must be new or old");
	pthread_mutex_lock(&st->mu);
	o = stripe_get(st, buf, NULL);
	if (o) {
		enum stripe_layout l = !layout                 ? st->layout
		                       : strcmp(layout, "old") ? STRIPE_LAYOUT_NEW
		                                               : STRIPE_LAYOUT_OLD;

		o = stripe_render(
		    st, o, l,
		    layout ? (l == STRIPE_LAYOUT_OLD ? STRIPE_OLD_VERSION : STRIPE_NEW_VERSION)
		           : st->api_version);
	}
	pthread_mutex_unlock(&st->mu);
	if (!o)
		return fail(r, 404, "no object %s", buf);
	return http_reply_json(r, 200, o);
}

static int c_sign(struct http_req *r)
{
	struct sim_stripe *st = stripe_of(r);
	json_t *b = body(r);
	const char *payload, *secret;
	char out[SIG_STRIPE_SIGNED_MAX], *sec;
	int64_t t = 0;

	if (!b)
		return -1;
	payload = get_str(b, "payload");
	secret = get_str(b, "secret");
	if (!payload || get_i64(b, "t", &t) != 0 || t < 0 ||
	    (json_object_get(b, "secret") && (!secret || !*secret))) {
		json_decref(b);
		return fail(r, 400, "payload (a string) and t (Unix seconds) are required");
	}
	pthread_mutex_lock(&st->mu);
	sec = xstrdup(secret ? secret : st->webhook_secret);
	pthread_mutex_unlock(&st->mu);
	sig_stripe_sign(sec, t, payload, json_string_length(json_object_get(b, "payload")), out,
	                sizeof(out));
	free(sec);
	json_decref(b);
	return http_reply_json(r, 200, json_pack("{s:s}", "header", out));
}

/* ---- routes ---- */

const struct route sim_stripe_routes[] = {
    {"GET", "/control/stripe", c_get, 0, "the Stripe simulator's settings"},
    {"POST", "/control/stripe/config", c_config, 0, "configure the Stripe simulator"},
    {"POST", "/control/stripe/reset", c_reset, 0, "forget every Stripe object"},
    {"GET", "/control/stripe/clock", c_clock_get, 0, "the Stripe simulator's clock"},
    {"POST", "/control/stripe/clock", c_clock, 0, "move the Stripe simulator's clock"},
    {"POST", "/control/stripe/checkout/sessions/{id}/pay", c_pay, 0, "pay a session"},
    {"POST", "/control/stripe/subscriptions/{id}/renew", c_renew, 0, "renew a subscription"},
    {"POST", "/control/stripe/subscriptions/{id}/cancel", c_cancel, 0, "cancel a subscription"},
    {"POST", "/control/stripe/refunds", c_refund, 0, "refund as the dashboard would"},
    {"POST", "/control/stripe/refunds/{id}/fail", c_refund_fail, 0, "a refund fails"},
    {"GET", "/control/stripe/deliveries", c_deliveries, 0, "webhook deliveries"},
    {"POST", "/control/stripe/deliveries/release", c_release, 0, "send held deliveries"},
    {"GET", "/control/stripe/requests", c_requests, 0, "API requests received"},
    {"GET", "/control/stripe/objects/{id}", c_object, 0, "any Stripe object"},
    {"POST", "/control/stripe/sign", c_sign, 0, "a Stripe-Signature for a payload"},
    {"GET", "/stripe/checkout/{id}", stripe_page_get, 0, "the hosted checkout page"},
    {"POST", "/stripe/checkout/{id}", stripe_page_post, 0, "pay or cancel on the page"},
    {"GET", "/stripe/invoice/{id}", stripe_page_invoice, 0, "a hosted invoice page"},
    {"GET", "/stripe/v1/{a}", sim_stripe_api, 0, "the Stripe API"},
    {"POST", "/stripe/v1/{a}", sim_stripe_api, 0, "the Stripe API"},
    {"DELETE", "/stripe/v1/{a}", sim_stripe_api, 0, "the Stripe API"},
    {"GET", "/stripe/v1/{a}/{b}", sim_stripe_api, 0, "the Stripe API"},
    {"POST", "/stripe/v1/{a}/{b}", sim_stripe_api, 0, "the Stripe API"},
    {"DELETE", "/stripe/v1/{a}/{b}", sim_stripe_api, 0, "the Stripe API"},
    {"GET", "/stripe/v1/{a}/{b}/{c}", sim_stripe_api, 0, "the Stripe API"},
    {"POST", "/stripe/v1/{a}/{b}/{c}", sim_stripe_api, 0, "the Stripe API"},
    {"DELETE", "/stripe/v1/{a}/{b}/{c}", sim_stripe_api, 0, "the Stripe API"},
    {"GET", "/stripe/v1/{a}/{b}/{c}/{d}", sim_stripe_api, 0, "the Stripe API"},
    {"POST", "/stripe/v1/{a}/{b}/{c}/{d}", sim_stripe_api, 0, "the Stripe API"},
    {"DELETE", "/stripe/v1/{a}/{b}/{c}/{d}", sim_stripe_api, 0, "the Stripe API"},
};
const size_t sim_stripe_nroutes = ARRAY_SIZE(sim_stripe_routes);
