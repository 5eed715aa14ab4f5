/*
 * router: matches a method and a path against a table of routes whose
 * patterns have literal segments and {name} parameters ("/api/v1/channels/{id}").
 * Pure: no I/O, no allocation; the table is owned by the caller.
 *
 * A last segment "{name...}" matches the whole rest of the path (one or more
 * bytes, '/' and empty segments included): "/payme/{b64...}".
 */
#ifndef HERALD_ROUTER_H
#define HERALD_ROUTER_H

#include <stddef.h>

#include "lib/err.h"
#include "lib/str.h"

#define ROUTER_MAX_PARAMS 4

struct http_req;
typedef int (*http_handler)(struct http_req *r);

enum {
	ROUTE_AUTH = 1 << 0,  /* needs a signed-in user (API key or session) */
	ROUTE_STORE = 1 << 1, /* needs the store (answers 503 when it is down) */
};

struct route {
	const char *method; /* "GET", "POST", ... */
	const char *pattern;
	http_handler fn;
	unsigned flags;
	const char *summary; /* one line, for the OpenAPI document check */
};

struct router_match {
	const struct route *route;
	size_t index; /* of route in the table */
	size_t nparams;
	struct {
		struct str name;
		struct str value;
	} params[ROUTER_MAX_PARAMS];
	char allow[64]; /* on -ERR_CONFLICT: the methods the path has, "GET, POST" */
};

/*
 * Find the route for method and path. 0 and m filled on a match;
 * -ERR_NOT_FOUND when no pattern matches the path; -ERR_CONFLICT when some
 * do but not with this method (m->allow lists theirs). HEAD matches GET.
 * A parameter matches one non-empty segment; a last "{name...}" the
 * non-empty rest.
 */
int router_match(const struct route *routes, size_t n, const char *method, struct str path,
                 struct router_match *m);

/* The value of parameter name, or an empty slice. */
struct str router_param(const struct router_match *m, const char *name);

#endif
