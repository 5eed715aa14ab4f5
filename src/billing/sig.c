/*
 * billing/sig: webhook authentication for Stripe (HMAC-SHA256 over
 * "t.body"), Payme (HTTP Basic) and Click (MD5 over the raw form fields).
 *
 * Parsing works on slices of the caller's bytes; the only copies are fixed
 * stack buffers (the decoded Basic credentials, wiped afterwards, and a
 * case-folded copy of Click's sign). Secrets are compared with crypto_eq,
 * whose time depends only on the lengths.
 */
#include "billing/sig.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- Stripe ---------------------------------------------------------- */

/*
 * Take the next non-empty item of a Stripe-Signature header from *rest.
 * Returns 1 with *key and *val set, 0 at the end, -1 for an item without '='.
 */
static int stripe_next(struct str *rest, struct str *key, struct str *val)
{
	struct str item;

	while (rest->len) {
		str_split(rest, ',', &item);
		item = str_trim(item);
		if (!item.len)
			continue;
		if (!str_split(&item, '=', key))
			return -1;
		*key = str_trim(*key);
		*val = str_trim(item);
		return 1;
	}
	return 0;
}

/* Decimal digits without sign or leading zero, within int64_t. */
static bool stripe_time(struct str s, int64_t *t)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	if (s.len > 1 && s.p[0] == '0')
		return false;
	return str_to_i64(s, 0, INT64_MAX, t) == 0;
}

/* Lower-case hex HMAC-SHA256(secret, tdigits "." body). */
static void stripe_expected(const char *secret, struct str tdigits, const char *body, size_t blen,
                            char out[CRYPTO_SHA256_HEX])
{
	struct str parts[] = {tdigits, STR_LIT("."), {body, blen}};

	crypto_hmac_sha256_hex(str_c(secret), parts, 3, out);
}

int sig_stripe_verify(const char *header, size_t hlen, const char *body, size_t blen,
                      const char *secret, int64_t now_s, int64_t tolerance_s, struct err *e)
{
	struct str h = {header, hlen}, rest, key, val, tdigits = {NULL, 0};
	char expected[CRYPTO_SHA256_HEX];
	bool have_t = false, matched = false;
	size_t nv1 = 0;
	int64_t t = 0;
	int r;

	assert(now_s >= 0 && tolerance_s >= 0);
	if (!secret || !secret[0])
		return err_set(e, ERR_INTERNAL, "stripe webhook secret is not set");
	if (hlen > SIG_STRIPE_HEADER_MAX)
		return err_set(e, ERR_TOO_BIG, "stripe-signature is longer than %d bytes",
		               SIG_STRIPE_HEADER_MAX);
	h = str_trim(h);
	if (!h.len)
		return err_set(e, ERR_NOT_FOUND, "stripe-signature header is missing");

	rest = h;
	while ((r = stripe_next(&rest, &key, &val)) > 0) {
		if (str_eqc(key, "t")) {
			if (have_t)
				return err_set(e, ERR_INVALID,
				               "stripe-signature is malformed: more than one t");
			if (!stripe_time(val, &t))
				return err_set(
				    e, ERR_INVALID,
				    "stripe-signature is malformed: t is not a unix time");
			have_t = true;
			tdigits = val;
		} else if (str_eqc(key, "v1")) {
			nv1++;
		}
	}
	if (r < 0)
		return err_set(e, ERR_INVALID, "stripe-signature is malformed: an item has no '='");
	if (!have_t)
		return err_set(e, ERR_INVALID, "stripe-signature is malformed: no timestamp");
	if (!nv1)
		return err_set(e, ERR_NOT_FOUND, "stripe-signature has no v1 signature");

	stripe_expected(secret, tdigits, body, blen, expected);
	rest = h;
	while (stripe_next(&rest, &key, &val) > 0)
		if (str_eqc(key, "v1"))
			matched |= crypto_eq(val.p, val.len, expected, CRYPTO_SHA256_HEX - 1);
	if (!matched)
		return err_set(e, ERR_AUTH, "stripe-signature: none of %zu v1 signatures matches",
		               nv1);

	/* Both sides are >= 0, so neither difference can overflow. */
	if (now_s > t && now_s - t > tolerance_s)
		return err_set(e, ERR_TIMEOUT,
		               "stripe-signature timestamp is %lld s old (tolerance %lld s)",
		               (long long)(now_s - t), (long long)tolerance_s);
	if (t > now_s && t - now_s > tolerance_s)
		return err_set(
		    e, ERR_TIMEOUT,
		    "stripe-signature timestamp is %lld s in the future (tolerance %lld s)",
		    (long long)(t - now_s), (long long)tolerance_s);
	return 0;
}

void sig_stripe_sign(const char *secret, int64_t t, const char *body, size_t blen, char *out,
                     size_t outsz)
{
	char tbuf[24], hex[CRYPTO_SHA256_HEX];
	int n;

	assert(secret && t >= 0 && outsz >= SIG_STRIPE_SIGNED_MAX);
	n = snprintf(tbuf, sizeof(tbuf), "%lld", (long long)t);
	assert(n > 0 && (size_t)n < sizeof(tbuf));
	stripe_expected(secret, (struct str){tbuf, (size_t)n}, body, blen, hex);
	n = snprintf(out, outsz, "t=%s,v1=%s", tbuf, hex);
	assert(n > 0 && (size_t)n < outsz);
}

/* ---- Payme ----------------------------------------------------------- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode standard padded base64 s into out (outsz >= s.len / 4 * 3).
 * Returns the decoded length, or -1 for a length that is not a multiple of
 * four, a character outside the alphabet, or '=' anywhere but in the last
 * two places.
 */
static long b64_decode(struct str s, unsigned char *out, size_t outsz)
{
	size_t o = 0, pad = 0;

	if (s.len == 0 || s.len % 4)
		return -1;
	assert(outsz >= s.len / 4 * 3);
	if (s.p[s.len - 1] == '=')
		pad = s.p[s.len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < s.len; i += 4) {
		bool last = i + 4 == s.len;
		unsigned v = 0;

		for (size_t j = 0; j < 4; j++) {
			int d;

			if (last && j >= 4 - pad) {
				d = 0;
			} else {
				d = b64_value((unsigned char)s.p[i + j]);
				if (d < 0)
					return -1;
			}
			v = v << 6 | (unsigned)d;
		}
		out[o++] = (unsigned char)(v >> 16);
		if (!last || pad < 2)
			out[o++] = (unsigned char)(v >> 8);
		if (!last || pad < 1)
			out[o++] = (unsigned char)v;
	}
	return (long)o;
}

int sig_payme_auth(const char *authz, size_t alen, const char *login, const char *key,
                   struct err *e)
{
	unsigned char plain[SIG_PAYME_AUTH_MAX / 4 * 3];
	struct str v = {authz, alen}, scheme, got_login, got_key;
	const char *colon;
	long n;
	bool ok;
	int rc;

	assert(login);
	if (!key || !key[0])
		return err_set(e, ERR_INTERNAL, "payme key is not set");
	if (alen > SIG_PAYME_AUTH_MAX)
		return err_set(e, ERR_TOO_BIG, "payme authorization is longer than %d bytes",
		               SIG_PAYME_AUTH_MAX);
	v = str_trim(v);
	if (!v.len)
		return err_set(e, ERR_NOT_FOUND, "payme authorization header is missing");
	/* The scheme ends at the first space or tab; str_trim drops the rest. */
	scheme = v;
	for (size_t i = 0; i < v.len; i++)
		if (v.p[i] == ' ' || v.p[i] == '\t') {
			scheme.len = i;
			break;
		}
	if (!str_case_eq(scheme, "Basic"))
		return err_set(e, ERR_INVALID, "payme authorization is not basic");
	v.p += scheme.len;
	v.len -= scheme.len;
	v = str_trim(v);
	if (!v.len)
		return err_set(e, ERR_INVALID, "payme authorization has no credentials");
	n = b64_decode(v, plain, sizeof(plain));
	if (n < 0)
		return err_set(e, ERR_INVALID, "payme authorization is not valid base64");

	colon = memchr(plain, ':', (size_t)n);
	if (!colon) {
		rc =
		    err_set(e, ERR_INVALID, "payme authorization has no ':' between login and key");
		goto out;
	}
	got_login = (struct str){(const char *)plain, (size_t)(colon - (const char *)plain)};
	got_key = (struct str){colon + 1, (size_t)n - got_login.len - 1};
	/* Both comparisons run, so the time does not tell which one failed. */
	ok = crypto_eq(got_login.p, got_login.len, login, strlen(login));
	ok &= crypto_eq(got_key.p, got_key.len, key, strlen(key));
	rc = ok ? 0 : err_set(e, ERR_AUTH, "payme authorization has a wrong login or key");
out:
	OPENSSL_cleanse(plain, sizeof(plain));
	return rc;
}

/* ---- Click ----------------------------------------------------------- */

void sig_click_prepare(const struct sig_click *f, const char *secret, char out[CRYPTO_MD5_HEX])
{
	struct str parts[] = {f->click_trans_id, f->service_id, str_c(secret), f->merchant_trans_id,
	                      f->amount,         f->action,     f->sign_time};

	crypto_md5_hex(parts, sizeof(parts) / sizeof(parts[0]), out);
}

void sig_click_complete(const struct sig_click *f, const char *secret, char out[CRYPTO_MD5_HEX])
{
	struct str parts[] = {
	    f->click_trans_id,      f->service_id, str_c(secret), f->merchant_trans_id,
	    f->merchant_prepare_id, f->amount,     f->action,     f->sign_time};

	crypto_md5_hex(parts, sizeof(parts) / sizeof(parts[0]), out);
}

int sig_click_verify(const struct sig_click *f, struct str sign, const char *secret, struct err *e)
{
	const struct str *fields[] = {
	    &f->click_trans_id, &f->service_id, &f->merchant_trans_id, &f->merchant_prepare_id,
	    &f->amount,         &f->action,     &f->sign_time,         &sign};
	char expected[CRYPTO_MD5_HEX], folded[SIG_CLICK_FIELD_MAX];

	if (!secret || !secret[0])
		return err_set(e, ERR_INTERNAL, "click secret key is not set");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i]->len > SIG_CLICK_FIELD_MAX)
			return err_set(e, ERR_TOO_BIG, "click field is longer than %d bytes",
			               SIG_CLICK_FIELD_MAX);
	if (!sign.len)
		return err_set(e, ERR_NOT_FOUND, "click request has no sign_string");
	if (str_eqc(f->action, "0"))
		sig_click_prepare(f, secret, expected);
	else if (str_eqc(f->action, "1"))
		sig_click_complete(f, secret, expected);
	else
		return err_set(e, ERR_INVALID, "click action is neither 0 nor 1");
	/* The received sign is public; folding its case may branch on it. */
	for (size_t i = 0; i < sign.len; i++)
		folded[i] = sign.p[i] >= 'A' && sign.p[i] <= 'F' ? (char)(sign.p[i] - 'A' + 'a')
		                                                 : sign.p[i];
	if (!crypto_eq(folded, sign.len, expected, CRYPTO_MD5_HEX - 1))
		return err_set(e, ERR_AUTH, "click sign_string does not match");
	return 0;
}
