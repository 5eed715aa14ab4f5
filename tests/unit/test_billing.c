/*
 * Unit tests of billing's pure parts and its schema: the subscription state
 * machine as its whole table of (state, event) -> state or refusal, written
 * out here independently of subs.c; money shown per currency and language
 * as ICU on this machine renders it (U+00A0 written as NBSP); the exact
 * decimal conversions; and the billing tables on a real SQLite file (the
 * seeded prices and the keys that keep a payment from counting twice).
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

#include "billing/money.h"
#include "billing/subs.h"
#include "store/store.h"

#define NBSP "\xc2\xa0"
#define STAR "\xe2\xad\x90"

/* --- the state machine --- */

/* Columns in the order of the events list below; "-" is a refusal. */
static const char *const events[] = {
    "trial_started",    "payment_succeeded", "payment_failed", "period_ended",  "grace_ended",
    "cancel_requested", "reactivated",       "canceled_now",   "refunded_full", "refunded_partial",
};

static const struct row {
	const char *state;
	const char *next[10];
} expected[] = {
    {"none", {"trialing", "active", "-", "-", "-", "-", "-", "-", "-", "-"}},
    {"trialing",
     {"-", "active", "past_due", "expired", "-", "canceled", "trialing", "expired", "-", "-"}},
    {"active",
     {"-", "active", "past_due", "past_due", "-", "canceled", "active", "expired", "expired",
      "active"}},
    {"past_due",
     {"-", "active", "past_due", "-", "expired", "-", "past_due", "expired", "expired",
      "past_due"}},
    {"canceled",
     {"-", "active", "-", "expired", "-", "canceled", "active", "expired", "expired", "canceled"}},
    {"expired", {"-", "-", "-", "-", "-", "-", "-", "-", "-", "-"}},
};

static void test_subs_table(void **state)
{
	size_t cells = 0;

	(void)state;
	assert_int_equal(sizeof(events) / sizeof(events[0]), SUBS_EVENT_COUNT);
	assert_int_equal(sizeof(expected) / sizeof(expected[0]), SUBS_STATE_COUNT);
	for (size_t i = 0; i < SUBS_STATE_COUNT; i++) {
		enum subs_state from;

		assert_int_equal(subs_state_parse(expected[i].state, &from), 0);
		for (size_t j = 0; j < SUBS_EVENT_COUNT; j++) {
			enum subs_event ev;
			enum subs_state next = SUBS_STATE_COUNT;
			const char *want = expected[i].next[j];
			int rc;

			assert_int_equal(subs_event_parse(events[j], &ev), 0);
			rc = subs_next(from, ev, &next);
			if (strcmp(want, "-") == 0) {
				if (rc != -ERR_CONFLICT)
					fail_msg("%s + %s: got rc %d next %s, want refused",
					         expected[i].state, events[j], rc,
					         rc ? "?" : subs_state_name(next));
				/* a refusal leaves *next alone */
				assert_int_equal(next, SUBS_STATE_COUNT);
			} else {
				if (rc != 0)
					fail_msg("%s + %s: refused (%d), want %s",
					         expected[i].state, events[j], rc, want);
				if (strcmp(subs_state_name(next), want) != 0)
					fail_msg("%s + %s: got %s, want %s", expected[i].state,
					         events[j], subs_state_name(next), want);
			}
			cells++;
		}
	}
	assert_int_equal(cells, 60);
}

static void test_subs_names(void **state)
{
	static const char *const states[] = {"none",     "trialing", "active",
	                                     "past_due", "canceled", "expired"};
	enum subs_state s = SUBS_ACTIVE;
	enum subs_event e = SUBS_REACTIVATED;

	(void)state;
	/* names and enums agree both ways, in order */
	for (size_t i = 0; i < SUBS_STATE_COUNT; i++) {
		assert_string_equal(subs_state_name((enum subs_state)i), states[i]);
		assert_int_equal(subs_state_parse(states[i], &s), 0);
		assert_int_equal(s, i);
	}
	for (size_t i = 0; i < SUBS_EVENT_COUNT; i++) {
		assert_string_equal(subs_event_name((enum subs_event)i), events[i]);
		assert_int_equal(subs_event_parse(events[i], &e), 0);
		assert_int_equal(e, i);
	}
	/* exact names only; a refusal leaves *out alone */
	s = SUBS_ACTIVE;
	assert_int_equal(subs_state_parse("Active", &s), -ERR_INVALID);
	assert_int_equal(subs_state_parse("past-due", &s), -ERR_INVALID);
	assert_int_equal(subs_state_parse("", &s), -ERR_INVALID);
	assert_int_equal(subs_state_parse("activ", &s), -ERR_INVALID);
	assert_int_equal(s, SUBS_ACTIVE);
	e = SUBS_REACTIVATED;
	assert_int_equal(subs_event_parse("trial_ended", &e), -ERR_INVALID);
	assert_int_equal(subs_event_parse("payment_succeeded ", &e), -ERR_INVALID);
	assert_int_equal(e, SUBS_REACTIVATED);

	assert_false(subs_has_plan(SUBS_NONE));
	assert_true(subs_has_plan(SUBS_TRIALING));
	assert_true(subs_has_plan(SUBS_ACTIVE));
	assert_true(subs_has_plan(SUBS_PAST_DUE));
	assert_true(subs_has_plan(SUBS_CANCELED));
	assert_false(subs_has_plan(SUBS_EXPIRED));
}

/* Walks through the table the way billing will: a Payme purchase that
 * lapses through grace, and a Stripe one that is canceled and refunded. */
static void test_subs_lifecycles(void **state)
{
	enum subs_state s = SUBS_NONE;

	(void)state;
	assert_int_equal(subs_next(s, SUBS_PAYMENT_SUCCEEDED, &s), 0);
	assert_int_equal(subs_next(s, SUBS_PERIOD_ENDED, &s), 0);
	assert_int_equal(s, SUBS_PAST_DUE);
	assert_true(subs_has_plan(s)); /* grace keeps the plan */
	assert_int_equal(subs_next(s, SUBS_GRACE_ENDED, &s), 0);
	assert_int_equal(s, SUBS_EXPIRED);
	assert_false(subs_has_plan(s));
	assert_int_equal(subs_next(s, SUBS_PAYMENT_SUCCEEDED, &s), -ERR_CONFLICT);

	s = SUBS_NONE;
	assert_int_equal(subs_next(s, SUBS_TRIAL_STARTED, &s), 0);
	assert_int_equal(subs_next(s, SUBS_PAYMENT_SUCCEEDED, &s), 0);
	assert_int_equal(subs_next(s, SUBS_PAYMENT_FAILED, &s), 0);
	assert_int_equal(s, SUBS_PAST_DUE);
	assert_int_equal(subs_next(s, SUBS_PAYMENT_SUCCEEDED, &s), 0);
	assert_int_equal(subs_next(s, SUBS_CANCEL_REQUESTED, &s), 0);
	assert_int_equal(s, SUBS_CANCELED);
	assert_int_equal(subs_next(s, SUBS_REFUNDED_PARTIAL, &s), 0);
	assert_int_equal(s, SUBS_CANCELED);
	assert_int_equal(subs_next(s, SUBS_REFUNDED_FULL, &s), 0);
	assert_int_equal(s, SUBS_EXPIRED);
}

/* --- money --- */

static void fmt_is(int64_t minor, const char *cur, const char *lang, const char *want)
{
	char out[64];
	int rc = money_format(minor, cur, lang, out, sizeof(out));

	if (rc)
		fail_msg("%lld %s %s: rc %d", (long long)minor, cur, lang, rc);
	if (strcmp(out, want) != 0)
		fail_msg("%lld %s %s: got \"%s\", want \"%s\"", (long long)minor, cur, lang, out,
		         want);
}

static void test_money_usd(void **state)
{
	(void)state;
	fmt_is(999, "USD", "en", "$9.99");
	fmt_is(1000, "USD", "en", "$10.00");
	fmt_is(5, "USD", "en", "$0.05");
	fmt_is(0, "USD", "en", "$0.00");
	fmt_is(29999, "USD", "en", "$299.99");
	fmt_is(123456789, "USD", "en", "$1,234,567.89");
	fmt_is(-500, "USD", "en", "-$5.00");

	fmt_is(999, "USD", "ru", "9,99" NBSP "$");
	fmt_is(1000, "USD", "ru", "10,00" NBSP "$");
	fmt_is(123456789, "USD", "ru", "1" NBSP "234" NBSP "567,89" NBSP "$");
	fmt_is(-500, "USD", "ru", "-5,00" NBSP "$");

	fmt_is(999, "USD", "uz", "9,99" NBSP "US$");
	fmt_is(123456789, "USD", "uz", "1" NBSP "234" NBSP "567,89" NBSP "US$");
}

static void test_money_uzs(void **state)
{
	(void)state;
	/* whole so'm: no tiyin shown */
	fmt_is(12000000, "UZS", "uz", "120" NBSP "000" NBSP "so\xca\xbbm");
	fmt_is(12000000, "UZS", "ru", "120" NBSP "000" NBSP "UZS");
	fmt_is(12000000, "UZS", "en", "UZS" NBSP "120,000");
	fmt_is(360000000, "UZS", "uz", "3" NBSP "600" NBSP "000" NBSP "so\xca\xbbm");
	fmt_is(100, "UZS", "en", "UZS" NBSP "1");
	fmt_is(0, "UZS", "uz", "0" NBSP "so\xca\xbbm");
	/* tiyin are shown when there are some, never rounded away */
	fmt_is(12000050, "UZS", "uz", "120" NBSP "000,50" NBSP "so\xca\xbbm");
	fmt_is(12000050, "UZS", "ru", "120" NBSP "000,50" NBSP "UZS");
	fmt_is(12000050, "UZS", "en", "UZS" NBSP "120,000.50");
	fmt_is(1, "UZS", "en", "UZS" NBSP "0.01");
	fmt_is(-12000000, "UZS", "ru", "-120" NBSP "000" NBSP "UZS");
}

static void test_money_xtr(void **state)
{
	(void)state;
	fmt_is(250, "XTR", "en", STAR NBSP "250");
	fmt_is(250, "XTR", "ru", STAR NBSP "250");
	fmt_is(250, "XTR", "uz", STAR NBSP "250");
	fmt_is(1500, "XTR", "en", STAR NBSP "1,500");
	fmt_is(1500, "XTR", "ru", STAR NBSP "1" NBSP "500");
	fmt_is(15000, "XTR", "uz", STAR NBSP "15" NBSP "000");
	fmt_is(1, "XTR", "en", STAR NBSP "1");
	fmt_is(-250, "XTR", "en", STAR NBSP "-250");
}

static void test_money_format_edges(void **state)
{
	char out[64] = "junk";
	char tiny[8] = "junk";

	(void)state;
	/* a language without a catalog reads as English */
	fmt_is(999, "USD", "de", "$9.99");
	fmt_is(1500, "XTR", "ru-RU", STAR NBSP "1,500");
	fmt_is(999, "USD", NULL, "$9.99");
	/* the extremes of int64 keep every digit */
	fmt_is(INT64_MAX, "USD", "en", "$92,233,720,368,547,758.07");
	fmt_is(INT64_MIN, "XTR", "en", STAR NBSP "-9,223,372,036,854,775,808");

	assert_int_equal(money_format(999, "EUR", "en", out, sizeof(out)), -ERR_INVALID);
	assert_string_equal(out, "");
	assert_int_equal(money_format(999, "usd", "en", out, sizeof(out)), -ERR_INVALID);
	assert_int_equal(money_format(999, NULL, "en", out, sizeof(out)), -ERR_INVALID);
	/* "$9.99" needs 6 bytes, "⭐ 250" 9 */
	assert_int_equal(money_format(999, "USD", "en", tiny, 6), 0);
	assert_string_equal(tiny, "$9.99");
	assert_int_equal(money_format(999, "USD", "en", tiny, 5), -ERR_TOO_BIG);
	assert_string_equal(tiny, "");
	assert_int_equal(money_format(250, "XTR", "en", tiny, sizeof(tiny)), -ERR_TOO_BIG);
	assert_string_equal(tiny, "");
	assert_int_equal(money_format(250, "XTR", "en", out, 9), 0);
	assert_string_equal(out, STAR NBSP "250");
}

static void major_is(int64_t minor, const char *cur, const char *want)
{
	char out[32];

	assert_int_equal(money_to_major(minor, cur, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void test_money_to_major(void **state)
{
	char small[5] = "junk";
	int digits = -1;

	(void)state;
	major_is(999, "USD", "9.99");
	major_is(5, "USD", "0.05");
	major_is(-5, "USD", "-0.05");
	major_is(12000000, "UZS", "120000.00");
	major_is(5000050, "UZS", "50000.50");
	major_is(250, "XTR", "250");
	major_is(INT64_MIN, "USD", "-92233720368547758.08");
	assert_int_equal(money_to_major(999, "RUB", small, sizeof(small)), -ERR_INVALID);
	assert_string_equal(small, "");
	assert_int_equal(money_to_major(999, "USD", small, sizeof(small)), 0);
	assert_string_equal(small, "9.99");
	assert_int_equal(money_to_major(1000, "USD", small, sizeof(small)), -ERR_TOO_BIG);
	assert_string_equal(small, "");

	assert_int_equal(money_minor_digits("USD", &digits), 0);
	assert_int_equal(digits, 2);
	assert_int_equal(money_minor_digits("UZS", &digits), 0);
	assert_int_equal(digits, 2);
	assert_int_equal(money_minor_digits("XTR", &digits), 0);
	assert_int_equal(digits, 0);
	digits = 7;
	assert_int_equal(money_minor_digits("JPY", &digits), -ERR_INVALID);
	assert_int_equal(digits, 7);
}

static void parse_is(const char *s, const char *cur, int64_t want)
{
	int64_t got = -1;
	int rc = money_parse_major(s, strlen(s), cur, &got);

	if (rc || got != want)
		fail_msg("\"%s\" %s: rc %d got %lld, want %lld", s, cur, rc, (long long)got,
		         (long long)want);
}

static void parse_refused(const char *s, const char *cur)
{
	int64_t got = 42;
	int rc = money_parse_major(s, strlen(s), cur, &got);

	if (rc != -ERR_INVALID || got != 42)
		fail_msg("\"%s\" %s: rc %d got %lld, want refused", s, cur, rc, (long long)got);
}

static void test_money_parse(void **state)
{
	int64_t got = 42;

	(void)state;
	/* Click's amounts in so'm, as it sends them */
	parse_is("50000", "UZS", 5000000);
	parse_is("50000.00", "UZS", 5000000);
	parse_is("50000.0", "UZS", 5000000);
	parse_is("50000.5", "UZS", 5000050);
	parse_is("50000.05", "UZS", 5000005);
	parse_is("120000.000", "UZS", 12000000);
	parse_is("0.01", "UZS", 1);
	parse_is("9.99", "USD", 999);
	parse_is("9.9", "USD", 990);
	parse_is("007", "USD", 700);
	parse_is("250", "XTR", 250);
	parse_is("250.0", "XTR", 250);
	parse_is("92233720368547758.07", "USD", INT64_MAX);
	parse_is("9223372036854775807", "XTR", INT64_MAX);

	parse_refused("", "UZS");
	parse_refused(".", "UZS");
	parse_refused(".5", "UZS");
	parse_refused("5.", "UZS");
	parse_refused("1.505", "USD");
	parse_refused("250.5", "XTR");
	parse_refused("-5", "USD");
	parse_refused("+5", "USD");
	parse_refused(" 5", "USD");
	parse_refused("5 ", "USD");
	parse_refused("1e3", "USD");
	parse_refused("1,000", "USD");
	parse_refused("1.2.3", "USD");
	parse_refused("0x10", "USD");
	parse_refused("92233720368547758.08", "USD");
	parse_refused("9223372036854775808", "XTR");
	parse_refused("99999999999999999999", "XTR");
	parse_refused("000000000000000000000000000000001", "XTR"); /* 33 bytes */
	parse_refused("5", "EUR");
	parse_refused("5", NULL);
	/* only len bytes are read */
	assert_int_equal(money_parse_major("12.34xyz", 4, "USD", &got), 0);
	assert_int_equal(got, 1230);
}

/* --- the schema on SQLite --- */

struct fx {
	char dir[64];
	struct store *st;
	int64_t user;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct store_res *r = NULL;
	struct err e = {0};
	char url[128];

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/herald-billing-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(url, sizeof(url), "%s/t.db", fx->dir);
	assert_int_equal(store_open(&fx->st, url, NULL, &e), 0);
	if (store_migrate(fx->st, NULL, &e))
		fail_msg("migrate: %s", e.msg);
	assert_int_equal(store_exec(fx->st,
	                            "INSERT INTO users (telegram_id, created_at) VALUES (7, 1) "
	                            "RETURNING id",
	                            NULL, 0, &r, &e),
	                 0);
	fx->user = store_res_int(r, 0, 0);
	store_res_free(r);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	static const char *const files[] = {"t.db", "t.db-wal", "t.db-shm"};
	char path[128];

	store_free(fx->st);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->dir, files[i]);
		unlink(path);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Run sql with the user id as $1 (when it has one) and return the code. */
static int run(struct fx *fx, const char *sql)
{
	struct store_val arg = SV_INT(fx->user);
	struct err e = {0};

	return store_exec(fx->st, sql, strstr(sql, "$1") ? &arg : NULL, strstr(sql, "$1") ? 1 : 0,
	                  NULL, &e);
}

static int64_t one_int(struct fx *fx, const char *sql)
{
	struct store_res *r = NULL;
	struct err e = {0};
	int64_t v;

	if (store_exec(fx->st, sql, NULL, 0, &r, &e))
		fail_msg("%s: %s", sql, e.msg);
	assert_int_equal(store_res_rows(r), 1);
	v = store_res_int(r, 0, 0);
	store_res_free(r);
	return v;
}

static void test_schema_prices(void **state)
{
	struct fx *fx = *state;

	/* every paid plan has each currency for both periods; free has none */
	assert_int_equal(one_int(fx, "SELECT count(*) FROM plan_prices"), 12);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM plan_prices WHERE plan_id = 'free'"), 0);
	assert_int_equal(one_int(fx, "SELECT amount FROM plan_prices WHERE plan_id = 'pro' AND "
	                             "currency = 'USD' AND period = 'month'"),
	                 999);
	assert_int_equal(one_int(fx, "SELECT amount FROM plan_prices WHERE plan_id = 'pro' AND "
	                             "currency = 'UZS' AND period = 'month'"),
	                 12000000);
	assert_int_equal(one_int(fx, "SELECT amount FROM plan_prices WHERE plan_id = 'business' "
	                             "AND currency = 'USD' AND period = 'year'"),
	                 29999);
	assert_int_equal(run(fx, "INSERT INTO plan_prices (plan_id, currency, period, amount) "
	                         "VALUES ('free', 'USD', 'month', 0)"),
	                 -ERR_INVALID);
	assert_int_equal(run(fx, "INSERT INTO plan_prices (plan_id, currency, period, amount) "
	                         "VALUES ('pro', 'EUR', 'month', 900)"),
	                 -ERR_INVALID);
	assert_int_equal(run(fx, "INSERT INTO plan_prices (plan_id, currency, period, amount) "
	                         "VALUES ('pro', 'USD', 'month', 900)"),
	                 -ERR_EXISTS);
	/* a price for a plan that does not exist */
	assert_int_equal(run(fx, "INSERT INTO plan_prices (plan_id, currency, period, amount) "
	                         "VALUES ('gold', 'USD', 'month', 900)"),
	                 -ERR_INVALID);
}

#define SUB_SQL                                                                                    \
	"INSERT INTO subscriptions (user_id, plan_id, period, state, provider, "                   \
	"created_at, updated_at) VALUES ($1, 'pro', 'month', "
#define ORDER_SQL                                                                                  \
	"INSERT INTO orders (user_id, plan_id, period, provider, amount, currency, created_at, "   \
	"expires_at, updated_at) VALUES ($1, 'pro', 'month', "

static void test_schema_keys(void **state)
{
	struct fx *fx = *state;

	/* one live subscription per user; ended ones do not count */
	assert_int_equal(run(fx, SUB_SQL "'expired', 'payme', 1, 1)"), 0);
	assert_int_equal(run(fx, SUB_SQL "'active', 'payme', 1, 1)"), 0);
	assert_int_equal(run(fx, SUB_SQL "'canceled', 'stripe', 1, 1)"), -ERR_EXISTS);
	assert_int_equal(run(fx, SUB_SQL "'paused', 'stripe', 1, 1)"), -ERR_INVALID);
	assert_int_equal(run(fx, SUB_SQL "'expired', 'paypal', 1, 1)"), -ERR_INVALID);

	/* orders: amounts are positive, one provider reference each */
	assert_int_equal(run(fx, ORDER_SQL "'payme', 12000000, 'UZS', 1, 2, 1)"), 0);
	assert_int_equal(run(fx, ORDER_SQL "'click', 12000000, 'UZS', 1, 2, 1)"), 0);
	assert_int_equal(run(fx, ORDER_SQL "'payme', 0, 'UZS', 1, 2, 1)"), -ERR_INVALID);
	assert_int_equal(
	    run(fx, "UPDATE orders SET provider = 'stripe', provider_ref = 'cs_1' WHERE id = 1"),
	    0);
	assert_int_equal(
	    run(fx, "UPDATE orders SET provider = 'stripe', provider_ref = 'cs_1' WHERE id = 2"),
	    -ERR_EXISTS);

	/* the event ledger takes an event once per provider */
	assert_int_equal(run(fx, "INSERT INTO provider_events (provider, event_id, type, "
	                         "received_at) VALUES ('stripe', 'evt_1', 'invoice.paid', 1)"),
	                 0);
	assert_int_equal(run(fx, "INSERT INTO provider_events (provider, event_id, type, "
	                         "received_at) VALUES ('stripe', 'evt_1', 'invoice.paid', 2)"),
	                 -ERR_EXISTS);
	assert_int_equal(run(fx, "INSERT INTO provider_events (provider, event_id, type, "
	                         "received_at) VALUES ('payme', 'evt_1', 'x', 2)"),
	                 0);

	/* a payment and its refund may share the provider's id; neither twice */
	assert_int_equal(run(fx, "INSERT INTO payments (kind, user_id, provider, "
	                         "provider_payment_id, amount, currency, status, created_at, "
	                         "updated_at) VALUES ('payment', $1, 'stars', 'ch1', 500, 'XTR', "
	                         "'succeeded', 1, 1)"),
	                 0);
	assert_int_equal(run(fx,
	                     "INSERT INTO payments (kind, user_id, provider, "
	                     "provider_payment_id, amount, currency, status, created_at, "
	                     "updated_at, refund_of) VALUES ('refund', $1, 'stars', 'ch1', 500, "
	                     "'XTR', 'succeeded', 2, 2, 1)"),
	                 0);
	assert_int_equal(run(fx, "INSERT INTO payments (kind, user_id, provider, "
	                         "provider_payment_id, amount, currency, status, created_at, "
	                         "updated_at) VALUES ('payment', $1, 'stars', 'ch1', 500, 'XTR', "
	                         "'succeeded', 3, 3)"),
	                 -ERR_EXISTS);
	/* money rows keep their user */
	assert_int_equal(run(fx, "DELETE FROM users WHERE id = $1"), -ERR_INVALID);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM payments"), 2);
}

static void test_schema_provider_transactions(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(run(fx, ORDER_SQL "'payme', 12000000, 'UZS', 1, 2, 1)"), 0);
	/* Payme: one transaction in state 1 or 2 per order */
	assert_int_equal(run(fx, "INSERT INTO payme_transactions (payme_id, payme_time, amount, "
	                         "account, order_id, state, create_time) VALUES "
	                         "('5305e3bab097f420a62ced0b', 1399114284039, 12000000, "
	                         "'{\"order_id\":\"1\"}', 1, 1, 1399114284100)"),
	                 0);
	assert_int_equal(run(fx, "INSERT INTO payme_transactions (payme_id, payme_time, amount, "
	                         "account, order_id, state, create_time) VALUES "
	                         "('5305e3bab097f420a62ced0c', 1399114284039, 12000000, "
	                         "'{\"order_id\":\"1\"}', 1, 1, 1399114284100)"),
	                 -ERR_EXISTS);
	assert_int_equal(one_int(fx, "SELECT perform_time + cancel_time FROM payme_transactions"),
	                 0);
	assert_int_equal(run(fx, "UPDATE payme_transactions SET state = -1, reason = 3, "
	                         "cancel_time = 5"),
	                 0);
	assert_int_equal(run(fx, "INSERT INTO payme_transactions (payme_id, payme_time, amount, "
	                         "account, order_id, state, create_time) VALUES "
	                         "('5305e3bab097f420a62ced0c', 1399114284039, 12000000, "
	                         "'{\"order_id\":\"1\"}', 1, 1, 1399114284100)"),
	                 0);
	assert_int_equal(run(fx, "UPDATE payme_transactions SET state = 3 WHERE payme_id = "
	                         "'5305e3bab097f420a62ced0c'"),
	                 -ERR_INVALID);
	/* the same Payme id twice */
	assert_int_equal(run(fx, "INSERT INTO payme_transactions (payme_id, payme_time, amount, "
	                         "account, order_id, state, create_time) VALUES "
	                         "('5305e3bab097f420a62ced0b', 1, 1, '{}', 1, -1, 1)"),
	                 -ERR_EXISTS);

	/* Click: one completed payment per order; the amount kept as received */
	assert_int_equal(run(fx,
	                     "INSERT INTO click_transactions (click_trans_id, service_id, "
	                     "merchant_trans_id, order_id, amount, amount_minor, action, "
	                     "sign_time, state, prepared_at) VALUES (123456789, 12345, '1', 1, "
	                     "'120000.00', 12000000, 1, '2024-05-01 12:00:05', 'completed', 1)"),
	                 0);
	assert_int_equal(run(fx, "INSERT INTO click_transactions (click_trans_id, service_id, "
	                         "merchant_trans_id, order_id, amount, amount_minor, action, "
	                         "sign_time, state, prepared_at) VALUES (123456790, 12345, '1', 1, "
	                         "'120000', 12000000, 0, '2024-05-01 12:00:06', 'prepared', 1)"),
	                 0);
	assert_int_equal(run(fx, "UPDATE click_transactions SET state = 'completed' WHERE "
	                         "click_trans_id = 123456790"),
	                 -ERR_EXISTS);
	assert_int_equal(run(fx, "INSERT INTO click_transactions (click_trans_id, service_id, "
	                         "merchant_trans_id, order_id, amount, amount_minor, action, "
	                         "sign_time, state, prepared_at) VALUES (123456790, 1, '1', 1, "
	                         "'1', 100, 0, 'x', 'prepared', 1)"),
	                 -ERR_EXISTS);
	assert_int_equal(one_int(fx, "SELECT count(*) FROM click_transactions WHERE amount = "
	                             "'120000.00'"),
	                 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_subs_table),
	    cmocka_unit_test(test_subs_names),
	    cmocka_unit_test(test_subs_lifecycles),
	    cmocka_unit_test(test_money_usd),
	    cmocka_unit_test(test_money_uzs),
	    cmocka_unit_test(test_money_xtr),
	    cmocka_unit_test(test_money_format_edges),
	    cmocka_unit_test(test_money_to_major),
	    cmocka_unit_test(test_money_parse),
	    cmocka_unit_test_setup_teardown(test_schema_prices, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_provider_transactions, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
