/*
 * billing/sig: the authentication checks of the payment webhooks, as pure
 * functions over bytes (protocols.md B.13, C.1, D.4).
 *
 * Every check takes explicit lengths, reads nothing past them, allocates
 * nothing and compares secrets in constant time. Return codes are shared by
 * the three providers, so a handler can log why a request was refused:
 *
 *   0               authentic
 *   -ERR_NOT_FOUND  nothing to check: no header, no v1 signature, no sign
 *   -ERR_INVALID    malformed: cannot be parsed as the scheme requires
 *   -ERR_TOO_BIG    an input is longer than the bound named below
 *   -ERR_TIMEOUT    Stripe only: authentic, but the timestamp is outside
 *                   the tolerance (a replay, or a clock far off)
 *   -ERR_AUTH       well formed, but the signature or credentials are wrong
 *   -ERR_INTERNAL   our own secret is empty (a configuration error)
 *
 * On failure e (if not NULL) gets the code and a lower-case message that
 * names no secret and quotes no signature or credential.
 */
#ifndef HERALD_BILLING_SIG_H
#define HERALD_BILLING_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/crypto.h"
#include "lib/err.h"
#include "lib/str.h"

#define SIG_STRIPE_TOLERANCE  300  /* seconds, Stripe's default, old and future */
#define SIG_STRIPE_HEADER_MAX 2048 /* longest Stripe-Signature we parse */
#define SIG_STRIPE_SIGNED_MAX 96   /* "t=<19 digits>,v1=<64 hex>" and a NUL fit */

/*
 * Verify a Stripe-Signature header (header, hlen) over the raw request body
 * (body, blen) with the endpoint secret (the whole "whsec_..." string, used
 * as the HMAC key as it is).
 *
 * The header is items separated by ',', each "key=value"; spaces around
 * items, keys and values and empty items are ignored; unknown keys (v0, a
 * future scheme) are ignored. Exactly one t is required: decimal digits
 * without a sign or leading zeros (a second t is malformed: which one was
 * signed?). Every v1 is tried and any match wins (secret rotation).
 * expected = lower-case hex HMAC-SHA256(secret, t "." body); a v1 in upper
 * case does not match, as with Stripe's own libraries.
 *
 * The signature is checked before the time, as Stripe's libraries do, so
 * -ERR_TIMEOUT is only reported for an authentic event. The event is
 * refused when now_s - t > tolerance_s (too old) or t - now_s > tolerance_s
 * (too far in the future); exactly tolerance_s either way is accepted.
 *
 * Bounds: hlen <= SIG_STRIPE_HEADER_MAX (else -ERR_TOO_BIG); any blen (the
 * HTTP layer bounds bodies); now_s >= 0 and tolerance_s >= 0 (asserted).
 * Codes: -ERR_NOT_FOUND for an empty header or one without v1,
 * -ERR_INVALID for an item without '=', no t, a second t, a t that is not
 * canonical digits; -ERR_AUTH when no v1 matches; -ERR_TIMEOUT; -ERR_TOO_BIG;
 * -ERR_INTERNAL for an empty secret.
 */
int sig_stripe_verify(const char *header, size_t hlen, const char *body, size_t blen,
                      const char *secret, int64_t now_s, int64_t tolerance_s, struct err *e) WUR;

/*
 * Write the Stripe-Signature header Stripe would send for body at time t
 * (seconds, >= 0) signed with secret: "t=<t>,v1=<hex>", NUL terminated,
 * into out; outsz must be at least SIG_STRIPE_SIGNED_MAX (asserted). For
 * tests and the Stripe simulator.
 */
void sig_stripe_sign(const char *secret, int64_t t, const char *body, size_t blen, char *out,
                     size_t outsz);

#define SIG_PAYME_LOGIN    "Paycom" /* the Basic login of every Payme integration */
#define SIG_PAYME_AUTH_MAX 512      /* longest Authorization header we parse */

/*
 * Check Payme's "Authorization: Basic base64(login:key)" header value
 * (authz, alen) against the expected login (SIG_PAYME_LOGIN) and the
 * cashbox key (or TEST_KEY in the sandbox).
 *
 * Spaces around the value and between scheme and token are ignored; the
 * scheme is matched without regard to case; the token is standard padded
 * base64 (RFC 4648 section 4). The decoded text is split at the first ':',
 * so a key may itself contain ':'. Login and key are both compared, in
 * constant time, whatever the first comparison found.
 *
 * Bounds: alen <= SIG_PAYME_AUTH_MAX (else -ERR_TOO_BIG).
 * Codes: -ERR_NOT_FOUND for an empty or blank value; -ERR_INVALID for
 * another scheme, no token, bad base64, no ':'; -ERR_AUTH for a wrong login
 * or key; -ERR_INTERNAL for an empty expected key. Payme wants all of them
 * answered with -32504.
 */
int sig_payme_auth(const char *authz, size_t alen, const char *login, const char *key,
                   struct err *e) WUR;

#define SIG_CLICK_FIELD_MAX 256 /* longest field sig_click_verify accepts */

/*
 * The fields of a Click SHOP API request that its sign_string covers, each
 * exactly as received (the form-decoded string: "50000.00" stays so).
 * merchant_prepare_id is only part of a Complete (action "1").
 */
struct sig_click {
	struct str click_trans_id;
	struct str service_id;
	struct str merchant_trans_id;
	struct str merchant_prepare_id;
	struct str amount;
	struct str action;
	struct str sign_time;
};

/*
 * The sign_string of a Prepare, lower-case hex into out:
 * md5(click_trans_id service_id SECRET merchant_trans_id amount action
 * sign_time), with no separators. merchant_prepare_id is not used.
 */
void sig_click_prepare(const struct sig_click *f, const char *secret, char out[CRYPTO_MD5_HEX]);

/*
 * The sign_string of a Complete, lower-case hex into out:
 * md5(click_trans_id service_id SECRET merchant_trans_id merchant_prepare_id
 * amount action sign_time), with no separators.
 */
void sig_click_complete(const struct sig_click *f, const char *secret, char out[CRYPTO_MD5_HEX]);

/*
 * Check the received sign_string against f with the service's secret. The
 * formula follows f->action as received: "0" is a Prepare, "1" a Complete.
 * Click documents lower-case hex; the same digest in upper or mixed case is
 * accepted too (it is the same 128 bits, and costs an attacker nothing).
 *
 * Bounds: every field of f and sign at most SIG_CLICK_FIELD_MAX bytes.
 * Codes: -ERR_NOT_FOUND for an empty sign; -ERR_INVALID for an action other
 * than "0" or "1" (Click's -3); -ERR_AUTH for a sign that does not match
 * (Click's -1); -ERR_TOO_BIG; -ERR_INTERNAL for an empty secret.
 */
int sig_click_verify(const struct sig_click *f, struct str sign, const char *secret,
                     struct err *e) WUR;

#endif
