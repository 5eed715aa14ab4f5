/*
 * botapi: the Bot API methods. sim_botapi() checks the token and the method
 * (case-insensitive), reads the parameters and downloads URL media without
 * the mutex, then, holding it, counts the call, applies a running 429
 * window and any injected failure, and runs the method. A method fills
 * c->result or fails the call with Telegram's error_code and description;
 * the envelope is written after the mutex is released.
 *
 * Access follows Telegram: a private chat exists once its user wrote to the
 * bot, and a user who blocked the bot gets 403; in a channel the bot posts
 * only as an administrator with can_post_messages.
 */
#include "sim/sim_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/clock.h"
#include "lib/mem.h"

#define NOT_MODIFIED                                                                               \
	"Bad Request: message is not modified: specified new message content and reply markup "    \
	"are exactly the same as a current content and reply markup of the message"
#define QUERY_TOO_OLD                                                                              \
	"Bad Request: query is too old and response timeout expired or query ID is invalid"
#define WEBHOOK_ACTIVE                                                                             \
	"Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "     \
	"delete the webhook first"
#define TERMINATED                                                                                 \
	"Conflict: terminated by other getUpdates request; make sure that only one bot instance "  \
	"is running"

enum access {
	ACC_READ,   /* getChat and the like: public channels are readable by anyone */
	ACC_MEMBER, /* the bot must be in the chat */
	ACC_SEND,   /* the bot must be allowed to post */
};

/* The chat a chat_id value names, NULL when none. */
static struct sim_chat *lookup(struct sim *s, const char *v, int64_t *id)
{
	*id = 0;
	if (v[0] == '@')
		return sim_chat_by_username(s, v + 1);
	if (str_to_i64(str_trim(str_c(v)), INT64_MIN, INT64_MAX, id))
		return NULL;
	return sim_chat_find(s, *id);
}

static struct sim_chat *target(struct sim_call *c, const char *param, enum access acc)
{
	struct sim *s = c->s;
	const char *v = prm_str(c, param);
	struct sim_chat *ch;
	struct sim_user *u;
	int64_t id;

	if (!v || !*v) {
		sim_fail(c, 400, "Bad Request: %s is empty", param);
		return NULL;
	}
	ch = lookup(s, v, &id);
	if (!ch || ch->type == SIM_PRIVATE) {
		u = id ? sim_user_find(s, id) : NULL;
		if (u && u->blocked && acc == ACC_SEND) {
			sim_fail(c, 403, "Forbidden: bot was blocked by the user");
			return NULL;
		}
		if (!ch)
			sim_fail(c, 400, "Bad Request: chat not found");
		return ch;
	}
	if (acc == ACC_READ) {
		if (ch->username || ch->bot_status == SIM_MEMBER || ch->bot_status == SIM_ADMIN)
			return ch;
		sim_fail(c, 400, "Bad Request: chat not found");
		return NULL;
	}
	if (ch->bot_status == SIM_LEFT) {
		sim_fail(c, 403, "Forbidden: bot is not a member of the channel chat");
		return NULL;
	}
	if (ch->bot_status == SIM_KICKED) {
		sim_fail(c, 403, "Forbidden: bot was kicked from the channel chat");
		return NULL;
	}
	if (acc == ACC_SEND &&
	    (ch->bot_status != SIM_ADMIN || !sim_right(ch->bot_rights, "can_post_messages"))) {
		sim_fail(c, 400, "Bad Request: need administrator rights in the channel chat");
		return NULL;
	}
	return ch;
}

static bool is_admin_with(const struct sim_chat *ch, const char *right)
{
	return ch->bot_status == SIM_ADMIN && sim_right(ch->bot_rights, right);
}

/* message_id of the call (0 for one that cannot exist); -1 with c failed
 * when absent or malformed. */
static int64_t message_id(struct sim_call *c, const char *param)
{
	int64_t id;

	if (prm_i64(c, param, &id) != 0) {
		sim_fail(c, 400, "Bad Request: message identifier is not specified");
		return -1;
	}
	return id < 1 ? 0 : id;
}

/* Check a text or caption; 0, or -1 with c failed. */
static int check_text(struct sim_call *c, const char *text, bool caption)
{
	const char *pm = prm_str(c, "parse_mode");
	char detail[192];
	size_t len;

	if (!text)
		text = "";
	if (pm && *pm && strcasecmp(pm, "HTML") == 0) {
		if (sim_html_check(text, &len, detail, sizeof(detail)))
			return sim_fail(c, 400, "Bad Request: can't parse entities: %s", detail);
	} else if (pm && *pm && strcasecmp(pm, "MarkdownV2") != 0 &&
	           strcasecmp(pm, "Markdown") != 0) {
		return sim_fail(c, 400, "Bad Request: unsupported parse_mode");
	} else {
		len = sim_utf16_len(text, strlen(text));
	}
	if (caption) {
		if (len > 1024)
			return sim_fail(c, 400, "Bad Request: message caption is too long");
		return 0;
	}
	if (!len)
		return sim_fail(c, 400, "Bad Request: message text is empty");
	if (len > 4096)
		return sim_fail(c, 400, "Bad Request: message is too long");
	return 0;
}

static bool url_ok(const char *u)
{
	return strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0 ||
	       strncasecmp(u, "tg://", 5) == 0;
}

static int check_button(struct sim_call *c, json_t *b)
{
	static const char *const actions[] = {"url",
	                                      "callback_data",
	                                      "web_app",
	                                      "login_url",
	                                      "switch_inline_query",
	                                      "switch_inline_query_current_chat",
	                                      "switch_inline_query_chosen_chat",
	                                      "copy_text",
	                                      "callback_game",
	                                      "pay"};
	const char *text = json_string_value(json_object_get(b, "text"));
	json_t *v;
	int n = 0;

	if (!json_is_object(b) || !text || !*text)
		return sim_fail(c, 400, "Bad Request: BUTTON_DATA_INVALID");
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
		n += json_object_get(b, actions[i]) != NULL;
	if (n != 1)
		return sim_fail(c, 400, "Bad Request: BUTTON_DATA_INVALID");
	if ((v = json_object_get(b, "callback_data"))) {
		size_t len = json_string_length(v);

		if (!json_is_string(v) || len < 1 || len > 64)
			return sim_fail(c, 400, "Bad Request: BUTTON_DATA_INVALID");
	}
	if ((v = json_object_get(b, "url")) &&
	    (!json_is_string(v) || !url_ok(json_string_value(v))))
		return sim_fail(c, 400, "Bad Request: BUTTON_URL_INVALID");
	return 0;
}

/* The reply_markup parameter, checked; *out is borrowed (NULL when absent). */
static int read_markup(struct sim_call *c, json_t **out)
{
	bool bad;
	json_t *m = prm_json(c, "reply_markup", &bad), *ik, *row, *b;
	size_t i, j;

	*out = NULL;
	if (bad || (m && !json_is_object(m)))
		return sim_fail(c, 400,
		                "Bad Request: can't parse reply keyboard markup JSON object");
	if (!m)
		return 0;
	ik = json_object_get(m, "inline_keyboard");
	if (!ik) {
		if (json_object_get(m, "keyboard") || json_object_get(m, "remove_keyboard") ||
		    json_object_get(m, "force_reply")) {
			*out = m;
			return 0;
		}
		return sim_fail(c, 400,
		                "Bad Request: can't parse reply keyboard markup JSON object");
	}
	if (!json_is_array(ik))
		return sim_fail(c, 400,
		                "Bad Request: can't parse reply keyboard markup JSON object");
	json_array_foreach(ik, i, row)
	{
		if (!json_is_array(row))
			return sim_fail(
			    c, 400, "Bad Request: can't parse reply keyboard markup JSON object");
		json_array_foreach(row, j, b)
		{
			if (check_button(c, b))
				return -1;
		}
	}
	*out = m;
	return 0;
}

/* reply_parameters / reply_to_message_id: the message replied to, copied. */
static int read_reply(struct sim_call *c, struct sim_chat *ch, json_t **out)
{
	bool bad;
	json_t *rp = prm_json(c, "reply_parameters", &bad);
	int64_t id = 0;
	struct sim_msg *sm;

	*out = NULL;
	if (bad)
		return sim_fail(c, 400, "Bad Request: can't parse reply parameters JSON object");
	if (rp && json_is_integer(json_object_get(rp, "message_id")))
		id = json_integer_value(json_object_get(rp, "message_id"));
	else if (prm_i64(c, "reply_to_message_id", &id) < 0)
		return sim_fail(c, 400, "Bad Request: message to be replied not found");
	if (!id)
		return 0;
	sm = sim_msg_get(ch, id);
	if (!sm || sm->deleted)
		return sim_fail(c, 400, "Bad Request: message to be replied not found");
	*out = json_deep_copy(sm->m);
	json_object_del(*out, "reply_to_message");
	return 0;
}

static json_t *new_msg(struct sim_call *c, struct sim_chat *ch)
{
	json_t *m = json_object();

	if (ch->type == SIM_CHANNEL)
		json_object_set_new(m, "sender_chat", sim_chat_json(c->s, ch));
	else
		json_object_set_new(m, "from", sim_bot_json(c->s));
	return m;
}

/* Add what every send takes: reply, markup, protect_content. */
static void finish_msg(struct sim_call *c, json_t *m, json_t *reply, json_t *markup)
{
	bool protect = false;

	if (reply)
		json_object_set_new(m, "reply_to_message", reply);
	if (markup)
		json_object_set_new(m, "reply_markup", json_deep_copy(markup));
	if (prm_bool(c, "protect_content", &protect) == 0 && protect)
		json_object_set_new(m, "has_protected_content", json_true());
}

static struct sim_msg *store(struct sim_call *c, struct sim_chat *ch, json_t *m)
{
	struct sim_msg *sm = sim_msg_add(c->s, ch, m, true);
	const char *pm = prm_str(c, "parse_mode");

	if (pm)
		snprintf(sm->parse_mode, sizeof(sm->parse_mode), "%s", pm);
	return sm;
}

static void m_get_me(struct sim_call *c)
{
	json_t *me = sim_bot_json(c->s);

	json_object_update_new(me, json_pack("{s:b, s:b, s:b, s:b, s:b}", "can_join_groups", 1,
	                                     "can_read_all_group_messages", 0,
	                                     "supports_inline_queries", 0,
	                                     "can_connect_to_business", 0, "has_main_web_app", 0));
	c->result = me;
}

static int read_allowed(struct sim_call *c)
{
	bool bad;
	json_t *a = prm_json(c, "allowed_updates", &bad), *v;
	size_t i;

	if (bad || (a && !json_is_array(a)))
		return sim_fail(c, 400, "Bad Request: can't parse allowed updates JSON array");
	if (!a)
		return 0; /* omitted: keep the previous setting */
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v))
			return sim_fail(c, 400,
			                "Bad Request: can't parse allowed updates JSON array");
	}
	json_decref(c->s->allowed);
	c->s->allowed = json_deep_copy(a);
	return 0;
}

static void m_get_updates(struct sim_call *c)
{
	struct sim *s = c->s;
	int64_t offset = 0, limit = 100, timeout = 0, deadline;
	int has_offset;
	uint64_t gen;
	json_t *out;

	if (s->wh.url) {
		sim_fail(c, 409, WEBHOOK_ACTIVE);
		return;
	}
	has_offset = prm_i64(c, "offset", &offset);
	if (has_offset < 0 || prm_i64(c, "limit", &limit) < 0 ||
	    prm_i64(c, "timeout", &timeout) < 0) {
		sim_fail(c, 400, "Bad Request: invalid getUpdates parameters");
		return;
	}
	if (read_allowed(c))
		return;
	limit = limit < 1 ? 1 : limit > 100 ? 100 : limit;
	timeout = timeout < 0 ? 0 : timeout > 600 ? 600 : timeout;
	if (has_offset == 0 && offset < 0) {
		uint64_t keep = offset == INT64_MIN ? UINT64_MAX : (uint64_t)-offset;

		if (s->nupdates > keep)
			sim_updates_drop(s, s->nupdates - (size_t)keep);
	} else if (has_offset == 0) {
		size_t n = 0;

		while (n < s->nupdates && s->updates[n].id < offset)
			n++;
		sim_updates_drop(s, n);
	}
	gen = ++s->poll_gen;
	sim_broadcast(s); /* a poll already waiting is terminated */
	deadline = clock_mono_ms() + timeout * 1000;
	while (!s->nupdates && !s->stopping) {
		if (!sim_wait_until(s, deadline))
			break;
		if (s->poll_gen != gen) {
			sim_fail(c, 409, TERMINATED);
			return;
		}
		if (s->wh.url) {
			sim_fail(c, 409, WEBHOOK_ACTIVE);
			return;
		}
	}
	out = json_array();
	for (size_t i = 0; i < s->nupdates && i < (size_t)limit; i++)
		json_array_append_new(out, json_deep_copy(s->updates[i].u));
	c->result = out;
}

static void m_set_webhook(struct sim_call *c)
{
	struct sim *s = c->s;
	const char *url = prm_str(c, "url"), *secret = prm_str(c, "secret_token");
	const char *ip = prm_str(c, "ip_address");
	int64_t maxc = 40;
	bool drop = false, same;

	if (!url || !*url) {
		bool had = s->wh.url != NULL;

		free(s->wh.url);
		free(s->wh.secret);
		s->wh.url = s->wh.secret = NULL;
		if (prm_bool(c, "drop_pending_updates", &drop) == 0 && drop)
			sim_updates_drop(s, s->nupdates);
		c->result = json_true();
		c->description = had ? "Webhook was deleted" : "Webhook is already deleted";
		sim_broadcast(s);
		return;
	}
	if (!url_ok(url) || strncasecmp(url, "tg://", 5) == 0 || strlen(url) > 2048) {
		sim_fail(c, 400,
		         "Bad Request: bad webhook: An HTTPS URL must be provided for webhook");
		return;
	}
	if (secret && *secret) {
		size_t n = strlen(secret);

		for (size_t i = 0; i < n; i++) {
			char ch = secret[i];

			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
				n = 0;
		}
		if (n < 1 || n > 256) {
			sim_fail(c, 400, "Bad Request: secret token contains unallowed characters");
			return;
		}
	} else {
		secret = NULL;
	}
	if (prm_i64(c, "max_connections", &maxc) < 0 || maxc < 1 || maxc > 100) {
		sim_fail(c, 400,
		         "Bad Request: bad webhook: max_connections must be between 1 and 100");
		return;
	}
	if (prm_bool(c, "drop_pending_updates", &drop) < 0) {
		sim_fail(c, 400, "Bad Request: invalid drop_pending_updates");
		return;
	}
	if (read_allowed(c))
		return;
	same = s->wh.url && strcmp(s->wh.url, url) == 0 &&
	       ((!s->wh.secret && !secret) ||
	        (s->wh.secret && secret && strcmp(s->wh.secret, secret) == 0));
	free(s->wh.url);
	free(s->wh.secret);
	free(s->wh.ip_address);
	s->wh.url = xstrdup(url);
	s->wh.secret = secret ? xstrdup(secret) : NULL;
	s->wh.ip_address = ip && *ip ? xstrdup(ip) : NULL;
	s->wh.max_connections = (int)maxc;
	if (!same) {
		s->wh.attempt = 0;
		s->wh.next_at_ms = 0;
	}
	if (drop)
		sim_updates_drop(s, s->nupdates);
	sim_broadcast(s);
	c->result = json_true();
	c->description = same ? "Webhook is already set" : "Webhook was set";
}

static void m_delete_webhook(struct sim_call *c)
{
	struct sim *s = c->s;
	bool drop = false, had = s->wh.url != NULL;

	if (prm_bool(c, "drop_pending_updates", &drop) < 0) {
		sim_fail(c, 400, "Bad Request: invalid drop_pending_updates");
		return;
	}
	free(s->wh.url);
	free(s->wh.secret);
	s->wh.url = s->wh.secret = NULL;
	if (drop)
		sim_updates_drop(s, s->nupdates);
	s->wh.attempt = 0;
	s->wh.next_at_ms = 0;
	sim_broadcast(s);
	c->result = json_true();
	c->description = had ? "Webhook was deleted" : "Webhook is already deleted";
}

static void m_get_webhook_info(struct sim_call *c)
{
	c->result = sim_webhook_info(c->s);
}

static void m_send_message(struct sim_call *c)
{
	struct sim_chat *ch = target(c, "chat_id", ACC_SEND);
	const char *text = prm_str(c, "text");
	json_t *markup, *reply, *m, *ents;
	bool bad;

	if (!ch || check_text(c, text, false) || read_markup(c, &markup) ||
	    read_reply(c, ch, &reply))
		return;
	ents = prm_json(c, "entities", &bad);
	if (!sim_limit_take(c, ch)) {
		json_decref(reply);
		return;
	}
	m = new_msg(c, ch);
	json_object_set_new(m, "text", json_string(text));
	if (json_is_array(ents))
		json_object_set_new(m, "entities", json_deep_copy(ents));
	finish_msg(c, m, reply, markup);
	c->result = json_deep_copy(store(c, ch, m)->m);
}

/* The message of an edit (chat_id + message_id); NULL with c failed. */
static struct sim_msg *editable(struct sim_call *c, struct sim_chat **chp)
{
	struct sim_chat *ch;
	struct sim_msg *sm;
	int64_t id;

	if (prm_str(c, "inline_message_id")) {
		sim_fail(c, 400, "Bad Request: MESSAGE_ID_INVALID");
		return NULL;
	}
	ch = target(c, "chat_id", ACC_MEMBER);
	if (!ch || (id = message_id(c, "message_id")) < 0)
		return NULL;
	sm = sim_msg_get(ch, id);
	if (!sm || sm->deleted) {
		sim_fail(c, 400, "Bad Request: message to edit not found");
		return NULL;
	}
	if (!sm->from_bot) {
		sim_fail(c, 400, "Bad Request: message can't be edited");
		return NULL;
	}
	if (ch->type == SIM_CHANNEL && !is_admin_with(ch, "can_post_messages") &&
	    !is_admin_with(ch, "can_edit_messages")) {
		sim_fail(c, 400, "Bad Request: need administrator rights in the channel chat");
		return NULL;
	}
	*chp = ch;
	return sm;
}

static bool same_markup(const json_t *a, const json_t *b)
{
	return (!a && !b) || (a && b && json_equal((json_t *)a, (json_t *)b));
}

static void apply_edit(struct sim_call *c, struct sim_chat *ch, struct sim_msg *sm,
                       const char *field, const char *value, json_t *markup)
{
	bool bad;
	json_t *ents = prm_json(c, field[0] == 't' ? "entities" : "caption_entities", &bad);
	const char *pm = prm_str(c, "parse_mode");

	if (field[0]) {
		if (*value || field[0] == 't')
			json_object_set_new(sm->m, field, json_string(value));
		else
			json_object_del(sm->m, field); /* a caption removed */
		json_object_del(sm->m, field[0] == 't' ? "entities" : "caption_entities");
		if (json_is_array(ents))
			json_object_set_new(sm->m,
			                    field[0] == 't' ? "entities" : "caption_entities",
			                    json_deep_copy(ents));
		snprintf(sm->parse_mode, sizeof(sm->parse_mode), "%s", pm ? pm : "");
	}
	if (markup)
		json_object_set_new(sm->m, "reply_markup", json_deep_copy(markup));
	else
		json_object_del(sm->m, "reply_markup");
	json_object_set_new(sm->m, "edit_date", json_integer(sim_now_s(c->s)));
	sm->edited = true;
	sim_chat_changed(c->s, ch);
	c->result = json_deep_copy(sm->m);
}

static void edit_text_or_caption(struct sim_call *c, const char *field)
{
	struct sim_chat *ch = NULL;
	struct sim_msg *sm = editable(c, &ch);
	const char *v = prm_str(c, field), *old, *pm = prm_str(c, "parse_mode");
	json_t *markup;
	bool is_text = strcmp(field, "text") == 0;

	if (!sm)
		return;
	if (is_text && !json_object_get(sm->m, "text")) {
		sim_fail(c, 400, "Bad Request: there is no text in the message to edit");
		return;
	}
	if (!is_text && json_object_get(sm->m, "text")) {
		sim_fail(c, 400, "Bad Request: there is no caption in the message to edit");
		return;
	}
	if (check_text(c, v, !is_text) || read_markup(c, &markup))
		return;
	if (!v)
		v = "";
	old = json_string_value(json_object_get(sm->m, field));
	if (strcmp(old ? old : "", v) == 0 && strcmp(sm->parse_mode, pm ? pm : "") == 0 &&
	    same_markup(json_object_get(sm->m, "reply_markup"), markup)) {
		sim_fail(c, 400, NOT_MODIFIED);
		return;
	}
	apply_edit(c, ch, sm, field, v, markup);
}

static void m_edit_message_text(struct sim_call *c)
{
	edit_text_or_caption(c, "text");
}

static void m_edit_message_caption(struct sim_call *c)
{
	edit_text_or_caption(c, "caption");
}

static void m_edit_message_reply_markup(struct sim_call *c)
{
	struct sim_chat *ch = NULL;
	struct sim_msg *sm = editable(c, &ch);
	json_t *markup;

	if (!sm || read_markup(c, &markup))
		return;
	if (same_markup(json_object_get(sm->m, "reply_markup"), markup)) {
		sim_fail(c, 400, NOT_MODIFIED);
		return;
	}
	apply_edit(c, ch, sm, "", NULL, markup);
}

static void m_delete_message(struct sim_call *c)
{
	struct sim_chat *ch = target(c, "chat_id", ACC_MEMBER);
	struct sim_msg *sm;
	int64_t id;

	if (!ch || (id = message_id(c, "message_id")) < 0)
		return;
	sm = sim_msg_get(ch, id);
	if (!sm || sm->deleted) {
		sim_fail(c, 400, "Bad Request: message to delete not found");
		return;
	}
	if (ch->type == SIM_CHANNEL && !is_admin_with(ch, "can_delete_messages") &&
	    !(sm->from_bot && is_admin_with(ch, "can_post_messages"))) {
		sim_fail(c, 400, "Bad Request: message can't be deleted");
		return;
	}
	sm->deleted = true;
	sim_chat_changed(c->s, ch);
	c->result = json_true();
}

static void m_pin_chat_message(struct sim_call *c)
{
	struct sim_chat *ch = target(c, "chat_id", ACC_MEMBER);
	struct sim_msg *sm;
	int64_t id;

	if (!ch || (id = message_id(c, "message_id")) < 0)
		return;
	if (ch->type == SIM_CHANNEL && !is_admin_with(ch, "can_edit_messages")) {
		sim_fail(c, 400,
		         "Bad Request: not enough rights to manage pinned messages in the chat");
		return;
	}
	sm = sim_msg_get(ch, id);
	if (!sm || sm->deleted) {
		sim_fail(c, 400, "Bad Request: message to pin not found");
		return;
	}
	sm->pinned = true;
	sim_chat_changed(c->s, ch);
	c->result = json_true();
}

static void m_unpin_chat_message(struct sim_call *c)
{
	struct sim_chat *ch = target(c, "chat_id", ACC_MEMBER);
	int64_t id = 0;

	if (!ch)
		return;
	if (ch->type == SIM_CHANNEL && !is_admin_with(ch, "can_edit_messages")) {
		sim_fail(c, 400,
		         "Bad Request: not enough rights to manage pinned messages in the chat");
		return;
	}
	if (prm_i64(c, "message_id", &id) < 0) {
		sim_fail(c, 400, "Bad Request: message to unpin not found");
		return;
	}
	for (size_t i = ch->nmsgs; i > 0; i--) {
		struct sim_msg *sm = &ch->msgs[i - 1];

		if (sm->pinned && (!id || id == (int64_t)i)) {
			sm->pinned = false;
			sim_chat_changed(c->s, ch);
			break;
		}
	}
	c->result = json_true();
}

static void m_answer_callback_query(struct sim_call *c)
{
	const char *id = prm_str(c, "callback_query_id"), *text = prm_str(c, "text");
	const char *url = prm_str(c, "url");
	struct sim_cbq *q = id ? sim_cbq_find(c->s, id) : NULL;
	bool alert = false;

	if (!q || q->answered) {
		sim_fail(c, 400, QUERY_TOO_OLD);
		return;
	}
	if (text && sim_utf16_len(text, strlen(text)) > 200) {
		sim_fail(c, 400, "Bad Request: MESSAGE_TOO_LONG");
		return;
	}
	if (prm_bool(c, "show_alert", &alert) < 0) {
		sim_fail(c, 400, "Bad Request: invalid show_alert");
		return;
	}
	q->answered = true;
	q->show_alert = alert;
	q->text = text ? xstrdup(text) : NULL;
	q->url = url ? xstrdup(url) : NULL;
	q->answered_ms = clock_now_ms();
	sim_broadcast(c->s);
	c->result = json_true();
}

static void m_get_chat(struct sim_call *c)
{
	struct sim_chat *ch = target(c, "chat_id", ACC_READ);
	json_t *o;

	if (!ch)
		return;
	o = sim_chat_json(c->s, ch);
	json_object_set_new(o, "accent_color_id", json_integer(0));
	json_object_set_new(o, "max_reaction_count", json_integer(11));
	if (ch->description)
		json_object_set_new(o, "description", json_string(ch->description));
	if (ch->type == SIM_CHANNEL && is_admin_with(ch, "can_invite_users")) {
		char link[64];

		snprintf(link, sizeof(link), "https://t.me/+sim%lld", (long long)-ch->id);
		json_object_set_new(o, "invite_link", json_string(link));
	}
	for (size_t i = ch->nmsgs; i > 0; i--) {
		if (ch->msgs[i - 1].pinned && !ch->msgs[i - 1].deleted) {
			json_object_set_new(o, "pinned_message", json_deep_copy(ch->msgs[i - 1].m));
			break;
		}
	}
	c->result = o;
}

static void m_get_chat_member(struct sim_call *c)
{
	struct sim_chat *ch = target(c, "chat_id", ACC_READ);
	int64_t uid;

	if (!ch)
		return;
	if (prm_i64(c, "user_id", &uid) != 0) {
		sim_fail(c, 400, "Bad Request: user_id is empty");
		return;
	}
	if (uid == c->s->bot_id) {
		c->result = sim_bot_member_json(c->s, ch);
		return;
	}
	if (!sim_user_find(c->s, uid)) {
		sim_fail(c, 400, "Bad Request: user not found");
		return;
	}
	if (ch->type == SIM_PRIVATE) {
		if (uid != ch->id) {
			sim_fail(c, 400, "Bad Request: user not found");
			return;
		}
		c->result = sim_member_json(c->s, ch, uid);
		json_object_set_new(c->result, "status", json_string("member"));
		return;
	}
	if (ch->bot_status != SIM_ADMIN) {
		sim_fail(c, 400, "Bad Request: member list is inaccessible");
		return;
	}
	c->result = sim_member_json(c->s, ch, uid);
}

static void m_get_chat_administrators(struct sim_call *c)
{
	struct sim_chat *ch = target(c, "chat_id", ACC_READ);
	bool bots = false;
	json_t *out;

	if (!ch)
		return;
	if (ch->type == SIM_PRIVATE) {
		sim_fail(c, 400, "Bad Request: there are no administrators in the private chat");
		return;
	}
	if (ch->bot_status != SIM_ADMIN) {
		sim_fail(c, 400, "Bad Request: member list is inaccessible");
		return;
	}
	if (prm_bool(c, "return_bots", &bots) < 0)
		bots = false;
	out = json_array();
	for (size_t i = 0; i < ch->nmembers; i++) {
		const struct sim_member *m = &ch->members[i];
		struct sim_user *u = sim_user_find(c->s, m->user_id);

		if (m->status != SIM_CREATOR && m->status != SIM_ADMIN)
			continue;
		if (u && u->is_bot && !bots)
			continue;
		json_array_append_new(out, sim_member_json(c->s, ch, m->user_id));
	}
	json_array_append_new(out, sim_bot_member_json(c->s, ch));
	c->result = out;
}

static void m_get_chat_member_count(struct sim_call *c)
{
	struct sim_chat *ch = target(c, "chat_id", ACC_READ);

	if (ch)
		c->result = json_integer(ch->type == SIM_PRIVATE ? 2 : ch->member_count);
}

/* An InputFile parameter resolved to a file: an upload, attach://, a URL
 * fetched before, or a file_id. NULL with c failed. */
static struct sim_file *input_file(struct sim_call *c, const char *field, const char *value,
                                   const char *kind)
{
	const struct multipart_part *part = NULL;
	bool photo = strcmp(kind, "photo") == 0;
	char name[256], mime[128];
	const char *data;
	size_t len;

	if (!value) {
		part = prm_part(c, field);
		if (!part || !part->has_filename)
			part = NULL;
		value = prm_str(c, field);
	}
	if (!part && value && strncmp(value, "attach://", 9) == 0) {
		part = prm_part(c, value + 9);
		if (!part) {
			sim_fail(c, 400, "Bad Request: wrong file identifier/HTTP URL specified");
			return NULL;
		}
	}
	if (part) {
		if (part->data.len > (photo ? SIM_PHOTO_MAX : SIM_FILE_MAX)) {
			sim_fail(c, 400, "Bad Request: file is too big");
			return NULL;
		}
		if (!part->data.len) {
			sim_fail(c, 400, "Bad Request: file must be non-empty");
			return NULL;
		}
		snprintf(name, sizeof(name), "%.*s", (int)part->filename.len, part->filename.p);
		snprintf(mime, sizeof(mime), "%.*s", (int)part->content_type.len,
		         part->content_type.p);
		return sim_file_add(c->s, kind, part->data.p, part->data.len, name[0] ? name : NULL,
		                    mime[0] ? mime : NULL);
	}
	if (!value || !*value) {
		sim_fail(c, 400, "Bad Request: there is no %s in the request", kind);
		return NULL;
	}
	for (size_t i = 0; i < c->nfetch; i++) {
		const struct sim_fetch *f = &c->fetch[i];
		const char *slash;

		if (strcmp(f->url, value) != 0)
			continue;
		if (f->rc == -ERR_TOO_BIG) {
			sim_fail(c, 400, "Bad Request: file is too big");
			return NULL;
		}
		if (f->rc || !f->data.len) {
			sim_fail(c, 400, "Bad Request: failed to get HTTP URL content");
			return NULL;
		}
		data = f->data.p;
		len = f->data.len;
		slash = strrchr(value, '/');
		return sim_file_add(c->s, kind, data, len, slash && slash[1] ? slash + 1 : NULL,
		                    f->content_type[0] ? f->content_type : NULL);
	}
	{
		struct sim_file *f = sim_file_find(c->s, value);

		if (!f)
			sim_fail(c, 400, "Bad Request: wrong file identifier/HTTP URL specified");
		return f;
	}
}

static json_t *file_json(const struct sim_file *f, const char *kind)
{
	json_t *o = json_pack("{s:s, s:s, s:I}", "file_id", f->file_id, "file_unique_id",
	                      f->unique_id, "file_size", (json_int_t)f->size);

	if (strcmp(kind, "photo") == 0) {
		json_object_set_new(o, "width", json_integer(f->width));
		json_object_set_new(o, "height", json_integer(f->height));
		return json_pack("[o]", o);
	}
	if (strcmp(kind, "video") == 0 || strcmp(kind, "animation") == 0) {
		json_object_set_new(o, "width", json_integer(f->width));
		json_object_set_new(o, "height", json_integer(f->height));
	}
	if (strcmp(kind, "document") != 0)
		json_object_set_new(o, "duration", json_integer(0));
	if (f->name)
		json_object_set_new(o, "file_name", json_string(f->name));
	if (f->mime)
		json_object_set_new(o, "mime_type", json_string(f->mime));
	return o;
}

static void send_media(struct sim_call *c, const char *kind)
{
	struct sim_chat *ch = target(c, "chat_id", ACC_SEND);
	const char *caption = prm_str(c, "caption");
	json_t *markup, *reply, *m, *ents;
	struct sim_file *f;
	bool bad;

	if (!ch || check_text(c, caption, true) || read_markup(c, &markup) ||
	    read_reply(c, ch, &reply))
		return;
	f = input_file(c, kind, NULL, kind);
	if (!f || !sim_limit_take(c, ch)) {
		json_decref(reply);
		return;
	}
	m = new_msg(c, ch);
	json_object_set_new(m, kind, file_json(f, kind));
	if (caption && *caption) {
		json_object_set_new(m, "caption", json_string(caption));
		ents = prm_json(c, "caption_entities", &bad);
		if (json_is_array(ents))
			json_object_set_new(m, "caption_entities", json_deep_copy(ents));
	}
	finish_msg(c, m, reply, markup);
	c->result = json_deep_copy(store(c, ch, m)->m);
}

static void m_send_photo(struct sim_call *c)
{
	send_media(c, "photo");
}

static void m_send_video(struct sim_call *c)
{
	send_media(c, "video");
}

static void m_send_document(struct sim_call *c)
{
	send_media(c, "document");
}

static void m_send_audio(struct sim_call *c)
{
	send_media(c, "audio");
}

static void m_send_animation(struct sim_call *c)
{
	send_media(c, "animation");
}

static void m_send_media_group(struct sim_call *c)
{
	static const char *const types[] = {"photo", "video", "document", "audio"};
	struct sim_chat *ch = target(c, "chat_id", ACC_SEND);
	struct sim_file *files[10];
	const char *kinds[10];
	json_t *media, *item, *out, *reply;
	char group[32];
	bool bad;
	size_t i, n;

	if (!ch)
		return;
	media = prm_json(c, "media", &bad);
	if (bad || (media && !json_is_array(media))) {
		sim_fail(c, 400, "Bad Request: can't parse media JSON object");
		return;
	}
	n = json_array_size(media);
	if (!n) {
		sim_fail(c, 400, "Bad Request: media to send are not specified");
		return;
	}
	if (n > 10) {
		sim_fail(c, 400, "Bad Request: too much messages to send as an album");
		return;
	}
	if (n < 2) {
		sim_fail(c, 400, "Bad Request: there must be at least 2 media in an album");
		return;
	}
	json_array_foreach(media, i, item)
	{
		const char *t = json_string_value(json_object_get(item, "type"));
		const char *v = json_string_value(json_object_get(item, "media"));
		const char *cap = json_string_value(json_object_get(item, "caption"));
		const char *pm = json_string_value(json_object_get(item, "parse_mode"));
		char detail[192];
		size_t len = 0;

		kinds[i] = NULL;
		for (size_t k = 0; t && k < ARRAY_SIZE(types); k++)
			if (strcmp(t, types[k]) == 0)
				kinds[i] = types[k];
		if (!json_is_object(item) || !kinds[i] || !v) {
			sim_fail(c, 400, "Bad Request: can't parse media JSON object");
			return;
		}
		if (cap && pm && strcasecmp(pm, "HTML") == 0 &&
		    sim_html_check(cap, &len, detail, sizeof(detail))) {
			sim_fail(c, 400, "Bad Request: can't parse entities: %s", detail);
			return;
		}
		if (cap &&
		    (pm && strcasecmp(pm, "HTML") == 0 ? len : sim_utf16_len(cap, strlen(cap))) >
		        1024) {
			sim_fail(c, 400, "Bad Request: message caption is too long");
			return;
		}
		if (!(files[i] = input_file(c, kinds[i], v, kinds[i])))
			return;
	}
	if (read_reply(c, ch, &reply))
		return;
	if (!sim_limit_take(c, ch)) {
		json_decref(reply);
		return;
	}
	snprintf(group, sizeof(group), "%llu",
	         13000000000000000ULL + (unsigned long long)++c->s->seq);
	out = json_array();
	json_array_foreach(media, i, item)
	{
		json_t *m = new_msg(c, ch);
		const char *cap = json_string_value(json_object_get(item, "caption"));
		const char *pm = json_string_value(json_object_get(item, "parse_mode"));
		struct sim_msg *sm;

		json_object_set_new(m, "media_group_id", json_string(group));
		json_object_set_new(m, kinds[i], file_json(files[i], kinds[i]));
		if (cap && *cap)
			json_object_set_new(m, "caption", json_string(cap));
		if (reply)
			json_object_set(m, "reply_to_message", reply);
		sm = sim_msg_add(c->s, ch, m, true);
		if (pm)
			snprintf(sm->parse_mode, sizeof(sm->parse_mode), "%s", pm);
		json_array_append_new(out, json_deep_copy(sm->m));
	}
	json_decref(reply);
	c->result = out;
}

static void m_copy_message(struct sim_call *c)
{
	static const char *const copied[] = {"text",     "entities", "caption",  "caption_entities",
	                                     "photo",    "video",    "document", "audio",
	                                     "animation"};
	struct sim_chat *ch = target(c, "chat_id", ACC_SEND), *from;
	const char *caption = prm_str(c, "caption");
	json_t *markup, *reply, *m;
	struct sim_msg *src, *sm;
	char mode[sizeof(src->parse_mode)];
	int64_t id;

	if (!ch || !(from = target(c, "from_chat_id", ACC_MEMBER)) ||
	    (id = message_id(c, "message_id")) < 0)
		return;
	src = sim_msg_get(from, id);
	if (!src || src->deleted) {
		sim_fail(c, 400, "Bad Request: message to copy not found");
		return;
	}
	if (json_object_get(src->m, "invoice") || json_object_get(src->m, "successful_payment") ||
	    json_object_get(src->m, "refunded_payment")) {
		sim_fail(c, 400, "Bad Request: message can't be copied");
		return;
	}
	if ((caption && check_text(c, caption, true)) || read_markup(c, &markup) ||
	    read_reply(c, ch, &reply))
		return;
	if (!sim_limit_take(c, ch)) {
		json_decref(reply);
		return;
	}
	m = new_msg(c, ch);
	for (size_t i = 0; i < ARRAY_SIZE(copied); i++) {
		json_t *v = json_object_get(src->m, copied[i]);

		if (v)
			json_object_set_new(m, copied[i], json_deep_copy(v));
	}
	if (caption && !json_object_get(m, "text")) {
		json_object_del(m, "caption_entities");
		if (*caption)
			json_object_set_new(m, "caption", json_string(caption));
		else
			json_object_del(m, "caption");
	}
	finish_msg(c, m, reply, markup);
	snprintf(mode, sizeof(mode), "%s", src->parse_mode);
	sm = store(c, ch, m); /* src may have moved: ch can be from */
	if (!caption)
		snprintf(sm->parse_mode, sizeof(sm->parse_mode), "%s", mode);
	c->result = json_pack("{s:O}", "message_id", json_object_get(sm->m, "message_id"));
}

static void m_send_invoice(struct sim_call *c)
{
	struct sim_chat *ch = target(c, "chat_id", ACC_SEND);
	const char *title = prm_str(c, "title"), *desc = prm_str(c, "description");
	const char *payload = prm_str(c, "payload"), *cur = prm_str(c, "currency");
	const char *ptoken = prm_str(c, "provider_token"), *start = prm_str(c, "start_parameter");
	json_t *prices, *p, *markup, *reply, *m;
	json_int_t total = 0;
	struct sim_msg *sm;
	bool bad, stars;
	size_t i;

	if (!ch)
		return;
	if (!title || !*title || sim_utf16_len(title, strlen(title)) > 32) {
		sim_fail(c, 400, "Bad Request: INVOICE_TITLE_INVALID");
		return;
	}
	if (!desc || !*desc || sim_utf16_len(desc, strlen(desc)) > 255) {
		sim_fail(c, 400, "Bad Request: INVOICE_DESCRIPTION_INVALID");
		return;
	}
	if (!payload || !*payload || strlen(payload) > 128) {
		sim_fail(c, 400, "Bad Request: INVOICE_PAYLOAD_INVALID");
		return;
	}
	if (!cur || strlen(cur) != 3) {
		sim_fail(c, 400, "Bad Request: CURRENCY_INVALID");
		return;
	}
	prices = prm_json(c, "prices", &bad);
	if (bad || !json_is_array(prices) || !json_array_size(prices)) {
		sim_fail(c, 400, "Bad Request: can't parse prices JSON object");
		return;
	}
	json_array_foreach(prices, i, p)
	{
		json_t *a = json_object_get(p, "amount");

		if (!json_is_string(json_object_get(p, "label")) || !json_is_integer(a)) {
			sim_fail(c, 400, "Bad Request: can't parse prices JSON object");
			return;
		}
		total += json_integer_value(a);
	}
	stars = strcmp(cur, "XTR") == 0;
	if (stars && (json_array_size(prices) != 1 || total <= 0)) {
		sim_fail(c, 400, "Bad Request: STARS_INVOICE_INVALID");
		return;
	}
	if (!stars && (!ptoken || !*ptoken)) {
		sim_fail(c, 400, "Bad Request: PAYMENT_PROVIDER_INVALID");
		return;
	}
	if (read_markup(c, &markup) || read_reply(c, ch, &reply))
		return;
	if (!sim_limit_take(c, ch)) {
		json_decref(reply);
		return;
	}
	m = new_msg(c, ch);
	json_object_set_new(m, "invoice",
	                    json_pack("{s:s, s:s, s:s, s:s, s:I}", "title", title, "description",
	                              desc, "start_parameter", start ? start : "", "currency", cur,
	                              "total_amount", total));
	finish_msg(c, m, reply, markup);
	sm = store(c, ch, m);
	sm->priv = json_pack("{s:s, s:o}", "invoice_payload", payload, "invoice_prices",
	                     json_deep_copy(prices));
	c->result = json_deep_copy(sm->m);
}

static void m_answer_pre_checkout_query(struct sim_call *c)
{
	struct sim *s = c->s;
	const char *id = prm_str(c, "pre_checkout_query_id");
	const char *msg = prm_str(c, "error_message");
	struct sim_pcq *q = id ? sim_pcq_find(s, id) : NULL;
	bool ok;

	if (!q || q->answered || clock_mono_ms() - q->created_ms > 10000) {
		sim_fail(c, 400, QUERY_TOO_OLD);
		return;
	}
	if (prm_bool(c, "ok", &ok) != 0) {
		sim_fail(c, 400, "Bad Request: ok is empty");
		return;
	}
	if (!ok && (!msg || !*msg)) {
		sim_fail(c, 400, "Bad Request: error_message is empty");
		return;
	}
	q->answered = true;
	q->ok = ok;
	q->error_message = !ok ? xstrdup(msg) : NULL;
	if (ok && q->message_id)
		sim_payment_complete(s, q);
	sim_broadcast(s);
	c->result = json_true();
}

static void m_refund_star_payment(struct sim_call *c)
{
	struct sim *s = c->s;
	const char *charge = prm_str(c, "telegram_payment_charge_id");
	struct sim_payment *p = charge ? sim_payment_find(s, charge) : NULL;
	struct sim_user *u;
	struct sim_msg *sm;
	int64_t uid;

	if (prm_i64(c, "user_id", &uid) != 0) {
		sim_fail(c, 400, "Bad Request: user_id is empty");
		return;
	}
	if (!p || p->user_id != uid) {
		sim_fail(c, 400, "Bad Request: CHARGE_NOT_FOUND");
		return;
	}
	if (p->refunded) {
		sim_fail(c, 400, "Bad Request: CHARGE_ALREADY_REFUNDED");
		return;
	}
	p->refunded = true;
	u = sim_user_find(s, uid);
	if (u) {
		sm = sim_msg_add(s, sim_chat_private(s, u),
		                 json_pack("{s:o, s:{s:s, s:I, s:s, s:s}}", "from",
		                           sim_user_json(u), "refunded_payment", "currency",
		                           p->currency, "total_amount", (json_int_t)p->amount,
		                           "invoice_payload", p->payload ? p->payload : "",
		                           "telegram_payment_charge_id", p->charge_id),
		                 false);
		sim_update_push(s, "message", json_deep_copy(sm->m));
	}
	c->result = json_true();
}

/* The language_code of a commands method ("" for none): 0, or -1 after
 * failing the call for a malformed one. */
static int commands_lang(struct sim_call *c, const char **lang)
{
	const char *l = prm_str(c, "language_code");

	*lang = l ? l : "";
	if (strlen(*lang) > 2 || strspn(*lang, "abcdefghijklmnopqrstuvwxyz") != strlen(*lang)) {
		sim_fail(c, 400, "Bad Request: LANG_CODE_INVALID");
		return -1;
	}
	return 0;
}

static void m_set_my_commands(struct sim_call *c)
{
	bool bad;
	json_t *cmds = prm_json(c, "commands", &bad);
	const char *lang;

	if (bad || !json_is_array(cmds)) {
		sim_fail(c, 400, "Bad Request: can't parse commands JSON object");
		return;
	}
	if (commands_lang(c, &lang))
		return;
	if (*lang) {
		if (!c->s->commands_lang)
			c->s->commands_lang = json_object();
		json_object_set_new(c->s->commands_lang, lang, json_deep_copy(cmds));
	} else {
		json_decref(c->s->commands);
		c->s->commands = json_deep_copy(cmds);
	}
	c->result = json_true();
}

static void m_get_my_commands(struct sim_call *c)
{
	const json_t *cmds;
	const char *lang;

	if (commands_lang(c, &lang))
		return;
	cmds = *lang ? json_object_get(c->s->commands_lang, lang) : c->s->commands;
	c->result = cmds ? json_deep_copy(cmds) : json_array();
}

static void m_delete_my_commands(struct sim_call *c)
{
	const char *lang;

	if (commands_lang(c, &lang))
		return;
	if (*lang) {
		json_object_del(c->s->commands_lang, lang);
	} else {
		json_decref(c->s->commands);
		c->s->commands = NULL;
	}
	c->result = json_true();
}

static void m_send_chat_action(struct sim_call *c)
{
	if (target(c, "chat_id", ACC_SEND))
		c->result = json_true();
}

const struct sim_method sim_methods[] = {
    {"getMe", m_get_me, 0},
    {"getUpdates", m_get_updates, 0},
    {"setWebhook", m_set_webhook, 0},
    {"deleteWebhook", m_delete_webhook, 0},
    {"getWebhookInfo", m_get_webhook_info, 0},
    {"sendMessage", m_send_message, SIM_SENDS},
    {"editMessageText", m_edit_message_text, 0},
    {"editMessageCaption", m_edit_message_caption, 0},
    {"editMessageReplyMarkup", m_edit_message_reply_markup, 0},
    {"deleteMessage", m_delete_message, 0},
    {"pinChatMessage", m_pin_chat_message, 0},
    {"unpinChatMessage", m_unpin_chat_message, 0},
    {"answerCallbackQuery", m_answer_callback_query, 0},
    {"getChat", m_get_chat, 0},
    {"getChatMember", m_get_chat_member, 0},
    {"getChatAdministrators", m_get_chat_administrators, 0},
    {"getChatMemberCount", m_get_chat_member_count, 0},
    {"sendPhoto", m_send_photo, SIM_SENDS | SIM_FETCHES},
    {"sendVideo", m_send_video, SIM_SENDS | SIM_FETCHES},
    {"sendDocument", m_send_document, SIM_SENDS | SIM_FETCHES},
    {"sendAudio", m_send_audio, SIM_SENDS | SIM_FETCHES},
    {"sendAnimation", m_send_animation, SIM_SENDS | SIM_FETCHES},
    {"sendMediaGroup", m_send_media_group, SIM_SENDS | SIM_FETCHES},
    {"copyMessage", m_copy_message, SIM_SENDS},
    {"sendInvoice", m_send_invoice, SIM_SENDS},
    {"answerPreCheckoutQuery", m_answer_pre_checkout_query, 0},
    {"refundStarPayment", m_refund_star_payment, 0},
    {"setMyCommands", m_set_my_commands, 0},
    {"getMyCommands", m_get_my_commands, 0},
    {"deleteMyCommands", m_delete_my_commands, 0},
    {"sendChatAction", m_send_chat_action, 0},
};
const size_t sim_nmethods = ARRAY_SIZE(sim_methods);

static const struct sim_method *find_method(struct str name)
{
	for (size_t i = 0; i < sim_nmethods; i++)
		if (str_case_eq(name, sim_methods[i].name))
			return &sim_methods[i];
	return NULL;
}

static int reply_error(struct http_req *r, int code, const char *desc, int retry_after)
{
	json_t *o = json_pack("{s:b, s:i, s:s}", "ok", 0, "error_code", code, "description", desc);

	if (retry_after)
		json_object_set_new(o, "parameters",
		                    json_pack("{s:i}", "retry_after", retry_after));
	return http_reply_json(r, code, o);
}

/* The window and the injected failures; false when c is answered by them. */
static bool preflight(struct sim_call *c)
{
	struct sim *s = c->s;
	const char *cid = prm_str(c, "chat_id");
	struct sim_chat *ch = NULL;
	struct sim_fail *f;
	int64_t now = clock_mono_ms(), id = 0;

	if ((c->m->flags & SIM_SENDS) && now < s->retry_until_ms) {
		int after = (int)((s->retry_until_ms - now + 999) / 1000);

		s->violations++;
		s->too_many++;
		c->retry_after = after;
		sim_fail(c, 429, "Too Many Requests: retry after %d", after);
		return false;
	}
	if (cid && *cid)
		ch = lookup(s, cid, &id);
	f = sim_fail_match(s, c->m->name, ch || id, ch ? ch->id : id);
	if (!f)
		return true;
	s->injected++;
	switch (f->kind) {
	case SIM_FAIL_HANG: {
		int64_t deadline = now + f->hang_ms;
		int status = f->status;

		/* the rule may be gone after the wait (a reset): copy it first */
		if (status)
			sim_fail(c, status, "%s", f->description);
		while (!s->stopping && sim_wait_until(s, deadline))
			;
		return !status;
	}
	case SIM_FAIL_429:
		s->retry_until_ms = now + (int64_t)f->retry_after * 1000;
		s->too_many++;
		c->retry_after = f->retry_after;
		sim_fail(c, 429, "Too Many Requests: retry after %d", f->retry_after);
		return false;
	case SIM_FAIL_ERROR:
		sim_fail(c, f->status, "%s", f->description);
		return false;
	}
	return true;
}

int sim_botapi(struct http_req *r)
{
	struct sim *s = r->ctx;
	struct str tok = router_param(&r->match, "tok");
	struct str name = router_param(&r->match, "method");
	struct sim_call c = {0};
	json_t *o;
	int rc;

	if (!str_starts(tok, "bot"))
		return reply_error(r, 404, "Not Found", 0);
	tok.p += 3;
	tok.len -= 3;
	if (!str_eqc(tok, s->token))
		return reply_error(r, 401, "Unauthorized", 0);
	c.m = find_method(name);
	if (!c.m) {
		pthread_mutex_lock(&s->mu);
		s->requests_total++;
		pthread_mutex_unlock(&s->mu);
		return reply_error(r, 404, "Not Found", 0);
	}
	c.s = s;
	c.r = r;
	if (!sim_params_read(&c) && (c.m->flags & SIM_FETCHES))
		sim_prefetch(&c);

	pthread_mutex_lock(&s->mu);
	s->requests_total++;
	o = json_object_get(s->requests, c.m->name);
	json_object_set_new(s->requests, c.m->name,
	                    json_integer(o ? json_integer_value(o) + 1 : 1));
	/* the audience is where Telegram's clock says before any method reads
	 * a member count or takes updates */
	sim_audience_tick(s);
	if (!c.code && preflight(&c))
		c.m->fn(&c);
	pthread_mutex_unlock(&s->mu);

	if (c.code) {
		rc = reply_error(r, c.code, c.desc, c.retry_after);
	} else {
		o = json_pack("{s:b, s:O}", "ok", 1, "result", c.result ? c.result : json_true());
		if (c.description)
			json_object_set_new(o, "description", json_string(c.description));
		rc = http_reply_json(r, 200, o);
	}
	sim_call_release(&c);
	return rc;
}
