/*
 * payme: the Payme (Paycom) Merchant API that Payme calls (protocols.md
 * part C): JSON-RPC over POST /hooks/payme with Basic auth, every method,
 * every error with ru/uz/en messages, the 12-hour timeout, identical answers
 * to repeats, and the checkout URL the user pays through.
 *
 * The account is {"order_id": "<our order id>"}: an order for a plan made
 * with provider payme, a one-time account (one paid transaction at most).
 * A performed transaction is a payment in the ledger (billing_paid), and a
 * performed one canceled later a full refund (billing_refunded): Payme's
 * CancelTransaction after perform is how the operator refunds through Payme.
 */
#ifndef HERALD_BILLING_PAYME_H
#define HERALD_BILLING_PAYME_H

#include <stddef.h>
#include <stdint.h>

#include "billing/billing.h"

struct app;

#define PAYME_TIMEOUT_MS 43200000LL /* 12 hours after Payme's time */

/*
 * Answer one request: authz is the Authorization header (or NULL), body the
 * raw body, now the product clock. *answer gets the JSON to send with HTTP
 * 200 (xmalloc'd), whatever happened: errors are JSON-RPC errors, -32400 when
 * the store failed.
 */
void payme_handle(struct app *a, const char *authz, const char *body, size_t len, int64_t now,
                  char **answer);

/*
 * The checkout URL for order o (C.8): base + "/" + base64 of
 * "m=<merchant>;ac.order_id=<id>;a=<tiyin>;l=<lang>[;c=<return>]".
 * -ERR_INVALID when Payme is not configured or out is too small.
 */
int payme_checkout_url(const struct app *a, const struct billing_order *o, const char *lang,
                       const char *return_url, char *out, size_t n) WUR;

#endif
