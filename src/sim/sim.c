/*
 * sim: starting and stopping the simulator, and `herald sim`.
 *
 * The HTTP server runs a thread per connection (a long poll holds its
 * thread for up to its timeout without delaying anyone else) with a route
 * table of the control API, the audience model's (audience.c), the public
 * channel pages /s/<username> (tme.c), the Payme and Click drivers' and the
 * Stripe simulator's routes (stripe.h), the web page and /{tok}/{method}
 * for the Bot API. A second thread delivers webhooks; the Stripe simulator
 * has its own. Stopping sets a flag and wakes every waiter, so held requests
 * answer at once, then stops the server and joins the delivery threads.
 */
#include "sim/sim.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"
#include "lib/hc.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "sim/drivers.h"
#include "sim/sim_impl.h"
#include "sim/stripe.h"

static struct route *routes_new(size_t *n)
{
	static const struct route tail[] = {
	    {"GET", "/", sim_page, 0, "the web chat page"},
	    {"GET", "/{tok}/{method}", sim_botapi, 0, "a Bot API method"},
	    {"POST", "/{tok}/{method}", sim_botapi, 0, "a Bot API method"},
	};
	const struct {
		const struct route *r;
		size_t n;
	} parts[] = {
	    {sim_control_routes, sim_control_nroutes},
	    {sim_demo_routes, sim_demo_nroutes},
	    {sim_audience_routes, sim_audience_nroutes},
	    {sim_tme_routes, sim_tme_nroutes}, /* before /{tok}/{method}, which /s/{name} is too */
	    {sim_payme_routes, sim_payme_nroutes},
	    {sim_click_routes, sim_click_nroutes},
	    {sim_stripe_routes, sim_stripe_nroutes},
	    {tail, ARRAY_SIZE(tail)}, /* last: /{tok}/{method} matches much */
	};
	struct route *r;

	*n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		*n += parts[i].n;
	r = xcalloc(*n, sizeof(*r));
	*n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		memcpy(r + *n, parts[i].r, parts[i].n * sizeof(*r));
		*n += parts[i].n;
	}
	return r;
}

/* The routes live as long as the server: kept beside it. */
struct sim_owner {
	struct sim s;
	struct route *routes;
};

int sim_start(struct sim **out, const struct sim_opts *o, struct err *e)
{
	struct sim_owner *ow;
	struct sim *s;
	struct http_opts ho = {0};
	pthread_condattr_t ca;
	const char *colon = o->token ? strchr(o->token, ':') : NULL;
	int64_t bot_id;
	size_t nroutes;
	int rc;

	*out = NULL;
	if (!colon || !colon[1] ||
	    str_to_i64((struct str){o->token, (size_t)(colon - o->token)}, 1, INT64_MAX, &bot_id))
		return err_set(e, ERR_INVALID, "the token must look like <bot id>:<secret>");
	ow = xcalloc(1, sizeof(*ow));
	s = &ow->s;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	s->bot_id = bot_id;
	s->token = xstrdup(o->token);
	s->bot_username = xstrdup(o->bot_username ? o->bot_username : "HeraldDemoBot");
	s->rate_limits_default = o->rate_limits;
	sim_world_init(s);
	if ((rc = sim_payme_new(&s->payme, &o->payme, e)) ||
	    (rc = sim_click_new(&s->click, &o->click, e))) {
		sim_free(s);
		return rc;
	}
	hc_global_init();
	s->stripe =
	    sim_stripe_new(&(struct sim_stripe_opts){.key = o->stripe_key,
	                                             .webhook_url = o->stripe_webhook,
	                                             .webhook_secret = o->stripe_webhook_secret});

	ow->routes = routes_new(&nroutes);
	ho.host = o->host ? o->host : "127.0.0.1";
	ho.port = o->port;
	ho.threads = 1;
	ho.max_connections = 1000;
	ho.max_body = SIM_MAX_BODY;
	ho.max_headers = 100;
	/* libmicrohttpd may close a connection whose handler ran longer than
	 * this: more than any request is held (getUpdates: 600 s at most) */
	ho.timeout_s = 700;
	ho.json_max_depth = SIM_JSON_DEPTH;
	ho.routes = ow->routes;
	ho.nroutes = nroutes;
	ho.ctx = s;
	ho.thread_per_connection = true;
	rc = http_server_start(&s->http, &ho, e);
	if (rc) {
		sim_free(s);
		return rc;
	}
	if (pthread_create(&s->webhook_thread, NULL, sim_webhook_main, s) != 0) {
		sim_free(s);
		return err_set(e, ERR_INTERNAL, "cannot start the webhook thread");
	}
	s->webhook_thread_started = true;
	*out = s;
	return 0;
}

int sim_port(const struct sim *s)
{
	return http_server_port(s->http);
}

void sim_free(struct sim *s)
{
	struct sim_owner *ow = (struct sim_owner *)s;

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	sim_broadcast(s);
	pthread_mutex_unlock(&s->mu);
	if (s->http) {
		http_server_drain(s->http, 3000);
		http_server_free(s->http);
	}
	if (s->webhook_thread_started)
		pthread_join(s->webhook_thread, NULL);
	sim_stripe_free(s->stripe);
	sim_world_release(s);
	sim_payme_free(s->payme);
	sim_click_free(s->click);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s->token);
	free(s->bot_username);
	free(ow->routes);
	free(ow);
}

static void usage(FILE *out)
{
	fputs("usage: herald sim [--listen HOST:PORT] [--token T] [--username NAME] "
	      "[--no-rate-limits]\n"
	      "                  [--payme-endpoint URL] [--payme-key KEY] [--payme-merchant ID]\n"
	      "                  [--click-prepare URL] [--click-complete URL] [--click-secret S]\n"
	      "                  [--click-service-id N] [--click-merchant-id N]\n"
	      "                  [--stripe-key K] [--stripe-webhook URL] [--stripe-webhook-secret "
	      "S]\n"
	      "\n"
	      "Serve a simulator of the Telegram Bot API (docs/simulator.md), drivers that\n"
	      "play Payme and Click against a merchant (docs/sim-payme-click.md), and a\n"
	      "simulator of Stripe under /stripe (docs/sim-stripe.md).\n"
	      "\n"
	      "  --listen HOST:PORT     where to listen (default " SIM_DEFAULT_LISTEN ")\n"
	      "  --token T              the bot's token (default " SIM_DEFAULT_TOKEN ")\n"
	      "  --username NAME        the bot's username (default HeraldDemoBot)\n"
	      "  --no-rate-limits       do not enforce Telegram's flood limits\n"
	      "  --payme-endpoint URL   where Payme's requests go (Herald's /hooks/payme)\n"
	      "  --payme-key KEY        the cashbox key (Basic auth, login Paycom)\n"
	      "  --payme-merchant ID    the cashbox id the checkout page /payme/<base64> knows\n"
	      "  --click-prepare URL    where Click's Prepare goes (/hooks/click/prepare)\n"
	      "  --click-complete URL   where Click's Complete goes (/hooks/click/complete)\n"
	      "  --click-secret S       the service's secret key (sign_string, Merchant API)\n"
	      "  --click-service-id N   the service id\n"
	      "  --click-merchant-id N  the merchant id the payment page knows\n"
	      "  --stripe-key K         the Stripe secret key clients must send\n"
	      "                         (default " SIM_STRIPE_DEFAULT_KEY ")\n"
	      "  --stripe-webhook URL   where Stripe events are POSTed (default: nowhere)\n"
	      "  --stripe-webhook-secret S\n"
	      "                         the whsec_ secret that signs them\n",
	      out);
}

int sim_main(int argc, char **argv)
{
	struct sim_opts o = {.token = SIM_DEFAULT_TOKEN, .rate_limits = true};
	const char *listen = SIM_DEFAULT_LISTEN, *level = getenv("HERALD_LOG_LEVEL");
	struct sim *s = NULL;
	struct err e = {0};
	char host[64];
	sigset_t set;
	int sig = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--no-rate-limits") == 0) {
			o.rate_limits = false;
			continue;
		}
		if (i + 1 < argc && strcmp(a, "--listen") == 0) {
			listen = argv[++i];
		} else if (i + 1 < argc && strcmp(a, "--token") == 0) {
			o.token = argv[++i];
		} else if (i + 1 < argc && strcmp(a, "--username") == 0) {
			o.bot_username = argv[++i];
		} else if (i + 1 < argc && sim_drivers_opt(&o, a, argv[i + 1])) {
			i++;
		} else if (i + 1 < argc && strcmp(a, "--stripe-key") == 0) {
			o.stripe_key = argv[++i];
		} else if (i + 1 < argc && strcmp(a, "--stripe-webhook") == 0) {
			o.stripe_webhook = argv[++i];
		} else if (i + 1 < argc && strcmp(a, "--stripe-webhook-secret") == 0) {
			o.stripe_webhook_secret = argv[++i];
		} else {
			fprintf(stderr, "herald sim: %s: unknown option or missing value\n", a);
			usage(stderr);
			return 2;
		}
	}
	if ((o.stripe_key && !*o.stripe_key) ||
	    (o.stripe_webhook_secret && !*o.stripe_webhook_secret) ||
	    (o.stripe_webhook && strncmp(o.stripe_webhook, "http://", 7) &&
	     strncmp(o.stripe_webhook, "https://", 8))) {
		fprintf(stderr, "herald sim: --stripe-webhook must be an http(s) URL; "
		                "--stripe-key and --stripe-webhook-secret must not be empty\n");
		return 2;
	}
	if (config_parse_listen(listen, host, sizeof(host), &o.port)) {
		fprintf(stderr, "herald sim: --listen: \"%s\" is not HOST:PORT\n", listen);
		return 2;
	}
	o.host = host;
	if (level && log_level_parse(level) >= 0)
		log_threshold = (enum log_level)log_level_parse(level);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (sim_start(&s, &o, &e)) {
		fprintf(stderr, "herald sim: %s\n", e.msg);
		return 1;
	}
	printf("sim listening on http://%s:%d\n", host, sim_port(s));
	fflush(stdout);
	sigwait(&set, &sig);
	log_info("msg=\"sim stopping\" signal=%s", sig == SIGTERM ? "TERM" : "INT");
	sim_free(s);
	return 0;
}
