/*
 * Unit tests of report/chart: the images are decoded back with cairo and
 * their pixels examined where chart_plot_area() says the data goes, so the
 * tests check what is drawn, not how.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "lib/clock.h"
#include "lib/mem.h"
#include "report/chart.h"

#define DAY_MS  ((int64_t)86400000)
#define HOUR_MS ((int64_t)3600000)
#define T0      ((int64_t)1767225600000) /* 2026-01-01T00:00:00Z */
#define OUT_MAX ((size_t)16 << 20)

/* The series colours as chart.c draws them (series 0 blue). */
#define BLUE_R 0x2b
#define BLUE_G 0x6c
#define BLUE_B 0xb0

struct px {
	int r, g, b;
};

struct reader {
	const struct buf *b;
	size_t at;
};

static cairo_status_t read_png(void *closure, unsigned char *data, unsigned int len)
{
	struct reader *rd = closure;

	if (rd->b->len - rd->at < len)
		return CAIRO_STATUS_READ_ERROR;
	memcpy(data, rd->b->p + rd->at, len);
	rd->at += len;
	return CAIRO_STATUS_SUCCESS;
}

static cairo_surface_t *decode(const struct buf *b)
{
	struct reader rd = {b, 0};
	cairo_surface_t *s = cairo_image_surface_create_from_png_stream(read_png, &rd);

	assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	cairo_surface_flush(s);
	return s;
}

static struct px pixel(cairo_surface_t *s, int x, int y)
{
	const unsigned char *row =
	    cairo_image_surface_get_data(s) + (size_t)y * (size_t)cairo_image_surface_get_stride(s);
	uint32_t v;

	assert_true(x >= 0 && x < cairo_image_surface_get_width(s));
	assert_true(y >= 0 && y < cairo_image_surface_get_height(s));
	memcpy(&v, row + 4 * (size_t)x, 4);
	return (struct px){(int)(v >> 16 & 0xff), (int)(v >> 8 & 0xff), (int)(v & 0xff)};
}

static bool near_blue(struct px p, int tol)
{
	return abs(p.r - BLUE_R) + abs(p.g - BLUE_G) + abs(p.b - BLUE_B) <= tol;
}

static cairo_surface_t *render(const struct chart *c)
{
	struct buf b;
	struct err e = {0};
	cairo_surface_t *s;

	buf_init(&b, OUT_MAX);
	assert_int_equal(chart_png(c, &b, &e), 0);
	s = decode(&b);
	buf_release(&b);
	return s;
}

static struct chart_rect plot_of(const struct chart *c)
{
	struct chart_rect r;
	struct err e = {0};

	assert_int_equal(chart_plot_area(c, &r, &e), 0);
	return r;
}

/* n daily points from T0 with y = a + b * i. */
static void daily(struct chart_point *p, size_t n, double a, double b)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (struct chart_point){T0 + (int64_t)i * DAY_MS, a + b * (double)i};
}

static struct chart line_of(struct chart_point *p, size_t n)
{
	struct chart c = {.kind = CHART_LINE, .title = "Subscribers", .zone = "Europe/Berlin"};

	c.series[0] = (struct chart_series){.name = "@channel", .pts = p, .n = n};
	c.nseries = 1;
	return c;
}

static void test_png_size(void **state)
{
	struct chart_point p[30];
	struct chart c;
	struct buf b;
	struct err e = {0};
	cairo_surface_t *s;

	(void)state;
	daily(p, 30, 1000, 5);
	c = line_of(p, 30);
	buf_init(&b, OUT_MAX);
	assert_int_equal(chart_png(&c, &b, &e), 0);
	assert_true(b.len > 8);
	assert_memory_equal(b.p, "\x89PNG\r\n\x1a\n", 8);
	s = decode(&b);
	assert_int_equal(cairo_image_surface_get_width(s), CHART_WIDTH);
	assert_int_equal(cairo_image_surface_get_height(s), CHART_HEIGHT);
	cairo_surface_destroy(s);

	/* Another size, at 2x. */
	c.width = 640;
	c.height = 400;
	c.scale = 2;
	buf_reset(&b);
	assert_int_equal(chart_png(&c, &b, &e), 0);
	s = decode(&b);
	assert_int_equal(cairo_image_surface_get_width(s), 1280);
	assert_int_equal(cairo_image_surface_get_height(s), 800);
	cairo_surface_destroy(s);
	buf_release(&b);
}

/* The mean pixel row of the series' pixels in the left and the right third
 * of the plot. */
static void line_rows(const struct chart *c, double *left, double *right)
{
	struct chart_rect r = plot_of(c);
	cairo_surface_t *s = render(c);
	double sum[2] = {0, 0};
	int n[2] = {0, 0};

	for (int y = (int)r.y; y < (int)(r.y + r.h); y++)
		for (int x = (int)r.x; x < (int)(r.x + r.w); x++) {
			int third = (int)((x - r.x) * 3 / r.w);

			if (third == 1 || !near_blue(pixel(s, x, y), 30))
				continue;
			sum[third / 2] += y;
			n[third / 2]++;
		}
	cairo_surface_destroy(s);
	assert_true(n[0] > 20 && n[1] > 20);
	*left = sum[0] / n[0];
	*right = sum[1] / n[1];
}

static void test_line_direction(void **state)
{
	struct chart_point p[30];
	struct chart c;
	double left, right;

	(void)state;
	daily(p, 30, 10000, 10); /* rising */
	c = line_of(p, 30);
	line_rows(&c, &left, &right);
	assert_true(left > right + 100); /* lower on the image at the left */

	daily(p, 30, 10300, -10); /* falling */
	line_rows(&c, &left, &right);
	assert_true(left + 100 < right);

	/* From 0, the same rise is a flatter line high above the bottom. */
	daily(p, 30, 10000, 10);
	c.y_zero = true;
	line_rows(&c, &left, &right);
	assert_true(left > right && left - right < 60);
}

/* Missing days are not joined across. */
static void test_line_gap(void **state)
{
	struct chart_point p[20];
	struct chart c;
	struct chart_rect r;
	cairo_surface_t *s;
	int in_gap = 0, in_data = 0;

	(void)state;
	daily(p, 10, 500, 3);
	for (size_t i = 10; i < 20; i++) /* days 20..29 */
		p[i] = (struct chart_point){T0 + (int64_t)(i + 10) * DAY_MS, 500 + 3.0 * (double)i};
	c = line_of(p, 20);
	c.series[0].step_ms = DAY_MS;
	r = plot_of(&c);
	s = render(&c);
	for (int x = (int)r.x; x < (int)(r.x + r.w); x++) {
		double day = (x - r.x) / r.w * 29;

		for (int y = (int)r.y; y < (int)(r.y + r.h); y++) {
			if (!near_blue(pixel(s, x, y), 60))
				continue;
			if (day > 10.5 && day < 18.5)
				in_gap++;
			else if (day > 1 && day < 8)
				in_data++;
		}
	}
	cairo_surface_destroy(s);
	assert_int_equal(in_gap, 0);
	assert_true(in_data > 100);

	/* The median spacing finds the same step by itself. */
	c.series[0].step_ms = 0;
	s = render(&c);
	in_gap = 0;
	for (int x = (int)(r.x + r.w * 11 / 29); x < (int)(r.x + r.w * 18 / 29); x++)
		for (int y = (int)r.y; y < (int)(r.y + r.h); y++)
			in_gap += near_blue(pixel(s, x, y), 60);
	cairo_surface_destroy(s);
	assert_int_equal(in_gap, 0);

	/* A day alone between two gaps is a dot where it is; the rest of the
	 * gaps stays empty. Days 0..4, 15, 20..29. */
	for (size_t i = 0; i < 16; i++) {
		int64_t day = i < 5 ? (int64_t)i : i == 5 ? 15 : (int64_t)i + 14;

		p[i] = (struct chart_point){T0 + day * DAY_MS, 500 + 3.0 * (double)day};
	}
	c = line_of(p, 16);
	c.series[0].step_ms = DAY_MS;
	r = plot_of(&c);
	s = render(&c);
	in_gap = in_data = 0;
	for (int x = (int)r.x; x < (int)(r.x + r.w); x++) {
		double day = (x - r.x) / r.w * 29;

		for (int y = (int)r.y; y < (int)(r.y + r.h); y++) {
			if (!near_blue(pixel(s, x, y), 60))
				continue;
			if (day > 14.8 && day < 15.2)
				in_data++;
			else if ((day > 5.5 && day < 14.5) || (day > 15.5 && day < 19.5))
				in_gap++;
		}
	}
	cairo_surface_destroy(s);
	assert_int_equal(in_gap, 0);
	assert_true(in_data > 0);
}

static void test_bars_heights(void **state)
{
	static const double v[] = {10, 20, 40, 30, 5, 0, 25};
	struct chart_point p[ARRAY_SIZE(v)];
	struct chart c = {.kind = CHART_BARS, .title = "Views per day", .zone = "Asia/Tashkent"};
	struct chart_rect r;
	cairo_surface_t *s;
	int h[ARRAY_SIZE(v)];
	size_t n = ARRAY_SIZE(v);

	(void)state;
	for (size_t i = 0; i < n; i++)
		p[i] = (struct chart_point){T0 - 5 * HOUR_MS + (int64_t)i * DAY_MS, v[i]};
	c.series[0] = (struct chart_series){.pts = p, .n = n, .step_ms = DAY_MS};
	c.nseries = 1;
	r = plot_of(&c);
	s = render(&c);
	for (size_t i = 0; i < n; i++) {
		int x = (int)(r.x + r.w * ((double)i + 0.5) / (double)n);
		int y = (int)(r.y + r.h) - 1;

		h[i] = 0;
		while (y > 0 && near_blue(pixel(s, x, y), 0)) {
			h[i]++;
			y--;
		}
		/* Nothing of the bar's colour beside it, in the margin. */
		assert_false(near_blue(
		    pixel(s, (int)(r.x + r.w * (double)i / (double)n) + 1, (int)(r.y + r.h) - 3),
		    0));
	}
	cairo_surface_destroy(s);
	assert_true(h[2] > 200);
	for (size_t i = 0; i < n; i++)
		assert_true(fabs(h[i] - v[i] / 40 * h[2]) <= 2);
}

static void test_two_series(void **state)
{
	struct chart_point a[14], b[14];
	struct chart c = {.kind = CHART_BARS, .lang = "uz", .zone = "Asia/Tashkent"};
	cairo_surface_t *s;
	struct chart_rect r;
	int blue = 0, orange = 0;

	(void)state;
	daily(a, 14, 100, 0);
	daily(b, 14, 50, 0);
	c.series[0] = (struct chart_series){.name = "Koʻrishlar", .pts = a, .n = 14};
	c.series[1] = (struct chart_series){.name = "Postlar", .pts = b, .n = 14};
	c.nseries = 2;
	r = plot_of(&c);
	s = render(&c);
	for (int x = (int)r.x; x < (int)(r.x + r.w); x++) {
		struct px q = pixel(s, x, (int)(r.y + r.h) - 3);

		blue += near_blue(q, 0);
		orange += q.r == 0xdd && q.g == 0x6b && q.b == 0x20;
	}
	cairo_surface_destroy(s);
	/* Side by side, equal widths. */
	assert_true(blue > 200 && abs(blue - orange) <= 14);
}

static double luminance(struct px p)
{
	return 0.2126 * p.r + 0.7152 * p.g + 0.0722 * p.b;
}

static void test_heatmap(void **state)
{
	double heat[CHART_DAYS * CHART_HOURS];
	struct chart c = {
	    .kind = CHART_HEATMAP, .title = "Лучшее время", .lang = "ru", .heat = heat};
	struct chart_rect r;
	cairo_surface_t *s;
	double darkest = 1e9, lightest = -1;
	int dark_at = -1, light_at = -1;

	(void)state;
	for (int i = 0; i < CHART_DAYS * CHART_HOURS; i++)
		heat[i] = 1 + (i * 37 % 101) / 10.0; /* 1 .. 11, scattered */
	heat[2 * 24 + 20] = 42;                      /* Wednesday 20:00 */
	heat[5 * 24 + 7] = 0.5;                      /* Saturday 07:00 */
	heat[6 * 24 + 3] = NAN;                      /* Sunday 03:00: no posts */
	heat[0 * 24 + 4] = NAN;
	r = plot_of(&c);
	s = render(&c);
	for (int i = 0; i < CHART_DAYS * CHART_HOURS; i++) {
		int d = i / 24, h = i % 24;
		struct px q =
		    pixel(s, (int)(r.x + (h + 0.5) * r.w / 24), (int)(r.y + (d + 0.5) * r.h / 7));

		if (isnan(heat[i])) {
			assert_true(abs(q.r - q.g) <= 2 && abs(q.g - q.b) <= 2);
			continue;
		}
		assert_false(abs(q.r - q.g) <= 2 && abs(q.g - q.b) <= 2);
		if (luminance(q) < darkest) {
			darkest = luminance(q);
			dark_at = i;
		}
		if (luminance(q) > lightest) {
			lightest = luminance(q);
			light_at = i;
		}
	}
	cairo_surface_destroy(s);
	assert_int_equal(dark_at, 2 * 24 + 20);
	assert_int_equal(light_at, 5 * 24 + 7);
}

static bool has_ink(cairo_surface_t *s)
{
	for (int y = 0; y < cairo_image_surface_get_height(s); y++)
		for (int x = 0; x < cairo_image_surface_get_width(s); x++)
			if (luminance(pixel(s, x, y)) < 128)
				return true;
	return false;
}

static void test_empty(void **state)
{
	struct chart_point p[3] = {{T0, NAN}, {T0 + DAY_MS, NAN}, {T0 + 2 * DAY_MS, NAN}};
	struct chart c = {.kind = CHART_LINE};
	struct chart_rect r;
	struct err e = {0};
	struct buf en, ru;
	cairo_surface_t *s;

	(void)state;
	s = render(&c); /* no series, no title */
	assert_int_equal(cairo_image_surface_get_width(s), CHART_WIDTH);
	assert_true(has_ink(s)); /* the "No data yet" text */
	cairo_surface_destroy(s);
	assert_int_equal(chart_plot_area(&c, &r, &e), -ERR_NOT_FOUND);

	c.series[0] = (struct chart_series){.pts = p, .n = 3};
	c.nseries = 1;
	buf_init(&en, OUT_MAX);
	buf_init(&ru, OUT_MAX);
	assert_int_equal(chart_png(&c, &en, &e), 0);
	c.lang = "ru";
	assert_int_equal(chart_png(&c, &ru, &e), 0);
	/* Said in the user's language. */
	assert_false(en.len == ru.len && memcmp(en.p, ru.p, en.len) == 0);
	buf_release(&en);
	buf_release(&ru);

	c.kind = CHART_HEATMAP;
	s = render(&c); /* heat NULL */
	cairo_surface_destroy(s);
	c.kind = CHART_BARS;
	c.series[0].n = 0;
	s = render(&c);
	cairo_surface_destroy(s);
}

static void test_text(void **state)
{
	struct chart_point p[60];
	struct chart c;
	struct buf b;
	struct err e = {0};

	(void)state;
	daily(p, 60, 12500, 130);
	c = line_of(p, 60);
	c.title = "Подписчики канала «Новости дня»";
	c.y_label = "Подписчики";
	c.x_label = "Дата";
	c.lang = "ru";
	c.zone = "Europe/Moscow";
	c.series[0].name = "@novosti";
	buf_init(&b, OUT_MAX);
	assert_int_equal(chart_png(&c, &b, &e), 0);
	buf_reset(&b);
	c.title = "Obunachilar soni — oʻsish";
	c.lang = "uz";
	c.zone = "Asia/Tashkent";
	assert_int_equal(chart_svg(&c, &b, &e), 0);
	buf_release(&b);
}

static void test_svg(void **state)
{
	struct chart_point p[30];
	struct chart c;
	struct buf b;
	struct err e = {0};
	const char *end;

	(void)state;
	daily(p, 30, 1000, 5);
	c = line_of(p, 30);
	buf_init(&b, OUT_MAX);
	assert_int_equal(chart_svg(&c, &b, &e), 0);
	assert_true(strncmp(b.p, "<?xml", 5) == 0);
	assert_non_null(strstr(b.p, "<svg"));
	assert_non_null(strstr(b.p, "width=\"1000px\""));
	end = b.p + b.len;
	while (end > b.p && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	assert_true(end - b.p > 6 && memcmp(end - 6, "</svg>", 6) == 0);
	buf_release(&b);
}

static void same_twice(const struct chart *c)
{
	struct buf a, b;
	struct err e = {0};

	buf_init(&a, OUT_MAX);
	buf_init(&b, OUT_MAX);
	assert_int_equal(chart_png(c, &a, &e), 0);
	assert_int_equal(chart_png(c, &b, &e), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len);
	buf_reset(&a);
	buf_reset(&b);
	assert_int_equal(chart_svg(c, &a, &e), 0);
	assert_int_equal(chart_svg(c, &b, &e), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len);
	buf_release(&a);
	buf_release(&b);
}

static void test_deterministic(void **state)
{
	struct chart_point p[90];
	double heat[CHART_DAYS * CHART_HOURS];
	struct chart c, h = {.kind = CHART_HEATMAP, .heat = heat, .lang = "uz"};

	(void)state;
	daily(p, 90, 300, 7);
	p[40].y = NAN;
	c = line_of(p, 90);
	same_twice(&c);
	c.kind = CHART_BARS;
	same_twice(&c);
	for (int i = 0; i < CHART_DAYS * CHART_HOURS; i++)
		heat[i] = i % 5 ? i : NAN;
	same_twice(&h);
}

/* A deterministic pseudo-random walk. */
static double walk(uint64_t *seed, double y)
{
	*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return y + (double)(int)(*seed >> 33 & 0xff) - 127.5;
}

static void test_downsample(void **state)
{
	enum { N = 10000, COLS = 100 };
	static struct chart_point p[N], out[N], inplace[N];
	double lo[COLS], hi[COLS];
	uint64_t seed = 42;
	size_t n, breaks = 0;
	double y = 0;

	(void)state;
	for (size_t i = 0; i < N; i++) {
		y = walk(&seed, y);
		p[i] = (struct chart_point){T0 + (int64_t)i * HOUR_MS, y};
	}
	p[1234].y = 1e6;  /* a spike */
	p[7777].y = -1e6; /* and a dip */
	p[5000].y = NAN;  /* a break */
	p[5001].y = NAN;  /* a run of them is one */
	for (size_t k = 0; k < COLS; k++) {
		lo[k] = INFINITY;
		hi[k] = -INFINITY;
	}
	for (size_t i = 0; i < N; i++) {
		size_t k = i * COLS / N;

		if (!isnan(p[i].y)) {
			lo[k] = fmin(lo[k], p[i].y);
			hi[k] = fmax(hi[k], p[i].y);
		}
	}
	n = chart_downsample(p, N, p[0].x_ms, p[N - 1].x_ms + HOUR_MS, COLS, out);
	assert_true(n <= 4 * COLS + 1);
	assert_true(n >= 2 * COLS);
	for (size_t k = 0; k < COLS; k++) {
		bool has_lo = false, has_hi = false;

		for (size_t i = 0; i < n; i++) {
			if (isnan(out[i].y) ||
			    (size_t)((out[i].x_ms - T0) / HOUR_MS) * COLS / N != k)
				continue;
			has_lo |= out[i].y == lo[k];
			has_hi |= out[i].y == hi[k];
		}
		assert_true(has_lo && has_hi);
	}
	for (size_t i = 0; i < n; i++) {
		breaks += isnan(out[i].y);
		if (i > 0)
			assert_true(out[i].x_ms >= out[i - 1].x_ms);
	}
	assert_int_equal(breaks, 1);
	/* In place gives the same. */
	memcpy(inplace, p, sizeof(p));
	assert_int_equal(
	    chart_downsample(inplace, N, p[0].x_ms, p[N - 1].x_ms + HOUR_MS, COLS, inplace), n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(inplace[i].x_ms, out[i].x_ms);
		assert_true(inplace[i].y == out[i].y || (isnan(out[i].y) && isnan(inplace[i].y)));
	}
	/* Fewer points than columns: all kept. */
	assert_int_equal(chart_downsample(p, 50, p[0].x_ms, p[49].x_ms, 1000, out), 50);
}

/* The spike survives into the image: a year of hours with one high hour. */
static void test_spike_drawn(void **state)
{
	enum { N = 8760 };
	static struct chart_point p[N];
	struct chart c;
	struct chart_rect r;
	cairo_surface_t *s;
	int top = -1;

	(void)state;
	for (size_t i = 0; i < N; i++)
		p[i] = (struct chart_point){T0 + (int64_t)i * HOUR_MS, 100 + (double)(i % 24)};
	p[4000].y = 1000;
	c = line_of(p, N);
	c.y_zero = true;
	r = plot_of(&c);
	s = render(&c);
	for (int y = (int)r.y; y < (int)(r.y + r.h) && top < 0; y++)
		for (int x = (int)r.x; x < (int)(r.x + r.w); x++)
			if (near_blue(pixel(s, x, y), 60)) {
				top = y;
				break;
			}
	cairo_surface_destroy(s);
	/* The spike reaches the top quarter of the plot; the rest of the
	 * line (100..123 of an axis past 1,000) stays in the bottom tenth. */
	assert_true(top >= 0 && top < r.y + r.h / 4);
}

static int64_t best_of_3(const struct chart *c, bool svg)
{
	int64_t best = INT64_MAX;
	struct buf b;
	struct err e = {0};

	buf_init(&b, OUT_MAX);
	for (int i = 0; i < 3; i++) {
		int64_t t = clock_mono_us();

		buf_reset(&b);
		assert_int_equal(svg ? chart_svg(c, &b, &e) : chart_png(c, &b, &e), 0);
		t = clock_mono_us() - t;
		best = t < best ? t : best;
	}
	buf_release(&b);
	return best;
}

#if defined(__SANITIZE_ADDRESS__)
#define SPEED_LIMIT_US 1000000 /* instrumented: a sanity bound only */
#else
#define SPEED_LIMIT_US 100000
#endif

static void test_speed(void **state)
{
	enum { N = 8760 };
	static struct chart_point p[N];
	uint64_t seed = 7;
	double y = 50000;
	struct chart c;
	int64_t line, bars, svg;

	(void)state;
	for (size_t i = 0; i < N; i++) {
		y = walk(&seed, y);
		p[i] = (struct chart_point){T0 + (int64_t)i * HOUR_MS, y};
	}
	c = line_of(p, N);
	line = best_of_3(&c, false);
	svg = best_of_3(&c, true);
	c.kind = CHART_BARS;
	bars = best_of_3(&c, false);
	printf("chart: 8760 points: line png %.1f ms, line svg %.1f ms, bars png %.1f ms\n",
	       line / 1000.0, svg / 1000.0, bars / 1000.0);
	assert_true(line < SPEED_LIMIT_US);
	assert_true(bars < SPEED_LIMIT_US);
	assert_true(svg < SPEED_LIMIT_US);
}

static void test_invalid(void **state)
{
	struct chart_point p[5];
	double heat[CHART_DAYS * CHART_HOURS] = {0};
	struct chart c, h = {.kind = CHART_HEATMAP, .heat = heat};
	struct buf b;
	struct err e = {0};

	(void)state;
	daily(p, 5, 1, 1);
	c = line_of(p, 5);
	buf_init(&b, OUT_MAX);

	p[3].x_ms = T0; /* before the one before it */
	assert_int_equal(chart_png(&c, &b, &e), -ERR_INVALID);
	assert_non_null(strstr(e.msg, "point 3"));
	daily(p, 5, 1, 1);
	p[2].y = INFINITY;
	assert_int_equal(chart_png(&c, &b, &e), -ERR_INVALID);
	daily(p, 5, 1, 1);
	p[4].x_ms = (int64_t)300000000000000; /* year 11476 */
	assert_int_equal(chart_png(&c, &b, &e), -ERR_INVALID);
	daily(p, 5, 1, 1);
	c.zone = "Mars/Olympus";
	assert_int_equal(chart_png(&c, &b, &e), -ERR_INVALID);
	c.zone = NULL; /* UTC */
	c.width = 100;
	assert_int_equal(chart_png(&c, &b, &e), -ERR_INVALID);
	c.width = 0;
	c.scale = CHART_SCALE_MAX + 1;
	assert_int_equal(chart_png(&c, &b, &e), -ERR_INVALID);
	c.scale = 0;
	c.title = "\xff\xfe";
	assert_int_equal(chart_svg(&c, &b, &e), -ERR_INVALID);
	c.title = NULL;
	c.nseries = 3;
	assert_int_equal(chart_png(&c, &b, &e), -ERR_INVALID);
	c.nseries = 1;
	heat[5] = -INFINITY;
	assert_int_equal(chart_png(&h, &b, &e), -ERR_INVALID);
	assert_int_equal(b.len, 0);
	assert_int_equal(chart_png(&c, &b, &e), 0);
	buf_release(&b);

	/* An output bound is kept. */
	buf_init(&b, 1000);
	assert_int_equal(chart_png(&c, &b, &e), -ERR_TOO_BIG);
	assert_true(b.len <= 1000);
	buf_reset(&b);
	assert_int_equal(chart_svg(&c, &b, &e), -ERR_TOO_BIG);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_png_size),   cmocka_unit_test(test_line_direction),
	    cmocka_unit_test(test_line_gap),   cmocka_unit_test(test_bars_heights),
	    cmocka_unit_test(test_two_series), cmocka_unit_test(test_heatmap),
	    cmocka_unit_test(test_empty),      cmocka_unit_test(test_text),
	    cmocka_unit_test(test_svg),        cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_downsample), cmocka_unit_test(test_spike_drawn),
	    cmocka_unit_test(test_speed),      cmocka_unit_test(test_invalid),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	/* Pango's and fontconfig's caches, so LeakSanitizer sees none. */
	chart_fonts_release();
	return rc;
}
