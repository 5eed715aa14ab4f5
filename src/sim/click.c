/*
 * click: the Click driver (protocols.md D; docs/sim-payme-click.md).
 *
 * Click calls the merchant, so this plays Click's SHOP API: Prepare
 * (action 0) to the prepare URL and Complete (action 1) to the complete
 * URL, as application/x-www-form-urlencoded with every field a string, the
 * amount in so'm as Click writes it ("50000.00", or "50000" when so
 * configured), sign_time from its own clock in Tashkent time and
 * sign_string = md5 over the raw strings (D.4, billing/sig). click_trans_id
 * and click_paydoc_id grow by one per Prepare. The control API sends single
 * requests with any field overridden, pays, and runs the 15 scenarios of
 * Click's Postman set (D.7), each step judged.
 *
 * It also serves what Click serves: the payment page (D.8,
 * /click/services/pay) and the Merchant API calls Herald makes for refunds
 * (D.9: payment status and reversal), with the Auth header checked against
 * the secret and the clock. Payment ids there are the click_trans_id values
 * this driver used; each is remembered with its state.
 *
 * Configuration, payments and logs are guarded by mu; no call to the
 * merchant is made with it held.
 */
#include "sim/drivers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/sig.h"
#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/hc.h"
#include "lib/mem.h"
#include "sim/sim_impl.h"

#define CLICK_MAX_PAYS     10000
#define CLICK_AMOUNT_MAX   1000000000000000LL /* tiyin */
#define CLICK_OFFSET_MAX   (10LL * 366 * 86400000)
#define CLICK_TASHKENT_MIN 300 /* UTC+05:00, no daylight saving */
#define CLICK_CANCEL_ERROR -5017
#define CLICK_ID_MAX       24 /* digits of an id, with room */
#define CLICK_AMOUNT_LEN   32

/* A payment attempt: one click_trans_id. */
struct click_pay {
	int64_t trans_id, paydoc_id;
	char order[DRV_FIELD_MAX + 1];
	char amount[CLICK_AMOUNT_LEN];
	char prepare_id[CLICK_ID_MAX]; /* the merchant's, "" until it gave one */
	int status; /* payment_status: 0 created, 1 prepared, 2 paid, -1 failed */
	int64_t at_ms, reversed_ms;
};

struct sim_click {
	pthread_mutex_t mu;
	char *prepare_url, *complete_url, *secret, *service_id, *merchant_id; /* NULL: unset */
	char *prepare0, *complete0, *secret0, *service0, *merchant0;          /* command line */
	char *merchant_user_id; /* NULL: any for the Merchant API */
	bool amount_int;        /* "50000" rather than "50000.00" */
	long timeout_ms;
	int64_t tolerance_s; /* of the Merchant API's Auth timestamp */
	int utc_offset_min;  /* of sign_time */
	int64_t offset_ms;   /* the clock: real time plus this */
	int api_fail_status; /* the next api_fail_count Merchant API calls fail so */
	int64_t api_fail_count;
	int64_t next_trans, next_paydoc;
	struct click_pay *pays; /* oldest first */
	size_t npays;
	struct drv_log calls, api;
};

/* A flow's copy of the configuration. */
struct ck {
	struct sim_click *c;
	char prepare_url[DRV_URL_MAX + 1], complete_url[DRV_URL_MAX + 1];
	char secret[DRV_SECRET_MAX + 1];
	char service_id[CLICK_ID_MAX], merchant_id[CLICK_ID_MAX];
	bool amount_int;
	long timeout_ms;
	int utc_offset_min;
	int64_t offset_ms;
};

/* One request and its answer. */
struct ck_x {
	bool complete;
	bool repeat;
	json_t *fields; /* name -> string, in the order sent; owned */
	struct buf req;
	struct drv_call c;
};

static char *dup_opt(const char *v)
{
	return v ? xstrdup(v) : NULL;
}

static bool digits(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	return n && n <= max && strspn(s, "0123456789") == n;
}

static int64_t now_ms(const struct ck *k)
{
	return clock_now_ms() + k->offset_ms;
}

/* Copy the configuration for a flow; -ERR_CONFLICT when a URL, the secret or
 * the service id is not set. Release k with ck_release (it holds the secret). */
static int ck_load(struct sim_click *c, struct ck *k)
{
	int rc = 0;

	memset(k, 0, sizeof(*k));
	k->c = c;
	pthread_mutex_lock(&c->mu);
	if (!c->prepare_url || !c->complete_url || !c->secret || !c->service_id) {
		rc = -ERR_CONFLICT;
	} else {
		snprintf(k->prepare_url, sizeof(k->prepare_url), "%s", c->prepare_url);
		snprintf(k->complete_url, sizeof(k->complete_url), "%s", c->complete_url);
		snprintf(k->secret, sizeof(k->secret), "%s", c->secret);
		snprintf(k->service_id, sizeof(k->service_id), "%s", c->service_id);
		snprintf(k->merchant_id, sizeof(k->merchant_id), "%s",
		         c->merchant_id ? c->merchant_id : "");
		k->amount_int = c->amount_int;
		k->timeout_ms = c->timeout_ms;
		k->utc_offset_min = c->utc_offset_min;
		k->offset_ms = c->offset_ms;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static void ck_release(struct ck *k)
{
	memset(k->secret, 0, sizeof(k->secret));
}

/* Click's amount for tiyin: so'm with two decimals, or whole so'm when
 * configured and the amount has no tiyin. */
static void amount_str(const struct ck *k, int64_t tiyin, char out[CLICK_AMOUNT_LEN])
{
	if (k->amount_int && tiyin % 100 == 0)
		snprintf(out, CLICK_AMOUNT_LEN, "%lld", (long long)(tiyin / 100));
	else
		drv_som(tiyin, out, CLICK_AMOUNT_LEN);
}

/* sign_time: "YYYY-MM-DD HH:mm:ss" in Click's local time. */
static void sign_time(const struct ck *k, char out[24])
{
	time_t t = (time_t)(now_ms(k) / 1000 + (int64_t)k->utc_offset_min * 60);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 24, "%Y-%m-%d %H:%M:%S", &tm);
}

/* ---- payments ---- */

static struct click_pay *pay_find(struct sim_click *c, int64_t trans_id)
{
	for (size_t i = c->npays; i-- > 0;)
		if (c->pays[i].trans_id == trans_id)
			return &c->pays[i];
	return NULL;
}

/* A new payment attempt for order and amount; its ids into *trans, *paydoc. */
static void pay_new(struct ck *k, const char *order, const char *amount, int64_t *trans,
                    int64_t *paydoc)
{
	struct sim_click *c = k->c;
	struct click_pay *p;

	pthread_mutex_lock(&c->mu);
	if (c->npays == CLICK_MAX_PAYS) {
		memmove(c->pays, c->pays + 1, (c->npays - 1) * sizeof(*c->pays));
		c->npays--;
	}
	c->pays = xrealloc(c->pays, (c->npays + 1) * sizeof(*c->pays));
	p = &c->pays[c->npays++];
	memset(p, 0, sizeof(*p));
	p->trans_id = *trans = c->next_trans++;
	p->paydoc_id = *paydoc = c->next_paydoc++;
	snprintf(p->order, sizeof(p->order), "%s", order);
	snprintf(p->amount, sizeof(p->amount), "%s", amount);
	p->at_ms = now_ms(k);
	pthread_mutex_unlock(&c->mu);
}

static const char *fstr(const json_t *fields, const char *name)
{
	const char *v = json_string_value(json_object_get(fields, name));

	return v ? v : "";
}

/* An id in an answer as a string (an integer or a string of digits). */
static bool id_of(const json_t *v, char out[CLICK_ID_MAX])
{
	if (json_is_integer(v)) {
		snprintf(out, CLICK_ID_MAX, "%lld", (long long)json_integer_value(v));
		return true;
	}
	if (json_is_string(v) && digits(json_string_value(v), CLICK_ID_MAX - 1)) {
		snprintf(out, CLICK_ID_MAX, "%s", json_string_value(v));
		return true;
	}
	return false;
}

/* The merchant's error in an answer (an integer, or a string of one). */
static bool error_of(const json_t *ans, int64_t *code)
{
	json_t *v = json_object_get(ans, "error");

	if (json_is_integer(v)) {
		*code = json_integer_value(v);
		return true;
	}
	return json_is_string(v) &&
	       !str_to_i64(str_c(json_string_value(v)), INT64_MIN, INT64_MAX, code);
}

/* What an exchange tells about its payment. */
static void pay_update(struct ck *k, const struct ck_x *x)
{
	struct sim_click *c = k->c;
	struct click_pay *p;
	int64_t trans, sent_err, ans_err;
	bool answered = x->c.status == 200 && error_of(x->c.json, &ans_err);
	char pid[CLICK_ID_MAX];

	if (str_to_i64(str_c(fstr(x->fields, "click_trans_id")), 1, INT64_MAX, &trans) ||
	    str_to_i64(str_c(fstr(x->fields, "error")), INT64_MIN, INT64_MAX, &sent_err))
		return;
	pthread_mutex_lock(&c->mu);
	p = pay_find(c, trans);
	if (p && !x->complete && answered) {
		if (ans_err == 0 && id_of(json_object_get(x->c.json, "merchant_prepare_id"), pid)) {
			memcpy(p->prepare_id, pid, sizeof(pid));
			if (p->status == 0)
				p->status = 1;
		} else if (ans_err != 0 && p->status == 0) {
			p->status = -1;
		}
	} else if (p && x->complete) {
		if (sent_err < 0)
			p->status = -1;
		else if (answered && (ans_err == 0 || ans_err == -4) && p->status >= 0)
			p->status = 2;
	}
	pthread_mutex_unlock(&c->mu);
}

/* ---- requests ---- */

/* The fields of a request before signing, in Click's order. */
static json_t *fields_new(const struct ck *k, bool complete, int64_t trans, int64_t paydoc,
                          const char *order, const char *prepare_id, const char *amount,
                          int64_t error, const char *note)
{
	json_t *f = json_object();
	char num[CLICK_ID_MAX], st[24];

	snprintf(num, sizeof(num), "%lld", (long long)trans);
	json_object_set_new(f, "click_trans_id", json_string(num));
	json_object_set_new(f, "service_id", json_string(k->service_id));
	snprintf(num, sizeof(num), "%lld", (long long)paydoc);
	json_object_set_new(f, "click_paydoc_id", json_string(num));
	json_object_set_new(f, "merchant_trans_id", json_string(order));
	if (complete)
		json_object_set_new(f, "merchant_prepare_id", json_string(prepare_id));
	json_object_set_new(f, "amount", json_string(amount));
	json_object_set_new(f, "action", json_string(complete ? "1" : "0"));
	snprintf(num, sizeof(num), "%lld", (long long)error);
	json_object_set_new(f, "error", json_string(num));
	json_object_set_new(f, "error_note", json_string(note));
	sign_time(k, st);
	json_object_set_new(f, "sign_time", json_string(st));
	return f;
}

/*
 * Apply overrides (a string sets a field, null removes it), then add
 * sign_string over the final strings (with a wrong secret when bad_sign),
 * unless overrides name sign_string themselves.
 */
static void fields_sign(const struct ck *k, json_t *f, bool complete, const json_t *overrides,
                        bool bad_sign)
{
	const char *name;
	json_t *v;
	struct sig_click sc;
	char sign[CRYPTO_MD5_HEX], wrong[DRV_SECRET_MAX + 8];

	json_object_foreach((json_t *)overrides, name, v)
	{
		if (strcmp(name, "sign_string") == 0)
			continue;
		if (json_is_null(v))
			json_object_del(f, name);
		else
			json_object_set(f, name, v);
	}
	v = json_object_get(overrides, "sign_string");
	if (v) {
		if (!json_is_null(v))
			json_object_set(f, "sign_string", v);
		return;
	}
	sc.click_trans_id = str_c(fstr(f, "click_trans_id"));
	sc.service_id = str_c(fstr(f, "service_id"));
	sc.merchant_trans_id = str_c(fstr(f, "merchant_trans_id"));
	sc.merchant_prepare_id = str_c(fstr(f, "merchant_prepare_id"));
	sc.amount = str_c(fstr(f, "amount"));
	sc.action = str_c(fstr(f, "action"));
	sc.sign_time = str_c(fstr(f, "sign_time"));
	snprintf(wrong, sizeof(wrong), "%s-wrong", k->secret);
	if (complete)
		sig_click_complete(&sc, bad_sign ? wrong : k->secret, sign);
	else
		sig_click_prepare(&sc, bad_sign ? wrong : k->secret, sign);
	memset(wrong, 0, sizeof(wrong));
	json_object_set_new(f, "sign_string", json_string(sign));
}

static void x_release(struct ck_x *x)
{
	json_decref(x->fields);
	buf_release(&x->req);
	drv_call_release(&x->c);
}

static json_t *x_request(const struct ck_x *x)
{
	return json_pack("{s:O, s:s%}", "fields", x->fields, "body", x->req.p, x->req.len);
}

static void x_send(struct ck *k, struct ck_x *x)
{
	json_t *rec;

	x->c.method = "POST";
	x->c.url = x->complete ? k->complete_url : k->prepare_url;
	x->c.content_type = "application/x-www-form-urlencoded";
	x->c.body = x->req.p;
	x->c.body_len = x->req.len;
	x->c.timeout_ms = k->timeout_ms;
	drv_call_do(&x->c);
	pay_update(k, x);
	rec = json_pack("{s:I, s:s, s:s, s:b, s:O, s:s%}", "at_ms", (json_int_t)now_ms(k), "action",
	                x->complete ? "complete" : "prepare", "url", x->c.url, "repeat", x->repeat,
	                "fields", x->fields, "request", x->req.p, x->req.len);
	drv_call_json(&x->c, rec);
	pthread_mutex_lock(&k->c->mu);
	drv_log_add(&k->c->calls, rec);
	pthread_mutex_unlock(&k->c->mu);
}

/* Encode the signed fields (stolen) and send them. 0, or -ERR_TOO_BIG when
 * the form would be too long (nothing sent). */
static int x_call(struct ck *k, struct ck_x *x, bool complete, json_t *fields)
{
	const char *name;
	json_t *v;
	int rc = 0;

	memset(x, 0, sizeof(*x));
	x->complete = complete;
	x->fields = fields;
	buf_init(&x->req, DRV_MAX_REQUEST);
	json_object_foreach(fields, name, v)
	{
		const char *s = json_string_value(v) ? json_string_value(v) : "";

		if (!rc && x->req.len)
			rc = buf_addch(&x->req, '&');
		if (!rc)
			rc = hc_urlencode(&x->req, name, strlen(name));
		if (!rc)
			rc = buf_addch(&x->req, '=');
		if (!rc)
			rc = hc_urlencode(&x->req, s, strlen(s));
	}
	if (rc)
		return rc;
	x_send(k, x);
	return 0;
}

static void x_repeat(struct ck *k, struct ck_x *x, const struct ck_x *first)
{
	memset(x, 0, sizeof(*x));
	x->complete = first->complete;
	x->repeat = true;
	x->fields = json_deep_copy(first->fields);
	buf_init(&x->req, first->req.max);
	if (buf_add(&x->req, first->req.p, first->req.len))
		abort();
	x_send(k, x);
}

/* A Prepare of a new payment attempt. */
static void prepare(struct ck *k, struct ck_x *x, const char *order, const char *amount,
                    int64_t error, bool bad_sign)
{
	int64_t trans, paydoc;
	json_t *f;

	pay_new(k, order, amount, &trans, &paydoc);
	f = fields_new(k, false, trans, paydoc, order, "", amount, error,
	               error ? "Error" : "Success");
	fields_sign(k, f, false, NULL, bad_sign);
	if (x_call(k, x, false, f))
		abort(); /* the order and amount were bounded */
}

/* A Complete of the attempt that prep prepared; amount NULL: prep's. */
static void complete(struct ck *k, struct ck_x *x, const struct ck_x *prep, const char *prepare_id,
                     const char *amount, int64_t error, bool bad_sign)
{
	int64_t trans = 0, paydoc = 0;
	json_t *f;

	if (str_to_i64(str_c(fstr(prep->fields, "click_trans_id")), 0, INT64_MAX, &trans) ||
	    str_to_i64(str_c(fstr(prep->fields, "click_paydoc_id")), 0, INT64_MAX, &paydoc))
		trans = paydoc = 0;
	f = fields_new(k, true, trans, paydoc, fstr(prep->fields, "merchant_trans_id"), prepare_id,
	               amount ? amount : fstr(prep->fields, "amount"), error,
	               error == CLICK_CANCEL_ERROR ? "Transaction cancelled"
	               : error                     ? "Error"
	                                           : "Success");
	fields_sign(k, f, true, NULL, bad_sign);
	if (x_call(k, x, true, f))
		abort();
}

/* ---- judging answers ---- */

struct cx {
	int64_t error;
	bool success; /* error 0: the ids must be echoed and ours given */
};

static bool judge(const struct ck_x *x, const struct cx *e, char *why, size_t n)
{
	const json_t *a = x->c.json;
	int64_t code;
	char want[CLICK_ID_MAX], got[CLICK_ID_MAX];

	if (x->c.error[0]) {
		snprintf(why, n, "no answer: %.160s", x->c.error);
		return false;
	}
	if (x->c.status != 200) {
		snprintf(why, n, "HTTP %ld; Click expects 200 (D.1)", x->c.status);
		return false;
	}
	if (!json_is_object(a)) {
		snprintf(why, n, "the answer is not a JSON object");
		return false;
	}
	if (!error_of(a, &code)) {
		snprintf(why, n, "no integer error in the answer");
		return false;
	}
	if (code != e->error) {
		snprintf(why, n, "error %lld, not %lld", (long long)code, (long long)e->error);
		return false;
	}
	if (!json_is_string(json_object_get(a, "error_note"))) {
		snprintf(why, n, "no error_note string");
		return false;
	}
	if (!e->success)
		return true;
	snprintf(want, sizeof(want), "%s", fstr(x->fields, "click_trans_id"));
	if (!id_of(json_object_get(a, "click_trans_id"), got) || strcmp(want, got) != 0) {
		snprintf(why, n, "click_trans_id is not echoed");
		return false;
	}
	if (!json_is_string(json_object_get(a, "merchant_trans_id")) ||
	    strcmp(json_string_value(json_object_get(a, "merchant_trans_id")),
	           fstr(x->fields, "merchant_trans_id")) != 0) {
		snprintf(why, n, "merchant_trans_id is not echoed");
		return false;
	}
	if (!x->complete && !id_of(json_object_get(a, "merchant_prepare_id"), got)) {
		snprintf(why, n, "no merchant_prepare_id (an integer)");
		return false;
	}
	if (x->complete) {
		json_t *cid = json_object_get(a, "merchant_confirm_id");

		if (!cid || (!json_is_null(cid) && !id_of(cid, got))) {
			snprintf(why, n, "no merchant_confirm_id (an integer or null)");
			return false;
		}
	}
	return true;
}

static bool step(json_t *steps, const char *label, const char *what, const struct ck_x *x,
                 const struct cx *e)
{
	char expected[160], why[200] = "";
	bool pass = judge(x, e, why, sizeof(why));
	json_t *st;

	if (e->success)
		snprintf(expected, sizeof(expected),
		         "error 0 with click_trans_id, merchant_trans_id "
		         "and %s",
		         x->complete ? "merchant_confirm_id" : "merchant_prepare_id");
	else
		snprintf(expected, sizeof(expected), "error %lld", (long long)e->error);
	st = drv_step(label, what, x_request(x), &x->c, expected, pass, why);
	json_object_set_new(st, "action", json_string(x->complete ? "complete" : "prepare"));
	json_object_set_new(st, "repeat", json_boolean(x->repeat));
	json_array_append_new(steps, st);
	return pass;
}

/* The merchant_prepare_id of a Prepare's answer, "" when none. */
static void prepare_id(const struct ck_x *x, char out[CLICK_ID_MAX])
{
	if (!id_of(json_object_get(x->c.json, "merchant_prepare_id"), out))
		out[0] = '\0';
}

/* ---- flows ---- */

/* Prepare, Complete with error 0 and, when asked, the Complete again. */
static void flow_pay(struct ck *k, const char *order, const char *amount, bool repeat,
                     json_t *steps, json_t *rep)
{
	struct ck_x p, c, c2;
	char pid[CLICK_ID_MAX];
	bool ok;

	prepare(k, &p, order, amount, 0, false);
	ok = step(steps, "1", "prepare", &p, &(struct cx){.error = 0, .success = true});
	prepare_id(&p, pid);
	if (rep) {
		json_object_set_new(rep, "click_trans_id",
		                    json_string(fstr(p.fields, "click_trans_id")));
		json_object_set_new(rep, "merchant_prepare_id", json_string(pid));
	}
	if (ok) {
		complete(k, &c, &p, pid, NULL, 0, false);
		ok = step(steps, "2", "complete: the money was debited", &c,
		          &(struct cx){.error = 0, .success = true});
		if (repeat) {
			x_repeat(k, &c2, &c);
			step(steps, "3", "complete again (a retry): already paid", &c2,
			     &(struct cx){.error = -4});
			x_release(&c2);
		}
		x_release(&c);
	}
	x_release(&p);
}

/* Prepare, then Complete with Click's error -5017 (the payer cancelled). */
static void flow_cancel(struct ck *k, const char *order, const char *amount, json_t *steps)
{
	struct ck_x p, c;
	char pid[CLICK_ID_MAX];

	prepare(k, &p, order, amount, 0, false);
	step(steps, "1", "prepare", &p, &(struct cx){.error = 0, .success = true});
	prepare_id(&p, pid);
	complete(k, &c, &p, pid, NULL, CLICK_CANCEL_ERROR, false);
	step(steps, "2", "complete with error -5017: cancelled", &c, &(struct cx){.error = -9});
	x_release(&c);
	x_release(&p);
}

struct corder {
	char id[DRV_FIELD_MAX + 1];
	char amount[CLICK_AMOUNT_LEN];
	int64_t tiyin; /* -1 when the amount was given as a string */
};

/* Click's Postman set (D.7), in order. */
static void flow_postman(struct ck *k, const struct corder o[3], const char *unknown, json_t *steps)
{
	struct ck_x p1, x, p2, p3;
	char pid[CLICK_ID_MAX], wrong[CLICK_AMOUNT_LEN];
	int64_t wt = o[0].tiyin == 30000 ? 40000 : 30000;

	amount_str(k, wt, wrong);
	if (strcmp(wrong, o[0].amount) == 0)
		amount_str(k, 40000, wrong);
	prepare(k, &x, o[0].id, o[0].amount, 0, true);
	step(steps, "1", "prepare with a bad sign", &x, &(struct cx){.error = -1});
	x_release(&x);
	prepare(k, &x, unknown, o[0].amount, 0, false);
	step(steps, "2", "prepare for an unknown order", &x, &(struct cx){.error = -5});
	x_release(&x);
	prepare(k, &p1, o[0].id, o[0].amount, 0, false);
	step(steps, "3", "prepare", &p1, &(struct cx){.error = 0, .success = true});
	prepare_id(&p1, pid);
	complete(k, &x, &p1, pid, NULL, 0, true);
	step(steps, "4", "complete with a bad sign", &x, &(struct cx){.error = -1});
	x_release(&x);
	complete(k, &x, &p1, pid, wrong, 0, false);
	step(steps, "5", "complete with a wrong amount", &x, &(struct cx){.error = -2});
	x_release(&x);
	complete(k, &x, &p1, pid, NULL, 0, false);
	step(steps, "6", "complete", &x, &(struct cx){.error = 0, .success = true});
	x_release(&x);
	complete(k, &x, &p1, pid, NULL, 0, false);
	step(steps, "7", "complete again: already paid", &x, &(struct cx){.error = -4});
	x_release(&x);
	complete(k, &x, &p1, pid, NULL, CLICK_CANCEL_ERROR, false);
	step(steps, "8", "click error -5017 on the paid payment", &x, &(struct cx){.error = -9});
	x_release(&x);
	x_release(&p1);

	prepare(k, &p2, o[1].id, o[1].amount, 0, false);
	step(steps, "9", "prepare", &p2, &(struct cx){.error = 0, .success = true});
	prepare_id(&p2, pid);
	complete(k, &x, &p2, "999999999", NULL, 0, false);
	step(steps, "10", "complete with merchant_prepare_id 999999999", &x,
	     &(struct cx){.error = -6});
	x_release(&x);
	complete(k, &x, &p2, pid, NULL, 0, false);
	step(steps, "11", "complete", &x, &(struct cx){.error = 0, .success = true});
	x_release(&x);
	x_release(&p2);

	prepare(k, &p3, o[2].id, o[2].amount, 0, false);
	step(steps, "12", "prepare", &p3, &(struct cx){.error = 0, .success = true});
	prepare_id(&p3, pid);
	complete(k, &x, &p3, pid, NULL, CLICK_CANCEL_ERROR, false);
	step(steps, "13", "complete with click error -5017: cancelled", &x,
	     &(struct cx){.error = -9});
	x_release(&x);
	complete(k, &x, &p3, pid, NULL, CLICK_CANCEL_ERROR, false);
	step(steps, "14", "cancel again", &x, &(struct cx){.error = -9});
	x_release(&x);
	complete(k, &x, &p3, pid, NULL, 0, false);
	step(steps, "15", "complete a cancelled payment", &x, &(struct cx){.error = -9});
	x_release(&x);
	x_release(&p3);
}

/* ---- the control API ---- */

static struct sim_click *click_of(struct http_req *r)
{
	return ((struct sim *)r->ctx)->click;
}

static int load(struct http_req *r, struct ck *k)
{
	if (!ck_load(click_of(r), k))
		return 0;
	drv_fail(r, 409,
	         "the click URLs, secret or service id are not set (--click-prepare, "
	         "--click-complete, --click-secret, --click-service-id or "
	         "POST /control/click/config)");
	return -1;
}

/*
 * An order of a control body: {"order_id" (or "merchant_trans_id", "id"),
 * "amount_tiyin": 5000000} or {"...", "amount": "50000.00"}. 0, or -1 after
 * answering 400.
 */
static int corder_read(struct http_req *r, const struct ck *k, const json_t *o, const char *what,
                       struct corder *out)
{
	const char *id = drv_get_str(o, "order_id"), *am = drv_get_str(o, "amount");

	if (!id)
		id = drv_get_str(o, "merchant_trans_id");
	if (!id)
		id = drv_get_str(o, "id");
	if (!json_is_object(o) || !id || !*id || !drv_text_ok(id, DRV_FIELD_MAX)) {
		drv_fail(r, 400, "%s: order_id (1-%d printable bytes) is required", what,
		         DRV_FIELD_MAX);
		return -1;
	}
	snprintf(out->id, sizeof(out->id), "%s", id);
	out->tiyin = -1;
	if (drv_get_i64(o, "amount_tiyin", &out->tiyin) == 0 && out->tiyin > 0 &&
	    out->tiyin <= CLICK_AMOUNT_MAX) {
		amount_str(k, out->tiyin, out->amount);
		return 0;
	}
	if (am && *am && drv_text_ok(am, CLICK_AMOUNT_LEN - 1) &&
	    !json_object_get(o, "amount_tiyin")) {
		snprintf(out->amount, sizeof(out->amount), "%s", am);
		if (drv_som_parse(str_c(am), &out->tiyin))
			out->tiyin = -1;
		return 0;
	}
	drv_fail(r, 400, "%s: amount_tiyin (a positive integer) or amount (a string) is required",
	         what);
	return -1;
}

static json_t *config_json(struct sim_click *c)
{
	json_t *o;

#define OPT(s) ((s) ? json_string(s) : json_null())
	pthread_mutex_lock(&c->mu);
	o = json_pack(
	    "{s:o, s:o, s:b, s:o, s:o, s:o, s:s, s:I, s:I, s:i, s:I, s:{s:i, s:I}}", "prepare_url",
	    OPT(c->prepare_url), "complete_url", OPT(c->complete_url), "secret_set",
	    c->secret != NULL, "service_id", OPT(c->service_id), "merchant_id", OPT(c->merchant_id),
	    "merchant_user_id", OPT(c->merchant_user_id), "amount_format",
	    c->amount_int ? "integer" : "decimal", "timeout_ms", (json_int_t)c->timeout_ms,
	    "auth_tolerance_s", (json_int_t)c->tolerance_s, "utc_offset_min", c->utc_offset_min,
	    "offset_ms", (json_int_t)c->offset_ms, "api_fail", "status", c->api_fail_status,
	    "count", (json_int_t)c->api_fail_count);
	pthread_mutex_unlock(&c->mu);
#undef OPT
	return o;
}

static int c_config_get(struct http_req *r)
{
	return drv_reply(r, config_json(click_of(r)));
}

enum kind { K_URL, K_TEXT, K_DIGITS };

/* A string setting: 1 absent, 0 with *val set (NULL: null, unset), -1 bad. */
static int get_setting(const json_t *b, const char *key, enum kind kind, const char **val)
{
	json_t *v = json_object_get(b, key);

	*val = NULL;
	if (!v)
		return 1;
	if (json_is_null(v))
		return 0;
	*val = json_string_value(v);
	if (!*val)
		return -1;
	switch (kind) {
	case K_URL:
		return drv_url_ok(*val) ? 0 : -1;
	case K_TEXT:
		return **val && drv_text_ok(*val, DRV_SECRET_MAX) ? 0 : -1;
	default:
		return digits(*val, 18) ? 0 : -1;
	}
}

static void replace(char **dst, const char *v)
{
	free(*dst);
	*dst = dup_opt(v);
}

static int c_config_set(struct http_req *r)
{
	static const struct {
		const char *key;
		enum kind kind;
		size_t off;
	} strs[] = {
	    {"prepare_url", K_URL, offsetof(struct sim_click, prepare_url)},
	    {"complete_url", K_URL, offsetof(struct sim_click, complete_url)},
	    {"secret", K_TEXT, offsetof(struct sim_click, secret)},
	    {"service_id", K_DIGITS, offsetof(struct sim_click, service_id)},
	    {"merchant_id", K_DIGITS, offsetof(struct sim_click, merchant_id)},
	    {"merchant_user_id", K_DIGITS, offsetof(struct sim_click, merchant_user_id)},
	};
	struct sim_click *c = click_of(r);
	json_t *b = drv_body(r), *fail;
	const char *vals[ARRAY_SIZE(strs)], *fmt;
	int have[ARRAY_SIZE(strs)];
	int64_t to = 0, tol = 0, utc = 0, fst = 0, fcount = 0;
	int hto, htol, hutc;

	if (!b)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		have[i] = get_setting(b, strs[i].key, strs[i].kind, &vals[i]);
		if (have[i] < 0) {
			drv_fail(r, 400, "%s must be %s", strs[i].key,
			         strs[i].kind == K_URL    ? "an http(s) URL"
			         : strs[i].kind == K_TEXT ? "a non-empty printable string"
			                                  : "digits");
			goto out;
		}
	}
	fmt = drv_get_str(b, "amount_format");
	if (json_object_get(b, "amount_format") &&
	    (!fmt || (strcmp(fmt, "decimal") && strcmp(fmt, "integer")))) {
		drv_fail(r, 400, "amount_format must be decimal or integer");
		goto out;
	}
	hto = drv_get_i64(b, "timeout_ms", &to);
	htol = drv_get_i64(b, "auth_tolerance_s", &tol);
	hutc = drv_get_i64(b, "utc_offset_min", &utc);
	if (hto < 0 || htol < 0 || hutc < 0 || (!hto && (to < 100 || to > 120000)) ||
	    (!htol && (tol < 0 || tol > 86400)) || (!hutc && (utc < -900 || utc > 900))) {
		drv_fail(r, 400,
		         "timeout_ms 100-120000, auth_tolerance_s 0-86400, "
		         "utc_offset_min -900-900");
		goto out;
	}
	fail = json_object_get(b, "api_fail");
	if (fail && (!json_is_object(fail) || drv_get_i64(fail, "status", &fst) ||
	             drv_get_i64(fail, "count", &fcount) || fst < 400 || fst > 599 || fcount < 0 ||
	             fcount > 1000000)) {
		drv_fail(r, 400, "api_fail must be {\"status\": 400-599, \"count\": N}");
		goto out;
	}
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		if (have[i] == 0)
			replace((char **)((char *)c + strs[i].off), vals[i]);
	if (fmt)
		c->amount_int = strcmp(fmt, "integer") == 0;
	if (!hto)
		c->timeout_ms = (long)to;
	if (!htol)
		c->tolerance_s = tol;
	if (!hutc)
		c->utc_offset_min = (int)utc;
	if (fail) {
		c->api_fail_status = (int)fst;
		c->api_fail_count = fcount;
	}
	pthread_mutex_unlock(&c->mu);
	json_decref(b);
	return drv_reply(r, config_json(c));
out:
	json_decref(b);
	return -1;
}

static json_t *clock_json(struct sim_click *c)
{
	struct ck k = {.c = c};
	char st[24];

	pthread_mutex_lock(&c->mu);
	k.offset_ms = c->offset_ms;
	k.utc_offset_min = c->utc_offset_min;
	pthread_mutex_unlock(&c->mu);
	sign_time(&k, st);
	return json_pack("{s:I, s:I, s:s}", "now_ms", (json_int_t)now_ms(&k), "offset_ms",
	                 (json_int_t)k.offset_ms, "sign_time", st);
}

static int c_clock_get(struct http_req *r)
{
	return drv_reply(r, clock_json(click_of(r)));
}

json_t *sim_click_clock_json(struct sim_click *c)
{
	return clock_json(c);
}

int sim_click_clock_shift(struct sim_click *c, int64_t ms)
{
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	if (ms <= -CLICK_OFFSET_MAX || ms >= CLICK_OFFSET_MAX ||
	    c->offset_ms + ms < -CLICK_OFFSET_MAX || c->offset_ms + ms > CLICK_OFFSET_MAX)
		rc = -ERR_INVALID;
	else
		c->offset_ms += ms;
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static int c_clock_set(struct http_req *r)
{
	struct sim_click *c = click_of(r);
	json_t *b = drv_body(r);
	int64_t v, off;
	int rc = 0;

	if (!b)
		return -1;
	pthread_mutex_lock(&c->mu);
	off = c->offset_ms;
	if (drv_get_i64(b, "offset_ms", &v) == 0)
		off = v;
	else if (drv_get_i64(b, "shift_ms", &v) == 0 && v > -CLICK_OFFSET_MAX &&
	         v < CLICK_OFFSET_MAX)
		off += v;
	else if (drv_get_i64(b, "now_ms", &v) == 0 && v > 0 && v < INT64_MAX / 2)
		off = v - clock_now_ms();
	else
		rc = -1;
	if (!rc && (off < -CLICK_OFFSET_MAX || off > CLICK_OFFSET_MAX))
		rc = -1;
	if (!rc)
		c->offset_ms = off;
	pthread_mutex_unlock(&c->mu);
	json_decref(b);
	if (rc)
		return drv_fail(r, 400, "give offset_ms, shift_ms or now_ms (within ten years)");
	return drv_reply(r, clock_json(c));
}

static json_t *x_json(const struct ck_x *x)
{
	json_t *o = json_pack("{s:s, s:o, s:b}", "action", x->complete ? "complete" : "prepare",
	                      "request", x_request(x), "repeat", x->repeat);

	drv_call_json(&x->c, o);
	return o;
}

/*
 * POST /control/click/prepare and /complete: one request with every field
 * overridable. See docs/sim-payme-click.md for the body.
 */
static int raw(struct http_req *r, bool is_complete)
{
	struct sim_click *c = click_of(r);
	json_t *b = drv_body(r), *over, *f, *out;
	const char *sign, *order, *am, *pid, *note;
	struct ck k;
	struct ck_x x, y;
	struct click_pay *p;
	int64_t trans = 0, paydoc = 0, error = 0, tiyin;
	char amount[CLICK_AMOUNT_LEN] = "", porder[DRV_FIELD_MAX + 1] = "", ppid[CLICK_ID_MAX] = "",
	     pamount[CLICK_AMOUNT_LEN] = "";
	bool repeat = false, known = false;
	int rc = -1;

	if (!b)
		return -1;
	over = json_object_get(b, "fields");
	sign = drv_get_str(b, "sign");
	order = drv_get_str(b, "merchant_trans_id");
	if (!order)
		order = drv_get_str(b, "order_id");
	am = drv_get_str(b, "amount");
	pid = drv_get_str(b, "merchant_prepare_id");
	note = drv_get_str(b, "error_note");
	if (over) {
		const char *name;
		json_t *v;

		if (!json_is_object(over) || json_object_size(over) > 32) {
			drv_fail(r, 400, "fields must be an object of at most 32 fields");
			goto out;
		}
		json_object_foreach(over, name, v)
		{
			if (strlen(name) > 64 || (!json_is_null(v) && !json_is_string(v)) ||
			    (json_is_string(v) && json_string_length(v) > DRV_FIELD_MAX * 4)) {
				drv_fail(r, 400,
				         "fields: %.64s must be a string (at most %d bytes) "
				         "or null",
				         name, DRV_FIELD_MAX * 4);
				goto out;
			}
		}
	}
	if (sign && strcmp(sign, "right") && strcmp(sign, "wrong")) {
		drv_fail(r, 400, "sign must be right or wrong");
		goto out;
	}
	if ((order && !drv_text_ok(order, DRV_FIELD_MAX)) ||
	    (am && !drv_text_ok(am, CLICK_AMOUNT_LEN - 1)) ||
	    (pid && !drv_text_ok(pid, CLICK_ID_MAX - 1)) ||
	    (note && !drv_text_ok(note, DRV_FIELD_MAX))) {
		drv_fail(r, 400,
		         "merchant_trans_id, amount, merchant_prepare_id or error_note is "
		         "too long or not printable");
		goto out;
	}
	if (drv_get_i64(b, "click_trans_id", &trans) < 0 || trans < 0 ||
	    drv_get_i64(b, "click_paydoc_id", &paydoc) < 0 || paydoc < 0 ||
	    drv_get_i64(b, "error", &error) < 0 || error < -1000000 || error > 1000000 ||
	    drv_get_bool(b, "repeat", &repeat) < 0) {
		drv_fail(r, 400,
		         "click_trans_id and click_paydoc_id must be positive integers, "
		         "error an integer, repeat a boolean");
		goto out;
	}
	if (load(r, &k))
		goto out;
	tiyin = 0;
	if (drv_get_i64(b, "amount_tiyin", &tiyin) == 0) {
		if (tiyin < 0 || tiyin > CLICK_AMOUNT_MAX) {
			drv_fail(r, 400, "amount_tiyin is out of range");
			goto out_k;
		}
		amount_str(&k, tiyin, amount);
	} else if (am) {
		snprintf(amount, sizeof(amount), "%s", am);
	}
	if (trans) {
		pthread_mutex_lock(&c->mu);
		if ((p = pay_find(c, trans))) {
			known = true;
			snprintf(porder, sizeof(porder), "%s", p->order);
			snprintf(pamount, sizeof(pamount), "%s", p->amount);
			snprintf(ppid, sizeof(ppid), "%s", p->prepare_id);
			if (!paydoc)
				paydoc = p->paydoc_id;
		}
		pthread_mutex_unlock(&c->mu);
	}
	if (is_complete && !trans) {
		drv_fail(r, 400, "click_trans_id (of a prepare) is required");
		goto out_k;
	}
	if (!is_complete && !trans) {
		pay_new(&k, order ? order : "", amount, &trans, &paydoc);
		known = true;
		snprintf(porder, sizeof(porder), "%s", order ? order : "");
		snprintf(pamount, sizeof(pamount), "%s", amount);
	}
	if (!known && !paydoc) {
		pthread_mutex_lock(&c->mu);
		paydoc = c->next_paydoc++;
		pthread_mutex_unlock(&c->mu);
	}
	f = fields_new(&k, is_complete, trans, paydoc, order ? order : porder, pid ? pid : ppid,
	               (amount[0] || am) ? amount : pamount, error,
	               note                          ? note
	               : error == CLICK_CANCEL_ERROR ? "Transaction cancelled"
	               : error                       ? "Error"
	                                             : "Success");
	fields_sign(&k, f, is_complete, over, sign && strcmp(sign, "wrong") == 0);
	if (x_call(&k, &x, is_complete, f)) {
		x_release(&x);
		drv_fail(r, 400, "the form would be longer than %u bytes", DRV_MAX_REQUEST);
		goto out_k;
	}
	out = x_json(&x);
	if (repeat) {
		json_t *second;

		x_repeat(&k, &y, &x);
		second = x_json(&y);
		json_object_set_new(second, "identical", json_boolean(drv_call_same(&x.c, &y.c)));
		json_object_set_new(out, "repeat_call", second);
		x_release(&y);
	}
	x_release(&x);
	rc = drv_reply(r, out);
out_k:
	ck_release(&k);
out:
	json_decref(b);
	return rc;
}

static int c_prepare(struct http_req *r)
{
	return raw(r, false);
}

static int c_complete(struct http_req *r)
{
	return raw(r, true);
}

/* POST /control/click/pay {"order_id", "amount_tiyin"|"amount", "repeat_complete"} */
static int c_pay(struct http_req *r)
{
	json_t *b = drv_body(r), *steps, *rep;
	struct corder o;
	struct ck k;
	bool repeat = false;
	int rc = -1;

	if (!b)
		return -1;
	if (drv_get_bool(b, "repeat_complete", &repeat) < 0) {
		drv_fail(r, 400, "repeat_complete must be a boolean");
		goto out;
	}
	if (load(r, &k))
		goto out;
	if (!corder_read(r, &k, b, "the order", &o)) {
		steps = json_array();
		rep = json_object();
		flow_pay(&k, o.id, o.amount, repeat, steps, rep);
		json_object_update_new(rep, drv_report(steps));
		rc = drv_reply(r, rep);
	}
	ck_release(&k);
out:
	json_decref(b);
	return rc;
}

/* POST /control/click/postman {"orders": [3 orders], "unknown_order_id"} */
static int c_postman(struct http_req *r)
{
	json_t *b = drv_body(r), *orders, *steps;
	const char *unknown;
	struct corder o[3];
	struct ck k;
	int rc = -1;

	if (!b)
		return -1;
	orders = json_object_get(b, "orders");
	unknown = drv_get_str(b, "unknown_order_id");
	if (!json_is_array(orders) || json_array_size(orders) != 3 || !unknown || !*unknown ||
	    !drv_text_ok(unknown, DRV_FIELD_MAX)) {
		drv_fail(r, 400,
		         "orders (three: for steps 1-8, 9-11, 12-15) and unknown_order_id "
		         "are required");
		goto out;
	}
	if (load(r, &k))
		goto out;
	if (!corder_read(r, &k, json_array_get(orders, 0), "orders[0]", &o[0]) &&
	    !corder_read(r, &k, json_array_get(orders, 1), "orders[1]", &o[1]) &&
	    !corder_read(r, &k, json_array_get(orders, 2), "orders[2]", &o[2])) {
		steps = json_array();
		flow_postman(&k, o, unknown, steps);
		rc = drv_reply(r, drv_report(steps));
	}
	ck_release(&k);
out:
	json_decref(b);
	return rc;
}

static int log_get(struct http_req *r, bool api)
{
	struct sim_click *c = click_of(r);
	const char *a = http_req_query(r, "after");
	int64_t after = 0;
	json_t *o;

	if (a && str_to_i64(str_c(a), 0, INT64_MAX, &after))
		return drv_fail(r, 400, "after must be a sequence number");
	pthread_mutex_lock(&c->mu);
	o = drv_log_json(api ? &c->api : &c->calls, after);
	pthread_mutex_unlock(&c->mu);
	return drv_reply(r, o);
}

static int c_calls_get(struct http_req *r)
{
	return log_get(r, false);
}

static int c_api_calls_get(struct http_req *r)
{
	return log_get(r, true);
}

static int c_calls_clear(struct http_req *r)
{
	struct sim_click *c = click_of(r);
	int64_t seq;

	pthread_mutex_lock(&c->mu);
	seq = c->calls.seq;
	drv_log_release(&c->calls);
	drv_log_init(&c->calls);
	c->calls.seq = seq;
	pthread_mutex_unlock(&c->mu);
	return drv_reply(r, json_pack("{s:[], s:I}", "calls", "last_seq", (json_int_t)seq));
}

static json_t *pay_json(const struct click_pay *p)
{
	return json_pack("{s:I, s:I, s:s, s:s, s:o, s:i, s:I, s:b, s:o}", "payment_id",
	                 (json_int_t)p->trans_id, "click_paydoc_id", (json_int_t)p->paydoc_id,
	                 "merchant_trans_id", p->order, "amount", p->amount, "merchant_prepare_id",
	                 p->prepare_id[0] ? json_string(p->prepare_id) : json_null(),
	                 "payment_status", p->status, "at_ms", (json_int_t)p->at_ms, "reversed",
	                 p->reversed_ms != 0, "reversed_at_ms",
	                 p->reversed_ms ? json_integer(p->reversed_ms) : json_null());
}

static int c_payments(struct http_req *r)
{
	struct sim_click *c = click_of(r);
	json_t *list = json_array();

	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->npays; i++)
		json_array_append_new(list, pay_json(&c->pays[i]));
	pthread_mutex_unlock(&c->mu);
	return drv_reply(r, json_pack("{s:o}", "payments", list));
}

/* ---- the payment page (D.8) ---- */

struct page {
	char service[CLICK_ID_MAX], merchant[CLICK_ID_MAX];
	char order[DRV_FIELD_MAX + 1];
	int64_t tiyin;
	char ret[DRV_URL_MAX + 1];
	char err[160];
};

static bool page_read(struct http_req *r, struct page *pg)
{
	struct sim_click *c = click_of(r);
	const char *sid = http_req_query(r, "service_id"), *mid = http_req_query(r, "merchant_id"),
	           *am = http_req_query(r, "amount"), *tp = http_req_query(r, "transaction_param"),
	           *ru = http_req_query(r, "return_url");
	bool known;

	memset(pg, 0, sizeof(*pg));
	if (!digits(sid, CLICK_ID_MAX - 1) || !digits(mid, CLICK_ID_MAX - 1)) {
		snprintf(pg->err, sizeof(pg->err), "service_id and merchant_id are required");
		return false;
	}
	snprintf(pg->service, sizeof(pg->service), "%s", sid);
	snprintf(pg->merchant, sizeof(pg->merchant), "%s", mid);
	pthread_mutex_lock(&c->mu);
	known = c->service_id && strcmp(c->service_id, sid) == 0 && c->merchant_id &&
	        strcmp(c->merchant_id, mid) == 0;
	pthread_mutex_unlock(&c->mu);
	if (!known) {
		snprintf(pg->err, sizeof(pg->err), "unknown service or merchant");
		return false;
	}
	if (!am || drv_som_parse(str_c(am), &pg->tiyin) || pg->tiyin < 1 ||
	    pg->tiyin > CLICK_AMOUNT_MAX) {
		snprintf(pg->err, sizeof(pg->err), "the amount must be so'm, as 50000.00");
		return false;
	}
	if (!tp || !*tp || !drv_text_ok(tp, DRV_FIELD_MAX)) {
		snprintf(pg->err, sizeof(pg->err), "transaction_param is required");
		return false;
	}
	snprintf(pg->order, sizeof(pg->order), "%s", tp);
	if (ru && drv_url_ok(ru))
		snprintf(pg->ret, sizeof(pg->ret), "%s", ru);
	return true;
}

static int page_order(struct buf *b, const struct page *pg)
{
	char som[40];

	drv_som(pg->tiyin, som, sizeof(som));
	return buf_adds(b, "<dl>\n<dt>Service</dt><dd id=\"service\">") ||
	       drv_html(b, pg->service) || buf_adds(b, "</dd>\n<dt>Order</dt><dd id=\"order\">") ||
	       drv_html(b, pg->order) ||
	       buf_printf(b,
	                  "</dd>\n<dt>Amount</dt><dd class=\"amount\" id=\"amount\">%s so'm</dd>\n"
	                  "</dl>\n",
	                  som);
}

static int page_back(struct buf *b, const struct page *pg)
{
	if (!pg->ret[0])
		return 0;
	return buf_adds(b, "<p><a id=\"return\" href=\"") || drv_html(b, pg->ret) ||
	       buf_adds(b, "\">Return to the merchant</a></p>\n");
}

static int page_error(struct http_req *r, const struct page *pg)
{
	struct buf b;
	int rc;

	buf_init(&b, 4096);
	if (buf_adds(&b, "<p class=\"err\" id=\"error\">") || drv_html(&b, pg->err) ||
	    buf_adds(&b, "</p>\n"))
		abort();
	rc = drv_page(r, 200, "Click", b.p);
	buf_release(&b);
	return rc;
}

static int page_get(struct http_req *r)
{
	struct page pg;
	struct buf b;
	int rc;

	if (!page_read(r, &pg))
		return page_error(r, &pg);
	buf_init(&b, 64 * 1024);
	if (page_order(&b, &pg) ||
	    buf_adds(&b,
	             "<form method=\"post\">"
	             "<button class=\"primary\" name=\"do\" value=\"pay\" id=\"pay\">Pay</button>"
	             "<button name=\"do\" value=\"cancel\" id=\"cancel\">Cancel</button>"
	             "</form>\n"))
		abort();
	rc = drv_page(r, 200, "Click", b.p);
	buf_release(&b);
	return rc;
}

static int page_post(struct http_req *r)
{
	struct page pg;
	struct buf b;
	struct ck k;
	char what[16], amount[CLICK_AMOUNT_LEN];
	json_t *steps, *rep, *st;
	size_t i;
	bool pass;
	int rc;

	if (!page_read(r, &pg))
		return page_error(r, &pg);
	if (!drv_form_get((struct str){r->body.p, r->body.len}, "do", what, sizeof(what)) ||
	    (strcmp(what, "pay") && strcmp(what, "cancel")))
		return drv_page(r, 400, "Click", "<p class=\"err\">Press Pay or Cancel.</p>");
	buf_init(&b, 1u << 20);
	if (page_order(&b, &pg))
		abort();
	if (ck_load(click_of(r), &k)) {
		if (buf_adds(&b, "<p id=\"result\" class=\"err\">The simulator has no Click URLs, "
		                 "secret or service id.</p>\n"))
			abort();
	} else {
		amount_str(&k, pg.tiyin, amount);
		steps = json_array();
		if (strcmp(what, "pay") == 0)
			flow_pay(&k, pg.order, amount, false, steps, NULL);
		else
			flow_cancel(&k, pg.order, amount, steps);
		ck_release(&k);
		rep = drv_report(steps);
		pass = json_is_true(json_object_get(rep, "pass"));
		if (buf_printf(&b, "<p id=\"result\" class=\"%s\">%s</p>\n<ol>\n",
		               pass ? "ok" : "err",
		               strcmp(what, "pay") == 0 ? (pass ? "Payment complete."
		                                                : "Payment failed: the merchant's "
		                                                  "answer was wrong.")
		                                        : (pass ? "Payment cancelled."
		                                                : "Cancelled, but the merchant's "
		                                                  "answer was wrong.")))
			abort();
		json_array_foreach(json_object_get(rep, "steps"), i, st)
		{
			bool ok = json_is_true(json_object_get(st, "pass"));

			if (buf_printf(&b, "<li class=\"%s\">", ok ? "ok" : "err") ||
			    drv_html(&b, json_string_value(json_object_get(st, "what"))) ||
			    buf_adds(&b, ok ? ": ok" : ": ") ||
			    drv_html(&b, json_string_value(json_object_get(st, "why"))) ||
			    buf_adds(&b, "</li>\n"))
				abort();
		}
		if (buf_adds(&b, "</ol>\n"))
			abort();
		json_decref(rep);
	}
	if (page_back(&b, &pg))
		abort();
	rc = drv_page(r, 200, "Click", b.p);
	buf_release(&b);
	return rc;
}

/* ---- the Merchant API (D.9) ---- */

/* Answer a Merchant API call (o stolen) and log it. */
static int api_reply(struct http_req *r, int status, json_t *o, const char *auth_user,
                     const char *auth_error)
{
	struct sim_click *c = click_of(r);
	json_t *rec, *path = json_string(r->path); /* NULL when not UTF-8 */
	char *text = json_dumps(o, JSON_COMPACT);

	rec = json_pack("{s:I, s:s, s:o, s:o, s:o, s:i, s:s}", "at_ms",
	                (json_int_t)(clock_now_ms() + c->offset_ms), "method", r->method, "path",
	                path ? path : json_string("(not UTF-8)"), "auth_user",
	                auth_user ? json_string(auth_user) : json_null(), "auth_error",
	                auth_error ? json_string(auth_error) : json_null(), "status", status,
	                "answer", text ? text : "");
	free(text);
	pthread_mutex_lock(&c->mu);
	if (rec)
		drv_log_add(&c->api, rec);
	pthread_mutex_unlock(&c->mu);
	return http_reply_json(r, status, o);
}

static int api_error(struct http_req *r, int status, const char *note, const char *user,
                     const char *auth_error)
{
	return api_reply(r, status,
	                 json_pack("{s:i, s:s}", "error_code", -status, "error_note", note), user,
	                 auth_error);
}

/*
 * Check "Auth: <merchant_user_id>:<sha1(timestamp + secret)>:<timestamp>".
 * 0 with the user in user; else why and -1.
 */
static int api_auth(struct http_req *r, char user[CLICK_ID_MAX], char *why, size_t n)
{
	struct sim_click *c = click_of(r);
	const char *h = http_req_header(r, "Auth");
	struct str rest, u, d, t;
	char secret[DRV_SECRET_MAX + 1] = "", want[41], muid[CLICK_ID_MAX] = "";
	int64_t ts, now, tol;
	bool have_secret, ok;

	user[0] = '\0';
	if (!h || !*h) {
		snprintf(why, n, "no Auth header");
		return -1;
	}
	rest = str_c(h);
	if (rest.len > 200 || !str_split(&rest, ':', &u) || !str_split(&rest, ':', &d)) {
		snprintf(why, n, "Auth is not user:digest:timestamp");
		return -1;
	}
	t = rest;
	if (!u.len || u.len >= CLICK_ID_MAX || strspn(u.p, "0123456789") < u.len) {
		snprintf(why, n, "the merchant user id is not digits");
		return -1;
	}
	memcpy(user, u.p, u.len);
	user[u.len] = '\0';
	if (!t.len || t.len > 12 || strspn(t.p, "0123456789") != t.len ||
	    str_to_i64(t, 0, INT64_MAX, &ts)) {
		snprintf(why, n, "the timestamp is not Unix seconds");
		return -1;
	}
	pthread_mutex_lock(&c->mu);
	have_secret = c->secret != NULL;
	if (have_secret)
		snprintf(secret, sizeof(secret), "%s", c->secret);
	if (c->merchant_user_id)
		snprintf(muid, sizeof(muid), "%s", c->merchant_user_id);
	now = (clock_now_ms() + c->offset_ms) / 1000;
	tol = c->tolerance_s;
	pthread_mutex_unlock(&c->mu);
	if (!have_secret) {
		snprintf(why, n, "the simulator has no click secret");
		return -1;
	}
	{
		struct str parts[] = {t, str_c(secret)};

		crypto_sha1_hex(parts, 2, want);
	}
	memset(secret, 0, sizeof(secret));
	ok = crypto_eq(want, 40, d.p, d.len);
	if (!ok) {
		snprintf(why, n, "the digest is not sha1(timestamp + secret) in lower-case hex");
		return -1;
	}
	if (muid[0] && strcmp(muid, user) != 0) {
		snprintf(why, n, "unknown merchant user id");
		return -1;
	}
	if (ts > now + tol || ts < now - tol) {
		snprintf(why, n, "the timestamp is %lld s from the clock (more than %lld)",
		         (long long)(ts - now), (long long)tol);
		return -1;
	}
	return 0;
}

/* The common part of the two calls: auth, injected failures, the path.
 * The payment (copied) or -1 after answering. */
static int api_begin(struct http_req *r, char user[CLICK_ID_MAX], int64_t *payment)
{
	struct sim_click *c = click_of(r);
	struct str sid = router_param(&r->match, "service_id"),
	           pay = router_param(&r->match, "payment_id");
	char why[160];
	int fail = 0;
	bool service_ok;

	if (api_auth(r, user, why, sizeof(why))) {
		api_error(r, 401, "Authorization failed", user[0] ? user : NULL, why);
		return -1;
	}
	pthread_mutex_lock(&c->mu);
	if (c->api_fail_count > 0) {
		c->api_fail_count--;
		fail = c->api_fail_status;
	}
	service_ok = c->service_id && str_eqc(sid, c->service_id);
	pthread_mutex_unlock(&c->mu);
	if (fail) {
		api_error(r, fail, "Injected failure", user, NULL);
		return -1;
	}
	if (pay.len > 19 || str_to_i64(pay, 1, INT64_MAX, payment)) {
		api_error(r, 400, "Bad payment id", user, NULL);
		return -1;
	}
	if (!service_ok) {
		api_error(r, 404, "Service not found", user, NULL);
		return -1;
	}
	return 0;
}

static int api_status(struct http_req *r)
{
	struct sim_click *c = click_of(r);
	char user[CLICK_ID_MAX];
	int64_t id;
	struct click_pay *p;
	int status = 0;
	bool found;

	if (api_begin(r, user, &id))
		return -1;
	pthread_mutex_lock(&c->mu);
	p = pay_find(c, id);
	found = p != NULL;
	if (p)
		status = p->reversed_ms ? -1 : p->status;
	pthread_mutex_unlock(&c->mu);
	if (!found)
		return api_error(r, 404, "Payment not found", user, NULL);
	return api_reply(r, 200,
	                 json_pack("{s:i, s:s, s:I, s:i}", "error_code", 0, "error_note", "Success",
	                           "payment_id", (json_int_t)id, "payment_status", status),
	                 user, NULL);
}

static int api_reversal(struct http_req *r)
{
	struct sim_click *c = click_of(r);
	char user[CLICK_ID_MAX];
	int64_t id;
	struct click_pay *p;
	int result; /* 0 done, 1 not found, 2 not paid, 3 already */

	if (api_begin(r, user, &id))
		return -1;
	pthread_mutex_lock(&c->mu);
	p = pay_find(c, id);
	if (!p) {
		result = 1;
	} else if (p->reversed_ms) {
		result = 3;
	} else if (p->status != 2) {
		result = 2;
	} else {
		p->reversed_ms = clock_now_ms() + c->offset_ms;
		result = 0;
	}
	pthread_mutex_unlock(&c->mu);
	switch (result) {
	case 1:
		return api_error(r, 404, "Payment not found", user, NULL);
	case 2:
		return api_error(r, 409, "Payment is not successful: nothing to reverse", user,
		                 NULL);
	case 3:
		return api_error(r, 409, "Payment is already reversed", user, NULL);
	default:
		return api_reply(r, 200,
		                 json_pack("{s:i, s:s, s:I}", "error_code", 0, "error_note",
		                           "Success", "payment_id", (json_int_t)id),
		                 user, NULL);
	}
}

/* ---- life ---- */

static int check_opts(const struct sim_click_opts *o, struct err *e)
{
	if ((o->prepare_url && !drv_url_ok(o->prepare_url)) ||
	    (o->complete_url && !drv_url_ok(o->complete_url)))
		return err_set(e, ERR_INVALID,
		               "--click-prepare and --click-complete must be "
		               "http(s) URLs");
	if (o->secret && (!*o->secret || !drv_text_ok(o->secret, DRV_SECRET_MAX)))
		return err_set(e, ERR_INVALID, "--click-secret must be 1-%d printable bytes",
		               DRV_SECRET_MAX);
	if ((o->service_id && !digits(o->service_id, 18)) ||
	    (o->merchant_id && !digits(o->merchant_id, 18)))
		return err_set(e, ERR_INVALID,
		               "--click-service-id and --click-merchant-id must be "
		               "digits");
	return 0;
}

static void configure(struct sim_click *c)
{
	replace(&c->prepare_url, c->prepare0);
	replace(&c->complete_url, c->complete0);
	replace(&c->secret, c->secret0);
	replace(&c->service_id, c->service0);
	replace(&c->merchant_id, c->merchant0);
	replace(&c->merchant_user_id, NULL);
	c->amount_int = false;
	c->timeout_ms = DRV_TIMEOUT_MS;
	c->tolerance_s = 300;
	c->utc_offset_min = CLICK_TASHKENT_MIN;
	c->offset_ms = 0;
	c->api_fail_status = 0;
	c->api_fail_count = 0;
	free(c->pays);
	c->pays = NULL;
	c->npays = 0;
}

int sim_click_new(struct sim_click **out, const struct sim_click_opts *o, struct err *e)
{
	struct sim_click *c;
	int rc;

	*out = NULL;
	if ((rc = check_opts(o, e)))
		return rc;
	c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	c->prepare0 = dup_opt(o->prepare_url);
	c->complete0 = dup_opt(o->complete_url);
	c->secret0 = dup_opt(o->secret);
	c->service0 = dup_opt(o->service_id);
	c->merchant0 = dup_opt(o->merchant_id);
	configure(c);
	/* from the start time, so that a restarted simulator does not repeat
	 * the ids a merchant's database already holds; a reset keeps counting */
	c->next_trans = clock_now_ms();
	c->next_paydoc = c->next_trans / 10;
	drv_log_init(&c->calls);
	drv_log_init(&c->api);
	*out = c;
	return 0;
}

void sim_click_reset(struct sim_click *c)
{
	pthread_mutex_lock(&c->mu);
	configure(c);
	drv_log_release(&c->calls);
	drv_log_release(&c->api);
	drv_log_init(&c->calls);
	drv_log_init(&c->api);
	pthread_mutex_unlock(&c->mu);
}

void sim_click_free(struct sim_click *c)
{
	if (!c)
		return;
	drv_log_release(&c->calls);
	drv_log_release(&c->api);
	free(c->pays);
	free(c->prepare_url);
	free(c->complete_url);
	free(c->secret);
	free(c->service_id);
	free(c->merchant_id);
	free(c->merchant_user_id);
	free(c->prepare0);
	free(c->complete0);
	free(c->secret0);
	free(c->service0);
	free(c->merchant0);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

const struct route sim_click_routes[] = {
    {"GET", "/control/click/config", c_config_get, 0, "the Click driver's configuration"},
    {"POST", "/control/click/config", c_config_set, 0, "change the Click driver's configuration"},
    {"GET", "/control/click/clock", c_clock_get, 0, "the Click driver's clock"},
    {"POST", "/control/click/clock", c_clock_set, 0, "move the Click driver's clock"},
    {"POST", "/control/click/prepare", c_prepare, 0, "one Prepare, any field overridden"},
    {"POST", "/control/click/complete", c_complete, 0, "one Complete, any field overridden"},
    {"POST", "/control/click/pay", c_pay, 0, "prepare and complete a payment"},
    {"POST", "/control/click/postman", c_postman, 0, "Click's 15 Postman scenarios"},
    {"GET", "/control/click/calls", c_calls_get, 0, "the requests sent and their answers"},
    {"DELETE", "/control/click/calls", c_calls_clear, 0, "forget the requests sent"},
    {"GET", "/control/click/payments", c_payments, 0, "payment attempts and reversals"},
    {"GET", "/control/click/api_calls", c_api_calls_get, 0, "Merchant API calls received"},
    {"GET", "/click/services/pay", page_get, 0, "the Click payment page"},
    {"POST", "/click/services/pay", page_post, 0, "pay or cancel on the payment page"},
    {"GET", "/click/v2/merchant/payment/status/{service_id}/{payment_id}", api_status, 0,
     "Merchant API: payment status"},
    {"DELETE", "/click/v2/merchant/payment/reversal/{service_id}/{payment_id}", api_reversal, 0,
     "Merchant API: reverse a payment"},
};
const size_t sim_click_nroutes = ARRAY_SIZE(sim_click_routes);
