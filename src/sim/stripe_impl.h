/*
 * stripe_impl: what the Stripe simulator's files share.
 *
 * All state hangs off struct sim_stripe and is guarded by its mutex (mu);
 * every handler holds mu from after parsing its input until it has built
 * its answer, so one request sees and leaves a consistent world. Objects
 * are kept as JSON in one map from id to object, in the layout of current
 * API versions, with what only the simulator knows under the key "_sim"
 * (never shown). stripe_render() makes the view for a layout. cv wakes the
 * delivery thread (stripe_hook.c), which POSTs events without holding mu.
 */
#ifndef HERALD_SIM_STRIPE_IMPL_H
#define HERALD_SIM_STRIPE_IMPL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "http/server.h"
#include "sim/stripe.h"

#define STRIPE_MAX_OBJECTS    50000 /* objects and events, all kinds together */
#define STRIPE_MAX_REQUESTS   1000  /* API requests remembered */
#define STRIPE_MAX_ATTEMPTS   2000  /* delivery attempts remembered */
#define STRIPE_MAX_QUEUE      10000 /* deliveries waiting */
#define STRIPE_MAX_IDEM       10000 /* idempotency keys remembered */
#define STRIPE_MAX_IDEM_KEY   255
#define STRIPE_MAX_SAVED      (256u << 10) /* bytes of an answer kept for replays */
#define STRIPE_MAX_RECORDED   (16u << 10)  /* bytes of a body whose tree is recorded */
#define STRIPE_MAX_ANSWER     1024         /* bytes of a webhook answer recorded */
#define STRIPE_MAX_URL        2048
#define STRIPE_MAX_SECRET     256
#define STRIPE_MAX_EXPAND     20
#define STRIPE_NEW_VERSION    "2026-07-29.dahlia"
#define STRIPE_OLD_VERSION    "2024-06-20"
#define STRIPE_LAYOUT_CUTOFF  "2025-03-31" /* versions before it: the old layout */
#define STRIPE_DEFAULT_SECRET "whsec_herald_sim_0123456789abcdef"
#define STRIPE_DEFAULT_STALE  600 /* seconds a stale signature is old */

enum stripe_layout { STRIPE_LAYOUT_NEW, STRIPE_LAYOUT_OLD };

/* How a delivery is signed. */
enum stripe_sig {
	STRIPE_SIG_VALID,
	STRIPE_SIG_WRONG_SECRET, /* with another secret */
	STRIPE_SIG_STALE,        /* valid, but t is stale_s seconds old */
	STRIPE_SIG_NONE,         /* no Stripe-Signature header */
};

/* How the events of one call are delivered. */
struct stripe_dopts {
	bool twice;   /* each event twice, one after the other */
	bool reverse; /* the call's events in reverse order */
	bool hold;    /* queued, but sent only when released */
	enum stripe_sig sig;
	int64_t stale_s;
};

struct stripe_item {
	uint64_t seq; /* of the delivery, shown in the attempts */
	char event_id[64];
	char type[64];
	char *body; /* the exact bytes signed and sent */
	bool held;
	int copy;           /* 1, or 2 for the second of "twice" */
	int attempt;        /* tries so far */
	int64_t next_at_ms; /* monotonic */
	enum stripe_sig sig;
	int64_t stale_s;
};

struct sim_stripe {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	bool stopping;
	atomic_bool cancel; /* abandons an attempt in flight when stopping */
	pthread_t thread;
	bool thread_started;

	char *start_key, *start_url, *start_secret; /* the options, for reset */

	char *key;
	char *webhook_url; /* NULL: events are kept, not sent */
	char *webhook_secret;
	char *checkout_base; /* NULL: from the Host of the creating request */
	enum stripe_layout layout;
	char api_version[64];   /* of events and of requests without Stripe-Version */
	json_t *enabled_events; /* array of types, or ["*"] */
	struct stripe_dopts dopts;
	int64_t retry_base_ms, retry_max_ms, timeout_ms;
	int max_attempts;
	int64_t clock_offset_s;

	json_t *objs;       /* id -> object */
	json_t *order;      /* object kind -> array of ids, oldest first */
	json_t *idem;       /* "<method> <path> <key>" -> saved answer */
	json_t *idem_order; /* the keys of idem, oldest first */
	json_t *requests;   /* API requests, oldest first */
	json_t *attempts;   /* delivery attempts, oldest first */
	struct stripe_item *queue;
	size_t nqueue;
	uint64_t next_seq;
	int64_t delivered, failed, given_up;
	uint64_t invoice_number;
};

/* One call that may change the world: an API request or a control call. */
struct stripe_cx {
	struct sim_stripe *st;
	enum stripe_layout layout; /* of the answer */
	const char *version;       /* the API version of the answer */
	const char *req_id;        /* "req_..." for API requests, else NULL */
	const char *idem_key;      /* NULL when none */
	const char *host;          /* the request's Host, for checkout URLs; may be NULL */
	json_t *p;                 /* parameters (borrowed); an object */
	int status;                /* of the answer */
	json_t *out;               /* the answer (owned) */
	json_t *events;            /* ids of the events this call emitted */
	struct stripe_dopts d;
};

/* A test card (protocols.md B.15). */
enum stripe_card_kind { CARD_OK, CARD_DECLINE, CARD_INVALID, CARD_CHARGE_FAILS };
struct stripe_card {
	const char *number;
	enum stripe_card_kind kind;
	const char *brand;
	const char *code;         /* card_declined, expired_card, ... */
	const char *decline_code; /* NULL when Stripe sends none */
	const char *message;
};

/* stripe.c: the world. All with mu held. */
struct sim_stripe *stripe_of(struct http_req *r);
void stripe_cx_init(struct stripe_cx *cx, struct sim_stripe *st);
void stripe_cx_release(struct stripe_cx *cx);
int64_t stripe_now(const struct sim_stripe *st); /* the simulator's clock, Unix s */
/* A new id: prefix and n random letters and digits. */
void stripe_id(struct sim_stripe *st, const char *prefix, size_t n, char *out, size_t outsz);
/* The object with this id (and of this kind unless kind is NULL); borrowed. */
json_t *stripe_get(struct sim_stripe *st, const char *id, const char *kind);
/* Keep o (stolen), indexed by its id and listed under its "object" kind.
 * -ERR_TOO_BIG (and o freed) when the simulator is full. */
int stripe_put(struct sim_stripe *st, json_t *o) WUR;
/* The ids of a kind, oldest first; borrowed, never NULL. */
json_t *stripe_ids(struct sim_stripe *st, const char *kind);
/* The view of o for a layout: a new reference without "_sim". */
json_t *stripe_render(struct sim_stripe *st, const json_t *o, enum stripe_layout layout,
                      const char *version);
/* Record an event about o (a snapshot is taken) with previous attributes
 * in both layouts (stolen, may be NULL); queued for delivery at the end of
 * the call by stripe_cx_finish. */
void stripe_emit(struct stripe_cx *cx, const char *type, const json_t *o, json_t *prev_new,
                 json_t *prev_old);
/* Queue the call's events for delivery with cx->d; wakes the thread. */
void stripe_cx_finish(struct stripe_cx *cx);
/* Set the answer to a Stripe error object. param and code may be NULL. */
void stripe_error(struct stripe_cx *cx, int status, const char *type, const char *code,
                  const char *param, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Set a JSON string member, cutting at max bytes on a character boundary. */
void stripe_set_str(json_t *o, const char *key, const char *s);
/* enum stripe_layout of an API version string; -1 when malformed. */
int stripe_layout_of(const char *version);
const char *stripe_sig_name(enum stripe_sig s);
int stripe_sig_parse(const char *name, enum stripe_sig *s);
/* Forget every object, event, request, delivery and key. */
void stripe_world_clear(struct sim_stripe *st);
/* Expire open checkout sessions whose expires_at has passed. */
void stripe_sweep(struct stripe_cx *cx);

/* stripe_ops.c: parameters. Each returns false after setting cx's error;
 * param is the parameter's full name for the error ("line_items[0][price]"). */
/* A string member key of o; *out NULL when absent. */
bool stripe_p_str(struct stripe_cx *cx, const json_t *o, const char *key, const char *param,
                  const char **out);
/* A string that must be present and not empty. */
bool stripe_p_req(struct stripe_cx *cx, const json_t *o, const char *key, const char *param,
                  const char **out);
/* An integer in [min, max]; *present false (and *v untouched) when absent. */
bool stripe_p_int(struct stripe_cx *cx, const json_t *o, const char *key, const char *param,
                  int64_t min, int64_t max, int64_t *v, bool *present);
bool stripe_p_bool(struct stripe_cx *cx, const json_t *o, const char *key, const char *param,
                   bool *v, bool *present);
/* Every member of o is one of allowed (NULL terminated); prefix names o. */
bool stripe_p_known(struct stripe_cx *cx, const json_t *o, const char *const *allowed,
                    const char *prefix);
/* The number of decimals of a currency (0 for jpy, krw, ...; else 2). */
int stripe_decimals(const char *currency);
/* "$9.99", "9.99 EUR", "500 JPY" */
void stripe_money(int64_t amount, const char *currency, char *out, size_t outsz);

/* stripe_ops.c: what changes the world, for the API, the control API and
 * the hosted page. Each sets cx->status and cx->out. */
const struct stripe_card *stripe_card_find(const char *number);
void stripe_checkout_create(struct stripe_cx *cx);
void stripe_checkout_expire(struct stripe_cx *cx, json_t *session);
/* Pay an open session with a card: cx->out gets the session on success and
 * 402 with the card error on a decline. email may be NULL. */
void stripe_checkout_pay(struct stripe_cx *cx, json_t *session, const char *card,
                         const char *email);
/* Charge the next period or retry the open invoice. fail: decline even a
 * good card with decline_code (NULL: generic_decline); card: a new card
 * for the customer (NULL: keep). */
void stripe_renew(struct stripe_cx *cx, json_t *sub, bool fail, const char *decline_code,
                  const char *card);
void stripe_sub_update(struct stripe_cx *cx, json_t *sub);
/* when: "now", "period_end" or "resume". */
void stripe_sub_cancel(struct stripe_cx *cx, json_t *sub, const char *when, const char *reason);
void stripe_refund_create(struct stripe_cx *cx);
void stripe_customer_create(struct stripe_cx *cx);
void stripe_customer_update(struct stripe_cx *cx, json_t *cus);
void stripe_customer_delete(struct stripe_cx *cx, json_t *cus);
/* Apply metadata parameters to o's metadata; false with cx's error set. */
bool stripe_metadata_apply(struct stripe_cx *cx, json_t *o, const json_t *given, const char *param);

/* stripe_api.c */
int sim_stripe_api(struct http_req *r);

/* stripe_page.c: the hosted checkout page and a plain invoice page. */
int stripe_page_get(struct http_req *r);
int stripe_page_post(struct http_req *r);
int stripe_page_invoice(struct http_req *r);

/* stripe_hook.c */
void *stripe_hook_main(void *arg);
/* Queue the delivery of an event (body is copied). With mu held. */
void stripe_hook_queue(struct sim_stripe *st, const char *event_id, const char *type,
                       const char *body, const struct stripe_dopts *d, int copy);
/* Send the held deliveries (in reverse order when asked); how many. */
size_t stripe_hook_release(struct sim_stripe *st, bool reverse);
void stripe_hook_clear(struct sim_stripe *st);

#endif
