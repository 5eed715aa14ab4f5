/*
 * money: amounts in minor units beside an ISO currency code (STYLE.md), shown
 * to people through ICU's number formatting in their language, and
 * converted exactly (no floating point) to and from the decimal text in
 * major units that providers send (Click's amount in so'm).
 *
 * Currencies: USD (2 minor digits, cents), UZS (2, tiyin, as ISO 4217 and
 * Payme count them), XTR (0, whole Telegram Stars). Any other code is
 * refused: a currency we have no prices in is a bug upstream.
 *
 * How amounts read (decided here, asserted by the tests):
 *   - USD always shows its cents: "$9.99", "$10.00" in en; "9,99 $" in ru;
 *     "9,99 US$" in uz (CLDR's symbols).
 *   - UZS is shown in whole so'm, the way prices are written in Uzbekistan
 *     ("120 000 soʻm"), unless the amount has tiyin, which are then shown
 *     ("120 000,50 soʻm"): nothing is ever rounded away. CLDR has a symbol for
 *     so'm only in Uzbek; English and Russian show the code ("UZS 120,000",
 *     "120 000 UZS").
 *   - XTR is "⭐ 250": the star, a no-break space, and the number grouped as
 *     the language groups numbers ("⭐ 1,500" en, "⭐ 1 500" ru and uz). A
 *     star reads the same in every language and needs no plural forms.
 *   - Separators are CLDR's: ru and uz group with U+00A0 (no-break space)
 *     and use a decimal comma; the space between a number and a currency is
 *     U+00A0 too. A negative amount (a refund shown as such) gets ICU's
 *     minus sign ("-$5.00", "⭐ -250").
 * Languages are en, ru, uz (Latin script); any other shows as en, as text
 * does without a catalog.
 */
#ifndef HERALD_BILLING_MONEY_H
#define HERALD_BILLING_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* Longest decimal text money_parse_major() reads. */
#define MONEY_TEXT_MAX 32

/* *digits gets the currency's minor digits (USD 2, UZS 2, XTR 0): 0, or
 * -ERR_INVALID for a code we do not handle. */
int money_minor_digits(const char *currency, int *digits) WUR;

/*
 * Write minor units of currency as a person reads them in lang into out
 * (UTF-8, NUL terminated). 0; -ERR_INVALID for an unknown currency;
 * -ERR_TOO_BIG when out (n bytes) is too small; -ERR_INTERNAL if ICU fails.
 * On failure out holds "" (when n > 0).
 */
int money_format(int64_t minor, const char *currency, const char *lang, char *out, size_t n) WUR;

/*
 * Minor units as plain decimal major units, no grouping, a '.' before the
 * minor digits: 999 USD "9.99", 12000000 UZS "120000.00", 250 XTR "250".
 * Errors and out on failure as money_format().
 */
int money_to_major(int64_t minor, const char *currency, char *out, size_t n) WUR;

/*
 * Read decimal major units (s[0..len), not NUL terminated) into minor units
 * of currency, exactly: "50000" and "50000.00" UZS are 5000000 tiyin,
 * "9.9" USD is 990. Digits with at most one '.', digits on both sides of
 * it; more fraction digits than the currency has only when the extra ones
 * are zeros ("1.500" USD is 150, "1.505" is refused). No sign, spaces or
 * exponent; at most MONEY_TEXT_MAX bytes. 0, or -ERR_INVALID (unknown
 * currency, bad text, or out of range), *minor untouched.
 */
int money_parse_major(const char *s, size_t len, const char *currency, int64_t *minor) WUR;

#endif
