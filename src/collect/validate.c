/*
 * collect/validate: checks before storage (validate.h).
 */
#include "collect/validate.h"

#include <stddef.h>

int64_t cv_unit(struct cv_reading r)
{
	if (!r.approx)
		return 1;
	if (r.value >= 1000000)
		return 100000; /* 3.4M */
	if (r.value >= 100000)
		return 1000; /* 123K */
	if (r.value >= 1000)
		return 100; /* 1.2K */
	return 1;
}

static enum cv_verdict say(const char **why, const char *text, enum cv_verdict v)
{
	if (why)
		*why = text;
	return v;
}

enum cv_verdict cv_count(int64_t value, int64_t at, int64_t now, const char **why)
{
	if (value < 0)
		return say(why, "negative count", CV_REJECT);
	if (at > now + CV_SKEW_MS)
		return say(why, "measured in the future", CV_REJECT);
	if (at < CV_EPOCH_MS)
		return say(why, "measured before 2013", CV_REJECT);
	return say(why, "", CV_OK);
}

/*
 * A rounded reading v with unit u stands for [v - u/2, v + u): Telegram
 * rounds or truncates (protocols.md A.12 does not say which), so both are
 * allowed. An exact reading stands for [v, v + 1).
 */
static int64_t low(struct cv_reading r)
{
	return r.approx ? r.value - cv_unit(r) / 2 : r.value;
}

static int64_t high(struct cv_reading r)
{
	return r.approx ? r.value + cv_unit(r) : r.value + 1;
}

enum cv_verdict cv_views(bool have, struct cv_reading stored, struct cv_reading next,
                         const char **why)
{
	if (next.value < 0)
		return say(why, "negative views", CV_REJECT);
	if (!have)
		return say(why, "", CV_OK);
	if (!next.approx && !stored.approx) {
		if (next.value < stored.value)
			return say(why, "views went down", CV_FLAG);
		if (next.value == stored.value)
			return say(why, "no change", CV_DUP);
		return say(why, "", CV_OK);
	}
	/* two readings rounded alike: one rule made both, compare them */
	if (next.approx && stored.approx && cv_unit(next) == cv_unit(stored)) {
		if (next.value < stored.value)
			return say(why, "views went down", CV_FLAG);
		if (next.value == stored.value)
			return say(why, "no change within rounding", CV_DUP);
		return say(why, "", CV_OK);
	}
	/* otherwise at least one side is an interval */
	if (high(next) <= low(stored))
		return say(why, "views went down", CV_FLAG);
	if (next.approx && !stored.approx && stored.value >= low(next))
		return say(why, "no change within rounding", CV_DUP);
	if (next.approx && stored.approx && next.value <= stored.value)
		return say(why, "no change within rounding", CV_DUP);
	return say(why, "", CV_OK);
}

const char *cv_verdict_name(enum cv_verdict v)
{
	static const char *const names[] = {"ok", "duplicate", "flagged", "rejected"};

	return (size_t)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}
