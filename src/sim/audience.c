/*
 * audience: the simulated audience of channels (docs/simulator.md,
 * "Audience"): views, reactions and forwards of posts, joins and leaves,
 * as functions of Telegram's clock (sim_clock_ms), so moving the clock makes
 * views grow, and of a seed, so tests can predict them.
 *
 * A post's views are floor(peak * G(age)) plus its spikes, where peak is
 * drawn when the post is published (subscribers then, times the channel's
 * reach, times a factor of the post and of its media kind) and G is a
 * rising-then-decaying wave with a long tail (sim_aud_curve). Reactions and
 * forwards are fixed fractions of the views, drawn per post. Subscribers
 * join and leave hour by hour from the channel's start, in numbers drawn
 * from the seed around the channel's rates (more in the afternoon, UTC), so
 * member_count stays base + joins - leaves. Every random number is a hash
 * of the seed and what it is for (splitmix64), never a generator's state:
 * the same seed and the same calls give the same numbers.
 *
 * sim_audience_tick brings every channel to the clock: whole hours of joins
 * and leaves are played (each queues chat_member updates) and, at most once
 * a minute of sim time, reaction counts are compared with those last sent
 * (a change queues message_reaction_count). Both only when the bot is an
 * administrator and allowed_updates asks for them, and at most
 * SIM_AUD_MAX_*_UPDATES per channel per step, so moving the clock by a year
 * does not flood the queue: joins and leaves beyond that are counted, not
 * sent; reaction counts beyond it go in a later step.
 *
 * The control API here reads the ground truth, changes a channel's model,
 * injects spikes and writes a channel's past (the demo's weeks of history).
 * Everything runs with the simulator's mutex held.
 */
#include "sim/sim_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/mem.h"
#include "sim/drivers.h"

#define HOUR             3600
#define DAY              86400
#define TAIL_SHARE       0.2 /* of the peak that comes in the long tail */
#define READER_JOIN_BASE 7000000000LL
#define READER_LEFT_BASE 7500000000LL
#define SPIKE_MAX_VIEWS  1000000000LL
#define SPIKE_MAX_DUR    (30LL * DAY)
#define HISTORY_MAX_DAYS 365

static const char *const emoji_list[] = {"👍", "❤", "🔥", "🎉", "😁", "👏", "🤔", "😢"};

/* ---- numbers from the seed ---- */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The draw of what (a, b) stands for under seed. */
static uint64_t draw3(uint64_t seed, uint64_t a, uint64_t b)
{
	return mix(seed ^ mix(a ^ mix(b)));
}

/* A number in [0, 1) from h. */
static double unit(uint64_t h)
{
	return (double)(h >> 11) * 0x1.0p-53;
}

/* The k-th number in [0, 1) of a post's draw. */
static double post_unit(uint64_t draw, unsigned k)
{
	return unit(mix(draw + k));
}

/* ---- posts ---- */

bool sim_msg_is_service(const struct sim_msg *sm)
{
	static const char *const service[] = {"channel_chat_created", "pinned_message",
	                                      "new_chat_title",       "new_chat_photo",
	                                      "delete_chat_photo",    "migrate_from_chat_id"};

	for (size_t i = 0; i < ARRAY_SIZE(service); i++)
		if (json_object_get(sm->m, service[i]))
			return true;
	return false;
}

static const char *kind_of(const json_t *m)
{
	static const char *const kinds[] = {"photo", "video",    "animation",
	                                    "audio", "document", "poll"};

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (json_object_get(m, kinds[i]))
			return kinds[i];
	return "text";
}

/* Pictures and video draw more eyes than text; files fewer. */
static double kind_factor(const char *kind)
{
	if (strcmp(kind, "photo") == 0)
		return 1.15;
	if (strcmp(kind, "video") == 0 || strcmp(kind, "animation") == 0)
		return 1.3;
	if (strcmp(kind, "document") == 0 || strcmp(kind, "audio") == 0)
		return 0.8;
	if (strcmp(kind, "poll") == 0)
		return 0.95;
	return 1.0;
}

double sim_aud_curve(int64_t age_s, int64_t tau_s, int64_t tail_s)
{
	double x, y;

	if (age_s <= 0)
		return 0;
	x = (double)age_s / (double)tau_s;
	y = (double)age_s / (double)tail_s;
	return (1 - TAIL_SHARE) * (1 - (1 + x) * exp(-x)) + TAIL_SHARE * (1 - exp(-y));
}

void sim_audience_post(struct sim_chat *ch, struct sim_msg *sm)
{
	struct sim_audience *au = ch->aud;
	struct sim_post_aud *a = &sm->aud;
	json_int_t id = json_integer_value(json_object_get(sm->m, "message_id"));

	memset(a, 0, sizeof(*a));
	if (sim_msg_is_service(sm))
		return;
	a->counted = true;
	/* the seed and the id alone: channels with one seed have the same posts */
	a->draw = draw3(au->seed, 'p', (uint64_t)id);
	a->peak = (double)ch->member_count * au->reach * (0.7 + 0.6 * post_unit(a->draw, 1)) *
	          kind_factor(kind_of(sm->m));
	a->tau_s = au->tau_s;
	a->tail_s = au->tail_s;
	a->react_rate = (0.01 + 0.03 * post_unit(a->draw, 2)) * au->reaction_scale;
}

void sim_post_counts(const struct sim_msg *sm, int64_t now, struct sim_post_counts *out)
{
	const struct sim_post_aud *a = &sm->aud;
	int64_t date = json_integer_value(json_object_get(sm->m, "date"));
	double rate, forward_rate, sum;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!a->counted)
		return;
	out->views = (int64_t)floor(a->peak * sim_aud_curve(now - date, a->tau_s, a->tail_s));
	for (size_t i = 0; i < a->nspikes; i++) {
		const struct sim_spike *sp = &a->spikes[i];

		if (now < sp->at)
			continue;
		if (!sp->duration_s || now - sp->at >= sp->duration_s)
			out->views += sp->views;
		else
			out->views += sp->views * (now - sp->at) / sp->duration_s;
	}
	forward_rate = 0.002 + 0.008 * post_unit(a->draw, 3);
	out->forwards = (int64_t)floor((double)out->views * forward_rate);
	rate = a->react_rate;
	if (rate <= 0)
		return;
	/* one to four kinds, the first the most given; shares n, n-1, ... 1 */
	n = 1 + (size_t)(post_unit(a->draw, 4) * SIM_AUD_EMOJI);
	sum = (double)(n * (n + 1) / 2);
	for (size_t i = 0; i < n; i++) {
		size_t k = (size_t)(mix(a->draw + 10 + i) % ARRAY_SIZE(emoji_list));
		bool dup;

		do {
			dup = false;
			for (size_t j = 0; j < out->nemoji; j++)
				if (out->emoji[j] == emoji_list[k])
					dup = true;
			if (dup)
				k = (k + 1) % ARRAY_SIZE(emoji_list);
		} while (dup);
		out->emoji[out->nemoji] = emoji_list[k];
		/* each kind is its own floor of the views: none goes down as views grow */
		out->reactions[out->nemoji] =
		    (int64_t)floor((double)out->views * rate * (double)(n - i) / sum);
		out->reactions_total += out->reactions[out->nemoji];
		out->nemoji++;
	}
}

/* ---- the channel's model ---- */

void sim_audience_new(struct sim *s, struct sim_chat *ch)
{
	struct sim_audience *au = xcalloc(1, sizeof(*au));
	int64_t now = sim_now_s(s);

	/* 53 bits: the seed reads back exactly as a JSON number anywhere */
	au->seed = mix((uint64_t)ch->id) & ((1ULL << 53) - 1);
	au->reach = 0.35;
	au->join_rate = 0.012;
	au->leave_rate = 0.005;
	au->reaction_scale = 1;
	au->tau_s = 3 * HOUR / 2;
	au->tail_s = 3 * DAY;
	au->start = now;
	au->scan_at = now;
	ch->aud = au;
}

void sim_audience_free(struct sim_audience *au)
{
	if (!au)
		return;
	free(au->days);
	free(au);
}

void sim_audience_set_count(struct sim_chat *ch, int64_t n)
{
	ch->member_count = n;
	ch->aud->base = n - ch->aud->joins + ch->aud->leaves;
}

/* The day of at in the log, added (the oldest dropped past the bound). */
static struct sim_aud_day *day_of(struct sim_audience *au, int64_t at)
{
	int64_t day = at / DAY;

	if (au->ndays && au->days[au->ndays - 1].day == day)
		return &au->days[au->ndays - 1];
	if (au->ndays == SIM_AUD_MAX_DAYS) {
		memmove(au->days, au->days + 1, (au->ndays - 1) * sizeof(*au->days));
		au->ndays--;
	} else {
		au->days = xrealloc(au->days, (au->ndays + 1) * sizeof(*au->days));
	}
	memset(&au->days[au->ndays], 0, sizeof(*au->days));
	au->days[au->ndays].day = day;
	return &au->days[au->ndays++];
}

static json_t *reader_json(int64_t id)
{
	char name[32];

	snprintf(name, sizeof(name), "Reader %lld", (long long)(id % 100000000));
	return json_pack("{s:I, s:b, s:s}", "id", (json_int_t)id, "is_bot", 0, "first_name", name);
}

/* chat_member for a reader who joined or left ch at at. */
static void member_update(struct sim *s, struct sim_chat *ch, int64_t reader, bool joined,
                          int64_t at)
{
	json_t *left = json_pack("{s:o, s:s}", "user", reader_json(reader), "status", "left");
	json_t *member = json_pack("{s:o, s:s}", "user", reader_json(reader), "status", "member");

	sim_update_push(s, "chat_member",
	                json_pack("{s:o, s:o, s:I, s:o, s:o}", "chat", sim_chat_json(s, ch), "from",
	                          reader_json(reader), "date", (json_int_t)at, "old_chat_member",
	                          joined ? left : member, "new_chat_member",
	                          joined ? member : left));
}

/*
 * joins readers join and leaves leave ch at at. With send, each queues a
 * chat_member update while *budget lasts (the rest are counted as skipped);
 * returns how many were queued.
 */
static int64_t members_move(struct sim *s, struct sim_chat *ch, int64_t joins, int64_t leaves,
                            int64_t at, bool send, int64_t *budget)
{
	struct sim_audience *au = ch->aud;
	struct sim_aud_day *d = day_of(au, at);
	int64_t total = joins + leaves, queued = 0;

	if (send && ch->bot_status == SIM_ADMIN && sim_update_allowed(s, "chat_member")) {
		queued = total < *budget ? total : *budget > 0 ? *budget : 0;
		for (int64_t i = 0; i < queued; i++)
			member_update(s, ch,
			              (i < joins ? READER_JOIN_BASE : READER_LEFT_BASE) +
			                  au->readers + i,
			              i < joins, at);
		*budget -= queued;
		au->member_updates += queued;
		au->member_updates_skipped += total - queued;
	}
	au->readers += total;
	au->joins += joins;
	au->leaves += leaves;
	ch->member_count = au->base + au->joins - au->leaves;
	d->joins += joins;
	d->leaves += leaves;
	d->member_count = ch->member_count;
	return queued;
}

/* Play the next whole hour of joins and leaves. */
static void play_hour(struct sim *s, struct sim_chat *ch, bool send, int64_t *budget)
{
	struct sim_audience *au = ch->aud;
	int64_t h = au->hours, t0 = au->start + h * HOUR, m = ch->member_count;
	int hod = (int)((t0 / HOUR) % 24);
	/* a day's rhythm around 15:00 UTC; averages 1 over a day */
	double rhythm = 1 + 0.6 * cos(2 * M_PI * (hod - 15) / 24.0);
	double ej = (double)m * au->join_rate / 24 * rhythm *
	            (0.5 + unit(draw3(au->seed, (uint64_t)h, 'J')));
	double el = (double)m * au->leave_rate / 24 * rhythm *
	            (0.5 + unit(draw3(au->seed, (uint64_t)h, 'L')));
	/* rounded up with the chance of the fraction */
	int64_t j = (int64_t)floor(ej + unit(draw3(au->seed, (uint64_t)h, 'j')));
	int64_t l = (int64_t)floor(el + unit(draw3(au->seed, (uint64_t)h, 'l')));

	if (l > m + j)
		l = m + j;
	members_move(s, ch, j, l, t0 + HOUR, send, budget);
	au->hours++;
}

/* Compare reaction counts with those last sent; queue what changed. */
static void scan_reactions(struct sim *s, struct sim_chat *ch, int64_t now, bool send)
{
	struct sim_audience *au = ch->aud;
	int64_t budget = SIM_AUD_MAX_REACTION_UPDATES;

	send =
	    send && ch->bot_status == SIM_ADMIN && sim_update_allowed(s, "message_reaction_count");
	/* newest first: they change most */
	for (size_t i = ch->nmsgs; i-- > 0;) {
		struct sim_msg *sm = &ch->msgs[i];
		struct sim_post_counts pc;
		json_t *list;
		bool same = true;

		if (!sm->aud.counted || sm->deleted)
			continue;
		sim_post_counts(sm, now, &pc);
		for (size_t k = 0; k < pc.nemoji; k++)
			same = same && pc.reactions[k] == sm->aud.sent[k];
		if (same)
			continue;
		if (send) {
			if (budget <= 0)
				continue; /* in a later step */
			list = json_array();
			for (size_t k = 0; k < pc.nemoji; k++)
				if (pc.reactions[k])
					json_array_append_new(
					    list,
					    json_pack("{s:{s:s, s:s}, s:I}", "type", "type",
					              "emoji", "emoji", pc.emoji[k], "total_count",
					              (json_int_t)pc.reactions[k]));
			sim_update_push(s, "message_reaction_count",
			                json_pack("{s:o, s:I, s:I, s:o}", "chat",
			                          sim_chat_json(s, ch), "message_id",
			                          (json_int_t)(i + 1), "date", (json_int_t)now,
			                          "reactions", list));
			budget--;
			au->reaction_updates++;
		}
		for (size_t k = 0; k < pc.nemoji; k++)
			sm->aud.sent[k] = pc.reactions[k];
	}
	au->scan_at = now;
}

/* Bring ch to now; with send false nothing is queued (a past being written). */
static void step(struct sim *s, struct sim_chat *ch, int64_t now, bool send)
{
	struct sim_audience *au = ch->aud;
	int64_t budget = SIM_AUD_MAX_MEMBER_UPDATES;

	while (au->start + (au->hours + 1) * HOUR <= now)
		play_hour(s, ch, send, &budget);
	if (now - au->scan_at >= SIM_AUD_REACTION_STEP_S || !send)
		scan_reactions(s, ch, now, send);
}

void sim_audience_tick(struct sim *s)
{
	int64_t now = sim_now_s(s);

	if (now == s->aud_tick_s)
		return;
	s->aud_tick_s = now;
	for (size_t i = 0; i < s->nchats; i++)
		if (s->chats[i]->aud)
			step(s, s->chats[i], now, true);
}

/* ---- the ground truth ---- */

static json_t *day_json(const struct sim_aud_day *d)
{
	char date[16];
	time_t t = (time_t)(d->day * DAY);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	return json_pack("{s:s, s:I, s:I, s:I}", "date", date, "joins", (json_int_t)d->joins,
	                 "leaves", (json_int_t)d->leaves, "member_count",
	                 (json_int_t)d->member_count);
}

/* A post's views at its date + after (null when that is still to come). */
static json_t *views_at(const struct sim_msg *sm, int64_t after, int64_t now)
{
	int64_t at = json_integer_value(json_object_get(sm->m, "date")) + after;
	struct sim_post_counts pc;

	if (at > now)
		return json_null();
	sim_post_counts(sm, at, &pc);
	return json_integer(pc.views);
}

static json_t *post_json(const struct sim_msg *sm, int64_t now)
{
	struct sim_post_counts pc;
	json_t *o, *reactions = json_array(), *spikes = json_array();

	o = json_pack("{s:O, s:O, s:s, s:b, s:b, s:b}", "message_id",
	              json_object_get(sm->m, "message_id"), "date", json_object_get(sm->m, "date"),
	              "kind", sm->aud.counted ? kind_of(sm->m) : "service", "service",
	              !sm->aud.counted, "deleted", sm->deleted, "edited", sm->edited);
	if (!sm->aud.counted) {
		json_decref(reactions);
		json_decref(spikes);
		return o;
	}
	sim_post_counts(sm, now, &pc);
	for (size_t k = 0; k < pc.nemoji; k++)
		json_array_append_new(reactions, json_pack("{s:s, s:I}", "emoji", pc.emoji[k],
		                                           "count", (json_int_t)pc.reactions[k]));
	for (size_t k = 0; k < sm->aud.nspikes; k++)
		json_array_append_new(
		    spikes, json_pack("{s:I, s:I, s:I}", "at", (json_int_t)sm->aud.spikes[k].at,
		                      "views", (json_int_t)sm->aud.spikes[k].views, "duration_s",
		                      (json_int_t)sm->aud.spikes[k].duration_s));
	json_object_update_new(
	    o, json_pack("{s:I, s:I, s:o, s:I, s:o, s:o, s:I, s:I, s:I, s:o}", "views",
	                 (json_int_t)pc.views, "forwards", (json_int_t)pc.forwards, "reactions",
	                 reactions, "reactions_total", (json_int_t)pc.reactions_total, "views_24h",
	                 views_at(sm, DAY, now), "views_48h", views_at(sm, 2 * DAY, now), "peak",
	                 (json_int_t)llround(sm->aud.peak), "tau_s", (json_int_t)sm->aud.tau_s,
	                 "tail_s", (json_int_t)sm->aud.tail_s, "spikes", spikes));
	return o;
}

static json_t *config_json(const struct sim_audience *au)
{
	return json_pack("{s:I, s:f, s:f, s:f, s:f, s:I, s:I}", "seed", (json_int_t)au->seed,
	                 "reach", au->reach, "join_rate", au->join_rate, "leave_rate",
	                 au->leave_rate, "reactions", au->reaction_scale, "tau_s",
	                 (json_int_t)au->tau_s, "tail_s", (json_int_t)au->tail_s);
}

static json_t *truth_json(struct sim *s, const struct sim_chat *ch, bool with_posts)
{
	const struct sim_audience *au = ch->aud;
	int64_t now = sim_now_s(s);
	json_t *days = json_array(), *o;

	for (size_t i = 0; i < au->ndays; i++)
		json_array_append_new(days, day_json(&au->days[i]));
	o = json_pack("{s:I, s:s?, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:o}",
	              "chat_id", (json_int_t)ch->id, "username", ch->username, "title",
	              ch->title ? ch->title : "", "now", (json_int_t)now, "member_count",
	              (json_int_t)ch->member_count, "initial_member_count", (json_int_t)au->base,
	              "joins", (json_int_t)au->joins, "leaves", (json_int_t)au->leaves, "config",
	              config_json(au), "start", (json_int_t)au->start, "chat_member_updates",
	              (json_int_t)au->member_updates, "chat_member_updates_skipped",
	              (json_int_t)au->member_updates_skipped, "message_reaction_count_updates",
	              (json_int_t)au->reaction_updates, "days", days);
	if (with_posts) {
		json_t *posts = json_array();

		for (size_t i = 0; i < ch->nmsgs; i++)
			json_array_append_new(posts, post_json(&ch->msgs[i], now));
		json_object_set_new(o, "posts", posts);
	}
	return o;
}

static int c_audience_get(struct http_req *r)
{
	struct sim *s = r->ctx;
	struct sim_chat *ch;
	json_t *o = NULL;

	pthread_mutex_lock(&s->mu);
	sim_audience_tick(s);
	if ((ch = sim_control_channel(r, s)))
		o = truth_json(s, ch, true);
	pthread_mutex_unlock(&s->mu);
	return o ? drv_reply(r, o) : -1;
}

/* A number field: 0 read, 1 absent, -1 not a number. */
static int get_num(const json_t *b, const char *key, double *v)
{
	json_t *x = json_object_get(b, key);

	if (!x || json_is_null(x))
		return 1;
	if (!json_is_number(x))
		return -1;
	*v = json_number_value(x);
	return 0;
}

/* The model's settings from b into au (applied to posts published after);
 * false with msg set when one is out of range (au unchanged). */
static bool read_config(const json_t *b, struct sim_audience *au, char *msg, size_t msgsz)
{
	struct sim_audience n = *au;
	int64_t seed = 0, tau = n.tau_s, tail = n.tail_s;
	bool on = true;
	int rc;

	if (drv_get_i64(b, "seed", &seed) < 0 || get_num(b, "reach", &n.reach) < 0 ||
	    get_num(b, "join_rate", &n.join_rate) < 0 ||
	    get_num(b, "leave_rate", &n.leave_rate) < 0 || drv_get_i64(b, "tau_s", &tau) < 0 ||
	    drv_get_i64(b, "tail_s", &tail) < 0) {
		snprintf(msg, msgsz,
		         "seed, tau_s and tail_s are integers; reach, join_rate, "
		         "leave_rate and reactions numbers");
		return false;
	}
	if (json_object_get(b, "seed"))
		n.seed = (uint64_t)seed;
	rc = drv_get_bool(b, "reactions", &on);
	if (rc == 0)
		n.reaction_scale = on ? 1 : 0;
	else if (rc < 0 && get_num(b, "reactions", &n.reaction_scale) < 0) {
		snprintf(msg, msgsz, "reactions is true, false or a factor");
		return false;
	}
	if (n.reach < 0 || n.reach > 100 || n.join_rate < 0 || n.join_rate > 10 ||
	    n.leave_rate < 0 || n.leave_rate > 1 || n.reaction_scale < 0 || n.reaction_scale > 20 ||
	    tau < 60 || tau > 30 * DAY || tail < 60 || tail > 365 * DAY) {
		snprintf(msg, msgsz,
		         "reach 0-100, join_rate 0-10 and leave_rate 0-1 (per subscriber per "
		         "day), reactions 0-20, tau_s 60-2592000, tail_s 60-31536000");
		return false;
	}
	n.tau_s = tau;
	n.tail_s = tail;
	*au = n;
	return true;
}

static int c_audience_set(struct http_req *r)
{
	struct sim *s = r->ctx;
	struct sim_chat *ch;
	json_t *b = drv_body(r), *o = NULL;
	char msg[200];
	int rc = -1;

	if (!b)
		return -1;
	pthread_mutex_lock(&s->mu);
	sim_audience_tick(s);
	if (!(ch = sim_control_channel(r, s)))
		goto out;
	if (!read_config(b, ch->aud, msg, sizeof(msg))) {
		rc = drv_fail(r, 400, "%s", msg);
		goto out;
	}
	o = truth_json(s, ch, false);
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	json_decref(b);
	return o ? drv_reply(r, o) : rc;
}

/* ---- spikes ---- */

static int c_spike(struct http_req *r)
{
	struct sim *s = r->ctx;
	struct sim_chat *ch;
	struct sim_msg *sm = NULL;
	json_t *b = drv_body(r), *o = NULL;
	int64_t mid = 0, views = 0, dur = 0, joins = 0, leaves = 0, now, budget, queued = 0;
	double factor = 0;
	bool post;
	int rc = -1;

	if (!b)
		return -1;
	post = json_object_get(b, "message_id") != NULL;
	if (drv_get_i64(b, "message_id", &mid) < 0 || drv_get_i64(b, "views", &views) < 0 ||
	    get_num(b, "factor", &factor) < 0 || drv_get_i64(b, "duration_s", &dur) < 0 ||
	    drv_get_i64(b, "joins", &joins) < 0 || drv_get_i64(b, "leaves", &leaves) < 0) {
		rc = drv_fail(r, 400,
		              "message_id, views, duration_s, joins and leaves are "
		              "integers, factor a number");
		goto out_nolock;
	}
	if ((post && !views && !factor) || (!post && (views || factor)) || (views && factor) ||
	    views < 0 || views > SPIKE_MAX_VIEWS || (factor && (factor <= 1 || factor > 1000)) ||
	    dur < 0 || dur > SPIKE_MAX_DUR || joins < 0 || joins > 10000000 || leaves < 0 ||
	    leaves > 10000000 || (!post && !joins && !leaves)) {
		rc = drv_fail(r, 400,
		              "give message_id with views (1-1000000000) or factor (over 1, at "
		              "most 1000) and optionally duration_s (0-2592000), and/or joins "
		              "or leaves (1-10000000)");
		goto out_nolock;
	}
	pthread_mutex_lock(&s->mu);
	sim_audience_tick(s);
	now = sim_now_s(s);
	if (!(ch = sim_control_channel(r, s)))
		goto out;
	if (post) {
		sm = sim_msg_get(ch, mid);
		if (!sm || sm->deleted || !sm->aud.counted) {
			rc = drv_fail(r, 404, "no post %lld in channel %lld", (long long)mid,
			              (long long)ch->id);
			goto out;
		}
		if (sm->aud.nspikes == SIM_AUD_MAX_SPIKES) {
			rc = drv_fail(r, 409, "the post has %d spikes already", SIM_AUD_MAX_SPIKES);
			goto out;
		}
		if (factor) {
			struct sim_post_counts pc;

			sim_post_counts(sm, now, &pc);
			views = llround((double)pc.views * (factor - 1));
			if (views < 1 || views > SPIKE_MAX_VIEWS) {
				rc = drv_fail(r, 409, "the post has %lld views: factor gives %lld",
				              (long long)pc.views, (long long)views);
				goto out;
			}
		}
	}
	if (leaves > ch->member_count + joins) {
		rc = drv_fail(r, 409, "the channel has %lld subscribers",
		              (long long)ch->member_count);
		goto out;
	}
	if (sm) {
		struct sim_post_aud *a = &sm->aud;

		a->spikes = xrealloc(a->spikes, (a->nspikes + 1) * sizeof(*a->spikes));
		a->spikes[a->nspikes++] = (struct sim_spike){now, views, dur};
	}
	budget = SIM_AUD_MAX_MEMBER_UPDATES;
	if (joins || leaves)
		queued = members_move(s, ch, joins, leaves, now, true, &budget);
	o = truth_json(s, ch, false);
	json_object_set_new(o, "chat_member_updates_queued", json_integer(queued));
	if (sm)
		json_object_set_new(o, "post", post_json(sm, now));
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
out_nolock:
	json_decref(b);
	return o ? drv_reply(r, o) : rc;
}

/* ---- a channel's past ---- */

static const char *const topics[] = {
    "Weekly digest",       "Behind the scenes",  "Tip of the day",   "Release notes",
    "A question for you",  "Community picks",    "Quick update",     "Long read",
    "Numbers of the week", "Event announcement", "From the archive", "Ask me anything"};

/* The content of the n-th post of the past, drawn from u; media kinds
 * about 40% text, 28% photo, 15% video, 9% document, 8% poll. */
static json_t *past_post(struct sim *s, struct sim_chat *ch, int64_t n, uint64_t u)
{
	double k = unit(mix(u + 1));
	const char *topic = topics[mix(u + 2) % ARRAY_SIZE(topics)];
	json_t *m = json_pack("{s:o}", "sender_chat", sim_chat_json(s, ch));
	char text[256], name[48];
	struct sim_file *f;

	snprintf(text, sizeof(text), "%s #%lld\n\nWhat happened this time, in a few lines.%s",
	         topic, (long long)n,
	         unit(mix(u + 3)) < 0.3 ? " More: https://example.org/notes" : "");
	if (k < 0.40) {
		json_object_set_new(m, "text", json_string(text));
	} else if (k < 0.68) {
		f = sim_fake_photo(s);
		json_object_set_new(m, "photo",
		                    json_pack("[{s:s, s:s, s:I, s:i, s:i}]", "file_id", f->file_id,
		                              "file_unique_id", f->unique_id, "file_size",
		                              (json_int_t)f->size, "width", f->width, "height",
		                              f->height));
		json_object_set_new(m, "caption", json_string(text));
	} else if (k < 0.83) {
		snprintf(name, sizeof(name), "clip%lld.mp4", (long long)n);
		f = sim_file_add(s, "video", name, strlen(name), name, "video/mp4");
		json_object_set_new(
		    m, "video",
		    json_pack("{s:s, s:s, s:i, s:i, s:I, s:s, s:s, s:I}", "file_id", f->file_id,
		              "file_unique_id", f->unique_id, "width", 1280, "height", 720,
		              "duration", (json_int_t)(20 + mix(u + 4) % 280), "file_name", name,
		              "mime_type", "video/mp4", "file_size", (json_int_t)f->size));
		json_object_set_new(m, "caption", json_string(text));
	} else if (k < 0.92) {
		snprintf(name, sizeof(name), "report-%lld.pdf", (long long)n);
		f = sim_file_add(s, "document", name, strlen(name), name, "application/pdf");
		json_object_set_new(m, "document",
		                    json_pack("{s:s, s:s, s:s, s:s, s:I}", "file_id", f->file_id,
		                              "file_unique_id", f->unique_id, "file_name", name,
		                              "mime_type", "application/pdf", "file_size",
		                              (json_int_t)f->size));
		json_object_set_new(m, "caption", json_string(text));
	} else {
		char id[32];

		sim_new_id(s, "5", id, sizeof(id));
		json_object_set_new(
		    m, "poll",
		    json_pack("{s:s, s:s, s:[{s:s, s:i}, {s:s, s:i}, {s:s, s:i}], s:i, s:b, s:b, "
		              "s:s, s:b}",
		              "id", id, "question", "What should we write about next?", "options",
		              "text", "Guides", "voter_count", 0, "text", "News", "voter_count", 0,
		              "text", "Interviews", "voter_count", 0, "total_voter_count", 0,
		              "is_closed", 0, "is_anonymous", 1, "type", "regular",
		              "allows_multiple_answers", 0));
	}
	if (unit(mix(u + 5)) < 0.2)
		json_object_set_new(m, "author_signature", json_string("Demo Editor"));
	return m;
}

static int c_history(struct http_req *r)
{
	struct sim *s = r->ctx;
	struct sim_chat *ch;
	struct sim_audience *au;
	json_t *b = drv_body(r), *o = NULL;
	int64_t days = 28, lo = 3, hi = 5, now, start, n = 0, seed = 0;
	struct sim_msg *sm;
	int rc = -1;

	if (!b)
		return -1;
	if (drv_get_i64(b, "days", &days) < 0 || drv_get_i64(b, "min_per_day", &lo) < 0 ||
	    drv_get_i64(b, "max_per_day", &hi) < 0 || drv_get_i64(b, "seed", &seed) < 0 ||
	    days < 1 || days > HISTORY_MAX_DAYS || lo < 0 || hi < lo || hi > 24) {
		rc = drv_fail(r, 400,
		              "days 1-365, 0 <= min_per_day <= max_per_day <= 24, seed "
		              "an integer");
		goto out_nolock;
	}
	pthread_mutex_lock(&s->mu);
	sim_audience_tick(s);
	if (!(ch = sim_control_channel(r, s)))
		goto out;
	if (ch->nmsgs) {
		rc = drv_fail(r, 409, "the channel has messages: a past goes before them");
		goto out;
	}
	au = ch->aud;
	if (json_object_get(b, "seed"))
		au->seed = (uint64_t)seed;
	now = sim_now_s(s);
	start = now - days * DAY;
	/* subscribers then, so that the rates bring them near today's count */
	au->start = start;
	au->hours = au->joins = au->leaves = au->readers = 0;
	au->ndays = 0;
	sim_audience_set_count(ch, llround((double)ch->member_count /
	                                   exp((au->join_rate - au->leave_rate) * (double)days)));
	sim_msg_add(s, ch,
	            json_pack("{s:o, s:b, s:I}", "sender_chat", sim_chat_json(s, ch),
	                      "channel_chat_created", 1, "date", (json_int_t)start),
	            false);
	/* the UTC days from start's to today's, posts between 08:00 and 22:00 */
	for (int64_t d = 0; d <= days; d++) {
		int64_t midnight = (now / DAY - days + d) * DAY;
		uint64_t du = draw3(au->seed, (uint64_t)d, 'D');
		int64_t count = lo + (int64_t)(unit(du) * (double)(hi - lo + 1));
		int64_t at[24];

		for (int64_t i = 0; i < count; i++)
			at[i] = midnight + 8 * HOUR +
			        (int64_t)(unit(mix(du + (uint64_t)i + 1)) * 14 * HOUR);
		for (int64_t i = 1; i < count; i++)
			for (int64_t j = i; j > 0 && at[j - 1] > at[j]; j--) {
				int64_t t = at[j];

				at[j] = at[j - 1];
				at[j - 1] = t;
			}
		for (int64_t i = 0; i < count; i++) {
			uint64_t pu = draw3(au->seed, (uint64_t)n, 'P');
			json_t *m;

			if (at[i] <= start || at[i] >= now)
				continue;
			while (au->start + (au->hours + 1) * HOUR <= at[i])
				play_hour(s, ch, false, &(int64_t){0});
			m = past_post(s, ch, ++n, pu);
			json_object_set_new(m, "date", json_integer(at[i]));
			sm = sim_msg_add(s, ch, m, false);
			if (json_object_get(sm->m, "text") && unit(mix(pu + 6)) < 0.15) {
				int64_t edited = at[i] + 60 + (int64_t)(mix(pu + 7) % 3540);

				sm->edited = true;
				json_object_set_new(sm->m, "edit_date",
				                    json_integer(edited < now ? edited : now));
			}
		}
	}
	/* the rest of the past, without updates: the bot was not there */
	step(s, ch, now, false);
	o = truth_json(s, ch, false);
	json_object_set_new(o, "posts", json_integer(n));
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
out_nolock:
	json_decref(b);
	return o ? drv_reply(r, o) : rc;
}

const struct route sim_audience_routes[] = {
    {"GET", "/control/channels/{id}/audience", c_audience_get, 0,
     "a channel's audience: the ground truth"},
    {"POST", "/control/channels/{id}/audience", c_audience_set, 0,
     "change a channel's audience model"},
    {"POST", "/control/channels/{id}/spike", c_spike, 0, "a burst of views, joins or leaves"},
    {"POST", "/control/channels/{id}/history", c_history, 0, "write a channel's past"},
};
const size_t sim_audience_nroutes = ARRAY_SIZE(sim_audience_routes);
