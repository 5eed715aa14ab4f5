/*
 * drivers: what the Payme and Click drivers share. Outbound calls go through
 * lib/hc with the answer kept whole (up to DRV_MAX_ANSWER bytes) so repeats
 * can be compared byte for byte; logs are JSON arrays trimmed to
 * DRV_MAX_CALLS; pages are one self-contained HTML document in the plain
 * style of the chat page (page.c); control requests and answers follow
 * control.c. Nothing here takes a lock: callers hold their driver's.
 */
#include "sim/drivers.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/hc.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "sim/sim_impl.h"

bool sim_drivers_opt(struct sim_opts *o, const char *a, const char *v)
{
	static const struct {
		const char *name;
		size_t off;
	} opts[] = {
	    {"--payme-endpoint", offsetof(struct sim_opts, payme.endpoint)},
	    {"--payme-key", offsetof(struct sim_opts, payme.key)},
	    {"--payme-merchant", offsetof(struct sim_opts, payme.merchant_id)},
	    {"--click-prepare", offsetof(struct sim_opts, click.prepare_url)},
	    {"--click-complete", offsetof(struct sim_opts, click.complete_url)},
	    {"--click-secret", offsetof(struct sim_opts, click.secret)},
	    {"--click-service-id", offsetof(struct sim_opts, click.service_id)},
	    {"--click-merchant-id", offsetof(struct sim_opts, click.merchant_id)},
	};

	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		if (strcmp(a, opts[i].name) == 0) {
			*(const char **)((char *)o + opts[i].off) = v;
			return true;
		}
	}
	return false;
}

/* ---- calls ---- */

void drv_call_do(struct drv_call *c)
{
	struct hc_req rq = {0};
	struct hc_resp rs = {0};
	struct err e = {0};
	int64_t t0 = clock_mono_ms();
	int rc;

	buf_init(&c->answer, DRV_MAX_ANSWER);
	c->status = 0;
	c->error[0] = '\0';
	c->json = NULL;
	rq.method = c->method ? c->method : "POST";
	rq.url = c->url;
	rq.content_type = c->content_type;
	rq.body = c->body ? c->body : "";
	rq.body_len = c->body_len;
	for (size_t i = 0; i < ARRAY_SIZE(c->headers) && c->headers[i]; i++)
		rq.headers[i] = c->headers[i];
	rq.timeout_ms = c->timeout_ms ? c->timeout_ms : DRV_TIMEOUT_MS;
	rq.max_response = DRV_MAX_ANSWER;
	rc = hc_do(&rq, &rs, &e);
	c->elapsed_ms = clock_mono_ms() - t0;
	if (rc == -ERR_TIMEOUT)
		snprintf(c->error, sizeof(c->error), "no answer within %ld ms", rq.timeout_ms);
	else if (rc == -ERR_TOO_BIG)
		snprintf(c->error, sizeof(c->error), "the answer is longer than %u bytes",
		         DRV_MAX_ANSWER);
	else if (rc)
		snprintf(c->error, sizeof(c->error), "%s", e.msg[0] ? e.msg : err_name(rc));
	if (!rc) {
		c->status = rs.status;
		if (buf_add(&c->answer, rs.body.p, rs.body.len))
			snprintf(c->error, sizeof(c->error), "the answer is too long");
		else if (json_parse(c->answer.p, c->answer.len, SIM_JSON_DEPTH, &c->json, &e))
			c->json = NULL;
	}
	hc_resp_release(&rs);
}

void drv_call_release(struct drv_call *c)
{
	buf_release(&c->answer);
	json_decref(c->json);
	c->json = NULL;
}

void drv_call_json(const struct drv_call *c, json_t *o)
{
	json_object_set_new(o, "status", json_integer(c->status));
	if (sim_utf8_valid(c->answer.p, c->answer.len)) {
		json_object_set_new(o, "answer", json_stringn(c->answer.p, c->answer.len));
	} else {
		size_t cap = 4 * ((c->answer.len + 2) / 3) + 1;
		char *b = xmalloc(cap);
		size_t n = crypto_base64(c->answer.p, c->answer.len, b, cap);

		json_object_set_new(o, "answer", json_null());
		json_object_set_new(o, "answer_base64", json_stringn(b, n));
		free(b);
	}
	json_object_set_new(o, "json", c->json ? json_deep_copy(c->json) : json_null());
	json_object_set_new(o, "error", c->error[0] ? json_string(c->error) : json_null());
	json_object_set_new(o, "elapsed_ms", json_integer(c->elapsed_ms));
}

bool drv_call_same(const struct drv_call *a, const struct drv_call *b)
{
	return a->status == b->status && a->answer.len == b->answer.len &&
	       (a->answer.len == 0 || memcmp(a->answer.p, b->answer.p, a->answer.len) == 0);
}

/* ---- logs ---- */

void drv_log_init(struct drv_log *l)
{
	l->items = json_array();
	l->seq = 0;
}

void drv_log_release(struct drv_log *l)
{
	json_decref(l->items);
	l->items = NULL;
}

int64_t drv_log_add(struct drv_log *l, json_t *rec)
{
	json_object_set_new(rec, "seq", json_integer(++l->seq));
	json_array_append_new(l->items, rec);
	while (json_array_size(l->items) > DRV_MAX_CALLS)
		json_array_remove(l->items, 0);
	return l->seq;
}

json_t *drv_log_json(const struct drv_log *l, int64_t after)
{
	json_t *out = json_array(), *rec;
	size_t i;

	json_array_foreach(l->items, i, rec)
	{
		if (json_integer_value(json_object_get(rec, "seq")) > after)
			json_array_append_new(out, json_deep_copy(rec));
	}
	return json_pack("{s:o, s:I}", "calls", out, "last_seq", (json_int_t)l->seq);
}

/* ---- base64 (links come in either alphabet; lib/crypto encodes) ---- */

static int b64val(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

int drv_b64_decode(struct str in, char *out, size_t outsz, size_t *outlen)
{
	size_t n = in.len, o = 0;
	unsigned v = 0;
	int bits = 0;

	/* up to two '=' at the end, and then only to make a multiple of 4 */
	while (n && in.p[n - 1] == '=' && in.len - n < 2)
		n--;
	if (n < in.len && in.len % 4)
		return -ERR_INVALID;
	if (n % 4 == 1)
		return -ERR_INVALID;
	if (n / 4 * 3 + 3 > outsz)
		return -ERR_TOO_BIG;
	for (size_t i = 0; i < n; i++) {
		int x = b64val(in.p[i]);

		if (x < 0)
			return -ERR_INVALID;
		v = (v << 6) | (unsigned)x;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((v >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

/* ---- amounts and text ---- */

void drv_som(int64_t tiyin, char *out, size_t outsz)
{
	const char *sign = tiyin < 0 ? "-" : "";
	uint64_t t = tiyin < 0 ? -(uint64_t)tiyin : (uint64_t)tiyin;

	snprintf(out, outsz, "%s%llu.%02llu", sign, (unsigned long long)(t / 100),
	         (unsigned long long)(t % 100));
}

int drv_som_parse(struct str s, int64_t *tiyin)
{
	struct str whole = s, frac = {"", 0};
	int64_t w, f = 0;
	size_t dot = 0;

	while (dot < s.len && s.p[dot] != '.')
		dot++;
	if (dot < s.len) {
		whole = (struct str){s.p, dot};
		frac = (struct str){s.p + dot + 1, s.len - dot - 1};
		if (!frac.len || frac.len > 2)
			return -ERR_INVALID;
	}
	for (size_t i = 0; i < whole.len; i++)
		if (whole.p[i] < '0' || whole.p[i] > '9')
			return -ERR_INVALID;
	for (size_t i = 0; i < frac.len; i++)
		if (frac.p[i] < '0' || frac.p[i] > '9')
			return -ERR_INVALID;
	if (!whole.len || whole.len > 15 || str_to_i64(whole, 0, INT64_MAX / 1000, &w))
		return -ERR_INVALID;
	if (frac.len && str_to_i64(frac, 0, 99, &f))
		return -ERR_INVALID;
	if (frac.len == 1)
		f *= 10;
	*tiyin = w * 100 + f;
	return 0;
}

bool drv_text_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (!s || n > max || !sim_utf8_valid(s, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

bool drv_url_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > DRV_URL_MAX)
		return false;
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* ---- HTML ---- */

int drv_html(struct buf *b, const char *s)
{
	int rc = 0;

	for (; *s && !rc; s++) {
		switch (*s) {
		case '&':
			rc = buf_adds(b, "&amp;");
			break;
		case '<':
			rc = buf_adds(b, "&lt;");
			break;
		case '>':
			rc = buf_adds(b, "&gt;");
			break;
		case '"':
			rc = buf_adds(b, "&quot;");
			break;
		case '\'':
			rc = buf_adds(b, "&#39;");
			break;
		default:
			rc = buf_addch(b, *s);
			break;
		}
	}
	return rc;
}

static const char page_head[] =
    "<!doctype html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<style>\n"
    "* { box-sizing: border-box; }\n"
    "body { margin: 0; font: 15px/1.4 system-ui, sans-serif; background: #dfe7ee;\n"
    "  color: #1c2733; }\n"
    "header { background: #517da2; color: #fff; padding: 10px 16px; }\n"
    "header h1 { font-size: 17px; margin: 0; font-weight: 600; }\n"
    "main { max-width: 560px; margin: 24px auto; background: #fff; border-radius: 12px;\n"
    "  padding: 18px 22px; box-shadow: 0 1px 2px rgba(0,0,0,.12); }\n"
    "dl { display: grid; grid-template-columns: auto 1fr; gap: 6px 14px; }\n"
    "dt { color: #5b7083; } dd { margin: 0; word-break: break-all; }\n"
    ".amount { font-size: 22px; font-weight: 600; }\n"
    "form { display: flex; gap: 8px; margin-top: 16px; }\n"
    "button { border-radius: 18px; padding: 8px 18px; font: inherit; cursor: pointer;\n"
    "  border: 1px solid #b9c8d5; background: #f6f9fb; }\n"
    "button.primary { background: #517da2; color: #fff; border: 0; }\n"
    ".err { color: #b3261e; }\n"
    ".ok { color: #2e7d32; }\n"
    "ol { padding-left: 20px; font-size: 13px; }\n"
    "ol li { margin: 3px 0; }\n"
    "code { font-family: ui-monospace, monospace; font-size: 12px; background: #f2f4f6;\n"
    "  border-radius: 4px; padding: 0 3px; word-break: break-all; }\n"
    "a { color: #2f6ea5; }\n"
    "</style>\n";

int drv_page(struct http_req *r, int status, const char *title, const char *html)
{
	struct buf b;
	int rc;

	buf_init(&b, 4u << 20);
	if (buf_adds(&b, page_head) || buf_adds(&b, "<title>") || drv_html(&b, title) ||
	    buf_adds(&b, "</title>\n</head>\n<body>\n<header><h1>") || drv_html(&b, title) ||
	    buf_adds(&b, "</h1></header>\n<main>\n") || buf_adds(&b, html) ||
	    buf_adds(&b, "</main>\n</body>\n</html>\n")) {
		buf_release(&b);
		return http_reply(r, 500, "text/plain; charset=utf-8", "page too large\n", 15);
	}
	http_header(r, "Cache-Control", "no-store");
	rc = http_reply(r, status, "text/html; charset=utf-8", b.p, b.len);
	buf_release(&b);
	return rc;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s into out[outsz]; false when it does not fit. */
static bool unescape(struct str s, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < s.len; i++) {
		char ch = s.p[i];

		if (ch == '%' && i + 2 < s.len && hexval(s.p[i + 1]) >= 0 &&
		    hexval(s.p[i + 2]) >= 0) {
			ch = (char)(hexval(s.p[i + 1]) << 4 | hexval(s.p[i + 2]));
			i += 2;
		} else if (ch == '+') {
			ch = ' ';
		}
		if (o + 1 >= outsz)
			return false;
		out[o++] = ch;
	}
	out[o] = '\0';
	return true;
}

bool drv_form_get(struct str body, const char *name, char *out, size_t outsz)
{
	struct str pair, key;

	while (body.len) {
		str_split(&body, '&', &pair);
		str_split(&pair, '=', &key);
		if (str_eqc(key, name))
			return unescape(pair, out, outsz);
	}
	return false;
}

/* ---- control conventions ---- */

int drv_reply(struct http_req *r, json_t *v)
{
	return http_reply_json(r, 200, v);
}

int drv_fail(struct http_req *r, int status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return http_reply_json(r, status, json_pack("{s:s}", "error", msg));
}

json_t *drv_body(struct http_req *r)
{
	json_t *v = NULL;
	struct err e = {0};

	if (!r->body.len)
		return json_object();
	if (r->body.len > DRV_MAX_CONTROL) {
		drv_fail(r, 413, "the body is longer than %u bytes", DRV_MAX_CONTROL);
		return NULL;
	}
	if (json_parse(r->body.p, r->body.len, SIM_JSON_DEPTH, &v, &e) || !json_is_object(v)) {
		json_decref(v);
		drv_fail(r, 400, "the body must be a JSON object (%s)",
		         e.msg[0] ? e.msg : "not one");
		return NULL;
	}
	return v;
}

int drv_get_i64(const json_t *o, const char *key, int64_t *v)
{
	json_t *x = json_object_get(o, key);

	if (!x || json_is_null(x))
		return 1;
	if (json_is_integer(x)) {
		*v = json_integer_value(x);
		return 0;
	}
	if (json_is_string(x) && !str_to_i64(str_c(json_string_value(x)), INT64_MIN, INT64_MAX, v))
		return 0;
	return -1;
}

const char *drv_get_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int drv_get_bool(const json_t *o, const char *key, bool *v)
{
	json_t *x = json_object_get(o, key);

	if (!x || json_is_null(x))
		return 1;
	if (!json_is_boolean(x))
		return -1;
	*v = json_is_true(x);
	return 0;
}

/* ---- reports ---- */

json_t *drv_step(const char *step, const char *what, json_t *request, const struct drv_call *c,
                 const char *expected, bool pass, const char *why)
{
	json_t *o = json_pack("{s:s, s:s, s:o}", "step", step, "what", what, "request",
	                      request ? request : json_null());

	if (c)
		drv_call_json(c, o);
	json_object_set_new(o, "expected", json_string(expected));
	json_object_set_new(o, "pass", json_boolean(pass));
	json_object_set_new(o, "why", json_string(pass ? "" : why));
	return o;
}

json_t *drv_report(json_t *steps)
{
	size_t i, passed = 0;
	json_t *st;

	json_array_foreach(steps, i, st)
	{
		if (json_is_true(json_object_get(st, "pass")))
			passed++;
	}
	return json_pack("{s:b, s:I, s:I, s:o}", "pass", passed == json_array_size(steps), "passed",
	                 (json_int_t)passed, "failed",
	                 (json_int_t)(json_array_size(steps) - passed), "steps", steps);
}
