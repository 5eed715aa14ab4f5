/*
 * tg: the Bot API client's call path. tg_call builds one request (a JSON
 * body, or multipart/form-data when files go along), sends it through the
 * transport (lib/hc unless a test injects a fake) and decodes the envelope
 * with tg_decode. Sending methods pass the flood-control buckets of limit.c
 * before every attempt.
 *
 * Retries: a 429 pauses every node for retry_after seconds and repeats the
 * same request after that long plus a little jitter; 5xx answers, timeouts
 * and broken connections are repeated after a jittered exponential backoff.
 * A timeout of a sending method may have delivered the message: repeating it
 * trades a rare duplicate for not losing messages. Other 4xx answers are
 * final. All waiting of one call (pause, buckets, backoff, retry_after) fits
 * in max_wait_ms; a wait that would not fit ends the call at once.
 *
 * The token is part of every URL. The URL is never logged, and every error
 * text is scrubbed of the token's secret before it reaches the caller.
 */
#include "tg/tg.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/hc.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "tg/tg_impl.h"

#define TG_DEFAULT_API   "https://api.telegram.org"
#define TG_URL_MAX       2048
#define TG_BODY_MAX      (4u << 20)  /* a JSON request body */
#define TG_RESP_MAX      (16u << 20) /* a getUpdates answer may be large */
#define TG_METHOD_MAX    64
#define TG_JITTER_429_MS 250
#define TG_BACKOFF_MAX   (60 * 1000) /* one backoff step at most */

static int hc_transport(void *arg, const struct hc_req *rq, struct hc_resp *rs, struct err *e)
{
	(void)arg;
	return hc_do(rq, rs, e);
}

/* Check "<digits>:<secret>" without ever quoting it. */
static int parse_token(const char *t, int64_t *id, size_t *secret_off, struct err *e)
{
	const char *colon = t ? strchr(t, ':') : NULL;
	size_t n;

	if (!colon || colon == t)
		return err_set(e, ERR_INVALID, "telegram bot token is not \"<bot id>:<secret>\"");
	n = (size_t)(colon - t);
	for (size_t i = 0; i < n; i++)
		if (t[i] < '0' || t[i] > '9')
			return err_set(e, ERR_INVALID,
			               "telegram bot token does not start with the bot id");
	if (str_to_i64((struct str){t, n}, 1, INT64_MAX, id) != 0)
		return err_set(e, ERR_INVALID, "telegram bot token has a bot id out of range");
	if (!colon[1])
		return err_set(e, ERR_INVALID, "telegram bot token has an empty secret");
	for (const char *p = colon + 1; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		/* it goes into a URL path unescaped */
		if (ch <= ' ' || ch >= 0x7f || ch == '/' || ch == '?' || ch == '#' || ch == '%')
			return err_set(e, ERR_INVALID,
			               "telegram bot token has a character not allowed in a url");
	}
	*secret_off = n + 1;
	return 0;
}

static bool rate_ok(double r)
{
	return r >= 0.001 && r <= 1e6;
}

int tg_client_new(struct tg_client **out, const struct tg_opts *o, struct err *e)
{
	struct tg_client *c = NULL;
	const char *api = o->api && *o->api ? o->api : TG_DEFAULT_API;
	size_t alen = strlen(api);
	int rc;

	*out = NULL;
	c = xcalloc(1, sizeof(*c));
	rc = parse_token(o->token, &c->bot_id, &c->secret_off, e);
	if (rc)
		goto out;
	while (alen > 0 && api[alen - 1] == '/')
		alen--;
	c->api = xstrndup(api, alen);
	c->token = xstrdup(o->token);
	c->kv = o->kv;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	c->max_attempts = o->max_attempts > 0 ? o->max_attempts : 5;
	c->max_wait_ms = o->max_wait_ms > 0 ? o->max_wait_ms : 60000;
	c->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : 300;
	c->global_rate = o->global_rate > 0 ? o->global_rate : 28;
	c->global_burst = o->global_burst >= 1 ? o->global_burst
	                  : c->global_rate < 1 ? 1
	                                       : c->global_rate;
	c->chat_rate = o->chat_rate > 0 ? o->chat_rate : 1;
	c->chat_burst = o->chat_burst > 0 ? o->chat_burst : 3;
	c->group_rate = (o->group_per_minute > 0 ? o->group_per_minute : 20) / 60.0;
	c->group_burst = o->group_burst > 0 ? o->group_burst : 3;
	if (!rate_ok(c->global_rate) || !rate_ok(c->chat_rate) || !rate_ok(c->group_rate) ||
	    c->chat_burst < 1 || c->group_burst < 1 || c->global_burst > 1e9 ||
	    c->chat_burst > 1e9 || c->group_burst > 1e9) {
		rc = err_set(e, ERR_INVALID, "telegram rate limits out of range");
		goto out;
	}
	if (o->transport)
		c->transport = *o->transport;
	else
		c->transport = (struct tg_transport){.send = hc_transport};
	atomic_init(&c->kv_warned_ms, 0);
	*out = c;
	c = NULL;
	rc = 0;
out:
	tg_client_free(c);
	return rc;
}

void tg_client_free(struct tg_client *c)
{
	if (!c)
		return;
	free(c->api);
	if (c->token) {
		/* the secret should not linger in freed memory */
		memset(c->token, 0, strlen(c->token));
		free(c->token);
	}
	free(c);
}

int64_t tg_client_bot_id(const struct tg_client *c)
{
	return c->bot_id;
}

bool tg_is_send_method(const char *method)
{
	static const char *const others[] = {"copyMessage", "copyMessages", "forwardMessage",
	                                     "forwardMessages"};

	if (!method)
		return false;
	/* method names are case-insensitive (protocols.md A.1) */
	if (strncasecmp(method, "send", 4) == 0 && method[4])
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(others); i++)
		if (strcasecmp(method, others[i]) == 0)
			return true;
	return false;
}

/* One request, built once and sent as many times as it takes. */
struct call {
	struct buf url;
	struct buf body; /* JSON, when there are no files */
	struct hc_part *parts;
	size_t nparts;
	char **texts; /* the parts' field values, owned */
	size_t ntexts;
	long timeout_ms;
};

static void call_release(struct call *k)
{
	buf_release(&k->url);
	buf_release(&k->body);
	for (size_t i = 0; i < k->ntexts; i++)
		free(k->texts[i]);
	free(k->texts);
	free(k->parts);
}

/* A parameter as the text of a form field: strings raw, numbers and
 * booleans as JSON text, objects and arrays JSON-serialized. NULL: skip. */
static char *field_text(const json_t *v, size_t *len)
{
	struct buf b;

	if (json_is_null(v))
		return NULL;
	if (json_is_string(v)) {
		/* a JSON string may hold NULs: copy by length */
		char *p;

		*len = json_string_length(v);
		p = xmalloc(*len + 1);
		memcpy(p, json_string_value(v), *len);
		p[*len] = '\0';
		return p;
	}
	buf_init(&b, TG_BODY_MAX);
	if (json_to_buf(v, &b) != 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_take(&b, len);
}

static int build_parts(struct call *k, const json_t *params, const struct tg_file *files,
                       size_t nfiles, struct tg_error *te)
{
	size_t np = json_is_object(params) ? json_object_size(params) : 0;
	const char *key;
	json_t *v;

	k->parts = xcalloc(np + nfiles, sizeof(*k->parts));
	k->texts = xcalloc(np ? np : 1, sizeof(*k->texts));
	if (np) {
		/* iteration only reads; jansson's iterator API is not const */
		json_object_foreach((json_t *)params, key, v)
		{
			size_t len = 0;
			char *text = field_text(v, &len);

			if (!text) {
				if (json_is_null(v))
					continue;
				return tg_fail_set(te, TG_FAIL_BAD_REQUEST, 0,
				                   "parameter %.64s too large", key);
			}
			k->texts[k->ntexts++] = text;
			k->parts[k->nparts++] =
			    (struct hc_part){.name = key, .data = text, .len = len};
		}
	}
	for (size_t i = 0; i < nfiles; i++) {
		const struct tg_file *f = &files[i];

		if (!f->field || !*f->field || (!f->data && f->len))
			return tg_fail_set(te, TG_FAIL_BAD_REQUEST, 0, "file %zu without a field",
			                   i);
		k->parts[k->nparts++] = (struct hc_part){
		    .name = f->field,
		    .data = f->data ? f->data : "",
		    .len = f->len,
		    .filename = f->filename && *f->filename ? f->filename : "file",
		    .content_type = f->content_type,
		};
	}
	return 0;
}

static bool method_ok(const char *m)
{
	size_t n = 0;

	if (!m)
		return false;
	for (; m[n]; n++)
		if (n >= TG_METHOD_MAX ||
		    !((m[n] >= 'a' && m[n] <= 'z') || (m[n] >= 'A' && m[n] <= 'Z')))
			return false;
	return n > 0;
}

static int build(struct tg_client *c, struct call *k, const char *method, const json_t *params,
                 const struct tg_file *files, size_t nfiles, struct tg_error *te)
{
	const json_t *poll;

	buf_init(&k->url, TG_URL_MAX);
	buf_init(&k->body, TG_BODY_MAX);
	if (!method_ok(method))
		return tg_fail_set(te, TG_FAIL_BAD_REQUEST, 0, "not a bot api method name");
	if (params && !json_is_object(params))
		return tg_fail_set(te, TG_FAIL_BAD_REQUEST, 0, "parameters are not an object");
	if (buf_printf(&k->url, "%s/bot%s/%s", c->api, c->token, method) != 0)
		return tg_fail_set(te, TG_FAIL_BAD_REQUEST, 0, "bot api url too long");
	k->timeout_ms = c->timeout_ms;
	/* a long poll holds the request for its timeout before answering */
	poll = json_object_get(params, "timeout");
	if (strcasecmp(method, "getUpdates") == 0 && json_is_integer(poll) &&
	    json_integer_value(poll) > 0 && json_integer_value(poll) <= 3600)
		k->timeout_ms += (long)json_integer_value(poll) * 1000;
	if (nfiles)
		return build_parts(k, params, files, nfiles, te);
	if ((params ? json_to_buf(params, &k->body) : buf_adds(&k->body, "{}")) != 0)
		return tg_fail_set(te, TG_FAIL_BAD_REQUEST, 0, "parameters too large");
	return 0;
}

/* Replace every occurrence of the token's secret in s (of size sz). */
static void scrub(const struct tg_client *c, char *s, size_t sz)
{
	const char *secret = c->token + c->secret_off;
	size_t slen = strlen(secret), o = 0;
	char out[512];
	const char *p = s, *hit;
	size_t n;

	if (!slen || !strstr(s, secret))
		return;
	while ((hit = strstr(p, secret)) != NULL) {
		n = (size_t)(hit - p);

		if (n > sizeof(out) - 1 - o)
			n = sizeof(out) - 1 - o;
		memcpy(out + o, p, n);
		o += n;
		n = sizeof(out) - 1 - o < 3 ? sizeof(out) - 1 - o : 3;
		memcpy(out + o, "***", n);
		o += n;
		p = hit + slen;
	}
	/* the rest, then back into s, each cut to fit */
	n = strlen(p);
	if (n > sizeof(out) - 1 - o)
		n = sizeof(out) - 1 - o;
	memcpy(out + o, p, n);
	o += n;
	if (o > sz - 1)
		o = sz - 1;
	memcpy(s, out, o);
	s[o] = '\0';
}

/* te for a transport failure: retried when it is a timeout or a broken
 * connection, a malformed answer when it was too large. */
static int transport_fail(int rc, const struct err *e, struct tg_error *te)
{
	if (rc == -ERR_TOO_BIG)
		return tg_fail_set(te, TG_FAIL_MALFORMED, 0, "%s", e->msg);
	return tg_fail_set(te, TG_FAIL_NETWORK, 0, "%s", e->msg[0] ? e->msg : err_name(rc));
}

/* retry_after of a 429: the body's, else a Retry-After header, else 1 s. */
static int retry_after_of(const struct tg_error *te, const struct hc_resp *rs)
{
	int64_t s;

	if (te->retry_after > 0)
		return te->retry_after;
	if (str_to_i64(str_trim(str_c(rs->retry_after)), 1, 86400, &s) == 0)
		return (int)s;
	return 1;
}

/* One attempt: send k and decode the answer into result or te. */
static int attempt(struct tg_client *c, const struct call *k, const char *method, int n,
                   json_t **result, struct tg_error *te)
{
	struct hc_req rq = {
	    .url = k->url.p,
	    .timeout_ms = k->timeout_ms,
	    .max_response = TG_RESP_MAX,
	};
	struct hc_resp rs = {0};
	struct err e = {0};
	int64_t t0 = clock_mono_ms();
	int rc;

	if (k->parts) {
		rq.parts = k->parts;
		rq.nparts = k->nparts;
	} else {
		rq.content_type = "application/json";
		rq.body = k->body.p;
		rq.body_len = k->body.len;
	}
	buf_init(&rs.body, TG_RESP_MAX);
	memset(te, 0, sizeof(*te));
	rc = c->transport.send(c->transport.arg, &rq, &rs, &e);
	if (rc == 0) {
		rc = tg_decode(rs.status, rs.body.p, rs.body.len, result, te);
		if (te->fail == TG_FAIL_RETRY_AFTER)
			te->retry_after = retry_after_of(te, &rs);
	} else {
		rc = transport_fail(rc, &e, te);
		te->unsent = !rs.sent;
	}
	log_debug("msg=\"telegram call\" method=%s status=%ld ms=%lld attempt=%d result=\"%s\"",
	          method, rs.status, (long long)(clock_mono_ms() - t0), n, tg_fail_name(te->fail));
	hc_resp_release(&rs);
	return rc;
}

/* How long to wait before attempt n + 1 after te; -1: do not retry. */
static int64_t retry_delay(const struct tg_client *c, const struct tg_error *te, int n)
{
	int64_t d;

	switch (te->fail) {
	case TG_FAIL_RETRY_AFTER:
		return (int64_t)te->retry_after * 1000 + tg_jitter(TG_JITTER_429_MS);
	case TG_FAIL_SERVER:
	case TG_FAIL_NETWORK:
		d = c->backoff_ms;
		for (int i = 1; i < n && d < TG_BACKOFF_MAX; i++)
			d *= 2;
		if (d > TG_BACKOFF_MAX)
			d = TG_BACKOFF_MAX;
		return d + tg_jitter(d / 4);
	default:
		return -1;
	}
}

int tg_call(struct tg_client *c, const char *method, const json_t *params,
            const struct tg_file *files, size_t nfiles, json_t **result, struct tg_error *te)
{
	struct tg_error local;
	struct call k = {0};
	bool send = tg_is_send_method(method);
	int64_t waited = 0, delay;
	char msg[sizeof(te->err.msg)], probe[KV_TOKEN_SIZE] = "";
	int rc;

	if (!te)
		te = &local;
	memset(te, 0, sizeof(*te));
	if (result)
		*result = NULL;
	rc = build(c, &k, method, params, files, nfiles, te);
	if (rc)
		goto out;
	for (int n = 1;; n++) {
		if (send) {
			rc = tg_throttle(c, params, &waited, probe, te);
			if (rc)
				goto out;
		}
		rc = attempt(c, &k, method, n, result, te);
		if (rc && te->fail == TG_FAIL_RETRY_AFTER)
			tg_pause_set(c, te->retry_after);
		tg_probe_done(c, probe); /* after the pause is set: the next sees it */
		if (rc == 0)
			goto out;
		delay = retry_delay(c, te, n);
		if (delay < 0 || n >= c->max_attempts || waited + delay > c->max_wait_ms)
			goto out;
		log_warn("msg=\"telegram call retried\" method=%s attempt=%d fail=\"%s\" code=%d "
		         "delay_ms=%lld",
		         method, n, tg_fail_name(te->fail), te->code, (long long)delay);
		clock_sleep_ms(delay);
		waited += delay;
	}
out:
	if (rc) {
		scrub(c, te->description, sizeof(te->description));
		snprintf(msg, sizeof(msg), "%s", te->err.msg);
		err_set(&te->err, -rc, "telegram %.64s: %s", method_ok(method) ? method : "call",
		        msg);
		scrub(c, te->err.msg, sizeof(te->err.msg));
	}
	call_release(&k);
	return rc;
}
