/*
 * Unit tests of the Stripe adapter (billing/stripe.h): the form encoding
 * of B.2; the readers of events, sessions, invoices, subscriptions, charges
 * and refunds in both field layouts (before and after 2025-03-31); and the
 * client's headers, retries and errors against a fake transport.
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

#include "billing/billing.h"
#include "billing/sig.h"
#include "billing/stripe.h"
#include "lib/mem.h"
#include "store/store.h"

/* 2026-01-31T12:00:00Z */
#define T0_S    1769860800LL
#define T0      (T0_S * 1000)
#define DAY_S   (24LL * 3600)
#define SECRET  "whsec_unit_0123456789abcdef"
#define API_KEY "sk_test_unit_secret_key_0123456789"

/* ---- form encoding ---------------------------------------------------------- */

static char *encode(const char *json)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	struct buf b;
	char *s;

	assert_non_null(v);
	buf_init(&b, 1 << 16);
	assert_int_equal(stripe_form_encode(v, &b), 0);
	json_decref(v);
	s = buf_take(&b, NULL);
	return s;
}

static void encoded_is(const char *json, const char *want)
{
	char *got = encode(json);

	assert_string_equal(got, want);
	free(got);
}

static void test_form_encoding(void **state)
{
	(void)state;
	/* protocols.md B.2's example */
	encoded_is("{\"mode\":\"subscription\",\"success_url\":\"https://app/ok?sid={CHECKOUT_"
	           "SESSION_ID}\",\"line_items\":[{\"price_data\":{\"currency\":\"usd\","
	           "\"product_data\":{\"name\":\"Pro\"},\"unit_amount\":999,\"recurring\":{"
	           "\"interval\":\"month\"}},\"quantity\":1}],\"metadata\":{\"user_id\":\"42\"}}",
	           "mode=subscription&success_url=https%3A%2F%2Fapp%2Fok%3Fsid%3D%7BCHECKOUT_"
	           "SESSION_ID%7D&line_items[0][price_data][currency]=usd&line_items[0][price_"
	           "data][product_data][name]=Pro&line_items[0][price_data][unit_amount]=999&"
	           "line_items[0][price_data][recurring][interval]=month&line_items[0]["
	           "quantity]=1&metadata[user_id]=42");
	/* indexed arrays, booleans, null, nested arrays of objects */
	encoded_is("{\"expand\":[\"data.payments\",\"customer\"],\"cancel_at_period_end\":true,"
	           "\"off\":false,\"description\":null,\"items\":[{\"id\":\"si_1\"},{\"id\":"
	           "\"si_2\",\"deleted\":true}]}",
	           "expand[0]=data.payments&expand[1]=customer&cancel_at_period_end=true&off="
	           "false&description=&items[0][id]=si_1&items[1][id]=si_2&items[1][deleted]="
	           "true");
	/* RFC 3986: space is %20, and ! * ( ) ' are encoded too; UTF-8 bytes */
	encoded_is("{\"name\":\"Pro plan (monthly)! it's *new* ~ok_-.\",\"city\":\"Toshkent "
	           "\xe2\x80\x94 \xd0\x9c\"}",
	           "name=Pro%20plan%20%28monthly%29%21%20it%27s%20%2Anew%2A%20~ok_-.&city="
	           "Toshkent%20%E2%80%94%20%D0%9C");
	/* names are encoded too, brackets are ours */
	encoded_is("{\"metadata\":{\"a b&c\":\"=\"}}", "metadata[a%20b%26c]=%3D");
	/* empty containers add nothing; negative and large integers */
	encoded_is("{\"a\":{},\"b\":[],\"n\":-5,\"big\":9007199254740993}",
	           "n=-5&big=9007199254740993");
}

static void test_form_refusals(void **state)
{
	struct buf b;
	json_t *v;

	(void)state;
	buf_init(&b, 64);
	v = json_pack("{s:f}", "amount", 9.99);
	assert_int_equal(stripe_form_encode(v, &b), -ERR_INVALID); /* minor units only */
	json_decref(v);
	v = json_pack("[s]", "x");
	assert_int_equal(stripe_form_encode(v, &b), -ERR_INVALID);
	json_decref(v);
	buf_reset(&b);
	v = json_pack("{s:s}", "description", "a long value that cannot fit in sixty-four bytes");
	assert_int_equal(stripe_form_encode(v, &b), -ERR_TOO_BIG);
	json_decref(v);
	buf_release(&b);
	assert_true(stripe_id_ok("in_1PqRsT_x"));
	assert_false(stripe_id_ok("in_1/../../v1/refunds"));
	assert_false(stripe_id_ok(""));
	assert_false(stripe_id_ok("sub 1"));
}

/* ---- readers -------------------------------------------------------------- */

/* An invoice of sub_1 for [s, e], in the current layout (parent,
 * payments) or the old one (subscription, payment_intent, charge). */
static json_t *invoice_obj(bool old, const char *id, const char *status, const char *reason,
                           int64_t amount, int64_t s, int64_t e, int64_t order_id, int attempts)
{
	char oid[24];
	json_t *inv, *line, *meta;
	bool paid = strcmp(status, "paid") == 0;

	snprintf(oid, sizeof(oid), "%lld", (long long)order_id);
	meta = order_id ? json_pack("{s:s, s:s}", "order_id", oid, "user_id", "1") : json_object();
	inv = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:I, s:I}", "id", id,
	                "object", "invoice", "status", status, "billing_reason", reason, "currency",
	                "usd", "customer", "cus_1", "amount_due", (json_int_t)amount, "amount_paid",
	                (json_int_t)(paid ? amount : 0), "attempt_count", attempts,
	                /* the invoice's own period: on a renewal the one that ended */
	                "period_start", (json_int_t)(s - 30 * DAY_S), "period_end", (json_int_t)s);
	line = json_pack("{s:s, s:I, s:{s:I, s:I}}", "id", "il_1", "amount", (json_int_t)amount,
	                 "period", "start", (json_int_t)s, "end", (json_int_t)e);
	if (old) {
		json_object_set_new(inv, "subscription", json_string("sub_1"));
		json_object_set_new(inv, "payment_intent", json_pack("{s:s}", "id", "pi_1"));
		json_object_set_new(inv, "charge", json_string("ch_1"));
		json_object_set_new(inv, "subscription_details",
		                    json_pack("{s:o}", "metadata", meta));
		json_object_set_new(line, "type", json_string("subscription"));
		json_object_set_new(line, "metadata", json_object());
	} else {
		json_object_set_new(inv, "parent",
		                    json_pack("{s:s, s:{s:s, s:o}}", "type", "subscription_details",
		                              "subscription_details", "subscription", "sub_1",
		                              "metadata", meta));
		json_object_set_new(inv, "payments",
		                    json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}]}",
		                              "object", "list", "data", "status", "canceled",
		                              "payment", "type", "payment_intent", "payment_intent",
		                              "pi_0", "status", paid ? "paid" : "open", "payment",
		                              "type", "payment_intent", "payment_intent", "pi_1"));
		json_object_set_new(line, "parent",
		                    json_pack("{s:s, s:{s:s}}", "type", "subscription_item_details",
		                              "subscription_item_details", "subscription_item",
		                              "si_1"));
	}
	/* a line that is not the subscription's comes first */
	json_object_set_new(inv, "lines",
	                    json_pack("{s:[{s:s, s:I, s:{s:I, s:I}}, o]}", "data", "id", "il_0",
	                              "amount", (json_int_t)0, "period", "start", (json_int_t)1,
	                              "end", (json_int_t)2, line));
	return inv;
}

static json_t *sub_obj(bool old, const char *id, const char *status, bool cancel, int64_t s,
                       int64_t e)
{
	json_t *sub = json_pack("{s:s, s:s, s:s, s:s, s:b, s:n, s:{s:s, s:s}, s:s}", "id", id,
	                        "object", "subscription", "status", status, "customer", "cus_1",
	                        "cancel_at_period_end", cancel, "cancel_at", "metadata", "order_id",
	                        "1", "user_id", "1", "latest_invoice", "in_1");

	if (old) {
		json_object_set_new(sub, "current_period_start", json_integer(s));
		json_object_set_new(sub, "current_period_end", json_integer(e));
		json_object_set_new(sub, "items", json_pack("{s:[{s:s}]}", "data", "id", "si_1"));
	} else {
		json_object_set_new(sub, "items",
		                    json_pack("{s:[{s:s, s:I, s:I}]}", "data", "id", "si_1",
		                              "current_period_start", (json_int_t)s,
		                              "current_period_end", (json_int_t)e));
	}
	return sub;
}

static void test_read_invoice_both_layouts(void **state)
{
	struct stripe_invoice a, b;

	(void)state;
	for (int old = 0; old < 2; old++) {
		json_t *v = invoice_obj(old, "in_9", "paid", "subscription_cycle", 999, T0_S,
		                        T0_S + 28 * DAY_S, 17, 1);

		stripe_invoice_read(v, old ? &b : &a);
		json_decref(v);
	}
	for (int i = 0; i < 2; i++) {
		struct stripe_invoice *x = i ? &b : &a;

		assert_string_equal(x->id, "in_9");
		assert_string_equal(x->status, "paid");
		assert_string_equal(x->billing_reason, "subscription_cycle");
		assert_string_equal(x->currency, "USD");
		assert_string_equal(x->subscription, "sub_1");
		assert_string_equal(x->customer, "cus_1");
		/* the paid payment, not the canceled one before it */
		assert_string_equal(x->payment_intent, "pi_1");
		assert_int_equal(x->amount_paid, 999);
		assert_int_equal(x->attempt_count, 1);
		/* the subscription line's service period, not the invoice's own */
		assert_int_equal(x->period_start, T0_S);
		assert_int_equal(x->period_end, T0_S + 28 * DAY_S);
		assert_int_equal(x->meta.order_id, 17);
		assert_int_equal(x->meta.user_id, 1);
	}
	assert_string_equal(b.charge, "ch_1");
	assert_string_equal(a.charge, "");

	/* expanded ids, metadata on the invoice only, nothing else */
	{
		json_t *v =
		    json_pack("{s:s, s:{s:s}, s:{s:s}, s:s}", "id", "in_x", "subscription", "id",
		              "sub_x", "metadata", "order_id", "5", "currency", "EUR!");

		stripe_invoice_read(v, &a);
		json_decref(v);
		assert_string_equal(a.subscription, "sub_x");
		assert_int_equal(a.meta.order_id, 5);
		assert_string_equal(a.currency, ""); /* not an ISO code */
		assert_int_equal(a.period_end, 0);
		stripe_invoice_read(json_null() /* tolerated */, &a);
		assert_string_equal(a.id, "");
	}
}

static void test_read_subscription_both_layouts(void **state)
{
	struct stripe_sub a, b;
	json_t *v;

	(void)state;
	v = sub_obj(false, "sub_1", "active", true, T0_S, T0_S + 30 * DAY_S);
	stripe_sub_read(v, &a);
	json_decref(v);
	v = sub_obj(true, "sub_1", "active", true, T0_S, T0_S + 30 * DAY_S);
	stripe_sub_read(v, &b);
	json_decref(v);
	for (int i = 0; i < 2; i++) {
		struct stripe_sub *x = i ? &b : &a;

		assert_string_equal(x->id, "sub_1");
		assert_string_equal(x->status, "active");
		assert_string_equal(x->customer, "cus_1");
		assert_string_equal(x->latest_invoice, "in_1");
		assert_true(x->cancel_at_period_end);
		assert_int_equal(x->cancel_at, 0);
		assert_int_equal(x->period_start, T0_S);
		assert_int_equal(x->period_end, T0_S + 30 * DAY_S);
		assert_int_equal(x->meta.order_id, 1);
	}
	/* two items: the earliest start, the latest end */
	v = json_pack("{s:s, s:{s:[{s:I, s:I}, {s:I, s:I}]}}", "id", "sub_2", "items", "data",
	              "current_period_start", (json_int_t)200, "current_period_end",
	              (json_int_t)900, "current_period_start", (json_int_t)100,
	              "current_period_end", (json_int_t)1000);
	stripe_sub_read(v, &a);
	json_decref(v);
	assert_int_equal(a.period_start, 100);
	assert_int_equal(a.period_end, 1000);
	assert_false(a.cancel_at_period_end);
}

static void test_read_session_charge_refund_event(void **state)
{
	struct stripe_session s;
	struct stripe_charge ch;
	struct stripe_refund re;
	struct stripe_event ev;
	char why[128];
	json_t *v;

	(void)state;
	v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:I, s:{s:s, s:s}}", "id",
	              "cs_test_1", "mode", "subscription", "status", "complete", "payment_status",
	              "paid", "subscription", "sub_1", "customer", "id", "cus_1", "invoice", "in_1",
	              "client_reference_id", "42", "amount_total", (json_int_t)999, "metadata",
	              "order_id", "7", "user_id", "42");
	json_object_set_new(v, "currency", json_string("usd"));
	stripe_session_read(v, &s);
	json_decref(v);
	assert_string_equal(s.id, "cs_test_1");
	assert_string_equal(s.payment_status, "paid");
	assert_string_equal(s.customer, "cus_1");
	assert_string_equal(s.invoice, "in_1");
	assert_string_equal(s.currency, "USD");
	assert_int_equal(s.client_user_id, 42);
	assert_int_equal(s.meta.order_id, 7);
	assert_int_equal(s.amount_total, 999);

	v = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "id", "ch_1", "payment_intent", "pi_1",
	              "invoice", "in_1", "currency", "usd", "amount", (json_int_t)999,
	              "amount_refunded", (json_int_t)300, "refunded", 0);
	stripe_charge_read(v, &ch);
	json_decref(v);
	assert_string_equal(ch.invoice, "in_1");
	assert_int_equal(ch.amount_refunded, 300);
	assert_false(ch.refunded);

	v = json_pack("{s:s, s:s, s:s, s:I, s:{s:s}, s:s}", "id", "re_1", "status", "succeeded",
	              "charge", "ch_1", "amount", (json_int_t)300, "metadata", "herald_invoice",
	              "in_1", "reason", "requested_by_customer");
	stripe_refund_read(v, &re);
	json_decref(v);
	assert_string_equal(re.invoice, "in_1");
	assert_int_equal(re.amount, 300);
	assert_string_equal(re.reason, "requested_by_customer");

	v = json_pack("{s:s, s:{s:s, s:s, s:s, s:s}}", "object", "payment_intent",
	              "last_payment_error", "type", "card_error", "code", "card_declined",
	              "decline_code", "insufficient_funds", "message",
	              "Your card has insufficient funds.");
	stripe_failure_text(v, why, sizeof(why));
	assert_string_equal(why, "card_declined (insufficient_funds): Your card has insufficient "
	                         "funds.");
	json_object_set_new(v, "last_payment_error", json_null());
	stripe_failure_text(v, why, sizeof(why));
	assert_string_equal(why, "");
	json_decref(v);

	v = json_pack("{s:s, s:s, s:I, s:{s:{s:s}, s:{s:b}}}", "id", "evt_1", "type",
	              "customer.subscription.updated", "created", (json_int_t)T0_S, "data",
	              "object", "id", "sub_1", "previous_attributes", "cancel_at_period_end", 0);
	assert_int_equal(stripe_event_read(v, &ev), 0);
	assert_string_equal(ev.id, "evt_1");
	assert_non_null(ev.previous);
	assert_string_equal(json_string_value(json_object_get(ev.object, "id")), "sub_1");
	json_object_set_new(v, "id", json_string("evt 1"));
	assert_int_equal(stripe_event_read(v, &ev), -ERR_INVALID);
	json_object_set_new(v, "id", json_string("evt_1"));
	json_object_set_new(v, "data", json_object());
	assert_int_equal(stripe_event_read(v, &ev), -ERR_INVALID);
	json_decref(v);
}

/* ---- a fake Stripe API ------------------------------------------------------ */

/*
 * Answers by "METHOD /v1/path" (query dropped): a response {"status",
 * "body", "headers"}, or an array of them used in turn (the last one
 * repeats). net_fail: that many calls fail first as if no connection
 * could be made. Every request is logged.
 */
struct fake {
	json_t *routes;
	json_t *log; /* [{"method", "url", "body", "headers": [...]}] */
	int net_fail;
	int64_t slept;
};

static struct fake *the_fake;

static void no_sleep(int64_t ms)
{
	the_fake->slept += ms;
}

static int fake_send(void *ctx, const struct hc_req *rq, struct hc_resp *rs, struct err *e)
{
	struct fake *f = ctx;
	const char *path = strstr(rq->url, "/v1/");
	json_t *entry, *resp, *owned = NULL, *hdrs = json_array();
	char key[512];
	size_t n;
	char *body;

	buf_init(&rs->body, 1 << 20);
	rs->status = 0;
	for (size_t i = 0; i < HC_MAX_CAPTURE; i++)
		rs->captured[i][0] = '\0';
	for (size_t i = 0; i < HC_MAX_HEADERS && rq->headers[i]; i++)
		json_array_append_new(hdrs, json_string(rq->headers[i]));
	json_array_append_new(f->log, json_pack("{s:s, s:s, s:s#, s:o}", "method", rq->method,
	                                        "url", rq->url, "body", rq->body ? rq->body : "",
	                                        rq->body ? rq->body_len : 0, "headers", hdrs));
	if (f->net_fail > 0) {
		f->net_fail--;
		return err_set(e, ERR_UNAVAILABLE, "http request failed: connection refused");
	}
	assert_non_null(path);
	n = strcspn(path, "?");
	snprintf(key, sizeof(key), "%s %.*s", rq->method, (int)n, path);
	entry = json_object_get(f->routes, key);
	if (!entry) {
		rs->status = 404;
		assert_int_equal(buf_adds(&rs->body,
		                          "{\"error\":{\"type\":\"invalid_request_error\","
		                          "\"code\":\"resource_missing\",\"message\":"
		                          "\"No such thing\"}}"),
		                 0);
		return 0;
	}
	resp = entry;
	if (json_is_array(entry)) {
		resp = json_array_get(entry, 0);
		if (json_array_size(entry) > 1) {
			owned = json_incref(resp);
			json_array_remove(entry, 0);
		}
	}
	rs->status = (long)json_integer_value(json_object_get(resp, "status"));
	for (size_t i = 0; i < HC_MAX_CAPTURE && rq->capture[i]; i++) {
		const char *v = json_string_value(
		    json_object_get(json_object_get(resp, "headers"), rq->capture[i]));

		snprintf(rs->captured[i], sizeof(rs->captured[i]), "%s", v ? v : "");
	}
	body = json_dumps(json_object_get(resp, "body"), JSON_COMPACT | JSON_ENCODE_ANY);
	assert_int_equal(buf_adds(&rs->body, body), 0);
	free(body);
	json_decref(owned);
	return 0;
}

static void route(struct fake *f, const char *key, int status, json_t *body)
{
	json_object_set_new(f->routes, key,
	                    json_pack("{s:i, s:o}", "status", status, "body", body));
}

/* Queue answers for key, used one after another. */
static void route_seq(struct fake *f, const char *key, int status, json_t *body,
                      const char *should_retry)
{
	json_t *seq = json_object_get(f->routes, key);
	json_t *r = json_pack("{s:i, s:o, s:{}}", "status", status, "body", body, "headers");

	if (should_retry)
		json_object_set_new(json_object_get(r, "headers"), "Stripe-Should-Retry",
		                    json_string(should_retry));
	json_object_set_new(json_object_get(r, "headers"), "Request-Id", json_string("req_unit"));
	if (!json_is_array(seq)) {
		seq = json_array();
		json_object_set_new(f->routes, key, seq);
	}
	json_array_append_new(seq, r);
}

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->routes = json_object();
	f->log = json_array();
	the_fake = f;
	return f;
}

static void fake_free(struct fake *f)
{
	json_decref(f->routes);
	json_decref(f->log);
	free(f);
	the_fake = NULL;
}

static void client(struct stripe_client *c, struct fake *f)
{
	stripe_client_init(c, "http://stripe.test/", API_KEY);
	c->send = fake_send;
	c->send_ctx = f;
	c->sleep_ms = no_sleep;
}

static const char *logged(struct fake *f, size_t i, const char *field)
{
	return json_string_value(json_object_get(json_array_get(f->log, i), field));
}

static bool has_header(struct fake *f, size_t i, const char *want)
{
	json_t *h = json_object_get(json_array_get(f->log, i), "headers"), *x;
	size_t k;

	json_array_foreach(h, k, x)
	{
		if (strcmp(json_string_value(x), want) == 0)
			return true;
	}
	return false;
}

/* ---- the client --------------------------------------------------------------- */

static json_t *stripe_err(const char *type, const char *code, const char *message)
{
	return json_pack("{s:{s:s, s:s?, s:s}}", "error", "type", type, "code", code, "message",
	                 message);
}

static void test_call_retries_with_one_key(void **state)
{
	struct fake *f = fake_new();
	struct stripe_client c;
	struct stripe_error se;
	struct err e = {0};
	json_t *params =
	           json_pack("{s:s, s:{s:s}}", "mode", "subscription", "metadata", "order_id", "7"),
	       *out = NULL;

	(void)state;
	client(&c, f);
	/* a 500, a 409, then the answer */
	route_seq(f, "POST /v1/checkout/sessions", 500, stripe_err("api_error", NULL, "boom"),
	          NULL);
	route_seq(f, "POST /v1/checkout/sessions", 409,
	          stripe_err("idempotency_error", NULL, "in flight"), NULL);
	route_seq(f, "POST /v1/checkout/sessions", 200, json_pack("{s:s}", "id", "cs_1"), NULL);
	c.max_retries = 3;
	assert_int_equal(stripe_call(&c, "POST", "/v1/checkout/sessions", params,
	                             "herald-order-7-1-session", &out, &se, &e),
	                 0);
	assert_string_equal(json_string_value(json_object_get(out, "id")), "cs_1");
	json_decref(out);
	assert_int_equal(json_array_size(f->log), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(logged(f, i, "url"), "http://stripe.test/v1/checkout/sessions");
		assert_string_equal(logged(f, i, "body"), "mode=subscription&metadata[order_id]=7");
		assert_true(has_header(f, i, "Authorization: Bearer " API_KEY));
		assert_true(has_header(f, i, "Stripe-Version: " STRIPE_API_VERSION));
		/* the same key every time: Stripe replays instead of acting twice */
		assert_true(has_header(f, i, "Idempotency-Key: herald-order-7-1-session"));
	}
	assert_int_equal(f->slept, 500 + 1000);

	/* a network failure first, then the answer */
	json_array_clear(f->log);
	f->net_fail = 1;
	route(f, "POST /v1/refunds", 200, json_pack("{s:s}", "id", "re_1"));
	assert_int_equal(
	    stripe_call(&c, "POST", "/v1/refunds", params, "herald-refund-x", &out, &se, &e), 0);
	json_decref(out);
	assert_int_equal(json_array_size(f->log), 2);
	assert_true(has_header(f, 1, "Idempotency-Key: herald-refund-x"));
	json_decref(params);
	fake_free(f);
}

static void test_call_gives_up_and_honours_should_retry(void **state)
{
	struct fake *f = fake_new();
	struct stripe_client c;
	struct stripe_error se;
	struct err e = {0};
	json_t *out = NULL;

	(void)state;
	client(&c, f);
	/* 503 every time: the first try and two retries */
	route(f, "GET /v1/invoices/in_1", 503, stripe_err("api_error", NULL, "down"));
	assert_int_equal(stripe_call(&c, "GET", "/v1/invoices/in_1", NULL, NULL, &out, &se, &e),
	                 -ERR_UNAVAILABLE);
	assert_null(out);
	assert_int_equal(json_array_size(f->log), 3);
	assert_int_equal(se.status, 503);
	/* a GET carries no idempotency key */
	assert_false(has_header(f, 0, "Idempotency-Key: "));

	/* Stripe-Should-Retry: false is final even for a 500 */
	json_array_clear(f->log);
	route_seq(f, "POST /v1/subscriptions/sub_1", 500, stripe_err("api_error", NULL, "no"),
	          "false");
	assert_int_equal(
	    stripe_call(&c, "POST", "/v1/subscriptions/sub_1", NULL, "k1", &out, &se, &e),
	    -ERR_UNAVAILABLE);
	assert_int_equal(json_array_size(f->log), 1);
	assert_string_equal(se.request_id, "req_unit");

	/* Stripe-Should-Retry: true makes a 400 worth another try */
	json_array_clear(f->log);
	route_seq(f, "POST /v1/customers", 400,
	          stripe_err("invalid_request_error", "lock_timeout", "busy"), "true");
	route_seq(f, "POST /v1/customers", 200, json_pack("{s:s}", "id", "cus_1"), NULL);
	assert_int_equal(stripe_call(&c, "POST", "/v1/customers", NULL, "k2", &out, &se, &e), 0);
	json_decref(out);
	assert_int_equal(json_array_size(f->log), 2);
	fake_free(f);
}

static void test_call_errors(void **state)
{
	struct fake *f = fake_new();
	struct stripe_client c;
	struct stripe_error se;
	struct err e = {0};
	json_t *out = NULL, *p;

	(void)state;
	client(&c, f);
	route(f, "POST /v1/payment_intents", 402,
	      json_pack("{s:{s:s, s:s, s:s, s:s, s:s}}", "error", "type", "card_error", "code",
	                "card_declined", "decline_code", "insufficient_funds", "message",
	                "Your card has insufficient funds.", "param", "payment_method"));
	assert_int_equal(stripe_call(&c, "POST", "/v1/payment_intents", NULL, "k", &out, &se, &e),
	                 -ERR_CONFLICT);
	assert_int_equal(json_array_size(f->log), 1); /* a decline is not retried */
	assert_int_equal(se.status, 402);
	assert_string_equal(se.type, "card_error");
	assert_string_equal(se.code, "card_declined");
	assert_string_equal(se.decline_code, "insufficient_funds");
	assert_string_equal(se.param, "payment_method");
	assert_non_null(strstr(e.msg, "insufficient funds"));

	/* the key never comes back in a message, even when Stripe quotes it */
	route(f, "GET /v1/balance", 401,
	      stripe_err("invalid_request_error", NULL, "Invalid API Key provided: " API_KEY));
	assert_int_equal(stripe_call(&c, "GET", "/v1/balance", NULL, NULL, &out, &se, &e),
	                 -ERR_AUTH);
	assert_null(strstr(e.msg, API_KEY));
	assert_null(strstr(se.message, API_KEY));
	assert_non_null(strstr(se.message, "Invalid API Key provided: ***"));

	route(f, "POST /v1/x", 400,
	      stripe_err("idempotency_error", NULL,
	                 "Keys for idempotent requests can only be "
	                 "used with the same parameters"));
	assert_int_equal(stripe_call(&c, "POST", "/v1/x", NULL, "k", &out, &se, &e), -ERR_CONFLICT);
	route(f, "POST /v1/y", 400,
	      stripe_err("invalid_request_error", "resource_missing", "No such customer"));
	assert_int_equal(stripe_call(&c, "POST", "/v1/y", NULL, "k", &out, &se, &e),
	                 -ERR_NOT_FOUND);
	route(f, "POST /v1/z", 400,
	      stripe_err("invalid_request_error", "parameter_missing", "Missing mode"));
	assert_int_equal(stripe_call(&c, "POST", "/v1/z", NULL, "k", &out, &se, &e), -ERR_INVALID);
	assert_int_equal(stripe_call(&c, "GET", "/v1/nothing", NULL, NULL, &out, &se, &e),
	                 -ERR_NOT_FOUND);
	/* an answer that is not JSON */
	json_object_set_new(f->routes, "GET /v1/html",
	                    json_pack("{s:i, s:s}", "status", 200, "body", "<html>"));
	assert_int_equal(stripe_call(&c, "GET", "/v1/html", NULL, NULL, &out, &se, &e),
	                 -ERR_INTERNAL);

	/* GET parameters go in the query string */
	json_array_clear(f->log);
	route(f, "GET /v1/invoices", 200, json_pack("{s:[]}", "data"));
	p = json_pack("{s:s, s:i, s:[s]}", "customer", "cus_1", "limit", 100, "expand",
	              "data.payments");
	assert_int_equal(stripe_call(&c, "GET", "/v1/invoices", p, NULL, &out, &se, &e), 0);
	json_decref(p);
	json_decref(out);
	assert_string_equal(logged(f, 0, "url"), "http://stripe.test/v1/invoices?customer=cus_1&"
	                                         "limit=100&expand[0]=data.payments");
	assert_string_equal(logged(f, 0, "body"), "");

	/* no key configured: nothing is sent */
	json_array_clear(f->log);
	c.key = NULL;
	assert_int_equal(stripe_call(&c, "GET", "/v1/invoices", NULL, NULL, &out, &se, &e),
	                 -ERR_UNAVAILABLE);
	assert_int_equal(json_array_size(f->log), 0);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_form_encoding),
	    cmocka_unit_test(test_form_refusals),
	    cmocka_unit_test(test_read_invoice_both_layouts),
	    cmocka_unit_test(test_read_subscription_both_layouts),
	    cmocka_unit_test(test_read_session_charge_refund_event),
	    cmocka_unit_test(test_call_retries_with_one_key),
	    cmocka_unit_test(test_call_gives_up_and_honours_should_retry),
	    cmocka_unit_test(test_call_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
