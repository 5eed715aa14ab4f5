/*
 * i18n: user-facing text in English, Russian and Uzbek (Latin script).
 *
 * Translations are standard gettext catalogs (po/<lang>.po, compiled by
 * msgfmt at build time and embedded in the binary). Lookups take the
 * language explicitly, because each update is answered in its own user's
 * language, on whichever thread handles it. Plural forms follow each
 * catalog's Plural-Forms expression. English is the source language: an
 * unknown message id, or a language without a catalog, gives the id itself.
 */
#ifndef HERALD_I18N_H
#define HERALD_I18N_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

#define I18N_DEFAULT "en"

/* Load the embedded catalogs; once per process before threads start. Aborts
 * on a malformed catalog (it was built with the binary). */
void i18n_init(void);

/* The supported languages, NULL terminated: "en", "ru", "uz". */
extern const char *const i18n_languages[];

/* Map a Telegram language_code ("ru", "ru-RU", "uz", "en-GB", "de") to a
 * supported language, I18N_DEFAULT when there is none. */
const char *i18n_match(const char *code);
bool i18n_supported(const char *lang);

/* The translation of msgid in lang (msgid itself when untranslated). */
const char *i18n_get(const char *lang, const char *msgid);
/* The plural form of msgid/plural for n in lang. */
const char *i18n_nget(const char *lang, const char *msgid, const char *plural, unsigned long n);
/* The index of the plural form for n in lang's catalog (0 for English singular). */
unsigned i18n_plural_index(const char *lang, unsigned long n);

/*
 * For tests and fuzzing: the catalog parser and the plural evaluator on
 * their own, over bytes the caller owns (nothing is kept or allocated).
 */
/* 0 when mo is a well-formed catalog (as i18n_init would accept it),
 * -ERR_INVALID otherwise. */
int i18n_catalog_check(const void *mo, size_t len) WUR;
/* i18n_nget (i18n_get when plural is NULL) against the catalog mo: a pointer
 * into mo, or msgid/plural when untranslated; NULL when mo is malformed. */
const char *i18n_catalog_nget(const void *mo, size_t len, const char *msgid, const char *plural,
                              unsigned long n);
/* Compile a Plural-Forms expression (expr[0..len), e.g. "n%10==1 ? 0 : 1")
 * and evaluate it for n into *out, unclamped: 0 or -ERR_INVALID. */
int i18n_plural_eval(const char *expr, size_t len, unsigned long n, unsigned long *out) WUR;

/* Mark text for translation: _(lang, "Hello") translates now; N_("Hello")
 * only marks it (translated later with i18n_get). xgettext keywords:
 * --keyword=_:2 --keyword=N_ --keyword=i18n_nget:2,3 */
#define _(lang, s) i18n_get((lang), (s))
#define N_(s)      (s)

#endif
