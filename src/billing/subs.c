/*
 * subs: the subscription state machine (see subs.h for the states, the
 * events and why). The whole machine is the table below, one row per state
 * naming the events it accepts and the state each leads to; every other
 * event is refused. Names are looked up in two arrays indexed by the enums.
 */
#include "billing/subs.h"

#include <assert.h>
#include <string.h>

#include "lib/mem.h"

/*
 * table[state][event]: the next state. A cell left out is 0, SUBS_NONE,
 * which no transition leads to, so it stands for a refusal: each row lists
 * exactly the transitions allowed.
 */
_Static_assert(SUBS_NONE == 0, "an empty cell must read as a refusal");
static const unsigned char table[SUBS_STATE_COUNT][SUBS_EVENT_COUNT] = {
    [SUBS_NONE] =
        {
            [SUBS_TRIAL_STARTED] = SUBS_TRIALING,
            [SUBS_PAYMENT_SUCCEEDED] = SUBS_ACTIVE,
        },
    [SUBS_TRIALING] =
        {
            [SUBS_PAYMENT_SUCCEEDED] = SUBS_ACTIVE,
            [SUBS_PAYMENT_FAILED] = SUBS_PAST_DUE,
            [SUBS_PERIOD_ENDED] = SUBS_EXPIRED,
            [SUBS_CANCEL_REQUESTED] = SUBS_CANCELED,
            [SUBS_REACTIVATED] = SUBS_TRIALING,
            [SUBS_CANCELED_NOW] = SUBS_EXPIRED,
        },
    [SUBS_ACTIVE] =
        {
            [SUBS_PAYMENT_SUCCEEDED] = SUBS_ACTIVE,
            [SUBS_PAYMENT_FAILED] = SUBS_PAST_DUE,
            [SUBS_PERIOD_ENDED] = SUBS_PAST_DUE,
            [SUBS_CANCEL_REQUESTED] = SUBS_CANCELED,
            [SUBS_REACTIVATED] = SUBS_ACTIVE,
            [SUBS_CANCELED_NOW] = SUBS_EXPIRED,
            [SUBS_REFUNDED_FULL] = SUBS_EXPIRED,
            [SUBS_REFUNDED_PARTIAL] = SUBS_ACTIVE,
        },
    [SUBS_PAST_DUE] =
        {
            [SUBS_PAYMENT_SUCCEEDED] = SUBS_ACTIVE,
            [SUBS_PAYMENT_FAILED] = SUBS_PAST_DUE,
            [SUBS_GRACE_ENDED] = SUBS_EXPIRED,
            [SUBS_REACTIVATED] = SUBS_PAST_DUE,
            [SUBS_CANCELED_NOW] = SUBS_EXPIRED,
            [SUBS_REFUNDED_FULL] = SUBS_EXPIRED,
            [SUBS_REFUNDED_PARTIAL] = SUBS_PAST_DUE,
        },
    [SUBS_CANCELED] =
        {
            [SUBS_PAYMENT_SUCCEEDED] = SUBS_ACTIVE,
            [SUBS_PERIOD_ENDED] = SUBS_EXPIRED,
            [SUBS_CANCEL_REQUESTED] = SUBS_CANCELED,
            [SUBS_REACTIVATED] = SUBS_ACTIVE,
            [SUBS_CANCELED_NOW] = SUBS_EXPIRED,
            [SUBS_REFUNDED_FULL] = SUBS_EXPIRED,
            [SUBS_REFUNDED_PARTIAL] = SUBS_CANCELED,
        },
    /* expired is terminal: every event is refused */
    [SUBS_EXPIRED] = {0},
};

static const char *const state_names[SUBS_STATE_COUNT] = {
    [SUBS_NONE] = "none",         [SUBS_TRIALING] = "trialing", [SUBS_ACTIVE] = "active",
    [SUBS_PAST_DUE] = "past_due", [SUBS_CANCELED] = "canceled", [SUBS_EXPIRED] = "expired",
};

static const char *const event_names[SUBS_EVENT_COUNT] = {
    [SUBS_TRIAL_STARTED] = "trial_started",   [SUBS_PAYMENT_SUCCEEDED] = "payment_succeeded",
    [SUBS_PAYMENT_FAILED] = "payment_failed", [SUBS_PERIOD_ENDED] = "period_ended",
    [SUBS_GRACE_ENDED] = "grace_ended",       [SUBS_CANCEL_REQUESTED] = "cancel_requested",
    [SUBS_REACTIVATED] = "reactivated",       [SUBS_CANCELED_NOW] = "canceled_now",
    [SUBS_REFUNDED_FULL] = "refunded_full",   [SUBS_REFUNDED_PARTIAL] = "refunded_partial",
};

int subs_next(enum subs_state state, enum subs_event event, enum subs_state *next)
{
	int to;

	assert((unsigned)state < SUBS_STATE_COUNT);
	assert((unsigned)event < SUBS_EVENT_COUNT);
	to = table[state][event];
	if (to == SUBS_NONE)
		return -ERR_CONFLICT;
	assert(to < SUBS_STATE_COUNT);
	*next = (enum subs_state)to;
	return 0;
}

bool subs_has_plan(enum subs_state state)
{
	assert((unsigned)state < SUBS_STATE_COUNT);
	return state != SUBS_NONE && state != SUBS_EXPIRED;
}

const char *subs_state_name(enum subs_state state)
{
	assert((unsigned)state < SUBS_STATE_COUNT);
	return state_names[state];
}

const char *subs_event_name(enum subs_event event)
{
	assert((unsigned)event < SUBS_EVENT_COUNT);
	return event_names[event];
}

int subs_state_parse(const char *name, enum subs_state *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(state_names); i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*out = (enum subs_state)i;
			return 0;
		}
	}
	return -ERR_INVALID;
}

int subs_event_parse(const char *name, enum subs_event *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(event_names); i++) {
		if (strcmp(name, event_names[i]) == 0) {
			*out = (enum subs_event)i;
			return 0;
		}
	}
	return -ERR_INVALID;
}
