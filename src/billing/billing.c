/*
 * billing: orders, the ledger and what money does to subscriptions
 * (billing.h). Every function here runs inside the caller's transaction.
 */
#include "billing/billing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "lib/mem.h"
#include "sched/sched.h"
#include "store/store.h"
#include "users/users.h"

#define ORDER_TTL_MS (24LL * 3600 * 1000)
#define LIVE_STATES  "('trialing', 'active', 'past_due', 'canceled')"

const struct billing_policy billing_policy_default = {
    .grace_ms = BILLING_GRACE_MS,
    .remind_ms = BILLING_REMIND_MS,
};

static const char *const provider_names[BP__COUNT] = {"stripe", "payme", "click", "stars"};
static const char *const provider_currency[BP__COUNT] = {"USD", "UZS", "UZS", "XTR"};

const char *billing_provider_name(enum billing_provider p)
{
	return p < BP__COUNT ? provider_names[p] : "?";
}

int billing_provider_parse(const char *name, enum billing_provider *out)
{
	for (int i = 0; i < BP__COUNT; i++) {
		if (name && strcmp(name, provider_names[i]) == 0) {
			*out = (enum billing_provider)i;
			return 0;
		}
	}
	return -ERR_INVALID;
}

const char *billing_provider_currency(enum billing_provider p)
{
	return p < BP__COUNT ? provider_currency[p] : "?";
}

bool billing_provider_ready(const struct app *a, enum billing_provider p)
{
	switch (p) {
	case BP_STRIPE:
		return app_str(a, SET_STRIPE_SECRET_KEY) && app_str(a, SET_STRIPE_WEBHOOK_SECRET);
	case BP_PAYME:
		return app_str(a, SET_PAYME_MERCHANT_ID) && app_str(a, SET_PAYME_KEY);
	case BP_CLICK:
		return app_str(a, SET_CLICK_SERVICE_ID) && app_str(a, SET_CLICK_MERCHANT_ID) &&
		       app_str(a, SET_CLICK_SECRET_KEY);
	case BP_STARS:
		return app_str(a, SET_BOT_TOKEN) != NULL;
	default:
		return false;
	}
}

int billing_period_end(const char *period, int64_t start_ms, int64_t *end_ms)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	time_t t = (time_t)(start_ms / 1000);
	struct tm tm;
	int last;

	if (!period || (strcmp(period, "month") != 0 && strcmp(period, "year") != 0))
		return -ERR_INVALID;
	gmtime_r(&t, &tm);
	if (strcmp(period, "month") == 0) {
		tm.tm_mon++;
		if (tm.tm_mon == 12) {
			tm.tm_mon = 0;
			tm.tm_year++;
		}
	} else {
		tm.tm_year++;
	}
	/* the 31st of a month of 30 days is its last day, 29 February the 28th */
	last = mdays[tm.tm_mon];
	if (tm.tm_mon == 1) {
		int y = tm.tm_year + 1900;

		if ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)
			last = 29;
	}
	if (tm.tm_mday > last)
		tm.tm_mday = last;
	*end_ms = (int64_t)timegm(&tm) * 1000 + start_ms % 1000;
	return 0;
}

/* ---- orders --------------------------------------------------------------- */

#define ORDER_COLS                                                                                 \
	"id, user_id, plan_id, period, provider, amount, currency, state, "                        \
	"coalesce(subscription_id, 0), coalesce(provider_ref, ''), created_at, expires_at, "       \
	"coalesce(paid_at, 0)"

static void order_read(const struct store_res *r, struct billing_order *o)
{
	memset(o, 0, sizeof(*o));
	o->id = store_res_int(r, 0, 0);
	o->user_id = store_res_int(r, 0, 1);
	snprintf(o->plan, sizeof(o->plan), "%s", store_res_text(r, 0, 2));
	snprintf(o->period, sizeof(o->period), "%s", store_res_text(r, 0, 3));
	if (billing_provider_parse(store_res_text(r, 0, 4), &o->provider))
		o->provider = BP__COUNT;
	o->amount = store_res_int(r, 0, 5);
	snprintf(o->currency, sizeof(o->currency), "%s", store_res_text(r, 0, 6));
	snprintf(o->state, sizeof(o->state), "%s", store_res_text(r, 0, 7));
	o->subscription_id = store_res_int(r, 0, 8);
	snprintf(o->provider_ref, sizeof(o->provider_ref), "%s", store_res_text(r, 0, 9));
	o->created_at = store_res_int(r, 0, 10);
	o->expires_at = store_res_int(r, 0, 11);
	o->paid_at = store_res_int(r, 0, 12);
}

static int order_one(struct store_conn *c, const char *sql, const struct store_val *a, size_t n,
                     struct billing_order *o, struct err *e)
{
	struct store_res *r = NULL;
	int rc = store_query(c, sql, a, n, &r, e);

	if (!rc && store_res_rows(r) == 0)
		rc = err_set(e, ERR_NOT_FOUND, "no such order");
	if (!rc)
		order_read(r, o);
	store_res_free(r);
	return rc;
}

int billing_order_new(struct store_conn *c, int64_t user_id, const char *plan, const char *period,
                      enum billing_provider provider, int64_t now, struct billing_order *o,
                      struct err *e)
{
	const char *cur = billing_provider_currency(provider);
	struct store_res *r = NULL;
	struct store_val a[] = {SV_TEXT(plan), SV_TEXT(cur), SV_TEXT(period)};
	int64_t amount;
	int rc;

	if (provider >= BP__COUNT)
		return err_set(e, ERR_INVALID, "unknown provider");
	if (strcmp(period, "month") != 0 && strcmp(period, "year") != 0)
		return err_set(e, ERR_INVALID, "period must be month or year");
	rc = store_query(c,
	                 "SELECT amount FROM plan_prices WHERE plan_id = $1 AND currency = $2 AND "
	                 "period = $3",
	                 a, ARRAY_SIZE(a), &r, e);
	if (rc)
		return rc;
	if (store_res_rows(r) == 0) {
		store_res_free(r);
		return err_set(e, ERR_NOT_FOUND, "plan %s has no %s price in %s", plan, period,
		               cur);
	}
	amount = store_res_int(r, 0, 0);
	store_res_free(r);
	{
		struct store_val b[] = {SV_INT(user_id), SV_TEXT(plan),
		                        SV_TEXT(period), SV_TEXT(provider_names[provider]),
		                        SV_INT(amount),  SV_TEXT(cur),
		                        SV_INT(now),     SV_INT(now + ORDER_TTL_MS)};

		return order_one(
		    c,
		    "INSERT INTO orders (user_id, plan_id, period, provider, amount, "
		    "currency, created_at, expires_at, updated_at) VALUES ($1, $2, $3, "
		    "$4, $5, $6, $7, $8, $7) RETURNING " ORDER_COLS,
		    b, ARRAY_SIZE(b), o, e);
	}
}

int billing_order_get(struct store_conn *c, int64_t id, struct billing_order *o, struct err *e)
{
	struct store_val a[] = {SV_INT(id)};

	return order_one(c, "SELECT " ORDER_COLS " FROM orders WHERE id = $1", a, 1, o, e);
}

int billing_order_by_ref(struct store_conn *c, enum billing_provider p, const char *ref,
                         struct billing_order *o, struct err *e)
{
	struct store_val a[] = {SV_TEXT(billing_provider_name(p)), SV_TEXT(ref)};

	return order_one(
	    c, "SELECT " ORDER_COLS " FROM orders WHERE provider = $1 AND provider_ref = $2", a, 2,
	    o, e);
}

static int exec_one(struct store_conn *c, const char *sql, const struct store_val *a, size_t n,
                    const char *what, struct err *e)
{
	struct store_res *r = NULL;
	int rc = store_query(c, sql, a, n, &r, e);

	if (!rc && store_res_changes(r) != 1)
		rc = err_set(e, ERR_NOT_FOUND, "no such %s", what);
	store_res_free(r);
	return rc;
}

int billing_order_set_ref(struct store_conn *c, int64_t id, const char *ref, struct err *e)
{
	struct store_val a[] = {SV_INT(id), SV_TEXT(ref)};

	return exec_one(c, "UPDATE orders SET provider_ref = $2 WHERE id = $1", a, 2, "order", e);
}

int billing_order_set_state(struct store_conn *c, int64_t id, const char *state, int64_t now,
                            struct err *e)
{
	struct store_val a[] = {SV_INT(id), SV_TEXT(state), SV_INT(now)};

	return exec_one(c, "UPDATE orders SET state = $2, updated_at = $3 WHERE id = $1", a, 3,
	                "order", e);
}

/* ---- the event ledger ----------------------------------------------------- */

int billing_event_claim(struct store_conn *c, enum billing_provider p, const char *event_id,
                        const char *type, int64_t now, char **answer, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_TEXT(billing_provider_name(p)), SV_TEXT(event_id), SV_TEXT(type),
	                        SV_INT(now)};
	int rc;

	if (answer)
		*answer = NULL;
	/* ON CONFLICT DO NOTHING: a repeat is not an error, and on PostgreSQL the
	 * insert waits for a concurrent one with the same key to finish */
	rc = store_query(c,
	                 "INSERT INTO provider_events (provider, event_id, type, received_at) "
	                 "VALUES ($1, $2, $3, $4) ON CONFLICT (provider, event_id) DO NOTHING",
	                 a, ARRAY_SIZE(a), &r, e);
	if (rc)
		return rc;
	if (store_res_changes(r) == 1) {
		store_res_free(r);
		return 1;
	}
	store_res_free(r);
	r = NULL;
	if (!answer)
		return 0;
	rc = store_query(c,
	                 "SELECT answer FROM provider_events WHERE provider = $1 AND event_id = $2",
	                 a, 2, &r, e);
	if (!rc && store_res_rows(r) == 1 && !store_res_null(r, 0, 0))
		*answer = xstrdup(store_res_text(r, 0, 0));
	store_res_free(r);
	return rc;
}

int billing_event_done(struct store_conn *c, enum billing_provider p, const char *event_id,
                       int64_t user_id, int64_t subscription_id, const char *effect,
                       const char *answer, struct err *e)
{
	struct store_val a[] = {SV_TEXT(billing_provider_name(p)),
	                        SV_TEXT(event_id),
	                        user_id ? SV_INT(user_id) : SV_NULL,
	                        subscription_id ? SV_INT(subscription_id) : SV_NULL,
	                        SV_TEXT(effect ? effect : ""),
	                        answer ? SV_TEXT(answer) : SV_NULL};

	return exec_one(
	    c,
	    "UPDATE provider_events SET user_id = $3, subscription_id = $4, effect = $5, "
	    "answer = $6 WHERE provider = $1 AND event_id = $2",
	    a, ARRAY_SIZE(a), "event", e);
}

/* ---- notices -------------------------------------------------------------- */

int billing_notice(struct store_conn *c, int64_t user_id, const char *kind, int64_t sub_id,
                   int64_t payment_id, int64_t order_id, const char *detail, int64_t now,
                   struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(user_id),
	                        SV_TEXT(kind),
	                        sub_id ? SV_INT(sub_id) : SV_NULL,
	                        payment_id ? SV_INT(payment_id) : SV_NULL,
	                        order_id ? SV_INT(order_id) : SV_NULL,
	                        SV_TEXT(detail ? detail : ""),
	                        SV_INT(now)};
	int rc =
	    store_query(c,
	                "INSERT INTO billing_notices (user_id, kind, subscription_id, "
	                "payment_id, order_id, detail, created_at) VALUES ($1, $2, $3, $4, $5, "
	                "$6, $7) RETURNING id",
	                a, ARRAY_SIZE(a), &r, e);

	if (!rc)
		rc = sched_enqueue(c, "bnotice", store_res_int(r, 0, 0), 0, now, now, e);
	store_res_free(r);
	return rc;
}

/* ---- subscriptions -------------------------------------------------------- */

struct sub {
	int64_t id, user_id, start, end, grace, version;
	char plan[16], period[8], provider[8], provider_sub[128];
	enum subs_state state;
};

/* Lock subscription id's row for this transaction and read it. */
static int sub_load(struct store_conn *c, int64_t id, struct sub *s, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(id)};
	int rc = exec_one(c, "UPDATE subscriptions SET version = version WHERE id = $1", a, 1,
	                  "subscription", e);

	if (rc)
		return rc;
	rc =
	    store_query(c,
	                "SELECT id, user_id, plan_id, period, state, provider, "
	                "coalesce(current_period_start, 0), coalesce(current_period_end, 0), "
	                "coalesce(grace_until, 0), version, coalesce(provider_subscription_id, '') "
	                "FROM subscriptions WHERE id = $1",
	                a, 1, &r, e);
	if (rc)
		return rc;
	memset(s, 0, sizeof(*s));
	s->id = store_res_int(r, 0, 0);
	s->user_id = store_res_int(r, 0, 1);
	snprintf(s->plan, sizeof(s->plan), "%s", store_res_text(r, 0, 2));
	snprintf(s->period, sizeof(s->period), "%s", store_res_text(r, 0, 3));
	if (subs_state_parse(store_res_text(r, 0, 4), &s->state))
		rc = err_set(e, ERR_INTERNAL, "subscription %lld: state %s", (long long)id,
		             store_res_text(r, 0, 4));
	snprintf(s->provider, sizeof(s->provider), "%s", store_res_text(r, 0, 5));
	s->start = store_res_int(r, 0, 6);
	s->end = store_res_int(r, 0, 7);
	s->grace = store_res_int(r, 0, 8);
	s->version = store_res_int(r, 0, 9);
	snprintf(s->provider_sub, sizeof(s->provider_sub), "%s", store_res_text(r, 0, 10));
	store_res_free(r);
	return rc;
}

int billing_sub_live(struct store_conn *c, int64_t user_id, int64_t *id, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(user_id)};
	int rc = store_query(
	    c, "SELECT id FROM subscriptions WHERE user_id = $1 AND state IN " LIVE_STATES, a, 1,
	    &r, e);

	if (rc)
		return rc;
	rc = store_res_rows(r) > 0;
	if (rc)
		*id = store_res_int(r, 0, 0);
	store_res_free(r);
	return rc;
}

/*
 * users.plan follows the live subscription; channels over the plan's limit
 * are paused (the oldest are kept), those within it resume.
 */
static int plan_sync(struct store_conn *c, int64_t user_id, int64_t now, struct err *e)
{
	struct store_val a[] = {SV_INT(user_id), SV_INT(now)};
	int rc;

	rc =
	    store_query(c,
	                "UPDATE users SET plan = coalesce((SELECT plan_id FROM subscriptions WHERE "
	                "user_id = $1 AND state IN " LIVE_STATES "), 'free') WHERE id = $1",
	                a, 1, NULL, e);
	if (!rc)
		rc = store_query(
		    c,
		    "UPDATE channels SET paused_at = NULL WHERE owner_id = $1 AND "
		    "paused_at IS NOT NULL AND id IN (SELECT k.id FROM channels k WHERE "
		    "k.owner_id = $1 AND k.removed_at IS NULL ORDER BY k.created_at, k.id "
		    "LIMIT (SELECT p.max_channels FROM users u JOIN plans p ON p.id = "
		    "u.plan WHERE u.id = $1))",
		    a, 1, NULL, e);
	if (!rc)
		rc = store_query(
		    c,
		    "UPDATE channels SET paused_at = $2 WHERE owner_id = $1 AND paused_at "
		    "IS NULL AND removed_at IS NULL AND id NOT IN (SELECT k.id FROM "
		    "channels k WHERE k.owner_id = $1 AND k.removed_at IS NULL ORDER BY "
		    "k.created_at, k.id LIMIT (SELECT p.max_channels FROM users u JOIN "
		    "plans p ON p.id = u.plan WHERE u.id = $1))",
		    a, 2, NULL, e);
	return rc;
}

static int sub_apply_loaded(struct store_conn *c, struct sub *s, enum subs_event ev, int64_t now,
                            const struct billing_policy *pol, struct billing_effect *ef,
                            struct err *e)
{
	enum subs_state to;
	int64_t grace = s->grace;
	const char *set = "";
	int rc;

	if (subs_next(s->state, ev, &to))
		return err_set(e, ERR_CONFLICT, "subscription %lld is %s: %s does not apply",
		               (long long)s->id, subs_state_name(s->state), subs_event_name(ev));
	if (to == SUBS_PAST_DUE && s->state != SUBS_PAST_DUE)
		grace = (ev == SUBS_PERIOD_ENDED && s->end ? s->end : now) + pol->grace_ms;
	if (ev == SUBS_CANCEL_REQUESTED)
		set = ", cancel_at_period_end = 1, canceled_at = $5";
	else if (ev == SUBS_REACTIVATED || ev == SUBS_PAYMENT_SUCCEEDED)
		set = ", cancel_at_period_end = 0, canceled_at = NULL";
	if (to == SUBS_EXPIRED)
		set = ev == SUBS_CANCELED_NOW
		          ? ", ended_at = $5, canceled_at = coalesce(canceled_at, "
		            "$5)"
		          : ", ended_at = $5";
	{
		char sql[512];
		struct store_val a[] = {SV_INT(s->id), SV_TEXT(subs_state_name(to)),
		                        grace ? SV_INT(grace) : SV_NULL, SV_INT(s->version),
		                        SV_INT(now)};

		snprintf(
		    sql, sizeof(sql),
		    "UPDATE subscriptions SET state = $2, grace_until = $3, version = version + "
		    "1, updated_at = $5%s WHERE id = $1 AND version = $4",
		    set);
		rc = exec_one(c, sql, a, ARRAY_SIZE(a), "subscription version", e);
	}
	if (rc)
		return rc;
	s->version++;
	/* ended here while Stripe may still charge or retry the card: end it
	 * there too, outside this transaction (a pstop job) */
	if (to == SUBS_EXPIRED && strcmp(s->provider, "stripe") == 0 && s->provider_sub[0]) {
		rc = sched_enqueue(c, "pstop", s->id, 0, now, now, e);
		if (rc)
			return rc;
	}
	if (ef) {
		ef->user_id = s->user_id;
		ef->subscription_id = s->id;
		ef->from = s->state;
		ef->to = to;
		snprintf(ef->text, sizeof(ef->text), "subscription %lld %s -> %s (%s)",
		         (long long)s->id, subs_state_name(s->state), subs_state_name(to),
		         subs_event_name(ev));
	}
	s->state = to;
	s->grace = grace;
	if (!subs_has_plan(to) || ev == SUBS_REACTIVATED)
		rc = plan_sync(c, s->user_id, now, e);
	return rc;
}

int billing_sub_apply(struct store_conn *c, int64_t id, enum subs_event event, int64_t now,
                      const struct billing_policy *pol, struct billing_effect *ef, struct err *e)
{
	struct sub s;
	int rc = sub_load(c, id, &s, e);

	if (ef)
		memset(ef, 0, sizeof(*ef));
	if (!rc)
		rc =
		    sub_apply_loaded(c, &s, event, now, pol ? pol : &billing_policy_default, ef, e);
	return rc;
}

/* ---- payments ------------------------------------------------------------- */

struct pay_row {
	int64_t id, user_id, sub_id, order_id, amount;
	char status[12], currency[4];
};

/* The ledger row of (provider, payment id, kind): 1 and *row, or 0. */
static int pay_find(struct store_conn *c, const char *provider, const char *pid, const char *kind,
                    struct pay_row *row, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_TEXT(provider), SV_TEXT(pid), SV_TEXT(kind)};
	int rc = store_query(c,
	                     "SELECT id, user_id, coalesce(subscription_id, 0), coalesce(order_id, "
	                     "0), amount, status, currency FROM payments WHERE provider = $1 AND "
	                     "provider_payment_id = $2 AND kind = $3",
	                     a, ARRAY_SIZE(a), &r, e);

	if (rc)
		return rc;
	rc = store_res_rows(r) == 1;
	if (rc) {
		row->id = store_res_int(r, 0, 0);
		row->user_id = store_res_int(r, 0, 1);
		row->sub_id = store_res_int(r, 0, 2);
		row->order_id = store_res_int(r, 0, 3);
		row->amount = store_res_int(r, 0, 4);
		snprintf(row->status, sizeof(row->status), "%s", store_res_text(r, 0, 5));
		snprintf(row->currency, sizeof(row->currency), "%s", store_res_text(r, 0, 6));
	}
	store_res_free(r);
	return rc;
}

static int pay_insert(struct store_conn *c, const char *kind, int64_t user_id, int64_t sub_id,
                      int64_t order_id, int64_t refund_of, const char *provider, const char *pid,
                      int64_t amount, const char *currency, const char *status, const char *reason,
                      int64_t now, int64_t *id, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_TEXT(kind),
	                        SV_INT(user_id),
	                        sub_id ? SV_INT(sub_id) : SV_NULL,
	                        order_id ? SV_INT(order_id) : SV_NULL,
	                        refund_of ? SV_INT(refund_of) : SV_NULL,
	                        SV_TEXT(provider),
	                        SV_TEXT(pid),
	                        SV_INT(amount),
	                        SV_TEXT(currency),
	                        SV_TEXT(status),
	                        SV_TEXT(reason ? reason : ""),
	                        SV_INT(now)};
	int rc = store_query(c,
	                     "INSERT INTO payments (kind, user_id, subscription_id, order_id, "
	                     "refund_of, provider, provider_payment_id, amount, currency, status, "
	                     "reason, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
	                     "$8, $9, $10, $11, $12, $12) RETURNING id",
	                     a, ARRAY_SIZE(a), &r, e);

	if (!rc)
		*id = store_res_int(r, 0, 0);
	store_res_free(r);
	return rc;
}

/* A Stripe subscription id kept by an expired row is moved aside, so a new
 * row may take it (UNIQUE (provider, provider_subscription_id)). */
static int free_provider_sub(struct store_conn *c, const char *provider, const char *psub,
                             struct err *e)
{
	if (!psub || !*psub)
		return 0;

	struct store_val a[] = {SV_TEXT(provider), SV_TEXT(psub)};

	return store_query(c,
	                   "UPDATE subscriptions SET provider_subscription_id = "
	                   "provider_subscription_id || ':ended:' || id WHERE provider = $1 AND "
	                   "provider_subscription_id = $2 AND state = 'expired'",
	                   a, 2, NULL, e);
}

int billing_paid(struct store_conn *c, const struct billing_paid *p, int64_t now,
                 struct billing_effect *ef, struct err *e)
{
	const char *prov = billing_provider_name(p->provider);
	struct billing_order o = {0};
	struct pay_row prev = {0};
	struct sub s = {0};
	char plan[16], period[8];
	int64_t user_id, live = 0, start, end, pay_id = 0;
	bool renew = false;
	int rc, had;

	memset(ef, 0, sizeof(*ef));
	had = pay_find(c, prov, p->payment_id, "payment", &prev, e);
	if (had < 0)
		return had;
	if (had && strcmp(prev.status, "succeeded") == 0) {
		ef->repeat = true;
		ef->user_id = prev.user_id;
		ef->subscription_id = prev.sub_id;
		ef->payment_id = prev.id;
		snprintf(ef->text, sizeof(ef->text), "payment %s recorded before", p->payment_id);
		return 0;
	}
	if (p->order_id) {
		rc = billing_order_get(c, p->order_id, &o, e);
		if (rc)
			return rc;
		if (o.amount != p->amount || strcmp(o.currency, p->currency) != 0)
			return err_set(e, ERR_CONFLICT, "order %lld costs %lld %s, paid %lld %s",
			               (long long)o.id, (long long)o.amount, o.currency,
			               (long long)p->amount, p->currency);
		if (strcmp(o.state, "paid") == 0 || strcmp(o.state, "refunded") == 0)
			return err_set(e, ERR_CONFLICT, "order %lld is %s already", (long long)o.id,
			               o.state);
		user_id = o.user_id;
		snprintf(plan, sizeof(plan), "%s", o.plan);
		snprintf(period, sizeof(period), "%s", o.period);
	} else if (p->subscription_id) {
		rc = sub_load(c, p->subscription_id, &s, e);
		if (rc)
			return rc;
		user_id = s.user_id;
		snprintf(plan, sizeof(plan), "%s", s.plan);
		snprintf(period, sizeof(period), "%s", s.period);
	} else {
		return err_set(e, ERR_INVALID, "a payment names an order or a subscription");
	}
	rc = users_lock(c, user_id, e);
	if (!rc)
		rc = billing_sub_live(c, user_id, &live, e);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		rc = sub_load(c, live, &s, e);
		if (rc)
			return rc;
		renew = strcmp(s.plan, plan) == 0 && strcmp(s.provider, prov) == 0 &&
		        (!p->provider_subscription_id || !s.provider_sub[0] ||
		         strcmp(s.provider_sub, p->provider_subscription_id) == 0);
	}
	if (renew) {
		start = p->period_start ? p->period_start : (s.end ? s.end : now);
		end = p->period_end;
		if (!end && billing_period_end(period, start, &end))
			return err_set(e, ERR_INTERNAL, "bad period %s", period);
		rc = sub_apply_loaded(c, &s, SUBS_PAYMENT_SUCCEEDED, now, &billing_policy_default,
		                      ef, e);
		if (!rc) {
			struct store_val a[] = {SV_INT(s.id), SV_INT(start), SV_INT(end)};

			rc = exec_one(
			    c,
			    "UPDATE subscriptions SET current_period_start = $2, "
			    "current_period_end = $3, grace_until = NULL, reminded_at = NULL "
			    "WHERE id = $1",
			    a, 3, "subscription", e);
		}
	} else {
		if (live) {
			struct billing_effect old;

			rc = sub_apply_loaded(c, &s, SUBS_CANCELED_NOW, now,
			                      &billing_policy_default, &old, e);
			if (rc)
				return rc;
		}
		start = p->period_start ? p->period_start : now;
		end = p->period_end;
		if (!end && billing_period_end(period, start, &end))
			return err_set(e, ERR_INTERNAL, "bad period %s", period);
		rc = free_provider_sub(c, prov, p->provider_subscription_id, e);
		if (!rc) {
			struct store_res *r = NULL;
			enum subs_state to;
			struct store_val a[] = {
			    SV_INT(user_id),
			    SV_TEXT(plan),
			    SV_TEXT(period),
			    SV_TEXT(prov),
			    p->provider_subscription_id ? SV_TEXT(p->provider_subscription_id)
			                                : SV_NULL,
			    p->provider_customer_id ? SV_TEXT(p->provider_customer_id) : SV_NULL,
			    SV_INT(start),
			    SV_INT(end),
			    SV_INT(now)};

			if (subs_next(SUBS_NONE, SUBS_PAYMENT_SUCCEEDED, &to))
				return err_set(e, ERR_INTERNAL,
				               "the state table refuses a purchase");
			rc = store_query(
			    c,
			    "INSERT INTO subscriptions (user_id, plan_id, period, state, "
			    "provider, provider_subscription_id, provider_customer_id, "
			    "current_period_start, current_period_end, created_at, "
			    "updated_at) VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, "
			    "$9, $9) RETURNING id",
			    a, ARRAY_SIZE(a), &r, e);
			if (!rc) {
				ef->user_id = user_id;
				ef->subscription_id = store_res_int(r, 0, 0);
				ef->from = SUBS_NONE;
				ef->to = to;
				snprintf(ef->text, sizeof(ef->text), "subscription %lld none -> %s",
				         (long long)ef->subscription_id, subs_state_name(to));
			}
			store_res_free(r);
		}
	}
	if (rc)
		return rc;
	if (had) {
		struct store_val a[] = {SV_INT(prev.id), SV_INT(ef->subscription_id), SV_INT(now)};

		pay_id = prev.id;
		rc = exec_one(
		    c,
		    "UPDATE payments SET status = 'succeeded', reason = '', subscription_id "
		    "= $2, attempts = attempts + 1, updated_at = $3 WHERE id = $1",
		    a, 3, "payment", e);
	} else {
		rc = pay_insert(c, "payment", user_id, ef->subscription_id, p->order_id, 0, prov,
		                p->payment_id, p->amount, p->currency, "succeeded", "", now,
		                &pay_id, e);
	}
	ef->payment_id = pay_id;
	if (!rc && p->order_id) {
		struct store_val a[] = {SV_INT(p->order_id), SV_INT(ef->subscription_id),
		                        SV_INT(now)};

		rc = exec_one(
		    c,
		    "UPDATE orders SET state = 'paid', subscription_id = $2, paid_at = $3, "
		    "updated_at = $3 WHERE id = $1",
		    a, 3, "order", e);
	}
	if (!rc)
		rc = plan_sync(c, user_id, now, e);
	if (!rc)
		rc = billing_notice(c, user_id, renew ? "renewed" : "activated",
		                    ef->subscription_id, pay_id, p->order_id, "", now, e);
	return rc;
}

int billing_failed(struct store_conn *c, enum billing_provider p, const char *payment_id,
                   int64_t user_id, int64_t order_id, int64_t subscription_id, int64_t amount,
                   const char *currency, const char *reason, int64_t now,
                   const struct billing_policy *pol, struct billing_effect *ef, struct err *e)
{
	const char *prov = billing_provider_name(p);
	struct pay_row prev = {0};
	int64_t pay_id = 0;
	int rc, had;

	memset(ef, 0, sizeof(*ef));
	ef->user_id = user_id;
	had = pay_find(c, prov, payment_id, "payment", &prev, e);
	if (had < 0)
		return had;
	if (had && strcmp(prev.status, "succeeded") == 0) {
		ef->repeat = true;
		ef->payment_id = prev.id;
		snprintf(ef->text, sizeof(ef->text), "payment %s succeeded before: failure ignored",
		         payment_id);
		return 0;
	}
	if (!subscription_id && order_id) {
		struct billing_order o;

		rc = billing_order_get(c, order_id, &o, e);
		if (rc)
			return rc;
		subscription_id = o.subscription_id;
	}
	rc = users_lock(c, user_id, e);
	if (rc)
		return rc;
	if (had) {
		struct store_val a[] = {SV_INT(prev.id), SV_TEXT(reason ? reason : ""),
		                        SV_INT(now)};

		pay_id = prev.id;
		rc = exec_one(
		    c,
		    "UPDATE payments SET reason = $2, attempts = attempts + 1, updated_at = "
		    "$3 WHERE id = $1",
		    a, 3, "payment", e);
	} else {
		rc = pay_insert(c, "payment", user_id, subscription_id, order_id, 0, prov,
		                payment_id, amount, currency, "failed", reason, now, &pay_id, e);
	}
	if (rc)
		return rc;
	ef->payment_id = pay_id;
	snprintf(ef->text, sizeof(ef->text), "payment %s failed: %.100s", payment_id,
	         reason ? reason : "");
	if (subscription_id) {
		struct sub s;

		rc = sub_load(c, subscription_id, &s, e);
		if (!rc && subs_has_plan(s.state)) {
			rc = sub_apply_loaded(c, &s, SUBS_PAYMENT_FAILED, now,
			                      pol ? pol : &billing_policy_default, ef, e);
			if (rc == -ERR_CONFLICT)
				rc = 0; /* canceled: it ends at its period's end anyway */
		}
		ef->payment_id = pay_id;
	}
	if (!rc)
		rc = billing_notice(c, user_id, "payment_failed", subscription_id, pay_id, order_id,
		                    reason, now, e);
	return rc;
}

int billing_refund_failed(struct store_conn *c, enum billing_provider p, const char *refund_id,
                          const char *reason, int64_t now, struct billing_effect *ef, struct err *e)
{
	const char *prov = billing_provider_name(p);
	struct pay_row ref = {0};
	int rc;

	memset(ef, 0, sizeof(*ef));
	rc = pay_find(c, prov, refund_id, "refund", &ref, e);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return err_set(e, ERR_NOT_FOUND, "no refund %s in the ledger", refund_id);
	ef->user_id = ref.user_id;
	ef->subscription_id = ref.sub_id;
	ef->payment_id = ref.id;
	if (strcmp(ref.status, "failed") == 0) {
		ef->repeat = true;
		snprintf(ef->text, sizeof(ef->text), "refund %s was recorded as failed before",
		         refund_id);
		return 0;
	}
	rc = users_lock(c, ref.user_id, e);
	if (!rc) {
		struct store_val a[] = {SV_INT(ref.id), SV_TEXT(reason ? reason : ""), SV_INT(now)};

		rc = exec_one(c,
		              "UPDATE payments SET status = 'failed', reason = $2, updated_at = $3 "
		              "WHERE id = $1",
		              a, 3, "refund", e);
	}
	/* the money stayed with the merchant: the order is paid again */
	if (!rc) {
		struct store_val a[] = {SV_INT(ref.id), SV_INT(now)};

		rc = store_query(
		    c,
		    "UPDATE orders SET state = 'paid', updated_at = $2 WHERE id = (SELECT "
		    "p.order_id FROM payments p JOIN payments r ON r.refund_of = p.id "
		    "WHERE r.id = $1) AND state = 'refunded'",
		    a, 2, NULL, e);
	}
	if (!rc)
		rc = billing_notice(c, ref.user_id, "refund_failed", ref.sub_id, ref.id,
		                    ref.order_id, reason, now, e);
	if (!rc)
		snprintf(ef->text, sizeof(ef->text), "refund %s of %lld %s failed: %.80s",
		         refund_id, (long long)ref.amount, ref.currency, reason ? reason : "");
	return rc;
}

int billing_refunded(struct store_conn *c, enum billing_provider p, const char *payment_id,
                     const char *refund_id, int64_t amount, const char *reason, int64_t now,
                     struct billing_effect *ef, struct err *e)
{
	const char *prov = billing_provider_name(p);
	struct pay_row pay = {0}, prev = {0};
	struct store_res *r = NULL;
	int64_t before, latest = 0, ref_id = 0;
	bool full;
	int rc;

	memset(ef, 0, sizeof(*ef));
	rc = pay_find(c, prov, payment_id, "payment", &pay, e);
	if (rc < 0)
		return rc;
	if (rc == 0 || strcmp(pay.status, "succeeded") != 0)
		return err_set(e, ERR_NOT_FOUND, "no successful payment %s", payment_id);
	ef->user_id = pay.user_id;
	ef->subscription_id = pay.sub_id;
	/* the user's lock first: a webhook recording the same refund holds it
	 * until it commits, and then this sees its row (a repeat), not a sum
	 * that already counts it */
	rc = users_lock(c, pay.user_id, e);
	if (rc)
		return rc;
	rc = pay_find(c, prov, refund_id, "refund", &prev, e);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		ef->repeat = true;
		ef->payment_id = prev.id;
		snprintf(ef->text, sizeof(ef->text), "refund %s recorded before", refund_id);
		return 0;
	}
	if (amount <= 0)
		return err_set(e, ERR_INVALID, "a refund's amount must be positive");
	{
		struct store_val a[] = {SV_INT(pay.id)};

		rc = store_query(
		    c,
		    "SELECT coalesce(sum(amount), 0) FROM payments WHERE refund_of = $1 "
		    "AND kind = 'refund' AND status = 'succeeded'",
		    a, 1, &r, e);
	}
	if (rc)
		return rc;
	before = store_res_int(r, 0, 0);
	store_res_free(r);
	r = NULL;
	if (before + amount > pay.amount)
		return err_set(e, ERR_CONFLICT,
		               "payment %s: %lld refunded already, %lld more would exceed %lld",
		               payment_id, (long long)before, (long long)amount,
		               (long long)pay.amount);
	full = before + amount == pay.amount;
	rc = pay_insert(c, "refund", pay.user_id, pay.sub_id, pay.order_id, pay.id, prov, refund_id,
	                amount, pay.currency, "succeeded", reason, now, &ref_id, e);
	if (rc)
		return rc;
	ef->payment_id = ref_id;
	snprintf(ef->text, sizeof(ef->text), "refund %s of %lld %s (%s)", refund_id,
	         (long long)amount, pay.currency, full ? "full" : "partial");
	if (pay.sub_id) {
		struct store_val a[] = {SV_INT(pay.sub_id)};

		rc = store_query(
		    c,
		    "SELECT id FROM payments WHERE subscription_id = $1 AND kind = "
		    "'payment' AND status = 'succeeded' ORDER BY created_at DESC, id DESC "
		    "LIMIT 1",
		    a, 1, &r, e);
		if (!rc && store_res_rows(r))
			latest = store_res_int(r, 0, 0);
		store_res_free(r);
	}
	/* only the refund of what pays for the current period ends it */
	if (!rc && pay.sub_id && latest == pay.id) {
		struct sub s;

		rc = sub_load(c, pay.sub_id, &s, e);
		if (!rc && subs_has_plan(s.state)) {
			rc = sub_apply_loaded(c, &s,
			                      full ? SUBS_REFUNDED_FULL : SUBS_REFUNDED_PARTIAL,
			                      now, &billing_policy_default, NULL, e);
			if (rc == -ERR_CONFLICT)
				rc = 0;
		}
	}
	if (!rc && full && pay.order_id) {
		struct store_val a[] = {SV_INT(pay.order_id), SV_INT(now)};

		rc = exec_one(c,
		              "UPDATE orders SET state = 'refunded', updated_at = $2 WHERE id = $1",
		              a, 2, "order", e);
	}
	if (!rc) {
		char detail[48];

		snprintf(detail, sizeof(detail), "%lld %s", (long long)amount, pay.currency);
		rc = billing_notice(c, pay.user_id, full ? "refunded" : "refunded_partial",
		                    pay.sub_id, ref_id, pay.order_id, detail, now, e);
	}
	return rc;
}
