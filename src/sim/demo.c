/*
 * demo: the demo's one clock (docs/simulator.md, "Demo").
 *
 * In `herald demo` five clocks make one world: Herald's product clock,
 * Telegram's (sim_clock_ms: message dates, and the audience's views, joins
 * and leaves) and the clocks of the Payme driver, the Click driver and the
 * Stripe simulator. POST /control/demo/advance {"days": N} moves them
 * forward together, so a newcomer can see a reminder, a renewal, the grace
 * period or a month of views without waiting a month: first the two drivers
 * (which can be moved back, should Herald refuse), then Herald's clock
 * through its POST /test/clock (the URL is the demo record's herald_url;
 * without one only the simulator's clocks move), then Stripe's, which also
 * renews the subscriptions whose period ended, as Stripe would, sending its
 * webhooks, and last Telegram's. Bad input, or Herald not moving, leaves
 * every clock where it was. GET /control/demo/clock reads them all;
 * /control/clock moves or freezes Telegram's alone. No lock is held while
 * Herald is called.
 */
#include "sim/sim_impl.h"

#include <stdio.h>
#include <string.h>

#include "lib/hc.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "sim/drivers.h"
#include "sim/stripe.h"

#define DEMO_DAYS_MAX     400
#define DEMO_DAY_MS       (24LL * 3600 * 1000)
#define DEMO_URL_MAX      256
#define DEMO_TIMEOUT_MS   10000
#define DEMO_CLOCK_MAX_MS (10LL * 366 * DEMO_DAY_MS)

/*
 * The demo record's herald_url into out: 1 when it is there, 0 when the
 * record has none, -1 when it is not an http(s) URL of printable ASCII.
 */
static int herald_url(struct sim *s, char *out, size_t outsz)
{
	const char *u;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	u = json_string_value(json_object_get(s->demo, "herald_url"));
	if (json_object_get(s->demo, "herald_url") && !u)
		rc = -1;
	if (u) {
		size_t n = strlen(u);

		rc = 1;
		if (n >= outsz || n > DEMO_URL_MAX ||
		    (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0))
			rc = -1;
		for (size_t i = 0; rc == 1 && i < n; i++)
			if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
				rc = -1;
		if (rc == 1)
			snprintf(out, outsz, "%s", u);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/*
 * Herald's product clock: GET <base>/test/clock, or POST it with
 * {"advance_ms": advance_ms} when advance_ms > 0. 0 with *out its answer
 * ({"now_ms", "offset_ms"}), else -1 with why set.
 */
static int herald_clock(const char *base, int64_t advance_ms, json_t **out, char *why, size_t whysz)
{
	char url[DEMO_URL_MAX + 32], body[64];
	struct hc_req rq = {.url = url, .timeout_ms = DEMO_TIMEOUT_MS, .max_response = 4096};
	struct hc_resp rs;
	struct err e = {0};
	json_t *v = NULL;
	int rc;

	*out = NULL;
	snprintf(url, sizeof(url), "%s/test/clock", base);
	if (advance_ms > 0) {
		snprintf(body, sizeof(body), "{\"advance_ms\":%lld}", (long long)advance_ms);
		rq.method = "POST";
		rq.content_type = "application/json";
		rq.body = body;
		rq.body_len = strlen(body);
	}
	rc = hc_do(&rq, &rs, &e);
	if (rc)
		snprintf(why, whysz, "Herald (%s) did not answer: %s", base, e.msg);
	else if (rs.status == 404)
		snprintf(why, whysz,
		         "Herald's product clock cannot be moved: it runs without "
		         "HERALD_TEST_CLOCK=1");
	else if (rs.status != 200)
		snprintf(why, whysz, "Herald's POST /test/clock answered %ld", rs.status);
	else if (json_parse(rs.body.p, rs.body.len, 4, &v, &e) ||
	         !json_is_integer(json_object_get(v, "now_ms")))
		snprintf(why, whysz, "Herald's /test/clock answered no now_ms");
	else {
		*out = v;
		v = NULL;
	}
	json_decref(v);
	hc_resp_release(&rs);
	return *out ? 0 : -1;
}

static int reply(struct http_req *r, int status, json_t *v)
{
	return http_reply_json(r, status, v);
}

static int fail(struct http_req *r, int status, const char *msg)
{
	return http_reply_json(r, status, json_pack("{s:s}", "error", msg));
}

/* The answer's now_ms: Herald's clock when there is one, else Payme's. */
static json_int_t world_now(const json_t *herald, const json_t *payme)
{
	return json_integer_value(json_object_get(herald ? herald : payme, "now_ms"));
}

static int c_demo_advance(struct http_req *r)
{
	struct sim *s = r->ctx;
	char base[DEMO_URL_MAX + 1], why[300];
	json_t *b = NULL, *days, *hc = NULL, *stripe, *payme, *tg;
	int64_t ms;
	int has;

	if (json_parse(r->body.p, r->body.len, SIM_JSON_DEPTH, &b, &(struct err){0}) ||
	    !json_is_object(b)) {
		json_decref(b);
		return fail(r, 400, "the body must be a JSON object: {\"days\": 1-400}");
	}
	days = json_object_get(b, "days");
	if (!json_is_integer(days) || json_integer_value(days) < 1 ||
	    json_integer_value(days) > DEMO_DAYS_MAX) {
		json_decref(b);
		return fail(r, 400, "days must be an integer from 1 to 400");
	}
	ms = json_integer_value(days) * DEMO_DAY_MS;
	json_decref(b);
	has = herald_url(s, base, sizeof(base));
	if (has < 0)
		return fail(r, 409, "the demo record's herald_url is not an http(s) URL");
	if (sim_payme_clock_shift(s->payme, ms))
		return fail(r, 409, "the Payme driver's clock would leave ten years around today");
	if (sim_click_clock_shift(s->click, ms)) {
		if (sim_payme_clock_shift(s->payme, -ms))
			log_error("msg=\"the payme clock could not be moved back\"");
		return fail(r, 409, "the Click driver's clock would leave ten years around today");
	}
	if (has && herald_clock(base, ms, &hc, why, sizeof(why))) {
		/* both moved by ms a moment ago, so moving back stays in range */
		if (sim_payme_clock_shift(s->payme, -ms) || sim_click_clock_shift(s->click, -ms))
			log_error("msg=\"a driver's clock could not be moved back\"");
		return fail(r, 502, why);
	}
	stripe = sim_stripe_advance(s->stripe, ms / 1000);
	payme = sim_payme_clock_json(s->payme);
	pthread_mutex_lock(&s->mu);
	sim_clock_advance(s, ms);
	sim_audience_tick(s);
	tg = sim_clock_json(s);
	pthread_mutex_unlock(&s->mu);
	log_info("msg=\"demo clock advanced\" days=%lld herald=%s renewals=%zu",
	         (long long)(ms / DEMO_DAY_MS), has ? "moved" : "none",
	         json_array_size(json_object_get(stripe, "renewals")));
	return reply(r, 200,
	             json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "days",
	                       (json_int_t)(ms / DEMO_DAY_MS), "now_ms", world_now(hc, payme),
	                       "herald", hc ? hc : json_null(), "payme", payme, "click",
	                       sim_click_clock_json(s->click), "stripe", stripe, "telegram", tg));
}

static int c_demo_clock(struct http_req *r)
{
	struct sim *s = r->ctx;
	char base[DEMO_URL_MAX + 1], why[300] = "";
	json_t *hc = NULL, *payme, *tg, *o;
	int has = herald_url(s, base, sizeof(base));

	if (has < 0)
		snprintf(why, sizeof(why), "the demo record's herald_url is not an http(s) URL");
	else if (has)
		(void)herald_clock(base, 0, &hc, why, sizeof(why));
	payme = sim_payme_clock_json(s->payme);
	pthread_mutex_lock(&s->mu);
	tg = sim_clock_json(s);
	pthread_mutex_unlock(&s->mu);
	o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "now_ms", world_now(hc, payme), "herald",
	              hc ? hc : json_null(), "payme", payme, "click",
	              sim_click_clock_json(s->click), "stripe", sim_stripe_clock_json(s->stripe),
	              "telegram", tg);
	if (why[0])
		json_object_set_new(o, "herald_error", json_string(why));
	return reply(r, 200, o);
}

/* GET /control/clock: Telegram's clock alone. */
static int c_clock_get(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *o;

	pthread_mutex_lock(&s->mu);
	o = sim_clock_json(s);
	pthread_mutex_unlock(&s->mu);
	return reply(r, 200, o);
}

/*
 * POST /control/clock {"advance_s": N} or {"advance_ms": N} moves
 * Telegram's clock forward (what message dates and the audience follow);
 * {"freeze": true} stops it where it is (after the move), false lets it run
 * on from there.
 */
static int c_clock_set(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = NULL, *v, *freeze;
	int64_t ms = 0;

	if (json_parse(r->body.p, r->body.len, SIM_JSON_DEPTH, &b, &(struct err){0}) ||
	    !json_is_object(b)) {
		json_decref(b);
		return fail(r, 400, "the body must be a JSON object");
	}
	freeze = json_object_get(b, "freeze");
	if ((v = json_object_get(b, "advance_s")) && json_is_integer(v))
		ms = json_integer_value(v) * 1000;
	else if ((v = json_object_get(b, "advance_ms")) && json_is_integer(v))
		ms = json_integer_value(v);
	else if (v)
		ms = -1;
	if (ms < 0 || ms > DEMO_CLOCK_MAX_MS || (freeze && !json_is_boolean(freeze)) ||
	    (!v && !freeze)) {
		json_decref(b);
		return fail(r, 400,
		            "give advance_s or advance_ms (0 to ten years; the clock "
		            "only goes forward) and/or freeze (true or false)");
	}
	pthread_mutex_lock(&s->mu);
	sim_clock_advance(s, ms);
	if (freeze)
		sim_clock_freeze(s, json_is_true(freeze));
	sim_audience_tick(s);
	v = sim_clock_json(s);
	pthread_mutex_unlock(&s->mu);
	json_decref(b);
	return reply(r, 200, v);
}

const struct route sim_demo_routes[] = {
    {"GET", "/control/clock", c_clock_get, 0, "Telegram's clock"},
    {"POST", "/control/clock", c_clock_set, 0, "move or freeze Telegram's clock"},
    {"POST", "/control/demo/advance", c_demo_advance, 0,
     "move Herald's, Payme's, Click's and Stripe's clocks forward together"},
    {"GET", "/control/demo/clock", c_demo_clock, 0, "the demo's clocks"},
};
const size_t sim_demo_nroutes = ARRAY_SIZE(sim_demo_routes);
