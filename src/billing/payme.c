/*
 * payme: the Merchant API (payme.h; protocols.md C.1-C.10).
 *
 * Each call runs in one transaction, and the transaction's row is locked
 * before it is read, so two copies of a call that arrive at once run one
 * after the other. Answers are made from the stored transaction (its times
 * are fixed once set), so a repeat gets the same result bytes (the sandbox
 * compares them), and a repeat that the state no longer allows gets the
 * error C.7 gives. Every change of a transaction's state is recorded in
 * provider_events as "<payme id>:<new state>" in the same transaction.
 */
#include "billing/payme.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "billing/sig.h"
#include "lib/crypto.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "store/store.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

enum {
	E_NOT_POST = -32300,
	E_PARSE = -32700,
	E_RPC = -32600,
	E_METHOD = -32601,
	E_AUTH = -32504,
	E_SYSTEM = -32400,
	E_AMOUNT = -31001,
	E_NO_TX = -31003,
	E_CANNOT_CANCEL = -31007,
	E_STATE = -31008,
	E_ORDER = -31050,
};

static const struct msg {
	int code;
	const char *ru, *uz, *en;
} msgs[] = {
    {E_PARSE, "Ошибка разбора JSON", "JSON tahlilida xato", "JSON parse error"},
    {E_RPC, "Неверный запрос JSON-RPC", "Noto'g'ri JSON-RPC so'rovi", "Invalid JSON-RPC request"},
    {E_METHOD, "Метод не найден", "Metod topilmadi", "Method not found"},
    {E_AUTH, "Недостаточно привилегий для выполнения метода",
     "Metodni bajarish uchun huquqlar yetarli emas", "Insufficient privileges"},
    {E_SYSTEM, "Системная ошибка", "Tizim xatosi", "System error"},
    {E_AMOUNT, "Неверная сумма", "Noto'g'ri summa", "Wrong amount"},
    {E_NO_TX, "Транзакция не найдена", "Tranzaksiya topilmadi", "Transaction not found"},
    {E_CANNOT_CANCEL, "Заказ выполнен, отмена невозможна",
     "Buyurtma bajarilgan, bekor qilib bo'lmaydi",
     "The order is fulfilled; the transaction cannot be canceled"},
    {E_STATE, "Невозможно выполнить операцию", "Amalni bajarib bo'lmaydi",
     "The operation cannot be performed"},
    {E_ORDER, "Заказ не найден", "Buyurtma topilmadi", "Order not found"},
};

struct call {
	struct app *a;
	json_t *id;     /* the request's id (borrowed), echoed */
	json_t *params; /* borrowed */
	int64_t now;
	json_t *result; /* on success */
	int code;       /* else */
	const char *data;
	int changed; /* the transaction's new state, when the call changed it */
};

static void fail(struct call *x, int code, const char *data)
{
	x->code = code;
	x->data = data;
}

static char *answer_of(const struct call *x)
{
	json_t *v;
	char *s;

	if (x->code == 0) {
		v = json_pack("{s:O, s:O}", "result", x->result, "id", x->id ? x->id : json_null());
	} else {
		const struct msg *m = &msgs[ARRAY_SIZE(msgs) - 1];

		for (size_t i = 0; i < ARRAY_SIZE(msgs); i++)
			if (msgs[i].code == x->code)
				m = &msgs[i];
		v = json_pack("{s:{s:i, s:{s:s, s:s, s:s}, s:s?}, s:O}", "error", "code", x->code,
		              "message", "ru", m->ru, "uz", m->uz, "en", m->en, "data", x->data,
		              "id", x->id ? x->id : json_null());
	}
	s = json_dumps(v, JSON_FLAGS);
	json_decref(v);
	return s ? s : xstrdup("{\"error\":{\"code\":-32400},\"id\":null}");
}

/* A positive integer (a JSON integer, or a real with no fraction). */
static bool int_param(const json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);

		if (d >= -9e15 && d <= 9e15 && d == (double)(int64_t)d) {
			*out = (int64_t)d;
			return true;
		}
	}
	return false;
}

/* account.order_id as our order id: 0 when absent or not a number. */
static int64_t order_of(const json_t *account)
{
	const json_t *v = json_object_get(account, "order_id");
	int64_t id = 0;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		return str_to_i64((struct str){s, strlen(s)}, 1, INT64_MAX, &id) ? 0 : id;
	}
	return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;
}

/* ---- transactions --------------------------------------------------------- */

struct tx {
	int64_t id, time, amount, order_id, state, reason, create_time, perform_time, cancel_time;
	bool reason_null;
	char payme_id[32];
	json_t *account;
};

#define TX_COLS                                                                                    \
	"id, payme_time, amount, order_id, state, coalesce(reason, 0), create_time, "              \
	"perform_time, cancel_time, CASE WHEN reason IS NULL THEN 1 ELSE 0 END, payme_id, account"

static int tx_read(struct store_res *r, size_t i, struct tx *t)
{
	memset(t, 0, sizeof(*t));
	t->id = store_res_int(r, i, 0);
	t->time = store_res_int(r, i, 1);
	t->amount = store_res_int(r, i, 2);
	t->order_id = store_res_int(r, i, 3);
	t->state = store_res_int(r, i, 4);
	t->reason = store_res_int(r, i, 5);
	t->create_time = store_res_int(r, i, 6);
	t->perform_time = store_res_int(r, i, 7);
	t->cancel_time = store_res_int(r, i, 8);
	t->reason_null = store_res_int(r, i, 9) != 0;
	snprintf(t->payme_id, sizeof(t->payme_id), "%s", store_res_text(r, i, 10));
	t->account = json_loads(store_res_text(r, i, 11), 0, NULL);
	if (!t->account)
		t->account = json_object();
	return 0;
}

/* The transaction with Payme's id: 1, 0 when there is none, or an error. */
static int tx_find(struct store_conn *c, const char *payme_id, struct tx *t, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_TEXT(payme_id)};
	int rc = store_query(c, "UPDATE payme_transactions SET state = state WHERE payme_id = $1",
	                     a, 1, NULL, e);

	if (!rc)
		rc =
		    store_query(c, "SELECT " TX_COLS " FROM payme_transactions WHERE payme_id = $1",
		                a, 1, &r, e);
	if (rc)
		return rc;
	rc = store_res_rows(r) == 1;
	if (rc)
		tx_read(r, 0, t);
	store_res_free(r);
	return rc;
}

static json_t *tx_str_id(const struct tx *t)
{
	char s[24];

	snprintf(s, sizeof(s), "%lld", (long long)t->id);
	return json_string(s);
}

static int tx_cancel(struct store_conn *c, struct call *x, struct tx *t, int state, int reason,
                     int64_t now, struct err *e)
{
	struct store_val a[] = {SV_INT(t->id), SV_INT(state), SV_INT(reason), SV_INT(now)};
	int rc =
	    store_query(c,
	                "UPDATE payme_transactions SET state = $2, reason = $3, cancel_time = $4 "
	                "WHERE id = $1",
	                a, ARRAY_SIZE(a), NULL, e);

	if (!rc) {
		x->changed = state;
		t->state = state;
		t->reason = reason;
		t->reason_null = false;
		t->cancel_time = now;
	}
	return rc;
}

/* The order awaits payment again once its transaction is canceled. */
static int order_release(struct store_conn *c, int64_t order_id, int64_t now, struct err *e)
{
	struct store_val a[] = {SV_INT(order_id), SV_INT(now)};

	return store_query(c,
	                   "UPDATE orders SET state = 'pending', updated_at = $2 WHERE id = $1 AND "
	                   "state = 'reserved'",
	                   a, 2, NULL, e);
}

/* ---- methods -------------------------------------------------------------- */

/*
 * The checks of CheckPerformTransaction: 0 and *o when the order may be
 * paid with amount, else x->code set (1).
 */
static int check_order(struct store_conn *c, struct call *x, struct billing_order *o,
                       int64_t *amount, struct err *e)
{
	const json_t *account = json_object_get(x->params, "account");
	int64_t oid;
	int rc;

	if (!int_param(json_object_get(x->params, "amount"), amount) || !json_is_object(account)) {
		fail(x, E_RPC, NULL);
		return 1;
	}
	oid = order_of(account);
	rc = oid ? billing_order_get(c, oid, o, e) : -ERR_NOT_FOUND;
	if (rc == -ERR_NOT_FOUND || (!rc && o->provider != BP_PAYME)) {
		fail(x, E_ORDER, "order_id");
		return 1;
	}
	if (rc)
		return rc;
	if (*amount != o->amount) {
		fail(x, E_AMOUNT, NULL);
		return 1;
	}
	/* paid, canceled, expired: not awaiting payment (the official template's
	 * -31008, C.7) */
	if (strcmp(o->state, "pending") != 0 && strcmp(o->state, "reserved") != 0) {
		fail(x, E_STATE, NULL);
		return 1;
	}
	{
		struct store_res *r = NULL;
		struct store_val a[] = {SV_INT(o->id)};

		rc = store_query(c,
		                 "SELECT count(*) FROM payme_transactions WHERE order_id = $1 AND "
		                 "state IN (1, 2)",
		                 a, 1, &r, e);
		if (!rc && store_res_int(r, 0, 0) > 0) {
			fail(x, E_STATE, NULL);
			rc = 1;
		}
		store_res_free(r);
	}
	return rc;
}

static int m_check_perform(struct store_conn *c, struct call *x, struct err *e)
{
	struct billing_order o;
	int64_t amount;
	int rc = check_order(c, x, &o, &amount, e);

	if (rc)
		return rc == 1 ? 0 : rc;
	x->result = json_pack("{s:b}", "allow", 1);
	return 0;
}

static const char *id_param(const struct call *x)
{
	const json_t *v = json_object_get(x->params, "id");
	const char *s = json_string_value(v);

	return s && *s && strlen(s) <= 64 ? s : NULL;
}

static int m_create(struct store_conn *c, struct call *x, struct err *e)
{
	const char *pid = id_param(x);
	struct billing_order o;
	struct tx t;
	int64_t time, amount;
	int rc;

	if (!pid || !int_param(json_object_get(x->params, "time"), &time)) {
		fail(x, E_RPC, NULL);
		return 0;
	}
	rc = tx_find(c, pid, &t, e);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		if (t.state != 1) {
			fail(x, E_STATE, NULL);
		} else if (x->now - t.time > PAYME_TIMEOUT_MS) {
			rc = tx_cancel(c, x, &t, -1, 4, x->now, e);
			if (!rc)
				rc = order_release(c, t.order_id, x->now, e);
			fail(x, E_STATE, NULL);
		} else {
			x->result =
			    json_pack("{s:I, s:o, s:i}", "create_time", (json_int_t)t.create_time,
			              "transaction", tx_str_id(&t), "state", 1);
			rc = 0;
		}
		json_decref(t.account);
		return rc < 0 ? rc : 0;
	}
	rc = check_order(c, x, &o, &amount, e);
	if (rc)
		return rc == 1 ? 0 : rc;
	{
		char *account = json_dumps(json_object_get(x->params, "account"), JSON_FLAGS);
		struct store_res *r = NULL;
		struct store_val a[] = {SV_TEXT(pid),   SV_INT(time),
		                        SV_INT(amount), SV_TEXT(account ? account : "{}"),
		                        SV_INT(o.id),   SV_INT(x->now)};

		rc = store_query(
		    c,
		    "INSERT INTO payme_transactions (payme_id, payme_time, amount, "
		    "account, order_id, state, create_time) VALUES ($1, $2, $3, $4, $5, "
		    "1, $6) RETURNING id",
		    a, ARRAY_SIZE(a), &r, e);
		free(account);
		if (!rc) {
			char sid[24];

			snprintf(sid, sizeof(sid), "%lld", (long long)store_res_int(r, 0, 0));
			x->result = json_pack("{s:I, s:s, s:i}", "create_time", (json_int_t)x->now,
			                      "transaction", sid, "state", 1);
			x->changed = 1;
		}
		store_res_free(r);
	}
	if (!rc)
		rc = billing_order_set_state(c, o.id, "reserved", x->now, e);
	return rc;
}

/*
 * The transaction a call names by params.id, locked: 1 and *t; 0 after
 * failing the call (-32600 without an id, -31003 for an unknown one); or an
 * error.
 */
static int tx_named(struct store_conn *c, struct call *x, const char *pid, struct tx *t,
                    struct err *e)
{
	int rc;

	if (!pid) {
		fail(x, E_RPC, NULL);
		return 0;
	}
	rc = tx_find(c, pid, t, e);
	if (rc == 0)
		fail(x, E_NO_TX, NULL);
	return rc;
}

static int m_perform(struct store_conn *c, struct call *x, struct err *e)
{
	const char *pid = id_param(x);
	struct tx t;
	int rc;

	rc = tx_named(c, x, pid, &t, e);
	if (rc <= 0)
		return rc;
	rc = 0;
	if (t.state == 1 && x->now - t.time > PAYME_TIMEOUT_MS) {
		rc = tx_cancel(c, x, &t, -1, 4, x->now, e);
		if (!rc)
			rc = order_release(c, t.order_id, x->now, e);
		fail(x, E_STATE, NULL);
	} else if (t.state == 1) {
		struct billing_paid p = {.provider = BP_PAYME,
		                         .payment_id = t.payme_id,
		                         .amount = t.amount,
		                         .currency = "UZS",
		                         .order_id = t.order_id};
		struct billing_effect ef;
		struct store_val a[] = {SV_INT(t.id), SV_INT(x->now)};

		rc = billing_paid(c, &p, x->now, &ef, e);
		if (rc == -ERR_CONFLICT) {
			fail(x, E_STATE, NULL);
			rc = 0;
		} else if (!rc) {
			rc = store_query(
			    c,
			    "UPDATE payme_transactions SET state = 2, perform_time = $2 WHERE "
			    "id = $1",
			    a, 2, NULL, e);
			t.perform_time = x->now;
			t.state = 2;
			x->changed = 2;
			log_info("msg=\"payme transaction performed\" transaction=%lld order=%lld "
			         "effect=\"%s\"",
			         (long long)t.id, (long long)t.order_id, ef.text);
		}
	} else if (t.state != 2) {
		fail(x, E_STATE, NULL);
	}
	if (!rc && !x->code)
		x->result = json_pack("{s:o, s:I, s:i}", "transaction", tx_str_id(&t),
		                      "perform_time", (json_int_t)t.perform_time, "state", 2);
	json_decref(t.account);
	return rc;
}

/* Payme's cancel reasons (C.5) as the ledger and the user read them. */
static const char *reason_text(int64_t reason)
{
	switch (reason) {
	case 1:
		return "a receiver was not found";
	case 2:
		return "the debit failed";
	case 3:
		return "the transaction failed";
	case 4:
		return "timed out";
	case 5:
		return "refunded";
	default:
		return "unknown reason";
	}
}

/* Payme canceled a transaction before it was performed: the payment
 * failed, recorded with Payme's reason (the user is told). */
static int payment_failed(struct store_conn *c, const struct tx *t, int64_t reason, int64_t now,
                          struct err *e)
{
	struct billing_order o;
	struct billing_effect ef;
	char why[96];
	int rc = billing_order_get(c, t->order_id, &o, e);

	if (rc)
		return rc;
	snprintf(why, sizeof(why), "payme reason %lld: %s", (long long)reason, reason_text(reason));
	return billing_failed(c, BP_PAYME, t->payme_id, o.user_id, o.id, 0, t->amount, "UZS", why,
	                      now, NULL, &ef, e);
}

static int m_cancel(struct store_conn *c, struct call *x, struct err *e)
{
	const char *pid = id_param(x);
	int64_t reason;
	struct tx t;
	int rc;

	if (!pid || !int_param(json_object_get(x->params, "reason"), &reason)) {
		fail(x, E_RPC, NULL);
		return 0;
	}
	rc = tx_named(c, x, pid, &t, e);
	if (rc <= 0)
		return rc;
	rc = 0;
	if (t.state == 1) {
		rc = tx_cancel(c, x, &t, -1, (int)reason, x->now, e);
		if (!rc)
			rc = order_release(c, t.order_id, x->now, e);
		if (!rc)
			rc = payment_failed(c, &t, reason, x->now, e);
	} else if (t.state == 2) {
		struct billing_effect ef;
		char why[32];

		snprintf(why, sizeof(why), "payme reason %lld", (long long)reason);
		rc = billing_refunded(c, BP_PAYME, t.payme_id, t.payme_id, t.amount, why, x->now,
		                      &ef, e);
		if (!rc)
			rc = tx_cancel(c, x, &t, -2, (int)reason, x->now, e);
		if (!rc)
			log_info(
			    "msg=\"payme transaction canceled after perform\" transaction=%lld "
			    "effect=\"%s\"",
			    (long long)t.id, ef.text);
	}
	if (!rc)
		x->result =
		    json_pack("{s:o, s:I, s:i}", "transaction", tx_str_id(&t), "cancel_time",
		              (json_int_t)t.cancel_time, "state", (int)t.state);
	json_decref(t.account);
	return rc;
}

static int m_check(struct store_conn *c, struct call *x, struct err *e)
{
	const char *pid = id_param(x);
	struct tx t;
	int rc;

	rc = tx_named(c, x, pid, &t, e);
	if (rc <= 0)
		return rc;
	rc = 0;
	x->result =
	    json_pack("{s:I, s:I, s:I, s:o, s:i, s:o}", "create_time", (json_int_t)t.create_time,
	              "perform_time", (json_int_t)t.perform_time, "cancel_time",
	              (json_int_t)t.cancel_time, "transaction", tx_str_id(&t), "state",
	              (int)t.state, "reason", t.reason_null ? json_null() : json_integer(t.reason));
	json_decref(t.account);
	return 0;
}

static int m_statement(struct store_conn *c, struct call *x, struct err *e)
{
	struct store_res *r = NULL;
	int64_t from, to;
	json_t *list;
	int rc;

	if (!int_param(json_object_get(x->params, "from"), &from) ||
	    !int_param(json_object_get(x->params, "to"), &to)) {
		fail(x, E_RPC, NULL);
		return 0;
	}
	{
		struct store_val a[] = {SV_INT(from), SV_INT(to)};

		rc =
		    store_query(c,
		                "SELECT " TX_COLS " FROM payme_transactions WHERE payme_time >= $1 "
		                "AND payme_time <= $2 ORDER BY payme_time, id LIMIT 10000",
		                a, 2, &r, e);
	}
	if (rc)
		return rc;
	list = json_array();
	for (size_t i = 0; i < store_res_rows(r); i++) {
		struct tx t;

		tx_read(r, i, &t);
		json_array_append_new(
		    list,
		    json_pack("{s:s, s:I, s:I, s:o, s:I, s:I, s:I, s:o, s:i, s:o, s:n}", "id",
		              t.payme_id, "time", (json_int_t)t.time, "amount",
		              (json_int_t)t.amount, "account", t.account, "create_time",
		              (json_int_t)t.create_time, "perform_time", (json_int_t)t.perform_time,
		              "cancel_time", (json_int_t)t.cancel_time, "transaction",
		              tx_str_id(&t), "state", (int)t.state, "reason",
		              t.reason_null ? json_null() : json_integer(t.reason), "receivers"));
	}
	store_res_free(r);
	x->result = json_pack("{s:o}", "transactions", list);
	return 0;
}

static const struct method {
	const char *name;
	int (*fn)(struct store_conn *c, struct call *x, struct err *e);
} methods[] = {
    {"CheckPerformTransaction", m_check_perform},
    {"CreateTransaction", m_create},
    {"PerformTransaction", m_perform},
    {"CancelTransaction", m_cancel},
    {"CheckTransaction", m_check},
    {"GetStatement", m_statement},
};

/* One call in a transaction; a change of state is recorded with it. */
static int run(struct store_conn *c, const struct method *m, struct call *x, struct err *e)
{
	char key[96], *acc;
	int rc = m->fn(c, x, e);

	if (rc || !x->changed)
		return rc;
	snprintf(key, sizeof(key), "%s:%d", id_param(x), x->changed);
	rc = billing_event_claim(c, BP_PAYME, key, m->name, x->now, NULL, e);
	if (rc == 0) /* recorded by another call in between: run again */
		return err_set(e, ERR_EXISTS, "payme %s recorded already", key);
	if (rc < 0)
		return rc;
	acc = json_dumps(json_object_get(x->params, "account"), JSON_FLAGS);
	{
		char *res = x->result ? json_dumps(x->result, JSON_FLAGS) : NULL;

		rc = billing_event_done(c, BP_PAYME, key, 0, 0, acc ? acc : "", res, e);
		free(res);
	}
	free(acc);
	return rc;
}

void payme_handle(struct app *a, const char *authz, const char *body, size_t len, int64_t now,
                  char **answer)
{
	struct call x = {.a = a, .now = now};
	const struct method *m = NULL;
	const char *key = app_str(a, SET_PAYME_KEY);
	json_error_t je;
	json_t *req = NULL;
	struct err e = {0};
	const char *name;
	int rc;

	req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!req) {
		fail(&x, E_PARSE, NULL);
		goto out;
	}
	if (json_is_object(req))
		x.id = json_object_get(req, "id");
	if (!authz || !key || sig_payme_auth(authz, strlen(authz), SIG_PAYME_LOGIN, key, &e)) {
		log_warn("msg=\"payme call refused\" reason=\"%s\"",
		         authz ? "wrong credentials" : "no credentials");
		fail(&x, E_AUTH, NULL);
		goto out;
	}
	name = json_string_value(json_object_get(req, "method"));
	x.params = json_object_get(req, "params");
	if (!json_is_object(req) || !name || !json_is_object(x.params) ||
	    (x.id && !json_is_integer(x.id) && !json_is_string(x.id))) {
		fail(&x, E_RPC, NULL);
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
		if (strcmp(methods[i].name, name) == 0)
			m = &methods[i];
	if (!m) {
		fail(&x, E_METHOD, name);
		goto out;
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		struct store_conn *c = NULL;

		json_decref(x.result);
		x.result = NULL;
		x.code = 0;
		x.data = NULL;
		x.changed = 0;
		rc = store_conn_get(a->store, &c, &e);
		if (!rc) {
			rc = store_begin(c, &e);
			if (!rc)
				rc = run(c, m, &x, &e);
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
		log_error("msg=\"payme call failed\" method=%s error=\"%s\"", m->name, e.msg);
		json_decref(x.result);
		x.result = NULL;
		fail(&x, E_SYSTEM, NULL);
	}
out:
	*answer = answer_of(&x);
	json_decref(x.result);
	json_decref(req);
}

int payme_checkout_url(const struct app *a, const struct billing_order *o, const char *lang,
                       const char *return_url, char *out, size_t n)
{
	const char *merchant = app_str(a, SET_PAYME_MERCHANT_ID);
	const char *base = app_str(a, SET_PAYME_CHECKOUT_URL);
	char plain[1024], b64[1400];
	size_t blen = strlen(base);
	int len;

	if (!merchant || !base)
		return -ERR_INVALID;
	len = snprintf(plain, sizeof(plain), "m=%s;ac.order_id=%lld;a=%lld;l=%s%s%s", merchant,
	               (long long)o->id, (long long)o->amount, lang ? lang : "ru",
	               return_url ? ";c=" : "", return_url ? return_url : "");
	if (len < 0 || (size_t)len >= sizeof(plain) ||
	    !crypto_base64(plain, (size_t)len, b64, sizeof(b64)))
		return -ERR_INVALID;
	while (blen && base[blen - 1] == '/')
		blen--;
	len = snprintf(out, n, "%.*s/%s", (int)blen, base, b64);
	return len < 0 || (size_t)len >= n ? -ERR_INVALID : 0;
}
