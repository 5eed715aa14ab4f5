/*
 * bot/alerts: alerts in the bot (docs/alerts.md).
 *
 *   /alerts         the user's rules, each with 🔕 (mute for 24 h) or 🔔
 *                   (unmute) and 🗑 (remove), and ➕ to add one
 *   alert_channel   adding: which channel (skipped with one channel)
 *   alert_kind      which kind: spike, quiet, growth, milestone, delivery
 *   alert_value     its number: preset buttons, or a typed number
 *   alert_window    growth only: within how many hours
 *
 * The conversation data (flow "alert") holds the channel and kind chosen so
 * far; a button is honoured only in the state it was offered for, and a
 * typed number that is not one, or out of range, is explained and changes
 * nothing (the same bounds as the API: alerts_params_read).
 *
 * bot_alert_send sends an event the scheduler's alert job names, with Mute
 * (BOT_CB_ALERT "mute.<rule>") and Open report (BOT_CB_REPORT <channel>).
 * The report is a short summary of the channel from the store (subscribers
 * and their change, posts and average views of the last 7 days), until
 * /stats has a fuller one to show.
 */
#include "bot/bot_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "app.h"
#include "channels/channels.h"
#include "lib/clock.h"
#include "lib/i18n.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "stats/stats.h"
#include "store/store.h"
#include "tg/tg.h"

#define TEXT_MAX      4000
#define HOUR_MS       (3600LL * 1000)
#define REPORT_POSTS  5000 /* posts of the report's week read at most */
#define LABEL_MAX     28   /* bytes of a channel title on a button */
#define FLOW_ALERT    "alert"
#define ST_CHANNEL    "alert_channel"
#define ST_KIND       "alert_kind"
#define ST_VALUE      "alert_value"
#define ST_WINDOW     "alert_window"
#define STATE_PREFIX  "alert_"
#define SPIKE_PRESETS 3

static bool in_state(const struct bot_ctx *c, const char *state)
{
	return strcmp(c->conv.state, state) == 0;
}

bool bot_alerts_state(const struct bot_ctx *c)
{
	return strncmp(c->conv.state, STATE_PREFIX, strlen(STATE_PREFIX)) == 0;
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
	int rc;

	json_object_set_new(data(c), "flow", json_string(FLOW_ALERT));
	rc = bot_conv_save(c->b->a->store, c->chat, state, data(c), c->e);
	if (!rc)
		snprintf(c->conv.state, sizeof(c->conv.state), "%s", state);
	return rc;
}

static int finish(struct bot_ctx *c)
{
	int rc = 0;

	if (c->conv.state[0])
		rc = bot_conv_save(c->b->a->store, c->chat, "", NULL, c->e);
	if (!rc)
		c->conv.state[0] = '\0';
	return rc;
}

/* ---- texts ------------------------------------------------------------------- */

/* "25.11.2026 09:00" for ms in zone ("?" when the zone cannot say). */
static void local_text(const char *zone, int64_t ms, char *out, size_t outsz)
{
	struct when_local t;

	if (when_to_local(zone && *zone ? zone : "UTC", ms, &t, NULL, NULL, NULL))
		bot_fmt(out, outsz, "?");
	else
		bot_fmt(out, outsz, "%02d.%02d.%04d %02d:%02d", t.day, t.month, t.year, t.hour,
		        t.minute);
}

/* "5" or "2.5": a parameter as typed. */
static void num_text(double v, char *out, size_t outsz)
{
	if (v == floor(v) && fabs(v) < 1e15)
		bot_fmt(out, outsz, "%lld", (long long)v);
	else
		bot_fmt(out, outsz, "%.1f", v);
}

/* "6 hours" or "15 minutes": a collection interval. */
static void span_text(const char *lang, int64_t ms, char *out, size_t outsz)
{
	if (ms >= HOUR_MS && ms % HOUR_MS == 0)
		bot_fmt(out, outsz,
		        i18n_nget(lang, "%d hour", "%d hours", (unsigned long)(ms / HOUR_MS)),
		        (int)(ms / HOUR_MS));
	else
		bot_fmt(out, outsz,
		        i18n_nget(lang, "%d minute", "%d minutes", (unsigned long)(ms / 60000)),
		        (int)(ms / 60000));
}

/* What a rule watches, in lang: "no post for 24 hours". */
static void rule_text(const char *lang, const struct alert_rule *r, char *out, size_t outsz)
{
	char n[32];

	switch (r->kind) {
	case ALERT_SPIKE:
		num_text(r->p.threshold, n, sizeof(n));
		bot_fmt(out, outsz, _(lang, "views spike (threshold %s)"), n);
		break;
	case ALERT_QUIET:
		bot_fmt(out, outsz,
		        i18n_nget(lang, "no post for %d hour", "no post for %d hours",
		                  (unsigned long)r->p.hours),
		        (int)r->p.hours);
		break;
	case ALERT_GROWTH:
		num_text(r->p.percent, n, sizeof(n));
		bot_fmt(out, outsz,
		        i18n_nget(lang, "subscribers up %s%% within %d hour",
		                  "subscribers up %s%% within %d hours",
		                  (unsigned long)r->p.window_hours),
		        n, (int)r->p.window_hours);
		break;
	case ALERT_MILESTONE:
		bot_fmt(out, outsz, _(lang, "subscribers reach %lld"), (long long)r->p.subscribers);
		break;
	case ALERT_DELIVERY:
		bot_fmt(out, outsz, "%s", _(lang, "a post fails to publish"));
		break;
	}
}

static int64_t jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* An event's message in lang: kind and detail as alerts/eval.c records them;
 * false for a kind it does not know. */
static bool event_text(const char *lang, const char *kind, const json_t *d, const char *channel,
                       const char *username, char *out, size_t outsz)
{
	char span[64], ref[128], n[32], why[1024];

	if (strcmp(kind, "spike") == 0) {
		span_text(lang, jint(d, "interval_ms"), span, sizeof(span));
		if (strcmp(jstr(d, "scope"), "post") == 0) {
			if (*username)
				bot_fmt(ref, sizeof(ref), "https://t.me/%s/%lld", username,
				        (long long)jint(d, "message_id"));
			else
				bot_fmt(ref, sizeof(ref), "#%lld",
				        (long long)jint(d, "message_id"));
			bot_fmt(out, outsz,
			        _(lang,
			          "📈 Views are spiking in “%s”: post %s gained %lld views in %s, "
			          "against a usual %lld."),
			        channel, ref, (long long)jint(d, "views"), span,
			        (long long)jint(d, "baseline"));
		} else {
			bot_fmt(out, outsz,
			        _(lang,
			          "📈 Views are spiking in “%s”: its posts gained %lld views in "
			          "%s, against a usual %lld."),
			        channel, (long long)jint(d, "views"), span,
			        (long long)jint(d, "baseline"));
		}
	} else if (strcmp(kind, "quiet") == 0) {
		int64_t h = jint(d, "quiet_hours");

		bot_fmt(out, outsz,
		        i18n_nget(lang, "🔕 “%s” has gone quiet: no new post for %d hour.",
		                  "🔕 “%s” has gone quiet: no new post for %d hours.",
		                  (unsigned long)h),
		        channel, (int)h);
	} else if (strcmp(kind, "growth") == 0) {
		int64_t w = jint(d, "window_hours");

		num_text(json_number_value(json_object_get(d, "percent")), n, sizeof(n));
		bot_fmt(
		    out, outsz,
		    i18n_nget(lang,
		              "🚀 “%s” is growing: subscribers up %s%% within %d hour, from %lld "
		              "to %lld.",
		              "🚀 “%s” is growing: subscribers up %s%% within %d hours, from %lld "
		              "to %lld.",
		              (unsigned long)w),
		    channel, n, (int)w, (long long)jint(d, "from"), (long long)jint(d, "to"));
	} else if (strcmp(kind, "milestone") == 0) {
		bot_fmt(out, outsz, _(lang, "🎉 “%s” has reached %lld subscribers (now %lld)."),
		        channel, (long long)jint(d, "subscribers"), (long long)jint(d, "count"));
	} else if (strcmp(kind, "delivery") == 0) {
		bot_delivery_reason(lang, jstr(d, "reason"), why, sizeof(why));
		bot_fmt(out, outsz, _(lang, "⚠️ A post to “%s” was not published. %s"),
		        channel, why);
	} else {
		return false;
	}
	return true;
}

/* ---- sending an event ------------------------------------------------------------ */

static int mark(struct app *a, int64_t id, const char *state, const char *error, struct err *e)
{
	struct store_val v[] = {SV_INT(id), SV_TEXT(state), SV_INT(clock_app_ms()),
	                        SV_TEXT(error ? error : "")};

	return store_exec(a->store,
	                  "UPDATE alert_events SET state = $2, sent_at = CASE WHEN $2 = 'sent' "
	                  "THEN CAST($3 AS BIGINT) END, error = $4 WHERE id = $1 AND state = "
	                  "'pending'",
	                  v, ARRAY_SIZE(v), NULL, e);
}

static json_t *event_keyboard(const char *lang, int64_t rule_id, int64_t channel_id)
{
	json_t *kb = bot_kb_new(), *row = bot_kb_row(kb);
	char arg[32];

	snprintf(arg, sizeof(arg), "mute.%lld", (long long)rule_id);
	bot_kb_button(row, _(lang, "🔕 Mute for 24 h"), BOT_CB_ALERT, arg, 0);
	bot_kb_button(row, _(lang, "📊 Open report"), BOT_CB_REPORT, NULL, channel_id);
	return kb;
}

int bot_alert_send(struct app *a, int64_t event_id, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val arg[] = {SV_INT(event_id)};
	struct tg_send_opts o = {0};
	struct tg_error te = {0};
	char text[TEXT_MAX], channel[256];
	const char *lang;
	json_t *detail = NULL, *kb = NULL;
	int64_t chat, now = clock_app_ms();
	int rc;

	i18n_init();
	rc = store_exec(
	    a->store,
	    "SELECT ev.kind, ev.state, ev.detail, r.id, coalesce(r.muted_until, 0), CASE WHEN "
	    "r.removed_at IS NULL THEN 0 ELSE 1 END, u.telegram_id, u.language, "
	    "coalesce(u.bot_blocked_at, 0), c.id, c.title, c.username, c.chat_id FROM "
	    "alert_events ev JOIN alert_rules r ON r.id = ev.rule_id JOIN users u ON u.id = "
	    "r.user_id JOIN channels c ON c.id = ev.channel_id WHERE ev.id = $1",
	    arg, 1, &r, e);
	if (rc)
		return rc;
	if (store_res_rows(r) == 0 || strcmp(store_res_text(r, 0, 1), "pending") != 0) {
		store_res_free(r);
		return 0; /* gone, or handled before (a repeated job) */
	}
	lang = i18n_supported(store_res_text(r, 0, 7)) ? i18n_match(store_res_text(r, 0, 7)) : "en";
	chat = store_res_int(r, 0, 6);
	if (store_res_int(r, 0, 5)) {
		rc = mark(a, event_id, "failed", "the rule was removed", e);
		goto out;
	}
	if (store_res_int(r, 0, 4) > now) {
		rc = mark(a, event_id, "muted", NULL, e);
		goto out;
	}
	if (store_res_int(r, 0, 8)) {
		rc = mark(a, event_id, "failed", "the user blocked the bot", e);
		goto out;
	}
	bot_channel_name(store_res_text(r, 0, 10), store_res_text(r, 0, 11),
	                 store_res_int(r, 0, 12), channel, sizeof(channel));
	detail = json_loads(store_res_text(r, 0, 2), 0, NULL);
	if (!event_text(lang, store_res_text(r, 0, 0), detail, channel, store_res_text(r, 0, 11),
	                text, sizeof(text))) {
		rc = mark(a, event_id, "failed", "unknown kind", e);
		goto out;
	}
	kb = event_keyboard(lang, store_res_int(r, 0, 3), store_res_int(r, 0, 9));
	o.reply_markup = kb;
	rc = tg_send_message(a->tg, chat, text, &o, NULL, &te);
	if (rc == 0) {
		rc = mark(a, event_id, "sent", NULL, e);
		goto out;
	}
	rc = bot_sent(a, chat, rc, &te, e);
	if (rc == -ERR_UNAVAILABLE || rc == -ERR_BUSY || rc == -ERR_TIMEOUT)
		goto out; /* the job tries again */
	/* blocked (recorded by bot_sent) or refused for good: not tried again */
	rc = mark(a, event_id, "failed", te.err.msg, e);
out:
	json_decref(kb);
	json_decref(detail);
	store_res_free(r);
	return rc;
}

/* ---- the member series ---------------------------------------------------------------- */

/* The member series of the channel since from: the Bot API's exact counts
 * when there are any, else the page's. *out malloc'd. */
static int members_since(struct store *st, int64_t channel_id, int64_t from, int64_t to,
                         struct stats_point **out, size_t *n, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(channel_id), SV_INT(from), SV_INT(to)};
	bool exact = false;
	int rc = store_exec(st,
	                    "SELECT measured_at, value, approx, source FROM metric_points WHERE "
	                    "channel_id = $1 AND metric = 'members' AND measured_at >= $2 AND "
	                    "measured_at <= $3 ORDER BY measured_at",
	                    a, ARRAY_SIZE(a), &r, e);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	for (size_t i = 0; i < store_res_rows(r); i++)
		exact |= strcmp(store_res_text(r, i, 3), "bot_api") == 0;
	if (store_res_rows(r))
		*out = xcalloc(store_res_rows(r), sizeof(**out));
	for (size_t i = 0; i < store_res_rows(r); i++)
		if ((strcmp(store_res_text(r, i, 3), "bot_api") == 0) == exact)
			(*out)[(*n)++] =
			    (struct stats_point){store_res_int(r, i, 0), store_res_int(r, i, 1),
			                         store_res_int(r, i, 2) != 0};
	store_res_free(r);
	return 0;
}

/* ---- /alerts ------------------------------------------------------------------------ */

static int show_list(struct bot_ctx *c, const char *intro)
{
	struct alert_rule *rules = NULL;
	struct channel *chans = NULL;
	char text[TEXT_MAX], line[512], desc[256], until[32], label[32];
	size_t n = 0, nch = 0, len;
	int64_t now = clock_app_ms();
	json_t *kb, *row;
	int rc = channels_list(c->b->a->store, c->u.id, &chans, &nch, c->e);

	free(chans);
	if (!rc)
		rc = alerts_list(c->b->a->store, c->u.id, &rules, &n, c->e);
	if (rc)
		return rc;
	bot_fmt(text, sizeof(text), "%s%s", intro, *intro ? "\n\n" : "");
	len = strlen(text);
	if (nch == 0) {
		free(rules);
		bot_fmt(text + len, sizeof(text) - len, "%s",
		        _(c->lang, "Connect a channel first (/connect @yourchannel), then set up "
		                   "alerts for it."));
		return bot_show(c, text, NULL);
	}
	kb = bot_kb_new();
	if (n == 0) {
		bot_fmt(text + len, sizeof(text) - len, "%s",
		        _(c->lang, "You have no alerts yet. I can tell you when a post's views "
		                   "spike, when a channel goes quiet, when subscribers grow or "
		                   "reach a number, and when a post fails to publish."));
	} else {
		bot_fmt(text + len, sizeof(text) - len, "%s", _(c->lang, "🔔 Your alerts:"));
		for (size_t i = 0; i < n; i++) {
			char arg[32];

			rule_text(c->lang, &rules[i], desc, sizeof(desc));
			bot_fmt(line, sizeof(line), "\n%zu. “%s”: %s", i + 1, rules[i].channel,
			        desc);
			len = strlen(text);
			bot_fmt(text + len, sizeof(text) - len, "%s", line);
			if (rules[i].muted_until > now) {
				local_text(c->u.time_zone, rules[i].muted_until, until,
				           sizeof(until));
				bot_fmt(line, sizeof(line), _(c->lang, " (muted until %s)"), until);
				len = strlen(text);
				bot_fmt(text + len, sizeof(text) - len, "%s", line);
			}
			row = bot_kb_row(kb);
			snprintf(arg, sizeof(arg), "%s.%lld",
			         rules[i].muted_until > now ? "unmute" : "mute",
			         (long long)rules[i].id);
			snprintf(label, sizeof(label), "%s %zu",
			         rules[i].muted_until > now ? "🔔" : "🔕", i + 1);
			bot_kb_button(row, label, BOT_CB_ALERT, arg, 0);
			snprintf(arg, sizeof(arg), "del.%lld", (long long)rules[i].id);
			snprintf(label, sizeof(label), "🗑 %zu", i + 1);
			bot_kb_button(row, label, BOT_CB_ALERT, arg, 0);
		}
		len = strlen(text);
		bot_fmt(text + len, sizeof(text) - len, "\n\n%s",
		        _(c->lang, "I message you when one fires, with buttons to mute it or open "
		                   "the channel's report. 🔕 mutes an alert for 24 hours, 🔔 "
		                   "unmutes it, 🗑 removes it."));
	}
	if (n < ALERTS_RULES_MAX)
		bot_kb_button(bot_kb_row(kb), _(c->lang, "➕ Add an alert"), BOT_CB_ALERT, "add", 0);
	free(rules);
	return bot_show(c, text, kb);
}

int bot_cmd_alerts(struct bot_ctx *c)
{
	int rc = finish(c);

	return rc ? rc : show_list(c, "");
}

/* ---- adding a rule --------------------------------------------------------------------- */

static const char *const kind_labels[ALERT_KINDS] = {
    [ALERT_SPIKE] = N_("📈 Views spike"),
    [ALERT_QUIET] = N_("🔕 Channel goes quiet"),
    [ALERT_GROWTH] = N_("🚀 Subscribers grow"),
    [ALERT_MILESTONE] = N_("🎉 Subscribers reach a number"),
    [ALERT_DELIVERY] = N_("⚠️ A post fails to publish"),
};

static int ask_kind(struct bot_ctx *c, const char *channel)
{
	char text[512];
	json_t *kb = bot_kb_new();
	int rc = save(c, ST_KIND);

	if (rc) {
		json_decref(kb);
		return rc;
	}
	for (int k = 0; k < ALERT_KINDS; k++)
		bot_kb_button(bot_kb_row(kb), i18n_get(c->lang, kind_labels[k]), BOT_CB_ALERT,
		              (const char *[]){"k.spike", "k.quiet", "k.growth", "k.milestone",
		                               "k.delivery"}[k],
		              0);
	bot_fmt(text, sizeof(text), _(c->lang, "What should I tell you about “%s”?"), channel);
	return bot_say_kb(c, text, kb);
}

/* The channel chosen so far (the user's, connected), into *ch. */
static int chosen_channel(struct bot_ctx *c, struct channel *ch)
{
	int64_t id = (int64_t)json_integer_value(json_object_get(data(c), "channel"));
	int rc = channels_get(c->b->a->store, c->u.id, id, ch, c->e);

	if (!rc && ch->removed)
		rc = -ERR_NOT_FOUND;
	return rc;
}

static int channel_gone(struct bot_ctx *c)
{
	int rc = finish(c);

	return rc ? rc : bot_say(c, _(c->lang, "This channel is no longer connected."), NULL);
}

static int choose_channel(struct bot_ctx *c, int64_t id)
{
	struct channel ch;
	char name[256];
	int rc;

	json_object_set_new(data(c), "channel", json_integer(id));
	rc = chosen_channel(c, &ch);
	if (rc == -ERR_NOT_FOUND)
		return channel_gone(c);
	if (rc)
		return rc;
	bot_channel_name(ch.title, ch.username, ch.chat_id, name, sizeof(name));
	return ask_kind(c, name);
}

static int start_add(struct bot_ctx *c)
{
	struct channel *list = NULL;
	size_t n = 0;
	json_t *kb;
	int rc = channels_list(c->b->a->store, c->u.id, &list, &n, c->e);

	if (rc)
		return rc;
	json_object_clear(data(c));
	if (n == 0) {
		free(list);
		rc = finish(c);
		return rc ? rc
		          : bot_say(c,
		                    _(c->lang, "Connect a channel first (/connect @yourchannel), "
		                               "then set up alerts for it."),
		                    NULL);
	}
	if (n == 1) {
		int64_t id = list[0].id;

		free(list);
		return choose_channel(c, id);
	}
	kb = bot_kb_new();
	for (size_t i = 0; i < n; i++) {
		char name[256], label[LABEL_MAX + 4], arg[32];

		bot_channel_name(list[i].title, list[i].username, list[i].chat_id, name,
		                 sizeof(name));
		bot_fmt(label, sizeof(label), "%s", name);
		snprintf(arg, sizeof(arg), "ch.%lld", (long long)list[i].id);
		bot_kb_button(bot_kb_row(kb), label, BOT_CB_ALERT, arg, 0);
	}
	free(list);
	rc = save(c, ST_CHANNEL);
	if (rc) {
		json_decref(kb);
		return rc;
	}
	return bot_say_kb(c, _(c->lang, "Which channel should the alert watch?"), kb);
}

/* The latest subscriber count of the channel, -1 when none is known. */
static int64_t subscribers_now(struct bot_ctx *c, int64_t channel_id)
{
	struct stats_point *s = NULL;
	size_t n = 0;
	int64_t now = clock_app_ms(), v = -1;
	struct err e = {0};

	if (members_since(c->b->a->store, channel_id, now - 30 * 24 * HOUR_MS, now, &s, &n, &e) ==
	        0 &&
	    n)
		v = s[n - 1].count;
	free(s);
	return v;
}

static void preset(json_t *row, const char *label, double v)
{
	char arg[32], n[24];

	num_text(v, n, sizeof(n));
	snprintf(arg, sizeof(arg), "v.%s", n);
	bot_kb_button(row, label, BOT_CB_ALERT, arg, 0);
}

static void hours_preset(const char *lang, json_t *row, int h)
{
	char label[32];

	bot_fmt(label, sizeof(label), i18n_nget(lang, "%d hour", "%d hours", (unsigned long)h), h);
	preset(row, label, h);
}

static enum alert_kind chosen_kind(struct bot_ctx *c)
{
	enum alert_kind k = ALERT_SPIKE;

	if (alerts_kind_parse(json_string_value(json_object_get(data(c), "kind")), &k))
		k = ALERT_SPIKE;
	return k;
}

/* Ask for the number of the kind chosen (state ST_VALUE), or for growth's
 * window (ST_WINDOW). */
static int ask_value(struct bot_ctx *c, const char *state)
{
	enum alert_kind k = chosen_kind(c);
	json_t *kb = bot_kb_new(), *row = bot_kb_row(kb);
	char text[512];
	int rc = save(c, state);

	if (rc) {
		json_decref(kb);
		return rc;
	}
	if (strcmp(state, ST_WINDOW) == 0) {
		static const int windows[] = {24, 72, 168};

		for (size_t i = 0; i < ARRAY_SIZE(windows); i++)
			hours_preset(c->lang, row, windows[i]);
		return bot_say_kb(c,
		                  _(c->lang,
		                    "Within how many hours? Tap one, or type a number of hours "
		                    "from 1 to 720."),
		                  kb);
	}
	switch (k) {
	case ALERT_SPIKE:
		preset(row, _(c->lang, "Sensitive (3)"), 3);
		preset(row, _(c->lang, "Normal (5)"), 5);
		preset(row, _(c->lang, "Only big jumps (8)"), 8);
		return bot_say_kb(c,
		                  _(c->lang,
		                    "How far above their usual pace should views jump before I "
		                    "tell you? The number is how many times the usual "
		                    "variation a jump must pass: 3 is sensitive, 5 is the "
		                    "usual choice, 8 tells only big jumps. Tap one, or type "
		                    "a number from 2 to 50."),
		                  kb);
	case ALERT_QUIET: {
		static const int hours[] = {12, 24, 48, 72};

		for (size_t i = 0; i < ARRAY_SIZE(hours); i++)
			hours_preset(c->lang, row, hours[i]);
		return bot_say_kb(c,
		                  _(c->lang,
		                    "After how many hours without a post should I tell you? "
		                    "Tap one, or type a number of hours from 1 to 720."),
		                  kb);
	}
	case ALERT_GROWTH: {
		static const int percents[] = {1, 5, 10};

		for (size_t i = 0; i < ARRAY_SIZE(percents); i++) {
			char label[16];

			snprintf(label, sizeof(label), "%d%%", percents[i]);
			preset(row, label, percents[i]);
		}
		return bot_say_kb(c,
		                  _(c->lang,
		                    "By how many percent should subscribers grow before I tell "
		                    "you? Tap one, or type a number from 0.1 to 1000."),
		                  kb);
	}
	case ALERT_MILESTONE: {
		int64_t now =
		    subscribers_now(c, json_integer_value(json_object_get(data(c), "channel")));
		int64_t last = 0;

		/* the next round numbers above the count now */
		for (int64_t step = 1000; step <= 1000000; step *= 10) {
			int64_t v = now < 0 ? step : (now / step + 1) * step;
			char label[32];

			if (v == last)
				continue;
			snprintf(label, sizeof(label), "%lld", (long long)v);
			preset(row, label, (double)v);
			last = v;
			if (json_array_size(row) == 3)
				break;
		}
		if (now >= 0)
			bot_fmt(text, sizeof(text),
			        _(c->lang,
			          "Which number of subscribers should I tell you about? The "
			          "channel has %lld now. Tap one, or type a number."),
			        (long long)now);
		else
			bot_fmt(text, sizeof(text), "%s",
			        _(c->lang,
			          "Which number of subscribers should I tell you about? Tap "
			          "one, or type a number."));
		return bot_say_kb(c, text, kb);
	}
	case ALERT_DELIVERY:
		break;
	}
	json_decref(kb);
	return 0;
}

/* A number refused for the step: say what is wanted; nothing changes. */
static int bad_value(struct bot_ctx *c)
{
	const char *text;

	if (in_state(c, ST_WINDOW))
		text = _(c->lang,
		         "Please type a whole number of hours from 1 to 720, for example 24.");
	else
		switch (chosen_kind(c)) {
		case ALERT_SPIKE:
			text = _(c->lang, "Please type a number from 2 to 50, for example 5.");
			break;
		case ALERT_QUIET:
			text =
			    _(c->lang,
			      "Please type a whole number of hours from 1 to 720, for example 24.");
			break;
		case ALERT_GROWTH:
			text = _(c->lang, "Please type a number of percent from 0.1 to 1000, for "
			                  "example 5.");
			break;
		default:
			text = _(c->lang, "Please type a whole number of subscribers from 1 to "
			                  "1000000000, for example 10000.");
			break;
		}
	return bot_say(c, text, NULL);
}

static int create(struct bot_ctx *c, enum alert_kind k, const struct alert_params *p)
{
	struct alert_fault f = {0};
	struct alert_rule rule;
	struct channel ch;
	char text[1024], desc[256], name[256];
	json_t *kb;
	int64_t id = 0;
	int rc = chosen_channel(c, &ch);

	if (rc == -ERR_NOT_FOUND)
		return channel_gone(c);
	if (rc)
		return rc;
	rc = alerts_create(c->b->a->store, c->u.id, ch.id, k, p, clock_app_ms(), &id, &f);
	if (rc == -ERR_INVALID)
		return bad_value(c);
	if (rc == -ERR_NOT_FOUND)
		return channel_gone(c);
	if (rc == -ERR_TOO_BIG) {
		rc = finish(c);
		bot_fmt(text, sizeof(text),
		        _(c->lang,
		          "You have %d alerts, the most there can be. Remove one in /alerts "
		          "first."),
		        ALERTS_RULES_MAX);
		return rc ? rc : bot_say(c, text, NULL);
	}
	if (rc) {
		*c->e = f.err;
		return rc;
	}
	rc = finish(c);
	if (rc)
		return rc;
	log_info("msg=\"alert rule added\" user=%lld rule=%lld kind=%s", (long long)c->u.id,
	         (long long)id, alerts_kind_name(k));
	memset(&rule, 0, sizeof(rule));
	rule.kind = k;
	rule.p = *p;
	rule_text(c->lang, &rule, desc, sizeof(desc));
	bot_channel_name(ch.title, ch.username, ch.chat_id, name, sizeof(name));
	bot_fmt(text, sizeof(text), _(c->lang, "✅ Alert added for “%s”: %s."), name, desc);
	kb = bot_kb_new();
	bot_kb_button(bot_kb_row(kb), _(c->lang, "🔔 My alerts"), BOT_CB_ALERT, "list", 0);
	return bot_say_kb(c, text, kb);
}

/* A number given (a preset or typed) in ST_VALUE or ST_WINDOW. */
static int value_in(struct bot_ctx *c, double v, bool integer)
{
	enum alert_kind k = chosen_kind(c);
	struct alert_params p;
	struct alert_fault f = {0};
	json_t *params;
	int rc;

	alerts_params_default(k, &p);
	if (in_state(c, ST_WINDOW)) {
		p.percent = json_number_value(json_object_get(data(c), "percent"));
		params = json_pack("{s:o}", "window_hours",
		                   integer ? json_integer((json_int_t)v) : json_real(v));
	} else if (k == ALERT_SPIKE) {
		params = json_pack("{s:f}", "threshold", v);
	} else if (k == ALERT_QUIET) {
		params = json_pack("{s:o}", "hours",
		                   integer ? json_integer((json_int_t)v) : json_real(v));
	} else if (k == ALERT_GROWTH) {
		params = json_pack("{s:f}", "percent", v);
	} else {
		params = json_pack("{s:o}", "subscribers",
		                   integer ? json_integer((json_int_t)v) : json_real(v));
	}
	rc = alerts_params_read(k, params, &p, &f);
	json_decref(params);
	if (rc)
		return bad_value(c);
	if (k == ALERT_GROWTH && in_state(c, ST_VALUE)) {
		json_object_set_new(data(c), "percent", json_real(p.percent));
		return ask_value(c, ST_WINDOW);
	}
	return create(c, k, &p);
}

static int choose_kind(struct bot_ctx *c, int kind)
{
	struct alert_params p;

	json_object_set_new(data(c), "kind", json_string(alerts_kind_name((enum alert_kind)kind)));
	if (kind == ALERT_DELIVERY) {
		alerts_params_default(ALERT_DELIVERY, &p);
		return create(c, ALERT_DELIVERY, &p);
	}
	return ask_value(c, ST_VALUE);
}

int bot_alerts_message(struct bot_ctx *c, const json_t *msg)
{
	const char *text = json_string_value(json_object_get(msg, "text"));
	double v;
	bool integer;

	if (in_state(c, ST_VALUE) || in_state(c, ST_WINDOW)) {
		struct str s = str_c(text);

		/* "5%" is a percent as typed */
		s = str_trim(s);
		if (s.len && s.p[s.len - 1] == '%' && chosen_kind(c) == ALERT_GROWTH &&
		    in_state(c, ST_VALUE))
			s.len--;
		if (!text || bot_parse_number(s, &v, &integer))
			return bad_value(c);
		return value_in(c, v, integer);
	}
	if (in_state(c, ST_KIND)) {
		struct channel ch;
		char name[256];
		int rc = chosen_channel(c, &ch);

		if (rc == -ERR_NOT_FOUND)
			return channel_gone(c);
		if (rc)
			return rc;
		bot_channel_name(ch.title, ch.username, ch.chat_id, name, sizeof(name));
		return ask_kind(c, name);
	}
	return start_add(c);
}

/* ---- buttons ------------------------------------------------------------------------- */

static int mute(struct bot_ctx *c, int64_t id, bool on)
{
	struct alert_fault f = {0};
	int64_t until = on ? clock_app_ms() + ALERTS_MUTE_DEFAULT_MS : 0;
	char text[512], when[32];
	json_t *kb = NULL;
	int rc = alerts_update(c->b->a->store, c->u.id, id, NULL, &until, &f);

	if (rc == -ERR_NOT_FOUND)
		return bot_say(c, _(c->lang, "This alert no longer exists."), NULL);
	if (rc) {
		*c->e = f.err;
		return rc;
	}
	log_info("msg=\"alert rule %s\" user=%lld rule=%lld", on ? "muted" : "unmuted",
	         (long long)c->u.id, (long long)id);
	if (on) {
		char arg[32];

		local_text(c->u.time_zone, until, when, sizeof(when));
		bot_fmt(text, sizeof(text),
		        _(c->lang, "🔕 Muted until %s: this alert will not message you until then."),
		        when);
		snprintf(arg, sizeof(arg), "unmute.%lld", (long long)id);
		kb = bot_kb_new();
		bot_kb_button(bot_kb_row(kb), _(c->lang, "🔔 Unmute"), BOT_CB_ALERT, arg, 0);
	} else {
		bot_fmt(text, sizeof(text), "%s",
		        _(c->lang, "🔔 Unmuted: this alert messages you again."));
	}
	return bot_say_kb(c, text, kb);
}

static int remove_rule(struct bot_ctx *c, int64_t id)
{
	int rc = alerts_remove(c->b->a->store, c->u.id, id, clock_app_ms(), c->e);

	if (rc == -ERR_NOT_FOUND)
		return bot_say(c, _(c->lang, "This alert no longer exists."), NULL);
	if (rc)
		return rc;
	log_info("msg=\"alert rule removed\" user=%lld rule=%lld", (long long)c->u.id,
	         (long long)id);
	return show_list(c, _(c->lang, "🗑 Alert removed."));
}

int bot_on_alerts_cb(struct bot_ctx *c, const struct bot_cb *cb)
{
	struct bot_alert_cb al;
	int rc;

	if (bot_alert_parse(str_c(cb->arg), &al))
		return bot_stale(c);
	switch (al.verb) {
	case BOT_AL_LIST:
		rc = finish(c);
		return rc ? rc : show_list(c, "");
	case BOT_AL_ADD:
		return start_add(c);
	case BOT_AL_CHANNEL:
		return in_state(c, ST_CHANNEL) ? choose_channel(c, al.id) : bot_stale(c);
	case BOT_AL_KIND:
		return in_state(c, ST_KIND) ? choose_kind(c, al.kind) : bot_stale(c);
	case BOT_AL_VALUE:
		if (!in_state(c, ST_VALUE) && !in_state(c, ST_WINDOW))
			return bot_stale(c);
		return value_in(c, al.value, al.value == floor(al.value));
	case BOT_AL_MUTE:
	case BOT_AL_UNMUTE:
		return mute(c, al.id, al.verb == BOT_AL_MUTE);
	case BOT_AL_REMOVE:
		return remove_rule(c, al.id);
	}
	return bot_stale(c);
}
