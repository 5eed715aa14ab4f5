/*
 * app: the one object that everything hangs off: frozen configuration, the
 * store, kv and the HTTP server. No other mutable globals.
 */
#ifndef HERALD_APP_H
#define HERALD_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/config.h"
#include "lib/err.h"

enum setting {
	SET_LISTEN,
	SET_DATABASE,
	SET_REDIS,
	SET_ROLES,
	SET_PUBLIC_URL,
	SET_BOT_TOKEN,
	SET_TELEGRAM_API,
	SET_TELEGRAM_WEBHOOK_SECRET,
	SET_ADMINS,
	SET_STRIPE_API,
	SET_STRIPE_SECRET_KEY,
	SET_STRIPE_WEBHOOK_SECRET,
	SET_PAYME_MERCHANT_ID,
	SET_PAYME_KEY,
	SET_PAYME_CHECKOUT_URL,
	SET_CLICK_SERVICE_ID,
	SET_CLICK_MERCHANT_ID,
	SET_CLICK_SECRET_KEY,
	SET_CLICK_CHECKOUT_URL,
	SET_CLICK_API,
	SET_CLICK_MERCHANT_USER_ID,
	SET_YOUTUBE_API,
	SET_YOUTUBE_API_KEY,
	SET_INSTAGRAM_API,
	SET_TME_URL,
	SET_LOG_LEVEL,
	SET_HTTP_THREADS,
	SET_HTTP_MAX_CONNECTIONS,
	SET_HTTP_MAX_BODY,
	SET_HTTP_MAX_HEADERS,
	SET_HTTP_TIMEOUT,
	SET_JSON_MAX_DEPTH,
	SET_DB_POOL,
	SET_SHUTDOWN_TIMEOUT,
	SET_SESSION_TTL,
	SET_API_RATE,
	SET_API_BURST,
	SET_WORKERS,
	SET_TELEGRAM_RATE,
	SET_JOB_LEASE,
	SET_TEST_CLOCK,
	SET_GRACE_DAYS,
	SET_REMIND_DAYS,
	SET__COUNT
};

enum { APP_ROLE_API = 1, APP_ROLE_BOT = 2, APP_ROLE_WORKER = 4 };

struct store;
struct kv;
struct http_server;
struct tg_client;
struct bot;
struct sched;

struct app {
	struct config cfg;
	unsigned roles;
	struct store *store;
	struct kv *kv;
	struct http_server *http;
	struct tg_client *tg;   /* NULL without HERALD_BOT_TOKEN */
	struct bot *bot;        /* the bot role's intake and dispatch, when running */
	struct sched *sched;    /* the worker role's scheduler, when running */
	int migrations_applied; /* by app_open */
};

extern const struct config_def app_settings[SET__COUNT];

/* Load and check the settings (file may be NULL) from the environment. */
int app_configure(struct app *a, const char *file, struct err *e) WUR;
/* Open the store (applying migrations when migrate is set, and counting them
 * in a->migrations_applied) and kv. */
int app_open(struct app *a, int migrate, struct err *e) WUR;
void app_close(struct app *a);

const char *app_str(const struct app *a, enum setting s);
long long app_int(const struct app *a, enum setting s);

void app_help(FILE *out);

/* Whether telegram_id is one of HERALD_ADMINS. */
bool app_is_admin(const struct app *a, int64_t telegram_id);

#define APP_SECRET_MAX 257
/*
 * The webhook's secret token: HERALD_TELEGRAM_WEBHOOK_SECRET, or when unset
 * one derived from the bot token (SHA-256 hex), the same on every node and as
 * secret as the token. "" without a bot token.
 */
void app_webhook_secret(const struct app *a, char out[APP_SECRET_MAX]);

#endif
