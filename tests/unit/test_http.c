/*
 * Unit tests of the router, the metrics text, and the agreement between the
 * route table and the OpenAPI document kept in docs/openapi.json.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/api.h"
#include "http/metrics.h"
#include "http/router.h"
#include "lib/embed.h"
#include "lib/json.h"

static int h(struct http_req *r)
{
	(void)r;
	return 0;
}

static const struct route routes[] = {
    {"GET", "/healthz", h, 0, ""},
    {"GET", "/api/v1/channels", h, 0, ""},
    {"POST", "/api/v1/channels", h, 0, ""},
    {"GET", "/api/v1/channels/{id}", h, 0, ""},
    {"DELETE", "/api/v1/channels/{id}", h, 0, ""},
    {"GET", "/api/v1/channels/{id}/analytics/{kind}", h, 0, ""},
};

static void test_router_match(void **state)
{
	struct router_match m;

	(void)state;
	assert_int_equal(router_match(routes, 6, "GET", str_c("/healthz"), &m), 0);
	assert_int_equal(m.index, 0);
	assert_int_equal(router_match(routes, 6, "HEAD", str_c("/healthz"), &m), 0);
	assert_int_equal(router_match(routes, 6, "POST", str_c("/api/v1/channels"), &m), 0);
	assert_int_equal(m.index, 2);
	assert_int_equal(router_match(routes, 6, "DELETE", str_c("/api/v1/channels/42"), &m), 0);
	assert_int_equal(m.index, 4);
	assert_true(str_eqc(router_param(&m, "id"), "42"));
	assert_int_equal(
	    router_match(routes, 6, "GET", str_c("/api/v1/channels/7/analytics/growth"), &m), 0);
	assert_int_equal(m.nparams, 2);
	assert_true(str_eqc(router_param(&m, "id"), "7"));
	assert_true(str_eqc(router_param(&m, "kind"), "growth"));
	assert_true(str_eqc(router_param(&m, "nope"), ""));
}

static void test_router_misses(void **state)
{
	struct router_match m;

	(void)state;
	assert_int_equal(router_match(routes, 6, "GET", str_c("/nope"), &m), -ERR_NOT_FOUND);
	assert_int_equal(router_match(routes, 6, "GET", str_c("/healthz/"), &m), -ERR_NOT_FOUND);
	assert_int_equal(router_match(routes, 6, "GET", str_c("/api/v1/channels/"), &m),
	                 -ERR_NOT_FOUND); /* an empty parameter */
	assert_int_equal(router_match(routes, 6, "GET", str_c("/api/v1/channels/1/2"), &m),
	                 -ERR_NOT_FOUND);
	assert_int_equal(router_match(routes, 6, "GET", str_c(""), &m), -ERR_NOT_FOUND);
	assert_int_equal(router_match(routes, 6, "GET", str_c("healthz"), &m), -ERR_NOT_FOUND);
	assert_int_equal(router_match(routes, 6, "PUT", str_c("/api/v1/channels/9"), &m),
	                 -ERR_CONFLICT);
	assert_string_equal(m.allow, "GET, DELETE");
	assert_int_equal(router_match(routes, 6, "DELETE", str_c("/healthz"), &m), -ERR_CONFLICT);
	assert_string_equal(m.allow, "GET");
}

static void test_router_rest(void **state)
{
	static const struct route rest[] = {
	    {"GET", "/pay/{rest...}", h, 0, ""},
	    {"GET", "/{a}/{b}", h, 0, ""},
	};
	struct router_match m;

	(void)state;
	assert_int_equal(router_match(rest, 2, "GET", str_c("/pay/abc"), &m), 0);
	assert_int_equal(m.index, 0);
	assert_true(str_eqc(router_param(&m, "rest"), "abc"));
	assert_int_equal(router_match(rest, 2, "GET", str_c("/pay/a/b//c=="), &m), 0);
	assert_true(str_eqc(router_param(&m, "rest"), "a/b//c=="));
	assert_int_equal(router_match(rest, 2, "GET", str_c("/pay//"), &m), 0);
	assert_true(str_eqc(router_param(&m, "rest"), "/"));
	/* the rest must not be empty */
	assert_int_equal(router_match(rest, 2, "GET", str_c("/pay/"), &m), -ERR_NOT_FOUND);
	assert_int_equal(router_match(rest, 2, "GET", str_c("/pay"), &m), -ERR_NOT_FOUND);
	assert_int_equal(router_match(rest, 2, "GET", str_c("/paid/x"), &m), 0);
	assert_int_equal(m.index, 1);
}

static void test_metrics_text(void **state)
{
	struct metrics *m = metrics_new(routes, 6);
	struct buf b;

	(void)state;
	metrics_observe(m, 0, 200, 300);     /* 0.3 ms */
	metrics_observe(m, 0, 200, 3000);    /* 3 ms */
	metrics_observe(m, 0, 503, 2000000); /* 2 s */
	metrics_observe(m, 99, 404, 100);    /* unmatched */
	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(m, 2, &b), 0);
	assert_non_null(strstr(b.p, "herald_build_info{version=\"" HERALD_VERSION "\"} 1\n"));
	assert_non_null(strstr(b.p, "herald_http_in_flight 2\n"));
	assert_non_null(strstr(
	    b.p, "herald_http_requests_total{route=\"/healthz\",method=\"GET\",code=\"2xx\"} 2\n"));
	assert_non_null(strstr(
	    b.p, "herald_http_requests_total{route=\"/healthz\",method=\"GET\",code=\"5xx\"} 1\n"));
	assert_non_null(strstr(
	    b.p, "herald_http_requests_total{route=\"unmatched\",method=\"\",code=\"4xx\"} 1\n"));
	assert_non_null(strstr(b.p,
	                       "herald_http_request_duration_seconds_bucket{route=\"/healthz\","
	                       "method=\"GET\",le=\"0.0005\"} 1\n"));
	assert_non_null(strstr(b.p,
	                       "herald_http_request_duration_seconds_bucket{route=\"/healthz\","
	                       "method=\"GET\",le=\"0.005\"} 2\n"));
	assert_non_null(strstr(b.p,
	                       "herald_http_request_duration_seconds_bucket{route=\"/healthz\","
	                       "method=\"GET\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(b.p, "herald_http_request_duration_seconds_count{route=\"/healthz\","
	                            "method=\"GET\"} 3\n"));
	/* routes without requests are left out */
	assert_null(strstr(b.p, "route=\"/api/v1/channels\""));
	/* each family's samples are one group: no counter after a histogram line */
	assert_true(strstr(b.p, "herald_http_requests_total{route=\"unmatched\"") <
	            strstr(b.p, "herald_http_request_duration_seconds_bucket"));
	buf_release(&b);
	metrics_free(m);
}

static void lower(const char *in, char *out, size_t n)
{
	size_t i = 0;

	for (; in[i] && i + 1 < n; i++)
		out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
	out[i] = '\0';
}

/* Every route is in the document with its summary, and every operation in the
 * document is a route. */
static void test_openapi_matches_router(void **state)
{
	json_t *doc = NULL, *paths, *item, *op;
	struct err e = {0};
	const char *path, *method;
	size_t ops = 0;

	(void)state;
	assert_string_equal(embed_openapi[0].name, "openapi.json");
	assert_int_equal(json_parse(embed_openapi[0].data, embed_openapi[0].len, 64, &doc, &e), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
	paths = json_object_get(doc, "paths");
	assert_non_null(paths);
	for (size_t i = 0; i < api_nroutes; i++) {
		char m[16];

		lower(api_routes[i].method, m, sizeof(m));
		op = json_object_get(json_object_get(paths, api_routes[i].pattern), m);
		if (!op)
			fail_msg("route %s %s is not in docs/openapi.json", api_routes[i].method,
			         api_routes[i].pattern);
		assert_string_equal(json_string_value(json_object_get(op, "summary")),
		                    api_routes[i].summary);
		if (api_routes[i].flags & ROUTE_AUTH)
			assert_non_null(json_object_get(json_object_get(op, "responses"), "401"));
	}
	json_object_foreach(paths, path, item)
	{
		json_object_foreach(item, method, op)
		{
			bool found = false;

			for (size_t i = 0; i < api_nroutes; i++) {
				char m[16];

				lower(api_routes[i].method, m, sizeof(m));
				found |= strcmp(api_routes[i].pattern, path) == 0 &&
				         strcmp(m, method) == 0;
			}
			if (!found)
				fail_msg("docs/openapi.json has %s %s but the router does not",
				         method, path);
			ops++;
		}
	}
	assert_int_equal(ops, api_nroutes);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_router_match),
	    cmocka_unit_test(test_router_misses),
	    cmocka_unit_test(test_router_rest),
	    cmocka_unit_test(test_metrics_text),
	    cmocka_unit_test(test_openapi_matches_router),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
