/*
 * json: a depth pre-scan (jansson's own cap is a compile-time 2048) followed
 * by jansson's parser, so hostile nesting is rejected before any allocation.
 */
#include "lib/json.h"

#include <stdbool.h>

size_t json_depth(const char *data, size_t len, size_t limit)
{
	size_t depth = 0, deepest = 0;
	bool in_str = false, esc = false;

	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		switch (c) {
		case '"':
			in_str = true;
			break;
		case '[':
		case '{':
			if (++depth > deepest) {
				deepest = depth;
				if (deepest > limit)
					return deepest;
			}
			break;
		case ']':
		case '}':
			if (depth)
				depth--;
			break;
		default:
			break;
		}
	}
	return deepest;
}

int json_parse(const char *data, size_t len, size_t max_depth, json_t **out, struct err *e)
{
	json_error_t je;
	size_t d;

	*out = NULL;
	d = json_depth(data, len, max_depth);
	if (d > max_depth)
		return err_set(e, ERR_TOO_BIG, "json nesting deeper than %zu", max_depth);
	*out = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!*out)
		return err_set(e, ERR_INVALID, "malformed json at line %d column %d: %s", je.line,
		               je.column, je.text);
	return 0;
}

static int dump_cb(const char *p, size_t n, void *arg)
{
	return buf_add(arg, p, n) ? -1 : 0;
}

int json_to_buf(const json_t *v, struct buf *b)
{
	if (json_dump_callback(v, dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
		return -ERR_TOO_BIG;
	return 0;
}
