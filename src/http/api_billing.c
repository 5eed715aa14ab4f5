/*
 * api_billing: the payment providers' webhooks and the REST API of plans,
 * subscriptions and payments (docs/billing.md).
 *
 * Webhooks answer as their provider expects: Stripe 200 once an event is
 * applied (or was before), 400 for a bad signature, 503 to be delivered
 * again later; Payme always HTTP 200 with a JSON-RPC body, Click HTTP 200
 * with its JSON. They take no session and do not go through the store
 * guard: a store that is down is an answer in the provider's own terms
 * (Stripe 503, Payme -32400, Click -7), so the provider retries.
 */
#include "http/api_billing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "billing/checkout.h"
#include "billing/click.h"
#include "billing/payme.h"
#include "billing/stripe.h"
#include "http/api.h"
#include "http/server.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/str.h"
#include "store/store.h"
#include "users/users.h"

#define PAYMENTS_LIMIT_DEFAULT 50
#define PAYMENTS_LIMIT_MAX     500
#define RETURN_URL_MAX         1024

static struct app *app_of(struct http_req *r)
{
	return r->ctx;
}

int api_hook_stripe(struct http_req *r)
{
	struct app *a = app_of(r);
	struct stripe_client sc;
	struct billing_policy pol;
	struct stripe_hook_result res;
	struct stripe_hook_env env = {
	    .st = a->store,
	    .api = &sc,
	    .secret = app_str(a, SET_STRIPE_WEBHOOK_SECRET),
	    .now_s = clock_now_ms() / 1000, /* Stripe signs with its wall clock */
	    .now_ms = clock_app_ms(),
	    .pol = &pol,
	};

	stripe_client_of(&sc, a);
	billing_policy_of(a, &pol);
	stripe_hook_handle(&env, http_req_header(r, "Stripe-Signature"), r->body.p, r->body.len,
	                   &res);
	if (res.status == 200)
		return http_reply_json(r, 200,
		                       json_pack("{s:b, s:s, s:s, s:b, s:s}", "received", 1, "id",
		                                 res.event_id, "type", res.type, "repeat",
		                                 (int)res.repeat, "effect", res.effect));
	if (res.status == 400)
		return http_problem(r, 400,
		                    strncmp(res.error, "Stripe-Signature", 16) == 0
		                        ? "invalid-signature"
		                        : "invalid-event",
		                    "Bad Request", NULL, "%s", res.error);
	http_header(r, "Retry-After", "60");
	return http_problem(r, res.status, "unavailable", "Service Unavailable", NULL, "%s",
	                    res.error);
}

int api_hook_payme(struct http_req *r)
{
	char *answer = NULL;
	int rc;

	payme_handle(app_of(r), http_req_header(r, "Authorization"), r->body.p, r->body.len,
	             clock_app_ms(), &answer);
	rc = http_reply(r, 200, "application/json; charset=UTF-8", answer, strlen(answer));
	free(answer);
	return rc;
}

static int hook_click(struct http_req *r, int action)
{
	char *answer = NULL;
	int code = 0, rc;

	click_handle(app_of(r), action, r->body.p, r->body.len, clock_app_ms(), &answer, &code);
	if (code)
		log_info("msg=\"click answered\" action=%d error=%d", action, code);
	rc = http_reply(r, 200, "application/json", answer, strlen(answer));
	free(answer);
	return rc;
}

int api_hook_click_prepare(struct http_req *r)
{
	return hook_click(r, 0);
}

int api_hook_click_complete(struct http_req *r)
{
	return hook_click(r, 1);
}

int api_plans(struct http_req *r)
{
	struct err e = {0};
	json_t *v = NULL;
	int rc = billing_plans_json(app_of(r), &v, &e);

	return rc ? http_reply_err(r, rc, &e) : http_reply_json(r, 200, v);
}

/* A return URL: absent, or an http(s) URL of sane length. */
static bool url_ok(const char *u)
{
	size_t n = strlen(u);

	if (n > RETURN_URL_MAX || (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
			return false;
	return true;
}

static int invalid(struct http_req *r, const char *field, const char *detail)
{
	return http_problem(r, 422, "invalid-field", "Unprocessable Content",
	                    json_pack("{s:s}", "field", field), "%s", detail);
}

int api_subscribe(struct http_req *r)
{
	struct app *a = app_of(r);
	const struct user *u = api_user(r);
	struct billing_checkout co;
	enum billing_provider p;
	const char *plan, *period, *prov, *ret;
	struct err e = {0};
	json_t *body = NULL;
	int rc;

	if (api_json_object_body(r, &body))
		return 0;
	plan = json_string_value(json_object_get(body, "plan"));
	period = json_string_value(json_object_get(body, "period"));
	prov = json_string_value(json_object_get(body, "provider"));
	ret = json_string_value(json_object_get(body, "return_url"));
	if (!period && !json_object_get(body, "period"))
		period = "month";
	if (!plan || strlen(plan) > 15) {
		rc = invalid(r, "plan", "plan must name a plan (GET /api/v1/plans)");
		goto out;
	}
	if (!period || (strcmp(period, "month") != 0 && strcmp(period, "year") != 0)) {
		rc = invalid(r, "period", "period must be month or year");
		goto out;
	}
	if (!prov || billing_provider_parse(prov, &p)) {
		rc = invalid(r, "provider", "provider must be stripe, payme, click or stars");
		goto out;
	}
	if (json_object_get(body, "return_url") && (!ret || !url_ok(ret))) {
		rc = invalid(r, "return_url", "return_url must be an http or https URL");
		goto out;
	}
	rc = billing_checkout(a, u, plan, period, p, ret, &co, &e);
	if (rc == -ERR_UNAVAILABLE) {
		rc = http_problem(r, 422, "provider-unavailable", "Unprocessable Content",
		                  json_pack("{s:s}", "field", "provider"), "%s", e.msg);
	} else if (rc == -ERR_NOT_FOUND || rc == -ERR_INVALID) {
		rc = invalid(r, "plan", e.msg);
	} else if (rc) {
		rc = http_reply_err(r, rc, &e);
	} else {
		json_t *v =
		    json_pack("{s:I, s:s, s:s, s:s, s:I, s:s, s:s, s:I}", "order_id",
		              (json_int_t)co.order.id, "plan", co.order.plan, "period",
		              co.order.period, "provider", billing_provider_name(p), "amount",
		              (json_int_t)co.order.amount, "currency", co.order.currency, "state",
		              co.order.state, "expires_at", (json_int_t)co.order.expires_at);

		if (co.url[0])
			json_object_set_new(v, "pay_url", json_string(co.url));
		if (co.invoice_msg)
			json_object_set_new(v, "invoice_message_id", json_integer(co.invoice_msg));
		rc = http_reply_json(r, 201, v);
	}
out:
	json_decref(body);
	return rc;
}

int api_subscription_current(struct http_req *r)
{
	struct err e = {0};
	json_t *v = NULL;
	int rc = billing_current_json(app_of(r), api_user(r)->id, &v, &e);

	return rc ? http_reply_err(r, rc, &e) : http_reply_json(r, 200, v);
}

int api_subscription_cancel(struct http_req *r)
{
	struct err e = {0};
	json_t *v = NULL;
	int rc = billing_cancel(app_of(r), api_user(r)->id, &e);

	if (rc == -ERR_NOT_FOUND)
		return http_problem(r, 404, "no-subscription", "Not Found", NULL, "%s", e.msg);
	if (rc == -ERR_CONFLICT)
		return http_problem(r, 409, "not-cancelable", "Conflict", NULL, "%s", e.msg);
	if (!rc)
		rc = billing_current_json(app_of(r), api_user(r)->id, &v, &e);
	return rc ? http_reply_err(r, rc, &e) : http_reply_json(r, 200, v);
}

/* ?name= as an integer in [min, max], def when absent; -1 after answering. */
static int query_int(struct http_req *r, const char *name, int64_t min, int64_t max, int64_t def,
                     int64_t *out)
{
	const char *v = http_req_query(r, name);
	int64_t n;

	*out = def;
	if (!v)
		return 0;
	if (str_to_i64((struct str){v, strlen(v)}, min, max, &n)) {
		http_problem(r, 400, "invalid-query", "Bad Request",
		             json_pack("{s:s}", "parameter", name),
		             "%s must be an integer from %lld to %lld", name, (long long)min,
		             (long long)max);
		return -1;
	}
	*out = n;
	return 0;
}

int api_payments(struct http_req *r)
{
	struct err e = {0};
	json_t *v = NULL;
	int64_t limit;
	int rc;

	if (query_int(r, "limit", 1, PAYMENTS_LIMIT_MAX, PAYMENTS_LIMIT_DEFAULT, &limit))
		return 0;
	rc = billing_payments_json(app_of(r), api_user(r)->id, (int)limit, &v, &e);
	return rc ? http_reply_err(r, rc, &e)
	          : http_reply_json(r, 200, json_pack("{s:o}", "payments", v));
}

static int admin_only(struct http_req *r)
{
	if (app_is_admin(app_of(r), api_user(r)->telegram_id))
		return 0;
	http_problem(r, 403, "admin-only", "Forbidden", NULL,
	             "this is for the operator's admins (HERALD_ADMINS)");
	return -1;
}

int api_admin_revenue(struct http_req *r)
{
	int64_t now = clock_app_ms(), from, to;
	struct err e = {0};
	json_t *v = NULL;
	int rc;

	if (admin_only(r))
		return 0;
	if (query_int(r, "from", 0, INT64_MAX / 2, now - 30LL * 24 * 3600 * 1000, &from) ||
	    query_int(r, "to", 0, INT64_MAX / 2, now + 1, &to))
		return 0;
	if (to <= from)
		return http_problem(r, 400, "invalid-query", "Bad Request", NULL,
		                    "to must be after from");
	rc = billing_revenue_json(app_of(r), from, to, &v, &e);
	return rc ? http_reply_err(r, rc, &e) : http_reply_json(r, 200, v);
}

int api_admin_refund(struct http_req *r)
{
	struct billing_effect ef;
	struct err e = {0};
	json_t *body = NULL, *v = NULL;
	const json_t *amount;
	const char *reason;
	int64_t id;
	int rc;

	if (admin_only(r) || api_path_id(r, "payment", &id) || api_json_object_body(r, &body))
		return 0;
	amount = json_object_get(body, "amount");
	reason = json_string_value(json_object_get(body, "reason"));
	if (amount && (!json_is_integer(amount) || json_integer_value(amount) <= 0)) {
		rc = invalid(r, "amount", "amount must be a positive integer in minor units");
		goto out;
	}
	if (json_object_get(body, "reason") && (!reason || strlen(reason) > 200)) {
		rc = invalid(r, "reason", "reason must be text of at most 200 bytes");
		goto out;
	}
	rc =
	    billing_refund(app_of(r), id, amount ? json_integer_value(amount) : 0, reason, &ef, &e);
	if (rc == -ERR_NOT_FOUND)
		rc = http_problem(r, 404, "not-found", "Not Found", NULL, "%s", e.msg);
	else if (rc == -ERR_CONFLICT)
		rc = http_problem(r, 409, "refund-exceeds-payment", "Conflict", NULL, "%s", e.msg);
	else if (rc == -ERR_UNAVAILABLE)
		rc = http_problem(r, 409, "refund-not-possible", "Conflict", NULL, "%s", e.msg);
	else if (rc)
		rc = http_reply_err(r, rc, &e);
	else if ((rc = billing_payments_json(app_of(r), ef.user_id, 5, &v, &e)) != 0)
		rc = http_reply_err(r, rc, &e);
	else
		rc = http_reply_json(r, 200,
		                     json_pack("{s:s, s:b, s:o}", "effect", ef.text, "repeat",
		                               (int)ef.repeat, "recent_payments", v));
out:
	json_decref(body);
	return rc;
}
