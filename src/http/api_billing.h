/*
 * api_billing: the providers' webhooks (/hooks/stripe, /hooks/payme,
 * /hooks/click/...) and
 * the REST API of plans, subscriptions and payments (/api/v1/plans,
 * /api/v1/subscriptions..., /api/v1/payments, /api/v1/admin/...).
 */
#ifndef HERALD_HTTP_API_BILLING_H
#define HERALD_HTTP_API_BILLING_H

struct http_req;

int api_hook_stripe(struct http_req *r);
int api_hook_payme(struct http_req *r);
int api_hook_click_prepare(struct http_req *r);
int api_hook_click_complete(struct http_req *r);
int api_plans(struct http_req *r);
int api_subscribe(struct http_req *r);
int api_subscription_current(struct http_req *r);
int api_subscription_cancel(struct http_req *r);
int api_payments(struct http_req *r);
int api_admin_revenue(struct http_req *r);
int api_admin_refund(struct http_req *r);

#endif
