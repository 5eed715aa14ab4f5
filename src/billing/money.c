/*
 * money: formatting through ICU and exact decimal conversions (see money.h
 * for what amounts look like and why).
 *
 * An amount reaches ICU as decimal text built from the integer
 * ("1234.50"), through unum_formatDecimal, so no binary floating point ever
 * touches money. USD and UZS use the locale's currency format with the
 * currency set and the fraction digits fixed; XTR, which ICU does not know,
 * is the locale's plain number after a star. A formatter is opened per call:
 * amounts are shown one message at a time, and nothing global is kept.
 */
#include "billing/money.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unicode/unum.h>
#include <unicode/ustring.h>

#include "lib/l10n.h"
#include "lib/mem.h"

static const struct currency {
	const char *code;
	int digits;
	bool hide_zero_minor; /* whole amounts show no minor digits */
	bool stars;           /* not an ICU currency: "⭐ n" */
} currencies[] = {
    {"USD", 2, false, false},
    {"UZS", 2, true, false},
    {"XTR", 0, false, true},
};

#define UBUF_MAX 128

static const struct currency *currency_of(const char *code)
{
	if (!code)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(currencies); i++)
		if (strcmp(code, currencies[i].code) == 0)
			return &currencies[i];
	return NULL;
}

static uint64_t pow10u(int digits)
{
	uint64_t scale = 1;

	for (int i = 0; i < digits; i++)
		scale *= 10;
	return scale;
}

/* minor as "[-]whole[.frac]" with the currency's digits after the point;
 * no point when it has none, or when hide_zero_minor and they are zero. */
static int decimal_text(int64_t minor, int digits, bool hide_zero_minor, char *out, size_t n)
{
	uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
	uint64_t scale = pow10u(digits);
	uint64_t whole = mag / scale, frac = mag % scale;
	const char *sign = minor < 0 ? "-" : "";
	int w;

	if (digits == 0 || (hide_zero_minor && frac == 0))
		w = snprintf(out, n, "%s%" PRIu64, sign, whole);
	else
		w = snprintf(out, n, "%s%" PRIu64 ".%0*" PRIu64, sign, whole, digits, frac);
	if (w < 0 || (size_t)w >= n) {
		if (n > 0)
			out[0] = '\0';
		return -ERR_TOO_BIG;
	}
	return 0;
}

int money_minor_digits(const char *currency, int *digits)
{
	const struct currency *c = currency_of(currency);

	if (!c)
		return -ERR_INVALID;
	*digits = c->digits;
	return 0;
}

int money_to_major(int64_t minor, const char *currency, char *out, size_t n)
{
	const struct currency *c = currency_of(currency);

	if (!c) {
		if (n > 0)
			out[0] = '\0';
		return -ERR_INVALID;
	}
	return decimal_text(minor, c->digits, false, out, n);
}

/*
 * Format the decimal text dec in locale loc: an amount of cur with frac
 * fraction digits, or a plain number when cur is NULL. Appends to
 * buf from *len; 0 or -ERR_INTERNAL.
 */
static int icu_format(const char *loc, const struct currency *cur, int frac, const char *dec,
                      UChar *buf, int32_t cap, int32_t *len)
{
	UErrorCode st = U_ZERO_ERROR;
	UNumberFormat *nf = unum_open(cur ? UNUM_CURRENCY : UNUM_DECIMAL, NULL, 0, loc, NULL, &st);
	int32_t w;
	int rc = -ERR_INTERNAL;

	if (U_FAILURE(st))
		goto out;
	if (cur) {
		UChar iso[4];

		u_charsToUChars(cur->code, iso, 4);
		unum_setTextAttribute(nf, UNUM_CURRENCY_CODE, iso, 3, &st);
		if (U_FAILURE(st))
			goto out;
	}
	unum_setAttribute(nf, UNUM_MIN_FRACTION_DIGITS, frac);
	unum_setAttribute(nf, UNUM_MAX_FRACTION_DIGITS, frac);
	w = unum_formatDecimal(nf, dec, -1, buf + *len, cap - *len, NULL, &st);
	if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING || w >= cap - *len)
		goto out;
	*len += w;
	rc = 0;
out:
	if (nf)
		unum_close(nf);
	return rc;
}

int money_format(int64_t minor, const char *currency, const char *lang, char *out, size_t n)
{
	const struct currency *c = currency_of(currency);
	char dec[32];
	UChar buf[UBUF_MAX];
	int32_t len = 0, len8 = 0;
	int32_t cap8 = n > INT32_MAX ? INT32_MAX : (int32_t)n;
	UErrorCode st = U_ZERO_ERROR;
	int frac, rc = -ERR_INVALID;

	if (n > 0)
		out[0] = '\0';
	if (!c)
		return rc;
	rc = decimal_text(minor, c->digits, c->hide_zero_minor, dec, sizeof(dec));
	assert(rc == 0); /* 32 bytes hold any int64 with a sign and a point */
	frac = strchr(dec, '.') ? c->digits : 0;
	if (c->stars) {
		buf[len++] = 0x2B50; /* ⭐ */
		buf[len++] = 0x00A0; /* no-break space */
		rc = icu_format(l10n_locale(lang), NULL, 0, dec, buf, UBUF_MAX, &len);
	} else {
		rc = icu_format(l10n_locale(lang), c, frac, dec, buf, UBUF_MAX, &len);
	}
	if (rc)
		return rc;
	u_strToUTF8(out, cap8, &len8, buf, len, &st);
	if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING || len8 >= cap8) {
		if (n > 0)
			out[0] = '\0';
		return st == U_BUFFER_OVERFLOW_ERROR || st == U_STRING_NOT_TERMINATED_WARNING
		           ? -ERR_TOO_BIG
		           : -ERR_INTERNAL;
	}
	return 0;
}

static bool all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int money_parse_major(const char *s, size_t len, const char *currency, int64_t *minor)
{
	const struct currency *c = currency_of(currency);
	const char *dot;
	size_t whole_len, frac_len = 0;
	uint64_t scale, limit, whole = 0, frac = 0;

	if (!c || !s || len == 0 || len > MONEY_TEXT_MAX)
		return -ERR_INVALID;
	dot = memchr(s, '.', len);
	whole_len = dot ? (size_t)(dot - s) : len;
	if (dot)
		frac_len = len - whole_len - 1;
	if (whole_len == 0 || !all_digits(s, whole_len))
		return -ERR_INVALID;
	if (dot && (frac_len == 0 || !all_digits(dot + 1, frac_len)))
		return -ERR_INVALID;
	scale = pow10u(c->digits);
	limit = (uint64_t)INT64_MAX / scale;
	for (size_t i = 0; i < whole_len; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (whole > (limit - d) / 10)
			return -ERR_INVALID;
		whole = whole * 10 + d;
	}
	for (size_t i = 0; i < frac_len; i++) {
		unsigned d = (unsigned)(dot[1 + i] - '0');

		if ((int)i < c->digits)
			frac = frac * 10 + d;
		else if (d != 0)
			return -ERR_INVALID; /* more precision than the currency has */
	}
	for (size_t i = frac_len; (int)i < c->digits; i++)
		frac *= 10;
	if (whole * scale > (uint64_t)INT64_MAX - frac)
		return -ERR_INVALID;
	*minor = (int64_t)(whole * scale + frac);
	return 0;
}
