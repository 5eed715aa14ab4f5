/*
 * stripe: the Stripe simulator inside `herald sim` (docs/sim-stripe.md).
 *
 * It serves Stripe's API under /stripe/v1/ (customers, checkout sessions,
 * subscriptions, invoices, payment intents, charges, refunds, events) with
 * Stripe's authentication, form encoding, idempotency, error objects and
 * the two field layouts of API versions before and after 2025-03-31; a
 * hosted checkout page under /stripe/checkout/; a control API under
 * /control/stripe/ through which tests pay sessions with test cards, renew,
 * fail, recover, cancel and refund subscriptions, move the clock, and shape
 * the signed webhook deliveries. Its state has its own mutex and its own
 * delivery thread; struct sim holds one pointer to it.
 */
#ifndef HERALD_SIM_STRIPE_H
#define HERALD_SIM_STRIPE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "http/router.h"

struct sim_stripe;

#define SIM_STRIPE_DEFAULT_KEY "sk_test_herald_sim"

struct sim_stripe_opts {
	const char *key;            /* the secret key clients must send; NULL: the default */
	const char *webhook_url;    /* where events are POSTed; NULL: nowhere yet */
	const char *webhook_secret; /* the whsec_ signing secret; NULL: a fixed test one */
};

/* A new simulator with its delivery thread running. */
struct sim_stripe *sim_stripe_new(const struct sim_stripe_opts *o);
/* Stop the delivery thread (an attempt in flight is abandoned) and free all. */
void sim_stripe_free(struct sim_stripe *st);

/* The clock as GET /control/stripe/clock shows it: {"now", "offset_s"}. */
json_t *sim_stripe_clock_json(struct sim_stripe *st);

#define SIM_STRIPE_ADVANCE_MAX 1000 /* renewals in one sim_stripe_advance */

/*
 * Move the clock forward by secs (>= 0) and do what Stripe does as time
 * passes: open checkout sessions past their expiry expire; an active or
 * trialing subscription whose period has ended is renewed through the
 * control API's renew (a new invoice charged to its card, or the end of
 * one set to cancel at the period's end), period after period until its
 * period is current or a charge fails; a past_due one whose invoice's next
 * payment attempt has come is retried. Events are sent as for any control
 * call. At most SIM_STRIPE_ADVANCE_MAX renewals ("truncated" true after).
 * Returns a new {"now", "offset_s", "renewals": [{"subscription", "status",
 * "invoice", "paid", "ended"} or {"subscription", "error"}], "truncated", "events"}.
 */
json_t *sim_stripe_advance(struct sim_stripe *st, int64_t secs);

/*
 * The routes of the API, the hosted page and the control API. Their
 * handlers expect r->ctx to be the struct sim whose stripe member is set.
 */
extern const struct route sim_stripe_routes[];
extern const size_t sim_stripe_nroutes;

#endif
