/*
 * drivers: the Payme and Click drivers of the simulator
 * (docs/sim-payme-click.md).
 *
 * Payme and Click call the merchant, so their simulators play the
 * provider: they POST to Herald's hooks exactly as the providers do, judge
 * the answers, and serve the providers' checkout pages (and, for Click, the
 * Merchant API that Herald calls for refunds). Each driver keeps its state in
 * its own struct behind its own mutex, hung off struct sim by a pointer; no
 * call to the merchant is made with a mutex held.
 *
 * drivers.c holds what both share (drv_*): outbound calls with everything
 * about them captured, a bounded log of calls, base64, HTML pages, the
 * control API's JSON conventions (those of control.c).
 */
#ifndef HERALD_SIM_DRIVERS_H
#define HERALD_SIM_DRIVERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/server.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/str.h"
#include "sim/sim.h"

#define DRV_MAX_CALLS   1000          /* calls remembered per log */
#define DRV_MAX_ANSWER  (64u * 1024)  /* answer bytes kept */
#define DRV_MAX_REQUEST (64u * 1024)  /* request body the control API builds */
#define DRV_MAX_CONTROL (256u * 1024) /* control request bodies */
#define DRV_URL_MAX     1024          /* endpoints and return URLs */
#define DRV_SECRET_MAX  256           /* keys and secrets */
#define DRV_FIELD_MAX   256           /* one order id, one form field */
#define DRV_TIMEOUT_MS  10000         /* default wait for the merchant */

struct sim_payme;
struct sim_click;

/*
 * Create a driver from the command line's options (any may be NULL: unset).
 * On failure *out is NULL and e says which option is wrong.
 */
int sim_payme_new(struct sim_payme **out, const struct sim_payme_opts *o, struct err *e) WUR;
/* Back to the command line's configuration; calls and the clock forgotten. */
void sim_payme_reset(struct sim_payme *p);
void sim_payme_free(struct sim_payme *p);
/* The driver's clock as GET /control/payme/clock shows it (a new object). */
json_t *sim_payme_clock_json(struct sim_payme *p);
/* Move the driver's clock by ms (either way). -ERR_INVALID, with nothing
 * moved, when it would leave the ten years around the real clock. */
int sim_payme_clock_shift(struct sim_payme *p, int64_t ms) WUR;
extern const struct route sim_payme_routes[];
extern const size_t sim_payme_nroutes;

#define SIM_PAYME_LINK_MAX 768 /* decoded checkout parameters */

/* The parameters of a Payme checkout link (protocols.md C.8). */
struct sim_payme_link {
	char m[DRV_FIELD_MAX + 1];
	json_t *account; /* the ac.* fields as strings; owned */
	int64_t amount;  /* a, tiyin */
	char lang[8];
	char ret[DRV_URL_MAX + 1]; /* c, when it is an http(s) URL */
	int code;                  /* a checkout error (-31601, -31610), or 0 */
	char err[160];
};

/*
 * Parse the base64 part of a checkout link (standard or URL-safe, padded or
 * not) into k: "key=value" pairs joined by ';' (m, ac.<field>, a, l, c;
 * others ignored). Pure. On a bad link k->code and k->err say why; the
 * merchant is not judged here. Release k in any case.
 */
void sim_payme_link_parse(struct str b64, struct sim_payme_link *k);
void sim_payme_link_release(struct sim_payme_link *k);

int sim_click_new(struct sim_click **out, const struct sim_click_opts *o, struct err *e) WUR;
void sim_click_reset(struct sim_click *c);
void sim_click_free(struct sim_click *c);
/* As sim_payme_clock_json and sim_payme_clock_shift, for Click's clock. */
json_t *sim_click_clock_json(struct sim_click *c);
int sim_click_clock_shift(struct sim_click *c, int64_t ms) WUR;
extern const struct route sim_click_routes[];
extern const size_t sim_click_nroutes;

/*
 * `herald sim` options of the drivers: when a is one of them (it takes the
 * value v), store v in o and return true.
 */
bool sim_drivers_opt(struct sim_opts *o, const char *a, const char *v);

/* ---- drivers.c ---- */

/* One HTTP call to the merchant and what came back. */
struct drv_call {
	const char *method; /* "POST" unless told */
	const char *url;
	const char *content_type;
	const char *headers[4]; /* "Name: value", NULL terminated */
	const char *body;
	size_t body_len;
	long timeout_ms;
	/* the outcome */
	long status; /* 0: no answer */
	struct buf answer;
	char error[sizeof(((struct err *)0)->msg)]; /* why no answer came, "" */
	int64_t elapsed_ms;
	json_t *json; /* the answer parsed, when it is JSON; owned */
};

/* Perform the call (never fails: an error is recorded in c). */
void drv_call_do(struct drv_call *c);
void drv_call_release(struct drv_call *c);
/* Add status, answer (the text, or answer_base64 when not UTF-8), json,
 * error and elapsed_ms to o. */
void drv_call_json(const struct drv_call *c, json_t *o);
/* The answer bytes of a and b are identical, and so are the statuses. */
bool drv_call_same(const struct drv_call *a, const struct drv_call *b);

/* A bounded log of JSON records, oldest dropped first. */
struct drv_log {
	json_t *items; /* an array */
	int64_t seq;   /* of the last record added */
};

void drv_log_init(struct drv_log *l);
void drv_log_release(struct drv_log *l);
/* Add rec (stolen) with "seq" set; returns the seq. */
int64_t drv_log_add(struct drv_log *l, json_t *rec);
/* {"calls": [records with seq > after], "last_seq": N}. */
json_t *drv_log_json(const struct drv_log *l, int64_t after);

/*
 * Decode in (standard or URL-safe alphabet, padded or not, not mixed with
 * anything else) into out; *outlen bytes written, out NUL terminated.
 * -ERR_INVALID for any other character or a bad length, -ERR_TOO_BIG when
 * outsz is too small.
 */
int drv_b64_decode(struct str in, char *out, size_t outsz, size_t *outlen) WUR;

/* "50000.00" from 5000000 (tiyin to so'm with two decimals). */
void drv_som(int64_t tiyin, char *out, size_t outsz);
/* Parse so'm "N", "N.N" or "N.NN" into tiyin; -ERR_INVALID otherwise. */
int drv_som_parse(struct str s, int64_t *tiyin) WUR;

/* s is an http:// or https:// URL of printable ASCII, at most DRV_URL_MAX. */
bool drv_url_ok(const char *s);
/* s is printable UTF-8 of at most max bytes, without control characters. */
bool drv_text_ok(const char *s, size_t max);

/* HTML */
int drv_html(struct buf *b, const char *s) WUR; /* s escaped */
/* Answer an HTML page: a header with title, then the body html (trusted). */
int drv_page(struct http_req *r, int status, const char *title, const char *html);
/* The value of name in an application/x-www-form-urlencoded body, copied
 * into out (percent-decoded); false when absent or too long. */
bool drv_form_get(struct str body, const char *name, char *out, size_t outsz);

/* Control API conventions (control.c): JSON in, JSON out, {"error": ...}. */
int drv_reply(struct http_req *r, json_t *v);
int drv_fail(struct http_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The body as a JSON object ({} when empty); NULL after answering 400. */
json_t *drv_body(struct http_req *r);
/* An integer field (JSON integer or digits): 0 read, 1 absent, -1 malformed. */
int drv_get_i64(const json_t *o, const char *key, int64_t *v);
/* A string field, NULL when absent or not a string. */
const char *drv_get_str(const json_t *o, const char *key);
/* A bool field: 0 read, 1 absent, -1 not a boolean. */
int drv_get_bool(const json_t *o, const char *key, bool *v);

/* A step of a scenario report. */
json_t *drv_step(const char *step, const char *what, json_t *request, const struct drv_call *c,
                 const char *expected, bool pass, const char *why);
/* {"pass": all passed, "passed": n, "failed": n, "steps": steps (stolen)}. */
json_t *drv_report(json_t *steps);

#endif
