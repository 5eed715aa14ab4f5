/*
 * lifecycle: what the clock does to subscriptions (billing_sweep). The
 * candidates are read without a lock; each is then changed in a transaction
 * of its own after billing_sub_apply() has locked and re-read its row, so a
 * node that finds the work done already changes nothing.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "billing/billing.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/store.h"

typedef int (*one_fn)(struct store_conn *c, int64_t id, int64_t now,
                      const struct billing_policy *pol, struct err *e);

/* Apply fn to each id the query finds, one transaction each. */
static int each(struct store *st, const char *sql, const struct store_val *a, size_t n, one_fn fn,
                int64_t now, const struct billing_policy *pol, int *changed, struct err *e)
{
	struct store_res *r = NULL;
	int rc = store_exec(st, sql, a, n, &r, e);

	if (rc)
		return rc;
	for (size_t i = 0; i < store_res_rows(r); i++) {
		struct store_conn *c;
		struct err ie = {0};
		int one;

		rc = store_conn_get(st, &c, e);
		if (rc)
			break;
		one = store_begin(c, &ie);
		if (!one)
			one = fn(c, store_res_int(r, i, 0), now, pol, &ie);
		if (one == 0 || one == 1)
			one = store_commit(c, &ie) ? -1 : one;
		else
			store_rollback(c);
		store_conn_put(st, c);
		if (one == 1)
			(*changed)++;
		else if (one < 0 && one != -ERR_CONFLICT)
			log_warn("msg=\"billing sweep step failed\" id=%lld error=\"%s\"",
			         (long long)store_res_int(r, i, 0), ie.msg);
	}
	store_res_free(r);
	return rc;
}

/* 1 when changed, 0 when there was nothing to do, or an error. */
static int remind(struct store_conn *c, int64_t id, int64_t now, const struct billing_policy *pol,
                  struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(id), SV_INT(now), SV_INT(now + pol->remind_ms)};
	int rc = store_query(c,
	                     "UPDATE subscriptions SET reminded_at = $2 WHERE id = $1 AND state = "
	                     "'active' AND provider <> 'stripe' AND reminded_at IS NULL AND "
	                     "current_period_end <= $3 RETURNING user_id, current_period_end",
	                     a, ARRAY_SIZE(a), &r, e);
	int64_t user, end;
	char detail[24];

	if (rc)
		return rc;
	if (store_res_rows(r) == 0) {
		store_res_free(r);
		return 0;
	}
	user = store_res_int(r, 0, 0);
	end = store_res_int(r, 0, 1);
	store_res_free(r);
	snprintf(detail, sizeof(detail), "%lld", (long long)end);
	rc = billing_notice(c, user, "reminder", id, 0, 0, detail, now, e);
	return rc ? rc : 1;
}

static int apply(struct store_conn *c, int64_t id, enum subs_event ev, const char *notice,
                 int64_t now, const struct billing_policy *pol, struct err *e)
{
	struct billing_effect ef;
	int rc = billing_sub_apply(c, id, ev, now, pol, &ef, e);

	if (rc)
		return rc;
	log_info("msg=\"subscription changed\" effect=\"%s\"", ef.text);
	if (ef.to == SUBS_PAST_DUE)
		notice = "past_due";
	rc = billing_notice(c, ef.user_id, notice, id, 0, 0, "", now, e);
	return rc ? rc : 1;
}

static int period_ended(struct store_conn *c, int64_t id, int64_t now,
                        const struct billing_policy *pol, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(id), SV_INT(now)};
	int rc =
	    store_query(c,
	                "SELECT 1 FROM subscriptions WHERE id = $1 AND current_period_end <= $2 "
	                "AND (state IN ('canceled', 'trialing') OR (state = 'active' AND "
	                "provider <> 'stripe'))",
	                a, 2, &r, e);

	if (!rc && store_res_rows(r) == 0)
		rc = -ERR_CONFLICT; /* another node was first */
	store_res_free(r);
	return rc ? rc : apply(c, id, SUBS_PERIOD_ENDED, "expired", now, pol, e);
}

static int grace_ended(struct store_conn *c, int64_t id, int64_t now,
                       const struct billing_policy *pol, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(id), SV_INT(now)};
	int rc = store_query(c,
	                     "SELECT 1 FROM subscriptions WHERE id = $1 AND state = 'past_due' AND "
	                     "grace_until <= $2",
	                     a, 2, &r, e);

	if (!rc && store_res_rows(r) == 0)
		rc = -ERR_CONFLICT;
	store_res_free(r);
	return rc ? rc : apply(c, id, SUBS_GRACE_ENDED, "expired", now, pol, e);
}

int billing_sweep(struct store *st, int64_t now, const struct billing_policy *pol, int *changed,
                  struct err *e)
{
	const struct billing_policy *po = pol ? pol : &billing_policy_default;
	struct store_val a[] = {SV_INT(now), SV_INT(now + po->remind_ms)};
	int rc;

	pol = po;
	*changed = 0;
	rc =
	    each(st,
	         "SELECT id FROM subscriptions WHERE state = 'active' AND provider <> 'stripe' AND "
	         "reminded_at IS NULL AND current_period_end <= $2 ORDER BY id LIMIT 100",
	         a, 2, remind, now, pol, changed, e);
	if (!rc)
		rc = each(
		    st,
		    "SELECT id FROM subscriptions WHERE current_period_end <= $1 AND (state IN "
		    "('canceled', 'trialing') OR (state = 'active' AND provider <> 'stripe')) "
		    "ORDER BY id LIMIT 100",
		    a, 1, period_ended, now, pol, changed, e);
	if (!rc)
		rc = each(
		    st,
		    "SELECT id FROM subscriptions WHERE state = 'past_due' AND grace_until <= $1 "
		    "ORDER BY id LIMIT 100",
		    a, 1, grace_ended, now, pol, changed, e);
	if (!rc)
		rc =
		    store_exec(st,
		               "UPDATE orders SET state = 'expired', updated_at = $1 WHERE state = "
		               "'pending' AND expires_at <= $1",
		               a, 1, NULL, e);
	return rc;
}

void billing_policy_of(const struct app *a, struct billing_policy *pol)
{
	pol->grace_ms = app_int(a, SET_GRACE_DAYS) * 24 * 3600 * 1000;
	pol->remind_ms = app_int(a, SET_REMIND_DAYS) * 24 * 3600 * 1000;
}

int billing_tick(struct app *a, struct err *e)
{
	struct billing_policy pol;
	int n = 0, rc;

	billing_policy_of(a, &pol);
	rc = billing_sweep(a->store, clock_app_ms(), &pol, &n, e);
	if (!rc && n)
		log_info("msg=\"billing sweep\" changed=%d", n);
	return rc;
}
