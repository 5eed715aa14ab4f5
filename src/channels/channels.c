/*
 * channels: connecting channels and keeping their health.
 *
 * A check is three Bot API calls: getChat (resolves a username, tells a
 * channel from a group), getChatAdministrators (the bot's rights and whether
 * the user is an administrator) and, when the bot is not among the
 * administrators, getChatMember for the bot (still a member, or gone). The
 * result is a status and the missing right bits, stored on the channel row.
 * Connecting takes the owner's row lock first (an UPDATE on users) so two
 * connects at once cannot both pass the plan limit.
 */
#include "channels/channels.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/mem.h"
#include "lib/utf8.h"
#include "store/store.h"
#include "tg/tg.h"
#include "users/users.h"

static const char *const status_names[] = {
    [CH_OK] = "ok",
    [CH_MISSING_RIGHTS] = "missing_rights",
    [CH_BOT_NOT_ADMIN] = "bot_not_admin",
    [CH_BOT_REMOVED] = "bot_removed",
    [CH_USER_NOT_ADMIN] = "user_not_admin",
    [CH_NOT_CHANNEL] = "not_channel",
    [CH_NOT_FOUND] = "not_found",
    [CH_UNREACHABLE] = "unreachable",
};

static const struct {
	unsigned bit;
	const char *name;
} rights[] = {
    {CH_RIGHT_POST, "can_post_messages"},
    {CH_RIGHT_EDIT, "can_edit_messages"},
    {CH_RIGHT_DELETE, "can_delete_messages"},
};

#define CHANNEL_COLS                                                                               \
	"id, owner_id, chat_id, title, username, status, missing, checked_at, created_at, "        \
	"removed_at, coalesce(paused_at, 0)"

const char *channels_status_name(enum ch_status s)
{
	assert((size_t)s < ARRAY_SIZE(status_names));
	return status_names[s];
}

int channels_status_parse(const char *name, enum ch_status *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_names); i++)
		if (strcmp(name, status_names[i]) == 0) {
			*out = (enum ch_status)i;
			return 0;
		}
	return -ERR_INVALID;
}

const char *channels_right_name(unsigned bit)
{
	for (size_t i = 0; i < ARRAY_SIZE(rights); i++)
		if (rights[i].bit == bit)
			return rights[i].name;
	return "";
}

unsigned channels_rights_parse(const char *list)
{
	unsigned bits = 0;

	for (size_t i = 0; i < ARRAY_SIZE(rights); i++) {
		size_t n = strlen(rights[i].name);

		for (const char *p = list; (p = strstr(p, rights[i].name)); p += n)
			if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
				bits |= rights[i].bit;
	}
	return bits;
}

static void rights_list(unsigned bits, char *out, size_t outsz)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(rights); i++) {
		if (!(bits & rights[i].bit))
			continue;
		len += (size_t)snprintf(out + len, outsz - len, "%s%s", len ? "," : "",
		                        rights[i].name);
		assert(len < outsz);
	}
}

static void copy_str(char *dst, size_t dstsz, const char *src)
{
	size_t n = src ? utf8_cut(src, strnlen(src, dstsz - 1)) : 0;

	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The check's status for a Bot API failure of a call about the chat. */
static enum ch_status status_of_failure(const struct tg_error *te)
{
	switch (te->fail) {
	case TG_FAIL_KICKED:
		return CH_BOT_REMOVED;
	case TG_FAIL_CHAT_NOT_FOUND:
	case TG_FAIL_NOT_FOUND:
		return CH_NOT_FOUND;
	case TG_FAIL_NO_RIGHTS:
	case TG_FAIL_BAD_REQUEST:
		return CH_BOT_NOT_ADMIN;
	default:
		return CH_UNREACHABLE;
	}
}

static bool flag(const json_t *member, const char *name)
{
	return json_is_true(json_object_get(member, name));
}

/* The administrator entry for user id in admins, or NULL. */
static const json_t *find_admin(const json_t *admins, int64_t id)
{
	size_t i;
	const json_t *m;

	json_array_foreach(admins, i, m)
	{
		const json_t *u = json_object_get(m, "user");

		if (json_integer_value(json_object_get(u, "id")) == id)
			return m;
	}
	return NULL;
}

static bool is_admin(const json_t *m)
{
	const char *st = json_string_value(json_object_get(m, "status"));

	return st && (strcmp(st, "creator") == 0 || strcmp(st, "administrator") == 0);
}

/* The right bits the bot lacks, judged from its ChatMember entry. */
static unsigned missing_rights(const json_t *bot)
{
	const char *st = json_string_value(json_object_get(bot, "status"));
	unsigned missing = 0;

	if (st && strcmp(st, "creator") == 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(rights); i++)
		if (!flag(bot, rights[i].name))
			missing |= rights[i].bit;
	return missing;
}

/* The bot is not an administrator: is it still in the chat at all? */
static enum ch_status bot_membership(struct tg_client *tg, int64_t chat)
{
	struct tg_error te = {0};
	json_t *m = NULL;
	const char *st;
	enum ch_status s;

	if (tg_get_chat_member(tg, chat, tg_client_bot_id(tg), &m, &te))
		return status_of_failure(&te) == CH_UNREACHABLE ? CH_UNREACHABLE : CH_BOT_REMOVED;
	st = json_string_value(json_object_get(m, "status"));
	s = st && (strcmp(st, "left") == 0 || strcmp(st, "kicked") == 0) ? CH_BOT_REMOVED
	                                                                 : CH_BOT_NOT_ADMIN;
	json_decref(m);
	return s;
}

int channels_check(struct tg_client *tg, int64_t chat_id, const char *username, int64_t user_tg,
                   struct ch_check *out, struct err *e)
{
	struct tg_error te = {0};
	json_t *chat = NULL, *admins = NULL;
	const json_t *bot, *user;
	const char *type;

	memset(out, 0, sizeof(*out));
	if (tg_get_chat(tg, chat_id, username, &chat, &te)) {
		out->status = status_of_failure(&te);
		/* getChat fails the same way for a chat that does not exist and
		 * one the bot cannot see */
		if (out->status == CH_BOT_NOT_ADMIN)
			out->status = username ? CH_NOT_FOUND : CH_BOT_REMOVED;
		if (out->status == CH_UNREACHABLE)
			err_set(e, ERR_UNAVAILABLE, "telegram: %s", te.err.msg);
		return 0;
	}
	out->chat_id = json_integer_value(json_object_get(chat, "id"));
	copy_str(out->title, sizeof(out->title), json_string_value(json_object_get(chat, "title")));
	copy_str(out->username, sizeof(out->username),
	         json_string_value(json_object_get(chat, "username")));
	type = json_string_value(json_object_get(chat, "type"));
	/* type points into chat: compare before letting chat go */
	if (!type || strcmp(type, "channel") != 0) {
		json_decref(chat);
		out->status = CH_NOT_CHANNEL;
		return 0;
	}
	json_decref(chat);
	if (tg_get_chat_administrators(tg, out->chat_id, &admins, &te)) {
		out->status = status_of_failure(&te);
		/* the list is closed to a bot that is no administrator: is it
		 * still a member at all? */
		if (out->status == CH_BOT_NOT_ADMIN)
			out->status = bot_membership(tg, out->chat_id);
		if (out->status == CH_UNREACHABLE)
			err_set(e, ERR_UNAVAILABLE, "telegram: %s", te.err.msg);
		return 0;
	}
	bot = find_admin(admins, tg_client_bot_id(tg));
	user = find_admin(admins, user_tg);
	if (!bot || !is_admin(bot))
		out->status = bot_membership(tg, out->chat_id);
	else if (!user || !is_admin(user))
		out->status = CH_USER_NOT_ADMIN;
	else if ((out->missing = missing_rights(bot)))
		out->status = CH_MISSING_RIGHTS;
	else
		out->status = CH_OK;
	json_decref(admins);
	return 0;
}

static void row_to_channel(const struct store_res *r, size_t row, struct channel *c)
{
	memset(c, 0, sizeof(*c));
	c->id = store_res_int(r, row, 0);
	c->owner_id = store_res_int(r, row, 1);
	c->chat_id = store_res_int(r, row, 2);
	copy_str(c->title, sizeof(c->title), store_res_text(r, row, 3));
	copy_str(c->username, sizeof(c->username), store_res_text(r, row, 4));
	if (channels_status_parse(store_res_text(r, row, 5), &c->status))
		c->status = CH_UNREACHABLE;
	c->missing = channels_rights_parse(store_res_text(r, row, 6));
	c->checked_at = store_res_int(r, row, 7);
	c->created_at = store_res_int(r, row, 8);
	c->removed = !store_res_null(r, row, 9);
	c->paused_at = store_res_int(r, row, 10);
}

/* The first row of a query as a channel; -ERR_NOT_FOUND when none. */
static int one_channel(struct store *st, const char *sql, const struct store_val *a, size_t n,
                       struct channel *out, struct err *e)
{
	struct store_res *res = NULL;
	int rc = store_exec(st, sql, a, n, &res, e);

	if (rc)
		return rc;
	if (store_res_rows(res) == 0)
		rc = err_set(e, ERR_NOT_FOUND, "no such channel");
	else
		row_to_channel(res, 0, out);
	store_res_free(res);
	return rc;
}

static int quota_on(struct store_conn *c, int64_t owner_id, int64_t except_chat, int64_t *used,
                    int64_t *limit, struct err *e)
{
	struct store_val a[] = {SV_INT(owner_id), SV_INT(except_chat)};
	struct store_res *res = NULL;
	int rc = store_query(c,
	                     "SELECT (SELECT COUNT(*) FROM channels WHERE owner_id = $1 "
	                     "AND removed_at IS NULL AND chat_id <> $2), "
	                     "(SELECT p.max_channels FROM users u JOIN plans p ON p.id = u.plan "
	                     "WHERE u.id = $1)",
	                     a, 2, &res, e);

	if (rc)
		return rc;
	*used = store_res_int(res, 0, 0);
	/* a user whose plan row is missing gets the free plan's limit */
	*limit = store_res_null(res, 0, 1) ? 1 : store_res_int(res, 0, 1);
	store_res_free(res);
	return 0;
}

int channels_quota(struct store *st, int64_t owner_id, int64_t *used, int64_t *limit, struct err *e)
{
	struct store_conn *c;
	int rc = store_conn_get(st, &c, e);

	if (rc)
		return rc;
	rc = quota_on(c, owner_id, 0, used, limit, e);
	store_conn_put(st, c);
	return rc;
}

int channels_connect(struct store *st, int64_t owner_id, const struct ch_check *chk,
                     struct channel *out, struct err *e)
{
	struct store_res *res = NULL;
	struct store_conn *c;
	int64_t now = clock_now_ms(), used, limit;
	char subject[32];
	int rc;

	if (chk->status != CH_OK)
		return err_set(e, ERR_CONFLICT, "the channel's check is %s, not ok",
		               channels_status_name(chk->status));
	rc = store_conn_get(st, &c, e);
	if (rc)
		return rc;
	rc = store_begin(c, e);
	if (rc)
		goto out;
	/* the owner's row lock serialises connects of one owner */
	rc = users_lock(c, owner_id, e);
	if (!rc)
		rc = quota_on(c, owner_id, chk->chat_id, &used, &limit, e);
	if (!rc && used >= limit)
		rc = err_set(e, ERR_TOO_BIG, "your plan allows %lld channel%s", (long long)limit,
		             limit == 1 ? "" : "s");
	if (!rc) {
		struct store_val a[] = {
		    SV_INT(owner_id),       SV_INT(chk->chat_id),         SV_TEXT(chk->title),
		    SV_TEXT(chk->username), SV_TEXT(status_names[CH_OK]), SV_INT(now)};

		rc =
		    store_query(c,
		                "INSERT INTO channels (owner_id, chat_id, title, username, status, "
		                "missing, checked_at, created_at) VALUES ($1, $2, $3, $4, $5, '', "
		                "$6, $6) ON CONFLICT (owner_id, chat_id) DO UPDATE SET "
		                "title = excluded.title, username = excluded.username, "
		                "status = excluded.status, missing = '', "
		                "checked_at = excluded.checked_at, removed_at = NULL "
		                "RETURNING " CHANNEL_COLS,
		                a, ARRAY_SIZE(a), &res, e);
	}
	if (!rc) {
		snprintf(subject, sizeof(subject), "chat:%lld", (long long)chk->chat_id);
		rc = users_audit(c, owner_id, "channel.connect", subject, chk->title, e);
	}
	if (!rc)
		rc = store_commit(c, e);
	if (rc)
		store_rollback(c);
	else
		row_to_channel(res, 0, out);
out:
	store_res_free(res);
	store_conn_put(st, c);
	return rc;
}

int channels_list(struct store *st, int64_t owner_id, struct channel **out, size_t *n,
                  struct err *e)
{
	struct store_val a[] = {SV_INT(owner_id)};
	struct store_res *res = NULL;
	int rc = store_exec(st,
	                    "SELECT " CHANNEL_COLS " FROM channels WHERE owner_id = $1 "
	                    "AND removed_at IS NULL ORDER BY id",
	                    a, 1, &res, e);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	*n = store_res_rows(res);
	if (*n)
		*out = xcalloc(*n, sizeof(**out));
	for (size_t i = 0; i < *n; i++)
		row_to_channel(res, i, &(*out)[i]);
	store_res_free(res);
	return 0;
}

int channels_get(struct store *st, int64_t owner_id, int64_t id, struct channel *out, struct err *e)
{
	struct store_val a[] = {SV_INT(owner_id), SV_INT(id)};

	return one_channel(st,
	                   "SELECT " CHANNEL_COLS " FROM channels WHERE owner_id = $1 AND id = $2",
	                   a, 2, out, e);
}

int channels_get_by_chat(struct store *st, int64_t owner_id, int64_t chat_id, struct channel *out,
                         struct err *e)
{
	struct store_val a[] = {SV_INT(owner_id), SV_INT(chat_id)};

	return one_channel(
	    st, "SELECT " CHANNEL_COLS " FROM channels WHERE owner_id = $1 AND chat_id = $2", a, 2,
	    out, e);
}

int channels_remove(struct store *st, int64_t owner_id, int64_t id, struct err *e)
{
	struct store_val a[] = {SV_INT(owner_id), SV_INT(id), SV_INT(clock_now_ms())};
	struct store_res *res = NULL;
	int rc = store_exec(st,
	                    "UPDATE channels SET removed_at = $3 WHERE owner_id = $1 AND id = $2 "
	                    "AND removed_at IS NULL",
	                    a, 3, &res, e);

	if (rc)
		return rc;
	if (store_res_changes(res) != 1)
		rc = err_set(e, ERR_NOT_FOUND, "no such channel");
	store_res_free(res);
	return rc;
}

int channels_record(struct store *st, int64_t id, const struct ch_check *chk, struct err *e)
{
	char missing[128];

	rights_list(chk->missing, missing, sizeof(missing));
	{
		struct store_val a[] = {
		    SV_INT(id),          SV_TEXT(channels_status_name(chk->status)),
		    SV_TEXT(missing),    SV_INT(clock_now_ms()),
		    SV_TEXT(chk->title), SV_TEXT(chk->username)};

		/* a failed lookup has no title: keep the one we knew */
		return store_exec(st,
		                  "UPDATE channels SET status = $2, missing = $3, checked_at = $4, "
		                  "title = CASE WHEN $5 = '' THEN title ELSE $5 END, "
		                  "username = CASE WHEN $5 = '' THEN username ELSE $6 END "
		                  "WHERE id = $1",
		                  a, ARRAY_SIZE(a), NULL, e);
	}
}

int channels_refresh(struct store *st, struct tg_client *tg, int64_t owner_tg, struct channel *ch,
                     struct err *e)
{
	struct ch_check chk;
	int rc = channels_check(tg, ch->chat_id, NULL, owner_tg, &chk, e);

	if (rc)
		return rc;
	if (chk.status == CH_UNREACHABLE)
		return -ERR_UNAVAILABLE; /* keep the health we knew; e says why */
	rc = channels_record(st, ch->id, &chk, e);
	if (rc)
		return rc;
	return channels_get(st, ch->owner_id, ch->id, ch, e);
}

int channels_bot_removed(struct store *st, int64_t chat_id, struct err *e)
{
	struct store_val a[] = {SV_INT(chat_id), SV_TEXT(status_names[CH_BOT_REMOVED]),
	                        SV_INT(clock_now_ms())};

	return store_exec(st,
	                  "UPDATE channels SET status = $2, missing = '', checked_at = $3 "
	                  "WHERE chat_id = $1 AND removed_at IS NULL",
	                  a, 3, NULL, e);
}
