/*
 * stripe_api: Stripe's HTTP API under /stripe/v1/ (protocols.md B).
 *
 * A request is read in this order, as Stripe does: parameters (query
 * string and form body, one tree), the secret key (Bearer, or Basic with
 * the key as the user name; 401 otherwise), Stripe-Version (which picks the
 * layout of the answer), the idempotency cache for POSTs with an
 * Idempotency-Key, then the resource. Every answer is JSON with a
 * Request-Id header; errors are Stripe error objects. An answer is saved
 * under its (key, method, path) once the call got past validation (status
 * 200, 402 or 5xx) and replayed byte for byte with Idempotent-Replayed:
 * true; the same key with other parameters is a 400 idempotency_error.
 * Every request is recorded (never the key) for GET /control/stripe/requests.
 */
#include "sim/stripe_impl.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/mem.h"
#include "lib/utf8.h"
#include "sim/stripe_form.h"

#define MAX_SEGS   6
#define MAX_HEADER 1024

struct api {
	struct stripe_cx cx;
	struct http_req *r;
	const char *method;
	const char *path; /* after "/stripe" */
	char segs[MAX_SEGS][256];
	size_t nsegs;
	json_t *query;
	json_t *params;
	const char *auth_scheme;
	bool replayed;
};

/* ---- reading the request ---- */

struct qctx {
	struct stripe_form *f;
	struct err *e;
	int rc;
};

static enum MHD_Result query_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
	struct qctx *q = cls;

	(void)kind;
	if (q->rc || !key)
		return q->rc ? MHD_NO : MHD_YES;
	q->rc = stripe_form_add(q->f, key, strlen(key), value ? value : "",
	                        value ? strlen(value) : 0, q->e);
	return q->rc ? MHD_NO : MHD_YES;
}

/* The query and the body as trees; false with a 400 answer set. */
static bool read_params(struct api *a)
{
	struct stripe_form f;
	struct qctx q = {&f, NULL, 0};
	struct err e = {0};
	const char *ct = http_req_header(a->r, MHD_HTTP_HEADER_CONTENT_TYPE);
	int rc;

	stripe_form_init(&f);
	q.e = &e;
	MHD_get_connection_values(a->r->conn, MHD_GET_ARGUMENT_KIND, query_cb, &q);
	rc = q.rc;
	if (!rc)
		a->query = stripe_form_tree(&f);
	if (!rc && a->r->body.len) {
		if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
			stripe_form_release(&f);
			stripe_error(&a->cx, 400, "invalid_request_error", NULL, NULL,
			             "Invalid request: send parameters as "
			             "application/x-www-form-urlencoded, not %.60s",
			             ct);
			return false;
		}
		rc = stripe_form_parse(&f, a->r->body.p, a->r->body.len, &e);
	}
	if (!rc)
		a->params = stripe_form_tree(&f);
	stripe_form_release(&f);
	if (rc) {
		stripe_error(&a->cx, 400, "invalid_request_error", NULL, NULL,
		             "Invalid request: %s", e.msg);
		return false;
	}
	return true;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decode base64 (padding optional) into out; -1 when malformed. */
static long b64_decode(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;

	for (; *in && *in != '='; in++) {
		int v = b64val(*in);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= outsz)
				return -1;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	while (*in == '=')
		in++;
	if (*in)
		return -1;
	out[o] = '\0';
	return (long)o;
}

/* "sk_test_****abcd": enough for a person to tell which key it was. */
static void redact(const char *key, char *out, size_t outsz)
{
	size_t n = strlen(key), pre = 0;
	const char *u1 = strchr(key, '_'), *u2 = u1 ? strchr(u1 + 1, '_') : NULL;

	if (n < 12 || utf8_check(key, n, false) != n) {
		snprintf(out, outsz, "****");
		return;
	}
	pre = u2 && (size_t)(u2 - key) < 12 ? (size_t)(u2 - key) + 1 : 3;
	snprintf(out, outsz, "%.*s****%s", (int)pre, key, key + n - 4);
}

static bool authenticate(struct api *a)
{
	const char *h = http_req_header(a->r, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *key = a->cx.st->key, *given = NULL;
	char buf[MAX_HEADER], shown[64];

	a->auth_scheme = "none";
	if (!h || !*h) {
		stripe_error(
		    &a->cx, 401, "invalid_request_error", NULL, NULL,
		    "You did not provide an API key. You need to provide your API key in "
		    "the Authorization header, using Bearer auth (e.g. 'Authorization: "
		    "Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication "
		    "for details, or we can help at https://support.stripe.com/.");
		return false;
	}
	if (strlen(h) >= MAX_HEADER) {
		a->auth_scheme = "invalid";
	} else if (strncasecmp(h, "Bearer ", 7) == 0) {
		a->auth_scheme = "bearer";
		given = h + 7;
	} else if (strncasecmp(h, "Basic ", 6) == 0) {
		long n = b64_decode(h + 6, buf, sizeof(buf));
		char *colon;

		a->auth_scheme = "basic";
		if (n >= 0 && (size_t)n == strlen(buf)) {
			colon = strchr(buf, ':');
			if (colon)
				*colon = '\0';
			given = buf;
		}
	} else {
		a->auth_scheme = "other";
	}
	while (given && *given == ' ')
		given++;
	if (given && crypto_eq(given, strlen(given), key, strlen(key)))
		return true;
	if (!given || !*given) {
		stripe_error(&a->cx, 401, "invalid_request_error", NULL, NULL,
		             "Invalid API Key provided: the Authorization header must be "
		             "'Bearer <secret key>' or Basic with the key as the user name.");
		return false;
	}
	redact(given, shown, sizeof(shown));
	stripe_error(&a->cx, 401, "invalid_request_error", NULL, NULL,
	             "Invalid API Key provided: %s", shown);
	return false;
}

/* ---- answering ---- */

/* A JSON string of text from outside: bytes that are not UTF-8 become '?'. */
static json_t *text(const char *s)
{
	size_t n = strlen(s);
	char *c;
	json_t *v;

	if (utf8_check(s, n, false) == n)
		return json_string(s);
	c = xstrdup(s);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	v = json_string(c);
	free(c);
	return v;
}

static void record(struct api *a)
{
	struct sim_stripe *st = a->cx.st;
	json_t *rec, *params = a->params;
	const char *idem = a->cx.idem_key;
	const char *ver = http_req_header(a->r, "Stripe-Version");

	/* a large body is not kept: the log holds STRIPE_MAX_REQUESTS of them */
	if (a->r->body.len > STRIPE_MAX_RECORDED)
		params = json_pack("{s:I}", "_omitted_bytes", (json_int_t)a->r->body.len);
	else
		json_incref(params);
	rec = json_pack("{s:s, s:I, s:o, s:o, s:O, s:o, s:o, s:o, s:s, s:i, s:b}", "id",
	                a->cx.req_id, "at_ms", (json_int_t)clock_now_ms(), "method",
	                text(a->method), "path", text(a->path), "query", a->query, "params", params,
	                "idempotency_key", idem ? text(idem) : json_null(), "stripe_version",
	                ver && strlen(ver) < 128 ? text(ver) : json_null(), "auth", a->auth_scheme,
	                "status", a->cx.status, "replayed", a->replayed);
	if (!rec)
		return;
	json_array_append_new(st->requests, rec);
	while (json_array_size(st->requests) > STRIPE_MAX_REQUESTS)
		json_array_remove(st->requests, 0);
}

/* A digest of a parameter tree: requests are compared without keeping them. */
static void digest(const json_t *p, char out[CRYPTO_SHA256_HEX])
{
	char *d = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);

	crypto_sha256_hex(d ? d : "", d ? strlen(d) : 0, out);
	free(d);
}

static void save_idem(struct api *a, const char *ckey, const char *body)
{
	struct sim_stripe *st = a->cx.st;
	char dg[CRYPTO_SHA256_HEX];
	int s = a->cx.status;

	if (!(s == 200 || s == 402 || s >= 500) || strlen(body) > STRIPE_MAX_SAVED)
		return;
	digest(a->params, dg);
	json_object_set_new(st->idem, ckey,
	                    json_pack("{s:i, s:s, s:s, s:s}", "status", s, "body", body, "params",
	                              dg, "request", a->cx.req_id));
	json_array_append_new(st->idem_order, json_string(ckey));
	while (json_array_size(st->idem_order) > STRIPE_MAX_IDEM) {
		json_object_del(st->idem, json_string_value(json_array_get(st->idem_order, 0)));
		json_array_remove(st->idem_order, 0);
	}
}

/* ---- lists ---- */

typedef bool (*list_filter)(struct api *a, const json_t *o);

static bool created_ok(struct api *a, const json_t *o)
{
	json_t *c = json_object_get(a->cx.p, "created");
	int64_t t = json_integer_value(json_object_get(o, "created")), v;
	const char *k;
	json_t *x;

	if (!c)
		return true;
	if (json_is_string(c))
		return !str_to_i64(str_c(json_string_value(c)), INT64_MIN, INT64_MAX, &v) && t == v;
	json_object_foreach(c, k, x)
	{
		if (str_to_i64(str_c(json_string_value(x)), INT64_MIN, INT64_MAX, &v))
			return false;
		if ((strcmp(k, "gt") == 0 && !(t > v)) || (strcmp(k, "gte") == 0 && !(t >= v)) ||
		    (strcmp(k, "lt") == 0 && !(t < v)) || (strcmp(k, "lte") == 0 && !(t <= v)))
			return false;
	}
	return true;
}

static bool created_valid(struct api *a)
{
	json_t *c = json_object_get(a->cx.p, "created"), *x;
	const char *k;
	int64_t v;

	if (!c || json_is_string(c)) {
		if (c && str_to_i64(str_c(json_string_value(c)), INT64_MIN, INT64_MAX, &v))
			goto bad;
		return true;
	}
	if (!json_is_object(c))
		goto bad;
	json_object_foreach(c, k, x)
	{
		if ((strcmp(k, "gt") && strcmp(k, "gte") && strcmp(k, "lt") && strcmp(k, "lte")) ||
		    !json_is_string(x) ||
		    str_to_i64(str_c(json_string_value(x)), INT64_MIN, INT64_MAX, &v))
			goto bad;
	}
	return true;
bad:
	stripe_error(&a->cx, 400, "invalid_request_error", "parameter_invalid_integer", "created",
	             "Invalid created: give a timestamp, or created[gt|gte|lt|lte]");
	return false;
}

static void list(struct api *a, const char *kind, const char *url, list_filter filter,
                 const char *const *extra)
{
	const char *base[] = {"limit", "starting_after", "ending_before", "expand", "created"};
	const char *known[24];
	struct sim_stripe *st = a->cx.st;
	json_t *ids = stripe_ids(st, kind), *data, *matched;
	const char *after, *before;
	int64_t limit = 10;
	bool has, has_more = false;
	size_t n = 0, total = json_array_size(ids), cursor = total;

	for (size_t i = 0; i < ARRAY_SIZE(base); i++)
		known[n++] = base[i];
	for (size_t i = 0; extra && extra[i] && n + 1 < ARRAY_SIZE(known); i++)
		known[n++] = extra[i];
	known[n] = NULL;
	if (!stripe_p_known(&a->cx, a->cx.p, known, NULL) ||
	    !stripe_p_int(&a->cx, a->cx.p, "limit", "limit", 1, 100, &limit, &has) ||
	    !stripe_p_str(&a->cx, a->cx.p, "starting_after", "starting_after", &after) ||
	    !stripe_p_str(&a->cx, a->cx.p, "ending_before", "ending_before", &before) ||
	    !created_valid(a))
		return;
	if (after && before) {
		stripe_error(&a->cx, 400, "invalid_request_error", "parameters_exclusive",
		             "ending_before",
		             "You may only specify one of these parameters: ending_before, "
		             "starting_after.");
		return;
	}
	if (after || before) {
		const char *c = after ? after : before;

		for (size_t i = 0; i < total; i++)
			if (strcmp(json_string_value(json_array_get(ids, i)), c) == 0)
				cursor = i;
		if (cursor == total) {
			stripe_error(&a->cx, 400, "invalid_request_error", "resource_missing",
			             after ? "starting_after" : "ending_before",
			             "No such %s: '%.80s'", kind, c);
			return;
		}
	}
	/* matching objects, newest first, on the requested side of the cursor */
	matched = json_array();
	for (size_t k = 0; k < total; k++) {
		size_t i = total - 1 - k;
		json_t *o = stripe_get(st, json_string_value(json_array_get(ids, i)), NULL);

		if ((after && i >= cursor) || (before && i <= cursor))
			continue;
		if (!created_ok(a, o) || (filter && !filter(a, o)))
			continue;
		json_array_append(matched, o);
	}
	data = json_array();
	if (before) {
		size_t m = json_array_size(matched);
		size_t from = m > (size_t)limit ? m - (size_t)limit : 0;

		has_more = from > 0;
		for (size_t i = from; i < m; i++)
			json_array_append_new(data, stripe_render(st, json_array_get(matched, i),
			                                          a->cx.layout, a->cx.version));
	} else {
		for (size_t i = 0; i < json_array_size(matched); i++) {
			if (i == (size_t)limit) {
				has_more = true;
				break;
			}
			json_array_append_new(data, stripe_render(st, json_array_get(matched, i),
			                                          a->cx.layout, a->cx.version));
		}
	}
	json_decref(matched);
	json_decref(a->cx.out);
	a->cx.out = json_pack("{s:s, s:o, s:b, s:s}", "object", "list", "data", data, "has_more",
	                      has_more, "url", url);
	a->cx.status = 200;
}

static bool eq_param(struct api *a, const json_t *o, const char *param, const char *field)
{
	const char *want = json_string_value(json_object_get(a->cx.p, param));
	json_t *have = json_object_get(o, field);

	return !want || (json_is_string(have) && strcmp(json_string_value(have), want) == 0);
}

static bool f_customers(struct api *a, const json_t *o)
{
	return !json_is_true(json_object_get(o, "deleted")) && eq_param(a, o, "email", "email");
}

static bool f_sessions(struct api *a, const json_t *o)
{
	return eq_param(a, o, "customer", "customer") &&
	       eq_param(a, o, "payment_intent", "payment_intent") &&
	       eq_param(a, o, "subscription", "subscription") && eq_param(a, o, "status", "status");
}

static bool f_subscriptions(struct api *a, const json_t *o)
{
	const char *want = json_string_value(json_object_get(a->cx.p, "status"));
	const char *status = json_string_value(json_object_get(o, "status"));
	const char *price = json_string_value(json_object_get(a->cx.p, "price"));

	if (!eq_param(a, o, "customer", "customer"))
		return false;
	if (price) {
		json_t *items = json_object_get(json_object_get(o, "items"), "data"), *it;
		size_t i;
		bool found = false;

		json_array_foreach(items, i, it)
		{
			found |= strcmp(json_string_value(
			                    json_object_get(json_object_get(it, "price"), "id")),
			                price) == 0;
		}
		if (!found)
			return false;
	}
	/* by default Stripe lists the subscriptions that are not canceled */
	if (!want)
		return strcmp(status, "canceled") && strcmp(status, "incomplete_expired");
	if (strcmp(want, "all") == 0)
		return true;
	if (strcmp(want, "ended") == 0)
		return !strcmp(status, "canceled") || !strcmp(status, "incomplete_expired");
	return strcmp(want, status) == 0;
}

static bool f_invoices(struct api *a, const json_t *o)
{
	const char *sub = json_string_value(json_object_get(a->cx.p, "subscription"));
	const char *have =
	    json_string_value(json_object_get(json_object_get(o, "_sim"), "subscription"));

	return eq_param(a, o, "customer", "customer") && eq_param(a, o, "status", "status") &&
	       (!sub || (have && strcmp(have, sub) == 0));
}

static bool f_by_customer(struct api *a, const json_t *o)
{
	return eq_param(a, o, "customer", "customer") &&
	       eq_param(a, o, "payment_intent", "payment_intent");
}

static bool f_refunds(struct api *a, const json_t *o)
{
	return eq_param(a, o, "charge", "charge") &&
	       eq_param(a, o, "payment_intent", "payment_intent");
}

static bool f_events(struct api *a, const json_t *o)
{
	const char *type = json_string_value(json_object_get(o, "type"));
	json_t *want = json_object_get(a->cx.p, "type"), *types = json_object_get(a->cx.p, "types");

	if (json_is_string(want)) {
		const char *w = json_string_value(want);
		size_t n = strlen(w);

		/* "invoice.*" matches every invoice event */
		if (n >= 2 && w[n - 1] == '*' && w[n - 2] == '.')
			return strncmp(type, w, n - 1) == 0;
		return strcmp(type, w) == 0;
	}
	if (json_is_array(types)) {
		json_t *t;
		size_t i;

		json_array_foreach(types, i, t)
		{
			if (json_is_string(t) && strcmp(json_string_value(t), type) == 0)
				return true;
		}
		return false;
	}
	return true;
}

/* ---- expansion ---- */

/* The session's line items as GET .../line_items lists them. */
static json_t *line_items(struct api *a, const json_t *session)
{
	struct stripe_cx *cx = &a->cx;
	json_t *items = json_object_get(json_object_get(session, "_sim"), "items"), *it, *data;
	char url[320];
	size_t i;

	data = json_array();
	json_array_foreach(items, i, it)
	{
		json_t *price =
		    stripe_get(cx->st, json_string_value(json_object_get(it, "price")), "price");
		json_t *prod = stripe_get(
		    cx->st, json_string_value(json_object_get(price, "product")), "product");
		int64_t amount = json_integer_value(json_object_get(price, "unit_amount")) *
		                 json_integer_value(json_object_get(it, "quantity"));
		char lid[40];

		stripe_id(cx->st, "li_1", 23, lid, sizeof(lid));
		json_array_append_new(
		    data, json_pack("{s:s, s:s, s:I, s:i, s:I, s:i, s:O?, s:O?, s:o, s:O?}", "id",
		                    lid, "object", "item", "amount_subtotal", (json_int_t)amount,
		                    "amount_discount", 0, "amount_total", (json_int_t)amount,
		                    "amount_tax", 0, "currency", json_object_get(price, "currency"),
		                    "description", json_object_get(prod, "name"), "price",
		                    stripe_render(cx->st, price, cx->layout, NULL), "quantity",
		                    json_object_get(it, "quantity")));
	}
	snprintf(url, sizeof(url), "/v1/checkout/sessions/%s/line_items",
	         json_string_value(json_object_get(session, "id")));
	return json_pack("{s:s, s:o, s:b, s:s}", "object", "list", "data", data, "has_more", 0,
	                 "url", url);
}

/* The fields that hold an id Stripe can expand (the last part of a path). */
static const char *const expandable[] = {"customer",
                                         "subscription",
                                         "invoice",
                                         "payment_intent",
                                         "latest_invoice",
                                         "latest_charge",
                                         "charge",
                                         "product",
                                         "price",
                                         "payment_method",
                                         "default_payment_method",
                                         "line_items",
                                         NULL};

/* The expand parameter as an array of valid paths (new reference), or NULL
 * with cx's error set; checked before the call runs, so a bad path
 * changes nothing. */
static json_t *expand_paths(struct api *a)
{
	json_t *ex = json_object_get(a->cx.p, "expand"), *v;
	size_t i;

	if (!ex)
		return json_array();
	if (json_is_string(ex))
		ex = json_pack("[O]", ex);
	else if (json_is_array(ex))
		json_incref(ex);
	else
		ex = NULL;
	if (!ex || json_array_size(ex) > STRIPE_MAX_EXPAND) {
		stripe_error(&a->cx, 400, "invalid_request_error", NULL, "expand",
		             "expand must be given as expand[]=field, at most %d of them",
		             STRIPE_MAX_EXPAND);
		json_decref(ex);
		return NULL;
	}
	json_array_foreach(ex, i, v)
	{
		const char *path = json_string_value(v), *last;
		size_t dots = 0, k = 0;

		for (const char *c = path; c && *c; c++)
			dots += *c == '.';
		last = path ? strrchr(path, '.') : NULL;
		last = last ? last + 1 : path;
		while (last && expandable[k] && strcmp(expandable[k], last))
			k++;
		if (!path || dots > 4 || strlen(path) > 200 || !expandable[k]) {
			stripe_error(&a->cx, 400, "invalid_request_error", NULL, "expand",
			             "This property cannot be expanded (%.100s).",
			             path ? path : "not a string");
			json_decref(ex);
			return NULL;
		}
	}
	return ex;
}

/* Expand path in node: ids of known objects become the objects; what
 * cannot be expanded (null, absent) is left alone. */
static void expand_one(struct api *a, json_t *node, const char *path, int depth)
{
	const char *dot = strchr(path, '.');
	size_t n = dot ? (size_t)(dot - path) : strlen(path);
	char key[128];
	json_t *child;

	if (n == 0 || n >= sizeof(key) || depth > 6)
		return;
	memcpy(key, path, n);
	key[n] = '\0';
	if (json_is_array(node)) {
		json_t *el;
		size_t i;

		json_array_foreach(node, i, el) expand_one(a, el, path, depth + 1);
		return;
	}
	child = json_object_get(node, key);
	if (!dot && strcmp(key, "line_items") == 0 && json_is_string(json_object_get(node, "id"))) {
		json_t *s = stripe_get(a->cx.st, json_string_value(json_object_get(node, "id")),
		                       "checkout.session");

		if (s)
			json_object_set_new(node, key, line_items(a, s));
		return;
	}
	if (json_is_string(child)) {
		json_t *o = stripe_get(a->cx.st, json_string_value(child), NULL);

		if (!o)
			return;
		child = stripe_render(a->cx.st, o, a->cx.layout, a->cx.version);
		json_object_set_new(node, key, child);
	}
	if (dot && (json_is_object(child) || json_is_array(child)))
		expand_one(a, child, dot + 1, depth + 1);
}

static void expand(struct api *a, json_t *paths)
{
	json_t *v;
	size_t i;

	if (a->cx.status != 200 || !a->cx.out)
		return;
	json_array_foreach(paths, i, v) expand_one(a, a->cx.out, json_string_value(v), 0);
}

/* ---- resources ---- */

static const char *const only_expand[] = {"expand", NULL};

static json_t *find(struct api *a, const char *kind, const char *noun, const char *id)
{
	json_t *o = stripe_get(a->cx.st, id, kind);

	if (!o)
		stripe_error(&a->cx, 404, "invalid_request_error", "resource_missing", "id",
		             "No such %s: '%.80s'", noun, id);
	return o;
}

static void show(struct api *a, const json_t *o)
{
	json_decref(a->cx.out);
	a->cx.out = stripe_render(a->cx.st, o, a->cx.layout, a->cx.version);
	a->cx.status = 200;
}

static bool is(struct api *a, const char *method, size_t nsegs, ...) __attribute__((sentinel));

/* The method and the path's segments after "v1" match (NULL ends the
 * list; "*" is any id). */
static bool is(struct api *a, const char *method, size_t nsegs, ...)
{
	va_list ap;
	bool ok = strcmp(a->method, method) == 0 && a->nsegs == nsegs + 1;
	const char *s;
	size_t i = 1;

	va_start(ap, nsegs);
	while ((s = va_arg(ap, const char *)) != NULL) {
		if (ok && (i >= a->nsegs || (strcmp(s, "*") && strcmp(s, a->segs[i]))))
			ok = false;
		i++;
	}
	va_end(ap);
	return ok;
}

static void retrieve(struct api *a, const char *kind, const char *noun, const char *id)
{
	json_t *o;

	if (!stripe_p_known(&a->cx, a->cx.p, only_expand, NULL) || !(o = find(a, kind, noun, id)))
		return;
	show(a, o);
}

static void route(struct api *a)
{
	struct stripe_cx *cx = &a->cx;
	const char *id = a->nsegs > 2 ? a->segs[2] : "";
	json_t *o;

	if (a->nsegs < 2 || strcmp(a->segs[0], "v1"))
		goto unknown;
	/* customers */
	if (is(a, "POST", 1, "customers", NULL))
		return stripe_customer_create(cx);
	if (is(a, "GET", 1, "customers", NULL))
		return list(a, "customer", "/v1/customers", f_customers,
		            (const char *const[]){"email", "test_clock", NULL});
	if (is(a, "GET", 2, "customers", "*", NULL)) {
		if (!stripe_p_known(cx, cx->p, only_expand, NULL) ||
		    !(o = find(a, "customer", "customer", id)))
			return;
		if (json_is_true(json_object_get(o, "deleted"))) {
			json_decref(cx->out);
			cx->out = json_pack("{s:s, s:s, s:b}", "id", id, "object", "customer",
			                    "deleted", 1);
			return;
		}
		return show(a, o);
	}
	if (is(a, "POST", 2, "customers", "*", NULL) ||
	    is(a, "DELETE", 2, "customers", "*", NULL)) {
		if (!(o = find(a, "customer", "customer", id)))
			return;
		if (json_is_true(json_object_get(o, "deleted"))) {
			stripe_error(cx, 404, "invalid_request_error", "resource_missing", "id",
			             "No such customer: '%.80s'", id);
			return;
		}
		if (strcmp(a->method, "DELETE") == 0)
			return stripe_customer_delete(cx, o);
		return stripe_customer_update(cx, o);
	}
	/* checkout sessions */
	if (a->nsegs >= 3 && strcmp(a->segs[1], "checkout") == 0 &&
	    strcmp(a->segs[2], "sessions") == 0) {
		const char *sid = a->nsegs > 3 ? a->segs[3] : "";

		if (is(a, "POST", 2, "checkout", "sessions", NULL))
			return stripe_checkout_create(cx);
		if (is(a, "GET", 2, "checkout", "sessions", NULL))
			return list(a, "checkout.session", "/v1/checkout/sessions", f_sessions,
			            (const char *const[]){"customer", "payment_intent",
			                                  "subscription", "status",
			                                  "customer_details", NULL});
		if (is(a, "GET", 3, "checkout", "sessions", "*", NULL)) {
			if (!stripe_p_known(cx, cx->p, only_expand, NULL) ||
			    !(o = find(a, "checkout.session", "checkout.session", sid)))
				return;
			if (strcmp(json_string_value(json_object_get(o, "status")), "open") == 0 &&
			    json_integer_value(json_object_get(o, "expires_at")) <=
			        stripe_now(cx->st))
				return stripe_checkout_expire(cx, o);
			return show(a, o);
		}
		if (is(a, "POST", 4, "checkout", "sessions", "*", "expire", NULL)) {
			if (!stripe_p_known(cx, cx->p, only_expand, NULL) ||
			    !(o = find(a, "checkout.session", "checkout.session", sid)))
				return;
			return stripe_checkout_expire(cx, o);
		}
		if (is(a, "GET", 4, "checkout", "sessions", "*", "line_items", NULL)) {
			if (!(o = find(a, "checkout.session", "checkout.session", sid)))
				return;
			json_decref(cx->out);
			cx->out = line_items(a, o);
			return;
		}
		goto unknown;
	}
	/* subscriptions */
	if (is(a, "GET", 1, "subscriptions", NULL))
		return list(a, "subscription", "/v1/subscriptions", f_subscriptions,
		            (const char *const[]){
		                "customer", "status", "price", "collection_method", "test_clock",
		                "current_period_end", "current_period_start", NULL});
	if (is(a, "GET", 2, "subscriptions", "*", NULL))
		return retrieve(a, "subscription", "subscription", id);
	if (is(a, "POST", 2, "subscriptions", "*", NULL)) {
		if (!(o = find(a, "subscription", "subscription", id)))
			return;
		return stripe_sub_update(cx, o);
	}
	if (is(a, "DELETE", 2, "subscriptions", "*", NULL)) {
		static const char *const known[] = {"invoice_now", "prorate",
		                                    "cancellation_details", "expand", NULL};
		json_t *cd = json_object_get(cx->p, "cancellation_details");

		if (!stripe_p_known(cx, cx->p, known, NULL) ||
		    !(o = find(a, "subscription", "subscription", id)))
			return;
		if (json_is_object(cd)) {
			const char *c = json_string_value(json_object_get(cd, "comment"));
			const char *f = json_string_value(json_object_get(cd, "feedback"));
			json_t *have = json_object_get(o, "cancellation_details");

			if (c)
				stripe_set_str(have, "comment", *c ? c : NULL);
			if (f)
				stripe_set_str(have, "feedback", *f ? f : NULL);
		}
		return stripe_sub_cancel(cx, o, "now", "cancellation_requested");
	}
	/* invoices */
	if (is(a, "GET", 1, "invoices", NULL))
		return list(a, "invoice", "/v1/invoices", f_invoices,
		            (const char *const[]){"customer", "subscription", "status",
		                                  "collection_method", "due_date", NULL});
	if (is(a, "GET", 2, "invoices", "*", NULL))
		return retrieve(a, "invoice", "invoice", id);
	if (is(a, "GET", 3, "invoices", "*", "lines", NULL)) {
		json_t *lines;

		if (!(o = find(a, "invoice", "invoice", id)))
			return;
		lines = stripe_render(cx->st, o, cx->layout, cx->version);
		json_decref(cx->out);
		cx->out = json_incref(json_object_get(lines, "lines"));
		json_decref(lines);
		return;
	}
	/* payment intents, charges, refunds, events, prices, products */
	if (is(a, "GET", 1, "payment_intents", NULL))
		return list(a, "payment_intent", "/v1/payment_intents", f_by_customer,
		            (const char *const[]){"customer", NULL});
	if (is(a, "GET", 2, "payment_intents", "*", NULL))
		return retrieve(a, "payment_intent", "payment_intent", id);
	if (is(a, "GET", 1, "charges", NULL))
		return list(a, "charge", "/v1/charges", f_by_customer,
		            (const char *const[]){"customer", "payment_intent", NULL});
	if (is(a, "GET", 2, "charges", "*", NULL))
		return retrieve(a, "charge", "charge", id);
	if (is(a, "POST", 1, "refunds", NULL))
		return stripe_refund_create(cx);
	if (is(a, "GET", 1, "refunds", NULL))
		return list(a, "refund", "/v1/refunds", f_refunds,
		            (const char *const[]){"charge", "payment_intent", NULL});
	if (is(a, "GET", 2, "refunds", "*", NULL))
		return retrieve(a, "refund", "refund", id);
	if (is(a, "GET", 1, "events", NULL))
		return list(a, "event", "/v1/events", f_events,
		            (const char *const[]){"type", "types", "delivery_success", NULL});
	if (is(a, "GET", 2, "events", "*", NULL))
		return retrieve(a, "event", "event", id);
	if (is(a, "GET", 2, "prices", "*", NULL))
		return retrieve(a, "price", "price", id);
	if (is(a, "GET", 2, "products", "*", NULL))
		return retrieve(a, "product", "product", id);
	if (is(a, "GET", 2, "payment_methods", "*", NULL))
		return retrieve(a, "payment_method", "PaymentMethod", id);
unknown:
	stripe_error(cx, 404, "invalid_request_error", NULL, NULL,
	             "Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we "
	             "can help at https://support.stripe.com/.",
	             a->method, a->path);
}

static bool split_path(struct api *a)
{
	const char *p = a->path;

	a->nsegs = 0;
	while (*p == '/') {
		const char *end = strchr(p + 1, '/');
		size_t n = end ? (size_t)(end - p - 1) : strlen(p + 1);

		if (a->nsegs == MAX_SEGS || n >= sizeof(a->segs[0]))
			return false;
		memcpy(a->segs[a->nsegs], p + 1, n);
		a->segs[a->nsegs][n] = '\0';
		a->nsegs++;
		if (!end)
			break;
		p = end;
	}
	return true;
}

int sim_stripe_api(struct http_req *r)
{
	struct sim_stripe *st = stripe_of(r);
	struct api a = {0};
	const char *idem = http_req_header(r, "Idempotency-Key");
	const char *ver = http_req_header(r, "Stripe-Version");
	char req_id[32], version[64], ckey[STRIPE_MAX_IDEM_KEY + 600] = "", *body = NULL;
	json_t *saved, *paths;
	char dg[CRYPTO_SHA256_HEX];
	int layout = -1, rc;

	a.r = r;
	a.method = r->method;
	a.path = r->path + strlen("/stripe");
	pthread_mutex_lock(&st->mu);
	stripe_cx_init(&a.cx, st);
	stripe_id(st, "req_", 14, req_id, sizeof(req_id));
	pthread_mutex_unlock(&st->mu);
	a.cx.req_id = req_id;
	a.cx.host = http_req_header(r, MHD_HTTP_HEADER_HOST);
	a.auth_scheme = "none";
	if (idem && strcmp(r->method, "POST") == 0)
		a.cx.idem_key = idem;

	/* parsing needs no lock */
	if (read_params(&a)) {
		if (strcmp(r->method, "POST")) {
			/* GET and DELETE take their parameters from the query string */
			json_decref(a.params);
			a.params = json_incref(a.query);
		} else if (json_object_size(a.query)) {
			json_t *merged = json_deep_copy(a.query);

			json_object_update(merged, a.params);
			json_decref(a.params);
			a.params = merged;
		}
	}
	if (!a.query)
		a.query = json_object();
	if (!a.params)
		a.params = json_object();
	a.cx.p = a.params;

	pthread_mutex_lock(&st->mu);
	snprintf(version, sizeof(version), "%s", st->api_version);
	if (a.cx.status != 200 || !authenticate(&a))
		goto answer;
	if (ver) {
		layout = stripe_layout_of(ver);
		if (layout < 0) {
			stripe_error(&a.cx, 400, "invalid_request_error", NULL, NULL,
			             "Invalid Stripe API version: %.60s", ver);
			goto answer;
		}
		a.cx.layout = (enum stripe_layout)layout;
		a.cx.version = ver;
		snprintf(version, sizeof(version), "%s", ver);
	}
	if (a.cx.idem_key) {
		size_t n = strlen(a.cx.idem_key);

		if (n > STRIPE_MAX_IDEM_KEY || utf8_check(a.cx.idem_key, n, false) != n) {
			a.cx.idem_key = NULL;
			stripe_error(
			    &a.cx, 400, "invalid_request_error", NULL, NULL,
			    "Keys for idempotent requests can be up to %d characters long.",
			    STRIPE_MAX_IDEM_KEY);
			goto answer;
		}
		snprintf(ckey, sizeof(ckey), "%s %.400s %s", r->method, a.path, a.cx.idem_key);
		saved = json_object_get(st->idem, ckey);
		if (saved)
			digest(a.params, dg);
		if (saved && strcmp(json_string_value(json_object_get(saved, "params")), dg)) {
			stripe_error(
			    &a.cx, 400, "idempotency_error", NULL, NULL,
			    "Keys for idempotent requests can only be used with the same "
			    "parameters they were first used with. Try using a key other than "
			    "'%.255s' if you meant to execute a different request.",
			    a.cx.idem_key);
			goto answer;
		}
		if (saved) {
			const char *orig = json_string_value(json_object_get(saved, "request"));

			a.replayed = true;
			a.cx.status = (int)json_integer_value(json_object_get(saved, "status"));
			body = xstrdup(json_string_value(json_object_get(saved, "body")));
			http_header(r, "Idempotent-Replayed", "true");
			if (orig)
				http_header(r, "Original-Request", orig);
			goto answer;
		}
	}
	if (!split_path(&a)) {
		stripe_error(&a.cx, 404, "invalid_request_error", NULL, NULL,
		             "Unrecognized request URL (%s: %.200s).", r->method, a.path);
		goto answer;
	}
	if (!(paths = expand_paths(&a)))
		goto answer;
	route(&a);
	if (a.cx.status == 200 && !a.cx.out)
		a.cx.out = json_object();
	expand(&a, paths);
	json_decref(paths);
answer:
	if (!body) {
		body = a.cx.out ? json_dumps(a.cx.out, JSON_INDENT(2)) : NULL;
		if (!body)
			body = xstrdup("{}");
		if (a.cx.idem_key && ckey[0])
			save_idem(&a, ckey, body);
	}
	stripe_cx_finish(&a.cx);
	record(&a);
	stripe_cx_release(&a.cx);
	pthread_mutex_unlock(&st->mu);

	http_header(r, "Request-Id", req_id);
	http_header(r, "Stripe-Version", version);
	if (a.cx.idem_key)
		http_header(r, "Idempotency-Key", a.cx.idem_key);
	if (a.cx.status >= 500)
		http_header(r, "Stripe-Should-Retry", "true");
	rc = http_reply(r, a.cx.status, "application/json", body, strlen(body));
	free(body);
	json_decref(a.query);
	json_decref(a.params);
	return rc;
}
