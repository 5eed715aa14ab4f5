/*
 * str: slice helpers. All are pure functions over bytes; none allocate.
 */
#include "lib/str.h"

#include <strings.h>

bool str_starts(struct str s, const char *prefix)
{
	size_t n = strlen(prefix);

	return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

bool str_case_eq(struct str a, const char *c)
{
	size_t n = strlen(c);

	return a.len == n && strncasecmp(a.p, c, n) == 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct str str_trim(struct str s)
{
	while (s.len && is_space(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && is_space(s.p[s.len - 1]))
		s.len--;
	return s;
}

int str_to_i64(struct str s, int64_t min, int64_t max, int64_t *out)
{
	uint64_t v = 0, limit;
	bool neg = false;
	size_t i = 0;

	if (s.len && (s.p[0] == '-' || s.p[0] == '+')) {
		neg = s.p[0] == '-';
		i = 1;
	}
	if (i == s.len || s.len - i > 19)
		return -ERR_INVALID;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < s.len; i++) {
		unsigned d;

		if (s.p[i] < '0' || s.p[i] > '9')
			return -ERR_INVALID;
		d = (unsigned)(s.p[i] - '0');
		if (v > (limit - d) / 10)
			return -ERR_INVALID;
		v = v * 10 + d;
	}
	if (neg) {
		int64_t r = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;

		if (r < min)
			return -ERR_INVALID;
		*out = r;
	} else {
		if ((int64_t)v > max)
			return -ERR_INVALID;
		*out = (int64_t)v;
	}
	if (*out < min || *out > max)
		return -ERR_INVALID;
	return 0;
}

bool str_split(struct str *s, char sep, struct str *head)
{
	const char *q = s->len ? memchr(s->p, sep, s->len) : NULL;

	if (!q) {
		*head = *s;
		s->p += s->len;
		s->len = 0;
		return false;
	}
	head->p = s->p;
	head->len = (size_t)(q - s->p);
	s->len -= head->len + 1;
	s->p = q + 1;
	return true;
}
