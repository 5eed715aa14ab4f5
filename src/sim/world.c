/*
 * world: the simulator's state and the JSON shapes the Bot API shows of it.
 *
 * Users and chats are arrays of pointers (so a found pointer stays valid
 * while others are added); a private chat has the user's id, a channel a
 * -100... id. A chat keeps every message in msgs, indexed by message_id - 1,
 * including deleted ones (flagged), so message ids never repeat. Messages
 * are stored as the Bot API Message object; updates are built from copies,
 * so later edits do not change an update already queued. Every function here
 * runs with the simulator's mutex held.
 */
#include "sim/sim_impl.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/mem.h"

static const char *const channel_rights[] = {
    "is_anonymous",         "can_manage_chat",
    "can_delete_messages",  "can_manage_video_chats",
    "can_restrict_members", "can_promote_members",
    "can_change_info",      "can_invite_users",
    "can_post_stories",     "can_edit_stories",
    "can_delete_stories",   "can_post_messages",
    "can_edit_messages",    "can_manage_direct_messages",
};

static const char *const status_names[] = {"left", "member", "administrator", "creator", "kicked"};

int64_t sim_clock_ms(struct sim *s)
{
	int64_t now = s->clock_frozen ? s->clock_frozen_ms : clock_now_ms() + s->clock_offset_ms;

	/* the wall clock may step back; Telegram's time, and views, may not */
	if (now < s->clock_last_ms)
		now = s->clock_last_ms;
	s->clock_last_ms = now;
	return now;
}

int64_t sim_now_s(struct sim *s)
{
	return sim_clock_ms(s) / 1000;
}

void sim_clock_advance(struct sim *s, int64_t ms)
{
	assert(ms >= 0);
	sim_clock_ms(s);
	s->clock_offset_ms += ms;
	s->clock_frozen_ms += ms;
	s->clock_last_ms += ms;
}

void sim_clock_freeze(struct sim *s, bool frozen)
{
	int64_t now = sim_clock_ms(s);

	if (frozen == s->clock_frozen)
		return;
	s->clock_frozen = frozen;
	s->clock_frozen_ms = now;
	/* running again from where it stood */
	if (!frozen)
		s->clock_offset_ms = now - clock_now_ms();
}

json_t *sim_clock_json(struct sim *s)
{
	int64_t now = sim_clock_ms(s);

	return json_pack("{s:I, s:I, s:I, s:b}", "now_ms", (json_int_t)now, "now",
	                 (json_int_t)(now / 1000), "offset_ms", (json_int_t)(now - clock_now_ms()),
	                 "frozen", s->clock_frozen);
}

void sim_broadcast(struct sim *s)
{
	pthread_cond_broadcast(&s->cv);
}

bool sim_wait_until(struct sim *s, int64_t deadline_ms)
{
	struct timespec ts;
	int64_t now = clock_mono_ms();

	if (now >= deadline_ms)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)((deadline_ms - now) / 1000);
	ts.tv_nsec += (long)((deadline_ms - now) % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	return clock_mono_ms() < deadline_ms;
}

void sim_world_init(struct sim *s)
{
	s->next_user_id = 100000001;
	s->next_channel_id = -1001000000001LL;
	s->next_update_id = 1;
	s->next_fail_id = 1;
	s->requests = json_object();
	s->rate_limits = s->rate_limits_default;
	s->wh.retry_base_ms = 200;
	s->wh.retry_max_ms = 5000;
	s->wh.timeout_ms = 5000;
	s->wh.max_attempts = 20;
	s->wh.log = xcalloc(SIM_MAX_ATTEMPTS, sizeof(*s->wh.log));
}

static void user_free(struct sim_user *u)
{
	free(u->first_name);
	free(u->last_name);
	free(u->username);
	free(u->language_code);
	free(u);
}

static void chat_free(struct sim_chat *ch)
{
	for (size_t i = 0; i < ch->nmembers; i++) {
		json_decref(ch->members[i].rights);
		free(ch->members[i].custom_title);
	}
	for (size_t i = 0; i < ch->nmsgs; i++) {
		json_decref(ch->msgs[i].m);
		json_decref(ch->msgs[i].priv);
	}
	for (size_t i = 0; i < ch->nmsgs; i++)
		free(ch->msgs[i].aud.spikes);
	sim_audience_free(ch->aud);
	json_decref(ch->bot_rights);
	free(ch->members);
	free(ch->msgs);
	free(ch->title);
	free(ch->username);
	free(ch->description);
	free(ch);
}

void sim_world_release(struct sim *s)
{
	for (size_t i = 0; i < s->nusers; i++)
		user_free(s->users[i]);
	for (size_t i = 0; i < s->nchats; i++)
		chat_free(s->chats[i]);
	sim_updates_drop(s, s->nupdates);
	for (size_t i = 0; i < s->nfiles; i++) {
		free(s->files[i]->name);
		free(s->files[i]->mime);
		free(s->files[i]->data);
		free(s->files[i]);
	}
	for (size_t i = 0; i < s->ncbqs; i++) {
		free(s->cbqs[i].data);
		free(s->cbqs[i].text);
		free(s->cbqs[i].url);
	}
	for (size_t i = 0; i < s->npcqs; i++) {
		json_decref(s->pcqs[i].q);
		free(s->pcqs[i].error_message);
	}
	for (size_t i = 0; i < s->npayments; i++)
		free(s->payments[i].payload);
	sim_fails_clear(s);
	free(s->users);
	free(s->chats);
	free(s->updates);
	free(s->files);
	free(s->cbqs);
	free(s->pcqs);
	free(s->payments);
	free(s->fails);
	json_decref(s->allowed);
	json_decref(s->requests);
	json_decref(s->demo);
	json_decref(s->commands);
	json_decref(s->commands_lang);
	free(s->wh.url);
	free(s->wh.secret);
	free(s->wh.ip_address);
	free(s->wh.last_error_message);
	free(s->wh.log);
	s->users = NULL;
	s->chats = NULL;
	s->updates = NULL;
	s->files = NULL;
	s->cbqs = NULL;
	s->pcqs = NULL;
	s->payments = NULL;
	s->fails = NULL;
	s->nusers = s->nchats = s->nupdates = s->nfiles = s->ncbqs = s->npcqs = s->npayments = 0;
	s->nfails = 0;
	s->allowed = s->requests = s->demo = s->commands = s->commands_lang = NULL;
	memset(&s->wh, 0, sizeof(s->wh));
	memset(&s->global, 0, sizeof(s->global));
	memset(&s->tme, 0, sizeof(s->tme));
	s->clock_offset_ms = s->clock_frozen_ms = s->clock_last_ms = 0;
	s->clock_frozen = false;
	s->aud_tick_s = 0;
	s->retry_until_ms = 0;
	s->requests_total = s->violations = s->too_many = s->injected = 0;
}

/* Grow *arr (of *n elements of size sz) by one zeroed element; returns it. */
static void *grow(void *arr, size_t *n, size_t sz, void **out)
{
	char *p = xrealloc(arr, (*n + 1) * sz);

	memset(p + *n * sz, 0, sz);
	*out = p + *n * sz;
	(*n)++;
	return p;
}

void sim_new_id(struct sim *s, const char *prefix, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s%llu", prefix, (unsigned long long)++s->seq);
}

struct sim_user *sim_user_find(struct sim *s, int64_t id)
{
	for (size_t i = 0; i < s->nusers; i++)
		if (s->users[i]->id == id)
			return s->users[i];
	return NULL;
}

struct sim_user *sim_user_add(struct sim *s, int64_t id)
{
	struct sim_user *u = xcalloc(1, sizeof(*u));

	if (!id) {
		while (sim_user_find(s, s->next_user_id) || s->next_user_id == s->bot_id)
			s->next_user_id++;
		id = s->next_user_id++;
	}
	u->id = id;
	s->users = xrealloc(s->users, (s->nusers + 1) * sizeof(*s->users));
	s->users[s->nusers++] = u;
	return u;
}

struct sim_chat *sim_chat_find(struct sim *s, int64_t id)
{
	for (size_t i = 0; i < s->nchats; i++)
		if (s->chats[i]->id == id)
			return s->chats[i];
	return NULL;
}

struct sim_chat *sim_chat_by_username(struct sim *s, const char *username)
{
	for (size_t i = 0; i < s->nchats; i++)
		if (s->chats[i]->username && strcasecmp(s->chats[i]->username, username) == 0)
			return s->chats[i];
	return NULL;
}

static struct sim_chat *chat_add(struct sim *s, int64_t id, enum sim_chat_type type)
{
	struct sim_chat *ch = xcalloc(1, sizeof(*ch));

	ch->id = id;
	ch->type = type;
	s->chats = xrealloc(s->chats, (s->nchats + 1) * sizeof(*s->chats));
	s->chats[s->nchats++] = ch;
	return ch;
}

struct sim_chat *sim_chat_private(struct sim *s, struct sim_user *u)
{
	struct sim_chat *ch = sim_chat_find(s, u->id);

	u->started = true;
	return ch ? ch : chat_add(s, u->id, SIM_PRIVATE);
}

struct sim_chat *sim_channel_add(struct sim *s, int64_t id)
{
	struct sim_chat *ch;

	if (!id) {
		while (sim_chat_find(s, s->next_channel_id))
			s->next_channel_id--;
		id = s->next_channel_id--;
	}
	ch = chat_add(s, id, SIM_CHANNEL);
	sim_audience_new(s, ch);
	return ch;
}

struct sim_member *sim_member_find(struct sim_chat *ch, int64_t user_id)
{
	for (size_t i = 0; i < ch->nmembers; i++)
		if (ch->members[i].user_id == user_id)
			return &ch->members[i];
	return NULL;
}

struct sim_member *sim_member_set(struct sim_chat *ch, int64_t user_id, enum sim_status st,
                                  json_t *rights)
{
	struct sim_member *m = sim_member_find(ch, user_id);

	if (!m) {
		void *p;

		ch->members = grow(ch->members, &ch->nmembers, sizeof(*ch->members), &p);
		m = p;
		m->user_id = user_id;
	}
	m->status = st;
	json_decref(m->rights);
	m->rights = rights;
	return m;
}

const char *sim_status_name(enum sim_status st)
{
	return status_names[st];
}

int sim_status_parse(const char *name, enum sim_status *st)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_names); i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*st = (enum sim_status)i;
			return 0;
		}
	}
	return -ERR_INVALID;
}

json_t *sim_rights_new(const json_t *given, char *msg, size_t msgsz)
{
	json_t *r = json_object();
	const char *k;
	json_t *v;
	bool any = false;

	if (given && !json_is_object(given)) {
		snprintf(msg, msgsz, "rights must be an object of booleans");
		json_decref(r);
		return NULL;
	}
	json_object_foreach((json_t *)given, k, v)
	{
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(channel_rights); i++)
			known |= strcmp(k, channel_rights[i]) == 0;
		if (!known || !json_is_boolean(v)) {
			snprintf(msg, msgsz, "%s: not a right of a channel administrator", k);
			json_decref(r);
			return NULL;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(channel_rights); i++) {
		json_t *g = given ? json_object_get(given, channel_rights[i]) : NULL;
		bool on = g && json_is_true(g);

		json_object_set_new(r, channel_rights[i], json_boolean(on));
		if (on && strcmp(channel_rights[i], "is_anonymous") != 0)
			any = true;
	}
	/* implied by any other right (A.7) */
	if (any)
		json_object_set_new(r, "can_manage_chat", json_true());
	return r;
}

bool sim_right(const json_t *rights, const char *name)
{
	return rights && json_is_true(json_object_get(rights, name));
}

static void set_opt_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

json_t *sim_user_json(const struct sim_user *u)
{
	json_t *o = json_pack("{s:I, s:b, s:s}", "id", (json_int_t)u->id, "is_bot", u->is_bot,
	                      "first_name", u->first_name ? u->first_name : "");

	set_opt_str(o, "last_name", u->last_name);
	set_opt_str(o, "username", u->username);
	set_opt_str(o, "language_code", u->language_code);
	return o;
}

json_t *sim_bot_json(const struct sim *s)
{
	return json_pack("{s:I, s:b, s:s, s:s}", "id", (json_int_t)s->bot_id, "is_bot", 1,
	                 "first_name", "Herald", "username", s->bot_username);
}

json_t *sim_chat_json(struct sim *s, const struct sim_chat *ch)
{
	json_t *o;

	if (ch->type == SIM_CHANNEL) {
		o = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)ch->id, "title",
		              ch->title ? ch->title : "", "type", "channel");
		set_opt_str(o, "username", ch->username);
		return o;
	}
	{
		struct sim_user *u = sim_user_find(s, ch->id);

		o = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)ch->id, "first_name",
		              u && u->first_name ? u->first_name : "", "type", "private");
		if (u) {
			set_opt_str(o, "last_name", u->last_name);
			set_opt_str(o, "username", u->username);
		}
	}
	return o;
}

static json_t *member_obj(json_t *user, enum sim_status st, const json_t *rights, const char *title)
{
	json_t *o = json_pack("{s:o, s:s}", "user", user, "status", sim_status_name(st));

	switch (st) {
	case SIM_CREATOR:
		json_object_set_new(o, "is_anonymous", json_false());
		set_opt_str(o, "custom_title", title);
		break;
	case SIM_ADMIN:
		json_object_set_new(o, "can_be_edited", json_false());
		if (rights)
			json_object_update(o, (json_t *)rights);
		set_opt_str(o, "custom_title", title);
		break;
	case SIM_KICKED:
		json_object_set_new(o, "until_date", json_integer(0));
		break;
	default:
		break;
	}
	return o;
}

json_t *sim_member_json(struct sim *s, const struct sim_chat *ch, int64_t user_id)
{
	struct sim_user *u = sim_user_find(s, user_id);
	json_t *user = u ? sim_user_json(u)
	                 : json_pack("{s:I, s:b, s:s}", "id", (json_int_t)user_id, "is_bot", 0,
	                             "first_name", "");

	for (size_t i = 0; i < ch->nmembers; i++) {
		const struct sim_member *m = &ch->members[i];

		if (m->user_id == user_id)
			return member_obj(user, m->status, m->rights, m->custom_title);
	}
	return member_obj(user, SIM_LEFT, NULL, NULL);
}

json_t *sim_bot_member_json(struct sim *s, const struct sim_chat *ch)
{
	if (ch->type == SIM_PRIVATE) {
		struct sim_user *u = sim_user_find(s, ch->id);

		return member_obj(sim_bot_json(s), u && u->blocked ? SIM_KICKED : SIM_MEMBER, NULL,
		                  NULL);
	}
	return member_obj(sim_bot_json(s), ch->bot_status, ch->bot_rights, NULL);
}

void sim_chat_changed(struct sim *s, struct sim_chat *ch)
{
	ch->version++;
	sim_broadcast(s);
}

struct sim_msg *sim_msg_add(struct sim *s, struct sim_chat *ch, json_t *m, bool from_bot)
{
	struct sim_msg *sm;

	if (ch->nmsgs == ch->capmsgs) {
		ch->capmsgs = ch->capmsgs ? ch->capmsgs * 2 : 16;
		ch->msgs = xrealloc(ch->msgs, ch->capmsgs * sizeof(*ch->msgs));
	}
	sm = &ch->msgs[ch->nmsgs++];
	memset(sm, 0, sizeof(*sm));
	/* Telegram's order of the leading fields, for whoever reads the JSON */
	sm->m = json_pack("{s:I}", "message_id", (json_int_t)ch->nmsgs);
	if (json_object_get(m, "from"))
		json_object_set(sm->m, "from", json_object_get(m, "from"));
	if (json_object_get(m, "sender_chat"))
		json_object_set(sm->m, "sender_chat", json_object_get(m, "sender_chat"));
	json_object_set_new(sm->m, "chat", sim_chat_json(s, ch));
	json_object_set_new(sm->m, "date", json_integer(sim_now_s(s)));
	json_object_del(m, "chat");
	json_object_update(sm->m, m);
	json_decref(m);
	sm->from_bot = from_bot;
	if (ch->aud)
		sim_audience_post(ch, sm);
	sim_chat_changed(s, ch);
	return sm;
}

struct sim_msg *sim_msg_get(struct sim_chat *ch, int64_t id)
{
	if (id < 1 || (uint64_t)id > ch->nmsgs)
		return NULL;
	return &ch->msgs[id - 1];
}

static json_t *media_of(const json_t *m)
{
	static const char *const kinds[] = {"video", "document", "audio", "animation"};
	json_t *v = json_object_get(m, "photo");

	if (json_is_array(v) && json_array_size(v)) {
		json_t *o = json_deep_copy(json_array_get(v, json_array_size(v) - 1));

		json_object_set_new(o, "type", json_string("photo"));
		return o;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		v = json_object_get(m, kinds[i]);
		if (json_is_object(v)) {
			json_t *o = json_deep_copy(v);

			json_object_set_new(o, "type", json_string(kinds[i]));
			return o;
		}
	}
	return NULL;
}

json_t *sim_msg_view(const struct sim_msg *sm)
{
	json_t *o = json_deep_copy(sm->m), *media = media_of(sm->m);

	json_object_set_new(o, "from_bot", json_boolean(sm->from_bot));
	json_object_set_new(o, "edited", json_boolean(sm->edited));
	json_object_set_new(o, "deleted", json_boolean(sm->deleted));
	json_object_set_new(o, "pinned", json_boolean(sm->pinned));
	if (sm->parse_mode[0])
		json_object_set_new(o, "parse_mode", json_string(sm->parse_mode));
	if (media)
		json_object_set_new(o, "media", media);
	if (sm->priv)
		json_object_update(o, sm->priv);
	return o;
}

bool sim_update_allowed(const struct sim *s, const char *type)
{
	static const char *const off_by_default[] = {"chat_member", "message_reaction",
	                                             "message_reaction_count"};
	size_t i;
	json_t *v;

	if (s->allowed && json_array_size(s->allowed)) {
		json_array_foreach(s->allowed, i, v)
		{
			if (json_is_string(v) && strcmp(json_string_value(v), type) == 0)
				return true;
		}
		return false;
	}
	for (i = 0; i < ARRAY_SIZE(off_by_default); i++)
		if (strcmp(type, off_by_default[i]) == 0)
			return false;
	return true;
}

int64_t sim_update_push(struct sim *s, const char *type, json_t *payload)
{
	struct sim_update *u;
	void *p;

	if (!sim_update_allowed(s, type)) {
		json_decref(payload);
		return 0;
	}
	s->updates = grow(s->updates, &s->nupdates, sizeof(*s->updates), &p);
	u = p;
	u->id = s->next_update_id++;
	u->u = json_pack("{s:I, s:o}", "update_id", (json_int_t)u->id, type, payload);
	sim_broadcast(s);
	return u->id;
}

void sim_updates_drop(struct sim *s, size_t n)
{
	if (n > s->nupdates)
		n = s->nupdates;
	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		json_decref(s->updates[i].u);
	memmove(s->updates, s->updates + n, (s->nupdates - n) * sizeof(*s->updates));
	s->nupdates -= n;
	/* the webhook's retry state belonged to the head */
	s->wh.attempt = 0;
	s->wh.next_at_ms = 0;
}

/* Width and height from a PNG or JPEG header; 0 when neither. */
static void image_size(const unsigned char *d, size_t n, int *w, int *h)
{
	*w = *h = 0;
	if (n >= 24 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) {
		*w = (int)((uint32_t)d[16] << 24 | (uint32_t)d[17] << 16 | (uint32_t)d[18] << 8 |
		           d[19]);
		*h = (int)((uint32_t)d[20] << 24 | (uint32_t)d[21] << 16 | (uint32_t)d[22] << 8 |
		           d[23]);
		return;
	}
	if (n < 4 || d[0] != 0xFF || d[1] != 0xD8)
		return;
	for (size_t i = 2; i + 9 < n;) {
		unsigned marker, len;

		if (d[i] != 0xFF)
			return;
		marker = d[i + 1];
		len = (unsigned)d[i + 2] << 8 | d[i + 3];
		if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
		    marker != 0xCC) {
			*h = (int)((unsigned)d[i + 5] << 8 | d[i + 6]);
			*w = (int)((unsigned)d[i + 7] << 8 | d[i + 8]);
			return;
		}
		i += 2 + len;
	}
}

struct sim_file *sim_file_add(struct sim *s, const char *kind, const char *data, size_t len,
                              const char *name, const char *mime)
{
	char hex[CRYPTO_SHA256_HEX], rnd[24];
	struct sim_file *f = xcalloc(1, sizeof(*f));

	s->files = xrealloc(s->files, (s->nfiles + 1) * sizeof(*s->files));
	s->files[s->nfiles++] = f;
	crypto_sha256_hex(data, len, hex);
	crypto_token("", 12, rnd, sizeof(rnd));
	snprintf(f->file_id, sizeof(f->file_id), "Ag%s%llu_%s", kind, (unsigned long long)++s->seq,
	         rnd);
	snprintf(f->unique_id, sizeof(f->unique_id), "AQ%.16s", hex);
	snprintf(f->kind, sizeof(f->kind), "%s", kind);
	f->size = (int64_t)len;
	image_size((const unsigned char *)data, len, &f->width, &f->height);
	f->name = name ? xstrdup(name) : NULL;
	f->mime = mime ? xstrdup(mime) : NULL;
	f->data = xmalloc(len ? len : 1);
	memcpy(f->data, data, len);
	return f;
}

struct sim_file *sim_file_find(struct sim *s, const char *file_id)
{
	for (size_t i = 0; i < s->nfiles; i++)
		if (strcmp(s->files[i]->file_id, file_id) == 0)
			return s->files[i];
	return NULL;
}

struct sim_cbq *sim_cbq_find(struct sim *s, const char *id)
{
	for (size_t i = 0; i < s->ncbqs; i++)
		if (strcmp(s->cbqs[i].id, id) == 0)
			return &s->cbqs[i];
	return NULL;
}

struct sim_cbq *sim_cbq_add(struct sim *s)
{
	void *p;

	s->cbqs = grow(s->cbqs, &s->ncbqs, sizeof(*s->cbqs), &p);
	((struct sim_cbq *)p)->created_ms = clock_now_ms();
	snprintf(((struct sim_cbq *)p)->id, sizeof(((struct sim_cbq *)p)->id), "%llu",
	         4000000000000000000ULL + (unsigned long long)++s->seq);
	return p;
}

struct sim_pcq *sim_pcq_find(struct sim *s, const char *id)
{
	for (size_t i = 0; i < s->npcqs; i++)
		if (strcmp(s->pcqs[i].id, id) == 0)
			return &s->pcqs[i];
	return NULL;
}

struct sim_pcq *sim_pcq_add(struct sim *s)
{
	void *p;

	s->pcqs = grow(s->pcqs, &s->npcqs, sizeof(*s->pcqs), &p);
	((struct sim_pcq *)p)->created_ms = clock_mono_ms();
	snprintf(((struct sim_pcq *)p)->id, sizeof(((struct sim_pcq *)p)->id), "%llu",
	         5000000000000000000ULL + (unsigned long long)++s->seq);
	return p;
}

struct sim_payment *sim_payment_find(struct sim *s, const char *charge_id)
{
	for (size_t i = 0; i < s->npayments; i++)
		if (strcmp(s->payments[i].charge_id, charge_id) == 0)
			return &s->payments[i];
	return NULL;
}

struct sim_payment *sim_payment_add(struct sim *s)
{
	void *p;

	s->payments = grow(s->payments, &s->npayments, sizeof(*s->payments), &p);
	return p;
}

static char *dup_or_null(const char *v)
{
	return v ? xstrdup(v) : NULL;
}

void sim_register_update(struct sim *s, const json_t *u)
{
	json_t *q = json_object_get(u, "callback_query");
	json_t *m = json_object_get(u, "message");
	json_t *sp = m ? json_object_get(m, "successful_payment") : NULL;
	const char *id;

	if (json_is_object(q) && (id = json_string_value(json_object_get(q, "id"))) &&
	    strlen(id) < sizeof(s->cbqs->id) && !sim_cbq_find(s, id)) {
		struct sim_cbq *c = sim_cbq_add(s);

		snprintf(c->id, sizeof(c->id), "%s", id);
		c->user_id = json_integer_value(json_object_get(json_object_get(q, "from"), "id"));
		c->data = dup_or_null(json_string_value(json_object_get(q, "data")));
	}
	q = json_object_get(u, "pre_checkout_query");
	if (json_is_object(q) && (id = json_string_value(json_object_get(q, "id"))) &&
	    strlen(id) < sizeof(s->pcqs->id) && !sim_pcq_find(s, id)) {
		struct sim_pcq *p = sim_pcq_add(s);

		snprintf(p->id, sizeof(p->id), "%s", id);
		p->user_id = json_integer_value(json_object_get(json_object_get(q, "from"), "id"));
		p->q = json_deep_copy(q);
	}
	if (json_is_object(sp) &&
	    (id = json_string_value(json_object_get(sp, "telegram_payment_charge_id"))) &&
	    strlen(id) < sizeof(s->payments->charge_id) && !sim_payment_find(s, id)) {
		struct sim_payment *p = sim_payment_add(s);
		const char *cur = json_string_value(json_object_get(sp, "currency"));

		snprintf(p->charge_id, sizeof(p->charge_id), "%s", id);
		snprintf(p->currency, sizeof(p->currency), "%s", cur ? cur : "XTR");
		p->user_id = json_integer_value(json_object_get(json_object_get(m, "from"), "id"));
		p->amount = json_integer_value(json_object_get(sp, "total_amount"));
		p->payload = dup_or_null(json_string_value(json_object_get(sp, "invoice_payload")));
	}
}

int64_t sim_my_chat_member(struct sim *s, struct sim_chat *ch, int64_t from, json_t *old_member,
                           json_t *new_member)
{
	struct sim_user *u = sim_user_find(s, from);
	json_t *fromj =
	    u ? sim_user_json(u)
	      : json_pack("{s:I, s:b, s:s}", "id", (json_int_t)from, "is_bot", 0, "first_name", "");

	return sim_update_push(s, "my_chat_member",
	                       json_pack("{s:o, s:o, s:I, s:o, s:o}", "chat", sim_chat_json(s, ch),
	                                 "from", fromj, "date", (json_int_t)sim_now_s(s),
	                                 "old_chat_member", old_member, "new_chat_member",
	                                 new_member));
}

void sim_payment_complete(struct sim *s, struct sim_pcq *q)
{
	struct sim_user *u = sim_user_find(s, q->user_id);
	struct sim_payment *p;
	struct sim_chat *ch;
	struct sim_msg *sm;
	char charge[48];
	const char *cur = json_string_value(json_object_get(q->q, "currency"));
	const char *payload = json_string_value(json_object_get(q->q, "invoice_payload"));
	json_int_t amount = json_integer_value(json_object_get(q->q, "total_amount"));

	if (!u)
		return;
	crypto_token("stxsim", 18, charge, sizeof(charge));
	p = sim_payment_add(s);
	snprintf(p->charge_id, sizeof(p->charge_id), "%s", charge);
	snprintf(p->currency, sizeof(p->currency), "%s", cur ? cur : "XTR");
	p->user_id = u->id;
	p->amount = amount;
	p->payload = dup_or_null(payload);
	ch = sim_chat_private(s, u);
	sm = sim_msg_add(s, ch,
	                 json_pack("{s:o, s:{s:s, s:I, s:s, s:s, s:s}}", "from", sim_user_json(u),
	                           "successful_payment", "currency", p->currency, "total_amount",
	                           amount, "invoice_payload", payload ? payload : "",
	                           "telegram_payment_charge_id", charge,
	                           "provider_payment_charge_id", ""),
	                 false);
	sim_update_push(s, "message", json_deep_copy(sm->m));
}
