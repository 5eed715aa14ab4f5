/*
 * channels: the Telegram channels users connect to Herald (product.md
 * section 2). A check asks Telegram (getChat, getChatAdministrators) whether
 * the bot is an administrator with the rights Herald's features need and
 * whether the user is the creator or an administrator; its result is kept on
 * the channel as its health. Removing a channel keeps its history; the plan
 * limits how many connected channels a user has.
 */
#ifndef HERALD_CHANNELS_H
#define HERALD_CHANNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct store;
struct tg_client;

/* The rights the bot needs in a channel, as bits. */
enum {
	CH_RIGHT_POST = 1 << 0,   /* can_post_messages */
	CH_RIGHT_EDIT = 1 << 1,   /* can_edit_messages (also pins in channels) */
	CH_RIGHT_DELETE = 1 << 2, /* can_delete_messages */
	CH_RIGHTS_NEEDED = CH_RIGHT_POST | CH_RIGHT_EDIT | CH_RIGHT_DELETE,
};

/* Health of a channel. */
enum ch_status {
	CH_OK = 0,
	CH_MISSING_RIGHTS, /* the bot is an administrator without some right */
	CH_BOT_NOT_ADMIN,  /* the bot is in the chat but not an administrator */
	CH_BOT_REMOVED,    /* the bot is not in the chat (or Telegram says so) */
	CH_USER_NOT_ADMIN, /* the user is neither creator nor administrator */
	CH_NOT_CHANNEL,    /* the chat is a group or a private chat */
	CH_NOT_FOUND,      /* no such chat (or the username is free) */
	CH_UNREACHABLE,    /* Telegram could not be asked; try again later */
};

#define CH_TITLE_MAX 512 /* bytes of UTF-8 and the NUL */

/* The outcome of asking Telegram about a chat for a user. */
struct ch_check {
	enum ch_status status;
	unsigned missing; /* CH_RIGHT_* bits the bot lacks (CH_MISSING_RIGHTS) */
	int64_t chat_id;  /* 0 when the chat was not found */
	char title[CH_TITLE_MAX];
	char username[64]; /* without '@'; "" for a private channel */
};

struct channel {
	int64_t id;
	int64_t owner_id; /* users.id */
	int64_t chat_id;
	char title[CH_TITLE_MAX];
	char username[64];
	enum ch_status status;
	unsigned missing;
	int64_t checked_at, created_at;
	bool removed;
	int64_t paused_at; /* over the owner's plan limit since (billing); 0: not paused */
};

/* Stable names: "ok", "missing_rights", ...; and the API names of rights. */
const char *channels_status_name(enum ch_status s);
int channels_status_parse(const char *name, enum ch_status *out);
const char *channels_right_name(unsigned bit); /* "can_post_messages" */
/* Parse a comma-separated list of right names into bits (unknown ignored). */
unsigned channels_rights_parse(const char *list);

/*
 * Ask Telegram about a channel, by chat id (username NULL) or by "@name" /
 * "name", for the user whose Telegram id is user_tg. Fills out (status
 * CH_UNREACHABLE when Telegram could not be asked); returns 0 whenever out
 * says what happened.
 */
int channels_check(struct tg_client *tg, int64_t chat_id, const char *username, int64_t user_tg,
                   struct ch_check *out, struct err *e) WUR;

/*
 * Connect (or reconnect a removed) channel for owner after a check with
 * status CH_OK. -ERR_CONFLICT when the check is not OK; -ERR_TOO_BIG when the
 * owner's plan allows no more channels (e->msg names the limit). Connecting a
 * channel that is already connected refreshes it and succeeds.
 */
int channels_connect(struct store *st, int64_t owner_id, const struct ch_check *chk,
                     struct channel *out, struct err *e) WUR;
/* The owner's channels not removed, oldest first; *out is malloc'd. */
int channels_list(struct store *st, int64_t owner_id, struct channel **out, size_t *n,
                  struct err *e) WUR;
/* One of owner's channels (removed ones too); -ERR_NOT_FOUND otherwise. */
int channels_get(struct store *st, int64_t owner_id, int64_t id, struct channel *out,
                 struct err *e) WUR;
int channels_get_by_chat(struct store *st, int64_t owner_id, int64_t chat_id, struct channel *out,
                         struct err *e) WUR;
/* Mark removed (history kept); -ERR_NOT_FOUND when not the owner's. */
int channels_remove(struct store *st, int64_t owner_id, int64_t id, struct err *e) WUR;
/* Store a new check result as the channel's health. */
int channels_record(struct store *st, int64_t id, const struct ch_check *chk, struct err *e) WUR;
/* Check one channel again and record the result (*out updated). */
int channels_refresh(struct store *st, struct tg_client *tg, int64_t owner_tg, struct channel *ch,
                     struct err *e) WUR;
/* The bot left or was removed from chat_id: every owner's row shows it. */
int channels_bot_removed(struct store *st, int64_t chat_id, struct err *e) WUR;
/* The owner's plan limit and how many channels are connected. */
int channels_quota(struct store *st, int64_t owner_id, int64_t *used, int64_t *limit,
                   struct err *e) WUR;

#endif
