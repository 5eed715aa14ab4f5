/*
 * bot/zones: the time zones a user can pick, from ICU.
 *
 * The list is ICU's full set of zone ids (ucal_openTimeZones) kept to the
 * IANA regions (Africa/..., America/..., Europe/...) plus "UTC"; aliases
 * stay in, because ICU's canonical ids are the old names ("Asia/Calcutta")
 * while people type the new ones ("Kolkata"). Each entry keeps its
 * canonical id, so a search shows one button per real zone. ICU's ids are
 * English; a short table adds the Russian and Uzbek names of the cities our
 * users type most (Москва, Toshkent). Queries and names are folded alike:
 * Unicode lower case, apostrophes dropped (o‘, o', oʻ), '_' '-' and blanks
 * as one space. The list is built once per bot and only read afterwards, so
 * threads share it freely.
 */
#include "bot/bot_impl.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/ucasemap.h>
#include <unicode/uenum.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/tz.h"

struct zone {
	char *id;         /* "America/New_York" */
	char *canon;      /* ICU's canonical id of it */
	char *norm;       /* "america/new york" */
	const char *city; /* into norm: "new york" */
};

struct bot_zones {
	struct zone *v;
	size_t n;
	UCaseMap *lower; /* const use is thread-safe */
};

/* Local names of cities, searched like ICU's English ones. */
static const struct {
	const char *name, *zone;
} aliases[] = {
    {"Москва", "Europe/Moscow"},
    {"Санкт-Петербург", "Europe/Moscow"},
    {"Saint Petersburg", "Europe/Moscow"},
    {"Калининград", "Europe/Kaliningrad"},
    {"Екатеринбург", "Asia/Yekaterinburg"},
    {"Новосибирск", "Asia/Novosibirsk"},
    {"Омск", "Asia/Omsk"},
    {"Красноярск", "Asia/Krasnoyarsk"},
    {"Иркутск", "Asia/Irkutsk"},
    {"Владивосток", "Asia/Vladivostok"},
    {"Самара", "Europe/Samara"},
    {"Алматы", "Asia/Almaty"},
    {"Астана", "Asia/Almaty"},
    {"Ташкент", "Asia/Tashkent"},
    {"Самарканд", "Asia/Samarkand"},
    {"Бишкек", "Asia/Bishkek"},
    {"Душанбе", "Asia/Dushanbe"},
    {"Минск", "Europe/Minsk"},
    {"Киев", "Europe/Kyiv"},
    {"Лондон", "Europe/London"},
    {"Берлин", "Europe/Berlin"},
    {"Дубай", "Asia/Dubai"},
    {"Нью-Йорк", "America/New_York"},
    {"Toshkent", "Asia/Tashkent"},
    {"Samarqand", "Asia/Samarkand"},
    {"Buxoro", "Asia/Samarkand"},
    {"Xiva", "Asia/Samarkand"},
    {"Nukus", "Asia/Samarkand"},
    {"Qarshi", "Asia/Samarkand"},
    {"Namangan", "Asia/Tashkent"},
    {"Andijon", "Asia/Tashkent"},
    {"Farg‘ona", "Asia/Tashkent"},
    {"Moskva", "Europe/Moscow"},
    {"Olmaota", "Asia/Almaty"},
};

static const char *const regions[] = {"Africa/", "America/",  "Antarctica/", "Arctic/",
                                      "Asia/",   "Atlantic/", "Australia/",  "Europe/",
                                      "Indian/", "Pacific/",  NULL};

static const char *const common_en[] = {
    "Europe/London", "America/New_York",    "Europe/Berlin", "Asia/Dubai",
    "Asia/Kolkata",  "America/Los_Angeles", "UTC",           NULL};
static const char *const common_ru[] = {"Europe/Moscow",
                                        "Europe/Kaliningrad",
                                        "Asia/Yekaterinburg",
                                        "Asia/Novosibirsk",
                                        "Asia/Almaty",
                                        "Asia/Tashkent",
                                        NULL};
static const char *const common_uz[] = {"Asia/Tashkent", "Asia/Samarkand", "Europe/Moscow", "UTC",
                                        NULL};

const char *const *bot_zones_common(const char *lang)
{
	if (lang && strcmp(lang, "ru") == 0)
		return common_ru;
	if (lang && strcmp(lang, "uz") == 0)
		return common_uz;
	return common_en;
}

/* Drop apostrophes of every kind: ' ` ‘ ’ ʻ ʼ. Returns the bytes to skip at p. */
static size_t apostrophe(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	if (u[0] == '\'' || u[0] == '`')
		return 1;
	if (u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0x98 || u[2] == 0x99))
		return 3;
	if (u[0] == 0xCA && (u[1] == 0xBB || u[1] == 0xBC))
		return 2;
	return 0;
}

/*
 * Fold in (len bytes of UTF-8) for comparison into out: lower case, no
 * apostrophes, '_' '-' and blanks as one space, none at the ends. Returns
 * the length; 0 for text that does not fold (not UTF-8, too long).
 */
static size_t fold(const struct bot_zones *z, const char *in, size_t len, char *out, size_t outsz)
{
	char low[4 * BOT_QUERY_MAX + 4];
	UErrorCode st = U_ZERO_ERROR;
	int32_t n =
	    ucasemap_utf8ToLower(z->lower, low, (int32_t)sizeof(low), in, (int32_t)len, &st);
	size_t o = 0;
	bool blank = false;

	if (U_FAILURE(st) || n < 0 || (size_t)n >= sizeof(low) ||
	    st == U_STRING_NOT_TERMINATED_WARNING)
		return 0;
	low[n] = '\0';
	for (const char *p = low; *p;) {
		size_t skip = apostrophe(p);
		char c = *p;

		if (skip) {
			p += skip;
			continue;
		}
		p++;
		if (c == '_' || c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			blank = o > 0;
			continue;
		}
		if (blank && o + 2 < outsz)
			out[o++] = ' ';
		blank = false;
		if (o + 1 >= outsz)
			return 0;
		out[o++] = c;
	}
	out[o] = '\0';
	return o;
}

static bool wanted(const char *id)
{
	for (const char *const *r = regions; *r; r++)
		if (strncmp(id, *r, strlen(*r)) == 0)
			return true;
	return false;
}

static char *canonical(const char *id, size_t len)
{
	UChar u[BOT_ZONE_MAX], c[BOT_ZONE_MAX];
	char out[BOT_ZONE_MAX];
	UErrorCode st = U_ZERO_ERROR;
	UBool sys = 0;
	int32_t n;

	for (size_t i = 0; i < len; i++)
		u[i] = (UChar)(unsigned char)id[i];
	n = ucal_getCanonicalTimeZoneID(u, (int32_t)len, c, BOT_ZONE_MAX, &sys, &st);
	if (U_FAILURE(st) || n <= 0 || n >= BOT_ZONE_MAX)
		return xstrndup(id, len);
	for (int32_t i = 0; i < n; i++)
		out[i] = (char)c[i];
	out[n] = '\0';
	return xstrdup(out);
}

/* Add zone id (len bytes), found by name (NULL: by its id). */
static void add(struct bot_zones *z, size_t *cap, const char *id, size_t len, const char *name)
{
	struct zone *e;
	char norm[4 * BOT_QUERY_MAX + 4];
	const char *slash;

	if (!fold(z, name ? name : id, name ? strlen(name) : len, norm, sizeof(norm)))
		return;
	if (name && !tz_valid(id))
		return; /* an alias of a zone this ICU does not know */
	if (z->n == *cap) {
		*cap = *cap ? *cap * 2 : 512;
		z->v = xrealloc(z->v, *cap * sizeof(*z->v));
	}
	e = &z->v[z->n++];
	e->id = xstrndup(id, len);
	e->canon = canonical(id, len);
	e->norm = xstrdup(norm);
	slash = strrchr(e->norm, '/');
	e->city = slash ? slash + 1 : e->norm;
}

struct bot_zones *bot_zones_new(void)
{
	struct bot_zones *z = xcalloc(1, sizeof(*z));
	UErrorCode st = U_ZERO_ERROR;
	UEnumeration *en;
	const char *id;
	int32_t len;
	size_t cap = 0;

	z->lower = ucasemap_open("", 0, &st);
	if (U_FAILURE(st))
		abort(); /* out of memory: ICU's only failure here */
	add(z, &cap, "UTC", 3, NULL);
	en = ucal_openTimeZones(&st);
	while (U_SUCCESS(st) && (id = uenum_next(en, &len, &st)))
		if (len > 0 && len < BOT_ZONE_MAX && wanted(id))
			add(z, &cap, id, (size_t)len, NULL);
	if (U_FAILURE(st))
		log_error("msg=\"time zone list incomplete\" err=%s", u_errorName(st));
	uenum_close(en);
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		add(z, &cap, aliases[i].zone, strlen(aliases[i].zone), aliases[i].name);
	return z;
}

void bot_zones_free(struct bot_zones *z)
{
	if (!z)
		return;
	for (size_t i = 0; i < z->n; i++) {
		free(z->v[i].id);
		free(z->v[i].canon);
		free(z->v[i].norm);
	}
	free(z->v);
	ucasemap_close(z->lower);
	free(z);
}

/* How well zone e matches the normalised query q: 0 best, -1 not at all. */
static int rank(const struct zone *e, const char *q, size_t qlen)
{
	if (strcmp(e->norm, q) == 0)
		return 0;
	if (strcmp(e->city, q) == 0)
		return 1;
	if (strncmp(e->city, q, qlen) == 0)
		return 2;
	if (strstr(e->norm, q))
		return 3;
	return -1;
}

struct hit {
	const struct zone *z;
	int rank;
};

static int hit_cmp(const void *pa, const void *pb)
{
	const struct hit *a = pa, *b = pb;

	if (a->rank != b->rank)
		return a->rank - b->rank;
	return strcmp(a->z->id, b->z->id);
}

size_t bot_zones_search(const struct bot_zones *z, const char *query, const char **out, size_t max)
{
	char q[4 * BOT_QUERY_MAX + 4];
	struct hit *hits;
	size_t qlen, n = 0, kept = 0;

	if (!query || strlen(query) > BOT_QUERY_MAX)
		return 0;
	qlen = fold(z, query, strlen(query), q, sizeof(q));
	{
		size_t chars = 0;

		for (size_t i = 0; i < qlen; i++)
			chars += ((unsigned char)q[i] & 0xC0) != 0x80;
		if (chars < 2)
			return 0;
	}
	if (strcmp(q, "gmt") == 0 || strcmp(q, "etc/utc") == 0 || strcmp(q, "etc/gmt") == 0) {
		memcpy(q, "utc", 4);
		qlen = 3;
	}
	hits = xcalloc(z->n, sizeof(*hits));
	for (size_t i = 0; i < z->n; i++) {
		int r = rank(&z->v[i], q, qlen);

		if (r >= 0)
			hits[n++] = (struct hit){&z->v[i], r};
	}
	qsort(hits, n, sizeof(*hits), hit_cmp);
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		/* an exact id or city hides the looser matches */
		if (hits[0].rank <= 1 && hits[i].rank > 1)
			break;
		for (size_t j = 0; j < kept && !dup; j++)
			dup = strcmp(hits[j].z->canon, hits[i].z->canon) == 0;
		if (!dup)
			hits[kept++] = hits[i];
	}
	for (size_t i = 0; i < kept && i < max; i++)
		out[i] = hits[i].z->id;
	free(hits);
	return kept;
}

void bot_zone_city(const char *zone, char *out, size_t outsz)
{
	const char *slash = strrchr(zone, '/');
	const char *c = slash ? slash + 1 : zone;
	size_t n = 0;

	assert(outsz > 0);
	for (; *c && n + 1 < outsz; c++)
		out[n++] = *c == '_' ? ' ' : *c;
	out[n] = '\0';
}

void bot_zone_offset(const char *zone, int64_t at_ms, char *out, size_t outsz)
{
	UChar u[BOT_ZONE_MAX];
	UErrorCode st = U_ZERO_ERROR;
	size_t len = strlen(zone);
	UCalendar *cal;
	int32_t ms = 0, mins;

	if (len == 0 || len >= BOT_ZONE_MAX) {
		snprintf(out, outsz, "UTC");
		return;
	}
	for (size_t i = 0; i < len; i++)
		u[i] = (UChar)(unsigned char)zone[i];
	cal = ucal_open(u, (int32_t)len, "en", UCAL_GREGORIAN, &st);
	if (U_SUCCESS(st)) {
		ucal_setMillis(cal, (UDate)at_ms, &st);
		ms = ucal_get(cal, UCAL_ZONE_OFFSET, &st) + ucal_get(cal, UCAL_DST_OFFSET, &st);
	}
	if (cal)
		ucal_close(cal);
	if (U_FAILURE(st))
		ms = 0;
	mins = ms / 60000;
	snprintf(out, outsz, "UTC%c%02d:%02d", mins < 0 ? '-' : '+', abs(mins) / 60,
	         abs(mins) % 60);
}
