/*
 * sched: durable jobs and the threads that run them (sched.h).
 *
 * A worker claims one job at a time in a single statement: the earliest due
 * job that is the head of its chat (no other job of the chat leased, none
 * ready before it), leased to this node. PostgreSQL skips rows another node
 * is claiming (FOR UPDATE SKIP LOCKED); SQLite has one writer at a time.
 *
 * A delivery is marked sending (committed) before its request leaves, and
 * sent with its message ids after the answer. A node that dies in between
 * leaves a lease that runs out: the watchdog then makes the delivery
 * uncertain and asks the owner, since Telegram has no idempotency key.
 *
 * Sending goes through the scheduler's own Bot API client: one attempt per
 * job run (the job is the retry), a short budget for the shared buckets (a
 * chat over its rate is put back until its bucket refills, so a worker never
 * sits on one channel while others wait).
 */
#include "sched/sched.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "channels/channels.h"
#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "posts/posts_impl.h"
#include "store/store.h"
#include "tg/tg.h"

#define WORKERS_MAX       64
#define JOB_ATTEMPTS_MAX  8    /* runs of a follow-up job before it is dead */
#define TG_BUDGET_MS      2000 /* the longest a send waits for the buckets */
#define WATCH_EVERY_MS    1000
#define OVERDUE_MS        60000
#define PAUSED_RECHECK_MS 60000
#define BACKOFF_MAX_MS    600000

/* Lateness buckets in ms (Prometheus histogram, exported in seconds). */
static const int64_t late_le[] = {100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000};
#define NLATE (sizeof(late_le) / sizeof(late_le[0]))

enum outcome { OUT_SENT, OUT_PACED, OUT_RETRYING, OUT_FAILED, OUT_UNCERTAIN, OUT__COUNT };
static const char *const outcome_names[] = {"sent", "paced", "retrying", "failed", "uncertain"};

struct sched {
	struct app *a;
	struct sched_opts o;
	struct tg_client *tg;
	char node[40];
	int (*notify)(struct app *a, int64_t delivery_id, struct err *e);

	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_bool stopping;
	bool started;
	int nworkers;
	pthread_t workers[WORKERS_MAX];
	pthread_t watch;
	bool watching;

	atomic_llong outcomes[OUT__COUNT];
	atomic_llong late[NLATE + 1], late_count, late_sum_ms;
	atomic_llong jobs_run, jobs_dead, leases_expired, overdue;
};

/* ---- jobs in the store ---------------------------------------------------- */

int sched_enqueue(struct store_conn *c, const char *kind, int64_t ref, int64_t chat_key,
                  int64_t order_at, int64_t run_at, struct err *e)
{
	assert(run_at >= order_at);
	struct store_val a[] = {SV_TEXT(kind),    SV_INT(ref),    SV_INT(chat_key),
	                        SV_INT(order_at), SV_INT(run_at), SV_INT(clock_now_ms())};

	/* seq: the chats take turns among jobs due at the same instant */
	return store_query(
	    c,
	    "INSERT INTO jobs (kind, ref, chat_key, order_at, run_at, created_at, seq) "
	    "VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $3 = 0 THEN 0 ELSE (SELECT "
	    "count(*) FROM jobs WHERE chat_key = $3 AND order_at = $4) END)",
	    a, ARRAY_SIZE(a), NULL, e);
}

/* The head-of-chat condition on candidate j, shared by both dialects. */
#define HEAD_OF_CHAT                                                                               \
	"(j.chat_key = 0 OR NOT EXISTS (SELECT 1 FROM jobs k WHERE k.chat_key = j.chat_key AND "   \
	"k.id <> j.id AND (k.state = 'leased' OR (k.state = 'ready' AND (k.order_at < j.order_at " \
	"OR (k.order_at = j.order_at AND k.id < j.id))))))"

/*
 * Of the due heads, the one due longest ago goes first: (order_at, seq, id),
 * not run_at. A job put back to wait for a bucket (paced) or a retry keeps
 * its place, so a channel that once had to wait is not left behind every job
 * that never did; and seq makes the chats take turns among jobs due at the
 * same instant, so a burst drains evenly across channels whatever order it
 * was created in. A job's run_at is never before its order_at
 * (sched_enqueue), so order_at <= now bounds the walk of jobs_ready to the
 * due and overdue jobs; SQLite is told to walk it, as its planner would
 * rather sort every due job for one row.
 */
static const char *const claim_sql[] = {
    [STORE_SQLITE] =
        "UPDATE jobs SET state = 'leased', lease_owner = $1, lease_until = $2, "
        "attempts = attempts + 1 WHERE id = (SELECT j.id FROM jobs j INDEXED BY "
        "jobs_ready WHERE j.state = 'ready' AND j.order_at <= $3 AND j.run_at <= $3 "
        "AND " HEAD_OF_CHAT
        " ORDER BY j.order_at, j.seq, j.id LIMIT 1) RETURNING id, kind, ref, chat_key, "
        "attempts",
    [STORE_PG] = "UPDATE jobs SET state = 'leased', lease_owner = $1, lease_until = $2, "
                 "attempts = attempts + 1 WHERE id = (SELECT j.id FROM jobs j WHERE "
                 "j.state = 'ready' AND j.order_at <= $3 AND j.run_at <= $3 AND " HEAD_OF_CHAT
                 " ORDER BY j.order_at, j.seq, j.id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, "
                 "kind, ref, chat_key, attempts",
};

int sched_claim(struct store *st, const char *node, int64_t lease_until, int64_t now,
                struct sched_job *j, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_TEXT(node), SV_INT(lease_until), SV_INT(now)};
	int rc = store_exec(st, claim_sql[store_kind(st)], a, ARRAY_SIZE(a), &r, e);

	if (rc)
		return rc;
	if (store_res_rows(r) == 0) {
		store_res_free(r);
		return 0;
	}
	j->id = store_res_int(r, 0, 0);
	snprintf(j->kind, sizeof(j->kind), "%s", store_res_text(r, 0, 1));
	j->ref = store_res_int(r, 0, 2);
	j->chat_key = store_res_int(r, 0, 3);
	j->attempts = store_res_int(r, 0, 4);
	store_res_free(r);
	return 1;
}

static int claim(struct sched *s, struct sched_job *j, struct err *e)
{
	return sched_claim(s->a->store, s->node, clock_now_ms() + s->o.lease_ms, clock_app_ms(), j,
	                   e);
}

static int job_done_on(struct store_conn *c, const struct sched *s, int64_t id, struct err *e)
{
	struct store_val a[] = {SV_INT(id), SV_TEXT(s->node)};

	return store_query(c, "DELETE FROM jobs WHERE id = $1 AND lease_owner = $2", a, 2, NULL, e);
}

/* Put a job back to run at run_at (it keeps its place in its chat). */
static int job_later_on(struct store_conn *c, const struct sched *s, int64_t id, int64_t run_at,
                        const char *why, struct err *e)
{
	struct store_val a[] = {SV_INT(id), SV_TEXT(s->node), SV_INT(run_at), SV_TEXT(why)};

	return store_query(c,
	                   "UPDATE jobs SET state = 'ready', run_at = $3, lease_owner = NULL, "
	                   "lease_until = NULL, last_error = $4 WHERE id = $1 AND lease_owner = $2",
	                   a, ARRAY_SIZE(a), NULL, e);
}

static int job_dead(struct sched *s, int64_t id, const char *why, struct err *e)
{
	struct store_val a[] = {SV_INT(id), SV_TEXT(s->node), SV_TEXT(why)};

	atomic_fetch_add(&s->jobs_dead, 1);
	log_warn("msg=\"job dead\" job=%lld error=\"%s\"", (long long)id, why);
	return store_exec(s->a->store,
	                  "UPDATE jobs SET state = 'dead', lease_owner = NULL, lease_until = NULL, "
	                  "last_error = $3 WHERE id = $1 AND lease_owner = $2",
	                  a, ARRAY_SIZE(a), NULL, e);
}

/* A follow-up job that failed: again with backoff, or dead. */
static int job_retry(struct sched *s, const struct sched_job *j, const char *why, struct err *e)
{
	struct store_conn *c;
	int64_t delay = s->o.backoff_ms;
	int rc;

	if (j->attempts >= JOB_ATTEMPTS_MAX)
		return job_dead(s, j->id, why, e);
	for (int64_t i = 1; i < j->attempts && delay < BACKOFF_MAX_MS; i++)
		delay *= 2;
	rc = store_conn_get(s->a->store, &c, e);
	if (rc)
		return rc;
	rc = job_later_on(c, s, j->id, clock_app_ms() + delay, why, e);
	store_conn_put(s->a->store, c);
	return rc;
}

/* Put a job back for ms of the product clock, not counted as an attempt. */
static int job_wait(struct sched *s, const struct sched_job *j, int64_t ms, const char *why,
                    struct err *e)
{
	struct store_conn *c;
	int rc = store_conn_get(s->a->store, &c, e);

	if (rc)
		return rc;
	rc = job_later_on(c, s, j->id, clock_app_ms() + ms, why, e);
	store_conn_put(s->a->store, c);
	return rc;
}

static int job_done(struct sched *s, const struct sched_job *j, struct err *e)
{
	struct store_conn *c;
	int rc = store_conn_get(s->a->store, &c, e);

	if (rc)
		return rc;
	rc = job_done_on(c, s, j->id, e);
	store_conn_put(s->a->store, c);
	return rc;
}

/* ---- what a delivery sends ------------------------------------------------ */

struct dlv {
	int64_t id, post_id, chat, due_at, attempts;
	json_t *spec;
	json_t *ids;   /* message ids so far */
	char prev[16]; /* state before sending */
};

/* The post's buttons as reply_markup, NULL when it has none. */
static json_t *markup_of(const json_t *spec)
{
	const json_t *rows = json_object_get(spec, "buttons");

	if (json_array_size(rows) == 0)
		return NULL;
	return json_pack("{s:O}", "inline_keyboard", rows);
}

static void media_of(const json_t *item, struct tg_media *m)
{
	const char *id = json_string_value(json_object_get(item, "file_id"));

	memset(m, 0, sizeof(*m));
	m->kind = json_string_value(json_object_get(item, "type"));
	m->ref = id ? id : json_string_value(json_object_get(item, "url"));
}

static void add_id(json_t *ids, const json_t *msg)
{
	json_array_append_new(ids,
	                      json_integer(json_integer_value(json_object_get(msg, "message_id"))));
}

/*
 * Send what is left of d (an album's buttons message after the album, when
 * the album went out on an earlier attempt), appending message ids to d->ids.
 * The album's ids are stored (still sending) before its buttons message.
 */
static int send_post(struct sched *s, struct dlv *d, struct tg_error *te);

static int store_partial(struct sched *s, const struct dlv *d, struct err *e)
{
	char *ids = json_dumps(d->ids, JSON_COMPACT);
	struct store_val a[] = {SV_INT(d->id), SV_TEXT(ids)};
	int rc = store_exec(s->a->store, "UPDATE deliveries SET message_ids = $2 WHERE id = $1", a,
	                    2, NULL, e);

	free(ids);
	return rc;
}

static int send_post(struct sched *s, struct dlv *d, struct tg_error *te)
{
	const json_t *spec = d->spec, *media = json_object_get(spec, "media");
	const char *text = json_string_value(json_object_get(spec, "text"));
	json_t *markup = markup_of(spec), *msg = NULL;
	struct tg_send_opts o = {
	    .parse_mode = "HTML",
	    .reply_markup = markup,
	    .silent = json_is_true(json_object_get(spec, "silent")),
	    .protect = json_is_true(json_object_get(spec, "protect")),
	    .no_preview = json_is_true(json_object_get(spec, "disable_preview")),
	};
	size_t n = json_array_size(media);
	int rc = 0;

	if (n == 0) {
		rc = tg_send_message(s->tg, d->chat, text, &o, &msg, te);
		if (!rc)
			add_id(d->ids, msg);
	} else if (n == 1) {
		struct tg_media m;

		media_of(json_array_get(media, 0), &m);
		m.caption = text && text[0] ? text : NULL;
		m.parse_mode = "HTML";
		rc = tg_send_media(s->tg, d->chat, &m, &o, &msg, te);
		if (!rc)
			add_id(d->ids, msg);
	} else {
		if (json_array_size(d->ids) < n) {
			struct tg_media items[POST_MEDIA_MAX];
			struct tg_send_opts ao = o;
			json_t *msgs = NULL, *v;
			size_t i;

			for (i = 0; i < n; i++)
				media_of(json_array_get(media, i), &items[i]);
			/* with buttons the text goes with them, in the message after */
			if (!markup && text && text[0]) {
				items[0].caption = text;
				items[0].parse_mode = "HTML";
			}
			ao.reply_markup = NULL;
			json_array_clear(d->ids);
			rc = tg_send_media_group(s->tg, d->chat, items, n, &ao, &msgs, te);
			json_array_foreach(msgs, i, v)
			{
				add_id(d->ids, v);
			}
			json_decref(msgs);
			if (!rc && markup) {
				struct err e = {0};

				if (store_partial(s, d, &e))
					log_warn("msg=\"album ids not stored before its buttons\" "
					         "delivery=%lld error=\"%s\"",
					         (long long)d->id, e.msg);
			}
		}
		if (!rc && markup) {
			rc = tg_send_message(s->tg, d->chat, text, &o, &msg, te);
			if (!rc)
				add_id(d->ids, msg);
		}
	}
	json_decref(msg);
	json_decref(markup);
	return rc;
}

/* How a failed send is taken: the outcome and a reason word. */
static enum outcome judge(const struct tg_error *te, const char **reason)
{
	switch (te->fail) {
	case TG_FAIL_RETRY_AFTER:
		*reason = te->code == 429 ? "flood_control" : "rate_limit";
		return OUT_PACED;
	case TG_FAIL_SERVER:
		*reason = "telegram_error";
		return OUT_RETRYING;
	case TG_FAIL_UNAUTHORIZED:
		*reason = "bot_token_rejected";
		return OUT_RETRYING;
	case TG_FAIL_NETWORK:
		*reason = te->unsent ? "telegram_unreachable" : "no_answer";
		return te->unsent ? OUT_RETRYING : OUT_UNCERTAIN;
	case TG_FAIL_KICKED:
		*reason = "bot_removed";
		return OUT_FAILED;
	case TG_FAIL_CHAT_NOT_FOUND:
		*reason = "chat_not_found";
		return OUT_FAILED;
	case TG_FAIL_NO_RIGHTS:
		*reason = "no_rights";
		return OUT_FAILED;
	case TG_FAIL_MALFORMED:
		*reason = "malformed_answer";
		return OUT_UNCERTAIN;
	default:
		*reason = "bad_request";
		return OUT_FAILED;
	}
}

/* ---- recording a delivery's outcome --------------------------------------- */

struct settle {
	struct sched *s;
	const struct sched_job *j;
	struct dlv *d;
	enum outcome out;
	const char *reason;
	const char *detail;
	int64_t run_at; /* PACED, RETRYING */
	int64_t sent_at, lateness;
};

static int follow_ups(struct store_conn *c, const struct settle *x, struct err *e)
{
	const json_t *spec = x->d->spec;
	int64_t hours = json_integer_value(json_object_get(spec, "delete_after_hours"));
	int rc = 0;

	if (json_is_true(json_object_get(spec, "pin")))
		rc = sched_enqueue(c, "pin", x->d->id, x->d->chat, x->sent_at, x->sent_at, e);
	if (!rc && hours > 0) {
		int64_t at = x->sent_at + hours * 3600000;

		rc = sched_enqueue(c, "delete", x->d->id, x->d->chat, at, at, e);
	}
	return rc;
}

static int settle_tx(struct store_conn *c, void *arg, struct err *e)
{
	struct settle *x = arg;
	struct dlv *d = x->d;
	char reason[300];
	int rc;

	snprintf(reason, sizeof(reason), "%s%s%s", x->reason ? x->reason : "",
	         x->detail && x->detail[0] ? ": " : "", x->detail ? x->detail : "");
	switch (x->out) {
	case OUT_SENT: {
		char *ids = json_dumps(d->ids, JSON_COMPACT);
		struct store_val a[] = {SV_INT(d->id), SV_TEXT(ids), SV_INT(x->sent_at),
		                        SV_INT(x->lateness)};

		rc = store_query(
		    c,
		    "UPDATE deliveries SET state = 'sent', message_ids = $2, sent_at = $3, "
		    "lateness_ms = $4, reason = '', updated_at = $3 WHERE id = $1 AND "
		    "state IN ('sending', 'uncertain')",
		    a, ARRAY_SIZE(a), NULL, e);
		free(ids);
		if (!rc)
			rc = follow_ups(c, x, e);
		break;
	}
	case OUT_PACED:
	case OUT_RETRYING: {
		struct store_val a[] = {
		    SV_INT(d->id), SV_TEXT(x->out == OUT_PACED ? d->prev : "retrying"),
		    SV_TEXT(reason), SV_INT(clock_app_ms()), SV_INT(x->out == OUT_PACED ? 1 : 0)};

		rc = store_query(c,
		                 "UPDATE deliveries SET state = $2, reason = $3, updated_at = $4, "
		                 "attempts = attempts - $5 WHERE id = $1 AND state = 'sending'",
		                 a, ARRAY_SIZE(a), NULL, e);
		if (!rc)
			rc = job_later_on(c, x->s, x->j->id, x->run_at, reason, e);
		return rc;
	}
	case OUT_FAILED:
	case OUT_UNCERTAIN: {
		struct store_val a[] = {SV_INT(d->id),
		                        SV_TEXT(x->out == OUT_FAILED ? "failed" : "uncertain"),
		                        SV_TEXT(reason), SV_INT(clock_app_ms())};

		rc = store_query(
		    c,
		    "UPDATE deliveries SET state = $2, reason = $3, updated_at = $4 WHERE "
		    "id = $1 AND state = 'sending'",
		    a, ARRAY_SIZE(a), NULL, e);
		if (!rc)
			rc =
			    sched_enqueue(c, "notify", d->id, 0, clock_app_ms(), clock_app_ms(), e);
		break;
	}
	default:
		return err_set(e, ERR_INTERNAL, "no such outcome");
	}
	if (!rc)
		rc = job_done_on(c, x->s, x->j->id, e);
	if (!rc)
		rc = posts_settle(c, d->post_id, e);
	return rc;
}

static void count_outcome(struct sched *s, const struct settle *x)
{
	atomic_fetch_add(&s->outcomes[x->out], 1);
	if (x->out != OUT_SENT)
		return;
	{
		size_t i = 0;
		int64_t l = x->lateness < 0 ? 0 : x->lateness;

		while (i < NLATE && l > late_le[i])
			i++;
		atomic_fetch_add(&s->late[i], 1);
		atomic_fetch_add(&s->late_count, 1);
		atomic_fetch_add(&s->late_sum_ms, l);
	}
}

/* Mark the delivery sending; 0 with d filled, 1 when there is nothing to
 * send (canceled, already settled). */
static int begin_send(struct sched *s, const struct sched_job *j, struct dlv *d, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(j->ref), SV_INT(clock_app_ms())};
	int rc;

	rc = store_exec(
	    s->a->store,
	    "SELECT d.state, p.status, p.spec, c.removed_at, c.paused_at FROM deliveries "
	    "d JOIN "
	    "posts p ON p.id = d.post_id JOIN channels c ON c.id = d.channel_id WHERE "
	    "d.id = $1",
	    a, 1, &r, e);
	if (rc)
		return rc;
	if (store_res_rows(r) == 0 || (strcmp(store_res_text(r, 0, 0), "scheduled") != 0 &&
	                               strcmp(store_res_text(r, 0, 0), "retrying") != 0)) {
		store_res_free(r);
		return 1;
	}
	if (!store_res_null(r, 0, 4)) {
		store_res_free(r);
		return 2;
	}
	snprintf(d->prev, sizeof(d->prev), "%s", store_res_text(r, 0, 0));
	d->spec = json_loads(store_res_text(r, 0, 2), 0, NULL);
	if (!d->spec)
		rc = err_set(e, ERR_INTERNAL, "delivery %lld: its post's spec does not parse",
		             (long long)j->ref);
	store_res_free(r);
	r = NULL;
	if (rc)
		return rc;
	rc = store_exec(s->a->store,
	                "UPDATE deliveries SET state = 'sending', sending_at = $2, attempts = "
	                "attempts + 1, updated_at = $2 WHERE id = $1 AND state IN ('scheduled', "
	                "'retrying') RETURNING post_id, chat_id, due_at, attempts, message_ids",
	                a, ARRAY_SIZE(a), &r, e);
	if (!rc && store_res_rows(r) == 0)
		rc = 1;
	if (!rc) {
		d->id = j->ref;
		d->post_id = store_res_int(r, 0, 0);
		d->chat = store_res_int(r, 0, 1);
		d->due_at = store_res_int(r, 0, 2);
		d->attempts = store_res_int(r, 0, 3);
		d->ids = json_loads(store_res_text(r, 0, 4), 0, NULL);
		if (!json_is_array(d->ids)) {
			json_decref(d->ids);
			d->ids = json_array();
		}
	}
	store_res_free(r);
	return rc;
}

static int run_deliver(struct sched *s, const struct sched_job *j, struct err *e)
{
	struct dlv d = {0};
	struct tg_error te;
	struct settle x = {.s = s, .j = j, .d = &d};
	int rc = begin_send(s, j, &d, e);

	if (rc == 1) {
		json_decref(d.spec);
		return job_done(s, j, e);
	}
	if (rc == 2)
		return job_wait(s, j, PAUSED_RECHECK_MS, "channel paused: over the plan's limit",
		                e);
	if (rc) {
		json_decref(d.spec);
		return rc;
	}
	rc = send_post(s, &d, &te);
	if (rc == 0) {
		x.out = OUT_SENT;
		x.sent_at = clock_app_ms();
		x.lateness = x.sent_at - d.due_at;
	} else {
		x.out = judge(&te, &x.reason);
		x.detail = te.description[0] ? te.description : te.err.msg;
		if (x.out == OUT_PACED) {
			x.run_at = clock_app_ms() +
			           (te.retry_after > 0 ? (int64_t)te.retry_after * 1000 : 1000);
		} else if (x.out == OUT_RETRYING) {
			int64_t delay = s->o.backoff_ms;

			for (int64_t i = 1; i < d.attempts && delay < BACKOFF_MAX_MS; i++)
				delay *= 2;
			x.run_at = clock_app_ms() + delay;
			if (d.attempts >= s->o.max_attempts) {
				x.out = OUT_FAILED;
				x.reason = "too_many_attempts";
			}
		}
		log_info(
		    "msg=\"delivery not sent\" delivery=%lld outcome=%s reason=%s error=\"%s\"",
		    (long long)d.id, outcome_names[x.out], x.reason, te.err.msg);
	}
	rc = store_tx(s->a->store, settle_tx, &x, e);
	if (!rc) {
		count_outcome(s, &x);
		if (x.out == OUT_FAILED && strcmp(x.reason, "bot_removed") == 0) {
			struct err ce = {0};

			if (channels_bot_removed(s->a->store, d.chat, &ce))
				log_warn("msg=\"channel health not recorded\" error=\"%s\"",
				         ce.msg);
		}
		if (x.out == OUT_FAILED && s->o.delivery_failed) {
			struct err ae = {0};

			if (s->o.delivery_failed(s->a, d.id, &ae))
				log_warn("msg=\"delivery failure not told to alerts\" "
				         "delivery=%lld error=\"%s\"",
				         (long long)d.id, ae.msg);
		}
	} else {
		log_error(
		    "msg=\"delivery outcome not recorded\" delivery=%lld outcome=%s error=\"%s\"",
		    (long long)d.id, outcome_names[x.out], e->msg);
	}
	json_decref(d.spec);
	json_decref(d.ids);
	return rc;
}

/* ---- follow-up jobs ------------------------------------------------------- */

/* A sent delivery's chat, message ids and spec; 1 when it is not sent. */
static int load_sent(struct sched *s, int64_t id, struct dlv *d, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(id)};
	int rc =
	    store_exec(s->a->store,
	               "SELECT d.chat_id, d.message_ids, p.spec, d.deleted_at FROM deliveries d "
	               "JOIN posts p ON p.id = d.post_id WHERE d.id = $1 AND d.state = 'sent'",
	               a, 1, &r, e);

	if (rc)
		return rc;
	if (store_res_rows(r) == 0 || !store_res_null(r, 0, 3)) {
		store_res_free(r);
		return 1;
	}
	d->id = id;
	d->chat = store_res_int(r, 0, 0);
	d->ids = json_loads(store_res_text(r, 0, 1), 0, NULL);
	d->spec = json_loads(store_res_text(r, 0, 2), 0, NULL);
	store_res_free(r);
	if (json_array_size(d->ids) == 0 || !d->spec)
		return 1;
	return 0;
}

static int mark(struct sched *s, int64_t id, const char *column, struct err *e)
{
	char sql[96];
	struct store_val a[] = {SV_INT(id), SV_INT(clock_app_ms())};

	snprintf(sql, sizeof(sql), "UPDATE deliveries SET %s = $2 WHERE id = $1", column);
	return store_exec(s->a->store, sql, a, 2, NULL, e);
}

/* Whether a follow-up's failure is for good (nothing to retry). */
static bool final_fail(const struct tg_error *te)
{
	return te->fail != TG_FAIL_SERVER && te->fail != TG_FAIL_NETWORK &&
	       te->fail != TG_FAIL_RETRY_AFTER && te->fail != TG_FAIL_UNAUTHORIZED;
}

static int64_t id_at(const json_t *ids, size_t i)
{
	return json_integer_value(json_array_get(ids, i));
}

/* Apply the post's current text and buttons to the sent messages. */
static int edit_post(struct sched *s, const struct dlv *d, struct tg_error *te)
{
	const json_t *spec = d->spec, *media = json_object_get(spec, "media");
	const char *text = json_string_value(json_object_get(spec, "text"));
	json_t *markup = markup_of(spec), *params;
	size_t n = json_array_size(media);
	int64_t target = id_at(d->ids, 0);
	bool caption = n > 0;
	int rc;

	if (n > 1 && json_array_size(d->ids) > n) {
		target = id_at(d->ids, n); /* the buttons message after the album */
		caption = false;
	}
	if (!caption) {
		struct tg_send_opts o = {
		    .parse_mode = "HTML",
		    .reply_markup = markup,
		    .no_preview = json_is_true(json_object_get(spec, "disable_preview")),
		};

		rc = tg_edit_message_text(s->tg, d->chat, target, text, &o, NULL, te);
	} else {
		params = json_pack("{s:I, s:I, s:s, s:s}", "chat_id", (json_int_t)d->chat,
		                   "message_id", (json_int_t)target, "caption", text ? text : "",
		                   "parse_mode", "HTML");
		if (markup && n == 1)
			json_object_set(params, "reply_markup", markup);
		rc = tg_call(s->tg, "editMessageCaption", params, NULL, 0, NULL, te);
		json_decref(params);
	}
	json_decref(markup);
	if (rc && te->fail == TG_FAIL_NOT_MODIFIED)
		rc = 0;
	return rc;
}

static int run_followup(struct sched *s, const struct sched_job *j, struct err *e)
{
	struct dlv d = {0};
	struct tg_error te = {0};
	const char *column = NULL;
	int rc = load_sent(s, j->ref, &d, e);

	if (rc == 1) {
		rc = job_done(s, j, e);
		goto out;
	}
	if (rc)
		goto out;
	if (strcmp(j->kind, "pin") == 0) {
		column = "pinned_at";
		rc = tg_pin_chat_message(s->tg, d.chat, id_at(d.ids, 0),
		                         json_is_true(json_object_get(d.spec, "silent")), &te);
	} else if (strcmp(j->kind, "delete") == 0) {
		column = "deleted_at";
		for (size_t i = 0; i < json_array_size(d.ids) && !rc; i++) {
			rc = tg_delete_message(s->tg, d.chat, id_at(d.ids, i), &te);
			if (rc && te.fail == TG_FAIL_MESSAGE_GONE)
				rc = 0; /* deleted by hand already */
		}
	} else {
		column = "edited_at";
		rc = edit_post(s, &d, &te);
	}
	if (!rc) {
		rc = mark(s, d.id, column, e);
		if (!rc)
			rc = job_done(s, j, e);
	} else if (final_fail(&te)) {
		log_warn("msg=\"follow-up not done\" job=%s delivery=%lld error=\"%s\"", j->kind,
		         (long long)d.id, te.err.msg);
		rc = job_dead(s, j->id, te.err.msg, e);
	} else {
		rc = job_retry(s, j, te.err.msg, e);
	}
out:
	json_decref(d.spec);
	json_decref(d.ids);
	return rc;
}

struct expand_arg {
	struct sched *s;
	const struct sched_job *j;
};

static int expand_tx(struct store_conn *c, void *arg, struct err *e)
{
	struct expand_arg *x = arg;
	int made = 0;
	int rc = job_done_on(c, x->s, x->j->id, e);

	if (!rc)
		rc = posts_expand(c, x->j->ref, clock_app_ms(), false, &made, e);
	return rc;
}

/* A collect job runs again at next_at: due then, in its place then. */
static int run_collect(struct sched *s, const struct sched_job *j, struct err *e)
{
	int64_t next = 0;
	int rc;

	if (!s->o.collect)
		return job_dead(s, j->id, "nobody to collect on this node", e);
	rc = s->o.collect(s->a, j->ref, &next, e);
	if (rc) {
		/* the store failed: again in a minute, never given up (the job
		 * is the channel's only one) */
		log_warn("msg=\"collection not done\" channel=%lld error=\"%s\"", (long long)j->ref,
		         e->msg);
		next = clock_app_ms() + 60000;
	} else if (!next) {
		return job_done(s, j, e);
	}
	{
		struct store_val a[] = {SV_INT(j->id), SV_TEXT(s->node), SV_INT(next)};

		return store_exec(
		    s->a->store,
		    "UPDATE jobs SET state = 'ready', order_at = $3, run_at = $3, "
		    "attempts = 0, last_error = '', lease_owner = NULL, lease_until = "
		    "NULL WHERE id = $1 AND lease_owner = $2",
		    a, ARRAY_SIZE(a), NULL, e);
	}
}

static int run_job(struct sched *s, const struct sched_job *j, struct err *e)
{
	if (strcmp(j->kind, "deliver") == 0)
		return run_deliver(s, j, e);
	if (strcmp(j->kind, "pin") == 0 || strcmp(j->kind, "delete") == 0 ||
	    strcmp(j->kind, "edit") == 0)
		return run_followup(s, j, e);
	if (strcmp(j->kind, "expand") == 0) {
		struct expand_arg x = {s, j};

		return store_tx(s->a->store, expand_tx, &x, e);
	}
	if (strcmp(j->kind, "collect") == 0)
		return run_collect(s, j, e);
	if (strcmp(j->kind, "notify") == 0 || strcmp(j->kind, "bnotice") == 0 ||
	    strcmp(j->kind, "pstop") == 0 || strcmp(j->kind, "alert") == 0) {
		int (*fn)(struct app *, int64_t, struct err *) = s->o.provider_stop;
		int rc;

		if (strcmp(j->kind, "notify") == 0)
			fn = s->notify;
		else if (strcmp(j->kind, "bnotice") == 0)
			fn = s->o.billing_notice;
		else if (strcmp(j->kind, "alert") == 0)
			fn = s->o.alert;
		if (!fn)
			return job_dead(s, j->id, "nobody to do it on this node", e);
		rc = fn(s->a, j->ref, e);
		if (rc == -ERR_UNAVAILABLE || rc == -ERR_BUSY || rc == -ERR_TIMEOUT)
			return job_retry(s, j, e->msg, e);
		if (rc)
			return job_dead(s, j->id, e->msg, e);
		return job_done(s, j, e);
	}
	return job_dead(s, j->id, "unknown job kind", e);
}

/* ---- threads -------------------------------------------------------------- */

static void nap(struct sched *s, int64_t ms)
{
	struct timespec ts;
	int64_t ns;

	clock_gettime(CLOCK_REALTIME, &ts);
	ns = ts.tv_nsec + (ms % 1000) * 1000000;
	ts.tv_sec += ms / 1000 + ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	pthread_mutex_lock(&s->mu);
	if (!atomic_load(&s->stopping))
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	pthread_mutex_unlock(&s->mu);
}

static void *worker_main(void *arg)
{
	struct sched *s = arg;

	while (!atomic_load(&s->stopping)) {
		struct sched_job j;
		struct err e = {0};
		int rc = claim(s, &j, &e);

		if (rc < 0) {
			log_warn("msg=\"jobs not claimed\" error=\"%s\"", e.msg);
			nap(s, s->o.poll_ms * 5);
			continue;
		}
		if (rc == 0) {
			nap(s, s->o.poll_ms);
			continue;
		}
		atomic_fetch_add(&s->jobs_run, 1);
		rc = run_job(s, &j, &e);
		if (rc)
			log_warn("msg=\"job failed\" job=%lld kind=%s error=\"%s\"",
			         (long long)j.id, j.kind, e.msg);
	}
	return NULL;
}

/* An expired lease: take the job back. A delivery that was sending is
 * uncertain; one that was not yet is simply due again. */
struct expired {
	struct sched *s;
	int64_t id, ref;
	char kind[16];
	bool uncertain;
};

static int expired_tx(struct store_conn *c, void *arg, struct err *e)
{
	struct expired *x = arg;
	struct store_res *r = NULL;
	int64_t now = clock_now_ms(), app = clock_app_ms();
	struct store_val a[] = {SV_INT(x->id), SV_INT(now)};
	int rc;

	if (strcmp(x->kind, "deliver") != 0)
		return store_query(
		    c,
		    "UPDATE jobs SET state = 'ready', lease_owner = NULL, lease_until = "
		    "NULL, last_error = 'lease expired' WHERE id = $1 AND state = "
		    "'leased' AND lease_until < $2",
		    a, 2, NULL, e);
	rc = store_query(c,
	                 "DELETE FROM jobs WHERE id = $1 AND state = 'leased' AND lease_until < $2 "
	                 "RETURNING chat_key, order_at",
	                 a, 2, &r, e);
	if (rc || store_res_rows(r) == 0) {
		store_res_free(r);
		return rc;
	}
	{
		struct store_val b[] = {SV_INT(x->ref), SV_INT(app)};
		struct store_res *u = NULL;

		rc = store_query(
		    c,
		    "UPDATE deliveries SET state = 'uncertain', reason = "
		    "'interrupted_while_sending', updated_at = $2 WHERE id = $1 AND state "
		    "= 'sending'",
		    b, 2, &u, e);
		if (!rc && store_res_changes(u) == 1) {
			x->uncertain = true;
			rc = sched_enqueue(c, "notify", x->ref, 0, app, app, e);
		} else if (!rc) {
			/* not sent yet (or already settled): due again in its place */
			rc = sched_enqueue(c, "deliver", x->ref, store_res_int(r, 0, 0),
			                   store_res_int(r, 0, 1), app, e);
		}
		store_res_free(u);
	}
	store_res_free(r);
	return rc;
}

static void watch_once(struct sched *s)
{
	struct store_res *r = NULL;
	struct err e = {0};
	int64_t now = clock_now_ms();
	struct store_val a[] = {SV_TEXT(s->node), SV_INT(now + s->o.lease_ms), SV_INT(now),
	                        SV_INT(clock_app_ms() - OVERDUE_MS)};

	/* renew what this node holds */
	if (store_exec(s->a->store,
	               "UPDATE jobs SET lease_until = $2 WHERE lease_owner = $1 AND state = "
	               "'leased'",
	               a, 2, NULL, &e))
		log_warn("msg=\"leases not renewed\" error=\"%s\"", e.msg);
	if (store_exec(s->a->store,
	               "SELECT id, kind, ref FROM jobs WHERE state = 'leased' AND lease_until < $1 "
	               "ORDER BY id LIMIT 100",
	               a + 2, 1, &r, &e) == 0) {
		for (size_t i = 0; i < store_res_rows(r); i++) {
			struct expired x = {
			    .s = s, .id = store_res_int(r, i, 0), .ref = store_res_int(r, i, 2)};

			snprintf(x.kind, sizeof(x.kind), "%s", store_res_text(r, i, 1));
			if (store_tx(s->a->store, expired_tx, &x, &e)) {
				log_warn(
				    "msg=\"expired lease not taken back\" job=%lld error=\"%s\"",
				    (long long)x.id, e.msg);
				continue;
			}
			atomic_fetch_add(&s->leases_expired, 1);
			log_warn("msg=\"lease expired\" job=%lld kind=%s ref=%lld uncertain=%d",
			         (long long)x.id, x.kind, (long long)x.ref, x.uncertain);
		}
		store_res_free(r);
		r = NULL;
	}
	if (store_exec(s->a->store,
	               "SELECT count(*) FROM jobs WHERE state = 'ready' AND run_at < $1", a + 3, 1,
	               &r, &e) == 0) {
		long long n = store_res_int(r, 0, 0), was = atomic_exchange(&s->overdue, n);

		if (n && !was)
			log_warn("msg=\"jobs overdue\" count=%lld over_ms=%d", n, OVERDUE_MS);
		store_res_free(r);
	}
}

static void *watch_main(void *arg)
{
	struct sched *s = arg;
	int64_t every = s->o.lease_ms / 3 < WATCH_EVERY_MS ? s->o.lease_ms / 3 : WATCH_EVERY_MS;

	int64_t next_tick = 0;

	while (!atomic_load(&s->stopping)) {
		watch_once(s);
		if (s->o.tick && clock_now_ms() >= next_tick) {
			struct err e = {0};

			if (s->o.tick(s->a, &e))
				log_warn("msg=\"scheduled work failed\" error=\"%s\"", e.msg);
			next_tick = clock_now_ms() + s->o.tick_ms;
		}
		nap(s, every);
	}
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------------ */

int sched_new(struct sched **out, struct app *a, const struct sched_opts *o, struct err *e)
{
	struct sched *s;
	struct tg_opts to = {0};
	char rnd[8];
	int rc;

	*out = NULL;
	if (!app_str(a, SET_BOT_TOKEN))
		return err_set(e, ERR_INVALID, "the scheduler needs HERALD_BOT_TOKEN");
	s = xcalloc(1, sizeof(*s));
	s->a = a;
	if (o)
		s->o = *o;
	if (s->o.workers <= 0)
		s->o.workers = 8;
	if (s->o.workers > WORKERS_MAX)
		s->o.workers = WORKERS_MAX;
	if (s->o.lease_ms <= 0)
		s->o.lease_ms = 30000;
	if (s->o.poll_ms <= 0)
		s->o.poll_ms = 200;
	if (s->o.max_attempts <= 0)
		s->o.max_attempts = 5;
	if (s->o.backoff_ms <= 0)
		s->o.backoff_ms = 5000;
	if (s->o.tick_ms <= 0)
		s->o.tick_ms = 5000;
	s->notify = o ? o->notify : NULL;
	crypto_random(rnd, sizeof(rnd));
	snprintf(s->node, sizeof(s->node), "node-%02x%02x%02x%02x%02x%02x%02x%02x",
	         (unsigned char)rnd[0], (unsigned char)rnd[1], (unsigned char)rnd[2],
	         (unsigned char)rnd[3], (unsigned char)rnd[4], (unsigned char)rnd[5],
	         (unsigned char)rnd[6], (unsigned char)rnd[7]);
	to.api = app_str(a, SET_TELEGRAM_API);
	to.token = app_str(a, SET_BOT_TOKEN);
	to.kv = a->kv;
	to.global_rate = (double)app_int(a, SET_TELEGRAM_RATE);
	to.max_attempts = 1;
	to.max_wait_ms = TG_BUDGET_MS;
	/* evenly spaced: a backlog drains at the rate, never in a burst that a
	 * 429 would find already on its way */
	to.global_burst = 1;
	rc = tg_client_new(&s->tg, &to, e);
	if (rc) {
		free(s);
		return rc;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	*out = s;
	return 0;
}

int sched_start(struct sched *s, struct err *e)
{
	if (pthread_create(&s->watch, NULL, watch_main, s) != 0)
		return err_set(e, ERR_IO, "cannot start the scheduler's watchdog");
	s->watching = true;
	for (int i = 0; i < s->o.workers; i++) {
		if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) {
			sched_stop(s);
			return err_set(e, ERR_IO, "cannot start scheduler worker %d", i);
		}
		s->nworkers++;
	}
	s->started = true;
	log_info("msg=\"scheduler started\" node=%s workers=%d lease_ms=%lld", s->node, s->nworkers,
	         (long long)s->o.lease_ms);
	return 0;
}

void sched_stop(struct sched *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	atomic_store(&s->stopping, true);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	s->nworkers = 0;
	if (s->watching)
		pthread_join(s->watch, NULL);
	s->watching = false;
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	sched_stop(s);
	tg_client_free(s->tg);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int sched_metrics(const struct sched *s, struct buf *out)
{
	const struct sched *m = s;
	long long cum = 0;
	int rc = 0;

	rc |= buf_adds(out, "# HELP herald_deliveries_total Delivery attempts by outcome.\n"
	                    "# TYPE herald_deliveries_total counter\n");
	for (int i = 0; i < OUT__COUNT; i++)
		rc |= buf_printf(out, "herald_deliveries_total{outcome=\"%s\"} %lld\n",
		                 outcome_names[i], atomic_load(&m->outcomes[i]));
	rc |= buf_adds(out, "# HELP herald_delivery_lateness_seconds Sent time minus due time.\n"
	                    "# TYPE herald_delivery_lateness_seconds histogram\n");
	for (size_t i = 0; i < NLATE; i++) {
		cum += atomic_load(&m->late[i]);
		rc |= buf_printf(out, "herald_delivery_lateness_seconds_bucket{le=\"%g\"} %lld\n",
		                 (double)late_le[i] / 1000.0, cum);
	}
	cum += atomic_load(&m->late[NLATE]);
	rc |= buf_printf(out,
	                 "herald_delivery_lateness_seconds_bucket{le=\"+Inf\"} %lld\n"
	                 "herald_delivery_lateness_seconds_sum %.3f\n"
	                 "herald_delivery_lateness_seconds_count %lld\n",
	                 cum, (double)atomic_load(&m->late_sum_ms) / 1000.0,
	                 atomic_load(&m->late_count));
	rc |= buf_printf(out,
	                 "# HELP herald_jobs_run_total Jobs claimed and run by this node.\n"
	                 "# TYPE herald_jobs_run_total counter\nherald_jobs_run_total %lld\n"
	                 "# HELP herald_jobs_dead_total Jobs given up.\n"
	                 "# TYPE herald_jobs_dead_total counter\nherald_jobs_dead_total %lld\n"
	                 "# HELP herald_job_leases_expired_total Leases the watchdog took back.\n"
	                 "# TYPE herald_job_leases_expired_total counter\n"
	                 "herald_job_leases_expired_total %lld\n"
	                 "# HELP herald_jobs_overdue Jobs due over a minute ago and not run.\n"
	                 "# TYPE herald_jobs_overdue gauge\nherald_jobs_overdue %lld\n",
	                 atomic_load(&m->jobs_run), atomic_load(&m->jobs_dead),
	                 atomic_load(&m->leases_expired), atomic_load(&m->overdue));
	return rc ? -ERR_TOO_BIG : 0;
}
