/*
 * stripe: Herald's Stripe adapter (protocols.md part B; docs/billing.md).
 *
 * Four parts, one header:
 *   - a client of the Stripe API (stripe.c): form encoding with brackets and
 *     indexed arrays, Bearer auth, a pinned Stripe-Version, an
 *     Idempotency-Key on every POST, retries on network errors, 409, 429 and
 *     5xx as Stripe-Should-Retry allows, Stripe's error objects kept for the
 *     caller. Outbound HTTP is a seam (stripe_send_fn), so tests inject a
 *     fake; the secret key is never logged nor put into an error message.
 *   - readers of Stripe objects (stripe_read.c): pure functions that take
 *     the fields Herald uses out of events, Checkout Sessions, invoices,
 *     subscriptions, charges and refunds, from both field layouts (API
 *     versions before 2025-03-31 and after).
 *   - what billing asks of Stripe (stripe_pay.c): a Checkout Session for an
 *     order, cancel at period end, the operator's refund.
 *   - the webhook (stripe_hook.c): POST /hooks/stripe verified, recorded in
 *     provider_events with its effects in one transaction, applied once.
 */
#ifndef HERALD_BILLING_STRIPE_H
#define HERALD_BILLING_STRIPE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "billing/checkout.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/hc.h"

struct app;
struct store;

/*
 * The API version every request pins (Stripe-Version). 2025-11-17.clover
 * is what stripe-node 20 pins; it has the layout of 2025-03-31.basil and
 * later: current_period_* on subscription items, the invoice's subscription
 * under parent.subscription_details and its payments under payments.
 * Webhook payloads come in the endpoint's own version, so the readers take
 * both layouts anyway.
 */
#define STRIPE_API_VERSION "2025-11-17.clover"

#define STRIPE_ID_MAX      256   /* Stripe ids are at most 255 characters */
#define STRIPE_MAX_RETRIES 2     /* retries after the first try */
#define STRIPE_TIMEOUT_MS  15000 /* one try */
#define STRIPE_FORM_MAX    65536 /* bytes of an encoded request */

/* A Stripe error object (B.4), as the caller may show or log it. */
struct stripe_error {
	long status; /* HTTP status; 0 when no answer came */
	char type[40], code[64], decline_code[64], param[128];
	char message[512]; /* Stripe's message; the secret key scrubbed out */
	char request_id[HC_CAPTURE_MAX];
};

/* How a request goes out: hc_do by default. */
typedef int stripe_send_fn(void *ctx, const struct hc_req *rq, struct hc_resp *rs, struct err *e);

struct stripe_client {
	char base[512];       /* API base URL without a trailing '/' */
	const char *key;      /* the secret key (borrowed) */
	stripe_send_fn *send; /* NULL: hc_do */
	void *send_ctx;
	void (*sleep_ms)(int64_t ms); /* between tries; NULL: clock_sleep_ms */
	int max_retries;
	long timeout_ms;
	int64_t backoff_ms; /* before the first retry, doubled each time, at most 8x */
};

/* Defaults for base and key (both borrowed; base is copied). */
void stripe_client_init(struct stripe_client *c, const char *base, const char *key);
/* From the settings: HERALD_STRIPE_API, HERALD_STRIPE_SECRET_KEY. */
void stripe_client_of(struct stripe_client *c, const struct app *a);

/*
 * Call the API: method "GET", "POST" or "DELETE", path under the base
 * ("/v1/checkout/sessions"), params an object (or NULL) sent as a form
 * body for POST and as the query string otherwise. A POST must have an
 * idem_key (asserted): a retry with the same key cannot act twice.
 *
 * On success *out gets the answer (a new reference). Failures: the API's
 * error mapped to our codes (400 -ERR_INVALID, or -ERR_NOT_FOUND for
 * resource_missing and -ERR_CONFLICT for idempotency_error; 401 and 403
 * -ERR_AUTH; 402 -ERR_CONFLICT; 404 -ERR_NOT_FOUND; 409 and 429 -ERR_BUSY;
 * 424 and 5xx -ERR_UNAVAILABLE), -ERR_UNAVAILABLE or -ERR_TIMEOUT when no
 * answer came, -ERR_INTERNAL for an answer that is not JSON, -ERR_TOO_BIG
 * for params that do not fit STRIPE_FORM_MAX. se (may be NULL) gets
 * Stripe's error fields on failure and is zeroed on success.
 */
int stripe_call(struct stripe_client *c, const char *method, const char *path, const json_t *params,
                const char *idem_key, json_t **out, struct stripe_error *se, struct err *e) WUR;

/*
 * GET path with params (borrowed, may be NULL) and expand[0]=expand: the
 * way to read a field Stripe includes only when expanded (an invoice's
 * payments). When the expansion is refused (400 naming the expand
 * parameter: an older API, or a stand-in that always includes the field)
 * the same GET goes again without it. Otherwise as stripe_call.
 */
int stripe_get_expanded(struct stripe_client *c, const char *path, const json_t *params,
                        const char *expand, json_t **out, struct err *e) WUR;

/*
 * Encode params (an object) as Stripe's form (B.2), appending to out:
 * nested objects as key[sub], arrays with indexes key[0], true/false,
 * integers in decimal, null as an empty value; names and values
 * percent-encoded (RFC 3986 unreserved characters stay), brackets left as
 * they are. Members in the object's order; an empty object or array adds
 * nothing. -ERR_INVALID for a real number or a top level that is not an
 * object, -ERR_TOO_BIG when out's bound is hit (out keeps what fit).
 */
int stripe_form_encode(const json_t *params, struct buf *out) WUR;

/* Whether s can be a Stripe id inside a URL path: 1 to 255 of
 * [A-Za-z0-9_]. */
bool stripe_id_ok(const char *s);

/* ---- readers (stripe_read.c): pure, tolerant of missing fields ---------- */

/* An event (B.12); object and previous are borrowed from the event. */
struct stripe_event {
	char id[STRIPE_ID_MAX];
	char type[96];
	char api_version[48];
	int64_t created;        /* Unix seconds */
	const json_t *object;   /* data.object */
	const json_t *previous; /* data.previous_attributes, or NULL */
};
/* -ERR_INVALID unless there is an id (a printable string), a type and
 * data.object. */
int stripe_event_read(const json_t *ev, struct stripe_event *out) WUR;

/* Herald's metadata (order_id, user_id: positive integers, else 0). */
struct stripe_herald_meta {
	int64_t order_id, user_id;
};

struct stripe_session {
	char id[STRIPE_ID_MAX], mode[16], status[16], payment_status[24];
	char subscription[STRIPE_ID_MAX], customer[STRIPE_ID_MAX], invoice[STRIPE_ID_MAX];
	char currency[4]; /* upper case, "" when absent */
	int64_t amount_total;
	int64_t client_user_id; /* client_reference_id as our user id, else 0 */
	struct stripe_herald_meta meta;
};
void stripe_session_read(const json_t *o, struct stripe_session *out);

struct stripe_invoice {
	char id[STRIPE_ID_MAX], status[24], billing_reason[48], currency[4];
	char subscription[STRIPE_ID_MAX], customer[STRIPE_ID_MAX];
	char payment_intent[STRIPE_ID_MAX], charge[STRIPE_ID_MAX];
	int64_t amount_due, amount_paid, attempt_count;
	/* the service period of its subscription line (Unix seconds), 0 0 when
	 * it has none: not the invoice's own period_start/period_end, which on
	 * a renewal is the period that just ended */
	int64_t period_start, period_end;
	struct stripe_herald_meta meta; /* the subscription's metadata */
};
/*
 * subscription: parent.subscription_details.subscription (current) or
 * subscription (old); payment_intent and charge: the paid (else the last)
 * entry of payments.data[].payment (current) or payment_intent and charge
 * (old); metadata: parent.subscription_details.metadata (current),
 * subscription_details.metadata (old), else a subscription line's
 * metadata, else the invoice's. Ids may be expanded objects.
 */
void stripe_invoice_read(const json_t *o, struct stripe_invoice *out);

struct stripe_sub {
	char id[STRIPE_ID_MAX], status[24], customer[STRIPE_ID_MAX], latest_invoice[STRIPE_ID_MAX];
	bool cancel_at_period_end;
	int64_t cancel_at, canceled_at, ended_at;
	/* current_period_* of the subscription (old) or of its items (current:
	 * the earliest start and the latest end among them) */
	int64_t period_start, period_end;
	struct stripe_herald_meta meta;
};
void stripe_sub_read(const json_t *o, struct stripe_sub *out);

struct stripe_charge {
	char id[STRIPE_ID_MAX], payment_intent[STRIPE_ID_MAX], invoice[STRIPE_ID_MAX];
	char customer[STRIPE_ID_MAX], currency[4];
	int64_t amount, amount_refunded;
	bool refunded;
};
/* invoice: only old layouts name it. */
void stripe_charge_read(const json_t *o, struct stripe_charge *out);

struct stripe_refund {
	char id[STRIPE_ID_MAX], status[24], charge[STRIPE_ID_MAX], payment_intent[STRIPE_ID_MAX];
	char invoice[STRIPE_ID_MAX]; /* metadata[herald_invoice] of refunds Herald made */
	char currency[4], reason[40];
	int64_t amount;
};
void stripe_refund_read(const json_t *o, struct stripe_refund *out);

/*
 * Why a payment failed, from a PaymentIntent's last_payment_error (or an
 * error object itself): "code (decline_code): message", or "" when there is
 * none. Always NUL terminates out.
 */
void stripe_failure_text(const json_t *pi_or_error, char *out, size_t n);

/* ---- what billing asks of Stripe (stripe_pay.c) ---------------------------- */

/* billing_checkouts[BP_STRIPE]: a Checkout Session (mode subscription) for
 * the order; out->url the page, o->provider_ref the cs_ id. */
billing_checkout_fn stripe_checkout_start;

/* billing_refunders[BP_STRIPE]: POST /v1/refunds for the payment intent
 * (or charge) of the ledger's invoice, then billing_refunded. A full refund
 * that ends the subscription also ends it at Stripe (a pstop job). */
billing_refund_fn stripe_refund_start;

/*
 * Tell Stripe that subscription psub (ours: id at version) ends at its
 * period's end (cancel_at_period_end=true). The idempotency key names the
 * subscription and its version, so a retry cannot act twice and a later
 * cancel (after a reactivation) is a new request.
 */
int stripe_cancel_at_period_end(struct app *a, const char *psub, int64_t id, int64_t version,
                                struct err *e) WUR;

/*
 * End subscription sub_id (ours) at Stripe now, when it has ended here
 * (expired: refunded in full, replaced by a purchase through another
 * provider, out of grace) while Stripe may still charge or retry the card.
 * Read first, so one Stripe ended itself is left alone; gone at Stripe is
 * done. The pstop job (sched_opts.provider_stop, through
 * billing_provider_stop): -ERR_UNAVAILABLE, -ERR_BUSY and -ERR_TIMEOUT are
 * tried again.
 */
int stripe_end_subscription(struct app *a, int64_t sub_id, struct err *e) WUR;

/* ---- the webhook (stripe_hook.c) -------------------------------------------- */

struct billing_policy;

struct stripe_hook_env {
	struct store *st;
	struct stripe_client *api; /* to re-read objects when order matters */
	const char *secret;        /* the whsec_ endpoint secret */
	int64_t now_s;             /* wall time, for the signature's tolerance */
	int64_t now_ms;            /* the product clock, for the effects */
	const struct billing_policy *pol;
};

struct stripe_hook_result {
	int status;  /* the HTTP status to answer */
	bool repeat; /* the event was recorded before: nothing changed */
	char event_id[STRIPE_ID_MAX], type[96];
	char effect[256]; /* what it did, also kept in provider_events.effect */
	char error[256];  /* why it was refused or failed (no secrets) */
};

/*
 * One delivery to POST /hooks/stripe: sig is the Stripe-Signature header
 * (NULL when absent), body the raw bytes. The signature is checked first
 * (400 when it fails: nothing read, nothing changed); then the event is
 * applied once: its (stripe, event id) row in provider_events is written
 * in the transaction of its effects, and a repeat changes nothing (200).
 * Objects whose order matters are re-read from the API before the
 * transaction. 503 when the store or Stripe cannot be reached (Stripe
 * delivers again), 200 otherwise, also for types Herald ignores.
 */
void stripe_hook_handle(const struct stripe_hook_env *env, const char *sig, const char *body,
                        size_t len, struct stripe_hook_result *res);

#endif
