/*
 * collect/validate: what a collector read is checked before it is stored
 * (product.md section 4, docs/analytics.md). Pure functions: no I/O.
 *
 *   - counts are never negative;
 *   - a measurement is never in the future (beyond CV_SKEW_MS of the
 *     collector's clock) nor before Telegram existed;
 *   - a post's views never go down: a lower reading is flagged and the
 *     stored value stays. Rounded readings of the public page (1.2K) are
 *     compared as the interval they stand for, so 1.2K after an exact 1,234
 *     is no drop (and tells nothing new);
 *   - a reading equal to what is stored is a duplicate and is dropped.
 */
#ifndef HERALD_COLLECT_VALIDATE_H
#define HERALD_COLLECT_VALIDATE_H

#include <stdbool.h>
#include <stdint.h>

#define CV_SKEW_MS  (5LL * 60 * 1000)
#define CV_EPOCH_MS 1356998400000LL /* 2013-01-01: before any Telegram channel */

enum cv_verdict {
	CV_OK,     /* store it */
	CV_DUP,    /* nothing new: drop it quietly */
	CV_FLAG,   /* suspicious (views went down): count it, keep what is stored */
	CV_REJECT, /* invalid: count it, store nothing */
};

/* A reading: value, and whether it was rounded (approx). */
struct cv_reading {
	int64_t value;
	bool approx;
};

/* The width of the interval a rounded reading stands for: 100 for 1.2K,
 * 1,000 for 123K, 100,000 for 3.4M; 1 for an exact one. */
int64_t cv_unit(struct cv_reading r);

/* A count (members, reactions, forwards, views) measured at at, when the
 * collector's clock says now. *why (may be NULL) gets the reason. */
enum cv_verdict cv_count(int64_t value, int64_t at, int64_t now, const char **why);

/* A post's views: stored (have false: none yet) and the new reading. */
enum cv_verdict cv_views(bool have, struct cv_reading stored, struct cv_reading next,
                         const char **why);

const char *cv_verdict_name(enum cv_verdict v);

#endif
