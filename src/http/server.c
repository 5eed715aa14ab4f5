/*
 * server: the glue between libmicrohttpd and Herald's handlers.
 *
 * libmicrohttpd calls on_request() several times per request: once when the
 * headers are in (we allocate the request and check the bounds we can check
 * then), once per chunk of body (buffered up to max_body), and once at the
 * end, when we route and run the handler on this pool thread. on_completed()
 * runs when the response has gone out or the connection died; it writes the
 * access-log line, records metrics and frees the request.
 *
 * Shutdown: http_server_drain() quiesces the daemon (no new connections),
 * marks responses "Connection: close", waits for requests in flight, and only
 * then stops the daemon.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http/metrics.h"
#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"

/* A body over max_body is read and dropped up to this many times max_body
 * (so the client can read our 413); past it the connection is closed. */
#define DISCARD_FACTOR 4

struct http_server {
	struct MHD_Daemon *d;
	struct http_opts o;
	struct metrics *metrics;
	atomic_int_fast64_t in_flight;
	atomic_bool draining;
	atomic_uint_fast64_t seq;
	char id_prefix[12];
	int port;
};

static bool safe_id(const char *v)
{
	size_t n = 0;

	for (; v[n]; n++) {
		char c = v[n];

		if (n >= 40 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		                 (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return n > 0;
}

static void copy_bounded(char *dst, size_t dstsz, const char *src)
{
	size_t n = strnlen(src, dstsz - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static struct http_req *req_new(struct http_server *s, struct MHD_Connection *conn, const char *url,
                                const char *method)
{
	struct http_req *r = xcalloc(1, sizeof(*r));
	const char *rid;

	r->srv = s;
	r->ctx = s->o.ctx;
	r->conn = conn;
	r->start_us = clock_mono_us();
	copy_bounded(r->method, sizeof(r->method), method);
	copy_bounded(r->path, sizeof(r->path), url);
	buf_init(&r->body, s->o.max_body);
	rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
	if (rid && safe_id(rid))
		copy_bounded(r->id, sizeof(r->id), rid);
	else
		snprintf(r->id, sizeof(r->id), "%s-%06llx", s->id_prefix,
		         (unsigned long long)atomic_fetch_add(&s->seq, 1));
	return r;
}

static void req_free(struct http_req *r)
{
	if (r->auth && r->auth_free)
		r->auth_free(r->auth);
	for (size_t i = 0; i < r->nextra; i++) {
		free(r->extra[i].name);
		free(r->extra[i].value);
	}
	buf_release(&r->body);
	free(r);
}

const char *http_req_header(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_req_query(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_req_cookie(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

void http_header(struct http_req *r, const char *name, const char *value)
{
	if (r->nextra == HTTP_MAX_EXTRA_HEADERS) {
		log_error("msg=\"too many response headers\" id=%s", r->id);
		return;
	}
	r->extra[r->nextra].name = xstrdup(name);
	r->extra[r->nextra].value = xstrdup(value);
	r->nextra++;
}

static int queue(struct http_req *r, int status, const char *ctype, struct MHD_Response *resp,
                 size_t len)
{
	enum MHD_Result ok;

	if (r->responded) {
		MHD_destroy_response(resp);
		log_error("msg=\"second reply to one request\" id=%s", r->id);
		return -ERR_INTERNAL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	for (size_t i = 0; i < r->nextra; i++)
		MHD_add_response_header(resp, r->extra[i].name, r->extra[i].value);
	if (atomic_load(&r->srv->draining))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ok = MHD_queue_response(r->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	r->responded = true;
	r->status = status;
	r->resp_len = len;
	return ok == MHD_YES ? 0 : -ERR_INTERNAL;
}

int http_reply(struct http_req *r, int status, const char *content_type, const char *body,
               size_t len)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);

	return queue(r, status, content_type, resp, len);
}

int http_reply_static(struct http_req *r, int status, const char *content_type, const char *body,
                      size_t len)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);

	return queue(r, status, content_type, resp, len);
}

static int reply_json_typed(struct http_req *r, int status, const char *ctype, json_t *v)
{
	struct buf b;
	struct MHD_Response *resp;
	char *p;
	size_t len;

	buf_init(&b, 64u << 20);
	if (json_to_buf(v, &b)) {
		json_decref(v);
		buf_release(&b);
		log_error("msg=\"response too large\" id=%s", r->id);
		return http_reply(r, 500, "text/plain", "response too large\n", 19);
	}
	json_decref(v);
	p = buf_take(&b, &len);
	resp = MHD_create_response_from_buffer(len, p, MHD_RESPMEM_MUST_FREE);
	return queue(r, status, ctype, resp, len);
}

int http_reply_close(struct http_req *r)
{
	if (r->responded) {
		log_error("msg=\"second reply to one request\" id=%s", r->id);
		return -ERR_INTERNAL;
	}
	r->responded = true;
	r->close = true;
	r->status = 0;
	return 0;
}

int http_reply_json(struct http_req *r, int status, json_t *v)
{
	return reply_json_typed(r, status, "application/json", v);
}

int http_problem(struct http_req *r, int status, const char *type, const char *title,
                 json_t *fields, const char *fmt, ...)
{
	char detail[512], typeuri[96];
	json_t *o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(typeuri, sizeof(typeuri), "/problems/%s", type);
	o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", typeuri, "title", title, "status",
	              status, "detail", detail, "instance", r->path, "request_id", r->id);
	if (!o) /* only when a string is not UTF-8: the path came from outside */
		o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", typeuri, "title", title,
		              "status", status, "detail", detail, "request_id", r->id);
	if (fields) {
		json_object_update_missing(o, fields);
		json_decref(fields);
	}
	return reply_json_typed(r, status, "application/problem+json", o);
}

int http_reply_err(struct http_req *r, int rc, const struct err *e)
{
	const char *msg = e && e->msg[0] ? e->msg : err_name(rc);

	switch (-rc) {
	case ERR_UNAVAILABLE:
	case ERR_BUSY:
	case ERR_TIMEOUT:
		log_warn("msg=\"dependency unavailable\" id=%s err=\"%s\"", r->id, msg);
		http_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "5");
		return http_problem(
		    r, 503, "unavailable", "Service Unavailable", NULL,
		    "a service Herald depends on cannot be reached; try again soon");
	case ERR_NOT_FOUND:
		return http_problem(r, 404, "not-found", "Not Found", NULL, "%s", msg);
	case ERR_INVALID:
		return http_problem(r, 422, "invalid", "Unprocessable Content", NULL, "%s", msg);
	case ERR_EXISTS:
	case ERR_CONFLICT:
		return http_problem(r, 409, "conflict", "Conflict", NULL, "%s", msg);
	case ERR_AUTH:
		return http_problem(r, 401, "unauthorized", "Unauthorized", NULL, "%s", msg);
	case ERR_TOO_BIG:
		return http_problem(r, 413, "payload-too-large", "Content Too Large", NULL, "%s",
		                    msg);
	default:
		log_error("msg=\"request failed\" id=%s err=\"%s\"", r->id, msg);
		return http_problem(r, 500, "internal", "Internal Server Error", NULL,
		                    "the server failed; the request id identifies it in the logs");
	}
}

int http_req_json(struct http_req *r, json_t **out)
{
	const char *ct = http_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	struct err e = {0};
	int rc;

	*out = NULL;
	if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
		http_problem(r, 415, "unsupported-media-type", "Unsupported Media Type", NULL,
		             "send the body as application/json");
		return -ERR_INVALID;
	}
	if (!r->body.len) {
		http_problem(r, 400, "malformed-json", "Bad Request", NULL,
		             "the request body is empty; a JSON object was expected");
		return -ERR_INVALID;
	}
	rc = json_parse(r->body.p, r->body.len, r->srv->o.json_max_depth, out, &e);
	if (rc == -ERR_TOO_BIG) {
		http_problem(r, 400, "json-too-deep", "Bad Request", NULL, "%s", e.msg);
		return rc;
	}
	if (rc) {
		http_problem(r, 400, "malformed-json", "Bad Request", NULL, "%s", e.msg);
		return rc;
	}
	return 0;
}

static void early_problem(struct http_req *r)
{
	switch (r->early_status) {
	case 413:
		http_problem(r, 413, "payload-too-large", "Content Too Large", NULL,
		             "the request body is larger than %zu bytes", r->srv->o.max_body);
		break;
	case 431:
		http_problem(r, 431, "too-many-headers", "Request Header Fields Too Large", NULL,
		             "the request has more than %zu header fields", r->srv->o.max_headers);
		break;
	default:
		http_problem(r, 400, "bad-request", "Bad Request", NULL,
		             "the request is malformed");
		break;
	}
}

static void dispatch(struct http_req *r)
{
	struct http_server *s = r->srv;
	struct str path = str_c(r->path);
	int rc;

	if (r->early_status) {
		early_problem(r);
		return;
	}
	rc = router_match(s->o.routes, s->o.nroutes, r->method, path, &r->match);
	if (rc == -ERR_NOT_FOUND) {
		http_problem(r, 404, "not-found", "Not Found", NULL, "no route for %s", r->method);
		return;
	}
	if (rc == -ERR_CONFLICT) {
		http_header(r, MHD_HTTP_HEADER_ALLOW, r->match.allow);
		http_problem(r, 405, "method-not-allowed", "Method Not Allowed", NULL,
		             "%s is not allowed here; allowed: %s", r->method, r->match.allow);
		return;
	}
	r->matched = true;
	if (r->match.route->flags && s->o.guard && s->o.guard(r))
		return;
	r->match.route->fn(r);
	if (!r->responded) {
		log_error("msg=\"handler gave no answer\" id=%s route=%s", r->id,
		          r->match.route->pattern);
		http_problem(r, 500, "internal", "Internal Server Error", NULL,
		             "the server failed; the request id identifies it in the logs");
	}
}

static void first_checks(struct http_req *r)
{
	struct http_server *s = r->srv;
	const char *cl;
	int64_t len;

	if ((size_t)MHD_get_connection_values(r->conn, MHD_HEADER_KIND, NULL, NULL) >
	    s->o.max_headers) {
		r->early_status = 431;
		return;
	}
	cl = http_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && !str_to_i64(str_c(cl), 0, INT64_MAX, &len) && (uint64_t)len > s->o.max_body) {
		r->early_status = 413;
		/* Too large to read and drop: answer now; the daemon closes after. */
		if ((uint64_t)len > (uint64_t)s->o.max_body * DISCARD_FACTOR)
			early_problem(r);
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;

	(void)version;
	if (!r) {
		r = req_new(s, conn, url, method);
		*con_cls = r;
		atomic_fetch_add(&s->in_flight, 1);
		first_checks(r);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (r->responded)
			return MHD_YES;
		if (!r->early_status && buf_add(&r->body, upload_data, n))
			r->early_status = 413;
		if (r->early_status) {
			r->discarded += n;
			if (r->discarded > s->o.max_body * DISCARD_FACTOR)
				return MHD_NO; /* close the connection */
		}
		return MHD_YES;
	}
	if (!r->responded)
		dispatch(r);
	return r->close ? MHD_NO : MHD_YES;
}

static void log_path(const char *in, char *out, size_t outsz)
{
	size_t o = 0;

	for (; *in && o + 1 < outsz; in++) {
		unsigned char c = (unsigned char)*in;

		out[o++] = (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
	}
	out[o] = '\0';
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	int64_t dur_us;
	char path[256];

	(void)conn;
	if (!r)
		return;
	*con_cls = NULL;
	dur_us = clock_mono_us() - r->start_us;
	metrics_observe(s->metrics, r->matched ? r->match.index : s->o.nroutes, r->status, dur_us);
	if (log_threshold >= LOG_INFO) {
		char redacted[sizeof(r->path)];

		/* the simulator serves /bot<token>/...: never log a token */
		log_redact_url(r->path, redacted, sizeof(redacted));
		log_path(redacted, path, sizeof(path));
		log_write(LOG_INFO,
		          "msg=request id=%s method=%s path=\"%s\" route=\"%s\" status=%d "
		          "bytes=%zu dur_ms=%.3f%s",
		          r->id, r->method, path, r->matched ? r->match.route->pattern : "-",
		          r->status, r->resp_len, (double)dur_us / 1000.0,
		          toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=true");
	}
	req_free(r);
	atomic_fetch_sub(&s->in_flight, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_debug("msg=\"libmicrohttpd: %s\"", msg);
}

int http_server_start(struct http_server **out, const struct http_opts *o, struct err *e)
{
	struct http_server *s;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const union MHD_DaemonInfo *info;
	unsigned char rnd[4];
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	enum MHD_OPTION pool_opt = MHD_OPTION_THREAD_POOL_SIZE;

	*out = NULL;
	if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1)
		return err_set(e, ERR_INVALID, "cannot listen on %s: not an IPv4 address", o->host);
	sa.sin_port = htons((uint16_t)o->port);
	if (o->thread_per_connection) {
		/* incompatible with epoll and with a thread pool: the pool size,
		 * last among the options, is cut off by an early MHD_OPTION_END */
		flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
		        MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
		pool_opt = MHD_OPTION_END;
	}
	s = xcalloc(1, sizeof(*s));
	s->o = *o;
	s->metrics = metrics_new(o->routes, o->nroutes);
	crypto_random(rnd, sizeof(rnd));
	snprintf(s->id_prefix, sizeof(s->id_prefix), "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
	         rnd[3]);
	s->d = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE,
	    1024u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_EXTERNAL_LOGGER,
	    on_mhd_log, s, pool_opt, (unsigned)(o->threads > 1 ? o->threads : 1), MHD_OPTION_END);
	if (!s->d) {
		metrics_free(s->metrics);
		free(s);
		return err_set(e, ERR_IO, "cannot listen on %s:%d (in use, or not permitted)",
		               o->host, o->port);
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : o->port;
	*out = s;
	return 0;
}

int http_server_port(const struct http_server *s)
{
	return s->port;
}

int64_t http_server_in_flight(const struct http_server *s)
{
	return atomic_load(&s->in_flight);
}

const struct metrics *http_server_metrics(const struct http_server *s)
{
	return s->metrics;
}

static unsigned connections(struct http_server *s)
{
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info ? info->num_connections : 0;
}

void http_server_drain(struct http_server *s, int64_t timeout_ms)
{
	int64_t deadline = clock_mono_ms() + timeout_ms, idle_deadline;
	MHD_socket fd;

	if (!s->d)
		return;
	atomic_store(&s->draining, true);
	fd = MHD_quiesce_daemon(s->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	log_info("msg=draining in_flight=%lld connections=%u",
	         (long long)atomic_load(&s->in_flight), connections(s));
	while (atomic_load(&s->in_flight) > 0 && clock_mono_ms() < deadline)
		clock_sleep_ms(5);
	/* Connections with a request still arriving get a moment to finish
	 * it; idle keep-alive ones are closed by the stop below. */
	idle_deadline = clock_mono_ms() + 250;
	while (connections(s) > 0 && clock_mono_ms() < idle_deadline && clock_mono_ms() < deadline)
		clock_sleep_ms(5);
	while (atomic_load(&s->in_flight) > 0 && clock_mono_ms() < deadline)
		clock_sleep_ms(5);
	if (atomic_load(&s->in_flight) > 0)
		log_warn("msg=\"shutdown timeout with requests in flight\" in_flight=%lld",
		         (long long)atomic_load(&s->in_flight));
	MHD_stop_daemon(s->d);
	s->d = NULL;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	metrics_free(s->metrics);
	free(s);
}
