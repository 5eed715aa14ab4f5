/*
 * alerts: the rules (alerts.h). A rule's params are stored as the JSON
 * object alerts_params_json makes; reading one back goes through
 * alerts_params_read over the kind's defaults, so a row written by an older
 * version still has every field. Evaluation is alerts/eval.c.
 */
#include "alerts/alerts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts_impl.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/store.h"

static const char *const kind_names[ALERT_KINDS] = {
    [ALERT_SPIKE] = "spike",         [ALERT_QUIET] = "quiet",       [ALERT_GROWTH] = "growth",
    [ALERT_MILESTONE] = "milestone", [ALERT_DELIVERY] = "delivery",
};

const char *alerts_kind_name(enum alert_kind k)
{
	return (unsigned)k < ALERT_KINDS ? kind_names[k] : "?";
}

int alerts_kind_parse(const char *name, enum alert_kind *out)
{
	for (int i = 0; name && i < ALERT_KINDS; i++)
		if (strcmp(name, kind_names[i]) == 0) {
			*out = (enum alert_kind)i;
			return 0;
		}
	return -ERR_INVALID;
}

void alerts_params_default(enum alert_kind kind, struct alert_params *p)
{
	(void)kind;
	memset(p, 0, sizeof(*p));
	p->threshold = ALERTS_THRESHOLD_DEFAULT;
	p->hours = ALERTS_HOURS_DEFAULT;
	p->percent = ALERTS_PERCENT_DEFAULT;
	p->window_hours = ALERTS_WINDOW_DEFAULT;
}

/* Refuse field: f names it, with what was expected. */
static int fault(struct alert_fault *f, int code, const char *field, const char *expect)
{
	snprintf(f->field, sizeof(f->field), "%s", field);
	return err_set(&f->err, code, field, expect);
}

/* One member of params: a number (integer when integer) within [min, max]. */
struct member {
	const char *name;
	enum alert_kind kind;
	bool integer;
	double min, max;
	const char *expect;
};

static const struct member members[] = {
    {"threshold", ALERT_SPIKE, false, ALERTS_THRESHOLD_MIN, ALERTS_THRESHOLD_MAX,
     "a number from 2 to 50 (how far above its baseline, in the detector's scale units)"},
    {"hours", ALERT_QUIET, true, ALERTS_HOURS_MIN, ALERTS_HOURS_MAX,
     "a whole number of hours from 1 to 720"},
    {"percent", ALERT_GROWTH, false, ALERTS_PERCENT_MIN, ALERTS_PERCENT_MAX,
     "a number of percent from 0.1 to 1000"},
    {"window_hours", ALERT_GROWTH, true, ALERTS_WINDOW_MIN, ALERTS_WINDOW_MAX,
     "a whole number of hours from 1 to 720"},
    {"subscribers", ALERT_MILESTONE, true, 1, ALERTS_SUBSCRIBERS_MAX,
     "a whole number of subscribers from 1 to 1000000000"},
};

static void member_set(struct alert_params *p, const char *name, double v)
{
	if (strcmp(name, "threshold") == 0)
		p->threshold = v;
	else if (strcmp(name, "hours") == 0)
		p->hours = (int64_t)v;
	else if (strcmp(name, "percent") == 0)
		p->percent = v;
	else if (strcmp(name, "window_hours") == 0)
		p->window_hours = (int64_t)v;
	else
		p->subscribers = (int64_t)v;
}

static double member_get(const struct alert_params *p, const char *name)
{
	if (strcmp(name, "threshold") == 0)
		return p->threshold;
	if (strcmp(name, "hours") == 0)
		return (double)p->hours;
	if (strcmp(name, "percent") == 0)
		return p->percent;
	if (strcmp(name, "window_hours") == 0)
		return (double)p->window_hours;
	return (double)p->subscribers;
}

static bool in_range(const struct member *m, double v)
{
	return isfinite(v) && v >= m->min && v <= m->max && (!m->integer || v == floor(v));
}

int alerts_params_read(enum alert_kind kind, const json_t *params, struct alert_params *p,
                       struct alert_fault *f)
{
	const char *key;
	json_t *v;
	char field[48];

	if (params && !json_is_object(params))
		return fault(f, ERR_INVALID, "params", "an object");
	json_object_foreach((json_t *)params, key, v)
	{
		const struct member *m = NULL;

		for (size_t i = 0; i < ARRAY_SIZE(members); i++)
			if (members[i].kind == kind && strcmp(members[i].name, key) == 0)
				m = &members[i];
		snprintf(field, sizeof(field), "params.%.32s", key);
		if (!m)
			return fault(f, ERR_INVALID, field, "not a setting of this kind of alert");
		if (!json_is_number(v) || (m->integer && !json_is_integer(v)) ||
		    !in_range(m, json_number_value(v)))
			return fault(f, ERR_INVALID, field, m->expect);
		member_set(p, key, json_number_value(v));
	}
	for (size_t i = 0; i < ARRAY_SIZE(members); i++) {
		if (members[i].kind != kind ||
		    in_range(&members[i], member_get(p, members[i].name)))
			continue;
		snprintf(field, sizeof(field), "params.%s", members[i].name);
		return fault(f, ERR_INVALID, field, members[i].expect);
	}
	return 0;
}

json_t *alerts_params_json(enum alert_kind kind, const struct alert_params *p)
{
	json_t *o = json_object();

	for (size_t i = 0; i < ARRAY_SIZE(members); i++) {
		double v = member_get(p, members[i].name);

		if (members[i].kind != kind)
			continue;
		json_object_set_new(o, members[i].name,
		                    members[i].integer ? json_integer((json_int_t)v)
		                                       : json_real(v));
	}
	return o;
}

/* ---- rules in the store --------------------------------------------------- */

void alerts_rule_of(const struct store_res *res, size_t i, struct alert_rule *r)
{
	struct alert_fault f = {0};
	json_t *params;

	memset(r, 0, sizeof(*r));
	r->id = store_res_int(res, i, 0);
	r->user_id = store_res_int(res, i, 1);
	r->channel_id = store_res_int(res, i, 2);
	if (alerts_kind_parse(store_res_text(res, i, 3), &r->kind))
		r->kind = ALERT_DELIVERY; /* the CHECK constraint allows no other */
	alerts_params_default(r->kind, &r->p);
	params = json_loads(store_res_text(res, i, 4), 0, NULL);
	if (alerts_params_read(r->kind, params, &r->p, &f)) {
		log_warn(
		    "msg=\"alert rule params unreadable: defaults used\" rule=%lld error=\"%s\"",
		    (long long)r->id, f.err.msg);
		alerts_params_default(r->kind, &r->p);
	}
	json_decref(params);
	r->muted_until = store_res_int(res, i, 5);
	r->created_at = store_res_int(res, i, 6);
	if (*store_res_text(res, i, 7))
		snprintf(r->channel, sizeof(r->channel), "%s", store_res_text(res, i, 7));
	else if (*store_res_text(res, i, 8))
		snprintf(r->channel, sizeof(r->channel), "@%s", store_res_text(res, i, 8));
	else
		snprintf(r->channel, sizeof(r->channel), "%lld",
		         (long long)store_res_int(res, i, 9));
}

struct create_arg {
	int64_t user_id, channel_id, now, id;
	enum alert_kind kind;
	const struct alert_params *p;
	struct alert_fault *f;
};

static int create_tx(struct store_conn *c, void *arg, struct err *e)
{
	struct create_arg *x = arg;
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(x->user_id), SV_INT(x->channel_id)};
	int64_t owned, count;
	json_t *params;
	char *text;
	int rc;

	rc = store_query(c,
	                 "SELECT (SELECT count(*) FROM channels WHERE id = $2 AND owner_id = $1 "
	                 "AND removed_at IS NULL), (SELECT count(*) FROM alert_rules WHERE "
	                 "user_id = $1 AND removed_at IS NULL)",
	                 a, 2, &r, e);
	if (rc)
		return rc;
	owned = store_res_int(r, 0, 0);
	count = store_res_int(r, 0, 1);
	store_res_free(r);
	r = NULL;
	if (!owned)
		return fault(x->f, ERR_NOT_FOUND, "channel_id",
		             "not one of your connected channels");
	if (count >= ALERTS_RULES_MAX)
		return err_set(&x->f->err, ERR_TOO_BIG,
		               "you have %d alert rules, the most there "
		               "can be; remove one first",
		               ALERTS_RULES_MAX);
	params = alerts_params_json(x->kind, x->p);
	text = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(params);
	{
		struct store_val b[] = {SV_INT(x->user_id), SV_INT(x->channel_id),
		                        SV_TEXT(alerts_kind_name(x->kind)), SV_TEXT(text),
		                        SV_INT(x->now)};

		rc = store_query(c,
		                 "INSERT INTO alert_rules (user_id, channel_id, kind, params, "
		                 "created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
		                 b, ARRAY_SIZE(b), &r, e);
	}
	free(text);
	if (!rc)
		x->id = store_res_int(r, 0, 0);
	store_res_free(r);
	return rc;
}

int alerts_create(struct store *st, int64_t user_id, int64_t channel_id, enum alert_kind kind,
                  const struct alert_params *p, int64_t now, int64_t *id, struct alert_fault *f)
{
	struct alert_params check = *p;
	struct create_arg x = {user_id, channel_id, now, 0, kind, p, f};
	int rc;

	*id = 0;
	if ((unsigned)kind >= ALERT_KINDS)
		return fault(f, ERR_INVALID, "kind",
		             "one of spike, quiet, growth, milestone, delivery");
	rc = alerts_params_read(kind, NULL, &check, f);
	if (rc)
		return rc;
	rc = store_tx(st, create_tx, &x, &f->err);
	if (!rc)
		*id = x.id;
	return rc;
}

int alerts_get(struct store *st, int64_t user_id, int64_t id, struct alert_rule *out, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(user_id), SV_INT(id)};
	int rc = store_exec(st,
	                    "SELECT " ALERTS_RULE_COLUMNS
	                    " FROM alert_rules r JOIN channels c ON c.id = "
	                    "r.channel_id WHERE r.user_id = $1 AND r.id = $2 AND r.removed_at IS "
	                    "NULL AND c.removed_at IS NULL",
	                    a, 2, &r, e);

	if (rc)
		return rc;
	if (store_res_rows(r) == 1)
		alerts_rule_of(r, 0, out);
	else
		rc = err_set(e, ERR_NOT_FOUND, "no such alert");
	store_res_free(r);
	return rc;
}

int alerts_list(struct store *st, int64_t user_id, struct alert_rule **out, size_t *n,
                struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(user_id)};
	int rc = store_exec(st,
	                    "SELECT " ALERTS_RULE_COLUMNS
	                    " FROM alert_rules r JOIN channels c ON c.id = "
	                    "r.channel_id WHERE r.user_id = $1 AND r.removed_at IS NULL AND "
	                    "c.removed_at IS NULL ORDER BY c.id, r.id",
	                    a, 1, &r, e);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	if (store_res_rows(r)) {
		*out = xcalloc(store_res_rows(r), sizeof(**out));
		for (size_t i = 0; i < store_res_rows(r); i++)
			alerts_rule_of(r, i, &(*out)[i]);
		*n = store_res_rows(r);
	}
	store_res_free(r);
	return 0;
}

int alerts_update(struct store *st, int64_t user_id, int64_t id, const struct alert_params *p,
                  const int64_t *muted_until, struct alert_fault *f)
{
	struct alert_rule rule;
	struct store_res *r = NULL;
	char *text = NULL;
	int rc = alerts_get(st, user_id, id, &rule, &f->err);

	if (rc)
		return rc;
	if (p) {
		struct alert_params check = *p;
		json_t *params;

		rc = alerts_params_read(rule.kind, NULL, &check, f);
		if (rc)
			return rc;
		params = alerts_params_json(rule.kind, p);
		text = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(params);
	}
	{
		struct store_val a[] = {SV_INT(user_id), SV_INT(id), text ? SV_TEXT(text) : SV_NULL,
		                        SV_INT(muted_until ? 1 : 0),
		                        muted_until && *muted_until ? SV_INT(*muted_until)
		                                                    : SV_NULL};

		rc = store_exec(
		    st,
		    "UPDATE alert_rules SET params = coalesce(CAST($3 AS TEXT), params), "
		    "muted_until = CASE WHEN $4 = 1 THEN CAST($5 AS BIGINT) ELSE "
		    "muted_until END WHERE user_id = $1 AND id = $2 AND removed_at IS NULL",
		    a, ARRAY_SIZE(a), &r, &f->err);
	}
	free(text);
	if (!rc && store_res_changes(r) != 1)
		rc = err_set(&f->err, ERR_NOT_FOUND, "no such alert");
	store_res_free(r);
	return rc;
}

int alerts_remove(struct store *st, int64_t user_id, int64_t id, int64_t now, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(user_id), SV_INT(id), SV_INT(now)};
	int rc = store_exec(st,
	                    "UPDATE alert_rules SET removed_at = $3 WHERE user_id = $1 AND id = $2 "
	                    "AND removed_at IS NULL",
	                    a, ARRAY_SIZE(a), &r, e);

	if (!rc && store_res_changes(r) != 1)
		rc = err_set(e, ERR_NOT_FOUND, "no such alert");
	store_res_free(r);
	return rc;
}

json_t *alerts_rule_json(const struct alert_rule *r, int64_t now)
{
	bool muted = r->muted_until > now;

	return json_pack("{s:I, s:I, s:s, s:s, s:o, s:b, s:o, s:I}", "id", (json_int_t)r->id,
	                 "channel_id", (json_int_t)r->channel_id, "channel", r->channel, "kind",
	                 alerts_kind_name(r->kind), "params", alerts_params_json(r->kind, &r->p),
	                 "muted", muted, "muted_until",
	                 muted ? json_integer(r->muted_until) : json_null(), "created_at",
	                 (json_int_t)r->created_at);
}

int alerts_events_json(struct store *st, int64_t user_id, int64_t channel_id, int limit,
                       json_t **out, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(user_id), SV_INT(channel_id), SV_INT(limit)};
	int rc;

	*out = NULL;
	if (limit < 1 || limit > ALERTS_EVENTS_MAX)
		return err_set(e, ERR_INVALID, "limit: from 1 to %d", ALERTS_EVENTS_MAX);
	rc = store_exec(st,
	                "SELECT ev.id, ev.rule_id, ev.channel_id, ev.kind, ev.event_key, ev.at, "
	                "ev.detail, ev.state, coalesce(ev.sent_at, 0), ev.created_at, ev.error "
	                "FROM alert_events ev JOIN alert_rules r ON r.id = ev.rule_id WHERE "
	                "r.user_id = $1 AND ($2 = 0 OR ev.channel_id = $2) ORDER BY ev.id DESC "
	                "LIMIT $3",
	                a, ARRAY_SIZE(a), &r, e);
	if (rc)
		return rc;
	*out = json_array();
	for (size_t i = 0; i < store_res_rows(r); i++) {
		const char *state = store_res_text(r, i, 7);
		json_t *detail = json_loads(store_res_text(r, i, 6), 0, NULL);
		int64_t sent_at = store_res_int(r, i, 8);

		json_array_append_new(
		    *out,
		    json_pack(
		        "{s:I, s:I, s:I, s:s, s:s, s:I, s:o, s:s, s:b, s:b, s:o, s:I, s:s}", "id",
		        (json_int_t)store_res_int(r, i, 0), "rule_id",
		        (json_int_t)store_res_int(r, i, 1), "channel_id",
		        (json_int_t)store_res_int(r, i, 2), "kind", store_res_text(r, i, 3), "key",
		        store_res_text(r, i, 4), "at", (json_int_t)store_res_int(r, i, 5), "detail",
		        detail ? detail : json_object(), "state", state, "sent",
		        strcmp(state, "sent") == 0, "muted", strcmp(state, "muted") == 0, "sent_at",
		        sent_at ? json_integer(sent_at) : json_null(), "created_at",
		        (json_int_t)store_res_int(r, i, 9), "error", store_res_text(r, i, 10)));
	}
	store_res_free(r);
	return 0;
}
