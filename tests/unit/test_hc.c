/*
 * Unit tests of the outbound HTTP client against Herald's own HTTP server on
 * loopback: methods and bodies as sent, multipart parts, response headers,
 * the response bound, timeouts and refused connections.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/server.h"
#include "lib/clock.h"
#include "lib/hc.h"

/* Echo the method, content type and body back. */
static int echo(struct http_req *r)
{
	const char *ct = http_req_header(r, "Content-Type");
	const char *x = http_req_header(r, "X-Test");
	char head[512];
	struct buf b;
	int rc;

	buf_init(&b, 1 << 20);
	snprintf(head, sizeof(head), "%s|%s|%s|", r->method, ct ? ct : "", x ? x : "");
	assert_int_equal(buf_adds(&b, head), 0);
	assert_int_equal(buf_add(&b, r->body.p, r->body.len), 0);
	http_header(r, "Retry-After", "7");
	rc = http_reply(r, 201, "text/plain", b.p, b.len);
	buf_release(&b);
	return rc;
}

static int big(struct http_req *r)
{
	static char body[64 * 1024];

	memset(body, 'x', sizeof(body));
	return http_reply_static(r, 200, "text/plain", body, sizeof(body));
}

static int slow(struct http_req *r)
{
	clock_sleep_ms(600);
	return http_reply(r, 200, "text/plain", "late", 4);
}

static const struct route routes[] = {
    {"GET", "/echo", echo, 0, ""},
    {"POST", "/echo", echo, 0, ""},
    {"GET", "/big", big, 0, ""},
    {"GET", "/slow", slow, 0, ""},
};

static struct http_server *srv;
static char base[64];

static int setup(void **state)
{
	struct http_opts o = {.host = "127.0.0.1",
	                      .threads = 2,
	                      .max_connections = 16,
	                      .max_body = 1 << 20,
	                      .max_headers = 32,
	                      .timeout_s = 5,
	                      .json_max_depth = 16,
	                      .routes = routes,
	                      .nroutes = sizeof(routes) / sizeof(routes[0])};
	struct err e = {0};

	(void)state;
	hc_global_init();
	if (http_server_start(&srv, &o, &e))
		return -1;
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", http_server_port(srv));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	http_server_drain(srv, 1000);
	http_server_free(srv);
	return 0;
}

static void url(char *out, size_t n, const char *path)
{
	snprintf(out, n, "%s%s", base, path);
}

static void test_get_and_headers(void **state)
{
	struct hc_req rq = {0};
	struct hc_resp rs;
	char u[128];

	(void)state;
	url(u, sizeof(u), "/echo");
	rq.url = u;
	rq.headers[0] = "X-Test: yes";
	rq.capture[0] = "retry-after";
	rq.capture[1] = "X-Absent";
	assert_int_equal(hc_do(&rq, &rs, NULL), 0);
	assert_int_equal(rs.status, 201);
	assert_string_equal(rs.body.p, "GET||yes|");
	assert_string_equal(rs.retry_after, "7");
	assert_string_equal(rs.content_type, "text/plain");
	/* captured by name without regard to case; an absent one is "" */
	assert_string_equal(rs.captured[0], "7");
	assert_string_equal(rs.captured[1], "");
	hc_resp_release(&rs);
}

static void test_post_json_twice_on_one_connection(void **state)
{
	struct hc_req rq = {0};
	struct hc_resp rs;
	char u[128];

	(void)state;
	url(u, sizeof(u), "/echo");
	rq.url = u;
	rq.body = "{\"a\":1}";
	rq.body_len = 7;
	rq.content_type = "application/json";
	for (int i = 0; i < 2; i++) {
		assert_int_equal(hc_do(&rq, &rs, NULL), 0);
		assert_int_equal(rs.status, 201);
		assert_string_equal(rs.body.p, "POST|application/json||{\"a\":1}");
		hc_resp_release(&rs);
	}
}

static void test_multipart(void **state)
{
	static const char png[] = {'\x89', 'P', 'N', 'G', '\0', '\x01'};
	struct hc_part parts[] = {
	    {.name = "chat_id", .data = "-100123", .len = 7},
	    {.name = "photo",
	     .data = png,
	     .len = sizeof(png),
	     .filename = "r.png",
	     .content_type = "image/png"},
	};
	struct hc_req rq = {.parts = parts, .nparts = 2};
	struct hc_resp rs;
	char u[128];

	(void)state;
	url(u, sizeof(u), "/echo");
	rq.url = u;
	assert_int_equal(hc_do(&rq, &rs, NULL), 0);
	assert_int_equal(rs.status, 201);
	assert_non_null(strstr(rs.body.p, "POST|multipart/form-data; boundary="));
	assert_non_null(strstr(rs.body.p, "name=\"chat_id\"\r\n\r\n-100123\r\n"));
	assert_non_null(strstr(rs.body.p, "name=\"photo\"; filename=\"r.png\"\r\n"
	                                  "Content-Type: image/png\r\n\r\n\x89PNG"));
	/* the NUL inside the file survived */
	assert_non_null(memmem(rs.body.p, rs.body.len, png, sizeof(png)));
	hc_resp_release(&rs);
}

static void test_bounds_and_failures(void **state)
{
	struct hc_req rq = {0};
	struct hc_resp rs;
	struct err e = {0};
	char u[128];

	(void)state;
	url(u, sizeof(u), "/big");
	rq.url = u;
	rq.max_response = 1024;
	assert_int_equal(hc_do(&rq, &rs, &e), -ERR_TOO_BIG);
	hc_resp_release(&rs);

	url(u, sizeof(u), "/slow");
	rq.max_response = 0;
	rq.timeout_ms = 150;
	assert_int_equal(hc_do(&rq, &rs, &e), -ERR_TIMEOUT);
	assert_null(strstr(e.msg, "127.0.0.1"));
	hc_resp_release(&rs);

	/* port 9 (discard) is not listening on loopback */
	rq.url = "http://127.0.0.1:9/bot123:SECRET/getMe";
	rq.timeout_ms = 2000;
	assert_int_equal(hc_do(&rq, &rs, &e), -ERR_UNAVAILABLE);
	assert_int_equal(rs.status, 0);
	assert_null(strstr(e.msg, "SECRET"));
	hc_resp_release(&rs);
}

static void test_cancel(void **state)
{
	atomic_bool cancel = true;
	struct hc_req rq = {.cancel = &cancel, .timeout_ms = 5000};
	struct hc_resp rs;
	struct err e = {0};
	char u[128];

	(void)state;
	url(u, sizeof(u), "/slow");
	rq.url = u;
	assert_int_equal(hc_do(&rq, &rs, &e), -ERR_TIMEOUT);
	assert_string_equal(e.msg, "http request cancelled");
	hc_resp_release(&rs);
	/* not cancelled: the same request completes */
	atomic_store(&cancel, false);
	assert_int_equal(hc_do(&rq, &rs, &e), 0);
	assert_int_equal(rs.status, 200);
	hc_resp_release(&rs);
}

static void test_urlencode(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 256);
	assert_int_equal(hc_urlencode(&b, "a b&c=d/é~", strlen("a b&c=d/é~")), 0);
	assert_string_equal(b.p, "a+b%26c%3Dd%2F%C3%A9~");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_and_headers),
	    cmocka_unit_test(test_post_json_twice_on_one_connection),
	    cmocka_unit_test(test_multipart),
	    cmocka_unit_test(test_bounds_and_failures),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_urlencode),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
