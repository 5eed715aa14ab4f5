/*
 * Unit tests of lib/i18n: plural forms of the embedded catalogs, lookups and
 * their fallbacks, language matching, the Plural-Forms evaluator, and the .mo
 * parser on valid, truncated, corrupted and hand-built catalogs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/embed.h"
#include "lib/i18n.h"

static const struct embed_file *catalog(const char *name)
{
	for (const struct embed_file *f = embed_catalogs; f->name; f++) {
		if (strcmp(f->name, name) == 0)
			return f;
	}
	fail_msg("no embedded catalog %s", name);
	return NULL;
}

static void test_embedded(void **state)
{
	(void)state;
	i18n_init();
	for (const char *const *l = i18n_languages; *l; l++) {
		char name[16];
		const struct embed_file *f;

		snprintf(name, sizeof(name), "%s.mo", *l);
		f = catalog(name);
		assert_int_equal(i18n_catalog_check(f->data, f->len), 0);
	}
}

static void test_ru_plural(void **state)
{
	static const struct {
		unsigned long n;
		unsigned index;
		const char *channel, *day;
	} cases[] = {
	    {0, 2, "%d каналов", "%d дней"},   {1, 0, "%d канал", "%d день"},
	    {2, 1, "%d канала", "%d дня"},     {4, 1, "%d канала", "%d дня"},
	    {5, 2, "%d каналов", "%d дней"},   {11, 2, "%d каналов", "%d дней"},
	    {12, 2, "%d каналов", "%d дней"},  {14, 2, "%d каналов", "%d дней"},
	    {21, 0, "%d канал", "%d день"},    {22, 1, "%d канала", "%d дня"},
	    {25, 2, "%d каналов", "%d дней"},  {101, 0, "%d канал", "%d день"},
	    {111, 2, "%d каналов", "%d дней"}, {1000000, 2, "%d каналов", "%d дней"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned long n = cases[i].n;

		assert_int_equal(i18n_plural_index("ru", n), cases[i].index);
		assert_string_equal(i18n_nget("ru", "%d channel", "%d channels", n),
		                    cases[i].channel);
		assert_string_equal(i18n_nget("ru", "%d day", "%d days", n), cases[i].day);
	}
	assert_string_equal(i18n_nget("ru", "%d minute", "%d minutes", 3), "%d минуты");
	assert_string_equal(i18n_nget("ru", "%d hour", "%d hours", 21), "%d час");
	assert_string_equal(i18n_nget("ru", "%d post", "%d posts", 7), "%d постов");
}

static void test_uz_en_plural(void **state)
{
	(void)state;
	assert_int_equal(i18n_plural_index("uz", 0), 1);
	assert_int_equal(i18n_plural_index("uz", 1), 0);
	assert_int_equal(i18n_plural_index("uz", 2), 1);
	for (unsigned long n = 0; n < 3; n++) {
		assert_string_equal(i18n_nget("uz", "%d channel", "%d channels", n), "%d ta kanal");
		assert_string_equal(i18n_nget("uz", "%d day", "%d days", n), "%d kun");
	}

	assert_int_equal(i18n_plural_index("en", 0), 1);
	assert_int_equal(i18n_plural_index("en", 1), 0);
	assert_int_equal(i18n_plural_index("en", 2), 1);
	assert_string_equal(i18n_nget("en", "%d channel", "%d channels", 0), "%d channels");
	assert_string_equal(i18n_nget("en", "%d channel", "%d channels", 1), "%d channel");
	assert_string_equal(i18n_nget("en", "%d channel", "%d channels", 2), "%d channels");

	/* No catalog at all: the English rule. */
	assert_int_equal(i18n_plural_index("de", 1), 0);
	assert_int_equal(i18n_plural_index("de", 5), 1);
	assert_string_equal(i18n_nget("de", "%d day", "%d days", 1), "%d day");
	assert_string_equal(i18n_nget(NULL, "%d day", "%d days", 0), "%d days");
	/* Untranslated plural message in a catalog: the English rule too. */
	assert_string_equal(i18n_nget("ru", "%d widget", "%d widgets", 1), "%d widget");
	assert_string_equal(i18n_nget("ru", "%d widget", "%d widgets", 21), "%d widgets");
}

static void test_get(void **state)
{
	static const char *untranslated = "Not in any catalog";

	(void)state;
	assert_string_equal(i18n_get("ru", "Cancel"), "Отмена");
	assert_string_equal(i18n_get("ru", "Time zone"), "Часовой пояс");
	assert_string_equal(i18n_get("ru", "Something went wrong. Please try again."),
	                    "Что-то пошло не так. Попробуйте ещё раз.");
	assert_string_equal(i18n_get("uz", "Settings"), "Sozlamalar");
	assert_string_equal(i18n_get("uz", "No"), "Yoʻq");
	assert_string_equal(i18n_get("en", "Settings"), "Settings");
	/* The first form of a plural message. */
	assert_string_equal(i18n_get("ru", "%d day"), "%d день");

	/* Untranslated: the very msgid pointer comes back. */
	assert_ptr_equal(i18n_get("en", untranslated), untranslated);
	assert_ptr_equal(i18n_get("ru", untranslated), untranslated);
	assert_ptr_equal(i18n_get("uz", untranslated), untranslated);
	assert_ptr_equal(i18n_get("de", untranslated), untranslated);
	assert_string_equal(i18n_get(NULL, "Cancel"), "Cancel");
	/* Language names are exact: a raw language_code goes through i18n_match. */
	assert_string_equal(i18n_get("ru-RU", "Cancel"), "Cancel");
	/* The empty msgid is the header in a catalog, never a message. */
	assert_string_equal(i18n_get("ru", ""), "");
}

static void test_match(void **state)
{
	static const struct {
		const char *code, *lang;
	} cases[] = {
	    {"ru", "ru"},      {"ru-RU", "ru"}, {"RU", "ru"},    {"ru_RU", "ru"}, {"uz", "uz"},
	    {"uz-Latn", "uz"}, {"uz-UZ", "uz"}, {"UZ", "uz"},    {"en", "en"},    {"en-GB", "en"},
	    {"de", "en"},      {"", "en"},      {"r", "en"},     {"rus", "en"},   {"russian", "en"},
	    {"ruRU", "en"},    {"-ru", "en"},   {"pt-br", "en"}, {"uk", "en"},    {"ru ", "en"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(i18n_match(cases[i].code), cases[i].lang);
	assert_string_equal(i18n_match(NULL), I18N_DEFAULT);

	assert_true(i18n_supported("en"));
	assert_true(i18n_supported("ru"));
	assert_true(i18n_supported("uz"));
	assert_false(i18n_supported("de"));
	assert_false(i18n_supported("RU"));
	assert_false(i18n_supported("ru-RU"));
	assert_false(i18n_supported(""));
	assert_false(i18n_supported(NULL));
}

static unsigned long eval(const char *expr, unsigned long n)
{
	unsigned long v = 12345;

	if (i18n_plural_eval(expr, strlen(expr), n, &v) != 0)
		fail_msg("expression rejected: %s", expr);
	return v;
}

static void test_plural_eval(void **state)
{
	static const char ru[] = "n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
	                         "(n%100<10 || n%100>=20) ? 1 : 2";
	static const char arabic[] = "n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? "
	                             "3 : n%100>=11 ? 4 : 5";
	static const unsigned long arabic_n[] = {0, 1, 2, 3, 10, 11, 99, 100, 102, 103, 111};
	static const unsigned long arabic_i[] = {0, 1, 2, 3, 3, 4, 4, 5, 5, 3, 4};
	char deep[200];
	size_t k;

	(void)state;
	assert_int_equal(eval(ru, 1), 0);
	assert_int_equal(eval(ru, 3), 1);
	assert_int_equal(eval(ru, 13), 2);
	assert_int_equal(eval(ru, 1000001), 0);
	for (size_t i = 0; i < sizeof(arabic_n) / sizeof(arabic_n[0]); i++)
		assert_int_equal(eval(arabic, arabic_n[i]), arabic_i[i]);

	/* ?: nested in the middle and on the right. */
	assert_int_equal(eval("n ? n > 5 ? 2 : 1 : 0", 0), 0);
	assert_int_equal(eval("n ? n > 5 ? 2 : 1 : 0", 3), 1);
	assert_int_equal(eval("n ? n > 5 ? 2 : 1 : 0", 6), 2);
	assert_int_equal(eval("(n ? 1 : 2) ? 3 : 4", 0), 3);
	assert_int_equal(eval("1 ? 0 ? 5 : 6 : 7", 0), 6);

	/* Precedence and associativity. */
	assert_int_equal(eval("1 + 2 * 3", 0), 7);
	assert_int_equal(eval("(1 + 2) * 3", 0), 9);
	assert_int_equal(eval("7 - 2 * 3", 0), 1);
	assert_int_equal(eval("10 - 2 - 3", 0), 5);
	assert_int_equal(eval("100 / 10 / 5", 0), 2);
	assert_int_equal(eval("n % 3 * 2", 5), 4);
	assert_int_equal(eval("2 + 3 == 5", 0), 1);
	assert_int_equal(eval("3 < 2 == 0", 0), 1);
	assert_int_equal(eval("2 == 1 < 2", 0), 0);
	assert_int_equal(eval("1 || 0 && 0", 0), 1);
	assert_int_equal(eval("0 && 1 || 1", 0), 1);
	assert_int_equal(eval("!n + 1", 0), 2);
	assert_int_equal(eval("!!n", 5), 1);
	assert_int_equal(eval("!(n - 5)", 5), 1);
	assert_int_equal(eval("n != 1", 1), 0);
	assert_int_equal(eval("n>=2", 2), 1);
	assert_int_equal(eval("n<=2", 3), 0);
	assert_int_equal(eval(" \t( n\n!= 1 ) ", 2), 1);

	/* Unsigned arithmetic, and division by zero is 0. */
	assert_true(eval("n - 1", 0) == (unsigned long)-1);
	assert_int_equal(eval("n / 0", 7), 0);
	assert_int_equal(eval("n % 0", 7), 0);
	assert_int_equal(eval("5 / (n - n)", 3), 0);
	assert_int_equal(eval("n % (n - 1) + 1", 1), 1);
	assert_true(eval("18446744073709551615", 0) == 18446744073709551615ul);

	static const char *const bad[] = {
	    "",       " ",       "n +",     "(n",      "n)",
	    "n ? 1",  "n ? 1 :", "n = 1",   "n & 1",   "n | 1",
	    "x",      "nn",      "-1",      "n <> 1",  "1 2",
	    "n ! 1",  "()",      "n ? : 1", "n;",      "n == =",
	    "1 +* 2", "N",       "0x10",    "n >== 1", "18446744073709551616",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned long v;

		if (i18n_plural_eval(bad[i], strlen(bad[i]), 0, &v) != -ERR_INVALID)
			fail_msg("expression accepted: \"%s\"", bad[i]);
	}
	/* The length bounds the expression, not a NUL. */
	unsigned long v = 0;
	assert_int_equal(i18n_plural_eval("n != 1; junk", 6, 2, &v), 0);
	assert_int_equal(v, 1);

	/* Nesting and size are bounded. */
	k = 0;
	for (int i = 0; i < 20; i++)
		deep[k++] = '(';
	deep[k++] = 'n';
	for (int i = 0; i < 20; i++)
		deep[k++] = ')';
	assert_int_equal(i18n_plural_eval(deep, k, 4, &v), 0);
	assert_int_equal(v, 4);
	k = 0;
	for (int i = 0; i < 40; i++)
		deep[k++] = '(';
	deep[k++] = 'n';
	for (int i = 0; i < 40; i++)
		deep[k++] = ')';
	assert_int_equal(i18n_plural_eval(deep, k, 4, &v), -ERR_INVALID);
	memset(deep, '!', 40);
	deep[40] = 'n';
	assert_int_equal(i18n_plural_eval(deep, 41, 4, &v), -ERR_INVALID);
	assert_int_equal(i18n_plural_eval(deep + 20, 21, 0, &v), 0); /* 20 of them */
	assert_int_equal(v, 0);
	k = 0;
	for (int i = 0; i < 64; i++) { /* 64 literals and 63 '+': 127 nodes */
		deep[k++] = '1';
		deep[k++] = '+';
	}
	assert_int_equal(i18n_plural_eval(deep, k - 1, 0, &v), 0);
	assert_int_equal(v, 64);
	deep[k] = '1'; /* 65 literals: 129 nodes */
	assert_int_equal(i18n_plural_eval(deep, k + 1, 0, &v), -ERR_INVALID);
}

/* ---- hand-built catalogs ---- */

struct mo_entry {
	const char *o, *t;
	size_t olen, tlen;
};
#define E(o, t)                                                                                    \
	{                                                                                          \
		(o), (t), sizeof(o) - 1, sizeof(t) - 1                                             \
	}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* A little-endian .mo of the entries (given sorted), as msgfmt lays it out:
 * header, original table, translation table, strings. Caller frees. */
static unsigned char *mo_build(const struct mo_entry *e, uint32_t n, size_t *len)
{
	size_t size = 28 + 16 * (size_t)n, at;
	unsigned char *p;

	for (uint32_t i = 0; i < n; i++)
		size += e[i].olen + 1 + e[i].tlen + 1;
	p = calloc(1, size);
	assert_non_null(p);
	put32(p, 0x950412de);
	put32(p + 8, n);
	put32(p + 12, 28);
	put32(p + 16, 28 + 8 * n);
	at = 28 + 16 * (size_t)n;
	for (uint32_t i = 0; i < n; i++) {
		put32(p + 28 + 8 * i, (uint32_t)e[i].olen);
		put32(p + 32 + 8 * i, (uint32_t)at);
		memcpy(p + at, e[i].o, e[i].olen);
		at += e[i].olen + 1;
		put32(p + 28 + 8 * (n + i), (uint32_t)e[i].tlen);
		put32(p + 32 + 8 * (n + i), (uint32_t)at);
		memcpy(p + at, e[i].t, e[i].tlen);
		at += e[i].tlen + 1;
	}
	*len = size;
	return p;
}

static int check_built(const struct mo_entry *e, uint32_t n)
{
	size_t len;
	unsigned char *p = mo_build(e, n, &len);
	int rc = i18n_catalog_check(p, len);

	free(p);
	return rc;
}

#define HDR(pf) "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: " pf "\n"

static void test_mo_built(void **state)
{
	/* nplurals=3 with an index that can reach 7 and translations of one, two
	 * and three forms, one of them empty. */
	static const struct mo_entry e[] = {
	    E("", HDR("nplurals=3; plural=n==1 ? 0 : n==2 ? 1 : n==3 ? 2 : 7;")),
	    E("%d a\0%d as", "A1\0A2\0A3"),
	    E("%d b\0%d bs", "B1\0B2"),
	    E("%d c\0%d cs", "C1\0\0C3"),
	    E("x", "X"),
	};
	size_t len;
	unsigned char *p = mo_build(e, 5, &len);

	(void)state;
	assert_int_equal(i18n_catalog_check(p, len), 0);
	assert_string_equal(i18n_catalog_nget(p, len, "%d a", "%d as", 1), "A1");
	assert_string_equal(i18n_catalog_nget(p, len, "%d a", "%d as", 3), "A3");
	/* Index 7 is out of range: the last form. */
	assert_string_equal(i18n_catalog_nget(p, len, "%d a", "%d as", 9), "A3");
	/* Fewer forms than the index: the English rule. */
	assert_string_equal(i18n_catalog_nget(p, len, "%d b", "%d bs", 2), "B2");
	assert_string_equal(i18n_catalog_nget(p, len, "%d b", "%d bs", 3), "%d bs");
	/* An empty form: the English rule. */
	assert_string_equal(i18n_catalog_nget(p, len, "%d c", "%d cs", 2), "%d cs");
	assert_string_equal(i18n_catalog_nget(p, len, "%d c", "%d cs", 3), "C3");
	/* Singular lookups. */
	assert_string_equal(i18n_catalog_nget(p, len, "x", NULL, 0), "X");
	assert_string_equal(i18n_catalog_nget(p, len, "%d a", NULL, 0), "A1");
	assert_string_equal(i18n_catalog_nget(p, len, "y", NULL, 0), "y");
	assert_string_equal(i18n_catalog_nget(p, len, "", NULL, 0), "");
	assert_string_equal(i18n_catalog_nget(p, len, "w", "ws", 1), "w");
	free(p);

	/* Without a header or without Plural-Forms: the English rule. */
	static const struct mo_entry bare[] = {E("%d d\0%d ds", "D1\0D2")};
	p = mo_build(bare, 1, &len);
	assert_string_equal(i18n_catalog_nget(p, len, "%d d", "%d ds", 1), "D1");
	assert_string_equal(i18n_catalog_nget(p, len, "%d d", "%d ds", 0), "D2");
	free(p);
	static const struct mo_entry ct[] = {E("", "Content-Type: text/plain; charset=utf-8\n")};
	assert_int_equal(check_built(ct, 1), 0);
	static const struct mo_entry empty[] = {{NULL, NULL, 0, 0}};
	assert_int_equal(check_built(empty, 0), 0);

	/* Headers that must be rejected. */
	static const char *const bad_headers[] = {
	    HDR("nplurals=0; plural=0;"),
	    HDR("nplurals=17; plural=0;"),
	    HDR("nplurals=x; plural=0;"),
	    HDR("nplurals=2 plural=n != 1;"),
	    HDR("nplurals=2;"),
	    HDR("plural=n != 1; nplurals=2;"),
	    HDR("nplurals=2; plural=n !! 1;"),
	    HDR("nplurals=2; plural=(n != 1); junk"),
	    HDR("nplurals=2; plural=;"),
	    "Content-Type: text/plain; charset=KOI8-R\n",
	    "Content-Type: text/plain; charset=\n",
	    HDR("nplurals=2; plural=n != 1;") "Plural-Forms: nplurals=2; plural=n != 1;\n",
	};
	for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
		struct mo_entry h = {"", bad_headers[i], 0, strlen(bad_headers[i])};

		if (check_built(&h, 1) != -ERR_INVALID)
			fail_msg("header accepted: %s", bad_headers[i]);
	}
	static const struct mo_entry good_headers[] = {
	    E("", HDR("nplurals=1; plural=0;")),
	    E("", HDR(" nplurals = 2 ; plural = (n != 1)")),
	    E("", "Plural-Forms: nplurals=2; plural=n>1;\r\n"),
	};
	for (size_t i = 0; i < sizeof(good_headers) / sizeof(good_headers[0]); i++)
		assert_int_equal(check_built(&good_headers[i], 1), 0);

	/* Unsorted or duplicated msgids break the binary search: rejected. */
	static const struct mo_entry unsorted[] = {E("b", "B"), E("a", "A")};
	static const struct mo_entry dup[] = {E("a", "A"), E("a\0as", "A")};
	assert_int_equal(check_built(unsorted, 2), -ERR_INVALID);
	assert_int_equal(check_built(dup, 2), -ERR_INVALID);
}

/* Check a heap copy of exactly len bytes, so that ASan sees any overread. */
static int check_copy(const void *mo, size_t len)
{
	void *p = malloc(len ? len : 1);
	int rc;

	assert_non_null(p);
	memcpy(p, mo, len);
	rc = i18n_catalog_check(p, len);
	if (rc == 0) {
		const char *s = i18n_catalog_nget(p, len, "%d day", "%d days", 5);

		assert_non_null(s);
		assert_non_null(i18n_catalog_nget(p, len, "Cancel", NULL, 0));
	}
	free(p);
	return rc;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_mo_corrupt(void **state)
{
	const struct embed_file *f = catalog("ru.mo");
	size_t len = f->len;
	unsigned char *p = malloc(len), *q = malloc(len);
	uint32_t n, orig, trans;

	(void)state;
	assert_non_null(p);
	assert_non_null(q);
	memcpy(p, f->data, len);
	assert_int_equal(le32(p), 0x950412de); /* msgfmt on x86 writes little endian */
	n = le32(p + 8);
	orig = le32(p + 12);
	trans = le32(p + 16);
	assert_int_equal(check_copy(p, len), 0);

	/* Every truncation loses at least the last string's NUL. */
	for (size_t l = 0; l < len; l++) {
		if (check_copy(p, l) != -ERR_INVALID)
			fail_msg("truncated to %zu bytes and accepted", l);
	}

#define CORRUPT(off, v, expect)                                                                    \
	do {                                                                                       \
		memcpy(q, p, len);                                                                 \
		put32(q + (off), (v));                                                             \
		assert_int_equal(check_copy(q, len), (expect));                                    \
	} while (0)
	CORRUPT(0, 0x950412df, -ERR_INVALID);         /* magic */
	CORRUPT(4, 1, -ERR_INVALID);                  /* revision 0.1 */
	CORRUPT(4, 0x10000, -ERR_INVALID);            /* revision 1.0 */
	CORRUPT(8, 0xffffffff, -ERR_INVALID);         /* string count */
	CORRUPT(8, n + 1000, -ERR_INVALID);           /* string count */
	CORRUPT(12, (uint32_t)len, -ERR_INVALID);     /* original table offset */
	CORRUPT(12, 0xfffffff8, -ERR_INVALID);        /* original table offset */
	CORRUPT(16, (uint32_t)len - 8, -ERR_INVALID); /* translation table offset */
	CORRUPT(8, n - 1, 0);                         /* fewer strings is still sound */
	CORRUPT(8, 0, 0);
	/* A string's length or offset past the end, or its NUL overwritten. */
	CORRUPT(orig + 8 * (n - 1), (uint32_t)len, -ERR_INVALID);
	CORRUPT(orig + 8 * (n - 1) + 4, (uint32_t)len - 1, -ERR_INVALID);
	CORRUPT(trans + 4, 0xffffffff, -ERR_INVALID);
	CORRUPT(trans + 8 * (n - 1), 0xffffffff, -ERR_INVALID);
	memcpy(q, p, len);
	q[le32(p + orig + 4) + le32(p + orig)] = 'x'; /* first msgid's NUL */
	assert_int_equal(check_copy(q, len), -ERR_INVALID);
	/* Two msgids swapped: unsorted. */
	memcpy(q, p, len);
	memcpy(q + orig + 8, p + orig + 16, 8);
	memcpy(q + orig + 16, p + orig + 8, 8);
	assert_int_equal(check_copy(q, len), -ERR_INVALID);

	/* Every single byte flipped: whatever the verdict, no read out of
	 * bounds (under ASan) and lookups in an accepted catalog work. */
	for (size_t i = 0; i < len; i++) {
		memcpy(q, p, len);
		q[i] ^= 0xff;
		(void)check_copy(q, len);
		q[i] = (unsigned char)(p[i] ^ 0x01);
		(void)check_copy(q, len);
	}

	/* The same catalog in big-endian byte order reads the same. */
	memcpy(q, p, len);
	for (size_t w = 0; w < 7; w++)
		put32(q + 4 * w, __builtin_bswap32(le32(p + 4 * w)));
	for (uint32_t i = 0; i < 2 * n; i++) {
		uint32_t tab = i < n ? orig : trans, k = i < n ? i : i - n;

		put32(q + tab + 8 * k, __builtin_bswap32(le32(p + tab + 8 * k)));
		put32(q + tab + 8 * k + 4, __builtin_bswap32(le32(p + tab + 8 * k + 4)));
	}
	assert_int_equal(check_copy(q, len), 0);
	assert_string_equal(i18n_catalog_nget(q, len, "%d day", "%d days", 22), "%d дня");
	assert_string_equal(i18n_catalog_nget(q, len, "Cancel", NULL, 0), "Отмена");
	free(q);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_embedded),     cmocka_unit_test(test_ru_plural),
	    cmocka_unit_test(test_uz_en_plural), cmocka_unit_test(test_get),
	    cmocka_unit_test(test_match),        cmocka_unit_test(test_plural_eval),
	    cmocka_unit_test(test_mo_built),     cmocka_unit_test(test_mo_corrupt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
