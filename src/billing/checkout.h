/*
 * checkout: starting a purchase, and billing as the user and the operator
 * read it (JSON shared by the REST API and the bot).
 */
#ifndef HERALD_BILLING_CHECKOUT_H
#define HERALD_BILLING_CHECKOUT_H

#include <jansson.h>

#include "billing/billing.h"

struct app;
struct user;

struct billing_checkout {
	struct billing_order order;
	char url[2048];      /* where to pay (Stripe, Payme, Click) */
	int64_t invoice_msg; /* Stars: the invoice message sent to the user's chat */
};

/*
 * How a provider starts paying for order o (made just before, committed):
 * fill out->url (or send the invoice), and set o->provider_ref when the
 * provider names the order its own way (a Checkout Session id, the Stars
 * payload), which billing_checkout then stores.
 */
typedef int billing_checkout_fn(struct app *a, const struct user *u, struct billing_order *o,
                                const char *lang, const char *return_url,
                                struct billing_checkout *out, struct err *e);
extern billing_checkout_fn *const billing_checkouts[BP__COUNT];

/*
 * Start buying plan for period through p: an order at today's price and
 * where to pay. -ERR_UNAVAILABLE when p is not configured, -ERR_NOT_FOUND
 * when the plan has no price for it (free, unknown), -ERR_INVALID for a
 * period other than month or year; the provider's own errors as they come.
 */
int billing_checkout(struct app *a, const struct user *u, const char *plan, const char *period,
                     enum billing_provider p, const char *return_url, struct billing_checkout *out,
                     struct err *e) WUR;

/*
 * How a provider gives money back (the operator's refund): return amount
 * (minor units; all of it for providers that only refund in full) of the
 * ledger's payment pay_id, then record the refund with billing_refunded in a
 * transaction of its own (or leave it to the provider's webhook, which
 * records it too: the ledger's keys make that once). NULL: the provider has
 * no way for the merchant to refund (Payme: its cabinet cancels the
 * transaction, which /hooks/payme records).
 */
struct billing_refund {
	int64_t payment_id; /* our ledger row */
	int64_t user_id, amount_paid, refunded_before;
	char provider_payment_id[128], currency[4];
	int64_t user_telegram_id;
};
typedef int billing_refund_fn(struct app *a, const struct billing_refund *p, int64_t amount,
                              const char *reason, struct billing_effect *ef, struct err *e);
extern billing_refund_fn *const billing_refunders[BP__COUNT];

/*
 * The operator refunds amount (0: what is left) of the ledger's payment id.
 * -ERR_NOT_FOUND for no such successful payment, -ERR_CONFLICT for more
 * than is left, -ERR_UNAVAILABLE when its provider cannot refund from here
 * (or only in full and amount is less), the provider's errors as they come.
 */
int billing_refund(struct app *a, int64_t payment_id, int64_t amount, const char *reason,
                   struct billing_effect *ef, struct err *e) WUR;

/* The plans with their limits and prices, and the providers configured. */
int billing_plans_json(struct app *a, json_t **out, struct err *e) WUR;
/* The user's live subscription (or the last one, or null) and plan. */
int billing_current_json(struct app *a, int64_t user_id, json_t **out, struct err *e) WUR;
/* The user's ledger, newest first: payments (failed ones too) and refunds. */
int billing_payments_json(struct app *a, int64_t user_id, int limit, json_t **out,
                          struct err *e) WUR;
/*
 * For the operator, between from and to (ms): payments and refunds (count
 * and sums per currency and provider), failed payments, MRR per currency
 * (live paid subscriptions, yearly ones as a twelfth), churn (subscriptions
 * that expired in the window over those live at its start), and the users
 * with repeated failures.
 */
int billing_revenue_json(struct app *a, int64_t from, int64_t to, json_t **out, struct err *e) WUR;

/*
 * Cancel at the period's end (the user asked): the live subscription goes
 * canceled and keeps its plan until the end (Stripe is told first).
 * -ERR_NOT_FOUND without a live subscription, -ERR_CONFLICT when the state
 * machine refuses (past_due: nothing paid is left to run).
 */
int billing_cancel(struct app *a, int64_t user_id, struct err *e) WUR;

#endif
