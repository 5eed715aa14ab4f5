/*
 * stripe_form: Stripe's form encoding (protocols.md B.2) read into a tree.
 *
 * A body "a=1&b[c]=2&d[0][e]=3&d[1][e]=4&f[]=x&f[]=y" becomes the JSON
 * value {"a":"1","b":{"c":"2"},"d":[{"e":"3"},{"e":"4"}],"f":["x","y"]}:
 * every leaf is a string (Stripe sends booleans and numbers as text), a
 * bracketed segment of digits is an array index, an empty segment "[]"
 * appends, any other segment is an object key. Brackets may come encoded
 * (%5B, %5D) or not; '+' is a space; percent escapes are decoded.
 *
 * The rules for what is ambiguous:
 * - indices need not be dense: the elements are kept in index order and
 *   the gaps closed ("a[3]=x&a[7]=y" is ["x","y"]);
 * - under a key named "metadata" digit segments are keys, not indices
 *   (metadata[0]=x is {"0":"x"}): metadata is always a map;
 * - a non-final "[]" continues the last element when it is an object
 *   that does not have the next key yet, and starts a new one otherwise
 *   (Rack's rule: "a[][k]=1&a[][v]=2" is one element);
 * - the same scalar twice: the last one wins;
 * - a name used both as a scalar and as a container, or a container used
 *   both with indices and with keys, is an error.
 *
 * Pure over bytes; every input is bounded before it is kept, and any byte
 * sequence either parses or fails with a message (fuzz_stripe_form).
 */
#ifndef HERALD_SIM_STRIPE_FORM_H
#define HERALD_SIM_STRIPE_FORM_H

#include <jansson.h>
#include <stddef.h>

#include "lib/err.h"

#define STRIPE_FORM_MAX_PAIRS 1000    /* key=value pairs in one request */
#define STRIPE_FORM_MAX_KEY   512     /* bytes of a decoded key */
#define STRIPE_FORM_MAX_VALUE 65536   /* bytes of a decoded value */
#define STRIPE_FORM_MAX_DEPTH 8       /* bracketed segments after the name */
#define STRIPE_FORM_MAX_INDEX 999     /* the largest array index */
#define STRIPE_FORM_MAX_BODY  1048576 /* bytes of an encoded body */

struct stripe_form {
	json_t *root; /* while building: arrays are objects keyed by index */
	size_t npairs;
};

void stripe_form_init(struct stripe_form *f);
void stripe_form_release(struct stripe_form *f);

/*
 * Add one pair whose key and value are already decoded (a query string
 * argument as the HTTP server hands it over). On failure f is unchanged
 * except that pairs added before stay, and e says what is wrong with which
 * key (e->msg names the key, never the value).
 */
int stripe_form_add(struct stripe_form *f, const char *key, size_t klen, const char *val,
                    size_t vlen, struct err *e) WUR;

/*
 * Add every pair of an application/x-www-form-urlencoded body (data, len):
 * pairs separated by '&' (empty ones skipped), each split at its first '='
 * (no '=' is an empty value). Errors: -ERR_TOO_BIG past a bound above,
 * -ERR_INVALID for a malformed escape, key, or bytes that are not UTF-8.
 */
int stripe_form_parse(struct stripe_form *f, const char *data, size_t len, struct err *e) WUR;

/*
 * The tree built so far, with index maps turned into arrays: a new
 * reference (an empty object when nothing was added). f may go on being
 * used and must still be released.
 */
json_t *stripe_form_tree(const struct stripe_form *f);

#endif
