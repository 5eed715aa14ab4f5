/*
 * click: the Click SHOP API that Click calls (protocols.md part D):
 * Prepare (POST /hooks/click/prepare, action 0) and Complete (POST
 * /hooks/click/complete, action 1), form bodies signed with MD5 over the
 * fields as received, every error code of D.5, idempotent repeats; and the
 * payment URL the user pays through (D.8).
 *
 * merchant_trans_id is our order id (an order made with provider click);
 * merchant_prepare_id and merchant_confirm_id are the click_transactions
 * row. A Complete with error 0 is a payment in the ledger (billing_paid).
 */
#ifndef HERALD_BILLING_CLICK_H
#define HERALD_BILLING_CLICK_H

#include <stddef.h>
#include <stdint.h>

#include "billing/billing.h"
#include "billing/checkout.h"

struct app;

/*
 * Answer one request: action is 0 for the Prepare endpoint and 1 for the
 * Complete endpoint, body the raw form body, now the product clock. *answer
 * gets the JSON to send with HTTP 200 (xmalloc'd) whatever happened; *code is
 * the error it holds (0: success), for the log.
 */
void click_handle(struct app *a, int action, const char *body, size_t len, int64_t now,
                  char **answer, int *code);

/*
 * The payment URL for order o (D.8): base?service_id=&merchant_id=&amount=
 * (so'm with two decimals)&transaction_param=<order id>[&return_url=].
 * -ERR_INVALID when Click is not configured or out is too small.
 */
int click_pay_url(const struct app *a, const struct billing_order *o, const char *return_url,
                  char *out, size_t n) WUR;

/*
 * The operator's refund of a Click payment: the Merchant API's reversal
 * (D.9: DELETE <HERALD_CLICK_API>/payment/reversal/<service>/<payment id>,
 * signed with the Auth header), in full only, then the ledger's refund.
 * The billing_refunders entry for Click.
 */
billing_refund_fn click_refund;

#endif
