/*
 * bot/posting: posts in the bot (product.md section 3). /post composes one
 * step by step in the chat's conversation (so a restart loses nothing):
 *
 *   post_content   the post: text (its entities made into HTML), a photo,
 *                  video or file with a caption, or an album (messages of
 *                  one media_group_id, gathered until "Done")
 *   post_buttons   "Add buttons" / "No buttons"; typed lines of URL buttons
 *   post_channels  the user's channels as toggles, then "Next" (skipped for
 *                  a user with one channel)
 *   post_time      presets (now, in 1 hour, tomorrow 09:00 / 18:00) or a
 *                  typed local time in the user's zone
 *   post_confirm   a preview of the post as it will look, and a summary with
 *                  the options (silent, pin, delete after 24 h, repeat) and
 *                  Schedule / Change time / Cancel
 *   queue_edit     /queue's "Edit text": the next message is the new text
 *
 * The data (conversations.data, flow "post") holds what was given so far;
 * the spec sent to posts_create (posts/posts.h) is built from it. A refused
 * post (posts_validate at the preview, posts_create at the end) is explained
 * in the user's language by the fault's code and field, and the chat goes
 * back to the step that can fix it. /queue lists the upcoming deliveries
 * with Edit text / Cancel. bot_notify_delivery tells an owner about a failed
 * or uncertain delivery, and the Resend / It was published buttons answer
 * posts_resolve.
 */
#include "bot/bot_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "channels/channels.h"
#include "lib/clock.h"
#include "lib/i18n.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "posts/html.h"
#include "posts/posts.h"
#include "store/store.h"
#include "tg/tg.h"

#define TEXT_MAX     4000
#define HTML_MAX     (256u << 10) /* bytes of a post's HTML made from one message */
#define QUEUE_SHOWN  10           /* deliveries listed by /queue */
#define EXCERPT_MAX  60           /* bytes of a post's text in a list */
#define LABEL_MAX    28           /* bytes of a channel title on a button */
#define HOUR_MS      (3600LL * 1000)
#define DELETE_HOURS 24
#define DAILY_COUNT  7
#define WEEKLY_COUNT 4
#define FLOW_POST    "post"

#define ST_CONTENT  "post_content"
#define ST_BUTTONS  "post_buttons"
#define ST_CHANNELS "post_channels"
#define ST_TIME     "post_time"
#define ST_CONFIRM  "post_confirm"
#define ST_EDIT     "queue_edit"

static bool in_state(const struct bot_ctx *c, const char *state)
{
	return strcmp(c->conv.state, state) == 0;
}

bool bot_posting_state(const struct bot_ctx *c)
{
	return strncmp(c->conv.state, "post_", 5) == 0 || in_state(c, ST_EDIT);
}

static json_t *data(struct bot_ctx *c)
{
	if (!json_is_object(c->conv.data)) {
		json_decref(c->conv.data);
		c->conv.data = json_object();
	}
	return c->conv.data;
}

static int save(struct bot_ctx *c, const char *state)
{
	int rc = bot_conv_save(c->b->a->store, c->chat, state, data(c), c->e);

	if (!rc)
		snprintf(c->conv.state, sizeof(c->conv.state), "%s", state);
	return rc;
}

static int finish(struct bot_ctx *c)
{
	int rc = bot_conv_save(c->b->a->store, c->chat, "", NULL, c->e);

	if (!rc)
		c->conv.state[0] = '\0';
	return rc;
}

static const char *dstr(struct bot_ctx *c, const char *key)
{
	const char *s = json_string_value(json_object_get(data(c), key));

	return s ? s : "";
}

static bool dbool(struct bot_ctx *c, const char *key)
{
	return json_is_true(json_object_get(data(c), key));
}

/* ---- time as people read it ------------------------------------------------ */

/* "25.11.2026 09:00 (Europe/Berlin, UTC+01:00)". */
static void when_text(const char *zone, int64_t ms, char *out, size_t outsz)
{
	char local[32], off[16];

	bot_local_time(zone, ms, local, sizeof(local));
	bot_zone_offset(zone, ms, off, sizeof(off));
	bot_fmt(out, outsz, "%s (%s, %s)", local, zone, off);
}

static void iso_local(const struct when_local *t, char *out, size_t outsz)
{
	snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d", t->year, t->month, t->day, t->hour,
	         t->minute);
}

/* 0 = Sunday .. 6 = Saturday (Sakamoto's method). */
static int weekday_of(int y, int m, int d)
{
	static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};

	if (m < 3)
		y -= 1;
	return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

/* ---- fault messages -------------------------------------------------------- */

enum step { STEP_CONTENT, STEP_BUTTONS, STEP_CHANNELS, STEP_TIME, STEP_CONFIRM };

static enum step step_of_field(const char *field)
{
	if (strncmp(field, "text", 4) == 0 || strncmp(field, "media", 5) == 0)
		return STEP_CONTENT;
	if (strncmp(field, "buttons", 7) == 0)
		return STEP_BUTTONS;
	if (strncmp(field, "channels", 8) == 0)
		return STEP_CHANNELS;
	if (strncmp(field, "schedule", 8) == 0)
		return STEP_TIME;
	return STEP_CONFIRM;
}

/* What a refused post means for the person, in lang. */
static void fault_text(struct bot_ctx *c, const struct post_fault *f, int64_t at_ms, char *out,
                       size_t outsz)
{
	const char *lang = c->lang;

	if (strcmp(f->code, "too_long") == 0) {
		bot_fmt(out, outsz, "%s",
		        _(lang, "The text is too long for Telegram: at most 4096 characters, or "
		                "1024 under a photo, video or file. Shorten it and send the post "
		                "again."));
	} else if (strcmp(f->code, "past") == 0) {
		bot_fmt(out, outsz, "%s",
		        _(lang, "That time has already passed. Choose a time from now on."));
	} else if (strcmp(f->code, "album") == 0) {
		bot_fmt(out, outsz, "%s",
		        _(lang, "An album holds 2 to 10 photos and videos, or 2 to 10 files, not "
		                "both. Send the post again."));
	} else if (strcmp(f->code, "url") == 0) {
		bot_fmt(out, outsz,
		        _(lang, "A link of the post is not one I can use (%s). Links start with "
		                "https://, http:// or tg://."),
		        f->err.msg);
	} else if (strcmp(f->code, "zone") == 0) {
		bot_fmt(out, outsz, "%s",
		        _(lang, "Your time zone is not valid. Set it again in /settings."));
	} else if (strcmp(f->code, "not_owned") == 0) {
		bot_fmt(out, outsz, "%s",
		        _(lang, "One of the chosen channels is not connected any more. Choose the "
		                "channels again."));
	} else if (strcmp(f->code, "not_editable") == 0) {
		bot_fmt(out, outsz, "%s",
		        _(lang, "This post has already been published, so only its text and "
		                "buttons can change."));
	} else if (strcmp(f->code, "plan_limit") == 0) {
		int64_t used = 0, limit = 0;
		struct err qe = {0};

		if (posts_quota(c->b->a->store, &c->u, at_ms, &used, &limit, &qe))
			limit = 0;
		if (limit > 0)
			bot_fmt(
			    out, outsz,
			    i18n_nget(lang,
			              "Your plan allows %d post a month, and that month has no "
			              "room left. Choose another month, or upgrade your plan.",
			              "Your plan allows %d posts a month, and that month has no "
			              "room left. Choose another month, or upgrade your plan.",
			              (unsigned long)limit),
			    (int)limit);
		else
			bot_fmt(out, outsz, "%s",
			        _(lang,
			          "Your plan's posts for that month are used up. Choose another "
			          "month, or upgrade your plan."));
	} else if (strncmp(f->field, "text", 4) == 0) {
		bot_fmt(out, outsz,
		        _(lang, "Telegram would not accept the formatting of this text (%s). Send "
		                "the post again."),
		        f->err.msg);
	} else {
		bot_fmt(out, outsz, _(lang, "I cannot accept this post: %s."), f->err.msg);
	}
}

/* ---- the steps -------------------------------------------------------------- */

static int ask_content(struct bot_ctx *c, const char *intro)
{
	char text[TEXT_MAX];

	bot_fmt(text, sizeof(text), "%s%s%s", intro, *intro ? "\n\n" : "",
	        _(c->lang, "Send me the post: a text (with any formatting), a photo, video or "
	                   "file with a caption, or an album. /cancel stops."));
	return bot_say(c, text, NULL);
}

static int ask_buttons(struct bot_ctx *c, const char *intro)
{
	char text[TEXT_MAX];
	json_t *kb = bot_kb_new(), *row = bot_kb_row(kb);
	int rc = save(c, ST_BUTTONS);

	if (rc) {
		json_decref(kb);
		return rc;
	}
	bot_fmt(text, sizeof(text), "%s%s%s", intro, *intro ? "\n\n" : "",
	        _(c->lang, "Add link buttons under the post?"));
	bot_kb_button(row, _(c->lang, "➕ Add buttons"), BOT_CB_POST, "addbtn", 0);
	bot_kb_button(row, _(c->lang, "No buttons"), BOT_CB_POST, "nobtn", 0);
	return bot_say_kb(c, text, kb);
}

static bool chosen(struct bot_ctx *c, int64_t id)
{
	const json_t *ids = json_object_get(data(c), "channels"), *v;
	size_t i;

	json_array_foreach(ids, i, v)
	{
		if (json_integer_value(v) == id)
			return true;
	}
	return false;
}

static json_t *channels_keyboard(struct bot_ctx *c, const struct channel *list, size_t n)
{
	json_t *kb = bot_kb_new();
	char name[CH_TITLE_MAX + 64], label[64];

	for (size_t i = 0; i < n; i++) {
		bot_channel_name(list[i].title, list[i].username, list[i].chat_id, name,
		                 LABEL_MAX + 1);
		bot_fmt(label, sizeof(label), "%s %s", chosen(c, list[i].id) ? "✅" : "▫️",
		        name);
		bot_kb_button(bot_kb_row(kb), label, BOT_CB_POST_CH, NULL, list[i].id);
	}
	bot_kb_button(bot_kb_row(kb), _(c->lang, "Next →"), BOT_CB_POST, "chok", 0);
	return kb;
}

static int ask_time(struct bot_ctx *c, const char *intro);

static int ask_channels(struct bot_ctx *c, const char *intro)
{
	struct channel *list = NULL;
	char text[TEXT_MAX];
	size_t n = 0;
	int rc = channels_list(c->b->a->store, c->u.id, &list, &n, c->e);

	if (rc)
		return rc;
	if (n == 0) {
		free(list);
		rc = finish(c);
		return rc ? rc
		          : bot_say(c,
		                    _(c->lang,
		                      "You have no connected channels, so there is nowhere "
		                      "to publish. Connect one with /connect @yourchannel, "
		                      "then send /post again."),
		                    NULL);
	}
	if (n == 1) {
		/* one channel: nothing to choose */
		json_object_set_new(data(c), "channels", json_pack("[I]", (json_int_t)list[0].id));
		free(list);
		return ask_time(c, intro);
	}
	if (!json_is_array(json_object_get(data(c), "channels")))
		json_object_set_new(data(c), "channels", json_array());
	rc = save(c, ST_CHANNELS);
	if (!rc) {
		bot_fmt(text, sizeof(text), "%s%s%s", intro, *intro ? "\n\n" : "",
		        _(c->lang, "Where should I publish it? Tap the channels, then “Next”."));
		rc = bot_say_kb(c, text, channels_keyboard(c, list, n));
	}
	free(list);
	return rc;
}

static int ask_time(struct bot_ctx *c, const char *intro)
{
	char text[TEXT_MAX], off[16];
	json_t *kb, *row;
	int rc = save(c, ST_TIME);

	if (rc)
		return rc;
	bot_zone_offset(c->u.time_zone, clock_app_ms(), off, sizeof(off));
	bot_fmt(text, sizeof(text), "%s%s", intro, *intro ? "\n\n" : "");
	bot_fmt(text + strlen(text), sizeof(text) - strlen(text),
	        _(c->lang, "When should I publish it? Your time zone is %s (%s). Tap a choice, "
	                   "or type a time like 18:30, 25.11 09:00 or 2026-11-25 09:00."),
	        c->u.time_zone, off);
	kb = bot_kb_new();
	row = bot_kb_row(kb);
	bot_kb_button(row, _(c->lang, "Now"), BOT_CB_POST, "now", 0);
	bot_kb_button(row, _(c->lang, "In 1 hour"), BOT_CB_POST, "1h", 0);
	row = bot_kb_row(kb);
	bot_kb_button(row, _(c->lang, "Tomorrow 09:00"), BOT_CB_POST, "t09", 0);
	bot_kb_button(row, _(c->lang, "Tomorrow 18:00"), BOT_CB_POST, "t18", 0);
	return bot_say_kb(c, text, kb);
}

/* The spec of posts/posts.h from the conversation's data. */
static json_t *build_spec(struct bot_ctx *c)
{
	json_t *d = data(c), *spec = json_object(), *sched;
	const char *text = dstr(c, "text"), *at = dstr(c, "at"), *repeat = dstr(c, "repeat");
	char now_at[32];

	if (*text)
		json_object_set_new(spec, "text", json_string(text));
	if (json_array_size(json_object_get(d, "media")))
		json_object_set(spec, "media", json_object_get(d, "media"));
	if (json_array_size(json_object_get(d, "buttons")))
		json_object_set(spec, "buttons", json_object_get(d, "buttons"));
	json_object_set_new(spec, "silent", json_boolean(dbool(c, "silent")));
	json_object_set_new(spec, "pin", json_boolean(dbool(c, "pin")));
	json_object_set_new(spec, "delete_after_hours",
	                    json_integer(dbool(c, "del") ? DELETE_HOURS : 0));
	json_object_set(spec, "channels",
	                json_is_array(json_object_get(d, "channels"))
	                    ? json_object_get(d, "channels")
	                    : json_array());
	if (*repeat && strcmp(at, "now") == 0) {
		/* a repeating post starts now: its first local minute */
		struct when_local t;

		if (when_to_local(c->u.time_zone, clock_app_ms(), &t, NULL, NULL, NULL) == 0) {
			iso_local(&t, now_at, sizeof(now_at));
			at = now_at;
		}
	}
	sched = json_pack("{s:s, s:s}", "at", at, "zone", c->u.time_zone);
	if (*repeat) {
		json_t *r = json_pack("{s:s, s:i}", "every", repeat, "count",
		                      strcmp(repeat, "week") == 0 ? WEEKLY_COUNT : DAILY_COUNT);
		int64_t y, m, day;

		/* weekly on the weekday of the first date ("YYYY-MM-DD...") */
		if (strcmp(repeat, "week") == 0 && strlen(at) >= 10 &&
		    str_to_i64((struct str){at, 4}, 1900, 9999, &y) == 0 &&
		    str_to_i64((struct str){at + 5, 2}, 1, 12, &m) == 0 &&
		    str_to_i64((struct str){at + 8, 2}, 1, 31, &day) == 0) {
			static const char *const names[] = {"sun", "mon", "tue", "wed",
			                                    "thu", "fri", "sat"};

			json_object_set_new(
			    r, "weekdays",
			    json_pack("[s]", names[weekday_of((int)y, (int)m, (int)day)]));
		}
		json_object_set_new(sched, "repeat", r);
	}
	json_object_set_new(spec, "schedule", sched);
	return spec;
}

/* The channels of the post by name, "A, B". */
static int channel_names(struct bot_ctx *c, char *out, size_t outsz)
{
	struct channel *list = NULL;
	size_t n = 0, len = 0;
	char name[CH_TITLE_MAX + 64];
	int rc = channels_list(c->b->a->store, c->u.id, &list, &n, c->e);

	out[0] = '\0';
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (!chosen(c, list[i].id))
			continue;
		bot_channel_name(list[i].title, list[i].username, list[i].chat_id, name,
		                 sizeof(name));
		bot_fmt(out + len, outsz - len, "%s%s", len ? ", " : "", name);
		len = strlen(out);
	}
	free(list);
	return 0;
}

/* Send spec's content to chat as it will be published (HTML, buttons). */
static int send_post(struct bot_ctx *c, const json_t *spec)
{
	struct app *a = c->b->a;
	const json_t *media = json_object_get(spec, "media"),
	             *buttons = json_object_get(spec, "buttons");
	const char *text = json_string_value(json_object_get(spec, "text"));
	json_t *markup =
	    json_array_size(buttons) ? json_pack("{s:O}", "inline_keyboard", buttons) : NULL;
	struct tg_send_opts o = {.parse_mode = "HTML", .reply_markup = markup};
	struct tg_media items[POST_MEDIA_MAX];
	size_t n = json_array_size(media);
	struct tg_error te = {0};
	int rc;

	memset(items, 0, sizeof(items));
	for (size_t i = 0; i < n && i < POST_MEDIA_MAX; i++) {
		const json_t *m = json_array_get(media, i);

		items[i].kind = json_string_value(json_object_get(m, "type"));
		items[i].ref = json_string_value(json_object_get(m, "file_id"));
		if (!items[i].ref)
			items[i].ref = json_string_value(json_object_get(m, "url"));
	}
	if (n > 0 && text && *text) {
		items[0].caption = text;
		items[0].parse_mode = "HTML";
	}
	if (n == 0)
		rc = tg_send_message(a->tg, c->chat, text ? text : "", &o, NULL, &te);
	else if (n == 1)
		rc = tg_send_media(a->tg, c->chat, &items[0], &o, NULL, &te);
	else
		rc = tg_send_media_group(a->tg, c->chat, items,
		                         n < POST_MEDIA_MAX ? n : POST_MEDIA_MAX, NULL, NULL, &te);
	rc = bot_sent(a, c->chat, rc, &te, c->e);
	if (rc == 0 && n > 1 && markup) {
		/* an album carries no buttons: they come in a message of their own */
		struct tg_send_opts bo = {.reply_markup = markup};

		rc = bot_tell_app(a, c->chat, _(c->lang, "⬆️ The post's buttons:"), &bo, c->e);
	}
	json_decref(markup);
	return rc;
}

static json_t *summary_keyboard(struct bot_ctx *c)
{
	const char *repeat = dstr(c, "repeat");
	json_t *kb = bot_kb_new(), *row = bot_kb_row(kb);
	char label[96];

	bot_fmt(label, sizeof(label), "%s %s", dbool(c, "silent") ? "✅" : "▫️",
	        _(c->lang, "Silent"));
	bot_kb_button(row, label, BOT_CB_POST, "silent", 0);
	bot_fmt(label, sizeof(label), "%s %s", dbool(c, "pin") ? "✅" : "▫️", _(c->lang, "Pin"));
	bot_kb_button(row, label, BOT_CB_POST, "pin", 0);
	row = bot_kb_row(kb);
	bot_fmt(label, sizeof(label), "%s %s", dbool(c, "del") ? "✅" : "▫️",
	        _(c->lang, "Delete after 24 h"));
	bot_kb_button(row, label, BOT_CB_POST, "del", 0);
	bot_fmt(label, sizeof(label), "🔁 %s",
	        strcmp(repeat, "day") == 0    ? _(c->lang, "Daily, 7 times")
	        : strcmp(repeat, "week") == 0 ? _(c->lang, "Weekly, 4 times")
	                                      : _(c->lang, "Once"));
	bot_kb_button(row, label, BOT_CB_POST, "repeat", 0);
	row = bot_kb_row(kb);
	bot_kb_button(row, _(c->lang, "✅ Schedule"), BOT_CB_POST, "go", 0);
	bot_kb_button(row, _(c->lang, "🕒 Change time"), BOT_CB_POST, "time", 0);
	bot_kb_button(row, _(c->lang, "✖ Cancel"), BOT_CB_POST, "cancel", 0);
	return kb;
}

/* The line about a time that was moved or that happens twice, or "". */
static void adjust_text(struct bot_ctx *c, const struct post_when *w, char *out, size_t outsz)
{
	const char *at = dstr(c, "at");
	char typed[32] = "", when[128];

	out[0] = '\0';
	if (!w->adjust || strcmp(w->adjust, "exact") == 0 || strlen(at) < 16)
		return;
	/* "2026-03-29T02:30" -> "29.03.2026 02:30" */
	bot_fmt(typed, sizeof(typed), "%.2s.%.2s.%.4s %.5s", at + 8, at + 5, at, at + 11);
	when_text(c->u.time_zone, w->first_at, when, sizeof(when));
	if (strcmp(w->adjust, "moved_forward") == 0)
		bot_fmt(out, outsz,
		        _(c->lang,
		          "⚠️ %s does not exist in your time zone (the clocks go forward "
		          "then), so I will publish at %s."),
		        typed, when);
	else if (strcmp(w->adjust, "ambiguous_first") == 0)
		bot_fmt(out, outsz,
		        _(c->lang,
		          "⚠️ %s happens twice in your time zone (the clocks go back then); "
		          "I will publish at the first of the two: %s."),
		        typed, when);
}

/* The summary of the post as the data stands, after posts_validate; *f
 * filled and -ERR_INVALID when the post would be refused. */
static int summary(struct bot_ctx *c, char *out, size_t outsz, struct post_fault *f)
{
	json_t *spec = build_spec(c), *canon = NULL;
	char names[1024], when[128], adj[512];
	const char *repeat = dstr(c, "repeat");
	struct post_when w = {0};
	size_t len;
	int rc = posts_validate(spec, c->u.time_zone, clock_app_ms(), &canon, &w, f);

	json_decref(spec);
	json_decref(canon);
	if (rc)
		return rc;
	rc = channel_names(c, names, sizeof(names));
	if (rc)
		return rc;
	if (strcmp(dstr(c, "at"), "now") == 0 && !*repeat)
		bot_fmt(when, sizeof(when), "%s", _(c->lang, "now, as soon as you confirm"));
	else
		when_text(c->u.time_zone, w.first_at, when, sizeof(when));
	bot_fmt(out, outsz, _(c->lang, "Ready to publish.\nChannels: %s\nTime: %s"), names, when);
	adjust_text(c, &w, adj, sizeof(adj));
	len = strlen(out);
	if (adj[0])
		bot_fmt(out + len, outsz - len, "\n%s", adj);
	len = strlen(out);
	bot_fmt(out + len, outsz - len, "\n\n%s",
	        _(c->lang, "Tap the options you want, then “Schedule”."));
	return 0;
}

/* Go back to the step that can fix the fault, with its message first. */
static int refused(struct bot_ctx *c, const struct post_fault *f, int64_t at_ms)
{
	char text[TEXT_MAX];
	int rc;

	fault_text(c, f, at_ms, text, sizeof(text));
	log_info("msg=\"post refused\" user=%lld field=%s code=%s err=\"%s\"", (long long)c->u.id,
	         f->field, f->code, f->err.msg);
	switch (step_of_field(f->field)) {
	case STEP_CONTENT:
		json_object_del(data(c), "text");
		json_object_del(data(c), "media");
		json_object_del(data(c), "group");
		rc = save(c, ST_CONTENT);
		return rc ? rc : ask_content(c, text);
	case STEP_BUTTONS:
		json_object_del(data(c), "buttons");
		return ask_buttons(c, text);
	case STEP_CHANNELS:
		json_object_set_new(data(c), "channels", json_array());
		return ask_channels(c, text);
	case STEP_TIME:
		return ask_time(c, text);
	case STEP_CONFIRM:
		break;
	}
	return bot_say(c, text, NULL);
}

/* The preview and the summary (state post_confirm). */
static int confirm_step(struct bot_ctx *c)
{
	struct post_fault f = {0};
	char text[TEXT_MAX];
	json_t *spec;
	int rc = summary(c, text, sizeof(text), &f);

	if (rc == -ERR_INVALID || rc == -ERR_TOO_BIG || rc == -ERR_NOT_FOUND)
		return refused(c, &f, clock_app_ms());
	if (rc)
		return rc;
	rc = save(c, ST_CONFIRM);
	if (rc)
		return rc;
	spec = build_spec(c);
	rc = send_post(c, spec);
	json_decref(spec);
	if (rc == -ERR_INVALID) {
		/* Telegram refused the preview: the post would fail the same way */
		struct post_fault tf = {.field = "text", .code = "invalid"};

		snprintf(tf.err.msg, sizeof(tf.err.msg), "%s", c->e->msg);
		return refused(c, &tf, clock_app_ms());
	}
	if (rc)
		return rc;
	return bot_say_kb(c, text, summary_keyboard(c));
}

/* ---- /post: messages -------------------------------------------------------- */

/* The largest size of a photo message (the last, as Telegram orders them;
 * the one with most pixels when they are not in order). */
static const char *largest_photo(const json_t *sizes)
{
	const char *best = NULL;
	json_int_t most = -1;
	const json_t *p;
	size_t i;

	json_array_foreach(sizes, i, p)
	{
		json_int_t px = json_integer_value(json_object_get(p, "width")) *
		                json_integer_value(json_object_get(p, "height"));
		const char *id = json_string_value(json_object_get(p, "file_id"));

		if (id && px >= most) {
			most = px;
			best = id;
		}
	}
	return best;
}

/* The media of a message: kind and file id; false when it has none Herald
 * can publish. */
static bool message_media(const json_t *msg, const char **kind, const char **file_id)
{
	const json_t *photo = json_object_get(msg, "photo");

	*kind = NULL;
	*file_id = NULL;
	if (json_is_array(photo)) {
		*kind = "photo";
		*file_id = largest_photo(photo);
	} else if (json_is_object(json_object_get(msg, "video"))) {
		*kind = "video";
		*file_id =
		    json_string_value(json_object_get(json_object_get(msg, "video"), "file_id"));
	} else if (json_is_object(json_object_get(msg, "document"))) {
		/* documents, and animations (which carry their document too) */
		*kind = "document";
		*file_id =
		    json_string_value(json_object_get(json_object_get(msg, "document"), "file_id"));
	}
	return *kind && *file_id && **file_id;
}

/* The HTML of a message's text or caption; -ERR_TOO_BIG when it cannot be. */
static int message_html(const json_t *msg, bool caption, char **out)
{
	const json_t *t = json_object_get(msg, caption ? "caption" : "text");
	const json_t *ents = json_object_get(msg, caption ? "caption_entities" : "entities");
	struct buf b;
	int rc;

	*out = NULL;
	buf_init(&b, HTML_MAX);
	rc = bot_entities_html(json_string_value(t) ? json_string_value(t) : "",
	                       json_string_length(t), json_is_array(ents) ? ents : NULL, &b);
	if (rc) {
		buf_release(&b);
		return -ERR_TOO_BIG;
	}
	*out = buf_take(&b, NULL);
	return 0;
}

static int say_too_long(struct bot_ctx *c)
{
	struct post_fault f = {.field = "text", .code = "too_long"};

	return refused(c, &f, 0);
}

static json_t *done_keyboard(struct bot_ctx *c)
{
	json_t *kb = bot_kb_new();

	bot_kb_button(bot_kb_row(kb), _(c->lang, "Done"), BOT_CB_POST, "done", 0);
	return kb;
}

/* One message of an album (a media_group_id): gathered until "Done". */
static int album_item(struct bot_ctx *c, const json_t *msg, const char *group, const char *kind,
                      const char *file_id)
{
	json_t *d = data(c), *media = json_object_get(d, "media");
	bool first = strcmp(dstr(c, "group"), group) != 0;
	char text[TEXT_MAX], *html = NULL;
	int rc;

	if (first) {
		json_object_set_new(d, "group", json_string(group));
		json_object_set_new(d, "media", json_array());
		json_object_del(d, "text");
		media = json_object_get(d, "media");
	}
	if (json_array_size(media) >= POST_MEDIA_MAX) {
		bot_fmt(text, sizeof(text),
		        _(c->lang, "An album holds at most %d photos, videos or files; I left out "
		                   "the ones after the 10th. Press “Done” to go on."),
		        POST_MEDIA_MAX);
		return bot_say_kb(c, text, done_keyboard(c));
	}
	json_array_append_new(media, json_pack("{s:s, s:s}", "type", kind, "file_id", file_id));
	if (json_string_length(json_object_get(msg, "caption")) && !*dstr(c, "text")) {
		rc = message_html(msg, true, &html);
		if (rc)
			return say_too_long(c);
		json_object_set_new(d, "text", json_string(html));
		free(html);
	}
	rc = save(c, ST_CONTENT);
	if (rc || !first)
		return rc;
	return bot_say_kb(c,
	                  _(c->lang,
	                    "I am gathering the album. Press “Done” when all of its photos "
	                    "and videos are here."),
	                  done_keyboard(c));
}

static int content_in(struct bot_ctx *c, const json_t *msg)
{
	const char *group = json_string_value(json_object_get(msg, "media_group_id"));
	const char *kind, *file_id;
	bool media = message_media(msg, &kind, &file_id);
	json_t *d = data(c);
	char *html = NULL;
	int rc;

	if (group && media)
		return album_item(c, msg, group, kind, file_id);
	if (*dstr(c, "group"))
		return bot_say_kb(c,
		                  _(c->lang,
		                    "I am still gathering the album. Press “Done” when all of "
		                    "it is here, or /cancel."),
		                  done_keyboard(c));
	if (!media && !json_string_length(json_object_get(msg, "text")))
		return bot_say(c,
		               _(c->lang, "I can publish text, photos, videos and files. Send the "
		                          "post as one of those, or /cancel."),
		               NULL);
	rc = message_html(msg, media, &html);
	if (rc)
		return say_too_long(c);
	json_object_set_new(d, "text", json_string(html));
	free(html);
	if (media)
		json_object_set_new(d, "media",
		                    json_pack("[{s:s, s:s}]", "type", kind, "file_id", file_id));
	else
		json_object_del(d, "media");
	return ask_buttons(c, "");
}

static int buttons_in(struct bot_ctx *c, const char *text)
{
	struct bot_btn_fault f;
	char msg[TEXT_MAX], intro[256];
	json_t *rows = NULL;
	size_t n = 0;

	if (bot_parse_buttons(str_c(text), &rows, &f)) {
		switch (f.code) {
		case BOT_BTN_TEXT:
			bot_fmt(msg, sizeof(msg),
			        _(c->lang, "Line %d: a button's text must be 1 to 64 characters."),
			        (int)f.line);
			break;
		case BOT_BTN_URL:
			bot_fmt(msg, sizeof(msg),
			        _(c->lang,
			          "Line %d: the link is not one I can use. Links start with "
			          "https://, http:// or tg://, like https://example.com."),
			        (int)f.line);
			break;
		case BOT_BTN_ROW:
			bot_fmt(msg, sizeof(msg),
			        _(c->lang, "Line %d has too many buttons: a row holds at most 8."),
			        (int)f.line);
			break;
		case BOT_BTN_TOTAL:
			bot_fmt(msg, sizeof(msg), "%s",
			        _(c->lang, "A post can have at most 100 buttons."));
			break;
		case BOT_BTN_FORMAT:
			bot_fmt(msg, sizeof(msg),
			        _(c->lang, "Line %d is not a button. Write each button as “Text - "
			                   "https://example.com”."),
			        (int)f.line);
			break;
		default:
			bot_fmt(msg, sizeof(msg), "%s",
			        _(c->lang, "I found no buttons there. Write each button as “Text - "
			                   "https://example.com”."));
			break;
		}
		return bot_say(c, msg, NULL);
	}
	for (size_t i = 0; i < json_array_size(rows); i++)
		n += json_array_size(json_array_get(rows, i));
	json_object_set_new(data(c), "buttons", rows);
	bot_fmt(intro, sizeof(intro),
	        i18n_nget(c->lang, "✅ %d button added.", "✅ %d buttons added.", (unsigned long)n),
	        (int)n);
	return ask_channels(c, intro);
}

static int time_in(struct bot_ctx *c, const char *text)
{
	struct when_local now, t;
	char at[32], msg[TEXT_MAX], shown[64];
	int rc = when_to_local(c->u.time_zone, clock_app_ms(), &now, NULL, NULL, c->e);

	if (rc)
		return rc;
	if (bot_parse_time(str_c(text), &now, &t)) {
		bot_fmt(shown, sizeof(shown), "%s", text);
		bot_fmt(msg, sizeof(msg),
		        _(c->lang,
		          "I could not read “%s” as a time. Type it like 18:30, 25.11 09:00 "
		          "or 2026-11-25 09:00, or tap a choice above."),
		        shown);
		return bot_say(c, msg, NULL);
	}
	iso_local(&t, at, sizeof(at));
	json_object_set_new(data(c), "at", json_string(at));
	return confirm_step(c);
}

/* The new text of a post from /queue's "Edit text". */
static int edit_in(struct bot_ctx *c, const json_t *msg)
{
	int64_t id = (int64_t)json_integer_value(json_object_get(data(c), "post"));
	struct post_fault f = {0};
	json_t *patch;
	char *html = NULL, text[TEXT_MAX];
	int rc;

	if (!json_string_length(json_object_get(msg, "text")))
		return bot_say(c, _(c->lang, "Send the new text as a message, or /cancel."), NULL);
	if (message_html(msg, false, &html))
		return say_too_long(c);
	patch = json_pack("{s:s}", "text", html);
	free(html);
	rc = posts_update(c->b->a->store, &c->u, id, patch, clock_app_ms(), &f);
	json_decref(patch);
	if (rc == -ERR_INVALID || rc == -ERR_TOO_BIG) {
		fault_text(c, &f, 0, text, sizeof(text));
		return bot_say(c, text, NULL); /* still waiting for a text */
	}
	if (rc == -ERR_NOT_FOUND || rc == -ERR_CONFLICT) {
		int frc = finish(c);

		if (frc)
			return frc;
		if (rc == -ERR_CONFLICT && strcmp(f.code, "not_editable") == 0) {
			fault_text(c, &f, 0, text, sizeof(text));
			return bot_say(c, text, NULL);
		}
		return bot_say(c,
		               _(c->lang, "This post can no longer be changed. /queue shows what "
		                          "is scheduled."),
		               NULL);
	}
	if (rc)
		return rc;
	rc = finish(c);
	return rc ? rc
	          : bot_say(c, _(c->lang, "✅ The text is updated. /queue shows what is scheduled."),
	                    NULL);
}

int bot_posting_message(struct bot_ctx *c, const json_t *msg)
{
	const char *text = json_string_value(json_object_get(msg, "text"));

	if (in_state(c, ST_CONTENT))
		return content_in(c, msg);
	if (in_state(c, ST_EDIT))
		return edit_in(c, msg);
	if (in_state(c, ST_BUTTONS) && text)
		return buttons_in(c, text);
	if (in_state(c, ST_TIME) && text)
		return time_in(c, text);
	if (in_state(c, ST_BUTTONS))
		return ask_buttons(c, "");
	if (in_state(c, ST_TIME))
		return ask_time(c, "");
	if (in_state(c, ST_CHANNELS))
		return ask_channels(c, _(c->lang, "Please choose the channels with the buttons."));
	return bot_say(c,
	               _(c->lang, "Please use the buttons under the summary: “Schedule”, “Change "
	                          "time” or “Cancel”."),
	               NULL);
}

int bot_cmd_post(struct bot_ctx *c)
{
	struct channel *list = NULL;
	size_t n = 0;
	int rc = channels_list(c->b->a->store, c->u.id, &list, &n, c->e);

	free(list);
	if (rc)
		return rc;
	if (n == 0)
		return bot_say(c,
		               _(c->lang,
		                 "You have no connected channels, so there is nowhere to "
		                 "publish. Connect one with /connect @yourchannel, then send "
		                 "/post again."),
		               NULL);
	json_decref(c->conv.data);
	c->conv.data = json_pack("{s:s}", "flow", FLOW_POST);
	rc = save(c, ST_CONTENT);
	return rc ? rc : ask_content(c, "");
}

/* ---- /post: buttons ----------------------------------------------------------- */

static int toggle_channel(struct bot_ctx *c, int64_t id)
{
	struct channel *list = NULL;
	json_t *ids = json_object_get(data(c), "channels"), *kept = json_array(), *v;
	bool found = false, was = chosen(c, id);
	size_t n = 0, i;
	int rc = channels_list(c->b->a->store, c->u.id, &list, &n, c->e);

	for (i = 0; !rc && i < n; i++)
		found |= list[i].id == id;
	if (rc || !found) {
		json_decref(kept);
		free(list);
		return rc ? rc
		          : bot_say(c,
		                    _(c->lang, "This channel is not connected any more. /channels "
		                               "lists your channels."),
		                    NULL);
	}
	json_array_foreach(ids, i, v)
	{
		if (json_integer_value(v) != id)
			json_array_append(kept, v);
	}
	if (!was)
		json_array_append_new(kept, json_integer(id));
	json_object_set_new(data(c), "channels", kept);
	rc = save(c, ST_CHANNELS);
	if (!rc)
		rc = bot_show(
		    c, _(c->lang, "Where should I publish it? Tap the channels, then “Next”."),
		    channels_keyboard(c, list, n));
	free(list);
	return rc;
}

/* The time of a preset, as the spec's schedule.at. */
static int preset_at(struct bot_ctx *c, const char *which, char *at, size_t atsz)
{
	int64_t now = clock_app_ms();
	struct when_local t;
	int off = 0, rc;

	if (strcmp(which, "now") == 0) {
		snprintf(at, atsz, "now");
		return 0;
	}
	if (strcmp(which, "1h") == 0) {
		/* an instant: the local minute with its offset, never ambiguous */
		rc = when_to_local(c->u.time_zone, now + HOUR_MS, &t, NULL, &off, c->e);
		if (rc)
			return rc;
		snprintf(at, atsz, "%04d-%02d-%02dT%02d:%02d%c%02d:%02d", t.year, t.month, t.day,
		         t.hour, t.minute, off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
		return 0;
	}
	rc = when_to_local(c->u.time_zone, now, &t, NULL, NULL, c->e);
	if (rc)
		return rc;
	bot_local_add_days(&t, 1);
	t.hour = strcmp(which, "t09") == 0 ? 9 : 18;
	t.minute = 0;
	iso_local(&t, at, atsz);
	return 0;
}

static int schedule(struct bot_ctx *c)
{
	json_t *spec = build_spec(c), *canon = NULL;
	struct post_fault f = {0};
	struct post_when w = {0};
	char names[1024], when[128], text[TEXT_MAX];
	int64_t id = 0, now = clock_app_ms();
	int rc = posts_validate(spec, c->u.time_zone, now, &canon, &w, &f);

	json_decref(canon);
	if (!rc)
		rc = posts_create(c->b->a->store, &c->u, spec, now, NULL, &id, &f);
	json_decref(spec);
	if (rc == -ERR_INVALID || rc == -ERR_NOT_FOUND || rc == -ERR_TOO_BIG)
		return refused(c, &f, w.first_at ? w.first_at : now);
	if (rc)
		return rc;
	log_info("msg=\"post scheduled\" user=%lld post=%lld", (long long)c->u.id, (long long)id);
	rc = channel_names(c, names, sizeof(names));
	if (!rc)
		rc = finish(c);
	if (rc)
		return rc;
	if (strcmp(dstr(c, "at"), "now") == 0 && !*dstr(c, "repeat"))
		bot_fmt(text, sizeof(text), _(c->lang, "✅ Publishing now in %s."), names);
	else {
		when_text(c->u.time_zone, w.first_at, when, sizeof(when));
		bot_fmt(text, sizeof(text), _(c->lang, "✅ Scheduled for %s in %s."), when, names);
	}
	return bot_say(c, text, NULL);
}

static int post_step(struct bot_ctx *c, const char *step)
{
	char at[40];
	int rc;

	if (strcmp(step, "cancel") == 0) {
		rc = finish(c);
		return rc ? rc
		          : bot_say(c,
		                    _(c->lang, "OK, the post is discarded. Nothing was scheduled."),
		                    NULL);
	}
	if (strcmp(step, "done") == 0 && in_state(c, ST_CONTENT) && *dstr(c, "group")) {
		json_object_del(data(c), "group");
		return ask_buttons(c, "");
	}
	if (strcmp(step, "addbtn") == 0 && in_state(c, ST_BUTTONS))
		return bot_say(c,
		               _(c->lang,
		                 "Send the buttons, one row a line, each as “Text - "
		                 "https://example.com”. Put several buttons in a row with "
		                 "“ | ” between them, for example:\n"
		                 "Site - https://example.com | Shop - https://example.com/shop\n"
		                 "Channel - https://t.me/yourchannel"),
		               NULL);
	if (strcmp(step, "nobtn") == 0 && in_state(c, ST_BUTTONS)) {
		json_object_del(data(c), "buttons");
		return ask_channels(c, "");
	}
	if (strcmp(step, "chok") == 0 && in_state(c, ST_CHANNELS)) {
		if (json_array_size(json_object_get(data(c), "channels")) == 0)
			return bot_say(c, _(c->lang, "Choose at least one channel."), NULL);
		return ask_time(c, "");
	}
	if (in_state(c, ST_TIME) && (strcmp(step, "now") == 0 || strcmp(step, "1h") == 0 ||
	                             strcmp(step, "t09") == 0 || strcmp(step, "t18") == 0)) {
		rc = preset_at(c, step, at, sizeof(at));
		if (rc)
			return rc;
		json_object_set_new(data(c), "at", json_string(at));
		return confirm_step(c);
	}
	if (!in_state(c, ST_CONFIRM))
		return bot_stale(c);
	if (strcmp(step, "go") == 0)
		return schedule(c);
	if (strcmp(step, "time") == 0)
		return ask_time(c, "");
	if (strcmp(step, "silent") == 0 || strcmp(step, "pin") == 0 || strcmp(step, "del") == 0 ||
	    strcmp(step, "repeat") == 0) {
		const char *key = strcmp(step, "del") == 0 ? "del" : step;
		char text[TEXT_MAX];
		struct post_fault f = {0};

		if (strcmp(step, "repeat") == 0) {
			const char *r = dstr(c, "repeat");

			json_object_set_new(data(c), "repeat",
			                    json_string(!*r                     ? "day"
			                                : strcmp(r, "day") == 0 ? "week"
			                                                        : ""));
		} else {
			json_object_set_new(data(c), key, json_boolean(!dbool(c, key)));
		}
		rc = summary(c, text, sizeof(text), &f);
		if (rc == -ERR_INVALID || rc == -ERR_TOO_BIG || rc == -ERR_NOT_FOUND)
			return refused(c, &f, clock_app_ms());
		if (!rc)
			rc = save(c, ST_CONFIRM);
		return rc ? rc : bot_show(c, text, summary_keyboard(c));
	}
	return bot_stale(c);
}

/* ---- /queue ---------------------------------------------------------------- */

int bot_cmd_queue(struct bot_ctx *c)
{
	json_t *list = NULL, *kb, *d;
	char text[TEXT_MAX], line[512], when[32], excerpt[EXCERPT_MAX + 8], label[64];
	int64_t posts[QUEUE_SHOWN];
	size_t nposts = 0, i, len;
	int rc = posts_upcoming(c->b->a->store, c->u.id, QUEUE_SHOWN, &list, c->e);

	if (rc)
		return rc;
	if (json_array_size(list) == 0) {
		json_decref(list);
		return bot_say(
		    c, _(c->lang, "Nothing is scheduled. Send /post to schedule a post."), NULL);
	}
	bot_fmt(text, sizeof(text), "%s", _(c->lang, "Scheduled posts:"));
	kb = bot_kb_new();
	json_array_foreach(list, i, d)
	{
		int64_t post = (int64_t)json_integer_value(json_object_get(d, "post_id"));
		const char *state = json_string_value(json_object_get(d, "state"));
		const char *title = json_string_value(json_object_get(d, "title"));
		size_t k;

		for (k = 0; k < nposts && posts[k] != post; k++)
			;
		if (k == nposts && nposts < QUEUE_SHOWN) {
			json_t *row = bot_kb_row(kb);

			posts[nposts++] = post;
			bot_fmt(label, sizeof(label), _(c->lang, "✏️ %d: Edit text"),
			        (int)k + 1);
			bot_kb_button(row, label, BOT_CB_Q_EDIT, NULL, post);
			bot_fmt(label, sizeof(label), _(c->lang, "✖ %d: Cancel"), (int)k + 1);
			bot_kb_button(row, label, BOT_CB_Q_CANCEL, NULL, post);
		}
		bot_local_time(c->u.time_zone,
		               (int64_t)json_integer_value(json_object_get(d, "due_at")), when,
		               sizeof(when));
		bot_html_plain(json_string_value(json_object_get(d, "text")), EXCERPT_MAX, excerpt,
		               sizeof(excerpt));
		bot_fmt(line, sizeof(line), "%d. %s · %s · %s", (int)k + 1, when,
		        title ? title : "",
		        excerpt[0] ? excerpt : _(c->lang, "(media without text)"));
		len = strlen(line);
		if (state && strcmp(state, "uncertain") == 0)
			bot_fmt(line + len, sizeof(line) - len, " %s",
			        _(c->lang, "⚠️ waiting for your answer"));
		else if (state && strcmp(state, "retrying") == 0)
			bot_fmt(line + len, sizeof(line) - len, " %s",
			        _(c->lang, "🔄 trying again"));
		len = strlen(text);
		if (len + strlen(line) + 3 >= sizeof(text))
			break;
		bot_fmt(text + len, sizeof(text) - len, "\n\n%s", line);
	}
	len = strlen(text);
	bot_fmt(text + len, sizeof(text) - len, "\n\n%s",
	        _(c->lang, "Times are in your time zone. Send /post to schedule another."));
	json_decref(list);
	return bot_say_kb(c, text, kb);
}

/* The start of a post's text for a question about it, or "" when it is not
 * the user's (*gone). */
static int post_excerpt(struct bot_ctx *c, int64_t id, char *out, size_t outsz, bool *gone)
{
	json_t *p = NULL;
	const char *status;
	int rc = posts_get(c->b->a->store, c->u.id, id, &p, c->e);

	*gone = rc == -ERR_NOT_FOUND;
	out[0] = '\0';
	if (rc)
		return *gone ? 0 : rc;
	status = json_string_value(json_object_get(p, "status"));
	*gone = status && (strcmp(status, "canceled") == 0 || strcmp(status, "done") == 0);
	bot_html_plain(json_string_value(json_object_get(p, "text")), EXCERPT_MAX, out, outsz);
	if (!out[0])
		bot_fmt(out, outsz, "%s", _(c->lang, "(media without text)"));
	json_decref(p);
	return 0;
}

static int queue_cb(struct bot_ctx *c, const struct bot_cb *cb)
{
	char excerpt[EXCERPT_MAX + 8], text[TEXT_MAX];
	bool gone;
	json_t *kb;
	int rc = post_excerpt(c, cb->id, excerpt, sizeof(excerpt), &gone);

	if (rc)
		return rc;
	if (gone)
		return bot_say(
		    c, _(c->lang, "This post is no longer scheduled. /queue shows what is."), NULL);
	switch (cb->action) {
	case BOT_CB_Q_EDIT:
		json_decref(c->conv.data);
		c->conv.data = json_pack("{s:s, s:I}", "flow", "queue", "post", (json_int_t)cb->id);
		rc = save(c, ST_EDIT);
		if (rc)
			return rc;
		bot_fmt(text, sizeof(text),
		        _(c->lang,
		          "Send the new text for “%s” (with any formatting). /cancel keeps "
		          "it as it is."),
		        excerpt);
		return bot_say(c, text, NULL);
	case BOT_CB_Q_CANCEL:
		bot_fmt(text, sizeof(text),
		        _(c->lang, "Cancel the post “%s”? Nothing more of it will be published."),
		        excerpt);
		kb = bot_kb_new();
		{
			json_t *row = bot_kb_row(kb);

			bot_kb_button(row, _(c->lang, "Yes, cancel it"), BOT_CB_Q_CANCEL_YES, NULL,
			              cb->id);
			bot_kb_button(row, _(c->lang, "Keep it"), BOT_CB_Q_CANCEL_NO, NULL, cb->id);
		}
		return bot_say_kb(c, text, kb);
	case BOT_CB_Q_CANCEL_YES:
		rc = posts_cancel(c->b->a->store, c->u.id, cb->id, clock_app_ms(), c->e);
		if (rc)
			return rc;
		log_info("msg=\"post canceled\" user=%lld post=%lld", (long long)c->u.id,
		         (long long)cb->id);
		bot_fmt(text, sizeof(text),
		        _(c->lang, "The post “%s” is cancelled. Nothing more of it will be "
		                   "published."),
		        excerpt);
		return bot_say(c, text, NULL);
	default:
		bot_fmt(text, sizeof(text), _(c->lang, "OK, the post “%s” stays scheduled."),
		        excerpt);
		return bot_say(c, text, NULL);
	}
}

/* ---- deliveries: failed or uncertain ------------------------------------------ */

struct dlv_info {
	char state[16];
	char reason[512];
	int64_t due_at, post_id, user_id;
	char channel[CH_TITLE_MAX + 64];
	int64_t owner_tg;
	char lang[8];
	char zone[64];
	bool blocked;
};

/* A delivery with its channel and owner; -ERR_NOT_FOUND when there is none. */
static int load_delivery(struct store *st, int64_t id, struct dlv_info *out, struct err *e)
{
	struct store_val a[] = {SV_INT(id)};
	struct store_res *res = NULL;
	int rc = store_exec(st,
	                    "SELECT d.state, d.reason, d.due_at, d.post_id, c.title, c.username, "
	                    "d.chat_id, u.telegram_id, u.language, u.time_zone, u.bot_blocked_at, "
	                    "d.user_id FROM deliveries d JOIN channels c ON c.id = d.channel_id "
	                    "JOIN users u ON u.id = d.user_id WHERE d.id = $1",
	                    a, 1, &res, e);

	if (rc)
		return rc;
	if (store_res_rows(res) != 1) {
		store_res_free(res);
		return err_set(e, ERR_NOT_FOUND, "delivery %lld not found", (long long)id);
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->state, sizeof(out->state), "%s", store_res_text(res, 0, 0));
	bot_fmt(out->reason, sizeof(out->reason), "%s", store_res_text(res, 0, 1));
	out->due_at = store_res_int(res, 0, 2);
	out->post_id = store_res_int(res, 0, 3);
	bot_channel_name(store_res_text(res, 0, 4), store_res_text(res, 0, 5),
	                 store_res_int(res, 0, 6), out->channel, sizeof(out->channel));
	out->owner_tg = store_res_int(res, 0, 7);
	snprintf(out->lang, sizeof(out->lang), "%s", i18n_match(store_res_text(res, 0, 8)));
	snprintf(out->zone, sizeof(out->zone), "%s", store_res_text(res, 0, 9));
	out->blocked = !store_res_null(res, 0, 10);
	out->user_id = store_res_int(res, 0, 11);
	store_res_free(res);
	return 0;
}

/* Why a delivery failed, and what to do, in lang. The scheduler's reason is
 * a word ("bot_removed", "no_rights", ...), then ": " and Telegram's
 * description when there is one. */
void bot_delivery_reason(const char *lang, const char *reason, char *out, size_t outsz)
{
	const char *colon = strchr(reason, ':'), *detail = "";
	char code[32];
	size_t n = colon ? (size_t)(colon - reason) : strlen(reason);

	if (n >= sizeof(code))
		n = sizeof(code) - 1;
	for (size_t i = 0; i < n; i++)
		code[i] = reason[i] == ' ' ? '_' : reason[i];
	code[n] = '\0';
	if (colon)
		for (detail = colon + 1; *detail == ' '; detail++)
			;
	if (strcmp(code, "bot_removed") == 0 || strcmp(code, "kicked") == 0 ||
	    strcmp(code, "blocked") == 0)
		bot_fmt(out, outsz, "%s",
		        _(lang, "I am no longer in the channel. Add me back as an administrator, "
		                "then check it in /channels."));
	else if (strcmp(code, "chat_not_found") == 0 || strcmp(code, "not_found") == 0)
		bot_fmt(out, outsz, "%s",
		        _(lang,
		          "Telegram cannot find the channel: it may have been deleted. Check it "
		          "in /channels."));
	else if (strcmp(code, "no_rights") == 0)
		bot_fmt(out, outsz, "%s",
		        _(lang, "I do not have the right to post there. Give me the Post messages "
		                "right, then check it in /channels."));
	else if (strcmp(code, "plan_limit") == 0)
		bot_fmt(out, outsz, "%s",
		        _(lang,
		          "Your plan's posts for the month were used up. Upgrade your plan, or "
		          "schedule it for next month."));
	else if (strcmp(code, "too_many_attempts") == 0)
		bot_fmt(out, outsz, "%s",
		        _(lang,
		          "Telegram did not accept it after several tries. Try again later with "
		          "/post."));
	else if (strcmp(code, "bad_request") == 0)
		bot_fmt(out, outsz,
		        _(lang, "Telegram refused it: %s. Check the post and send it again "
		                "with /post."),
		        *detail ? detail : reason);
	else
		bot_fmt(out, outsz, _(lang, "The reason given: %s."), reason);
}

int bot_notify_delivery(struct app *a, int64_t delivery_id, struct err *e)
{
	struct dlv_info d;
	char text[TEXT_MAX], when[128], why[1024];
	struct tg_send_opts o = {0};
	json_t *kb = NULL;
	int rc = load_delivery(a->store, delivery_id, &d, e);

	if (rc == -ERR_NOT_FOUND) {
		log_warn("msg=\"nothing to notify: no such delivery\" delivery=%lld",
		         (long long)delivery_id);
		return 0;
	}
	if (rc)
		return rc;
	if (d.blocked || !d.owner_tg)
		return 0; /* nothing is sent to a user who blocked the bot */
	when_text(d.zone, d.due_at, when, sizeof(when));
	if (strcmp(d.state, "failed") == 0) {
		bot_delivery_reason(d.lang, d.reason, why, sizeof(why));
		bot_fmt(text, sizeof(text),
		        _(d.lang, "❌ Your post to “%s” at %s was not published. %s"), d.channel,
		        when, why);
	} else if (strcmp(d.state, "uncertain") == 0) {
		json_t *row;

		bot_fmt(text, sizeof(text),
		        _(d.lang,
		          "❔ I cannot tell whether your post to “%s” at %s was published: "
		          "Herald stopped while sending it. Look at the channel, then tell me: "
		          "should I send it again?"),
		        d.channel, when);
		kb = bot_kb_new();
		row = bot_kb_row(kb);
		bot_kb_button(row, _(d.lang, "Resend"), BOT_CB_RESEND, NULL, delivery_id);
		bot_kb_button(row, _(d.lang, "It was published"), BOT_CB_PUBLISHED, NULL,
		              delivery_id);
	} else {
		return 0; /* settled since: nothing to ask */
	}
	o.reply_markup = kb;
	rc = bot_tell_app(a, d.owner_tg, text, &o, e);
	json_decref(kb);
	return rc;
}

static int resolve_cb(struct bot_ctx *c, const struct bot_cb *cb)
{
	bool resend = cb->action == BOT_CB_RESEND;
	struct dlv_info d;
	char text[TEXT_MAX];
	int rc = load_delivery(c->b->a->store, cb->id, &d, c->e);

	if (rc == -ERR_NOT_FOUND || (rc == 0 && d.user_id != c->u.id))
		return bot_say(c, _(c->lang, "I do not know this post any more."), NULL);
	if (rc)
		return rc;
	rc = posts_resolve(c->b->a->store, c->u.id, cb->id, resend, clock_app_ms(), c->e);
	if (rc == -ERR_CONFLICT) {
		bot_fmt(text, sizeof(text),
		        _(c->lang, "You have already answered about the post to “%s”; nothing "
		                   "changed."),
		        d.channel);
		return bot_say(c, text, NULL);
	}
	if (rc == -ERR_NOT_FOUND)
		return bot_say(c, _(c->lang, "I do not know this post any more."), NULL);
	if (rc)
		return rc;
	log_info("msg=\"uncertain delivery answered\" user=%lld delivery=%lld resend=%d",
	         (long long)c->u.id, (long long)cb->id, (int)resend);
	bot_fmt(text, sizeof(text),
	        resend ? _(c->lang, "🔁 OK, I am sending the post to “%s” again now.")
	               : _(c->lang, "✅ OK, the post to “%s” is marked as published; I will not "
	                            "send it again."),
	        d.channel);
	return bot_say(c, text, NULL);
}

int bot_on_posting_cb(struct bot_ctx *c, const struct bot_cb *cb)
{
	switch (cb->action) {
	case BOT_CB_POST:
		return post_step(c, cb->arg);
	case BOT_CB_POST_CH:
		return in_state(c, ST_CHANNELS) ? toggle_channel(c, cb->id) : bot_stale(c);
	case BOT_CB_Q_EDIT:
	case BOT_CB_Q_CANCEL:
	case BOT_CB_Q_CANCEL_YES:
	case BOT_CB_Q_CANCEL_NO:
		return queue_cb(c, cb);
	case BOT_CB_RESEND:
	case BOT_CB_PUBLISHED:
		return resolve_cb(c, cb);
	default:
		return bot_stale(c);
	}
}
