/*
 * checkout: starting a purchase (billing_checkout) and what the user and the
 * operator read about billing (plans, the current subscription, payments,
 * revenue) as JSON, shared by the REST API and the bot.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "billing/billing.h"
#include "billing/checkout.h"
#include "billing/click.h"
#include "billing/payme.h"
#include "billing/stars.h"
#include "billing/stripe.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/store.h"
#include "users/users.h"

struct new_order {
	const struct user *u;
	const char *plan, *period;
	enum billing_provider p;
	struct billing_order *o;
};

static int new_order_tx(struct store_conn *c, void *arg, struct err *e)
{
	struct new_order *x = arg;

	return billing_order_new(c, x->u->id, x->plan, x->period, x->p, clock_app_ms(), x->o, e);
}

static int set_ref_tx(struct store_conn *c, void *arg, struct err *e)
{
	const struct billing_order *o = arg;

	return billing_order_set_ref(c, o->id, o->provider_ref, e);
}

int billing_checkout(struct app *a, const struct user *u, const char *plan, const char *period,
                     enum billing_provider p, const char *return_url, struct billing_checkout *out,
                     struct err *e)
{
	struct new_order x = {u, plan, period, p, &out->order};
	const char *lang = u->language[0] ? u->language : "en";
	int rc;

	memset(out, 0, sizeof(*out));
	if (p >= BP__COUNT || !billing_provider_ready(a, p) || !billing_checkouts[p])
		return err_set(e, ERR_UNAVAILABLE, "%s is not configured",
		               p < BP__COUNT ? billing_provider_name(p) : "that provider");
	rc = store_tx(a->store, new_order_tx, &x, e);
	if (rc)
		return rc;
	rc = billing_checkouts[p](a, u, &out->order, lang, return_url, out, e);
	if (!rc && out->order.provider_ref[0])
		rc = store_tx(a->store, set_ref_tx, &out->order, e);
	if (!rc)
		log_info(
		    "msg=\"checkout started\" user=%lld order=%lld provider=%s plan=%s period=%s",
		    (long long)u->id, (long long)out->order.id, billing_provider_name(p), plan,
		    period);
	return rc;
}

static int payme_start(struct app *a, const struct user *u, struct billing_order *o,
                       const char *lang, const char *return_url, struct billing_checkout *out,
                       struct err *e)
{
	(void)u;
	if (payme_checkout_url(a, o, lang, return_url, out->url, sizeof(out->url)))
		return err_set(e, ERR_INTERNAL, "the Payme checkout URL does not fit");
	return 0;
}

static int click_start(struct app *a, const struct user *u, struct billing_order *o,
                       const char *lang, const char *return_url, struct billing_checkout *out,
                       struct err *e)
{
	(void)u;
	(void)lang;
	if (click_pay_url(a, o, return_url, out->url, sizeof(out->url)))
		return err_set(e, ERR_INTERNAL, "the Click payment URL does not fit");
	return 0;
}

billing_checkout_fn *const billing_checkouts[BP__COUNT] = {
    [BP_STRIPE] = stripe_checkout_start,
    [BP_PAYME] = payme_start,
    [BP_CLICK] = click_start,
    [BP_STARS] = stars_checkout,
};

/* ---- what is read --------------------------------------------------------- */

int billing_plans_json(struct app *a, json_t **out, struct err *e)
{
	struct store_res *r = NULL, *pr = NULL;
	json_t *plans = json_array(), *provs = json_array();
	int rc = store_exec(a->store,
	                    "SELECT id, name, max_channels, max_posts_month FROM plans ORDER BY "
	                    "position, id",
	                    NULL, 0, &r, e);

	if (!rc)
		rc =
		    store_exec(a->store,
		               "SELECT plan_id, currency, period, amount FROM plan_prices ORDER BY "
		               "plan_id, currency, period",
		               NULL, 0, &pr, e);
	for (size_t i = 0; !rc && i < store_res_rows(r); i++) {
		json_t *prices = json_array();

		for (size_t k = 0; k < store_res_rows(pr); k++) {
			if (strcmp(store_res_text(pr, k, 0), store_res_text(r, i, 0)) != 0)
				continue;
			json_array_append_new(prices,
			                      json_pack("{s:s, s:s, s:I}", "currency",
			                                store_res_text(pr, k, 1), "period",
			                                store_res_text(pr, k, 2), "amount",
			                                (json_int_t)store_res_int(pr, k, 3)));
		}
		json_array_append_new(
		    plans, json_pack("{s:s, s:s, s:I, s:I, s:o}", "id", store_res_text(r, i, 0),
		                     "name", store_res_text(r, i, 1), "max_channels",
		                     (json_int_t)store_res_int(r, i, 2), "max_posts_month",
		                     (json_int_t)store_res_int(r, i, 3), "prices", prices));
	}
	for (int p = 0; p < BP__COUNT; p++)
		if (billing_provider_ready(a, p) && billing_checkouts[p])
			json_array_append_new(provs, json_pack("{s:s, s:s}", "id",
			                                       billing_provider_name(p), "currency",
			                                       billing_provider_currency(p)));
	store_res_free(r);
	store_res_free(pr);
	if (rc) {
		json_decref(plans);
		json_decref(provs);
		return rc;
	}
	*out = json_pack("{s:o, s:o}", "plans", plans, "providers", provs);
	return 0;
}

static json_t *int_or_null(const struct store_res *r, size_t row, size_t col)
{
	return store_res_null(r, row, col) ? json_null() : json_integer(store_res_int(r, row, col));
}

int billing_current_json(struct app *a, int64_t user_id, json_t **out, struct err *e)
{
	struct store_res *r = NULL, *u = NULL;
	struct store_val arg[] = {SV_INT(user_id)};
	json_t *sub = json_null();
	int rc =
	    store_exec(a->store,
	               "SELECT id, plan_id, period, state, provider, current_period_start, "
	               "current_period_end, cancel_at_period_end, grace_until, created_at, "
	               "ended_at FROM subscriptions WHERE user_id = $1 ORDER BY CASE WHEN state "
	               "= 'expired' THEN 1 ELSE 0 END, id DESC LIMIT 1",
	               arg, 1, &r, e);

	if (!rc)
		rc = store_exec(a->store, "SELECT plan FROM users WHERE id = $1", arg, 1, &u, e);
	if (!rc && store_res_rows(u) == 0)
		rc = err_set(e, ERR_NOT_FOUND, "no such user");
	if (!rc && store_res_rows(r) == 1)
		sub = json_pack(
		    "{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:o, s:I, s:o}", "id",
		    (json_int_t)store_res_int(r, 0, 0), "plan", store_res_text(r, 0, 1), "period",
		    store_res_text(r, 0, 2), "state", store_res_text(r, 0, 3), "provider",
		    store_res_text(r, 0, 4), "current_period_start", int_or_null(r, 0, 5),
		    "current_period_end", int_or_null(r, 0, 6), "cancel_at_period_end",
		    (int)store_res_int(r, 0, 7), "grace_until", int_or_null(r, 0, 8), "created_at",
		    (json_int_t)store_res_int(r, 0, 9), "ended_at", int_or_null(r, 0, 10));
	if (!rc)
		*out =
		    json_pack("{s:s, s:o}", "plan", store_res_text(u, 0, 0), "subscription", sub);
	else
		json_decref(sub);
	store_res_free(r);
	store_res_free(u);
	return rc;
}

int billing_payments_json(struct app *a, int64_t user_id, int limit, json_t **out, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val arg[] = {SV_INT(user_id), SV_INT(limit)};
	json_t *list;
	int rc = store_exec(a->store,
	                    "SELECT id, kind, provider, provider_payment_id, amount, currency, "
	                    "status, reason, attempts, subscription_id, order_id, refund_of, "
	                    "created_at, updated_at FROM payments WHERE user_id = $1 ORDER BY "
	                    "created_at DESC, id DESC LIMIT $2",
	                    arg, 2, &r, e);

	if (rc)
		return rc;
	list = json_array();
	for (size_t i = 0; i < store_res_rows(r); i++)
		json_array_append_new(
		    list,
		    json_pack(
		        "{s:I, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:I, s:I}",
		        "id", (json_int_t)store_res_int(r, i, 0), "kind", store_res_text(r, i, 1),
		        "provider", store_res_text(r, i, 2), "provider_payment_id",
		        store_res_text(r, i, 3), "amount", (json_int_t)store_res_int(r, i, 4),
		        "currency", store_res_text(r, i, 5), "status", store_res_text(r, i, 6),
		        "reason", store_res_text(r, i, 7), "attempts",
		        (json_int_t)store_res_int(r, i, 8), "subscription_id", int_or_null(r, i, 9),
		        "order_id", int_or_null(r, i, 10), "refund_of", int_or_null(r, i, 11),
		        "created_at", (json_int_t)store_res_int(r, i, 12), "updated_at",
		        (json_int_t)store_res_int(r, i, 13)));
	store_res_free(r);
	*out = list;
	return 0;
}

/* Rows of (provider, currency, count, sum) as an array of objects. */
static json_t *sums(const struct store_res *r)
{
	json_t *list = json_array();

	for (size_t i = 0; i < store_res_rows(r); i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:I}", "provider",
		                                      store_res_text(r, i, 0), "currency",
		                                      store_res_text(r, i, 1), "count",
		                                      (json_int_t)store_res_int(r, i, 2), "amount",
		                                      (json_int_t)store_res_int(r, i, 3)));
	return list;
}

int billing_revenue_json(struct app *a, int64_t from, int64_t to, json_t **out, struct err *e)
{
	struct store_res *pay = NULL, *ref = NULL, *fail = NULL, *mrr = NULL, *rep = NULL,
	                 *churn = NULL;
	struct store_val w[] = {SV_INT(from), SV_INT(to)};
	json_t *m = json_object(), *repeated = json_array();
	int rc;

	rc = store_exec(
	    a->store,
	    "SELECT provider, currency, count(*), sum(amount) FROM payments WHERE kind = "
	    "'payment' AND status = 'succeeded' AND updated_at >= $1 AND updated_at < "
	    "$2 GROUP BY provider, currency ORDER BY provider, currency",
	    w, 2, &pay, e);
	if (!rc)
		rc = store_exec(
		    a->store,
		    "SELECT provider, currency, count(*), sum(amount) FROM payments WHERE "
		    "kind = 'refund' AND status = 'succeeded' AND created_at >= $1 AND "
		    "created_at < $2 GROUP BY provider, currency ORDER BY provider, "
		    "currency",
		    w, 2, &ref, e);
	if (!rc)
		rc = store_exec(
		    a->store,
		    "SELECT provider, currency, sum(attempts), sum(amount) FROM payments "
		    "WHERE kind = 'payment' AND status = 'failed' AND updated_at >= $1 AND "
		    "updated_at < $2 GROUP BY provider, currency ORDER BY provider, "
		    "currency",
		    w, 2, &fail, e);
	if (!rc)
		rc = store_exec(a->store,
		                "SELECT p.currency, s.period, p.amount FROM subscriptions s JOIN "
		                "payments p ON p.id = (SELECT max(x.id) FROM payments x WHERE "
		                "x.subscription_id = s.id AND x.kind = 'payment' AND x.status = "
		                "'succeeded') WHERE s.state IN ('active', 'past_due', 'canceled')",
		                NULL, 0, &mrr, e);
	if (!rc)
		rc = store_exec(
		    a->store,
		    "SELECT user_id, sum(attempts), max(reason) FROM payments WHERE kind = "
		    "'payment' AND status = 'failed' AND updated_at >= $1 AND updated_at < "
		    "$2 GROUP BY user_id HAVING sum(attempts) >= 2 ORDER BY sum(attempts) "
		    "DESC LIMIT 100",
		    w, 2, &rep, e);
	if (!rc)
		rc = store_exec(
		    a->store,
		    "SELECT (SELECT count(*) FROM subscriptions WHERE created_at < $1 AND "
		    "(ended_at IS NULL OR ended_at >= $1)), (SELECT count(*) FROM "
		    "subscriptions WHERE ended_at >= $1 AND ended_at < $2)",
		    w, 2, &churn, e);
	if (!rc) {
		for (size_t i = 0; i < store_res_rows(mrr); i++) {
			const char *cur = store_res_text(mrr, i, 0);
			int64_t amount = store_res_int(mrr, i, 2);
			json_t *v = json_object_get(m, cur);

			if (strcmp(store_res_text(mrr, i, 1), "year") == 0)
				amount /= 12;
			json_object_set_new(m, cur,
			                    json_integer((v ? json_integer_value(v) : 0) + amount));
		}
		for (size_t i = 0; i < store_res_rows(rep); i++)
			json_array_append_new(repeated,
			                      json_pack("{s:I, s:I, s:s}", "user_id",
			                                (json_int_t)store_res_int(rep, i, 0),
			                                "failed_attempts",
			                                (json_int_t)store_res_int(rep, i, 1),
			                                "last_reason", store_res_text(rep, i, 2)));
		{
			int64_t live = store_res_int(churn, 0, 0),
			        ended = store_res_int(churn, 0, 1);

			*out = json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:f}, s:o}",
			                 "from", (json_int_t)from, "to", (json_int_t)to, "payments",
			                 sums(pay), "refunds", sums(ref), "failed", sums(fail),
			                 "mrr", m, "churn", "live_at_start", (json_int_t)live,
			                 "ended", (json_int_t)ended, "rate",
			                 live ? (double)ended / (double)live : 0.0,
			                 "repeated_failures", repeated);
		}
	} else {
		json_decref(m);
		json_decref(repeated);
	}
	store_res_free(pay);
	store_res_free(ref);
	store_res_free(fail);
	store_res_free(mrr);
	store_res_free(rep);
	store_res_free(churn);
	return rc;
}

struct cancel_arg {
	int64_t user_id;
};

static int cancel_tx(struct store_conn *c, void *arg, struct err *e)
{
	struct cancel_arg *x = arg;
	struct billing_effect ef;
	int64_t id;
	int rc = billing_sub_live(c, x->user_id, &id, e);

	if (rc == 0)
		return err_set(e, ERR_NOT_FOUND, "there is no subscription to cancel");
	if (rc < 0)
		return rc;
	rc = billing_sub_apply(c, id, SUBS_CANCEL_REQUESTED, clock_app_ms(), NULL, &ef, e);
	if (!rc && ef.from != ef.to)
		rc = billing_notice(c, x->user_id, "cancel_requested", id, 0, 0, "", clock_app_ms(),
		                    e);
	return rc;
}

/*
 * A Stripe subscription is told first (it renews on its own, so ours alone
 * would not stop the charges); only when Stripe has agreed does ours change.
 * A state the machine refuses (past_due) or that holds already (canceled)
 * does not call Stripe.
 */
int billing_cancel(struct app *a, int64_t user_id, struct err *e)
{
	struct cancel_arg x = {user_id};
	struct store_res *r = NULL;
	struct store_val arg[] = {SV_INT(user_id)};
	int rc = store_exec(a->store,
	                    "SELECT id, version, coalesce(provider_subscription_id, '') FROM "
	                    "subscriptions WHERE user_id = $1 AND provider = 'stripe' AND state IN "
	                    "('trialing', 'active')",
	                    arg, 1, &r, e);

	if (!rc && store_res_rows(r) == 1 && *store_res_text(r, 0, 2))
		rc = stripe_cancel_at_period_end(a, store_res_text(r, 0, 2), store_res_int(r, 0, 0),
		                                 store_res_int(r, 0, 1), e);
	store_res_free(r);
	return rc ? rc : store_tx(a->store, cancel_tx, &x, e);
}

billing_refund_fn *const billing_refunders[BP__COUNT] = {
    [BP_STRIPE] = stripe_refund_start,
    [BP_CLICK] = click_refund,
    [BP_STARS] = stars_refund,
};

int billing_refund(struct app *a, int64_t payment_id, int64_t amount, const char *reason,
                   struct billing_effect *ef, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val arg[] = {SV_INT(payment_id)};
	struct billing_refund p = {.payment_id = payment_id};
	enum billing_provider prov;
	int rc =
	    store_exec(a->store,
	               "SELECT p.user_id, p.amount, p.provider_payment_id, p.currency, "
	               "p.provider, u.telegram_id, (SELECT coalesce(sum(x.amount), 0) FROM "
	               "payments x WHERE x.refund_of = p.id AND x.kind = 'refund' AND x.status "
	               "= 'succeeded') FROM payments p JOIN users u ON u.id = p.user_id WHERE "
	               "p.id = $1 AND p.kind = 'payment' AND p.status = 'succeeded'",
	               arg, 1, &r, e);

	memset(ef, 0, sizeof(*ef));
	if (rc)
		return rc;
	if (store_res_rows(r) == 0) {
		store_res_free(r);
		return err_set(e, ERR_NOT_FOUND, "no successful payment %lld",
		               (long long)payment_id);
	}
	p.user_id = store_res_int(r, 0, 0);
	p.amount_paid = store_res_int(r, 0, 1);
	snprintf(p.provider_payment_id, sizeof(p.provider_payment_id), "%s",
	         store_res_text(r, 0, 2));
	snprintf(p.currency, sizeof(p.currency), "%s", store_res_text(r, 0, 3));
	rc = billing_provider_parse(store_res_text(r, 0, 4), &prov);
	p.user_telegram_id = store_res_int(r, 0, 5);
	p.refunded_before = store_res_int(r, 0, 6);
	store_res_free(r);
	if (rc)
		return err_set(e, ERR_INTERNAL, "payment %lld: unknown provider",
		               (long long)payment_id);
	if (amount == 0)
		amount = p.amount_paid - p.refunded_before;
	if (amount <= 0 || p.refunded_before + amount > p.amount_paid)
		return err_set(e, ERR_CONFLICT, "payment %lld: %lld of %lld is left to refund",
		               (long long)payment_id,
		               (long long)(p.amount_paid - p.refunded_before),
		               (long long)p.amount_paid);
	if (!billing_refunders[prov])
		return err_set(e, ERR_UNAVAILABLE,
		               prov == BP_PAYME
		                   ? "Payme payments are refunded from the Payme merchant "
		                     "cabinet; Herald records the refund when Payme "
		                     "cancels the transaction"
		                   : "%s payments cannot be refunded from here",
		               billing_provider_name(prov));
	rc = billing_refunders[prov](a, &p, amount, reason ? reason : "", ef, e);
	if (!rc)
		log_info("msg=\"refund made\" payment=%lld provider=%s amount=%lld effect=\"%s\"",
		         (long long)payment_id, billing_provider_name(prov), (long long)amount,
		         ef->text);
	return rc;
}
