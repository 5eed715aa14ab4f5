/*
 * billing: orders, the payments ledger and what money does to a user's
 * subscription. The provider adapters (payme.c, click.c, stripe.c, the Stars
 * flow in the bot) verify what the provider said and then call these inside
 * one transaction together with their provider_events row, so an event's
 * effects and its record commit or fail as one (DESIGN.md, "Rules that keep
 * data safe").
 *
 * Every change of a subscription's state goes through subs_next(); the
 * plan a user has (users.plan, which the limits read) follows the live
 * subscription: its plan while subs_has_plan(), else free.
 *
 * Money is an integer in minor units beside its ISO code (USD cents, UZS
 * tiyin, XTR stars). A provider takes one currency: Stripe USD, Payme and
 * Click UZS, Stars XTR.
 */
#ifndef HERALD_BILLING_H
#define HERALD_BILLING_H

#include <stdbool.h>
#include <stdint.h>

#include "billing/subs.h"
#include "lib/err.h"

struct app;
struct store;
struct store_conn;

enum billing_provider { BP_STRIPE, BP_PAYME, BP_CLICK, BP_STARS, BP__COUNT };

/* "stripe", "payme", "click", "stars"; and back (0, or -ERR_INVALID). */
const char *billing_provider_name(enum billing_provider p);
int billing_provider_parse(const char *name, enum billing_provider *out) WUR;
/* The currency a provider takes: "USD", "UZS" or "XTR". */
const char *billing_provider_currency(enum billing_provider p);
/* Whether the operator configured p (its settings are set). */
bool billing_provider_ready(const struct app *a, enum billing_provider p);

/* The end of a period from start: "month" is one calendar month in UTC (the
 * 31st into a shorter month ends on its last day), "year" one year.
 * -ERR_INVALID for another period. */
int billing_period_end(const char *period, int64_t start_ms, int64_t *end_ms) WUR;

/* The renewal policy of the operator (HERALD_GRACE_DAYS, HERALD_REMIND_DAYS). */
struct billing_policy {
	int64_t grace_ms;  /* after an unpaid period end the plan holds this long */
	int64_t remind_ms; /* a reminder goes this long before a period ends */
};
extern const struct billing_policy billing_policy_default; /* 3 days, 3 days */

struct billing_order {
	int64_t id, user_id, amount, subscription_id, created_at, expires_at, paid_at;
	enum billing_provider provider;
	char plan[16], period[8], currency[4], state[12];
	char provider_ref[256];
};

/*
 * A new order for user to buy plan for period through provider, at the
 * current price, pending until expires_at (now + 24 h). -ERR_NOT_FOUND when
 * the plan has no price in the provider's currency for that period (free,
 * an unknown plan), -ERR_INVALID for a period other than month or year.
 */
int billing_order_new(struct store_conn *c, int64_t user_id, const char *plan, const char *period,
                      enum billing_provider provider, int64_t now, struct billing_order *o,
                      struct err *e) WUR;
/* Order id: 0, or -ERR_NOT_FOUND. */
int billing_order_get(struct store_conn *c, int64_t id, struct billing_order *o, struct err *e) WUR;
/* The order a provider's reference names (a Checkout Session, a Stars
 * payload): 0, or -ERR_NOT_FOUND. */
int billing_order_by_ref(struct store_conn *c, enum billing_provider p, const char *ref,
                         struct billing_order *o, struct err *e) WUR;
int billing_order_set_ref(struct store_conn *c, int64_t id, const char *ref, struct err *e) WUR;
/* pending -> reserved (a Payme or Click transaction holds it) and back. */
int billing_order_set_state(struct store_conn *c, int64_t id, const char *state, int64_t now,
                            struct err *e) WUR;

/*
 * The provider event ledger. billing_event_claim() inserts (provider,
 * event_id): 1 when it is new (go on and apply it, then billing_event_done()
 * in the same transaction), 0 when it was recorded before: *answer (when not
 * NULL) then gets the stored answer (xmalloc'd, NULL when none was kept) and
 * nothing must change. A concurrent claim of the same event waits for the
 * first and then sees 0 (PostgreSQL), or is serialised by SQLite's writer.
 */
int billing_event_claim(struct store_conn *c, enum billing_provider p, const char *event_id,
                        const char *type, int64_t now, char **answer, struct err *e) WUR;
int billing_event_done(struct store_conn *c, enum billing_provider p, const char *event_id,
                       int64_t user_id, int64_t subscription_id, const char *effect,
                       const char *answer, struct err *e) WUR;

/* What one call did, for the event ledger, the logs and the user's notice. */
struct billing_effect {
	int64_t user_id, subscription_id, payment_id;
	enum subs_state from, to;
	bool repeat; /* the ledger had it already: nothing changed */
	char text[160];
};

/* Money arrived. */
struct billing_paid {
	enum billing_provider provider;
	const char *payment_id; /* the provider's id: invoice, transaction, charge */
	int64_t amount;
	const char *currency;
	int64_t order_id;        /* the order paid; 0 for a Stripe renewal */
	int64_t subscription_id; /* a Stripe renewal: ours; else 0 */
	const char *provider_subscription_id, *provider_customer_id; /* Stripe, or NULL */
	int64_t period_start, period_end; /* the provider's (Stripe); 0: from the plan */
};

/*
 * Record a successful payment and give the user what it bought: the order
 * paid; the live subscription of the same plan and provider renewed (the new
 * period starts where the paid one ends, or now when that is past the
 * grace), or, when the user has none or another plan or provider, a new
 * subscription from now (the old one ends: no proration). A payment already
 * recorded as succeeded is a repeat (effect.repeat); one recorded as failed
 * becomes succeeded (a retried invoice). -ERR_CONFLICT when the amount or
 * currency differs from the order's.
 */
int billing_paid(struct store_conn *c, const struct billing_paid *p, int64_t now,
                 struct billing_effect *ef, struct err *e) WUR;

/*
 * A payment failed with the provider's reason: recorded (attempts counted
 * on repeats of the same payment id); a renewal's subscription (subscription
 * _id, or the order's) goes past_due with grace_until = now + grace.
 */
int billing_failed(struct store_conn *c, enum billing_provider p, const char *payment_id,
                   int64_t user_id, int64_t order_id, int64_t subscription_id, int64_t amount,
                   const char *currency, const char *reason, int64_t now,
                   const struct billing_policy *pol, struct billing_effect *ef, struct err *e) WUR;

/*
 * A refund recorded before did not reach the payer (Stripe's refund.failed):
 * its ledger row becomes failed with the reason, so it no longer counts
 * against the payment (the operator may refund again) nor in revenue; the
 * order is paid again; the user is told (refund_failed). A subscription the
 * refund ended stays ended: the operator decides. -ERR_NOT_FOUND for a
 * refund not in the ledger; a refund failed before is a repeat.
 */
int billing_refund_failed(struct store_conn *c, enum billing_provider p, const char *refund_id,
                          const char *reason, int64_t now, struct billing_effect *ef,
                          struct err *e) WUR;

/*
 * Money went back: refund_id (the provider's, or the payment id for providers
 * that have none) of amount from the payment (p, payment_id). When the
 * refunds of that payment add up to all of it the subscription it paid for
 * ends now (refunded_full) and its order is refunded; else refunded_partial.
 * -ERR_NOT_FOUND for an unknown payment, -ERR_CONFLICT when the refunds would
 * exceed the payment. A refund id already recorded is a repeat.
 */
int billing_refunded(struct store_conn *c, enum billing_provider p, const char *payment_id,
                     const char *refund_id, int64_t amount, const char *reason, int64_t now,
                     struct billing_effect *ef, struct err *e) WUR;

/*
 * Apply event to subscription id (locked by the caller's transaction):
 * subs_next() and the fields that go with it (cancel_at_period_end,
 * canceled_at, ended_at, grace_until), users.plan, the version. A refused
 * transition is -ERR_CONFLICT and changes nothing.
 */
int billing_sub_apply(struct store_conn *c, int64_t id, enum subs_event event, int64_t now,
                      const struct billing_policy *pol, struct billing_effect *ef,
                      struct err *e) WUR;

/* A user's live subscription (trialing, active, past_due, canceled): 1 and
 * its id, 0 when there is none. */
int billing_sub_live(struct store_conn *c, int64_t user_id, int64_t *id, struct err *e) WUR;

/*
 * Tell the user (through the bot, in their language) about kind: activated,
 * renewed, payment_failed, reminder, past_due, expired, cancel_requested,
 * reactivated, refunded, refunded_partial, refund_failed; detail is shown with it (a
 * reason, an amount). A billing_notices row and a bnotice job.
 */
int billing_notice(struct store_conn *c, int64_t user_id, const char *kind, int64_t sub_id,
                   int64_t payment_id, int64_t order_id, const char *detail, int64_t now,
                   struct err *e) WUR;

/*
 * The clock's work (any node may run it; each change is made once, under
 * the subscription's row lock): reminders before a period ends (providers
 * that do not renew on their own), period ends (active -> past_due with its
 * grace; canceled and trialing -> expired), grace ends (-> expired, down to
 * free), pending orders past their expiry. *changed counts what changed.
 */
int billing_sweep(struct store *st, int64_t now, const struct billing_policy *pol, int *changed,
                  struct err *e) WUR;

/* The operator's policy from the settings (HERALD_GRACE_DAYS,
 * HERALD_REMIND_DAYS). */
void billing_policy_of(const struct app *a, struct billing_policy *pol);

/* billing_sweep at the product clock with the operator's policy: the
 * scheduler's tick (sched_opts.tick). */
int billing_tick(struct app *a, struct err *e) WUR;

#define BILLING_GRACE_MS  (3LL * 24 * 3600 * 1000)
#define BILLING_REMIND_MS (3LL * 24 * 3600 * 1000)

#endif
