/*
 * bot/transport: the HTTP transport of the intake's own Bot API client.
 *
 * A long poll holds its request for up to 25 seconds, and lib/hc has no way
 * to end a request early, so stopping the bot would wait that long. This
 * transport is hc_do's twin for the requests the intake makes (JSON bodies,
 * no uploads), run on a libcurl multi handle: the intake thread waits in
 * curl_multi_poll(), which bot_transport_wake() (curl_multi_wakeup(), safe
 * from any thread) interrupts, and a request is abandoned once the bot is
 * stopping. It keeps one easy handle (and so one kept-alive connection) for
 * the intake thread, the only thread that sends through it.
 */
#include "bot/bot_impl.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/hc.h"
#include "lib/mem.h"
#include "tg/tg.h"

#define MAX_RESPONSE (8u << 20)

struct bot_transport {
	struct tg_transport seam;
	const atomic_bool *stop;
	CURL *h;
	CURLM *multi;
};

struct sink {
	struct hc_resp *rs;
	bool too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	if (buf_add(&s->rs->body, p, size * n)) {
		s->too_big = true;
		return 0;
	}
	return size * n;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name), i, end;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	for (i = nl + 1; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	for (end = len;
	     end > i && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' ');
	     end--)
		;
	if (end - i >= outsz)
		end = i + outsz - 1;
	memcpy(out, line + i, end - i);
	out[end - i] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct hc_resp *rs = arg;
	size_t len = size * n;

	if (len > 5 && strncmp(p, "HTTP/", 5) == 0)
		rs->content_type[0] = rs->retry_after[0] = '\0';
	header_value(p, len, "Content-Type", rs->content_type, sizeof(rs->content_type));
	header_value(p, len, "Retry-After", rs->retry_after, sizeof(rs->retry_after));
	return len;
}

/* Run the transfer set up on t->h; CURLE_ABORTED_BY_CALLBACK when the bot
 * stopped first. */
static CURLcode perform(struct bot_transport *t)
{
	CURLcode cc = CURLE_OK;
	CURLMsg *msg;
	int running = 1, left;

	if (curl_multi_add_handle(t->multi, t->h) != CURLM_OK)
		return CURLE_FAILED_INIT;
	while (running) {
		if (curl_multi_perform(t->multi, &running) != CURLM_OK) {
			cc = CURLE_RECV_ERROR;
			break;
		}
		if (!running)
			break;
		if (atomic_load(t->stop)) {
			cc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		if (curl_multi_poll(t->multi, NULL, 0, 1000, NULL) != CURLM_OK) {
			cc = CURLE_RECV_ERROR;
			break;
		}
	}
	while ((msg = curl_multi_info_read(t->multi, &left)))
		if (msg->msg == CURLMSG_DONE && cc == CURLE_OK)
			cc = msg->data.result;
	curl_multi_remove_handle(t->multi, t->h);
	return cc;
}

static int send_req(void *arg, const struct hc_req *rq, struct hc_resp *rs, struct err *e)
{
	struct bot_transport *t = arg;
	struct sink sink = {.rs = rs};
	struct curl_slist *hdrs = NULL, *n;
	char ctype[160];
	CURLcode cc;
	int rc;

	buf_init(&rs->body, rq->max_response ? rq->max_response : MAX_RESPONSE);
	rs->status = 0;
	rs->content_type[0] = rs->retry_after[0] = '\0';
	if (!rq->url || rq->parts)
		return err_set(e, ERR_INVALID, "the intake transport sends JSON bodies only");
	if (atomic_load(t->stop))
		return err_set(e, ERR_UNAVAILABLE, "http request not sent: stopping");
	if (!t->h && !(t->h = curl_easy_init()))
		abort(); /* out of memory */
	curl_easy_reset(t->h);
	curl_easy_setopt(t->h, CURLOPT_URL, rq->url);
	curl_easy_setopt(t->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->h, CURLOPT_TIMEOUT_MS, rq->timeout_ms ? rq->timeout_ms : 30000L);
	curl_easy_setopt(t->h, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_ms ? rq->connect_ms : 5000L);
	curl_easy_setopt(t->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(t->h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(t->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(t->h, CURLOPT_HEADERDATA, rs);
	curl_easy_setopt(t->h, CURLOPT_USERAGENT, "herald/" HERALD_VERSION);
	curl_easy_setopt(t->h, CURLOPT_TCP_KEEPALIVE, 1L);
	for (size_t i = 0; i < HC_MAX_HEADERS && rq->headers[i]; i++) {
		if (!(n = curl_slist_append(hdrs, rq->headers[i])))
			abort();
		hdrs = n;
	}
	if (!(n = curl_slist_append(hdrs, "Expect:")))
		abort();
	hdrs = n;
	if (rq->body) {
		curl_easy_setopt(t->h, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(t->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		if (rq->content_type) {
			snprintf(ctype, sizeof(ctype), "Content-Type: %s", rq->content_type);
			if (!(n = curl_slist_append(hdrs, ctype)))
				abort();
			hdrs = n;
		}
	}
	if (rq->method)
		curl_easy_setopt(t->h, CURLOPT_CUSTOMREQUEST, rq->method);
	curl_easy_setopt(t->h, CURLOPT_HTTPHEADER, hdrs);
	cc = perform(t);
	curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &rs->status);
	if (sink.too_big)
		rc = err_set(e, ERR_TOO_BIG, "http response larger than %zu bytes", rs->body.max);
	else if (cc == CURLE_ABORTED_BY_CALLBACK)
		rc = err_set(e, ERR_UNAVAILABLE, "http request ended: stopping");
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		rc = err_set(e, ERR_TIMEOUT, "http request timed out");
	else if (cc != CURLE_OK)
		rc = err_set(e, ERR_UNAVAILABLE, "http request failed: %s", curl_easy_strerror(cc));
	else
		rc = 0;
	curl_easy_setopt(t->h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	return rc;
}

struct bot_transport *bot_transport_new(const atomic_bool *stop)
{
	struct bot_transport *t = xcalloc(1, sizeof(*t));

	hc_global_init();
	t->multi = curl_multi_init();
	if (!t->multi)
		abort(); /* out of memory */
	t->stop = stop;
	t->seam.send = send_req;
	t->seam.arg = t;
	return t;
}

void bot_transport_free(struct bot_transport *t)
{
	if (!t)
		return;
	if (t->h)
		curl_easy_cleanup(t->h);
	curl_multi_cleanup(t->multi);
	free(t);
}

void bot_transport_wake(struct bot_transport *t)
{
	curl_multi_wakeup(t->multi);
}

const struct tg_transport *bot_transport_seam(struct bot_transport *t)
{
	return &t->seam;
}
