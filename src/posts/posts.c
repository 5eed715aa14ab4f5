/*
 * posts: posts, their deliveries and idempotency keys in the store. A post
 * row keeps the canonical spec (spec.c); deliveries are made from it ahead
 * of time (posts_expand) and sent by the scheduler, which reads the spec
 * again when it sends, so an edit before sending needs no other change.
 */
#include "posts/posts_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "sched/sched.h"
#include "store/store.h"
#include "users/users.h"

#define EXPAND_BATCH 400 /* occurrences made by one expansion at most */

static const char *const status_names[] = {
    [POST_DRAFT] = "draft",
    [POST_SCHEDULED] = "scheduled",
    [POST_DONE] = "done",
    [POST_CANCELED] = "canceled",
};

static const char *const dlv_names[] = {
    [DLV_SCHEDULED] = "scheduled", [DLV_SENDING] = "sending", [DLV_SENT] = "sent",
    [DLV_RETRYING] = "retrying",   [DLV_FAILED] = "failed",   [DLV_UNCERTAIN] = "uncertain",
    [DLV_CANCELED] = "canceled",
};

const char *posts_status_name(enum post_status s)
{
	return (size_t)s < ARRAY_SIZE(status_names) ? status_names[s] : "unknown";
}

const char *posts_dlv_state_name(enum dlv_state s)
{
	return (size_t)s < ARRAY_SIZE(dlv_names) ? dlv_names[s] : "unknown";
}

int posts_dlv_state_parse(const char *name, enum dlv_state *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(dlv_names); i++)
		if (strcmp(name, dlv_names[i]) == 0) {
			*out = (enum dlv_state)i;
			return 0;
		}
	return -ERR_INVALID;
}

/* One statement on c whose rows are not needed. */
static int run(struct store_conn *c, const char *sql, const struct store_val *a, size_t n,
               struct err *e)
{
	return store_query(c, sql, a, n, NULL, e);
}

static int parse_spec(const char *text, json_t **out, struct err *e)
{
	json_error_t je;

	*out = json_loads(text, 0, &je);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return err_set(e, ERR_INTERNAL, "a stored post spec does not parse: %s", je.text);
	}
	return 0;
}

static char *dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);

	if (!s)
		abort(); /* only out of memory */
	return s;
}

/* ---- the plan's monthly limit -------------------------------------------- */

/* [start, end) of the calendar month in zone containing at. */
static int month_of(const char *zone, int64_t at, int64_t *start, int64_t *end, struct err *e)
{
	struct when_local lt, first = {0};
	int rc;

	rc = when_to_local(zone, at, &lt, NULL, NULL, e);
	if (rc)
		return rc;
	first.year = lt.year;
	first.month = lt.month;
	first.day = 1;
	rc = when_to_utc(zone, &first, start, NULL, e);
	if (rc)
		return rc;
	first.month = lt.month == 12 ? 1 : lt.month + 1;
	first.year = lt.month == 12 ? lt.year + 1 : lt.year;
	return when_to_utc(zone, &first, end, NULL, e);
}

static int quota_on(struct store_conn *c, int64_t user_id, const char *zone, int64_t at,
                    int64_t *used, int64_t *limit, struct err *e)
{
	struct store_res *r = NULL;
	int64_t start, end;
	int rc = month_of(zone, at, &start, &end, e);

	if (rc)
		return rc;
	{
		struct store_val a[] = {SV_INT(user_id), SV_INT(start), SV_INT(end)};

		rc = store_query(c,
		                 "SELECT (SELECT count(*) FROM deliveries WHERE user_id = $1 AND "
		                 "due_at >= $2 AND due_at < $3 AND state <> 'canceled' AND "
		                 "reason <> 'plan_limit'), "
		                 "(SELECT p.max_posts_month FROM users u JOIN plans p ON "
		                 "p.id = u.plan WHERE u.id = $1)",
		                 a, ARRAY_SIZE(a), &r, e);
	}
	if (rc)
		return rc;
	*used = store_res_int(r, 0, 0);
	*limit = store_res_null(r, 0, 1) ? 0 : store_res_int(r, 0, 1);
	store_res_free(r);
	return 0;
}

int posts_quota(struct store *st, const struct user *u, int64_t at_ms, int64_t *used,
                int64_t *limit, struct err *e)
{
	struct store_conn *c;
	int rc = store_conn_get(st, &c, e);

	if (rc)
		return rc;
	rc = quota_on(c, u->id, u->time_zone, at_ms, used, limit, e);
	store_conn_put(st, c);
	return rc;
}

/* ---- expansion ------------------------------------------------------------ */

struct post_row {
	int64_t id, user_id, first_at, expanded, expanded_to;
	char status[16];
	char zone[64];
	json_t *spec;
};

#define POST_COLS "id, user_id, status, spec, zone, first_at, expanded, expanded_to"

static int post_row_read(struct store_res *r, struct post_row *p, struct err *e)
{
	p->id = store_res_int(r, 0, 0);
	p->user_id = store_res_int(r, 0, 1);
	snprintf(p->status, sizeof(p->status), "%s", store_res_text(r, 0, 2));
	snprintf(p->zone, sizeof(p->zone), "%s", store_res_text(r, 0, 4));
	p->first_at = store_res_int(r, 0, 5);
	p->expanded = store_res_int(r, 0, 6);
	p->expanded_to = store_res_int(r, 0, 7);
	return parse_spec(store_res_text(r, 0, 3), &p->spec, e);
}

/* The next occurrences of p: up to horizon (at least one), into occ[]. */
static int occurrences(const struct post_row *p, int64_t horizon, int64_t *occ, size_t *n,
                       bool *more, struct err *e)
{
	const json_t *sched = json_object_get(p->spec, "schedule");
	struct post_sched ps;
	struct post_fault f = {0};
	json_t *canon = NULL;
	int64_t at;
	int rc;

	*n = 0;
	*more = false;
	if (!json_is_object(sched) || json_is_null(json_object_get(sched, "repeat"))) {
		if (p->expanded == 0)
			occ[(*n)++] = p->first_at;
		return 0;
	}
	rc = posts_schedule(sched, p->zone, &ps, &canon, &f);
	json_decref(canon);
	if (rc)
		return err_set(e, ERR_INTERNAL, "a stored schedule does not read: %s", f.err.msg);
	at = p->expanded ? p->expanded_to : p->first_at;
	if (p->expanded == 0)
		occ[(*n)++] = p->first_at;
	while (*n < EXPAND_BATCH) {
		int64_t next;

		if (*n > 0 && at > horizon) {
			*more = true;
			return 0;
		}
		rc = when_next(ps.zone, &ps.rule, at, (int)p->expanded + (int)*n, &next, NULL, e);
		if (rc == -ERR_NOT_FOUND)
			return 0;
		if (rc)
			return rc;
		if (*n > 0 && next > horizon) {
			*more = true;
			return 0;
		}
		occ[(*n)++] = next;
		at = next;
	}
	*more = true;
	return 0;
}

/* chat_id of the user's channel id, 0 when it is not theirs or removed. */
static int channel_chat(struct store_conn *c, int64_t user_id, int64_t id, int64_t *chat,
                        struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(id), SV_INT(user_id)};
	int rc = store_query(c,
	                     "SELECT chat_id FROM channels WHERE id = $1 AND owner_id = $2 AND "
	                     "removed_at IS NULL",
	                     a, ARRAY_SIZE(a), &r, e);

	if (rc)
		return rc;
	*chat = store_res_rows(r) ? store_res_int(r, 0, 0) : 0;
	store_res_free(r);
	return 0;
}

static int add_delivery(struct store_conn *c, const struct post_row *p, int64_t channel,
                        int64_t chat, int64_t occ, int64_t due, const char *state,
                        const char *reason, int64_t now, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(p->id),  SV_INT(channel), SV_INT(p->user_id),
	                        SV_INT(chat),   SV_INT(occ),     SV_INT(due),
	                        SV_TEXT(state), SV_TEXT(reason), SV_INT(now)};
	int64_t id;
	int rc = store_query(c,
	                     "INSERT INTO deliveries (post_id, channel_id, user_id, chat_id, "
	                     "occurrence, due_at, state, reason, updated_at) VALUES ($1, $2, $3, "
	                     "$4, $5, $6, $7, $8, $9) RETURNING id",
	                     a, ARRAY_SIZE(a), &r, e);

	if (rc)
		return rc;
	id = store_res_int(r, 0, 0);
	store_res_free(r);
	if (strcmp(state, "scheduled") == 0)
		return sched_enqueue(c, "deliver", id, chat, due, due, e);
	return sched_enqueue(c, "notify", id, 0, now, now, e);
}

int posts_expand(struct store_conn *c, int64_t post_id, int64_t now_ms, bool strict, int *made,
                 struct err *e)
{
	struct store_res *r = NULL;
	struct post_row p = {0};
	const json_t *chans;
	int64_t occ[EXPAND_BATCH], month_start = 0, month_end = 0, used = 0, limit = 0;
	size_t n = 0;
	bool more = false;
	int rc;

	*made = 0;
	{
		struct store_val a[] = {SV_INT(post_id)};

		rc = store_query(c, "SELECT " POST_COLS " FROM posts WHERE id = $1", a, 1, &r, e);
	}
	if (rc)
		return rc;
	if (store_res_rows(r) == 0 || strcmp(store_res_text(r, 0, 2), "scheduled") != 0) {
		store_res_free(r);
		return 0;
	}
	rc = post_row_read(r, &p, e);
	store_res_free(r);
	if (rc)
		return rc;
	rc = occurrences(&p, now_ms + POST_HORIZON_MS, occ, &n, &more, e);
	chans = json_object_get(p.spec, "channels");
	for (size_t i = 0; !rc && i < n; i++) {
		size_t k;
		json_t *ch;

		json_array_foreach(chans, k, ch)
		{
			int64_t chat = 0;
			const char *state = "scheduled", *reason = "";

			if (occ[i] >= month_end) {
				rc = month_of(p.zone, occ[i], &month_start, &month_end, e);
				if (!rc)
					rc = quota_on(c, p.user_id, p.zone, occ[i], &used, &limit,
					              e);
			}
			if (!rc)
				rc = channel_chat(c, p.user_id, json_integer_value(ch), &chat, e);
			if (rc)
				break;
			if (!chat) {
				if (strict) {
					rc = err_set(e, ERR_NOT_FOUND, "channel %lld is not yours",
					             (long long)json_integer_value(ch));
					break;
				}
				state = "failed";
				reason = "channel_removed";
			} else if (used >= limit) {
				if (strict) {
					struct when_local lt = {0};

					if (when_to_local(p.zone, occ[i], &lt, NULL, NULL, NULL))
						lt.year = lt.month = 0;
					rc = err_set(
					    e, ERR_TOO_BIG,
					    "your plan allows %lld posts a month; %04d-%02d "
					    "would have more",
					    (long long)limit, lt.year, lt.month);
					break;
				}
				state = "failed";
				reason = "plan_limit";
			} else {
				used++;
			}
			rc =
			    add_delivery(c, &p, json_integer_value(ch), chat,
			                 p.expanded + (int64_t)i, occ[i], state, reason, now_ms, e);
			if (!rc)
				(*made)++;
		}
	}
	if (!rc && n) {
		struct store_val a[] = {SV_INT(post_id), SV_INT((int64_t)n), SV_INT(occ[n - 1])};

		rc = run(
		    c, "UPDATE posts SET expanded = expanded + $2, expanded_to = $3 WHERE id = $1",
		    a, ARRAY_SIZE(a), e);
	}
	if (!rc && more) {
		/* again when the last one made is half a horizon away */
		int64_t at = n ? occ[n - 1] - POST_HORIZON_MS / 2 : now_ms;

		rc = sched_enqueue(c, "expand", post_id, 0, at, at > now_ms ? at : now_ms, e);
	}
	if (!rc && !more)
		rc = posts_settle(c, post_id, e);
	json_decref(p.spec);
	return rc;
}

int posts_settle(struct store_conn *c, int64_t post_id, struct err *e)
{
	struct store_val a[] = {SV_INT(post_id), SV_INT(clock_now_ms())};

	return run(c,
	           "UPDATE posts SET status = 'done', updated_at = $2 WHERE id = $1 AND "
	           "status = 'scheduled' AND NOT EXISTS (SELECT 1 FROM deliveries WHERE "
	           "post_id = $1 AND state IN ('scheduled', 'sending', 'retrying', "
	           "'uncertain')) AND NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'expand' AND "
	           "ref = $1)",
	           a, ARRAY_SIZE(a), e);
}

/* ---- create --------------------------------------------------------------- */

/* Every channel of spec is u's: else -ERR_NOT_FOUND with f. */
static int check_owned(struct store_conn *c, int64_t user_id, const json_t *spec,
                       struct post_fault *f)
{
	size_t i;
	json_t *ch;
	int rc;

	json_array_foreach(json_object_get(spec, "channels"), i, ch)
	{
		int64_t chat = 0;
		char field[32];

		rc = channel_chat(c, user_id, json_integer_value(ch), &chat, &f->err);
		if (rc)
			return rc;
		if (!chat) {
			snprintf(field, sizeof(field), "channels[%zu]", i);
			posts_fault(f, "not_owned", field,
			            "channel %lld is not one of your channels",
			            (long long)json_integer_value(ch));
			f->err.code = ERR_NOT_FOUND;
			return -ERR_NOT_FOUND;
		}
	}
	return 0;
}

/* An expansion's refusal as a fault. */
static int expand_fault(int rc, struct post_fault *f)
{
	char msg[sizeof(f->err.msg)];

	if (rc != -ERR_TOO_BIG && rc != -ERR_NOT_FOUND)
		return rc;
	snprintf(msg, sizeof(msg), "%s", f->err.msg);
	posts_fault(f, rc == -ERR_TOO_BIG ? "plan_limit" : "not_owned", "channels", "%s", msg);
	f->err.code = -rc;
	return rc;
}

/* Record the key, or find it used: -ERR_EXISTS (same body, *id) or
 * -ERR_CONFLICT. On either, the transaction was rolled back. */
static int idem_claim(struct store_conn *c, int64_t user_id, const struct post_idem *idem,
                      int64_t now, int64_t *id, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(user_id), SV_TEXT(idem->key), SV_TEXT(idem->hash),
	                        SV_INT(now)};
	int rc = run(c,
	             "INSERT INTO idempotency_keys (user_id, idem_key, scope, request_hash, "
	             "created_at) VALUES ($1, $2, 'posts', $3, $4)",
	             a, ARRAY_SIZE(a), e);

	if (rc != -ERR_EXISTS)
		return rc;
	store_rollback(c);
	rc = store_query(c,
	                 "SELECT request_hash, ref FROM idempotency_keys WHERE user_id = $1 AND "
	                 "idem_key = $2",
	                 a, 2, &r, e);
	if (rc)
		return rc;
	if (store_res_rows(r) == 1 && strcmp(store_res_text(r, 0, 0), idem->hash) == 0) {
		*id = store_res_int(r, 0, 1);
		rc = err_set(e, ERR_EXISTS, "the Idempotency-Key was used for post %lld",
		             (long long)*id);
	} else {
		rc = err_set(e, ERR_CONFLICT, "the Idempotency-Key was used with another body");
	}
	store_res_free(r);
	return rc;
}

static int insert_post(struct store_conn *c, int64_t user_id, const json_t *canon,
                       const struct post_sched *ps, int64_t now, int64_t *id, struct err *e)
{
	bool draft = json_is_true(json_object_get(canon, "draft"));
	char *spec = dump(canon);
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(user_id),
	                        SV_TEXT(draft ? "draft" : "scheduled"),
	                        SV_TEXT(spec),
	                        SV_TEXT(ps->zone),
	                        draft ? SV_NULL : SV_INT(ps->first_at),
	                        SV_TEXT(posts_adjust_name(ps->adjust)),
	                        SV_INT(now)};
	int rc = store_query(c,
	                     "INSERT INTO posts (user_id, status, spec, zone, first_at, adjust, "
	                     "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
	                     "RETURNING id",
	                     a, ARRAY_SIZE(a), &r, e);

	free(spec);
	if (!rc)
		*id = store_res_int(r, 0, 0);
	store_res_free(r);
	return rc;
}

static int audit_post(struct store_conn *c, int64_t user_id, const char *action, int64_t id,
                      struct err *e)
{
	char subject[32];

	snprintf(subject, sizeof(subject), "post:%lld", (long long)id);
	return users_audit(c, user_id, action, subject, "", e);
}

int posts_create(struct store *st, const struct user *u, const json_t *in, int64_t now_ms,
                 const struct post_idem *idem, int64_t *id, struct post_fault *f)
{
	struct post_sched ps;
	struct store_conn *c;
	json_t *canon = NULL;
	int made = 0, rc;

	rc = posts_check(in, u->time_zone, now_ms, true, &canon, &ps, f);
	if (rc)
		return rc;
	rc = store_conn_get(st, &c, &f->err);
	if (rc)
		goto out;
	rc = store_begin(c, &f->err);
	if (!rc)
		rc = users_lock(c, u->id, &f->err);
	if (!rc && idem)
		rc = idem_claim(c, u->id, idem, clock_now_ms(), id, &f->err);
	if (!rc)
		rc = check_owned(c, u->id, canon, f);
	if (!rc)
		rc = insert_post(c, u->id, canon, &ps, now_ms, id, &f->err);
	if (!rc && !json_is_true(json_object_get(canon, "draft")))
		rc = expand_fault(posts_expand(c, *id, now_ms, true, &made, &f->err), f);
	if (!rc && idem) {
		struct store_val a[] = {SV_INT(u->id), SV_TEXT(idem->key), SV_INT(*id)};

		rc = run(
		    c, "UPDATE idempotency_keys SET ref = $3 WHERE user_id = $1 AND idem_key = $2",
		    a, ARRAY_SIZE(a), &f->err);
	}
	if (!rc)
		rc = audit_post(c, u->id, "post.create", *id, &f->err);
	if (!rc)
		rc = store_commit(c, &f->err);
	if (rc)
		store_rollback(c);
	store_conn_put(st, c);
out:
	json_decref(canon);
	return rc;
}

int posts_idem_record(struct store *st, int64_t user_id, const char *key, int status,
                      const char *body, struct err *e)
{
	struct store_val a[] = {SV_INT(user_id), SV_TEXT(key), SV_INT(status), SV_TEXT(body)};

	return store_exec(st,
	                  "UPDATE idempotency_keys SET status = $3, answer = $4 WHERE user_id = $1 "
	                  "AND idem_key = $2 AND answer IS NULL",
	                  a, ARRAY_SIZE(a), NULL, e);
}

int posts_idem_answer(struct store *st, int64_t user_id, const char *key, int *status, char **body,
                      struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(user_id), SV_TEXT(key)};
	int rc = store_exec(st,
	                    "SELECT status, answer FROM idempotency_keys WHERE user_id = $1 AND "
	                    "idem_key = $2 AND answer IS NOT NULL",
	                    a, ARRAY_SIZE(a), &r, e);

	if (rc)
		return rc;
	if (store_res_rows(r) == 0) {
		rc = err_set(e, ERR_NOT_FOUND, "no answer recorded");
	} else {
		*status = (int)store_res_int(r, 0, 0);
		*body = xstrdup(store_res_text(r, 0, 1));
	}
	store_res_free(r);
	return rc;
}

/* ---- reading -------------------------------------------------------------- */

#define DLV_COLS                                                                                   \
	"d.id, d.post_id, d.channel_id, d.chat_id, d.occurrence, d.due_at, d.state, d.reason, "    \
	"d.attempts, d.message_ids, d.sent_at, d.lateness_ms, d.pinned_at, d.deleted_at, "         \
	"d.edited_at"

static json_t *int_or_null(const struct store_res *r, size_t row, size_t col)
{
	return store_res_null(r, row, col) ? json_null() : json_integer(store_res_int(r, row, col));
}

static json_t *dlv_json(const struct store_res *r, size_t i)
{
	json_t *ids = json_loads(store_res_text(r, i, 9), 0, NULL);

	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o, "
	    "s:o}",
	    "id", (json_int_t)store_res_int(r, i, 0), "post_id", (json_int_t)store_res_int(r, i, 1),
	    "channel_id", (json_int_t)store_res_int(r, i, 2), "chat_id",
	    (json_int_t)store_res_int(r, i, 3), "occurrence", (json_int_t)store_res_int(r, i, 4),
	    "due_at", (json_int_t)store_res_int(r, i, 5), "state", store_res_text(r, i, 6),
	    "reason", store_res_text(r, i, 7), "attempts", (json_int_t)store_res_int(r, i, 8),
	    "message_ids", json_is_array(ids) ? ids : json_array(), "sent_at",
	    int_or_null(r, i, 10), "lateness_ms", int_or_null(r, i, 11), "pinned_at",
	    int_or_null(r, i, 12), "deleted_at", int_or_null(r, i, 13), "edited_at",
	    int_or_null(r, i, 14));
}

static json_t *post_json(struct store_conn *c, const struct store_res *r, size_t i, struct err *e)
{
	struct store_res *d = NULL;
	json_t *o = NULL, *counts;
	int64_t id = store_res_int(r, i, 0);
	struct store_val a[] = {SV_INT(id)};

	if (parse_spec(store_res_text(r, i, 3), &o, e))
		return NULL;
	json_object_set_new(o, "id", json_integer(id));
	json_object_set_new(o, "status", json_string(store_res_text(r, i, 2)));
	json_object_set_new(o, "zone", json_string(store_res_text(r, i, 4)));
	json_object_set_new(o, "first_at", int_or_null(r, i, 5));
	json_object_set_new(o, "adjust", json_string(store_res_text(r, i, 8)));
	json_object_set_new(o, "version", json_integer(store_res_int(r, i, 9)));
	json_object_set_new(o, "created_at", json_integer(store_res_int(r, i, 10)));
	json_object_set_new(o, "updated_at", json_integer(store_res_int(r, i, 11)));
	counts = json_object();
	for (size_t k = 0; k < ARRAY_SIZE(dlv_names); k++)
		json_object_set_new(counts, dlv_names[k], json_integer(0));
	if (store_query(c,
	                "SELECT state, count(*), min(CASE WHEN state IN ('scheduled', "
	                "'retrying') THEN due_at END) FROM deliveries WHERE post_id = $1 GROUP "
	                "BY state",
	                a, 1, &d, e)) {
		json_decref(counts);
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "next_at", json_null());
	for (size_t k = 0; k < store_res_rows(d); k++) {
		json_object_set_new(counts, store_res_text(d, k, 0),
		                    json_integer(store_res_int(d, k, 1)));
		if (!store_res_null(d, k, 2)) {
			json_t *cur = json_object_get(o, "next_at");

			if (json_is_null(cur) || json_integer_value(cur) > store_res_int(d, k, 2))
				json_object_set_new(o, "next_at",
				                    json_integer(store_res_int(d, k, 2)));
		}
	}
	store_res_free(d);
	json_object_set_new(o, "deliveries", counts);
	return o;
}

#define POST_READ_COLS                                                                             \
	"id, user_id, status, spec, zone, first_at, expanded, expanded_to, adjust, version, "      \
	"created_at, updated_at"

int posts_get(struct store *st, int64_t user_id, int64_t id, json_t **out, struct err *e)
{
	struct store_res *r = NULL;
	struct store_conn *c;
	struct store_val a[] = {SV_INT(id), SV_INT(user_id)};
	int rc = store_conn_get(st, &c, e);

	*out = NULL;
	if (rc)
		return rc;
	rc = store_query(c, "SELECT " POST_READ_COLS " FROM posts WHERE id = $1 AND user_id = $2",
	                 a, ARRAY_SIZE(a), &r, e);
	if (!rc && store_res_rows(r) == 0)
		rc = err_set(e, ERR_NOT_FOUND, "no such post");
	if (!rc && !(*out = post_json(c, r, 0, e)))
		rc = -ERR_INTERNAL;
	store_res_free(r);
	store_conn_put(st, c);
	return rc;
}

int posts_list(struct store *st, int64_t user_id, const char *status, int64_t before_id, int limit,
               json_t **out, int64_t *next, struct err *e)
{
	struct store_res *r = NULL;
	struct store_conn *c;
	struct store_val a[] = {SV_INT(user_id), SV_INT(before_id > 0 ? before_id : INT64_MAX),
	                        SV_TEXT(status ? status : ""), SV_INT(limit + 1)};
	int rc;

	*out = NULL;
	*next = 0;
	if (limit < 1 || limit > 100)
		return err_set(e, ERR_INVALID, "limit must be 1 to 100");
	rc = store_conn_get(st, &c, e);
	if (rc)
		return rc;
	rc = store_query(c,
	                 "SELECT " POST_READ_COLS " FROM posts WHERE user_id = $1 AND id < $2 AND "
	                 "($3 = '' OR status = $3) ORDER BY id DESC LIMIT $4",
	                 a, ARRAY_SIZE(a), &r, e);
	if (!rc) {
		size_t n = store_res_rows(r);

		*out = json_array();
		for (size_t i = 0; i < n && i < (size_t)limit && !rc; i++) {
			json_t *p = post_json(c, r, i, e);

			if (!p)
				rc = -ERR_INTERNAL;
			else
				json_array_append_new(*out, p);
		}
		if (!rc && n > (size_t)limit)
			*next = store_res_int(r, (size_t)limit - 1, 0);
	}
	store_res_free(r);
	store_conn_put(st, c);
	if (rc) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

static int dlv_query(struct store *st, const char *sql, const struct store_val *a, size_t n,
                     json_t **out, struct err *e)
{
	struct store_res *r = NULL;
	int rc = store_exec(st, sql, a, n, &r, e);

	*out = NULL;
	if (rc)
		return rc;
	*out = json_array();
	for (size_t i = 0; i < store_res_rows(r); i++) {
		json_t *d = dlv_json(r, i);

		for (size_t k = 15; k < store_res_cols(r); k++)
			json_object_set_new(d, k == 15 ? "text" : "title",
			                    json_string(store_res_text(r, i, k)));
		json_array_append_new(*out, d);
	}
	store_res_free(r);
	return 0;
}

int posts_deliveries(struct store *st, int64_t user_id, int64_t post_id, json_t **out,
                     struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(post_id), SV_INT(user_id)};
	int rc = store_exec(st, "SELECT 1 FROM posts WHERE id = $1 AND user_id = $2", a, 2, &r, e);

	*out = NULL;
	if (rc)
		return rc;
	rc = store_res_rows(r) ? 0 : err_set(e, ERR_NOT_FOUND, "no such post");
	store_res_free(r);
	if (rc)
		return rc;
	return dlv_query(st,
	                 "SELECT " DLV_COLS " FROM deliveries d WHERE d.post_id = $1 AND "
	                 "d.user_id = $2 ORDER BY d.due_at, d.channel_id, d.id",
	                 a, 2, out, e);
}

int posts_delivery(struct store *st, int64_t user_id, int64_t delivery_id, json_t **out,
                   struct err *e)
{
	struct store_val a[] = {SV_INT(delivery_id), SV_INT(user_id)};
	int rc = dlv_query(st,
	                   "SELECT " DLV_COLS " FROM deliveries d WHERE d.id = $1 AND "
	                   "d.user_id = $2",
	                   a, 2, out, e);
	json_t *one;

	if (rc)
		return rc;
	if (json_array_size(*out) == 0) {
		json_decref(*out);
		*out = NULL;
		return err_set(e, ERR_NOT_FOUND, "no such delivery");
	}
	one = json_incref(json_array_get(*out, 0));
	json_decref(*out);
	*out = one;
	return 0;
}

int posts_upcoming(struct store *st, int64_t user_id, int limit, json_t **out, struct err *e)
{
	struct store_val a[] = {SV_INT(user_id), SV_INT(limit)};
	struct err pe = {0};
	int rc = dlv_query(st,
	                   "SELECT " DLV_COLS ", p.spec, c.title FROM deliveries d JOIN posts p "
	                   "ON p.id = d.post_id JOIN channels c ON c.id = d.channel_id WHERE "
	                   "d.user_id = $1 AND d.state IN ('scheduled', 'sending', 'retrying', "
	                   "'uncertain') ORDER BY d.due_at, d.id LIMIT $2",
	                   a, ARRAY_SIZE(a), out, e);
	size_t i;
	json_t *d;

	if (rc)
		return rc;
	/* "text" holds the spec: keep only its text */
	json_array_foreach(*out, i, d)
	{
		json_t *spec = NULL;

		if (parse_spec(json_string_value(json_object_get(d, "text")), &spec, &pe) == 0)
			json_object_set(d, "text", json_object_get(spec, "text"));
		json_decref(spec);
	}
	return 0;
}

/* ---- changes -------------------------------------------------------------- */

/* Remove what is pending of a post: its deliver, notify and expand jobs and,
 * when all, every delivery (the post is remade), else mark pending canceled. */
static int drop_pending(struct store_conn *c, int64_t post_id, bool all, int64_t now, struct err *e)
{
	struct store_val a[] = {SV_INT(post_id), SV_INT(now)};
	int rc = run(c,
	             "DELETE FROM jobs WHERE (kind = 'expand' AND ref = $1) OR (kind IN "
	             "('deliver', 'notify') AND ref IN (SELECT id FROM deliveries WHERE post_id = "
	             "$1 AND state IN ('scheduled', 'retrying', 'failed', 'canceled')))",
	             a, 1, e);

	if (rc)
		return rc;
	if (all)
		return run(c, "DELETE FROM deliveries WHERE post_id = $1", a, 1, e);
	return run(c,
	           "UPDATE deliveries SET state = 'canceled', updated_at = $2 WHERE post_id = $1 "
	           "AND state IN ('scheduled', 'retrying', 'uncertain')",
	           a, ARRAY_SIZE(a), e);
}

int posts_cancel(struct store *st, int64_t user_id, int64_t id, int64_t now_ms, struct err *e)
{
	struct store_res *r = NULL;
	struct store_conn *c;
	struct store_val a[] = {SV_INT(id), SV_INT(user_id), SV_INT(now_ms)};
	int rc = store_conn_get(st, &c, e);

	if (rc)
		return rc;
	rc = store_begin(c, e);
	if (!rc)
		rc = store_query(c,
		                 "UPDATE posts SET status = CASE WHEN status IN ('draft', "
		                 "'scheduled') THEN 'canceled' ELSE status END, updated_at = $3, "
		                 "version = version + 1 WHERE id = $1 AND user_id = $2 RETURNING "
		                 "status",
		                 a, ARRAY_SIZE(a), &r, e);
	if (!rc && store_res_rows(r) == 0)
		rc = err_set(e, ERR_NOT_FOUND, "no such post");
	if (!rc && strcmp(store_res_text(r, 0, 0), "canceled") == 0)
		rc = drop_pending(c, id, false, now_ms, e);
	if (!rc)
		rc = audit_post(c, user_id, "post.cancel", id, e);
	if (!rc)
		rc = store_commit(c, e);
	if (rc)
		store_rollback(c);
	store_res_free(r);
	store_conn_put(st, c);
	return rc;
}

/* Whether any delivery of the post went out (or may have). */
static int touched(struct store_conn *c, int64_t post_id, bool *out, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(post_id)};
	int rc = store_query(c,
	                     "SELECT count(*) FROM deliveries WHERE post_id = $1 AND state IN "
	                     "('sending', 'sent', 'uncertain')",
	                     a, 1, &r, e);

	if (!rc)
		*out = store_res_int(r, 0, 0) > 0;
	store_res_free(r);
	return rc;
}

/* Queue an edit of every sent message of the post. */
static int queue_edits(struct store_conn *c, int64_t post_id, int64_t now, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(post_id)};
	int rc = store_query(c,
	                     "SELECT id, chat_id FROM deliveries WHERE post_id = $1 AND state = "
	                     "'sent' AND message_ids <> '[]' AND deleted_at IS NULL",
	                     a, 1, &r, e);

	for (size_t i = 0; !rc && i < store_res_rows(r); i++)
		rc = sched_enqueue(c, "edit", store_res_int(r, i, 0), store_res_int(r, i, 1), now,
		                   now, e);
	store_res_free(r);
	return rc;
}

static int update_locked(struct store_conn *c, const struct user *u, int64_t id,
                         const json_t *patch, int64_t now, struct post_fault *f)
{
	struct store_res *r = NULL;
	struct post_row p = {0};
	struct post_sched ps;
	json_t *merged = NULL, *canon = NULL, *v;
	const char *key;
	bool sent = false, was_draft, new_time;
	int made = 0, rc;
	struct store_val a[] = {SV_INT(id), SV_INT(u->id), SV_INT(now)};

	rc = store_query(c,
	                 "UPDATE posts SET version = version + 1, updated_at = $3 WHERE id = $1 "
	                 "AND user_id = $2 RETURNING " POST_COLS,
	                 a, ARRAY_SIZE(a), &r, &f->err);
	if (!rc && store_res_rows(r) == 0)
		rc = err_set(&f->err, ERR_NOT_FOUND, "no such post");
	if (!rc)
		rc = post_row_read(r, &p, &f->err);
	store_res_free(r);
	if (rc)
		return rc;
	rc = touched(c, id, &sent, &f->err);
	if (rc)
		goto out;
	/* a post done sending can still have its text and buttons corrected */
	if (strcmp(p.status, "canceled") == 0 || (strcmp(p.status, "done") == 0 && !sent)) {
		posts_fault(f, "not_editable", "status", "the post is %s", p.status);
		f->err.code = ERR_CONFLICT;
		rc = -ERR_CONFLICT;
		goto out;
	}
	if (!json_is_object(patch)) {
		rc = posts_fault(f, "invalid", "post", "must be a JSON object");
		goto out;
	}
	merged = json_deep_copy(p.spec);
	json_object_foreach((json_t *)patch, key, v)
	{
		if (sent && strcmp(key, "text") != 0 && strcmp(key, "buttons") != 0) {
			char field[64];

			snprintf(field, sizeof(field), "%.60s", key[0] ? key : "\"\"");
			posts_fault(f, "not_editable", field,
			            "only text and buttons change once the post was sent");
			f->err.code = ERR_CONFLICT;
			rc = -ERR_CONFLICT;
			goto out;
		}
		if (json_is_null(v))
			json_object_del(merged, key);
		else
			json_object_set(merged, key, v);
	}
	was_draft = strcmp(p.status, "draft") == 0;
	new_time = json_object_get(patch, "schedule") || was_draft;
	rc = posts_check(merged, u->time_zone, now, new_time, &canon, &ps, f);
	if (rc)
		goto out;
	if (!sent && !json_is_true(json_object_get(canon, "draft")))
		rc = check_owned(c, u->id, canon, f);
	if (rc)
		goto out;
	{
		bool draft = json_is_true(json_object_get(canon, "draft"));
		char *spec = dump(canon);
		int64_t first = new_time ? ps.first_at : p.first_at;
		struct store_val b[] = {SV_INT(id),
		                        SV_TEXT(spec),
		                        SV_TEXT(draft ? "draft" : "scheduled"),
		                        SV_TEXT(ps.zone),
		                        draft ? SV_NULL : SV_INT(first),
		                        SV_TEXT(posts_adjust_name(ps.adjust))};

		if (sent)
			rc = run(c, "UPDATE posts SET spec = $2 WHERE id = $1", b, 2, &f->err);
		else
			rc = run(
			    c,
			    "UPDATE posts SET spec = $2, status = $3, zone = $4, first_at = $5, "
			    "adjust = CASE WHEN $5 IS NULL THEN adjust ELSE $6 END, expanded = 0, "
			    "expanded_to = 0 WHERE id = $1",
			    b, ARRAY_SIZE(b), &f->err);
		free(spec);
	}
	if (!rc && sent)
		rc = queue_edits(c, id, now, &f->err);
	if (!rc && !sent)
		rc = drop_pending(c, id, true, now, &f->err);
	if (!rc && !sent && !json_is_true(json_object_get(canon, "draft")))
		rc = expand_fault(posts_expand(c, id, now, true, &made, &f->err), f);
	if (!rc)
		rc = audit_post(c, u->id, "post.update", id, &f->err);
out:
	json_decref(merged);
	json_decref(canon);
	json_decref(p.spec);
	return rc;
}

int posts_update(struct store *st, const struct user *u, int64_t id, const json_t *patch,
                 int64_t now_ms, struct post_fault *f)
{
	struct store_conn *c;
	int rc = store_conn_get(st, &c, &f->err);

	if (rc)
		return rc;
	rc = store_begin(c, &f->err);
	if (!rc)
		rc = users_lock(c, u->id, &f->err);
	if (!rc)
		rc = update_locked(c, u, id, patch, now_ms, f);
	if (!rc)
		rc = store_commit(c, &f->err);
	if (rc)
		store_rollback(c);
	store_conn_put(st, c);
	return rc;
}

int posts_resolve(struct store *st, int64_t user_id, int64_t delivery_id, bool resend,
                  int64_t now_ms, struct err *e)
{
	struct store_res *r = NULL;
	struct store_conn *c;
	struct store_val a[] = {SV_INT(delivery_id), SV_INT(user_id), SV_INT(now_ms),
	                        SV_TEXT(resend ? "scheduled" : "sent")};
	int rc = store_conn_get(st, &c, e);

	if (rc)
		return rc;
	rc = store_begin(c, e);
	if (!rc)
		rc = store_query(
		    c,
		    "UPDATE deliveries SET state = $4, updated_at = $3, reason = CASE "
		    "WHEN $4 = 'sent' THEN 'published_by_owner' ELSE 'resent_by_owner' "
		    "END, sent_at = CASE WHEN $4 = 'sent' THEN $3 ELSE sent_at END WHERE "
		    "id = $1 AND user_id = $2 AND state = 'uncertain' RETURNING post_id, "
		    "chat_id",
		    a, ARRAY_SIZE(a), &r, e);
	if (!rc && store_res_rows(r) == 0) {
		struct store_res *x = NULL;

		rc = store_query(c, "SELECT state FROM deliveries WHERE id = $1 AND user_id = $2",
		                 a, 2, &x, e);
		if (!rc)
			rc = store_res_rows(x)
			         ? err_set(e, ERR_CONFLICT, "the delivery is %s, not uncertain",
			                   store_res_text(x, 0, 0))
			         : err_set(e, ERR_NOT_FOUND, "no such delivery");
		store_res_free(x);
	}
	if (!rc && resend)
		rc = sched_enqueue(c, "deliver", delivery_id, store_res_int(r, 0, 1), now_ms,
		                   now_ms, e);
	if (!rc && !resend)
		rc = posts_settle(c, store_res_int(r, 0, 0), e);
	if (!rc) {
		char subject[32];

		snprintf(subject, sizeof(subject), "delivery:%lld", (long long)delivery_id);
		rc = users_audit(c, user_id, resend ? "delivery.resend" : "delivery.published",
		                 subject, "", e);
	}
	if (!rc)
		rc = store_commit(c, e);
	if (rc)
		store_rollback(c);
	store_res_free(r);
	store_conn_put(st, c);
	return rc;
}
