/*
 * subs: the subscription state machine, one pure table of
 * (state, event) -> state. Every change of subscriptions.state goes through
 * subs_next() (DESIGN.md: a subscription's state is derived from the ledger
 * by one state machine, never set ad hoc); what the caller does beside it
 * (period dates, grace_until, the cancel_at_period_end flag, telling the
 * user) is not decided here.
 *
 * States (as stored, plus "none" before a subscription row exists):
 *   trialing  a trial: the plan applies, nothing has been paid
 *   active    paid up to current_period_end
 *   past_due  the period ended unpaid or a renewal failed: the plan still
 *             applies until grace_until (3 days by default)
 *   canceled  will not renew: the plan applies until the end of the period
 *             already paid (or of the trial)
 *   expired   over for good, the user is on free; terminal: every event is
 *             refused and a new purchase starts a new subscription from none,
 *             so each row's history stays readable
 *
 * Events, and why each exists (product.md section 6, issue 5):
 *   trial_started      Stripe reports a subscription in trial
 *                      (subscription_data[trial_period_days]).
 *   payment_succeeded  money for a period arrived: the first purchase from
 *                      any provider, a renewal (Stripe invoice.paid, a Payme,
 *                      Click or Stars payment after the reminder), recovery
 *                      from past_due, or paying again after a cancel.
 *   payment_failed     a renewal was declined (Stripe invoice.payment_failed,
 *                      dunning); a first payment that fails has no
 *                      subscription yet, so from none it is refused (the
 *                      ledger still records the failure).
 *   period_ended       current_period_end passed with no new payment: Payme,
 *                      Click and Stars do not renew on their own, so an
 *                      active subscription goes past_due and its grace starts;
 *                      a canceled one or a trial ends. This covers the trial's
 *                      end too (a trial that converts sees payment_succeeded
 *                      or payment_failed first), so there is no trial_ended.
 *   grace_ended        grace_until passed unpaid: down to free.
 *   cancel_requested   cancel at period end (/billing cancel, Stripe
 *                      cancel_at_period_end=true). From past_due it is
 *                      refused: no paid period is left to run to its end, so
 *                      the caller ends it with canceled_now instead.
 *   reactivated        the cancel is undone before the period ends (Stripe
 *                      cancel_at_period_end=false). A reactivated trial
 *                      becomes active: what differs is only whether money was
 *                      taken, and the ledger says that. In a state that
 *                      renews anyway (trialing, active, past_due) it holds
 *                      already and changes nothing.
 *   canceled_now       ended at once (Stripe customer.subscription.deleted,
 *                      the operator).
 *   refunded_full      the period's money went back: the plan ends now.
 *   refunded_partial   part of it went back: the plan continues as it was.
 *
 * Level-like facts repeat harmlessly: a fact that already holds (a renewal
 * of an active subscription, a second cancel request, a partial refund) maps
 * a state to itself, so two different provider events saying the same thing
 * do not fail. Every other cell is refused with -ERR_CONFLICT; the test lists
 * the whole table.
 */
#ifndef HERALD_BILLING_SUBS_H
#define HERALD_BILLING_SUBS_H

#include <stdbool.h>

#include "lib/err.h"

enum subs_state {
	SUBS_NONE,
	SUBS_TRIALING,
	SUBS_ACTIVE,
	SUBS_PAST_DUE,
	SUBS_CANCELED,
	SUBS_EXPIRED,
	SUBS_STATE_COUNT
};

enum subs_event {
	SUBS_TRIAL_STARTED,
	SUBS_PAYMENT_SUCCEEDED,
	SUBS_PAYMENT_FAILED,
	SUBS_PERIOD_ENDED,
	SUBS_GRACE_ENDED,
	SUBS_CANCEL_REQUESTED,
	SUBS_REACTIVATED,
	SUBS_CANCELED_NOW,
	SUBS_REFUNDED_FULL,
	SUBS_REFUNDED_PARTIAL,
	SUBS_EVENT_COUNT
};

/*
 * The state after event in state: 0 and *next set, or -ERR_CONFLICT when the
 * table refuses the transition (*next untouched). A state or event out of
 * range is a bug and aborts.
 */
int subs_next(enum subs_state state, enum subs_event event, enum subs_state *next) WUR;

/* Whether the subscription's plan applies in state (trialing, active,
 * past_due, canceled); none and expired mean the free plan. */
bool subs_has_plan(enum subs_state state);

/* Names as stored and logged: "none", "trialing", ..., "refunded_partial".
 * Out of range is a bug and aborts. */
const char *subs_state_name(enum subs_state state);
const char *subs_event_name(enum subs_event event);

/* The state or event with that exact name: 0, or -ERR_INVALID. */
int subs_state_parse(const char *name, enum subs_state *out) WUR;
int subs_event_parse(const char *name, enum subs_event *out) WUR;

#endif
