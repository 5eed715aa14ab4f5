/*
 * stripe: the client of Stripe's API (stripe.h; protocols.md B.1-B.4).
 *
 * A call encodes its parameters (B.2), sends them with the secret key as a
 * Bearer token, the pinned Stripe-Version and, on a POST, the caller's
 * Idempotency-Key, and tries again after a network error, 409, 429 or 5xx
 * (unless Stripe says Stripe-Should-Retry: false; always when it says
 * true), waiting a little longer each time. The same key goes with every
 * try, so Stripe replays what the first try did instead of doing it again
 * (B.3). Errors keep Stripe's type, code, decline code, param and message
 * for the caller. Nothing logged or returned contains the key: messages
 * from Stripe are scrubbed of it too.
 */
#include "billing/stripe.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"

#define STRIPE_JSON_DEPTH   64
#define STRIPE_RESPONSE_MAX (2u << 20)
#define CAP_SHOULD_RETRY    0
#define CAP_REQUEST_ID      1

void stripe_client_init(struct stripe_client *c, const char *base, const char *key)
{
	size_t n;

	memset(c, 0, sizeof(*c));
	snprintf(c->base, sizeof(c->base), "%s", base ? base : "https://api.stripe.com");
	n = strlen(c->base);
	while (n && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	c->key = key;
	c->max_retries = STRIPE_MAX_RETRIES;
	c->timeout_ms = STRIPE_TIMEOUT_MS;
	c->backoff_ms = 500;
}

void stripe_client_of(struct stripe_client *c, const struct app *a)
{
	stripe_client_init(c, app_str(a, SET_STRIPE_API), app_str(a, SET_STRIPE_SECRET_KEY));
}

bool stripe_id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= STRIPE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			return false;
	}
	return true;
}

/* ---- form encoding (B.2) --------------------------------------------------- */

/* Percent-encode all but RFC 3986's unreserved characters. */
static int pct(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		int rc;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			rc = buf_addch(b, (char)ch);
		} else {
			char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};

			rc = buf_add(b, esc, 3);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* One name=value pair; name is already encoded. */
static int pair(struct buf *b, const struct buf *name, const char *v, size_t vlen)
{
	int rc = 0;

	if (b->len)
		rc = buf_addch(b, '&');
	if (!rc)
		rc = buf_add(b, name->p, name->len);
	if (!rc)
		rc = buf_addch(b, '=');
	if (!rc)
		rc = pct(b, v, vlen);
	return rc;
}

/* Encode v under name (the encoded prefix so far, which is restored). */
static int encode(struct buf *b, struct buf *name, const json_t *v, int depth)
{
	size_t keep = name->len;
	char num[32];
	int rc = 0;

	if (depth > 16)
		return -ERR_INVALID;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;

		json_object_foreach((json_t *)v, k, x)
		{
			if (depth == 0) {
				rc = pct(name, k, strlen(k));
			} else {
				rc = buf_addch(name, '[');
				if (!rc)
					rc = pct(name, k, strlen(k));
				if (!rc)
					rc = buf_addch(name, ']');
			}
			if (!rc)
				rc = encode(b, name, x, depth + 1);
			name->len = keep;
			name->p[keep] = '\0';
			if (rc)
				return rc;
		}
		return 0;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;

		if (depth == 0)
			return -ERR_INVALID;
		json_array_foreach(v, i, x)
		{
			rc = buf_printf(name, "[%zu]", i);
			if (!rc)
				rc = encode(b, name, x, depth + 1);
			name->len = keep;
			name->p[keep] = '\0';
			if (rc)
				return rc;
		}
		return 0;
	}
	case JSON_STRING:
		return depth == 0 ? -ERR_INVALID
		                  : pair(b, name, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return depth == 0 ? -ERR_INVALID : pair(b, name, num, strlen(num));
	case JSON_TRUE:
		return depth == 0 ? -ERR_INVALID : pair(b, name, "true", 4);
	case JSON_FALSE:
		return depth == 0 ? -ERR_INVALID : pair(b, name, "false", 5);
	case JSON_NULL:
		return depth == 0 ? -ERR_INVALID : pair(b, name, "", 0);
	default:
		return -ERR_INVALID; /* a real: amounts are integers in minor units */
	}
}

int stripe_form_encode(const json_t *params, struct buf *out)
{
	struct buf name;
	int rc;

	if (!json_is_object(params))
		return -ERR_INVALID;
	buf_init(&name, 4096);
	rc = encode(out, &name, params, 0);
	buf_release(&name);
	return rc;
}

/* ---- calls ---------------------------------------------------------------- */

static int send_hc(void *ctx, const struct hc_req *rq, struct hc_resp *rs, struct err *e)
{
	(void)ctx;
	return hc_do(rq, rs, e);
}

/* Copy s into out with every occurrence of key replaced by "***". */
static void scrub(const char *s, const char *key, char *out, size_t n)
{
	size_t klen = key ? strlen(key) : 0, o = 0;

	for (size_t i = 0; s[i] && o + 1 < n;) {
		if (klen >= 8 && strncmp(s + i, key, klen) == 0) {
			for (const char *r = "***"; *r && o + 1 < n; r++)
				out[o++] = *r;
			i += klen;
		} else {
			out[o++] = s[i++];
		}
	}
	out[o] = '\0';
}

static void copy_str(const json_t *o, const char *k, char *out, size_t n)
{
	const char *v = json_string_value(json_object_get(o, k));

	snprintf(out, n, "%s", v ? v : "");
}

/* The error code for a non-2xx answer. */
static int code_of(long status, const struct stripe_error *se)
{
	switch (status) {
	case 400:
		if (strcmp(se->type, "idempotency_error") == 0)
			return ERR_CONFLICT;
		return strcmp(se->code, "resource_missing") == 0 ? ERR_NOT_FOUND : ERR_INVALID;
	case 401:
	case 403:
		return ERR_AUTH;
	case 402:
		return ERR_CONFLICT;
	case 404:
		return ERR_NOT_FOUND;
	case 409:
	case 429:
		return ERR_BUSY;
	default:
		return status == 424 || status >= 500 ? ERR_UNAVAILABLE : ERR_INTERNAL;
	}
}

/* Whether to try again after an answer with status (0: none came). */
static bool retryable(int rc, const struct hc_resp *rs)
{
	const char *hint = rs->captured[CAP_SHOULD_RETRY];

	if (rc)
		return rc == -ERR_UNAVAILABLE || rc == -ERR_TIMEOUT;
	if (strcmp(hint, "false") == 0)
		return false;
	if (strcmp(hint, "true") == 0)
		return true;
	return rs->status == 409 || rs->status == 429 || rs->status >= 500;
}

int stripe_call(struct stripe_client *c, const char *method, const char *path, const json_t *params,
                const char *idem_key, json_t **out, struct stripe_error *se, struct err *e)
{
	bool post = strcmp(method, "POST") == 0;
	struct stripe_error local;
	struct buf form, url;
	char auth[512], idem[320];
	struct hc_req rq = {0};
	struct hc_resp rs = {0};
	int64_t wait = c->backoff_ms;
	int rc = 0, tries = 0, h = 0;
	json_t *v = NULL;

	assert(!post || (idem_key && *idem_key));
	if (!se)
		se = &local;
	memset(se, 0, sizeof(*se));
	*out = NULL;
	if (!c->key || !*c->key)
		return err_set(e, ERR_UNAVAILABLE, "stripe: no secret key is configured");
	buf_init(&form, STRIPE_FORM_MAX);
	buf_init(&url, sizeof(c->base) + 64 + STRIPE_FORM_MAX);
	if (params && stripe_form_encode(params, &form)) {
		rc = err_set(e, ERR_TOO_BIG, "stripe: %s %s: parameters too large or malformed",
		             method, path);
		goto out;
	}
	if (buf_printf(&url, "%s%s", c->base, path) ||
	    (!post && form.len && (buf_addch(&url, '?') || buf_add(&url, form.p, form.len)))) {
		rc = err_set(e, ERR_TOO_BIG, "stripe: %s %s: the URL is too long", method, path);
		goto out;
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->key);
	rq.method = method;
	rq.url = url.p;
	rq.headers[h++] = auth;
	rq.headers[h++] = "Stripe-Version: " STRIPE_API_VERSION;
	rq.headers[h++] = "Accept: application/json";
	if (post) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s", idem_key);
		rq.headers[h++] = idem;
		rq.content_type = "application/x-www-form-urlencoded";
		rq.body = form.p;
		rq.body_len = form.len;
	}
	rq.capture[CAP_SHOULD_RETRY] = "Stripe-Should-Retry";
	rq.capture[CAP_REQUEST_ID] = "Request-Id";
	rq.timeout_ms = c->timeout_ms;
	rq.max_response = STRIPE_RESPONSE_MAX;

	for (;;) {
		struct err he = {0};

		tries++;
		rc = (c->send ? c->send : send_hc)(c->send_ctx, &rq, &rs, &he);
		if (!rc && rs.status >= 200 && rs.status < 300)
			break;
		if (tries > c->max_retries || !retryable(rc, &rs)) {
			if (rc) {
				/* hc's messages never contain the URL */
				rc = err_set(e, -rc, "stripe: %s %s: %s", method, path, he.msg);
				se->status = 0;
				goto out;
			}
			break;
		}
		log_info("msg=\"stripe call retried\" method=%s path=%s status=%ld try=%d "
		         "error=\"%s\" wait_ms=%lld",
		         method, path, rs.status, tries, rc ? he.msg : "", (long long)wait);
		hc_resp_release(&rs);
		(c->sleep_ms ? c->sleep_ms : clock_sleep_ms)(wait);
		if (wait < c->backoff_ms * 8)
			wait *= 2;
	}

	se->status = rs.status;
	snprintf(se->request_id, sizeof(se->request_id), "%s", rs.captured[CAP_REQUEST_ID]);
	if (json_parse(rs.body.p, rs.body.len, STRIPE_JSON_DEPTH, &v, NULL) || !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	if (rs.status >= 200 && rs.status < 300) {
		if (!v) {
			rc =
			    err_set(e, ERR_INTERNAL,
			            "stripe: %s %s: the answer is not a JSON object", method, path);
			goto out;
		}
		log_debug("msg=\"stripe call\" method=%s path=%s status=%ld tries=%d request_id=%s",
		          method, path, rs.status, tries, se->request_id);
		*out = v;
		v = NULL;
		memset(se, 0, sizeof(*se));
		rc = 0;
		goto out;
	}
	{
		const json_t *eo = json_object_get(v, "error");
		char raw[sizeof(se->message)];

		copy_str(eo, "type", se->type, sizeof(se->type));
		copy_str(eo, "code", se->code, sizeof(se->code));
		copy_str(eo, "decline_code", se->decline_code, sizeof(se->decline_code));
		copy_str(eo, "param", se->param, sizeof(se->param));
		copy_str(eo, "message", raw, sizeof(raw));
		scrub(raw, c->key, se->message, sizeof(se->message));
		rc = err_set(e, code_of(rs.status, se), "stripe: %s %s: %ld %s%s%s: %s", method,
		             path, rs.status, se->type[0] ? se->type : "error",
		             se->code[0] ? "/" : "", se->code,
		             se->message[0] ? se->message : "no message");
		/* a refused expansion is expected (stripe_get_expanded reads again) */
		log_at(strncmp(se->param, "expand", 6) == 0 ? LOG_DEBUG : LOG_WARN,
		       "msg=\"stripe call failed\" method=%s path=%s status=%ld tries=%d type=%s "
		       "code=%s decline_code=%s request_id=%s",
		       method, path, rs.status, tries, se->type, se->code, se->decline_code,
		       se->request_id);
	}
out:
	json_decref(v);
	hc_resp_release(&rs);
	buf_release(&form);
	buf_release(&url);
	return rc;
}

int stripe_get_expanded(struct stripe_client *c, const char *path, const json_t *params,
                        const char *expand, json_t **out, struct err *e)
{
	json_t *p = params ? json_deep_copy(params) : json_object();
	struct stripe_error se;
	int rc;

	json_object_set_new(p, "expand", json_pack("[s]", expand));
	rc = stripe_call(c, "GET", path, p, NULL, out, &se, e);
	json_decref(p);
	if (rc == -ERR_INVALID && strncmp(se.param, "expand", 6) == 0) {
		log_debug("msg=\"stripe expansion refused, read again without it\" path=%s "
		          "expand=%s",
		          path, expand);
		rc = stripe_call(c, "GET", path, params, NULL, out, NULL, e);
	}
	return rc;
}
