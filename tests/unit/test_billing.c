/*
 * Unit tests of billing: the subscription state machine as its whole table
 * of (state, event) -> state or refusal, written out here independently of
 * subs.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "billing/subs.h"

/* --- the state machine --- */

/* Columns in the order of the events list below; "-" is a refusal. */
static const char *const events[] = {
    "trial_started",    "payment_succeeded", "payment_failed", "period_ended",  "grace_ended",
    "cancel_requested", "reactivated",       "canceled_now",   "refunded_full", "refunded_partial",
};

static const struct row {
	const char *state;
	const char *next[10];
} expected[] = {
    {"none", {"trialing", "active", "-", "-", "-", "-", "-", "-", "-", "-"}},
    {"trialing",
     {"-", "active", "past_due", "expired", "-", "canceled", "trialing", "expired", "-", "-"}},
    {"active",
     {"-", "active", "past_due", "past_due", "-", "canceled", "active", "expired", "expired",
      "active"}},
    {"past_due",
     {"-", "active", "past_due", "-", "expired", "-", "past_due", "expired", "expired",
      "past_due"}},
    {"canceled",
     {"-", "active", "-", "expired", "-", "canceled", "active", "expired", "expired", "canceled"}},
    {"expired", {"-", "-", "-", "-", "-", "-", "-", "-", "-", "-"}},
};

static void test_subs_table(void **state)
{
	size_t cells = 0;

	(void)state;
	assert_int_equal(sizeof(events) / sizeof(events[0]), SUBS_EVENT_COUNT);
	assert_int_equal(sizeof(expected) / sizeof(expected[0]), SUBS_STATE_COUNT);
	for (size_t i = 0; i < SUBS_STATE_COUNT; i++) {
		enum subs_state from;

		assert_int_equal(subs_state_parse(expected[i].state, &from), 0);
		for (size_t j = 0; j < SUBS_EVENT_COUNT; j++) {
			enum subs_event ev;
			enum subs_state next = SUBS_STATE_COUNT;
			const char *want = expected[i].next[j];
			int rc;

			assert_int_equal(subs_event_parse(events[j], &ev), 0);
			rc = subs_next(from, ev, &next);
			if (strcmp(want, "-") == 0) {
				if (rc != -ERR_CONFLICT)
					fail_msg("%s + %s: got rc %d next %s, want refused",
					         expected[i].state, events[j], rc,
					         rc ? "?" : subs_state_name(next));
				/* a refusal leaves *next alone */
				assert_int_equal(next, SUBS_STATE_COUNT);
			} else {
				if (rc != 0)
					fail_msg("%s + %s: refused (%d), want %s",
					         expected[i].state, events[j], rc, want);
				if (strcmp(subs_state_name(next), want) != 0)
					fail_msg("%s + %s: got %s, want %s", expected[i].state,
					         events[j], subs_state_name(next), want);
			}
			cells++;
		}
	}
	assert_int_equal(cells, 60);
}

static void test_subs_names(void **state)
{
	static const char *const states[] = {"none",     "trialing", "active",
	                                     "past_due", "canceled", "expired"};
	enum subs_state s = SUBS_ACTIVE;
	enum subs_event e = SUBS_REACTIVATED;

	(void)state;
	/* names and enums agree both ways, in order */
	for (size_t i = 0; i < SUBS_STATE_COUNT; i++) {
		assert_string_equal(subs_state_name((enum subs_state)i), states[i]);
		assert_int_equal(subs_state_parse(states[i], &s), 0);
		assert_int_equal(s, i);
	}
	for (size_t i = 0; i < SUBS_EVENT_COUNT; i++) {
		assert_string_equal(subs_event_name((enum subs_event)i), events[i]);
		assert_int_equal(subs_event_parse(events[i], &e), 0);
		assert_int_equal(e, i);
	}
	/* exact names only; a refusal leaves *out alone */
	s = SUBS_ACTIVE;
	assert_int_equal(subs_state_parse("Active", &s), -ERR_INVALID);
	assert_int_equal(subs_state_parse("past-due", &s), -ERR_INVALID);
	assert_int_equal(subs_state_parse("", &s), -ERR_INVALID);
	assert_int_equal(subs_state_parse("activ", &s), -ERR_INVALID);
	assert_int_equal(s, SUBS_ACTIVE);
	e = SUBS_REACTIVATED;
	assert_int_equal(subs_event_parse("trial_ended", &e), -ERR_INVALID);
	assert_int_equal(subs_event_parse("payment_succeeded ", &e), -ERR_INVALID);
	assert_int_equal(e, SUBS_REACTIVATED);

	assert_false(subs_has_plan(SUBS_NONE));
	assert_true(subs_has_plan(SUBS_TRIALING));
	assert_true(subs_has_plan(SUBS_ACTIVE));
	assert_true(subs_has_plan(SUBS_PAST_DUE));
	assert_true(subs_has_plan(SUBS_CANCELED));
	assert_false(subs_has_plan(SUBS_EXPIRED));
}

/* Walks through the table the way billing will: a Payme purchase that
 * lapses through grace, and a Stripe one that is canceled and refunded. */
static void test_subs_lifecycles(void **state)
{
	enum subs_state s = SUBS_NONE;

	(void)state;
	assert_int_equal(subs_next(s, SUBS_PAYMENT_SUCCEEDED, &s), 0);
	assert_int_equal(subs_next(s, SUBS_PERIOD_ENDED, &s), 0);
	assert_int_equal(s, SUBS_PAST_DUE);
	assert_true(subs_has_plan(s)); /* grace keeps the plan */
	assert_int_equal(subs_next(s, SUBS_GRACE_ENDED, &s), 0);
	assert_int_equal(s, SUBS_EXPIRED);
	assert_false(subs_has_plan(s));
	assert_int_equal(subs_next(s, SUBS_PAYMENT_SUCCEEDED, &s), -ERR_CONFLICT);

	s = SUBS_NONE;
	assert_int_equal(subs_next(s, SUBS_TRIAL_STARTED, &s), 0);
	assert_int_equal(subs_next(s, SUBS_PAYMENT_SUCCEEDED, &s), 0);
	assert_int_equal(subs_next(s, SUBS_PAYMENT_FAILED, &s), 0);
	assert_int_equal(s, SUBS_PAST_DUE);
	assert_int_equal(subs_next(s, SUBS_PAYMENT_SUCCEEDED, &s), 0);
	assert_int_equal(subs_next(s, SUBS_CANCEL_REQUESTED, &s), 0);
	assert_int_equal(s, SUBS_CANCELED);
	assert_int_equal(subs_next(s, SUBS_REFUNDED_PARTIAL, &s), 0);
	assert_int_equal(s, SUBS_CANCELED);
	assert_int_equal(subs_next(s, SUBS_REFUNDED_FULL, &s), 0);
	assert_int_equal(s, SUBS_EXPIRED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_subs_table),
	    cmocka_unit_test(test_subs_names),
	    cmocka_unit_test(test_subs_lifecycles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
