/*
 * api_alerts: the handlers of the REST API of alerts (/api/v1/alerts...).
 * Their routes are in api.c's table; docs/api.md and docs/alerts.md
 * describe them. Each answers the request itself and returns 0 (or the code
 * of a reply that could not be queued).
 */
#ifndef HERALD_API_ALERTS_H
#define HERALD_API_ALERTS_H

struct http_req;

int api_alerts_list(struct http_req *r);
int api_alerts_create(struct http_req *r);
int api_alerts_update(struct http_req *r);
int api_alerts_delete(struct http_req *r);
int api_alerts_events(struct http_req *r);

#endif
