/*
 * form: application/x-www-form-urlencoded bodies (the WHATWG URL standard's
 * parser: '&' separates pairs, the first '=' a name from its value, '+' is a
 * space and %XX a byte).
 */
#ifndef HERALD_LIB_FORM_H
#define HERALD_LIB_FORM_H

#include <jansson.h>
#include <stddef.h>

#include "lib/err.h"

#define FORM_FIELDS_MAX 128

/*
 * The pairs of body as a JSON object of strings into *out (a new
 * reference). Empty pairs are skipped. -ERR_INVALID (and e says why) for a
 * bad %-escape, a name or value that is not UTF-8 or holds a NUL, a name
 * given twice, or more than FORM_FIELDS_MAX pairs.
 */
int form_parse(const char *body, size_t len, json_t **out, struct err *e) WUR;

#endif
