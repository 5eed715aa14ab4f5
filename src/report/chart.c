/*
 * chart: drawing with cairo, text with pango, dates and numbers with ICU.
 *
 * One render is one struct ctx: a pango context made for the target (with
 * fixed font options, so the output does not depend on the machine's
 * fontconfig preferences), the fonts, and ICU formatters opened on first use
 * and closed at the end; nothing is kept between renders. The layout is
 * computed first (title, legend and axis label bands, then the y ticks from
 * the plot's height, the left margin from their widths, the x ticks from the
 * plot's width), then everything is drawn in one pass. chart_plot_area()
 * runs the same layout on a scratch surface.
 *
 * x ticks are local boundaries in the user's zone (sched/when does the
 * conversions): the finest step of a fixed ladder (5 minutes .. 100 years)
 * whose labels, measured, fit side by side. Series are prepared for drawing
 * by inserting breaks (NAN) where points are more than 1.5 steps apart and,
 * past one point per pixel column, by chart_downsample().
 */
#include "report/chart.h"

#include <cairo-svg.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/udat.h>
#include <unicode/udatpg.h>
#include <unicode/ustring.h>

#include "lib/i18n.h"
#include "lib/l10n.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/tz.h"
#include "lib/utf8.h"
#include "sched/when.h"

#define MINUTE_MS ((int64_t)60000)
#define HOUR_MS   (60 * MINUTE_MS)
#define DAY_MS    (24 * HOUR_MS)
/* Instants the date labels can show in any zone (sched/when works in local
 * years 1900..9999): 1901-01-01 to 9998-12-31 UTC. */
#define X_MIN ((int64_t)-2177452800000)
#define X_MAX ((int64_t)253370678400000)

#define FONT        "DejaVu Sans"
#define TITLE_PX    20
#define LABEL_PX    13
#define TICK_PX     12
#define EMPTY_PX    18
#define PAD         16.0 /* around the chart */
#define TICK_LEN    5.0  /* x tick marks below the axis */
#define LABEL_GAP   12.0 /* the least space between two x labels */
#define Y_SPACING   56.0 /* the least space between two y ticks */
#define LINE_W      2.5
#define BREAK_STEPS 1.5 /* points further apart than this many steps are not joined */
#define XTICKS_MAX  64
#define YTICKS_MAX  32
#define TEXT_MAX    128  /* a formatted number or date */
#define LEGEND_BAR  14.0 /* heatmap colour bar width */

struct rgb {
	double r, g, b;
};

/* Colours as 0xRRGGBB. */
#define C_BG     0xffffffu
#define C_TEXT   0x222222u
#define C_MUTED  0x6b6b6bu
#define C_GRID   0xe6e6e6u
#define C_AXIS   0x9a9a9au
#define C_NODATA 0xefefefu
#define C_HATCH  0xc8c8c8u
static const unsigned c_series[CHART_SERIES_MAX] = {0x2b6cb0, 0xdd6b20};
/* Pale yellow to dark red, each stop darker than the one before. */
static const unsigned c_heat[] = {0xffffcc, 0xfed976, 0xfd8d3c, 0xe31a1c, 0x800026};

enum font { F_TITLE, F_LABEL, F_TICK, F_EMPTY, F_MAX };

/* Date label forms, by ICU skeleton. */
enum dform { D_TIME, D_DAY, D_MONTH, D_MONTH_YEAR, D_YEAR, D_MAX };
static const char *const skeletons[D_MAX] = {"jm", "MMMd", "LLL", "MMMy", "y"};

enum tunit { T_MINUTE, T_HOUR, T_DAY, T_MONTH, T_YEAR };

/* The ladder of x steps, finest first; approx is a lower bound of a step's
 * length, to skip steps that would give far too many ticks. */
static const struct tstep {
	enum tunit unit;
	int n;
	int64_t approx;
} tsteps[] = {
    {T_MINUTE, 5, 5 * MINUTE_MS},   {T_MINUTE, 10, 10 * MINUTE_MS}, {T_MINUTE, 15, 15 * MINUTE_MS},
    {T_MINUTE, 30, 30 * MINUTE_MS}, {T_HOUR, 1, HOUR_MS},           {T_HOUR, 2, 2 * HOUR_MS},
    {T_HOUR, 3, 3 * HOUR_MS},       {T_HOUR, 6, 6 * HOUR_MS},       {T_HOUR, 12, 12 * HOUR_MS},
    {T_DAY, 1, 23 * HOUR_MS},       {T_DAY, 2, 47 * HOUR_MS},       {T_DAY, 7, 167 * HOUR_MS},
    {T_MONTH, 1, 28 * DAY_MS},      {T_MONTH, 2, 59 * DAY_MS},      {T_MONTH, 3, 89 * DAY_MS},
    {T_MONTH, 6, 181 * DAY_MS},     {T_YEAR, 1, 365 * DAY_MS},      {T_YEAR, 2, 730 * DAY_MS},
    {T_YEAR, 5, 1826 * DAY_MS},     {T_YEAR, 10, 3652 * DAY_MS},    {T_YEAR, 20, 7305 * DAY_MS},
    {T_YEAR, 50, 18262 * DAY_MS},   {T_YEAR, 100, 36524 * DAY_MS},
};

/* A chart's settings with the defaults applied. */
struct opts {
	const char *lang, *loc, *zone;
	int width, height, scale;
};

struct xtick {
	double px; /* where the tick and its label go */
	char text[TEXT_MAX];
};

struct ctx {
	const struct chart *c;
	struct opts o;
	cairo_t *cr;
	struct err *e;
	double dev; /* device pixels per unit of user space */
	PangoContext *pc;
	PangoLayout *lay;
	PangoFontDescription *fonts[F_MAX];
	struct l10n *l10n; /* numbers and weekday names */
	UDateTimePatternGenerator *pg;
	UDateFormat *df[D_MAX];

	bool empty;
	struct chart_rect plot;
	double title_y, legend_y, xlabel_y, tick_h;
	bool legend;
	/* x: time (line, bars) */
	int64_t x0, x1;
	int64_t steps[CHART_SERIES_MAX]; /* each series' step */
	int64_t bar_step;
	struct xtick xt[XTICKS_MAX];
	size_t nxt;
	/* y: values (line, bars) */
	double y_lo, y_hi, y_step;
	int y_digits;
	/* heatmap */
	double h_min, h_max;
	int h_digits;
};

/* ---- small helpers ---------------------------------------------------------- */

static struct rgb rgb_of(unsigned hex)
{
	return (struct rgb){(hex >> 16 & 0xff) / 255.0, (hex >> 8 & 0xff) / 255.0,
	                    (hex & 0xff) / 255.0};
}

static void set_rgb(cairo_t *cr, struct rgb c)
{
	cairo_set_source_rgb(cr, c.r, c.g, c.b);
}

static bool has_text(const char *s)
{
	return s && *s;
}

/* v rounded to whole device pixels. */
static double snap(const struct ctx *x, double v)
{
	return round(v * x->dev) / x->dev;
}

/* Where to centre a line lw wide at about v so it covers whole device
 * pixels. */
static double crisp(const struct ctx *x, double v, double lw)
{
	double k = fmax(1, round(lw * x->dev));

	return (round(v * x->dev - k / 2) + k / 2) / x->dev;
}

/* UTF-16 from ICU to UTF-8 in out; 0 or -ERR_INTERNAL. */
static int to_utf8(const UChar *u, int32_t n, char *out, size_t cap)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t len = 0;

	u_strToUTF8(out, (int32_t)cap, &len, u, n, &st);
	if (U_FAILURE(st) || len >= (int32_t)cap) {
		out[0] = '\0';
		return -ERR_INTERNAL;
	}
	return 0;
}

static int icu_fail(struct ctx *x, const char *what, UErrorCode st)
{
	return err_set(x->e, ERR_INTERNAL, "chart: icu %s: %s", what, u_errorName(st));
}

/* ---- days and months, for stepping local dates -------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_of(int y, int m, int d)
{
	int64_t yy = m <= 2 ? y - 1 : y;
	int64_t era = floor_div(yy, 400);
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* The date of a day number (inverse of days_of). */
static void date_of(int64_t days, struct when_local *lt)
{
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);

	lt->year = (int)(yoe + era * 400 + (m <= 2));
	lt->month = m;
	lt->day = (int)(doy - (153 * mp + 2) / 5 + 1);
}

/* Move lt by n units, in local fields (a day is a calendar day). */
static void local_add(struct when_local *lt, enum tunit u, int n)
{
	int64_t min, days;

	switch (u) {
	case T_MINUTE:
	case T_HOUR:
		min = (int64_t)lt->hour * 60 + lt->minute + (u == T_HOUR ? 60 : 1) * (int64_t)n;
		days = days_of(lt->year, lt->month, lt->day) + floor_div(min, 1440);
		min -= floor_div(min, 1440) * 1440;
		date_of(days, lt);
		lt->hour = (int)(min / 60);
		lt->minute = (int)(min % 60);
		break;
	case T_DAY:
		date_of(days_of(lt->year, lt->month, lt->day) + n, lt);
		break;
	case T_MONTH: {
		int m0 = lt->year * 12 + lt->month - 1 + n;

		lt->year = m0 / 12;
		lt->month = m0 % 12 + 1;
		break;
	}
	case T_YEAR:
		lt->year += n;
		break;
	}
}

/* ---- text --------------------------------------------------------------------- */

/* Put s in the layout in font f, at most max_w wide (ellipsized; 0: no
 * limit); *w and *h get its size. */
static void text_set(struct ctx *x, enum font f, const char *s, double max_w, double *w, double *h)
{
	int pw, ph;

	pango_layout_set_font_description(x->lay, x->fonts[f]);
	pango_layout_set_width(x->lay, max_w > 0 ? (int)(max_w * PANGO_SCALE) : -1);
	pango_layout_set_text(x->lay, s, -1);
	pango_layout_get_size(x->lay, &pw, &ph);
	if (w)
		*w = pango_units_to_double(pw);
	if (h)
		*h = pango_units_to_double(ph);
}

static double text_width(struct ctx *x, enum font f, const char *s)
{
	double w;

	text_set(x, f, s, 0, &w, NULL);
	return w;
}

static double text_height(struct ctx *x, enum font f)
{
	double h;

	text_set(x, f, "0", 0, NULL, &h);
	return h;
}

/* Draw s with its box anchored at (px, py): ax and ay are where the point
 * falls in the box (0 left/top, 0.5 centre, 1 right/bottom). */
static void text_at(struct ctx *x, enum font f, const char *s, double max_w, double px, double py,
                    double ax, double ay, struct rgb colour)
{
	double w, h;

	text_set(x, f, s, max_w, &w, &h);
	set_rgb(x->cr, colour);
	cairo_move_to(x->cr, px - ax * w, py - ay * h);
	pango_cairo_show_layout(x->cr, x->lay);
}

/* ---- numbers and dates ------------------------------------------------------- */

/* The fraction digits that show a multiple of step exactly (1-2-5 steps). */
static int digits_for(double step)
{
	return step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
}

/* v grouped as the language groups numbers, with digits fraction digits. */
static int num_text(struct ctx *x, double v, int digits, char *out, size_t cap)
{
	if (!x->l10n)
		x->l10n = l10n_new(x->o.lang);
	if (l10n_number(x->l10n, v, digits, out, cap))
		return err_set(x->e, ERR_INTERNAL, "chart: icu number format failed");
	return 0;
}

static int date_fmt(struct ctx *x, enum dform f, UDateFormat **out)
{
	UErrorCode st = U_ZERO_ERROR;
	UChar skel[16], pat[64], zone[64];
	int32_t n;

	if (x->df[f]) {
		*out = x->df[f];
		return 0;
	}
	if (!x->pg) {
		x->pg = udatpg_open(x->o.loc, &st);
		if (U_FAILURE(st)) {
			x->pg = NULL;
			return icu_fail(x, "date patterns", st);
		}
	}
	u_uastrcpy(skel, skeletons[f]);
	n = udatpg_getBestPattern(x->pg, skel, -1, pat, ARRAY_SIZE(pat), &st);
	if (U_FAILURE(st) || n >= (int32_t)ARRAY_SIZE(pat))
		return icu_fail(x, "date pattern", st);
	u_uastrcpy(zone, x->o.zone); /* checked: ASCII, shorter than 64 */
	x->df[f] = udat_open(UDAT_PATTERN, UDAT_PATTERN, x->o.loc, zone, -1, pat, n, &st);
	if (U_FAILURE(st)) {
		x->df[f] = NULL;
		return icu_fail(x, "date format", st);
	}
	*out = x->df[f];
	return 0;
}

static int date_text(struct ctx *x, enum dform f, int64_t ms, char *out, size_t cap)
{
	UErrorCode st = U_ZERO_ERROR;
	UDateFormat *df;
	UChar u[TEXT_MAX];
	int32_t n;
	int rc = date_fmt(x, f, &df);

	if (rc)
		return rc;
	n = udat_format(df, (UDate)ms, u, TEXT_MAX, NULL, &st);
	if (U_FAILURE(st) || n >= TEXT_MAX)
		return icu_fail(x, "date", st);
	if (to_utf8(u, n, out, cap))
		return icu_fail(x, "date text", st);
	return 0;
}

/* The short stand-alone name of day d (0 = Monday) in the language. */
static int weekday_text(struct ctx *x, int d, char *out, size_t cap)
{
	if (!x->l10n)
		x->l10n = l10n_new(x->o.lang);
	if (l10n_weekday(x->l10n, d, false, out, cap))
		return err_set(x->e, ERR_INTERNAL, "chart: icu weekday name failed");
	return 0;
}

/* ---- input ---------------------------------------------------------------------- */

static int check_text(const char *s, const char *what, struct err *e)
{
	size_t n;

	if (!s)
		return 0;
	n = strlen(s);
	if (n > CHART_TEXT_MAX)
		return err_set(e, ERR_INVALID, "chart: %s is longer than %d bytes", what,
		               CHART_TEXT_MAX);
	if (utf8_check(s, n, false) != n)
		return err_set(e, ERR_INVALID, "chart: %s is not UTF-8", what);
	return 0;
}

/* Check c against the rules of chart.h and fill o with the defaults
 * applied. */
static int resolve(const struct chart *c, struct opts *o, struct err *e)
{
	int rc;

	if (c->kind != CHART_LINE && c->kind != CHART_BARS && c->kind != CHART_HEATMAP)
		return err_set(e, ERR_INVALID, "chart: unknown kind %d", (int)c->kind);
	o->lang = i18n_match(has_text(c->lang) ? c->lang : I18N_DEFAULT);
	o->loc = l10n_locale(o->lang);
	o->zone = has_text(c->zone) ? c->zone : "UTC";
	if (!tz_valid(o->zone))
		return err_set(e, ERR_INVALID, "chart: unknown time zone");
	o->width = c->width ? c->width : CHART_WIDTH;
	o->height = c->height ? c->height : CHART_HEIGHT;
	o->scale = c->scale ? c->scale : 1;
	if (o->width < CHART_SIZE_MIN || o->width > CHART_SIZE_MAX || o->height < CHART_SIZE_MIN ||
	    o->height > CHART_SIZE_MAX)
		return err_set(e, ERR_INVALID, "chart: size %dx%d is outside %d..%d", o->width,
		               o->height, CHART_SIZE_MIN, CHART_SIZE_MAX);
	if (o->scale < 1 || o->scale > CHART_SCALE_MAX)
		return err_set(e, ERR_INVALID, "chart: scale %d is outside 1..%d", o->scale,
		               CHART_SCALE_MAX);
	if ((rc = check_text(c->title, "title", e)) ||
	    (rc = check_text(c->x_label, "x label", e)) ||
	    (rc = check_text(c->y_label, "y label", e)))
		return rc;
	if (c->kind == CHART_HEATMAP) {
		for (size_t i = 0; c->heat && i < CHART_DAYS * CHART_HOURS; i++)
			if (isinf(c->heat[i]))
				return err_set(e, ERR_INVALID, "chart: heat value %zu is infinite",
				               i);
		return 0;
	}
	if (c->nseries > CHART_SERIES_MAX)
		return err_set(e, ERR_INVALID, "chart: %zu series, at most %d", c->nseries,
		               CHART_SERIES_MAX);
	for (size_t k = 0; k < c->nseries; k++) {
		const struct chart_series *s = &c->series[k];

		if ((rc = check_text(s->name, "series name", e)))
			return rc;
		if (s->n > CHART_POINTS_MAX)
			return err_set(e, ERR_INVALID,
			               "chart: series %zu has %zu points, at most %d", k, s->n,
			               CHART_POINTS_MAX);
		if (s->n > 0 && !s->pts)
			return err_set(e, ERR_INVALID, "chart: series %zu has no points array", k);
		if (s->step_ms < 0)
			return err_set(e, ERR_INVALID, "chart: series %zu has a negative step", k);
		for (size_t i = 0; i < s->n; i++) {
			if (isinf(s->pts[i].y))
				return err_set(e, ERR_INVALID,
				               "chart: series %zu point %zu is infinite", k, i);
			if (s->pts[i].x_ms < X_MIN || s->pts[i].x_ms > X_MAX)
				return err_set(e, ERR_INVALID,
				               "chart: series %zu point %zu is outside the years "
				               "1901..9998",
				               k, i);
			if (i > 0 && s->pts[i].x_ms < s->pts[i - 1].x_ms)
				return err_set(
				    e, ERR_INVALID,
				    "chart: series %zu point %zu is before the one before it", k,
				    i);
		}
	}
	return 0;
}

static bool is_empty(const struct chart *c)
{
	if (c->kind == CHART_HEATMAP) {
		for (size_t i = 0; c->heat && i < CHART_DAYS * CHART_HOURS; i++)
			if (!isnan(c->heat[i]))
				return false;
		return true;
	}
	for (size_t k = 0; k < c->nseries; k++)
		for (size_t i = 0; i < c->series[k].n; i++)
			if (!isnan(c->series[k].pts[i].y))
				return false;
	return true;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The series' own step, or the median of its positive spacings (0 when it
 * has none). */
static int64_t series_step(const struct chart_series *s)
{
	int64_t *d, step = 0;
	size_t n = 0;

	if (s->step_ms > 0 || s->n < 2)
		return s->step_ms;
	d = xmalloc((s->n - 1) * sizeof(*d));
	for (size_t i = 1; i < s->n; i++)
		if (s->pts[i].x_ms > s->pts[i - 1].x_ms)
			d[n++] = s->pts[i].x_ms - s->pts[i - 1].x_ms;
	if (n > 0) {
		qsort(d, n, sizeof(*d), cmp_i64);
		step = d[n / 2];
	}
	free(d);
	return step;
}

/* ---- downsampling --------------------------------------------------------------- */

static size_t column_of(int64_t xv, int64_t x0, int64_t x1, size_t columns)
{
	double f;

	if (x1 <= x0 || xv <= x0)
		return 0;
	f = (double)(xv - x0) / (double)(x1 - x0) * (double)columns;
	return f >= (double)columns ? columns - 1 : (size_t)f;
}

size_t chart_downsample(const struct chart_point *pts, size_t n, int64_t x0, int64_t x1,
                        size_t columns, struct chart_point *out)
{
	size_t w = 0, i = 0;

	if (columns == 0)
		columns = 1;
	while (i < n) {
		size_t col, j, k[4], m = 0;

		if (isnan(pts[i].y)) {
			/* One break for a run of them, none before the first point. */
			if (w > 0 && !isnan(out[w - 1].y))
				out[w++] = pts[i];
			i++;
			continue;
		}
		col = column_of(pts[i].x_ms, x0, x1, columns);
		k[0] = k[1] = k[2] = k[3] = i; /* first, lowest, highest, last */
		for (j = i + 1;
		     j < n && !isnan(pts[j].y) && column_of(pts[j].x_ms, x0, x1, columns) == col;
		     j++) {
			if (pts[j].y < pts[k[1]].y)
				k[1] = j;
			if (pts[j].y > pts[k[2]].y)
				k[2] = j;
			k[3] = j;
		}
		if (k[1] > k[2]) {
			size_t t = k[1];

			k[1] = k[2];
			k[2] = t;
		}
		/* k is now in order; every index is >= w, so out may be pts. */
		for (size_t q = 0; q < 4; q++)
			if (m == 0 || k[q] != k[m - 1])
				k[m++] = k[q];
		for (size_t q = 0; q < m; q++)
			out[w++] = pts[k[q]];
		i = j;
	}
	return w;
}

/*
 * The points of series s ready to draw, in a new array (*n of them; the
 * caller frees it): a break before each point more than BREAK_STEPS steps
 * after the one before (when breaks), then downsampled to the plot's pixel
 * columns when there are more points than columns.
 */
static struct chart_point *prepare(struct ctx *x, const struct chart_series *s, int64_t step,
                                   bool breaks, size_t *n)
{
	struct chart_point *p = xmalloc((2 * s->n + 1) * sizeof(*p));
	size_t m = 0, columns = (size_t)fmax(1, ceil(x->plot.w * x->dev));

	for (size_t i = 0; i < s->n; i++) {
		if (breaks && step > 0 && i > 0 &&
		    (double)(s->pts[i].x_ms - s->pts[i - 1].x_ms) > BREAK_STEPS * (double)step)
			p[m++] = (struct chart_point){s->pts[i].x_ms, NAN};
		p[m++] = s->pts[i];
	}
	if (m > columns)
		m = chart_downsample(p, m, x->x0, x->x1, columns, p);
	*n = m;
	return p;
}

/* ---- layout -------------------------------------------------------------------- */

static double px_of(const struct ctx *x, int64_t t)
{
	return x->plot.x + (double)(t - x->x0) / (double)(x->x1 - x->x0) * x->plot.w;
}

static double py_of(const struct ctx *x, double v)
{
	return x->plot.y + x->plot.h - (v - x->y_lo) / (x->y_hi - x->y_lo) * x->plot.h;
}

/* The smallest 1, 2 or 5 times a power of ten that is at least raw. */
static double nice_step(double raw)
{
	double p = pow(10, floor(log10(raw)));

	if (raw <= p)
		return p;
	if (raw <= 2 * p)
		return 2 * p;
	if (raw <= 5 * p)
		return 5 * p;
	return 10 * p;
}

/* The y axis of a line or bars: range, step and label digits. */
static int y_axis(struct ctx *x)
{
	const struct chart *c = x->c;
	double lo = INFINITY, hi = -INFINITY, span, step;
	int target;

	for (size_t k = 0; k < c->nseries; k++)
		for (size_t i = 0; i < c->series[k].n; i++) {
			double v = c->series[k].pts[i].y;

			if (!isnan(v)) {
				lo = fmin(lo, v);
				hi = fmax(hi, v);
			}
		}
	if (c->kind == CHART_BARS || c->y_zero) {
		lo = fmin(lo, 0);
		hi = fmax(hi, 0);
	}
	span = hi - lo;
	if (!isfinite(span))
		return err_set(x->e, ERR_INVALID, "chart: values span more than a double holds");
	if (span == 0)
		span = lo == 0 ? 1 : fabs(lo) * 0.1;
	if (c->kind == CHART_LINE && !c->y_zero) {
		/* A margin around the line, but not below 0 for counts. */
		double pad_lo = lo - 0.05 * span;

		lo = lo >= 0 && pad_lo < 0 ? 0 : pad_lo;
	}
	if (hi > 0 || lo == hi)
		hi += 0.05 * span;
	if (lo < 0 && c->kind == CHART_BARS)
		lo -= 0.05 * span;
	target = (int)fmax(2, floor(x->plot.h / Y_SPACING));
	step = nice_step((hi - lo) / target);
	if (!(step > 0) || !isfinite(step))
		return err_set(x->e, ERR_INVALID, "chart: values out of range");
	x->y_step = step;
	x->y_lo = floor(lo / step) * step;
	x->y_hi = ceil(hi / step) * step;
	if (x->y_hi <= x->y_lo)
		x->y_hi = x->y_lo + step;
	while ((x->y_hi - x->y_lo) / step + 1 > YTICKS_MAX) {
		/* Rounding at the edges of a double's precision. */
		step *= 2;
		x->y_step = step;
		x->y_lo = floor(lo / step) * step;
		x->y_hi = ceil(hi / step) * step;
	}
	x->y_digits = digits_for(step);
	return 0;
}

static size_t y_ticks(const struct ctx *x)
{
	return (size_t)llround((x->y_hi - x->y_lo) / x->y_step) + 1;
}

static double y_tick(const struct ctx *x, size_t i)
{
	return x->y_lo + (double)i * x->y_step;
}

/* The local boundaries of step s in [from, to] into t[0..*n), each with its
 * label form. -ERR_TOO_BIG when there are more than XTICKS_MAX. */
static int tick_times(struct ctx *x, const struct tstep *s, int64_t from, int64_t to, int64_t *t,
                      enum dform *form, size_t *n)
{
	struct when_local lt;
	int64_t day;
	int wd;
	int rc;

	*n = 0;
	if ((rc = when_to_local(x->o.zone, from, &lt, &wd, NULL, x->e)))
		return rc;
	day = days_of(lt.year, lt.month, lt.day);
	switch (s->unit) {
	case T_MINUTE:
		lt.minute -= lt.minute % s->n;
		break;
	case T_HOUR:
		lt.minute = 0;
		lt.hour -= lt.hour % s->n;
		break;
	case T_DAY:
		lt.hour = lt.minute = 0;
		if (s->n == 7)
			local_add(&lt, T_DAY, 1 - wd); /* back to Monday */
		else                                   /* back to a day number divisible by n */
			local_add(&lt, T_DAY, -(int)(day - floor_div(day, s->n) * s->n));
		break;
	case T_MONTH:
		lt.hour = lt.minute = 0;
		lt.day = 1;
		lt.month -= (lt.month - 1) % s->n;
		break;
	case T_YEAR:
		lt.hour = lt.minute = 0;
		lt.day = lt.month = 1;
		lt.year -= lt.year % s->n;
		break;
	}
	/* Bounded: each pass moves lt one step forward. */
	for (size_t pass = 0; pass < 4 * XTICKS_MAX; pass++, local_add(&lt, s->unit, s->n)) {
		int64_t ms;

		if (lt.year < 1900 || lt.year > 9999)
			break;
		if (when_to_utc(x->o.zone, &lt, &ms, NULL, NULL))
			break;
		if (ms > to)
			break;
		if (ms < from || (*n > 0 && ms <= t[*n - 1]))
			continue;
		if (*n == XTICKS_MAX)
			return -ERR_TOO_BIG;
		switch (s->unit) {
		case T_MINUTE:
		case T_HOUR:
			form[*n] = lt.hour == 0 && lt.minute == 0 ? D_DAY : D_TIME;
			break;
		case T_DAY:
			form[*n] = D_DAY;
			break;
		case T_MONTH:
			form[*n] = *n == 0 || lt.month == 1 ? D_MONTH_YEAR : D_MONTH;
			break;
		case T_YEAR:
			form[*n] = D_YEAR;
			break;
		}
		t[(*n)++] = ms;
	}
	return 0;
}

/*
 * The x ticks: the finest step of the ladder whose labels fit side by side.
 * Bars put a tick at the middle of the period that starts there, under its
 * bar. No step fits: no ticks.
 */
static int x_axis(struct ctx *x)
{
	int64_t t[XTICKS_MAX], off = 0, last = x->x1;
	enum dform form[XTICKS_MAX];
	double room = x->plot.w;

	if (x->c->kind == CHART_BARS) {
		off = x->bar_step / 2;
		last = x->x1 - x->bar_step;
	}
	x->nxt = 0;
	for (size_t i = 0; i < ARRAY_SIZE(tsteps); i++) {
		const struct tstep *s = &tsteps[i];
		double prev_w = 0;
		bool fits = true;
		size_t n;
		int rc;

		if ((double)(last - x->x0) / (double)s->approx > room / LABEL_GAP)
			continue;
		rc = tick_times(x, s, x->x0, last, t, form, &n);
		if (rc == -ERR_TOO_BIG)
			continue;
		if (rc)
			return rc;
		/* Two neighbours' labels, each centred on its tick, must not
		 * come closer than LABEL_GAP. */
		for (size_t k = 0; k < n && fits; k++) {
			struct xtick *xt = &x->xt[k];
			double w;

			if ((rc = date_text(x, form[k], t[k], xt->text, sizeof(xt->text))))
				return rc;
			xt->px = px_of(x, t[k] + off);
			w = text_width(x, F_TICK, xt->text);
			if (k > 0 && xt->px - x->xt[k - 1].px < (prev_w + w) / 2 + LABEL_GAP)
				fits = false;
			prev_w = w;
		}
		if (fits) {
			x->nxt = n;
			return 0;
		}
	}
	return 0;
}

static bool want_legend(const struct chart *c)
{
	if (c->kind == CHART_HEATMAP)
		return false;
	for (size_t k = 0; k < c->nseries; k++)
		if (has_text(c->series[k].name))
			return true;
	return false;
}

/* The time range: from the first point to the last, or to the end of the
 * last bar. */
static void x_range(struct ctx *x)
{
	const struct chart *c = x->c;
	int64_t lo = INT64_MAX, hi = INT64_MIN;

	x->bar_step = 0;
	for (size_t k = 0; k < c->nseries; k++) {
		const struct chart_series *s = &c->series[k];

		x->steps[k] = series_step(s);
		if (s->n == 0)
			continue;
		lo = s->pts[0].x_ms < lo ? s->pts[0].x_ms : lo;
		hi = s->pts[s->n - 1].x_ms > hi ? s->pts[s->n - 1].x_ms : hi;
		if (x->steps[k] > 0 && (x->bar_step == 0 || x->steps[k] < x->bar_step))
			x->bar_step = x->steps[k];
	}
	if (x->bar_step == 0)
		x->bar_step = DAY_MS;
	if (c->kind == CHART_BARS)
		hi += x->bar_step;
	else if (hi == lo) {
		/* One instant: half a step either side. */
		lo -= x->bar_step / 2;
		hi += x->bar_step / 2;
	}
	x->x0 = lo;
	x->x1 = hi;
}

/* Heatmap value range and label digits. */
static void heat_range(struct ctx *x)
{
	x->h_min = INFINITY;
	x->h_max = -INFINITY;
	for (size_t i = 0; i < CHART_DAYS * CHART_HOURS; i++)
		if (!isnan(x->c->heat[i])) {
			x->h_min = fmin(x->h_min, x->c->heat[i]);
			x->h_max = fmax(x->h_max, x->c->heat[i]);
		}
	x->h_digits = x->h_max > x->h_min ? digits_for(nice_step((x->h_max - x->h_min) / 4)) : 0;
	if (x->h_digits == 0 && (x->h_min != floor(x->h_min) || x->h_max != floor(x->h_max)))
		x->h_digits = 1;
}

static int layout(struct ctx *x)
{
	const struct chart *c = x->c;
	double W = x->o.width, H = x->o.height, top = PAD, bottom = PAD, left = PAD, right = PAD;
	double h, widest = 0;
	char s[TEXT_MAX];
	int rc;

	x->title_y = PAD;
	if (has_text(c->title)) {
		text_set(x, F_TITLE, c->title, W - 2 * PAD, NULL, &h);
		top += h + 10;
	}
	x->legend = want_legend(c);
	x->legend_y = top;
	if (x->legend)
		top += text_height(x, F_LABEL) + 8;
	x->tick_h = text_height(x, F_TICK);
	if (has_text(c->x_label))
		bottom += text_height(x, F_LABEL) + 6;
	x->xlabel_y = H - bottom + 6;
	bottom += x->tick_h + TICK_LEN + 4;
	if (has_text(c->y_label))
		left += text_height(x, F_LABEL) + 8;
	x->plot.y = top;
	x->plot.h = H - top - bottom;

	if (c->kind == CHART_HEATMAP) {
		heat_range(x);
		for (int d = 0; d < CHART_DAYS; d++) {
			if ((rc = weekday_text(x, d, s, sizeof(s))))
				return rc;
			widest = fmax(widest, text_width(x, F_TICK, s));
		}
		left += widest + 8;
		widest = 0;
		for (int k = 0; k < 2; k++) {
			if ((rc = num_text(x, k ? x->h_max : x->h_min, x->h_digits, s, sizeof(s))))
				return rc;
			widest = fmax(widest, text_width(x, F_TICK, s));
		}
		right += 12 + LEGEND_BAR + 6 + widest;
		x->plot.x = left;
		x->plot.w = W - left - right;
		return 0;
	}

	x_range(x);
	if ((rc = y_axis(x)))
		return rc;
	for (size_t i = 0; i < y_ticks(x); i++) {
		if ((rc = num_text(x, y_tick(x, i), x->y_digits, s, sizeof(s))))
			return rc;
		widest = fmax(widest, text_width(x, F_TICK, s));
	}
	left += widest + 8;
	right += PAD; /* room for the last date label */
	x->plot.x = left;
	x->plot.w = W - left - right;
	return x_axis(x);
}

/* ---- drawing --------------------------------------------------------------------- */

static void draw_title(struct ctx *x)
{
	if (has_text(x->c->title))
		text_at(x, F_TITLE, x->c->title, x->o.width - 2 * PAD, PAD, x->title_y, 0, 0,
		        rgb_of(C_TEXT));
}

static void draw_empty(struct ctx *x)
{
	draw_title(x);
	text_at(x, F_EMPTY, _(x->o.lang, "No data yet"), x->o.width - 2 * PAD, x->o.width / 2.0,
	        x->o.height / 2.0, 0.5, 0.5, rgb_of(C_MUTED));
}

static void draw_axis_labels(struct ctx *x)
{
	const struct chart *c = x->c;
	double w, h;

	if (has_text(c->x_label))
		text_at(x, F_LABEL, c->x_label, x->plot.w, x->plot.x + x->plot.w / 2, x->xlabel_y,
		        0.5, 0, rgb_of(C_MUTED));
	if (has_text(c->y_label)) {
		text_set(x, F_LABEL, c->y_label, x->plot.h, &w, &h);
		cairo_save(x->cr);
		cairo_translate(x->cr, PAD, x->plot.y + x->plot.h / 2);
		cairo_rotate(x->cr, -M_PI / 2);
		pango_cairo_update_layout(x->cr, x->lay);
		set_rgb(x->cr, rgb_of(C_MUTED));
		cairo_move_to(x->cr, -w / 2, 0);
		pango_cairo_show_layout(x->cr, x->lay);
		cairo_restore(x->cr);
		pango_cairo_update_layout(x->cr, x->lay);
	}
}

static void draw_legend(struct ctx *x)
{
	const struct chart *c = x->c;
	double px = x->plot.x, h = text_height(x, F_LABEL), w;

	for (size_t k = 0; k < c->nseries; k++) {
		if (!has_text(c->series[k].name))
			continue;
		set_rgb(x->cr, rgb_of(c_series[k]));
		cairo_rectangle(x->cr, snap(x, px), snap(x, x->legend_y + h / 2 - 5), 10, 10);
		cairo_fill(x->cr);
		text_set(x, F_LABEL, c->series[k].name, x->o.width / 3.0, &w, NULL);
		text_at(x, F_LABEL, c->series[k].name, x->o.width / 3.0, px + 16, x->legend_y, 0, 0,
		        rgb_of(C_TEXT));
		px += 16 + w + 24;
	}
}

static int draw_y_axis(struct ctx *x)
{
	char s[TEXT_MAX];
	int rc;

	cairo_set_line_width(x->cr, 1);
	for (size_t i = 0; i < y_ticks(x); i++) {
		double v = y_tick(x, i), py = crisp(x, py_of(x, v), 1);

		set_rgb(x->cr, fabs(v) < x->y_step / 2 && i > 0 ? rgb_of(C_AXIS) : rgb_of(C_GRID));
		cairo_move_to(x->cr, x->plot.x, py);
		cairo_line_to(x->cr, x->plot.x + x->plot.w, py);
		cairo_stroke(x->cr);
		if ((rc = num_text(x, v, x->y_digits, s, sizeof(s))))
			return rc;
		text_at(x, F_TICK, s, 0, x->plot.x - 8, py_of(x, v), 1, 0.5, rgb_of(C_MUTED));
	}
	return 0;
}

static void draw_x_axis(struct ctx *x)
{
	double base = crisp(x, x->plot.y + x->plot.h, 1), w;

	cairo_set_line_width(x->cr, 1);
	set_rgb(x->cr, rgb_of(C_AXIS));
	cairo_move_to(x->cr, x->plot.x, base);
	cairo_line_to(x->cr, x->plot.x + x->plot.w, base);
	cairo_stroke(x->cr);
	for (size_t k = 0; k < x->nxt; k++) {
		double px = crisp(x, x->xt[k].px, 1), lx;

		set_rgb(x->cr, rgb_of(C_AXIS));
		cairo_move_to(x->cr, px, base);
		cairo_line_to(x->cr, px, base + TICK_LEN);
		cairo_stroke(x->cr);
		/* Centred on its tick, but kept inside the chart. */
		text_set(x, F_TICK, x->xt[k].text, 0, &w, NULL);
		lx = fmin(fmax(x->xt[k].px - w / 2, PAD / 2), x->o.width - PAD / 2 - w);
		text_at(x, F_TICK, x->xt[k].text, 0, lx, base + TICK_LEN + 3, 0, 0,
		        rgb_of(C_MUTED));
	}
}

static void draw_line(struct ctx *x, size_t k)
{
	size_t n, run = 0;
	struct chart_point *p = prepare(x, &x->c->series[k], x->steps[k], true, &n);
	cairo_t *cr = x->cr;

	set_rgb(cr, rgb_of(c_series[k]));
	cairo_set_line_width(cr, LINE_W);
	cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
	cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
	for (size_t i = 0; i <= n; i++) {
		if (i == n || isnan(p[i].y)) {
			/* A point alone between breaks: a segment of length 0,
			 * which a round cap strokes as a dot. */
			if (run == 1) {
				double px, py;

				cairo_get_current_point(cr, &px, &py);
				cairo_line_to(cr, px, py);
			}
			run = 0;
			continue;
		}
		if (run++ == 0)
			cairo_move_to(cr, px_of(x, p[i].x_ms), py_of(x, p[i].y));
		else
			cairo_line_to(cr, px_of(x, p[i].x_ms), py_of(x, p[i].y));
	}
	cairo_stroke(cr);
	free(p);
}

static void draw_bars(struct ctx *x, size_t k)
{
	size_t n, m = x->c->nseries;
	struct chart_point *p = prepare(x, &x->c->series[k], x->steps[k], false, &n);
	double base = py_of(x, fmin(fmax(0, x->y_lo), x->y_hi)), one = 1 / x->dev;
	cairo_t *cr = x->cr;

	set_rgb(cr, rgb_of(c_series[k]));
	for (size_t i = 0; i < n; i++) {
		double a, b, w, top;

		if (isnan(p[i].y))
			continue;
		a = px_of(x, p[i].x_ms);
		b = px_of(x, p[i].x_ms + x->bar_step);
		if ((b - a) * 0.7 >= 2 * one) {
			/* A margin of 15% either side when there is room for it. */
			w = b - a;
			a += 0.15 * w;
			b -= 0.15 * w;
		}
		w = (b - a) / (double)m;
		a = snap(x, a + (double)k * w);
		b = fmax(snap(x, a + w), a + one);
		top = snap(x, py_of(x, p[i].y));
		cairo_rectangle(cr, a, fmin(top, snap(x, base)), b - a, fabs(snap(x, base) - top));
	}
	cairo_fill(cr);
	free(p);
}

static void heat_colour(double t, struct rgb *c)
{
	double seg = fmin(fmax(t, 0), 1) * (double)(ARRAY_SIZE(c_heat) - 1);
	size_t i = (size_t)seg;
	struct rgb a, b;
	double f;

	if (i >= ARRAY_SIZE(c_heat) - 1)
		i = ARRAY_SIZE(c_heat) - 2;
	f = seg - (double)i;
	a = rgb_of(c_heat[i]);
	b = rgb_of(c_heat[i + 1]);
	c->r = a.r + (b.r - a.r) * f;
	c->g = a.g + (b.g - a.g) * f;
	c->b = a.b + (b.b - a.b) * f;
}

static int draw_heatmap(struct ctx *x)
{
	const struct chart_rect *r = &x->plot;
	double cw = r->w / CHART_HOURS, ch = r->h / CHART_DAYS, gap = 2 / x->dev, w;
	int every = 1, rc;
	char s[TEXT_MAX];
	cairo_t *cr = x->cr;
	cairo_pattern_t *grad;

	for (int d = 0; d < CHART_DAYS; d++) {
		double top = snap(x, r->y + d * ch), bot = snap(x, r->y + (d + 1) * ch) - gap;

		for (int hr = 0; hr < CHART_HOURS; hr++) {
			double v = x->c->heat[d * CHART_HOURS + hr];
			double lft = snap(x, r->x + hr * cw),
			       rgt = snap(x, r->x + (hr + 1) * cw) - gap;
			struct rgb col;

			cairo_rectangle(cr, lft, top, rgt - lft, bot - top);
			if (!isnan(v)) {
				heat_colour(x->h_max > x->h_min
				                ? (v - x->h_min) / (x->h_max - x->h_min)
				                : 0.5,
				            &col);
				set_rgb(cr, col);
				cairo_fill(cr);
				continue;
			}
			/* No data: grey, hatched. */
			set_rgb(cr, rgb_of(C_NODATA));
			cairo_fill_preserve(cr);
			cairo_save(cr);
			cairo_clip(cr);
			set_rgb(cr, rgb_of(C_HATCH));
			cairo_set_line_width(cr, 1);
			for (double o = -(bot - top); o < rgt - lft; o += 6) {
				cairo_move_to(cr, lft + o, bot);
				cairo_line_to(cr, lft + o + (bot - top), top);
			}
			cairo_stroke(cr);
			cairo_restore(cr);
		}
		if ((rc = weekday_text(x, d, s, sizeof(s))))
			return rc;
		text_at(x, F_TICK, s, 0, r->x - 8, r->y + (d + 0.5) * ch, 1, 0.5, rgb_of(C_MUTED));
	}
	/* Hour labels: every hour, or every 2, 3 or 6 when they do not fit. */
	w = text_width(x, F_TICK, "00") + 6;
	while (every < 6 && cw * every < w)
		every = every == 3 ? 6 : every + 1;
	for (int hr = 0; hr < CHART_HOURS; hr += every) {
		snprintf(s, sizeof(s), "%02d", hr);
		text_at(x, F_TICK, s, 0, r->x + (hr + 0.5) * cw - gap / 2, r->y + r->h + 4, 0.5, 0,
		        rgb_of(C_MUTED));
	}
	/* The colour scale: highest at the top. */
	{
		double bx = r->x + r->w + 12, by = snap(x, r->y), bh = snap(x, r->h - gap);

		grad = cairo_pattern_create_linear(0, by + bh, 0, by);
		for (size_t i = 0; i < ARRAY_SIZE(c_heat); i++) {
			struct rgb stop = rgb_of(c_heat[i]);

			cairo_pattern_add_color_stop_rgb(grad, (double)i / (ARRAY_SIZE(c_heat) - 1),
			                                 stop.r, stop.g, stop.b);
		}
		cairo_rectangle(cr, snap(x, bx), by, LEGEND_BAR, bh);
		cairo_set_source(cr, grad);
		cairo_fill(cr);
		cairo_pattern_destroy(grad);
		if ((rc = num_text(x, x->h_max, x->h_digits, s, sizeof(s))))
			return rc;
		text_at(x, F_TICK, s, 0, bx + LEGEND_BAR + 6, by, 0, 0, rgb_of(C_MUTED));
		if ((rc = num_text(x, x->h_min, x->h_digits, s, sizeof(s))))
			return rc;
		text_at(x, F_TICK, s, 0, bx + LEGEND_BAR + 6, by + bh, 0, 1, rgb_of(C_MUTED));
	}
	return 0;
}

/* ---- one render ---------------------------------------------------------------- */

static void ctx_close(struct ctx *x)
{
	for (int f = 0; f < F_MAX; f++)
		if (x->fonts[f])
			pango_font_description_free(x->fonts[f]);
	if (x->lay)
		g_object_unref(x->lay);
	if (x->pc)
		g_object_unref(x->pc);
	l10n_free(x->l10n);
	for (int f = 0; f < D_MAX; f++)
		if (x->df[f])
			udat_close(x->df[f]);
	if (x->pg)
		udatpg_close(x->pg);
}

/* Set x up to lay out and draw c with o on cr, then lay it out. */
static int ctx_open(struct ctx *x, const struct chart *c, const struct opts *o, cairo_t *cr,
                    struct err *e)
{
	static const struct {
		int px;
		bool bold;
	} fonts[F_MAX] = {{TITLE_PX, true}, {LABEL_PX, false}, {TICK_PX, false}, {EMPTY_PX, false}};
	cairo_font_options_t *fo;
	double dx = 1, dy = 0;

	memset(x, 0, sizeof(*x));
	x->c = c;
	x->o = *o;
	x->cr = cr;
	x->e = e;
	cairo_user_to_device_distance(cr, &dx, &dy);
	x->dev = fmax(hypot(dx, dy), 1e-3);
	/* Fixed options: grey antialiasing, no hinting, unhinted metrics. */
	x->pc = pango_cairo_create_context(cr);
	fo = cairo_font_options_create();
	cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	pango_cairo_context_set_font_options(x->pc, fo);
	cairo_font_options_destroy(fo);
	x->lay = pango_layout_new(x->pc);
	pango_layout_set_ellipsize(x->lay, PANGO_ELLIPSIZE_END);
	pango_layout_set_single_paragraph_mode(x->lay, TRUE);
	for (int f = 0; f < F_MAX; f++) {
		x->fonts[f] = pango_font_description_from_string(FONT);
		pango_font_description_set_absolute_size(x->fonts[f], fonts[f].px * PANGO_SCALE);
		if (fonts[f].bold)
			pango_font_description_set_weight(x->fonts[f], PANGO_WEIGHT_BOLD);
	}
	x->empty = is_empty(c);
	return x->empty ? 0 : layout(x);
}

static int draw(const struct chart *c, const struct opts *o, cairo_t *cr, struct err *e)
{
	struct ctx x;
	int rc;

	cairo_save(cr);
	rc = ctx_open(&x, c, o, cr, e);
	if (rc)
		goto out;
	set_rgb(cr, rgb_of(C_BG));
	cairo_rectangle(cr, 0, 0, o->width, o->height);
	cairo_fill(cr);
	if (x.empty) {
		draw_empty(&x);
		goto done;
	}
	draw_title(&x);
	draw_axis_labels(&x);
	if (c->kind == CHART_HEATMAP) {
		rc = draw_heatmap(&x);
		goto done;
	}
	if (x.legend)
		draw_legend(&x);
	if ((rc = draw_y_axis(&x)))
		goto out;
	cairo_save(cr);
	cairo_rectangle(cr, x.plot.x - LINE_W, x.plot.y - LINE_W, x.plot.w + 2 * LINE_W,
	                x.plot.h + 2 * LINE_W);
	cairo_clip(cr);
	for (size_t k = 0; k < c->nseries; k++) {
		if (c->kind == CHART_LINE)
			draw_line(&x, k);
		else
			draw_bars(&x, k);
	}
	cairo_restore(cr);
	draw_x_axis(&x);
done:
	if (rc == 0 && cairo_status(cr) != CAIRO_STATUS_SUCCESS)
		rc = err_set(e, ERR_INTERNAL, "chart: cairo: %s",
		             cairo_status_to_string(cairo_status(cr)));
out:
	ctx_close(&x);
	cairo_restore(cr);
	return rc;
}

/* ---- outputs -------------------------------------------------------------------- */

struct sink {
	struct buf *b;
	int rc;
};

static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int len)
{
	struct sink *s = closure;

	if (s->rc == 0)
		s->rc = buf_add(s->b, data, len);
	return s->rc ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

/* After a surface was written to s: 0, or the error of the sink or of
 * cairo. */
static int sink_result(const struct sink *s, cairo_status_t st, const char *what, struct err *e)
{
	if (s->rc)
		return err_set(e, -s->rc, "chart: %s: the output is over %zu bytes", what,
		               s->b->max);
	if (st != CAIRO_STATUS_SUCCESS)
		return err_set(e, ERR_INTERNAL, "chart: %s: %s", what, cairo_status_to_string(st));
	return 0;
}

int chart_png(const struct chart *c, struct buf *out, struct err *e)
{
	struct opts o;
	struct sink sink = {out, 0};
	cairo_surface_t *s;
	cairo_t *cr;
	int rc = resolve(c, &o, e);

	if (rc)
		return rc;
	s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, o.width * o.scale, o.height * o.scale);
	cr = cairo_create(s);
	cairo_scale(cr, o.scale, o.scale);
	rc = draw(c, &o, cr, e);
	cairo_destroy(cr);
	if (rc == 0) {
		cairo_surface_flush(s);
		rc = sink_result(&sink, cairo_surface_write_to_png_stream(s, sink_write, &sink),
		                 "png", e);
	}
	cairo_surface_destroy(s);
	return rc;
}

/*
 * Copy the SVG in[0..n) to out with cairo's surface ids ("surface17", from a
 * counter of every surface the process made) renumbered from 1 in order of
 * appearance, so the same chart gives the same bytes. Other ids (clips,
 * gradients, glyphs) are counted per document already.
 */
static int svg_ids(const char *in, size_t n, struct buf *out)
{
	static const char word[] = "surface";
	const size_t wl = sizeof(word) - 1;
	struct str *seen = NULL;
	size_t nseen = 0, i = 0, from = 0;
	int rc = 0;

	while (rc == 0 && i + wl < n) {
		const char *p = memmem(in + i, n - i, word, wl);
		size_t d, k;

		if (!p)
			break;
		i = (size_t)(p - in) + wl;
		for (d = i; d < n && in[d] >= '0' && in[d] <= '9'; d++)
			;
		if (d == i)
			continue;
		for (k = 0; k < nseen; k++)
			if (str_eq(seen[k], (struct str){in + i, d - i}))
				break;
		if (k == nseen) {
			seen = xrealloc(seen, (nseen + 1) * sizeof(*seen));
			seen[nseen++] = (struct str){in + i, d - i};
		}
		if ((rc = buf_add(out, in + from, i - from)) == 0)
			rc = buf_printf(out, "%zu", k + 1);
		from = i = d;
	}
	if (rc == 0)
		rc = buf_add(out, in + from, n - from);
	free(seen);
	return rc;
}

int chart_svg(const struct chart *c, struct buf *out, struct err *e)
{
	struct opts o;
	struct buf doc;
	struct sink sink = {&doc, 0};
	cairo_surface_t *s;
	cairo_t *cr;
	int rc = resolve(c, &o, e);

	if (rc)
		return rc;
	buf_init(&doc, out->max - out->len);
	s = cairo_svg_surface_create_for_stream(sink_write, &sink, o.width, o.height);
	cairo_svg_surface_restrict_to_version(s, CAIRO_SVG_VERSION_1_1);
	cairo_svg_surface_set_document_unit(s, CAIRO_SVG_UNIT_PX);
	cr = cairo_create(s);
	rc = draw(c, &o, cr, e);
	cairo_destroy(cr);
	cairo_surface_finish(s);
	if (rc == 0)
		rc = sink_result(&sink, cairo_surface_status(s), "svg", e);
	cairo_surface_destroy(s);
	if (rc == 0 && (rc = svg_ids(doc.p, doc.len, out)))
		rc = err_set(e, -rc, "chart: svg: the output is over %zu bytes", out->max);
	buf_release(&doc);
	return rc;
}

int chart_draw(const struct chart *c, cairo_t *cr, struct err *e)
{
	struct opts o;
	int rc = resolve(c, &o, e);

	return rc ? rc : draw(c, &o, cr, e);
}

int chart_plot_area(const struct chart *c, struct chart_rect *r, struct err *e)
{
	struct opts o;
	struct ctx x;
	cairo_surface_t *s;
	cairo_t *cr;
	int rc = resolve(c, &o, e);

	if (rc)
		return rc;
	/* Text is measured as chart_png() measures it: same scale. */
	s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, o.scale, o.scale);
	cr = cairo_create(s);
	cairo_scale(cr, o.scale, o.scale);
	rc = ctx_open(&x, c, &o, cr, e);
	if (rc == 0 && x.empty)
		rc = err_set(e, ERR_NOT_FOUND, "chart: no data, so no plot");
	if (rc == 0)
		*r = x.plot;
	ctx_close(&x);
	cairo_destroy(cr);
	cairo_surface_destroy(s);
	return rc;
}

void chart_fonts_release(void)
{
	pango_cairo_font_map_set_default(NULL);
	FcFini();
}
