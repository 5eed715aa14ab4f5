/*
 * stripe_page: the hosted checkout page a session's url points to, and a
 * plain page for an invoice's hosted_invoice_url, in the style of the
 * simulator's web chat (page.c): server-rendered HTML, no script.
 *
 * GET /stripe/checkout/{id} shows what is bought, an email and a card
 * number field, Pay and Cancel. Pay posts the form back; the simulator runs
 * the same code as POST /control/stripe/checkout/sessions/{id}/pay, then
 * redirects (303) to success_url with {CHECKOUT_SESSION_ID} replaced, or
 * shows the decline message with the form again (402). Cancel redirects to
 * cancel_url. Everything shown is HTML-escaped.
 */
#include "sim/stripe_impl.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/mem.h"
#include "sim/stripe_form.h"

#define PAGE_MAX (256u << 10)
#define FORM_MAX (64u << 10)

static const char head[] =
    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>Herald - Stripe simulator</title>\n<style>\n"
    "* { box-sizing: border-box; }\n"
    "body { margin: 0; font: 15px/1.4 system-ui, sans-serif; background: #dfe7ee;\n"
    "  color: #1c2733; }\n"
    "header { background: #517da2; color: #fff; padding: 10px 16px; display: flex;\n"
    "  align-items: center; gap: 12px; }\n"
    "header h1 { font-size: 17px; margin: 0; font-weight: 600; }\n"
    "header small { opacity: .8; }\n"
    "main { max-width: 440px; margin: 32px auto; background: #fff; border-radius: 12px;\n"
    "  padding: 20px 24px; box-shadow: 0 1px 2px rgba(0,0,0,.12); }\n"
    "h2 { font-size: 18px; margin: 0 0 4px; }\n"
    ".amount { font-size: 28px; font-weight: 600; margin: 6px 0 14px; }\n"
    ".items { list-style: none; padding: 0; margin: 0 0 6px; font-size: 14px; color: #4a5b6a; }\n"
    "label { display: block; font-size: 13px; color: #4a5b6a; margin: 10px 0 4px; }\n"
    "input { width: 100%; padding: 9px 12px; border: 1px solid #cfd8e0; border-radius: 8px;\n"
    "  font: inherit; }\n"
    ".buttons { display: flex; gap: 8px; margin-top: 16px; }\n"
    "button { flex: 1; border: 0; border-radius: 18px; padding: 9px 16px; font: inherit;\n"
    "  cursor: pointer; }\n"
    "button.primary { background: #517da2; color: #fff; }\n"
    "button.secondary { background: #f0f4f7; color: #2f6ea5; }\n"
    ".err { color: #b3261e; margin-top: 12px; }\n"
    ".hint { font-size: 12px; color: #8a9aa9; margin-top: 18px; }\n"
    "table { width: 100%; border-collapse: collapse; font-size: 14px; }\n"
    "td { padding: 4px 0; } td:last-child { text-align: right; }\n"
    "</style>\n</head>\n<body>\n"
    "<header><h1>Herald - Stripe simulator</h1><small>test mode</small></header>\n<main>\n";
static const char tail[] = "</main>\n</body>\n</html>\n";

static void esc(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		const char *rep = NULL;

		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			break;
		}
		if (rep ? buf_adds(b, rep) : buf_addch(b, *s))
			return; /* the page is cut at PAGE_MAX; still valid to send */
	}
}

static void add(struct buf *b, const char *s)
{
	if (buf_adds(b, s))
		return;
}

static const char *gs(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int send_page(struct http_req *r, int status, struct buf *b)
{
	int rc;

	add(b, tail);
	http_header(r, "Cache-Control", "no-store");
	rc = http_reply(r, status, "text/html; charset=utf-8", b->p, b->len);
	buf_release(b);
	return rc;
}

static int message_page(struct http_req *r, int status, const char *title, const char *text,
                        const char *link)
{
	struct buf b;

	buf_init(&b, PAGE_MAX);
	add(&b, head);
	add(&b, "<h2>");
	esc(&b, title);
	add(&b, "</h2>\n<p>");
	esc(&b, text);
	add(&b, "</p>\n");
	if (link) {
		add(&b, "<p><a href=\"");
		esc(&b, link);
		add(&b, "\">Continue</a></p>\n");
	}
	return send_page(r, status, &b);
}

/* "per month", "every 3 weeks" */
static void every(char *out, size_t outsz, const json_t *rec)
{
	const char *iv = gs(rec, "interval");
	int64_t n = json_integer_value(json_object_get(rec, "interval_count"));

	if (n <= 1)
		snprintf(out, outsz, " per %s", iv ? iv : "period");
	else
		snprintf(out, outsz, " every %lld %ss", (long long)n, iv ? iv : "period");
}

/* The checkout form for s with an optional error and the card typed. */
static void checkout_form(struct buf *b, struct sim_stripe *st, json_t *s, const char *error,
                          const char *card, const char *email)
{
	json_t *items = json_object_get(json_object_get(s, "_sim"), "items"), *it, *rec = NULL;
	const char *cur = gs(s, "currency");
	int64_t total = json_integer_value(json_object_get(s, "amount_total"));
	int64_t trial_end =
	    json_integer_value(json_object_get(json_object_get(s, "_sim"), "trial_end"));
	char money[64], per[48] = "", line[256];
	json_t *cus = stripe_get(st, gs(s, "customer"), "customer");
	size_t i;

	add(b, "<ul class=\"items\">\n");
	json_array_foreach(items, i, it)
	{
		json_t *price = stripe_get(st, gs(it, "price"), "price");
		json_t *prod = stripe_get(st, gs(price, "product"), "product");
		int64_t q = json_integer_value(json_object_get(it, "quantity"));

		rec = json_object_get(price, "recurring");
		add(b, "<li>");
		esc(b, prod ? gs(prod, "name") : "item");
		stripe_money(json_integer_value(json_object_get(price, "unit_amount")) * q, cur,
		             money, sizeof(money));
		snprintf(line, sizeof(line), " &times; %lld &mdash; ", (long long)q);
		add(b, line);
		esc(b, money);
		add(b, "</li>\n");
	}
	add(b, "</ul>\n");
	if (json_is_object(rec))
		every(per, sizeof(per), rec);
	stripe_money(total, cur, money, sizeof(money));
	add(b, "<div class=\"amount\">");
	esc(b, money);
	esc(b, per);
	add(b, "</div>\n");
	if (trial_end) {
		snprintf(line, sizeof(line), "<p>Free trial for %lld days, then %s%s.</p>\n",
		         (long long)((trial_end -
		                      json_integer_value(json_object_get(s, "created")) + 86399) /
		                     86400),
		         money, per);
		add(b, line);
	}
	add(b, "<form method=\"post\" action=\"\">\n<label for=\"email\">Email</label>\n"
	       "<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" value=\"");
	esc(b, email                     ? email
	       : gs(s, "customer_email") ? gs(s, "customer_email")
	       : cus                     ? gs(cus, "email")
	                                 : "");
	add(b, "\">\n<label for=\"card\">Card number</label>\n"
	       "<input id=\"card\" name=\"card\" inputmode=\"numeric\" autocomplete=\"cc-number\" "
	       "value=\"");
	esc(b, card ? card : "4242 4242 4242 4242");
	add(b, "\">\n");
	if (error) {
		add(b, "<p class=\"err\" role=\"alert\">");
		esc(b, error);
		add(b, "</p>\n");
	}
	add(b, "<div class=\"buttons\">\n<button class=\"secondary\" name=\"action\" "
	       "value=\"cancel\" formnovalidate>Cancel</button>\n"
	       "<button class=\"primary\" name=\"action\" value=\"pay\">");
	add(b, json_integer_value(json_object_get(json_object_get(s, "_sim"), "trial_end"))
	           ? "Start trial"
	       : strcmp(gs(s, "mode"), "subscription") == 0 ? "Subscribe"
	                                                    : "Pay");
	add(b, "</button>\n</div>\n</form>\n"
	       "<p class=\"hint\">Test cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is "
	       "declined; 4000 0000 0000 9995 has insufficient funds; 4000 0000 0000 0341 pays "
	       "now and fails on renewal. Any email.</p>\n");
}

/* The session of the path, with mu held; NULL (and mu released) after a
 * 404 page. */
static json_t *session_of(struct http_req *r, struct stripe_cx *cx, char *id, size_t idsz)
{
	struct str v = router_param(&r->match, "id");
	json_t *s;

	snprintf(id, idsz, "%.*s", (int)(v.len < idsz - 1 ? v.len : idsz - 1), v.p);
	s = stripe_get(cx->st, id, "checkout.session");
	if (!s) {
		stripe_cx_release(cx);
		pthread_mutex_unlock(&cx->st->mu);
		message_page(r, 404, "No such Checkout Session",
		             "This link does not lead to a Checkout Session of this simulator.",
		             NULL);
	}
	return s;
}

static void begin(struct http_req *r, struct stripe_cx *cx)
{
	struct sim_stripe *st = stripe_of(r);

	pthread_mutex_lock(&st->mu);
	stripe_cx_init(cx, st);
	cx->host = http_req_header(r, MHD_HTTP_HEADER_HOST);
}

static void finish(struct stripe_cx *cx)
{
	stripe_cx_finish(cx);
	stripe_cx_release(cx);
	pthread_mutex_unlock(&cx->st->mu);
}

/* A closed session's page; mu is released. */
static int closed_page(struct http_req *r, struct stripe_cx *cx, json_t *s)
{
	bool complete = strcmp(gs(s, "status"), "complete") == 0;
	char *link = gs(s, "success_url") && complete ? xstrdup(gs(s, "success_url")) : NULL;
	int rc;

	finish(cx);
	rc = message_page(r, complete ? 200 : 410,
	                  complete ? "This Checkout Session is complete"
	                           : "This Checkout Session "
	                             "has expired",
	                  complete ? "The payment went through; there is nothing more to pay."
	                           : "It can no longer be paid. Start again from the shop.",
	                  link);
	free(link);
	return rc;
}

int stripe_page_get(struct http_req *r)
{
	struct stripe_cx cx;
	struct buf b;
	char id[128];
	json_t *s;

	begin(r, &cx);
	if (!(s = session_of(r, &cx, id, sizeof(id))))
		return 0;
	if (strcmp(gs(s, "status"), "open") == 0 &&
	    json_integer_value(json_object_get(s, "expires_at")) <= stripe_now(cx.st))
		stripe_checkout_expire(&cx, s);
	if (strcmp(gs(s, "status"), "open"))
		return closed_page(r, &cx, s);
	buf_init(&b, PAGE_MAX);
	add(&b, head);
	add(&b, "<h2>Pay Herald Simulator</h2>\n");
	checkout_form(&b, cx.st, s, NULL, NULL, NULL);
	finish(&cx);
	return send_page(r, 200, &b);
}

/* url with every {CHECKOUT_SESSION_ID} replaced by id. */
static char *substitute(const char *url, const char *id)
{
	static const char ph[] = "{CHECKOUT_SESSION_ID}";
	struct buf b;
	const char *p;

	buf_init(&b, STRIPE_MAX_URL * 4);
	while ((p = strstr(url, ph)) != NULL) {
		if (buf_add(&b, url, (size_t)(p - url)) || buf_adds(&b, id))
			break;
		url = p + sizeof(ph) - 1;
	}
	if (buf_adds(&b, url)) {
		buf_release(&b);
		return NULL;
	}
	return buf_take(&b, NULL);
}

static int redirect(struct http_req *r, const char *url)
{
	http_header(r, "Location", url);
	return http_reply(r, 303, "text/plain; charset=utf-8", "", 0);
}

int stripe_page_post(struct http_req *r)
{
	struct stripe_form f;
	struct stripe_cx cx;
	struct err e = {0};
	json_t *form = NULL, *s;
	const char *action, *card, *email;
	char id[128], *to = NULL;
	struct buf b;
	int rc;

	if (r->body.len > FORM_MAX)
		return message_page(r, 413, "Too much", "The form is too large.", NULL);
	stripe_form_init(&f);
	rc = stripe_form_parse(&f, r->body.p, r->body.len, &e);
	if (!rc)
		form = stripe_form_tree(&f);
	stripe_form_release(&f);
	if (rc)
		return message_page(r, 400, "Bad form", e.msg, NULL);
	action = json_string_value(json_object_get(form, "action"));
	card = json_string_value(json_object_get(form, "card"));
	email = json_string_value(json_object_get(form, "email"));
	if (!action || (strcmp(action, "pay") && strcmp(action, "cancel"))) {
		json_decref(form);
		return message_page(r, 400, "Bad form", "Press Pay or Cancel.", NULL);
	}
	begin(r, &cx);
	if (!(s = session_of(r, &cx, id, sizeof(id)))) {
		json_decref(form);
		return 0;
	}
	if (strcmp(gs(s, "status"), "open") == 0 &&
	    json_integer_value(json_object_get(s, "expires_at")) <= stripe_now(cx.st))
		stripe_checkout_expire(&cx, s);
	if (strcmp(gs(s, "status"), "open")) {
		json_decref(form);
		return closed_page(r, &cx, s);
	}
	if (strcmp(action, "cancel") == 0) {
		to = gs(s, "cancel_url") ? substitute(gs(s, "cancel_url"), id) : NULL;
		finish(&cx);
		json_decref(form);
		rc = to ? redirect(r, to)
		        : message_page(r, 200, "Payment canceled", "Nothing was charged.", NULL);
		free(to);
		return rc;
	}
	stripe_checkout_pay(&cx, s, card ? card : "", email && *email ? email : NULL);
	if (cx.status == 200) {
		to = gs(s, "success_url") ? substitute(gs(s, "success_url"), id) : NULL;
		finish(&cx);
		json_decref(form);
		rc = to ? redirect(r, to)
		        : message_page(r, 200, "Payment complete",
		                       "Thank you: the payment went "
		                       "through.",
		                       NULL);
		free(to);
		return rc;
	}
	/* declined (402) or refused (400): the form again with the message */
	buf_init(&b, PAGE_MAX);
	add(&b, head);
	add(&b, "<h2>Pay Herald Simulator</h2>\n");
	checkout_form(
	    &b, cx.st, s,
	    json_string_value(json_object_get(json_object_get(cx.out, "error"), "message")), card,
	    email);
	rc = cx.status == 402 ? 402 : 400;
	finish(&cx);
	json_decref(form);
	return send_page(r, rc, &b);
}

int stripe_page_invoice(struct http_req *r)
{
	struct sim_stripe *st = stripe_of(r);
	struct str v = router_param(&r->match, "id");
	json_t *inv, *lines, *ln;
	char id[128], money[64], line[160];
	struct buf b;
	size_t i;

	snprintf(id, sizeof(id), "%.*s", (int)(v.len < 127 ? v.len : 127), v.p);
	pthread_mutex_lock(&st->mu);
	inv = stripe_get(st, id, "invoice");
	if (!inv) {
		pthread_mutex_unlock(&st->mu);
		return message_page(r, 404, "No such invoice",
		                    "This link does not lead to an invoice of this simulator.",
		                    NULL);
	}
	buf_init(&b, PAGE_MAX);
	add(&b, head);
	add(&b, "<h2>Invoice ");
	esc(&b, gs(inv, "number"));
	add(&b, "</h2>\n<p>Status: ");
	esc(&b, gs(inv, "status"));
	add(&b, "</p>\n<table>\n");
	lines = json_object_get(json_object_get(inv, "lines"), "data");
	json_array_foreach(lines, i, ln)
	{
		stripe_money(json_integer_value(json_object_get(ln, "amount")), gs(inv, "currency"),
		             money, sizeof(money));
		add(&b, "<tr><td>");
		esc(&b, gs(ln, "description"));
		add(&b, "</td><td>");
		esc(&b, money);
		add(&b, "</td></tr>\n");
	}
	stripe_money(json_integer_value(json_object_get(inv, "amount_due")), gs(inv, "currency"),
	             money, sizeof(money));
	snprintf(line, sizeof(line), "<tr><td><b>Amount due</b></td><td><b>%s</b></td></tr>\n",
	         money);
	add(&b, line);
	stripe_money(json_integer_value(json_object_get(inv, "amount_paid")), gs(inv, "currency"),
	             money, sizeof(money));
	snprintf(line, sizeof(line), "<tr><td>Amount paid</td><td>%s</td></tr>\n</table>\n", money);
	add(&b, line);
	pthread_mutex_unlock(&st->mu);
	return send_page(r, 200, &b);
}
