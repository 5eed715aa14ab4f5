/*
 * posts_impl: what the files of src/posts share (and src/sched, which
 * expands and settles posts inside its own transactions).
 *
 *   spec.c   the check of a spec into its canonical form; schedules
 *   posts.c  posts, deliveries and idempotency keys in the store
 */
#ifndef HERALD_POSTS_IMPL_H
#define HERALD_POSTS_IMPL_H

#include <stdbool.h>

#include "lib/mem.h"
#include "lib/utf8.h"
#include "posts/posts.h"
#include "sched/when.h"

struct store_conn;

/* A schedule as read from a spec. */
struct post_sched {
	char zone[64];
	bool now;     /* "now" (or no schedule): due at once */
	bool instant; /* at was an instant (Z or an offset) */
	bool recurring;
	int64_t at_ms;           /* the instant of at */
	struct when_local local; /* at's local time (recurring: the rule's) */
	struct when_rule rule;   /* freq WHEN_ONCE when not recurring */
	int64_t first_at;        /* after posts_first */
	enum when_adjust adjust;
};

/* Fill f (code, field, "field: message"); returns -ERR_INVALID. */
int posts_fault(struct post_fault *f, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *posts_adjust_name(enum when_adjust a);

/* Read a spec's "schedule" object; *canon its canonical form. */
int posts_schedule(const json_t *sched, const char *user_zone, struct post_sched *ps,
                   json_t **canon, struct post_fault *f) WUR;
/* The first occurrence into ps->first_at; "past" when check_past and it is
 * more than POST_PAST_GRACE_MS before now. */
int posts_first(struct post_sched *ps, int64_t now_ms, bool check_past, struct post_fault *f) WUR;
/* posts_validate with the past check optional (an edit keeping its time). */
int posts_check(const json_t *in, const char *user_zone, int64_t now_ms, bool check_past,
                json_t **canon, struct post_sched *ps, struct post_fault *f) WUR;

/*
 * Make the occurrences of post_id due up to now_ms + POST_HORIZON_MS (at
 * least one, when any is left) into deliveries and deliver jobs, on c inside
 * the caller's transaction, and queue the next expand job when the rule goes
 * on. Occurrences past the plan's monthly limit become failed deliveries
 * (reason plan_limit) with a notify job; with strict (a post being created
 * or edited) they are refused instead: -ERR_TOO_BIG, e naming the month and
 * the limit. *made: how many deliveries were made.
 */
int posts_expand(struct store_conn *c, int64_t post_id, int64_t now_ms, bool strict, int *made,
                 struct err *e) WUR;

/* Mark post_id done when nothing of it is pending any more (on c). */
int posts_settle(struct store_conn *c, int64_t post_id, struct err *e) WUR;

#endif
