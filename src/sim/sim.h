/*
 * sim: a simulator of the Telegram Bot API for tests and the demo.
 *
 * It serves the Bot API (/bot<token>/<method>) with Telegram's semantics,
 * result shapes and error texts, keeps the whole world in memory (users,
 * private chats, channels and their administrators, the messages the bot
 * sent, the update queue), delivers updates by long polling or by webhook,
 * enforces Telegram's flood limits with 429, and offers a control API under
 * /control/ (docs/simulator.md) through which tests act as users and channel
 * administrators, inject failures and read what the bot did. Channels have
 * an audience (views, reactions, joins and leaves on Telegram's clock) and
 * public pages /s/<username> as t.me serves them. GET / is a web chat page
 * for trying the bot by hand.
 *
 * Beside it run the Payme and Click drivers (drivers.h,
 * docs/sim-payme-click.md): they call Herald's payment hooks as the
 * providers do and serve the providers' checkout pages.
 */
#ifndef HERALD_SIM_H
#define HERALD_SIM_H

#include <stdbool.h>

#include "lib/err.h"

struct sim;

/* The Payme driver (docs/sim-payme-click.md); NULL: unset. */
struct sim_payme_opts {
	const char *endpoint;    /* where to POST, Herald's /hooks/payme */
	const char *key;         /* the cashbox key (the Basic password) */
	const char *merchant_id; /* the cashbox id the checkout page knows */
};

/* The Click driver (docs/sim-payme-click.md); NULL: unset. */
struct sim_click_opts {
	const char *prepare_url, *complete_url;
	const char *secret;
	const char *service_id, *merchant_id; /* digits */
};

struct sim_opts {
	const char *host;         /* "127.0.0.1" */
	int port;                 /* 0: any free port */
	const char *token;        /* "<bot id>:<secret>"; the bot's user id is the number */
	const char *bot_username; /* e.g. "HeraldDemoBot"; NULL: "HeraldDemoBot" */
	bool rate_limits;         /* enforce Telegram's limits with 429 */
	struct sim_payme_opts payme;
	struct sim_click_opts click;
	/* the Stripe simulator (docs/sim-stripe.md); NULL: its defaults */
	const char *stripe_key;            /* the secret key it accepts */
	const char *stripe_webhook;        /* where it posts events */
	const char *stripe_webhook_secret; /* the whsec_ it signs them with */
};

#define SIM_DEFAULT_TOKEN  "123456789:SIMTOKEN-demo"
#define SIM_DEFAULT_LISTEN "127.0.0.1:8081"

/*
 * Start serving on threads of its own. On failure *out is NULL and e says
 * why (a malformed token, a port in use).
 */
int sim_start(struct sim **out, const struct sim_opts *o, struct err *e) WUR;
/* The port actually bound. */
int sim_port(const struct sim *s);
/* Stop serving (held long polls are answered) and free everything. */
void sim_free(struct sim *s);

/*
 * `herald sim [--listen HOST:PORT] [--token T] [--username NAME]
 * [--no-rate-limits] [Payme, Click and Stripe options]`: argv[0] is "sim". Prints "sim listening on
 * http://HOST:PORT" on stdout when ready and runs until SIGTERM or SIGINT.
 * Returns the process exit status.
 */
int sim_main(int argc, char **argv);

#endif
