/*
 * stripe: the Stripe simulator's world: its lifetime, the object store,
 * ids, the clock, events, error objects and the two layouts.
 *
 * Objects are stored in the layout of API versions from 2025-03-31 on
 * (current_period_* on subscription items, invoice.parent and
 * invoice.payments). stripe_render() derives the older layout from the same
 * object with what "_sim" remembers (the invoice's payment intent and
 * charge), so both views always agree. An event keeps a snapshot of its
 * object as it was, and previous_attributes in both layouts; it is rendered
 * in the webhook's layout when queued and in the request's layout when read
 * through the API.
 */
#include "sim/stripe_impl.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/mem.h"
#include "lib/utf8.h"
#include "sim/sim_impl.h"

struct sim_stripe *stripe_of(struct http_req *r)
{
	return ((struct sim *)r->ctx)->stripe;
}

/* ---- lifetime ---- */

static void world_init(struct sim_stripe *st)
{
	st->objs = json_object();
	st->order = json_object();
	st->idem = json_object();
	st->idem_order = json_array();
	st->requests = json_array();
	st->attempts = json_array();
	/* next_seq is not reset: a delivery in flight during a reset must not
	 * find a new one with its number */
	st->delivered = st->failed = st->given_up = 0;
	st->invoice_number = 0;
}

void stripe_world_clear(struct sim_stripe *st)
{
	json_decref(st->objs);
	json_decref(st->order);
	json_decref(st->idem);
	json_decref(st->idem_order);
	json_decref(st->requests);
	json_decref(st->attempts);
	stripe_hook_clear(st);
	world_init(st);
}

static char *dup_or(const char *v, const char *dflt)
{
	return v ? xstrdup(v) : dflt ? xstrdup(dflt) : NULL;
}

struct sim_stripe *sim_stripe_new(const struct sim_stripe_opts *o)
{
	struct sim_stripe *st = xcalloc(1, sizeof(*st));
	pthread_condattr_t ca;

	pthread_mutex_init(&st->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&st->cancel, false);
	st->next_seq = 1;
	st->start_key = dup_or(o->key, SIM_STRIPE_DEFAULT_KEY);
	st->start_url = dup_or(o->webhook_url, NULL);
	st->start_secret = dup_or(o->webhook_secret, STRIPE_DEFAULT_SECRET);
	st->key = xstrdup(st->start_key);
	st->webhook_url = dup_or(st->start_url, NULL);
	st->webhook_secret = xstrdup(st->start_secret);
	st->layout = STRIPE_LAYOUT_NEW;
	snprintf(st->api_version, sizeof(st->api_version), "%s", STRIPE_NEW_VERSION);
	st->enabled_events = json_pack("[s]", "*");
	st->dopts.stale_s = STRIPE_DEFAULT_STALE;
	st->retry_base_ms = 500;
	st->retry_max_ms = 10000;
	st->max_attempts = 5;
	st->timeout_ms = 10000;
	world_init(st);
	if (pthread_create(&st->thread, NULL, stripe_hook_main, st) == 0)
		st->thread_started = true;
	return st;
}

void sim_stripe_free(struct sim_stripe *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->mu);
	st->stopping = true;
	atomic_store(&st->cancel, true);
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	if (st->thread_started)
		pthread_join(st->thread, NULL);
	json_decref(st->objs);
	json_decref(st->order);
	json_decref(st->idem);
	json_decref(st->idem_order);
	json_decref(st->requests);
	json_decref(st->attempts);
	json_decref(st->enabled_events);
	stripe_hook_clear(st);
	free(st->start_key);
	free(st->start_url);
	free(st->start_secret);
	free(st->key);
	free(st->webhook_url);
	free(st->webhook_secret);
	free(st->checkout_base);
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

/* ---- calls ---- */

void stripe_cx_init(struct stripe_cx *cx, struct sim_stripe *st)
{
	memset(cx, 0, sizeof(*cx));
	cx->st = st;
	cx->layout = st->layout;
	cx->version = st->api_version;
	cx->events = json_array();
	cx->d = st->dopts;
	cx->status = 200;
}

void stripe_cx_release(struct stripe_cx *cx)
{
	json_decref(cx->out);
	json_decref(cx->events);
	cx->out = cx->events = NULL;
}

int64_t stripe_now(const struct sim_stripe *st)
{
	return clock_now_ms() / 1000 + st->clock_offset_s;
}

void stripe_id(struct sim_stripe *st, const char *prefix, size_t n, char *out, size_t outsz)
{
	static const char alphabet[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char rnd[64];
	size_t pl = strlen(prefix);

	assert(n <= sizeof(rnd) && pl + n < outsz);
	do {
		crypto_random(rnd, n);
		memcpy(out, prefix, pl);
		for (size_t i = 0; i < n; i++)
			out[pl + i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
		out[pl + n] = '\0';
	} while (json_object_get(st->objs, out));
}

json_t *stripe_get(struct sim_stripe *st, const char *id, const char *kind)
{
	json_t *o = id ? json_object_get(st->objs, id) : NULL;

	if (o && kind && strcmp(json_string_value(json_object_get(o, "object")), kind) != 0)
		return NULL;
	return o;
}

json_t *stripe_ids(struct sim_stripe *st, const char *kind)
{
	json_t *a = json_object_get(st->order, kind);

	if (!a) {
		a = json_array();
		json_object_set_new(st->order, kind, a);
	}
	return a;
}

int stripe_put(struct sim_stripe *st, json_t *o)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *kind = json_string_value(json_object_get(o, "object"));

	assert(id && kind);
	if (json_object_size(st->objs) >= STRIPE_MAX_OBJECTS) {
		json_decref(o);
		return -ERR_TOO_BIG;
	}
	json_array_append_new(stripe_ids(st, kind), json_string(id));
	json_object_set_new(st->objs, id, o);
	return 0;
}

void stripe_set_str(json_t *o, const char *key, const char *s)
{
	json_t *v = s ? json_string(s) : json_null();

	json_object_set_new(o, key, v ? v : json_string("?"));
}

/* A JSON string of a message made here, cut on a character boundary. */
static json_t *msg_string(const char *m)
{
	size_t n = utf8_cut(m, strlen(m));
	json_t *v = json_stringn(m, n);

	return v ? v : json_string("(unprintable)");
}

void stripe_error(struct stripe_cx *cx, int status, const char *type, const char *code,
                  const char *param, const char *fmt, ...)
{
	char msg[600], url[160];
	json_t *e = json_object();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (code) {
		size_t o =
		    (size_t)snprintf(url, sizeof(url), "https://stripe.com/docs/error-codes/");

		for (const char *c = code; *c && o + 1 < sizeof(url); c++)
			url[o++] = *c == '_' ? '-' : *c;
		url[o] = '\0';
		json_object_set_new(e, "code", json_string(code));
		json_object_set_new(e, "doc_url", json_string(url));
	}
	json_object_set_new(e, "message", msg_string(msg));
	if (param)
		json_object_set_new(e, "param", msg_string(param));
	if (cx->req_id) {
		snprintf(url, sizeof(url), "https://dashboard.stripe.com/test/logs/%s", cx->req_id);
		json_object_set_new(e, "request_log_url", json_string(url));
	}
	json_object_set_new(e, "type", json_string(type));
	json_decref(cx->out);
	cx->out = json_pack("{s:o}", "error", e);
	cx->status = status;
}

int stripe_layout_of(const char *v)
{
	size_t n = v ? strlen(v) : 0;

	if (n < 10 || n > 40)
		return -1;
	for (size_t i = 0; i < 10; i++) {
		bool dash = i == 4 || i == 7;

		if (dash ? v[i] != '-' : (v[i] < '0' || v[i] > '9'))
			return -1;
	}
	if (n > 10) {
		if (v[10] != '.' || n == 11)
			return -1;
		for (size_t i = 11; i < n; i++)
			if (v[i] < 'a' || v[i] > 'z')
				return -1;
	}
	return strncmp(v, STRIPE_LAYOUT_CUTOFF, 10) < 0 ? STRIPE_LAYOUT_OLD : STRIPE_LAYOUT_NEW;
}

static const char *const sig_names[] = {"valid", "wrong_secret", "stale", "none"};

const char *stripe_sig_name(enum stripe_sig s)
{
	return sig_names[s];
}

int stripe_sig_parse(const char *name, enum stripe_sig *s)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(sig_names); i++)
		if (strcmp(name, sig_names[i]) == 0) {
			*s = (enum stripe_sig)i;
			return 0;
		}
	return -ERR_INVALID;
}

/* ---- layouts ---- */

static json_t *sim_of(const json_t *o)
{
	return json_object_get(o, "_sim");
}

static const char *sim_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(sim_of(o), key));
}

static void set_id_or_null(json_t *o, const char *key, const char *id)
{
	json_object_set_new(o, key, id ? json_string(id) : json_null());
}

/* The old "plan" of a price (still sent by versions before 2025-03-31). */
static json_t *plan_of(const json_t *price)
{
	const json_t *rec = json_object_get(price, "recurring");
	json_t *plan;

	if (!json_is_object(rec))
		return json_null();
	plan = json_pack(
	    "{s:O?, s:s, s:b, s:O?, s:s, s:O?, s:O?, s:O?, s:O?, s:b, s:O?, s:O?, "
	    "s:n, s:n, s:O?}",
	    "id", json_object_get(price, "id"), "object", "plan", "active", 1, "amount",
	    json_object_get(price, "unit_amount"), "billing_scheme", "per_unit", "created",
	    json_object_get(price, "created"), "currency", json_object_get(price, "currency"),
	    "interval", json_object_get(rec, "interval"), "interval_count",
	    json_object_get(rec, "interval_count"), "livemode", 0, "metadata",
	    json_object_get(price, "metadata"), "product", json_object_get(price, "product"),
	    "nickname", "tiers_mode", "usage_type", json_object_get(rec, "usage_type"));
	if (plan) /* its own copy of the metadata */
		json_object_set_new(plan, "metadata",
		                    json_deep_copy(json_object_get(price, "metadata")));
	return plan ? plan : json_null();
}

static void render_subscription_old(json_t *c)
{
	json_t *items = json_object_get(json_object_get(c, "items"), "data"), *it;
	size_t i;

	json_array_foreach(items, i, it)
	{
		if (i == 0) {
			json_object_set(c, "current_period_start",
			                json_object_get(it, "current_period_start"));
			json_object_set(c, "current_period_end",
			                json_object_get(it, "current_period_end"));
			json_object_set_new(c, "plan", plan_of(json_object_get(it, "price")));
			json_object_set_new(c, "quantity", json_integer(1));
		}
		json_object_set_new(it, "plan", plan_of(json_object_get(it, "price")));
		json_object_del(it, "current_period_start");
		json_object_del(it, "current_period_end");
	}
}

static void render_invoice_old(struct sim_stripe *st, json_t *c, const json_t *o)
{
	const char *sub = sim_str(o, "subscription");
	json_t *lines = json_object_get(json_object_get(c, "lines"), "data"), *ln;
	json_t *meta = json_object_get(
	    json_object_get(json_object_get(c, "parent"), "subscription_details"), "metadata");
	size_t i;

	set_id_or_null(c, "subscription", sub);
	set_id_or_null(c, "payment_intent", sim_str(o, "payment_intent"));
	set_id_or_null(c, "charge", sim_str(o, "charge"));
	json_object_set_new(
	    c, "paid",
	    json_boolean(strcmp(json_string_value(json_object_get(c, "status")), "paid") == 0));
	json_object_set_new(c, "subscription_details",
	                    json_pack("{s:O?}", "metadata", meta ? meta : json_null()));
	json_object_del(c, "parent");
	json_object_del(c, "payments");
	json_array_foreach(lines, i, ln)
	{
		const char *price_id = json_string_value(json_object_get(
		    json_object_get(json_object_get(ln, "pricing"), "price_details"), "price"));
		json_t *price = stripe_get(st, price_id, "price");
		json_t *sid = json_object_get(
		    json_object_get(json_object_get(ln, "parent"), "subscription_item_details"),
		    "subscription_item");

		json_object_set_new(ln, "price",
		                    price ? stripe_render(st, price, 0, NULL) : json_null());
		json_object_set_new(ln, "plan", price ? plan_of(price) : json_null());
		set_id_or_null(ln, "subscription", sub);
		json_object_set(ln, "subscription_item", sid ? sid : json_null());
		json_object_set_new(ln, "type", json_string(sub ? "subscription" : "invoiceitem"));
		json_object_set_new(ln, "proration", json_false());
		json_object_del(ln, "parent");
		json_object_del(ln, "pricing");
	}
}

json_t *stripe_render(struct sim_stripe *st, const json_t *o, enum stripe_layout layout,
                      const char *version)
{
	json_t *c = json_deep_copy(o);
	const char *kind = json_string_value(json_object_get(o, "object"));

	json_object_del(c, "_sim");
	if (!kind)
		return c;
	if (strcmp(kind, "event") == 0) {
		json_t *data = json_object_get(c, "data");
		json_t *snap = json_object_get(json_object_get(o, "data"), "object");
		json_t *prev = json_object_get(sim_of(o), layout == STRIPE_LAYOUT_OLD ? "prev_old"
		                                                                      : "prev_new");

		json_object_set_new(data, "object", stripe_render(st, snap, layout, version));
		if (prev)
			json_object_set(data, "previous_attributes", prev);
		json_object_set_new(c, "api_version",
		                    json_string(version ? version : st->api_version));
		return c;
	}
	if (layout != STRIPE_LAYOUT_OLD)
		return c;
	if (strcmp(kind, "subscription") == 0)
		render_subscription_old(c);
	else if (strcmp(kind, "invoice") == 0)
		render_invoice_old(st, c, o);
	else if (strcmp(kind, "payment_intent") == 0 || strcmp(kind, "charge") == 0)
		set_id_or_null(c, "invoice", sim_str(o, "invoice"));
	return c;
}

/* ---- events ---- */

void stripe_emit(struct stripe_cx *cx, const char *type, const json_t *o, json_t *prev_new,
                 json_t *prev_old)
{
	struct sim_stripe *st = cx->st;
	char id[40];
	json_t *ev, *priv = json_object();

	stripe_id(st, "evt_1", 23, id, sizeof(id));
	if (prev_new)
		json_object_set_new(priv, "prev_new", prev_new);
	if (prev_old)
		json_object_set_new(priv, "prev_old", prev_old);
	ev = json_pack("{s:s, s:s, s:n, s:I, s:{s:o}, s:b, s:i, s:{s:o, s:o}, s:s, s:o}", "id", id,
	               "object", "event", "api_version", "created", (json_int_t)stripe_now(st),
	               "data", "object", json_deep_copy(o), "livemode", 0, "pending_webhooks", 0,
	               "request", "id", cx->req_id ? json_string(cx->req_id) : json_null(),
	               "idempotency_key", cx->idem_key ? msg_string(cx->idem_key) : json_null(),
	               "type", type, "_sim", priv);
	if (stripe_put(st, ev) == 0)
		json_array_append_new(cx->events, json_string(id));
}

static bool enabled(const struct sim_stripe *st, const char *type)
{
	json_t *t;
	size_t i;

	json_array_foreach(st->enabled_events, i, t)
	{
		const char *v = json_string_value(t);

		if (strcmp(v, "*") == 0 || strcmp(v, type) == 0)
			return true;
	}
	return false;
}

void stripe_cx_finish(struct stripe_cx *cx)
{
	struct sim_stripe *st = cx->st;
	size_t n = json_array_size(cx->events);

	for (size_t k = 0; k < n && st->webhook_url; k++) {
		size_t i = cx->d.reverse ? n - 1 - k : k;
		json_t *ev = stripe_get(st, json_string_value(json_array_get(cx->events, i)), NULL);
		const char *type = json_string_value(json_object_get(ev, "type"));
		json_t *view;
		char *body;

		if (!ev || !enabled(st, type))
			continue;
		json_object_set_new(ev, "pending_webhooks", json_integer(1));
		view = stripe_render(st, ev, st->layout, st->api_version);
		body = json_dumps(view, JSON_INDENT(2));
		json_decref(view);
		stripe_hook_queue(st, json_string_value(json_object_get(ev, "id")), type, body,
		                  &cx->d, 1);
		if (cx->d.twice)
			stripe_hook_queue(st, json_string_value(json_object_get(ev, "id")), type,
			                  body, &cx->d, 2);
		free(body);
	}
	json_array_clear(cx->events);
	pthread_cond_broadcast(&st->cv);
}

void stripe_sweep(struct stripe_cx *cx)
{
	json_t *ids = json_deep_copy(stripe_ids(cx->st, "checkout.session")), *id;
	int64_t now = stripe_now(cx->st);
	size_t i;

	json_array_foreach(ids, i, id)
	{
		json_t *s = stripe_get(cx->st, json_string_value(id), NULL);
		const char *status = json_string_value(json_object_get(s, "status"));

		if (status && strcmp(status, "open") == 0 &&
		    json_integer_value(json_object_get(s, "expires_at")) <= now)
			stripe_checkout_expire(cx, s);
	}
	json_decref(ids);
}
