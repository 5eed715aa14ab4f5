/*
 * chart: a channel's numbers as a picture, for /stats in the bot, the
 * dashboard and the reports: PNG in memory, SVG, or drawn onto a cairo
 * context the caller owns (a PDF page). Kinds (docs/charts.md):
 *
 * - CHART_LINE: one or two series over time (the subscriber series);
 * - CHART_BARS: one or two series of per-period values (views per day,
 *   posts per day), side by side when there are two;
 * - CHART_HEATMAP: a 7 x 24 grid, weekday rows (Monday first) by local hour
 *   columns, for the best time to post.
 *
 * The x axis is time: points are Unix milliseconds in UTC and the date and
 * time labels are written in the user's zone and language (ICU), at local
 * boundaries (hours, midnights, Mondays, the first of a month or a year),
 * stepped so that the labels do not collide. The y axis has 1-2-5 steps,
 * numbers grouped as the language groups them ("12,500" en, "12 500" ru).
 * Text goes through pango in "DejaVu Sans" (fonts-dejavu-core), which covers
 * Latin, Uzbek Latin and Cyrillic. No data at all draws the title and a
 * localized "No data yet" instead of failing.
 *
 * Drawing cost does not grow with the data: a series with more points than
 * the plot has pixel columns is reduced by chart_downsample() to the first,
 * lowest, highest and last point of each column before it is drawn, so
 * spikes and dips stay visible and a year of hourly points (8,760) draws as
 * fast as a month of them.
 *
 * The same input gives the same bytes (no dates or random ids in the
 * output): fonts are rendered with fixed options, not the machine's
 * fontconfig preferences. Functions are safe to call from several threads
 * at once on different outputs.
 */
#ifndef HERALD_REPORT_CHART_H
#define HERALD_REPORT_CHART_H

#include <cairo.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"

#define CHART_SERIES_MAX 2
#define CHART_POINTS_MAX 200000 /* per series: more than 20 years of hours */
#define CHART_TEXT_MAX   256    /* bytes of a title, axis label or series name */
#define CHART_WIDTH      1000   /* the size when width or height is 0 */
#define CHART_HEIGHT     560
#define CHART_SIZE_MIN   320 /* width and height bounds, in px at 1x */
#define CHART_SIZE_MAX   4000
#define CHART_SCALE_MAX  4
#define CHART_DAYS       7
#define CHART_HOURS      24

enum chart_kind {
	CHART_LINE,
	CHART_BARS,
	CHART_HEATMAP,
};

struct chart_point {
	int64_t x_ms; /* UTC */
	double y;     /* NAN: no value here (a line is broken) */
};

struct chart_series {
	const char *name; /* legend text; NULL: no legend entry */
	const struct chart_point *pts;
	size_t n; /* 0..CHART_POINTS_MAX; x non-decreasing, in 1901..9998 */
	/*
	 * The spacing of the data (86400000 for a daily series), or 0 to take
	 * the median spacing. A line is not drawn across two points more than
	 * 1.5 steps apart, so a missing day shows as a gap; a bar covers
	 * [x, x + step) with a margin, so x is the start of its period.
	 */
	int64_t step_ms;
};

/*
 * What to draw. Strings are UTF-8, at most CHART_TEXT_MAX bytes, NULL or ""
 * for none. Zero fields take defaults: lang "en", zone "UTC", 1000 x 560,
 * scale 1.
 */
struct chart {
	enum chart_kind kind;
	const char *title;
	const char *x_label, *y_label;
	const char *lang;  /* "en", "ru", "uz"; others show as "en" */
	const char *zone;  /* IANA zone of the date labels (line and bars) */
	int width, height; /* CHART_SIZE_MIN..CHART_SIZE_MAX, in px at 1x */
	int scale;         /* PNG only: 1..CHART_SCALE_MAX device px per px */
	/* LINE: the y axis starts at 0 (else at the data's minimum less a
	 * margin, so a slow climb from 10,000 to 10,300 is visible). BARS
	 * always include 0: a bar's length is its value. */
	bool y_zero;
	struct chart_series series[CHART_SERIES_MAX]; /* LINE and BARS */
	size_t nseries;
	/* HEATMAP: CHART_DAYS * CHART_HOURS values, heat[day * 24 + hour] with
	 * day 0 = Monday and hours local to the user (the caller buckets);
	 * NAN marks a slot without data (drawn grey and hatched). NULL, or all
	 * NAN, is no data. Colours run from pale yellow (lowest value) to dark
	 * red (highest), darker for higher values. */
	const double *heat;
};

/* A rectangle in px at 1x (multiply by scale for PNG pixels). */
struct chart_rect {
	double x, y, w, h;
};

/*
 * Render c as a PNG of width * scale by height * scale pixels, appended to
 * out. 0; -ERR_INVALID (message in e) for input outside the rules above
 * (the zone unknown to ICU, points out of order, an infinite value, a size
 * out of bounds, text too long or not UTF-8); -ERR_TOO_BIG when out's
 * maximum is reached (out then holds part of the image); -ERR_INTERNAL if
 * cairo or ICU fails.
 */
int chart_png(const struct chart *c, struct buf *out, struct err *e) WUR;

/* Render c as an SVG 1.1 document of width x height px (text as glyph
 * outlines, so the viewer needs no fonts), appended to out. Errors as
 * chart_png(); scale is not used. */
int chart_svg(const struct chart *c, struct buf *out, struct err *e) WUR;

/*
 * Draw c onto cr, which the caller owns and has placed (translated,
 * scaled): the chart fills the rectangle (0, 0, width, height) of cr's user
 * space, background included; scale is not used. cr's state is restored
 * afterwards. Errors as chart_png(); cr may hold part of the drawing.
 */
int chart_draw(const struct chart *c, cairo_t *cr, struct err *e) WUR;

/*
 * The plot area of c as the renderers lay it out: the rectangle inside the
 * axes that the data is mapped onto (x from the first to the last instant,
 * or to the end of the last bar; y from the axis' lowest to highest tick).
 * A heatmap's cells divide it evenly: the cell of day i (0 = Monday) and
 * hour j spans w / 24 by h / 7 from (x + j * w / 24, y + i * h / 7). For
 * overlays (a dashboard's hover) and tests. Errors as chart_png() but -ERR_TOO_BIG; -ERR_NOT_FOUND
 * when c has no data (the chart then has no plot).
 */
int chart_plot_area(const struct chart *c, struct chart_rect *r, struct err *e) WUR;

/*
 * Release what text drawing keeps for the life of the process: this
 * thread's pango font map (pango keeps one per thread and frees it when a
 * thread ends, but never the main thread's) and fontconfig's configuration
 * and caches (FcFini). Only for the end of a process under a leak checker
 * (the unit tests, an ASan build): call it once, after every other thread
 * that drew a chart has ended; nothing may draw afterwards.
 */
void chart_fonts_release(void);

/*
 * Reduce pts[0..n) (x non-decreasing; a NAN y breaks the line and is kept
 * as a break) for drawing in `columns` equal pixel columns spanning
 * [x0, x1]: the points of each column are replaced by the first, the
 * lowest, the highest and the last of them, in their order and without
 * repeats, so every column keeps its minimum and maximum and the line
 * between columns joins the same neighbours as before. Points outside
 * [x0, x1] count in the first or the last column. Writes at most n points
 * to out (which may be pts itself), at most 4 per column plus the breaks,
 * and returns how many. columns 0 is taken as 1.
 */
size_t chart_downsample(const struct chart_point *pts, size_t n, int64_t x0, int64_t x1,
                        size_t columns, struct chart_point *out);

#endif
