/*
 * sched: the worker role. Durable jobs (the jobs table) claimed with a lease,
 * so any number of nodes share the work (PostgreSQL: FOR UPDATE SKIP LOCKED)
 * and a node that dies loses nothing: the watchdog takes its jobs back when
 * their lease runs out.
 *
 * Jobs of one chat run one at a time in their order, each no earlier than
 * its run_at: the deliveries of a channel keep their order even when one is
 * retried. Kinds:
 *   deliver  send a delivery (scheduled|retrying -> sending -> sent, or
 *            retrying with backoff, or failed with the reason); then queue
 *            pin and delete jobs as the post asks
 *   pin      pin a sent delivery's first message
 *   delete   delete a sent delivery's messages (auto-delete)
 *   edit     apply the post's current text and buttons to a sent delivery
 *   notify   tell the owner about a failed or uncertain delivery (bot)
 *   expand   make the next occurrences of a recurring post into deliveries
 *   bnotice  tell a user about their subscription or a payment (bot)
 *   collect  collect a channel's analytics (collect_channel), then come back
 *            at the interval of its owner's plan: one job per channel
 *   pstop    end at its provider a subscription that ended here (Stripe:
 *            refunded in full, replaced through another provider, out of
 *            grace), so the provider stops charging
 *   alert    send an alert event (alert_events) to its user through the bot
 *
 * A delivery whose lease ran out while it was sending is not sent again: it
 * becomes uncertain and its owner is asked (docs/scheduling.md). A delivery
 * to a channel paused by its owner's plan limit waits (it is looked at again
 * every minute) until the plan allows the channel again.
 */
#ifndef HERALD_SCHED_H
#define HERALD_SCHED_H

#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"

struct app;
struct sched;
struct store;
struct store_conn;

struct sched_opts {
	int workers;        /* threads sending; 0: 8 */
	int64_t lease_ms;   /* a claimed job's lease, renewed while held; 0: 30000 */
	int64_t poll_ms;    /* how often an idle worker looks for due jobs; 0: 200 */
	int max_attempts;   /* deliver attempts before failed; 0: 5 */
	int64_t backoff_ms; /* the first retry's delay, doubled each time; 0: 5000 */
	/* tells a delivery's owner it failed or is uncertain (bot_notify_delivery);
	 * NULL: notify jobs are given up */
	int (*notify)(struct app *a, int64_t delivery_id, struct err *e);
	/* sends a billing notice (bot_billing_notice); NULL: bnotice jobs are
	 * given up */
	int (*billing_notice)(struct app *a, int64_t notice_id, struct err *e);
	/* ends a subscription at its provider (stripe_end_subscription); NULL:
	 * pstop jobs are given up */
	int (*provider_stop)(struct app *a, int64_t sub_id, struct err *e);
	/* sends an alert event (bot_alert_send); NULL: alert jobs are given up */
	int (*alert)(struct app *a, int64_t event_id, struct err *e);
	/* told right after a delivery's failure is recorded
	 * (alerts_on_delivery_failed); its own failure is only logged; may be
	 * NULL */
	int (*delivery_failed)(struct app *a, int64_t delivery_id, struct err *e);
	/* collects a channel (collect_channel): *next_at when to run again, 0
	 * to end; NULL: collect jobs are given up */
	int (*collect)(struct app *a, int64_t channel_id, int64_t *next_at, struct err *e);
	/* the clock's work, run by the watchdog every tick_ms (0: 5000) of the
	 * real clock (billing_tick); NULL: none */
	int (*tick)(struct app *a, struct err *e);
	int64_t tick_ms;
};

int sched_new(struct sched **out, struct app *a, const struct sched_opts *o, struct err *e) WUR;
int sched_start(struct sched *s, struct err *e) WUR;
void sched_stop(struct sched *s);
void sched_free(struct sched *s);

/*
 * Queue a job on c (inside the caller's transaction): kind, ref, chat_key
 * (0: none), order_at (its place among the chat's jobs, and among all due
 * jobs) and run_at (UTC ms of the product clock; never before order_at).
 */
int sched_enqueue(struct store_conn *c, const char *kind, int64_t ref, int64_t chat_key,
                  int64_t order_at, int64_t run_at, struct err *e) WUR;

/* A leased job (sched_claim). */
struct sched_job {
	int64_t id, ref, chat_key, attempts;
	char kind[16];
};

/*
 * Lease the job that goes next for node until lease_until (real clock):
 * of the jobs due at now (product clock) that head their chat, the one due
 * longest ago. 1 and *j, 0 when none is due. The workers' claim; public for
 * the tests of that order.
 */
int sched_claim(struct store *st, const char *node, int64_t lease_until, int64_t now,
                struct sched_job *j, struct err *e) WUR;

/* Append Prometheus text: jobs run, deliveries by outcome, lateness. */
int sched_metrics(const struct sched *s, struct buf *out) WUR;

#endif
