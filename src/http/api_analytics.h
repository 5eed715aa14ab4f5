/*
 * api_analytics: GET /api/v1/channels/{id}/analytics/{view}, the views of
 * analytics/ (overview, growth, posts, best-times, trending) with ETag and
 * 304 (docs/api.md, docs/analytics.md).
 */
#ifndef HERALD_HTTP_API_ANALYTICS_H
#define HERALD_HTTP_API_ANALYTICS_H

struct http_req;

int api_analytics(struct http_req *r);

#endif
