/*
 * bot_impl: what the files of src/bot share and nothing else includes
 * (except tests/unit/test_bot.c, which tests the pure parts through it).
 *
 *   bot.c        lifecycle, intake (webhook and polling) and dispatch lanes
 *   update.c     pure parsing of outside input: update routing, commands,
 *                callback data
 *   zones.c      ICU's zone list, the zone search, common zones per language
 *   conv.c       per-chat conversation state in the store
 *   ui.c         sending texts and keyboards in the user's language
 *   flows.c      the handlers: onboarding, settings, help, login
 *   connect.c    the handlers of channel connection and health
 *   compose.c    pure parts of composing a post: entities to HTML, URL
 *                button lines, typed local times, plain excerpts
 *   posting.c    the handlers of /post and /queue, and the owner told about
 *                a failed or uncertain delivery
 *   billing.c    /plans, /subscribe, /billing, Telegram Stars payments
 *                (pre-checkout, successful and refunded payments) and the
 *                billing notices; the texts of plans, status and notices
 *   alerts.c     /alerts (rules: list, add, mute, remove), the alerts sent
 *                by the scheduler's alert jobs and their "Open report"
 */
#ifndef HERALD_BOT_IMPL_H
#define HERALD_BOT_IMPL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bot/bot.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "sched/when.h"
#include "tg/tg.h"
#include "users/users.h"

#define BOT_LANES         4
#define BOT_CB_MAX        64           /* bytes of callback_data (Bot API limit) */
#define BOT_UPDATE_MAX    (256u << 10) /* bytes of one update's JSON */
#define BOT_UPDATE_DEPTH  32           /* nesting of one update's JSON */
#define BOT_CMD_MAX       32           /* characters of a command name */
#define BOT_QUERY_MAX     64           /* bytes of a zone search text */
#define BOT_ZONE_MAX      64           /* bytes of a zone id and its NUL */
#define BOT_STATE_MAX     32           /* bytes of a conversation state and its NUL */
#define BOT_MAX_ATTEMPTS  3            /* handler runs of one update at most */
#define BOT_SEARCH_RESULT 8            /* zone buttons shown for a search */
#define BOT_ENTITIES_MAX  1000         /* formatting entities of one message */

struct app;
struct bot_zones;
struct tg_client;

/* ---- update.c: pure parsing of what Telegram (or a user) sends ---------- */

enum bot_kind {
	BOT_UPD_OTHER = 0,      /* a type Herald does not handle (yet) */
	BOT_UPD_MESSAGE,        /* message */
	BOT_UPD_EDITED_MESSAGE, /* edited_message */
	BOT_UPD_CALLBACK,       /* callback_query */
	BOT_UPD_MY_MEMBER,      /* my_chat_member: the bot's own status changed */
	BOT_UPD_CHAT_MEMBER,    /* chat_member */
	BOT_UPD_CHANNEL_POST,   /* channel_post, edited_channel_post */
	BOT_UPD_REACTIONS,      /* message_reaction_count, message_reaction */
	BOT_UPD_PRE_CHECKOUT,   /* pre_checkout_query */
};

/* Where one update goes: its chat key (the chat whose order it keeps) and
 * the dispatch lane of that key. */
struct bot_route {
	int64_t update_id;
	enum bot_kind kind;
	int64_t chat_key; /* 0 when the update names no chat or user */
	unsigned lane;    /* 0 .. BOT_LANES - 1 */
};

/*
 * Route a parsed update. An update is an object with an integer update_id
 * >= 0; anything else is -ERR_INVALID (e says why). The chat key is the
 * private chat for messages, the user for callbacks, pre-checkout queries
 * and my_chat_member in channels and groups (so one person's actions keep
 * their order), the chat for channel posts, member and reaction updates.
 */
int bot_route_update(const json_t *upd, struct bot_route *out, struct err *e) WUR;
unsigned bot_lane_of(int64_t chat_key);

/* A command: "/name@bot arg" -> name "name" (lower case) and arg "arg". */
struct bot_cmd {
	char name[BOT_CMD_MAX + 1]; /* "" for a malformed name ("/", "/a-b") */
	struct str arg;             /* trimmed; points into the text */
};

/* Whether text is a command (starts with '/'); fills out when it is. A
 * command addressed to another bot ("/start@other_bot") is not one of ours:
 * false. bot_username may be NULL (not known: any addressee is accepted). */
bool bot_parse_command(const char *text, const char *bot_username, struct bot_cmd *out);

/* Callback data: "1:<action>[:<arg>]", at most BOT_CB_MAX bytes. */
enum bot_cb_action {
	BOT_CB_LANG = 0,     /* arg: a supported language */
	BOT_CB_TZ,           /* arg: a time zone ICU knows */
	BOT_CB_TZ_SEARCH,    /* no arg: "type a city or zone" */
	BOT_CB_CONNECT,      /* arg: chat id: check and connect */
	BOT_CB_IGNORE,       /* arg: chat id: do not connect */
	BOT_CB_CHECK,        /* arg: channel id: check a connected channel again */
	BOT_CB_REMOVE,       /* arg: channel id: ask to confirm the removal */
	BOT_CB_REMOVE_YES,   /* arg: channel id */
	BOT_CB_REMOVE_NO,    /* arg: channel id */
	BOT_CB_SETTINGS,     /* arg: "lang" or "tz" */
	BOT_CB_MENU,         /* arg: "connect", "channels", "help", "post", "queue", "plans",
	                        "subscribe" or "billing" */
	BOT_CB_POST,         /* arg: a step of /post: "done", "addbtn", "nobtn", "chok",
	                        "now", "1h", "t09", "t18", "silent", "pin", "del",
	                        "repeat", "go", "time", "cancel" */
	BOT_CB_POST_CH,      /* arg: channel id: toggle it as a target of the post */
	BOT_CB_Q_EDIT,       /* arg: post id: replace its text */
	BOT_CB_Q_CANCEL,     /* arg: post id: ask to confirm the cancel */
	BOT_CB_Q_CANCEL_YES, /* arg: post id */
	BOT_CB_Q_CANCEL_NO,  /* arg: post id */
	BOT_CB_RESEND,       /* arg: delivery id: an uncertain delivery: send it again */
	BOT_CB_PUBLISHED,    /* arg: delivery id: an uncertain delivery was published */
	BOT_CB_BUY,          /* arg: a step of /subscribe: "plan", "plan.period" or
	                        "plan.period.provider" (bot_buy_parse) */
	BOT_CB_BILLING,      /* arg: "cancel" (ask), "cancel_yes", "cancel_no" */
	BOT_CB_ALERT,        /* arg: a step of /alerts (bot_alert_parse) */
	BOT_CB_REPORT,       /* id: channel id: its 7-day /stats summary (an alert's "Open
	                        report") */
	BOT_CB_STATS,        /* arg: a step of /stats (bot_stats_arg_parse) */
	BOT_CB__COUNT
};

struct bot_cb {
	enum bot_cb_action action;
	int64_t id;               /* chat or channel id */
	char arg[BOT_CB_MAX + 1]; /* the text argument (language, zone, setting, menu item) */
};

/* Encode; -ERR_TOO_BIG when it would pass BOT_CB_MAX bytes, -ERR_INVALID
 * when arg does not fit the action (so only valid data is ever sent). */
int bot_cb_encode(char out[BOT_CB_MAX + 1], enum bot_cb_action action, const char *arg,
                  int64_t id) WUR;
/* Decode and validate data of len bytes (not NUL terminated). -ERR_INVALID
 * for another version, an unknown action, a malformed or out-of-range
 * argument, or more than BOT_CB_MAX bytes. */
int bot_cb_parse(const char *data, size_t len, struct bot_cb *out) WUR;

/* A step of /subscribe as a button carries it: "pro", "pro.month",
 * "pro.month.stars". plan: 1-15 of [a-z0-9_]; period: month or year;
 * provider: a billing provider's name. Fields not given are "". */
struct bot_buy {
	char plan[16], period[8], provider[8];
};
int bot_buy_parse(struct str s, struct bot_buy *out) WUR;

/* A step of /alerts as a button carries it: "list", "add", "ch.<channel
 * id>", "k.<kind>" (an alerts_kind_name), "v.<number>" (a preset: digits,
 * optionally "." and up to 3 more), "mute.<rule id>", "unmute.<rule id>",
 * "del.<rule id>". */
enum bot_alert_verb {
	BOT_AL_LIST,
	BOT_AL_ADD,
	BOT_AL_CHANNEL,
	BOT_AL_KIND,
	BOT_AL_VALUE,
	BOT_AL_MUTE,
	BOT_AL_UNMUTE,
	BOT_AL_REMOVE,
};
struct bot_alert_cb {
	enum bot_alert_verb verb;
	int64_t id;   /* channel or rule id */
	int kind;     /* enum alert_kind, for BOT_AL_KIND */
	double value; /* BOT_AL_VALUE */
};
int bot_alert_parse(struct str s, struct bot_alert_cb *out) WUR;

/* A number typed by a person: digits (spaces between them allowed: "10
 * 000"), optionally "." or "," and 1 to 3 more digits; at most 10 digits
 * before the point. *integer says whether it had no fraction. -ERR_INVALID
 * otherwise. */
int bot_parse_number(struct str s, double *out, bool *integer) WUR;
/* A step of /stats as a button carries it: "c.<channel>" (the channel was
 * chosen: ask the period), "s.<channel>.<days>" (the summary and its
 * chart), "b.<channel>.<days>" (the best-times heatmap), "t.<channel>.<days>"
 * (the top posts). A channel id is positive and written canonically; days is
 * one of BOT_STATS_PERIODS. */
#define BOT_STATS_PERIODS                                                                          \
	{                                                                                          \
		7, 30, 90                                                                          \
	}
struct bot_stats_arg {
	char what; /* 'c', 's', 'b' or 't' */
	int64_t channel;
	int days; /* 0 for 'c' */
};
int bot_stats_arg_parse(struct str s, struct bot_stats_arg *out) WUR;
/* The text of a; "" when a would not parse back. */
void bot_stats_arg_format(const struct bot_stats_arg *a, char *out, size_t outsz);

/* Parse a channel reference typed by a user: "@name", "name",
 * "t.me/name", "https://t.me/name" (-> username without '@') or a numeric
 * chat id ("-1001234567890" -> *chat_id). -ERR_INVALID otherwise. */
int bot_parse_channel_ref(struct str s, char username[64], int64_t *chat_id) WUR;

/* ---- compose.c: pure parts of composing a post --------------------------- */

/*
 * Append text (len bytes of UTF-8) with its Telegram formatting entities
 * (an array of MessageEntity, offsets and lengths in UTF-16 units; NULL for
 * none) to out as Telegram HTML: bold, italic, underline, strikethrough,
 * spoiler, code, pre (with its language), text_link, text_mention,
 * blockquote, expandable_blockquote and custom_emoji; text is escaped with
 * html_escape. Entities may overlap: one that is still open when another
 * closes is closed and opened again, so tags nest. Entities Telegram's rules
 * forbid where they stand (anything inside code or pre, a link inside a
 * link, a quote inside a quote) are left out, and so are malformed ones
 * (outside the text, splitting a surrogate pair) and kinds that Telegram
 * detects by itself (mentions, hashtags, URLs). Returns 0; -ERR_INVALID when
 * entities is not an array; -ERR_TOO_BIG when there are more than
 * BOT_ENTITIES_MAX of them or out's maximum is reached (out is then left as
 * it was).
 */
int bot_entities_html(const char *text, size_t len, const json_t *entities, struct buf *out) WUR;

/* Why button lines were refused, and on which line (1-based). */
enum bot_btn_err {
	BOT_BTN_OK = 0,
	BOT_BTN_FORMAT, /* not "Text - URL" */
	BOT_BTN_TEXT,   /* empty, or longer than POST_BUTTON_TEXT_MAX characters */
	BOT_BTN_URL,    /* html_url_ok refuses it */
	BOT_BTN_ROW,    /* more than POST_ROW_MAX in a row */
	BOT_BTN_TOTAL,  /* more than POST_BUTTONS_MAX in all */
	BOT_BTN_NONE,   /* no button at all */
};
struct bot_btn_fault {
	enum bot_btn_err code;
	size_t line;
};

/*
 * Parse URL buttons typed one row a line: "Text - https://url", buttons of
 * one row separated by " | " (an en or em dash works as "-"; blank lines
 * are skipped). On success *rows is a new array of rows of {"text", "url"};
 * else -ERR_INVALID with f saying why and where, *rows NULL.
 */
int bot_parse_buttons(struct str text, json_t **rows, struct bot_btn_fault *f) WUR;

/*
 * Parse a local time typed by a user, given the local time now: "HH:MM"
 * (today, or tomorrow once that minute has passed), "DD.MM HH:MM" (the next
 * such date: this year, or next year when the day is over),
 * "DD.MM.YYYY HH:MM" and "YYYY-MM-DD HH:MM" (or with a 'T'). Hours 0-23, days
 * that exist. -ERR_INVALID otherwise, *out untouched. Whether the time is in
 * the past is for the caller (posts_validate) to say.
 */
int bot_parse_time(struct str s, const struct when_local *now, struct when_local *out) WUR;
/* Move the date of t forward by days (>= 0) days. */
void bot_local_add_days(struct when_local *t, int days);

/* A post's HTML as plain text for a list: tags dropped, entities decoded,
 * runs of blanks and line breaks as one space, cut at a character boundary
 * to at most max bytes (with "…" when cut) and outsz - 1. */
void bot_html_plain(const char *html, size_t max, char *out, size_t outsz);

/* ---- zones.c: ICU's time zones -------------------------------------------- */

/* The zone list: every IANA location zone ICU knows (aliases included, so
 * "Asia/Kolkata" and "Asia/Calcutta" both exist) plus "UTC". */
struct bot_zones *bot_zones_new(void);
void bot_zones_free(struct bot_zones *z);

/*
 * Search by city or zone name, case-insensitively, '_' and ' ' alike:
 * "new york", "Tashkent", "europe/berlin". An exact zone id or city wins
 * alone; otherwise cities that start with the query, then zone ids that
 * contain it. Aliases of one zone count once. out[] receives up to max
 * zone ids (owned by z); returns how many matched in all (may exceed max).
 */
size_t bot_zones_search(const struct bot_zones *z, const char *query, const char **out, size_t max);

/* The common zones offered for a language, NULL terminated. */
const char *const *bot_zones_common(const char *lang);
/* "New York" for "America/New_York", "UTC" for "UTC". */
void bot_zone_city(const char *zone, char *out, size_t outsz);
/* "UTC+05:00" for zone at the instant at_ms. */
void bot_zone_offset(const char *zone, int64_t at_ms, char *out, size_t outsz);

/* ---- bot.c: the object the threads share ---------------------------------- */

struct bot {
	struct app *a;
	struct tg_client *tg;     /* a->tg: rate-limited sends of the handlers */
	struct tg_client *intake; /* the intake's own client (cancellable long polls) */
	struct bot_zones *zones;
	int64_t bot_id;
	bool webhook;    /* HERALD_PUBLIC_URL is set */
	bool registered; /* webhook mode: setWebhook succeeded */
	int64_t idle_ms; /* how often idle lanes look for work of other nodes */

	pthread_mutex_t mu;
	pthread_cond_t cv;       /* signalled on stop and on new updates */
	bool pending[BOT_LANES]; /* under mu: a lane has new rows */
	atomic_bool stopping;
	bool started;
	pthread_t intake_thread;
	pthread_t lane_threads[BOT_LANES];
	struct bot_lane_arg {
		struct bot *b;
		unsigned n;
	} lane_args[BOT_LANES];
	unsigned nlanes;                      /* lane threads running */
	struct tg_transport intake_transport; /* hc_do, cancelled by stopping */

	atomic_llong received, repeats, handled, failed, retried;
};

/* Sleep up to ms or until stopping (or, for lane >= 0, new rows of that lane). */
void bot_wait(struct bot *b, int lane, int64_t ms);

/* ---- conv.c: a chat's conversation ---------------------------------------- */

struct store;

struct bot_conv {
	char state[BOT_STATE_MAX]; /* "" when idle */
	json_t *data;              /* an object; owned */
};

/* Load chat's conversation (idle with {} when there is none). */
int bot_conv_load(struct store *st, int64_t chat, struct bot_conv *c, struct err *e) WUR;
/* Store state and data (NULL: {}) for chat; state "" deletes the row. */
int bot_conv_save(struct store *st, int64_t chat, const char *state, const json_t *data,
                  struct err *e) WUR;
void bot_conv_release(struct bot_conv *c);

/* ---- ui.c and the handlers ------------------------------------------------ */

/* What a handler knows about the person it answers. */
struct bot_ctx {
	struct bot *b;
	int64_t user_tg;    /* the person (from.id) */
	int64_t chat;       /* where answers go: their private chat */
	const json_t *from; /* the User object */
	bool known;         /* u is loaded */
	struct user u;
	const char *lang; /* u.language, or from Telegram's language_code */
	struct bot_conv conv;
	int64_t cb_message; /* a button's press: the message it is under; else 0 */
	struct err *e;
};

/* Fill c for the person from (a User object) answering in chat. */
int bot_ctx_init(struct bot_ctx *c, struct bot *b, const json_t *from, int64_t chat,
                 struct err *e) WUR;
void bot_ctx_release(struct bot_ctx *c);

/* Send text (and a keyboard, may be NULL) to the context's chat. A user who
 * blocked the bot is recorded as such and is not an error. */
int bot_say(struct bot_ctx *c, const char *text, const json_t *markup) WUR;
/* bot_say with a keyboard it takes (json_decref'd whatever happens). */
int bot_say_kb(struct bot_ctx *c, const char *text, json_t *kb) WUR;
/* Show text and kb (taken) in place of the message whose button was pressed,
 * or as a new message when there is none or it cannot be edited. */
int bot_show(struct bot_ctx *c, const char *text, json_t *kb) WUR;
/* The same to any chat (an owner told about their channel). */
int bot_tell(struct bot *b, int64_t chat, const char *text, const json_t *markup,
             struct err *e) WUR;
/* The same through a's client and store, with send options (parse mode,
 * keyboard...; NULL for none): for senders without a running bot. */
int bot_tell_app(struct app *a, int64_t chat, const char *text, const struct tg_send_opts *o,
                 struct err *e) WUR;
/* What a send to a person (rc and te of a tg_send_* call to chat) means:
 * 0 when sent, or refused because the person blocked the bot (recorded);
 * the transient codes for another try; -ERR_INVALID for a request Telegram
 * refused; 0 for other permanent refusals (logged). */
int bot_sent(struct app *a, int64_t chat, int rc, const struct tg_error *te, struct err *e) WUR;
/* printf into a bounded text for a message; the result is truncated at a
 * character boundary rather than failing. */
void bot_fmt(char *out, size_t outsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Append printf output to the text in out (NUL terminated), cut at a
 * character boundary when it does not fit. */
void bot_addf(char *out, size_t outsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "25.11.2026 09:00" for ms in zone ("" or NULL: UTC; "?" when the zone
 * cannot say). */
void bot_local_time(const char *zone, int64_t ms, char *out, size_t outsz);

/* Keyboards: {"inline_keyboard": [[...], ...]}. */
json_t *bot_kb_new(void);
json_t *bot_kb_row(json_t *kb);
/* Add a callback button to row; a button whose data does not encode is
 * left out (and logged). */
void bot_kb_button(json_t *row, const char *text, enum bot_cb_action action, const char *arg,
                   int64_t id);

/* The dispatcher's entry: handle one update. 0, or an error (transient
 * ones, -ERR_UNAVAILABLE, -ERR_BUSY, -ERR_TIMEOUT, are tried again). */
int bot_handle(struct bot *b, const json_t *upd, struct err *e) WUR;

/* flows.c, used by connect.c and posting.c */
int bot_send_help(struct bot_ctx *c) WUR;
/* Give Telegram the command menu (setMyCommands) in every language: English
 * as the default list, the others by language_code. */
int bot_set_commands(struct tg_client *tg, struct err *e) WUR;
/* "This button belongs to a step that is already finished". */
int bot_stale(struct bot_ctx *c) WUR;

/* connect.c, called by flows.c and posting.c */
/* How to show a channel: its title, else @username, else its id. */
void bot_channel_name(const char *title, const char *username, int64_t chat, char *out,
                      size_t outsz);
int bot_cmd_connect(struct bot_ctx *c, struct str arg) WUR;
int bot_connect_text(struct bot_ctx *c, struct str text) WUR; /* in state "connect" */
int bot_cmd_channels(struct bot_ctx *c) WUR;
int bot_on_forward(struct bot_ctx *c, int64_t chat_id, const char *title) WUR;
int bot_on_channel_cb(struct bot_ctx *c, const struct bot_cb *cb) WUR;
int bot_on_my_member_channel(struct bot *b, const json_t *cmu, struct err *e) WUR;

/* billing.c, called by flows.c */
int bot_cmd_plans(struct bot_ctx *c) WUR;
int bot_cmd_subscribe(struct bot_ctx *c) WUR;
int bot_cmd_billing(struct bot_ctx *c) WUR;
/* A button of BOT_CB_BUY or BOT_CB_BILLING. */
int bot_on_billing_cb(struct bot_ctx *c, const struct bot_cb *cb) WUR;
/* A private message with successful_payment or refunded_payment. */
int bot_on_payment_message(struct bot_ctx *c, const json_t *msg) WUR;
/* A pre_checkout_query: answered at once (ok, or why not in the payer's
 * language). */
int bot_on_pre_checkout(struct bot *b, const json_t *q, struct err *e) WUR;

/* The pure parts of billing.c's texts, for the tests. */
/* A plan's name as shown in lang (the default plans' names are translated). */
const char *bot_plan_name(const char *lang, const char *name);
/* "$9.99" etc. (money_format), or "999 USD" if that fails. */
void bot_money(const char *lang, int64_t minor, const char *currency, char *out, size_t outsz);
/* "25.11.2026" for ms in zone ("?" when the zone cannot say). */
void bot_date(const char *zone, int64_t ms, char *out, size_t outsz);
/*
 * /plans: every plan of plans (billing_plans_json) with its limits and its
 * prices in the currencies of the configured providers (all currencies
 * with a price when none is configured; the language's own currency
 * first), current marked.
 */
void bot_plans_text(const char *lang, const json_t *plans, const char *current, char *out,
                    size_t outsz);
/* /billing: the plan and subscription (billing_current_json) and the ledger
 * (billing_payments_json) in lang, dates in zone; plans names the plans. */
void bot_billing_text(const char *lang, const char *zone, const json_t *plans,
                      const json_t *current, const json_t *payments, char *out, size_t outsz);

/* A billing notice as read for its text. */
struct bot_notice {
	const char *kind; /* billing_notice's kinds */
	const char *plan; /* plans.name ("" when the notice names none) */
	const char *period, *provider;
	int64_t period_end, grace_until; /* 0: not known */
	int64_t amount;                  /* the payment or refund; 0: none */
	const char *currency, *reason;
	int64_t next_amount; /* the next period's price in the provider's currency; 0: none */
	int64_t remind_days;
	bool has_plan; /* the subscription still gives its plan */
};
/* The text of notice n in lang with dates in zone; false for an unknown kind. */
bool bot_notice_text(const char *lang, const char *zone, const struct bot_notice *n, char *out,
                     size_t outsz);

/* alerts.c, called by flows.c */
int bot_cmd_alerts(struct bot_ctx *c) WUR;
/* Whether the chat's state belongs to alerts.c (states "alert_*"). */
bool bot_alerts_state(const struct bot_ctx *c);
/* A message in one of those states. */
int bot_alerts_message(struct bot_ctx *c, const json_t *msg) WUR;
/* A button of BOT_CB_ALERT. */
int bot_on_alerts_cb(struct bot_ctx *c, const struct bot_cb *cb) WUR;

/* posting.c, called by flows.c and alerts.c */
/* Why a delivery failed (its reason as the scheduler records it), and what
 * to do, in lang. */
void bot_delivery_reason(const char *lang, const char *reason, char *out, size_t outsz);
/* stats.c, called by flows.c */
int bot_cmd_stats(struct bot_ctx *c) WUR;
/* A button of BOT_CB_STATS or BOT_CB_REPORT (the 7-day summary). */
int bot_on_stats_cb(struct bot_ctx *c, const struct bot_cb *cb) WUR;

/* The pure parts of stats.c, for the tests: texts over analytics' views. */
struct bot_stats_in {
	const char *lang, *zone;
	int64_t now_ms;                        /* what "updated … ago" counts from */
	int days;                              /* the period: the last days days */
	const json_t *overview, *best, *posts; /* the views overview, best-times, posts */
};
/* Whether anything was ever collected for the overview's channel. */
bool bot_stats_has_data(const json_t *overview);
/* The summary: subscribers, growth, views per post, reach, ERR, ER, posts
 * and activity, the best time, the top post, the content mix, freshness;
 * "≈" on approximate numbers, "not enough data yet" for undefined ones. */
void bot_stats_text(const struct bot_stats_in *in, char *out, size_t outsz);
/* The top posts by views and by ER (at most 5 each) with their links. */
void bot_stats_top_text(const struct bot_stats_in *in, char *out, size_t outsz);
/* The best slot of a best-times view: the cell with the highest ER, or the
 * highest 24-hour views when no cell has an ER; ties go to more posts, then
 * to the earlier slot. weekday 0 = Monday. false when no cell has a value. */
bool bot_stats_best_slot(const json_t *best, int *weekday, int *hour);
/* "Tuesday 18:00–19:00" in lang (weekday 0 = Monday). */
void bot_stats_slot_text(const char *lang, int weekday, int hour, char *out, size_t outsz);
/* "🔄 Updated 12 min ago.", or the local time of at_ms in zone after a
 * day; at_ms 0: nothing collected. */
void bot_stats_fresh_text(const char *lang, const char *zone, int64_t now_ms, int64_t at_ms,
                          char *out, size_t outsz);

/* One local day of a daily series. */
struct bot_stats_day {
	int64_t day;   /* days since 1970-01-01, local */
	int64_t at_ms; /* when that day starts in the zone */
	double value;
	bool approx;
};
struct stats_post;
/*
 * Per local day in zone, the views (views true; posts with unknown views
 * left out) or the number of the posts published in [from_ms, to_ms):
 * from the day of the first such post to the period's last day, days
 * without posts 0. At most max days written to out; returns how many (0
 * with no post, or a zone ICU does not know).
 */
size_t bot_stats_daily(const struct stats_post *posts, size_t n, int64_t from_ms, int64_t to_ms,
                       const char *zone, bool views, struct bot_stats_day *out, size_t max);

/* posting.c, called by flows.c */
int bot_cmd_post(struct bot_ctx *c) WUR;
int bot_cmd_queue(struct bot_ctx *c) WUR;
/* Whether the chat's state belongs to posting.c (states "post_*", "queue_*"). */
bool bot_posting_state(const struct bot_ctx *c);
/* A message in one of those states. */
int bot_posting_message(struct bot_ctx *c, const json_t *msg) WUR;
/* A button of BOT_CB_POST .. BOT_CB_PUBLISHED. */
int bot_on_posting_cb(struct bot_ctx *c, const struct bot_cb *cb) WUR;

#endif
