/*
 * api: handlers. Each reads what it needs from the request, calls the domain
 * (users, store, kv) and answers with JSON or a problem. r->ctx is the app.
 *
 * Authentication (api_guard): "Authorization: Bearer <API key>" first, else
 * the "herald_session" cookie. Then a token bucket per user in kv limits the
 * request rate; a kv or store outage answers 503 with Retry-After.
 */
#include "http/api.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "bot/bot.h"
#include "channels/channels.h"
#include "collect/collect.h"
#include "http/api_analytics.h"
#include "http/api_alerts.h"
#include "http/api_billing.h"
#include "http/api_posts.h"
#include "http/metrics.h"
#include "http/server.h"
#include "kv/kv.h"
#include "lib/crypto.h"
#include "lib/embed.h"
#include "lib/i18n.h"
#include "lib/mem.h"
#include "lib/tz.h"
#include "sched/sched.h"
#include "store/store.h"
#include "tg/tg.h"
#include "users/users.h"

#define SESSION_COOKIE "herald_session"
#define TOKEN_MAX      128

struct auth {
	struct user user;
	bool via_session;
	char token[TOKEN_MAX + 1]; /* the session token, when via_session */
};

static struct app *app_of(struct http_req *r)
{
	return r->ctx;
}

/* Answer 401; returns 1, what the guard returns after answering. */
static int unauthorized(struct http_req *r, const char *type, const char *detail)
{
	http_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"herald\"");
	http_problem(r, 401, type, "Unauthorized", NULL, "%s", detail);
	return 1;
}

static int rate_limit(struct http_req *r, int64_t user_id)
{
	struct app *a = app_of(r);
	char key[48], secs[24];
	int64_t wait_ms = 0;
	struct err e = {0};
	int rc;

	snprintf(key, sizeof(key), "rl:api:%lld", (long long)user_id);
	rc = kv_take(a->kv, key, (double)app_int(a, SET_API_RATE),
	             (double)app_int(a, SET_API_BURST), &wait_ms, &e);
	if (rc == -ERR_BUSY) {
		snprintf(secs, sizeof(secs), "%lld", (long long)(wait_ms + 999) / 1000);
		http_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
		http_problem(r, 429, "rate-limited", "Too Many Requests", NULL,
		             "more than %lld requests per second; retry in %lld ms",
		             app_int(a, SET_API_RATE), (long long)wait_ms);
		return rc;
	}
	if (rc) {
		/* An outage answers 503; anything else is our bug: 500. */
		http_reply_err(r, rc == -ERR_UNAVAILABLE ? rc : -ERR_INTERNAL, &e);
		return rc;
	}
	return 0;
}

int api_guard(struct http_req *r)
{
	struct app *a = app_of(r);
	const char *h = http_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *cookie = http_req_cookie(r, SESSION_COOKIE);
	struct auth *au;
	struct err e = {0};
	int rc;

	if (!(r->match.route->flags & ROUTE_AUTH))
		return 0;
	au = xcalloc(1, sizeof(*au));
	r->auth = au;
	r->auth_free = free;
	if (h) {
		size_t n;

		if (strncasecmp(h, "Bearer ", 7) != 0)
			return unauthorized(
			    r, "invalid-credentials",
			    "the Authorization header must be \"Bearer <API key>\"");
		h += 7;
		n = strlen(h);
		if (n == 0 || n > TOKEN_MAX)
			return unauthorized(r, "invalid-credentials", "the API key is not valid");
		rc = users_by_apikey(a->store, h, n, &au->user, &e);
		if (rc == -ERR_NOT_FOUND)
			return unauthorized(r, "invalid-credentials",
			                    "the API key is not valid or was revoked");
	} else if (cookie) {
		size_t n = strlen(cookie);

		if (n == 0 || n > TOKEN_MAX)
			return unauthorized(r, "invalid-credentials", "the session is not valid");
		rc = users_by_session(a->store, cookie, n, &au->user, &e);
		if (rc == -ERR_NOT_FOUND)
			return unauthorized(r, "invalid-credentials",
			                    "the session is not valid or has expired; sign in "
			                    "again");
		au->via_session = true;
		memcpy(au->token, cookie, n + 1);
	} else {
		return unauthorized(r, "unauthorized",
		                    "send \"Authorization: Bearer <API key>\" or sign in");
	}
	if (rc) {
		http_reply_err(r, rc, &e);
		return 1;
	}
	return rate_limit(r, au->user.id) ? 1 : 0;
}

const struct user *api_user(const struct http_req *r)
{
	const struct auth *au = r->auth;

	return &au->user;
}

static json_t *user_json(const struct user *u)
{
	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t)u->id,
	                 "telegram_id", (json_int_t)u->telegram_id, "name", u->name, "language",
	                 u->language, "time_zone", u->time_zone, "plan", u->plan, "created_at",
	                 (json_int_t)u->created_at);
}

int api_json_object_body(struct http_req *r, json_t **body)
{
	if (http_req_json(r, body))
		return -ERR_INVALID;
	if (json_is_object(*body))
		return 0;
	json_decref(*body);
	*body = NULL;
	http_problem(r, 422, "invalid", "Unprocessable Content", NULL,
	             "the body must be a JSON object");
	return -ERR_INVALID;
}

static int get_healthz(struct http_req *r)
{
	static const char body[] = "{\"status\":\"ok\"}";

	return http_reply_static(r, 200, "application/json", body, sizeof(body) - 1);
}

static int get_readyz(struct http_req *r)
{
	struct app *a = app_of(r);
	struct err se = {0}, ke = {0};
	int src = store_ping(a->store, &se);
	int krc = kv_ping(a->kv, &ke);
	json_t *checks = json_pack("{s:s, s:s}", "store", src ? "unavailable" : "ok", "kv",
	                           krc ? "unavailable" : "ok");

	if (src || krc) {
		http_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "5");
		return http_problem(r, 503, "not-ready", "Service Unavailable",
		                    json_pack("{s:o}", "checks", checks), "%s%s%s",
		                    src ? "the store cannot be reached" : "",
		                    src && krc ? "; " : "", krc ? "kv cannot be reached" : "");
	}
	return http_reply_json(r, 200,
	                       json_pack("{s:s, s:o}", "status", "ready", "checks", checks));
}

static int get_metrics(struct http_req *r)
{
	struct buf b;
	int rc;

	buf_init(&b, 16u << 20);
	if (metrics_render(http_server_metrics(r->srv), http_server_in_flight(r->srv), &b) ||
	    (app_of(r)->bot && bot_metrics(app_of(r)->bot, &b)) ||
	    (app_of(r)->sched && sched_metrics(app_of(r)->sched, &b)) || collect_metrics(&b)) {
		buf_release(&b);
		return http_reply_err(r, -ERR_TOO_BIG, NULL);
	}
	rc = http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
	buf_release(&b);
	return rc;
}

static int get_openapi(struct http_req *r)
{
	return http_reply_static(r, 200, "application/json", embed_openapi[0].data,
	                         embed_openapi[0].len);
}

static int get_me(struct http_req *r)
{
	const struct auth *au = r->auth;

	return http_reply_json(r, 200, user_json(&au->user));
}

static bool name_ok(const char *s)
{
	return strlen(s) <= USERS_NAME_MAX;
}

static bool language_ok(const char *s)
{
	return i18n_supported(s);
}

/* The fields PATCH /api/v1/me changes, in the order users_update takes them. */
enum { ME_NAME, ME_LANGUAGE, ME_TIME_ZONE, ME__COUNT };
static const struct {
	const char *key;
	bool (*ok)(const char *value);
	const char *expect;
} me_fields[ME__COUNT] = {
    [ME_NAME] = {"name", name_ok, "a string of at most 128 bytes"},
    [ME_LANGUAGE] = {"language", language_ok, "one of en, ru, uz"},
    [ME_TIME_ZONE] = {"time_zone", tz_valid, "an IANA time zone such as Europe/Berlin"},
};

static int patch_me(struct http_req *r)
{
	struct app *a = app_of(r);
	const struct auth *au = r->auth;
	const char *set[ME__COUNT] = {NULL}, *key;
	struct user u;
	struct err e = {0};
	json_t *body, *v;
	int rc;

	if (api_json_object_body(r, &body))
		return 0;
	json_object_foreach(body, key, v)
	{
		const char *s = json_string_value(v);
		size_t f = 0;

		while (f < ME__COUNT && strcmp(key, me_fields[f].key) != 0)
			f++;
		if (f < ME__COUNT && s && me_fields[f].ok(s)) {
			set[f] = s;
			continue;
		}
		rc = http_problem(r, 422, "invalid-field", "Unprocessable Content",
		                  json_pack("{s:s}", "field", key), "%s: %s", key,
		                  f < ME__COUNT ? me_fields[f].expect
		                                : "not a field that can be changed");
		json_decref(body);
		return rc;
	}
	rc = users_update(a->store, au->user.id, set[ME_NAME], set[ME_LANGUAGE], set[ME_TIME_ZONE],
	                  &u, &e);
	json_decref(body);
	if (rc)
		return http_reply_err(r, rc, &e);
	return http_reply_json(r, 200, user_json(&u));
}

static void session_cookie(struct http_req *r, const char *value, long long max_age)
{
	const char *pub = app_str(app_of(r), SET_PUBLIC_URL);
	char c[256];

	snprintf(c, sizeof(c), SESSION_COOKIE "=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Lax%s",
	         value, max_age, pub && strncmp(pub, "https://", 8) == 0 ? "; Secure" : "");
	http_header(r, MHD_HTTP_HEADER_SET_COOKIE, c);
}

/* Exchange an API key for a dashboard session cookie. */
static int post_session(struct http_req *r)
{
	struct app *a = app_of(r);
	const struct auth *au = r->auth;
	char token[USERS_TOKEN_SIZE];
	long long ttl = app_int(a, SET_SESSION_TTL);
	int64_t expires_at;
	struct err e = {0};
	int rc;

	if (au->via_session)
		return http_problem(r, 409, "conflict", "Conflict", NULL,
		                    "already signed in; sign in with an API key to open a session");
	rc = users_session_create(a->store, au->user.id, ttl * 1000, token, &expires_at, &e);
	if (rc)
		return http_reply_err(r, rc, &e);
	session_cookie(r, token, ttl);
	return http_reply_json(r, 201,
	                       json_pack("{s:I, s:o}", "expires_at", (json_int_t)expires_at, "user",
	                                 user_json(&au->user)));
}

static int delete_session(struct http_req *r)
{
	struct app *a = app_of(r);
	const struct auth *au = r->auth;
	struct err e = {0};
	int rc;

	if (au->via_session) {
		rc = users_session_delete(a->store, au->token, strlen(au->token), &e);
		if (rc)
			return http_reply_err(r, rc, &e);
	}
	session_cookie(r, "", 0);
	return http_reply(r, 204, "application/json", "", 0);
}

/* What a person should do about a channel's health. */
static const char *status_detail(enum ch_status s)
{
	switch (s) {
	case CH_OK:
		return "the bot has every right it needs";
	case CH_MISSING_RIGHTS:
		return "the bot lacks some administrator rights (missing_rights); grant them in "
		       "the channel's settings: Administrators, the bot, then enable each";
	case CH_BOT_NOT_ADMIN:
		return "the bot is not an administrator of the channel; add it in the channel's "
		       "settings: Administrators, Add Admin";
	case CH_BOT_REMOVED:
		return "the bot is not in the channel (it was removed, or never added)";
	case CH_USER_NOT_ADMIN:
		return "you are neither the creator nor an administrator of this channel";
	case CH_NOT_CHANNEL:
		return "this chat is not a channel";
	case CH_NOT_FOUND:
		return "no channel with this username or id";
	case CH_UNREACHABLE:
		return "Telegram could not be asked; try again later";
	}
	return "";
}

static json_t *rights_json(unsigned bits)
{
	json_t *a = json_array();

	for (unsigned b = 1; b <= CH_RIGHTS_NEEDED; b <<= 1)
		if (bits & b)
			json_array_append_new(a, json_string(channels_right_name(b)));
	return a;
}

static json_t *channel_json(const struct channel *c)
{
	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:b, s:o}", "id",
	                 (json_int_t)c->id, "chat_id", (json_int_t)c->chat_id, "title", c->title,
	                 "username", c->username, "status", channels_status_name(c->status),
	                 "missing_rights", rights_json(c->missing), "detail",
	                 status_detail(c->status), "checked_at", (json_int_t)c->checked_at,
	                 "created_at", (json_int_t)c->created_at, "paused", c->paused_at != 0,
	                 "paused_at", c->paused_at ? json_integer(c->paused_at) : json_null());
}

int api_path_id(struct http_req *r, const char *what, int64_t *id)
{
	if (str_to_i64(router_param(&r->match, "id"), 1, INT64_MAX, id)) {
		http_problem(r, 404, "not-found", "Not Found", NULL, "no such %s", what);
		return -ERR_NOT_FOUND;
	}
	return 0;
}

static int telegram_unavailable(struct http_req *r, const char *why)
{
	http_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "5");
	return http_problem(r, 503, "telegram-unavailable", "Service Unavailable", NULL,
	                    "Telegram could not be asked: %s", why);
}

static int list_channels(struct http_req *r)
{
	struct app *a = app_of(r);
	const struct auth *au = r->auth;
	struct channel *chs = NULL;
	int64_t used = 0, limit = 0;
	struct err e = {0};
	json_t *list;
	size_t n = 0;
	int rc;

	rc = channels_list(a->store, au->user.id, &chs, &n, &e);
	if (!rc)
		rc = channels_quota(a->store, au->user.id, &used, &limit, &e);
	if (rc) {
		free(chs);
		return http_reply_err(r, rc, &e);
	}
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, channel_json(&chs[i]));
	free(chs);
	return http_reply_json(r, 200,
	                       json_pack("{s:o, s:{s:I, s:I, s:s}}", "channels", list, "quota",
	                                 "used", (json_int_t)used, "limit", (json_int_t)limit,
	                                 "plan", au->user.plan));
}

/* Read {"username": "@name"} or {"chat_id": N} from the body. */
static int channel_ref(struct http_req *r, json_t *body, int64_t *chat, const char **username)
{
	json_t *u = json_object_get(body, "username"), *c = json_object_get(body, "chat_id");
	const char *key;
	json_t *v;

	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "username") != 0 && strcmp(key, "chat_id") != 0)
			return http_problem(r, 422, "invalid-field", "Unprocessable Content",
			                    json_pack("{s:s}", "field", key),
			                    "%s: not a field of a channel to connect", key);
	}
	if (!u == !c)
		return http_problem(r, 422, "invalid", "Unprocessable Content", NULL,
		                    "give exactly one of username (\"@name\") and chat_id");
	if (u) {
		const char *s = json_string_value(u);
		size_t n;

		if (s && s[0] == '@')
			s++;
		n = s ? strlen(s) : 0;
		for (size_t i = 0; s && i < n; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
				n = 0;
		if (n < 4 || n > 32)
			return http_problem(r, 422, "invalid-field", "Unprocessable Content",
			                    json_pack("{s:s}", "field", "username"),
			                    "username: 4 to 32 letters, digits or underscores, "
			                    "optionally after @");
		*username = s;
		return 0;
	}
	if (!json_is_integer(c) || json_integer_value(c) >= 0)
		return http_problem(r, 422, "invalid-field", "Unprocessable Content",
		                    json_pack("{s:s}", "field", "chat_id"),
		                    "chat_id: a channel's id, a negative integer such as "
		                    "-1001234567890");
	*chat = json_integer_value(c);
	return 0;
}

static int check_failed(struct http_req *r, const struct ch_check *chk, const struct err *e)
{
	if (chk->status == CH_UNREACHABLE)
		return telegram_unavailable(
		    r, strncmp(e->msg, "telegram: ", 10) == 0 ? e->msg + 10 : "no answer");
	return http_problem(r, 422, "channel-check-failed", "Unprocessable Content",
	                    json_pack("{s:s, s:o}", "channel_status",
	                              channels_status_name(chk->status), "missing_rights",
	                              rights_json(chk->missing)),
	                    "%s", status_detail(chk->status));
}

static int post_channel(struct http_req *r)
{
	struct app *a = app_of(r);
	const struct auth *au = r->auth;
	const char *username = NULL;
	struct ch_check chk;
	struct channel ch;
	struct err e = {0};
	int64_t chat = 0;
	char loc[64];
	json_t *body;
	int rc;

	if (api_json_object_body(r, &body))
		return 0;
	rc = channel_ref(r, body, &chat, &username);
	if (rc || r->responded) {
		json_decref(body);
		return rc;
	}
	if (!a->tg) {
		json_decref(body);
		return http_problem(r, 503, "bot-not-configured", "Service Unavailable", NULL,
		                    "HERALD_BOT_TOKEN is not set, so channels cannot be checked");
	}
	rc = channels_check(a->tg, chat, username, au->user.telegram_id, &chk, &e);
	json_decref(body);
	if (rc)
		return http_reply_err(r, rc, &e);
	if (chk.status != CH_OK)
		return check_failed(r, &chk, &e);
	rc = channels_connect(a->store, au->user.id, &chk, &ch, &e);
	if (rc == -ERR_TOO_BIG)
		return http_problem(r, 403, "plan-limit", "Forbidden",
		                    json_pack("{s:s}", "plan", au->user.plan),
		                    "%s; remove a "
		                    "channel or choose a larger plan",
		                    e.msg);
	if (rc)
		return http_reply_err(r, rc, &e);
	snprintf(loc, sizeof(loc), "/api/v1/channels/%lld", (long long)ch.id);
	http_header(r, MHD_HTTP_HEADER_LOCATION, loc);
	return http_reply_json(r, 201, channel_json(&ch));
}

/* The signed-in user's channel {id} (not removed) into ch; answers the
 * request itself and returns non-zero when there is none. */
static int owned_channel(struct http_req *r, struct channel *ch)
{
	struct app *a = app_of(r);
	const struct auth *au = r->auth;
	struct err e = {0};
	int64_t id;
	int rc;

	if (api_path_id(r, "channel", &id))
		return -ERR_NOT_FOUND;
	rc = channels_get(a->store, au->user.id, id, ch, &e);
	if (!rc && ch->removed)
		rc = err_set(&e, ERR_NOT_FOUND, "no such channel");
	if (rc)
		http_reply_err(r, rc, &e);
	return rc;
}

static int get_channel(struct http_req *r)
{
	struct channel ch;

	if (owned_channel(r, &ch))
		return 0;
	return http_reply_json(r, 200, channel_json(&ch));
}

static int delete_channel(struct http_req *r)
{
	struct app *a = app_of(r);
	const struct auth *au = r->auth;
	struct err e = {0};
	int64_t id;
	int rc;

	if (api_path_id(r, "channel", &id))
		return 0;
	rc = channels_remove(a->store, au->user.id, id, &e);
	if (rc)
		return http_reply_err(r, rc, &e);
	return http_reply(r, 204, "application/json", "", 0);
}

static int check_channel(struct http_req *r)
{
	struct app *a = app_of(r);
	const struct auth *au = r->auth;
	struct channel ch;
	struct err e = {0};
	int rc;

	if (owned_channel(r, &ch))
		return 0;
	if (!a->tg)
		return http_problem(r, 503, "bot-not-configured", "Service Unavailable", NULL,
		                    "HERALD_BOT_TOKEN is not set, so channels cannot be checked");
	rc = channels_refresh(a->store, a->tg, au->user.telegram_id, &ch, &e);
	if (rc == -ERR_UNAVAILABLE && strncmp(e.msg, "telegram: ", 10) == 0)
		return telegram_unavailable(r, e.msg + 10);
	if (rc)
		return http_reply_err(r, rc, &e);
	return http_reply_json(r, 200, channel_json(&ch));
}

/* A one-time link from the bot's /login: open a session and go to the dashboard. */
static int get_login(struct http_req *r)
{
	struct app *a = app_of(r);
	const char *token = http_req_query(r, "token");
	char session[USERS_TOKEN_SIZE];
	long long ttl = app_int(a, SET_SESSION_TTL);
	int64_t expires_at;
	struct user u;
	struct err e = {0};
	size_t n = token ? strlen(token) : 0;
	int rc;

	if (n == 0 || n > TOKEN_MAX)
		return http_problem(r, 400, "invalid", "Bad Request", NULL,
		                    "the login link has no valid token; send /login to the bot");
	rc = users_login_consume(a->store, token, n, &u, &e);
	if (rc == -ERR_NOT_FOUND)
		return http_problem(r, 410, "login-link-invalid", "Gone", NULL,
		                    "this login link is unknown, used or expired; send /login to "
		                    "the bot for a new one");
	if (!rc)
		rc = users_session_create(a->store, u.id, ttl * 1000, session, &expires_at, &e);
	if (rc)
		return http_reply_err(r, rc, &e);
	session_cookie(r, session, ttl);
	http_header(r, MHD_HTTP_HEADER_LOCATION, "/api/v1/me");
	return http_reply_json(
	    r, 303,
	    json_pack("{s:I, s:o}", "expires_at", (json_int_t)expires_at, "user", user_json(&u)));
}

/* Updates from Telegram in webhook mode: verified, recorded, answered 200. */
static int post_hook_telegram(struct http_req *r)
{
	struct app *a = app_of(r);
	const char *got = http_req_header(r, "X-Telegram-Bot-Api-Secret-Token");
	char secret[APP_SECRET_MAX];
	struct err e = {0};
	int rc;

	if (!a->bot)
		return http_problem(r, 503, "bot-not-configured", "Service Unavailable", NULL,
		                    "HERALD_BOT_TOKEN is not set");
	app_webhook_secret(a, secret);
	if (!got || !crypto_eq(got, strlen(got), secret, strlen(secret)))
		return http_problem(r, 401, "invalid-credentials", "Unauthorized", NULL,
		                    "X-Telegram-Bot-Api-Secret-Token is missing or wrong");
	rc = bot_accept(a->bot, r->body.p, r->body.len, &e);
	if (rc == -ERR_INVALID)
		return http_problem(r, 400, "invalid-update", "Bad Request", NULL, "%s", e.msg);
	if (rc)
		return http_reply_err(r, rc, &e);
	return http_reply(r, 200, "application/json", "", 0);
}

const struct route api_routes[] = {
    {"GET", "/healthz", get_healthz, 0, "The process is alive"},
    {"GET", "/readyz", get_readyz, 0, "The store and kv are reachable"},
    {"GET", "/metrics", get_metrics, 0, "Prometheus metrics"},
    {"GET", "/api/v1/openapi.json", get_openapi, 0, "This API's OpenAPI document"},
    {"GET", "/api/v1/me", get_me, ROUTE_AUTH | ROUTE_STORE, "The signed-in user"},
    {"PATCH", "/api/v1/me", patch_me, ROUTE_AUTH | ROUTE_STORE,
     "Change the signed-in user's name, language or time zone"},
    {"POST", "/api/v1/session", post_session, ROUTE_AUTH | ROUTE_STORE,
     "Open a dashboard session (cookie) with an API key"},
    {"DELETE", "/api/v1/session", delete_session, ROUTE_AUTH | ROUTE_STORE,
     "Close the current dashboard session"},
    {"POST", "/hooks/telegram", post_hook_telegram, ROUTE_STORE,
     "Telegram updates in webhook mode (secret token checked)"},
    {"GET", "/login", get_login, ROUTE_STORE,
     "Use a one-time login link from the bot: opens a session"},
    {"GET", "/api/v1/channels", list_channels, ROUTE_AUTH | ROUTE_STORE,
     "The signed-in user's channels, with health and the plan's quota"},
    {"POST", "/api/v1/channels", post_channel, ROUTE_AUTH | ROUTE_STORE,
     "Connect a channel after checking the bot's and the user's rights"},
    {"GET", "/api/v1/channels/{id}", get_channel, ROUTE_AUTH | ROUTE_STORE, "One channel"},
    {"DELETE", "/api/v1/channels/{id}", delete_channel, ROUTE_AUTH | ROUTE_STORE,
     "Remove a channel (its history is kept)"},
    {"GET", "/api/v1/channels/{id}/analytics/{view}", api_analytics, ROUTE_AUTH | ROUTE_STORE,
     "A channel's analytics"},
    {"POST", "/api/v1/channels/{id}/check", check_channel, ROUTE_AUTH | ROUTE_STORE,
     "Check a channel's rights again and record its health"},
    {"POST", "/api/v1/posts", api_posts_create, ROUTE_AUTH | ROUTE_STORE,
     "Create a post (an Idempotency-Key makes a retry safe)"},
    {"GET", "/api/v1/posts", api_posts_list, ROUTE_AUTH | ROUTE_STORE,
     "The signed-in user's posts, newest first, a page at a time"},
    {"GET", "/api/v1/posts/{id}", api_posts_get, ROUTE_AUTH | ROUTE_STORE,
     "One post with its delivery counts"},
    {"PATCH", "/api/v1/posts/{id}", api_posts_update, ROUTE_AUTH | ROUTE_STORE,
     "Change a post; once sent, only its text and buttons (the messages are edited)"},
    {"DELETE", "/api/v1/posts/{id}", api_posts_cancel, ROUTE_AUTH | ROUTE_STORE,
     "Cancel a post: its pending deliveries are not sent"},
    {"GET", "/api/v1/posts/{id}/deliveries", api_posts_deliveries, ROUTE_AUTH | ROUTE_STORE,
     "A post's deliveries, one per channel and occurrence"},
    {"GET", "/api/v1/deliveries/{id}", api_delivery_get, ROUTE_AUTH | ROUTE_STORE, "One delivery"},
    {"POST", "/api/v1/deliveries/{id}/resolve", api_delivery_resolve, ROUTE_AUTH | ROUTE_STORE,
     "Answer for an uncertain delivery: resend it, or it was published"},
    {"POST", "/hooks/stripe", api_hook_stripe, 0,
     "Stripe webhook events (Stripe-Signature checked; each event applied once)"},
    {"POST", "/hooks/payme", api_hook_payme, 0,
     "Payme Merchant API (JSON-RPC, Basic auth; always HTTP 200)"},
    {"POST", "/hooks/click/prepare", api_hook_click_prepare, 0,
     "Click SHOP API Prepare (signed form; always HTTP 200)"},
    {"POST", "/hooks/click/complete", api_hook_click_complete, 0,
     "Click SHOP API Complete (signed form; always HTTP 200)"},
    {"GET", "/api/v1/plans", api_plans, ROUTE_STORE,
     "The plans, their limits and prices, and the payment providers configured"},
    {"POST", "/api/v1/subscriptions", api_subscribe, ROUTE_AUTH | ROUTE_STORE,
     "Start buying a plan: an order and where to pay"},
    {"GET", "/api/v1/subscriptions/current", api_subscription_current, ROUTE_AUTH | ROUTE_STORE,
     "The signed-in user's plan and subscription"},
    {"POST", "/api/v1/subscriptions/current/cancel", api_subscription_cancel,
     ROUTE_AUTH | ROUTE_STORE, "Cancel at the end of the paid period"},
    {"GET", "/api/v1/payments", api_payments, ROUTE_AUTH | ROUTE_STORE,
     "The signed-in user's payments and refunds, newest first"},
    {"GET", "/api/v1/admin/revenue", api_admin_revenue, ROUTE_AUTH | ROUTE_STORE,
     "Admins: payments, refunds, failures, MRR and churn in a window"},
    {"POST", "/api/v1/admin/payments/{id}/refund", api_admin_refund, ROUTE_AUTH | ROUTE_STORE,
     "Admins: refund a payment, in full or in part"},
    {"GET", "/api/v1/alerts", api_alerts_list, ROUTE_AUTH | ROUTE_STORE,
     "The signed-in user's alert rules"},
    {"POST", "/api/v1/alerts", api_alerts_create, ROUTE_AUTH | ROUTE_STORE,
     "Add an alert rule on one of the user's channels"},
    {"GET", "/api/v1/alerts/events", api_alerts_events, ROUTE_AUTH | ROUTE_STORE,
     "Recent alert events, newest first, with whether each was sent or muted"},
    {"PATCH", "/api/v1/alerts/{id}", api_alerts_update, ROUTE_AUTH | ROUTE_STORE,
     "Mute or unmute an alert rule, or change its parameters"},
    {"DELETE", "/api/v1/alerts/{id}", api_alerts_delete, ROUTE_AUTH | ROUTE_STORE,
     "Remove an alert rule (its events are kept)"},
    {"GET", "/test/clock", api_test_clock_get, 0,
     "The product clock (only with HERALD_TEST_CLOCK=1)"},
    {"POST", "/test/clock", api_test_clock_shift, 0,
     "Move the product clock forward (only with HERALD_TEST_CLOCK=1)"},
};
const size_t api_nroutes = ARRAY_SIZE(api_routes);
