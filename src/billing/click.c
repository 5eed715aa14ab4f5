/*
 * click: the SHOP API (click.h; protocols.md D.2-D.8).
 *
 * The checks run in the order Click's own test set expects (D.6, D.7): the
 * request's shape (-8), the signature (-1), the action (-3), the order (-5),
 * the prepare record (-6), Click's own error (-9: checked before the paid
 * check), a cancel (-9) or an earlier success (-4), the amount (-2). Each
 * call runs in one transaction with the prepare record locked, and each
 * change is recorded in provider_events as "<click_trans_id>:<action>" with
 * it.
 */
#include "billing/click.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "billing/money.h"
#include "billing/sig.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/form.h"
#include "lib/hc.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "store/store.h"

enum {
	C_OK = 0,
	C_SIGN = -1,
	C_AMOUNT = -2,
	C_ACTION = -3,
	C_PAID = -4,
	C_USER = -5,
	C_NO_TX = -6,
	C_UPDATE = -7,
	C_REQUEST = -8,
	C_CANCELED = -9,
};

static const char *note_of(int code)
{
	switch (code) {
	case C_OK:
		return "Success";
	case C_SIGN:
		return "SIGN CHECK FAILED!";
	case C_AMOUNT:
		return "Incorrect parameter amount";
	case C_ACTION:
		return "Action not found";
	case C_PAID:
		return "Already paid";
	case C_USER:
		return "User does not exist";
	case C_NO_TX:
		return "Transaction does not exist";
	case C_UPDATE:
		return "Failed to update user";
	case C_CANCELED:
		return "Transaction cancelled";
	default:
		return "Error in request from click";
	}
}

struct req {
	json_t *f; /* the fields as received */
	const char *click_trans_id, *service_id, *paydoc, *merchant_trans_id, *prepare_id, *amount,
	    *action, *error, *error_note, *sign_time, *sign;
	int64_t trans, prepare, click_error, order_id, minor;
	int64_t id;   /* our record (merchant_prepare_id / merchant_confirm_id) */
	int code;     /* the answer's error */
	bool with_id; /* the answer names the record */
	bool changed; /* a change to record */
};

static const char *field(const struct req *q, const char *name)
{
	return json_string_value(json_object_get(q->f, name));
}

/* A decimal integer (optionally negative) that fits; false otherwise. */
static bool to_i64(const char *s, int64_t *out)
{
	return s && *s &&
	       str_to_i64((struct str){s, strlen(s)}, INT64_MIN + 1, INT64_MAX, out) == 0;
}

/* The shape of a request: 0, or the code to answer. */
static int shape(struct req *q, int action)
{
	q->click_trans_id = field(q, "click_trans_id");
	q->service_id = field(q, "service_id");
	q->paydoc = field(q, "click_paydoc_id");
	q->merchant_trans_id = field(q, "merchant_trans_id");
	q->prepare_id = field(q, "merchant_prepare_id");
	q->amount = field(q, "amount");
	q->action = field(q, "action");
	q->error = field(q, "error");
	q->error_note = field(q, "error_note");
	q->sign_time = field(q, "sign_time");
	q->sign = field(q, "sign_string");
	if (!q->click_trans_id || !q->service_id || !q->merchant_trans_id || !q->amount ||
	    !q->action || !q->sign_time || !q->sign || (action == 1 && !q->prepare_id))
		return C_REQUEST;
	if (!to_i64(q->click_trans_id, &q->trans) || q->trans <= 0)
		return C_REQUEST;
	if (q->error && !to_i64(q->error, &q->click_error))
		return C_REQUEST;
	if (action == 1 && !to_i64(q->prepare_id, &q->prepare))
		return C_REQUEST;
	return C_OK;
}

static int check_sign(const struct req *q, const char *secret)
{
	struct sig_click f = {
	    .click_trans_id = {q->click_trans_id, strlen(q->click_trans_id)},
	    .service_id = {q->service_id, strlen(q->service_id)},
	    .merchant_trans_id = {q->merchant_trans_id, strlen(q->merchant_trans_id)},
	    .merchant_prepare_id = {q->prepare_id ? q->prepare_id : "",
	                            q->prepare_id ? strlen(q->prepare_id) : 0},
	    .amount = {q->amount, strlen(q->amount)},
	    .action = {q->action, strlen(q->action)},
	    .sign_time = {q->sign_time, strlen(q->sign_time)},
	};
	struct err e = {0};
	int rc = sig_click_verify(&f, (struct str){q->sign, strlen(q->sign)}, secret, &e);

	if (rc == -ERR_INVALID)
		return C_ACTION;
	return rc ? C_SIGN : C_OK;
}

struct ctx {
	struct app *a;
	struct req *q;
	int64_t now;
};

/* The order merchant_trans_id names: 0, C_USER, or an error (< 0 too, but
 * below -100). */
static int find_order(struct store_conn *c, struct req *q, struct billing_order *o, struct err *e)
{
	int64_t id;
	int rc;

	if (!to_i64(q->merchant_trans_id, &id) || id <= 0)
		return C_USER;
	rc = billing_order_get(c, id, o, e);
	if (rc == -ERR_NOT_FOUND || (!rc && o->provider != BP_CLICK))
		return C_USER;
	if (rc)
		return rc - 1000;
	q->order_id = id;
	return C_OK;
}

static int record(struct store_conn *c, struct req *q, const char *type, int64_t now, struct err *e)
{
	char key[64];
	int rc;

	snprintf(key, sizeof(key), "%lld:%s", (long long)q->trans, q->action);
	rc = billing_event_claim(c, BP_CLICK, key, type, now, NULL, e);
	if (rc == 0)
		return err_set(e, ERR_EXISTS, "click %s recorded already", key);
	if (rc < 0)
		return rc;
	return billing_event_done(c, BP_CLICK, key, 0, 0, note_of(q->code), NULL, e);
}

struct rec {
	int64_t id, order_id;
	char state[12];
};

/* Lock and read the record of click_trans_id (by_prepare: of id): 1, 0, or
 * an error. */
static int rec_find(struct store_conn *c, const char *col, int64_t v, struct rec *r, struct err *e)
{
	char sql[256];
	struct store_res *res = NULL;
	struct store_val a[] = {SV_INT(v)};
	int rc;

	snprintf(sql, sizeof(sql), "UPDATE click_transactions SET action = action WHERE %s = $1",
	         col);
	rc = store_query(c, sql, a, 1, NULL, e);
	if (rc)
		return rc;
	snprintf(sql, sizeof(sql),
	         "SELECT id, order_id, state FROM click_transactions WHERE %s = $1", col);
	rc = store_query(c, sql, a, 1, &res, e);
	if (rc)
		return rc;
	rc = store_res_rows(res) == 1;
	if (rc) {
		r->id = store_res_int(res, 0, 0);
		r->order_id = store_res_int(res, 0, 1);
		snprintf(r->state, sizeof(r->state), "%s", store_res_text(res, 0, 2));
	}
	store_res_free(res);
	return rc;
}

static int prepare(struct store_conn *c, struct req *q, int64_t now, struct err *e)
{
	struct billing_order o;
	struct rec r;
	int rc = find_order(c, q, &o, e);

	if (rc < -100)
		return rc + 1000;
	if (rc) {
		q->code = rc;
		return 0;
	}
	rc = rec_find(c, "click_trans_id", q->trans, &r, e);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		/* a repeat: the same record, or why it cannot go on */
		q->id = r.id;
		q->with_id = true;
		q->code = strcmp(r.state, "completed") == 0  ? C_PAID
		          : strcmp(r.state, "canceled") == 0 ? C_CANCELED
		                                             : C_OK;
		return 0;
	}
	if (q->click_error < 0) {
		q->code = C_CANCELED;
		return 0;
	}
	if (money_parse_major(q->amount, strlen(q->amount), "UZS", &q->minor) ||
	    q->minor != o.amount) {
		q->code = C_AMOUNT;
		return 0;
	}
	if (strcmp(o.state, "paid") == 0 || strcmp(o.state, "refunded") == 0) {
		q->code = C_PAID;
		return 0;
	}
	if (strcmp(o.state, "pending") != 0) {
		q->code = C_CANCELED;
		return 0;
	}
	{
		int64_t paydoc = 0, service = 0;
		struct store_res *res = NULL;
		struct store_val a[] = {SV_INT(q->trans),
		                        SV_INT(to_i64(q->service_id, &service) ? service : 0),
		                        SV_INT(to_i64(q->paydoc, &paydoc) ? paydoc : 0),
		                        SV_TEXT(q->merchant_trans_id),
		                        SV_INT(o.id),
		                        SV_TEXT(q->amount),
		                        SV_INT(q->minor),
		                        SV_INT(q->click_error),
		                        SV_TEXT(q->error_note ? q->error_note : ""),
		                        SV_TEXT(q->sign_time),
		                        SV_INT(now)};

		rc = store_query(
		    c,
		    "INSERT INTO click_transactions (click_trans_id, service_id, "
		    "click_paydoc_id, merchant_trans_id, order_id, amount, amount_minor, "
		    "action, error, error_note, sign_time, state, prepared_at) VALUES ($1, "
		    "$2, $3, $4, $5, $6, $7, 0, $8, $9, $10, 'prepared', $11) RETURNING id",
		    a, ARRAY_SIZE(a), &res, e);
		if (!rc) {
			q->id = store_res_int(res, 0, 0);
			q->with_id = true;
			q->changed = true;
		}
		store_res_free(res);
	}
	return rc;
}

static int complete(struct store_conn *c, struct req *q, int64_t now, struct err *e)
{
	struct billing_order o;
	struct rec r;
	int rc = find_order(c, q, &o, e);

	if (rc < -100)
		return rc + 1000;
	if (rc) {
		q->code = rc;
		return 0;
	}
	rc = rec_find(c, "id", q->prepare, &r, e);
	if (rc < 0)
		return rc;
	if (rc == 0 || r.order_id != o.id) {
		q->code = C_NO_TX;
		return 0;
	}
	{
		/* the record must be the one this click_trans_id prepared */
		struct rec same;

		rc = rec_find(c, "click_trans_id", q->trans, &same, e);
		if (rc < 0)
			return rc;
		if (rc == 0 || same.id != r.id) {
			q->code = C_NO_TX;
			return 0;
		}
	}
	rc = 0;
	q->id = r.id;
	q->with_id = true;
	if (q->click_error < 0) {
		/* Click could not take the money: cancel (a completed payment is
		 * left as it is: the money was taken, only a reversal returns it) */
		if (strcmp(r.state, "prepared") == 0) {
			struct store_val a[] = {SV_INT(r.id), SV_INT(now), SV_INT(q->click_error),
			                        SV_TEXT(q->error_note ? q->error_note : "")};

			rc = store_query(
			    c,
			    "UPDATE click_transactions SET state = 'canceled', action = 1, "
			    "canceled_at = $2, error = $3, error_note = $4, answer = -9 "
			    "WHERE id = $1",
			    a, ARRAY_SIZE(a), NULL, e);
			/* a failed payment in the ledger, with Click's reason: the
			 * user is told and offered another try */
			if (!rc) {
				struct billing_effect ef;
				char why[160];

				snprintf(why, sizeof(why), "click error %lld: %.120s",
				         (long long)q->click_error,
				         q->error_note ? q->error_note : "");
				rc =
				    billing_failed(c, BP_CLICK, q->click_trans_id, o.user_id, o.id,
				                   0, o.amount, o.currency, why, now, NULL, &ef, e);
			}
			q->changed = true;
		} else if (strcmp(r.state, "completed") == 0) {
			log_warn("msg=\"click reports an error for a completed payment\" "
			         "click_trans_id=%lld error=%lld",
			         (long long)q->trans, (long long)q->click_error);
		}
		q->code = C_CANCELED;
		return rc;
	}
	if (strcmp(r.state, "canceled") == 0) {
		q->code = C_CANCELED;
		return 0;
	}
	if (strcmp(r.state, "completed") == 0) {
		q->code = C_PAID;
		return 0;
	}
	if (money_parse_major(q->amount, strlen(q->amount), "UZS", &q->minor) ||
	    q->minor != o.amount) {
		q->code = C_AMOUNT;
		return 0;
	}
	{
		struct billing_paid p = {.provider = BP_CLICK,
		                         .payment_id = q->click_trans_id,
		                         .amount = q->minor,
		                         .currency = "UZS",
		                         .order_id = o.id};
		struct billing_effect ef;
		struct store_val a[] = {SV_INT(r.id), SV_INT(now)};

		rc = billing_paid(c, &p, now, &ef, e);
		if (rc == -ERR_CONFLICT) {
			q->code = C_PAID; /* the order was paid by another payment */
			return 0;
		}
		if (!rc)
			rc = store_query(
			    c,
			    "UPDATE click_transactions SET state = 'completed', action = 1, "
			    "completed_at = $2, error = 0, answer = 0 WHERE id = $1",
			    a, 2, NULL, e);
		if (!rc) {
			q->changed = true;
			log_info("msg=\"click payment completed\" click_trans_id=%lld order=%lld "
			         "effect=\"%s\"",
			         (long long)q->trans, (long long)o.id, ef.text);
		}
	}
	return rc;
}

static char *answer_of(const struct req *q, int action)
{
	json_t *v = json_object();
	char *s;

	if (q->click_trans_id && q->trans > 0)
		json_object_set_new(v, "click_trans_id", json_integer(q->trans));
	if (q->merchant_trans_id)
		json_object_set_new(v, "merchant_trans_id", json_string(q->merchant_trans_id));
	if (q->with_id)
		json_object_set_new(v, action == 0 ? "merchant_prepare_id" : "merchant_confirm_id",
		                    json_integer(q->id));
	else if (action == 1)
		json_object_set_new(v, "merchant_confirm_id", json_null());
	json_object_set_new(v, "error", json_integer(q->code));
	json_object_set_new(v, "error_note", json_string(note_of(q->code)));
	s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(v);
	return s;
}

void click_handle(struct app *a, int action, const char *body, size_t len, int64_t now,
                  char **answer, int *code)
{
	const char *secret = app_str(a, SET_CLICK_SECRET_KEY);
	const char *service = app_str(a, SET_CLICK_SERVICE_ID);
	struct req q = {0};
	struct err e = {0};
	int rc = 0;

	if (form_parse(body, len, &q.f, &e)) {
		q.f = NULL;
		q.code = C_REQUEST;
		goto out;
	}
	q.code = shape(&q, action);
	if (q.code)
		goto out;
	q.code = secret ? check_sign(&q, secret) : C_SIGN;
	if (q.code) {
		log_warn("msg=\"click call refused\" action=%d click_trans_id=%lld error=%d",
		         action, (long long)q.trans, q.code);
		goto out;
	}
	if (strcmp(q.action, action == 0 ? "0" : "1") != 0) {
		q.code = C_ACTION;
		goto out;
	}
	if (!service || strcmp(q.service_id, service) != 0) {
		q.code = C_REQUEST;
		goto out;
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		struct store_conn *c = NULL;

		q.code = C_OK;
		q.with_id = q.changed = false;
		rc = store_conn_get(a->store, &c, &e);
		if (!rc) {
			rc = store_begin(c, &e);
			if (!rc)
				rc = action == 0 ? prepare(c, &q, now, &e)
				                 : complete(c, &q, now, &e);
			if (!rc && q.changed)
				rc = record(c, &q, action == 0 ? "prepare" : "complete", now, &e);
			if (!rc)
				rc = store_commit(c, &e);
			if (rc)
				store_rollback(c);
			store_conn_put(a->store, c);
		}
		if (rc != -ERR_EXISTS && rc != -ERR_BUSY)
			break;
	}
	if (rc) {
		log_error("msg=\"click call failed\" action=%d error=\"%s\"", action, e.msg);
		q.code = C_UPDATE;
		q.with_id = false;
	}
out:
	*answer = answer_of(&q, action);
	*code = q.code;
	json_decref(q.f);
}

int click_pay_url(const struct app *a, const struct billing_order *o, const char *return_url,
                  char *out, size_t n)
{
	const char *service = app_str(a, SET_CLICK_SERVICE_ID);
	const char *merchant = app_str(a, SET_CLICK_MERCHANT_ID);
	const char *base = app_str(a, SET_CLICK_CHECKOUT_URL);
	char amount[MONEY_TEXT_MAX], oid[24];
	struct buf b;
	int rc = 0;

	if (!service || !merchant || !base ||
	    money_to_major(o->amount, "UZS", amount, sizeof(amount)))
		return -ERR_INVALID;
	snprintf(oid, sizeof(oid), "%lld", (long long)o->id);
	buf_init(&b, n);
	rc |= buf_adds(&b, base);
	rc |= buf_adds(&b, "?service_id=");
	rc |= hc_urlencode(&b, service, strlen(service));
	rc |= buf_adds(&b, "&merchant_id=");
	rc |= hc_urlencode(&b, merchant, strlen(merchant));
	rc |= buf_adds(&b, "&amount=");
	rc |= buf_adds(&b, amount);
	rc |= buf_adds(&b, "&transaction_param=");
	rc |= buf_adds(&b, oid);
	if (return_url) {
		rc |= buf_adds(&b, "&return_url=");
		rc |= hc_urlencode(&b, return_url, strlen(return_url));
	}
	if (!rc && b.len < n) {
		memcpy(out, b.p, b.len);
		out[b.len] = '\0';
	} else {
		rc = -ERR_INVALID;
	}
	buf_release(&b);
	return rc ? -ERR_INVALID : 0;
}

struct refund_arg {
	const struct billing_refund *p;
	const char *reason;
	struct billing_effect *ef;
};

static int refund_tx(struct store_conn *c, void *arg, struct err *e)
{
	struct refund_arg *x = arg;
	char id[160];

	snprintf(id, sizeof(id), "reversal:%s", x->p->provider_payment_id);
	return billing_refunded(c, BP_CLICK, x->p->provider_payment_id, id, x->p->amount_paid,
	                        x->reason, clock_app_ms(), x->ef, e);
}

int click_refund(struct app *a, const struct billing_refund *p, int64_t amount, const char *reason,
                 struct billing_effect *ef, struct err *e)
{
	const char *base = app_str(a, SET_CLICK_API),
	           *user = app_str(a, SET_CLICK_MERCHANT_USER_ID);
	const char *secret = app_str(a, SET_CLICK_SECRET_KEY),
	           *service = app_str(a, SET_CLICK_SERVICE_ID);
	char ts[24], digest[CRYPTO_SHA1_HEX], auth[256], url[1024];
	struct hc_req rq = {.method = "DELETE", .url = url, .timeout_ms = 15000};
	struct hc_resp rs;
	struct refund_arg x = {p, reason, ef};
	json_t *v;
	int rc;

	if (!base || !user || !secret || !service)
		return err_set(
		    e, ERR_UNAVAILABLE,
		    "Click refunds need HERALD_CLICK_MERCHANT_USER_ID and the Click settings");
	if (amount != p->amount_paid || p->refunded_before)
		return err_set(e, ERR_UNAVAILABLE, "Click reverses a payment in full only");
	/* the product clock: real time in production; with HERALD_TEST_CLOCK
	 * moved, Click's clock (the simulator's) has moved with it */
	snprintf(ts, sizeof(ts), "%lld", (long long)(clock_app_ms() / 1000));
	crypto_sha1_hex((struct str[]){str_c(ts), str_c(secret)}, 2, digest);
	snprintf(auth, sizeof(auth), "Auth: %s:%s:%s", user, digest, ts);
	snprintf(url, sizeof(url), "%s/payment/reversal/%s/%s", base, service,
	         p->provider_payment_id);
	rq.headers[0] = "Accept: application/json";
	rq.headers[1] = "Content-Type: application/json";
	rq.headers[2] = auth;
	rc = hc_do(&rq, &rs, e);
	if (rc) {
		hc_resp_release(&rs);
		return rc;
	}
	v = json_loadb(rs.body.p, rs.body.len, 0, NULL);
	if (rs.status != 200 || !json_is_integer(json_object_get(v, "error_code")) ||
	    json_integer_value(json_object_get(v, "error_code")) != 0) {
		const char *note = json_string_value(json_object_get(v, "error_note"));

		rc = err_set(e, ERR_UNAVAILABLE,
		             "Click refused the reversal (HTTP %ld, error %lld: %s)", rs.status,
		             (long long)json_integer_value(json_object_get(v, "error_code")),
		             note ? note : "no note");
	}
	json_decref(v);
	hc_resp_release(&rs);
	if (rc)
		return rc;
	return store_tx(a->store, refund_tx, &x, e);
}
