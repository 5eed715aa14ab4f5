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
