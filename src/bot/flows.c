/*
 * bot/flows: what the bot does with a private message, a button press or a
 * change of its own membership: commands, onboarding (language, then time
 * zone, then "what next"), settings, the dashboard login link, and the hand
 * over to bot/connect for channels.
 *
 * Conversation states (conversations.state; data.flow is "onboard" or
 * "settings" where both use a state):
 *   lang       waiting for a language button
 *   tz         waiting for a time zone button (or "type a city or zone")
 *   tz_search  waiting for a typed city or zone
 *   connect    waiting for a channel's @username after a bare /connect
 *   alert_*    adding an alert in /alerts (bot/alerts.c)
 *   post_*, queue_edit   /post and /queue's "Edit text" (bot/posting.c);
 *              a post forwarded in them is content, not a channel to connect
 * A button is honoured only in the state it was offered for; text where a
 * button was expected asks again with the keyboard.
 */
#include "bot/bot_impl.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "collect/collect.h"
#include "lib/clock.h"
#include "lib/i18n.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/store.h"
#include "tg/tg.h"

#define TEXT_MAX      4000
#define LOGIN_TTL_MIN 10
#define FLOW_ONBOARD  "onboard"
#define FLOW_SETTINGS "settings"

static const struct {
	const char *code, *name; /* each language named in itself, never translated */
} languages[] = {
    {"en", "English"},
    {"ru", "Русский"},
    {"uz", "O‘zbekcha"},
};

/* The common zones' cities, translated on the buttons. */
static const struct {
	const char *zone, *city;
} cities[] = {
    {"Europe/London", N_("London")},
    {"America/New_York", N_("New York")},
    {"Europe/Berlin", N_("Berlin")},
    {"Asia/Dubai", N_("Dubai")},
    {"Asia/Kolkata", N_("Kolkata")},
    {"America/Los_Angeles", N_("Los Angeles")},
    {"Europe/Moscow", N_("Moscow")},
    {"Europe/Kaliningrad", N_("Kaliningrad")},
    {"Asia/Yekaterinburg", N_("Yekaterinburg")},
    {"Asia/Novosibirsk", N_("Novosibirsk")},
    {"Asia/Almaty", N_("Almaty")},
    {"Asia/Tashkent", N_("Tashkent")},
    {"Asia/Samarkand", N_("Samarkand")},
};

static const char *language_name(const char *code)
{
	for (size_t i = 0; i < ARRAY_SIZE(languages); i++)
		if (strcmp(languages[i].code, code) == 0)
			return languages[i].name;
	return code;
}

static const char *flow_of(const struct bot_ctx *c)
{
	const char *f = json_string_value(json_object_get(c->conv.data, "flow"));

	return f && strcmp(f, FLOW_SETTINGS) == 0 ? FLOW_SETTINGS : FLOW_ONBOARD;
}

static int set_state(struct bot_ctx *c, const char *state, const char *flow)
{
	json_t *data = json_pack("{s:s}", "flow", flow ? flow : FLOW_ONBOARD);
	int rc = bot_conv_save(c->b->a->store, c->chat, state, data, c->e);

	json_decref(data);
	if (!rc)
		snprintf(c->conv.state, sizeof(c->conv.state), "%s", state);
	return rc;
}

static int clear_state(struct bot_ctx *c)
{
	int rc = 0;

	if (c->conv.state[0])
		rc = bot_conv_save(c->b->a->store, c->chat, "", NULL, c->e);
	if (!rc)
		c->conv.state[0] = '\0';
	return rc;
}

static bool in_state(const struct bot_ctx *c, const char *state)
{
	return strcmp(c->conv.state, state) == 0;
}

/* Copy at most max bytes of s, cut at a character boundary. */
static void excerpt(const char *s, size_t max, char *out, size_t outsz)
{
	bot_fmt(out, outsz < max + 1 ? outsz : max + 1, "%s", s);
}

static int ask_start(struct bot_ctx *c)
{
	return bot_say(c, _(c->lang, "Please send /start first, so I can set you up."), NULL);
}

/* ---- language --------------------------------------------------------- */

static json_t *language_keyboard(const char *preselected)
{
	json_t *kb = bot_kb_new(), *row = bot_kb_row(kb);
	char label[64];

	for (size_t i = 0; i < ARRAY_SIZE(languages); i++) {
		bool pre = preselected && strcmp(preselected, languages[i].code) == 0;

		snprintf(label, sizeof(label), "%s%s", pre ? "✓ " : "", languages[i].name);
		bot_kb_button(row, label, BOT_CB_LANG, languages[i].code, 0);
	}
	return kb;
}

static int ask_language(struct bot_ctx *c, const char *text)
{
	json_t *kb = language_keyboard(c->lang);
	int rc = bot_say(c, text, kb);

	json_decref(kb);
	return rc;
}

/* ---- time zone --------------------------------------------------------- */

static void zone_label(const char *lang, const char *zone, bool city, char *out, size_t outsz)
{
	char name[BOT_ZONE_MAX], off[16];
	const char *shown = zone;

	bot_zone_offset(zone, clock_now_ms(), off, sizeof(off));
	if (strcmp(zone, "UTC") == 0) {
		snprintf(out, outsz, "UTC");
		return;
	}
	if (city) {
		bot_zone_city(zone, name, sizeof(name));
		shown = name;
		for (size_t i = 0; i < ARRAY_SIZE(cities); i++)
			if (strcmp(cities[i].zone, zone) == 0)
				shown = _(lang, cities[i].city);
	}
	bot_fmt(out, outsz, "%s (%s)", shown, off);
}

static int ask_zone(struct bot_ctx *c, const char *text)
{
	const char *const *common = bot_zones_common(c->lang);
	json_t *kb = bot_kb_new(), *row = NULL;
	char label[128];
	int rc;

	for (size_t i = 0; common[i]; i++) {
		if (i % 2 == 0)
			row = bot_kb_row(kb);
		zone_label(c->lang, common[i], true, label, sizeof(label));
		bot_kb_button(row, label, BOT_CB_TZ, common[i], 0);
	}
	bot_kb_button(bot_kb_row(kb), _(c->lang, "🔎 Type a city or zone"), BOT_CB_TZ_SEARCH, NULL,
	              0);
	rc = bot_say(c, text, kb);
	json_decref(kb);
	return rc;
}

static int ask_zone_first(struct bot_ctx *c)
{
	return ask_zone(c, _(c->lang, "Choose your time zone. If yours is not here, tap “Type a "
	                              "city or zone” and type its name."));
}

static int ask_zone_search(struct bot_ctx *c)
{
	return bot_say(c,
	               _(c->lang, "Type the name of your city or time zone, for example: "
	                          "Tashkent, New York or Europe/Berlin. If your city is not "
	                          "found, type a bigger city nearby, in English."),
	               NULL);
}

static json_t *next_keyboard(const char *lang)
{
	json_t *kb = bot_kb_new(), *row = bot_kb_row(kb);

	bot_kb_button(row, _(lang, "Connect a channel"), BOT_CB_MENU, "connect", 0);
	row = bot_kb_row(kb);
	bot_kb_button(row, _(lang, "New post"), BOT_CB_MENU, "post", 0);
	bot_kb_button(row, _(lang, "Scheduled posts"), BOT_CB_MENU, "queue", 0);
	row = bot_kb_row(kb);
	bot_kb_button(row, _(lang, "My channels"), BOT_CB_MENU, "channels", 0);
	bot_kb_button(row, _(lang, "Help"), BOT_CB_MENU, "help", 0);
	return kb;
}

static const char *next_text(const char *lang)
{
	return _(lang, "Here is what you can do next:\n"
	               "• Connect a channel: add me to your channel as an administrator, forward "
	               "me any post from it, or send /connect @yourchannel.\n"
	               "• /channels shows your channels and their health.\n"
	               "• /post schedules a post; /queue lists the scheduled ones.\n"
	               "• /settings changes your language and time zone.\n"
	               "• /help lists every command.");
}

/* Send intro (may be "") followed by the "what next" screen. */
static int what_next(struct bot_ctx *c, const char *intro)
{
	char text[TEXT_MAX];
	json_t *kb = next_keyboard(c->lang);
	int rc;

	bot_fmt(text, sizeof(text), "%s%s%s", intro, *intro ? "\n\n" : "", next_text(c->lang));
	rc = bot_say(c, text, kb);
	json_decref(kb);
	return rc;
}

static int set_zone(struct bot_ctx *c, const char *zone)
{
	struct err *e = c->e;
	char text[512], off[16];
	bool settings = strcmp(flow_of(c), FLOW_SETTINGS) == 0;
	int rc;

	rc = users_update(c->b->a->store, c->u.id, NULL, NULL, zone, &c->u, e);
	if (!rc && !settings)
		rc = users_set_onboarded(c->b->a->store, c->u.id, e);
	if (!rc)
		rc = clear_state(c);
	if (rc)
		return rc;
	bot_zone_offset(zone, clock_now_ms(), off, sizeof(off));
	if (settings) {
		bot_fmt(text, sizeof(text), _(c->lang, "Time zone saved: %s (%s)."), zone, off);
		return bot_say(c, text, NULL);
	}
	bot_fmt(text, sizeof(text), _(c->lang, "Time zone set: %s (%s). You are all set!"), zone,
	        off);
	return what_next(c, text);
}

static int search_zone(struct bot_ctx *c, const char *text)
{
	const char *found[BOT_SEARCH_RESULT];
	char msg[1024], shown[BOT_QUERY_MAX + 1], label[128];
	size_t n = bot_zones_search(c->b->zones, text, found, BOT_SEARCH_RESULT);
	json_t *kb;
	int rc;

	if (n == 1)
		return set_zone(c, found[0]);
	excerpt(text, BOT_QUERY_MAX, shown, sizeof(shown));
	if (n == 0) {
		bot_fmt(msg, sizeof(msg),
		        _(c->lang, "I could not find a time zone for “%s”. Type a city such as "
		                   "Tashkent or London, or a zone such as Europe/Berlin."),
		        shown);
		return bot_say(c, msg, NULL);
	}
	bot_fmt(msg, sizeof(msg), _(c->lang, "Several time zones match “%s”. Choose yours:"),
	        shown);
	if (n > BOT_SEARCH_RESULT && strlen(msg) + 2 < sizeof(msg)) {
		size_t len = strlen(msg);

		msg[len++] = '\n';
		bot_fmt(msg + len, sizeof(msg) - len,
		        i18n_nget(c->lang,
		                  "%d time zone matches; here are the first ones. Type more of the "
		                  "name to narrow it down.",
		                  "%d time zones match; here are the first ones. Type more of the "
		                  "name to narrow them down.",
		                  n),
		        (int)n);
	}
	kb = bot_kb_new();
	for (size_t i = 0; i < n && i < BOT_SEARCH_RESULT; i++) {
		zone_label(c->lang, found[i], false, label, sizeof(label));
		bot_kb_button(bot_kb_row(kb), label, BOT_CB_TZ, found[i], 0);
	}
	rc = bot_say(c, msg, kb);
	json_decref(kb);
	return rc;
}

/* ---- commands ---------------------------------------------------------- */

/* The commands Telegram's apps offer in their menu (setMyCommands), in
 * the order of /help. */
static const struct {
	const char *command, *description;
} menu[] = {
    {"start", N_("Set up Herald, or show what to do next")},
    {"connect", N_("Connect a channel")},
    {"channels", N_("Your channels and their health")},
    {"stats", N_("A channel's statistics with a chart")},
    {"post", N_("Schedule a post")},
    {"queue", N_("Your scheduled posts")},
    {"settings", N_("Language and time zone")},
    {"plans", N_("Plans, their limits and prices")},
    {"subscribe", N_("Buy a plan")},
    {"billing", N_("Your subscription and payments")},
    {"login", N_("A one-time link to the web dashboard")},
    {"cancel", N_("Stop what we are doing")},
    {"help", N_("What I can do")},
};

int bot_set_commands(struct tg_client *tg, struct err *e)
{
	for (size_t l = 0; i18n_languages[l]; l++) {
		const char *lang = i18n_languages[l];
		json_t *cmds = json_array(), *params;
		struct tg_error te = {0};
		int rc;

		for (size_t i = 0; i < ARRAY_SIZE(menu); i++)
			json_array_append_new(cmds, json_pack("{s:s, s:s}", "command",
			                                      menu[i].command, "description",
			                                      _(lang, menu[i].description)));
		params = json_pack("{s:o}", "commands", cmds);
		/* English is also the list of every language without its own */
		if (strcmp(lang, I18N_DEFAULT) != 0)
			json_object_set_new(params, "language_code", json_string(lang));
		rc = tg_call(tg, "setMyCommands", params, NULL, 0, NULL, &te);
		json_decref(params);
		if (rc)
			return err_set(e, -rc, "setMyCommands (%s): %s", lang, te.err.msg);
	}
	return 0;
}

int bot_send_help(struct bot_ctx *c)
{
	return bot_say(c,
	               _(c->lang, "Here is what I can do:\n"
	                          "/start — set up Herald, or show what to do next\n"
	                          "/connect @channel — connect a channel\n"
	                          "/channels — your channels and their health\n"
	                          "/stats — a channel's statistics with a chart\n"
	                          "/post — schedule a post\n"
	                          "/queue — your scheduled posts: edit or cancel them\n"
	                          "/settings — language and time zone\n"
	                          "/plans — plans, their limits and prices\n"
	                          "/subscribe — buy a plan\n"
	                          "/billing — your subscription and payments\n"
	                          "/alerts — alerts: view spikes, a quiet channel, growth, "
	                          "failed posts\n"
	                          "/login — a one-time link to the web dashboard\n"
	                          "/cancel — stop what we are doing\n"
	                          "/help — this list"),
	               NULL);
}

static void display_name(const json_t *from, char *out, size_t outsz)
{
	const char *first = json_string_value(json_object_get(from, "first_name"));
	const char *last = json_string_value(json_object_get(from, "last_name"));

	bot_fmt(out, outsz, "%s%s%s", first ? first : "", first && last ? " " : "",
	        last ? last : "");
}

static int cmd_start(struct bot_ctx *c)
{
	struct store *st = c->b->a->store;
	char name[USERS_NAME_MAX + 1];
	int rc;

	if (!c->known) {
		display_name(c->from, name, sizeof(name));
		rc = users_add(st, c->user_tg, name, &c->u, c->e);
		if (rc == -ERR_EXISTS) /* a race with another node: the row is there */
			rc = users_get_by_telegram(st, c->user_tg, &c->u, c->e);
		if (!rc && strcmp(c->u.language, c->lang) != 0)
			rc = users_update(st, c->u.id, NULL, c->lang, NULL, &c->u, c->e);
		if (rc)
			return rc;
		c->known = true;
		log_info("msg=\"user registered\" user=%lld", (long long)c->u.id);
	}
	if (c->u.onboarded_at) {
		rc = clear_state(c);
		return rc ? rc : what_next(c, _(c->lang, "Welcome back!"));
	}
	rc = set_state(c, "lang", FLOW_ONBOARD);
	if (rc)
		return rc;
	return ask_language(c, _(c->lang, "Welcome to Herald! I help you run your Telegram "
	                                  "channels: scheduled posts, analytics and alerts.\n\n"
	                                  "First, choose your language:"));
}

static int cmd_settings(struct bot_ctx *c)
{
	char text[512], off[16];
	json_t *kb = bot_kb_new(), *row = bot_kb_row(kb);
	int rc = clear_state(c);

	if (!rc) {
		bot_zone_offset(c->u.time_zone, clock_now_ms(), off, sizeof(off));
		bot_fmt(text, sizeof(text),
		        _(c->lang, "Your settings:\nLanguage: %s\nTime zone: %s (%s)"),
		        language_name(c->lang), c->u.time_zone, off);
		bot_kb_button(row, _(c->lang, "Change language"), BOT_CB_SETTINGS, "lang", 0);
		bot_kb_button(row, _(c->lang, "Change time zone"), BOT_CB_SETTINGS, "tz", 0);
		rc = bot_say(c, text, kb);
	}
	json_decref(kb);
	return rc;
}

static int cmd_login(struct bot_ctx *c)
{
	const char *pub = app_str(c->b->a, SET_PUBLIC_URL);
	char token[USERS_TOKEN_SIZE], base[512], mins[64], text[1024];
	size_t n;
	int rc;

	rc = users_login_create(c->b->a->store, c->u.id, (int64_t)LOGIN_TTL_MIN * 60 * 1000, token,
	                        c->e);
	if (rc)
		return rc;
	if (pub)
		snprintf(base, sizeof(base), "%s", pub);
	else
		snprintf(base, sizeof(base), "http://%s", app_str(c->b->a, SET_LISTEN));
	n = strlen(base);
	while (n && base[n - 1] == '/')
		base[--n] = '\0';
	bot_fmt(mins, sizeof(mins), i18n_nget(c->lang, "%d minute", "%d minutes", LOGIN_TTL_MIN),
	        LOGIN_TTL_MIN);
	bot_fmt(text, sizeof(text),
	        _(c->lang,
	          "Here is your sign-in link for the Herald dashboard:\n%s/login?token=%s\n\n"
	          "It works once and expires in %s. Do not share it."),
	        base, token, mins);
	return bot_say(c, text, NULL);
}

static int cmd_cancel(struct bot_ctx *c)
{
	bool busy = c->conv.state[0] != '\0';
	int rc = clear_state(c);

	if (rc)
		return rc;
	return bot_say(
	    c, busy ? _(c->lang, "OK, cancelled.") : _(c->lang, "There is nothing to cancel."),
	    NULL);
}

static int command(struct bot_ctx *c, const struct bot_cmd *cmd)
{
	char text[512];

	if (strcmp(cmd->name, "start") == 0)
		return cmd_start(c);
	if (strcmp(cmd->name, "help") == 0)
		return bot_send_help(c);
	if (!c->known)
		return ask_start(c);
	if (strcmp(cmd->name, "settings") == 0)
		return cmd_settings(c);
	if (strcmp(cmd->name, "login") == 0)
		return cmd_login(c);
	if (strcmp(cmd->name, "connect") == 0) {
		int rc = clear_state(c);

		return rc ? rc : bot_cmd_connect(c, cmd->arg);
	}
	if (strcmp(cmd->name, "channels") == 0)
		return bot_cmd_channels(c);
	if (strcmp(cmd->name, "post") == 0)
		return bot_cmd_post(c);
	if (strcmp(cmd->name, "queue") == 0)
		return bot_cmd_queue(c);
	if (strcmp(cmd->name, "cancel") == 0)
		return cmd_cancel(c);
	if (strcmp(cmd->name, "plans") == 0)
		return bot_cmd_plans(c);
	if (strcmp(cmd->name, "subscribe") == 0)
		return bot_cmd_subscribe(c);
	if (strcmp(cmd->name, "billing") == 0)
		return bot_cmd_billing(c);
	if (strcmp(cmd->name, "alerts") == 0)
		return bot_cmd_alerts(c);
	if (strcmp(cmd->name, "stats") == 0)
		return bot_cmd_stats(c);
	if (cmd->name[0])
		bot_fmt(
		    text, sizeof(text),
		    _(c->lang, "I do not know the command /%s. Send /help to see what I can do."),
		    cmd->name);
	else
		bot_fmt(
		    text, sizeof(text), "%s",
		    _(c->lang, "That is not a command I know. Send /help to see what I can do."));
	return bot_say(c, text, NULL);
}

/* Text (or something else) arrived where a button was expected. */
static int ask_again(struct bot_ctx *c)
{
	if (in_state(c, "lang"))
		return ask_language(c,
		                    _(c->lang, "Please choose a language with the buttons below."));
	return ask_zone(c, _(c->lang, "Please choose your time zone with the buttons below, or tap "
	                              "“Type a city or zone”."));
}

/* ---- messages ---------------------------------------------------------- */

/* The channel a message was forwarded from, if it was. */
static int64_t forwarded_channel(const json_t *msg, const char **title)
{
	const json_t *o = json_object_get(msg, "forward_origin"), *chat = NULL;
	const char *type;

	if (json_is_object(o)) {
		type = json_string_value(json_object_get(o, "type"));
		if (type && strcmp(type, "channel") == 0)
			chat = json_object_get(o, "chat");
	} else {
		chat = json_object_get(msg, "forward_from_chat");
	}
	type = json_string_value(json_object_get(chat, "type"));
	if (!type || strcmp(type, "channel") != 0)
		return 0;
	*title = json_string_value(json_object_get(chat, "title"));
	return json_is_integer(json_object_get(chat, "id"))
	           ? (int64_t)json_integer_value(json_object_get(chat, "id"))
	           : 0;
}

static int message_in(struct bot_ctx *c, const json_t *msg)
{
	const char *text = json_string_value(json_object_get(msg, "text")), *title = NULL;
	int64_t fwd = forwarded_channel(msg, &title);
	bool posting = c->known && bot_posting_state(c);
	struct bot_cmd cmd;

	/* Telegram's service messages about Stars: not a conversation's input */
	if (json_is_object(json_object_get(msg, "successful_payment")) ||
	    json_is_object(json_object_get(msg, "refunded_payment")))
		return bot_on_payment_message(c, msg);
	/* a post forwarded while composing is the post's content */
	if (fwd && !posting) {
		if (!c->known)
			return ask_start(c);
		return bot_on_forward(c, fwd, title);
	}
	if (!fwd && text && bot_parse_command(text, NULL, &cmd))
		return command(c, &cmd);
	if (!c->known)
		return ask_start(c);
	if (posting)
		return bot_posting_message(c, msg);
	if (bot_alerts_state(c))
		return bot_alerts_message(c, msg);
	if (in_state(c, "lang") || in_state(c, "tz"))
		return ask_again(c);
	if (in_state(c, "tz_search")) {
		if (!text)
			return ask_zone_search(c);
		return search_zone(c, text);
	}
	if (in_state(c, "connect") && text)
		return bot_connect_text(c, str_c(text));
	return bot_say(
	    c,
	    text ? _(c->lang, "I did not understand that. Send /help to see what I can do.")
	         : _(c->lang, "I understand text and commands only. Send /help to see "
	                      "what I can do."),
	    NULL);
}

static int on_message(struct bot *b, const json_t *msg, struct err *e)
{
	const json_t *chat = json_object_get(msg, "chat"), *from = json_object_get(msg, "from");
	const char *type = json_string_value(json_object_get(chat, "type"));
	struct bot_ctx c;
	int rc;

	/* groups and channels are not conversations (yet) */
	if (!type || strcmp(type, "private") != 0 || !json_is_object(from) ||
	    !json_is_integer(json_object_get(chat, "id")))
		return 0;
	rc = bot_ctx_init(&c, b, from, (int64_t)json_integer_value(json_object_get(chat, "id")), e);
	if (rc == -ERR_INVALID)
		rc = 0; /* no sender: nobody to answer */
	else if (!rc && c.known && c.u.bot_blocked_at) {
		/* they write to us: reachable again */
		rc = users_set_blocked(b->a->store, c.user_tg, 0, e);
		c.u.bot_blocked_at = 0;
	}
	if (!rc && c.user_tg)
		rc = message_in(&c, msg);
	bot_ctx_release(&c);
	return rc;
}

/* ---- buttons ----------------------------------------------------------- */

int bot_stale(struct bot_ctx *c)
{
	return bot_say(c,
	               _(c->lang, "This button belongs to a step that is already finished. Send "
	                          "/start or /help to go on."),
	               NULL);
}

static int choose_language(struct bot_ctx *c, const char *lang)
{
	char text[256];
	bool settings = strcmp(flow_of(c), FLOW_SETTINGS) == 0;
	int rc = users_update(c->b->a->store, c->u.id, NULL, lang, NULL, &c->u, c->e);

	if (rc)
		return rc;
	c->lang = i18n_match(lang);
	if (settings) {
		rc = clear_state(c);
		if (rc)
			return rc;
		bot_fmt(text, sizeof(text), _(c->lang, "Language saved: %s."),
		        language_name(c->lang));
		return bot_say(c, text, NULL);
	}
	rc = set_state(c, "tz", FLOW_ONBOARD);
	return rc ? rc : ask_zone_first(c);
}

static int button(struct bot_ctx *c, const struct bot_cb *cb)
{
	bool zone_step = in_state(c, "tz") || in_state(c, "tz_search");
	int rc;

	switch (cb->action) {
	case BOT_CB_LANG:
		return in_state(c, "lang") ? choose_language(c, cb->arg) : bot_stale(c);
	case BOT_CB_TZ:
		return zone_step ? set_zone(c, cb->arg) : bot_stale(c);
	case BOT_CB_TZ_SEARCH:
		if (!zone_step)
			return bot_stale(c);
		rc = set_state(c, "tz_search", flow_of(c));
		return rc ? rc : ask_zone_search(c);
	case BOT_CB_SETTINGS:
		if (strcmp(cb->arg, "lang") == 0) {
			rc = set_state(c, "lang", FLOW_SETTINGS);
			return rc ? rc : ask_language(c, _(c->lang, "Choose your language:"));
		}
		rc = set_state(c, "tz", FLOW_SETTINGS);
		return rc ? rc : ask_zone_first(c);
	case BOT_CB_MENU:
		rc = clear_state(c);
		if (rc)
			return rc;
		if (strcmp(cb->arg, "connect") == 0)
			return bot_cmd_connect(c, (struct str){"", 0});
		if (strcmp(cb->arg, "channels") == 0)
			return bot_cmd_channels(c);
		if (strcmp(cb->arg, "post") == 0)
			return bot_cmd_post(c);
		if (strcmp(cb->arg, "queue") == 0)
			return bot_cmd_queue(c);
		if (strcmp(cb->arg, "plans") == 0)
			return bot_cmd_plans(c);
		if (strcmp(cb->arg, "subscribe") == 0)
			return bot_cmd_subscribe(c);
		if (strcmp(cb->arg, "billing") == 0)
			return bot_cmd_billing(c);
		return bot_send_help(c);
	case BOT_CB_POST:
	case BOT_CB_POST_CH:
	case BOT_CB_Q_EDIT:
	case BOT_CB_Q_CANCEL:
	case BOT_CB_Q_CANCEL_YES:
	case BOT_CB_Q_CANCEL_NO:
	case BOT_CB_RESEND:
	case BOT_CB_PUBLISHED:
		return bot_on_posting_cb(c, cb);
	case BOT_CB_BUY:
	case BOT_CB_BILLING:
		return bot_on_billing_cb(c, cb);
	case BOT_CB_ALERT:
		return bot_on_alerts_cb(c, cb);
	case BOT_CB_STATS:
	case BOT_CB_REPORT:
		return bot_on_stats_cb(c, cb);
	default:
		return bot_on_channel_cb(c, cb);
	}
}

static int on_callback(struct bot *b, const json_t *q, struct err *e)
{
	const json_t *from = json_object_get(q, "from"), *data = json_object_get(q, "data");
	const char *id = json_string_value(json_object_get(q, "id"));
	struct tg_error te = {0};
	struct bot_ctx c;
	struct bot_cb cb;
	int rc;

	/* stop the button's spinner whatever follows; a late answer is harmless */
	if (id && tg_answer_callback_query(b->tg, id, NULL, false, &te))
		log_debug("msg=\"callback not answered\" err=\"%s\"", te.err.msg);
	rc = bot_ctx_init(&c, b, from, json_integer_value(json_object_get(from, "id")), e);
	if (rc == -ERR_INVALID) {
		bot_ctx_release(&c);
		return 0;
	}
	if (!rc) {
		c.cb_message = (int64_t)json_integer_value(
		    json_object_get(json_object_get(q, "message"), "message_id"));
		if (!json_is_string(data) ||
		    bot_cb_parse(json_string_value(data), json_string_length(data), &cb))
			rc =
			    bot_say(&c,
			            _(c.lang, "This button is not valid (it may come from an older "
			                      "message). Send /help to see what I can do."),
			            NULL);
		else if (!c.known)
			rc = ask_start(&c);
		else
			rc = button(&c, &cb);
	}
	bot_ctx_release(&c);
	return rc;
}

/* ---- membership -------------------------------------------------------- */

static int on_my_member(struct bot *b, const json_t *cmu, struct err *e)
{
	const json_t *chat = json_object_get(cmu, "chat");
	const char *type = json_string_value(json_object_get(chat, "type"));
	const char *status =
	    json_string_value(json_object_get(json_object_get(cmu, "new_chat_member"), "status"));
	int64_t id = json_integer_value(json_object_get(chat, "id"));

	if (!type || !status)
		return 0;
	if (strcmp(type, "private") == 0) {
		/* kicked: the user blocked the bot; member: unblocked it */
		if (id <= 0 || (strcmp(status, "kicked") != 0 && strcmp(status, "member") != 0))
			return 0;
		log_info("msg=\"user %s the bot\" chat=%lld",
		         strcmp(status, "kicked") == 0 ? "blocked" : "unblocked", (long long)id);
		return users_set_blocked(b->a->store, id, strcmp(status, "kicked") == 0, e);
	}
	if (strcmp(type, "channel") == 0)
		return bot_on_my_member_channel(b, cmu, e);
	return 0;
}

int bot_handle(struct bot *b, const json_t *upd, struct err *e)
{
	struct bot_route r;

	if (bot_route_update(upd, &r, e))
		return -ERR_INVALID;
	switch (r.kind) {
	case BOT_UPD_MESSAGE:
		return on_message(b, json_object_get(upd, "message"), e);
	case BOT_UPD_CALLBACK:
		return on_callback(b, json_object_get(upd, "callback_query"), e);
	case BOT_UPD_MY_MEMBER:
		return on_my_member(b, json_object_get(upd, "my_chat_member"), e);
	case BOT_UPD_PRE_CHECKOUT:
		return bot_on_pre_checkout(b, json_object_get(upd, "pre_checkout_query"), e);
	case BOT_UPD_CHANNEL_POST:
	case BOT_UPD_REACTIONS:
	case BOT_UPD_CHAT_MEMBER:
		return collect_update(b->a, upd, e);
	default:
		return 0; /* recorded; nothing to do with it yet */
	}
}
