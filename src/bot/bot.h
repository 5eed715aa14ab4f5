/*
 * bot: the Telegram bot. Updates arrive by long polling (a poller thread,
 * when HERALD_PUBLIC_URL is unset) or by webhook (POST /hooks/telegram, the
 * webhook registered at start), are written to the tg_updates inbox once per
 * update id, and are handled by dispatcher threads in order per chat.
 * Conversations keep their state in the store; every text is in the user's
 * language (lib/i18n).
 */
#ifndef HERALD_BOT_H
#define HERALD_BOT_H

#include <stddef.h>

#include "lib/buf.h"
#include "lib/err.h"

struct app;
struct bot;

/* A bot for a->tg, a->store and a->kv; nothing runs yet. */
int bot_new(struct bot **out, struct app *a, struct err *e) WUR;
/* Register or remove the webhook, start the poller (if polling) and the
 * dispatchers. */
int bot_start(struct bot *b, struct err *e) WUR;
/* Stop polling and dispatching; updates not yet handled stay in the inbox. */
void bot_stop(struct bot *b);
void bot_free(struct bot *b);

/*
 * Record one update delivered to the webhook (the raw JSON body). 0 when
 * recorded or already known (a repeat); -ERR_INVALID (e says why) when it is
 * not an update; -ERR_UNAVAILABLE when the store is down (Telegram retries).
 */
int bot_accept(struct bot *b, const char *body, size_t len, struct err *e) WUR;

/*
 * Tell a delivery's owner, in their language, what happened to it: failed
 * (the reason and what to do), or uncertain (buttons: Resend / It was
 * published). Used by the scheduler's notify jobs; needs a->tg, not a
 * running bot. -ERR_UNAVAILABLE / -ERR_BUSY / -ERR_TIMEOUT are worth another
 * try; a user who blocked the bot is not an error.
 */
int bot_notify_delivery(struct app *a, int64_t delivery_id, struct err *e) WUR;

/*
 * Send billing notice notice_id (a billing_notices row) to its user's
 * private chat in their language, with the buttons that act on it (pay
 * now, try again, another provider, choose a plan), and record it: sent_at,
 * or error. A notice sent before is not sent again; a user who blocked the
 * bot is recorded as sent with that error (no retries). Used by the
 * scheduler's bnotice jobs; needs a->tg, not a running bot. -ERR_UNAVAILABLE
 * / -ERR_BUSY / -ERR_TIMEOUT are worth another try.
 */
int bot_billing_notice(struct app *a, int64_t notice_id, struct err *e) WUR;

/*
 * Send alert event event_id (an alert_events row) to its rule's user in
 * their language, with Mute (the rule, 24 h) and Open report (the
 * channel's summary) buttons, and record it: sent, or muted when the rule
 * was muted since, or failed (a removed rule, a user who blocked the bot,
 * a refusal) with the reason. An event that is not pending is not sent
 * again. Used by the scheduler's alert jobs; needs a->tg, not a running
 * bot. -ERR_UNAVAILABLE / -ERR_BUSY / -ERR_TIMEOUT are worth another try.
 */
int bot_alert_send(struct app *a, int64_t event_id, struct err *e) WUR;

/* Counters since start, for /metrics. */
struct bot_counts {
	long long received; /* recorded in the inbox (webhook or polling) */
	long long repeats;  /* already there: a retry or a re-poll */
	long long handled;
	long long failed;
	long long retried;
};
void bot_counts(const struct bot *b, struct bot_counts *out);

/* Append the counters as Prometheus text to out. */
int bot_metrics(const struct bot *b, struct buf *out) WUR;

#endif
