/*
 * bot/stats: /stats in the bot (docs/bot.md; docs/metrics.md, "Reading it
 * in the bot"). A channel's summary over the last 7, 30 or 90 days in the
 * user's language and zone, with a PNG chart; the best-times heatmap and
 * the top posts on buttons; and the alerts' "Open report" button
 * (BOT_CB_REPORT, "1:rpt:<channel>"), which shows the 7-day summary.
 *
 * The numbers are analytics/'s views (overview, growth, posts, best-times)
 * read as JSON, so the bot says what the API says, with the same quality
 * marks: "≈" before a number built on the public page's rounded counts,
 * "not enough data yet" for an undefined one, never a made-up zero. The
 * texts are pure functions over that JSON, which the unit tests call; the
 * handlers load, render and send. Every step's state is in its button's
 * data (channel, period), so /stats keeps no conversation state and its
 * buttons work in any state.
 */
#include "bot/bot_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"
#include "app.h"
#include "channels/channels.h"
#include "lib/clock.h"
#include "lib/i18n.h"
#include "lib/l10n.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/tz.h"
#include "report/chart.h"
#include "tg/tg.h"

#define TEXT_MAX   4000
#define NUM_MAX    64
#define LABEL_MAX  28 /* bytes of a channel title on a button */
#define TOP_N      5
#define ALERT_DAYS 7 /* the period of an alert's report */
#define MINUTE_MS  ((int64_t)60 * 1000)
#define HOUR_MS    (60 * MINUTE_MS)
#define DAY_MS     (24 * HOUR_MS)
#define PNG_MAX    ((size_t)8 << 20)
#define DAILY_MAX  (ANALYTICS_PERIOD_MAX_DAYS + 2)
#define NO_DAY     INT64_MIN

static const int periods[] = BOT_STATS_PERIODS;

/* The content mix's kinds as analytics names them, and as people read them. */
static const struct {
	const char *kind, *label;
} kinds[] = {
    {"text", N_("texts")},     {"photo", N_("photos")}, {"video", N_("videos")},
    {"document", N_("files")}, {"album", N_("albums")}, {"poll", N_("polls")},
    {"other", N_("other")},
};

static const struct {
	const char *status, *label;
} levels[] = {
    {"active", N_("active")},
    {"low", N_("low activity")},
    {"inactive", N_("inactive")},
    {"dead", N_("dead")},
};

/* The parts of ER, as analytics names them in er.missing. */
static const struct {
	const char *part, *label;
} er_parts[] = {
    {"reactions", N_("reactions")},
    {"forwards", N_("forwards")},
    {"comments", N_("comments")},
};

/* ---- reading the views ------------------------------------------------------ */

/* A number of a view: {"value": number or null, "approx": bool}. */
struct num {
	bool defined, approx;
	double v;
};

static struct num num_of(const json_t *o)
{
	const json_t *v = json_object_get(o, "value");

	return (struct num){json_is_number(v), json_is_true(json_object_get(o, "approx")),
	                    json_is_number(v) ? json_number_value(v) : 0};
}

static struct num num_at(const json_t *o, const char *key)
{
	return num_of(json_object_get(o, key));
}

static const char *str_at(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static int64_t int_at(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* ---- numbers as people read them --------------------------------------------- */

enum fmt {
	F_COUNT,   /* 20,000 */
	F_DEC,     /* 3.4 */
	F_PERCENT, /* 6.2% (0.35% under 1) */
	F_SHARE,   /* 40% */
};

/* n in lang's way, "≈" before it when approximate (and *approx_seen set). */
static void num_text(struct l10n *l, struct num n, enum fmt f, bool sign, bool *approx_seen,
                     char *out, size_t outsz)
{
	char s[NUM_MAX];
	int rc;

	if (f == F_PERCENT || f == F_SHARE)
		rc = l10n_percent(l, n.v, f == F_SHARE ? 0 : fabs(n.v) < 1 ? 2 : 1, s, sizeof(s));
	else
		rc = l10n_number(l, f == F_COUNT ? round(n.v) : n.v, f == F_COUNT ? 0 : 1, s,
		                 sizeof(s));
	if (rc)
		snprintf(s, sizeof(s), "%.1f", n.v);
	if (n.approx && approx_seen)
		*approx_seen = true;
	/* a gain says so; "+0" and "+0.0%" would not */
	bot_fmt(out, outsz, "%s%s%s", n.approx ? "≈" : "",
	        sign && n.v > 0 && strpbrk(s, "123456789") ? "+" : "", s);
}

/* num_text, or "not enough data yet" for an undefined number. */
static void val_text(const char *lang, struct l10n *l, struct num n, enum fmt f, bool sign,
                     bool *approx_seen, char *out, size_t outsz)
{
	if (!n.defined)
		bot_fmt(out, outsz, "%s", _(lang, "not enough data yet"));
	else
		num_text(l, n, f, sign, approx_seen, out, outsz);
}

static void period_text(const char *lang, int days, char *out, size_t outsz)
{
	bot_fmt(out, outsz, i18n_nget(lang, "last %d day", "last %d days", (unsigned long)days),
	        days);
}

/* "Lab News", else "@lab_news". */
static void channel_text(const json_t *channel, char *out, size_t outsz)
{
	const char *title = str_at(channel, "title"), *user = str_at(channel, "username");

	if (*title)
		bot_fmt(out, outsz, "%s", title);
	else if (*user)
		bot_fmt(out, outsz, "@%s", user);
	else
		bot_fmt(out, outsz, "#%lld", (long long)int_at(channel, "id"));
}

/* The link to a post when its channel is public ("" otherwise). */
static void post_link(const json_t *channel, int64_t message_id, char *out, size_t outsz)
{
	const char *user = str_at(channel, "username");

	if (*user)
		bot_fmt(out, outsz, "https://t.me/%s/%lld", user, (long long)message_id);
	else
		out[0] = '\0';
}

/* ---- the pure parts -------------------------------------------------------------- */

bool bot_stats_has_data(const json_t *overview)
{
	const json_t *src = json_object_get(overview, "sources");

	return num_at(overview, "subscribers").defined || int_at(overview, "posts") > 0 ||
	       int_at(json_object_get(src, "members"), "as_of") ||
	       int_at(json_object_get(src, "views"), "as_of");
}

bool bot_stats_best_slot(const json_t *best, int *weekday, int *hour)
{
	const json_t *cells = json_object_get(best, "cells"), *cell;
	bool by_er = false, found = false;
	double top = 0;
	int64_t top_posts = 0;
	size_t i;

	json_array_foreach(cells, i, cell) by_er |= num_at(cell, "er").defined;
	json_array_foreach(cells, i, cell)
	{
		struct num v = num_at(cell, by_er ? "er" : "views_24h");
		int64_t w = int_at(cell, "weekday"), h = int_at(cell, "hour"),
		        posts = int_at(cell, "posts");

		if (!v.defined || w < 1 || w > 7 || h < 0 || h > 23)
			continue;
		/* ties: the slot with more posts, then the earlier one (the order of cells) */
		if (found && (v.v < top || (v.v == top && posts <= top_posts)))
			continue;
		found = true;
		top = v.v;
		top_posts = posts;
		*weekday = (int)w - 1;
		*hour = (int)h;
	}
	return found;
}

void bot_stats_slot_text(const char *lang, int weekday, int hour, char *out, size_t outsz)
{
	struct l10n *l = l10n_new(lang);
	char day[NUM_MAX];

	if (l10n_weekday(l, weekday, true, day, sizeof(day)))
		snprintf(day, sizeof(day), "%d", weekday + 1);
	bot_fmt(out, outsz, "%s %02d:00–%02d:00", day, hour, (hour + 1) % 24);
	l10n_free(l);
}

void bot_stats_fresh_text(const char *lang, const char *zone, int64_t now_ms, int64_t at_ms,
                          char *out, size_t outsz)
{
	int64_t age = now_ms - at_ms;
	char when[32];

	if (!at_ms) {
		bot_fmt(out, outsz, "%s", _(lang, "🔄 Nothing collected yet."));
	} else if (age < MINUTE_MS) {
		bot_fmt(out, outsz, "%s", _(lang, "🔄 Updated just now."));
	} else if (age < HOUR_MS) {
		bot_fmt(out, outsz, _(lang, "🔄 Updated %d min ago."), (int)(age / MINUTE_MS));
	} else if (age < DAY_MS) {
		bot_fmt(out, outsz, _(lang, "🔄 Updated %d h ago."), (int)(age / HOUR_MS));
	} else {
		bot_local_time(zone, at_ms, when, sizeof(when));
		bot_fmt(out, outsz, _(lang, "🔄 Last collected on %s."), when);
	}
}

/* "🧩 Content: photos 40%, texts 35%", the kinds with more posts first. */
static void mix_text(const char *lang, struct l10n *l, const json_t *mix, char *out, size_t outsz)
{
	bool used[ARRAY_SIZE(kinds)] = {false};
	char pct[NUM_MAX];

	bot_addf(out, outsz, "%s ", _(lang, "🧩 Content:"));
	if (!json_object_size(mix)) {
		bot_addf(out, outsz, "%s\n", _(lang, "not enough data yet"));
		return;
	}
	for (size_t shown = 0; shown < ARRAY_SIZE(kinds); shown++) {
		size_t best = ARRAY_SIZE(kinds);
		int64_t most = 0;

		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
			int64_t posts = int_at(json_object_get(mix, kinds[k].kind), "posts");

			if (!used[k] && posts > most) {
				most = posts;
				best = k;
			}
		}
		if (best == ARRAY_SIZE(kinds))
			break;
		used[best] = true;
		num_text(l, num_at(json_object_get(mix, kinds[best].kind), "share"), F_SHARE, false,
		         NULL, pct, sizeof(pct));
		bot_addf(out, outsz, "%s%s %s", shown ? ", " : "", _(lang, kinds[best].label), pct);
	}
	bot_addf(out, outsz, "\n");
}

/* Whether the array of strings a holds s. */
static bool listed(const json_t *a, const char *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach(a, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

/* " (only reactions)" when ER lacks some of its parts. */
static void er_note(const char *lang, const json_t *missing, char *out, size_t outsz)
{
	char parts[256] = "";
	bool any = false;

	if (!json_array_size(missing))
		return;
	for (size_t p = 0; p < ARRAY_SIZE(er_parts); p++) {
		if (listed(missing, er_parts[p].part))
			continue;
		bot_addf(parts, sizeof(parts), "%s%s", any ? ", " : "", _(lang, er_parts[p].label));
		any = true;
	}
	if (any) {
		bot_addf(out, outsz, " (");
		bot_addf(out, outsz, _(lang, "only %s"), parts);
		bot_addf(out, outsz, ")");
	}
}

static const char *level_label(const char *lang, const char *status)
{
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
		if (strcmp(levels[i].status, status) == 0)
			return _(lang, levels[i].label);
	return NULL;
}

/* The newest collection of the members and of the page (0: none). */
static int64_t collected_at(const json_t *overview)
{
	const json_t *src = json_object_get(overview, "sources");
	int64_t m = int_at(json_object_get(src, "members"), "as_of"),
	        v = int_at(json_object_get(src, "views"), "as_of");

	return m > v ? m : v;
}

/* "≈5,600 views · 05.03.2026 18:00 · https://t.me/x/5" */
static void post_text(const struct bot_stats_in *in, struct l10n *l, const json_t *post,
                      bool er_first, bool *approx_seen, char *out, size_t outsz)
{
	const json_t *channel = json_object_get(in->overview, "channel");
	const json_t *views = json_object_get(post, "views");
	struct num er = num_at(post, "er");
	char n[NUM_MAX], when[32], link[128];

	out[0] = '\0';
	if (er_first) {
		val_text(in->lang, l, er, F_PERCENT, false, approx_seen, n, sizeof(n));
		bot_addf(out, outsz, "ER %s · ", n);
	}
	if (json_is_integer(views)) {
		struct num v = {true, json_is_true(json_object_get(post, "approx")),
		                (double)json_integer_value(views)};

		num_text(l, v, F_COUNT, false, approx_seen, n, sizeof(n));
		bot_addf(out, outsz,
		         i18n_nget(in->lang, "%s view", "%s views",
		                   (unsigned long)json_integer_value(views)),
		         n);
	} else {
		bot_addf(out, outsz, "%s", _(in->lang, "views not known"));
	}
	if (!er_first && er.defined) {
		num_text(l, er, F_PERCENT, false, approx_seen, n, sizeof(n));
		bot_addf(out, outsz, " · ER %s", n);
	}
	bot_local_time(in->zone, int_at(post, "posted_at"), when, sizeof(when));
	bot_addf(out, outsz, " · %s", when);
	post_link(channel, int_at(post, "message_id"), link, sizeof(link));
	if (*link)
		bot_addf(out, outsz, " · %s", link);
}

static void approx_note(const char *lang, bool approx_seen, char *out, size_t outsz)
{
	if (approx_seen)
		bot_addf(out, outsz, "\n%s",
		         _(lang, "≈ approximate: the public page rounds counts above 999."));
}

void bot_stats_text(const struct bot_stats_in *in, char *out, size_t outsz)
{
	const char *lang = in->lang;
	const json_t *o = in->overview, *channel = json_object_get(o, "channel");
	const json_t *growth = json_object_get(o, "growth"), *er = json_object_get(o, "er");
	const json_t *top = json_array_get(json_object_get(in->posts, "top_by_views"), 0);
	struct l10n *l = l10n_new(lang);
	struct num net = num_at(growth, "net"), rate = num_at(growth, "rate");
	char name[CH_TITLE_MAX + 64], period[64], a[NUM_MAX], b[NUM_MAX], line[512];
	const char *status = str_at(json_object_get(o, "activity"), "status");
	bool approx = false;
	int wd, hour;

	out[0] = '\0';
	channel_text(channel, name, sizeof(name));
	period_text(lang, in->days, period, sizeof(period));
	bot_addf(out, outsz, "📊 %s · %s\n\n", name, period);

	val_text(lang, l, num_at(o, "subscribers"), F_COUNT, false, &approx, a, sizeof(a));
	bot_addf(out, outsz, _(lang, "👥 Subscribers: %s"), a);
	bot_addf(out, outsz, "\n");
	if (!net.defined) {
		bot_fmt(a, sizeof(a), "%s", _(lang, "not enough data yet"));
	} else {
		num_text(l, net, F_COUNT, true, &approx, a, sizeof(a));
		if (rate.defined) {
			num_text(l, rate, F_PERCENT, true, &approx, b, sizeof(b));
			bot_addf(a, sizeof(a), " (%s)", b);
		}
	}
	bot_addf(out, outsz, _(lang, "📈 Growth: %s"), a);
	bot_addf(out, outsz, "\n");

	val_text(lang, l, num_at(o, "views_per_post"), F_COUNT, false, &approx, a, sizeof(a));
	bot_addf(out, outsz, _(lang, "👁 Views per post: %s"), a);
	bot_addf(out, outsz, "\n");
	val_text(lang, l, num_at(o, "reach_24h"), F_COUNT, false, &approx, a, sizeof(a));
	bot_addf(out, outsz, _(lang, "⏱ Reach in 24 h: %s"), a);
	bot_addf(out, outsz, "\n");
	val_text(lang, l, num_at(o, "err"), F_PERCENT, false, &approx, a, sizeof(a));
	bot_addf(out, outsz, _(lang, "📣 ERR: %s"), a);
	bot_addf(out, outsz, "\n");
	val_text(lang, l, num_at(er, "value"), F_PERCENT, false, &approx, a, sizeof(a));
	bot_addf(out, outsz, _(lang, "❤️ ER: %s"), a);
	if (num_at(er, "value").defined)
		er_note(lang, json_object_get(er, "missing"), out, outsz);
	bot_addf(out, outsz, "\n");

	num_text(l, num_at(o, "posts_per_day"), F_DEC, false, NULL, b, sizeof(b));
	bot_fmt(a, sizeof(a), "%lld", (long long)int_at(o, "posts"));
	bot_fmt(line, sizeof(line), _(lang, "🗓 Posts: %s (%s a day)"), a, b);
	if (level_label(lang, status))
		bot_addf(line, sizeof(line), " · %s", level_label(lang, status));
	bot_addf(out, outsz, "%s\n", line);

	if (bot_stats_best_slot(in->best, &wd, &hour))
		bot_stats_slot_text(lang, wd, hour, a, sizeof(a));
	else
		bot_fmt(a, sizeof(a), "%s", _(lang, "not enough data yet"));
	bot_addf(out, outsz, _(lang, "🕒 Best time to post: %s"), a);
	bot_addf(out, outsz, "\n");

	if (top)
		post_text(in, l, top, false, &approx, line, sizeof(line));
	else
		bot_fmt(line, sizeof(line), "%s", _(lang, "not enough data yet"));
	bot_addf(out, outsz, _(lang, "🏆 Top post: %s"), line);
	bot_addf(out, outsz, "\n");
	mix_text(lang, l, json_object_get(o, "content_mix"), out, outsz);

	if (!*str_at(channel, "username"))
		bot_addf(out, outsz, "\n%s\n",
		         _(lang, "🔒 Views come from the channel's public page, and a private "
		                 "channel has none."));
	approx_note(lang, approx, out, outsz);
	bot_stats_fresh_text(lang, in->zone, in->now_ms, collected_at(o), line, sizeof(line));
	bot_addf(out, outsz, "\n%s", line);
	l10n_free(l);
}

void bot_stats_top_text(const struct bot_stats_in *in, char *out, size_t outsz)
{
	static const struct {
		const char *list, *title;
		bool er_first;
	} lists[] = {
	    {"top_by_views", N_("By views:"), false},
	    {"top_by_er", N_("By ER:"), true},
	};
	const char *lang = in->lang;
	struct l10n *l = l10n_new(lang);
	char name[CH_TITLE_MAX + 64], period[64], line[512];
	bool approx = false;

	out[0] = '\0';
	channel_text(json_object_get(in->overview, "channel"), name, sizeof(name));
	period_text(lang, in->days, period, sizeof(period));
	bot_addf(out, outsz, _(lang, "🏆 Top posts of %s, %s"), name, period);
	bot_addf(out, outsz, "\n");
	for (size_t k = 0; k < ARRAY_SIZE(lists); k++) {
		const json_t *list = json_object_get(in->posts, lists[k].list), *p;
		size_t i;

		bot_addf(out, outsz, "\n%s\n", _(lang, lists[k].title));
		if (!json_array_size(list))
			bot_addf(out, outsz, "%s\n", _(lang, "not enough data yet"));
		json_array_foreach(list, i, p)
		{
			if (i >= TOP_N)
				break;
			post_text(in, l, p, lists[k].er_first, &approx, line, sizeof(line));
			bot_addf(out, outsz, "%zu. %s\n", i + 1, line);
		}
	}
	approx_note(lang, approx, out, outsz);
	l10n_free(l);
}

/* The local day number of instant t in z (NO_DAY when ICU cannot say). */
static int64_t local_day(struct tz *z, int64_t t)
{
	int32_t off;
	int64_t local;

	if (tz_offset_ms(z, t, &off))
		return NO_DAY;
	local = t + off;
	return local / DAY_MS - (local % DAY_MS < 0);
}

size_t bot_stats_daily(const struct stats_post *posts, size_t n, int64_t from_ms, int64_t to_ms,
                       const char *zone, bool views, struct bot_stats_day *out, size_t max)
{
	struct tz *z = NULL;
	int64_t first = 0, end;
	size_t days = 0;

	if (to_ms <= from_ms || !max || tz_open(zone, &z, NULL))
		return 0;
	end = local_day(z, to_ms - 1); /* NO_DAY: no days after the last post */
	for (size_t i = stats_posts_from(posts, n, from_ms); i < n && posts[i].posted_at_ms < to_ms;
	     i++) {
		const struct stats_post *p = &posts[i];
		int64_t day = local_day(z, p->posted_at_ms);

		if ((views && p->views < 0) || day == NO_DAY)
			continue;
		if (!days)
			first = day;
		if (day < first || day - first >= (int64_t)max)
			continue;
		/* the days between posts are real zeros */
		while ((int64_t)days <= day - first) {
			out[days] = (struct bot_stats_day){.day = first + (int64_t)days};
			days++;
		}
		out[day - first].value += views ? (double)p->views : 1;
		out[day - first].approx |= views && p->approx;
	}
	/* and so are the days after the last post, to the period's end */
	while (days && days < max && first + (int64_t)days <= end) {
		out[days] = (struct bot_stats_day){.day = first + (int64_t)days};
		days++;
	}
	tz_free(z);
	for (size_t k = 0; k < days; k++) {
		struct when_local lt = {0};

		tz_civil_from_day(out[k].day, &lt.year, &lt.month, &lt.day);
		/* a midnight skipped by the clocks starts the day when it does */
		if (when_to_utc(zone, &lt, &out[k].at_ms, NULL, NULL))
			out[k].at_ms = out[k].day * DAY_MS;
	}
	return days;
}

/* ---- the handlers ------------------------------------------------------------------ */

static const char *zone_of(const struct bot_ctx *c)
{
	return c->u.time_zone[0] ? c->u.time_zone : "UTC";
}

static void stats_button(json_t *row, const char *label, char what, int64_t channel, int days)
{
	struct bot_stats_arg a = {what, channel, days};
	char arg[BOT_CB_MAX + 1];

	bot_stats_arg_format(&a, arg, sizeof(arg));
	bot_kb_button(row, label, BOT_CB_STATS, arg, 0);
}

/* A row of the periods but except (0: all of them), each showing step what. */
static void period_row(json_t *kb, const char *lang, int64_t channel, int except)
{
	json_t *row = bot_kb_row(kb);
	char label[64];

	for (size_t i = 0; i < ARRAY_SIZE(periods); i++) {
		if (periods[i] == except)
			continue;
		bot_fmt(label, sizeof(label),
		        i18n_nget(lang, "%d day", "%d days", (unsigned long)periods[i]),
		        periods[i]);
		stats_button(row, label, 's', channel, periods[i]);
	}
}

static void short_name(const struct channel *ch, char *out, size_t outsz)
{
	char name[CH_TITLE_MAX + 64];

	bot_channel_name(ch->title, ch->username, ch->chat_id, name, sizeof(name));
	bot_fmt(out, outsz < LABEL_MAX + 1 ? outsz : LABEL_MAX + 1, "%s", name);
}

static int ask_period(struct bot_ctx *c, const struct channel *ch)
{
	char name[CH_TITLE_MAX + 64], text[CH_TITLE_MAX + 256];
	json_t *kb = bot_kb_new();

	bot_channel_name(ch->title, ch->username, ch->chat_id, name, sizeof(name));
	bot_fmt(text, sizeof(text), _(c->lang, "📊 %s: statistics for which period?"), name);
	period_row(kb, c->lang, ch->id, 0);
	return bot_say_kb(c, text, kb);
}

int bot_cmd_stats(struct bot_ctx *c)
{
	struct channel *list = NULL;
	char label[LABEL_MAX + 8];
	size_t n = 0;
	json_t *kb;
	int rc = channels_list(c->b->a->store, c->u.id, &list, &n, c->e);

	if (rc)
		return rc;
	if (n == 0) {
		free(list);
		return bot_say(c,
		               _(c->lang, "You have no channels yet, so there are no statistics to "
		                          "show. Connect one with /connect @yourchannel (or add me "
		                          "to your channel as an administrator), and I will start "
		                          "collecting its numbers."),
		               NULL);
	}
	if (n == 1) {
		rc = ask_period(c, &list[0]);
		free(list);
		return rc;
	}
	kb = bot_kb_new();
	for (size_t i = 0; i < n; i++) {
		short_name(&list[i], label, sizeof(label));
		stats_button(bot_kb_row(kb), label, 'c', list[i].id, 0);
	}
	free(list);
	return bot_say_kb(c, _(c->lang, "📊 Statistics of which channel?"), kb);
}

/* What one report needs: the channel's data and the views over it. */
struct report {
	struct analytics_data d;
	struct analytics_query q;
	int days;
	json_t *overview, *best, *posts, *growth;
};

static void report_release(struct report *r)
{
	json_decref(r->overview);
	json_decref(r->best);
	json_decref(r->posts);
	json_decref(r->growth);
	analytics_data_release(&r->d);
}

/* Load the last days of channel for the user: -ERR_NOT_FOUND when it is
 * not theirs (any more). */
static int report_load(struct bot_ctx *c, int64_t channel, int days, struct report *r)
{
	static const char *const names[] = {"overview", "best-times", "posts", "growth"};
	json_t **views[] = {&r->overview, &r->best, &r->posts, &r->growth};
	int rc;

	memset(r, 0, sizeof(*r));
	r->days = days;
	r->q.zone = zone_of(c);
	/* the end of the current minute, as the API computes it */
	r->q.now_ms = clock_app_ms() / MINUTE_MS * MINUTE_MS + MINUTE_MS - 1;
	r->q.to_ms = r->q.now_ms + 1;
	r->q.from_ms = r->q.to_ms - days * DAY_MS;
	r->q.top = TOP_N;
	rc = analytics_load(c->b->a, c->u.id, channel, r->q.to_ms, &r->d, c->e);
	if (rc)
		return rc;
	for (size_t i = 0; !rc && i < ARRAY_SIZE(names); i++) {
		r->q.view = names[i];
		rc = analytics_view(&r->d, &r->q, views[i], c->e);
	}
	if (rc)
		report_release(r);
	return rc;
}

static void report_in(const struct bot_ctx *c, const struct report *r, struct bot_stats_in *in)
{
	*in = (struct bot_stats_in){.lang = c->lang,
	                            .zone = r->q.zone,
	                            .now_ms = r->q.now_ms,
	                            .days = r->days,
	                            .overview = r->overview,
	                            .best = r->best,
	                            .posts = r->posts};
}

static int no_data(struct bot_ctx *c, const struct report *r)
{
	char name[CH_TITLE_MAX + 64], text[CH_TITLE_MAX + 512];

	channel_text(json_object_get(r->overview, "channel"), name, sizeof(name));
	bot_fmt(text, sizeof(text),
	        _(c->lang, "📊 There is no data for %s yet: the first collection runs within a "
	                   "minute of connecting. Send /stats again in a minute."),
	        name);
	return bot_say(c, text, NULL);
}

/* Send png as a photo with caption. A refusal is logged and not an error
 * (the text goes on without its picture); a transient failure is. */
static int send_png(struct bot_ctx *c, const struct buf *png, const char *caption)
{
	struct tg_media m = {.kind = "photo",
	                     .filename = "chart.png",
	                     .content_type = "image/png",
	                     .data = png->p,
	                     .len = png->len,
	                     .caption = caption};
	struct tg_error te = {0};
	int rc = tg_send_media(c->b->tg, c->chat, &m, NULL, NULL, &te);

	rc = bot_sent(c->b->a, c->chat, rc, &te, c->e);
	if (rc == -ERR_INVALID) {
		log_warn("msg=\"chart not sent\" chat=%lld err=\"%s\"", (long long)c->chat,
		         c->e->msg);
		rc = 0;
	}
	return rc;
}

/* Draw ch and send it; a chart that cannot be drawn is logged and skipped. */
static int send_chart(struct bot_ctx *c, const struct chart *ch, const char *caption)
{
	struct buf png;
	struct err e = {0};
	int rc;

	buf_init(&png, PNG_MAX);
	rc = chart_png(ch, &png, &e);
	if (rc)
		log_warn("msg=\"chart not drawn\" chat=%lld err=\"%s\"", (long long)c->chat, e.msg);
	else
		rc = send_png(c, &png, caption);
	buf_release(&png);
	return rc == -ERR_UNAVAILABLE || rc == -ERR_BUSY || rc == -ERR_TIMEOUT ? rc : 0;
}

/* The summary's chart: the subscribers over the period when there are two
 * points or more, else the views (or, with none known, the posts) per day. */
static int summary_chart(struct bot_ctx *c, const struct report *r)
{
	const json_t *series = json_object_get(r->growth, "series"), *p;
	size_t n = json_array_size(series), i;
	struct bot_stats_day days[DAILY_MAX];
	struct chart_point *pts = xcalloc(n > DAILY_MAX ? n : DAILY_MAX, sizeof(*pts));
	char name[128], title[CHART_TEXT_MAX], caption[512], period[64];
	const char *what;
	struct chart ch = {.lang = c->lang, .zone = r->q.zone};
	bool approx = false;
	int rc;

	channel_text(json_object_get(r->overview, "channel"), name, sizeof(name));
	period_text(c->lang, r->days, period, sizeof(period));
	if (n >= 2) {
		json_array_foreach(series, i, p)
		{
			pts[i] =
			    (struct chart_point){int_at(p, "at"), (double)int_at(p, "subscribers")};
			approx |= json_is_true(json_object_get(p, "approx"));
		}
		ch.kind = CHART_LINE;
		what = _(c->lang, "Subscribers");
	} else {
		bool views = true;

		n = bot_stats_daily(r->d.posts, r->d.n_posts, r->q.from_ms, r->q.to_ms, r->q.zone,
		                    true, days, DAILY_MAX);
		if (!n) {
			views = false;
			n = bot_stats_daily(r->d.posts, r->d.n_posts, r->q.from_ms, r->q.to_ms,
			                    r->q.zone, false, days, DAILY_MAX);
		}
		for (i = 0; i < n; i++) {
			pts[i] = (struct chart_point){days[i].at_ms, days[i].value};
			approx |= days[i].approx;
		}
		ch.kind = CHART_BARS;
		ch.series[0].step_ms = DAY_MS;
		what = views ? _(c->lang, "Views per day") : _(c->lang, "Posts per day");
	}
	ch.series[0].pts = pts;
	ch.series[0].n = n;
	ch.nseries = 1;
	bot_fmt(title, sizeof(title), "%s · %s", what, name);
	ch.title = title;
	bot_fmt(caption, sizeof(caption), "📈 %s · %s · %s%s", what, name, period,
	        approx ? " (≈)" : "");
	rc = send_chart(c, &ch, caption);
	free(pts);
	return rc;
}

static int summary(struct bot_ctx *c, int64_t channel, int days)
{
	struct report r;
	struct bot_stats_in in;
	char text[TEXT_MAX], label[64];
	json_t *kb, *row;
	int rc = report_load(c, channel, days, &r);

	if (rc == -ERR_NOT_FOUND)
		return bot_stale(c);
	if (rc)
		return rc;
	if (!bot_stats_has_data(r.overview)) {
		rc = no_data(c, &r);
		report_release(&r);
		return rc;
	}
	rc = summary_chart(c, &r);
	if (!rc) {
		report_in(c, &r, &in);
		bot_stats_text(&in, text, sizeof(text));
		kb = bot_kb_new();
		period_row(kb, c->lang, channel, days);
		row = bot_kb_row(kb);
		bot_fmt(label, sizeof(label), "%s", _(c->lang, "🕒 Best times"));
		stats_button(row, label, 'b', channel, days);
		bot_fmt(label, sizeof(label), "%s", _(c->lang, "🏆 Top posts"));
		stats_button(row, label, 't', channel, days);
		rc = bot_say_kb(c, text, kb);
	}
	report_release(&r);
	return rc;
}

static int best_times(struct bot_ctx *c, int64_t channel, int days)
{
	const json_t *cells, *cell;
	double heat[CHART_DAYS * CHART_HOURS];
	char name[128], title[CHART_TEXT_MAX], caption[1024], slot[NUM_MAX], period[64];
	struct chart ch = {.kind = CHART_HEATMAP, .lang = c->lang, .heat = heat};
	struct report r;
	bool by_er = false;
	int wd, hour;
	size_t i;
	int rc = report_load(c, channel, days, &r);

	if (rc == -ERR_NOT_FOUND)
		return bot_stale(c);
	if (rc)
		return rc;
	channel_text(json_object_get(r.overview, "channel"), name, sizeof(name));
	period_text(c->lang, days, period, sizeof(period));
	if (!bot_stats_best_slot(r.best, &wd, &hour)) {
		bot_fmt(caption, sizeof(caption), _(c->lang, "🕒 Best times of %s, %s: %s."), name,
		        period, _(c->lang, "not enough data yet"));
		report_release(&r);
		return bot_say(c, caption, NULL);
	}
	cells = json_object_get(r.best, "cells");
	json_array_foreach(cells, i, cell) by_er |= num_at(cell, "er").defined;
	for (i = 0; i < ARRAY_SIZE(heat); i++)
		heat[i] = NAN;
	json_array_foreach(cells, i, cell)
	{
		struct num v = num_at(cell, by_er ? "er" : "views_24h");
		int64_t w = int_at(cell, "weekday"), h = int_at(cell, "hour");

		if (v.defined && w >= 1 && w <= 7 && h >= 0 && h <= 23)
			heat[(w - 1) * CHART_HOURS + h] = v.v;
	}
	bot_fmt(title, sizeof(title), "%s · %s",
	        by_er ? _(c->lang, "ER (percent) by hour of posting")
	              : _(c->lang, "Views in 24 h by hour of posting"),
	        name);
	ch.title = title;
	bot_stats_slot_text(c->lang, wd, hour, slot, sizeof(slot));
	bot_fmt(caption, sizeof(caption),
	        _(c->lang, "🕒 Best times of %s, %s. The darker the hour, the better its posts "
	                   "did; times are in your zone (%s). Best: %s."),
	        name, period, r.q.zone, slot);
	rc = send_chart(c, &ch, caption);
	report_release(&r);
	return rc;
}

static int top_posts(struct bot_ctx *c, int64_t channel, int days)
{
	struct report r;
	struct bot_stats_in in;
	char text[TEXT_MAX];
	int rc = report_load(c, channel, days, &r);

	if (rc == -ERR_NOT_FOUND)
		return bot_stale(c);
	if (rc)
		return rc;
	report_in(c, &r, &in);
	bot_stats_top_text(&in, text, sizeof(text));
	report_release(&r);
	return bot_say(c, text, NULL);
}

int bot_on_stats_cb(struct bot_ctx *c, const struct bot_cb *cb)
{
	struct bot_stats_arg a = {'s', cb->id, ALERT_DAYS};
	struct channel ch;
	int rc;

	if (cb->action == BOT_CB_STATS && bot_stats_arg_parse(str_c(cb->arg), &a))
		return bot_stale(c); /* bot_cb_parse let it through: cannot happen */
	/* the data names a channel: it must be the user's, and connected */
	rc = channels_get(c->b->a->store, c->u.id, a.channel, &ch, c->e);
	if (rc == -ERR_NOT_FOUND || (!rc && ch.removed))
		return bot_stale(c);
	if (rc)
		return rc;
	switch (a.what) {
	case 'c':
		return ask_period(c, &ch);
	case 'b':
		return best_times(c, a.channel, a.days);
	case 't':
		return top_posts(c, a.channel, a.days);
	default:
		return summary(c, a.channel, a.days);
	}
}
