/*
 * stripe_read: the fields Herald uses, taken out of Stripe's objects
 * (stripe.h; protocols.md B.7-B.12). Pure functions over jansson values.
 *
 * Two layouts are read alike. API versions from 2025-03-31 (basil) on put
 * an invoice's subscription under parent.subscription_details, its payment
 * intents under payments.data[].payment, and a subscription's period on
 * each item; older ones had invoice.subscription, invoice.payment_intent,
 * invoice.charge and subscription.current_period_*. Any id may come as an
 * expanded object. Whatever is missing or of the wrong type reads as empty
 * or 0, and strings are cut to their fields (ids never exceed 255 bytes).
 */
#include <stdio.h>
#include <string.h>

#include "billing/stripe.h"
#include "lib/str.h"

/* The id a member holds: the string, or the "id" of an expanded object. */
static const char *id_of(const json_t *v)
{
	if (json_is_object(v))
		v = json_object_get(v, "id");
	return json_string_value(v);
}

static void put(char *out, size_t n, const char *s)
{
	snprintf(out, n, "%s", s ? s : "");
}

static void get_str(const json_t *o, const char *k, char *out, size_t n)
{
	put(out, n, json_string_value(json_object_get(o, k)));
}

static void get_id(const json_t *o, const char *k, char *out, size_t n)
{
	put(out, n, id_of(json_object_get(o, k)));
}

static int64_t get_int(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* A currency as our ISO code: three letters, upper case; else "". */
static void get_currency(const json_t *o, char out[4])
{
	const char *c = json_string_value(json_object_get(o, "currency"));

	out[0] = '\0';
	if (!c || strlen(c) != 3)
		return;
	for (int i = 0; i < 3; i++) {
		char ch = c[i];

		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (ch < 'A' || ch > 'Z') {
			out[0] = '\0';
			return;
		}
		out[i] = ch;
	}
	out[3] = '\0';
}

/* A positive integer written as a string (metadata, client_reference_id). */
static int64_t pos_int(const json_t *v)
{
	const char *s = json_string_value(v);
	int64_t n;

	if (json_is_integer(v))
		return json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
	if (!s || str_to_i64(str_c(s), 1, INT64_MAX, &n))
		return 0;
	return n;
}

/* Herald's keys in a metadata object; true when it names an order or user. */
static bool meta_read(const json_t *md, struct stripe_herald_meta *m)
{
	if (!json_is_object(md))
		return false;
	m->order_id = pos_int(json_object_get(md, "order_id"));
	m->user_id = pos_int(json_object_get(md, "user_id"));
	return m->order_id || m->user_id;
}

int stripe_event_read(const json_t *ev, struct stripe_event *out)
{
	const char *id = json_string_value(json_object_get(ev, "id"));
	const char *type = json_string_value(json_object_get(ev, "type"));
	const json_t *data = json_object_get(ev, "data");

	memset(out, 0, sizeof(*out));
	if (!id || !*id || strlen(id) >= sizeof(out->id) || !type || !*type ||
	    strlen(type) >= sizeof(out->type) || !json_is_object(json_object_get(data, "object")))
		return -ERR_INVALID;
	for (const char *p = id; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return -ERR_INVALID;
	put(out->id, sizeof(out->id), id);
	put(out->type, sizeof(out->type), type);
	get_str(ev, "api_version", out->api_version, sizeof(out->api_version));
	out->created = get_int(ev, "created");
	out->object = json_object_get(data, "object");
	out->previous = json_object_get(data, "previous_attributes");
	if (!json_is_object(out->previous))
		out->previous = NULL;
	return 0;
}

void stripe_session_read(const json_t *o, struct stripe_session *out)
{
	memset(out, 0, sizeof(*out));
	get_str(o, "id", out->id, sizeof(out->id));
	get_str(o, "mode", out->mode, sizeof(out->mode));
	get_str(o, "status", out->status, sizeof(out->status));
	get_str(o, "payment_status", out->payment_status, sizeof(out->payment_status));
	get_id(o, "subscription", out->subscription, sizeof(out->subscription));
	get_id(o, "customer", out->customer, sizeof(out->customer));
	get_id(o, "invoice", out->invoice, sizeof(out->invoice));
	get_currency(o, out->currency);
	out->amount_total = get_int(o, "amount_total");
	out->client_user_id = pos_int(json_object_get(o, "client_reference_id"));
	meta_read(json_object_get(o, "metadata"), &out->meta);
}

/* Whether an invoice line is for a subscription (either layout). */
static bool sub_line(const json_t *ln)
{
	const json_t *parent = json_object_get(ln, "parent");
	const char *type = json_string_value(json_object_get(ln, "type"));

	if (json_is_object(json_object_get(parent, "subscription_item_details")))
		return true;
	return type && strcmp(type, "subscription") == 0;
}

void stripe_invoice_read(const json_t *o, struct stripe_invoice *out)
{
	const json_t *parent = json_object_get(o, "parent");
	const json_t *sd = json_object_get(parent, "subscription_details");
	const json_t *lines = json_object_get(json_object_get(o, "lines"), "data");
	const json_t *pays = json_object_get(json_object_get(o, "payments"), "data");
	const json_t *ln, *pay, *chosen = NULL;
	size_t i;

	memset(out, 0, sizeof(*out));
	get_str(o, "id", out->id, sizeof(out->id));
	get_str(o, "status", out->status, sizeof(out->status));
	get_str(o, "billing_reason", out->billing_reason, sizeof(out->billing_reason));
	get_currency(o, out->currency);
	get_id(o, "customer", out->customer, sizeof(out->customer));
	out->amount_due = get_int(o, "amount_due");
	out->amount_paid = get_int(o, "amount_paid");
	out->attempt_count = get_int(o, "attempt_count");

	/* the subscription: current layout first, then the old top level */
	get_id(sd, "subscription", out->subscription, sizeof(out->subscription));
	if (!out->subscription[0])
		get_id(o, "subscription", out->subscription, sizeof(out->subscription));

	/* the payment: the paid entry of payments (else the last), or the old
	 * top-level payment_intent and charge */
	json_array_foreach(pays, i, pay)
	{
		const char *st = json_string_value(json_object_get(pay, "status"));

		chosen = pay;
		if (st && strcmp(st, "paid") == 0)
			break;
	}
	if (chosen) {
		const json_t *p = json_object_get(chosen, "payment");

		get_id(p, "payment_intent", out->payment_intent, sizeof(out->payment_intent));
		get_id(p, "charge", out->charge, sizeof(out->charge));
	}
	if (!out->payment_intent[0])
		get_id(o, "payment_intent", out->payment_intent, sizeof(out->payment_intent));
	if (!out->charge[0])
		get_id(o, "charge", out->charge, sizeof(out->charge));

	/* the service period of the subscription's line (any line's if none
	 * says it is the subscription's) */
	json_array_foreach(lines, i, ln)
	{
		const json_t *period = json_object_get(ln, "period");
		int64_t s = get_int(period, "start"), e = get_int(period, "end");

		if (e <= 0 || e < s)
			continue;
		if (sub_line(ln) || !out->period_end) {
			out->period_start = s;
			out->period_end = e;
		}
		if (sub_line(ln))
			break;
	}

	/* Herald's metadata, where the subscription's lands on its invoices */
	if (!meta_read(json_object_get(sd, "metadata"), &out->meta) &&
	    !meta_read(json_object_get(json_object_get(o, "subscription_details"), "metadata"),
	               &out->meta)) {
		bool found = false;

		json_array_foreach(lines, i, ln)
		{
			if (sub_line(ln) &&
			    meta_read(json_object_get(ln, "metadata"), &out->meta)) {
				found = true;
				break;
			}
		}
		if (!found)
			meta_read(json_object_get(o, "metadata"), &out->meta);
	}
}

void stripe_sub_read(const json_t *o, struct stripe_sub *out)
{
	const json_t *items = json_object_get(json_object_get(o, "items"), "data"), *it;
	size_t i;

	memset(out, 0, sizeof(*out));
	get_str(o, "id", out->id, sizeof(out->id));
	get_str(o, "status", out->status, sizeof(out->status));
	get_id(o, "customer", out->customer, sizeof(out->customer));
	get_id(o, "latest_invoice", out->latest_invoice, sizeof(out->latest_invoice));
	out->cancel_at_period_end = json_is_true(json_object_get(o, "cancel_at_period_end"));
	out->cancel_at = get_int(o, "cancel_at");
	out->canceled_at = get_int(o, "canceled_at");
	out->ended_at = get_int(o, "ended_at");
	out->period_start = get_int(o, "current_period_start");
	out->period_end = get_int(o, "current_period_end");
	if (!out->period_end) {
		json_array_foreach(items, i, it)
		{
			int64_t s = get_int(it, "current_period_start");
			int64_t e = get_int(it, "current_period_end");

			if (e <= 0)
				continue;
			if (!out->period_start || (s && s < out->period_start))
				out->period_start = s;
			if (e > out->period_end)
				out->period_end = e;
		}
	}
	meta_read(json_object_get(o, "metadata"), &out->meta);
}

void stripe_charge_read(const json_t *o, struct stripe_charge *out)
{
	memset(out, 0, sizeof(*out));
	get_str(o, "id", out->id, sizeof(out->id));
	get_id(o, "payment_intent", out->payment_intent, sizeof(out->payment_intent));
	get_id(o, "invoice", out->invoice, sizeof(out->invoice));
	get_id(o, "customer", out->customer, sizeof(out->customer));
	get_currency(o, out->currency);
	out->amount = get_int(o, "amount");
	out->amount_refunded = get_int(o, "amount_refunded");
	out->refunded = json_is_true(json_object_get(o, "refunded"));
}

void stripe_refund_read(const json_t *o, struct stripe_refund *out)
{
	memset(out, 0, sizeof(*out));
	get_str(o, "id", out->id, sizeof(out->id));
	get_str(o, "status", out->status, sizeof(out->status));
	get_id(o, "charge", out->charge, sizeof(out->charge));
	get_id(o, "payment_intent", out->payment_intent, sizeof(out->payment_intent));
	get_str(json_object_get(o, "metadata"), "herald_invoice", out->invoice,
	        sizeof(out->invoice));
	get_str(o, "reason", out->reason, sizeof(out->reason));
	get_currency(o, out->currency);
	out->amount = get_int(o, "amount");
}

void stripe_failure_text(const json_t *v, char *out, size_t n)
{
	const json_t *err = json_object_get(v, "last_payment_error");
	const char *code, *dcode, *msg;
	int len;

	if (!json_is_object(err))
		err = json_object_get(v, "object") ? NULL : v;
	out[0] = '\0';
	if (!json_is_object(err))
		return;
	code = json_string_value(json_object_get(err, "code"));
	dcode = json_string_value(json_object_get(err, "decline_code"));
	msg = json_string_value(json_object_get(err, "message"));
	if (!code && !dcode && !msg)
		return;
	len = snprintf(out, n, "%s", code ? code : "payment_failed");
	if (dcode && len >= 0 && (size_t)len < n)
		len += snprintf(out + len, n - (size_t)len, " (%s)", dcode);
	if (msg && len >= 0 && (size_t)len < n)
		snprintf(out + len, n - (size_t)len, ": %s", msg);
}
