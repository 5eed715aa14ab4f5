/*
 * sim_impl: what the simulator's files share. Everything in struct sim is
 * guarded by its one mutex (mu); cv is broadcast on every change that a
 * waiter may want (a new update, a new or changed message, a webhook change,
 * stopping), so long polls and the webhook thread wait on it.
 */
#ifndef HERALD_SIM_IMPL_H
#define HERALD_SIM_IMPL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/server.h"
#include "lib/buf.h"
#include "sim/multipart.h"
#include "sim/sim.h"
#include "sim/stripe.h"

#define SIM_MAX_BODY      (60u << 20) /* uploads */
#define SIM_MAX_PARTS     64
#define SIM_JSON_DEPTH    32
#define SIM_MAX_FETCH     10              /* URLs fetched for one call (a media group) */
#define SIM_PHOTO_MAX     (10u * 1000000) /* upload limits, Telegram's "MB" */
#define SIM_FILE_MAX      (50u * 1000000)
#define SIM_URL_PHOTO_MAX (5u * 1000000)
#define SIM_URL_FILE_MAX  (20u * 1000000)
#define SIM_MAX_ATTEMPTS  1000 /* webhook attempts remembered */

enum sim_status { SIM_LEFT, SIM_MEMBER, SIM_ADMIN, SIM_CREATOR, SIM_KICKED };
enum sim_chat_type { SIM_PRIVATE, SIM_CHANNEL };

struct sim_user {
	int64_t id;
	char *first_name, *last_name, *username, *language_code; /* NULL when absent */
	bool is_bot;
	bool started; /* the private chat with the bot exists */
	bool blocked; /* the user blocked the bot */
};

struct sim_member {
	int64_t user_id;
	enum sim_status status;
	json_t *rights; /* administrators: every right as a boolean */
	char *custom_title;
};

#define SIM_AUD_EMOJI 4 /* reaction kinds one post gets at most */

/* A burst of views added to a post (POST /control/channels/{id}/spike). */
struct sim_spike {
	int64_t at;         /* sim seconds: when it starts */
	int64_t views;      /* how many it adds in all */
	int64_t duration_s; /* spread evenly over this long; 0: all at once */
};

/* What the audience model (audience.c) keeps of one channel post. */
struct sim_post_aud {
	bool counted;      /* a post with views (not a service message) */
	uint64_t draw;     /* the post's random draw: its factor, rates and emoji */
	double peak;       /* the views the post tends to, spikes aside */
	int64_t tau_s;     /* the main wave's time constant */
	int64_t tail_s;    /* the long tail's */
	double react_rate; /* reactions per view, all kinds together */
	struct sim_spike *spikes;
	size_t nspikes;
	int64_t sent[SIM_AUD_EMOJI]; /* reaction counts of the last update about it */
};

struct sim_msg {
	json_t *m;    /* the Message as the Bot API shows it */
	json_t *priv; /* what only the simulator knows (an invoice's payload), or NULL */
	bool from_bot, deleted, pinned, edited;
	char parse_mode[16];
	struct sim_post_aud aud; /* channel posts */
};

struct sim_bucket {
	double tokens;
	int64_t at_ms; /* when tokens was last refilled; 0: full */
};

/* Joins and leaves of one UTC day (GET /control/channels/{id}/audience). */
struct sim_aud_day {
	int64_t day; /* Unix seconds / 86400 */
	int64_t joins, leaves;
	int64_t member_count; /* at the end of the day's last event */
};

/* The audience model of one channel (audience.c). */
struct sim_audience {
	uint64_t seed;
	double reach;          /* views a post tends to, per subscriber, before its factor */
	double join_rate;      /* joins per subscriber per day, on average */
	double leave_rate;     /* leaves per subscriber per day */
	double reaction_scale; /* multiplies every post's reaction rate; 0: reactions off */
	int64_t tau_s, tail_s; /* time constants of the view curve for new posts */
	int64_t start;         /* sim seconds: hours of joins and leaves count from here */
	int64_t hours;         /* whole hours since start already played */
	int64_t base;          /* member_count = base + joins - leaves */
	int64_t joins, leaves;
	int64_t readers; /* synthetic readers made (their ids) */
	int64_t scan_at; /* sim seconds of the last look at reaction counts */
	int64_t member_updates, member_updates_skipped, reaction_updates;
	struct sim_aud_day *days; /* oldest first, at most SIM_AUD_MAX_DAYS */
	size_t ndays;
};

struct sim_chat {
	int64_t id;
	enum sim_chat_type type;
	char *title, *username, *description; /* channels */
	int64_t member_count;
	struct sim_member *members; /* channels: creator, admins, others */
	size_t nmembers;
	enum sim_status bot_status; /* channels: the bot's own */
	json_t *bot_rights;         /* when bot_status is SIM_ADMIN */
	struct sim_msg *msgs;       /* msgs[i] has message_id i + 1 */
	size_t nmsgs, capmsgs;
	int64_t version; /* bumped on every change to msgs */
	struct sim_bucket bucket;
	struct sim_audience *aud; /* channels */
};

struct sim_update {
	int64_t id;
	json_t *u; /* with update_id */
};

struct sim_file {
	char file_id[72];
	char unique_id[24];
	char kind[16]; /* photo, video, document, audio, animation */
	int64_t size;
	int width, height;
	char *name, *mime; /* NULL when unknown */
	char *data;        /* the bytes, for GET /control/files/{id} */
};

struct sim_cbq {
	char id[24];
	int64_t user_id, chat_id, message_id;
	char *data;
	bool answered, show_alert;
	char *text, *url;
	int64_t created_ms, answered_ms;
};

struct sim_pcq {
	char id[24];
	int64_t user_id, chat_id, message_id;
	json_t *q; /* the PreCheckoutQuery */
	bool answered, ok;
	char *error_message;
	int64_t created_ms;
};

struct sim_payment {
	char charge_id[48];
	int64_t user_id, amount;
	char currency[8];
	char *payload;
	bool refunded;
};

enum sim_fail_kind { SIM_FAIL_ERROR, SIM_FAIL_HANG, SIM_FAIL_429 };

struct sim_fail {
	int64_t id;
	char method[48]; /* "" or "*": any method */
	bool has_chat;
	int64_t chat_id;
	enum sim_fail_kind kind;
	int status;
	char *description;
	int64_t hang_ms;
	int retry_after;
	int64_t remaining;
};

struct sim_attempt {
	int64_t update_id;
	long status; /* 0: no answer */
	int attempt; /* 1 for the first try of this update */
	int64_t at_ms;
	char error[128];
};

struct sim_webhook {
	char *url, *secret, *ip_address;
	int max_connections;
	int64_t last_error_date;
	char *last_error_message;
	int attempt;        /* failed tries of the update at the head */
	int64_t next_at_ms; /* monotonic; the next try of it */
	int64_t retry_base_ms, retry_max_ms, timeout_ms;
	int max_attempts;
	struct sim_attempt *log; /* a ring of SIM_MAX_ATTEMPTS */
	size_t nlog, logpos;
	int64_t delivered, failed, given_up;
};

enum sim_tme_mode { SIM_TME_OK, SIM_TME_ERROR, SIM_TME_CLOSE, SIM_TME_HANG, SIM_TME_MARKUP };

/* The public page's failure switch (POST /control/tme). */
struct sim_tme {
	enum sim_tme_mode mode;
	int status;        /* SIM_TME_ERROR */
	int64_t hang_ms;   /* SIM_TME_HANG */
	int64_t remaining; /* pages it still applies to; 0: until changed */
	char username[33]; /* only this channel's page; "": every page */
	int64_t served;    /* GET /s/ requests answered */
};

struct sim {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	bool stopping;
	struct http_server *http;
	pthread_t webhook_thread;
	bool webhook_thread_started;

	int64_t bot_id;
	char *token, *bot_username;
	bool rate_limits_default, rate_limits;

	struct sim_user **users;
	size_t nusers;
	struct sim_chat **chats;
	size_t nchats;
	int64_t next_user_id, next_channel_id;

	struct sim_update *updates;
	size_t nupdates;
	int64_t next_update_id;
	json_t *allowed; /* allowed_updates; NULL: Telegram's default */
	uint64_t poll_gen;

	struct sim_webhook wh;

	struct sim_file **files; /* pointers: a file found stays put while others are added */
	size_t nfiles;
	struct sim_cbq *cbqs;
	size_t ncbqs;
	struct sim_pcq *pcqs;
	size_t npcqs;
	struct sim_payment *payments;
	size_t npayments;

	struct sim_fail *fails;
	size_t nfails;
	int64_t next_fail_id;

	struct sim_bucket global;
	int64_t retry_until_ms; /* monotonic; a 429 window the bot was given */

	json_t *requests; /* method -> count */
	int64_t requests_total, violations, too_many, injected;

	json_t *demo;
	json_t *commands;      /* setMyCommands without language_code, or NULL */
	json_t *commands_lang; /* language_code -> setMyCommands with it, or NULL */

	/* Telegram's clock (sim_clock_ms): wall time plus offset_ms, or frozen
	 * at frozen_ms; never below last_ms, the highest value it gave. */
	int64_t clock_offset_ms, clock_frozen_ms, clock_last_ms;
	bool clock_frozen;
	int64_t aud_tick_s; /* sim seconds of the audience model's last step */
	struct sim_tme tme; /* the public page's failure switch */
	uint64_t seq;       /* for ids of files, queries, media groups */

	struct sim_payme *payme; /* the drivers (drivers.h), with locks of their own */
	struct sim_click *click;
	struct sim_stripe *stripe; /* the Stripe simulator (stripe.h), with its own lock */
};

/* One Bot API call being answered. */
struct sim_fetch {
	char *url;
	struct buf data;
	char content_type[128];
	int rc; /* 0 or the failure of the download */
};

struct sim_call {
	struct sim *s;
	struct http_req *r;
	json_t *p; /* parameters: strings from forms, any JSON from a JSON body */
	struct multipart_part parts[SIM_MAX_PARTS];
	size_t nparts;
	const struct sim_method *m;
	json_t *result;          /* on success; owned */
	const char *description; /* on success, optional */
	int code;                /* on failure: error_code */
	char desc[256];
	int retry_after;
	struct sim_fetch fetch[SIM_MAX_FETCH];
	size_t nfetch;
};

enum { SIM_SENDS = 1 << 0, SIM_FETCHES = 1 << 1 };

struct sim_method {
	const char *name;
	void (*fn)(struct sim_call *c); /* called with mu held */
	unsigned flags;
};

/* botapi.c */
int sim_botapi(struct http_req *r);
extern const struct sim_method sim_methods[];
extern const size_t sim_nmethods;

/* control.c */
extern const struct route sim_control_routes[];
extern const size_t sim_control_nroutes;
int sim_page(struct http_req *r);
/* The channel named by the path's {id} (an id or @username), with mu held;
 * NULL after answering 404. */
struct sim_chat *sim_control_channel(struct http_req *r, struct sim *s);
/* A new 1x1 PNG file. */
struct sim_file *sim_fake_photo(struct sim *s);

/* demo.c: the demo's clocks (POST /control/demo/advance) and Telegram's
 * (/control/clock) */
extern const struct route sim_demo_routes[];
extern const size_t sim_demo_nroutes;

/* audience.c: the audience model of channels (docs/simulator.md, "Audience").
 * Every function with mu held. */
#define SIM_AUD_MAX_MEMBER_UPDATES   50  /* chat_member updates per channel per step */
#define SIM_AUD_MAX_REACTION_UPDATES 50  /* message_reaction_count updates, the same */
#define SIM_AUD_REACTION_STEP_S      60  /* reaction counts are looked at this often */
#define SIM_AUD_MAX_DAYS             800 /* days of joins and leaves remembered */
#define SIM_AUD_MAX_SPIKES           64  /* per post */

/* What a post has at one instant. */
struct sim_post_counts {
	int64_t views, forwards, reactions_total;
	size_t nemoji;
	const char *emoji[SIM_AUD_EMOJI];
	int64_t reactions[SIM_AUD_EMOJI];
};

/* A new channel's model with the defaults, its hours counted from now. */
void sim_audience_new(struct sim *s, struct sim_chat *ch);
void sim_audience_free(struct sim_audience *au);
/* Called for every message added to a channel: a post's peak is drawn from
 * the subscribers and the model's settings of the moment. */
void sim_audience_post(struct sim_chat *ch, struct sim_msg *sm);
/* Set a channel's member_count (the base moves so that it stays base +
 * joins - leaves). */
void sim_audience_set_count(struct sim_chat *ch, int64_t n);
/* Bring every channel to the sim clock: play the whole hours of joins and
 * leaves, look at reaction counts, queue the updates (bounded per step). */
void sim_audience_tick(struct sim *s);
/* Is sm a service message (no views)? */
bool sim_msg_is_service(const struct sim_msg *sm);
/* A post's counts at sim time now (seconds); zeros for a service message. */
void sim_post_counts(const struct sim_msg *sm, int64_t now, struct sim_post_counts *out);
/* The share of its peak a post has age_s seconds after it was published:
 * a rising-then-decaying wave (gamma of shape 2) and a long tail. Pure,
 * non-decreasing in age_s, 0 at 0, below 1. */
double sim_aud_curve(int64_t age_s, int64_t tau_s, int64_t tail_s);
extern const struct route sim_audience_routes[];
extern const size_t sim_audience_nroutes;

/* tme.c: the public channel page /s/<username> (protocols.md A.12) */
#define SIM_TME_PAGE_POSTS 20
/* n as t.me abbreviates counts: "987", "1.2K", "12.3K", "3.5M" (to one
 * decimal, half up, ".0" dropped). */
void sim_count_short(int64_t n, char *out, size_t outsz);
extern const struct route sim_tme_routes[];
extern const size_t sim_tme_nroutes;

/* page.c */
extern const char sim_page_html[];
extern const size_t sim_page_html_len;

/* params.c: reading a call's parameters. */
int sim_params_read(struct sim_call *c); /* 0, or c's error is set */
void sim_call_release(struct sim_call *c);
/* Fail the call with an error_code and a description; always returns -1. */
int sim_fail(struct sim_call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A parameter as a string (numbers and booleans are turned into strings);
 * NULL when absent or null. */
const char *prm_str(struct sim_call *c, const char *name);
/* 1 when absent, 0 when read, -ERR_INVALID when not an integer. */
int prm_i64(struct sim_call *c, const char *name, int64_t *v);
/* 1 when absent, 0 when read, -ERR_INVALID when not a boolean. */
int prm_bool(struct sim_call *c, const char *name, bool *v);
/* An object or array parameter, decoded from its JSON string in forms;
 * borrowed. NULL when absent (*bad false) or malformed (*bad true). */
json_t *prm_json(struct sim_call *c, const char *name, bool *bad);
/* The multipart part named name, or NULL. */
const struct multipart_part *prm_part(const struct sim_call *c, const char *name);
/* Download the URL parameters of a media call before mu is taken. */
void sim_prefetch(struct sim_call *c);

/* html.c: Telegram's HTML parse mode. */
/* Check text; on success *len is its length in UTF-16 units without tags.
 * On failure msg gets the description's detail. */
int sim_html_check(const char *text, size_t *len, char *msg, size_t msgsz);
size_t sim_utf16_len(const char *s, size_t n);
bool sim_utf8_valid(const char *s, size_t n);

/* world.c: the state and its JSON shapes; all with mu held. */
void sim_world_init(struct sim *s);
void sim_world_release(struct sim *s);
void sim_broadcast(struct sim *s);
/* Telegram's clock in Unix ms (what message dates come from); never goes
 * back. */
int64_t sim_clock_ms(struct sim *s);
int64_t sim_now_s(struct sim *s);
/* Move Telegram's clock forward by ms (>= 0). */
void sim_clock_advance(struct sim *s, int64_t ms);
/* Freeze Telegram's clock where it is, or let it run on from there. */
void sim_clock_freeze(struct sim *s, bool frozen);
json_t *sim_clock_json(struct sim *s);
struct sim_user *sim_user_find(struct sim *s, int64_t id);
struct sim_user *sim_user_add(struct sim *s, int64_t id);
struct sim_chat *sim_chat_find(struct sim *s, int64_t id);
struct sim_chat *sim_chat_by_username(struct sim *s, const char *username);
/* The private chat with u, created (and u marked started) when absent. */
struct sim_chat *sim_chat_private(struct sim *s, struct sim_user *u);
struct sim_chat *sim_channel_add(struct sim *s, int64_t id);
struct sim_member *sim_member_find(struct sim_chat *ch, int64_t user_id);
struct sim_member *sim_member_set(struct sim_chat *ch, int64_t user_id, enum sim_status st,
                                  json_t *rights);
json_t *sim_user_json(const struct sim_user *u);
json_t *sim_bot_json(const struct sim *s);
json_t *sim_chat_json(struct sim *s, const struct sim_chat *ch);
json_t *sim_member_json(struct sim *s, const struct sim_chat *ch, int64_t user_id);
json_t *sim_bot_member_json(struct sim *s, const struct sim_chat *ch);
const char *sim_status_name(enum sim_status st);
int sim_status_parse(const char *name, enum sim_status *st);
/* Validate rights given as an object of booleans; a new object with every
 * right of a channel administrator (missing ones false). */
json_t *sim_rights_new(const json_t *given, char *msg, size_t msgsz);
bool sim_right(const json_t *rights, const char *name);
/* Append m (stolen) to ch as the next message, adding message_id, chat and
 * date (a date in m wins). */
struct sim_msg *sim_msg_add(struct sim *s, struct sim_chat *ch, json_t *m, bool from_bot);
struct sim_msg *sim_msg_get(struct sim_chat *ch, int64_t id);
json_t *sim_msg_view(const struct sim_msg *sm);
void sim_chat_changed(struct sim *s, struct sim_chat *ch);
/* Does the allowed_updates setting let updates of type through? */
bool sim_update_allowed(const struct sim *s, const char *type);
/* Queue an update of type with payload (stolen); its update_id, or 0 when
 * allowed_updates filtered it out. */
int64_t sim_update_push(struct sim *s, const char *type, json_t *payload);
void sim_updates_drop(struct sim *s, size_t n);
struct sim_file *sim_file_add(struct sim *s, const char *kind, const char *data, size_t len,
                              const char *name, const char *mime);
struct sim_file *sim_file_find(struct sim *s, const char *file_id);
/* A new id: prefix followed by a number unique in this simulator. */
void sim_new_id(struct sim *s, const char *prefix, char *out, size_t outsz);
struct sim_cbq *sim_cbq_find(struct sim *s, const char *id);
struct sim_cbq *sim_cbq_add(struct sim *s);
struct sim_pcq *sim_pcq_find(struct sim *s, const char *id);
struct sim_pcq *sim_pcq_add(struct sim *s);
struct sim_payment *sim_payment_find(struct sim *s, const char *charge_id);
struct sim_payment *sim_payment_add(struct sim *s);
/* Remember what an injected update implies (callback and pre-checkout query
 * ids, payments). */
void sim_register_update(struct sim *s, const json_t *u);
/* my_chat_member for the bot's status change in ch, caused by user from;
 * the update_id, 0 when filtered out. */
int64_t sim_my_chat_member(struct sim *s, struct sim_chat *ch, int64_t from, json_t *old_member,
                           json_t *new_member);
/* The successful_payment message after an approved pre-checkout query. */
void sim_payment_complete(struct sim *s, struct sim_pcq *q);

/* limits.c: flood control and injected failures. */
/* With mu held: may the bot send into ch now? false with c failed (429). */
bool sim_limit_take(struct sim_call *c, struct sim_chat *ch);
/* The first rule matching method and chat with calls left, consumed; NULL. */
struct sim_fail *sim_fail_match(struct sim *s, const char *method, bool has_chat, int64_t chat_id);
json_t *sim_fail_json(const struct sim_fail *f);
void sim_fails_clear(struct sim *s);

/* webhook.c */
void *sim_webhook_main(void *arg);
void sim_webhook_record(struct sim *s, int64_t update_id, long status, int attempt,
                        const char *error);
json_t *sim_webhook_info(struct sim *s);

/* Wait on cv with mu held until deadline (monotonic ms); false on timeout. */
bool sim_wait_until(struct sim *s, int64_t deadline_ms);

#endif
