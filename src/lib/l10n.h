/*
 * l10n: numbers and the names of weekdays as a person reads them in their
 * language, from ICU's CLDR data: "12,500" and "6.2%" in English, "12 500"
 * and "6,2 %" in Russian (U+00A0 groups and before the percent sign, a
 * decimal comma), "12 500" and "6,2%" in Uzbek; "Tuesday", "вторник",
 * "seshanba". Languages are en, ru and uz (Latin script); any other reads
 * as en, as text does without a catalog.
 *
 * A struct l10n keeps the ICU formatters of one language open for many
 * numbers (a chart's axis, a summary's lines); it belongs to one thread at
 * a time. Formatters are opened on first use.
 */
#ifndef HERALD_L10N_H
#define HERALD_L10N_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

/* The ICU locale whose number and date formats lang uses: "en", "ru",
 * "uz_Latn" (en for anything else). */
const char *l10n_locale(const char *lang);

struct l10n;

/* Formatters for lang (NULL: en); never fails (allocation aborts). */
struct l10n *l10n_new(const char *lang);
void l10n_free(struct l10n *l);

/*
 * v grouped as the language groups numbers, with exactly digits (0..6)
 * fraction digits, rounded half-even; what rounds to zero shows as 0,
 * without a sign ("0.0", never "-0.0"). Into out (n bytes,
 * UTF-8, NUL terminated): 0, -ERR_INVALID for digits out of range or v not
 * finite, -ERR_TOO_BIG when out is too small, -ERR_INTERNAL if ICU fails;
 * out then holds "" (when n > 0).
 */
int l10n_number(struct l10n *l, double v, int digits, char *out, size_t n) WUR;

/* A percentage: pct (6.2 for 6.2 %) with digits fraction digits and the
 * language's percent sign and spacing. Errors as l10n_number(). */
int l10n_percent(struct l10n *l, double pct, int digits, char *out, size_t n) WUR;

/*
 * The stand-alone name of weekday day (0 = Monday .. 6 = Sunday): short
 * ("Tue", "вт", "Sesh") or wide ("Tuesday", "вторник", "seshanba"), as
 * CLDR writes it (Russian and Uzbek names are lower case). Errors as
 * l10n_number(); -ERR_INVALID for a day out of range.
 */
int l10n_weekday(struct l10n *l, int day, bool wide, char *out, size_t n) WUR;

#endif
