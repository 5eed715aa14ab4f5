/*
 * control: the simulator's control API under /control/ (docs/simulator.md is
 * its contract). Tests and the demo page use it to act as Telegram users and
 * channel administrators (each action queues the update Telegram would
 * send), to inject failures, and to read what the bot did. Requests and
 * answers are JSON; a failure is {"error": "..."} with 400 (bad input), 403
 * (the acting user may not), 404 (no such user, chat or message) or 409
 * (the state does not allow it).
 */
#include "sim/sim_impl.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "sim/drivers.h"

#define MAX_WAIT_MS 60000

static int reply(struct http_req *r, json_t *v)
{
	return http_reply_json(r, 200, v);
}

static int fail(struct http_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct http_req *r, int status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return http_reply_json(r, status, json_pack("{s:s}", "error", msg));
}

/* The body as a JSON object ({} when empty); NULL after answering 400. */
static json_t *body(struct http_req *r)
{
	json_t *v = NULL;
	struct err e = {0};

	if (!r->body.len)
		return json_object();
	if (json_parse(r->body.p, r->body.len, SIM_JSON_DEPTH, &v, &e) || !json_is_object(v)) {
		json_decref(v);
		fail(r, 400, "the body must be a JSON object (%s)", e.msg[0] ? e.msg : "not one");
		return NULL;
	}
	return v;
}

/* An integer field (a JSON integer or a string of digits): 0 read, 1 absent,
 * -1 malformed. */
static int get_i64(const json_t *o, const char *key, int64_t *v)
{
	json_t *x = json_object_get(o, key);

	if (!x || json_is_null(x))
		return 1;
	if (json_is_integer(x)) {
		*v = json_integer_value(x);
		return 0;
	}
	if (json_is_string(x) && !str_to_i64(str_c(json_string_value(x)), INT64_MIN, INT64_MAX, v))
		return 0;
	return -1;
}

static const char *get_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int path_id(struct http_req *r, int64_t *id)
{
	return str_to_i64(router_param(&r->match, "id"), INT64_MIN, INT64_MAX, id);
}

static const char *query(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static int64_t query_i64(struct http_req *r, const char *name, int64_t dflt)
{
	const char *v = query(r, name);
	int64_t x;

	return v && !str_to_i64(str_c(v), INT64_MIN, INT64_MAX, &x) ? x : dflt;
}

static char *dup_opt(const char *v)
{
	return v ? xstrdup(v) : NULL;
}

/* ---- bot and simulator ---- */

/* A file the bot uploaded (or a user sent), as its bytes. */
static int c_file(struct http_req *r)
{
	struct sim *s = r->ctx;
	struct str v = router_param(&r->match, "id");
	char id[sizeof(((struct sim_file *)0)->file_id)], mime[128];
	const struct sim_file *f;
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (v.len == 0 || v.len >= sizeof(id))
		return fail(r, 404, "no such file");
	memcpy(id, v.p, v.len);
	id[v.len] = '\0';
	pthread_mutex_lock(&s->mu);
	f = sim_file_find(s, id);
	if (f) {
		len = (size_t)f->size;
		data = xmalloc(len ? len : 1);
		memcpy(data, f->data, len);
		snprintf(mime, sizeof(mime), "%s", f->mime ? f->mime : "application/octet-stream");
	}
	pthread_mutex_unlock(&s->mu);
	if (!data)
		return fail(r, 404, "no such file: %s", id);
	rc = http_reply(r, 200, mime, data, len);
	free(data);
	return rc;
}

static int c_reset(struct http_req *r)
{
	struct sim *s = r->ctx;

	pthread_mutex_lock(&s->mu);
	sim_world_release(s);
	sim_world_init(s);
	sim_broadcast(s);
	pthread_mutex_unlock(&s->mu);
	sim_payme_reset(s->payme);
	sim_click_reset(s->click);
	return reply(r, json_pack("{s:b}", "ok", 1));
}

static int c_stats(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *o;

	pthread_mutex_lock(&s->mu);
	o = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:b, s:{s:I, s:I, s:I}}", "requests",
	              json_deep_copy(s->requests), "requests_total", (json_int_t)s->requests_total,
	              "violations", (json_int_t)s->violations, "too_many_requests",
	              (json_int_t)s->too_many, "injected_failures", (json_int_t)s->injected,
	              "pending_updates", (json_int_t)s->nupdates, "rate_limits", s->rate_limits,
	              "webhook", "delivered", (json_int_t)s->wh.delivered, "failed_attempts",
	              (json_int_t)s->wh.failed, "given_up", (json_int_t)s->wh.given_up);
	pthread_mutex_unlock(&s->mu);
	return reply(r, o);
}

static int c_bot(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *o;

	pthread_mutex_lock(&s->mu);
	o = json_pack("{s:o, s:s, s:o, s:o, s:b}", "user", sim_bot_json(s), "token", s->token,
	              "commands", s->commands ? json_deep_copy(s->commands) : json_array(),
	              "commands_by_language",
	              s->commands_lang ? json_deep_copy(s->commands_lang) : json_object(),
	              "rate_limits", s->rate_limits);
	pthread_mutex_unlock(&s->mu);
	return reply(r, o);
}

static int c_rate_limits(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r), *en;

	if (!b)
		return -1;
	en = json_object_get(b, "enabled");
	if (!json_is_boolean(en)) {
		json_decref(b);
		return fail(r, 400, "enabled must be true or false");
	}
	pthread_mutex_lock(&s->mu);
	s->rate_limits = json_is_true(en);
	if (!s->rate_limits)
		s->retry_until_ms = 0;
	pthread_mutex_unlock(&s->mu);
	json_decref(b);
	return reply(r, json_pack("{s:b}", "rate_limits", json_is_true(en)));
}

/* ---- users ---- */

static json_t *user_view(const struct sim_user *u)
{
	json_t *o = sim_user_json(u);

	json_object_set_new(o, "started", json_boolean(u->started));
	json_object_set_new(o, "blocked", json_boolean(u->blocked));
	return o;
}

static int c_user_add(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r), *o = NULL;
	struct sim_user *u;
	int64_t id = 0;
	char name[32];
	int rc;

	if (!b)
		return -1;
	if (get_i64(b, "id", &id) < 0 || id < 0) {
		rc = fail(r, 400, "id must be a positive integer");
		goto out;
	}
	pthread_mutex_lock(&s->mu);
	if (id && (sim_user_find(s, id) || id == s->bot_id)) {
		pthread_mutex_unlock(&s->mu);
		rc = fail(r, 409, "user %lld exists", (long long)id);
		goto out;
	}
	u = sim_user_add(s, id);
	snprintf(name, sizeof(name), "User %lld", (long long)u->id);
	u->first_name = xstrdup(get_str(b, "first_name") ? get_str(b, "first_name") : name);
	u->last_name = dup_opt(get_str(b, "last_name"));
	u->username = dup_opt(get_str(b, "username"));
	u->language_code = dup_opt(get_str(b, "language_code"));
	u->is_bot = json_is_true(json_object_get(b, "is_bot"));
	o = user_view(u);
	pthread_mutex_unlock(&s->mu);
	rc = reply(r, o);
out:
	json_decref(b);
	return rc;
}

static int c_user_get(struct http_req *r)
{
	struct sim *s = r->ctx;
	struct sim_user *u;
	json_t *o = NULL;
	int64_t id;

	if (path_id(r, &id))
		return fail(r, 400, "bad user id");
	pthread_mutex_lock(&s->mu);
	u = sim_user_find(s, id);
	if (u)
		o = user_view(u);
	pthread_mutex_unlock(&s->mu);
	return o ? reply(r, o) : fail(r, 404, "no user %lld", (long long)id);
}

/* bot_command entities of text: "/cmd" or "/cmd@bot" at the start of a word. */
static json_t *command_entities(const char *text)
{
	json_t *out = json_array();
	size_t n = strlen(text);

	for (size_t i = 0; i < n; i++) {
		size_t e = i + 1;

		if (text[i] != '/' || (i && text[i - 1] != ' ' && text[i - 1] != '\n'))
			continue;
		while (e < n &&
		       (text[e] == '_' || (text[e] >= 'a' && text[e] <= 'z') ||
		        (text[e] >= 'A' && text[e] <= 'Z') || (text[e] >= '0' && text[e] <= '9')))
			e++;
		if (e == i + 1 || e - i > 65)
			continue;
		if (e < n && text[e] == '@') {
			size_t a = e + 1;

			while (a < n && (text[a] == '_' || (text[a] >= 'a' && text[a] <= 'z') ||
			                 (text[a] >= 'A' && text[a] <= 'Z') ||
			                 (text[a] >= '0' && text[a] <= '9')))
				a++;
			if (a > e + 1)
				e = a;
		}
		if (e < n && text[e] != ' ' && text[e] != '\n')
			continue;
		json_array_append_new(out,
		                      json_pack("{s:s, s:I, s:I}", "type", "bot_command", "offset",
		                                (json_int_t)sim_utf16_len(text, i), "length",
		                                (json_int_t)sim_utf16_len(text + i, e - i)));
		i = e;
	}
	if (!json_array_size(out)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* The user of the path, able to write to the bot; NULL after answering. */
static struct sim_user *writer(struct http_req *r, struct sim *s)
{
	struct sim_user *u;
	int64_t id;

	if (path_id(r, &id)) {
		fail(r, 400, "bad user id");
		return NULL;
	}
	u = sim_user_find(s, id);
	if (!u) {
		fail(r, 404, "no user %lld", (long long)id);
		return NULL;
	}
	if (u->blocked) {
		fail(r, 409, "user %lld has blocked the bot; unblock it first", (long long)id);
		return NULL;
	}
	return u;
}

/* Queue m (a user's message, stolen) in u's private chat; the answer. */
static json_t *user_says(struct sim *s, struct sim_user *u, json_t *m)
{
	struct sim_chat *ch = sim_chat_private(s, u);
	struct sim_msg *sm;
	int64_t uid;

	json_object_set_new(m, "from", sim_user_json(u));
	sm = sim_msg_add(s, ch, m, false);
	uid = sim_update_push(s, "message", json_deep_copy(sm->m));
	return json_pack("{s:o, s:o}", "message", json_deep_copy(sm->m), "update_id",
	                 uid ? json_integer(uid) : json_null());
}

static int c_user_message(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r), *m, *ents, *o = NULL;
	const char *text;
	struct sim_user *u;
	int64_t reply_to = 0;
	int rc;

	if (!b)
		return -1;
	text = get_str(b, "text");
	if (!text || !*text) {
		json_decref(b);
		return fail(r, 400, "text is required");
	}
	pthread_mutex_lock(&s->mu);
	if (!(u = writer(r, s))) {
		rc = -1;
		goto out;
	}
	m = json_pack("{s:s}", "text", text);
	ents = json_object_get(b, "entities");
	if (json_is_array(ents))
		json_object_set_new(m, "entities", json_deep_copy(ents));
	else if ((ents = command_entities(text)))
		json_object_set_new(m, "entities", ents);
	if (get_i64(b, "reply_to_message_id", &reply_to) == 0) {
		struct sim_chat *ch = sim_chat_find(s, u->id);
		struct sim_msg *sm = ch ? sim_msg_get(ch, reply_to) : NULL;

		if (!sm || sm->deleted) {
			json_decref(m);
			rc = fail(r, 404, "no message %lld to reply to", (long long)reply_to);
			goto out;
		}
		json_object_set_new(m, "reply_to_message", json_deep_copy(sm->m));
		json_object_del(json_object_get(m, "reply_to_message"), "reply_to_message");
	}
	o = user_says(s, u, m);
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	json_decref(b);
	return o ? reply(r, o) : rc;
}

/* The chat named by a body field, or by default u's private chat. */
static struct sim_chat *body_chat(struct sim *s, const json_t *b, const char *key,
                                  const struct sim_user *u)
{
	const char *name = get_str(b, key);
	int64_t id;

	if (name && name[0] == '@')
		return sim_chat_by_username(s, name + 1);
	if (get_i64(b, key, &id) == 0)
		return sim_chat_find(s, id);
	return u ? sim_chat_find(s, u->id) : NULL;
}

static const json_t *find_button(const json_t *markup, const json_t *b)
{
	json_t *rows = json_object_get(markup, "inline_keyboard"), *row, *btn;
	const char *text = get_str(b, "button_text");
	int64_t rr, cc;
	size_t i, j;

	if (get_i64(b, "row", &rr) == 0 && get_i64(b, "col", &cc) == 0)
		return json_array_get(json_array_get(rows, (size_t)rr), (size_t)cc);
	if (!text)
		return NULL;
	json_array_foreach(rows, i, row)
	{
		json_array_foreach(row, j, btn)
		{
			const char *t = get_str(btn, "text");

			if (t && strcmp(t, text) == 0)
				return btn;
		}
	}
	return NULL;
}

static int c_user_callback(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r), *o = NULL, *q;
	struct sim_user *u;
	struct sim_chat *ch;
	struct sim_msg *sm;
	struct sim_cbq *cq;
	const json_t *btn;
	const char *data;
	char inst[32];
	int64_t mid, uid;
	int rc = -1;

	if (!b)
		return -1;
	pthread_mutex_lock(&s->mu);
	if (!(u = writer(r, s)))
		goto out;
	ch = body_chat(s, b, "chat_id", u);
	if (!ch) {
		rc = fail(r, 404, "no such chat");
		goto out;
	}
	if (get_i64(b, "message_id", &mid) != 0 || !(sm = sim_msg_get(ch, mid)) || sm->deleted) {
		rc = fail(r, 404, "no such message in chat %lld", (long long)ch->id);
		goto out;
	}
	data = get_str(b, "data");
	btn = find_button(json_object_get(sm->m, "reply_markup"), b);
	if (!btn && (json_object_get(b, "button_text") || json_object_get(b, "row"))) {
		rc = fail(r, 404, "the message has no such button");
		goto out;
	}
	if (btn && !data) {
		data = get_str(btn, "callback_data");
		if (!data) {
			rc = fail(r, 400, "the button has no callback_data");
			goto out;
		}
	}
	if (!data) {
		rc = fail(r, 400, "give button_text, row and col, or data");
		goto out;
	}
	cq = sim_cbq_add(s);
	cq->user_id = u->id;
	cq->chat_id = ch->id;
	cq->message_id = mid;
	cq->data = xstrdup(data);
	snprintf(inst, sizeof(inst), "%lld", (long long)(ch->id ^ s->bot_id));
	q = json_pack("{s:s, s:o, s:o, s:s, s:s}", "id", cq->id, "from", sim_user_json(u),
	              "message", json_deep_copy(sm->m), "chat_instance", inst, "data", data);
	uid = sim_update_push(s, "callback_query", q);
	o = json_pack("{s:s, s:s, s:o}", "callback_query_id", cq->id, "data", data, "update_id",
	              uid ? json_integer(uid) : json_null());
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	json_decref(b);
	return o ? reply(r, o) : rc;
}

static int c_user_forward(struct http_req *r)
{
	static const char *const copied[] = {"text",     "entities", "caption",  "caption_entities",
	                                     "photo",    "video",    "document", "audio",
	                                     "animation"};
	struct sim *s = r->ctx;
	json_t *b = body(r), *o = NULL, *m, *origin;
	struct sim_user *u;
	struct sim_chat *ch;
	struct sim_msg *sm;
	int64_t mid;
	int rc = -1;

	if (!b)
		return -1;
	pthread_mutex_lock(&s->mu);
	if (!(u = writer(r, s)))
		goto out;
	ch = body_chat(s, b, "channel_id", NULL);
	if (!ch || ch->type != SIM_CHANNEL) {
		rc = fail(r, 404, "no such channel");
		goto out;
	}
	if (get_i64(b, "message_id", &mid) != 0 || !(sm = sim_msg_get(ch, mid)) || sm->deleted) {
		rc = fail(r, 404, "no such post in channel %lld", (long long)ch->id);
		goto out;
	}
	origin = json_pack("{s:s, s:o, s:I, s:O}", "type", "channel", "chat", sim_chat_json(s, ch),
	                   "message_id", (json_int_t)mid, "date", json_object_get(sm->m, "date"));
	if (json_object_get(sm->m, "author_signature"))
		json_object_set(origin, "author_signature",
		                json_object_get(sm->m, "author_signature"));
	m = json_pack("{s:o, s:o, s:I, s:O}", "forward_origin", origin, "forward_from_chat",
	              sim_chat_json(s, ch), "forward_from_message_id", (json_int_t)mid,
	              "forward_date", json_object_get(sm->m, "date"));
	for (size_t i = 0; i < ARRAY_SIZE(copied); i++) {
		json_t *v = json_object_get(sm->m, copied[i]);

		if (v)
			json_object_set_new(m, copied[i], json_deep_copy(v));
	}
	o = user_says(s, u, m);
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	json_decref(b);
	return o ? reply(r, o) : rc;
}

static int block(struct http_req *r, bool blocked)
{
	struct sim *s = r->ctx;
	struct sim_chat tmp = {.type = SIM_PRIVATE};
	struct sim_chat *ch;
	struct sim_user *u;
	json_t *oldm, *newm;
	int64_t id, uid;
	int rc;

	if (path_id(r, &id))
		return fail(r, 400, "bad user id");
	pthread_mutex_lock(&s->mu);
	u = sim_user_find(s, id);
	if (!u) {
		rc = fail(r, 404, "no user %lld", (long long)id);
		goto out;
	}
	if (u->blocked == blocked) {
		rc = fail(r, 409, "user %lld has %s the bot already", (long long)id,
		          blocked ? "blocked" : "not blocked");
		goto out;
	}
	ch = sim_chat_find(s, id);
	tmp.id = id;
	oldm = sim_bot_member_json(s, ch ? ch : &tmp);
	u->blocked = blocked;
	newm = sim_bot_member_json(s, ch ? ch : &tmp);
	uid = sim_my_chat_member(s, ch ? ch : &tmp, id, oldm, newm);
	rc = reply(r, json_pack("{s:o, s:b}", "update_id", uid ? json_integer(uid) : json_null(),
	                        "blocked", blocked));
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int c_user_block(struct http_req *r)
{
	return block(r, true);
}

static int c_user_unblock(struct http_req *r)
{
	return block(r, false);
}

static int c_user_pay(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r), *o = NULL, *inv, *payload;
	struct sim_user *u;
	struct sim_chat *ch;
	struct sim_msg *sm;
	struct sim_pcq *q;
	int64_t mid, uid;
	int rc = -1;

	if (!b)
		return -1;
	pthread_mutex_lock(&s->mu);
	if (!(u = writer(r, s)))
		goto out;
	ch = body_chat(s, b, "chat_id", u);
	if (!ch || get_i64(b, "message_id", &mid) != 0 || !(sm = sim_msg_get(ch, mid)) ||
	    !(inv = json_object_get(sm->m, "invoice"))) {
		rc = fail(r, 404, "no such invoice message");
		goto out;
	}
	payload = json_object_get(sm->priv, "invoice_payload");
	q = sim_pcq_add(s);
	q->user_id = u->id;
	q->chat_id = ch->id;
	q->message_id = mid;
	q->q = json_pack("{s:s, s:o, s:O, s:O, s:o}", "id", q->id, "from", sim_user_json(u),
	                 "currency", json_object_get(inv, "currency"), "total_amount",
	                 json_object_get(inv, "total_amount"), "invoice_payload",
	                 payload ? json_incref(payload) : json_string(""));
	uid = sim_update_push(s, "pre_checkout_query", json_deep_copy(q->q));
	o = json_pack("{s:s, s:o}", "pre_checkout_query_id", q->id, "update_id",
	              uid ? json_integer(uid) : json_null());
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	json_decref(b);
	return o ? reply(r, o) : rc;
}

/* ---- channels ---- */

static json_t *channel_view(struct sim *s, struct sim_chat *ch)
{
	json_t *members = json_array();

	for (size_t i = 0; i < ch->nmembers; i++)
		json_array_append_new(members, sim_member_json(s, ch, ch->members[i].user_id));
	json_t *o = json_pack("{s:o, s:I, s:o, s:o}", "chat", sim_chat_json(s, ch), "member_count",
	                      (json_int_t)ch->member_count, "members", members, "bot",
	                      sim_bot_member_json(s, ch));

	if (ch->description)
		json_object_set_new(o, "description", json_string(ch->description));
	return o;
}

static bool valid_username(const char *u)
{
	size_t n = strlen(u);

	for (size_t i = 0; i < n; i++)
		if (!(u[i] == '_' || (u[i] >= 'a' && u[i] <= 'z') || (u[i] >= 'A' && u[i] <= 'Z') ||
		      (u[i] >= '0' && u[i] <= '9')))
			return false;
	return n >= 4 && n <= 32;
}

/* Make user a member with status and rights (object or NULL) in ch;
 * false with msg set when they are not valid. */
static bool set_member(struct sim_chat *ch, int64_t user, const char *status, const json_t *rights,
                       const char *title, char *msg, size_t msgsz)
{
	enum sim_status st;
	json_t *rr = NULL;
	struct sim_member *m;

	if (!status || sim_status_parse(status, &st)) {
		snprintf(msg, msgsz,
		         "status must be creator, administrator, member, left or kicked");
		return false;
	}
	if (st == SIM_ADMIN && !(rr = sim_rights_new(rights, msg, msgsz)))
		return false;
	m = sim_member_set(ch, user, st, rr);
	free(m->custom_title);
	m->custom_title = dup_opt(title);
	return true;
}

static int c_channel_add(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r), *admins, *a, *o = NULL;
	const char *title, *uname;
	struct sim_chat *ch;
	int64_t id = 0, creator, count;
	char msg[160];
	size_t i;
	int rc = -1;

	if (!b)
		return -1;
	title = get_str(b, "title");
	uname = get_str(b, "username");
	admins = json_object_get(b, "admins");
	if (!title || !*title) {
		rc = fail(r, 400, "title is required");
		goto out_nolock;
	}
	if (get_i64(b, "creator_id", &creator) != 0) {
		rc = fail(r, 400, "creator_id is required");
		goto out_nolock;
	}
	if (get_i64(b, "id", &id) < 0 || id > -1000000000000LL) {
		if (json_object_get(b, "id")) {
			rc = fail(r, 400, "id must look like -100xxxxxxxxxx");
			goto out_nolock;
		}
		id = 0;
	}
	if (uname && !valid_username(uname)) {
		rc = fail(r, 400, "username must be 4-32 letters, digits or _");
		goto out_nolock;
	}
	if (admins && !json_is_array(admins)) {
		rc = fail(r, 400, "admins must be an array");
		goto out_nolock;
	}
	pthread_mutex_lock(&s->mu);
	if (!sim_user_find(s, creator)) {
		rc = fail(r, 404, "no user %lld (creator_id)", (long long)creator);
		goto out;
	}
	if ((id && sim_chat_find(s, id)) || (uname && sim_chat_by_username(s, uname))) {
		rc = fail(r, 409, "a chat with that id or username exists");
		goto out;
	}
	json_array_foreach(admins, i, a)
	{
		int64_t uid;

		if (get_i64(a, "user_id", &uid) != 0 || !sim_user_find(s, uid)) {
			rc = fail(r, 404, "admins[%zu]: no such user", i);
			goto out;
		}
		json_t *rr = sim_rights_new(json_object_get(a, "rights"), msg, sizeof(msg));

		if (!rr) {
			rc = fail(r, 400, "admins[%zu]: %s", i, msg);
			goto out;
		}
		json_decref(rr);
	}
	ch = sim_channel_add(s, id);
	ch->title = xstrdup(title);
	ch->username = dup_opt(uname);
	ch->description = dup_opt(get_str(b, "description"));
	sim_member_set(ch, creator, SIM_CREATOR, NULL);
	json_array_foreach(admins, i, a)
	{
		int64_t uid = 0;

		if (get_i64(a, "user_id", &uid) == 0)
			set_member(ch, uid, "administrator", json_object_get(a, "rights"),
			           get_str(a, "custom_title"), msg, sizeof(msg));
	}
	sim_audience_set_count(ch, get_i64(b, "member_count", &count) == 0 ? count
	                                                                   : (int64_t)ch->nmembers);
	o = channel_view(s, ch);
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
out_nolock:
	json_decref(b);
	return o ? reply(r, o) : rc;
}

struct sim_chat *sim_control_channel(struct http_req *r, struct sim *s)
{
	struct str v = router_param(&r->match, "id");
	struct sim_chat *ch = NULL;
	int64_t id;

	if (v.len > 1 && v.p[0] == '@') {
		char name[64];

		snprintf(name, sizeof(name), "%.*s", (int)v.len - 1, v.p + 1);
		ch = sim_chat_by_username(s, name);
	} else if (!str_to_i64(v, INT64_MIN, INT64_MAX, &id)) {
		ch = sim_chat_find(s, id);
	}
	if (!ch || ch->type != SIM_CHANNEL) {
		fail(r, 404, "no such channel");
		return NULL;
	}
	return ch;
}

static int c_channel_get(struct http_req *r)
{
	struct sim *s = r->ctx;
	struct sim_chat *ch;
	json_t *o = NULL;

	pthread_mutex_lock(&s->mu);
	sim_audience_tick(s);
	if ((ch = sim_control_channel(r, s)))
		o = channel_view(s, ch);
	pthread_mutex_unlock(&s->mu);
	return o ? reply(r, o) : -1;
}

/* {"username": "name"} makes the channel public under that name, null
 * private (no public page, no @name for the Bot API). */
static int c_channel_username(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r), *o = NULL, *v;
	const char *uname;
	struct sim_chat *ch, *other;
	int rc = -1;

	if (!b)
		return -1;
	v = json_object_get(b, "username");
	uname = json_string_value(v);
	if (!v || (!json_is_null(v) && (!uname || !valid_username(uname)))) {
		json_decref(b);
		return fail(r, 400, "username must be 4-32 letters, digits or _, or null");
	}
	pthread_mutex_lock(&s->mu);
	if (!(ch = sim_control_channel(r, s)))
		goto out;
	other = uname ? sim_chat_by_username(s, uname) : NULL;
	if (other && other != ch) {
		rc = fail(r, 409, "a chat with that username exists");
		goto out;
	}
	free(ch->username);
	ch->username = dup_opt(uname);
	o = channel_view(s, ch);
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	json_decref(b);
	return o ? reply(r, o) : rc;
}

static int c_channel_member(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r), *o = NULL;
	struct sim_chat *ch;
	int64_t uid;
	char msg[160];
	int rc = -1;

	if (!b)
		return -1;
	pthread_mutex_lock(&s->mu);
	if (!(ch = sim_control_channel(r, s)))
		goto out;
	if (get_i64(b, "user_id", &uid) != 0 || !sim_user_find(s, uid)) {
		rc = fail(r, 404, "no such user (user_id)");
		goto out;
	}
	if (!set_member(ch, uid, get_str(b, "status"), json_object_get(b, "rights"),
	                get_str(b, "custom_title"), msg, sizeof(msg))) {
		rc = fail(r, 400, "%s", msg);
		goto out;
	}
	o = sim_member_json(s, ch, uid);
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	json_decref(b);
	return o ? reply(r, o) : rc;
}

static int c_channel_count(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r);
	struct sim_chat *ch;
	int64_t n;
	int rc = -1;

	if (!b)
		return -1;
	if (get_i64(b, "count", &n) != 0 || n < 0) {
		json_decref(b);
		return fail(r, 400, "count must be a non-negative integer");
	}
	pthread_mutex_lock(&s->mu);
	sim_audience_tick(s);
	if ((ch = sim_control_channel(r, s))) {
		sim_audience_set_count(ch, n);
		rc = reply(r, json_pack("{s:I}", "member_count", (json_int_t)n));
	}
	pthread_mutex_unlock(&s->mu);
	json_decref(b);
	return rc;
}

/* May user uid change who administers ch? */
static bool can_promote(struct sim_chat *ch, int64_t uid)
{
	struct sim_member *m = sim_member_find(ch, uid);

	return m && (m->status == SIM_CREATOR ||
	             (m->status == SIM_ADMIN && sim_right(m->rights, "can_promote_members")));
}

static int c_channel_bot(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r), *o = NULL, *oldm, *newm, *rights = NULL;
	struct sim_chat *ch;
	enum sim_status st;
	const char *status;
	int64_t by, uid = 0;
	char msg[160];
	int rc = -1;

	if (!b)
		return -1;
	status = get_str(b, "status");
	if (!status || sim_status_parse(status, &st) || st == SIM_CREATOR) {
		json_decref(b);
		return fail(r, 400, "status must be administrator, member, left or kicked");
	}
	if (st == SIM_ADMIN &&
	    !(rights = sim_rights_new(json_object_get(b, "rights"), msg, sizeof(msg)))) {
		json_decref(b);
		return fail(r, 400, "%s", msg);
	}
	pthread_mutex_lock(&s->mu);
	if (!(ch = sim_control_channel(r, s)))
		goto out;
	if (get_i64(b, "by", &by) != 0) {
		rc = fail(r, 400, "by (the acting user's id) is required");
		goto out;
	}
	if (!can_promote(ch, by)) {
		rc = fail(r, 403,
		          "user %lld is neither the creator nor an administrator who may promote",
		          (long long)by);
		goto out;
	}
	oldm = sim_bot_member_json(s, ch);
	ch->bot_status = st;
	json_decref(ch->bot_rights);
	ch->bot_rights = rights;
	rights = NULL;
	newm = sim_bot_member_json(s, ch);
	if (json_equal(oldm, newm)) {
		json_decref(oldm);
	} else {
		uid = sim_my_chat_member(s, ch, by, oldm, json_deep_copy(newm));
	}
	o = json_pack("{s:o, s:o}", "bot", newm, "update_id",
	              uid ? json_integer(uid) : json_null());
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	json_decref(rights);
	json_decref(b);
	return o ? reply(r, o) : rc;
}

struct sim_file *sim_fake_photo(struct sim *s)
{
	/* a 1x1 PNG */
	static const unsigned char png[] = {
	    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
	    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
	    0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78,
	    0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99,
	    0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

	return sim_file_add(s, "photo", (const char *)png, sizeof(png), NULL, "image/png");
}

static int c_channel_post(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r), *o = NULL, *m, *photo, *ents;
	const char *text, *caption, *sig;
	struct sim_chat *ch;
	struct sim_member *mem;
	struct sim_file *f = NULL;
	struct sim_msg *sm;
	int64_t by = 0, uid = 0;
	int rc = -1;

	if (!b)
		return -1;
	text = get_str(b, "text");
	caption = get_str(b, "caption");
	sig = get_str(b, "author_signature");
	photo = json_object_get(b, "photo");
	pthread_mutex_lock(&s->mu);
	sim_audience_tick(s);
	if (!(ch = sim_control_channel(r, s)))
		goto out;
	if (get_i64(b, "by", &by) == 0) {
		mem = sim_member_find(ch, by);
		if (!mem ||
		    !(mem->status == SIM_CREATOR ||
		      (mem->status == SIM_ADMIN && sim_right(mem->rights, "can_post_messages")))) {
			rc = fail(r, 403, "user %lld may not post in this channel", (long long)by);
			goto out;
		}
	}
	if (json_is_string(photo) && !(f = sim_file_find(s, json_string_value(photo)))) {
		rc = fail(r, 404, "no file with that file_id");
		goto out;
	}
	if (json_is_true(photo))
		f = sim_fake_photo(s);
	if (!f && (!text || !*text)) {
		rc = fail(r, 400, "text (or photo) is required");
		goto out;
	}
	m = json_pack("{s:o}", "sender_chat", sim_chat_json(s, ch));
	if (f) {
		json_object_set_new(m, "photo",
		                    json_pack("[{s:s, s:s, s:I, s:i, s:i}]", "file_id", f->file_id,
		                              "file_unique_id", f->unique_id, "file_size",
		                              (json_int_t)f->size, "width", f->width, "height",
		                              f->height));
		if (caption && *caption)
			json_object_set_new(m, "caption", json_string(caption));
	} else {
		json_object_set_new(m, "text", json_string(text));
		ents = json_object_get(b, "entities");
		if (json_is_array(ents))
			json_object_set_new(m, "entities", json_deep_copy(ents));
	}
	if (sig)
		json_object_set_new(m, "author_signature", json_string(sig));
	sm = sim_msg_add(s, ch, m, false);
	if (ch->bot_status == SIM_ADMIN)
		uid = sim_update_push(s, "channel_post", json_deep_copy(sm->m));
	o = json_pack("{s:o, s:o}", "message", json_deep_copy(sm->m), "update_id",
	              uid ? json_integer(uid) : json_null());
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	json_decref(b);
	return o ? reply(r, o) : rc;
}

/* ---- reading ---- */

static int c_chat_messages(struct http_req *r)
{
	struct sim *s = r->ctx;
	struct str v = router_param(&r->match, "id");
	int64_t after = query_i64(r, "after", 0), wait = query_i64(r, "wait_ms", 0);
	int64_t since = query_i64(r, "since_version", -1), limit = query_i64(r, "limit", 1000);
	const char *allq = query(r, "all");
	bool all = allq && (strcmp(allq, "1") == 0 || strcmp(allq, "true") == 0);
	int64_t deadline, id = 0;
	char name[64] = "";
	json_t *o;

	if (v.len > 1 && v.p[0] == '@')
		snprintf(name, sizeof(name), "%.*s", (int)v.len - 1, v.p + 1);
	else if (str_to_i64(v, INT64_MIN, INT64_MAX, &id))
		return fail(r, 400, "bad chat id");
	wait = wait < 0 ? 0 : wait > MAX_WAIT_MS ? MAX_WAIT_MS : wait;
	deadline = clock_mono_ms() + wait;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct sim_chat *ch =
		    name[0] ? sim_chat_by_username(s, name) : sim_chat_find(s, id);
		json_t *list = json_array();
		int64_t version = ch ? ch->version : 0;

		for (size_t i = 0; ch && i < ch->nmsgs && json_array_size(list) < (size_t)limit;
		     i++) {
			const struct sim_msg *sm = &ch->msgs[i];

			if ((int64_t)i + 1 > after && (all || sm->from_bot))
				json_array_append_new(list, sim_msg_view(sm));
		}
		if (s->stopping || (since >= 0 ? version > since : json_array_size(list) > 0) ||
		    !sim_wait_until(s, deadline)) {
			o = json_pack("{s:I, s:I, s:o}", "chat_id", (json_int_t)(ch ? ch->id : id),
			              "version", (json_int_t)version, "messages", list);
			break;
		}
		json_decref(list);
	}
	pthread_mutex_unlock(&s->mu);
	return reply(r, o);
}

static int c_updates_get(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *list = json_array(), *o;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nupdates; i++)
		json_array_append_new(list, json_deep_copy(s->updates[i].u));
	o = json_pack("{s:o, s:o}", "pending", list, "allowed_updates",
	              s->allowed ? json_deep_copy(s->allowed) : json_null());
	pthread_mutex_unlock(&s->mu);
	return reply(r, o);
}

static int c_updates_inject(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r), *o, *v;
	const char *type = NULL, *k;
	int64_t id;

	if (!b)
		return -1;
	json_object_del(b, "update_id");
	json_object_foreach(b, k, v)
	{
		type = k;
		break;
	}
	if (!type) {
		json_decref(b);
		return fail(r, 400, "an update needs a field besides update_id");
	}
	pthread_mutex_lock(&s->mu);
	sim_register_update(s, b);
	/* keep every field as given, even several (a malformed update) */
	v = json_deep_copy(json_object_get(b, type));
	id = sim_update_push(s, type, v);
	if (id) {
		json_object_update_new(s->updates[s->nupdates - 1].u, json_deep_copy(b));
		json_object_set_new(s->updates[s->nupdates - 1].u, "update_id", json_integer(id));
	}
	o = json_pack("{s:o}", "update_id", id ? json_integer(id) : json_null());
	pthread_mutex_unlock(&s->mu);
	json_decref(b);
	return reply(r, o);
}

static int c_callbacks(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *list = json_array();

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->ncbqs; i++) {
		const struct sim_cbq *q = &s->cbqs[i];

		json_array_append_new(
		    list, json_pack("{s:s, s:I, s:I, s:I, s:s?, s:b, s:s?, s:b, s:s?}", "id", q->id,
		                    "user_id", (json_int_t)q->user_id, "chat_id",
		                    (json_int_t)q->chat_id, "message_id", (json_int_t)q->message_id,
		                    "data", q->data, "answered", q->answered, "text", q->text,
		                    "show_alert", q->show_alert, "url", q->url));
	}
	pthread_mutex_unlock(&s->mu);
	return reply(r, json_pack("{s:o}", "callback_queries", list));
}

static int c_payments(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *qs = json_array(), *ps = json_array();

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->npcqs; i++) {
		const struct sim_pcq *q = &s->pcqs[i];

		json_array_append_new(qs, json_pack("{s:s, s:I, s:o?, s:b, s:b, s:s?}", "id", q->id,
		                                    "user_id", (json_int_t)q->user_id, "query",
		                                    q->q ? json_deep_copy(q->q) : NULL, "answered",
		                                    q->answered, "ok", q->ok, "error_message",
		                                    q->error_message));
	}
	for (size_t i = 0; i < s->npayments; i++) {
		const struct sim_payment *p = &s->payments[i];

		json_array_append_new(
		    ps, json_pack("{s:s, s:I, s:s, s:I, s:s?, s:b}", "telegram_payment_charge_id",
		                  p->charge_id, "user_id", (json_int_t)p->user_id, "currency",
		                  p->currency, "total_amount", (json_int_t)p->amount,
		                  "invoice_payload", p->payload, "refunded", p->refunded));
	}
	pthread_mutex_unlock(&s->mu);
	return reply(r, json_pack("{s:o, s:o}", "pre_checkout_queries", qs, "payments", ps));
}

/* ---- webhook ---- */

static int c_webhook(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *list = json_array(), *o;
	struct sim_webhook *w = &s->wh;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < w->nlog; i++) {
		size_t k = (w->logpos + SIM_MAX_ATTEMPTS - w->nlog + i) % SIM_MAX_ATTEMPTS;
		const struct sim_attempt *a = &w->log[k];

		json_array_append_new(list,
		                      json_pack("{s:I, s:I, s:i, s:I, s:s}", "update_id",
		                                (json_int_t)a->update_id, "status",
		                                (json_int_t)a->status, "attempt", a->attempt,
		                                "at_ms", (json_int_t)a->at_ms, "error", a->error));
	}
	o = json_pack("{s:o, s:s?, s:o, s:I, s:I, s:I, s:{s:I, s:I, s:i, s:I}}", "info",
	              sim_webhook_info(s), "secret_token", w->secret, "attempts", list, "delivered",
	              (json_int_t)w->delivered, "failed_attempts", (json_int_t)w->failed,
	              "given_up", (json_int_t)w->given_up, "config", "retry_base_ms",
	              (json_int_t)w->retry_base_ms, "retry_max_ms", (json_int_t)w->retry_max_ms,
	              "max_attempts", w->max_attempts, "timeout_ms", (json_int_t)w->timeout_ms);
	pthread_mutex_unlock(&s->mu);
	return reply(r, o);
}

static int c_webhook_config(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r);
	int64_t base = -1, max = -1, attempts = -1, timeout = -1;

	if (!b)
		return -1;
	if (get_i64(b, "retry_base_ms", &base) < 0 || get_i64(b, "retry_max_ms", &max) < 0 ||
	    get_i64(b, "max_attempts", &attempts) < 0 || get_i64(b, "timeout_ms", &timeout) < 0 ||
	    (json_object_get(b, "retry_base_ms") && (base < 1 || base > 600000)) ||
	    (json_object_get(b, "retry_max_ms") && (max < 1 || max > 600000)) ||
	    (json_object_get(b, "max_attempts") && (attempts < 1 || attempts > 1000)) ||
	    (json_object_get(b, "timeout_ms") && (timeout < 100 || timeout > 600000))) {
		json_decref(b);
		return fail(r, 400,
		            "retry_base_ms, retry_max_ms and timeout_ms are milliseconds "
		            "(1-600000; timeout at least 100), max_attempts 1-1000");
	}
	json_decref(b);
	pthread_mutex_lock(&s->mu);
	if (base > 0)
		s->wh.retry_base_ms = base;
	if (max > 0)
		s->wh.retry_max_ms = max;
	if (attempts > 0)
		s->wh.max_attempts = (int)attempts;
	if (timeout > 0)
		s->wh.timeout_ms = timeout;
	pthread_mutex_unlock(&s->mu);
	return c_webhook(r);
}

/* ---- failures ---- */

static int c_failures_add(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r), *o = NULL;
	const char *method, *kind, *desc, *cid;
	struct sim_fail f = {0};
	int64_t v;
	int rc = -1;

	if (!b)
		return -1;
	method = get_str(b, "method");
	kind = get_str(b, "kind");
	desc = get_str(b, "description");
	cid = get_str(b, "chat_id");
	if (method && strlen(method) >= sizeof(f.method)) {
		rc = fail(r, 400, "method name too long");
		goto out_nolock;
	}
	snprintf(f.method, sizeof(f.method), "%s", method && strcmp(method, "*") ? method : "");
	if (!kind || strcmp(kind, "error") == 0) {
		f.kind = SIM_FAIL_ERROR;
		f.status = 500;
	} else if (strcmp(kind, "hang") == 0) {
		f.kind = SIM_FAIL_HANG;
		f.hang_ms = 5000;
	} else if (strcmp(kind, "429") == 0) {
		f.kind = SIM_FAIL_429;
		f.retry_after = 5;
	} else {
		rc = fail(r, 400, "kind must be error, hang or 429");
		goto out_nolock;
	}
	f.remaining = 1;
	if (get_i64(b, "count", &v) == 0)
		f.remaining = v;
	if (get_i64(b, "status", &v) == 0)
		f.status = (int)v;
	if (get_i64(b, "hang_ms", &v) == 0)
		f.hang_ms = v;
	if (get_i64(b, "retry_after", &v) == 0)
		f.retry_after = (int)v;
	if (f.remaining < 1 || f.hang_ms < 0 || f.hang_ms > 600000 ||
	    (f.kind == SIM_FAIL_429 && (f.retry_after < 1 || f.retry_after > 3600)) ||
	    (f.status && (f.status < 400 || f.status > 599))) {
		rc = fail(r, 400,
		          "count >= 1, status 400-599, hang_ms 0-600000, retry_after 1-3600");
		goto out_nolock;
	}
	pthread_mutex_lock(&s->mu);
	if (cid && cid[0] == '@') {
		struct sim_chat *ch = sim_chat_by_username(s, cid + 1);

		if (!ch) {
			rc = fail(r, 404, "no chat %s", cid);
			goto out;
		}
		f.has_chat = true;
		f.chat_id = ch->id;
	} else if (get_i64(b, "chat_id", &v) == 0) {
		f.has_chat = true;
		f.chat_id = v;
	}
	if (!desc) {
		switch (f.status) {
		case 500:
			desc = "Internal Server Error";
			break;
		case 502:
			desc = "Bad Gateway";
			break;
		case 503:
			desc = "Service Unavailable";
			break;
		case 504:
			desc = "Gateway Timeout";
			break;
		default:
			desc = f.status < 500 ? "Bad Request" : "Internal Server Error";
			break;
		}
	}
	f.description = xstrdup(desc);
	f.id = s->next_fail_id++;
	s->fails = xrealloc(s->fails, (s->nfails + 1) * sizeof(*s->fails));
	s->fails[s->nfails++] = f;
	o = sim_fail_json(&f);
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
out_nolock:
	json_decref(b);
	return o ? reply(r, o) : rc;
}

static int c_failures_get(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *list = json_array();

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nfails; i++)
		json_array_append_new(list, sim_fail_json(&s->fails[i]));
	pthread_mutex_unlock(&s->mu);
	return reply(r, json_pack("{s:o}", "failures", list));
}

static int c_failures_clear(struct http_req *r)
{
	struct sim *s = r->ctx;

	pthread_mutex_lock(&s->mu);
	sim_fails_clear(s);
	pthread_mutex_unlock(&s->mu);
	return reply(r, json_pack("{s:o}", "failures", json_array()));
}

/* ---- demo ---- */

static int c_demo_get(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *o;

	pthread_mutex_lock(&s->mu);
	o = s->demo ? json_deep_copy(s->demo) : json_object();
	json_object_set_new(o, "bot", sim_bot_json(s));
	pthread_mutex_unlock(&s->mu);
	return reply(r, o);
}

static int c_demo_set(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = body(r);

	if (!b)
		return -1;
	json_object_del(b, "bot");
	pthread_mutex_lock(&s->mu);
	json_decref(s->demo);
	s->demo = b;
	pthread_mutex_unlock(&s->mu);
	return c_demo_get(r);
}

int sim_page(struct http_req *r)
{
	http_header(r, "Cache-Control", "no-store");
	return http_reply_static(r, 200, "text/html; charset=utf-8", sim_page_html,
	                         sim_page_html_len);
}

const struct route sim_control_routes[] = {
    {"POST", "/control/reset", c_reset, 0, "forget everything"},
    {"GET", "/control/stats", c_stats, 0, "request counts and violations"},
    {"GET", "/control/bot", c_bot, 0, "the bot"},
    {"GET", "/control/files/{id}", c_file, 0, "a file's bytes"},
    {"POST", "/control/rate_limits", c_rate_limits, 0, "toggle flood control"},
    {"POST", "/control/users", c_user_add, 0, "create a user"},
    {"GET", "/control/users/{id}", c_user_get, 0, "a user"},
    {"POST", "/control/users/{id}/messages", c_user_message, 0, "a user writes to the bot"},
    {"POST", "/control/users/{id}/callback", c_user_callback, 0, "a user presses a button"},
    {"POST", "/control/users/{id}/forward", c_user_forward, 0, "a user forwards a post"},
    {"POST", "/control/users/{id}/block", c_user_block, 0, "a user blocks the bot"},
    {"POST", "/control/users/{id}/unblock", c_user_unblock, 0, "a user unblocks the bot"},
    {"POST", "/control/users/{id}/pay", c_user_pay, 0, "a user pays an invoice"},
    {"POST", "/control/channels", c_channel_add, 0, "create a channel"},
    {"GET", "/control/channels/{id}", c_channel_get, 0, "a channel"},
    {"POST", "/control/channels/{id}/members", c_channel_member, 0, "set a member's status"},
    {"POST", "/control/channels/{id}/member_count", c_channel_count, 0, "set the count"},
    {"POST", "/control/channels/{id}/username", c_channel_username, 0,
     "make a channel public or private"},
    {"POST", "/control/channels/{id}/bot", c_channel_bot, 0, "change the bot's status"},
    {"POST", "/control/channels/{id}/posts", c_channel_post, 0, "publish a post"},
    {"GET", "/control/chats/{id}/messages", c_chat_messages, 0, "a chat's messages"},
    {"GET", "/control/updates", c_updates_get, 0, "pending updates"},
    {"POST", "/control/updates", c_updates_inject, 0, "inject an update"},
    {"GET", "/control/callbacks", c_callbacks, 0, "callback queries and answers"},
    {"GET", "/control/payments", c_payments, 0, "pre-checkout queries and payments"},
    {"GET", "/control/webhook", c_webhook, 0, "webhook info and attempts"},
    {"POST", "/control/webhook/config", c_webhook_config, 0, "webhook retry settings"},
    {"GET", "/control/failures", c_failures_get, 0, "injected failures"},
    {"POST", "/control/failures", c_failures_add, 0, "inject a failure"},
    {"DELETE", "/control/failures", c_failures_clear, 0, "clear injected failures"},
    {"GET", "/control/demo", c_demo_get, 0, "the demo's user and channel"},
    {"POST", "/control/demo", c_demo_set, 0, "store the demo's user and channel"},
};
const size_t sim_control_nroutes = ARRAY_SIZE(sim_control_routes);
