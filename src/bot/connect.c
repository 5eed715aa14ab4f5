/*
 * bot/connect: channels in the bot (product.md section 2).
 *
 * Three ways in: the bot promoted in a channel (my_chat_member: the user who
 * did it is asked to confirm), a post forwarded from a channel (checked, then
 * offered), and /connect @username (checked and connected). Every way ends
 * in channels_check, which asks Telegram about the bot's rights and the
 * user's admin status; a check that is not OK is explained precisely (each
 * missing right by the name Telegram's apps show, and where to grant it)
 * with a "Check again" button. /channels lists the health that checks
 * stored; the bot's own membership changes re-check every owner's channel
 * and tell the owner when its health changes.
 */
#include "bot/bot_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "channels/channels.h"
#include "lib/i18n.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/store.h"
#include "tg/tg.h"

#define TEXT_MAX  4000
#define LABEL_MAX 28 /* bytes of a channel title on a button */

static const struct {
	unsigned bit;
	const char *label; /* as Telegram's apps name the right */
} right_labels[] = {
    {CH_RIGHT_POST, N_("Post messages")},
    {CH_RIGHT_EDIT, N_("Edit messages of others")},
    {CH_RIGHT_DELETE, N_("Delete messages of others")},
};

/* The rights in bits, translated, each after prefix and before sep. */
static void rights_text(const char *lang, unsigned bits, const char *prefix, const char *sep,
                        char *out, size_t outsz)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(right_labels); i++) {
		if (!(bits & right_labels[i].bit))
			continue;
		bot_fmt(out + len, outsz - len, "%s%s%s", len ? sep : "", prefix,
		        _(lang, right_labels[i].label));
		len = strlen(out);
	}
}

void bot_channel_name(const char *title, const char *username, int64_t chat, char *out,
                      size_t outsz)
{
	if (title && *title)
		bot_fmt(out, outsz, "%s", title);
	else if (username && *username)
		bot_fmt(out, outsz, "@%s", username);
	else
		bot_fmt(out, outsz, "%lld", (long long)chat);
}

/* What a check's status means for the person, in lang. */
static void status_text(const char *lang, enum ch_status st, unsigned missing, const char *name,
                        char *out, size_t outsz)
{
	char rights[512];

	switch (st) {
	case CH_OK:
		bot_fmt(out, outsz, _(lang, "✅ “%s” is connected, and I have every right I need."),
		        name);
		return;
	case CH_MISSING_RIGHTS:
		rights_text(lang, missing, "• ", "\n", rights, sizeof(rights));
		bot_fmt(out, outsz,
		        _(lang,
		          "⚠️ I am an administrator of “%s”, but I am missing these "
		          "rights:\n%s\n\n"
		          "To grant them: open the channel → Administrators → choose me, "
		          "turn on each right listed above and save. Then tap “Check again”."),
		        name, rights);
		return;
	case CH_BOT_NOT_ADMIN:
		bot_fmt(
		    out, outsz,
		    _(lang,
		      "⚠️ I am in “%s”, but not as an administrator. Open the channel → "
		      "Administrators → Add Admin, choose me, and turn on Post messages, Edit "
		      "messages of others and Delete messages of others. Then tap “Check "
		      "again”."),
		    name);
		return;
	case CH_BOT_REMOVED:
		bot_fmt(out, outsz,
		        _(lang,
		          "❌ I am not in “%s”. Open the channel → Administrators → Add Admin, "
		          "find me by my username, and turn on Post messages, Edit messages of "
		          "others and Delete messages of others. Then tap “Check again”."),
		        name);
		return;
	case CH_USER_NOT_ADMIN:
		bot_fmt(out, outsz,
		        _(lang,
		          "⛔ You are not an administrator of “%s”. Only the channel's owner or "
		          "its administrators can connect it to Herald."),
		        name);
		return;
	case CH_NOT_CHANNEL:
		bot_fmt(out, outsz,
		        _(lang,
		          "“%s” is not a channel. Herald works with Telegram channels; groups "
		          "are not supported."),
		        name);
		return;
	case CH_NOT_FOUND:
		bot_fmt(out, outsz,
		        _(lang,
		          "I could not find the channel %s. Check the username, or forward me "
		          "any post from the channel."),
		        name);
		return;
	case CH_UNREACHABLE:
		break;
	}
	bot_fmt(out, outsz,
	        _(lang, "Telegram did not answer while I was checking “%s”. Please tap “Check "
	                "again” in a minute."),
	        name);
}

/* Statuses that a change in the channel can fix, so "Check again" helps. */
static bool fixable(enum ch_status st)
{
	return st == CH_MISSING_RIGHTS || st == CH_BOT_NOT_ADMIN || st == CH_BOT_REMOVED ||
	       st == CH_USER_NOT_ADMIN || st == CH_UNREACHABLE;
}

/* Send the status of a check to chat in lang, with "Check again" (action
 * on id) when it can help. */
static int report(struct bot *b, int64_t chat, const char *lang, enum ch_status st,
                  unsigned missing, const char *name, enum bot_cb_action again, int64_t id,
                  struct err *e)
{
	char text[TEXT_MAX];
	json_t *kb = NULL;
	int rc;

	status_text(lang, st, missing, name, text, sizeof(text));
	if (fixable(st) && id) {
		kb = bot_kb_new();
		bot_kb_button(bot_kb_row(kb), _(lang, "🔄 Check again"), again, NULL, id);
	}
	rc = bot_tell(b, chat, text, kb, e);
	json_decref(kb);
	return rc;
}

static int say_limit(struct bot_ctx *c, const char *name)
{
	char text[TEXT_MAX];
	int64_t used = 0, limit = 0;
	size_t len;
	int rc = channels_quota(c->b->a->store, c->u.id, &used, &limit, c->e);

	if (rc)
		return rc;
	bot_fmt(text, sizeof(text),
	        i18n_nget(c->lang, "Your plan allows %d channel.", "Your plan allows %d channels.",
	                  (unsigned long)limit),
	        (int)limit);
	len = strlen(text);
	bot_fmt(text + len, sizeof(text) - len, " ");
	len = strlen(text);
	bot_fmt(text + len, sizeof(text) - len,
	        _(c->lang,
	          "You have reached this limit, so I cannot connect “%s”. Remove a channel "
	          "in /channels, or upgrade your plan."),
	        name);
	return bot_say(c, text, NULL);
}

/* Connect after a check: explain a check that is not OK, else connect
 * within the plan's limit. */
static int connect_checked(struct bot_ctx *c, const struct ch_check *chk, const char *hint)
{
	char name[CH_TITLE_MAX + 64], text[TEXT_MAX];
	struct channel ch;
	int rc;

	bot_channel_name(chk->title[0] ? chk->title : hint, chk->username, chk->chat_id, name,
	                 sizeof(name));
	if (chk->status != CH_OK)
		return report(c->b, c->chat, c->lang, chk->status, chk->missing, name,
		              BOT_CB_CONNECT, chk->chat_id, c->e);
	rc = channels_connect(c->b->a->store, c->u.id, chk, &ch, c->e);
	if (rc == -ERR_TOO_BIG)
		return say_limit(c, name);
	if (rc)
		return rc;
	log_info("msg=\"channel connected\" user=%lld channel=%lld", (long long)c->u.id,
	         (long long)ch.id);
	bot_fmt(text, sizeof(text),
	        _(c->lang, "✅ Connected “%s”! I have every right I need. /channels lists your "
	                   "channels."),
	        name);
	return bot_say(c, text, NULL);
}

static int check_chat(struct bot_ctx *c, int64_t chat, const char *username, struct ch_check *out)
{
	char at[80];

	if (username)
		snprintf(at, sizeof(at), "@%s", username);
	return channels_check(c->b->tg, chat, username ? at : NULL, c->user_tg, out, c->e);
}

static int connect_ref(struct bot_ctx *c, struct str ref)
{
	char username[64], at[80];
	struct ch_check chk;
	int64_t chat;
	int rc;

	if (bot_parse_channel_ref(ref, username, &chat))
		return bot_say(c,
		               _(c->lang, "That does not look like a channel. Send its username "
		                          "like @mychannel, or forward me any post from it."),
		               NULL);
	rc = bot_conv_save(c->b->a->store, c->chat, "", NULL, c->e);
	if (rc)
		return rc;
	rc = check_chat(c, chat, username[0] ? username : NULL, &chk);
	if (rc)
		return rc;
	snprintf(at, sizeof(at), username[0] ? "@%s" : "%s", username[0] ? username : "");
	return connect_checked(c, &chk, at);
}

int bot_cmd_connect(struct bot_ctx *c, struct str arg)
{
	int rc;

	if (arg.len)
		return connect_ref(c, arg);
	rc = bot_conv_save(c->b->a->store, c->chat, "connect", NULL, c->e);
	if (rc)
		return rc;
	return bot_say(c,
	               _(c->lang, "Send me your channel's username, like @mychannel, or forward "
	                          "me any post from the channel. First make me an administrator "
	                          "there, with the rights Post messages, Edit messages of others "
	                          "and Delete messages of others."),
	               NULL);
}

int bot_connect_text(struct bot_ctx *c, struct str text)
{
	return connect_ref(c, text);
}

int bot_on_forward(struct bot_ctx *c, int64_t chat_id, const char *title)
{
	char name[CH_TITLE_MAX + 64], text[TEXT_MAX];
	struct ch_check chk;
	struct channel ch;
	json_t *kb;
	int rc = check_chat(c, chat_id, NULL, &chk);

	if (rc)
		return rc;
	bot_channel_name(chk.title[0] ? chk.title : title, chk.username, chat_id, name,
	                 sizeof(name));
	if (chk.status != CH_OK)
		return report(c->b, c->chat, c->lang, chk.status, chk.missing, name, BOT_CB_CONNECT,
		              chat_id, c->e);
	rc = channels_get_by_chat(c->b->a->store, c->u.id, chat_id, &ch, c->e);
	if (rc == 0 && !ch.removed) {
		rc = channels_record(c->b->a->store, ch.id, &chk, c->e);
		return rc ? rc
		          : report(c->b, c->chat, c->lang, CH_OK, 0, name, BOT_CB_CHECK, 0, c->e);
	}
	if (rc && rc != -ERR_NOT_FOUND)
		return rc;
	bot_fmt(text, sizeof(text),
	        _(c->lang, "“%s” is ready: I am an administrator there with every right I need. "
	                   "Connect it to Herald?"),
	        name);
	kb = bot_kb_new();
	{
		json_t *row = bot_kb_row(kb);

		bot_kb_button(row, _(c->lang, "Connect"), BOT_CB_CONNECT, NULL, chat_id);
		bot_kb_button(row, _(c->lang, "Ignore"), BOT_CB_IGNORE, NULL, chat_id);
	}
	rc = bot_say(c, text, kb);
	json_decref(kb);
	return rc;
}

/* One of the user's channels for a button; says so when it is gone. */
static int owned(struct bot_ctx *c, int64_t id, struct channel *ch, bool *gone)
{
	int rc = channels_get(c->b->a->store, c->u.id, id, ch, c->e);

	*gone = rc == -ERR_NOT_FOUND || (rc == 0 && ch->removed);
	if (*gone)
		return bot_say(c,
		               _(c->lang, "This channel is not connected any more. /channels lists "
		                          "your channels."),
		               NULL);
	return rc;
}

static void short_name(const struct channel *ch, char *out, size_t outsz)
{
	char name[CH_TITLE_MAX + 64];

	bot_channel_name(ch->title, ch->username, ch->chat_id, name, sizeof(name));
	bot_fmt(out, outsz < LABEL_MAX + 1 ? outsz : LABEL_MAX + 1, "%s", name);
}

static int check_again(struct bot_ctx *c, int64_t id)
{
	char name[CH_TITLE_MAX + 64];
	struct channel ch;
	bool gone;
	int rc = owned(c, id, &ch, &gone);

	if (rc || gone)
		return rc;
	bot_channel_name(ch.title, ch.username, ch.chat_id, name, sizeof(name));
	rc = channels_refresh(c->b->a->store, c->b->tg, c->user_tg, &ch, c->e);
	if (rc == -ERR_UNAVAILABLE)
		return report(c->b, c->chat, c->lang, CH_UNREACHABLE, 0, name, BOT_CB_CHECK, id,
		              c->e);
	if (rc)
		return rc;
	bot_channel_name(ch.title, ch.username, ch.chat_id, name, sizeof(name));
	return report(c->b, c->chat, c->lang, ch.status, ch.missing, name, BOT_CB_CHECK, id, c->e);
}

static int remove_step(struct bot_ctx *c, const struct bot_cb *cb)
{
	char name[CH_TITLE_MAX + 64], text[TEXT_MAX];
	struct channel ch;
	json_t *kb;
	bool gone;
	int rc = owned(c, cb->id, &ch, &gone);

	if (rc || gone)
		return rc;
	bot_channel_name(ch.title, ch.username, ch.chat_id, name, sizeof(name));
	if (cb->action == BOT_CB_REMOVE_NO) {
		bot_fmt(text, sizeof(text), _(c->lang, "OK, “%s” stays connected."), name);
		return bot_say(c, text, NULL);
	}
	if (cb->action == BOT_CB_REMOVE_YES) {
		rc = channels_remove(c->b->a->store, c->u.id, ch.id, c->e);
		if (rc)
			return rc;
		bot_fmt(text, sizeof(text),
		        _(c->lang,
		          "“%s” is removed from Herald. Its history is kept; you can connect "
		          "it again at any time."),
		        name);
		return bot_say(c, text, NULL);
	}
	bot_fmt(text, sizeof(text),
	        _(c->lang, "Remove “%s” from Herald? I will stop working with it; its history is "
	                   "kept."),
	        name);
	kb = bot_kb_new();
	{
		json_t *row = bot_kb_row(kb);

		bot_kb_button(row, _(c->lang, "Yes, remove"), BOT_CB_REMOVE_YES, NULL, ch.id);
		bot_kb_button(row, _(c->lang, "Cancel"), BOT_CB_REMOVE_NO, NULL, ch.id);
	}
	rc = bot_say(c, text, kb);
	json_decref(kb);
	return rc;
}

int bot_on_channel_cb(struct bot_ctx *c, const struct bot_cb *cb)
{
	struct ch_check chk;
	int rc;

	switch (cb->action) {
	case BOT_CB_CONNECT:
		rc = check_chat(c, cb->id, NULL, &chk);
		return rc ? rc : connect_checked(c, &chk, NULL);
	case BOT_CB_IGNORE:
		return bot_say(c,
		               _(c->lang,
		                 "OK, I will not connect it. You can connect it later with "
		                 "/connect."),
		               NULL);
	case BOT_CB_CHECK:
		return check_again(c, cb->id);
	case BOT_CB_REMOVE:
	case BOT_CB_REMOVE_YES:
	case BOT_CB_REMOVE_NO:
		return remove_step(c, cb);
	default:
		return 0;
	}
}

/* One line of /channels. */
static void health_line(const char *lang, const struct channel *ch, char *out, size_t outsz)
{
	char name[CH_TITLE_MAX + 64], rights[512];

	bot_channel_name(ch->title, ch->username, ch->chat_id, name, sizeof(name));
	switch (ch->status) {
	case CH_OK:
		bot_fmt(out, outsz, _(lang, "✅ %s — ok"), name);
		return;
	case CH_MISSING_RIGHTS:
		rights_text(lang, ch->missing, "", ", ", rights, sizeof(rights));
		bot_fmt(out, outsz, _(lang, "⚠️ %s — missing rights: %s"), name, rights);
		return;
	case CH_BOT_REMOVED:
		bot_fmt(out, outsz, _(lang, "❌ %s — the bot was removed from the channel"), name);
		return;
	case CH_BOT_NOT_ADMIN:
		bot_fmt(out, outsz, _(lang, "⚠️ %s — the bot is not an administrator"), name);
		return;
	case CH_USER_NOT_ADMIN:
		bot_fmt(out, outsz, _(lang, "⚠️ %s — you are not an administrator"), name);
		return;
	case CH_NOT_CHANNEL:
	case CH_NOT_FOUND:
		bot_fmt(out, outsz, _(lang, "❌ %s — the channel no longer exists"), name);
		return;
	case CH_UNREACHABLE:
		break;
	}
	bot_fmt(out, outsz, _(lang, "❔ %s — not checked yet"), name);
}

int bot_cmd_channels(struct bot_ctx *c)
{
	char text[TEXT_MAX], line[CH_TITLE_MAX + 256], label[64];
	struct channel *list = NULL;
	int64_t used = 0, limit = 0;
	size_t n = 0, len;
	json_t *kb;
	int rc;

	rc = channels_list(c->b->a->store, c->u.id, &list, &n, c->e);
	if (!rc)
		rc = channels_quota(c->b->a->store, c->u.id, &used, &limit, c->e);
	if (rc) {
		free(list);
		return rc;
	}
	if (n == 0) {
		free(list);
		return bot_say(c,
		               _(c->lang,
		                 "You have no channels yet. To connect one: add me to your "
		                 "channel as an administrator, forward me any post from it, "
		                 "or send /connect @yourchannel."),
		               NULL);
	}
	bot_fmt(
	    text, sizeof(text),
	    i18n_nget(c->lang, "%d channel connected.", "%d channels connected.", (unsigned long)n),
	    (int)n);
	len = strlen(text);
	bot_fmt(text + len, sizeof(text) - len, " ");
	len = strlen(text);
	bot_fmt(text + len, sizeof(text) - len,
	        i18n_nget(c->lang, "Your plan allows %d channel.", "Your plan allows %d channels.",
	                  (unsigned long)limit),
	        (int)limit);
	kb = bot_kb_new();
	for (size_t i = 0; i < n; i++) {
		json_t *row;
		char shortn[LABEL_MAX + 1];

		health_line(c->lang, &list[i], line, sizeof(line));
		len = strlen(text);
		if (len + strlen(line) + 3 >= sizeof(text))
			break;
		bot_fmt(text + len, sizeof(text) - len, "\n\n%s", line);
		short_name(&list[i], shortn, sizeof(shortn));
		row = bot_kb_row(kb);
		bot_fmt(label, sizeof(label), "🔄 %s", shortn);
		bot_kb_button(row, label, BOT_CB_CHECK, NULL, list[i].id);
		bot_fmt(label, sizeof(label), "🗑 %s", _(c->lang, "Remove"));
		bot_kb_button(row, label, BOT_CB_REMOVE, NULL, list[i].id);
	}
	free(list);
	rc = bot_say(c, text, kb);
	json_decref(kb);
	return rc;
}

/* ---- the bot's own status in a channel ------------------------------------- */

struct owner {
	int64_t channel_id, owner_id, owner_tg;
	char lang[8];
	bool blocked;
};

static int owners_of(struct store *st, int64_t chat, struct owner **out, size_t *n, struct err *e)
{
	struct store_val a[] = {SV_INT(chat)};
	struct store_res *res = NULL;
	int rc = store_exec(st,
	                    "SELECT c.id, c.owner_id, u.telegram_id, u.language, "
	                    "u.bot_blocked_at FROM channels c JOIN users u ON u.id = c.owner_id "
	                    "WHERE c.chat_id = $1 AND c.removed_at IS NULL ORDER BY c.id",
	                    a, 1, &res, e);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	*n = store_res_rows(res);
	if (*n)
		*out = xcalloc(*n, sizeof(**out));
	for (size_t i = 0; i < *n; i++) {
		struct owner *o = &(*out)[i];

		o->channel_id = store_res_int(res, i, 0);
		o->owner_id = store_res_int(res, i, 1);
		o->owner_tg = store_res_int(res, i, 2);
		snprintf(o->lang, sizeof(o->lang), "%s", i18n_match(store_res_text(res, i, 3)));
		o->blocked = !store_res_null(res, i, 4);
	}
	store_res_free(res);
	return 0;
}

/* Re-check one owner's channel after the bot's status changed, and tell
 * the owner when its health changed. */
static int recheck_owner(struct bot *b, const struct owner *o, bool removed, struct err *e)
{
	char name[CH_TITLE_MAX + 64];
	enum ch_status before;
	unsigned missing_before;
	struct channel ch;
	int rc = channels_get(b->a->store, o->owner_id, o->channel_id, &ch, e);

	if (rc)
		return rc == -ERR_NOT_FOUND ? 0 : rc;
	before = ch.status;
	missing_before = ch.missing;
	if (removed) {
		rc = channels_bot_removed(b->a->store, ch.chat_id, e);
		ch.status = CH_BOT_REMOVED;
		ch.missing = 0;
	} else {
		rc = channels_refresh(b->a->store, b->tg, o->owner_tg, &ch, e);
		if (rc == -ERR_UNAVAILABLE) {
			log_warn(
			    "msg=\"channel not re-checked: telegram unreachable\" channel=%lld",
			    (long long)ch.id);
			return 0; /* keep the health we knew; the periodic check will come */
		}
	}
	if (rc)
		return rc;
	if (ch.status == before && ch.missing == missing_before)
		return 0;
	log_info("msg=\"channel health changed\" channel=%lld status=%s", (long long)ch.id,
	         channels_status_name(ch.status));
	if (o->blocked)
		return 0;
	bot_channel_name(ch.title, ch.username, ch.chat_id, name, sizeof(name));
	if (ch.status == CH_OK) {
		char text[TEXT_MAX];

		bot_fmt(text, sizeof(text),
		        _(o->lang, "✅ “%s” is healthy again: I have every right I need."), name);
		return bot_tell(b, o->owner_tg, text, NULL, e);
	}
	return report(b, o->owner_tg, o->lang, ch.status, ch.missing, name, BOT_CB_CHECK, ch.id, e);
}

/* Offer the person who made the bot an administrator to connect the channel. */
static int offer(struct bot *b, const json_t *from, int64_t chat, const char *title, struct err *e)
{
	char text[TEXT_MAX], name[CH_TITLE_MAX + 64];
	const char *lang;
	struct user u;
	json_t *kb, *row;
	int rc = users_get_by_telegram(b->a->store, json_integer_value(json_object_get(from, "id")),
	                               &u, e);

	/* a bot cannot write first to someone who never started it */
	if (rc == -ERR_NOT_FOUND)
		return 0;
	if (rc)
		return rc;
	if (u.bot_blocked_at)
		return 0;
	lang = i18n_match(u.language);
	bot_channel_name(title, NULL, chat, name, sizeof(name));
	bot_fmt(text, sizeof(text),
	        _(lang, "You made me an administrator of “%s”. Connect this channel to Herald?"),
	        name);
	kb = bot_kb_new();
	row = bot_kb_row(kb);
	bot_kb_button(row, _(lang, "Connect"), BOT_CB_CONNECT, NULL, chat);
	bot_kb_button(row, _(lang, "Ignore"), BOT_CB_IGNORE, NULL, chat);
	rc = bot_tell(b, u.telegram_id, text, kb, e);
	json_decref(kb);
	return rc;
}

int bot_on_my_member_channel(struct bot *b, const json_t *cmu, struct err *e)
{
	const json_t *chat = json_object_get(cmu, "chat"), *from = json_object_get(cmu, "from");
	const char *status =
	    json_string_value(json_object_get(json_object_get(cmu, "new_chat_member"), "status"));
	const char *title = json_string_value(json_object_get(chat, "title"));
	int64_t chat_id = json_integer_value(json_object_get(chat, "id"));
	int64_t from_id = json_integer_value(json_object_get(from, "id"));
	bool removed = status && (strcmp(status, "left") == 0 || strcmp(status, "kicked") == 0);
	bool by_owner = false;
	struct owner *owners = NULL;
	size_t n = 0;
	int rc;

	if (!status || chat_id == 0)
		return 0;
	rc = owners_of(b->a->store, chat_id, &owners, &n, e);
	for (size_t i = 0; !rc && i < n; i++) {
		by_owner |= owners[i].owner_tg == from_id;
		rc = recheck_owner(b, &owners[i], removed, e);
	}
	free(owners);
	if (rc)
		return rc;
	if (strcmp(status, "administrator") == 0 && !by_owner && from_id > 0 &&
	    !json_is_true(json_object_get(from, "is_bot")))
		return offer(b, from, chat_id, title, e);
	return 0;
}
