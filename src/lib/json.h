/*
 * json: bounded JSON parsing on jansson, and small accessors.
 */
#ifndef HERALD_JSON_H
#define HERALD_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/err.h"

/*
 * Nesting depth of the JSON text in data: the deepest run of open arrays and
 * objects, with strings and escapes skipped. Pure; stops counting past
 * limit + 1, so the cost is bounded by len alone.
 */
size_t json_depth(const char *data, size_t len, size_t limit);

/*
 * Parse data as one JSON value no deeper than max_depth, rejecting duplicate
 * object keys. On success *out is a new reference the caller must
 * json_decref(); on failure *out is NULL and e says where it failed.
 */
int json_parse(const char *data, size_t len, size_t max_depth, json_t **out, struct err *e) WUR;

/* Serialise v compactly, appending to b. -ERR_TOO_BIG when b's max is hit. */
int json_to_buf(const json_t *v, struct buf *b) WUR;

#endif
