/*
 * tg methods: the Bot API methods Herald uses (protocols.md A.3-A.8), each a
 * parameter object built with jansson and handed to tg_call. Texts must be
 * UTF-8 (jansson refuses anything else); a text that is not fails here with
 * TG_FAIL_BAD_REQUEST before any request is made.
 */
#include "tg/tg.h"

#include <stdio.h>
#include <string.h>

#include "lib/mem.h"
#include "tg/tg_impl.h"

#define TG_GROUP_MAX 10

const char *const tg_allowed_updates[] = {
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "callback_query",
    "my_chat_member",
    "chat_member",
    "message_reaction_count",
    "pre_checkout_query",
    NULL,
};

/* A parameter object under construction; bad is set by any value that could
 * not be made (text that is not UTF-8). */
struct params {
	json_t *o;
	bool bad;
};

static struct params params_new(void)
{
	return (struct params){.o = json_object()};
}

static void put(struct params *p, const char *key, json_t *v)
{
	if (!v || json_object_set_new(p->o, key, v) != 0)
		p->bad = true;
}

static void put_int(struct params *p, const char *key, int64_t v)
{
	put(p, key, json_integer(v));
}

static void put_bool(struct params *p, const char *key, bool v)
{
	put(p, key, json_boolean(v));
}

/* A string parameter; NULL is left out. */
static void put_str(struct params *p, const char *key, const char *s)
{
	if (s)
		put(p, key, json_string(s));
}

/* A borrowed JSON value, copied so the caller's stays untouched. */
static void put_json(struct params *p, const char *key, const json_t *v)
{
	if (v)
		put(p, key, json_deep_copy(v));
}

static void put_strings(struct params *p, const char *key, const char *const *list)
{
	json_t *a = json_array();

	for (size_t i = 0; list[i]; i++)
		if (json_array_append_new(a, json_string(list[i])) != 0)
			p->bad = true;
	put(p, key, a);
}

/* The options of a sending method. */
static void put_send_opts(struct params *p, const struct tg_send_opts *o, bool preview)
{
	if (!o)
		return;
	put_str(p, "parse_mode", o->parse_mode);
	put_json(p, "reply_markup", o->reply_markup);
	if (o->silent)
		put_bool(p, "disable_notification", true);
	if (o->protect)
		put_bool(p, "protect_content", true);
	if (preview && o->no_preview)
		put(p, "link_preview_options", json_pack("{s:b}", "is_disabled", 1));
	if (o->reply_to)
		put(p, "reply_parameters",
		    json_pack("{s:I}", "message_id", (json_int_t)o->reply_to));
}

/* Call method with p's parameters (released here). */
static int call(struct tg_client *c, const char *method, struct params *p,
                const struct tg_file *files, size_t nfiles, json_t **result, struct tg_error *te)
{
	struct tg_error local;
	int rc;

	if (!te)
		te = &local;
	if (p->bad) {
		memset(te, 0, sizeof(*te));
		if (result)
			*result = NULL;
		rc = tg_fail_set(te, TG_FAIL_BAD_REQUEST, 0,
		                 "telegram %s: a parameter is not valid utf-8", method);
	} else {
		rc = tg_call(c, method, p->o, files, nfiles, result, te);
	}
	json_decref(p->o);
	p->o = NULL;
	return rc;
}

/* A local refusal, before any request. */
static int refuse(const char *method, const char *why, json_t **result, struct tg_error *te)
{
	struct tg_error local;

	if (!te)
		te = &local;
	memset(te, 0, sizeof(*te));
	if (result)
		*result = NULL;
	return tg_fail_set(te, TG_FAIL_BAD_REQUEST, 0, "telegram %s: %s", method, why);
}

/* result was not what the method returns. */
static int unexpected(const char *method, struct tg_error *te)
{
	struct tg_error local;

	if (!te)
		te = &local;
	return tg_fail_set(te, TG_FAIL_MALFORMED, 200, "telegram %s: unexpected result", method);
}

int tg_get_me(struct tg_client *c, json_t **me, struct tg_error *te)
{
	return tg_call(c, "getMe", NULL, NULL, 0, me, te);
}

int tg_get_updates(struct tg_client *c, int64_t offset, int limit, int timeout_s,
                   const char *const *allowed, json_t **updates, struct tg_error *te)
{
	struct params p = params_new();

	if (offset)
		put_int(&p, "offset", offset);
	if (limit > 0)
		put_int(&p, "limit", limit);
	put_int(&p, "timeout", timeout_s > 0 ? timeout_s : 0);
	if (allowed)
		put_strings(&p, "allowed_updates", allowed);
	return call(c, "getUpdates", &p, NULL, 0, updates, te);
}

int tg_set_webhook(struct tg_client *c, const char *url, const char *secret,
                   const char *const *allowed, bool drop_pending, struct tg_error *te)
{
	struct params p = params_new();

	put_str(&p, "url", url ? url : "");
	if (secret && *secret)
		put_str(&p, "secret_token", secret);
	if (allowed)
		put_strings(&p, "allowed_updates", allowed);
	if (drop_pending)
		put_bool(&p, "drop_pending_updates", true);
	return call(c, "setWebhook", &p, NULL, 0, NULL, te);
}

int tg_delete_webhook(struct tg_client *c, bool drop_pending, struct tg_error *te)
{
	struct params p = params_new();

	if (drop_pending)
		put_bool(&p, "drop_pending_updates", true);
	return call(c, "deleteWebhook", &p, NULL, 0, NULL, te);
}

int tg_get_webhook_info(struct tg_client *c, json_t **info, struct tg_error *te)
{
	return tg_call(c, "getWebhookInfo", NULL, NULL, 0, info, te);
}

int tg_send_message(struct tg_client *c, int64_t chat, const char *text,
                    const struct tg_send_opts *o, json_t **msg, struct tg_error *te)
{
	struct params p = params_new();

	put_int(&p, "chat_id", chat);
	put_str(&p, "text", text ? text : "");
	put_send_opts(&p, o, true);
	return call(c, "sendMessage", &p, NULL, 0, msg, te);
}

int tg_edit_message_text(struct tg_client *c, int64_t chat, int64_t message_id, const char *text,
                         const struct tg_send_opts *o, json_t **msg, struct tg_error *te)
{
	struct params p = params_new();

	put_int(&p, "chat_id", chat);
	put_int(&p, "message_id", message_id);
	put_str(&p, "text", text ? text : "");
	if (o) {
		put_str(&p, "parse_mode", o->parse_mode);
		put_json(&p, "reply_markup", o->reply_markup);
		if (o->no_preview)
			put(&p, "link_preview_options", json_pack("{s:b}", "is_disabled", 1));
	}
	return call(c, "editMessageText", &p, NULL, 0, msg, te);
}

int tg_edit_message_reply_markup(struct tg_client *c, int64_t chat, int64_t message_id,
                                 const json_t *markup, struct tg_error *te)
{
	struct params p = params_new();

	put_int(&p, "chat_id", chat);
	put_int(&p, "message_id", message_id);
	/* without reply_markup the keyboard is removed */
	put_json(&p, "reply_markup", markup);
	return call(c, "editMessageReplyMarkup", &p, NULL, 0, NULL, te);
}

int tg_delete_message(struct tg_client *c, int64_t chat, int64_t message_id, struct tg_error *te)
{
	struct params p = params_new();

	put_int(&p, "chat_id", chat);
	put_int(&p, "message_id", message_id);
	return call(c, "deleteMessage", &p, NULL, 0, NULL, te);
}

int tg_answer_callback_query(struct tg_client *c, const char *id, const char *text, bool alert,
                             struct tg_error *te)
{
	struct params p = params_new();

	put_str(&p, "callback_query_id", id ? id : "");
	if (text && *text)
		put_str(&p, "text", text);
	if (alert)
		put_bool(&p, "show_alert", true);
	return call(c, "answerCallbackQuery", &p, NULL, 0, NULL, te);
}

int tg_get_chat(struct tg_client *c, int64_t chat, const char *username, json_t **out,
                struct tg_error *te)
{
	struct params p;
	char name[128];

	if (username) {
		if (username[0] == '@')
			username++;
		if (!*username || strlen(username) > sizeof(name) - 2)
			return refuse("getChat", "bad username", out, te);
		name[0] = '@';
		memcpy(name + 1, username, strlen(username) + 1);
	}
	p = params_new();
	if (username) {
		put_str(&p, "chat_id", name);
	} else {
		put_int(&p, "chat_id", chat);
	}
	return call(c, "getChat", &p, NULL, 0, out, te);
}

int tg_get_chat_member(struct tg_client *c, int64_t chat, int64_t user, json_t **member,
                       struct tg_error *te)
{
	struct params p = params_new();

	put_int(&p, "chat_id", chat);
	put_int(&p, "user_id", user);
	return call(c, "getChatMember", &p, NULL, 0, member, te);
}

int tg_get_chat_administrators(struct tg_client *c, int64_t chat, json_t **admins,
                               struct tg_error *te)
{
	struct params p = params_new();

	put_int(&p, "chat_id", chat);
	return call(c, "getChatAdministrators", &p, NULL, 0, admins, te);
}

int tg_get_chat_member_count(struct tg_client *c, int64_t chat, int64_t *count, struct tg_error *te)
{
	struct params p = params_new();
	json_t *r = NULL;
	int rc;

	put_int(&p, "chat_id", chat);
	rc = call(c, "getChatMemberCount", &p, NULL, 0, &r, te);
	if (rc == 0 && !json_is_integer(r))
		rc = unexpected("getChatMemberCount", te);
	if (rc == 0)
		*count = json_integer_value(r);
	json_decref(r);
	return rc;
}

static const char *media_method(const char *kind)
{
	if (!kind)
		return NULL;
	if (strcmp(kind, "photo") == 0)
		return "sendPhoto";
	if (strcmp(kind, "video") == 0)
		return "sendVideo";
	if (strcmp(kind, "document") == 0)
		return "sendDocument";
	return NULL;
}

int tg_send_media(struct tg_client *c, int64_t chat, const struct tg_media *m,
                  const struct tg_send_opts *o, json_t **msg, struct tg_error *te)
{
	const char *method = media_method(m->kind);
	struct params p;
	struct tg_file f;

	if (!method)
		return refuse("sendMedia", "unknown media kind", msg, te);
	if (!m->ref && !m->data)
		return refuse(method, "media without a reference or data", msg, te);
	p = params_new();
	put_int(&p, "chat_id", chat);
	put_send_opts(&p, o, false);
	put_str(&p, "caption", m->caption);
	if (m->parse_mode)
		put_str(&p, "parse_mode", m->parse_mode);
	if (m->ref) {
		put_str(&p, m->kind, m->ref);
		return call(c, method, &p, NULL, 0, msg, te);
	}
	f = (struct tg_file){
	    .field = m->kind,
	    .filename = m->filename,
	    .content_type = m->content_type,
	    .data = m->data,
	    .len = m->len,
	};
	return call(c, method, &p, &f, 1, msg, te);
}

int tg_send_media_group(struct tg_client *c, int64_t chat, const struct tg_media *items, size_t n,
                        const struct tg_send_opts *o, json_t **msgs, struct tg_error *te)
{
	struct tg_file files[TG_GROUP_MAX];
	char names[TG_GROUP_MAX][24], attach[40];
	struct params p;
	json_t *media;
	size_t nfiles = 0;

	if (n < 2 || n > TG_GROUP_MAX)
		return refuse("sendMediaGroup", "an album has 2 to 10 items", msgs, te);
	p = params_new();
	put_int(&p, "chat_id", chat);
	media = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct tg_media *m = &items[i];
		json_t *it;

		if (!media_method(m->kind) || (!m->ref && !m->data)) {
			json_decref(media);
			json_decref(p.o);
			return refuse("sendMediaGroup", "an item without a kind or a file", msgs,
			              te);
		}
		it = json_pack("{s:s}", "type", m->kind);
		if (m->ref) {
			if (json_object_set_new(it, "media", json_string(m->ref)) != 0)
				p.bad = true;
		} else {
			snprintf(names[nfiles], sizeof(names[nfiles]), "file%zu", i);
			snprintf(attach, sizeof(attach), "attach://%s", names[nfiles]);
			json_object_set_new(it, "media", json_string(attach));
			files[nfiles] = (struct tg_file){
			    .field = names[nfiles],
			    .filename = m->filename,
			    .content_type = m->content_type,
			    .data = m->data,
			    .len = m->len,
			};
			nfiles++;
		}
		/* the album's caption is its first item's */
		if (i == 0 && m->caption) {
			if (json_object_set_new(it, "caption", json_string(m->caption)) != 0)
				p.bad = true;
			if (m->parse_mode || (o && o->parse_mode))
				json_object_set_new(
				    it, "parse_mode",
				    json_string(m->parse_mode ? m->parse_mode : o->parse_mode));
		}
		json_array_append_new(media, it);
	}
	put(&p, "media", media);
	if (o) {
		if (o->silent)
			put_bool(&p, "disable_notification", true);
		if (o->protect)
			put_bool(&p, "protect_content", true);
		if (o->reply_to)
			put(&p, "reply_parameters",
			    json_pack("{s:I}", "message_id", (json_int_t)o->reply_to));
	}
	return call(c, "sendMediaGroup", &p, files, nfiles, msgs, te);
}

int tg_copy_message(struct tg_client *c, int64_t chat, int64_t from_chat, int64_t message_id,
                    const struct tg_send_opts *o, int64_t *new_id, struct tg_error *te)
{
	struct params p = params_new();
	json_t *r = NULL;
	const json_t *id;
	int rc;

	put_int(&p, "chat_id", chat);
	put_int(&p, "from_chat_id", from_chat);
	put_int(&p, "message_id", message_id);
	put_send_opts(&p, o, false);
	rc = call(c, "copyMessage", &p, NULL, 0, &r, te);
	id = json_object_get(r, "message_id");
	if (rc == 0 && !json_is_integer(id))
		rc = unexpected("copyMessage", te);
	if (rc == 0 && new_id)
		*new_id = json_integer_value(id);
	json_decref(r);
	return rc;
}

int tg_pin_chat_message(struct tg_client *c, int64_t chat, int64_t message_id, bool silent,
                        struct tg_error *te)
{
	struct params p = params_new();

	put_int(&p, "chat_id", chat);
	put_int(&p, "message_id", message_id);
	if (silent)
		put_bool(&p, "disable_notification", true);
	return call(c, "pinChatMessage", &p, NULL, 0, NULL, te);
}

int tg_send_invoice(struct tg_client *c, int64_t chat, const struct tg_invoice *inv, json_t **msg,
                    struct tg_error *te)
{
	struct params p = params_new();
	json_t *price;

	put_int(&p, "chat_id", chat);
	put_str(&p, "title", inv->title ? inv->title : "");
	put_str(&p, "description", inv->description ? inv->description : "");
	put_str(&p, "payload", inv->payload ? inv->payload : "");
	put_str(&p, "currency", inv->currency ? inv->currency : "XTR");
	/* Stars take no provider token (protocols.md A.8) */
	if (inv->provider_token && *inv->provider_token)
		put_str(&p, "provider_token", inv->provider_token);
	price = json_pack("{s:s,s:I}", "label", inv->label ? inv->label : "", "amount",
	                  (json_int_t)inv->amount);
	put(&p, "prices", price ? json_pack("[o]", price) : NULL);
	put_json(&p, "reply_markup", inv->reply_markup);
	return call(c, "sendInvoice", &p, NULL, 0, msg, te);
}

int tg_answer_pre_checkout_query(struct tg_client *c, const char *id, bool ok,
                                 const char *error_message, struct tg_error *te)
{
	struct params p;

	if (!ok && (!error_message || !*error_message))
		return refuse("answerPreCheckoutQuery", "a refusal needs an error message", NULL,
		              te);
	p = params_new();
	put_str(&p, "pre_checkout_query_id", id ? id : "");
	put_bool(&p, "ok", ok);
	if (!ok)
		put_str(&p, "error_message", error_message);
	return call(c, "answerPreCheckoutQuery", &p, NULL, 0, NULL, te);
}

int tg_refund_star_payment(struct tg_client *c, int64_t user, const char *charge_id,
                           struct tg_error *te)
{
	struct params p = params_new();

	put_int(&p, "user_id", user);
	put_str(&p, "telegram_payment_charge_id", charge_id ? charge_id : "");
	return call(c, "refundStarPayment", &p, NULL, 0, NULL, te);
}
