/*
 * stars: Telegram Stars (stars.h). The invoice goes out through a->tg; what
 * Telegram reports back (pre-checkout queries, successful and refunded
 * payments) arrives through the bot, which calls the functions here. Every
 * payment and refund is recorded in one transaction with its provider_events
 * row (the charge id, and "refund:<charge id>"), so a repeated update
 * changes nothing.
 */
#include "billing/stars.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "lib/clock.h"
#include "lib/i18n.h"
#include "lib/log.h"
#include "lib/str.h"
#include "store/store.h"
#include "tg/tg.h"
#include "users/users.h"

#define PAYLOAD_PREFIX "order:"
#define TITLE_MAX      32  /* characters of an invoice title (UTF-16 units) */
#define DESC_MAX       255 /* characters of its description */

int stars_payload(int64_t order_id, char *out, size_t n)
{
	int k = snprintf(out, n, PAYLOAD_PREFIX "%lld", (long long)order_id);

	return k < 0 || (size_t)k >= n ? -ERR_TOO_BIG : 0;
}

int stars_payload_parse(const char *s, size_t len, int64_t *order_id)
{
	size_t plen = strlen(PAYLOAD_PREFIX);
	struct str digits;

	if (!s || len <= plen || len >= STARS_PAYLOAD_MAX || memcmp(s, PAYLOAD_PREFIX, plen) != 0)
		return -ERR_INVALID;
	digits = (struct str){s + plen, len - plen};
	/* one spelling only: no sign, no leading zero */
	if (digits.p[0] < '1' || digits.p[0] > '9')
		return -ERR_INVALID;
	for (size_t i = 0; i < digits.len; i++)
		if (digits.p[i] < '0' || digits.p[i] > '9')
			return -ERR_INVALID;
	return str_to_i64(digits, 1, INT64_MAX, order_id) ? -ERR_INVALID : 0;
}

enum stars_verdict stars_check(const struct billing_order *o, int64_t payer, const char *currency,
                               int64_t total, int64_t now)
{
	if (!o)
		return STARS_NO_ORDER;
	if (o->provider != BP_STARS || payer <= 0 || o->user_id != payer)
		return STARS_NOT_YOURS;
	if (!currency || strcmp(currency, o->currency) != 0 || total != o->amount)
		return STARS_WRONG_PRICE;
	if (strcmp(o->state, "paid") == 0)
		return STARS_PAID;
	if (strcmp(o->state, "pending") != 0 || now >= o->expires_at)
		return STARS_EXPIRED;
	return STARS_OK;
}

/* The order a payload names: 1 and *o, 0 when there is none. */
static int order_of(struct store_conn *c, const char *payload, struct billing_order *o,
                    struct err *e)
{
	int64_t id;
	int rc;

	if (!payload || stars_payload_parse(payload, strlen(payload), &id))
		return 0;
	rc = billing_order_get(c, id, o, e);
	if (rc == -ERR_NOT_FOUND)
		return 0;
	return rc ? rc : 1;
}

int stars_pre_checkout(struct app *a, int64_t payer_tg, const char *payload, const char *currency,
                       int64_t total, int64_t now, enum stars_verdict *v, struct err *e)
{
	struct store_conn *c;
	struct billing_order o;
	struct store_res *r = NULL;
	struct store_val arg[] = {SV_INT(payer_tg)};
	int64_t payer = 0;
	int rc = store_conn_get(a->store, &c, e), found;

	if (rc)
		return rc;
	rc = store_query(c, "SELECT id FROM users WHERE telegram_id = $1", arg, 1, &r, e);
	if (!rc && store_res_rows(r) == 1)
		payer = store_res_int(r, 0, 0);
	store_res_free(r);
	found = rc ? rc : order_of(c, payload, &o, e);
	store_conn_put(a->store, c);
	if (found < 0)
		return found;
	*v = stars_check(found ? &o : NULL, payer, currency, total, now);
	return 0;
}

/* ---- recording what Telegram reports -------------------------------------- */

/* Whether Telegram's refusal says the charge went back already. */
static bool already_refunded(const struct tg_error *te)
{
	return strstr(te->description, "CHARGE_ALREADY_REFUNDED") != NULL;
}

static bool transient(int rc)
{
	return rc == -ERR_UNAVAILABLE || rc == -ERR_BUSY || rc == -ERR_TIMEOUT;
}

/* Record an event that changed nothing (effect says why), in a transaction
 * of its own. */
static int record_only(struct app *a, const char *event_id, const char *type, int64_t user_id,
                       const char *effect, int64_t now, struct err *e)
{
	struct store_conn *c;
	int rc = store_conn_get(a->store, &c, e), fresh = 0;

	if (rc)
		return rc;
	rc = store_begin(c, e);
	if (!rc)
		rc = fresh = billing_event_claim(c, BP_STARS, event_id, type, now, NULL, e);
	if (fresh == 1)
		rc = billing_event_done(c, BP_STARS, event_id, user_id, 0, effect, NULL, e);
	if (rc >= 0)
		rc = store_commit(c, e);
	if (rc < 0)
		store_rollback(c);
	store_conn_put(a->store, c);
	return rc < 0 ? rc : 0;
}

/*
 * Apply a successful payment in one transaction: 1 applied, 0 a repeat, 2
 * when it applies to nothing (why says so; nothing was written), or an error.
 */
static int apply_paid(struct app *a, const struct stars_charge *ch, int64_t now,
                      struct billing_effect *ef, int64_t *user_id, char *why, size_t whysz,
                      struct err *e)
{
	struct store_conn *c;
	struct billing_order o;
	struct err pe = {0};
	int rc = store_conn_get(a->store, &c, e), found;

	if (rc)
		return rc;
	rc = store_begin(c, e);
	if (rc)
		goto out;
	rc = billing_event_claim(c, BP_STARS, ch->charge_id, "successful_payment", now, NULL, e);
	if (rc == 0) {
		ef->repeat = true;
		snprintf(ef->text, sizeof(ef->text), "payment %s recorded before", ch->charge_id);
		rc = store_commit(c, e);
		goto out;
	}
	if (rc < 0)
		goto out;
	found = order_of(c, ch->payload, &o, e);
	if (found < 0) {
		rc = found;
		goto out;
	}
	if (!found || o.provider != BP_STARS) {
		snprintf(why, whysz, "no Stars order for payload \"%.40s\"",
		         ch->payload ? ch->payload : "");
		rc = 2;
		goto out;
	}
	*user_id = o.user_id;
	{
		struct billing_paid p = {.provider = BP_STARS,
		                         .payment_id = ch->charge_id,
		                         .amount = ch->total,
		                         .currency = ch->currency ? ch->currency : "",
		                         .order_id = o.id};

		rc = billing_paid(c, &p, now, ef, &pe);
	}
	if (rc == -ERR_CONFLICT) {
		snprintf(why, whysz, "%.*s", (int)(whysz > 0 ? whysz - 1 : 0), pe.msg);
		rc = 2;
		goto out;
	}
	if (rc) {
		err_set(e, -rc, "%s", pe.msg);
		goto out;
	}
	rc = billing_event_done(c, BP_STARS, ch->charge_id, ef->user_id, ef->subscription_id,
	                        ef->text, NULL, e);
	if (!rc)
		rc = store_commit(c, e);
	if (!rc)
		rc = 1;
out:
	if (rc != 0 && rc != 1)
		store_rollback(c);
	store_conn_put(a->store, c);
	return rc;
}

int stars_paid(struct app *a, const struct stars_charge *ch, int64_t now, enum stars_outcome *out,
               struct billing_effect *ef, struct err *e)
{
	struct tg_error te = {0};
	char why[200] = "", effect[160];
	int64_t user_id = 0;
	int rc;

	memset(ef, 0, sizeof(*ef));
	*out = STARS_REPEAT;
	if (!ch->charge_id || !*ch->charge_id || strlen(ch->charge_id) > 128)
		return err_set(e, ERR_INVALID, "a successful payment without a charge id");
	rc = apply_paid(a, ch, now, ef, &user_id, why, sizeof(why), e);
	if (rc == 0 || rc == 1) {
		*out = rc ? STARS_APPLIED : STARS_REPEAT;
		if (rc)
			log_info("msg=\"stars payment recorded\" charge=%s effect=\"%s\"",
			         ch->charge_id, ef->text);
		return 0;
	}
	if (rc < 0)
		return rc;
	/* Money arrived for nothing we can give: send it back first (a repeat of
	 * this update finds it refunded), then record why. */
	log_warn("msg=\"stars payment cannot be applied; refunding it\" charge=%s why=\"%s\"",
	         ch->charge_id, why);
	rc = tg_refund_star_payment(a->tg, ch->payer_tg, ch->charge_id, &te);
	if (rc && transient(rc))
		return err_set(e, -rc, "refund of an unapplied Stars payment: %s", te.err.msg);
	if (rc && !already_refunded(&te)) {
		log_error("msg=\"stars payment neither applied nor refunded\" charge=%s err=\"%s\"",
		          ch->charge_id, te.err.msg);
		snprintf(effect, sizeof(effect), "not applied (%.60s), refund refused: %.60s", why,
		         te.description);
	} else {
		snprintf(effect, sizeof(effect), "not applied, refunded: %.130s", why);
	}
	rc = record_only(a, ch->charge_id, "successful_payment", user_id, effect, now, e);
	if (rc)
		return rc;
	ef->user_id = user_id;
	snprintf(ef->text, sizeof(ef->text), "%s", effect);
	*out = STARS_RETURNED;
	return 0;
}

/* billing_refunded under the event "refund:<charge>", in one transaction.
 * gate: a repeated event changes nothing (the refunded_payment message);
 * else billing_refunded runs anyway (its own keys make it once) and the
 * event is recorded when new (the operator's refund). */
static int record_refund(struct app *a, const char *charge, int64_t amount, const char *reason,
                         bool gate, int64_t now, struct billing_effect *ef, struct err *e)
{
	struct store_conn *c;
	char event[160];
	struct err re = {0};
	int rc = store_conn_get(a->store, &c, e), fresh = 0;

	memset(ef, 0, sizeof(*ef));
	if (rc)
		return rc;
	snprintf(event, sizeof(event), "refund:%s", charge);
	rc = store_begin(c, e);
	if (!rc)
		rc = fresh =
		    billing_event_claim(c, BP_STARS, event, "refunded_payment", now, NULL, e);
	if (rc < 0)
		goto out;
	rc = 0;
	if (!fresh && gate) {
		ef->repeat = true;
		snprintf(ef->text, sizeof(ef->text), "refund %s recorded before", charge);
	} else {
		rc = billing_refunded(c, BP_STARS, charge, charge, amount, reason, now, ef, &re);
		if (rc == -ERR_NOT_FOUND) {
			/* a charge stars_paid sent back: not in the ledger */
			snprintf(ef->text, sizeof(ef->text), "ignored: %.140s", re.msg);
			rc = 0;
		} else if (rc) {
			err_set(e, -rc, "%s", re.msg);
		}
	}
	if (!rc && fresh)
		rc = billing_event_done(c, BP_STARS, event, ef->user_id, ef->subscription_id,
		                        ef->text, NULL, e);
	if (!rc)
		rc = store_commit(c, e);
out:
	if (rc)
		store_rollback(c);
	store_conn_put(a->store, c);
	return rc;
}

int stars_refunded(struct app *a, const struct stars_charge *ch, int64_t now,
                   struct billing_effect *ef, struct err *e)
{
	int rc;

	if (!ch->charge_id || !*ch->charge_id || strlen(ch->charge_id) > 128)
		return err_set(e, ERR_INVALID, "a refunded payment without a charge id");
	if (ch->currency && strcmp(ch->currency, "XTR") != 0)
		return err_set(e, ERR_INVALID, "a refunded payment in %s, not XTR", ch->currency);
	rc = record_refund(a, ch->charge_id, ch->total, "", true, now, ef, e);
	if (!rc && !ef->repeat)
		log_info("msg=\"stars refund recorded\" charge=%s effect=\"%s\"", ch->charge_id,
		         ef->text);
	return rc;
}

/* ---- the provider's entries in checkout.c's tables ----------------------- */

/* Cut s (UTF-8, perhaps cut short by snprintf) to at most max UTF-16 units,
 * at a character boundary; a sequence left incomplete is dropped. */
static void cut_units(char *s, size_t max)
{
	size_t units = 0, i = 0;

	while (s[i]) {
		unsigned char b = (unsigned char)s[i];
		size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4, k;

		for (k = 1; k < len; k++)
			if (((unsigned char)s[i + k] & 0xC0) != 0x80)
				break;
		if (k < len || units + (len == 4 ? 2 : 1) > max)
			break;
		units += len == 4 ? 2 : 1;
		i += len;
	}
	s[i] = '\0';
}

int stars_checkout(struct app *a, const struct user *u, struct billing_order *o, const char *lang,
                   const char *return_url, struct billing_checkout *out, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val arg[] = {SV_TEXT(o->plan)};
	struct tg_error te = {0};
	struct tg_invoice inv = {0};
	char payload[STARS_PAYLOAD_MAX], title[256], desc[1024], name[128];
	bool year = strcmp(o->period, "year") == 0;
	int64_t channels = 0, posts = 0;
	json_t *msg = NULL;
	int rc;

	(void)return_url; /* the invoice is in the chat: there is nothing to return to */
	if (!a->tg)
		return err_set(e, ERR_UNAVAILABLE, "stars is not configured (no bot)");
	rc = store_exec(a->store,
	                "SELECT name, max_channels, max_posts_month FROM plans WHERE id = $1", arg,
	                1, &r, e);
	if (rc)
		return rc;
	snprintf(name, sizeof(name), "%s", store_res_rows(r) ? store_res_text(r, 0, 0) : o->plan);
	if (store_res_rows(r)) {
		channels = store_res_int(r, 0, 1);
		posts = store_res_int(r, 0, 2);
	}
	store_res_free(r);
	if (stars_payload(o->id, payload, sizeof(payload)))
		return err_set(e, ERR_INTERNAL, "the Stars payload does not fit");
	/* plan names are translated where the bot lists the plans (N_ there) */
	snprintf(title, sizeof(title),
	         year ? _(lang, "Herald %s, 1 year") : _(lang, "Herald %s, 1 month"),
	         i18n_get(lang, name));
	cut_units(title, TITLE_MAX);
	snprintf(desc, sizeof(desc),
	         year ? _(lang, "Plan %s for one year. Channels: %d, posts a month: %d. Paid "
	                        "once: it does not renew by itself, I will remind you before "
	                        "it ends.")
	              : _(lang, "Plan %s for one month. Channels: %d, posts a month: %d. Paid "
	                        "once: it does not renew by itself, I will remind you before "
	                        "it ends."),
	         i18n_get(lang, name), (int)channels, (int)posts);
	cut_units(desc, DESC_MAX);
	inv.title = title;
	inv.description = desc;
	inv.payload = payload;
	inv.currency = "XTR";
	inv.label = title;
	inv.amount = o->amount;
	inv.provider_token = "";
	rc = tg_send_invoice(a->tg, u->telegram_id, &inv, &msg, &te);
	if (rc) {
		json_decref(msg);
		return err_set(e, transient(rc) ? ERR_BUSY : ERR_UNAVAILABLE,
		               "the Stars invoice could not be sent to the Telegram chat: %s",
		               te.err.msg);
	}
	out->invoice_msg = (int64_t)json_integer_value(json_object_get(msg, "message_id"));
	json_decref(msg);
	snprintf(o->provider_ref, sizeof(o->provider_ref), "%s", payload);
	return 0;
}

int stars_refund(struct app *a, const struct billing_refund *p, int64_t amount, const char *reason,
                 struct billing_effect *ef, struct err *e)
{
	struct tg_error te = {0};
	int rc;

	memset(ef, 0, sizeof(*ef));
	if (p->refunded_before > 0 || amount != p->amount_paid)
		return err_set(e, ERR_UNAVAILABLE,
		               "Telegram Stars payments are refunded in full only: payment %lld "
		               "is %lld stars, %lld asked",
		               (long long)p->payment_id, (long long)p->amount_paid,
		               (long long)amount);
	if (!a->tg)
		return err_set(e, ERR_UNAVAILABLE, "stars is not configured (no bot)");
	rc = tg_refund_star_payment(a->tg, p->user_telegram_id, p->provider_payment_id, &te);
	if (rc && transient(rc))
		return err_set(e, ERR_BUSY, "telegram did not take the refund, try again: %s",
		               te.err.msg);
	if (rc && !already_refunded(&te))
		return err_set(e, ERR_UNAVAILABLE, "telegram refused the refund: %s", te.err.msg);
	/* the money went back: record it now (the refunded_payment message that
	 * follows then finds it recorded) */
	return record_refund(a, p->provider_payment_id, amount, reason, false, clock_app_ms(), ef,
	                     e);
}
