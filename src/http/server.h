/*
 * server: Herald's HTTP/1.1 server on libmicrohttpd with a thread pool.
 *
 * Each request is handled start to finish on one pool thread: the router
 * picks the route, the guard (authentication, rate limits) runs for routes
 * that ask for it, and the handler answers with one of the http_reply_*
 * functions or http_problem(). Bounds on headers, body size, JSON depth and
 * idle time are enforced before any handler runs.
 */
#ifndef HERALD_HTTP_SERVER_H
#define HERALD_HTTP_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/router.h"
#include "lib/buf.h"
#include "lib/err.h"

struct http_server;
struct metrics;
struct MHD_Connection;

#define HTTP_MAX_EXTRA_HEADERS 8

struct http_opts {
	const char *host; /* IPv4 literal */
	int port;         /* 0: any free port */
	int threads;
	int max_connections;
	size_t max_body;
	size_t max_headers;
	int timeout_s; /* idle time before a connection is closed */
	size_t json_max_depth;
	const struct route *routes;
	size_t nroutes;
	void *ctx; /* handed to handlers as r->ctx */
	/* Called before the handler of a route with flags; returns 0 to go on,
	 * or non-zero after answering the request itself. */
	int (*guard)(struct http_req *r);
	/* One thread per connection instead of the pool, for handlers that
	 * block for long (long polling): a held request then delays no other
	 * connection. threads is ignored. */
	bool thread_per_connection;
};

struct http_req {
	struct http_server *srv;
	void *ctx;
	struct MHD_Connection *conn;
	char method[16];
	char path[512];
	struct router_match match;
	bool matched;
	struct buf body;
	char id[48];
	int64_t start_us;
	int status;
	size_t resp_len;
	bool responded;
	bool close;       /* http_reply_close: no answer, the connection dropped */
	int early_status; /* a bound broken before the handler could run */
	size_t discarded;
	void *auth; /* set by the guard; released with auth_free */
	void (*auth_free)(void *auth);
	size_t nextra;
	struct {
		char *name, *value;
	} extra[HTTP_MAX_EXTRA_HEADERS];
};

/* Start listening and serving. On failure *out is NULL. */
int http_server_start(struct http_server **out, const struct http_opts *o, struct err *e) WUR;
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *s);
/*
 * Stop accepting connections, let every request already received finish
 * (up to timeout_ms), then stop. Safe to call once; http_server_free after.
 */
void http_server_drain(struct http_server *s, int64_t timeout_ms);
void http_server_free(struct http_server *s);

int64_t http_server_in_flight(const struct http_server *s);
const struct metrics *http_server_metrics(const struct http_server *s);

/* A request header (case-insensitive name), or NULL. */
const char *http_req_header(const struct http_req *r, const char *name);
/* A query string argument's value (decoded), or NULL. */
const char *http_req_query(const struct http_req *r, const char *name);
/* A cookie's value, or NULL. */
const char *http_req_cookie(const struct http_req *r, const char *name);

/*
 * Parse the request body as JSON (Content-Type must be application/json).
 * On failure the request has been answered (400, 413, 415) and a negative
 * code is returned; on success *out is a new reference.
 */
int http_req_json(struct http_req *r, json_t **out) WUR;

/* Add a response header (copied) before replying. */
void http_header(struct http_req *r, const char *name, const char *value);

/* Reply with body (copied). */
int http_reply(struct http_req *r, int status, const char *content_type, const char *body,
               size_t len);
/* Reply with body that outlives the server (not copied). */
int http_reply_static(struct http_req *r, int status, const char *content_type, const char *body,
                      size_t len);
/*
 * Answer nothing: the connection is closed as soon as the handler returns
 * (a simulator's "the server went away"). The access log shows status 0.
 */
int http_reply_close(struct http_req *r);
/* Reply with v serialised as JSON; steals the reference to v. */
int http_reply_json(struct http_req *r, int status, json_t *v);

/*
 * Reply with application/problem+json: {type, title, status, detail,
 * instance, request_id}. type is a stable slug ("not-found") made into
 * "/problems/<slug>"; fields (may be NULL) is merged in (reference stolen).
 */
int http_problem(struct http_req *r, int status, const char *type, const char *title,
                 json_t *fields, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * Answer with the problem that fits a failed call's code: unavailable and
 * busy stores and kv give 503 with Retry-After, not found 404, invalid 422,
 * exists and conflict 409, auth 401, anything else 500 (its detail is
 * logged, not sent).
 */
int http_reply_err(struct http_req *r, int rc, const struct err *e);

#endif
