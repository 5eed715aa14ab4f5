/*
 * app: the settings table (the single place a setting is declared, with its
 * default, bounds and help) and the opening and closing of the services the
 * roles need.
 */
#include "app.h"

#include <string.h>

#include "kv/kv.h"
#include "lib/buf.h"
#include "lib/crypto.h"
#include "lib/log.h"
#include "lib/str.h"
#include "store/store.h"
#include "tg/tg.h"

extern char **environ;

static int check_database(const struct config_def *d, const char *v, struct err *e)
{
	if (config_check_any(d, v, e))
		return -ERR_INVALID;
	if (strstr(v, "://") && strncmp(v, "postgres://", 11) != 0 &&
	    strncmp(v, "postgresql://", 13) != 0)
		return err_set(e, ERR_INVALID, "expected a SQLite file path or a postgres:// URL");
	return 0;
}

static int check_redis(const struct config_def *d, const char *v, struct err *e)
{
	if (config_check_any(d, v, e))
		return -ERR_INVALID;
	if (strncmp(v, "redis://", 8) != 0 || strlen(v) <= 8)
		return err_set(e, ERR_INVALID, "expected redis://[:password@]host[:port][/db]");
	return 0;
}

static int parse_roles(const char *v, unsigned *out)
{
	struct str rest = str_c(v), item;

	*out = 0;
	while (rest.len) {
		str_split(&rest, ',', &item);
		item = str_trim(item);
		if (str_eqc(item, "api"))
			*out |= APP_ROLE_API;
		else if (str_eqc(item, "bot"))
			*out |= APP_ROLE_BOT;
		else if (str_eqc(item, "worker"))
			*out |= APP_ROLE_WORKER;
		else
			return -ERR_INVALID;
	}
	return *out ? 0 : -ERR_INVALID;
}

static int check_roles(const struct config_def *d, const char *v, struct err *e)
{
	unsigned roles;

	(void)d;
	if (parse_roles(v, &roles))
		return err_set(e, ERR_INVALID, "\"%s\" is not a list of api, bot, worker", v);
	return 0;
}

static int check_level(const struct config_def *d, const char *v, struct err *e)
{
	(void)d;
	if (log_level_parse(v) < 0)
		return err_set(e, ERR_INVALID, "\"%s\" is not one of error, warn, info, debug", v);
	return 0;
}

#define S(name, def, check, help)                                                                  \
	{                                                                                          \
#name, def, check, 0, 0, false, help                                               \
	}
#define SECRET(name, check, help)                                                                  \
	{                                                                                          \
#name, NULL, check, 0, 0, true, help                                               \
	}
#define INT(name, def, min, max, help)                                                             \
	{                                                                                          \
#name, def, config_check_int, min, max, false, help                                \
	}

const struct config_def app_settings[SET__COUNT] = {
    [SET_LISTEN] = S(LISTEN, "127.0.0.1:8080", config_check_listen,
                     "address and port the HTTP server listens on"),
    [SET_DATABASE] = S(DATABASE, "herald.db", check_database,
                       "SQLite file path, or postgres://user@host:port/db for PostgreSQL"),
    [SET_REDIS] =
        S(REDIS, NULL, check_redis, "redis://host:port for Redis (a cluster); unset: in-memory kv"),
    [SET_ROLES] = S(ROLES, "api,bot,worker", check_roles, "roles this node runs: api, bot, worker"),
    [SET_PUBLIC_URL] = S(PUBLIC_URL, NULL, config_check_http_url,
                         "public base URL of this Herald (webhooks, links, secure cookies)"),
    [SET_BOT_TOKEN] = SECRET(BOT_TOKEN, config_check_any, "Telegram bot token (secret)"),
    [SET_TELEGRAM_API] =
        S(TELEGRAM_API, "https://api.telegram.org", config_check_http_url, "Bot API base URL"),
    [SET_TELEGRAM_WEBHOOK_SECRET] = SECRET(TELEGRAM_WEBHOOK_SECRET, config_check_any,
                                           "secret token Telegram sends with webhooks (secret)"),
    [SET_ADMINS] = S(ADMINS, NULL, config_check_id_list,
                     "comma-separated Telegram user ids of the operator's admins"),
    [SET_STRIPE_API] =
        S(STRIPE_API, "https://api.stripe.com", config_check_http_url, "Stripe API base URL"),
    [SET_STRIPE_SECRET_KEY] =
        SECRET(STRIPE_SECRET_KEY, config_check_any, "Stripe secret key (secret)"),
    [SET_STRIPE_WEBHOOK_SECRET] =
        SECRET(STRIPE_WEBHOOK_SECRET, config_check_any, "Stripe webhook signing secret (secret)"),
    [SET_PAYME_MERCHANT_ID] = S(PAYME_MERCHANT_ID, NULL, config_check_any, "Payme merchant id"),
    [SET_PAYME_KEY] = SECRET(PAYME_KEY, config_check_any, "Payme merchant key (secret)"),
    [SET_PAYME_CHECKOUT_URL] = S(PAYME_CHECKOUT_URL, "https://checkout.paycom.uz",
                                 config_check_http_url, "Payme checkout base URL"),
    [SET_CLICK_SERVICE_ID] = S(CLICK_SERVICE_ID, NULL, config_check_any, "Click service id"),
    [SET_CLICK_MERCHANT_ID] = S(CLICK_MERCHANT_ID, NULL, config_check_any, "Click merchant id"),
    [SET_CLICK_SECRET_KEY] =
        SECRET(CLICK_SECRET_KEY, config_check_any, "Click secret key (secret)"),
    [SET_CLICK_CHECKOUT_URL] = S(CLICK_CHECKOUT_URL, "https://my.click.uz/services/pay",
                                 config_check_http_url, "Click payment page URL"),
    [SET_CLICK_API] = S(CLICK_API, "https://api.click.uz/v2/merchant", config_check_http_url,
                        "Click Merchant API base URL (refunds by reversal)"),
    [SET_CLICK_MERCHANT_USER_ID] = S(CLICK_MERCHANT_USER_ID, NULL, config_check_any,
                                     "Click merchant user id (Merchant API Auth header)"),
    [SET_YOUTUBE_API] = S(YOUTUBE_API, "https://www.googleapis.com/youtube/v3",
                          config_check_http_url, "YouTube Data API base URL"),
    [SET_YOUTUBE_API_KEY] =
        SECRET(YOUTUBE_API_KEY, config_check_any, "YouTube Data API key (secret)"),
    [SET_INSTAGRAM_API] = S(INSTAGRAM_API, "https://graph.facebook.com", config_check_http_url,
                            "Instagram Graph API base URL"),
    [SET_TME_URL] =
        S(TME_URL, "https://t.me", config_check_http_url, "base URL of public channel pages"),
    [SET_LOG_LEVEL] = S(LOG_LEVEL, "info", check_level, "error, warn, info or debug"),
    [SET_HTTP_THREADS] = INT(HTTP_THREADS, "4", 1, 256, "HTTP worker threads"),
    [SET_HTTP_MAX_CONNECTIONS] =
        INT(HTTP_MAX_CONNECTIONS, "1000", 1, 100000, "open HTTP connections at most"),
    [SET_HTTP_MAX_BODY] =
        INT(HTTP_MAX_BODY, "1048576", 1024, 1073741824, "largest request body in bytes"),
    [SET_HTTP_MAX_HEADERS] =
        INT(HTTP_MAX_HEADERS, "64", 8, 1000, "most header fields in one request"),
    [SET_HTTP_TIMEOUT] =
        INT(HTTP_TIMEOUT, "30", 1, 3600, "seconds an idle or stalled connection is kept"),
    [SET_JSON_MAX_DEPTH] =
        INT(JSON_MAX_DEPTH, "32", 2, 1000, "deepest nesting accepted in a JSON body"),
    [SET_DB_POOL] = INT(DB_POOL, "8", 1, 1000, "PostgreSQL connections per process at most"),
    [SET_SHUTDOWN_TIMEOUT] =
        INT(SHUTDOWN_TIMEOUT, "10", 0, 3600, "seconds to let requests in flight finish on SIGTERM"),
    [SET_SESSION_TTL] =
        INT(SESSION_TTL, "604800", 60, 31536000, "seconds a dashboard session lasts"),
    [SET_API_RATE] =
        INT(API_RATE, "20", 1, 1000000, "API requests per second per user (sustained)"),
    [SET_API_BURST] = INT(API_BURST, "60", 1, 1000000000, "API requests per user in a burst"),
    [SET_WORKERS] = INT(WORKERS, "8", 1, 64, "scheduler threads sending due posts (worker role)"),
    [SET_TELEGRAM_RATE] = INT(TELEGRAM_RATE, "28", 1, 1000,
                              "messages per second the bot sends at most, shared by every node "
                              "(Telegram allows about 30)"),
    [SET_JOB_LEASE] = INT(JOB_LEASE, "30000", 1000, 3600000,
                          "milliseconds a claimed job is leased (renewed while it runs)"),
    [SET_TEST_CLOCK] = INT(TEST_CLOCK, "0", 0, 1,
                           "1: POST /test/clock may move the product clock (tests, demo only)"),
    [SET_GRACE_DAYS] =
        INT(GRACE_DAYS, "3", 0, 365, "days a paid plan holds after its period ended unpaid"),
    [SET_REMIND_DAYS] = INT(REMIND_DAYS, "3", 0, 365,
                            "days before a period ends that the user is reminded to pay "
                            "(Payme, Click, Stars)"),
};

int app_configure(struct app *a, const char *file, struct err *e)
{
	int rc;

	memset(a, 0, sizeof(*a));
	rc = config_load(&a->cfg, app_settings, SET__COUNT, file, environ, e);
	if (rc)
		return rc;
	log_threshold = (enum log_level)log_level_parse(app_str(a, SET_LOG_LEVEL));
	if (parse_roles(app_str(a, SET_ROLES), &a->roles))
		return err_set(e, ERR_INVALID, "setting HERALD_ROLES: invalid");
	return 0;
}

int app_open(struct app *a, int migrate, struct err *e)
{
	struct store_opts so = {.pool_size = (int)app_int(a, SET_DB_POOL)};
	const char *db = app_str(a, SET_DATABASE);
	char shown[512];
	int rc;

	log_redact_url(db, shown, sizeof(shown));
	rc = store_open(&a->store, db, &so, e);
	if (rc)
		return rc;
	if (migrate) {
		rc = store_migrate(a->store, &a->migrations_applied, e);
		if (rc)
			return rc;
		log_info("msg=\"store ready\" database=\"%s\" migrations_applied=%d", shown,
		         a->migrations_applied);
	}
	rc = kv_open(&a->kv, app_str(a, SET_REDIS), e);
	if (rc)
		return rc;
	log_info("msg=\"kv ready\" backend=%s", kv_backend(a->kv));
	if (app_str(a, SET_BOT_TOKEN)) {
		struct tg_opts to = {.api = app_str(a, SET_TELEGRAM_API),
		                     .token = app_str(a, SET_BOT_TOKEN),
		                     .kv = a->kv,
		                     .global_rate = (double)app_int(a, SET_TELEGRAM_RATE)};

		rc = tg_client_new(&a->tg, &to, e);
		if (rc)
			return rc;
		log_redact_url(to.api, shown, sizeof(shown));
		log_info("msg=\"bot api ready\" api=\"%s\" bot_id=%lld", shown,
		         (long long)tg_client_bot_id(a->tg));
	}
	return 0;
}

void app_close(struct app *a)
{
	tg_client_free(a->tg);
	a->tg = NULL;
	kv_free(a->kv);
	a->kv = NULL;
	store_free(a->store);
	a->store = NULL;
	config_release(&a->cfg);
}

const char *app_str(const struct app *a, enum setting s)
{
	return config_str(&a->cfg, (size_t)s);
}

long long app_int(const struct app *a, enum setting s)
{
	return (long long)config_int(&a->cfg, (size_t)s);
}

void app_help(FILE *out)
{
	config_help(app_settings, SET__COUNT, out);
}

void app_webhook_secret(const struct app *a, char out[APP_SECRET_MAX])
{
	const char *set = app_str(a, SET_TELEGRAM_WEBHOOK_SECRET);
	const char *token = app_str(a, SET_BOT_TOKEN);
	struct buf b;

	out[0] = '\0';
	if (set && *set) {
		snprintf(out, APP_SECRET_MAX, "%s", set);
		return;
	}
	if (!token)
		return;
	buf_init(&b, 1024);
	if (buf_printf(&b, "herald-webhook-secret:%s", token) == 0)
		crypto_sha256_hex(b.p, b.len, out);
	buf_release(&b);
}

bool app_is_admin(const struct app *a, int64_t telegram_id)
{
	const char *v = app_str(a, SET_ADMINS);
	struct str rest = str_c(v ? v : ""), item;
	int64_t id;

	while (rest.len) {
		str_split(&rest, ',', &item);
		if (!str_to_i64(str_trim(item), 1, INT64_MAX, &id) && id == telegram_id)
			return true;
	}
	return false;
}
