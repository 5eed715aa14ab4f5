/*
 * payme: the Payme driver (protocols.md C; docs/sim-payme-click.md).
 *
 * Payme calls the merchant, so this plays Payme: it POSTs JSON-RPC requests
 * to the configured endpoint with Basic credentials ("Paycom" and the
 * cashbox key), as text/json (or application/json), with ids of 24 hex
 * characters and times in milliseconds from its own clock (the real clock
 * plus an offset the control API moves). The control API runs one call, or
 * a flow: pay, cancel, the sandbox's scenarios (C.9) and the 12-hour
 * timeout, each returning every step with what was expected and whether the
 * answer met it. Create, Perform and Cancel are sent twice, the second time
 * with the same bytes, and the second answer must be byte-identical.
 *
 * GET /payme/<base64> is the checkout page (C.8): it decodes the
 * parameters, shows the order, and Pay runs the pay flow.
 *
 * Configuration and the log of calls are guarded by mu; a flow copies the
 * configuration first and makes its calls without the lock.
 */
#include "sim/drivers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/mem.h"
#include "sim/sim_impl.h"

#define PAYME_LOGIN      "Paycom"
#define PAYME_EXPIRY_MS  43200000LL /* 12 hours (C.5) */
#define PAYME_CT_DEFAULT "text/json; charset=UTF-8"
#define PAYME_AMOUNT_MAX 1000000000000000LL /* tiyin; far above any real payment */
#define PAYME_OFFSET_MAX (10LL * 366 * 86400000)
#define PAYME_CT_MAX     64
#define PAYME_METHOD_MAX 64

struct sim_payme {
	pthread_mutex_t mu;
	char *endpoint, *key, *merchant;    /* NULL: unset */
	char *endpoint0, *key0, *merchant0; /* the command line's, for reset */
	char content_type[PAYME_CT_MAX];
	bool jsonrpc;
	long timeout_ms;
	int64_t offset_ms; /* the clock: real time plus this */
	int64_t next_rpc_id;
	uint32_t counter; /* for transaction ids */
	struct drv_log calls;
};

enum auth { AUTH_RIGHT, AUTH_WRONG_KEY, AUTH_WRONG_LOGIN, AUTH_NONE };

static const char *const auth_names[] = {"right", "wrong_key", "wrong_login", "none"};

/* A flow's copy of the configuration. */
struct pm {
	struct sim_payme *p;
	char endpoint[DRV_URL_MAX + 1];
	char merchant[DRV_FIELD_MAX + 1];
	char content_type[PAYME_CT_MAX];
	bool jsonrpc;
	long timeout_ms;
	int64_t offset_ms;
	char authz[4][DRV_SECRET_MAX * 2]; /* "Authorization: Basic ..." by enum auth */
};

/* One request and its answer. */
struct pm_x {
	char method[PAYME_METHOD_MAX];
	int64_t rpc_id; /* 0: none (a raw body) */
	enum auth auth;
	bool repeat;
	char http_method[16];
	char content_type[PAYME_CT_MAX];
	struct buf req; /* the body sent */
	struct drv_call c;
};

static char *dup_opt(const char *v)
{
	return v ? xstrdup(v) : NULL;
}

static int64_t now_ms(const struct pm *m)
{
	return clock_now_ms() + m->offset_ms;
}

static void auth_line(char *out, size_t outsz, const char *login, const char *key)
{
	char plain[DRV_SECRET_MAX + 64], b64[4 * (sizeof(plain) + 2) / 3 + 1];
	int n = snprintf(plain, sizeof(plain), "%s:%s", login, key);

	/* bounded by the key's check */
	if (n < 0 || (size_t)n >= sizeof(plain) ||
	    !crypto_base64(plain, (size_t)n, b64, sizeof(b64)))
		abort();
	snprintf(out, outsz, "Authorization: Basic %s", b64);
	explicit_bzero(plain, sizeof(plain));
}

/* Copy the configuration for a flow; -ERR_CONFLICT when no endpoint or key
 * is set. Release m with pm_release (it holds the key in header lines). */
static int pm_load(struct sim_payme *p, struct pm *m)
{
	const char *wrong = "not-the-key";
	int rc = 0;

	memset(m, 0, sizeof(*m));
	m->p = p;
	pthread_mutex_lock(&p->mu);
	if (!p->endpoint || !p->key) {
		rc = -ERR_CONFLICT;
	} else {
		snprintf(m->endpoint, sizeof(m->endpoint), "%s", p->endpoint);
		snprintf(m->merchant, sizeof(m->merchant), "%s", p->merchant ? p->merchant : "");
		snprintf(m->content_type, sizeof(m->content_type), "%s", p->content_type);
		m->jsonrpc = p->jsonrpc;
		m->timeout_ms = p->timeout_ms;
		m->offset_ms = p->offset_ms;
		if (strcmp(p->key, wrong) == 0)
			wrong = "not-the-key-either";
		auth_line(m->authz[AUTH_RIGHT], sizeof(m->authz[0]), PAYME_LOGIN, p->key);
		auth_line(m->authz[AUTH_WRONG_KEY], sizeof(m->authz[0]), PAYME_LOGIN, wrong);
		auth_line(m->authz[AUTH_WRONG_LOGIN], sizeof(m->authz[0]), "Payme", p->key);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static void pm_release(struct pm *m)
{
	/* the key is in the header lines */
	memset(m->authz, 0, sizeof(m->authz));
}

/* A new Payme transaction id: 24 hex characters, as Mongo's ObjectId. */
static void new_id(struct pm *m, char out[25])
{
	uint32_t r, n;

	crypto_random(&r, sizeof(r));
	pthread_mutex_lock(&m->p->mu);
	n = ++m->p->counter;
	pthread_mutex_unlock(&m->p->mu);
	snprintf(out, 25, "%08x%08x%08x", (unsigned)(uint32_t)(now_ms(m) / 1000), (unsigned)r,
	         (unsigned)n);
}

static void x_release(struct pm_x *x)
{
	buf_release(&x->req);
	drv_call_release(&x->c);
}

/* The request as JSON for a report (a raw body that is not JSON: a string). */
static json_t *x_request(const struct pm_x *x)
{
	json_t *v = json_loadb(x->req.p, x->req.len, 0, NULL);

	return v ? v : json_stringn(x->req.p, x->req.len);
}

/* Send x->req and record the call. */
static void x_send(struct pm *m, struct pm_x *x)
{
	json_t *rec;

	x->c.method = x->http_method[0] ? x->http_method : "POST";
	x->c.url = m->endpoint;
	x->c.content_type = x->content_type[0] ? x->content_type : m->content_type;
	x->c.headers[0] = x->auth == AUTH_NONE ? NULL : m->authz[x->auth];
	x->c.body = x->req.p;
	x->c.body_len = x->req.len;
	x->c.timeout_ms = m->timeout_ms;
	drv_call_do(&x->c);

	rec =
	    json_pack("{s:I, s:s, s:o, s:s, s:b, s:s, s:s}", "at_ms", (json_int_t)now_ms(m),
	              "method", x->method, "id", x->rpc_id ? json_integer(x->rpc_id) : json_null(),
	              "auth", auth_names[x->auth], "repeat", x->repeat, "http_method", x->c.method,
	              "content_type", x->c.content_type);
	{
		json_t *req = x_request(x);
		json_t *params = json_is_object(req) ? json_object_get(req, "params") : NULL;

		json_object_set(rec, "params", params ? params : json_null());
		json_object_set_new(rec, "request", req);
	}
	drv_call_json(&x->c, rec);
	pthread_mutex_lock(&m->p->mu);
	drv_log_add(&m->p->calls, rec);
	pthread_mutex_unlock(&m->p->mu);
}

/* Build the envelope of method with params (stolen) and send it. */
static void x_call(struct pm *m, struct pm_x *x, const char *method, json_t *params, enum auth auth)
{
	json_t *env = json_object();
	char *s;

	memset(x, 0, sizeof(*x));
	snprintf(x->method, sizeof(x->method), "%s", method);
	x->auth = auth;
	pthread_mutex_lock(&m->p->mu);
	x->rpc_id = ++m->p->next_rpc_id;
	pthread_mutex_unlock(&m->p->mu);
	if (m->jsonrpc)
		json_object_set_new(env, "jsonrpc", json_string("2.0"));
	json_object_set_new(env, "method", json_string(method));
	json_object_set_new(env, "params", params);
	json_object_set_new(env, "id", json_integer(x->rpc_id));
	s = json_dumps(env, JSON_COMPACT);
	buf_init(&x->req, DRV_MAX_REQUEST * 2);
	if (buf_adds(&x->req, s))
		abort(); /* params were bounded by the caller */
	free(s);
	json_decref(env);
	x_send(m, x);
}

/* Send first's bytes again, as Payme does when it retries. */
static void x_repeat(struct pm *m, struct pm_x *x, const struct pm_x *first)
{
	memset(x, 0, sizeof(*x));
	memcpy(x->method, first->method, sizeof(x->method));
	memcpy(x->http_method, first->http_method, sizeof(x->http_method));
	memcpy(x->content_type, first->content_type, sizeof(x->content_type));
	x->rpc_id = first->rpc_id;
	x->auth = first->auth;
	x->repeat = true;
	buf_init(&x->req, first->req.max);
	if (buf_add(&x->req, first->req.p, first->req.len))
		abort();
	x_send(m, x);
}

/* ---- judging answers ---- */

enum ek { E_ERROR, E_ALLOW, E_CREATED, E_PERFORMED, E_CANCELLED, E_CHECK, E_STATEMENT, E_SAME };

struct ex {
	enum ek k;
	int lo, hi;               /* E_ERROR: the code range */
	int state;                /* E_CANCELLED (0: -1 or -2), E_CHECK */
	int reason;               /* E_CHECK: 0 for null */
	const struct pm_x *ref;   /* E_CHECK: the CreateTransaction to agree with */
	const struct pm_x *first; /* E_SAME */
	bool first_pass;
	bool or_31007; /* E_CANCELLED: -31007 is also right */
};

static void describe(const struct ex *e, char *out, size_t n)
{
	switch (e->k) {
	case E_ERROR:
		if (e->lo == e->hi)
			snprintf(out, n, "error %d", e->lo);
		else
			snprintf(out, n, "error %d..%d with a localized message", e->hi, e->lo);
		break;
	case E_ALLOW:
		snprintf(out, n, "result.allow true");
		break;
	case E_CREATED:
		snprintf(out, n, "result with state 1, create_time and transaction (a string)");
		break;
	case E_PERFORMED:
		snprintf(out, n, "result with state 2, perform_time and transaction");
		break;
	case E_CANCELLED:
		if (e->state)
			snprintf(out, n, "result with state %d, cancel_time and transaction%s",
			         e->state, e->or_31007 ? " (or error -31007)" : "");
		else
			snprintf(out, n, "result with state -1 or -2, cancel_time and transaction");
		break;
	case E_CHECK:
		if (e->reason)
			snprintf(out, n, "result with state %d and reason %d%s", e->state,
			         e->reason,
			         e->ref ? ", create_time and transaction as created" : "");
		else
			snprintf(out, n, "result with state %d and reason null%s", e->state,
			         e->ref ? ", create_time and transaction as created" : "");
		break;
	case E_STATEMENT:
		snprintf(out, n, "result.transactions, an array");
		break;
	case E_SAME:
		snprintf(out, n, "the first answer again, byte for byte");
		break;
	}
}

static int64_t int_of(const json_t *o, const char *key, bool *ok)
{
	json_t *v = json_object_get(o, key);

	*ok = json_is_integer(v);
	return *ok ? json_integer_value(v) : 0;
}

/* The answer is an HTTP 200 JSON object with the request's id. */
static bool envelope_ok(const struct pm_x *x, char *why, size_t n)
{
	json_t *id;

	if (x->c.error[0]) {
		snprintf(why, n, "no answer: %.160s", x->c.error);
		return false;
	}
	if (x->c.status != 200) {
		snprintf(why, n, "HTTP %ld; every answer must be HTTP 200 (C.1)", x->c.status);
		return false;
	}
	if (!json_is_object(x->c.json)) {
		snprintf(why, n, "the answer is not a JSON object");
		return false;
	}
	id = json_object_get(x->c.json, "id");
	if (x->rpc_id && (!json_is_integer(id) || json_integer_value(id) != x->rpc_id)) {
		snprintf(why, n, "the answer's id is not the request's %lld", (long long)x->rpc_id);
		return false;
	}
	return true;
}

/* The result object; NULL with why set when there is none. */
static const json_t *result_of(const struct pm_x *x, char *why, size_t n)
{
	json_t *res = json_object_get(x->c.json, "result");
	json_t *err = json_object_get(x->c.json, "error");

	if (json_is_object(err)) {
		snprintf(why, n, "error %lld instead of a result",
		         (long long)json_integer_value(json_object_get(err, "code")));
		return NULL;
	}
	if (!json_is_object(res)) {
		snprintf(why, n, "no result object");
		return NULL;
	}
	return res;
}

static bool transaction_ok(const json_t *res, char *why, size_t n)
{
	const char *t = json_string_value(json_object_get(res, "transaction"));

	if (!t || !*t) {
		snprintf(why, n, "result.transaction is not a non-empty string");
		return false;
	}
	return true;
}

static bool judge_error(const struct pm_x *x, const struct ex *e, char *why, size_t n)
{
	json_t *err = json_object_get(x->c.json, "error"), *msg;
	bool ok;
	int64_t code;

	if (json_object_get(x->c.json, "result")) {
		snprintf(why, n, "a result instead of error %d", e->lo);
		return false;
	}
	if (!json_is_object(err)) {
		snprintf(why, n, "no error object");
		return false;
	}
	code = int_of(err, "code", &ok);
	if (!ok || code > e->lo || code < e->hi) {
		if (e->lo == e->hi)
			snprintf(why, n, "error %lld, not %d", (long long)code, e->lo);
		else
			snprintf(why, n, "error %lld, not in %d..%d", (long long)code, e->hi,
			         e->lo);
		return false;
	}
	msg = json_object_get(err, "message");
	if (e->lo <= -31050 && e->hi >= -31099 && !json_is_object(msg)) {
		snprintf(why, n, "the message of an account error must be localized (C.2)");
		return false;
	}
	return true;
}

static bool judge_check(const struct pm_x *x, const struct ex *e, const json_t *res, char *why,
                        size_t n)
{
	bool ok1, ok2, ok3, ok4;
	int64_t st = int_of(res, "state", &ok1), ct = int_of(res, "create_time", &ok2),
	        pt = int_of(res, "perform_time", &ok3), kt = int_of(res, "cancel_time", &ok4);
	json_t *reason = json_object_get(res, "reason");

	(void)x;
	if (!ok1 || st != e->state) {
		snprintf(why, n, "state %lld, not %d", (long long)st, e->state);
		return false;
	}
	if (!ok2 || !ok3 || !ok4 || ct <= 0) {
		snprintf(why, n, "create_time, perform_time and cancel_time must be integers");
		return false;
	}
	if ((st == 2 || st == -2) != (pt > 0)) {
		snprintf(why, n, "perform_time %lld does not fit state %lld", (long long)pt,
		         (long long)st);
		return false;
	}
	if ((st < 0) != (kt > 0)) {
		snprintf(why, n, "cancel_time %lld does not fit state %lld", (long long)kt,
		         (long long)st);
		return false;
	}
	if (!e->reason && reason && !json_is_null(reason)) {
		snprintf(why, n, "reason must be null");
		return false;
	}
	if (e->reason && (!json_is_integer(reason) || json_integer_value(reason) != e->reason)) {
		snprintf(why, n, "reason is not %d", e->reason);
		return false;
	}
	if (!transaction_ok(res, why, n))
		return false;
	if (e->ref && e->ref->c.json) {
		const json_t *cr = json_object_get(e->ref->c.json, "result");

		if (!json_equal(json_object_get(cr, "create_time"),
		                json_object_get(res, "create_time")) ||
		    !json_equal(json_object_get(cr, "transaction"),
		                json_object_get(res, "transaction"))) {
			snprintf(why, n,
			         "create_time or transaction differ from CreateTransaction's");
			return false;
		}
	}
	return true;
}

static bool judge(const struct pm_x *x, const struct ex *e, char *why, size_t n)
{
	const json_t *res;
	bool ok;
	int64_t v;

	if (e->k == E_SAME) {
		if (!drv_call_same(&x->c, &e->first->c)) {
			snprintf(why, n, "the answer differs from the first one");
			return false;
		}
		if (!e->first_pass) {
			snprintf(why, n, "identical, but the first answer was wrong");
			return false;
		}
		return true;
	}
	if (!envelope_ok(x, why, n))
		return false;
	if (e->k == E_ERROR)
		return judge_error(x, e, why, n);
	if (e->k == E_CANCELLED && e->or_31007 && json_object_get(x->c.json, "error")) {
		struct ex alt = {.k = E_ERROR, .lo = -31007, .hi = -31007};

		return judge_error(x, &alt, why, n);
	}
	if (!(res = result_of(x, why, n)))
		return false;
	switch (e->k) {
	case E_ALLOW:
		if (!json_is_true(json_object_get(res, "allow"))) {
			snprintf(why, n, "allow is not true");
			return false;
		}
		return true;
	case E_CREATED:
	case E_PERFORMED:
	case E_CANCELLED: {
		const char *tf = e->k == E_CREATED     ? "create_time"
		                 : e->k == E_PERFORMED ? "perform_time"
		                                       : "cancel_time";
		int want = e->k == E_CREATED ? 1 : e->k == E_PERFORMED ? 2 : e->state;

		v = int_of(res, "state", &ok);
		if (!ok || (want && v != want) || (!want && v != -1 && v != -2)) {
			snprintf(why, n, "state %lld is wrong", (long long)v);
			return false;
		}
		v = int_of(res, tf, &ok);
		if (!ok || v <= 0) {
			snprintf(why, n, "%s is not a positive integer", tf);
			return false;
		}
		return transaction_ok(res, why, n);
	}
	case E_CHECK:
		return judge_check(x, e, res, why, n);
	case E_STATEMENT:
		if (!json_is_array(json_object_get(res, "transactions"))) {
			snprintf(why, n, "result.transactions is not an array");
			return false;
		}
		return true;
	default:
		return false;
	}
}

/* Judge x, add its step to steps; whether it passed. */
static bool step(json_t *steps, const char *label, const char *what, const struct pm_x *x,
                 const struct ex *e)
{
	char expected[160], why[200] = "";
	bool pass = judge(x, e, why, sizeof(why));
	json_t *st;

	describe(e, expected, sizeof(expected));
	st = drv_step(label, what, x_request(x), &x->c, expected, pass, why);
	json_object_set_new(st, "method", json_string(x->method));
	json_object_set_new(st, "auth", json_string(auth_names[x->auth]));
	json_object_set_new(st, "repeat", json_boolean(x->repeat));
	json_array_append_new(steps, st);
	return pass;
}

/* ---- params ---- */

static json_t *p_check(const json_t *account, int64_t amount)
{
	return json_pack("{s:I, s:O}", "amount", (json_int_t)amount, "account", account);
}

static json_t *p_create(const char *id, int64_t time, const json_t *account, int64_t amount)
{
	return json_pack("{s:s, s:I, s:I, s:O}", "id", id, "time", (json_int_t)time, "amount",
	                 (json_int_t)amount, "account", account);
}

static json_t *p_id(const char *id)
{
	return json_pack("{s:s}", "id", id);
}

static json_t *p_cancel(const char *id, int reason)
{
	return json_pack("{s:s, s:i}", "id", id, "reason", reason);
}

/* ---- flows ---- */

/*
 * Check, Create (+ repeat), Perform (+ repeat) for account and amount at
 * time; every step into steps; the Payme id into id. Stops at the first
 * wrong answer of a call that a later one depends on.
 */
static void flow_pay(struct pm *m, const json_t *account, int64_t amount, int64_t time,
                     json_t *steps, char id[25])
{
	struct pm_x chk, cr, cr2, pf, pf2;
	bool ok;

	new_id(m, id);
	x_call(m, &chk, "CheckPerformTransaction", p_check(account, amount), AUTH_RIGHT);
	ok = step(steps, "1", "may the order be paid", &chk, &(struct ex){.k = E_ALLOW});
	x_release(&chk);
	if (!ok)
		return;
	x_call(m, &cr, "CreateTransaction", p_create(id, time, account, amount), AUTH_RIGHT);
	ok = step(steps, "2", "create the transaction", &cr, &(struct ex){.k = E_CREATED});
	if (ok) {
		x_repeat(m, &cr2, &cr);
		step(steps, "3", "create again (a retry)", &cr2,
		     &(struct ex){.k = E_SAME, .first = &cr, .first_pass = ok});
		x_release(&cr2);
	}
	x_release(&cr);
	if (!ok)
		return;
	x_call(m, &pf, "PerformTransaction", p_id(id), AUTH_RIGHT);
	ok =
	    step(steps, "4", "perform (the money is debited)", &pf, &(struct ex){.k = E_PERFORMED});
	if (ok) {
		x_repeat(m, &pf2, &pf);
		step(steps, "5", "perform again (a retry)", &pf2,
		     &(struct ex){.k = E_SAME, .first = &pf, .first_pass = ok});
		x_release(&pf2);
	}
	x_release(&pf);
}

/* CancelTransaction of id with reason, and its repeat. */
static void flow_cancel(struct pm *m, const char *id, int reason, int state, bool repeat,
                        json_t *steps)
{
	struct pm_x a, b;
	bool ok;

	x_call(m, &a, "CancelTransaction", p_cancel(id, reason), AUTH_RIGHT);
	ok = step(steps, "1", "cancel", &a, &(struct ex){.k = E_CANCELLED, .state = state});
	if (repeat) {
		x_repeat(m, &b, &a);
		step(steps, "2", "cancel again (a retry)", &b,
		     &(struct ex){.k = E_SAME, .first = &a, .first_pass = ok});
		x_release(&b);
	}
	x_release(&a);
}

struct order {
	json_t *account; /* owned */
	int64_t amount;
};

static const char *const all_methods[] = {
    "CheckPerformTransaction", "CreateTransaction", "PerformTransaction",
    "CancelTransaction",       "CheckTransaction",  "GetStatement",
};

static json_t *params_for(struct pm *m, const char *method, const struct order *o)
{
	char id[25];
	int64_t now = now_ms(m);

	new_id(m, id);
	if (strcmp(method, "CheckPerformTransaction") == 0)
		return p_check(o->account, o->amount);
	if (strcmp(method, "CreateTransaction") == 0)
		return p_create(id, now, o->account, o->amount);
	if (strcmp(method, "CancelTransaction") == 0)
		return p_cancel(id, 3);
	if (strcmp(method, "GetStatement") == 0)
		return json_pack("{s:I, s:I}", "from", (json_int_t)(now - 3600000), "to",
		                 (json_int_t)now);
	return p_id(id);
}

/* CreateTransaction of id for o into cr (kept for later checks), and its
 * repeat. */
static void create_block(struct pm *m, json_t *steps, const char *label, const struct order *o,
                         const char *id, struct pm_x *cr)
{
	struct pm_x x;
	bool ok;

	x_call(m, cr, "CreateTransaction", p_create(id, now_ms(m), o->account, o->amount),
	       AUTH_RIGHT);
	ok = step(steps, label, "create the transaction", cr, &(struct ex){.k = E_CREATED});
	x_repeat(m, &x, cr);
	step(steps, label, "create again with the same id", &x,
	     &(struct ex){.k = E_SAME, .first = cr, .first_pass = ok});
	x_release(&x);
}

/* CreateTransaction of a new id for the same order: -31008 (C.7). */
static void second_create(struct pm *m, json_t *steps, const char *label, const struct order *o)
{
	struct pm_x x;
	char id2[25];

	new_id(m, id2);
	x_call(m, &x, "CreateTransaction", p_create(id2, now_ms(m), o->account, o->amount),
	       AUTH_RIGHT);
	step(steps, label, "a second transaction for the same order", &x,
	     &(struct ex){.k = E_ERROR, .lo = -31008, .hi = -31008});
	x_release(&x);
}

static void check_tx(struct pm *m, json_t *steps, const char *label, const char *id, int state,
                     int reason, const struct pm_x *ref)
{
	struct pm_x x;

	x_call(m, &x, "CheckTransaction", p_id(id), AUTH_RIGHT);
	step(steps, label, "check the transaction", &x,
	     &(struct ex){.k = E_CHECK, .state = state, .reason = reason, .ref = ref});
	x_release(&x);
}

/* The sandbox's scenarios (C.9). */
static void flow_sandbox(struct pm *m, const struct order *o1, const struct order *o2,
                         const json_t *unknown, int64_t wrong_amount, const json_t *methods,
                         bool allow_31007, json_t *steps)
{
	struct order bad = {.account = (json_t *)unknown, .amount = o1->amount};
	struct order wrong = {.account = o1->account, .amount = wrong_amount};
	struct pm_x x, y, cr;
	char a[25], c[25];
	bool ok, refused = false;
	size_t i;

	/* 1.1 wrong credentials on every method */
	for (i = 0; i < ARRAY_SIZE(all_methods); i++) {
		const char *meth = all_methods[i];
		bool on = !methods;
		size_t j;
		json_t *v;

		json_array_foreach(methods, j, v)
		{
			if (json_is_string(v) && strcmp(json_string_value(v), meth) == 0)
				on = true;
		}
		if (!on)
			continue;
		x_call(m, &x, meth, params_for(m, meth, o1), AUTH_WRONG_KEY);
		step(steps, "1.1", "wrong credentials", &x,
		     &(struct ex){.k = E_ERROR, .lo = -32504, .hi = -32504});
		x_release(&x);
	}
	/* 1.2 wrong amount */
	x_call(m, &x, "CheckPerformTransaction", p_check(wrong.account, wrong.amount), AUTH_RIGHT);
	step(steps, "1.2", "a wrong amount", &x,
	     &(struct ex){.k = E_ERROR, .lo = -31001, .hi = -31001});
	x_release(&x);
	x_call(m, &x, "CreateTransaction", params_for(m, "CreateTransaction", &wrong), AUTH_RIGHT);
	step(steps, "1.2", "a wrong amount", &x,
	     &(struct ex){.k = E_ERROR, .lo = -31001, .hi = -31001});
	x_release(&x);
	/* 1.3 an order that does not exist */
	x_call(m, &x, "CheckPerformTransaction", p_check(bad.account, bad.amount), AUTH_RIGHT);
	step(steps, "1.3", "an unknown order", &x,
	     &(struct ex){.k = E_ERROR, .lo = -31050, .hi = -31099});
	x_release(&x);
	x_call(m, &x, "CreateTransaction", params_for(m, "CreateTransaction", &bad), AUTH_RIGHT);
	step(steps, "1.3", "an unknown order", &x,
	     &(struct ex){.k = E_ERROR, .lo = -31050, .hi = -31099});
	x_release(&x);
	/* 1.4 - 1.10 */
	x_call(m, &x, "CheckPerformTransaction", p_check(o1->account, o1->amount), AUTH_RIGHT);
	step(steps, "1.4", "may the order be paid", &x, &(struct ex){.k = E_ALLOW});
	x_release(&x);
	new_id(m, a);
	x_call(m, &cr, "CreateTransaction", p_create(a, now_ms(m), o1->account, o1->amount),
	       AUTH_RIGHT);
	ok = step(steps, "1.5", "create the transaction", &cr, &(struct ex){.k = E_CREATED});
	x_repeat(m, &x, &cr);
	step(steps, "1.6", "create again with the same id", &x,
	     &(struct ex){.k = E_SAME, .first = &cr, .first_pass = ok});
	x_release(&x);
	check_tx(m, steps, "1.7", a, 1, 0, &cr);
	second_create(m, steps, "1.8", o1);
	x_call(m, &x, "CancelTransaction", p_cancel(a, 3), AUTH_RIGHT);
	ok = step(steps, "1.9", "cancel before perform", &x,
	          &(struct ex){.k = E_CANCELLED, .state = -1});
	x_repeat(m, &y, &x);
	step(steps, "1.9", "cancel again", &y,
	     &(struct ex){.k = E_SAME, .first = &x, .first_pass = ok});
	x_release(&x);
	x_release(&y);
	check_tx(m, steps, "1.10", a, -1, 3, &cr);
	x_release(&cr);

	/* scenario 2 */
	x_call(m, &x, "CheckPerformTransaction", p_check(o2->account, o2->amount), AUTH_RIGHT);
	step(steps, "2.1", "may the order be paid", &x, &(struct ex){.k = E_ALLOW});
	x_release(&x);
	new_id(m, c);
	create_block(m, steps, "2.2", o2, c, &cr);
	check_tx(m, steps, "2.2", c, 1, 0, &cr);
	second_create(m, steps, "2.2", o2);
	x_call(m, &x, "PerformTransaction", p_id(c), AUTH_RIGHT);
	ok = step(steps, "2.3", "perform", &x, &(struct ex){.k = E_PERFORMED});
	x_repeat(m, &y, &x);
	step(steps, "2.3", "perform again", &y,
	     &(struct ex){.k = E_SAME, .first = &x, .first_pass = ok});
	x_release(&x);
	x_release(&y);
	check_tx(m, steps, "2.4", c, 2, 0, &cr);
	x_call(m, &x, "CancelTransaction", p_cancel(c, 5), AUTH_RIGHT);
	ok = step(steps, "2.5", "cancel after perform (a refund)", &x,
	          &(struct ex){.k = E_CANCELLED, .state = -2, .or_31007 = allow_31007});
	refused = ok && json_object_get(x.c.json, "error");
	x_repeat(m, &y, &x);
	step(steps, "2.5", "cancel again", &y,
	     &(struct ex){.k = E_SAME, .first = &x, .first_pass = ok});
	x_release(&x);
	x_release(&y);
	if (refused)
		check_tx(m, steps, "2.6", c, 2, 0, &cr);
	else
		check_tx(m, steps, "2.6", c, -2, 5, &cr);
	x_release(&cr);
}

/* A transaction created with a time older than 12 hours. */
static void flow_timeout(struct pm *m, const json_t *account, int64_t amount, int64_t age_ms,
                         bool via_create, json_t *steps, char id[25])
{
	struct pm_x chk, cr, x;
	struct ex e31008 = {.k = E_ERROR, .lo = -31008, .hi = -31008};

	new_id(m, id);
	x_call(m, &chk, "CheckPerformTransaction", p_check(account, amount), AUTH_RIGHT);
	step(steps, "1", "may the order be paid", &chk, &(struct ex){.k = E_ALLOW});
	x_release(&chk);
	x_call(m, &cr, "CreateTransaction", p_create(id, now_ms(m) - age_ms, account, amount),
	       AUTH_RIGHT);
	step(steps, "2", "create with a time older than 12 hours", &cr,
	     &(struct ex){.k = E_CREATED});
	if (via_create) {
		x_repeat(m, &x, &cr);
		step(steps, "3", "create again: expired, cancelled", &x, &e31008);
		x_release(&x);
		x_call(m, &x, "PerformTransaction", p_id(id), AUTH_RIGHT);
		step(steps, "4", "perform the expired transaction", &x, &e31008);
		x_release(&x);
	} else {
		x_call(m, &x, "PerformTransaction", p_id(id), AUTH_RIGHT);
		step(steps, "3", "perform: expired, cancelled", &x, &e31008);
		x_release(&x);
		x_repeat(m, &x, &cr);
		step(steps, "4", "create again with the same id", &x, &e31008);
		x_release(&x);
	}
	check_tx(m, steps, "5", id, -1, 4, &cr);
	x_release(&cr);
}

/* ---- the control API ---- */

static struct sim_payme *payme_of(struct http_req *r)
{
	return ((struct sim *)r->ctx)->payme;
}

/* Load the configuration for a flow; -1 after answering 409 when unset. */
static int load(struct http_req *r, struct pm *m)
{
	if (!pm_load(payme_of(r), m))
		return 0;
	drv_fail(r, 409,
	         "the payme endpoint or key is not set (--payme-endpoint, --payme-key "
	         "or POST /control/payme/config)");
	return -1;
}

/*
 * An order of a control body: {"order_id": "197", "amount": 500} or
 * {"account": {...}, "amount": 500}; field names the account field. 0, or
 * -1 after answering 400.
 */
static int order_read(struct http_req *r, const json_t *o, const char *field, const char *what,
                      struct order *out)
{
	json_t *acc = json_object_get(o, "account"), *oid = json_object_get(o, "order_id");
	char *dump;
	size_t len;

	out->account = NULL;
	if (!json_is_object(o)) {
		drv_fail(r, 400, "%s must be an object", what);
		return -1;
	}
	if (drv_get_i64(o, "amount", &out->amount) || out->amount < 1 ||
	    out->amount > PAYME_AMOUNT_MAX) {
		drv_fail(r, 400, "%s: amount must be a positive integer of tiyin", what);
		return -1;
	}
	if (json_is_object(acc)) {
		dump = json_dumps(acc, JSON_COMPACT);
		len = dump ? strlen(dump) : 0;
		free(dump);
		if (!json_object_size(acc) || len > 4096) {
			drv_fail(r, 400, "%s: account must be a non-empty object under 4 KiB",
			         what);
			return -1;
		}
		out->account = json_deep_copy(acc);
		return 0;
	}
	if ((json_is_string(oid) && drv_text_ok(json_string_value(oid), DRV_FIELD_MAX) &&
	     json_string_length(oid)) ||
	    json_is_integer(oid)) {
		out->account = json_pack("{s:O}", field, oid);
		return 0;
	}
	drv_fail(r, 400, "%s: order_id (a string of at most %d bytes) or account is required", what,
	         DRV_FIELD_MAX);
	return -1;
}

/* The account field name of a body ("order_id" unless given). */
static const char *account_field(const json_t *b)
{
	const char *f = drv_get_str(b, "account_field");

	return f && *f && drv_text_ok(f, 64) ? f : "order_id";
}

static json_t *config_json(struct sim_payme *p)
{
	json_t *o;

	pthread_mutex_lock(&p->mu);
	o = json_pack("{s:o, s:s, s:b, s:o, s:s, s:b, s:I, s:I}", "endpoint",
	              p->endpoint ? json_string(p->endpoint) : json_null(), "login", PAYME_LOGIN,
	              "key_set", p->key != NULL, "merchant_id",
	              p->merchant ? json_string(p->merchant) : json_null(), "content_type",
	              p->content_type, "jsonrpc", p->jsonrpc, "timeout_ms",
	              (json_int_t)p->timeout_ms, "offset_ms", (json_int_t)p->offset_ms);
	pthread_mutex_unlock(&p->mu);
	return o;
}

static int c_config_get(struct http_req *r)
{
	return drv_reply(r, config_json(payme_of(r)));
}

/* A string setting of b: *have when present, *val NULL when null (unset);
 * 0, or -1 after answering 400. */
static int set_str(struct http_req *r, const json_t *b, const char *key, size_t max, bool url,
                   bool *have, const char **val)
{
	json_t *v = json_object_get(b, key);

	*have = v != NULL;
	*val = NULL;
	if (!v || json_is_null(v))
		return 0;
	*val = json_string_value(v);
	if (!*val || !**val || (url ? !drv_url_ok(*val) : !drv_text_ok(*val, max))) {
		drv_fail(r, 400, "%s must be %s", key,
		         url ? "an http(s) URL" : "a non-empty printable string");
		return -1;
	}
	return 0;
}

static int c_config_set(struct http_req *r)
{
	struct sim_payme *p = payme_of(r);
	json_t *b = drv_body(r);
	const char *ep, *key, *mid, *ct;
	bool h_ep, h_key, h_mid, h_ct, jsonrpc = false;
	int64_t timeout = 0;
	int has_rpc, has_to;

	if (!b)
		return -1;
	if (set_str(r, b, "endpoint", DRV_URL_MAX, true, &h_ep, &ep) ||
	    set_str(r, b, "key", DRV_SECRET_MAX, false, &h_key, &key) ||
	    set_str(r, b, "merchant_id", DRV_FIELD_MAX, false, &h_mid, &mid) ||
	    set_str(r, b, "content_type", PAYME_CT_MAX - 1, false, &h_ct, &ct))
		goto out;
	has_rpc = drv_get_bool(b, "jsonrpc", &jsonrpc);
	has_to = drv_get_i64(b, "timeout_ms", &timeout);
	if (has_rpc < 0) {
		drv_fail(r, 400, "jsonrpc must be true or false");
		goto out;
	}
	if (has_to < 0 || (has_to == 0 && (timeout < 100 || timeout > 120000))) {
		drv_fail(r, 400, "timeout_ms must be 100-120000");
		goto out;
	}
	pthread_mutex_lock(&p->mu);
	if (h_ep) {
		free(p->endpoint);
		p->endpoint = ep ? xstrdup(ep) : NULL;
	}
	if (h_key) {
		free(p->key);
		p->key = key ? xstrdup(key) : NULL;
	}
	if (h_mid) {
		free(p->merchant);
		p->merchant = mid ? xstrdup(mid) : NULL;
	}
	if (h_ct)
		snprintf(p->content_type, sizeof(p->content_type), "%s",
		         ct ? ct : PAYME_CT_DEFAULT);
	if (has_rpc == 0)
		p->jsonrpc = jsonrpc;
	if (has_to == 0)
		p->timeout_ms = (long)timeout;
	pthread_mutex_unlock(&p->mu);
	json_decref(b);
	return drv_reply(r, config_json(p));
out:
	json_decref(b);
	return -1;
}

static json_t *clock_json(struct sim_payme *p)
{
	int64_t off;

	pthread_mutex_lock(&p->mu);
	off = p->offset_ms;
	pthread_mutex_unlock(&p->mu);
	return json_pack("{s:I, s:I}", "now_ms", (json_int_t)(clock_now_ms() + off), "offset_ms",
	                 (json_int_t)off);
}

static int c_clock_get(struct http_req *r)
{
	return drv_reply(r, clock_json(payme_of(r)));
}

json_t *sim_payme_clock_json(struct sim_payme *p)
{
	return clock_json(p);
}

int sim_payme_clock_shift(struct sim_payme *p, int64_t ms)
{
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	if (ms <= -PAYME_OFFSET_MAX || ms >= PAYME_OFFSET_MAX ||
	    p->offset_ms + ms < -PAYME_OFFSET_MAX || p->offset_ms + ms > PAYME_OFFSET_MAX)
		rc = -ERR_INVALID;
	else
		p->offset_ms += ms;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* {"offset_ms": N} sets the offset, {"shift_ms": N} adds to it, {"now_ms": T}
 * sets the clock to T; within ten years of the real clock. */
static int c_clock_set(struct http_req *r)
{
	struct sim_payme *p = payme_of(r);
	json_t *b = drv_body(r);
	int64_t v, off;
	int rc = 0;

	if (!b)
		return -1;
	pthread_mutex_lock(&p->mu);
	off = p->offset_ms;
	if (drv_get_i64(b, "offset_ms", &v) == 0)
		off = v;
	else if (drv_get_i64(b, "shift_ms", &v) == 0 && v > -PAYME_OFFSET_MAX &&
	         v < PAYME_OFFSET_MAX)
		off += v;
	else if (drv_get_i64(b, "now_ms", &v) == 0 && v > 0 && v < INT64_MAX / 2)
		off = v - clock_now_ms();
	else
		rc = -1;
	if (!rc && (off < -PAYME_OFFSET_MAX || off > PAYME_OFFSET_MAX))
		rc = -1;
	if (!rc)
		p->offset_ms = off;
	pthread_mutex_unlock(&p->mu);
	json_decref(b);
	if (rc)
		return drv_fail(r, 400, "give offset_ms, shift_ms or now_ms (within ten years)");
	return drv_reply(r, clock_json(p));
}

static int auth_parse(const char *s, enum auth *a)
{
	if (!s || strcmp(s, "right") == 0)
		*a = AUTH_RIGHT;
	else if (strcmp(s, "wrong") == 0 || strcmp(s, "wrong_key") == 0)
		*a = AUTH_WRONG_KEY;
	else if (strcmp(s, "wrong_login") == 0)
		*a = AUTH_WRONG_LOGIN;
	else if (strcmp(s, "none") == 0)
		*a = AUTH_NONE;
	else
		return -1;
	return 0;
}

/* The answer of a single call: the request and the call record. */
static json_t *x_json(const struct pm_x *x)
{
	json_t *o = json_pack("{s:s, s:o, s:s, s:b}", "method", x->method, "request", x_request(x),
	                      "auth", auth_names[x->auth], "repeat", x->repeat);

	json_object_set_new(o, "id", x->rpc_id ? json_integer(x->rpc_id) : json_null());
	drv_call_json(&x->c, o);
	return o;
}

/*
 * POST /control/payme/call {"method", "params", "id", "auth", "body",
 * "content_type", "http_method", "repeat"}: one request as given.
 */
static int c_call(struct http_req *r)
{
	json_t *b = drv_body(r), *params, *out = NULL;
	const char *method, *raw, *ct, *hm;
	struct pm m;
	struct pm_x x, y;
	enum auth auth;
	int64_t id = 0;
	bool repeat = false;
	int rc = -1;

	if (!b)
		return -1;
	method = drv_get_str(b, "method");
	params = json_object_get(b, "params");
	raw = drv_get_str(b, "body");
	ct = drv_get_str(b, "content_type");
	hm = drv_get_str(b, "http_method");
	if (auth_parse(drv_get_str(b, "auth"), &auth)) {
		drv_fail(r, 400, "auth must be right, wrong_key, wrong_login or none");
		goto out;
	}
	if (!raw && (!method || !*method || !drv_text_ok(method, PAYME_METHOD_MAX - 1))) {
		drv_fail(r, 400, "method is required (at most %d bytes)", PAYME_METHOD_MAX - 1);
		goto out;
	}
	if (params && !json_is_object(params)) {
		drv_fail(r, 400, "params must be an object");
		goto out;
	}
	if (raw && strlen(raw) > DRV_MAX_REQUEST) {
		drv_fail(r, 400, "body is longer than %u bytes", DRV_MAX_REQUEST);
		goto out;
	}
	if ((ct && (!*ct || !drv_text_ok(ct, PAYME_CT_MAX - 1))) ||
	    (hm &&
	     (!*hm || strlen(hm) > 10 || strspn(hm, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(hm)))) {
		drv_fail(r, 400, "content_type or http_method is malformed");
		goto out;
	}
	if (drv_get_i64(b, "id", &id) < 0 || id < 0 || drv_get_bool(b, "repeat", &repeat) < 0) {
		drv_fail(r, 400, "id must be a positive integer, repeat a boolean");
		goto out;
	}
	if (load(r, &m))
		goto out;
	if (raw) {
		memset(&x, 0, sizeof(x));
		snprintf(x.method, sizeof(x.method), "%s", method ? method : "");
		x.auth = auth;
		buf_init(&x.req, DRV_MAX_REQUEST);
		if (buf_adds(&x.req, raw))
			abort(); /* bounded above */
		if (ct)
			snprintf(x.content_type, sizeof(x.content_type), "%s", ct);
		if (hm)
			snprintf(x.http_method, sizeof(x.http_method), "%s", hm);
		x_send(&m, &x);
	} else {
		json_t *env = json_object();
		char *s;

		memset(&x, 0, sizeof(x));
		snprintf(x.method, sizeof(x.method), "%s", method);
		x.auth = auth;
		pthread_mutex_lock(&m.p->mu);
		x.rpc_id = id ? id : ++m.p->next_rpc_id;
		pthread_mutex_unlock(&m.p->mu);
		if (m.jsonrpc)
			json_object_set_new(env, "jsonrpc", json_string("2.0"));
		json_object_set_new(env, "method", json_string(method));
		json_object_set_new(env, "params", params ? json_deep_copy(params) : json_object());
		json_object_set_new(env, "id", json_integer(x.rpc_id));
		s = json_dumps(env, JSON_COMPACT);
		json_decref(env);
		buf_init(&x.req, DRV_MAX_REQUEST);
		if (!s || buf_adds(&x.req, s)) {
			free(s);
			buf_release(&x.req);
			pm_release(&m);
			drv_fail(r, 400, "the request would be longer than %u bytes",
			         DRV_MAX_REQUEST);
			goto out;
		}
		free(s);
		if (ct)
			snprintf(x.content_type, sizeof(x.content_type), "%s", ct);
		if (hm)
			snprintf(x.http_method, sizeof(x.http_method), "%s", hm);
		x_send(&m, &x);
	}
	out = x_json(&x);
	if (repeat) {
		json_t *second;

		x_repeat(&m, &y, &x);
		second = x_json(&y);
		json_object_set_new(second, "identical", json_boolean(drv_call_same(&x.c, &y.c)));
		json_object_set_new(out, "repeat_call", second);
		x_release(&y);
	}
	x_release(&x);
	pm_release(&m);
	rc = drv_reply(r, out);
out:
	json_decref(b);
	return rc;
}

/* POST /control/payme/pay {"order_id"|"account", "amount", "time"} */
static int c_pay(struct http_req *r)
{
	json_t *b = drv_body(r), *steps, *rep;
	struct order o;
	struct pm m;
	int64_t time = 0;
	char id[25];
	int rc = -1;

	if (!b)
		return -1;
	if (order_read(r, b, account_field(b), "the order", &o))
		goto out;
	if (drv_get_i64(b, "time", &time) < 0 || time < 0) {
		drv_fail(r, 400, "time must be milliseconds");
		goto out_o;
	}
	if (load(r, &m))
		goto out_o;
	steps = json_array();
	flow_pay(&m, o.account, o.amount, time ? time : now_ms(&m), steps, id);
	rep = drv_report(steps);
	json_object_set_new(rep, "id", json_string(id));
	pm_release(&m);
	rc = drv_reply(r, rep);
out_o:
	json_decref(o.account);
out:
	json_decref(b);
	return rc;
}

/* A Payme transaction id of a body: 1-64 printable bytes. */
static const char *id_read(struct http_req *r, const json_t *b)
{
	const char *id = drv_get_str(b, "id");

	if (!id || !*id || !drv_text_ok(id, 64)) {
		drv_fail(r, 400, "id (the Payme transaction id) is required");
		return NULL;
	}
	return id;
}

/* POST /control/payme/cancel {"id", "reason", "state", "repeat"} */
static int c_cancel(struct http_req *r)
{
	json_t *b = drv_body(r), *steps;
	const char *id;
	struct pm m;
	int64_t reason = 5, state = 0;
	bool repeat = true;
	int rc = -1;

	if (!b)
		return -1;
	if (!(id = id_read(r, b)))
		goto out;
	if (drv_get_i64(b, "reason", &reason) < 0 || reason < -1000 || reason > 1000 ||
	    drv_get_i64(b, "state", &state) < 0 || (state && state != -1 && state != -2) ||
	    drv_get_bool(b, "repeat", &repeat) < 0) {
		drv_fail(r, 400, "reason must be an integer, state -1 or -2, repeat a boolean");
		goto out;
	}
	if (load(r, &m))
		goto out;
	steps = json_array();
	flow_cancel(&m, id, (int)reason, (int)state, repeat, steps);
	pm_release(&m);
	rc = drv_reply(r, drv_report(steps));
out:
	json_decref(b);
	return rc;
}

/* One call with params (stolen), answered as by c_call. */
static int one(struct http_req *r, const char *method, json_t *params)
{
	struct pm m;
	struct pm_x x;
	json_t *o;

	if (load(r, &m)) {
		json_decref(params);
		return -1;
	}
	x_call(&m, &x, method, params, AUTH_RIGHT);
	o = x_json(&x);
	x_release(&x);
	pm_release(&m);
	return drv_reply(r, o);
}

/* POST /control/payme/check {"id"} */
static int c_check(struct http_req *r)
{
	json_t *b = drv_body(r);
	const char *id;
	int rc = -1;

	if (!b)
		return -1;
	if ((id = id_read(r, b)))
		rc = one(r, "CheckTransaction", p_id(id));
	json_decref(b);
	return rc;
}

/* POST /control/payme/statement {"from", "to"} */
static int c_statement(struct http_req *r)
{
	json_t *b = drv_body(r);
	int64_t from, to;
	int rc;

	if (!b)
		return -1;
	if (drv_get_i64(b, "from", &from) || drv_get_i64(b, "to", &to) || from < 0 || to < 0)
		rc = drv_fail(r, 400, "from and to (milliseconds) are required");
	else
		rc = one(r, "GetStatement",
		         json_pack("{s:I, s:I}", "from", (json_int_t)from, "to", (json_int_t)to));
	json_decref(b);
	return rc;
}

/*
 * POST /control/payme/sandbox {"order1": {...}, "order2": {...},
 * "unknown_order_id": "...", "wrong_amount", "methods", "allow_31007"}
 */
static int c_sandbox(struct http_req *r)
{
	json_t *b = drv_body(r), *unknown = NULL, *methods, *steps, *uid;
	struct order o1 = {0}, o2 = {0};
	const char *field;
	int64_t wrong = 0;
	bool allow = false;
	struct pm m;
	int rc = -1;

	if (!b)
		return -1;
	field = account_field(b);
	if (order_read(r, json_object_get(b, "order1"), field, "order1", &o1) ||
	    order_read(r, json_object_get(b, "order2"), field, "order2", &o2))
		goto out;
	uid = json_object_get(b, "unknown_order_id");
	if (json_is_object(json_object_get(b, "unknown_account"))) {
		unknown = json_deep_copy(json_object_get(b, "unknown_account"));
	} else if ((json_is_string(uid) && json_string_length(uid) &&
	            drv_text_ok(json_string_value(uid), DRV_FIELD_MAX)) ||
	           json_is_integer(uid)) {
		unknown = json_pack("{s:O}", field, uid);
	} else {
		drv_fail(r, 400, "unknown_order_id (or unknown_account) is required");
		goto out;
	}
	methods = json_object_get(b, "methods");
	if ((methods && !json_is_array(methods)) || drv_get_bool(b, "allow_31007", &allow) < 0) {
		drv_fail(r, 400, "methods must be an array of names, allow_31007 a boolean");
		goto out;
	}
	if (drv_get_i64(b, "wrong_amount", &wrong) < 0 || wrong < 0 || wrong > PAYME_AMOUNT_MAX) {
		drv_fail(r, 400, "wrong_amount must be tiyin");
		goto out;
	}
	if (!wrong)
		wrong = o1.amount + 100;
	if (wrong == o1.amount) {
		drv_fail(r, 400, "wrong_amount must differ from order1's amount");
		goto out;
	}
	if (load(r, &m))
		goto out;
	steps = json_array();
	flow_sandbox(&m, &o1, &o2, unknown, wrong, methods, allow, steps);
	pm_release(&m);
	rc = drv_reply(r, drv_report(steps));
out:
	json_decref(o1.account);
	json_decref(o2.account);
	json_decref(unknown);
	json_decref(b);
	return rc;
}

/* POST /control/payme/timeout {"order_id"|"account", "amount", "age_ms", "via"} */
static int c_timeout(struct http_req *r)
{
	json_t *b = drv_body(r), *steps, *rep;
	const char *via;
	struct order o;
	int64_t age = PAYME_EXPIRY_MS + 60000;
	struct pm m;
	char id[25];
	int rc = -1;

	if (!b)
		return -1;
	if (order_read(r, b, account_field(b), "the order", &o))
		goto out;
	via = drv_get_str(b, "via");
	if (drv_get_i64(b, "age_ms", &age) < 0 || age <= PAYME_EXPIRY_MS ||
	    age > PAYME_OFFSET_MAX || (via && strcmp(via, "perform") && strcmp(via, "create"))) {
		drv_fail(r, 400, "age_ms must be over 43200000; via perform or create");
		goto out_o;
	}
	if (load(r, &m))
		goto out_o;
	steps = json_array();
	flow_timeout(&m, o.account, o.amount, age, via && strcmp(via, "create") == 0, steps, id);
	rep = drv_report(steps);
	json_object_set_new(rep, "id", json_string(id));
	pm_release(&m);
	rc = drv_reply(r, rep);
out_o:
	json_decref(o.account);
out:
	json_decref(b);
	return rc;
}

static int c_calls_get(struct http_req *r)
{
	struct sim_payme *p = payme_of(r);
	const char *a = http_req_query(r, "after");
	int64_t after = 0;
	json_t *o;

	if (a && str_to_i64(str_c(a), 0, INT64_MAX, &after))
		return drv_fail(r, 400, "after must be a sequence number");
	pthread_mutex_lock(&p->mu);
	o = drv_log_json(&p->calls, after);
	pthread_mutex_unlock(&p->mu);
	return drv_reply(r, o);
}

static int c_calls_clear(struct http_req *r)
{
	struct sim_payme *p = payme_of(r);
	int64_t seq;

	pthread_mutex_lock(&p->mu);
	seq = p->calls.seq;
	drv_log_release(&p->calls);
	drv_log_init(&p->calls);
	p->calls.seq = seq; /* sequence numbers keep growing */
	pthread_mutex_unlock(&p->mu);
	return drv_reply(r, json_pack("{s:[], s:I}", "calls", "last_seq", (json_int_t)seq));
}

/* ---- the checkout page (C.8) ---- */

void sim_payme_link_parse(struct str b64, struct sim_payme_link *k)
{
	struct str rest, pair, key;
	char text[SIM_PAYME_LINK_MAX + 4];
	size_t len;
	bool have_a = false;

	memset(k, 0, sizeof(*k));
	k->account = json_object();
	if (drv_b64_decode(b64, text, sizeof(text), &len) || strlen(text) != len ||
	    !drv_text_ok(text, SIM_PAYME_LINK_MAX)) {
		k->code = -31610;
		snprintf(k->err, sizeof(k->err), "the link is not base64 of key=value pairs");
		return;
	}
	rest = (struct str){text, len};
	while (rest.len) {
		char v[DRV_URL_MAX + 1];

		str_split(&rest, ';', &pair);
		if (!pair.len)
			continue;
		if (!str_split(&pair, '=', &key) || pair.len >= sizeof(v)) {
			k->code = -31610;
			snprintf(k->err, sizeof(k->err), "a parameter is not key=value");
			return;
		}
		memcpy(v, pair.p, pair.len);
		v[pair.len] = '\0';
		if (str_eqc(key, "m") && pair.len < sizeof(k->m)) {
			memcpy(k->m, v, pair.len + 1);
		} else if (str_eqc(key, "a")) {
			have_a = !str_to_i64(pair, 1, PAYME_AMOUNT_MAX, &k->amount);
		} else if (str_eqc(key, "l") && pair.len < sizeof(k->lang)) {
			memcpy(k->lang, v, pair.len + 1);
		} else if (str_eqc(key, "c") && drv_url_ok(v)) {
			memcpy(k->ret, v, pair.len + 1);
		} else if (key.len > 3 && key.len < 64 && memcmp(key.p, "ac.", 3) == 0) {
			char name[64];

			memcpy(name, key.p + 3, key.len - 3);
			name[key.len - 3] = '\0';
			json_object_set_new(k->account, name, json_string(v));
		}
	}
	if (!k->m[0]) {
		k->code = -31601;
		snprintf(k->err, sizeof(k->err), "no merchant (m) in the link");
	} else if (!have_a) {
		k->code = -31610;
		snprintf(k->err, sizeof(k->err),
		         "the amount (a) is not a positive integer of tiyin");
	} else if (!json_object_size(k->account)) {
		k->code = -31610;
		snprintf(k->err, sizeof(k->err), "no account field (ac.*) in the link");
	}
}

void sim_payme_link_release(struct sim_payme_link *k)
{
	json_decref(k->account);
	k->account = NULL;
}

/* The link of the request's path; a path cut at its bound is refused. */
static void checkout_read(struct http_req *r, struct sim_payme_link *k)
{
	sim_payme_link_parse(router_param(&r->match, "b64"), k);
	if (strlen(r->path) >= sizeof(r->path) - 1) {
		k->code = -31610;
		snprintf(k->err, sizeof(k->err), "the link is too long");
	}
}

/* The merchant is the configured one; else k gets -31601. */
static void checkout_merchant(struct sim_payme *p, struct sim_payme_link *k)
{
	bool known;

	if (!k->m[0])
		return; /* the link could not be read: its error stands */
	pthread_mutex_lock(&p->mu);
	known = p->merchant && strcmp(p->merchant, k->m) == 0;
	pthread_mutex_unlock(&p->mu);
	if (!known) {
		k->code = -31601;
		snprintf(k->err, sizeof(k->err), "merchant not found or blocked");
	}
}

static int back_link(struct buf *b, const struct sim_payme_link *k)
{
	if (!k->ret[0])
		return 0;
	return buf_adds(b, "<p><a id=\"return\" href=\"") || drv_html(b, k->ret) ||
	       buf_adds(b, "\">Return to the merchant</a></p>\n");
}

static int checkout_error(struct http_req *r, const struct sim_payme_link *k)
{
	struct buf b;
	int rc;

	buf_init(&b, 64 * 1024);
	if (buf_printf(&b, "<p class=\"err\" id=\"error\" data-code=\"%d\">Error %d: ", k->code,
	               k->code) ||
	    drv_html(&b, k->err) || buf_adds(&b, "</p>\n") || back_link(&b, k))
		abort(); /* bounded: the texts are */
	rc = drv_page(r, 200, "Payme checkout", b.p);
	buf_release(&b);
	return rc;
}

static int checkout_order(struct buf *b, const struct sim_payme_link *k)
{
	char som[40];
	const char *name;
	json_t *v;
	int rc;

	drv_som(k->amount, som, sizeof(som));
	rc = buf_adds(b, "<dl>\n<dt>Merchant</dt><dd id=\"merchant\">") || drv_html(b, k->m) ||
	     buf_adds(b, "</dd>\n");
	json_object_foreach(k->account, name, v)
	{
		rc = rc || buf_adds(b, "<dt>") || drv_html(b, name) ||
		     buf_adds(b, "</dt><dd class=\"account\">") ||
		     drv_html(b, json_string_value(v)) || buf_adds(b, "</dd>\n");
	}
	return rc || buf_printf(b,
	                        "<dt>Amount</dt><dd class=\"amount\" id=\"amount\">%s so'm</dd>\n"
	                        "</dl>\n",
	                        som);
}

static int checkout_get(struct http_req *r)
{
	struct sim_payme_link k;
	struct buf b;
	int rc;

	checkout_read(r, &k);
	checkout_merchant(payme_of(r), &k);
	if (k.code) {
		rc = checkout_error(r, &k);
		sim_payme_link_release(&k);
		return rc;
	}
	buf_init(&b, 256 * 1024);
	if (checkout_order(&b, &k) ||
	    buf_adds(&b,
	             "<form method=\"post\">"
	             "<button class=\"primary\" name=\"do\" value=\"pay\" id=\"pay\">Pay</button>"
	             "<button name=\"do\" value=\"cancel\" id=\"cancel\">Cancel</button>"
	             "</form>\n"))
		abort();
	rc = drv_page(r, 200, "Payme checkout", b.p);
	buf_release(&b);
	sim_payme_link_release(&k);
	return rc;
}

/* Pay runs the pay flow; Cancel calls nobody (the payer left). */
static int checkout_post(struct http_req *r)
{
	struct sim_payme_link k;
	struct buf b;
	struct pm m;
	char what[16], id[25] = "";
	json_t *steps = NULL, *rep = NULL, *st;
	size_t i;
	int rc;

	checkout_read(r, &k);
	checkout_merchant(payme_of(r), &k);
	if (k.code) {
		rc = checkout_error(r, &k);
		sim_payme_link_release(&k);
		return rc;
	}
	if (!drv_form_get((struct str){r->body.p, r->body.len}, "do", what, sizeof(what)) ||
	    (strcmp(what, "pay") && strcmp(what, "cancel"))) {
		sim_payme_link_release(&k);
		return drv_page(r, 400, "Payme checkout",
		                "<p class=\"err\">Press Pay or Cancel.</p>");
	}
	buf_init(&b, 1u << 20);
	if (checkout_order(&b, &k))
		abort();
	if (strcmp(what, "cancel") == 0) {
		if (buf_adds(&b, "<p id=\"result\" class=\"err\">Payment cancelled.</p>\n") ||
		    back_link(&b, &k))
			abort();
	} else if (pm_load(payme_of(r), &m)) {
		if (buf_adds(&b, "<p id=\"result\" class=\"err\">The simulator has no Payme "
		                 "endpoint or key (--payme-endpoint, --payme-key).</p>\n"))
			abort();
	} else {
		steps = json_array();
		flow_pay(&m, k.account, k.amount, now_ms(&m), steps, id);
		pm_release(&m);
		rep = drv_report(steps);
		if (buf_printf(&b, "<p id=\"result\" class=\"%s\">%s</p>\n<ol>\n",
		               json_is_true(json_object_get(rep, "pass")) ? "ok" : "err",
		               json_is_true(json_object_get(rep, "pass"))
		                   ? "Payment complete."
		                   : "Payment failed: the merchant's answer was wrong."))
			abort();
		json_array_foreach(json_object_get(rep, "steps"), i, st)
		{
			bool pass = json_is_true(json_object_get(st, "pass"));

			if (buf_printf(&b, "<li class=\"%s\">", pass ? "ok" : "err") ||
			    drv_html(&b, json_string_value(json_object_get(st, "method"))) ||
			    buf_adds(&b, pass ? ": ok" : ": ") ||
			    drv_html(&b, json_string_value(json_object_get(st, "why"))) ||
			    buf_adds(&b, "</li>\n"))
				abort();
		}
		if (buf_adds(&b, "</ol>\n<p>Transaction <code id=\"transaction\">") ||
		    drv_html(&b, id) || buf_adds(&b, "</code></p>\n") || back_link(&b, &k))
			abort();
		json_decref(rep);
	}
	rc = drv_page(r, 200, "Payme checkout", b.p);
	buf_release(&b);
	sim_payme_link_release(&k);
	return rc;
}

/* ---- life ---- */

static int check_opts(const struct sim_payme_opts *o, struct err *e)
{
	if (o->endpoint && !drv_url_ok(o->endpoint))
		return err_set(e, ERR_INVALID, "--payme-endpoint must be an http(s) URL");
	if (o->key && (!*o->key || !drv_text_ok(o->key, DRV_SECRET_MAX)))
		return err_set(e, ERR_INVALID, "--payme-key must be 1-%d printable bytes",
		               DRV_SECRET_MAX);
	if (o->merchant_id && (!*o->merchant_id || !drv_text_ok(o->merchant_id, DRV_FIELD_MAX)))
		return err_set(e, ERR_INVALID, "--payme-merchant must be 1-%d printable bytes",
		               DRV_FIELD_MAX);
	return 0;
}

static void configure(struct sim_payme *p)
{
	free(p->endpoint);
	free(p->key);
	free(p->merchant);
	p->endpoint = dup_opt(p->endpoint0);
	p->key = dup_opt(p->key0);
	p->merchant = dup_opt(p->merchant0);
	snprintf(p->content_type, sizeof(p->content_type), "%s", PAYME_CT_DEFAULT);
	p->jsonrpc = false;
	p->timeout_ms = DRV_TIMEOUT_MS;
	p->offset_ms = 0;
}

int sim_payme_new(struct sim_payme **out, const struct sim_payme_opts *o, struct err *e)
{
	struct sim_payme *p;
	int rc;

	*out = NULL;
	if ((rc = check_opts(o, e)))
		return rc;
	p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	p->endpoint0 = dup_opt(o->endpoint);
	p->key0 = dup_opt(o->key);
	p->merchant0 = dup_opt(o->merchant_id);
	configure(p);
	drv_log_init(&p->calls);
	*out = p;
	return 0;
}

void sim_payme_reset(struct sim_payme *p)
{
	pthread_mutex_lock(&p->mu);
	configure(p);
	drv_log_release(&p->calls);
	drv_log_init(&p->calls);
	pthread_mutex_unlock(&p->mu);
}

void sim_payme_free(struct sim_payme *p)
{
	if (!p)
		return;
	drv_log_release(&p->calls);
	free(p->endpoint);
	free(p->key);
	free(p->merchant);
	free(p->endpoint0);
	free(p->key0);
	free(p->merchant0);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

const struct route sim_payme_routes[] = {
    {"GET", "/control/payme/config", c_config_get, 0, "the Payme driver's configuration"},
    {"POST", "/control/payme/config", c_config_set, 0, "change the Payme driver's configuration"},
    {"GET", "/control/payme/clock", c_clock_get, 0, "the Payme driver's clock"},
    {"POST", "/control/payme/clock", c_clock_set, 0, "move the Payme driver's clock"},
    {"POST", "/control/payme/call", c_call, 0, "one Payme request as given"},
    {"POST", "/control/payme/pay", c_pay, 0, "check, create and perform a payment"},
    {"POST", "/control/payme/cancel", c_cancel, 0, "cancel a transaction"},
    {"POST", "/control/payme/check", c_check, 0, "CheckTransaction"},
    {"POST", "/control/payme/statement", c_statement, 0, "GetStatement"},
    {"POST", "/control/payme/sandbox", c_sandbox, 0, "the sandbox's scenarios"},
    {"POST", "/control/payme/timeout", c_timeout, 0, "a transaction past 12 hours"},
    {"GET", "/control/payme/calls", c_calls_get, 0, "the requests sent and their answers"},
    {"DELETE", "/control/payme/calls", c_calls_clear, 0, "forget the requests sent"},
    {"GET", "/payme/{b64...}", checkout_get, 0, "the Payme checkout page"},
    {"POST", "/payme/{b64...}", checkout_post, 0, "pay or cancel on the checkout page"},
};
const size_t sim_payme_nroutes = ARRAY_SIZE(sim_payme_routes);
