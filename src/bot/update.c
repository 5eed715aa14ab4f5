/*
 * bot/update: pure functions over what arrives from outside: an update's
 * routing (kind, chat key, lane), a command's name and argument, callback
 * data (versioned, bounded, each argument checked against its action's
 * grammar) and a channel reference typed by a user. Nothing here touches the
 * store or the network, so all of it is unit tested.
 */
#include "bot/bot_impl.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "billing/billing.h"
#include "lib/i18n.h"
#include "lib/mem.h"
#include "lib/tz.h"

#define CB_VERSION "1"
/* The alerts' "Open report" button: its own prefix, not versioned. */

static const struct {
	const char *field;
	enum bot_kind kind;
} kinds[] = {
    {"message", BOT_UPD_MESSAGE},
    {"edited_message", BOT_UPD_EDITED_MESSAGE},
    {"callback_query", BOT_UPD_CALLBACK},
    {"my_chat_member", BOT_UPD_MY_MEMBER},
    {"chat_member", BOT_UPD_CHAT_MEMBER},
    {"channel_post", BOT_UPD_CHANNEL_POST},
    {"edited_channel_post", BOT_UPD_CHANNEL_POST},
    {"message_reaction_count", BOT_UPD_REACTIONS},
    {"message_reaction", BOT_UPD_REACTIONS},
    {"pre_checkout_query", BOT_UPD_PRE_CHECKOUT},
};

static int64_t int_at(const json_t *obj, const char *a, const char *b)
{
	const json_t *v = json_object_get(obj, a);

	if (b)
		v = json_object_get(v, b);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

unsigned bot_lane_of(int64_t chat_key)
{
	/* splitmix64's finaliser: neighbouring ids land on different lanes */
	uint64_t x = (uint64_t)chat_key;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (unsigned)(x % BOT_LANES);
}

int bot_route_update(const json_t *upd, struct bot_route *out, struct err *e)
{
	const json_t *id = json_object_get(upd, "update_id"), *body = NULL;
	const char *chat_type;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(upd))
		return err_set(e, ERR_INVALID, "an update is a JSON object");
	if (!json_is_integer(id) || json_integer_value(id) < 0)
		return err_set(e, ERR_INVALID, "an update needs an integer update_id");
	out->update_id = (int64_t)json_integer_value(id);
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		body = json_object_get(upd, kinds[i].field);
		if (json_is_object(body)) {
			out->kind = kinds[i].kind;
			break;
		}
		body = NULL;
	}
	switch (out->kind) {
	case BOT_UPD_MESSAGE:
	case BOT_UPD_EDITED_MESSAGE:
	case BOT_UPD_CHAT_MEMBER:
	case BOT_UPD_CHANNEL_POST:
	case BOT_UPD_REACTIONS:
		out->chat_key = int_at(body, "chat", "id");
		break;
	case BOT_UPD_CALLBACK:
	case BOT_UPD_PRE_CHECKOUT:
		out->chat_key = int_at(body, "from", "id");
		break;
	case BOT_UPD_MY_MEMBER:
		/* private: the user's own chat; a channel or group: whoever changed
		 * the bot's status, whose confirmation it leads to */
		chat_type =
		    json_string_value(json_object_get(json_object_get(body, "chat"), "type"));
		if (chat_type && strcmp(chat_type, "private") == 0)
			out->chat_key = int_at(body, "chat", "id");
		else
			out->chat_key = int_at(body, "from", "id");
		break;
	case BOT_UPD_OTHER:
		break;
	}
	out->lane = bot_lane_of(out->chat_key);
	return 0;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool bot_parse_command(const char *text, const char *bot_username, struct bot_cmd *out)
{
	const char *p = text, *name, *at = NULL;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!text || text[0] != '/')
		return false;
	name = ++p;
	while (*p && !is_space(*p) && *p != '@')
		p++;
	n = (size_t)(p - name);
	if (*p == '@') {
		at = ++p;
		while (*p && !is_space(*p))
			p++;
		if (bot_username && *bot_username &&
		    !(strlen(bot_username) == (size_t)(p - at) &&
		      strncasecmp(at, bot_username, (size_t)(p - at)) == 0))
			return false;
	}
	if (n >= 1 && n <= BOT_CMD_MAX) {
		bool ok = true;

		for (size_t i = 0; i < n; i++)
			ok &= is_name_char(name[i]);
		if (ok)
			for (size_t i = 0; i < n; i++)
				out->name[i] =
				    (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a'
				                                            : name[i]);
	}
	out->arg = str_trim(str_c(p));
	return true;
}

static const char *const cb_names[BOT_CB__COUNT] = {
    [BOT_CB_LANG] = "lang",        [BOT_CB_TZ] = "tz",           [BOT_CB_TZ_SEARCH] = "tzs",
    [BOT_CB_CONNECT] = "cx",       [BOT_CB_IGNORE] = "ci",       [BOT_CB_CHECK] = "chk",
    [BOT_CB_REMOVE] = "rm",        [BOT_CB_REMOVE_YES] = "rmy",  [BOT_CB_REMOVE_NO] = "rmn",
    [BOT_CB_SETTINGS] = "set",     [BOT_CB_MENU] = "menu",       [BOT_CB_POST] = "pst",
    [BOT_CB_POST_CH] = "pch",      [BOT_CB_Q_EDIT] = "qe",       [BOT_CB_Q_CANCEL] = "qc",
    [BOT_CB_Q_CANCEL_YES] = "qcy", [BOT_CB_Q_CANCEL_NO] = "qcn", [BOT_CB_RESEND] = "dr",
    [BOT_CB_PUBLISHED] = "dp",     [BOT_CB_BUY] = "buy",         [BOT_CB_BILLING] = "bil",
    [BOT_CB_ALERT] = "al",         [BOT_CB_REPORT] = "rpt",      [BOT_CB_STATS] = "st",
};

enum arg_kind {
	ARG_NONE,
	ARG_LANG,
	ARG_ZONE,
	ARG_CHAT,
	ARG_ID,
	ARG_SETTING,
	ARG_MENU,
	ARG_STEP,
	ARG_BUY,
	ARG_BILLING,
	ARG_ALERT,
	ARG_STATS
};

static enum arg_kind arg_of(enum bot_cb_action a)
{
	switch (a) {
	case BOT_CB_LANG:
		return ARG_LANG;
	case BOT_CB_TZ:
		return ARG_ZONE;
	case BOT_CB_TZ_SEARCH:
		return ARG_NONE;
	case BOT_CB_CONNECT:
	case BOT_CB_IGNORE:
		return ARG_CHAT;
	case BOT_CB_CHECK:
	case BOT_CB_REMOVE:
	case BOT_CB_REMOVE_YES:
	case BOT_CB_REMOVE_NO:
	case BOT_CB_POST_CH:
	case BOT_CB_Q_EDIT:
	case BOT_CB_Q_CANCEL:
	case BOT_CB_Q_CANCEL_YES:
	case BOT_CB_Q_CANCEL_NO:
	case BOT_CB_RESEND:
	case BOT_CB_PUBLISHED:
	case BOT_CB_REPORT:
		return ARG_ID;
	case BOT_CB_SETTINGS:
		return ARG_SETTING;
	case BOT_CB_POST:
		return ARG_STEP;
	case BOT_CB_BUY:
		return ARG_BUY;
	case BOT_CB_BILLING:
		return ARG_BILLING;
	case BOT_CB_ALERT:
		return ARG_ALERT;
	case BOT_CB_STATS:
		return ARG_STATS;
	case BOT_CB_MENU:
	case BOT_CB__COUNT:
		break;
	}
	return ARG_MENU;
}

static bool one_of(struct str s, const char *const *list)
{
	for (; *list; list++)
		if (str_eqc(s, *list))
			return true;
	return false;
}

static bool zone_chars(struct str s)
{
	if (s.len == 0 || s.len >= BOT_ZONE_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (!is_name_char(c) && c != '/' && c != '-' && c != '+')
			return false;
	}
	return true;
}

/* An integer written the one way encode writes it: no '+', no leading zero. */
static bool canonical_int(struct str s)
{
	size_t i = s.len && s.p[0] == '-' ? 1 : 0;

	return i < s.len && s.p[i] >= '1' && s.p[i] <= '9';
}

/* Check arg against the grammar of kind; fill out->id or out->arg. */
static int check_arg(enum arg_kind kind, struct str arg, bool present, struct bot_cb *out)
{
	static const char *const settings[] = {"lang", "tz", NULL};
	static const char *const menus[] = {"connect", "channels",  "help",    "post", "queue",
	                                    "plans",   "subscribe", "billing", NULL};
	static const char *const billing[] = {"cancel", "cancel_yes", "cancel_no", NULL};
	static const char *const steps[] = {"done", "addbtn", "nobtn",  "chok", "now", "1h",
	                                    "t09",  "t18",    "silent", "pin",  "del", "repeat",
	                                    "go",   "cancel", "time",   NULL};
	struct bot_stats_arg stats;
	struct bot_buy buy;
	char zone[BOT_ZONE_MAX];

	if (kind == ARG_NONE)
		return present ? -ERR_INVALID : 0;
	if (!present)
		return -ERR_INVALID;
	switch (kind) {
	case ARG_LANG:
		if (arg.len >= 8)
			return -ERR_INVALID;
		memcpy(out->arg, arg.p, arg.len);
		if (!i18n_supported(out->arg))
			return -ERR_INVALID;
		return 0;
	case ARG_ZONE:
		if (!zone_chars(arg))
			return -ERR_INVALID;
		memcpy(zone, arg.p, arg.len);
		zone[arg.len] = '\0';
		if (!tz_valid(zone))
			return -ERR_INVALID;
		memcpy(out->arg, arg.p, arg.len);
		return 0;
	case ARG_CHAT:
		/* a chat id is never 0, and is written without "+" or leading zeros */
		if (!canonical_int(arg) ||
		    str_to_i64(arg, -(INT64_C(1) << 53), INT64_C(1) << 53, &out->id))
			return -ERR_INVALID;
		return 0;
	case ARG_ID:
		if (!canonical_int(arg) || str_to_i64(arg, 1, INT64_MAX, &out->id))
			return -ERR_INVALID;
		return 0;
	case ARG_SETTING:
		if (!one_of(arg, settings))
			return -ERR_INVALID;
		memcpy(out->arg, arg.p, arg.len);
		return 0;
	case ARG_MENU:
		if (!one_of(arg, menus))
			return -ERR_INVALID;
		memcpy(out->arg, arg.p, arg.len);
		return 0;
	case ARG_STEP:
		if (!one_of(arg, steps))
			return -ERR_INVALID;
		memcpy(out->arg, arg.p, arg.len);
		return 0;
	case ARG_BUY:
		if (bot_buy_parse(arg, &buy))
			return -ERR_INVALID;
		memcpy(out->arg, arg.p, arg.len);
		return 0;
	case ARG_BILLING:
		if (!one_of(arg, billing))
			return -ERR_INVALID;
		memcpy(out->arg, arg.p, arg.len);
		return 0;
	case ARG_ALERT: {
		struct bot_alert_cb al;

		if (bot_alert_parse(arg, &al))
			return -ERR_INVALID;
		memcpy(out->arg, arg.p, arg.len);
		return 0;
	}
	case ARG_STATS:
		if (bot_stats_arg_parse(arg, &stats))
			return -ERR_INVALID;
		memcpy(out->arg, arg.p, arg.len);
		return 0;
	case ARG_NONE:
		break;
	}
	return -ERR_INVALID;
}

int bot_cb_parse(const char *data, size_t len, struct bot_cb *out)
{
	struct str s = {data, len}, version, action;
	bool has_arg;

	memset(out, 0, sizeof(*out));
	if (!data || len == 0 || len > BOT_CB_MAX || memchr(data, '\0', len))
		return -ERR_INVALID;
	if (!str_split(&s, ':', &version) || !str_eqc(version, CB_VERSION))
		return -ERR_INVALID;
	has_arg = str_split(&s, ':', &action);
	for (int i = 0; i < BOT_CB__COUNT; i++) {
		if (!cb_names[i] || !str_eqc(action, cb_names[i]))
			continue;
		out->action = (enum bot_cb_action)i;
		if (check_arg(arg_of(out->action), s, has_arg, out)) {
			memset(out, 0, sizeof(*out));
			return -ERR_INVALID;
		}
		return 0;
	}
	return -ERR_INVALID;
}

int bot_cb_encode(char out[BOT_CB_MAX + 1], enum bot_cb_action action, const char *arg, int64_t id)
{
	enum arg_kind kind;
	struct bot_cb check;
	char tmp[128];
	int n;

	out[0] = '\0';
	if ((int)action < 0 || action >= BOT_CB__COUNT)
		return -ERR_INVALID;
	kind = arg_of(action);
	if (kind == ARG_NONE)
		n = snprintf(tmp, sizeof(tmp), CB_VERSION ":%s", cb_names[action]);
	else if (kind == ARG_CHAT || kind == ARG_ID)
		n = snprintf(tmp, sizeof(tmp), CB_VERSION ":%s:%lld", cb_names[action],
		             (long long)id);
	else
		n = snprintf(tmp, sizeof(tmp), CB_VERSION ":%s:%s", cb_names[action],
		             arg ? arg : "");
	if (n < 0 || (size_t)n >= sizeof(tmp) || n > BOT_CB_MAX)
		return -ERR_TOO_BIG;
	/* only data the parser accepts is ever put on a button */
	if (bot_cb_parse(tmp, (size_t)n, &check))
		return -ERR_INVALID;
	memcpy(out, tmp, (size_t)n + 1);
	return 0;
}

int bot_parse_number(struct str s, double *out, bool *integer)
{
	double v = 0, scale = 1;
	size_t digits = 0, frac = 0, i = 0;

	s = str_trim(s);
	for (; i < s.len && s.p[i] != '.' && s.p[i] != ','; i++) {
		if (s.p[i] == ' ' && i > 0 && i + 1 < s.len && s.p[i + 1] >= '0' &&
		    s.p[i + 1] <= '9' && s.p[i - 1] != ' ')
			continue;
		if (s.p[i] < '0' || s.p[i] > '9' || ++digits > 10)
			return -ERR_INVALID;
		v = v * 10 + (s.p[i] - '0');
	}
	if (digits == 0)
		return -ERR_INVALID;
	if (i < s.len) {
		for (i++; i < s.len; i++) {
			if (s.p[i] < '0' || s.p[i] > '9' || ++frac > 3)
				return -ERR_INVALID;
			scale /= 10;
			v += (s.p[i] - '0') * scale;
		}
		if (frac == 0)
			return -ERR_INVALID;
	}
	*out = v;
	*integer = frac == 0;
	return 0;
}

/* A preset number on a button: digits, optionally '.' and 1-3 more; no
 * spaces or commas (bot_parse_number checks the rest). */
static bool preset_ok(struct str s)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] == ' ' || s.p[i] == ',')
			return false;
	/* written one way: no leading zero ("05"), as num_text writes it */
	return s.len > 0 && s.len <= 14 && !(s.p[0] == '0' && s.len > 1 && s.p[1] != '.');
}

int bot_alert_parse(struct str s, struct bot_alert_cb *out)
{
	static const struct {
		const char *name;
		enum bot_alert_verb verb;
	} verbs[] = {{"ch", BOT_AL_CHANNEL}, {"k", BOT_AL_KIND},        {"v", BOT_AL_VALUE},
	             {"mute", BOT_AL_MUTE},  {"unmute", BOT_AL_UNMUTE}, {"del", BOT_AL_REMOVE}};
	static const char *const alert_kinds[] = {"spike", "quiet", "growth", "milestone",
	                                          "delivery"};
	struct str verb;
	bool integer;

	memset(out, 0, sizeof(*out));
	if (str_eqc(s, "list") || str_eqc(s, "add")) {
		out->verb = str_eqc(s, "list") ? BOT_AL_LIST : BOT_AL_ADD;
		return 0;
	}
	if (!str_split(&s, '.', &verb))
		goto bad;
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (!str_eqc(verb, verbs[i].name))
			continue;
		out->verb = verbs[i].verb;
		if (out->verb == BOT_AL_KIND) {
			for (size_t k = 0; k < ARRAY_SIZE(alert_kinds); k++)
				if (str_eqc(s, alert_kinds[k])) {
					out->kind = (int)k;
					return 0;
				}
			goto bad;
		}
		if (out->verb == BOT_AL_VALUE) {
			if (!preset_ok(s) || bot_parse_number(s, &out->value, &integer))
				goto bad;
			return 0;
		}
		if (!canonical_int(s) || s.p[0] == '-' || str_to_i64(s, 1, INT64_MAX, &out->id))
			goto bad;
		return 0;
	}
bad:
	memset(out, 0, sizeof(*out));
	return -ERR_INVALID;
}

/* A plan id as the store keeps them: 1-15 of [a-z0-9_]. */
static bool plan_id_ok(struct str s)
{
	if (s.len == 0 || s.len > 15)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

int bot_buy_parse(struct str s, struct bot_buy *out)
{
	static const char *const periods[] = {"month", "year", NULL};
	struct str plan, period;
	enum billing_provider p;

	memset(out, 0, sizeof(*out));
	if (!str_split(&s, '.', &plan)) {
		if (!plan_id_ok(plan))
			goto bad;
		memcpy(out->plan, plan.p, plan.len);
		return 0;
	}
	if (!plan_id_ok(plan))
		goto bad;
	memcpy(out->plan, plan.p, plan.len);
	if (!str_split(&s, '.', &period)) {
		if (!one_of(period, periods))
			goto bad;
		memcpy(out->period, period.p, period.len);
		return 0;
	}
	if (!one_of(period, periods) || s.len == 0 || s.len >= sizeof(out->provider))
		goto bad;
	memcpy(out->period, period.p, period.len);
	memcpy(out->provider, s.p, s.len);
	if (billing_provider_parse(out->provider, &p))
		goto bad;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -ERR_INVALID;
}

static bool strip_prefix(struct str *s, const char *prefix)
{
	size_t n = strlen(prefix);

	if (s->len < n || strncasecmp(s->p, prefix, n) != 0)
		return false;
	s->p += n;
	s->len -= n;
	return true;
}

int bot_parse_channel_ref(struct str s, char username[64], int64_t *chat_id)
{
	username[0] = '\0';
	*chat_id = 0;
	s = str_trim(s);
	if (s.len && (s.p[0] == '-' || (s.p[0] >= '0' && s.p[0] <= '9'))) {
		if (str_to_i64(s, -(INT64_C(1) << 53), INT64_C(1) << 53, chat_id) || *chat_id == 0)
			return -ERR_INVALID;
		return 0;
	}
	if (!strip_prefix(&s, "https://t.me/") && !strip_prefix(&s, "http://t.me/") &&
	    !strip_prefix(&s, "t.me/"))
		strip_prefix(&s, "@");
	while (s.len && s.p[s.len - 1] == '/')
		s.len--;
	/* Telegram usernames: 4-32 of [A-Za-z0-9_], starting with a letter */
	if (s.len < 4 || s.len > 32 ||
	    !((s.p[0] >= 'a' && s.p[0] <= 'z') || (s.p[0] >= 'A' && s.p[0] <= 'Z')))
		return -ERR_INVALID;
	for (size_t i = 0; i < s.len; i++)
		if (!is_name_char(s.p[i]))
			return -ERR_INVALID;
	memcpy(username, s.p, s.len);
	username[s.len] = '\0';
	return 0;
}

int bot_stats_arg_parse(struct str s, struct bot_stats_arg *out)
{
	static const int periods[] = BOT_STATS_PERIODS;
	struct str what, id;
	int64_t days;
	bool has_days;

	memset(out, 0, sizeof(*out));
	if (!str_split(&s, '.', &what) || what.len != 1 || !strchr("csbt", what.p[0]))
		goto bad;
	has_days = str_split(&s, '.', &id);
	if (!canonical_int(id) || str_to_i64(id, 1, INT64_MAX, &out->channel))
		goto bad;
	if (what.p[0] == 'c' && !has_days) {
		out->what = 'c';
		return 0;
	}
	out->what = what.p[0];
	if (out->what == 'c' || !has_days || !canonical_int(s) || str_to_i64(s, 1, 366, &days))
		goto bad;
	for (size_t i = 0; i < ARRAY_SIZE(periods); i++)
		if (days == periods[i]) {
			out->days = (int)days;
			return 0;
		}
bad:
	memset(out, 0, sizeof(*out));
	return -ERR_INVALID;
}

void bot_stats_arg_format(const struct bot_stats_arg *a, char *out, size_t outsz)
{
	struct bot_stats_arg check;
	int n;

	if (a->what == 'c')
		n = snprintf(out, outsz, "c.%lld", (long long)a->channel);
	else
		n = snprintf(out, outsz, "%c.%lld.%d", a->what, (long long)a->channel, a->days);
	if (n < 0 || (size_t)n >= outsz || bot_stats_arg_parse(str_c(out), &check))
		out[0] = '\0';
}
