/*
 * api_posts: the handlers of the REST API of posts and deliveries
 * (/api/v1/posts..., /api/v1/deliveries/...) and of the test clock
 * (/test/clock). Their routes are in api.c's table; docs/api.md describes
 * them. Each answers the request itself and returns 0 (or the code of a
 * reply that could not be queued).
 */
#ifndef HERALD_API_POSTS_H
#define HERALD_API_POSTS_H

struct http_req;

int api_posts_create(struct http_req *r);
int api_posts_list(struct http_req *r);
int api_posts_get(struct http_req *r);
int api_posts_update(struct http_req *r);
int api_posts_cancel(struct http_req *r);
int api_posts_deliveries(struct http_req *r);
int api_delivery_get(struct http_req *r);
int api_delivery_resolve(struct http_req *r);

/* 404 as for an unknown route unless HERALD_TEST_CLOCK is 1. */
int api_test_clock_get(struct http_req *r);
int api_test_clock_shift(struct http_req *r);

#endif
