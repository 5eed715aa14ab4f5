/*
 * tme_bench: pages of the public channel page parsed per second
 * (collect/tme), beside libxml2's own parse of the same bytes (the
 * reference: what building the tree costs before Herald reads anything),
 * in the same run. Median of rounds.
 *
 * usage: tme_bench PAGE.html [SECONDS_PER_ROUND] [ROUNDS]
 */
#include <libxml/HTMLparser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/tme.h"
#include "lib/err.h"
#include "lib/str.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double herald_round(const char *html, size_t len, double secs, size_t *posts)
{
	double t0 = now_s(), t;
	long n = 0;

	do {
		struct tme_page p;
		struct err e = {0};

		if (tme_page_parse(html, len, &p, &e)) {
			fprintf(stderr, "tme_bench: %s\n", e.msg);
			exit(1);
		}
		*posts = p.nposts;
		tme_page_release(&p);
		n++;
		t = now_s();
	} while (t - t0 < secs);
	return (double)n / (t - t0);
}

static double libxml_round(const char *html, size_t len, double secs)
{
	double t0 = now_s(), t;
	long n = 0;

	do {
		htmlDocPtr doc =
		    htmlReadMemory(html, (int)len, NULL, "UTF-8",
		                   HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);

		xmlFreeDoc(doc);
		n++;
		t = now_s();
	} while (t - t0 < secs);
	return (double)n / (t - t0);
}

int main(int argc, char **argv)
{
	double secs = argc > 2 ? atof(argv[2]) : 2.0, mine[15], ref[15];
	int64_t r64 = 5;
	int rounds;
	size_t len, posts = 0;
	char *html;
	long size;
	FILE *f;

	if (argc > 3 && str_to_i64(str_c(argv[3]), 1, 15, &r64))
		r64 = 0;
	rounds = (int)r64;
	if (argc < 2 || rounds < 1 || secs <= 0) {
		fprintf(stderr, "usage: tme_bench PAGE.html [SECONDS] [ROUNDS<=15]\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "tme_bench: cannot read %s\n", argv[1]);
		return 1;
	}
	len = (size_t)size;
	html = malloc(len);
	if (!html || fread(html, 1, len, f) != len) {
		fprintf(stderr, "tme_bench: cannot read %s\n", argv[1]);
		return 1;
	}
	fclose(f);
	for (int i = 0; i < rounds; i++) {
		ref[i] = libxml_round(html, len, secs);
		mine[i] = herald_round(html, len, secs, &posts);
	}
	qsort(mine, (size_t)rounds, sizeof(double), cmp);
	qsort(ref, (size_t)rounds, sizeof(double), cmp);
	printf(
	    "| page | posts | pages/s (tme_page_parse) | posts/s | libxml2 parse only, pages/s | "
	    "vs libxml2 |\n|---|---|---|---|---|---|\n");
	printf("| %zu KB | %zu | %.0f | %.0f | %.0f | %.0f%% |\n", len / 1024, posts,
	       mine[rounds / 2], mine[rounds / 2] * (double)posts, ref[rounds / 2],
	       100.0 * mine[rounds / 2] / ref[rounds / 2]);
	free(html);
	return 0;
}
