/*
 * Unit tests of the Stripe adapter (billing/stripe.h): the form encoding
 * of B.2; the readers of events, sessions, invoices, subscriptions, charges
 * and refunds in both field layouts (before and after 2025-03-31); the
 * client's headers, retries and errors against a fake transport; and the
 * webhook on a real SQLite file with a fake Stripe API: signatures,
 * activation once whichever event comes first, repeats, renewals that fail
 * and recover, cancels and reactivations, a late update after the end,
 * refunds, refusals and an unreachable API.
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

static size_t count_requests(struct fake *f, const char *method, const char *prefix)
{
	size_t n = 0;

	for (size_t i = 0; i < json_array_size(f->log); i++)
		if (strcmp(logged(f, i, "method"), method) == 0 &&
		    strstr(logged(f, i, "url"), prefix) != NULL)
			n++;
	return n;
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

	/* an expansion refused (a stand-in that always includes the field):
	 * read again without it; one that is accepted is read once */
	json_array_clear(f->log);
	route_seq(f, "GET /v1/invoices/in_1", 400,
	          json_pack("{s:{s:s, s:s, s:s}}", "error", "type", "invalid_request_error",
	                    "param", "expand", "message", "This property cannot be expanded"),
	          NULL);
	route_seq(f, "GET /v1/invoices/in_1", 200, json_pack("{s:s}", "id", "in_1"), NULL);
	assert_int_equal(stripe_get_expanded(&c, "/v1/invoices/in_1", NULL, "payments", &out, &e),
	                 0);
	json_decref(out);
	assert_int_equal(json_array_size(f->log), 2);
	assert_string_equal(logged(f, 0, "url"),
	                    "http://stripe.test/v1/invoices/in_1?expand[0]=payments");
	assert_string_equal(logged(f, 1, "url"), "http://stripe.test/v1/invoices/in_1");
	assert_int_equal(stripe_get_expanded(&c, "/v1/invoices/in_1", NULL, "payments", &out, &e),
	                 0);
	json_decref(out);
	assert_int_equal(json_array_size(f->log), 3);
	/* another refusal is not retried without the expansion */
	route(f, "GET /v1/invoices/in_2", 400,
	      stripe_err("invalid_request_error", "parameter_unknown", "Received unknown"));
	assert_int_equal(stripe_get_expanded(&c, "/v1/invoices/in_2", NULL, "payments", &out, &e),
	                 -ERR_INVALID);
	assert_int_equal(json_array_size(f->log), 4);

	/* no key configured: nothing is sent */
	json_array_clear(f->log);
	c.key = NULL;
	assert_int_equal(stripe_call(&c, "GET", "/v1/invoices", NULL, NULL, &out, &se, &e),
	                 -ERR_UNAVAILABLE);
	assert_int_equal(json_array_size(f->log), 0);
	fake_free(f);
}

/* ---- the webhook on a real store --------------------------------------------- */

struct fx {
	char dir[64];
	struct store *st;
	struct fake *f;
	struct stripe_client api;
	struct stripe_hook_env env;
	int64_t user;
	struct billing_order order;
	int seq;
};

static int64_t one_int(struct fx *fx, const char *sql, const char *arg)
{
	struct store_res *r = NULL;
	struct store_val a = SV_TEXT(arg ? arg : "");
	struct err e = {0};
	int64_t v;

	if (store_exec(fx->st, sql, &a, strstr(sql, "$1") ? 1 : 0, &r, &e))
		fail_msg("%s: %s", sql, e.msg);
	if (store_res_rows(r) != 1)
		fail_msg("%s: %zu rows", sql, store_res_rows(r));
	v = store_res_int(r, 0, 0);
	store_res_free(r);
	return v;
}

static char *one_text(struct fx *fx, const char *sql, const char *arg)
{
	struct store_res *r = NULL;
	struct store_val a = SV_TEXT(arg ? arg : "");
	struct err e = {0};
	char *v;

	if (store_exec(fx->st, sql, &a, strstr(sql, "$1") ? 1 : 0, &r, &e))
		fail_msg("%s: %s", sql, e.msg);
	if (store_res_rows(r) != 1)
		fail_msg("%s: %zu rows", sql, store_res_rows(r));
	v = xstrdup(store_res_text(r, 0, 0));
	store_res_free(r);
	return v;
}

static void text_is(struct fx *fx, const char *sql, const char *arg, const char *want)
{
	char *got = one_text(fx, sql, arg);

	if (strcmp(got, want) != 0)
		fail_msg("%s (%s): got \"%s\", want \"%s\"", sql, arg ? arg : "", got, want);
	free(got);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct store_conn *c;
	struct err e = {0};
	char url[128];

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/herald-stripe-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(url, sizeof(url), "%s/t.db", fx->dir);
	assert_int_equal(store_open(&fx->st, url, NULL, &e), 0);
	if (store_migrate(fx->st, NULL, &e))
		fail_msg("migrate: %s", e.msg);
	fx->user = one_int(
	    fx, "INSERT INTO users (telegram_id, created_at) VALUES (7, 1) RETURNING id", NULL);
	assert_int_equal(store_conn_get(fx->st, &c, &e), 0);
	assert_int_equal(
	    billing_order_new(c, fx->user, "pro", "month", BP_STRIPE, T0, &fx->order, &e), 0);
	assert_int_equal(billing_order_set_ref(c, fx->order.id, "cs_test_1", &e), 0);
	store_conn_put(fx->st, c);
	fx->f = fake_new();
	client(&fx->api, fx->f);
	fx->env = (struct stripe_hook_env){.st = fx->st,
	                                   .api = &fx->api,
	                                   .secret = SECRET,
	                                   .now_s = T0_S,
	                                   .now_ms = T0,
	                                   .pol = &billing_policy_default};
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	static const char *const files[] = {"t.db", "t.db-wal", "t.db-shm"};
	char path[128];

	fake_free(fx->f);
	store_free(fx->st);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->dir, files[i]);
		unlink(path);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* An event of type about object (stolen), previous may be NULL (stolen). */
static json_t *event(struct fx *fx, const char *type, json_t *object, json_t *previous)
{
	char id[32];
	json_t *ev;

	snprintf(id, sizeof(id), "evt_unit_%d", ++fx->seq);
	ev = json_pack("{s:s, s:s, s:s, s:I, s:{s:o}}", "id", id, "object", "event", "type", type,
	               "created", (json_int_t)fx->env.now_s, "data", "object", object);
	if (previous)
		json_object_set_new(json_object_get(ev, "data"), "previous_attributes", previous);
	return ev;
}

/* Sign and deliver ev (borrowed) as Stripe would, at the fixture's time. */
static struct stripe_hook_result deliver_signed(struct fx *fx, const json_t *ev, const char *secret,
                                                int64_t t)
{
	struct stripe_hook_result res;
	char *body = json_dumps(ev, JSON_COMPACT);
	char sig[SIG_STRIPE_SIGNED_MAX];

	sig_stripe_sign(secret, t, body, strlen(body), sig, sizeof(sig));
	stripe_hook_handle(&fx->env, sig, body, strlen(body), &res);
	free(body);
	return res;
}

static struct stripe_hook_result deliver(struct fx *fx, const json_t *ev)
{
	return deliver_signed(fx, ev, SECRET, fx->env.now_s);
}

static void ok(const struct stripe_hook_result *r, bool repeat, const char *effect_has)
{
	if (r->status != 200)
		fail_msg("status %d: %s", r->status, r->error);
	assert_int_equal(r->repeat, repeat);
	if (effect_has && !strstr(r->effect, effect_has))
		fail_msg("effect \"%s\" has no \"%s\"", r->effect, effect_has);
}

#define N_EVENTS  "SELECT count(*) FROM provider_events WHERE provider = 'stripe'"
#define N_PAID    "SELECT count(*) FROM payments WHERE kind = 'payment' AND status = 'succeeded'"
#define SUB_STATE "SELECT state FROM subscriptions WHERE provider_subscription_id = $1"
#define PLAN      "SELECT plan FROM users WHERE telegram_id = 7"

static json_t *session_obj(struct fx *fx, const char *invoice)
{
	char oid[24], uid[24];

	snprintf(oid, sizeof(oid), "%lld", (long long)fx->order.id);
	snprintf(uid, sizeof(uid), "%lld", (long long)fx->user);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:s, s:I, s:{s:s, s:s}}", "id",
	                 "cs_test_1", "object", "checkout.session", "mode", "subscription",
	                 "status", "complete", "payment_status", "paid", "subscription", "sub_1",
	                 "invoice", invoice, "customer", "cus_1", "client_reference_id", uid,
	                 "amount_total", (json_int_t)999, "metadata", "order_id", oid, "user_id",
	                 uid);
}

/* The API's view: invoice in_1 paid for the first month, sub_1 active. */
static void stripe_has_purchase(struct fx *fx)
{
	route(fx->f, "GET /v1/invoices/in_1", 200,
	      invoice_obj(false, "in_1", "paid", "subscription_create", 999, T0_S,
	                  T0_S + 28 * DAY_S, fx->order.id, 1));
	route(fx->f, "GET /v1/subscriptions/sub_1", 200,
	      sub_obj(false, "sub_1", "active", false, T0_S, T0_S + 28 * DAY_S));
}

static void purchase(struct fx *fx)
{
	json_t *ev;

	stripe_has_purchase(fx);
	ev = event(fx, "checkout.session.completed", session_obj(fx, "in_1"), NULL);
	{
		struct stripe_hook_result r = deliver(fx, ev);

		ok(&r, false, "none -> active");
	}
	json_decref(ev);
}

static void test_hook_signature(void **state)
{
	struct fx *fx = *state;
	json_t *ev = event(fx, "invoice.paid", json_pack("{s:s}", "id", "in_1"), NULL);
	char *body = json_dumps(ev, JSON_COMPACT);
	struct stripe_hook_result r;

	stripe_has_purchase(fx);
	/* no header, the wrong secret, too old, too far ahead, a tampered body */
	stripe_hook_handle(&fx->env, NULL, body, strlen(body), &r);
	assert_int_equal(r.status, 400);
	r = deliver_signed(fx, ev, "whsec_someone_else", fx->env.now_s);
	assert_int_equal(r.status, 400);
	assert_null(strstr(r.error, SECRET));
	r = deliver_signed(fx, ev, SECRET, fx->env.now_s - SIG_STRIPE_TOLERANCE - 1);
	assert_int_equal(r.status, 400);
	r = deliver_signed(fx, ev, SECRET, fx->env.now_s + SIG_STRIPE_TOLERANCE + 1);
	assert_int_equal(r.status, 400);
	{
		char sig[SIG_STRIPE_SIGNED_MAX];

		sig_stripe_sign(SECRET, fx->env.now_s, body, strlen(body), sig, sizeof(sig));
		body[strlen(body) - 2] = 'X';
		stripe_hook_handle(&fx->env, sig, body, strlen(body), &r);
		assert_int_equal(r.status, 400);
	}
	/* nothing was read from Stripe, nothing was recorded or paid */
	assert_int_equal(json_array_size(fx->f->log), 0);
	assert_int_equal(one_int(fx, N_EVENTS, NULL), 0);
	assert_int_equal(one_int(fx, N_PAID, NULL), 0);
	/* a signed body that is not an event */
	{
		const char *junk = "[1,2]";
		char sig[SIG_STRIPE_SIGNED_MAX];

		sig_stripe_sign(SECRET, fx->env.now_s, junk, strlen(junk), sig, sizeof(sig));
		stripe_hook_handle(&fx->env, sig, junk, strlen(junk), &r);
		assert_int_equal(r.status, 400);
	}
	/* no secret configured */
	fx->env.secret = NULL;
	r = deliver(fx, ev);
	assert_int_equal(r.status, 503);
	fx->env.secret = SECRET;
	/* the real thing */
	r = deliver(fx, ev);
	ok(&r, false, "none -> active");
	free(body);
	json_decref(ev);
}

static void test_hook_purchase_session_first(void **state)
{
	struct fx *fx = *state;
	struct stripe_hook_result r;
	json_t *ev;

	purchase(fx);
	text_is(fx, SUB_STATE, "sub_1", "active");
	text_is(fx, PLAN, NULL, "pro");
	text_is(fx, "SELECT state FROM orders WHERE provider_ref = $1", "cs_test_1", "paid");
	/* the period is the invoice line's, in ms */
	assert_int_equal(one_int(fx,
	                         "SELECT current_period_end FROM subscriptions WHERE "
	                         "provider_subscription_id = $1",
	                         "sub_1"),
	                 (T0_S + 28 * DAY_S) * 1000);
	text_is(fx,
	        "SELECT provider_customer_id FROM subscriptions WHERE "
	        "provider_subscription_id = $1",
	        "sub_1", "cus_1");
	/* invoice.paid for the same invoice: a repeat in the ledger */
	ev = event(fx, "invoice.paid",
	           invoice_obj(false, "in_1", "paid", "subscription_create", 999, T0_S,
	                       T0_S + 28 * DAY_S, fx->order.id, 1),
	           NULL);
	r = deliver(fx, ev);
	ok(&r, false, "repeat: payment in_1 recorded before");
	/* the same delivery again: recorded before, nothing read or changed */
	{
		size_t calls = json_array_size(fx->f->log);

		r = deliver(fx, ev);
		ok(&r, true, NULL);
		assert_int_equal(json_array_size(fx->f->log), calls);
	}
	json_decref(ev);
	assert_int_equal(one_int(fx, N_PAID, NULL), 1);
	assert_int_equal(one_int(fx, N_EVENTS, NULL), 2);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM subscriptions", NULL), 1);
	assert_int_equal(
	    one_int(fx, "SELECT count(*) FROM billing_notices WHERE kind = 'activated'", NULL), 1);
}

static void test_hook_purchase_invoice_first(void **state)
{
	struct fx *fx = *state;
	struct stripe_hook_result r;
	json_t *ev;

	stripe_has_purchase(fx);
	/* the old layout in the event; the API's answer is the current one */
	ev = event(fx, "invoice.paid",
	           invoice_obj(true, "in_1", "paid", "subscription_create", 999, T0_S,
	                       T0_S + 28 * DAY_S, fx->order.id, 1),
	           NULL);
	r = deliver(fx, ev);
	ok(&r, false, "none -> active");
	json_decref(ev);
	/* the session comes after, without an invoice: read from the subscription */
	ev = event(fx, "checkout.session.completed", session_obj(fx, NULL), NULL);
	r = deliver(fx, ev);
	ok(&r, false, "repeat:");
	json_decref(ev);
	assert_int_equal(count_requests(fx->f, "GET", "/v1/subscriptions/sub_1"), 1);
	assert_int_equal(one_int(fx, N_PAID, NULL), 1);
	text_is(fx, SUB_STATE, "sub_1", "active");
}

static void test_hook_session_unpaid_then_invoice(void **state)
{
	struct fx *fx = *state;
	struct stripe_hook_result r;
	json_t *ev, *s;

	/* the invoice is still open when the session completes */
	route(fx->f, "GET /v1/invoices/in_1", 200,
	      invoice_obj(false, "in_1", "open", "subscription_create", 999, T0_S,
	                  T0_S + 28 * DAY_S, fx->order.id, 0));
	s = session_obj(fx, "in_1");
	json_object_set_new(s, "payment_status", json_string("unpaid"));
	ev = event(fx, "checkout.session.completed", s, NULL);
	r = deliver(fx, ev);
	ok(&r, false, "waiting for invoice.paid");
	json_decref(ev);
	assert_int_equal(one_int(fx, N_PAID, NULL), 0);
	text_is(fx, PLAN, NULL, "free");
	stripe_has_purchase(fx);
	ev = event(fx, "invoice.paid", json_pack("{s:s}", "id", "in_1"), NULL);
	r = deliver(fx, ev);
	ok(&r, false, "none -> active");
	json_decref(ev);
	text_is(fx, PLAN, NULL, "pro");
}

static void test_hook_renewal_fails_and_recovers(void **state)
{
	struct fx *fx = *state;
	int64_t s2 = T0_S + 28 * DAY_S, e2 = s2 + 31 * DAY_S;
	struct stripe_hook_result r;
	json_t *ev, *failed_ev;

	purchase(fx);
	fx->env.now_s = s2 + 60;
	fx->env.now_ms = (s2 + 60) * 1000;
	route(
	    fx->f, "GET /v1/invoices/in_2", 200,
	    invoice_obj(false, "in_2", "open", "subscription_cycle", 999, s2, e2, fx->order.id, 1));
	route(fx->f, "GET /v1/payment_intents/pi_1", 200,
	      json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "id", "pi_1", "object",
	                "payment_intent", "last_payment_error", "type", "card_error", "code",
	                "card_declined", "decline_code", "insufficient_funds", "message",
	                "Your card has insufficient funds."));
	failed_ev = event(fx, "invoice.payment_failed", json_pack("{s:s}", "id", "in_2"), NULL);
	r = deliver(fx, failed_ev);
	ok(&r, false, "active -> past_due");
	text_is(fx, SUB_STATE, "sub_1", "past_due");
	text_is(fx, PLAN, NULL, "pro"); /* the grace keeps the plan */
	assert_int_equal(one_int(fx, "SELECT grace_until FROM subscriptions", NULL),
	                 fx->env.now_ms + billing_policy_default.grace_ms);
	text_is(fx, "SELECT reason FROM payments WHERE provider_payment_id = $1", "in_2",
	        "card_declined (insufficient_funds): Your card has insufficient funds.; attempt 1");
	text_is(fx, "SELECT status FROM payments WHERE provider_payment_id = $1", "in_2", "failed");

	/* Stripe's retry succeeds */
	route(
	    fx->f, "GET /v1/invoices/in_2", 200,
	    invoice_obj(false, "in_2", "paid", "subscription_cycle", 999, s2, e2, fx->order.id, 2));
	ev = event(fx, "invoice.paid", json_pack("{s:s}", "id", "in_2"), NULL);
	r = deliver(fx, ev);
	ok(&r, false, "past_due -> active");
	json_decref(ev);
	text_is(fx, SUB_STATE, "sub_1", "active");
	text_is(fx, "SELECT status FROM payments WHERE provider_payment_id = $1", "in_2",
	        "succeeded");
	assert_int_equal(one_int(fx, "SELECT current_period_end FROM subscriptions", NULL),
	                 e2 * 1000);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM subscriptions", NULL), 1);

	/* the failure delivered again under a new event id, after the payment:
	 * the invoice is paid now, so it changes nothing */
	json_object_set_new(failed_ev, "id", json_string("evt_unit_late_failure"));
	r = deliver(fx, failed_ev);
	ok(&r, false, "repeat: payment in_2 recorded before");
	json_decref(failed_ev);
	text_is(fx, SUB_STATE, "sub_1", "active");

	/* a payment of an earlier period that arrives late is recorded, but
	 * does not move the period back */
	route(fx->f, "GET /v1/invoices/in_0", 200,
	      invoice_obj(false, "in_0", "paid", "subscription_cycle", 999, T0_S - 31 * DAY_S, T0_S,
	                  fx->order.id, 1));
	ev = event(fx, "invoice.paid", json_pack("{s:s}", "id", "in_0"), NULL);
	r = deliver(fx, ev);
	ok(&r, false, "active -> active");
	json_decref(ev);
	assert_int_equal(one_int(fx, N_PAID, NULL), 3);
	assert_int_equal(one_int(fx, "SELECT current_period_end FROM subscriptions", NULL),
	                 e2 * 1000);
}

static void test_hook_cancel_reactivate_end(void **state)
{
	struct fx *fx = *state;
	struct stripe_hook_result r;
	json_t *ev;

	purchase(fx);
	/* canceled at period end (from Stripe's portal) */
	route(fx->f, "GET /v1/subscriptions/sub_1", 200,
	      sub_obj(false, "sub_1", "active", true, T0_S, T0_S + 28 * DAY_S));
	ev = event(fx, "customer.subscription.updated",
	           sub_obj(false, "sub_1", "active", true, T0_S, T0_S + 28 * DAY_S),
	           json_pack("{s:b}", "cancel_at_period_end", 0));
	r = deliver(fx, ev);
	ok(&r, false, "active -> canceled (cancel_requested)");
	json_decref(ev);
	text_is(fx, SUB_STATE, "sub_1", "canceled");
	text_is(fx, PLAN, NULL, "pro");
	/* a stale copy of an older toggle: the event says false, Stripe says
	 * true now, so nothing is undone */
	ev = event(fx, "customer.subscription.updated",
	           sub_obj(false, "sub_1", "active", false, T0_S, T0_S + 28 * DAY_S),
	           json_pack("{s:b}", "cancel_at_period_end", 1));
	r = deliver(fx, ev);
	ok(&r, false, "no change");
	json_decref(ev);
	text_is(fx, SUB_STATE, "sub_1", "canceled");
	/* reactivated */
	route(fx->f, "GET /v1/subscriptions/sub_1", 200,
	      sub_obj(false, "sub_1", "active", false, T0_S, T0_S + 28 * DAY_S));
	ev = event(fx, "customer.subscription.updated",
	           sub_obj(false, "sub_1", "active", false, T0_S, T0_S + 28 * DAY_S),
	           json_pack("{s:b}", "cancel_at_period_end", 1));
	r = deliver(fx, ev);
	ok(&r, false, "canceled -> active (reactivated)");
	json_decref(ev);
	/* an update of something else is not read from Stripe at all */
	{
		size_t calls = json_array_size(fx->f->log);

		ev = event(fx, "customer.subscription.updated",
		           sub_obj(false, "sub_1", "active", false, T0_S, T0_S + 28 * DAY_S),
		           json_pack("{s:{}}", "metadata"));
		r = deliver(fx, ev);
		ok(&r, false, "ignored: no change");
		json_decref(ev);
		assert_int_equal(json_array_size(fx->f->log), calls);
	}
	/* deleted: ends now, down to free */
	ev = event(fx, "customer.subscription.deleted",
	           sub_obj(false, "sub_1", "canceled", false, T0_S, T0_S + 28 * DAY_S), NULL);
	r = deliver(fx, ev);
	ok(&r, false, "active -> expired (canceled_now)");
	json_decref(ev);
	text_is(fx, SUB_STATE, "sub_1", "expired");
	text_is(fx, PLAN, NULL, "free");
	/* a late update from before the end, whose snapshot says active and
	 * reactivated: Stripe says canceled, and expired refuses every event */
	route(fx->f, "GET /v1/subscriptions/sub_1", 200,
	      sub_obj(false, "sub_1", "canceled", false, T0_S, T0_S + 28 * DAY_S));
	ev = event(fx, "customer.subscription.updated",
	           sub_obj(false, "sub_1", "active", false, T0_S, T0_S + 28 * DAY_S),
	           json_pack("{s:b, s:s}", "cancel_at_period_end", 1, "status", "past_due"));
	r = deliver(fx, ev);
	ok(&r, false, "ignored:");
	json_decref(ev);
	text_is(fx, SUB_STATE, "sub_1", "expired");
	text_is(fx, PLAN, NULL, "free");
	assert_int_equal(
	    one_int(fx, "SELECT count(*) FROM billing_notices WHERE kind = 'expired'", NULL), 1);
}

static void test_hook_refunds(void **state)
{
	struct fx *fx = *state;
	struct stripe_hook_result r;
	json_t *ev, *charge;

	purchase(fx);
	/* a charge in the current layout names no invoice: found through the
	 * customer's invoices */
	route(fx->f, "GET /v1/invoices", 200,
	      json_pack("{s:[o]}", "data",
	                invoice_obj(false, "in_1", "paid", "subscription_create", 999, T0_S,
	                            T0_S + 28 * DAY_S, fx->order.id, 1)));
	route(fx->f, "GET /v1/refunds", 200,
	      json_pack("{s:[{s:s, s:s, s:s, s:I}]}", "data", "id", "re_1", "status", "succeeded",
	                "charge", "ch_1", "amount", (json_int_t)300));
	charge = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "id", "ch_1", "object", "charge",
	                   "payment_intent", "pi_1", "customer", "cus_1", "amount", (json_int_t)999,
	                   "amount_refunded", (json_int_t)300, "refunded", 0);
	ev = event(fx, "charge.refunded", json_deep_copy(charge), NULL);
	r = deliver(fx, ev);
	ok(&r, false, "refund re_1 of 300 USD (partial)");
	json_decref(ev);
	text_is(fx, SUB_STATE, "sub_1", "active");
	/* the rest, in a second refund; the first is listed again */
	route(fx->f, "GET /v1/refunds", 200,
	      json_pack("{s:[{s:s, s:s, s:s, s:I, s:{s:s}}, {s:s, s:s, s:s, s:I}]}", "data", "id",
	                "re_2", "status", "succeeded", "charge", "ch_1", "amount", (json_int_t)699,
	                "metadata", "herald_invoice", "in_1", "id", "re_1", "status", "succeeded",
	                "charge", "ch_1", "amount", (json_int_t)300));
	json_object_set_new(charge, "amount_refunded", json_integer(999));
	ev = event(fx, "charge.refunded", charge, NULL);
	r = deliver(fx, ev);
	ok(&r, false, "refund re_2 of 699 USD (full)");
	json_decref(ev);
	text_is(fx, SUB_STATE, "sub_1", "expired");
	text_is(fx, PLAN, NULL, "free");
	assert_int_equal(one_int(fx, "SELECT count(*) FROM payments WHERE kind = 'refund'", NULL),
	                 2);
	assert_int_equal(
	    one_int(fx, "SELECT sum(amount) FROM payments WHERE kind = 'refund'", NULL), 999);
}

static void test_hook_refusals_and_outages(void **state)
{
	struct fx *fx = *state;
	struct stripe_hook_result r;
	json_t *ev;

	/* a type Herald does not act on: recorded as ignored */
	ev = event(fx, "customer.created", json_pack("{s:s}", "id", "cus_1"), NULL);
	r = deliver(fx, ev);
	ok(&r, false, "ignored: customer.created");
	json_decref(ev);
	text_is(fx, "SELECT effect FROM provider_events WHERE event_id = $1", "evt_unit_1",
	        "ignored: customer.created is not a type Herald acts on");

	/* Stripe cannot be reached: 503 and nothing recorded, so Stripe delivers
	 * again; then it can, and the same event applies */
	route(fx->f, "GET /v1/invoices/in_1", 503, stripe_err("api_error", NULL, "down"));
	ev = event(fx, "invoice.paid", json_pack("{s:s}", "id", "in_1"), NULL);
	r = deliver(fx, ev);
	assert_int_equal(r.status, 503);
	assert_int_equal(
	    one_int(fx, "SELECT count(*) FROM provider_events WHERE event_id = $1", "evt_unit_2"),
	    0);
	stripe_has_purchase(fx);
	r = deliver(fx, ev);
	ok(&r, false, "none -> active");
	json_decref(ev);

	/* an amount that is not the order's is refused, recorded, answered 200 */
	{
		struct store_conn *c;
		struct err e = {0};
		struct billing_order o2;

		assert_int_equal(store_conn_get(fx->st, &c, &e), 0);
		assert_int_equal(
		    billing_order_new(c, fx->user, "business", "month", BP_STRIPE, T0, &o2, &e), 0);
		store_conn_put(fx->st, c);
		route(fx->f, "GET /v1/invoices/in_x", 200,
		      invoice_obj(false, "in_x", "paid", "subscription_create", 1, T0_S,
		                  T0_S + 28 * DAY_S, o2.id, 1));
		ev = event(fx, "invoice.paid", json_pack("{s:s}", "id", "in_x"), NULL);
		r = deliver(fx, ev);
		ok(&r, false, "refused: order");
		json_decref(ev);
		assert_int_equal(one_int(fx,
		                         "SELECT count(*) FROM payments WHERE "
		                         "provider_payment_id = $1",
		                         "in_x"),
		                 0);
	}
	/* an invoice of a subscription Herald never made */
	route(fx->f, "GET /v1/invoices/in_y", 200,
	      invoice_obj(false, "in_y", "paid", "subscription_create", 999, T0_S,
	                  T0_S + 28 * DAY_S, 0, 1));
	json_object_set_new(
	    json_object_get(
	        json_object_get(json_object_get(fx->f->routes, "GET /v1/invoices/in_y"), "body"),
	        "parent"),
	    "subscription_details",
	    json_pack("{s:s, s:{}}", "subscription", "sub_other", "metadata"));
	ev = event(fx, "invoice.paid", json_pack("{s:s}", "id", "in_y"), NULL);
	r = deliver(fx, ev);
	ok(&r, false, "refused: invoice in_y: no order or subscription");
	json_decref(ev);
	/* an object Stripe no longer has */
	ev = event(fx, "invoice.paid", json_pack("{s:s}", "id", "in_gone"), NULL);
	r = deliver(fx, ev);
	ok(&r, false, "ignored:");
	json_decref(ev);
	assert_int_equal(one_int(fx, N_PAID, NULL), 1);
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
	    cmocka_unit_test_setup_teardown(test_hook_signature, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hook_purchase_session_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hook_purchase_invoice_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hook_session_unpaid_then_invoice, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hook_renewal_fails_and_recovers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hook_cancel_reactivate_end, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hook_refunds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hook_refusals_and_outages, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
