/*
 * stripe_ops: what changes the Stripe simulator's world. The API
 * (stripe_api.c), the control API and the hosted checkout page
 * (stripe_control.c) call the same functions, so a session paid on the
 * page and one paid by a test produce the same objects and events.
 *
 * Every operation validates all its input first and changes nothing when
 * something is wrong (cx gets Stripe's error object and status); then it
 * creates and updates objects and emits events in the order a handler
 * may rely on least (Stripe does not promise one): the objects a
 * "completed" event names exist before the event.
 *
 * Periods: a subscription remembers its billing_cycle_anchor and how many
 * periods have passed ("cycle" in _sim); period k runs from anchor + k
 * intervals to anchor + k + 1 intervals, months added on the calendar with
 * the day clamped (Jan 31 + 1 month = Feb 28 or 29, + 2 months = Mar 31),
 * as Stripe anchors them. A trial is period -1, from the start to the
 * anchor (trial_end).
 */
#include "sim/stripe_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/mem.h"
#include "lib/str.h"

#define MAX_LINE_ITEMS 100
#define MAX_AMOUNT     99999999 /* Stripe's largest amount in minor units */

/* ---- parameters ---- */

bool stripe_p_str(struct stripe_cx *cx, const json_t *o, const char *key, const char *param,
                  const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v)
		return true;
	if (!json_is_string(v)) {
		stripe_error(cx, 400, "invalid_request_error", NULL, param,
		             "Invalid string: %s must be a string, not a hash or an array", param);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

bool stripe_p_req(struct stripe_cx *cx, const json_t *o, const char *key, const char *param,
                  const char **out)
{
	if (!stripe_p_str(cx, o, key, param, out))
		return false;
	if (!*out) {
		stripe_error(cx, 400, "invalid_request_error", "parameter_missing", param,
		             "Missing required param: %s.", param);
		return false;
	}
	if (!**out) {
		stripe_error(cx, 400, "invalid_request_error", "parameter_invalid_empty", param,
		             "You passed an empty string for '%s'. We assume empty values are an "
		             "attempt to unset a parameter; however '%s' cannot be unset. You "
		             "should remove '%s' from your request or supply a non-empty value.",
		             param, param, param);
		return false;
	}
	return true;
}

bool stripe_p_int(struct stripe_cx *cx, const json_t *o, const char *key, const char *param,
                  int64_t min, int64_t max, int64_t *v, bool *present)
{
	const char *s;
	int64_t x;

	*present = false;
	if (!stripe_p_str(cx, o, key, param, &s))
		return false;
	if (!s)
		return true;
	if (str_to_i64(str_c(s), INT64_MIN, INT64_MAX, &x)) {
		stripe_error(cx, 400, "invalid_request_error", "parameter_invalid_integer", param,
		             "Invalid integer: %.60s", s);
		return false;
	}
	if (x < min || x > max) {
		stripe_error(cx, 400, "invalid_request_error", "parameter_invalid_integer", param,
		             "Invalid %s: must be an integer between %lld and %lld", param,
		             (long long)min, (long long)max);
		return false;
	}
	*v = x;
	*present = true;
	return true;
}

bool stripe_p_bool(struct stripe_cx *cx, const json_t *o, const char *key, const char *param,
                   bool *v, bool *present)
{
	const char *s;

	*present = false;
	if (!stripe_p_str(cx, o, key, param, &s))
		return false;
	if (!s)
		return true;
	if (strcmp(s, "true") && strcmp(s, "false")) {
		stripe_error(cx, 400, "invalid_request_error", NULL, param,
		             "Invalid boolean: %.60s", s);
		return false;
	}
	*v = s[0] == 't';
	*present = true;
	return true;
}

bool stripe_p_known(struct stripe_cx *cx, const json_t *o, const char *const *allowed,
                    const char *prefix)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return true;
	json_object_foreach((json_t *)o, k, v)
	{
		size_t i = 0;

		(void)v;
		while (allowed[i] && strcmp(allowed[i], k))
			i++;
		if (!allowed[i]) {
			char name[300];

			snprintf(name, sizeof(name), prefix ? "%s[%s]" : "%s%s",
			         prefix ? prefix : "", k);
			stripe_error(cx, 400, "invalid_request_error", "parameter_unknown", name,
			             "Received unknown parameter: %s", name);
			return false;
		}
	}
	return true;
}

/* A hash parameter: absent, or an object; false after an error. */
static bool p_hash(struct stripe_cx *cx, const json_t *o, const char *key, const char *param,
                   json_t **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v && !json_is_object(v)) {
		stripe_error(cx, 400, "invalid_request_error", NULL, param,
		             "Invalid hash: %s must be given with keys (%s[key]=value)", param,
		             param);
		return false;
	}
	*out = v;
	return true;
}

int stripe_decimals(const char *c)
{
	static const char *const zero[] = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
	                                   "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"};

	for (size_t i = 0; c && i < ARRAY_SIZE(zero); i++)
		if (strcasecmp(c, zero[i]) == 0)
			return 0;
	return 2;
}

void stripe_money(int64_t amount, const char *currency, char *out, size_t outsz)
{
	char cur[8] = "";
	int64_t a = amount < 0 ? -amount : amount;

	for (size_t i = 0; currency && currency[i] && i < 3; i++)
		cur[i] = (char)(currency[i] >= 'a' && currency[i] <= 'z' ? currency[i] - 32
		                                                         : currency[i]);
	if (stripe_decimals(currency) == 0)
		snprintf(out, outsz, "%s%lld %s", amount < 0 ? "-" : "", (long long)a, cur);
	else if (strcmp(cur, "USD") == 0)
		snprintf(out, outsz, "%s$%lld.%02lld", amount < 0 ? "-" : "", (long long)(a / 100),
		         (long long)(a % 100));
	else
		snprintf(out, outsz, "%s%lld.%02lld %s", amount < 0 ? "-" : "",
		         (long long)(a / 100), (long long)(a % 100), cur);
}

/* ---- small helpers ---- */

static json_t *jstr(const char *s)
{
	json_t *v = s ? json_string(s) : NULL;

	return v ? v : json_null();
}

static const char *gs(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int64_t gi(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static json_t *priv(json_t *o)
{
	json_t *p = json_object_get(o, "_sim");

	if (!p) {
		p = json_object();
		json_object_set_new(o, "_sim", p);
	}
	return p;
}

static const char *ps(json_t *o, const char *key)
{
	return gs(json_object_get(o, "_sim"), key);
}

/* Keep o; false (with a 500 api_error set) when the simulator is full. */
static bool put(struct stripe_cx *cx, json_t *o)
{
	if (!o) { /* a json_pack that did not match its arguments: a bug */
		stripe_error(cx, 500, "api_error", NULL, NULL, "an object could not be built");
		return false;
	}
	if (stripe_put(cx->st, o) == 0)
		return true;
	stripe_error(cx, 500, "api_error", NULL, NULL,
	             "The simulator holds %d objects; reset it (POST /control/stripe/reset)",
	             STRIPE_MAX_OBJECTS);
	return false;
}

static bool room_for(struct stripe_cx *cx, size_t n)
{
	if (json_object_size(cx->st->objs) + n <= STRIPE_MAX_OBJECTS)
		return true;
	stripe_error(cx, 500, "api_error", NULL, NULL,
	             "The simulator holds %d objects; reset it (POST /control/stripe/reset)",
	             STRIPE_MAX_OBJECTS);
	return false;
}

static json_t *view(struct stripe_cx *cx, const json_t *o)
{
	return stripe_render(cx->st, o, cx->layout, cx->version);
}

static void answer(struct stripe_cx *cx, const json_t *o)
{
	json_decref(cx->out);
	cx->out = view(cx, o);
	cx->status = 200;
}

static bool valid_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || !at[1] || strchr(at + 1, '@') || strlen(s) > 512)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '<' || *s == '>' || *s == '"')
			return false;
	return true;
}

static bool email_ok(struct stripe_cx *cx, const char *email, const char *param)
{
	if (!email || !*email || valid_email(email))
		return true;
	stripe_error(cx, 400, "invalid_request_error", "email_invalid", param,
	             "Invalid email address: %.100s", email);
	return false;
}

/* An http(s) URL without spaces or control characters. */
static bool url_ok(struct stripe_cx *cx, const char *url, const char *param)
{
	size_t n;

	if (!url)
		return true;
	n = strlen(url);
	if (n <= STRIPE_MAX_URL &&
	    (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)) {
		size_t i = 0;

		while (i < n && (unsigned char)url[i] > ' ' && url[i] != 0x7f && url[i] != '"' &&
		       url[i] != '<' && url[i] != '>' && url[i] != '\\')
			i++;
		if (i == n && n > 8)
			return true;
	}
	stripe_error(cx, 400, "invalid_request_error", "url_invalid", param, "Not a valid URL");
	return false;
}

/* ---- metadata ---- */

bool stripe_metadata_apply(struct stripe_cx *cx, json_t *o, const json_t *given, const char *param)
{
	json_t *meta = json_object_get(o, "metadata"), *v;
	const char *k;
	size_t adds = 0;

	if (!given)
		return true;
	if (json_is_string(given)) {
		if (json_string_length(given)) {
			stripe_error(cx, 400, "invalid_request_error", NULL, param,
			             "Invalid hash: %s must be given with keys (%s[key]=value), or "
			             "empty to unset it",
			             param, param);
			return false;
		}
		json_object_clear(meta);
		return true;
	}
	if (!json_is_object(given)) {
		stripe_error(cx, 400, "invalid_request_error", NULL, param,
		             "Invalid hash: %s must be given with keys", param);
		return false;
	}
	json_object_foreach((json_t *)given, k, v)
	{
		if (!json_is_string(v)) {
			stripe_error(cx, 400, "invalid_request_error", NULL, param,
			             "Invalid %s: metadata values must be strings", param);
			return false;
		}
		if (strlen(k) > 40) {
			stripe_error(cx, 400, "invalid_request_error", NULL, param,
			             "Metadata keys can have a maximum length of 40 characters.");
			return false;
		}
		if (json_string_length(v) > 500) {
			stripe_error(
			    cx, 400, "invalid_request_error", NULL, param,
			    "Metadata values can have a maximum length of 500 characters.");
			return false;
		}
		if (json_string_length(v) && !json_object_get(meta, k))
			adds++;
	}
	if (json_object_size(meta) + adds > 50) {
		stripe_error(cx, 400, "invalid_request_error", NULL, param,
		             "You can have at most 50 metadata keys.");
		return false;
	}
	json_object_foreach((json_t *)given, k, v)
	{
		if (json_string_length(v))
			json_object_set(meta, k, v);
		else
			json_object_del(meta, k);
	}
	return true;
}

/* Metadata given on create: a new object of the valid pairs, or NULL. */
static json_t *metadata_new(struct stripe_cx *cx, const json_t *given, const char *param)
{
	json_t *holder = json_pack("{s:{}}", "metadata"), *m;

	if (!stripe_metadata_apply(cx, holder, given, param)) {
		json_decref(holder);
		return NULL;
	}
	m = json_incref(json_object_get(holder, "metadata"));
	json_decref(holder);
	return m;
}

/* ---- time ---- */

static int days_in_month(int64_t year, int month)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 1 && leap ? 29 : d[month];
}

static int64_t add_months(int64_t t, int64_t months)
{
	time_t tt = (time_t)t;
	struct tm tm;
	int64_t m;

	gmtime_r(&tt, &tm);
	m = tm.tm_mon + months;
	tm.tm_year += (int)(m / 12);
	tm.tm_mon = (int)(m % 12);
	if (tm.tm_mday > days_in_month(tm.tm_year + 1900, tm.tm_mon))
		tm.tm_mday = days_in_month(tm.tm_year + 1900, tm.tm_mon);
	return (int64_t)timegm(&tm);
}

/* anchor plus k intervals of the subscription's price */
static int64_t period_at(const json_t *sub, int64_t k)
{
	const json_t *p = json_object_get(sub, "_sim");
	const char *iv = gs(p, "interval");
	int64_t n = gi(p, "interval_count") * k, anchor = gi(p, "anchor");

	if (!iv || strcmp(iv, "month") == 0)
		return add_months(anchor, n);
	if (strcmp(iv, "year") == 0)
		return add_months(anchor, 12 * n);
	if (strcmp(iv, "week") == 0)
		return anchor + n * 7 * 86400;
	return anchor + n * 86400;
}

/* Move the clock forward to t when it is behind. */
static void clock_reach(struct sim_stripe *st, int64_t t)
{
	int64_t now = stripe_now(st);

	if (now < t)
		st->clock_offset_s += t - now;
}

/* ---- cards ---- */

static const struct stripe_card cards[] = {
    {"4242424242424242", CARD_OK, "visa", NULL, NULL, NULL},
    {"4000056655665556", CARD_OK, "visa", NULL, NULL, NULL},
    {"5555555555554444", CARD_OK, "mastercard", NULL, NULL, NULL},
    {"378282246310005", CARD_OK, "amex", NULL, NULL, NULL},
    /* 3D Secure cards: authentication is taken as done (not simulated) */
    {"4000002500003155", CARD_OK, "visa", NULL, NULL, NULL},
    {"4000002760003184", CARD_OK, "visa", NULL, NULL, NULL},
    {"4000000000003220", CARD_OK, "visa", NULL, NULL, NULL},
    {"4000000000000002", CARD_DECLINE, "visa", "card_declined", "generic_decline",
     "Your card was declined."},
    {"4000000000009995", CARD_DECLINE, "visa", "card_declined", "insufficient_funds",
     "Your card has insufficient funds."},
    {"4000000000009987", CARD_DECLINE, "visa", "card_declined", "lost_card",
     "Your card was declined."},
    {"4000000000009979", CARD_DECLINE, "visa", "card_declined", "stolen_card",
     "Your card was declined."},
    {"4000000000000069", CARD_DECLINE, "visa", "expired_card", "expired_card",
     "Your card has expired."},
    {"4000000000000127", CARD_DECLINE, "visa", "incorrect_cvc", "incorrect_cvc",
     "Your card's security code is incorrect."},
    {"4000000000000119", CARD_DECLINE, "visa", "processing_error", "processing_error",
     "An error occurred while processing your card. Try again in a little bit."},
    {"4000008260003178", CARD_DECLINE, "visa", "card_declined", "insufficient_funds",
     "Your card has insufficient funds."},
    {"4242424242424241", CARD_INVALID, "visa", "incorrect_number", NULL,
     "Your card number is incorrect."},
    {"4000000000000341", CARD_CHARGE_FAILS, "visa", "card_declined", "generic_decline",
     "Your card was declined."},
};

static const struct {
	const char *pm, *number;
} pm_aliases[] = {
    {"pm_card_visa", "4242424242424242"},
    {"pm_card_mastercard", "5555555555554444"},
    {"pm_card_amex", "378282246310005"},
    {"pm_card_chargeDeclined", "4000000000000002"},
    {"pm_card_chargeDeclinedInsufficientFunds", "4000000000009995"},
    {"pm_card_chargeDeclinedLostCard", "4000000000009987"},
    {"pm_card_chargeDeclinedStolenCard", "4000000000009979"},
    {"pm_card_chargeDeclinedExpiredCard", "4000000000000069"},
    {"pm_card_chargeDeclinedIncorrectCvc", "4000000000000127"},
    {"pm_card_chargeDeclinedProcessingError", "4000000000000119"},
    {"pm_card_chargeCustomerFail", "4000000000000341"},
};

static const struct stripe_card bad_number = {
    NULL, CARD_INVALID, "unknown", "incorrect_number", NULL, "Your card number is incorrect."};
static const struct stripe_card live_card = {
    NULL,
    CARD_DECLINE,
    "visa",
    "card_declined",
    "test_mode_live_card",
    "Your card was declined. Your request was in test mode, but used a non test card. For a "
    "list of valid test cards, visit: https://stripe.com/docs/testing."};

static bool luhn(const char *d, size_t n)
{
	int sum = 0;

	for (size_t i = 0; i < n; i++) {
		int x = d[n - 1 - i] - '0';

		if (i % 2) {
			x *= 2;
			if (x > 9)
				x -= 9;
		}
		sum += x;
	}
	return sum % 10 == 0;
}

/* Normalise a card number (spaces and dashes dropped, pm_card_* names
 * resolved) into out[20]; false when it cannot be a card number. */
static bool card_digits(const char *in, char out[20])
{
	size_t n = 0;

	for (size_t i = 0; in && i < ARRAY_SIZE(pm_aliases); i++)
		if (strcmp(in, pm_aliases[i].pm) == 0)
			in = pm_aliases[i].number;
	for (size_t i = 0; in && in[i] && i < 64; i++) {
		char c = in[i];

		if (c == ' ' || c == '-')
			continue;
		if (c < '0' || c > '9' || n == 19)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	return n >= 12;
}

const struct stripe_card *stripe_card_find(const char *number)
{
	char d[20];

	if (!card_digits(number, d))
		return &bad_number;
	for (size_t i = 0; i < ARRAY_SIZE(cards); i++)
		if (strcmp(cards[i].number, d) == 0)
			return &cards[i];
	return luhn(d, strlen(d)) ? &live_card : &bad_number;
}

/* A PaymentMethod for a card number (kept, with the number in _sim). */
static json_t *make_pm(struct stripe_cx *cx, const char *number, const char *email,
                       const char *customer)
{
	const struct stripe_card *c = stripe_card_find(number);
	char id[40], d[20] = "0000";
	json_t *pm;

	card_digits(number, d);
	stripe_id(cx->st, "pm_1", 23, id, sizeof(id));
	pm = json_pack("{s:s, s:s, s:{s:n, s:s*, s:n, s:n}, s:{s:s, s:s, s:i, s:i, s:s, s:s, "
	               "s:s}, s:I, s:o, s:b, s:{}, s:s, s:{s:s}}",
	               "id", id, "object", "payment_method", "billing_details", "address", "email",
	               email, "name", "phone", "card", "brand", c->brand, "country", "US",
	               "exp_month", 12, "exp_year", 2034, "funding", "credit", "last4",
	               d + strlen(d) - 4, "display_brand", c->brand, "created",
	               (json_int_t)stripe_now(cx->st), "customer", jstr(customer), "livemode", 0,
	               "metadata", "type", "card", "_sim", "number", d);
	return put(cx, pm) ? pm : NULL;
}

/* ---- customers ---- */

static json_t *customer_new(struct stripe_cx *cx, const char *email, const char *name)
{
	char id[40], prefix[12];
	json_t *c;

	stripe_id(cx->st, "cus_", 14, id, sizeof(id));
	for (size_t i = 0; i < 8; i++)
		prefix[i] =
		    (char)(id[4 + i] >= 'a' && id[4 + i] <= 'z' ? id[4 + i] - 32 : id[4 + i]);
	prefix[8] = '\0';
	c = json_pack("{s:s, s:s, s:n, s:i, s:I, s:n, s:n, s:n, s:b, s:n, s:o, s:s, s:{s:n, "
	              "s:n, s:n, s:n}, s:b, s:{}, s:o, s:i, s:n, s:[], s:n, s:s, s:n}",
	              "id", id, "object", "customer", "address", "balance", 0, "created",
	              (json_int_t)stripe_now(cx->st), "currency", "default_source", "description",
	              "delinquent", 0, "discount", "email", jstr(email), "invoice_prefix", prefix,
	              "invoice_settings", "custom_fields", "default_payment_method", "footer",
	              "rendering_options", "livemode", 0, "metadata", "name", jstr(name),
	              "next_invoice_sequence", 1, "phone", "preferred_locales", "shipping",
	              "tax_exempt", "none", "test_clock");
	return put(cx, c) ? c : NULL;
}

static const char *const customer_params[] = {
    "email",      "name",       "phone",  "description",       "metadata",         "address",
    "shipping",   "tax_exempt", "expand", "preferred_locales", "invoice_settings", "payment_method",
    "test_clock", "balance",    NULL};

void stripe_customer_create(struct stripe_cx *cx)
{
	const char *email, *name, *phone, *desc;
	json_t *c, *meta;

	if (!stripe_p_known(cx, cx->p, customer_params, NULL) ||
	    !stripe_p_str(cx, cx->p, "email", "email", &email) ||
	    !stripe_p_str(cx, cx->p, "name", "name", &name) ||
	    !stripe_p_str(cx, cx->p, "phone", "phone", &phone) ||
	    !stripe_p_str(cx, cx->p, "description", "description", &desc) ||
	    !email_ok(cx, email, "email") ||
	    !(meta = metadata_new(cx, json_object_get(cx->p, "metadata"), "metadata")))
		return;
	if (!room_for(cx, 2) ||
	    !(c = customer_new(cx, email && *email ? email : NULL, name && *name ? name : NULL))) {
		json_decref(meta);
		return;
	}
	json_object_set_new(c, "metadata", meta);
	json_object_set_new(c, "phone", jstr(phone && *phone ? phone : NULL));
	json_object_set_new(c, "description", jstr(desc && *desc ? desc : NULL));
	stripe_emit(cx, "customer.created", c, NULL, NULL);
	answer(cx, c);
}

void stripe_customer_update(struct stripe_cx *cx, json_t *c)
{
	static const char *const simple[] = {"email", "name", "phone", "description"};
	const char *vals[ARRAY_SIZE(simple)];
	json_t *prev = json_object(), *meta_before;

	if (!stripe_p_known(cx, cx->p, customer_params, NULL))
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(simple); i++)
		if (!stripe_p_str(cx, cx->p, simple[i], simple[i], &vals[i]))
			goto out;
	if (!email_ok(cx, vals[0], "email"))
		goto out;
	meta_before = json_deep_copy(json_object_get(c, "metadata"));
	if (!stripe_metadata_apply(cx, c, json_object_get(cx->p, "metadata"), "metadata")) {
		json_decref(meta_before);
		goto out;
	}
	if (!json_equal(meta_before, json_object_get(c, "metadata")))
		json_object_set(prev, "metadata", meta_before);
	json_decref(meta_before);
	for (size_t i = 0; i < ARRAY_SIZE(simple); i++) {
		json_t *nv, *old = json_object_get(c, simple[i]);

		if (!vals[i])
			continue;
		nv = jstr(*vals[i] ? vals[i] : NULL);
		if (!json_equal(old, nv))
			json_object_set(prev, simple[i], old);
		json_object_set_new(c, simple[i], nv);
	}
	if (json_object_size(prev))
		stripe_emit(cx, "customer.updated", c, json_incref(prev), json_incref(prev));
	answer(cx, c);
out:
	json_decref(prev);
}

static void sub_end(struct stripe_cx *cx, json_t *sub, int64_t at, const char *reason);

void stripe_customer_delete(struct stripe_cx *cx, json_t *c)
{
	json_t *ids = stripe_ids(cx->st, "subscription"), *id;
	const char *cid = gs(c, "id");
	size_t i;

	json_array_foreach(ids, i, id)
	{
		json_t *sub = stripe_get(cx->st, json_string_value(id), NULL);
		const char *status = gs(sub, "status");

		if (strcmp(gs(sub, "customer"), cid) == 0 && strcmp(status, "canceled") &&
		    strcmp(status, "incomplete_expired"))
			sub_end(cx, sub, stripe_now(cx->st), "cancellation_requested");
	}
	json_object_set_new(c, "deleted", json_true());
	stripe_emit(cx, "customer.deleted", c, NULL, NULL);
	json_decref(cx->out);
	cx->out = json_pack("{s:s, s:s, s:b}", "id", cid, "object", "customer", "deleted", 1);
	cx->status = 200;
}

/* ---- checkout sessions ---- */

struct line {
	json_t *price;        /* an existing Price, or NULL */
	const char *currency; /* price_data */
	int64_t unit_amount;
	const char *product;  /* an existing Product id */
	json_t *product_data; /* borrowed */
	const char *interval; /* NULL: one-time */
	int64_t interval_count;
	int64_t quantity;
};

static bool interval_ok(struct stripe_cx *cx, const char *iv, int64_t count, const char *param)
{
	static const struct {
		const char *name;
		int64_t max;
	} ivs[] = {{"day", 1095}, {"week", 156}, {"month", 36}, {"year", 3}};

	for (size_t i = 0; i < ARRAY_SIZE(ivs); i++)
		if (strcmp(iv, ivs[i].name) == 0) {
			if (count <= ivs[i].max)
				return true;
			stripe_error(cx, 400, "invalid_request_error", NULL, param,
			             "Maximum of three years interval allowed.");
			return false;
		}
	stripe_error(cx, 400, "invalid_request_error", NULL, param,
	             "Invalid %s: must be one of day, month, week, or year", param);
	return false;
}

static bool letters(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

static bool read_price_data(struct stripe_cx *cx, const json_t *pd, const char *pfx, struct line *l)
{
	static const char *const known[] = {"currency",
	                                    "product",
	                                    "product_data",
	                                    "unit_amount",
	                                    "unit_amount_decimal",
	                                    "recurring",
	                                    "tax_behavior",
	                                    NULL};
	static const char *const pknown[] = {"name",     "description", "images", "metadata",
	                                     "tax_code", "unit_label",  NULL};
	static const char *const rknown[] = {"interval", "interval_count", NULL};
	char name[160];
	const char *dec;
	json_t *rec, *prod;
	bool has, has_dec;

	if (!json_is_object(pd)) {
		stripe_error(cx, 400, "invalid_request_error", NULL, pfx,
		             "Invalid hash: %s must be given with keys", pfx);
		return false;
	}
	if (!stripe_p_known(cx, pd, known, pfx))
		return false;
	snprintf(name, sizeof(name), "%s[currency]", pfx);
	if (!stripe_p_req(cx, pd, "currency", name, &l->currency))
		return false;
	if (strlen(l->currency) != 3 || !letters(l->currency)) {
		stripe_error(cx, 400, "invalid_request_error", NULL, name,
		             "Invalid currency: %.20s", l->currency);
		return false;
	}
	snprintf(name, sizeof(name), "%s[unit_amount]", pfx);
	if (!stripe_p_int(cx, pd, "unit_amount", name, 0, MAX_AMOUNT, &l->unit_amount, &has))
		return false;
	snprintf(name, sizeof(name), "%s[unit_amount_decimal]", pfx);
	if (!stripe_p_str(cx, pd, "unit_amount_decimal", name, &dec))
		return false;
	has_dec = dec != NULL;
	if (has && has_dec) {
		stripe_error(cx, 400, "invalid_request_error", "parameters_exclusive", name,
		             "You may only specify one of these parameters: unit_amount, "
		             "unit_amount_decimal.");
		return false;
	}
	if (has_dec && stripe_p_int(cx, pd, "unit_amount_decimal", name, 0, MAX_AMOUNT,
	                            &l->unit_amount, &has) == false) {
		stripe_error(cx, 400, "invalid_request_error", NULL, name,
		             "Invalid decimal: %.40s (the simulator takes whole minor units)", dec);
		return false;
	}
	if (!has) {
		snprintf(name, sizeof(name), "%s[unit_amount]", pfx);
		stripe_error(cx, 400, "invalid_request_error", "parameter_missing", name,
		             "Missing required param: %s.", name);
		return false;
	}
	snprintf(name, sizeof(name), "%s[product]", pfx);
	if (!stripe_p_str(cx, pd, "product", name, &l->product))
		return false;
	snprintf(name, sizeof(name), "%s[product_data]", pfx);
	if (!p_hash(cx, pd, "product_data", name, &prod))
		return false;
	if (l->product && prod) {
		stripe_error(
		    cx, 400, "invalid_request_error", "parameters_exclusive", name,
		    "You may only specify one of these parameters: product, product_data.");
		return false;
	}
	if (l->product && !stripe_get(cx->st, l->product, "product")) {
		snprintf(name, sizeof(name), "%s[product]", pfx);
		stripe_error(cx, 400, "invalid_request_error", "resource_missing", name,
		             "No such product: '%.80s'", l->product);
		return false;
	}
	if (!l->product) {
		const char *pname;

		if (!prod) {
			snprintf(name, sizeof(name), "%s[product_data]", pfx);
			stripe_error(cx, 400, "invalid_request_error", "parameter_missing", name,
			             "Missing required param: %s.", name);
			return false;
		}
		if (!stripe_p_known(cx, prod, pknown, name))
			return false;
		snprintf(name, sizeof(name), "%s[product_data][name]", pfx);
		if (!stripe_p_req(cx, prod, "name", name, &pname))
			return false;
		snprintf(name, sizeof(name), "%s[product_data][description]", pfx);
		if (!stripe_p_str(cx, prod, "description", name, &pname))
			return false;
		snprintf(name, sizeof(name), "%s[product_data][metadata]", pfx);
		json_decref(metadata_new(cx, json_object_get(prod, "metadata"), name));
		if (cx->status != 200)
			return false;
		l->product_data = prod;
	}
	snprintf(name, sizeof(name), "%s[recurring]", pfx);
	if (!p_hash(cx, pd, "recurring", name, &rec))
		return false;
	if (rec) {
		if (!stripe_p_known(cx, rec, rknown, name))
			return false;
		snprintf(name, sizeof(name), "%s[recurring][interval]", pfx);
		if (!stripe_p_req(cx, rec, "interval", name, &l->interval))
			return false;
		l->interval_count = 1;
		snprintf(name, sizeof(name), "%s[recurring][interval_count]", pfx);
		if (!stripe_p_int(cx, rec, "interval_count", name, 1, 1095, &l->interval_count,
		                  &has))
			return false;
		snprintf(name, sizeof(name), "%s[recurring][interval]", pfx);
		if (!interval_ok(cx, l->interval, l->interval_count, name))
			return false;
	}
	return true;
}

static bool read_lines(struct stripe_cx *cx, struct line *lines, size_t *n)
{
	static const char *const known[] = {
	    "price",     "price_data",        "quantity", "adjustable_quantity",
	    "tax_rates", "dynamic_tax_rates", NULL};
	json_t *items = json_object_get(cx->p, "line_items"), *it;
	size_t i;

	if (!items) {
		stripe_error(cx, 400, "invalid_request_error", "parameter_missing", "line_items",
		             "Missing required param: line_items.");
		return false;
	}
	if (!json_is_array(items) || json_array_size(items) == 0) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "line_items",
		             "Invalid array: line_items must be given as line_items[0][...]");
		return false;
	}
	if (json_array_size(items) > MAX_LINE_ITEMS) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "line_items",
		             "A Checkout Session can have at most %d line items.", MAX_LINE_ITEMS);
		return false;
	}
	json_array_foreach(items, i, it)
	{
		struct line *l = &lines[i];
		char pfx[64], name[96];
		const char *price_id;
		bool has;

		memset(l, 0, sizeof(*l));
		snprintf(pfx, sizeof(pfx), "line_items[%zu]", i);
		if (!json_is_object(it)) {
			stripe_error(cx, 400, "invalid_request_error", NULL, pfx,
			             "Invalid hash: %s must be given with keys", pfx);
			return false;
		}
		if (!stripe_p_known(cx, it, known, pfx))
			return false;
		snprintf(name, sizeof(name), "%s[price]", pfx);
		if (!stripe_p_str(cx, it, "price", name, &price_id))
			return false;
		if (price_id && json_object_get(it, "price_data")) {
			stripe_error(cx, 400, "invalid_request_error", "parameters_exclusive", name,
			             "You may only specify one of these parameters: price, "
			             "price_data.");
			return false;
		}
		if (price_id) {
			json_t *rec;

			l->price = stripe_get(cx->st, price_id, "price");
			if (!l->price) {
				stripe_error(cx, 400, "invalid_request_error", "resource_missing",
				             name, "No such price: '%.80s'", price_id);
				return false;
			}
			rec = json_object_get(l->price, "recurring");
			l->currency = gs(l->price, "currency");
			l->unit_amount = gi(l->price, "unit_amount");
			l->interval = json_is_object(rec) ? gs(rec, "interval") : NULL;
			l->interval_count = json_is_object(rec) ? gi(rec, "interval_count") : 0;
		} else if (json_object_get(it, "price_data")) {
			snprintf(name, sizeof(name), "%s[price_data]", pfx);
			if (!read_price_data(cx, json_object_get(it, "price_data"), name, l))
				return false;
		} else {
			stripe_error(cx, 400, "invalid_request_error", "parameter_missing", name,
			             "You must specify either `price` or `price_data` in %s.", pfx);
			return false;
		}
		snprintf(name, sizeof(name), "%s[quantity]", pfx);
		if (!stripe_p_int(cx, it, "quantity", name, 1, 999999, &l->quantity, &has))
			return false;
		if (!has) {
			stripe_error(cx, 400, "invalid_request_error", "parameter_missing", name,
			             "Missing required param: %s.", name);
			return false;
		}
		if (l->unit_amount * l->quantity > MAX_AMOUNT) {
			stripe_error(cx, 400, "invalid_request_error", "amount_too_large", name,
			             "Amount must be no more than %d.", MAX_AMOUNT);
			return false;
		}
		if (i > 0 && strcasecmp(l->currency, lines[0].currency)) {
			stripe_error(cx, 400, "invalid_request_error", NULL, "line_items",
			             "All line items must be in the same currency.");
			return false;
		}
	}
	*n = json_array_size(items);
	return true;
}

/* The Price of a line item, created (with its Product) for price_data. */
static json_t *line_price(struct stripe_cx *cx, const struct line *l)
{
	char pid[40], prid[40], cur[4], dec[24];
	json_t *price, *prod;
	const char *product = l->product;

	if (l->price)
		return l->price;
	for (size_t i = 0; i < 3; i++)
		cur[i] = (char)(l->currency[i] | 32);
	cur[3] = '\0';
	if (!product) {
		const char *desc = gs(l->product_data, "description");
		json_t *meta = metadata_new(cx, json_object_get(l->product_data, "metadata"), "m");

		stripe_id(cx->st, "prod_", 14, prid, sizeof(prid));
		prod = json_pack("{s:s, s:s, s:b, s:I, s:n, s:o, s:[], s:b, s:o, s:s, s:n, s:s, "
		                 "s:I}",
		                 "id", prid, "object", "product", "active", 1, "created",
		                 (json_int_t)stripe_now(cx->st), "default_price", "description",
		                 jstr(desc), "images", "livemode", 0, "metadata",
		                 meta ? meta : json_object(), "name", gs(l->product_data, "name"),
		                 "tax_code", "type", "service", "updated",
		                 (json_int_t)stripe_now(cx->st));
		if (!put(cx, prod))
			return NULL;
		product = prid;
	}
	stripe_id(cx->st, "price_1", 23, pid, sizeof(pid));
	snprintf(dec, sizeof(dec), "%lld", (long long)l->unit_amount);
	price = json_pack(
	    "{s:s, s:s, s:b, s:s, s:I, s:s, s:b, s:n, s:{}, s:n, s:s, s:o, s:s, "
	    "s:s, s:n, s:I, s:s}",
	    "id", pid, "object", "price", "active", 1, "billing_scheme", "per_unit", "created",
	    (json_int_t)stripe_now(cx->st), "currency", cur, "livemode", 0, "lookup_key",
	    "metadata", "nickname", "product", product, "recurring",
	    l->interval ? json_pack("{s:s, s:I, s:n, s:s, s:n}", "interval", l->interval,
	                            "interval_count", (json_int_t)l->interval_count, "meter",
	                            "usage_type", "licensed", "trial_period_days")
	                : json_null(),
	    "tax_behavior", "unspecified", "type", l->interval ? "recurring" : "one_time",
	    "tiers_mode", "unit_amount", (json_int_t)l->unit_amount, "unit_amount_decimal", dec);
	return put(cx, price) ? price : NULL;
}

static const char *const session_params[] = {"mode",
                                             "line_items",
                                             "success_url",
                                             "cancel_url",
                                             "return_url",
                                             "client_reference_id",
                                             "customer",
                                             "customer_email",
                                             "customer_creation",
                                             "customer_update",
                                             "metadata",
                                             "subscription_data",
                                             "payment_intent_data",
                                             "expires_at",
                                             "allow_promotion_codes",
                                             "locale",
                                             "ui_mode",
                                             "payment_method_types",
                                             "billing_address_collection",
                                             "automatic_tax",
                                             "consent_collection",
                                             "custom_text",
                                             "custom_fields",
                                             "discounts",
                                             "invoice_creation",
                                             "phone_number_collection",
                                             "submit_type",
                                             "tax_id_collection",
                                             "currency",
                                             "payment_method_collection",
                                             "saved_payment_method_options",
                                             "expand",
                                             NULL};

/* Where the simulator's pages are for the client: the configured base, or
 * "http://<Host of the request>/stripe". */
static void base_url(struct stripe_cx *cx, char *out, size_t outsz)
{
	const char *h = cx->host;
	bool host_ok = h && *h && strlen(h) < 256;

	for (size_t i = 0; host_ok && h[i]; i++) {
		char c = h[i];

		host_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' || c == '[' ||
		          c == ']';
	}
	if (cx->st->checkout_base)
		snprintf(out, outsz, "%s", cx->st->checkout_base);
	else
		snprintf(out, outsz, "http://%s/stripe", host_ok ? h : "127.0.0.1");
}

static void checkout_url(struct stripe_cx *cx, const char *id, char *out, size_t outsz)
{
	char base[STRIPE_MAX_URL + 1];

	base_url(cx, base, sizeof(base));
	snprintf(out, outsz, "%s/checkout/%s", base, id);
}

void stripe_checkout_create(struct stripe_cx *cx)
{
	static const char *const sd_known[] = {"metadata",
	                                       "trial_period_days",
	                                       "trial_end",
	                                       "description",
	                                       "billing_cycle_anchor",
	                                       "default_tax_rates",
	                                       "proration_behavior",
	                                       "trial_settings",
	                                       "application_fee_percent",
	                                       "on_behalf_of",
	                                       "transfer_data",
	                                       "invoice_settings",
	                                       NULL};
	static const char *const pid_known[] = {"metadata",
	                                        "description",
	                                        "receipt_email",
	                                        "setup_future_usage",
	                                        "statement_descriptor",
	                                        "statement_descriptor_suffix",
	                                        "capture_method",
	                                        "on_behalf_of",
	                                        "transfer_data",
	                                        "application_fee_amount",
	                                        "shipping",
	                                        NULL};
	struct line *lines = xcalloc(MAX_LINE_ITEMS, sizeof(*lines));
	const char *mode, *success, *cancel, *ref, *customer, *email, *ui, *creation, *locale;
	json_t *sd = NULL, *pid = NULL, *meta = NULL, *sub_meta = NULL, *pi_meta = NULL, *s, *items;
	int64_t now = stripe_now(cx->st), expires = now + 86400, trial_days = 0, trial_end = 0;
	int64_t subtotal = 0;
	bool has, recurring = false, one_time = false, promo = false;
	char id[80], url[STRIPE_MAX_URL + 128];
	size_t n = 0;

	if (!stripe_p_known(cx, cx->p, session_params, NULL) ||
	    !stripe_p_req(cx, cx->p, "mode", "mode", &mode))
		goto out;
	if (strcmp(mode, "payment") && strcmp(mode, "subscription")) {
		if (strcmp(mode, "setup") == 0)
			stripe_error(cx, 400, "invalid_request_error", NULL, "mode",
			             "mode setup is not simulated");
		else
			stripe_error(
			    cx, 400, "invalid_request_error", NULL, "mode",
			    "Invalid mode: must be one of payment, setup, or subscription");
		goto out;
	}
	if (!stripe_p_str(cx, cx->p, "ui_mode", "ui_mode", &ui))
		goto out;
	if (ui && strcmp(ui, "hosted")) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "ui_mode",
		             "ui_mode %.20s is not simulated; only hosted", ui);
		goto out;
	}
	if (!stripe_p_str(cx, cx->p, "success_url", "success_url", &success) ||
	    !url_ok(cx, success, "success_url") ||
	    !stripe_p_str(cx, cx->p, "cancel_url", "cancel_url", &cancel) ||
	    !url_ok(cx, cancel, "cancel_url") ||
	    !stripe_p_str(cx, cx->p, "client_reference_id", "client_reference_id", &ref) ||
	    !stripe_p_str(cx, cx->p, "customer", "customer", &customer) ||
	    !stripe_p_str(cx, cx->p, "customer_email", "customer_email", &email) ||
	    !email_ok(cx, email, "customer_email") ||
	    !stripe_p_str(cx, cx->p, "customer_creation", "customer_creation", &creation) ||
	    !stripe_p_str(cx, cx->p, "locale", "locale", &locale) ||
	    !stripe_p_bool(cx, cx->p, "allow_promotion_codes", "allow_promotion_codes", &promo,
	                   &has))
		goto out;
	if (ref && strlen(ref) > 200) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "client_reference_id",
		             "client_reference_id must be at most 200 characters");
		goto out;
	}
	if (customer && email) {
		stripe_error(cx, 400, "invalid_request_error", "parameters_exclusive",
		             "customer_email",
		             "You may only specify one of these parameters: customer, "
		             "customer_email.");
		goto out;
	}
	if (customer) {
		json_t *c = stripe_get(cx->st, customer, "customer");

		if (!c || json_is_true(json_object_get(c, "deleted"))) {
			stripe_error(cx, 400, "invalid_request_error", "resource_missing",
			             "customer", "No such customer: '%.80s'", customer);
			goto out;
		}
	}
	if (creation && strcmp(creation, "always") && strcmp(creation, "if_required")) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "customer_creation",
		             "Invalid customer_creation: must be one of always or if_required");
		goto out;
	}
	if (creation && strcmp(mode, "payment")) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "customer_creation",
		             "customer_creation can only be used in payment mode.");
		goto out;
	}
	if (!stripe_p_int(cx, cx->p, "expires_at", "expires_at", INT64_MIN, INT64_MAX, &expires,
	                  &has))
		goto out;
	if (has && (expires < now + 1800 || expires > now + 86400)) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "expires_at",
		             expires < now + 1800
		                 ? "The `expires_at` timestamp must be at least 30 minutes from "
		                   "Checkout Session creation."
		                 : "The `expires_at` timestamp must be less than 24 hours from "
		                   "Checkout Session creation.");
		goto out;
	}
	if (!read_lines(cx, lines, &n))
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (lines[i].interval)
			recurring = true;
		else
			one_time = true;
		subtotal += lines[i].unit_amount * lines[i].quantity;
	}
	if (subtotal > MAX_AMOUNT) {
		stripe_error(cx, 400, "invalid_request_error", "amount_too_large", "line_items",
		             "Amount must be no more than %d.", MAX_AMOUNT);
		goto out;
	}
	if (strcmp(mode, "payment") == 0 && recurring) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "line_items",
		             "You specified `payment` mode but passed a recurring price. Either "
		             "switch to `subscription` mode or use only one-time prices.");
		goto out;
	}
	if (strcmp(mode, "subscription") == 0) {
		if (!recurring) {
			stripe_error(
			    cx, 400, "invalid_request_error", NULL, "line_items",
			    "You must provide at least one recurring price in `subscription` "
			    "mode when using prices.");
			goto out;
		}
		if (one_time) {
			stripe_error(cx, 400, "invalid_request_error", NULL, "line_items",
			             "one-time prices in subscription mode are not simulated");
			goto out;
		}
		for (size_t i = 1; i < n; i++)
			if (strcmp(lines[i].interval, lines[0].interval) ||
			    lines[i].interval_count != lines[0].interval_count) {
				stripe_error(
				    cx, 400, "invalid_request_error", NULL, "line_items",
				    "All prices on a subscription must have the same "
				    "`recurring.interval` and `recurring.interval_count`.");
				goto out;
			}
	}
	if (!p_hash(cx, cx->p, "subscription_data", "subscription_data", &sd) ||
	    !p_hash(cx, cx->p, "payment_intent_data", "payment_intent_data", &pid))
		goto out;
	if (sd && strcmp(mode, "subscription")) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "subscription_data",
		             "You can only pass `subscription_data` in `subscription` mode.");
		goto out;
	}
	if (pid && strcmp(mode, "payment")) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "payment_intent_data",
		             "You can only pass `payment_intent_data` in `payment` mode.");
		goto out;
	}
	if (sd) {
		bool has_end;

		if (!stripe_p_known(cx, sd, sd_known, "subscription_data") ||
		    !stripe_p_int(cx, sd, "trial_period_days",
		                  "subscription_data[trial_period_days]", 1, 730, &trial_days,
		                  &has) ||
		    !stripe_p_int(cx, sd, "trial_end", "subscription_data[trial_end]", now + 172800,
		                  now + 730 * 86400, &trial_end, &has_end))
			goto out;
		if (has && has_end) {
			stripe_error(cx, 400, "invalid_request_error", "parameters_exclusive",
			             "subscription_data[trial_end]",
			             "You may only specify one of these parameters: trial_end, "
			             "trial_period_days.");
			goto out;
		}
		if (has)
			trial_end = now + trial_days * 86400;
		if (!(sub_meta = metadata_new(cx, json_object_get(sd, "metadata"),
		                              "subscription_data[metadata]")))
			goto out;
	}
	if (pid) {
		if (!stripe_p_known(cx, pid, pid_known, "payment_intent_data") ||
		    !(pi_meta = metadata_new(cx, json_object_get(pid, "metadata"),
		                             "payment_intent_data[metadata]")))
			goto out;
	}
	if (!(meta = metadata_new(cx, json_object_get(cx->p, "metadata"), "metadata")))
		goto out;
	if (!room_for(cx, 2 * n + 1))
		goto out;

	/* Valid: create the prices, then the session. */
	items = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *price = line_price(cx, &lines[i]);

		if (!price) {
			json_decref(items);
			goto out;
		}
		json_array_append_new(items, json_pack("{s:s, s:I}", "price", gs(price, "id"),
		                                       "quantity", (json_int_t)lines[i].quantity));
	}
	{
		char rnd[60];

		stripe_id(cx->st, "", 56, rnd, sizeof(rnd));
		snprintf(id, sizeof(id), "cs_test_a1%s", rnd);
	}
	checkout_url(cx, id, url, sizeof(url));
	s = json_pack(
	    "{s:s, s:s, s:n, s:b, s:I, s:I, s:n, s:o, s:o, s:I, s:s, s:o, s:s, s:o, "
	    "s:o, s:I, s:n, s:b, s:o, s:o, s:s, s:o, s:s, s:[s], s:s, s:n, s:s, "
	    "s:o, s:{s:i, s:i, s:i}, s:s, s:s, s:o}",
	    "id", id, "object", "checkout.session", "after_expiration", "allow_promotion_codes",
	    promo, "amount_subtotal", (json_int_t)subtotal, "amount_total", (json_int_t)subtotal,
	    "billing_address_collection", "cancel_url", jstr(cancel), "client_reference_id",
	    jstr(ref && *ref ? ref : NULL), "created", (json_int_t)now, "currency", "usd",
	    "customer", jstr(customer), "customer_creation",
	    strcmp(mode, "payment") ? "always"
	    : creation              ? creation
	                            : "if_required",
	    "customer_details", json_null(), "customer_email", jstr(email && *email ? email : NULL),
	    "expires_at", (json_int_t)expires, "invoice", "livemode", 0, "locale", jstr(locale),
	    "metadata", meta, "mode", mode, "payment_intent", json_null(),
	    "payment_method_collection", "always", "payment_method_types", "card", "payment_status",
	    "unpaid", "setup_intent", "status", "open", "subscription", json_null(),
	    "total_details", "amount_discount", 0, "amount_shipping", 0, "amount_tax", 0, "ui_mode",
	    "hosted", "url", url, "success_url", jstr(success));
	meta = NULL;
	if (!s) {
		json_decref(items);
		stripe_error(cx, 500, "api_error", NULL, NULL, "the session could not be built");
		goto out;
	}
	/* the currency of the line items, in lower case */
	{
		char cur[4];

		for (size_t i = 0; i < 3; i++)
			cur[i] = (char)(lines[0].currency[i] | 32);
		cur[3] = '\0';
		json_object_set_new(s, "currency", json_string(cur));
	}
	json_object_set_new(priv(s), "items", items);
	if (sub_meta)
		json_object_set(priv(s), "sub_metadata", sub_meta);
	if (pi_meta)
		json_object_set(priv(s), "pi_metadata", pi_meta);
	if (trial_end)
		json_object_set_new(priv(s), "trial_end", json_integer(trial_end));
	if (!put(cx, s))
		goto out;
	answer(cx, s);
out:
	json_decref(meta);
	json_decref(sub_meta);
	json_decref(pi_meta);
	free(lines);
}

void stripe_checkout_expire(struct stripe_cx *cx, json_t *s)
{
	if (strcmp(gs(s, "status"), "open")) {
		stripe_error(cx, 400, "invalid_request_error", NULL, NULL,
		             "Only Checkout Sessions with a status in [\"open\"] can be expired.");
		return;
	}
	json_object_set_new(s, "status", json_string("expired"));
	json_object_set_new(s, "url", json_null());
	stripe_emit(cx, "checkout.session.expired", s, NULL, NULL);
	answer(cx, s);
}

/* ---- payments ---- */

static json_t *pi_new(struct stripe_cx *cx, int64_t amount, const char *currency,
                      const char *customer, const char *desc, const json_t *meta)
{
	char id[40], secret[96], rnd[40];
	json_t *pi, *m;

	stripe_id(cx->st, "pi_3", 23, id, sizeof(id));
	stripe_id(cx->st, "", 24, rnd, sizeof(rnd));
	snprintf(secret, sizeof(secret), "%s_secret_%s", id, rnd);
	m = meta ? json_deep_copy(meta) : json_object();
	pi = json_pack("{s:s, s:s, s:I, s:i, s:i, s:n, s:s, s:n, s:n, s:s, s:s, s:I, s:s, s:o, "
	               "s:o, s:n, s:n, s:b, s:O?, s:n, s:n, s:[s], s:n, s:n, s:s}",
	               "id", id, "object", "payment_intent", "amount", (json_int_t)amount,
	               "amount_capturable", 0, "amount_received", 0, "canceled_at",
	               "capture_method", "automatic_async", "cancellation_reason", "application",
	               "client_secret", secret, "confirmation_method", "automatic", "created",
	               (json_int_t)stripe_now(cx->st), "currency", currency, "customer",
	               jstr(customer), "description", jstr(desc), "last_payment_error",
	               "latest_charge", "livemode", 0, "metadata", m, "next_action",
	               "payment_method", "payment_method_types", "card", "receipt_email",
	               "setup_future_usage", "status", "requires_payment_method");
	json_decref(m); /* the pack took its own reference */
	if (!pi || !put(cx, pi))
		return NULL;
	stripe_emit(cx, "payment_intent.created", pi, NULL, NULL);
	return pi;
}

/* The error object of a declined card, as Stripe puts it in an answer and
 * in last_payment_error. */
static json_t *card_error_obj(struct stripe_cx *cx, const char *code, const char *dcode,
                              const char *message, const char *charge, json_t *pm)
{
	json_t *e = json_object();
	char url[128];

	json_object_set_new(e, "charge", jstr(charge));
	json_object_set_new(e, "code", json_string(code));
	if (dcode)
		json_object_set_new(e, "decline_code", json_string(dcode));
	snprintf(url, sizeof(url), "https://stripe.com/docs/error-codes/%s", code);
	for (char *p = url + 36; *p; p++)
		if (*p == '_')
			*p = '-';
	json_object_set_new(e, "doc_url", json_string(url));
	json_object_set_new(e, "message", json_string(message));
	if (pm)
		json_object_set_new(e, "payment_method", view(cx, pm));
	json_object_set_new(e, "type", json_string("card_error"));
	return e;
}

/*
 * Try card (pm) on pi: a Charge is created either way. fail forces a
 * decline (dcode, or the card's own); off_session makes 0341 fail. Emits
 * charge.* and payment_intent.* events; true when paid.
 */
static bool attempt(struct stripe_cx *cx, json_t *pi, json_t *pm, bool fail, const char *dcode,
                    bool off_session, const char *invoice)
{
	const struct stripe_card *c = stripe_card_find(ps(pm, "number"));
	bool ok = !fail && (c->kind == CARD_OK || (c->kind == CARD_CHARGE_FAILS && !off_session));
	const char *code = c->code ? c->code : "card_declined";
	const char *message = c->message ? c->message : "Your card was declined.";
	int64_t amount = gi(pi, "amount");
	char id[40], txn[40];
	json_t *ch, *card = json_object_get(pm, "card");

	if (!ok && (fail || c->kind == CARD_OK)) {
		code = "card_declined";
		dcode = dcode ? dcode : "generic_decline";
		message = strcmp(dcode, "insufficient_funds") == 0
		              ? "Your card has insufficient funds."
		              : "Your card was declined.";
	} else if (!ok) {
		dcode = c->decline_code;
	}
	stripe_id(cx->st, "ch_3", 23, id, sizeof(id));
	stripe_id(cx->st, "txn_3", 23, txn, sizeof(txn));
	ch = json_pack(
	    "{s:s, s:s, s:I, s:I, s:i, s:o, s:{s:n, s:O?, s:n, s:n}, s:b, s:I, s:s, s:O?, s:O?, "
	    "s:o, s:o, s:b, s:O?, s:{s:s, s:o, s:s, s:s, s:o}, s:b, s:s, s:s, s:{s:{s:O?, s:O?, "
	    "s:O?, s:O?, s:O?, s:O?}, s:s}, s:n, s:b, s:s}",
	    "id", id, "object", "charge", "amount", (json_int_t)amount, "amount_captured",
	    (json_int_t)(ok ? amount : 0), "amount_refunded", 0, "balance_transaction",
	    ok ? json_string(txn) : json_null(), "billing_details", "address", "email",
	    json_object_get(json_object_get(pm, "billing_details"), "email"), "name", "phone",
	    "captured", ok, "created", (json_int_t)stripe_now(cx->st), "currency",
	    gs(pi, "currency"), "customer", json_object_get(pi, "customer"), "description",
	    json_object_get(pi, "description"), "failure_code",
	    ok ? json_null() : json_string(code), "failure_message",
	    ok ? json_null() : json_string(message), "livemode", 0, "metadata",
	    json_object_get(pi, "metadata"), "outcome", "network_status",
	    ok ? "approved_by_network" : "declined_by_network", "reason",
	    ok ? json_null() : json_string(dcode ? dcode : code), "risk_level", "normal",
	    "seller_message",
	    ok ? "Payment complete."
	       : "The bank did not return any further details with this decline.",
	    "type", ok ? json_string("authorized") : json_string("issuer_declined"), "paid", ok,
	    "payment_intent", gs(pi, "id"), "payment_method", gs(pm, "id"),
	    "payment_method_details", "card", "brand", json_object_get(card, "brand"), "country",
	    json_object_get(card, "country"), "exp_month", json_object_get(card, "exp_month"),
	    "exp_year", json_object_get(card, "exp_year"), "funding",
	    json_object_get(card, "funding"), "last4", json_object_get(card, "last4"), "type",
	    "card", "receipt_url", "refunded", 0, "status", ok ? "succeeded" : "failed");
	if (!ch) {
		stripe_error(cx, 500, "api_error", NULL, NULL, "the charge could not be built");
		return false;
	}
	/* its own copy: the intent's metadata may change later */
	json_object_set_new(ch, "metadata", json_deep_copy(json_object_get(pi, "metadata")));
	if (invoice)
		json_object_set_new(priv(ch), "invoice", json_string(invoice));
	if (!put(cx, ch))
		return false;
	json_object_set_new(pi, "latest_charge", json_string(id));
	json_object_set_new(pi, "payment_method", json_string(gs(pm, "id")));
	if (ok) {
		json_object_set_new(pi, "status", json_string("succeeded"));
		json_object_set_new(pi, "amount_received", json_integer(amount));
		json_object_set_new(pi, "last_payment_error", json_null());
		stripe_emit(cx, "charge.succeeded", ch, NULL, NULL);
		stripe_emit(cx, "payment_intent.succeeded", pi, NULL, NULL);
	} else {
		json_object_set_new(pi, "status", json_string("requires_payment_method"));
		json_object_set_new(pi, "last_payment_error",
		                    card_error_obj(cx, code, dcode, message, id, pm));
		stripe_emit(cx, "charge.failed", ch, NULL, NULL);
		stripe_emit(cx, "payment_intent.payment_failed", pi, NULL, NULL);
	}
	return ok;
}

/* cx's answer: 402 with the card error of pi's last attempt (or of c when
 * nothing was charged). */
static void decline_answer(struct stripe_cx *cx, const struct stripe_card *c, json_t *pi)
{
	json_t *e;

	if (pi) {
		e = json_deep_copy(json_object_get(pi, "last_payment_error"));
		json_object_set_new(e, "payment_intent", view(cx, pi));
	} else {
		e = card_error_obj(cx, c->code, c->decline_code, c->message, NULL, NULL);
		json_object_del(e, "charge");
	}
	if (cx->req_id) {
		char url[96];

		snprintf(url, sizeof(url), "https://dashboard.stripe.com/test/logs/%s", cx->req_id);
		json_object_set_new(e, "request_log_url", json_string(url));
	}
	json_decref(cx->out);
	cx->out = json_pack("{s:o}", "error", e);
	cx->status = 402;
}

/* ---- invoices ---- */

static json_t *items_list(const char *sub_id)
{
	char url[96];

	snprintf(url, sizeof(url), "/v1/subscription_items?subscription=%s", sub_id);
	return json_pack("{s:s, s:[], s:b, s:i, s:s}", "object", "list", "data", "has_more", 0,
	                 "total_count", 0, "url", url);
}

/*
 * A new open (finalized) invoice for sub: one line per item for the
 * service period [ps, pe]; the invoice's own period is [is, ie] (Stripe
 * puts the period that just ended on renewal invoices).
 */
static json_t *invoice_new(struct stripe_cx *cx, json_t *sub, json_t *cus, const char *reason,
                           int64_t pstart, int64_t pend, int64_t istart, int64_t iend,
                           int64_t amount_override, bool use_override)
{
	json_t *items = json_object_get(json_object_get(sub, "items"), "data"), *it, *inv, *lines;
	int64_t total = 0, now = stripe_now(cx->st), seq = gi(cus, "next_invoice_sequence");
	char id[40], number[40], url[STRIPE_MAX_URL + 128], lurl[64];
	size_t i;

	stripe_id(cx->st, "in_1", 23, id, sizeof(id));
	snprintf(number, sizeof(number), "%s-%04lld", gs(cus, "invoice_prefix"), (long long)seq);
	json_object_set_new(cus, "next_invoice_sequence", json_integer(seq + 1));
	snprintf(lurl, sizeof(lurl), "/v1/invoices/%s/lines", id);
	lines = json_pack("{s:s, s:[], s:b, s:i, s:s}", "object", "list", "data", "has_more", 0,
	                  "total_count", 0, "url", lurl);
	json_array_foreach(items, i, it)
	{
		json_t *price = json_object_get(it, "price");
		int64_t q = gi(it, "quantity");
		int64_t amount =
		    use_override ? (i == 0 ? amount_override : 0) : gi(price, "unit_amount") * q;
		json_t *product = stripe_get(cx->st, gs(price, "product"), "product");
		char lid[40], desc[300];

		stripe_id(cx->st, "il_1", 23, lid, sizeof(lid));
		if (use_override && amount == 0)
			snprintf(desc, sizeof(desc), "Trial period for %s",
			         product ? gs(product, "name") : "the product");
		else
			snprintf(desc, sizeof(desc), "%lld × %s", (long long)q,
			         product ? gs(product, "name") : "the product");
		json_array_append_new(
		    json_object_get(lines, "data"),
		    json_pack(
		        "{s:s, s:s, s:I, s:O?, s:o, s:[], s:s, s:b, s:{}, s:{s:I, s:I}, "
		        "s:{s:{s:n, s:b, s:s, s:O?}, s:s}, s:{s:{s:O?, s:O?}, s:s, s:O?}, s:I, "
		        "s:[], s:I}",
		        "id", lid, "object", "line_item", "amount", (json_int_t)amount, "currency",
		        json_object_get(price, "currency"), "description", json_string(desc),
		        "discounts", "invoice", id, "livemode", 0, "metadata", "period", "end",
		        (json_int_t)pend, "start", (json_int_t)pstart, "parent",
		        "subscription_item_details", "invoice_item", "proration", 0, "subscription",
		        gs(sub, "id"), "subscription_item", json_object_get(it, "id"), "type",
		        "subscription_item_details", "pricing", "price_details", "price",
		        json_object_get(price, "id"), "product", json_object_get(price, "product"),
		        "type", "price_details", "unit_amount_decimal",
		        json_object_get(price, "unit_amount_decimal"), "quantity", (json_int_t)q,
		        "taxes", "subtotal", (json_int_t)amount));
		total += amount;
	}
	json_object_set_new(
	    lines, "total_count",
	    json_integer((json_int_t)json_array_size(json_object_get(lines, "data"))));
	snprintf(url, sizeof(url), "%s/invoice/%s", ps(sub, "base") ? ps(sub, "base") : "", id);
	inv = json_pack(
	    "{s:s, s:s, s:s, s:s, s:I, s:i, s:I, s:i, s:i, s:b, s:b, s:s, s:s, s:I, s:O?, s:O?, "
	    "s:O?, s:n, s:n, s:n, s:I, s:i, s:s, s:n, s:o, s:b, s:{}, s:n, s:s, s:{s:n, s:{s:O?, "
	    "s:s}, s:s}, s:{s:s, s:[], s:b, s:i, s:s}, s:I, s:I, s:i, s:s, s:{s:I, s:n, s:n, "
	    "s:n}, s:I, s:I, s:i, s:I}",
	    "id", id, "object", "invoice", "account_country", "US", "account_name",
	    "Herald Simulator", "amount_due", (json_int_t)total, "amount_paid", 0,
	    "amount_remaining", (json_int_t)total, "amount_shipping", 0, "attempt_count", 0,
	    "attempted", 0, "auto_advance", 1, "billing_reason", reason, "collection_method",
	    "charge_automatically", "created", (json_int_t)now, "currency",
	    json_object_get(sub, "currency"), "customer", json_object_get(cus, "id"),
	    "customer_email", json_object_get(cus, "email"), "customer_name", "description",
	    "due_date", "effective_at", (json_int_t)now, "ending_balance", 0, "hosted_invoice_url",
	    url, "invoice_pdf", "lines", lines, "livemode", 0, "metadata", "next_payment_attempt",
	    "number", number, "parent", "quote_details", "subscription_details", "metadata",
	    json_object_get(sub, "metadata"), "subscription", gs(sub, "id"), "type",
	    "subscription_details", "payments", "object", "list", "data", "has_more", 0,
	    "total_count", 0, "url", "/v1/invoice_payments", "period_end", (json_int_t)iend,
	    "period_start", (json_int_t)istart, "starting_balance", 0, "status", "open",
	    "status_transitions", "finalized_at", (json_int_t)now, "marked_uncollectible_at",
	    "paid_at", "voided_at", "subtotal", (json_int_t)total, "total", (json_int_t)total,
	    "attempt_count", 0, "next_payment_attempt", (json_int_t)now);
	if (!inv) {
		json_decref(lines);
		stripe_error(cx, 500, "api_error", NULL, NULL, "the invoice could not be built");
		return NULL;
	}
	json_object_set_new(inv, "hosted_invoice_url", json_string(url));
	/* a copy of the subscription's metadata as it is now */
	json_object_set_new(json_object_get(json_object_get(inv, "parent"), "subscription_details"),
	                    "metadata", json_deep_copy(json_object_get(sub, "metadata")));
	json_object_set_new(inv, "invoice_pdf", json_null());
	json_object_set_new(priv(inv), "subscription", json_string(gs(sub, "id")));
	if (!put(cx, inv))
		return NULL;
	stripe_emit(cx, "invoice.created", inv, NULL, NULL);
	stripe_emit(cx, "invoice.finalized", inv, NULL, NULL);
	return inv;
}

static void invoice_payment_set(struct stripe_cx *cx, json_t *inv, json_t *pi, bool paid)
{
	json_t *data = json_object_get(json_object_get(inv, "payments"), "data"), *p = NULL;
	int64_t now = stripe_now(cx->st);
	size_t i;
	char id[40];

	json_array_foreach(data, i, p)
	{
		if (strcmp(gs(json_object_get(p, "payment"), "payment_intent"), gs(pi, "id")) == 0)
			break;
	}
	if (i == json_array_size(data)) {
		stripe_id(cx->st, "inpay_1", 23, id, sizeof(id));
		p = json_pack(
		    "{s:s, s:s, s:i, s:O?, s:I, s:O?, s:O?, s:b, s:b, s:{s:O?, s:s}, s:s, "
		    "s:{s:n, s:n}}",
		    "id", id, "object", "invoice_payment", "amount_paid", 0, "amount_requested",
		    json_object_get(inv, "amount_due"), "created", (json_int_t)now, "currency",
		    json_object_get(inv, "currency"), "invoice", json_object_get(inv, "id"),
		    "is_default", 1, "livemode", 0, "payment", "payment_intent",
		    json_object_get(pi, "id"), "type", "payment_intent", "status", "open",
		    "status_transitions", "canceled_at", "paid_at");
		json_array_append_new(data, p);
		json_object_set_new(json_object_get(inv, "payments"), "total_count",
		                    json_integer((json_int_t)json_array_size(data)));
	}
	if (paid) {
		json_object_set(p, "amount_paid", json_object_get(inv, "amount_due"));
		json_object_set_new(p, "status", json_string("paid"));
		json_object_set_new(json_object_get(p, "status_transitions"), "paid_at",
		                    json_integer(now));
	}
}

/* Days until the next automatic retry after the n-th failed attempt, as
 * Stripe's default schedule roughly does; 0 when it gives up. */
static int retry_days(int64_t attempts)
{
	static const int days[] = {3, 5, 7};

	return attempts >= 1 && attempts <= 3 ? days[attempts - 1] : 0;
}

/*
 * Pay inv with the subscription's card (or mark it paid at once when it
 * is for nothing). Emits the payment events and invoice.paid with
 * invoice.payment_succeeded, or invoice.payment_failed. pi_out gets the
 * payment intent (NULL for a free invoice).
 */
static bool invoice_pay(struct stripe_cx *cx, json_t *inv, json_t *pm, bool fail, const char *dcode,
                        bool off_session, json_t **pi_out)
{
	int64_t now = stripe_now(cx->st), amount = gi(inv, "amount_due");
	json_t *pi = NULL;
	bool ok = true;

	*pi_out = NULL;
	json_object_set_new(inv, "attempted", json_true());
	json_object_set_new(inv, "attempt_count", json_integer(gi(inv, "attempt_count") + 1));
	if (amount > 0) {
		pi = stripe_get(cx->st, ps(inv, "payment_intent"), "payment_intent");
		if (!pi) {
			const char *reason = gs(inv, "billing_reason");

			pi = pi_new(cx, amount, gs(inv, "currency"), gs(inv, "customer"),
			            strcmp(reason, "subscription_create") == 0
			                ? "Subscription creation"
			                : "Subscription update",
			            NULL);
			if (!pi)
				return false;
			json_object_set_new(priv(inv), "payment_intent", json_string(gs(pi, "id")));
			json_object_set_new(priv(pi), "invoice", json_string(gs(inv, "id")));
		}
		*pi_out = pi;
		ok = attempt(cx, pi, pm, fail, dcode, off_session, gs(inv, "id"));
		if (cx->status >= 500)
			return false;
		invoice_payment_set(cx, inv, pi, ok);
		json_object_set_new(priv(inv), "charge", json_string(gs(pi, "latest_charge")));
	}
	if (ok) {
		json_object_set_new(inv, "status", json_string("paid"));
		json_object_set_new(inv, "amount_paid", json_integer(amount));
		json_object_set_new(inv, "amount_remaining", json_integer(0));
		json_object_set_new(inv, "next_payment_attempt", json_null());
		json_object_set_new(json_object_get(inv, "status_transitions"), "paid_at",
		                    json_integer(now));
		stripe_emit(cx, "invoice.paid", inv, NULL, NULL);
		stripe_emit(cx, "invoice.payment_succeeded", inv, NULL, NULL);
	} else {
		int d = retry_days(gi(inv, "attempt_count"));

		json_object_set_new(inv, "next_payment_attempt",
		                    d ? json_integer(now + (int64_t)d * 86400) : json_null());
		stripe_emit(cx, "invoice.payment_failed", inv, NULL, NULL);
	}
	return ok;
}

/* ---- paying a session ---- */

static json_t *sub_new(struct stripe_cx *cx, json_t *session, json_t *cus, json_t *pm,
                       int64_t trial_end)
{
	json_t *items = json_object_get(json_object_get(session, "_sim"), "items"), *it, *sub,
	       *meta, *m;
	int64_t now = stripe_now(cx->st);
	char id[40], base[STRIPE_MAX_URL + 1];
	const char *interval = "month";
	int64_t count = 1;
	size_t i;

	stripe_id(cx->st, "sub_1", 23, id, sizeof(id));
	meta = json_object_get(json_object_get(session, "_sim"), "sub_metadata");
	m = meta ? json_deep_copy(meta) : json_object();
	sub = json_pack(
	    "{s:s, s:s, s:n, s:{s:b, s:n}, s:I, s:n, s:n, s:b, s:n, s:{s:n, s:n, "
	    "s:n}, s:s, s:I, s:O?, s:O?, s:n, s:O?, s:n, s:[], s:n, s:o, s:n, s:b, "
	    "s:O?, s:n, s:n, s:I, s:s, s:n, s:n, s:n}",
	    "id", id, "object", "subscription", "application", "automatic_tax", "enabled", 0,
	    "liability", "billing_cycle_anchor", (json_int_t)now, "billing_thresholds", "cancel_at",
	    "cancel_at_period_end", 0, "canceled_at", "cancellation_details", "comment", "feedback",
	    "reason", "collection_method", "charge_automatically", "created", (json_int_t)now,
	    "currency", json_object_get(session, "currency"), "customer",
	    json_object_get(cus, "id"), "days_until_due", "default_payment_method",
	    json_object_get(pm, "id"), "description", "discounts", "ended_at", "items",
	    items_list(id), "latest_invoice", "livemode", 0, "metadata", m,
	    "next_pending_invoice_item_invoice", "pause_collection", "start_date", (json_int_t)now,
	    "status", "active", "test_clock", "trial_end", "trial_start");
	json_decref(m); /* the pack took its own reference */
	if (!sub) {
		stripe_error(cx, 500, "api_error", NULL, NULL,
		             "the subscription could not be built");
		return NULL;
	}
	json_array_foreach(items, i, it)
	{
		json_t *price = stripe_get(cx->st, gs(it, "price"), "price");
		json_t *rec = json_object_get(price, "recurring");
		char sid[40];

		interval = gs(rec, "interval");
		count = gi(rec, "interval_count");
		stripe_id(cx->st, "si_", 14, sid, sizeof(sid));
		json_array_append_new(
		    json_object_get(json_object_get(sub, "items"), "data"),
		    json_pack("{s:s, s:s, s:I, s:I, s:I, s:[], s:{}, s:o, s:O?, s:s, s:[]}", "id",
		              sid, "object", "subscription_item", "created", (json_int_t)now,
		              "current_period_start", (json_int_t)now, "current_period_end",
		              (json_int_t)now, "discounts", "metadata", "price",
		              stripe_render(cx->st, price, STRIPE_LAYOUT_NEW, NULL), "quantity",
		              json_object_get(it, "quantity"), "subscription", id, "tax_rates"));
	}
	json_object_set_new(json_object_get(sub, "items"), "total_count",
	                    json_integer((json_int_t)json_array_size(items)));
	base_url(cx, base, sizeof(base));
	json_object_set_new(sub, "_sim",
	                    json_pack("{s:s, s:I, s:I, s:I, s:s}", "interval", interval,
	                              "interval_count", (json_int_t)count, "anchor",
	                              (json_int_t)(trial_end ? trial_end : now), "cycle",
	                              (json_int_t)(trial_end ? -1 : 0), "base", base));
	json_array_foreach(json_object_get(json_object_get(sub, "items"), "data"), i, it)
	{
		json_object_set_new(it, "current_period_end",
		                    json_integer(trial_end ? trial_end : period_at(sub, 1)));
	}
	if (trial_end) {
		json_object_set_new(sub, "status", json_string("trialing"));
		json_object_set_new(sub, "trial_start", json_integer(now));
		json_object_set_new(sub, "trial_end", json_integer(trial_end));
		json_object_set_new(sub, "billing_cycle_anchor", json_integer(trial_end));
	}
	return put(cx, sub) ? sub : NULL;
}

static void session_complete(struct stripe_cx *cx, json_t *s, json_t *cus, const char *email,
                             const char *payment_status)
{
	json_object_set_new(s, "status", json_string("complete"));
	json_object_set_new(s, "payment_status", json_string(payment_status));
	json_object_set_new(s, "url", json_null());
	json_object_set_new(s, "customer", cus ? json_string(gs(cus, "id")) : json_null());
	json_object_set_new(s, "customer_details",
	                    json_pack("{s:n, s:s, s:n, s:n, s:s, s:[]}", "address", "email", email,
	                              "name", "phone", "tax_exempt", "none", "tax_ids"));
	stripe_emit(cx, "checkout.session.completed", s, NULL, NULL);
}

/* Expire the session when the clock has passed expires_at; true if so. */
static bool lazy_expire(struct stripe_cx *cx, json_t *s)
{
	if (strcmp(gs(s, "status"), "open") || gi(s, "expires_at") > stripe_now(cx->st))
		return false;
	json_object_set_new(s, "status", json_string("expired"));
	json_object_set_new(s, "url", json_null());
	stripe_emit(cx, "checkout.session.expired", s, NULL, NULL);
	return true;
}

void stripe_checkout_pay(struct stripe_cx *cx, json_t *s, const char *number, const char *email)
{
	const struct stripe_card *c = stripe_card_find(number);
	bool sub_mode = strcmp(gs(s, "mode"), "subscription") == 0;
	int64_t trial_end = gi(json_object_get(s, "_sim"), "trial_end");
	json_t *cus = stripe_get(cx->st, gs(s, "customer"), "customer"), *pm, *pi = NULL;

	lazy_expire(cx, s);
	if (strcmp(gs(s, "status"), "open")) {
		stripe_error(cx, 400, "invalid_request_error", NULL, NULL,
		             "This Checkout Session is no longer active (its status is %s).",
		             gs(s, "status"));
		return;
	}
	if (!email || !*email)
		email = gs(s, "customer_email");
	if ((!email || !*email) && cus)
		email = gs(cus, "email");
	if (!email || !*email)
		email = "customer@example.com";
	if (!valid_email(email)) {
		stripe_error(cx, 400, "invalid_request_error", "email_invalid", "email",
		             "Invalid email address: %.100s", email);
		return;
	}
	if (c->kind == CARD_INVALID) {
		decline_answer(cx, c, NULL);
		return;
	}
	if (!room_for(cx, 40))
		return;
	if (c->kind == CARD_DECLINE) {
		/* a subscription is made only once its first payment succeeds; a
		 * one-off payment keeps the attempts on the session's intent */
		if (sub_mode || trial_end) {
			decline_answer(cx, c, NULL);
			return;
		}
		pi = stripe_get(cx->st, gs(s, "payment_intent"), "payment_intent");
		if (!pi)
			pi = pi_new(cx, gi(s, "amount_total"), gs(s, "currency"),
			            cus ? gs(cus, "id") : NULL, NULL,
			            json_object_get(json_object_get(s, "_sim"), "pi_metadata"));
		if (!pi || !(pm = make_pm(cx, number, email, NULL)))
			return;
		json_object_set_new(priv(s), "pending_pi", json_string(gs(pi, "id")));
		attempt(cx, pi, pm, false, NULL, false, NULL);
		decline_answer(cx, c, pi);
		return;
	}
	if (!cus && (sub_mode || strcmp(gs(s, "customer_creation"), "always") == 0)) {
		if (!(cus = customer_new(cx, email, NULL)))
			return;
		stripe_emit(cx, "customer.created", cus, NULL, NULL);
	}
	if (!(pm = make_pm(cx, number, email, cus ? gs(cus, "id") : NULL)))
		return;
	if (sub_mode) {
		json_t *sub = sub_new(cx, s, cus, pm, trial_end), *inv;
		json_t *it0;
		int64_t now = stripe_now(cx->st);

		if (!sub)
			return;
		json_object_set_new(priv(cus), "card_pm", json_string(gs(pm, "id")));
		it0 = json_array_get(json_object_get(json_object_get(sub, "items"), "data"), 0);
		inv = invoice_new(cx, sub, cus, "subscription_create",
		                  gi(it0, "current_period_start"), gi(it0, "current_period_end"),
		                  now, now, 0, trial_end != 0);
		if (!inv)
			return;
		json_object_set_new(sub, "latest_invoice", json_string(gs(inv, "id")));
		if (!invoice_pay(cx, inv, pm, false, NULL, false, &pi)) {
			/* the first payment can only fail here by a full simulator */
			return;
		}
		stripe_emit(cx, "customer.subscription.created", sub, NULL, NULL);
		json_object_set_new(s, "subscription", json_string(gs(sub, "id")));
		json_object_set_new(s, "invoice", json_string(gs(inv, "id")));
		session_complete(cx, s, cus, email, trial_end ? "no_payment_required" : "paid");
	} else {
		pi = stripe_get(cx->st, ps(s, "pending_pi"), "payment_intent");
		if (!pi)
			pi = pi_new(cx, gi(s, "amount_total"), gs(s, "currency"),
			            cus ? gs(cus, "id") : NULL, NULL,
			            json_object_get(json_object_get(s, "_sim"), "pi_metadata"));
		if (!pi)
			return;
		if (cus)
			json_object_set_new(pi, "customer", json_string(gs(cus, "id")));
		if (!attempt(cx, pi, pm, false, NULL, false, NULL))
			return;
		json_object_set_new(s, "payment_intent", json_string(gs(pi, "id")));
		session_complete(cx, s, cus, email, "paid");
	}
	answer(cx, s);
}

/* ---- subscriptions ---- */

static json_t *items_snapshot(const json_t *sub)
{
	return json_deep_copy(json_object_get(sub, "items"));
}

static void sub_end(struct stripe_cx *cx, json_t *sub, int64_t at, const char *reason)
{
	int64_t now = stripe_now(cx->st);

	json_object_set_new(sub, "status", json_string("canceled"));
	json_object_set_new(sub, "ended_at", json_integer(at));
	if (json_is_null(json_object_get(sub, "canceled_at")))
		json_object_set_new(sub, "canceled_at", json_integer(now));
	json_object_set_new(json_object_get(sub, "cancellation_details"), "reason",
	                    json_string(reason));
	stripe_emit(cx, "customer.subscription.deleted", sub, NULL, NULL);
}

static bool sub_live(struct stripe_cx *cx, json_t *sub)
{
	const char *status = gs(sub, "status");

	if (strcmp(status, "canceled") && strcmp(status, "incomplete_expired"))
		return true;
	stripe_error(cx, 400, "invalid_request_error", NULL, NULL,
	             "This subscription is %s; it can no longer be changed.", status);
	return false;
}

void stripe_renew(struct stripe_cx *cx, json_t *sub, bool fail, const char *dcode, const char *card)
{
	json_t *cus = stripe_get(cx->st, gs(sub, "customer"), "customer"), *pm, *inv, *pi;
	json_t *open = stripe_get(cx->st, gs(sub, "latest_invoice"), "invoice");
	json_t *items = json_object_get(json_object_get(sub, "items"), "data"), *it;
	char status[32]; /* a copy: the member is replaced below */
	int64_t old_start, old_end, new_end, cycle;
	json_t *prev_items, *prev_new, *prev_old;
	bool paid;
	size_t i;

	if (!sub_live(cx, sub) || !cus)
		return;
	snprintf(status, sizeof(status), "%s", gs(sub, "status"));
	if (card && stripe_card_find(card)->kind == CARD_INVALID) {
		stripe_error(cx, 400, "invalid_request_error", "incorrect_number", "card",
		             "Your card number is incorrect.");
		return;
	}
	if (!room_for(cx, 40))
		return;
	if (card) {
		if (!(pm = make_pm(cx, card, gs(cus, "email"), gs(cus, "id"))))
			return;
		json_object_set_new(sub, "default_payment_method", json_string(gs(pm, "id")));
	}
	pm = stripe_get(cx->st, gs(sub, "default_payment_method"), "payment_method");
	if (!pm) {
		stripe_error(cx, 400, "invalid_request_error", NULL, NULL,
		             "The subscription has no payment method.");
		return;
	}
	if (open && strcmp(gs(open, "status"), "open") == 0) {
		/* a retry of the unpaid invoice: recovery when it goes through */
		paid = invoice_pay(cx, open, pm, fail, dcode, true, &pi);
		if (cx->status >= 500)
			return;
		if (paid && strcmp(status, "active")) {
			json_object_set_new(sub, "status", json_string("active"));
			stripe_emit(cx, "customer.subscription.updated", sub,
			            json_pack("{s:s}", "status", status),
			            json_pack("{s:s}", "status", status));
		}
		answer(cx, open);
		return;
	}
	it = json_array_get(items, 0);
	old_start = gi(it, "current_period_start");
	old_end = gi(it, "current_period_end");
	clock_reach(cx->st, old_end);
	if (json_is_true(json_object_get(sub, "cancel_at_period_end"))) {
		sub_end(cx, sub, old_end, "cancellation_requested");
		answer(cx, sub);
		return;
	}
	cycle = gi(json_object_get(sub, "_sim"), "cycle") + 1;
	json_object_set_new(priv(sub), "cycle", json_integer(cycle));
	new_end = period_at(sub, cycle + 1);
	prev_items = items_snapshot(sub);
	json_array_foreach(items, i, it)
	{
		json_object_set_new(it, "current_period_start", json_integer(old_end));
		json_object_set_new(it, "current_period_end", json_integer(new_end));
	}
	inv = invoice_new(cx, sub, cus, "subscription_cycle", old_end, new_end, old_start, old_end,
	                  0, false);
	if (!inv)
		return;
	prev_new = json_pack("{s:o, s:O?}", "items", prev_items, "latest_invoice",
	                     json_object_get(sub, "latest_invoice"));
	prev_old = json_pack("{s:I, s:I, s:O?}", "current_period_start", (json_int_t)old_start,
	                     "current_period_end", (json_int_t)old_end, "latest_invoice",
	                     json_object_get(sub, "latest_invoice"));
	json_object_set_new(sub, "latest_invoice", json_string(gs(inv, "id")));
	if (strcmp(status, "trialing") == 0) {
		json_object_set_new(sub, "status", json_string("active"));
		json_object_set_new(prev_new, "status", json_string(status));
		json_object_set_new(prev_old, "status", json_string(status));
	}
	stripe_emit(cx, "customer.subscription.updated", sub, prev_new, prev_old);
	paid = invoice_pay(cx, inv, pm, fail, dcode, true, &pi);
	if (cx->status >= 500)
		return;
	if (!paid) {
		json_t *p = json_pack("{s:O}", "status", json_object_get(sub, "status"));

		json_object_set_new(sub, "status", json_string("past_due"));
		stripe_emit(cx, "customer.subscription.updated", sub, p, json_deep_copy(p));
	}
	answer(cx, inv);
}

static void sub_schedule_cancel(struct stripe_cx *cx, json_t *sub, bool on, const char *reason,
                                json_t *prev_new, json_t *prev_old)
{
	json_t *it = json_array_get(json_object_get(json_object_get(sub, "items"), "data"), 0);
	json_t *cd = json_object_get(sub, "cancellation_details");

	json_object_set(prev_new, "cancel_at", json_object_get(sub, "cancel_at"));
	json_object_set(prev_new, "cancel_at_period_end",
	                json_object_get(sub, "cancel_at_period_end"));
	json_object_set(prev_new, "canceled_at", json_object_get(sub, "canceled_at"));
	json_object_set_new(prev_new, "cancellation_details", json_deep_copy(cd));
	json_object_update(prev_old, prev_new);
	json_object_set_new(sub, "cancel_at_period_end", json_boolean(on));
	json_object_set_new(sub, "cancel_at",
	                    on ? json_integer(gi(it, "current_period_end")) : json_null());
	json_object_set_new(sub, "canceled_at",
	                    on ? json_integer(stripe_now(cx->st)) : json_null());
	json_object_set_new(cd, "reason", on ? json_string(reason) : json_null());
}

void stripe_sub_cancel(struct stripe_cx *cx, json_t *sub, const char *when, const char *reason)
{
	bool pending = json_is_true(json_object_get(sub, "cancel_at_period_end"));
	json_t *pn, *po;

	if (!sub_live(cx, sub))
		return;
	if (strcmp(when, "now") == 0) {
		sub_end(cx, sub, stripe_now(cx->st), reason ? reason : "cancellation_requested");
		answer(cx, sub);
		return;
	}
	if (strcmp(when, "period_end") && strcmp(when, "resume")) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "when",
		             "when must be now, period_end or resume");
		return;
	}
	if (pending == (strcmp(when, "period_end") == 0)) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "when",
		             pending ? "The subscription is already set to cancel at period end."
		                     : "The subscription is not set to cancel.");
		return;
	}
	pn = json_object();
	po = json_object();
	sub_schedule_cancel(cx, sub, !pending, reason ? reason : "cancellation_requested", pn, po);
	stripe_emit(cx, "customer.subscription.updated", sub, pn, po);
	answer(cx, sub);
}

void stripe_sub_update(struct stripe_cx *cx, json_t *sub)
{
	static const char *const known[] = {"cancel_at_period_end",
	                                    "metadata",
	                                    "proration_behavior",
	                                    "items",
	                                    "description",
	                                    "default_payment_method",
	                                    "expand",
	                                    "cancellation_details",
	                                    "payment_behavior",
	                                    "off_session",
	                                    NULL};
	static const char *const iknown[] = {"id",        "price",     "quantity",
	                                     "metadata",  "deleted",   "clear_usage",
	                                     "discounts", "tax_rates", NULL};
	bool cape, has_cape;
	json_t *meta_before, *pn = json_object(), *po = json_object(), *items;
	const char *pb, *dpm, *desc;

	if (!stripe_p_known(cx, cx->p, known, NULL) ||
	    !stripe_p_bool(cx, cx->p, "cancel_at_period_end", "cancel_at_period_end", &cape,
	                   &has_cape) ||
	    !stripe_p_str(cx, cx->p, "proration_behavior", "proration_behavior", &pb) ||
	    !stripe_p_str(cx, cx->p, "default_payment_method", "default_payment_method", &dpm) ||
	    !stripe_p_str(cx, cx->p, "description", "description", &desc))
		goto out;
	if (pb && strcmp(pb, "none") && strcmp(pb, "create_prorations") &&
	    strcmp(pb, "always_invoice")) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "proration_behavior",
		             "Invalid proration_behavior: must be one of always_invoice, "
		             "create_prorations, or none");
		goto out;
	}
	if (dpm && !stripe_get(cx->st, dpm, "payment_method")) {
		stripe_error(cx, 400, "invalid_request_error", "resource_missing",
		             "default_payment_method", "No such PaymentMethod: '%.80s'", dpm);
		goto out;
	}
	items = json_object_get(cx->p, "items");
	if (items) {
		json_t *it, *sub_items = json_object_get(json_object_get(sub, "items"), "data");
		size_t i;

		if (!json_is_array(items) || json_array_size(items) > MAX_LINE_ITEMS) {
			stripe_error(cx, 400, "invalid_request_error", NULL, "items",
			             "Invalid array: items must be given as items[0][...]");
			goto out;
		}
		json_array_foreach(items, i, it)
		{
			char pfx[32], name[64];
			const char *iid, *price;
			json_t *si = NULL, *sit;
			size_t k;

			snprintf(pfx, sizeof(pfx), "items[%zu]", i);
			if (!json_is_object(it)) {
				stripe_error(cx, 400, "invalid_request_error", NULL, pfx,
				             "Invalid hash: %s must be given with keys", pfx);
				goto out;
			}
			snprintf(name, sizeof(name), "%s[id]", pfx);
			if (!stripe_p_known(cx, it, iknown, pfx) ||
			    !stripe_p_req(cx, it, "id", name, &iid))
				goto out;
			json_array_foreach(sub_items, k, sit)
			{
				if (strcmp(gs(sit, "id"), iid) == 0)
					si = sit;
			}
			if (!si) {
				stripe_error(cx, 400, "invalid_request_error", "resource_missing",
				             name, "No such subscription item: '%.80s'", iid);
				goto out;
			}
			snprintf(name, sizeof(name), "%s[price]", pfx);
			if (!stripe_p_str(cx, it, "price", name, &price))
				goto out;
			if (json_object_get(it, "quantity") || json_object_get(it, "deleted")) {
				stripe_error(
				    cx, 400, "invalid_request_error", NULL, pfx,
				    "changing quantities or removing items is not simulated");
				goto out;
			}
			if (price) {
				json_t *p = stripe_get(cx->st, price, "price");
				json_t *rec = json_object_get(p, "recurring");

				if (!p) {
					stripe_error(cx, 400, "invalid_request_error",
					             "resource_missing", name,
					             "No such price: '%.80s'", price);
					goto out;
				}
				if (!json_is_object(rec) ||
				    strcmp(gs(rec, "interval"), ps(sub, "interval")) ||
				    gi(rec, "interval_count") !=
				        gi(json_object_get(sub, "_sim"), "interval_count")) {
					stripe_error(
					    cx, 400, "invalid_request_error", NULL, name,
					    "the simulator changes prices only to one with the "
					    "same recurring interval");
					goto out;
				}
			}
		}
	}
	if (strcmp(gs(sub, "status"), "canceled") == 0 && (has_cape || items || dpm || desc)) {
		stripe_error(cx, 400, "invalid_request_error", NULL, NULL,
		             "A canceled subscription can only update its cancellation_details and "
		             "metadata.");
		goto out;
	}
	meta_before = json_deep_copy(json_object_get(sub, "metadata"));
	if (!stripe_metadata_apply(cx, sub, json_object_get(cx->p, "metadata"), "metadata")) {
		json_decref(meta_before);
		goto out;
	}
	if (!json_equal(meta_before, json_object_get(sub, "metadata"))) {
		json_object_set(pn, "metadata", meta_before);
		json_object_set(po, "metadata", meta_before);
	}
	json_decref(meta_before);
	if (items) {
		json_t *it, *snapshot = items_snapshot(sub);
		bool changed = false;
		size_t i;

		json_array_foreach(items, i, it)
		{
			json_t *sit,
			    *sub_items = json_object_get(json_object_get(sub, "items"), "data");
			const char *price = gs(it, "price");
			size_t k;

			if (!price)
				continue;
			json_array_foreach(sub_items, k, sit)
			{
				if (strcmp(gs(sit, "id"), gs(it, "id")) == 0 &&
				    strcmp(gs(json_object_get(sit, "price"), "id"), price)) {
					json_object_set_new(
					    sit, "price",
					    stripe_render(cx->st,
					                  stripe_get(cx->st, price, "price"),
					                  STRIPE_LAYOUT_NEW, NULL));
					changed = true;
				}
			}
		}
		if (changed) {
			json_object_set(pn, "items", snapshot);
			json_object_set_new(po, "items", snapshot);
			snapshot = NULL;
		}
		json_decref(snapshot);
	}
	if (dpm && strcmp(dpm, gs(sub, "default_payment_method") ? gs(sub, "default_payment_method")
	                                                         : "")) {
		json_object_set(pn, "default_payment_method",
		                json_object_get(sub, "default_payment_method"));
		json_object_set(po, "default_payment_method",
		                json_object_get(sub, "default_payment_method"));
		json_object_set_new(sub, "default_payment_method", json_string(dpm));
	}
	if (desc) {
		json_t *nv = jstr(*desc ? desc : NULL);

		if (!json_equal(nv, json_object_get(sub, "description"))) {
			json_object_set(pn, "description", json_object_get(sub, "description"));
			json_object_set(po, "description", json_object_get(sub, "description"));
		}
		json_object_set_new(sub, "description", nv);
	}
	if (has_cape && cape != json_is_true(json_object_get(sub, "cancel_at_period_end")))
		sub_schedule_cancel(cx, sub, cape, "cancellation_requested", pn, po);
	if (json_object_size(pn)) {
		stripe_emit(cx, "customer.subscription.updated", sub, pn, po);
		pn = po = NULL;
	}
	answer(cx, sub);
out:
	json_decref(pn);
	json_decref(po);
}

/* ---- refunds ---- */

void stripe_refund_create(struct stripe_cx *cx)
{
	static const char *const known[] = {"payment_intent",
	                                    "charge",
	                                    "amount",
	                                    "reason",
	                                    "metadata",
	                                    "expand",
	                                    "instructions_email",
	                                    "refund_application_fee",
	                                    "reverse_transfer",
	                                    "origin",
	                                    NULL};
	const char *pi_id, *ch_id, *reason;
	json_t *pi = NULL, *ch = NULL, *meta = NULL, *re;
	int64_t amount = 0, remaining;
	bool has;
	char id[40], a[48], b[48];

	if (!stripe_p_known(cx, cx->p, known, NULL) ||
	    !stripe_p_str(cx, cx->p, "payment_intent", "payment_intent", &pi_id) ||
	    !stripe_p_str(cx, cx->p, "charge", "charge", &ch_id) ||
	    !stripe_p_str(cx, cx->p, "reason", "reason", &reason))
		return;
	if (!pi_id && !ch_id) {
		stripe_error(cx, 400, "invalid_request_error", "parameter_missing", NULL,
		             "One of the following params should be provided for this request: "
		             "payment_intent or charge.");
		return;
	}
	if (pi_id && !(pi = stripe_get(cx->st, pi_id, "payment_intent"))) {
		stripe_error(cx, 400, "invalid_request_error", "resource_missing", "payment_intent",
		             "No such payment_intent: '%.80s'", pi_id);
		return;
	}
	if (ch_id && !(ch = stripe_get(cx->st, ch_id, "charge"))) {
		stripe_error(cx, 400, "invalid_request_error", "resource_missing", "charge",
		             "No such charge: '%.80s'", ch_id);
		return;
	}
	if (pi && !ch) {
		ch = stripe_get(cx->st, gs(pi, "latest_charge"), "charge");
		if (!ch || strcmp(gs(ch, "status"), "succeeded")) {
			stripe_error(
			    cx, 400, "invalid_request_error", NULL, "payment_intent",
			    "This PaymentIntent does not have a successful charge to refund.");
			return;
		}
	}
	if (pi && strcmp(gs(ch, "payment_intent"), gs(pi, "id"))) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "charge",
		             "The charge %.80s does not belong to the PaymentIntent %.80s.",
		             gs(ch, "id"), gs(pi, "id"));
		return;
	}
	if (strcmp(gs(ch, "status"), "succeeded")) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "charge",
		             "Charge %.80s has not succeeded; there is nothing to refund.",
		             gs(ch, "id"));
		return;
	}
	remaining = gi(ch, "amount") - gi(ch, "amount_refunded");
	if (remaining <= 0) {
		stripe_error(cx, 400, "invalid_request_error", "charge_already_refunded", NULL,
		             "Charge %.80s has already been refunded.", gs(ch, "id"));
		return;
	}
	if (!stripe_p_int(cx, cx->p, "amount", "amount", INT64_MIN, INT64_MAX, &amount, &has))
		return;
	if (has && amount < 1) {
		stripe_error(cx, 400, "invalid_request_error", "parameter_invalid_integer",
		             "amount", "Invalid positive integer");
		return;
	}
	if (!has)
		amount = remaining;
	if (amount > remaining) {
		stripe_money(amount, gs(ch, "currency"), a, sizeof(a));
		stripe_money(remaining, gs(ch, "currency"), b, sizeof(b));
		stripe_error(cx, 400, "invalid_request_error", NULL, "amount",
		             "Refund amount (%s) is greater than unrefunded amount on charge (%s)",
		             a, b);
		return;
	}
	if (reason && strcmp(reason, "duplicate") && strcmp(reason, "fraudulent") &&
	    strcmp(reason, "requested_by_customer")) {
		stripe_error(cx, 400, "invalid_request_error", NULL, "reason",
		             "Invalid reason: must be one of duplicate, fraudulent, or "
		             "requested_by_customer");
		return;
	}
	if (!(meta = metadata_new(cx, json_object_get(cx->p, "metadata"), "metadata")))
		return;
	if (!room_for(cx, 4)) {
		json_decref(meta);
		return;
	}
	stripe_id(cx->st, "re_3", 23, id, sizeof(id));
	re = json_pack("{s:s, s:s, s:I, s:s, s:O?, s:I, s:O?, s:{s:{s:n, s:s, s:s}, s:s}, s:o, "
	               "s:O?, s:o, s:n, s:n, s:s, s:n}",
	               "id", id, "object", "refund", "amount", (json_int_t)amount,
	               "balance_transaction", "txn_refund", "charge", json_object_get(ch, "id"),
	               "created", (json_int_t)stripe_now(cx->st), "currency",
	               json_object_get(ch, "currency"), "destination_details", "card", "reference",
	               "reference_status", "pending", "reference_type", "acquirer_reference_number",
	               "type", "card", "metadata", meta, "payment_intent",
	               json_object_get(ch, "payment_intent"), "reason",
	               jstr(reason && *reason ? reason : NULL), "receipt_number",
	               "source_transfer_reversal", "status", "succeeded", "transfer_reversal");
	if (!re) {
		stripe_error(cx, 500, "api_error", NULL, NULL, "the refund could not be built");
		return;
	}
	{
		char txn[40];

		stripe_id(cx->st, "txn_3", 23, txn, sizeof(txn));
		json_object_set_new(re, "balance_transaction", json_string(txn));
	}
	if (!put(cx, re))
		return;
	json_object_set_new(ch, "amount_refunded",
	                    json_integer(gi(ch, "amount_refunded") + amount));
	json_object_set_new(ch, "refunded",
	                    json_boolean(gi(ch, "amount_refunded") == gi(ch, "amount")));
	stripe_emit(cx, "refund.created", re, NULL, NULL);
	stripe_emit(cx, "charge.refunded", ch,
	            json_pack("{s:I, s:b}", "amount_refunded",
	                      (json_int_t)(gi(ch, "amount_refunded") - amount), "refunded", 0),
	            json_pack("{s:I, s:b}", "amount_refunded",
	                      (json_int_t)(gi(ch, "amount_refunded") - amount), "refunded", 0));
	answer(cx, re);
}
