/*
 * stripe_hook: delivering events to the configured endpoint as Stripe does
 * (protocols.md B.12, B.13): a POST of the event's JSON with Content-Type
 * application/json; charset=utf-8 and Stripe-Signature t=<now>,v1=<hex>,
 * the HMAC-SHA256 of "<t>.<body>" keyed with the whole whsec_ secret.
 *
 * One thread sends the queue in order, one delivery at a time, so a test
 * sees them in the order they were queued (reversed, doubled or held when
 * asked). A delivery that does not get a 2xx answer is tried again after
 * retry_base_ms, doubling up to retry_max_ms, at most max_attempts times in
 * all; while it waits, the deliveries after it go on (Stripe does not keep
 * order either). Every attempt is recorded with the answer's status and
 * the start of its body. The HTTP call runs without the mutex; stopping
 * abandons it within about a second.
 */
#include "sim/stripe_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/sig.h"
#include "lib/clock.h"
#include "lib/hc.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/utf8.h"

#define WRONG_SECRET "whsec_not_the_endpoint_secret_0000"

void stripe_hook_queue(struct sim_stripe *st, const char *event_id, const char *type,
                       const char *body, const struct stripe_dopts *d, int copy)
{
	struct stripe_item *it;

	if (st->nqueue == STRIPE_MAX_QUEUE) {
		json_array_append_new(st->attempts,
		                      json_pack("{s:s, s:s, s:i, s:i, s:s}", "event_id", event_id,
		                                "type", type, "status", 0, "copy", copy, "error",
		                                "not queued: the delivery queue is full"));
		while (json_array_size(st->attempts) > STRIPE_MAX_ATTEMPTS)
			json_array_remove(st->attempts, 0);
		return;
	}
	st->queue = xrealloc(st->queue, (st->nqueue + 1) * sizeof(*st->queue));
	it = &st->queue[st->nqueue++];
	memset(it, 0, sizeof(*it));
	it->seq = st->next_seq++;
	snprintf(it->event_id, sizeof(it->event_id), "%s", event_id);
	snprintf(it->type, sizeof(it->type), "%s", type);
	it->body = xstrdup(body);
	it->held = d->hold;
	it->copy = copy;
	it->sig = d->sig;
	it->stale_s = d->stale_s;
}

static void item_drop(struct sim_stripe *st, size_t i)
{
	free(st->queue[i].body);
	memmove(&st->queue[i], &st->queue[i + 1], (st->nqueue - i - 1) * sizeof(*st->queue));
	st->nqueue--;
}

size_t stripe_hook_release(struct sim_stripe *st, bool reverse)
{
	size_t *idx = xcalloc(st->nqueue + 1, sizeof(*idx)), n = 0;

	for (size_t i = 0; i < st->nqueue; i++)
		if (st->queue[i].held)
			idx[n++] = i;
	/* reversing the held ones among their own places leaves the rest as
	 * they were */
	for (size_t k = 0; reverse && k < n / 2; k++) {
		struct stripe_item t = st->queue[idx[k]];

		st->queue[idx[k]] = st->queue[idx[n - 1 - k]];
		st->queue[idx[n - 1 - k]] = t;
	}
	for (size_t k = 0; k < n; k++)
		st->queue[idx[k]].held = false;
	free(idx);
	pthread_cond_broadcast(&st->cv);
	return n;
}

void stripe_hook_clear(struct sim_stripe *st)
{
	for (size_t i = 0; i < st->nqueue; i++)
		free(st->queue[i].body);
	free(st->queue);
	st->queue = NULL;
	st->nqueue = 0;
}

static int64_t backoff(const struct sim_stripe *st, int failed)
{
	int64_t d = st->retry_base_ms;

	for (int i = 1; i < failed && d < st->retry_max_ms; i++)
		d *= 2;
	return d < st->retry_max_ms ? d : st->retry_max_ms;
}

static bool still_queued(const struct sim_stripe *st, const char *event_id)
{
	for (size_t i = 0; i < st->nqueue; i++)
		if (strcmp(st->queue[i].event_id, event_id) == 0)
			return true;
	return false;
}

static void record(struct sim_stripe *st, const struct stripe_item *it, long status,
                   const struct buf *answer, const char *error, int64_t t)
{
	size_t n = answer ? utf8_cut(answer->p, answer->len < STRIPE_MAX_ANSWER ? answer->len
	                                                                        : STRIPE_MAX_ANSWER)
	                  : 0;
	json_t *ans = answer ? json_stringn(answer->p, n) : json_string("");
	json_t *a = json_pack("{s:I, s:s, s:s, s:i, s:i, s:i, s:o, s:s, s:I, s:s, s:I}", "seq",
	                      (json_int_t)it->seq, "event_id", it->event_id, "type", it->type,
	                      "copy", it->copy, "attempt", it->attempt + 1, "status", (int)status,
	                      "answer", ans ? ans : json_string("(not UTF-8)"), "error",
	                      error ? error : "", "at_ms", (json_int_t)clock_now_ms(), "signature",
	                      stripe_sig_name(it->sig), "t", (json_int_t)t);

	if (!a)
		return;
	json_array_append_new(st->attempts, a);
	while (json_array_size(st->attempts) > STRIPE_MAX_ATTEMPTS)
		json_array_remove(st->attempts, 0);
}

/* Send queue[i] once; mu is held on entry and on return. */
static void deliver(struct sim_stripe *st, size_t i)
{
	struct stripe_item it = st->queue[i];
	struct hc_req rq = {0};
	struct hc_resp rs = {0};
	struct err e = {0};
	char sig[SIG_STRIPE_SIGNED_MAX], hdr[SIG_STRIPE_SIGNED_MAX + 40];
	char *url = xstrdup(st->webhook_url), *body = xstrdup(it.body);
	char *secret =
	    xstrdup(it.sig == STRIPE_SIG_WRONG_SECRET ? WRONG_SECRET : st->webhook_secret);
	int64_t t = clock_now_ms() / 1000, found;
	bool ok;
	int rc;

	if (it.sig == STRIPE_SIG_STALE)
		t -= it.stale_s;
	if (t < 0)
		t = 0;
	sig_stripe_sign(secret, t, body, strlen(body), sig, sizeof(sig));
	snprintf(hdr, sizeof(hdr), "Stripe-Signature: %s", sig);
	rq.method = "POST";
	rq.url = url;
	rq.content_type = "application/json; charset=utf-8";
	rq.body = body;
	rq.body_len = strlen(body);
	rq.timeout_ms = (long)st->timeout_ms;
	rq.max_response = 64 * 1024;
	rq.cancel = &st->cancel;
	rq.headers[0] = "User-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)";
	rq.headers[1] = it.sig == STRIPE_SIG_NONE ? NULL : hdr;
	pthread_mutex_unlock(&st->mu);
	rc = hc_do(&rq, &rs, &e);
	pthread_mutex_lock(&st->mu);

	ok = !rc && rs.status >= 200 && rs.status <= 299;
	found = -1;
	for (size_t k = 0; k < st->nqueue; k++)
		if (st->queue[k].seq == it.seq)
			found = (int64_t)k;
	if (found < 0) { /* reset while it was in flight */
		hc_resp_release(&rs);
		goto out;
	}
	record(st, &st->queue[found], rc ? 0 : rs.status, rc ? NULL : &rs.body, rc ? e.msg : NULL,
	       t);
	log_debug("msg=\"stripe webhook\" event=%s attempt=%d status=%ld", it.event_id,
	          it.attempt + 1, rc ? 0 : rs.status);
	hc_resp_release(&rs);
	if (ok) {
		st->delivered++;
		item_drop(st, (size_t)found);
		if (!still_queued(st, it.event_id)) {
			json_t *ev = stripe_get(st, it.event_id, "event");

			if (ev)
				json_object_set_new(ev, "pending_webhooks", json_integer(0));
		}
	} else {
		struct stripe_item *q = &st->queue[found];

		st->failed++;
		q->attempt++;
		if (q->attempt >= st->max_attempts) {
			st->given_up++;
			item_drop(st, (size_t)found);
		} else {
			q->next_at_ms = clock_mono_ms() + backoff(st, q->attempt);
		}
	}
	pthread_cond_broadcast(&st->cv);
out:
	free(url);
	free(body);
	free(secret);
}

static void wait_until(struct sim_stripe *st, int64_t deadline_ms)
{
	struct timespec ts;
	int64_t now = clock_mono_ms();

	if (deadline_ms <= now)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (deadline_ms - now) / 1000;
	ts.tv_nsec += ((deadline_ms - now) % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&st->cv, &st->mu, &ts);
}

void *stripe_hook_main(void *arg)
{
	struct sim_stripe *st = arg;

	pthread_mutex_lock(&st->mu);
	while (!st->stopping) {
		int64_t now = clock_mono_ms(), next = INT64_MAX;
		size_t due = st->nqueue;

		for (size_t i = 0; st->webhook_url && i < st->nqueue; i++) {
			if (st->queue[i].held)
				continue;
			if (st->queue[i].next_at_ms <= now) {
				due = i;
				break;
			}
			if (st->queue[i].next_at_ms < next)
				next = st->queue[i].next_at_ms;
		}
		if (due < st->nqueue) {
			deliver(st, due);
			continue;
		}
		if (next == INT64_MAX)
			pthread_cond_wait(&st->cv, &st->mu);
		else
			wait_until(st, next);
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}
