/*
 * herald: the command line. Parses the global options and the command, then
 * hands over to the parts: run serves, migrate migrates, user and apikey are
 * operator commands on the store.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "bot/bot.h"
#include "http/api.h"
#include "http/server.h"
#include "kv/kv.h"
#include "lib/hc.h"
#include "lib/i18n.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "sim/sim.h"
#include "store/store.h"
#include "users/users.h"

static void usage(FILE *out)
{
	fputs("usage: herald [--config FILE] COMMAND [ARGS]\n"
	      "\n"
	      "Herald: analytics, scheduling, alerts and paid plans for Telegram channels.\n"
	      "\n"
	      "commands:\n"
	      "  run                                  serve (the roles in HERALD_ROLES)\n"
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

	/* Signals are taken by sigwait() below; every thread started after
	 * this inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

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
	log_info("msg=started version=%s", HERALD_VERSION);
	sigwait(&set, &sig);
	log_info("msg=stopping signal=%s", sig == SIGTERM ? "TERM" : "INT");
	if (a->http)
		http_server_drain(a->http, app_int(a, SET_SHUTDOWN_TIMEOUT) * 1000);
out:
	if (a->bot)
		bot_stop(a->bot);
	if (a->http) {
		http_server_free(a->http);
		a->http = NULL;
	}
	bot_free(a->bot);
	a->bot = NULL;
	if (rc == 0)
		log_info("msg=stopped");
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
