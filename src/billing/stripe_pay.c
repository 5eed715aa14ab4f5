/*
 * stripe_pay: what billing asks of Stripe (stripe.h; protocols.md B.7,
 * B.8, B.11): a Checkout Session for an order, cancel at period end, and
 * the operator's refund.
 *
 * Every POST carries an idempotency key made from what the call does, so
 * a retry (ours after a timeout, or the operator pressing twice) is
 * answered with what the first one did instead of doing it again:
 *   herald-order-<order id>-<order created_at>-session
 *   herald-sub-<sub_...>-v<our version>-cancel
 *   herald-refund-<in_...>-<refunded before>-<amount>
 * No database transaction is open while Stripe is called.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "billing/billing.h"
#include "billing/stripe.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/store.h"
#include "users/users.h"

/* Transactions race Stripe's webhooks for the same rows: tried again. */
#define TX_TRIES 4

/*
 * What Stripe refused is not the user's fault: a wrong secret key must not
 * answer them 401, nor a parameter Stripe rejects 422, and Stripe's message
 * (which may quote the key's last characters) is for the operator's log.
 * Such failures become -ERR_UNAVAILABLE: Stripe cannot be used now.
 */
static int provider_failed(int rc, struct err *e)
{
	if (e) {
		log_warn("msg=\"stripe refused a call\" error=\"%s\"", e->msg);
		err_set(e, ERR_UNAVAILABLE,
		        "stripe cannot take this request now; try again later or use another "
		        "provider");
	}
	return rc == -ERR_TIMEOUT || rc == -ERR_BUSY ? rc : -ERR_UNAVAILABLE;
}

/* For the operator (a refund): Stripe's message stays, but a key Stripe
 * refuses is Stripe being unusable, not the admin's credentials. */
static int operator_sees(int rc, struct err *e)
{
	if (rc != -ERR_AUTH)
		return rc;
	if (e)
		e->code = ERR_UNAVAILABLE;
	return -ERR_UNAVAILABLE;
}

/* ---- checkout -------------------------------------------------------------- */

/* The plan's name as people read it ("Pro"); the id when it has none. */
static void plan_name(struct app *a, const char *plan, char *out, size_t n)
{
	struct store_res *r = NULL;
	struct store_val arg[] = {SV_TEXT(plan)};

	snprintf(out, n, "%s", plan);
	if (!store_exec(a->store, "SELECT name FROM plans WHERE id = $1", arg, 1, &r, NULL) &&
	    store_res_rows(r) == 1 && *store_res_text(r, 0, 0))
		snprintf(out, n, "%s", store_res_text(r, 0, 0));
	store_res_free(r);
}

/*
 * Where Stripe sends the payer back: the caller's return_url for both;
 * else the dashboard at HERALD_PUBLIC_URL; else Telegram (HERALD_TME_URL),
 * where the bot tells the user what happened.
 */
static void return_urls(struct app *a, const char *return_url, char *ok, char *back, size_t n)
{
	const char *pub = app_str(a, SET_PUBLIC_URL);
	const char *tme = app_str(a, SET_TME_URL);

	if (return_url && *return_url) {
		snprintf(ok, n, "%s", return_url);
		snprintf(back, n, "%s", return_url);
	} else if (pub && *pub) {
		size_t len = strlen(pub);

		while (len && pub[len - 1] == '/')
			len--;
		snprintf(ok, n, "%.*s/?billing=success&session_id={CHECKOUT_SESSION_ID}", (int)len,
		         pub);
		snprintf(back, n, "%.*s/?billing=canceled", (int)len, pub);
	} else {
		snprintf(ok, n, "%s", tme && *tme ? tme : "https://t.me");
		snprintf(back, n, "%s", tme && *tme ? tme : "https://t.me");
	}
}

int stripe_checkout_start(struct app *a, const struct user *u, struct billing_order *o,
                          const char *lang, const char *return_url, struct billing_checkout *out,
                          struct err *e)
{
	struct stripe_client sc;
	struct stripe_error se;
	char ok[1200], back[1200], plan[64], name[128], key[96], uid[24], oid[24], cur[4];
	const char *id, *url, *locale = "auto";
	json_t *params, *session = NULL;
	int rc;

	if (strcmp(o->currency, "USD") != 0)
		return err_set(e, ERR_INVALID, "stripe takes USD, the order is in %s", o->currency);
	for (int i = 0; i < 3; i++)
		cur[i] = (char)(o->currency[i] - 'A' + 'a');
	cur[3] = '\0';
	if (lang && (strcmp(lang, "en") == 0 || strcmp(lang, "ru") == 0))
		locale = lang;
	plan_name(a, o->plan, plan, sizeof(plan));
	snprintf(name, sizeof(name), "Herald %s (%s)", plan,
	         strcmp(o->period, "year") == 0 ? "yearly" : "monthly");
	snprintf(uid, sizeof(uid), "%lld", (long long)u->id);
	snprintf(oid, sizeof(oid), "%lld", (long long)o->id);
	snprintf(key, sizeof(key), "herald-order-%lld-%lld-session", (long long)o->id,
	         (long long)o->created_at);
	return_urls(a, return_url, ok, back, sizeof(ok));
	params = json_pack("{s:s, s:[{s:{s:s, s:I, s:{s:s}, s:{s:s}}, s:i}], s:s, s:{s:s, s:s}, "
	                   "s:{s:{s:s, s:s}}, s:s, s:s, s:s}",
	                   "mode", "subscription", "line_items", "price_data", "currency", cur,
	                   "unit_amount", (json_int_t)o->amount, "recurring", "interval", o->period,
	                   "product_data", "name", name, "quantity", 1, "client_reference_id", uid,
	                   "metadata", "order_id", oid, "user_id", uid, "subscription_data",
	                   "metadata", "order_id", oid, "user_id", uid, "success_url", ok,
	                   "cancel_url", back, "locale", locale);
	if (!params)
		return err_set(e, ERR_INTERNAL,
		               "stripe: the session's parameters could not be built");
	stripe_client_of(&sc, a);
	rc = stripe_call(&sc, "POST", "/v1/checkout/sessions", params, key, &session, &se, e);
	json_decref(params);
	if (rc)
		return provider_failed(rc, e);
	id = json_string_value(json_object_get(session, "id"));
	url = json_string_value(json_object_get(session, "url"));
	if (!id || !stripe_id_ok(id) || strncmp(id, "cs_", 3) != 0 || !url ||
	    strlen(url) >= sizeof(out->url) || strlen(id) >= sizeof(o->provider_ref)) {
		json_decref(session);
		return err_set(e, ERR_INTERNAL,
		               "stripe: the checkout session has no usable id or url");
	}
	snprintf(o->provider_ref, sizeof(o->provider_ref), "%s", id);
	snprintf(out->url, sizeof(out->url), "%s", url);
	log_info("msg=\"stripe checkout session\" order=%lld session=%s", (long long)o->id, id);
	json_decref(session);
	return 0;
}

/* ---- cancel at period end ------------------------------------------------- */

int stripe_cancel_at_period_end(struct app *a, const char *psub, int64_t id, int64_t version,
                                struct err *e)
{
	struct stripe_client sc;
	struct stripe_sub s;
	char path[STRIPE_ID_MAX + 32], key[STRIPE_ID_MAX + 64];
	json_t *params, *sub = NULL;
	int rc;

	if (!stripe_id_ok(psub))
		return err_set(e, ERR_INTERNAL, "subscription %lld: no usable stripe id",
		               (long long)id);
	snprintf(path, sizeof(path), "/v1/subscriptions/%s", psub);
	snprintf(key, sizeof(key), "herald-sub-%s-v%lld-cancel", psub, (long long)version);
	params = json_pack("{s:b}", "cancel_at_period_end", 1);
	if (!params)
		return err_set(e, ERR_INTERNAL,
		               "stripe: the update's parameters could not be built");
	stripe_client_of(&sc, a);
	rc = stripe_call(&sc, "POST", path, params, key, &sub, NULL, e);
	json_decref(params);
	if (rc)
		return provider_failed(rc, e);
	stripe_sub_read(sub, &s);
	json_decref(sub);
	log_info("msg=\"stripe subscription set to cancel at period end\" subscription=%lld "
	         "stripe=%s status=%s cancel_at_period_end=%d",
	         (long long)id, psub, s.status, (int)s.cancel_at_period_end);
	return 0;
}

/* ---- refunds -------------------------------------------------------------- */

struct record {
	const char *invoice, *refund_id, *reason;
	int64_t amount;
	struct billing_effect *ef;
};

static int record_tx(struct store_conn *c, void *arg, struct err *e)
{
	struct record *x = arg;

	return billing_refunded(c, BP_STRIPE, x->invoice, x->refund_id, x->amount, x->reason,
	                        clock_app_ms(), x->ef, e);
}

/* ---- ending a subscription at Stripe --------------------------------------- */

int stripe_end_subscription(struct app *a, int64_t sub_id, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val arg[] = {SV_INT(sub_id)};
	struct stripe_client sc;
	struct stripe_sub s;
	char path[STRIPE_ID_MAX + 32], psub[STRIPE_ID_MAX];
	json_t *sub = NULL;
	int rc = store_exec(a->store,
	                    "SELECT coalesce(provider_subscription_id, '') FROM subscriptions "
	                    "WHERE id = $1 AND provider = 'stripe' AND state = 'expired'",
	                    arg, 1, &r, e);

	if (rc)
		return rc;
	snprintf(psub, sizeof(psub), "%s", store_res_rows(r) == 1 ? store_res_text(r, 0, 0) : "");
	store_res_free(r);
	if (!stripe_id_ok(psub)) {
		log_info("msg=\"nothing to end at stripe\" subscription=%lld", (long long)sub_id);
		return 0;
	}
	snprintf(path, sizeof(path), "/v1/subscriptions/%s", psub);
	stripe_client_of(&sc, a);
	/* read first: a subscription Stripe ended itself (deleted, or never
	 * paid) is not deleted again */
	rc = stripe_call(&sc, "GET", path, NULL, NULL, &sub, NULL, e);
	if (!rc) {
		stripe_sub_read(sub, &s);
		json_decref(sub);
		sub = NULL;
		if (strcmp(s.status, "canceled") == 0 ||
		    strcmp(s.status, "incomplete_expired") == 0) {
			log_info("msg=\"stripe subscription had ended already\" subscription=%lld "
			         "stripe=%s status=%s",
			         (long long)sub_id, psub, s.status);
			return 0;
		}
		rc = stripe_call(&sc, "DELETE", path, NULL, NULL, &sub, NULL, e);
		json_decref(sub);
	}
	if (rc == -ERR_NOT_FOUND) {
		log_info("msg=\"stripe subscription is gone already\" subscription=%lld stripe=%s",
		         (long long)sub_id, psub);
		return 0;
	}
	if (rc) {
		log_warn("msg=\"stripe subscription not ended\" subscription=%lld stripe=%s "
		         "error=\"%s\"",
		         (long long)sub_id, psub, e->msg);
		return operator_sees(rc, e);
	}
	log_info("msg=\"stripe subscription ended at stripe\" subscription=%lld stripe=%s",
	         (long long)sub_id, psub);
	return 0;
}

int stripe_refund_start(struct app *a, const struct billing_refund *p, int64_t amount,
                        const char *reason, struct billing_effect *ef, struct err *e)
{
	const char *inv_id = p->provider_payment_id;
	struct stripe_client sc;
	struct stripe_invoice inv;
	struct stripe_refund re;
	struct stripe_error se;
	char path[STRIPE_ID_MAX + 48], key[STRIPE_ID_MAX + 64], pid[24], uid[24], why[501];
	json_t *v = NULL, *params;
	struct record x;
	int rc;

	if (!stripe_id_ok(inv_id))
		return err_set(e, ERR_INTERNAL, "payment %lld: no usable stripe invoice id",
		               (long long)p->payment_id);
	stripe_client_of(&sc, a);
	snprintf(path, sizeof(path), "/v1/invoices/%s", inv_id);
	rc = stripe_get_expanded(&sc, path, NULL, "payments", &v, e);
	if (rc)
		return operator_sees(rc, e);
	stripe_invoice_read(v, &inv);
	json_decref(v);
	v = NULL;
	if (!inv.payment_intent[0] && !inv.charge[0])
		return err_set(e, ERR_CONFLICT, "stripe invoice %s has no payment to refund",
		               inv_id);
	snprintf(pid, sizeof(pid), "%lld", (long long)p->payment_id);
	snprintf(uid, sizeof(uid), "%lld", (long long)p->user_id);
	snprintf(why, sizeof(why), "%s", reason ? reason : "");
	params = json_pack("{s:s, s:I, s:{s:s, s:s, s:s, s:s}}",
	                   inv.payment_intent[0] ? "payment_intent" : "charge",
	                   inv.payment_intent[0] ? inv.payment_intent : inv.charge, "amount",
	                   (json_int_t)amount, "metadata", "herald_payment_id", pid,
	                   "herald_invoice", inv_id, "herald_user_id", uid, "herald_reason", why);
	if (!params)
		return err_set(e, ERR_INTERNAL,
		               "stripe: the refund's parameters could not be built");
	snprintf(key, sizeof(key), "herald-refund-%s-%lld-%lld", inv_id,
	         (long long)p->refunded_before, (long long)amount);
	rc = stripe_call(&sc, "POST", "/v1/refunds", params, key, &v, &se, e);
	json_decref(params);
	if (rc)
		return operator_sees(rc, e);
	stripe_refund_read(v, &re);
	json_decref(v);
	if (!re.id[0] || re.amount <= 0)
		return err_set(e, ERR_INTERNAL, "stripe: the refund has no id or amount");
	if (strcmp(re.status, "succeeded") != 0 && strcmp(re.status, "pending") != 0)
		return err_set(e, ERR_CONFLICT, "stripe refund %s is %s", re.id, re.status);
	x = (struct record){inv_id, re.id, reason, re.amount, ef};
	rc = store_tx_retry(a->store, record_tx, &x, TX_TRIES, e);
	if (rc)
		return rc;
	/* charge.refunded may have been applied while this call waited for its
	 * answer: the ledger has the refund already, but it was made here */
	if (ef->repeat)
		snprintf(ef->text, sizeof(ef->text),
		         "refund %.60s of %lld %s (%s) made; Stripe's webhook recorded it first",
		         re.id, (long long)re.amount, p->currency,
		         p->refunded_before + re.amount >= p->amount_paid ? "full" : "partial");
	log_info("msg=\"stripe refund\" payment=%lld invoice=%s refund=%s amount=%lld status=%s",
	         (long long)p->payment_id, inv_id, re.id, (long long)re.amount, re.status);
	return 0;
}
