/*
 * tg_impl: what the parts of the Bot API client share and nobody else needs.
 */
#ifndef HERALD_TG_IMPL_H
#define HERALD_TG_IMPL_H

#include <stdatomic.h>

#include "kv/kv.h"
#include "tg/tg.h"

/* The client: frozen after tg_client_new, so threads share it freely. */
struct tg_client {
	char *api; /* without a trailing '/' */
	char *token;
	size_t secret_off; /* where the secret starts in token, after ':' */
	int64_t bot_id;
	struct kv *kv;
	long timeout_ms;
	int max_attempts;
	int64_t max_wait_ms;
	int64_t backoff_ms;
	double global_rate, global_burst;
	double chat_rate, chat_burst;
	double group_rate, group_burst; /* per second */
	struct tg_transport transport;
	atomic_llong kv_warned_ms; /* monotonic time of the last "kv unavailable" warning */
};

/* The return code tg.h documents for a failure kind (0 for TG_FAIL_NONE). */
int tg_fail_rc(enum tg_fail f);

/*
 * Record a failure in te: kind, code, and a message for a person made of fmt.
 * Returns tg_fail_rc(f).
 */
int tg_fail_set(struct tg_error *te, enum tg_fail f, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Before an attempt of a sending method: wait while the shared pause is in
 * the future, then take a token from the chat's bucket (chat_id in params)
 * and from the global bucket, sleeping as told, then look at the pause again
 * (another sender may have met a 429 meanwhile). *waited (ms) grows by every
 * sleep and stays within c->max_wait_ms: -ERR_BUSY (a pause) or -ERR_TIMEOUT
 * (a bucket) with te filled when it would not.
 */
int tg_throttle(struct tg_client *c, const json_t *params, int64_t *waited,
                char probe[KV_TOKEN_SIZE], struct tg_error *te);
/* In the aftermath of a window tg_throttle may make the call the one sender
 * (probe not ""): release that once its answer is in. */
void tg_probe_done(struct tg_client *c, char probe[KV_TOKEN_SIZE]);

/* After a 429: pause every sender of the bot for retry_after seconds. */
void tg_pause_set(struct tg_client *c, int retry_after);

/* A random number of milliseconds in [0, max]. */
int64_t tg_jitter(int64_t max);

#endif
