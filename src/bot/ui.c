/*
 * bot/ui: what every handler needs to talk to a person: who they are (their
 * user row, language and conversation), sending a text with an inline
 * keyboard, and a user who blocked the bot recorded as such on the way.
 * Texts are plain (no parse mode), so titles and names need no escaping.
 */
#include "bot/bot_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "lib/i18n.h"
#include "lib/log.h"
#include "lib/utf8.h"
#include "store/store.h"
#include "tg/tg.h"

int bot_ctx_init(struct bot_ctx *c, struct bot *b, const json_t *from, int64_t chat, struct err *e)
{
	const json_t *id = json_object_get(from, "id");
	int rc;

	memset(c, 0, sizeof(*c));
	c->b = b;
	c->from = from;
	c->chat = chat;
	c->e = e;
	if (!json_is_integer(id) || json_integer_value(id) <= 0)
		return err_set(e, ERR_INVALID, "an update without a sender");
	c->user_tg = (int64_t)json_integer_value(id);
	c->lang = i18n_match(json_string_value(json_object_get(from, "language_code")));
	rc = users_get_by_telegram(b->a->store, c->user_tg, &c->u, e);
	if (rc == 0) {
		c->known = true;
		if (i18n_supported(c->u.language))
			c->lang = i18n_match(c->u.language);
	} else if (rc != -ERR_NOT_FOUND) {
		return rc;
	}
	return bot_conv_load(b->a->store, chat, &c->conv, e);
}

void bot_ctx_release(struct bot_ctx *c)
{
	bot_conv_release(&c->conv);
}

/* Transient failures are worth running the handler again for. */
static bool transient(int rc)
{
	return rc == -ERR_UNAVAILABLE || rc == -ERR_BUSY || rc == -ERR_TIMEOUT;
}

int bot_sent(struct app *a, int64_t chat, int rc, const struct tg_error *te, struct err *e)
{
	if (rc == 0)
		return 0;
	if (te->fail == TG_FAIL_BLOCKED) {
		struct err ue = {0};

		/* the person is unreachable: record it; nothing to retry */
		log_info("msg=\"user blocked the bot\" chat=%lld", (long long)chat);
		if (users_set_blocked(a->store, chat, 1, &ue))
			log_warn("msg=\"cannot record a blocked user\" chat=%lld err=\"%s\"",
			         (long long)chat, ue.msg);
		return 0;
	}
	if (transient(rc))
		return err_set(e, -rc, "send to chat %lld: %s", (long long)chat, te->err.msg);
	/* a permanent refusal (chat gone, a bad request) is not repeated */
	log_warn("msg=\"message not delivered\" chat=%lld fail=%d err=\"%s\"", (long long)chat,
	         (int)te->fail, te->err.msg);
	return te->fail == TG_FAIL_BAD_REQUEST || te->fail == TG_FAIL_MALFORMED
	           ? err_set(e, ERR_INVALID, "send to chat %lld: %s", (long long)chat, te->err.msg)
	           : 0;
}

int bot_tell_app(struct app *a, int64_t chat, const char *text, const struct tg_send_opts *o,
                 struct err *e)
{
	struct tg_error te = {0};
	int rc = tg_send_message(a->tg, chat, text, o, NULL, &te);

	return bot_sent(a, chat, rc, &te, e);
}

int bot_tell(struct bot *b, int64_t chat, const char *text, const json_t *markup, struct err *e)
{
	struct tg_send_opts o = {.reply_markup = markup};

	return bot_tell_app(b->a, chat, text, &o, e);
}

int bot_say(struct bot_ctx *c, const char *text, const json_t *markup)
{
	return bot_tell(c->b, c->chat, text, markup, c->e);
}

int bot_say_kb(struct bot_ctx *c, const char *text, json_t *kb)
{
	int rc = bot_say(c, text, kb);

	json_decref(kb);
	return rc;
}

int bot_show(struct bot_ctx *c, const char *text, json_t *kb)
{
	struct tg_send_opts o = {.reply_markup = kb};
	struct tg_error te = {0};
	int rc;

	if (!c->cb_message)
		return bot_say_kb(c, text, kb);
	rc = tg_edit_message_text(c->b->tg, c->chat, c->cb_message, text, &o, NULL, &te);
	if (rc == 0 || te.fail == TG_FAIL_NOT_MODIFIED) {
		json_decref(kb);
		return 0;
	}
	if (rc == -ERR_UNAVAILABLE || rc == -ERR_BUSY || rc == -ERR_TIMEOUT) {
		json_decref(kb);
		return err_set(c->e, -rc, "edit message: %s", te.err.msg);
	}
	return bot_say_kb(c, text, kb);
}

void bot_fmt(char *out, size_t outsz, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, outsz, fmt, ap);
	va_end(ap);
	/* cut: never leave half of a UTF-8 sequence */
	if (n >= 0 && (size_t)n >= outsz && outsz > 1)
		out[utf8_cut(out, outsz - 1)] = '\0';
}

void bot_addf(char *out, size_t outsz, const char *fmt, ...)
{
	size_t len = strlen(out);
	va_list ap;
	int n;

	if (len + 1 >= outsz)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + len, outsz - len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= outsz - len)
		out[len + utf8_cut(out + len, outsz - len - 1)] = '\0';
}

void bot_local_time(const char *zone, int64_t ms, char *out, size_t outsz)
{
	struct when_local t;

	if (when_to_local(zone && *zone ? zone : "UTC", ms, &t, NULL, NULL, NULL))
		bot_fmt(out, outsz, "?");
	else
		bot_fmt(out, outsz, "%02d.%02d.%04d %02d:%02d", t.day, t.month, t.year, t.hour,
		        t.minute);
}

json_t *bot_kb_new(void)
{
	return json_pack("{s:[]}", "inline_keyboard");
}

json_t *bot_kb_row(json_t *kb)
{
	json_t *row = json_array();

	json_array_append_new(json_object_get(kb, "inline_keyboard"), row);
	return row;
}

void bot_kb_button(json_t *row, const char *text, enum bot_cb_action action, const char *arg,
                   int64_t id)
{
	char data[BOT_CB_MAX + 1];

	if (bot_cb_encode(data, action, arg, id)) {
		log_warn("msg=\"button left out: its data does not encode\" action=%d",
		         (int)action);
		return;
	}
	json_array_append_new(row, json_pack("{s:s, s:s}", "text", text, "callback_data", data));
}
