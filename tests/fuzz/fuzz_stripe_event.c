/* Fuzz what Herald reads out of a Stripe webhook once its signature passed
 * (billing/stripe.h): any bytes that parse as JSON go through the event
 * reader and, whatever its data.object is, through every object reader and
 * the failure text; the fields they fill stay NUL terminated within their
 * bounds and a currency is empty or three capital letters. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "billing/stripe.h"
#include "lib/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void currency_ok(const char *c)
{
	assert(c[0] == '\0' || (strlen(c) == 3 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' &&
	                        c[1] <= 'Z' && c[2] >= 'A' && c[2] <= 'Z'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stripe_event ev;
	struct stripe_session s;
	struct stripe_invoice inv;
	struct stripe_sub sub;
	struct stripe_charge ch;
	struct stripe_refund re;
	char why[200];
	const json_t *o;
	json_t *v = NULL;

	if (json_parse((const char *)data, size, 64, &v, NULL))
		return 0;
	o = v;
	if (stripe_event_read(v, &ev) == 0) {
		assert(ev.id[0] && strlen(ev.id) < sizeof(ev.id) && ev.type[0]);
		assert(json_is_object(ev.object));
		o = ev.object;
	}
	stripe_session_read(o, &s);
	currency_ok(s.currency);
	assert(s.client_user_id >= 0 && s.meta.order_id >= 0 && s.meta.user_id >= 0);
	stripe_invoice_read(o, &inv);
	currency_ok(inv.currency);
	assert(inv.period_end == 0 || inv.period_end >= inv.period_start);
	assert(strlen(inv.subscription) < sizeof(inv.subscription));
	stripe_sub_read(o, &sub);
	assert(strlen(sub.status) < sizeof(sub.status));
	stripe_charge_read(o, &ch);
	currency_ok(ch.currency);
	stripe_refund_read(o, &re);
	currency_ok(re.currency);
	stripe_failure_text(o, why, sizeof(why));
	assert(strlen(why) < sizeof(why));
	json_decref(v);
	return 0;
}
