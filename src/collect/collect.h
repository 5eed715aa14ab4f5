/*
 * collect: the data sources of analytics (product.md section 4,
 * docs/analytics.md), each checked before storage (collect/validate.h):
 *
 *   - updates: channel_post and edited_channel_post (the channel's posts,
 *     made through Herald or not), message_reaction_count (anonymous
 *     reaction totals per post) and chat_member (joins and leaves);
 *   - the Bot API's getChatMemberCount, polled by a collect job at the
 *     interval of the owner's plan (plans.collect_every_ms);
 *   - the public channel page (HERALD_TME_URL/s/<username>) of public
 *     channels: views, reactions, dates and media kinds per post, in the
 *     same job.
 *
 * Each source of each channel fails alone: its failure is recorded with the
 * reason (collect_sources) and the other sources and channels go on.
 */
#ifndef HERALD_COLLECT_H
#define HERALD_COLLECT_H

#include <jansson.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"

struct app;
struct store_conn;

/* Sources, as stored. */
#define COLLECT_SRC_BOTAPI  "bot_api"
#define COLLECT_SRC_UPDATES "updates"
#define COLLECT_SRC_PAGE    "page"

/*
 * Take what analytics needs from an update (channel_post,
 * edited_channel_post, message_reaction_count, chat_member) for every
 * channel connected with that chat; other updates are ignored. 0 also when
 * the update was rejected by validation (counted, not an error).
 */
int collect_update(struct app *a, const json_t *upd, struct err *e) WUR;

/*
 * The collect job of channel_id (sched: kind collect): the member count,
 * then the public page, then the daily rollups, retention and the hook
 * (collect_hook) for alerts. *next_at gets when to run again (the product
 * clock), 0 when the channel is gone and the job ends. Fails only when the
 * store does: a source that fails is recorded and the job goes on.
 */
int collect_channel(struct app *a, int64_t channel_id, int64_t *next_at, struct err *e) WUR;

/* After each collection of a channel (alerts); may be NULL. Set once at
 * start, before the scheduler runs. */
extern int (*collect_hook)(struct app *a, int64_t channel_id, struct err *e);

/* A collect job for every connected channel that has none (any node may
 * run it: one per channel, by a unique index). */
int collect_tick(struct app *a, struct err *e) WUR;

/* Append Prometheus text: points stored, rejected and flagged per source,
 * source failures. */
int collect_metrics(struct buf *out) WUR;

/* For the public page's collector (page.c): record a source's outcome. */
int collect_source_ok(struct store_conn *c, int64_t channel_id, const char *source, int64_t now,
                      struct err *e) WUR;
int collect_source_failed(struct app *a, int64_t channel_id, const char *source, const char *why,
                          int64_t now);
/* Count n rejected or flagged points of a source (metrics and the channel's
 * collect_sources row). */
int collect_count(struct store_conn *c, int64_t channel_id, const char *source, int rejected,
                  int flagged, struct err *e) WUR;

#endif
