/*
 * str: a read-only slice of bytes, for parsing without copying.
 */
#ifndef HERALD_STR_H
#define HERALD_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/err.h"

struct str {
	const char *p;
	size_t len;
};

#define STR_LIT(s) ((struct str){(s), sizeof(s) - 1})

static inline struct str str_c(const char *s)
{
	return (struct str){s, s ? strlen(s) : 0};
}

static inline bool str_eq(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool str_eqc(struct str a, const char *c)
{
	return str_eq(a, str_c(c));
}

bool str_starts(struct str s, const char *prefix);
bool str_case_eq(struct str a, const char *c);
struct str str_trim(struct str s);

/*
 * Parse a whole slice as a base-10 integer within [min, max]. Leading and
 * trailing junk, overflow and an empty slice are -ERR_INVALID.
 */
int str_to_i64(struct str s, int64_t min, int64_t max, int64_t *out) WUR;

/*
 * Split s at the first sep: *head gets what is before it, *s keeps what is
 * after it. Without sep, *head gets all of s, *s becomes empty and false is
 * returned.
 */
bool str_split(struct str *s, char sep, struct str *head);

#endif
