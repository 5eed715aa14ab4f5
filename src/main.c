/*
 * herald: the command line. Parses the global options and the command, then
 * hands over to the parts: run serves, migrate migrates, user and apikey are
 * operator commands on the store.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "alerts/alerts.h"
#include "billing/billing.h"
#include "billing/stripe.h"
#include "collect/collect.h"
#include "bot/bot.h"
#include "http/api.h"
#include "http/server.h"
#include "kv/kv.h"
#include "lib/hc.h"
#include "lib/json.h"
#include "lib/i18n.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "report/chart.h"
#include "sched/sched.h"
#include "sim/sim.h"
#include "sim/stripe.h"
#include "store/store.h"
#include "users/users.h"

static void usage(FILE *out)
{
	fputs(
	    "usage: herald [--config FILE] COMMAND [ARGS]\n"
	    "\n"
	    "Herald: analytics, scheduling, alerts and paid plans for Telegram channels.\n"
	    "\n"
	    "commands:\n"
	    "  run                                  serve (the roles in HERALD_ROLES)\n"
	    "  demo [--sim-listen HOST:PORT]        Herald with the simulators (Telegram, Payme,\n"
	    "                                       Click, Stripe) and their web chat (default\n"
	    "                                       127.0.0.1:8081); no tokens\n"
	    "  sim [--listen HOST:PORT] [--token T] [--username NAME] [--no-rate-limits]\n"
	    "      [--payme-... --click-... (herald sim --help)]\n"
	    "      [--stripe-key K] [--stripe-webhook URL] [--stripe-webhook-secret S]\n"
	    "                                       the Telegram Bot API and Stripe simulators,\n"
	    "                                       with Payme and Click drivers for the hooks\n"
	    "  migrate                              apply database migrations and exit\n"
	    "  version                              print the version\n"
	    "  user add --telegram-id N [--name S]  add a user\n"
	    "  apikey create --telegram-id N        create an API key (printed once)\n"
	    "\n"
	    "options:\n"
	    "  --config FILE   read KEY=VALUE settings from FILE (the environment wins)\n"
	    "  --help          this text\n"
	    "\n"
	    "settings (environment variables; defaults shown):\n",
	    out);
	app_help(out);
}

/* Find "--name VALUE" in argv[from..argc); NULL when absent. */
static const char *opt(int argc, char **argv, int from, const char *name)
{
	for (int i = from; i < argc - 1; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static int check_opts(int argc, char **argv, int from, const char *const *known)
{
	for (int i = from; i < argc; i += 2) {
		bool ok = false;

		for (const char *const *k = known; *k; k++)
			ok |= strcmp(argv[i], *k) == 0;
		if (!ok || i + 1 >= argc) {
			fprintf(stderr, "herald: %s: %s\n", argv[i],
			        ok ? "needs a value" : "unknown option");
			return -1;
		}
	}
	return 0;
}

static int telegram_id_opt(int argc, char **argv, int from, int64_t *id)
{
	const char *v = opt(argc, argv, from, "--telegram-id");

	if (!v) {
		fputs("herald: --telegram-id N is required\n", stderr);
		return -1;
	}
	if (str_to_i64(str_c(v), 1, INT64_MAX, id)) {
		fprintf(stderr, "herald: --telegram-id: \"%s\" is not a Telegram user id\n", v);
		return -1;
	}
	return 0;
}

static int cmd_user_add(struct app *a, int argc, char **argv)
{
	static const char *const known[] = {"--telegram-id", "--name", NULL};
	struct user u;
	struct err e = {0};
	int64_t tg;

	if (check_opts(argc, argv, 3, known) || telegram_id_opt(argc, argv, 3, &tg))
		return 2;
	if (users_add(a->store, tg, opt(argc, argv, 3, "--name"), &u, &e)) {
		fprintf(stderr, "herald: user add: %s\n", e.msg);
		return 1;
	}
	printf("user %lld added (telegram id %lld)\n", (long long)u.id, (long long)u.telegram_id);
	return 0;
}

static int cmd_apikey_create(struct app *a, int argc, char **argv)
{
	static const char *const known[] = {"--telegram-id", NULL};
	char key[USERS_TOKEN_SIZE];
	struct user u;
	struct err e = {0};
	int64_t tg;

	if (check_opts(argc, argv, 3, known) || telegram_id_opt(argc, argv, 3, &tg))
		return 2;
	if (users_get_by_telegram(a->store, tg, &u, &e)) {
		fprintf(stderr, "herald: apikey create: %s\n",
		        e.code == ERR_NOT_FOUND ? "no user with that Telegram id" : e.msg);
		return 1;
	}
	if (users_apikey_create(a->store, u.id, key, &e)) {
		fprintf(stderr, "herald: apikey create: %s\n", e.msg);
		return 1;
	}
	printf("%s\n", key);
	fputs("herald: this key is shown once; store it now\n", stderr);
	return 0;
}

static int cmd_migrate(struct app *a, int argc, char **argv)
{
	struct err e = {0};
	int version = 0;

	(void)argc, (void)argv;
	/* app_open applied them; say what the schema is now */
	if (store_version(a->store, &version, &e)) {
		fprintf(stderr, "herald: migrate: %s\n", e.msg);
		return 1;
	}
	printf("applied %d migration%s; schema version %d\n", a->migrations_applied,
	       a->migrations_applied == 1 ? "" : "s", version);
	return 0;
}

/*
 * Block SIGTERM and SIGINT (set receives them, for sigwait) and ignore
 * SIGPIPE. Every thread started afterwards inherits the mask, so the signals
 * reach only sigwait().
 */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The scheduler's tick: billing's sweep, then a collect job for every
 * channel that has none. */
static int clock_work(struct app *a, struct err *e)
{
	int rc = billing_tick(a, e);
	struct err ce = {0};

	if (collect_tick(a, &ce))
		log_warn("msg=\"collect jobs not made\" error=\"%s\"", ce.msg);
	return rc;
}

static int cmd_run(struct app *a, int argc, char **argv)
{
	struct http_opts o = {0};
	char host[64];
	struct err e = {0};
	sigset_t set;
	int sig = 0, port, rc = 0;

	(void)argc, (void)argv;
	if (config_parse_listen(app_str(a, SET_LISTEN), host, sizeof(host), &port))
		return 1; /* checked at start-up already */
	o.host = host;
	o.port = port;
	o.threads = (int)app_int(a, SET_HTTP_THREADS);
	o.max_connections = (int)app_int(a, SET_HTTP_MAX_CONNECTIONS);
	o.max_body = (size_t)app_int(a, SET_HTTP_MAX_BODY);
	o.max_headers = (size_t)app_int(a, SET_HTTP_MAX_HEADERS);
	o.timeout_s = (int)app_int(a, SET_HTTP_TIMEOUT);
	o.json_max_depth = (size_t)app_int(a, SET_JSON_MAX_DEPTH);
	o.routes = api_routes;
	o.nroutes = api_nroutes;
	o.ctx = a;
	o.guard = api_guard;

	block_signals(&set);

	/* The bot exists whenever there is a token, so any node's webhook
	 * endpoint records updates; only the bot role polls and dispatches. */
	if (a->tg && bot_new(&a->bot, a, &e)) {
		log_error("msg=\"cannot start the bot\" err=\"%s\"", e.msg);
		return 1;
	}
	if (a->roles & APP_ROLE_API) {
		if (http_server_start(&a->http, &o, &e)) {
			log_error("msg=\"cannot start\" err=\"%s\"", e.msg);
			rc = 1;
			goto out;
		}
		log_info("msg=listening addr=%s:%d threads=%d", host, http_server_port(a->http),
		         o.threads);
	}
	if (a->bot && (a->roles & APP_ROLE_BOT)) {
		if (bot_start(a->bot, &e)) {
			log_error("msg=\"cannot start the bot\" err=\"%s\"", e.msg);
			rc = 1;
			goto out;
		}
	}
	if (a->tg && (a->roles & APP_ROLE_WORKER)) {
		struct sched_opts so = {
		    .workers = (int)app_int(a, SET_WORKERS),
		    .lease_ms = app_int(a, SET_JOB_LEASE),
		    .notify = bot_notify_delivery,
		    .billing_notice = bot_billing_notice,
		    .provider_stop = stripe_end_subscription,
		    .collect = collect_channel,
		    .alert = bot_alert_send,
		    .delivery_failed = alerts_on_delivery_failed,
		    .tick = clock_work,
		};

		/* alerts are evaluated after each collection (set before the
		 * scheduler's threads read it) */
		collect_hook = alerts_after_collect;

		if (sched_new(&a->sched, a, &so, &e) || sched_start(a->sched, &e)) {
			log_error("msg=\"cannot start the scheduler\" err=\"%s\"", e.msg);
			rc = 1;
			goto out;
		}
	}
	if (app_int(a, SET_TEST_CLOCK))
		log_warn("msg=\"HERALD_TEST_CLOCK is on: POST /test/clock moves the product clock; "
		         "for tests and the demo only\"");
	log_info("msg=started version=%s", HERALD_VERSION);
	sigwait(&set, &sig);
	log_info("msg=stopping signal=%s", sig == SIGTERM ? "TERM" : "INT");
	if (a->http)
		http_server_drain(a->http, app_int(a, SET_SHUTDOWN_TIMEOUT) * 1000);
out:
	/* jobs in flight finish (a send is not cut off halfway) */
	sched_free(a->sched);
	a->sched = NULL;
	if (a->bot)
		bot_stop(a->bot);
	if (a->http) {
		http_server_free(a->http);
		a->http = NULL;
	}
	bot_free(a->bot);
	a->bot = NULL;
	/* every thread that drew a chart (/stats in the bot) has ended: give
	 * fontconfig's caches back, so a leak checker sees nothing */
	chart_fonts_release();
	if (rc == 0)
		log_info("msg=stopped");
	return rc;
}

/* POST a JSON body to the simulator's control API; *out gets the answer. */
static int sim_post(const char *base, const char *path, json_t *body, json_t **out, struct err *e)
{
	struct hc_req rq = {.content_type = "application/json", .timeout_ms = 5000};
	struct hc_resp rs;
	char url[256], *text = json_dumps(body, JSON_COMPACT);
	int rc;

	json_decref(body);
	snprintf(url, sizeof(url), "%s%s", base, path);
	rq.url = url;
	rq.body = text;
	rq.body_len = strlen(text);
	rc = hc_do(&rq, &rs, e);
	free(text);
	if (!rc && rs.status != 200)
		rc = err_set(e, ERR_INTERNAL, "simulator %s answered %ld: %s", path, rs.status,
		             rs.body.p);
	if (!rc)
		rc = json_parse(rs.body.p, rs.body.len, 16, out, e);
	hc_resp_release(&rs);
	return rc;
}

/* The demo's Telegram user: a fixed id, so that HERALD_ADMINS can name it. */
#define DEMO_USER_ID   5550001
#define DEMO_USER_ID_S "5550001"

/*
 * Default every payment setting and the public channel pages (HERALD_TME_URL)
 * to the simulator at sim (setenv without overwriting: the operator's
 * environment wins), and make the demo user the operator's admin, so that a
 * newcomer can buy, renew and refund a plan.
 * The secrets are the demo's own, known to anyone reading this file.
 */
static void demo_defaults(const char *sim)
{
	static const struct {
		const char *name, *value;
	} fixed[] = {
	    {"HERALD_PAYME_MERCHANT_ID", "65a1b2c3d4e5f60718293a4b"},
	    {"HERALD_PAYME_KEY", "herald-demo-payme-key"},
	    {"HERALD_CLICK_SERVICE_ID", "10001"},
	    {"HERALD_CLICK_MERCHANT_ID", "20001"},
	    {"HERALD_CLICK_SECRET_KEY", "herald-demo-click-secret"},
	    {"HERALD_CLICK_MERCHANT_USER_ID", "30001"},
	    {"HERALD_STRIPE_SECRET_KEY", SIM_STRIPE_DEFAULT_KEY},
	    {"HERALD_STRIPE_WEBHOOK_SECRET", "whsec_herald_demo_0123456789abcdef"},
	    {"HERALD_ADMINS", DEMO_USER_ID_S},
	};
	static const struct {
		const char *name, *path;
	} urls[] = {
	    {"HERALD_PAYME_CHECKOUT_URL", "/payme"},
	    {"HERALD_CLICK_CHECKOUT_URL", "/click/services/pay"},
	    {"HERALD_CLICK_API", "/click/v2/merchant"},
	    {"HERALD_STRIPE_API", "/stripe"},
	    {"HERALD_TME_URL", ""}, /* the simulator's /s/<channel> pages */
	};
	char url[256];

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		setenv(fixed[i].name, fixed[i].value, 0);
	for (size_t i = 0; i < ARRAY_SIZE(urls); i++) {
		snprintf(url, sizeof(url), "%s%s", sim, urls[i].path);
		setenv(urls[i].name, url, 0);
	}
}

/* The demo's Telegram side: a user and a channel the user created, with
 * four weeks of posts, views and subscribers behind it. */
static int demo_seed(const char *sim, json_int_t *cid, struct err *e)
{
	json_t *u = NULL, *c = NULL, *h = NULL;
	char path[96];
	int rc;

	rc = sim_post(sim, "/control/users",
	              json_pack("{s:i, s:s, s:s, s:s, s:s}", "id", DEMO_USER_ID, "first_name",
	                        "Demo", "last_name", "User", "username", "demo_user",
	                        "language_code", "en"),
	              &u, e);
	if (rc)
		goto out;
	rc = sim_post(sim, "/control/channels",
	              json_pack("{s:s, s:s, s:s, s:i, s:i}", "title", "Herald Demo Channel",
	                        "username", "herald_demo", "description",
	                        "A channel to try Herald with", "creator_id", DEMO_USER_ID,
	                        "member_count", 1250),
	              &c, e);
	if (rc)
		goto out;
	*cid = json_integer_value(json_object_get(json_object_get(c, "chat"), "id"));
	snprintf(path, sizeof(path), "/control/channels/%lld/history", (long long)*cid);
	rc = sim_post(sim, path, json_pack("{s:i}", "days", 28), &h, e);
out:
	json_decref(u);
	json_decref(c);
	json_decref(h);
	return rc;
}

static bool starts_with(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* POST body to path and forget the answer. */
static int sim_set(const char *sim, const char *path, json_t *body, struct err *e)
{
	json_t *ans = NULL;
	int rc = sim_post(sim, path, body, &ans, e);

	json_decref(ans);
	return rc;
}

/*
 * Point the simulator at Herald (at herald, "http://HOST:PORT"): the Payme
 * and Click drivers at its hooks and the Stripe simulator's webhooks at
 * /hooks/stripe, each with Herald's own settings, for every provider whose
 * settings point at the simulator (an operator's real provider keeps its
 * secrets out of it); then the demo record, which the page reads: the demo
 * user, the channel and Herald's URL.
 */
static int demo_wire(const char *sim, const struct app *a, const char *herald, json_int_t cid,
                     struct err *e)
{
	char hook[2][160];
	json_t *st;
	int rc = 0;

	if (starts_with(app_str(a, SET_PAYME_CHECKOUT_URL), sim)) {
		snprintf(hook[0], sizeof(hook[0]), "%s/hooks/payme", herald);
		rc = sim_set(sim, "/control/payme/config",
		             json_pack("{s:s, s:s?, s:s?}", "endpoint", hook[0], "key",
		                       app_str(a, SET_PAYME_KEY), "merchant_id",
		                       app_str(a, SET_PAYME_MERCHANT_ID)),
		             e);
	}
	if (!rc && (starts_with(app_str(a, SET_CLICK_CHECKOUT_URL), sim) ||
	            starts_with(app_str(a, SET_CLICK_API), sim))) {
		snprintf(hook[0], sizeof(hook[0]), "%s/hooks/click/prepare", herald);
		snprintf(hook[1], sizeof(hook[1]), "%s/hooks/click/complete", herald);
		rc = sim_set(sim, "/control/click/config",
		             json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?}", "prepare_url", hook[0],
		                       "complete_url", hook[1], "secret",
		                       app_str(a, SET_CLICK_SECRET_KEY), "service_id",
		                       app_str(a, SET_CLICK_SERVICE_ID), "merchant_id",
		                       app_str(a, SET_CLICK_MERCHANT_ID), "merchant_user_id",
		                       app_str(a, SET_CLICK_MERCHANT_USER_ID)),
		             e);
	}
	if (!rc && starts_with(app_str(a, SET_STRIPE_API), sim)) {
		snprintf(hook[0], sizeof(hook[0]), "%s/hooks/stripe", herald);
		st = json_pack("{s:s}", "webhook_url", hook[0]);
		if (app_str(a, SET_STRIPE_WEBHOOK_SECRET))
			json_object_set_new(st, "webhook_secret",
			                    json_string(app_str(a, SET_STRIPE_WEBHOOK_SECRET)));
		if (app_str(a, SET_STRIPE_SECRET_KEY))
			json_object_set_new(st, "key",
			                    json_string(app_str(a, SET_STRIPE_SECRET_KEY)));
		rc = sim_set(sim, "/control/stripe/config", st, e);
	}
	if (!rc)
		rc = sim_set(sim, "/control/demo",
		             json_pack("{s:i, s:I, s:s}", "user_id", DEMO_USER_ID, "channel_id",
		                       cid, "herald_url", herald),
		             e);
	return rc;
}

/*
 * herald demo: the simulator on its own port (seeded with a demo user and
 * channel), and Herald talking to it, on a fresh SQLite file unless
 * HERALD_DATABASE says otherwise.
 */
static int cmd_demo(int argc, char **argv, const char *config)
{
	const char *listen = SIM_DEFAULT_LISTEN, *db = getenv("HERALD_DATABASE");
	struct sim_opts so = {.token = SIM_DEFAULT_TOKEN, .rate_limits = true};
	struct sim *sim = NULL;
	char host[64], base[96], hhost[64], herald[96];
	json_int_t cid = 0;
	int hport = 0;
	struct app a;
	struct err e = {0};
	sigset_t set;
	int rc = 1;

	if (argc == 3 && strcmp(argv[1], "--sim-listen") == 0)
		listen = argv[2];
	else if (argc != 1) {
		fputs("usage: herald demo [--sim-listen HOST:PORT]\n", stderr);
		return 2;
	}
	if (config_parse_listen(listen, host, sizeof(host), &so.port)) {
		fprintf(stderr, "herald demo: --sim-listen: \"%s\" is not HOST:PORT\n", listen);
		return 2;
	}
	so.host = host;
	/* the simulator's threads too leave SIGTERM/SIGINT to sigwait */
	block_signals(&set);
	if (!db || !*db) {
		/* the simulator starts empty each time, so Herald does too */
		unlink("herald-demo.db");
		unlink("herald-demo.db-wal");
		unlink("herald-demo.db-shm");
		setenv("HERALD_DATABASE", "herald-demo.db", 1);
	}
	if (sim_start(&sim, &so, &e)) {
		fprintf(stderr, "herald demo: cannot start the simulator: %s\n", e.msg);
		return 1;
	}
	snprintf(base, sizeof(base), "http://%s:%d", host, sim_port(sim));
	setenv("HERALD_BOT_TOKEN", SIM_DEFAULT_TOKEN, 1);
	/* the demo moves its clock to show a schedule hours ahead, a renewal
	 * days ahead (POST /control/demo/advance) */
	setenv("HERALD_TEST_CLOCK", "1", 0);
	setenv("HERALD_TELEGRAM_API", base, 1);
	demo_defaults(base);
	if (app_configure(&a, config, &e)) {
		fprintf(stderr, "herald: %s\n", e.msg);
		sim_free(sim);
		return 2;
	}
	/* where the simulator reaches Herald */
	if (config_parse_listen(app_str(&a, SET_LISTEN), hhost, sizeof(hhost), &hport) ||
	    hport == 0) {
		fprintf(stderr, "herald demo: HERALD_LISTEN needs a port other than 0: the "
		                "simulator calls Herald there\n");
		app_close(&a);
		sim_free(sim);
		return 2;
	}
	snprintf(herald, sizeof(herald), "http://%s:%d",
	         strcmp(hhost, "0.0.0.0") == 0 ? "127.0.0.1" : hhost, hport);
	if (app_open(&a, 1, &e) || demo_seed(base, &cid, &e) ||
	    demo_wire(base, &a, herald, cid, &e)) {
		log_error("msg=\"cannot start the demo\" err=\"%s\"", e.msg);
		goto out;
	}
	printf("Herald demo\n"
	       "  chat with the bot:  %s/\n"
	       "  Herald's API:       %s/api/v1/openapi.json\n"
	       "Stop with Ctrl-C.\n",
	       base, herald);
	fflush(stdout);
	rc = cmd_run(&a, 0, NULL);
out:
	app_close(&a);
	sim_free(sim);
	return rc;
}

/* The commands that need the settings, the store and kv. */
static const struct command {
	const char *name, *sub; /* "user", "add"; sub NULL for one-word commands */
	int (*fn)(struct app *a, int argc, char **argv);
} commands[] = {
    {"run", NULL, cmd_run},
    {"migrate", NULL, cmd_migrate},
    {"user", "add", cmd_user_add},
    {"apikey", "create", cmd_apikey_create},
};

static const struct command *find_command(int argc, char **argv)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *c = &commands[i];

		if (strcmp(argv[1], c->name) == 0 &&
		    (!c->sub || (argc > 2 && strcmp(argv[2], c->sub) == 0)))
			return c;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	const char *config = NULL;
	struct app a;
	struct err e = {0};
	int i = 1, rc;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config = argv[i + 1];
			i += 2;
			continue;
		}
		fprintf(stderr, "herald: unknown option %s (see herald --help)\n", argv[i]);
		return 2;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	argc -= i - 1;
	argv += i - 1;
	if (strcmp(argv[1], "version") == 0) {
		printf("herald %s\n", HERALD_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "sim") == 0)
		return sim_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "demo") == 0) {
		hc_global_init();
		i18n_init();
		return cmd_demo(argc - 1, argv + 1, config);
	}
	if (strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	cmd = find_command(argc, argv);
	if (!cmd) {
		fprintf(stderr, "herald: unknown command \"%s\" (see herald --help)\n", argv[1]);
		return 2;
	}
	/* libraries with process-wide state, before any thread starts */
	hc_global_init();
	i18n_init();
	if (app_configure(&a, config, &e)) {
		fprintf(stderr, "herald: %s\n", e.msg);
		return 2;
	}
	if (app_open(&a, 1, &e)) {
		log_error("msg=\"cannot open\" err=\"%s\"", e.msg);
		app_close(&a);
		return 1;
	}
	rc = cmd->fn(&a, argc, argv);
	app_close(&a);
	return rc;
}
