/*
 * tg: the Telegram Bot API client (protocols.md part A).
 *
 * Every call is one HTTPS request through lib/hc (a kept-alive connection per
 * thread): JSON bodies, or multipart/form-data when files are uploaded, in
 * which case object and array parameters travel as JSON strings. The answer
 * envelope becomes a return code plus a typed struct tg_error.
 *
 * Sending methods (send*, copyMessage, sendMediaGroup, sendInvoice) first
 * take tokens from kv buckets shared by every node: the bot's global rate,
 * one per private chat, one per group or channel. A 429 pauses all sending of
 * the bot (a kv key every node reads) for retry_after seconds, then the same
 * request is repeated; 5xx answers and timeouts are repeated with jittered
 * exponential backoff. The token is part of every URL and never appears in a
 * log line or an error message.
 */
#ifndef HERALD_TG_H
#define HERALD_TG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct tg_client;
struct kv;
struct hc_req;
struct hc_resp;

/* What kind of failure a call ended with. */
enum tg_fail {
	TG_FAIL_NONE = 0,
	TG_FAIL_RETRY_AFTER,    /* 429, still limited when the attempts or the wait ran out */
	TG_FAIL_MIGRATED,       /* the group became a supergroup: see migrate_to */
	TG_FAIL_BLOCKED,        /* 403: the user blocked the bot */
	TG_FAIL_KICKED,         /* 403: the bot was removed, or is not a member of the chat */
	TG_FAIL_CHAT_NOT_FOUND, /* 400: chat not found */
	TG_FAIL_NO_RIGHTS,      /* 400: the bot lacks an administrator right for this */
	TG_FAIL_NOT_MODIFIED,   /* 400: an edit that changes nothing */
	TG_FAIL_MESSAGE_GONE,   /* 400: message to edit or delete not found, or not deletable */
	TG_FAIL_QUERY_TOO_OLD,  /* 400: callback or pre-checkout query expired */
	TG_FAIL_BAD_REQUEST,    /* any other 400 */
	TG_FAIL_UNAUTHORIZED,   /* 401: the token is wrong */
	TG_FAIL_NOT_FOUND,      /* 404: unknown method */
	TG_FAIL_CONFLICT,       /* 409: webhook set, or another poller */
	TG_FAIL_SERVER,         /* 5xx, still failing when the attempts ran out */
	TG_FAIL_NETWORK,        /* no answer or a timeout, after the attempts */
	TG_FAIL_MALFORMED,      /* the answer was not a Bot API envelope */
};

/*
 * A failed call: the kind, Telegram's error_code (or the HTTP status) and
 * description, and the parameters. err holds a message for a person (never
 * the token). Return codes: -ERR_BUSY (RETRY_AFTER), -ERR_UNAVAILABLE (SERVER,
 * NETWORK), -ERR_TIMEOUT (a bucket wait longer than max_wait_ms), -ERR_AUTH
 * (UNAUTHORIZED), -ERR_CONFLICT (CONFLICT), -ERR_NOT_FOUND (BLOCKED, KICKED,
 * CHAT_NOT_FOUND, MESSAGE_GONE, NOT_FOUND), -ERR_INTERNAL (MALFORMED),
 * -ERR_INVALID (the other 4xx).
 */
struct tg_error {
	struct err err;
	enum tg_fail fail;
	int code;
	int retry_after; /* seconds */
	int64_t migrate_to;
	bool unsent; /* NETWORK: the request never reached a server (safe to repeat) */
	char description[256];
};

/* The transport seam: tests replace hc_do with a fake. */
struct tg_transport {
	int (*send)(void *arg, const struct hc_req *rq, struct hc_resp *rs, struct err *e);
	void *arg;
};

struct tg_opts {
	const char *api;     /* base URL, "https://api.telegram.org" */
	const char *token;   /* "<bot id>:<secret>" */
	struct kv *kv;       /* shared buckets and pause; NULL: no rate limiting */
	long timeout_ms;     /* per request (a long poll adds its own time); 0: 10 s */
	int max_attempts;    /* per call, for 429, 5xx and timeouts; 0: 5 */
	int64_t max_wait_ms; /* the longest one call waits for buckets and retry_after; 0: 60 s */
	int64_t backoff_ms;  /* first retry delay after 5xx or a timeout; 0: 300 ms */
	double global_rate;  /* sends per second for the whole bot; 0: 28 (a margin under Telegram's
	                        30) */
	double global_burst; /* sends of the bot at once; 0: a second's worth (global_rate) */
	double chat_rate;    /* sends per second into one private chat; 0: 1 */
	double chat_burst;   /* 0: 3 */
	double group_per_minute; /* sends per minute into one group or channel; 0: 20 */
	double group_burst;      /* 0: 3 */
	const struct tg_transport *transport; /* NULL: lib/hc */
};

/* A file to send: by file_id or URL (ref), or uploaded (data). */
struct tg_media {
	const char *kind; /* "photo", "video" or "document" */
	const char *ref;  /* a file_id or an http(s) URL; NULL when uploading */
	const char *filename;
	const char *content_type;
	const char *data;
	size_t len;
	const char *caption;    /* NULL: none */
	const char *parse_mode; /* NULL: none; "HTML" */
};

/* Options shared by the sending methods; a zeroed struct means none. */
struct tg_send_opts {
	const char *parse_mode;     /* "HTML" */
	const json_t *reply_markup; /* {"inline_keyboard": ...}; borrowed */
	bool silent;                /* disable_notification */
	bool protect;               /* protect_content */
	bool no_preview;            /* link_preview_options.is_disabled */
	int64_t reply_to;           /* reply_parameters.message_id; 0: none */
};

struct tg_invoice {
	const char *title, *description, *payload;
	const char *currency; /* "XTR" for Stars */
	const char *label;
	int64_t amount;             /* minor units; whole stars for XTR */
	const char *provider_token; /* NULL or "" for Stars */
	const json_t *reply_markup;
};

/* The update types Herald asks for (allowed_updates), NULL terminated. */
extern const char *const tg_allowed_updates[];

int tg_client_new(struct tg_client **out, const struct tg_opts *o, struct err *e) WUR;
void tg_client_free(struct tg_client *c);
/* The bot's user id: the number before ':' in the token. */
int64_t tg_client_bot_id(const struct tg_client *c);

/*
 * Call method with params (a JSON object, borrowed; NULL for none) and files
 * (multipart parts named by tg_media->kind or "attach" names; may be NULL).
 * On success *result (may be NULL) receives a new reference to "result".
 * te may be NULL.
 */
struct tg_file {
	const char *field; /* the form field ("photo", or an attach:// name) */
	const char *filename;
	const char *content_type;
	const char *data;
	size_t len;
};
int tg_call(struct tg_client *c, const char *method, const json_t *params,
            const struct tg_file *files, size_t nfiles, json_t **result, struct tg_error *te) WUR;

/* Pure parts of tg_call, exposed for tests. */
bool tg_is_send_method(const char *method);
/* A short lower-case name of a failure kind, for logs ("blocked"). */
const char *tg_fail_name(enum tg_fail f);
/* Decode an answer: 0 and *result (new reference) for ok:true; else the
 * return code above with te filled. */
int tg_decode(long status, const char *body, size_t len, json_t **result, struct tg_error *te) WUR;

int tg_get_me(struct tg_client *c, json_t **me, struct tg_error *te) WUR;
/* allowed NULL: omit allowed_updates (keep the previous setting). */
int tg_get_updates(struct tg_client *c, int64_t offset, int limit, int timeout_s,
                   const char *const *allowed, json_t **updates, struct tg_error *te) WUR;
int tg_set_webhook(struct tg_client *c, const char *url, const char *secret,
                   const char *const *allowed, bool drop_pending, struct tg_error *te) WUR;
int tg_delete_webhook(struct tg_client *c, bool drop_pending, struct tg_error *te) WUR;
int tg_get_webhook_info(struct tg_client *c, json_t **info, struct tg_error *te) WUR;

int tg_send_message(struct tg_client *c, int64_t chat, const char *text,
                    const struct tg_send_opts *o, json_t **msg, struct tg_error *te) WUR;
int tg_edit_message_text(struct tg_client *c, int64_t chat, int64_t message_id, const char *text,
                         const struct tg_send_opts *o, json_t **msg, struct tg_error *te) WUR;
int tg_edit_message_reply_markup(struct tg_client *c, int64_t chat, int64_t message_id,
                                 const json_t *markup, struct tg_error *te) WUR;
int tg_delete_message(struct tg_client *c, int64_t chat, int64_t message_id,
                      struct tg_error *te) WUR;
int tg_answer_callback_query(struct tg_client *c, const char *id, const char *text, bool alert,
                             struct tg_error *te) WUR;

/* username non-NULL ("@name" or "name") looks the chat up by it instead of chat. */
int tg_get_chat(struct tg_client *c, int64_t chat, const char *username, json_t **out,
                struct tg_error *te) WUR;
int tg_get_chat_member(struct tg_client *c, int64_t chat, int64_t user, json_t **member,
                       struct tg_error *te) WUR;
int tg_get_chat_administrators(struct tg_client *c, int64_t chat, json_t **admins,
                               struct tg_error *te) WUR;
int tg_get_chat_member_count(struct tg_client *c, int64_t chat, int64_t *count,
                             struct tg_error *te) WUR;

/* sendPhoto, sendVideo or sendDocument by m->kind. */
int tg_send_media(struct tg_client *c, int64_t chat, const struct tg_media *m,
                  const struct tg_send_opts *o, json_t **msg, struct tg_error *te) WUR;
/* 2-10 items; the caption of the first item is the album's. *msgs: an array. */
int tg_send_media_group(struct tg_client *c, int64_t chat, const struct tg_media *items, size_t n,
                        const struct tg_send_opts *o, json_t **msgs, struct tg_error *te) WUR;
int tg_copy_message(struct tg_client *c, int64_t chat, int64_t from_chat, int64_t message_id,
                    const struct tg_send_opts *o, int64_t *new_id, struct tg_error *te) WUR;
int tg_pin_chat_message(struct tg_client *c, int64_t chat, int64_t message_id, bool silent,
                        struct tg_error *te) WUR;

int tg_send_invoice(struct tg_client *c, int64_t chat, const struct tg_invoice *inv, json_t **msg,
                    struct tg_error *te) WUR;
int tg_answer_pre_checkout_query(struct tg_client *c, const char *id, bool ok,
                                 const char *error_message, struct tg_error *te) WUR;
int tg_refund_star_payment(struct tg_client *c, int64_t user, const char *charge_id,
                           struct tg_error *te) WUR;

#endif
