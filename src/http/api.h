/*
 * api: the routes Herald serves (operational endpoints and REST under
 * /api/v1/) and the guard that authenticates and rate-limits them.
 */
#ifndef HERALD_API_H
#define HERALD_API_H

#include <stddef.h>

#include "http/router.h"

extern const struct route api_routes[];
extern const size_t api_nroutes;

/* The guard for routes with ROUTE_AUTH: see http_opts.guard. */
int api_guard(struct http_req *r);

#endif
