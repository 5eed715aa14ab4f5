/*
 * bot: update intake and dispatch (docs/bot.md).
 *
 * Intake writes every update into the tg_updates inbox, once per
 * (bot, update_id) thanks to the table's UNIQUE key: a webhook delivery
 * through bot_accept(), or, when HERALD_PUBLIC_URL is unset, a poller thread
 * that holds a kv lock (so one node of a cluster polls), long-polls
 * getUpdates from the offset kept in bot_state, and stores the next offset
 * in the same transaction as the rows, so a crash fetches again and the key
 * drops the repeats.
 *
 * Dispatch: BOT_LANES lanes, a lane being the hash of a chat key modulo
 * BOT_LANES. A thread per lane holds the lane's kv lock (other nodes' lane
 * threads wait as standbys), takes the lane's new rows in id order, runs the
 * handler and marks each row done, or failed after BOT_MAX_ATTEMPTS runs for
 * transient errors (at once for others). One chat's updates therefore run
 * in order, one at a time, and a failing handler never stops its lane. An
 * insert wakes its lane at once in this process; lanes also look for rows
 * written by other nodes every idle_ms.
 */
#include "bot/bot_impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "kv/kv.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/hc.h"
#include "lib/i18n.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/store.h"
#include "tg/tg.h"

#define POLL_TIMEOUT_S 25
#define POLL_LIMIT     100
#define POLL_LOCK_TTL  (90 * 1000)
#define LANE_LOCK_TTL  (60 * 1000)
#define BACKOFF_MAX_MS (30 * 1000)
#define STANDBY_MS     1000
#define PRUNE_EVERY_MS (60 * 60 * 1000)
#define PRUNE_AFTER_MS ((int64_t)7 * 24 * 60 * 60 * 1000)
#define COMMANDS_RETRY (5 * 60 * 1000)

/* ---- waiting --------------------------------------------------------- */

void bot_wait(struct bot *b, int lane, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&b->mu);
	while (!atomic_load(&b->stopping) && !(lane >= 0 && b->pending[lane]))
		if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) != 0)
			break;
	if (lane >= 0)
		b->pending[lane] = false;
	pthread_mutex_unlock(&b->mu);
}

static void wake_lane(struct bot *b, unsigned lane)
{
	pthread_mutex_lock(&b->mu);
	b->pending[lane] = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Give a lock back; one that expired meanwhile is no matter. */
static void unlock(struct bot *b, const char *key, const char *token)
{
	struct err e = {0};

	if (kv_unlock(b->a->kv, key, token, &e))
		log_debug("msg=\"lock not released\" key=%s err=\"%s\"", key, e.msg);
}

static bool transient(int rc)
{
	return rc == -ERR_UNAVAILABLE || rc == -ERR_BUSY || rc == -ERR_TIMEOUT;
}

/* ---- intake ---------------------------------------------------------- */

/* Insert one routed update on c; *fresh tells a new row from a repeat. */
static int insert_update(struct bot *b, struct store_conn *c, const struct bot_route *r,
                         const char *body, size_t len, bool *fresh, struct err *e)
{
	struct store_val a[] = {SV_INT(b->bot_id),   SV_INT(r->update_id), SV_INT(r->lane),
	                        SV_INT(r->chat_key), SV_TEXTN(body, len),  SV_INT(clock_now_ms())};
	struct store_res *res = NULL;
	int rc = store_query(c,
	                     "INSERT INTO tg_updates (bot_id, update_id, lane, chat_id, body, "
	                     "received_at) VALUES ($1, $2, $3, $4, $5, $6) "
	                     "ON CONFLICT (bot_id, update_id) DO NOTHING",
	                     a, ARRAY_SIZE(a), &res, e);

	if (rc)
		return rc;
	*fresh = store_res_changes(res) == 1;
	store_res_free(res);
	return 0;
}

int bot_accept(struct bot *b, const char *body, size_t len, struct err *e)
{
	struct bot_route r;
	struct store_conn *c = NULL;
	struct err le = {0};
	json_t *upd = NULL;
	bool fresh = false;
	int rc;

	if (len > BOT_UPDATE_MAX)
		return err_set(e, ERR_INVALID, "an update larger than %u bytes", BOT_UPDATE_MAX);
	if (json_parse(body, len, BOT_UPDATE_DEPTH, &upd, &le))
		return err_set(e, ERR_INVALID, "not an update: %s", le.msg);
	rc = bot_route_update(upd, &r, e);
	json_decref(upd);
	if (rc)
		return rc;
	rc = store_conn_get(b->a->store, &c, &le);
	if (!rc) {
		rc = insert_update(b, c, &r, body, len, &fresh, &le);
		store_conn_put(b->a->store, c);
	}
	if (rc)
		return err_set(e, ERR_UNAVAILABLE, "update %lld not recorded: %s",
		               (long long)r.update_id, le.msg);
	if (fresh) {
		atomic_fetch_add(&b->received, 1);
		wake_lane(b, r.lane);
	} else {
		atomic_fetch_add(&b->repeats, 1);
	}
	return 0;
}

static void offset_key(const struct bot *b, char *out, size_t outsz)
{
	snprintf(out, outsz, "poll_offset:%lld", (long long)b->bot_id);
}

static int load_offset(struct bot *b, int64_t *offset, struct err *e)
{
	char key[64];
	struct store_res *res = NULL;
	struct store_val a[1];
	int rc;

	offset_key(b, key, sizeof(key));
	a[0] = SV_TEXT(key);
	rc = store_exec(b->a->store, "SELECT value FROM bot_state WHERE name = $1", a, 1, &res, e);
	if (rc)
		return rc;
	*offset = 0;
	if (store_res_rows(res) == 1 &&
	    str_to_i64(str_c(store_res_text(res, 0, 0)), 0, INT64_MAX, offset))
		*offset = 0;
	store_res_free(res);
	return 0;
}

/*
 * Record a getUpdates batch and the next offset in one transaction. On
 * success *offset is past the batch and *woken says which lanes got rows.
 */
static int record_batch(struct bot *b, const json_t *arr, int64_t *offset, bool woken[BOT_LANES],
                        struct err *e)
{
	struct store_conn *c = NULL;
	int64_t next = *offset, fresh_n = 0, repeat_n = 0;
	char key[64], val[32];
	struct buf body;
	size_t i;
	json_t *u;
	int rc;

	rc = store_conn_get(b->a->store, &c, e);
	if (rc)
		return rc;
	rc = store_begin(c, e);
	if (rc)
		goto out;
	buf_init(&body, BOT_UPDATE_MAX);
	json_array_foreach(arr, i, u)
	{
		struct bot_route r;
		bool fresh = false;
		struct err ue = {0};

		if (bot_route_update(u, &r, &ue)) {
			log_warn("msg=\"getUpdates returned something that is not an update\" "
			         "err=\"%s\"",
			         ue.msg);
			continue;
		}
		if (r.update_id >= next)
			next = r.update_id + 1;
		buf_reset(&body);
		if (json_to_buf(u, &body)) {
			log_warn("msg=\"update dropped: too large\" update_id=%lld",
			         (long long)r.update_id);
			continue;
		}
		rc = insert_update(b, c, &r, body.p, body.len, &fresh, e);
		if (rc)
			break;
		if (fresh) {
			woken[r.lane] = true;
			fresh_n++;
		} else {
			repeat_n++;
		}
	}
	buf_release(&body);
	if (!rc && next != *offset) {
		struct store_val a[2];

		offset_key(b, key, sizeof(key));
		snprintf(val, sizeof(val), "%lld", (long long)next);
		a[0] = SV_TEXT(key);
		a[1] = SV_TEXT(val);
		rc = store_query(c,
		                 "INSERT INTO bot_state (name, value) VALUES ($1, $2) "
		                 "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
		                 a, 2, NULL, e);
	}
	if (!rc)
		rc = store_commit(c, e);
	if (rc) {
		store_rollback(c);
		goto out;
	}
	*offset = next;
	atomic_fetch_add(&b->received, fresh_n);
	atomic_fetch_add(&b->repeats, repeat_n);
out:
	store_conn_put(b->a->store, c);
	return rc;
}

static void prune(struct bot *b, int64_t *last)
{
	int64_t now = clock_mono_ms();
	struct err e = {0};

	if (*last && now - *last < PRUNE_EVERY_MS)
		return;
	*last = now;
	{
		struct store_val a[] = {SV_INT(b->bot_id), SV_INT(clock_now_ms() - PRUNE_AFTER_MS)};

		if (store_exec(b->a->store,
		               "DELETE FROM tg_updates WHERE bot_id = $1 AND state = 'done' "
		               "AND done_at < $2",
		               a, 2, NULL, &e))
			log_warn("msg=\"cannot prune handled updates\" err=\"%s\"", e.msg);
	}
}

static int64_t backoff_next(int64_t ms)
{
	ms = ms ? ms * 2 : 1000;
	return ms > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms;
}

static int register_webhook(struct bot *b)
{
	const char *base = app_str(b->a, SET_PUBLIC_URL);
	char secret[APP_SECRET_MAX], url[1024];
	struct tg_error te = {0};
	size_t n = strlen(base);

	while (n && base[n - 1] == '/')
		n--;
	snprintf(url, sizeof(url), "%.*s/hooks/telegram", (int)n, base);
	/* the same secret POST /hooks/telegram checks: the setting, or one
	 * derived from the token */
	app_webhook_secret(b->a, secret);
	if (tg_set_webhook(b->intake, url, secret[0] ? secret : NULL, tg_allowed_updates, false,
	                   &te)) {
		log_warn("msg=\"cannot register the webhook\" err=\"%s\"", te.err.msg);
		return -1;
	}
	log_info("msg=\"webhook registered\" secret=%s", secret[0] ? "set" : "none");
	return 0;
}

static int remove_webhook(struct bot *b)
{
	struct tg_error te = {0};

	if (tg_delete_webhook(b->intake, false, &te)) {
		log_warn("msg=\"cannot remove the webhook\" err=\"%s\"", te.err.msg);
		return -1;
	}
	return 0;
}

struct poller {
	bool locked, webhook_gone;
	char token[KV_TOKEN_SIZE];
	int64_t locked_at, offset, backoff, pruned;
};

/* Hold the poll lock: take it, or extend it. false when another node polls. */
static bool poll_lock(struct bot *b, struct poller *p, const char *key)
{
	struct err e = {0};

	if (p->locked) {
		if (clock_mono_ms() - p->locked_at < POLL_LOCK_TTL / 3)
			return true;
		if (kv_lock_extend(b->a->kv, key, p->token, POLL_LOCK_TTL, &e) == 0) {
			p->locked_at = clock_mono_ms();
			return true;
		}
		log_warn("msg=\"poll lock lost\" err=\"%s\"", e.msg);
		p->locked = false;
	}
	if (kv_lock(b->a->kv, key, POLL_LOCK_TTL, p->token, &e))
		return false;
	p->locked = true;
	p->locked_at = clock_mono_ms();
	/* another node may have moved the offset while we did not hold it */
	if (load_offset(b, &p->offset, &e)) {
		log_warn("msg=\"cannot read the poll offset\" err=\"%s\"", e.msg);
		p->locked = false;
		unlock(b, key, p->token);
		return false;
	}
	log_info("msg=\"polling for updates\" offset=%lld", (long long)p->offset);
	return true;
}

static void poll_once(struct bot *b, struct poller *p)
{
	bool woken[BOT_LANES] = {false};
	struct tg_error te = {0};
	struct err e = {0};
	json_t *arr = NULL;
	int rc;

	if (!p->webhook_gone) {
		if (remove_webhook(b)) {
			p->backoff = backoff_next(p->backoff);
			bot_wait(b, -1, p->backoff);
			return;
		}
		p->webhook_gone = true;
	}
	rc = tg_get_updates(b->intake, p->offset, POLL_LIMIT, POLL_TIMEOUT_S, tg_allowed_updates,
	                    &arr, &te);
	if (atomic_load(&b->stopping)) {
		json_decref(arr);
		return;
	}
	if (rc) {
		/* 409: a webhook is set (remove it again) or another poller runs */
		if (te.fail == TG_FAIL_CONFLICT)
			p->webhook_gone = false;
		p->backoff = backoff_next(p->backoff);
		log_warn("msg=\"getUpdates failed\" fail=%d err=\"%s\" retry_ms=%lld", (int)te.fail,
		         te.err.msg, (long long)p->backoff);
		bot_wait(b, -1, p->backoff);
		return;
	}
	if (!json_is_array(arr)) {
		json_decref(arr);
		log_warn("msg=\"getUpdates returned no array\"");
		bot_wait(b, -1, (p->backoff = backoff_next(p->backoff)));
		return;
	}
	if (json_array_size(arr) && record_batch(b, arr, &p->offset, woken, &e)) {
		/* the offset did not move: the same updates come again */
		log_warn("msg=\"cannot record updates\" err=\"%s\"", e.msg);
		bot_wait(b, -1, (p->backoff = backoff_next(p->backoff)));
	} else {
		p->backoff = 0;
		for (unsigned i = 0; i < BOT_LANES; i++)
			if (woken[i])
				wake_lane(b, i);
	}
	json_decref(arr);
}

/* The command menu, once per start; tried again later while it fails. */
static void set_commands(struct bot *b, bool *done, int64_t *next)
{
	struct err e = {0};

	if (*done || clock_mono_ms() < *next)
		return;
	*done = bot_set_commands(b->intake, &e) == 0;
	*next = clock_mono_ms() + COMMANDS_RETRY;
	if (!*done && !atomic_load(&b->stopping))
		log_warn("msg=\"command menu not set\" err=\"%s\"", e.msg);
}

static void *intake_main(void *arg)
{
	struct bot *b = arg;
	struct poller p = {0};
	char key[64];
	bool registered = b->registered, commands = false;
	int64_t commands_next = 0;

	snprintf(key, sizeof(key), "herald:bot:%lld:poller", (long long)b->bot_id);
	while (!atomic_load(&b->stopping)) {
		set_commands(b, &commands, &commands_next);
		prune(b, &p.pruned);
		if (b->webhook) {
			if (!registered) {
				registered = register_webhook(b) == 0;
				if (!registered)
					bot_wait(b, -1, (p.backoff = backoff_next(p.backoff)));
				continue;
			}
			bot_wait(b, -1, 60 * 1000);
			continue;
		}
		if (!poll_lock(b, &p, key)) {
			bot_wait(b, -1, 5 * 1000);
			continue;
		}
		poll_once(b, &p);
	}
	if (p.locked)
		unlock(b, key, p.token);
	return NULL;
}

/* ---- dispatch -------------------------------------------------------- */

static int mark(struct bot *b, int64_t id, const char *state, const char *error, struct err *e)
{
	struct store_val a[] = {SV_INT(id), SV_TEXT(state), SV_TEXT(error ? error : ""),
	                        strcmp(state, "new") ? SV_INT(clock_now_ms()) : SV_NULL};

	return store_exec(b->a->store,
	                  "UPDATE tg_updates SET state = $2, error = $3, done_at = $4, "
	                  "attempts = attempts + 1 WHERE id = $1",
	                  a, ARRAY_SIZE(a), NULL, e);
}

/*
 * Handle one row. true: go on with the next row of the batch; false: the
 * row stays new (a transient failure, or its state could not be written),
 * so the lane looks at it again first.
 */
static bool run_row(struct bot *b, unsigned lane, int64_t id, int64_t update_id, const char *body,
                    int64_t attempts)
{
	struct err e = {0}, me = {0};
	json_t *upd = NULL;
	int rc;

	if (json_parse(body, strlen(body), BOT_UPDATE_DEPTH, &upd, &e))
		rc = -ERR_INVALID;
	else
		rc = bot_handle(b, upd, &e);
	json_decref(upd);
	if (rc == 0) {
		if (mark(b, id, "done", NULL, &me))
			goto unrecorded;
		atomic_fetch_add(&b->handled, 1);
		return true;
	}
	if (transient(rc) && attempts + 1 < BOT_MAX_ATTEMPTS) {
		log_info("msg=\"update will be tried again\" update_id=%lld lane=%u attempt=%lld "
		         "err=\"%s\"",
		         (long long)update_id, lane, (long long)attempts + 1, e.msg);
		if (mark(b, id, "new", e.msg, &me))
			goto unrecorded;
		atomic_fetch_add(&b->retried, 1);
		bot_wait(b, -1, (int64_t)500 << attempts);
		return false;
	}
	log_warn("msg=\"update failed\" update_id=%lld lane=%u attempts=%lld err=\"%s\"",
	         (long long)update_id, lane, (long long)attempts + 1,
	         e.msg[0] ? e.msg : err_name(rc));
	if (mark(b, id, "failed", e.msg[0] ? e.msg : err_name(rc), &me))
		goto unrecorded;
	atomic_fetch_add(&b->failed, 1);
	return true;
unrecorded:
	log_warn("msg=\"cannot record an update's state\" update_id=%lld err=\"%s\"",
	         (long long)update_id, me.msg);
	bot_wait(b, -1, 1000);
	return false;
}

struct lane {
	struct bot *b;
	unsigned n;
	char key[64];
	char token[KV_TOKEN_SIZE];
	bool locked;
	int64_t locked_at;
};

static bool lane_lock(struct lane *l)
{
	struct err e = {0};

	if (l->locked && clock_mono_ms() - l->locked_at < LANE_LOCK_TTL / 3)
		return true;
	if (l->locked) {
		if (kv_lock_extend(l->b->a->kv, l->key, l->token, LANE_LOCK_TTL, &e) == 0) {
			l->locked_at = clock_mono_ms();
			return true;
		}
		log_warn("msg=\"lane lock lost\" lane=%u err=\"%s\"", l->n, e.msg);
		l->locked = false;
	}
	if (kv_lock(l->b->a->kv, l->key, LANE_LOCK_TTL, l->token, &e))
		return false;
	l->locked = true;
	l->locked_at = clock_mono_ms();
	return true;
}

static void lane_batch(struct lane *l)
{
	struct bot *b = l->b;
	struct store_val a[] = {SV_INT(b->bot_id), SV_INT(l->n)};
	struct store_res *res = NULL;
	struct err e = {0};
	size_t n;

	if (store_exec(b->a->store,
	               "SELECT id, update_id, body, attempts FROM tg_updates "
	               "WHERE state = 'new' AND lane = $2 AND bot_id = $1 ORDER BY id LIMIT 32",
	               a, 2, &res, &e)) {
		log_warn("msg=\"cannot read the inbox\" lane=%u err=\"%s\"", l->n, e.msg);
		bot_wait(b, -1, 1000);
		return;
	}
	n = store_res_rows(res);
	for (size_t i = 0; i < n && !atomic_load(&b->stopping); i++) {
		if (!lane_lock(l))
			break;
		if (!run_row(b, l->n, store_res_int(res, i, 0), store_res_int(res, i, 1),
		             store_res_text(res, i, 2), store_res_int(res, i, 3)))
			break;
	}
	store_res_free(res);
	if (n == 0)
		bot_wait(b, (int)l->n, b->idle_ms);
}

static void *lane_main(void *arg)
{
	const struct bot_lane_arg *la = arg;
	struct lane l = {.b = la->b, .n = la->n};

	snprintf(l.key, sizeof(l.key), "herald:bot:%lld:lane:%u", (long long)l.b->bot_id, l.n);
	while (!atomic_load(&l.b->stopping)) {
		if (!lane_lock(&l)) {
			bot_wait(l.b, -1, STANDBY_MS);
			continue;
		}
		lane_batch(&l);
	}
	if (l.locked)
		unlock(l.b, l.key, l.token);
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------- */

/*
 * The intake's transport: lib/hc, with each request abandoned once the bot is
 * stopping, so a long poll held by Telegram ends within about a second.
 */
static int intake_send(void *arg, const struct hc_req *rq, struct hc_resp *rs, struct err *e)
{
	struct bot *b = arg;
	struct hc_req r = *rq;

	r.cancel = &b->stopping;
	return hc_do(&r, rs, e);
}

int bot_new(struct bot **out, struct app *a, struct err *e)
{
	struct tg_opts o = {0};
	pthread_condattr_t ca;
	struct bot *b;
	int rc;

	*out = NULL;
	if (!a->tg || !app_str(a, SET_BOT_TOKEN))
		return err_set(e, ERR_INVALID, "the bot needs HERALD_BOT_TOKEN");
	i18n_init();
	b = xcalloc(1, sizeof(*b));
	b->a = a;
	b->tg = a->tg;
	b->bot_id = tg_client_bot_id(a->tg);
	b->webhook = app_str(a, SET_PUBLIC_URL) != NULL;
	/* one node (memory kv): every insert wakes its lane in-process */
	b->idle_ms = strcmp(kv_backend(a->kv), "memory") == 0 ? 2000 : 200;
	atomic_init(&b->stopping, false);
	pthread_mutex_init(&b->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);
	b->intake_transport = (struct tg_transport){intake_send, b};
	o.api = app_str(a, SET_TELEGRAM_API);
	o.token = app_str(a, SET_BOT_TOKEN);
	o.timeout_ms = 10000;
	o.max_attempts = 1; /* the intake backs off by itself */
	o.transport = &b->intake_transport;
	rc = tg_client_new(&b->intake, &o, e);
	if (rc) {
		bot_free(b);
		return rc;
	}
	b->zones = bot_zones_new();
	*out = b;
	return 0;
}

int bot_start(struct bot *b, struct err *e)
{
	int rc;

	if (b->started)
		return err_set(e, ERR_CONFLICT, "the bot runs already");
	/* a first try now, so a healthy Telegram has the webhook set (or
	 * removed) by the time herald serves; the intake thread tries again */
	b->registered = b->webhook && register_webhook(b) == 0;
	rc = pthread_create(&b->intake_thread, NULL, intake_main, b);
	if (rc)
		return err_set(e, ERR_IO, "cannot start the intake thread: %s", strerror(rc));
	b->started = true;
	for (unsigned i = 0; i < BOT_LANES; i++) {
		b->lane_args[i] = (struct bot_lane_arg){b, i};
		rc = pthread_create(&b->lane_threads[i], NULL, lane_main, &b->lane_args[i]);
		if (rc) {
			b->nlanes = i;
			bot_stop(b);
			return err_set(e, ERR_IO, "cannot start a dispatch lane: %s", strerror(rc));
		}
	}
	b->nlanes = BOT_LANES;
	log_info("msg=\"bot started\" bot_id=%lld mode=%s lanes=%d", (long long)b->bot_id,
	         b->webhook ? "webhook" : "polling", BOT_LANES);
	return 0;
}

void bot_stop(struct bot *b)
{
	if (!b || !b->started)
		return;
	pthread_mutex_lock(&b->mu);
	atomic_store(&b->stopping, true);
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->intake_thread, NULL);
	for (unsigned i = 0; i < b->nlanes; i++)
		pthread_join(b->lane_threads[i], NULL);
	b->started = false;
	log_info("msg=\"bot stopped\" received=%lld repeats=%lld handled=%lld failed=%lld "
	         "retried=%lld",
	         (long long)atomic_load(&b->received), (long long)atomic_load(&b->repeats),
	         (long long)atomic_load(&b->handled), (long long)atomic_load(&b->failed),
	         (long long)atomic_load(&b->retried));
}

void bot_free(struct bot *b)
{
	if (!b)
		return;
	bot_stop(b);
	tg_client_free(b->intake);
	bot_zones_free(b->zones);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

void bot_counts(const struct bot *b, struct bot_counts *out)
{
	out->received = (long long)atomic_load(&b->received);
	out->repeats = (long long)atomic_load(&b->repeats);
	out->handled = (long long)atomic_load(&b->handled);
	out->failed = (long long)atomic_load(&b->failed);
	out->retried = (long long)atomic_load(&b->retried);
}

int bot_metrics(const struct bot *b, struct buf *out)
{
	struct bot_counts n;

	bot_counts(b, &n);
	return buf_printf(out,
	                  "# HELP herald_bot_updates_total Telegram updates by what became of "
	                  "them on this node.\n"
	                  "# TYPE herald_bot_updates_total counter\n"
	                  "herald_bot_updates_total{result=\"received\"} %lld\n"
	                  "herald_bot_updates_total{result=\"repeat\"} %lld\n"
	                  "herald_bot_updates_total{result=\"handled\"} %lld\n"
	                  "herald_bot_updates_total{result=\"failed\"} %lld\n"
	                  "herald_bot_updates_total{result=\"retried\"} %lld\n",
	                  n.received, n.repeats, n.handled, n.failed, n.retried);
}
