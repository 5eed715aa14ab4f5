/*
 * hc: outbound HTTP client on libcurl. Each thread keeps its own easy handle
 * (and with it libcurl's connection cache), so calls from one thread reuse
 * kept-alive connections to the same host. Bodies are bounded; URLs may carry
 * secrets (the Bot API token), so no error message contains the URL.
 */
#ifndef HERALD_HC_H
#define HERALD_HC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/err.h"

#define HC_MAX_HEADERS 16
#define HC_MAX_CAPTURE 4   /* response headers a request may ask to keep */
#define HC_CAPTURE_MAX 128 /* bytes of a captured value kept, NUL included */

/* One multipart/form-data part: a field (filename NULL) or a file. */
struct hc_part {
	const char *name;
	const char *data; /* bytes, not necessarily NUL terminated */
	size_t len;
	const char *filename;     /* non-NULL makes this part a file upload */
	const char *content_type; /* of a file part; NULL: application/octet-stream */
};

struct hc_req {
	const char *method; /* "GET", "POST", ...; NULL: POST with a body, else GET */
	const char *url;
	const char *content_type; /* of body; ignored with parts */
	const char *body;
	size_t body_len;
	const char *headers[HC_MAX_HEADERS]; /* "Name: value", NULL terminated */
	const struct hc_part *parts;         /* non-NULL: a multipart body */
	size_t nparts;
	long timeout_ms;     /* whole request; 0: 30 s */
	long connect_ms;     /* 0: 5 s */
	size_t max_response; /* body bytes kept at most; 0: 4 MiB */
	/* When it becomes true the request is abandoned within about a second
	 * (libcurl's progress callback); NULL: never. */
	const atomic_bool *cancel;
	/* Response headers to keep (names, matched without regard to case;
	 * NULL terminated when fewer): their values land in hc_resp.captured
	 * at the same index. */
	const char *capture[HC_MAX_CAPTURE];
};

struct hc_resp {
	long status;     /* HTTP status; 0 when no response arrived */
	struct buf body; /* initialised by hc_do; release with hc_resp_release */
	char content_type[128];
	char retry_after[32]; /* the Retry-After header, "" when absent */
	bool sent;            /* some of the request reached a server (it may have acted) */
	/* the values of hc_req.capture, "" when absent (cut to fit) */
	char captured[HC_MAX_CAPTURE][HC_CAPTURE_MAX];
};

/* Once per process, before threads start (idempotent, thread-safe). */
void hc_global_init(void);

/*
 * Perform rq and fill rs (any status is a success: the caller judges it).
 * Errors: -ERR_TIMEOUT when the time ran out or the request was cancelled
 * (rq->cancel), -ERR_UNAVAILABLE when no
 * connection could be made or it broke, -ERR_TOO_BIG when the response body
 * exceeds max_response, -ERR_INVALID for a malformed request. On failure rs
 * holds whatever arrived (release it anyway).
 */
int hc_do(const struct hc_req *rq, struct hc_resp *rs, struct err *e) WUR;
void hc_resp_release(struct hc_resp *rs);

/* Append s to b percent-encoded for application/x-www-form-urlencoded. */
int hc_urlencode(struct buf *b, const char *s, size_t len) WUR;

#endif
