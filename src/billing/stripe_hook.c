/*
 * stripe_hook: POST /hooks/stripe (stripe.h; protocols.md B.12, B.13;
 * docs/billing.md).
 *
 * A delivery goes through four steps:
 *   1. verify Stripe-Signature over the raw body (nothing else is read
 *      before it passes);
 *   2. skip it at once when provider_events has its id already;
 *   3. prepare: re-read from the API what the event's order could make
 *      stale (the invoice, the subscription, the refunds of a charge), with
 *      no transaction open;
 *   4. apply: in one transaction, claim (stripe, event id) in
 *      provider_events, lock the user, change the ledger and the
 *      subscription through billing.c, and record the effect. A unique-key
 *      race or a busy store runs the transaction again; a claim that finds
 *      the row (a concurrent copy committed first) changes nothing.
 *
 * Activation happens once whichever of checkout.session.completed and
 * invoice.paid comes first: both pay the same invoice (payment id = the
 * in_... id), and the ledger's key makes the second a repeat. A state is
 * only moved by what Stripe says now (the re-read object), so a late
 * event cannot undo a newer state: an expired subscription refuses every
 * event, a reactivation needs cancel_at_period_end false now, a failure of
 * an invoice that is paid now counts as its payment.
 *
 * A refusal by the ledger or the state machine (an amount that differs
 * from the order's, an order paid twice, an unknown payment) is recorded
 * as the event's effect and answered 200: delivering it again would not
 * change the answer. Only an unreachable store or API answers 503.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing.h"
#include "billing/sig.h"
#include "billing/stripe.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/store.h"
#include "users/users.h"

#define HOOK_JSON_DEPTH 64
#define HOOK_TX_TRIES   6
#define REFUNDS_MAX     100

enum kind {
	K_IGNORE,
	K_SESSION_DONE,
	K_SESSION_EXPIRED,
	K_INVOICE_PAID,
	K_INVOICE_FAILED,
	K_SUB_UPDATED,
	K_SUB_DELETED,
	K_CHARGE_REFUNDED,
	K_REFUND_FAILED,
};

static const struct {
	const char *type;
	enum kind kind;
} kinds[] = {
    {"checkout.session.completed", K_SESSION_DONE},
    {"checkout.session.async_payment_succeeded", K_SESSION_DONE},
    {"checkout.session.expired", K_SESSION_EXPIRED},
    {"invoice.paid", K_INVOICE_PAID},
    {"invoice.payment_succeeded", K_INVOICE_PAID},
    {"invoice.payment_failed", K_INVOICE_FAILED},
    {"customer.subscription.updated", K_SUB_UPDATED},
    {"customer.subscription.deleted", K_SUB_DELETED},
    {"charge.refunded", K_CHARGE_REFUNDED},
    {"refund.failed", K_REFUND_FAILED},
};

struct job {
	const struct stripe_hook_env *env;
	struct stripe_event ev;
	enum kind kind;
	/* what prepare read */
	bool ignore; /* nothing to apply; effect says why */
	struct stripe_session sess;
	struct stripe_invoice inv;
	bool has_inv;
	struct stripe_sub sub;
	bool has_sub;
	struct stripe_charge ch;
	struct stripe_refund *refunds;
	size_t nrefunds;
	char refund_invoice[STRIPE_ID_MAX];
	char failure[400];
	/* the outcome */
	int64_t user_id, sub_id;
	char effect[256];
};

static void effect(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void effect(struct job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->effect, sizeof(j->effect), fmt, ap);
	va_end(ap);
}

/* ---- prepare: re-read what order could make stale ------------------------- */

static int get(struct job *j, const char *path, json_t *params, json_t **out, struct err *e)
{
	int rc = stripe_call(j->env->api, "GET", path, params, NULL, out, NULL, e);

	json_decref(params);
	return rc;
}

static int fetch_sub(struct job *j, const char *id, struct err *e)
{
	char path[STRIPE_ID_MAX + 32];
	json_t *v = NULL;
	int rc;

	if (!stripe_id_ok(id))
		return err_set(e, ERR_NOT_FOUND, "no usable subscription id");
	snprintf(path, sizeof(path), "/v1/subscriptions/%s", id);
	rc = get(j, path, NULL, &v, e);
	if (!rc) {
		stripe_sub_read(v, &j->sub);
		j->has_sub = true;
	}
	json_decref(v);
	return rc;
}

static int fetch_invoice(struct job *j, const char *id, struct err *e)
{
	char path[STRIPE_ID_MAX + 32];
	json_t *v = NULL;
	int rc;

	if (!stripe_id_ok(id))
		return err_set(e, ERR_NOT_FOUND, "no usable invoice id");
	snprintf(path, sizeof(path), "/v1/invoices/%s", id);
	rc = stripe_get_expanded(j->env->api, path, NULL, "payments", &v, e);
	if (!rc) {
		stripe_invoice_read(v, &j->inv);
		j->has_inv = true;
	}
	json_decref(v);
	/* the service period, when the invoice's lines do not say it */
	if (!rc && !j->inv.period_end && j->inv.subscription[0] && !j->has_sub)
		rc = fetch_sub(j, j->inv.subscription, e);
	return rc;
}

/* Why the invoice's last payment failed, from its PaymentIntent. */
static int fetch_failure(struct job *j, struct err *e)
{
	char path[STRIPE_ID_MAX + 32], why[320] = "";
	json_t *v = NULL;
	int rc = 0;

	if (stripe_id_ok(j->inv.payment_intent)) {
		snprintf(path, sizeof(path), "/v1/payment_intents/%s", j->inv.payment_intent);
		rc = get(j, path, NULL, &v, e);
		if (!rc)
			stripe_failure_text(v, why, sizeof(why));
		json_decref(v);
		if (rc == -ERR_NOT_FOUND)
			rc = 0;
	}
	if (!why[0])
		stripe_failure_text(json_object_get(j->ev.object, "last_finalization_error"), why,
		                    sizeof(why));
	snprintf(j->failure, sizeof(j->failure), "%s; attempt %lld",
	         why[0] ? why : "the payment was declined", (long long)j->inv.attempt_count);
	return rc;
}

/* The invoice a charge paid: named by old layouts, by the metadata of
 * refunds Herald made, else found among the customer's invoices. */
static int charge_invoice(struct job *j, struct err *e)
{
	json_t *v = NULL, *data, *it;
	size_t i;
	int rc;

	if (j->ch.invoice[0]) {
		snprintf(j->refund_invoice, sizeof(j->refund_invoice), "%s", j->ch.invoice);
		return 0;
	}
	for (i = 0; i < j->nrefunds; i++) {
		if (stripe_id_ok(j->refunds[i].invoice)) {
			snprintf(j->refund_invoice, sizeof(j->refund_invoice), "%s",
			         j->refunds[i].invoice);
			return 0;
		}
	}
	if (!stripe_id_ok(j->ch.customer))
		return 0;
	{
		json_t *p = json_pack("{s:s, s:i}", "customer", j->ch.customer, "limit", 100);

		rc = stripe_get_expanded(j->env->api, "/v1/invoices", p, "data.payments", &v, e);
		json_decref(p);
	}
	data = json_object_get(v, "data");
	json_array_foreach(data, i, it)
	{
		struct stripe_invoice inv;

		stripe_invoice_read(it, &inv);
		if ((j->ch.payment_intent[0] &&
		     strcmp(inv.payment_intent, j->ch.payment_intent) == 0) ||
		    strcmp(inv.charge, j->ch.id) == 0) {
			snprintf(j->refund_invoice, sizeof(j->refund_invoice), "%s", inv.id);
			break;
		}
	}
	json_decref(v);
	return rc;
}

static int fetch_refunds(struct job *j, struct err *e)
{
	json_t *v = NULL, *data, *it;
	size_t i;
	int rc;

	if (!stripe_id_ok(j->ch.id))
		return err_set(e, ERR_NOT_FOUND, "no usable charge id");
	rc = get(j, "/v1/refunds",
	         json_pack("{s:s, s:i}", "charge", j->ch.id, "limit", REFUNDS_MAX), &v, e);
	data = json_object_get(v, "data");
	if (!rc && json_array_size(data)) {
		j->refunds = xcalloc(json_array_size(data), sizeof(*j->refunds));
		json_array_foreach(data, i, it)
		{
			stripe_refund_read(it, &j->refunds[j->nrefunds]);
			j->nrefunds++;
		}
	}
	json_decref(v);
	return rc ? rc : charge_invoice(j, e);
}

static bool changed(const struct job *j, const char *field)
{
	return j->ev.previous && json_object_get(j->ev.previous, field) != NULL;
}

/* 0 with the job ready (or marked ignore), else an error: -ERR_NOT_FOUND
 * (the object is gone) is recorded as a refusal, others answer 503. */
static int prepare(struct job *j, struct err *e)
{
	const json_t *o = j->ev.object;
	const char *id = json_string_value(json_object_get(o, "id"));

	switch (j->kind) {
	case K_IGNORE:
		j->ignore = true;
		effect(j, "ignored: %s is not a type Herald acts on", j->ev.type);
		return 0;
	case K_SESSION_DONE:
		stripe_session_read(o, &j->sess);
		if (strcmp(j->sess.mode, "subscription") != 0) {
			j->ignore = true;
			effect(j, "ignored: session %s is in %s mode", j->sess.id, j->sess.mode);
			return 0;
		}
		if (!j->sess.invoice[0] && j->sess.subscription[0]) {
			int rc = fetch_sub(j, j->sess.subscription, e);

			if (rc)
				return rc;
			snprintf(j->sess.invoice, sizeof(j->sess.invoice), "%s",
			         j->sub.latest_invoice);
		}
		return j->sess.invoice[0] ? fetch_invoice(j, j->sess.invoice, e) : 0;
	case K_SESSION_EXPIRED:
		stripe_session_read(o, &j->sess);
		return 0;
	case K_INVOICE_PAID:
		return fetch_invoice(j, id, e);
	case K_INVOICE_FAILED: {
		int rc = fetch_invoice(j, id, e);

		if (!rc && strcmp(j->inv.status, "paid") != 0)
			rc = fetch_failure(j, e);
		return rc;
	}
	case K_SUB_UPDATED:
		if (j->ev.previous && !changed(j, "status") &&
		    !changed(j, "cancel_at_period_end") && !changed(j, "cancel_at")) {
			j->ignore = true;
			effect(j, "ignored: no change in status or cancellation");
			return 0;
		}
		return fetch_sub(j, id, e);
	case K_SUB_DELETED:
		/* canceled is final at Stripe: the snapshot cannot be stale */
		stripe_sub_read(o, &j->sub);
		j->has_sub = true;
		return 0;
	case K_CHARGE_REFUNDED:
		stripe_charge_read(o, &j->ch);
		return fetch_refunds(j, e);
	case K_REFUND_FAILED: {
		/* re-read: a refund.updated could have come first or after */
		char path[STRIPE_ID_MAX + 16];
		json_t *v = NULL;
		int rc;

		if (!stripe_id_ok(id))
			return err_set(e, ERR_INVALID, "refund.failed without a refund id");
		snprintf(path, sizeof(path), "/v1/refunds/%s", id);
		rc = get(j, path, NULL, &v, e);
		if (rc)
			return rc;
		j->refunds = xcalloc(1, sizeof(*j->refunds));
		stripe_refund_read(v, &j->refunds[0]);
		j->nrefunds = 1;
		snprintf(j->failure, sizeof(j->failure), "%s",
		         json_is_string(json_object_get(v, "failure_reason"))
		             ? json_string_value(json_object_get(v, "failure_reason"))
		             : "failed");
		json_decref(v);
		return 0;
	}
	}
	return 0;
}

/* ---- apply: one transaction ------------------------------------------------ */

struct ours {
	int64_t id, user_id, start, end;
	enum subs_state state;
};

/* Our subscription for a Stripe one: 1, 0 when there is none, or an error. */
static int ours_find(struct store_conn *c, const char *psub, struct ours *s, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_TEXT(psub)};
	int rc;

	memset(s, 0, sizeof(*s));
	if (!*psub)
		return 0;
	rc = store_query(c,
	                 "SELECT id, user_id, state, coalesce(current_period_start, 0), "
	                 "coalesce(current_period_end, 0) FROM subscriptions WHERE provider = "
	                 "'stripe' AND provider_subscription_id = $1",
	                 a, 1, &r, e);
	if (rc)
		return rc;
	rc = store_res_rows(r) == 1;
	if (rc) {
		s->id = store_res_int(r, 0, 0);
		s->user_id = store_res_int(r, 0, 1);
		if (subs_state_parse(store_res_text(r, 0, 2), &s->state))
			s->state = SUBS_EXPIRED;
		s->start = store_res_int(r, 0, 3);
		s->end = store_res_int(r, 0, 4);
	}
	store_res_free(r);
	return rc;
}

/* The order an event names, made for Stripe: 1, 0 when there is none. */
static int order_find(struct store_conn *c, int64_t id, const char *session,
                      struct billing_order *o, struct err *e)
{
	int rc = -ERR_NOT_FOUND;

	if (id)
		rc = billing_order_get(c, id, o, e);
	if (rc == -ERR_NOT_FOUND && session && *session)
		rc = billing_order_by_ref(c, BP_STRIPE, session, o, e);
	if (rc == -ERR_NOT_FOUND)
		return 0;
	if (rc)
		return rc;
	return o->provider == BP_STRIPE;
}

static int apply_paid(struct store_conn *c, struct job *j, const struct billing_order *hint,
                      struct err *e)
{
	const struct stripe_invoice *inv = &j->inv;
	struct billing_order o;
	struct billing_effect ef;
	struct billing_paid p = {.provider = BP_STRIPE};
	struct ours s;
	bool have_order, first;
	int rc;

	if (strcmp(inv->status, "paid") != 0) {
		effect(j, "invoice %s is %s: waiting for invoice.paid", inv->id, inv->status);
		return 0;
	}
	if (inv->amount_paid <= 0) {
		effect(j, "ignored: invoice %s paid nothing", inv->id);
		return 0;
	}
	if (hint) {
		o = *hint;
		have_order = true;
	} else {
		rc = order_find(c, inv->meta.order_id, NULL, &o, e);
		if (rc < 0)
			return rc;
		have_order = rc == 1;
	}
	rc = ours_find(c, inv->subscription, &s, e);
	if (rc < 0)
		return rc;
	first = have_order && strcmp(o.state, "paid") != 0 && strcmp(o.state, "refunded") != 0 &&
	        strcmp(inv->billing_reason, "subscription_cycle") != 0;
	if (!first && !rc && !have_order)
		return err_set(e, ERR_NOT_FOUND, "invoice %s: no order or subscription of Herald's",
		               inv->id);
	if (!first && !rc) /* the order was paid by another invoice */
		first = true;
	p.payment_id = inv->id;
	p.amount = inv->amount_paid;
	p.currency = inv->currency;
	p.provider_subscription_id = inv->subscription[0] ? inv->subscription : NULL;
	p.provider_customer_id = inv->customer[0] ? inv->customer : NULL;
	p.period_start = inv->period_start * 1000;
	p.period_end = inv->period_end * 1000;
	if (!p.period_end && j->has_sub && strcmp(j->sub.id, inv->subscription) == 0) {
		p.period_start = j->sub.period_start * 1000;
		p.period_end = j->sub.period_end * 1000;
	}
	if (first) {
		p.order_id = o.id;
		j->user_id = o.user_id;
	} else {
		p.subscription_id = s.id;
		j->user_id = s.user_id;
		/* a late invoice of an earlier period does not move the period back */
		if (s.end && p.period_end && p.period_end <= s.end) {
			p.period_start = s.start;
			p.period_end = s.end;
		}
	}
	rc = users_lock(c, j->user_id, e);
	if (!rc)
		rc = billing_paid(c, &p, j->env->now_ms, &ef, e);
	if (rc)
		return rc;
	j->sub_id = ef.subscription_id;
	effect(j, "%s%s", ef.repeat ? "repeat: " : "", ef.text);
	return 0;
}

static int apply_failed(struct store_conn *c, struct job *j, struct err *e)
{
	const struct stripe_invoice *inv = &j->inv;
	struct billing_effect ef;
	struct billing_order o;
	struct ours s;
	int64_t order_id = 0;
	int rc;

	if (strcmp(inv->status, "paid") == 0)
		return apply_paid(c, j, NULL, e); /* it failed once, it is paid now */
	if (inv->amount_due <= 0) {
		effect(j, "ignored: invoice %s asks for nothing", inv->id);
		return 0;
	}
	rc = ours_find(c, inv->subscription, &s, e);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		/* a first payment that failed: the order's user is told */
		rc = order_find(c, inv->meta.order_id, NULL, &o, e);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return err_set(e, ERR_NOT_FOUND,
			               "invoice %s: no order or subscription of Herald's", inv->id);
		order_id = o.id;
		s.user_id = o.user_id;
	}
	j->user_id = s.user_id;
	rc = users_lock(c, s.user_id, e);
	if (!rc)
		rc = billing_failed(c, BP_STRIPE, inv->id, s.user_id, order_id, s.id,
		                    inv->amount_due, inv->currency[0] ? inv->currency : "USD",
		                    j->failure, j->env->now_ms, j->env->pol, &ef, e);
	if (rc)
		return rc;
	j->sub_id = ef.subscription_id ? ef.subscription_id : s.id;
	effect(j, "%s%s", ef.repeat ? "repeat: " : "", ef.text);
	return 0;
}

static const char *notice_of(enum subs_event ev)
{
	switch (ev) {
	case SUBS_CANCEL_REQUESTED:
		return "cancel_requested";
	case SUBS_REACTIVATED:
		return "reactivated";
	case SUBS_PAYMENT_FAILED:
		return "past_due";
	default:
		return "expired";
	}
}

/* Apply ev to our subscription s (its user locked); a refusal by the state
 * machine is an effect, not an error. */
static int sub_event(struct store_conn *c, struct job *j, const struct ours *s, enum subs_event ev,
                     struct err *e)
{
	struct billing_effect ef;
	struct err se = {0};
	int rc = billing_sub_apply(c, s->id, ev, j->env->now_ms, j->env->pol, &ef, &se);

	if (rc == -ERR_CONFLICT) {
		effect(j, "ignored: %s", se.msg);
		return 0;
	}
	if (rc) {
		*e = se;
		return rc;
	}
	effect(j, "%s", ef.text);
	if (ef.from != ef.to)
		rc = billing_notice(c, s->user_id, notice_of(ev), s->id, 0, 0, "", j->env->now_ms,
		                    e);
	return rc;
}

static bool is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static int apply_sub(struct store_conn *c, struct job *j, struct err *e)
{
	const struct stripe_sub *sub = &j->sub;
	bool ended = is(sub->status, "canceled") || is(sub->status, "incomplete_expired");
	bool will_cancel = sub->cancel_at_period_end || sub->cancel_at;
	struct ours s;
	int rc = ours_find(c, sub->id, &s, e);

	if (rc < 0)
		return rc;
	if (rc == 0) {
		effect(j, "ignored: subscription %s is not one of Herald's", sub->id);
		return 0;
	}
	j->user_id = s.user_id;
	j->sub_id = s.id;
	rc = users_lock(c, s.user_id, e);
	if (rc)
		return rc;
	if (j->kind == K_SUB_DELETED || ended)
		return sub_event(c, j, &s, SUBS_CANCELED_NOW, e);
	if (will_cancel && (s.state == SUBS_ACTIVE || s.state == SUBS_TRIALING))
		return sub_event(c, j, &s, SUBS_CANCEL_REQUESTED, e);
	if (!will_cancel && s.state == SUBS_CANCELED)
		return sub_event(c, j, &s, SUBS_REACTIVATED, e);
	if ((is(sub->status, "past_due") || is(sub->status, "unpaid")) && s.state == SUBS_ACTIVE)
		return sub_event(c, j, &s, SUBS_PAYMENT_FAILED, e);
	effect(j, "no change: subscription %lld is %s; stripe says %s, cancel_at_period_end=%s",
	       (long long)s.id, subs_state_name(s.state), sub->status,
	       sub->cancel_at_period_end ? "true" : "false");
	return 0;
}

static int apply_refunds(struct store_conn *c, struct job *j, struct err *e)
{
	struct store_res *r = NULL;
	size_t done = 0, again = 0;
	int rc;

	if (!j->refund_invoice[0])
		return err_set(e, ERR_NOT_FOUND, "charge %s: no invoice of Herald's found",
		               j->ch.id);
	{
		struct store_val a[] = {SV_TEXT(j->refund_invoice)};

		rc = store_query(c,
		                 "SELECT user_id FROM payments WHERE provider = 'stripe' AND "
		                 "provider_payment_id = $1 AND kind = 'payment'",
		                 a, 1, &r, e);
	}
	if (rc)
		return rc;
	if (store_res_rows(r) != 1) {
		store_res_free(r);
		return err_set(e, ERR_NOT_FOUND, "no payment of invoice %s", j->refund_invoice);
	}
	j->user_id = store_res_int(r, 0, 0);
	store_res_free(r);
	rc = users_lock(c, j->user_id, e);
	for (size_t i = 0; !rc && i < j->nrefunds; i++) {
		const struct stripe_refund *re = &j->refunds[i];
		struct billing_effect ef;

		if (!is(re->status, "succeeded") && !is(re->status, "pending"))
			continue;
		rc = billing_refunded(c, BP_STRIPE, j->refund_invoice, re->id, re->amount,
		                      re->reason[0] ? re->reason : "refunded at stripe",
		                      j->env->now_ms, &ef, e);
		if (rc)
			break;
		j->sub_id = ef.subscription_id;
		if (ef.repeat) {
			again++;
		} else {
			done++;
			effect(j, "%s", ef.text);
		}
	}
	if (!rc && done == 0)
		effect(j, "repeat: %zu refund(s) of invoice %s recorded before", again,
		       j->refund_invoice);
	else if (!rc && done > 1)
		effect(j, "%zu refunds of invoice %s recorded (%zu before)", done,
		       j->refund_invoice, again);
	return rc;
}

/* A refund that did not reach the payer: out of the ledger's sums. */
static int apply_refund_failed(struct store_conn *c, struct job *j, struct err *e)
{
	const struct stripe_refund *re = &j->refunds[0];
	struct billing_effect ef;
	int rc;

	if (!is(re->status, "failed")) {
		effect(j, "no change: refund %s is %s", re->id, re->status);
		return 0;
	}
	rc = billing_refund_failed(c, BP_STRIPE, re->id, j->failure, j->env->now_ms, &ef, e);
	if (rc)
		return rc;
	j->user_id = ef.user_id;
	j->sub_id = ef.subscription_id;
	effect(j, "%s", ef.text);
	return 0;
}

static int apply_session(struct store_conn *c, struct job *j, struct err *e)
{
	const struct stripe_session *sess = &j->sess;
	struct billing_order o;
	int rc = order_find(c, sess->meta.order_id, sess->id, &o, e);

	if (rc < 0)
		return rc;
	if (rc == 0)
		return err_set(e, ERR_NOT_FOUND, "session %s: no order of Herald's", sess->id);
	if (sess->client_user_id && sess->client_user_id != o.user_id)
		return err_set(e, ERR_CONFLICT,
		               "session %s is for user %lld, order %lld is user %lld's", sess->id,
		               (long long)sess->client_user_id, (long long)o.id,
		               (long long)o.user_id);
	j->user_id = o.user_id;
	if (!o.provider_ref[0] && sess->id[0]) {
		rc = billing_order_set_ref(c, o.id, sess->id, e);
		if (rc)
			return rc;
	}
	if (j->kind == K_SESSION_EXPIRED) {
		if (!is(o.state, "pending")) {
			effect(j, "order %lld is %s: nothing to expire", (long long)o.id, o.state);
			return 0;
		}
		rc = billing_order_set_state(c, o.id, "expired", j->env->now_ms, e);
		if (!rc)
			effect(j, "order %lld expired with its session", (long long)o.id);
		return rc;
	}
	if (is(sess->payment_status, "paid") && j->has_inv)
		return apply_paid(c, j, &o, e);
	effect(j, "order %lld: session complete, payment %s: waiting for invoice.paid",
	       (long long)o.id, sess->payment_status);
	return 0;
}

static int apply(struct store_conn *c, struct job *j, struct err *e)
{
	if (j->ignore)
		return 0;
	switch (j->kind) {
	case K_SESSION_DONE:
	case K_SESSION_EXPIRED:
		return apply_session(c, j, e);
	case K_INVOICE_PAID:
		return apply_paid(c, j, NULL, e);
	case K_INVOICE_FAILED:
		return apply_failed(c, j, e);
	case K_SUB_UPDATED:
	case K_SUB_DELETED:
		return apply_sub(c, j, e);
	case K_CHARGE_REFUNDED:
		return apply_refunds(c, j, e);
	case K_REFUND_FAILED:
		return apply_refund_failed(c, j, e);
	case K_IGNORE:
		break;
	}
	return 0;
}

/*
 * Claim the event and apply it (or, with refusal set, only record it with
 * that as its effect) in one transaction: 1 applied, 0 a repeat, or an
 * error (after rolling back).
 */
static int once(struct store_conn *c, struct job *j, const char *refusal, struct err *e)
{
	int rc = store_begin(c, e);

	if (!rc)
		rc = billing_event_claim(c, BP_STRIPE, j->ev.id, j->ev.type, j->env->now_ms, NULL,
		                         e);
	if (rc == 0) {
		store_rollback(c);
		return 0;
	}
	if (rc == 1) {
		if (refusal)
			effect(j, "refused: %s", refusal);
		rc = refusal ? 0 : apply(c, j, e);
	}
	if (!rc)
		rc = billing_event_done(c, BP_STRIPE, j->ev.id, j->user_id, j->sub_id, j->effect,
		                        NULL, e);
	if (!rc)
		rc = store_commit(c, e);
	if (rc) {
		store_rollback(c);
		return rc;
	}
	return 1;
}

/* The effect recorded for an event id: 1, 0 when it is not recorded. */
static int seen(struct store *st, const char *id, char *effect_out, size_t n, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_TEXT(id)};
	int rc = store_exec(st,
	                    "SELECT effect FROM provider_events WHERE provider = 'stripe' AND "
	                    "event_id = $1",
	                    a, 1, &r, e);

	if (rc)
		return rc;
	rc = store_res_rows(r) == 1;
	if (rc)
		snprintf(effect_out, n, "%s", store_res_text(r, 0, 0));
	store_res_free(r);
	return rc;
}

static void fail(struct stripe_hook_result *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct stripe_hook_result *res, int status, const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
}

static int run(const struct stripe_hook_env *env, struct job *j, struct stripe_hook_result *res,
               struct err *e)
{
	char refusal[256] = "";
	int rc = 0;

	for (int attempt = 0; attempt < HOOK_TX_TRIES; attempt++) {
		struct store_conn *c;
		struct err ae = {0};

		j->user_id = j->sub_id = 0;
		if (!j->ignore)
			j->effect[0] = '\0';
		rc = store_conn_get(env->st, &c, e);
		if (rc)
			return rc;
		rc = once(c, j, refusal[0] ? refusal : NULL, &ae);
		store_conn_put(env->st, c);
		if (rc == 0) {
			res->repeat = true;
			effect(j, "recorded before");
			return 0;
		}
		if (rc == 1)
			return 0;
		if ((rc == -ERR_CONFLICT || rc == -ERR_NOT_FOUND) && !refusal[0]) {
			/* the ledger or the state machine said no: record that */
			snprintf(refusal, sizeof(refusal), "%s", ae.msg);
			log_warn("msg=\"stripe event refused\" event=%s type=%s reason=\"%s\"",
			         j->ev.id, j->ev.type, ae.msg);
			continue;
		}
		*e = ae;
		if (rc != -ERR_EXISTS && rc != -ERR_BUSY)
			break;
	}
	return rc;
}

void stripe_hook_handle(const struct stripe_hook_env *env, const char *sig, const char *body,
                        size_t len, struct stripe_hook_result *res)
{
	struct job *j = NULL;
	struct err e = {0};
	json_t *v = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!env->secret || !*env->secret) {
		fail(res, 503, "HERALD_STRIPE_WEBHOOK_SECRET is not set");
		return;
	}
	rc = sig_stripe_verify(sig ? sig : "", sig ? strlen(sig) : 0, body, len, env->secret,
	                       env->now_s, SIG_STRIPE_TOLERANCE, &e);
	if (rc) {
		log_warn("msg=\"stripe webhook refused\" reason=\"%s\" bytes=%zu", e.msg, len);
		fail(res, 400, "Stripe-Signature: %s", e.msg);
		return;
	}
	if (json_parse(body, len, HOOK_JSON_DEPTH, &v, &e) || !json_is_object(v)) {
		fail(res, 400, "the body is not a JSON event: %s", e.msg);
		goto out;
	}
	j = xcalloc(1, sizeof(*j));
	j->env = env;
	if (stripe_event_read(v, &j->ev)) {
		fail(res, 400, "the event has no id, type or data.object");
		goto out;
	}
	snprintf(res->event_id, sizeof(res->event_id), "%s", j->ev.id);
	snprintf(res->type, sizeof(res->type), "%s", j->ev.type);
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (strcmp(kinds[i].type, j->ev.type) == 0)
			j->kind = kinds[i].kind;

	rc = seen(env->st, j->ev.id, res->effect, sizeof(res->effect), &e);
	if (rc < 0) {
		fail(res, 503, "the store cannot be reached");
		log_error("msg=\"stripe event not applied\" event=%s error=\"%s\"", j->ev.id,
		          e.msg);
		goto out;
	}
	if (rc == 1) {
		res->status = 200;
		res->repeat = true;
		goto out;
	}
	rc = prepare(j, &e);
	if (rc == -ERR_NOT_FOUND) {
		/* the object is gone at Stripe: record why nothing was done */
		j->ignore = true;
		effect(j, "ignored: %s", e.msg);
		rc = 0;
	}
	if (!rc)
		rc = run(env, j, res, &e);
	if (rc) {
		fail(res, 503, "not applied: %s",
		     rc == -ERR_UNAVAILABLE || rc == -ERR_TIMEOUT || rc == -ERR_BUSY
		         ? "a dependency is unavailable"
		         : "an internal error");
		log_error("msg=\"stripe event not applied\" event=%s type=%s error=\"%s\"",
		          j->ev.id, j->ev.type, e.msg);
		goto out;
	}
	res->status = 200;
	snprintf(res->effect, sizeof(res->effect), "%s", j->effect);
	log_info("msg=\"stripe event\" event=%s type=%s repeat=%d user=%lld subscription=%lld "
	         "effect=\"%s\"",
	         j->ev.id, j->ev.type, (int)res->repeat, (long long)j->user_id,
	         (long long)j->sub_id, j->effect);
out:
	if (j)
		free(j->refunds);
	free(j);
	json_decref(v);
}
