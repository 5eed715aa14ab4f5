/*
 * Fuzz the webhook checks of billing/sig with what an attacker controls.
 * The input, copied into a buffer of exactly its size (so ASan sees any
 * read past it), is tried as a Stripe-Signature header and as a Payme
 * Authorization value: each is refused with one of the documented codes
 * and a message naming no secret, and a forged Stripe header never passes.
 * Then the round trips: a Stripe header signed over the input as body, and
 * Basic credentials made of the input as key, are accepted; the input cut
 * into Click fields verifies against the sign computed for it.
 */
#include <assert.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "billing/sig.h"

#define SECRET "whsec_fuzz_secret"
#define KEY    "0123456789abcdefghijklmnopqrstuvwxyz"
#define BODY   "{\"id\":\"evt_fuzz\"}"
#define NOW    1700000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void refused(int rc, const struct err *e, const int *allowed, size_t n)
{
	bool found = false;

	for (size_t i = 0; i < n; i++)
		found |= rc == allowed[i];
	assert(found);
	assert(e->code == -rc && e->msg[0]);
	assert(!strstr(e->msg, SECRET) && !strstr(e->msg, KEY));
}

static void stripe(const char *in, size_t size)
{
	static const int codes[] = {-ERR_NOT_FOUND, -ERR_INVALID, -ERR_TOO_BIG, -ERR_AUTH,
	                            -ERR_TIMEOUT};
	char h[SIG_STRIPE_SIGNED_MAX];
	struct err e = {0};
	int rc;

	/* Bytes alone cannot carry the HMAC of a body they do not know. */
	rc = sig_stripe_verify(in, size, BODY, strlen(BODY), SECRET, NOW, SIG_STRIPE_TOLERANCE, &e);
	refused(rc, &e, codes, sizeof(codes) / sizeof(codes[0]));
	sig_stripe_sign(SECRET, NOW, in, size, h, sizeof(h));
	rc = sig_stripe_verify(h, strlen(h), in, size, SECRET, NOW, SIG_STRIPE_TOLERANCE, &e);
	assert(rc == 0);
	rc = sig_stripe_verify(h, strlen(h), in, size, SECRET, NOW + SIG_STRIPE_TOLERANCE + 1,
	                       SIG_STRIPE_TOLERANCE, &e);
	assert(rc == -ERR_TIMEOUT);
}

static void payme(const char *in, size_t size)
{
	static const int codes[] = {-ERR_NOT_FOUND, -ERR_INVALID, -ERR_TOO_BIG, -ERR_AUTH};
	unsigned char plain[7 + 300], token[sizeof(plain) / 3 * 4 + 8];
	char authz[sizeof(token) + 8], key[301];
	struct err e = {0};
	int rc, n;

	rc = sig_payme_auth(in, size, SIG_PAYME_LOGIN, KEY, &e);
	if (rc)
		refused(rc, &e, codes, sizeof(codes) / sizeof(codes[0]));
	/* The input as a key (if it is one: no NUL, not empty, short enough). */
	if (!size || size > 300 || memchr(in, '\0', size))
		return;
	memcpy(key, in, size);
	key[size] = '\0';
	memcpy(plain, "Paycom:", 7);
	memcpy(plain + 7, in, size);
	n = EVP_EncodeBlock(token, plain, (int)(7 + size));
	assert(n > 0 && (size_t)n < sizeof(token));
	memcpy(authz, "Basic ", 6);
	memcpy(authz + 6, token, (size_t)n);
	rc = sig_payme_auth(authz, 6 + (size_t)n, SIG_PAYME_LOGIN, key, &e);
	assert(rc == 0);
	rc = sig_payme_auth(authz, 6 + (size_t)n, SIG_PAYME_LOGIN, KEY, &e);
	assert(rc == (strcmp(key, KEY) ? -ERR_AUTH : 0));
}

/* Cut the input at '|' into the seven fields and the sign of a Click request. */
static void click(const char *in, size_t size)
{
	static const int codes[] = {-ERR_NOT_FOUND, -ERR_INVALID, -ERR_TOO_BIG, -ERR_AUTH};
	struct sig_click f;
	struct str rest = {in, size}, *parts[] = {&f.click_trans_id,
	                                          &f.service_id,
	                                          &f.merchant_trans_id,
	                                          &f.merchant_prepare_id,
	                                          &f.amount,
	                                          &f.action,
	                                          &f.sign_time},
	           sign;
	char expected[CRYPTO_MD5_HEX];
	struct err e = {0};
	int rc;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		str_split(&rest, '|', parts[i]);
	sign = rest;
	rc = sig_click_verify(&f, sign, "SECRETKEY", &e);
	if (rc)
		refused(rc, &e, codes, sizeof(codes) / sizeof(codes[0]));
	if (!str_eqc(f.action, "0") && !str_eqc(f.action, "1"))
		return;
	if (str_eqc(f.action, "0"))
		sig_click_prepare(&f, "SECRETKEY", expected);
	else
		sig_click_complete(&f, "SECRETKEY", expected);
	rc = sig_click_verify(&f, (struct str){expected, 32}, "SECRETKEY", &e);
	assert(rc == 0 || rc == -ERR_TOO_BIG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size ? size : 1);

	assert(in);
	if (size)
		memcpy(in, data, size);
	stripe(in, size);
	payme(in, size);
	click(in, size);
	free(in);
	return 0;
}
