/*
 * hc: outbound HTTP on libcurl. A thread-local easy handle is reset and
 * reused for every request of its thread, which keeps libcurl's connection
 * cache (and so kept-alive connections) alive between calls; a pthread key
 * destructor cleans it up when the thread ends. Response bodies are read into
 * a bounded buffer and the transfer is aborted once the bound is passed.
 */
#include "lib/hc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/mem.h"

#define HC_DEFAULT_MAX (4u << 20)

static pthread_once_t hc_once = PTHREAD_ONCE_INIT;
static pthread_key_t hc_key;

static void handle_free(void *h)
{
	curl_easy_cleanup(h);
}

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (pthread_key_create(&hc_key, handle_free) != 0)
		abort();
}

void hc_global_init(void)
{
	pthread_once(&hc_once, global_init);
}

static CURL *handle(void)
{
	CURL *h;

	hc_global_init();
	h = pthread_getspecific(hc_key);
	if (h) {
		curl_easy_reset(h);
		return h;
	}
	h = curl_easy_init();
	if (!h)
		abort(); /* out of memory */
	pthread_setspecific(hc_key, h);
	return h;
}

struct sink {
	struct hc_resp *rs;
	int too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	if (buf_add(&s->rs->body, p, size * n)) {
		s->too_big = 1;
		return 0; /* aborts the transfer */
	}
	return size * n;
}

/* Copy the value of header line "Name: value\r\n" into out when it is name. */
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

static struct curl_slist *slist_add(struct curl_slist *l, const char *s)
{
	struct curl_slist *n = curl_slist_append(l, s);

	if (!n)
		abort(); /* out of memory */
	return n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return atomic_load((const atomic_bool *)arg) ? 1 : 0; /* non-zero aborts */
}

struct hdrs_sink {
	const struct hc_req *rq;
	struct hc_resp *rs;
};

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct hdrs_sink *h = arg;
	struct hc_resp *rs = h->rs;
	size_t len = size * n;

	/* a new status line (after a redirect or 100-continue) starts over */
	if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
		rs->content_type[0] = rs->retry_after[0] = '\0';
		for (size_t i = 0; i < HC_MAX_CAPTURE; i++)
			rs->captured[i][0] = '\0';
	}
	header_value(p, len, "Content-Type", rs->content_type, sizeof(rs->content_type));
	header_value(p, len, "Retry-After", rs->retry_after, sizeof(rs->retry_after));
	for (size_t i = 0; i < HC_MAX_CAPTURE && h->rq->capture[i]; i++)
		header_value(p, len, h->rq->capture[i], rs->captured[i], sizeof(rs->captured[i]));
	return len;
}

int hc_do(const struct hc_req *rq, struct hc_resp *rs, struct err *e)
{
	struct curl_slist *hdrs = NULL;
	struct sink sink = {.rs = rs};
	struct hdrs_sink hsink = {.rq = rq, .rs = rs};
	curl_mime *mime = NULL;
	char ctype[160];
	CURLcode cc;
	CURL *h;
	int rc = -ERR_INVALID;

	buf_init(&rs->body, rq->max_response ? rq->max_response : HC_DEFAULT_MAX);
	rs->status = 0;
	rs->content_type[0] = rs->retry_after[0] = '\0';
	for (size_t i = 0; i < HC_MAX_CAPTURE; i++)
		rs->captured[i][0] = '\0';
	if (!rq->url)
		return err_set(e, ERR_INVALID, "http request without a url");

	h = handle();
	curl_easy_setopt(h, CURLOPT_URL, rq->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, rq->timeout_ms ? rq->timeout_ms : 30000L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_ms ? rq->connect_ms : 5000L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &hsink);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "herald/" HERALD_VERSION);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	if (rq->cancel) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)rq->cancel);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}

	for (size_t i = 0; i < HC_MAX_HEADERS && rq->headers[i]; i++) {
		hdrs = slist_add(hdrs, rq->headers[i]);
	}
	/* libcurl would otherwise wait for "100 Continue" on large bodies */
	hdrs = slist_add(hdrs, "Expect:");

	if (rq->parts) {
		mime = curl_mime_init(h);
		for (size_t i = 0; i < rq->nparts; i++) {
			const struct hc_part *p = &rq->parts[i];
			curl_mimepart *mp = curl_mime_addpart(mime);

			curl_mime_name(mp, p->name);
			curl_mime_data(mp, p->data, p->len);
			if (p->filename) {
				curl_mime_filename(mp, p->filename);
				curl_mime_type(mp, p->content_type ? p->content_type
				                                   : "application/octet-stream");
			}
		}
		curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
	} else if (rq->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		if (rq->content_type) {
			snprintf(ctype, sizeof(ctype), "Content-Type: %s", rq->content_type);
			hdrs = slist_add(hdrs, ctype);
		}
	}
	if (rq->method)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
	{
		long sent = 0;

		curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
		rs->sent = sent > 0;
	}
	if (sink.too_big) {
		rc = err_set(e, ERR_TOO_BIG, "http response larger than %zu bytes", rs->body.max);
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		rc = err_set(e, ERR_TIMEOUT, "http request timed out");
	} else if (cc == CURLE_ABORTED_BY_CALLBACK) {
		rc = err_set(e, ERR_TIMEOUT, "http request cancelled");
	} else if (cc != CURLE_OK) {
		/* curl_easy_strerror never includes the URL */
		rc = err_set(e, ERR_UNAVAILABLE, "http request failed: %s", curl_easy_strerror(cc));
	} else {
		rc = 0;
	}
	/* detach what is freed below from the reused handle */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_MIMEPOST, NULL);
	curl_slist_free_all(hdrs);
	curl_mime_free(mime);
	return rc;
}

void hc_resp_release(struct hc_resp *rs)
{
	buf_release(&rs->body);
}

int hc_urlencode(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
		int rc;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~')
			rc = buf_addch(b, (char)c);
		else if (c == ' ')
			rc = buf_addch(b, '+');
		else
			rc = buf_add(b, esc, 3);
		if (rc)
			return rc;
	}
	return 0;
}
