/*
 * posts: what a user publishes (product.md section 3). A post is validated
 * as a whole into a canonical spec (JSON, stored as is), then made into
 * deliveries, one per target channel and occurrence, which the scheduler
 * (sched/sched.h) sends. Every function here is used alike by the REST API
 * and the bot, which both speak the spec below.
 *
 * The spec (input of posts_create, and of posts_update as a partial object):
 *
 *   {"text": "<b>Hello</b>",            Telegram HTML; the caption with media
 *    "media": [{"type": "photo", "file_id": "..."},
 *              {"type": "video", "url": "https://..."}],   0..10 items
 *    "buttons": [[{"text": "Open", "url": "https://..."}]], rows of URL buttons
 *    "silent": false, "protect": false, "pin": false, "disable_preview": false,
 *    "delete_after_hours": 0,            0: never; 1..47
 *    "channels": [3, 5],                 ids of the user's channels, 1..10
 *    "draft": false,                     a draft is kept, not scheduled
 *    "schedule": {"at": "2026-11-25T09:00",   local time in zone, or "now",
 *                                              or an instant with Z / +hh:mm
 *                 "zone": "Europe/Berlin",    default: the user's zone
 *                 "repeat": {"every": "day" | "week" | "month",
 *                            "weekdays": ["mon", "thu"],   week only
 *                            "month_day": 15,              month only; default at's day
 *                            "until": "2026-12-31",        local date, inclusive
 *                            "count": 10}}}                occurrences in all
 *
 * Rules: text or media is required (a draft may be empty); text is at most
 * 4096 UTF-16 units, a caption (text with media) 1024; an album is 2..10
 * photos and videos, or 2..10 documents; buttons are at most 8 per row and
 * 100 in all, each text 1..64 characters with a URL html_url_ok accepts; a
 * schedule's first occurrence may not be more than a minute in the past;
 * "now" and a time within that minute are due at once; without a schedule a
 * post that is not a draft is due now.
 */
#ifndef HERALD_POSTS_H
#define HERALD_POSTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct store;
struct user;

#define POST_MEDIA_MAX        10
#define POST_CHANNELS_MAX     10
#define POST_BUTTONS_MAX      100
#define POST_ROW_MAX          8
#define POST_BUTTON_TEXT_MAX  64
#define POST_DELETE_AFTER_MAX 47 /* hours: Telegram deletes only messages < 48 h old */
#define POST_PAST_GRACE_MS    60000
#define POST_HORIZON_MS       (8LL * 24 * 3600 * 1000) /* recurring: expanded this far ahead */
#define POST_IDEM_KEY_MAX     255

enum post_status { POST_DRAFT, POST_SCHEDULED, POST_DONE, POST_CANCELED };

enum dlv_state {
	DLV_SCHEDULED,
	DLV_SENDING,
	DLV_SENT,
	DLV_RETRYING,
	DLV_FAILED,
	DLV_UNCERTAIN,
	DLV_CANCELED,
};

const char *posts_status_name(enum post_status s);  /* "draft", ... */
const char *posts_dlv_state_name(enum dlv_state s); /* "scheduled", ... */
int posts_dlv_state_parse(const char *name, enum dlv_state *out);

/*
 * Why an input was refused: the field ("text", "media[10]",
 * "buttons[0][1].url", "schedule.at", "channels[1]") and a message for a
 * person in English (err.msg). The bot shows its own translated texts by
 * field and code; code is a stable word: "invalid", "too_long", "past",
 * "zone", "url", "album", "not_owned", "plan_limit", "not_editable".
 */
struct post_fault {
	char field[64];
	char code[16];
	struct err err;
};

/* How a schedule was read: the first occurrence and its adjustment. */
struct post_when {
	int64_t first_at;   /* UTC ms; 0 for a draft */
	const char *adjust; /* "exact", "moved_forward" or "ambiguous_first" */
	bool recurring;
};

/*
 * Check in against the rules above for a user whose zone is user_zone, at
 * now_ms (the product clock). On success *canon is the canonical spec (a
 * new object: every field present, schedule.zone filled in, channels as
 * given) and *w how its schedule reads. Channel ownership is not checked
 * here (posts_create does it). Returns -ERR_INVALID with f filled (a text
 * too long too: code "too_long").
 */
int posts_validate(const json_t *in, const char *user_zone, int64_t now_ms, json_t **canon,
                   struct post_when *w, struct post_fault *f) WUR;

/* An Idempotency-Key of a POST: the key and a hash of the request body. */
struct post_idem {
	const char *key;  /* 1..POST_IDEM_KEY_MAX printable ASCII */
	const char *hash; /* hex SHA-256 of the body */
};

/*
 * Create a post for u from in (validated as by posts_validate, channels
 * checked to be u's connected channels, the plan's posts per month checked
 * in u's zone) and its deliveries and jobs, in one transaction. With idem,
 * the key is recorded in the same transaction.
 * Returns 0 and *id; -ERR_INVALID with f (invalid input);
 * -ERR_NOT_FOUND with f (a channel that is not u's, code "not_owned");
 * -ERR_TOO_BIG with f (code "plan_limit": the month's posts would pass the
 * plan's limit, f->err.msg says which month and limit);
 * -ERR_EXISTS when idem's key was used before with the same hash (*id is that
 * post, nothing created); -ERR_CONFLICT when it was used with another body.
 */
int posts_create(struct store *st, const struct user *u, const json_t *in, int64_t now_ms,
                 const struct post_idem *idem, int64_t *id, struct post_fault *f) WUR;

/*
 * The answer recorded for an idempotency key (after posts_create returned
 * 0): status and body. posts_idem_answer reads it back: 0 and *body (malloc'd)
 * when one was recorded, -ERR_NOT_FOUND when not (the caller renders the
 * post again).
 */
int posts_idem_record(struct store *st, int64_t user_id, const char *key, int status,
                      const char *body, struct err *e) WUR;
int posts_idem_answer(struct store *st, int64_t user_id, const char *key, int *status, char **body,
                      struct err *e) WUR;

/*
 * The post as JSON (new object):
 *   {"id", "status", "created_at", "updated_at", "version",
 *    ...every spec field (text, media, buttons, options, channels, draft, schedule),
 *    "first_at", "adjust", "next_at" (the next delivery due, null when none),
 *    "deliveries": {"scheduled": n, "sending": n, "sent": n, "retrying": n,
 *                   "failed": n, "uncertain": n, "canceled": n}}
 * Instants are UTC ms; -ERR_NOT_FOUND unless it is user_id's.
 */
int posts_get(struct store *st, int64_t user_id, int64_t id, json_t **out, struct err *e) WUR;

/*
 * user_id's posts, newest first: status NULL for all, else "draft",
 * "scheduled", "done" or "canceled"; before_id 0 for the first page, else
 * only ids below it; at most limit (1..100). *out: an array of posts_get
 * objects; *next: the before_id of the next page, 0 when this is the last.
 */
int posts_list(struct store *st, int64_t user_id, const char *status, int64_t before_id, int limit,
               json_t **out, int64_t *next, struct err *e) WUR;

/*
 * Change a post with a partial spec (fields absent stay as they are; null
 * resets an optional one). Before anything was sent the whole post may
 * change (pending deliveries are remade). Once a delivery is sent or sending,
 * only text and buttons may change: the sent messages are edited (edit jobs)
 * and future occurrences use the new content; other fields give
 * -ERR_CONFLICT with code "not_editable". A canceled or done post:
 * -ERR_CONFLICT. Errors as posts_create otherwise.
 */
int posts_update(struct store *st, const struct user *u, int64_t id, const json_t *patch,
                 int64_t now_ms, struct post_fault *f) WUR;

/* Cancel a post: pending deliveries (scheduled, retrying, uncertain) become
 * canceled and their jobs go; sent messages stay. -ERR_NOT_FOUND unless
 * user_id's; canceling twice is not an error. */
int posts_cancel(struct store *st, int64_t user_id, int64_t id, int64_t now_ms, struct err *e) WUR;

/*
 * A post's deliveries, by due time then channel:
 *   [{"id", "post_id", "channel_id", "chat_id", "occurrence", "due_at", "state",
 *     "reason", "attempts", "message_ids": [..], "sent_at", "lateness_ms",
 *     "pinned_at", "deleted_at", "edited_at"}]
 */
int posts_deliveries(struct store *st, int64_t user_id, int64_t post_id, json_t **out,
                     struct err *e) WUR;

/* One delivery as above, with the post's id; -ERR_NOT_FOUND unless user_id's. */
int posts_delivery(struct store *st, int64_t user_id, int64_t delivery_id, json_t **out,
                   struct err *e) WUR;

/*
 * The owner's answer about an uncertain delivery: resend (a new deliver job,
 * due now) or published (marked sent, without message ids). -ERR_CONFLICT
 * when the delivery is no longer uncertain (answered already).
 */
int posts_resolve(struct store *st, int64_t user_id, int64_t delivery_id, bool resend,
                  int64_t now_ms, struct err *e) WUR;

/*
 * The user's upcoming deliveries (scheduled, retrying, uncertain, sending),
 * soonest first, at most limit, each as posts_deliveries plus "text" (the
 * post's text) and "title" (the channel's): for /queue.
 */
int posts_upcoming(struct store *st, int64_t user_id, int limit, json_t **out, struct err *e) WUR;

/* The plan's posts per month and how many deliveries u has due in the
 * calendar month (in u's zone) containing at_ms. */
int posts_quota(struct store *st, const struct user *u, int64_t at_ms, int64_t *used,
                int64_t *limit, struct err *e) WUR;

#endif
