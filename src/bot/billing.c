/*
 * bot/billing: plans and payments in the bot (docs/billing.md).
 *
 *   /plans      the plans with their limits and prices, the user's marked
 *   /subscribe  plan -> period -> way to pay (the configured providers that
 *               have a price for it) -> a pay link (Stripe, Payme, Click) or
 *               a Telegram Stars invoice; each step is a button (BOT_CB_BUY
 *               "plan", "plan.period", "plan.period.provider"), so a notice
 *               can start any step again
 *   /billing    the plan, the subscription's state and dates, the last
 *               payments and refunds; cancel at the period's end (asked to
 *               confirm), pay for the next period, change plan
 *
 * Telegram Stars: a pre_checkout_query is answered at once after
 * billing/stars checked the order; a message with successful_payment or
 * refunded_payment is recorded by billing/stars, once. What the user is then
 * told comes from the billing notices (bot_billing_notice, run by the
 * scheduler's bnotice jobs), the same as for payments through webhooks.
 *
 * The texts of plans, status and notices are built by pure functions over
 * the JSON views of billing/checkout and a struct bot_notice, which the unit
 * tests call directly.
 */
#include "bot/bot_impl.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "billing/billing.h"
#include "billing/checkout.h"
#include "billing/money.h"
#include "billing/stars.h"
#include "lib/clock.h"
#include "lib/i18n.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "sched/when.h"
#include "store/store.h"
#include "tg/tg.h"

#define TEXT_MAX       4000
#define PAYMENTS_SHOWN 5

/* The default plans' names, translated where they are shown. */
static const char *const plan_names[] = {N_("Free"), N_("Pro"), N_("Business")};

const char *bot_plan_name(const char *lang, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(plan_names); i++)
		if (strcmp(name, plan_names[i]) == 0)
			return _(lang, plan_names[i]);
	return name;
}

void bot_money(const char *lang, int64_t minor, const char *currency, char *out, size_t outsz)
{
	if (money_format(minor, currency, lang, out, outsz))
		bot_fmt(out, outsz, "%lld %s", (long long)minor, currency);
}

void bot_date(const char *zone, int64_t ms, char *out, size_t outsz)
{
	struct when_local t;

	if (when_to_local(zone && *zone ? zone : "UTC", ms, &t, NULL, NULL, NULL))
		bot_fmt(out, outsz, "?");
	else
		bot_fmt(out, outsz, "%02d.%02d.%04d", t.day, t.month, t.year);
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static int64_t jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static const char *provider_label(const char *lang, const char *p)
{
	if (strcmp(p, "stripe") == 0)
		return _(lang, "Card (Stripe)");
	if (strcmp(p, "payme") == 0)
		return "Payme";
	if (strcmp(p, "click") == 0)
		return "Click";
	if (strcmp(p, "stars") == 0)
		return _(lang, "Telegram Stars");
	return p;
}

/* "1 month" / "1 year": the length of what is bought. */
static const char *period_label(const char *lang, const char *period)
{
	return strcmp(period, "year") == 0 ? _(lang, "1 year") : _(lang, "1 month");
}

/* The name of plan id as plans (billing_plans_json) has it, translated. */
static const char *plan_title(const char *lang, const json_t *plans, const char *id)
{
	const json_t *list = json_object_get(plans, "plans"), *p;
	size_t i;

	json_array_foreach(list, i, p)
	{
		if (strcmp(jstr(p, "id"), id) == 0)
			return bot_plan_name(lang, jstr(p, "name"));
	}
	return id;
}

static const json_t *plan_of(const json_t *plans, const char *id)
{
	const json_t *list = json_object_get(plans, "plans"), *p;
	size_t i;

	json_array_foreach(list, i, p)
	{
		if (strcmp(jstr(p, "id"), id) == 0)
			return p;
	}
	return NULL;
}

/* The price of plan p for period in currency: its amount, or 0. */
static int64_t price_of(const json_t *p, const char *period, const char *currency)
{
	const json_t *prices = json_object_get(p, "prices"), *x;
	size_t i;

	json_array_foreach(prices, i, x)
	{
		if (strcmp(jstr(x, "period"), period) == 0 &&
		    strcmp(jstr(x, "currency"), currency) == 0)
			return jint(x, "amount");
	}
	return 0;
}

static bool provider_configured(const json_t *plans, const char *provider)
{
	const json_t *list = json_object_get(plans, "providers"), *x;
	size_t i;

	json_array_foreach(list, i, x)
	{
		if (strcmp(jstr(x, "id"), provider) == 0)
			return true;
	}
	return false;
}

/* The currencies to show prices in (see bot_plans_text): up to 3. */
static size_t shown_currencies(const char *lang, const json_t *plans, const char *out[3])
{
	static const char *const en[] = {"USD", "UZS", "XTR"}, *const uz[] = {"UZS", "USD", "XTR"};
	const char *const *order = strcmp(lang, "uz") == 0 ? uz : en;
	const json_t *provs = json_object_get(plans, "providers"), *list, *p, *x;
	size_t n = 0, i, k;

	for (size_t c = 0; c < 3; c++) {
		bool want = false;

		if (json_array_size(provs)) {
			json_array_foreach(provs, i, x) want |=
			    strcmp(jstr(x, "currency"), order[c]) == 0;
		} else {
			list = json_object_get(plans, "plans");
			json_array_foreach(list, i, p)
			{
				json_array_foreach(json_object_get(p, "prices"), k, x) want |=
				    strcmp(jstr(x, "currency"), order[c]) == 0;
			}
		}
		if (want)
			out[n++] = order[c];
	}
	return n;
}

void bot_plans_text(const char *lang, const json_t *plans, const char *current, char *out,
                    size_t outsz)
{
	static const char *const periods[] = {"month", "year"};
	const char *curs[3];
	size_t nc = shown_currencies(lang, plans, curs), i;
	const json_t *p;
	char amount[64];

	out[0] = '\0';
	bot_addf(out, outsz, "%s\n", _(lang, "Herald plans:"));
	json_array_foreach(json_object_get(plans, "plans"), i, p)
	{
		const char *name = bot_plan_name(lang, jstr(p, "name"));
		int ch = (int)jint(p, "max_channels"), posts = (int)jint(p, "max_posts_month");
		bool mine = strcmp(jstr(p, "id"), current) == 0, priced = false;

		bot_addf(out, outsz, "\n");
		if (mine)
			bot_addf(out, outsz, _(lang, "✓ %s — your plan"), name);
		else
			bot_addf(out, outsz, "%s", name);
		bot_addf(out, outsz, "\n");
		bot_addf(out, outsz,
		         i18n_nget(lang, "%d channel", "%d channels", (unsigned long)ch), ch);
		bot_addf(out, outsz, " · ");
		bot_addf(
		    out, outsz,
		    i18n_nget(lang, "%d post a month", "%d posts a month", (unsigned long)posts),
		    posts);
		bot_addf(out, outsz, "\n");
		for (size_t k = 0; k < ARRAY_SIZE(periods); k++) {
			bool first = true;

			for (size_t c = 0; c < nc; c++) {
				int64_t a = price_of(p, periods[k], curs[c]);

				if (!a)
					continue;
				bot_money(lang, a, curs[c], amount, sizeof(amount));
				if (first)
					bot_addf(out, outsz, "%s: %s",
					         period_label(lang, periods[k]), amount);
				else
					bot_addf(out, outsz, " · %s", amount);
				first = false;
				priced = true;
			}
			if (!first)
				bot_addf(out, outsz, "\n");
		}
		if (!priced)
			bot_addf(out, outsz, "%s\n", _(lang, "Free of charge"));
	}
	bot_addf(out, outsz, "\n%s",
	         json_array_size(json_object_get(plans, "providers"))
	             ? _(lang, "Send /subscribe to choose a plan and pay for it.")
	             : _(lang, "Payments are not set up on this Herald yet."));
}

void bot_billing_text(const char *lang, const char *zone, const json_t *plans,
                      const json_t *current, const json_t *payments, char *out, size_t outsz)
{
	const json_t *sub = json_object_get(current, "subscription"), *x;
	const char *state = jstr(sub, "state");
	const char *plan = plan_title(lang, plans, jstr(sub, "plan"));
	char end[32], grace[32], amount[64];
	size_t i;

	out[0] = '\0';
	bot_addf(out, outsz, _(lang, "Your plan: %s"),
	         plan_title(lang, plans, jstr(current, "plan")));
	bot_addf(out, outsz, "\n");
	bot_date(zone, jint(sub, "current_period_end"), end, sizeof(end));
	bot_date(zone, jint(sub, "grace_until"), grace, sizeof(grace));
	if (!json_is_object(sub)) {
		bot_addf(out, outsz, "%s", _(lang, "You have no paid subscription."));
	} else if (strcmp(state, "expired") == 0) {
		bot_date(zone, jint(sub, "ended_at"), end, sizeof(end));
		bot_addf(out, outsz, _(lang, "Your %s subscription ended on %s."), plan, end);
	} else {
		bot_addf(out, outsz, _(lang, "%s, %s, paid with %s."), plan,
		         strcmp(jstr(sub, "period"), "year") == 0 ? _(lang, "yearly")
		                                                  : _(lang, "monthly"),
		         provider_label(lang, jstr(sub, "provider")));
		bot_addf(out, outsz, "\n");
		if (strcmp(state, "active") == 0 && strcmp(jstr(sub, "provider"), "stripe") == 0)
			bot_addf(out, outsz, _(lang, "✅ Active: renews on %s."), end);
		else if (strcmp(state, "active") == 0)
			bot_addf(out, outsz,
			         _(lang,
			           "✅ Active: paid until %s. It does not renew by itself: before "
			           "it ends I will remind you, with a button to pay for the next "
			           "period."),
			         end);
		else if (strcmp(state, "trialing") == 0)
			bot_addf(out, outsz, _(lang, "🧪 Trial until %s."), end);
		else if (strcmp(state, "canceled") == 0)
			bot_addf(out, outsz,
			         _(lang,
			           "⏹ Cancelled: %s stays until %s, then your account moves to "
			           "Free. Nothing more will be charged."),
			         plan, end);
		else if (strcmp(state, "past_due") == 0)
			bot_addf(out, outsz,
			         _(lang,
			           "⚠️ Payment overdue: pay by %s to keep %s. After that your "
			           "account moves to Free."),
			         grace, plan);
	}
	bot_addf(out, outsz, "\n\n");
	if (!json_array_size(payments)) {
		bot_addf(out, outsz, "%s", _(lang, "No payments yet."));
		return;
	}
	bot_addf(out, outsz, "%s", _(lang, "Payments and refunds:"));
	json_array_foreach(payments, i, x)
	{
		const char *kind = jstr(x, "kind"), *status = jstr(x, "status");
		const char *reason = jstr(x, "reason"),
		           *prov = provider_label(lang, jstr(x, "provider"));
		char when[32];

		bot_date(zone, jint(x, "created_at"), when, sizeof(when));
		bot_money(lang, jint(x, "amount"), jstr(x, "currency"), amount, sizeof(amount));
		bot_addf(out, outsz, "\n• %s — %s — ", when, amount);
		if (strcmp(kind, "refund") == 0 && *reason)
			bot_addf(out, outsz, _(lang, "refunded: %s"), reason);
		else if (strcmp(kind, "refund") == 0)
			bot_addf(out, outsz, "%s", _(lang, "refunded"));
		else if (strcmp(status, "succeeded") == 0)
			bot_addf(out, outsz, _(lang, "paid with %s"), prov);
		else if (strcmp(status, "failed") == 0 && *reason)
			bot_addf(out, outsz, _(lang, "failed (%s): %s"), prov, reason);
		else if (strcmp(status, "failed") == 0)
			bot_addf(out, outsz, _(lang, "failed (%s)"), prov);
		else
			bot_addf(out, outsz, _(lang, "pending (%s)"), prov);
	}
}

bool bot_notice_text(const char *lang, const char *zone, const struct bot_notice *n, char *out,
                     size_t outsz)
{
	const char *plan = bot_plan_name(lang, n->plan && *n->plan ? n->plan : "Free");
	const char *prov = provider_label(lang, n->provider ? n->provider : "");
	bool stripe = n->provider && strcmp(n->provider, "stripe") == 0;
	char amount[64], end[32], grace[32], days[64];
	enum billing_provider p;

	out[0] = '\0';
	amount[0] = '\0';
	if (n->amount && n->currency && *n->currency)
		bot_money(lang, n->amount, n->currency, amount, sizeof(amount));
	bot_date(zone, n->period_end, end, sizeof(end));
	bot_date(zone, n->grace_until, grace, sizeof(grace));
	bot_fmt(days, sizeof(days),
	        i18n_nget(lang, "%d day", "%d days", (unsigned long)n->remind_days),
	        (int)n->remind_days);
	if (strcmp(n->kind, "activated") == 0 || strcmp(n->kind, "renewed") == 0) {
		bot_addf(out, outsz,
		         strcmp(n->kind, "activated") == 0
		             ? _(lang, "✅ Payment received: %s. %s is active until %s.")
		             : _(lang, "✅ Payment received: %s. %s is renewed until %s."),
		         amount, plan, end);
		bot_addf(out, outsz, "\n");
		if (stripe)
			bot_addf(out, outsz, "%s", _(lang, "It renews by itself through Stripe."));
		else if (n->remind_days > 0)
			bot_addf(out, outsz,
			         _(lang,
			           "It does not renew by itself: I will remind you %s before it "
			           "ends."),
			         days);
		else
			bot_addf(out, outsz, "%s",
			         _(lang, "It does not renew by itself: pay again before it ends."));
	} else if (strcmp(n->kind, "payment_failed") == 0) {
		if (n->reason && *n->reason)
			bot_addf(out, outsz,
			         _(lang, "❌ Your payment of %s through %s did not go through: %s"),
			         amount, prov, n->reason);
		else
			bot_addf(out, outsz,
			         _(lang, "❌ Your payment of %s through %s did not go through."),
			         amount, prov);
		bot_addf(out, outsz, "\n%s", _(lang, "Try again, or pay another way."));
	} else if (strcmp(n->kind, "reminder") == 0) {
		bot_addf(out, outsz,
		         _(lang,
		           "⏰ Your %s plan is paid until %s. Payments through %s do not renew "
		           "by themselves: pay for the next period to keep the plan."),
		         plan, end, prov);
		if (n->next_amount && n->provider && !billing_provider_parse(n->provider, &p)) {
			bot_money(lang, n->next_amount, billing_provider_currency(p), amount,
			          sizeof(amount));
			bot_addf(out, outsz, "\n");
			bot_addf(out, outsz, _(lang, "The next %s costs %s."),
			         strcmp(n->period ? n->period : "", "year") == 0 ? _(lang, "year")
			                                                         : _(lang, "month"),
			         amount);
		}
	} else if (strcmp(n->kind, "past_due") == 0) {
		if (stripe)
			bot_addf(
			    out, outsz,
			    _(lang,
			      "⚠️ Stripe could not renew your %s plan. It stays on until %s "
			      "while Stripe tries your card again; you can also pay another "
			      "way."),
			    plan, grace);
		else
			bot_addf(
			    out, outsz,
			    _(lang,
			      "⚠️ Your %s plan was not paid for the next period. It stays on "
			      "until %s; after that your account moves to Free (nothing is "
			      "deleted: channels over the limit are paused)."),
			    plan, grace);
	} else if (strcmp(n->kind, "expired") == 0) {
		bot_addf(out, outsz,
		         _(lang,
		           "Your %s plan has ended, and your account is on Free now. Nothing was "
		           "deleted: channels over the Free limit are paused until you subscribe "
		           "again."),
		         plan);
	} else if (strcmp(n->kind, "cancel_requested") == 0) {
		bot_addf(out, outsz,
		         _(lang,
		           "Your %s plan will not renew. It stays on until %s, then your account "
		           "moves to Free."),
		         plan, end);
	} else if (strcmp(n->kind, "reactivated") == 0) {
		bot_addf(out, outsz, _(lang, "Your %s plan is on again and renews as before."),
		         plan);
	} else if (strcmp(n->kind, "refunded") == 0 || strcmp(n->kind, "refunded_partial") == 0) {
		bool full = strcmp(n->kind, "refunded") == 0;

		bot_addf(out, outsz,
		         full ? _(lang, "↩️ %s was refunded to you.")
		              : _(lang, "↩️ %s of your payment was refunded to you."),
		         amount);
		if (n->reason && *n->reason) {
			bot_addf(out, outsz, "\n");
			bot_addf(out, outsz, _(lang, "Reason: %s"), n->reason);
		}
		bot_addf(out, outsz, "\n");
		if (full && !n->has_plan)
			bot_addf(out, outsz,
			         _(lang, "Your %s plan has ended; your account is on Free."), plan);
		else
			bot_addf(out, outsz, "%s", _(lang, "Your plan stays as it was."));
	} else if (strcmp(n->kind, "refund_failed") == 0) {
		bot_addf(out, outsz, _(lang, "⚠️ The refund of %s did not reach you."), amount);
		if (n->reason && *n->reason) {
			bot_addf(out, outsz, "\n");
			bot_addf(out, outsz, _(lang, "Reason: %s"), n->reason);
		}
		bot_addf(out, outsz, "\n%s",
		         _(lang, "The operator has been told and will refund you again or contact "
		                 "you."));
	} else {
		return false;
	}
	return true;
}

/* ---- talking ------------------------------------------------------------- */

static void buy_button(json_t *row, const char *text, const char *plan, const char *period,
                       const char *provider)
{
	char arg[BOT_CB_MAX];

	if (provider && *provider)
		snprintf(arg, sizeof(arg), "%s.%s.%s", plan, period, provider);
	else if (period && *period)
		snprintf(arg, sizeof(arg), "%s.%s", plan, period);
	else
		snprintf(arg, sizeof(arg), "%s", plan);
	bot_kb_button(row, text, BOT_CB_BUY, arg, 0);
}

/* The cheapest way to show a price of plan p for period: each configured
 * provider's, joined. Empty when there is none. */
static void prices_line(const char *lang, const json_t *plans, const json_t *p, const char *period,
                        char *out, size_t outsz)
{
	const char *curs[3];
	size_t nc = shown_currencies(lang, plans, curs);
	char amount[64];

	out[0] = '\0';
	for (size_t c = 0; c < nc; c++) {
		int64_t a = price_of(p, period, curs[c]);

		if (!a)
			continue;
		bot_money(lang, a, curs[c], amount, sizeof(amount));
		bot_addf(out, outsz, "%s%s", out[0] ? " · " : "", amount);
	}
}

/* Whether a configured provider sells plan p for period (any period: NULL). */
static bool sellable(const json_t *plans, const json_t *p, const char *period)
{
	static const char *const periods[] = {"month", "year"};
	const json_t *x;
	size_t i;

	json_array_foreach(json_object_get(plans, "providers"), i, x)
	{
		for (size_t k = 0; k < ARRAY_SIZE(periods); k++)
			if ((!period || strcmp(period, periods[k]) == 0) &&
			    price_of(p, periods[k], jstr(x, "currency")))
				return true;
	}
	return false;
}

static int load_plans(struct bot_ctx *c, json_t **plans)
{
	return billing_plans_json(c->b->a, plans, c->e);
}

int bot_cmd_plans(struct bot_ctx *c)
{
	char text[TEXT_MAX];
	json_t *plans = NULL, *kb, *row;
	int rc = load_plans(c, &plans);

	if (rc)
		return rc;
	bot_plans_text(c->lang, plans, c->u.plan, text, sizeof(text));
	kb = bot_kb_new();
	row = bot_kb_row(kb);
	if (json_array_size(json_object_get(plans, "providers")))
		bot_kb_button(row, _(c->lang, "Subscribe"), BOT_CB_MENU, "subscribe", 0);
	bot_kb_button(row, _(c->lang, "My billing"), BOT_CB_MENU, "billing", 0);
	json_decref(plans);
	return bot_say_kb(c, text, kb);
}

/* Step 1: the plans for sale. */
static int choose_plan(struct bot_ctx *c, const json_t *plans)
{
	const json_t *p;
	json_t *kb = bot_kb_new();
	char label[128];
	size_t i, n = 0;

	json_array_foreach(json_object_get(plans, "plans"), i, p)
	{
		int ch = (int)jint(p, "max_channels"), posts = (int)jint(p, "max_posts_month");
		char limits[96], nposts[64];

		if (!sellable(plans, p, NULL))
			continue;
		bot_fmt(limits, sizeof(limits),
		        i18n_nget(c->lang, "%d channel", "%d channels", (unsigned long)ch), ch);
		bot_fmt(
		    nposts, sizeof(nposts),
		    i18n_nget(c->lang, "%d post a month", "%d posts a month", (unsigned long)posts),
		    posts);
		bot_fmt(label, sizeof(label), "%s%s — %s, %s",
		        bot_plan_name(c->lang, jstr(p, "name")),
		        strcmp(jstr(p, "id"), c->u.plan) == 0 ? " ✓" : "", limits, nposts);
		buy_button(bot_kb_row(kb), label, jstr(p, "id"), NULL, NULL);
		n++;
	}
	if (!n) {
		json_decref(kb);
		return bot_show(c, _(c->lang, "Payments are not set up on this Herald yet."), NULL);
	}
	return bot_show(
	    c, _(c->lang, "Choose a plan. /plans shows what each one includes and costs."), kb);
}

int bot_cmd_subscribe(struct bot_ctx *c)
{
	json_t *plans = NULL;
	int rc = load_plans(c, &plans);

	if (rc)
		return rc;
	rc = choose_plan(c, plans);
	json_decref(plans);
	return rc;
}

/* Step 2: the periods plan p is sold for. */
static int choose_period(struct bot_ctx *c, const json_t *plans, const json_t *p)
{
	static const char *const periods[] = {"month", "year"};
	const char *name = bot_plan_name(c->lang, jstr(p, "name"));
	json_t *kb = bot_kb_new();
	char text[1024], label[256], line[192];

	bot_fmt(text, sizeof(text), _(c->lang, "%s: for how long?"), name);
	for (size_t k = 0; k < ARRAY_SIZE(periods); k++) {
		if (!sellable(plans, p, periods[k]))
			continue;
		prices_line(c->lang, plans, p, periods[k], line, sizeof(line));
		bot_fmt(label, sizeof(label), "%s — %s", period_label(c->lang, periods[k]), line);
		buy_button(bot_kb_row(kb), label, jstr(p, "id"), periods[k], NULL);
	}
	bot_kb_button(bot_kb_row(kb), _(c->lang, "« Other plans"), BOT_CB_MENU, "subscribe", 0);
	return bot_show(c, text, kb);
}

/* Step 3: the configured providers that sell p for period. */
static int choose_provider(struct bot_ctx *c, const json_t *plans, const json_t *p,
                           const char *period)
{
	const char *name = bot_plan_name(c->lang, jstr(p, "name"));
	const json_t *x;
	json_t *kb = bot_kb_new();
	char text[1024], label[192], amount[64];
	size_t i;

	bot_fmt(text, sizeof(text), _(c->lang, "%s for %s. How would you like to pay?"), name,
	        period_label(c->lang, period));
	json_array_foreach(json_object_get(plans, "providers"), i, x)
	{
		int64_t a = price_of(p, period, jstr(x, "currency"));

		if (!a)
			continue;
		bot_money(c->lang, a, jstr(x, "currency"), amount, sizeof(amount));
		bot_fmt(label, sizeof(label), "%s — %s", provider_label(c->lang, jstr(x, "id")),
		        amount);
		buy_button(bot_kb_row(kb), label, jstr(p, "id"), period, jstr(x, "id"));
	}
	buy_button(bot_kb_row(kb), _(c->lang, "« Back"), jstr(p, "id"), NULL, NULL);
	return bot_show(c, text, kb);
}

/* Step 4: an order and where to pay it. */
static int checkout(struct bot_ctx *c, const json_t *p, const char *period, const char *provider)
{
	const char *name = bot_plan_name(c->lang, jstr(p, "name"));
	struct billing_checkout co;
	enum billing_provider prov;
	struct err ce = {0};
	char text[1024], amount[64], label[128];
	json_t *kb;
	int rc;

	if (billing_provider_parse(provider, &prov))
		return bot_stale(c);
	rc = billing_checkout(c->b->a, &c->u, jstr(p, "id"), period, prov, NULL, &co, &ce);
	if (rc == -ERR_UNAVAILABLE || rc == -ERR_BUSY) {
		log_info("msg=\"checkout not started\" user=%lld provider=%s err=\"%s\"",
		         (long long)c->u.id, provider, ce.msg);
		return bot_say(
		    c,
		    rc == -ERR_BUSY
		        ? _(c->lang, "Telegram did not take the invoice just now. Please "
		                     "try again in a minute.")
		        : _(c->lang, "This way to pay is not available right now. Please "
		                     "choose another one with /subscribe."),
		    NULL);
	}
	if (rc == -ERR_NOT_FOUND || rc == -ERR_INVALID)
		return bot_say(c,
		               _(c->lang, "This plan cannot be bought that way any more. Send "
		                          "/subscribe to see what is on sale."),
		               NULL);
	if (rc)
		return err_set(c->e, -rc, "checkout: %s", ce.msg);
	bot_money(c->lang, co.order.amount, co.order.currency, amount, sizeof(amount));
	if (prov == BP_STARS) {
		bot_fmt(text, sizeof(text),
		        _(c->lang, "I sent you an invoice for %s, %s: %s. Tap Pay in it; I will "
		                   "write here when the payment arrives."),
		        name, period_label(c->lang, period), amount);
		return bot_show(c, text, NULL);
	}
	bot_fmt(text, sizeof(text),
	        _(c->lang, "%s for %s: %s through %s. Tap the button to pay; I will write here "
	                   "when the payment arrives. The link works for 24 hours."),
	        name, period_label(c->lang, period), amount, provider_label(c->lang, provider));
	bot_fmt(label, sizeof(label), _(c->lang, "Pay %s"), amount);
	kb = bot_kb_new();
	json_array_append_new(bot_kb_row(kb),
	                      json_pack("{s:s, s:s}", "text", label, "url", co.url));
	return bot_show(c, text, kb);
}

static int on_buy(struct bot_ctx *c, const char *arg)
{
	struct bot_buy buy;
	json_t *plans = NULL;
	const json_t *p;
	int rc;

	if (bot_buy_parse(str_c(arg), &buy))
		return bot_stale(c);
	rc = load_plans(c, &plans);
	if (rc)
		return rc;
	p = plan_of(plans, buy.plan);
	if (!p || !sellable(plans, p, buy.period[0] ? buy.period : NULL) ||
	    (buy.provider[0] && !provider_configured(plans, buy.provider)))
		rc = bot_say(c,
		             _(c->lang, "This plan cannot be bought that way any more. Send "
		                        "/subscribe to see what is on sale."),
		             NULL);
	else if (!buy.period[0])
		rc = choose_period(c, plans, p);
	else if (!buy.provider[0])
		rc = choose_provider(c, plans, p, buy.period);
	else
		rc = checkout(c, p, buy.period, buy.provider);
	json_decref(plans);
	return rc;
}

/* ---- /billing ------------------------------------------------------------ */

static int billing_screen(struct bot_ctx *c, const char *intro)
{
	struct app *a = c->b->a;
	json_t *plans = NULL, *cur = NULL, *pays = NULL, *kb, *row;
	const json_t *sub;
	const char *state;
	char text[TEXT_MAX];
	int rc = load_plans(c, &plans);

	if (!rc)
		rc = billing_current_json(a, c->u.id, &cur, c->e);
	if (!rc)
		rc = billing_payments_json(a, c->u.id, PAYMENTS_SHOWN, &pays, c->e);
	if (rc)
		goto out;
	text[0] = '\0';
	if (intro && *intro)
		bot_addf(text, sizeof(text), "%s\n\n", intro);
	bot_billing_text(c->lang, c->u.time_zone, plans, cur, pays, text + strlen(text),
	                 sizeof(text) - strlen(text));
	sub = json_object_get(cur, "subscription");
	state = jstr(sub, "state");
	kb = bot_kb_new();
	if (strcmp(state, "active") == 0 || strcmp(state, "trialing") == 0)
		bot_kb_button(bot_kb_row(kb), _(c->lang, "Cancel at the period's end"),
		              BOT_CB_BILLING, "cancel", 0);
	if ((strcmp(state, "active") == 0 || strcmp(state, "past_due") == 0 ||
	     strcmp(state, "canceled") == 0) &&
	    strcmp(jstr(sub, "provider"), "stripe") != 0 &&
	    provider_configured(plans, jstr(sub, "provider")))
		buy_button(bot_kb_row(kb),
		           strcmp(state, "past_due") == 0 ? _(c->lang, "Pay now")
		                                          : _(c->lang, "Pay for the next period"),
		           jstr(sub, "plan"), jstr(sub, "period"), jstr(sub, "provider"));
	row = bot_kb_row(kb);
	if (json_array_size(json_object_get(plans, "providers")))
		bot_kb_button(row,
		              json_is_object(sub) && strcmp(state, "expired") != 0
		                  ? _(c->lang, "Change plan")
		                  : _(c->lang, "Choose a plan"),
		              BOT_CB_MENU, "subscribe", 0);
	rc = bot_show(c, text, kb);
out:
	json_decref(plans);
	json_decref(cur);
	json_decref(pays);
	return rc;
}

int bot_cmd_billing(struct bot_ctx *c)
{
	return billing_screen(c, NULL);
}

static int ask_cancel(struct bot_ctx *c)
{
	json_t *cur = NULL, *plans = NULL, *kb, *row;
	const json_t *sub;
	char text[1024], end[32];
	int rc = billing_current_json(c->b->a, c->u.id, &cur, c->e);

	if (!rc)
		rc = load_plans(c, &plans);
	if (rc)
		goto out;
	sub = json_object_get(cur, "subscription");
	if (strcmp(jstr(sub, "state"), "active") != 0 &&
	    strcmp(jstr(sub, "state"), "trialing") != 0) {
		rc = billing_screen(c, _(c->lang, "There is nothing to cancel now."));
		goto out;
	}
	bot_date(c->u.time_zone, jint(sub, "current_period_end"), end, sizeof(end));
	bot_fmt(text, sizeof(text),
	        _(c->lang, "Cancel %s at the end of the period? It stays on until %s; after that "
	                   "your account moves to Free and nothing more is charged."),
	        plan_title(c->lang, plans, jstr(sub, "plan")), end);
	kb = bot_kb_new();
	row = bot_kb_row(kb);
	bot_kb_button(row, _(c->lang, "Yes, cancel"), BOT_CB_BILLING, "cancel_yes", 0);
	bot_kb_button(row, _(c->lang, "No, keep it"), BOT_CB_BILLING, "cancel_no", 0);
	rc = bot_show(c, text, kb);
out:
	json_decref(cur);
	json_decref(plans);
	return rc;
}

static int do_cancel(struct bot_ctx *c)
{
	struct err ce = {0};
	int rc = billing_cancel(c->b->a, c->u.id, &ce);

	if (rc == -ERR_NOT_FOUND)
		return billing_screen(c, _(c->lang, "You have no subscription to cancel."));
	if (rc == -ERR_CONFLICT)
		return billing_screen(c, _(c->lang, "This subscription cannot be cancelled now: no "
		                                    "paid period is left to run to its end."));
	if (rc)
		return err_set(c->e, -rc, "cancel: %s", ce.msg);
	log_info("msg=\"subscription cancel requested in the bot\" user=%lld", (long long)c->u.id);
	return billing_screen(c, _(c->lang, "Done: your subscription will not renew."));
}

int bot_on_billing_cb(struct bot_ctx *c, const struct bot_cb *cb)
{
	if (cb->action == BOT_CB_BUY)
		return on_buy(c, cb->arg);
	if (strcmp(cb->arg, "cancel") == 0)
		return ask_cancel(c);
	if (strcmp(cb->arg, "cancel_yes") == 0)
		return do_cancel(c);
	return billing_screen(c, NULL);
}

/* ---- Telegram Stars ------------------------------------------------------- */

/* Why a pre-checkout query is refused, in lang; checked false: the store
 * could not say. */
static const char *refusal(const char *lang, bool checked, enum stars_verdict v)
{
	if (!checked)
		return _(lang, "Payments cannot be checked right now. Please try again in a "
		               "minute.");
	switch (v) {
	case STARS_NO_ORDER:
		return _(lang, "I cannot find this order. Please start again with /subscribe.");
	case STARS_NOT_YOURS:
		return _(lang,
		         "This invoice was made for someone else. Send /subscribe to get your "
		         "own.");
	case STARS_WRONG_PRICE:
		return _(lang, "This invoice does not match its order. Send /subscribe for a new "
		               "one.");
	case STARS_PAID:
		return _(lang, "This order is paid already. Send /billing to see your plan.");
	case STARS_EXPIRED:
		return _(lang, "This invoice has expired. Send /subscribe for a new one.");
	case STARS_OK:
		break;
	}
	return "";
}

int bot_on_pre_checkout(struct bot *b, const json_t *q, struct err *e)
{
	const json_t *from = json_object_get(q, "from");
	const char *id = json_string_value(json_object_get(q, "id"));
	const char *payload = json_string_value(json_object_get(q, "invoice_payload"));
	const char *currency = json_string_value(json_object_get(q, "currency"));
	int64_t payer = (int64_t)json_integer_value(json_object_get(from, "id"));
	int64_t total = (int64_t)json_integer_value(json_object_get(q, "total_amount"));
	const char *lang = i18n_match(json_string_value(json_object_get(from, "language_code")));
	enum stars_verdict v = STARS_NO_ORDER;
	struct tg_error te = {0};
	struct err se = {0};
	struct user u;
	bool checked, ok;
	int rc;

	if (!id || payer <= 0)
		return 0; /* nothing to answer */
	if (users_get_by_telegram(b->a->store, payer, &u, &se) == 0 && i18n_supported(u.language))
		lang = i18n_match(u.language);
	checked =
	    stars_pre_checkout(b->a, payer, payload, currency, total, clock_app_ms(), &v, &se) == 0;
	if (!checked) /* answer anyway: a query left unanswered fails after 10 s */
		log_warn("msg=\"pre-checkout not checked\" err=\"%s\"", se.msg);
	ok = checked && v == STARS_OK;
	rc =
	    tg_answer_pre_checkout_query(b->tg, id, ok, ok ? NULL : refusal(lang, checked, v), &te);
	log_info("msg=\"pre-checkout answered\" user=%lld payload=\"%.40s\" ok=%d verdict=%d",
	         (long long)payer, payload ? payload : "", ok, (int)v);
	if (rc == -ERR_UNAVAILABLE || rc == -ERR_BUSY || rc == -ERR_TIMEOUT)
		return err_set(e, -rc, "answerPreCheckoutQuery: %s", te.err.msg);
	if (rc)
		log_warn("msg=\"pre-checkout answer refused\" fail=%s err=\"%s\"",
		         tg_fail_name(te.fail), te.err.msg);
	return 0;
}

static void charge_of(const struct bot_ctx *c, const json_t *p, struct stars_charge *ch)
{
	ch->payer_tg = c->user_tg;
	ch->payload = json_string_value(json_object_get(p, "invoice_payload"));
	ch->currency = json_string_value(json_object_get(p, "currency"));
	ch->charge_id = json_string_value(json_object_get(p, "telegram_payment_charge_id"));
	ch->total = (int64_t)json_integer_value(json_object_get(p, "total_amount"));
}

int bot_on_payment_message(struct bot_ctx *c, const json_t *msg)
{
	const json_t *paid = json_object_get(msg, "successful_payment");
	const json_t *back = json_object_get(msg, "refunded_payment");
	struct stars_charge ch = {0};
	struct billing_effect ef;
	enum stars_outcome out;
	int rc;

	charge_of(c, json_is_object(paid) ? paid : back, &ch);
	if (!ch.currency || strcmp(ch.currency, "XTR") != 0) {
		/* Herald sends invoices in Stars only */
		log_warn("msg=\"payment in another currency ignored\" currency=%s",
		         ch.currency ? ch.currency : "?");
		return 0;
	}
	if (!json_is_object(paid)) {
		rc = stars_refunded(c->b->a, &ch, clock_app_ms(), &ef, c->e);
		return rc == -ERR_INVALID ? 0 : rc;
	}
	rc = stars_paid(c->b->a, &ch, clock_app_ms(), &out, &ef, c->e);
	if (rc == -ERR_INVALID)
		return 0;
	if (rc || out != STARS_RETURNED)
		return rc; /* applied: the "activated" notice tells the user */
	return bot_say(c,
	               _(c->lang, "I could not use this payment: its order was paid already or "
	                          "has changed. The Stars were returned to you. Send /billing to "
	                          "see your plan, or /subscribe to buy again."),
	               NULL);
}

/* ---- notices -------------------------------------------------------------- */

static int notice_mark(struct app *a, int64_t id, bool sent, const char *error, struct err *e)
{
	struct store_val arg[] = {SV_INT(id), sent ? SV_INT(clock_app_ms()) : SV_NULL,
	                          SV_TEXT(error ? error : "")};

	return store_exec(a->store,
	                  "UPDATE billing_notices SET sent_at = coalesce($2, sent_at), error = $3 "
	                  "WHERE id = $1",
	                  arg, ARRAY_SIZE(arg), NULL, e);
}

/* The buttons that act on a notice (NULL: none). */
static json_t *notice_keyboard(const char *lang, const char *kind, const char *plan_id,
                               const char *period, const char *provider)
{
	bool known = *plan_id && *period && *provider;
	bool stripe = strcmp(provider, "stripe") == 0;
	json_t *kb = NULL;

	if (known && (strcmp(kind, "reminder") == 0 || strcmp(kind, "past_due") == 0)) {
		kb = bot_kb_new();
		if (stripe)
			buy_button(bot_kb_row(kb), _(lang, "Pay another way"), plan_id, period,
			           NULL);
		else
			buy_button(bot_kb_row(kb), _(lang, "Pay now"), plan_id, period, provider);
	} else if (known && strcmp(kind, "payment_failed") == 0) {
		json_t *row;

		kb = bot_kb_new();
		row = bot_kb_row(kb);
		buy_button(row, _(lang, "Try again"), plan_id, period, provider);
		buy_button(row, _(lang, "Another way to pay"), plan_id, period, NULL);
	} else if (strcmp(kind, "expired") == 0) {
		kb = bot_kb_new();
		bot_kb_button(bot_kb_row(kb), _(lang, "Choose a plan"), BOT_CB_MENU, "subscribe",
		              0);
	}
	return kb;
}

int bot_billing_notice(struct app *a, int64_t notice_id, struct err *e)
{
	struct store_res *r = NULL, *pr = NULL;
	struct store_val arg[] = {SV_INT(notice_id)};
	struct bot_notice n = {0};
	struct billing_policy pol;
	struct tg_send_opts o = {0};
	struct tg_error te = {0};
	const char *lang, *zone, *kind, *plan_id, *period, *provider;
	enum billing_provider prov;
	char text[TEXT_MAX];
	int64_t chat;
	json_t *kb = NULL;
	int rc;

	i18n_init();
	rc = store_exec(
	    a->store,
	    "SELECT n.kind, coalesce(n.sent_at, 0), u.telegram_id, u.language, u.time_zone, "
	    "coalesce(u.bot_blocked_at, 0), coalesce(o.plan_id, s.plan_id, ''), "
	    "coalesce(o.period, s.period, ''), coalesce(o.provider, s.provider, p.provider, ''), "
	    "coalesce(s.plan_id, o.plan_id, ''), coalesce(s.period, o.period, ''), "
	    "coalesce(s.provider, o.provider, p.provider, ''), coalesce(s.current_period_end, 0), "
	    "coalesce(s.grace_until, 0), coalesce(s.state, ''), coalesce(p.amount, 0), "
	    "coalesce(p.currency, ''), coalesce(p.reason, ''), coalesce(pl.name, '') "
	    "FROM billing_notices n JOIN users u ON u.id = n.user_id "
	    "LEFT JOIN subscriptions s ON s.id = n.subscription_id "
	    "LEFT JOIN orders o ON o.id = n.order_id "
	    "LEFT JOIN payments p ON p.id = n.payment_id "
	    "LEFT JOIN plans pl ON pl.id = coalesce(s.plan_id, o.plan_id) WHERE n.id = $1",
	    arg, 1, &r, e);
	if (rc)
		return rc;
	if (store_res_rows(r) == 0) {
		store_res_free(r);
		log_warn("msg=\"no such billing notice\" notice=%lld", (long long)notice_id);
		return 0;
	}
	if (store_res_int(r, 0, 1)) {
		store_res_free(r);
		return 0; /* sent before (a repeated job) */
	}
	kind = store_res_text(r, 0, 0);
	chat = store_res_int(r, 0, 2);
	lang = i18n_supported(store_res_text(r, 0, 3)) ? i18n_match(store_res_text(r, 0, 3)) : "en";
	zone = store_res_text(r, 0, 4);
	if (store_res_int(r, 0, 5)) {
		store_res_free(r);
		return notice_mark(a, notice_id, true, "the user blocked the bot", e);
	}
	/* a failed payment is about the order tried; the rest about the subscription */
	if (strcmp(kind, "payment_failed") == 0) {
		plan_id = store_res_text(r, 0, 6);
		period = store_res_text(r, 0, 7);
		provider = store_res_text(r, 0, 8);
	} else {
		plan_id = store_res_text(r, 0, 9);
		period = store_res_text(r, 0, 10);
		provider = store_res_text(r, 0, 11);
	}
	billing_policy_of(a, &pol);
	n.kind = kind;
	n.plan = store_res_text(r, 0, 18);
	n.period = period;
	n.provider = provider;
	n.period_end = store_res_int(r, 0, 12);
	n.grace_until = store_res_int(r, 0, 13);
	n.has_plan = *store_res_text(r, 0, 14) && strcmp(store_res_text(r, 0, 14), "expired") != 0;
	n.amount = store_res_int(r, 0, 15);
	n.currency = store_res_text(r, 0, 16);
	n.reason = store_res_text(r, 0, 17);
	n.remind_days = pol.remind_ms / (24LL * 3600 * 1000);
	if (strcmp(kind, "reminder") == 0 && !billing_provider_parse(provider, &prov)) {
		struct store_val q[] = {SV_TEXT(plan_id), SV_TEXT(period),
		                        SV_TEXT(billing_provider_currency(prov))};

		rc = store_exec(a->store,
		                "SELECT amount FROM plan_prices WHERE plan_id = $1 AND period = $2 "
		                "AND currency = $3",
		                q, ARRAY_SIZE(q), &pr, e);
		if (rc)
			goto out;
		if (store_res_rows(pr))
			n.next_amount = store_res_int(pr, 0, 0);
	}
	if (!bot_notice_text(lang, zone, &n, text, sizeof(text))) {
		log_warn("msg=\"unknown billing notice kind\" notice=%lld kind=%s",
		         (long long)notice_id, kind);
		rc = notice_mark(a, notice_id, false, "unknown kind", e);
		goto out;
	}
	kb = notice_keyboard(lang, kind, plan_id, period, provider);
	o.reply_markup = kb;
	rc = tg_send_message(a->tg, chat, text, &o, NULL, &te);
	if (rc == 0) {
		rc = notice_mark(a, notice_id, true, NULL, e);
		goto out;
	}
	if (te.fail == TG_FAIL_BLOCKED) {
		rc = bot_sent(a, chat, rc, &te, e);
		if (!rc)
			rc = notice_mark(a, notice_id, true, "the user blocked the bot", e);
		goto out;
	}
	{
		struct err me = {0};

		if (notice_mark(a, notice_id, false, te.err.msg, &me))
			log_warn("msg=\"billing notice error not recorded\" err=\"%s\"", me.msg);
	}
	rc = bot_sent(a, chat, rc, &te, e);
out:
	json_decref(kb);
	store_res_free(pr);
	store_res_free(r);
	return rc;
}
