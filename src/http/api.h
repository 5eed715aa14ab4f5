/*
 * api: the routes Herald serves (operational endpoints and REST under
 * /api/v1/) and the guard that authenticates and rate-limits them.
 */
#ifndef HERALD_API_H
#define HERALD_API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "http/router.h"

struct user;

extern const struct route api_routes[];
extern const size_t api_nroutes;

/* The guard for routes with ROUTE_AUTH: see http_opts.guard. */
int api_guard(struct http_req *r);

/* The signed-in user of a request that passed the guard (ROUTE_AUTH). */
const struct user *api_user(const struct http_req *r);

/*
 * The request's body as a JSON object into *body (a new reference). When it
 * is not one the request has been answered (400, 413, 415, 422) and a
 * negative code is returned.
 */
int api_json_object_body(struct http_req *r, json_t **body) WUR;

/*
 * The {id} of the path as a positive integer into *id. Otherwise the
 * request has been answered 404 ("no such <what>") and -ERR_NOT_FOUND is
 * returned.
 */
int api_path_id(struct http_req *r, const char *what, int64_t *id) WUR;

#endif
