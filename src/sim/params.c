/*
 * params: a Bot API call's parameters, from wherever they came. The query
 * string, an application/x-www-form-urlencoded body and the fields of a
 * multipart/form-data body give strings; an application/json body gives
 * JSON values. All end up in one JSON object (the body wins over the query),
 * and the accessors convert: a number may come as a string, an object
 * (reply_markup) as a JSON string to decode. Uploaded files stay in the
 * body; the multipart parts are slices of it.
 */
#include "sim/sim_impl.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/hc.h"
#include "lib/json.h"
#include "lib/mem.h"

int sim_fail(struct sim_call *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->desc, sizeof(c->desc), fmt, ap);
	va_end(ap);
	c->code = code;
	json_decref(c->result);
	c->result = NULL;
	return -1;
}

static int set_string(struct sim_call *c, const char *key, size_t klen, const char *v, size_t vlen)
{
	char name[128];
	json_t *js;

	if (klen >= sizeof(name) || !sim_utf8_valid(key, klen))
		return 0; /* no parameter has such a name: ignore it */
	memcpy(name, key, klen);
	name[klen] = '\0';
	if (!sim_utf8_valid(v, vlen) || !(js = json_stringn(v, vlen)))
		return sim_fail(c, 400, "Bad Request: strings must be encoded in UTF-8");
	json_object_set_new(c->p, name, js);
	return 0;
}

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
	struct sim_call *c = cls;

	(void)kind;
	if (key && set_string(c, key, strlen(key), value ? value : "", value ? strlen(value) : 0))
		return MHD_NO;
	return MHD_YES;
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

/* Percent-decode s into b ('+' is a space). */
static int unescape(struct str s, struct buf *b)
{
	buf_reset(b);
	for (size_t i = 0; i < s.len; i++) {
		char ch = s.p[i];
		int rc;

		if (ch == '%' && i + 2 < s.len && hexval(s.p[i + 1]) >= 0 &&
		    hexval(s.p[i + 2]) >= 0) {
			ch = (char)(hexval(s.p[i + 1]) << 4 | hexval(s.p[i + 2]));
			i += 2;
		} else if (ch == '+') {
			ch = ' ';
		}
		rc = buf_addch(b, ch);
		if (rc)
			return rc;
	}
	return 0;
}

static int read_form(struct sim_call *c, struct str body)
{
	struct buf k, v;
	struct str pair, key;
	int rc = 0;

	buf_init(&k, body.len + 1);
	buf_init(&v, body.len + 1);
	while (body.len && !rc) {
		str_split(&body, '&', &pair);
		if (!pair.len)
			continue;
		str_split(&pair, '=', &key);
		if (unescape(key, &k) || unescape(pair, &v))
			rc = sim_fail(c, 400, "Bad Request: malformed form body");
		else
			rc = set_string(c, k.p, k.len, v.p, v.len);
	}
	buf_release(&k);
	buf_release(&v);
	return rc;
}

static int read_multipart(struct sim_call *c, struct str ct, struct str body)
{
	struct str boundary;
	struct err e = {0};

	if (multipart_boundary(ct, &boundary))
		return sim_fail(c, 400, "Bad Request: multipart boundary is missing");
	if (multipart_parse(body, boundary, c->parts, SIM_MAX_PARTS, &c->nparts, &e))
		return sim_fail(c, 400, "Bad Request: %s", e.msg);
	for (size_t i = 0; i < c->nparts; i++) {
		const struct multipart_part *p = &c->parts[i];

		if (p->has_filename)
			continue;
		if (set_string(c, p->name.p, p->name.len, p->data.p, p->data.len))
			return -1;
	}
	return 0;
}

int sim_params_read(struct sim_call *c)
{
	struct http_req *r = c->r;
	const char *cth = http_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	struct str ct = str_c(cth ? cth : ""), body = {r->body.p, r->body.len}, type, rest;

	c->p = json_object();
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_arg, c);
	if (c->code)
		return -1;
	if (!body.len)
		return 0;
	rest = ct;
	str_split(&rest, ';', &type);
	type = str_trim(type);
	if (str_case_eq(type, "application/json")) {
		json_t *v = NULL;
		struct err e = {0};

		if (json_parse(body.p, body.len, SIM_JSON_DEPTH, &v, &e) || !json_is_object(v)) {
			json_decref(v);
			return sim_fail(c, 400, "Bad Request: can't parse JSON request body");
		}
		json_object_update(c->p, v);
		json_decref(v);
		return 0;
	}
	if (str_case_eq(type, "multipart/form-data"))
		return read_multipart(c, ct, body);
	return read_form(c, body);
}

void sim_call_release(struct sim_call *c)
{
	json_decref(c->p);
	json_decref(c->result);
	for (size_t i = 0; i < c->nfetch; i++) {
		free(c->fetch[i].url);
		buf_release(&c->fetch[i].data);
	}
	c->p = c->result = NULL;
	c->nfetch = 0;
}

const char *prm_str(struct sim_call *c, const char *name)
{
	json_t *v = json_object_get(c->p, name);
	char tmp[64];
	json_t *s = NULL;

	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
		s = json_string(tmp);
	} else if (json_is_real(v)) {
		snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v));
		s = json_string(tmp);
	} else if (json_is_boolean(v)) {
		s = json_string(json_is_true(v) ? "true" : "false");
	} else {
		char *d = json_dumps(v, JSON_COMPACT);

		s = json_string(d ? d : "");
		free(d);
	}
	json_object_set_new(c->p, name, s);
	return json_string_value(s);
}

int prm_i64(struct sim_call *c, const char *name, int64_t *out)
{
	json_t *v = json_object_get(c->p, name);

	if (!v || json_is_null(v))
		return 1;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		struct str s = str_trim(str_c(json_string_value(v)));

		if (!s.len)
			return 1;
		return str_to_i64(s, INT64_MIN, INT64_MAX, out);
	}
	return -ERR_INVALID;
}

int prm_bool(struct sim_call *c, const char *name, bool *out)
{
	json_t *v = json_object_get(c->p, name);
	const char *s;

	if (!v || json_is_null(v))
		return 1;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
		*out = json_integer_value(v) == 1;
		return 0;
	}
	if (!json_is_string(v))
		return -ERR_INVALID;
	s = json_string_value(v);
	if (!*s)
		return 1;
	if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0) {
		*out = true;
		return 0;
	}
	if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0) {
		*out = false;
		return 0;
	}
	return -ERR_INVALID;
}

json_t *prm_json(struct sim_call *c, const char *name, bool *bad)
{
	json_t *v = json_object_get(c->p, name), *parsed = NULL;
	const char *s;
	struct err e = {0};

	*bad = false;
	if (!v || json_is_null(v))
		return NULL;
	if (json_is_object(v) || json_is_array(v))
		return v;
	if (!json_is_string(v)) {
		*bad = true;
		return NULL;
	}
	s = json_string_value(v);
	if (!*s)
		return NULL;
	if (json_parse(s, strlen(s), SIM_JSON_DEPTH, &parsed, &e) ||
	    !(json_is_object(parsed) || json_is_array(parsed))) {
		json_decref(parsed);
		*bad = true;
		return NULL;
	}
	json_object_set_new(c->p, name, parsed);
	return parsed;
}

const struct multipart_part *prm_part(const struct sim_call *c, const char *name)
{
	for (size_t i = 0; i < c->nparts; i++)
		if (str_eqc(c->parts[i].name, name))
			return &c->parts[i];
	return NULL;
}

static bool is_url(const char *v)
{
	return v && (strncasecmp(v, "http://", 7) == 0 || strncasecmp(v, "https://", 8) == 0);
}

static void fetch(struct sim_call *c, const char *url, size_t max)
{
	struct sim_fetch *f;
	struct hc_req rq = {0};
	struct hc_resp rs = {0};
	struct err e = {0};

	for (size_t i = 0; i < c->nfetch; i++)
		if (strcmp(c->fetch[i].url, url) == 0)
			return;
	if (c->nfetch == SIM_MAX_FETCH)
		return;
	f = &c->fetch[c->nfetch++];
	f->url = xstrdup(url);
	rq.method = "GET";
	rq.url = url;
	rq.timeout_ms = 10000;
	rq.max_response = max;
	f->rc = hc_do(&rq, &rs, &e);
	if (!f->rc && (rs.status < 200 || rs.status > 299))
		f->rc = -ERR_UNAVAILABLE;
	snprintf(f->content_type, sizeof(f->content_type), "%s", rs.content_type);
	if (f->rc) {
		hc_resp_release(&rs);
		buf_init(&f->data, 1);
		return;
	}
	f->data = rs.body; /* ownership moves */
}

void sim_prefetch(struct sim_call *c)
{
	static const char *const fields[] = {"photo", "video", "document", "audio", "animation"};
	json_t *media, *item;
	bool bad;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		const char *v = json_string_value(json_object_get(c->p, fields[i]));

		if (is_url(v))
			fetch(c, v, i == 0 ? SIM_URL_PHOTO_MAX : SIM_URL_FILE_MAX);
	}
	media = prm_json(c, "media", &bad);
	if (!json_is_array(media))
		return;
	json_array_foreach(media, i, item)
	{
		const char *v = json_string_value(json_object_get(item, "media"));
		const char *t = json_string_value(json_object_get(item, "type"));

		if (is_url(v))
			fetch(c, v,
			      t && strcmp(t, "photo") == 0 ? SIM_URL_PHOTO_MAX : SIM_URL_FILE_MAX);
	}
}
