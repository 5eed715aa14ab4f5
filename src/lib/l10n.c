/*
 * l10n: ICU's number formats and weekday names per language (l10n.h). The
 * formatters are opened on first use and kept, with the fraction digits
 * last set, so a run of numbers with the same digits costs ICU one format
 * call each.
 */
#include "lib/l10n.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/udat.h>
#include <unicode/unum.h>
#include <unicode/ustring.h>

#include "lib/mem.h"

#define UTEXT_MAX  128 /* UTF-16 units of one number or name */
#define DIGITS_MAX 6

/* Our language to the ICU locale of its dates and numbers. */
static const char *const locales[][2] = {
    {"en", "en"},
    {"ru", "ru"},
    {"uz", "uz_Latn"},
};

enum { F_NUMBER, F_PERCENT, F_MAX };

struct l10n {
	const char *loc;
	UNumberFormat *nf[F_MAX];
	int digits[F_MAX];
	UDateFormat *symbols; /* for weekday names */
};

const char *l10n_locale(const char *lang)
{
	for (size_t i = 0; lang && i < ARRAY_SIZE(locales); i++)
		if (strcmp(lang, locales[i][0]) == 0)
			return locales[i][1];
	return locales[0][1];
}

struct l10n *l10n_new(const char *lang)
{
	struct l10n *l = xcalloc(1, sizeof(*l));

	l->loc = l10n_locale(lang);
	return l;
}

void l10n_free(struct l10n *l)
{
	if (!l)
		return;
	for (int f = 0; f < F_MAX; f++)
		if (l->nf[f])
			unum_close(l->nf[f]);
	if (l->symbols)
		udat_close(l->symbols);
	free(l);
}

/* UTF-16 from ICU to UTF-8 in out. */
static int to_utf8(const UChar *u, int32_t len, char *out, size_t n)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t w = 0;

	u_strToUTF8(out, (int32_t)n, &w, u, len, &st);
	if (st == U_BUFFER_OVERFLOW_ERROR || (U_SUCCESS(st) && w >= (int32_t)n)) {
		out[0] = '\0';
		return -ERR_TOO_BIG;
	}
	if (U_FAILURE(st)) {
		out[0] = '\0';
		return -ERR_INTERNAL;
	}
	return 0;
}

static int fail(char *out, size_t n, int rc)
{
	if (n > 0)
		out[0] = '\0';
	return rc;
}

static int format(struct l10n *l, int f, double v, int digits, char *out, size_t n)
{
	UErrorCode st = U_ZERO_ERROR;
	UChar u[UTEXT_MAX];
	int32_t len;

	if (n == 0)
		return -ERR_TOO_BIG;
	if (digits < 0 || digits > DIGITS_MAX || !isfinite(v))
		return fail(out, n, -ERR_INVALID);
	if (!l->nf[f]) {
		l->nf[f] = unum_open(f == F_PERCENT ? UNUM_PERCENT : UNUM_DECIMAL, NULL, 0, l->loc,
		                     NULL, &st);
		if (U_FAILURE(st)) {
			l->nf[f] = NULL;
			return fail(out, n, -ERR_INTERNAL);
		}
		l->digits[f] = -1;
	}
	if (digits != l->digits[f]) {
		unum_setAttribute(l->nf[f], UNUM_MIN_FRACTION_DIGITS, digits);
		unum_setAttribute(l->nf[f], UNUM_MAX_FRACTION_DIGITS, digits);
		l->digits[f] = digits;
	}
	/* what rounds to zero is 0, never "-0" or "-0.0" */
	if (fabs(v) * pow(10, digits + (f == F_PERCENT ? 2 : 0)) <= 0.5)
		v = 0;
	len = unum_formatDouble(l->nf[f], v, u, UTEXT_MAX, NULL, &st);
	if (U_FAILURE(st) || len >= UTEXT_MAX)
		return fail(out, n, -ERR_INTERNAL);
	return to_utf8(u, len, out, n);
}

int l10n_number(struct l10n *l, double v, int digits, char *out, size_t n)
{
	return format(l, F_NUMBER, v, digits, out, n);
}

int l10n_percent(struct l10n *l, double pct, int digits, char *out, size_t n)
{
	/* ICU's percent format multiplies by 100 */
	return format(l, F_PERCENT, pct / 100, digits, out, n);
}

int l10n_weekday(struct l10n *l, int day, bool wide, char *out, size_t n)
{
	UErrorCode st = U_ZERO_ERROR;
	UChar u[UTEXT_MAX];
	int32_t len;

	if (n == 0)
		return -ERR_TOO_BIG;
	if (day < 0 || day > 6)
		return fail(out, n, -ERR_INVALID);
	if (!l->symbols) {
		l->symbols = udat_open(UDAT_DEFAULT, UDAT_DEFAULT, l->loc, NULL, 0, NULL, 0, &st);
		if (U_FAILURE(st)) {
			l->symbols = NULL;
			return fail(out, n, -ERR_INTERNAL);
		}
	}
	/* ICU counts weekdays from Sunday = 1. */
	len = udat_getSymbols(l->symbols,
	                      wide ? UDAT_STANDALONE_WEEKDAYS : UDAT_STANDALONE_SHORT_WEEKDAYS,
	                      (day + 1) % 7 + 1, u, UTEXT_MAX, &st);
	if (U_FAILURE(st) || len >= UTEXT_MAX)
		return fail(out, n, -ERR_INTERNAL);
	return to_utf8(u, len, out, n);
}
