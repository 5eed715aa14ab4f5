/*
 * tg limit: flood control shared by every node of the bot (protocols.md
 * A.11). Three token buckets in kv: "tg:global" for the whole bot,
 * "tg:chat:<id>" for a private chat and "tg:group:<id or @name>" for a group
 * or channel. A 429 sets "tg:pause" to the Unix millisecond until which no
 * node sends, with a TTL of retry_after plus TG_AFTERMATH_MS, so one node's
 * 429 slows them all. In that aftermath the senders go one at a time (the
 * "tg:probe" lock, held until the answer is in): had they all gone at once
 * when the window closed, a second 429 would find the others' requests
 * already on their way, each one more violation.
 *
 * When kv cannot be reached (Redis down) the buckets are skipped, with a
 * warning at most once a minute: for a single node, sending a little too
 * fast and meeting Telegram's own 429 (which is still honoured) beats not
 * sending at all.
 */
#include "tg/tg_impl.h"

#include <stdio.h>
#include <string.h>

#include "kv/kv.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/log.h"
#include "lib/str.h"

#define TG_PAUSE_KEY        "tg:pause"
#define TG_GLOBAL_KEY       "tg:global"
#define TG_KV_WARN_EVERY_MS 60000
#define TG_PROBE_KEY        "tg:probe"
#define TG_AFTERMATH_MS     3000 /* after a window: one sender at a time */
#define TG_PROBE_POLL_MS    10

int64_t tg_jitter(int64_t max)
{
	uint32_t r;

	if (max <= 0)
		return 0;
	crypto_random(&r, sizeof(r));
	return (int64_t)(r % ((uint64_t)max + 1));
}

static void kv_warn(struct tg_client *c, const struct err *e)
{
	long long now = clock_mono_ms(), last = atomic_load(&c->kv_warned_ms);

	if (last && now - last < TG_KV_WARN_EVERY_MS)
		return;
	if (!atomic_compare_exchange_strong(&c->kv_warned_ms, &last, now))
		return; /* another thread just warned */
	log_warn("msg=\"telegram rate limits skipped: kv unavailable\" error=\"%s\"", e->msg);
}

void tg_pause_set(struct tg_client *c, int retry_after)
{
	int64_t until = clock_now_ms() + (int64_t)retry_after * 1000, cur;
	struct buf v;
	struct err e = {0};
	char text[32];
	int rc, n;

	if (!c->kv || retry_after <= 0)
		return;
	/* keep a later pause another node set (a race only shortens the wait
	 * to what this 429 asked for) */
	buf_init(&v, 64);
	rc = kv_get(c->kv, TG_PAUSE_KEY, &v, &e);
	if (rc == 0 && str_to_i64((struct str){v.p, v.len}, 0, INT64_MAX, &cur) == 0 &&
	    cur >= until) {
		buf_release(&v);
		return;
	}
	buf_release(&v);
	n = snprintf(text, sizeof(text), "%lld", (long long)until);
	rc = kv_set(c->kv, TG_PAUSE_KEY, text, (size_t)n,
	            (int64_t)retry_after * 1000 + TG_AFTERMATH_MS, &e);
	if (rc)
		kv_warn(c, &e);
}

/* Wait until the shared pause is over. 1: kv unavailable, skip the rest.
 * *recent: a window was set lately (over or not). */
static int wait_pause(struct tg_client *c, int64_t *waited, bool *recent, struct tg_error *te)
{
	struct err e = {0};
	struct buf v;
	int64_t until, left;
	int rc;

	buf_init(&v, 64);
	for (;;) {
		buf_reset(&v);
		rc = kv_get(c->kv, TG_PAUSE_KEY, &v, &e);
		if (rc == -ERR_NOT_FOUND) {
			rc = 0;
			break;
		}
		if (rc) {
			kv_warn(c, &e);
			rc = 1;
			break;
		}
		if (str_to_i64((struct str){v.p, v.len}, 0, INT64_MAX, &until) != 0)
			break; /* not ours: ignore it */
		*recent = true;
		left = until - clock_now_ms();
		if (left <= 0)
			break;
		if (*waited + left > c->max_wait_ms) {
			rc = tg_fail_set(te, TG_FAIL_RETRY_AFTER, 429,
			                 "sending paused by flood control for %lld ms more",
			                 (long long)left);
			te->retry_after = (int)((left + 999) / 1000);
			break;
		}
		clock_sleep_ms(left);
		*waited += left;
	}
	buf_release(&v);
	return rc;
}

/* Take one token from bucket, sleeping while it is empty. 1: kv unavailable. */
static int take(struct tg_client *c, const char *bucket, double rate, double burst, int64_t *waited,
                struct tg_error *te)
{
	struct err e = {0};
	int64_t wait;
	int rc;

	for (;;) {
		rc = kv_take(c->kv, bucket, rate, burst, &wait, &e);
		if (rc == 0)
			return 0;
		if (rc != -ERR_BUSY) {
			kv_warn(c, &e);
			return 1;
		}
		if (*waited + wait > c->max_wait_ms) {
			/* reported as a flood limit: the caller should try later */
			rc = tg_fail_set(te, TG_FAIL_RETRY_AFTER, 0,
			                 "rate limit wait of %lld ms is over the budget",
			                 (long long)wait);
			te->retry_after = (int)((wait + 999) / 1000);
			return -ERR_TIMEOUT;
		}
		clock_sleep_ms(wait);
		*waited += wait;
	}
}

/* The bucket of chat_id in params into key; false when there is none. */
static bool chat_bucket(const struct tg_client *c, const json_t *params, char *key, size_t keysz,
                        double *rate, double *burst)
{
	const json_t *v = json_object_get(params, "chat_id");
	int64_t id;
	int n;

	if (json_is_integer(v)) {
		id = json_integer_value(v);
	} else if (json_is_string(v) && json_string_value(v)[0] == '@') {
		n = snprintf(key, keysz, "tg:group:%.64s", json_string_value(v));
		*rate = c->group_rate;
		*burst = c->group_burst;
		return n > 0;
	} else if (!json_is_string(v) ||
	           str_to_i64(str_c(json_string_value(v)), INT64_MIN, INT64_MAX, &id) != 0) {
		return false;
	}
	if (id > 0) {
		n = snprintf(key, keysz, "tg:chat:%lld", (long long)id);
		*rate = c->chat_rate;
		*burst = c->chat_burst;
	} else {
		n = snprintf(key, keysz, "tg:group:%lld", (long long)id);
		*rate = c->group_rate;
		*burst = c->group_burst;
	}
	return n > 0;
}

/* Become the one sender of the aftermath of a window: token gets the lock's
 * token ("" when kv is unavailable). */
static int probe_take(struct tg_client *c, int64_t *waited, char token[KV_TOKEN_SIZE],
                      struct tg_error *te)
{
	struct err e = {0};
	bool recent = false;
	int rc;

	for (;;) {
		rc = kv_lock(c->kv, TG_PROBE_KEY, c->timeout_ms + 1000, token, &e);
		if (rc == 0)
			break;
		if (rc != -ERR_BUSY) {
			kv_warn(c, &e);
			token[0] = '\0';
			return 0;
		}
		if (*waited + TG_PROBE_POLL_MS > c->max_wait_ms) {
			token[0] = '\0';
			rc = tg_fail_set(te, TG_FAIL_RETRY_AFTER, 0,
			                 "another request goes first after flood control");
			te->retry_after = 1;
			return -ERR_TIMEOUT;
		}
		clock_sleep_ms(TG_PROBE_POLL_MS);
		*waited += TG_PROBE_POLL_MS;
	}
	/* the one before may have met another 429 */
	rc = wait_pause(c, waited, &recent, te);
	if (rc < 0) {
		tg_probe_done(c, token);
		token[0] = '\0';
		return rc;
	}
	return 0;
}

void tg_probe_done(struct tg_client *c, char token[KV_TOKEN_SIZE])
{
	struct err e = {0};

	if (!token[0])
		return;
	if (kv_unlock(c->kv, TG_PROBE_KEY, token, &e) != 0 && e.code != ERR_NOT_FOUND)
		kv_warn(c, &e);
	token[0] = '\0';
}

int tg_throttle(struct tg_client *c, const json_t *params, int64_t *waited,
                char probe[KV_TOKEN_SIZE], struct tg_error *te)
{
	char key[96];
	double rate = 0, burst = 0;
	bool recent = false;
	int rc;

	probe[0] = '\0';
	if (!c->kv)
		return 0;
	rc = wait_pause(c, waited, &recent, te);
	/* the chat's bucket first: a wait over the budget then wastes no
	 * token of the global one, which every chat shares */
	if (rc == 0 && chat_bucket(c, params, key, sizeof(key), &rate, &burst))
		rc = take(c, key, rate, burst, waited, te);
	if (rc == 0)
		rc = take(c, TG_GLOBAL_KEY, c->global_rate, c->global_burst, waited, te);
	/* a 429 another thread or node met while this one slept on a bucket:
	 * its window is honoured before the request goes */
	if (rc == 0)
		rc = wait_pause(c, waited, &recent, te);
	if (rc == 0 && recent)
		rc = probe_take(c, waited, probe, te);
	return rc > 0 ? 0 : rc;
}
