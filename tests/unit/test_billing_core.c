/*
 * Unit tests of billing.c and lifecycle.c on a real SQLite file: orders at
 * the current price, the event ledger, what a payment, a failure and a
 * refund do to the ledger, the subscription, the user's plan and channels,
 * and what the clock does (reminders, period ends, grace ends).
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
#include "lib/mem.h"
#include "store/store.h"

/* 2026-01-31T12:00:00Z */
#define T0  1769860800000LL
#define DAY (24LL * 3600 * 1000)

struct fx {
	char dir[64];
	struct store *st;
	struct store_conn *c;
	int64_t user;
};

static int64_t one_int(struct fx *fx, const char *sql, int64_t arg)
{
	struct store_res *r = NULL;
	struct store_val a = SV_INT(arg);
	struct err e = {0};
	int64_t v;

	if (store_query(fx->c, sql, &a, strstr(sql, "$1") ? 1 : 0, &r, &e))
		fail_msg("%s: %s", sql, e.msg);
	if (store_res_rows(r) != 1)
		fail_msg("%s: %zu rows", sql, store_res_rows(r));
	v = store_res_int(r, 0, 0);
	store_res_free(r);
	return v;
}

static void text_is(struct fx *fx, const char *sql, int64_t arg, const char *want)
{
	struct store_res *r = NULL;
	struct store_val a = SV_INT(arg);
	struct err e = {0};

	if (store_query(fx->c, sql, &a, strstr(sql, "$1") ? 1 : 0, &r, &e))
		fail_msg("%s: %s", sql, e.msg);
	assert_int_equal(store_res_rows(r), 1);
	assert_string_equal(store_res_text(r, 0, 0), want);
	store_res_free(r);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct err e = {0};
	char url[128];

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/herald-billing-core-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(url, sizeof(url), "%s/t.db", fx->dir);
	assert_int_equal(store_open(&fx->st, url, NULL, &e), 0);
	if (store_migrate(fx->st, NULL, &e))
		fail_msg("migrate: %s", e.msg);
	assert_int_equal(store_conn_get(fx->st, &fx->c, &e), 0);
	fx->user = one_int(
	    fx, "INSERT INTO users (telegram_id, created_at) VALUES (7, 1) RETURNING id", 0);
	/* three channels, made one a day apart */
	for (int i = 0; i < 3; i++) {
		struct store_val a[] = {SV_INT(fx->user), SV_INT(-1001 - i),
		                        SV_INT(T0 - (3 - i) * DAY)};

		assert_int_equal(
		    store_query(fx->c,
		                "INSERT INTO channels (owner_id, chat_id, status, "
		                "checked_at, created_at) VALUES ($1, $2, 'ok', $3, $3)",
		                a, 3, NULL, &e),
		    0);
	}
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

static struct billing_order order(struct fx *fx, const char *plan, const char *period,
                                  enum billing_provider p)
{
	struct billing_order o;
	struct err e = {0};

	if (billing_order_new(fx->c, fx->user, plan, period, p, T0, &o, &e))
		fail_msg("order: %s", e.msg);
	return o;
}

static struct billing_effect pay(struct fx *fx, const struct billing_order *o, const char *id,
                                 int64_t now)
{
	struct billing_paid p = {.provider = o->provider,
	                         .payment_id = id,
	                         .amount = o->amount,
	                         .currency = o->currency,
	                         .order_id = o->id};
	struct billing_effect ef;
	struct err e = {0};

	if (billing_paid(fx->c, &p, now, &ef, &e))
		fail_msg("paid: %s", e.msg);
	return ef;
}

#define STATE_OF "SELECT state FROM subscriptions WHERE id = $1"
#define PLAN_OF  "SELECT plan FROM users WHERE id = $1"
#define PAUSED   "SELECT count(*) FROM channels WHERE owner_id = $1 AND paused_at IS NOT NULL"

static void test_period_end(void **state)
{
	int64_t end;

	(void)state;
	assert_int_equal(billing_period_end("month", T0, &end), 0);
	assert_int_equal(end, T0 + 28 * DAY); /* 31 January -> 28 February 2026 */
	assert_int_equal(billing_period_end("month", T0 + 28 * DAY, &end), 0);
	assert_int_equal(end, T0 + 56 * DAY); /* 28 February -> 28 March */
	assert_int_equal(billing_period_end("year", T0, &end), 0);
	assert_int_equal(end, T0 + 365 * DAY);
	/* 29 February 2028 -> 28 February 2029 */
	assert_int_equal(billing_period_end("year", 1835438400000LL, &end), 0);
	assert_int_equal(end, 1835438400000LL + 365 * DAY);
	assert_int_equal(billing_period_end("week", T0, &end), -ERR_INVALID);
}

static void test_orders(void **state)
{
	struct fx *fx = *state;
	struct billing_order o, got;
	struct err e = {0};

	o = order(fx, "pro", "month", BP_PAYME);
	assert_int_equal(o.amount, 12000000);
	assert_string_equal(o.currency, "UZS");
	assert_string_equal(o.state, "pending");
	assert_int_equal(o.expires_at, T0 + DAY);
	o = order(fx, "business", "year", BP_STRIPE);
	assert_int_equal(o.amount, 29999);
	assert_string_equal(o.currency, "USD");
	o = order(fx, "pro", "month", BP_STARS);
	assert_int_equal(o.amount, 500);
	assert_string_equal(o.currency, "XTR");
	assert_int_equal(
	    billing_order_new(fx->c, fx->user, "free", "month", BP_STRIPE, T0, &got, &e),
	    -ERR_NOT_FOUND);
	assert_int_equal(billing_order_new(fx->c, fx->user, "pro", "week", BP_STRIPE, T0, &got, &e),
	                 -ERR_INVALID);
	assert_int_equal(billing_order_set_ref(fx->c, o.id, "payload-1", &e), 0);
	assert_int_equal(billing_order_by_ref(fx->c, BP_STARS, "payload-1", &got, &e), 0);
	assert_int_equal(got.id, o.id);
	assert_int_equal(billing_order_by_ref(fx->c, BP_PAYME, "payload-1", &got, &e),
	                 -ERR_NOT_FOUND);
	assert_int_equal(billing_order_get(fx->c, 9999, &got, &e), -ERR_NOT_FOUND);
}

static void test_event_ledger(void **state)
{
	struct fx *fx = *state;
	struct err e = {0};
	char *answer = NULL;

	assert_int_equal(
	    billing_event_claim(fx->c, BP_STRIPE, "evt_1", "invoice.paid", T0, &answer, &e), 1);
	assert_null(answer);
	assert_int_equal(
	    billing_event_done(fx->c, BP_STRIPE, "evt_1", fx->user, 0, "did", "{}", &e), 0);
	assert_int_equal(
	    billing_event_claim(fx->c, BP_STRIPE, "evt_1", "invoice.paid", T0, &answer, &e), 0);
	assert_non_null(answer);
	assert_string_equal(answer, "{}");
	free(answer);
	/* the same id from another provider is another event */
	assert_int_equal(billing_event_claim(fx->c, BP_PAYME, "evt_1", "x", T0, NULL, &e), 1);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM provider_events", 0), 2);
}

static void test_purchase_and_repeat(void **state)
{
	struct fx *fx = *state;
	struct billing_order o = order(fx, "pro", "month", BP_CLICK);
	struct billing_effect ef = pay(fx, &o, "ct-1", T0);

	assert_false(ef.repeat);
	assert_int_equal(ef.from, SUBS_NONE);
	assert_int_equal(ef.to, SUBS_ACTIVE);
	text_is(fx, STATE_OF, ef.subscription_id, "active");
	text_is(fx, PLAN_OF, fx->user, "pro");
	assert_int_equal(one_int(fx, "SELECT current_period_end FROM subscriptions WHERE id = $1",
	                         ef.subscription_id),
	                 T0 + 28 * DAY);
	text_is(fx, "SELECT state FROM orders WHERE id = $1", o.id, "paid");
	assert_int_equal(one_int(fx, "SELECT subscription_id FROM orders WHERE id = $1", o.id),
	                 ef.subscription_id);
	text_is(fx, "SELECT kind FROM billing_notices WHERE user_id = $1", fx->user, "activated");
	assert_int_equal(one_int(fx, "SELECT count(*) FROM jobs WHERE kind = 'bnotice'", 0), 1);
	/* the same payment again changes nothing */
	ef = pay(fx, &o, "ct-1", T0 + 1000);
	assert_true(ef.repeat);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM payments", 0), 1);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM subscriptions", 0), 1);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM billing_notices", 0), 1);
}

static void test_wrong_amount(void **state)
{
	struct fx *fx = *state;
	struct billing_order o = order(fx, "pro", "month", BP_PAYME);
	struct billing_paid p = {.provider = BP_PAYME,
	                         .payment_id = "pm-1",
	                         .amount = o.amount - 1,
	                         .currency = "UZS",
	                         .order_id = o.id};
	struct billing_effect ef;
	struct err e = {0};

	assert_int_equal(billing_paid(fx->c, &p, T0, &ef, &e), -ERR_CONFLICT);
	p.amount = o.amount;
	p.currency = "USD";
	assert_int_equal(billing_paid(fx->c, &p, T0, &ef, &e), -ERR_CONFLICT);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM payments", 0), 0);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM subscriptions", 0), 0);
}

static void test_renew_and_switch(void **state)
{
	struct fx *fx = *state;
	struct billing_order o1 = order(fx, "pro", "month", BP_PAYME);
	struct billing_effect a = pay(fx, &o1, "pm-1", T0);
	struct billing_order o2 = order(fx, "pro", "month", BP_PAYME);
	struct billing_effect b = pay(fx, &o2, "pm-2", T0 + 26 * DAY);
	struct billing_order o3;
	struct billing_effect c;

	/* paid before the end: the same subscription, the next period from its end */
	assert_int_equal(b.subscription_id, a.subscription_id);
	assert_int_equal(one_int(fx, "SELECT current_period_start FROM subscriptions WHERE id = $1",
	                         a.subscription_id),
	                 T0 + 28 * DAY);
	assert_int_equal(one_int(fx, "SELECT current_period_end FROM subscriptions WHERE id = $1",
	                         a.subscription_id),
	                 T0 + 56 * DAY);
	text_is(fx, "SELECT kind FROM billing_notices ORDER BY id DESC LIMIT 1", 0, "renewed");
	/* another plan: a new subscription from now, the old one ends */
	o3 = order(fx, "business", "month", BP_CLICK);
	c = pay(fx, &o3, "ct-9", T0 + 27 * DAY);
	assert_int_not_equal(c.subscription_id, a.subscription_id);
	text_is(fx, STATE_OF, a.subscription_id, "expired");
	text_is(fx, STATE_OF, c.subscription_id, "active");
	text_is(fx, PLAN_OF, fx->user, "business");
	assert_int_equal(one_int(fx, "SELECT current_period_start FROM subscriptions WHERE id = $1",
	                         c.subscription_id),
	                 T0 + 27 * DAY);
}

static void test_failures(void **state)
{
	struct fx *fx = *state;
	struct billing_order o = order(fx, "pro", "month", BP_STRIPE);
	struct billing_effect ef;
	struct err e = {0};

	/* a first payment that fails: recorded, told, nothing else */
	assert_int_equal(billing_failed(fx->c, BP_STRIPE, "in_1", fx->user, o.id, 0, o.amount,
	                                "USD", "card_declined: insufficient_funds", T0, NULL, &ef,
	                                &e),
	                 0);
	assert_int_equal(billing_failed(fx->c, BP_STRIPE, "in_1", fx->user, o.id, 0, o.amount,
	                                "USD", "card_declined: generic_decline", T0 + 1, NULL, &ef,
	                                &e),
	                 0);
	assert_int_equal(
	    one_int(fx, "SELECT attempts FROM payments WHERE provider_payment_id = 'in_1'", 0), 2);
	text_is(fx, "SELECT reason FROM payments WHERE provider_payment_id = 'in_1'", 0,
	        "card_declined: generic_decline");
	assert_int_equal(one_int(fx, "SELECT count(*) FROM subscriptions", 0), 0);
	text_is(fx, PLAN_OF, fx->user, "free");
	assert_int_equal(
	    one_int(fx, "SELECT count(*) FROM billing_notices WHERE kind = 'payment_failed'", 0),
	    2);
	/* the same invoice paid later (another card): active */
	ef = pay(fx, &o, "in_1", T0 + 2);
	assert_int_equal(ef.to, SUBS_ACTIVE);
	text_is(fx, "SELECT status FROM payments WHERE provider_payment_id = 'in_1'", 0,
	        "succeeded");
	/* a renewal that fails: past_due with grace, the plan holds */
	assert_int_equal(billing_failed(fx->c, BP_STRIPE, "in_2", fx->user, 0, ef.subscription_id,
	                                o.amount, "USD", "card_declined", T0 + 28 * DAY, NULL, &ef,
	                                &e),
	                 0);
	assert_int_equal(ef.to, SUBS_PAST_DUE);
	text_is(fx, STATE_OF, ef.subscription_id, "past_due");
	assert_int_equal(
	    one_int(fx, "SELECT grace_until FROM subscriptions WHERE id = $1", ef.subscription_id),
	    T0 + 31 * DAY);
	text_is(fx, PLAN_OF, fx->user, "pro");
	/* a failure after the payment succeeded is ignored */
	assert_int_equal(billing_failed(fx->c, BP_STRIPE, "in_1", fx->user, o.id, 0, o.amount,
	                                "USD", "late", T0 + 3, NULL, &ef, &e),
	                 0);
	assert_true(ef.repeat);
}

/* A Stripe subscription that ends here is ended at Stripe too, by a pstop
 * job queued in the same transaction; other providers need none. */
static void test_stripe_ended_by_a_job(void **state)
{
	struct fx *fx = *state;
	struct billing_order o1 = order(fx, "pro", "month", BP_STRIPE);
	struct billing_paid p = {.provider = BP_STRIPE,
	                         .payment_id = "in_s1",
	                         .amount = o1.amount,
	                         .currency = o1.currency,
	                         .order_id = o1.id,
	                         .provider_subscription_id = "sub_s1"};
	struct billing_effect a, b;
	struct billing_order o2;
	struct err e = {0};

	assert_int_equal(billing_paid(fx->c, &p, T0, &a, &e), 0);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM jobs WHERE kind = 'pstop'", 0), 0);
	/* past due at Stripe, then paid through Payme: the Stripe one ends */
	assert_int_equal(billing_failed(fx->c, BP_STRIPE, "in_s2", fx->user, 0, a.subscription_id,
	                                o1.amount, "USD", "card_declined", T0 + 28 * DAY, NULL, &b,
	                                &e),
	                 0);
	text_is(fx, STATE_OF, a.subscription_id, "past_due");
	o2 = order(fx, "pro", "month", BP_PAYME);
	b = pay(fx, &o2, "pm-s", T0 + 29 * DAY);
	text_is(fx, STATE_OF, a.subscription_id, "expired");
	assert_int_equal(one_int(fx, "SELECT ref FROM jobs WHERE kind = 'pstop'", 0),
	                 a.subscription_id);
	/* the Payme subscription ending queues nothing for a provider */
	assert_int_equal(billing_sub_apply(fx->c, b.subscription_id, SUBS_CANCELED_NOW,
	                                   T0 + 30 * DAY, NULL, NULL, &e),
	                 0);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM jobs WHERE kind = 'pstop'", 0), 1);
}

static void test_refunds(void **state)
{
	struct fx *fx = *state;
	struct billing_order o = order(fx, "business", "month", BP_STRIPE);
	struct billing_effect paid = pay(fx, &o, "in_7", T0), ef;
	struct err e = {0};

	assert_int_equal(one_int(fx, PAUSED, fx->user), 0);
	assert_int_equal(
	    billing_refunded(fx->c, BP_STRIPE, "in_7", "re_1", 1000, "requested", T0 + 1, &ef, &e),
	    0);
	assert_false(ef.repeat);
	text_is(fx, STATE_OF, paid.subscription_id, "active");
	text_is(fx, "SELECT kind FROM billing_notices ORDER BY id DESC LIMIT 1", 0,
	        "refunded_partial");
	/* repeat, too much, unknown payment */
	assert_int_equal(
	    billing_refunded(fx->c, BP_STRIPE, "in_7", "re_1", 1000, "", T0 + 2, &ef, &e), 0);
	assert_true(ef.repeat);
	assert_int_equal(
	    billing_refunded(fx->c, BP_STRIPE, "in_7", "re_2", 29999 - 999, "", T0 + 2, &ef, &e),
	    -ERR_CONFLICT);
	assert_int_equal(billing_refunded(fx->c, BP_STRIPE, "in_0", "re_3", 1, "", T0 + 2, &ef, &e),
	                 -ERR_NOT_FOUND);
	/* the rest: a full refund ends the plan; channels over free's limit pause */
	assert_int_equal(
	    billing_refunded(fx->c, BP_STRIPE, "in_7", "re_2", 2999 - 1000, "", T0 + 3, &ef, &e),
	    0);
	text_is(fx, STATE_OF, paid.subscription_id, "expired");
	text_is(fx, PLAN_OF, fx->user, "free");
	text_is(fx, "SELECT state FROM orders WHERE id = $1", o.id, "refunded");
	assert_int_equal(one_int(fx, PAUSED, fx->user), 2);
	/* the oldest channel stays */
	assert_int_equal(
	    one_int(fx,
	            "SELECT chat_id FROM channels WHERE owner_id = $1 AND paused_at IS "
	            "NULL",
	            fx->user),
	    -1001);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM payments WHERE kind = 'refund'", 0), 2);
	/* buying again resumes them */
	o = order(fx, "pro", "month", BP_STRIPE);
	pay(fx, &o, "in_8", T0 + 4);
	assert_int_equal(one_int(fx, PAUSED, fx->user), 0);
}

static void test_sweep(void **state)
{
	struct fx *fx = *state;
	struct billing_order o = order(fx, "pro", "month", BP_PAYME);
	struct billing_effect ef = pay(fx, &o, "pm-1", T0);
	int64_t end = T0 + 28 * DAY;
	struct err e = {0};
	int n = 0;

	/* nothing yet: the sweep takes its own connections, so commit first */
	assert_int_equal(billing_sweep(fx->st, T0 + DAY, NULL, &n, &e), 0);
	assert_int_equal(n, 0);
	/* three days before the end: one reminder, once */
	assert_int_equal(billing_sweep(fx->st, end - 3 * DAY, NULL, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(billing_sweep(fx->st, end - 2 * DAY, NULL, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    one_int(fx, "SELECT count(*) FROM billing_notices WHERE kind = 'reminder'", 0), 1);
	/* the end: past_due, the plan holds for the grace */
	assert_int_equal(billing_sweep(fx->st, end, NULL, &n, &e), 0);
	assert_int_equal(n, 1);
	text_is(fx, STATE_OF, ef.subscription_id, "past_due");
	assert_int_equal(
	    one_int(fx, "SELECT grace_until FROM subscriptions WHERE id = $1", ef.subscription_id),
	    end + 3 * DAY);
	text_is(fx, PLAN_OF, fx->user, "pro");
	assert_int_equal(one_int(fx, PAUSED, fx->user), 0);
	/* the grace ends: free, two channels paused, nothing deleted */
	assert_int_equal(billing_sweep(fx->st, end + 3 * DAY, NULL, &n, &e), 0);
	assert_int_equal(n, 1);
	text_is(fx, STATE_OF, ef.subscription_id, "expired");
	text_is(fx, PLAN_OF, fx->user, "free");
	assert_int_equal(one_int(fx, PAUSED, fx->user), 2);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM channels WHERE removed_at IS NULL", 0),
	                 3);
	text_is(fx, "SELECT kind FROM billing_notices ORDER BY id DESC LIMIT 1", 0, "expired");
	/* pending orders expire */
	o = order(fx, "pro", "year", BP_CLICK);
	assert_int_equal(billing_sweep(fx->st, T0 + 2 * DAY, NULL, &n, &e), 0);
	text_is(fx, "SELECT state FROM orders WHERE id = $1", o.id, "expired");
}

static void test_cancel_and_reactivate(void **state)
{
	struct fx *fx = *state;
	struct billing_order o = order(fx, "pro", "month", BP_STARS);
	struct billing_effect ef = pay(fx, &o, "stars-1", T0), x;
	struct err e = {0};
	int n = 0;

	assert_int_equal(billing_sub_apply(fx->c, ef.subscription_id, SUBS_CANCEL_REQUESTED, T0 + 1,
	                                   NULL, &x, &e),
	                 0);
	text_is(fx, STATE_OF, ef.subscription_id, "canceled");
	assert_int_equal(one_int(fx, "SELECT cancel_at_period_end FROM subscriptions WHERE id = $1",
	                         ef.subscription_id),
	                 1);
	text_is(fx, PLAN_OF, fx->user, "pro");
	assert_int_equal(
	    billing_sub_apply(fx->c, ef.subscription_id, SUBS_REACTIVATED, T0 + 2, NULL, &x, &e),
	    0);
	text_is(fx, STATE_OF, ef.subscription_id, "active");
	assert_int_equal(billing_sub_apply(fx->c, ef.subscription_id, SUBS_CANCEL_REQUESTED, T0 + 3,
	                                   NULL, &x, &e),
	                 0);
	/* a canceled subscription ends at its period's end, no grace */
	assert_int_equal(billing_sweep(fx->st, T0 + 28 * DAY, NULL, &n, &e), 0);
	text_is(fx, STATE_OF, ef.subscription_id, "expired");
	text_is(fx, PLAN_OF, fx->user, "free");
	/* and then every event is refused, changing nothing */
	assert_int_equal(billing_sub_apply(fx->c, ef.subscription_id, SUBS_REACTIVATED,
	                                   T0 + 29 * DAY, NULL, &x, &e),
	                 -ERR_CONFLICT);
	text_is(fx, STATE_OF, ef.subscription_id, "expired");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_period_end),
	    cmocka_unit_test_setup_teardown(test_orders, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_event_ledger, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_purchase_and_repeat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_amount, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_renew_and_switch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stripe_ended_by_a_job, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refunds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_and_reactivate, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
