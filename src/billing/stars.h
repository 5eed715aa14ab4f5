/*
 * stars: Telegram Stars as a billing provider (protocols.md A.8, A.10).
 *
 * An order paid in Stars is an invoice in XTR sent to the user's private
 * chat; its payload, "order:<id>", names the order and is kept as the
 * order's provider_ref. Telegram then asks the bot to confirm
 * (pre_checkout_query, answered within 10 s after stars_pre_checkout), takes
 * the Stars and reports a successful_payment, which stars_paid records in the
 * ledger (the payment id is telegram_payment_charge_id) in one transaction
 * with its provider_events row. A refund is refundStarPayment for the whole
 * payment; the refunded_payment message that follows is recorded by
 * stars_refunded, once whichever comes first.
 *
 * Stars bought this way do not renew on their own: one payment is one
 * period, and the reminder before its end asks for the next (billing.h).
 */
#ifndef HERALD_BILLING_STARS_H
#define HERALD_BILLING_STARS_H

#include <stddef.h>
#include <stdint.h>

#include "billing/billing.h"
#include "billing/checkout.h"

struct app;
struct user;

#define STARS_PAYLOAD_MAX 32 /* bytes of "order:<id>" and its NUL */

/* "order:<id>" into out (n bytes): 0, or -ERR_TOO_BIG. */
int stars_payload(int64_t order_id, char *out, size_t n) WUR;

/* Read a payload of len bytes (not NUL terminated): exactly "order:" and a
 * positive decimal id without sign or leading zeros. 0 and *order_id, or
 * -ERR_INVALID (*order_id untouched). */
int stars_payload_parse(const char *s, size_t len, int64_t *order_id) WUR;

/* What a pre-checkout query may be told. */
enum stars_verdict {
	STARS_OK = 0,
	STARS_NO_ORDER,    /* the payload names no order of ours (or a bad payload) */
	STARS_NOT_YOURS,   /* the order is another user's, or not a Stars order */
	STARS_WRONG_PRICE, /* currency or amount differ from the order's */
	STARS_PAID,        /* paid already */
	STARS_EXPIRED,     /* no longer payable: expired, canceled, refunded */
};

/*
 * The pre-checkout check, pure: order o (NULL when none was found) may be
 * paid by user payer (our user id, 0 when unknown) with total of currency at
 * now. An order is payable while it is pending and now < expires_at.
 */
enum stars_verdict stars_check(const struct billing_order *o, int64_t payer, const char *currency,
                               int64_t total, int64_t now);

/*
 * Look up the order of payload and check it for the Telegram user payer_tg:
 * *v says whether to answer ok. An error only when the store fails.
 */
int stars_pre_checkout(struct app *a, int64_t payer_tg, const char *payload, const char *currency,
                       int64_t total, int64_t now, enum stars_verdict *v, struct err *e) WUR;

/* A successful_payment or refunded_payment as Telegram reported it. */
struct stars_charge {
	int64_t payer_tg;
	const char *payload, *currency;
	const char *charge_id; /* telegram_payment_charge_id */
	int64_t total;
};

/* What became of a successful_payment. */
enum stars_outcome {
	STARS_APPLIED,  /* recorded: the plan is bought (a notice follows) */
	STARS_REPEAT,   /* recorded before: nothing changed */
	STARS_RETURNED, /* it pays for nothing we sell (an order paid already, an
	                   unknown payload, another amount): the Stars went back */
};

/*
 * Record a successful payment: billing_paid for the order of its payload, in
 * one transaction with the provider_events row (stars, charge id). A charge
 * that cannot be applied is refunded at once with refundStarPayment and
 * recorded as such (ef->text says why). A repeat changes nothing. Errors:
 * the store's, and Telegram's transient ones (worth another try).
 */
int stars_paid(struct app *a, const struct stars_charge *ch, int64_t now, enum stars_outcome *out,
               struct billing_effect *ef, struct err *e) WUR;

/*
 * Record a refunded_payment: billing_refunded of the whole charge, once (the
 * event "refund:<charge id>"); a refund of a charge the ledger does not hold
 * as a payment (one stars_paid returned) is recorded and ignored.
 */
int stars_refunded(struct app *a, const struct stars_charge *ch, int64_t now,
                   struct billing_effect *ef, struct err *e) WUR;

/* billing_checkouts[BP_STARS]: send the invoice (a->tg) to u's private chat
 * in lang, set o->provider_ref to its payload and out->invoice_msg. */
billing_checkout_fn stars_checkout;

/* billing_refunders[BP_STARS]: refundStarPayment of the whole payment (a
 * smaller amount is -ERR_UNAVAILABLE: Stars refund in full only), then the
 * refund recorded with billing_refunded. */
billing_refund_fn stars_refund;

#endif
